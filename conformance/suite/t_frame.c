/* t_frame.c - the frame envelope (spec section 5): frames as a byte stream, the length and
 * signature checks, the peer's max_message, and the golden vectors of vectors/frames.json
 * replayed end to end (the MSG group replays its classes through cfv_replay too). */
#include "edcraft.h"
#include "vectors.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CFV_WAIT_MS 5000u
#define CFV_MAX_KEYS 8
#define CFV_CLOCK_SLACK_US 500000ull   /* the freshness vectors have 1 s of margin */

/* ---- tester frames -------------------------------------------------------------------------- */

void cfv_signer_init(struct cf_ctx *c, struct cfv_signer *s, int tester)
{
	s->id = cf_tester_identity(c, tester);
	/* One generator with the tester peer of that identity: seqs above all it sent. */
	s->tester = tester;
}

bool cfv_sign(struct cf_ctx *c, struct cfv_signer *s, struct ib_msg *m, struct ib_buf *out)
{
	struct ib_buf msg = { 0 };
	bool ok;

	m->h.version = IB_PROTOCOL_VERSION;
	m->h.seq = cf_next_seq(c, s->tester);
	ok = ib_msg_encode(&msg, m) == IB_OK && ib_frame_sign(out, s->id, msg.ptr, msg.len) == IB_OK;
	ib_buf_free(&msg);
	if (!ok)
		cf_harness_error(c, "cannot sign a tester frame");
	return ok;
}

/* A PUBLISH of the tester: key, and a value of value_len bytes. */
static bool sign_publish(struct cf_ctx *c, struct cfv_signer *s, const char *key,
			 size_t value_len, struct ib_buf *out)
{
	struct ib_msg m;
	uint8_t *value = calloc(1, value_len + 1);
	bool ok;

	if (!value) {
		cf_harness_error(c, "out of memory");
		return false;
	}
	memset(value, 'v', value_len);
	cf_msg_publish(&m, key, 1, "");
	m.u.publish.value = (struct ib_slice){ value, value_len };
	ok = cfv_sign(c, s, &m, out);
	free(value);
	return ok;
}

bool cfv_got_bytes(const struct hn_peer *p, const uint8_t *bytes, size_t len)
{
	return cf_copies(p, bytes, len) > 0;
}

/* Whether p received a frame whose message is msg (whoever re-signed it). */
static bool got_message(const struct hn_peer *p, const uint8_t *msg, size_t len)
{
	for (size_t i = 0; i < hn_peer_received(p); i++) {
		const struct hn_got *g = hn_peer_got(p, i);

		/* Shorter than a message header, any frame could end with it. */
		if (len >= IB_MSG_HEADER_LEN && g->raw.len >= len &&
		    !memcmp(g->raw.ptr + g->raw.len - len, msg, len))
			return true;
	}
	return false;
}

struct frame_wait {
	struct hn_peer *from, *to;
	const uint8_t *bytes;
	size_t len;
};

static bool frame_arrived_or_closed(void *arg)
{
	struct frame_wait *w = arg;

	return cfv_got_bytes(w->to, w->bytes, w->len) || hn_peer_closed(w->from);
}

static const char *error_name_of(const struct hn_peer *p)
{
	const struct hn_got *err = hn_peer_last(p, IB_MSG_ERROR);

	return err ? ib_error_code_name(err->error_code) : "none";
}

bool cfv_wait_frame(struct cf_ctx *c, struct hn_peer *from, struct hn_peer *to,
		    const struct ib_buf *frame, const char *req, const char *what)
{
	struct frame_wait w = { from, to, frame->ptr, frame->len };

	cf_run_until(c, frame_arrived_or_closed, &w, CFV_WAIT_MS);
	if (!cf_ok(c))
		return false;
	if (cfv_got_bytes(to, frame->ptr, frame->len))
		return true;
	if (hn_peer_closed(from))
		return cf_expect(c, false, req, what,
				 "the IUT closed the sender's link instead (ERROR %s)",
				 error_name_of(from));
	return cf_expect(c, false, req, what, "not received within %u ms (%zu frames received)",
			 CFV_WAIT_MS, hn_peer_received(to));
}

/* ---- the vector file ------------------------------------------------------------------------ */

struct vec {
	int tc;
	char comment[160];
	char result[16];
	char reason[32];
	const char *reqs[4];        /* the vector's requirement ids (json strings, borrowed) */
	size_t nreqs;
	bool clock;                 /* ClockDependent */
	struct ib_buf frame;
	const uint8_t *msg;         /* the message, when the two lengths add up */
	size_t msg_len;
	uint64_t seq;
};

struct vecset {
	json_t *root;
	struct vec *v;
	size_t n;
	uint64_t now_us;
	uint32_t max_message;
	struct ib_pubkey *keys[CFV_MAX_KEYS];
	size_t nkeys;
};

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static bool unhex(const char *hex, struct ib_buf *out)
{
	size_t n = hex ? strlen(hex) : 1;

	if (n % 2)
		return false;
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);

		if (hi < 0 || lo < 0 || ib_buf_put_u8(out, (uint8_t)(hi << 4 | lo)) != IB_OK)
			return false;
	}
	return true;
}

static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Where the message is, when the envelope's lengths delimit the whole frame. */
static void locate_message(struct vec *v)
{
	const uint8_t *f = v->frame.ptr;
	size_t sig_len, msg_len;

	if (v->frame.len < IB_FRAME_HEADER_LEN)
		return;
	sig_len = be(f + 16, 2);
	msg_len = be(f + 18, 3);
	if (IB_FRAME_HEADER_LEN + sig_len + msg_len != v->frame.len)
		return;
	v->msg = f + IB_FRAME_HEADER_LEN + sig_len;
	v->msg_len = msg_len;
	if (msg_len >= 12)
		v->seq = be(v->msg + 4, 8);
}

