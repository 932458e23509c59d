/* Unit tests of replay.c: the anti-replay window ([FLOOD-3], [FLOOD-4]) and the sequence
 * number generator ([MSG-5]). */
#include "ib_test.h"

#include <string.h>

static struct ib_replay_window fresh(void)
{
	struct ib_replay_window w;

	memset(&w, 0, sizeof w);
	return w;
}

static void test_first_seq_accepted_whatever_it_is(void)
{
	static const uint64_t firsts[] = {0, 1, 63, 64, 1767225600000000ull, UINT64_MAX};

	for (size_t i = 0; i < sizeof firsts / sizeof firsts[0]; i++) {
		struct ib_replay_window w = fresh();

		IB_ASSERT_OK(ib_replay_check(&w, firsts[i]));
		IB_ASSERT_OK(ib_replay_accept(&w, firsts[i]));
		CU_ASSERT(w.started);
		CU_ASSERT_EQUAL(w.top, firsts[i]);
		IB_ASSERT_ERR(ib_replay_check(&w, firsts[i]), IB_ERR_REPLAY);
		IB_ASSERT_ERR(ib_replay_accept(&w, firsts[i]), IB_ERR_REPLAY);
	}
}

static void test_duplicates_refused(void)
{
	struct ib_replay_window w = fresh();

	IB_ASSERT_OK(ib_replay_accept(&w, 100));
	IB_ASSERT_ERR(ib_replay_accept(&w, 100), IB_ERR_REPLAY);
	IB_ASSERT_OK(ib_replay_accept(&w, 101));
	IB_ASSERT_ERR(ib_replay_accept(&w, 100), IB_ERR_REPLAY);
	IB_ASSERT_ERR(ib_replay_accept(&w, 101), IB_ERR_REPLAY);
}

static void test_out_of_order_in_window(void)
{
	struct ib_replay_window w = fresh();

	IB_ASSERT_OK(ib_replay_accept(&w, 1000));
	IB_ASSERT_OK(ib_replay_accept(&w, 998));
	IB_ASSERT_OK(ib_replay_accept(&w, 999));
	IB_ASSERT_ERR(ib_replay_accept(&w, 998), IB_ERR_REPLAY);
	IB_ASSERT_OK(ib_replay_accept(&w, 1005));
	IB_ASSERT_OK(ib_replay_accept(&w, 1003));
	IB_ASSERT_ERR(ib_replay_accept(&w, 999), IB_ERR_REPLAY);
	IB_ASSERT_ERR(ib_replay_accept(&w, 1003), IB_ERR_REPLAY);
	IB_ASSERT_OK(ib_replay_accept(&w, 1004));
	CU_ASSERT_EQUAL(w.top, 1005);
}

static void test_window_edges(void)
{
	struct ib_replay_window w = fresh();

	IB_ASSERT_OK(ib_replay_accept(&w, 1000));
	IB_ASSERT_ERR(ib_replay_check(&w, 1000 - 64), IB_ERR_REPLAY);
	IB_ASSERT_ERR(ib_replay_accept(&w, 1000 - 64), IB_ERR_REPLAY);
	IB_ASSERT_ERR(ib_replay_accept(&w, 0), IB_ERR_REPLAY);
	IB_ASSERT_OK(ib_replay_accept(&w, 1000 - 63));
	IB_ASSERT_ERR(ib_replay_accept(&w, 1000 - 63), IB_ERR_REPLAY);
	CU_ASSERT_EQUAL(w.bitmap, (uint64_t)1 << 63 | 1);
}

/* A jump of exactly 63 keeps the old top as the window's oldest entry; 64 drops it; 65 drops
 * one more; a far jump clears the whole bitmap. */
