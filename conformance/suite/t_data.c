/* t_data.c - shared data (spec section 13): which PUBLISH an IUT keeps, that it keeps the
 * writer's frame byte for byte, the version it publishes with, and its store across restarts. */
#include "cf.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DATA_MAX_VALUE 65115u   /* max_value, spec section 18 ([DATA-10]) */

/* Sends PUBLISH(key, version, value) over p, written (signed) by writer (NULL: p itself),
 * with seq as given unless it is 0; a copy of the frame in *frame. */
static bool publish_as(struct cf_ctx *c, struct hn_peer *p, const struct ib_identity *writer,
		       const char *key, uint64_t version, const char *value, uint64_t seq,
		       struct ib_buf *frame)
{
	struct ib_msg m;

	cf_msg_publish(&m, key, version, value);
	m.h.seq = seq;
	if (frame)
		ib_buf_reset(frame);
	if (hn_peer_send(p, &m, writer, NULL, seq != 0, frame) != IB_OK) {
		cf_harness_error(c, "cannot send PUBLISH");
		return false;
	}
	return true;
}

/* ib.get key: its status, and its output in *out. */
static bool get_item(struct cf_ctx *c, struct hn_peer *p, const char *key, uint16_t *status,
		     struct ib_buf *out)
{
	struct ib_slice arg = { (const uint8_t *)key, strlen(key) };

	return cf_command(c, p, NULL, "ib.get", &arg, 1, status, out);
}

static bool same_bytes(const struct ib_buf *a, const struct ib_buf *b)
{
	return a->len == b->len && (a->len == 0 || !memcmp(a->ptr, b->ptr, a->len));
}

/* The version and writer of the PUBLISH frame in buf, for messages. */
static void describe(const struct ib_buf *buf, char *out, size_t cap)
{
	struct ib_frame f;
	struct ib_msg m;
	char hex[2 * IB_ID_LEN + 1];

	if (ib_frame_parse(&f, buf->ptr, buf->len, IB_MAX_MESSAGE_LIMIT) != IB_OK ||
	    ib_msg_decode(&m, f.msg.ptr, f.msg.len) != IB_OK || m.h.type != IB_MSG_PUBLISH) {
		snprintf(out, cap, "%zu bytes that are not a PUBLISH frame", buf->len);
		return;
	}
	ib_id_to_hex(&f.origin, hex);
	snprintf(out, cap, "PUBLISH version %llu writer %.8s.. seq %llu value \"%.*s\"",
		 (unsigned long long)m.u.publish.version, hex, (unsigned long long)m.h.seq,
		 (int)(m.u.publish.value.len > 40 ? 40 : m.u.publish.value.len),
		 (const char *)m.u.publish.value.ptr);
}

/* ib.get key must answer ok with exactly the frame want. */
static bool holds(struct cf_ctx *c, struct hn_peer *p, const char *key,
		  const struct ib_buf *want, const char *req, const char *expected)
{
	struct ib_buf out = { 0 };
	uint16_t status = 0;
	char got[160], wanted[160];
	bool ok = false;

	if (!get_item(c, p, key, &status, &out))
		goto out;
	describe(&out, got, sizeof got);
	describe(want, wanted, sizeof wanted);
	ok = cf_expect(c, status == IB_STATUS_OK && same_bytes(&out, want), req, expected,
		       "ib.get answered %s: %s (wanted %s)", ib_status_name(status),
		       status == IB_STATUS_OK ? got : "-", wanted);
out:
	ib_buf_free(&out);
	return ok;
}

/* [DATA-1] [DATA-2] Each step sends one PUBLISH of one key and reads the item back: it
 * replaces the item only when (version, writer, seq) is greater. */
static void test_newer_only(struct cf_ctx *c)
{
	char keybuf[64];
	const char *key = cf_fresh_key(c, "data.order", keybuf, sizeof keybuf);
	const struct ib_identity *lo, *hi;
	struct ib_buf kept = { 0 }, sent = { 0 };
	struct hn_peer *p;
	uint64_t base;

	cf_order_testers(c, 1, 2, &lo, &hi);
	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		goto out;
	base = cf_unix_us(c);
	/* No item yet: v5 by the lower writer is applied. */
	if (!publish_as(c, p, lo, key, 5, "v5-lo", base + 10, &kept) ||
	    !holds(c, p, key, &kept, "DATA-2", "a first PUBLISH is stored"))
		goto out;
	if (!publish_as(c, p, hi, key, 4, "v4-hi", base + 20, &sent) ||
	    !holds(c, p, key, &kept, "DATA-2", "an older version (4 after 5) is not applied"))
		goto out;
	if (!publish_as(c, p, hi, key, 5, "v5-hi", base + 30, &kept) ||
	    !holds(c, p, key, &kept, "DATA-1",
		   "the same version by a greater writer id_bot is newer and replaces it"))
		goto out;
	/* A later seq from the lower writer does not beat the greater writer. */
	if (!publish_as(c, p, lo, key, 5, "v5-lo-again", base + 40, &sent) ||
	    !holds(c, p, key, &kept, "DATA-1",
		   "writer is compared before seq: (5, lower writer) stays older"))
		goto out;
	/* Same version and writer: seq decides. base + 35 is inside the anti-replay window. */
	if (!publish_as(c, p, hi, key, 5, "v5-hi-later", base + 50, &kept) ||
	    !holds(c, p, key, &kept, "DATA-1", "the same (version, writer) with a greater seq "
		   "replaces it") ||
	    !publish_as(c, p, hi, key, 5, "v5-hi-earlier", base + 35, &sent) ||
	    !holds(c, p, key, &kept, "DATA-1",
		   "the same (version, writer) with a smaller seq is older and not applied"))
		goto out;
	if (!publish_as(c, p, lo, key, 6, "v6-lo", base + 60, &kept))
		goto out;
	holds(c, p, key, &kept, "DATA-2", "a greater version replaces it whoever the writer");
out:
	ib_buf_free(&kept);
	ib_buf_free(&sent);
}

/* [DATA-4] [DATA-7] An item of a key the IUT never asked for is stored, and ib.get gives back
 * the very frame the writer signed: flags, binary value and all. */
static void test_frame_kept(struct cf_ctx *c)
{
	static const uint8_t value[] = { 0, 1, 2, 0xff, 0xfe, '\n', 0, 'z' };
	struct ib_buf sent = { 0 };
	struct hn_peer *p;
	struct ib_msg m;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		goto out;
	cf_msg_publish(&m, "data.bytes", 1, "");
	m.u.publish.value = (struct ib_slice){ value, sizeof value };
	m.h.flags = 0x8001;  /* [MSG-4] receivers ignore flags but keep them: signed */
	if (hn_peer_send(p, &m, cf_tester_identity(c, 3), NULL, false, &sent) != IB_OK) {
		cf_harness_error(c, "cannot send PUBLISH");
		goto out;
	}
	holds(c, p, "data.bytes", &sent, "DATA-4",
	      "ib.get answers the writer's PUBLISH frame byte for byte (DATA-7: stored unasked)");
out:
	ib_buf_free(&sent);
}

/* [DATA-3] ib.publish uses the greatest known version + 1: 1 for a new key, 8 after a
 * tester's version 7, 9 after its own 8. */
static void test_publish_version(struct cf_ctx *c)
{
	static const uint64_t want[3] = { 1, 8, 9 };
	char fresh[64], known[64];
	struct ib_buf frame = { 0 };
	struct hn_peer *p;
	struct ib_frame f;
	struct ib_msg m;

	cf_fresh_key(c, "data.known", known, sizeof known);
	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !cf_iut_publish(c, p, cf_fresh_key(c, "data.fresh", fresh, sizeof fresh), "first",
			    &frame))
		goto out;
	for (int step = 0; step < 3; step++) {
		bool ok = ib_frame_parse(&f, frame.ptr, frame.len, IB_MAX_MESSAGE_LIMIT) == IB_OK &&
			  ib_msg_decode(&m, f.msg.ptr, f.msg.len) == IB_OK &&
			  m.h.type == IB_MSG_PUBLISH;

		if (!cf_expect(c, ok, "DATA-4", "ib.publish answers the new PUBLISH frame",
			       "%zu bytes that are not a PUBLISH frame", frame.len) ||
		    !cf_expect(c, m.u.publish.version == want[step] &&
				      ib_id_equal(&f.origin, cf_iut_id(c)), "DATA-3",
			       "the IUT writes the greatest known version + 1",
			       "step %d: version %llu (wanted %llu)%s", step + 1,
			       (unsigned long long)m.u.publish.version,
			       (unsigned long long)want[step],
			       ib_id_equal(&f.origin, cf_iut_id(c)) ? "" : ", not signed by the IUT"))
			goto out;
		if (step == 0 && (!publish_as(c, p, cf_tester_identity(c, 1), known, 7,
					      "by T1", 0, NULL) ||
				  !cf_iut_publish(c, p, known, "mine", &frame)))
			goto out;
		if (step == 1 && !cf_iut_publish(c, p, known, "mine again", &frame))
			goto out;
	}
out:
	ib_buf_free(&frame);
}

/* How many PUBLISH frames of key, signed by the IUT, p received: of any version, or of this
 * version only. */
static size_t count_iut_publishes(struct cf_ctx *c, struct hn_peer *p, const char *key,
				  bool any_version, uint64_t version)
{
	struct ib_frame f;
	struct ib_msg m;
	size_t count = 0;

	for (size_t i = 0; i < hn_peer_received(p); i++)
		if (hn_peer_got(p, i)->type == IB_MSG_PUBLISH && cf_got_msg(p, i, &f, &m) &&
		    ib_id_equal(&f.origin, cf_iut_id(c)) &&
		    (any_version || m.u.publish.version == version) &&
		    m.u.publish.key.len == strlen(key) &&
		    !memcmp(m.u.publish.key.ptr, key, m.u.publish.key.len))
			count++;
	return count;
}

static size_t iut_publishes(struct cf_ctx *c, struct hn_peer *p, const char *key)
{
	return count_iut_publishes(c, p, key, true, 0);
}

/* [req] After ib.ping's RESULT (the sentinel of what the IUT sent before it), p has exactly
 * n PUBLISH frames of key from the IUT. */
static bool expect_publishes(struct cf_ctx *c, struct hn_peer *p, const char *key, size_t n,
			     const char *req, const char *expected)
{
	uint16_t ping = 0;

	return cf_command(c, p, NULL, "ib.ping", NULL, 0, &ping, NULL) &&
	       cf_expect(c, iut_publishes(c, p, key) == n, req, expected,
			 "the IUT sent %zu PUBLISH of the key", iut_publishes(c, p, key));
}

/* [DATA-3] [DATA-9] After a tester's version 2^64-1 there is no next version: ib.publish
 * answers `failed` (not `bad_args`: the arguments are fine), sends no PUBLISH (ib.ping's
 * RESULT, sent after, is the sentinel), and the tester's item stays. */
