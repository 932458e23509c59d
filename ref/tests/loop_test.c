/* Unit tests of clock.c and loop.c: the virtual clock, timers, and descriptor watches. All run
 * on a virtual clock with max_wait_ms = 0 (no sleeping), except test_system_clock_blocks,
 * which waits about 1 ms of real time to show that a real wait works. */
#include "ib_test.h"
#include "loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define START_UNIX_US 1767225600000000ull /* 2026-01-01T00:00:00Z */

/* A loop on a fresh virtual clock. */
struct fixture {
	struct ib_vclock vc;
	struct ib_clock clock;
	struct ib_loop *loop;
};

static void fixture_init(struct fixture *f)
{
	ib_vclock_init(&f->vc, START_UNIX_US);
	f->clock = ib_vclock_clock(&f->vc);
	f->loop = NULL;
	IB_ASSERT_OK(ib_loop_new(&f->loop, &f->clock));
	CU_ASSERT_FATAL(f->loop != NULL);
}

/* Timers append their tag here, in firing order. */
struct trace {
	int tags[256];
	size_t n;
};

struct tagged {
	struct trace *trace;
	int tag;
};

static void record_cb(struct ib_loop *loop, void *arg)
{
	struct tagged *t = arg;

	(void)loop;
	if (t->trace->n < sizeof t->trace->tags / sizeof t->trace->tags[0])
		t->trace->tags[t->trace->n++] = t->tag;
}

static void count_cb(struct ib_loop *loop, void *arg)
{
	(void)loop;
	(*(int *)arg)++;
}

/* ---- clocks ---------------------------------------------------------------------------- */

static void test_vclock(void)
{
	struct ib_vclock vc;
	struct ib_clock c;
	uint64_t mono0;

	ib_vclock_init(&vc, START_UNIX_US);
	c = ib_vclock_clock(&vc);
	CU_ASSERT(c.ctx == &vc);
	CU_ASSERT(vc.monotonic_us != 0); /* 0 is never a deadline */
	CU_ASSERT_EQUAL(c.unix_us(c.ctx), START_UNIX_US);
	CU_ASSERT_EQUAL(c.monotonic_us(c.ctx), vc.monotonic_us);
	mono0 = c.monotonic_us(c.ctx);

	ib_vclock_advance(&vc, 0);
	CU_ASSERT_EQUAL(c.monotonic_us(c.ctx), mono0);
	ib_vclock_advance(&vc, 1500);
	CU_ASSERT_EQUAL(c.monotonic_us(c.ctx), mono0 + 1500);
	CU_ASSERT_EQUAL(c.unix_us(c.ctx), START_UNIX_US + 1500);

	/* It saturates instead of wrapping back. */
	ib_vclock_advance(&vc, UINT64_MAX);
	CU_ASSERT_EQUAL(c.monotonic_us(c.ctx), UINT64_MAX);
	CU_ASSERT_EQUAL(c.unix_us(c.ctx), UINT64_MAX);

	ib_vclock_init(&vc, 0);
	CU_ASSERT_EQUAL(c.unix_us(c.ctx), 0);
	CU_ASSERT_EQUAL(c.monotonic_us(c.ctx), mono0);
}

static void test_system_clock(void)
{
	const struct ib_clock *c = ib_clock_system();
	uint64_t m1, m2;

	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT(c == ib_clock_system());
	m1 = c->monotonic_us(c->ctx);
	m2 = c->monotonic_us(c->ctx);
	CU_ASSERT(m2 >= m1);
	CU_ASSERT(c->unix_us(c->ctx) > START_UNIX_US - 365ull * 86400 * 1000000); /* after 2025 */
}

static void test_loop_clock(void)
{
	struct fixture f;

	fixture_init(&f);
	/* The loop copied the clock: the struct it was given may go. */
	memset(&f.clock, 0, sizeof f.clock);
	CU_ASSERT_EQUAL(ib_loop_now_us(f.loop), f.vc.monotonic_us);
	ib_vclock_advance(&f.vc, 42);
	CU_ASSERT_EQUAL(ib_loop_now_us(f.loop), f.vc.monotonic_us);
	CU_ASSERT_EQUAL(ib_loop_clock(f.loop)->unix_us(ib_loop_clock(f.loop)->ctx),
			START_UNIX_US + 42);
	ib_loop_free(f.loop);
}

static void fd_nop_cb(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	(void)arg;
}

