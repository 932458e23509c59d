/* t_tree.c - the tree (spec section 10): which parent the IUT joins and when (names of
 * several addresses, rounds, the backoff and its reset, each timer over many periods and at
 * its deadline), the checks it runs on a HELLO as a server and as a client, what joining
 * does and in which order, PATH updates, loops, simultaneous links, the same identity twice,
 * and two roots merging after a partition. */
#include "cf.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "net.h"

#define TREE_RECONNECT_MIN_MS 100u
#define TREE_RECONNECT_MAX_MS 400u
#define TREE_WAIT_MS 2000u          /* a reaction the IUT owes at once, with real-time slack */

/* ---- helpers ----------------------------------------------------------------------------- */


static void tree_opts(struct cf_iut_opts *o)
{
	memset(o, 0, sizeof *o);
	o->reconnect_min_ms = TREE_RECONNECT_MIN_MS;
	o->reconnect_max_ms = TREE_RECONNECT_MAX_MS;
}

/* A tester listening as a possible parent of the IUT; its address goes into o->parents. */
static struct hn_peer *parent_peer(struct cf_ctx *c, int tester, struct cf_iut_opts *o,
				   char addr[IB_MAX_ADDR])
{
	struct hn_peer *p = cf_peer(c, tester);

	if (!p || !cf_listen_parent(c, p, addr))
		return NULL;
	o->parents[o->nparents++] = addr;
	return p;
}

static uint16_t addr_port(const char *addr)
{
	const char *colon = strrchr(addr, ':');

	return colon ? (uint16_t)atoi(colon + 1) : 0;
}

static void fmt_path(const uint8_t *ids, size_t n, char *out, size_t cap)
{
	size_t used = 0;

	out[0] = 0;
	for (size_t i = 0; i < n && used + 12 < cap; i++) {
		char hex[2 * IB_ID_LEN + 1];

		ib_hex_encode(ids + i * IB_ID_LEN, 4, hex);
		used += (size_t)snprintf(out + used, cap - used, "%s%s..", i ? "," : "[", hex);
	}
	if (used + 2 < cap)
		snprintf(out + used, cap - used, "]");
}

static bool path_equals(const struct ib_path *p, const ib_id *const *want, size_t n)
{
	if (p->count != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (memcmp(p->ids + i * IB_ID_LEN, want[i]->b, IB_ID_LEN))
			return false;
	return true;
}

/* Index of the first PATH frame at or after `from` whose path is want[0..n); SIZE_MAX if none. */
static size_t find_path(struct hn_peer *p, size_t from, const ib_id *const *want, size_t n)
{
	struct ib_frame f;
	struct ib_msg m;

	for (size_t i = from; i < hn_peer_received(p); i++)
		if (hn_peer_got(p, i)->type == IB_MSG_PATH && cf_got_msg(p, i, &f, &m) &&
		    path_equals(&m.u.path, want, n))
			return i;
	return SIZE_MAX;
}

/* The last PATH p received, printed, for the `actual` of a failure. */
static void last_path_text(struct hn_peer *p, char *out, size_t cap)
{
	struct ib_frame f;
	struct ib_msg m;

	snprintf(out, cap, "no PATH at all");
	for (size_t i = hn_peer_received(p); i-- > 0;)
		if (hn_peer_got(p, i)->type == IB_MSG_PATH && cf_got_msg(p, i, &f, &m)) {
			fmt_path(m.u.path.ids, m.u.path.count, out, cap);
			return;
		}
}

struct path_wait {
	struct hn_peer *p;
	size_t from;
	const ib_id *const *want;
	size_t n;
};

static bool path_arrived(void *arg)
{
	struct path_wait *w = arg;

	return find_path(w->p, w->from, w->want, w->n) != SIZE_MAX || hn_peer_closed(w->p);
}

/* Waits until child gets PATH want (received from frame `from` on); FAIL against req if not. */
static bool expect_path(struct cf_ctx *c, struct hn_peer *child, size_t from,
			const ib_id *const *want, size_t n, uint32_t within_ms, const char *req,
			const char *expected)
{
	struct path_wait w = { child, from, want, n };
	char got[256];

	cf_run_until(c, path_arrived, &w, within_ms);
	if (!cf_ok(c))
		return false;
	last_path_text(child, got, sizeof got);
	return cf_expect(c, find_path(child, from, want, n) != SIZE_MAX, req, expected,
			 "within %u ms the child %s; last PATH it got: %s", within_ms,
			 hn_peer_closed(child) ? "was disconnected" : "got no such PATH", got);
}

/* The path of the IUT's HELLO as p received it must be want. */
static bool expect_hello_path(struct cf_ctx *c, struct hn_peer *p, const ib_id *const *want,
			      size_t n, const char *req, const char *expected)
{
	struct ib_msg m;
	char got[256] = "no HELLO";

	if (cf_hello_of(p, &m))
		fmt_path(m.u.hello.path.ids, m.u.hello.path.count, got, sizeof got);
	return cf_expect(c, cf_hello_of(p, &m) && path_equals(&m.u.hello.path, want, n), req,
			 expected, "its HELLO path was %s", got);
}

/* [TREE-21] The IUT asks parent p to take it: it is a root, so its HELLO path is itself. */
static bool expect_client_hello_self(struct cf_ctx *c, struct hn_peer *p)
{
	const ib_id *self[] = { cf_iut_id(c) };

	return expect_hello_path(c, p, self, 1, "TREE-21",
				 "as a client the IUT is a root: its HELLO path is its own id alone");
}

/* Connects p as a child and sends a HELLO (path above..., p); the IUT must close with code. */
static bool expect_child_refused(struct cf_ctx *c, struct hn_peer *p, const ib_id *above,
				 size_t nabove, uint16_t code, const char *req)
{
	if (!p || !cf_connect(c, p))
		return false;
	if (hn_peer_send_hello(p, IB_ROLE_SERVER, 30000, above, nabove) != IB_OK) {
		cf_harness_error(c, "cannot send HELLO");
		return false;
	}
	return cf_wait_closed(c, p, code, req, TREE_WAIT_MS);
}

/* A HELLO whose path is ids[0..n) exactly, from p: a path that does not end with p. */
static bool send_hello_path(struct cf_ctx *c, struct hn_peer *p, const ib_id *const *ids,
			    size_t n)
{
	uint8_t raw[4 * IB_ID_LEN];
	struct ib_msg m;

	for (size_t i = 0; i < n; i++)
		memcpy(raw + i * IB_ID_LEN, ids[i]->b, IB_ID_LEN);
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_HELLO;
	m.u.hello.role = IB_ROLE_SERVER;
	m.u.hello.keepalive_interval_ms = CF_KEEPALIVE_MS;
	m.u.hello.max_message = IB_MAX_MESSAGE_LIMIT;
	m.u.hello.name = (struct ib_slice){ (const uint8_t *)"tester", 6 };
	m.u.hello.path = (struct ib_path){ (uint8_t)n, raw };
	if (hn_peer_send(p, &m, NULL, NULL, false, NULL) != IB_OK) {
		cf_harness_error(c, "cannot send HELLO");
		return false;
	}
	return true;
}

static bool send_path(struct cf_ctx *c, struct hn_peer *p, const ib_id *const *ids, size_t n)
{
	uint8_t raw[4 * IB_ID_LEN];
	struct ib_msg m;

	for (size_t i = 0; i < n; i++)
		memcpy(raw + i * IB_ID_LEN, ids[i]->b, IB_ID_LEN);
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PATH;
	m.u.path = (struct ib_path){ (uint8_t)n, raw };
	if (hn_peer_send(p, &m, NULL, NULL, false, NULL) != IB_OK) {
		cf_harness_error(c, "cannot send PATH");
		return false;
	}
	return true;
}

static bool got_hello(void *arg)
{
	return hn_peer_count(arg, IB_MSG_HELLO) > 0 || hn_peer_closed(arg);
}

/* Nothing reached p: no TLS, no frame. */
static bool untouched(struct hn_peer *p)
{
	return !hn_peer_tls_open(p) && hn_peer_received(p) == 0;
}

/* ---- a parent that refuses every connection, counting them ------------------------------ */

/* Two rounds below the cap (100, 200 ms), then eleven at it (400 ms): enough waits at the cap
 * to see their jitter ([TREE-13]). */
#define BACKOFF_ATTEMPTS 14
#define BACKOFF_AT_CAP_FROM 2       /* gap k waits at the cap from this k on */

/* A parent that takes each TCP connection and closes it at once: every attempt counted. */
struct closing_parent {
	struct ib_loop *loop;
	int fd;
	struct cf_ctx *c;
	uint64_t at_ms[BACKOFF_ATTEMPTS + 8];
	size_t n;
};

static void on_closing_accept(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct closing_parent *cp = arg;
	char name[128];
	int conn;

	(void)loop;
	(void)events;
	if (ib_net_accept(fd, &conn, name, sizeof name) != IB_OK)
		return;
	ib_net_close(conn);
	if (cp->n < sizeof cp->at_ms / sizeof cp->at_ms[0])
		cp->at_ms[cp->n++] = cf_now_ms(cp->c);
}

static bool enough_attempts(void *arg)
{
	return ((struct closing_parent *)arg)->n >= BACKOFF_ATTEMPTS;
}

/* Listens on an ephemeral port of 127.0.0.1 and counts connections; addr gets it. */
static bool closing_parent_open(struct cf_ctx *c, struct closing_parent *cp,
				char addr[IB_MAX_ADDR])
{
	struct ib_diag diag = { 0 };
	uint16_t port = 0;

	memset(cp, 0, sizeof *cp);
	cp->c = c;
	cp->loop = cf_loop(c);
	cp->fd = -1;
	if (ib_net_listen("127.0.0.1", 0, &cp->fd, &port, &diag) != IB_OK) {
		cf_harness_error(c, "cannot listen: %s", diag.reason);
		return false;
	}
	if (ib_loop_watch(cp->loop, cp->fd, IB_EV_READ, on_closing_accept, cp) != IB_OK) {
		ib_net_close(cp->fd);
		cp->fd = -1;
		cf_harness_error(c, "cannot watch the listening socket");
		return false;
	}
	snprintf(addr, IB_MAX_ADDR, "127.0.0.1:%u", port);
	return true;
}

static void closing_parent_close(struct closing_parent *cp)
{
	if (cp->fd < 0)
		return;
	ib_loop_unwatch(cp->loop, cp->fd);
	ib_net_close(cp->fd);
	cp->fd = -1;
}

/* ---- a parent that takes connections and never answers ---------------------------------- */

#define SILENT_CONNS 4

/* A parent address that takes TCP connections and never answers them: the IUT's client
 * connection stays in its TLS handshake, its peer unknown. A connection the IUT closes is
 * seen as EOF. */
struct silent_parent {
	struct ib_loop *loop;
	int fd;
	int conns[SILENT_CONNS];
	size_t n;
	bool iut_closed;
};

static void on_silent_read(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct silent_parent *sp = arg;
	uint8_t buf[4096];
	size_t got;
	int err = ib_net_read(fd, buf, sizeof buf, &got);

	(void)events;
	if (err == IB_OK || err == IB_ERR_AGAIN)
		return; /* the ClientHello, left unanswered */
	sp->iut_closed = true;
	ib_loop_unwatch(loop, fd);
	for (size_t i = 0; i < sp->n; i++)
		if (sp->conns[i] == fd)
			sp->conns[i] = -1;
	ib_net_close(fd);
}

static void on_silent_accept(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct silent_parent *sp = arg;
	char name[128];
	int conn;

	(void)events;
	if (ib_net_accept(fd, &conn, name, sizeof name) != IB_OK)
		return;
	if (sp->n == SILENT_CONNS ||
	    ib_loop_watch(loop, conn, IB_EV_READ, on_silent_read, sp) != IB_OK) {
		ib_net_close(conn);
		return;
	}
	sp->conns[sp->n++] = conn;
}

static bool silent_accepted(void *arg)
{
	return ((struct silent_parent *)arg)->n > 0;
}

static bool silent_parent_open(struct cf_ctx *c, struct silent_parent *sp,
			       char addr[IB_MAX_ADDR])
{
	struct ib_diag diag = { 0 };
	uint16_t port = 0;

	memset(sp, 0, sizeof *sp);
	sp->loop = cf_loop(c);
	sp->fd = -1;
	if (ib_net_listen("127.0.0.1", 0, &sp->fd, &port, &diag) != IB_OK) {
		cf_harness_error(c, "cannot listen: %s", diag.reason);
		return false;
	}
	if (ib_loop_watch(sp->loop, sp->fd, IB_EV_READ, on_silent_accept, sp) != IB_OK) {
		ib_net_close(sp->fd);
		sp->fd = -1;
		cf_harness_error(c, "cannot watch the listening socket");
		return false;
	}
	snprintf(addr, IB_MAX_ADDR, "127.0.0.1:%u", port);
	return true;
}

static void silent_parent_close(struct silent_parent *sp)
{
	for (size_t i = 0; i < sp->n; i++) {
		if (sp->conns[i] < 0)
			continue;
		ib_loop_unwatch(sp->loop, sp->conns[i]);
		ib_net_close(sp->conns[i]);
		sp->conns[i] = -1;
	}
	if (sp->fd < 0)
		return;
	ib_loop_unwatch(sp->loop, sp->fd);
	ib_net_close(sp->fd);
	sp->fd = -1;
}

/* ---- more helpers ------------------------------------------------------------------------ */

/* n ids of no known node, for paths deeper than the testers can fill. */
static void random_ids(struct cf_ctx *c, ib_id *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < IB_ID_LEN; j++)
			ids[i].b[j] = (uint8_t)cf_rand(c);
}

static bool peer_closed(void *arg)
{
	return hn_peer_closed(arg);
}

/* Connects p as a child and sends HELLO: the IUT must answer HELLO and keep the link. */
static bool expect_child_accepted(struct cf_ctx *c, struct hn_peer *p, const char *req,
				  const char *expected)
{
	const struct hn_got *err;
	char why[64] = "";

	if (!p || !cf_connect(c, p))
		return false;
	if (hn_peer_send_hello(p, IB_ROLE_SERVER, 30000, NULL, 0) != IB_OK) {
		cf_harness_error(c, "cannot send HELLO");
		return false;
	}
	if (!cf_run_until(c, got_hello, p, TREE_WAIT_MS) && !cf_ok(c))
		return false;
	cf_run_for(c, 0);
	if ((err = hn_peer_last(p, IB_MSG_ERROR)) != NULL)
		snprintf(why, sizeof why, " with ERROR %s", ib_error_code_name(err->error_code));
	return cf_expect(c, hn_peer_count(p, IB_MSG_HELLO) == 1 && !hn_peer_closed(p), req,
			 expected, "%s; the link %s%s",
			 hn_peer_count(p, IB_MSG_HELLO) ? "it answered HELLO" : "no HELLO came",
			 hn_peer_closed(p) ? "was closed" : "stayed open", why);
}

/* ---- [TREE-1] [TREE-11] parents in order ----------------------------------------------- */

