/* t_flood.c - flooding, anti-replay and routing (spec section 9), seen from tester peers
 * around the IUT: on which links a frame leaves the IUT, byte for byte, and on which it must
 * not. A negative ("not forwarded to T2") is always closed by a sentinel: a later frame that
 * must take the same way, so that once it arrived, the unwanted one would have too. */
#include "cf.h"

#include <stdlib.h>
#include <string.h>

#define FLOOD_WAIT_MS 2000u        /* a forwarded frame reaches a tester */
#define BURST_FIRST 200            /* frames sent right after a link came up */
#define BURST_SECOND 100           /* the same toward a link that just came up */

/* ---- frames ---------------------------------------------------------------------------- */

static const ib_id *id_of(const struct hn_peer *p)
{
	return ib_identity_id(hn_peer_identity(p));
}

static const ib_id *raw_origin(const uint8_t *raw)
{
	return (const ib_id *)raw;  /* the envelope starts with it; ib_id is bytes only */
}

/* The message's seq, read from the bytes so that undecodable frames have one too. */
static uint64_t raw_seq(const uint8_t *raw, size_t len)
{
	size_t at = IB_FRAME_HEADER_LEN + IB_SIG_LEN + 4;
	uint64_t seq = 0;

	for (size_t i = 0; i < 8 && at + i < len; i++)
		seq = seq << 8 | raw[at + i];
	return seq;
}

static uint8_t raw_type(const uint8_t *raw, size_t len)
{
	return len > IB_FRAME_HEADER_LEN + IB_SIG_LEN + 1 ? raw[IB_FRAME_HEADER_LEN + IB_SIG_LEN + 1]
							 : 0;
}

static bool same_bytes(const struct ib_buf *a, const struct ib_buf *b)
{
	return a->len == b->len && !memcmp(a->ptr, b->ptr, a->len);
}


/* How many frames p received that are exactly the bytes of frame. */
static size_t copies_of(const struct hn_peer *p, const struct ib_buf *frame)
{
	return cf_copies(p, frame->ptr, frame->len);
}

/* Whether p received a frame of frame's origin and seq with other bytes: not byte for byte. */
static bool altered_copy(const struct hn_peer *p, const struct ib_buf *frame)
{
	uint64_t seq = raw_seq(frame->ptr, frame->len);

	for (size_t i = 0; i < hn_peer_received(p); i++) {
		const struct ib_buf *raw = &hn_peer_got(p, i)->raw;

		if (raw->len >= IB_ID_LEN && ib_id_equal(raw_origin(raw->ptr), raw_origin(frame->ptr)) &&
		    raw_seq(raw->ptr, raw->len) == seq && !same_bytes(raw, frame))
			return true;
	}
	return false;
}

struct frame_wait {
	const struct hn_peer *p;
	const struct ib_buf *frame;
};

static bool frame_arrived(void *arg)
{
	const struct frame_wait *fw = arg;

	return copies_of(fw->p, fw->frame) || altered_copy(fw->p, fw->frame) ||
	       hn_peer_closed(fw->p);
}

/* Runs until p got frame: FAIL against req when it does not come, comes altered, or the
 * link closes first. who/what name it for the report. */
static bool expect_frame(struct cf_ctx *c, struct hn_peer *p, const struct ib_buf *frame,
			 const char *req, const char *who, const char *what)
{
	struct frame_wait fw = { p, frame };
	char expected[300];

	snprintf(expected, sizeof expected, "%s reaches %s, byte for byte", what, who);
	if (!cf_run_until(c, frame_arrived, &fw, FLOOD_WAIT_MS) && !cf_ok(c))
		return false;
	if (copies_of(p, frame))
		return true;
	if (altered_copy(p, frame))
		return cf_expect(c, false, "FLOOD-1", expected,
				 "a frame of the same origin and seq arrived with other bytes");
	return cf_expect(c, false, req, expected, hn_peer_closed(p) ?
			 "the IUT closed the link to %s first" : "%s did not get it within %u ms",
			 who, FLOOD_WAIT_MS);
}

/* Signs m as identity id with the seq the test chose (another origin that a tester relays,
 * or seqs around a window); the frame goes to out. */
static bool sign_msg(struct cf_ctx *c, const struct ib_identity *id, struct ib_msg *m,
		     uint64_t seq, struct ib_buf *out)
{
	struct ib_buf msg = { 0 };
	bool ok;

	m->h.version = IB_PROTOCOL_VERSION;
	m->h.seq = seq;
	ib_buf_reset(out);
	ok = ib_msg_encode(&msg, m) == IB_OK &&
	     ib_frame_sign(out, id, msg.ptr, msg.len) == IB_OK;
	ib_buf_free(&msg);
	if (!ok)
		cf_harness_error(c, "cannot sign a test frame");
	return ok;
}

static bool send_raw(struct cf_ctx *c, struct hn_peer *p, const struct ib_buf *frame)
{
	if (hn_peer_send_raw(p, frame->ptr, frame->len) == IB_OK)
		return true;
	cf_harness_error(c, "a tester cannot send (its link is closed)");
	return false;
}

/* m as p's own frame, with p's next seq; the bytes go to out. */
static bool send_own(struct cf_ctx *c, struct hn_peer *p, struct ib_msg *m, struct ib_buf *out)
{
	ib_buf_reset(out);
	if (hn_peer_send(p, m, NULL, NULL, false, out) == IB_OK)
		return true;
	cf_harness_error(c, "a tester cannot send (its link is closed)");
	return false;
}

/* QUERY for a key nobody holds: flooded like any end-to-end frame, and no node answers it,
 * so it drives traffic without touching stores. */
static void msg_query(struct ib_msg *m, uint64_t query_id, const ib_id *dest)
{
	static const char key[] = "conform-flood-nobody-holds-this";

	memset(m, 0, sizeof *m);
	m->h.type = IB_MSG_QUERY;
	if (dest)
		m->h.dest = *dest;
	m->u.query.query_id = query_id;
	m->u.query.key = (struct ib_slice){ (const uint8_t *)key, sizeof key - 1 };
}

/* A broadcast QUERY from p, then waits for it at each of the n testers in to. */
static bool sentinel(struct cf_ctx *c, struct hn_peer *from, struct hn_peer *const *to,
		     const char *const *names, size_t n, const char *req)
{
	struct ib_buf frame = { 0 };
	struct ib_msg m;
	bool ok;

	msg_query(&m, cf_rand(c), NULL);
	ok = send_own(c, from, &m, &frame);
	for (size_t i = 0; ok && i < n; i++)
		ok = expect_frame(c, to[i], &frame, req, names[i], "a later broadcast (sentinel)");
	ib_buf_free(&frame);
	return ok;
}

/* ---- topologies ------------------------------------------------------------------------ */

/* n testers T<first>.. linked to the IUT as its children, in order. */
static bool link_children(struct cf_ctx *c, struct hn_peer **ps, int first, int n)
{
	for (int i = 0; i < n; i++)
		if (!(ps[i] = cf_peer(c, first + i)) || !cf_link_child(c, ps[i]))
			return false;
	return true;
}

/* The usual topology: the IUT with T1, T2, T3 as its children, t[0..2], named child[0..2]. */
static const char *const child[3] = { "child T1", "child T2", "child T3" };

static bool start_with_children(struct cf_ctx *c, struct hn_peer **t)
{
	return cf_iut_start(c, NULL) && link_children(c, t, 1, 3);
}

/* The IUT started as the child of tester T0 (*parent). A command over the new link proves
 * the IUT took the parent's HELLO before the test sends anything that must reach it. */
static bool start_under_parent(struct cf_ctx *c, struct hn_peer **parent, char *addr)
{
	struct cf_iut_opts o = { 0 };
	uint16_t status;

	return cf_iut_start_toward(c, &o, 0, parent, addr) &&
	       cf_accept_child(c, *parent, NULL, 0) &&
	       cf_command(c, *parent, NULL, "ib.ping", NULL, 0, &status, NULL);
}

/* ---- FLOOD-1, FLOOD-2: fan-out ------------------------------------------------------------ */

static void test_fan_out(struct cf_ctx *c)
{
	/* t[0] the IUT's parent, t[1..3] its children; senders in turn, the first one twice so
	 * that every sender receives a later frame (what an echo of its own would precede). */
	static const char *const names[4] = { "the parent T0", "child T1", "child T2",
					      "child T3" };
	static const int senders[5] = { 1, 0, 2, 3, 1 };
	struct hn_peer *t[4] = { 0 };
	struct ib_buf f[5] = { { 0 } };
	char addr[IB_MAX_ADDR], what[96], key[32];

	if (!start_under_parent(c, &t[0], addr) || !link_children(c, t + 1, 1, 3))
		goto out;
	for (int r = 0; r < 5; r++) {
		struct ib_msg m;
		int s = senders[r];

		snprintf(key, sizeof key, "conform-fan-out-%d", r);
		cf_msg_publish(&m, key, 1, "flooded to every link but the arrival one");
		if (!send_own(c, t[s], &m, &f[r]))
			goto out;
		snprintf(what, sizeof what, "the PUBLISH of %s", names[s]);
		for (int j = 0; j < 4; j++)
			if (j != s && !expect_frame(c, t[j], &f[r], "FLOOD-1", names[j], what))
				goto out;
	}
	/* [FLOOD-2] each sender got a later frame through the IUT after its own. */
	for (int r = 0; r < 4; r++)
		if (!cf_expect(c, copies_of(t[senders[r]], &f[r]) == 0, "FLOOD-2",
			       "no frame is sent back on the link it arrived on",
			       "%s received its own PUBLISH back %zu time(s)", names[senders[r]],
			       copies_of(t[senders[r]], &f[r])))
			goto out;
out:
	for (int r = 0; r < 5; r++)
		ib_buf_free(&f[r]);
}