static void test_invalid_args(void)
{
	struct fixture f;
	struct ib_loop *l = NULL;
	struct ib_clock broken = {NULL, NULL, NULL};
	uint64_t at;

	IB_ASSERT_ERR(ib_loop_new(&l, NULL), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_loop_new(&l, &broken), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_loop_new(NULL, ib_clock_system()), IB_ERR_INVALID_ARG);
	CU_ASSERT(l == NULL);
	fixture_init(&f);
	IB_ASSERT_ERR(ib_loop_watch(f.loop, -1, IB_EV_READ, fd_nop_cb, NULL), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_loop_watch(f.loop, 0, IB_EV_READ, NULL, NULL), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_loop_watch(f.loop, 0, IB_EV_ERROR, fd_nop_cb, NULL), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_loop_watch(f.loop, 0, 8, fd_nop_cb, NULL), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_loop_timer_add(f.loop, 0, NULL, NULL, NULL), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_loop_next_deadline(f.loop, NULL), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_loop_run_once(f.loop, -2), IB_ERR_INVALID_ARG);
	/* Unknown ids and fds are no-ops. */
	ib_loop_timer_cancel(f.loop, 0);
	ib_loop_timer_cancel(f.loop, 12345);
	ib_loop_unwatch(f.loop, -1);
	ib_loop_unwatch(f.loop, 1000);
	/* -1 with neither watches nor timers would block forever: it returns at once. */
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, -1), 0);
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 0);
	IB_ASSERT_ERR(ib_loop_next_deadline(f.loop, &at), IB_ERR_NOT_FOUND);
	ib_loop_free(f.loop);
	ib_loop_free(NULL);
}

/* ---- timers ---------------------------------------------------------------------------- */

static void test_timers_fire_by_deadline(void)
{
	struct fixture f;
	struct trace tr = {{0}, 0};
	struct tagged t30 = {&tr, 30}, t10 = {&tr, 10}, t20 = {&tr, 20};
	uint64_t at;

	fixture_init(&f);
	IB_ASSERT_OK(ib_loop_timer_add(f.loop, 30000, record_cb, &t30, NULL));
	IB_ASSERT_OK(ib_loop_timer_add(f.loop, 10000, record_cb, &t10, NULL));
	IB_ASSERT_OK(ib_loop_timer_add(f.loop, 20000, record_cb, &t20, NULL));
	IB_ASSERT_OK(ib_loop_next_deadline(f.loop, &at));
	CU_ASSERT_EQUAL(at, f.vc.monotonic_us + 10000);
	ib_vclock_advance(&f.vc, 30000);
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 3);
	CU_ASSERT_EQUAL_FATAL(tr.n, 3);
	CU_ASSERT_EQUAL(tr.tags[0], 10);
	CU_ASSERT_EQUAL(tr.tags[1], 20);
	CU_ASSERT_EQUAL(tr.tags[2], 30);
	IB_ASSERT_ERR(ib_loop_next_deadline(f.loop, &at), IB_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 0);
	ib_loop_free(f.loop);
}

/* Timers with one deadline fire in the order added, however the heap shuffles them: 60
 * timers over three deadlines, added in an interleaved order. */
static void test_same_deadline_fifo(void)
{
	enum { N = 60 };
	static const uint64_t delays[3] = {500, 100, 300};
	struct fixture f;
	struct trace tr = {{0}, 0};
	struct tagged tags[N];

	fixture_init(&f);
	for (int i = 0; i < N; i++) {
		uint64_t d = delays[(i * 7) % 3];

		tags[i].trace = &tr;
		tags[i].tag = (int)d * 1000 + i; /* sorts as (deadline, order added) */
		IB_ASSERT_OK(ib_loop_timer_add(f.loop, d, record_cb, &tags[i], NULL));
	}
	ib_vclock_advance(&f.vc, 500);
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), N);
	CU_ASSERT_EQUAL_FATAL(tr.n, N);
	for (size_t i = 1; i < tr.n; i++)
		CU_ASSERT(tr.tags[i - 1] < tr.tags[i]);
	ib_loop_free(f.loop);
}

static void test_cancel_before_due(void)
{
	struct fixture f;
	int fired = 0, other = 0;
	uint64_t id = 0, id2 = 0, at;

	fixture_init(&f);
	IB_ASSERT_OK(ib_loop_timer_add(f.loop, 1000, count_cb, &fired, &id));
	IB_ASSERT_OK(ib_loop_timer_add(f.loop, 2000, count_cb, &other, &id2));
	CU_ASSERT(id != 0);
	CU_ASSERT(id2 != id);
	ib_loop_timer_cancel(f.loop, id);
	ib_loop_timer_cancel(f.loop, id); /* twice: a no-op */
	IB_ASSERT_OK(ib_loop_next_deadline(f.loop, &at));
	CU_ASSERT_EQUAL(at, f.vc.monotonic_us + 2000);
	ib_vclock_advance(&f.vc, 5000);
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 1);
	CU_ASSERT_EQUAL(fired, 0);
	CU_ASSERT_EQUAL(other, 1);
	ib_loop_timer_cancel(f.loop, id2); /* fired: a no-op */
	ib_loop_free(f.loop);
}

/* A timer cancels another one due in the same turn, and itself (already fired). */
struct canceller {
	uint64_t victim;
	uint64_t self;
	int calls;
};

static void cancel_cb(struct ib_loop *loop, void *arg)
{
	struct canceller *c = arg;

	c->calls++;
	ib_loop_timer_cancel(loop, c->victim);
	ib_loop_timer_cancel(loop, c->self);
}