static void test_jumps(void)
{
	struct ib_replay_window w = fresh();

	IB_ASSERT_OK(ib_replay_accept(&w, 1000));
	IB_ASSERT_OK(ib_replay_accept(&w, 1063));
	IB_ASSERT_ERR(ib_replay_check(&w, 1000), IB_ERR_REPLAY); /* seen, top-63 */
	IB_ASSERT_OK(ib_replay_check(&w, 1001));
	IB_ASSERT_ERR(ib_replay_check(&w, 999), IB_ERR_REPLAY); /* top-64 */

	w = fresh();
	IB_ASSERT_OK(ib_replay_accept(&w, 1000));
	IB_ASSERT_OK(ib_replay_accept(&w, 1064));
	CU_ASSERT_EQUAL(w.bitmap, 1);
	IB_ASSERT_ERR(ib_replay_check(&w, 1000), IB_ERR_REPLAY); /* top-64 */
	IB_ASSERT_OK(ib_replay_accept(&w, 1001));                /* top-63, unseen */

	w = fresh();
	IB_ASSERT_OK(ib_replay_accept(&w, 1000));
	IB_ASSERT_OK(ib_replay_accept(&w, 1065));
	IB_ASSERT_ERR(ib_replay_check(&w, 1001), IB_ERR_REPLAY);
	IB_ASSERT_OK(ib_replay_check(&w, 1002));

	w = fresh();
	for (uint64_t s = 1000; s < 1064; s++)
		IB_ASSERT_OK(ib_replay_accept(&w, s));
	CU_ASSERT_EQUAL(w.bitmap, UINT64_MAX);
	IB_ASSERT_OK(ib_replay_accept(&w, 1000 + (1ull << 40)));
	CU_ASSERT_EQUAL(w.bitmap, 1);
	for (uint64_t s = 1; s < 64; s++)
		IB_ASSERT_OK(ib_replay_check(&w, w.top - s));
	IB_ASSERT_ERR(ib_replay_check(&w, w.top - 64), IB_ERR_REPLAY);
}

/* top below 63: the window reaches below zero, where no seq exists. */
static void test_near_zero(void)
{
	struct ib_replay_window w = fresh();

	IB_ASSERT_OK(ib_replay_accept(&w, 5));
	for (uint64_t s = 0; s < 5; s++)
		IB_ASSERT_OK(ib_replay_accept(&w, s));
	for (uint64_t s = 0; s <= 5; s++)
		IB_ASSERT_ERR(ib_replay_check(&w, s), IB_ERR_REPLAY);
	CU_ASSERT_EQUAL(w.bitmap, 0x3f);
	IB_ASSERT_OK(ib_replay_accept(&w, 6));
	IB_ASSERT_ERR(ib_replay_check(&w, 0), IB_ERR_REPLAY);
	IB_ASSERT_OK(ib_replay_accept(&w, 63));
	IB_ASSERT_ERR(ib_replay_check(&w, 0), IB_ERR_REPLAY); /* seen, top-63 */
	IB_ASSERT_OK(ib_replay_accept(&w, 64));
	IB_ASSERT_ERR(ib_replay_check(&w, 0), IB_ERR_REPLAY); /* below the window */
	IB_ASSERT_OK(ib_replay_accept(&w, 7));
}

static void test_uint64_max(void)
{
	struct ib_replay_window w = fresh();

	IB_ASSERT_OK(ib_replay_accept(&w, UINT64_MAX - 1));
	IB_ASSERT_OK(ib_replay_accept(&w, UINT64_MAX));
	IB_ASSERT_ERR(ib_replay_accept(&w, UINT64_MAX), IB_ERR_REPLAY);
	IB_ASSERT_ERR(ib_replay_accept(&w, UINT64_MAX - 1), IB_ERR_REPLAY);
	IB_ASSERT_OK(ib_replay_accept(&w, UINT64_MAX - 63));
	IB_ASSERT_ERR(ib_replay_accept(&w, UINT64_MAX - 64), IB_ERR_REPLAY);
	CU_ASSERT_EQUAL(w.top, UINT64_MAX);

	/* The widest jump there is: 0 to UINT64_MAX. */
	w = fresh();
	IB_ASSERT_OK(ib_replay_accept(&w, 0));
	IB_ASSERT_OK(ib_replay_accept(&w, UINT64_MAX));
	CU_ASSERT_EQUAL(w.bitmap, 1);
	IB_ASSERT_ERR(ib_replay_check(&w, 0), IB_ERR_REPLAY);
}

/* [FLOOD-4] check never changes the window; a refused accept leaves it as it was. */
static void test_check_and_refusal_do_not_modify(void)
{
	static const uint64_t probes[] = {0, 935, 936, 937, 990, 999, 1000, 1001, 5000, UINT64_MAX};
	struct ib_replay_window w = fresh(), before;

	IB_ASSERT_OK(ib_replay_check(&w, 7));
	CU_ASSERT(!w.started);
	IB_ASSERT_OK(ib_replay_accept(&w, 1000));
	IB_ASSERT_OK(ib_replay_accept(&w, 990));
	before = w;
	for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
		(void)ib_replay_check(&w, probes[i]);
		/* Member by member: `before = w` need not copy the padding after `started`. */
		CU_ASSERT(w.top == before.top && w.bitmap == before.bitmap &&
			  w.started == before.started);
	}
	IB_ASSERT_ERR(ib_replay_accept(&w, 990), IB_ERR_REPLAY);
	IB_ASSERT_ERR(ib_replay_accept(&w, 1000), IB_ERR_REPLAY);
	IB_ASSERT_ERR(ib_replay_accept(&w, 936), IB_ERR_REPLAY);
	CU_ASSERT_EQUAL(w.top, before.top);
	CU_ASSERT_EQUAL(w.bitmap, before.bitmap);
	CU_ASSERT_EQUAL(w.started, before.started);
}

