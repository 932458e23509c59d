/*
 * iut.c - the implementation under test: its node directory (spec section 19.1), and
 * starting, stopping and reloading it (section 19.2) in each mode.
 */
#define _XOPEN_SOURCE 700 /* kill, sigaction and the POSIX of unistd.h under -std=c11 */
#include "suite.h"

#include "harness.h"
#include "net.h"
#include "node_internal.h" /* self mode: ib_node_set_clock_skew */

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wordexp.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* An exit status an IUT uses to say it does not support the configuration it was given
 * ([IFACE-8]; EX_UNAVAILABLE of sysexits.h). */
#define CF_EXIT_UNSUPPORTED 69
#define CF_READY_MS 10000u   /* [IFACE-3] bounded wait for the first TCP accept */
#define CF_STOP_MS 5000u     /* [IFACE-5] */

void cf_remove_tree(const char *dir)
{
	hn_remove_tree(dir);
}

static bool write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	bool ok = f && fputs(text, f) >= 0;

	if (f && fclose(f) != 0)
		ok = false;
	return ok;
}

static bool write_authorized(struct cf_ctx *c, unsigned untrusted_testers,
			     unsigned untrusted_refs)
{
	char path[800];
	bool ok = true;

	for (int i = 0; ok && i < CF_TESTERS; i++) {
		snprintf(path, sizeof path, "%s/authorized/conform-T%d.pub", c->iut_dir, i);
		if (untrusted_testers & (1u << i))
			ok = unlink(path) == 0 || errno == ENOENT;
		else
			ok = ib_pubkey_save(ib_identity_pubkey(c->w->testers[i]), path) == IB_OK;
	}
	for (int i = 0; ok && i < CF_REFS; i++) {
		snprintf(path, sizeof path, "%s/authorized/conform-R%d.pub", c->iut_dir, i);
		if (untrusted_refs & (1u << i))
			ok = unlink(path) == 0 || errno == ENOENT;
		else
			ok = ib_pubkey_save(ib_identity_pubkey(c->w->refs[i]), path) == IB_OK;
	}
	for (size_t i = 0; ok && i < c->iut_opts.nextra_keys; i++) {
		snprintf(path, sizeof path, "%s/authorized/conform-X%zu.pub", c->iut_dir, i);
		ok = ib_pubkey_save(c->iut_opts.extra_keys[i], path) == IB_OK;
	}
	return ok;
}

/* The suite's keyring takes the extra keys too: frames they signed are genuine. */
static bool trust_extra_keys(struct cf_ctx *c)
{
	for (size_t i = 0; i < c->iut_opts.nextra_keys; i++) {
		struct ib_pubkey *k;

		if (ib_keyring_find(c->trusted, ib_pubkey_id(c->iut_opts.extra_keys[i])))
			continue;
		if (ib_pubkey_from_raw(&k, ib_pubkey_raw(c->iut_opts.extra_keys[i])) != IB_OK ||
		    ib_keyring_add(c->trusted, k) != IB_OK)
			return false;
	}
	return true;
}

static uint32_t or_default(uint32_t v, uint32_t dflt)
{
	return v ? v : dflt;
}

/* Whether the test asked the suite to leave key out of node.conf. */
static bool omitted(const struct cf_iut_opts *o, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = o->conf_omit; p && *p; p += strcspn(p, " ")) {
		p += strspn(p, " ");
		if (!strncmp(p, key, n) && (p[n] == ' ' || p[n] == 0))
			return true;
	}
	return false;
}

/* One `key = value` line, unless the test left the key out. */
static void conf_line(FILE *f, const struct cf_iut_opts *o, const char *key, const char *fmt,
		      ...) __attribute__((format(printf, 4, 5)));
