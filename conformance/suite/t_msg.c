/* t_msg.c - messages (spec sections 6 and 7): the header and body checks, replayed from the
 * golden vectors (see t_frame.c), and the seq of the IUT's own messages. */
#include "vectors.h"

#include <string.h>

static void test_vectors_header(struct cf_ctx *c) { cfv_replay(c, CFV_MSG_HEADER); }
static void test_vectors_body(struct cf_ctx *c) { cfv_replay(c, CFV_MSG_BODY); }
static void test_vectors_hop_local(struct cf_ctx *c) { cfv_replay(c, CFV_HOP_LOCAL); }
static void test_vectors_clock(struct cf_ctx *c) { cfv_replay(c, CFV_CLOCK); }

/* ---- flags and unknown types, from a tester ------------------------------------------------ */

/* Whatever the IUT sent T0 of its own beyond the link's upkeep (HELLO, PING, the map burst):
 * an answer to the unknown types would be acting on them. */
static const struct hn_got *iut_reaction(struct cf_ctx *c, const struct hn_peer *p)
{
	for (size_t i = 0; i < hn_peer_received(p); i++) {
		const struct hn_got *g = hn_peer_got(p, i);

		if (g->raw.len >= IB_FRAME_HEADER_LEN && !memcmp(g->raw.ptr, cf_iut_id(c), IB_ID_LEN) &&
		    g->type != IB_MSG_HELLO && g->type != IB_MSG_PING && g->type != IB_MSG_ANNOUNCE)
			return g;
	}
	return NULL;
}

/* [MSG-4] [MSG-10] Non-zero flags, and end-to-end types the IUT cannot know (0x40 to
 * everyone, 0x7f to a node it has no route to): forwarded byte for byte, never answered. */
static void test_flags_and_unknown_types(struct cf_ctx *c)
{
	static const uint8_t opaque[] = "opaque body of a later version";
	struct hn_peer *t0, *t1;
	struct cfv_signer s;
	struct ib_buf flagged = { 0 }, unknown = { 0 }, directed = { 0 };
	struct ib_msg m;
	const struct hn_got *reaction;

	if (!cfv_two_children(c, &t0, &t1, &s))
		goto out;
	cf_msg_publish(&m, "flags", 1, "set");
	m.h.flags = 0x8001;
	if (!cfv_sign(c, &s, &m, &flagged))
		goto out;
	memset(&m, 0, sizeof m);
	m.h.type = 0x40;
	m.body = (struct ib_slice){ opaque, sizeof opaque - 1 };
	if (!cfv_sign(c, &s, &m, &unknown))
		goto out;
	m.h.type = 0x7f;
	m.body = (struct ib_slice){ NULL, 0 };
	m.h.dest = *ib_identity_id(cf_tester_identity(c, 5));
	if (!cfv_sign(c, &s, &m, &directed))
		goto out;
	if (hn_peer_send_raw(t0, flagged.ptr, flagged.len) != IB_OK ||
	    !cfv_wait_frame(c, t0, t1, &flagged, "MSG-4",
			    "a PUBLISH with flags 0x8001 is forwarded to T1 with its flags unchanged") ||
	    hn_peer_send_raw(t0, unknown.ptr, unknown.len) != IB_OK ||
	    !cfv_wait_frame(c, t0, t1, &unknown, "MSG-10",
			    "an end-to-end message of unknown type 0x40 is flooded byte for byte") ||
	    hn_peer_send_raw(t0, directed.ptr, directed.len) != IB_OK ||
	    !cfv_wait_frame(c, t0, t1, &directed, "MSG-10",
			    "unknown type 0x7f for a node without a route is flooded byte for byte"))
		goto out;
	reaction = iut_reaction(c, t0);
	cf_expect(c, !reaction, "MSG-10", "the IUT does not act on types it does not know",
		  "it sent T0 a %s of its own", reaction ? ib_msg_type_name(reaction->type) : "");
out:
	ib_buf_free(&flagged);
	ib_buf_free(&unknown);
	ib_buf_free(&directed);
}

