/*
 * example_test.c - the example bot (ref/examples/echo_bot.c) in a tree: its command answers,
 * it replies to a request item, and the embedding hooks fire.
 */
#include "echo_bot.h"
#include "harness.h"
#include "ib_test.h"

#include <string.h>

#define SECOND 1000000ull
#define KEY(s) ((struct ib_slice){ (const uint8_t *)(s), sizeof(s) - 1 })

struct said {
	bool done;
	uint16_t status;
	char text[64];
};

static void on_result(struct ib_node *n, const ib_id *from, uint16_t status,
		      struct ib_slice output, void *ctx)
{
	struct said *s = ctx;

	(void)n;
	if (!from)
		return;
	s->done = true;
	s->status = status;
	snprintf(s->text, sizeof s->text, "%.*s", (int)output.len, (const char *)output.ptr);
}

static bool said(struct hn_tree *t, void *arg)
{
	(void)t;
	return ((struct said *)arg)->done;
}

static bool replied(struct hn_tree *t, void *arg)
{
	struct ib_item item;

	(void)arg;
	return ib_store_get(ib_node_store(t->nodes[0].node), KEY("echo/reply"), &item) == IB_OK;
}

static void test_echo_bot(void)
{
	struct hn_tree *t = NULL;
	struct said s = { 0 };
	const struct ib_slice args[2] = { KEY("hello"), KEY("world") };
	struct ib_item item;

	IB_ASSERT_OK(hn_tree_new(&t, "chain:2", 61));
	snprintf(t->base.commands[t->base.command_count++], IB_MAX_STRING + 1, "echo.say");
	IB_ASSERT_OK(hn_tree_start(t));
	CU_ASSERT_FATAL(hn_tree_run_until(t, hn_tree_formed, NULL, 5 * SECOND));
	IB_ASSERT_OK(echo_bot_attach(t->nodes[1].node));

	IB_ASSERT_OK(ib_node_command(t->nodes[0].node, hn_id(t, 1), "echo.say", args, 2, 1000,
				     on_result, &s));
	CU_ASSERT(hn_tree_run_until(t, said, &s, SECOND));
	CU_ASSERT_EQUAL(s.status, IB_STATUS_OK);
	CU_ASSERT_STRING_EQUAL(s.text, "hello world");

	IB_ASSERT_OK(ib_node_publish(t->nodes[0].node, KEY("echo/request"), KEY("ping?"), NULL));
	CU_ASSERT(hn_tree_run_until(t, replied, NULL, SECOND));
	IB_ASSERT_OK(ib_store_get(ib_node_store(t->nodes[0].node), KEY("echo/reply"), &item));
	CU_ASSERT(item.value.len == 5 && memcmp(item.value.ptr, "ping?", 5) == 0);
	CU_ASSERT(ib_id_equal(&item.writer, hn_id(t, 1)));
	hn_tree_free(t);
}

static const struct ib_test_case cases[] = {
	IB_TEST(test_echo_bot, ""),
	IB_TEST_END
};

const struct ib_test_suite ib_suite_example = { "example", NULL, NULL, cases };