static void test_cancel_from_same_turn(void)
{
	struct fixture f;
	struct canceller c = {0, 0, 0};
	int victim_fired = 0, after = 0;

	fixture_init(&f);
	IB_ASSERT_OK(ib_loop_timer_add(f.loop, 100, cancel_cb, &c, &c.self));
	IB_ASSERT_OK(ib_loop_timer_add(f.loop, 100, count_cb, &victim_fired, &c.victim));
	IB_ASSERT_OK(ib_loop_timer_add(f.loop, 200, count_cb, &after, NULL));
	ib_vclock_advance(&f.vc, 200);
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 2);
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_EQUAL(victim_fired, 0);
	CU_ASSERT_EQUAL(after, 1);
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 0);
	ib_loop_free(f.loop);
}

/* A timer that re-arms itself with delay 0 runs once per turn: the timer phase calls only
 * timers that were there when it began. */
struct rearm {
	int calls;
	int max;
};

static void rearm_cb(struct ib_loop *loop, void *arg)
{
	struct rearm *r = arg;

	r->calls++;
	if (r->calls < r->max)
		IB_ASSERT_OK(ib_loop_timer_add(loop, 0, rearm_cb, r, NULL));
}

static void test_zero_delay_waits_for_next_turn(void)
{
	struct fixture f;
	struct rearm r = {0, 5};
	uint64_t at;

	fixture_init(&f);
	IB_ASSERT_OK(ib_loop_timer_add(f.loop, 0, rearm_cb, &r, NULL));
	for (int turn = 1; turn <= 5; turn++) {
		CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 1);
		CU_ASSERT_EQUAL(r.calls, turn);
	}
	IB_ASSERT_ERR(ib_loop_next_deadline(f.loop, &at), IB_ERR_NOT_FOUND);
	ib_loop_free(f.loop);
}

/* The virtual clock drives timers: one microsecond short is not due; exactly due is. */
static void test_vclock_drives_timers(void)
{
	struct fixture f;
	int fired = 0;
	uint64_t at;

	fixture_init(&f);
	IB_ASSERT_OK(ib_loop_timer_add(f.loop, 1000, count_cb, &fired, NULL));
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 0);
	ib_vclock_advance(&f.vc, 999);
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 0);
	CU_ASSERT_EQUAL(fired, 0);
	/* What a harness does when nothing is ready: jump to the next deadline. */
	IB_ASSERT_OK(ib_loop_next_deadline(f.loop, &at));
	CU_ASSERT_EQUAL(at - f.vc.monotonic_us, 1);
	ib_vclock_advance(&f.vc, at - f.vc.monotonic_us);
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 1);
	CU_ASSERT_EQUAL(fired, 1);
	ib_loop_free(f.loop);
}

static void test_next_deadline(void)
{
	struct fixture f;
	int fired = 0;
	uint64_t at = 7, id;

	fixture_init(&f);
	IB_ASSERT_ERR(ib_loop_next_deadline(f.loop, &at), IB_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(at, 7);
	IB_ASSERT_OK(ib_loop_timer_add(f.loop, 50, count_cb, &fired, &id));
	IB_ASSERT_OK(ib_loop_next_deadline(f.loop, &at));
	CU_ASSERT_EQUAL(at, f.vc.monotonic_us + 50);
	/* A delay past the end of time saturates instead of wrapping into the past. */
	IB_ASSERT_OK(ib_loop_timer_add(f.loop, UINT64_MAX, count_cb, &fired, NULL));
	ib_loop_timer_cancel(f.loop, id);
	IB_ASSERT_OK(ib_loop_next_deadline(f.loop, &at));
	CU_ASSERT_EQUAL(at, UINT64_MAX);
	ib_vclock_advance(&f.vc, 1000000);
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 0);
	ib_loop_free(f.loop); /* frees the pending timer */
}

/* Add/cancel cycles leave nothing behind: 10,000 single cycles, then 10,000 timers cancelled
 * in a scattered order. ASan and valgrind check that the memory is freed. */
static void test_add_cancel_cycles(void)
{
	enum { N = 10000 };
	struct fixture f;
	int fired = 0;
	uint64_t *ids = calloc(N, sizeof *ids), at, id;

	CU_ASSERT_FATAL(ids != NULL);
	fixture_init(&f);
	for (int i = 0; i < N; i++) {
		IB_ASSERT_OK(ib_loop_timer_add(f.loop, (uint64_t)i % 97, count_cb, &fired, &id));
		ib_loop_timer_cancel(f.loop, id);
	}
	IB_ASSERT_ERR(ib_loop_next_deadline(f.loop, &at), IB_ERR_NOT_FOUND);
	for (int i = 0; i < N; i++)
		IB_ASSERT_OK(ib_loop_timer_add(f.loop, (uint64_t)(i * 7919) % 1000, count_cb,
					       &fired, &ids[i]));
	for (int i = 0; i < N; i++)
		ib_loop_timer_cancel(f.loop, ids[(i * 7919) % N]); /* 7919 is prime: all of them */
	IB_ASSERT_ERR(ib_loop_next_deadline(f.loop, &at), IB_ERR_NOT_FOUND);
	ib_vclock_advance(&f.vc, 1000);
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 0);
	CU_ASSERT_EQUAL(fired, 0);
	ib_loop_free(f.loop);
	free(ids);
}

