/*
 * tree_test.c - trees of reference nodes in one process, on virtual time: formation,
 * flooding, root fallback, client mode, revocation. Each case names the spec IDs it checks.
 */
#include "harness.h"
#include "ib_test.h"

#include <string.h>

#define SECOND 1000000ull

/* Every node's path is its parent's path and itself ([TREE-6]). */
static void assert_paths(struct hn_tree *t)
{
	for (size_t i = 0; i < t->count; i++) {
		ib_id path[IB_MAX_PATH];
		size_t len = ib_node_path(t->nodes[i].node, path, IB_MAX_PATH);
		size_t depth = 0;

		for (int p = t->nodes[i].parent; p >= 0; p = t->nodes[p].parent)
			depth++;
		CU_ASSERT_EQUAL(len, depth + 1);
		CU_ASSERT(ib_id_equal(&path[len - 1], ib_node_id(t->nodes[i].node)));
		if (t->nodes[i].parent >= 0) {
			ib_id above[IB_MAX_PATH];
			size_t plen = ib_node_path(t->nodes[t->nodes[i].parent].node, above,
						   IB_MAX_PATH);

			CU_ASSERT_EQUAL(plen, len - 1);
			CU_ASSERT(memcmp(above, path, plen * sizeof *path) == 0);
		}
	}
}

static void test_chain_forms(void)
{
	struct hn_tree *t = ib_test_formed_tree("chain:5", 1, 30 * SECOND);

	assert_paths(t);
	CU_ASSERT_EQUAL(ib_node_child_count(t->nodes[0].node), 1);
	CU_ASSERT_EQUAL(ib_node_link_count(t->nodes[2].node), 2);
	CU_ASSERT_EQUAL(ib_node_link_count(t->nodes[4].node), 1);
	hn_tree_free(t);
}

static void test_star_forms(void)
{
	struct hn_tree *t = ib_test_formed_tree("star:8", 2, 30 * SECOND);

	assert_paths(t);
	CU_ASSERT_EQUAL(ib_node_child_count(t->nodes[0].node), 7);
	hn_tree_free(t);
}

static void test_fanout_tree_forms(void)
{
	struct hn_tree *t = ib_test_formed_tree("tree:2x3", 3, 30 * SECOND);

	CU_ASSERT_EQUAL(t->count, 15);
	assert_paths(t);
	hn_tree_free(t);
}

struct flood_wait {
	uint64_t want;              /* deliveries every node must reach */
};

static bool all_delivered(struct hn_tree *t, void *arg)
{
	const struct flood_wait *w = arg;

	for (size_t i = 0; i < t->count; i++)
		if (t->nodes[i].node && t->nodes[i].delivered < w->want)
			return false;
	return true;
}

static bool all_delivered_but_1(struct hn_tree *t, void *arg)
{
	const struct flood_wait *w = arg;

	return t->nodes[0].delivered >= w->want && t->nodes[2].delivered >= w->want;
}

static void publish_from(struct hn_tree *t, size_t i, uint64_t version)
{
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PUBLISH;
	m.u.publish.key = (struct ib_slice){ (const uint8_t *)t->nodes[i].name,
					     strlen(t->nodes[i].name) };
	m.u.publish.version = version;
	m.u.publish.value = (struct ib_slice){ (const uint8_t *)"v", 1 };
	IB_ASSERT_OK(ib_node_send(t->nodes[i].node, &m));
}

/* Sends one PUBLISH from each of `senders`, then checks every other node got each exactly once
 * and no sender got its own back. */
static void flood_and_check(struct hn_tree *t, const size_t *senders, size_t nsenders)
{
	struct flood_wait w = { 0 };

	for (size_t s = 0; s < nsenders; s++)
		publish_from(t, senders[s], 1);
	/* Every node hears every sender but itself. */
	w.want = nsenders - 1;
	CU_ASSERT(hn_tree_run_until(t, all_delivered, &w, 10 * SECOND));
	hn_tree_run_for(t, SECOND); /* let any duplicate arrive, if one would */
	for (size_t i = 0; i < t->count; i++) {
		bool is_sender = false;

		for (size_t s = 0; s < nsenders; s++)
			is_sender |= senders[s] == i;
		CU_ASSERT_EQUAL(t->nodes[i].delivered, nsenders - (is_sender ? 1 : 0));
		CU_ASSERT_EQUAL(t->nodes[i].delivered_from_self, 0);
		/* [FLOOD-2] in a tree nothing comes twice unless a node sent a frame back. */
		CU_ASSERT_EQUAL(ib_node_counter(t->nodes[i].node, IB_CNT_REPLAY), 0);
	}
}

static void test_chain_flood_exactly_once(void)
{
	struct hn_tree *t = ib_test_formed_tree("chain:10", 4, 30 * SECOND);
	const size_t senders[] = { 0, 9, 4 };

	flood_and_check(t, senders, 3);
	hn_tree_free(t);
}

