/* t_data.c - shared data (spec section 13): which PUBLISH an IUT keeps, that it keeps the
 * writer's frame byte for byte, the version it publishes with, and its store across restarts. */
#include "cf.h"

#include <string.h>

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

/* A key no earlier run stored: a node started by the user (--iut-addr) keeps its store. */
static const char *fresh_key(struct cf_ctx *c, const char *base, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s.%llx", base, (unsigned long long)cf_unix_us(c));
	return buf;
}

/* The tester whose id_bot sorts lower (*lo) and higher (*hi), among T1 and T2. */
static void order_writers(struct cf_ctx *c, const struct ib_identity **lo,
			  const struct ib_identity **hi)
{
	const struct ib_identity *a = cf_tester_identity(c, 1), *b = cf_tester_identity(c, 2);
	bool a_low = ib_id_compare(ib_identity_id(a), ib_identity_id(b)) < 0;

	*lo = a_low ? a : b;
	*hi = a_low ? b : a;
}

/* [DATA-1] [DATA-2] Each step sends one PUBLISH of one key and reads the item back: it
 * replaces the item only when (version, writer, seq) is greater. */
static void test_newer_only(struct cf_ctx *c)
{
	char keybuf[64];
	const char *key = fresh_key(c, "data.order", keybuf, sizeof keybuf);
	const struct ib_identity *lo, *hi;
	struct ib_buf kept = { 0 }, sent = { 0 };
	struct hn_peer *p;
	uint64_t base;

	order_writers(c, &lo, &hi);
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

	fresh_key(c, "data.known", known, sizeof known);
	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !cf_iut_publish(c, p, fresh_key(c, "data.fresh", fresh, sizeof fresh), "first",
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

/* [DATA-3] After a tester's version 2^64-1 there is no next version: ib.publish must not
 * publish (any status but ok), and the tester's item stays. */
static void test_publish_at_max(struct cf_ctx *c)
{
	struct ib_buf top = { 0 }, out = { 0 };
	struct hn_peer *p;
	uint16_t status = 0;
	char key[64];
	struct ib_slice args[2];

	fresh_key(c, "data.max", key, sizeof key);
	args[0] = (struct ib_slice){ (const uint8_t *)key, strlen(key) };
	args[1] = (struct ib_slice){ (const uint8_t *)"wraps", 5 };
	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !publish_as(c, p, cf_tester_identity(c, 1), key, UINT64_MAX, "top", 0, &top) ||
	    !cf_command(c, p, NULL, "ib.publish", args, 2, &status, &out))
		goto out;
	if (!cf_expect(c, status != IB_STATUS_OK, "DATA-3",
		       "no ib.publish past version 2^64-1 (any status but ok)",
		       "it answered ok with %zu bytes", out.len))
		goto out;
	holds(c, p, key, &top, "DATA-3", "the item at version 2^64-1 stays");
out:
	ib_buf_free(&top);
	ib_buf_free(&out);
}

/* [DATA-5] [DATA-6] Items survive a restart; but an item whose writer left authorized/
 * meanwhile fails the check at start and is not loaded. */
static void test_persist(struct cf_ctx *c)
{
	struct ib_buf kept = { 0 }, gone = { 0 }, out = { 0 };
	struct hn_peer *p;
	uint16_t status = 0;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !publish_as(c, p, cf_tester_identity(c, 1), "data.kept", 3, "survives", 0, &kept) ||
	    !publish_as(c, p, cf_tester_identity(c, 5), "data.gone", 3, "writer removed", 0,
			&gone) ||
	    !holds(c, p, "data.kept", &kept, "DATA-2", "the PUBLISH is stored") ||
	    !holds(c, p, "data.gone", &gone, "DATA-2", "the PUBLISH is stored"))
		goto out;
	/* T5 leaves authorized/; the restart reads the directory again. */
	if (!cf_iut_reload(c, 1u << 5, 0) || !cf_iut_restart(c, false) ||
	    !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !holds(c, p, "data.kept", &kept, "DATA-5",
		   "after a restart ib.get answers the same frame") ||
	    !get_item(c, p, "data.gone", &status, &out))
		goto out;
	cf_expect(c, status == IB_STATUS_NOT_FOUND, "DATA-6",
		  "an item whose writer is no longer in the keyring is not loaded at start",
		  "ib.get answered %s", ib_status_name(status));
out:
	ib_buf_free(&kept);
	ib_buf_free(&gone);
	ib_buf_free(&out);
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
	{ "data.publish-at-max", "DATA-3", 0, test_publish_at_max,
	  "refuse ib.publish when the key's greatest known version is 2^64-1 (no wrap to 0)" },
	{ "data.persist", "DATA-5 DATA-6", CF_NEEDS_RESTART | CF_NEEDS_RELOAD, test_persist,
	  "keep items across a restart, but at start do not load an item whose writer left "
	  "authorized/" },
	{ NULL, NULL, 0, NULL, NULL }
};