static void test_parents_in_order(struct cf_ctx *c)
{
	char a0[IB_MAX_ADDR], a1[IB_MAX_ADDR], a2[IB_MAX_ADDR];
	struct hn_peer *first, *second, *child;
	struct closing_parent refusing;
	struct cf_iut_opts o;

	tree_opts(&o);
	/* The first address refuses (it closes every connection, and counts them). */
	if (!closing_parent_open(c, &refusing, a0))
		return;
	o.parents[o.nparents++] = a0;
	if (!(first = parent_peer(c, 2, &o, a1)) || !(second = parent_peer(c, 3, &o, a2)) ||
	    !cf_iut_start(c, &o))
		goto out;
	if (!cf_run_until(c, got_hello, first, TREE_WAIT_MS) && !cf_ok(c))
		goto out;
	if (!cf_expect(c, hn_peer_count(first, IB_MSG_HELLO) == 1 && refusing.n >= 1, "TREE-1",
		       "the IUT tries the first parent address, then (refused) sends HELLO to the "
		       "second",
		       "connections to the first: %zu; HELLO at the second: %zu; third parent: %zu "
		       "frames", refusing.n, hn_peer_count(first, IB_MSG_HELLO),
		       hn_peer_received(second)))
		goto out;
	if (!cf_accept_child(c, first, NULL, 0))
		goto out;
	hn_peer_unlisten(first);
	/* [TREE-11] joined: no connection to the third address, while a sentinel child links. */
	if (!(child = cf_peer(c, 0)) || !cf_link_child(c, child))
		goto out;
	{
		const ib_id *want[] = { cf_tester_id(c, 2), cf_iut_id(c) };

		if (!expect_hello_path(c, child, want, 2, "TREE-5",
				       "the IUT's path is its parent's path followed by its own id"))
			goto out;
	}
	cf_run_for(c, 3 * TREE_RECONNECT_MAX_MS);
	cf_expect(c, untouched(second) && !hn_peer_closed(first), "TREE-11",
		  "with a parent, the IUT keeps that one link and connects to no other parent",
		  "third parent: %s; first link %s",
		  untouched(second) ? "untouched" : "the IUT connected to it",
		  hn_peer_closed(first) ? "closed" : "open");
out:
	closing_parent_close(&refusing);
}

/* ---- [TREE-2] a root retries with backoff ------------------------------------------------ */

/* Gap k (after k failed rounds) must lie in [d/2, d], d = min(min_ms * 2^k, max_ms), with
 * slack for real time: the IUT's timers fire late, never early. */
static bool check_gaps(struct cf_ctx *c, const struct closing_parent *cp, uint64_t min_ms,
		       uint64_t max_ms, const char *req, const char *expected)
{
	uint64_t slack = cf_mode(c) == CF_MODE_SELF ? 5 : 150, delay = min_ms;
	char gaps[256];
	size_t used = 0;
	bool ok = true;

	for (size_t k = 0; k + 1 < cp->n; k++) {
		uint64_t gap = cp->at_ms[k + 1] - cp->at_ms[k];

		used += (size_t)snprintf(gaps + used, sizeof gaps - used, "%s%llu", k ? "," : "",
					 (unsigned long long)gap);
		if (gap + 5 < delay / 2 || gap > delay + slack)
			ok = false;
		delay = delay * 2 > max_ms ? max_ms : delay * 2;
	}
	return cf_expect(c, ok, req, expected, "gaps between connection attempts (ms): %s", gaps);
}

/* [TREE-13] each wait drawn uniformly in [d/2, d]: eleven waits at the cap (d = 400) spread
 * over at least a tenth of d. Eleven uniform draws in a window of 200 ms all fall within
 * 40 ms of each other with a chance of about 1 in 10^6; a node without jitter waits d each
 * time (on virtual time, exactly). */
static bool check_jitter(struct cf_ctx *c, const struct closing_parent *cp)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	for (size_t k = BACKOFF_AT_CAP_FROM; k + 1 < cp->n; k++) {
		uint64_t gap = cp->at_ms[k + 1] - cp->at_ms[k];

		lo = gap < lo ? gap : lo;
		hi = gap > hi ? gap : hi;
	}
	/* A gap is the wait plus the round: a node without jitter never makes one shorter than
	 * the cap, but a busy machine can make its gaps spread. Of eleven waits drawn in
	 * [200, 400], all are above 360 with a chance of (40/200)^11, about 2e-8. */
	return cf_expect(c, hi - lo >= TREE_RECONNECT_MAX_MS / 10, "TREE-13",
			 "the waits at reconnect_max_ms = 400 drawn uniformly in [200, 400]: over "
			 "eleven of them, a spread of 40 ms at least",
			 "they all lay in [%llu, %llu] ms", (unsigned long long)lo,
			 (unsigned long long)hi) &&
	       cf_expect(c, lo < TREE_RECONNECT_MAX_MS * 9 / 10, "TREE-13",
			 "the waits at reconnect_max_ms = 400 drawn uniformly in [200, 400]: over "
			 "eleven of them, one at least shorter than 360 ms",
			 "the shortest was %llu ms (the longest %llu)", (unsigned long long)lo,
			 (unsigned long long)hi);
}

static void test_root_backoff(struct cf_ctx *c)
{
	struct closing_parent cp;
	char addr[IB_MAX_ADDR];
	struct cf_iut_opts o;
	struct hn_peer *child;

	tree_opts(&o);
	if (!closing_parent_open(c, &cp, addr))
		return;
	o.parents[o.nparents++] = addr;
	if (!(child = cf_peer(c, 0)) || !cf_iut_start(c, &o))
		goto out;
	/* [TREE-2] while its parent refuses, the IUT is a root and accepts children. */
	if (!cf_link_child(c, child))
		goto out;
	{
		const ib_id *want[] = { cf_iut_id(c) };

		if (!expect_hello_path(c, child, want, 1, "TREE-2",
				       "a node whose parent refuses is a root: its path is itself"))
			goto out;
	}
	if (!cf_wait(c, enough_attempts, &cp, 100 + 200 + 11 * 400 + TREE_WAIT_MS,
		     "14 connection attempts to a refusing parent"))
		goto out;
	if (check_gaps(c, &cp, TREE_RECONNECT_MIN_MS, TREE_RECONNECT_MAX_MS, "TREE-2",
		       "waits between rounds in [d/2, d], d doubling from reconnect_min_ms=100 to "
		       "reconnect_max_ms=400 (100,200,400,400...)"))
		check_jitter(c, &cp);
out:
	closing_parent_close(&cp);
}

/* reconnect_min_ms just under reconnect_max_ms: the first doubling overshoots the cap. */
#define CAP_MIN_MS 390u

/* [TREE-13] reconnect_min_ms = 390, reconnect_max_ms = 400: the delay doubles to 780, which
 * the cap brings back to 400. Thirteen waits: 390, then 400 each, in [d/2, d]. A node that
 * does not cap a doubling that overshoots waits up to 780 ms (more than 550, the bound with
 * slack, 6 times in 10). */
static void test_backoff_cap(struct cf_ctx *c)
{
	struct closing_parent cp;
	char addr[IB_MAX_ADDR];
	struct cf_iut_opts o;

	tree_opts(&o);
	o.reconnect_min_ms = CAP_MIN_MS;
	if (!closing_parent_open(c, &cp, addr))
		return;
	o.parents[o.nparents++] = addr;
	if (!cf_iut_start(c, &o) ||
	    !cf_wait(c, enough_attempts, &cp, CAP_MIN_MS + 12 * TREE_RECONNECT_MAX_MS + TREE_WAIT_MS,
		     "14 connection attempts to a refusing parent"))
		goto out;
	check_gaps(c, &cp, CAP_MIN_MS, TREE_RECONNECT_MAX_MS, "TREE-13",
		   "waits between rounds in [d/2, d], d = reconnect_min_ms = 390, then the double "
		   "(780) cut to reconnect_max_ms = 400");
out:
	closing_parent_close(&cp);
}

/* ---- [TREE-3] client mode ---------------------------------------------------------------- */

static void test_client_mode(struct cf_ctx *c)
{
	char addr[IB_MAX_ADDR];
	struct hn_peer *parent, *early, *late;
	struct cf_iut_opts o;
	struct ib_msg hello;

	tree_opts(&o);
	o.client_mode = true;
	if (!(parent = parent_peer(c, 1, &o, addr)) || !cf_iut_start(c, &o))
		return;
	/* Parent not answering yet: the IUT is a root and must accept a child. */
	if (!cf_wait_type(c, parent, IB_MSG_HELLO, 1, TREE_WAIT_MS))
		return;
	if (!(early = cf_peer(c, 0)) || !cf_link_child(c, early))
		return;
	if (!cf_expect(c, cf_hello_of(parent, &hello) && hello.u.hello.role == IB_ROLE_CLIENT,
		       "TREE-3", "a node with mode = client announces role 2 in HELLO",
		       "role %u", cf_hello_of(parent, &hello) ? hello.u.hello.role : 0))
		return;
	if (!cf_accept_child(c, parent, NULL, 0))
		return;
	hn_peer_unlisten(parent);
	/* Joined: the children it took as a root go, and new ones are refused. */
	if (!cf_wait_closed(c, early, IB_EC_NO_CHILDREN_ACCEPTED, "TREE-3", TREE_WAIT_MS))
		return;
	late = cf_peer(c, 2);
	if (!expect_child_refused(c, late, NULL, 0, IB_EC_NO_CHILDREN_ACCEPTED, "TREE-3"))
		return;
	cf_expect(c, !hn_peer_closed(parent), "TREE-3",
		  "the parent link stays while the IUT refuses children", "it closed");
}

/* ---- [TREE-4] [TREE-8] server checks ----------------------------------------------------- */

static void test_hello_path_not_sender(struct cf_ctx *c)
{
	struct hn_peer *p;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 3)) || !cf_connect(c, p))
		return;
	{
		/* Ends with T4, sent by T3. */
		const ib_id *path[] = { cf_tester_id(c, 3), cf_tester_id(c, 4) };

		if (!send_hello_path(c, p, path, 2))
			return;
	}
	cf_wait_closed(c, p, IB_EC_PROTOCOL_VIOLATION, "TREE-4", TREE_WAIT_MS);
}

/* The IUT's path is [T2, T1, IUT]: T2 and T1 as children would make loops. T1 is also
 * linked already: the loop check comes before the duplicate check. */
static void test_child_in_own_path(struct cf_ctx *c)
{
	char addr[IB_MAX_ADDR];
	struct hn_peer *parent, *sentinel;
	struct cf_iut_opts o;

	tree_opts(&o);
	if (!(parent = parent_peer(c, 1, &o, addr)) || !cf_iut_start(c, &o) ||
	    !cf_accept_child(c, parent, cf_tester_id(c, 2), 1))
		return;
	hn_peer_unlisten(parent);
	if (!(sentinel = cf_peer(c, 0)) || !cf_link_child(c, sentinel))
		return;
	if (!expect_child_refused(c, cf_peer(c, 2), NULL, 0, IB_EC_LOOP_DETECTED, "TREE-4"))
		return;
	if (!expect_child_refused(c, cf_peer(c, 1), NULL, 0, IB_EC_LOOP_DETECTED, "TREE-4"))
		return;
	cf_expect(c, !hn_peer_closed(parent) && !hn_peer_closed(sentinel), "TREE-8",
		  "refusing a looping child leaves the IUT's other links up",
		  "parent link %s, child link %s", hn_peer_closed(parent) ? "closed" : "open",
		  hn_peer_closed(sentinel) ? "closed" : "open");
}

static void test_duplicate_identity(struct cf_ctx *c)
{
	struct hn_peer *first;

	if (!cf_iut_start(c, NULL) || !(first = cf_peer(c, 0)) || !cf_link_child(c, first))
		return;
	/* The same identity running on a second node. */
	if (!expect_child_refused(c, cf_peer(c, 0), NULL, 0, IB_EC_DUPLICATE_IDENTITY, "TREE-8"))
		return;
	cf_run_for(c, 100);
	cf_expect(c, !hn_peer_closed(first), "TREE-8",
		  "the IUT keeps the first link of that identity", "it closed the first link too");
}

/* ---- [TREE-5] client checks -------------------------------------------------------------- */

static void test_client_checks(struct cf_ctx *c)
{
	char a0[IB_MAX_ADDR], a1[IB_MAX_ADDR];
	struct hn_peer *liar, *descendant, *child;
	struct cf_iut_opts o;

	tree_opts(&o);
	if (!(liar = parent_peer(c, 1, &o, a0)) || !(descendant = parent_peer(c, 2, &o, a1)) ||
	    !cf_iut_start(c, &o))
		return;
	/* A parent whose HELLO path does not end with itself. */
	if (!cf_wait_type(c, liar, IB_MSG_HELLO, 1, TREE_WAIT_MS))
		return;
	hn_peer_unlisten(liar);
	{
		const ib_id *path[] = { cf_tester_id(c, 1), cf_tester_id(c, 5) };

		if (!send_hello_path(c, liar, path, 2) ||
		    !cf_wait_closed(c, liar, IB_EC_PROTOCOL_VIOLATION, "TREE-5", TREE_WAIT_MS))
			return;
	}
	/* The next parent is the IUT's own descendant: its path holds the IUT. */
	if (!cf_accept_child(c, descendant, cf_iut_id(c), 1))
		return;
	hn_peer_unlisten(descendant);
	if (!cf_wait_closed(c, descendant, IB_EC_LOOP_DETECTED, "TREE-5", TREE_WAIT_MS))
		return;
	/* Both refused: still a root, accepting children. */
	if (!(child = cf_peer(c, 0)) || !cf_link_child(c, child))
		return;
	{
		const ib_id *want[] = { cf_iut_id(c) };

		expect_hello_path(c, child, want, 1, "TREE-5",
				  "after refusing both parents the IUT is a root (path: itself)");
	}
}

/* The IUT's child T0 also answers at the IUT's parent address: the same identity running
 * twice, once below the IUT and once above it. */
static void test_parent_is_own_child(struct cf_ctx *c)
{
	struct hn_peer *placeholder, *child, *parent;
	char addr[IB_MAX_ADDR];
	struct cf_iut_opts o;
	uint16_t port;

	tree_opts(&o);
	/* A port that refuses until T0 has linked as a child. */
	if (!(placeholder = parent_peer(c, 1, &o, addr)))
		return;
	hn_peer_unlisten(placeholder);
	port = addr_port(addr);
	if (!cf_iut_start(c, &o) || !(child = cf_peer(c, 0)) || !cf_link_child(c, child))
		return;
	if (!(parent = cf_peer(c, 0)) || hn_peer_listen(parent, &port) != IB_OK) {
		if (cf_ok(c))
			cf_harness_error(c, "cannot listen again on %s", addr);
		return;
	}
	if (!cf_accept_child(c, parent, NULL, 0))
		return;
	hn_peer_unlisten(parent);
	if (!cf_wait_closed(c, parent, IB_EC_DUPLICATE_IDENTITY, "TREE-5", TREE_WAIT_MS))
		return;
	cf_expect(c, !hn_peer_closed(child), "TREE-8",
		  "the IUT keeps its child's link when refusing the same identity as a parent",
		  "it closed the child's link");
}

/* ---- [TREE-6] [TREE-7] [TREE-10] PATH updates --------------------------------------------- */

