/* t_map.c - the tree map (spec section 16): the IUT announces its parent changes, reports the
 * children it loses, and hands the map it knows to a new child. */
#include "cf.h"

#include <stdlib.h>
#include <string.h>

#define MAP_WAIT_MS 2000u


static const ib_id zero_id;

static void map_opts(struct cf_iut_opts *o)
{
	memset(o, 0, sizeof *o);
	o->reconnect_min_ms = 100;
	o->reconnect_max_ms = 400;
}

/* The IUT started as the child of T1 (*parent), which listens at addr (IB_MAX_ADDR) for
 * the HELLO exchange only: it no longer listens once the IUT is linked. */
static bool start_under_t1(struct cf_ctx *c, struct hn_peer **parent, char *addr)
{
	struct cf_iut_opts o;

	map_opts(&o);
	if (!cf_iut_start_toward(c, &o, 1, parent, addr) ||
	    !cf_accept_child(c, *parent, NULL, 0))
		return false;
	hn_peer_unlisten(*parent);
	return true;
}

/* Index of the first ANNOUNCE from origin naming parent, at or after from; SIZE_MAX if none. */
static size_t find_announce(struct hn_peer *p, size_t from, const ib_id *origin,
			    const ib_id *parent)
{
	struct ib_frame f;
	struct ib_msg m;

	for (size_t i = from; i < hn_peer_received(p); i++)
		if (hn_peer_got(p, i)->type == IB_MSG_ANNOUNCE && cf_got_msg(p, i, &f, &m) &&
		    ib_id_equal(&f.origin, origin) && ib_id_equal(&m.u.announce.parent, parent))
			return i;
	return SIZE_MAX;
}

struct announce_wait {
	struct hn_peer *p;
	size_t from;
	const ib_id *origin, *parent;
};

static bool announce_arrived(void *arg)
{
	struct announce_wait *w = arg;

	return find_announce(w->p, w->from, w->origin, w->parent) != SIZE_MAX ||
	       hn_peer_closed(w->p);
}

/* Waits for the IUT's ANNOUNCE naming parent at p (from frame `from` on). */
static bool expect_announce(struct cf_ctx *c, struct hn_peer *p, size_t from,
			    const ib_id *parent, const char *req, const char *expected)
{
	struct announce_wait w = { p, from, cf_iut_id(c), parent };

	cf_run_until(c, announce_arrived, &w, MAP_WAIT_MS);
	if (!cf_ok(c))
		return false;
	return cf_expect(c, find_announce(p, from, cf_iut_id(c), parent) != SIZE_MAX, req,
			 expected, "%zu ANNOUNCE frame(s) in all, none from the IUT naming %s%s",
			 hn_peer_count(p, IB_MSG_ANNOUNCE),
			 ib_id_is_zero(parent) ? "no parent" : "that parent",
			 hn_peer_closed(p) ? "; the link closed" : "");
}

/* ---- [MAP-1] ANNOUNCE on every parent change ----------------------------------------------- */

static void test_announce_on_parent_change(struct cf_ctx *c)
{
	struct hn_peer *parent, *child;
	char addr[IB_MAX_ADDR];
	struct cf_iut_opts o;
	size_t mark;

	map_opts(&o);
	if (!cf_iut_start_toward(c, &o, 1, &parent, addr) ||
	    !cf_wait_type(c, parent, IB_MSG_HELLO, 1, MAP_WAIT_MS))
		return;
	hn_peer_unlisten(parent);
	/* A child linked while the IUT is a root sees both changes. */
	if (!(child = cf_peer(c, 0)) || !cf_link_child(c, child))
		return;
	mark = hn_peer_received(child);
	if (!cf_accept_child(c, parent, NULL, 0))
		return;
	if (!expect_announce(c, parent, 0, cf_tester_id(c, 1), "MAP-1",
			     "on joining, the IUT originates ANNOUNCE naming its parent (to the "
			     "parent)") ||
	    !expect_announce(c, child, mark, cf_tester_id(c, 1), "MAP-1",
			     "the IUT's ANNOUNCE naming its new parent is flooded to its child"))
		return;
	mark = hn_peer_received(child);
	if (!cf_send_error(c, parent, IB_EC_SHUTTING_DOWN))
		return;
	expect_announce(c, child, mark, &zero_id, "MAP-1",
			"on losing its parent, the IUT originates ANNOUNCE with parent all zero");
}

/* ---- [MAP-2] PARTED when a child is lost --------------------------------------------------- */

struct parted_wait {
	struct hn_peer *p;
	const ib_id *origin, *child;
};

static bool has_parted(struct hn_peer *p, const ib_id *origin, const ib_id *child)
{
	struct ib_frame f;
	struct ib_msg m;

	for (size_t i = 0; i < hn_peer_received(p); i++)
		if (hn_peer_got(p, i)->type == IB_MSG_PARTED && cf_got_msg(p, i, &f, &m) &&
		    ib_id_equal(&f.origin, origin) && ib_id_equal(&m.u.parted.child, child))
			return true;
	return false;
}

static bool parted_arrived(void *arg)
{
	struct parted_wait *w = arg;

	return has_parted(w->p, w->origin, w->child) || hn_peer_closed(w->p);
}

/* Waits for the IUT's PARTED naming T<lost> at observer; req is the requirement judged. */
static bool expect_parted_req(struct cf_ctx *c, struct hn_peer *observer, int lost,
			      const char *how, const char *req)
{
	struct parted_wait w = { observer, cf_iut_id(c), cf_tester_id(c, lost) };

	cf_run_until(c, parted_arrived, &w, MAP_WAIT_MS);
	if (!cf_ok(c))
		return false;
	return cf_expect(c, has_parted(observer, w.origin, w.child), req,
			 "the IUT originates PARTED naming the child it lost",
			 "after %s: %zu PARTED frame(s), none from the IUT naming T%d", how,
			 hn_peer_count(observer, IB_MSG_PARTED), lost);
}

