/*
 * check.c - what a receiver checks of one frame before any per-origin state: the envelope
 * (spec section 5), the message (section 6 and 7), the freshness of commands ([CMD-6]), and
 * the frame embedded in a TRANSFER ([ELECT-5]).
 */
#include "interbot.h"

#include <string.h>

/* [CMD-6] seq is microseconds since the epoch; more than 300 s off either way is stale. */
static int check_command_fresh(uint64_t seq, uint64_t now_unix_us)
{
	uint64_t skew = seq > now_unix_us ? seq - now_unix_us : now_unix_us - seq;

	return skew > IB_COMMAND_MAX_SKEW_US ? IB_ERR_STALE : IB_OK;
}

int ib_frame_check(const struct ib_frame *f, const struct ib_keyring *kr, uint64_t now_unix_us,
		   struct ib_msg *m)
{
	int err;

	/* [FRAME-8] signature length, origin, signature; only then look at the message. */
	err = ib_frame_verify(f, kr, NULL);
	if (err)
		return err;
	/* [MSG-12] the message rules, all of them, before any link rule looks at it. */
	err = ib_msg_decode(m, f->msg.ptr, f->msg.len);
	if (err)
		return err;
	/* [MSG-11] a directed type for everyone is malformed: dropped, not forwarded. */
	if (ib_msg_type_is_directed(m->h.type) && ib_id_is_zero(&m->h.dest))
		return IB_ERR_NO_DEST;
	if (m->h.type == IB_MSG_COMMAND)
		return check_command_fresh(m->h.seq, now_unix_us);
	return IB_OK;
}

int ib_transfer_check(struct ib_slice frame, const struct ib_keyring *kr, struct ib_slice key,
		      struct ib_msg *pub)
{
	struct ib_frame f;
	int err;

	err = ib_frame_parse(&f, frame.ptr, frame.len, IB_MAX_MESSAGE_LIMIT);
	if (err)
		return err;
	err = ib_frame_verify(&f, kr, NULL);
	if (err)
		return err;
	err = ib_msg_decode(pub, f.msg.ptr, f.msg.len);
	if (err)
		return err;
	if (pub->h.type != IB_MSG_PUBLISH || pub->u.publish.key.len != key.len ||
	    memcmp(pub->u.publish.key.ptr, key.ptr, key.len) != 0)
		return IB_ERR_NOT_PUBLISH;
	return IB_OK;
}

const char *ib_drop_reason(int err)
{
	switch (err) {
	case IB_ERR_TRUNCATED:
	case IB_ERR_TRAILING:
	case IB_ERR_BAD_STRING:
	case IB_ERR_RANGE:
	case IB_ERR_HOP_DEST:
	case IB_ERR_NO_DEST:
	case IB_ERR_NOT_PUBLISH:
		return "malformed";
	default:
		/* The other wire errors are named as the spec's counters already. */
		return ib_errname(err);
	}
}
