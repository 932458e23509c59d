/*
 * ib_test.h - how unit tests declare themselves.
 *
 * Each ref/tests/NAME_test.c defines `const struct ib_test_suite ib_suite_NAME`; the Makefile
 * collects them into the runner. Each case names the spec requirement IDs it checks, which
 * ci/spec-coverage reads: IB_TEST(test_fn, "FRAME-3 FRAME-8"). A case that checks no
 * requirement (a helper's own behaviour) says "".
 */
#ifndef IB_TEST_H
#define IB_TEST_H

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdint.h>

#include "interbot.h"

/* For clang-tidy's analyzer (make lint) only, which defines __clang_analyzer__: a failed
 * fatal assertion does not return (CUnit jumps out of the test), which the analyzer cannot
 * see in the library, so it followed every NULL that a CU_ASSERT_..._FATAL had just ruled
 * out. Each argument is evaluated once, as before. No build compiles this. */
#ifdef __clang_analyzer__
#include <stdlib.h>
#define CU_assertImplementation(value, line, cond, file, func, fatal)                     \
	((value) ? CU_assertImplementation(CU_TRUE, line, cond, file, func, fatal)            \
		 : (fatal) ? (CU_assertImplementation(CU_FALSE, line, cond, file, func, fatal), \
			      abort(), CU_FALSE)                                                \
			   : CU_assertImplementation(CU_FALSE, line, cond, file, func, fatal))
#endif

struct ib_test_case {
	const char *name;
	void (*fn)(void);
	const char *requirements;
};

struct ib_test_suite {
	const char *name;
	int (*setup)(void);         /* may be NULL */
	int (*teardown)(void);      /* may be NULL */
	const struct ib_test_case *cases;   /* ends with IB_TEST_END */
};

#define IB_TEST(fn, reqs) { #fn, fn, reqs }
#define IB_TEST_END { NULL, NULL, NULL }

/* Asserts that an expression returns exactly the expected ib_err, and says both names. */
#define IB_ASSERT_ERR(expr, want) \
	ib_test_assert_err((expr), (want), #expr, __FILE__, __LINE__)
#define IB_ASSERT_OK(expr) IB_ASSERT_ERR((expr), IB_OK)

void ib_test_assert_err(int got, int want, const char *expr, const char *file, int line);

/* x, after a fatal assertion that it is not NULL: a frame that did not come fails the test
 * instead of crashing the run (x is evaluated twice: a lookup, not an action). */
#define IB_NONNULL(x) \
	(CU_assertImplementation((x) != NULL, __LINE__, "IB_NONNULL(" #x ")", __FILE__, "", \
				 CU_TRUE), (x))

/* Hex helpers for tests: returns the number of bytes, aborts on bad hex (a test bug). */
size_t ib_test_unhex(const char *hex, uint8_t *out, size_t cap);

/* The directory where tests may create files; made fresh per run under $TMPDIR. */
const char *ib_test_tmpdir(void);

/* RFC 8032 section 7.1 secret keys of TEST 1, 2, 3 (alice, bob, carol). */
extern const char *const ib_test_secret_hex[3];
/* Identity i of those (0 alice, 1 bob, 2 carol); a failed test if it cannot be made. */
struct ib_identity *ib_test_identity(int i);
/* A harness tree (conformance/harness) of the given shape, started and formed within
 * within_us of virtual time; a fatal test failure otherwise. */
struct hn_tree;
struct hn_tree *ib_test_formed_tree(const char *shape, uint64_t seed, uint64_t within_us);
/* Entries of dir other than "." and "..". */
size_t ib_test_count_entries(const char *dir);

/* Out of descriptors: lowers RLIMIT_NOFILE to 512 at most (the old limit in *old), takes
 * every descriptor left but one, and returns how many it took (fds[0..]); a fatal test
 * failure if it cannot. The one left is for the test's own socket, none for the node's. */
struct rlimit;
size_t ib_test_fill_fds(int *fds, size_t cap, struct rlimit *old);
/* Gives them back and restores the limit. */
void ib_test_free_fds(int *fds, size_t n, const struct rlimit *old);

#endif