static bool expect_parted(struct cf_ctx *c, struct hn_peer *observer, int lost,
			  const char *how)
{
	return expect_parted_req(c, observer, lost, how, "MAP-2");
}

/* T1 leaves with an ERROR; T2 stops answering PINGs and the IUT cuts it: both are PARTED. */
static void test_parted(struct cf_ctx *c)
{
	struct hn_peer *observer, *leaving, *silent;
	struct cf_iut_opts o;

	map_opts(&o);
	o.keepalive_interval_ms = 150;
	o.keepalive_timeout_ms = 150;
	if (!cf_iut_start(c, &o) || !(observer = cf_peer(c, 0)) || !cf_link_child(c, observer) ||
	    !(leaving = cf_peer(c, 1)) || !cf_link_child(c, leaving))
		return;
	if (!cf_send_error(c, leaving, IB_EC_SHUTTING_DOWN) ||
	    !expect_parted(c, observer, 1, "the child T1 sent ERROR shutting_down"))
		return;
	if (!(silent = cf_peer(c, 2)))
		return;
	hn_peer_auto_pong(silent, false);
	if (!cf_link_child(c, silent) ||
	    !cf_wait_closed(c, silent, IB_EC_KEEPALIVE_TIMEOUT, "KA-4", MAP_WAIT_MS))
		return;
	expect_parted(c, observer, 2, "the IUT cut the silent child T2");
}

/* ---- [MAP-3] the map burst to a new child (SHOULD) ----------------------------------------- */

static bool has_frame(struct hn_peer *p, const struct ib_buf *frame)
{
	for (size_t i = 0; i < hn_peer_received(p); i++) {
		const struct hn_got *g = hn_peer_got(p, i);

		if (g->raw.len == frame->len && !memcmp(g->raw.ptr, frame->ptr, frame->len))
			return true;
	}
	return false;
}

struct burst_wait {
	struct hn_peer *p;
	const struct ib_buf *frame;
	const ib_id *iut, *parent;
};

static bool burst_arrived(void *arg)
{
	struct burst_wait *w = arg;

	return (has_frame(w->p, w->frame) && find_announce(w->p, 0, w->iut, w->parent) != SIZE_MAX) ||
	       hn_peer_closed(w->p);
}

static void test_burst(struct cf_ctx *c)
{
	struct ib_buf announce = { 0 };
	struct hn_peer *parent, *child;
	char addr[IB_MAX_ADDR];
	struct burst_wait w;
	struct ib_msg m;

	if (!start_under_t1(c, &parent, addr))
		goto out;
	/* The parent announces itself (a root); the IUT keeps that frame. */
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_ANNOUNCE;
	m.u.announce.role = IB_ROLE_SERVER;
	m.u.announce.name = (struct ib_slice){ (const uint8_t *)"T1", 2 };
	m.u.announce.software = (struct ib_slice){ (const uint8_t *)"tester", 6 };
	if (hn_peer_send(parent, &m, NULL, NULL, false, &announce) != IB_OK) {
		cf_harness_error(c, "cannot send ANNOUNCE");
		goto out;
	}
	/* A sentinel: once the IUT answers a command, it has taken the ANNOUNCE. */
	{
		uint16_t status;

		if (!cf_command(c, parent, NULL, "ib.ping", NULL, 0, &status, NULL))
			goto out;
	}
	if (!(child = cf_peer(c, 0)) || !cf_link_child(c, child))
		goto out;
	w = (struct burst_wait){ child, &announce, cf_iut_id(c), cf_tester_id(c, 1) };
	cf_run_until(c, burst_arrived, &w, MAP_WAIT_MS);
	if (!cf_ok(c))
		goto out;
	cf_expect(c, has_frame(child, &announce) &&
		  find_announce(child, 0, cf_iut_id(c), cf_tester_id(c, 1)) != SIZE_MAX, "MAP-3",
		  "a new child gets the last ANNOUNCE of every known origin: the parent's (byte for "
		  "byte) and the IUT's",
		  "parent's ANNOUNCE %s, IUT's ANNOUNCE %s",
		  has_frame(child, &announce) ? "received" : "missing",
		  find_announce(child, 0, cf_iut_id(c), cf_tester_id(c, 1)) != SIZE_MAX ? "received"
										     : "missing");
out:
	ib_buf_free(&announce);
}

/* ---- Helpers for the map's contents, as a new child's burst shows them -------------------- */

/* The map is seen only through the burst a new child gets ([MAP-3], a SHOULD; [MAP-4] makes
 * the node's own ANNOUNCE in it a MUST). */

/* Sends an ANNOUNCE of T<origin> through `via`, naming T<parent> (-1: no parent, -2: the IUT),
 * with seq (0: the next); a copy of the frame goes to frame (if not NULL). */
static bool announce_as(struct cf_ctx *c, struct hn_peer *via, int origin, int parent,
			uint64_t seq, struct ib_buf *frame)
{
	static const char *names[CF_TESTERS] = { "T0", "T1", "T2", "T3", "T4", "T5", "T6", "T7" };
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_ANNOUNCE;
	m.h.seq = seq ? seq : cf_next_seq(c, origin);
	if (parent >= 0)
		m.u.announce.parent = *cf_tester_id(c, parent);
	else if (parent == -2)
		m.u.announce.parent = *cf_iut_id(c);
	m.u.announce.role = IB_ROLE_SERVER;
	m.u.announce.name = (struct ib_slice){ (const uint8_t *)names[origin], 2 };
	m.u.announce.software = (struct ib_slice){ (const uint8_t *)"tester", 6 };
	if (hn_peer_send(via, &m, cf_tester_identity(c, origin), NULL, true, frame) != IB_OK) {
		cf_harness_error(c, "cannot send ANNOUNCE");
		return false;
	}
	return true;
}

