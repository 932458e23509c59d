/*
 * frames.c - vectors/frames.json: one frame each, with its verdict.
 *
 * First one valid frame per message type (and the edge cases a decoder must accept), then the
 * faults an implementation is likely to get wrong, each with the spec requirement it breaks.
 */
#include "vecgen.h"

#include <string.h>

/* L, the order of the Ed25519 group, little-endian (RFC 8032 section 5.1). */
static const uint8_t ed25519_l[32] = {
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};

static const uint8_t nonce64[64] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
	0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
};

/* Scratch buffers shared by the builders below; the generator is single-threaded. */
static struct ib_buf msg, frame, tmp;

static struct ib_slice sl(const struct ib_buf *b)
{
	return (struct ib_slice){ b->ptr, b->len };
}

/* Encodes m, signs it as signer, emits it valid with m as its expected fields. */
static void valid(struct vg_out *o, int signer, const struct ib_msg *m, const char *comment,
		  const char *reqs, const char *flags)
{
	vg_encode(&msg, m);
	vg_sign(&frame, signer, signer, msg.ptr, msg.len);
	vg_emit(o, &(struct vg_vec){ .comment = comment, .reqs = reqs, .flags = flags,
				     .result = "valid", .intent = m }, &frame);
}

/* Signs the bytes in msg as signer and emits them with the given verdict. */
static void signed_invalid(struct vg_out *o, int signer, const char *comment, const char *reqs,
			   const char *flags, const char *reason, const char *error)
{
	vg_sign(&frame, signer, signer, msg.ptr, msg.len);
	vg_emit(o, &(struct vg_vec){ .comment = comment, .reqs = reqs, .flags = flags,
				     .result = "invalid", .reason = reason, .error = error },
		&frame);
}

/* The worked example of the spec's section 21, also used inside TRANSFER vectors. */
static struct ib_msg example_publish(void)
{
	struct ib_msg m = vg_msg(IB_MSG_PUBLISH, VG_T0, VG_EVERYONE);

	m.u.publish = (struct ib_publish){ VG_S("greeting"), 1, VG_S("hello, interbot") };
	return m;
}

static void valid_hop(struct vg_out *o)
{
	uint8_t path3[3 * IB_ID_LEN];
	struct ib_msg m;

	memcpy(path3, vg_id(CAROL)->b, IB_ID_LEN);
	memcpy(path3 + IB_ID_LEN, vg_id(BOB)->b, IB_ID_LEN);
	memcpy(path3 + 2 * IB_ID_LEN, vg_id(ALICE)->b, IB_ID_LEN);

	m = vg_msg(IB_MSG_HELLO, VG_T0 + 1, VG_EVERYONE);
	m.u.hello = (struct ib_hello){ IB_ROLE_SERVER, 30000, IB_MAX_MESSAGE_LIMIT, VG_S("alice"),
				       { 2, path3 + IB_ID_LEN } };
	valid(o, ALICE, &m, "HELLO from a server whose parent is bob", "FRAME-1 MSG-7", "");

	m = vg_msg(IB_MSG_HELLO, VG_T0 + 2, VG_EVERYONE);
	m.u.hello = (struct ib_hello){ IB_ROLE_CLIENT, 100, IB_MAX_MESSAGE_MIN, VG_S("c"),
				       { 1, path3 } };
	valid(o, CAROL, &m, "HELLO with every range at its lower bound", "MSG-7", "Boundary");

	m = vg_msg(IB_MSG_PATH, VG_T0 + 3, VG_EVERYONE);
	m.u.path = (struct ib_path){ 3, path3 };
	valid(o, ALICE, &m, "PATH carol, bob, alice", "MSG-7", "");

	m = vg_msg(IB_MSG_PING, VG_T0 + 4, VG_EVERYONE);
	m.u.ping.nonce = (struct ib_slice){ nonce64, IB_NONCE_MIN };
	valid(o, BOB, &m, "PING with the shortest nonce (16 bytes)", "MSG-7", "Boundary");

	m = vg_msg(IB_MSG_PING, VG_T0 + 5, VG_EVERYONE);
	m.u.ping.nonce = (struct ib_slice){ nonce64, IB_NONCE_MAX };
	valid(o, BOB, &m, "PING with the longest nonce (64 bytes)", "MSG-7", "Boundary");

	m = vg_msg(IB_MSG_PONG, VG_T0 + 6, VG_EVERYONE);
	m.u.ping.nonce = (struct ib_slice){ nonce64, 32 };
	valid(o, ALICE, &m, "PONG with a 32-byte nonce", "MSG-7", "");

	m = vg_msg(IB_MSG_ERROR, VG_T0 + 7, VG_EVERYONE);
	m.u.error = (struct ib_error_body){ IB_EC_LOOP_DETECTED, VG_S("you are in my path") };
	valid(o, BOB, &m, "ERROR loop_detected", "MSG-7", "");

	m = vg_msg(IB_MSG_ERROR, VG_T0 + 8, VG_EVERYONE);
	m.u.error = (struct ib_error_body){ 999, VG_S("") };
	valid(o, BOB, &m, "ERROR with an unknown code and an empty reason", "MSG-7", "");
}