/* MSG-10 with FLOOD-1: unassigned end-to-end types travel like the others. */
static void test_unknown_types(struct cf_ctx *c)
{
	static const uint8_t types[2] = { 0x40, 0x7f };
	struct hn_peer *t[3] = { 0 };
	struct ib_buf f = { 0 };
	char what[64];

	if (!start_with_children(c, t))
		goto out;
	for (int i = 0; i < 2; i++) {
		struct ib_msg m;

		memset(&m, 0, sizeof m);
		m.h.type = types[i];
		m.body = i ? (struct ib_slice){ NULL, 0 }
			   : (struct ib_slice){ (const uint8_t *)"a later version's body", 22 };
		if (!send_own(c, t[0], &m, &f))
			goto out;
		snprintf(what, sizeof what, "T1's frame of unassigned type 0x%02x", types[i]);
		if (!expect_frame(c, t[1], &f, "MSG-10", child[1], what) ||
		    !expect_frame(c, t[2], &f, "MSG-10", child[2], what))
			goto out;
	}
out:
	ib_buf_free(&f);
}

/* ---- FLOOD-7: the IUT's own frames ----------------------------------------------------------- */

static void test_own_frames(struct cf_ctx *c)
{
	static const char *const names[3] = { "the parent T0", "child T1", "child T2" };
	struct hn_peer *t[3] = { 0 };
	struct ib_buf own = { 0 };
	char addr[IB_MAX_ADDR];
	size_t results[3];

	if (!start_under_parent(c, &t[0], addr) || !link_children(c, t + 1, 1, 2))
		goto out;
	for (int j = 0; j < 3; j++)
		results[j] = hn_peer_count(t[j], IB_MSG_RESULT);
	if (!cf_iut_publish(c, t[1], "conform-own-frame", "originated by the IUT", &own))
		goto out;
	for (int j = 0; j < 3; j++)
		if (!expect_frame(c, t[j], &own, "FLOOD-7", names[j],
				  "the PUBLISH the IUT originated (ib.publish)"))
			goto out;
	/* Its own frame coming back from two branches, as round a transient loop. */
	if (!send_raw(c, t[2], &own) || !send_raw(c, t[0], &own) ||
	    !sentinel(c, t[2], (struct hn_peer *[]){ t[0], t[1] }, (const char *[]){ names[0],
		      names[1] }, 2, "FLOOD-1") ||
	    !sentinel(c, t[0], (struct hn_peer *[]){ t[1], t[2] }, (const char *[]){ names[1],
		      names[2] }, 2, "FLOOD-1"))
		goto out;
	for (int j = 0; j < 3; j++)
		if (!cf_expect(c, copies_of(t[j], &own) == 1, "FLOOD-7",
			       "the IUT drops its own frame when it comes back (a replay)",
			       "%s received the IUT's PUBLISH %zu times", names[j],
			       copies_of(t[j], &own)))
			goto out;
	/* The RESULT of T1's ib.publish is directed to T1, whose route the IUT knows. */
	cf_expect(c, hn_peer_count(t[0], IB_MSG_RESULT) == results[0] &&
		  hn_peer_count(t[2], IB_MSG_RESULT) == results[2], "FLOOD-7",
		  "a directed frame the IUT originates goes only on the route of its dest",
		  "the RESULT for T1 also reached %s", hn_peer_count(t[0], IB_MSG_RESULT) >
		  results[0] ? names[0] : names[2]);
out:
	ib_buf_free(&own);
}

/* ---- FLOOD-3, FLOOD-4: the anti-replay window ---------------------------------------------- */

/* Frames of one origin, seqs relative to a base, and whether the window lets each through. */
struct window_step {
	int64_t rel;
	bool accepted;
};

/* The seqs (relative to base) of the frames from origin that p received, in order. */
static size_t seqs_from(const struct hn_peer *p, const ib_id *origin, uint64_t base,
			int64_t *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < hn_peer_received(p); i++) {
		const struct ib_buf *raw = &hn_peer_got(p, i)->raw;

		if (raw->len < IB_ID_LEN || !ib_id_equal(raw_origin(raw->ptr), origin))
			continue;
		if (n < cap)
			out[n] = (int64_t)(raw_seq(raw->ptr, raw->len) - base);
		n++;
	}
	return n;
}

static void list_seqs(char *buf, size_t cap, const int64_t *seqs, size_t n)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && used + 24 < cap; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%s%+lld", i ? ", " : "",
					 (long long)seqs[i]);
}

/* p received exactly the accepted steps of origin, in order; the report lists both. */
static bool expect_seqs(struct cf_ctx *c, const struct hn_peer *p, const char *who,
			const ib_id *origin, uint64_t base, const struct window_step *steps,
			size_t nsteps, const char *req)
{
	int64_t want[32], got[32];
	size_t nwant = 0, ngot = seqs_from(p, origin, base, got, 32);
	char want_s[400], got_s[400], expected[600];
	bool same;

	for (size_t i = 0; i < nsteps && nwant < 32; i++)
		if (steps[i].accepted)
			want[nwant++] = steps[i].rel;
	/* cppcheck-suppress uninitvar ; memcmp reads only the nwant seqs set above */
	same = ngot == nwant && !memcmp(want, got, nwant * sizeof *want);
	list_seqs(want_s, sizeof want_s, want, nwant);
	list_seqs(got_s, sizeof got_s, got, ngot < 32 ? ngot : 32);
	snprintf(expected, sizeof expected, "%s receives the seqs base%s, in that order", who,
		 want_s);
	return cf_expect(c, same, req, expected, "%s received base%s", who, got_s);
}

/* Sends origin's QUERY of seq base+rel on p's link (the query_id tells the frames apart). */
static bool send_seq(struct cf_ctx *c, struct hn_peer *p, const struct ib_identity *origin,
		     uint64_t base, int64_t rel, struct ib_buf *frame)
{
	struct ib_msg m;

	msg_query(&m, (uint64_t)(rel + 1000000000), NULL);
	return sign_msg(c, origin, &m, base + (uint64_t)rel, frame) && send_raw(c, p, frame);
}

static void test_replay_window(struct cf_ctx *c)
{
	/* After the first frame (+100), on the same link, in this order. */
	static const struct window_step steps[] = {
		{ 100, true },      /* the first frame seen: accepted whatever its seq */
		{ 100, false },     /* the very same frame again */
		{ 50, true },       /* backwards but inside the window, not seen yet */
		{ 50, false },      /* ... and again */
		{ 37, true },       /* top-63: the window's last slot */
		{ 36, false },      /* top-64: just below it */
		{ -1000000, false },/* far below */
		{ 1000, true },     /* a jump forward moves the window */
		{ 936, false },     /* below the moved window */
		{ 999, true },      /* inside it */
		{ 1001, true },     /* last: what B and C wait for */
	};
	const struct ib_identity *o = cf_tester_identity(c, 5);
	struct hn_peer *t[3] = { 0 };
	struct ib_buf first = { 0 }, f = { 0 };
	uint64_t base;

	if (!start_with_children(c, t))
		goto out;
	/* T5's frames, relayed by T1: sequence numbers chosen by the test. */
	base = cf_unix_us(c);
	if (!send_seq(c, t[0], o, base, steps[0].rel, &first) ||
	    !expect_frame(c, t[1], &first, "FLOOD-1", child[1], "T5's first frame") ||
	    !expect_frame(c, t[2], &first, "FLOOD-1", child[2], "T5's first frame"))
		goto out;
	/* Captured at T2 and T3, re-injected from those branches; each followed by a sentinel
	 * that takes the ways the replay would. */
	if (!send_raw(c, t[1], &first) ||
	    !sentinel(c, t[1], (struct hn_peer *[]){ t[0], t[2] },
		      (const char *[]){ child[0], child[2] }, 2, "FLOOD-1") ||
	    !send_raw(c, t[2], &first) ||
	    !sentinel(c, t[2], (struct hn_peer *[]){ t[0], t[1] },
		      (const char *[]){ child[0], child[1] }, 2, "FLOOD-1"))
		goto out;
	for (int j = 0; j < 3; j++)
		if (!cf_expect(c, copies_of(t[j], &first) == (j ? 1u : 0u), "FLOOD-3",
			       "a frame re-injected from another branch is dropped as a replay",
			       "%s received T5's first frame %zu time(s)", child[j],
			       copies_of(t[j], &first)))
			goto out;
	for (size_t i = 1; i < sizeof steps / sizeof steps[0]; i++)
		if (!send_seq(c, t[0], o, base, steps[i].rel, &f))
			goto out;
	if (!expect_frame(c, t[1], &f, "FLOOD-3", child[1], "T5's frame base+1001") ||
	    !expect_frame(c, t[2], &f, "FLOOD-3", child[2], "T5's frame base+1001"))
		goto out;
	if (!expect_seqs(c, t[1], child[1], ib_identity_id(o), base, steps,
			 sizeof steps / sizeof steps[0], "FLOOD-3"))
		goto out;
	expect_seqs(c, t[2], child[2], ib_identity_id(o), base, steps,
		    sizeof steps / sizeof steps[0], "FLOOD-3");
out:
	ib_buf_free(&first);
	ib_buf_free(&f);
}

