/*
 * loop.c - a small poll() event loop, after Redis's ae.c: descriptors with callbacks, and
 * one-shot timers. The only module that waits on descriptors; protocol code never does.
 *
 * Time comes only from the loop's struct ib_clock, never from the system directly, so the
 * loop does not know whether its clock is real or virtual. On a virtual clock, waiting in
 * poll() "until the next timer" would wait real time for virtual time that never comes: a
 * caller on virtual time passes max_wait_ms = 0 to ib_loop_run_once, and advances the clock
 * itself (to ib_loop_next_deadline) when no descriptor is ready.
 *
 * One turn (ib_loop_run_once): find the ready descriptors, call their callbacks in the order
 * of their numbers, then call the timers due by one reading of the clock. On Linux the ready
 * ones come from epoll, whose set follows the watches as they change: a turn then costs what
 * is ready, not what is watched (a process of 1,000 simulated nodes watches 5,000 sockets).
 * Elsewhere, or once epoll refused a descriptor (a regular file), the turn builds a pollfd
 * array from the watches and calls poll(). Both give the same calls in the same order.
 *
 * Callbacks may watch, unwatch, add and cancel anything, including their own. Two rules make
 * that safe:
 *  - Each watch gets a fresh generation number when set. The generation seen at poll time is
 *    kept beside the pollfd; an fd whose watch changed since (unwatched, re-watched, or
 *    replaced, maybe for a new descriptor that reused the number) gets no call this turn.
 *    poll() is level-triggered, so a live event is only deferred to the next turn, not lost.
 *  - The timer phase calls only timers due at its start and added before it: a timer that
 *    re-arms itself with delay 0 runs once per turn instead of livelocking the turn.
 * Nothing here holds a pointer into an array across a callback: callbacks may grow them.
 * Callbacks must not free the loop, nor call ib_loop_run_once (it refuses).
 */
#include "loop.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/epoll.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A watch, indexed by its fd (as ae.c does): O(1) watch and unwatch, at most one per fd.
 * cb == NULL: no watch. The array grows to the largest fd watched, which RLIMIT_NOFILE
 * bounds. */
struct watch {
	unsigned events;
	ib_fd_cb cb;
	void *arg;
	uint64_t gen; /* never 0 while watched */
};

/* A heap entry. Ids come from a counter, so they double as the insertion sequence number:
 * ordering by (deadline, id) makes timers due at the same time fire in the order added. */
struct timer {
	uint64_t deadline;
	uint64_t id;
	ib_timer_cb cb;
	void *arg;
};

/* An open-addressing (linear probing) map from timer id to its index in the heap, so that
 * cancel removes a timer at once in O(log n): a cancelled timer takes no memory, and
 * add/cancel cycles cannot make anything grow. id 0 marks an empty slot. */
struct id_slot {
	uint64_t id;
	size_t pos;
};

struct ib_loop {
	struct ib_clock clock; /* a copy: callers may pass a temporary */

	struct watch *watches; /* indexed by fd */
	size_t watch_cap;
	size_t watch_count;
	uint64_t next_gen;

	struct pollfd *pfds; /* one turn's poll set, and the generation of each entry */
	uint64_t *pgens;
	size_t pfd_cap; /* kept >= watch_count by ib_loop_watch, so a turn never allocates */
	int epfd;       /* the epoll set of the watches; -1: poll() */
#ifdef __linux__
	pid_t epoll_pid; /* the process that made it: a fork shares it, and must not */
	struct epoll_event *evs; /* one turn's ready set, pfd_cap entries */
#endif

	struct timer *heap;
	size_t heap_len;
	size_t heap_cap;
	struct id_slot *ids;
	size_t ids_cap; /* 0 or a power of two, at least twice the entries */
	unsigned ids_bits;
	uint64_t next_id;

	bool running;
	nfds_t prepared;            /* entries handed out by ib_loop_prepare */
};

static void *grow_array(void *p, size_t *cap, size_t want, size_t elem)
{
	size_t n = *cap ? *cap : 16;

	while (n < want)
		n = n > SIZE_MAX / 2 / elem ? want : n * 2;
	if (n > SIZE_MAX / elem)
		return NULL;
	p = realloc(p, n * elem);
	if (p)
		*cap = n;
	return p;
}

