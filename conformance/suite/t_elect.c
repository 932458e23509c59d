/* t_elect.c - version election (spec section 14). The IUT answers QUERY and SELECT as a
 * holder; as a requester (driven by ib.fetch) it faces tester holders that offer and transfer
 * as each test scripts: on time, late, never, or with forged frames. */
#include "cf.h"

#include <string.h>

#define EL_WINDOW_MS 300u      /* election_window_ms given to the IUT */
#define EL_WAIT_MS 5000u       /* bound on any step an IUT takes by itself */
#define EL_MAX_HOLDERS 6
#define EL_MAX_SELECTS 16

/* A tester acting as a holder: it answers each SELECT it receives with TRANSFER(frame), or
 * never (silent). */
struct holder {
	struct hn_peer *p;
	const char *label;
	bool silent;
	struct ib_buf frame;        /* what it transfers: good, forged or empty */
	size_t scanned;             /* frames of p already looked at */
};

/* One election the IUT runs for the asker's ib.fetch. */
struct election {
	struct cf_ctx *c;
	struct hn_peer *asker;
	uint64_t cmd_id, query_id;
	const char *key;
	struct holder h[EL_MAX_HOLDERS];
	size_t n;
	int selected[EL_MAX_SELECTS];   /* holder index of each SELECT, in arrival order */
	size_t nselected;
	char fault[256];                /* a SELECT that broke ELECT-3, described */
	bool ran;                       /* an election started before: query_id is its */
	uint16_t status;                /* the RESULT of ib.fetch (or of a later command) */
	struct ib_buf out;              /* its output */
	char order[64];                 /* select_order's text */
};

static void election_free(struct election *e)
{
	for (size_t i = 0; i < e->n; i++)
		ib_buf_free(&e->h[i].frame);
	ib_buf_free(&e->out);
}

/* A PUBLISH frame signed by writer with the clock as seq, not sent. */
static bool make_publish(struct cf_ctx *c, const struct ib_identity *writer, const char *key,
			 uint64_t version, const char *value, struct ib_buf *out)
{
	return cf_publish_frame(c, writer, key, version, value, cf_unix_us(c), out);
}

static bool send_offer(struct cf_ctx *c, struct hn_peer *p, uint64_t query_id, const char *key,
		       uint64_t version, const ib_id *writer)
{
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_OFFER;
	m.u.offer = (struct ib_offer){ query_id, { (const uint8_t *)key, strlen(key) }, version,
				       *writer };
	return cf_send_to_iut(c, p, &m);
}

static bool send_transfer(struct cf_ctx *c, struct hn_peer *p, uint64_t query_id,
			  const struct ib_buf *frame)
{
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_TRANSFER;
	m.u.transfer = (struct ib_transfer){ query_id, { frame->ptr, frame->len } };
	return cf_send_to_iut(c, p, &m);
}

static bool send_command(struct cf_ctx *c, struct hn_peer *p, uint64_t cmd_id, const char *name,
			 const char *arg)
{
	struct ib_buf args = { 0 };
	struct ib_msg m;
	bool ok;

	ib_args_put(&args, (struct ib_slice){ (const uint8_t *)arg, strlen(arg) });
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_COMMAND;
	m.u.command = (struct ib_command){ cmd_id, { (const uint8_t *)name, strlen(name) },
					   { args.ptr, args.len } };
	ok = cf_send_to_iut(c, p, &m);
	ib_buf_free(&args);
	return ok;
}

/* A SELECT of (key, version) for query_id, directed to the IUT. */
static bool send_select(struct cf_ctx *c, struct hn_peer *p, uint64_t query_id, const char *key,
			uint64_t version)
{
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_SELECT;
	m.u.select = (struct ib_select){ query_id, { (const uint8_t *)key, strlen(key) }, version };
	return cf_send_to_iut(c, p, &m);
}

/* Sends frame (a PUBLISH) raw over p, then ib.ping over p: once it answers, the IUT applied
 * the PUBLISH. */
static bool give_item(struct cf_ctx *c, struct hn_peer *p, const struct ib_buf *frame)
{
	uint16_t status;

	if (hn_peer_send_raw(p, frame->ptr, frame->len) != IB_OK) {
		cf_harness_error(c, "cannot send PUBLISH");
		return false;
	}
	return cf_command(c, p, NULL, "ib.ping", NULL, 0, &status, NULL);
}

/* Index of the first frame of p of this type whose decoded message satisfies match. */
static bool find_msg(struct hn_peer *p, uint8_t type, bool (*match)(const struct ib_msg *, uint64_t),
		     uint64_t want, struct ib_frame *f, struct ib_msg *m)
{
	for (size_t i = 0; i < hn_peer_received(p); i++)
		if (hn_peer_got(p, i)->type == type && cf_got_msg(p, i, f, m) && match(m, want))
			return true;
	return false;
}

static bool result_is(const struct ib_msg *m, uint64_t cmd_id)
{
	return m->u.result.cmd_id == cmd_id;
}

static bool offer_is(const struct ib_msg *m, uint64_t query_id)
{
	return m->u.offer.query_id == query_id;
}

static bool transfer_is(const struct ib_msg *m, uint64_t query_id)
{
	return m->u.transfer.query_id == query_id;
}

static bool query_is(const struct ib_msg *m, uint64_t query_id)
{
	return m->u.query.query_id == query_id;
}

static bool any(const struct ib_msg *m, uint64_t unused)
{
	(void)m;
	(void)unused;
	return true;
}

/* ---- the IUT as a holder ------------------------------------------------------------------ */

struct awaited {
	struct hn_peer *p;
	uint8_t type;
	bool (*match)(const struct ib_msg *, uint64_t);
	uint64_t want;
};

static bool arrived(void *arg)
{
	const struct awaited *a = arg;
	struct ib_frame f;
	struct ib_msg m;

	return find_msg(a->p, a->type, a->match, a->want, &f, &m) || hn_peer_closed(a->p);
}

/* [ELECT-1] QUERY for a key the IUT lacks: no OFFER; for a key it holds: OFFER of its item,
 * to the asker, same query_id and key. The second QUERY is the sentinel for the first. */
static void test_offer(struct cf_ctx *c)
{
	const char *key = "elect.held";
	struct ib_buf item = { 0 };
	struct hn_peer *p, *writer;
	uint64_t q_missing = cf_rand(c), q_held = q_missing + 1;
	struct awaited a;
	struct ib_frame f;
	struct ib_msg m;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !(writer = cf_peer(c, 1)) ||
	    !cf_link_child(c, p) || !cf_link_child(c, writer) ||
	    !make_publish(c, cf_tester_identity(c, 1), key, 3, "held", &item))
		goto out;
	if (hn_peer_send_raw(writer, item.ptr, item.len) != IB_OK) {
		cf_harness_error(c, "cannot send PUBLISH");
		goto out;
	}
	a = (struct awaited){ p, IB_MSG_PUBLISH, any, 0 };  /* flooded to p: now it is stored */
	if (!cf_wait(c, arrived, &a, EL_WAIT_MS, "the IUT floods the PUBLISH to the other child"))
		goto out;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_QUERY;
	m.u.query = (struct ib_query){ q_missing, { (const uint8_t *)"elect.nobody", 12 } };
	if (hn_peer_send(p, &m, NULL, NULL, false, NULL) != IB_OK)
		goto harness;
	m.u.query = (struct ib_query){ q_held, { (const uint8_t *)key, strlen(key) } };
	if (hn_peer_send(p, &m, NULL, NULL, false, NULL) != IB_OK)
		goto harness;
	a = (struct awaited){ p, IB_MSG_OFFER, offer_is, q_held };
	if (!cf_wait(c, arrived, &a, EL_WAIT_MS, "an OFFER answers QUERY for a key the IUT holds"))
		goto out;
	if (!cf_expect(c, find_msg(p, IB_MSG_OFFER, offer_is, q_held, &f, &m), "ELECT-1",
		       "an OFFER answers QUERY for a key the IUT holds", "the link closed first") ||
	    !cf_expect(c, m.u.offer.version == 3 &&
			      ib_id_equal(&m.u.offer.writer, ib_identity_id(cf_tester_identity(c, 1))) &&
			      m.u.offer.key.len == strlen(key) &&
			      !memcmp(m.u.offer.key.ptr, key, strlen(key)) &&
			      ib_id_equal(&m.h.dest, ib_identity_id(hn_peer_identity(p))),
		       "ELECT-1", "OFFER(same query_id, same key, version 3, writer T1), dest = asker",
		       "OFFER version %llu, key of %zu bytes, writer %s T1, dest %s the asker",
		       (unsigned long long)m.u.offer.version, m.u.offer.key.len,
		       ib_id_equal(&m.u.offer.writer, ib_identity_id(cf_tester_identity(c, 1)))
			       ? "=" : "!=",
		       ib_id_equal(&m.h.dest, ib_identity_id(hn_peer_identity(p))) ? "=" : "!="))
		goto out;
	if (find_msg(p, IB_MSG_OFFER, offer_is, q_missing, &f, &m))
		cf_expect(c, false, "ELECT-1", "no OFFER for a key the IUT does not hold",
			  "it offered version %llu", (unsigned long long)m.u.offer.version);
	goto out;
harness:
	cf_harness_error(c, "cannot send QUERY");
out:
	ib_buf_free(&item);
}

/* [ELECT-4] SELECT (of a query the IUT never saw) is answered with the item held now, even
 * newer than selected; SELECT of a key it lacks with an empty frame. */
