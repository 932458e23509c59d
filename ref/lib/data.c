/*
 * data.c - shared data at the node (spec section 13): every PUBLISH that reaches the node goes
 * to its store, and the node publishes with the next version.
 */
#include "node_internal.h"

#include <string.h>

/* For FAULT store-refusal-not-forwarded (flood.c): the PUBLISH being delivered was refused.
 * Nothing in a build without faults. */
static void fault_note_refused(struct ib_node *n)
{
#ifdef IB_FAULTS
	n->fault_store_refused = true;
#else
	(void)n;
#endif
}

/* [DATA-2][DATA-7] every key, from every writer, applied when newer; [DATA-11] values above
 * max_value too: that limit is the publisher's. */
void data_publish_received(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m)
{
	if (IB_FAULT(n, ignore_publish)) /* FAULT ignore-publish, breaks [DATA-2] */
		return;
	/* FAULT drop-long-value, breaks [DATA-11]: a value above max_value is not kept. */
	if (IB_FAULT(n, drop_long_value) && m->u.publish.value.len > IB_MAX_VALUE)
		return;
	/* [DATA-13] a PUBLISH the store refuses (full, or a failed write) is still forwarded:
	 * flood.c does it whatever happens here. */
	if (node_store_apply(n, f->raw, m, true) < 0)
		fault_note_refused(n);
}

/* [DATA-3][DATA-8] The version of the held item, plus one: only verified frames count, never
 * a version an OFFER or SELECT named. 0 when the held item is at 2^64-1 ([DATA-9]). */
static uint64_t next_version(struct ib_node *n, struct ib_slice key)
{
	uint64_t v = ib_store_next_version(n->store, key);

#ifdef IB_FAULTS
	/* FAULT version-from-offers, breaks [DATA-8]: the greatest version offered to this node
	 * counts as known (0 past 2^64-1, as the store's). */
	if (IB_FAULT(n, version_from_offers) && v != 0 && n->fault_offered >= v)
		v = n->fault_offered + 1;
#endif
	return v;
}

int ib_node_publish(struct ib_node *n, struct ib_slice key, struct ib_slice value,
		    uint64_t *version)
{
	struct ib_buf frame = { 0 };
	struct ib_frame f;
	struct ib_msg m, back;
	int err;

	/* [DATA-10] never above max_value, whatever this node's max_message: the item must fit
	 * an ib.get RESULT on any link. FAULT publish-fits-max-message, breaks [DATA-10]: up to
	 * what a PUBLISH of this node's max_message holds. */
	if (value.len > (IB_FAULT(n, publish_fits_max_message) ? n->cfg.max_message : IB_MAX_VALUE))
		return IB_ERR_RANGE;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PUBLISH;
	m.u.publish.key = key;
	m.u.publish.value = value;
	m.u.publish.version = next_version(n, key);
	/* [DATA-9] no version is left: nothing is sent, the item stays. FAULT
	 * publish-at-max-bad-args, breaks [DATA-9]: told as an argument out of range. */
	if (m.u.publish.version == 0)
		return IB_FAULT(n, publish_at_max_bad_args) ? IB_ERR_RANGE : IB_ERR_FULL;
	err = node_sign(n, &m, &frame);
	if (err)
		goto out;
	/* Kept as any received frame would be: the store holds the frame itself ([DATA-4]). */
	err = ib_frame_parse(&f, frame.ptr, frame.len, IB_MAX_MESSAGE_LIMIT);
	if (!err)
		err = ib_msg_decode(&back, f.msg.ptr, f.msg.len);
	/* [DATA-14] kept first, then sent: a frame its store refused (full, or a failed write,
	 * [DATA-5]) is not sent, and ib.publish answers failed. FAULT
	 * publish-despite-write-failure, breaks [DATA-14]: sent anyway, and told a success. */
	if (!err)
		err = node_store_apply(n, f.raw, &back, false);
	if (err < 0 && !(IB_FAULT(n, publish_despite_write_failure) && err == IB_ERR_IO))
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
