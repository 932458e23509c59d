/*
 * hello.c - the HELLO exchange (spec section 8, [LINK-1]): the client speaks first, the
 * server checks and answers ([TREE-4]), the client checks the answer ([TREE-5]).
 */
#include "node_internal.h"

#include <stdlib.h>
#include <string.h>

int hello_send(struct ib_link *l)
{
	struct ib_node *n = l->node;
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_HELLO;
	m.u.hello.role = n->cfg.mode;
	m.u.hello.keepalive_interval_ms = n->cfg.keepalive_interval_ms;
	m.u.hello.max_message = n->cfg.max_message;
	m.u.hello.name = (struct ib_slice){ (const uint8_t *)n->cfg.name, strlen(n->cfg.name) };
	/* [TREE-21] as a client the node is a root: its path is itself alone. */
	m.u.hello.path = (struct ib_path){ n->path_len, n->path[0].b };
	l->hello_sent = true;
	/* FAULT client-kicks-at-hello, breaks [TREE-23]: a client-mode node closes its
	 * children when it asks a parent, before it knows whether the parent takes it. */
	if (l->we_connected && IB_FAULT(n, client_kicks_at_hello) && n->cfg.mode == IB_ROLE_CLIENT)
		tree_close_accepted(n, "asking a parent");
	return link_send_msg(l, &m);
}

/* Keeps what the peer said of itself; a parent's path only (a full one is 4 KB, and an idle
 * link should cost little more than its TLS state). IB_OK or IB_ERR_NOMEM. */
static int remember_peer(struct ib_link *l, const struct ib_hello *h)
{
	size_t name_len = h->name.len < IB_MAX_STRING ? h->name.len : IB_MAX_STRING;

	memcpy(l->peer_name, h->name.ptr, name_len);
	l->peer_name[name_len] = '\0';
	l->peer_role = h->role;
	l->peer_keepalive_ms = h->keepalive_interval_ms;
	l->peer_max_message = h->max_message;
	l->peer_path_len = h->path.count;
	if (!l->we_connected || !h->path.count)
		return IB_OK;
	free(l->peer_path); /* a second HELLO (the fault second-hello-accepted) */
	l->peer_path = malloc((size_t)h->path.count * sizeof *l->peer_path);
	if (!l->peer_path)
		return IB_ERR_NOMEM;
	memcpy(l->peer_path, h->path.ids, (size_t)h->path.count * IB_ID_LEN);
	return IB_OK;
}

static bool path_holds(const struct ib_path *p, const ib_id *id)
{
	for (unsigned i = 0; i < p->count; i++)
		if (memcmp(p->ids + (size_t)i * IB_ID_LEN, id->b, IB_ID_LEN) == 0)
			return true;
	return false;
}

/* Another link of ours whose peer is id, set up or being set up. */
static struct ib_link *other_link_to(struct ib_node *n, const struct ib_link *l, const ib_id *id)
{
	for (struct ib_link *o = n->links; o; o = o->next)
		if (o != l && o->peer_known && o->state != LINK_CLOSED &&
		    ib_id_equal(&o->peer_id, id))
			return o;
	return NULL;
}

static void link_opened(struct ib_link *l)
{
	struct ib_node *n = l->node;

	ib_loop_timer_cancel(n->loop, l->setup_timer);
	l->setup_timer = 0;
	l->state = LINK_OPEN;
	l->open_since_us = node_now_us(n);
	node_count(n, IB_CNT_LINKS_OPENED);
	if (l->we_connected)
		node_log(n, IB_LOG_INFO, "linked under parent %s (%s)", l->peer_name, l->addr);
	else
		node_log(n, IB_LOG_INFO, "child %s linked (%s)", l->peer_name, l->addr);
	ka_start(l);
	/* [MAP-3][MAP-12] a new child gets the map burst before any other frame, an embedder's
	 * too: the link event, where it may send, comes after. */
	if (!l->we_connected)
		map_burst(n, l);
	node_link_event(n, l, true);
}

