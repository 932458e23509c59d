/* t_ka.c - keep-alive (spec section 11): the IUT as a parent PINGs on schedule with fresh
 * random nonces and cuts children that stay silent or answer wrongly; as a child it echoes
 * PINGs and leaves a parent that stopped PINGing. */
#include "cf.h"

#include <stdlib.h>
#include <string.h>

#define KA_INTERVAL_MS 150u
#define KA_WAIT_MS 2000u

static void ka_opts(struct cf_iut_opts *o, uint32_t interval_ms, uint32_t timeout_ms)
{
	memset(o, 0, sizeof *o);
	o->keepalive_interval_ms = interval_ms;
	o->keepalive_timeout_ms = timeout_ms;
	o->reconnect_min_ms = 100;
	o->reconnect_max_ms = 400;
}

/* Slack for timers on real time: they fire late, never early (a few ms of clock skew aside). */
static uint64_t late_slack_ms(struct cf_ctx *c)
{
	return cf_mode(c) == CF_MODE_SELF ? 5 : 120;
}

/* Index of the n-th (0-based) frame of type in p's record; SIZE_MAX if none. */
static size_t nth_of_type(struct hn_peer *p, uint8_t type, size_t n)
{
	for (size_t i = 0; i < hn_peer_received(p); i++)
		if (hn_peer_got(p, i)->type == type && n-- == 0)
			return i;
	return SIZE_MAX;
}

static bool send_nonce_msg(struct cf_ctx *c, struct hn_peer *p, uint8_t type,
			   const uint8_t *nonce, size_t len)
{
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = type;
	m.u.ping.nonce = (struct ib_slice){ nonce, len };
	if (hn_peer_send(p, &m, NULL, NULL, false, NULL) != IB_OK) {
		cf_harness_error(c, "cannot send %s", ib_msg_type_name(type));
		return false;
	}
	return true;
}

/* ---- [KA-1] [KA-2] the PING schedule and its nonces ------------------------------------- */

#define KA_PINGS 8

static bool check_schedule(struct cf_ctx *c, struct hn_peer *p)
{
	uint64_t prev = hn_peer_got(p, nth_of_type(p, IB_MSG_HELLO, 0))->at_us / 1000;
	uint64_t slack = late_slack_ms(c);
	char gaps[256];
	size_t used = 0;
	bool ok = true;

	for (size_t k = 0; k < KA_PINGS; k++) {
		uint64_t at = hn_peer_got(p, nth_of_type(p, IB_MSG_PING, k))->at_us / 1000;
		uint64_t gap = at - prev;

		used += (size_t)snprintf(gaps + used, sizeof gaps - used, "%s%llu", k ? "," : "",
					 (unsigned long long)gap);
		/* The first from the HELLO exchange, the others from the previous PING. */
		if (gap + 10 < KA_INTERVAL_MS || gap > KA_INTERVAL_MS + slack)
			ok = false;
		prev = at;
	}
	return cf_expect(c, ok, "KA-1",
			 "a PING every keepalive_interval_ms (150), the first 150 ms after HELLO",
			 "ms from HELLO to the first PING, then between PINGs: %s", gaps);
}

static bool check_nonces(struct cf_ctx *c, struct hn_peer *p)
{
	const struct hn_got *g[KA_PINGS];

	for (size_t k = 0; k < KA_PINGS; k++) {
		g[k] = hn_peer_got(p, nth_of_type(p, IB_MSG_PING, k));
		if (!cf_expect(c, g[k]->nonce_len >= 16 && g[k]->nonce_len <= 64, "KA-2",
			       "PING nonces of 16 to 64 bytes", "PING %zu: %zu bytes", k,
			       g[k]->nonce_len))
			return false;
	}
	/* Fresh random nonces differ everywhere; a counter behind a fixed prefix does not. */
	for (size_t a = 0; a < KA_PINGS; a++)
		for (size_t b = a + 1; b < KA_PINGS; b++)
			if (!cf_expect(c, memcmp(g[a]->nonce, g[b]->nonce, 8) != 0, "KA-2",
				       "a fresh random nonce for every PING",
				       "PINGs %zu and %zu share their first 8 nonce bytes", a, b))
				return false;
	return true;
}

