/* Unit tests of verify_memo.c through ib_pubkey_verify: a check answered from the memo is
 * the check computed, and nothing but the same key, message and signature is answered. */
#include "ib_test.h"
#include "verify_memo.h"

#include <string.h>

struct signed_msg {
	struct ib_identity *id, *other;
	uint8_t msg[40];
	uint8_t sig[IB_SIG_LEN];
};

static void setup(struct signed_msg *s)
{
	memset(s, 0, sizeof *s);
	IB_ASSERT_OK(ib_identity_generate(&s->id));
	IB_ASSERT_OK(ib_identity_generate(&s->other));
	CU_ASSERT_FATAL(s->id && s->other);
	memcpy(s->msg, "the same frame, seen by every node.....", sizeof s->msg);
	IB_ASSERT_OK(ib_identity_sign(s->id, s->msg, sizeof s->msg, s->sig));
}

static void teardown(struct signed_msg *s)
{
	ib_identity_free(s->id);
	ib_identity_free(s->other);
	IB_ASSERT_OK(ib_verify_memo_set(0));
}

static int check(const struct ib_identity *id, const uint8_t *msg, size_t len,
		 const uint8_t *sig)
{
	return ib_pubkey_verify(ib_identity_pubkey(id), msg, len, sig, IB_SIG_LEN);
}

/* The second check of a frame comes from the memo, with the same answer. */
static void test_second_check_is_a_hit(void)
{
	struct signed_msg s;
	uint64_t hits, computed;

	setup(&s);
	IB_ASSERT_OK(ib_verify_memo_set(4));
	IB_ASSERT_OK(check(s.id, s.msg, sizeof s.msg, s.sig));
	IB_ASSERT_OK(check(s.id, s.msg, sizeof s.msg, s.sig));
	ib_verify_memo_counts(&hits, &computed);
	CU_ASSERT_EQUAL(computed, 1);
	CU_ASSERT_EQUAL(hits, 1);
	teardown(&s);
}

/* A look-alike in the slot (same signature; another key, another message, a message one
 * byte shorter) is computed, and fails; a failure is remembered as a failure. */
static void test_look_alikes_are_computed(void)
{
	struct signed_msg s;
	uint8_t changed[sizeof s.msg];
	uint64_t hits, computed;

	setup(&s);
	IB_ASSERT_OK(ib_verify_memo_set(4));
	/* Each look-alike differs from the slot's last occupant in one thing only. */
	IB_ASSERT_OK(check(s.id, s.msg, sizeof s.msg, s.sig));
	memcpy(changed, s.msg, sizeof changed);
	changed[sizeof changed - 1] ^= 1;
	IB_ASSERT_ERR(check(s.id, changed, sizeof changed, s.sig), IB_ERR_BAD_SIGNATURE);
	IB_ASSERT_OK(check(s.id, s.msg, sizeof s.msg, s.sig));
	IB_ASSERT_ERR(check(s.other, s.msg, sizeof s.msg, s.sig), IB_ERR_BAD_SIGNATURE);
	IB_ASSERT_OK(check(s.id, s.msg, sizeof s.msg, s.sig));
	IB_ASSERT_ERR(check(s.id, s.msg, sizeof s.msg - 1, s.sig), IB_ERR_BAD_SIGNATURE);
	ib_verify_memo_counts(&hits, &computed);
	CU_ASSERT_EQUAL(hits, 0);
	CU_ASSERT_EQUAL(computed, 6);
	/* The last one took the slot: asked again, the failure comes from the memo. */
	IB_ASSERT_ERR(check(s.id, s.msg, sizeof s.msg - 1, s.sig), IB_ERR_BAD_SIGNATURE);
	ib_verify_memo_counts(&hits, &computed);
	CU_ASSERT_EQUAL(hits, 1);
	/* The good one was pushed out: computed again, still good. */
	IB_ASSERT_OK(check(s.id, s.msg, sizeof s.msg, s.sig));
	ib_verify_memo_counts(&hits, &computed);
	CU_ASSERT_EQUAL(computed, 7);
	teardown(&s);
}

/* Off (the node program's case), nothing is kept or counted. */
static void test_off_by_default(void)
{
	struct signed_msg s;
	uint64_t hits, computed;

	setup(&s);
	IB_ASSERT_OK(check(s.id, s.msg, sizeof s.msg, s.sig));
	IB_ASSERT_OK(check(s.id, s.msg, sizeof s.msg, s.sig));
	ib_verify_memo_counts(&hits, &computed);
	CU_ASSERT_EQUAL(hits + computed, 0);
	IB_ASSERT_ERR(ib_verify_memo_set(25), IB_ERR_RANGE);
	teardown(&s);
}

static const struct ib_test_case cases[] = {
    IB_TEST(test_second_check_is_a_hit, ""),
    IB_TEST(test_look_alikes_are_computed, ""),
    IB_TEST(test_off_by_default, ""),
    IB_TEST_END};

const struct ib_test_suite ib_suite_verify_memo = {"verify_memo", NULL, NULL, cases};