static void test_publish_at_max(struct cf_ctx *c)
{
	struct ib_buf top = { 0 }, out = { 0 };
	struct hn_peer *p;
	uint16_t status = 0;
	char key[64];
	struct ib_slice args[2];

	cf_fresh_key(c, "data.max", key, sizeof key);
	args[0] = (struct ib_slice){ (const uint8_t *)key, strlen(key) };
	args[1] = (struct ib_slice){ (const uint8_t *)"wraps", 5 };
	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !publish_as(c, p, cf_tester_identity(c, 1), key, UINT64_MAX, "top", 0, &top) ||
	    !cf_command(c, p, NULL, "ib.publish", args, 2, &status, &out))
		goto out;
	if (!cf_expect(c, status != IB_STATUS_OK, "DATA-3",
		       "no ib.publish past version 2^64-1 (any status but ok)",
		       "it answered ok with %zu bytes", out.len) ||
	    !cf_expect(c, status == IB_STATUS_FAILED && out.len > 0, "DATA-9",
		       "ib.publish of a key held at version 2^64-1 answers `failed`, with a "
		       "reason", "it answered %s with %zu bytes", ib_status_name(status),
		       out.len) ||
	    !expect_publishes(c, p, key, 0, "DATA-9",
			      "no PUBLISH is sent when no version is left"))
		goto out;
	holds(c, p, key, &top, "DATA-9", "the item at version 2^64-1 stays");
out:
	ib_buf_free(&top);
	ib_buf_free(&out);
}

/* Frames of p of this type, as a cf_wait condition. */
struct typed {
	struct hn_peer *p;
	uint8_t type;
};

static bool got_typed(void *arg)
{
	const struct typed *t = arg;

	return hn_peer_count(t->p, t->type) > 0 || hn_peer_closed(t->p);
}

/* The last frame of this type p received, decoded (false when none). */
static bool last_of(struct hn_peer *p, uint8_t type, struct ib_frame *f, struct ib_msg *m)
{
	for (size_t i = hn_peer_received(p); i-- > 0;)
		if (hn_peer_got(p, i)->type == type)
			return cf_got_msg(p, i, f, m);
	return false;
}

/* Waits for p's first frame of type; false (TIMEOUT, or FAIL req when the link closed)
 * if none comes. */
static bool await(struct cf_ctx *c, struct hn_peer *p, uint8_t type, const char *req,
		  const char *what)
{
	struct typed t = { p, type };

	return cf_wait(c, got_typed, &t, 5000, what) &&
	       cf_expect(c, hn_peer_count(p, type) > 0, req, what, "the link closed first");
}

/* The RESULT of cmd_id at p, as a cf_wait condition; status and output once it came. */
struct awaited_result {
	struct hn_peer *p;
	uint64_t cmd_id;
	bool found;
	uint16_t status;
	struct ib_slice output;     /* borrows p's copy */
};

static bool result_came(void *arg)
{
	struct awaited_result *r = arg;
	struct ib_frame f;
	struct ib_msg m;

	for (size_t i = 0; i < hn_peer_received(r->p); i++)
		if (hn_peer_got(r->p, i)->type == IB_MSG_RESULT && cf_got_msg(r->p, i, &f, &m) &&
		    m.u.result.cmd_id == r->cmd_id) {
			r->found = true;
			r->status = m.u.result.status;
			r->output = m.u.result.output;
			return true;
		}
	return hn_peer_closed(r->p);
}

/* [DATA-8] [ELECT-10] The IUT holds version 3 of a key. It is shown higher versions it must
 * not count: a SELECT naming 2^64-2, a TRANSFER of nobody's election carrying a valid
 * version-1000 frame, and, in an election of its own (ib.fetch, answered by hand), an OFFER
 * of version 2^64-1 whose holder then transfers nothing. ib.fetch answers the IUT's own
 * item, and ib.publish writes version 4: a node that counted the offer could not publish. */
static void test_held_version(struct cf_ctx *c)
{
	struct cf_iut_opts o = { .election_window_ms = 300 };
	struct ib_buf held = { 0 }, big = { 0 }, frame = { 0 }, args = { 0 };
	const ib_id *w2 = ib_identity_id(cf_tester_identity(c, 2));
	struct awaited_result r = { NULL, cf_rand(c), false, 0, { NULL, 0 } };
	struct ib_slice k;
	struct hn_peer *p;
	struct ib_frame f;
	struct ib_msg m;
	struct ib_slice pub[2];
	uint64_t query_id;
	uint16_t status = 0;
	char key[64];
	bool ok;

	cf_fresh_key(c, "data.held", key, sizeof key);
	k = (struct ib_slice){ (const uint8_t *)key, strlen(key) };
	pub[0] = k;
	pub[1] = (struct ib_slice){ (const uint8_t *)"mine", 4 };
	if (!cf_iut_start(c, &o) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !publish_as(c, p, cf_tester_identity(c, 1), key, 3, "held", 0, &held) ||
	    !cf_publish_frame(c, cf_tester_identity(c, 2), key, 1000, "not applied",
			      cf_next_seq(c, 2), &big))
		goto out;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_SELECT;
	m.u.select = (struct ib_select){ cf_rand(c), k, UINT64_MAX - 1 };
	if (!cf_send_to_iut(c, p, &m))
		goto out;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_TRANSFER;
	m.u.transfer = (struct ib_transfer){ cf_rand(c), { big.ptr, big.len } };
	if (!cf_send_to_iut(c, p, &m))
		goto out;
	ib_args_put(&args, k);
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_COMMAND;
	m.u.command = (struct ib_command){ r.cmd_id, { (const uint8_t *)"ib.fetch", 8 },
					   { args.ptr, args.len } };
	if (!cf_send_to_iut(c, p, &m) ||
	    !await(c, p, IB_MSG_QUERY, "ELECT-10", "ib.fetch floods QUERY") ||
	    !last_of(p, IB_MSG_QUERY, &f, &m))
		goto out;
	query_id = m.u.query.query_id;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_OFFER;
	m.u.offer = (struct ib_offer){ query_id, k, UINT64_MAX, *w2 };
	if (!cf_send_to_iut(c, p, &m) ||
	    !await(c, p, IB_MSG_SELECT, "ELECT-10",
		   "SELECT to the holder of the newer offer"))
		goto out;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_TRANSFER;
	m.u.transfer = (struct ib_transfer){ query_id, { NULL, 0 } };
	r.p = p;
	if (!cf_send_to_iut(c, p, &m) || !cf_wait(c, result_came, &r, 5000, "ib.fetch answers") ||
	    !cf_expect(c, r.found && r.status == IB_STATUS_OK && r.output.len == held.len &&
			      !memcmp(r.output.ptr, held.ptr, held.len), "ELECT-10",
		       "ib.fetch answers ok with the IUT's own version 3 (the holder failed)",
		       "it answered %s with %zu bytes", ib_status_name(r.status), r.output.len) ||
	    !cf_command(c, p, NULL, "ib.publish", pub, 2, &status, &frame))
		goto out;
	if (!cf_standard_ran(c, "ib.publish", status) ||
	    !cf_expect(c, status == IB_STATUS_OK, "DATA-8",
		       "ib.publish answers ok: the held item is at version 3, whatever was offered",
		       "it answered %s", ib_status_name(status)))
		goto out;
	ok = ib_frame_parse(&f, frame.ptr, frame.len, IB_MAX_MESSAGE_LIMIT) == IB_OK &&
	     ib_msg_decode(&m, f.msg.ptr, f.msg.len) == IB_OK && m.h.type == IB_MSG_PUBLISH;
	if (!cf_expect(c, ok && m.u.publish.version == 4, "DATA-8",
		       "ib.publish writes the held item's version + 1 (4): versions offered, "
		       "selected or in frames not applied do not count",
		       "%s %llu", ok ? "version" : "not a PUBLISH frame",
		       ok ? (unsigned long long)m.u.publish.version : 0ull))
		goto out;
	cf_expect(c, m.u.publish.key.len == pub[0].len &&
		  !memcmp(m.u.publish.key.ptr, pub[0].ptr, pub[0].len) &&
		  m.u.publish.value.len == pub[1].len &&
		  !memcmp(m.u.publish.value.ptr, pub[1].ptr, pub[1].len), "DATA-3",
		  "the PUBLISH of ib.publish carries its KEY and VALUE, byte for byte",
		  "key of %zu bytes, value of %zu bytes (%zu and %zu asked)", m.u.publish.key.len,
		  m.u.publish.value.len, pub[0].len, pub[1].len);
out:
	ib_buf_free(&held);
	ib_buf_free(&big);
	ib_buf_free(&frame);
	ib_buf_free(&args);
}

/* [DATA-10] With a 255-byte key, a value of max_value bytes is published, and every frame
 * that carries the item (PUBLISH, TRANSFER, the RESULT of ib.publish and ib.get) fits T0,
 * which announced the smallest max_message, 65,536. One byte more, asked by T3 (default
 * max_message, so that any answer reaches it), is `bad_args`, sends nothing and leaves the
 * item. A node that took its own max_message as the bound publishes it. */
static void test_max_value(struct cf_ctx *c)
{
	struct ib_buf value = { 0 }, first = { 0 }, out = { 0 };
	char key[IB_MAX_STRING + 1];
	struct ib_slice args[2];
	struct hn_peer *p, *q;
	struct ib_frame f;
	struct ib_msg m;
	uint16_t status = 0;
	size_t n;

	n = strlen(cf_fresh_key(c, "data.max-value", key, sizeof key));
	memset(key + n, 'k', IB_MAX_STRING - n);
	key[IB_MAX_STRING] = 0;
	if (!(p = cf_peer(c, 0)))
		goto out;
	hn_peer_set_max_message(p, IB_MAX_MESSAGE_MIN);
	if (!cf_iut_start(c, NULL) || !cf_link_child(c, p) || !(q = cf_peer(c, 3)) ||
	    !cf_link_child(c, q))
		goto out;
	for (size_t i = 0; i < DATA_MAX_VALUE + 1; i++)
		ib_buf_put(&value, "v", 1);
	args[0] = (struct ib_slice){ (const uint8_t *)key, IB_MAX_STRING };
	args[1] = (struct ib_slice){ value.ptr, DATA_MAX_VALUE };
	if (!cf_command(c, p, NULL, "ib.publish", args, 2, &status, &first))
		goto out;
	if (!cf_standard_ran(c, "ib.publish", status) ||
	    !cf_expect(c, status == IB_STATUS_OK, "DATA-10",
		       "ib.publish of a value of max_value (65,115) bytes, 255-byte key: ok, its "
		       "RESULT fitting max_message 65,536", "it answered %s", ib_status_name(status)) ||
	    !holds(c, p, key, &first, "DATA-10",
		   "ib.get answers the item within max_message 65,536"))
		goto out;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_SELECT;
	m.u.select = (struct ib_select){ cf_rand(c), args[0], 1 };
	if (!cf_send_to_iut(c, p, &m) ||
	    !await(c, p, IB_MSG_TRANSFER, "DATA-10", "TRANSFER answers SELECT") ||
	    !last_of(p, IB_MSG_TRANSFER, &f, &m) ||
	    !cf_expect(c, m.u.transfer.frame.len == first.len &&
			      !memcmp(m.u.transfer.frame.ptr, first.ptr, first.len), "DATA-10",
		       "the TRANSFER of the item fits max_message 65,536",
		       "it carried %zu bytes", m.u.transfer.frame.len))
		goto out;
	args[1] = (struct ib_slice){ value.ptr, DATA_MAX_VALUE + 1 };
	if (!cf_command(c, q, NULL, "ib.publish", args, 2, &status, &out) ||
	    !cf_expect(c, status == IB_STATUS_BAD_ARGS, "DATA-10",
		       "ib.publish of a value one byte above max_value answers `bad_args`",
		       "it answered %s", ib_status_name(status)) ||
	    !expect_publishes(c, q, key, 1, "DATA-10",
			      "one PUBLISH, of the first value: nothing is sent for the longer "
			      "one"))
		goto out;
	holds(c, p, key, &first, "DATA-10", "the item stays the max_value one");
out:
	ib_buf_free(&value);
	ib_buf_free(&first);
	ib_buf_free(&out);
}

