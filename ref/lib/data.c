/*
 * data.c - shared data at the node (spec section 13): every PUBLISH that reaches the node goes
 * to its store, and the node publishes with the next version.
 */
#include "node_internal.h"

#include <string.h>

/* [DATA-2][DATA-7] every key, from every writer, applied when newer. */
void data_publish_received(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m)
{
	if (IB_FAULT(n, ignore_publish)) /* FAULT ignore-publish, breaks [DATA-2] */
		return;
	node_store_apply(n, f->raw, m);
}

int ib_node_publish(struct ib_node *n, struct ib_slice key, struct ib_slice value,
		    uint64_t *version)
{
	struct ib_buf frame = { 0 };
	struct ib_frame f;
	struct ib_msg m, back;
	int err;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PUBLISH;
	m.u.publish.key = key;
	m.u.publish.value = value;
	/* [DATA-3] the highest version known, plus one. */
	m.u.publish.version = ib_store_next_version(n->store, key);
	if (m.u.publish.version == 0)
		return IB_ERR_RANGE;
	err = node_sign(n, &m, &frame);
	if (err)
		goto out;
	/* Kept as any received frame would be: the store holds the frame itself ([DATA-4]). */
	err = ib_frame_parse(&f, frame.ptr, frame.len, IB_MAX_MESSAGE_LIMIT);
	if (!err)
		err = ib_msg_decode(&back, f.msg.ptr, f.msg.len);
	if (!err)
		err = node_store_apply(n, f.raw, &back);
	if (err < 0)
		goto out;
	err = flood_send_frame(n, &back, frame.ptr, frame.len);
	if (!err && version)
		*version = m.u.publish.version;
out:
	ib_buf_free(&frame);
	return err < 0 ? err : IB_OK;
}

const struct ib_store *ib_node_store(const struct ib_node *n)
{
	return n->store;
}