static void test_tree3x3_flood_exactly_once(void)
{
	struct hn_tree *t = ib_test_formed_tree("tree:3x3", 5, 30 * SECOND);
	const size_t senders[] = { 0, 39, 13, 7 };

	flood_and_check(t, senders, 4);
	hn_tree_free(t);
}

static void test_random100_forms_and_floods(void)
{
	struct hn_tree *t = ib_test_formed_tree("random:100:7", 7, 30 * SECOND);
	const size_t senders[] = { 99, 0, 50 };

	assert_paths(t);
	flood_and_check(t, senders, 3);
	hn_tree_free(t);
}

struct parent_wait {
	size_t node;
	bool want_parent;
};

static bool parent_state(struct hn_tree *t, void *arg)
{
	const struct parent_wait *w = arg;

	return ib_node_parent(t->nodes[w->node].node, NULL) == w->want_parent;
}

static bool path_of_2_is_short(struct hn_tree *t, void *arg)
{
	ib_id path[IB_MAX_PATH];

	(void)arg;
	return ib_node_path(t->nodes[2].node, path, IB_MAX_PATH) == 2;
}

/* [TREE-10][TREE-2] the parent dies: a root at once, then retries with growing waits. */
static void test_parent_lost_root_and_retry(void)
{
	struct hn_tree *t = ib_test_formed_tree("chain:3", 8, 30 * SECOND);
	struct parent_wait w = { 1, false };
	ib_id path[IB_MAX_PATH];
	uint64_t before;

	hn_tree_kill(t, 0);
	CU_ASSERT(hn_tree_run_until(t, parent_state, &w, SECOND));
	/* A root: its path is itself, and its child is told ([TREE-6]). */
	CU_ASSERT_EQUAL(ib_node_path(t->nodes[1].node, path, IB_MAX_PATH), 1);
	CU_ASSERT(hn_tree_run_until(t, path_of_2_is_short, NULL, SECOND));
	CU_ASSERT(ib_node_parent(t->nodes[2].node, NULL));
	/* It keeps trying its parent: each round fails, at reconnect_min_ms and then longer. */
	before = ib_node_counter(t->nodes[1].node, IB_CNT_CONNECT_FAILED);
	hn_tree_run_for(t, 60 * SECOND);
	CU_ASSERT(ib_node_counter(t->nodes[1].node, IB_CNT_CONNECT_FAILED) > before + 2);
	/* With waits doubling from 1 s to the 60 s cap, a minute holds fewer than 10 tries. */
	CU_ASSERT(ib_node_counter(t->nodes[1].node, IB_CNT_CONNECT_FAILED) < before + 10);
	hn_tree_free(t);
}

/* A node killed and started again (same identity and port): its child comes back to it
 * after a retry, and its new frames pass everyone's windows ([MSG-5] across restarts). */
static void test_restarted_node_rejoined(void)
{
	struct hn_tree *t = ib_test_formed_tree("chain:3", 15, 30 * SECOND);
	struct flood_wait w = { 1 };

	hn_tree_kill(t, 1);
	hn_tree_run_for(t, 2 * SECOND);
	CU_ASSERT(!ib_node_parent(t->nodes[2].node, NULL));
	IB_ASSERT_OK(hn_tree_restart(t, 1));
	CU_ASSERT(hn_tree_run_until(t, hn_tree_formed, NULL, 120 * SECOND));
	t->nodes[0].delivered = t->nodes[2].delivered = 0;
	publish_from(t, 1, 2);
	CU_ASSERT(hn_tree_run_until(t, all_delivered_but_1, &w, 5 * SECOND));
	CU_ASSERT_EQUAL(ib_node_counter(t->nodes[0].node, IB_CNT_REPLAY), 0);
	hn_tree_free(t);
}

/* [TREE-3] a client-mode node with a parent refuses children. */
static void test_client_mode_refuses_children(void)
{
	struct hn_tree *t = NULL;
	struct parent_wait w = { 1, true };

	IB_ASSERT_OK(hn_tree_new(&t, "chain:3", 9));
	t->base.mode = IB_ROLE_CLIENT;
	IB_ASSERT_OK(hn_tree_start(t));
	CU_ASSERT(hn_tree_run_until(t, parent_state, &w, 5 * SECOND));
	hn_tree_run_for(t, 5 * SECOND);
	/* Node 0 is a root: it accepted node 1. Node 1 has a parent: it refused node 2. */
	CU_ASSERT(ib_node_parent(t->nodes[1].node, NULL));
	CU_ASSERT(!ib_node_parent(t->nodes[2].node, NULL));
	CU_ASSERT(ib_node_counter(t->nodes[1].node, IB_CNT_LINKS_REFUSED) >= 1);
	CU_ASSERT_EQUAL(ib_node_child_count(t->nodes[1].node), 0);
	hn_tree_free(t);
}

/* [MEMBER-2] a key removed from the keyring closes its live link at once, and its next
 * attempts fail the TLS pinning ([TLS-4][MEMBER-4]). */