/* ---- id map ---------------------------------------------------------------------------- */

static size_t id_home(const struct ib_loop *l, uint64_t id)
{
	/* Fibonacci hashing: consecutive ids spread over the table. */
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> (64 - l->ids_bits));
}

/* The slot of id, or ids_cap if absent. The table is never full, so the probe ends. */
static size_t id_find(const struct ib_loop *l, uint64_t id)
{
	size_t mask = l->ids_cap - 1;

	if (l->ids_cap == 0 || id == 0) /* 0 marks empty slots: it must not "find" one */
		return l->ids_cap;
	for (size_t i = id_home(l, id);; i = (i + 1) & mask) {
		if (l->ids[i].id == id)
			return i;
		if (l->ids[i].id == 0)
			return l->ids_cap;
	}
}

static void id_insert(struct ib_loop *l, uint64_t id, size_t pos)
{
	size_t i = id_home(l, id), mask = l->ids_cap - 1;

	while (l->ids[i].id != 0)
		i = (i + 1) & mask;
	l->ids[i].id = id;
	l->ids[i].pos = pos;
}

/* Makes room for one more id, keeping the load at most one half. */
static int id_reserve(struct ib_loop *l)
{
	struct id_slot *old = l->ids;
	size_t old_cap = l->ids_cap;
	unsigned bits = old_cap ? l->ids_bits + 1 : 4;

	if ((l->heap_len + 1) * 2 <= old_cap)
		return IB_OK;
	if (bits >= sizeof(size_t) * CHAR_BIT - 1)
		return IB_ERR_NOMEM;
	l->ids = calloc((size_t)1 << bits, sizeof *l->ids);
	if (!l->ids) {
		l->ids = old;
		return IB_ERR_NOMEM;
	}
	l->ids_cap = (size_t)1 << bits;
	l->ids_bits = bits;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].id != 0)
			id_insert(l, old[i].id, old[i].pos);
	free(old);
	return IB_OK;
}

/* Backward-shift deletion: no tombstones, so the table never fills with dead slots. */
static void id_remove_slot(struct ib_loop *l, size_t hole)
{
	size_t mask = l->ids_cap - 1;

	for (size_t j = (hole + 1) & mask; l->ids[j].id != 0; j = (j + 1) & mask) {
		size_t home = id_home(l, l->ids[j].id);
		/* j may move into the hole unless its home lies cyclically in (hole, j]. */
		bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);

		if (stays)
			continue;
		l->ids[hole] = l->ids[j];
		hole = j;
	}
	l->ids[hole].id = 0;
}

/* ---- timer heap ------------------------------------------------------------------------ */

static bool timer_before(const struct timer *a, const struct timer *b)
{
	return a->deadline < b->deadline || (a->deadline == b->deadline && a->id < b->id);
}

/* Puts t at heap index i and tells the id map. */
static void heap_place(struct ib_loop *l, size_t i, const struct timer *t)
{
	size_t slot = id_find(l, t->id);

	if (slot == l->ids_cap) {
		fprintf(stderr, "ib_loop: timer %llu is in the heap but not in the id map\n",
			(unsigned long long)t->id);
		abort();
	}
	l->heap[i] = *t;
	l->ids[slot].pos = i;
}

static void heap_up(struct ib_loop *l, size_t i)
{
	struct timer t = l->heap[i];

	while (i > 0 && timer_before(&t, &l->heap[(i - 1) / 2])) {
		heap_place(l, i, &l->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_place(l, i, &t);
}

static void heap_down(struct ib_loop *l, size_t i)
{
	struct timer t = l->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= l->heap_len)
			break;
		if (c + 1 < l->heap_len && timer_before(&l->heap[c + 1], &l->heap[c]))
			c++;
		if (!timer_before(&l->heap[c], &t))
			break;
		heap_place(l, i, &l->heap[c]);
		i = c;
	}
	heap_place(l, i, &t);
}

