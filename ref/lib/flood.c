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

/* [CMD-18] The smallest max_message of the links a frame for dest would leave on, as
 * send_toward chooses them: its route, or every open link; UINT32_MAX with none. */
uint32_t flood_room_toward(struct ib_node *n, const ib_id *dest)
{
	struct origin *o = origin_get(n, dest, false);
	uint32_t room = UINT32_MAX;

	if (o && o->route && link_open(o->route))
		return o->route->peer_max_message;
	for (const struct ib_link *l = n->links; l; l = l->next)
		if (link_open(l) && l->peer_max_message < room)
			room = l->peer_max_message;
	return room;
}

/* [LINK-21] Whether a link a frame for dest would leave on holds more than answer_backlog. */
static bool flood_backlogged_toward(struct ib_node *n, const ib_id *dest)
{
	struct origin *o = origin_get(n, dest, false);

	if (o && o->route && link_open(o->route))
		return link_backlog(o->route) > IB_ANSWER_BACKLOG;
	for (const struct ib_link *l = n->links; l; l = l->next)
		if (link_open(l) && link_backlog(l) > IB_ANSWER_BACKLOG)
			return true;
	return false;
}

bool flood_busy_toward(struct ib_node *n, const ib_id *dest, const char *what)
{
	if (!flood_backlogged_toward(n, dest))
		return false;
	node_count(n, IB_CNT_BUSY);
	node_log_every(n, IB_LOG_INFO, IB_CNT_BUSY, "busy: a %s of %02x%02x.. not answered: the "
		       "link toward it holds more than %u bytes (answer_backlog)", what,
		       dest->b[0], dest->b[1], IB_ANSWER_BACKLOG);
	return true;
}

static void deliver(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m)
{
	/* [MSG-10] a type this node does not know is forwarded, never acted on. */
	if (!ib_msg_type_is_known(m->h.type))
		return;
	node_count(n, IB_CNT_FRAMES_DELIVERED);
	node_deliver(n, f, m);
}

/* [FLOOD-10] flood_receive learns routes in place; this is for the faults of the self-test
 * that learn them where the reference does not (a hop-local frame, after delivery). */
void flood_learn_route(struct ib_node *n, const ib_id *origin, struct ib_link *l)
{
	struct origin *o = origin_get(n, origin, true);

	if (o)
		o->route = l;
}

/* FAULT route-from-transfer, breaks [FLOOD-10]: the writer of the frame a TRANSFER carries is
 * taken to be behind the link the TRANSFER came on. Nothing in a build without faults. */
static void fault_route_from_transfer(struct ib_node *n, struct ib_link *from,
				      const struct ib_msg *m)
{
	ib_id writer;

	if (!IB_FAULT(n, route_from_transfer) || m->h.type != IB_MSG_TRANSFER ||
	    m->u.transfer.frame.len < IB_ID_LEN)
		return;
	memcpy(writer.b, m->u.transfer.frame.ptr, IB_ID_LEN);
	flood_learn_route(n, &writer, from);
}

/* Whether FAULT store-refusal-not-forwarded keeps m, a PUBLISH the store just refused, from
 * being forwarded. Nothing in a build without faults. */
static bool fault_store_refused(struct ib_node *n, const struct ib_msg *m)
{
#ifdef IB_FAULTS
	bool refused = n->fault_store_refused;

	n->fault_store_refused = false;
	return IB_FAULT(n, store_refusal_not_forwarded) && m->h.type == IB_MSG_PUBLISH && refused;
#else
	(void)n;
	(void)m;
	return false;
#endif
}

/* [FLOOD-9] rule 4: here, along the route, or here and everywhere else. */
static void by_destination(struct ib_node *n, struct ib_link *from, const struct ib_frame *f,
			   const struct ib_msg *m)
{
	if (ib_id_equal(&m->h.dest, ib_node_id(n))) {
		deliver(n, f, m);
		return;
	}
	if (!ib_id_is_zero(&m->h.dest)) {
		/* [FLOOD-12] a frame for another node is routed, never acted on here. */
		/* FAULT deliver-passing-frames, breaks [FLOOD-12]: acted on here too. */
		if (IB_FAULT(n, deliver_passing_frames))
			deliver(n, f, m);
		send_toward(n, from, &m->h.dest, f->raw.ptr, f->raw.len);
		node_count(n, IB_CNT_FRAMES_FORWARDED);
		return;
	}
	deliver(n, f, m);
	/* [DATA-13] forwarded whether or not the store kept it. FAULT
	 * store-refusal-not-forwarded, breaks [DATA-13]: a PUBLISH the store refused stops here. */
	if (fault_store_refused(n, m))
		return;
	send_all(n, from, f->raw.ptr, f->raw.len);
	node_count(n, IB_CNT_FRAMES_FORWARDED);
}

/* FAULT window-wraps, breaks [FLOOD-14]: the lower edge top-63 computed in unsigned
 * arithmetic wraps while top < 63, and every seq below top is refused. */
