/*
 * reader.c - the one bounds-checked reader for bytes a peer sent.
 *
 * Every read checks the bytes left before it touches them and fails with IB_ERR_TRUNCATED
 * (or IB_ERR_BAD_STRING for a string) without moving the reader, so a caller that fails can
 * report where it stopped. This is the only file that indexes into peer bytes.
 */
#include "reader.h"

void ib_reader_init(struct ib_reader *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = p ? len : 0;
	r->off = 0;
}

size_t ib_reader_left(const struct ib_reader *r)
{
	return r->len - r->off;
}

/* Reads an n-byte big-endian integer (n <= 8). */
static int read_be(struct ib_reader *r, unsigned n, uint64_t *v)
{
	uint64_t acc = 0;

	if (ib_reader_left(r) < n)
		return IB_ERR_TRUNCATED;
	for (unsigned i = 0; i < n; i++)
		acc = acc << 8 | r->p[r->off + i];
	r->off += n;
	*v = acc;
	return IB_OK;
}

int ib_reader_u8(struct ib_reader *r, uint8_t *v)
{
	uint64_t x;
	int err = read_be(r, 1, &x);

	if (!err)
		*v = (uint8_t)x;
	return err;
}

int ib_reader_u16(struct ib_reader *r, uint16_t *v)
{
	uint64_t x;
	int err = read_be(r, 2, &x);

	if (!err)
		*v = (uint16_t)x;
	return err;
}

int ib_reader_u24(struct ib_reader *r, uint32_t *v)
{
	uint64_t x;
	int err = read_be(r, 3, &x);

	if (!err)
		*v = (uint32_t)x;
	return err;
}

int ib_reader_u32(struct ib_reader *r, uint32_t *v)
{
	uint64_t x;
	int err = read_be(r, 4, &x);

	if (!err)
		*v = (uint32_t)x;
	return err;
}

int ib_reader_u64(struct ib_reader *r, uint64_t *v)
{
	return read_be(r, 8, v);
}

int ib_reader_bytes(struct ib_reader *r, size_t n, struct ib_slice *out)
{
	if (ib_reader_left(r) < n)
		return IB_ERR_TRUNCATED;
	/* A zero-length slice may sit at the very end (or on a NULL, empty input). */
	out->ptr = r->p ? r->p + r->off : NULL;
	out->len = n;
	r->off += n;
	return IB_OK;
}

int ib_reader_id(struct ib_reader *r, ib_id *out)
{
	if (ib_reader_left(r) < IB_ID_LEN)
		return IB_ERR_TRUNCATED;
	for (size_t i = 0; i < IB_ID_LEN; i++)
		out->b[i] = r->p[r->off + i];
	r->off += IB_ID_LEN;
	return IB_OK;
}

/* A length-prefixed field: prefix_len bytes of length, then that many bytes. The reader
 * moves only when both are there. */
static int read_prefixed(struct ib_reader *r, unsigned prefix_len, struct ib_slice *out)
{
	struct ib_reader t = *r;
	uint64_t n;
	int err;

	err = read_be(&t, prefix_len, &n);
	if (!err)
		err = ib_reader_bytes(&t, (size_t)n, out);
	if (!err)
		*r = t;
	return err;
}

int ib_reader_string(struct ib_reader *r, struct ib_slice *out)
{
	struct ib_reader t = *r;
	struct ib_slice s;
	int err;

	err = read_prefixed(&t, 1, &s);
	if (err)
		return err;
	/* [MSG-8] RFC 3629 UTF-8, and no U+0000. */
	if (!ib_utf8_valid(s.ptr, s.len))
		return IB_ERR_BAD_STRING;
	*out = s;
	*r = t;
	return IB_OK;
}

int ib_reader_blob(struct ib_reader *r, struct ib_slice *out)
{
	return read_prefixed(r, 3, out);
}

int ib_reader_sub(struct ib_reader *r, size_t n, struct ib_reader *sub)
{
	struct ib_slice s;
	int err;

	err = ib_reader_bytes(r, n, &s);
	if (!err)
		ib_reader_init(sub, s.ptr, s.len);
	return err;
}

int ib_reader_end(const struct ib_reader *r)
{
	return ib_reader_left(r) ? IB_ERR_TRAILING : IB_OK;
}

/* Length of the UTF-8 sequence starting at p[0..left), or 0 if it is not a valid one.
 * The ranges are RFC 3629 section 4: they exclude overlong forms (C0, C1, E0 80-9F,
 * F0 80-8F), surrogates (ED A0-BF) and code points above U+10FFFF (F4 90-BF, F5-FF). */
static size_t utf8_seq(const uint8_t *p, size_t left)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c == 0x00)
		return 0; /* [MSG-8] U+0000 is refused even though it is valid UTF-8. */
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (left < n)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

bool ib_utf8_valid(const uint8_t *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_seq(p + i, len - i);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}