static void test_transfer_now(struct cf_ctx *c)
{
	const char *key = "elect.moving";
	struct ib_buf v1 = { 0 }, v2 = { 0 };
	struct hn_peer *p;
	uint64_t q = cf_rand(c), q_none = q + 1;
	struct awaited a;
	struct ib_frame f;
	struct ib_msg m;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !make_publish(c, cf_tester_identity(c, 1), key, 1, "one", &v1) ||
	    !make_publish(c, cf_tester_identity(c, 2), key, 2, "two", &v2))
		goto out;
	if (!give_item(c, p, &v1) || !give_item(c, p, &v2) || !send_select(c, p, q, key, 1) ||
	    !send_select(c, p, q_none, "elect.none", 1))
		goto out;
	a = (struct awaited){ p, IB_MSG_TRANSFER, transfer_is, q_none };
	if (!cf_wait(c, arrived, &a, EL_WAIT_MS, "TRANSFER answers SELECT of a key not held"))
		goto out;
	if (!cf_expect(c, find_msg(p, IB_MSG_TRANSFER, transfer_is, q, &f, &m), "ELECT-4",
		       "TRANSFER answers SELECT directed to the IUT, even of an unknown query",
		       "no TRANSFER with that query_id (the one for the second SELECT came)") ||
	    !cf_expect(c, m.u.transfer.frame.len == v2.len &&
			      !memcmp(m.u.transfer.frame.ptr, v2.ptr, v2.len), "ELECT-4",
		       "TRANSFER carries the item held now (version 2), byte for byte",
		       "it carried %zu bytes (%s)", m.u.transfer.frame.len,
		       m.u.transfer.frame.len == v1.len &&
				       !memcmp(m.u.transfer.frame.ptr, v1.ptr, v1.len)
			       ? "the selected version 1" : "not the version-2 frame") ||
	    !cf_expect(c, ib_id_equal(&m.h.dest, ib_identity_id(hn_peer_identity(p))), "ELECT-4",
		       "the TRANSFER is directed to the SELECT's origin", "another dest") ||
	    !cf_expect(c, find_msg(p, IB_MSG_TRANSFER, transfer_is, q_none, &f, &m), "ELECT-4",
		       "TRANSFER answers SELECT of a key the IUT lacks", "the link closed first"))
		goto out;
	cf_expect(c, m.u.transfer.frame.len == 0, "ELECT-4",
		  "SELECT of a key the IUT lacks: TRANSFER with an empty frame",
		  "the frame had %zu bytes", m.u.transfer.frame.len);
out:
	ib_buf_free(&v1);
	ib_buf_free(&v2);
}

/* ---- the IUT as the requester ------------------------------------------------------------- */

/* Starts the IUT (window window_ms), links the asker T0 and n holders T1..Tn. */
static bool election_setup_window(struct cf_ctx *c, struct election *e, size_t n,
				  const char *key, uint32_t window_ms)
{
	struct cf_iut_opts o = { .election_window_ms = window_ms };
	static const char *const labels[] = { "T1", "T2", "T3", "T4", "T5", "T6" };

	memset(e, 0, sizeof *e);
	e->c = c;
	e->key = key;
	e->n = n;
	if (!cf_iut_start(c, &o) || !(e->asker = cf_peer(c, 0)) || !cf_link_child(c, e->asker))
		return false;
	for (size_t i = 0; i < n; i++) {
		e->h[i].label = labels[i];
		if (!(e->h[i].p = cf_peer(c, (int)i + 1)) || !cf_link_child(c, e->h[i].p))
			return false;
	}
	return true;
}

static bool election_setup(struct cf_ctx *c, struct election *e, size_t n, const char *key)
{
	return election_setup_window(c, e, n, key, EL_WINDOW_MS);
}

/* The last QUERY the IUT sent that p received, but the one of an election e ran before (a
 * test may run one election after another). */
static bool last_query(const struct election *e, struct hn_peer *p, struct ib_frame *f,
		       struct ib_msg *m)
{
	for (size_t i = hn_peer_received(p); i-- > 0;)
		if (hn_peer_got(p, i)->type == IB_MSG_QUERY && cf_got_msg(p, i, f, m) &&
		    ib_id_equal(&f->origin, cf_iut_id(e->c)))
			return !e->ran || m->u.query.query_id != e->query_id;
	return false;
}

static bool all_queried(void *arg)
{
	struct election *e = arg;
	struct ib_frame f;
	struct ib_msg m;

	for (size_t i = 0; i < e->n; i++)
		if (!last_query(e, e->h[i].p, &f, &m))
			return hn_peer_closed(e->h[i].p);
	return true;
}

/* Sends ib.fetch and waits for the IUT's QUERY at every holder; e->query_id is its id. */
static bool election_start(struct election *e)
{
	struct cf_ctx *c = e->c;
	struct ib_frame f;
	struct ib_msg m;

	e->cmd_id = cf_rand(c);
	if (!send_command(c, e->asker, e->cmd_id, "ib.fetch", e->key) ||
	    !cf_wait(c, all_queried, e, EL_WAIT_MS, "ib.fetch makes the IUT flood QUERY"))
		return false;
	if (!cf_expect(c, last_query(e, e->h[0].p, &f, &m), "ELECT-2",
		       "the IUT floods QUERY for ib.fetch", "a holder's link closed"))
		return false;
	e->query_id = m.u.query.query_id;
	e->ran = true;
	return cf_expect(c, m.u.query.key.len == strlen(e->key) &&
			 !memcmp(m.u.query.key.ptr, e->key, m.u.query.key.len), "ELECT-2",
			 "QUERY names the fetched key", "its key has %zu bytes", m.u.query.key.len);
}

/* The holder whose first frame not yet looked at arrived first; NULL when none is left. */
static struct holder *next_unscanned(struct election *e)
{
	struct holder *first = NULL;

	for (size_t i = 0; i < e->n; i++) {
		struct holder *h = &e->h[i];

		if (h->scanned < hn_peer_received(h->p) &&
		    (!first || hn_peer_got(h->p, h->scanned)->at_us <
				       hn_peer_got(first->p, first->scanned)->at_us))
			first = h;
	}
	return first;
}

/* Each holder answers every SELECT it receives as scripted; true once the asker has its
 * RESULT. A SELECT that is not directed to its receiver is noted as a fault. */
static bool serve(void *arg)
{
	struct election *e = arg;
	struct holder *h;
	struct ib_frame f;
	struct ib_msg m;

	/* Frames in the order they arrived across holders, so that `selected` is the order of
	 * the SELECTs even when several came since the last look. */
	while ((h = next_unscanned(e)) != NULL) {
		size_t i = (size_t)(h - e->h), at = h->scanned++;

		if (hn_peer_got(h->p, at)->type != IB_MSG_SELECT || !cf_got_msg(h->p, at, &f, &m))
			continue;
		if (!ib_id_equal(&m.h.dest, ib_identity_id(hn_peer_identity(h->p))) && !e->fault[0])
			snprintf(e->fault, sizeof e->fault, "%s received a SELECT not directed to it",
				 h->label);
		if (m.u.select.query_id != e->query_id)
			continue;
		if (e->nselected < EL_MAX_SELECTS)
			e->selected[e->nselected++] = (int)i;
		if (!h->silent)
			send_transfer(e->c, h->p, e->query_id, &h->frame);
	}
	{
		struct awaited a = { e->asker, IB_MSG_RESULT, result_is, e->cmd_id };

		return arrived(&a);
	}
}

/* Runs the election to its RESULT; e->status and e->out (the frame) from it. */
static bool election_finish(struct election *e)
{
	struct ib_frame f;
	struct ib_msg m;

	if (!cf_wait(e->c, serve, e, EL_WAIT_MS, "ib.fetch answers (the election ends)"))
		return false;
	if (!cf_expect(e->c, find_msg(e->asker, IB_MSG_RESULT, result_is, e->cmd_id, &f, &m),
		       "CMD-1", "a RESULT answers ib.fetch", "the asker's link closed") ||
	    !cf_expect(e->c, ib_id_equal(&m.h.dest, ib_identity_id(hn_peer_identity(e->asker))),
		       "CMD-1", "the RESULT of ib.fetch is directed to the asker",
		       "its dest is another id_bot"))
		return false;
	e->status = m.u.result.status;
	ib_buf_reset(&e->out);
	ib_buf_put(&e->out, m.u.result.output.ptr, m.u.result.output.len);
	return cf_expect(e->c, !e->fault[0], "ELECT-3", "SELECT is directed to the chosen holder",
			 "%s", e->fault);
}

/* The SELECT order as "T2 T3 ...", for messages (in e->order). */
static const char *select_order(struct election *e)
{
	char *buf = e->order;
	size_t cap = sizeof e->order, used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < e->nselected && used + 4 < cap; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? " " : "",
					 e->h[e->selected[i]].label);
	if (!e->nselected)
		snprintf(buf, cap, "none");
	return buf;
}

