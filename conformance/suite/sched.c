/*
 * sched.c - runs the selected tests and hands their results back in test order.
 *
 * In self and cmd mode each test runs in a child process of its own (fork, no exec), so that a
 * crash of the in-process reference node, or of the suite, is that test's CRASH verdict with
 * its signal and backtrace, not the end of the run; `-j N` keeps N of them running at once.
 * The child sends its result back through a pipe; the parent prints results in test order, so
 * a parallel run's output reads like a serial one. Addr mode (one running node shared by every
 * test, and tester sequence numbers that must keep growing across tests), --pcap (one trace
 * file written in order) and --no-fork run the tests in this process, one after the other.
 *
 * -x stops at the first failure that any test process reports, not only the first in test
 * order: the tests still in flight are stopped (their IUTs with them) and not reported, so a
 * failure found early is not held back by a slow timer test that started before it.
 *
 * Fail fast: a test that finds the IUT unresponsive (never listening, or accepting TCP but
 * never completing TLS) says so in its result; after CF_DEAD_AFTER such results in a row (in
 * the order they come in), the tests not yet started are reported as not run, without
 * waiting out their timeouts.
 *
 * With -j the tests marked CF_SLOW (seconds of the IUT's timers each) start first: started
 * in test order, the longest of them would begin last and the whole run would wait for them.
 */
#include "suite.h"

#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CF_DEAD_AFTER 2          /* unresponsive tests in a row before the rest are not run */
#define CF_CHILD_LIMIT_MS 300000 /* a test process that runs longer is stuck: killed */
#define CF_STDERR_KEEP 8192      /* bytes of a crashed test process's stderr kept */
#define CF_STOP_WAIT_MS 2000     /* a test stopped at its budget has this long to exit */

struct slot {
	pid_t pid;
	size_t index;               /* into tests[] */
	int fd_result, fd_err;      /* -1 once at EOF */
	struct ib_buf result, err;
	double started_ms;
	double limit_ms;            /* after started_ms: stopped (--budgets) or killed (stuck) */
	bool budgeted;              /* limit_ms is the test's budget */
};

struct sched {
	struct cf_world *w;
	const struct cf_options *o;
	const struct cf_test *const *tests;
	size_t n;
	struct cf_result *rs;
	bool *done;
	bool *dropped;              /* stopped in flight by -x: not reported */
	size_t *order;              /* indices into tests[] in the order they start */
	size_t next, reported;      /* into order[]; into tests[] */
	unsigned unresponsive_run;  /* unresponsive results in a row, as they came in */
	char dead[300];             /* why the rest is not run, once the IUT is given up */
	bool stop;                  /* -x after a failure */
	void (*report)(struct cf_result *r, void *arg);
	void *arg;
};

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static bool forking(const struct cf_options *o)
{
	return o->mode != CF_MODE_ADDR && !o->pcap && !o->no_fork;
}

/* ---- the child ---------------------------------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define CF_OWN_CRASH_HANDLER 0      /* ASan reports the crash itself, better */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CF_OWN_CRASH_HANDLER 0
#endif
#endif
#ifndef CF_OWN_CRASH_HANDLER
#define CF_OWN_CRASH_HANDLER 1
#endif

/* A test process that dies anyway: catch_fatal_signals warmed backtrace up (the unwinder is
 * not loaded here), and backtrace_symbols_fd writes to the descriptor without malloc.
 * NOLINTBEGIN(bugprone-signal-handler,cert-sig30-c) */
static void on_fatal_signal(int sig)
{
	static const char head[] = "interbot-conform: fatal signal in the test process; "
				   "backtrace (addr2line -e BINARY resolves the addresses):\n";
	void *frames[64];
	int n = backtrace(frames, 64);

	if (write(2, head, sizeof head - 1) < 0)
		_exit(128 + sig);
	backtrace_symbols_fd(frames, n, 2);
	signal(sig, SIG_DFL);
	raise(sig);
}
/* NOLINTEND(bugprone-signal-handler,cert-sig30-c) */

static void catch_fatal_signals(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	void *warm[1];

	if (!CF_OWN_CRASH_HANDLER)
		return;
	backtrace(warm, 1);         /* loads the unwinder now, not inside the handler */
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], on_fatal_signal);
}