/* An ANNOUNCE of the IUT with parent all zero that p received from index `from` on. */
struct root_announce {
	struct cf_ctx *c;
	struct hn_peer *p;
	size_t from;
};

static bool root_announced(void *arg)
{
	const struct root_announce *ra = arg;
	static const ib_id zero;
	struct ib_frame f;
	struct ib_msg m;

	for (size_t i = ra->from; i < hn_peer_received(ra->p); i++)
		if (hn_peer_got(ra->p, i)->type == IB_MSG_ANNOUNCE &&
		    cf_got_msg(ra->p, i, &f, &m) && ib_id_equal(&f.origin, cf_iut_id(ra->c)) &&
		    ib_id_equal(&m.u.announce.parent, &zero))
			return true;
	return hn_peer_closed(ra->p);
}

static void test_path_updates(struct cf_ctx *c)
{
	char addr[IB_MAX_ADDR];
	struct hn_peer *parent, *child;
	struct cf_iut_opts o;
	size_t mark;

	tree_opts(&o);
	if (!(parent = parent_peer(c, 1, &o, addr)) || !cf_iut_start(c, &o) ||
	    !cf_wait_type(c, parent, IB_MSG_HELLO, 1, TREE_WAIT_MS))
		return;
	hn_peer_unlisten(parent);
	if (!(child = cf_peer(c, 0)) || !cf_link_child(c, child))
		return;
	/* Joined: the child learns the new path. */
	mark = hn_peer_received(child);
	if (!cf_accept_child(c, parent, NULL, 0))
		return;
	{
		const ib_id *want[] = { cf_tester_id(c, 1), cf_iut_id(c) };

		if (!expect_path(c, child, mark, want, 2, TREE_WAIT_MS, "TREE-6",
				 "on joining a parent, PATH [parent, IUT] to its child"))
			return;
	}
	/* The parent moved under T2. */
	mark = hn_peer_received(child);
	{
		const ib_id *sent[] = { cf_tester_id(c, 2), cf_tester_id(c, 1) };
		const ib_id *want[] = { cf_tester_id(c, 2), cf_tester_id(c, 1), cf_iut_id(c) };

		if (!send_path(c, parent, sent, 2) ||
		    !expect_path(c, child, mark, want, 3, TREE_WAIT_MS, "TREE-7",
				 "PATH from the parent + the IUT's id becomes its path, sent on to "
				 "its child"))
			return;
	}
	if (!cf_expect(c, hn_peer_count(parent, IB_MSG_PATH) == 0, "LINK-17",
		       "the IUT sends PATH to its children only: its parent receives none",
		       "the parent received %zu PATH", hn_peer_count(parent, IB_MSG_PATH)))
		return;
	/* The parent's new path holds the IUT: a loop. */
	mark = hn_peer_received(child);
	{
		const ib_id *sent[] = { cf_iut_id(c), cf_tester_id(c, 1) };
		const ib_id *want[] = { cf_iut_id(c) };

		if (!send_path(c, parent, sent, 2) ||
		    !cf_wait_closed(c, parent, IB_EC_LOOP_DETECTED, "TREE-7", TREE_WAIT_MS) ||
		    !expect_path(c, child, mark, want, 1, TREE_WAIT_MS, "TREE-7",
				 "after the loop the IUT is a root: PATH [IUT] to its child"))
			return;
	}
	/* [MAP-1] Leaving the parent for a loop is losing it: ANNOUNCE, parent all zero. */
	{
		struct root_announce ra = { c, child, mark };

		if (!cf_expect(c, cf_run_until(c, root_announced, &ra, TREE_WAIT_MS) &&
			       !hn_peer_closed(child), "MAP-1",
			       "having left its parent for a loop, the IUT announces itself with "
			       "parent all zero", "its child got no such ANNOUNCE in %u ms",
			       TREE_WAIT_MS))
			return;
	}
	cf_expect(c, !hn_peer_closed(child), "TREE-10", "the child stays linked to the new root",
		  "the IUT closed the child's link");
}

/* Whether p's last PATH holds n ids. */
static bool last_path_holds(struct hn_peer *p, size_t n)
{
	struct ib_frame f;
	struct ib_msg m;

	for (size_t i = hn_peer_received(p); i-- > 0;)
		if (hn_peer_got(p, i)->type == IB_MSG_PATH)
			return cf_got_msg(p, i, &f, &m) && m.u.path.count == n;
	return false;
}

/* [TREE-7] A PATH of 254 ids from the parent makes the IUT's path 255 long, the longest
 * there is: taken, and sent on to its child. One of 255 ids would make it 256 long: a loop. */
static void test_path_too_long(struct cf_ctx *c)
{
	static uint8_t ids[255 * IB_ID_LEN];
	char addr[IB_MAX_ADDR];
	struct hn_peer *parent, *child;
	struct cf_iut_opts o;
	struct ib_msg m;
	size_t paths;

	tree_opts(&o);
	if (!(parent = parent_peer(c, 1, &o, addr)) || !cf_iut_start(c, &o) ||
	    !cf_accept_child(c, parent, NULL, 0))
		return;
	hn_peer_unlisten(parent);
	if (!(child = cf_peer(c, 0)) || !cf_link_child(c, child))
		return;
	for (unsigned count = 254; count <= 255; count++) {
		/* Ids of no known node above, drawn again each round (the last round's parent id
		 * left in place would repeat T1, a loop by [TREE-22] whatever the length), the
		 * parent last. */
		for (size_t i = 0; i < sizeof ids; i++)
			ids[i] = (uint8_t)cf_rand(c);
		memcpy(ids + (count - 1) * IB_ID_LEN, cf_tester_id(c, 1)->b, IB_ID_LEN);
		memset(&m, 0, sizeof m);
		m.h.type = IB_MSG_PATH;
		m.u.path = (struct ib_path){ (uint8_t)count, ids };
		paths = hn_peer_count(child, IB_MSG_PATH);
		if (hn_peer_send(parent, &m, NULL, NULL, false, NULL) != IB_OK) {
			cf_harness_error(c, "cannot send PATH");
			return;
		}
		if (count == 255)
			break;
		if (!cf_wait_type(c, child, IB_MSG_PATH, paths + 1, TREE_WAIT_MS) ||
		    !cf_expect(c, !hn_peer_closed(parent) && last_path_holds(child, 255), "TREE-7",
			       "PATH of 254 ids: the IUT's path is 255 long, the longest allowed: "
			       "taken, the parent kept, PATH of 255 ids to its child",
			       "%s", hn_peer_closed(parent) ? "the IUT closed its parent link"
							    : "the child's PATH is not 255 long"))
			return;
	}
	cf_wait_closed(c, parent, IB_EC_LOOP_DETECTED, "TREE-7", TREE_WAIT_MS);
}

/* ---- [TREE-10] [TREE-11] parent lost -------------------------------------------------------- */

static void test_parent_lost(struct cf_ctx *c)
{
	char a0[IB_MAX_ADDR], a1[IB_MAX_ADDR];
	struct hn_peer *parent, *again, *second, *child;
	struct cf_iut_opts o;
	uint16_t port;
	size_t mark;

	tree_opts(&o);
	if (!(parent = parent_peer(c, 1, &o, a0)) || !(second = parent_peer(c, 2, &o, a1)) ||
	    !cf_iut_start(c, &o) || !cf_accept_child(c, parent, NULL, 0))
		return;
	/* The first address is listened on again by a fresh tester with the same identity. */
	port = addr_port(a0);
	hn_peer_unlisten(parent);
	if (!(again = cf_peer(c, 1)) || hn_peer_listen(again, &port) != IB_OK) {
		cf_harness_error(c, "cannot listen again on %s", a0);
		return;
	}
	if (!(child = cf_peer(c, 0)) || !cf_link_child(c, child))
		return;
	mark = hn_peer_received(child);
	if (!cf_send_error(c, parent, IB_EC_SHUTTING_DOWN))
		return;
	{
		const ib_id *want[] = { cf_iut_id(c) };

		/* "At once": before its first reconnection could have ended. */
		if (!expect_path(c, child, mark, want, 1, TREE_RECONNECT_MIN_MS / 2, "TREE-10",
				 "having lost its parent, the IUT sends PATH [IUT] to its child at once"))
			return;
	}
	if (!cf_run_until(c, got_hello, again, TREE_WAIT_MS) && !cf_ok(c))
		return;
	if (!cf_expect(c, hn_peer_count(again, IB_MSG_HELLO) == 1 && untouched(second), "TREE-10",
		       "the IUT starts again from the first address of parents",
		       "first address: %zu HELLO; second address: %s",
		       hn_peer_count(again, IB_MSG_HELLO),
		       untouched(second) ? "untouched" : "the IUT connected to it"))
		return;
	if (!cf_accept_child(c, again, NULL, 0))
		return;
	cf_run_for(c, 2 * TREE_RECONNECT_MAX_MS);
	cf_expect(c, untouched(second) && !hn_peer_closed(again), "TREE-11",
		  "with a parent again, the IUT connects to no other parent",
		  "second address: %s; parent link %s",
		  untouched(second) ? "untouched" : "the IUT connected to it",
		  hn_peer_closed(again) ? "closed" : "open");
}

/* [TREE-6] [TREE-8] The IUT's path shrinks from five entries to two (its parent T1 moved up
 * to the root): the ids it held before (T6 among them) are no longer in its path, and T6 may
 * now link as its child. A node that compares a child with more of its path than its length
 * (what a longer path left behind) refuses T6 as a loop. */
static void test_path_shrinks(struct cf_ctx *c)
{
	char addr[IB_MAX_ADDR];
	struct hn_peer *parent, *child, *t6;
	struct cf_iut_opts o;
	ib_id above[3];
	size_t mark;

	above[0] = *cf_tester_id(c, 2);
	above[1] = *cf_tester_id(c, 5);
	above[2] = *cf_tester_id(c, 6);
	tree_opts(&o);
	if (!(parent = parent_peer(c, 1, &o, addr)) || !cf_iut_start(c, &o) ||
	    !cf_wait_type(c, parent, IB_MSG_HELLO, 1, TREE_WAIT_MS))
		return;
	hn_peer_unlisten(parent);
	if (!(child = cf_peer(c, 0)) || !cf_link_child(c, child) ||
	    !cf_accept_child(c, parent, above, 3))
		return;
	mark = hn_peer_received(child);
	{
		const ib_id *sent[] = { cf_tester_id(c, 1) };
		const ib_id *want[] = { cf_tester_id(c, 1), cf_iut_id(c) };

		if (!send_path(c, parent, sent, 1) ||
		    !expect_path(c, child, mark, want, 2, TREE_WAIT_MS, "TREE-6",
				 "PATH [T1] from the parent: the IUT's path is [T1, IUT], sent on to "
				 "its child"))
			return;
	}
	if (!(t6 = cf_peer(c, 6)))
		return;
	cf_link_child(c, t6);
}

/* Either of two peers got the IUT's HELLO (or closed). */
static bool either_got_hello(void *arg)
{
	struct hn_peer **pair = arg;

	return got_hello(pair[0]) || got_hello(pair[1]);
}

/* [TREE-10] The parent the IUT loses is its second address (the first refused it): the new
 * round starts from the first address again, not from the parent it lost. Both addresses
 * listen again when the link ends, open longer than reconnect_max_ms (stable: the round
 * starts at once, [TREE-14]) or not (after a wait): the first one must get the HELLO, the
 * second nothing. A node that goes on from where it was tries the lost parent again. */
static void second_parent_lost(struct cf_ctx *c, bool stable)
{
	char a0[IB_MAX_ADDR], a1[IB_MAX_ADDR];
	struct hn_peer *first, *second, *pair[2];
	struct cf_iut_opts o;
	uint16_t port0, port1;

	tree_opts(&o);
	if (!(first = parent_peer(c, 1, &o, a0)) || !(second = parent_peer(c, 2, &o, a1)))
		return;
	port0 = addr_port(a0);
	port1 = addr_port(a1);
	hn_peer_unlisten(first);            /* the first address refuses: the IUT goes on */
	if (!cf_iut_start(c, &o) || !cf_accept_child(c, second, NULL, 0))
		return;
	hn_peer_unlisten(second);
	if (!(pair[0] = cf_peer(c, 1)) || hn_peer_listen(pair[0], &port0) != IB_OK ||
	    !(pair[1] = cf_peer(c, 2)) || hn_peer_listen(pair[1], &port1) != IB_OK) {
		cf_harness_error(c, "cannot listen again on %s and %s", a0, a1);
		return;
	}
	if (stable)
		cf_run_for(c, TREE_RECONNECT_MAX_MS + TREE_RECONNECT_MIN_MS);
	if (!cf_send_error(c, second, IB_EC_SHUTTING_DOWN))
		return;
	if (!cf_run_until(c, either_got_hello, pair, TREE_WAIT_MS) && !cf_ok(c))
		return;
	cf_expect(c, hn_peer_count(pair[0], IB_MSG_HELLO) == 1 && untouched(pair[1]), "TREE-10",
		  stable ? "having lost the parent at its second address, a stable link, the IUT "
			   "starts again at once from the first address of parents"
			 : "having lost the parent at its second address soon after joining, the "
			   "IUT waits, then starts again from the first address of parents",
		  "first address: %zu HELLO; second address (the parent it lost): %s",
		  hn_peer_count(pair[0], IB_MSG_HELLO),
		  untouched(pair[1]) ? "untouched" : "the IUT connected to it");
}

static void test_second_parent_lost(struct cf_ctx *c)
{
	second_parent_lost(c, true);
}

static void test_second_parent_lost_early(struct cf_ctx *c)
{
	second_parent_lost(c, false);
}

/* ---- [TREE-9] simultaneous links ------------------------------------------------------------ */

/* A tester whose id is below (below = true) or above the IUT's; -1 if none of T1..T7. */
static int tester_on_side(struct cf_ctx *c, bool below)
{
	for (int i = 1; i < CF_TESTERS; i++)
		if ((ib_id_compare(cf_tester_id(c, i), cf_iut_id(c)) < 0) == below)
			return i;
	return -1;
}

/* The IUT's HELLO to X (tester k) is unanswered when X links to it as a child too. The link
 * whose client has the smaller id stays; the other is closed with duplicate_identity. */
