/*
 * keepalive_test.c - keep-alive (spec 11) and the tree checks a node makes of its peers
 * (spec 10), with a tester peer as the node's child or as its parent, on virtual time.
 */
#include "harness.h"
#include "ib_test.h"
#include "peer.h"

#include <string.h>

#define SECOND 1000000ull
#define INTERVAL_MS 1000u
#define TIMEOUT_MS 400u

static bool peer_closed(struct hn_tree *t, void *arg)
{
	(void)t;
	return hn_peer_closed(arg);
}

/* One node (chain:1) with short keep-alive settings and a tester peer. */
static struct hn_tree *one_node(struct hn_peer **p, bool peer_is_parent, uint16_t *peer_port)
{
	struct hn_tree *t = NULL;

	IB_ASSERT_OK(hn_tree_new(&t, "chain:1", 21));
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	t->base.keepalive_interval_ms = INTERVAL_MS;
	t->base.keepalive_timeout_ms = TIMEOUT_MS;
	IB_ASSERT_OK(hn_tree_new_peer(t, p));
	if (peer_is_parent) {
		IB_ASSERT_OK(hn_peer_listen(*p, peer_port));
		/* cppcheck-suppress nullPointer ; a NULL peer_port comes with peer_is_parent false */
		snprintf(t->root_parent, sizeof t->root_parent, "127.0.0.1:%u", *peer_port);
	}
	IB_ASSERT_OK(hn_tree_start(t));
	if (!peer_is_parent)
		CU_ASSERT_FATAL(hn_attach_child(t, *p, 0));
	return t;
}

static bool got_hello(struct hn_tree *t, void *arg)
{
	(void)t;
	return hn_peer_count(arg, IB_MSG_HELLO) > 0 || hn_peer_closed(arg);
}

/* The node connects to the peer; the peer answers HELLO with path above + itself. */
static void accept_node_as_child(struct hn_tree *t, struct hn_peer *p, const ib_id *above,
				 size_t nabove, uint32_t interval_ms)
{
	CU_ASSERT_FATAL(hn_tree_run_until(t, got_hello, p, 5 * SECOND));
	CU_ASSERT_FATAL(!hn_peer_closed(p));
	IB_ASSERT_OK(hn_peer_send_hello(p, IB_ROLE_SERVER, interval_ms, above, nabove));
	hn_tree_run_for(t, 1000);
}

/* [KA-1][KA-2] PINGs every interval, one at a time, each with a fresh 16..64-byte nonce. */
static void test_server_pings_with_fresh_nonces(void)
{
	struct hn_peer *p = NULL;
	struct hn_tree *t = one_node(&p, false, NULL);
	const struct hn_got *prev = NULL;

	hn_tree_run_for(t, 10 * SECOND + 1000);
	CU_ASSERT(!hn_peer_closed(p));
	CU_ASSERT_EQUAL(hn_peer_count(p, IB_MSG_PING), 10);
	for (size_t i = 0; i < hn_peer_received(p); i++) {
		const struct hn_got *g = hn_peer_got(p, i);

		if (g->type != IB_MSG_PING)
			continue;
		CU_ASSERT(g->nonce_len >= IB_NONCE_MIN && g->nonce_len <= IB_NONCE_MAX);
		if (prev) {
			CU_ASSERT_EQUAL(g->at_us - prev->at_us, INTERVAL_MS * 1000ull);
			CU_ASSERT(g->nonce_len != prev->nonce_len ||
				  memcmp(g->nonce, prev->nonce, g->nonce_len) != 0);
		}
		prev = g;
	}
	hn_peer_free(p);
	hn_tree_free(t);
}