/* ---- header rules on otherwise valid messages ---------------------------------------------- */

/* A valid PUBLISH of signer s as message bytes (seq taken from s). */
static bool publish_message(struct cf_ctx *c, struct cfv_signer *s, struct ib_buf *msg)
{
	struct ib_msg m;

	cf_msg_publish(&m, "header-rules", 1, "value");
	m.h.version = IB_PROTOCOL_VERSION;
	m.h.seq = cf_next_seq(c, s->tester);
	if (ib_msg_encode(msg, &m) == IB_OK)
		return true;
	cf_harness_error(c, "cannot encode a PUBLISH");
	return false;
}

/* An ERROR of T0, as message bytes, its dest then set to T1. Accepted, it would end the link
 * ([LINK-4]): that makes the drop visible, as no other hop-local type does from a child. */
static bool error_with_dest(struct cf_ctx *c, struct cfv_signer *s, struct ib_buf *msg)
{
	static const uint8_t reason[] = "dest set: drop me";
	struct ib_msg m = { 0 };

	m.h.version = IB_PROTOCOL_VERSION;
	m.h.type = IB_MSG_ERROR;
	m.h.seq = cf_next_seq(c, s->tester);
	m.u.error.code = IB_EC_PROTOCOL_VIOLATION;
	m.u.error.reason = (struct ib_slice){ reason, sizeof reason - 1 };
	if (ib_msg_encode(msg, &m) != IB_OK) {
		cf_harness_error(c, "cannot encode an ERROR");
		return false;
	}
	memcpy(msg->ptr + 12, ib_identity_id(cf_tester_identity(c, 1)), IB_ID_LEN);
	return true;
}

/* The n-th broken header; false past the last. */
static bool header_case(int n, size_t *at, uint8_t *value, size_t *cut, const char **req,
			const char **what)
{
	static const struct {
		size_t at;
		uint8_t value;
		size_t cut;
		const char *req, *what;
	} cases[] = {
		{ 0, 2, 0, "MSG-1", "a well-formed PUBLISH with version 2" },
		{ 0, 0, 0, "MSG-1", "a well-formed PUBLISH with version 0" },
		{ 1, 0x00, 0, "MSG-3", "a PUBLISH body under reserved type 0x00" },
		{ 1, 0x80, 0, "MSG-3", "a PUBLISH body under reserved type 0x80" },
		{ 1, 0xff, 0, "MSG-3", "a PUBLISH body under reserved type 0xff" },
		{ 0, 1, 27, "MSG-2", "the first 27 bytes of a PUBLISH (shorter than its header)" },
		/* An unknown end-to-end type has no body to fail: a node that reads the 27
		 * bytes as a header padded with zeros (dest's last byte is 0 anyway) floods it. */
		{ 1, 0x40, 27, "MSG-2", "the first 27 bytes of a message of unknown end-to-end "
		  "type 0x40 (shorter than its header)" },
	};

	if (n < 0 || (size_t)n >= sizeof cases / sizeof cases[0])
		return false;
	*at = cases[n].at;
	*value = cases[n].value;
	*cut = cases[n].cut;
	*req = cases[n].req;
	*what = cases[n].what;
	return true;
}

/* [MSG-1] [MSG-2] [MSG-3] [MSG-6] The vectors' header cases have bodies that are malformed
 * too; here everything but the header rule under test is valid, so only that rule can drop
 * them. End-to-end ones are signed by T2 (whose window nothing else moves), the ERROR by T0. */