/* [TREE-4] the server's checks, in the spec's order; on success it answers HELLO. */
static void server_checks(struct ib_link *l, const struct ib_hello *h)
{
	struct ib_node *n = l->node;
	struct ib_link *other;

	if (!tree_accepts_children(n)) {
		link_close(l, IB_EC_NO_CHILDREN_ACCEPTED, "this node accepts no children now");
		return;
	}
	/* FAULT skip-loop-check, breaks [TREE-4] step 3: a child already in our path links. */
	if (tree_path_has(n, &l->peer_id) && !IB_FAULT(n, skip_loop_check)) {
		link_close(l, IB_EC_LOOP_DETECTED, "you are in my path");
		return;
	}
	/* [TREE-17] a full path leaves no room for a child below us. FAULT serve-full-path,
	 * breaks [TREE-17]: the child is answered and left to find out. */
	if (n->path_len >= IB_MAX_PATH && !IB_FAULT(n, serve_full_path)) {
		link_close(l, IB_EC_LOOP_DETECTED, "my path holds 255 ids: no room below me");
		return;
	}
	/* [TREE-20] only links whose peer TLS authenticated are links to the client. */
	other = other_link_to(n, l, &l->peer_id);
	/* FAULT unknown-peer-simultaneous, breaks [TREE-20]: our client connection still in
	 * TCP or TLS is taken for a connection to this client. */
	if (!other && IB_FAULT(n, unknown_peer_simultaneous) && n->joining &&
	    !n->joining->peer_known)
		other = n->joining;
	if (other && other == n->joining) {
		/* [TREE-9] both of us connecting to the other: the link whose client has the
		 * smaller id_bot is kept, which both ends compute alike. */
		if (ib_id_compare(&l->peer_id, ib_node_id(n)) < 0) {
			link_close(other, IB_EC_DUPLICATE_IDENTITY, "simultaneous link: yours is kept");
		} else {
			link_close(l, IB_EC_DUPLICATE_IDENTITY, "simultaneous link: mine is kept");
			return;
		}
	} else if (other) {
		/* [TREE-8] one place in the tree per identity. */
		link_close(l, IB_EC_DUPLICATE_IDENTITY, "already linked with this identity");
		return;
	}
	(void)h;
	if (hello_send(l) != IB_OK || l->state == LINK_CLOSED)
		return;
	link_opened(l);
}

/* [TREE-5] the client's checks on the server's answer. */
static void client_checks(struct ib_link *l, const struct ib_hello *h)
{
	struct ib_node *n = l->node;
	struct ib_link *other = other_link_to(n, l, &l->peer_id);

	if (path_holds(&h->path, ib_node_id(n))) {
		link_close(l, IB_EC_LOOP_DETECTED, "I am in your path");
		return;
	}
	/* [TREE-22] a node twice in the path sits below itself. */
	if (tree_path_repeats(n, &h->path)) {
		link_close(l, IB_EC_LOOP_DETECTED, "your path names a node twice");
		return;
	}
	/* [TREE-18] no room for us below a full path. FAULT full-path-violation, breaks
	 * [TREE-18]: the client closes with protocol_violation instead. */
	if (h->path.count >= IB_MAX_PATH) {
		link_close(l, IB_FAULT(n, full_path_violation) ? IB_EC_PROTOCOL_VIOLATION
							       : IB_EC_LOOP_DETECTED,
			   "your path holds 255 ids: no room for me below you");
		return;
	}
	if (other && node_is_child(n, other)) {
		link_close(l, IB_EC_DUPLICATE_IDENTITY, "you are my child");
		return;
	}
	link_opened(l);
	tree_joined(n, l);
}

void hello_receive(struct ib_link *l, const struct ib_msg *m)
{
	const struct ib_hello *h = &m->u.hello;

	/* [TREE-4] step 1, [TREE-5]: the sender is the last element of its path. */
	if (memcmp(h->path.ids + (size_t)(h->path.count - 1) * IB_ID_LEN, l->peer_id.b,
		   IB_ID_LEN) != 0) {
		link_close(l, IB_EC_PROTOCOL_VIOLATION, "HELLO path does not end with its sender");
		return;
	}
	/* [TREE-21] a client is a root: its path is itself alone ([TREE-4] step 1). FAULT
	 * child-path-any-length, breaks [TREE-21]: a longer path ending with it is taken. */
	if (!l->we_connected && h->path.count != 1 && !IB_FAULT(l->node, child_path_any_length)) {
		link_close(l, IB_EC_PROTOCOL_VIOLATION, "a client's HELLO path is itself alone");
		return;
	}
	if (remember_peer(l, h) != IB_OK) {
		link_close(l, 0, "out of memory");
		return;
	}
	if (l->we_connected)
		client_checks(l, h);
	else
		server_checks(l, h);
}
