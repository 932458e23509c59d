/*
 * link_test.c - one reference node against a tester peer over real TCP + TLS: the HELLO
 * exchange, link errors, keep-alive, and the frames a node must drop without forwarding.
 */
#include "harness.h"
#include "ib_test.h"
#include "net.h"
#include "peer.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define SECOND 1000000ull

struct fixture {
	struct hn_tree *t;
	struct hn_peer *a, *b;      /* a: child of the last node; b: child of node 0 */
};

static bool peer_closed(struct hn_tree *t, void *arg)
{
	(void)t;
	return hn_peer_closed(arg);
}

struct wait_type {
	struct hn_peer *p;
	uint8_t type;
	size_t count;
};

static bool peer_got(struct hn_tree *t, void *arg)
{
	const struct wait_type *w = arg;

	(void)t;
	return hn_peer_count(w->p, w->type) >= w->count;
}

/* shape with a tester peer on the last node (a) and one on node 0 (b), all linked. */
static void setup(struct fixture *fx, const char *shape, uint32_t keepalive_ms)
{
	memset(fx, 0, sizeof *fx);
	IB_ASSERT_OK(hn_tree_new(&fx->t, shape, 11));
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx->t);
	fx->t->base.keepalive_interval_ms = keepalive_ms;
	fx->t->base.keepalive_timeout_ms = 1000;
	fx->t->base.max_message = IB_MAX_MESSAGE_MIN;
	IB_ASSERT_OK(hn_tree_new_peer(fx->t, &fx->a));
	IB_ASSERT_OK(hn_tree_new_peer(fx->t, &fx->b));
	IB_ASSERT_OK(hn_tree_start(fx->t));
	CU_ASSERT_FATAL(hn_tree_run_until(fx->t, hn_tree_formed, NULL, 10 * SECOND));
	CU_ASSERT_FATAL(hn_attach_child(fx->t, fx->a, fx->t->count - 1));
	CU_ASSERT_FATAL(hn_attach_child(fx->t, fx->b, 0));
}

static void teardown(struct fixture *fx)
{
	hn_peer_free(fx->a);
	hn_peer_free(fx->b);
	hn_tree_free(fx->t);
}

static void publish(struct ib_msg *m, const char *key, uint64_t version)
{
	memset(m, 0, sizeof *m);
	m->h.type = IB_MSG_PUBLISH;
	m->u.publish.key = (struct ib_slice){ (const uint8_t *)key, strlen(key) };
	m->u.publish.version = version;
	m->u.publish.value = (struct ib_slice){ (const uint8_t *)"value", 5 };
}

/* [LINK-1] a frame other than HELLO first: ERROR protocol_violation, then close. */
static void test_hello_must_come_first(void)
{
	struct hn_tree *t = NULL;
	struct hn_peer *p = NULL;
	struct ib_msg m;

	IB_ASSERT_OK(hn_tree_new(&t, "chain:1", 12));
	IB_ASSERT_OK(hn_tree_new_peer(t, &p));
	IB_ASSERT_OK(hn_tree_start(t));
	IB_ASSERT_OK(hn_peer_connect(p, ib_node_listen_port(t->nodes[0].node)));
	hn_tree_run_for(t, SECOND);
	CU_ASSERT_FATAL(hn_peer_tls_open(p));
	publish(&m, "early", 1);
	IB_ASSERT_OK(hn_peer_send(p, &m, NULL, NULL, false, NULL));
	CU_ASSERT(hn_tree_run_until(t, peer_closed, p, 5 * SECOND));
	CU_ASSERT_EQUAL(hn_peer_count(p, IB_MSG_HELLO), 0);
	CU_ASSERT_FATAL(hn_peer_last(p, IB_MSG_ERROR) != NULL);
	CU_ASSERT_EQUAL(IB_NONNULL(hn_peer_last(p, IB_MSG_ERROR))->error_code, IB_EC_PROTOCOL_VIOLATION);
	CU_ASSERT_EQUAL(ib_node_child_count(t->nodes[0].node), 0);
	hn_peer_free(p);
	hn_tree_free(t);
}

/* [LINK-6] a second HELLO closes the link with protocol_violation. */
static void test_second_hello_closes(void)
{
	struct fixture fx;

	setup(&fx, "chain:1", 30000);
	CU_ASSERT_EQUAL(ib_node_child_count(fx.t->nodes[0].node), 2);
	IB_ASSERT_OK(hn_peer_send_hello(fx.a, IB_ROLE_SERVER, 30000, NULL, 0));
	CU_ASSERT(hn_tree_run_until(fx.t, peer_closed, fx.a, 5 * SECOND));
	CU_ASSERT_EQUAL(IB_NONNULL(hn_peer_last(fx.a, IB_MSG_ERROR))->error_code, IB_EC_PROTOCOL_VIOLATION);
	CU_ASSERT_EQUAL(ib_node_child_count(fx.t->nodes[0].node), 1);
	teardown(&fx);
}