static void valid_data(struct vg_out *o)
{
	static uint8_t big_value[VG_MAX_MESSAGE];
	char key255[256];
	struct ib_msg m, ex = example_publish();

	valid(o, ALICE, &ex, "PUBLISH: the worked example of spec section 21",
	      "FRAME-1 ID-1 ID-2 MSG-7", "WorkedExample");

	m = vg_msg(IB_MSG_PUBLISH, VG_T0 + 10, VG_EVERYONE);
	m.u.publish = (struct ib_publish){ VG_S("cl\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac"), 2,
					   VG_S("") };
	valid(o, BOB, &m, "PUBLISH with a multi-byte UTF-8 key and an empty value", "MSG-7 MSG-8",
	      "");

	memset(key255, 'k', 255);
	key255[255] = '\0';
	m = vg_msg(IB_MSG_PUBLISH, VG_T0 + 11, VG_EVERYONE);
	m.u.publish = (struct ib_publish){ { (const uint8_t *)key255, 255 }, UINT64_MAX,
					   VG_S("v") };
	valid(o, CAROL, &m, "PUBLISH with a 255-byte key and version 2^64-1", "MSG-7", "Boundary");

	m = vg_msg(IB_MSG_PUBLISH, 0, VG_EVERYONE);
	m.u.publish = (struct ib_publish){ VG_S("zero"), 1, VG_S("seq 0") };
	valid(o, ALICE, &m, "PUBLISH with seq 0", "MSG-7", "Boundary");

	/* 28 header + 1+4 key + 8 version + 3 length + value = max_message exactly. */
	memset(big_value, 0x5a, sizeof big_value);
	m = vg_msg(IB_MSG_PUBLISH, VG_T0 + 12, VG_EVERYONE);
	m.u.publish = (struct ib_publish){
		VG_S("blob"), 1, { big_value, VG_MAX_MESSAGE - IB_MSG_HEADER_LEN - 5 - 8 - 3 } };
	valid(o, ALICE, &m, "message_length equal to the receiver's max_message is accepted",
	      "FRAME-4", "Boundary");

	m = vg_msg(IB_MSG_QUERY, VG_T0 + 13, VG_EVERYONE);
	m.u.query = (struct ib_query){ 0x0123456789abcdefull, VG_S("greeting") };
	valid(o, CAROL, &m, "QUERY for greeting, to everyone", "MSG-7", "");

	m = vg_msg(IB_MSG_OFFER, VG_T0 + 14, CAROL);
	m.u.offer = (struct ib_offer){ 0x0123456789abcdefull, VG_S("greeting"), 1, *vg_id(ALICE) };
	valid(o, BOB, &m, "OFFER from bob to carol: version 1 written by alice", "MSG-7", "");

	m = vg_msg(IB_MSG_SELECT, VG_T0 + 15, BOB);
	m.u.select = (struct ib_select){ 0x0123456789abcdefull, VG_S("greeting"), 1 };
	valid(o, CAROL, &m, "SELECT bob for greeting version 1", "MSG-7", "");

	vg_encode(&msg, &ex);
	vg_sign(&tmp, ALICE, ALICE, msg.ptr, msg.len);
	m = vg_msg(IB_MSG_TRANSFER, VG_T0 + 16, CAROL);
	m.u.transfer = (struct ib_transfer){ 0x0123456789abcdefull, sl(&tmp) };
	vg_encode(&msg, &m);
	vg_sign(&frame, BOB, BOB, msg.ptr, msg.len);
	vg_emit(o, &(struct vg_vec){ .comment = "TRANSFER carrying alice's own PUBLISH frame",
				     .reqs = "MSG-7 ELECT-5", .flags = "", .result = "valid",
				     .intent = &m, .embedded_result = "valid" }, &frame);

	m = vg_msg(IB_MSG_TRANSFER, VG_T0 + 17, CAROL);
	m.u.transfer = (struct ib_transfer){ 0x0123456789abcdefull, VG_S("") };
	valid(o, BOB, &m, "TRANSFER with an empty frame: the holder has nothing", "MSG-7",
	      "");
}

static void valid_commands(struct vg_out *o)
{
	struct ib_msg m;

	m = vg_msg(IB_MSG_COMMAND, VG_NOW, VG_EVERYONE);
	m.u.command = (struct ib_command){ 1, VG_S("ib.ping"), VG_S("") };
	valid(o, ALICE, &m, "COMMAND ib.ping to everyone, no arguments", "MSG-7", "ClockDependent");

	ib_buf_reset(&tmp);
	if (ib_args_put(&tmp, VG_S("greeting")))
		vg_die("args", IB_ERR_NOMEM);
	m = vg_msg(IB_MSG_COMMAND, VG_NOW - 299000000ull, BOB);
	m.u.command = (struct ib_command){ 2, VG_S("ib.get"), sl(&tmp) };
	valid(o, ALICE, &m, "COMMAND ib.get greeting to bob, 299 s old: still fresh", "CMD-6 MSG-7",
	      "ClockDependent Boundary");

	m = vg_msg(IB_MSG_RESULT, VG_NOW + 1, ALICE);
	m.u.result = (struct ib_result){ 1, IB_STATUS_OK, VG_S("pong") };
	valid(o, BOB, &m, "RESULT ok, output pong", "MSG-7", "");

	m = vg_msg(IB_MSG_RESULT, VG_NOW + 2, ALICE);
	m.u.result = (struct ib_result){ 2, IB_STATUS_DENIED, VG_S("") };
	valid(o, BOB, &m, "RESULT denied", "MSG-7", "");

	m = vg_msg(IB_MSG_ANNOUNCE, VG_T0 + 20, VG_EVERYONE);
	m.u.announce = (struct ib_announce){ *vg_id(ALICE), IB_ROLE_CLIENT, VG_S("bob"),
					     VG_S("interbot-ref/0.1.0") };
	valid(o, BOB, &m, "ANNOUNCE bob linked under alice", "MSG-7", "");

	m = vg_msg(IB_MSG_ANNOUNCE, VG_T0 + 21, VG_EVERYONE);
	m.u.announce = (struct ib_announce){ { { 0 } }, IB_ROLE_SERVER, VG_S("carol"), VG_S("") };
	valid(o, CAROL, &m, "ANNOUNCE of a root (parent all zero), empty software", "MSG-7", "");

	m = vg_msg(IB_MSG_PARTED, VG_T0 + 22, VG_EVERYONE);
	m.u.parted = (struct ib_parted){ *vg_id(CAROL) };
	valid(o, ALICE, &m, "PARTED: alice lost her child carol", "MSG-7", "");
}