static bool load_vector(json_t *jv, struct vec *v)
{
	json_t *reqs = json_object_get(jv, "requirements"), *flags = json_object_get(jv, "flags");
	json_t *item;
	size_t i;

	v->tc = (int)json_integer_value(json_object_get(jv, "tcId"));
	snprintf(v->comment, sizeof v->comment, "%s",
		 json_string_value(json_object_get(jv, "comment")) ?: "");
	snprintf(v->result, sizeof v->result, "%s",
		 json_string_value(json_object_get(jv, "result")) ?: "");
	snprintf(v->reason, sizeof v->reason, "%s",
		 json_string_value(json_object_get(jv, "reason")) ?: "");
	json_array_foreach(reqs, i, item)
		if (v->nreqs < 4 && json_string_value(item))
			v->reqs[v->nreqs++] = json_string_value(item);
	json_array_foreach(flags, i, item)
		if (json_string_value(item) && !strcmp(json_string_value(item), "ClockDependent"))
			v->clock = true;
	if (!unhex(json_string_value(json_object_get(jv, "frame_hex")), &v->frame))
		return false;
	locate_message(v);
	return true;
}

static bool load_keys(json_t *root, struct vecset *s)
{
	json_t *keys = json_object_get(root, "keys"), *k;
	const char *name;

	json_object_foreach(keys, name, k) {
		struct ib_buf raw = { 0 };
		bool ok;

		if (!json_is_true(json_object_get(k, "in_receiver_keyring")))
			continue;
		ok = s->nkeys < CFV_MAX_KEYS &&
		     unhex(json_string_value(json_object_get(k, "public_hex")), &raw) &&
		     raw.len == IB_PUBKEY_LEN &&
		     ib_pubkey_from_raw(&s->keys[s->nkeys], raw.ptr) == IB_OK;
		ib_buf_free(&raw);
		if (!ok)
			return false;
		s->nkeys++;
	}
	return s->nkeys > 0;
}

/* IB_VECTORS, else vectors/frames.json from the working directory, else from the source
 * tree the program was built in (build/bin/ -> ../../vectors). */
static json_t *open_vector_file(char *path, size_t cap)
{
	char exe[PATH_MAX];
	ssize_t n;
	json_t *root;

	if (getenv("IB_VECTORS")) {
		snprintf(path, cap, "%s", getenv("IB_VECTORS"));
		return json_load_file(path, 0, NULL);
	}
	snprintf(path, cap, "vectors/frames.json");
	if ((root = json_load_file(path, 0, NULL)))
		return root;
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	snprintf(path, cap, "%s/../../vectors/frames.json", dirname(exe));
	return json_load_file(path, 0, NULL);
}

static void vecset_free(struct vecset *s)
{
	for (size_t i = 0; i < s->n; i++)
		ib_buf_free(&s->v[i].frame);
	free(s->v);
	for (size_t i = 0; i < s->nkeys; i++)
		ib_pubkey_free(s->keys[i]);
	json_decref(s->root);
	memset(s, 0, sizeof *s);
}

static bool vecset_load(struct cf_ctx *c, struct vecset *s)
{
	char path[PATH_MAX + 32];
	json_t *vectors, *receiver, *jv;
	size_t i;

	memset(s, 0, sizeof *s);
	if (!(s->root = open_vector_file(path, sizeof path))) {
		cf_harness_error(c, "cannot read the golden vectors (%s): run from the source tree "
				 "or set IB_VECTORS=/path/to/vectors/frames.json", path);
		return false;
	}
	vectors = json_object_get(s->root, "vectors");
	receiver = json_object_get(s->root, "receiver");
	s->now_us = strtoull(json_string_value(json_object_get(receiver, "now_unix_us")) ?: "0",
			     NULL, 10);
	s->max_message = (uint32_t)json_integer_value(json_object_get(receiver, "max_message"));
	if (!json_is_array(vectors) || !s->now_us || !s->max_message || !load_keys(s->root, s) ||
	    !(s->v = calloc(json_array_size(vectors) + 1, sizeof *s->v)))
		goto bad;
	json_array_foreach(vectors, i, jv) {
		if (!load_vector(jv, &s->v[s->n++]))
			goto bad;
	}
	return true;
bad:
	cf_harness_error(c, "%s: not the interbot-frame-vectors schema this suite reads", path);
	vecset_free(s);
	return false;
}

/* ---- classes -------------------------------------------------------------------------------- */

static bool reason_is(const struct vec *v, const char *r)
{
	return !strcmp(v->reason, r);
}

static bool is_hop_local(const struct vec *v)
{
	return v->msg_len >= IB_MSG_HEADER_LEN && ib_msg_type_is_hop(v->msg[1]);
}

static bool is_header_vector(const struct vec *v)
{
	return reason_is(v, "unsupported_version") || reason_is(v, "reserved_type") ||
	       (reason_is(v, "malformed") && v->msg_len < IB_MSG_HEADER_LEN);
}

/* Hop-local vectors whose verdict can be observed on a child's link that stays open: the
 * malformed ones and the unassigned types are dropped or ignored. Valid HELLO, PATH, PING,
 * PONG and ERROR from a child end the link (LINK-6, section 8, KA-4, LINK-4): the LINK and
 * KA groups judge those. */
static bool hop_observable(const struct vec *v)
{
	uint8_t type = v->msg[1];

	if (!strcmp(v->result, "invalid"))
		return reason_is(v, "malformed");
	return !strcmp(v->result, "valid") && !ib_msg_type_is_known(type);
}

static bool in_class(const struct vec *v, enum cfv_class cls)
{
	switch (cls) {
	case CFV_VALID:
		return !strcmp(v->result, "valid") && !is_hop_local(v) && !v->clock;
	case CFV_BAD_SIGNATURE:
		return reason_is(v, "bad_signature") || reason_is(v, "unknown_origin");
	case CFV_BAD_SIG_LEN:
		return reason_is(v, "bad_signature_length");
	case CFV_TOO_BIG:
		return !strcmp(v->result, "link_error");
	case CFV_MSG_HEADER:
		return is_header_vector(v);
	case CFV_MSG_BODY:
		return reason_is(v, "malformed") && !is_header_vector(v) && !is_hop_local(v);
	case CFV_HOP_LOCAL:
		return is_hop_local(v) && !is_header_vector(v) && hop_observable(v);
	case CFV_CLOCK:
		return v->clock;
	}
	return false;
}

/* The requirement a failing vector is reported against: its own, if the test covers it. */
static const char *vector_req(const struct vec *v, const char *test_reqs)
{
	for (size_t i = 0; i < v->nreqs; i++) {
		size_t n = strlen(v->reqs[i]);

		/* Whole words only: MSG-1 is not MSG-10. */
		for (const char *w = test_reqs; *w; w += strcspn(w, " "), w += *w == ' ')
			if (strcspn(w, " ") == n && !strncmp(w, v->reqs[i], n))
				return v->reqs[i];
	}
	return NULL;
}