/* [FLOOD-3] The replay state of every origin is kept, however many there are: 70 keyring
 * members (authorized/ holds them) each send a frame through T1; then the first origin's
 * frame comes again and must be dropped. A node whose origin table loses entries when it
 * grows (64 slots hold 44 here) floods the replay to T2; one that never grows it hangs at
 * the 65th. */
#define MANY_ORIGINS 70

static void test_many_origins(struct cf_ctx *c)
{
	struct cf_iut_opts o = { 0 };
	struct ib_identity *ids[MANY_ORIGINS] = { 0 };
	struct hn_peer *t[2] = { 0 };
	struct ib_buf first = { 0 }, f = { 0 };
	uint64_t base = cf_unix_us(c);
	size_t n = 0;

	for (; n < MANY_ORIGINS; n++) {
		if (ib_identity_generate(&ids[n]) != IB_OK) {
			cf_harness_error(c, "cannot make a key");
			goto out;
		}
		o.extra_keys[o.nextra_keys++] = ib_identity_pubkey(ids[n]);
	}
	if (!cf_iut_start(c, &o) || !link_children(c, t, 1, 2) ||
	    !send_seq(c, t[0], ids[0], base, 0, &first))
		goto out;
	for (size_t i = 1; i < MANY_ORIGINS; i++)
		if (!send_seq(c, t[0], ids[i], base, (int64_t)i, &f))
			goto out;
	if (!expect_frame(c, t[1], &f, "FLOOD-1", "child T2", "the 70th origin's frame") ||
	    !send_raw(c, t[0], &first) || !send_seq(c, t[0], ids[1], base, 1000, &f) ||
	    !expect_frame(c, t[1], &f, "FLOOD-1", "child T2", "the sentinel after the replay"))
		goto out;
	cf_expect(c, copies_of(t[1], &first) == 1, "FLOOD-3",
		  "after frames of 70 origins, the first origin's frame again is a replay: dropped",
		  "child T2 received it %zu times", copies_of(t[1], &first));
out:
	ib_buf_free(&first);
	ib_buf_free(&f);
	for (size_t i = 0; i < n; i++)
		ib_identity_free(ids[i]);
}

/* Origin o's frames, with the seqs of steps (relative to base), sent by T1 in that order; the
 * other child T2 must receive exactly the accepted ones, in order. The last step must be an
 * accepted one: T2's wait for it bounds the test. */
static void run_window_steps(struct cf_ctx *c, const struct ib_identity *o, uint64_t base,
			     const struct window_step *steps, size_t n, const char *req)
{
	struct hn_peer *t[2] = { 0 };
	struct ib_buf f = { 0 };

	if (!cf_iut_start(c, NULL) || !link_children(c, t, 1, 2))
		goto out;
	for (size_t i = 0; i < n; i++)
		if (!send_seq(c, t[0], o, base, steps[i].rel, &f))
			goto out;
	if (!expect_frame(c, t[1], &f, req, "child T2", "the last frame of the sequence"))
		goto out;
	expect_seqs(c, t[1], "child T2", ib_identity_id(o), base, steps, n, req);
out:
	ib_buf_free(&f);
}

/* [FLOOD-14] Jumps of exactly the window's size and one less. With bits set at both ends of
 * the window (+100 and +37), a jump of 64 must leave only the new top: a node that shifts
 * a 64-bit map by 64 (undefined in C; on x86 a shift by 0) keeps +37's bit, which then
 * stands for +101, and drops +101 as seen. A jump of 63 keeps the old top at the edge. */
static void test_window_jumps(struct cf_ctx *c)
{
	static const struct window_step steps[] = {
		{ 100, true },      /* first */
		{ 37, true },       /* top-63: the last slot, its bit set */
		{ 164, true },      /* a jump of exactly 64 */
		{ 101, true },      /* the new last slot, never seen */
		{ 100, false },     /* just below the moved window */
		{ 227, true },      /* a jump of 63: the old top, 164, is now the last slot */
		{ 164, false },     /* ... and seen */
		{ 165, true },      /* inside, never seen */
		{ 228, true },      /* one above top */
	};

	run_window_steps(c, cf_tester_identity(c, 5), cf_unix_us(c), steps,
			 sizeof steps / sizeof steps[0], "FLOOD-14");
}

/* [FLOOD-14] While top is below 63 the window reaches down to 0: nothing wraps. An origin's
 * first seq is 10 (the first frame is accepted whatever its seq), then 5 is inside the window
 * and unseen. A node that computes top-63 in unsigned arithmetic drops it. */
static void test_window_low_seqs(struct cf_ctx *c)
{
	static const struct window_step steps[] = {
		{ 10, true },       /* first */
		{ 5, true },        /* inside: the window is 0 .. 10 */
		{ 0, true },        /* seq 0, inside too */
		{ 10, false },      /* seen */
		{ 73, true },       /* top 73: the window is 10 .. 73 */
		{ 9, false },       /* below it now */
		{ 11, true },
	};

	run_window_steps(c, cf_tester_identity(c, 6), 0, steps, sizeof steps / sizeof steps[0],
			 "FLOOD-14");
}

/* [FLOOD-7] [MAP-4] [MSG-5] A frame the IUT sent before a restart, replayed to it after: the
 * restarted node's window for itself must already hold a seq above every seq of its earlier
 * run (the ANNOUNCE it originates at start, [MAP-4]), so the old frame is a replay. A node
 * whose own window starts empty takes its old PUBLISH for a first frame and floods it again. */
static void test_own_frame_after_restart(struct cf_ctx *c)
{
	struct hn_peer *t[2] = { 0 };
	struct ib_buf own = { 0 };

	if (!cf_iut_start(c, NULL) || !link_children(c, t, 1, 2) ||
	    !cf_iut_publish(c, t[0], "conform-flood-own-after-restart", "before", &own))
		goto out;
	/* A restart takes time: on the virtual clock the node would otherwise start again in
	 * the microsecond it stopped, and a node that takes seq from its clock ([MSG-5]) could
	 * not be told from one that reuses its seqs. */
	cf_run_for(c, 10);
	if (!cf_iut_restart(c, false) || !link_children(c, t, 3, 2))
		goto out;
	if (!send_raw(c, t[0], &own) ||
	    !sentinel(c, t[0], &t[1], (const char *[]){ "child T4" }, 1, "FLOOD-1"))
		goto out;
	cf_expect(c, copies_of(t[1], &own) == 0, "FLOOD-7",
		  "the IUT's own PUBLISH from before its restart, sent back to it, is dropped as a "
		  "replay (its window for itself starts above its earlier seqs, [MAP-4] [MSG-5])",
		  "child T4 received it: the restarted IUT flooded its own old frame again");
out:
	ib_buf_free(&own);
}

/* Frames of origin o that fail a check, each with a seq above anything genuine. */
static bool send_invalid(struct cf_ctx *c, struct hn_peer *p, const struct ib_identity *o,
			 uint64_t base)
{
	struct ib_buf msg = { 0 }, f = { 0 };
	uint8_t sig[IB_SIG_LEN];
	struct ib_msg m;
	bool ok;

	/* [FRAME-6] one bit of a good signature flipped. */
	msg_query(&m, 1, NULL);
	ok = sign_msg(c, o, &m, base + 1000000000, &f);
	if (ok) {
		f.ptr[IB_FRAME_HEADER_LEN + 7] ^= 0x10;
		ok = send_raw(c, p, &f);
	}
	/* [FRAME-6] signed by the relay's own key, naming o: the next seq in the window. */
	msg_query(&m, 2, NULL);
	m.h.version = IB_PROTOCOL_VERSION;
	m.h.seq = base + 11;
	ib_buf_reset(&f);
	ok = ok && ib_msg_encode(&msg, &m) == IB_OK &&
	     ib_identity_sign(hn_peer_identity(p), msg.ptr, msg.len, sig) == IB_OK &&
	     ib_frame_encode(&f, ib_identity_id(o), sig, msg.ptr, msg.len) == IB_OK &&
	     send_raw(c, p, &f);
	/* [MSG-7] well signed by o, a byte after the body's last field. */
	ib_buf_reset(&msg);
	ib_buf_reset(&f);
	m.h.seq = base + 2000000000;
	ok = ok && ib_msg_encode(&msg, &m) == IB_OK && ib_buf_put_u8(&msg, 0) == IB_OK &&
	     ib_frame_sign(&f, o, msg.ptr, msg.len) == IB_OK && send_raw(c, p, &f);
	/* [MSG-1] well signed by o, version 2. */
	ib_buf_reset(&msg);
	ib_buf_reset(&f);
	m.h.seq = base + 3000000000u;
	ok = ok && ib_msg_encode(&msg, &m) == IB_OK;
	if (ok)
		msg.ptr[0] = 2;
	ok = ok && ib_frame_sign(&f, o, msg.ptr, msg.len) == IB_OK && send_raw(c, p, &f);
	ib_buf_free(&msg);
	ib_buf_free(&f);
	if (!ok && cf_ok(c))
		cf_harness_error(c, "cannot build the invalid frames");
	return ok;
}