static void valid_extensions(struct vg_out *o)
{
	struct ib_msg m;

	m = vg_msg(0x40, VG_T0 + 30, VG_EVERYONE);
	m.body = VG_S("a body from a later version");
	valid(o, ALICE, &m, "unknown end-to-end type 0x40: forward it, do not act on it", "MSG-10",
	      "UnknownType");

	m = vg_msg(0x7f, VG_T0 + 31, BOB);
	m.body = VG_S("");
	valid(o, ALICE, &m, "unknown end-to-end type 0x7f, directed, empty body", "MSG-10",
	      "UnknownType Boundary");

	m = vg_msg(0x06, VG_T0 + 32, VG_EVERYONE);
	m.body = VG_S("hop");
	valid(o, ALICE, &m, "unassigned hop-local type 0x06: ignore it", "MSG-9", "UnknownHopType");

	m = example_publish();
	m.h.seq = VG_T0 + 33;
	m.h.flags = 0x8001;
	valid(o, ALICE, &m, "PUBLISH with flags 0x8001: ignored, kept", "MSG-4", "FlagsIgnored");
}

/* The envelope: signature length, origin, signature (spec section 5). */
static void invalid_envelope(struct vg_out *o)
{
	struct ib_msg m = example_publish();
	uint8_t sig[IB_SIG_LEN];
	static uint8_t long_sig[65535];
	struct vg_vec v = { .result = "invalid", .reason = "bad_signature",
			    .error = "bad_signature", .flags = "" };

	vg_encode(&msg, &m);
	if (ib_identity_sign(vg_keys[ALICE].id, msg.ptr, msg.len, sig))
		vg_die("sign", IB_ERR_CRYPTO);

	/* Signatures over the wrong bytes. */
	ib_buf_reset(&tmp);
	ib_buf_put(&tmp, vg_id(ALICE)->b, IB_ID_LEN);
	ib_buf_put(&tmp, msg.ptr, msg.len);
	{
		uint8_t wrong[IB_SIG_LEN];

		ib_identity_sign(vg_keys[ALICE].id, tmp.ptr, tmp.len, wrong);
		vg_raw_frame(&frame, vg_id(ALICE), IB_SIG_LEN, wrong, IB_SIG_LEN, (uint32_t)msg.len,
			     msg.ptr, msg.len);
		v.comment = "signature over id_bot || message instead of the message";
		v.reqs = "FRAME-1 FRAME-6";
		vg_emit(o, &v, &frame);

		ib_identity_sign(vg_keys[ALICE].id, msg.ptr + IB_MSG_HEADER_LEN,
				 msg.len - IB_MSG_HEADER_LEN, wrong);
		vg_raw_frame(&frame, vg_id(ALICE), IB_SIG_LEN, wrong, IB_SIG_LEN, (uint32_t)msg.len,
			     msg.ptr, msg.len);
		v.comment = "signature over the body only, without the 28-byte header";
		vg_emit(o, &v, &frame);
	}

	/* One bit flipped in each part. */
	sig[0] ^= 0x01;
	vg_raw_frame(&frame, vg_id(ALICE), IB_SIG_LEN, sig, IB_SIG_LEN, (uint32_t)msg.len, msg.ptr,
		     msg.len);
	v.comment = "bit 0 of the signature's first byte flipped (R)";
	v.reqs = "FRAME-6";
	vg_emit(o, &v, &frame);
	sig[0] ^= 0x01;

	sig[40] ^= 0x10;
	vg_raw_frame(&frame, vg_id(ALICE), IB_SIG_LEN, sig, IB_SIG_LEN, (uint32_t)msg.len, msg.ptr,
		     msg.len);
	v.comment = "one bit of the signature's S half flipped";
	vg_emit(o, &v, &frame);
	sig[40] ^= 0x10;

	msg.ptr[11] ^= 0x01;
	vg_raw_frame(&frame, vg_id(ALICE), IB_SIG_LEN, sig, IB_SIG_LEN, (uint32_t)msg.len, msg.ptr,
		     msg.len);
	v.comment = "one bit of the message's seq flipped after signing";
	v.reqs = "FRAME-1 FRAME-6";
	vg_emit(o, &v, &frame);
	msg.ptr[11] ^= 0x01;

	msg.ptr[msg.len - 1] ^= 0x20;
	vg_raw_frame(&frame, vg_id(ALICE), IB_SIG_LEN, sig, IB_SIG_LEN, (uint32_t)msg.len, msg.ptr,
		     msg.len);
	v.comment = "one bit of the message's last byte flipped after signing";
	vg_emit(o, &v, &frame);
	msg.ptr[msg.len - 1] ^= 0x20;

	/* Non-canonical: S + L verifies with a lax implementation, not with RFC 8032. */
	{
		uint8_t nc[IB_SIG_LEN];
		unsigned carry = 0;

		memcpy(nc, sig, sizeof nc);
		for (int i = 0; i < 32; i++) {
			unsigned s = nc[32 + i] + ed25519_l[i] + carry;

			nc[32 + i] = (uint8_t)s;
			carry = s >> 8;
		}
		vg_raw_frame(&frame, vg_id(ALICE), IB_SIG_LEN, nc, IB_SIG_LEN, (uint32_t)msg.len,
			     msg.ptr, msg.len);
		v.comment = "non-canonical signature: S + L in place of S";
		v.reqs = "FRAME-6";
		v.flags = "NonCanonicalS";
		vg_emit(o, &v, &frame);
		v.flags = "";
	}

	/* The id_bot of bob, signed by alice. */
	vg_raw_frame(&frame, vg_id(BOB), IB_SIG_LEN, sig, IB_SIG_LEN, (uint32_t)msg.len, msg.ptr,
		     msg.len);
	v.comment = "names bob as origin, signed by alice: verify with bob's key";
	v.reqs = "FRAME-6 ID-3";
	/* cppcheck-suppress redundantAssignment ; each vector's flags are cleared after it */
	v.flags = "WrongKey";
	vg_emit(o, &v, &frame);
	v.flags = "";

	vg_raw_frame(&frame, vg_id(ALICE), IB_SIG_LEN, sig, IB_SIG_LEN, (uint32_t)msg.len, msg.ptr,
		     msg.len);
	frame.ptr[0] ^= 0x80;
	vg_emit(o, &(struct vg_vec){ .comment = "one bit of id_bot flipped: no such origin",
				     .reqs = "FRAME-5", .flags = "", .result = "invalid",
				     .reason = "unknown_origin", .error = "unknown_origin" },
		&frame);

	vg_sign(&frame, DAVE, DAVE, msg.ptr, msg.len);
	vg_emit(o, &(struct vg_vec){ .comment = "well signed by dave, who is not in the keyring",
				     .reqs = "FRAME-5", .flags = "", .result = "invalid",
				     .reason = "unknown_origin", .error = "unknown_origin" },
		&frame);

	/* signature_length other than 64: still delimits the frame. */
	{
		static const struct {
			uint16_t len;
			const char *comment;
		} lens[] = {
			{ 0, "signature_length 0, no signature bytes" },
			{ 63, "signature_length 63: the signature without its last byte" },
			{ 65, "signature_length 65: the signature and one more byte" },
			{ 65535, "signature_length 65535: the signature padded with zeros" },
		};

		memcpy(long_sig, sig, IB_SIG_LEN);
		for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
			vg_raw_frame(&frame, vg_id(ALICE), lens[i].len, long_sig, lens[i].len,
				     (uint32_t)msg.len, msg.ptr, msg.len);
			vg_emit(o, &(struct vg_vec){ .comment = lens[i].comment,
						     .reqs = "FRAME-3", .flags = "Boundary",
						     .result = "invalid",
						     .reason = "bad_signature_length",
						     .error = "bad_signature_length" },
				&frame);
		}
	}

	/* message_length above max_message: decided from the header alone. */
	vg_raw_frame(&frame, vg_id(ALICE), IB_SIG_LEN, sig, 0, VG_MAX_MESSAGE + 1, NULL, 0);
	vg_emit(o, &(struct vg_vec){ .comment = "message_length max_message + 1, header only",
				     .reqs = "FRAME-4", .flags = "HeaderOnly Boundary",
				     .result = "link_error", .reason = "too_big",
				     .error = "too_big" }, &frame);
	vg_raw_frame(&frame, vg_id(ALICE), IB_SIG_LEN, sig, 0, 0xffffff, NULL, 0);
	vg_emit(o, &(struct vg_vec){ .comment = "message_length 16777215, header only",
				     .reqs = "FRAME-4", .flags = "HeaderOnly",
				     .result = "link_error", .reason = "too_big",
				     .error = "too_big" }, &frame);
	vg_raw_frame(&frame, vg_id(DAVE), 63, sig, 0, VG_MAX_MESSAGE + 1, NULL, 0);
	vg_emit(o, &(struct vg_vec){ .comment = "too big, unknown origin and signature_length 63 "
						"at once: the length is checked first",
				     .reqs = "FRAME-4 FRAME-8", .flags = "HeaderOnly",
				     .result = "link_error", .reason = "too_big",
				     .error = "too_big" }, &frame);
	vg_raw_frame(&frame, vg_id(DAVE), 63, sig, 63, (uint32_t)msg.len, msg.ptr, msg.len);
	vg_emit(o, &(struct vg_vec){ .comment = "unknown origin and signature_length 63: the "
						"signature length is checked first",
				     .reqs = "FRAME-3 FRAME-8", .flags = "",
				     .result = "invalid", .reason = "bad_signature_length",
				     .error = "bad_signature_length" }, &frame);
}

