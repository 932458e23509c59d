/*
 * tree.c - the node's place in the tree (spec section 10): parents tried in order, a root
 * while none accepts, retries with backoff and jitter, PATH down the subtree, loops.
 */
#include "node_internal.h"

#include <string.h>

static void try_join(struct ib_node *n);

bool tree_accepts_children(const struct ib_node *n)
{
	if (n->stopping)
		return false;
	/* FAULT client-refuses-while-joining, breaks [TREE-15]: a client-mode node whose
	 * connection to a parent is still in progress refuses children. */
	if (IB_FAULT(n, client_refuses_while_joining) && n->cfg.mode == IB_ROLE_CLIENT &&
	    n->joining)
		return false;
	/* [TREE-2][TREE-3] a root always accepts; a client-mode node only as a root, which
	 * it is until the HELLO exchange with a parent completes ([TREE-15]). */
	return n->cfg.mode == IB_ROLE_SERVER || n->parent == NULL;
}

bool tree_path_has(const struct ib_node *n, const ib_id *id)
{
	for (unsigned i = 0; i < n->path_len; i++)
		if (ib_id_equal(&n->path[i], id))
			return true;
	return false;
}

bool tree_path_repeats(const struct ib_node *n, const struct ib_path *p)
{
	/* FAULT path-repeats-taken, breaks [TREE-22]: a path that names a node twice is taken
	 * like any other. */
	if (IB_FAULT(n, path_repeats_taken))
		return false;
	/* [TREE-22] a node twice in a path sits below itself: a loop. At most 255 ids. */
	for (unsigned i = 1; i < p->count; i++)
		for (unsigned j = 0; j < i; j++)
			if (memcmp(p->ids + (size_t)i * IB_ID_LEN, p->ids + (size_t)j * IB_ID_LEN,
				   IB_ID_LEN) == 0)
				return true;
	return false;
}

/* [TREE-6] PATH goes to the open children only: the parent has its own path, and a child
 * in HELLO-WAIT learns the path from the HELLO answering its own ([LINK-17], [LINK-1]). */
static void send_path_to_children(struct ib_node *n)
{
	for (struct ib_link *l = n->links; l; l = l->next) {
		struct ib_msg m;

		if (!link_open(l) || !node_is_child(n, l))
			continue;
		memset(&m, 0, sizeof m);
		m.h.type = IB_MSG_PATH;
		m.u.path = (struct ib_path){ n->path_len, n->path[0].b };
		link_send_msg(l, &m);
	}
}

/* [TREE-6] a new path goes down to every child. */
static void set_path(struct ib_node *n, const ib_id *above, unsigned count)
{
	if (count)
		memmove(n->path, above, (size_t)count * sizeof *above);
	n->path[count] = *ib_node_id(n);
	n->path_len = (uint8_t)(count + 1);
	send_path_to_children(n);
}

static void retry_fired(struct ib_loop *loop, void *arg)
{
	struct ib_node *n = arg;

	n->retry_timer = 0;
	/* [TREE-13] the next round, from the first address (a fault may wait mid-round). */
	if (n->parent_index >= n->cfg.parent_count)
		n->parent_index = 0;
	try_join(n);
}

/* [TREE-2][TREE-13] exponential backoff from reconnect_min_ms to reconnect_max_ms, each wait drawn
 * uniformly between half the delay and the delay, so that nodes cut off together do not all
 * come back in the same instant. */
static uint64_t backoff_us(struct ib_node *n)
{
	uint64_t delay = n->cfg.reconnect_min_ms;
	unsigned doublings = n->failed_rounds ? n->failed_rounds - 1 : 0;

	while (doublings-- && delay < n->cfg.reconnect_max_ms)
		delay *= 2;
	if (delay > n->cfg.reconnect_max_ms)
		delay = n->cfg.reconnect_max_ms;
	delay *= 1000;
	/* FAULT backoff-no-jitter, breaks [TREE-13]: every wait is the whole delay. */
	if (IB_FAULT(n, backoff_no_jitter))
		return delay;
	return delay / 2 + node_random(n) % (delay / 2 + 1);
}

static void schedule_retry(struct ib_node *n)
{
	uint64_t wait;

	if (n->stopping || n->cfg.parent_count == 0 || n->retry_timer)
		return;
	n->failed_rounds++;
	wait = backoff_us(n);
	node_log(n, IB_LOG_INFO, "round failed; root for now, next round in %llu ms",
		 (unsigned long long)(wait / 1000));
	ib_loop_timer_add(n->loop, wait, retry_fired, n, &n->retry_timer);
}

/* FAULT parents-in-parallel, breaks [TREE-12]: the next address is tried at the same time
 * as this one (its link is not tracked: it only shows the second parent a connection). */
static void fault_try_next_too(struct ib_node *n)
{
	struct ib_link *also;

	if (IB_FAULT(n, parents_in_parallel) && n->parent_index + 1 < n->cfg.parent_count)
		link_connect(n, n->cfg.parents[n->parent_index + 1], &also);
}

/* [TREE-1][TREE-12] the parents in order, one at a time; after the last one, a round has
 * failed ([TREE-13]). */
