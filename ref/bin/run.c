/*
 * run.c - `interbot run DIR`: the node in the foreground, on the real clocks, logging one line
 * per event to stderr. SIGTERM and SIGINT stop it cleanly ([IFACE-5]: links closed with
 * shutting_down); SIGHUP reloads authorized/ ([IFACE-4]). Owner tools (`interbot ctl`) talk to
 * it through DIR/control.sock, there while it runs.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
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
	fprintf(out, "usage: interbot run DIR [--log-level error|warn|info|debug]\n\n"
		     "Runs the node of DIR (made by `interbot init`) in the foreground.\n"
		     "SIGTERM/SIGINT stop it; SIGHUP reloads DIR/authorized/.\n"
		     "`interbot ctl DIR ...` asks it through DIR/control.sock while it runs.\n");
}

int cli_run(int argc, char **argv)
{
	enum ib_log_level level = IB_LOG_INFO;
	struct run_state rs = { 0 };
	struct ib_loop *loop = NULL;
	struct ib_diag diag = { 0 };
	const char *dir = NULL;
	char sock[4096];
	int rc = CLI_FAILED;

	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			run_usage(stdout);
			return CLI_OK;
		} else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
			if (parse_level(argv[++i], &level) != 0) {
				fprintf(stderr, "interbot run: --log-level: error, warn, info or debug\n");
				return CLI_USAGE;
			}
		} else if (argv[i][0] != '-' && !dir) {
			dir = argv[i];
		} else {
			run_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (!dir) {
		run_usage(stderr);
		return CLI_USAGE;
	}
	if (ib_loop_new(&loop, ib_clock_system()) != IB_OK || install_signals() != 0) {
		fprintf(stderr, "interbot run: cannot set up the event loop or signals\n");
		goto out;
	}
	if (ib_node_open(&rs.node, loop, dir, &diag) != IB_OK) {
		rc = cli_fail("run", dir, IB_ERR_CONFIG, &diag);
		goto out;
	}
	ib_node_set_log(rs.node, log_line, NULL, level);
	if (ib_node_start(rs.node, &diag) != IB_OK) {
		rc = cli_fail("run", dir, IB_ERR_IO, &diag);
		goto out;
	}
	/* DIR/control.sock for `interbot ctl`; ib_node_stop (or free) removes it. */
	if (snprintf(sock, sizeof sock, "%s/control.sock", dir) >= (int)sizeof sock ||
	    ib_node_control_open(rs.node, sock, &diag) != IB_OK) {
		rc = cli_fail("run", sock, IB_ERR_IO, &diag);
		goto out;
	}
	if (ib_loop_watch(loop, signal_pipe[0], IB_EV_READ, on_signal_byte, &rs) != IB_OK)
		goto out;
	while (!rs.stop)
		if (ib_loop_run_once(loop, -1) < 0)
			break;
	ib_node_stop(rs.node);
	rc = CLI_OK;
out:
	ib_node_free(rs.node);
	ib_loop_free(loop);
	return rc;
}
