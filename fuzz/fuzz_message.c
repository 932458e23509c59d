/*
 * fuzz_message.c - every message body decoder, on arbitrary bytes.
 *
 * Targets: ib_msg_decode (the header and all bodies of spec section 7, through the reader),
 * ib_msg_encode, ib_msg_to_json, ib_args_split, ib_transfer_check's frame parsing.
 * Properties checked (abort on failure): a message that decodes re-encodes to the same bytes;
 * a COMMAND's args that split re-join to the same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interbot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_args(struct ib_slice args)
{
	struct ib_slice items[16];
	struct ib_buf out = { 0 };
	size_t count;

	if (ib_args_split(args, items, 16, &count) != IB_OK)
		return;
	for (size_t i = 0; i < count; i++)
		if (ib_args_put(&out, items[i]) != IB_OK)
			abort();
	if (out.len != args.len || (args.len && memcmp(out.ptr, args.ptr, args.len) != 0)) {
		fprintf(stderr, "args do not re-join to the same bytes\n");
		abort();
	}
	ib_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ib_buf out = { 0 };
	struct ib_msg m;
	char *json = NULL;

	if (ib_msg_decode(&m, data, size) != IB_OK)
		return 0;
	if (ib_msg_encode(&out, &m) != IB_OK || out.len != size ||
	    memcmp(out.ptr, data, size) != 0) {
		fprintf(stderr, "decoded message does not re-encode to the same bytes\n");
		abort();
	}
	if (ib_msg_to_json(&m, &json) != IB_OK)
		abort();
	if (m.h.type == IB_MSG_COMMAND)
		check_args(m.u.command.args);
	if (m.h.type == IB_MSG_TRANSFER && m.u.transfer.frame.len) {
		struct ib_frame f;

		/* The decoder promised one whole frame. */
		if (ib_frame_parse(&f, m.u.transfer.frame.ptr, m.u.transfer.frame.len,
				   IB_MAX_MESSAGE_LIMIT) != IB_OK)
			abort();
	}
	free(json);
	ib_buf_free(&out);
	return 0;
}