/* [LINK-3] a hop-local frame signed by another member (b) on a's link. */
static void test_hop_frame_from_other_origin_closes(void)
{
	struct fixture fx;
	struct ib_msg m;

	setup(&fx, "chain:1", 30000);
	memset(&m, 0, sizeof m);
	m.h.type = 0x06; /* unassigned hop-local: ignored when it comes from the peer itself */
	IB_ASSERT_OK(hn_peer_send(fx.a, &m, hn_peer_identity(fx.b), NULL, false, NULL));
	CU_ASSERT(hn_tree_run_until(fx.t, peer_closed, fx.a, 5 * SECOND));
	CU_ASSERT_EQUAL(IB_NONNULL(hn_peer_last(fx.a, IB_MSG_ERROR))->error_code, IB_EC_PROTOCOL_VIOLATION);
	teardown(&fx);
}

/* [MSG-9][FLOOD-6] an unassigned hop-local type from the peer itself: ignored, counted, not
 * forwarded, the link stays. */
static void test_unknown_hop_type_ignored(void)
{
	struct fixture fx;
	struct ib_msg m;
	size_t before;

	setup(&fx, "chain:1", 30000);
	before = hn_peer_received(fx.b);
	memset(&m, 0, sizeof m);
	m.h.type = 0x06;
	IB_ASSERT_OK(hn_peer_send(fx.a, &m, NULL, NULL, false, NULL));
	hn_tree_run_for(fx.t, SECOND);
	CU_ASSERT(!hn_peer_closed(fx.a));
	CU_ASSERT_EQUAL(ib_node_counter(fx.t->nodes[0].node, IB_CNT_UNKNOWN_HOP_TYPE), 1);
	CU_ASSERT_EQUAL(hn_peer_received(fx.b), before);
	teardown(&fx);
}

/* [TLS-4][MEMBER-4] a key the node does not have is refused during TLS. */
static void test_unknown_key_refused(void)
{
	struct hn_tree *t = NULL;
	struct hn_peer *stranger = NULL;
	struct ib_keyring *kr = NULL;

	IB_ASSERT_OK(hn_tree_new(&t, "chain:1", 13));
	IB_ASSERT_OK(hn_tree_keyring(t, NULL, 0, &kr));
	IB_ASSERT_OK(hn_peer_new(&stranger, t->loop, kr)); /* it trusts the node; not back */
	IB_ASSERT_OK(hn_tree_start(t));
	IB_ASSERT_OK(hn_peer_connect(stranger, ib_node_listen_port(t->nodes[0].node)));
	CU_ASSERT(hn_tree_run_until(t, peer_closed, stranger, 5 * SECOND));
	CU_ASSERT(!hn_peer_tls_open(stranger));
	CU_ASSERT_EQUAL(ib_node_counter(t->nodes[0].node, IB_CNT_NOT_AUTHORIZED), 1);
	CU_ASSERT_EQUAL(ib_node_child_count(t->nodes[0].node), 0);
	ib_keyring_free(kr);
	hn_peer_free(stranger);
	hn_tree_free(t);
}

/* [ERR-4] A link closed with an ERROR is counted under its code, an ERROR received under
 * error_received, and a failed check before HELLO once, under the code the link closes with. */
static void test_counters_of_closes(void)
{
	static const uint8_t nonce[16] = "err-4 test nonce";
	struct hn_tree *t = NULL;
	struct hn_peer *a = NULL, *b = NULL, *x = NULL;
	struct ib_buf msg = { 0 }, frame = { 0 };
	struct ib_node *n;
	struct ib_msg m;

	IB_ASSERT_OK(hn_tree_new(&t, "chain:1", 17));
	IB_ASSERT_OK(hn_tree_new_peer(t, &a));
	IB_ASSERT_OK(hn_tree_new_peer(t, &b));
	IB_ASSERT_OK(hn_tree_new_peer(t, &x));
	IB_ASSERT_OK(hn_tree_start(t));
	n = t->nodes[0].node;
	CU_ASSERT_FATAL(hn_attach_child(t, a, 0));
	CU_ASSERT_FATAL(hn_attach_child(t, b, 0));
	/* A child that sends PING breaks the link rules. */
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PING;
	m.u.ping.nonce = (struct ib_slice){ nonce, sizeof nonce };
	IB_ASSERT_OK(hn_peer_send(a, &m, NULL, NULL, false, NULL));
	CU_ASSERT(hn_tree_run_until(t, peer_closed, a, 5 * SECOND));
	CU_ASSERT_EQUAL(ib_node_counter(n, IB_CNT_PROTOCOL_VIOLATION), 1);
	CU_ASSERT_EQUAL(ib_node_counter(n, IB_CNT_ERROR_RECEIVED), 0);
	/* An ERROR received. */
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_ERROR;
	m.u.error.code = IB_EC_SHUTTING_DOWN;
	IB_ASSERT_OK(hn_peer_send(b, &m, NULL, NULL, false, NULL));
	CU_ASSERT(hn_tree_run_until(t, peer_closed, b, 5 * SECOND));
	CU_ASSERT_EQUAL(ib_node_counter(n, IB_CNT_ERROR_RECEIVED), 1);
	CU_ASSERT_EQUAL(ib_node_counter(n, IB_CNT_PROTOCOL_VIOLATION), 1);
	/* A HELLO of version 2 first: one unsupported_version, for the close. */
	IB_ASSERT_OK(hn_peer_connect(x, ib_node_listen_port(n)));
	hn_tree_run_for(t, SECOND);
	CU_ASSERT_FATAL(hn_peer_tls_open(x));
	memset(&m, 0, sizeof m);
	m.h.version = IB_PROTOCOL_VERSION;
	m.h.type = IB_MSG_ERROR;    /* any valid message: only its version byte matters */
	m.u.error.code = IB_EC_PROTOCOL_VIOLATION;
	IB_ASSERT_OK(ib_msg_encode(&msg, &m));
	msg.ptr[0] = 2;
	IB_ASSERT_OK(ib_frame_sign(&frame, hn_peer_identity(x), msg.ptr, msg.len));
	IB_ASSERT_OK(hn_peer_send_raw(x, frame.ptr, frame.len));
	CU_ASSERT(hn_tree_run_until(t, peer_closed, x, 5 * SECOND));
	CU_ASSERT_EQUAL(IB_NONNULL(hn_peer_last(x, IB_MSG_ERROR))->error_code,
			IB_EC_UNSUPPORTED_VERSION);
	CU_ASSERT_EQUAL(ib_node_counter(n, IB_CNT_UNSUPPORTED_VERSION), 1);
	CU_ASSERT_EQUAL(ib_node_counter(n, IB_CNT_PROTOCOL_VIOLATION), 1);
	ib_buf_free(&msg);
	ib_buf_free(&frame);
	hn_peer_free(a);
	hn_peer_free(b);
	hn_peer_free(x);
	hn_tree_free(t);
}