/* [KA-4] a child that never answers is cut keepalive_timeout_ms after the PING. */
static void test_silent_child_is_cut(void)
{
	struct hn_peer *p = NULL;
	struct hn_tree *t = one_node(&p, false, NULL);
	const struct hn_got *ping, *error;

	hn_peer_auto_pong(p, false);
	CU_ASSERT(hn_tree_run_until(t, peer_closed, p, 10 * SECOND));
	ping = hn_peer_last(p, IB_MSG_PING);
	error = hn_peer_last(p, IB_MSG_ERROR);
	CU_ASSERT_FATAL(ping && error);
	CU_ASSERT_EQUAL(error->error_code, IB_EC_KEEPALIVE_TIMEOUT);
	CU_ASSERT_EQUAL(error->at_us - ping->at_us, TIMEOUT_MS * 1000ull);
	CU_ASSERT_EQUAL(hn_peer_count(p, IB_MSG_PING), 1); /* no second PING while one waits */
	hn_peer_free(p);
	hn_tree_free(t);
}

static bool got_ping(struct hn_tree *t, void *arg)
{
	(void)t;
	return hn_peer_count(arg, IB_MSG_PING) > 0;
}

/* [KA-4] a PONG with another nonce is cut at once. */
static void test_wrong_pong_is_cut(void)
{
	struct hn_peer *p = NULL;
	struct hn_tree *t = one_node(&p, false, NULL);
	const struct hn_got *ping;
	uint8_t nonce[IB_NONCE_MAX];
	struct ib_msg m;

	hn_peer_auto_pong(p, false);
	CU_ASSERT_FATAL(hn_tree_run_until(t, got_ping, p, 5 * SECOND));
	ping = hn_peer_last(p, IB_MSG_PING);
	memcpy(nonce, ping->nonce, ping->nonce_len);
	nonce[0] ^= 1;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PONG;
	m.u.ping.nonce = (struct ib_slice){ nonce, ping->nonce_len };
	IB_ASSERT_OK(hn_peer_send(p, &m, NULL, NULL, false, NULL));
	CU_ASSERT(hn_tree_run_until(t, peer_closed, p, 100000));
	CU_ASSERT_EQUAL(IB_NONNULL(hn_peer_last(p, IB_MSG_ERROR))->error_code, IB_EC_KEEPALIVE_TIMEOUT);
	hn_peer_free(p);
	hn_tree_free(t);
}

/* [KA-3] the node as child answers each PING with the same nonce. */
static void test_child_echoes_nonce(void)
{
	struct hn_peer *p = NULL;
	uint16_t port = 0;
	struct hn_tree *t = one_node(&p, true, &port);
	static const uint8_t nonce[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
					   17, 18, 19, 20 };
	struct ib_msg m;

	accept_node_as_child(t, p, NULL, 0, INTERVAL_MS);
	CU_ASSERT_FATAL(ib_node_parent(t->nodes[0].node, NULL));
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PING;
	m.u.ping.nonce = (struct ib_slice){ nonce, sizeof nonce };
	IB_ASSERT_OK(hn_peer_send(p, &m, NULL, NULL, false, NULL));
	hn_tree_run_for(t, 1000);
	CU_ASSERT_FATAL(hn_peer_last(p, IB_MSG_PONG) != NULL);
	CU_ASSERT_EQUAL(IB_NONNULL(hn_peer_last(p, IB_MSG_PONG))->nonce_len, sizeof nonce);
	CU_ASSERT(memcmp(IB_NONNULL(hn_peer_last(p, IB_MSG_PONG))->nonce, nonce, sizeof nonce) == 0);
	hn_peer_free(p);
	hn_tree_free(t);
}

/* [KA-5] a parent that stops pinging is left after three of its intervals. */
static void test_silent_parent_is_left(void)
{
	struct hn_peer *p = NULL;
	uint16_t port = 0;
	struct hn_tree *t = one_node(&p, true, &port);
	uint64_t opened;

	accept_node_as_child(t, p, NULL, 0, INTERVAL_MS);
	CU_ASSERT_FATAL(ib_node_parent(t->nodes[0].node, NULL));
	opened = t->clock.monotonic_us;
	CU_ASSERT(hn_tree_run_until(t, peer_closed, p, 10 * SECOND));
	CU_ASSERT_EQUAL(IB_NONNULL(hn_peer_last(p, IB_MSG_ERROR))->error_code, IB_EC_KEEPALIVE_TIMEOUT);
	CU_ASSERT(IB_NONNULL(hn_peer_last(p, IB_MSG_ERROR))->at_us - opened <= 3 * INTERVAL_MS * 1000ull);
	CU_ASSERT(IB_NONNULL(hn_peer_last(p, IB_MSG_ERROR))->at_us - opened >= 3 * INTERVAL_MS * 1000ull - 1000);
	CU_ASSERT(!ib_node_parent(t->nodes[0].node, NULL));
	hn_peer_free(p);
	hn_tree_free(t);
}

