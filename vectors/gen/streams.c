/*
 * streams.c - vectors/streams.json: the bytes of one link, split into reads, with the verdict
 * on each frame in order. They test what frames alone cannot: frame boundaries in any split
 * ([FRAME-2]), a decoder that goes on after a dropped frame, the anti-replay window
 * ([FLOOD-3], [FLOOD-4]) and a verifier that keeps no state between origins.
 */
#include "vecgen.h"

#include <string.h>

struct outcome {
	const char *result;
	const char *reason;
};

#define VALID { "valid", NULL }
#define INVALID(r) { "invalid", r }
#define LINK_ERROR(r) { "link_error", r }

/* Appends one frame of `signer`'s message, named as `named_as`, to out. */
static void put_frame(struct ib_buf *out, int signer, int named_as, const struct ib_msg *m)
{
	struct ib_buf msg = { 0 }, frame = { 0 };

	vg_encode(&msg, m);
	vg_sign(&frame, signer, named_as, msg.ptr, msg.len);
	if (ib_buf_put(out, frame.ptr, frame.len))
		vg_die("stream", IB_ERR_NOMEM);
	ib_buf_free(&msg);
	ib_buf_free(&frame);
}

static struct ib_msg publish(uint64_t seq)
{
	struct ib_msg m = vg_msg(IB_MSG_PUBLISH, seq, VG_EVERYONE);

	m.u.publish = (struct ib_publish){ VG_S("s"), 1, VG_S("stream") };
	return m;
}

static struct ib_msg announce(uint64_t seq)
{
	struct ib_msg m = vg_msg(IB_MSG_ANNOUNCE, seq, VG_EVERYONE);

	m.u.announce = (struct ib_announce){ *vg_id(ALICE), IB_ROLE_SERVER, VG_S("bob"),
					     VG_S("interbot-ref/0.1.0") };
	return m;
}

static struct ib_msg parted(uint64_t seq)
{
	struct ib_msg m = vg_msg(IB_MSG_PARTED, seq, VG_EVERYONE);

	m.u.parted = (struct ib_parted){ *vg_id(BOB) };
	return m;
}