/* Whether the SELECTs went to exactly these holders, in this order. */
static bool selected_exactly(const struct election *e, const int *want, size_t n)
{
	if (e->nselected != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (e->selected[i] != want[i])
			return false;
	return true;
}

static bool same_frame(const struct ib_buf *a, const struct ib_buf *b)
{
	return a->len == b->len && !memcmp(a->ptr, b->ptr, a->len);
}

/* [req] The SELECTs went to exactly these holders, in this order. */
static bool expect_selected(struct election *e, const int *want, size_t n, const char *req,
			    const char *expected)
{
	return cf_expect(e->c, selected_exactly(e, want, n), req, expected, "SELECT went to: %s",
			 select_order(e));
}

/* [req] ib.fetch answered ok with exactly the frame want; note (may be "") says more of what
 * it answered instead. */
static bool expect_answer(struct election *e, const struct ib_buf *want, const char *req,
			  const char *expected, const char *note)
{
	return cf_expect(e->c, e->status == IB_STATUS_OK && same_frame(&e->out, want), req,
			 expected, "status %s, %zu bytes%s", ib_status_name(e->status), e->out.len,
			 note);
}

/* Holder i offers (version, writer) of the election's key. */
static bool offer(struct election *e, size_t i, uint64_t version, const ib_id *writer)
{
	return send_offer(e->c, e->h[i].p, e->query_id, e->key, version, writer);
}

static bool same_frame_slice(struct ib_slice a, const struct ib_buf *b)
{
	return a.len == b->len && a.len && !memcmp(a.ptr, b->ptr, a.len);
}

static bool frames_with_key(struct hn_peer *p, const char *key)
{
	struct ib_frame f;
	struct ib_msg m;

	for (size_t i = 0; i < hn_peer_received(p); i++)
		if (hn_peer_got(p, i)->type == IB_MSG_PUBLISH && cf_got_msg(p, i, &f, &m) &&
		    m.u.publish.key.len == strlen(key) && !memcmp(m.u.publish.key.ptr, key, m.u.publish.key.len))
			return true;
	return false;
}

/* [ELECT-2] [ELECT-3] [ELECT-8] T1 offers version 1 at once; T2 offers version 2 well into
 * the window, T3 the same (version, writer) after T2. The IUT must wait the window, SELECT
 * T2 only, answer T2's frame, and not flood it (a later PUBLISH is the sentinel). */
static void test_newest_first(struct cf_ctx *c)
{
	const char *key = "elect.newest";
	const struct ib_identity *writer = cf_tester_identity(c, 5);
	struct election e;
	struct ib_msg pub;
	static const int want[] = { 1 };

	if (!election_setup(c, &e, 3, key) ||
	    !make_publish(c, writer, key, 1, "old", &e.h[0].frame) ||
	    !make_publish(c, writer, key, 2, "new", &e.h[1].frame) ||
	    !make_publish(c, writer, key, 2, "new", &e.h[2].frame) || !election_start(&e))
		goto out;
	if (!offer(&e, 0, 1, ib_identity_id(writer)))
		goto out;
	cf_pause(c, EL_WINDOW_MS / 2);
	if (!offer(&e, 1, 2, ib_identity_id(writer)))
		goto out;
	cf_pause(c, EL_WINDOW_MS / 10);
	if (!offer(&e, 2, 2, ib_identity_id(writer)) ||
	    !election_finish(&e))
		goto out;
	if (!expect_selected(&e, want, 1, "ELECT-2",
			     "after the window, one SELECT to T2: the first offer of the newest "
			     "version") ||
	    !expect_answer(&e, &e.h[1].frame, "ELECT-5",
			   "ib.fetch answers ok with the frame T2 transferred",
			   same_frame(&e.out, &e.h[1].frame) ? "" : " (not T2's frame)"))
		goto out;
	/* Sentinel: a PUBLISH from T2 that must be flooded to T1 and T3. */
	cf_msg_publish(&pub, "elect.sentinel", 1, "s");
	if (hn_peer_send(e.h[1].p, &pub, NULL, NULL, false, NULL) != IB_OK) {
		cf_harness_error(c, "cannot send PUBLISH");
		goto out;
	}
	if (!cf_wait_type(c, e.h[0].p, IB_MSG_PUBLISH, 1, EL_WAIT_MS) ||
	    !cf_wait_type(c, e.h[2].p, IB_MSG_PUBLISH, 1, EL_WAIT_MS))
		goto out;
	cf_expect(c, !frames_with_key(e.h[0].p, key) && !frames_with_key(e.h[2].p, key) &&
		  !frames_with_key(e.asker, key), "ELECT-8",
		  "the transferred frame is applied but not flooded again",
		  "a PUBLISH of %s reached another tester", key);
out:
	election_free(&e);
}

/* [ELECT-6] The first holder offers and never delivers: after the window the IUT SELECTs
 * the next one and answers its frame. */
static void test_silent_holder(struct cf_ctx *c)
{
	const char *key = "elect.silent";
	const struct ib_identity *writer = cf_tester_identity(c, 5);
	struct election e;
	static const int want[] = { 0, 1 };

	if (!election_setup(c, &e, 2, key) ||
	    !make_publish(c, writer, key, 4, "never sent", &e.h[0].frame) ||
	    !make_publish(c, writer, key, 4, "delivered", &e.h[1].frame) || !election_start(&e))
		goto out;
	e.h[0].silent = true;
	if (!offer(&e, 0, 4, ib_identity_id(writer)))
		goto out;
	cf_pause(c, EL_WINDOW_MS / 10);
	if (!offer(&e, 1, 4, ib_identity_id(writer)) ||
	    !election_finish(&e))
		goto out;
	if (!expect_selected(&e, want, 2, "ELECT-6",
			     "SELECT T1 (first offer), then, as it stays silent, T2"))
		goto out;
	expect_answer(&e, &e.h[1].frame, "ELECT-6",
		      "ib.fetch answers ok with the fallback holder's frame", "");
out:
	election_free(&e);
}

static bool select_is(const struct ib_msg *m, uint64_t query_id)
{
	return m->u.select.query_id == query_id;
}

/* When p received its first SELECT of query_id (monotonic ms), or 0. */
static uint64_t select_at_ms(struct hn_peer *p, uint64_t query_id)
{
	struct ib_frame f;
	struct ib_msg m;

	for (size_t i = 0; i < hn_peer_received(p); i++)
		if (hn_peer_got(p, i)->type == IB_MSG_SELECT && cf_got_msg(p, i, &f, &m) &&
		    m.u.select.query_id == query_id)
			return hn_peer_got(p, i)->at_us / 1000;
	return 0;
}

/* [ELECT-6] [ELECT-10] Each SELECT has a window of its own, and what ends a holder's turn
 * acts at once (window w = 1 s, for wide margins on real time). T1 is selected first and
 * sends a forgery at 0.5 w: T2 must be selected at once (a node that fails T1 only when its
 * window ends does it 0.5 w later). T2 answers 0.7 w after its SELECT: after T1's window
 * would have ended, within its own (a node that lets the first deadline run on fails T2).
 * ib.fetch must then answer at once (not when T2's window ends, 0.3 w later). */
#define EL_LONG_WINDOW_MS 1000u

static void test_window_per_select(struct cf_ctx *c)
{
	const char *key = "elect.own-window";
	const struct ib_identity *writer = cf_tester_identity(c, 5);
	const uint64_t w = EL_LONG_WINDOW_MS, prompt = w * 15 / 100;
	uint64_t forged_at, selected_at, sent_at, answered_at;
	struct election e;
	struct awaited a;
	struct ib_frame f;
	struct ib_msg m;

	if (!election_setup_window(c, &e, 2, key, EL_LONG_WINDOW_MS) ||
	    !make_publish(c, writer, key, 5, "forged", &e.h[0].frame) ||
	    !make_publish(c, writer, key, 4, "in its own window", &e.h[1].frame) ||
	    !election_start(&e))
		goto out;
	e.h[0].frame.ptr[e.h[0].frame.len - 1] ^= 0x01;  /* message changed after signing */
	if (!offer(&e, 0, 5, ib_identity_id(writer)) || !offer(&e, 1, 4, ib_identity_id(writer)))
		goto out;
	a = (struct awaited){ e.h[0].p, IB_MSG_SELECT, select_is, e.query_id };
	if (!cf_wait(c, arrived, &a, 2 * w + EL_WAIT_MS, "the window closes: SELECT to T1"))
		goto out;
	cf_pause(c, w / 2);
	forged_at = cf_now_ms(c);
	a = (struct awaited){ e.h[1].p, IB_MSG_SELECT, select_is, e.query_id };
	if (!send_transfer(c, e.h[0].p, e.query_id, &e.h[0].frame) ||
	    !cf_wait(c, arrived, &a, 2 * w, "T1's forgery fails it: SELECT to T2"))
		goto out;
	selected_at = select_at_ms(e.h[1].p, e.query_id);
	if (!cf_expect(c, selected_at && selected_at - forged_at < prompt, "ELECT-6",
		       "a TRANSFER that fails the checks fails its holder at once: the next SELECT "
		       "follows it", "SELECT to T2 came %llu ms after T1's forgery (window %llu ms)",
		       (unsigned long long)(selected_at - forged_at), (unsigned long long)w))
		goto out;
	cf_pause(c, w * 7 / 10);
	sent_at = cf_now_ms(c);
	a = (struct awaited){ e.asker, IB_MSG_RESULT, result_is, e.cmd_id };
	if (!send_transfer(c, e.h[1].p, e.query_id, &e.h[1].frame) ||
	    !cf_wait(c, arrived, &a, 2 * w, "ib.fetch answers") ||
	    !cf_expect(c, find_msg(e.asker, IB_MSG_RESULT, result_is, e.cmd_id, &f, &m), "CMD-1",
		       "a RESULT answers ib.fetch", "the asker's link closed"))
		goto out;
	answered_at = cf_now_ms(c);
	if (!cf_expect(c, m.u.result.status == IB_STATUS_OK &&
		       same_frame_slice(m.u.result.output, &e.h[1].frame), "ELECT-6",
		       "T2's TRANSFER, 0.7 window after its SELECT, is taken: each SELECT waits a "
		       "whole window", "ib.fetch answered %s with %zu bytes that are not T2's frame",
		       ib_status_name(m.u.result.status), m.u.result.output.len))
		goto out;
	cf_expect(c, answered_at - sent_at < prompt, "ELECT-10",
		  "the election ends when the TRANSFER is applied: ib.fetch answers at once",
		  "the RESULT came %llu ms after T2's TRANSFER (window %llu ms)",
		  (unsigned long long)(answered_at - sent_at), (unsigned long long)w);
out:
	election_free(&e);
}

/* [ELECT-5] [ELECT-6] Four holders offer (3, W) in turn; the first three transfer forgeries:
 * a bad signature, another key's frame under the same version, and the same version by a
 * lower writer (older than offered). The IUT must skip each and take the fourth's. */
static void test_forged_transfer(struct cf_ctx *c)
{
	const char *key = "elect.forged";
	const struct ib_identity *lo, *hi;
	struct election e;
	static const int want[] = { 0, 1, 2, 3 };
	static const char *const what[] = { "bad signature", "another key", "lower writer",
					     "good" };

	cf_order_testers(c, 5, 7, &lo, &hi);
	if (!election_setup(c, &e, 4, key) ||
	    !make_publish(c, hi, key, 3, "bad signature", &e.h[0].frame) ||
	    /* Another key of the same length: a check of the length alone lets it in. */
	    !make_publish(c, hi, "elect.forgeD", 3, "another key", &e.h[1].frame) ||
	    !make_publish(c, lo, key, 3, "lower writer", &e.h[2].frame) ||
	    !make_publish(c, hi, key, 3, "good", &e.h[3].frame) || !election_start(&e))
		goto out;
	e.h[0].frame.ptr[e.h[0].frame.len - 1] ^= 0x01;  /* message changed after signing */
	for (size_t i = 0; i < 4; i++) {
		if (!send_offer(c, e.h[i].p, e.query_id, key, 3, ib_identity_id(hi)))
			goto out;
		cf_pause(c, EL_WINDOW_MS / 15);
	}
	if (!election_finish(&e))
		goto out;
	for (size_t i = 0; i < 3; i++)
		if (!cf_expect(c, !same_frame(&e.out, &e.h[i].frame), "ELECT-5",
			       "a TRANSFER that fails the checks is not applied",
			       "ib.fetch answered the frame of %s (%s)", e.h[i].label, what[i]))
			goto out;
	if (!cf_expect(c, e.status == IB_STATUS_OK && same_frame(&e.out, &e.h[3].frame), "ELECT-5",
		       "the forgeries are rejected and ib.fetch answers ok with T4's good frame",
		       "status %s, %zu bytes that are not T4's frame; SELECT went to: %s",
		       ib_status_name(e.status), e.out.len, select_order(&e)))
		goto out;
	expect_selected(&e, want, 4, "ELECT-6",
			"SELECT T1, T2, T3, T4 in turn, each after the previous one's forgery");
out:
	election_free(&e);
}

/* The query_id of the IUT's QUERY for key that p received; false if none came. */
static bool query_for(struct cf_ctx *c, struct hn_peer *p, const char *key, uint64_t *id)
{
	struct ib_frame f;
	struct ib_msg m;

	for (size_t i = 0; i < hn_peer_received(p); i++)
		if (hn_peer_got(p, i)->type == IB_MSG_QUERY && cf_got_msg(p, i, &f, &m) &&
		    ib_id_equal(&f.origin, cf_iut_id(c)) && m.u.query.key.len == strlen(key) &&
		    !memcmp(m.u.query.key.ptr, key, m.u.query.key.len)) {
			*id = m.u.query.query_id;
			return true;
		}
	return false;
}

struct two_fetches {
	struct cf_ctx *c;
	struct hn_peer *asker, *holder;
	const char *key[2];
	uint64_t cmd[2], query[2];
	const struct ib_buf *frame[2];
	size_t scanned;
};

/* The holder answers each SELECT with the frame of its query's key; true once both RESULTs
 * came. */
static bool serve_two(void *arg)
{
	struct two_fetches *t = arg;
	struct ib_frame f;
	struct ib_msg m;

	for (; t->scanned < hn_peer_received(t->holder); t->scanned++)
		if (hn_peer_got(t->holder, t->scanned)->type == IB_MSG_SELECT &&
		    cf_got_msg(t->holder, t->scanned, &f, &m))
			for (int k = 0; k < 2; k++)
				if (m.u.select.query_id == t->query[k])
					send_transfer(t->c, t->holder, t->query[k], t->frame[k]);
	return find_msg(t->asker, IB_MSG_RESULT, result_is, t->cmd[0], &f, &m) &&
	       find_msg(t->asker, IB_MSG_RESULT, result_is, t->cmd[1], &f, &m);
}

/* [ELECT-7] Two elections at once, for two keys: each takes its own OFFER and TRANSFER, and
 * each ib.fetch answers its own key's frame. A node that keeps one election at a time (or
 * loses the first from its list) answers the first not_found. */
static void test_two_at_once(struct cf_ctx *c)
{
	struct cf_iut_opts o = { .election_window_ms = EL_WINDOW_MS };
	const struct ib_identity *writer = cf_tester_identity(c, 5);
	struct ib_buf a = { 0 }, b = { 0 };
	struct two_fetches t = { .c = c, .key = { "elect.first", "elect.second" } };
	struct ib_frame f;
	struct ib_msg m;

	t.frame[0] = &a;
	t.frame[1] = &b;
	if (!cf_iut_start(c, &o) || !(t.asker = cf_peer(c, 0)) || !(t.holder = cf_peer(c, 1)) ||
	    !cf_link_child(c, t.asker) || !cf_link_child(c, t.holder) ||
	    !make_publish(c, writer, t.key[0], 2, "first", &a) ||
	    !make_publish(c, writer, t.key[1], 3, "second", &b))
		goto out;
	for (int k = 0; k < 2; k++) {
		t.cmd[k] = cf_rand(c);
		if (!send_command(c, t.asker, t.cmd[k], "ib.fetch", t.key[k]))
			goto out;
	}
	if (!cf_wait_type(c, t.holder, IB_MSG_QUERY, 2, EL_WAIT_MS))
		goto out;
	if (!query_for(c, t.holder, t.key[0], &t.query[0]) ||
	    !query_for(c, t.holder, t.key[1], &t.query[1])) {
		cf_expect(c, false, "ELECT-2", "one QUERY for each ib.fetch", "a key had none");
		goto out;
	}
	if (!send_offer(c, t.holder, t.query[0], t.key[0], 2, ib_identity_id(writer)) ||
	    !send_offer(c, t.holder, t.query[1], t.key[1], 3, ib_identity_id(writer)) ||
	    !cf_wait(c, serve_two, &t, EL_WAIT_MS, "both ib.fetch answer"))
		goto out;
	for (int k = 0; k < 2; k++) {
		const struct ib_buf *want = t.frame[k];

		if (!find_msg(t.asker, IB_MSG_RESULT, result_is, t.cmd[k], &f, &m) ||
		    !cf_expect(c, m.u.result.status == IB_STATUS_OK &&
				       same_frame_slice(m.u.result.output, want), "ELECT-7",
			       "two elections at once: each ib.fetch answers its own key's frame",
			       "ib.fetch %s answered %s with %zu bytes", t.key[k],
			       ib_status_name(m.u.result.status), m.u.result.output.len))
			goto out;
	}
out:
	ib_buf_free(&a);
	ib_buf_free(&b);
}

/* [ELECT-7] After an election ended, an OFFER and a TRANSFER (of a newer, valid frame) for
 * its query_id, and a TRANSFER for a query_id never used, are ignored: no SELECT, and the
 * item stays. T1 is asker and holder, so its frames reach the IUT in order. */
static void test_late(struct cf_ctx *c)
{
	const char *key = "elect.late";
	const struct ib_identity *writer = cf_tester_identity(c, 5);
	struct ib_buf newer = { 0 };
	struct election e;
	size_t selects;
	struct ib_slice arg = { (const uint8_t *)key, strlen(key) };

	if (!election_setup(c, &e, 1, key) ||
	    !make_publish(c, writer, key, 2, "chosen", &e.h[0].frame) ||
	    !make_publish(c, writer, key, 9, "late", &newer))
		goto out;
	e.asker = e.h[0].p;
	if (!election_start(&e) ||
	    !offer(&e, 0, 2, ib_identity_id(writer)) ||
	    !election_finish(&e) ||
	    !cf_expect(c, e.status == IB_STATUS_OK && same_frame(&e.out, &e.h[0].frame), "ELECT-5",
		       "ib.fetch answers the transferred frame", "status %s",
		       ib_status_name(e.status)))
		goto out;
	selects = e.nselected;
	if (!offer(&e, 0, 9, ib_identity_id(writer)) ||
	    !send_transfer(c, e.h[0].p, e.query_id, &newer) ||
	    !send_transfer(c, e.h[0].p, e.query_id ^ 0x5a5a5a5a5a5a5a5aull, &newer) ||
	    !cf_command(c, e.h[0].p, NULL, "ib.get", &arg, 1, &e.status, &e.out))
		goto out;
	serve(&e);
	if (!cf_expect(c, e.nselected == selects, "ELECT-7",
		       "a late OFFER for a finished election gets no SELECT",
		       "%zu more SELECT(s)", e.nselected - selects))
		goto out;
	cf_expect(c, e.status == IB_STATUS_OK && same_frame(&e.out, &e.h[0].frame), "ELECT-7",
		  "TRANSFERs of a finished or unknown query_id are ignored: the item stays version 2",
		  "ib.get answered %s, %s", ib_status_name(e.status),
		  same_frame(&e.out, &newer) ? "the late version-9 frame" : "another frame");
out:
	ib_buf_free(&newer);
	election_free(&e);
}

/* [ELECT-7] While an election of a key is open, an OFFER of that key under another query_id
 * (a stale one, or one the holder made up) does not count for it: T2 offers a newer version
 * under a query_id the IUT never sent, T1 the older under the election's; only T1 gets the
 * SELECT. A node that matches offers by key (or takes any query_id while one election of
 * the key runs) selects T2. */
static void test_offer_other_query(struct cf_ctx *c)
{
	const char *key = "elect.other-query";
	const struct ib_identity *writer = cf_tester_identity(c, 5);
	const int want[] = { 0 };
	struct election e;

	if (!election_setup(c, &e, 2, key) ||
	    !make_publish(c, writer, key, 2, "offered under the query_id", &e.h[0].frame) ||
	    !make_publish(c, writer, key, 9, "offered under another", &e.h[1].frame))
		goto out;
	e.asker = e.h[0].p;
	if (!election_start(&e) ||
	    !send_offer(c, e.h[1].p, e.query_id ^ 0x5a5a5a5a5a5a5a5aull, key, 9,
			ib_identity_id(writer)) ||
	    !offer(&e, 0, 2, ib_identity_id(writer)) ||
	    !election_finish(&e) ||
	    !expect_selected(&e, want, 1, "ELECT-7",
			     "an OFFER of the same key under another query_id is ignored: only "
			     "the holder that offered under the election's query_id is selected"))
		goto out;
	expect_answer(&e, &e.h[0].frame, "ELECT-7",
		      "ib.fetch answers the frame offered under the election's query_id", "");
out:
	election_free(&e);
}

/* [DATA-2] [ELECT-5] A node restarted with an empty store gets its item back with ib.fetch
 * from a tester that still holds it. */
static void test_refetch_after_empty_restart(struct cf_ctx *c)
{
	const char *key = "elect.refetch";
	struct ib_slice arg = { (const uint8_t *)key, strlen(key) };
	struct ib_buf item = { 0 };
	struct election e;

	if (!election_setup(c, &e, 1, key) ||
	    !make_publish(c, cf_tester_identity(c, 5), key, 6, "kept elsewhere", &item) ||
	    hn_peer_send_raw(e.h[0].p, item.ptr, item.len) != IB_OK ||
	    !cf_command(c, e.h[0].p, NULL, "ib.get", &arg, 1, &e.status, &e.out) ||
	    !cf_expect(c, e.status == IB_STATUS_OK, "DATA-2", "the PUBLISH is stored",
		       "ib.get answered %s", ib_status_name(e.status)) ||
	    !cf_iut_restart(c, true) ||
	    !(e.asker = cf_peer(c, 0)) || !cf_link_child(c, e.asker) ||
	    !(e.h[0].p = cf_peer(c, 1)) || !cf_link_child(c, e.h[0].p) ||
	    !cf_command(c, e.asker, NULL, "ib.get", &arg, 1, &e.status, &e.out))
		goto out;
	if (!cf_expect(c, e.status == IB_STATUS_NOT_FOUND, "DATA-2",
		       "(setup) the store was emptied", "ib.get answered %s",
		       ib_status_name(e.status)))
		goto out;
	ib_buf_put(&e.h[0].frame, item.ptr, item.len);
	if (!election_start(&e) ||
	    !offer(&e, 0, 6, ib_identity_id(cf_tester_identity(c, 5))) ||
	    !election_finish(&e) ||
	    !expect_answer(&e, &item, "ELECT-5", "ib.fetch gets the item back from the holder",
			   "") ||
	    !cf_command(c, e.asker, NULL, "ib.get", &arg, 1, &e.status, &e.out))
		goto out;
	cf_expect(c, e.status == IB_STATUS_OK && same_frame(&e.out, &item), "DATA-2",
		  "the fetched item is applied: ib.get answers it",
		  "ib.get answered %s", ib_status_name(e.status));
out:
	ib_buf_free(&item);
	election_free(&e);
}

/* ---- issue 12: what an election counts, and what it ends with ----------------------------- */

/* [ELECT-4] The IUT holds version 2; a SELECT naming version 9 (a version it never had) is
 * answered with the version-2 frame it holds, not with an empty one. */
static void test_transfer_older(struct cf_ctx *c)
{
	char key[64];
	struct ib_buf v2 = { 0 };
	struct hn_peer *p;
	uint64_t q = cf_rand(c);
	struct awaited a;
	struct ib_frame f;
	struct ib_msg m;

	cf_fresh_key(c, "elect.older", key, sizeof key);
	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !make_publish(c, cf_tester_identity(c, 1), key, 2, "two", &v2) ||
	    !give_item(c, p, &v2) || !send_select(c, p, q, key, 9))
		goto out;
	a = (struct awaited){ p, IB_MSG_TRANSFER, transfer_is, q };
	if (!cf_wait(c, arrived, &a, EL_WAIT_MS, "TRANSFER answers SELECT") ||
	    !cf_expect(c, find_msg(p, IB_MSG_TRANSFER, transfer_is, q, &f, &m), "ELECT-4",
		       "TRANSFER answers SELECT directed to the IUT", "the link closed first"))
		goto out;
	cf_expect(c, same_frame_slice(m.u.transfer.frame, &v2), "ELECT-4",
		  "SELECT of version 9 while the IUT holds version 2: TRANSFER of the version-2 "
		  "frame, whatever the selected version",
		  "it carried %zu bytes%s", m.u.transfer.frame.len,
		  m.u.transfer.frame.len ? " that are not the version-2 frame" : " (empty)");
out:
	ib_buf_free(&v2);
}