/* Removes the timer at heap index i (whose id is in map slot `slot`). */
static void heap_remove(struct ib_loop *l, size_t i, size_t slot)
{
	id_remove_slot(l, slot);
	if (i == --l->heap_len)
		return;
	l->heap[i] = l->heap[l->heap_len];
	/* The moved entry may belong above or below i; one of these does nothing. */
	heap_down(l, i);
	heap_up(l, i);
}

/* ---- public: lifetime and clock -------------------------------------------------------- */

int ib_loop_new(struct ib_loop **out, const struct ib_clock *clock)
{
	struct ib_loop *l;

	if (!out || !clock || !clock->monotonic_us || !clock->unix_us)
		return IB_ERR_INVALID_ARG;
	l = calloc(1, sizeof *l);
	if (!l)
		return IB_ERR_NOMEM;
	l->clock = *clock;
	l->next_gen = 1;
	l->epfd = -1;
#ifdef __linux__
	l->epfd = epoll_create1(EPOLL_CLOEXEC); /* -1 (fd limit): poll() serves */
	l->epoll_pid = getpid();
#endif
	l->next_id = 1; /* 0 is never an id, so callers may use it for "no timer" */
	*out = l;
	return IB_OK;
}

void ib_loop_free(struct ib_loop *loop)
{
	if (!loop)
		return;
	if (loop->epfd >= 0)
		close(loop->epfd);
	free(loop->watches);
	free(loop->pfds);
#ifdef __linux__
	free(loop->evs);
#endif
	free(loop->pgens);
	free(loop->heap);
	free(loop->ids);
	free(loop);
}

const struct ib_clock *ib_loop_clock(const struct ib_loop *loop)
{
	return &loop->clock;
}

uint64_t ib_loop_now_us(const struct ib_loop *loop)
{
	return loop->clock.monotonic_us(loop->clock.ctx);
}

bool ib_loop_uses_epoll(const struct ib_loop *loop)
{
	return loop->epfd >= 0;
}

/* ---- public: watches ------------------------------------------------------------------- */

/* Grows the per-fd array to hold fd, and the poll arrays to hold one more watch, before
 * anything changes, so that a failure leaves the loop as it was. */
static int watch_reserve(struct ib_loop *l, int fd)
{
	size_t old = l->watch_cap, want = l->watch_count + 1;
	void *p;

	if ((size_t)fd >= l->watch_cap) {
		p = grow_array(l->watches, &l->watch_cap, (size_t)fd + 1, sizeof *l->watches);
		if (!p)
			return IB_ERR_NOMEM;
		l->watches = p;
		memset(l->watches + old, 0, (l->watch_cap - old) * sizeof *l->watches);
	}
	if (want <= l->pfd_cap)
		return IB_OK;
	/* Two arrays share pfd_cap: grow both to the same size, committing it last. */
	old = l->pfd_cap;
	p = grow_array(l->pfds, &old, want, sizeof *l->pfds);
	if (!p)
		return IB_ERR_NOMEM;
	l->pfds = p;
	p = realloc(l->pgens, old * sizeof *l->pgens);
	if (!p)
		return IB_ERR_NOMEM;
	l->pgens = p;
#ifdef __linux__
	p = realloc(l->evs, old * sizeof *l->evs);
	if (!p)
		return IB_ERR_NOMEM;
	l->evs = p;
#endif
	l->pfd_cap = old;
	return IB_OK;
}

/* Makes the epoll set follow a watch. Every call sets the fd's entry: the number may name a
 * new descriptor since the last call (closed and reused), so a missing entry is added. When
 * epoll refuses one (a regular file; the max_user_watches limit), the loop polls from then
 * on, which serves every descriptor. */
#ifdef __linux__
static uint32_t epoll_events_of(unsigned events)
{
	return ((events & IB_EV_READ) ? EPOLLIN : 0) | ((events & IB_EV_WRITE) ? EPOLLOUT : 0);
}
#endif

/* After a fork the child holds the parent's epoll set, which the kernel shares: a change
 * there, or a wait on it, would be the parent's too (the suite runs each test in a child, two
 * at once with -j 2). The child makes a set of its own from its watches, before any use. */