/* Header faults: version, reserved types, hop-local with dest, short messages. */
static void invalid_header(struct vg_out *o)
{
	static const struct {
		uint8_t version, type;
		int dest;
		const char *comment, *reqs, *reason, *error;
	} cases[] = {
		{ 2, IB_MSG_PUBLISH, VG_EVERYONE, "message version 2", "MSG-1",
		  "unsupported_version", "unsupported_version" },
		{ 0, IB_MSG_PUBLISH, VG_EVERYONE, "message version 0", "MSG-1",
		  "unsupported_version", "unsupported_version" },
		{ 1, 0x00, VG_EVERYONE, "reserved type 0x00", "MSG-3", "reserved_type",
		  "reserved_type" },
		{ 1, 0x80, VG_EVERYONE, "reserved type 0x80", "MSG-3", "reserved_type",
		  "reserved_type" },
		{ 1, 0xff, VG_EVERYONE, "reserved type 0xff", "MSG-3", "reserved_type",
		  "reserved_type" },
		{ 1, IB_MSG_PING, BOB, "PING (hop-local) with dest set", "MSG-6", "malformed",
		  "hop_dest" },
		{ 1, 0x0f, BOB, "unassigned hop-local type 0x0f with dest set", "MSG-6",
		  "malformed", "hop_dest" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (cases[i].type == IB_MSG_PUBLISH) {
			/* A whole, valid PUBLISH but for its version, so that a receiver that
			 * ignores the version takes it ([MSG-1] is the only fault). */
			struct ib_msg m = vg_msg(IB_MSG_PUBLISH, VG_T0 + 40 + i, cases[i].dest);

			m.u.publish = (struct ib_publish){ VG_S("greeting"), 1, VG_S("hello") };
			ib_buf_reset(&msg);
			if (ib_msg_encode(&msg, &m) != IB_OK)
				vg_die("version vector", 0);
			msg.ptr[0] = cases[i].version;
		} else {
			vg_header(&msg, cases[i].version, cases[i].type, VG_T0 + 40 + i,
				  cases[i].dest);
			ib_buf_put_u8(&msg, 16);
			ib_buf_put(&msg, nonce64, 16);
		}
		signed_invalid(o, ALICE, cases[i].comment, cases[i].reqs, "", cases[i].reason,
			       cases[i].error);
	}

	vg_header(&msg, 1, IB_MSG_PUBLISH, VG_T0 + 50, VG_EVERYONE);
	msg.len = IB_MSG_HEADER_LEN - 1;
	signed_invalid(o, ALICE, "message of 27 bytes, shorter than its header", "MSG-2",
		       "Boundary", "malformed", "truncated");
	msg.len = 0;
	signed_invalid(o, ALICE, "empty message", "MSG-2", "Boundary", "malformed", "truncated");
}

/* Each known type cut by one byte at its end, and signed as it is. */
static void invalid_truncated(struct vg_out *o)
{
	static const uint8_t path1[IB_ID_LEN] = { 1 };
	struct ib_msg ms[14];
	char comment[96];
	int n = 0;

	ms[n] = vg_msg(IB_MSG_HELLO, 0, VG_EVERYONE);
	ms[n++].u.hello = (struct ib_hello){ 1, 30000, IB_MAX_MESSAGE_MIN, VG_S("a"), { 1, path1 } };
	ms[n] = vg_msg(IB_MSG_PATH, 0, VG_EVERYONE);
	ms[n++].u.path = (struct ib_path){ 1, path1 };
	ms[n] = vg_msg(IB_MSG_PING, 0, VG_EVERYONE);
	ms[n++].u.ping.nonce = (struct ib_slice){ nonce64, 16 };
	ms[n] = vg_msg(IB_MSG_PONG, 0, VG_EVERYONE);
	ms[n++].u.ping.nonce = (struct ib_slice){ nonce64, 16 };
	ms[n] = vg_msg(IB_MSG_ERROR, 0, VG_EVERYONE);
	ms[n++].u.error = (struct ib_error_body){ 1, VG_S("x") };
	ms[n] = vg_msg(IB_MSG_PUBLISH, 0, VG_EVERYONE);
	ms[n++].u.publish = (struct ib_publish){ VG_S("k"), 1, VG_S("v") };
	ms[n] = vg_msg(IB_MSG_QUERY, 0, VG_EVERYONE);
	ms[n++].u.query = (struct ib_query){ 7, VG_S("k") };
	ms[n] = vg_msg(IB_MSG_OFFER, 0, ALICE);
	ms[n++].u.offer = (struct ib_offer){ 7, VG_S("k"), 1, *vg_id(BOB) };
	ms[n] = vg_msg(IB_MSG_SELECT, 0, BOB);
	ms[n++].u.select = (struct ib_select){ 7, VG_S("k"), 1 };
	ms[n] = vg_msg(IB_MSG_TRANSFER, 0, ALICE);
	ms[n++].u.transfer = (struct ib_transfer){ 7, VG_S("") };
	ms[n] = vg_msg(IB_MSG_COMMAND, 0, VG_EVERYONE);
	ms[n++].u.command = (struct ib_command){ 7, VG_S("ib.ping"), VG_S("") };
	ms[n] = vg_msg(IB_MSG_RESULT, 0, ALICE);
	ms[n++].u.result = (struct ib_result){ 7, 0, VG_S("") };
	ms[n] = vg_msg(IB_MSG_ANNOUNCE, 0, VG_EVERYONE);
	ms[n++].u.announce = (struct ib_announce){ *vg_id(BOB), 1, VG_S("a"), VG_S("") };
	ms[n] = vg_msg(IB_MSG_PARTED, 0, VG_EVERYONE);
	ms[n++].u.parted = (struct ib_parted){ *vg_id(CAROL) };

	for (int i = 0; i < n; i++) {
		ms[i].h.seq = VG_T0 + 60 + (uint64_t)i;
		vg_encode(&msg, &ms[i]);
		msg.len--;
		snprintf(comment, sizeof comment, "%s body one byte short",
			 ib_msg_type_name(ms[i].h.type));
		signed_invalid(o, ALICE, comment, "MSG-7", "", "malformed", "truncated");
	}

	vg_encode(&msg, &ms[5]);
	ib_buf_put_u8(&msg, 0);
	signed_invalid(o, ALICE, "PUBLISH with one byte after its last field", "MSG-7", "",
		       "malformed", "trailing");
	vg_encode(&msg, &ms[0]);
	ib_buf_put_u8(&msg, 0);
	signed_invalid(o, ALICE, "HELLO with one byte after its last field", "MSG-7", "",
		       "malformed", "trailing");

	vg_header(&msg, 1, IB_MSG_PUBLISH, VG_T0 + 80, VG_EVERYONE);
	ib_buf_put_u8(&msg, 200);
	ib_buf_put(&msg, "abc", 3);
	signed_invalid(o, ALICE, "PUBLISH key length 200 with 3 bytes left", "MSG-7", "",
		       "malformed", "truncated");

	vg_header(&msg, 1, IB_MSG_PUBLISH, VG_T0 + 81, VG_EVERYONE);
	ib_buf_put_u8(&msg, 1);
	ib_buf_put(&msg, "k", 1);
	ib_buf_put_u64(&msg, 1);
	ib_buf_put_u24(&msg, 10);
	ib_buf_put(&msg, "short", 5);
	signed_invalid(o, ALICE, "PUBLISH value length 10 with 5 bytes left", "MSG-7", "",
		       "malformed", "truncated");
}

/* Strings that are not UTF-8, or hold NUL ([MSG-8]). */
static void invalid_strings(struct vg_out *o)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *comment;
	} bad[] = {
		{ "\xc0\xaf", 2, "PUBLISH key with an overlong '/' (c0 af)" },
		{ "a\0b", 3, "PUBLISH key holding U+0000" },
		{ "\xed\xa0\x80", 3, "PUBLISH key with a UTF-16 surrogate (ed a0 80)" },
		{ "\xf4\x90\x80\x80", 4, "PUBLISH key above U+10FFFF (f4 90 80 80)" },
		{ "ok\xe6\x97", 4, "PUBLISH key ending inside a 3-byte sequence" },
		{ "\x80", 1, "PUBLISH key starting with a continuation byte" },
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		vg_header(&msg, 1, IB_MSG_PUBLISH, VG_T0 + 90 + i, VG_EVERYONE);
		ib_buf_put_u8(&msg, (uint8_t)bad[i].len);
		ib_buf_put(&msg, bad[i].bytes, bad[i].len);
		ib_buf_put_u64(&msg, 1);
		ib_buf_put_u24(&msg, 0);
		signed_invalid(o, ALICE, bad[i].comment, "MSG-8", "", "malformed", "bad_string");
	}
}