static bool counted(struct hn_tree *t, void *arg)
{
	const enum ib_counter *c = arg;

	return ib_node_counter(t->nodes[0].node, *c) > 0;
}

/* [ERR-3] Set-up failures, each under one reason: a key refused (not_authorized, not also
 * handshake_failed), bytes that are not TLS (handshake_failed), a parent that refuses the TCP
 * connect (connect_failed). */
static void test_counters_of_setup_failures(void)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *refused[] = { "127.0.0.1:1" };
	struct hn_tree *t = NULL;
	struct hn_peer *stranger = NULL;
	struct ib_keyring *kr = NULL;
	struct ib_diag diag = { 0 };
	enum ib_counter c;
	struct ib_node *n;
	size_t sent;
	int fd = -1;

	IB_ASSERT_OK(hn_tree_new(&t, "chain:1", 18));
	IB_ASSERT_OK(hn_tree_keyring(t, NULL, 0, &kr));
	IB_ASSERT_OK(hn_peer_new(&stranger, t->loop, kr));
	IB_ASSERT_OK(hn_tree_start(t));
	n = t->nodes[0].node;
	IB_ASSERT_OK(hn_peer_connect(stranger, ib_node_listen_port(n)));
	CU_ASSERT(hn_tree_run_until(t, peer_closed, stranger, 5 * SECOND));
	CU_ASSERT_EQUAL(ib_node_counter(n, IB_CNT_NOT_AUTHORIZED), 1);
	CU_ASSERT_EQUAL(ib_node_counter(n, IB_CNT_HANDSHAKE_FAILED), 0);
	IB_ASSERT_OK(ib_net_connect("127.0.0.1", ib_node_listen_port(n), &fd, &diag));
	hn_tree_run_for(t, SECOND / 10);
	IB_ASSERT_OK(ib_net_write(fd, (const uint8_t *)http, sizeof http - 1, &sent));
	c = IB_CNT_HANDSHAKE_FAILED;
	CU_ASSERT(hn_tree_run_until(t, counted, &c, 5 * SECOND));
	CU_ASSERT_EQUAL(ib_node_counter(n, IB_CNT_NOT_AUTHORIZED), 1);
	IB_ASSERT_OK(ib_node_set_parents(n, refused, 1));
	c = IB_CNT_CONNECT_FAILED;
	CU_ASSERT(hn_tree_run_until(t, counted, &c, 5 * SECOND));
	CU_ASSERT_EQUAL(ib_node_counter(n, IB_CNT_HANDSHAKE_TIMEOUT), 0);
	ib_net_close(fd);
	ib_keyring_free(kr);
	hn_peer_free(stranger);
	hn_tree_free(t);
}

/* [FRAME-4] message_length above max_message: ERROR too_big from the header alone. */
static void test_too_big_closes(void)
{
	struct fixture fx;
	uint8_t header[IB_FRAME_HEADER_LEN] = { 0 };

	setup(&fx, "chain:1", 30000);
	memcpy(header, ib_identity_id(hn_peer_identity(fx.a))->b, IB_ID_LEN);
	header[16] = 0;
	header[17] = IB_SIG_LEN;
	header[18] = 0x01; /* 65536 + 1 = 0x010001 */
	header[19] = 0x00;
	header[20] = 0x01;
	IB_ASSERT_OK(hn_peer_send_raw(fx.a, header, sizeof header));
	CU_ASSERT(hn_tree_run_until(fx.t, peer_closed, fx.a, 5 * SECOND));
	CU_ASSERT_EQUAL(IB_NONNULL(hn_peer_last(fx.a, IB_MSG_ERROR))->error_code, IB_EC_TOO_BIG);
	teardown(&fx);
}