static void test_forgery_keeps_window(struct cf_ctx *c)
{
	/* Genuine frames of T5 around invalid ones that claim T5 with higher seqs. */
	static const struct window_step genuine[] = {
		{ 10, true }, { 11, true }, { 5, true }, { 12, true },
	};
	const struct ib_identity *o = cf_tester_identity(c, 5);
	struct hn_peer *t[2] = { 0 };
	struct ib_buf f = { 0 };
	uint64_t base;

	if (!cf_iut_start(c, NULL) || !link_children(c, t, 1, 2))
		goto out;
	base = cf_unix_us(c);
	if (!send_seq(c, t[0], o, base, genuine[0].rel, &f) ||
	    !expect_frame(c, t[1], &f, "FLOOD-1", "child T2", "T5's first frame") ||
	    !send_invalid(c, t[0], o, base))
		goto out;
	for (size_t i = 1; i < sizeof genuine / sizeof genuine[0]; i++)
		if (!send_seq(c, t[0], o, base, genuine[i].rel, &f))
			goto out;
	if (!expect_frame(c, t[1], &f, "FLOOD-4", "child T2",
			  "T5's genuine frame base+12, sent after invalid ones with higher seqs"))
		goto out;
	expect_seqs(c, t[1], "child T2", ib_identity_id(o), base, genuine,
		    sizeof genuine / sizeof genuine[0], "FLOOD-4");
out:
	ib_buf_free(&f);
}

/* ---- FLOOD-5: routes ------------------------------------------------------------------------- */

static bool send_query(struct cf_ctx *c, struct hn_peer *p, const ib_id *dest,
		       struct ib_buf *out)
{
	struct ib_msg m;

	msg_query(&m, cf_rand(c), dest);
	return send_own(c, p, &m, out);
}

static void test_directed(struct cf_ctx *c)
{
	struct hn_peer *t[3] = { 0 };
	struct ib_buf learn = { 0 }, to_t3 = { 0 }, to_unknown = { 0 }, to_iut = { 0 };

	if (!start_with_children(c, t))
		goto out;
	/* The IUT learns T3's route from a frame T3 sends. */
	if (!send_query(c, t[2], NULL, &learn) ||
	    !expect_frame(c, t[0], &learn, "FLOOD-1", child[0], "T3's broadcast") ||
	    !expect_frame(c, t[1], &learn, "FLOOD-1", child[1], "T3's broadcast"))
		goto out;
	if (!send_query(c, t[0], id_of(t[2]), &to_t3) ||
	    !expect_frame(c, t[2], &to_t3, "FLOOD-5", child[2], "T1's QUERY directed to T3") ||
	    /* T6 never sent anything: no route, so it is flooded. */
	    !send_query(c, t[0], ib_identity_id(cf_tester_identity(c, 6)), &to_unknown) ||
	    !expect_frame(c, t[1], &to_unknown, "FLOOD-5", child[1],
			  "T1's QUERY directed to T6, whose route the IUT does not know") ||
	    !expect_frame(c, t[2], &to_unknown, "FLOOD-5", child[2],
			  "T1's QUERY directed to T6, whose route the IUT does not know") ||
	    !send_query(c, t[0], cf_iut_id(c), &to_iut) ||
	    !sentinel(c, t[0], (struct hn_peer *[]){ t[1], t[2] },
		      (const char *[]){ child[1], child[2] }, 2, "FLOOD-1"))
		goto out;
	if (!cf_expect(c, copies_of(t[1], &to_t3) == 0, "FLOOD-5",
		       "a frame directed to T3 goes only on T3's learned route",
		       "it also reached child T2"))
		goto out;
	cf_expect(c, copies_of(t[1], &to_iut) + copies_of(t[2], &to_iut) == 0, "FLOOD-5",
		  "a frame directed to the IUT itself is not forwarded",
		  "it reached child T2 %zu time(s) and child T3 %zu time(s)",
		  copies_of(t[1], &to_iut), copies_of(t[2], &to_iut));
out:
	ib_buf_free(&learn);
	ib_buf_free(&to_t3);
	ib_buf_free(&to_unknown);
	ib_buf_free(&to_iut);
}

/* The route tests: start_with_children, and T3 (*t3), whose route they move with frames of
 * the seqs they choose from *base up. */
static bool start_routes(struct cf_ctx *c, struct hn_peer **t, const struct ib_identity **t3,
			 uint64_t *base)
{
	if (!start_with_children(c, t))
		return false;
	*t3 = hn_peer_identity(t[2]);
	*base = cf_unix_us(c);
	return true;
}

/* origin's QUERY of this seq (also its query_id) to dest (NULL: everyone), sent on p's link. */
static bool query_as(struct cf_ctx *c, struct hn_peer *p, const struct ib_identity *origin,
		     uint64_t seq, const ib_id *dest, struct ib_buf *out)
{
	struct ib_msg m;

	msg_query(&m, seq, dest);
	return sign_msg(c, origin, &m, seq, out) && send_raw(c, p, out);
}

static void test_route_last_frame(struct cf_ctx *c)
{
	const struct ib_identity *t7 = cf_tester_identity(c, 7);
	struct hn_peer *t[3] = { 0 };
	struct ib_buf f = { 0 }, via_t2 = { 0 }, d = { 0 };
	const struct ib_identity *t3;
	uint64_t base;

	if (!start_routes(c, t, &t3, &base))
		goto out;
	/* T3's newest accepted frame came through T2: its route is now T2's link. */
	if (!query_as(c, t[2], t3, base + 1, NULL, &f) ||
	    !expect_frame(c, t[1], &f, "FLOOD-1", child[1], "T3's frame") ||
	    !query_as(c, t[1], t3, base + 2, NULL, &via_t2) ||
	    !expect_frame(c, t[0], &via_t2, "FLOOD-1", child[0], "T3's frame relayed by T2") ||
	    !send_query(c, t[0], id_of(t[2]), &d) ||
	    !expect_frame(c, t[1], &d, "FLOOD-5", child[1],
			  "T1's QUERY to T3, whose last frame came through T2") ||
	    !sentinel(c, t[0], &t[2], &child[2], 1, "FLOOD-1"))
		goto out;
	if (!cf_expect(c, copies_of(t[2], &d) == 0, "FLOOD-5",
		       "a directed frame goes only on the link of its dest's newest accepted frame",
		       "it was sent on T3's own link too"))
		goto out;
	/* Back through T3; then T2 replays the old frame: a replay must not move the route. */
	if (!query_as(c, t[2], t3, base + 3, NULL, &f) ||
	    !expect_frame(c, t[1], &f, "FLOOD-1", child[1], "T3's new frame") ||
	    !send_raw(c, t[1], &via_t2) ||
	    !sentinel(c, t[1], &t[0], &child[0], 1, "FLOOD-1") ||
	    !send_query(c, t[0], id_of(t[2]), &d) ||
	    !expect_frame(c, t[2], &d, "FLOOD-5", child[2],
			  "T1's QUERY to T3, after T2 replayed an old frame of T3") ||
	    !sentinel(c, t[0], &t[1], &child[1], 1, "FLOOD-1"))
		goto out;
	if (!cf_expect(c, copies_of(t[1], &d) == 0, "FLOOD-5",
		       "only accepted frames teach routes: a replay does not",
		       "the frame to T3 went to T2, where T3's replayed frame came from"))
		goto out;
	/* T7's route is T1's link; a frame from T1 to T7 cannot go back there: flooded. */
	if (!query_as(c, t[0], t7, base + 1, NULL, &f) ||
	    !expect_frame(c, t[1], &f, "FLOOD-1", child[1], "T7's frame relayed by T1") ||
	    !send_query(c, t[0], ib_identity_id(t7), &d))
		goto out;
	for (int j = 1; j < 3; j++)
		if (!expect_frame(c, t[j], &d, "FLOOD-5", child[j],
				  "T1's QUERY to T7, whose route is T1's own link (flooded)"))
			goto out;
out:
	ib_buf_free(&f);
	ib_buf_free(&via_t2);
	ib_buf_free(&d);
}

/* [FLOOD-5] A route ends with its link. T7's frame comes through T5 (the route), then T5's
 * link goes: T1's QUERY to T7 then has no route and is flooded to T2 and T3. A node that
 * keeps the route to the gone link (or to its freed memory) loses the frame. */
static void test_route_link_gone(struct cf_ctx *c)
{
	const struct ib_identity *t7 = cf_tester_identity(c, 7);
	struct hn_peer *t[3] = { 0 }, *relay = NULL;
	struct ib_buf f = { 0 }, d = { 0 };

	if (!start_with_children(c, t))
		goto out;
	if (hn_peer_clone(cf_peer(c, 5), &relay) != IB_OK) {
		cf_harness_error(c, "cannot clone T5");
		goto out;
	}
	if (!cf_link_child(c, relay) || !query_as(c, relay, t7, cf_unix_us(c), NULL, &f) ||
	    !expect_frame(c, t[0], &f, "FLOOD-1", child[0], "T7's frame relayed by T5"))
		goto out;
	hn_peer_free(relay);
	relay = NULL;
	cf_pause(c, 100);           /* the IUT sees the link go */
	if (!send_query(c, t[0], ib_identity_id(t7), &d))
		goto out;
	for (int j = 1; j < 3; j++)
		if (!expect_frame(c, t[j], &d, "FLOOD-5", child[j],
				  "T1's QUERY to T7, whose route's link is gone (flooded)"))
			goto out;
out:
	hn_peer_free(relay);
	ib_buf_free(&f);
	ib_buf_free(&d);
}

/* ---- FLOOD-6: hop-local frames stay on their link --------------------------------------------- */

