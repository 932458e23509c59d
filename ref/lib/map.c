/*
 * map.c - the tree map (spec section 16): every node announces itself when its parent
 * changes, a parent tells when it loses a child, and a new child is given the ANNOUNCE frames
 * its parent knows, so that every node can draw the whole tree without asking.
 */
#include "node_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct map_entry *find(struct ib_node *n, const ib_id *id)
{
	for (size_t i = 0; i < n->map_count; i++)
		if (ib_id_equal(&n->map[i].id, id))
			return &n->map[i];
	return NULL;
}

static struct map_entry *find_or_add(struct ib_node *n, const ib_id *id)
{
	struct map_entry *e = find(n, id);

	if (e)
		return e;
	if (n->map_count == n->map_cap) {
		size_t cap = n->map_cap ? 2 * n->map_cap : 16;
		struct map_entry *grown = realloc(n->map, cap * sizeof *grown);

		if (!grown)
			return NULL;
		n->map = grown;
		n->map_cap = cap;
	}
	e = &n->map[n->map_count++];
	memset(e, 0, sizeof *e);
	e->id = *id;
	return e;
}

static void remove_at(struct ib_node *n, size_t i)
{
	ib_buf_free(&n->map[i].announce);
	n->map[i] = n->map[--n->map_count];
}

/* Keeps what an ANNOUNCE says, and the frame itself for the next new child ([MAP-3]), unless
 * the map holds a newer one of that origin. */
static void remember(struct ib_node *n, const ib_id *origin, uint64_t seq,
		     const struct ib_announce *a, const uint8_t *frame, size_t len)
{
	struct map_entry *e = find(n, origin);

	/* [MAP-5] newer is a greater seq, not a later arrival: two ANNOUNCEs of one origin can
	 * overtake each other on different branches, and the window takes both ([FLOOD-3]).
	 * FAULT map-keeps-last-arrived: the last one to arrive is kept. */
	if (e && seq <= e->seq && !IB_FAULT(n, map_keeps_last_arrived))
		return;
	if (!e && !(e = find_or_add(n, origin)))
		return;
	e->parent = a->parent;
	e->role = a->role;
	snprintf(e->name, sizeof e->name, "%.*s", (int)a->name.len, (const char *)a->name.ptr);
	snprintf(e->software, sizeof e->software, "%.*s", (int)a->software.len,
		 (const char *)a->software.ptr);
	e->seen_unix_us = node_unix_us(n);
	e->seq = seq;
	ib_buf_reset(&e->announce);
	ib_buf_put(&e->announce, frame, len);
}

static bool any_link_open(const struct ib_node *n)
{
	for (const struct ib_link *l = n->links; l; l = l->next)
		if (link_open(l))
			return true;
	return false;
}

/* [MAP-1] [MAP-4] [MAP-9] this node's place, to everyone: at start (to nobody yet, but kept
 * for the children to come), and whenever its parent or its path changes. */
void map_announce(struct ib_node *n)
{
	static const char software[] = IB_SOFTWARE_NAME "/" IB_SOFTWARE_VERSION;
	const struct map_entry *self = find(n, ib_node_id(n));
	struct ib_buf frame = { 0 };
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_ANNOUNCE;
	if (n->parent)
		m.u.announce.parent = n->parent->peer_id;
	/* FAULT no-announce-while-linkless, breaks [MAP-4]: nobody would hear it, so it is
	 * neither sent nor kept. FAULT no-announce-on-path-change, breaks [MAP-9]: only a new
	 * parent is announced. */
	if (IB_FAULT(n, no_announce_while_linkless) && !any_link_open(n))
		return;
	if (IB_FAULT(n, no_announce_on_path_change) && self &&
	    ib_id_equal(&self->parent, &m.u.announce.parent))
		return;
	m.u.announce.role = n->cfg.mode;
	m.u.announce.name = (struct ib_slice){ (const uint8_t *)n->cfg.name, strlen(n->cfg.name) };
	m.u.announce.software = (struct ib_slice){ (const uint8_t *)software, sizeof software - 1 };
	if (node_sign(n, &m, &frame) == IB_OK && flood_send_frame(n, &m, frame.ptr, frame.len) == IB_OK)
		remember(n, ib_node_id(n), m.h.seq, &m.u.announce, frame.ptr, frame.len);
	ib_buf_free(&frame);
}