static void test_header_rules(struct cf_ctx *c)
{
	struct hn_peer *t0, *t1;
	struct cfv_signer s, s2;
	struct ib_buf msg = { 0 }, frame = { 0 };
	const char *req, *what;
	char expected[200];
	size_t at, cut;
	uint8_t value;

	if (!cfv_two_children(c, &t0, &t1, &s))
		goto out;
	cfv_signer_init(c, &s2, 2);
	for (int n = 0; header_case(n, &at, &value, &cut, &req, &what); n++) {
		ib_buf_reset(&msg);
		ib_buf_reset(&frame);
		if (!publish_message(c, &s2, &msg))
			goto out;
		msg.ptr[at] = value;
		if (cut)
			msg.len = cut;
		snprintf(expected, sizeof expected, "%s, signed by T2: dropped, not forwarded, "
			 "T0's link kept", what);
		if (ib_frame_sign(&frame, s2.id, msg.ptr, msg.len) != IB_OK) {
			cf_harness_error(c, "cannot sign");
			goto out;
		}
		if (!cfv_send_dropped(c, t0, t1, &s, &frame, req, expected))
			goto out;
	}
	ib_buf_reset(&msg);
	ib_buf_reset(&frame);
	if (!error_with_dest(c, &s, &msg) ||
	    ib_frame_sign(&frame, s.id, msg.ptr, msg.len) != IB_OK)
		goto out;
	cfv_send_dropped(c, t0, t1, &s, &frame, "MSG-6",
			 "T0's ERROR with dest set to T1: dropped, so the link stays open");
out:
	ib_buf_free(&msg);
	ib_buf_free(&frame);
}

/* ---- [MSG-12] message rules before link rules ---------------------------------------------- */

/* The n-th hop-local message of signer s that fails a message rule, as message bytes; false
 * past the last. The frame is another member's, not the link's peer's: valid, [LINK-3]
 * would close the link for it. */
static bool foreign_hop_case(struct cf_ctx *c, struct cfv_signer *s, int n, struct ib_buf *msg,
			     const char **what)
{
	static const uint8_t nonce[16] = "conform-nonce-16";
	static const uint8_t reason[] = "r";
	struct ib_msg m = { 0 };

	m.h.version = IB_PROTOCOL_VERSION;
	m.h.seq = cf_next_seq(c, s->tester);
	switch (n) {
	case 0:
		*what = "type 0x06 with dest set to T1 [MSG-6]";
		m.h.type = 0x06;
		break;
	case 1:
		*what = "type 0x06 of version 2 [MSG-1]";
		m.h.type = 0x06;
		break;
	case 2:
		*what = "PING whose nonce_length is 3 [MSG-7]";
		m.h.type = IB_MSG_PING;
		m.u.ping.nonce = (struct ib_slice){ nonce, sizeof nonce };
		break;
	case 3:
		*what = "ERROR whose reason length points past its end [MSG-7]";
		m.h.type = IB_MSG_ERROR;
		m.u.error.code = IB_EC_SHUTTING_DOWN;
		m.u.error.reason = (struct ib_slice){ reason, sizeof reason - 1 };
		break;
	default:
		return false;
	}
	if (ib_msg_encode(msg, &m) != IB_OK) {
		cf_harness_error(c, "cannot encode a hop-local message");
		return false;
	}
	if (n == 0)
		memcpy(msg->ptr + 12, cf_tester_id(c, 1), IB_ID_LEN);
	else if (n == 1)
		msg->ptr[0] = 2;
	else if (n == 2)
		msg->ptr[IB_MSG_HEADER_LEN] = 3;
	else
		msg->ptr[IB_MSG_HEADER_LEN + 2] = 200;
	return true;
}

/* [MSG-12] Hop-local messages signed by T5, a member that is not the link's peer, each failing
 * a message rule, sent by T0: dropped, and T0's link kept. A node that applied the link rule
 * [LINK-3] first would close the link with protocol_violation. */
