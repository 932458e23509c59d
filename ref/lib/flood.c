/*
 * flood.c - end-to-end frames (spec section 9): the anti-replay window and the route of each
 * origin, delivery here, and forwarding byte for byte to every other link.
 */
#include "node_internal.h"

#include <stdlib.h>
#include <string.h>

/* id_bots are MD5 outputs: their first bytes are already a good hash. */
static size_t slot_of(const ib_id *id, size_t cap)
{
	uint64_t h;

	memcpy(&h, id->b, sizeof h);
	return (size_t)(h & (cap - 1));
}

static int grow(struct ib_node *n)
{
	size_t cap = n->origin_cap ? 2 * n->origin_cap : 64;
	struct origin *t = calloc(cap, sizeof *t);

	if (!t)
		return IB_ERR_NOMEM;
	for (size_t i = 0; i < n->origin_cap; i++) {
		size_t j;

		if (!n->origins[i].used)
			continue;
		for (j = slot_of(&n->origins[i].id, cap); t[j].used; j = (j + 1) & (cap - 1))
			;
		t[j] = n->origins[i];
	}
	free(n->origins);
	n->origins = t;
	n->origin_cap = cap;
	return IB_OK;
}

/* The origin's entry; created when asked to (NULL without memory, or when absent). */
static struct origin *origin_get(struct ib_node *n, const ib_id *id, bool create)
{
	size_t i;

	if (n->origin_cap) {
		for (i = slot_of(id, n->origin_cap); n->origins[i].used;
		     i = (i + 1) & (n->origin_cap - 1))
			if (ib_id_equal(&n->origins[i].id, id))
				return &n->origins[i];
	}
	if (!create)
		return NULL;
	if ((n->origin_count + 1) * 10 > n->origin_cap * 7 && grow(n) != IB_OK)
		return NULL;
	for (i = slot_of(id, n->origin_cap); n->origins[i].used; i = (i + 1) & (n->origin_cap - 1))
		;
	memset(&n->origins[i], 0, sizeof n->origins[i]);
	n->origins[i].used = true;
	n->origins[i].id = *id;
	n->origin_count++;
	return &n->origins[i];
}

/* [FLOOD-1][FLOOD-2] every open link but the one it came on, unchanged. */
static void send_all(struct ib_node *n, const struct ib_link *except, const uint8_t *frame,
		     size_t len)
{
	for (struct ib_link *l = n->links; l; l = l->next)
		if ((l != except || IB_FAULT(n, echo_to_sender)) && link_open(l)) /* FAULT [FLOOD-2] */
			link_send(l, frame, len);
}

/* [FLOOD-5] along the learned route when there is one, else as for everyone. */
static void send_toward(struct ib_node *n, const struct ib_link *except, const ib_id *dest,
			const uint8_t *frame, size_t len)
{
	struct origin *o = origin_get(n, dest, false);

	if (o && o->route && o->route != except && link_open(o->route))
		link_send(o->route, frame, len);
	else
		send_all(n, except, frame, len);
}

static void deliver(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m)
{
	/* [MSG-10] a type this node does not know is forwarded, never acted on. */
	if (!ib_msg_type_is_known(m->h.type))
		return;
	node_count(n, IB_CNT_FRAMES_DELIVERED);
	node_deliver(n, f, m);
}

void flood_receive(struct ib_node *n, struct ib_link *from, const struct ib_frame *f,
		   const struct ib_msg *m)
{
	struct origin *o = origin_get(n, &f->origin, true);

	if (!o)
		return;
	/* [FLOOD-3] seen, or older than the window: dropped, not forwarded. Only frames that
	 * passed every check get here, so a forgery cannot move the window ([FLOOD-4]). */
	if (ib_replay_accept(&o->window, m->h.seq) != IB_OK &&
	    !IB_FAULT(n, forget_replay_window)) { /* FAULT forget-replay-window, [FLOOD-3] */
		node_count(n, IB_CNT_REPLAY);
		map_replayed(n, f, m); /* [MAP-8] the map may still take a dropped ANNOUNCE */
		return;
	}
	o->route = from;
	if (ib_id_equal(&m->h.dest, ib_node_id(n))) {
		deliver(n, f, m);
		return;
	}
	if (!ib_id_is_zero(&m->h.dest)) {
		send_toward(n, from, &m->h.dest, f->raw.ptr, f->raw.len);
		node_count(n, IB_CNT_FRAMES_FORWARDED);
		return;
	}
	deliver(n, f, m);
	send_all(n, from, f->raw.ptr, f->raw.len);
	node_count(n, IB_CNT_FRAMES_FORWARDED);
}

/* [FLOOD-7] a frame this node signed, to all links or toward its dest; recorded in the node's
 * own window, so that it coming back round a transient loop is a replay. */
int flood_send_frame(struct ib_node *n, const struct ib_msg *m, const uint8_t *frame, size_t len)
{
	struct origin *self = origin_get(n, ib_node_id(n), true);

	if (!self)
		return IB_ERR_NOMEM;
	ib_replay_accept(&self->window, m->h.seq);
	if (ib_id_is_zero(&m->h.dest))
		send_all(n, NULL, frame, len);
	else
		send_toward(n, NULL, &m->h.dest, frame, len);
	return IB_OK;
}

int flood_originate(struct ib_node *n, struct ib_msg *m)
{
	struct ib_buf frame = { 0 };
	int err;

	if (!ib_msg_type_is_e2e(m->h.type))
		return IB_ERR_INVALID_ARG;
	err = node_sign(n, m, &frame);
	if (!err)
		err = flood_send_frame(n, m, frame.ptr, frame.len);
	ib_buf_free(&frame);
	return err;
}

void flood_forget_link(struct ib_node *n, const struct ib_link *l)
{
	for (size_t i = 0; i < n->origin_cap; i++)
		if (n->origins[i].used && n->origins[i].route == l)
			n->origins[i].route = NULL;
}

void flood_free(struct ib_node *n)
{
	free(n->origins);
	n->origins = NULL;
	n->origin_cap = n->origin_count = 0;
}