/* Emits the stream: bytes cut at the given offsets (ascending; repeats make empty reads). */
static void emit(struct vg_out *o, const char *comment, const char *reqs, const struct ib_buf *b,
		 const size_t *cuts, size_t ncuts, const struct outcome *exp, size_t nexp,
		 const char *end)
{
	json_t *chunks = json_array(), *expected = json_array(), *e;
	size_t from = 0;
	int tc = ++o->next_tc;

	for (size_t i = 0; i <= ncuts; i++) {
		/* cppcheck-suppress nullPointer ; cuts may be NULL only when ncuts is 0 */
		size_t to = i < ncuts ? cuts[i] : b->len;

		json_array_append_new(chunks, vg_hex(b->ptr + from, to - from));
		from = to;
	}
	for (size_t i = 0; i < nexp; i++) {
		e = json_pack("{s:s}", "result", exp[i].result);
		if (exp[i].reason)
			json_object_set_new(e, "reason", json_string(exp[i].reason));
		json_array_append_new(expected, e);
	}
	json_array_append_new(o->list,
			      json_pack("{s:i, s:s, s:o, s:o, s:o, s:s}", "tcId", tc, "comment",
					comment, "requirements", vg_words(reqs), "chunks_hex",
					chunks, "expected", expected, "end", end));
	vg_seed(o->corpus, "frame_stream", 500 + tc, b->ptr, b->len);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void three_frames(struct vg_out *o)
{
	static const struct outcome ok3[] = { VALID, VALID, VALID };
	struct ib_buf b = { 0 };
	struct ib_msg a = publish(VG_T0 + 200), an = announce(VG_T0 + 201), p = parted(VG_T0 + 202);
	size_t cuts[1024], n = 0, first;

	put_frame(&b, ALICE, ALICE, &a);
	first = b.len;
	put_frame(&b, BOB, BOB, &an);
	put_frame(&b, CAROL, CAROL, &p);

	emit(o, "three frames in one read", "FRAME-2", &b, NULL, 0, ok3, 3, "clean");

	for (size_t i = 1; i < b.len && n < N(cuts); i++)
		cuts[n++] = i;
	emit(o, "three frames, one byte per read", "FRAME-2", &b, cuts, n, ok3, 3, "clean");

	{
		const size_t awkward[] = { 1, 16, 18, 20, 21, 22, 84, 85, 86, first - 1, first,
					   first + 1, b.len - 1 };

		emit(o, "three frames cut inside id_bot, each length field, the signature and "
			"the message",
		     "FRAME-2", &b, awkward, N(awkward), ok3, 3, "clean");
	}
	{
		const size_t empties[] = { 0, 0, 21, 21, first, first, first };

		emit(o, "three frames with empty reads between them", "FRAME-2", &b, empties,
		     N(empties), ok3, 3, "clean");
	}
	b.len = first + 30;
	{
		static const struct outcome one[] = { VALID };

		emit(o, "one frame, then 30 bytes of the next", "FRAME-2", &b, NULL, 0, one, 1,
		     "partial");
	}
	ib_buf_free(&b);
}

static void wrong_key(struct vg_out *o)
{
	static const struct outcome exp[] = { VALID, INVALID("bad_signature"), VALID,
					      INVALID("bad_signature"), VALID };
	struct ib_buf b = { 0 };
	struct ib_msg m;

	m = publish(VG_T0 + 210);
	put_frame(&b, ALICE, ALICE, &m);
	m = publish(VG_T0 + 211);
	put_frame(&b, ALICE, BOB, &m);
	m = publish(VG_T0 + 212);
	put_frame(&b, BOB, BOB, &m);
	m = publish(VG_T0 + 213);
	put_frame(&b, BOB, ALICE, &m);
	m = publish(VG_T0 + 214);
	put_frame(&b, ALICE, ALICE, &m);
	emit(o, "two origins interleaved, each also named on a frame the other signed: a "
		"verifier that reuses one EVP_MD_CTX without reset accepts them",
	     "FRAME-6 ID-3", &b, NULL, 0, exp, N(exp), "clean");
	ib_buf_free(&b);
}

static void replay(struct vg_out *o)
{
	static const struct outcome exp[] = { VALID,
					      INVALID("replay"),
					      VALID,
					      INVALID("replay"),
					      VALID,
					      INVALID("replay"),
					      VALID };
	struct ib_buf b = { 0 };
	struct ib_msg m;

	m = publish(VG_T0 + 300);
	put_frame(&b, ALICE, ALICE, &m);
	put_frame(&b, ALICE, ALICE, &m);        /* the same frame again */
	m = publish(VG_T0 + 301);
	put_frame(&b, ALICE, ALICE, &m);
	m = publish(VG_T0 + 300);
	put_frame(&b, ALICE, ALICE, &m);        /* older, seen */
	m = publish(VG_T0 + 295);
	put_frame(&b, ALICE, ALICE, &m);        /* older, unseen, in the window */
	m = publish(VG_T0 + 237);
	put_frame(&b, ALICE, ALICE, &m);        /* top - 64: below the window */
	m = publish(VG_T0 + 238);
	put_frame(&b, ALICE, ALICE, &m);        /* top - 63: the window's last slot */
	emit(o, "replays: the same frame twice, an older seen seq, an older unseen seq in the "
		"window, seqs just below and at the window's edge",
	     "FLOOD-3", &b, NULL, 0, exp, N(exp), "clean");
	ib_buf_free(&b);
}

static void bad_frames_keep_state(struct vg_out *o)
{
	struct ib_buf b = { 0 }, msg = { 0 }, frame = { 0 };
	struct ib_msg m;

	{
		static const struct outcome exp[] = { INVALID("bad_signature"), VALID, VALID };

		m = publish(VG_T0 + 400);
		vg_encode(&msg, &m);
		vg_sign(&frame, ALICE, ALICE, msg.ptr, msg.len);
		frame.ptr[IB_FRAME_HEADER_LEN] ^= 1;
		ib_buf_put(&b, frame.ptr, frame.len);
		m = publish(VG_T0 + 350);
		put_frame(&b, ALICE, ALICE, &m);
		m = publish(VG_T0 + 400);
		put_frame(&b, ALICE, ALICE, &m);
		emit(o, "a badly signed frame does not move its origin's window: seq 400 forged, "
			"then 350 and 400 well signed",
		     "FLOOD-4 FRAME-6", &b, NULL, 0, exp, N(exp), "clean");
	}
	{
		static const struct outcome exp[] = { VALID, INVALID("bad_signature_length"),
						      VALID };
		uint8_t sig[IB_SIG_LEN] = { 0 };

		ib_buf_reset(&b);
		m = publish(VG_T0 + 410);
		put_frame(&b, ALICE, ALICE, &m);
		vg_encode(&msg, &m);
		vg_raw_frame(&frame, vg_id(ALICE), 63, sig, 63, (uint32_t)msg.len, msg.ptr,
			     msg.len);
		ib_buf_put(&b, frame.ptr, frame.len);
		m = publish(VG_T0 + 411);
		put_frame(&b, ALICE, ALICE, &m);
		emit(o, "a frame with signature_length 63 between two good ones: dropped, the "
			"link goes on",
		     "FRAME-3 FRAME-2", &b, NULL, 0, exp, N(exp), "clean");
	}
	{
		static const struct outcome exp[] = { VALID, LINK_ERROR("too_big") };
		uint8_t sig[IB_SIG_LEN] = { 0 };
		size_t cut[1];

		ib_buf_reset(&b);
		m = publish(VG_T0 + 420);
		put_frame(&b, ALICE, ALICE, &m);
		cut[0] = b.len + IB_FRAME_HEADER_LEN;
		vg_raw_frame(&frame, vg_id(ALICE), IB_SIG_LEN, sig, 0, VG_MAX_MESSAGE + 1, NULL, 0);
		ib_buf_put(&b, frame.ptr, frame.len);
		m = publish(VG_T0 + 421);
		put_frame(&b, ALICE, ALICE, &m);
		emit(o, "a good frame, a header announcing max_message + 1, then a good frame "
			"that is never read",
		     "FRAME-4", &b, cut, 1, exp, N(exp), "link_error");
	}
	{
		static const struct outcome exp[] = { VALID, VALID, VALID };
		struct ib_msg ping = vg_msg(IB_MSG_PING, VG_T0 + 500, VG_EVERYONE);
		static const uint8_t nonce[16] = { 9 };

		ib_buf_reset(&b);
		ping.u.ping.nonce = (struct ib_slice){ nonce, sizeof nonce };
		put_frame(&b, ALICE, ALICE, &ping);
		put_frame(&b, ALICE, ALICE, &ping);
		m = publish(VG_T0 + 499);
		put_frame(&b, ALICE, ALICE, &m);
		emit(o, "hop-local frames are outside the window: the same PING twice is valid, "
			"and an end-to-end frame with a lower seq after it is too",
		     "FLOOD-3", &b, NULL, 0, exp, N(exp), "clean");
	}
	ib_buf_free(&b);
	ib_buf_free(&msg);
	ib_buf_free(&frame);
}

void vg_streams(struct vg_out *o)
{
	three_frames(o);
	wrong_key(o);
	replay(o);
	bad_frames_keep_state(o);
}
