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

/* How long the last PING of p took to reach the suite, by its seq ([MSG-5]: the IUT's clock
 * at sending) against the suite's clock, which is the same one on one machine: a loaded
 * machine delivers it late, and a close timed from its arrival then looks early. At most
 * 100 ms is granted, and none when the two clocks disagree (another host, a seq ahead). */
static uint64_t ping_transit_ms(struct cf_ctx *c, struct hn_peer *p, uint64_t arrived_ms)
{
	const struct hn_got *ping = hn_peer_last(p, IB_MSG_PING);
	uint64_t unix_ms = cf_unix_us(c) / 1000, since_arrival = cf_now_ms(c) - arrived_ms;
	uint64_t since_sent;

	if (!ping || ping->seq / 1000 > unix_ms)
		return 0;
	since_sent = unix_ms - ping->seq / 1000;
	if (since_sent <= since_arrival || since_sent - since_arrival > 100)
		return 0;
	return since_sent - since_arrival;
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

/* Lets the loop run until cf_now_ms reaches at_ms, unscaled: the times here are placed
 * against the IUT's own timers, which --timeout-scale does not stretch. */
struct until {
	struct cf_ctx *c;
	uint64_t at_ms;
	struct hn_peer *p;          /* not NULL: stop early when p closes */
};

static bool until_reached(void *arg)
{
	const struct until *u = arg;

	return cf_now_ms(u->c) >= u->at_ms || (u->p && hn_peer_closed(u->p));
}

/* The wait for cf_run_until that ends at at_ms: on virtual time its limit is where the clock
 * stops, so it must be at_ms itself, not later. */
static uint32_t ms_to(struct cf_ctx *c, uint64_t at_ms)
{
	uint64_t now = cf_now_ms(c);

	return at_ms > now ? (uint32_t)(at_ms - now) : 0;
}

static void run_to(struct cf_ctx *c, struct hn_peer *p, uint64_t at_ms)
{
	struct until u = { c, at_ms, p };

	while (cf_ok(c) && !until_reached(&u))
		cf_run_until(c, until_reached, &u, ms_to(c, at_ms));
}

/* Traffic that is not keep-alive, both ways: a PUBLISH, or an ib.ping COMMAND (the IUT
 * answers with RESULT on the same link). Neither may move a keep-alive timer ([KA-7],
 * [KA-9]). */
static bool send_traffic(struct cf_ctx *c, struct hn_peer *p, unsigned k)
{
	char value[32];
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	if (k % 2) {
		m.h.type = IB_MSG_COMMAND;
		m.u.command.cmd_id = 0x6b610000u + k;
		m.u.command.name = (struct ib_slice){ (const uint8_t *)"ib.ping", 7 };
	} else {
		snprintf(value, sizeof value, "traffic %u", k);
		cf_msg_publish(&m, "ka.traffic", k + 1, value);
	}
	if (hn_peer_send(p, &m, NULL, NULL, false, NULL) != IB_OK) {
		cf_harness_error(c, "cannot send %s", k % 2 ? "COMMAND" : "PUBLISH");
		return false;
	}
	return true;
}

static const char *close_code(struct hn_peer *p)
{
	const struct hn_got *e = hn_peer_last(p, IB_MSG_ERROR);

	return e ? ib_error_code_name(e->error_code) : "none";
}

/* ---- [KA-1] [KA-2] the PING schedule and its nonces ------------------------------------- */

#define KA_PINGS 8

/* Whether a PING came due_ms after the HELLO at hello_ms: not early (10 ms for the two
 * clocks), and late by the slack at most. Every PING is judged from the HELLO, not from the
 * previous one, so that a schedule that drifts a little each period fails too. */
static bool on_grid(struct cf_ctx *c, uint64_t hello_ms, uint64_t at_ms, uint64_t due_ms)
{
	uint64_t due = hello_ms + due_ms;

	return at_ms + 10 >= due && at_ms <= due + late_slack_ms(c);
}

static bool check_schedule(struct cf_ctx *c, struct hn_peer *p)
{
	uint64_t hello = hn_peer_got(p, nth_of_type(p, IB_MSG_HELLO, 0))->at_us / 1000;
	uint64_t prev = hello;
	char gaps[256];
	size_t used = 0;
	bool ok = true;

	for (size_t k = 0; k < KA_PINGS; k++) {
		uint64_t at = hn_peer_got(p, nth_of_type(p, IB_MSG_PING, k))->at_us / 1000;

		used += (size_t)snprintf(gaps + used, sizeof gaps - used, "%s%llu", k ? "," : "",
					 (unsigned long long)(at - prev));
		/* [KA-7] PING k+1 is due (k+1) intervals after the HELLO exchange. */
		if (!on_grid(c, hello, at, (k + 1) * KA_INTERVAL_MS))
			ok = false;
		prev = at;
	}
	return cf_expect(c, ok, "KA-1",
			 "a PING every keepalive_interval_ms (150), the first 150 ms after HELLO: "
			 "PING k at k x 150 ms after it",
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

/* ---- [KA-7] a node that slept skips the PINGs it missed, and goes on -------------------- */

#define STALL_INTERVAL_MS 500u
#define STALL_MS 1100u          /* from 0.2 to 2.4 intervals after a due time: two slept
				 * through, the next one 0.6 interval after it resumes (a
				 * node that counts from its late wake-up is 0.4 off the grid) */
#define STALL_BURST_MS 100u     /* PINGs this close after the wake-up are a catch-up burst */

/* PINGs p received at or after from_ms (monotonic), and before to_ms. */
static size_t pings_between(struct hn_peer *p, uint64_t from_ms, uint64_t to_ms)
{
	size_t n = 0;

	for (size_t i = 0; i < hn_peer_received(p); i++) {
		const struct hn_got *g = hn_peer_got(p, i);

		n += g->type == IB_MSG_PING && g->at_us / 1000 >= from_ms && g->at_us / 1000 < to_ms;
	}
	return n;
}

/* Whether every PING p received from from_ms (monotonic) to to_ms is on the grid of
 * interval_ms from the HELLO p received; *off_ms the first one's distance from it. */
static bool pings_on_grid(struct cf_ctx *c, struct hn_peer *p, uint64_t from_ms,
			  uint64_t to_ms, uint64_t interval_ms, uint64_t *off_ms)
{
	uint64_t hello = hn_peer_got(p, nth_of_type(p, IB_MSG_HELLO, 0))->at_us / 1000;

	for (size_t i = 0; i < hn_peer_received(p); i++) {
		const struct hn_got *g = hn_peer_got(p, i);
		uint64_t at = g->at_us / 1000, k;

		if (g->type != IB_MSG_PING || at < from_ms || at >= to_ms || at < hello)
			continue;
		k = (at - hello + interval_ms / 2) / interval_ms;  /* the nearest due time */
		if (!on_grid(c, hello, at, k * interval_ms)) {
			*off_ms = (at - hello) % interval_ms;
			return false;
		}
	}
	return true;
}

/* [KA-7] The IUT (interval 0.5 s) does not run for 1.1 s, as a host that slept, just after
 * a PING was answered. Then the due times it slept through are skipped, not caught up (at
 * most one PING at once: the reference sends the last one late, as it wakes), and PINGs go
 * on at the interval, on the grid of the HELLO: at least 3 in the next 2 s, each after the
 * first k x 0.5 s after the HELLO. A node whose next due time stays in the past never PINGs
 * again, or catches up in a burst; one that counts the next interval from its late wake-up
 * leaves the grid. */
static void test_stall_resumes(struct cf_ctx *c)
{
	struct cf_iut_opts o;
	struct hn_peer *p;
	uint64_t resumed, first_ms = 0, off = 0;
	size_t burst, later;

	ka_opts(&o, STALL_INTERVAL_MS, 1000);
	if (!cf_iut_start(c, &o) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !cf_wait_type(c, p, IB_MSG_PING, 1, KA_WAIT_MS))
		return;
	cf_pause(c, 100);           /* its PONG is in */
	if (!cf_iut_stall(c, STALL_MS))
		return;
	resumed = cf_now_ms(c);
	cf_pause(c, 2000);
	burst = pings_between(p, resumed, resumed + STALL_BURST_MS);
	later = pings_between(p, resumed, resumed + 2000);
	if (!cf_expect(c, burst <= 1, "KA-7",
		       "after a stall, the PINGs whose due times passed are skipped: at most one "
		       "at once", "%zu PINGs in the first %u ms", burst, STALL_BURST_MS))
		return;
	if (!cf_expect(c, later >= 3 && !hn_peer_closed(p), "KA-7",
		       "after a stall, PINGs go on at the interval (0.5 s): 3 or more in 2 s",
		       "%zu PINGs in the 2 s after the stall%s", later,
		       hn_peer_closed(p) ? ", and the link closed" : ""))
		return;
	/* The first PING after the wake-up may be a late one (a due time slept through). */
	for (size_t i = 0; i < hn_peer_received(p) && !first_ms; i++)
		if (hn_peer_got(p, i)->type == IB_MSG_PING &&
		    hn_peer_got(p, i)->at_us / 1000 >= resumed)
			first_ms = hn_peer_got(p, i)->at_us / 1000;
	cf_expect(c, pings_on_grid(c, p, first_ms + 1, resumed + 2000,
				   STALL_INTERVAL_MS, &off),
		  "KA-7",
		  "after a stall, the PINGs after the first stay on the schedule of the HELLO: each "
		  "k x 0.5 s after it, not an interval after the late wake-up",
		  "a PING came %llu ms after a due time", (unsigned long long)off);
}

/* ---- [KA-7] [KA-8] the schedule is a grid: answers and traffic do not move it ----------- */

#define GRID_MS 400u            /* the IUT's keepalive_interval_ms */
#define GRID_TIMEOUT_MS 300u    /* its keepalive_timeout_ms */
#define GRID_ANSWER_MS 200u     /* the tester answers each PING this late (100 ms to spare) */
#define GRID_TRAFFIC_MS 100u    /* and sends other frames this often */
#define GRID_PINGS 6

struct grid_wake {
	struct cf_ctx *c;
	struct hn_peer *p;
	size_t seen;
	uint64_t at_ms;
};

static bool grid_woken(void *arg)
{
	const struct grid_wake *g = arg;

	return hn_peer_count(g->p, IB_MSG_PING) > g->seen || cf_now_ms(g->c) >= g->at_ms ||
	       hn_peer_closed(g->p);
}

/* A child that answers each PING GRID_ANSWER_MS late, within the timeout, and sends a frame
 * every GRID_TRAFFIC_MS: PINGs must still come every interval from the HELLO exchange. A
 * server that counts the interval from the PONG sends them 600 ms apart; one that pings
 * only an interval after the last frame never does. */
static void test_ping_grid(struct cf_ctx *c)
{
	uint8_t nonce[IB_NONCE_MAX];
	size_t nonce_len = 0;
	uint64_t at[GRID_PINGS + 1], pong_at = 0, traffic_at, limit;
	struct grid_wake g;
	struct cf_iut_opts o;
	struct hn_peer *p;
	bool pending = false;
	char gaps[256];
	size_t used = 0;
	unsigned k = 0;
	bool ok = true;

	ka_opts(&o, GRID_MS, GRID_TIMEOUT_MS);
	if (!cf_iut_start(c, &o) || !(p = cf_peer(c, 0)))
		return;
	hn_peer_auto_pong(p, false);
	if (!cf_link_child(c, p))
		return;
	at[0] = hn_peer_got(p, nth_of_type(p, IB_MSG_HELLO, 0))->at_us / 1000;
	traffic_at = cf_now_ms(c) + GRID_TRAFFIC_MS;
	limit = cf_now_ms(c) + GRID_PINGS * GRID_MS + KA_WAIT_MS;
	g = (struct grid_wake){ c, p, 0, 0 };
	while (g.seen < GRID_PINGS && !hn_peer_closed(p) && cf_now_ms(c) < limit) {
		g.at_ms = pending && pong_at < traffic_at ? pong_at : traffic_at;
		cf_run_until(c, grid_woken, &g, ms_to(c, g.at_ms));
		if (!cf_ok(c))
			return;
		if (hn_peer_count(p, IB_MSG_PING) > g.seen) {
			const struct hn_got *ping = hn_peer_got(p, nth_of_type(p, IB_MSG_PING, g.seen));

			at[++g.seen] = ping->at_us / 1000;
			memcpy(nonce, ping->nonce, ping->nonce_len);
			nonce_len = ping->nonce_len;
			pending = true;
			pong_at = cf_now_ms(c) + GRID_ANSWER_MS;
		}
		if (pending && cf_now_ms(c) >= pong_at && !hn_peer_closed(p)) {
			if (!send_nonce_msg(c, p, IB_MSG_PONG, nonce, nonce_len))
				return;
			pending = false;
		}
		if (cf_now_ms(c) >= traffic_at && !hn_peer_closed(p)) {
			if (!send_traffic(c, p, k++))
				return;
			traffic_at += GRID_TRAFFIC_MS;
		}
	}
	if (!cf_expect(c, !hn_peer_closed(p), "KA-8",
		       "a child answering each PING 200 ms late, within keepalive_timeout_ms (300), "
		       "keeps its link",
		       "the IUT closed it (ERROR %s) after %zu PINGs", close_code(p), g.seen) ||
	    !cf_expect(c, g.seen == GRID_PINGS, "KA-7",
		       "a PING every keepalive_interval_ms (400) while the child sends other frames "
		       "every 100 ms",
		       "%zu PINGs in %u ms", g.seen, GRID_PINGS * GRID_MS + KA_WAIT_MS))
		return;
	for (size_t i = 1; i <= GRID_PINGS; i++) {
		/* at[1..g.seen] were set as g.seen counted; the analyzer lets cf_run_until change
		 * g.seen through &g (grid_woken only reads it).
		 * NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
		uint64_t gap = at[i] - at[i - 1];

		used += (size_t)snprintf(gaps + used, sizeof gaps - used, "%s%llu", i > 1 ? "," : "",
					 (unsigned long long)gap);
		if (!on_grid(c, at[0], at[i], i * GRID_MS))
			ok = false;
	}
	cf_expect(c, ok, "KA-7",
		  "PING k due k x keepalive_interval_ms (400) after HELLO, whatever the PONGs (200 ms "
		  "late) and the other frames (every 100 ms) do",
		  "ms from HELLO to the first PING, then between PINGs: %s", gaps);
}

/* ---- [KA-7] [KA-8] a timeout longer than the interval ------------------------------------- */

#define LONG_MS 400u            /* interval */
#define LONG_TIMEOUT_MS 1000u   /* timeout, 2.5 intervals */
#define LONG_ANSWER_MS 600u     /* the first PING is answered 1.5 intervals late */

struct count_wait {
	struct hn_peer *p;
	size_t count;
};

static bool ping_count_reached(void *arg)
{
	struct count_wait *w = arg;

	return hn_peer_count(w->p, IB_MSG_PING) >= w->count || hn_peer_closed(w->p);
}

/* The first PONG comes 600 ms late, within the timeout but past the next due time: the link
 * stays, the PING due meanwhile is skipped (not sent late, not rescheduled from the PONG), and
 * the next one comes on the grid, two intervals after the first. */
static void test_long_timeout(struct cf_ctx *c)
{
	uint8_t nonce[IB_NONCE_MAX];
	const struct hn_got *ping;
	struct count_wait w;
	struct cf_iut_opts o;
	struct hn_peer *p;
	uint64_t t[4];
	size_t len;

	ka_opts(&o, LONG_MS, LONG_TIMEOUT_MS);
	if (!cf_iut_start(c, &o) || !(p = cf_peer(c, 0)))
		return;
	hn_peer_auto_pong(p, false);
	if (!cf_link_child(c, p) || !cf_wait_type(c, p, IB_MSG_PING, 1, LONG_MS + KA_WAIT_MS))
		return;
	ping = hn_peer_last(p, IB_MSG_PING);
	t[1] = ping->at_us / 1000;
	len = ping->nonce_len;
	memcpy(nonce, ping->nonce, len);
	run_to(c, p, t[1] + LONG_ANSWER_MS);
	if (!cf_expect(c, !hn_peer_closed(p), "KA-8",
		       "no close before keepalive_timeout_ms (1000) after the PING, though it is "
		       "longer than keepalive_interval_ms (400)",
		       "the IUT closed the link (ERROR %s) %llu ms after the PING", close_code(p),
		       (unsigned long long)(cf_now_ms(c) - t[1])) ||
	    !cf_expect(c, hn_peer_count(p, IB_MSG_PING) == 1, "KA-1",
		       "no second PING while the first is unanswered",
		       "%zu PINGs", hn_peer_count(p, IB_MSG_PING)))
		return;
	if (!send_nonce_msg(c, p, IB_MSG_PONG, nonce, len))
		return;
	hn_peer_auto_pong(p, true);
	w = (struct count_wait){ p, 3 };
	if (!cf_wait(c, ping_count_reached, &w, 3 * LONG_MS + KA_WAIT_MS, "two more PINGs"))
		return;
	if (!cf_expect(c, hn_peer_count(p, IB_MSG_PING) >= 3, "KA-8",
		       "a PONG 600 ms late, within keepalive_timeout_ms (1000), keeps the link",
		       "the IUT closed it (ERROR %s)", close_code(p)))
		return;
	t[2] = hn_peer_got(p, nth_of_type(p, IB_MSG_PING, 1))->at_us / 1000;
	t[3] = hn_peer_got(p, nth_of_type(p, IB_MSG_PING, 2))->at_us / 1000;
	if (!cf_expect(c, t[2] - t[1] + 10 >= 2 * LONG_MS &&
		       t[2] - t[1] <= 2 * LONG_MS + late_slack_ms(c), "KA-7",
		       "the PING due while the first was unanswered is skipped: the second comes two "
		       "intervals (800 ms) after the first, not at the PONG nor an interval after it",
		       "%llu ms after the first (its PONG went %u ms after it)",
		       (unsigned long long)(t[2] - t[1]), LONG_ANSWER_MS))
		return;
	cf_expect(c, t[3] - t[2] + 10 >= LONG_MS && t[3] - t[2] <= LONG_MS + late_slack_ms(c),
		  "KA-7", "then the schedule goes on: the third PING an interval (400) after the second",
		  "%llu ms after it", (unsigned long long)(t[3] - t[2]));
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
	/* [KA-8] at the deadline: not before it, and before a second timeout has passed. */
	cf_expect(c, closed_at - ping_at + 10 >= 600 &&
		  closed_at - ping_at <= 2 * 600 + late_slack_ms(c), "KA-8",
		  "closed keepalive_timeout_ms (600) after the unanswered PING, not before, and "
		  "no later than another keepalive_timeout_ms",
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
	if (!cf_iut_start_toward(c, &o, 1, &parent, addr) ||
	    !cf_accept_child(c, parent, NULL, 0))
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
		/* [KA-10] the PINGs come at once after HELLO and after each other. */
		if (!cf_expect(c, pong && hn_peer_count(parent, IB_MSG_PONG) == i + 1, "KA-10",
			       "one PONG for each PING, however soon after HELLO or the previous PING",
			       "PING %zu, sent at once: the IUT closed the link instead (ERROR %s)",
			       i + 1, close_code(parent)))
			return;
		if (!cf_expect(c, pong->nonce_len == lengths[i] &&
			       !memcmp(pong->nonce, nonce, lengths[i]), "KA-3",
			       "the PONG carries the PING's nonce byte for byte",
			       "PING nonce of %zu bytes, PONG nonce of %zu bytes%s", lengths[i],
			       pong->nonce_len, pong->nonce_len == lengths[i] ? " (different)" : ""))
			return;
	}
}

/* ---- [KA-5] [KA-9] the IUT as a child leaves a silent parent ----------------------------- */

#define KA_PARENT_INTERVAL_MS 200u
#define KA_PARENT_PINGS 10      /* on time: the link must outlive three silence limits */
#define KA_HELLO_DELAY_MS 400u  /* two intervals between the IUT's HELLO and the parent's */

/* Starts the IUT under the tester parent T1 (*parent), which has the IUT's HELLO but has not
 * answered yet; *again listens on the same address for the IUT's reconnection. The IUT's own
 * interval is long: only the parent's announced one may matter. */
static bool under_tester_parent(struct cf_ctx *c, struct hn_peer **parent, struct hn_peer **again)
{
	char addr[IB_MAX_ADDR];
	struct cf_iut_opts o;
	uint16_t port;

	ka_opts(&o, 3000, 5000);
	if (!cf_iut_start_toward(c, &o, 1, parent, addr) ||
	    !cf_wait_type(c, *parent, IB_MSG_HELLO, 1, KA_WAIT_MS))
		return false;
	port = (uint16_t)atoi(strrchr(addr, ':') + 1);
	hn_peer_unlisten(*parent);
	if (!(*again = cf_peer(c, 1)) || hn_peer_listen(*again, &port) != IB_OK) {
		cf_harness_error(c, "cannot listen again on %s", addr);
		return false;
	}
	return true;
}

static bool answer_hello(struct cf_ctx *c, struct hn_peer *parent)
{
	if (hn_peer_send_hello(parent, IB_ROLE_SERVER, KA_PARENT_INTERVAL_MS, NULL, 0) != IB_OK) {
		cf_harness_error(c, "cannot answer HELLO");
		return false;
	}
	return true;
}

/* Judges the close of the silent parent's link: [KA-9] three announced intervals after `from`
 * (the parent's HELLO or its last PING), not before, and within a fourth. */
static bool check_silence_close(struct cf_ctx *c, struct hn_peer *parent, uint64_t from,
				const char *what)
{
	const uint64_t limit = 3 * KA_PARENT_INTERVAL_MS;
	uint64_t silence;

	if (!cf_wait_closed(c, parent, IB_EC_KEEPALIVE_TIMEOUT, "KA-5",
			    4 * KA_PARENT_INTERVAL_MS + KA_WAIT_MS))
		return false;
	silence = cf_now_ms(c) - from;
	return cf_expect(c, silence + 10 >= limit &&
			 silence <= limit + KA_PARENT_INTERVAL_MS + late_slack_ms(c), "KA-9",
			 "closed 3 x the parent's announced interval (600 ms) after the last PING "
			 "or, before any, after the HELLO exchange: not before, and within one more "
			 "interval (800 ms)",
			 "closed %llu ms after %s", (unsigned long long)silence, what);
}

/* The parent answers HELLO two intervals late and never PINGs: the limit counts from its
 * HELLO (the end of the exchange), not from the connection, and then the IUT reconnects. */
static void test_silent_parent(struct cf_ctx *c)
{
	struct hn_peer *parent, *again;
	uint64_t hello_in, hello_at;

	if (!under_tester_parent(c, &parent, &again))
		return;
	hello_in = hn_peer_got(parent, nth_of_type(parent, IB_MSG_HELLO, 0))->at_us / 1000;
	run_to(c, parent, hello_in + KA_HELLO_DELAY_MS);
	if (!answer_hello(c, parent))
		return;
	hello_at = cf_now_ms(c);
	if (!check_silence_close(c, parent, hello_at, "the parent's HELLO (sent 400 ms after the "
				 "IUT's)"))
		return;
	/* [KA-5] then it reconnects as a node that lost its parent. */
	cf_wait_type(c, again, IB_MSG_HELLO, 1, KA_WAIT_MS);
}

/* The parent PINGs on time for ten intervals (past three silence limits): the IUT answers
 * and keeps the link. Then it stops PINGing but goes on sending other frames, every half
 * interval: they do not count, the IUT closes three intervals after the last PING. */
static void test_parent_pings_then_stops(struct cf_ctx *c)
{
	struct hn_peer *parent, *again;
	uint64_t hello_at, last_ping = 0, at;
	unsigned k = 0;

	if (!under_tester_parent(c, &parent, &again) || !answer_hello(c, parent))
		return;
	hello_at = cf_now_ms(c);
	for (unsigned i = 1; i <= KA_PARENT_PINGS; i++) {
		uint8_t nonce[16];

		run_to(c, parent, hello_at + (uint64_t)i * KA_PARENT_INTERVAL_MS);
		if (hn_peer_closed(parent))
			break;
		for (size_t j = 0; j < sizeof nonce; j++)
			nonce[j] = (uint8_t)cf_rand(c);
		if (!send_nonce_msg(c, parent, IB_MSG_PING, nonce, sizeof nonce))
			return;
		last_ping = cf_now_ms(c);
	}
	run_to(c, parent, last_ping + KA_PARENT_INTERVAL_MS / 2);
	if (!cf_expect(c, !hn_peer_closed(parent), "KA-9",
		       "a parent PINGing every announced interval (200 ms) keeps its link: each PING "
		       "moves the silence limit",
		       "the IUT closed it (ERROR %s) %llu ms after the parent's HELLO, with %zu "
		       "PONGs sent", close_code(parent),
		       (unsigned long long)(cf_now_ms(c) - hello_at),
		       hn_peer_count(parent, IB_MSG_PONG)) ||
	    !cf_expect(c, hn_peer_count(parent, IB_MSG_PONG) == KA_PARENT_PINGS, "KA-3",
		       "a PONG for each of the parent's PINGs", "%zu PONGs for %d PINGs",
		       hn_peer_count(parent, IB_MSG_PONG), KA_PARENT_PINGS))
		return;
	/* Other frames, every half interval, until the close or well past its bound. */
	for (at = last_ping + KA_PARENT_INTERVAL_MS / 2;
	     !hn_peer_closed(parent) && at < last_ping + 6 * KA_PARENT_INTERVAL_MS;
	     at += KA_PARENT_INTERVAL_MS / 2) {
		run_to(c, parent, at);
		if (!hn_peer_closed(parent) && !send_traffic(c, parent, k++))
			return;
	}
	check_silence_close(c, parent, last_ping,
			    "the last PING (other frames came every 100 ms since)");
}

/* ---- [KA-8] the PONG deadline, at its edge, over many periods ----------------------------- */

/* How near a deadline the tester answers, on each side of it: on virtual time to the
 * millisecond; on real time by more than the clocks and the loop can blur. */
static uint64_t edge_ms(struct cf_ctx *c)
{
	return cf_mode(c) == CF_MODE_SELF ? 2 : 120;
}

#define EDGE_PERIODS 4

struct ping_wait {
	struct hn_peer *p;
	size_t count;
};

static bool nth_ping_or_closed(void *arg)
{
	const struct ping_wait *w = arg;

	return hn_peer_count(w->p, IB_MSG_PING) >= w->count || hn_peer_closed(w->p);
}

/* Waits for PING number k (1-based) at p; its arrival time in *at_ms. */
static bool wait_ping(struct cf_ctx *c, struct hn_peer *p, size_t k, uint32_t within_ms,
		      uint64_t *at_ms)
{
	struct ping_wait w = { p, k };

	if (!cf_wait(c, nth_ping_or_closed, &w, within_ms, "the next PING"))
		return false;
	if (!cf_expect(c, hn_peer_count(p, IB_MSG_PING) >= k, "KA-8",
		       "a PONG read before keepalive_timeout_ms keeps the link, period after period",
		       "the IUT closed the link (ERROR %s) before PING %zu", close_code(p), k))
		return false;
	*at_ms = hn_peer_got(p, nth_of_type(p, IB_MSG_PING, k - 1))->at_us / 1000;
	return true;
}

static bool answer_last_ping(struct cf_ctx *c, struct hn_peer *p)
{
	const struct hn_got *ping = hn_peer_last(p, IB_MSG_PING);

	return send_nonce_msg(c, p, IB_MSG_PONG, ping->nonce, ping->nonce_len);
}

/* The child answers EDGE_PERIODS PINGs just before the deadline: each keeps the link, and the
 * next PING comes on the grid, the ones due meanwhile skipped ([KA-7]). Then it answers one
 * just after the deadline: too late, the link closes at the deadline and within another
 * timeout, the late PONG notwithstanding. */
static void pong_edge(struct cf_ctx *c, uint32_t interval_ms, uint32_t timeout_ms)
{
	uint64_t hello, at, pong_ms = timeout_ms - edge_ms(c), closed_at, transit;
	/* After a PONG at pong_ms the next PING is the first one due after it. */
	uint64_t period = (pong_ms / interval_ms + 1) * interval_ms;
	struct cf_iut_opts o;
	struct hn_peer *p;

	ka_opts(&o, interval_ms, timeout_ms);
	if (!cf_iut_start(c, &o) || !(p = cf_peer(c, 0)))
		return;
	hn_peer_auto_pong(p, false);
	if (!cf_link_child(c, p))
		return;
	hello = hn_peer_got(p, nth_of_type(p, IB_MSG_HELLO, 0))->at_us / 1000;
	for (size_t k = 1; k <= EDGE_PERIODS; k++) {
		if (!wait_ping(c, p, k, (uint32_t)period + KA_WAIT_MS, &at))
			return;
		if (!cf_expect(c, on_grid(c, hello, at, interval_ms + (k - 1) * period) &&
			       hn_peer_count(p, IB_MSG_PING) == k, "KA-7",
			       "PINGs on the grid of the HELLO exchange, none while one is unanswered: "
			       "with each PONG just before the deadline, one every period",
			       "PING %zu came %llu ms after HELLO (due at %llu), %zu PINGs in all",
			       k, (unsigned long long)(at - hello),
			       (unsigned long long)(interval_ms + (k - 1) * period),
			       hn_peer_count(p, IB_MSG_PING)))
			return;
		run_to(c, p, at + pong_ms);
		if (!cf_expect(c, !hn_peer_closed(p), "KA-8",
			       "no close before keepalive_timeout_ms after the PING",
			       "the IUT closed the link (ERROR %s) %llu ms after PING %zu, whose "
			       "timeout is %u ms", close_code(p),
			       (unsigned long long)(cf_now_ms(c) - at), k, timeout_ms) ||
		    !answer_last_ping(c, p))
			return;
	}
	if (!wait_ping(c, p, EDGE_PERIODS + 1, (uint32_t)period + KA_WAIT_MS, &at))
		return;
	run_to(c, p, at + timeout_ms + edge_ms(c));
	if (!hn_peer_closed(p) && !answer_last_ping(c, p))
		return;
	if (!cf_wait_closed(c, p, IB_EC_KEEPALIVE_TIMEOUT, "KA-8", timeout_ms + KA_WAIT_MS))
		return;
	closed_at = cf_now_ms(c);
	transit = ping_transit_ms(c, p, at);
	cf_expect(c, closed_at + 10 + transit >= at + timeout_ms &&
		  closed_at <= at + 2 * timeout_ms + late_slack_ms(c), "KA-8",
		  "a PONG read just after keepalive_timeout_ms is late: the link closes at the "
		  "deadline, within another timeout, whether or not the late PONG came first",
		  "closed %llu ms after the PING reached the suite (timeout %u ms; the PING took "
		  "%llu ms to come; the late PONG was due %llu ms after it)",
		  (unsigned long long)(closed_at - at), timeout_ms, (unsigned long long)transit,
		  (unsigned long long)(timeout_ms + edge_ms(c)));
}

/* The timeout shorter than the interval: every PING is sent. */
static void test_pong_deadline_edge(struct cf_ctx *c)
{
	pong_edge(c, 600, 400);
}

/* The timeout longer than two intervals: each PONG comes after two due times, which are
 * skipped, and the next PING comes on the third. */
static void test_pong_deadline_edge_long(struct cf_ctx *c)
{
	pong_edge(c, 400, 1000);
}

/* ---- [KA-9] the client's silence limit, at its edge, over many periods -------------------- */

/* The parent PINGs just before each silence limit, four times: each PING sets the limit anew,
 * three intervals from itself. Then it PINGs just after the limit: too late, the IUT closes
 * three intervals after the last PING in time, within a fourth. */
static void test_silence_edge(struct cf_ctx *c)
{
	const uint64_t limit = 3 * KA_PARENT_INTERVAL_MS;
	struct hn_peer *parent, *again;
	uint64_t last, silence;

	if (!under_tester_parent(c, &parent, &again) || !answer_hello(c, parent))
		return;
	last = cf_now_ms(c);
	for (unsigned i = 1; i <= EDGE_PERIODS; i++) {
		uint8_t nonce[16];

		run_to(c, parent, last + limit - edge_ms(c));
		if (!cf_expect(c, !hn_peer_closed(parent), "KA-9",
			       "no close for silence before 3 x the parent's announced interval "
			       "(600 ms) after the last PING or, before any, after the HELLO exchange",
			       "the IUT closed the link (ERROR %s) %llu ms after %s", close_code(parent),
			       (unsigned long long)(cf_now_ms(c) - last),
			       i == 1 ? "the parent's HELLO" : "the last PING"))
			return;
		for (size_t j = 0; j < sizeof nonce; j++)
			nonce[j] = (uint8_t)cf_rand(c);
		if (!send_nonce_msg(c, parent, IB_MSG_PING, nonce, sizeof nonce))
			return;
		last = cf_now_ms(c);
	}
	run_to(c, parent, last + limit + edge_ms(c));
	if (!hn_peer_closed(parent)) {
		uint8_t nonce[16];

		for (size_t j = 0; j < sizeof nonce; j++)
			nonce[j] = (uint8_t)cf_rand(c);
		if (!send_nonce_msg(c, parent, IB_MSG_PING, nonce, sizeof nonce))
			return;
	}
	if (!cf_wait_closed(c, parent, IB_EC_KEEPALIVE_TIMEOUT, "KA-5",
			    KA_PARENT_INTERVAL_MS + KA_WAIT_MS))
		return;
	silence = cf_now_ms(c) - last;
	/* NOLINTBEGIN(bugprone-misplaced-widening-cast): uint64_t is as wide, the cast is for %llu */
	cf_expect(c, silence + 10 >= limit &&
		  silence <= limit + KA_PARENT_INTERVAL_MS + late_slack_ms(c), "KA-9",
		  "a PING read just after the limit is too late: the IUT closes 3 intervals (600 ms) "
		  "after the last PING in time, within a fourth, whether or not the late PING came",
		  "closed %llu ms after the last PING in time (the late one was sent %llu ms after "
		  "it)", (unsigned long long)silence, (unsigned long long)(limit + edge_ms(c)));
	/* NOLINTEND(bugprone-misplaced-widening-cast) */
}

/* ---- [KA-11] a malformed PONG is dropped ---------------------------------------------- */

/* A PONG message of tester T<tester> with nonce as given: nonce_length `len_byte` and `extra`
 * bytes after the nonce, signed into frame. */
static bool malformed_pong(struct cf_ctx *c, int tester, const uint8_t *nonce, size_t nonce_len,
			   uint8_t len_byte, size_t extra, struct ib_buf *frame)
{
	static const uint8_t fill[IB_NONCE_MAX] = { 0 };
	struct ib_buf msg = { 0 };
	struct ib_msg m;
	bool ok;

	memset(&m, 0, sizeof m);
	m.h.version = IB_PROTOCOL_VERSION;
	m.h.type = IB_MSG_PONG;
	m.h.seq = cf_next_seq(c, tester);
	m.u.ping.nonce = (struct ib_slice){ fill, IB_NONCE_MIN };
	ib_buf_reset(frame);
	/* The header of a valid PONG, then the body as the case wants it. */
	ok = ib_msg_encode(&msg, &m) == IB_OK;
	if (ok) {
		msg.len = IB_MSG_HEADER_LEN;
		ok = ib_buf_put_u8(&msg, len_byte) == IB_OK &&
		     ib_buf_put(&msg, nonce, nonce_len) == IB_OK &&
		     (!extra || ib_buf_put(&msg, fill, extra) == IB_OK) &&
		     ib_frame_sign(frame, cf_tester_identity(c, tester), msg.ptr, msg.len) == IB_OK;
	}
	ib_buf_free(&msg);
	if (!ok)
		cf_harness_error(c, "cannot build a malformed PONG");
	return ok;
}

/* Three malformed PONGs of T<tester> for the PING whose nonce is given: nonce_length 8 (the
 * nonce's first 8 bytes), 65 (the nonce and more), and the nonce itself with one byte left
 * over. */
static bool send_malformed_pongs(struct cf_ctx *c, struct hn_peer *p, int tester,
				 const uint8_t *nonce, size_t len)
{
	uint8_t longer[IB_NONCE_MAX + 1];
	struct ib_buf frame = { 0 };
	bool ok;

	memset(longer, 0x5a, sizeof longer);
	memcpy(longer, nonce, len);
	ok = malformed_pong(c, tester, nonce, 8, 8, 0, &frame) &&
	     hn_peer_send_raw(p, frame.ptr, frame.len) == IB_OK &&
	     malformed_pong(c, tester, longer, sizeof longer, (uint8_t)sizeof longer, 0, &frame) &&
	     hn_peer_send_raw(p, frame.ptr, frame.len) == IB_OK &&
	     malformed_pong(c, tester, nonce, len, (uint8_t)len, 1, &frame) &&
	     hn_peer_send_raw(p, frame.ptr, frame.len) == IB_OK;
	ib_buf_free(&frame);
	if (!ok && cf_ok(c))
		cf_harness_error(c, "cannot send a malformed PONG");
	return ok;
}

#define MAL_MS 1000u            /* interval: one PING in the time a case takes */
#define MAL_TIMEOUT_MS 400u

/* T0 sends a malformed PONG before any PING, then three for its first PING, then the right
 * PONG within the timeout: nothing closes, the link is kept. T1 sends the three malformed
 * PONGs for its first PING and nothing else: the PING stays unanswered (the one whose nonce
 * comes whole, with a byte left over, answers nothing) and the link closes at the deadline,
 * not at once. */
static void test_malformed_pong(struct cf_ctx *c)
{
	static const uint8_t early[IB_NONCE_MIN] = "conform-nonce-16";
	uint8_t nonce[IB_NONCE_MAX];
	const struct hn_got *ping;
	struct ib_buf frame = { 0 };
	struct cf_iut_opts o;
	struct hn_peer *kept, *cut;
	uint64_t at, closed_at;
	size_t len;

	ka_opts(&o, MAL_MS, MAL_TIMEOUT_MS);
	if (!cf_iut_start(c, &o) || !(kept = cf_peer(c, 0)))
		goto out;
	hn_peer_auto_pong(kept, false);
	if (!cf_link_child(c, kept) || !malformed_pong(c, 0, early, 8, 8, 0, &frame) ||
	    hn_peer_send_raw(kept, frame.ptr, frame.len) != IB_OK)
		goto out;
	{
		struct ping_wait w = { kept, 1 };

		if (!cf_wait(c, nth_ping_or_closed, &w, MAL_MS + KA_WAIT_MS, "the first PING"))
			goto out;
	}
	if (!cf_expect(c, !hn_peer_closed(kept), "KA-11",
		       "a malformed PONG (nonce_length 8) while no PING is outstanding is dropped: "
		       "the link stays",
		       "the IUT closed the link (ERROR %s) before its first PING", close_code(kept)))
		goto out;
	ping = hn_peer_last(kept, IB_MSG_PING);
	at = ping->at_us / 1000;
	len = ping->nonce_len;
	memcpy(nonce, ping->nonce, len);
	if (!send_malformed_pongs(c, kept, 0, nonce, len))
		goto out;
	run_to(c, kept, at + MAL_TIMEOUT_MS / 2);
	if (!cf_expect(c, !hn_peer_closed(kept), "KA-11",
		       "malformed PONGs (nonce_length 8, 65, a byte left over) are dropped: no "
		       "close for them",
		       "the IUT closed the link (ERROR %s) %llu ms after the PING", close_code(kept),
		       (unsigned long long)(cf_now_ms(c) - at)) ||
	    !send_nonce_msg(c, kept, IB_MSG_PONG, nonce, len))
		goto out;
	run_to(c, kept, at + 2 * MAL_TIMEOUT_MS + late_slack_ms(c));
	if (!cf_expect(c, !hn_peer_closed(kept), "KA-11",
		       "after dropped malformed PONGs, the valid PONG within keepalive_timeout_ms "
		       "answers the PING: the link stays",
		       "the IUT closed the link (ERROR %s)", close_code(kept)))
		goto out;
	hn_peer_auto_pong(kept, true);
	/* The second child, on its own schedule. */
	if (!(cut = cf_peer(c, 1)))
		goto out;
	hn_peer_auto_pong(cut, false);
	if (!cf_link_child(c, cut) || !cf_wait_type(c, cut, IB_MSG_PING, 1, MAL_MS + KA_WAIT_MS))
		goto out;
	ping = hn_peer_last(cut, IB_MSG_PING);
	at = ping->at_us / 1000;
	if (!send_malformed_pongs(c, cut, 1, ping->nonce, ping->nonce_len))
		goto out;
	run_to(c, cut, at + MAL_TIMEOUT_MS - edge_ms(c));
	if (!cf_expect(c, !hn_peer_closed(cut), "KA-11",
		       "malformed PONGs are dropped, not taken for a wrong nonce: no close before "
		       "keepalive_timeout_ms",
		       "the IUT closed the link (ERROR %s) %llu ms after the PING, the timeout "
		       "being %u ms", close_code(cut), (unsigned long long)(cf_now_ms(c) - at),
		       MAL_TIMEOUT_MS) ||
	    !cf_wait_closed(c, cut, IB_EC_KEEPALIVE_TIMEOUT, "KA-11",
			    MAL_TIMEOUT_MS + KA_WAIT_MS))
		goto out;
	closed_at = cf_now_ms(c);
	cf_expect(c, closed_at <= at + 2 * MAL_TIMEOUT_MS + late_slack_ms(c), "KA-8",
		  "the PING answered only by malformed PONGs is unanswered: closed at the deadline, "
		  "within another keepalive_timeout_ms",
		  "closed %llu ms after the PING", (unsigned long long)(closed_at - at));
out:
	ib_buf_free(&frame);
}

const struct cf_test cf_tests_ka[] = {
	{ "ka.ping-schedule", "KA-1 KA-2", CF_NEEDS_CONFIG, test_ping_schedule,
	  "as a parent, PING every keepalive_interval_ms (first one interval after HELLO) with a "
	  "fresh random 16..64-byte nonce" },
	{ "ka.stall-resumes", "KA-7", CF_NEEDS_CONFIG | CF_NEEDS_RESTART | CF_SLOW,
	  test_stall_resumes,
	  "after the node slept through due times, it skips them (no burst) and PINGs on" },
	{ "ka.ping-grid", "KA-7 KA-8", CF_NEEDS_CONFIG | CF_SLOW, test_ping_grid,
	  "as a parent, PING k is due k intervals after HELLO: PONGs that come late (within the "
	  "timeout) and other frames both ways do not move the schedule, nor close the link" },
	{ "ka.long-timeout", "KA-7 KA-8", CF_NEEDS_CONFIG, test_long_timeout,
	  "with keepalive_timeout_ms longer than the interval, a PONG past the next due time but "
	  "within the timeout keeps the link; the PING due meanwhile is skipped, the next comes on "
	  "schedule" },
	{ "ka.silent-child", "KA-1 KA-4 KA-8", CF_NEEDS_CONFIG, test_silent_child,
	  "never two PINGs outstanding; close with keepalive_timeout a child that does not answer "
	  "within keepalive_timeout_ms, not before the deadline and within another timeout" },
	{ "ka.wrong-nonce", "KA-4", CF_NEEDS_CONFIG, test_wrong_nonce,
	  "close with keepalive_timeout a child whose PONG carries another nonce" },
	{ "ka.unsolicited-pong", "KA-4", CF_NEEDS_CONFIG, test_unsolicited_pong,
	  "close with keepalive_timeout a child that sends PONG while no PING is outstanding "
	  "(a random nonce, or a repeat of its last answer)" },
	{ "ka.answering-child-kept", "KA-4", CF_NEEDS_CONFIG, test_answering_child_kept,
	  "keep the link of a child that answers every PING with its nonce" },
	{ "ka.child-echoes", "KA-3 KA-10", CF_NEEDS_CONFIG, test_child_echoes,
	  "as a child, answer each PING with a PONG carrying the same nonce byte for byte, "
	  "however soon after HELLO or the previous PING it comes" },
	{ "ka.silent-parent", "KA-5 KA-9", CF_NEEDS_CONFIG, test_silent_parent,
	  "as a child, close with keepalive_timeout 3 of the parent's announced intervals after "
	  "its HELLO (sent late) without PING, not before and within a fourth, then reconnect" },
	{ "ka.parent-pings-then-stops", "KA-5 KA-9", CF_NEEDS_CONFIG | CF_SLOW,
	  test_parent_pings_then_stops,
	  "as a child, keep a parent that PINGs every interval for ten intervals; when it stops "
	  "(other frames go on), close 3 intervals after the last PING, not before and within a "
	  "fourth" },
	{ "ka.pong-deadline-edge", "KA-8 KA-4 KA-7", CF_NEEDS_CONFIG | CF_SLOW,
	  test_pong_deadline_edge,
	  "as a parent (timeout 400 ms, interval 600 ms), keep a child whose PONGs come just "
	  "before the deadline, four periods running; close at the deadline when one comes just "
	  "after it" },
	{ "ka.pong-deadline-edge-long", "KA-8 KA-4 KA-7", CF_NEEDS_CONFIG | CF_SLOW,
	  test_pong_deadline_edge_long,
	  "the same with a timeout (1000 ms) longer than two intervals (400 ms): the PINGs due "
	  "meanwhile are skipped, the next comes on the grid, the link is kept" },
	{ "ka.silence-edge", "KA-9 KA-5", CF_NEEDS_CONFIG | CF_SLOW, test_silence_edge,
	  "as a child, keep a parent whose PINGs come just before each silence limit, four "
	  "periods running; close 3 intervals after the last PING in time when one comes just "
	  "after the limit" },
	{ "ka.malformed-pong", "KA-11 KA-4 KA-8", CF_NEEDS_CONFIG | CF_SLOW, test_malformed_pong,
	  "as a parent, drop a malformed PONG (nonce_length 8 or 65, a byte left over): no close "
	  "for it, a valid PONG after it still answers, and a PING answered only by malformed "
	  "PONGs closes the link at the deadline" },
	{ NULL, NULL, 0, NULL, NULL }
};