static bool write_all(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len) {
		ssize_t k = write(fd, b, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		b += k;
		len -= (size_t)k;
	}
	return true;
}

static bool write_text(int fd, const char *s)
{
	uint32_t len = s ? (uint32_t)strlen(s) : 0;

	return write_all(fd, &len, sizeof len) && write_all(fd, s ? s : "", len);
}

/* The result as raw bytes: parent and child are the same program, so the struct's layout is
 * shared; its pointers are sent apart and fixed up by the parent. */
/* -x stopped this test: its IUT goes with it (it runs in a process group of its own). */
static void on_stop_signal(int sig)
{
	(void)sig;
	/* NOLINTNEXTLINE(bugprone-signal-handler,cert-sig30-c): reads a sig_atomic_t, calls kill */
	cf_iut_kill_now();
	_exit(128 + SIGTERM);
}

static void child_run(struct cf_world *w, const struct cf_test *t, int fd)
{
	struct cf_result r;
	bool ok;

	catch_fatal_signals();
	signal(SIGTERM, on_stop_signal);
	cf_run_test(w, t, &r);
	ok = write_all(fd, &r, sizeof r) && write_text(fd, r.transcript) &&
	     write_text(fd, r.iut_log);
	cf_result_free(&r);
	close(fd);
	fflush(NULL);
	exit(ok ? 0 : 3);
}

/* ---- the parent --------------------------------------------------------------------------- */

static bool read_text(const uint8_t **p, const uint8_t *end, char **out)
{
	uint32_t len;

	if ((size_t)(end - *p) < sizeof len)
		return false;
	memcpy(&len, *p, sizeof len);
	*p += sizeof len;
	if ((size_t)(end - *p) < len)
		return false;
	*out = malloc((size_t)len + 1);
	if (!*out)
		return false;
	memcpy(*out, *p, len);
	(*out)[len] = 0;
	*p += len;
	return true;
}

static bool decode_result(const struct ib_buf *b, const struct cf_test *t, struct cf_result *r)
{
	const uint8_t *p = b->ptr, *end = b->ptr + b->len;
	char *transcript = NULL, *log = NULL;

	if (b->len < sizeof *r)
		return false;
	memcpy(r, p, sizeof *r);
	p += sizeof *r;
	r->test = t;
	r->transcript = r->iut_log = NULL;
	r->expect_reason = NULL;
	if (!read_text(&p, end, &transcript) || !read_text(&p, end, &log)) {
		free(transcript);
		return false;
	}
	r->transcript = transcript;
	r->iut_log = log;
	return true;
}

static char *tail_text(const struct ib_buf *b)
{
	size_t from = b->len > CF_STDERR_KEEP ? b->len - CF_STDERR_KEEP : 0;
	char *s = malloc(b->len - from + 1);

	if (s) {
		memcpy(s, b->ptr + from, b->len - from);
		s[b->len - from] = 0;
	}
	return s;
}

/* A test process that ended without a whole result: it crashed, or it was stopped at its
 * budget or killed as stuck. */
static void crashed_result(struct sched *s, struct slot *sl, int status, bool stuck)
{
	struct cf_result *r = &s->rs[sl->index];

	memset(r, 0, sizeof *r);
	r->test = s->tests[sl->index];
	r->verdict = stuck ? CF_TIMEOUT : CF_CRASH;
	r->over_budget = stuck && sl->budgeted;
	r->wall_ms = mono_ms() - sl->started_ms;
	snprintf(r->expected, sizeof r->expected, "the test runs to its verdict");
	if (r->over_budget)
		snprintf(r->actual, sizeof r->actual, "the test process was still running at its "
			 "budget of %.0f ms (--budgets %s) and was stopped", sl->limit_ms,
			 s->o->budgets_path);
	else if (stuck)
		snprintf(r->actual, sizeof r->actual, "the test process was still running after "
			 "%.0f s and was killed (a loop that never yields, in the node or the suite)",
			 sl->limit_ms / 1000);
	else if (WIFSIGNALED(status))
		snprintf(r->actual, sizeof r->actual, "the test process was killed by signal %d "
			 "(%s)%s; its stderr is in the transcript (-v)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)),
			 s->o->mode == CF_MODE_SELF ? ": the in-process reference node or the suite "
						      "crashed" : "");
	else
		snprintf(r->actual, sizeof r->actual, "the test process exited with status %d "
			 "before its verdict; its stderr is in the transcript (-v)",
			 WEXITSTATUS(status));
	r->transcript = tail_text(&sl->err);
}

