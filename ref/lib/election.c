/*
 * election.c - version election (spec section 14). The requester floods QUERY, collects
 * OFFERs for election_window_ms, SELECTs the first holder of the newest version, and checks
 * the writer's frame the TRANSFER carries; a holder that fails is skipped for the next.
 * Holders answer OFFER to QUERY and TRANSFER to SELECT.
 */
#include "node_internal.h"

#include <stdlib.h>
#include <string.h>

static struct ib_slice key_of(const struct election *e)
{
	return (struct ib_slice){ e->key, e->key_len };
}

static uint64_t window_us(const struct ib_node *n)
{
	return (uint64_t)n->cfg.election_window_ms * 1000;
}

static struct election *find(struct ib_node *n, uint64_t query_id)
{
	for (struct election *e = n->elections; e; e = e->next)
		if (e->query_id == query_id)
			return e;
	return NULL;
}

static void unlink_election(struct ib_node *n, struct election *e)
{
	for (struct election **p = &n->elections; *p; p = &(*p)->next) {
		if (*p == e) {
			*p = e->next;
			n->nelections--;
			break;
		}
	}
	ib_loop_timer_cancel(n->loop, e->timer);
	e->timer = 0;
}

static void fill_report(const struct election *e, bool transferred,
			struct ib_election_report *r)
{
	memset(r, 0, sizeof *r);
	r->offers = e->noffers;
	for (size_t i = 0; i < e->noffers && i < IB_REPORT_MAX_OFFERS; i++) {
		r->offer[i].holder = e->offers[i].holder;
		r->offer[i].version = e->offers[i].version;
		r->offer[i].writer = e->offers[i].writer;
		r->offer[i].failed = e->offers[i].failed;
	}
	r->transferred = transferred;
	if (transferred)
		r->holder = e->offers[e->chosen].holder;
}

/* Ends the election: the callback once, then nothing of it remains. [ELECT-10] It ends with
 * the item held now, whichever frame brought it: the TRANSFER, a PUBLISH that came during
 * the election (newer than the transferred frame, which [DATA-2] then did not apply), or
 * the node's own. answer: NULL but for FAULT fetch-answers-transfer. */
static void finish_with(struct election *e, int status, bool transferred,
			const struct ib_item *answer)
{
	struct ib_node *n = e->node;
	struct ib_election_report report;
	struct ib_item item;
	bool have = status == IB_OK && ib_store_get(n->store, key_of(e), &item) == IB_OK;

	if (answer) {
		item = *answer;
		have = true;
	}

	unlink_election(n, e);
	if (status == IB_OK && !have)
		status = IB_ERR_NOT_FOUND;
	fill_report(e, transferred, &report);
	report.own = have && !transferred;
	e->fn(n, status, have ? &item : NULL, &report, e->ctx);
	free(e->offers);
	free(e);
}

static void finish(struct election *e, int status, bool transferred)
{
	finish_with(e, status, transferred, NULL);
}

/* [ELECT-11] An offer against an offer or an item: (version, writer) only, as [DATA-1]
 * orders them; OFFER carries no seq. */
static int offer_compare(uint64_t version_a, const ib_id *writer_a, uint64_t version_b,
			 const ib_id *writer_b)
{
	return ib_item_compare(version_a, writer_a, 0, version_b, writer_b, 0);
}

/* [ELECT-2] the newest (version, writer) among the offers not yet failed; among equal ones
 * the first that arrived. NULL when none is left. */
static struct offer *best_offer(struct election *e)
{
	struct offer *best = NULL;

	for (size_t i = 0; i < e->noffers; i++) {
		struct offer *o = &e->offers[i];
		int c;

		if (o->failed)
			continue;
		if (!best) {
			best = o;
			continue;
		}
		c = offer_compare(o->version, &o->writer, best->version, &best->writer);
		/* FAULT rank-by-version-only, breaks [ELECT-11]: one version, whatever the writer,
		 * ranks by arrival. */
		if (IB_FAULT(e->node, rank_by_version_only) && o->version == best->version)
			c = 0;
		/* FAULT elect-stale-version, breaks [ELECT-2]: the oldest offer wins. */
		if ((c > 0) != IB_FAULT(e->node, elect_stale_version))
			best = o;
	}
	return best;
}

static void transfer_overdue(struct ib_loop *loop, void *arg);

/* [ELECT-9] step 4, before every SELECT (the window closed, or a holder failed): whether
 * our own item is as new as the best offer left, or newer, by (version, writer), which ends
 * the election. FAULT own-equal-selects, breaks [ELECT-9]: only a newer one is. FAULT
 * own-checked-once, breaks [ELECT-9]: only when the window closes. */
