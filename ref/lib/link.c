/*
 * link.c - one link (spec section 8): the socket, the TLS engine, the frame stream, the write
 * queue, and closing with an ERROR. What a frame means is decided elsewhere: hello.c before
 * the HELLO exchange, then keepalive.c, tree.c and flood.c.
 */
#include "node_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

static void link_on_event(struct ib_loop *loop, int fd, unsigned events, void *arg);

static void link_watch(struct ib_link *l, unsigned events)
{
	if (l->fd < 0 || l->events == events)
		return;
	if (ib_loop_watch(l->node->loop, l->fd, events, link_on_event, l) == IB_OK)
		l->events = events;
}

static bool connect_next_addr(struct ib_link *l);

static void setup_timeout(struct ib_loop *loop, void *arg)
{
	struct ib_link *l = arg;

	l->setup_timer = 0;
	if (l->state == LINK_HELLO_WAIT) {
		node_count(l->node, IB_CNT_HELLO_TIMEOUT);
		node_log_every(l->node, IB_LOG_INFO, IB_CNT_HELLO_TIMEOUT, "%s (%s): no HELLO "
			       "within %u ms of the TLS handshake: closed", l->we_connected ?
			       "connection to" : "connection from", l->addr,
			       (unsigned)(IB_HELLO_TIMEOUT_US / 1000));
		link_close(l, IB_EC_PROTOCOL_VIOLATION, "no HELLO in time");
		return;
	}
	/* [TREE-25] a TCP connect that did not end in time: the entry's next address. */
	if (l->state == LINK_CONNECTING && connect_next_addr(l))
		return;
	/* [LINK-12] TCP connect (the entry's last address) or TLS handshake took too long. */
	if (l->state == LINK_CONNECTING) {
		node_count(l->node, IB_CNT_CONNECT_FAILED);
		link_close(l, 0, "connect timeout");
		return;
	}
	node_count(l->node, IB_CNT_HANDSHAKE_TIMEOUT);
	node_log_every(l->node, IB_LOG_INFO, IB_CNT_HANDSHAKE_TIMEOUT, "%s (%s): no TLS "
		       "handshake within %u ms: closed", l->we_connected ? "connection to" :
		       "connection from", l->addr, (unsigned)(IB_HANDSHAKE_TIMEOUT_US / 1000));
	link_close(l, 0, "handshake timeout");
}

static void arm_setup_timer(struct ib_link *l, uint64_t delay_us)
{
	ib_loop_timer_cancel(l->node->loop, l->setup_timer);
	l->setup_timer = 0;
	ib_loop_timer_add(l->node->loop, delay_us, setup_timeout, l, &l->setup_timer);
}

static int link_new(struct ib_node *n, int fd, bool we_connected, const char *addr,
		    struct ib_link **out)
{
	struct ib_link *l = calloc(1, sizeof *l);

	if (!l)
		return IB_ERR_NOMEM;
	l->node = n;
	l->fd = fd;
	l->we_connected = we_connected;
	snprintf(l->addr, sizeof l->addr, "%s", addr);
	/* FAULT no-too-big-check, breaks [FRAME-4]: frames above max_message are read. */
	ib_frame_decoder_init(&l->dec, IB_FAULT(n, no_too_big_check) ? IB_MAX_MESSAGE_LIMIT
								      : n->cfg.max_message);
	/* [LINK-2][LINK-10] the reference's bound, from its own max_message: four of the
	 * largest frames it accepts, and some slack. */
	l->queue_limit = 4 * (size_t)n->cfg.max_message + 65536;
	l->next = n->links;
	n->links = l;
	*out = l;
	return IB_OK;
}

static int start_tls(struct ib_link *l)
{
	int err = ib_tls_new(&l->tls, l->node->tls, l->we_connected ? IB_TLS_CLIENT : IB_TLS_SERVER);

	if (err)
		return err;
	l->state = LINK_TLS;
	return IB_OK;
}

/* [TREE-25] Starts a TCP connect to the first of addrs from *next on that the kernel does not
 * refuse at once; *next moves past it. */
static int connect_from(struct ib_node *n, const char *entry, const struct ib_net_addrs *addrs,
			size_t *next, int *fd)
{
	struct ib_diag diag = { 0 };
	int err = IB_ERR_IO;

	while (*next < addrs->count) {
		err = n->net->connect_addr(n->net_ctx, addrs, (*next)++, fd, &diag);
		if (err == IB_OK)
			return IB_OK;
		node_log(n, IB_LOG_DEBUG, "connect %s: %s", entry, diag.reason);
	}
	return err;
}

/* The TCP connect to one address of the link's entry failed: the next one, if any
 * ([TREE-25]). False when none is left (the caller closes the link). */
static bool connect_next_addr(struct ib_link *l)
{
	struct ib_node *n = l->node;
	char name[IB_MAX_ADDR];
	int fd = -1;

	if (!l->addrs || l->addr_next >= l->addrs->count)
		return false;
	if (l->fd >= 0) {
		ib_loop_unwatch(n->loop, l->fd);
		ib_net_close(l->fd);
		l->fd = -1;
		l->events = 0;
	}
	if (connect_from(n, l->addr, l->addrs, &l->addr_next, &fd) != IB_OK)
		return false;
	l->fd = fd;
	if (ib_net_addr_name(l->addrs, l->addr_next - 1, name, sizeof name) == IB_OK)
		node_log(n, IB_LOG_DEBUG, "connecting to %s: now %s", l->addr, name);
	link_watch(l, IB_EV_WRITE);
	arm_setup_timer(l, IB_HANDSHAKE_TIMEOUT_US);
	return true;
}