static bool send_hop(struct cf_ctx *c, struct hn_peer *p, uint8_t type, const ib_id *path)
{
	static const char nonce[IB_NONCE_MIN + 1] = "conform-nonce-16";
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = type;
	if (type == IB_MSG_PING)
		m.u.ping.nonce = (struct ib_slice){ (const uint8_t *)nonce, IB_NONCE_MIN };
	if (type == IB_MSG_PATH)
		m.u.path = (struct ib_path){ 1, path->b };
	if (hn_peer_send(p, &m, NULL, NULL, false, NULL) == IB_OK)
		return true;
	cf_harness_error(c, "a tester cannot send");
	return false;
}

static void test_hop_local(struct cf_ctx *c)
{
	static const char *const names[3] = { "the parent T0", "child T1", "child T2" };
	struct hn_peer *t[3] = { 0 };
	char addr[IB_MAX_ADDR];

	if (!start_under_parent(c, &t[0], addr) || !link_children(c, t + 1, 1, 2))
		return;
	/* A forwarded PING must be seen as forwarded (FLOOD-6), not answered: a tester's PONG
	 * would make the IUT cut that link and the sentinel fail first. */
	hn_peer_auto_pong(t[1], false);
	hn_peer_auto_pong(t[2], false);
	/* From the parent: what a parent may send, and an unassigned hop-local type; from a
	 * child: unassigned types only (PING or PATH from a child break the link rules). */
	if (!send_hop(c, t[0], IB_MSG_PING, NULL) || !send_hop(c, t[0], 0x06, NULL) ||
	    !send_hop(c, t[0], IB_MSG_PATH, id_of(t[0])) || !send_hop(c, t[1], 0x06, NULL) ||
	    !send_hop(c, t[1], 0x0f, NULL) ||
	    !sentinel(c, t[0], (struct hn_peer *[]){ t[1], t[2] },
		      (const char *[]){ names[1], names[2] }, 2, "FLOOD-1") ||
	    !sentinel(c, t[1], (struct hn_peer *[]){ t[0], t[2] },
		      (const char *[]){ names[0], names[2] }, 2, "FLOOD-1"))
		return;
	for (int j = 0; j < 3; j++)
		for (size_t i = 0; i < hn_peer_received(t[j]); i++) {
			const struct ib_buf *raw = &hn_peer_got(t[j], i)->raw;
			uint8_t type = raw_type(raw->ptr, raw->len);
			char hex[2 * IB_ID_LEN + 1];

			if (!ib_msg_type_is_hop(type) || ib_id_equal(raw_origin(raw->ptr), cf_iut_id(c)))
				continue;
			ib_id_to_hex(raw_origin(raw->ptr), hex);
			cf_expect(c, false, "FLOOD-6", "hop-local frames are never forwarded",
				  "%s received a hop-local frame of type 0x%02x from origin %s",
				  names[j], type, hex);
			return;
		}
}

/* ---- FLOOD-9 .. FLOOD-12: where routes come from, and when ---------------------------------- */

/* m as origin's frame with the seq the test chose, directed to dest (NULL: everyone), sent on
 * p's link; the bytes go to out. */
static bool send_signed(struct cf_ctx *c, struct hn_peer *p, const struct ib_identity *origin,
			struct ib_msg *m, uint64_t seq, const ib_id *dest, struct ib_buf *out)
{
	memset(&m->h.dest, 0, sizeof m->h.dest);
	if (dest)
		m->h.dest = *dest;
	return sign_msg(c, origin, m, seq, out) && send_raw(c, p, out);
}

/* from's QUERY to dest must take exactly the link of want: it reaches want, and a later
 * broadcast of from reaches other (the sentinel) while the QUERY did not. route names the
 * route the IUT must have learned, for the report. */
static bool expect_routed(struct cf_ctx *c, struct hn_peer *from, const ib_id *dest,
			  struct hn_peer *want, const char *want_name, struct hn_peer *other,
			  const char *other_name, const char *req, const char *route)
{
	struct ib_buf d = { 0 };
	char what[300];
	bool ok;

	snprintf(what, sizeof what, "a QUERY directed along the route of %s", route);
	ok = send_query(c, from, dest, &d) && expect_frame(c, want, &d, req, want_name, what) &&
	     sentinel(c, from, &other, &other_name, 1, "FLOOD-1");
	if (ok) {
		snprintf(what, sizeof what, "a directed QUERY goes only on the route of %s, to %s",
			 route, want_name);
		ok = cf_expect(c, copies_of(other, &d) == 0, req, what,
			       "it also reached %s", other_name);
	}
	ib_buf_free(&d);
	return ok;
}

/* COMMAND name (no args), cmd_id, into m. */
static void msg_command(struct ib_msg *m, uint64_t cmd_id, const char *name,
			const struct ib_buf *args)
{
	memset(m, 0, sizeof *m);
	m->h.type = IB_MSG_COMMAND;
	m->u.command.cmd_id = cmd_id;
	m->u.command.name = (struct ib_slice){ (const uint8_t *)name, strlen(name) };
	if (args)
		m->u.command.args = (struct ib_slice){ args->ptr, args->len };
}

/* The RESULTs for cmd_id that p received. */
static size_t results_for(struct hn_peer *p, uint64_t cmd_id, struct ib_msg *last)
{
	size_t n = 0;

	for (size_t i = 0; i < hn_peer_received(p); i++) {
		struct ib_frame f;
		struct ib_msg m;

		if (hn_peer_got(p, i)->type == IB_MSG_RESULT && cf_got_msg(p, i, &f, &m) &&
		    m.u.result.cmd_id == cmd_id) {
			if (last)
				*last = m;
			n++;
		}
	}
	return n;
}

struct result_wait {
	struct hn_peer *p;
	uint64_t cmd_id;
};

static bool result_arrived(void *arg)
{
	const struct result_wait *rw = arg;

	return results_for(rw->p, rw->cmd_id, NULL) || hn_peer_closed(rw->p);
}

/* [FLOOD-9] T5, never heard of, sends (through T1) ib.ping to the IUT: the RESULT is its
 * first frame toward T5, and must already follow the route the COMMAND taught. */
static void test_route_before_delivery(struct cf_ctx *c)
{
	const struct ib_identity *t5 = cf_tester_identity(c, 5);
	struct hn_peer *t[3] = { 0 };
	struct ib_buf f = { 0 };
	struct result_wait rw;
	struct ib_msg m;

	if (!start_with_children(c, t))
		goto out;
	msg_command(&m, cf_rand(c), "ib.ping", NULL);
	rw = (struct result_wait){ t[0], m.u.command.cmd_id };
	if (!send_signed(c, t[0], t5, &m, cf_next_seq(c, 5), cf_iut_id(c), &f) ||
	    !cf_wait(c, result_arrived, &rw, FLOOD_WAIT_MS,
		     "the RESULT of T5's ib.ping (relayed by T1) reaches T1") ||
	    !cf_expect(c, results_for(t[0], rw.cmd_id, &m) == 1, "CMD-1",
		       "one RESULT answers T5's ib.ping, on the link it came from",
		       "T1's link closed first") ||
	    !cf_expect(c, ib_id_equal(&m.h.dest, ib_identity_id(t5)), "CMD-1",
		       "the RESULT is directed to T5", "it has another dest") ||
	    !sentinel(c, t[0], (struct hn_peer *[]){ t[1], t[2] }, &child[1], 2, "FLOOD-1"))
		goto out;
	for (int j = 1; j < 3; j++)
		if (!cf_expect(c, results_for(t[j], rw.cmd_id, NULL) == 0, "FLOOD-9",
			       "the first frame from a new origin teaches its route before it is "
			       "delivered: the RESULT to T5 goes only to T1, where T5's COMMAND came "
			       "from", "the RESULT was flooded: %s received it", child[j]))
			goto out;
out:
	ib_buf_free(&f);
}

/* [FLOOD-9][FLOOD-10] A stale COMMAND of T3 (its seq 600 s ahead), relayed by T2, moves
 * neither T3's route nor its window. */
static void test_stale_command_ignored(struct cf_ctx *c)
{
	struct hn_peer *t[3] = { 0 };
	struct ib_buf f = { 0 }, stale = { 0 };
	const struct ib_identity *t3;
	struct ib_msg m;
	uint64_t base;

	if (!start_routes(c, t, &t3, &base))
		goto out;
	if (!query_as(c, t[2], t3, base, NULL, &f) ||
	    !expect_frame(c, t[0], &f, "FLOOD-1", child[0], "T3's frame"))
		goto out;
	msg_command(&m, cf_rand(c), "ib.ping", NULL);
	if (!send_signed(c, t[1], t3, &m, base + 600000000u, NULL, &stale) ||
	    !sentinel(c, t[1], &t[0], &child[0], 1, "FLOOD-1") ||
	    !cf_expect(c, copies_of(t[0], &stale) == 0, "CMD-6",
		       "a COMMAND 600 s ahead of the clock is dropped, not forwarded",
		       "child T1 received it"))
		goto out;
	if (!expect_routed(c, t[0], id_of(t[2]), t[2], child[2], t[1], child[1], "FLOOD-10",
			   "T3's own link (a stale COMMAND of T3 that came through T2 teaches "
			   "nothing)"))
		goto out;
	if (!query_as(c, t[2], t3, base + 1, NULL, &f))
		goto out;
	expect_frame(c, t[0], &f, "FLOOD-9", child[0],
		     "T3's next frame, 600 s below the seq of its stale COMMAND (a dropped "
		     "frame does not move the window)");
out:
	ib_buf_free(&f);
	ib_buf_free(&stale);
}