/* PARTED of T<origin> naming T<child>, through `via`. */
static bool parted_as(struct cf_ctx *c, struct hn_peer *via, int origin, int child)
{
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PARTED;
	m.h.seq = cf_next_seq(c, origin);
	m.u.parted.child = *cf_tester_id(c, child);
	if (hn_peer_send(via, &m, cf_tester_identity(c, origin), NULL, true, NULL) != IB_OK) {
		cf_harness_error(c, "cannot send PARTED");
		return false;
	}
	return true;
}

/* Once the IUT answers a command from p, it has taken what p sent before. */
static bool synced(struct cf_ctx *c, struct hn_peer *p)
{
	uint16_t status;

	return cf_command(c, p, NULL, "ib.ping", NULL, 0, &status, NULL);
}

/* Whether p received an ANNOUNCE from origin (at or after frame `from`). */
static bool has_announce_of(struct hn_peer *p, const ib_id *origin)
{
	struct ib_frame f;
	struct ib_msg m;

	for (size_t i = 0; i < hn_peer_received(p); i++)
		if (hn_peer_got(p, i)->type == IB_MSG_ANNOUNCE && cf_got_msg(p, i, &f, &m) &&
		    ib_id_equal(&f.origin, origin))
			return true;
	return false;
}

/* A burst awaited at p: the IUT's own ANNOUNCE, and the marker frame (when not NULL). */
struct own_wait {
	struct cf_ctx *c;
	struct hn_peer *p;
	const struct ib_buf *marker;
};

static bool own_and_marker(void *arg)
{
	struct own_wait *w = arg;

	return (has_announce_of(w->p, cf_iut_id(w->c)) &&
		(!w->marker || has_frame(w->p, w->marker))) ||
	       hn_peer_closed(w->p);
}

/* Links T<tester> as a new child and lets its burst come: the IUT's own ANNOUNCE ([MAP-4]),
 * the marker frame when given (an ANNOUNCE every map keeps), then one command answered. A
 * burst without the marker is a node that sends no burst of the others' ANNOUNCEs
 * (UNSUPPORTED: [MAP-3] is a SHOULD). */
static struct hn_peer *new_child(struct cf_ctx *c, int tester, const struct ib_buf *marker)
{
	struct hn_peer *p = cf_peer(c, tester);
	struct own_wait w = { c, p, marker };

	if (!p || !cf_link_child(c, p))
		return NULL;
	cf_run_until(c, own_and_marker, &w, MAP_WAIT_MS);
	if (!cf_ok(c) ||
	    !cf_expect(c, has_announce_of(p, cf_iut_id(c)), "MAP-4",
		       "a new child gets the IUT's own last ANNOUNCE after the HELLO exchange",
		       "T%d got %zu ANNOUNCE frame(s), none from the IUT%s", tester,
		       hn_peer_count(p, IB_MSG_ANNOUNCE), hn_peer_closed(p) ? "; the link closed" : ""))
		return NULL;
	if (marker && !has_frame(p, marker)) {
		cf_unsupported(c, "no map burst: a new child got no ANNOUNCE of the other nodes the "
			       "IUT knows ([MAP-3] is a SHOULD)");
		return NULL;
	}
	return synced(c, p) ? p : NULL;
}

/* The verdict on one frame that the burst to `child` must (or must not) hold. */
static bool expect_in_burst(struct cf_ctx *c, struct hn_peer *child, const struct ib_buf *frame,
			    bool wanted, const char *req, const char *expected)
{
	bool got = has_frame(child, frame);

	return cf_expect(c, got == wanted, req, expected, "the new child %s it",
			 got ? "got" : "did not get");
}

/* ---- [MAP-4] a root announces itself at start -------------------------------------------- */

/* The IUT starts as a root with no link: its ANNOUNCE (parent all zero) reaches nobody then,
 * but it is kept, and each new child gets it, the same frame, signed before the child came. */
static void test_root_announces(struct cf_ctx *c)
{
	struct hn_peer *first, *second;
	struct cf_iut_opts o;
	uint64_t before;
	size_t i;
	struct ib_frame f;
	struct ib_msg m;
	const struct hn_got *g = NULL;

	map_opts(&o);
	if (!cf_iut_start(c, &o))
		return;
	cf_run_for(c, 50); /* virtual time too moves between the start and the link */
	before = cf_unix_us(c);
	if (!(first = new_child(c, 0, NULL)))
		return;
	i = find_announce(first, 0, cf_iut_id(c), &zero_id);
	if (!cf_expect(c, i != SIZE_MAX, "MAP-4",
		       "a root's ANNOUNCE names no parent (all zero)",
		       "the IUT's ANNOUNCE names a parent") ||
	    !cf_got_msg(first, i, &f, &m))
		return;
	if (!cf_expect(c, m.h.seq < before, "MAP-4",
		       "the ANNOUNCE was originated at start, before any link (its seq is older "
		       "than the child's link)",
		       "its seq is %llu us after the child started to link",
		       (unsigned long long)(m.h.seq - before)))
		return;
	g = hn_peer_got(first, i);
	if (!(second = new_child(c, 1, NULL)))
		return;
	cf_expect(c, cf_copies(second, g->raw.ptr, g->raw.len) == 1, "MAP-4",
		  "the next new child gets the same kept ANNOUNCE frame, byte for byte",
		  "T1 got %zu copies of it (%zu ANNOUNCE frames)",
		  cf_copies(second, g->raw.ptr, g->raw.len), hn_peer_count(second, IB_MSG_ANNOUNCE));
}

