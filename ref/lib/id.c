/*
 * id.c - id_bot names (spec section 3): hex form, comparison.
 *
 * ib_id_from_spki ([ID-2]) needs MD5 and lives with the other OpenSSL code in identity.c.
 */
#include "interbot.h"

#include <string.h>

static const char hex_digits[] = "0123456789abcdef";

/* For people an id_bot is 32 lowercase hex digits (spec section 3). */
void ib_id_to_hex(const ib_id *id, char out[2 * IB_ID_LEN + 1])
{
	for (size_t i = 0; i < IB_ID_LEN; i++) {
		out[2 * i] = hex_digits[id->b[i] >> 4];
		out[2 * i + 1] = hex_digits[id->b[i] & 0x0f];
	}
	out[2 * IB_ID_LEN] = '\0';
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

int ib_id_from_hex(ib_id *out, const char *hex)
{
	ib_id tmp;

	if (!hex)
		return IB_ERR_INVALID_ARG;
	/* strnlen: never read more of a long string than the 33 bytes that decide. */
	if (strnlen(hex, 2 * IB_ID_LEN + 1) != 2 * IB_ID_LEN)
		return IB_ERR_RANGE;
	for (size_t i = 0; i < IB_ID_LEN; i++) {
		int hi = hex_value(hex[2 * i]);
		int lo = hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return IB_ERR_RANGE;
		tmp.b[i] = (uint8_t)(hi << 4 | lo);
	}
	*out = tmp;
	return IB_OK;
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
