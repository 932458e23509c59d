/* Unit tests of reader.c: bounds, big-endian integers, sub-readers, strings ([MSG-8]). */
#include "ib_test.h"
#include "reader.h"

#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Integers are big-endian (spec section 1). */
static void test_integers_big_endian(void)
{
	static const uint8_t in[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
				      0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12 };
	struct ib_reader r;
	uint8_t v8;
	uint16_t v16;
	uint32_t v24, v32;
	uint64_t v64;

	ib_reader_init(&r, in, sizeof in);
	IB_ASSERT_OK(ib_reader_u8(&r, &v8));
	CU_ASSERT_EQUAL(v8, 0x01);
	IB_ASSERT_OK(ib_reader_u16(&r, &v16));
	CU_ASSERT_EQUAL(v16, 0x0203);
	IB_ASSERT_OK(ib_reader_u24(&r, &v24));
	CU_ASSERT_EQUAL(v24, 0x040506);
	IB_ASSERT_OK(ib_reader_u32(&r, &v32));
	CU_ASSERT_EQUAL(v32, 0x0708090a);
	IB_ASSERT_OK(ib_reader_u64(&r, &v64));
	CU_ASSERT_EQUAL(v64, 0x0b0c0d0e0f101112ull);
	CU_ASSERT_EQUAL(ib_reader_left(&r), 0);
	IB_ASSERT_OK(ib_reader_end(&r));
}