/* ---- [MAP-5] the newest ANNOUNCE of an origin is the greatest seq ------------------------ */

/* T3's two ANNOUNCEs come in the wrong order (both inside its window): the one kept, and
 * given to a new child, is the newer by seq, not the last to arrive. */
static void test_newest_kept(struct cf_ctx *c)
{
	struct ib_buf newer = { 0 }, older = { 0 }, marker = { 0 };
	struct hn_peer *via, *child;
	struct cf_iut_opts o;
	uint64_t seq;

	map_opts(&o);
	if (!cf_iut_start(c, &o) || !(via = cf_peer(c, 1)) || !cf_link_child(c, via))
		goto out;
	seq = cf_next_seq(c, 3);
	if (!announce_as(c, via, 1, -2, 0, &marker) ||
	    !announce_as(c, via, 3, 1, seq + 20, &newer) ||
	    !announce_as(c, via, 3, 2, seq, &older) || !synced(c, via))
		goto out;
	if (!(child = new_child(c, 0, &marker)))
		goto out;
	if (expect_in_burst(c, child, &newer, true, "MAP-5",
			    "the kept ANNOUNCE of T3 is its greatest seq, though it arrived first"))
		expect_in_burst(c, child, &older, false, "MAP-5",
				"an older ANNOUNCE of T3 (smaller seq, arrived last) replaces nothing");
out:
	ib_buf_free(&newer);
	ib_buf_free(&older);
	ib_buf_free(&marker);
}

/* ---- [MAP-6] PARTED prunes the child and its subtree ------------------------------------- */

/* Under the IUT: T1, below it T3 and T5, below T3 T4. T1 reports it lost T3: T3 and T4 leave
 * the map, T1 and T5 stay, and T6, announced next, joins them. Then T1 itself leaves: the IUT
 * parts it, and T5 goes with it. */
static void test_parted_prunes(struct cf_ctx *c)
{
	struct ib_buf a1 = { 0 }, a3 = { 0 }, a4 = { 0 }, a5 = { 0 }, a6 = { 0 };
	struct hn_peer *t1, *child, *later;
	struct cf_iut_opts o;

	map_opts(&o);
	if (!cf_iut_start(c, &o) || !(t1 = cf_peer(c, 1)) || !cf_link_child(c, t1))
		goto out;
	if (!announce_as(c, t1, 1, -2, 0, &a1) || !announce_as(c, t1, 3, 1, 0, &a3) ||
	    !announce_as(c, t1, 4, 3, 0, &a4) || !announce_as(c, t1, 5, 1, 0, &a5) ||
	    !synced(c, t1))
		goto out;
	/* Whether the IUT sends a burst at all (a SHOULD, [MAP-3]) is decided before the PARTED:
	 * after it, a burst without T1 is a PARTED that pruned too much, not a missing burst. */
	if (!new_child(c, 2, &a1) || !parted_as(c, t1, 1, 3) ||
	    /* T6 joins under T1 after the pruning: its entry takes a place T3 or T4 left. */
	    !announce_as(c, t1, 6, 1, 0, &a6) || !synced(c, t1))
		goto out;
	if (!(child = new_child(c, 0, NULL)))
		goto out;
	if (!expect_in_burst(c, child, &a1, true, "MAP-6",
			     "PARTED of T3 leaves T1, its parent, in the map") ||
	    !expect_in_burst(c, child, &a5, true, "MAP-6",
			     "PARTED of T3 leaves its sibling T5 in the map") ||
	    !expect_in_burst(c, child, &a6, true, "MAP-6",
			     "the pruning leaves the map sound: T6, announced after it, is in the "
			     "map, its ANNOUNCE given to new children byte for byte") ||
	    !expect_in_burst(c, child, &a3, false, "MAP-6",
			     "after T1's PARTED naming T3, T3's ANNOUNCE is no longer given to new "
			     "children") ||
	    !expect_in_burst(c, child, &a4, false, "MAP-6",
			     "after T1's PARTED naming T3, T4 (below T3) leaves the map too"))
		goto out;
	/* The IUT loses T1: its own PARTED prunes its map the same way. */
	if (!cf_send_error(c, t1, IB_EC_SHUTTING_DOWN) ||
	    !expect_parted(c, child, 1, "the child T1 sent ERROR shutting_down"))
		goto out;
	if (!(later = new_child(c, 6, NULL)))
		goto out;
	if (expect_in_burst(c, later, &a1, false, "MAP-6",
			    "after the IUT parted T1, T1's ANNOUNCE is no longer given to new "
			    "children"))
		expect_in_burst(c, later, &a5, false, "MAP-6",
				"after the IUT parted T1, T5 (below T1) leaves its map too");
out:
	ib_buf_free(&a1);
	ib_buf_free(&a3);
	ib_buf_free(&a4);
	ib_buf_free(&a5);
	ib_buf_free(&a6);
}

/* T3 moves from under T1 to under T2 and announces it; T1's PARTED naming T3 comes after:
 * it is stale, T3 stays in the map under T2. */