static void test_checks_before_link_rules(struct cf_ctx *c)
{
	struct hn_peer *t0, *t1;
	struct cfv_signer s, s5;
	struct ib_buf msg = { 0 }, frame = { 0 };
	const char *what;
	char expected[200];

	if (!cfv_two_children(c, &t0, &t1, &s))
		goto out;
	cfv_signer_init(c, &s5, 5);
	for (int n = 0;; n++) {
		ib_buf_reset(&msg);
		ib_buf_reset(&frame);
		if (!foreign_hop_case(c, &s5, n, &msg, &what))
			break;
		if (ib_frame_sign(&frame, s5.id, msg.ptr, msg.len) != IB_OK) {
			cf_harness_error(c, "cannot sign");
			goto out;
		}
		snprintf(expected, sizeof expected, "a %s, signed by T5 and sent by T0: dropped, "
			 "T0's link kept (the message rules come before [LINK-3])", what);
		if (!cfv_send_dropped(c, t0, t1, &s, &frame, "MSG-12", expected))
			goto out;
	}
out:
	ib_buf_free(&msg);
	ib_buf_free(&frame);
}

/* ---- [MSG-11] directed types need a dest ------------------------------------------------- */

/* The n-th directed message with dest all zero, its body valid; false past the last. */
static bool undirected_case(struct cf_ctx *c, int n, struct ib_msg *m)
{
	static const uint8_t key[] = "conform-undirected", out[] = "pong";
	struct ib_slice k = { key, sizeof key - 1 };

	memset(m, 0, sizeof *m);
	switch (n) {
	case 0:
		m->h.type = IB_MSG_OFFER;
		m->u.offer = (struct ib_offer){ 7, k, 1, *cf_tester_id(c, 0) };
		return true;
	case 1:
		m->h.type = IB_MSG_SELECT;
		m->u.select = (struct ib_select){ 7, k, 1 };
		return true;
	case 2:
		m->h.type = IB_MSG_TRANSFER;
		m->u.transfer.query_id = 7;
		return true;
	case 3:
		m->h.type = IB_MSG_RESULT;
		m->u.result = (struct ib_result){ 7, IB_STATUS_OK, { out, sizeof out - 1 } };
		return true;
	default:
		return false;
	}
}

/* [MSG-11] OFFER, SELECT, TRANSFER and RESULT of T0 with dest all zero: dropped, not
 * forwarded to T1, and not acted on: the SELECT gets no TRANSFER (a holder answers one
 * "whether or not it knows the query", [ELECT-4]). */
static void test_directed_dest_zero(struct cf_ctx *c)
{
	struct hn_peer *t0, *t1;
	struct cfv_signer s;
	struct ib_buf frame = { 0 };
	struct ib_msg m;
	char expected[200];
	uint16_t status;

	if (!cfv_two_children(c, &t0, &t1, &s))
		goto out;
	for (int n = 0; undirected_case(c, n, &m); n++) {
		ib_buf_reset(&frame);
		snprintf(expected, sizeof expected, "T0's %s with dest all zero: dropped, not "
			 "forwarded to T1, T0's link kept", ib_msg_type_name(m.h.type));
		if (!cfv_sign(c, &s, &m, &frame) ||
		    !cfv_send_dropped(c, t0, t1, &s, &frame, "MSG-11", expected))
			goto out;
	}
	/* The RESULT comes after anything the IUT sent about the frames before the command. */
	if (cf_command(c, t0, NULL, "ib.ping", NULL, 0, &status, NULL))
		cf_expect(c, hn_peer_count(t0, IB_MSG_TRANSFER) == 0, "MSG-11",
			  "a SELECT with dest all zero is not acted on: no TRANSFER answers it",
			  "the IUT answered it with a TRANSFER");
out:
	ib_buf_free(&frame);
}

/* ---- [MSG-13] types for everyone, sent to one node ------------------------------------------ */

struct offer_wait {
	const struct hn_peer *p;
	uint64_t query_id;
};

/* Whether p received an OFFER for query_id. */
static bool got_offer(void *arg)
{
	const struct offer_wait *w = arg;

	for (size_t i = 0; i < hn_peer_received(w->p); i++) {
		struct ib_frame f;
		struct ib_msg m;

		if (hn_peer_got(w->p, i)->type == IB_MSG_OFFER &&
		    cf_got_msg((struct hn_peer *)w->p, i, &f, &m) &&
		    m.u.offer.query_id == w->query_id)
			return true;
	}
	return hn_peer_closed(w->p);
}