static void conf_line(FILE *f, const struct cf_iut_opts *o, const char *key, const char *fmt,
		      ...)
{
	va_list ap;

	if (omitted(o, key))
		return;
	fprintf(f, "%s = ", key);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

/* node.conf as an implementer would write it by hand. */
static bool write_conf(struct cf_ctx *c)
{
	const struct cf_iut_opts *o = &c->iut_opts;
	char path[800], parents[1200] = "";
	FILE *f;
	bool ok;

	for (size_t i = 0; i < o->nparents; i++)
		snprintf(parents + strlen(parents), sizeof parents - strlen(parents), "%s%s",
			 i ? ", " : "", o->parents[i]);
	snprintf(path, sizeof path, "%s/node.conf", c->iut_dir);
	f = fopen(path, "w");
	if (!f)
		return false;
	fprintf(f, "# written by interbot-conform for test %s (seed %llu)\n", c->test->id,
		(unsigned long long)c->w->opt->seed);
	conf_line(f, o, "name", "iut");
	conf_line(f, o, "listen", "127.0.0.1:%u", c->iut_port);
	conf_line(f, o, "mode", "%s", o->client_mode ? "client" : "server");
	if (o->nparents)
		conf_line(f, o, "parents", "%s", parents);
	conf_line(f, o, "keepalive_interval_ms", "%u",
		  or_default(o->keepalive_interval_ms, CF_KEEPALIVE_MS));
	conf_line(f, o, "keepalive_timeout_ms", "%u",
		  or_default(o->keepalive_timeout_ms, CF_KEEPALIVE_TIMEOUT_MS));
	if (o->max_message)
		conf_line(f, o, "max_message", "%u", o->max_message);
	conf_line(f, o, "election_window_ms", "%u",
		  or_default(o->election_window_ms, CF_ELECTION_WINDOW_MS));
	conf_line(f, o, "reconnect_min_ms", "%u",
		  or_default(o->reconnect_min_ms, CF_RECONNECT_MIN_MS));
	conf_line(f, o, "reconnect_max_ms", "%u",
		  or_default(o->reconnect_max_ms, CF_RECONNECT_MAX_MS));
	conf_line(f, o, "commands", "%s", o->commands ? o->commands : CF_COMMANDS);
	if (o->conf_extra)
		fputs(o->conf_extra, f);
	ok = !ferror(f);
	return fclose(f) == 0 && ok;
}

/* The test's files, over the suite's: [IFACE-14] names, links and directories. */
static bool put_files(struct cf_ctx *c, const struct cf_iut_file *files, size_t n)
{
	char path[1000];
	bool ok = true;

	for (size_t i = 0; ok && i < n; i++) {
		const struct cf_iut_file *f = &files[i];
		int fd;

		snprintf(path, sizeof path, "%s/%s", c->iut_dir, f->name);
		ok = unlink(path) == 0 || errno == ENOENT;
		if (!ok || f->remove)
			continue;
		if (f->dir) {
			ok = mkdir(path, 0700) == 0;
		} else if (f->cert_of) {
			ok = ib_identity_write_cert(f->cert_of, path, "other") == IB_OK;
		} else if (f->link_to) {
			ok = symlink(f->link_to, path) == 0;
		} else {
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			ok = fd >= 0 && write(fd, f->text, strlen(f->text)) == (ssize_t)strlen(f->text);
			if (fd >= 0 && close(fd) != 0)
				ok = false;
		}
	}
	return ok;
}

/* DIR/identity.key, .crt, authorized/, store/, node.conf. */
static bool make_node_dir(struct cf_ctx *c)
{
	char path[800];
	bool ok;

	snprintf(c->iut_dir, sizeof c->iut_dir, "%s/%s", c->w->workdir, c->test->id);
	cf_remove_tree(c->iut_dir);
	ok = mkdir(c->iut_dir, 0700) == 0;
	snprintf(path, sizeof path, "%s/authorized", c->iut_dir);
	ok = ok && mkdir(path, 0700) == 0;
	snprintf(path, sizeof path, "%s/store", c->iut_dir);
	ok = ok && mkdir(path, 0700) == 0;
	snprintf(path, sizeof path, "%s/identity.key", c->iut_dir);
	ok = ok && ib_identity_save(c->w->iut_identity, path) == IB_OK;
	snprintf(path, sizeof path, "%s/identity.crt", c->iut_dir);
	ok = ok && ib_identity_write_cert(c->w->iut_identity, path, "iut") == IB_OK;
	/* No identity.pub: [IFACE-1] the node does not read it (section 19.1 calls it optional,
	 * for owners), so the directory every test gives the IUT goes without. */
	ok = ok && write_authorized(c, c->iut_opts.untrusted_testers, c->iut_opts.untrusted_refs);
	return ok && write_conf(c) && put_files(c, c->iut_opts.files, c->iut_opts.nfiles);
}

void cf_iut_given_dir(struct cf_ctx *c, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s", c->iut_dir, c->iut_opts.dir_suffix ? c->iut_opts.dir_suffix : "");
}

/* The reference node's log lines join the test's log, as a spawned IUT's stderr does. */
static void self_log(void *ctx, enum ib_log_level level, const char *line)
{
	struct cf_ctx *c = ctx;

	(void)level;
	ib_buf_put(&c->log, (const uint8_t *)line, strlen(line));
	ib_buf_put(&c->log, (const uint8_t *)"\n", 1);
}

/* The opened reference node, logging and seeded as the IUT, started. */
static int self_run(struct cf_ctx *c, struct ib_diag *diag)
{
	ib_node_set_log(c->iut_node, self_log, c, IB_LOG_DEBUG);
	ib_node_set_seed(c->iut_node, c->w->opt->seed);
	ib_node_set_clock_skew(c->iut_node, c->iut_clock_skew_us);
	return ib_node_start(c->iut_node, diag);
}

static bool self_start(struct cf_ctx *c)
{
	struct ib_diag diag = { 0 };
	char dir[700];
	int err;

	cf_iut_given_dir(c, dir, sizeof dir);
	err = ib_node_open(&c->iut_node, c->w->loop, dir, &diag);
	if (!err)
		err = self_run(c, &diag);
	if (err) {
		ib_node_free(c->iut_node);
		c->iut_node = NULL;
		cf_harness_error(c, "the reference node did not start: %s", diag.reason);
		return false;
	}
	return true;
}

/* {dir} {listen} {host} {port} {parent} {name} of spec section 19.2. */
static bool expand_template(struct cf_ctx *c, const char *tpl, char *out, size_t cap)
{
	char value[800];
	size_t n = 0;

	while (*tpl) {
		const char *v = NULL;
		size_t skip = 0;

		if (*tpl == '{') {
			const char *end = strchr(tpl, '}');
			size_t len = end ? (size_t)(end - tpl + 1) : 0;

			v = value;
			skip = len;
			if (len == 5 && !strncmp(tpl, "{dir}", 5))
				cf_iut_given_dir(c, value, sizeof value);
			else if (len == 8 && !strncmp(tpl, "{listen}", 8))
				snprintf(value, sizeof value, "127.0.0.1:%u", c->iut_port);
			else if (len == 6 && !strncmp(tpl, "{host}", 6))
				snprintf(value, sizeof value, "127.0.0.1");
			else if (len == 6 && !strncmp(tpl, "{port}", 6))
				snprintf(value, sizeof value, "%u", c->iut_port);
			else if (len == 8 && !strncmp(tpl, "{parent}", 8))
				snprintf(value, sizeof value, "%s",
					 c->iut_opts.nparents ? c->iut_opts.parents[0] : "");
			else if (len == 6 && !strncmp(tpl, "{name}", 6))
				snprintf(value, sizeof value, "iut");
			else
				v = NULL;
		}
		if (!v) {
			v = value;
			value[0] = *tpl;
			value[1] = 0;
			skip = 1;
		}
		if (n + strlen(v) + 1 > cap)
			return false;
		memcpy(out + n, v, strlen(v));
		n += strlen(v);
		tpl += skip;
	}
	out[n] = 0;
	return true;
}


/* The IUT process group of this test process, for cf_iut_kill_now() in a signal handler. */
static volatile sig_atomic_t iut_live_pgid;

static void iut_forget(struct cf_ctx *c)
{
	c->iut_pid = 0;
	iut_live_pgid = 0;
}

void cf_iut_kill_now(void)
{
	if (iut_live_pgid > 0)
		kill(-(pid_t)iut_live_pgid, SIGKILL);
}

/* The command is split into words as a shell would (quotes, $VARIABLES) but run without one,
 * so that the process the suite signals is the IUT itself: a shell in between would die of
 * the SIGHUP meant for the IUT. An adapter script must therefore `exec` the implementation. */
/* In the IUT's process, before exec: it never outlives `suite`, the process that started
 * it. A suite killed from outside (a stopped mutation run) left spinning nodes behind. The
 * signal is kept across the adapter's exec. */
static void die_with(pid_t suite)
{
#ifdef __linux__
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != suite)
		_exit(127);
#else
	(void)suite;
#endif
}