static void test_parted_after_move(struct cf_ctx *c)
{
	struct ib_buf a1 = { 0 }, under1 = { 0 }, under2 = { 0 };
	struct hn_peer *t1, *t2, *child;
	struct cf_iut_opts o;

	map_opts(&o);
	if (!cf_iut_start(c, &o) || !(t1 = cf_peer(c, 1)) || !cf_link_child(c, t1) ||
	    !(t2 = cf_peer(c, 2)) || !cf_link_child(c, t2))
		goto out;
	if (!announce_as(c, t1, 1, -2, 0, &a1) || !announce_as(c, t1, 3, 1, 0, &under1) ||
	    !synced(c, t1) || !announce_as(c, t2, 3, 2, 0, &under2) || !synced(c, t2))
		goto out;
	/* A burst at all ([MAP-3], a SHOULD) is decided before the PARTED, as in parted-prunes. */
	if (!new_child(c, 4, &a1) || !parted_as(c, t1, 1, 3) || !synced(c, t1))
		goto out;
	if (!(child = new_child(c, 0, NULL)))
		goto out;
	if (!expect_in_burst(c, child, &a1, true, "MAP-6", "a stale PARTED from T1 leaves T1 in "
			     "the map"))
		goto out;
	expect_in_burst(c, child, &under2, true, "MAP-6",
			"a PARTED from T1 naming T3, whose newest ANNOUNCE names T2, removes nothing: "
			"new children still get T3's ANNOUNCE under T2");
out:
	ib_buf_free(&a1);
	ib_buf_free(&under1);
	ib_buf_free(&under2);
}

/* ---- [MAP-7] [MAP-8] the parent lost, then found again -------------------------------- */

/* The IUT under T1 learns T1 and T3 (below T1). T1 goes: a new child of the IUT (now a root)
 * gets neither. T1 takes the IUT back and sends its burst again, the same frames, which the
 * IUT's window drops as seen: its map takes them all the same, and the next new child gets
 * them. */
static void test_parent_lost(struct cf_ctx *c)
{
	struct ib_buf a1 = { 0 }, a3 = { 0 };
	struct hn_peer *parent, *again, *child, *later;
	char addr[IB_MAX_ADDR];
	uint16_t port;

	if (!start_under_t1(c, &parent, addr))
		goto out;
	port = (uint16_t)atoi(strrchr(addr, ':') + 1);
	if (!announce_as(c, parent, 1, -1, 0, &a1) || !announce_as(c, parent, 3, 1, 0, &a3) ||
	    !synced(c, parent) || !cf_send_error(c, parent, IB_EC_SHUTTING_DOWN))
		goto out;
	/* Its parent gone (and its address refusing), the IUT announces itself as a root. */
	if (!(child = new_child(c, 0, NULL)))
		goto out;
	if (!cf_expect(c, find_announce(child, 0, cf_iut_id(c), &zero_id) != SIZE_MAX, "MAP-1",
		       "after losing its parent the IUT's last ANNOUNCE names no parent",
		       "it names a parent") ||
	    !expect_in_burst(c, child, &a1, false, "MAP-7",
			     "once the IUT lost its parent T1, a new child does not get T1's "
			     "ANNOUNCE (out of reach)") ||
	    !expect_in_burst(c, child, &a3, false, "MAP-7",
			     "once the IUT lost its parent T1, a new child does not get T3's "
			     "ANNOUNCE (below T1, out of reach)"))
		goto out;
	/* T1 is back on the same address, takes the IUT, and sends the map it keeps. */
	if (!(again = cf_peer(c, 1)) || hn_peer_listen(again, &port) != IB_OK) {
		cf_harness_error(c, "cannot listen again on %s", addr);
		goto out;
	}
	if (!cf_accept_child(c, again, NULL, 0) || hn_peer_send_raw(again, a1.ptr, a1.len) ||
	    hn_peer_send_raw(again, a3.ptr, a3.len) || !synced(c, again))
		goto out;
	if (!(later = new_child(c, 2, NULL)))
		goto out;
	if (expect_in_burst(c, later, &a1, true, "MAP-8",
			    "the IUT rejoined T1, whose burst resent T1's ANNOUNCE (a replay for the "
			    "IUT's window): the map took it, the next new child gets it"))
		expect_in_burst(c, later, &a3, true, "MAP-8",
				"the same for T3's ANNOUNCE, resent in T1's burst");
out:
	ib_buf_free(&a1);
	ib_buf_free(&a3);
}

/* ---- [MAP-9] ANNOUNCE on a path change ---------------------------------------------------- */

/* The IUT's parent T1 reports a new path (it joined T2): the IUT's parent is the same, its path
 * is not, and it announces itself again. */
static void test_announce_on_path_change(struct cf_ctx *c)
{
	struct hn_peer *parent;
	char addr[IB_MAX_ADDR];
	ib_id path[2];
	struct ib_msg m;
	size_t mark;

	if (!start_under_t1(c, &parent, addr))
		return;
	if (!expect_announce(c, parent, 0, cf_tester_id(c, 1), "MAP-1",
			     "on joining, the IUT originates ANNOUNCE naming its parent") ||
	    !synced(c, parent))
		return;
	mark = hn_peer_received(parent);
	path[0] = *cf_tester_id(c, 2);
	path[1] = *cf_tester_id(c, 1);
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PATH;
	m.u.path = (struct ib_path){ 2, path[0].b };
	if (hn_peer_send(parent, &m, NULL, NULL, false, NULL) != IB_OK) {
		cf_harness_error(c, "cannot send PATH");
		return;
	}
	expect_announce(c, parent, mark, cf_tester_id(c, 1), "MAP-9",
			"when its path changes (PATH from its parent), the IUT originates ANNOUNCE "
			"again, naming the same parent");
}

/* ---- [MAP-11] which closed links are parted ---------------------------------------------- */

/* PARTED frames from the IUT naming `child` that p received. */
static size_t count_parted(struct cf_ctx *c, struct hn_peer *p, const ib_id *child)
{
	struct ib_frame f;
	struct ib_msg m;
	size_t n = 0;

	for (size_t i = 0; i < hn_peer_received(p); i++)
		n += hn_peer_got(p, i)->type == IB_MSG_PARTED && cf_got_msg(p, i, &f, &m) &&
		     ib_id_equal(&f.origin, cf_iut_id(c)) && ib_id_equal(&m.u.parted.child, child);
	return n;
}

