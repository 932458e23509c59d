/*
 * fuzz_frame_stream.c - the stream decoder and the receive checks, fed arbitrary bytes in
 * arbitrary splits.
 *
 * Targets: ib_frame_decoder_feed, ib_frame_decoder_next, ib_frame_check (ib_frame_verify,
 * ib_msg_decode), ib_msg_encode.
 * Input: byte 0 seeds the split sizes, the rest is the stream.
 * Properties checked (abort on failure):
 *   - the frames yielded and the final state do not depend on how the stream is split
 *     ([FRAME-2]);
 *   - every message that decodes re-encodes to exactly the same bytes (one encoding per
 *     message, so a relay's decode never changes what it forwards).
 * Signatures are checked for real: the seeds (from vectors/) carry valid ones, and the
 * decoders behind the check are fuzzed directly by fuzz_message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interbot.h"

#define MAX_MESSAGE IB_MAX_MESSAGE_MIN      /* as the vectors' receiver */
#define NOW_US (1767225600000000ull + 60000000ull)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ib_keyring *keyring(void)
{
	/* RFC 8032 section 7.1 TEST 1, 2, 3 public keys (alice, bob, carol). */
	static const char *const pub_hex[] = {
		"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
		"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
		"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
	};
	static struct ib_keyring *kr;

	if (kr)
		return kr;
	if (ib_keyring_new(&kr))
		abort();
	for (size_t i = 0; i < 3; i++) {
		uint8_t raw[IB_PUBKEY_LEN];
		struct ib_pubkey *k;
		size_t n;

		if (ib_hex_decode(pub_hex[i], 2 * sizeof raw, raw, sizeof raw, &n) ||
		    ib_pubkey_from_raw(&k, raw) || ib_keyring_add(kr, k))
			abort();
	}
	return kr;
}

static void check_round_trip(const struct ib_frame *f)
{
	struct ib_msg m;
	struct ib_buf out = { 0 };

	if (ib_msg_decode(&m, f->msg.ptr, f->msg.len) != IB_OK)
		return;
	if (ib_msg_encode(&out, &m) != IB_OK || out.len != f->msg.len ||
	    memcmp(out.ptr, f->msg.ptr, out.len) != 0) {
		fprintf(stderr, "decoded message does not re-encode to the same bytes\n");
		abort();
	}
	ib_buf_free(&out);
}

/* Runs the stream through a decoder in chunks; records each frame and verdict in log. */
static void run(const uint8_t *p, size_t n, uint8_t seed, struct ib_buf *log)
{
	struct ib_frame_decoder d;
	size_t off = 0;
	uint32_t x = seed ? seed : 1;
	int err = 0;

	ib_frame_decoder_init(&d, MAX_MESSAGE);
	while (off < n && !err) {
		struct ib_frame f;
		size_t chunk = seed ? 1 + (x % 97) : n - off, taken;
		int st;

		x = x * 1103515245u + 12345u;
		if (chunk > n - off)
			chunk = n - off;
		err = ib_frame_decoder_feed(&d, p + off, chunk, &taken);
		off += taken;
		while ((st = ib_frame_decoder_next(&d, &f)) == IB_FRAME_READY) {
			struct ib_msg m;
			int verdict = ib_frame_check(&f, keyring(), NOW_US, &m);

			check_round_trip(&f);
			ib_buf_put(log, f.raw.ptr, f.raw.len);
			ib_buf_put_u8(log, (uint8_t)-verdict);
		}
		if (st < 0)
			err = st;
	}
	ib_buf_put_u8(log, (uint8_t)-err);
	ib_buf_put_u8(log, d.buf.len > d.start);
	ib_frame_decoder_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ib_buf whole = { 0 }, split = { 0 };

	if (size < 1)
		return 0;
	run(data + 1, size - 1, 0, &whole);
	run(data + 1, size - 1, data[0] | 1, &split);
	if (whole.len != split.len || memcmp(whole.ptr, split.ptr, whole.len) != 0) {
		fprintf(stderr, "the frames depend on how the stream was split\n");
		abort();
	}
	ib_buf_free(&whole);
	ib_buf_free(&split);
	return 0;
}