static bool own_as_new(const struct election *e, const struct ib_item *own,
		       const struct offer *o)
{
	const struct ib_node *n = e->node;
	int c = offer_compare(own->version, &own->writer, o->version, &o->writer);

	(void)n; /* only fault builds look at it */
	if (IB_FAULT(n, own_checked_once) && e->transferring)
		return false;
	/* [ELECT-11] FAULT own-by-version-only, breaks [ELECT-11]: the own item of the offer's
	 * version ends the election, whatever the writers. */
	if (IB_FAULT(n, own_by_version_only) && own->version == o->version)
		c = 0;
	return c > 0 || (c == 0 && !IB_FAULT(n, own_equal_selects));
}

/* SELECTs the next holder, or ends the election with what there is. */
static void select_next(struct election *e)
{
	struct ib_node *n = e->node;
	struct offer *o = best_offer(e);
	struct ib_item own;
	bool have_own = ib_store_get(n->store, key_of(e), &own) == IB_OK;
	struct ib_msg m;

	if (!o || (have_own && own_as_new(e, &own, o))) {
		/* [ELECT-10] step 8: nothing left ends it with our own item, older ones too, or
		 * none. FAULT fetch-own-older-not-found, breaks [ELECT-10]: not after a holder
		 * failed. */
		if (IB_FAULT(n, fetch_own_older_not_found) && e->transferring)
			have_own = false;
		finish(e, have_own ? IB_OK : IB_ERR_NOT_FOUND, false);
		return;
	}
	e->transferring = true;
	e->chosen = (size_t)(o - e->offers);
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_SELECT;
	m.h.dest = o->holder; /* [ELECT-3] to the chosen holder only */
	m.u.select = (struct ib_select){ e->query_id, key_of(e), o->version };
	flood_originate(n, &m);
	ib_loop_timer_add(n->loop, window_us(n), transfer_overdue, e, &e->timer);
}

/* [ELECT-6] a holder that fails is skipped for the rest of the election. */
static void holder_failed(struct election *e)
{
	node_count(e->node, IB_CNT_HOLDER_FAILED);
	e->offers[e->chosen].failed = true;
	ib_loop_timer_cancel(e->node->loop, e->timer);
	e->timer = 0;
	select_next(e);
}

static void transfer_overdue(struct ib_loop *loop, void *arg)
{
	struct election *e = arg;

	(void)loop;
	e->timer = 0;
	holder_failed(e);
}

static void window_closed(struct ib_loop *loop, void *arg)
{
	struct election *e = arg;

	(void)loop;
	e->timer = 0;
	select_next(e);
}

int ib_node_fetch(struct ib_node *n, struct ib_slice key, ib_fetch_fn fn, void *ctx)
{
	struct election *e;
	struct ib_msg m;
	int err;

	if (!fn || key.len == 0 || key.len > IB_MAX_STRING)
		return IB_ERR_INVALID_ARG;
	/* [ELECT-17] each election floods a QUERY to the whole tree: at most so many at once.
	 * FAULT elections-unbounded, breaks [ELECT-17]. */
	if (n->nelections >= n->cfg.max_elections && !IB_FAULT(n, elections_unbounded)) {
		node_count(n, IB_CNT_BUSY);
		node_log_every(n, IB_LOG_INFO, IB_CNT_BUSY, "busy: a fetch not started: %u elections "
			       "are open (max_elections)", (unsigned)n->cfg.max_elections);
		return IB_ERR_FULL;
	}
	e = calloc(1, sizeof *e);
	if (!e)
		return IB_ERR_NOMEM;
	e->node = n;
	memcpy(e->key, key.ptr, key.len);
	e->key_len = key.len;
	e->fn = fn;
	e->ctx = ctx;
	/* [ELECT-7] a random query_id, unique among this node's open elections. */
	do {
		if (node_random_bytes(n, &e->query_id, sizeof e->query_id) != IB_OK) {
			free(e);
			return IB_ERR_CRYPTO;
		}
	} while (find(n, e->query_id));
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_QUERY;
	m.u.query = (struct ib_query){ e->query_id, key };
	err = flood_originate(n, &m);
	if (!err)
		err = ib_loop_timer_add(n->loop, window_us(n), window_closed, e, &e->timer);
	if (err) {
		free(e);
		return err;
	}
	e->next = n->elections;
	n->elections = e;
	n->nelections++;
	return IB_OK;
}