/* [ELECT-9] [ELECT-11] The IUT holds (5, W) (seq s); T1 offers (5, W), its frame having a
 * greater seq. The pair is equal: the IUT must send no SELECT and answer its own frame. A
 * node that SELECTs unless its own item is strictly newer (or compares seq) gets T1's. */
static void test_own_as_new(struct cf_ctx *c)
{
	const char *key = "elect.own-equal";
	const struct ib_identity *writer = cf_tester_identity(c, 5);
	struct ib_buf own = { 0 };
	struct election e;
	uint64_t seq = cf_unix_us(c);

	if (!election_setup(c, &e, 1, key) ||
	    !cf_publish_frame(c, writer, key, 5, "own", seq, &own) ||
	    !cf_publish_frame(c, writer, key, 5, "holder's, later seq", seq + 10, &e.h[0].frame) ||
	    !give_item(c, e.h[0].p, &own) || !election_start(&e) ||
	    !offer(&e, 0, 5, ib_identity_id(writer)) ||
	    !election_finish(&e))
		goto out;
	if (!cf_expect(c, e.nselected == 0, "ELECT-9",
		       "no SELECT: the IUT's own item has the offered (version, writer)",
		       "SELECT went to: %s", select_order(&e)))
		goto out;
	expect_answer(&e, &own, "ELECT-9", "ib.fetch answers ok with the IUT's own frame",
		      same_frame(&e.out, &e.h[0].frame) ? " (the holder's frame)" : "");
out:
	ib_buf_free(&own);
	election_free(&e);
}

