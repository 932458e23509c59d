/*
 * The unit test runner: registers every suite (the Makefile generates the list), runs them
 * with CUnit's basic interface, and exits non-zero on any failure.
 *   TESTS=frame,message build/bin/ib-unit    runs only those suites
 *   TESTS=keyring.test_match_spki_whole_key  runs only that case (ci/mutants --prove-unit)
 *   build/bin/ib-unit --list                 prints "suite.case: REQ-1 REQ-2" lines
 */
#include "ib_test.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IB_SUITE(name) extern const struct ib_test_suite ib_suite_##name;
#include "suites.inc"
#undef IB_SUITE

static const struct ib_test_suite *const all_suites[] = {
#define IB_SUITE(name) &ib_suite_##name,
#include "suites.inc"
#undef IB_SUITE
	NULL
};

/* True if the comma-separated list (empty: everything) names the suite, or, with a case, the
 * suite or that "suite.case". */
static int selected(const char *list, const char *suite, const char *test)
{
	size_t n = strlen(suite), t = test ? strlen(test) : 0;
	const char *p = list;

	if (!list || !*list)
		return 1;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && strncmp(p, suite, n) == 0)
			return 1;
		if (len > n && strncmp(p, suite, n) == 0 && p[n] == '.' &&
		    (!test || (len == n + 1 + t && strncmp(p + n + 1, test, t) == 0)))
			return 1;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

static void list_cases(void)
{
	for (size_t i = 0; all_suites[i]; i++)
		for (const struct ib_test_case *c = all_suites[i]->cases; c->name; c++)
			printf("%s.%s: %s\n", all_suites[i]->name, c->name, c->requirements);
}

static int register_suites(const char *only)
{
	for (size_t i = 0; all_suites[i]; i++) {
		const struct ib_test_suite *s = all_suites[i];
		CU_pSuite cu;

		if (!selected(only, s->name, NULL))
			continue;
		cu = CU_add_suite(s->name, s->setup, s->teardown);
		if (!cu)
			return -1;
		for (const struct ib_test_case *c = s->cases; c->name; c++)
			if (selected(only, s->name, c->name) && !CU_add_test(cu, c->name, c->fn))
				return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned failed;
	int rc = EXIT_FAILURE;

	if (argc > 1 && strcmp(argv[1], "--list") == 0) {
		list_cases();
		return EXIT_SUCCESS;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return EXIT_FAILURE;
	if (register_suites(getenv("TESTS")) != 0) {
		fprintf(stderr, "ib-unit: %s\n", CU_get_error_msg());
		goto out;
	}
	CU_basic_set_mode(getenv("VERBOSE") ? CU_BRM_VERBOSE : CU_BRM_NORMAL);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	if (CU_get_error() == CUE_SUCCESS && failed == 0 &&
	    CU_get_number_of_suites_failed() == 0)
		rc = EXIT_SUCCESS;
out:
	CU_cleanup_registry();
	return rc;
}