static bool mutual_join(struct cf_ctx *c, struct hn_peer *as_parent, int k)
{
	bool iut_smaller = ib_id_compare(cf_iut_id(c), cf_tester_id(c, k)) < 0;
	struct hn_peer *as_child = cf_peer(c, k);

	if (!cf_run_until(c, got_hello, as_parent, TREE_WAIT_MS) && !cf_ok(c))
		return false;
	if (!cf_expect(c, hn_peer_count(as_parent, IB_MSG_HELLO) == 1, "TREE-1",
		       "the IUT connects to its parent T as a client", "no HELLO came"))
		return false;
	hn_peer_unlisten(as_parent);
	if (!as_child || !cf_connect(c, as_child) ||
	    hn_peer_send_hello(as_child, IB_ROLE_SERVER, 30000, NULL, 0) != IB_OK)
		return cf_ok(c) ? (cf_harness_error(c, "cannot send HELLO"), false) : false;
	cf_note(c, "mutual join with T%d: the %s id is smaller", k, iut_smaller ? "IUT's" : "tester's");
	if (iut_smaller) {
		/* The IUT's client link stays: the accepted one goes. */
		if (!cf_wait_closed(c, as_child, IB_EC_DUPLICATE_IDENTITY, "TREE-9", TREE_WAIT_MS))
			return false;
		return cf_expect(c, !hn_peer_closed(as_parent), "TREE-9",
				 "the link whose client (the IUT) has the smaller id stays",
				 "the IUT closed its client link too");
	}
	if (!cf_wait_closed(c, as_parent, IB_EC_DUPLICATE_IDENTITY, "TREE-9", TREE_WAIT_MS))
		return false;
	if (!cf_wait_type(c, as_child, IB_MSG_HELLO, 1, TREE_WAIT_MS))
		return false;
	return cf_expect(c, !hn_peer_closed(as_child), "TREE-9",
			 "the link whose client (the tester) has the smaller id stays",
			 "the IUT closed the accepted link too");
}

static void test_mutual_join(struct cf_ctx *c)
{
	int below = tester_on_side(c, true), above = tester_on_side(c, false);
	char a0[IB_MAX_ADDR], a1[IB_MAX_ADDR];
	struct hn_peer *p_below = NULL, *p_above = NULL;
	struct cf_iut_opts o;

	tree_opts(&o);
	/* Below first: that case ends with no parent, so the IUT goes on to the next address. */
	if (below >= 0 && !(p_below = parent_peer(c, below, &o, a0)))
		return;
	if (above >= 0 && !(p_above = parent_peer(c, above, &o, a1)))
		return;
	if (!cf_iut_start(c, &o))
		return;
	if (p_below && !mutual_join(c, p_below, below))
		return;
	if (p_above && !mutual_join(c, p_above, above))
		return;
	if (!p_below || !p_above)
		cf_note(c, "only one order of ids could be tried with this seed");
}

/* ---- two roots merging after a partition ---------------------------------------------------- */

/* The suite's keyring without the IUT's key: R0 then refuses the IUT (a partition). */
static struct ib_keyring *keyring_without_iut(struct cf_ctx *c)
{
	const struct ib_keyring *all = cf_suite_keyring(c);
	struct ib_keyring *kr = NULL;

	if (ib_keyring_new(&kr) != IB_OK)
		return NULL;
	for (size_t i = 0; i < ib_keyring_count(all); i++) {
		const struct ib_pubkey *k = ib_keyring_at(all, i);
		struct ib_pubkey *copy;

		if (ib_id_equal(ib_pubkey_id(k), cf_iut_id(c)))
			continue;
		if (ib_pubkey_from_raw(&copy, ib_pubkey_raw(k)) != IB_OK ||
		    ib_keyring_add(kr, copy) != IB_OK) {
			ib_keyring_free(kr);
			return NULL;
		}
	}
	return kr;
}

static bool ref_has_child(void *arg)
{
	return ib_node_child_count(arg) > 0;
}

static bool tls_settled(void *arg)
{
	return hn_peer_tls_open(arg) || hn_peer_closed(arg);
}

static bool link_child_of_ref(struct cf_ctx *c, struct hn_peer *p, struct ib_node *ref)
{
	if (hn_peer_connect(p, ib_node_listen_port(ref)) != IB_OK ||
	    !cf_wait(c, tls_settled, p, TREE_WAIT_MS, "TLS between a tester and R0") ||
	    hn_peer_send_hello(p, IB_ROLE_SERVER, 30000, NULL, 0) != IB_OK) {
		if (!cf_ok(c))
			return false;
		cf_harness_error(c, "a tester cannot link to R0");
		return false;
	}
	if (!cf_wait_type(c, p, IB_MSG_HELLO, 1, TREE_WAIT_MS))
		return false;
	if (hn_peer_closed(p)) {
		cf_harness_error(c, "R0 refused a tester child");
		return false;
	}
	return true;
}

struct publish_wait {
	struct hn_peer *p;
	size_t before;
};

static bool publish_arrived(void *arg)
{
	struct publish_wait *w = arg;

	return hn_peer_count(w->p, IB_MSG_PUBLISH) > w->before || hn_peer_closed(w->p);
}

/* A PUBLISH from `from` must reach `to` through the merged tree. */
static bool expect_flows(struct cf_ctx *c, struct hn_peer *from, struct hn_peer *to,
			 const char *what, const char *req)
{
	struct publish_wait w = { to, hn_peer_count(to, IB_MSG_PUBLISH) };
	struct ib_msg m;

	cf_msg_publish(&m, "tree.merge", cf_unix_us(c), what);
	if (hn_peer_send(from, &m, NULL, NULL, false, NULL) != IB_OK) {
		cf_harness_error(c, "cannot send PUBLISH");
		return false;
	}
	cf_run_until(c, publish_arrived, &w, TREE_WAIT_MS);
	if (!cf_ok(c))
		return false;
	return cf_expect(c, hn_peer_count(to, IB_MSG_PUBLISH) > w.before, req,
			 "after the merge, frames flow across the joined trees", "%s: not delivered",
			 what);
}

/* The IUT (with child T0) joins R0 (with child T1); R0 revokes it (partition: both are roots);
 * R0 trusts it again and the IUT's retry merges the two trees. */
static void test_merge_after_partition(struct cf_ctx *c)
{
	struct ib_keyring *partitioned = NULL;
	struct hn_peer *ours, *theirs;
	struct ib_node *r0;
	char addr[IB_MAX_ADDR];
	struct cf_iut_opts o;
	size_t mark;

	tree_opts(&o);
	if (!(r0 = cf_ref_node(c, 0, NULL)))
		return;
	cf_ref_addr(r0, addr);
	o.parents[o.nparents++] = addr;
	if (!(theirs = cf_peer(c, 1)) || !link_child_of_ref(c, theirs, r0) || !cf_iut_start(c, &o))
		return;
	if (!cf_wait(c, ref_has_child, r0, TREE_WAIT_MS, "the IUT joins R0"))
		return;
	if (!(ours = cf_peer(c, 0)) || !cf_link_child(c, ours))
		goto out;
	if (!(partitioned = keyring_without_iut(c))) {
		cf_harness_error(c, "cannot build a keyring");
		goto out;
	}
	/* Partition: R0 closes the IUT's link (revoked) and refuses it while it retries. */
	mark = hn_peer_received(ours);
	ib_node_set_keyring(r0, partitioned);
	partitioned = NULL;
	{
		const ib_id *want[] = { cf_iut_id(c) };

		if (!expect_path(c, ours, mark, want, 1, TREE_WAIT_MS, "TREE-10",
				 "cut from its parent, the IUT is a root and tells its child"))
			goto out;
	}
	cf_run_for(c, 2 * TREE_RECONNECT_MAX_MS);
	/* Heal: the two roots merge, the IUT's subtree coming along. */
	mark = hn_peer_received(ours);
	ib_node_set_keyring(r0, ib_keyring_ref((struct ib_keyring *)cf_suite_keyring(c)));
	{
		const ib_id *want[] = { ib_node_id(r0), cf_iut_id(c) };

		if (!expect_path(c, ours, mark, want, 2, 3 * TREE_RECONNECT_MAX_MS + TREE_WAIT_MS,
				 "TREE-2", "the IUT rejoins R0 and sends PATH [R0, IUT] to its child"))
			goto out;
	}
	if (!expect_flows(c, theirs, ours, "from R0's child to the IUT's", "TREE-2") ||
	    !expect_flows(c, ours, theirs, "from the IUT's child to R0's", "TREE-2"))
		goto out;
out:
	ib_keyring_free(partitioned);
}

/* The other way round: R0, a root with its child T1, joins the IUT, a root with its child T0.
 * The IUT takes the whole subtree as its child and frames flow across. */
static void test_root_joins_iut(struct cf_ctx *c)
{
	struct hn_peer *ours, *theirs;
	char addr[IB_MAX_ADDR];
	const char *parents[1];
	struct ib_node *r0;

	if (!cf_iut_start(c, NULL) || !(ours = cf_peer(c, 0)) || !cf_link_child(c, ours) ||
	    !(r0 = cf_ref_node(c, 0, NULL)) || !(theirs = cf_peer(c, 1)) ||
	    !link_child_of_ref(c, theirs, r0))
		return;
	snprintf(addr, sizeof addr, "%s:%u", cf_iut_host(c), cf_iut_port(c));
	parents[0] = addr;
	if (ib_node_set_parents(r0, parents, 1) != IB_OK) {
		cf_harness_error(c, "R0 cannot take %s as its parent", addr);
		return;
	}
	{
		/* R0 tells its child where it now is, under the IUT: the IUT's path (as its HELLO
		 * gave it; a node at --iut-addr may have a parent) followed by R0. */
		ib_id above[4];
		const ib_id *want[5];
		struct ib_msg hello;
		size_t n = 0;

		if (!cf_hello_of(ours, &hello) || hello.u.hello.path.count > 4) {
			cf_harness_error(c, "the IUT's path is too long for this test");
			return;
		}
		for (; n < hello.u.hello.path.count; n++) {
			memcpy(above[n].b, hello.u.hello.path.ids + n * IB_ID_LEN, IB_ID_LEN);
			want[n] = &above[n];
		}
		want[n++] = ib_node_id(r0);
		if (!expect_path(c, theirs, 0, want, n, TREE_WAIT_MS, "TREE-3",
				 "the IUT (mode = server) accepts the root R0 as its child"))
			return;
	}
	if (!expect_flows(c, theirs, ours, "from R0's child to the IUT's", "FLOOD-1"))
		return;
	expect_flows(c, ours, theirs, "from the IUT's child to R0's", "FLOOD-1");
}

/* ---- [TREE-12] one address at a time ------------------------------------------------------ */

/* The first parent takes the IUT's HELLO and does not answer: while that attempt is in
 * progress the second address sees nothing; once the first refuses, the second is tried. */
static void test_one_parent_at_a_time(struct cf_ctx *c)
{
	char a0[IB_MAX_ADDR], a1[IB_MAX_ADDR];
	struct hn_peer *first, *second;
	struct cf_iut_opts o;

	tree_opts(&o);
	if (!(first = parent_peer(c, 1, &o, a0)) || !(second = parent_peer(c, 2, &o, a1)) ||
	    !cf_iut_start(c, &o) || !cf_wait_type(c, first, IB_MSG_HELLO, 1, TREE_WAIT_MS))
		return;
	hn_peer_unlisten(first);
	cf_run_for(c, TREE_WAIT_MS / 2);
	if (!cf_expect(c, untouched(second), "TREE-12",
		       "while its HELLO to the first address is unanswered, the IUT opens no "
		       "connection to the second address",
		       "the second address got %s within %u ms",
		       hn_peer_tls_open(second) ? "a TLS connection" : "frames", TREE_WAIT_MS / 2))
		return;
	if (!cf_send_error(c, first, IB_EC_NO_CHILDREN_ACCEPTED))
		return;
	if (!cf_run_until(c, got_hello, second, TREE_WAIT_MS) && !cf_ok(c))
		return;
	cf_expect(c, hn_peer_count(second, IB_MSG_HELLO) == 1, "TREE-1",
		  "once the first address refused, the IUT tries the second", "no HELLO came");
}

/* ---- [TREE-13] [TREE-14] rounds and their backoff ----------------------------------------- */

/* Long enough that real time tells "at once" (a few ms) from the shortest wait (min / 2). */
#define ROUND_MIN_MS 400u
#define ROUND_MAX_MS 800u
#define ROUNDS 3

struct two_refusing {
	const struct closing_parent *a, *b;
};

static bool rounds_done(void *arg)
{
	const struct two_refusing *w = arg;

	return w->a->n >= ROUNDS && w->b->n >= ROUNDS;
}

/* Both addresses refuse: in each round the second is tried right after the first (no wait
 * inside a round), and the backoff is waited between rounds only. */
static void test_round_all_addresses(struct cf_ctx *c)
{
	uint64_t slack = cf_mode(c) == CF_MODE_SELF ? 5 : 150, delay = ROUND_MIN_MS, started;
	struct closing_parent a, b;
	struct two_refusing w = { &a, &b };
	char aa[IB_MAX_ADDR], ab[IB_MAX_ADDR], gaps[256];
	struct cf_iut_opts o;
	size_t used = 0;
	bool ok = true;

	tree_opts(&o);
	o.reconnect_min_ms = ROUND_MIN_MS;
	o.reconnect_max_ms = ROUND_MAX_MS;
	if (!closing_parent_open(c, &a, aa))
		return;
	if (!closing_parent_open(c, &b, ab))
		goto out;
	o.parents[o.nparents++] = aa;
	o.parents[o.nparents++] = ab;
	if (!cf_iut_start(c, &o))
		goto out;
	started = cf_now_ms(c);
	if (!cf_wait(c, rounds_done, &w, 4 * ROUND_MAX_MS + TREE_WAIT_MS,
		     "three rounds over two refusing parent addresses"))
		goto out;
	/* The first round at once: the IUT may have connected before it was seen ready. */
	if (!cf_expect(c, a.at_ms[0] < started + ROUND_MIN_MS / 4, "TREE-13",
		       "the first round begins at once when the node starts (well under the "
		       "shortest wait, 200 ms)",
		       "its first connection came %llu ms after it was ready",
		       (unsigned long long)(a.at_ms[0] - started)))
		goto out;
	for (size_t k = 0; k < ROUNDS; k++) {
		uint64_t inside = b.at_ms[k] - a.at_ms[k];

		/* Any wait is at least reconnect_min_ms / 2: less is "at once". */
		if (b.at_ms[k] < a.at_ms[k] || inside >= ROUND_MIN_MS / 2)
			ok = false;
		used += (size_t)snprintf(gaps + used, sizeof gaps - used, "%sfirst->second %llu",
					 k ? ", " : "", (unsigned long long)inside);
		if (k + 1 == ROUNDS)
			break;
		{
			uint64_t between = a.at_ms[k + 1] - b.at_ms[k];

			if (a.at_ms[k + 1] < b.at_ms[k] || between + 5 < delay / 2 ||
			    between > delay + slack)
				ok = false;
			used += (size_t)snprintf(gaps + used, sizeof gaps - used,
						 ", second->first %llu", (unsigned long long)between);
		}
		delay = delay * 2 > ROUND_MAX_MS ? ROUND_MAX_MS : delay * 2;
	}
	cf_expect(c, ok, "TREE-13",
		  "in each round the second address right after the first (under 200 ms: no "
		  "wait inside a round), then a wait between rounds in [d/2, d], d = 400 then 800",
		  "gaps between connection attempts (ms): %s", gaps);
out:
	closing_parent_close(&a);
	closing_parent_close(&b);
}

#define FLAP_MIN_MS 400u
#define FLAP_MAX_MS 1600u

/* One parent address whose testers (all T1) each answer the IUT's HELLO, keep the link a
 * while, and drop it with ERROR shutting_down. The next tester listens before the drop, so
 * the IUT's next round finds the address. */
struct flapper {
	struct hn_peer *cur;
	uint16_t port;
	uint64_t dropped_ms;
};