/* [DATA-11] A tester's PUBLISH with a value one byte above max_value is applied (ib.get
 * answers it) and forwarded to the other child, like any other. */
static void test_long_value_kept(struct cf_ctx *c)
{
	struct ib_buf value = { 0 }, sent = { 0 };
	struct hn_peer *p, *other;
	struct ib_msg m;
	char key[64];

	cf_fresh_key(c, "data.long", key, sizeof key);
	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !(other = cf_peer(c, 2)) || !cf_link_child(c, other))
		goto out;
	for (size_t i = 0; i < DATA_MAX_VALUE + 1; i++)
		ib_buf_put(&value, "w", 1);
	cf_msg_publish(&m, key, 1, "");
	m.u.publish.value = (struct ib_slice){ value.ptr, value.len };
	if (hn_peer_send(p, &m, cf_tester_identity(c, 1), NULL, false, &sent) != IB_OK) {
		cf_harness_error(c, "cannot send PUBLISH");
		goto out;
	}
	if (!holds(c, p, key, &sent, "DATA-11",
		   "a PUBLISH whose value is above max_value is applied like any other") ||
	    !await(c, other, IB_MSG_PUBLISH, "DATA-11",
		   "the PUBLISH is forwarded to the other child"))
		goto out;
	cf_expect(c, cf_copies(other, sent.ptr, sent.len) == 1, "DATA-11",
		  "the PUBLISH is forwarded, byte for byte", "%zu copies came",
		  cf_copies(other, sent.ptr, sent.len));
out:
	ib_buf_free(&value);
	ib_buf_free(&sent);
}

/* [DATA-12] Keys that differ in ASCII case, in Unicode normalisation (U+00E9 against e and
 * U+0301), by a trailing blank, or by being a prefix, are five keys: each holds its own
 * item. A QUERY for the upper-case spelling, which nobody published, gets no OFFER; the one
 * for the exact key (the sentinel, after it) does, naming that key. */
static void test_exact_keys(struct cf_ctx *c)
{
	enum { NKEYS = 5 };
	static const char *const what[NKEYS] = { "composed", "lower case", "decomposed",
						 "prefix", "trailing blank" };
	char base[64], lower[64], upper[64], keys[NKEYS][96], nobody[96];
	struct ib_buf frames[NKEYS] = { { 0 } };
	struct hn_peer *p;
	struct ib_frame f;
	struct ib_msg m;
	uint64_t q_upper = cf_rand(c), q_exact = q_upper + 1;

	cf_fresh_key(c, "data.Key", base, sizeof base);
	for (size_t i = 0; i <= strlen(base); i++) {
		lower[i] = (char)(base[i] >= 'A' && base[i] <= 'Z' ? base[i] + 32 : base[i]);
		upper[i] = (char)(base[i] >= 'a' && base[i] <= 'z' ? base[i] - 32 : base[i]);
	}
	snprintf(keys[0], sizeof keys[0], "%s-\xc3\xa9", base);
	snprintf(keys[1], sizeof keys[1], "%s-\xc3\xa9", lower);
	snprintf(keys[2], sizeof keys[2], "%s-e\xcc\x81", base);
	snprintf(keys[3], sizeof keys[3], "%s", base);
	snprintf(keys[4], sizeof keys[4], "%s-\xc3\xa9 ", base);
	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		goto out;
	for (size_t i = 0; i < NKEYS; i++)
		if (!publish_as(c, p, cf_tester_identity(c, 1), keys[i], 1, what[i], 0, &frames[i]))
			goto out;
	for (size_t i = 0; i < NKEYS; i++) {
		char expected[96];

		snprintf(expected, sizeof expected,
			 "keys are exact bytes: the %s spelling holds its own item", what[i]);
		if (!holds(c, p, keys[i], &frames[i], "DATA-12", expected))
			goto out;
	}
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_QUERY;
	snprintf(nobody, sizeof nobody, "%s-\xc3\xa9", upper);
	m.u.query = (struct ib_query){ q_upper, { (const uint8_t *)nobody, strlen(nobody) } };
	if (hn_peer_send(p, &m, NULL, NULL, false, NULL) != IB_OK)
		goto harness;
	m.u.query = (struct ib_query){ q_exact, { (const uint8_t *)keys[0], strlen(keys[0]) } };
	if (hn_peer_send(p, &m, NULL, NULL, false, NULL) != IB_OK)
		goto harness;
	if (!await(c, p, IB_MSG_OFFER, "DATA-12",
		   "an OFFER answers the QUERY of a key the IUT holds"))
		goto out;
	for (size_t i = 0; i < hn_peer_received(p); i++) {
		if (hn_peer_got(p, i)->type != IB_MSG_OFFER || !cf_got_msg(p, i, &f, &m))
			continue;
		if (!cf_expect(c, m.u.offer.query_id == q_exact, "DATA-12",
			       "no OFFER for a key held only in another case",
			       "the IUT offered its item for the upper-case key") ||
		    !cf_expect(c, m.u.offer.key.len == strlen(keys[0]) &&
				      !memcmp(m.u.offer.key.ptr, keys[0], m.u.offer.key.len),
			       "DATA-12", "the OFFER names the queried key exactly",
			       "its key has %zu bytes", m.u.offer.key.len))
			goto out;
	}
	goto out;
harness:
	cf_harness_error(c, "cannot send QUERY");
out:
	for (size_t i = 0; i < NKEYS; i++)
		ib_buf_free(&frames[i]);
}

/* [DATA-5] [DATA-6] Items survive a restart; but an item whose writer left authorized/
 * meanwhile fails the check at start and is not loaded. T5 leaves while the IUT runs (SIGHUP:
 * its item may go at once, [MEMBER-6]); T6 leaves while the IUT is stopped, so that only the
 * check at start can keep its item out. */
static void test_persist(struct cf_ctx *c)
{
	struct ib_buf kept = { 0 }, gone = { 0 }, left = { 0 }, out = { 0 };
	struct hn_peer *p;
	uint16_t status = 0;
	char path[800];

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !publish_as(c, p, cf_tester_identity(c, 1), "data.kept", 3, "survives", 0, &kept) ||
	    !publish_as(c, p, cf_tester_identity(c, 5), "data.gone", 3, "writer removed", 0,
			&gone) ||
	    !publish_as(c, p, cf_tester_identity(c, 6), "data.left", 3, "writer left offline", 0,
			&left) ||
	    !holds(c, p, "data.kept", &kept, "DATA-2", "the PUBLISH is stored") ||
	    !holds(c, p, "data.gone", &gone, "DATA-2", "the PUBLISH is stored") ||
	    !holds(c, p, "data.left", &left, "DATA-2", "the PUBLISH is stored"))
		goto out;
	/* T5 leaves authorized/ (SIGHUP); then, the IUT stopped, T6 too; the start reads the
	 * directory again. */
	if (!cf_iut_reload(c, 1u << 5, 0) || !cf_iut_stop(c))
		goto out;
	snprintf(path, sizeof path, "%s/authorized/conform-T6.pub", cf_iut_dir(c));
	if (unlink(path) != 0) {
		cf_harness_error(c, "cannot remove %s: %s", path, strerror(errno));
		goto out;
	}
	if (!cf_iut_restart(c, false) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !holds(c, p, "data.kept", &kept, "DATA-5",
		   "after a restart ib.get answers the same frame") ||
	    !get_item(c, p, "data.gone", &status, &out) ||
	    !cf_expect(c, status == IB_STATUS_NOT_FOUND, "DATA-6",
		       "an item whose writer is no longer in the keyring is not loaded at start",
		       "ib.get answered %s", ib_status_name(status)) ||
	    !get_item(c, p, "data.left", &status, &out))
		goto out;
	cf_expect(c, status == IB_STATUS_NOT_FOUND, "DATA-6",
		  "an item whose writer left authorized/ while the IUT was stopped is not loaded "
		  "at start", "ib.get answered %s", ib_status_name(status));
out:
	ib_buf_free(&kept);
	ib_buf_free(&gone);
	ib_buf_free(&left);
	ib_buf_free(&out);
}

/* ---- DATA-5, DATA-12: many keys across a restart ------------------------------------------ */

/* Key lengths where a store may change how it names, orders or hashes keys: the shortest, the
 * lengths around 64 (the reference names a key by its hex up to 64 bytes, by its SHA-256
 * above) and 128, and the longest. */
static const size_t names_lens[] = { 1, 2, 63, 64, 65, 66, 127, 128, 129, 200, 254, 255 };
#define NAMES_LENS (sizeof names_lens / sizeof names_lens[0])
#define NAMES_EXTENDED (NAMES_LENS - 1)  /* every length but 255, one byte longer */
#define NAMES_SHORT 45                   /* short keys: the store holds 80 items */
#define NAMES_KEYS (2 * NAMES_LENS + NAMES_EXTENDED + NAMES_SHORT)

/* Key i of data.persist-keys into out (256 bytes), NUL-terminated. The keys of one length
 * share everything but their last byte ('A', 'B'); the extended keys are the 'A' key of a
 * length with one more 'A' (that key is their prefix: 64 bytes extended is 65, across the
 * reference's two kinds of names). */
static void names_key(size_t i, char out[256])
{
	static const char fill[] = "data.names.0123456789abcdefghijklmnopqrstuvwxyz";
	size_t len, tail;

	if (i >= 2 * NAMES_LENS + NAMES_EXTENDED) {
		snprintf(out, 256, "data.names.short.%02zu", i - 2 * NAMES_LENS - NAMES_EXTENDED);
		return;
	}
	if (i < 2 * NAMES_LENS) {
		len = names_lens[i / 2];
		tail = i % 2;
	} else {
		len = names_lens[i - 2 * NAMES_LENS];
		tail = 0;
	}
	for (size_t k = 0; k + 1 < len; k++)
		out[k] = fill[k % (sizeof fill - 1)];
	out[len - 1] = (char)('A' + tail);
	if (i >= 2 * NAMES_LENS)
		out[len++] = 'A';
	out[len] = '\0';
}

/* The seq and version of the PUBLISH frame in buf. */
static bool publish_fields(const struct ib_buf *buf, uint64_t *seq, uint64_t *version)
{
	struct ib_frame f;
	struct ib_msg m;

	if (ib_frame_parse(&f, buf->ptr, buf->len, IB_MAX_MESSAGE_LIMIT) != IB_OK ||
	    ib_msg_decode(&m, f.msg.ptr, f.msg.len) != IB_OK || m.h.type != IB_MSG_PUBLISH)
		return false;
	*seq = m.h.seq;
	*version = m.u.publish.version;
	return true;
}