/* [MAP-3] what we know of the tree, for a new child; it floods them on to its subtree. Our
 * own ANNOUNCE is always in it ([MAP-4]): a root has nobody else to announce it. [MAP-12]
 * hello.c calls this right after sending HELLO, in the same turn, so nothing else can be
 * queued on the link before the burst. */
void map_burst(struct ib_node *n, struct ib_link *child)
{
#ifdef IB_FAULTS
	/* FAULT burst-after-traffic, breaks [MAP-12]: the burst waits behind the first other
	 * frame sent on the link (link_send sends it then, see map_fault_frame_sent). */
	if (IB_FAULT(n, burst_after_traffic) && child->fault_burst == 0) {
		child->fault_burst = 1;
		return;
	}
#endif
	for (size_t i = 0; i < n->map_count && link_open(child); i++) {
		const struct map_entry *e = &n->map[i];

		/* [MAP-13] not the child's own ANNOUNCE, from an earlier place in the tree.
		 * FAULT burst-holds-child: it goes too. */
		if (ib_id_equal(&e->id, &child->peer_id) && !IB_FAULT(n, burst_holds_child))
			continue;
		/* FAULT burst-without-self, breaks [MAP-4]: only the others' ANNOUNCEs go. */
		if (IB_FAULT(n, burst_without_self) && ib_id_equal(&e->id, ib_node_id(n)))
			continue;
		link_send(child, e->announce.ptr, e->announce.len);
	}
}

/* Whether id is below `top` in the map (top itself included). */
static bool under(struct ib_node *n, const ib_id *id, const ib_id *top)
{
	ib_id cur = *id; /* NOLINT(clang-analyzer-core.NullDereference): n->map set if map_count */

	/* Parent pointers may form a cycle while the tree changes: a bounded walk. */
	for (size_t hops = 0; hops <= n->map_count; hops++) {
		const struct map_entry *e;

		if (ib_id_equal(&cur, top))
			return true;
		e = find(n, &cur);
		if (!e || ib_id_is_zero(&e->parent))
			return false;
		cur = e->parent;
	}
	return false;
}

/* Removes the entries under top (keep == false), or all but those (keep == true). */
static void prune(struct ib_node *n, const ib_id *top, bool keep)
{
	bool *gone = calloc(n->map_count ? n->map_count : 1, sizeof *gone);

	if (!gone)
		return;
	/* Decide first, remove after: removing moves entries the walk still needs. */
	for (size_t i = 0; i < n->map_count; i++)
		gone[i] = under(n, &n->map[i].id, top) != keep &&
			  !ib_id_equal(&n->map[i].id, ib_node_id(n));
	for (size_t i = n->map_count; i-- > 0;)
		if (gone[i])
			remove_at(n, i);
	free(gone);
}

/* [MAP-6] origin lost its child: the child and the entries below it leave the map, unless the
 * child's kept ANNOUNCE names another parent (it moved, and its ANNOUNCE came first). */
static void parted(struct ib_node *n, const ib_id *origin, const ib_id *child)
{
	const struct map_entry *e = find(n, child);

	/* FAULT parted-keeps-entry: the map ignores PARTED, and new children still get the
	 * parted node's ANNOUNCE. FAULT parted-ignores-parent: the child goes even when it
	 * announced another parent. FAULT parted-only-child: the entries below it stay. */
	if (IB_FAULT(n, parted_keeps_entry))
		return;
	if (e && !ib_id_equal(&e->parent, origin) && !IB_FAULT(n, parted_ignores_parent))
		return;
	if (IB_FAULT(n, parted_only_child)) {
		if (e && !ib_id_equal(child, ib_node_id(n)))
			remove_at(n, (size_t)(e - n->map));
		return;
	}
	prune(n, child, false);
}