int link_connect(struct ib_node *n, const char *addr, struct ib_link **out)
{
	char host[IB_MAX_ADDR];
	struct ib_diag diag = { 0 };
	struct ib_net_addrs *addrs = NULL;
	size_t next = 0;
	uint16_t port;
	int fd = -1, err;

	err = ib_addr_parse(addr, host, sizeof host, &port);
	if (!err && !(addrs = malloc(sizeof *addrs)))
		err = IB_ERR_NOMEM;
	/* [TREE-25] every address of a name, in the resolver's order, resolved at each try;
	 * one that does not resolve is IB_ERR_NOT_FOUND: a failed attempt on this entry. */
	if (!err)
		err = n->net->resolve(n->net_ctx, host, port, addrs, &diag);
	if (!err && connect_from(n, addr, addrs, &next, &fd) != IB_OK) {
		snprintf(diag.reason, sizeof diag.reason, "no address of it takes a connection");
		err = IB_ERR_IO;
	}
	if (err) {
		node_log(n, IB_LOG_WARN, "connect %s: %s", addr,
			 diag.reason[0] ? diag.reason : ib_strerror(err));
		free(addrs);
		return err;
	}
	err = link_new(n, fd, true, addr, out);
	if (err) {
		ib_net_close(fd);
		free(addrs);
		return err;
	}
	(*out)->addrs = addrs;
	(*out)->addr_next = next;
	(*out)->state = LINK_CONNECTING;
	link_watch(*out, IB_EV_WRITE);
	/* [LINK-12] the handshake timer bounds the TCP connect too.
	 * FAULT no-connect-timeout, breaks [LINK-12]: it starts once TCP is connected. */
	if (!IB_FAULT(n, no_connect_timeout))
		arm_setup_timer(*out, IB_HANDSHAKE_TIMEOUT_US);
	node_log(n, IB_LOG_DEBUG, "connecting to %s", addr);
	return IB_OK;
}

int link_accept(struct ib_node *n, int fd, const char *peer, const struct ib_net_source *source)
{
	struct ib_link *l;
	int err = link_new(n, fd, false, peer, &l);

	if (err) {
		ib_net_close(fd);
		return err;
	}
	l->source = *source;
	err = start_tls(l);
	if (err) {
		link_close(l, 0, "TLS setup failed");
		return err;
	}
	link_watch(l, IB_EV_READ);
	arm_setup_timer(l, IB_HANDSHAKE_TIMEOUT_US);
	node_log(n, IB_LOG_DEBUG, "accepted a connection from %s", peer);
	return IB_OK;
}

bool link_pending(const struct ib_link *l)
{
	return !l->we_connected && (l->state == LINK_TLS || l->state == LINK_HELLO_WAIT);
}

bool link_open(const struct ib_link *l)
{
	return l && l->state == LINK_OPEN;
}

size_t link_backlog(const struct ib_link *l)
{
	/* What TLS made, or has yet to seal, and a deferred flush has not taken yet counts too
	 * ([LINK-21]). */
	return l->out.len - l->out_off + ib_tls_pending_output(l->tls) + l->unsealed.len;
}

/* [LINK-10] The bound is this node's, whatever max_message the peer announced. */
static size_t queue_limit(const struct ib_link *l)
{
	/* FAULT queue-bound-peer, breaks [LINK-10]: the bound follows the peer's max_message. */
	if (IB_FAULT(l->node, queue_bound_peer) && l->peer_max_message)
		return 4 * (size_t)l->peer_max_message + 65536;
	return l->queue_limit;
}

/* The frames gathered in `unsealed` go into TLS in one write: a record holds up to 16 KiB of
 * them, where a write per frame made a record, 22 bytes and an AEAD pass of its own each.
 * The buffer is given back: an idle link keeps no plaintext. */
static int seal_unsealed(struct ib_link *l)
{
	int err = IB_OK;

	if (l->unsealed.len)
		err = ib_tls_write(l->tls, l->unsealed.ptr, l->unsealed.len);
	ib_buf_free(&l->unsealed);
	return err;
}

/* Writes what the socket takes now; the rest waits for IB_EV_WRITE. */
static void flush(struct ib_link *l)
{
	size_t sent;
	int err = IB_OK;

	/* [DATA-19] bytes leave only once the items read so far are durable: they may say that
	 * this node holds them (an OFFER, a TRANSFER, a RESULT). */
	if (!IB_FAULT(l->node, persist_after_answers))
		node_store_commit(l->node);
	if (l->unsealed.len && seal_unsealed(l) != IB_OK) {
		link_close(l, 0, "TLS write failed");
		return;
	}
	if (l->tls && ib_tls_take_output(l->tls, &l->out) != IB_OK) {
		link_close(l, 0, "out of memory");
		return;
	}
	while (l->out_off < l->out.len) {
		err = ib_net_write(l->fd, l->out.ptr + l->out_off, l->out.len - l->out_off, &sent);
		if (err)
			break;
		l->out_off += sent;
	}
	if (l->out_off == l->out.len) {
		ib_buf_free(&l->out); /* an idle link keeps no ciphertext buffer */
		l->out_off = 0;
	}
	if (err && err != IB_ERR_AGAIN) {
		char why[96];

		snprintf(why, sizeof why, "write failed: %s", strerror(errno));
		node_count(l->node, IB_CNT_LINK_LOST);
		link_close(l, 0, why);
		return;
	}
	/* [LINK-2][LINK-10] a peer that does not read cannot make us buffer without bound. */
	if (l->out.len - l->out_off > queue_limit(l)) {
		node_count(l->node, IB_CNT_QUEUE_OVERFLOW);
		link_close(l, 0, "write queue over its limit");
		return;
	}
	/* FAULT idle-watches-write, breaks [LINK-22]: WRITE is watched with nothing to write. */
	if (IB_FAULT(l->node, idle_watches_write))
		link_watch(l, IB_EV_READ | IB_EV_WRITE);
	/* [LINK-22] WRITE only while something waits to go: a socket is writable at every turn. */
	else
		link_watch(l, l->out_off < l->out.len ? IB_EV_READ | IB_EV_WRITE : IB_EV_READ);
}