/* The heap and id map against a plain model: random adds, cancels and clock steps. Each turn
 * must fire exactly the live timers due, in (deadline, order added) order. */
struct model_timer {
	uint64_t deadline;
	uint64_t id;
	int live;
	struct tagged tag;
};

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t model_due(struct model_timer *m, size_t n, uint64_t now, int *want)
{
	size_t k = 0;

	/* Selection in (deadline, index) order; indexes follow the order added. */
	for (;;) {
		size_t best = n;

		for (size_t i = 0; i < n; i++)
			if (m[i].live && m[i].deadline <= now &&
			    (best == n || m[i].deadline < m[best].deadline))
				best = i;
		if (best == n)
			return k;
		want[k++] = m[best].tag.tag;
		m[best].live = 0;
	}
}

static void test_timers_against_model(void)
{
	enum { N = 2000 };
	struct fixture f;
	struct model_timer *m = calloc(N, sizeof *m);
	int want[N];
	struct trace tr = {{0}, 0};
	uint64_t rng = 0x2545f4914f6cdd1dull;
	size_t n = 0, mismatches = 0, fired = 0, cancelled = 0;

	CU_ASSERT_FATAL(m != NULL);
	fixture_init(&f);
	while (n < N) {
		uint64_t r = next_rand(&rng);

		if (r % 10 < 6) {
			m[n].tag.trace = &tr;
			m[n].tag.tag = (int)n;
			m[n].deadline = f.vc.monotonic_us + (r >> 8) % 50;
			m[n].live = 1;
			IB_ASSERT_OK(ib_loop_timer_add(f.loop, m[n].deadline - f.vc.monotonic_us,
						       record_cb, &m[n].tag, &m[n].id));
			n++;
		} else if (r % 10 < 8 && n > 0) {
			/* Mostly recent timers, so that many of these cancel a live one. */
			size_t back = (r >> 16) % (n < 16 ? n : 16), i = n - 1 - back;

			cancelled += m[i].live;
			ib_loop_timer_cancel(f.loop, m[i].id); /* live or not */
			m[i].live = 0;
		} else {
			size_t k;

			ib_vclock_advance(&f.vc, (r >> 8) % 20);
			tr.n = 0;
			k = model_due(m, n, f.vc.monotonic_us, want);
			fired += k;
			CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), (int)k);
			if (tr.n != k || memcmp(tr.tags, want, k * sizeof want[0]) != 0)
				mismatches++;
			if (k > sizeof tr.tags / sizeof tr.tags[0])
				mismatches++; /* the trace would overflow: the test needs care */
		}
	}
	CU_ASSERT_EQUAL(mismatches, 0);
	/* The walk does both, many times. */
	CU_ASSERT(fired > N / 4);
	CU_ASSERT(cancelled > N / 10);
	ib_loop_free(f.loop);
	free(m);
}

/* ---- descriptors ----------------------------------------------------------------------- */

struct fd_seen {
	int calls;
	int fd;
	unsigned events;
};

static void fd_record_cb(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct fd_seen *s = arg;

	(void)loop;
	s->calls++;
	s->fd = fd;
	s->events = events;
}

static void make_pipe(int p[2])
{
	CU_ASSERT_FATAL(pipe(p) == 0);
}

static void make_pair(int sv[2])
{
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
}

static void put_byte(int fd)
{
	CU_ASSERT_EQUAL(write(fd, "x", 1), 1);
}

static void test_read_ready(void)
{
	struct fixture f;
	struct fd_seen s = {0, -1, 0};
	int p[2];

	fixture_init(&f);
	make_pipe(p);
	IB_ASSERT_OK(ib_loop_watch(f.loop, p[0], IB_EV_READ, fd_record_cb, &s));
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 0); /* nothing to read yet */
	CU_ASSERT_EQUAL(s.calls, 0);
	put_byte(p[1]);
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 1);
	CU_ASSERT_EQUAL(s.calls, 1);
	CU_ASSERT_EQUAL(s.fd, p[0]);
	CU_ASSERT_EQUAL(s.events, IB_EV_READ);
	/* Level-triggered: still readable, called again. */
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 1);
	ib_loop_unwatch(f.loop, p[0]);
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 0);
	CU_ASSERT_EQUAL(s.calls, 2);
	ib_loop_free(f.loop);
	close(p[0]);
	close(p[1]);
}

