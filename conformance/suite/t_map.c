/* t_map.c - the tree map (spec section 16): the IUT announces its parent changes, reports the
 * children it loses, and hands the map it knows to a new child. */
#include "cf.h"

#include <string.h>

#define MAP_WAIT_MS 2000u


static const ib_id zero_id;

static void map_opts(struct cf_iut_opts *o)
{
	memset(o, 0, sizeof *o);
	o->reconnect_min_ms = 100;
	o->reconnect_max_ms = 400;
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

static bool send_error(struct cf_ctx *c, struct hn_peer *p, uint16_t code)
{
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_ERROR;
	m.u.error.code = code;
	if (hn_peer_send(p, &m, NULL, NULL, false, NULL) != IB_OK) {
		cf_harness_error(c, "cannot send ERROR");
		return false;
	}
	return true;
}

/* ---- [MAP-1] ANNOUNCE on every parent change ----------------------------------------------- */

static void test_announce_on_parent_change(struct cf_ctx *c)
{
	struct hn_peer *parent, *child;
	char addr[IB_MAX_ADDR];
	struct cf_iut_opts o;
	size_t mark;

	map_opts(&o);
	if (!(parent = cf_peer(c, 1)) || !cf_listen_parent(c, parent, addr))
		return;
	o.parents[o.nparents++] = addr;
	if (!cf_iut_start(c, &o) || !cf_wait_type(c, parent, IB_MSG_HELLO, 1, MAP_WAIT_MS))
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
	if (!send_error(c, parent, IB_EC_SHUTTING_DOWN))
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

static bool expect_parted(struct cf_ctx *c, struct hn_peer *observer, int lost,
			  const char *how)
{
	struct parted_wait w = { observer, cf_iut_id(c), cf_tester_id(c, lost) };

	cf_run_until(c, parted_arrived, &w, MAP_WAIT_MS);
	if (!cf_ok(c))
		return false;
	return cf_expect(c, has_parted(observer, w.origin, w.child), "MAP-2",
			 "the IUT originates PARTED naming the child it lost",
			 "after %s: %zu PARTED frame(s), none from the IUT naming T%d", how,
			 hn_peer_count(observer, IB_MSG_PARTED), lost);
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
	if (!send_error(c, leaving, IB_EC_SHUTTING_DOWN) ||
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
	struct cf_iut_opts o;
	struct burst_wait w;
	struct ib_msg m;

	map_opts(&o);
	if (!(parent = cf_peer(c, 1)) || !cf_listen_parent(c, parent, addr))
		goto out;
	o.parents[o.nparents++] = addr;
	if (!cf_iut_start(c, &o) || !cf_accept_child(c, parent, NULL, 0))
		goto out;
	hn_peer_unlisten(parent);
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

const struct cf_test cf_tests_map[] = {
	{ "map.announce-on-parent-change", "MAP-1", CF_NEEDS_CONFIG,
	  test_announce_on_parent_change,
	  "originate ANNOUNCE (flooded) naming the new parent on joining, and with parent all "
	  "zero on losing it" },
	{ "map.parted", "MAP-2", CF_NEEDS_CONFIG, test_parted,
	  "originate PARTED naming a child whose link was lost, whether it left or was cut" },
	{ "map.burst", "MAP-3", CF_NEEDS_CONFIG, test_burst,
	  "(SHOULD) send a new child the last ANNOUNCE of every origin known, its own included" },
	{ NULL, NULL, 0, NULL, NULL }
};
