/* runner.c - one test from start to verdict: context, applicability, invariants, cleanup. */
#include "suite.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cf_requirement {
	const char *id, *text;
};

/* Generated from spec/interbot-v1.md by conformance/gen-requirements. */
static const struct cf_requirement requirements[] = {
#include "requirements.inc"
};

const char *cf_requirement_text(const char *id)
{
	for (size_t i = 0; id && i < sizeof requirements / sizeof requirements[0]; i++)
		if (!strcmp(requirements[i].id, id))
			return requirements[i].text;
	return NULL;
}

const char *cf_requirement_id(size_t i)
{
	return i < sizeof requirements / sizeof requirements[0] ? requirements[i].id : NULL;
}

const char *cf_verdict_name(enum cf_verdict v)
{
	static const char *const names[CF__VERDICTS] = {
		"PASS", "FAIL", "UNSUPPORTED", "NOT-APPLICABLE", "TIMEOUT", "CRASH",
		"HARNESS-ERROR"
	};

	return v < CF__VERDICTS ? names[v] : "?";
}

const char *cf_group_of(const struct cf_test *t, char *buf, size_t cap)
{
	size_t n = 0;

	while (t->id[n] && t->id[n] != '.' && n + 1 < cap) {
		buf[n] = (char)toupper((unsigned char)t->id[n]);
		n++;
	}
	buf[n] = 0;
	return buf;
}

static double wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* What the addr mode cannot do, in words for the report. */
static const char *unmet_need(const struct cf_world *w, unsigned needs)
{
	if ((needs & CF_NEEDS_CLOCK) && w->opt->mode == CF_MODE_ADDR)
		return "the test sets the IUT's wall clock back across a restart; --iut-addr "
		       "attaches to a running node";
	if ((needs & CF_NEEDS_CLOCK) && w->opt->mode == CF_MODE_CMD && !w->opt->faketime[0])
		return "the test sets the spawned IUT's wall clock back with libfaketime, which "
		       "is not installed (Debian: libfaketime) or --faketime none was given";
	if (w->opt->mode != CF_MODE_ADDR)
		return NULL;
	if (needs & CF_NEEDS_CONFIG)
		return "the test writes the IUT's node.conf; --iut-addr attaches to a running node";
	if (needs & CF_NEEDS_RESTART)
		return "the test restarts the IUT; --iut-addr attaches to a running node";
	if (needs & CF_NEEDS_RELOAD)
		return "the test changes the IUT's authorized/; --iut-addr cannot";
	if (needs & CF_NEEDS_PROCESS)
		return "the test reads the IUT's CPU time from /proc; --iut-addr knows no process";
	return NULL;
}

static int make_trusted(struct cf_ctx *c)
{
	const struct ib_identity *ids[CF_TESTERS + CF_REFS];
	struct ib_keyring *kr = NULL;
	struct ib_pubkey *k;
	size_t n = 0;
	int err = ib_keyring_new(&kr);

	for (int i = 0; i < CF_TESTERS; i++)
		ids[n++] = c->w->testers[i];
	for (int i = 0; i < CF_REFS; i++)
		ids[n++] = c->w->refs[i];
	for (size_t i = 0; !err && i < n; i++) {
		err = ib_pubkey_from_raw(&k, ib_pubkey_raw(ib_identity_pubkey(ids[i])));
		if (!err)
			err = ib_keyring_add(kr, k);
	}
	if (!err)
		err = ib_pubkey_from_raw(&k, ib_pubkey_raw(c->w->iut_key));
	if (!err)
		err = ib_keyring_add(kr, k);
	/* Addr mode in a live tree: the frames the IUT forwards from the other members. */
	for (size_t i = 0; !err && c->w->members && i < ib_keyring_count(c->w->members); i++) {
		err = ib_pubkey_from_raw(&k, ib_pubkey_raw(ib_keyring_at(c->w->members, i)));
		if (!err)
			err = ib_keyring_add(kr, k);
	}
	if (err)
		ib_keyring_free(kr);
	else
		c->trusted = kr;
	return err;
}