/* [ELECT-10] [ELECT-9] The IUT holds (3, W). T1 offers (5, W) and never delivers; T2
 * offers (3, W). After T1 fails, the best offer left is no newer than the IUT's own item:
 * no SELECT to T2, and ib.fetch answers ok with the IUT's own, older, item. Then ib.fetch
 * of a key nobody offers answers not_found with an empty output. */
static void test_own_after_failures(struct cf_ctx *c)
{
	const char *key = "elect.own-older";
	const struct ib_identity *writer = cf_tester_identity(c, 5);
	struct ib_buf own = { 0 };
	struct election e;
	uint64_t seq = cf_unix_us(c);
	static const int want[] = { 0 };
	struct ib_slice none = { (const uint8_t *)"elect.nobody-has-it", 19 };

	if (!election_setup(c, &e, 2, key) ||
	    !cf_publish_frame(c, writer, key, 3, "own", seq, &own) ||
	    !cf_publish_frame(c, writer, key, 5, "never sent", seq + 10, &e.h[0].frame) ||
	    !cf_publish_frame(c, writer, key, 3, "T2's", seq + 20, &e.h[1].frame) ||
	    !give_item(c, e.h[0].p, &own) || !election_start(&e))
		goto out;
	e.h[0].silent = true;
	if (!offer(&e, 0, 5, ib_identity_id(writer)))
		goto out;
	cf_pause(c, EL_WINDOW_MS / 10);
	if (!offer(&e, 1, 3, ib_identity_id(writer)) ||
	    !election_finish(&e))
		goto out;
	if (!expect_selected(&e, want, 1, "ELECT-9",
			     "SELECT T1 only: after it fails, T2's offer is no newer than the own "
			     "item") ||
	    !expect_answer(&e, &own, "ELECT-10",
			   "ib.fetch answers ok with the IUT's own version 3 when the newer "
			   "holder failed", "") ||
	    !cf_command(c, e.asker, NULL, "ib.fetch", &none, 1, &e.status, &e.out))
		goto out;
	cf_expect(c, e.status == IB_STATUS_NOT_FOUND && e.out.len == 0, "ELECT-10",
		  "ib.fetch of a key nobody holds answers not_found, empty",
		  "status %s, %zu bytes", ib_status_name(e.status), e.out.len);
out:
	ib_buf_free(&own);
	election_free(&e);
}

/* [ELECT-11] [ELECT-5] T1 offers (5, lo) first, T2 (5, hi) later, T3 (4, hi). At one version
 * the greater writer ranks first: SELECT T2 only. T2 transfers (6, lo): a greater version by
 * a lower writer is newer than its offer, and is taken. */
