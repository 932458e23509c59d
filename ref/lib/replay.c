/*
 * replay.c - the per-origin anti-replay window ([FLOOD-3], [FLOOD-4]) and the sequence numbers
 * a node gives its own messages ([MSG-5]).
 */
#include "interbot.h"

/* [FLOOD-3] Accepted: the first seq ever, anything above top, or an unseen seq in
 * top-63 .. top. Refused: a seq whose bit is set, or below top-63. */
int ib_replay_check(const struct ib_replay_window *w, uint64_t seq)
{
	uint64_t age;

	if (!w)
		return IB_ERR_INVALID_ARG;
	if (!w->started || seq > w->top)
		return IB_OK;
	/* [FLOOD-14] the age, not top-63: the lower edge never wraps (while top < 63, the
	 * window reaches down to 0). */
	age = w->top - seq; /* no underflow: seq <= top */
	if (age >= IB_REPLAY_WINDOW)
		return IB_ERR_REPLAY;
	return (w->bitmap >> age) & 1u ? IB_ERR_REPLAY : IB_OK;
}

/* [FLOOD-4] The caller calls this only for frames that passed every check, so a forged frame
 * cannot move the window; a refused seq leaves it as it was. */
int ib_replay_accept(struct ib_replay_window *w, uint64_t seq)
{
	uint64_t shift;
	int err;

	err = ib_replay_check(w, seq);
	if (err)
		return err;
	if (!w->started) {
		w->started = true;
		w->top = seq;
		w->bitmap = 1;
		return IB_OK;
	}
	if (seq <= w->top) {
		w->bitmap |= (uint64_t)1 << (w->top - seq);
		return IB_OK;
	}
	/* [FLOOD-14] a jump of a whole window or more clears it (and shifting a uint64_t by 64
	 * or more is undefined in C). */
	shift = seq - w->top;
	w->bitmap = shift >= IB_REPLAY_WINDOW ? 0 : w->bitmap << shift;
	w->bitmap |= 1;
	w->top = seq;
	return IB_OK;
}

/*
 * [MSG-5] max(now, last + 1): the clock when it moved past last, else last + 1, so the result
 * is strictly increasing even when the clock stalls or goes back.
 *
 * When last is already UINT64_MAX no greater seq exists: the generator is exhausted, stays
 * unchanged, and returns 0, a value it never returns otherwise (every result is at least
 * last + 1 >= 1). The caller must then not send: no seq it could use would be greater than
 * the last one. This needs a clock or a persisted seq near the year 586,000.
 */
uint64_t ib_seq_next(struct ib_seq_gen *g, uint64_t now_unix_us)
{
	if (now_unix_us > g->last)
		g->last = now_unix_us;
	else if (g->last < UINT64_MAX)
		g->last++;
	else
		return 0;
	return g->last;
}