/* [ID-1] Whatever the test was about, every frame the IUT sent a tester must be signed by a
 * keyring member: its own frames by itself, forwarded ones by their origin. A forwarded
 * forgery is a dropped-frame failure ([FRAME-5], [FRAME-6]). */
static void check_signatures(struct cf_ctx *c)
{
	for (size_t i = 0; cf_ok(c) && i < c->npeers; i++) {
		struct hn_peer *p = c->peers[i];

		for (size_t j = 0; j < hn_peer_received(p); j++) {
			const struct hn_got *g = hn_peer_got(p, j);
			struct ib_frame f;
			int err = ib_frame_parse(&f, g->raw.ptr, g->raw.len, IB_MAX_MESSAGE_LIMIT);

			if (!err)
				err = ib_frame_verify(&f, c->trusted, NULL);
			if (!cf_expect(c, err == IB_OK, "ID-1",
				       "every frame the IUT sends carries the valid signature of a "
				       "keyring member (forgeries are dropped, not forwarded)",
				       "frame %zu it sent (type %s) fails: %s", j,
				       ib_msg_type_name(g->type), ib_errname(err)))
				return;
			/* [MSG-4] its own messages: flags (bytes 2-3 of the header) are 0. */
			if (ib_id_equal(&f.origin, cf_iut_id(c)) &&
			    !cf_expect(c, f.msg.len >= 4 && !f.msg.ptr[2] && !f.msg.ptr[3], "MSG-4",
				       "every message the IUT originates has flags 0",
				       "frame %zu it sent (type %s) has flags %02x%02x", j,
				       ib_msg_type_name(g->type), f.msg.len >= 4 ? f.msg.ptr[2] : 0,
				       f.msg.len >= 4 ? f.msg.ptr[3] : 0))
				return;
		}
	}
}

static char *take_text(struct ib_buf *b)
{
	char *s = malloc(b->len + 1);

	if (s) {
		if (b->len)
			memcpy(s, b->ptr, b->len);
		s[b->len] = 0;
	}
	ib_buf_free(b);
	return s;
}

static uint64_t seed_for(uint64_t seed, const char *id)
{
	uint64_t h = 1469598103934665603ull ^ seed;     /* FNV-1a over the id */

	for (; *id; id++)
		h = (h ^ (uint8_t)*id) * 1099511628211ull;
	return h ? h : 1;
}

void cf_run_test(struct cf_world *w, const struct cf_test *t, struct cf_result *res)
{
	struct cf_ctx c;
	const char *unmet = unmet_need(w, t->needs);
	double t0 = wall_ms();

	memset(res, 0, sizeof *res);
	memset(&c, 0, sizeof c);
	res->test = t;
	c.w = w;
	c.test = t;
	c.res = res;
	c.rng = seed_for(w->opt->seed, t->id);
	c.started_ms = cf_now_ms(&c);
	if (unmet) {
		res->verdict = CF_NOT_APPLICABLE;
		snprintf(res->actual, sizeof res->actual, "%s", unmet);
		goto out;
	}
	if (make_trusted(&c) != IB_OK) {
		cf_harness_error(&c, "cannot build the suite keyring");
		goto out;
	}
	t->run(&c);
	check_signatures(&c);
out:
	for (size_t i = 0; i < c.npeers; i++) {
		hn_peer_free(c.peers[i]);
		ib_frame_decoder_free(&c.sent_frames[i]);
	}
	for (size_t i = 0; i < c.nrefs; i++)
		ib_node_free(c.refs[i]);
	cf_iut_cleanup(&c);
	/* Closed sockets are reaped by one more turn. */
	ib_loop_run_once(w->loop, 0);
	ib_keyring_free(c.trusted);
	res->virtual_ms = cf_now_ms(&c) - c.started_ms;
	res->transcript = take_text(&c.transcript);
	res->iut_log = take_text(&c.log);
	res->wall_ms = wall_ms() - t0;
}

void cf_result_free(struct cf_result *r)
{
	free(r->transcript);
	free(r->iut_log);
	r->transcript = r->iut_log = NULL;
}