/* In the IUT's process, before exec: its wall clock reads iut_clock_skew_us off through
 * libfaketime (the dynamic linker loads it first; a statically linked IUT escapes it, which
 * the tests that set the clock detect). The monotonic clock stays true, so its timers do. */
static void set_faketime(struct cf_ctx *c)
{
	const char *old = getenv("LD_PRELOAD");
	char preload[1200], offset[64];

	snprintf(preload, sizeof preload, "%s%s%s", c->w->opt->faketime, old && *old ? ":" : "",
		 old ? old : "");
	snprintf(offset, sizeof offset, "%+lld", (long long)(c->iut_clock_skew_us / 1000000));
	setenv("LD_PRELOAD", preload, 1);
	setenv("FAKETIME", offset, 1);
	setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1);
	setenv("FAKETIME_NO_CACHE", "1", 1);
}

static bool cmd_start(struct cf_ctx *c)
{
	char cmd[4096], logpath[800];
	wordexp_t words;
	int logfd, rc;
	pid_t suite;

	if (!expand_template(c, c->w->opt->iut_cmd, cmd, sizeof cmd)) {
		cf_harness_error(c, "--iut-cmd is too long once expanded");
		return false;
	}
	rc = wordexp(cmd, &words, WRDE_NOCMD | WRDE_UNDEF);
	if (rc != 0 || words.we_wordc == 0) {
		if (rc == 0)
			wordfree(&words);
		cf_harness_error(c, "--iut-cmd: cannot split `%s` into words (no `$(...)`, "
				 "`;`, `&&` or pipes: put those in an adapter script)", cmd);
		return false;
	}
	snprintf(logpath, sizeof logpath, "%s/stderr.log", c->iut_dir);
	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (logfd < 0) {
		wordfree(&words);
		cf_harness_error(c, "cannot create %s", logpath);
		return false;
	}
	cf_note(c, "start: %s", cmd);
	fflush(NULL);
	suite = getpid();
	c->iut_pid = fork();
	if (c->iut_pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		die_with(suite);
		/* Its own process group, so that an adapter and its children stop together. */
		setpgid(0, 0);
		dup2(null, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		if (c->iut_clock_skew_us)
			set_faketime(c);
		execvp(words.we_wordv[0], words.we_wordv);
		fprintf(stderr, "interbot-conform: cannot run %s: %s\n", words.we_wordv[0],
			strerror(errno));
		_exit(127);
	}
	close(logfd);
	wordfree(&words);
	if (c->iut_pid < 0) {
		iut_forget(c);
		cf_harness_error(c, "fork: %s", strerror(errno));
		return false;
	}
	setpgid(c->iut_pid, c->iut_pid);
	iut_live_pgid = c->iut_pid;
	c->iut_exit_expected = false;
	c->iut_stop_ms = 0;
	return true;
}

/* Reads what the IUT wrote to stderr since the last call, into the test's log. */
static void cmd_collect_log(struct cf_ctx *c)
{
	char path[800], buf[4096];
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "%s/stderr.log", c->iut_dir);
	f = fopen(path, "r");
	if (!f)
		return;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		ib_buf_put(&c->log, (const uint8_t *)buf, n);
	fclose(f);
	if (truncate(path, 0) != 0) {
		/* The file just read: only the IUT can have removed it, and then the next call
		 * finds nothing to copy; a file left whole is copied again. Neither loses a line. */
	}
}