static void test_revocation_closes_live_link(void)
{
	struct hn_tree *t = ib_test_formed_tree("chain:3", 10, 30 * SECOND);
	struct ib_keyring *kr = NULL;
	const int without[] = { 2 };

	IB_ASSERT_OK(hn_tree_keyring(t, without, 1, &kr));
	IB_ASSERT_OK(ib_node_set_keyring(t->nodes[1].node, kr));
	/* Closed within the call: node 1 has no child left. */
	CU_ASSERT_EQUAL(ib_node_child_count(t->nodes[1].node), 0);
	hn_tree_run_for(t, 10 * SECOND);
	CU_ASSERT(!ib_node_parent(t->nodes[2].node, NULL));
	CU_ASSERT(ib_node_counter(t->nodes[1].node, IB_CNT_NOT_AUTHORIZED) >= 1);
	/* The rest of the tree is untouched. */
	CU_ASSERT(ib_node_parent(t->nodes[1].node, NULL));
	hn_tree_free(t);
}

/* Every node's map holds every live node with the parent the topology gives it. */
static bool maps_complete(struct hn_tree *t, void *arg)
{
	static struct ib_map_entry map[128];

	(void)arg;
	for (size_t i = 0; i < t->count; i++) {
		size_t live = 0, n;

		if (!t->nodes[i].node)
			continue;
		for (size_t j = 0; j < t->count; j++)
			live += t->nodes[j].node != NULL;
		n = ib_node_map(t->nodes[i].node, map, 128);
		if (n != live)
			return false;
		for (size_t k = 0; k < n; k++) {
			int j = hn_tree_find(t, &map[k].id), p;

			if (j < 0)
				return false;
			p = t->nodes[j].parent;
			if (p < 0 ? !ib_id_is_zero(&map[k].parent)
				  : !ib_id_equal(&map[k].parent, hn_id(t, (size_t)p)))
				return false;
		}
	}
	return true;
}

/* [MAP-1][MAP-3] every node draws the whole tree, late joiners included. */
static void test_every_node_has_the_map(void)
{
	struct hn_tree *t = ib_test_formed_tree("random:30:5", 16, 30 * SECOND);
	static struct ib_map_entry map[64];

	CU_ASSERT(hn_tree_run_until(t, maps_complete, NULL, 5 * SECOND));
	/* This node first, with its name and software. */
	CU_ASSERT_EQUAL(ib_node_map(t->nodes[7].node, map, 64), 30);
	CU_ASSERT(ib_id_equal(&map[0].id, hn_id(t, 7)));
	CU_ASSERT_STRING_EQUAL(map[0].name, "n7");
	CU_ASSERT_STRING_EQUAL(map[0].software, IB_SOFTWARE_NAME "/" IB_SOFTWARE_VERSION);
	hn_tree_free(t);
}

/* [MAP-2] a lost child takes its subtree out of every map; the cut-off part keeps only
 * itself. chain:4, node 2 dies. */
static void test_parted_prunes_the_map(void)
{
	struct hn_tree *t = ib_test_formed_tree("chain:4", 17, 30 * SECOND);
	static struct ib_map_entry map[8];

	CU_ASSERT_FATAL(hn_tree_run_until(t, maps_complete, NULL, 5 * SECOND));
	hn_tree_kill(t, 2);
	hn_tree_run_for(t, SECOND);
	CU_ASSERT_EQUAL(ib_node_map(t->nodes[0].node, map, 8), 2); /* 0 and 1 */
	CU_ASSERT_EQUAL(ib_node_map(t->nodes[3].node, map, 8), 1); /* 3 alone, a root */
	CU_ASSERT(ib_id_is_zero(&map[0].parent));
	hn_tree_free(t);
}

static const struct ib_test_case cases[] = {
	IB_TEST(test_chain_forms, "TREE-1 TREE-6 TLS-3 TLS-4 LINK-1"),
	IB_TEST(test_star_forms, "TREE-1 TREE-6"),
	IB_TEST(test_fanout_tree_forms, "TREE-1 TREE-6"),
	IB_TEST(test_chain_flood_exactly_once, "FLOOD-1 FLOOD-2"),
	IB_TEST(test_tree3x3_flood_exactly_once, "FLOOD-1 FLOOD-2"),
	IB_TEST(test_random100_forms_and_floods, "TREE-1 FLOOD-1 FLOOD-2"),
	IB_TEST(test_parent_lost_root_and_retry, "TREE-2 TREE-6 TREE-10"),
	IB_TEST(test_restarted_node_rejoined, "TREE-2 MSG-5"),
	IB_TEST(test_client_mode_refuses_children, "TREE-3 TREE-4"),
	IB_TEST(test_every_node_has_the_map, "MAP-1 MAP-3"),
	IB_TEST(test_parted_prunes_the_map, "MAP-2"),
	IB_TEST(test_revocation_closes_live_link, "MEMBER-2 MEMBER-4 TLS-4"),
	IB_TEST_END
};

const struct ib_test_suite ib_suite_tree = { "tree", NULL, NULL, cases };