static int by_seq(const void *a, const void *b)
{
	const struct vec *x = *(const struct vec *const *)a, *y = *(const struct vec *const *)b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ---- replay --------------------------------------------------------------------------------- */

struct replay {
	struct cf_ctx *c;
	struct vecset set;
	enum cfv_class cls;
	const char *reqs;           /* the test's */
	const char *default_req;
	struct hn_peer *t0, *t1;
	struct cfv_signer signer;
	int next_tester;            /* for tests that spend a link per vector */
	bool resign;                /* messages in envelopes of suite keys (no config) */
	size_t judged, skipped;
};

static const char *req_of(const struct replay *r, const struct vec *v)
{
	const char *req = vector_req(v, r->reqs);

	return req ? req : r->default_req;
}

bool cfv_send_dropped(struct cf_ctx *c, struct hn_peer *t0, struct hn_peer *t1,
		      struct cfv_signer *s, const struct ib_buf *frame, const char *req,
		      const char *what)
{
	struct ib_buf sentinel = { 0 };
	bool ok = false;

	if (hn_peer_send_raw(t0, frame->ptr, frame->len) != IB_OK) {
		cf_harness_error(c, "cannot send to the IUT");
		return false;
	}
	if (!sign_publish(c, s, "sentinel", 8, &sentinel) ||
	    hn_peer_send_raw(t0, sentinel.ptr, sentinel.len) != IB_OK ||
	    !cfv_wait_frame(c, t0, t1, &sentinel, req, what))
		goto out;
	ok = cf_expect(c, !cfv_got_bytes(t1, frame->ptr, frame->len), req, what,
		       "T1 received it: the IUT forwarded it");
out:
	ib_buf_free(&sentinel);
	return ok;
}

/* A vector that must be dropped or ignored, sent as frame (its own, or its message
 * re-signed); its message must not reach T1 in any envelope either. */
static bool check_dropped(struct replay *r, const struct vec *v, const struct ib_buf *frame)
{
	char what[320];

	snprintf(what, sizeof what,
		 "tcId %d (%s): %s, not forwarded, T0's link kept; T0's next frame reaches T1",
		 v->tc, v->comment, strcmp(v->result, "valid") ? "dropped" : "ignored");
	return cfv_send_dropped(r->c, r->t0, r->t1, &r->signer, frame, req_of(r, v), what) &&
	       cf_expect(r->c, !(v->msg && got_message(r->t1, v->msg, v->msg_len)),
			 req_of(r, v), what, "T1 received its message: the IUT forwarded it");
}

static bool replay_forwarded(struct replay *r, const struct vec *v)
{
	char what[320];

	snprintf(what, sizeof what, "tcId %d (%s): accepted and forwarded to T1 byte for byte",
		 v->tc, v->comment);
	return hn_peer_send_raw(r->t0, v->frame.ptr, v->frame.len) == IB_OK &&
	       cfv_wait_frame(r->c, r->t0, r->t1, &v->frame, req_of(r, v), what);
}

static bool closed(void *arg)
{
	return hn_peer_closed(arg);
}

/* [FRAME-4] Only the 21-byte header is sent: the IUT must decide from it, on a link of its
 * own (the vector ends it). */
static bool replay_too_big(struct replay *r, const struct vec *v)
{
	struct cf_ctx *c = r->c;
	struct hn_peer *p;
	const struct hn_got *err;
	char what[320];

	if (r->next_tester >= CF_TESTERS) {
		cf_harness_error(c, "more link_error vectors than tester identities");
		return false;
	}
	if (!(p = cf_peer(c, r->next_tester++)) || !cf_link_child(c, p))
		return false;
	hn_peer_send_raw(p, v->frame.ptr, v->frame.len);
	cf_run_until(c, closed, p, CFV_WAIT_MS);
	if (!cf_ok(c))
		return false;
	err = hn_peer_last(p, IB_MSG_ERROR);
	snprintf(what, sizeof what, "tcId %d (%s): the IUT closes the link with ERROR %s "
		 "from the %zu bytes sent", v->tc, v->comment, v->reason, v->frame.len);
	if (!hn_peer_closed(p))
		return cf_expect(c, false, req_of(r, v), what, "the link stayed open for %u ms",
				 CFV_WAIT_MS);
	return cf_expect(c, err && !strcmp(ib_error_code_name(err->error_code), v->reason),
			 req_of(r, v), what, "it closed with ERROR %s", error_name_of(p));
}

/* The message classes are judged on the vector's message bytes, in an envelope of a suite
 * key, so that they need no configured keys (and run against --iut-addr too):
 * hop-local ones signed by T0, the link's peer, since [LINK-3] would end the link on any
 * other id_bot; end-to-end ones by T2, whose anti-replay window nothing else touches (T0's
 * sentinels would make the vectors' older seqs replays, hiding what the test looks at). */
static const struct ib_identity *resigner(const struct replay *r, const struct vec *v)
{
	if (is_hop_local(v))
		return r->signer.id;
	return r->resign ? cf_tester_identity(r->c, 2) : NULL;
}

/* The bytes to send for v: the vector's frame, or its message re-signed. */
static bool vector_frame(struct replay *r, const struct vec *v, struct ib_buf *out)
{
	const struct ib_identity *id = resigner(r, v);
	int err;

	if (id && !v->msg) {
		cf_harness_error(r->c, "tcId %d: lengths that do not delimit a message", v->tc);
		return false;
	}
	err = id ? ib_frame_sign(out, id, v->msg, v->msg_len) :
		   ib_buf_put(out, v->frame.ptr, v->frame.len);
	if (err != IB_OK)
		cf_harness_error(r->c, "cannot make the frame of tcId %d", v->tc);
	return err == IB_OK;
}

static bool replay_dropped(struct replay *r, const struct vec *v)
{
	struct ib_buf frame = { 0 };
	bool ok = false;

	if (vector_frame(r, v, &frame))
		ok = check_dropped(r, v, &frame);
	ib_buf_free(&frame);
	return ok;
}

/* The freshness vectors hold for a clock near now_unix_us: self mode's virtual clock is
 * moved there; a real clock far from it makes them unjudgeable. */
static bool clock_near(struct replay *r)
{
	uint64_t now = cf_unix_us(r->c), want = r->set.now_us;

	return (now > want ? now - want : want - now) <= CFV_CLOCK_SLACK_US;
}

static void align_clock(struct replay *r)
{
	uint64_t now = cf_unix_us(r->c), want = r->set.now_us;

	if (cf_mode(r->c) == CF_MODE_SELF && want > now && want - now < 600ull * 1000000)
		cf_run_for(r->c, (uint32_t)((want - now) / 1000));
}

static bool replay_one(struct replay *r, const struct vec *v)
{
	if (r->cls == CFV_CLOCK && !clock_near(r)) {
		r->skipped++;
		return true;
	}
	r->judged++;
	switch (r->cls) {
	case CFV_TOO_BIG:
		return replay_too_big(r, v);
	case CFV_HOP_LOCAL:         /* [MSG-9] valid ones are ignored: as good as dropped here */
		return replay_dropped(r, v);
	default:
		return !strcmp(v->result, "valid") ? replay_forwarded(r, v) : replay_dropped(r, v);
	}
}

static const char *const class_reqs[] = {
	[CFV_VALID] = "FRAME-1 FRAME-4 MSG-4 MSG-7 MSG-8 MSG-10",
	[CFV_BAD_SIGNATURE] = "FRAME-1 FRAME-5 FRAME-6 FRAME-9",
	[CFV_BAD_SIG_LEN] = "FRAME-3 FRAME-8",
	[CFV_TOO_BIG] = "FRAME-4 FRAME-8",
	[CFV_MSG_HEADER] = "MSG-1 MSG-2 MSG-3",
	[CFV_MSG_BODY] = "MSG-7 MSG-8 MSG-11",
	[CFV_HOP_LOCAL] = "MSG-6 MSG-7 MSG-9",
	[CFV_CLOCK] = "CMD-6",
};

static bool replay_start(struct replay *r)
{
	struct cf_iut_opts opts = { 0 };

	for (size_t i = 0; i < r->set.nkeys; i++)
		opts.extra_keys[opts.nextra_keys++] = r->set.keys[i];
	opts.max_message = r->set.max_message;      /* the receiver the vectors describe */
	if (!cf_iut_start(r->c, r->resign ? NULL : &opts))
		return false;
	if (r->cls == CFV_CLOCK)
		align_clock(r);
	cfv_signer_init(r->c, &r->signer, 0);
	r->next_tester = 3;
	return (r->t0 = cf_peer(r->c, 0)) && (r->t1 = cf_peer(r->c, 1)) &&
	       cf_link_child(r->c, r->t0) && cf_link_child(r->c, r->t1);
}

void cfv_replay(struct cf_ctx *c, enum cfv_class cls)
{
	struct replay r = { .c = c, .cls = cls, .reqs = class_reqs[cls],
			    .resign = cls == CFV_MSG_HEADER || cls == CFV_MSG_BODY ||
				      cls == CFV_HOP_LOCAL };
	const struct vec **picked = NULL;
	size_t npicked = 0;
	char first[16];

	snprintf(first, sizeof first, "%.*s", (int)strcspn(r.reqs, " "), r.reqs);
	r.default_req = first;
	if (!vecset_load(c, &r.set))
		return;
	if (!(picked = calloc(r.set.n, sizeof *picked))) {
		cf_harness_error(c, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < r.set.n; i++)
		if (in_class(&r.set.v[i], cls))
			picked[npicked++] = &r.set.v[i];
	/* [FLOOD-3] Ascending seq per origin, so that no valid vector is a replay of another. */
	qsort(picked, npicked, sizeof *picked, by_seq);
	if (!npicked) {
		cf_harness_error(c, "no vector of this class in the vector file");
		goto out;
	}
	if (!replay_start(&r))
		goto out;
	for (size_t i = 0; i < npicked && replay_one(&r, picked[i]); i++)
		;
	if (!cf_ok(c))
		goto out;
	if (cls == CFV_TOO_BIG || cf_expect(c, !hn_peer_closed(r.t0), r.default_req,
					    "T0's link stays open through the replay",
					    "closed (ERROR %s)", error_name_of(r.t0)))
		cf_note(c, "%zu vectors judged, %zu skipped", r.judged, r.skipped);
	if (r.skipped)
		cf_note(c, "skipped %zu clock-dependent vectors: the IUT's clock (%llu us) is not "
			"within %llu us of the vectors' now_unix_us (%llu)", r.skipped,
			(unsigned long long)cf_unix_us(c), CFV_CLOCK_SLACK_US,
			(unsigned long long)r.set.now_us);
out:
	free(picked);
	vecset_free(&r.set);
}

/* ---- streams -------------------------------------------------------------------------------- */

bool cfv_two_children(struct cf_ctx *c, struct hn_peer **t0, struct hn_peer **t1,
		      struct cfv_signer *s)
{
	if (!cf_iut_start(c, NULL))
		return false;
	cfv_signer_init(c, s, 0);
	return (*t0 = cf_peer(c, 0)) && (*t1 = cf_peer(c, 1)) && cf_link_child(c, *t0) &&
	       cf_link_child(c, *t1);
}

/* Sends bytes in pieces cut at cuts[] (ascending), letting the IUT read between them. */
static bool send_in_pieces(struct cf_ctx *c, struct hn_peer *p, const struct ib_buf *b,
			   const size_t *cuts, size_t ncuts)
{
	size_t from = 0;

	for (size_t i = 0; i <= ncuts; i++) {
		/* cppcheck-suppress nullPointer ; cuts may be NULL only when ncuts is 0 */
		size_t to = i < ncuts ? cuts[i] : b->len;

		if (to <= from || to > b->len)
			continue;
		if (hn_peer_send_raw(p, b->ptr + from, to - from) != IB_OK) {
			cf_harness_error(c, "cannot send to the IUT");
			return false;
		}
		cf_run_for(c, 1);
		from = to;
	}
	return true;
}

/* [FRAME-2] One frame split at every boundary that matters to a decoder: in the 21-byte
 * header (inside id_bot, each length field), at the header's end, in the signature, at the
 * message's start, inside the message header and just before the last byte; then one frame
 * byte by byte. Each must reach T1 whole. */
static void test_split(struct cf_ctx *c)
{
	static const size_t offsets[] = { 1, 8, 15, 16, 17, 18, 19, 20, 21, 22, 53, 84, 85, 86,
					  90, 113, 0 /* len - 1 */ };
	struct hn_peer *t0, *t1;
	struct cfv_signer s;
	struct ib_buf frame = { 0 };
	char key[32], what[128];

	if (!cfv_two_children(c, &t0, &t1, &s))
		goto out;
	for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
		size_t cut;

		ib_buf_reset(&frame);
		snprintf(key, sizeof key, "split/%zu", i);
		if (!sign_publish(c, &s, key, 40, &frame))
			goto out;
		cut = offsets[i] ? offsets[i] : frame.len - 1;
		snprintf(what, sizeof what, "a %zu-byte frame sent in two writes cut at byte %zu "
			 "reaches T1 whole", frame.len, cut);
		if (!send_in_pieces(c, t0, &frame, &cut, 1) ||
		    !cfv_wait_frame(c, t0, t1, &frame, "FRAME-2", what))
			goto out;
	}
	ib_buf_reset(&frame);
	if (!sign_publish(c, &s, "split/bytes", 40, &frame))
		goto out;
	for (size_t i = 1; i < frame.len; i++)
		if (!send_in_pieces(c, t0, &(struct ib_buf){ .ptr = frame.ptr + i - 1, .len = 1 },
				    NULL, 0))
			goto out;
	if (!send_in_pieces(c, t0, &(struct ib_buf){ .ptr = frame.ptr + frame.len - 1, .len = 1 },
			    NULL, 0))
		goto out;
	cfv_wait_frame(c, t0, t1, &frame, "FRAME-2",
		       "a frame sent one byte per TLS record reaches T1 whole");
out:
	ib_buf_free(&frame);
}

/* A tester (2 to 7) whose id_bot begins with another byte than T0's: its frames and T0's,
 * alternated, change the first byte of the stream at each frame. -1 if none does. */
static int tester_other_first_byte(struct cf_ctx *c)
{
	for (int k = 2; k < CF_TESTERS; k++)
		if (cf_tester_id(c, k)->b[0] != cf_tester_id(c, 0)->b[0])
			return k;
	return -1;
}

/* [FRAME-2] Several frames in one write, and writes that end inside a frame and go on with
 * the next: every frame reaches T1, in order. Round 2 alternates two origins and ends each
 * write one byte into the next frame: a decoder that keeps that byte must keep it, not the
 * byte it held before (which differs). */
static void test_coalesced(struct cf_ctx *c)
{
	enum { N = 6 };
	static const char *const how[3] = { "together in one write", "in 3 writes cut mid-frame",
					    ("in 6 writes, each ending 1 byte into the next frame, "
					     "origins alternating") };
	struct hn_peer *t0, *t1;
	struct cfv_signer s, other;
	struct ib_buf frames[N] = { { 0 } }, all = { 0 };
	size_t starts[N], cuts[N - 1], ncuts;
	char key[32], what[200];
	int k;

	if (!cfv_two_children(c, &t0, &t1, &s))
		goto out;
	if ((k = tester_other_first_byte(c)) < 0) {
		cf_harness_error(c, "no tester's id_bot begins with another byte than T0's");
		goto out;
	}
	cfv_signer_init(c, &other, k);
	for (int round = 0; round < 3; round++) {
		ib_buf_reset(&all);
		for (size_t i = 0; i < N; i++) {
			ib_buf_reset(&frames[i]);
			snprintf(key, sizeof key, "coalesced/%d/%zu", round, i);
			starts[i] = all.len;
			if (!sign_publish(c, round == 2 && i % 2 ? &other : &s, key, 10 + 30 * i,
					  &frames[i]) ||
			    ib_buf_put(&all, frames[i].ptr, frames[i].len) != IB_OK)
				goto out;
		}
		/* Round 0: all in one write. Round 1: cut inside frame 1 and inside the header of
		 * frame 4, so each write ends mid-frame and carries the next frames' starts.
		 * Round 2: cut one byte after each frame's start. */
		ncuts = round == 0 ? 0 : round == 1 ? 2 : N - 1;
		cuts[0] = starts[1] + 50;
		cuts[1] = starts[4] + 7;
		if (round == 2)
			for (size_t i = 1; i < N; i++)
				cuts[i - 1] = starts[i] + 1;
		if (!send_in_pieces(c, t0, &all, cuts, ncuts))
			goto out;
		for (size_t i = 0; i < N; i++) {
			snprintf(what, sizeof what, "frame %zu of %d sent %s reaches T1 whole", i + 1,
				 N, how[round]);
			if (!cfv_wait_frame(c, t0, t1, &frames[i], "FRAME-2", what))
				goto out;
		}
	}
out:
	for (size_t i = 0; i < N; i++)
		ib_buf_free(&frames[i]);
	ib_buf_free(&all);
}

static size_t largest_message(const struct hn_peer *p)
{
	size_t largest = 0;

	for (size_t i = 0; i < hn_peer_received(p); i++) {
		const struct hn_got *g = hn_peer_got(p, i);
		size_t m = g->raw.len >= IB_FRAME_HEADER_LEN ? be(g->raw.ptr + 18, 3) : 0;

		largest = m > largest ? m : largest;
	}
	return largest;
}

/* [FRAME-7] T1 announces the smallest max_message; T0 publishes a frame bigger than it,
 * which T2 (default max_message) must get and T1 must not. A sentinel then proves T1 had
 * every chance to get it. */
static void test_peer_max_message(struct cf_ctx *c)
{
	enum { SMALL = IB_MAX_MESSAGE_MIN };
	struct hn_peer *t0, *t1, *t2;
	struct cfv_signer s;
	struct ib_buf big = { 0 }, sentinel = { 0 };
	struct frame_wait w;

	if (!cf_iut_start(c, NULL) || !(t0 = cf_peer(c, 0)) || !(t1 = cf_peer(c, 1)) ||
	    !(t2 = cf_peer(c, 2)))
		goto out;
	hn_peer_set_max_message(t1, SMALL);
	cfv_signer_init(c, &s, 0);
	if (!cf_link_child(c, t0) || !cf_link_child(c, t1) || !cf_link_child(c, t2) ||
	    !sign_publish(c, &s, "big", SMALL + 1000, &big) ||
	    !sign_publish(c, &s, "after-big", 8, &sentinel))
		goto out;
	hn_peer_send_raw(t0, big.ptr, big.len);
	if (!cfv_wait_frame(c, t0, t2, &big, "FRAME-7",
			    "a PUBLISH whose message is above 65536 bytes reaches T2 (default "
			    "max_message)"))
		goto out;
	hn_peer_send_raw(t0, sentinel.ptr, sentinel.len);
	w = (struct frame_wait){ t0, t1, sentinel.ptr, sentinel.len };
	cf_run_until(c, frame_arrived_or_closed, &w, CFV_WAIT_MS);
	if (!cf_ok(c))
		goto out;
	if (!cfv_got_bytes(t1, sentinel.ptr, sentinel.len))
		cf_note(c, "T1 did not get the small frame after the big one (link %s)",
			hn_peer_closed(t1) ? "closed" : "open");
	cf_expect(c, largest_message(t1) <= SMALL, "FRAME-7",
		  "nothing with message_length above the 65536 T1 announced in its HELLO is sent "
		  "to T1", "T1 received a frame with message_length %zu", largest_message(t1));
out:
	ib_buf_free(&big);
	ib_buf_free(&sentinel);
}


/* ---- envelope checks with suite keys (no config) ---------------------------------------------- */

/* One broken envelope: the frame bytes, what breaks it, and the requirement it breaks. */
struct forgery {
	const char *what;
	const char *req;
	struct ib_buf frame;
};

/* Ed25519's group order L, little-endian (RFC 8032 section 5.1). */
static const uint8_t ed25519_l[32] = {
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10
};

/* S + L in place of S: the same point equation holds, the encoding is not canonical. */
static void add_l_to_s(uint8_t sig[IB_SIG_LEN])
{
	unsigned carry = 0;

	for (size_t i = 0; i < 32; i++) {
		unsigned sum = sig[32 + i] + ed25519_l[i] + carry;

		sig[32 + i] = (uint8_t)sum;
		carry = sum >> 8;
	}
}

/* The n-th forgery, built on a fresh PUBLISH of T0 (a message never accepted before). */
static bool make_forgery(struct cf_ctx *c, struct cfv_signer *s, int n, struct forgery *f)
{
	const struct ib_identity *t0 = s->id, *stranger = cf_tester_identity(c, CF_STRANGER);
	const ib_id *origin = ib_identity_id(t0);
	struct ib_buf msg = { 0 }, both = { 0 };
	uint8_t sig[IB_SIG_LEN + 1] = { 0 };
	struct ib_msg m;
	char key[32];
	bool ok;

	snprintf(key, sizeof key, "forged/%d", n);
	cf_msg_publish(&m, key, 1, "value");
	m.h.version = IB_PROTOCOL_VERSION;
	m.h.seq = cf_next_seq(c, s->tester);
	ok = ib_msg_encode(&msg, &m) == IB_OK &&
	     ib_identity_sign(t0, msg.ptr, msg.len, sig) == IB_OK;
	switch (ok ? n : -1) {
	case 0:
		*f = (struct forgery){ "bit 0 of the signature's R flipped", "FRAME-6", { 0 } };
		sig[0] ^= 1;
		break;
	case 1:
		*f = (struct forgery){ "one bit of the signature's S flipped", "FRAME-6", { 0 } };
		sig[40] ^= 0x10;
		break;
	case 2:
		*f = (struct forgery){ "the message's last byte changed after signing", "FRAME-6",
				       { 0 } };
		msg.ptr[msg.len - 1] ^= 0x20;
		break;
	case 3:
		*f = (struct forgery){ "non-canonical signature: S + L in place of S", "FRAME-6",
				       { 0 } };
		add_l_to_s(sig);
		break;
	case 4:
		*f = (struct forgery){ "signature over id_bot || message", "FRAME-1", { 0 } };
		ok = ib_buf_put(&both, origin, IB_ID_LEN) == IB_OK &&
		     ib_buf_put(&both, msg.ptr, msg.len) == IB_OK &&
		     ib_identity_sign(t0, both.ptr, both.len, sig) == IB_OK;
		break;
	case 5:
		*f = (struct forgery){ "well signed by a key the IUT does not know", "FRAME-5",
				       { 0 } };
		origin = ib_identity_id(stranger);
		ok = ib_identity_sign(stranger, msg.ptr, msg.len, sig) == IB_OK;
		break;
	case 6:
		*f = (struct forgery){ "signature_length 63, the signature without its last byte",
				       "FRAME-3", { 0 } };
		ok = ok && cf_put_envelope(&f->frame, origin, sig, 63, &msg);
		goto out;
	case 7:
		*f = (struct forgery){ "signature_length 65, the signature and a zero byte",
				       "FRAME-3", { 0 } };
		ok = ok && cf_put_envelope(&f->frame, origin, sig, 65, &msg);
		goto out;
	case 8:
		*f = (struct forgery){ "signature_length 0, no signature bytes", "FRAME-3", { 0 } };
		ok = ok && cf_put_envelope(&f->frame, origin, sig, 0, &msg);
		goto out;
	default:
		ok = false;
		goto out;
	}
	ok = ok && cf_put_envelope(&f->frame, origin, sig, IB_SIG_LEN, &msg);
out:
	ib_buf_free(&msg);
	ib_buf_free(&both);
	if (!ok)
		cf_harness_error(c, "cannot build forgery %d", n);
	return ok;
}

/* [FRAME-1] [FRAME-3] [FRAME-5] [FRAME-6] T0's own frames with broken envelopes, each
 * followed by a frame that must arrive: the IUT drops them, forwards none and keeps the
 * link. Keys of the suite only, so this runs against a node the suite cannot configure. */
static void test_envelope_checks(struct cf_ctx *c)
{
	enum { FORGERIES = 9 };
	struct replay r = { .c = c, .reqs = "FRAME-1 FRAME-3 FRAME-5 FRAME-6",
			    .default_req = "FRAME-6" };
	struct forgery f = { 0 };

	if (!cfv_two_children(c, &r.t0, &r.t1, &r.signer))
		return;
	for (int n = 0; n < FORGERIES; n++) {
		struct vec v = { .tc = n + 1, .result = "invalid", .reqs = { NULL }, .nreqs = 1 };

		ib_buf_free(&f.frame);
		if (!make_forgery(c, &r.signer, n, &f))
			break;
		v.reqs[0] = f.req;
		snprintf(v.comment, sizeof v.comment, "T0's PUBLISH, %s", f.what);
		if (!check_dropped(&r, &v, &f.frame))
			break;
	}
	ib_buf_free(&f.frame);
}

/* A PUBLISH whose id_bot names `named` but whose signature is by `signer`: what a verifier
 * that kept the previous origin's key would accept. */
static bool other_origins_frame(struct cf_ctx *c, struct cfv_signer *named,
				const struct ib_identity *signer, struct ib_buf *out)
{
	struct ib_buf msg = { 0 };
	uint8_t sig[IB_SIG_LEN];
	struct ib_msg m;
	bool ok;

	cf_msg_publish(&m, "trap/forged", 1, "signed by the other origin");
	m.h.version = IB_PROTOCOL_VERSION;
	m.h.seq = cf_next_seq(c, named->tester);
	ok = ib_msg_encode(&msg, &m) == IB_OK &&
	     ib_identity_sign(signer, msg.ptr, msg.len, sig) == IB_OK &&
	     ib_frame_encode(out, ib_identity_id(named->id), sig, msg.ptr, msg.len) == IB_OK;
	ib_buf_free(&msg);
	if (!ok)
		cf_harness_error(c, "cannot build a wrong-key frame");
	return ok;
}

/* [FRAME-6] The OpenSSL 3.0 trap of the design notes: a verifier context reused across keys
 * without a reset keeps verifying with the first key. Frames of T2 and T3 alternate; after
 * each genuine one comes one that names the other origin but carries this origin's
 * signature. The genuine ones arrive, the others are dropped. */
static void test_interleaved_wrong_key(struct cf_ctx *c)
{
	struct cfv_signer sentinel, origin[2];
	struct hn_peer *t0, *t1;
	struct ib_buf good = { 0 }, forged = { 0 };
	struct ib_msg m;

	if (!cfv_two_children(c, &t0, &t1, &sentinel))
		return;
	cfv_signer_init(c, &origin[0], 2);
	cfv_signer_init(c, &origin[1], 3);
	for (int round = 0; round < 4; round++) {
		struct cfv_signer *from = &origin[round % 2], *other = &origin[1 - round % 2];

		ib_buf_reset(&good);
		ib_buf_reset(&forged);
		cf_msg_publish(&m, "trap/genuine", (uint64_t)round + 1, "genuine");
		if (!cfv_sign(c, from, &m, &good) ||
		    hn_peer_send_raw(t0, good.ptr, good.len) != IB_OK ||
		    !cfv_wait_frame(c, t0, t1, &good, "FRAME-1", "a genuine frame of T2 or T3") ||
		    !other_origins_frame(c, other, from->id, &forged) ||
		    !cfv_send_dropped(c, t0, t1, &sentinel, &forged, "FRAME-6",
				      "a frame naming one origin, signed by the origin just "
				      "verified, is dropped"))
			break;
	}
	ib_buf_free(&good);
	ib_buf_free(&forged);
}

/* ---- [FRAME-9] [FRAME-10] what Ed25519 libraries disagree on ------------------------------- */

/* T0's PUBLISH, signed by T0's key with the R given (and the S that goes with it), in out. */
static bool small_r_frame(struct cf_ctx *c, struct cfv_signer *s, const uint8_t *r,
			  struct ib_buf *out)
{
	struct ib_buf msg = { 0 };
	uint8_t sig[IB_SIG_LEN];
	struct ib_msg m;
	bool ok;

	cf_msg_publish(&m, "conform-small-order-r", 1, "R of small order");
	m.h.version = IB_PROTOCOL_VERSION;
	m.h.seq = cf_next_seq(c, s->tester);
	ok = ib_msg_encode(&msg, &m) == IB_OK &&
	     edc_sign_small_r(s->id, r, msg.ptr, msg.len, sig) &&
	     ib_frame_encode(out, ib_identity_id(s->id), sig, msg.ptr, msg.len) == IB_OK;
	ib_buf_free(&msg);
	if (!ok)
		cf_harness_error(c, "cannot sign with a chosen R");
	return ok;
}

/* [FRAME-9] T0's frames whose R is of small order: the identity (a nonce of 0, which the
 * cofactorless equation accepts, and OpenSSL, BoringSSL and Go with it), then a point of order
 * 8 (which only the cofactored equation accepts). Dropped, link kept. */
static void test_small_order_r(struct cf_ctx *c)
{
	static const struct {
		const uint8_t *r;
		const char *what;
	} cases[] = {
		{ edc_identity, "T0's PUBLISH whose R is the identity (its nonce 0; the equation "
				"holds): dropped, not forwarded, link kept" },
		{ edc_order8, "T0's PUBLISH whose R is a point of order 8 (only the cofactored "
			      "equation holds): dropped, not forwarded, link kept" },
	};
	struct ib_buf frame = { 0 };
	struct hn_peer *t0, *t1;
	struct cfv_signer s;

	if (!cfv_two_children(c, &t0, &t1, &s))
		return;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ib_buf_reset(&frame);
		if (!small_r_frame(c, &s, cases[i].r, &frame) ||
		    !cfv_send_dropped(c, t0, t1, &s, &frame, "FRAME-9", cases[i].what))
			break;
	}
	ib_buf_free(&frame);
}