static void try_join(struct ib_node *n)
{
	while (!n->stopping && !n->parent && !n->joining) {
		int err;

		if (n->parent_index >= n->cfg.parent_count) {
			schedule_retry(n);
			return;
		}
		err = link_connect(n, n->cfg.parents[n->parent_index], &n->joining);
		if (err == IB_OK) {
			fault_try_next_too(n);
			return;
		}
		/* [TREE-25] a name that does not resolve is a failed attempt like a refused
		 * connection: counted, and the next entry at once. */
		node_count(n, IB_CNT_CONNECT_FAILED);
		/* FAULT unresolved-ends-round, breaks [TREE-25]: a name that does not resolve
		 * ends the round; the entries after it are not tried. */
		if (err == IB_ERR_NOT_FOUND && IB_FAULT(n, unresolved_ends_round)) {
			n->parent_index = n->cfg.parent_count;
			schedule_retry(n);
			return;
		}
		n->parent_index++;
	}
}

void tree_start(struct ib_node *n)
{
	set_path(n, NULL, 0);
	/* A first ANNOUNCE, kept for the children's map ([MAP-3]) even if nobody hears it. */
	map_announce(n);
	n->parent_index = 0;
	if (n->cfg.parent_count == 0)
		node_log(n, IB_LOG_INFO, "no parents configured: a root");
	/* FAULT first-round-waits, breaks [TREE-13]: the first round after the start waits a
	 * backoff, as if a round had failed. */
	if (IB_FAULT(n, first_round_waits) && n->cfg.parent_count) {
		n->parent_index = n->cfg.parent_count;
		schedule_retry(n);
		return;
	}
	/* [TREE-13] the first round begins at once. */
	try_join(n);
}

void tree_parents_changed(struct ib_node *n)
{
	if (n->parent || n->joining)
		return;
	tree_stop(n);
	n->failed_rounds = 0;
	n->parent_index = 0;
	try_join(n);
}

void tree_stop(struct ib_node *n)
{
	ib_loop_timer_cancel(n->loop, n->retry_timer);
	n->retry_timer = 0;
}

/* An accepted connection that a client-mode node with a parent must close now. */
static struct ib_link *accepted_to_close(struct ib_node *n)
{
	for (struct ib_link *c = n->links; c; c = c->next) {
		if (c->we_connected || c->state == LINK_CLOSED)
			continue;
		/* FAULT client-keeps-pending-children, breaks [TREE-16]: only open children go;
		 * those still in TLS or HELLO-WAIT are left to come back with their HELLO. */
		if (IB_FAULT(n, client_keeps_pending_children) && c->state != LINK_OPEN)
			continue;
		return c;
	}
	return NULL;
}

void tree_close_accepted(struct ib_node *n, const char *reason)
{
	struct ib_link *c;

	/* Closing one changes the list, so each search starts again from its head. */
	while ((c = accepted_to_close(n)) != NULL)
		link_close(c, IB_EC_NO_CHILDREN_ACCEPTED, reason);
}

/* [TREE-23] called once the client checks passed, and nothing of the join before. */
void tree_joined(struct ib_node *n, struct ib_link *l)
{
	/* FAULT client-path-before-kick, breaks [TREE-23]: the children a client-mode node is
	 * about to close get its new PATH and ANNOUNCE first. */
	bool late_kick = IB_FAULT(n, client_path_before_kick);

	n->joining = NULL;
	n->parent = l;
	/* [TREE-14] joining does not reset the backoff: a parent link that lasts does. */
	tree_stop(n);
	/* [TREE-3][TREE-16][TREE-23] a client-mode node with a parent keeps no children: every
	 * connection it accepted goes first, whatever its state (no ERROR while still in TLS),
	 * so that none of them hears of the join but by that ERROR. */
	if (n->cfg.mode == IB_ROLE_CLIENT && !late_kick)
		tree_close_accepted(n, "joined a parent");
	set_path(n, l->peer_path, l->peer_path_len); /* [TREE-6] */
	map_announce(n); /* [MAP-1] */
	if (n->cfg.mode == IB_ROLE_CLIENT && late_kick)
		tree_close_accepted(n, "joined a parent");
}

/* [TREE-14] whether a lost parent link had lasted reconnect_max_ms: then the delay goes back
 * to reconnect_min_ms and the new round starts at once; else its loss is a failed round. */
static bool parent_was_stable(const struct ib_node *n, const struct ib_link *l)
{
	uint64_t lasting_us = (uint64_t)n->cfg.reconnect_max_ms * 1000;

	/* FAULT rejoin-at-once, breaks [TREE-14]: every lost parent counts as a long-lived one,
	 * so a parent that drops its children at once gets them back in a tight loop. */
	if (IB_FAULT(n, rejoin_at_once))
		return true;
	/* FAULT stable-early, breaks [TREE-14]: a link counts as long-lived after half of
	 * reconnect_max_ms. FAULT stable-late: only after twice reconnect_max_ms. */
	if (IB_FAULT(n, stable_early))
		lasting_us /= 2;
	if (IB_FAULT(n, stable_late))
		lasting_us *= 2;
	return node_now_us(n) - l->open_since_us >= lasting_us;
}