/* Field values outside their ranges: written byte by byte, since the encoder refuses them. */
static void invalid_ranges(struct vg_out *o)
{
	static const char *const why = "BodyRange";
	uint64_t seq = VG_T0 + 100;

#define HELLO_BODY(role, ka, max, namelen, pathcount)                                         \
	do {                                                                                   \
		vg_header(&msg, 1, IB_MSG_HELLO, seq++, VG_EVERYONE);                          \
		ib_buf_put_u8(&msg, (role));                                                   \
		ib_buf_put_u32(&msg, (ka));                                                    \
		ib_buf_put_u32(&msg, (max));                                                   \
		ib_buf_put_u8(&msg, (namelen));                                                \
		ib_buf_put(&msg, "alice", (namelen));                                          \
		ib_buf_put_u8(&msg, (pathcount));                                              \
		for (int p_ = 0; p_ < (pathcount); p_++)                                       \
			ib_buf_put(&msg, vg_id(ALICE)->b, IB_ID_LEN);                          \
	} while (0)

	HELLO_BODY(0, 30000, IB_MAX_MESSAGE_MIN, 5, 1);
	signed_invalid(o, ALICE, "HELLO role 0", "MSG-7", why, "malformed", "range");
	HELLO_BODY(3, 30000, IB_MAX_MESSAGE_MIN, 5, 1);
	signed_invalid(o, ALICE, "HELLO role 3", "MSG-7", why, "malformed", "range");
	HELLO_BODY(1, 99, IB_MAX_MESSAGE_MIN, 5, 1);
	signed_invalid(o, ALICE, "HELLO keepalive_interval_ms 99", "MSG-7", why, "malformed",
		       "range");
	HELLO_BODY(1, 3600001, IB_MAX_MESSAGE_MIN, 5, 1);
	signed_invalid(o, ALICE, "HELLO keepalive_interval_ms 3600001", "MSG-7", why, "malformed",
		       "range");
	HELLO_BODY(1, 30000, IB_MAX_MESSAGE_MIN - 1, 5, 1);
	signed_invalid(o, ALICE, "HELLO max_message 65535", "MSG-7", why, "malformed", "range");
	HELLO_BODY(1, 30000, 0x1000000, 5, 1);
	signed_invalid(o, ALICE, "HELLO max_message 16777216", "MSG-7", why, "malformed", "range");
	HELLO_BODY(1, 30000, IB_MAX_MESSAGE_MIN, 0, 1);
	signed_invalid(o, ALICE, "HELLO with an empty name", "MSG-7", why, "malformed", "range");
	HELLO_BODY(1, 30000, IB_MAX_MESSAGE_MIN, 5, 0);
	signed_invalid(o, ALICE, "HELLO with an empty path", "MSG-7", why, "malformed", "range");
#undef HELLO_BODY

	vg_header(&msg, 1, IB_MSG_PATH, seq++, VG_EVERYONE);
	ib_buf_put_u8(&msg, 0);
	signed_invalid(o, ALICE, "PATH with no element", "MSG-7", why, "malformed", "range");

	vg_header(&msg, 1, IB_MSG_PING, seq++, VG_EVERYONE);
	ib_buf_put_u8(&msg, 15);
	ib_buf_put(&msg, nonce64, 15);
	signed_invalid(o, ALICE, "PING nonce of 15 bytes", "MSG-7", why, "malformed", "range");
	vg_header(&msg, 1, IB_MSG_PONG, seq++, VG_EVERYONE);
	ib_buf_put_u8(&msg, 65);
	ib_buf_put(&msg, nonce64, 64);
	ib_buf_put_u8(&msg, 64);
	signed_invalid(o, ALICE, "PONG nonce of 65 bytes", "MSG-7", why, "malformed", "range");

	vg_header(&msg, 1, IB_MSG_PUBLISH, seq++, VG_EVERYONE);
	ib_buf_put_u8(&msg, 1);
	ib_buf_put(&msg, "k", 1);
	ib_buf_put_u64(&msg, 0);
	ib_buf_put_u24(&msg, 0);
	signed_invalid(o, ALICE, "PUBLISH version 0", "MSG-7", why, "malformed", "range");

	vg_header(&msg, 1, IB_MSG_PUBLISH, seq++, VG_EVERYONE);
	ib_buf_put_u8(&msg, 0);
	ib_buf_put_u64(&msg, 1);
	ib_buf_put_u24(&msg, 0);
	signed_invalid(o, ALICE, "PUBLISH with an empty key", "MSG-7", why, "malformed", "range");

	vg_header(&msg, 1, IB_MSG_QUERY, seq++, VG_EVERYONE);
	ib_buf_put_u64(&msg, 7);
	ib_buf_put_u8(&msg, 0);
	signed_invalid(o, ALICE, "QUERY with an empty key", "MSG-7", why, "malformed", "range");

	vg_header(&msg, 1, IB_MSG_COMMAND, VG_NOW, VG_EVERYONE);
	ib_buf_put_u64(&msg, 7);
	ib_buf_put_u8(&msg, 0);
	ib_buf_put_u24(&msg, 0);
	signed_invalid(o, ALICE, "COMMAND with an empty name", "MSG-7", why, "malformed", "range");

	vg_header(&msg, 1, IB_MSG_ANNOUNCE, seq++, VG_EVERYONE);
	ib_buf_put(&msg, vg_id(BOB)->b, IB_ID_LEN);
	ib_buf_put_u8(&msg, 3);
	ib_buf_put_u8(&msg, 1);
	ib_buf_put(&msg, "a", 1);
	ib_buf_put_u8(&msg, 0);
	signed_invalid(o, ALICE, "ANNOUNCE role 3", "MSG-7", why, "malformed", "range");
}