/* [MSG-13] T0 sends the IUT a PUBLISH, then a QUERY for its key, both directed to the IUT,
 * and an ANNOUNCE and a PARTED directed to it: none is dropped as malformed nor forwarded to
 * T1. The IUT stores the PUBLISH (ib.get answers it) and answers the QUERY with an OFFER.
 * The IUT's own PUBLISH is for everyone (dest all zero). */
static void test_undirected_types_with_dest(struct cf_ctx *c)
{
	static const char key[] = "conform-dest-publish";
	struct ib_slice k = { (const uint8_t *)key, sizeof key - 1 };
	struct offer_wait w;
	struct hn_peer *t0, *t1;
	struct cfv_signer s;
	struct ib_buf pub = { 0 }, query = { 0 }, other = { 0 }, got = { 0 }, own = { 0 };
	struct ib_frame f;
	struct ib_msg m;
	uint16_t status;

	if (!cfv_two_children(c, &t0, &t1, &s))
		goto out;
	cf_msg_publish(&m, key, 1, "for the IUT only");
	m.h.dest = *cf_iut_id(c);
	if (!cfv_sign(c, &s, &m, &pub) || hn_peer_send_raw(t0, pub.ptr, pub.len) != IB_OK)
		goto out;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_QUERY;
	m.h.dest = *cf_iut_id(c);
	w = (struct offer_wait){ t0, 0x4d53472d3133ull };
	m.u.query = (struct ib_query){ w.query_id, k };
	if (!cfv_sign(c, &s, &m, &query) || hn_peer_send_raw(t0, query.ptr, query.len) != IB_OK)
		goto out;
	cf_run_until(c, got_offer, &w, 1000);
	if (!cf_ok(c) ||
	    !cf_expect(c, got_offer(&w) && !hn_peer_closed(t0), "MSG-13", "a PUBLISH directed to "
		       "the IUT is stored, and a QUERY directed to it is answered with an OFFER",
		       "no OFFER came%s", hn_peer_closed(t0) ? "; the IUT closed T0's link" : "") ||
	    !cf_command(c, t0, NULL, "ib.get", &k, 1, &status, &got) ||
	    !cf_expect(c, status == IB_STATUS_OK &&
		       got.len == pub.len && !memcmp(got.ptr, pub.ptr, pub.len), "MSG-13",
		       "ib.get answers the PUBLISH directed to the IUT", "ib.get answered %s, %zu "
		       "bytes", ib_status_name(status), got.len) ||
	    !cf_expect(c, !cfv_got_bytes(t1, pub.ptr, pub.len) &&
		       !cfv_got_bytes(t1, query.ptr, query.len), "MSG-13",
		       "frames directed to the IUT are not forwarded", "T1 received the %s",
		       cfv_got_bytes(t1, pub.ptr, pub.len) ? "PUBLISH" : "QUERY"))
		goto out;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_ANNOUNCE;
	m.h.dest = *cf_iut_id(c);
	m.u.announce = (struct ib_announce){ { { 0 } }, IB_ROLE_SERVER,
					     { (const uint8_t *)"t0", 2 }, { NULL, 0 } };
	if (!cfv_sign(c, &s, &m, &other) ||
	    !cfv_send_dropped(c, t0, t1, &s, &other, "MSG-13", "an ANNOUNCE directed to the IUT: "
			      "not forwarded, T0's link kept"))
		goto out;
	ib_buf_reset(&other);
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PARTED;
	m.h.dest = *cf_iut_id(c);
	m.u.parted.child = *cf_tester_id(c, 6);
	if (!cfv_sign(c, &s, &m, &other) ||
	    !cfv_send_dropped(c, t0, t1, &s, &other, "MSG-13", "a PARTED directed to the IUT: "
			      "not forwarded, T0's link kept"))
		goto out;
	/* The sender's side: the IUT's own PUBLISH is for everyone. */
	if (cf_iut_publish(c, t0, "conform-dest-own", "v", &own))
		cf_expect(c, ib_frame_parse(&f, own.ptr, own.len, IB_MAX_MESSAGE_LIMIT) == IB_OK &&
			  ib_msg_decode(&m, f.msg.ptr, f.msg.len) == IB_OK &&
			  ib_id_is_zero(&m.h.dest), "MSG-13",
			  "the IUT originates PUBLISH with dest all zero",
			  "its PUBLISH frame has another dest");
out:
	ib_buf_free(&pub);
	ib_buf_free(&query);
	ib_buf_free(&other);
	ib_buf_free(&got);
	ib_buf_free(&own);
}

