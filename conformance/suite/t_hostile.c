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

const struct cf_test cf_tests_hostile[] = {
	{ "hostile.pending-one-source", "LINK-15", 0, test_pending_one_source,
	  "One address opens 40 TCP connections and sends nothing: the IUT holds 1 to 16 of them "
	  "(max_pending_per_source), closes the rest at once, and a member from another address "
	  "links" },
	{ "hostile.pending-many-sources", "LINK-14 LINK-16 LINK-18 LINK-19", CF_SLOW,
	  test_pending_many_sources,
	  "450 addresses open a TCP connection each and send nothing: the IUT holds 16 to 256 of "
	  "them (max_pending), the ones it closed are the oldest, a member still links, one it "
	  "closes gets its ERROR, and once they close the IUT's descriptors are what they were" },
	{ "hostile.come-and-go", "LINK-18", CF_SLOW, test_come_and_go,
	  "Members link and leave, and strangers fail their TLS handshake, 200 times each: the "
	  "IUT's descriptors come back to what they were, and its memory stays within 2 MB" },
	{ NULL, NULL, 0, NULL, NULL }
};