static void test_write_ready(void)
{
	struct fixture f;
	struct fd_seen s = {0, -1, 0};
	int p[2];

	fixture_init(&f);
	make_pipe(p);
	IB_ASSERT_OK(ib_loop_watch(f.loop, p[1], IB_EV_WRITE, fd_record_cb, &s));
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 1);
	CU_ASSERT_EQUAL(s.fd, p[1]);
	CU_ASSERT_EQUAL(s.events, IB_EV_WRITE);
	ib_loop_free(f.loop);
	close(p[0]);
	close(p[1]);
}

static void test_hangup(void)
{
	struct fixture f;
	struct fd_seen s = {0, -1, 0}, t = {0, -1, 0};
	int p[2], sv[2];

	fixture_init(&f);
	make_pipe(p);
	make_pair(sv);
	close(p[1]);
	close(sv[1]);
	IB_ASSERT_OK(ib_loop_watch(f.loop, p[0], IB_EV_READ, fd_record_cb, &s));
	IB_ASSERT_OK(ib_loop_watch(f.loop, sv[0], IB_EV_READ, fd_record_cb, &t));
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 2);
	CU_ASSERT_EQUAL(s.events, IB_EV_ERROR | IB_EV_READ);
	CU_ASSERT_EQUAL(t.events & (IB_EV_ERROR | IB_EV_READ), IB_EV_ERROR | IB_EV_READ);
	/* Even a watch for nothing hears of the hang-up. */
	IB_ASSERT_OK(ib_loop_watch(f.loop, p[0], 0, fd_record_cb, &s));
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 2);
	CU_ASSERT_EQUAL(s.calls, 2);
	CU_ASSERT_EQUAL(s.events, IB_EV_ERROR | IB_EV_READ);
	ib_loop_free(f.loop);
	close(p[0]);
	close(sv[0]);
}

/* A socket with data both ways is readable and writable: the events follow the watch. */
static void test_watch_replace(void)
{
	struct fixture f;
	struct fd_seen a = {0, -1, 0}, b = {0, -1, 0};
	int sv[2];

	fixture_init(&f);
	make_pair(sv);
	put_byte(sv[1]);
	IB_ASSERT_OK(ib_loop_watch(f.loop, sv[0], IB_EV_READ, fd_record_cb, &a));
	IB_ASSERT_OK(ib_loop_watch(f.loop, sv[0], IB_EV_WRITE, fd_record_cb, &b));
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 1);
	CU_ASSERT_EQUAL(a.calls, 0);
	CU_ASSERT_EQUAL(b.calls, 1);
	CU_ASSERT_EQUAL(b.events, IB_EV_WRITE);
	IB_ASSERT_OK(ib_loop_watch(f.loop, sv[0], IB_EV_READ | IB_EV_WRITE, fd_record_cb, &a));
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 1);
	CU_ASSERT_EQUAL(a.calls, 1);
	CU_ASSERT_EQUAL(a.events, IB_EV_READ | IB_EV_WRITE);
	CU_ASSERT_EQUAL(b.calls, 1);
	ib_loop_free(f.loop);
	close(sv[0]);
	close(sv[1]);
}

/* Two ready pipes whose callbacks each unwatch the other: whichever runs first, the other
 * must not be called with the events polled before it was unwatched. */
struct peer_fd {
	int calls;
	int other;
};

static void unwatch_other_cb(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct peer_fd *p = arg;

	(void)fd;
	(void)events;
	p->calls++;
	ib_loop_unwatch(loop, p->other);
}

static void test_unwatch_other_in_same_turn(void)
{
	struct fixture f;
	int p[2], q[2];
	struct peer_fd a = {0, -1}, b = {0, -1};

	fixture_init(&f);
	make_pipe(p);
	make_pipe(q);
	a.other = q[0];
	b.other = p[0];
	put_byte(p[1]);
	put_byte(q[1]);
	IB_ASSERT_OK(ib_loop_watch(f.loop, p[0], IB_EV_READ, unwatch_other_cb, &a));
	IB_ASSERT_OK(ib_loop_watch(f.loop, q[0], IB_EV_READ, unwatch_other_cb, &b));
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 1);
	CU_ASSERT_EQUAL(a.calls + b.calls, 1);
	ib_loop_free(f.loop);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

/* Two read-ready pipes whose callbacks each replace the other's watch with a write-only one
 * (to another callback): the events polled for the old watch (READ) must not reach the new
 * one, which did not ask for them. */
struct replacer {
	int calls;
	int other;
	struct fd_seen *seen;
};

static void replace_other_cb(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct replacer *r = arg;

	(void)fd;
	(void)events;
	r->calls++;
	IB_ASSERT_OK(ib_loop_watch(loop, r->other, IB_EV_WRITE, fd_record_cb, r->seen));
}

