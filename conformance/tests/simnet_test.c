/*
 * simnet_test.c - the simulator's network (conformance/harness/simnet.c), as the nodes see it:
 * links form through it, each direction keeps its order under random delays, and a cut, a
 * partition, a crash and a stalled direction reach both ends as the real network's would.
 * interbot-sim and interbot-soak --net-delay trust these properties.
 */
#include "harness.h"
#include "ib_test.h"
#include "simnet.h"

#include <string.h>

#define SECOND 1000000ull

struct world {
	struct hn_tree *t;
	struct sn_net *net;
	uint64_t last_seq[8];       /* per node: the last PUBLISH seq delivered from node 0 */
	size_t out_of_order, delivered[8];
};

static struct world *current; /* the deliver callback's world (one test at a time) */

static void on_deliver(struct ib_node *node, const struct ib_frame *f, const struct ib_msg *m,
		       void *ctx)
{
	size_t i = (size_t)((size_t *)ctx - current->delivered); /* ctx: &delivered[i] */

	(void)node;
	if (m->h.type != IB_MSG_PUBLISH || !ib_id_equal(&f->origin, hn_id(current->t, 0)))
		return;
	if (m->h.seq <= current->last_seq[i])
		current->out_of_order++;
	current->last_seq[i] = m->h.seq;
	current->delivered[i]++;
}

static int attach(struct hn_tree *t, size_t i, struct ib_node *n, void *ctx)
{
	sn_attach(ctx, i, n, t->seed + i);
	ib_node_set_deliver(n, on_deliver, &current->delivered[i]);
	return IB_OK;
}

/* A tree of the shape on simnet, delays in [min_us, max_us], formed. */
static void world_start(struct world *w, const char *shape, uint64_t min_us, uint64_t max_us)
{
	memset(w, 0, sizeof *w);
	current = w;
	IB_ASSERT_OK(hn_tree_new(&w->t, shape, 5));
	CU_ASSERT_PTR_NOT_NULL_FATAL(w->t);
	IB_ASSERT_OK(sn_net_new(&w->net, w->t->loop, w->t->count, 5, min_us, max_us));
	w->t->on_node = attach;
	w->t->on_node_ctx = w->net;
	IB_ASSERT_OK(hn_tree_start(w->t));
	CU_ASSERT_FATAL(hn_tree_run_until(w->t, hn_tree_formed, NULL, 30 * SECOND));
}

static void world_free(struct world *w)
{
	sn_net_free(w->net);
	hn_tree_free(w->t);
	current = NULL;
}

static bool no_links(struct hn_tree *t, void *arg)
{
	(void)arg;
	return ib_node_link_count(t->nodes[0].node) == 0 &&
	       ib_node_link_count(t->nodes[1].node) == 0;
}

/* Frames sent back to back arrive in order at every node, whatever each chunk's delay. */
static void test_order_kept_under_delays(void)
{
	struct world w;
	char key[8];

	world_start(&w, "chain:5", 100, 20000);
	for (int k = 0; k < 40; k++) {
		snprintf(key, sizeof key, "k%d", k);
		IB_ASSERT_OK(ib_node_publish(w.t->nodes[0].node,
					     (struct ib_slice){ (const uint8_t *)key, strlen(key) },
					     (struct ib_slice){ (const uint8_t *)"v", 1 }, NULL));
	}
	hn_tree_run_for(w.t, 2 * SECOND);
	for (size_t i = 1; i < 5; i++)
		CU_ASSERT_EQUAL(w.delivered[i], 40);
	CU_ASSERT_EQUAL(w.out_of_order, 0);
	world_free(&w);
}

