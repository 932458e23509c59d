/* Unit tests of seq_reserve.c ([MSG-14]): what is saved loads back, no file is no
 * reservation, and a file that is not exactly one number and a newline is refused with its
 * name and line, never read as a smaller floor. */
#include "ib_test.h"
#include "seq_reserve.h"

#include <stdio.h>
#include <string.h>

static void put(const char *dir, const char *text)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, IB_SEQ_RESERVE_FILE);
	f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs(text, f);
	fclose(f);
}

static void test_saved_loads_back(void)
{
	const char *dir = ib_test_tmpdir();
	uint64_t v = 1;

	IB_ASSERT_OK(ib_seq_reserve_load(dir, &v, NULL)); /* none yet */
	CU_ASSERT_EQUAL(v, 0);
	IB_ASSERT_OK(ib_seq_reserve_save(dir, 1767225610000000ull));
	IB_ASSERT_OK(ib_seq_reserve_load(dir, &v, NULL));
	CU_ASSERT_EQUAL(v, 1767225610000000ull);
	IB_ASSERT_OK(ib_seq_reserve_save(dir, UINT64_MAX));
	IB_ASSERT_OK(ib_seq_reserve_load(dir, &v, NULL));
	CU_ASSERT_EQUAL(v, UINT64_MAX);
}

static void test_malformed_refused(void)
{
	static const char *const bad[] = {
		"", "\n", "123", "12x\n", "-1\n", " 1\n", "1 \n", "1\n\n",
		"18446744073709551616\n",  /* 2^64 */
		"000000000000000000001\n", /* 21 characters before the newline */
	};
	const char *dir = ib_test_tmpdir();

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ib_diag diag = { 0 };
		uint64_t v = 7;

		put(dir, bad[i]);
		IB_ASSERT_ERR(ib_seq_reserve_load(dir, &v, &diag), IB_ERR_CONFIG);
		CU_ASSERT_EQUAL(v, 0);
		CU_ASSERT(strstr(diag.file, IB_SEQ_RESERVE_FILE) != NULL);
		CU_ASSERT_EQUAL(diag.line, 1);
	}
	put(dir, "18446744073709551615\n"); /* 2^64-1: the greatest */
	{
		uint64_t v = 0;

		IB_ASSERT_OK(ib_seq_reserve_load(dir, &v, NULL));
		CU_ASSERT_EQUAL(v, UINT64_MAX);
	}
}

static const struct ib_test_case cases[] = {
    IB_TEST(test_saved_loads_back, "MSG-14"),
    IB_TEST(test_malformed_refused, "MSG-14"),
    IB_TEST_END};

const struct ib_test_suite ib_suite_seq_reserve = {"seq_reserve", NULL, NULL, cases};
