/*
 * echo_bot.c - an example of embedding libinterbot: a command handler, a reaction to shared
 * data, and membership events, all through ref/include/interbot.h and nothing else.
 */
#include "echo_bot.h"

#include <stdio.h>
#include <string.h>

static const char request_key[] = "echo/request";
static const char reply_key[] = "echo/reply";

/* echo.say: the arguments back, joined by spaces. */
static uint16_t say(struct ib_node *n, const ib_id *from, const struct ib_slice *args,
		    size_t nargs, struct ib_buf *output, void *ctx)
{
	(void)n;
	(void)from;
	(void)ctx;
	if (nargs == 0)
		return IB_STATUS_BAD_ARGS;
	for (size_t i = 0; i < nargs; i++) {
		if ((i && ib_buf_put(output, " ", 1)) || ib_buf_put(output, args[i].ptr, args[i].len))
			return IB_STATUS_FAILED;
	}
	return IB_STATUS_OK;
}

/* A new item: a request is answered by publishing its value as the reply. */
static void on_item(struct ib_node *n, const struct ib_item *item, void *ctx)
{
	(void)ctx;
	if (item->key.len != sizeof request_key - 1 ||
	    memcmp(item->key.ptr, request_key, item->key.len) != 0)
		return;
	ib_node_publish(n, (struct ib_slice){ (const uint8_t *)reply_key, sizeof reply_key - 1 },
			item->value, NULL);
}

static void on_link(struct ib_node *n, const struct ib_link_info *link, bool up, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "echo bot %s: %s %s (%s)\n", ib_node_name(n), up ? "linked with" : "lost",
		link->name, link->addr);
}

int echo_bot_attach(struct ib_node *n)
{
	int err = ib_node_register_command(n, "echo.say", say, NULL);

	if (err)
		return err;
	ib_node_on_item(n, on_item, NULL);
	ib_node_on_link(n, on_link, NULL);
	return IB_OK;
}