/* The IUT closes a child link itself: T1 sends a second HELLO, and the IUT closes with
 * `protocol_violation` ([LINK-6]). The child was linked: the IUT parts it, as it would a
 * child that left. */
static void test_parted_closed_by_iut(struct cf_ctx *c)
{
	struct hn_peer *observer, *bad;

	if (!cf_iut_start(c, NULL) || !(observer = cf_peer(c, 0)) || !cf_link_child(c, observer) ||
	    !(bad = cf_peer(c, 1)) || !cf_link_child(c, bad))
		return;
	if (hn_peer_send_hello(bad, IB_ROLE_SERVER, 30000, NULL, 0) != IB_OK) {
		cf_harness_error(c, "cannot send HELLO");
		return;
	}
	if (!cf_wait_closed(c, bad, IB_EC_PROTOCOL_VIOLATION, "LINK-6", MAP_WAIT_MS))
		return;
	if (!expect_parted_req(c, observer, 1,
			       "the IUT closed T1's link with protocol_violation (a second HELLO)",
			       "MAP-11"))
		return;
	cf_expect(c, count_parted(c, observer, cf_tester_id(c, 1)) == 1, "MAP-11",
		  "one PARTED for one closed child link", "%zu PARTED naming T1",
		  count_parted(c, observer, cf_tester_id(c, 1)));
}

/* A mode = client IUT takes a child while its parent has not answered yet, then joins and
 * sends the child away with no_children_accepted ([TREE-3]): its new parent hears PARTED. */
static void test_parted_kick(struct cf_ctx *c)
{
	struct hn_peer *parent, *early;
	char addr[IB_MAX_ADDR];
	struct cf_iut_opts o;

	map_opts(&o);
	o.client_mode = true;
	if (!cf_iut_start_toward(c, &o, 1, &parent, addr) ||
	    !cf_wait_type(c, parent, IB_MSG_HELLO, 1, MAP_WAIT_MS) ||
	    !(early = cf_peer(c, 0)) || !cf_link_child(c, early) ||
	    !cf_accept_child(c, parent, NULL, 0))
		return;
	hn_peer_unlisten(parent);
	if (!cf_wait_closed(c, early, IB_EC_NO_CHILDREN_ACCEPTED, "TREE-3", MAP_WAIT_MS))
		return;
	{
		struct parted_wait w = { parent, cf_iut_id(c), cf_tester_id(c, 0) };

		cf_run_until(c, parted_arrived, &w, MAP_WAIT_MS);
	}
	if (!cf_ok(c))
		return;
	cf_expect(c, count_parted(c, parent, cf_tester_id(c, 0)) == 1, "MAP-11",
		  "a child the IUT sends away on joining a parent ([TREE-3]) is parted: its new "
		  "parent gets PARTED naming it",
		  "the parent got %zu PARTED naming T0 (%zu PARTED in all)",
		  count_parted(c, parent, cf_tester_id(c, 0)), hn_peer_count(parent, IB_MSG_PARTED));
}

/* The IUT's owner removes T2's key: the IUT closes T2's link with revoked ([MEMBER-2]) and
 * parts it. */
static void test_parted_revoked(struct cf_ctx *c)
{
	struct hn_peer *observer, *revoked;
	struct cf_iut_opts o;

	map_opts(&o);
	if (!cf_iut_start(c, &o) || !(observer = cf_peer(c, 0)) || !cf_link_child(c, observer) ||
	    !(revoked = cf_peer(c, 2)) || !cf_link_child(c, revoked) ||
	    !cf_iut_reload(c, 1u << 2, 0) ||
	    !cf_wait_closed(c, revoked, IB_EC_REVOKED, "MEMBER-2", MAP_WAIT_MS))
		return;
	expect_parted_req(c, observer, 2, "the IUT closed T2's link with revoked (key removed)",
			  "MAP-11");
}

/* T3 links as a child, then refuses the IUT's HELLO ([TREE-5]: it sends ERROR loop_detected
 * after it). For the IUT the link was open, a child's: it parts T3, though T3 never
 * announced itself under the IUT. */
static void test_parted_refused_hello(struct cf_ctx *c)
{
	struct hn_peer *observer, *refusing;

	if (!cf_iut_start(c, NULL) || !(observer = cf_peer(c, 0)) || !cf_link_child(c, observer) ||
	    !(refusing = cf_peer(c, 3)) || !cf_link_child(c, refusing) ||
	    !cf_send_error(c, refusing, IB_EC_LOOP_DETECTED))
		return;
	expect_parted_req(c, observer, 3,
			  "T3 refused the IUT's HELLO with ERROR loop_detected (the IUT had sent "
			  "HELLO: a child link)", "MAP-11");
}

/* A second T0 connects while T0 is linked: the IUT refuses it in HELLO-WAIT
 * (duplicate_identity, [TREE-8]). That was never a child link: no PARTED, which would take
 * the live T0 off every map. When T0 itself leaves, one PARTED. */