/* The IUT's next join: its HELLO within within_ms (*gap_ms: from the last drop to it),
 * answered, kept hold_ms, dropped. */
static bool flap(struct cf_ctx *c, struct flapper *f, uint32_t within_ms, uint32_t hold_ms,
		 uint64_t *gap_ms)
{
	struct hn_peer *next;

	cf_run_until(c, got_hello, f->cur, within_ms);
	if (!cf_ok(c))
		return false;
	if (!cf_expect(c, hn_peer_count(f->cur, IB_MSG_HELLO) == 1, "TREE-14",
		       "the IUT joins its parent address again", "no HELLO within %u ms",
		       within_ms))
		return false;
	*gap_ms = hn_peer_last(f->cur, IB_MSG_HELLO)->at_us / 1000 - f->dropped_ms;
	if (!expect_client_hello_self(c, f->cur) || !cf_accept_child(c, f->cur, NULL, 0))
		return false;
	if (hold_ms) {
		cf_pause(c, hold_ms);
		if (!cf_expect(c, !hn_peer_closed(f->cur), "TREE-14",
			       "the IUT keeps its parent link", "it closed it"))
			return false;
	}
	hn_peer_unlisten(f->cur);
	if (!(next = cf_peer(c, 1)) || hn_peer_listen(next, &f->port) != IB_OK) {
		if (cf_ok(c))
			cf_harness_error(c, "cannot listen again on port %u", f->port);
		return false;
	}
	if (!cf_send_error(c, f->cur, IB_EC_SHUTTING_DOWN))
		return false;
	f->dropped_ms = cf_now_ms(c);
	f->cur = next;
	return true;
}

/* A wait of the backoff with delay d: in [d/2, d], timers fire late (slack), never early. */
static bool expect_wait(struct cf_ctx *c, uint64_t gap, uint64_t d, const char *expected)
{
	uint64_t slack = cf_mode(c) == CF_MODE_SELF ? 5 : 150;

	return cf_expect(c, gap + 5 >= d / 2 && gap <= d + slack, "TREE-14", expected,
			 "its HELLO came %llu ms after the drop", (unsigned long long)gap);
}

/* A parent that drops the IUT at once, twice: each loss is a failed round, the delay
 * doubles. Then a link that lasts past reconnect_max_ms: its loss is followed by a round at
 * once, and the delay is back to reconnect_min_ms. */
static void test_backoff_rounds(struct cf_ctx *c)
{
	char addr[IB_MAX_ADDR];
	struct cf_iut_opts o;
	struct flapper f;
	uint64_t gap;

	tree_opts(&o);
	o.reconnect_min_ms = FLAP_MIN_MS;
	o.reconnect_max_ms = FLAP_MAX_MS;
	memset(&f, 0, sizeof f);
	if (!(f.cur = parent_peer(c, 1, &o, addr)))
		return;
	f.port = addr_port(addr);
	if (!cf_iut_start(c, &o))
		return;
	f.dropped_ms = cf_now_ms(c);
	if (!flap(c, &f, TREE_WAIT_MS, 0, &gap) ||
	    !flap(c, &f, FLAP_MIN_MS + TREE_WAIT_MS, 0, &gap) ||
	    !expect_wait(c, gap, FLAP_MIN_MS,
			 "a parent lost at once after the join is a failed round: a wait in "
			 "[200, 400] ms (reconnect_min_ms = 400) before the next round"))
		return;
	if (!flap(c, &f, 2 * FLAP_MIN_MS + TREE_WAIT_MS, FLAP_MAX_MS + FLAP_MIN_MS, &gap) ||
	    !expect_wait(c, gap, 2 * FLAP_MIN_MS,
			 "after a second such loss the delay has doubled: a wait in [400, 800] ms"))
		return;
	/* That link lasted 2000 ms, past reconnect_max_ms = 1600. */
	if (!flap(c, &f, TREE_WAIT_MS, 0, &gap) ||
	    !cf_expect(c, gap < FLAP_MIN_MS / 2, "TREE-14",
		       "a parent lost after reconnect_max_ms: a new round at once (under 200 ms, "
		       "the shortest backoff wait)",
		       "its HELLO came %llu ms after the drop", (unsigned long long)gap))
		return;
	if (!flap(c, &f, FLAP_MAX_MS + TREE_WAIT_MS, 0, &gap))
		return;
	expect_wait(c, gap, FLAP_MIN_MS,
		    "the long-lived link reset the delay: the next failed round waits in [200, "
		    "400] ms, not [800, 1600]");
}

/* Two parent links dropped at once after the join (two failed rounds: the delay is 4 x
 * reconnect_min_ms), then one that lasts past reconnect_max_ms, closed by the IUT for a
 * loop: that is a failed round all the same, a wait before the next, but drawn from the
 * delay the long link set back to reconnect_min_ms. Each loop after it, found at once after
 * the join, is a failed round too: the delay doubles from one to the next. */
#define LOOPS 3

static void test_loop_rejoin_waits(struct cf_ctx *c)
{
	struct hn_peer *cur, *next;
	char addr[IB_MAX_ADDR], expected[320];
	struct cf_iut_opts o;
	struct flapper f;
	uint64_t sent_ms, gap, d = FLAP_MIN_MS;
	uint16_t port;

	tree_opts(&o);
	o.reconnect_min_ms = FLAP_MIN_MS;
	o.reconnect_max_ms = FLAP_MAX_MS;
	memset(&f, 0, sizeof f);
	if (!(f.cur = parent_peer(c, 1, &o, addr)) || !cf_iut_start(c, &o))
		return;
	f.port = port = addr_port(addr);
	f.dropped_ms = cf_now_ms(c);
	if (!flap(c, &f, TREE_WAIT_MS, 0, &gap) ||
	    !flap(c, &f, FLAP_MIN_MS + TREE_WAIT_MS, 0, &gap))
		return;
	cur = f.cur;
	cf_run_until(c, got_hello, cur, 2 * FLAP_MIN_MS + TREE_WAIT_MS);
	if (!cf_ok(c) ||
	    !cf_expect(c, hn_peer_count(cur, IB_MSG_HELLO) == 1, "TREE-14",
		       "after two failed rounds the IUT joins its parent address again",
		       "no HELLO within %u ms", 2 * FLAP_MIN_MS + TREE_WAIT_MS) ||
	    !cf_accept_child(c, cur, NULL, 0))
		return;
	cf_run_for(c, FLAP_MAX_MS + FLAP_MIN_MS);
	for (unsigned k = 0; k < LOOPS; k++) {
		const ib_id *looped[] = { cf_iut_id(c), cf_tester_id(c, 1) };

		hn_peer_unlisten(cur);
		if (!(next = cf_peer(c, 1)) || hn_peer_listen(next, &port) != IB_OK) {
			if (cf_ok(c))
				cf_harness_error(c, "cannot listen again on %s", addr);
			return;
		}
		sent_ms = cf_now_ms(c);
		if (!send_path(c, cur, looped, 2) ||
		    !cf_wait_closed(c, cur, IB_EC_LOOP_DETECTED, "TREE-7", TREE_WAIT_MS))
			return;
		cf_run_until(c, got_hello, next, (uint32_t)d + TREE_WAIT_MS);
		if (!cf_ok(c) ||
		    !cf_expect(c, hn_peer_count(next, IB_MSG_HELLO) == 1, "TREE-7",
			       "after the loop the IUT rejoins later", "no HELLO within %llu ms",
			       (unsigned long long)d + TREE_WAIT_MS))
			return;
		gap = hn_peer_last(next, IB_MSG_HELLO)->at_us / 1000 - sent_ms;
		if (k == 0)
			snprintf(expected, sizeof expected,
				 "a parent left for a loop is a failed round, however long the link "
				 "was open: a wait in [200, 400] ms before the next round (the link "
				 "lasted past reconnect_max_ms: the delay is back at 400 ms, not "
				 "1600 after two failed rounds), not a round at once");
		else
			snprintf(expected, sizeof expected,
				 "loop %u, found at once after the join, is failed round %u in a row: "
				 "a wait in [%llu, %llu] ms", k + 1, k + 1, (unsigned long long)d / 2,
				 (unsigned long long)d);
		if (!expect_wait(c, gap, d, expected) || !cf_accept_child(c, next, NULL, 0))
			return;
		cur = next;
		d = 2 * d > FLAP_MAX_MS ? FLAP_MAX_MS : 2 * d;
	}
}

/* Parents A (refuses every connection) then B: the IUT joins B. B's PATH shows a loop; the
 * round after the wait is a new round, so it begins at A again, not at B where the last
 * one ended ([TREE-13]). */
struct first_again {
	const struct closing_parent *a;
	struct hn_peer *b;
};

static bool first_or_second_again(void *arg)
{
	const struct first_again *w = arg;

	return w->a->n >= 2 || got_hello(w->b);
}

static void test_loop_round_from_first(struct cf_ctx *c)
{
	struct closing_parent a;
	struct hn_peer *b, *next;
	struct first_again w;
	char aa[IB_MAX_ADDR], ab[IB_MAX_ADDR];
	struct cf_iut_opts o;
	uint16_t port;

	tree_opts(&o);
	o.reconnect_min_ms = ROUND_MIN_MS;
	o.reconnect_max_ms = ROUND_MAX_MS;
	if (!closing_parent_open(c, &a, aa))
		return;
	o.parents[o.nparents++] = aa;
	if (!(b = parent_peer(c, 1, &o, ab)) || !cf_iut_start(c, &o))
		goto out;
	cf_run_until(c, got_hello, b, TREE_WAIT_MS);
	if (!cf_ok(c) ||
	    !cf_expect(c, a.n == 1 && hn_peer_count(b, IB_MSG_HELLO) == 1, "TREE-12",
		       "the IUT tries A (refused), then joins B",
		       "%zu connections to A, %zu HELLO to B", a.n, hn_peer_count(b, IB_MSG_HELLO)) ||
	    !cf_accept_child(c, b, NULL, 0))
		goto out;
	{
		const ib_id *looped[] = { cf_iut_id(c), cf_tester_id(c, 1) };

		port = addr_port(ab);
		hn_peer_unlisten(b);
		if (!(next = cf_peer(c, 1)) || hn_peer_listen(next, &port) != IB_OK) {
			if (cf_ok(c))
				cf_harness_error(c, "cannot listen again on %s", ab);
			goto out;
		}
		if (!send_path(c, b, looped, 2) ||
		    !cf_wait_closed(c, b, IB_EC_LOOP_DETECTED, "TREE-7", TREE_WAIT_MS))
			goto out;
	}
	w.a = &a;
	w.b = next;
	cf_run_until(c, first_or_second_again, &w, ROUND_MIN_MS + TREE_WAIT_MS);
	cf_expect(c, cf_ok(c) && a.n >= 2, "TREE-13",
		  "after the wait that follows the loop, the next round begins at the first "
		  "address (A), before B is tried again",
		  "%s", a.n >= 2 ? "" : hn_peer_count(next, IB_MSG_HELLO) ?
		  "B got the next HELLO; A was not tried again" : "neither A nor B was tried again");
out:
	closing_parent_close(&a);
}

/* ---- [TREE-15] [TREE-16] client mode and connections in progress -------------------------- */

/* A client-mode IUT whose HELLO to its parent is unanswered is a root: it accepts a child.
 * When the parent answers, every connection it accepted goes: the open child, one in
 * HELLO-WAIT (closed without waiting for its HELLO), one still in TLS (cut, or refused at its
 * HELLO). */
static void test_client_mode_pending(struct cf_ctx *c)
{
	struct hn_peer *parent, *open_child, *waiting, *mid_tls;
	const struct hn_got *err;
	char addr[IB_MAX_ADDR];
	struct cf_iut_opts o;

	tree_opts(&o);
	o.client_mode = true;
	if (!(parent = parent_peer(c, 1, &o, addr)) || !cf_iut_start(c, &o) ||
	    !cf_wait_type(c, parent, IB_MSG_HELLO, 1, TREE_WAIT_MS))
		return;
	hn_peer_unlisten(parent);
	if (!expect_child_accepted(c, (open_child = cf_peer(c, 0)), "TREE-15",
				   "a client-mode node whose parent has not answered its HELLO yet "
				   "is a root: it accepts a child"))
		return;
	if (!(waiting = cf_peer(c, 2)) || !cf_connect(c, waiting))
		return;
	if (!(mid_tls = cf_peer(c, 3)) ||
	    hn_peer_connect_to(mid_tls, cf_iut_host(c), cf_iut_port(c)) != IB_OK) {
		if (cf_ok(c))
			cf_harness_error(c, "cannot connect to the IUT");
		return;
	}
	hn_peer_pause(mid_tls, true); /* its ClientHello goes, then it reads nothing */
	cf_run_for(c, 100);
	if (!cf_accept_child(c, parent, NULL, 0))
		return;
	if (!cf_wait_closed(c, open_child, IB_EC_NO_CHILDREN_ACCEPTED, "TREE-16", TREE_WAIT_MS) ||
	    !cf_wait_closed(c, waiting, IB_EC_NO_CHILDREN_ACCEPTED, "TREE-16", TREE_WAIT_MS))
		return;
	hn_peer_pause(mid_tls, false);
	cf_run_until(c, tls_settled, mid_tls, TREE_WAIT_MS);
	if (hn_peer_tls_open(mid_tls))
		hn_peer_send_hello(mid_tls, IB_ROLE_SERVER, 30000, NULL, 0); /* may meet a close */
	cf_run_until(c, peer_closed, mid_tls, TREE_WAIT_MS);
	if (!cf_ok(c))
		return;
	err = hn_peer_last(mid_tls, IB_MSG_ERROR);
	if (!cf_expect(c, hn_peer_closed(mid_tls) && !hn_peer_count(mid_tls, IB_MSG_HELLO) &&
			       (!err || err->error_code == IB_EC_NO_CHILDREN_ACCEPTED),
		       "TREE-16",
		       "a connection still in TLS when the IUT joined never becomes a child: cut, "
		       "or refused at its HELLO with no_children_accepted",
		       "%s; %s%s", hn_peer_count(mid_tls, IB_MSG_HELLO) ? "it answered HELLO" : "no HELLO",
		       hn_peer_closed(mid_tls) ? "closed" : "still open",
		       err ? (err->error_code == IB_EC_NO_CHILDREN_ACCEPTED ? ""
									   : " with ERROR of another code")
			   : ""))
		return;
	cf_expect(c, !hn_peer_closed(parent), "TREE-3",
		  "the parent link stays while the IUT closes its children", "it closed");
}

/* ---- [TREE-17] [TREE-18] paths of 255 ids ------------------------------------------------ */