/* TRANSFER: what it carries, and how. */
static void invalid_transfer(struct vg_out *o)
{
	struct ib_msg ex = example_publish(), m;
	struct ib_buf inner = { 0 };

	vg_encode(&tmp, &ex);
	vg_sign(&inner, ALICE, ALICE, tmp.ptr, tmp.len);

	inner.ptr[IB_FRAME_HEADER_LEN + 5] ^= 0x04;       /* a bit of the inner signature */
	m = vg_msg(IB_MSG_TRANSFER, VG_T0 + 120, CAROL);
	m.u.transfer = (struct ib_transfer){ 9, sl(&inner) };
	vg_encode(&msg, &m);
	vg_sign(&frame, BOB, BOB, msg.ptr, msg.len);
	vg_emit(o, &(struct vg_vec){ .comment = "TRANSFER whose embedded PUBLISH has a bad "
						"signature: relays forward it, the requester "
						"rejects the content",
				     .reqs = "ELECT-5", .flags = "EmbeddedInvalid",
				     .result = "valid", .intent = &m,
				     .embedded_result = "invalid",
				     .embedded_reason = "bad_signature" }, &frame);
	inner.ptr[IB_FRAME_HEADER_LEN + 5] ^= 0x04;

	m = vg_msg(IB_MSG_QUERY, VG_T0 + 121, VG_EVERYONE);
	m.u.query = (struct ib_query){ 9, VG_S("greeting") };
	vg_encode(&msg, &m);
	vg_sign(&tmp, ALICE, ALICE, msg.ptr, msg.len);
	m = vg_msg(IB_MSG_TRANSFER, VG_T0 + 122, CAROL);
	m.u.transfer = (struct ib_transfer){ 9, sl(&tmp) };
	vg_encode(&msg, &m);
	vg_sign(&frame, BOB, BOB, msg.ptr, msg.len);
	vg_emit(o, &(struct vg_vec){ .comment = "TRANSFER carrying a well-signed QUERY instead of "
						"a PUBLISH",
				     .reqs = "ELECT-5", .flags = "EmbeddedInvalid",
				     .result = "valid", .intent = &m,
				     .embedded_result = "invalid",
				     .embedded_reason = "malformed" }, &frame);

	/* The blob holds the inner frame less its last byte: lengths do not add up. */
	vg_header(&msg, 1, IB_MSG_TRANSFER, VG_T0 + 123, CAROL);
	ib_buf_put_u64(&msg, 9);
	ib_buf_put_u24(&msg, (uint32_t)inner.len - 1);
	ib_buf_put(&msg, inner.ptr, inner.len - 1);
	signed_invalid(o, BOB, "TRANSFER whose blob is one byte shorter than its frame", "MSG-7",
		       "", "malformed", "truncated");

	vg_header(&msg, 1, IB_MSG_TRANSFER, VG_T0 + 124, CAROL);
	ib_buf_put_u64(&msg, 9);
	ib_buf_put_u24(&msg, (uint32_t)inner.len + 1);
	ib_buf_put(&msg, inner.ptr, inner.len);
	ib_buf_put_u8(&msg, 0);
	signed_invalid(o, BOB, "TRANSFER whose blob has a byte after its frame", "MSG-7", "",
		       "malformed", "trailing");
	ib_buf_free(&inner);
}