/* [FRAME-3] a frame with signature_length 63 is dropped; the link stays up. */
static void test_bad_signature_length_keeps_link(void)
{
	struct fixture fx;
	struct ib_msg m;
	struct ib_buf frame = { 0 };
	uint8_t sig[63] = { 0 };
	struct ib_buf msg = { 0 };

	setup(&fx, "chain:1", 30000);
	publish(&m, "k", 1);
	m.h.version = 1;
	m.h.seq = 1;
	IB_ASSERT_OK(ib_msg_encode(&msg, &m));
	ib_buf_put(&frame, ib_identity_id(hn_peer_identity(fx.a))->b, IB_ID_LEN);
	ib_buf_put_u16(&frame, 63);
	ib_buf_put_u24(&frame, (uint32_t)msg.len);
	ib_buf_put(&frame, sig, sizeof sig);
	ib_buf_put(&frame, msg.ptr, msg.len);
	IB_ASSERT_OK(hn_peer_send_raw(fx.a, frame.ptr, frame.len));
	hn_tree_run_for(fx.t, SECOND);
	CU_ASSERT(!hn_peer_closed(fx.a));
	CU_ASSERT_EQUAL(ib_node_counter(fx.t->nodes[0].node, IB_CNT_BAD_SIGNATURE_LENGTH), 1);
	CU_ASSERT_EQUAL(hn_peer_count(fx.b, IB_MSG_PUBLISH), 0);
	ib_buf_free(&msg);
	ib_buf_free(&frame);
	teardown(&fx);
}

/* [LINK-4] ERROR from the peer: the node closes without answering. */
static void test_error_received_closes_quietly(void)
{
	struct fixture fx;
	struct ib_msg m;

	setup(&fx, "chain:1", 30000);
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_ERROR;
	m.u.error.code = IB_EC_SHUTTING_DOWN;
	IB_ASSERT_OK(hn_peer_send(fx.a, &m, NULL, NULL, false, NULL));
	CU_ASSERT(hn_tree_run_until(fx.t, peer_closed, fx.a, 5 * SECOND));
	CU_ASSERT_EQUAL(hn_peer_count(fx.a, IB_MSG_ERROR), 0);
	CU_ASSERT_EQUAL(ib_node_child_count(fx.t->nodes[0].node), 1);
	teardown(&fx);
}

/* [LINK-8] a node stopping says shutting_down on every link. */
static void test_stop_says_shutting_down(void)
{
	struct fixture fx;

	setup(&fx, "chain:1", 30000);
	hn_tree_kill(fx.t, 0);
	CU_ASSERT(hn_tree_run_until(fx.t, peer_closed, fx.a, 5 * SECOND));
	CU_ASSERT_EQUAL(IB_NONNULL(hn_peer_last(fx.a, IB_MSG_ERROR))->error_code, IB_EC_SHUTTING_DOWN);
	CU_ASSERT_EQUAL(IB_NONNULL(hn_peer_last(fx.b, IB_MSG_ERROR))->error_code, IB_EC_SHUTTING_DOWN);
	teardown(&fx);
}

/* [FRAME-5][FRAME-6] unknown origin and bad signature: dropped, counted, not forwarded;
 * a good frame passes byte for byte ([FLOOD-1]); the same frame again is a replay
 * ([FLOOD-3]). a sits under node 1, b under node 0. */
static void test_drops_are_not_forwarded(void)
{
	struct fixture fx;
	struct ib_identity *outsider = NULL;
	struct ib_buf good = { 0 }, bad = { 0 };
	struct wait_type w;
	struct ib_msg m;
	struct hn_node *n1;

	setup(&fx, "chain:2", 30000);
	n1 = &fx.t->nodes[1];
	IB_ASSERT_OK(ib_identity_generate(&outsider));
	publish(&m, "from-outsider", 1);
	IB_ASSERT_OK(hn_peer_send(fx.a, &m, outsider, NULL, false, NULL));
	publish(&m, "forged", 1);
	/* Signed by a, named as b: the verify must use b's key. */
	IB_ASSERT_OK(hn_peer_send(fx.a, &m, NULL, ib_identity_id(hn_peer_identity(fx.b)), false,
				  &bad));
	hn_tree_run_for(fx.t, SECOND);
	CU_ASSERT_EQUAL(ib_node_counter(n1->node, IB_CNT_UNKNOWN_ORIGIN), 1);
	CU_ASSERT_EQUAL(ib_node_counter(n1->node, IB_CNT_BAD_SIGNATURE), 1);
	CU_ASSERT_EQUAL(hn_peer_count(fx.b, IB_MSG_PUBLISH), 0);
	CU_ASSERT_EQUAL(fx.t->nodes[0].delivered + n1->delivered, 0);

	publish(&m, "good", 1);
	IB_ASSERT_OK(hn_peer_send(fx.a, &m, NULL, NULL, false, &good));
	w = (struct wait_type){ fx.b, IB_MSG_PUBLISH, 1 };
	CU_ASSERT(hn_tree_run_until(fx.t, peer_got, &w, 5 * SECOND));
	CU_ASSERT_EQUAL(IB_NONNULL(hn_peer_last(fx.b, IB_MSG_PUBLISH))->raw.len, good.len);
	CU_ASSERT(memcmp(IB_NONNULL(hn_peer_last(fx.b, IB_MSG_PUBLISH))->raw.ptr, good.ptr, good.len) == 0);
	CU_ASSERT_EQUAL(fx.t->nodes[0].delivered, 1);
	CU_ASSERT_EQUAL(n1->delivered, 1);

	/* The captured frame again, from the same side. */
	IB_ASSERT_OK(hn_peer_send_raw(fx.a, good.ptr, good.len));
	hn_tree_run_for(fx.t, SECOND);
	CU_ASSERT_EQUAL(ib_node_counter(n1->node, IB_CNT_REPLAY), 1);
	CU_ASSERT_EQUAL(hn_peer_count(fx.b, IB_MSG_PUBLISH), 1);
	CU_ASSERT(!hn_peer_closed(fx.a));
	ib_identity_free(outsider);
	ib_buf_free(&good);
	ib_buf_free(&bad);
	teardown(&fx);
}