/* The IUT's parent is 254 deep: the IUT's path holds 255 ids, and a child has no room. */
static void test_full_path_server(struct cf_ctx *c)
{
	static ib_id above[IB_MAX_PATH - 2];
	char addr[IB_MAX_ADDR];
	struct hn_peer *parent;
	struct cf_iut_opts o;

	tree_opts(&o);
	random_ids(c, above, IB_MAX_PATH - 2);
	if (!(parent = parent_peer(c, 1, &o, addr)) || !cf_iut_start(c, &o) ||
	    !cf_accept_child(c, parent, above, IB_MAX_PATH - 2))
		return;
	hn_peer_unlisten(parent);
	cf_run_for(c, 100);
	if (!cf_expect(c, !hn_peer_closed(parent), "TREE-18",
		       "a parent whose path holds 254 ids leaves room for the IUT (255)",
		       "the IUT closed its parent link"))
		return;
	if (!expect_child_refused(c, cf_peer(c, 0), NULL, 0, IB_EC_LOOP_DETECTED, "TREE-17"))
		return;
	cf_expect(c, !hn_peer_closed(parent), "TREE-17",
		  "refusing the child leaves the parent link up", "it closed");
}

/* The parent's HELLO path holds 255 ids: the IUT cannot append itself. */
static void test_full_path_client(struct cf_ctx *c)
{
	static ib_id above[IB_MAX_PATH - 1];
	char addr[IB_MAX_ADDR];
	struct hn_peer *parent, *child;
	struct cf_iut_opts o;

	tree_opts(&o);
	random_ids(c, above, IB_MAX_PATH - 1);
	if (!(parent = parent_peer(c, 1, &o, addr)) || !cf_iut_start(c, &o) ||
	    !cf_accept_child(c, parent, above, IB_MAX_PATH - 1))
		return;
	hn_peer_unlisten(parent);
	if (!cf_wait_closed(c, parent, IB_EC_LOOP_DETECTED, "TREE-18", TREE_WAIT_MS))
		return;
	if (!(child = cf_peer(c, 0)) || !cf_link_child(c, child))
		return;
	{
		const ib_id *want[] = { cf_iut_id(c) };

		expect_hello_path(c, child, want, 1, "TREE-18",
				  "having refused that parent, the IUT is a root (path: itself)");
	}
}

/* ---- [TREE-19] PATH ends with its sender -------------------------------------------------- */

static void test_path_not_sender(struct cf_ctx *c)
{
	char addr[IB_MAX_ADDR];
	struct hn_peer *parent, *child;
	struct cf_iut_opts o;
	size_t mark;

	tree_opts(&o);
	if (!(parent = parent_peer(c, 1, &o, addr)) || !cf_iut_start(c, &o) ||
	    !cf_accept_child(c, parent, NULL, 0))
		return;
	hn_peer_unlisten(parent);
	if (!(child = cf_peer(c, 0)) || !cf_link_child(c, child))
		return;
	mark = hn_peer_received(child);
	{
		/* From T1, a path that ends with T3. */
		const ib_id *sent[] = { cf_tester_id(c, 2), cf_tester_id(c, 3) };
		const ib_id *taken[] = { cf_tester_id(c, 2), cf_tester_id(c, 3), cf_iut_id(c) };
		const ib_id *root[] = { cf_iut_id(c) };

		if (!send_path(c, parent, sent, 2) ||
		    !cf_wait_closed(c, parent, IB_EC_PROTOCOL_VIOLATION, "TREE-19", TREE_WAIT_MS) ||
		    !expect_path(c, child, mark, root, 1, TREE_WAIT_MS, "TREE-10",
				 "having closed its parent, the IUT is a root: PATH [IUT] to its child"))
			return;
		cf_expect(c, find_path(child, mark, taken, 3) == SIZE_MAX, "TREE-19",
			  "the IUT does not take a PATH that does not end with its parent",
			  "it sent its child the path [T2, T3, IUT]");
	}
}

/* A PATH from T1 that names the IUT, a loop by [TREE-7], and ends with T3, not T1: the end is
 * checked first, so the IUT closes with protocol_violation, not loop_detected. */
static void test_path_not_sender_first(struct cf_ctx *c)
{
	char addr[IB_MAX_ADDR];
	struct hn_peer *parent;
	struct cf_iut_opts o;
	const ib_id *sent[2];

	tree_opts(&o);
	if (!(parent = parent_peer(c, 1, &o, addr)) || !cf_iut_start(c, &o) ||
	    !cf_accept_child(c, parent, NULL, 0))
		return;
	hn_peer_unlisten(parent);
	sent[0] = cf_iut_id(c);
	sent[1] = cf_tester_id(c, 3);
	if (send_path(c, parent, sent, 2))
		cf_wait_closed(c, parent, IB_EC_PROTOCOL_VIOLATION, "TREE-19", TREE_WAIT_MS);
}

/* ---- [TREE-20] a connection whose peer is unknown is no simultaneous link ---------------- */

/* The IUT's connection to its parent address hangs in TLS: whoever is there is unknown.
 * Testers with ids below and above the IUT's link as children: each is an ordinary child,
 * and the IUT's pending connection stays. */
static void test_pending_connect_unknown(struct cf_ctx *c)
{
	int sides[2] = { tester_on_side(c, true), tester_on_side(c, false) };
	struct silent_parent sp;
	char addr[IB_MAX_ADDR];
	struct cf_iut_opts o;

	tree_opts(&o);
	if (!silent_parent_open(c, &sp, addr))
		return;
	o.parents[o.nparents++] = addr;
	if (!cf_iut_start(c, &o) ||
	    !cf_wait(c, silent_accepted, &sp, TREE_WAIT_MS, "the IUT connects to its parent"))
		goto out;
	cf_run_for(c, 50); /* its ClientHello sent, unanswered */
	for (size_t i = 0; i < 2; i++) {
		if (sides[i] < 0) {
			cf_note(c, "no tester id %s the IUT's with this seed", i ? "above" : "below");
			continue;
		}
		if (!expect_child_accepted(c, cf_peer(c, sides[i]), "TREE-20",
					   "the IUT's own connection still in TLS is no connection to "
					   "this child: the child links as any other"))
			goto out;
	}
	cf_run_for(c, 100);
	cf_expect(c, !sp.iut_closed, "TREE-20",
		  "the IUT keeps its connection to the parent address, still in TLS",
		  "it closed it when a child linked");
out:
	silent_parent_close(&sp);
}

/* ---- [TREE-21] a client's HELLO path is itself alone ------------------------------------ */

/* Children whose HELLO path ends with them but holds more: one that names a parent above it
 * ([T2, T3]), one that names itself twice ([T4, T4]). The IUT refuses both at step 1 of
 * [TREE-4], and still takes a child whose path is itself. */
static void test_child_hello_path(struct cf_ctx *c)
{
	struct hn_peer *p;

	if (!cf_iut_start(c, NULL))
		return;
	{
		const ib_id *under[] = { cf_tester_id(c, 2), cf_tester_id(c, 3) };

		if (!(p = cf_peer(c, 3)) || !cf_connect(c, p) || !send_hello_path(c, p, under, 2) ||
		    !cf_wait_closed(c, p, IB_EC_PROTOCOL_VIOLATION, "TREE-21", TREE_WAIT_MS))
			return;
	}
	{
		const ib_id *twice[] = { cf_tester_id(c, 4), cf_tester_id(c, 4) };

		if (!(p = cf_peer(c, 4)) || !cf_connect(c, p) || !send_hello_path(c, p, twice, 2) ||
		    !cf_wait_closed(c, p, IB_EC_PROTOCOL_VIOLATION, "TREE-21", TREE_WAIT_MS))
			return;
	}
	expect_child_accepted(c, cf_peer(c, 5), "TREE-21",
			      "a child whose HELLO path is its own id alone links as usual");
}

/* ---- [TREE-22] a path that names a node twice ------------------------------------------- */

/* The first parent's HELLO path names T3 twice: the IUT refuses it as a loop and goes on to
 * the second, whose path is sound. Under it, a PATH naming T5 twice is a loop too. */
static void test_path_repeats(struct cf_ctx *c)
{
	char a0[IB_MAX_ADDR], a1[IB_MAX_ADDR];
	struct hn_peer *looped, *parent, *child;
	struct cf_iut_opts o;
	ib_id twice[3];
	size_t mark;

	tree_opts(&o);
	if (!(looped = parent_peer(c, 1, &o, a0)) || !(parent = parent_peer(c, 2, &o, a1)) ||
	    !cf_iut_start(c, &o))
		return;
	twice[0] = *cf_tester_id(c, 3);
	twice[1] = *cf_tester_id(c, 4);
	twice[2] = *cf_tester_id(c, 3);
	if (!cf_accept_child(c, looped, twice, 3))
		return;
	hn_peer_unlisten(looped);
	if (!cf_wait_closed(c, looped, IB_EC_LOOP_DETECTED, "TREE-22", TREE_WAIT_MS))
		return;
	if (!(child = cf_peer(c, 0)) || !cf_link_child(c, child))
		return;
	mark = hn_peer_received(child);
	if (!cf_accept_child(c, parent, cf_tester_id(c, 3), 1))
		return;
	hn_peer_unlisten(parent);
	{
		const ib_id *joined[] = { cf_tester_id(c, 3), cf_tester_id(c, 2), cf_iut_id(c) };

		if (!expect_path(c, child, mark, joined, 3, TREE_WAIT_MS, "TREE-6",
				 "joined under the second parent: PATH [T3, T2, IUT] to its child"))
			return;
	}
	mark = hn_peer_received(child);
	{
		const ib_id *sent[] = { cf_tester_id(c, 5), cf_tester_id(c, 6), cf_tester_id(c, 5),
					cf_tester_id(c, 2) };
		const ib_id *root[] = { cf_iut_id(c) };

		if (!send_path(c, parent, sent, 4) ||
		    !cf_wait_closed(c, parent, IB_EC_LOOP_DETECTED, "TREE-22", TREE_WAIT_MS))
			return;
		expect_path(c, child, mark, root, 1, TREE_WAIT_MS, "TREE-22",
			    "having left a parent whose PATH names T5 twice, the IUT is a root: "
			    "PATH [IUT] to its child");
	}
}

/* ---- [TREE-23] joining: nothing before the client checks, the kick first ----------------- */

/* The frames p received from index from on, but PING and ERROR, by type name: "" if none. */
static void frames_text(struct hn_peer *p, size_t from, char *out, size_t cap)
{
	size_t used = 0;

	out[0] = 0;
	for (size_t i = from; i < hn_peer_received(p) && used + 24 < cap; i++) {
		uint8_t type = hn_peer_got(p, i)->type;

		if (type == IB_MSG_PING || type == IB_MSG_ERROR)
			continue;
		used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? ", " : "",
					 ib_msg_type_name(type));
	}
}

struct origin_wait {
	struct cf_ctx *c;
	struct hn_peer *p;
};

static bool iut_announce_arrived(void *arg)
{
	const struct origin_wait *w = arg;

	for (size_t i = 0; i < hn_peer_received(w->p); i++) {
		const struct hn_got *g = hn_peer_got(w->p, i);

		if (g->type == IB_MSG_ANNOUNCE && g->raw.len >= IB_ID_LEN &&
		    !memcmp(g->raw.ptr, cf_iut_id(w->c)->b, IB_ID_LEN))
			return true;
	}
	return hn_peer_closed(w->p);
}

/* A new child gets the map burst after HELLO, the IUT's own ANNOUNCE in it ([MAP-4]): let
 * it come before the test counts what the child gets. No verdict: MAP-4 is not judged here. */
static void settle_burst(struct cf_ctx *c, struct hn_peer *child)
{
	struct origin_wait w = { c, child };

	cf_run_until(c, iut_announce_arrived, &w, 300);
}

static bool listen_again(struct cf_ctx *c, struct hn_peer **p, int tester, uint16_t port)
{
	if ((*p = cf_peer(c, tester)) && hn_peer_listen(*p, &port) == IB_OK)
		return true;
	if (cf_ok(c))
		cf_harness_error(c, "cannot listen again on port %u", port);
	return false;
}

/* A client-mode root with a child asks a parent, which refuses: the child stays, and hears
 * nothing of the attempt. It asks again and is taken, and the parent's HELLO is followed at
 * once by a frame of the tree above: the child gets the ERROR no_children_accepted and none
 * of PATH, ANNOUNCE or that frame. */
static void test_client_join_order(struct cf_ctx *c)
{
	struct hn_peer *placeholder, *asked, *parent, *child;
	char addr[IB_MAX_ADDR], got[256];
	struct cf_iut_opts o;
	struct ib_msg m;
	uint16_t port;
	size_t mark;

	tree_opts(&o);
	o.client_mode = true;
	/* The parent address refuses until the child has linked. */
	if (!(placeholder = parent_peer(c, 1, &o, addr)))
		return;
	hn_peer_unlisten(placeholder);
	port = addr_port(addr);
	if (!cf_iut_start(c, &o) || !(child = cf_peer(c, 0)) || !cf_link_child(c, child))
		return;
	settle_burst(c, child);
	mark = hn_peer_received(child);
	if (!listen_again(c, &asked, 1, port) ||
	    !cf_wait_type(c, asked, IB_MSG_HELLO, 1, TREE_RECONNECT_MAX_MS + TREE_WAIT_MS) ||
	    !expect_client_hello_self(c, asked))
		return;
	hn_peer_unlisten(asked);
	if (!listen_again(c, &parent, 1, port) ||
	    !cf_send_error(c, asked, IB_EC_NO_CHILDREN_ACCEPTED) ||
	    !cf_wait_type(c, parent, IB_MSG_HELLO, 1, TREE_RECONNECT_MAX_MS + TREE_WAIT_MS))
		return;
	frames_text(child, mark, got, sizeof got);
	if (!cf_expect(c, !hn_peer_closed(child) && !got[0], "TREE-23",
		       "a client-mode root keeps its child, and sends it nothing, while it asks a "
		       "parent and after the parent refused it",
		       "its child %s%s%s%s%s",
		       hn_peer_closed(child) ? "was closed" : "stayed",
		       hn_peer_last(child, IB_MSG_ERROR) ? " with ERROR " : "",
		       hn_peer_last(child, IB_MSG_ERROR)
			       ? ib_error_code_name(hn_peer_last(child, IB_MSG_ERROR)->error_code)
			       : "",
		       got[0] ? "; it got " : "", got) ||
	    !expect_client_hello_self(c, parent))
		return;
	hn_peer_unlisten(parent);
	mark = hn_peer_received(child);
	/* The HELLO and a frame of the tree above in one go: no turn of the loop between. */
	cf_msg_publish(&m, "tree.join-order", 1, "from the tree above");
	if (hn_peer_send_hello(parent, IB_ROLE_SERVER, CF_KEEPALIVE_MS, NULL, 0) != IB_OK ||
	    hn_peer_send(parent, &m, NULL, NULL, false, NULL) != IB_OK) {
		cf_harness_error(c, "cannot answer HELLO");
		return;
	}
	if (!cf_wait_closed(c, child, IB_EC_NO_CHILDREN_ACCEPTED, "TREE-3", TREE_WAIT_MS))
		return;
	frames_text(child, mark, got, sizeof got);
	if (!cf_expect(c, !got[0], "TREE-23",
		       "on joining, a client-mode node closes its child before anything else: "
		       "the child gets the ERROR, and no PATH, ANNOUNCE or frame of the tree above",
		       "before the ERROR its child got %s", got))
		return;
	cf_expect(c, !hn_peer_closed(parent), "TREE-3",
		  "the parent link stays while the IUT closes its child", "it closed");
}

/* ---- [TREE-24] a PATH that changes nothing ----------------------------------------------- */

