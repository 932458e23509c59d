/*
 * keepalive.c - PING and PONG (spec section 11). The server (parent) pings its children with
 * fresh random nonces on a fixed schedule and cuts a child that does not answer, or answers
 * wrong; the child answers and leaves a parent that stops pinging.
 */
#include "node_internal.h"

#include <openssl/crypto.h>
#include <string.h>

static void ping_due(struct ib_loop *loop, void *arg);

static uint64_t interval_us(const struct ib_link *l)
{
	return (uint64_t)l->node->cfg.keepalive_interval_ms * 1000;
}

/* [KA-7] the next PING is due one interval after the last one was due, whatever happened
 * meanwhile; due times the loop slept through are skipped, not caught up. */
static void arm_ping(struct ib_link *l)
{
	uint64_t now = node_now_us(l->node);

	l->ping_due_us += interval_us(l);
	if (l->ping_due_us <= now)
		l->ping_due_us += ((now - l->ping_due_us) / interval_us(l) + 1) * interval_us(l);
	ib_loop_timer_add(l->node->loop, l->ping_due_us - now, ping_due, l, &l->ka_timer);
}

static void pong_overdue(struct ib_loop *loop, void *arg)
{
	struct ib_link *l = arg;

	(void)loop;
	l->pong_timer = 0;
	if (IB_FAULT(l->node, ignore_missing_pong)) /* FAULT, breaks [KA-4] */
		return;
	link_close(l, IB_EC_KEEPALIVE_TIMEOUT, "no PONG in time"); /* [KA-4] [KA-8] */
}

static void send_ping(struct ib_link *l)
{
	struct ib_node *n = l->node;
	uint64_t deadline_us = (uint64_t)n->cfg.keepalive_timeout_ms * 1000;
	struct ib_msg m;

	/* [KA-2] a fresh nonce from the CSPRNG for every PING. */
	if (node_random_bytes(n, l->nonce, sizeof l->nonce) != IB_OK) {
		link_close(l, 0, "no random bytes for a PING nonce");
		return;
	}
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PING;
	m.u.ping.nonce = (struct ib_slice){ l->nonce, sizeof l->nonce };
	if (link_send_msg(l, &m) != IB_OK || l->state != LINK_OPEN)
		return;
	l->ping_outstanding = true;
	l->ping_sent_us = node_now_us(n);
	/* [KA-8] keepalive_timeout_ms from this PING, even past the next due time.
	 * FAULT pong-deadline-at-interval: the PONG must come before the next PING is due.
	 * FAULT late-pong-accepted: the deadline is checked half a timeout late, and a PONG read
	 * meanwhile is taken as the answer. */
	if (IB_FAULT(n, pong_deadline_at_interval) && deadline_us > interval_us(l))
		deadline_us = interval_us(l);
	if (IB_FAULT(n, late_pong_accepted))
		deadline_us += deadline_us / 2;
	ib_loop_timer_add(n->loop, deadline_us, pong_overdue, l, &l->pong_timer);
}

/* [KA-1] [KA-7] every interval; never a second PING while one is unanswered: that one is
 * skipped, and the schedule goes on. */
static void ping_due(struct ib_loop *loop, void *arg)
{
	struct ib_link *l = arg;

	(void)loop;
	l->ka_timer = 0;
	if (!l->ping_outstanding && !IB_FAULT(l->node, no_ping)) /* FAULT no-ping, [KA-1] */
		send_ping(l);
	if (l->state == LINK_OPEN)
		arm_ping(l);
}

static void parent_silent(struct ib_loop *loop, void *arg)
{
	struct ib_link *l = arg;

	(void)loop;
	l->ka_timer = 0;
	if (IB_FAULT(l->node, ignore_parent_silence)) /* FAULT, breaks [KA-5] */
		return;
	/* [KA-5] three intervals without a PING: the parent is gone; tree.c rejoins. */
	link_close(l, IB_EC_KEEPALIVE_TIMEOUT, "no PING for three intervals");
}

/* [KA-9] the silence limit, from now: three of the parent's announced intervals. */
static void arm_silence(struct ib_link *l, uint64_t already_us)
{
	uint64_t limit_us = (uint64_t)IB_KA_SILENCE_INTERVALS * l->peer_keepalive_ms * 1000;

	/* FAULT late-ping-accepted, breaks [KA-9]: the limit is checked on a tick of one
	 * interval (the close still comes within the fourth), and a PING read meanwhile is taken
	 * as in time. */
	if (IB_FAULT(l->node, late_ping_accepted))
		limit_us += (uint64_t)l->peer_keepalive_ms * 1000 - 1000;
	ib_loop_timer_cancel(l->node->loop, l->ka_timer);
	l->ka_timer = 0;
	ib_loop_timer_add(l->node->loop, limit_us > already_us ? limit_us - already_us : 0,
			  parent_silent, l, &l->ka_timer);
}

void ka_start(struct ib_link *l)
{
	uint64_t already_us = 0;

	if (!l->we_connected) {
		/* [KA-7] PING k is due k intervals after the HELLO exchange, which ends now. */
		l->ping_due_us = node_now_us(l->node);
		arm_ping(l);
		return;
	}
	/* [KA-9] the client counts from the end of the HELLO exchange (the server's HELLO, read
	 * now). FAULT silence-from-connect: it counts from the end of the TLS handshake. */
	l->last_ping_in_us = node_now_us(l->node);
	if (IB_FAULT(l->node, silence_from_connect))
		already_us = node_now_us(l->node) - l->tls_open_us;
	arm_silence(l, already_us);
}