/* [CMD-6] COMMAND freshness against the receiver's clock. */
static void invalid_stale(struct vg_out *o)
{
	struct ib_msg m;

	m = vg_msg(IB_MSG_COMMAND, VG_NOW - 301000000ull, VG_EVERYONE);
	m.u.command = (struct ib_command){ 3, VG_S("ib.ping"), VG_S("") };
	vg_encode(&msg, &m);
	signed_invalid(o, ALICE, "COMMAND 301 s older than the receiver's clock", "CMD-6",
		       "ClockDependent", "stale_command", "stale_command");

	m.h.seq = VG_NOW + 301000000ull;
	vg_encode(&msg, &m);
	signed_invalid(o, ALICE, "COMMAND 301 s ahead of the receiver's clock", "CMD-6",
		       "ClockDependent", "stale_command", "stale_command");
}

/* [FRAME-9] Signatures that verify with a lax Ed25519 and not with the spec's rule: an R of
 * small order, not canonical, or with a part of order 8 that only the cofactored equation
 * ignores. Each S is the one that satisfies the equation for its R. */
static void invalid_ed25519(struct vg_out *o)
{
	/* The identity, canonical; with its sign bit (x = 0); as y = p + 1. A point of order 8. */
	static const uint8_t identity[32] = { 0x01 };
	static const uint8_t identity_sign[32] = { 0x01, [31] = 0x80 };
	static const uint8_t identity_p1[32] = {
		0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0x7f,
	};
	static const uint8_t order8[32] = {
		0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10,
		0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77,
		0x92, 0xac, 0x03, 0x7a,
	};
	static const uint8_t nonce_secret[IB_SECRET_LEN] = "interbot vector nonce, FRAME-9 ";
	static const struct {
		const uint8_t *r;
		const char *comment, *flags;
	} small[] = {
		{ identity, "R is the identity (the signer's nonce is 0), S = k a", "SmallOrderR" },
		{ identity_sign, "R is the identity with its sign bit set (x = 0), S = k a",
		  "SmallOrderR NonCanonicalR" },
		{ identity_p1, "R is the identity written y = p + 1, S = k a",
		  "SmallOrderR NonCanonicalR" },
		{ order8, "R is a point of order 8, S = k a", "SmallOrderR CofactoredOnly" },
	};
	uint8_t sig[IB_SIG_LEN], mixed[32], r[32];
	struct ib_msg m;
	size_t i;

	for (i = 0; i < sizeof small / sizeof small[0]; i++) {
		m = example_publish();
		m.h.seq = VG_T0 + 130 + i;
		vg_encode(&msg, &m);
		vg_sign_with_r(ALICE, small[i].r, NULL, msg.ptr, msg.len, sig);
		vg_raw_frame(&frame, vg_id(ALICE), IB_SIG_LEN, sig, IB_SIG_LEN, (uint32_t)msg.len,
			     msg.ptr, msg.len);
		vg_emit(o, &(struct vg_vec){ .comment = small[i].comment, .reqs = "FRAME-9 FRAME-6",
					     .flags = small[i].flags, .result = "invalid",
					     .reason = "bad_signature", .error = "bad_signature" },
			&frame);
	}
	m = example_publish();
	m.h.seq = VG_T0 + 130 + i;
	vg_encode(&msg, &m);
	vg_mixed_r(nonce_secret, order8, mixed, r);
	vg_sign_with_r(ALICE, mixed, r, msg.ptr, msg.len, sig);
	vg_raw_frame(&frame, vg_id(ALICE), IB_SIG_LEN, sig, IB_SIG_LEN, (uint32_t)msg.len, msg.ptr,
		     msg.len);
	vg_emit(o, &(struct vg_vec){ .comment = "R = [r]B plus a point of order 8, S = r + k a: "
						"the cofactorless equation fails",
				     .reqs = "FRAME-9 FRAME-6", .flags = "CofactoredOnly",
				     .result = "invalid", .reason = "bad_signature",
				     .error = "bad_signature" }, &frame);
}