static bool send_announce(struct cf_ctx *c, struct hn_peer *p, const ib_id *parent,
			  struct ib_buf *frame)
{
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_ANNOUNCE;
	m.u.announce.parent = *parent;
	m.u.announce.role = IB_ROLE_SERVER;
	m.u.announce.name = (struct ib_slice){ (const uint8_t *)"tester", 6 };
	m.u.announce.software = (struct ib_slice){ (const uint8_t *)"interbot-conform", 16 };
	if (hn_peer_send(p, &m, NULL, NULL, false, frame) != IB_OK) {
		cf_harness_error(c, "cannot send ANNOUNCE");
		return false;
	}
	return true;
}

struct copy_wait {
	struct hn_peer *p;
	const struct ib_buf *frame;
};

static bool copy_arrived(void *arg)
{
	const struct copy_wait *w = arg;

	return cf_copies(w->p, w->frame->ptr, w->frame->len) > 0 || hn_peer_closed(w->p);
}

/* The parent sends PATH with the path it gave before: the IUT keeps the link and passes
 * nothing on (no PATH, no ANNOUNCE) for a change that did not happen. */
static bool expect_no_change(struct cf_ctx *c, struct hn_peer *parent, struct hn_peer *child,
			     const ib_id *const *path, size_t n, const char *when)
{
	size_t mark;
	char got[256];

	/* What the last change caused (PATH, the IUT's ANNOUNCE, [MAP-9]) comes first. */
	cf_run_for(c, 200);
	mark = hn_peer_received(child);
	if (!send_path(c, parent, path, n))
		return false;
	cf_run_for(c, 300);
	if (!cf_expect(c, !hn_peer_closed(parent), "TREE-24",
		       "a PATH from the parent that repeats the IUT's path keeps the link",
		       "the IUT closed it%s%s", hn_peer_last(parent, IB_MSG_ERROR) ? " with ERROR " : "",
		       hn_peer_last(parent, IB_MSG_ERROR)
			       ? ib_error_code_name(hn_peer_last(parent, IB_MSG_ERROR)->error_code)
			       : ""))
		return false;
	frames_text(child, mark, got, sizeof got);
	return cf_expect(c, !got[0], "TREE-24", when, "within 300 ms its child got %s", got);
}

/* [TREE-23] a receiver takes PATH and ANNOUNCE of its parent in either order. */
static bool expect_move(struct cf_ctx *c, struct hn_peer *parent, struct hn_peer *child,
			int above, bool path_first)
{
	const ib_id *sent[] = { cf_tester_id(c, above), cf_tester_id(c, 1) };
	const ib_id *want[] = { cf_tester_id(c, above), cf_tester_id(c, 1), cf_iut_id(c) };
	size_t mark = hn_peer_received(child);
	struct ib_buf frame = { 0 };
	struct copy_wait w = { child, &frame };
	bool ok;

	ok = path_first ? send_path(c, parent, sent, 2) &&
				  send_announce(c, parent, cf_tester_id(c, above), &frame)
			: send_announce(c, parent, cf_tester_id(c, above), &frame) &&
				  send_path(c, parent, sent, 2);
	ok = ok && expect_path(c, child, mark, want, 3, TREE_WAIT_MS, "TREE-23",
			       path_first ? "PATH then ANNOUNCE from the parent: the new path is "
					    "taken and sent on"
					  : "ANNOUNCE then PATH from the parent: the new path is "
					    "taken and sent on");
	if (ok) {
		cf_run_until(c, copy_arrived, &w, TREE_WAIT_MS);
		ok = cf_ok(c) &&
		     cf_expect(c, cf_copies(child, frame.ptr, frame.len) == 1, "TREE-23",
			       "the parent's ANNOUNCE is flooded on, whatever its order with PATH",
			       "its child got %zu copies of it",
			       cf_copies(child, frame.ptr, frame.len));
	}
	ib_buf_free(&frame);
	return ok;
}

static void test_redundant_path(struct cf_ctx *c)
{
	char addr[IB_MAX_ADDR];
	struct hn_peer *parent, *child;
	struct cf_iut_opts o;

	tree_opts(&o);
	if (!(parent = parent_peer(c, 1, &o, addr)) || !cf_iut_start(c, &o) ||
	    !cf_accept_child(c, parent, cf_tester_id(c, 2), 1))
		return;
	hn_peer_unlisten(parent);
	if (!(child = cf_peer(c, 0)) || !cf_link_child(c, child))
		return;
	settle_burst(c, child);
	{
		const ib_id *same[] = { cf_tester_id(c, 2), cf_tester_id(c, 1) };

		if (!expect_no_change(c, parent, child, same, 2,
				      "the parent repeats the path of its HELLO: the IUT's path did "
				      "not change, so it sends its child no PATH and no ANNOUNCE"))
			return;
	}
	if (!expect_move(c, parent, child, 3, true) || !expect_move(c, parent, child, 4, false))
		return;
	{
		const ib_id *same[] = { cf_tester_id(c, 4), cf_tester_id(c, 1) };

		expect_no_change(c, parent, child, same, 2,
				 "the parent repeats its last PATH: no PATH and no ANNOUNCE to the "
				 "child");
	}
}

/* ---- [TREE-25] names in parents ----------------------------------------------------------- */

/* RFC 6761: no name under .invalid resolves. */
#define NO_SUCH_HOST "no-such-host.invalid"

static uint64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* This machine's stream addresses of host, and how long the resolver took (real time). */
static struct addrinfo *resolve_here(const char *host, uint64_t *took_ms)
{
	struct addrinfo hints, *res = NULL;
	uint64_t t0 = real_ms();

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		res = NULL;
	*took_ms = real_ms() - t0;
	return res;
}

/* The first entry of parents is a name that does not resolve: a failed attempt, and the
 * second entry is tried at once, in the same round. */
static void test_parent_unresolvable(struct cf_ctx *c)
{
	char a1[IB_MAX_ADDR], bad[IB_MAX_ADDR];
	struct addrinfo *res;
	struct cf_iut_opts o;
	struct hn_peer *p;
	uint64_t took, started, at;

	if ((res = resolve_here(NO_SUCH_HOST, &took)) != NULL || took > 200) {
		if (res)
			freeaddrinfo(res);
		cf_not_applicable(c, "this machine's resolver %s %s: the test needs a name that "
				  "fails at once", res ? "resolves" : "took over 200 ms to refuse",
				  NO_SUCH_HOST);
		return;
	}
	tree_opts(&o);
	o.reconnect_min_ms = ROUND_MIN_MS;
	o.reconnect_max_ms = ROUND_MAX_MS;
	snprintf(bad, sizeof bad, "%s:9", NO_SUCH_HOST);
	o.parents[o.nparents++] = bad;
	if (!(p = parent_peer(c, 1, &o, a1)) || !cf_iut_start(c, &o))
		return;
	started = cf_now_ms(c);
	cf_run_until(c, got_hello, p, TREE_WAIT_MS);
	if (!cf_ok(c) ||
	    !cf_expect(c, hn_peer_count(p, IB_MSG_HELLO) == 1, "TREE-25",
		       "a first parents entry whose name does not resolve is a failed attempt: "
		       "the IUT goes on to the second entry in the same round",
		       "no HELLO at the second entry within %u ms", TREE_WAIT_MS))
		return;
	at = hn_peer_last(p, IB_MSG_HELLO)->at_us / 1000;
	cf_expect(c, at < started + ROUND_MIN_MS / 4, "TREE-25",
		  "the second entry at once after the name failed, with no wait (the shortest "
		  "wait is 200 ms)",
		  "its HELLO came %llu ms after it was ready", (unsigned long long)(at - started));
}

/* parents = localhost:PORT where localhost is ::1 first, then 127.0.0.1, and the parent
 * listens on 127.0.0.1 only: the IUT must try the second address of the name, at once. */
static void test_parent_name_addresses(struct cf_ctx *c)
{
	char addr[IB_MAX_ADDR], name[IB_MAX_ADDR], seen[256] = "";
	const char *parent_host = "localhost";
	bool v6_first = false, v4_after = false;
	struct addrinfo *res;
	struct cf_iut_opts o;
	struct hn_peer *p;
	uint64_t took, started, at;
	size_t used = 0;

	if ((res = resolve_here("localhost", &took)) != NULL) {
		v6_first = res->ai_family == AF_INET6;
		for (const struct addrinfo *ai = res; ai && used + 64 < sizeof seen;
		     ai = ai->ai_next) {
			char host[INET6_ADDRSTRLEN + 16];

			if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, NULL, 0,
					NI_NUMERICHOST) == 0)
				used += (size_t)snprintf(seen + used, sizeof seen - used, "%s%s",
							 used ? ", " : "", host);
			v4_after |= ai != res && ai->ai_family == AF_INET &&
				    ((const struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr ==
					    htonl(INADDR_LOOPBACK);
		}
		freeaddrinfo(res);
	}
	if (!v6_first || !v4_after) {
		/* A name of our own, with those two addresses in that order. */
		char why[300];

		if (!cf_private_hosts(c, "::1 interbot-conform-two\n"
					 "127.0.0.1 interbot-conform-two\n", why, sizeof why)) {
			cf_not_applicable(c, "this machine's resolver gives localhost as [%s], and "
					  "%s: the test needs a name that gives ::1 first and "
					  "127.0.0.1 after it", used ? seen : "nothing", why);
			return;
		}
		parent_host = "interbot-conform-two";
	}
	tree_opts(&o);
	o.reconnect_min_ms = ROUND_MIN_MS;
	o.reconnect_max_ms = ROUND_MAX_MS;
	if (!(p = cf_peer(c, 1)) || !cf_listen_parent(c, p, addr))
		return;
	snprintf(name, sizeof name, "%s:%u", parent_host, addr_port(addr));
	o.parents[o.nparents++] = name;
	if (!cf_iut_start(c, &o))
		return;
	started = cf_now_ms(c);
	cf_run_until(c, got_hello, p, TREE_WAIT_MS);
	if (!cf_ok(c) ||
	    !cf_expect(c, hn_peer_count(p, IB_MSG_HELLO) == 1, "TREE-25",
		       "the IUT tries every address of its parent's name: [::1] refuses, then "
		       "127.0.0.1, where its parent listens",
		       "no HELLO at 127.0.0.1 within %u ms", TREE_WAIT_MS))
		return;
	at = hn_peer_last(p, IB_MSG_HELLO)->at_us / 1000;
	cf_expect(c, at < started + ROUND_MIN_MS / 4, "TREE-25",
		  "the name's second address at once after the first refused, in the same "
		  "attempt (the shortest wait is 200 ms)",
		  "its HELLO came %llu ms after it was ready", (unsigned long long)(at - started));
}

/* [TREE-25] A name whose first address takes the connection: the IUT links there, and tries
 * no later address (127.0.0.3, where nothing listens). The name is given by a private
 * /etc/hosts (hosts.c). */
static void test_parent_name_first_address(struct cf_ctx *c)
{
	char addr[IB_MAX_ADDR], name[IB_MAX_ADDR], why[300];
	struct cf_iut_opts o;
	struct hn_peer *p;

	if (!cf_private_hosts(c, "127.0.0.1 interbot-conform-first\n"
				 "127.0.0.3 interbot-conform-first\n", why, sizeof why)) {
		cf_not_applicable(c, "%s", why);
		return;
	}
	tree_opts(&o);
	if (!(p = cf_peer(c, 1)) || !cf_listen_parent(c, p, addr))
		return;
	snprintf(name, sizeof name, "interbot-conform-first:%u", addr_port(addr));
	o.parents[o.nparents++] = name;
	if (!cf_iut_start(c, &o) || !cf_accept_child(c, p, NULL, 0))
		return;
	cf_pause(c, 500);
	cf_expect(c, !hn_peer_closed(p), "TREE-25",
		  "the first address of the parent's name takes the connection: the IUT links "
		  "there and stays", "the link closed (ERROR %s)",
		  hn_peer_last(p, IB_MSG_ERROR)
			  ? ib_error_code_name(hn_peer_last(p, IB_MSG_ERROR)->error_code) : "none");
}

/* [TREE-25] A name whose first address never answers the TCP connect (::1, where a full
 * listener drops SYNs; resolvers put ::1 before 127.0.0.1): when handshake_timeout_ms (10 s)
 * ends, the IUT tries the name's next address (127.0.0.1, same port), where its parent
 * listens, in the same attempt. */
#define NAME_CONNECT_TIMEOUT_MS 10000u

/* name: "label:port", where label is a host name this test's resolver gives as ::1 first,
 * then 127.0.0.1 (NOT-APPLICABLE, false, where the suite cannot set one up). */
static bool v6_then_v4_name(struct cf_ctx *c, const char *label, uint16_t port,
			    char name[IB_MAX_ADDR])
{
	char hosts[2 * IB_MAX_ADDR], why[300];

	snprintf(hosts, sizeof hosts, "::1 %s\n127.0.0.1 %s\n", label, label);
	if (!cf_private_hosts(c, hosts, why, sizeof why)) {
		cf_not_applicable(c, "%s", why);
		return false;
	}
	snprintf(name, IB_MAX_ADDR, "%s:%u", label, port);
	return true;
}

static void test_parent_name_next_after_timeout(struct cf_ctx *c)
{
	char addr[IB_MAX_ADDR], hole[IB_MAX_ADDR], name[IB_MAX_ADDR];
	int fds[CF_HOLE_FILL + 1] = { -1, -1, -1, -1 }, syn_before;
	struct cf_iut_opts o;
	struct hn_peer *p;

	tree_opts(&o);
	if (!(p = cf_peer(c, 1)) || !cf_listen_parent(c, p, addr))
		goto out;
	if (!cf_black_hole(c, fds, "::1", addr_port(addr), hole)) {
		cf_not_applicable(c, "cannot make [::1]:%u drop TCP connects", addr_port(addr));
		goto out;
	}
	if (!v6_then_v4_name(c, "interbot-conform-slow", addr_port(addr), name))
		goto out;
	o.parents[o.nparents++] = name;
	syn_before = cf_syn_sent_to(addr_port(addr), true);
	if (!cf_iut_start(c, &o))
		goto out;
	cf_run_until(c, got_hello, p, NAME_CONNECT_TIMEOUT_MS + TREE_WAIT_MS);
	if (!cf_ok(c) ||
	    !cf_expect(c, hn_peer_count(p, IB_MSG_HELLO) == 1, "TREE-25",
		       "a TCP connect to the name's first address that does not end within "
		       "handshake_timeout_ms is given up for the next address, where the parent "
		       "listens", "no HELLO at 127.0.0.1 within %u ms",
		       NAME_CONNECT_TIMEOUT_MS + TREE_WAIT_MS))
		goto out;
	/* Given up means closed: a connect left running keeps sending SYNs for minutes. (The
	 * harness's own sockets that fill the black hole are counted before.) */
	if (syn_before >= 0)
		cf_expect(c, cf_syn_sent_to(addr_port(addr), true) <= syn_before, "TREE-25",
			  "the connect given up is closed: no socket still sends SYNs to [::1]",
			  "%d sockets in SYN-SENT toward [::1]:%u, %d before the IUT started",
			  cf_syn_sent_to(addr_port(addr), true), addr_port(addr), syn_before);
out:
	cf_black_hole_close(fds);
}

