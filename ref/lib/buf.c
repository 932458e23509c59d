/* buf.c - owned, growable byte buffers and the big-endian writer on top of them. */
#include "interbot.h"

#include <stdlib.h>
#include <string.h>

void ib_buf_free(struct ib_buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
}

void ib_buf_reset(struct ib_buf *b)
{
	b->len = 0;
}

int ib_buf_reserve(struct ib_buf *b, size_t extra)
{
	size_t want, cap;
	uint8_t *p;

	if (extra > SIZE_MAX - b->len)
		return IB_ERR_NOMEM;
	want = b->len + extra;
	if (want <= b->cap)
		return IB_OK;
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	p = realloc(b->ptr, cap);
	if (!p)
		return IB_ERR_NOMEM;
	b->ptr = p;
	b->cap = cap;
	return IB_OK;
}

int ib_buf_put(struct ib_buf *b, const void *p, size_t n)
{
	int err;

	if (n == 0)
		return IB_OK;
	err = ib_buf_reserve(b, n);
	if (err)
		return err;
	memcpy(b->ptr + b->len, p, n);
	b->len += n;
	return IB_OK;
}

/* Appends the low `bytes` bytes of v, most significant first. */
static int put_be(struct ib_buf *b, uint64_t v, unsigned bytes)
{
	uint8_t tmp[8];

	for (unsigned i = 0; i < bytes; i++)
		tmp[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	return ib_buf_put(b, tmp, bytes);
}

int ib_buf_put_u8(struct ib_buf *b, uint8_t v)
{
	return put_be(b, v, 1);
}

int ib_buf_put_u16(struct ib_buf *b, uint16_t v)
{
	return put_be(b, v, 2);
}

int ib_buf_put_u24(struct ib_buf *b, uint32_t v)
{
	if (v > 0xffffffu)
		return IB_ERR_RANGE;
	return put_be(b, v, 3);
}

int ib_buf_put_u32(struct ib_buf *b, uint32_t v)
{
	return put_be(b, v, 4);
}

int ib_buf_put_u64(struct ib_buf *b, uint64_t v)
{
	return put_be(b, v, 8);
}

int ib_buf_put_string(struct ib_buf *b, struct ib_slice s)
{
	int err;

	if (s.len > IB_MAX_STRING)
		return IB_ERR_RANGE;
	err = ib_buf_put_u8(b, (uint8_t)s.len);
	if (!err)
		err = ib_buf_put(b, s.ptr, s.len);
	return err;
}

int ib_buf_put_blob(struct ib_buf *b, struct ib_slice s)
{
	int err;

	if (s.len > IB_MAX_BLOB)
		return IB_ERR_RANGE;
	err = ib_buf_put_u24(b, (uint32_t)s.len);
	if (!err)
		err = ib_buf_put(b, s.ptr, s.len);
	return err;
}