void ka_stop(struct ib_link *l)
{
	ib_loop_timer_cancel(l->node->loop, l->ka_timer);
	ib_loop_timer_cancel(l->node->loop, l->pong_timer);
	l->ka_timer = 0;
	l->pong_timer = 0;
	l->ping_outstanding = false;
}

void ka_ping_received(struct ib_link *l, const struct ib_msg *m)
{
	struct ib_msg pong;

#ifdef IB_FAULTS
	/* FAULT early-ping-refused, breaks [KA-10]: a PING sooner than half the announced
	 * interval after the HELLO exchange or the previous PING is taken as a violation. */
	if (IB_FAULT(l->node, early_ping_refused) &&
	    node_now_us(l->node) - l->last_ping_in_us < (uint64_t)l->peer_keepalive_ms * 500) {
		link_close(l, IB_EC_PROTOCOL_VIOLATION, "PING before its interval");
		return;
	}
#endif
	l->last_ping_in_us = node_now_us(l->node);
	/* [KA-9] only a PING moves the silence limit, to three intervals from itself.
	 * FAULT silence-not-rearmed: none does. FAULT silence-on-grid: the limit counts from the
	 * grid time the PING was due at (whole intervals after the HELLO exchange). */
	if (IB_FAULT(l->node, silence_on_grid))
		arm_silence(l, (l->last_ping_in_us - l->open_since_us) %
				       ((uint64_t)l->peer_keepalive_ms * 1000));
	else if (!IB_FAULT(l->node, silence_not_rearmed))
		arm_silence(l, 0);
	/* [KA-3] [KA-10] the same nonce, byte for byte, for every PING whenever it comes. */
	memset(&pong, 0, sizeof pong);
	pong.h.type = IB_MSG_PONG;
	pong.u.ping.nonce = m->u.ping.nonce;
#ifdef IB_FAULTS
	uint8_t wrong[IB_NONCE_MAX];

	/* FAULT wrong-pong-nonce, breaks [KA-3]: the last byte of the nonce is flipped. */
	if (IB_FAULT(l->node, wrong_pong_nonce) && m->u.ping.nonce.len <= sizeof wrong &&
	    m->u.ping.nonce.len > 0) {
		memcpy(wrong, m->u.ping.nonce.ptr, m->u.ping.nonce.len);
		wrong[m->u.ping.nonce.len - 1] ^= 0xff;
		pong.u.ping.nonce.ptr = wrong;
	}
#endif
	link_send_msg(l, &pong);
}

void ka_pong_received(struct ib_link *l, const struct ib_msg *m)
{
	const struct ib_slice *got = &m->u.ping.nonce;

	/* [KA-4] the answer to the outstanding PING, compared in constant time. */
	if (!l->ping_outstanding || got->len != sizeof l->nonce ||
	    CRYPTO_memcmp(got->ptr, l->nonce, sizeof l->nonce) != 0) {
		link_close(l, IB_EC_KEEPALIVE_TIMEOUT, "PONG does not answer my PING");
		return;
	}
	l->ping_outstanding = false;
	l->rtt_us = node_now_us(l->node) - l->ping_sent_us; /* [KA-6] */
	ib_loop_timer_cancel(l->node->loop, l->pong_timer);
	l->pong_timer = 0;
#ifdef IB_FAULTS
	/* FAULT skipped-ping-sent-late, breaks [KA-7]: a PING skipped while this one was
	 * unanswered goes now. FAULT ping-after-pong, breaks [KA-7]: the schedule restarts from
	 * the PONG. */
	if (IB_FAULT(l->node, skipped_ping_sent_late) &&
	    node_now_us(l->node) - l->ping_sent_us >= interval_us(l))
		send_ping(l);
	if (IB_FAULT(l->node, ping_after_pong) && l->state == LINK_OPEN) {
		ib_loop_timer_cancel(l->node->loop, l->ka_timer);
		l->ka_timer = 0;
		l->ping_due_us = node_now_us(l->node);
		arm_ping(l);
	}
#endif
}

#ifdef IB_FAULTS
/* Any valid frame read on an open link; only the faults below look at it. */
void ka_frame_received(struct ib_link *l)
{
	if (l->state != LINK_OPEN)
		return;
	/* FAULT ping-when-idle, breaks [KA-7]: the server pings only after an interval
	 * without frames from the child. */
	if (IB_FAULT(l->node, ping_when_idle) && !l->we_connected) {
		ib_loop_timer_cancel(l->node->loop, l->ka_timer);
		l->ka_timer = 0;
		l->ping_due_us = node_now_us(l->node);
		arm_ping(l);
	}
	/* FAULT silence-rearmed-by-any-frame, breaks [KA-9]: any frame from the parent. */
	if (IB_FAULT(l->node, silence_rearmed_by_any_frame) && l->we_connected)
		arm_silence(l, 0);
}

/* A frame dropped on an open link for a message rule ([MSG-12]). [KA-11] a dropped PONG
 * answers no PING and closes nothing; only the faults below look at it. */
void ka_frame_dropped(struct ib_link *l, const struct ib_msg *m)
{
	if (l->state != LINK_OPEN || l->we_connected || m->h.type != IB_MSG_PONG)
		return;
	/* FAULT malformed-pong-closes, breaks [KA-11]: taken for a PONG of another nonce. */
	if (IB_FAULT(l->node, malformed_pong_closes)) {
		link_close(l, IB_EC_KEEPALIVE_TIMEOUT, "PONG does not answer my PING");
		return;
	}
	/* FAULT malformed-pong-answers, breaks [KA-11]: a PONG whose nonce is followed by more
	 * bytes is taken for the answer. */
	if (IB_FAULT(l->node, malformed_pong_answers) && m->u.ping.nonce.len > 0)
		ka_pong_received(l, m);
}
#endif