/* Ports tried for a black hole on both loopback addresses. */
#define HOLE_TRIES 16

/* Both addresses of the first parents entry drop TCP connects: each gets its own
 * handshake_timeout_ms ([LINK-12], [TREE-25]), then the second entry is tried. A node that
 * times only the first address waits on the second for ever. */
static void test_parent_name_all_time_out(struct cf_ctx *c)
{
	char addr[IB_MAX_ADDR], hole6[IB_MAX_ADDR], hole4[IB_MAX_ADDR], name[IB_MAX_ADDR];
	int fds6[CF_HOLE_FILL + 1] = { -1, -1, -1, -1 }, fds4[CF_HOLE_FILL + 1] = { -1, -1, -1, -1 };
	uint32_t within = 2 * NAME_CONNECT_TIMEOUT_MS + TREE_WAIT_MS;
	struct cf_iut_opts o;
	struct hn_peer *p;

	tree_opts(&o);
	/* The port [::1] was given may be taken on 127.0.0.1 (by a connection of another test
	 * running beside this one): then another port. */
	for (int tries = 0; tries < HOLE_TRIES; tries++) {
		cf_black_hole_close(fds6);
		cf_black_hole_close(fds4);
		if (cf_black_hole(c, fds6, "::1", 0, hole6) &&
		    cf_black_hole(c, fds4, "127.0.0.1", addr_port(hole6), hole4))
			break;
		if (tries + 1 == HOLE_TRIES) {
			cf_not_applicable(c, "cannot make [::1] and 127.0.0.1 drop TCP connects on "
					  "one port (%d ports tried)", HOLE_TRIES);
			goto out;
		}
	}
	if (!v6_then_v4_name(c, "interbot-conform-void", addr_port(hole6), name))
		goto out;
	o.parents[o.nparents++] = name;
	if (!(p = parent_peer(c, 1, &o, addr)) || !cf_iut_start(c, &o))
		goto out;
	cf_run_until(c, got_hello, p, within);
	if (cf_ok(c))
		cf_expect(c, hn_peer_count(p, IB_MSG_HELLO) == 1, "TREE-25",
			  "each address of the first entry is given up after handshake_timeout_ms "
			  "(10 s each), then the second entry is tried",
			  "no HELLO at the second entry within %u ms", within);
out:
	cf_black_hole_close(fds6);
	cf_black_hole_close(fds4);
}

/* ---- [TREE-14] the reset at reconnect_max_ms, from both sides ---------------------------- */

/* Two parent links lost at once double the delay to 1600 (reconnect_max_ms); one lost a
 * little before reconnect_max_ms is a failed round from that delay; one lost a little after
 * is followed by a round at once and sets the delay back, so that the next failed round
 * waits from reconnect_min_ms again. */
static void test_reset_deadline(struct cf_ctx *c)
{
	uint32_t margin = cf_mode(c) == CF_MODE_SELF ? 20 : 200;
	char addr[IB_MAX_ADDR], expected[320];
	struct cf_iut_opts o;
	struct flapper f;
	uint64_t gap;

	tree_opts(&o);
	o.reconnect_min_ms = FLAP_MIN_MS;
	o.reconnect_max_ms = FLAP_MAX_MS;
	memset(&f, 0, sizeof f);
	if (!(f.cur = parent_peer(c, 1, &o, addr)))
		return;
	f.port = addr_port(addr);
	if (!cf_iut_start(c, &o))
		return;
	f.dropped_ms = cf_now_ms(c);
	if (!flap(c, &f, TREE_WAIT_MS, 0, &gap) ||
	    !flap(c, &f, FLAP_MIN_MS + TREE_WAIT_MS, 0, &gap) ||
	    !expect_wait(c, gap, FLAP_MIN_MS,
			 "a parent lost at once after the join: a wait in [200, 400] ms") ||
	    !flap(c, &f, 2 * FLAP_MIN_MS + TREE_WAIT_MS, FLAP_MAX_MS - margin, &gap) ||
	    !expect_wait(c, gap, 2 * FLAP_MIN_MS,
			 "a second such loss: a wait in [400, 800] ms, the delay now 1600"))
		return;
	/* That link was lost `margin` ms before reconnect_max_ms: a failed round. */
	if (!flap(c, &f, FLAP_MAX_MS + TREE_WAIT_MS, FLAP_MAX_MS + margin, &gap))
		return;
	snprintf(expected, sizeof expected,
		 "a parent link lost %u ms before reconnect_max_ms (1600) is a failed round: a "
		 "wait in [800, 1600] ms, the delay not reset", margin);
	if (!expect_wait(c, gap, FLAP_MAX_MS, expected))
		return;
	/* That one was lost `margin` ms after reconnect_max_ms: a round at once. */
	if (!flap(c, &f, TREE_WAIT_MS, 0, &gap))
		return;
	if (!cf_expect(c, gap < FLAP_MIN_MS / 2, "TREE-14",
		       "a parent link lost after reconnect_max_ms (1600 ms, here 1600 + margin): a "
		       "new round at once (under 200 ms, the shortest wait)",
		       "its HELLO came %llu ms after the drop (margin %u ms)",
		       (unsigned long long)gap, margin))
		return;
	if (!flap(c, &f, FLAP_MIN_MS + TREE_WAIT_MS, 0, &gap))
		return;
	expect_wait(c, gap, FLAP_MIN_MS,
		    "the link past reconnect_max_ms set the delay back: the next failed round "
		    "waits in [200, 400] ms");
}

const struct cf_test cf_tests_tree[] = {
	{ "tree.parents-in-order", "TREE-1 TREE-5 TREE-11", CF_NEEDS_CONFIG, test_parents_in_order,
	  "try the parents in order (skip one that refuses), then hold that one parent link only" },
	{ "tree.root-backoff", "TREE-2 TREE-13", CF_NEEDS_CONFIG | CF_SLOW, test_root_backoff,
	  "with no parent accepting, be a root that accepts children and retry with exponential "
	  "backoff between reconnect_min_ms and reconnect_max_ms, each wait drawn with jitter" },
	{ "tree.backoff-cap", "TREE-13", CF_NEEDS_CONFIG | CF_SLOW, test_backoff_cap,
	  "with reconnect_min_ms 390 and reconnect_max_ms 400, the doubled delay (780) is cut "
	  "to 400: every wait within [d/2, d]" },
	{ "tree.client-mode", "TREE-3", CF_NEEDS_CONFIG, test_client_mode,
	  "mode = client: accept children as a root, close them with no_children_accepted on "
	  "joining, refuse new ones while it has a parent" },
	{ "tree.hello-path-not-sender", "TREE-4", 0, test_hello_path_not_sender,
	  "close with protocol_violation a child whose HELLO path does not end with its own id" },
	{ "tree.child-in-own-path", "TREE-4 TREE-8", CF_NEEDS_CONFIG, test_child_in_own_path,
	  "close with loop_detected a child whose id is in the IUT's own path (before the "
	  "duplicate check)" },
	{ "tree.duplicate-identity", "TREE-8", 0, test_duplicate_identity,
	  "refuse a second link from an identity already linked (duplicate_identity), keep the "
	  "first" },
	{ "tree.client-checks", "TREE-5", CF_NEEDS_CONFIG, test_client_checks,
	  "as a client, close a parent whose HELLO path does not end with it (protocol_violation) "
	  "or holds the IUT's id (loop_detected)" },
	{ "tree.parent-is-own-child", "TREE-5 TREE-8", CF_NEEDS_CONFIG, test_parent_is_own_child,
	  "as a client, close with duplicate_identity a parent whose identity is one of the "
	  "IUT's children" },
	{ "tree.path-updates", "TREE-6 TREE-7 TREE-10 LINK-17 MAP-1", CF_NEEDS_CONFIG,
	  test_path_updates,
	  "send PATH to children on joining and on PATH from the parent; close a parent whose PATH "
	  "holds the IUT (loop_detected) and become a root" },
	{ "tree.path-too-long", "TREE-7", CF_NEEDS_CONFIG, test_path_too_long,
	  "take a PATH of 254 ids (a path of 255, the longest), and close with loop_detected a "
	  "parent whose PATH (255 ids) would make the IUT's path longer than 255" },
	{ "tree.parent-lost", "TREE-10 TREE-11", CF_NEEDS_CONFIG, test_parent_lost,
	  "on losing the parent: root at once, PATH to children, retry from the first address" },
	{ "tree.path-shrinks", "TREE-6 TREE-8", CF_NEEDS_CONFIG, test_path_shrinks,
	  "after the path shrinks from five ids to two, a tester that was in the old path links "
	  "as a child" },
	{ "tree.second-parent-lost", "TREE-10", CF_NEEDS_CONFIG, test_second_parent_lost,
	  "having lost the parent at the second address of parents, start again from the first" },
	{ "tree.second-parent-lost-early", "TREE-10 TREE-14", CF_NEEDS_CONFIG,
	  test_second_parent_lost_early,
	  "having lost the parent at the second address soon after joining, wait, then start "
	  "again from the first" },
	{ "tree.mutual-join", "TREE-9", CF_NEEDS_CONFIG, test_mutual_join,
	  "when X links as a child while the IUT's HELLO to X is pending, keep the link whose "
	  "client has the smaller id, close the other with duplicate_identity" },
	{ "tree.merge-after-partition", "TREE-2 TREE-6 TREE-10", CF_NEEDS_CONFIG,
	  test_merge_after_partition,
	  "cut from its parent, be a root; when the parent takes it back, rejoin with the subtree "
	  "and let frames flow across" },
	{ "tree.root-joins-iut", "TREE-3 FLOOD-1", 0, test_root_joins_iut,
	  "accept another root (a reference node with its own child) as a child and flood "
	  "frames between the two subtrees" },
	{ "tree.one-parent-at-a-time", "TREE-12 TREE-1", CF_NEEDS_CONFIG,
	  test_one_parent_at_a_time,
	  "while the attempt on one parent address is in progress, open no connection to the "
	  "next; try the next once it failed" },
	{ "tree.round-all-addresses", "TREE-13", CF_NEEDS_CONFIG, test_round_all_addresses,
	  "the first round at once; a round tries every parent address back to back; the backoff "
	  "is waited between rounds only" },
	{ "tree.backoff-rounds", "TREE-13 TREE-14", CF_NEEDS_CONFIG | CF_SLOW, test_backoff_rounds,
	  "a parent lost soon after the join is a failed round (wait, delay doubles); one lost "
	  "after reconnect_max_ms is followed by a round at once and resets the delay" },
	{ "tree.loop-rejoin-waits", "TREE-14 TREE-7", CF_NEEDS_CONFIG | CF_SLOW,
	  test_loop_rejoin_waits,
	  "a parent link closed for a loop is a failed round however long it lasted: wait "
	  "before rejoining, the delay doubling over loops in a row" },
	{ "tree.loop-round-from-first", "TREE-13 TREE-7 TREE-12", CF_NEEDS_CONFIG,
	  test_loop_round_from_first,
	  "parents A (refusing) then B: after a loop on B and the wait, the next round begins "
	  "at A again, not at B where the last round ended" },
	{ "tree.client-mode-pending", "TREE-15 TREE-16 TREE-3", CF_NEEDS_CONFIG,
	  test_client_mode_pending,
	  "mode = client: accept children while the parent's HELLO is awaited; on joining, close "
	  "every accepted connection, in HELLO-WAIT or TLS too" },
	{ "tree.full-path-server", "TREE-17", CF_NEEDS_CONFIG, test_full_path_server,
	  "with a path of 255 ids, refuse every child with loop_detected" },
	{ "tree.full-path-client", "TREE-18", CF_NEEDS_CONFIG, test_full_path_client,
	  "close with loop_detected a parent whose HELLO path holds 255 ids" },
	{ "tree.path-not-sender", "TREE-19 TREE-10", CF_NEEDS_CONFIG, test_path_not_sender,
	  "close with protocol_violation a parent whose PATH does not end with its own id, and "
	  "become a root" },
	{ "tree.path-not-sender-first", "TREE-19 TREE-7", CF_NEEDS_CONFIG,
	  test_path_not_sender_first,
	  "a parent's PATH that holds the IUT's id and ends with another tester: closed with "
	  "protocol_violation, not loop_detected ([TREE-19] is checked before [TREE-7])" },
	{ "tree.pending-connect-unknown", "TREE-20", CF_NEEDS_CONFIG, test_pending_connect_unknown,
	  "a client connection still in TLS (peer unknown) is no simultaneous link: children link "
	  "as usual and the connection stays" },
	{ "tree.child-hello-path", "TREE-21 TREE-4", 0, test_child_hello_path,
	  "close with protocol_violation a child whose HELLO path holds more than itself, though "
	  "it ends with it" },
	{ "tree.path-repeats", "TREE-22 TREE-5 TREE-7", CF_NEEDS_CONFIG, test_path_repeats,
	  "a parent's HELLO path or PATH that names a node twice is a loop: close with "
	  "loop_detected" },
	{ "tree.client-join-order", "TREE-23 TREE-3 TREE-21", CF_NEEDS_CONFIG,
	  test_client_join_order,
	  "mode = client: keep the children while asking a parent and when it refuses; once "
	  "taken, close them before sending them anything else" },
	{ "tree.redundant-path", "TREE-24 TREE-23 TREE-6", CF_NEEDS_CONFIG, test_redundant_path,
	  "accept a PATH that repeats the path and pass nothing on for it; take PATH and ANNOUNCE "
	  "of the parent in either order" },
	{ "tree.parent-unresolvable", "TREE-25", CF_NEEDS_CONFIG, test_parent_unresolvable,
	  "a parents name that does not resolve is a failed attempt: the next entry at once" },
	{ "tree.parent-name-first-address", "TREE-25", CF_NEEDS_CONFIG,
	  test_parent_name_first_address,
	  "the first address of the parent's name takes the connection: the IUT links there" },
	{ "tree.parent-name-next-after-timeout", "TREE-25", CF_NEEDS_CONFIG | CF_SLOW,
	  test_parent_name_next_after_timeout,
	  "a connect to the name's first address that never ends: after handshake_timeout_ms, "
	  "the next address" },
	{ "tree.parent-name-all-time-out", "TREE-25 LINK-12", CF_NEEDS_CONFIG | CF_SLOW,
	  test_parent_name_all_time_out,
	  "both addresses of the first entry drop TCP connects: each is given up after "
	  "handshake_timeout_ms, then the second entry is tried (20 s in cmd mode)" },
	{ "tree.parent-name-addresses", "TREE-25", CF_NEEDS_CONFIG, test_parent_name_addresses,
	  "a parents name is tried on every address it resolves to (localhost: ::1, then "
	  "127.0.0.1)" },
	{ "tree.reset-deadline", "TREE-14 TREE-13 TREE-21", CF_NEEDS_CONFIG | CF_SLOW,
	  test_reset_deadline,
	  "the delay doubles over lost links up to reconnect_max_ms; a link lost just before "
	  "reconnect_max_ms is a failed round, one lost just after a round at once and a reset" },
	{ NULL, NULL, 0, NULL, NULL }
};
