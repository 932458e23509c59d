/*
 * run.c - `interbot run DIR`: the node in the foreground, on the real clocks, logging one line
 * per event to stderr. SIGTERM and SIGINT stop it cleanly ([IFACE-5]: links closed with
 * shutting_down); SIGHUP reloads authorized/ ([IFACE-4]). Owner tools (`interbot ctl`) talk to
 * it through DIR/control.sock, there while it runs. --pcap FILE traces every frame of its
 * links (ib_trace, LINKTYPE_WIRESHARK_UPPER_PDU) for Wireshark. --keylog FILE, or the
 * SSLKEYLOGFILE environment variable, appends the links' TLS secrets to FILE (ib_keylog_open),
 * so that a packet capture of them can be decrypted.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* The signal handler's only channel to the loop: one byte per signal. */
static int signal_pipe[2] = { -1, -1 };

static void on_signal(int signo)
{
	unsigned char b = (unsigned char)signo;
	int saved = errno;

	if (write(signal_pipe[1], &b, 1) < 0) {
		/* Full pipe: a signal of the same kind is already waiting. */
	}
	errno = saved;
}

struct run_state {
	struct ib_node *node;
	bool stop;
};

static void on_signal_byte(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct run_state *rs = arg;
	unsigned char b;

	while (read(fd, &b, 1) == 1) {
		struct ib_diag diag = { 0 };

		if (b == SIGHUP)
			ib_node_reload_keys(rs->node, &diag); /* logs success or why not */
		else
			rs->stop = true;
	}
}

static int install_signals(void)
{
	struct sigaction sa;

	if (pipe2(signal_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGHUP, &sa, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int parse_level(const char *s, enum ib_log_level *level)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (int i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*level = (enum ib_log_level)i;
			return 0;
		}
	}
	return -1;
}

static void log_line(void *ctx, enum ib_log_level level, const char *line)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	(void)ctx;
	fprintf(stderr, "%s %s\n", names[level], line);
}

static void run_usage(FILE *out)
{
	fprintf(out, "usage: interbot run DIR [--log-level error|warn|info|debug]\n"
		     "                        [--pcap FILE [--pcap-max-bytes N]] [--keylog FILE]\n\n"
		     "Runs the node of DIR (made by `interbot init`) in the foreground.\n"
		     "SIGTERM/SIGINT stop it; SIGHUP reloads DIR/authorized/.\n"
		     "`interbot ctl DIR ...` asks it through DIR/control.sock while it runs.\n\n"
		     "  --log-level L       the least severe events logged to stderr: error, warn,\n"
		     "                      info (default) or debug\n"
		     "  --pcap FILE         write every frame sent and received (after TLS, whole)\n"
		     "                      to FILE, a pcap trace flushed at each frame; read it\n"
		     "                      with -X lua_script:spec/wireshark/interbot.lua\n"
		     "  --pcap-max-bytes N  when FILE would pass N bytes, rename it FILE.1 and\n"
		     "                      start a new FILE (N >= %u; default: no limit)\n"
		     "  --keylog FILE       append the TLS secrets of every link to FILE (NSS key log\n"
		     "                      format, mode 0600), to decrypt a capture of the links;\n"
		     "                      without it, the SSLKEYLOGFILE environment variable\n"
		     "                      names the file\n",
		IB_TRACE_MIN_BYTES);
}

struct run_opts {
	const char *dir;
	enum ib_log_level level;
	const char *pcap;
	uint64_t pcap_max_bytes;
	const char *keylog;
	const char *keylog_from;    /* "--keylog" or "SSLKEYLOGFILE": for the log line */
};

/* A decimal byte count, nothing else around it. */
static int parse_bytes(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

/* Where the key log goes: --keylog wins over SSLKEYLOGFILE, which curl, Firefox and Chrome
 * read too, so that a debugging session's one variable covers this node as well. An empty
 * variable is as good as none (the convention's programs read it so). */
static void keylog_source(struct run_opts *o)
{
	const char *env = getenv("SSLKEYLOGFILE");

	if (o->keylog) {
		o->keylog_from = "--keylog";
	} else if (env && *env) {
		o->keylog = env;
		o->keylog_from = "SSLKEYLOGFILE";
	}
}

/* CLI_OK, CLI_USAGE (said on stderr), or -1 after printing the help asked for. */
static int parse_args(int argc, char **argv, struct run_opts *o)
{
	bool max_given = false;

	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			run_usage(stdout);
			return -1;
		} else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
			if (parse_level(argv[++i], &o->level) != 0) {
				fprintf(stderr, "interbot run: --log-level: error, warn, info or debug\n");
				return CLI_USAGE;
			}
		} else if (strcmp(argv[i], "--pcap") == 0 && i + 1 < argc && !o->pcap) {
			o->pcap = argv[++i];
		} else if (strcmp(argv[i], "--keylog") == 0 && i + 1 < argc && !o->keylog) {
			o->keylog = argv[++i];
			if (!*o->keylog) {
				fprintf(stderr, "interbot run: --keylog: an empty file name\n");
				return CLI_USAGE;
			}
		} else if (strcmp(argv[i], "--pcap-max-bytes") == 0 && i + 1 < argc) {
			max_given = true;
			if (parse_bytes(argv[++i], &o->pcap_max_bytes) != 0 ||
			    o->pcap_max_bytes < IB_TRACE_MIN_BYTES) {
				fprintf(stderr, "interbot run: --pcap-max-bytes: a number >= %u\n",
					IB_TRACE_MIN_BYTES);
				return CLI_USAGE;
			}
		} else if (argv[i][0] != '-' && !o->dir) {
			o->dir = argv[i];
		} else {
			run_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (max_given && !o->pcap) {
		fprintf(stderr, "interbot run: --pcap-max-bytes needs --pcap FILE\n");
		return CLI_USAGE;
	}
	if (!o->dir) {
		run_usage(stderr);
		return CLI_USAGE;
	}
	keylog_source(o);
	return CLI_OK;
}