static bool peer_closed(void *arg)
{
	return hn_peer_closed(arg);
}

/* [FRAME-10] The identity as a key in authorized/, with a reload that also removes T2: the
 * reload fails as on any malformed key file ([MEMBER-3]), so T2 keeps its link; and a frame
 * under that key, whose signature every message has for OpenSSL alone, is dropped. */
static void test_weak_key(struct cf_ctx *c)
{
	unsigned char b64[128];
	uint8_t seed[IB_SECRET_LEN], sig[IB_SIG_LEN];
	struct ib_pubkey *weak = NULL;
	struct ib_buf msg = { 0 }, frame = { 0 };
	struct hn_peer *t0, *t1, *t2;
	struct cfv_signer s;
	struct ib_msg m;
	char pem[256];

	if (!cfv_two_children(c, &t0, &t1, &s) || !(t2 = cf_peer(c, 2)) || !cf_link_child(c, t2))
		goto out;
	for (size_t i = 0; i < sizeof seed; i += 8) {
		uint64_t r = cf_rand(c);

		memcpy(seed + i, &r, 8);
	}
	cf_msg_publish(&m, "conform-weak-key", 1, "signed under a key of small order");
	m.h.version = IB_PROTOCOL_VERSION;
	m.h.seq = cf_unix_us(c);
	if (ib_pubkey_from_raw(&weak, edc_identity) != IB_OK ||
	    EVP_EncodeBlock(b64, ib_pubkey_spki(weak), IB_SPKI_LEN) <= 0 ||
	    (size_t)snprintf(pem, sizeof pem, "-----BEGIN PUBLIC KEY-----\n%s\n"
			     "-----END PUBLIC KEY-----\n", b64) >= sizeof pem ||
	    ib_msg_encode(&msg, &m) != IB_OK || !edc_sign_identity_key(seed, sig) ||
	    ib_frame_encode(&frame, ib_pubkey_id(weak), sig, msg.ptr, msg.len) != IB_OK) {
		cf_harness_error(c, "cannot make the key of small order and its frame");
		goto out;
	}
	if (!cf_iut_put_authorized(c, "conform-weak.pub", pem) || !cf_iut_reload(c, 1u << 2, 0))
		goto out;
	cf_run_until(c, peer_closed, t2, 300); /* a reload that went through revokes T2 at once */
	if (!cf_ok(c) ||
	    !cf_expect(c, !hn_peer_closed(t2), "FRAME-10", "a key file holding a key of small "
		       "order is malformed: the reload fails and the keyring stays ([MEMBER-3]), "
		       "so T2, whose file it removed, keeps its link", "T2's link closed (ERROR "
		       "%s): the reload went through", hn_peer_last(t2, IB_MSG_ERROR) ?
		       ib_error_code_name(hn_peer_last(t2, IB_MSG_ERROR)->error_code) : "none"))
		goto out;
	cfv_send_dropped(c, t0, t1, &s, &frame, "FRAME-10", "a frame under the key of small order "
			 "(its signature verifies for OpenSSL alone) is dropped, link kept");
out:
	ib_pubkey_free(weak);
	ib_buf_free(&msg);
	ib_buf_free(&frame);
}