static void test_rank_by_writer(struct cf_ctx *c)
{
	const char *key = "elect.writer";
	const struct ib_identity *lo, *hi;
	struct election e;
	static const int want[] = { 1 };

	cf_order_testers(c, 5, 7, &lo, &hi);
	if (!election_setup(c, &e, 3, key) ||
	    !make_publish(c, lo, key, 5, "T1: (5, lo)", &e.h[0].frame) ||
	    !make_publish(c, lo, key, 6, "T2: (6, lo)", &e.h[1].frame) ||
	    !make_publish(c, hi, key, 4, "T3: (4, hi)", &e.h[2].frame) || !election_start(&e) ||
	    !offer(&e, 0, 5, ib_identity_id(lo)))
		goto out;
	cf_pause(c, EL_WINDOW_MS / 10);
	if (!offer(&e, 1, 5, ib_identity_id(hi)))
		goto out;
	cf_pause(c, EL_WINDOW_MS / 10);
	if (!offer(&e, 2, 4, ib_identity_id(hi)) ||
	    !election_finish(&e))
		goto out;
	if (!cf_expect(c, e.nselected >= 1 && e.selected[0] == 1, "ELECT-11",
		       "SELECT T2 first: (5, greater writer) ranks before (5, lower writer), which "
		       "arrived first", "SELECT went to: %s", select_order(&e)) ||
	    !cf_expect(c, e.status == IB_STATUS_OK && same_frame(&e.out, &e.h[1].frame), "ELECT-11",
		       "T2's (6, lower writer) frame is not older than its (5, greater writer) "
		       "offer: ib.fetch answers it", "status %s, %zu bytes%s; SELECT went to: %s",
		       ib_status_name(e.status), e.out.len,
		       same_frame(&e.out, &e.h[0].frame) ? " (T1's frame)" : "",
		       select_order(&e)))
		goto out;
	expect_selected(&e, want, 1, "ELECT-11", "one SELECT, to T2");
out:
	election_free(&e);
}

/* [ELECT-12] T1 offers (2, W), then (7, W); T2 offers (5, W) and stays silent; T1 offers
 * (5, W) once more. Only T1's first offer counts: SELECT T2, then T1 once, which transfers
 * its version 2. A node that counts T1's later offers SELECTs T1 first. */
static void test_one_offer_per_holder(struct cf_ctx *c)
{
	const char *key = "elect.twice";
	const struct ib_identity *writer = cf_tester_identity(c, 5);
	const ib_id *w = ib_identity_id(writer);
	struct election e;
	static const int want[] = { 1, 0 };

	if (!election_setup(c, &e, 2, key) ||
	    !make_publish(c, writer, key, 2, "T1's version 2", &e.h[0].frame) ||
	    !make_publish(c, writer, key, 5, "never sent", &e.h[1].frame) || !election_start(&e))
		goto out;
	e.h[1].silent = true;
	if (!offer(&e, 0, 2, w))
		goto out;
	cf_pause(c, EL_WINDOW_MS / 15);
	if (!offer(&e, 0, 7, w))
		goto out;
	cf_pause(c, EL_WINDOW_MS / 15);
	if (!offer(&e, 1, 5, w))
		goto out;
	cf_pause(c, EL_WINDOW_MS / 15);
	if (!offer(&e, 0, 5, w) ||
	    !election_finish(&e))
		goto out;
	if (!expect_selected(&e, want, 2, "ELECT-12",
			     "SELECT T2 (5), then T1 (its first offer, 2), once each"))
		goto out;
	expect_answer(&e, &e.h[0].frame, "ELECT-12", "ib.fetch answers T1's version-2 frame", "");
out:
	election_free(&e);
}

struct selected_wait {
	struct hn_peer *p;
	uint64_t query_id;
};

static bool select_came(void *arg)
{
	const struct selected_wait *w = arg;
	struct ib_frame f;
	struct ib_msg m;

	for (size_t i = 0; i < hn_peer_received(w->p); i++)
		if (hn_peer_got(w->p, i)->type == IB_MSG_SELECT && cf_got_msg(w->p, i, &f, &m) &&
		    m.u.select.query_id == w->query_id)
			return true;
	return hn_peer_closed(w->p);
}

/* Waits until holder i of e has its SELECT. */
static bool await_select(struct election *e, size_t i, const char *req)
{
	struct selected_wait w = { e->h[i].p, e->query_id };

	return cf_wait(e->c, select_came, &w, EL_WAIT_MS, "SELECT to the first holder") &&
	       cf_expect(e->c, !hn_peer_closed(e->h[i].p), req, "SELECT to the first holder",
			 "%s's link closed", e->h[i].label);
}

/* [ELECT-13] In the window T3 offers (8, W) for the key spelt in another case, and T1 offers
 * (5, W) for the key; T1 is SELECTed and stays silent. While the IUT waits for it, T2 offers
 * (9, W), after the window. Neither T3's nor T2's offer counts: once T1 failed, no offer is
 * left and the IUT holds none: SELECT T1 only, ib.fetch answers not_found. */
static void test_offers_out_of_window(struct cf_ctx *c)
{
	const char *key = "elect.window", *other = "elect.WINDOW";
	const struct ib_identity *writer = cf_tester_identity(c, 5);
	const ib_id *w = ib_identity_id(writer);
	struct election e;
	static const int want[] = { 0 };

	if (!election_setup(c, &e, 3, key) ||
	    !make_publish(c, writer, key, 5, "never sent", &e.h[0].frame) ||
	    !make_publish(c, writer, key, 9, "late", &e.h[1].frame) ||
	    !make_publish(c, writer, other, 8, "another key", &e.h[2].frame) ||
	    !election_start(&e))
		goto out;
	e.h[0].silent = true;
	if (!send_offer(c, e.h[2].p, e.query_id, other, 8, w))
		goto out;
	cf_pause(c, EL_WINDOW_MS / 10);
	if (!offer(&e, 0, 5, w) || !await_select(&e, 0, "ELECT-13") ||
	    !offer(&e, 1, 9, w) ||
	    !election_finish(&e))
		goto out;
	if (!expect_selected(&e, want, 1, "ELECT-13",
			     "SELECT T1 only: an OFFER of another key, or after the window, is "
			     "ignored"))
		goto out;
	cf_expect(c, e.status == IB_STATUS_NOT_FOUND && e.out.len == 0, "ELECT-13",
		  "ib.fetch answers not_found (empty): the only counted holder failed",
		  "status %s, %zu bytes", ib_status_name(e.status), e.out.len);
out:
	election_free(&e);
}

/* [ELECT-14] T1 and T2 offer (5, W); T1 is SELECTed. Before T1 answers, T2 (not selected)
 * sends TRANSFER of a valid version-9 frame with the election's query_id, and T1 one of a
 * version-8 frame with another query_id; then T1 transfers its version 5. Only the last one
 * counts: ib.fetch and ib.get answer version 5. */
static void test_foreign_transfer(struct cf_ctx *c)
{
	const char *key = "elect.foreign";
	const struct ib_identity *writer = cf_tester_identity(c, 5);
	struct ib_slice arg = { (const uint8_t *)key, strlen(key) };
	struct ib_buf v9 = { 0 }, v8 = { 0 };
	struct election e;
	static const int want[] = { 0 };

	if (!election_setup(c, &e, 2, key) ||
	    !make_publish(c, writer, key, 5, "selected", &e.h[0].frame) ||
	    !make_publish(c, writer, key, 5, "not selected", &e.h[1].frame) ||
	    !make_publish(c, writer, key, 9, "from T2, not selected", &v9) ||
	    !make_publish(c, writer, key, 8, "from T1, another query_id", &v8) ||
	    !election_start(&e))
		goto out;
	e.h[0].silent = true;  /* it answers by hand, below */
	e.h[1].silent = true;
	if (!offer(&e, 0, 5, ib_identity_id(writer)))
		goto out;
	cf_pause(c, EL_WINDOW_MS / 10);
	if (!offer(&e, 1, 5, ib_identity_id(writer)) ||
	    !await_select(&e, 0, "ELECT-14") || !send_transfer(c, e.h[1].p, e.query_id, &v9) ||
	    /* T2's RESULT comes after its TRANSFER was handled. */
	    !cf_command(c, e.h[1].p, NULL, "ib.ping", NULL, 0, &e.status, NULL) ||
	    !send_transfer(c, e.h[0].p, e.query_id ^ 0x5a5a5a5a5a5a5a5aull, &v8) ||
	    !send_transfer(c, e.h[0].p, e.query_id, &e.h[0].frame) ||
	    !election_finish(&e))
		goto out;
	if (!expect_answer(&e, &e.h[0].frame, "ELECT-14",
			   "ib.fetch answers the selected holder's TRANSFER of its query_id "
			   "(version 5)",
			   same_frame(&e.out, &v9)   ? " (T2's unselected version 9)"
			   : same_frame(&e.out, &v8) ? " (T1's version 8 of another query_id)"
						     : "") ||
	    !expect_selected(&e, want, 1, "ELECT-14",
			     "one SELECT, to T1: the stray TRANSFERs neither end nor fail the "
			     "election") ||
	    !cf_command(c, e.asker, NULL, "ib.get", &arg, 1, &e.status, &e.out))
		goto out;
	cf_expect(c, e.status == IB_STATUS_OK && same_frame(&e.out, &e.h[0].frame), "ELECT-14",
		  "the stray TRANSFERs are not applied: ib.get answers version 5",
		  "ib.get answered %s, %zu bytes", ib_status_name(e.status), e.out.len);
out:
	ib_buf_free(&v9);
	ib_buf_free(&v8);
	election_free(&e);
}

/* ---- issue 12, second round: comparisons, stray transfers, what an election ends with ---- */

/* [ELECT-11] [ELECT-9] The IUT holds (5, lower writer); T1 offers (5, greater writer). The
 * offer is newer: the IUT must SELECT T1 and answer its frame. A node that compares its own
 * item by version only ends the election with its own. */