static void test_ping_schedule(struct cf_ctx *c)
{
	struct cf_iut_opts o;
	struct hn_peer *p;

	ka_opts(&o, KA_INTERVAL_MS, 1000);
	if (!cf_iut_start(c, &o) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !cf_wait_type(c, p, IB_MSG_PING, KA_PINGS, KA_PINGS * KA_INTERVAL_MS + KA_WAIT_MS))
		return;
	if (check_schedule(c, p))
		check_nonces(c, p);
}

/* ---- [KA-1] [KA-4] a silent child -------------------------------------------------------- */

/* The timeout (600) is longer than the interval (150): while the first PING is unanswered no
 * second may be sent, and the link must close once the timeout has passed. */
static void test_silent_child(struct cf_ctx *c)
{
	uint64_t ping_at, closed_at;
	struct cf_iut_opts o;
	struct hn_peer *p;

	ka_opts(&o, KA_INTERVAL_MS, 600);
	if (!cf_iut_start(c, &o) || !(p = cf_peer(c, 0)))
		return;
	hn_peer_auto_pong(p, false);
	if (!cf_link_child(c, p) || !cf_wait_type(c, p, IB_MSG_PING, 1, KA_WAIT_MS))
		return;
	ping_at = cf_now_ms(c);
	if (!cf_wait_closed(c, p, IB_EC_KEEPALIVE_TIMEOUT, "KA-4", 600 + KA_WAIT_MS))
		return;
	closed_at = cf_now_ms(c);
	if (!cf_expect(c, hn_peer_count(p, IB_MSG_PING) == 1, "KA-1",
		       "no second PING while the first is unanswered",
		       "%zu PINGs before the close", hn_peer_count(p, IB_MSG_PING)))
		return;
	cf_expect(c, closed_at - ping_at + 10 >= 600 &&
		  closed_at - ping_at <= 600 + 4 * late_slack_ms(c) + 50, "KA-4",
		  "closed keepalive_timeout_ms (600) after the unanswered PING",
		  "closed %llu ms after it", (unsigned long long)(closed_at - ping_at));
}

/* ---- [KA-4] a wrong nonce, an unsolicited PONG -------------------------------------------- */

static void test_wrong_nonce(struct cf_ctx *c)
{
	uint8_t nonce[IB_NONCE_MAX];
	const struct hn_got *ping;
	struct cf_iut_opts o;
	struct hn_peer *p;

	/* A long timeout: a close now is for the nonce, not for the silence. */
	ka_opts(&o, KA_INTERVAL_MS, 5000);
	if (!cf_iut_start(c, &o) || !(p = cf_peer(c, 0)))
		return;
	hn_peer_auto_pong(p, false);
	if (!cf_link_child(c, p) || !cf_wait_type(c, p, IB_MSG_PING, 1, KA_WAIT_MS))
		return;
	ping = hn_peer_last(p, IB_MSG_PING);
	memcpy(nonce, ping->nonce, ping->nonce_len);
	nonce[ping->nonce_len - 1] ^= 0x01;   /* one bit off, at the end */
	if (!send_nonce_msg(c, p, IB_MSG_PONG, nonce, ping->nonce_len))
		return;
	cf_wait_closed(c, p, IB_EC_KEEPALIVE_TIMEOUT, "KA-4", 1000);
}

/* Two PONGs while no PING is outstanding: a fresh random nonce right after HELLO, and a
 * repeat of the PONG that already answered the last PING (a stale answer). */