/* One line at exit, so that an owner knows how much the trace holds and whether it stopped. */
static void trace_summary(const struct run_opts *o, const struct ib_trace *t)
{
	struct ib_trace_stats st;

	ib_trace_stats(t, &st);
	fprintf(stderr, "info trace %s: %llu frames, %llu cut, %llu rotations%s%s\n", o->pcap,
		(unsigned long long)st.packets, (unsigned long long)st.cut,
		(unsigned long long)st.rotations, st.stopped ? ", stopped early: " : "",
		st.stopped ? ib_strerror(st.error) : "");
}

int cli_run(int argc, char **argv)
{
	struct run_opts o = { .level = IB_LOG_INFO };
	struct run_state rs = { 0 };
	struct ib_loop *loop = NULL;
	struct ib_trace *trace = NULL;
	struct ib_diag diag = { 0 };
	char sock[4096];
	int rc = parse_args(argc, argv, &o);

	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	rc = CLI_FAILED;
	if (ib_loop_new(&loop, ib_clock_system()) != IB_OK || install_signals() != 0) {
		fprintf(stderr, "interbot run: cannot set up the event loop or signals\n");
		goto out;
	}
	if (ib_node_open(&rs.node, loop, o.dir, &diag) != IB_OK) {
		rc = cli_fail("run", o.dir, IB_ERR_CONFIG, &diag);
		goto out;
	}
	ib_node_set_log(rs.node, log_line, NULL, o.level);
	/* Before the node starts, so that the trace holds every link from its first frame. */
	if (o.pcap) {
		int err = ib_trace_open(&trace, o.pcap, o.pcap_max_bytes, &diag);

		if (err) {
			rc = cli_fail("run", o.pcap, err, &diag);
			goto out;
		}
		ib_node_set_trace(rs.node, trace);
	}
	/* Before the node starts, so that the key log holds every handshake. Whatever the log
	 * level, one line says it: anyone who can read the file can read the node's links. */
	if (o.keylog) {
		if (ib_keylog_open(o.keylog, &diag) != IB_OK) {
			rc = cli_fail("run", o.keylog, IB_ERR_IO, &diag);
			goto out;
		}
		fprintf(stderr, "warn key log %s (%s): the TLS secrets of every link are appended "
				"to it; whoever reads it can decrypt them\n",
			o.keylog, o.keylog_from);
	}
	if (ib_node_start(rs.node, &diag) != IB_OK) {
		rc = cli_fail("run", o.dir, IB_ERR_IO, &diag);
		goto out;
	}
	/* DIR/control.sock for `interbot ctl`; ib_node_stop (or free) removes it. */
	if (snprintf(sock, sizeof sock, "%s/control.sock", o.dir) >= (int)sizeof sock ||
	    ib_node_control_open(rs.node, sock, &diag) != IB_OK) {
		rc = cli_fail("run", sock, IB_ERR_IO, &diag);
		goto out;
	}
	if (ib_loop_watch(loop, signal_pipe[0], IB_EV_READ, on_signal_byte, &rs) != IB_OK)
		goto out;
	rc = CLI_OK;
	while (!rs.stop)
		if (ib_loop_run_once(loop, -1) < 0) {
			/* poll() failed: the node cannot go on, and its owner must hear of it. */
			fprintf(stderr, "interbot run: the event loop failed: %s\n", strerror(errno));
			rc = CLI_FAILED;
			break;
		}
	/* The goodbyes (ERROR shutting_down) go into the trace too. */
	ib_node_stop(rs.node);
	/* [LINK-11] and delivered: at most 2 s, well within [IFACE-5]'s 5 s. */
	while (ib_node_lingering(rs.node) && ib_loop_run_once(loop, -1) >= 0)
		;
out:
	ib_node_free(rs.node);
	if (trace)
		trace_summary(&o, trace);
	ib_trace_close(trace); /* after the node: it writes to the trace until freed */
	ib_keylog_close();
	ib_loop_free(loop);
	return rc;
}