static void test_no_parted_before_open(struct cf_ctx *c)
{
	struct hn_peer *t0, *observer, *twin;

	if (!cf_iut_start(c, NULL) || !(t0 = cf_peer(c, 0)) || !cf_link_child(c, t0) ||
	    !(observer = cf_peer(c, 1)) || !cf_link_child(c, observer) ||
	    !(twin = cf_peer(c, 0)) || !cf_connect(c, twin))
		return;
	if (hn_peer_send_hello(twin, IB_ROLE_SERVER, 30000, NULL, 0) != IB_OK) {
		cf_harness_error(c, "cannot send HELLO");
		return;
	}
	if (!cf_wait_closed(c, twin, IB_EC_DUPLICATE_IDENTITY, "TREE-8", MAP_WAIT_MS) ||
	    !synced(c, observer))
		return;
	if (!cf_expect(c, count_parted(c, observer, cf_tester_id(c, 0)) == 0, "MAP-11",
		       "no PARTED for a connection refused before the IUT sent HELLO on it",
		       "after refusing T0's second connection (duplicate_identity), the IUT sent "
		       "%zu PARTED naming T0, whose first link is up",
		       count_parted(c, observer, cf_tester_id(c, 0))) ||
	    !cf_send_error(c, t0, IB_EC_SHUTTING_DOWN) ||
	    !expect_parted(c, observer, 0, "the child T0 sent ERROR shutting_down"))
		return;
	cf_expect(c, count_parted(c, observer, cf_tester_id(c, 0)) == 1, "MAP-11",
		  "one PARTED naming T0, for its one child link",
		  "%zu PARTED naming T0", count_parted(c, observer, cf_tester_id(c, 0)));
}

/* ---- [MAP-12] [MAP-13] the burst: right after HELLO, without the child's own ANNOUNCE ---- */

#define FIRST_STEP_MS 5u        /* T1 sends a PUBLISH this often while T0 links */
#define FIRST_FRAMES 60u        /* for this many steps at most */

/* The burst is in (the IUT's own ANNOUNCE and the marker) and a PUBLISH came after it. */
static bool burst_and_traffic(void *arg)
{
	struct own_wait *w = arg;

	return (has_announce_of(w->p, cf_iut_id(w->c)) && has_frame(w->p, w->marker) &&
		hn_peer_count(w->p, IB_MSG_PUBLISH) > 0) ||
	       hn_peer_closed(w->p);
}

/* Index of the last frame of p's burst: the IUT's own ANNOUNCE or the marker, whichever came
 * later; SIZE_MAX if either is missing. */
static size_t burst_end(struct cf_ctx *c, struct hn_peer *p, const struct ib_buf *marker)
{
	size_t own = SIZE_MAX, mark = SIZE_MAX;
	struct ib_frame f;
	struct ib_msg m;

	for (size_t i = 0; i < hn_peer_received(p); i++) {
		const struct hn_got *g = hn_peer_got(p, i);

		if (g->type == IB_MSG_ANNOUNCE && own == SIZE_MAX && cf_got_msg(p, i, &f, &m) &&
		    ib_id_equal(&f.origin, cf_iut_id(c)))
			own = i;
		if (mark == SIZE_MAX && g->raw.len == marker->len &&
		    !memcmp(g->raw.ptr, marker->ptr, marker->len))
			mark = i;
	}
	if (own == SIZE_MAX || mark == SIZE_MAX)
		return SIZE_MAX;
	return own > mark ? own : mark;
}

/* While T0 links, its sibling T1 floods a PUBLISH every 5 ms: the IUT forwards them to T0 as
 * soon as T0's link is open, but the burst (its own ANNOUNCE and T1's) must come first, right
 * after the IUT's HELLO, with no PUBLISH between. */
static void test_burst_first(struct cf_ctx *c)
{
	struct ib_buf marker = { 0 };
	struct hn_peer *t1, *t0;
	struct own_wait w;
	size_t end, first_pub = SIZE_MAX;

	if (!cf_iut_start(c, NULL) || !(t1 = cf_peer(c, 1)) || !cf_link_child(c, t1) ||
	    !announce_as(c, t1, 1, -2, 0, &marker) || !synced(c, t1) ||
	    !(t0 = cf_peer(c, 0)) || !cf_connect(c, t0))
		goto out;
	if (hn_peer_send_hello(t0, IB_ROLE_SERVER, 30000, NULL, 0) != IB_OK) {
		cf_harness_error(c, "cannot send HELLO");
		goto out;
	}
	w = (struct own_wait){ c, t0, &marker };
	for (unsigned k = 0; k < FIRST_FRAMES && !burst_and_traffic(&w); k++) {
		char value[32];
		struct ib_msg m;

		snprintf(value, sizeof value, "frame %u", k);
		cf_msg_publish(&m, "conform-map-burst-first", k + 1, value);
		if (hn_peer_send(t1, &m, NULL, NULL, false, NULL) != IB_OK) {
			cf_harness_error(c, "cannot send PUBLISH");
			goto out;
		}
		cf_run_until(c, burst_and_traffic, &w, FIRST_STEP_MS);
		if (!cf_ok(c))
			goto out;
	}
	cf_run_until(c, burst_and_traffic, &w, MAP_WAIT_MS);
	if (!cf_ok(c) ||
	    !cf_expect(c, hn_peer_count(t0, IB_MSG_HELLO) == 1 && !hn_peer_closed(t0), "TREE-4",
		       "the IUT accepts an authorized child (HELLO answered, link kept)",
		       "%zu HELLO, link %s", hn_peer_count(t0, IB_MSG_HELLO),
		       hn_peer_closed(t0) ? "closed" : "open"))
		goto out;
	if (!has_frame(t0, &marker) && has_announce_of(t0, cf_iut_id(c))) {
		cf_unsupported(c, "no map burst: a new child got no ANNOUNCE of the other nodes the "
			       "IUT knows ([MAP-3] is a SHOULD)");
		goto out;
	}
	end = burst_end(c, t0, &marker);
	for (size_t i = 0; i < hn_peer_received(t0); i++)
		if (hn_peer_got(t0, i)->type == IB_MSG_PUBLISH) {
			first_pub = i;
			break;
		}
	if (!cf_expect(c, end != SIZE_MAX && first_pub != SIZE_MAX, "FLOOD-1",
		       "the new child gets the burst (the IUT's ANNOUNCE and T1's) and the "
		       "PUBLISHes its sibling floods",
		       "IUT's ANNOUNCE %s, T1's ANNOUNCE %s, %zu PUBLISH",
		       has_announce_of(t0, cf_iut_id(c)) ? "received" : "missing",
		       has_frame(t0, &marker) ? "received" : "missing",
		       hn_peer_count(t0, IB_MSG_PUBLISH)))
		goto out;
	cf_expect(c, hn_peer_got(t0, 0)->type == IB_MSG_HELLO && end < first_pub, "MAP-12",
		  "the burst right after the IUT's HELLO, before any frame it forwards",
		  "frame %zu is the first forwarded PUBLISH, frame %zu the end of the burst "
		  "(frame 0 is %s)", first_pub, end, ib_msg_type_name(hn_peer_got(t0, 0)->type));
out:
	ib_buf_free(&marker);
}