static void describe_exit(int status, char *out, size_t cap)
{
	if (WIFSIGNALED(status))
		snprintf(out, cap, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(out, cap, "exited with status %d", WEXITSTATUS(status));
}

bool cf_iut_check_alive(struct cf_ctx *c)
{
	int status;
	char how[128];

	if (c->w->opt->mode != CF_MODE_CMD || c->iut_pid <= 0)
		return true;
	if (waitpid(c->iut_pid, &status, WNOHANG) != c->iut_pid)
		return true;
	iut_forget(c);
	c->iut_exit_status = status;
	describe_exit(status, how, sizeof how);
	cmd_collect_log(c);
	if (WIFEXITED(status) && WEXITSTATUS(status) == CF_EXIT_UNSUPPORTED)
		cf_unsupported(c, "the IUT exited with status %d: it does not support the "
			       "configuration of this test ([IFACE-8])", CF_EXIT_UNSUPPORTED);
	else if (!c->iut_exit_expected && cf_ok(c)) {
		c->res->verdict = CF_CRASH;
		snprintf(c->res->actual, sizeof c->res->actual, "the IUT %s", how);
		snprintf(c->res->expected, sizeof c->res->expected,
			 "the IUT keeps running until the suite sends SIGTERM");
	}
	return false;
}

/* Readiness: a TCP connection to listen succeeds ([IFACE-3]). */
static bool accepts_tcp(const char *host, uint16_t port)
{
	struct ib_diag diag = { 0 };
	struct pollfd pfd = { .events = POLLOUT };
	bool ok;

	if (ib_net_connect(host, port, &pfd.fd, &diag) != IB_OK)
		return false;
	ok = poll(&pfd, 1, 500) == 1 && ib_net_connect_result(pfd.fd) == IB_OK;
	ib_net_close(pfd.fd);
	return ok;
}

static bool wait_ready(struct cf_ctx *c)
{
	uint64_t limit = cf_now_ms(c) + (uint64_t)(CF_READY_MS * c->w->opt->timeout_scale);

	while (!accepts_tcp(cf_iut_host(c), c->iut_port)) {
		if (!cf_iut_check_alive(c))
			return false;
		if (cf_now_ms(c) > limit) {
			c->res->verdict = CF_TIMEOUT;
			snprintf(c->res->req, sizeof c->res->req, "IFACE-3");
			snprintf(c->res->expected, sizeof c->res->expected,
				 "the IUT accepts TCP connections on %s:%u within %u ms",
				 cf_iut_host(c), c->iut_port, CF_READY_MS);
			snprintf(c->res->actual, sizeof c->res->actual,
				 "every connection was refused");
			c->res->iut_unresponsive = true;
			return false;
		}
		ib_loop_run_once(c->w->loop, 20);
	}
	return true;
}

static bool launch(struct cf_ctx *c)
{
	if (c->w->opt->mode == CF_MODE_SELF)
		return self_start(c);
	return cmd_start(c) && wait_ready(c);
}

bool cf_iut_start(struct cf_ctx *c, const struct cf_iut_opts *opts)
{
	if (c->iut_started) {
		cf_harness_error(c, "cf_iut_start called twice");
		return false;
	}
	c->iut_started = true;
	if (opts)
		c->iut_opts = *opts;
	if (c->w->opt->mode == CF_MODE_ADDR) {
		c->iut_port = c->w->opt->iut_port;
		if (!accepts_tcp(cf_iut_host(c), c->iut_port)) {
			cf_harness_error(c, "nothing accepts connections at %s:%u",
					 cf_iut_host(c), c->iut_port);
			return false;
		}
		return true;
	}
	c->iut_port = hn_free_port();
	if (!c->iut_port || !trust_extra_keys(c) || !make_node_dir(c)) {
		cf_harness_error(c, "cannot prepare the node directory %s", c->iut_dir);
		return false;
	}
	return launch(c);
}

int cf_iut_start_with(struct cf_ctx *c, struct cf_iut_opts *o, const char *settings)
{
	o->conf_extra = settings;
	if (cf_iut_start(c, o))
		return 1;
	if (c->res->verdict != CF_UNSUPPORTED || c->w->opt->mode != CF_MODE_CMD)
		return -1;
	/* [IFACE-21] it may refuse the keys as [IFACE-8] says: then its own bounds. */
	c->res->verdict = CF_PASS;
	c->res->req[0] = c->res->expected[0] = c->res->actual[0] = '\0';
	{
		char one_line[256];

		snprintf(one_line, sizeof one_line, "%s", settings);
		for (char *p = one_line; (p = strchr(p, '\n')) != NULL; *p = p[1] ? ';' : '\0')
			;
		cf_note(c, "the IUT exited with status %d for these settings (%s): the test runs "
			"again at its own bounds ([IFACE-21])", CF_EXIT_UNSUPPORTED, one_line);
	}
	c->iut_started = false;
	o->conf_extra = NULL;
	return cf_iut_start(c, o) ? 0 : -1;
}

/* The directory spoiled as bad says ([ID-4], [ID-5]); node.conf is done by the caller. */
static bool spoil_dir(struct cf_ctx *c, const struct cf_bad_start *bad)
{
	char path[800];

	if (bad->key_mode) {
		snprintf(path, sizeof path, "%s/identity.key", c->iut_dir);
		if (chmod(path, bad->key_mode) != 0)
			return false;
	}
	if (bad->key_in_two_files) {
		snprintf(path, sizeof path, "%s/authorized/same-key-again.pub", c->iut_dir);
		if (ib_pubkey_save(ib_identity_pubkey(c->w->testers[0]), path) != IB_OK)
			return false;
	}
	return true;
}

/* [IFACE-9] A refusal ends in an exit of status neither 0 nor 69, not in a signal. */
static void judge_exit(struct cf_ctx *c, int status, struct cf_refusal *r)
{
	char how[128];

	describe_exit(status, how, sizeof how);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	cf_expect(c, WIFEXITED(status) && r->status != 0 && r->status != CF_EXIT_UNSUPPORTED,
		  "IFACE-9",
		  "a node that refuses to start exits with a status other than 0 and 69 (69 says "
		  "a valid setting is unsupported), not by a signal",
		  "it %s: %.300s", how, r->why);
}

/* cmd mode: the IUT exits (true, judged), listens (false) or does neither in time. */
static bool cmd_refused(struct cf_ctx *c, struct cf_refusal *r)
{
	uint64_t limit;

	c->iut_exit_expected = true;    /* exiting is the right answer here */
	if (!cmd_start(c))
		return false;
	c->iut_exit_expected = true;
	limit = cf_now_ms(c) + (uint64_t)(CF_READY_MS * c->w->opt->timeout_scale);
	while (cf_now_ms(c) < limit) {
		int status;

		if (waitpid(c->iut_pid, &status, WNOHANG) == c->iut_pid) {
			size_t before = c->log.len;

			iut_forget(c);
			cmd_collect_log(c);
			snprintf(r->why, sizeof r->why, "%.*s", (int)(c->log.len - before),
				 (const char *)c->log.ptr + before);
			judge_exit(c, status, r);
			return true;
		}
		if (accepts_tcp(cf_iut_host(c), c->iut_port)) {
			c->iut_exit_expected = false;   /* it runs: from now on an exit is a crash */
			return false;
		}
		ib_loop_run_once(c->w->loop, 20);
	}
	/* Neither refused to start nor listening: a node that does nothing. */
	c->res->iut_unresponsive = true;
	return false;
}

bool cf_iut_start_refused(struct cf_ctx *c, const struct cf_bad_start *bad,
			  struct cf_refusal *r)
{
	const char *extra_conf = bad->conf_append ? bad->conf_append : "";
	char path[800];
	FILE *f;
	int ch;

	memset(r, 0, sizeof *r);
	r->status = -1;
	c->iut_started = true;
	c->iut_port = hn_free_port();
	c->iut_opts.conf_omit = bad->conf_omit;
	c->iut_opts.files = bad->files;
	c->iut_opts.nfiles = bad->nfiles;
	if (!c->iut_port || !trust_extra_keys(c) || !make_node_dir(c) || !spoil_dir(c, bad)) {
		cf_harness_error(c, "cannot prepare the node directory %s", c->iut_dir);
		return false;
	}
	snprintf(path, sizeof path, "%s/node.conf", c->iut_dir);
	f = fopen(path, "a+");
	r->line = 1;
	while (f && (ch = fgetc(f)) != EOF)
		r->line += ch == '\n';
	/* cppcheck-suppress IOWithoutPositioning ; the reads ended at end-of-file (C11 7.21.5.3) */
	if (!f || fputs(extra_conf, f) < 0 || fclose(f) != 0) {
		cf_harness_error(c, "cannot write %s", path);
		return false;
	}
	if (c->w->opt->mode == CF_MODE_SELF) {
		struct ib_diag diag = { 0 };
		char dir[700];

		cf_iut_given_dir(c, dir, sizeof dir);
		if (ib_node_open(&c->iut_node, c->w->loop, dir, &diag) == IB_OK) {
			/* It opened: it runs, as after cf_iut_start. */
			if (self_run(c, &diag) != IB_OK)
				cf_harness_error(c, "the reference node did not start: %s",
						 diag.reason);
			return false;
		}
		/* What `interbot run` prints for the same failure. */
		if (diag.line)
			snprintf(r->why, sizeof r->why, "%s:%d: %s", diag.file, diag.line,
				 diag.reason);
		else
			snprintf(r->why, sizeof r->why, "%s%s%s", diag.file,
				 diag.file[0] ? ": " : "", diag.reason);
		return true;
	}
	return cmd_refused(c, r);
}

static bool self_exited(void *arg)
{
	(void)arg;
	return true;
}

static bool pid_exited(void *arg)
{
	struct cf_ctx *c = arg;

	return c->iut_pid == 0;
}

bool cf_iut_stop_begin(struct cf_ctx *c)
{
	if (c->w->opt->mode == CF_MODE_SELF) {
		if (c->iut_node)
			ib_node_stop(c->iut_node);
		return true;
	}
	if (c->w->opt->mode == CF_MODE_ADDR || c->iut_pid <= 0 || c->iut_stop_ms)
		return true;
	c->iut_exit_expected = true;
	c->iut_stop_ms = cf_now_ms(c);
	kill(-c->iut_pid, SIGTERM);
	return true;
}

bool cf_iut_stop(struct cf_ctx *c)
{
	uint32_t within = CF_STOP_MS;
	uint64_t since;

	if (c->w->opt->mode == CF_MODE_SELF) {
		if (c->iut_node) {
			ib_node_stop(c->iut_node);
			/* The closing frames leave on the next turns. */
			cf_run_until(c, self_exited, NULL, 0);
			ib_loop_run_once(c->w->loop, 0);
			ib_node_free(c->iut_node);
			c->iut_node = NULL;
		}
		return true;
	}
	if (c->w->opt->mode == CF_MODE_ADDR || c->iut_pid <= 0)
		return true;
	cf_iut_stop_begin(c);
	since = cf_now_ms(c) - c->iut_stop_ms;
	if (cf_run_until(c, pid_exited, c, since < within ? within - (uint32_t)since : 0)) {
		char how[128];

		/* [IFACE-5] a clean stop is a success: status 0 (an init system reports any
		 * other exit as a failure). */
		describe_exit(c->iut_exit_status, how, sizeof how);
		return cf_expect(c, WIFEXITED(c->iut_exit_status) &&
				 WEXITSTATUS(c->iut_exit_status) == 0, "IFACE-5",
				 "the IUT exits with status 0 after SIGTERM", "%s", how);
	}
	kill(-c->iut_pid, SIGKILL);
	waitpid(c->iut_pid, NULL, 0);
	iut_forget(c);
	return cf_expect(c, false, "IFACE-5", "the IUT exits within 5 s of SIGTERM",
			 "it was still running after %u ms and was killed", within);
}

bool cf_iut_restart(struct cf_ctx *c, bool empty_store)
{
	char path[800];

	if (!cf_iut_stop(c))
		return false;
	if (empty_store) {
		snprintf(path, sizeof path, "%s/store", c->iut_dir);
		cf_remove_tree(path);
		mkdir(path, 0700);
	}
	return launch(c);
}

bool cf_iut_crash_restart_skewed(struct cf_ctx *c, int64_t skew_us)
{
	if (c->w->opt->mode == CF_MODE_SELF && c->iut_node) {
		/* Freed with no stop: its links close without an ERROR, and nothing more is
		 * written, as when the process is killed. */
		ib_node_free(c->iut_node);
		c->iut_node = NULL;
	} else if (c->w->opt->mode == CF_MODE_CMD && c->iut_pid > 0 &&
		   (c->w->opt->faketime[0] || skew_us == 0)) {
		c->iut_exit_expected = true;
		kill(-c->iut_pid, SIGKILL);
		if (!cf_run_until(c, pid_exited, c, CF_STOP_MS)) {
			cf_harness_error(c, "the IUT did not die of SIGKILL");
			return false;
		}
	} else {
		cf_harness_error(c, "setting the IUT's clock needs self mode, or cmd mode with "
				 "libfaketime, and a running IUT");
		return false;
	}
	c->iut_clock_skew_us = skew_us;
	return launch(c);
}

bool cf_iut_reload(struct cf_ctx *c, unsigned untrusted_testers, unsigned untrusted_refs)
{
	if (!write_authorized(c, untrusted_testers, untrusted_refs)) {
		cf_harness_error(c, "cannot rewrite %s/authorized", c->iut_dir);
		return false;
	}
	if (c->w->opt->mode == CF_MODE_SELF) {
		struct ib_diag diag = { 0 };

		/* A refused keyring is the node's answer ([MEMBER-3]), which tests observe. */
		if (ib_node_reload_keys(c->iut_node, &diag) != IB_OK)
			cf_note(c, "reload refused: %s", diag.reason);
		return true;
	}
	if (c->iut_pid > 0)
		kill(-c->iut_pid, SIGHUP);
	return true;
}

bool cf_iut_stall(struct cf_ctx *c, uint32_t ms)
{
	if (c->w->opt->mode == CF_MODE_SELF) {
		/* One loop for all: the clock jumps with no turn taken, as if the host slept. */
		ib_vclock_advance(&c->w->vclock, (uint64_t)ms * 1000);
		return true;
	}
	if (c->iut_pid <= 0) {
		cf_harness_error(c, "no IUT process to stall");
		return false;
	}
	kill(-c->iut_pid, SIGSTOP);
	cf_pause(c, ms);
	kill(-c->iut_pid, SIGCONT);
	return true;
}

bool cf_iut_put_authorized(struct cf_ctx *c, const char *name, const char *contents)
{
	char path[1000];

	snprintf(path, sizeof path, "%s/authorized/%s", c->iut_dir, name);
	if (!write_text(path, contents)) {
		cf_harness_error(c, "cannot write %s", path);
		return false;
	}
	return true;
}

void cf_iut_cleanup(struct cf_ctx *c)
{
	if (c->w->opt->mode == CF_MODE_CMD && c->iut_pid > 0) {
		cf_iut_check_alive(c);
		if (c->iut_pid > 0) {
			c->iut_exit_expected = true;
			kill(-c->iut_pid, SIGTERM);
			if (!cf_run_until(c, pid_exited, c, CF_STOP_MS)) {
				kill(-c->iut_pid, SIGKILL);
				waitpid(c->iut_pid, NULL, 0);
				iut_forget(c);
			}
		}
	}
	if (c->w->opt->mode == CF_MODE_CMD && c->iut_dir[0])
		cmd_collect_log(c);
	if (c->iut_node) {
		ib_node_free(c->iut_node);
		c->iut_node = NULL;
	}
	if (c->iut_dir[0] && !c->w->opt->keep && cf_ok(c))
		cf_remove_tree(c->iut_dir);
	else if (c->iut_dir[0])
		snprintf(c->res->node_dir, sizeof c->res->node_dir, "%s", c->iut_dir);
}

const ib_id *cf_iut_id(struct cf_ctx *c)
{
	return ib_pubkey_id(c->w->iut_key);
}

void cf_iut_secret(struct cf_ctx *c, uint8_t out[32])
{
	cf_derive(c->w->opt->seed, "iut", 0, out);
}

const struct ib_pubkey *cf_iut_key(struct cf_ctx *c)
{
	return c->w->iut_key;
}

uint16_t cf_iut_port(struct cf_ctx *c)
{
	return c->iut_port;
}

const char *cf_iut_host(struct cf_ctx *c)
{
	return c->w->opt->mode == CF_MODE_ADDR ? c->w->opt->iut_host : "127.0.0.1";
}

int cf_iut_open_fds(struct cf_ctx *c)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	if (cf_mode(c) == CF_MODE_ADDR || (cf_mode(c) == CF_MODE_CMD && c->iut_pid <= 0))
		return -1;
	snprintf(path, sizeof path, "/proc/%ld/fd",
		 cf_mode(c) == CF_MODE_CMD ? (long)c->iut_pid : (long)getpid());
	if (!(d = opendir(path)))
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory stream's own descriptor */
}

long cf_iut_rss_kb(struct cf_ctx *c)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	if (cf_mode(c) != CF_MODE_CMD || c->iut_pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%ld/status", (long)c->iut_pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

long cf_iut_cpu_ms(struct cf_ctx *c)
{
	if (cf_mode(c) != CF_MODE_CMD || c->iut_pid <= 0)
		return -1;
	return hn_proc_cpu_ms((long)c->iut_pid);
}

int cf_syn_sent_to(uint16_t port, bool v6)
{
	FILE *f = fopen(v6 ? "/proc/net/tcp6" : "/proc/net/tcp", "r");
	char line[512], want[8];
	int n = 0;

	if (!f)
		return -1;
	snprintf(want, sizeof want, ":%04X", port);
	while (fgets(line, sizeof line, f)) {
		char local[64], remote[64], st[8];

		if (sscanf(line, "%*s %63s %63s %7s", local, remote, st) == 3 &&
		    !strcmp(st, "02") && strlen(remote) > 5 &&
		    !strcmp(remote + strlen(remote) - 5, want))
			n++;
	}
	fclose(f);
	return n;
}

enum cf_mode cf_mode(struct cf_ctx *c)
{
	return c->w->opt->mode;
}