/* [FLOOD-4] a forged frame does not move its origin's window. */
static void test_forgery_does_not_move_window(void)
{
	struct fixture fx;
	struct ib_buf forged = { 0 };
	struct wait_type w;
	struct ib_msg m;

	setup(&fx, "chain:2", 30000);
	publish(&m, "w", 1);
	m.h.version = 1;
	m.h.seq = 5000000000000000ull;
	/* a's frame with a high seq, one bit of its signature flipped: a forgery. */
	{
		struct ib_buf msg = { 0 };

		IB_ASSERT_OK(ib_msg_encode(&msg, &m));
		IB_ASSERT_OK(ib_frame_sign(&forged, hn_peer_identity(fx.a), msg.ptr, msg.len));
		ib_buf_free(&msg);
	}
	forged.ptr[IB_FRAME_HEADER_LEN] ^= 1;
	IB_ASSERT_OK(hn_peer_send_raw(fx.a, forged.ptr, forged.len));
	/* A well-signed frame far below that seq must still pass. */
	publish(&m, "w", 2);
	m.h.seq = 4000000000000000ull;
	IB_ASSERT_OK(hn_peer_send(fx.a, &m, NULL, NULL, true, NULL));
	w = (struct wait_type){ fx.b, IB_MSG_PUBLISH, 1 };
	CU_ASSERT(hn_tree_run_until(fx.t, peer_got, &w, 5 * SECOND));
	CU_ASSERT_EQUAL(ib_node_counter(fx.t->nodes[1].node, IB_CNT_BAD_SIGNATURE), 1);
	CU_ASSERT_EQUAL(ib_node_counter(fx.t->nodes[1].node, IB_CNT_REPLAY), 0);
	ib_buf_free(&forged);
	teardown(&fx);
}

/* [MSG-10] an end-to-end type nobody knows crosses the tree unchanged and is not acted on. */
static void test_unknown_type_forwarded_not_delivered(void)
{
	struct fixture fx;
	struct ib_buf sent = { 0 };
	struct wait_type w;
	struct ib_msg m;

	setup(&fx, "chain:2", 30000);
	memset(&m, 0, sizeof m);
	m.h.type = 0x40;
	m.body = (struct ib_slice){ (const uint8_t *)"future", 6 };
	IB_ASSERT_OK(hn_peer_send(fx.a, &m, NULL, NULL, false, &sent));
	w = (struct wait_type){ fx.b, 0x40, 1 };
	CU_ASSERT(hn_tree_run_until(fx.t, peer_got, &w, 5 * SECOND));
	CU_ASSERT(memcmp(IB_NONNULL(hn_peer_last(fx.b, 0x40))->raw.ptr, sent.ptr, sent.len) == 0);
	CU_ASSERT_EQUAL(fx.t->nodes[0].delivered + fx.t->nodes[1].delivered, 0);
	ib_buf_free(&sent);
	teardown(&fx);
}

/* [CMD-6] a COMMAND whose seq is 301 s old is dropped and not forwarded. */
static void test_stale_command_dropped(void)
{
	struct fixture fx;
	const struct ib_clock *c;
	struct ib_msg m;

	setup(&fx, "chain:2", 30000);
	c = ib_loop_clock(fx.t->loop);
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_COMMAND;
	m.h.seq = c->unix_us(c->ctx) - 301 * SECOND;
	m.u.command.cmd_id = 1;
	m.u.command.name = (struct ib_slice){ (const uint8_t *)"ib.ping", 7 };
	IB_ASSERT_OK(hn_peer_send(fx.a, &m, NULL, NULL, true, NULL));
	hn_tree_run_for(fx.t, SECOND);
	CU_ASSERT_EQUAL(ib_node_counter(fx.t->nodes[1].node, IB_CNT_STALE_COMMAND), 1);
	CU_ASSERT_EQUAL(hn_peer_count(fx.b, IB_MSG_COMMAND), 0);
	teardown(&fx);
}

/* [FLOOD-8] the frames of one origin come out of each relay in the order they went in. */
static void test_order_kept_per_origin(void)
{
	struct fixture fx;
	struct wait_type w;
	uint64_t last_seq = 0;
	bool in_order = true;

	setup(&fx, "chain:3", 30000);
	for (int i = 0; i < 50; i++) {
		struct ib_msg m;

		publish(&m, "ordered", (uint64_t)i + 1);
		IB_ASSERT_OK(hn_peer_send(fx.a, &m, NULL, NULL, false, NULL));
	}
	w = (struct wait_type){ fx.b, IB_MSG_PUBLISH, 50 };
	CU_ASSERT(hn_tree_run_until(fx.t, peer_got, &w, 5 * SECOND));
	for (size_t i = 0; i < hn_peer_received(fx.b); i++) {
		const struct hn_got *g = hn_peer_got(fx.b, i);

		if (g->type != IB_MSG_PUBLISH)
			continue;
		in_order &= g->seq > last_seq;
		last_seq = g->seq;
	}
	CU_ASSERT(in_order);
	teardown(&fx);
}