static void test_replace_other_in_same_turn(void)
{
	struct fixture f;
	struct fd_seen seen = {0, -1, 0};
	int p[2], q[2];
	struct replacer a = {0, -1, &seen}, b = {0, -1, &seen};

	fixture_init(&f);
	make_pipe(p);
	make_pipe(q);
	a.other = q[0];
	b.other = p[0];
	put_byte(p[1]);
	put_byte(q[1]);
	IB_ASSERT_OK(ib_loop_watch(f.loop, p[0], IB_EV_READ, replace_other_cb, &a));
	IB_ASSERT_OK(ib_loop_watch(f.loop, q[0], IB_EV_READ, replace_other_cb, &b));
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 1);
	CU_ASSERT_EQUAL(a.calls + b.calls, 1);
	CU_ASSERT_EQUAL(seen.calls, 0);
	ib_loop_free(f.loop);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

/* Two ready socket pairs. The first callback to run unwatches and closes the other pair,
 * opens a new pair (which takes the freed numbers) and watches the new socket that reuses
 * the old one's number. The events polled for the old socket must reach neither the old
 * callback nor the new one. */
struct reuse {
	int pair[2][2];
	int old_calls[2];
	struct fd_seen fresh;
	int fresh_pair[2];
	int fresh_fd;
	int swapped;
};

static void fresh_cb(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	fd_record_cb(loop, fd, events, &((struct reuse *)arg)->fresh);
}

static void reuse_cb(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct reuse *r = arg;
	int me = fd == r->pair[0][0] ? 0 : 1, other = 1 - me;
	int old = r->pair[other][0];

	(void)events;
	r->old_calls[me]++;
	if (r->swapped)
		return;
	r->swapped = 1;
	ib_loop_unwatch(loop, old);
	close(r->pair[other][0]);
	close(r->pair[other][1]);
	r->pair[other][0] = r->pair[other][1] = -1;
	make_pair(r->fresh_pair);
	/* The lowest free numbers are usually the two just closed; if the process has a lower
	 * gap, move the new socket onto the old number. */
	if (r->fresh_pair[0] != old && r->fresh_pair[1] != old) {
		CU_ASSERT_FATAL(dup2(r->fresh_pair[0], old) == old);
		close(r->fresh_pair[0]);
		r->fresh_pair[0] = old;
	}
	r->fresh_fd = old;
	IB_ASSERT_OK(ib_loop_watch(loop, r->fresh_fd, IB_EV_READ, fresh_cb, r));
}

static void test_fd_reuse_in_same_turn(void)
{
	struct fixture f;
	struct reuse r;

	memset(&r, 0, sizeof r);
	fixture_init(&f);
	make_pair(r.pair[0]);
	make_pair(r.pair[1]);
	put_byte(r.pair[0][1]);
	put_byte(r.pair[1][1]);
	IB_ASSERT_OK(ib_loop_watch(f.loop, r.pair[0][0], IB_EV_READ, reuse_cb, &r));
	IB_ASSERT_OK(ib_loop_watch(f.loop, r.pair[1][0], IB_EV_READ, reuse_cb, &r));
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 1);
	CU_ASSERT_EQUAL(r.old_calls[0] + r.old_calls[1], 1);
	CU_ASSERT_EQUAL(r.fresh.calls, 0);
	/* The new socket has nothing to read: still no call. Then it has. */
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 1); /* the surviving old socket */
	CU_ASSERT_EQUAL(r.fresh.calls, 0);
	put_byte(r.fresh_fd == r.fresh_pair[0] ? r.fresh_pair[1] : r.fresh_pair[0]);
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 2);
	CU_ASSERT_EQUAL(r.fresh.calls, 1);
	CU_ASSERT_EQUAL(r.fresh.fd, r.fresh_fd);
	CU_ASSERT_EQUAL(r.fresh.events, IB_EV_READ);
	ib_loop_free(f.loop);
	for (int i = 0; i < 2; i++) {
		for (int j = 0; j < 2; j++)
			if (r.pair[i][j] >= 0)
				close(r.pair[i][j]);
		close(r.fresh_pair[i]);
	}
}

/* A callback that unwatches itself and watches a new descriptor, and a turn with both
 * descriptors and timers: descriptors first, then timers; the count is of both. */
struct self_unwatch {
	int calls;
	int next_fd;
	struct fd_seen next;
};

static void next_cb(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	fd_record_cb(loop, fd, events, &((struct self_unwatch *)arg)->next);
}

static void self_unwatch_cb(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct self_unwatch *s = arg;

	(void)events;
	s->calls++;
	ib_loop_unwatch(loop, fd);
	IB_ASSERT_OK(ib_loop_watch(loop, s->next_fd, IB_EV_WRITE, next_cb, s));
	/* A timer added by a descriptor callback is due in this turn's timer phase. */
	IB_ASSERT_OK(ib_loop_timer_add(loop, 0, count_cb, &s->calls, NULL));
}