static bool fault_window_wraps(const struct ib_node *n, const struct ib_replay_window *w,
			       uint64_t seq)
{
	return IB_FAULT(n, window_wraps) && w->started && seq < w->top &&
	       seq < w->top - (IB_REPLAY_WINDOW - 1);
}

/* [FLOOD-3] records seq. FAULT window-shift-by-64, breaks [FLOOD-14]: a jump of 64 or more
 * shifts the map by the jump modulo 64, as an x86 shift instruction does: old bits stay. */
static void window_accept(struct ib_node *n, struct ib_replay_window *w, uint64_t seq)
{
	uint64_t before = w->bitmap, jump = w->started && seq > w->top ? seq - w->top : 0;

	ib_replay_accept(w, seq);
	if (IB_FAULT(n, window_shift_by_64) && jump >= IB_REPLAY_WINDOW)
		w->bitmap = before << (jump & (IB_REPLAY_WINDOW - 1)) | 1;
}

void flood_receive(struct ib_node *n, struct ib_link *from, const struct ib_frame *f,
		   const struct ib_msg *m, bool stale)
{
	struct origin *o = origin_get(n, &f->origin, true);
	bool newest;

	if (!o)
		return;
	/* [FLOOD-9] rule 1, [FLOOD-3]: seen, or older than the window: dropped, not forwarded.
	 * Only frames that passed every check get here, so a forgery cannot move the window
	 * ([FLOOD-4]); the check only reads the window. */
	if ((ib_replay_check(&o->window, m->h.seq) != IB_OK ||
	     fault_window_wraps(n, &o->window, m->h.seq)) &&
	    !IB_FAULT(n, forget_replay_window)) { /* FAULT forget-replay-window, [FLOOD-3] */
		node_count(n, IB_CNT_REPLAY);
		map_replayed(n, f, m); /* [MAP-8] the map may still take a dropped ANNOUNCE */
		return;
	}
	/* Rule 2, [CMD-6]: a stale COMMAND moves neither the window nor the route. */
	if (stale) {
		node_count(n, IB_CNT_STALE_COMMAND);
		/* FAULT stale-command-moves-window, breaks [FLOOD-9]: its seq is recorded. */
		if (IB_FAULT(n, stale_command_moves_window))
			ib_replay_accept(&o->window, m->h.seq);
		/* FAULT route-from-stale-command, breaks [FLOOD-10]: it teaches the route. */
		if (IB_FAULT(n, route_from_stale_command))
			o->route = from;
		return;
	}
	/* Rule 3: accepted. [FLOOD-11] only a frame that moves top moves the route. */
	newest = !o->window.started || m->h.seq > o->window.top;
	window_accept(n, &o->window, m->h.seq);
	/* FAULT route-follows-last-arrival, breaks [FLOOD-11]: an overtaken frame moves it. */
	newest = newest || IB_FAULT(n, route_follows_last_arrival);
	/* [FLOOD-10] every accepted end-to-end frame, whatever its type and dest, and nothing
	 * else. FAULT route-from-broadcast-only, breaks [FLOOD-10]: only frames for everyone. */
	if (newest && IB_FAULT(n, route_from_broadcast_only) && !ib_id_is_zero(&m->h.dest))
		newest = false;
	/* FAULT route-after-delivery, breaks [FLOOD-9]: learned once rule 4 is done, when the
	 * answers sent during delivery have been flooded already. */
	if (newest && !IB_FAULT(n, route_after_delivery))
		o->route = from;
	fault_route_from_transfer(n, from, m);
	/* Rule 4. The table may grow during delivery: o is not used after it. */
	by_destination(n, from, f, m);
	if (newest && IB_FAULT(n, route_after_delivery) && link_open(from))
		flood_learn_route(n, &f->origin, from);
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

/* [FLOOD-5][FLOOD-13] Whether a message of msg_len bytes directed to dest would go out on
 * some link: its route's when there is one, else any open link whose peer takes it. */
bool flood_fits(struct ib_node *n, const ib_id *dest, size_t msg_len)
{
	struct origin *o = origin_get(n, dest, false);

	if (msg_len > IB_MAX_MESSAGE_LIMIT)
		return false;
	if (o && o->route && link_open(o->route))
		return msg_len <= o->route->peer_max_message;
	for (const struct ib_link *l = n->links; l; l = l->next)
		if (link_open(l) && msg_len <= l->peer_max_message)
			return true;
	return false;
}

/* [ELECT-15] The frame a TRANSFER carries is no frame of its writer's flood: its seq is
 * neither checked against nor recorded in the writer's window. This is only for the faults
 * that do either: true when FAULT transfer-checks-window refuses it as a replay; FAULT
 * transfer-records-window records its seq. Nothing in a build without faults. */
bool flood_fault_embedded(struct ib_node *n, const ib_id *writer, uint64_t seq)
{
	struct origin *o;

	if (!IB_FAULT(n, transfer_checks_window) && !IB_FAULT(n, transfer_records_window))
		return false;
	o = origin_get(n, writer, true);
	if (!o)
		return false;
	if (IB_FAULT(n, transfer_checks_window))
		return ib_replay_check(&o->window, seq) != IB_OK;
	ib_replay_accept(&o->window, seq);
	return false;
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