static void test_unsolicited_pong(struct cf_ctx *c)
{
	uint8_t nonce[IB_NONCE_MAX];
	const struct hn_got *ping;
	struct hn_peer *fresh, *stale;
	struct cf_iut_opts o;

	ka_opts(&o, 400, 5000);
	for (size_t i = 0; i < 16; i++)
		nonce[i] = (uint8_t)cf_rand(c);
	if (!cf_iut_start(c, &o) || !(fresh = cf_peer(c, 0)) || !cf_link_child(c, fresh) ||
	    !send_nonce_msg(c, fresh, IB_MSG_PONG, nonce, 16) ||
	    !cf_wait_closed(c, fresh, IB_EC_KEEPALIVE_TIMEOUT, "KA-4", 1000))
		return;
	/* The tester answers the PING at once (auto PONG); the repeat follows it at once, some
	 * 400 ms before the next PING. */
	if (!(stale = cf_peer(c, 1)) || !cf_link_child(c, stale) ||
	    !cf_wait_type(c, stale, IB_MSG_PING, 1, KA_WAIT_MS))
		return;
	ping = hn_peer_last(stale, IB_MSG_PING);
	memcpy(nonce, ping->nonce, ping->nonce_len);
	if (!send_nonce_msg(c, stale, IB_MSG_PONG, nonce, ping->nonce_len))
		return;
	cf_wait_closed(c, stale, IB_EC_KEEPALIVE_TIMEOUT, "KA-4", 300);
}

/* A child that answers every PING keeps its link: the reference for the three above. */
static void test_answering_child_kept(struct cf_ctx *c)
{
	struct cf_iut_opts o;
	struct hn_peer *p;

	ka_opts(&o, KA_INTERVAL_MS, 300);
	if (!cf_iut_start(c, &o) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !cf_wait_type(c, p, IB_MSG_PING, 6, 6 * KA_INTERVAL_MS + KA_WAIT_MS))
		return;
	cf_expect(c, !hn_peer_closed(p), "KA-4",
		  "a child answering every PING with its nonce keeps its link",
		  "the IUT closed it (ERROR %s)",
		  hn_peer_last(p, IB_MSG_ERROR)
			  ? ib_error_code_name(hn_peer_last(p, IB_MSG_ERROR)->error_code)
			  : "none");
}

/* ---- [KA-3] the IUT as a child echoes --------------------------------------------------- */

struct pong_wait {
	struct hn_peer *p;
	size_t count;
};

static bool pong_arrived(void *arg)
{
	struct pong_wait *w = arg;

	return hn_peer_count(w->p, IB_MSG_PONG) >= w->count || hn_peer_closed(w->p);
}

static void test_child_echoes(struct cf_ctx *c)
{
	static const size_t lengths[] = { 16, 33, 64 };
	char addr[IB_MAX_ADDR];
	struct cf_iut_opts o;
	struct hn_peer *parent;

	ka_opts(&o, 3000, 5000);
	if (!(parent = cf_peer(c, 1)) || !cf_listen_parent(c, parent, addr))
		return;
	o.parents[o.nparents++] = addr;
	if (!cf_iut_start(c, &o) || !cf_accept_child(c, parent, NULL, 0))
		return;
	hn_peer_unlisten(parent);
	for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
		struct pong_wait w = { parent, i + 1 };
		uint8_t nonce[IB_NONCE_MAX];
		const struct hn_got *pong;

		for (size_t k = 0; k < lengths[i]; k++)
			nonce[k] = (uint8_t)cf_rand(c);
		if (!send_nonce_msg(c, parent, IB_MSG_PING, nonce, lengths[i]) ||
		    !cf_wait(c, pong_arrived, &w, KA_WAIT_MS, "a PONG answers the parent's PING"))
			return;
		pong = hn_peer_last(parent, IB_MSG_PONG);
		if (!cf_expect(c, pong && hn_peer_count(parent, IB_MSG_PONG) == i + 1, "KA-3",
			       "one PONG for the PING", "the link closed instead"))
			return;
		if (!cf_expect(c, pong->nonce_len == lengths[i] &&
			       !memcmp(pong->nonce, nonce, lengths[i]), "KA-3",
			       "the PONG carries the PING's nonce byte for byte",
			       "PING nonce of %zu bytes, PONG nonce of %zu bytes%s", lengths[i],
			       pong->nonce_len, pong->nonce_len == lengths[i] ? " (different)" : ""))
			return;
	}
}

