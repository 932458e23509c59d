/* Shared helpers of the unit tests. */
#define _GNU_SOURCE
#include "ib_test.h"

#include "harness.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* RFC 8032, section 7.1, TEST 1, TEST 2, TEST 3: SECRET KEY. */
const char *const ib_test_secret_hex[3] = {
	"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
};

void ib_test_assert_err(int got, int want, const char *expr, const char *file, int line)
{
	char msg[512];

	snprintf(msg, sizeof msg, "%s returned %s (%d), expected %s (%d)", expr,
		 ib_errname(got), got, ib_errname(want), want);
	CU_assertImplementation(got == want, (unsigned)line, msg, file, "", CU_FALSE);
}

/* Spaces between bytes are allowed, for readable test data. */
size_t ib_test_unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (*hex) {
		size_t run = strcspn(hex, " "), got;

		if (ib_hex_decode(hex, run, out + n, cap - n, &got) != IB_OK) {
			fprintf(stderr, "ib_test_unhex: bad hex or buffer too small\n");
			abort();
		}
		n += got;
		hex += run;
		hex += strspn(hex, " ");
	}
	return n;
}

const char *ib_test_tmpdir(void)
{
	static char path[256];
	const char *base;

	if (path[0])
		return path;
	base = getenv("TMPDIR");
	snprintf(path, sizeof path, "%s/ib-unit-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(path)) {
		perror("mkdtemp");
		abort();
	}
	return path;
}

struct ib_identity *ib_test_identity(int i)
{
	uint8_t secret[IB_SECRET_LEN];
	struct ib_identity *id = NULL;

	CU_ASSERT_EQUAL_FATAL(ib_test_unhex(ib_test_secret_hex[i], secret, sizeof secret),
			      sizeof secret);
	IB_ASSERT_OK(ib_identity_from_secret(&id, secret));
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	return id;
}

size_t ib_test_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

struct hn_tree *ib_test_formed_tree(const char *shape, uint64_t seed, uint64_t within_us)
{
	struct hn_tree *t = NULL;

	IB_ASSERT_OK(hn_tree_new(&t, shape, seed));
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	IB_ASSERT_OK(hn_tree_start(t));
	CU_ASSERT_FATAL(hn_tree_run_until(t, hn_tree_formed, NULL, within_us));
	return t;
}

size_t ib_test_fill_fds(int *fds, size_t cap, struct rlimit *old)
{
	struct rlimit low;
	size_t n = 0;
	int fd;

	CU_ASSERT_FATAL(getrlimit(RLIMIT_NOFILE, old) == 0);
	low = *old;
	low.rlim_cur = old->rlim_cur < 512 ? old->rlim_cur : 512;
	CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &low) == 0);
	while (n < cap && (fd = dup(2)) >= 0)
		fds[n++] = fd;
	CU_ASSERT_FATAL(n > 0 && n < cap);
	close(fds[--n]);
	return n;
}

void ib_test_free_fds(int *fds, size_t n, const struct rlimit *old)
{
	while (n)
		close(fds[--n]);
	CU_ASSERT(setrlimit(RLIMIT_NOFILE, old) == 0);
}
