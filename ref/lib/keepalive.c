/*
 * keepalive.c - PING and PONG (spec section 11). The server (parent) pings its children with
 * fresh random nonces and cuts a child that does not answer, or answers wrong; the child
 * answers and leaves a parent that stops pinging.
 */
#include "node_internal.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

static void ping_due(struct ib_loop *loop, void *arg);

static void pong_overdue(struct ib_loop *loop, void *arg)
{
	struct ib_link *l = arg;

	l->pong_timer = 0;
	if (IB_FAULT(l->node, ignore_missing_pong)) /* FAULT, breaks [KA-4] */
		return;
	link_close(l, IB_EC_KEEPALIVE_TIMEOUT, "no PONG in time"); /* [KA-4] */
}

static void send_ping(struct ib_link *l)
{
	struct ib_node *n = l->node;
	struct ib_msg m;

	/* [KA-2] a fresh nonce from the CSPRNG for every PING. */
	if (RAND_bytes(l->nonce, sizeof l->nonce) != 1) {
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
	ib_loop_timer_add(n->loop, (uint64_t)n->cfg.keepalive_timeout_ms * 1000, pong_overdue, l,
			  &l->pong_timer);
}

/* [KA-1] every interval; never a second PING while one is unanswered. */
static void ping_due(struct ib_loop *loop, void *arg)
{
	struct ib_link *l = arg;

	l->ka_timer = 0;
	if (!l->ping_outstanding && !IB_FAULT(l->node, no_ping)) /* FAULT no-ping, [KA-1] */
		send_ping(l);
	if (l->state == LINK_OPEN)
		ib_loop_timer_add(loop, (uint64_t)l->node->cfg.keepalive_interval_ms * 1000,
				  ping_due, l, &l->ka_timer);
}

static void parent_silent(struct ib_loop *loop, void *arg)
{
	struct ib_link *l = arg;

	l->ka_timer = 0;
	if (IB_FAULT(l->node, ignore_parent_silence)) /* FAULT, breaks [KA-5] */
		return;
	/* [KA-5] three intervals without a PING: the parent is gone; tree.c rejoins. */
	link_close(l, IB_EC_KEEPALIVE_TIMEOUT, "no PING for three intervals");
}

static void arm_silence(struct ib_link *l)
{
	ib_loop_timer_cancel(l->node->loop, l->ka_timer);
	l->ka_timer = 0;
	ib_loop_timer_add(l->node->loop,
			  (uint64_t)IB_KA_SILENCE_INTERVALS * l->peer_keepalive_ms * 1000,
			  parent_silent, l, &l->ka_timer);
}

void ka_start(struct ib_link *l)
{
	if (l->we_connected)
		arm_silence(l);
	else
		ib_loop_timer_add(l->node->loop, (uint64_t)l->node->cfg.keepalive_interval_ms * 1000,
				  ping_due, l, &l->ka_timer);
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

	arm_silence(l);
	/* [KA-3] the same nonce, byte for byte. */
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
}