/* A result came in: an unresponsive IUT is given up after CF_DEAD_AFTER in a row. */
static void learn(struct sched *s, const struct cf_result *r)
{
	s->unresponsive_run = r->iut_unresponsive ? s->unresponsive_run + 1 : 0;
	if (s->unresponsive_run >= CF_DEAD_AFTER && !s->dead[0])
		snprintf(s->dead, sizeof s->dead, "the IUT did not answer in %d tests in a row "
			 "(the last: %s; %.120s)", CF_DEAD_AFTER, r->test->id, r->actual);
}

static void finish_slot(struct sched *s, struct slot *sl, bool stuck)
{
	struct cf_result *r = &s->rs[sl->index];
	int status = 0;
	bool reaped = false;

	/* At a budget, SIGTERM: the test process kills its IUT on the way out (on_stop_signal);
	 * a stuck one gets SIGKILL, and a budgeted one that ignores SIGTERM too. */
	if (stuck && sl->budgeted) {
		kill(sl->pid, SIGTERM);
		for (int i = 0; i < CF_STOP_WAIT_MS / 10 && !reaped; i++) {
			reaped = waitpid(sl->pid, &status, WNOHANG) == sl->pid;
			if (!reaped)
				poll(NULL, 0, 10);
		}
	}
	if (stuck && !reaped)
		kill(sl->pid, SIGKILL);
	while (!reaped && waitpid(sl->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (stuck || !decode_result(&sl->result, s->tests[sl->index], r)) {
		crashed_result(s, sl, status, stuck);
	} else {
		/* A sanitizer's report, a warning: shown, as an in-process run would. */
		if (sl->err.len)
			fwrite(sl->err.ptr, 1, sl->err.len, stderr);
		if ((!WIFEXITED(status) || WEXITSTATUS(status) != 0) && r->verdict == CF_PASS) {
			/* After its verdict: LeakSanitizer at exit, most likely. */
			r->verdict = CF_HARNESS_ERROR;
			snprintf(r->actual, sizeof r->actual, "the test passed, but its process "
				 "then exited with status %d (a sanitizer's report? see stderr)",
				 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		}
	}
	s->done[sl->index] = true;
	learn(s, r);
	if (s->o->exit_first && cf_run_failed(r, 1))
		s->stop = true;
	ib_buf_free(&sl->result);
	ib_buf_free(&sl->err);
	sl->pid = 0;
}

static void not_run(struct sched *s, size_t i)
{
	struct cf_result *r = &s->rs[i];

	memset(r, 0, sizeof *r);
	r->test = s->tests[i];
	r->verdict = CF_TIMEOUT;
	r->not_run = true;
	snprintf(r->req, sizeof r->req, "IFACE-3");
	snprintf(r->expected, sizeof r->expected,
		 "the IUT accepts connections on its listen address and completes TLS");
	snprintf(r->actual, sizeof r->actual, "not run: %s", s->dead);
	s->done[i] = true;
}

/* Reports every finished result that all earlier ones (in test order) precede. */
static void report_ready(struct sched *s)
{
	while (s->reported < s->n && s->done[s->reported]) {
		struct cf_result *r = &s->rs[s->reported++];

		if (s->dropped[s->reported - 1])
			continue;
		s->report(r, s->arg);
		if (s->o->exit_first && cf_run_failed(r, 1))
			s->stop = true;
	}
}

/* -x stopped the run: the tests that finished are reported, in test order, whether or not
 * every test before them ran (under -j a later test may have started first and failed);
 * the ones that never ran, or were stopped in flight, are left out. */
static void report_after_stop(struct sched *s)
{
	for (; s->reported < s->n; s->reported++) {
		size_t i = s->reported;

		if (!s->done[i] || s->dropped[i]) {
			s->dropped[i] = true;
			continue;
		}
		s->report(&s->rs[i], s->arg);
	}
}

/* Close-on-exec: an IUT the test starts must not hold the pipes open after the test. */
static int pipe_cloexec(int fds[2])
{
	if (pipe(fds) != 0)
		return -1;
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	return 0;
}

static bool start_child(struct sched *s, struct slot *sl, size_t index)
{
	int res[2], err[2];
	uint32_t budget;

	if (pipe_cloexec(res) != 0)
		return false;
	if (pipe_cloexec(err) != 0) {
		close(res[0]);
		close(res[1]);
		return false;
	}
	fflush(NULL);               /* or the child would print the parent's buffered text too */
	sl->pid = fork();
	if (sl->pid == 0) {
		close(res[0]);
		close(err[0]);
		dup2(err[1], 2);
		close(err[1]);
		child_run(s->w, s->tests[index], res[1]);
	}
	close(res[1]);
	close(err[1]);
	if (sl->pid < 0) {
		close(res[0]);
		close(err[0]);
		sl->pid = 0;
		return false;
	}
	sl->index = index;
	sl->fd_result = res[0];
	sl->fd_err = err[0];
	memset(&sl->result, 0, sizeof sl->result);
	memset(&sl->err, 0, sizeof sl->err);
	sl->started_ms = mono_ms();
	sl->limit_ms = CF_CHILD_LIMIT_MS * s->o->timeout_scale;
	budget = cf_budget_ms(&s->o->budgets, s->tests[index]->id);
	sl->budgeted = budget && budget * s->o->timeout_scale < sl->limit_ms;
	if (sl->budgeted)
		sl->limit_ms = budget * s->o->timeout_scale;
	return true;
}

/* Reads what is there; at EOF closes the descriptor and sets it to -1. */
static void drain(int *fd, struct ib_buf *b)
{
	uint8_t buf[65536];
	ssize_t k = read(*fd, buf, sizeof buf);

	if (k > 0) {
		ib_buf_put(b, buf, (size_t)k);
	} else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
		close(*fd);
		*fd = -1;
	}
}

/* Waits for output of any running child, and finishes the children that are done. */
static void poll_children(struct sched *s, struct slot *slots, unsigned nslots)
{
	struct pollfd pfd[2 * 64];
	struct slot *owner[2 * 64];
	unsigned n = 0;
	double now = mono_ms(), wait_ms = CF_CHILD_LIMIT_MS;

	for (unsigned i = 0; i < nslots; i++) {
		struct slot *sl = &slots[i];

		if (!sl->pid)
			continue;
		if (now - sl->started_ms >= sl->limit_ms) {
			if (sl->fd_result >= 0)
				close(sl->fd_result);
			if (sl->fd_err >= 0)
				close(sl->fd_err);
			finish_slot(s, sl, true);
			continue;
		}
		if (sl->started_ms + sl->limit_ms - now < wait_ms)
			wait_ms = sl->started_ms + sl->limit_ms - now;
		if (sl->fd_result >= 0) {
			pfd[n] = (struct pollfd){ .fd = sl->fd_result, .events = POLLIN };
			owner[n++] = sl;
		}
		if (sl->fd_err >= 0) {
			pfd[n] = (struct pollfd){ .fd = sl->fd_err, .events = POLLIN };
			owner[n++] = sl;
		}
	}
	if (n && poll(pfd, n, (int)wait_ms + 1) > 0) {
		for (unsigned i = 0; i < n; i++) {
			struct slot *sl = owner[i];

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (pfd[i].fd == sl->fd_result)
				drain(&sl->fd_result, &sl->result);
			else if (pfd[i].fd == sl->fd_err)
				drain(&sl->fd_err, &sl->err);
		}
	}
	for (unsigned i = 0; i < nslots; i++)
		if (slots[i].pid && slots[i].fd_result < 0 && slots[i].fd_err < 0)
			finish_slot(s, &slots[i], false);
}

/* Whether the last result that came in found the IUT silent. */
static bool iut_suspect(const struct sched *s)
{
	return s->unresponsive_run > 0;
}

/* -x: a failure was found; the tests still running are stopped and dropped, with the node
 * directories they leave. */
static void stop_in_flight(struct sched *s, struct slot *slots, unsigned nslots)
{
	for (unsigned k = 0; k < nslots; k++) {
		struct slot *sl = &slots[k];
		char dir[PATH_MAX];

		if (!sl->pid)
			continue;
		kill(sl->pid, SIGTERM);
		while (waitpid(sl->pid, NULL, 0) < 0 && errno == EINTR)
			;
		if (sl->fd_result >= 0)
			close(sl->fd_result);
		if (sl->fd_err >= 0)
			close(sl->fd_err);
		ib_buf_free(&sl->result);
		ib_buf_free(&sl->err);
		snprintf(dir, sizeof dir, "%s/%s", s->w->workdir, s->tests[sl->index]->id);
		cf_remove_tree(dir);
		s->dropped[sl->index] = s->done[sl->index] = true;
		sl->pid = 0;
	}
}

/* In test order, but under -j the CF_SLOW tests first. */
static void start_order(struct sched *s)
{
	bool parallel = forking(s->o) && s->o->jobs > 1;
	size_t k = 0;

	for (size_t i = 0; i < s->n; i++)
		if (parallel && (s->tests[i]->needs & CF_SLOW))
			s->order[k++] = i;
	for (size_t i = 0; i < s->n; i++)
		if (!parallel || !(s->tests[i]->needs & CF_SLOW))
			s->order[k++] = i;
}

static void run_forked(struct sched *s)
{
	struct slot slots[64];
	unsigned nslots = s->o->jobs < 1 ? 1 : s->o->jobs > 64 ? 64 : (unsigned)s->o->jobs;
	unsigned running = 0;

	memset(slots, 0, sizeof slots);
	for (;;) {
		report_ready(s);
		/* After an unresponsive result, nothing new starts until the tests in flight
		 * tell whether the IUT is dead: a new one would only wait out its timeout. */
		while (!s->stop && s->next < s->n &&
		       (s->dead[0] || (running < nslots && (!running || !iut_suspect(s))))) {
			size_t i = s->order[s->next++];
			unsigned k;

			if (s->dead[0]) {
				not_run(s, i);
				continue;
			}
			for (k = 0; slots[k].pid; k++)
				;
			if (!start_child(s, &slots[k], i)) {
				/* No process: run it here rather than lose it. */
				cf_run_test(s->w, s->tests[i], &s->rs[i]);
				s->done[i] = true;
				learn(s, &s->rs[i]);
				continue;
			}
			running++;
			report_ready(s);
		}
		if (!running)
			break;
		poll_children(s, slots, nslots);
		if (s->stop)
			stop_in_flight(s, slots, nslots);
		running = 0;
		for (unsigned k = 0; k < nslots; k++)
			running += slots[k].pid != 0;
	}
	report_ready(s);
}

static void run_here(struct sched *s)
{
	while (!s->stop && s->next < s->n) {
		size_t i = s->order[s->next++];

		if (s->dead[0]) {
			not_run(s, i);
		} else {
			cf_run_test(s->w, s->tests[i], &s->rs[i]);
			learn(s, &s->rs[i]);
		}
		s->done[i] = true;
		report_ready(s);
	}
}

size_t cf_sched_run(struct cf_world *w, const struct cf_test *const *tests, size_t n,
		    struct cf_result *rs, void (*report)(struct cf_result *r, void *arg),
		    void *arg, char *dead, size_t dead_cap)
{
	struct sched s = { .w = w, .o = w->opt, .tests = tests, .n = n, .rs = rs,
			   .report = report, .arg = arg };
	size_t kept = 0;

	s.done = calloc(n ? n : 1, sizeof *s.done);
	s.dropped = calloc(n ? n : 1, sizeof *s.dropped);
	s.order = calloc(n ? n : 1, sizeof *s.order);
	if (!s.done || !s.dropped || !s.order) {
		free(s.done);
		free(s.dropped);
		free(s.order);
		return 0;
	}
	start_order(&s);
	if (forking(w->opt))
		run_forked(&s);
	else
		run_here(&s);
	if (s.stop)
		report_after_stop(&s);
	/* The reported results, without the dropped ones, from rs[0] on. */
	for (size_t i = 0; i < s.reported; i++)
		if (!s.dropped[i])
			rs[kept++] = rs[i];
	free(s.done);
	free(s.dropped);
	free(s.order);
	snprintf(dead, dead_cap, "%s", s.dead);
	return kept;
}