static void test_vectors_valid(struct cf_ctx *c) { cfv_replay(c, CFV_VALID); }
static void test_vectors_bad_signature(struct cf_ctx *c) { cfv_replay(c, CFV_BAD_SIGNATURE); }
static void test_vectors_bad_sig_len(struct cf_ctx *c) { cfv_replay(c, CFV_BAD_SIG_LEN); }
static void test_vectors_too_big(struct cf_ctx *c) { cfv_replay(c, CFV_TOO_BIG); }

const struct cf_test cf_tests_frame[] = {
	{ "frame.split", "FRAME-2", 0, test_split,
	  "A frame cut anywhere (in the 21-byte header, the signature, the message, or one byte "
	  "per TLS record) is reassembled from the stream and forwarded whole" },
	{ "frame.coalesced", "FRAME-2", 0, test_coalesced,
	  "Several frames in one write, writes ending mid-frame, and writes ending 1 byte into "
	  "the next frame (two origins alternating), are all read and forwarded whole" },
	{ "frame.peer-max-message", "FRAME-7", 0, test_peer_max_message,
	  "A frame larger than the max_message a peer announced in its HELLO is never sent to "
	  "that peer (others still get it)" },
	{ "frame.envelope-checks", "FRAME-1 FRAME-3 FRAME-5 FRAME-6", 0, test_envelope_checks,
	  "Frames with a flipped or non-canonical signature, a signature over more than the "
	  "message, an unknown id_bot, or signature_length 0/63/65 are dropped; link kept" },
	{ "frame.interleaved-wrong-key", "FRAME-1 FRAME-6", 0, test_interleaved_wrong_key,
	  "Frames of two origins alternate, each followed by one naming the other origin but "
	  "signed by this one: the forgeries are dropped (a verifier must not keep the last key)" },
	{ "frame.small-order-r", "FRAME-9 FRAME-6", 0, test_small_order_r,
	  "A tester's frames whose signature's R is of small order (the identity, with S "
	  "satisfying the equation; a point of order 8) are dropped; link kept" },
	{ "frame.weak-key", "FRAME-10 FRAME-9", CF_NEEDS_RELOAD, test_weak_key,
	  "A key of small order in authorized/ makes the reload fail (a malformed file), and a "
	  "frame under it (valid for OpenSSL alone) is dropped" },
	{ "frame.vectors-valid", "FRAME-1 FRAME-4 MSG-4 MSG-7 MSG-8 MSG-10", CF_NEEDS_CONFIG,
	  test_vectors_valid,
	  "Every valid end-to-end frame of vectors/frames.json (flags set, unknown types, a "
	  "message of exactly max_message included) is accepted and forwarded byte for byte" },
	{ "frame.vectors-bad-signature", "FRAME-1 FRAME-5 FRAME-6 FRAME-9", CF_NEEDS_CONFIG,
	  test_vectors_bad_signature,
	  "Frames of vectors/frames.json with a bad or non-canonical signature (an R of small "
	  "order or valid under the cofactored equation only), or an unknown id_bot, are "
	  "dropped (not forwarded) and the link stays open" },
	{ "frame.vectors-bad-signature-length", "FRAME-3 FRAME-8", CF_NEEDS_CONFIG,
	  test_vectors_bad_sig_len,
	  "Frames with signature_length 0, 63, 65 or 65535 are dropped, the link stays open and "
	  "the next frame is read right after them" },
	{ "frame.vectors-too-big", "FRAME-4 FRAME-8", CF_NEEDS_CONFIG, test_vectors_too_big,
	  "A 21-byte header whose message_length is above max_message (65536 here) closes the "
	  "link with ERROR too_big, without waiting for the rest, before any other check" },
	{ NULL, NULL, 0, NULL, NULL }
};