/* ---- [MSG-5] the IUT's own seq ------------------------------------------------------------- */

#define SEQ_CLOCK_SLACK_US (60ull * 1000000)

struct seq_run {
	uint64_t first, last;
	size_t n;
};

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* The flags and seq of every frame the IUT originated for p (hop-local ones and RESULTs), in arrival
 * order (one link: the order it sent them): strictly increasing, and microseconds near the
 * Unix time. */
static bool check_own_seqs(struct cf_ctx *c, struct hn_peer *p, struct seq_run *run,
			   const char *when)
{
	const ib_id *iut = cf_iut_id(c);
	uint64_t now = cf_unix_us(c);

	for (size_t i = 0; i < hn_peer_received(p); i++) {
		const struct hn_got *g = hn_peer_got(p, i);

		/* Only frames made now: the map burst re-sends the IUT's stored ANNOUNCE as is. */
		if (g->raw.len < IB_FRAME_HEADER_LEN || memcmp(g->raw.ptr, iut, IB_ID_LEN) ||
		    (!ib_msg_type_is_hop(g->type) && g->type != IB_MSG_RESULT))
			continue;
		if (!cf_expect(c, run->n == 0 || g->seq > run->last, "MSG-5",
			       "every message the IUT originates has a seq above all its earlier ones",
			       "%s, frame %zu (%s) has seq %llu after seq %llu", when, i,
			       ib_msg_type_name(g->type), (unsigned long long)g->seq,
			       (unsigned long long)run->last))
			return false;
		if (!cf_expect(c, g->seq + SEQ_CLOCK_SLACK_US >= now &&
			       g->seq <= now + SEQ_CLOCK_SLACK_US, "MSG-5",
			       "seq is the Unix time in microseconds at sending (within 60 s here)",
			       "%s, %s has seq %llu, the suite's clock says %llu", when,
			       ib_msg_type_name(g->type), (unsigned long long)g->seq,
			       (unsigned long long)now))
			return false;
		if (!cf_expect(c, g->raw.len >= IB_FRAME_HEADER_LEN + IB_SIG_LEN + 4 &&
			       be16(g->raw.ptr + IB_FRAME_HEADER_LEN + IB_SIG_LEN + 2) == 0,
			       "MSG-4", "the IUT sends flags 0",
			       "%s, its %s has flags 0x%04x", when, ib_msg_type_name(g->type),
			       g->raw.len >= IB_FRAME_HEADER_LEN + IB_SIG_LEN + 4 ?
			       be16(g->raw.ptr + IB_FRAME_HEADER_LEN + IB_SIG_LEN + 2) : 0xffff))
			return false;
		if (!run->n++)
			run->first = g->seq;
		run->last = g->seq;
	}
	return true;
}

/* Commands make the IUT originate RESULTs; its HELLO and PINGs share the counter. */
static bool make_iut_talk(struct cf_ctx *c, struct hn_peer *p, int commands)
{
	struct ib_buf out = { 0 };
	uint16_t status;
	bool ok = true;

	for (int i = 0; ok && i < commands; i++) {
		ib_buf_reset(&out);
		ok = cf_command(c, p, NULL, "ib.ping", NULL, 0, &status, &out);
	}
	ib_buf_free(&out);
	return ok;
}