static void test_own_lower_writer(struct cf_ctx *c)
{
	const char *key = "elect.own-lower-writer";
	const struct ib_identity *lo, *hi;
	struct ib_buf own = { 0 };
	struct election e;
	static const int want[] = { 0 };

	cf_order_testers(c, 5, 7, &lo, &hi);
	if (!election_setup(c, &e, 1, key) || !make_publish(c, lo, key, 5, "own, lower", &own) ||
	    !make_publish(c, hi, key, 5, "T1's, greater", &e.h[0].frame) ||
	    !give_item(c, e.h[0].p, &own) || !election_start(&e) ||
	    !offer(&e, 0, 5, ib_identity_id(hi)) ||
	    !election_finish(&e))
		goto out;
	if (!expect_selected(&e, want, 1, "ELECT-11",
			     "SELECT T1: (5, greater writer) is newer than the own (5, lower "
			     "writer)"))
		goto out;
	expect_answer(&e, &e.h[0].frame, "ELECT-11",
		      "ib.fetch answers T1's (5, greater writer) frame",
		      same_frame(&e.out, &own) ? " (the IUT's own frame)" : "");
out:
	ib_buf_free(&own);
	election_free(&e);
}

/* [ELECT-14] T1 then T2 offer (5, W); T1 is SELECTed and stays silent, so the IUT SELECTs T2.
 * Then T1, skipped, sends its valid TRANSFER with the election's query_id, and T2 its own
 * after it. Only T2's counts: a holder skipped is not the holder last selected. */
static void test_skipped_holder_transfer(struct cf_ctx *c)
{
	const char *key = "elect.skipped";
	const struct ib_identity *writer = cf_tester_identity(c, 5);
	struct election e;
	static const int want[] = { 0, 1 };

	if (!election_setup(c, &e, 2, key) ||
	    !make_publish(c, writer, key, 5, "T1's, too late", &e.h[0].frame) ||
	    !make_publish(c, writer, key, 5, "T2's", &e.h[1].frame) || !election_start(&e))
		goto out;
	e.h[0].silent = true;
	e.h[1].silent = true;  /* both answer by hand, below */
	if (!offer(&e, 0, 5, ib_identity_id(writer)))
		goto out;
	cf_pause(c, EL_WINDOW_MS / 10);
	if (!offer(&e, 1, 5, ib_identity_id(writer)) ||
	    !await_select(&e, 0, "ELECT-6") || !await_select(&e, 1, "ELECT-6") ||
	    !send_transfer(c, e.h[0].p, e.query_id, &e.h[0].frame) ||
	    /* T1's RESULT comes after its TRANSFER was handled. */
	    !cf_command(c, e.h[0].p, NULL, "ib.ping", NULL, 0, &e.status, NULL) ||
	    !send_transfer(c, e.h[1].p, e.query_id, &e.h[1].frame) ||
	    !election_finish(&e))
		goto out;
	if (!expect_answer(&e, &e.h[1].frame, "ELECT-14",
			   "ib.fetch answers T2's frame: the TRANSFER of T1, skipped, does not "
			   "count",
			   same_frame(&e.out, &e.h[0].frame) ? " (T1's frame)" : ""))
		goto out;
	expect_selected(&e, want, 2, "ELECT-6", "SELECT T1, then T2");
out:
	election_free(&e);
}

/* [ELECT-10] T1 offers (3, W) and is SELECTed. Before it answers, T2 floods W's PUBLISH of
 * version 7, which the IUT applies. T1's TRANSFER of (3, W) is valid and not older than its
 * offer, but older than the item held: ib.fetch answers the item held when the election
 * ends, version 7, not the transferred frame. */
static void test_store_changed(struct cf_ctx *c)
{
	const char *key = "elect.moved-on";
	const struct ib_identity *writer = cf_tester_identity(c, 5);
	struct ib_buf v7 = { 0 };
	struct election e;

	if (!election_setup(c, &e, 2, key) ||
	    !make_publish(c, writer, key, 3, "transferred", &e.h[0].frame) ||
	    !make_publish(c, writer, key, 7, "came meanwhile", &v7) || !election_start(&e))
		goto out;
	e.h[0].silent = true;
	e.h[1].silent = true;
	if (!offer(&e, 0, 3, ib_identity_id(writer)) ||
	    !await_select(&e, 0, "ELECT-10") || !give_item(c, e.h[1].p, &v7) ||
	    !send_transfer(c, e.h[0].p, e.query_id, &e.h[0].frame) ||
	    !election_finish(&e))
		goto out;
	expect_answer(&e, &v7, "ELECT-10",
		      "ib.fetch answers the item held when the election ends (version 7, flooded "
		      "during it), not the older transferred frame",
		      same_frame(&e.out, &e.h[0].frame) ? " (the transferred version 3)" : "");
out:
	ib_buf_free(&v7);
	election_free(&e);
}

/* Whether p received frame exactly, waiting for a QUERY sentinel flooded by from after it. */
static bool flooded_to(struct cf_ctx *c, struct hn_peer *from, struct hn_peer *p,
		       const struct ib_buf *frame, size_t *copies)
{
	struct awaited a;
	struct ib_msg m;
	uint64_t q = cf_rand(c);

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_QUERY;
	m.u.query = (struct ib_query){ q, { (const uint8_t *)"elect.sentinel", 14 } };
	if (hn_peer_send_raw(from, frame->ptr, frame->len) != IB_OK ||
	    hn_peer_send(from, &m, NULL, NULL, false, NULL) != IB_OK) {
		cf_harness_error(c, "a tester cannot send");
		return false;
	}
	a = (struct awaited){ p, IB_MSG_QUERY, query_is, q };
	if (!cf_wait(c, arrived, &a, EL_WAIT_MS, "the QUERY sent after the frame is flooded"))
		return false;
	*copies = cf_copies(p, frame->ptr, frame->len);
	return true;
}

/* [ELECT-15] W never sent anything when T1 transfers W's frame F1 (seq s): ib.fetch applies
 * it; then W's own flood of F1 (T2 relays it) must still be accepted and forwarded to T0.
 * Then W floods a frame of seq s + 1000, and an election transfers W's F2 of seq s + 1,
 * below W's window: it must be applied all the same. A node that records the embedded seq
 * drops the flood of F1 as a replay; one that checks it refuses F2. */
static void test_transfer_not_replay(struct cf_ctx *c)
{
	const struct ib_identity *writer = cf_tester_identity(c, 5);
	struct ib_buf jump = { 0 };
	struct election e;
	uint64_t s = cf_next_seq(c, 5);
	size_t copies = 0;
	static const int want[] = { 0 };

	if (!election_setup(c, &e, 2, "elect.embedded") ||
	    !cf_publish_frame(c, writer, e.key, 3, "first transferred, then flooded", s,
			      &e.h[0].frame) || !election_start(&e))
		goto out;
	e.h[1].silent = true;
	if (!offer(&e, 0, 3, ib_identity_id(writer)) ||
	    !election_finish(&e) ||
	    !expect_answer(&e, &e.h[0].frame, "ELECT-5", "ib.fetch answers the transferred frame",
			   "") ||
	    !flooded_to(c, e.h[1].p, e.asker, &e.h[0].frame, &copies) ||
	    !cf_expect(c, copies == 1, "ELECT-15",
		       "W's own flood of a frame transferred before is accepted and forwarded: the "
		       "embedded seq was not recorded in W's window",
		       "%zu copies reached T0 (dropped as a replay?)", copies))
		goto out;
	/* W's window moves to s + 1000; F2, of seq s + 1, is below it. */
	if (!cf_publish_frame(c, writer, "elect.embedded-jump", 1, "moves the window",
			      s + 1000, &jump) || !give_item(c, e.h[1].p, &jump))
		goto out;
	e.key = "elect.embedded-below";
	e.nselected = 0;
	if (!cf_publish_frame(c, writer, e.key, 4, "below the window", s + 1, &e.h[0].frame) ||
	    !election_start(&e) ||
	    !offer(&e, 0, 4, ib_identity_id(writer)) ||
	    !election_finish(&e))
		goto out;
	cf_expect(c, e.status == IB_STATUS_OK && same_frame(&e.out, &e.h[0].frame) &&
			     selected_exactly(&e, want, 1), "ELECT-15",
		  "a transferred frame whose seq is below its writer's window is applied: the window "
		  "does not judge embedded frames", "status %s, %zu bytes; SELECT went to: %s",
		  ib_status_name(e.status), e.out.len, select_order(&e));
out:
	ib_buf_free(&jump);
	election_free(&e);
}

/* [ELECT-16] T0 announced max_message 65,536; the IUT holds a long item ([DATA-11]) whose
 * TRANSFER is above it. T0's SELECT gets no TRANSFER at all (ib.ping's RESULT, after it, is
 * the sentinel): not an empty one, which would claim the IUT holds nothing. T3's SELECT
 * (default max_message) gets the item. */