static void epoll_own(struct ib_loop *l)
{
#ifdef __linux__
	if (l->epfd < 0 || l->epoll_pid == getpid())
		return;
	close(l->epfd);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->epoll_pid = getpid();
	for (size_t fd = 0; l->epfd >= 0 && fd < l->watch_cap; fd++) {
		struct epoll_event ev = { .data.fd = (int)fd };

		if (!l->watches[fd].cb)
			continue;
		ev.events = epoll_events_of(l->watches[fd].events);
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, (int)fd, &ev) != 0) {
			close(l->epfd);
			l->epfd = -1;
		}
	}
#else
	(void)l;
#endif
}

static void epoll_follow(struct ib_loop *l, int fd, unsigned events, bool watched)
{
#ifdef __linux__
	struct epoll_event ev = { .data.fd = fd };

	epoll_own(l);
	if (l->epfd < 0)
		return;
	if (!watched) {
		/* ENOENT or EBADF: the descriptor was closed first, which removed it. */
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, &ev);
		return;
	}
	ev.events = epoll_events_of(events);
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		return;
	if (errno == ENOENT && epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
		return;
	close(l->epfd);
	l->epfd = -1;
#else
	(void)l, (void)fd, (void)events, (void)watched;
#endif
}

int ib_loop_watch(struct ib_loop *loop, int fd, unsigned events, ib_fd_cb cb, void *arg)
{
	struct watch *w;
	int err;

	if (!loop || fd < 0 || !cb || (events & ~(unsigned)(IB_EV_READ | IB_EV_WRITE)))
		return IB_ERR_INVALID_ARG;
	err = watch_reserve(loop, fd);
	if (err)
		return err;
	w = &loop->watches[fd];
	if (!w->cb)
		loop->watch_count++;
	w->events = events;
	w->cb = cb;
	w->arg = arg;
	w->gen = loop->next_gen++; /* a new watch: events polled for the old one are stale */
	epoll_follow(loop, fd, events, true);
	return IB_OK;
}

void ib_loop_unwatch(struct ib_loop *loop, int fd)
{
	if (!loop || fd < 0 || (size_t)fd >= loop->watch_cap || !loop->watches[fd].cb)
		return;
	memset(&loop->watches[fd], 0, sizeof loop->watches[fd]);
	loop->watch_count--;
	epoll_follow(loop, fd, 0, false);
}

/* ---- public: timers -------------------------------------------------------------------- */

int ib_loop_timer_add(struct ib_loop *loop, uint64_t delay_us, ib_timer_cb cb, void *arg,
		      uint64_t *id)
{
	struct timer t;
	uint64_t now;
	int err;

	if (!loop || !cb)
		return IB_ERR_INVALID_ARG;
	if (loop->heap_len == loop->heap_cap) {
		void *p = grow_array(loop->heap, &loop->heap_cap, loop->heap_len + 1,
				     sizeof *loop->heap);
		if (!p)
			return IB_ERR_NOMEM;
		loop->heap = p;
	}
	err = id_reserve(loop);
	if (err)
		return err;
	now = ib_loop_now_us(loop);
	t.deadline = now > UINT64_MAX - delay_us ? UINT64_MAX : now + delay_us;
	t.id = loop->next_id++;
	t.cb = cb;
	t.arg = arg;
	id_insert(loop, t.id, loop->heap_len);
	loop->heap[loop->heap_len++] = t;
	heap_up(loop, loop->heap_len - 1);
	if (id)
		*id = t.id;
	return IB_OK;
}

void ib_loop_timer_cancel(struct ib_loop *loop, uint64_t id)
{
	size_t slot;

	if (!loop)
		return;
	slot = id_find(loop, id);
	if (slot == loop->ids_cap)
		return; /* fired, cancelled, or never added */
	heap_remove(loop, loop->ids[slot].pos, slot);
}

int ib_loop_next_deadline(const struct ib_loop *loop, uint64_t *at_us)
{
	if (!loop || !at_us)
		return IB_ERR_INVALID_ARG;
	if (loop->heap_len == 0)
		return IB_ERR_NOT_FOUND;
	*at_us = loop->heap[0].deadline;
	return IB_OK;
}