/* [MSG-11] The four directed types with dest all zero, their bodies valid. */
static void invalid_undirected(struct vg_out *o)
{
	struct ib_msg ms[4];
	int n = 0;

	ms[n] = vg_msg(IB_MSG_OFFER, VG_T0 + 140, VG_EVERYONE);
	ms[n++].u.offer = (struct ib_offer){ 0x0123456789abcdefull, VG_S("greeting"), 1,
					     *vg_id(ALICE) };
	ms[n] = vg_msg(IB_MSG_SELECT, VG_T0 + 141, VG_EVERYONE);
	ms[n++].u.select = (struct ib_select){ 0x0123456789abcdefull, VG_S("greeting"), 1 };
	ms[n] = vg_msg(IB_MSG_TRANSFER, VG_T0 + 142, VG_EVERYONE);
	ms[n++].u.transfer = (struct ib_transfer){ 0x0123456789abcdefull, VG_S("") };
	ms[n] = vg_msg(IB_MSG_RESULT, VG_T0 + 143, VG_EVERYONE);
	ms[n++].u.result = (struct ib_result){ 1, IB_STATUS_OK, VG_S("pong") };
	for (int i = 0; i < n; i++) {
		char comment[96];

		snprintf(comment, sizeof comment, "%s to everyone (dest all zero): it answers one "
			 "node", ib_msg_type_name(ms[i].h.type));
		vg_encode(&msg, &ms[i]);
		signed_invalid(o, i == 1 ? CAROL : BOB, comment, "MSG-11", "", "malformed",
			       "no_dest");
	}
}

/* Section 7.9: a relay checks that the embedded frame's lengths add up, and nothing more. */
static void transfer_lengths(struct vg_out *o)
{
	struct ib_msg ex = example_publish(), m;
	struct ib_buf inner = { 0 };
	uint8_t sig[IB_SIG_LEN];

	vg_header(&msg, 1, IB_MSG_TRANSFER, VG_T0 + 150, CAROL);
	ib_buf_put_u64(&msg, 9);
	ib_buf_put_u24(&msg, IB_FRAME_HEADER_LEN - 1);
	ib_buf_put(&msg, vg_id(ALICE)->b, IB_ID_LEN);
	ib_buf_put(&msg, "\x00\x40\x00\x00", IB_FRAME_HEADER_LEN - 1 - IB_ID_LEN);
	signed_invalid(o, BOB, "TRANSFER whose frame is 20 bytes, shorter than a frame header",
		       "MSG-7", "", "malformed", "truncated");

	/* signature_length 63, lengths that add up: well formed for relays. */
	vg_encode(&tmp, &ex);
	if (ib_identity_sign(vg_keys[ALICE].id, tmp.ptr, tmp.len, sig))
		vg_die("sign", IB_ERR_CRYPTO);
	vg_raw_frame(&inner, vg_id(ALICE), IB_SIG_LEN - 1, sig, IB_SIG_LEN - 1, (uint32_t)tmp.len,
		     tmp.ptr, tmp.len);
	m = vg_msg(IB_MSG_TRANSFER, VG_T0 + 151, CAROL);
	m.u.transfer = (struct ib_transfer){ 9, sl(&inner) };
	vg_encode(&msg, &m);
	vg_sign(&frame, BOB, BOB, msg.ptr, msg.len);
	vg_emit(o, &(struct vg_vec){ .comment = "TRANSFER whose embedded frame has "
						"signature_length 63: relays forward it, the "
						"requester rejects the content",
				     .reqs = "MSG-7 ELECT-5", .flags = "EmbeddedInvalid",
				     .result = "valid", .intent = &m,
				     .embedded_result = "invalid",
				     .embedded_reason = "bad_signature_length" }, &frame);
	ib_buf_free(&inner);
}

void vg_frames(struct vg_out *o)
{
	valid_data(o);
	valid_hop(o);
	valid_commands(o);
	valid_extensions(o);
	invalid_envelope(o);
	invalid_header(o);
	invalid_truncated(o);
	invalid_strings(o);
	invalid_ranges(o);
	invalid_transfer(o);
	invalid_stale(o);
	/* Issue 12: appended, so that the earlier vectors keep their tcId. */
	invalid_undirected(o);
	transfer_lengths(o);
	invalid_ed25519(o);
	ib_buf_free(&msg);
	ib_buf_free(&frame);
	ib_buf_free(&tmp);
}
