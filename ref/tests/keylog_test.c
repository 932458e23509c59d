/* Unit tests of keylog.c: the TLS key log that `interbot run --keylog` and interbot-conform
 * --keylog write. Real handshakes (a harness tree of two nodes) fill it; the files it must
 * refuse are made here. ci/test-trace decrypts a live capture with one. */
#include "ib_test.h"

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECOND 1000000ull

/* What OpenSSL logs for each end of a TLS 1.3 handshake, one line each. */
static const char *const labels[] = {
	"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
	"CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET",
};
#define N_LABELS (sizeof labels / sizeof labels[0])

static void keylog_path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", ib_test_tmpdir(), name);
}

static long size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* A chain of two nodes, formed: at least one handshake, logged at both ends. */
static void handshake(void)
{
	hn_tree_free(ib_test_formed_tree("chain:2", 7, 10 * SECOND));
}

/* Counts the lines of path by label; every line must be `LABEL <64 hex> <hex>`. Returns the
 * number of lines, -1 for a line of another form. */
static long count_lines(const char *path, size_t counts[N_LABELS])
{
	char line[512], random[65], secret[200], label[64];
	FILE *f = fopen(path, "r");
	long n = 0;

	memset(counts, 0, N_LABELS * sizeof counts[0]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while (n >= 0 && fgets(line, sizeof line, f)) {
		size_t i = 0;

		if (sscanf(line, "%63s %64[0-9a-f] %199[0-9a-f]", label, random, secret) != 3 ||
		    strlen(random) != 64) {
			n = -1;
			break;
		}
		while (i < N_LABELS && strcmp(label, labels[i]) != 0)
			i++;
		if (i == N_LABELS) {
			n = -1;
			break;
		}
		counts[i]++;
		n++;
	}
	fclose(f);
	return n;
}

/* Both ends of every handshake write every secret; the file is the owner's alone; a closed
 * key log gets no more lines. */
static void test_writes_every_secret(void)
{
	size_t counts[N_LABELS];
	char path[512];
	struct stat st;
	long n, size;

	keylog_path(path, sizeof path, "secrets.log");
	IB_ASSERT_OK(ib_keylog_open(path, NULL));
	CU_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	handshake();
	n = count_lines(path, counts);
	CU_ASSERT(n >= (long)(2 * N_LABELS));
	for (size_t i = 0; i < N_LABELS; i++)
		CU_ASSERT(counts[i] >= 2 && counts[i] == counts[0]);
	ib_keylog_close();
	size = size_of(path);
	handshake();
	CU_ASSERT_EQUAL(size_of(path), size);
	ib_keylog_close();  /* twice: nothing */
}

/* An existing key log of ours is appended to, never truncated. */
static void test_appends(void)
{
	char path[512], first[64] = "";
	FILE *f;

	keylog_path(path, sizeof path, "kept.log");
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("# an earlier run\n", f);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(chmod(path, 0600), 0);
	IB_ASSERT_OK(ib_keylog_open(path, NULL));
	handshake();
	ib_keylog_close();
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NOT_NULL(fgets(first, sizeof first, f));
	fclose(f);
	CU_ASSERT_STRING_EQUAL(first, "# an earlier run\n");
	CU_ASSERT(size_of(path) > (long)sizeof "# an earlier run\n");
}

/* ib_keylog_open(path) fails with want, diag naming path and saying `why`. */
static void refused(const char *path, int want, const char *why)
{
	struct ib_diag diag = { 0 };

	IB_ASSERT_ERR(ib_keylog_open(path, &diag), want);
	CU_ASSERT_STRING_EQUAL(diag.file, path);
	if (!strstr(diag.reason, why))
		fprintf(stderr, "keylog: %s: reason '%s', expected '%s'\n", path, diag.reason, why);
	CU_ASSERT(strstr(diag.reason, why) != NULL);
}

/* An empty file at path with mode. */
static void empty_file(const char *path, mode_t mode)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(chmod(path, mode), 0);
}

/* A file that others could read, or that leads elsewhere, is refused as it is, unchanged;
 * the key log open before goes on. */
static void test_refusals(void)
{
	char good[512], target[512], symlinked[512], open_mode[512], group[512], hard[512],
		hard2[512], fifo[512], dir[512], missing[512];
	struct ib_diag diag = { 0 };
	size_t counts[N_LABELS];

	keylog_path(good, sizeof good, "good.log");
	keylog_path(target, sizeof target, "target");
	keylog_path(symlinked, sizeof symlinked, "link.log");
	keylog_path(open_mode, sizeof open_mode, "open.log");
	keylog_path(group, sizeof group, "group.log");
	keylog_path(hard, sizeof hard, "hard.log");
	keylog_path(hard2, sizeof hard2, "hard-other-name");
	keylog_path(fifo, sizeof fifo, "fifo.log");
	keylog_path(dir, sizeof dir, "dir.log");
	keylog_path(missing, sizeof missing, "no/such/dir.log");
	IB_ASSERT_OK(ib_keylog_open(good, NULL));

	/* A symbolic link, even to a file of ours with mode 0600. */
	empty_file(target, 0600);
	CU_ASSERT_EQUAL_FATAL(symlink(target, symlinked), 0);
	refused(symlinked, IB_ERR_IO, "symbolic link");
	/* Any permission for group or others, and the mode is left as it was. */
	empty_file(open_mode, 0644);
	refused(open_mode, IB_ERR_KEY_PERMS, "mode 0644");
	empty_file(group, 0620);
	refused(group, IB_ERR_KEY_PERMS, "mode 0620");
	/* A second name: a hard link planted where the key log was to be. */
	empty_file(hard, 0600);
	CU_ASSERT_EQUAL_FATAL(link(hard, hard2), 0);
	refused(hard, IB_ERR_IO, "2 hard links");
	/* Not a regular file; nowhere to create one. */
	CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
	refused(fifo, IB_ERR_IO, "not a regular file");
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
	refused(dir, IB_ERR_IO, "cannot open");
	refused(missing, IB_ERR_IO, "cannot open");
	/* Another user's file: only root can make one here. */
	if (geteuid() == 0) {
		char other[512];

		keylog_path(other, sizeof other, "other.log");
		empty_file(other, 0600);
		CU_ASSERT_EQUAL_FATAL(chown(other, 65534, 65534), 0);
		refused(other, IB_ERR_KEY_PERMS, "owned by uid 65534");
		CU_ASSERT_EQUAL(size_of(other), 0);
	}
	IB_ASSERT_ERR(ib_keylog_open("", &diag), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_keylog_open(NULL, NULL), IB_ERR_INVALID_ARG);

	/* Nothing was written to the refused files, and the key log before still gets lines. */
	handshake();
	ib_keylog_close();
	CU_ASSERT_EQUAL(size_of(target), 0);
	CU_ASSERT_EQUAL(size_of(open_mode), 0);
	CU_ASSERT_EQUAL(size_of(hard), 0);
	CU_ASSERT(count_lines(good, counts) >= (long)(2 * N_LABELS));
}

static const struct ib_test_case cases[] = {
	IB_TEST(test_writes_every_secret, ""),
	IB_TEST(test_appends, ""),
	IB_TEST(test_refusals, ""),
	IB_TEST_END};

const struct ib_test_suite ib_suite_keylog = {"keylog", NULL, NULL, cases};