/* ---- public: one turn ------------------------------------------------------------------ */

/* The poll() timeout for max_wait_ms (-1 or above): the wait asked for, shortened to the next
 * timer. Rounded up to a whole millisecond: rounding down would wake before the deadline and
 * spin through empty turns until it came. */
static int poll_timeout(const struct ib_loop *l, int max_wait_ms)
{
	uint64_t now, until, ms;

	if (max_wait_ms == 0 || l->heap_len == 0)
		return max_wait_ms;
	now = ib_loop_now_us(l);
	until = l->heap[0].deadline > now ? l->heap[0].deadline - now : 0;
	ms = until / 1000 + (until % 1000 != 0);
	if (ms > INT_MAX)
		ms = INT_MAX;
	if (max_wait_ms < 0 || ms < (uint64_t)max_wait_ms)
		return (int)ms;
	return max_wait_ms;
}

/* Fills the poll set from the watches, noting each one's generation. */
static nfds_t build_poll_set(struct ib_loop *l)
{
	nfds_t n = 0;

	for (size_t fd = 0; fd < l->watch_cap && n < l->watch_count; fd++) {
		const struct watch *w = &l->watches[fd];

		if (!w->cb)
			continue;
		l->pfds[n].fd = (int)fd;
		l->pfds[n].events = (short)(((w->events & IB_EV_READ) ? POLLIN : 0) |
					    ((w->events & IB_EV_WRITE) ? POLLOUT : 0));
		l->pfds[n].revents = 0;
		l->pgens[n] = w->gen;
		n++;
	}
	return n;
}

/* Errors and hang-ups come with IB_EV_READ, so that a callback that reads meets the error or
 * the end of file itself, where it already handles them. */
static unsigned revents_to_events(short revents)
{
	unsigned ev = 0;

	if (revents & POLLIN)
		ev |= IB_EV_READ;
	if (revents & POLLOUT)
		ev |= IB_EV_WRITE;
	if (revents & (POLLERR | POLLHUP | POLLNVAL))
		ev |= IB_EV_ERROR | IB_EV_READ;
	return ev;
}

#ifdef __linux__
static int by_fd(const void *a, const void *b)
{
	int x = ((const struct epoll_event *)a)->data.fd, y = ((const struct epoll_event *)b)->data.fd;

	return (x > y) - (x < y);
}

/* The ready descriptors as a poll set (revents as poll() gives them), in the order of their
 * numbers, as poll() would list them; with each one's generation now, as build_poll_set
 * notes it. Returns -1 with errno on failure. */
static int epoll_ready(struct ib_loop *l, int timeout)
{
	struct epoll_event none; /* nothing watched yet: epoll_wait wants room for one */
	int k = epoll_wait(l->epfd, l->pfd_cap ? l->evs : &none,
			   l->pfd_cap ? (int)(l->pfd_cap < INT_MAX ? l->pfd_cap : INT_MAX) : 1,
			   timeout);
	nfds_t n = 0;

	if (k <= 0 || l->pfd_cap == 0)
		return k < 0 ? -1 : 0;
	qsort(l->evs, (size_t)k, sizeof *l->evs, by_fd);
	for (int i = 0; i < k; i++) {
		int fd = l->evs[i].data.fd;
		uint32_t e = l->evs[i].events;

		if ((size_t)fd >= l->watch_cap || !l->watches[fd].cb)
			continue;
		l->pfds[n].fd = fd;
		l->pfds[n].revents = (short)(((e & EPOLLIN) ? POLLIN : 0) |
					     ((e & EPOLLOUT) ? POLLOUT : 0) |
					     ((e & EPOLLERR) ? POLLERR : 0) |
					     ((e & EPOLLHUP) ? POLLHUP : 0));
		l->pgens[n] = l->watches[fd].gen;
		n++;
	}
	return (int)n;
}
#endif