/* [FLOOD-5] a directed frame follows the route learned from its destination's frames, and
 * does not reach a node off that route. star:3: node 0 with children 1 and 2; a under 2,
 * b under 0 (off the route from 2 to 1), c under 1. */
static void test_directed_frame_follows_route(void)
{
	struct fixture fx;
	struct hn_peer *c = NULL;
	struct wait_type w;
	struct ib_msg m;

	memset(&fx, 0, sizeof fx);
	IB_ASSERT_OK(hn_tree_new(&fx.t, "star:3", 14));
	IB_ASSERT_OK(hn_tree_new_peer(fx.t, &fx.a));
	IB_ASSERT_OK(hn_tree_new_peer(fx.t, &fx.b));
	IB_ASSERT_OK(hn_tree_new_peer(fx.t, &c));
	IB_ASSERT_OK(hn_tree_start(fx.t));
	CU_ASSERT_FATAL(hn_tree_run_until(fx.t, hn_tree_formed, NULL, 10 * SECOND));
	CU_ASSERT_FATAL(hn_attach_child(fx.t, fx.a, 2));
	CU_ASSERT_FATAL(hn_attach_child(fx.t, fx.b, 0));
	CU_ASSERT_FATAL(hn_attach_child(fx.t, c, 1));
	/* c speaks first, so that every node learns where c is. */
	publish(&m, "c-was-here", 1);
	IB_ASSERT_OK(hn_peer_send(c, &m, NULL, NULL, false, NULL));
	w = (struct wait_type){ fx.a, IB_MSG_PUBLISH, 1 };
	CU_ASSERT(hn_tree_run_until(fx.t, peer_got, &w, 5 * SECOND));
	CU_ASSERT_EQUAL(hn_peer_count(fx.b, IB_MSG_PUBLISH), 1);

	publish(&m, "for-c", 1);
	m.h.dest = *ib_identity_id(hn_peer_identity(c));
	IB_ASSERT_OK(hn_peer_send(fx.a, &m, NULL, NULL, false, NULL));
	w = (struct wait_type){ c, IB_MSG_PUBLISH, 1 };
	CU_ASSERT(hn_tree_run_until(fx.t, peer_got, &w, 5 * SECOND));
	hn_tree_run_for(fx.t, SECOND);
	CU_ASSERT_EQUAL(hn_peer_count(fx.b, IB_MSG_PUBLISH), 1); /* only c's own frame */
	/* Directed elsewhere: the nodes on the way forward it without delivering it. */
	CU_ASSERT_EQUAL(fx.t->nodes[0].delivered, 1);
	hn_peer_free(c);
	teardown(&fx);
}

