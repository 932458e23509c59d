/* t_hostile.c - what strangers and rogue members can make the IUT hold (spec sections 8 and
 * 20): each test attacks one bound and checks that an authorized peer is still served.
 *
 * The connection floods come from many source addresses: any address of 127.0.0.0/8 is this
 * host's on Linux, so they need an IUT that listens on an IPv4 loopback address (self and cmd
 * mode; in addr mode, one on this host). */
#include "cf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "net.h"

#define HOSTILE_LINK_MS 2000u       /* an authorized peer links, flood or not */
#define SETTLE_MS 1000u             /* the IUT has accepted, and closed what it refuses */

/* [LINK-15] the largest max_pending_per_source the spec allows, and what one source tries. */
#define PER_SOURCE_MAX 16u
#define ONE_SOURCE_CONNS 40u

/* [LINK-14] the largest max_pending the spec allows, and the sources of the flood: more
 * (the reference, holding 128, closes 322 of them, each lingering up to close_linger_ms). */
#define PENDING_MAX 256u
#define MANY_SOURCES 450u

static bool iut_on_ipv4_loopback(struct cf_ctx *c)
{
	struct in_addr a4;

	return inet_pton(AF_INET, cf_iut_host(c), &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

/* The IUT closed fd: EOF, or a reset. Never blocks. */
static bool closed_by_iut(int fd)
{
	uint8_t b;
	ssize_t k = recv(fd, &b, 1, MSG_DONTWAIT);

	return k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* n TCP connections to the IUT that never send a byte, from src (or, with src NULL, from
 * 127.0.2.1 on, one address each), made one at a time so that the IUT accepts them in this
 * order. */
static bool idle_connections(struct cf_ctx *c, const char *src, int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fds[i] = -1;
	for (size_t i = 0; i < n; i++) {
		char from[INET_ADDRSTRLEN];

		if (src)
			snprintf(from, sizeof from, "%s", src);
		else
			snprintf(from, sizeof from, "127.0.%zu.%zu", 2 + i / 250, 1 + i % 250);
		if (hn_connect_from(from, cf_iut_host(c), cf_iut_port(c), &fds[i]) != IB_OK) {
			cf_harness_error(c, "cannot connect from %s: %s", from, strerror(errno));
			return false;
		}
		cf_run_for(c, 1);
	}
	cf_run_for(c, SETTLE_MS);
	return true;
}

/* One address opens 40 connections and sends nothing: the IUT keeps at most 16 of them
 * (closing the others at once), at least one, and a member from another address links. */
static void test_pending_one_source(struct cf_ctx *c)
{
	int fds[ONE_SOURCE_CONNS];
	struct hn_peer *t1;
	size_t held = 0;

	for (size_t i = 0; i < ONE_SOURCE_CONNS; i++)
		fds[i] = -1;
	if (!iut_on_ipv4_loopback(c)) {
		cf_not_applicable(c, "the IUT does not listen on an IPv4 loopback address");
		return;
	}
	if (!cf_iut_start(c, NULL) || !idle_connections(c, "127.0.0.2", fds, ONE_SOURCE_CONNS))
		goto out;
	for (size_t i = 0; i < ONE_SOURCE_CONNS; i++)
		held += !closed_by_iut(fds[i]);
	if (!cf_expect(c, held >= 1 && held <= PER_SOURCE_MAX, "LINK-15",
		       "of 40 idle connections from one address, the IUT holds between 1 and 16 "
		       "(max_pending_per_source) and closes the others at once",
		       "it holds %zu after %u ms", held, SETTLE_MS))
		goto out;
	if (!(t1 = cf_peer(c, 1)))
		goto out;
	cf_link_child(c, t1);
out:
	close_all(fds, ONE_SOURCE_CONNS);
}

/* [IFACE-21] bounds a test sets: a node that takes them holds them exactly. */
#define SET_PER_SOURCE 3u
#define SET_PENDING 20u
#define SET_ONE_SOURCE_CONNS 6u     /* twice the bound, from one address */
#define SET_SOURCES 25u             /* more than the bound, one connection each */

static size_t held_of(const int *fds, size_t n)
{
	size_t held = 0;

	for (size_t i = 0; i < n; i++)
		held += fds[i] >= 0 && !closed_by_iut(fds[i]);
	return held;
}

/* With max_pending_per_source = 3 and max_pending = 20 in node.conf, and three children
 * linked from 127.0.0.1 (linked, so not pending), the IUT holds exactly 3 of 6 idle
 * connections from 127.0.0.1 too, then, as 25 more addresses connect, exactly 20 pending
 * connections: a bound it was given, not one more or one less, counting only connections
 * whose HELLO exchange is not complete ([LINK-14]). */
static void test_pending_bounds_set(struct cf_ctx *c)
{
	int one[SET_ONE_SOURCE_CONNS], many[SET_SOURCES];
	struct cf_iut_opts o = { 0 };
	struct hn_peer *t;
	size_t held;
	int bounded;

	for (size_t i = 0; i < SET_ONE_SOURCE_CONNS; i++)
		one[i] = -1;
	for (size_t i = 0; i < SET_SOURCES; i++)
		many[i] = -1;
	if (!iut_on_ipv4_loopback(c)) {
		cf_not_applicable(c, "the IUT does not listen on an IPv4 loopback address");
		return;
	}
	bounded = cf_iut_start_with(c, &o, "max_pending = 20\nmax_pending_per_source = 3\n");
	if (bounded <= 0) {
		if (bounded == 0)
			cf_not_applicable(c, "the IUT refuses max_pending and max_pending_per_source "
					  "([IFACE-8]): hostile.pending-one-source and "
					  "hostile.pending-many-sources test its own bounds");
		goto out;
	}
	for (int i = 1; i <= (int)SET_PER_SOURCE; i++)
		if (!(t = cf_peer(c, i)) || !cf_link_child(c, t))
			goto out;
	if (!idle_connections(c, "127.0.0.1", one, SET_ONE_SOURCE_CONNS))
		goto out;
	held = held_of(one, SET_ONE_SOURCE_CONNS);
	if (!cf_expect(c, held == SET_PER_SOURCE, "IFACE-21",
		       "with max_pending_per_source = 3 and three children linked from 127.0.0.1, "
		       "the IUT holds exactly 3 of 6 idle connections from 127.0.0.1 ([LINK-15]: "
		       "linked children are not pending)", "it holds %zu after %u ms",
		       held, SETTLE_MS))
		goto out;
	for (size_t i = 0; i < SET_SOURCES; i++) {
		char from[INET_ADDRSTRLEN];

		snprintf(from, sizeof from, "127.0.3.%zu", 1 + i);
		if (hn_connect_from(from, cf_iut_host(c), cf_iut_port(c), &many[i]) != IB_OK) {
			cf_harness_error(c, "cannot connect from %s: %s", from, strerror(errno));
			goto out;
		}
		cf_run_for(c, 1);
	}
	cf_run_for(c, SETTLE_MS);
	held = held_of(one, SET_ONE_SOURCE_CONNS) + held_of(many, SET_SOURCES);
	cf_expect(c, held == SET_PENDING, "IFACE-21",
		  "with max_pending = 20, 3 connections of one address then 25 of 25 others: the "
		  "IUT holds exactly 20 pending connections ([LINK-14], the oldest closed for the "
		  "newest, [LINK-16])", "it holds %zu after %u ms", held, SETTLE_MS);
out:
	close_all(one, SET_ONE_SOURCE_CONNS);
	close_all(many, SET_SOURCES);
}

/* 450 addresses open a connection each and send nothing: the IUT holds at most 256
 * (max_pending), at least 16; the ones it closed are the oldest ([LINK-16]: each new one
 * took the place of the oldest); and a member still links. */
/* [LINK-17] a PATH from a child, which the IUT must close with protocol_violation. */
static bool send_child_path(struct cf_ctx *c, struct hn_peer *p)
{
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PATH;
	m.u.path = (struct ib_path){ 1, ib_identity_id(hn_peer_identity(p))->b };
	if (hn_peer_send(p, &m, NULL, NULL, false, NULL) != IB_OK) {
		cf_harness_error(c, "cannot send PATH");
		return false;
	}
	return true;
}

static void test_pending_many_sources(struct cf_ctx *c)
{
	int fds[MANY_SOURCES];
	struct hn_peer *t1, *t2;
	size_t held = 0, first_held = MANY_SOURCES, last_closed = 0;
	int fds_before, fds_after;

	for (size_t i = 0; i < MANY_SOURCES; i++)
		fds[i] = -1;
	if (!iut_on_ipv4_loopback(c)) {
		cf_not_applicable(c, "the IUT does not listen on an IPv4 loopback address");
		return;
	}
	if (!cf_iut_start(c, NULL) || !(t2 = cf_peer(c, 2)) || !cf_link_child(c, t2))
		goto out;
	fds_before = cf_iut_open_fds(c);
	if (!idle_connections(c, NULL, fds, MANY_SOURCES))
		goto out;
	/* [LINK-19] The strangers it closed never close their side: they linger, more than a
	 * node may keep lingering at once. T2, linked before them, sends PATH: the ERROR that
	 * closes its link must reach it all the same. */
	if (!send_child_path(c, t2) ||
	    !cf_wait_closed(c, t2, IB_EC_PROTOCOL_VIOLATION, "LINK-19", HOSTILE_LINK_MS))
		goto out;
	for (size_t i = 0; i < MANY_SOURCES; i++) {
		if (closed_by_iut(fds[i])) {
			last_closed = i + 1;
			continue;
		}
		held++;
		if (first_held == MANY_SOURCES)
			first_held = i;
	}
	if (!cf_expect(c, held >= 16 && held <= PENDING_MAX, "LINK-14",
		       "of 450 idle connections from 450 addresses, the IUT holds between 16 and "
		       "256 (max_pending)", "it holds %zu after %u ms", held, SETTLE_MS) ||
	    !cf_expect(c, last_closed <= first_held, "LINK-16",
		       "the connections the IUT closed to make room are the oldest: every one it "
		       "holds came after every one it closed",
		       "it closed connection %zu (of 450, in the order made) and holds connection "
		       "%zu", last_closed, first_held + 1))
		goto out;
	if (!(t1 = cf_peer(c, 1)) || !cf_link_child(c, t1))
		goto out;
	/* [LINK-18] The flood ends: every connection the IUT closed, lingering or not (more
	 * than a node may keep lingering at once), and every one it held, is given back. */
	close_all(fds, MANY_SOURCES);
	cf_run_for(c, SETTLE_MS);
	fds_after = cf_iut_open_fds(c);
	/* In self mode the process also holds this test's own end of T1's connection. */
	if (cf_mode(c) == CF_MODE_SELF)
		fds_after--;
	if (fds_before >= 0 && fds_after >= 0)
		cf_expect(c, fds_after <= fds_before + 1, "LINK-18",
			  "once the 450 strangers have closed, the IUT holds the descriptors it held "
			  "before them (and T1's link)",
			  "it holds %d descriptors, %d before", fds_after, fds_before);
	return;
out:
	close_all(fds, MANY_SOURCES);
}

/* [LINK-14] [LINK-16] A member joins while the flood goes on: strangers keep connecting, one
 * every 2 ms from a new address each, during T1's whole TLS handshake and HELLO exchange. */
#define DURING_RATE_PER_MS 2u       /* ms between strangers: 500 a second */
#define DURING_MAX 1000u            /* at most, over HOSTILE_LINK_MS */

struct flood_during {
	struct cf_ctx *c;
	struct hn_peer *p;
	int *fds;
	size_t made;
	uint64_t start_ms;
	bool failed;
	bool hello_sent;
};

/* Opens the strangers due by now; true once T1 has its HELLO answered (or lost its link). */
static bool join_while_flooding(void *arg)
{
	struct flood_during *w = arg;
	uint64_t due = (cf_now_ms(w->c) - w->start_ms) / DURING_RATE_PER_MS + 1;

	while (!w->failed && w->made < due && w->made < DURING_MAX) {
		char from[32];          /* room for any size_t: gcc -O1 with -fsanitize checks it */

		snprintf(from, sizeof from, "127.0.%zu.%zu", 20 + w->made / 250, 1 + w->made % 250);
		if (hn_connect_from(from, cf_iut_host(w->c), cf_iut_port(w->c),
				    &w->fds[w->made]) != IB_OK) {
			cf_harness_error(w->c, "cannot connect from %s: %s", from, strerror(errno));
			w->failed = true;
		}
		w->made++;
	}
	if (w->failed || hn_peer_closed(w->p))
		return true;
	if (!w->hello_sent && hn_peer_tls_open(w->p)) {
		w->failed = hn_peer_send_hello(w->p, IB_ROLE_SERVER, 30000, NULL, 0) != IB_OK;
		w->hello_sent = true;
	}
	return hn_peer_count(w->p, IB_MSG_HELLO) > 0;
}

/* 300 strangers fill the IUT's pending connections first; then T1 connects, and strangers go
 * on connecting at 500 a second until T1's HELLO is answered. Evicting the oldest ([LINK-16])
 * makes room for T1 and keeps it while it is younger than max_pending strangers: T1 links
 * within 2 s (the time and the strangers that came meanwhile are noted). */
static void test_join_during_flood(struct cf_ctx *c)
{
	int before[MANY_SOURCES], *during = calloc(DURING_MAX, sizeof *during);
	struct flood_during w = { 0 };
	uint64_t took;

	for (size_t i = 0; i < MANY_SOURCES; i++)
		before[i] = -1;
	for (size_t i = 0; during && i < DURING_MAX; i++)
		during[i] = -1;
	if (!during) {
		cf_harness_error(c, "out of memory");
		return;
	}
	if (!iut_on_ipv4_loopback(c)) {
		cf_not_applicable(c, "the IUT does not listen on an IPv4 loopback address");
		goto out;
	}
	if (!cf_iut_start(c, NULL) || !idle_connections(c, NULL, before, 300) ||
	    !(w.p = cf_peer(c, 1)))
		goto out;
	w = (struct flood_during){ c, w.p, during, 0, cf_now_ms(c), false, false };
	if (hn_peer_connect_to(w.p, cf_iut_host(c), cf_iut_port(c)) != IB_OK) {
		cf_harness_error(c, "cannot connect to %s:%u", cf_iut_host(c), cf_iut_port(c));
		goto out;
	}
	if (!cf_wait(c, join_while_flooding, &w, HOSTILE_LINK_MS, "T1 links while strangers "
		     "connect at 500 a second") || w.failed)
		goto out;
	took = cf_now_ms(c) - w.start_ms;
	cf_note(c, "T1 linked in %llu ms, while %zu strangers connected (after 300 before it)",
		(unsigned long long)took, w.made);
	cf_expect(c, hn_peer_count(w.p, IB_MSG_HELLO) > 0 && !hn_peer_closed(w.p), "LINK-16",
		  "a member that connects while strangers keep filling the pending connections "
		  "(500 a second from new addresses) links within 2 s: the oldest strangers make "
		  "room for it", "its link %s (%s)", hn_peer_closed(w.p) ? "closed" : "is open",
		  hn_peer_failure(w.p)[0] ? hn_peer_failure(w.p) : "no HELLO answered");
out:
	close_all(before, MANY_SOURCES);
	if (during)
		close_all(during, DURING_MAX);
	free(during);
}

/* [LINK-18] How many times a member links and leaves, and a stranger fails its handshake; and
 * what the IUT's resident memory may grow by over them. A node that kept what a closed
 * connection held would grow by megabytes: a TLS object alone is tens of kB. */
#define COME_AND_GO_ROUNDS 200u
#define COME_AND_GO_RSS_SLACK_KB 2048L

static bool peer_closed(void *arg)
{
	return hn_peer_closed(arg);
}

/* One connection that comes and goes: tester (a member: TLS, HELLO answered, then gone) or,
 * with tester CF_STRANGER, a key the IUT does not know (its handshake fails). */
static bool come_and_go(struct cf_ctx *c, int tester)
{
	struct hn_peer *p = NULL;
	bool ok = false;

	if (hn_peer_new_as(&p, cf_loop(c), cf_suite_keyring(c), cf_tester_identity(c, tester)) !=
	    IB_OK) {
		cf_harness_error(c, "cannot make a peer");
		return false;
	}
	if (tester != CF_STRANGER)
		ok = cf_link_child(c, p);
	else if (hn_peer_connect_to(p, cf_iut_host(c), cf_iut_port(c)) != IB_OK)
		cf_harness_error(c, "cannot connect to %s:%u", cf_iut_host(c), cf_iut_port(c));
	else
		ok = cf_wait(c, peer_closed, p, HOSTILE_LINK_MS,
			     "the IUT ends a stranger's handshake");
	hn_peer_free(p);
	return ok;
}

/* Members 1 to 7 in turn link and leave, and strangers fail their handshake, 200 times each:
 * the IUT's descriptors come back to what they were and its memory stays within 2 MB. A
 * first round of each is in the baseline, for what a node allocates once (caches). */
static void test_come_and_go(struct cf_ctx *c)
{
	int fds_before, fds_after;
	long rss_before, rss_after;

	if (!cf_iut_start(c, NULL) || !come_and_go(c, 1) || !come_and_go(c, CF_STRANGER))
		return;
	cf_run_for(c, SETTLE_MS);
	fds_before = cf_iut_open_fds(c);
	rss_before = cf_iut_rss_kb(c);
	/* Where they cannot be seen (addr mode), the rounds still check that every member
	 * links and every stranger is refused, to the last. */
	if (fds_before < 0 && rss_before < 0)
		cf_note(c, "the IUT's descriptors and memory cannot be seen from here: only the "
			"links are checked");
	for (unsigned i = 0; i < COME_AND_GO_ROUNDS; i++)
		if (!come_and_go(c, 1 + (int)(i % 7)) || !come_and_go(c, CF_STRANGER))
			return;
	cf_run_for(c, SETTLE_MS);
	fds_after = cf_iut_open_fds(c);
	rss_after = cf_iut_rss_kb(c);
	if (fds_before >= 0 && fds_after >= 0 &&
	    !cf_expect(c, fds_after <= fds_before, "LINK-18",
		       "after 200 members' links and 200 strangers' handshakes have come and gone, "
		       "the IUT holds the descriptors it held before",
		       "it holds %d descriptors, %d before", fds_after, fds_before))
		return;
	if (rss_before >= 0 && rss_after >= 0)
		cf_expect(c, rss_after < rss_before + COME_AND_GO_RSS_SLACK_KB, "LINK-18",
			  "after 200 members' links and 200 strangers' handshakes have come and "
			  "gone, the IUT's resident memory is what it was (within 2 MB)",
			  "it grew from %ld to %ld kB", rss_before, rss_after);
}

/* ---- [LINK-12] [KA-8] [KA-9] bytes that trickle in move no deadline ---------------------- */

#define TRICKLE_STEP_MS 100u        /* one byte this often */
#define SETUP_TIMEOUT_MS 10000u     /* handshake_timeout_ms and hello_timeout_ms (section 18) */
#define TRICKLE_KA_MS 300u          /* keepalive_interval_ms and keepalive_timeout_ms */
#define TRICKLE_FRAME_MSG 60000u    /* the message a trickled frame announces: never whole */

/* Timers on real time fire late, never early. */
static uint32_t late_slack_ms(struct cf_ctx *c)
{
	return cf_mode(c) == CF_MODE_SELF ? 5u : 1500u;
}

/* One connection fed a byte every TRICKLE_STEP_MS: a tester's (after TLS) or, with p NULL, a
 * raw TCP socket's. bytes are sent first, then zeros. */
struct trickle {
	struct hn_peer *p;
	int fd;
	const uint8_t *bytes;
	size_t len, sent;
	bool closed;
};

static bool trickle_closed(void *arg)
{
	struct trickle *t = arg;

	if (!t->closed)
		t->closed = t->p ? hn_peer_closed(t->p) : closed_by_iut(t->fd);
	return t->closed;
}

/* Trickles until the IUT closes the connection (true, *after_ms the time it took) or
 * within_ms have passed (false). */
static bool trickle_until_closed(struct cf_ctx *c, struct trickle *t, uint32_t within_ms,
				 uint64_t *after_ms)
{
	uint64_t start = cf_now_ms(c);

	while (!trickle_closed(t) && cf_now_ms(c) - start < within_ms) {
		uint8_t b = t->sent < t->len ? t->bytes[t->sent] : 0;
		int ok = t->p ? hn_peer_send_raw(t->p, &b, 1) == IB_OK
			      : send(t->fd, &b, 1, MSG_NOSIGNAL) == 1;

		/* A send that fails is a connection the IUT closed: the next check sees it. */
		t->sent += ok ? 1 : 0;
		cf_run_until(c, trickle_closed, t, TRICKLE_STEP_MS);
		if (!cf_ok(c))
			return false;
	}
	*after_ms = cf_now_ms(c) - start;
	return trickle_closed(t);
}

/* Waits for a connect in progress on fd to complete (loopback: at once). */
static bool connected(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t len = sizeof err;

	return poll(&pfd, 1, 1000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
	       err == 0;
}

/* The first bytes of a frame of origin announcing msg_len bytes of message. */
static size_t frame_start_of(const ib_id *origin, uint32_t msg_len, uint8_t *out)
{
	memcpy(out, origin, IB_ID_LEN);
	out[IB_ID_LEN] = 0;
	out[IB_ID_LEN + 1] = IB_SIG_LEN;
	out[IB_ID_LEN + 2] = (uint8_t)(msg_len >> 16);
	out[IB_ID_LEN + 3] = (uint8_t)(msg_len >> 8);
	out[IB_ID_LEN + 4] = (uint8_t)msg_len;
	return IB_ID_LEN + 5;
}

static size_t frame_start(const ib_id *origin, uint8_t *out)
{
	return frame_start_of(origin, TRICKLE_FRAME_MSG, out);
}

/* [LINK-12] A TCP connection (from its own address where it can) sends a TLS record header
 * and the start of a ClientHello, then a byte every 100 ms: the handshake timer expires all
 * the same, 10 s after the accept. A node whose timer is re-armed by each byte never closes
 * it. */
static void test_slowloris_tls(struct cf_ctx *c)
{
	/* handshake record of 512 bytes, ClientHello of 508, legacy_version 3.3 */
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc,
					 0x03, 0x03 };
	struct trickle t = { NULL, -1, hello, sizeof hello, 0, false };
	uint64_t after = 0;
	int err;

	if (!cf_iut_start(c, NULL))
		return;
	/* Its own source, where it can: max_pending_per_source may be 1 ([LINK-15]). */
	err = hn_connect_from(iut_on_ipv4_loopback(c) ? "127.0.0.3" : "0.0.0.0", cf_iut_host(c),
			      cf_iut_port(c), &t.fd);
	if (err == IB_OK && !connected(t.fd))
		err = IB_ERR_IO;
	if (err != IB_OK) {
		cf_harness_error(c, "cannot connect to the IUT: %s", strerror(errno));
		return;
	}
	if (!trickle_until_closed(c, &t, SETUP_TIMEOUT_MS + late_slack_ms(c), &after) && cf_ok(c))
		cf_expect(c, false, "LINK-12",
			  "a connection that sends its ClientHello one byte every 100 ms is closed "
			  "when handshake_timeout_ms (10 s) expires, as a silent one is",
			  "it was still open after %llu ms and %zu bytes", (unsigned long long)after,
			  t.sent);
	close(t.fd);
}

/* [LINK-12] T1 completes TLS, then sends the start of a frame (its HELLO, as far as the IUT
 * can tell) a byte every 100 ms: the HELLO timer expires all the same, 10 s after TLS, and
 * the IUT closes with protocol_violation. */
static void test_slowloris_hello(struct cf_ctx *c)
{
	uint8_t start[IB_ID_LEN + 5];
	struct trickle t = { NULL, -1, start, 0, 0, false };
	const struct hn_got *err;
	uint64_t after = 0;

	if (!cf_iut_start(c, NULL) || !(t.p = cf_peer(c, 1)) || !cf_connect(c, t.p))
		return;
	t.len = frame_start(cf_tester_id(c, 1), start);
	if (!trickle_until_closed(c, &t, SETUP_TIMEOUT_MS + late_slack_ms(c), &after)) {
		if (cf_ok(c))
			cf_expect(c, false, "LINK-12",
				  "a link that sends its first frame one byte every 100 ms after TLS "
				  "is closed when hello_timeout_ms (10 s) expires, as a silent one is",
				  "it was still open after %llu ms and %zu bytes",
				  (unsigned long long)after, t.sent);
		return;
	}
	err = hn_peer_last(t.p, IB_MSG_ERROR);
	cf_expect(c, err && err->error_code == IB_EC_PROTOCOL_VIOLATION, "LINK-12",
		  "the HELLO timer expired: the IUT closes with ERROR protocol_violation",
		  err ? "it closed with ERROR %s" : "it closed without an ERROR frame",
		  err ? ib_error_code_name(err->error_code) : "");
}

/* [KA-8] A child linked to the IUT (interval and timeout 300 ms) answers no PING: it sends
 * the start of a long frame, then a byte every 100 ms. Part of a frame is no PONG: the IUT
 * closes with keepalive_timeout once the first PING's deadline has passed (before 900 ms). */
static void test_trickled_frame_child(struct cf_ctx *c)
{
	uint8_t start[IB_ID_LEN + 5];
	struct trickle t = { NULL, -1, start, 0, 0, false };
	struct cf_iut_opts o = { 0 };
	uint64_t after = 0;

	o.keepalive_interval_ms = TRICKLE_KA_MS;
	o.keepalive_timeout_ms = TRICKLE_KA_MS;
	if (!cf_iut_start(c, &o) || !(t.p = cf_peer(c, 1)))
		return;
	hn_peer_auto_pong(t.p, false);
	if (!cf_link_child(c, t.p))
		return;
	t.len = frame_start(cf_tester_id(c, 1), start);
	if (!trickle_until_closed(c, &t, 3 * TRICKLE_KA_MS + late_slack_ms(c), &after)) {
		if (cf_ok(c))
			cf_expect(c, false, "KA-8",
				  "a child that answers no PING, sending a frame one byte every 100 ms "
				  "instead, is closed before 900 ms (the first PING at 300, its "
				  "deadline at 600, the close within another 300)",
				  "it was still open after %llu ms and %zu bytes (%zu PINGs sent to it)",
				  (unsigned long long)after, t.sent, hn_peer_count(t.p, IB_MSG_PING));
		return;
	}
	cf_wait_closed(c, t.p, IB_EC_KEEPALIVE_TIMEOUT, "KA-4", 0);
}

/* [KA-9] The IUT's parent announces a 300 ms interval, sends no PING, and trickles the start
 * of a long frame a byte every 100 ms: only a PING moves the child's silence limit, so the
 * IUT closes with keepalive_timeout before 1,200 ms (three intervals, then one more). */
static void test_trickled_frame_parent(struct cf_ctx *c)
{
	uint8_t start[IB_ID_LEN + 5];
	struct trickle t = { NULL, -1, start, 0, 0, false };
	struct cf_iut_opts o = { 0 };
	char addr[IB_MAX_ADDR];
	uint64_t after = 0;

	if (!cf_iut_start_toward(c, &o, 1, &t.p, addr) ||
	    !cf_wait_type(c, t.p, IB_MSG_HELLO, 1, HOSTILE_LINK_MS))
		return;
	if (hn_peer_send_hello(t.p, IB_ROLE_SERVER, TRICKLE_KA_MS, NULL, 0) != IB_OK) {
		cf_harness_error(c, "cannot answer HELLO");
		return;
	}
	hn_peer_unlisten(t.p);
	t.len = frame_start(cf_tester_id(c, 1), start);
	if (!trickle_until_closed(c, &t, 4 * TRICKLE_KA_MS + late_slack_ms(c), &after)) {
		if (cf_ok(c))
			cf_expect(c, false, "KA-9",
				  "a child whose parent sends no PING, only a frame one byte every "
				  "100 ms, closes the link before 1,200 ms (the silence limit of three "
				  "300 ms intervals, then one more)",
				  "it was still open after %llu ms and %zu bytes",
				  (unsigned long long)after, t.sent);
		return;
	}
	cf_wait_closed(c, t.p, IB_EC_KEEPALIVE_TIMEOUT, "KA-5", 0);
}

/* ---- [LINK-18] [KA-8] frames of the largest size, begun and never ended ------------------- */

#define HELD_LINKS 6u               /* children T1..T6, each in the middle of a frame */
#define HELD_WITNESS 7              /* T7, a child that answers every PING */
#define HELD_KA_MS 2000u            /* keepalive_interval_ms and keepalive_timeout_ms */
#define HELD_SHORT 4096u            /* bytes each frame lacks: it is never whole */
#define HELD_CHUNK (256u * 1024u)   /* raw bytes handed to a peer at once */
#define HELD_READ_MS 300u           /* for the IUT to read what its sockets hold */
#define HELD_RSS_SLACK_KB 8192L     /* what the IUT may keep once the links have ended */

struct held {
	struct hn_peer *p[HELD_LINKS];
	size_t sent[HELD_LINKS];
	size_t total;               /* bytes of each frame to send: all but HELD_SHORT */
	uint8_t start[HELD_LINKS][IB_ID_LEN + 5]; /* each frame's header, its peer the origin */
	size_t start_len;
};

static bool held_all_closed(void *arg)
{
	const struct held *h = arg;

	for (size_t i = 0; i < HELD_LINKS; i++)
		if (!hn_peer_closed(h->p[i]))
			return false;
	return true;
}

/* Hands each open peer its next chunk of the frame, where its last one has left; true once
 * every frame has been handed out whole (all but HELD_SHORT) or its link has closed. */
static bool held_feed(struct held *h)
{
	static const uint8_t zeros[HELD_CHUNK];
	bool done = true;

	for (size_t i = 0; i < HELD_LINKS; i++) {
		size_t n = h->total - h->sent[i];
		const uint8_t *bytes = zeros;

		if (n == 0 || hn_peer_closed(h->p[i]))
			continue;
		done = false;
		if (hn_peer_unsent(h->p[i]) >= HELD_CHUNK)
			continue;
		if (h->sent[i] == 0) {
			bytes = h->start[i];
			n = h->start_len;
		} else if (n > HELD_CHUNK) {
			n = HELD_CHUNK;
		}
		/* A send that fails is a link the IUT closed: the next turn sees it. */
		if (hn_peer_send_raw(h->p[i], bytes, n) == IB_OK)
			h->sent[i] += n;
	}
	return done;
}

/* Six children each send all but the last 4 KiB of a frame of the largest size the IUT
 * takes (its max_message, 16 MiB by default), and answer no PING; T7 answers every PING.
 * The IUT closes the six with keepalive_timeout at their first PING's deadline ([KA-8]: part
 * of a frame is no PONG), keeps T7, and gives back what the frames held ([LINK-18]): its
 * resident memory comes back within 8 MB of what it was (cmd mode, where it can be seen;
 * the peak is noted). */
static void test_big_frames_held(struct cf_ctx *c)
{
	struct held h = { 0 };
	struct cf_iut_opts o = { 0 };
	struct hn_peer *witness;
	struct ib_msg hello;
	long rss_before, rss_held, rss_after;
	uint64_t linked, fed;
	size_t pings;

	o.keepalive_interval_ms = HELD_KA_MS;
	o.keepalive_timeout_ms = HELD_KA_MS;
	if (!cf_iut_start(c, &o) || !(witness = cf_peer(c, HELD_WITNESS)) ||
	    !cf_link_child(c, witness))
		return;
	if (!cf_hello_of(witness, &hello)) {
		cf_harness_error(c, "T7 has no HELLO of the IUT to read its max_message from");
		return;
	}
	rss_before = cf_iut_rss_kb(c);
	for (size_t i = 0; i < HELD_LINKS; i++) {
		if (!(h.p[i] = cf_peer(c, 1 + (int)i)))
			return;
		hn_peer_auto_pong(h.p[i], false);
		if (!cf_link_child(c, h.p[i]))
			return;
		hn_peer_tap_raw(h.p[i], false);
		h.start_len = frame_start_of(cf_tester_id(c, 1 + (int)i), hello.u.hello.max_message,
					     h.start[i]);
	}
	linked = cf_now_ms(c);
	h.total = h.start_len + IB_SIG_LEN + hello.u.hello.max_message - HELD_SHORT;
	cf_note(c, "T1 to T6 each send %zu of the %zu bytes of a frame (max_message %u); these "
		"bytes are not in this transcript", h.total,
		h.start_len + IB_SIG_LEN + (size_t)hello.u.hello.max_message,
		hello.u.hello.max_message);
	while (!held_feed(&h) && !held_all_closed(&h)) {
		cf_run_for(c, 1);
		if (!cf_ok(c))
			return;
	}
	fed = cf_now_ms(c);
	cf_run_for(c, HELD_READ_MS);
	rss_held = cf_iut_rss_kb(c);
	if (held_all_closed(&h))
		cf_note(c, "the six links had closed before their frames were sent (%llu ms)",
			(unsigned long long)(fed - linked));
	else if (rss_before >= 0 && rss_held >= 0)
		cf_note(c, "%llu ms to send them; the IUT's resident memory then: %ld kB, %ld kB "
			"before (%.2f bytes per byte held)", (unsigned long long)(fed - linked),
			rss_held, rss_before,
			1024.0 * (double)(rss_held - rss_before) / (double)(HELD_LINKS * h.total));
	/* The last HELLO: its first PING one interval later, the deadline another later, the
	 * close within a third. */
	if (!cf_wait(c, held_all_closed, &h, 3 * HELD_KA_MS + late_slack_ms(c),
		     "the IUT to close the six links whose frames never end"))
		return;
	for (size_t i = 0; i < HELD_LINKS; i++)
		if (!cf_wait_closed(c, h.p[i], IB_EC_KEEPALIVE_TIMEOUT, "KA-4", 0))
			return;
	pings = hn_peer_count(witness, IB_MSG_PING);
	if (!cf_expect(c, !hn_peer_closed(witness) && pings > 0, "LINK-20",
		       "the IUT keeps its child T7, which answers every PING, while the others hold "
		       "their frames",
		       hn_peer_closed(witness) ? "it closed T7's link" : "T7 got no PING"))
		return;
	cf_run_for(c, SETTLE_MS);
	rss_after = cf_iut_rss_kb(c);
	if (rss_before >= 0 && rss_after >= 0)
		cf_expect(c, rss_after < rss_before + HELD_RSS_SLACK_KB, "LINK-18",
			  "once the six links have ended, the IUT gives back what their frames held: "
			  "its resident memory comes back within 8 MB of what it was",
			  "%ld kB, %ld kB before the frames (%ld kB while they were held)", rss_after,
			  rss_before, rss_held);
}

/* ---- [LINK-20] one link floods, the others are still served --------------------------------- */

#define FLOOD_MS 2500u              /* how long the parent floods, on real time: 5 intervals */
#define FLOOD_FRAMES_SELF 20000u    /* on virtual time, which stands still while the node
				     * works, the flood is counted instead */
#define FLOOD_BATCH 64u             /* frames per write */
#define FLOOD_UNSENT_MAX (256u * 1024u) /* what the parent keeps waiting for the IUT's socket */
#define FLOOD_KA_MS 500u            /* the IUT's keepalive_interval_ms toward T2 */
#define FLOOD_KA_TIMEOUT_MS 1000u
#define FLOOD_PARENT_KA_MS 60000u   /* the parent's, announced: it need not PING */
#define FLOOD_FORWARD_MS 1000u      /* T2's PUBLISH reaches the parent within this */

struct flood {
	struct hn_peer *parent, *child;
	uint8_t sig[IB_SIG_LEN];    /* a real signature of T3, of another message */
	uint64_t seq;
	size_t frames;
	struct ib_buf batch, msg;
};

/* FLOOD_BATCH PUBLISH frames of T3, each a message of its own under a signature of another:
 * each costs the IUT a whole verification, and is dropped (bad_signature). */
static bool flood_batch(struct cf_ctx *c, struct flood *f)
{
	struct ib_msg m;

	ib_buf_reset(&f->batch);
	for (unsigned i = 0; i < FLOOD_BATCH; i++) {
		cf_msg_publish(&m, "hostile.flood", 1, "x");
		m.h.version = IB_PROTOCOL_VERSION;
		m.h.seq = f->seq++;
		ib_buf_reset(&f->msg);
		if (ib_msg_encode(&f->msg, &m) != IB_OK ||
		    ib_frame_encode(&f->batch, cf_tester_id(c, 3), f->sig, f->msg.ptr, f->msg.len) !=
			    IB_OK) {
			cf_harness_error(c, "cannot make the flood's frames");
			return false;
		}
	}
	if (hn_peer_send_raw(f->parent, f->batch.ptr, f->batch.len) != IB_OK) {
		cf_harness_error(c, "the parent cannot send");
		return false;
	}
	f->frames += FLOOD_BATCH;
	return true;
}

static bool flood_on(struct cf_ctx *c, const struct flood *f, uint64_t start)
{
	if (hn_peer_closed(f->parent) || hn_peer_closed(f->child))
		return false;
	if (cf_mode(c) == CF_MODE_SELF)
		return f->frames < FLOOD_FRAMES_SELF;
	return cf_now_ms(c) - start < FLOOD_MS;
}

/* When p got exactly bytes, in ms of the loop's clock; UINT64_MAX if it did not (or if
 * bytes is empty: nothing was sent). */
static uint64_t got_at_ms(const struct hn_peer *p, const struct ib_buf *bytes)
{
	if (!bytes->len)
		return UINT64_MAX;
	for (size_t i = 0; i < hn_peer_received(p); i++) {
		const struct hn_got *g = hn_peer_got(p, i);

		if (g->raw.len == bytes->len && !memcmp(g->raw.ptr, bytes->ptr, bytes->len))
			return g->at_us / 1000;
	}
	return UINT64_MAX;
}

struct got_frame {
	const struct hn_peer *p;
	const struct ib_buf *bytes;
};

static bool frame_got(void *arg)
{
	const struct got_frame *w = arg;

	return cf_copies(w->p, w->bytes->ptr, w->bytes->len) > 0;
}

/* The largest gap between the PINGs p got after since_ms, and from since_ms and to until_ms
 * to the nearest of them. */
static uint64_t largest_ping_gap(const struct hn_peer *p, uint64_t since_ms, uint64_t until_ms)
{
	uint64_t last = since_ms, gap = 0;

	for (size_t i = 0; i < hn_peer_received(p); i++) {
		const struct hn_got *g = hn_peer_got(p, i);
		uint64_t at = g->at_us / 1000;

		if (g->type != IB_MSG_PING || at < since_ms || at > until_ms)
			continue;
		gap = at - last > gap ? at - last : gap;
		last = at;
	}
	return until_ms - last > gap ? until_ms - last : gap;
}

/* The IUT's parent T3 sends PUBLISH frames with bad signatures as fast as the IUT takes them,
 * for 2.5 s; its child T2 answers PINGs, and publishes once halfway. The IUT keeps T2's
 * keep-alive (a PING at least every three intervals, its PONGs read in time) and forwards
 * T2's frame to T3 within 1 s. A node that reads one link until it has nothing more never
 * gets back to T2 while the flood lasts. */
static void test_invalid_signature_flood(struct cf_ctx *c)
{
	struct flood f = { 0 };
	struct cf_iut_opts o = { 0 };
	struct ib_buf signed_one = { 0 }, published = { 0 };
	char addr[IB_MAX_ADDR], key[64];
	uint64_t start, sent_at = 0, arrived, gap, end;
	long cpu_start, cpu_used;
	struct ib_msg m;

	o.keepalive_interval_ms = FLOOD_KA_MS;
	o.keepalive_timeout_ms = FLOOD_KA_TIMEOUT_MS;
	if (!cf_iut_start_toward(c, &o, 3, &f.parent, addr) ||
	    !cf_wait_type(c, f.parent, IB_MSG_HELLO, 1, HOSTILE_LINK_MS))
		goto out;
	if (hn_peer_send_hello(f.parent, IB_ROLE_SERVER, FLOOD_PARENT_KA_MS, NULL, 0) != IB_OK) {
		cf_harness_error(c, "cannot answer HELLO");
		goto out;
	}
	hn_peer_unlisten(f.parent);
	if (!(f.child = cf_peer(c, 2)) || !cf_link_child(c, f.child))
		goto out;
	f.seq = cf_next_seq(c, 3);
	if (!cf_publish_frame(c, cf_tester_identity(c, 3), "hostile.flood", 1, "x", f.seq++,
			      &signed_one))
		goto out;
	memcpy(f.sig, signed_one.ptr + IB_ID_LEN + 5, IB_SIG_LEN);
	cf_note(c, "the flood's frames are not in this transcript: PUBLISH of T3, key "
		"hostile.flood, seq %llu on, each under the signature of seq %llu",
		(unsigned long long)f.seq, (unsigned long long)f.seq - 1);
	hn_peer_tap_raw(f.parent, false);
	start = cf_now_ms(c);
	cpu_start = cf_iut_cpu_ms(c);
	while (flood_on(c, &f, start)) {
		if (hn_peer_unsent(f.parent) < FLOOD_UNSENT_MAX && !flood_batch(c, &f))
			goto out;
		if (!sent_at && (cf_mode(c) == CF_MODE_SELF ? f.frames >= FLOOD_FRAMES_SELF / 2
							    : cf_now_ms(c) - start >= FLOOD_MS / 2)) {
			cf_msg_publish(&m, cf_fresh_key(c, "hostile.flood-t2", key, sizeof key), 1,
				       "through");
			if (hn_peer_send(f.child, &m, NULL, NULL, false, &published) != IB_OK) {
				cf_harness_error(c, "T2 cannot publish");
				goto out;
			}
			sent_at = cf_now_ms(c);
		}
		cf_run_for(c, 1);
		if (!cf_ok(c))
			goto out;
	}
	end = cf_now_ms(c);
	cpu_used = cf_iut_cpu_ms(c);
	if (!sent_at && !hn_peer_closed(f.parent) && !hn_peer_closed(f.child)) {
		cf_harness_error(c, "the flood ended before T2 published");
		goto out;
	}
	cf_note(c, "the parent sent %zu frames with bad signatures in %llu ms", f.frames,
		(unsigned long long)(end - start));
	/* Per frame it cannot be told: the frames sent are not all read yet, some wait in the
	 * sockets' buffers. */
	if (cpu_start >= 0 && cpu_used >= cpu_start && end > start)
		cf_note(c, "the IUT used %ld ms of CPU meanwhile: %.0f %% of one core",
			cpu_used - cpu_start,
			100.0 * (double)(cpu_used - cpu_start) / (double)(end - start));
	if (!cf_expect(c, !hn_peer_closed(f.child), "LINK-20",
		       "while its parent floods, the IUT keeps its child T2, which answers every "
		       "PING (keepalive_timeout_ms 1,000)",
		       "it closed T2's link (ERROR %s) after %llu ms of flood",
		       hn_peer_last(f.child, IB_MSG_ERROR)
			       ? ib_error_code_name(hn_peer_last(f.child, IB_MSG_ERROR)->error_code)
			       : "none",
		       (unsigned long long)(end - start)) ||
	    !cf_expect(c, !hn_peer_closed(f.parent), "FRAME-6",
		       "frames with bad signatures are dropped; the link that brings them stays",
		       "the IUT closed its parent's link (ERROR %s)",
		       hn_peer_last(f.parent, IB_MSG_ERROR)
			       ? ib_error_code_name(hn_peer_last(f.parent, IB_MSG_ERROR)->error_code)
			       : "none"))
		goto out;
	gap = largest_ping_gap(f.child, start, end);
	if (!cf_expect(c, gap < 3 * FLOOD_KA_MS, "LINK-20",
		       "while its parent floods, the IUT still PINGs its child T2 on time: never "
		       "three intervals (1,500 ms) without one, the limit at which T2 would leave",
		       "T2 went %llu ms without a PING (%zu frames of flood in %llu ms)",
		       (unsigned long long)gap, f.frames, (unsigned long long)(end - start)))
		goto out;
	arrived = got_at_ms(f.parent, &published);
	if (arrived == UINT64_MAX) {
		struct got_frame w = { f.parent, &published };

		cf_run_until(c, frame_got, &w, FLOOD_FORWARD_MS);
		arrived = got_at_ms(f.parent, &published);
	}
	cf_expect(c, arrived != UINT64_MAX && arrived - sent_at < FLOOD_FORWARD_MS, "LINK-20",
		  "T2's PUBLISH, sent halfway through the flood, reaches the parent within 1 s",
		  arrived == UINT64_MAX ? "it never arrived (%llu frames of flood)"
					: "it took %llu ms",
		  arrived == UINT64_MAX ? (unsigned long long)f.frames
					: (unsigned long long)(arrived - sent_at));
out:
	ib_buf_free(&f.batch);
	ib_buf_free(&f.msg);
	ib_buf_free(&signed_one);
	ib_buf_free(&published);
}

/* ---- [LINK-21] answers are paced by the link they leave on ---------------------------------- */

#define ASK_VALUE_LEN 60000u        /* the item asked for: within max_value (65,115) */
#define ASK_COUNT 2000u             /* requests for it: 120 MB of answers */
#define ASK_FULL_MAX 400u           /* whole answers allowed: 24 MB, of which at most 1 MiB
				     * answer_backlog and the rest for the operating system's
				     * socket buffers at both ends (Linux: 4 MB + 6 MB at most) */
#define ASK_WAIT_MS 10000u

struct asked {
	size_t answers, full, busy, other;
	size_t bytes;               /* of the answer frames */
};

/* Counts what T1 got for the requests: RESULTs (or TRANSFERs) of their ids. */
static void count_answers(struct hn_peer *p, bool select, uint64_t first_id, struct asked *a)
{
	memset(a, 0, sizeof *a);
	for (size_t i = 0; i < hn_peer_received(p); i++) {
		struct ib_frame f;
		struct ib_msg m;

		if (!cf_got_msg(p, i, &f, &m))
			continue;
		if (select && m.h.type == IB_MSG_TRANSFER && m.u.transfer.query_id >= first_id &&
		    m.u.transfer.query_id < first_id + ASK_COUNT) {
			a->bytes += hn_peer_got(p, i)->raw.len;
			a->answers++;
			a->full += m.u.transfer.frame.len > ASK_VALUE_LEN;
			a->other += m.u.transfer.frame.len <= ASK_VALUE_LEN;
		}
		if (!select && m.h.type == IB_MSG_RESULT && m.u.result.cmd_id >= first_id &&
		    m.u.result.cmd_id < first_id + ASK_COUNT) {
			const struct ib_slice *o = &m.u.result.output;

			a->bytes += hn_peer_got(p, i)->raw.len;
			a->answers++;
			if (m.u.result.status == IB_STATUS_OK && o->len > ASK_VALUE_LEN)
				a->full++;
			else if (m.u.result.status == IB_STATUS_FAILED && o->len >= 4 &&
				 !memcmp(o->ptr, "busy", 4))
				a->busy++;
			else
				a->other++;
		}
	}
}

/* The marker reached T2, or T1's link closed (the IUT's queue overflowed). */
struct marker_wait {
	struct hn_peer *asker;
	struct got_frame got;
};

static bool marker_got(void *arg)
{
	struct marker_wait *w = arg;

	return hn_peer_closed(w->asker) || frame_got(&w->got);
}

/* The value of the item asked for, ASK_VALUE_LEN bytes of fill and a NUL, malloc'd. */
static char *asked_value(struct cf_ctx *c, char fill)
{
	char *v = malloc(ASK_VALUE_LEN + 1);

	if (!v) {
		cf_harness_error(c, "out of memory");
		return NULL;
	}
	memset(v, fill, ASK_VALUE_LEN);
	v[ASK_VALUE_LEN] = 0;
	return v;
}

/* One request for key from p: ib.get (cmd_id id) or SELECT (query_id id); its frame's
 * length added to *sent. */
static bool ask(struct cf_ctx *c, struct hn_peer *p, bool select, const char *key, uint64_t id,
		struct ib_buf *args, size_t *sent)
{
	struct ib_buf frame = { 0 };
	struct ib_msg m;
	bool ok;

	memset(&m, 0, sizeof m);
	if (select) {
		m.h.type = IB_MSG_SELECT;
		m.u.select = (struct ib_select){ id, { (const uint8_t *)key, strlen(key) }, 1 };
	} else {
		m.h.type = IB_MSG_COMMAND;
		m.u.command = (struct ib_command){ id, { (const uint8_t *)"ib.get", 6 },
						   { args->ptr, args->len } };
	}
	m.h.dest = *cf_iut_id(c);
	ok = hn_peer_send(p, &m, NULL, NULL, false, &frame) == IB_OK;
	if (!ok)
		cf_harness_error(c, "a tester cannot send %s", ib_msg_type_name(m.h.type));
	*sent += frame.len;
	ib_buf_free(&frame);
	return ok;
}

/* T1, a child, publishes a 60,000-byte item, stops reading, and asks for it 2,000 times
 * (ib.get, or SELECT); a PUBLISH it sends after them reaches T2 once the IUT has taken them
 * all. Then T1 reads again. The IUT must keep T1's link, answer every COMMAND ([CMD-1]), and
 * send at most 400 whole answers: the others found the link backed up. A node that answers
 * everything queues 120 MB for a reader that does not read. */
static void ask_flood(struct cf_ctx *c, bool select)
{
	struct hn_peer *t1, *t2;
	struct ib_buf item = { 0 }, marker = { 0 }, args = { 0 };
	char *value = NULL, key[64], mkey[64];
	struct got_frame w;
	struct marker_wait mw;
	struct ib_slice key_arg;
	uint16_t status;
	struct asked a;
	size_t sent = 0;
	uint64_t first_id = (cf_rand(c) >> 16) + 1;
	struct ib_msg m;

	if (!cf_iut_start(c, NULL) || !(t1 = cf_peer(c, 1)) || !cf_link_child(c, t1) ||
	    !(t2 = cf_peer(c, 2)) || !cf_link_child(c, t2))
		goto out;
	if (!(value = asked_value(c, 'v')))
		goto out;
	cf_fresh_key(c, "hostile.asked", key, sizeof key);
	cf_msg_publish(&m, key, 1, value);
	if (hn_peer_send(t1, &m, NULL, NULL, false, &item) != IB_OK) {
		cf_harness_error(c, "T1 cannot publish");
		goto out;
	}
	/* Forwarded to T2: the IUT took it ([DATA-2] before [FLOOD-1]). */
	w = (struct got_frame){ t2, &item };
	if (!cf_wait(c, frame_got, &w, HOSTILE_LINK_MS, "the IUT forwards T1's PUBLISH to T2"))
		goto out;
	key_arg = (struct ib_slice){ (const uint8_t *)key, strlen(key) };
	ib_args_put(&args, key_arg);
	/* It holds the item, and lets T2 ask for it: the requests below are not refused for
	 * another reason. */
	if (!cf_command(c, t2, NULL, "ib.get", &key_arg, 1, &status, NULL) ||
	    !cf_standard_ran(c, "ib.get", status) ||
	    !cf_expect(c, status == IB_STATUS_OK, "DATA-2", "the IUT holds T1's item (ib.get)",
		       "ib.get answered %s", ib_status_name(status)))
		goto out;
	hn_peer_pause(t1, true);
	for (uint64_t i = 0; i < ASK_COUNT; i++)
		if (!ask(c, t1, select, key, first_id + i, &args, &sent))
			goto out;
	cf_msg_publish(&m, cf_fresh_key(c, "hostile.asked-marker", mkey, sizeof mkey), 1, "m");
	if (hn_peer_send(t1, &m, NULL, NULL, false, &marker) != IB_OK) {
		cf_harness_error(c, "T1 cannot publish");
		goto out;
	}
	mw = (struct marker_wait){ t1, { t2, &marker } };
	if (!cf_wait(c, marker_got, &mw, ASK_WAIT_MS,
		     "the IUT takes T1's 2,000 requests, then forwards its next PUBLISH to T2"))
		goto out;
	/* Reading again, T1 asks for ib.ping: its RESULT comes after every answer queued before
	 * it on the link. */
	hn_peer_pause(t1, false);
	if (!hn_peer_closed(t1) && !cf_command(c, t1, NULL, "ib.ping", NULL, 0, &status, NULL))
		goto out;
	count_answers(t1, select, first_id, &a);
	cf_note(c, "%zu answers: %zu whole, %zu busy, %zu other; %zu bytes of requests, %zu bytes "
		"of answers: %.0f out per byte in", a.answers, a.full, a.busy, a.other, sent,
		a.bytes, sent ? (double)a.bytes / (double)sent : 0.0);
	if (!cf_expect(c, !hn_peer_closed(t1), "LINK-21",
		       "the IUT keeps the link of a child that asks for a 60,000-byte item 2,000 "
		       "times without reading: the answers wait for the link, not in a queue that "
		       "overflows", "it closed the link (ERROR %s) after %zu answers",
		       hn_peer_last(t1, IB_MSG_ERROR)
			       ? ib_error_code_name(hn_peer_last(t1, IB_MSG_ERROR)->error_code)
			       : "none", a.answers) ||
	    !cf_expect(c, a.full >= 1 && a.full <= ASK_FULL_MAX, "LINK-21",
		       "of 2,000 requests made while the link is backed up, the first is answered "
		       "whole and at most 400 (24 MB, allowing for answer_backlog and the socket "
		       "buffers) are", "%zu were answered whole (%zu answers in all)", a.full,
		       a.answers))
		goto out;
	if (!select)
		cf_expect(c, a.full + a.busy == ASK_COUNT, "CMD-1",
			  "every COMMAND is answered: whole, or at once with RESULT failed, its "
			  "output beginning with \"busy\" [LINK-21]",
			  "%zu were answered otherwise and %zu not at all", a.other,
			  ASK_COUNT - a.answers);
out:
	free(value);
	ib_buf_free(&item);
	ib_buf_free(&marker);
	ib_buf_free(&args);
}

/* The IUT without PING (T3's PONGs would wait behind its 24 MB, and T1 answers none), and
 * T1, T2, T3 linked as its children. */
static bool three_children(struct cf_ctx *c, struct hn_peer **t1, struct hn_peer **t2,
			   struct hn_peer **t3)
{
	struct cf_iut_opts o = { 0 };

	o.keepalive_interval_ms = 600000;
	o.keepalive_timeout_ms = 600000;
	return cf_iut_start(c, &o) && (*t1 = cf_peer(c, 1)) && cf_link_child(c, *t1) &&
	       (*t2 = cf_peer(c, 2)) && cf_link_child(c, *t2) && (*t3 = cf_peer(c, 3)) &&
	       cf_link_child(c, *t3);
}

#define ELSEWHERE_FRAMES 400u       /* 24 MB toward a child that does not read: more than the
				     * socket buffers take, less than any queue bound of a node
				     * of the default max_message (64 MiB in the reference) */

/* T1 stops reading while T3 publishes key, versions first to first + 399, each with value,
 * which the IUT forwards to T1 and T2: 24 MB wait toward T1 once T2 has the last (in *last). */
static bool back_up_t1(struct cf_ctx *c, struct hn_peer *t1, struct hn_peer *t2,
		       struct hn_peer *t3, const char *key, uint64_t first, const char *value,
		       struct ib_buf *last)
{
	struct got_frame w = { t2, last };
	struct ib_msg m;

	hn_peer_pause(t1, true);
	hn_peer_tap_raw(t3, false);
	for (unsigned i = 0; i < ELSEWHERE_FRAMES; i++) {
		cf_msg_publish(&m, key, first + i, value);
		ib_buf_reset(last); /* hn_peer_send appends its copy */
		if (hn_peer_send(t3, &m, NULL, NULL, false, last) != IB_OK) {
			cf_harness_error(c, "T3 cannot publish");
			return false;
		}
		if (i % 8 == 7)
			cf_run_for(c, 0);
	}
	hn_peer_tap_raw(t3, true);
	return cf_wait(c, frame_got, &w, ASK_WAIT_MS, "the IUT forwards T3's 400 PUBLISH frames "
		       "to T2");
}

/* T1 reads nothing while T3 publishes 400 items of 60,000 bytes, each forwarded to T1 and T2:
 * T1's link is backed up. T2, whose link is not, asks ib.get and gets the whole item: a
 * node paces a request by the link toward its origin only ([LINK-21]), not by any link. */
static void test_backlog_elsewhere(struct cf_ctx *c)
{
	struct hn_peer *t1, *t2, *t3;
	struct ib_buf last = { 0 }, out = { 0 };
	char *value = NULL, key[64];
	struct ib_slice arg;
	uint16_t status = 0;

	if (!three_children(c, &t1, &t2, &t3) || !(value = asked_value(c, 'e')))
		goto out;
	cf_fresh_key(c, "hostile.elsewhere", key, sizeof key);
	if (!back_up_t1(c, t1, t2, t3, key, 1, value, &last))
		goto out;
	arg = (struct ib_slice){ (const uint8_t *)key, strlen(key) };
	if (!cf_command(c, t2, NULL, "ib.get", &arg, 1, &status, &out) ||
	    !cf_standard_ran(c, "ib.get", status))
		goto out;
	cf_expect(c, status == IB_STATUS_OK && out.len == last.len, "LINK-21",
		  "with 24 MB waiting toward T1, which does not read, T2's ib.get is answered with "
		  "the whole item: only the link toward the asker paces its answers",
		  "it answered %s with %zu bytes: %.*s", ib_status_name(status), out.len,
		  status == IB_STATUS_OK ? 0 : (int)(out.len > 120 ? 120 : out.len),
		  (const char *)out.ptr);
out:
	free(value);
	ib_buf_free(&last);
	ib_buf_free(&out);
}

/* T3 (from) publishes key, version 1, value; true once witness has the frame (in *last). */
static bool publish_forwarded(struct cf_ctx *c, struct hn_peer *from, struct hn_peer *witness,
			      const char *key, const char *value, struct ib_buf *last)
{
	struct got_frame w = { witness, last };
	struct ib_msg m;

	cf_msg_publish(&m, key, 1, value);
	if (hn_peer_send(from, &m, NULL, NULL, false, last) != IB_OK) {
		cf_harness_error(c, "T3 cannot publish");
		return false;
	}
	return cf_wait(c, frame_got, &w, HOSTILE_LINK_MS, "the IUT forwards T3's PUBLISH to "
		       "the other children");
}

#define QUERY_COUNT 1000u           /* QUERYs of a reading child: one OFFER each */

/* T1's QUERYs from first_id on (count of them): the OFFERs T1 got for them, and their bytes. */
static void count_offers(struct hn_peer *t1, uint64_t first_id, uint64_t count, size_t *offers,
			 size_t *bytes)
{
	struct ib_frame f;
	struct ib_msg m;

	*offers = *bytes = 0;
	for (size_t i = 0; i < hn_peer_received(t1); i++) {
		if (!cf_got_msg(t1, i, &f, &m) || m.h.type != IB_MSG_OFFER ||
		    m.u.offer.query_id < first_id || m.u.offer.query_id >= first_id + count)
			continue;
		(*offers)++;
		*bytes += hn_peer_got(t1, i)->raw.len;
	}
}

/* QUERY of key, query_id id, from p; its frame's length in *len. */
static bool send_query(struct cf_ctx *c, struct hn_peer *p, const char *key, uint64_t id,
		       size_t *len)
{
	struct ib_buf frame = { 0 };
	struct ib_msg m;
	bool ok;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_QUERY;
	m.u.query = (struct ib_query){ id, { (const uint8_t *)key, strlen(key) } };
	ok = hn_peer_send(p, &m, NULL, NULL, false, &frame) == IB_OK;
	if (!ok)
		cf_harness_error(c, "cannot send QUERY");
	*len = frame.len;
	ib_buf_free(&frame);
	return ok;
}

/* T3 publishes a 60,000-byte item 400 times (versions 1 to 400), forwarded to T1 and T2.
 * First T1, reading, sends 1,000 QUERYs for it: each gets its OFFER ([ELECT-1]), a frame
 * about as long as the QUERY (the figures are noted). Then T1 stops reading while the 400
 * frames (24 MB) are forwarded to it, and sends one more QUERY: the link toward it is
 * backed up, so the IUT sends no OFFER for it ([LINK-21]), while T2's QUERY gets one. */
static void test_query_flood(struct cf_ctx *c)
{
	struct hn_peer *t1, *t2, *t3;
	struct ib_buf last = { 0 };
	char *value = NULL, key[64];
	uint64_t first_id = (cf_rand(c) >> 16) + 1, late_id = first_id + QUERY_COUNT;
	size_t in = 0, len, offers, out;
	uint16_t status = 0;

	if (!three_children(c, &t1, &t2, &t3) || !(value = asked_value(c, 'q')))
		goto out;
	cf_fresh_key(c, "hostile.queried", key, sizeof key);
	if (!publish_forwarded(c, t3, t2, key, value, &last))
		goto out;
	cf_note(c, "T1's %u QUERYs and the IUT's OFFERs are not in this transcript", QUERY_COUNT);
	hn_peer_tap_raw(t1, false);
	for (uint64_t i = 0; i < QUERY_COUNT; i++) {
		if (!send_query(c, t1, key, first_id + i, &len))
			goto out;
		in += len;
		if (i % 8 == 7)
			cf_run_for(c, 0);
	}
	/* ib.ping's RESULT comes after the OFFERs the IUT made before it. */
	if (!cf_command(c, t1, NULL, "ib.ping", NULL, 0, &status, NULL))
		goto out;
	hn_peer_tap_raw(t1, true);
	count_offers(t1, first_id, QUERY_COUNT, &offers, &out);
	cf_note(c, "%u QUERYs (%zu bytes) from T1: %zu OFFERs (%zu bytes) back, %.2f bytes out "
		"toward T1 per byte in (each QUERY is also flooded to the IUT's other links)",
		QUERY_COUNT, in, offers, out, in ? (double)out / (double)in : 0.0);
	if (!cf_expect(c, offers == QUERY_COUNT, "ELECT-1",
		       "each of 1,000 QUERYs from a child that reads is answered by one OFFER",
		       "%zu OFFERs came", offers))
		goto out;
	/* 24 MB toward T1, which no longer reads. */
	if (!back_up_t1(c, t1, t2, t3, key, 2, value, &last))
		goto out;
	if (!send_query(c, t1, key, late_id, &len) || !send_query(c, t2, key, late_id + 1, &len))
		goto out;
	count_offers(t2, late_id + 1, 1, &offers, &out);
	if (!cf_command(c, t2, NULL, "ib.ping", NULL, 0, &status, NULL))
		goto out;
	count_offers(t2, late_id + 1, 1, &offers, &out);
	if (!cf_expect(c, offers == 1, "ELECT-1", "T2, whose link is not backed up, gets its "
		       "OFFER while 24 MB wait toward T1", "%zu OFFERs came", offers))
		goto out;
	hn_peer_pause(t1, false);
	if (!cf_command(c, t1, NULL, "ib.ping", NULL, 0, &status, NULL))
		goto out;
	count_offers(t1, late_id, 1, &offers, &out);
	cf_expect(c, offers == 0, "LINK-21", "a QUERY that comes while more than answer_backlog "
		  "waits toward its origin (24 MB of forwarded frames T1 did not read) gets no "
		  "OFFER", "T1 got %zu OFFER for it", offers);
out:
	free(value);
	ib_buf_free(&last);
}

/* ---- [LINK-21] a request whose origin has no route --------------------------------------- */

#define NO_ROUTE_TOP 100u           /* T6's highest seq, above base; the QUERYs below stay
				     * inside its window ([FLOOD-3]) and teach no route */

struct offer_wait {
	struct hn_peer *const *at;
	size_t n;
	uint64_t query_id;
};

static size_t offers_for(const struct offer_wait *w)
{
	size_t total = 0, offers, bytes;

	for (size_t i = 0; i < w->n; i++) {
		count_offers(w->at[i], w->query_id, 1, &offers, &bytes);
		total += offers;
	}
	return total;
}

static bool offer_came(void *arg)
{
	return offers_for(arg) > 0;
}

/* T6 (not linked) sends a QUERY for key, query_id id, with this seq, relayed by p. */
static bool query_of_t6(struct cf_ctx *c, struct hn_peer *p, const char *key, uint64_t id,
			uint64_t seq, struct ib_buf *frame)
{
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_QUERY;
	m.h.seq = seq;
	m.u.query = (struct ib_query){ id, { (const uint8_t *)key, strlen(key) } };
	ib_buf_reset(frame);
	if (hn_peer_send(p, &m, cf_tester_identity(c, 6), NULL, true, frame) != IB_OK) {
		cf_harness_error(c, "a tester cannot relay T6's QUERY");
		return false;
	}
	return true;
}

/* [LINK-21] "without a route, any open link": T6's newest frame comes through T2, which
 * leaves, so T6 has no route. Two older QUERYs of T6 (inside its window, so accepted, and
 * teaching no route, [FLOOD-11]) then come through T3 for an item the IUT holds: the first,
 * with no link backed up, gets an OFFER (flooded, having no route); the second, while 24 MB
 * wait toward T1, which does not read, gets none. */
static void test_backlog_no_route(struct cf_ctx *c)
{
	struct hn_peer *t1, *t2, *t3, *t4;
	struct ib_buf last = { 0 }, frame = { 0 };
	char *value = NULL, key[64];
	uint64_t base = cf_next_seq(c, 6), id = (cf_rand(c) >> 16) + 1;
	struct got_frame w;
	uint16_t status = 0;

	if (!three_children(c, &t1, &t2, &t3) || !(t4 = cf_peer(c, 4)) || !cf_link_child(c, t4) ||
	    !(value = asked_value(c, 'r')))
		goto out;
	cf_fresh_key(c, "hostile.no-route", key, sizeof key);
	if (!publish_forwarded(c, t3, t4, key, value, &last))
		goto out;
	/* T6's highest seq through T2; then T2 leaves and takes T6's route with it. */
	if (!query_of_t6(c, t2, "hostile.no-route-nobody-holds", id, base + NO_ROUTE_TOP, &frame))
		goto out;
	w = (struct got_frame){ t4, &frame };
	if (!cf_wait(c, frame_got, &w, HOSTILE_LINK_MS, "the IUT forwards T6's QUERY to T4"))
		goto out;
	if (!cf_send_error(c, t2, IB_EC_SHUTTING_DOWN) ||
	    !cf_wait_closed(c, t2, 0, "LINK-4", HOSTILE_LINK_MS))
		goto out;
	{
		struct hn_peer *const at[] = { t1, t3, t4 };
		struct offer_wait ow = { at, 3, id + 1 };

		if (!query_of_t6(c, t3, key, id + 1, base + NO_ROUTE_TOP / 2, &frame))
			goto out;
		cf_run_until(c, offer_came, &ow, ASK_WAIT_MS);
		if (!cf_expect(c, offers_for(&ow) > 0, "LINK-21",
			       "a QUERY of T6, whose route left with T2, for an item the IUT holds, "
			       "with no link backed up: an OFFER, sent as for everyone ([FLOOD-5])",
			       "none reached T1, T3 or T4 within %u ms", ASK_WAIT_MS))
			goto out;
	}
	if (!back_up_t1(c, t1, t4, t3, key, 2, value, &last) ||
	    !query_of_t6(c, t3, key, id + 2, base + NO_ROUTE_TOP / 2 + 10, &frame) ||
	    !cf_command(c, t3, NULL, "ib.ping", NULL, 0, &status, NULL))
		goto out;
	{
		struct hn_peer *const at[] = { t3, t4 };
		struct offer_wait ow = { at, 2, id + 2 };

		/* ib.ping's RESULT came after anything the IUT sent T3 for the QUERY before it. */
		cf_run_for(c, 100);
		cf_expect(c, offers_for(&ow) == 0, "LINK-21",
			  "a QUERY of T6, which has no route, while 24 MB wait toward T1 (which does "
			  "not read): no OFFER, since a request without a route is paced by every "
			  "open link", "%zu OFFERs reached T3 and T4", offers_for(&ow));
	}
out:
	free(value);
	ib_buf_free(&last);
	ib_buf_free(&frame);
}

static void test_get_flood(struct cf_ctx *c)
{
	ask_flood(c, false);
}

static void test_select_flood(struct cf_ctx *c)
{
	ask_flood(c, true);
}

#define FETCH_COUNT 1100u           /* ib.fetch asked at once: more than max_elections can be */
#define FETCH_MAX_OPEN 1024u        /* the largest max_elections ([ELECT-17]) */
#define FETCH_WINDOW_MS 3000u       /* the IUT's election_window_ms: every fetch of the burst
				     * comes while the first elections are open */

/* T1's fetches: the QUERYs of the IUT that T2 got, and the RESULTs of T1's cmd_ids. */
struct fetched {
	struct hn_peer *t1, *t2;
	const ib_id *iut;
	uint64_t first_id;
	size_t count;               /* ib.fetch sent, cmd_ids first_id on */
	size_t queries, results, busy;
};

static void count_fetched(struct fetched *w)
{
	struct ib_frame f;
	struct ib_msg m;

	w->queries = w->results = w->busy = 0;
	for (size_t i = 0; i < hn_peer_received(w->t2); i++)
		w->queries += cf_got_msg(w->t2, i, &f, &m) && m.h.type == IB_MSG_QUERY &&
			      ib_id_equal(&f.origin, w->iut);
	for (size_t i = 0; i < hn_peer_received(w->t1); i++) {
		const struct ib_slice *o = &m.u.result.output;

		if (!cf_got_msg(w->t1, i, &f, &m) || m.h.type != IB_MSG_RESULT ||
		    m.u.result.cmd_id < w->first_id || m.u.result.cmd_id >= w->first_id + w->count)
			continue;
		w->results++;
		w->busy += m.u.result.status == IB_STATUS_FAILED && o->len >= 4 &&
			   !memcmp(o->ptr, "busy", 4);
	}
}

static bool all_fetches_answered(void *arg)
{
	struct fetched *w = arg;

	count_fetched(w);
	return w->results == w->count || hn_peer_closed(w->t1);
}

/* T1, a child, asks the IUT for 1,100 fetches (ib.fetch of keys nobody holds) at once, with
 * the IUT's elections open 3 s: each election floods a QUERY, which T2 sees. The IUT must
 * start at most 1,024 ([ELECT-17]: max_elections), answer the others at once with RESULT
 * failed "busy", and in the end answer every COMMAND ([CMD-1]). A node that starts them all
 * makes the whole tree answer a member's QUERYs as fast as it asks. */
static void test_fetch_flood(struct cf_ctx *c)
{
	struct cf_iut_opts o = { 0 };
	struct ib_buf args = { 0 };
	struct fetched w = { 0 };
	char base[48], key[80];
	size_t queries;
	struct ib_msg m;

	o.election_window_ms = FETCH_WINDOW_MS;
	if (!cf_iut_start(c, &o) || !(w.t1 = cf_peer(c, 1)) || !cf_link_child(c, w.t1) ||
	    !(w.t2 = cf_peer(c, 2)) || !cf_link_child(c, w.t2))
		goto out;
	w.iut = cf_iut_id(c);
	w.first_id = (cf_rand(c) >> 16) + 1;
	w.count = FETCH_COUNT;
	cf_note(c, "T1's %u COMMAND ib.fetch and T2's QUERYs are not in this transcript",
		FETCH_COUNT);
	hn_peer_tap_raw(w.t1, false);
	hn_peer_tap_raw(w.t2, false);
	cf_fresh_key(c, "hostile.fetched", base, sizeof base);
	for (uint64_t i = 0; i < FETCH_COUNT; i++) {
		snprintf(key, sizeof key, "%s.%llu", base, (unsigned long long)i);
		ib_buf_reset(&args);
		ib_args_put(&args, (struct ib_slice){ (const uint8_t *)key, strlen(key) });
		memset(&m, 0, sizeof m);
		m.h.type = IB_MSG_COMMAND;
		m.u.command = (struct ib_command){ w.first_id + i, { (const uint8_t *)"ib.fetch", 8 },
						   { args.ptr, args.len } };
		if (!cf_send_to_iut(c, w.t1, &m))
			goto out;
		if (i % 8 == 7)
			cf_run_for(c, 0);
	}
	if (!cf_wait(c, all_fetches_answered, &w, 2 * FETCH_WINDOW_MS + ASK_WAIT_MS,
		     "the IUT answers each of T1's 1,100 ib.fetch"))
		goto out;
	hn_peer_tap_raw(w.t1, true);
	hn_peer_tap_raw(w.t2, true);
	cf_note(c, "%zu QUERYs of the IUT reached T2; %zu RESULTs, %zu of them busy", w.queries,
		w.results, w.busy);
	if (!cf_expect(c, w.queries <= FETCH_MAX_OPEN, "ELECT-17",
		       "of 1,100 ib.fetch that come while the first elections are open, the IUT "
		       "starts at most 1,024 (max_elections): one QUERY each",
		       "%zu QUERYs reached T2", w.queries) ||
	    !cf_expect(c, w.results == FETCH_COUNT, "CMD-1",
		       "every ib.fetch gets its RESULT", "%zu of %u were answered", w.results,
		       FETCH_COUNT))
		goto out;
	if (!cf_expect(c, w.busy + w.queries >= FETCH_COUNT, "ELECT-17",
		       "each ib.fetch for which the IUT started no election is answered failed "
		       "\"busy\"", "%zu busy RESULTs, %zu elections started, of %u", w.busy,
		       w.queries, FETCH_COUNT))
		goto out;
	/* Every election has ended (each ib.fetch has its RESULT): none is open, so the next
	 * ib.fetch starts one. A node that counts elections started, not open, answers busy. */
	queries = w.queries;
	snprintf(key, sizeof key, "%s.after", base);
	ib_buf_reset(&args);
	ib_args_put(&args, (struct ib_slice){ (const uint8_t *)key, strlen(key) });
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_COMMAND;
	m.u.command = (struct ib_command){ w.first_id + FETCH_COUNT, { (const uint8_t *)"ib.fetch",
					   8 }, { args.ptr, args.len } };
	w.count = FETCH_COUNT + 1;
	if (!cf_send_to_iut(c, w.t1, &m) ||
	    !cf_wait(c, all_fetches_answered, &w, 2 * FETCH_WINDOW_MS + ASK_WAIT_MS,
		     "the IUT answers T1's ib.fetch after the flood"))
		goto out;
	cf_expect(c, w.queries == queries + 1, "ELECT-17", "once the elections of the flood have "
		  "ended, the next ib.fetch starts one (its QUERY reaches T2): only open elections "
		  "count", "%zu QUERYs reached T2 for it", w.queries - queries);
out:
	ib_buf_free(&args);
}

const struct cf_test cf_tests_hostile[] = {
	{ "hostile.pending-one-source", "LINK-15", 0, test_pending_one_source,
	  "One address opens 40 TCP connections and sends nothing: the IUT holds 1 to 16 of them "
	  "(max_pending_per_source), closes the rest at once, and a member from another address "
	  "links" },
	{ "hostile.pending-bounds-set", "IFACE-21 LINK-14 LINK-15", CF_NEEDS_CONFIG,
	  test_pending_bounds_set,
	  "With max_pending_per_source = 3 and max_pending = 20 in node.conf and three children "
	  "linked, the IUT holds exactly 3 of 6 idle connections from the children's address, "
	  "then exactly 20 pending as 25 other addresses connect: linked children are not "
	  "pending (NOT-APPLICABLE if it refuses the keys, exit 69)" },
	{ "hostile.pending-many-sources", "LINK-14 LINK-16 LINK-18 LINK-19", CF_SLOW,
	  test_pending_many_sources,
	  "450 addresses open a TCP connection each and send nothing: the IUT holds 16 to 256 of "
	  "them (max_pending), the ones it closed are the oldest, a member still links, one it "
	  "closes gets its ERROR, and once they close the IUT's descriptors are what they were" },
	{ "hostile.join-during-flood", "LINK-16 LINK-14", 0, test_join_during_flood,
	  "300 strangers fill the pending connections, then a member connects while strangers "
	  "go on connecting at 500 a second from new addresses: it links within 2 s" },
	{ "hostile.come-and-go", "LINK-18", CF_SLOW, test_come_and_go,
	  "Members link and leave, and strangers fail their TLS handshake, 200 times each: the "
	  "IUT's descriptors come back to what they were, and its memory stays within 2 MB" },
	{ "hostile.slowloris-tls", "LINK-12", CF_SLOW, test_slowloris_tls,
	  "A TCP connection sends a ClientHello one byte every 100 ms: the IUT closes it when "
	  "handshake_timeout_ms (10 s) expires, as a silent one; bytes do not re-arm the timer" },
	{ "hostile.slowloris-hello", "LINK-12", CF_SLOW, test_slowloris_hello,
	  "A member completes TLS, then sends its first frame one byte every 100 ms: the IUT "
	  "closes with protocol_violation when hello_timeout_ms (10 s) expires" },
	{ "hostile.trickled-frame-child", "KA-8 KA-4", CF_NEEDS_CONFIG, test_trickled_frame_child,
	  "A child answers no PING but trickles a long frame a byte every 100 ms: part of a frame "
	  "is no PONG, and the IUT closes with keepalive_timeout at the first PING's deadline" },
	{ "hostile.trickled-frame-parent", "KA-9 KA-5", CF_NEEDS_CONFIG,
	  test_trickled_frame_parent,
	  "The IUT's parent sends no PING but trickles a long frame a byte every 100 ms: only a "
	  "PING moves the silence limit, and the IUT leaves with keepalive_timeout after three "
	  "intervals" },
	{ "hostile.big-frames-held", "LINK-18 KA-8 KA-4 LINK-20", CF_NEEDS_CONFIG | CF_SLOW,
	  test_big_frames_held,
	  "Six children each send all but the last 4 KiB of a frame of max_message bytes and "
	  "answer no PING: the IUT closes them with keepalive_timeout at the PING's deadline, "
	  "keeps a seventh child that answers, and its memory comes back within 8 MB" },
	{ "hostile.invalid-signature-flood", "LINK-20 FRAME-6", CF_NEEDS_CONFIG | CF_SLOW,
	  test_invalid_signature_flood,
	  "The IUT's parent sends frames with bad signatures as fast as the IUT takes them for "
	  "2.5 s: the IUT still PINGs its child on time, reads its PONGs, and forwards its PUBLISH "
	  "to the parent within 1 s" },
	{ "hostile.backlog-elsewhere", "LINK-21", CF_NEEDS_CONFIG, test_backlog_elsewhere,
	  "One child reads nothing while 24 MB are forwarded to it: another child's ib.get is "
	  "still answered whole (answers are paced by the link toward the asker only)" },
	{ "hostile.query-flood", "ELECT-1 LINK-21", CF_NEEDS_CONFIG, test_query_flood,
	  "A child sends 1,000 QUERYs for a held item: one OFFER each (the bytes out per byte in "
	  "are noted); then, with 24 MB forwarded to it unread, its QUERY gets no OFFER while "
	  "another child's does" },
	{ "hostile.backlog-no-route", "LINK-21 FLOOD-11", CF_NEEDS_CONFIG, test_backlog_no_route,
	  "T6's newest frame comes through T2, which leaves: T6 has no route. Its older QUERYs "
	  "(inside the window, teaching no route) for an item the IUT holds then come through "
	  "T3: with no link backed up, an OFFER; while 24 MB wait toward T1, which does not "
	  "read, none (without a route, any open link paces the answer)" },
	{ "hostile.get-flood", "LINK-21 CMD-1", 0, test_get_flood,
	  "A child that does not read asks for a 60,000-byte item 2,000 times with ib.get: the "
	  "IUT keeps its link, answers every COMMAND, at most 400 of them whole and the others "
	  "failed \"busy\"" },
	{ "hostile.select-flood", "LINK-21 ELECT-4", 0, test_select_flood,
	  "A child that does not read sends 2,000 SELECTs for a 60,000-byte item: the IUT keeps "
	  "its link and sends at most 400 TRANSFERs" },
	{ "hostile.fetch-flood", "ELECT-17 CMD-1", CF_NEEDS_CONFIG, test_fetch_flood,
	  "A child asks for 1,100 ib.fetch at once while the IUT's elections last 3 s: it starts "
	  "at most 1,024 elections (one QUERY each), answers the others failed \"busy\" at once, "
	  "and answers every COMMAND; once they have ended, the next ib.fetch starts one" },
	{ NULL, NULL, 0, NULL, NULL }
};