/* link_send's write: now, or, while another link's input is handled, at its end
 * (flush_due_links), so that the frames forwarded from one read leave in one write. */
static void flush_soon(struct ib_link *l)
{
	struct ib_node *n = l->node;

	if (!n->defer_flush) {
		flush(l);
		return;
	}
	if (l->flush_due)
		return;
	l->flush_due = true;
	l->due_next = n->flush_due;
	n->flush_due = l;
}

/* No link is freed before the reap timer runs, so every link on the list is still there, and
 * one closed meanwhile is skipped. A flush that closes a link may send to others: those
 * writes are not deferred any more. */
static void flush_due_links(struct ib_node *n)
{
	while (n->flush_due) {
		struct ib_link *l = n->flush_due;

		n->flush_due = l->due_next;
		l->flush_due = false;
		if (l->state != LINK_CLOSED)
			flush(l);
	}
}

/* The link's two ends, once: a socket's names do not change, and a lookup is a syscall. A peer
 * that already reset has no name; its frames are traced without addresses. */
static void trace_ends(struct ib_link *l)
{
	char name[IB_MAX_ADDR];
	uint16_t port;

	l->trace_ends_known = true;
	if (ib_net_local_name(l->fd, name, sizeof name, &port) != IB_OK ||
	    ib_trace_addr_parse(&l->trace_local, name) != IB_OK)
		memset(&l->trace_local, 0, sizeof l->trace_local);
	if (ib_net_peer_name(l->fd, name, sizeof name, &port) != IB_OK ||
	    ib_trace_addr_parse(&l->trace_peer, name) != IB_OK)
		memset(&l->trace_peer, 0, sizeof l->trace_peer);
}

/* One whole frame into the node's trace; called only when there is one. */
static void trace_frame(struct ib_link *l, const uint8_t *frame, size_t len, bool sent)
{
	struct ib_node *n = l->node;
	int err;

	if (!l->trace_ends_known)
		trace_ends(l);
	err = ib_trace_write(n->trace, node_unix_us(n), sent ? &l->trace_local : &l->trace_peer,
			     sent ? &l->trace_peer : &l->trace_local, frame, len);
	/* The trace says a failure once, then IB_ERR_CLOSED: one line, not one per frame. */
	if (err && err != IB_ERR_CLOSED)
		node_log(n, IB_LOG_ERROR, "frame trace stopped: %s", ib_strerror(err));
}

int link_send(struct ib_link *l, const uint8_t *frame, size_t len)
{
	size_t msg_len = len - IB_FRAME_HEADER_LEN - IB_SIG_LEN;
	int err;

	if (l->state != LINK_OPEN && l->state != LINK_HELLO_WAIT)
		return IB_ERR_INVALID_ARG;
	/* [FRAME-7] never above what the peer said it accepts. [FLOOD-13] not on this link, but
	 * the link stays open, and the caller goes on with the other links. */
	if (l->state == LINK_OPEN && msg_len > l->peer_max_message) {
		node_count(l->node, IB_CNT_TOO_BIG_FOR_PEER);
		/* FAULT too-big-for-peer-closes, breaks [FLOOD-13]: the peer's link is closed. */
		if (IB_FAULT(l->node, too_big_for_peer_closes))
			link_close(l, IB_EC_TOO_BIG, "a frame above your max_message");
		return IB_ERR_TOO_BIG;
	}
	/* While input is handled, small frames wait for the turn's flush and share records;
	 * any other frame goes in at once, after those (the order on a link is kept). */
	if (l->node->defer_flush && l->unsealed.len + len <= IB_SEAL_QUEUE_MAX) {
		err = ib_buf_reserve(&l->unsealed, IB_SEAL_QUEUE_MAX - l->unsealed.len);
		if (!err)
			err = ib_buf_put(&l->unsealed, frame, len);
	} else {
		err = seal_unsealed(l);
		if (!err)
			err = ib_tls_write(l->tls, frame, len);
	}
	if (err) {
		link_close(l, 0, "TLS write failed");
		return err;
	}
	if (l->node->trace)
		trace_frame(l, frame, len, true);
	flush_soon(l);
#ifdef IB_FAULTS
	map_fault_frame_sent(l); /* the map burst's fault */
#endif
	return IB_OK;
}

int link_send_msg(struct ib_link *l, struct ib_msg *m)
{
	struct ib_buf frame = { 0 };
	int err = node_sign(l->node, m, &frame);

	if (!err)
		err = link_send(l, frame.ptr, frame.len);
	ib_buf_free(&frame);
	return err;
}

static enum ib_counter counter_for(int err)
{
	switch (err) {
	case IB_ERR_BAD_SIG_LEN:
		return IB_CNT_BAD_SIGNATURE_LENGTH;
	case IB_ERR_UNKNOWN_ORIGIN:
		return IB_CNT_UNKNOWN_ORIGIN;
	case IB_ERR_BAD_SIGNATURE:
		return IB_CNT_BAD_SIGNATURE;
	case IB_ERR_BAD_VERSION:
		return IB_CNT_UNSUPPORTED_VERSION;
	case IB_ERR_RESERVED_TYPE:
		return IB_CNT_RESERVED_TYPE;
	case IB_ERR_STALE:
		return IB_CNT_STALE_COMMAND;
	default:
		return IB_CNT_MALFORMED;
	}
}