static void test_transfer_too_big(struct cf_ctx *c)
{
	char key[64];
	struct ib_buf value = { 0 }, frame = { 0 };
	struct hn_peer *small, *big;
	struct awaited a;
	struct ib_frame f;
	struct ib_msg m;
	uint64_t q = cf_rand(c), q_big = q + 1;
	uint16_t status = 0;
	bool got;

	cf_fresh_key(c, "elect.too-big", key, sizeof key);
	for (size_t i = 0; i < 65450; i++)
		ib_buf_put(&value, "x", 1);
	if (!(small = cf_peer(c, 0)))
		goto out;
	hn_peer_set_max_message(small, IB_MAX_MESSAGE_MIN);
	if (!cf_iut_start(c, NULL) || !cf_link_child(c, small) || !(big = cf_peer(c, 3)) ||
	    !cf_link_child(c, big))
		goto out;
	cf_msg_publish(&m, key, 1, "");
	m.u.publish.value = (struct ib_slice){ value.ptr, value.len };
	if (hn_peer_send(big, &m, cf_tester_identity(c, 1), NULL, false, &frame) != IB_OK) {
		cf_harness_error(c, "cannot send PUBLISH");
		goto out;
	}
	if (!send_select(c, big, q_big, key, 1))
		goto out;
	a = (struct awaited){ big, IB_MSG_TRANSFER, transfer_is, q_big };
	if (!cf_wait(c, arrived, &a, EL_WAIT_MS, "TRANSFER answers T3's SELECT") ||
	    !cf_expect(c, find_msg(big, IB_MSG_TRANSFER, transfer_is, q_big, &f, &m) &&
			      same_frame_slice(m.u.transfer.frame, &frame), "ELECT-4",
		       "T3's SELECT gets the long item", "another TRANSFER, or the link closed"))
		goto out;
	if (!send_select(c, small, q, key, 1) ||
	    !cf_command(c, small, NULL, "ib.ping", NULL, 0, &status, NULL))
		goto out;
	got = find_msg(small, IB_MSG_TRANSFER, transfer_is, q, &f, &m);
	if (!cf_expect(c, !got, "ELECT-16",
		       "no TRANSFER at all when it would be above the requester's max_message",
		       "a TRANSFER came, its frame %zu bytes%s", got ? m.u.transfer.frame.len : 0,
		       got && m.u.transfer.frame.len == 0 ? " (empty: 'holds none')" : ""))
		goto out;
	cf_expect(c, !hn_peer_closed(small), "FLOOD-13", "T0's link stays open",
		  "it was closed");
out:
	ib_buf_free(&value);
	ib_buf_free(&frame);
}

static bool t1_selected(void *arg)
{
	struct election *e = arg;

	return select_at_ms(e->h[0].p, e->query_id) != 0 || hn_peer_closed(e->h[0].p);
}

/* [MEMBER-2] [ELECT-6] T1, selected for its version 2, has sent half of its TRANSFER when
 * the owner removes its key: the IUT closes T1's link at once with `revoked`, never applies
 * the frame it began to read, and, T1's turn over, SELECTs T2 and answers T2's version 1. A
 * node that reads to the end of a frame begun before the reload, or waits for it, fails. */
static void test_holder_revoked_mid_transfer(struct cf_ctx *c)
{
	const char *key = "elect.revoked-holder";
	const struct ib_identity *writer = cf_tester_identity(c, 5);
	struct ib_buf transfer = { 0 };
	struct election e;
	struct ib_msg m;
	static const int want[] = { 0, 1 };

	if (!election_setup(c, &e, 2, key) ||
	    !make_publish(c, writer, key, 2, "the revoked holder's", &e.h[0].frame) ||
	    !make_publish(c, writer, key, 1, "delivered", &e.h[1].frame) || !election_start(&e))
		goto out;
	e.h[0].silent = true;   /* its half TRANSFER is sent below */
	if (!offer(&e, 0, 2, ib_identity_id(writer)) || !offer(&e, 1, 1, ib_identity_id(writer)) ||
	    !cf_wait(c, t1_selected, &e, EL_WAIT_MS, "the IUT SELECTs T1, the first offer of the "
		     "newest version"))
		goto out;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_TRANSFER;
	m.h.dest = *cf_iut_id(c);
	m.u.transfer = (struct ib_transfer){ e.query_id, { e.h[0].frame.ptr, e.h[0].frame.len } };
	if (hn_peer_frame(e.h[0].p, &m, NULL, NULL, false, &transfer) != IB_OK ||
	    hn_peer_send_raw(e.h[0].p, transfer.ptr, transfer.len / 2) != IB_OK) {
		cf_harness_error(c, "T1 cannot send half a TRANSFER");
		goto out;
	}
	cf_run_for(c, 0);
	if (!cf_iut_reload(c, 1u << 1, 0) ||
	    !cf_wait_closed(c, e.h[0].p, IB_EC_REVOKED, "MEMBER-2", EL_WAIT_MS) ||
	    !election_finish(&e))
		goto out;
	if (!expect_selected(&e, want, 2, "ELECT-6", "SELECT T1, then, once its link is cut in "
			     "the middle of its TRANSFER, T2"))
		goto out;
	expect_answer(&e, &e.h[1].frame, "MEMBER-2", "ib.fetch answers T2's version 1: nothing of "
		      "the TRANSFER the removed holder had half sent is applied",
		      same_frame(&e.out, &e.h[0].frame) ? " (T1's version 2)" : "");
out:
	ib_buf_free(&transfer);
	election_free(&e);
}

const struct cf_test cf_tests_elect[] = {
	{ "elect.offer", "ELECT-1", 0, test_offer,
	  "answer QUERY for a key you hold with OFFER(query_id, key, version, writer) to its "
	  "origin; stay silent for a key you lack" },
	{ "elect.transfer-now", "ELECT-4", 0, test_transfer_now,
	  "answer a SELECT directed to you with TRANSFER of the item you hold now (even newer "
	  "than selected, even for an unknown query), or an empty frame" },
	{ "elect.transfer-older", "ELECT-4", 0, test_transfer_older,
	  "answer a SELECT of a version newer than the one you hold with the item you hold, not "
	  "with an empty frame" },
	{ "elect.newest-first", "ELECT-2 ELECT-3 ELECT-5 ELECT-8", CF_NEEDS_CONFIG,
	  test_newest_first,
	  "collect offers for the whole window, SELECT (directed) the first holder of the newest "
	  "version, apply its frame without flooding it" },
	{ "elect.window-per-select", "ELECT-6 ELECT-10", CF_NEEDS_CONFIG, test_window_per_select,
	  "a forgery fails its holder at once; each SELECT waits a whole window of its own; "
	  "ib.fetch answers as soon as the TRANSFER is applied" },
	{ "elect.two-at-once", "ELECT-7", CF_NEEDS_CONFIG, test_two_at_once,
	  "two elections at once, for two keys: each ib.fetch answers its own key's frame" },
	{ "elect.silent-holder", "ELECT-6", CF_NEEDS_CONFIG, test_silent_holder,
	  "when the chosen holder sends no TRANSFER within the window, SELECT the next holder" },
	{ "elect.forged-transfer", "ELECT-5 ELECT-6", CF_NEEDS_CONFIG, test_forged_transfer,
	  "reject a transferred frame with a bad signature, of another key, or older than offered, "
	  "and SELECT the next holder" },
	{ "elect.late", "ELECT-7", CF_NEEDS_CONFIG, test_late,
	  "ignore OFFER and TRANSFER for a finished or unknown query_id" },
	{ "elect.offer-other-query", "ELECT-7", CF_NEEDS_CONFIG, test_offer_other_query,
	  "an OFFER of the key of an open election, under another query_id, is not counted: the "
	  "holder that offered under the election's query_id is selected" },
	{ "elect.refetch-after-empty-restart", "DATA-2 ELECT-5",
	  CF_NEEDS_CONFIG | CF_NEEDS_RESTART, test_refetch_after_empty_restart,
	  "after a restart with an empty store, ib.fetch gets the item back from a holder and "
	  "applies it" },
	{ "elect.own-as-new", "ELECT-9 ELECT-11", CF_NEEDS_CONFIG, test_own_as_new,
	  "send no SELECT when your own item has the best offer's (version, writer): answer it" },
	{ "elect.own-after-failures", "ELECT-9 ELECT-10", CF_NEEDS_CONFIG, test_own_after_failures,
	  "when the newer holders fail, end with your own older item (ok), not with an equal "
	  "holder; not_found, empty, when nobody holds the key" },
	{ "elect.rank-by-writer", "ELECT-11 ELECT-5", CF_NEEDS_CONFIG, test_rank_by_writer,
	  "rank offers by (version, writer): at one version the greater writer first; take a "
	  "transferred frame newer than its offer" },
	{ "elect.one-offer-per-holder", "ELECT-12", CF_NEEDS_CONFIG, test_one_offer_per_holder,
	  "count only the first OFFER of each holder in an election" },
	{ "elect.offers-out-of-window", "ELECT-13", CF_NEEDS_CONFIG, test_offers_out_of_window,
	  "ignore an OFFER of another key, or one after the window, even for the fallbacks" },
	{ "elect.foreign-transfer", "ELECT-14", CF_NEEDS_CONFIG, test_foreign_transfer,
	  "take TRANSFER only from the selected holder with the election's query_id; ignore a "
	  "holder that was not selected" },
	{ "elect.own-lower-writer", "ELECT-11 ELECT-9", CF_NEEDS_CONFIG, test_own_lower_writer,
	  "compare your own item with an offer by (version, writer): SELECT a holder of your "
	  "version by a greater writer" },
	{ "elect.skipped-holder-transfer", "ELECT-14 ELECT-6", CF_NEEDS_CONFIG,
	  test_skipped_holder_transfer,
	  "ignore the late TRANSFER of a holder you skipped: only the holder selected last counts" },
	{ "elect.store-changed", "ELECT-10", CF_NEEDS_CONFIG, test_store_changed,
	  "answer ib.fetch with the item you hold when the election ends, even one that came by "
	  "flooding during it and is newer than the transferred frame" },
	{ "elect.transfer-not-replay", "ELECT-15", CF_NEEDS_CONFIG, test_transfer_not_replay,
	  "neither check nor record a transferred frame's seq in its writer's anti-replay window" },
	{ "elect.holder-revoked-mid-transfer", "MEMBER-2 ELECT-6", CF_NEEDS_CONFIG | CF_NEEDS_RELOAD,
	  test_holder_revoked_mid_transfer,
	  "when the selected holder's key is removed while half its TRANSFER has arrived, cut its "
	  "link with revoked, apply nothing of it, and SELECT the next holder" },
	{ "elect.transfer-too-big", "ELECT-16", 0, test_transfer_too_big,
	  "send no TRANSFER (not an empty one) when it would be above the requester's link "
	  "max_message" },
	{ NULL, NULL, 0, NULL, NULL }
};