/* Whether the node closed fd (EOF or a reset), without blocking. */
static bool closed_by_node(int fd)
{
	uint8_t b;
	ssize_t k = recv(fd, &b, 1, MSG_DONTWAIT);

	return k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* The node's log lines that hold text, counted. */
struct log_count {
	const char *text;
	size_t n;
	char last[1024];
};

static void count_lines(void *ctx, enum ib_log_level level, const char *line)
{
	struct log_count *lc = ctx;

	(void)level;
	if (strstr(line, lc->text)) {
		lc->n++;
		snprintf(lc->last, sizeof lc->last, "%s", line);
	}
}

/* Connections from 127.0.0.2 that send nothing, n of them, let in or refused. */
static void connect_idle(struct hn_tree *t, int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		IB_ASSERT_OK(hn_connect_from("127.0.0.2", "127.0.0.1",
					     ib_node_listen_port(t->nodes[0].node), &fds[i]));
	hn_tree_run_for(t, 1000);
}

/* [LINK-15] One source opening TCP connections without TLS: 8 are held, the rest closed at
 * once and counted; a member from another source links meanwhile. The refusals are logged
 * 10 lines per 10 s at most, the next line counting those left out. */
static void test_pending_per_source(void)
{
	struct log_count lc = { .text = "its source holds 8 pending" };
	struct hn_tree *t = NULL;
	struct hn_peer *p = NULL;
	int fds[30], more[5];
	size_t held = 0;

	IB_ASSERT_OK(hn_tree_new(&t, "chain:1", 18));
	IB_ASSERT_OK(hn_tree_new_peer(t, &p));
	IB_ASSERT_OK(hn_tree_start(t));
	ib_node_set_log(t->nodes[0].node, count_lines, &lc, IB_LOG_WARN);
	connect_idle(t, fds, 30);
	for (size_t i = 0; i < 30; i++)
		held += !closed_by_node(fds[i]);
	CU_ASSERT_EQUAL(held, 8);
	CU_ASSERT_EQUAL(ib_node_counter(t->nodes[0].node, IB_CNT_PENDING_PER_SOURCE), 22);
	CU_ASSERT_EQUAL(lc.n, 10);
	CU_ASSERT(hn_attach_child(t, p, 0));
	/* 11 s later the 8 are gone (handshake timeout). 5 more are let in, then of 4 more
	 * the last is refused: the 11th line, which counts the 12 left out of the log. */
	hn_tree_run_for(t, 11 * SECOND);
	connect_idle(t, more, 5);
	CU_ASSERT_EQUAL(lc.n, 10);
	for (size_t i = 0; i < 30; i++)
		ib_net_close(fds[i]);
	connect_idle(t, fds, 4);
	CU_ASSERT_EQUAL(lc.n, 11);
	CU_ASSERT_PTR_NOT_NULL(strstr(lc.last, "(and 12 more like it left out before)"));
	for (size_t i = 0; i < 4; i++)
		ib_net_close(fds[i]);
	for (size_t i = 0; i < 5; i++)
		ib_net_close(more[i]);
	hn_peer_free(p);
	hn_tree_free(t);
}

/* [LINK-14][LINK-16] 140 sources, one connection each: the node holds 128, closing the
 * oldest for each new one; a member still links (closing one more); the held ones go at the
 * handshake timeout ([LINK-12]). */
static void test_pending_oldest_evicted(void)
{
	struct hn_tree *t = NULL;
	struct hn_peer *p = NULL;
	int fds[140];
	size_t first_closed = 0, last_held = 0;

	IB_ASSERT_OK(hn_tree_new(&t, "chain:1", 18));
	IB_ASSERT_OK(hn_tree_new_peer(t, &p));
	IB_ASSERT_OK(hn_tree_start(t));
	for (size_t i = 0; i < 140; i++) {
		char src[32];

		snprintf(src, sizeof src, "127.0.1.%zu", i + 1);
		IB_ASSERT_OK(hn_connect_from(src, "127.0.0.1",
					     ib_node_listen_port(t->nodes[0].node), &fds[i]));
		/* One at a time, so that the node accepts them in this order. */
		hn_tree_run_for(t, 1000);
	}
	for (size_t i = 0; i < 12; i++)
		first_closed += closed_by_node(fds[i]);
	for (size_t i = 12; i < 140; i++)
		last_held += !closed_by_node(fds[i]);
	CU_ASSERT_EQUAL(first_closed, 12);
	CU_ASSERT_EQUAL(last_held, 128);
	CU_ASSERT_EQUAL(ib_node_counter(t->nodes[0].node, IB_CNT_PENDING_EVICTED), 12);
	CU_ASSERT(hn_attach_child(t, p, 0));
	CU_ASSERT_EQUAL(ib_node_counter(t->nodes[0].node, IB_CNT_PENDING_EVICTED), 13);
	hn_tree_run_for(t, 11 * SECOND);
	CU_ASSERT_EQUAL(ib_node_counter(t->nodes[0].node, IB_CNT_HANDSHAKE_TIMEOUT), 127);
	for (size_t i = 0; i < 140; i++)
		ib_net_close(fds[i]);
	hn_peer_free(p);
	hn_tree_free(t);
}

/* Set-up deadlines and max_lingering, at their bounds: each counted under its own name and
 * told in a log line ([LINK-12], [LINK-7], [LINK-19]; spec section 18). */
static void test_setup_bounds_counted(void)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct log_count tls = { .text = "no TLS handshake within 10000 ms" };
	struct log_count hello = { .text = "no HELLO within 10000 ms" };
	struct log_count linger = { .text = "256 closed connections still lingering" };
	struct hn_tree *t = NULL;
	struct hn_peer *p = NULL;
	struct ib_node *n;
	int fd = -1, fds[300];

	IB_ASSERT_OK(hn_tree_new(&t, "chain:1", 19));
	IB_ASSERT_OK(hn_tree_new_peer(t, &p));
	IB_ASSERT_OK(hn_tree_start(t));
	n = t->nodes[0].node;
	/* TCP, then nothing. */
	ib_node_set_log(n, count_lines, &tls, IB_LOG_INFO);
	IB_ASSERT_OK(hn_connect_from("127.0.0.3", "127.0.0.1", ib_node_listen_port(n), &fd));
	hn_tree_run_for(t, 11 * SECOND);
	CU_ASSERT(closed_by_node(fd));
	CU_ASSERT_EQUAL(ib_node_counter(n, IB_CNT_HANDSHAKE_TIMEOUT), 1);
	CU_ASSERT_EQUAL(tls.n, 1);
	ib_net_close(fd);
	/* A member's TLS, then no HELLO: closed with protocol_violation, counted as both. */
	ib_node_set_log(n, count_lines, &hello, IB_LOG_INFO);
	IB_ASSERT_OK(hn_peer_connect(p, ib_node_listen_port(n)));
	hn_tree_run_for(t, SECOND);
	CU_ASSERT_FATAL(hn_peer_tls_open(p));
	CU_ASSERT(hn_tree_run_until(t, peer_closed, p, 11 * SECOND));
	CU_ASSERT_EQUAL(ib_node_counter(n, IB_CNT_HELLO_TIMEOUT), 1);
	CU_ASSERT_EQUAL(ib_node_counter(n, IB_CNT_PROTOCOL_VIOLATION), 1);
	CU_ASSERT_EQUAL(hello.n, 1);
	/* 300 sources send bytes that are not TLS and never close: 256 closed connections
	 * linger, the other 44 close at once; 10 lines in a 10 s interval, then silence. */
	ib_node_set_log(n, count_lines, &linger, IB_LOG_INFO);
	for (size_t i = 0; i < 300; i++) {
		char src[32];
		size_t sent;

		snprintf(src, sizeof src, "127.0.%zu.%zu", 10 + i / 250, i % 250 + 1);
		IB_ASSERT_OK(hn_connect_from(src, "127.0.0.1", ib_node_listen_port(n), &fds[i]));
		IB_ASSERT_OK(ib_net_write(fds[i], (const uint8_t *)http, sizeof http - 1, &sent));
		hn_tree_run_for(t, 1000);
	}
	hn_tree_run_for(t, SECOND / 10);
	CU_ASSERT_EQUAL(ib_node_counter(n, IB_CNT_HANDSHAKE_FAILED), 300);
	CU_ASSERT_EQUAL(ib_node_counter(n, IB_CNT_LINGER_FULL), 44);
	CU_ASSERT_EQUAL(linger.n, 10);
	for (size_t i = 0; i < 300; i++)
		ib_net_close(fds[i]);
	hn_peer_free(p);
	hn_tree_free(t);
}