static void test_own_header(struct cf_ctx *c)
{
	struct seq_run run = { 0 };
	struct hn_peer *p;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !make_iut_talk(c, p, 6) || !check_own_seqs(c, p, &run, "on one link"))
		return;
	cf_expect(c, run.n >= 7, "MSG-5", "a HELLO and 6 RESULTs from the IUT",
		  "%zu frames of the IUT's own", run.n);
}

static void test_seq_across_restart(struct cf_ctx *c)
{
	struct seq_run before = { 0 }, after = { 0 };
	struct hn_peer *p;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !make_iut_talk(c, p, 3) || !check_own_seqs(c, p, &before, "before the restart"))
		return;
	/* A restart takes time on any real clock; the virtual one stands still until run. A node
	 * that relies on its clock (the spec allows it) needs those microseconds. */
	cf_run_for(c, 1);
	if (!cf_iut_restart(c, false) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !make_iut_talk(c, p, 3) || !check_own_seqs(c, p, &after, "after the restart"))
		return;
	cf_expect(c, before.n && after.n && after.first > before.last, "MSG-5",
		  "after a restart the IUT's first seq is above the last one before it",
		  "last seq before: %llu, first after: %llu", (unsigned long long)before.last,
		  (unsigned long long)after.first);
}

/* [MSG-14] [MSG-5] The IUT crashes (SIGKILL; self mode: freed) and comes back with its clock
 * 2 minutes earlier (cmd mode: libfaketime): its seqs must still be above those of its first
 * run, else every node that saw it drops its frames as replays. A node that trusts its clock
 * alone fails. A node whose clock did not move (statically linked: libfaketime works through
 * the dynamic linker) and that takes seq from its clock shows it: its seqs after the restart
 * step with the clock (the commands go 5 ms apart), where one held up by its floor steps by
 * one; then the test cannot judge it. (One with a floor passes whether or not its clock
 * moved, as it should.) */
#define STEP_OF_A_FLOOR 1000u
static void test_seq_after_clock_set_back(struct cf_ctx *c)
{
	struct seq_run before = { 0 };
	uint64_t first = 0, last = 0, widest = 0;
	struct hn_peer *p;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !make_iut_talk(c, p, 3) || !check_own_seqs(c, p, &before, "before the crash"))
		return;
	cf_run_for(c, 1);
	/* 2 minutes: more would make the testers' COMMANDs stale to it ([CMD-6], 300 s). */
	if (!cf_iut_crash_restart_skewed(c, -120LL * 1000000) || !(p = cf_peer(c, 0)) ||
	    !cf_link_child(c, p))
		return;
	/* 5 ms apart: a seq taken from a clock then steps by 5,000 at least. */
	for (int k = 0; k < 4; k++) {
		if (!make_iut_talk(c, p, 1))
			return;
		cf_run_for(c, 5);
	}
	/* Not check_own_seqs: the seq is meant to run ahead of this clock now. */
	for (size_t i = 0; i < hn_peer_received(p); i++) {
		const struct hn_got *g = hn_peer_got(p, i);

		if (g->raw.len < IB_FRAME_HEADER_LEN || memcmp(g->raw.ptr, cf_iut_id(c), IB_ID_LEN) ||
		    !(ib_msg_type_is_hop(g->type) || g->type == IB_MSG_RESULT))
			continue;
		if (!first)
			first = g->seq;
		else if (g->seq > last && g->seq - last > widest)
			widest = g->seq - last;
		last = g->seq;
	}
	if (!cf_expect(c, before.n && first > before.last, "MSG-14",
		       "after a crash and a restart with its clock 2 minutes back, the IUT's first "
		       "seq is above the last one before (its recorded reservation is its floor)",
		       "last seq before: %llu, first after: %llu (%s)",
		       (unsigned long long)before.last, (unsigned long long)first,
		       first ? "from the clock set back" : "no frame of its own"))
		return;
	if (widest >= STEP_OF_A_FLOOR)
		cf_not_applicable(c, "the IUT's clock did not move back: its seqs after the "
				  "restart step with a clock (%llu us at most between two), not one "
				  "by one from a floor (a statically linked IUT escapes libfaketime)",
				  (unsigned long long)widest);
}