static void test_callbacks_change_watches(void)
{
	struct fixture f;
	struct self_unwatch s;
	int p[2];

	memset(&s, 0, sizeof s);
	fixture_init(&f);
	make_pipe(p);
	s.next_fd = p[1];
	put_byte(p[1]);
	IB_ASSERT_OK(ib_loop_watch(f.loop, p[0], IB_EV_READ, self_unwatch_cb, &s));
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 2);
	CU_ASSERT_EQUAL(s.calls, 2);
	CU_ASSERT_EQUAL(s.next.calls, 0); /* watched after the poll */
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 1);
	CU_ASSERT_EQUAL(s.calls, 2);
	CU_ASSERT_EQUAL(s.next.calls, 1);
	CU_ASSERT_EQUAL(s.next.events, IB_EV_WRITE);
	ib_loop_free(f.loop);
	close(p[0]);
	close(p[1]);
}

/* Ready descriptors are called in the order of their numbers, whatever order they became
 * ready in (epoll lists them as they came; poll() by number): runs stay reproducible. */
struct order {
	int fds[8];
	size_t n;
};

static void order_cb(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct order *o = arg;
	char c;

	(void)loop;
	(void)events;
	CU_ASSERT_EQUAL(read(fd, &c, 1), 1);
	if (o->n < 8)
		o->fds[o->n++] = fd;
}

static void test_ready_in_fd_order(void)
{
	struct fixture f;
	struct order o = {{0}, 0};
	int p[4][2];

	fixture_init(&f);
	for (int i = 0; i < 4; i++) {
		make_pipe(p[i]);
		IB_ASSERT_OK(ib_loop_watch(f.loop, p[i][0], IB_EV_READ, order_cb, &o));
	}
	for (int i = 3; i >= 0; i--) /* the highest number ready first */
		put_byte(p[i][1]);
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 4);
	CU_ASSERT_EQUAL_FATAL(o.n, 4);
	for (size_t i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(o.fds[i], p[i][0]);
	ib_loop_free(f.loop);
	for (int i = 0; i < 4; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
}

/* A descriptor closed while watched (the owner should have unwatched it first) and its
 * number reused by a new socket, watched again by the same owner: the new socket's events
 * are seen. (epoll forgot the closed one; the loop must register the new one.) */
static void test_closed_watched_then_reused(void)
{
	struct fixture f;
	struct fd_seen s = {0, -1, 0};
	int a[2], b[2], num;

	fixture_init(&f);
	make_pair(a);
	num = a[0];
	IB_ASSERT_OK(ib_loop_watch(f.loop, num, IB_EV_READ, fd_record_cb, &s));
	close(a[0]);
	close(a[1]);
	make_pair(b);
	if (b[0] != num) {
		CU_ASSERT_FATAL(dup2(b[0], num) == num);
		close(b[0]);
		b[0] = num;
	}
	IB_ASSERT_OK(ib_loop_watch(f.loop, num, IB_EV_READ, fd_record_cb, &s));
#ifdef __linux__
	CU_ASSERT(ib_loop_uses_epoll(f.loop)); /* not by falling back on poll() */
#endif
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 0);
	put_byte(b[1]);
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 1);
	CU_ASSERT_EQUAL(s.calls, 1);
	CU_ASSERT_EQUAL(s.fd, num);
	ib_loop_free(f.loop);
	close(b[0]);
	close(b[1]);
}

/* A regular file, which epoll refuses and poll() calls always readable, among sockets: the
 * loop serves all of them (it polls from then on). */
static void test_regular_file_watched(void)
{
	struct fixture f;
	struct fd_seen file = {0, -1, 0}, sock = {0, -1, 0};
	FILE *tmp = tmpfile();
	int sv[2];

	CU_ASSERT_FATAL(tmp != NULL);
	fixture_init(&f);
	make_pair(sv);
	IB_ASSERT_OK(ib_loop_watch(f.loop, sv[0], IB_EV_READ, fd_record_cb, &sock));
#ifdef __linux__
	CU_ASSERT(ib_loop_uses_epoll(f.loop));
#endif
	IB_ASSERT_OK(ib_loop_watch(f.loop, fileno(tmp), IB_EV_READ, fd_record_cb, &file));
	CU_ASSERT(!ib_loop_uses_epoll(f.loop));
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 1);
	CU_ASSERT_EQUAL(file.calls, 1);
	CU_ASSERT_EQUAL(file.events, IB_EV_READ);
	CU_ASSERT_EQUAL(sock.calls, 0);
	put_byte(sv[1]);
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 2);
	CU_ASSERT_EQUAL(sock.calls, 1);
	ib_loop_unwatch(f.loop, fileno(tmp));
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 1); /* the byte is still unread */
	CU_ASSERT_EQUAL(file.calls, 2);
	ib_loop_free(f.loop);
	fclose(tmp);
	close(sv[0]);
	close(sv[1]);
}

/* A child process (the suite forks one per test) that unwatches a descriptor works on a set
 * of its own: the parent, which still watches it, is still called for it. (A shared epoll
 * set would have lost it to the child's unwatch.) */