/* [MAP-2] [MAP-11] a child link is gone, whoever closed it and why: told to everyone, and
 * taken into this node's map too. tree.c calls this for every link on which this node sent
 * HELLO as the server, and for no other. */
void map_parted(struct ib_node *n, const ib_id *child)
{
	struct ib_msg m;

#ifdef IB_FAULTS
	const struct map_entry *e = find(n, child);

	/* FAULT parted-only-unexpected, breaks [MAP-11]: a child link this node closed itself
	 * (with an ERROR) is not parted. FAULT parted-needs-announce: nor is a child whose
	 * ANNOUNCE naming this node the map does not hold (one that never announced itself). */
	if (n->fault_closing_with_error && IB_FAULT(n, parted_only_unexpected))
		return;
	if (IB_FAULT(n, parted_needs_announce) && (!e || !ib_id_equal(&e->parent, ib_node_id(n))))
		return;
#endif
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PARTED;
	m.u.parted.child = *child;
	flood_originate(n, &m);
	parted(n, ib_node_id(n), child);
}

void map_keep_own_subtree(struct ib_node *n)
{
	/* [MAP-7] FAULT parent-lost-keeps-map: the unreachable part of the tree stays. */
	if (IB_FAULT(n, parent_lost_keeps_map))
		return;
	prune(n, ib_node_id(n), true);
}

void map_received(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m)
{
	if (m->h.type == IB_MSG_ANNOUNCE)
		remember(n, &f->origin, m->h.seq, &m->u.announce, f->raw.ptr, f->raw.len);
	else
		parted(n, &f->origin, &m->u.parted.child);
}

/* [MAP-8] a rejoining node's new parent sends in its burst frames that this node saw before
 * and pruned ([MAP-7]): its window drops them, and they are not forwarded, but the map takes
 * an ANNOUNCE newer than the one it keeps, or one of an origin it keeps none of. A replayed
 * PARTED is not taken. FAULT map-skips-replays: the map sees accepted frames only. */
void map_replayed(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m)
{
	if (m->h.type != IB_MSG_ANNOUNCE || IB_FAULT(n, map_skips_replays))
		return;
	remember(n, &f->origin, m->h.seq, &m->u.announce, f->raw.ptr, f->raw.len);
}

#ifdef IB_FAULTS
/* link.c: a link starts to close, with ERROR code (0: none), before tree.c decides on PARTED;
 * only the faults of [MAP-11] look at it. */
void map_fault_link_closing(struct ib_link *l, uint16_t code)
{
	struct ib_node *n = l->node;

	n->fault_closing_with_error = code != 0;
	/* FAULT parted-for-refusals, breaks [MAP-11]: a connection refused before this node
	 * sent HELLO on it is parted too. */
	if (IB_FAULT(n, parted_for_refusals) && l->state == LINK_HELLO_WAIT && !l->we_connected &&
	    l->peer_known && !l->hello_sent)
		map_parted(n, &l->peer_id);
}

/* link.c: a frame was sent on l; the fault burst-after-traffic sends the burst now. */
void map_fault_frame_sent(struct ib_link *l)
{
	if (l->fault_burst != 1)
		return;
	l->fault_burst = 2;
	map_burst(l->node, l);
}
#endif

void map_free(struct ib_node *n)
{
	while (n->map_count)
		remove_at(n, n->map_count - 1);
	free(n->map);
	n->map = NULL;
	n->map_cap = 0;
}

size_t ib_node_map(const struct ib_node *n, struct ib_map_entry *out, size_t max)
{
	size_t k = 0;

	/* This node first, then the others as they came. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n->map_count; i++) {
			const struct map_entry *e = &n->map[i];
			bool self = ib_id_equal(&e->id, ib_node_id(n));

			if (self != (pass == 0))
				continue;
			if (k < max) {
				out[k].id = e->id;
				out[k].parent = e->parent;
				out[k].role = e->role;
				memcpy(out[k].name, e->name, sizeof out[k].name);
				memcpy(out[k].software, e->software, sizeof out[k].software);
				out[k].seen_unix_us = e->seen_unix_us;
			}
			k++;
		}
	}
	return k;
}