/* One turn's ready descriptors in l->pfds[0..n) (entries with revents 0 are not ready). */
static int find_ready(struct ib_loop *l, int timeout, nfds_t *n)
{
	epoll_own(l);
#ifdef __linux__
	if (l->epfd >= 0) {
		int k = epoll_ready(l, timeout);

		*n = k > 0 ? (nfds_t)k : 0;
		return k < 0 ? -1 : 0;
	}
#endif
	*n = build_poll_set(l);
	return poll(l->pfds, *n, timeout) < 0 ? -1 : 0;
}

static int run_fd_callbacks(struct ib_loop *l, nfds_t n)
{
	int calls = 0;

	for (nfds_t i = 0; i < n; i++) {
		int fd = l->pfds[i].fd;
		struct watch w;

		if (l->pfds[i].revents == 0)
			continue;
		/* An earlier callback may have unwatched this fd, or closed it and watched a new
		 * descriptor with the same number: then these revents are not the watch's. */
		w = l->watches[fd];
		if (!w.cb || w.gen != l->pgens[i])
			continue;
		w.cb(l, fd, revents_to_events(l->pfds[i].revents), w.arg);
		calls++;
	}
	return calls;
}

/* Calls the timers due by one reading of the clock, in (deadline, id) order. A timer added
 * during this phase has an id >= `limit` and waits for the next turn, even with delay 0. Its
 * deadline is at least `now` (the clock does not go back), so it sorts after every timer due
 * here: the first one seen ends the phase. */
static int run_timers(struct ib_loop *l)
{
	uint64_t now = ib_loop_now_us(l), limit = l->next_id;
	int calls = 0;

	while (l->heap_len > 0 && calls < INT_MAX) {
		struct timer t = l->heap[0];

		if (t.deadline > now || t.id >= limit)
			break;
		/* Removed before the call: it has fired, so cancelling it is a no-op. */
		heap_remove(l, 0, id_find(l, t.id));
		t.cb(l, t.arg);
		calls++;
	}
	return calls;
}

int ib_loop_run_once(struct ib_loop *loop, int max_wait_ms)
{
	nfds_t n;
	int timeout, fd_calls, timer_calls;

	if (!loop || max_wait_ms < -1 || loop->running)
		return IB_ERR_INVALID_ARG;
	/* Nothing could ever wake a poll() on no descriptors without a timeout. */
	if (max_wait_ms < 0 && loop->watch_count == 0 && loop->heap_len == 0)
		return 0;
	timeout = poll_timeout(loop, max_wait_ms);
	if (find_ready(loop, timeout, &n) < 0)
		return errno == EINTR ? 0 : IB_ERR_IO; /* a signal: the caller's next turn */
	loop->running = true;
	fd_calls = run_fd_callbacks(loop, n);
	timer_calls = run_timers(loop);
	loop->running = false;
	return fd_calls > INT_MAX - timer_calls ? INT_MAX : fd_calls + timer_calls;
}

size_t ib_loop_prepare(struct ib_loop *loop, struct pollfd *fds, size_t max, int *timeout_ms)
{
	nfds_t n = build_poll_set(loop);

	loop->prepared = n;
	for (nfds_t i = 0; i < n && i < max; i++)
		fds[i] = loop->pfds[i];
	if (timeout_ms)
		*timeout_ms = poll_timeout(loop, -1);
	return n;
}

int ib_loop_dispatch(struct ib_loop *loop, const struct pollfd *fds, size_t n)
{
	int fd_calls, timer_calls;

	if (!loop || loop->running || n != loop->prepared)
		return IB_ERR_INVALID_ARG;
	/* The embedder's poll() filled revents of the set prepare gave it, in the same order. */
	for (size_t i = 0; i < n; i++) {
		if (fds[i].fd != loop->pfds[i].fd)
			return IB_ERR_INVALID_ARG;
		loop->pfds[i].revents = fds[i].revents;
	}
	loop->prepared = 0;
	loop->running = true;
	fd_calls = run_fd_callbacks(loop, (nfds_t)n);
	timer_calls = run_timers(loop);
	loop->running = false;
	return fd_calls > INT_MAX - timer_calls ? INT_MAX : fd_calls + timer_calls;
}
