/*
 * verify.c - signing and checking the frame envelope (spec section 5): the signature half of
 * it; frame.c lays out and parses the bytes.
 */
#include "interbot.h"

/* [ID-1][FRAME-1] The signature covers the message bytes exactly, as they are sent. */
int ib_frame_sign(struct ib_buf *out, const struct ib_identity *id, const uint8_t *msg,
                  size_t msg_len)
{
	uint8_t sig[IB_SIG_LEN];
	int err;

	if (!out || !id || (!msg && msg_len))
		return IB_ERR_INVALID_ARG;
	err = ib_identity_sign(id, msg, msg_len, sig);
	if (err)
		return err;
	return ib_frame_encode(out, ib_identity_id(id), sig, msg, msg_len);
}

/*
 * [FRAME-8] The checks after the length limit ([FRAME-4], decided by the parser), in order,
 * stopping at the first failure: signature length [FRAME-3], origin [FRAME-5], signature
 * [FRAME-6], the latter with the whole key found under the id_bot [ID-3].
 */
int ib_frame_verify(const struct ib_frame *f, const struct ib_keyring *kr,
                    const struct ib_pubkey **key)
{
	const struct ib_pubkey *k;
	int err;

	if (!f || !kr)
		return IB_ERR_INVALID_ARG;
	if (f->sig_len != IB_SIG_LEN || f->sig.len != IB_SIG_LEN)
		return IB_ERR_BAD_SIG_LEN;
	k = ib_keyring_find(kr, &f->origin);
	if (!k)
		return IB_ERR_UNKNOWN_ORIGIN;
	err = ib_pubkey_verify(k, f->msg.ptr, f->msg.len, f->sig.ptr, f->sig.len);
	if (err)
		return err;
	if (key)
		*key = k;
	return IB_OK;
}