const struct cf_test cf_tests_msg[] = {
	{ "msg.vectors-header", "MSG-1 MSG-2 MSG-3", 0, test_vectors_header,
	  "Messages of version 0 or 2, shorter than 28 bytes, or of reserved type 0x00/0x80/0xff "
	  "(vectors/frames.json, signed by a tester) are dropped, not forwarded; link kept" },
	{ "msg.vectors-body", "MSG-7 MSG-8 MSG-11", 0, test_vectors_body,
	  "End-to-end messages whose body is short, has trailing bytes, a field out of range, "
	  "a string that is not UTF-8 or holds NUL, a TRANSFER frame whose lengths do not add up, "
	  "or a directed type with dest all zero are dropped and not forwarded; link kept" },
	{ "msg.vectors-hop-local", "MSG-6 MSG-7 MSG-9", 0, test_vectors_hop_local,
	  "Hop-local vector messages from a child (signed by it, LINK-3): with dest set or a bad "
	  "body they are dropped, an unassigned type 0x06 ignored; not forwarded, link kept" },
	{ "msg.vectors-clock", "CMD-6", CF_NEEDS_CONFIG, test_vectors_clock,
	  "COMMAND 299 s old is forwarded, 301 s old or ahead is dropped; judged only when the "
	  "IUT's clock is within 0.5 s of the vectors' now (self mode), else skipped with a note" },
	{ "msg.header-rules", "MSG-1 MSG-2 MSG-3 MSG-6", 0, test_header_rules,
	  "A PUBLISH that is valid but for version 0/2, type 0x00/0x80/0xff or a 27-byte cut, and "
	  "an ERROR with dest set, are dropped (the ERROR does not end the link)" },
	{ "msg.flags-and-unknown-types", "MSG-4 MSG-10", 0, test_flags_and_unknown_types,
	  "A PUBLISH with flags 0x8001 and messages of unknown end-to-end types 0x40 and 0x7f are "
	  "forwarded byte for byte, and the IUT sends nothing back about them" },
	{ "msg.checks-before-link-rules", "MSG-12", 0, test_checks_before_link_rules,
	  "Hop-local messages (0x06 with dest set or version 2, a PING and an ERROR with bad "
	  "bodies) signed by T5 but sent by T0: dropped by the message rules, T0's link kept "
	  "(not closed for [LINK-3])" },
	{ "msg.directed-dest-zero", "MSG-11", 0, test_directed_dest_zero,
	  "OFFER, SELECT, TRANSFER and RESULT with dest all zero are dropped: not forwarded, the "
	  "link kept, and the SELECT not answered with a TRANSFER" },
	{ "msg.undirected-types-with-dest", "MSG-13", 0, test_undirected_types_with_dest,
	  "A PUBLISH, QUERY, ANNOUNCE and PARTED directed to the IUT are not dropped: it stores "
	  "the PUBLISH, answers the QUERY, forwards none; its own PUBLISH has dest all zero" },
	{ "msg.own-header", "MSG-4 MSG-5", 0, test_own_header,
	  "Every frame the IUT originates (HELLO, RESULTs) has flags 0 and a seq above the "
	  "previous one, and seq is the Unix time in microseconds" },
	{ "msg.seq-after-clock-set-back", "MSG-14 MSG-5", CF_NEEDS_RESTART | CF_NEEDS_CLOCK,
	  test_seq_after_clock_set_back,
	  "The IUT crashes and restarts with its wall clock 2 minutes back (cmd mode: libfaketime): "
	  "its first seq is still above its last one before the crash (its recorded reservation "
	  "is its floor)" },
	{ "msg.seq-across-restart", "MSG-5", CF_NEEDS_RESTART, test_seq_across_restart,
	  "After a restart the IUT's first seq is above every seq it used before" },
	{ NULL, NULL, 0, NULL, NULL }
};