/* [TREE-5] a parent whose path holds the node is refused with loop_detected. */
static void test_parent_path_with_me_refused(void)
{
	struct hn_peer *p = NULL;
	uint16_t port = 0;
	struct hn_tree *t = one_node(&p, true, &port);

	accept_node_as_child(t, p, hn_id(t, 0), 1, INTERVAL_MS);
	CU_ASSERT(hn_tree_run_until(t, peer_closed, p, SECOND));
	CU_ASSERT_EQUAL(IB_NONNULL(hn_peer_last(p, IB_MSG_ERROR))->error_code, IB_EC_LOOP_DETECTED);
	CU_ASSERT(!ib_node_parent(t->nodes[0].node, NULL));
	hn_peer_free(p);
	hn_tree_free(t);
}

/* [TREE-7] a PATH from the parent that holds the node: leave the parent (loop_detected). */
static void test_path_with_me_leaves_parent(void)
{
	struct hn_peer *p = NULL;
	uint16_t port = 0;
	struct hn_tree *t = one_node(&p, true, &port);
	ib_id path[2];
	struct ib_msg m;

	accept_node_as_child(t, p, NULL, 0, INTERVAL_MS);
	CU_ASSERT_FATAL(ib_node_parent(t->nodes[0].node, NULL));
	path[0] = *hn_id(t, 0);
	path[1] = *ib_identity_id(hn_peer_identity(p));
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PATH;
	m.u.path = (struct ib_path){ 2, path[0].b };
	IB_ASSERT_OK(hn_peer_send(p, &m, NULL, NULL, false, NULL));
	CU_ASSERT(hn_tree_run_until(t, peer_closed, p, SECOND));
	CU_ASSERT_EQUAL(IB_NONNULL(hn_peer_last(p, IB_MSG_ERROR))->error_code, IB_EC_LOOP_DETECTED);
	CU_ASSERT(!ib_node_parent(t->nodes[0].node, NULL));
	hn_peer_free(p);
	hn_tree_free(t);
}

/* [TREE-6] a new path from the parent is taken and passed down. chain:2 under the peer. */
static void test_path_passed_down(void)
{
	struct hn_tree *t = NULL;
	struct hn_peer *p = NULL;
	uint16_t port = 0;
	ib_id above[3], path[IB_MAX_PATH];
	struct ib_identity *ghost = NULL;
	struct ib_msg m;

	IB_ASSERT_OK(hn_tree_new(&t, "chain:2", 22));
	IB_ASSERT_OK(hn_tree_new_peer(t, &p));
	IB_ASSERT_OK(hn_peer_listen(p, &port));
	snprintf(t->root_parent, sizeof t->root_parent, "127.0.0.1:%u", port);
	IB_ASSERT_OK(hn_tree_start(t));
	accept_node_as_child(t, p, NULL, 0, 30000);
	hn_tree_run_for(t, SECOND);
	CU_ASSERT_EQUAL(hn_path(t, 1, path), 3); /* peer, node 0, node 1 */
	/* The peer joins a tree: its path becomes ghost, peer. */
	IB_ASSERT_OK(ib_identity_generate(&ghost));
	above[0] = *ib_identity_id(ghost);
	above[1] = *ib_identity_id(hn_peer_identity(p));
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PATH;
	m.u.path = (struct ib_path){ 2, above[0].b };
	IB_ASSERT_OK(hn_peer_send(p, &m, NULL, NULL, false, NULL));
	hn_tree_run_for(t, 1000);
	CU_ASSERT_EQUAL(hn_path(t, 0, path), 3);
	CU_ASSERT_EQUAL(hn_path(t, 1, path), 4);
	CU_ASSERT(ib_id_equal(&path[0], ib_identity_id(ghost)));
	CU_ASSERT(ib_id_equal(&path[3], hn_id(t, 1)));
	ib_identity_free(ghost);
	hn_peer_free(p);
	hn_tree_free(t);
}