/* [req] ib.get of each of the NAMES_KEYS keys answers frames[i], byte for byte. */
static bool holds_each_key(struct cf_ctx *c, struct hn_peer *p, const struct ib_buf *frames,
			   const char *req, const char *what)
{
	char key[256], expected[160];

	for (size_t i = 0; i < NAMES_KEYS; i++) {
		names_key(i, key);
		snprintf(expected, sizeof expected, "%s (this one: %zu bytes)", what, strlen(key));
		if (!holds(c, p, key, &frames[i], req, expected))
			return false;
	}
	return true;
}

/* [DATA-5] [DATA-12] [DATA-2] 80 keys, sent in a scrambled order: lengths 1 to 255 (around
 * 64 and 128 in particular), keys that differ only in their last byte, keys that are the
 * prefix of another. Each is read back byte for byte, then again after a restart. Then a
 * PUBLISH equal to a held item in (version, writer, seq) but of another value, which the
 * restarted IUT's anti-replay window lets through ([FLOOD-3]: it lives in memory), must
 * leave the item as it is: it is not newer. */
static void test_persist_keys(struct cf_ctx *c)
{
	struct ib_buf *frames = calloc(NAMES_KEYS, sizeof *frames);
	char key[256], value[32];
	struct ib_buf same = { 0 };
	struct hn_peer *p;
	uint64_t seq, version;
	size_t eq;

	if (!frames) {
		cf_harness_error(c, "out of memory");
		return;
	}
	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		goto out;
	for (size_t n = 0; n < NAMES_KEYS; n++) {
		size_t i = n * 37 % NAMES_KEYS;  /* 37 and NAMES_KEYS share no factor */

		names_key(i, key);
		snprintf(value, sizeof value, "item %zu", i);
		if (!publish_as(c, p, cf_tester_identity(c, 1), key, 1 + i % 3, value, 0,
				&frames[i]))
			goto out;
	}
	if (!holds_each_key(c, p, frames, "DATA-12", "each of 80 keys holds its own item") ||
	    !cf_iut_restart(c, false) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !holds_each_key(c, p, frames, "DATA-5",
			    "after a restart ib.get answers the same frame for each of 80 keys"))
		goto out;
	/* The 65-byte 'A' key: the first one named by its hash in the reference. */
	eq = 2 * 4;
	names_key(eq, key);
	if (!publish_fields(&frames[eq], &seq, &version)) {
		cf_harness_error(c, "cannot decode the PUBLISH frame the suite sent");
		goto out;
	}
	if (!publish_as(c, p, cf_tester_identity(c, 1), key, version, "the same seq again", seq,
			&same))
		goto out;
	holds(c, p, key, &frames[eq], "DATA-2", "a PUBLISH equal to the item held in (version, "
	      "writer, seq) is not newer: the item stays");
out:
	ib_buf_free(&same);
	for (size_t i = 0; i < NAMES_KEYS; i++)
		ib_buf_free(&frames[i]);
	free(frames);
}

/* Whether path is a regular file holding exactly the bytes of want. */
static bool file_holds(const char *path, const struct ib_buf *want)
{
	struct stat st;
	uint8_t *got;
	FILE *f;
	bool same;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (uintmax_t)st.st_size != want->len ||
	    !(f = fopen(path, "rb")))
		return false;
	got = malloc(want->len ? want->len : 1);
	same = got && fread(got, 1, want->len, f) == want->len &&
	       memcmp(got, want->ptr, want->len) == 0;
	free(got);
	fclose(f);
	return same;
}

/* The file of the IUT's DIR/store/ that holds exactly frame, into path; false when none does
 * (a store of another format: it is private to the implementation, section 19.1). */
static bool store_file_of(struct cf_ctx *c, const struct ib_buf *frame, char *path, size_t cap)
{
	char store[700];
	struct dirent *e;
	bool found = false;
	DIR *d;

	snprintf(store, sizeof store, "%s/store", cf_iut_dir(c));
	if (!(d = opendir(store)))
		return false;
	while (!found && (e = readdir(d))) {
		snprintf(path, cap, "%s/%s", store, e->d_name);
		found = file_holds(path, frame);
	}
	closedir(d);
	return found;
}

/* Writes frame into path, replacing what it held. */
static bool overwrite(struct cf_ctx *c, const char *path, const struct ib_buf *frame)
{
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(frame->ptr, 1, frame->len, f) == frame->len;

	if (f && fclose(f) != 0)
		ok = false;
	if (!ok)
		cf_harness_error(c, "cannot write %s: %s", path, strerror(errno));
	return ok;
}

/* [DATA-6] [DATA-5] The IUT stopped, the file that holds the frame of data.misfiled-b gets
 * the frame of data.misfiled-a instead, and the file of data.misfiled-d a valid frame of
 * data.misfiled-c, a key the IUT never saw (where the IUT keeps each frame whole in a file of
 * its own, as the reference does; NOT-APPLICABLE otherwise). Those frames do not match the
 * keys they were persisted for: the IUT must still start, keep a's item, never answer a's
 * frame for b, and load nothing for c (a check that names the mismatch but loads the frame
 * under its own key passes the first two). */
static void test_misfiled(struct cf_ctx *c)
{
	static const char key_a[] = "data.misfiled-a", key_b[] = "data.misfiled-b",
			  key_c[] = "data.misfiled-c", key_d[] = "data.misfiled-d";
	const struct ib_identity *t1 = cf_tester_identity(c, 1);
	struct ib_buf a = { 0 }, b = { 0 }, fc = { 0 }, d = { 0 }, out = { 0 };
	char path_a[1000], path_b[1000], path_d[1000];
	struct hn_peer *p;
	uint16_t status = 0;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !publish_as(c, p, t1, key_a, 1, "the item of a", 0, &a) ||
	    !publish_as(c, p, t1, key_b, 1, "the item of b", 0, &b) ||
	    !publish_as(c, p, t1, key_d, 1, "the item of d", 0, &d) ||
	    !holds(c, p, key_a, &a, "DATA-2", "the PUBLISH is stored") ||
	    !holds(c, p, key_b, &b, "DATA-2", "the PUBLISH is stored") ||
	    !holds(c, p, key_d, &d, "DATA-2", "the PUBLISH is stored") || !cf_iut_stop(c))
		goto out;
	if (!store_file_of(c, &a, path_a, sizeof path_a) ||
	    !store_file_of(c, &b, path_b, sizeof path_b) ||
	    !store_file_of(c, &d, path_d, sizeof path_d)) {
		cf_not_applicable(c, "no file of DIR/store/ holds exactly one of the frames: the "
				  "IUT's store has a format of its own");
		goto out;
	}
	if (!cf_publish_frame(c, t1, key_c, 1, "the item of c", cf_next_seq(c, 1), &fc) ||
	    !overwrite(c, path_b, &a) || !overwrite(c, path_d, &fc))
		goto out;
	if (!cf_iut_restart_accepted(c, "DATA-6", "the IUT starts on a store where the files of "
				     "two keys hold the frames of others") ||
	    !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !holds(c, p, key_a, &a, "DATA-5", "the item whose file is intact is loaded") ||
	    !get_item(c, p, key_b, &status, &out))
		goto out;
	if (!cf_expect(c, status == IB_STATUS_NOT_FOUND ||
				  (status == IB_STATUS_OK && same_bytes(&out, &b)),
		       "DATA-6", "a persisted frame of another key is not loaded as this key's "
		       "item: ib.get answers not_found (or the key's own frame)",
		       "ib.get answered %s%s", ib_status_name(status),
		       status == IB_STATUS_OK && same_bytes(&out, &a) ? " with the other key's frame"
								      : "") ||
	    !get_item(c, p, key_c, &status, &out))
		goto out;
	cf_expect(c, status == IB_STATUS_NOT_FOUND, "DATA-6",
		  "a valid frame of key c found in the file of key d is not loaded at all (its key "
		  "does not match): ib.get of c answers not_found",
		  "ib.get of c answered %s", ib_status_name(status));
out:
	ib_buf_free(&a);
	ib_buf_free(&b);
	ib_buf_free(&fc);
	ib_buf_free(&d);
	ib_buf_free(&out);
}

#define RESTART_ITEMS 300u           /* items in the store when the IUT starts again */
#define RESTART_FDS_SLACK 16            /* descriptors a restart may hold beyond the first start */

/* [DATA-18] The IUT's descriptors with T1 linked, started on an empty store and again on a
 * store of 300 items: no more than 16 apart. A node that kept a file open per item loaded
 * holds 300 more. */
/* [DATA-19] An item is on the IUT's disk before the IUT says it holds it. T1 sends a PUBLISH
 * and a QUERY of its key in one record (one read of the IUT, which may flush the items of a
 * read together); once the OFFER has come, the IUT is killed (SIGKILL; self mode: freed with
 * nothing more written) and started again, and must still hold the item. */
static void test_offer_survives_crash(struct cf_ctx *c)
{
	char keybuf[64];
	const char *key = cf_fresh_key(c, "data.durable", keybuf, sizeof keybuf);
	struct ib_buf frame = { 0 }, burst = { 0 };
	struct hn_peer *p;
	struct ib_msg m;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		goto out;
	cf_msg_publish(&m, key, 1, "on disk before it is offered");
	if (hn_peer_frame(p, &m, NULL, NULL, false, &frame) != IB_OK ||
	    ib_buf_put(&burst, frame.ptr, frame.len) != IB_OK)
		goto harness;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_QUERY;
	m.u.query = (struct ib_query){ 19, { (const uint8_t *)key, strlen(key) } };
	if (hn_peer_frame(p, &m, NULL, NULL, false, &burst) != IB_OK ||
	    hn_peer_send_raw(p, burst.ptr, burst.len) != IB_OK)
		goto harness;
	if (!await(c, p, IB_MSG_OFFER, "DATA-19",
		   "the IUT offers the item that came with the QUERY"))
		goto out;
	if (!cf_iut_crash_restart_skewed(c, 0) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		goto out;
	holds(c, p, key, &frame, "DATA-19",
	      "killed right after its OFFER, the IUT still holds the item once started again");
	goto out;
harness:
	cf_harness_error(c, "cannot send PUBLISH and QUERY");
out:
	ib_buf_free(&frame);
	ib_buf_free(&burst);
}

static void test_restart_descriptors(struct cf_ctx *c)
{
	struct ib_buf last = { 0 };
	char base[48], key[80];
	struct hn_peer *p;
	int fds_empty, fds_full;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 1)) || !cf_link_child(c, p))
		goto out;
	cf_run_for(c, 100);
	fds_empty = cf_iut_open_fds(c);
	if (fds_empty < 0) {
		cf_not_applicable(c, "the IUT's descriptors cannot be counted (/proc/PID/fd)");
		goto out;
	}
	cf_fresh_key(c, "data.restart-fds", base, sizeof base);
	cf_note(c, "T1's %u PUBLISH frames (keys %s.0 on) are not in this transcript",
		RESTART_ITEMS, base);
	hn_peer_tap_raw(p, false);
	for (unsigned i = 0; i < RESTART_ITEMS; i++) {
		snprintf(key, sizeof key, "%s.%u", base, i);
		if (!publish_as(c, p, NULL, key, 1, "x", 0, i + 1 == RESTART_ITEMS ? &last : NULL))
			goto out;
		if (i % 16 == 15)
			cf_run_for(c, 0);
	}
	hn_peer_tap_raw(p, true);
	if (!holds(c, p, key, &last, "DATA-2", "T1's last PUBLISH is stored") ||
	    !cf_iut_restart(c, false) || !(p = cf_peer(c, 1)) || !cf_link_child(c, p) ||
	    !holds(c, p, key, &last, "DATA-5", "after the restart, T1's last item is loaded"))
		goto out;
	cf_run_for(c, 100);
	fds_full = cf_iut_open_fds(c);
	/* In self mode the process also holds this test's own ends of its links. */
	cf_expect(c, fds_full >= 0 && fds_full <= fds_empty + RESTART_FDS_SLACK, "DATA-18",
		  "started on a store of 300 items, the IUT holds the descriptors it held on an "
		  "empty store, within 16 (no open file per item loaded)",
		  "it holds %d descriptors, %d on the empty store", fds_full, fds_empty);