/* The window against a plain model of [FLOOD-3] (the set of accepted seqs, and their max),
 * over a long pseudo-random walk of small jumps forward and back. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_against_model(void)
{
	enum { SPAN = 4096 };
	static uint8_t seen[SPAN];
	struct ib_replay_window w = fresh();
	uint64_t rng = 0x9e3779b97f4a7c15ull, top = 0, base = 200;
	bool started = false;
	unsigned mismatches = 0;

	memset(seen, 0, sizeof seen);
	for (int i = 0; i < 20000; i++) {
		uint64_t r = next_rand(&rng);
		uint64_t seq = base + r % 150;
		bool want = !started || seq > top || (top - seq < 64 && !seen[seq]);
		int got = ib_replay_accept(&w, seq);

		if ((got == IB_OK) != want)
			mismatches++;
		if (want) {
			seen[seq] = 1;
			if (!started || seq > top)
				top = seq;
			started = true;
		}
		if (i % 50 == 0 && base + 300 < SPAN)
			base += (r >> 32) % 8; /* drift forward */
	}
	CU_ASSERT_EQUAL(mismatches, 0);
	CU_ASSERT_EQUAL(w.top, top);
}

static void test_seq_next(void)
{
	struct ib_seq_gen g = {0};

	CU_ASSERT_EQUAL(ib_seq_next(&g, 1000), 1000);
	CU_ASSERT_EQUAL(ib_seq_next(&g, 1000), 1001); /* clock stalls */
	CU_ASSERT_EQUAL(ib_seq_next(&g, 1001), 1002);
	CU_ASSERT_EQUAL(ib_seq_next(&g, 500), 1003); /* clock goes back */
	CU_ASSERT_EQUAL(ib_seq_next(&g, 0), 1004);
	CU_ASSERT_EQUAL(ib_seq_next(&g, 2000), 2000); /* clock moves on */
	CU_ASSERT_EQUAL(g.last, 2000);

	/* A zeroed generator and a clock at zero still starts above zero. */
	g.last = 0;
	CU_ASSERT_EQUAL(ib_seq_next(&g, 0), 1);

	/* Restart from a persisted seq ahead of the clock. */
	g.last = 1767225600000000ull;
	CU_ASSERT_EQUAL(ib_seq_next(&g, 1767225500000000ull), 1767225600000001ull);
}

static void test_seq_next_exhausted(void)
{
	struct ib_seq_gen g = {UINT64_MAX - 1};

	CU_ASSERT_EQUAL(ib_seq_next(&g, 5), UINT64_MAX);
	/* No seq above UINT64_MAX: 0 says so, and the generator does not move. */
	CU_ASSERT_EQUAL(ib_seq_next(&g, 5), 0);
	CU_ASSERT_EQUAL(ib_seq_next(&g, UINT64_MAX), 0);
	CU_ASSERT_EQUAL(g.last, UINT64_MAX);

	g.last = 7;
	CU_ASSERT_EQUAL(ib_seq_next(&g, UINT64_MAX), UINT64_MAX);
}

static const struct ib_test_case cases[] = {
    IB_TEST(test_first_seq_accepted_whatever_it_is, "FLOOD-3"),
    IB_TEST(test_duplicates_refused, "FLOOD-3"),
    IB_TEST(test_out_of_order_in_window, "FLOOD-3"),
    IB_TEST(test_window_edges, "FLOOD-3"),
    IB_TEST(test_jumps, "FLOOD-3"),
    IB_TEST(test_near_zero, "FLOOD-3"),
    IB_TEST(test_uint64_max, "FLOOD-3"),
    IB_TEST(test_check_and_refusal_do_not_modify, "FLOOD-3 FLOOD-4"),
    IB_TEST(test_against_model, "FLOOD-3"),
    IB_TEST(test_seq_next, "MSG-5"),
    IB_TEST(test_seq_next_exhausted, "MSG-5"),
    IB_TEST_END};

const struct ib_test_suite ib_suite_replay = {"replay", NULL, NULL, cases};