/* The IUT learns, through its child T1, that T0 is below T1. T0 then links to the IUT
 * directly (it moved, and has not announced it yet): its burst has T1's ANNOUNCE but not T0's
 * own old one. */
static void test_burst_not_child_own(struct cf_ctx *c)
{
	struct ib_buf a1 = { 0 }, a0 = { 0 };
	struct hn_peer *t1, *t0;

	if (!cf_iut_start(c, NULL) || !(t1 = cf_peer(c, 1)) || !cf_link_child(c, t1) ||
	    !announce_as(c, t1, 1, -2, 0, &a1) || !announce_as(c, t1, 0, 1, 0, &a0) ||
	    !synced(c, t1))
		goto out;
	if (!(t0 = new_child(c, 0, &a1)))
		goto out;
	expect_in_burst(c, t0, &a0, false, "MAP-13",
			"the burst to T0 leaves out T0's own ANNOUNCE (kept from when T0 was below "
			"T1)");
out:
	ib_buf_free(&a1);
	ib_buf_free(&a0);
}

const struct cf_test cf_tests_map[] = {
	{ "map.announce-on-parent-change", "MAP-1", CF_NEEDS_CONFIG,
	  test_announce_on_parent_change,
	  "originate ANNOUNCE (flooded) naming the new parent on joining, and with parent all "
	  "zero on losing it" },
	{ "map.parted", "MAP-2", CF_NEEDS_CONFIG, test_parted,
	  "originate PARTED naming a child whose link was lost, whether it left or was cut" },
	{ "map.burst", "MAP-3", CF_NEEDS_CONFIG, test_burst,
	  "(SHOULD) send a new child the last ANNOUNCE of every origin known, its own included" },
	{ "map.root-announces", "MAP-4", CF_NEEDS_CONFIG, test_root_announces,
	  "a node starting as a root originates ANNOUNCE (parent all zero) before any link, keeps "
	  "it, and gives that same frame to each new child" },
	{ "map.newest-kept", "MAP-5", CF_NEEDS_CONFIG, test_newest_kept,
	  "of two ANNOUNCEs of one origin, the map keeps (and a new child gets) the greater seq, "
	  "not the last to arrive" },
	{ "map.parted-prunes", "MAP-6 MAP-2", CF_NEEDS_CONFIG, test_parted_prunes,
	  "a PARTED (received, or the IUT's own) removes the child and the nodes below it from "
	  "the map: new children no longer get their ANNOUNCEs" },
	{ "map.parted-after-move", "MAP-6", CF_NEEDS_CONFIG, test_parted_after_move,
	  "a PARTED naming a node whose newest ANNOUNCE names another parent is stale: it "
	  "removes nothing" },
	{ "map.parent-lost", "MAP-7 MAP-8", CF_NEEDS_CONFIG, test_parent_lost,
	  "a node that lost its parent drops the map outside its subtree; on rejoining, the map "
	  "takes the ANNOUNCEs its new parent resends though its window drops them" },
	{ "map.announce-on-path-change", "MAP-9", CF_NEEDS_CONFIG, test_announce_on_path_change,
	  "originate ANNOUNCE when the path changes, even with the same parent" },
	{ "map.parted-closed-by-iut", "MAP-11 MAP-2", 0, test_parted_closed_by_iut,
	  "originate PARTED, once, for a child link the IUT closes itself (protocol_violation for "
	  "a second HELLO)" },
	{ "map.parted-kick", "MAP-11", CF_NEEDS_CONFIG, test_parted_kick,
	  "a mode = client node that joins a parent and sends its children away "
	  "(no_children_accepted) originates PARTED for each" },
	{ "map.parted-revoked", "MAP-11", CF_NEEDS_CONFIG | CF_NEEDS_RELOAD, test_parted_revoked,
	  "originate PARTED for a child link closed because its key was removed (revoked)" },
	{ "map.parted-refused-hello", "MAP-11", 0, test_parted_refused_hello,
	  "originate PARTED for a child that refused the IUT's HELLO: the IUT had sent HELLO, "
	  "the link was a child link" },
	{ "map.no-parted-before-open", "MAP-11", 0, test_no_parted_before_open,
	  "no PARTED for a connection refused before the IUT sent HELLO (a duplicate identity): "
	  "only the child link's own close is parted, once" },
	{ "map.burst-first", "MAP-12", 0, test_burst_first,
	  "the map burst follows the IUT's HELLO at once: no frame it forwards (a sibling floods "
	  "meanwhile) comes before the end of the burst" },
	{ "map.burst-not-child-own", "MAP-13", 0, test_burst_not_child_own,
	  "the burst to a new child leaves out that child's own ANNOUNCE, kept from its earlier "
	  "place in the tree" },
	{ NULL, NULL, 0, NULL, NULL }
};
