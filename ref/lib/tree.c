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
	/* [TREE-2][TREE-3] a root always accepts; a client-mode node only as a root. */
	return n->cfg.mode == IB_ROLE_SERVER || n->parent == NULL;
}

bool tree_path_has(const struct ib_node *n, const ib_id *id)
{
	for (unsigned i = 0; i < n->path_len; i++)
		if (ib_id_equal(&n->path[i], id))
			return true;
	return false;
}

void tree_send_path(struct ib_node *n, struct ib_link *only)
{
	for (struct ib_link *l = n->links; l; l = l->next) {
		struct ib_msg m;

		if ((only && l != only) || !link_open(l) || !node_is_child(n, l))
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
	tree_send_path(n, NULL);
}

static void retry_fired(struct ib_loop *loop, void *arg)
{
	struct ib_node *n = arg;

	n->retry_timer = 0;
	n->parent_index = 0;
	try_join(n);
}

/* [TREE-2] exponential backoff from reconnect_min_ms to reconnect_max_ms, each wait drawn
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
	return delay / 2 + node_random(n) % (delay / 2 + 1);
}

static void schedule_retry(struct ib_node *n)
{
	uint64_t wait;

	if (n->stopping || n->cfg.parent_count == 0 || n->retry_timer)
		return;
	n->failed_rounds++;
	wait = backoff_us(n);
	node_log(n, IB_LOG_INFO, "no parent accepted; root for now, next try in %llu ms",
		 (unsigned long long)(wait / 1000));
	ib_loop_timer_add(n->loop, wait, retry_fired, n, &n->retry_timer);
}

/* [TREE-1] the parents in order; after the last one, a round has failed. */
static void try_join(struct ib_node *n)
{
	while (!n->stopping && !n->parent && !n->joining) {
		if (n->parent_index >= n->cfg.parent_count) {
			schedule_retry(n);
			return;
		}
		if (link_connect(n, n->cfg.parents[n->parent_index], &n->joining) == IB_OK)
			return;
		node_count(n, IB_CNT_CONNECT_FAILED);
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

void tree_joined(struct ib_node *n, struct ib_link *l)
{
	n->joining = NULL;
	n->parent = l;
	n->failed_rounds = 0;
	tree_stop(n);
	set_path(n, l->peer_path, l->peer_path_len);
	map_announce(n); /* [MAP-1] */
	/* [TREE-3] a client-mode node with a parent keeps no children. */
	if (n->cfg.mode == IB_ROLE_CLIENT)
		for (struct ib_link *c = n->links; c; c = c->next)
			if (c != l && !c->we_connected && c->state != LINK_CLOSED)
				link_close(c, IB_EC_NO_CHILDREN_ACCEPTED, "joined a parent");
}

void tree_link_closed(struct ib_node *n, struct ib_link *l, bool was_open)
{
	if (l == n->joining) {
		n->joining = NULL;
		n->parent_index++;
		try_join(n);
	} else if (was_open && !l->we_connected && !n->stopping) {
		map_parted(n, &l->peer_id); /* [MAP-2] */
	} else if (l == n->parent) {
		/* [TREE-10] a root at once, the subtree told, then the parents from the first. */
		n->parent = NULL;
		set_path(n, NULL, 0);
		if (!n->stopping) {
			map_announce(n);         /* [MAP-1] parent all zero */
			map_keep_own_subtree(n); /* the rest of the tree is out of reach */
		}
		n->parent_index = 0;
		try_join(n);
	}
}

void tree_path_received(struct ib_node *n, struct ib_link *l, const struct ib_msg *m)
{
	const struct ib_path *p = &m->u.path;
	ib_id above[IB_MAX_PATH];

	for (unsigned i = 0; i < p->count; i++)
		memcpy(above[i].b, p->ids + (size_t)i * IB_ID_LEN, IB_ID_LEN);
	for (unsigned i = 0; i < p->count; i++) {
		if (ib_id_equal(&above[i], ib_node_id(n)))
			goto loop;
	}
	if (p->count >= IB_MAX_PATH)
		goto loop;
	set_path(n, above, p->count);
	map_announce(n); /* [MAP-1] SHOULD: the path changed */
	return;
loop:
	/* [TREE-7] the tree has a loop through us: leave the parent, wait, rejoin. */
	n->parent = NULL;
	link_close(l, IB_EC_LOOP_DETECTED, "I am in the path you sent");
	set_path(n, NULL, 0);
	map_announce(n);
	n->parent_index = n->cfg.parent_count; /* the retry starts from the first parent */
	schedule_retry(n);
}