/* [ELECT-1] a holder answers with what it holds, to the requester only. */
void elect_query_received(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m)
{
	struct ib_item item;
	struct ib_msg offer;

	if (ib_store_get(n->store, m->u.query.key, &item) != IB_OK)
		return;
	if (flood_busy_toward(n, &f->origin, "QUERY")) /* [LINK-21] */
		return;
	memset(&offer, 0, sizeof offer);
	offer.h.type = IB_MSG_OFFER;
	offer.h.dest = f->origin;
	offer.u.offer = (struct ib_offer){ m->u.query.query_id, item.key, item.version,
					   item.writer };
	flood_originate(n, &offer);
}

static bool same_key(const struct election *e, struct ib_slice key)
{
	return key.len == e->key_len && memcmp(key.ptr, e->key, key.len) == 0;
}

/* [ELECT-12] Whether holder already offered in e. */
static bool offered(const struct election *e, const ib_id *holder)
{
	for (size_t i = 0; i < e->noffers; i++)
		if (ib_id_equal(&e->offers[i].holder, holder))
			return true;
	return false;
}

/* [ELECT-7][ELECT-12][ELECT-13] An offer counts when it is the first of its holder, for an
 * election still in its window, for the queried key exactly ([DATA-12]). FAULT
 * late-offers-join, breaks [ELECT-13]: offers after the window are kept for the fallbacks.
 * FAULT offer-any-key, breaks [ELECT-13]: the key is not looked at. FAULT
 * every-offer-counts, breaks [ELECT-12]: a holder's later offers count too. */
static bool offer_counts(const struct ib_node *n, const struct election *e, const ib_id *holder,
			 const struct ib_offer *o)
{
	(void)n; /* only fault builds look at it */
	if (!e || (e->transferring && !IB_FAULT(n, late_offers_join)))
		return false;
	if (!same_key(e, o->key) && !IB_FAULT(n, offer_any_key))
		return false;
	return !offered(e, holder) || IB_FAULT(n, every_offer_counts);
}

void elect_offer_received(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m)
{
	const struct ib_offer *o = &m->u.offer;
	struct election *e = find(n, o->query_id);

	if (!offer_counts(n, e, &f->origin, o)) {
		node_count(n, IB_CNT_LATE_OFFER);
		return;
	}
#ifdef IB_FAULTS
	if (o->version > n->fault_offered) /* for FAULT version-from-offers (data.c) */
		n->fault_offered = o->version;
#endif
	if (e->noffers == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 8;
		struct offer *grown = realloc(e->offers, cap * sizeof *grown);

		if (!grown)
			return;
		e->offers = grown;
		e->cap = cap;
	}
	e->offers[e->noffers++] = (struct offer){ f->origin, o->version, o->writer, false };
}

/* The message length of a TRANSFER carrying frame_len bytes: header, query_id, blob. */
static size_t transfer_len(size_t frame_len)
{
	return IB_MSG_HEADER_LEN + 8 + 3 + frame_len;
}

/* [ELECT-4] what is held now, whatever its version (newer or older than selected); empty
 * when nothing is. FAULT empty-transfer-when-older, breaks [ELECT-4]: an item older than
 * the selected version is not sent. */
void elect_select_received(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m)
{
	struct ib_item item;
	struct ib_msg t;

	if (flood_busy_toward(n, &f->origin, "SELECT")) /* [LINK-21] */
		return;
	memset(&t, 0, sizeof t);
	t.h.type = IB_MSG_TRANSFER;
	t.h.dest = f->origin;
	t.u.transfer.query_id = m->u.select.query_id;
	if (ib_store_get(n->store, m->u.select.key, &item) == IB_OK &&
	    !(IB_FAULT(n, empty_transfer_when_older) && item.version < m->u.select.version))
		t.u.transfer.frame = item.frame;
	/* [ELECT-16] A TRANSFER too long for the link toward the requester is not sent at all
	 * ([FLOOD-13] keeps it off that link, and the encoder refuses one above 2^24-1): never
	 * an empty one instead, which would say nothing is held. FAULT
	 * empty-transfer-when-too-big, breaks [ELECT-16]: it is. */
	if (IB_FAULT(n, empty_transfer_when_too_big) &&
	    !flood_fits(n, &f->origin, transfer_len(t.u.transfer.frame.len)))
		t.u.transfer.frame = (struct ib_slice){ NULL, 0 };
	flood_originate(n, &t);
}

/* Whether FAULT transfer-from-skipped-holder, breaks [ELECT-14], takes a TRANSFER from origin:
 * a holder selected earlier in e and skipped since. */