static void test_fork_keeps_parent_watches(void)
{
	struct fixture f;
	struct fd_seen s = {0, -1, 0};
	int p[2], status = 0;
	pid_t child;

	fixture_init(&f);
	make_pipe(p);
	IB_ASSERT_OK(ib_loop_watch(f.loop, p[0], IB_EV_READ, fd_record_cb, &s));
	child = fork();
	CU_ASSERT_FATAL(child >= 0);
	if (child == 0) {
		ib_loop_unwatch(f.loop, p[0]);
		ib_loop_run_once(f.loop, 0);
		_exit(0);
	}
	CU_ASSERT(waitpid(child, &status, 0) == child);
	put_byte(p[1]);
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 1);
	CU_ASSERT_EQUAL(s.calls, 1);
	ib_loop_free(f.loop);
	close(p[0]);
	close(p[1]);
}

/* A callback may not run the loop inside the loop. */
static void nested_cb(struct ib_loop *loop, void *arg)
{
	*(int *)arg = ib_loop_run_once(loop, 0);
}

static void test_no_nested_run(void)
{
	struct fixture f;
	int got = 1;

	fixture_init(&f);
	IB_ASSERT_OK(ib_loop_timer_add(f.loop, 0, nested_cb, &got, NULL));
	CU_ASSERT_EQUAL(ib_loop_run_once(f.loop, 0), 1);
	IB_ASSERT_ERR(got, IB_ERR_INVALID_ARG);
	ib_loop_free(f.loop);
}

/* Several loops coexist, each on its own clock. */
static void test_two_loops(void)
{
	struct fixture a, b;
	int fa = 0, fb = 0;

	fixture_init(&a);
	fixture_init(&b);
	IB_ASSERT_OK(ib_loop_timer_add(a.loop, 10, count_cb, &fa, NULL));
	IB_ASSERT_OK(ib_loop_timer_add(b.loop, 10, count_cb, &fb, NULL));
	ib_vclock_advance(&a.vc, 10);
	CU_ASSERT_EQUAL(ib_loop_run_once(a.loop, 0), 1);
	CU_ASSERT_EQUAL(ib_loop_run_once(b.loop, 0), 0);
	CU_ASSERT_EQUAL(fa, 1);
	CU_ASSERT_EQUAL(fb, 0);
	ib_loop_free(a.loop);
	ib_loop_free(b.loop);
}

/* The one test on real time: max_wait -1 blocks in poll() until a 1 ms timer is due. */
static void test_system_clock_blocks(void)
{
	struct ib_loop *loop = NULL;
	int fired = 0, turns = 0;
	uint64_t start;

	IB_ASSERT_OK(ib_loop_new(&loop, ib_clock_system()));
	CU_ASSERT_FATAL(loop != NULL);
	start = ib_loop_now_us(loop);
	IB_ASSERT_OK(ib_loop_timer_add(loop, 1000, count_cb, &fired, NULL));
	while (!fired && turns < 10) {
		CU_ASSERT(ib_loop_run_once(loop, -1) >= 0);
		turns++;
	}
	CU_ASSERT_EQUAL(fired, 1);
	CU_ASSERT(ib_loop_now_us(loop) - start >= 1000);
	/* poll() waits at least the rounded-up time, so one wait was enough (two allows for a
	 * poll() that rounds its own way). */
	CU_ASSERT(turns <= 2);
	ib_loop_free(loop);
}

static const struct ib_test_case cases[] = {
    IB_TEST(test_vclock, ""),
    IB_TEST(test_system_clock, ""),
    IB_TEST(test_loop_clock, ""),
    IB_TEST(test_invalid_args, ""),
    IB_TEST(test_timers_fire_by_deadline, ""),
    IB_TEST(test_same_deadline_fifo, ""),
    IB_TEST(test_cancel_before_due, ""),
    IB_TEST(test_cancel_from_same_turn, ""),
    IB_TEST(test_zero_delay_waits_for_next_turn, ""),
    IB_TEST(test_vclock_drives_timers, ""),
    IB_TEST(test_next_deadline, ""),
    IB_TEST(test_add_cancel_cycles, ""),
    IB_TEST(test_timers_against_model, ""),
    IB_TEST(test_read_ready, ""),
    IB_TEST(test_write_ready, ""),
    IB_TEST(test_hangup, ""),
    IB_TEST(test_watch_replace, ""),
    IB_TEST(test_unwatch_other_in_same_turn, ""),
    IB_TEST(test_replace_other_in_same_turn, ""),
    IB_TEST(test_fd_reuse_in_same_turn, ""),
    IB_TEST(test_callbacks_change_watches, ""),
    IB_TEST(test_ready_in_fd_order, ""),
    IB_TEST(test_closed_watched_then_reused, ""),
    IB_TEST(test_regular_file_watched, ""),
    IB_TEST(test_fork_keeps_parent_watches, ""),
    IB_TEST(test_no_nested_run, ""),
    IB_TEST(test_two_loops, ""),
    IB_TEST(test_system_clock_blocks, ""),
    IB_TEST_END};

const struct ib_test_suite ib_suite_loop = {"loop", NULL, NULL, cases};