/* A hop-local message on an open link. */
static void on_hop_message(struct ib_link *l, const struct ib_frame *f, const struct ib_msg *m)
{
	/* [LINK-3] hop-local frames come from the peer itself. FAULT hop-local-any-origin. */
	if (!ib_id_equal(&f->origin, &l->peer_id) && !IB_FAULT(l->node, hop_local_any_origin)) {
		link_close(l, IB_EC_PROTOCOL_VIOLATION, "hop-local frame from another origin");
		return;
	}
	switch (m->h.type) {
	case IB_MSG_HELLO:
		if (IB_FAULT(l->node, second_hello_accepted)) /* FAULT, breaks [LINK-6] */
			break;
		link_close(l, IB_EC_PROTOCOL_VIOLATION, "second HELLO"); /* [LINK-6] */
		break;
	/* [LINK-17] PATH and PING from the parent only, PONG from a child only. FAULT
	 * wrong-sender-ignored: from the other side they are ignored, the link kept. */
	case IB_MSG_PATH:
		if (l == l->node->parent)
			tree_path_received(l->node, l, m);
		else if (!IB_FAULT(l->node, wrong_sender_ignored))
			link_close(l, IB_EC_PROTOCOL_VIOLATION, "PATH from a child");
		break;
	case IB_MSG_PING:
		if (l->we_connected)
			ka_ping_received(l, m);
		else if (!IB_FAULT(l->node, wrong_sender_ignored))
			link_close(l, IB_EC_PROTOCOL_VIOLATION, "PING from a child");
		break;
	case IB_MSG_PONG:
		if (!l->we_connected)
			ka_pong_received(l, m);
		else if (!IB_FAULT(l->node, wrong_sender_ignored))
			link_close(l, IB_EC_PROTOCOL_VIOLATION, "PONG from the parent");
		break;
	case IB_MSG_ERROR:
		/* [LINK-4] close without answering; nothing after it is read. [ERR-4] */
		node_count(l->node, IB_CNT_ERROR_RECEIVED);
		node_log_every(l->node, IB_LOG_WARN, IB_CNT_ERROR_RECEIVED, "%s sent ERROR %s: %.*s",
			       l->peer_name, ib_error_code_name(m->u.error.code),
			       (int)m->u.error.reason.len, (const char *)m->u.error.reason.ptr);
		link_close(l, 0, "peer sent ERROR");
		break;
	default:
		node_count(l->node, IB_CNT_UNKNOWN_HOP_TYPE); /* [MSG-9] */
		break;
	}
}

/* Whether err is one of the message rules (sections 6 and 7), not an envelope one. */
static bool is_message_error(int err)
{
	switch (err) {
	case IB_OK:
	case IB_ERR_BAD_SIG_LEN:
	case IB_ERR_UNKNOWN_ORIGIN:
	case IB_ERR_BAD_SIGNATURE:
		return false;
	default:
		return true;
	}
}

/* A frame before the HELLO exchange is complete: err is what ib_frame_check found. */
static void on_frame_hello_wait(struct ib_link *l, const struct ib_frame *f,
				const struct ib_msg *m, int err)
{
	struct ib_node *n = l->node;

	/* FAULT hello-wait-drops, breaks [LINK-9]: a frame that fails a check is dropped, and
	 * the link waits on for a HELLO. */
	if (err && IB_FAULT(n, hello_wait_drops)) {
		node_count(n, counter_for(err));
		return;
	}
	/* [LINK-9] a peer of another version is told so. FAULT hello-wait-version-pv. [ERR-4]
	 * counted once, by the close, under the code it closes with. */
	if (err == IB_ERR_BAD_VERSION && !IB_FAULT(n, hello_wait_version_pv)) {
		link_close(l, IB_EC_UNSUPPORTED_VERSION, "message version is not 1");
		return;
	}
	/* [LINK-9] any other failed check closes the link: there is nothing to wait for. */
	if (err) {
		link_close(l, IB_EC_PROTOCOL_VIOLATION, ib_drop_reason(err));
		return;
	}
	/* [LINK-1] nothing but HELLO (or ERROR) before the exchange (section 8.1 row 11), then
	 * [LINK-3] from the peer itself (row 12). */
	if (m->h.type != IB_MSG_HELLO && m->h.type != IB_MSG_ERROR) {
		link_close(l, IB_EC_PROTOCOL_VIOLATION, "expected HELLO");
		return;
	}
	if (!ib_id_equal(&f->origin, &l->peer_id)) {
		link_close(l, IB_EC_PROTOCOL_VIOLATION, "frame from another origin before HELLO");
		return;
	}
	if (m->h.type == IB_MSG_ERROR) {
		on_hop_message(l, f, m);
		return;
	}
	hello_receive(l, m);
}

/* |seq - now| in whole seconds, rounded down: what the fault stale-bound-whole-seconds
 * compares instead of microseconds. */
static uint64_t skew_seconds(uint64_t seq, uint64_t now_unix_us)
{
	return (seq > now_unix_us ? seq - now_unix_us : now_unix_us - seq) / 1000000u;
}

