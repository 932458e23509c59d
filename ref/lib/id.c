/*
 * id.c - id_bot names (spec section 3): hex form, comparison.
 *
 * ib_id_from_spki ([ID-2]) needs MD5 and lives with the other OpenSSL code in identity.c.
 */
#include "interbot.h"

#include <string.h>

static const char hex_digits[] = "0123456789abcdef";

void ib_hex_encode(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex_digits[p[i] >> 4];
		out[2 * i + 1] = hex_digits[p[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

/* For people an id_bot is 32 lowercase hex digits (spec section 3). */
void ib_id_to_hex(const ib_id *id, char out[2 * IB_ID_LEN + 1])
{
	ib_hex_encode(id->b, IB_ID_LEN, out);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	/* Upper case is accepted on input: an owner may paste it from another tool. */
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ib_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = hex_len / 2;

	if (!hex || !len)
		return IB_ERR_INVALID_ARG;
	if (hex_len % 2 != 0 || n > cap)
		return IB_ERR_RANGE;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_value(hex[2 * i]);
		int lo = hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return IB_ERR_RANGE;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n;
	return IB_OK;
}

int ib_id_from_hex(ib_id *out, const char *hex)
{
	ib_id tmp;
	size_t n;
	int err;

	if (!hex)
		return IB_ERR_INVALID_ARG;
	/* strnlen: never read more of a long string than the 33 bytes that decide. */
	if (strnlen(hex, 2 * IB_ID_LEN + 1) != 2 * IB_ID_LEN)
		return IB_ERR_RANGE;
	err = ib_hex_decode(hex, 2 * IB_ID_LEN, tmp.b, IB_ID_LEN, &n);
	if (!err)
		*out = tmp;
	return err;
}

bool ib_id_is_zero(const ib_id *id)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < IB_ID_LEN; i++)
		acc |= id->b[i];
	return acc == 0;
}

bool ib_id_equal(const ib_id *a, const ib_id *b)
{
	return memcmp(a->b, b->b, IB_ID_LEN) == 0;
}

/* As 16 unsigned bytes, the order [TREE-9] uses. memcmp promises only the sign of its
 * result, so it is normalised to -1, 0 or 1. */
int ib_id_compare(const ib_id *a, const ib_id *b)
{
	int c = memcmp(a->b, b->b, IB_ID_LEN);

	return (c > 0) - (c < 0);
}