static void test_integers_high_bit(void)
{
	static const uint8_t in[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct ib_reader r;
	uint64_t v64;
	uint32_t v24;

	ib_reader_init(&r, in, sizeof in);
	IB_ASSERT_OK(ib_reader_u64(&r, &v64));
	CU_ASSERT_EQUAL(v64, UINT64_MAX);
	ib_reader_init(&r, in, 3);
	IB_ASSERT_OK(ib_reader_u24(&r, &v24));
	CU_ASSERT_EQUAL(v24, 0xffffffu);
}

/* Every read of n bytes on n-1 bytes fails with TRUNCATED and leaves the reader alone. */
static void test_truncated_leaves_reader(void)
{
	static const uint8_t in[32] = { 0 };
	struct ib_reader r;
	struct ib_slice s;
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	ib_id id;

	for (size_t skip = 0; skip <= 1; skip++) {
		/* Place the reader at offset skip so that "unchanged" is not simply 0. */
		ib_reader_init(&r, in, skip);
		IB_ASSERT_OK(ib_reader_bytes(&r, skip, &s));
		IB_ASSERT_ERR(ib_reader_u8(&r, &v8), IB_ERR_TRUNCATED);
		CU_ASSERT_EQUAL(r.off, skip);
		ib_reader_init(&r, in, skip + 1);
		IB_ASSERT_OK(ib_reader_bytes(&r, skip, &s));
		IB_ASSERT_ERR(ib_reader_u16(&r, &v16), IB_ERR_TRUNCATED);
		CU_ASSERT_EQUAL(r.off, skip);
		ib_reader_init(&r, in, skip + 2);
		IB_ASSERT_OK(ib_reader_bytes(&r, skip, &s));
		IB_ASSERT_ERR(ib_reader_u24(&r, &v32), IB_ERR_TRUNCATED);
		CU_ASSERT_EQUAL(r.off, skip);
		ib_reader_init(&r, in, skip + 3);
		IB_ASSERT_OK(ib_reader_bytes(&r, skip, &s));
		IB_ASSERT_ERR(ib_reader_u32(&r, &v32), IB_ERR_TRUNCATED);
		CU_ASSERT_EQUAL(r.off, skip);
		ib_reader_init(&r, in, skip + 7);
		IB_ASSERT_OK(ib_reader_bytes(&r, skip, &s));
		IB_ASSERT_ERR(ib_reader_u64(&r, &v64), IB_ERR_TRUNCATED);
		CU_ASSERT_EQUAL(r.off, skip);
		ib_reader_init(&r, in, skip + 15);
		IB_ASSERT_OK(ib_reader_bytes(&r, skip, &s));
		IB_ASSERT_ERR(ib_reader_id(&r, &id), IB_ERR_TRUNCATED);
		CU_ASSERT_EQUAL(r.off, skip);
		ib_reader_init(&r, in, skip + 4);
		IB_ASSERT_OK(ib_reader_bytes(&r, skip, &s));
		IB_ASSERT_ERR(ib_reader_bytes(&r, 5, &s), IB_ERR_TRUNCATED);
		CU_ASSERT_EQUAL(r.off, skip);
	}
}

static void test_empty_input(void)
{
	struct ib_reader r;
	struct ib_slice s;
	uint8_t v;

	ib_reader_init(&r, NULL, 0);
	CU_ASSERT_EQUAL(ib_reader_left(&r), 0);
	IB_ASSERT_ERR(ib_reader_u8(&r, &v), IB_ERR_TRUNCATED);
	IB_ASSERT_ERR(ib_reader_string(&r, &s), IB_ERR_TRUNCATED);
	IB_ASSERT_ERR(ib_reader_blob(&r, &s), IB_ERR_TRUNCATED);
	IB_ASSERT_OK(ib_reader_bytes(&r, 0, &s));
	CU_ASSERT_EQUAL(s.len, 0);
	IB_ASSERT_OK(ib_reader_end(&r));
}

static void test_bytes_and_id(void)
{
	static const uint8_t in[] = { 0xaa, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
				      0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0xbb };
	struct ib_reader r;
	struct ib_slice s;
	ib_id id;

	ib_reader_init(&r, in, sizeof in);
	IB_ASSERT_OK(ib_reader_bytes(&r, 1, &s));
	CU_ASSERT_PTR_EQUAL(s.ptr, in);
	CU_ASSERT_EQUAL(s.len, 1);
	IB_ASSERT_OK(ib_reader_id(&r, &id));
	for (size_t i = 0; i < IB_ID_LEN; i++)
		CU_ASSERT_EQUAL(id.b[i], i);
	CU_ASSERT_EQUAL(ib_reader_left(&r), 1);
	IB_ASSERT_ERR(ib_reader_end(&r), IB_ERR_TRAILING);
	IB_ASSERT_OK(ib_reader_bytes(&r, 1, &s));
	CU_ASSERT_EQUAL(s.ptr[0], 0xbb);
	IB_ASSERT_OK(ib_reader_end(&r));
}

/* [MSG-7] a length prefix that points past the end is truncated; the reader does not move. */
static void test_string_and_blob_prefix(void)
{
	static const uint8_t str[] = { 0x03, 'a', 'b', 'c', 0x03, 'x', 'y' };
	static const uint8_t blob[] = { 0x00, 0x00, 0x02, 0xff, 0x00, 0x00, 0x00, 0x02, 0x01 };
	struct ib_reader r;
	struct ib_slice s;

	ib_reader_init(&r, str, sizeof str);
	IB_ASSERT_OK(ib_reader_string(&r, &s));
	CU_ASSERT_EQUAL(s.len, 3);
	CU_ASSERT_EQUAL(memcmp(s.ptr, "abc", 3), 0);
	IB_ASSERT_ERR(ib_reader_string(&r, &s), IB_ERR_TRUNCATED);
	CU_ASSERT_EQUAL(r.off, 4);

	ib_reader_init(&r, blob, sizeof blob);
	IB_ASSERT_OK(ib_reader_blob(&r, &s));
	CU_ASSERT_EQUAL(s.len, 2);
	CU_ASSERT_EQUAL(s.ptr[0], 0xff);
	CU_ASSERT_EQUAL(s.ptr[1], 0x00);
	IB_ASSERT_ERR(ib_reader_blob(&r, &s), IB_ERR_TRUNCATED);
	CU_ASSERT_EQUAL(r.off, 5);
	/* A prefix cut short is truncated too. */
	ib_reader_init(&r, blob, 2);
	IB_ASSERT_ERR(ib_reader_blob(&r, &s), IB_ERR_TRUNCATED);
	CU_ASSERT_EQUAL(r.off, 0);
}

/* [MSG-7] length-prefixed parts are read from a sub-reader that must be used up exactly. */
static void test_sub_reader(void)
{
	static const uint8_t in[] = { 0x01, 0x02, 0x03, 0x04 };
	struct ib_reader r, sub;
	uint16_t v;
	uint8_t b;

	ib_reader_init(&r, in, sizeof in);
	IB_ASSERT_OK(ib_reader_sub(&r, 3, &sub));
	CU_ASSERT_EQUAL(ib_reader_left(&r), 1);
	CU_ASSERT_EQUAL(ib_reader_left(&sub), 3);
	IB_ASSERT_OK(ib_reader_u16(&sub, &v));
	CU_ASSERT_EQUAL(v, 0x0102);
	IB_ASSERT_ERR(ib_reader_end(&sub), IB_ERR_TRAILING);
	/* The sub-reader ends where its part ends, not where the input does. */
	IB_ASSERT_ERR(ib_reader_u16(&sub, &v), IB_ERR_TRUNCATED);
	IB_ASSERT_OK(ib_reader_u8(&sub, &b));
	CU_ASSERT_EQUAL(b, 0x03);
	IB_ASSERT_OK(ib_reader_end(&sub));
	IB_ASSERT_ERR(ib_reader_sub(&r, 2, &sub), IB_ERR_TRUNCATED);
	CU_ASSERT_EQUAL(ib_reader_left(&r), 1);
}

struct utf8_case {
	const char *what;
	uint8_t len;
	uint8_t bytes[6];
};

/* RFC 3629 edges that are valid. */
static const struct utf8_case utf8_good[] = {
	{ "empty", 0, { 0 } },
	{ "ascii", 3, { 'a', 'b', 'c' } },
	{ "U+007F", 1, { 0x7f } },
	{ "U+0080", 2, { 0xc2, 0x80 } },
	{ "U+07FF", 2, { 0xdf, 0xbf } },
	{ "U+0800", 3, { 0xe0, 0xa0, 0x80 } },
	{ "U+D7FF", 3, { 0xed, 0x9f, 0xbf } },
	{ "U+E000", 3, { 0xee, 0x80, 0x80 } },
	{ "U+FFFD", 3, { 0xef, 0xbf, 0xbd } },
	{ "U+FFFF", 3, { 0xef, 0xbf, 0xbf } },
	{ "U+10000", 4, { 0xf0, 0x90, 0x80, 0x80 } },
	{ "U+10FFFF", 4, { 0xf4, 0x8f, 0xbf, 0xbf } },
	{ "mixed", 6, { 'a', 0xc3, 0xa9, 0xe2, 0x82, 0xac } },
};

/* [MSG-8] what must be refused. */
static const struct utf8_case utf8_bad[] = {
	{ "NUL", 1, { 0x00 } },
	{ "NUL inside", 3, { 'a', 0x00, 'b' } },
	{ "overlong NUL C0 80", 2, { 0xc0, 0x80 } },
	{ "overlong C1 BF", 2, { 0xc1, 0xbf } },
	{ "overlong 3-byte E0 80 80", 3, { 0xe0, 0x80, 0x80 } },
	{ "overlong 3-byte E0 9F BF", 3, { 0xe0, 0x9f, 0xbf } },
	{ "overlong 4-byte F0 80 80 80", 4, { 0xf0, 0x80, 0x80, 0x80 } },
	{ "overlong 4-byte F0 8F BF BF", 4, { 0xf0, 0x8f, 0xbf, 0xbf } },
	{ "surrogate U+D800", 3, { 0xed, 0xa0, 0x80 } },
	{ "surrogate U+DBFF U+DC00", 6, { 0xed, 0xaf, 0xbf, 0xed, 0xb0, 0x80 } },
	{ "surrogate U+DFFF", 3, { 0xed, 0xbf, 0xbf } },
	{ "U+110000", 4, { 0xf4, 0x90, 0x80, 0x80 } },
	{ "F5 lead", 4, { 0xf5, 0x80, 0x80, 0x80 } },
	{ "FF", 1, { 0xff } },
	{ "FE", 1, { 0xfe } },
	{ "lone continuation", 1, { 0x80 } },
	{ "truncated 2-byte", 1, { 0xc3 } },
	{ "truncated 3-byte", 2, { 0xe2, 0x82 } },
	{ "truncated 4-byte", 3, { 0xf0, 0x9f, 0x98 } },
	{ "truncated then ascii", 3, { 0xe2, 0x82, 'a' } },
	{ "bad continuation", 3, { 0xe2, 0x28, 0xa1 } },
	{ "5-byte form", 5, { 0xf8, 0x88, 0x80, 0x80, 0x80 } },
};

/* Fails with the case's name, which CU_FAIL would not show. */
static void check_case(bool ok, const struct utf8_case *c, unsigned line)
{
	CU_assertImplementation(ok, line, c->what, __FILE__, "", CU_FALSE);
}

static void test_utf8_valid(void)
{
	for (size_t i = 0; i < ARRAY_LEN(utf8_good); i++)
		check_case(ib_utf8_valid(utf8_good[i].bytes, utf8_good[i].len), &utf8_good[i],
			   __LINE__);
	for (size_t i = 0; i < ARRAY_LEN(utf8_bad); i++)
		check_case(!ib_utf8_valid(utf8_bad[i].bytes, utf8_bad[i].len), &utf8_bad[i],
			   __LINE__);
}

/* The same cases through ib_reader_string: BAD_STRING, and the reader does not move. */
static void test_string_utf8(void)
{
	for (size_t i = 0; i < ARRAY_LEN(utf8_good); i++) {
		uint8_t in[8];
		struct ib_reader r;
		struct ib_slice s;

		in[0] = utf8_good[i].len;
		memcpy(in + 1, utf8_good[i].bytes, utf8_good[i].len);
		ib_reader_init(&r, in, 1u + utf8_good[i].len);
		IB_ASSERT_OK(ib_reader_string(&r, &s));
		CU_ASSERT_EQUAL(s.len, utf8_good[i].len);
		IB_ASSERT_OK(ib_reader_end(&r));
	}
	for (size_t i = 0; i < ARRAY_LEN(utf8_bad); i++) {
		uint8_t in[8];
		struct ib_reader r;
		struct ib_slice s = { NULL, 99 };

		in[0] = utf8_bad[i].len;
		memcpy(in + 1, utf8_bad[i].bytes, utf8_bad[i].len);
		ib_reader_init(&r, in, 1u + utf8_bad[i].len);
		IB_ASSERT_ERR(ib_reader_string(&r, &s), IB_ERR_BAD_STRING);
		CU_ASSERT_EQUAL(r.off, 0);
		CU_ASSERT_EQUAL(s.len, 99);
	}
}

/* A string whose bytes are cut is truncated, not a bad string. */
static void test_string_truncated_sequence_vs_input(void)
{
	static const uint8_t in[] = { 0x02, 0xc3 };
	struct ib_reader r;
	struct ib_slice s;

	ib_reader_init(&r, in, sizeof in);
	IB_ASSERT_ERR(ib_reader_string(&r, &s), IB_ERR_TRUNCATED);
	CU_ASSERT_EQUAL(r.off, 0);
}

static void test_string_max_length(void)
{
	uint8_t in[1 + 255];
	struct ib_reader r;
	struct ib_slice s;

	in[0] = 255;
	memset(in + 1, 'k', 255);
	ib_reader_init(&r, in, sizeof in);
	IB_ASSERT_OK(ib_reader_string(&r, &s));
	CU_ASSERT_EQUAL(s.len, 255);
	IB_ASSERT_OK(ib_reader_end(&r));
}

static const struct ib_test_case cases[] = {
	IB_TEST(test_integers_big_endian, ""),
	IB_TEST(test_integers_high_bit, ""),
	IB_TEST(test_truncated_leaves_reader, "MSG-7"),
	IB_TEST(test_empty_input, "MSG-7"),
	IB_TEST(test_bytes_and_id, "MSG-7"),
	IB_TEST(test_string_and_blob_prefix, "MSG-7"),
	IB_TEST(test_sub_reader, "MSG-7"),
	IB_TEST(test_utf8_valid, "MSG-8"),
	IB_TEST(test_string_utf8, "MSG-8"),
	IB_TEST(test_string_truncated_sequence_vs_input, "MSG-7 MSG-8"),
	IB_TEST(test_string_max_length, ""),
	IB_TEST_END,
};

const struct ib_test_suite ib_suite_reader = { "reader", NULL, NULL, cases };