static void on_frame(struct ib_link *l, const struct ib_frame *f)
{
	struct ib_node *n = l->node;
	struct ib_msg m;
	int err;

	/* What came, whole and unchanged, before any check may drop it. */
	if (n->trace)
		trace_frame(l, f->raw.ptr, f->raw.len, false);
	ib_msg_fault_lax_transfer(IB_FAULT(n, transfer_lengths_unchecked));
	err = ib_frame_check(f, n->kr, node_unix_us(n), &m);
	ib_msg_fault_lax_transfer(false);
	/* FAULT skip-signature-check, breaks [FRAME-6]: a forgery is taken as genuine. */
	if (IB_FAULT(n, skip_signature_check) && err == IB_ERR_BAD_SIGNATURE)
		err = ib_msg_decode(&m, f->msg.ptr, f->msg.len);
	/* FAULT accept-small-order-r, breaks [FRAME-9]: a signature whose R is of small order
	 * passes (as with OpenSSL alone). */
	if (IB_FAULT(n, accept_small_order_r) && err == IB_ERR_BAD_SIGNATURE &&
	    f->sig.len == IB_SIG_LEN && ib_ed25519_weak_point(f->sig.ptr))
		err = ib_msg_decode(&m, f->msg.ptr, f->msg.len);
	/* FAULT accept-stale-commands, breaks [CMD-6]: m is decoded when only the time failed. */
	if (IB_FAULT(n, accept_stale_commands) && err == IB_ERR_STALE)
		err = IB_OK;
	/* FAULT accept-undirected, breaks [MSG-11]: m is decoded, only its dest was wrong. */
	if (IB_FAULT(n, accept_undirected) && err == IB_ERR_NO_DEST)
		err = IB_OK;
	/* FAULT stale-bound-whole-seconds, breaks [CMD-8]: the skew is cut to whole seconds
	 * before it is compared, so up to 300.999999 s is fresh. */
	if (IB_FAULT(n, stale_bound_whole_seconds) && err == IB_ERR_STALE &&
	    skew_seconds(m.h.seq, node_unix_us(n)) <= IB_COMMAND_MAX_SKEW_US / 1000000u)
		err = IB_OK;
	/* [CMD-12] a RESULT of any status is valid. FAULT drop-unassigned-status, breaks [CMD-12]:
	 * statuses above 5 are taken for a malformed RESULT. */
	if (IB_FAULT(n, drop_unassigned_status) && !err && m.h.type == IB_MSG_RESULT &&
	    m.u.result.status > IB_STATUS_NOT_FOUND)
		err = IB_ERR_RANGE;
	/* FAULT drop-undirected-with-dest, breaks [MSG-13]: a PUBLISH, QUERY, ANNOUNCE or
	 * PARTED with a dest is taken as malformed. */
	if (IB_FAULT(n, drop_undirected_with_dest) && !err && !ib_id_is_zero(&m.h.dest) &&
	    (m.h.type == IB_MSG_PUBLISH || m.h.type == IB_MSG_QUERY ||
	     m.h.type == IB_MSG_ANNOUNCE || m.h.type == IB_MSG_PARTED))
		err = IB_ERR_NO_DEST;
	if (l->state == LINK_HELLO_WAIT) {
		on_frame_hello_wait(l, f, &m, err);
		return;
	}
	/* FAULT error-before-checks, breaks [LINK-4]: a frame whose type byte says ERROR ends
	 * the link, although a check dropped it. */
	if (IB_FAULT(n, error_before_checks) && err && f->msg.len > 1 &&
	    f->msg.ptr[1] == IB_MSG_ERROR && ib_id_equal(&f->origin, &l->peer_id)) {
		link_close(l, 0, "peer sent ERROR");
		return;
	}
	/* FAULT link-rules-first, breaks [MSG-12]: a hop-local message of another origin closes
	 * the link although a message rule drops it. */
	if (IB_FAULT(n, link_rules_first) && is_message_error(err) &&
	    ib_msg_type_is_hop(m.h.type) && !ib_id_equal(&f->origin, &l->peer_id)) {
		link_close(l, IB_EC_PROTOCOL_VIOLATION, "hop-local frame from another origin");
		return;
	}
	/* A stale COMMAND is otherwise valid: section 9 drops it, after the anti-replay check. */
	if (err == IB_ERR_STALE) {
		flood_receive(n, l, f, &m, true);
		return;
	}
	if (err) {
		/* [KA-11] a malformed PONG too: it answers nothing and closes nothing. */
		node_count(n, counter_for(err)); /* dropped, the link stays */
		node_log(n, IB_LOG_DEBUG, "dropped a frame from %s: %s", l->peer_name,
			 ib_drop_reason(err));
#ifdef IB_FAULTS
		if (is_message_error(err))
			ka_frame_dropped(l, &m); /* the keep-alive faults of a dropped PONG */
#endif
		return;
	}
	node_count(n, IB_CNT_FRAMES_IN);
#ifdef IB_FAULTS
	ka_frame_received(l); /* the keep-alive faults that look at every frame */
#endif
	/* FAULT forward-hop-local, breaks [FLOOD-6]: hop-local frames go to the other links. */
	if (IB_FAULT(n, forward_hop_local) && ib_msg_type_is_hop(m.h.type))
		for (struct ib_link *o = n->links; o; o = o->next)
			if (o != l && link_open(o))
				link_send(o, f->raw.ptr, f->raw.len);
	/* FAULT route-from-hop-local, breaks [FLOOD-10]: a hop-local frame teaches the route. */
	if (IB_FAULT(n, route_from_hop_local) && ib_msg_type_is_hop(m.h.type))
		flood_learn_route(n, &f->origin, l);
	if (ib_msg_type_is_hop(m.h.type))
		on_hop_message(l, f, &m);
	else
		flood_receive(n, l, f, &m, false);
}

/* Cuts the plaintext into frames and hands them on, while the link stays usable. */
static void consume_plaintext(struct ib_link *l)
{
	size_t off = 0;

	while (l->state == LINK_HELLO_WAIT || l->state == LINK_OPEN) {
		struct ib_frame f;
		size_t taken = 0;
		int st;

		if (off < l->plain.len &&
		    ib_frame_decoder_feed(&l->dec, l->plain.ptr + off, l->plain.len - off, &taken) ==
			    IB_ERR_NOMEM) {
			link_close(l, 0, "out of memory");
			break;
		}
		off += taken;
		st = ib_frame_decoder_next(&l->dec, &f);
		if (st == IB_ERR_TOO_BIG) {
			link_close(l, IB_EC_TOO_BIG, "message_length above max_message"); /* [FRAME-4] */
			break;
		}
		if (st == IB_FRAME_READY) {
			on_frame(l, &f);
			continue;
		}
		if (off >= l->plain.len)
			break;
	}
	ib_buf_reset(&l->plain);
}