/* [TREE-14] a parent link open for reconnect_max_ms sets the delay back to reconnect_min_ms
 * (done when it ends: the delay serves only then). Returns whether it was that long. */
static bool settle_delay(struct ib_node *n, const struct ib_link *l)
{
	bool stable = parent_was_stable(n, l);

	/* FAULT backoff-never-reset, breaks [TREE-14]: the delay keeps growing whatever the
	 * parent links last. */
	if (stable && !IB_FAULT(n, backoff_never_reset))
		n->failed_rounds = 0;
	return stable;
}

/* [TREE-10][TREE-14] the parent link is gone: a root at once, the subtree told; then a
 * round from the first address, at once after a long-lived link, else after a wait. */
static void parent_lost(struct ib_node *n, struct ib_link *l)
{
	bool stable = settle_delay(n, l);

	n->parent = NULL;
	set_path(n, NULL, 0);
	if (!n->stopping) {
		map_announce(n);         /* [MAP-1] parent all zero */
		map_keep_own_subtree(n); /* the rest of the tree is out of reach */
	}
	/* FAULT wait-after-any-loss, breaks [TREE-14]: even a long-lived parent lost is
	 * followed by a wait, as a failed round. */
	if (stable && !IB_FAULT(n, wait_after_any_loss)) {
		n->parent_index = 0;
		try_join(n);
		return;
	}
	n->parent_index = n->cfg.parent_count; /* a failed round: wait, then the first */
	schedule_retry(n);
}

void tree_link_closed(struct ib_node *n, struct ib_link *l, bool was_open)
{
	if (l == n->joining) {
		/* [TREE-12] this address failed: the next one, now. */
		n->joining = NULL;
		n->parent_index++;
		/* FAULT wait-between-addresses, breaks [TREE-13]: the backoff is waited after
		 * each failed address, not after a failed round. */
		if (IB_FAULT(n, wait_between_addresses) && n->parent_index < n->cfg.parent_count)
			schedule_retry(n);
		else
			try_join(n);
	} else if (was_open && !l->we_connected && !n->stopping) {
		/* [MAP-2]; [MAP-10] none while the node itself stops. */
		map_parted(n, &l->peer_id);
	} else if (l == n->parent) {
		parent_lost(n, l);
	}
}

void tree_path_received(struct ib_node *n, struct ib_link *l, const struct ib_msg *m)
{
	const struct ib_path *p = &m->u.path;
	ib_id above[IB_MAX_PATH];

	for (unsigned i = 0; i < p->count; i++)
		memcpy(above[i].b, p->ids + (size_t)i * IB_ID_LEN, IB_ID_LEN);
	/* [TREE-19] the parent's path ends with the parent (the decoder gave 1..255 ids).
	 * FAULT path-any-sender, breaks [TREE-19]: the path is taken whatever its end. */
	if (!ib_id_equal(&above[p->count - 1], &l->peer_id) && !IB_FAULT(n, path_any_sender)) {
		link_close(l, IB_EC_PROTOCOL_VIOLATION, "PATH does not end with its sender");
		return;
	}
	for (unsigned i = 0; i < p->count; i++) {
		if (ib_id_equal(&above[i], ib_node_id(n)))
			goto loop;
	}
	if (p->count >= IB_MAX_PATH || tree_path_repeats(n, p)) /* [TREE-7][TREE-22] */
		goto loop;
	/* [TREE-24] the same path again is no change: nothing to pass on or announce.
	 * FAULT redundant-path-refused: it is taken for a protocol violation. FAULT
	 * redundant-path-passed-on: it is passed on and announced as a change. */
	if (p->count + 1u == n->path_len && memcmp(above, n->path, p->count * sizeof *above) == 0) {
		if (IB_FAULT(n, redundant_path_refused)) {
			link_close(l, IB_EC_PROTOCOL_VIOLATION, "PATH repeats my path");
			return;
		}
		if (!IB_FAULT(n, redundant_path_passed_on))
			return;
	}
	set_path(n, above, p->count);
	map_announce(n); /* [MAP-9] the path changed */
	return;
loop:
	/* [TREE-7][TREE-14] the tree has a loop through us: leave the parent; its loss is a
	 * failed round whatever the link's age: wait, then rejoin. FAULT loop-resets-delay,
	 * breaks [TREE-14]: each loop sets the delay back to reconnect_min_ms. */
	settle_delay(n, l);
	if (IB_FAULT(n, loop_resets_delay))
		n->failed_rounds = 0;
	n->parent = NULL;
	link_close(l, IB_EC_LOOP_DETECTED, "I am in the path you sent");
	set_path(n, NULL, 0);
	map_announce(n);
	/* FAULT loop-rejoin-at-once, breaks [TREE-14]: after a loop the parents are tried
	 * again at once, as after any long-lived parent, and the loop may well form again. */
	if (IB_FAULT(n, loop_rejoin_at_once)) {
		n->parent_index = 0;
		try_join(n);
		return;
	}
	n->parent_index = n->cfg.parent_count; /* the retry starts from the first parent */
	schedule_retry(n);
}
