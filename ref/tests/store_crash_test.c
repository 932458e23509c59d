/*
 * store_crash_test.c - [DATA-5] a process killed with SIGKILL at any moment of its writes
 * leaves every item old or new, never broken. A child process applies versions of three keys
 * without end and reports each completed apply on a pipe; the parent kills it after a chosen
 * number of reports and a chosen delay (0 to 3 ms, spread over the rounds, so that the kill
 * lands at a different step of the next write each time), then reopens the store and checks
 * every item. The delay only places the fault; the checks hold wherever it lands, so the test
 * cannot flake. (Checked: an in-place write is caught.)
 */
#include "ib_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEYS 3
#define ROUNDS 48

static const char *const keys[KEYS] = { "alpha", "beta", "a-much-longer-key-name-for-good-measure" };

static struct ib_identity *writer(void)
{
	uint8_t secret[IB_SECRET_LEN];
	struct ib_identity *id = NULL;

	ib_test_unhex(ib_test_secret_hex[0], secret, sizeof secret);
	if (ib_identity_from_secret(&id, secret) != IB_OK)
		abort();
	return id;
}

static struct ib_keyring *keyring_of(const struct ib_identity *id)
{
	struct ib_keyring *kr = NULL;
	struct ib_pubkey *k = NULL;

	if (ib_keyring_new(&kr) || ib_pubkey_from_raw(&k, ib_pubkey_raw(ib_identity_pubkey(id))) ||
	    ib_keyring_add(kr, k))
		abort();
	return kr;
}

/* Applies version v of key i; 0 on success. */
static int apply(struct ib_store *s, const struct ib_identity *id, int i, uint64_t v)
{
	static uint8_t value[3000];
	struct ib_buf msg = { 0 }, frame = { 0 };
	struct ib_frame f;
	struct ib_msg m, back;
	int rc;

	memset(value, (int)(v & 0xff), sizeof value); /* each version's bytes differ */
	memset(&m, 0, sizeof m);
	m.h.version = 1;
	m.h.type = IB_MSG_PUBLISH;
	m.h.seq = v;
	m.u.publish = (struct ib_publish){ { (const uint8_t *)keys[i], strlen(keys[i]) }, v,
					   { value, sizeof value } };
	rc = ib_msg_encode(&msg, &m) || ib_frame_sign(&frame, id, msg.ptr, msg.len) ||
	     ib_frame_parse(&f, frame.ptr, frame.len, IB_MAX_MESSAGE_LIMIT) ||
	     ib_msg_decode(&back, f.msg.ptr, f.msg.len) || ib_store_apply(s, f.raw, &back) != 1;
	ib_buf_free(&msg);
	ib_buf_free(&frame);
	return rc;
}

/* The child: writes forever, one byte on the pipe per completed apply. */
static void writer_process(const char *dir, int report_fd)
{
	struct ib_identity *id = writer();
	struct ib_keyring *kr = keyring_of(id);
	struct ib_store *s = NULL;

	if (ib_store_open(&s, dir, kr, NULL, NULL) != IB_OK)
		_exit(3);
	for (uint64_t v = 1;; v++) {
		for (int i = 0; i < KEYS; i++) {
			if (apply(s, id, i, v) != 0)
				_exit(4);
			if (write(report_fd, "x", 1) != 1)
				_exit(5);
		}
	}
}

/* Spins for us microseconds: where the kill lands, not a wait for anything. */
static void spin_us(long us)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000L + (t.tv_nsec - t0.tv_nsec) / 1000 < us);
}

static void one_round(int round, const struct ib_keyring *kr)
{
	char dir[512];
	int fds[2];
	size_t done = 0, target = (size_t)round * 2 + 1;
	pid_t pid;
	struct ib_store *s = NULL;
	struct ib_diag diag = { 0 };
	size_t rejected = 99;

	snprintf(dir, sizeof dir, "%s/crash-%d", ib_test_tmpdir(), round);
	CU_ASSERT_FATAL(pipe(fds) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		writer_process(dir, fds[1]);
	}
	close(fds[1]);
	/* Wait for `target` completed applies, then kill it wherever it is. */
	while (done < target) {
		char c;

		if (read(fds[0], &c, 1) != 1)
			break;
		done++;
	}
	spin_us((long)round * 3000 / ROUNDS);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(fds[0]);
	CU_ASSERT_EQUAL_FATAL(done, target);

	IB_ASSERT_OK(ib_store_open(&s, dir, kr, &rejected, &diag));
	CU_ASSERT_EQUAL(rejected, 0);
	for (int i = 0; i < KEYS; i++) {
		struct ib_item item;
		/* Applies 1..done completed (the child may have done more before the kill): key
		 * i has reached version acked for sure. */
		uint64_t acked = (uint64_t)(done / KEYS + (done % KEYS > (size_t)i ? 1 : 0));
		int err = ib_store_get(s, (struct ib_slice){ (const uint8_t *)keys[i],
							     strlen(keys[i]) },
				       &item);

		if (acked == 0 && err == IB_ERR_NOT_FOUND)
			continue;
		IB_ASSERT_OK(err);
		if (err)
			continue;
		CU_ASSERT(item.version >= acked);
		/* The bytes are that version's, whole. */
		CU_ASSERT(item.value.len == 3000 && item.value.ptr[0] == (uint8_t)item.version &&
			  item.value.ptr[2999] == (uint8_t)item.version);
	}
	ib_store_free(s);
}

static void test_kill9_leaves_old_or_new(void)
{
	struct ib_identity *id = writer();
	struct ib_keyring *kr = keyring_of(id);

	for (int round = 0; round < ROUNDS; round++)
		one_round(round, kr);
	ib_keyring_free(kr);
	ib_identity_free(id);
}

static const struct ib_test_case cases[] = {
	IB_TEST(test_kill9_leaves_old_or_new, "DATA-5 DATA-6"),
	IB_TEST_END
};

const struct ib_test_suite ib_suite_store_crash = { "store_crash", NULL, NULL, cases };