/* [TREE-4] step 1: a HELLO whose path does not end with its sender. */
static void test_hello_path_must_end_with_sender(void)
{
	struct hn_tree *t = NULL;
	struct hn_peer *p = NULL;

	IB_ASSERT_OK(hn_tree_new(&t, "chain:1", 23));
	IB_ASSERT_OK(hn_tree_new_peer(t, &p));
	IB_ASSERT_OK(hn_tree_start(t));
	IB_ASSERT_OK(hn_peer_connect(p, ib_node_listen_port(t->nodes[0].node)));
	hn_tree_run_for(t, 1000);
	CU_ASSERT_FATAL(hn_peer_tls_open(p));
	{
		ib_id path[1] = { *hn_id(t, 0) };
		struct ib_msg m;

		memset(&m, 0, sizeof m);
		m.h.type = IB_MSG_HELLO;
		m.u.hello = (struct ib_hello){ IB_ROLE_SERVER, 30000, IB_MAX_MESSAGE_LIMIT,
					       { (const uint8_t *)"liar", 4 }, { 1, path[0].b } };
		IB_ASSERT_OK(hn_peer_send(p, &m, NULL, NULL, false, NULL));
	}
	CU_ASSERT(hn_tree_run_until(t, peer_closed, p, SECOND));
	CU_ASSERT_EQUAL(IB_NONNULL(hn_peer_last(p, IB_MSG_ERROR))->error_code, IB_EC_PROTOCOL_VIOLATION);
	hn_peer_free(p);
	hn_tree_free(t);
}

/* [TREE-8] the same identity twice: the second link is refused with duplicate_identity. */
static void test_same_identity_twice_refused(void)
{
	struct hn_tree *t = NULL;
	struct hn_peer *p = NULL, *twin = NULL;

	IB_ASSERT_OK(hn_tree_new(&t, "chain:1", 24));
	IB_ASSERT_OK(hn_tree_new_peer(t, &p));
	IB_ASSERT_OK(hn_tree_start(t));
	CU_ASSERT_FATAL(hn_attach_child(t, p, 0));
	IB_ASSERT_OK(hn_peer_clone(p, &twin));
	IB_ASSERT_OK(hn_peer_connect(twin, ib_node_listen_port(t->nodes[0].node)));
	hn_tree_run_for(t, 1000);
	CU_ASSERT_FATAL(hn_peer_tls_open(twin));
	IB_ASSERT_OK(hn_peer_send_hello(twin, IB_ROLE_SERVER, 30000, NULL, 0));
	CU_ASSERT(hn_tree_run_until(t, peer_closed, twin, SECOND));
	CU_ASSERT_EQUAL(IB_NONNULL(hn_peer_last(twin, IB_MSG_ERROR))->error_code, IB_EC_DUPLICATE_IDENTITY);
	CU_ASSERT(!hn_peer_closed(p));
	CU_ASSERT_EQUAL(ib_node_child_count(t->nodes[0].node), 1);
	hn_peer_free(twin);
	hn_peer_free(p);
	hn_tree_free(t);
}

static const struct ib_test_case cases[] = {
	IB_TEST(test_server_pings_with_fresh_nonces, "KA-1 KA-2"),
	IB_TEST(test_silent_child_is_cut, "KA-1 KA-4"),
	IB_TEST(test_wrong_pong_is_cut, "KA-4"),
	IB_TEST(test_child_echoes_nonce, "KA-3"),
	IB_TEST(test_silent_parent_is_left, "KA-5"),
	IB_TEST(test_parent_path_with_me_refused, "TREE-5"),
	IB_TEST(test_path_with_me_leaves_parent, "TREE-7"),
	IB_TEST(test_path_passed_down, "TREE-6"),
	IB_TEST(test_hello_path_must_end_with_sender, "TREE-4"),
	IB_TEST(test_same_identity_twice_refused, "TREE-8"),
	IB_TEST_END
};

const struct ib_test_suite ib_suite_keepalive = { "keepalive", NULL, NULL, cases };