static void on_tls_open(struct ib_link *l)
{
	const struct ib_pubkey *peer = ib_tls_peer(l->tls);

#ifdef IB_FAULTS
	struct ib_pubkey *copy;

	/* FAULT accept-unknown-keys, breaks [TLS-4]: the key TLS let in is trusted from now on,
	 * so that its HELLO passes too. */
	if (IB_FAULT(l->node, accept_unknown_keys) &&
	    !ib_keyring_find(l->node->kr, ib_pubkey_id(peer)) &&
	    ib_pubkey_from_raw(&copy, ib_pubkey_raw(peer)) == IB_OK)
		ib_keyring_add(l->node->kr, copy); /* it takes copy in every case */
#endif
	/* [TLS-4] pinned by the engine; the key is copied, the keyring may be swapped later. */
	l->peer_known = true;
	l->peer_id = *ib_pubkey_id(peer);
	memcpy(l->peer_spki, ib_pubkey_spki(peer), IB_SPKI_LEN);
	ib_id_to_hex(&l->peer_id, l->peer_name);
	l->state = LINK_HELLO_WAIT;
	l->tls_open_us = node_now_us(l->node);
	/* FAULT not-authorized-error, breaks [TLS-8]: an unknown key is told so by ERROR, after
	 * the handshake (tls.c let it through). */
	if (IB_FAULT(l->node, not_authorized_error) &&
	    !ib_keyring_match_spki(l->node->kr, l->peer_spki, IB_SPKI_LEN)) {
		node_count(l->node, IB_CNT_NOT_AUTHORIZED);
		link_close(l, IB_EC_NOT_AUTHORIZED, "your key is not authorized");
		return;
	}
	/* [LINK-12] the HELLO timer runs from here, on both ends.
	 * FAULT hello-timer-from-connect, breaks [LINK-12]: the handshake timer runs on instead.
	 * FAULT client-no-hello-timer, breaks [LINK-12]: a client waits for HELLO forever. */
	if (IB_FAULT(l->node, client_no_hello_timer) && l->we_connected) {
		ib_loop_timer_cancel(l->node->loop, l->setup_timer);
		l->setup_timer = 0;
	} else if (!IB_FAULT(l->node, hello_timer_from_connect)) {
		arm_setup_timer(l, IB_HELLO_TIMEOUT_US);
	}
	if (l->we_connected)
		hello_send(l);
}

/* Runs the TLS engine over what was fed, then the frames it yields. */
static void pump(struct ib_link *l)
{
	int st = ib_tls_step(l->tls, &l->plain);

	if (st < 0) {
		/* [ERR-3] this end refused the key, or the handshake failed (an alert received
		 * included); [ERR-4] a link broken after it is lost. */
		enum ib_counter c = st == IB_ERR_NOT_AUTHORIZED ? IB_CNT_NOT_AUTHORIZED
				    : st == IB_ERR_HANDSHAKE || l->state == LINK_TLS
					    ? IB_CNT_HANDSHAKE_FAILED
					    : IB_CNT_LINK_LOST;

		node_count(l->node, c);
		/* Anybody can make accepted connections fail: their lines are rate-limited. */
		if (l->we_connected)
			node_log(l->node, IB_LOG_WARN, "TLS with %s failed: %s", l->addr,
				 ib_tls_failure(l->tls));
		else
			node_log_every(l->node, IB_LOG_WARN, c, "TLS with %s failed: %s", l->addr,
				       ib_tls_failure(l->tls));
		flush(l); /* the alert tells the peer why */
		link_close(l, 0, NULL);
		return;
	}
	if (l->state == LINK_TLS && st != IB_TLS_HANDSHAKING)
		on_tls_open(l);
	if (l->plain.len)
		consume_plaintext(l);
	ib_buf_free(&l->plain); /* TLS reads into 16 KiB: an idle link keeps none of it */
	if (l->state == LINK_CLOSED)
		return;
	if (st == IB_TLS_PEER_CLOSED) {
		node_count(l->node, IB_CNT_LINK_LOST);
		link_close(l, 0, "peer closed TLS");
		return;
	}
	flush_soon(l);
}

static void on_connected(struct ib_link *l)
{
	int err = ib_net_connect_result(l->fd);

	if (err == IB_ERR_AGAIN)
		return;
	/* [TREE-25] refused, unreachable: the entry's next address, if there is one. */
	if (err && connect_next_addr(l))
		return;
	if (err || start_tls(l) != IB_OK) {
		node_count(l->node, IB_CNT_CONNECT_FAILED);
		link_close(l, 0, "connect failed");
		return;
	}
	if (IB_FAULT(l->node, no_connect_timeout))
		arm_setup_timer(l, IB_HANDSHAKE_TIMEOUT_US);
	link_watch(l, IB_EV_READ);
	pump(l); /* the ClientHello */
}

/* [LINK-20] One read per readiness, however much more is waiting: the loop serves its timers
 * and the other links before it comes back to this one. */