/* [FLOOD-10] Every accepted end-to-end frame of T3 moves its route, whatever its dest and
 * type; a hop-local frame does not. T3's frames take T3's own link or come through T2. */
static void test_route_sources(struct cf_ctx *c)
{
	static const uint8_t body[] = "a later version's body";
	struct hn_peer *t[3] = { 0 };
	struct ib_buf f = { 0 };
	const struct ib_identity *t3, *t6 = cf_tester_identity(c, 6);
	const ib_id *to_t3;
	struct ib_msg m;
	uint64_t base;

	if (!start_routes(c, t, &t3, &base))
		goto out;
	to_t3 = ib_identity_id(t3);
	/* On T3's own link, then directed to the IUT itself, through T2 (not forwarded: T2's
	 * own broadcast after it shows it was taken). */
	if (!query_as(c, t[2], t3, base + 1, NULL, &f) ||
	    !expect_frame(c, t[0], &f, "FLOOD-1", child[0], "T3's frame") ||
	    !query_as(c, t[1], t3, base + 2, cf_iut_id(c), &f) ||
	    !sentinel(c, t[1], &t[0], &child[0], 1, "FLOOD-1") ||
	    !expect_routed(c, t[0], to_t3, t[1], child[1], t[2], child[2], "FLOOD-10",
			   "T2's link (T3's last frame came through T2, directed to the IUT)"))
		goto out;
	/* On T3's own link, then directed to T1, through T2. */
	if (!query_as(c, t[2], t3, base + 3, NULL, &f) ||
	    !expect_frame(c, t[0], &f, "FLOOD-1", child[0], "T3's frame") ||
	    !query_as(c, t[1], t3, base + 4, id_of(t[0]), &f) ||
	    !expect_frame(c, t[0], &f, "FLOOD-5", child[0], "T3's QUERY to T1, relayed by T2") ||
	    !expect_routed(c, t[0], to_t3, t[1], child[1], t[2], child[2], "FLOOD-10",
			   "T2's link (T3's last frame came through T2, directed to T1)"))
		goto out;
	/* Of a type the IUT does not know, on T3's own link. */
	memset(&m, 0, sizeof m);
	m.h.type = 0x40;
	m.body = (struct ib_slice){ body, sizeof body - 1 };
	if (!send_signed(c, t[2], t3, &m, base + 5, NULL, &f) ||
	    !expect_frame(c, t[0], &f, "MSG-10", child[0], "T3's frame of unassigned type 0x40") ||
	    !expect_routed(c, t[0], to_t3, t[2], child[2], t[1], child[1], "FLOOD-10",
			   "T3's own link (T3's last frame, of unassigned type 0x40, came on it)"))
		goto out;
	/* Through T2, then a hop-local frame of T3 on its own link: the route stays T2's. The
	 * barrier on T3's link is a frame of T6, which teaches T6's route only. */
	if (!query_as(c, t[1], t3, base + 6, NULL, &f) ||
	    !expect_frame(c, t[0], &f, "FLOOD-1", child[0], "T3's frame relayed by T2") ||
	    !send_hop(c, t[2], 0x06, NULL) ||
	    !query_as(c, t[2], t6, cf_next_seq(c, 6), NULL, &f) ||
	    !expect_frame(c, t[0], &f, "FLOOD-1", child[0], "T6's frame relayed by T3"))
		goto out;
	expect_routed(c, t[0], to_t3, t[1], child[1], t[2], child[2], "FLOOD-10",
		      "T2's link (T3's last end-to-end frame came through T2; its hop-local frame "
		      "on its own link teaches nothing)");
out:
	ib_buf_free(&f);
}

/* [FLOOD-11] T3's route follows its highest seq, not its last arrival; it is forgotten when
 * its link closes. */
static void test_route_newest_seq(struct cf_ctx *c)
{
	struct hn_peer *t[3] = { 0 };
	struct ib_buf f = { 0 }, d = { 0 };
	const struct ib_identity *t3;
	uint64_t base;

	if (!start_routes(c, t, &t3, &base))
		goto out;
	/* +10 through T2, then +5 (overtaken, inside the window) on T3's own link. */
	if (!query_as(c, t[1], t3, base + 10, NULL, &f) ||
	    !expect_frame(c, t[0], &f, "FLOOD-1", child[0], "T3's frame base+10 relayed by T2") ||
	    !query_as(c, t[2], t3, base + 5, NULL, &f) ||
	    !expect_frame(c, t[0], &f, "FLOOD-3", child[0],
			  "T3's frame base+5, after base+10 (inside the window, not seen)") ||
	    !expect_routed(c, t[0], id_of(t[2]), t[1], child[1], t[2], child[2], "FLOOD-11",
			   "T2's link (T3's highest seq came through T2; a lower one came later "
			   "on T3's own link)"))
		goto out;
	/* T2 leaves: the route to T3 is gone, and a frame for T3 is flooded. */
	if (!cf_send_error(c, t[1], IB_EC_SHUTTING_DOWN) ||
	    !cf_wait_closed(c, t[1], 0, "LINK-4", FLOOD_WAIT_MS) ||
	    !send_query(c, t[0], id_of(t[2]), &d))
		goto out;
	expect_frame(c, t[2], &d, "FLOOD-11", child[2],
		     "a QUERY to T3 after the link of T3's route closed (flooded)");
out:
	ib_buf_free(&f);
	ib_buf_free(&d);
}

/* ---- the IUT as the requester of an election, for FLOOD-10 ----------------------------------- */

struct msg_wait {
	struct cf_ctx *c;
	struct hn_peer *p;
	uint8_t type;
	uint64_t id;               /* query_id of SELECT; 0 for QUERY (matched by key) */
	const char *key;
	struct ib_msg m;           /* the match */
};

/* A frame of the IUT of type w->type for the election: QUERY of w->key, SELECT of w->id. */
static bool iut_msg_arrived(void *arg)
{
	struct msg_wait *w = arg;

	for (size_t i = 0; i < hn_peer_received(w->p); i++) {
		struct ib_frame f;
		struct ib_msg m;

		if (hn_peer_got(w->p, i)->type != w->type || !cf_got_msg(w->p, i, &f, &m) ||
		    !ib_id_equal(&f.origin, cf_iut_id(w->c)))
			continue;
		if (w->type == IB_MSG_QUERY && m.u.query.key.len == strlen(w->key) &&
		    !memcmp(m.u.query.key.ptr, w->key, m.u.query.key.len)) {
			w->m = m;
			return true;
		}
		if (w->type == IB_MSG_SELECT && m.u.select.query_id == w->id) {
			w->m = m;
			return true;
		}
	}
	return hn_peer_closed(w->p);
}

/* [FLOOD-10] T1 runs ib.fetch; T2 offers and transfers T3's PUBLISH. T3's route stays its
 * own link: the frame inside the TRANSFER says nothing of where T3 is. */
static void test_route_not_from_transfer(struct cf_ctx *c)
{
	struct hn_peer *t[3] = { 0 };
	struct ib_buf f = { 0 }, w = { 0 }, args = { 0 };
	struct msg_wait mw = { 0 };
	struct result_wait rw;
	char key[64];
	struct ib_msg m;

	/* A key no run has used: a running node keeps what an earlier run made it fetch. */
	snprintf(key, sizeof key, "conform-flood-transfer-%llu", (unsigned long long)cf_unix_us(c));
	if (!start_with_children(c, t))
		goto out;
	cf_msg_publish(&m, key, 1, "carried by T2's TRANSFER");
	if (!send_query(c, t[2], NULL, &f) ||
	    !expect_frame(c, t[0], &f, "FLOOD-1", child[0], "T3's broadcast") ||
	    !sign_msg(c, hn_peer_identity(t[2]), &m, cf_next_seq(c, 3), &w))
		goto out;
	ib_args_put(&args, (struct ib_slice){ (const uint8_t *)key, strlen(key) });
	msg_command(&m, cf_rand(c), "ib.fetch", &args);
	rw = (struct result_wait){ t[0], m.u.command.cmd_id };
	mw = (struct msg_wait){ .c = c, .p = t[1], .type = IB_MSG_QUERY, .key = key };
	if (!cf_send_to_iut(c, t[0], &m) ||
	    !cf_wait(c, iut_msg_arrived, &mw, FLOOD_WAIT_MS, "ib.fetch makes the IUT flood QUERY") ||
	    !cf_expect(c, !hn_peer_closed(t[1]), "ELECT-2", "the IUT floods QUERY for ib.fetch",
		       "T2's link closed first"))
		goto out;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_OFFER;
	m.u.offer = (struct ib_offer){ mw.m.u.query.query_id, { (const uint8_t *)key, strlen(key) },
				       1, *id_of(t[2]) };
	mw.type = IB_MSG_SELECT;
	mw.id = m.u.offer.query_id;
	if (!cf_send_to_iut(c, t[1], &m) ||
	    !cf_wait(c, iut_msg_arrived, &mw, FLOOD_WAIT_MS, "the IUT SELECTs T2, its only holder") ||
	    !cf_expect(c, !hn_peer_closed(t[1]), "ELECT-3", "the IUT SELECTs T2",
		       "T2's link closed first"))
		goto out;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_TRANSFER;
	m.u.transfer = (struct ib_transfer){ mw.id, { w.ptr, w.len } };
	if (!cf_send_to_iut(c, t[1], &m) ||
	    !cf_wait(c, result_arrived, &rw, FLOOD_WAIT_MS, "the RESULT of ib.fetch") ||
	    !cf_expect(c, results_for(t[0], rw.cmd_id, &m) == 1, "CMD-1",
		       "a RESULT answers ib.fetch", "T1's link closed first"))
		goto out;
	if (!cf_standard_ran(c, "ib.fetch", m.u.result.status))
		goto out;
	if (!cf_expect(c, m.u.result.status == IB_STATUS_OK, "ELECT-5",
		       "ib.fetch answers ok with T3's PUBLISH, transferred by T2",
		       "status %s", ib_status_name(m.u.result.status)))
		goto out;
	expect_routed(c, t[0], id_of(t[2]), t[2], child[2], t[1], child[1], "FLOOD-10",
		      "T3's own link (T3's PUBLISH inside T2's TRANSFER teaches nothing)");
out:
	ib_buf_free(&f);
	ib_buf_free(&w);
	ib_buf_free(&args);
}