static bool fault_skipped_holder(const struct election *e, const ib_id *origin)
{
	if (!IB_FAULT(e->node, transfer_from_skipped_holder))
		return false;
	for (size_t i = 0; i < e->noffers; i++)
		if (e->offers[i].failed && ib_id_equal(&e->offers[i].holder, origin))
			return true;
	return false;
}

/* [ELECT-7][ELECT-14] The election a TRANSFER belongs to: the one of its query_id, when its
 * origin is the holder selected last there; NULL otherwise. FAULT transfer-from-any-holder,
 * breaks [ELECT-14]: any origin will do. FAULT transfer-any-query-id, breaks [ELECT-14]: the
 * selected holder's TRANSFER counts whatever its query_id. */
static struct election *transfer_election(struct ib_node *n, const ib_id *origin,
					  uint64_t query_id)
{
	struct election *e = find(n, query_id);

#ifdef IB_FAULTS
	for (struct election *x = n->elections; !e && x; x = x->next)
		if (IB_FAULT(n, transfer_any_query_id) && x->transferring &&
		    ib_id_equal(origin, &x->offers[x->chosen].holder))
			e = x;
#endif
	if (!e || !e->transferring)
		return NULL;
	if (!ib_id_equal(origin, &e->offers[e->chosen].holder) &&
	    !IB_FAULT(n, transfer_from_any_holder) && !fault_skipped_holder(e, origin))
		return NULL;
	return e;
}

void elect_transfer_received(struct ib_node *n, const struct ib_frame *f,
			     const struct ib_msg *m)
{
	struct election *e = transfer_election(n, &f->origin, m->u.transfer.query_id);
	const struct offer *o;
	struct ib_msg pub;
	int err;

	if (!e) {
		node_count(n, IB_CNT_LATE_TRANSFER); /* the selected holder is still awaited */
		return;
	}
	o = &e->offers[e->chosen];
	if (m->u.transfer.frame.len == 0) {
		holder_failed(e);
		return;
	}
	/* [ELECT-5] the writer's own frame, checked as if it came from the writer, for this
	 * key, and not older than what was offered. [ELECT-15] Its seq is not looked up in, nor
	 * recorded in, the writer's anti-replay window: the writer's own flood of that frame
	 * may still come. */
	err = ib_transfer_check(m->u.transfer.frame, n->kr, key_of(e), &pub);
	if (!err) {
		struct ib_frame inner;

		/* The writer is the embedded frame's origin (already checked to parse). */
		ib_frame_parse(&inner, m->u.transfer.frame.ptr, m->u.transfer.frame.len,
			       IB_MAX_MESSAGE_LIMIT);
		int c = offer_compare(pub.u.publish.version, &inner.origin, o->version, &o->writer);

		/* FAULT transfer-checks-window and transfer-records-window, break [ELECT-15]
		 * (flood.c does what they do). */
		if (flood_fault_embedded(n, &inner.origin, pub.h.seq))
			err = IB_ERR_REPLAY;

		/* [ELECT-11] newer than offered is fine: the holder sends what it holds now.
		 * FAULT accept-stale-transfer, breaks [ELECT-5]: older than the offer is kept.
		 * FAULT transfer-must-match-offer, breaks [ELECT-11]: only the offered pair is. */
		if ((c < 0 && !IB_FAULT(n, accept_stale_transfer)) ||
		    (c > 0 && IB_FAULT(n, transfer_must_match_offer)))
			err = IB_ERR_NOT_PUBLISH;
	}
	if (err) {
		node_log_every(n, IB_LOG_WARN, IB_CNT_HOLDER_FAILED,
			       "holder %02x%02x.. sent an item that fails: %s", f->origin.b[0],
			       f->origin.b[1], ib_errname(err));
		holder_failed(e);
		return;
	}
	/* [ELECT-8] kept here, not flooded again. */
	node_store_apply(n, m->u.transfer.frame, &pub, false);
	/* FAULT fetch-answers-transfer, breaks [ELECT-10]: the answer is the transferred frame,
	 * even when the store holds a newer item that came meanwhile. */
	if (IB_FAULT(n, fetch_answers_transfer)) {
		struct ib_item sent = { .frame = m->u.transfer.frame };

		finish_with(e, IB_OK, true, &sent);
		return;
	}
	finish(e, IB_OK, true);
}

void elect_free_all(struct ib_node *n)
{
	while (n->elections) /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): finish unlinks it */
		finish(n->elections, IB_ERR_CLOSED, false);
}