/* A delay is a delay: with 50 ms on every chunk, a PUBLISH takes at least 50 ms a hop. */
static void test_delay_applied(void)
{
	struct world w;
	uint64_t start;

	world_start(&w, "chain:3", 50000, 50000);
	start = w.t->clock.monotonic_us;
	IB_ASSERT_OK(ib_node_publish(w.t->nodes[0].node, (struct ib_slice){ (const uint8_t *)"k", 1 },
				     (struct ib_slice){ (const uint8_t *)"v", 1 }, NULL));
	hn_tree_run_for(w.t, 99000);
	CU_ASSERT_EQUAL(w.delivered[2], 0); /* two hops: not before 100 ms */
	CU_ASSERT_EQUAL(w.delivered[1], 1);
	hn_tree_run_for(w.t, 2000);
	CU_ASSERT_EQUAL(w.delivered[2], 1);
	CU_ASSERT(w.t->clock.monotonic_us - start >= 100000);
	world_free(&w);
}

/* A cut ends the link at both ends at once, without an ERROR, and they link again. */
static void test_cut_seen_by_both(void)
{
	struct world w;

	world_start(&w, "chain:2", 100, 1000);
	CU_ASSERT_EQUAL(sn_cut(w.net, 0, 1), 1);
	CU_ASSERT(hn_tree_run_until(w.t, no_links, NULL, 1000));
	CU_ASSERT_EQUAL(ib_node_counter(w.t->nodes[0].node, IB_CNT_ERROR_RECEIVED), 0);
	CU_ASSERT(hn_tree_run_until(w.t, hn_tree_formed, NULL, 30 * SECOND));
	world_free(&w);
}

/* Across a partition links end and no connection gets through; healed, the tree forms. */
static void test_partition_refuses_then_heals(void)
{
	struct world w;

	world_start(&w, "chain:2", 100, 1000);
	sn_set_side(w.net, 1, 1);
	CU_ASSERT(hn_tree_run_until(w.t, no_links, NULL, 1000));
	hn_tree_run_for(w.t, 20 * SECOND);
	CU_ASSERT(!ib_node_parent(w.t->nodes[1].node, NULL));
	sn_heal(w.net);
	CU_ASSERT(hn_tree_run_until(w.t, hn_tree_formed, NULL, 120 * SECOND));
	world_free(&w);
}

/* [KA-4] A direction no longer read holds the child's PONGs: the parent cuts the child at its
 * PONG deadline, as it would a peer that stops reading. */
static void test_stall_holds_pongs(void)
{
	struct world w;
	uint64_t start;

	world_start(&w, "chain:2", 100, 1000);
	start = w.t->clock.monotonic_us;
	sn_stall(w.net, 1, 0, true);
	/* The first PING goes a keep-alive interval after the link opened. */
	CU_ASSERT(hn_tree_run_until(
		w.t, no_links, NULL,
		(w.t->base.keepalive_interval_ms + w.t->base.keepalive_timeout_ms + 1000) * 1000ull));
	CU_ASSERT(w.t->clock.monotonic_us - start >=
		  (uint64_t)w.t->base.keepalive_timeout_ms * 1000);
	world_free(&w);
}

/* A crashed host's links end at its peers, and connections to it are refused until it is up. */
static void test_crash_refuses_until_up(void)
{
	struct world w;

	world_start(&w, "chain:2", 100, 1000);
	sn_host_down(w.net, 0);
	hn_tree_kill(w.t, 0);
	hn_tree_run_for(w.t, 10 * SECOND);
	CU_ASSERT_EQUAL(ib_node_link_count(w.t->nodes[1].node), 0);
	sn_host_up(w.net, 0);
	IB_ASSERT_OK(hn_tree_restart(w.t, 0));
	CU_ASSERT(hn_tree_run_until(w.t, hn_tree_formed, NULL, 120 * SECOND));
	world_free(&w);
}

static const struct ib_test_case cases[] = {
	IB_TEST(test_order_kept_under_delays, "FLOOD-1"),
	IB_TEST(test_delay_applied, "FLOOD-1"),
	IB_TEST(test_cut_seen_by_both, "TREE-10"),
	IB_TEST(test_partition_refuses_then_heals, "TREE-2 TREE-13"),
	IB_TEST(test_stall_holds_pongs, "KA-4"),
	IB_TEST(test_crash_refuses_until_up, "TREE-2"),
	IB_TEST_END
};

const struct ib_test_suite ib_suite_simnet = { "simnet", NULL, NULL, cases };