/* [FLOOD-12] A PUBLISH and a COMMAND that T1 directs to T2 pass through the IUT, which
 * neither stores the one nor runs the other. */
static void test_relay_does_not_act(struct cf_ctx *c)
{
	struct hn_peer *t[2] = { 0 };
	struct ib_buf f = { 0 };
	struct ib_slice arg;
	uint64_t cmd_id;
	uint16_t status;
	char key[64];
	struct ib_msg m;

	snprintf(key, sizeof key, "conform-flood-passing-%llu", (unsigned long long)cf_unix_us(c));
	arg = (struct ib_slice){ (const uint8_t *)key, strlen(key) };
	if (!cf_iut_start(c, NULL) || !link_children(c, t, 1, 2))
		goto out;
	cf_msg_publish(&m, key, 1, "for T2 only");
	m.h.dest = *id_of(t[1]);
	if (!send_own(c, t[0], &m, &f) ||
	    !expect_frame(c, t[1], &f, "FLOOD-5", "child T2", "T1's PUBLISH directed to T2"))
		goto out;
	msg_command(&m, cmd_id = cf_rand(c), "ib.ping", NULL);
	m.h.dest = *id_of(t[1]);
	if (!send_own(c, t[0], &m, &f) ||
	    !expect_frame(c, t[1], &f, "FLOOD-5", "child T2", "T1's COMMAND directed to T2") ||
	    !cf_command(c, t[0], NULL, "ib.get", &arg, 1, &status, NULL))
		goto out;
	if (!cf_standard_ran(c, "ib.get", status))
		goto out;
	if (!cf_expect(c, status == IB_STATUS_NOT_FOUND, "FLOOD-12",
		       "a PUBLISH directed to another node is not stored by the relay (ib.get: "
		       "not_found)", "ib.get answers %s", ib_status_name(status)))
		goto out;
	cf_expect(c, results_for(t[0], cmd_id, NULL) == 0, "FLOOD-12",
		  "a COMMAND directed to another node is not run by the relay",
		  "T1 received a RESULT for its ib.ping to T2 (T2 never answers)");
out:
	ib_buf_free(&f);
}

/* ---- FLOOD-13: a frame too big for one peer -------------------------------------------------- */

#define TOO_BIG_VALUE (IB_MAX_MESSAGE_MIN + 4000)   /* a message above 65,536 bytes */

/* T1 and T3 with the default max_message, then T2 announcing 65,536: the order in which the
 * IUT took the links is not the one in which it may go through them. */
static bool link_small_peer(struct cf_ctx *c, struct hn_peer **t)
{
	if (!(t[0] = cf_peer(c, 1)) || !cf_link_child(c, t[0]) || !(t[2] = cf_peer(c, 3)) ||
	    !cf_link_child(c, t[2]) || !(t[1] = cf_peer(c, 2)))
		return false;
	hn_peer_set_max_message(t[1], IB_MAX_MESSAGE_MIN);
	return cf_link_child(c, t[1]);
}

static char *big_value(struct cf_ctx *c)
{
	char *v = malloc(TOO_BIG_VALUE + 1);

	if (!v) {
		cf_harness_error(c, "out of memory");
		return NULL;
	}
	memset(v, 'x', TOO_BIG_VALUE);
	v[TOO_BIG_VALUE] = 0;
	return v;
}

/* After big went to some links: T2 kept its link, got none of it, and still gets T1's frames
 * (the sentinel, sent after big). */
static bool small_peer_skipped(struct cf_ctx *c, struct hn_peer **t, const struct ib_buf *big,
			       const char *what)
{
	char expected[200];

	if (!sentinel(c, t[0], &t[1], (const char *[]){ "child T2 (max_message 65536)" }, 1,
		      "FLOOD-13"))
		return false;
	snprintf(expected, sizeof expected, "%s is not sent to T2, whose max_message is 65536",
		 what);
	return cf_expect(c, copies_of(t[1], big) == 0, "FRAME-7", expected,
			 "T2 received it") &&
	       cf_expect(c, !hn_peer_closed(t[1]) && !hn_peer_closed(t[0]), "FLOOD-13",
			 "the links stay open", "a link was closed");
}

static void test_too_big_for_peer(struct cf_ctx *c)
{
	struct hn_peer *t[3] = { 0 };
	struct ib_buf big = { 0 }, f = { 0 };
	char *value = NULL;
	struct ib_msg m;

	if (!cf_iut_start(c, NULL) || !link_small_peer(c, t) || !(value = big_value(c)))
		goto out;
	/* T2's route is its own link. */
	if (!send_query(c, t[1], NULL, &f) ||
	    !expect_frame(c, t[0], &f, "FLOOD-1", "child T1", "T2's broadcast"))
		goto out;
	cf_msg_publish(&m, "conform-flood-too-big", 1, value);
	if (!send_own(c, t[0], &m, &big) ||
	    !expect_frame(c, t[2], &big, "FLOOD-13", "child T3",
			  "T1's PUBLISH of a message above 65536 bytes (too big for T2 only)") ||
	    !small_peer_skipped(c, t, &big, "T1's big PUBLISH"))
		goto out;
	/* Directed to T2: sent nowhere, not flooded instead. */
	cf_msg_publish(&m, "conform-flood-too-big-for-t2", 1, value);
	m.h.dest = *id_of(t[1]);
	if (!send_own(c, t[0], &m, &big) || !small_peer_skipped(c, t, &big, "T1's big PUBLISH to T2") ||
	    !sentinel(c, t[0], &t[2], (const char *[]){ "child T3" }, 1, "FLOOD-1"))
		goto out;
	cf_expect(c, copies_of(t[2], &big) == 0, "FLOOD-13",
		  "a directed frame too big for the peer on its route is not flooded instead",
		  "child T3 received T1's big PUBLISH to T2");
out:
	free(value);
	ib_buf_free(&big);
	ib_buf_free(&f);
}

/* A frame the IUT originates that is too big for one peer: since [DATA-10] bounds what it may
 * publish, the TRANSFER of a long item it holds (T1 published it, [DATA-11]). T2, whose
 * max_message is 65536, SELECTs it ([ELECT-4]: answered whether or not the query is known):
 * the TRANSFER is directed to T2, so it goes nowhere, and is not flooded instead. */
static void test_too_big_for_peer_own(struct cf_ctx *c)
{
	static const char key[] = "conform-flood-too-big-own";
	struct hn_peer *t[3] = { 0 };
	struct ib_buf big = { 0 }, sel = { 0 };
	char *value = NULL;
	struct ib_msg m;

	if (!cf_iut_start(c, NULL) || !link_small_peer(c, t) || !(value = big_value(c)))
		goto out;
	cf_msg_publish(&m, key, 1, value);
	if (!send_own(c, t[0], &m, &big) ||
	    !expect_frame(c, t[2], &big, "FLOOD-13", "child T3", "T1's long PUBLISH"))
		goto out;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_SELECT;
	m.h.dest = *cf_iut_id(c);
	m.u.select.query_id = cf_rand(c);
	m.u.select.key = (struct ib_slice){ (const uint8_t *)key, sizeof key - 1 };
	m.u.select.version = 1;
	if (!send_own(c, t[1], &m, &sel))
		goto out;
	cf_run_for(c, 300);     /* a TRANSFER would come at once; none must come anywhere */
	if (!cf_expect(c, !hn_peer_last(t[1], IB_MSG_TRANSFER) && !hn_peer_last(t[0], IB_MSG_TRANSFER) &&
		       !hn_peer_last(t[2], IB_MSG_TRANSFER), "FLOOD-13",
		       "the IUT's TRANSFER to T2, above T2's max_message, is sent nowhere: not to "
		       "T2 ([FRAME-7]) and not flooded instead",
		       "a TRANSFER reached %s", hn_peer_last(t[1], IB_MSG_TRANSFER) ? "T2" : "T1 or T3"))
		goto out;
	if (!cf_expect(c, !hn_peer_closed(t[1]) && !hn_peer_closed(t[0]) &&
		       !hn_peer_closed(t[2]), "FLOOD-13", "the links stay open",
		       "a link was closed"))
		goto out;
	/* The control: the same SELECT from T1, whose link takes it, gets the TRANSFER. */
	m.u.select.query_id = cf_rand(c);
	if (send_own(c, t[0], &m, &sel))
		cf_wait_type(c, t[0], IB_MSG_TRANSFER, 1, 2000);
out:
	free(value);
	ib_buf_free(&big);
	ib_buf_free(&sel);
}

/* ---- FLOOD-8: order, and bursts on new links ------------------------------------------------- */