out:
	ib_buf_free(&last);
}

#define BIG_VALUE 16000000u   /* a value near the default max_message (16,777,215) */
#define BIG_ROUNDS 20          /* 320 MB of frames in all: more than a store bound of 256 MiB */

/* [DATA-13] [DATA-2] One key, replaced 20 times by items of 16 MB each: the store holds one
 * such item at a time, so once it has kept the first, every newer one stays within its
 * bound and must replace it, however many came before (a store that counted the replaced
 * items' bytes would think itself full). NOT-APPLICABLE when the IUT's bound, or its
 * max_message, keeps out even the first. */
static void test_replace_big(struct cf_ctx *c)
{
	static const char key[] = "data.replaced-big";
	struct ib_buf frame = { 0 }, out = { 0 };
	struct cf_iut_opts o = { 0 };
	uint8_t *value = malloc(BIG_VALUE);
	struct hn_peer *p;
	uint16_t status = 0;
	struct ib_msg m;
	int bounded;

	if (!value) {
		cf_harness_error(c, "out of memory");
		return;
	}
	memset(value, 'v', BIG_VALUE);
	/* A PONG must not wait behind 16 MB frames: keep-alive is not what this test is about. */
	o.keepalive_interval_ms = 600000;
	o.keepalive_timeout_ms = 600000;
	/* [IFACE-21] with a store of 32 MiB, 3 items of 16 MB are past it. */
	bounded = cf_iut_start_with(c, &o, "max_store_mib = 32\n");
	if (bounded < 0 || !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		goto out;
	for (unsigned v = 1; v <= (bounded ? 3u : BIG_ROUNDS); v++) {
		cf_msg_publish(&m, key, v, "");
		value[0] = (uint8_t)('a' + v);
		m.u.publish.value = (struct ib_slice){ value, BIG_VALUE };
		ib_buf_reset(&frame);
		if (hn_peer_send(p, &m, cf_tester_identity(c, 1), NULL, false, &frame) != IB_OK) {
			cf_harness_error(c, "cannot send PUBLISH");
			goto out;
		}
		/* One item at a time on the link: ib.ping answers after it. */
		if (v > 1 && !cf_command(c, p, NULL, "ib.ping", NULL, 0, &status, NULL))
			goto out;
		if (v > 1)
			continue;
		if (!get_item(c, p, key, &status, &out))
			goto out;
		if (status != IB_STATUS_OK || !same_bytes(&out, &frame)) {
			cf_not_applicable(c, "the IUT did not keep one item of %u bytes (ib.get "
					  "answered %s): its store bound is smaller", BIG_VALUE,
					  ib_status_name(status));
			goto out;
		}
	}
	holds(c, p, key, &frame, "DATA-13", "a PUBLISH that replaces the only item held, by "
	      "one of the same size, is applied after any number of replacements (of 16 MB "
	      "each, past the store's bound in all)");
out:
	free(value);
	ib_buf_free(&frame);
	ib_buf_free(&out);
}

/* Writer w's PUBLISH of key, version, value[0..len), sent over p, a copy in *frame; then
 * ib.ping's answer: one item at a time on the link. */
static bool send_value(struct cf_ctx *c, struct hn_peer *p, const struct ib_identity *w,
		       const char *key, uint64_t version, const uint8_t *value, size_t len,
		       struct ib_buf *frame)
{
	uint16_t status = 0;
	struct ib_msg m;

	cf_msg_publish(&m, key, version, "");
	m.u.publish.value = (struct ib_slice){ value, len };
	ib_buf_reset(frame);
	if (hn_peer_send(p, &m, w, NULL, false, frame) != IB_OK) {
		cf_harness_error(c, "cannot send a PUBLISH of %zu value bytes", len);
		return false;
	}
	return cf_command(c, p, NULL, "ib.ping", NULL, 0, &status, NULL);
}

#define ROOM_WRITERS 4         /* per batch: 8 items, 128 MB held at once */
#define ROOM_PER_WRITER 2      /* 32 MB: within a writer's share of the reference ([DATA-17]) */
#define ROOM_WAIT_MS 5000

/* The writers of the two batches: testers T2 to T7, then the suite's reference keys R0, R1
 * (the IUT trusts both); the first of each batch also links, to witness the reload. */
static const struct ib_identity *room_writer(struct cf_ctx *c, int batch, int i)
{
	int n = batch * ROOM_WRITERS + i;

	return n < 6 ? cf_tester_identity(c, 2 + n) : cf_ref_identity(c, n - 6);
}

/* [DATA-13] [MEMBER-6] Four writers (T2 to T5) write 2 items of 16 MB each, and their keys
 * are removed (SIGHUP): their items leave the store. Four more (T6, T7, R0, R1) do the same.
 * 256 MB have come and gone, never more than 128 MB held; the store, empty again, must take
 * T1's item of 16 MB as it took the others (a store that kept counting the removed items'
 * bytes would think itself full). NOT-APPLICABLE when the IUT's bound keeps out 8 items of
 * 16 MB at once, or 2 of one writer. */
static void test_room_after_removal(struct cf_ctx *c)
{
	struct ib_buf frame = { 0 }, out = { 0 };
	struct cf_iut_opts o = { 0 };
	uint8_t *value = malloc(BIG_VALUE);
	struct hn_peer *p, *w;
	uint16_t status = 0;
	unsigned testers = 0, refs = 0;
	char key[64];

	if (!value) {
		cf_harness_error(c, "out of memory");
		return;
	}
	memset(value, 'r', BIG_VALUE);
	o.keepalive_interval_ms = 600000;  /* as data.replace-big */
	o.keepalive_timeout_ms = 600000;
	if (!cf_iut_start(c, &o) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		goto out;
	for (int batch = 0; batch < 2; batch++) {
		for (int i = 0; i < ROOM_WRITERS * ROOM_PER_WRITER; i++) {
			snprintf(key, sizeof key, "data.room.%d.%d", batch, i);
			value[0] = (uint8_t)('a' + i);
			if (!send_value(c, p, room_writer(c, batch, i / ROOM_PER_WRITER), key, 1,
					value, BIG_VALUE, &frame))
				goto out;
		}
		if (!get_item(c, p, key, &status, &out))
			goto out;
		if (status != IB_STATUS_OK || !same_bytes(&out, &frame)) {
			cf_not_applicable(c, "the IUT did not keep %d items of %u bytes at once, %d "
					  "of each writer (ib.get of the last answered %s): its store "
					  "bound is smaller", ROOM_WRITERS * ROOM_PER_WRITER, BIG_VALUE,
					  ROOM_PER_WRITER, ib_status_name(status));
			goto out;
		}
		for (int i = 0; i < ROOM_WRITERS; i++) {
			int n = batch * ROOM_WRITERS + i;

			if (n < 6)
				testers |= 1u << (2 + n);
			else
				refs |= 1u << (n - 6);
		}
		/* The first writer's own link (made now: no 16 MB frame is flooded to it), whose
		 * close with `revoked` says that the reload took effect. */
		if (!(w = cf_peer(c, 2 + batch * ROOM_WRITERS)) || !cf_link_child(c, w) ||
		    !cf_iut_reload(c, testers, refs) ||
		    !cf_wait_closed(c, w, IB_EC_REVOKED, "MEMBER-2", ROOM_WAIT_MS) ||
		    !get_item(c, p, key, &status, &out) ||
		    !cf_expect(c, status == IB_STATUS_NOT_FOUND, "MEMBER-6",
			       "once its writer's key is removed, the item is gone",
			       "ib.get answered %s", ib_status_name(status)))
			goto out;
	}
	value[0] = 'z';
	if (!send_value(c, p, cf_tester_identity(c, 1), "data.room.T1", 1, value, BIG_VALUE,
			&frame))
		goto out;
	holds(c, p, "data.room.T1", &frame, "DATA-13", "the items of removed writers leave "
	      "room: after 16 items of 16 MB came and left (8 held at most), the store takes "
	      "one more");
out:
	free(value);
	ib_buf_free(&frame);
	ib_buf_free(&out);
}

/* ---- DATA-13, DATA-14: a store that refuses ---------------------------------------------- */

/* Replaces the IUT's DIR/store by a regular file (broken) or puts it back: while it is a
 * file, nothing can be created in DIR/store/, whoever the process runs as (root too, whom
 * a read-only mode would not stop). */
static bool break_store(struct cf_ctx *c, bool broken)
{
	const char *dir = cf_iut_dir(c);
	char store[700], away[720];
	FILE *f;

	if (!dir) {
		cf_harness_error(c, "no node directory to change");
		return false;
	}
	snprintf(store, sizeof store, "%s/store", dir);
	snprintf(away, sizeof away, "%s/store.away", dir);
	if (!broken) {
		if (unlink(store) != 0 || rename(away, store) != 0)
			goto fail;
		return true;
	}
	if (rename(store, away) != 0 || !(f = fopen(store, "w")))
		goto fail;
	fputs("not a directory: writes of the store fail\n", f);
	if (fclose(f) != 0)
		goto fail;
	return true;
fail:
	cf_harness_error(c, "cannot %s %s: %s", broken ? "replace" : "restore", store,
			 strerror(errno));
	return false;
}

/* Whether frame is a PUBLISH of key signed by the IUT with this version, for messages. */
static bool iut_version(struct cf_ctx *c, const struct ib_buf *frame, uint64_t version)
{
	struct ib_frame f;
	struct ib_msg m;

	return ib_frame_parse(&f, frame->ptr, frame->len, IB_MAX_MESSAGE_LIMIT) == IB_OK &&
	       ib_msg_decode(&m, f.msg.ptr, f.msg.len) == IB_OK && m.h.type == IB_MSG_PUBLISH &&
	       ib_id_equal(&f.origin, cf_iut_id(c)) && m.u.publish.version == version;
}

static size_t iut_publishes_of(struct cf_ctx *c, struct hn_peer *p, const char *key,
			       uint64_t version)
{
	return count_iut_publishes(c, p, key, false, version);
}

/* A QUERY flooded from p, the sentinel of what p sent before it: a relay forwards it, and no
 * store is involved. */
struct sentinel {
	struct hn_peer *watcher;
	uint64_t query_id;
};

static bool sentinel_came(void *arg)
{
	const struct sentinel *st = arg;
	struct ib_frame f;
	struct ib_msg m;

	for (size_t i = 0; i < hn_peer_received(st->watcher); i++)
		if (hn_peer_got(st->watcher, i)->type == IB_MSG_QUERY &&
		    cf_got_msg(st->watcher, i, &f, &m) && m.u.query.query_id == st->query_id)
			return true;
	return hn_peer_closed(st->watcher);
}

/* [DATA-13] [DATA-14] [DATA-5] The IUT holds T1's r1 and its own o1. Its DIR/store becomes
 * a regular file, so that writes fail. T1's r2 (newer) must still be forwarded to the other
 * child; ib.publish of the IUT's key must answer `failed` and send nothing; both old items
 * stay. A restart with the store put back tells which writes really failed: one that left
 * its item on disk did not, and is not judged (NOT-APPLICABLE when neither did). */
static void test_write_fails(struct cf_ctx *c)
{
	static const char recv_key[] = "data.refused", own_key[] = "data.refused-own";
	struct ib_buf r1 = { 0 }, r2 = { 0 }, o1 = { 0 }, out = { 0 }, g1 = { 0 }, g2 = { 0 };
	struct ib_buf reason = { 0 };
	struct ib_slice args[2] = { { (const uint8_t *)own_key, sizeof own_key - 1 },
				    { (const uint8_t *)"v2", 2 } };
	struct sentinel st = { NULL, cf_rand(c) };
	struct hn_peer *p, *watcher;
	uint16_t status = 0, ping = 0, s1 = 0, s2 = 0;
	size_t sent_own;
	bool recv_failed, own_failed;
	struct ib_msg m;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !(watcher = cf_peer(c, 2)) ||
	    !cf_link_child(c, p) || !cf_link_child(c, watcher) ||
	    !publish_as(c, p, cf_tester_identity(c, 1), recv_key, 1, "v1", 0, &r1) ||
	    !holds(c, p, recv_key, &r1, "DATA-2", "T1's PUBLISH is stored") ||
	    !cf_iut_publish(c, p, own_key, "v1", &o1) || !break_store(c, true))
		goto out;
	/* The refused PUBLISH, then a QUERY after it: both must reach the watcher. */
	st.watcher = watcher;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_QUERY;
	m.u.query = (struct ib_query){ st.query_id, { (const uint8_t *)"data.sentinel", 13 } };
	if (!publish_as(c, p, cf_tester_identity(c, 1), recv_key, 2, "v2", 0, &r2) ||
	    hn_peer_send(p, &m, NULL, NULL, false, NULL) != IB_OK ||
	    !cf_wait(c, sentinel_came, &st, 5000, "the QUERY sent after the PUBLISH is flooded") ||
	    !cf_expect(c, cf_copies(watcher, r2.ptr, r2.len) == 1, "DATA-13",
		       "a PUBLISH is forwarded whether or not the store could keep it",
		       "%zu copies reached the other child", cf_copies(watcher, r2.ptr, r2.len)) ||
	    !cf_command(c, p, NULL, "ib.publish", args, 2, &status, &reason) ||
	    !cf_command(c, p, NULL, "ib.ping", NULL, 0, &ping, NULL) ||
	    !get_item(c, p, recv_key, &s1, &g1) || !get_item(c, p, own_key, &s2, &g2))
		goto out;
	sent_own = iut_publishes_of(c, p, own_key, 2) + iut_publishes_of(c, watcher, own_key, 2);
	if (!break_store(c, false) || !cf_iut_restart(c, false) || !(p = cf_peer(c, 0)) ||
	    !cf_link_child(c, p) || !get_item(c, p, recv_key, &ping, &out))
		goto out;
	if (!cf_expect(c, ping == IB_STATUS_OK && (same_bytes(&out, &r1) || same_bytes(&out, &r2)),
		       "DATA-5", "after the restart T1's item is the version 1 or 2 it sent",
		       "ib.get answered %s (%zu bytes)", ib_status_name(ping), out.len))
		goto out;
	recv_failed = same_bytes(&out, &r1);
	if (!get_item(c, p, own_key, &ping, &out) ||
	    !cf_expect(c, ping == IB_STATUS_OK && (same_bytes(&out, &o1) || iut_version(c, &out, 2)),
		       "DATA-5", "after the restart the IUT's own item is its version 1 or 2",
		       "ib.get answered %s (%zu bytes)", ib_status_name(ping), out.len))
		goto out;
	own_failed = same_bytes(&out, &o1);
	if (!recv_failed && !own_failed) {
		cf_not_applicable(c, "the IUT persisted both items while DIR/store was a regular "
				  "file: its writes did not fail (a store kept elsewhere)");
		goto out;
	}
	if (recv_failed &&
	    !cf_expect(c, s1 == IB_STATUS_OK && same_bytes(&g1, &r1), "DATA-5",
		       "a PUBLISH whose write failed leaves the old item (version 1) in force",
		       "ib.get answered %s (%zu bytes%s)", ib_status_name(s1), g1.len,
		       same_bytes(&g1, &r2) ? ", version 2, which was not persisted" : ""))
		goto out;
	if (!own_failed)
		goto out;
	if (!cf_expect(c, status == IB_STATUS_FAILED && reason.len > 0, "DATA-14",
		       "ib.publish whose item could not be persisted answers `failed`, with a "
		       "reason", "it answered %s with %zu bytes", ib_status_name(status),
		       reason.len) ||
	    !cf_expect(c, sent_own == 0, "DATA-14",
		       "ib.publish whose item could not be persisted sends nothing",
		       "%zu PUBLISH of its version 2 reached the testers", sent_own))
		goto out;
	cf_expect(c, s2 == IB_STATUS_OK && same_bytes(&g2, &o1), "DATA-14",
		  "ib.publish whose write failed leaves the item as it was (version 1)",
		  "ib.get answered %s (%zu bytes)", ib_status_name(s2), g2.len);
out:
	ib_buf_free(&r1);
	ib_buf_free(&r2);
	ib_buf_free(&o1);
	ib_buf_free(&out);
	ib_buf_free(&g1);
	ib_buf_free(&g2);
	ib_buf_free(&reason);
}

/* ---- [DATA-17] [DATA-16] a share of the store per writer ------------------------------------ */

#define SHARE_KEYS 70000u           /* at most: more than a store of 65,536 items (the reference's) */
#define SHARE_ROUND 500u            /* frames T1 sends before it waits for T2 to get them */
#define SHARE_MAX 4096u             /* the largest share of one writer ([DATA-17]) */
#define SHARE_RELOAD_MS 5000u
#define SHARE_WAIT_MS 30000u
#define SHARE_SMALL 64u            /* [IFACE-21] the share the suite sets, when the IUT takes it */
#define STORE_SMALL 1024u          /* ... and the store's bound: 16 shares */

/* p got frame among its last frames (a round's frames arrive in order, behind it). */
struct forwarded_wait {
	struct hn_peer *p;
	const struct ib_buf *frame;
	size_t seen;                /* frames already looked at */
};

static bool forwarded(void *arg)
{
	struct forwarded_wait *w = arg;
	size_t n = hn_peer_received(w->p);

	for (; w->seen < n; w->seen++) {
		const struct hn_got *g = hn_peer_got(w->p, w->seen);

		if (g->raw.len == w->frame->len && !memcmp(g->raw.ptr, w->frame->ptr, g->raw.len))
			return true;
	}
	return hn_peer_closed(w->p);
}

/* The IUT forwards each frame once it has applied it ([DATA-13]): when T2 has marker, the
 * last of a round T1 sent, the IUT has taken the whole round. *seen: T2's frames looked at. */
static bool round_taken(struct cf_ctx *c, struct hn_peer *t2, const struct ib_buf *marker,
			size_t *seen)
{
	struct forwarded_wait fw = { t2, marker, *seen };

	if (!cf_wait(c, forwarded, &fw, SHARE_WAIT_MS, "the IUT forwards T1's PUBLISH frames to T2"))
		return false;
	*seen = fw.seen;
	return true;
}

struct copy_wait {
	struct hn_peer *p;
	const struct ib_buf *frame;
};

static bool copy_came(void *arg)
{
	const struct copy_wait *w = arg;

	return hn_peer_closed(w->p) || cf_copies(w->p, w->frame->ptr, w->frame->len) > 0;
}

/* T1 publishes new keys until the IUT refuses them, or 70,000 (more than the reference's
 * store holds in all); then T2 publishes a new key, and the IUT's owner one (ib.publish). A store bounded in all but not
 * per writer is full of T1's keys by then, and refuses both: one member has filled it for
 * everybody. With a share per writer of at most 4,096 items ([DATA-17]), and the node's own
 * items outside the store's bound ([DATA-16]), both are kept. */
static void test_writer_share(struct cf_ctx *c)
{
	struct ib_buf marker = { 0 }, t2_item = { 0 }, own = { 0 };
	struct hn_peer *t1, *t2;
	char base[48], key[64], t2_key[64], own_key[64];
	struct copy_wait w;
	uint16_t status = 0;
	size_t base_got;
	unsigned sent = 0;
	bool kept_past_share = false, refused;
	struct ib_slice args[2];
	struct cf_iut_opts o = { 0 };
	unsigned share = SHARE_MAX, keys = SHARE_KEYS;
	int bounded;

	/* No PING: T1's PONG would wait behind its own frames, which take the IUT a disk write
	 * each, and [KA-4] would close its link. */
	o.keepalive_interval_ms = 600000;
	o.keepalive_timeout_ms = 600000;
	bounded = cf_iut_start_with(c, &o, "max_writer_items = 64\n");
	if (bounded < 0 || !(t1 = cf_peer(c, 1)) || !cf_link_child(c, t1) ||
	    !(t2 = cf_peer(c, 2)) || !cf_link_child(c, t2))
		goto out;
	if (bounded) {
		share = SHARE_SMALL;
		keys = SHARE_SMALL + 1;
	}
	cf_fresh_key(c, "data.share", base, sizeof base);
	cf_note(c, "T1's PUBLISH frames (keys %s.0 on) are not in this transcript", base);
	hn_peer_tap_raw(t1, false);
	/* In rounds, each sent once T2 has the one before, so that each wait is short. After
	 * each round, ib.get of its last key: once the IUT refuses T1's keys (a bound, its own or T1's share), more
	 * would prove nothing. */
	base_got = hn_peer_received(t2);
	for (unsigned i = 0; i < keys; i++) {
		bool last = !((i + 1) % SHARE_ROUND && i + 1 != share && i + 1 != share + 1 &&
			      i + 1 < keys);

		snprintf(key, sizeof key, "%s.%u", base, i);
		if (!publish_as(c, t1, NULL, key, 1, "x", 0, last ? &marker : NULL))
			goto out;
		if (!last)
			continue;
		if (!round_taken(c, t2, &marker, &base_got) ||
		    !get_item(c, t2, key, &status, NULL) || !cf_standard_ran(c, "ib.get", status))
			goto out;
		sent = i + 1;
		if (status == IB_STATUS_NOT_FOUND)
			break;
		kept_past_share = kept_past_share || sent == share + 1;
	}
	refused = status == IB_STATUS_NOT_FOUND;
	cf_note(c, "T1 sent %u keys; the IUT %s the last", sent, refused ? "refused" : "kept");
	if (bounded && !cf_expect(c, refused && sent == share + 1, "IFACE-21",
				  "with max_writer_items = 64, a writer's 64th new key is kept and its "
				  "65th refused", "it %s T1's %uth key", refused ? "refused" : "kept",
				  sent))
		goto out;
	/* A store that refuses T1's keys is bounded: then T1's share is 4,096 items at most. */
	if (!cf_expect(c, !refused || !kept_past_share, "DATA-17",
		       "a store that refuses a writer's new keys keeps at most 4,096 of them",
		       "it kept T1's 4,097th key, and refused its %uth", sent))
		goto out;
	hn_peer_tap_raw(t1, true);
	snprintf(key, sizeof key, "%s.marker", base);
	if (!publish_as(c, t1, NULL, key, 1, "x", 0, &marker))
		goto out;
	w = (struct copy_wait){ t2, &marker };
	if (!cf_wait(c, copy_came, &w, SHARE_WAIT_MS, "the IUT takes T1's PUBLISH frames and "
		     "forwards the last to T2"))
		goto out;
	snprintf(t2_key, sizeof t2_key, "%s.t2", base);
	if (!publish_as(c, t2, NULL, t2_key, 1, "t2", 0, &t2_item) ||
	    !holds(c, t2, t2_key, &t2_item, "DATA-17",
		   "after one member published new keys until the IUT refused them (or 70,000), "
		   "another member's new key is still kept: a writer holds 4,096 items at most"))
		goto out;
	snprintf(own_key, sizeof own_key, "%s.own", base);
	args[0] = (struct ib_slice){ (const uint8_t *)own_key, strlen(own_key) };
	args[1] = (struct ib_slice){ (const uint8_t *)"own", 3 };
	if (!cf_command(c, t2, NULL, "ib.publish", args, 2, &status, &own) ||
	    !cf_standard_ran(c, "ib.publish", status))
		goto out;
	cf_expect(c, status == IB_STATUS_OK, "DATA-16",
		  "after one member published new keys until the IUT refused them (or 70,000), "
		  "ib.publish of a new key answers ok: other writers' items never keep the node's "
		  "own out",
		  "it answered %s: %.*s", ib_status_name(status), (int)(own.len > 200 ? 200 : own.len),
		  (const char *)own.ptr);
	if (!cf_ok(c) || !refused)
		goto out;
	/* [DATA-17] [MEMBER-6] T1's key is removed, then authorized again: its items went with
	 * it, and so did its share, so T1's next new key is kept. */
	if (!cf_iut_reload(c, 1u << 1, 0) ||
	    !cf_wait_closed(c, t1, IB_EC_REVOKED, "MEMBER-2", SHARE_RELOAD_MS) ||
	    !cf_iut_reload(c, 0, 0) || !(t1 = cf_peer(c, 1)) || !cf_link_child(c, t1))
		goto out;
	snprintf(key, sizeof key, "%s.again", base);
	w = (struct copy_wait){ t2, &marker };
	if (publish_as(c, t1, NULL, key, 1, "again", 0, &marker) &&
	    cf_wait(c, copy_came, &w, SHARE_WAIT_MS, "the IUT forwards T1's next PUBLISH to T2"))
		holds(c, t2, key, &marker, "DATA-17",
		      "once a writer's key is removed and authorized again, the items it held no "
		      "longer count toward its share: its next new key is kept");
out:
	ib_buf_free(&marker);
	ib_buf_free(&t2_item);
	ib_buf_free(&own);
}


/* ---- [DATA-16] [DATA-13] a store full of other writers' items ------------------------------ */

#define FULL_WRITERS 17u            /* W0..W16: 15 x 4,096 + 4,095 + 1 = 65,536 items */

/* How many new keys writer w of the full-store test sends, for writers' shares of share. */
static unsigned full_keys_of(unsigned w, unsigned share)
{
	return w < 15 ? share : w == 15 ? share - 1 : 1;
}

/* T1 sends writer's keys base.0 .. base.<count-1>, version 1, in rounds; true once the IUT
 * has taken them all. */
static bool publish_keys(struct cf_ctx *c, struct hn_peer *t1, struct hn_peer *t2,
			 const struct ib_identity *writer, const char *base, unsigned count,
			 size_t *seen)
{
	struct ib_buf marker = { 0 };
	char key[96];
	bool ok = true;

	for (unsigned i = 0; ok && i < count; i++) {
		bool last = (i + 1) % SHARE_ROUND == 0 || i + 1 == count;

		snprintf(key, sizeof key, "%s.%u", base, i);
		ok = publish_as(c, t1, writer, key, 1, "x", 0, last ? &marker : NULL) &&
		     (!last || round_taken(c, t2, &marker, seen));
	}
	ib_buf_free(&marker);
	return ok;
}

/* The IUT holds one item of its own, then 17 other writers send 65,536 new keys: the
 * reference's store is then exactly full of others' items (65,536), each writer within its
 * share ([DATA-17]). W16 replaces W0's first key: the count does not grow, so the item is
 * applied ([DATA-13]). Then ib.publish of a new key of the IUT's own answers ok: its items do
 * not count toward the store's bound ([DATA-16]). A store whose bound is larger passes by
 * having room; what the IUT refused is noted. */
static void test_full_store(struct cf_ctx *c)
{
	struct ib_identity *w[FULL_WRITERS] = { 0 };
	struct ib_buf replaced = { 0 }, own = { 0 }, out = { 0 };
	struct cf_iut_opts o = { 0 };
	struct hn_peer *t1, *t2;
	char base[48], wbase[64], key[80];
	struct ib_slice args[2];
	uint16_t status = 0;
	unsigned share = SHARE_MAX;
	int bounded = -1;
	size_t seen;

	o.keepalive_interval_ms = 600000;   /* as in data.writer-share: no PING behind frames */
	o.keepalive_timeout_ms = 600000;
	for (unsigned i = 0; i < FULL_WRITERS; i++) {
		uint64_t secret[4] = { cf_rand(c), cf_rand(c), cf_rand(c), cf_rand(c) };

		if (ib_identity_from_secret(&w[i], (const uint8_t *)secret) != IB_OK) {
			cf_harness_error(c, "cannot make writer W%u", i);
			goto out;
		}
		o.extra_keys[o.nextra_keys++] = ib_identity_pubkey(w[i]);
	}
	cf_fresh_key(c, "data.full", base, sizeof base);
	snprintf(key, sizeof key, "%s.own.0", base);
	args[0] = (struct ib_slice){ (const uint8_t *)key, strlen(key) };
	args[1] = (struct ib_slice){ (const uint8_t *)"own", 3 };
	bounded = cf_iut_start_with(c, &o, "max_store_items = 1024\nmax_writer_items = 64\n");
	if (bounded > 0)
		share = SHARE_SMALL;
	if (bounded < 0 || !(t1 = cf_peer(c, 1)) || !cf_link_child(c, t1) ||
	    !(t2 = cf_peer(c, 2)) || !cf_link_child(c, t2) ||
	    !cf_command(c, t2, NULL, "ib.publish", args, 2, &status, &out) ||
	    !cf_standard_ran(c, "ib.publish", status) ||
	    !cf_expect(c, status == IB_STATUS_OK, "DATA-14", "ib.publish of a first own key "
		       "answers ok", "it answered %s", ib_status_name(status)))
		goto out;
	cf_note(c, "writers W0..W16's PUBLISH frames (keys %s.W<i>.<n>) are not in this "
		"transcript", base);
	hn_peer_tap_raw(t1, false);
	hn_peer_tap_raw(t2, false);
	seen = hn_peer_received(t2);
	for (unsigned i = 0; i < FULL_WRITERS; i++) {
		snprintf(wbase, sizeof wbase, "%s.W%u", base, i);
		if (!publish_keys(c, t1, t2, w[i], wbase, full_keys_of(i, share), &seen))
			goto out;
	}
	hn_peer_tap_raw(t1, true);
	hn_peer_tap_raw(t2, true);
	snprintf(key, sizeof key, "%s.W16.0", base);
	if (!get_item(c, t2, key, &status, NULL))
		goto out;
	cf_note(c, "after %u new keys of 17 writers, the IUT %s the last (W16's)", 16 * share,
		status == IB_STATUS_OK ? "holds" : "does not hold");
	if (bounded > 0 && !cf_expect(c, status == IB_STATUS_OK, "IFACE-21", "with "
				      "max_store_items = 1024, the store keeps 1,024 items of 17 "
				      "other writers (each within its share of 64)", "it answered "
				      "%s for the 1,024th (W16's)", ib_status_name(status)))
		goto out;
	if (bounded > 0) {
		/* One more new key of W16's is past the store's bound ([DATA-13]). */
		struct ib_buf past = { 0 };
		bool ok;

		snprintf(key, sizeof key, "%s.W16.1", base);
		ok = publish_as(c, t1, w[16], key, 1, "past", 0, &past);
		if (ok) {
			struct copy_wait pw = { t2, &past };

			ok = cf_wait(c, copy_came, &pw, SHARE_WAIT_MS, "the IUT forwards W16's "
				     "PUBLISH past the bound to T2 ([DATA-13])") &&
			     get_item(c, t2, key, &status, NULL) &&
			     cf_expect(c, status == IB_STATUS_NOT_FOUND, "IFACE-21", "with "
				       "max_store_items = 1024, the 1,025th item of other writers "
				       "is refused", "ib.get of it answered %s",
				       ib_status_name(status));
		}
		ib_buf_free(&past);
		if (!ok)
			goto out;
	}
	/* W16 (one item at most) replaces W0's first key with version 2. */
	snprintf(key, sizeof key, "%s.W0.0", base);
	if (!publish_as(c, t1, w[16], key, 2, "replaced", 0, &replaced))
		goto out;
	{
		struct copy_wait cw = { t2, &replaced };

		if (!cf_wait(c, copy_came, &cw, SHARE_WAIT_MS, "the IUT forwards W16's PUBLISH "
			     "to T2") ||
		    !holds(c, t2, key, &replaced, "DATA-13", "in a store full of other writers' "
			   "items, W16's version 2 of W0's key replaces it: the store does not grow"))
			goto out;
	}
	snprintf(key, sizeof key, "%s.own.1", base);
	args[0] = (struct ib_slice){ (const uint8_t *)key, strlen(key) };
	if (!cf_command(c, t2, NULL, "ib.publish", args, 2, &status, &own) ||
	    !cf_standard_ran(c, "ib.publish", status))
		goto out;
	cf_expect(c, status == IB_STATUS_OK, "DATA-16",
		  "in a store full of 17 other writers' items, ib.publish of a new key "
		  "answers ok: the node's own items do not count toward the store's bound",
		  "it answered %s: %.*s", ib_status_name(status),
		  (int)(own.len > 200 ? 200 : own.len), (const char *)own.ptr);
out:
	for (unsigned i = 0; i < FULL_WRITERS; i++)
		ib_identity_free(w[i]);
	ib_buf_free(&replaced);
	ib_buf_free(&own);
	ib_buf_free(&out);
}

/* ---- [IFACE-21] [DATA-17] [DATA-13] the bounds in bytes, to the byte ------------------------ */

#define MIB ((size_t)1 << 20)
#define BYTES_WRITERS 3u

/* As send_value, the value sized so that the frame is exactly frame_len bytes long: overhead
 * is what a frame of a key of this length takes besides its value (section 5 and 7.5). */
static bool send_sized(struct cf_ctx *c, struct hn_peer *p, const struct ib_identity *w,
		       const char *key, uint64_t version, const uint8_t *value, size_t frame_len,
		       size_t overhead, struct ib_buf *frame)
{
	if (!send_value(c, p, w, key, version, value, frame_len - overhead, frame))
		return false;
	if (frame->len != frame_len) {
		cf_harness_error(c, "a PUBLISH frame of %zu bytes, not %zu", frame->len, frame_len);
		return false;
	}
	return true;
}

/* Whether the IUT refused key: ib.get answers not_found. */
static bool refused_key(struct cf_ctx *c, struct hn_peer *p, const char *key, const char *req,
			const char *expected)
{
	uint16_t status = 0;

	return get_item(c, p, key, &status, NULL) &&
	       cf_expect(c, status == IB_STATUS_NOT_FOUND, req, expected, "ib.get answered %s",
			 ib_status_name(status));
}

/* With max_writer_mib = 17 and max_store_mib = 32, both bounds hold to the byte, each frame
 * counted by its length (section 5): W1's two frames total exactly 17 MiB and are kept, and
 * its next new key, one byte past, is refused; W2's frame of 15 MiB fills the store to
 * exactly 32 MiB and is kept, and W3's next new key is refused; W3's newer version of W2's
 * key, a frame of the same length, replaces it: the store does not grow ([DATA-13]). */
static void test_bytes_bound(struct cf_ctx *c)
{
	struct ib_identity *w[BYTES_WRITERS] = { 0 };
	struct ib_buf frame = { 0 };
	struct cf_iut_opts o = { 0 };
	uint8_t *value = malloc(BIG_VALUE);
	char base[48], key[4][80];
	struct hn_peer *p = NULL;
	size_t overhead;
	int bounded;

	if (!value) {
		cf_harness_error(c, "out of memory");
		return;
	}
	memset(value, 'b', BIG_VALUE);
	o.keepalive_interval_ms = 600000;   /* as data.replace-big: no PING behind 16 MB */
	o.keepalive_timeout_ms = 600000;
	for (unsigned i = 0; i < BYTES_WRITERS; i++) {
		uint64_t secret[4] = { cf_rand(c), cf_rand(c), cf_rand(c), cf_rand(c) };

		if (ib_identity_from_secret(&w[i], (const uint8_t *)secret) != IB_OK) {
			cf_harness_error(c, "cannot make writer W%u", i + 1);
			goto out;
		}
		o.extra_keys[o.nextra_keys++] = ib_identity_pubkey(w[i]);
	}
	bounded = cf_iut_start_with(c, &o, "max_writer_mib = 17\nmax_store_mib = 32\n");
	if (bounded < 0 || !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		goto out;
	if (!bounded) {
		cf_not_applicable(c, "the IUT does not take max_writer_mib and max_store_mib "
				  "([IFACE-21]): its bounds in bytes are its own");
		goto out;
	}
	/* Four keys of one length, so that every frame has the same overhead. */
	cf_fresh_key(c, "data.bytes", base, sizeof base);
	for (unsigned i = 0; i < 4; i++)
		snprintf(key[i], sizeof key[i], "%s.%c", base, 'a' + i);
	cf_note(c, "PUBLISH frames of megabytes are not in this transcript");
	hn_peer_tap_raw(p, false);
	if (!send_value(c, p, w[0], key[0], 1, value, BIG_VALUE, &frame))
		goto out;
	overhead = frame.len - BIG_VALUE;
	cf_note(c, "W1's first frame: %zu bytes (%zu besides its value)", frame.len, overhead);
	if (!holds(c, p, key[0], &frame, "IFACE-21", "with max_writer_mib = 17, W1's first "
		   "frame (16 MB) is kept") ||
	    !send_sized(c, p, w[0], key[1], 1, value, 17 * MIB - frame.len, overhead, &frame) ||
	    !holds(c, p, key[1], &frame, "IFACE-21", "with max_writer_mib = 17, W1's second "
		   "frame, which makes its frames exactly 17 MiB (17,825,792 bytes), is kept") ||
	    !send_sized(c, p, w[0], key[2], 1, value, overhead + 1, overhead, &frame) ||
	    !refused_key(c, p, key[2], "DATA-17", "with max_writer_mib = 17 and W1's frames at "
			 "17 MiB, W1's next new key is refused"))
		goto out;
	/* W1 replaces its first item twice with frames as long: it still holds 17 MiB, though it
	 * has sent 49 MB. A share that counts what was sent, not what is held, refuses the
	 * second. */
	for (uint64_t v = 2; v <= 3; v++) {
		char what[200];

		snprintf(what, sizeof what, "W1's version %llu of its first key, a frame as long as "
			 "the one it replaces, is applied: W1's share counts the frames it holds "
			 "(17 MiB), not those it sent", (unsigned long long)v);
		if (!send_value(c, p, w[0], key[0], v, value, BIG_VALUE, &frame) ||
		    !holds(c, p, key[0], &frame, "DATA-17", what))
			goto out;
	}
	/* The store: 17 MiB of W1's, 15 MiB of W2's. */
	if (!send_sized(c, p, w[1], key[3], 1, value, 15 * MIB, overhead, &frame) ||
	    !holds(c, p, key[3], &frame, "IFACE-21", "with max_store_mib = 32, W2's frame of "
		   "15 MiB, which makes the store's frames exactly 32 MiB, is kept") ||
	    !send_sized(c, p, w[2], key[2], 1, value, overhead + 1, overhead, &frame) ||
	    !refused_key(c, p, key[2], "DATA-13", "with max_store_mib = 32 and the store's "
			 "frames at 32 MiB, W3's new key is refused"))
		goto out;
	if (send_sized(c, p, w[2], key[3], 2, value, 15 * MIB, overhead, &frame))
		holds(c, p, key[3], &frame, "DATA-13", "in a store at its 32 MiB, W3's version 2 "
		      "of W2's key, a frame as long as the one it replaces, is applied");
out:
	if (p)
		hn_peer_tap_raw(p, true);
	for (unsigned i = 0; i < BYTES_WRITERS; i++)
		ib_identity_free(w[i]);
	free(value);
	ib_buf_free(&frame);
}

const struct cf_test cf_tests_data[] = {
	{ "data.newer-only", "DATA-1 DATA-2", 0, test_newer_only,
	  "replace an item only by a PUBLISH whose (version, writer id_bot, seq) is greater, "
	  "compared in that order" },
	{ "data.frame-kept", "DATA-4 DATA-7", 0, test_frame_kept,
	  "store every PUBLISH received (asked for or not) and answer ib.get with the writer's "
	  "frame byte for byte" },
	{ "data.publish-version", "DATA-3", 0, test_publish_version,
	  "ib.publish writes version = greatest version known for the key + 1 (1 for a new key)" },
	{ "data.publish-at-max", "DATA-3 DATA-9", 0, test_publish_at_max,
	  "refuse ib.publish when the key's greatest known version is 2^64-1: `failed`, nothing "
	  "sent (no wrap to 0)" },
	{ "data.held-version", "DATA-8 ELECT-10", CF_NEEDS_CONFIG, test_held_version,
	  "publish with the held item's version + 1: versions named by OFFER, SELECT or frames "
	  "not applied do not count" },
	{ "data.max-value", "DATA-10", 0, test_max_value,
	  "publish values up to max_value (65,115 bytes) so that the item fits max_message "
	  "65,536 everywhere; `bad_args` above" },
	{ "data.writer-share", "DATA-17 DATA-16 MEMBER-6 IFACE-21",
	  CF_NEEDS_CONFIG | CF_NEEDS_RELOAD, test_writer_share,
	  "one member publishes new keys until the IUT refuses them (the 65th with "
	  "max_writer_items = 64, else 70,000 at most): another member's new key, and the "
	  "node's own ib.publish, are still kept (a share per writer of at most 4,096 items, "
	  "given back when the writer's key is removed)" },
	{ "data.bytes-bound", "IFACE-21 DATA-17 DATA-13", CF_NEEDS_CONFIG, test_bytes_bound,
	  "with max_writer_mib = 17 and max_store_mib = 32, hold both bounds to the byte, each "
	  "frame counted by its length; a replacement that does not grow the store, or its "
	  "writer's share, is applied (twice: the share counts what is held, not what was sent)" },
	{ "data.full-store", "DATA-16 DATA-13 IFACE-21", CF_NEEDS_CONFIG, test_full_store,
	  "in a store full of other writers' items (17 writers, each within its share: 1,024 "
	  "items with max_store_items = 1024 and max_writer_items = 64, else 65,536 and 4,096), "
	  "refuse one more new key, apply a replacement of a held key, and take ib.publish of a "
	  "new own key" },
	{ "data.long-value-kept", "DATA-11", 0, test_long_value_kept,
	  "apply and forward a received PUBLISH whose value is above max_value" },
	{ "data.exact-keys", "DATA-12", 0, test_exact_keys,
	  "compare keys as exact bytes: case, Unicode normalisation, trailing blanks and "
	  "prefixes make different keys" },
	{ "data.persist", "DATA-5 DATA-6", CF_NEEDS_RESTART | CF_NEEDS_RELOAD, test_persist,
	  "keep items across a restart, but at start do not load an item whose writer left "
	  "authorized/" },
	{ "data.persist-keys", "DATA-5 DATA-12 DATA-2", CF_NEEDS_RESTART, test_persist_keys,
	  "keep 80 items across a restart, each under its exact key: lengths 1 to 255, keys that "
	  "differ only in their last byte or are the prefix of another; an equal item is not "
	  "newer" },
	{ "data.restart-descriptors", "DATA-18 DATA-5", CF_NEEDS_RESTART,
	  test_restart_descriptors,
	  "started again on a store of 300 items, hold as many descriptors as on an empty store "
	  "(within 16): no open file per item loaded" },
	{ "data.offer-survives-crash", "DATA-19 DATA-5", CF_NEEDS_RESTART,
	  test_offer_survives_crash,
	  "a PUBLISH and a QUERY of its key in one record: killed as soon as its OFFER has come, "
	  "the IUT still holds the item when started again (on disk before it is offered)" },
	{ "data.misfiled", "DATA-6 DATA-5", CF_NEEDS_RESTART, test_misfiled,
	  "start on a store where one key's file holds another key's frame, and another a frame "
	  "of a key never seen: keep the intact item, never answer the other key's frame, load "
	  "nothing for the unseen key" },
	{ "data.replace-big", "DATA-13 DATA-2", CF_NEEDS_CONFIG | CF_SLOW, test_replace_big,
	  "apply every replacement of a held item that stays within the store's bound, however "
	  "many bytes the replaced items added up to (20 items of 16 MB)" },
	{ "data.room-after-removal", "DATA-13 MEMBER-6",
	  CF_NEEDS_CONFIG | CF_NEEDS_RELOAD | CF_SLOW, test_room_after_removal,
	  "the items of a removed writer leave room in the store: after 256 MB came and left, "
	  "take one more item" },
	{ "data.write-fails", "DATA-13 DATA-14 DATA-5", CF_NEEDS_CONFIG | CF_NEEDS_RESTART,
	  test_write_fails,
	  "when the store cannot be written: still forward a received PUBLISH, keep the old item, "
	  "and answer ib.publish `failed` without sending" },
	{ NULL, NULL, 0, NULL, NULL }
};
