/* Unit tests of frame.c (the envelope, spec section 5, and the stream decoder) and id.c. */
#include "ib_test.h"

#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Appends a 21-byte frame header whose origin is tag repeated. */
static void put_header(struct ib_buf *b, uint8_t tag, uint16_t sig_len, uint32_t msg_len)
{
	for (size_t i = 0; i < IB_ID_LEN; i++)
		CU_ASSERT_FATAL(ib_buf_put_u8(b, tag) == IB_OK);
	CU_ASSERT_FATAL(ib_buf_put_u16(b, sig_len) == IB_OK);
	CU_ASSERT_FATAL(ib_buf_put_u24(b, msg_len) == IB_OK);
}

/* Appends a frame with any signature_length (ib_frame_encode writes 64 only): the signature
 * bytes are 0xA0 + i, the message bytes tag + i. */
static void put_frame(struct ib_buf *b, uint8_t tag, uint16_t sig_len, uint32_t msg_len)
{
	put_header(b, tag, sig_len, msg_len);
	for (size_t i = 0; i < sig_len; i++)
		CU_ASSERT_FATAL(ib_buf_put_u8(b, (uint8_t)(0xa0 + i)) == IB_OK);
	for (size_t i = 0; i < msg_len; i++)
		CU_ASSERT_FATAL(ib_buf_put_u8(b, (uint8_t)(tag + i)) == IB_OK);
}

static void fill_id(ib_id *id, uint8_t first)
{
	for (size_t i = 0; i < IB_ID_LEN; i++)
		id->b[i] = (uint8_t)(first + i);
}

/* ---- ib_frame_encode and ib_frame_parse ------------------------------------------------ */

/* Section 5 layout: id_bot[16] | u16 64 | u24 M | signature[64] | message[M]. */
static void test_encode_layout(void)
{
	struct ib_buf b = { 0 };
	uint8_t sig[IB_SIG_LEN];
	ib_id origin;
	const uint8_t msg[] = { 'x', 'y', 'z' };

	fill_id(&origin, 1);
	memset(sig, 0xa5, sizeof sig);
	IB_ASSERT_OK(ib_frame_encode(&b, &origin, sig, msg, sizeof msg));
	CU_ASSERT_EQUAL_FATAL(b.len, IB_FRAME_HEADER_LEN + IB_SIG_LEN + sizeof msg);
	CU_ASSERT_EQUAL(memcmp(b.ptr, origin.b, IB_ID_LEN), 0);
	CU_ASSERT_EQUAL(b.ptr[16], 0x00);
	CU_ASSERT_EQUAL(b.ptr[17], 0x40);
	CU_ASSERT_EQUAL(b.ptr[18], 0x00);
	CU_ASSERT_EQUAL(b.ptr[19], 0x00);
	CU_ASSERT_EQUAL(b.ptr[20], 0x03);
	CU_ASSERT_EQUAL(memcmp(b.ptr + 21, sig, IB_SIG_LEN), 0);
	CU_ASSERT_EQUAL(memcmp(b.ptr + 21 + IB_SIG_LEN, msg, sizeof msg), 0);
	ib_buf_free(&b);
}