/* ---- [KA-5] the IUT as a child leaves a silent parent ---------------------------------- */

#define KA_PARENT_INTERVAL_MS 200u

static void test_silent_parent(struct cf_ctx *c)
{
	struct hn_peer *parent, *again;
	char addr[IB_MAX_ADDR];
	uint64_t hello_at, closed_at, silence;
	struct cf_iut_opts o;
	uint16_t port;

	/* The IUT's own interval is long: only the parent's announced one matters. */
	ka_opts(&o, 3000, 5000);
	if (!(parent = cf_peer(c, 1)) || !cf_listen_parent(c, parent, addr))
		return;
	o.parents[o.nparents++] = addr;
	if (!cf_iut_start(c, &o) || !cf_wait_type(c, parent, IB_MSG_HELLO, 1, KA_WAIT_MS))
		return;
	/* The same address answers again later, through a fresh tester. */
	port = (uint16_t)atoi(strrchr(addr, ':') + 1);
	hn_peer_unlisten(parent);
	if (!(again = cf_peer(c, 1)) || hn_peer_listen(again, &port) != IB_OK) {
		cf_harness_error(c, "cannot listen again on %s", addr);
		return;
	}
	if (hn_peer_send_hello(parent, IB_ROLE_SERVER, KA_PARENT_INTERVAL_MS, NULL, 0) != IB_OK) {
		cf_harness_error(c, "cannot answer HELLO");
		return;
	}
	hello_at = cf_now_ms(c);
	if (!cf_wait_closed(c, parent, IB_EC_KEEPALIVE_TIMEOUT, "KA-5",
			    3 * KA_PARENT_INTERVAL_MS + KA_WAIT_MS))
		return;
	closed_at = cf_now_ms(c);
	silence = closed_at - hello_at;
	if (!cf_expect(c, silence + 10 >= 3 * KA_PARENT_INTERVAL_MS &&
		       silence <= 3 * KA_PARENT_INTERVAL_MS + 4 * late_slack_ms(c) + 50, "KA-5",
		       "closed after 3 x the parent's announced interval (600 ms) without PING",
		       "closed %llu ms after the parent's HELLO", (unsigned long long)silence))
		return;
	/* [KA-5] then it reconnects as a node that lost its parent. */
	cf_wait_type(c, again, IB_MSG_HELLO, 1, KA_WAIT_MS);
}

const struct cf_test cf_tests_ka[] = {
	{ "ka.ping-schedule", "KA-1 KA-2", CF_NEEDS_CONFIG, test_ping_schedule,
	  "as a parent, PING every keepalive_interval_ms (first one interval after HELLO) with a "
	  "fresh random 16..64-byte nonce" },
	{ "ka.silent-child", "KA-1 KA-4", CF_NEEDS_CONFIG, test_silent_child,
	  "never two PINGs outstanding; close with keepalive_timeout a child that does not answer "
	  "within keepalive_timeout_ms" },
	{ "ka.wrong-nonce", "KA-4", CF_NEEDS_CONFIG, test_wrong_nonce,
	  "close with keepalive_timeout a child whose PONG carries another nonce" },
	{ "ka.unsolicited-pong", "KA-4", CF_NEEDS_CONFIG, test_unsolicited_pong,
	  "close with keepalive_timeout a child that sends PONG while no PING is outstanding "
	  "(a random nonce, or a repeat of its last answer)" },
	{ "ka.answering-child-kept", "KA-4", CF_NEEDS_CONFIG, test_answering_child_kept,
	  "keep the link of a child that answers every PING with its nonce" },
	{ "ka.child-echoes", "KA-3", CF_NEEDS_CONFIG, test_child_echoes,
	  "as a child, answer each PING with a PONG carrying the same nonce byte for byte" },
	{ "ka.silent-parent", "KA-5", CF_NEEDS_CONFIG, test_silent_parent,
	  "as a child, close with keepalive_timeout after 3 of the parent's announced intervals "
	  "without PING, then reconnect" },
	{ NULL, NULL, 0, NULL, NULL }
};