/* The query_ids of the QUERY frames from origin that p received, in order, into ids. */
static size_t queries_from(struct hn_peer *p, const ib_id *origin, uint64_t *ids, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < hn_peer_received(p); i++) {
		struct ib_frame f;
		struct ib_msg m;

		if (hn_peer_got(p, i)->type != IB_MSG_QUERY || !cf_got_msg(p, i, &f, &m) ||
		    !ib_id_equal(&f.origin, origin))
			continue;
		if (n < cap)
			ids[n] = m.u.query.query_id;
		n++;
	}
	return n;
}

struct burst_wait {
	struct hn_peer *p;
	const ib_id *origin;
	size_t count;
};

static bool burst_arrived(void *arg)
{
	const struct burst_wait *bw = arg;

	return queries_from(bw->p, bw->origin, NULL, 0) >= bw->count || hn_peer_closed(bw->p);
}

/* QUERYs query_id first..first+n-1 from p, back to back. */
static bool send_burst(struct cf_ctx *c, struct hn_peer *p, uint64_t first, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct ib_msg m;

		msg_query(&m, first + i, NULL);
		if (hn_peer_send(p, &m, NULL, NULL, false, NULL) != IB_OK) {
			cf_harness_error(c, "a tester cannot send");
			return false;
		}
	}
	return true;
}

/* p got the query_ids first..first+total-1 from origin: first in order (what did arrive),
 * then all of them. */
static bool check_burst(struct cf_ctx *c, const char *who, const uint64_t *ids, size_t n,
			uint64_t first, size_t total, bool closed)
{
	for (size_t i = 1; i < n; i++)
		if (!cf_expect(c, ids[i] > ids[i - 1], "FLOOD-8",
			       "the frames of one origin leave the IUT in the order they came",
			       "%s received T1's frame #%llu right after #%llu", who,
			       (unsigned long long)ids[i], (unsigned long long)ids[i - 1]))
			return false;
	return cf_expect(c, n == total && (!n || (ids[0] == first && ids[n - 1] == first + total - 1)),
			 "FLOOD-1", "every frame of T1's bursts reaches the tester",
			 "%s received %zu of %zu%s", who, n, total,
			 closed ? " and its link was closed" : "");
}

/* Waits for total QUERYs from origin at p, then checks them (ids from first). */
static bool expect_burst(struct cf_ctx *c, struct hn_peer *p, const char *who,
			 const ib_id *origin, uint64_t first, size_t total)
{
	struct burst_wait bw = { p, origin, total };
	uint64_t *ids = calloc(total + 1, sizeof *ids);
	size_t n;
	bool ok;

	if (!ids) {
		cf_harness_error(c, "out of memory");
		return false;
	}
	cf_run_until(c, burst_arrived, &bw, FLOOD_WAIT_MS);
	n = queries_from(p, origin, ids, total + 1);
	ok = check_burst(c, who, ids, n < total + 1 ? n : total + 1, first, total,
			 hn_peer_closed(p));
	free(ids);
	return ok;
}

static void test_burst_in_order(struct cf_ctx *c)
{
	struct hn_peer *t1, *t2, *t3;

	/* T2 first; T1 sends its burst as soon as its own link is up. */
	if (!cf_iut_start(c, NULL) || !(t2 = cf_peer(c, 2)) || !cf_link_child(c, t2) ||
	    !(t1 = cf_peer(c, 1)) || !cf_link_child(c, t1) || !send_burst(c, t1, 0, BURST_FIRST) ||
	    !expect_burst(c, t2, "child T2", id_of(t1), 0, BURST_FIRST))
		return;
	/* Then toward a link that has just come up, while the IUT also greets it. */
	if (!(t3 = cf_peer(c, 3)) || !cf_link_child(c, t3) ||
	    !send_burst(c, t1, BURST_FIRST, BURST_SECOND))
		return;
	/* T3 only gets the second burst: its ids start at BURST_FIRST. */
	if (expect_burst(c, t2, "child T2", id_of(t1), 0, BURST_FIRST + BURST_SECOND))
		expect_burst(c, t3, "child T3", id_of(t1), BURST_FIRST, BURST_SECOND);
}

const struct cf_test cf_tests_flood[] = {
	{ "flood.fan-out", "FLOOD-1 FLOOD-2", CF_NEEDS_CONFIG, test_fan_out,
	  "With a parent and three children, an end-to-end frame from any of them goes to every "
	  "other link, byte for byte, and never back on the link it came from" },
	{ "flood.unknown-type", "MSG-10 FLOOD-1", 0, test_unknown_types,
	  "Frames of unassigned end-to-end types (0x40, 0x7f) are flooded byte for byte like "
	  "known ones" },
	{ "flood.own-frames", "FLOOD-7", CF_NEEDS_CONFIG, test_own_frames,
	  "A frame the IUT originates (ib.publish) goes to its parent and every child; sent "
	  "back to it from two branches it is a replay, dropped; its directed RESULT goes only "
	  "toward the command's origin" },
	{ "flood.window-jumps", "FLOOD-14 FLOOD-3", 0, test_window_jumps,
	  "A jump of top by exactly 64 clears the whole window but the new top; by 63 it keeps "
	  "the old top in the last slot" },
	{ "flood.window-low-seqs", "FLOOD-14 FLOOD-3", CF_NEEDS_CONFIG, test_window_low_seqs,
	  "While top is below 63 the window reaches down to seq 0: a small seq below top is "
	  "accepted when unseen (no unsigned wrap of top-63)" },
	{ "flood.own-frame-after-restart", "FLOOD-7 MAP-4", CF_NEEDS_RESTART,
	  test_own_frame_after_restart,
	  "A frame the IUT sent before a restart, replayed to it after, is dropped as a replay, "
	  "not flooded again" },
	{ "flood.route-link-gone", "FLOOD-5", 0, test_route_link_gone,
	  "a route ends with its link: a directed frame to an origin whose route's link is gone "
	  "is flooded" },
	{ "flood.many-origins", "FLOOD-3", CF_NEEDS_CONFIG, test_many_origins,
	  "the replay state of every origin is kept with 70 origins: the first one's frame "
	  "again is dropped" },
	{ "flood.replay-window", "FLOOD-3", 0, test_replay_window,
	  "Per origin, a 64-seq window: a captured frame re-injected from other branches is "
	  "dropped; seqs going backwards pass while inside the window and unseen, and are "
	  "dropped when seen or below top-63" },
	{ "flood.forgery-keeps-window", "FLOOD-4", 0, test_forgery_keeps_window,
	  "Frames that fail the checks (bad signature, wrong key, malformed body, version 2) "
	  "with high seqs do not move their claimed origin's window: lower genuine seqs pass" },
	{ "flood.directed", "FLOOD-5", 0, test_directed,
	  "A frame with dest goes only on the route learned from dest's frames, is flooded "
	  "when no route is known, and is not forwarded when dest is the IUT" },
	{ "flood.route-last-frame", "FLOOD-5", 0, test_route_last_frame,
	  "The route to an origin is the link of its newest accepted frame (not a replayed one, "
	  "not a direct link); a route that is the arrival link means flooding" },
	{ "flood.hop-local", "FLOOD-6", CF_NEEDS_CONFIG, test_hop_local,
	  "Hop-local frames (PING, PATH, unassigned 0x06-0x0f) from the parent or a child are "
	  "never forwarded" },
	{ "flood.burst-in-order", "FLOOD-8 FLOOD-1", 0, test_burst_in_order,
	  "200 frames sent right after a link came up, then 100 toward a link that just came "
	  "up, all arrive, in the order sent" },
	{ "flood.route-before-delivery", "FLOOD-9", 0, test_route_before_delivery,
	  "The first frame of a new origin (a COMMAND to the IUT) teaches its route before it is "
	  "delivered: the RESULT goes only where the COMMAND came from, not flooded" },
	{ "flood.stale-command-ignored", "FLOOD-9 FLOOD-10", 0, test_stale_command_ignored,
	  "A stale COMMAND (seq 600 s ahead) relayed from another branch moves neither its "
	  "origin's route nor its window" },
	{ "flood.route-sources", "FLOOD-10", 0, test_route_sources,
	  "Every accepted end-to-end frame moves its origin's route: directed to the IUT, to "
	  "another node, of an unknown type; a hop-local frame does not" },
	{ "flood.route-not-from-transfer", "FLOOD-10", 0, test_route_not_from_transfer,
	  "The PUBLISH inside a TRANSFER (ib.fetch) does not move its writer's route to the "
	  "holder's link" },
	{ "flood.route-newest-seq", "FLOOD-11", 0, test_route_newest_seq,
	  "The route follows the origin's highest seq, not a lower one that arrived later; it "
	  "is forgotten (flooding) when its link closes" },
	{ "flood.relay-does-not-act", "FLOOD-12", 0, test_relay_does_not_act,
	  "A PUBLISH and a COMMAND directed to another node pass through: not stored, not run" },
	{ "flood.too-big-for-peer", "FLOOD-13 FRAME-7", 0, test_too_big_for_peer,
	  "A forwarded frame above one child's max_message skips that link only: the others get "
	  "it, the link stays up, a directed one is not flooded instead" },
	{ "flood.too-big-for-peer-own", "FLOOD-13 FRAME-7", 0, test_too_big_for_peer_own,
	  "A frame the IUT originates (the TRANSFER of a long item) directed to a child whose "
	  "max_message it passes is sent nowhere, not flooded instead; the link stays" },
	{ NULL, NULL, 0, NULL, NULL }
};