static void test_encode_parse_round_trip(void)
{
	struct ib_buf b = { 0 };
	struct ib_frame f;
	uint8_t sig[IB_SIG_LEN], msg[300];
	ib_id origin;
	size_t first;

	fill_id(&origin, 0x80);
	for (size_t i = 0; i < sizeof sig; i++)
		sig[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (uint8_t)(i * 7);
	/* Encoding appends: two frames, the second after the first. */
	IB_ASSERT_OK(ib_frame_encode(&b, &origin, sig, msg, 0));
	first = b.len;
	CU_ASSERT_EQUAL(first, IB_FRAME_HEADER_LEN + IB_SIG_LEN);
	IB_ASSERT_OK(ib_frame_encode(&b, &origin, sig, msg, sizeof msg));

	IB_ASSERT_OK(ib_frame_parse(&f, b.ptr, first, IB_MAX_MESSAGE_LIMIT));
	CU_ASSERT_EQUAL(f.msg.len, 0);
	CU_ASSERT_PTR_EQUAL(f.raw.ptr, b.ptr);
	CU_ASSERT_EQUAL(f.raw.len, first);

	IB_ASSERT_OK(ib_frame_parse(&f, b.ptr + first, b.len - first, IB_MAX_MESSAGE_LIMIT));
	CU_ASSERT(ib_id_equal(&f.origin, &origin));
	CU_ASSERT_EQUAL(f.sig_len, IB_SIG_LEN);
	CU_ASSERT_EQUAL(f.sig.len, IB_SIG_LEN);
	CU_ASSERT_EQUAL(memcmp(f.sig.ptr, sig, IB_SIG_LEN), 0);
	CU_ASSERT_EQUAL(f.msg.len, sizeof msg);
	CU_ASSERT_EQUAL(memcmp(f.msg.ptr, msg, sizeof msg), 0);
	CU_ASSERT_PTR_EQUAL(f.raw.ptr, b.ptr + first);
	CU_ASSERT_EQUAL(f.raw.len, b.len - first);
	ib_buf_free(&b);
}

static void test_encode_too_long(void)
{
	struct ib_buf b = { 0 };
	uint8_t sig[IB_SIG_LEN] = { 0 }, msg[1] = { 0 };
	ib_id origin = { { 0 } };

	IB_ASSERT_OK(ib_buf_put_u8(&b, 0x77));
	/* Refused before msg is read: the length alone decides. */
	IB_ASSERT_ERR(ib_frame_encode(&b, &origin, sig, msg, (size_t)IB_MAX_MESSAGE_LIMIT + 1),
		      IB_ERR_RANGE);
	CU_ASSERT_EQUAL(b.len, 1);
	ib_buf_free(&b);
}

static void test_parse_truncated_every_cut(void)
{
	struct ib_buf b = { 0 };
	struct ib_frame f;

	put_frame(&b, 0x11, IB_SIG_LEN, 40);
	for (size_t cut = 0; cut < b.len; cut++)
		IB_ASSERT_ERR(ib_frame_parse(&f, b.ptr, cut, IB_MAX_MESSAGE_LIMIT),
			      IB_ERR_TRUNCATED);
	IB_ASSERT_OK(ib_frame_parse(&f, b.ptr, b.len, IB_MAX_MESSAGE_LIMIT));
	ib_buf_free(&b);
}

static void test_parse_trailing(void)
{
	struct ib_buf b = { 0 };
	struct ib_frame f;

	put_frame(&b, 0x11, IB_SIG_LEN, 5);
	IB_ASSERT_OK(ib_buf_put_u8(&b, 0));
	IB_ASSERT_ERR(ib_frame_parse(&f, b.ptr, b.len, IB_MAX_MESSAGE_LIMIT), IB_ERR_TRAILING);
	/* Two whole frames are not one frame either. */
	b.len--;
	put_frame(&b, 0x22, IB_SIG_LEN, 0);
	IB_ASSERT_ERR(ib_frame_parse(&f, b.ptr, b.len, IB_MAX_MESSAGE_LIMIT), IB_ERR_TRAILING);
	ib_buf_free(&b);
}

/* [FRAME-4][FRAME-8] the length limit is judged from the header, before anything else. */
static void test_parse_too_big(void)
{
	struct ib_buf b = { 0 };
	struct ib_frame f;

	put_frame(&b, 0x11, IB_SIG_LEN, 100);
	IB_ASSERT_ERR(ib_frame_parse(&f, b.ptr, b.len, 99), IB_ERR_TOO_BIG);
	IB_ASSERT_OK(ib_frame_parse(&f, b.ptr, b.len, 100));
	/* The header alone is enough to say too big, and the body's absence does not matter. */
	IB_ASSERT_ERR(ib_frame_parse(&f, b.ptr, IB_FRAME_HEADER_LEN, 99), IB_ERR_TOO_BIG);
	/* One byte short of the header is still truncated. */
	IB_ASSERT_ERR(ib_frame_parse(&f, b.ptr, IB_FRAME_HEADER_LEN - 1, 99), IB_ERR_TRUNCATED);
	/* A bad signature_length comes after the length limit. */
	ib_buf_reset(&b);
	put_header(&b, 0x11, 63, 100);
	IB_ASSERT_ERR(ib_frame_parse(&f, b.ptr, b.len, 99), IB_ERR_TOO_BIG);
	ib_buf_free(&b);
}

/* [FRAME-3] signature_length other than 64 still delimits the frame; parse does not judge it
 * (ib_frame_verify does). */
static void test_parse_other_sig_lens(void)
{
	static const uint16_t lens[] = { 0, 63, 65, 0xffff };

	for (size_t i = 0; i < ARRAY_LEN(lens); i++) {
		struct ib_buf b = { 0 };
		struct ib_frame f;

		put_frame(&b, 0x30, lens[i], 9);
		IB_ASSERT_OK(ib_frame_parse(&f, b.ptr, b.len, IB_MAX_MESSAGE_LIMIT));
		CU_ASSERT_EQUAL(f.sig_len, lens[i]);
		CU_ASSERT_EQUAL(f.sig.len, lens[i]);
		CU_ASSERT_EQUAL(f.msg.len, 9);
		CU_ASSERT_EQUAL(f.msg.ptr[0], 0x30);
		CU_ASSERT_EQUAL(f.msg.ptr[8], 0x38);
		IB_ASSERT_ERR(ib_frame_parse(&f, b.ptr, b.len - 1, IB_MAX_MESSAGE_LIMIT),
			      IB_ERR_TRUNCATED);
		ib_buf_free(&b);
	}
}

/* ---- The stream decoder ---------------------------------------------------------------- */

/* A stream of three frames of different shapes, and where each ends. */
struct stream {
	struct ib_buf bytes;
	size_t end[3];
};

static void make_stream(struct stream *s, const uint16_t sig_lens[3])
{
	static const uint32_t msg_lens[3] = { 0, 10, 300 };

	memset(s, 0, sizeof *s);
	for (size_t i = 0; i < 3; i++) {
		put_frame(&s->bytes, (uint8_t)(0x10 * (i + 1)), sig_lens[i], msg_lens[i]);
		s->end[i] = s->bytes.len;
	}
}

/* Collects what the decoder yields: the frames' raw bytes back to back, and their count. */
struct sink {
	struct ib_buf raw;
	size_t count;
	size_t ends[8];
	uint16_t sig_lens[8];
};

static void drain(struct ib_frame_decoder *d, struct sink *k)
{
	struct ib_frame f;
	int rc;

	while ((rc = ib_frame_decoder_next(d, &f)) == IB_FRAME_READY) {
		/* The frame's parts lie inside its raw bytes, in envelope order. */
		CU_ASSERT_EQUAL(f.raw.len, IB_FRAME_HEADER_LEN + f.sig.len + f.msg.len);
		CU_ASSERT_EQUAL(f.sig.len, f.sig_len);
		IB_ASSERT_OK(ib_buf_put(&k->raw, f.raw.ptr, f.raw.len));
		if (k->count < ARRAY_LEN(k->ends)) {
			k->sig_lens[k->count] = f.sig_len;
			k->ends[k->count] = k->raw.len;
		}
		k->count++;
	}
	IB_ASSERT_ERR(rc, IB_FRAME_NEED_MORE);
}

static void feed_all(struct ib_frame_decoder *d, const uint8_t *p, size_t len, struct sink *k)
{
	size_t taken = 0;

	IB_ASSERT_OK(ib_frame_decoder_feed(d, p, len, &taken));
	CU_ASSERT_EQUAL(taken, len);
	drain(d, k);
}

/* The stream fed in pieces cut at cuts[0..n) yields exactly its three frames. */
static void check_split(const struct stream *s, const size_t *cuts, size_t n)
{
	struct ib_frame_decoder d;
	struct sink k = { 0 };
	size_t from = 0;

	ib_frame_decoder_init(&d, IB_MAX_MESSAGE_MIN);
	for (size_t i = 0; i <= n; i++) {
		/* cppcheck-suppress nullPointer ; cuts may be NULL only when n is 0 */
		size_t to = i < n ? cuts[i] : s->bytes.len;

		feed_all(&d, s->bytes.ptr + from, to - from, &k);
		from = to;
	}
	CU_ASSERT_EQUAL(k.count, 3);
	CU_ASSERT_EQUAL(k.raw.len, s->bytes.len);
	if (k.raw.len == s->bytes.len)
		CU_ASSERT_EQUAL(memcmp(k.raw.ptr, s->bytes.ptr, k.raw.len), 0);
	for (size_t i = 0; i < 3 && i < k.count; i++)
		CU_ASSERT_EQUAL(k.ends[i], s->end[i]);
	ib_frame_decoder_free(&d);
	ib_buf_free(&k.raw);
}

static const uint16_t good_sigs[3] = { IB_SIG_LEN, IB_SIG_LEN, IB_SIG_LEN };

/* [FRAME-2] one byte per read. */
static void test_decoder_byte_at_a_time(void)
{
	struct stream s;
	size_t *cuts;
	size_t n;

	make_stream(&s, good_sigs);
	n = s.bytes.len - 1;
	cuts = malloc(n * sizeof *cuts);
	CU_ASSERT_FATAL(cuts != NULL);
	for (size_t i = 0; i < n; i++)
		cuts[i] = i + 1;
	check_split(&s, cuts, n);
	free(cuts);
	ib_buf_free(&s.bytes);
}

/* [FRAME-2] several frames in one read. */
static void test_decoder_all_at_once(void)
{
	struct stream s;

	make_stream(&s, good_sigs);
	check_split(&s, NULL, 0);
	ib_buf_free(&s.bytes);
}

/* [FRAME-2] every split in two, and every split in three. */
static void test_decoder_every_split(void)
{
	struct stream s;

	make_stream(&s, good_sigs);
	for (size_t i = 0; i <= s.bytes.len; i++) {
		size_t cuts[2] = { i, 0 };

		check_split(&s, cuts, 1);
		for (size_t j = i; j <= s.bytes.len; j++) {
			cuts[1] = j;
			check_split(&s, cuts, 2);
		}
	}
	ib_buf_free(&s.bytes);
}

/* [FRAME-3] frames with signature_length 0, 63 and 65 are delimited by their lengths and
 * handed out (the caller drops them); the frame after them is read normally. */
static void test_decoder_other_sig_lens(void)
{
	static const uint16_t sigs[3] = { 0, 63, 65 };
	struct ib_frame_decoder d;
	struct sink k = { 0 };
	struct stream s;

	make_stream(&s, sigs);
	put_frame(&s.bytes, 0x77, IB_SIG_LEN, 1);
	ib_frame_decoder_init(&d, IB_MAX_MESSAGE_MIN);
	for (size_t i = 0; i < s.bytes.len; i++)
		feed_all(&d, s.bytes.ptr + i, 1, &k);
	CU_ASSERT_EQUAL_FATAL(k.count, 4);
	CU_ASSERT_EQUAL(k.sig_lens[0], 0);
	CU_ASSERT_EQUAL(k.sig_lens[1], 63);
	CU_ASSERT_EQUAL(k.sig_lens[2], 65);
	CU_ASSERT_EQUAL(k.sig_lens[3], IB_SIG_LEN);
	for (size_t i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(k.ends[i], s.end[i]);
	CU_ASSERT_EQUAL(memcmp(k.raw.ptr, s.bytes.ptr, s.bytes.len), 0);
	ib_frame_decoder_free(&d);
	ib_buf_free(&k.raw);
	ib_buf_free(&s.bytes);
}

/* [FRAME-4] with exactly the 21 header bytes fed, too big is decided; the error sticks. The
 * feed that finds it takes nothing past the header and leaves the error to next. */
static void test_decoder_too_big_from_header(void)
{
	struct ib_frame_decoder d;
	struct ib_buf b = { 0 };
	struct ib_frame f;
	size_t taken = 99;

	put_header(&b, 0x11, IB_SIG_LEN, 1001);
	ib_frame_decoder_init(&d, 1000);
	IB_ASSERT_OK(ib_frame_decoder_feed(&d, b.ptr, IB_FRAME_HEADER_LEN - 1, &taken));
	CU_ASSERT_EQUAL(taken, IB_FRAME_HEADER_LEN - 1);
	IB_ASSERT_ERR(ib_frame_decoder_next(&d, &f), IB_FRAME_NEED_MORE);
	IB_ASSERT_OK(ib_frame_decoder_feed(&d, b.ptr + IB_FRAME_HEADER_LEN - 1, 1, &taken));
	CU_ASSERT_EQUAL(taken, 1);
	CU_ASSERT_EQUAL(d.error, IB_ERR_TOO_BIG);
	CU_ASSERT_EQUAL(d.buf.len, IB_FRAME_HEADER_LEN);
	/* Sticky: next and feed keep saying it, and take nothing more. */
	IB_ASSERT_ERR(ib_frame_decoder_next(&d, &f), IB_ERR_TOO_BIG);
	IB_ASSERT_ERR(ib_frame_decoder_next(&d, &f), IB_ERR_TOO_BIG);
	IB_ASSERT_ERR(ib_frame_decoder_feed(&d, b.ptr, 5, &taken), IB_ERR_TOO_BIG);
	CU_ASSERT_EQUAL(taken, 0);
	IB_ASSERT_ERR(ib_frame_decoder_next(&d, &f), IB_ERR_TOO_BIG);
	CU_ASSERT_EQUAL(d.buf.len, IB_FRAME_HEADER_LEN);
	ib_frame_decoder_free(&d);
	ib_buf_free(&b);
}

/* [FRAME-4] a header and body in one read: nothing after the header is buffered. */
static void test_decoder_too_big_in_one_read(void)
{
	struct ib_frame_decoder d;
	struct ib_buf b = { 0 };
	struct ib_frame f;
	size_t taken = 0;

	put_frame(&b, 0x11, IB_SIG_LEN, 1001);
	ib_frame_decoder_init(&d, 1000);
	IB_ASSERT_OK(ib_frame_decoder_feed(&d, b.ptr, b.len, &taken));
	CU_ASSERT_EQUAL(taken, IB_FRAME_HEADER_LEN);
	CU_ASSERT_EQUAL(d.buf.len, IB_FRAME_HEADER_LEN);
	IB_ASSERT_ERR(ib_frame_decoder_next(&d, &f), IB_ERR_TOO_BIG);
	IB_ASSERT_ERR(ib_frame_decoder_feed(&d, b.ptr, b.len, &taken), IB_ERR_TOO_BIG);
	CU_ASSERT_EQUAL(taken, 0);
	ib_frame_decoder_free(&d);
	ib_buf_free(&b);
}

/* [FRAME-2][FRAME-4] whole frames before a too-big header are still handed out, as they would
 * be had they arrived in an earlier read; then the error, for good. */
static void test_decoder_too_big_after_good_frame(void)
{
	struct ib_frame_decoder d;
	struct ib_buf b = { 0 };
	struct ib_frame f;
	size_t good, taken = 0;

	put_frame(&b, 0x11, IB_SIG_LEN, 1000);
	good = b.len;
	put_frame(&b, 0x22, IB_SIG_LEN, 1001);
	ib_frame_decoder_init(&d, 1000);
	IB_ASSERT_OK(ib_frame_decoder_feed(&d, b.ptr, b.len, &taken));
	CU_ASSERT_EQUAL(taken, good + IB_FRAME_HEADER_LEN);
	IB_ASSERT_ERR(ib_frame_decoder_next(&d, &f), IB_FRAME_READY);
	CU_ASSERT_EQUAL(f.raw.len, good);
	CU_ASSERT_EQUAL(f.msg.len, 1000);
	IB_ASSERT_ERR(ib_frame_decoder_next(&d, &f), IB_ERR_TOO_BIG);
	IB_ASSERT_ERR(ib_frame_decoder_next(&d, &f), IB_ERR_TOO_BIG);
	IB_ASSERT_ERR(ib_frame_decoder_feed(&d, b.ptr, 1, &taken), IB_ERR_TOO_BIG);
	CU_ASSERT_EQUAL(taken, 0);
	ib_frame_decoder_free(&d);
	ib_buf_free(&b);
}

/* [FRAME-4] message_length equal to max_message is allowed. */
static void test_decoder_at_limit(void)
{
	struct ib_frame_decoder d;
	struct ib_buf b = { 0 };
	struct sink k = { 0 };

	put_frame(&b, 0x11, IB_SIG_LEN, IB_MAX_MESSAGE_MIN);
	ib_frame_decoder_init(&d, IB_MAX_MESSAGE_MIN);
	feed_all(&d, b.ptr, b.len, &k);
	CU_ASSERT_EQUAL(k.count, 1);
	CU_ASSERT_EQUAL(d.error, 0);
	/* Once delivered, the large buffer is given back at the next feed. */
	feed_all(&d, NULL, 0, &k);
	CU_ASSERT_EQUAL(d.buf.cap, 0);
	ib_frame_decoder_free(&d);
	ib_buf_free(&k.raw);
	ib_buf_free(&b);
}

/* [FRAME-2] nothing fed, or a partial frame: no frame, no error. */
static void test_decoder_need_more(void)
{
	struct ib_frame_decoder d;
	struct ib_frame f;
	uint8_t zero[IB_FRAME_HEADER_LEN] = { 0 };
	size_t taken = 9;

	ib_frame_decoder_init(&d, IB_MAX_MESSAGE_LIMIT);
	IB_ASSERT_ERR(ib_frame_decoder_next(&d, &f), IB_FRAME_NEED_MORE);
	IB_ASSERT_OK(ib_frame_decoder_feed(&d, NULL, 0, &taken));
	CU_ASSERT_EQUAL(taken, 0);
	IB_ASSERT_ERR(ib_frame_decoder_next(&d, &f), IB_FRAME_NEED_MORE);
	/* A header of zero lengths is a whole 21-byte frame. */
	IB_ASSERT_OK(ib_frame_decoder_feed(&d, zero, sizeof zero, &taken));
	IB_ASSERT_ERR(ib_frame_decoder_next(&d, &f), IB_FRAME_READY);
	CU_ASSERT_EQUAL(f.raw.len, IB_FRAME_HEADER_LEN);
	CU_ASSERT_EQUAL(f.sig_len, 0);
	CU_ASSERT_EQUAL(f.msg.len, 0);
	IB_ASSERT_ERR(ib_frame_decoder_next(&d, &f), IB_FRAME_NEED_MORE);
	ib_frame_decoder_free(&d);
}

/* The decoder holds at most one undelivered frame plus the bytes of the current feed: bytes
 * already delivered are dropped before new ones are appended. */
static void test_decoder_compacts(void)
{
	struct ib_frame_decoder d;
	struct stream s;
	struct sink k = { 0 };
	const size_t chunk = 50;
	size_t largest = 0, prev = 0;

	make_stream(&s, good_sigs);
	for (size_t i = 0; i < 3; i++) {
		if (s.end[i] - prev > largest)
			largest = s.end[i] - prev;
		prev = s.end[i];
	}
	ib_frame_decoder_init(&d, IB_MAX_MESSAGE_MIN);
	for (int round = 0; round < 20; round++) {
		for (size_t off = 0; off < s.bytes.len; off += chunk) {
			size_t n = s.bytes.len - off < chunk ? s.bytes.len - off : chunk;

			feed_all(&d, s.bytes.ptr + off, n, &k);
			CU_ASSERT(d.buf.len <= largest + chunk);
		}
	}
	CU_ASSERT_EQUAL(k.count, 60);
	ib_frame_decoder_free(&d);
	ib_buf_free(&k.raw);
	ib_buf_free(&s.bytes);
}

/* ---- id helpers ------------------------------------------------------------------------ */

static void test_id_hex(void)
{
	ib_id id, back;
	char hex[2 * IB_ID_LEN + 1];

	fill_id(&id, 0xf0);
	ib_id_to_hex(&id, hex);
	CU_ASSERT_STRING_EQUAL(hex, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
	IB_ASSERT_OK(ib_id_from_hex(&back, hex));
	CU_ASSERT(ib_id_equal(&id, &back));
	IB_ASSERT_OK(ib_id_from_hex(&back, "F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF"));
	CU_ASSERT(ib_id_equal(&id, &back));
}

static void test_id_hex_bad(void)
{
	ib_id id;

	fill_id(&id, 1);
	IB_ASSERT_ERR(ib_id_from_hex(&id, ""), IB_ERR_RANGE);
	IB_ASSERT_ERR(ib_id_from_hex(&id, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfef"), IB_ERR_RANGE);
	IB_ASSERT_ERR(ib_id_from_hex(&id, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff0"), IB_ERR_RANGE);
	IB_ASSERT_ERR(ib_id_from_hex(&id, "g0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"), IB_ERR_RANGE);
	IB_ASSERT_ERR(ib_id_from_hex(&id, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfe f"), IB_ERR_RANGE);
	IB_ASSERT_ERR(ib_id_from_hex(&id, NULL), IB_ERR_INVALID_ARG);
	/* A failed parse leaves out alone. */
	CU_ASSERT_EQUAL(id.b[0], 1);
	CU_ASSERT_EQUAL(id.b[15], 16);
}

static void test_hex_decode(void)
{
	uint8_t out[4] = { 9, 9, 9, 9 };
	size_t n = 7;

	IB_ASSERT_OK(ib_hex_decode("00aBfF", 6, out, sizeof out, &n));
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT(out[0] == 0x00 && out[1] == 0xab && out[2] == 0xff && out[3] == 9);
	IB_ASSERT_OK(ib_hex_decode("", 0, out, 0, &n));
	CU_ASSERT_EQUAL(n, 0);
	/* Only hex_len characters are read: the "zz" after them does not matter. */
	IB_ASSERT_OK(ib_hex_decode("0102zz", 4, out, sizeof out, &n));
	CU_ASSERT_EQUAL(n, 2);
	IB_ASSERT_ERR(ib_hex_decode("012", 3, out, sizeof out, &n), IB_ERR_RANGE);
	IB_ASSERT_ERR(ib_hex_decode("0g", 2, out, sizeof out, &n), IB_ERR_RANGE);
	IB_ASSERT_ERR(ib_hex_decode("0102030405", 10, out, sizeof out, &n), IB_ERR_RANGE);
}

static void test_id_compare(void)
{
	ib_id a = { { 0 } }, b = { { 0 } };

	CU_ASSERT(ib_id_is_zero(&a));
	CU_ASSERT(ib_id_equal(&a, &b));
	CU_ASSERT_EQUAL(ib_id_compare(&a, &b), 0);
	b.b[15] = 1;
	CU_ASSERT(!ib_id_is_zero(&b));
	CU_ASSERT(!ib_id_equal(&a, &b));
	CU_ASSERT_EQUAL(ib_id_compare(&a, &b), -1);
	CU_ASSERT_EQUAL(ib_id_compare(&b, &a), 1);
	/* Unsigned bytes: 0x80 is above 0x7f. */
	a.b[0] = 0x80;
	b.b[0] = 0x7f;
	CU_ASSERT_EQUAL(ib_id_compare(&a, &b), 1);
}

static const struct ib_test_case cases[] = {
	IB_TEST(test_encode_layout, ""),
	IB_TEST(test_encode_parse_round_trip, ""),
	IB_TEST(test_encode_too_long, ""),
	IB_TEST(test_parse_truncated_every_cut, "FRAME-2"),
	IB_TEST(test_parse_trailing, "FRAME-2"),
	IB_TEST(test_parse_too_big, "FRAME-4 FRAME-8"),
	IB_TEST(test_parse_other_sig_lens, "FRAME-3"),
	IB_TEST(test_decoder_byte_at_a_time, "FRAME-2"),
	IB_TEST(test_decoder_all_at_once, "FRAME-2"),
	IB_TEST(test_decoder_every_split, "FRAME-2"),
	IB_TEST(test_decoder_other_sig_lens, "FRAME-2 FRAME-3"),
	IB_TEST(test_decoder_too_big_from_header, "FRAME-4"),
	IB_TEST(test_decoder_too_big_in_one_read, "FRAME-4"),
	IB_TEST(test_decoder_too_big_after_good_frame, "FRAME-2 FRAME-4"),
	IB_TEST(test_decoder_at_limit, "FRAME-4"),
	IB_TEST(test_decoder_need_more, "FRAME-2"),
	IB_TEST(test_decoder_compacts, ""),
	IB_TEST(test_id_hex, ""),
	IB_TEST(test_id_hex_bad, ""),
	IB_TEST(test_hex_decode, ""),
	IB_TEST(test_id_compare, ""),
	IB_TEST_END,
};

const struct ib_test_suite ib_suite_frame = { "frame", NULL, NULL, cases };