static void on_readable(struct ib_link *l)
{
	struct ib_node *n = l->node;
	uint8_t buf[IB_READ_CHUNK];
	size_t got;
	int err = ib_net_read(l->fd, buf, sizeof buf, &got);

	if (err == IB_ERR_AGAIN)
		return;
	if (err) {
		char why[96];

		/* errno of the failed recv: a reset says more than "read failed". */
		snprintf(why, sizeof why, "read failed: %s", strerror(errno));
		node_count(l->node, IB_CNT_LINK_LOST);
		link_close(l, 0, err == IB_ERR_CLOSED ? "peer closed" : why);
		return;
	}
	if (ib_tls_feed(l->tls, buf, got) != IB_OK) {
		link_close(l, 0, "out of memory");
		return;
	}
	/* FAULT persist-after-answers, breaks [DATA-19]: the previous read's items are flushed
	 * now, after the answers that said this node holds them left. */
	if (IB_FAULT(n, persist_after_answers))
		node_store_commit(n);
	n->defer_flush = true;
	pump(l);
	n->defer_flush = false;
	flush_due_links(n); /* the first flush makes this read's items durable ([DATA-19]) */
}

static void link_on_event(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct ib_link *l = arg;

	if (l->state == LINK_CONNECTING) {
		on_connected(l);
		return;
	}
	if (events & (IB_EV_READ | IB_EV_ERROR))
		on_readable(l);
	if (l->state != LINK_CLOSED && (events & IB_EV_WRITE))
		flush(l);
}

/* ---- [LINK-11] Closing without losing the last bytes ----------------------------------- */

/*
 * A connection this node closed: what it still owes the peer (the ERROR, close_notify, an
 * alert, and whatever was queued before them) is written out, then the sending direction is
 * shut down (FIN), then whatever the peer still sends is read and thrown away unseen, until
 * the peer closes its side or IB_LINGER_US have passed. Only then is the socket closed: one
 * closed while input is unread makes TCP send a reset, and a reset can destroy what the
 * peer has not read yet (the ERROR above all).
 */
struct lingering {
	struct ib_node *node;
	struct lingering *next;
	int fd;
	struct ib_buf out;          /* ciphertext still owed to the peer */
	size_t off;
	bool shut;                  /* FIN sent */
	uint64_t timer;
};

static void linger_end(struct lingering *g)
{
	struct ib_node *n = g->node;

	for (struct lingering **p = &n->lingering; *p; p = &(*p)->next) {
		if (*p == g) {
			*p = g->next;
			n->nlingering--;
			break;
		}
	}
	ib_loop_timer_cancel(n->loop, g->timer);
	ib_loop_unwatch(n->loop, g->fd);
	ib_net_close(g->fd);
	ib_buf_free(&g->out);
	free(g);
}

static void linger_on_event(struct ib_loop *loop, int fd, unsigned events, void *arg);

/* Writes what the socket takes, then the FIN; false when the connection is gone. */
static bool linger_flush(struct lingering *g)
{
	unsigned events;

	while (g->off < g->out.len) {
		size_t sent;
		int err = ib_net_write(g->fd, g->out.ptr + g->off, g->out.len - g->off, &sent);

		if (err == IB_ERR_AGAIN)
			break;
		if (err) {
			linger_end(g);
			return false;
		}
		g->off += sent;
	}
	if (g->off == g->out.len && !g->shut) {
		if (ib_net_shutdown_write(g->fd) != IB_OK) {
			linger_end(g);
			return false;
		}
		g->shut = true;
	}
	/* [LINK-22] once the FIN is out the socket reads as writable at every turn. */
	events = g->shut ? IB_EV_READ : IB_EV_READ | IB_EV_WRITE;
	/* FAULT linger-watches-write, breaks [LINK-22]: WRITE stays watched after the FIN. */
	if (IB_FAULT(g->node, linger_watches_write))
		events |= IB_EV_WRITE;
	if (ib_loop_watch(g->node->loop, g->fd, events, linger_on_event, g) != IB_OK) {
		linger_end(g);
		return false;
	}
	return true;
}

static void linger_on_event(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct lingering *g = arg;

	(void)loop;
	(void)fd;
	if (events & (IB_EV_READ | IB_EV_ERROR)) {
		uint8_t buf[IB_READ_CHUNK];

		/* Read, never looked at; a bounded number of reads per turn. */
		for (int i = 0; i < 16; i++) {
			size_t got;
			int err = ib_net_read(g->fd, buf, sizeof buf, &got);

			if (err == IB_ERR_AGAIN)
				break;
			if (err) {      /* EOF: the peer is done; or a reset: it is gone */
				linger_end(g);
				return;
			}
		}
	}
	if (!g->shut || (events & IB_EV_WRITE))
		linger_flush(g);
}

static void linger_timeout(struct ib_loop *loop, void *arg)
{
	struct lingering *g = arg;

	(void)loop;
	g->timer = 0;
	linger_end(g);
}

/* The peer gets what it is owed as far as the socket takes it now, and the socket closes. */
static void close_at_once(int fd, const struct ib_buf *out, size_t off)
{
	size_t sent;

	if (off < out->len)
		ib_net_write(fd, out->ptr + off, out->len - off, &sent);
	ib_net_close(fd);
}

/* Takes fd and the unsent bytes of out[off..]: out is left empty. */
static void linger_start(struct ib_node *n, int fd, struct ib_buf *out, size_t off)
{
	struct lingering *g;

	/* [LINK-19] past IB_MAX_LINGERING the socket closes at once. */
	if (n->nlingering >= IB_MAX_LINGERING) {
		node_count(n, IB_CNT_LINGER_FULL);
		node_log_every(n, IB_LOG_INFO, IB_CNT_LINGER_FULL, "%u closed connections still "
			       "lingering (max_lingering): one more closed at once",
			       IB_MAX_LINGERING);
		close_at_once(fd, out, off);
		return;
	}
	/* FAULT close-at-once, breaks [LINK-11]: so does every connection, unread input or
	 * not. */
	if (IB_FAULT(n, close_at_once) || !(g = calloc(1, sizeof *g))) {
		close_at_once(fd, out, off);
		return;
	}
	g->node = n;
	g->fd = fd;
	g->out = *out;
	g->off = off;
	memset(out, 0, sizeof *out);
	g->next = n->lingering;
	n->lingering = g;
	n->nlingering++;
	if (ib_loop_timer_add(n->loop, IB_LINGER_US, linger_timeout, g, &g->timer) != IB_OK) {
		linger_end(g);
		return;
	}
	linger_flush(g);
}