static bool peer_settled(struct hn_tree *t, void *arg)
{
	(void)t;
	return hn_peer_tls_open(arg) || hn_peer_closed(arg);
}

/* Section 20: out of descriptors, a node pauses accepting (counted accept_failed) rather than
 * retrying at full speed, and takes the member that waits once descriptors come back. */
static void test_accept_recovers_after_descriptors(void)
{
	static int fillers[4096];
	struct wait_type hello;
	struct hn_tree *t = NULL;
	struct hn_peer *p = NULL;
	struct rlimit old;
	struct ib_node *n;
	size_t nf;

	IB_ASSERT_OK(hn_tree_new(&t, "chain:1", 23));
	IB_ASSERT_OK(hn_tree_new_peer(t, &p));
	IB_ASSERT_OK(hn_tree_start(t));
	n = t->nodes[0].node;
	/* Room for the member's socket, none for the node's accept. */
	nf = ib_test_fill_fds(fillers, sizeof fillers / sizeof fillers[0], &old);
	IB_ASSERT_OK(hn_peer_connect(p, ib_node_listen_port(n)));
	hn_tree_run_for(t, SECOND / 2);
	/* One failure, then a pause: a node that retried at once would count thousands. */
	CU_ASSERT_EQUAL(ib_node_counter(n, IB_CNT_ACCEPT_FAILED), 1);
	CU_ASSERT(!hn_peer_tls_open(p));
	ib_test_free_fds(fillers, nf, &old);
	CU_ASSERT(hn_tree_run_until(t, peer_settled, p, 3 * SECOND));
	CU_ASSERT_FATAL(hn_peer_tls_open(p));
	IB_ASSERT_OK(hn_peer_send_hello(p, IB_ROLE_SERVER, 30000, NULL, 0));
	hello = (struct wait_type){ p, IB_MSG_HELLO, 1 };
	CU_ASSERT(hn_tree_run_until(t, peer_got, &hello, 3 * SECOND));
	CU_ASSERT(!hn_peer_closed(p));
	hn_peer_free(p);
	hn_tree_free(t);
}

static const struct ib_test_case cases[] = {
	IB_TEST(test_hello_must_come_first, "LINK-1 LINK-5"),
	IB_TEST(test_second_hello_closes, "LINK-6"),
	IB_TEST(test_hop_frame_from_other_origin_closes, "LINK-3"),
	IB_TEST(test_unknown_hop_type_ignored, "MSG-9 FLOOD-6"),
	IB_TEST(test_unknown_key_refused, "TLS-4 MEMBER-4"),
	IB_TEST(test_counters_of_closes, "ERR-4"),
	IB_TEST(test_counters_of_setup_failures, "ERR-3"),
	IB_TEST(test_setup_bounds_counted, "LINK-12 LINK-7 LINK-19"),
	IB_TEST(test_too_big_closes, "FRAME-4"),
	IB_TEST(test_bad_signature_length_keeps_link, "FRAME-3"),
	IB_TEST(test_error_received_closes_quietly, "LINK-4"),
	IB_TEST(test_stop_says_shutting_down, "LINK-8"),
	IB_TEST(test_drops_are_not_forwarded, "FRAME-5 FRAME-6 FLOOD-1 FLOOD-3 ID-3 ERR-1"),
	IB_TEST(test_forgery_does_not_move_window, "FLOOD-4"),
	IB_TEST(test_unknown_type_forwarded_not_delivered, "MSG-10 FLOOD-1"),
	IB_TEST(test_stale_command_dropped, "CMD-6"),
	IB_TEST(test_order_kept_per_origin, "FLOOD-8"),
	IB_TEST(test_pending_per_source, "LINK-15"),
	IB_TEST(test_pending_oldest_evicted, "LINK-14 LINK-16 LINK-12"),
	IB_TEST(test_directed_frame_follows_route, "FLOOD-5"),
	IB_TEST(test_accept_recovers_after_descriptors, ""),
	IB_TEST_END
};

const struct ib_test_suite ib_suite_link = { "link", NULL, NULL, cases };