void link_linger_free_all(struct ib_node *n)
{
	while (n->lingering) /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): linger_end unlinks it */
		linger_end(n->lingering);
}

bool ib_node_lingering(const struct ib_node *n)
{
	return n && n->lingering;
}

/* [ERR-4] The counter of a link this node closes with ERROR code. */
static enum ib_counter counter_of_code(uint16_t code)
{
	switch (code) {
	case IB_EC_NOT_AUTHORIZED:
		return IB_CNT_NOT_AUTHORIZED;
	case IB_EC_LOOP_DETECTED:
		return IB_CNT_LOOP_DETECTED;
	case IB_EC_TOO_BIG:
		return IB_CNT_TOO_BIG;
	case IB_EC_KEEPALIVE_TIMEOUT:
		return IB_CNT_KEEPALIVE_TIMEOUT;
	case IB_EC_REVOKED:
		return IB_CNT_REVOKED;
	case IB_EC_NO_CHILDREN_ACCEPTED:
		return IB_CNT_NO_CHILDREN_ACCEPTED;
	case IB_EC_UNSUPPORTED_VERSION:
		return IB_CNT_UNSUPPORTED_VERSION;
	case IB_EC_SHUTTING_DOWN:
		return IB_CNT_SHUTTING_DOWN;
	case IB_EC_DUPLICATE_IDENTITY:
		return IB_CNT_DUPLICATE_IDENTITY;
	default:
		return IB_CNT_PROTOCOL_VIOLATION;
	}
}

void link_close(struct ib_link *l, uint16_t code, const char *reason)
{
	struct ib_node *n = l->node;
	bool was_open = l->state == LINK_OPEN;

	if (l->state == LINK_CLOSED)
		return;
#ifdef IB_FAULTS
	map_fault_link_closing(l, code); /* the faults of [MAP-11] */
#endif
	/* [LINK-5] an ERROR is sent only on a link that finished TLS; then close_notify. */
	if (code && (l->state == LINK_HELLO_WAIT || l->state == LINK_OPEN)) {
		struct ib_msg m;

		memset(&m, 0, sizeof m);
		m.h.type = IB_MSG_ERROR;
		m.u.error.code = code;
		m.u.error.reason = (struct ib_slice){ (const uint8_t *)(reason ? reason : ""),
						      reason ? strlen(reason) : 0 };
		if (m.u.error.reason.len > IB_MAX_STRING)
			m.u.error.reason.len = IB_MAX_STRING;
		link_send_msg(l, &m);
		if (l->state == LINK_CLOSED)
			return; /* the send itself failed and closed it */
		node_count(n, counter_of_code(code)); /* [ERR-4] */
		if (code != IB_EC_SHUTTING_DOWN)
			node_count(n, IB_CNT_LINKS_REFUSED);
	}
	/* [LINK-11] what was sent before the close goes before close_notify; [DATA-19] the
	 * items that were read so far are durable before it goes, as at the end of a read. */
	if (l->tls && l->unsealed.len)
		seal_unsealed(l);
	if (!IB_FAULT(n, persist_after_answers))
		node_store_commit(n);
	if (l->tls && l->state != LINK_TLS && l->state != LINK_CONNECTING)
		ib_tls_close(l->tls);
	if (l->tls && l->fd >= 0)
		ib_tls_take_output(l->tls, &l->out);
	/* An open link lost without an ERROR (a reset, a full queue) is news to the owner, as
	 * much as one closed with an ERROR; a connection that never opened is not. */
	node_log_every(n, code || (was_open && reason) ? IB_LOG_INFO : IB_LOG_DEBUG,
		       code ? counter_of_code(code) : IB_CNT_LINK_LOST,
		       "link %s (%s) closed%s%s%s%s", l->peer_known ? l->peer_name : "-", l->addr,
		       code ? " with " : "", code ? ib_error_code_name(code) : "",
		       reason ? ": " : "", reason ? reason : "");
	ka_stop(l);
	ib_loop_timer_cancel(n->loop, l->setup_timer);
	l->setup_timer = 0;
	if (l->fd >= 0) {
		ib_loop_unwatch(n->loop, l->fd);
		/* [LINK-11] the last bytes (an ERROR, close_notify, an alert) must reach the
		 * peer: a socket closed with unread input sends a reset, which can destroy
		 * them. A connection that never connected has nothing to deliver. */
		if (l->state == LINK_CONNECTING)
			ib_net_close(l->fd);
		else
			linger_start(n, l->fd, &l->out, l->out_off);
		l->fd = -1;
	}
	l->state = LINK_CLOSED;
	tree_link_closed(n, l, was_open);
	node_link_gone(n, l);
	if (was_open)
		node_link_event(n, l, false);
}

void link_free(struct ib_link *l)
{
	if (!l)
		return;
	ka_stop(l);
	ib_loop_timer_cancel(l->node->loop, l->setup_timer);
	if (l->fd >= 0) {
		ib_loop_unwatch(l->node->loop, l->fd);
		ib_net_close(l->fd);
	}
	ib_tls_free(l->tls);
	free(l->addrs);
	ib_frame_decoder_free(&l->dec);
	ib_buf_free(&l->plain);
	ib_buf_free(&l->unsealed);
	ib_buf_free(&l->out);
	free(l->peer_path);
	free(l);
}
