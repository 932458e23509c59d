/*
 * ctx.c - the test API of cf.h: tester peers, reference nodes, time and verdicts. Where
 * modes differ (virtual or real time) it is here, so that tests read the same in all.
 */
#include "suite.h"

#include <openssl/evp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CF_TRANSCRIPT_MAX (512u * 1024u)   /* past it, frames are counted, not written */
#define CF_TRANSCRIPT_NOTES (16u * 1024u)   /* room kept for notes past it */
/* What the transcript shows of one frame: its first bytes in hex, and its decoding up to a
 * length (a 16 MB PUBLISH would fill any report: JUnit readers refuse text nodes past 10 MB). */
#define CF_FRAME_HEX_SHOWN 2048u
#define CF_FRAME_JSON_SHOWN 4096u
#define CF_LINK_MS 5000u                   /* TLS + HELLO with a tester peer */
#define CF_RESULT_MS 5000u                 /* a RESULT to a command (ib.fetch waits too) */
#define CF_SPIN_TURNS 1000000u             /* self mode: busy turns at one instant (LINK-22) */

/* ---- verdicts ---------------------------------------------------------------------------- */

bool cf_ok(const struct cf_ctx *c)
{
	return c->res->verdict == CF_PASS;
}

static void set_verdict(struct cf_ctx *c, enum cf_verdict v, const char *req,
			const char *expected, const char *fmt, va_list ap)
{
	if (!cf_ok(c))
		return;     /* the first verdict is the one that explains the others */
	c->res->verdict = v;
	snprintf(c->res->req, sizeof c->res->req, "%s", req ? req : "");
	snprintf(c->res->expected, sizeof c->res->expected, "%s", expected ? expected : "");
	vsnprintf(c->res->actual, sizeof c->res->actual, fmt, ap);
}

bool (cf_expect)(struct cf_ctx *c, bool ok, const char *req, const char *expected,
		 const char *actual_fmt, ...)
{
	va_list ap;

	if (ok)
		return true;
	va_start(ap, actual_fmt);
	set_verdict(c, CF_FAIL, req, expected, actual_fmt, ap);
	va_end(ap);
	return false;
}

void cf_unsupported(struct cf_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_verdict(c, CF_UNSUPPORTED, NULL, NULL, fmt, ap);
	va_end(ap);
}

void cf_harness_error(struct cf_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_verdict(c, CF_HARNESS_ERROR, NULL, NULL, fmt, ap);
	va_end(ap);
}

void cf_not_applicable(struct cf_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_verdict(c, CF_NOT_APPLICABLE, NULL, NULL, fmt, ap);
	va_end(ap);
}

/* Frames stop at CF_TRANSCRIPT_MAX; the test's notes have room past it, so that what a test
 * measured after a flood of frames is still in its transcript. */
static void transcript_line(struct cf_ctx *c, const char *text, bool note)
{
	char stamp[48];

	if (c->transcript.len > CF_TRANSCRIPT_MAX + (note ? CF_TRANSCRIPT_NOTES : 0))
		return;
	snprintf(stamp, sizeof stamp, "%9.3f ms  ", (double)(cf_now_ms(c) - c->started_ms));
	ib_buf_put(&c->transcript, (const uint8_t *)stamp, strlen(stamp));
	ib_buf_put(&c->transcript, (const uint8_t *)text, strlen(text));
	ib_buf_put(&c->transcript, (const uint8_t *)"\n", 1);
}

void cf_note(struct cf_ctx *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	transcript_line(c, line, true);
}

uint64_t cf_rand(struct cf_ctx *c)
{
	/* xorshift64*: reproducible from the seed, and enough for test choices. */
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * 0x2545f4914f6cdd1dull;
}

/* ---- time ---------------------------------------------------------------------------------- */

uint64_t cf_now_ms(struct cf_ctx *c)
{
	return ib_loop_now_us(c->w->loop) / 1000;
}

uint64_t cf_unix_us(struct cf_ctx *c)
{
	/* c->w is set for the context's life; the analyzer took a NULL test of a pointer into it
	 * (seq_gen's &c->w->seq[i]) for one of c->w.
	 * NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
	return c->w->clock.unix_us(c->w->clock.ctx);
}

struct ib_loop *cf_loop(struct cf_ctx *c)
{
	return c->w->loop;
}

static uint64_t scaled_us(struct cf_ctx *c, uint32_t ms)
{
	double scale = c->w->opt->mode == CF_MODE_SELF ? 1.0 : c->w->opt->timeout_scale;

	return (uint64_t)((double)ms * 1000.0 * scale);
}

/* [LINK-22] Virtual time moves only when no callback is ready; a callback ready at every
 * turn (a socket watched for writing with nothing to write) would hold the clock, and the
 * test, for ever. CF_SPIN_TURNS turns in a row that find work, at one instant, fail the test
 * instead: no test of the suite comes near that many (a flood of 20,000 frames takes a few
 * thousand). Returns false: the wait ends. */
static bool spin_judged(struct cf_ctx *c)
{
	c->spun = true;
	cf_expect(c, false, "LINK-22", "the process waits for input or its next timer: virtual "
		  "time moves once no callback is ready",
		  "%u turns of the loop in a row found a callback ready at one instant of virtual "
		  "time: something the IUT (or a tester) watches is ready at every turn",
		  CF_SPIN_TURNS);
	return false;
}

/* One turn of the loop, never past limit_us; false once the limit is reached. On virtual
 * time an idle loop jumps to its next timer (loopback TCP delivers at once, so nothing else
 * can happen meanwhile); on real time it waits in poll(). */
static bool step(struct cf_ctx *c, uint64_t limit_us)
{
	struct cf_world *w = c->w;
	uint64_t now = ib_loop_now_us(w->loop), at;

	if (w->opt->mode != CF_MODE_SELF) {
		uint64_t wait = limit_us > now ? (limit_us - now + 999) / 1000 : 0;

		ib_loop_run_once(w->loop, (int)(wait > 10 ? 10 : wait));
		return ib_loop_now_us(w->loop) < limit_us;
	}
	if (c->spun) { /* judged: time passes, the spinning callbacks are not called again */
		if (limit_us > now)
			ib_vclock_advance(&w->vclock, limit_us - now);
		return false;
	}
	if (ib_loop_run_once(w->loop, 0) > 0)
		return ++c->busy_turns < CF_SPIN_TURNS || !spin_judged(c);
	c->busy_turns = 0;
	if (ib_loop_next_deadline(w->loop, &at) != IB_OK || at > limit_us) {
		if (limit_us > now)
			ib_vclock_advance(&w->vclock, limit_us - now);
		return false;
	}
	if (at > now)
		ib_vclock_advance(&w->vclock, at - now);
	return true;
}

bool cf_run_until(struct cf_ctx *c, bool (*cond)(void *arg), void *arg, uint32_t within_ms)
{
	uint64_t limit = ib_loop_now_us(c->w->loop) + scaled_us(c, within_ms);

	for (;;) {
		if (cond(arg))
			return true;
		if (!cf_iut_check_alive(c) && !c->iut_exit_expected)
			return cond(arg);
		if (!step(c, limit)) {
			/* At the limit: one more turn for what its timers started. */
			ib_loop_run_once(c->w->loop, 0);
			return cond(arg);
		}
	}
}

bool cf_wait(struct cf_ctx *c, bool (*cond)(void *arg), void *arg, uint32_t within_ms,
	     const char *what)
{
	if (cf_run_until(c, cond, arg, within_ms))
		return true;
	if (cf_ok(c)) {
		c->res->verdict = CF_TIMEOUT;
		snprintf(c->res->expected, sizeof c->res->expected, "within %u ms: %.400s",
			 within_ms, what);
		snprintf(c->res->actual, sizeof c->res->actual, "it did not happen");
	}
	return false;
}

static bool never(void *arg)
{
	(void)arg;
	return false;
}

void cf_run_for(struct cf_ctx *c, uint32_t ms)
{
	cf_run_until(c, never, NULL, ms);
}

struct pause {
	struct cf_ctx *c;
	uint64_t until_ms;
};

static bool pause_over(void *arg)
{
	const struct pause *pz = arg;

	return cf_now_ms(pz->c) >= pz->until_ms;
}

void cf_pause(struct cf_ctx *c, uint32_t ms)
{
	struct pause pz = { c, cf_now_ms(c) + ms };

	/* The bound is scaled up, never down: the condition ends it on time. */
	cf_run_until(c, pause_over, &pz, ms + 1);
}

/* ---- tester peers ----------------------------------------------------------------------- */

static const char *peer_label(struct cf_ctx *c, const struct hn_peer *p, char *buf,
			      size_t cap)
{
	const ib_id *id = ib_identity_id(hn_peer_identity(p));
	size_t n = 0;

	for (size_t i = 0; i < c->npeers; i++)
		if (c->peers[i] == p)
			n = i;
	for (int i = 0; i < CF_TESTERS; i++)
		if (ib_id_equal(id, ib_identity_id(c->w->testers[i]))) {
			snprintf(buf, cap, "T%d#%zu", i, n);
			return buf;
		}
	snprintf(buf, cap, "stranger#%zu", n);
	return buf;
}

static struct ib_seq_gen *seq_gen(struct cf_ctx *c, int tester)
{
	if (tester == CF_STRANGER)
		return &c->w->seq[CF_TESTERS];
	return tester >= 0 && tester < CF_TESTERS ? &c->w->seq[tester] : NULL;
}

uint64_t cf_next_seq(struct cf_ctx *c, int tester)
{
	struct ib_seq_gen *g = seq_gen(c, tester);
	struct ib_seq_gen own = { 0 };

	return ib_seq_next(g ? g : &own, cf_unix_us(c));
}

/* A frame a test signed with a seq of its own choosing still moves its origin's generator
 * past it, so that later frames of that origin are never taken as replays by a node that
 * outlives the test (addr mode). Seqs far ahead of the clock are forgeries or stale
 * commands that a correct node drops: following them would make every later COMMAND
 * stale too. */
static void follow_seq(struct cf_ctx *c, const uint8_t *bytes, size_t len)
{
	struct ib_frame f;
	struct ib_msg m;

	if (ib_frame_parse(&f, bytes, len, IB_MAX_MESSAGE_LIMIT) != IB_OK ||
	    ib_msg_decode(&m, f.msg.ptr, f.msg.len) != IB_OK ||
	    m.h.seq > cf_unix_us(c) + 60000000ull)
		return;
	for (int i = CF_STRANGER; i < CF_TESTERS; i++) {
		struct ib_seq_gen *g = seq_gen(c, i);

		if (ib_id_equal(&f.origin, ib_identity_id(cf_tester_identity(c, i))) &&
		    m.h.seq > g->last)
			g->last = m.h.seq;
	}
}

/* --pcap: one whole frame between the tester's end and the other end of its connection. */
static void trace_one(struct cf_ctx *c, const struct hn_peer *p, bool sent, const uint8_t *bytes,
		      size_t len)
{
	char local[IB_MAX_ADDR], remote[IB_MAX_ADDR];
	struct ib_trace_addr a, b;

	if (!hn_peer_endpoints(p, local, remote, sizeof local) ||
	    ib_trace_addr_parse(&a, local) != IB_OK || ib_trace_addr_parse(&b, remote) != IB_OK)
		return;
	ib_trace_write(c->w->trace, cf_unix_us(c), sent ? &a : &b, sent ? &b : &a, bytes, len);
}

/* A trace holds whole frames (spec section 19.4), and tests send frames in pieces, or bytes
 * that are no frame at all: what a tester sends goes through a decoder of its own first.
 * After bytes that are no frame, the rest of that stream cannot be cut: it is left out. */
static void trace_frame(struct cf_ctx *c, const struct hn_peer *p, bool sent,
			const uint8_t *bytes, size_t len)
{
	struct ib_frame_decoder *d = NULL;
	size_t i, off = 0;

	if (!sent) {
		trace_one(c, p, false, bytes, len);
		return;
	}
	for (i = 0; i < c->npeers && c->peers[i] != p; i++)
		;
	if (i == c->npeers || c->sent_broken[i])
		return;
	d = &c->sent_frames[i];
	while (off < len) {
		struct ib_frame f;
		size_t taken = 0;
		int st;

		if (ib_frame_decoder_feed(d, bytes + off, len - off, &taken) != IB_OK) {
			c->sent_broken[i] = true;
			return;
		}
		off += taken;
		while ((st = ib_frame_decoder_next(d, &f)) == IB_FRAME_READY)
			trace_one(c, p, true, f.raw.ptr, f.raw.len);
		if (st < 0 || (taken == 0 && off < len)) {
			c->sent_broken[i] = true;
			return;
		}
	}
}

/* Every frame in or out of a tester, decoded then in hex: the transcript of -v. */
static void tap(void *ctx, const struct hn_peer *p, bool sent, const uint8_t *bytes, size_t len)
{
	struct cf_ctx *c = ctx;
	char label[32], *json = NULL, *line;
	struct ib_frame f;
	struct ib_msg m;
	size_t cap, shown;

	if (sent)
		follow_seq(c, bytes, len);
	if (c->w->trace)
		trace_frame(c, p, sent, bytes, len);
	if (c->transcript.len > CF_TRANSCRIPT_MAX)
		return;
	if (ib_frame_parse(&f, bytes, len, IB_MAX_MESSAGE_LIMIT) == IB_OK &&
	    ib_msg_decode(&m, f.msg.ptr, f.msg.len) == IB_OK)
		ib_msg_to_json(&m, &json);
	/* The JSON shows blobs in hex too: a big PUBLISH doubles its length there. */
	if (json && strlen(json) > CF_FRAME_JSON_SHOWN)
		strcpy(json + CF_FRAME_JSON_SHOWN - 16, " ... (cut)");
	shown = len < CF_FRAME_HEX_SHOWN ? len : CF_FRAME_HEX_SHOWN;
	cap = 320 + (json ? strlen(json) : 64) + 2 * shown;
	line = malloc(cap);
	if (!line) {
		free(json);
		return;
	}
	snprintf(line, cap, "%s %s IUT  %zu bytes  %s\n            ",
		 peer_label(c, p, label, sizeof label), sent ? "->" : "<-", len,
		 json ? json : "(not a whole, decodable frame)");
	ib_hex_encode(bytes, shown, line + strlen(line));
	/* cppcheck-suppress knownConditionTrueFalse ; true for a frame of more than 2048 bytes */
	if (shown < len)
		snprintf(line + strlen(line), cap - strlen(line), " ... (%zu more bytes)",
			 len - shown);
	transcript_line(c, line, false);
	free(json);
	free(line);
}

struct hn_peer *cf_peer(struct cf_ctx *c, int tester)
{
	const struct ib_identity *id = cf_tester_identity(c, tester);
	struct hn_peer *p = NULL;

	if (c->npeers == CF_MAX_PEERS || !id ||
	    hn_peer_new_as(&p, c->w->loop, c->trusted, id) != IB_OK) {
		cf_harness_error(c, "cannot make tester peer T%d", tester);
		return NULL;
	}
	hn_peer_set_tap(p, tap, c);
	hn_peer_share_seq(p, seq_gen(c, tester));
	ib_frame_decoder_init(&c->sent_frames[c->npeers], IB_MAX_MESSAGE_LIMIT);
	c->peers[c->npeers++] = p;
	return p;
}

static bool peer_settled(void *arg)
{
	return hn_peer_tls_open(arg) || hn_peer_closed(arg);
}

bool cf_connect(struct cf_ctx *c, struct hn_peer *p)
{
	if (!p)
		return false;
	if (hn_peer_connect_to(p, cf_iut_host(c), cf_iut_port(c)) != IB_OK) {
		cf_harness_error(c, "cannot connect to %s:%u", cf_iut_host(c), cf_iut_port(c));
		return false;
	}
	if (!cf_wait(c, peer_settled, p, CF_LINK_MS, "the TLS handshake with a tester ends")) {
		c->res->iut_unresponsive = true;    /* accepts TCP, never answers TLS */
		return false;
	}
	return cf_expect(c, hn_peer_tls_open(p), "TLS-4",
			 "the IUT completes TLS 1.3 with a tester whose key it was given",
			 "the handshake failed: %s",
			 hn_peer_failure(p)[0] ? hn_peer_failure(p) : "connection closed");
}

struct wait_type {
	struct hn_peer *p;
	uint8_t type;
	size_t count;
};

static bool got_type(void *arg)
{
	const struct wait_type *wt = arg;

	return hn_peer_count(wt->p, wt->type) >= wt->count || hn_peer_closed(wt->p);
}

bool cf_wait_type(struct cf_ctx *c, struct hn_peer *p, uint8_t type, size_t count,
		  uint32_t within_ms)
{
	struct wait_type wt = { p, type, count };
	char what[128];

	snprintf(what, sizeof what, "%zu %s frame(s) reach a tester", count,
		 ib_msg_type_name(type));
	if (!cf_wait(c, got_type, &wt, within_ms, what))
		return false;
	if (hn_peer_count(p, type) >= count)
		return true;
	return cf_expect(c, false, NULL, what, "the IUT closed the link after %zu of them",
			 hn_peer_count(p, type));
}

static bool closed(void *arg)
{
	return hn_peer_closed(arg);
}

/* The ERROR a tester says goodbye (or refuses) with: code, reason "bye". */
bool cf_send_error(struct cf_ctx *c, struct hn_peer *p, uint16_t code)
{
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_ERROR;
	m.u.error.code = code;
	m.u.error.reason = (struct ib_slice){ (const uint8_t *)"bye", 3 };
	if (hn_peer_send(p, &m, NULL, NULL, false, NULL) != IB_OK) {
		cf_harness_error(c, "a tester cannot send ERROR");
		return false;
	}
	return true;
}

bool cf_wait_closed(struct cf_ctx *c, struct hn_peer *p, uint16_t code, const char *req,
		    uint32_t within_ms)
{
	const struct hn_got *err;
	char what[160];

	snprintf(what, sizeof what, "the IUT closes the link%s%s", code ? " with ERROR " : "",
		 code ? ib_error_code_name(code) : "");
	if (!cf_run_until(c, closed, p, within_ms)) {
		if (!cf_ok(c))
			return false;
		return cf_expect(c, false, req, what, "the link stayed open for %u ms", within_ms);
	}
	if (!code)
		return true;
	err = hn_peer_last(p, IB_MSG_ERROR);
	return cf_expect(c, err && err->error_code == code, req, what,
			 err ? "it closed with ERROR %s" : "it closed without an ERROR frame",
			 err ? ib_error_code_name(err->error_code) : "");
}

size_t cf_copies(const struct hn_peer *p, const uint8_t *bytes, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < hn_peer_received(p); i++) {
		const struct hn_got *g = hn_peer_got(p, i);

		n += g->raw.len == len && (len == 0 || !memcmp(g->raw.ptr, bytes, len));
	}
	return n;
}

const ib_id *cf_tester_id(struct cf_ctx *c, int i)
{
	return ib_identity_id(cf_tester_identity(c, i));
}

void cf_order_testers(struct cf_ctx *c, int i, int j, const struct ib_identity **lo,
		      const struct ib_identity **hi)
{
	const struct ib_identity *a = cf_tester_identity(c, i), *b = cf_tester_identity(c, j);
	bool a_low = ib_id_compare(ib_identity_id(a), ib_identity_id(b)) < 0;

	*lo = a_low ? a : b;
	*hi = a_low ? b : a;
}

bool cf_got_msg(struct hn_peer *p, size_t i, struct ib_frame *f, struct ib_msg *m)
{
	const struct hn_got *g = hn_peer_got(p, i);

	return g && ib_frame_parse(f, g->raw.ptr, g->raw.len, IB_MAX_MESSAGE_LIMIT) == IB_OK &&
	       ib_msg_decode(m, f->msg.ptr, f->msg.len) == IB_OK;
}

bool cf_hello_of(struct hn_peer *p, struct ib_msg *m)
{
	struct ib_frame f;

	for (size_t i = 0; i < hn_peer_received(p); i++)
		if (hn_peer_got(p, i)->type == IB_MSG_HELLO)
			return cf_got_msg(p, i, &f, m);
	return false;
}

bool cf_link_child(struct cf_ctx *c, struct hn_peer *p)
{
	if (!cf_connect(c, p))
		return false;
	if (hn_peer_send_hello(p, IB_ROLE_SERVER, 30000, NULL, 0) != IB_OK) {
		cf_harness_error(c, "cannot send HELLO");
		return false;
	}
	if (!cf_wait_type(c, p, IB_MSG_HELLO, 1, CF_LINK_MS))
		return false;
	return cf_expect(c, !hn_peer_closed(p), "TREE-4",
			 "the IUT accepts an authorized child (HELLO answered, link kept)",
			 "it answered HELLO and closed the link (ERROR %s)",
			 hn_peer_last(p, IB_MSG_ERROR)
				 ? ib_error_code_name(hn_peer_last(p, IB_MSG_ERROR)->error_code)
				 : "none");
}

static bool hello_or_closed(void *arg)
{
	return hn_peer_count(arg, IB_MSG_HELLO) > 0 || hn_peer_closed(arg);
}

bool cf_try_link(struct cf_ctx *c, struct hn_peer *p, bool *accepted)
{
	if (!p)
		return false;
	if (hn_peer_connect_to(p, cf_iut_host(c), cf_iut_port(c)) != IB_OK) {
		cf_harness_error(c, "cannot connect to %s:%u", cf_iut_host(c), cf_iut_port(c));
		return false;
	}
	if (!cf_wait(c, peer_settled, p, CF_LINK_MS, "the TLS handshake with a tester ends"))
		return false;
	/* A server refuses a client's key after the client finished its side ([TLS-8]): the
	 * HELLO exchange shows whether the link was taken. */
	if (hn_peer_tls_open(p) && hn_peer_send_hello(p, IB_ROLE_SERVER, 30000, NULL, 0) == IB_OK &&
	    !cf_wait(c, hello_or_closed, p, CF_LINK_MS, "the IUT answers HELLO or closes the link"))
		return false;
	cf_run_for(c, 0);
	*accepted = hn_peer_count(p, IB_MSG_HELLO) > 0 && !hn_peer_closed(p);
	return true;
}

bool cf_listen_parent(struct cf_ctx *c, struct hn_peer *p, char *addr)
{
	uint16_t port = 0;

	if (!p || hn_peer_listen(p, &port) != IB_OK) {
		cf_harness_error(c, "a tester cannot listen");
		return false;
	}
	snprintf(addr, IB_MAX_ADDR, "127.0.0.1:%u", port);
	return true;
}

bool cf_iut_start_toward(struct cf_ctx *c, struct cf_iut_opts *o, int tester,
			 struct hn_peer **parent, char *addr)
{
	if (!(*parent = cf_peer(c, tester)) || !cf_listen_parent(c, *parent, addr))
		return false;
	o->parents[o->nparents++] = addr;
	return cf_iut_start(c, o);
}

bool cf_accept_child(struct cf_ctx *c, struct hn_peer *p, const ib_id *above, size_t nabove)
{
	if (!cf_wait_type(c, p, IB_MSG_HELLO, 1, CF_LINK_MS))
		return false;
	if (hn_peer_send_hello(p, IB_ROLE_SERVER, CF_KEEPALIVE_MS, above, nabove) != IB_OK) {
		cf_harness_error(c, "cannot answer HELLO");
		return false;
	}
	/* One turn so the IUT takes the HELLO before the test goes on. */
	cf_run_for(c, 0);
	return true;
}

void cf_pem(const char *label, const uint8_t *der, size_t len, char *out, size_t cap)
{
	size_t n = (size_t)snprintf(out, cap, "-----BEGIN %s-----\n", label);

	for (size_t i = 0; i < len && n + 90 < cap; i += 48) {
		size_t chunk = len - i < 48 ? len - i : 48;

		n += (size_t)EVP_EncodeBlock((unsigned char *)out + n, der + i, (int)chunk);
		out[n++] = '\n';
	}
	snprintf(out + n, cap > n ? cap - n : 0, "-----END %s-----\n", label);
}

void cf_msg_publish(struct ib_msg *m, const char *key, uint64_t version, const char *value)
{
	memset(m, 0, sizeof *m);
	m->h.type = IB_MSG_PUBLISH;
	m->u.publish.key = (struct ib_slice){ (const uint8_t *)key, strlen(key) };
	m->u.publish.version = version;
	m->u.publish.value = (struct ib_slice){ (const uint8_t *)value, strlen(value) };
}

bool cf_publish_frame(struct cf_ctx *c, const struct ib_identity *writer, const char *key,
		      uint64_t version, const char *value, uint64_t seq, struct ib_buf *out)
{
	struct ib_buf msg = { 0 };
	struct ib_msg m;
	bool ok;

	cf_msg_publish(&m, key, version, value);
	m.h.version = IB_PROTOCOL_VERSION;
	m.h.seq = seq;
	ib_buf_reset(out);
	ok = ib_msg_encode(&msg, &m) == IB_OK &&
	     ib_frame_sign(out, writer, msg.ptr, msg.len) == IB_OK;
	ib_buf_free(&msg);
	if (!ok)
		cf_harness_error(c, "cannot make a PUBLISH frame");
	return ok;
}

bool cf_put_envelope(struct ib_buf *out, const ib_id *origin, const uint8_t *sig,
		     size_t sig_len, const struct ib_buf *msg)
{
	return ib_buf_put(out, origin, IB_ID_LEN) == IB_OK &&
	       ib_buf_put_u16(out, (uint16_t)sig_len) == IB_OK &&
	       ib_buf_put_u24(out, (uint32_t)msg->len) == IB_OK &&
	       ib_buf_put(out, sig, sig_len) == IB_OK &&
	       ib_buf_put(out, msg->ptr, msg->len) == IB_OK;
}

bool cf_send_to_iut(struct cf_ctx *c, struct hn_peer *p, struct ib_msg *m)
{
	m->h.dest = *cf_iut_id(c);
	if (hn_peer_send(p, m, NULL, NULL, false, NULL) != IB_OK) {
		cf_harness_error(c, "a tester cannot send %s", ib_msg_type_name(m->h.type));
		return false;
	}
	return true;
}

const char *cf_fresh_key(struct cf_ctx *c, const char *base, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s.%llx", base, (unsigned long long)cf_unix_us(c));
	return buf;
}

/* ---- commands ----------------------------------------------------------------------------- */

struct wait_result {
	struct hn_peer *p;
	uint64_t cmd_id;
	size_t index;
};

static bool got_result(void *arg)
{
	struct wait_result *wr = arg;
	struct ib_frame f;
	struct ib_msg m;

	for (size_t i = 0; i < hn_peer_received(wr->p); i++)
		if (hn_peer_got(wr->p, i)->type == IB_MSG_RESULT && cf_got_msg(wr->p, i, &f, &m) &&
		    m.u.result.cmd_id == wr->cmd_id) {
			wr->index = i;
			return true;
		}
	return hn_peer_closed(wr->p);
}

bool cf_command(struct cf_ctx *c, struct hn_peer *p, const ib_id *dest, const char *name,
		const struct ib_slice *args, size_t nargs, uint16_t *status, struct ib_buf *output)
{
	struct wait_result wr = { p, 0, SIZE_MAX };
	struct ib_buf argbuf = { 0 };
	struct ib_frame f;
	struct ib_msg m;
	char what[300];
	bool ok = false;

	for (size_t i = 0; i < nargs; i++)
		ib_args_put(&argbuf, args[i]);
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_COMMAND;
	m.h.dest = *(dest ? dest : cf_iut_id(c));
	wr.cmd_id = m.u.command.cmd_id = ++c->cmd_ids;
	m.u.command.name = (struct ib_slice){ (const uint8_t *)name, strlen(name) };
	m.u.command.args = (struct ib_slice){ argbuf.ptr, argbuf.len };
	if (hn_peer_send(p, &m, NULL, NULL, false, NULL) != IB_OK) {
		cf_harness_error(c, "cannot send COMMAND %s", name);
		goto out;
	}
	snprintf(what, sizeof what, "a RESULT answers COMMAND %s (cmd_id %llu) [CMD-1]", name,
		 (unsigned long long)wr.cmd_id);
	if (!cf_wait(c, got_result, &wr, CF_RESULT_MS, what))
		goto out;
	if (!cf_expect(c, wr.index != SIZE_MAX, "CMD-1", what, "the link closed first"))
		goto out;
	cf_got_msg(p, wr.index, &f, &m);
	*status = m.u.result.status;
	if (output) {
		ib_buf_reset(output);
		ib_buf_put(output, m.u.result.output.ptr, m.u.result.output.len);
	}
	ok = true;
out:
	ib_buf_free(&argbuf);
	return ok;
}

bool cf_iut_publish(struct cf_ctx *c, struct hn_peer *p, const char *key, const char *value,
		    struct ib_buf *frame)
{
	struct ib_slice args[2] = { { (const uint8_t *)key, strlen(key) },
				    { (const uint8_t *)value, strlen(value) } };
	uint16_t status = 0;

	if (!cf_command(c, p, NULL, "ib.publish", args, 2, &status, frame) ||
	    !cf_standard_ran(c, "ib.publish", status))
		return false;
	return cf_expect(c, status == IB_STATUS_OK, "CMD-3",
			 "ib.publish, listed in `commands`, answers ok",
			 "status %s", ib_status_name(status));
}

bool cf_standard_ran(struct cf_ctx *c, const char *name, uint16_t status)
{
	/* A running node's owner chose its `commands`; a node the suite configured was told
	 * to allow every standard command (spec section 19.3). */
	if (status == IB_STATUS_DENIED && cf_mode(c) == CF_MODE_ADDR) {
		cf_unsupported(c, "the node denies %s: list it in `commands` to run the tests that "
			       "use it", name);
		return false;
	}
	/* [CMD-3][CMD-13] the standard commands are not optional: never `unknown`. */
	if (!cf_expect(c, status != IB_STATUS_UNKNOWN, "CMD-13",
		       "a standard command listed in `commands` runs: it is never `unknown`",
		       "%s answered unknown", name))
		return false;
	return cf_expect(c, status != IB_STATUS_DENIED, "CMD-2",
			 "a command listed in `commands` is not denied",
			 "%s, listed in the suite's `commands`, answered denied", name);
}

/* ---- the IUT's directory --------------------------------------------------------------------- */

const char *cf_iut_dir(struct cf_ctx *c)
{
	return c->w->opt->mode == CF_MODE_ADDR || !c->iut_dir[0] ? NULL : c->iut_dir;
}

bool cf_iut_restart_accepted(struct cf_ctx *c, const char *req, const char *what)
{
	struct ib_diag diag = { 0 };
	struct ib_node *probe = NULL;
	char dir[700];

	if (!cf_iut_stop(c))
		return false;
	/* In process, a node that does not open is taken for the suite's own failure: ask the
	 * IUT's code first, as cf_iut_start_refused does, so that a refusal is the IUT's. */
	if (c->w->opt->mode == CF_MODE_SELF) {
		cf_iut_given_dir(c, dir, sizeof dir);
		if (ib_node_open(&probe, c->w->loop, dir, &diag) != IB_OK)
			return cf_expect(c, false, req, what, "it refused to start: %s:%d: %s",
					 diag.file, diag.line, diag.reason);
		ib_node_free(probe);
	}
	return cf_iut_restart(c, false);
}

/* ---- identities and reference nodes -------------------------------------------------------- */

const struct ib_identity *cf_tester_identity(struct cf_ctx *c, int i)
{
	if (i == CF_STRANGER)
		return c->w->stranger;
	return i >= 0 && i < CF_TESTERS ? c->w->testers[i] : NULL;
}

const struct ib_identity *cf_ref_identity(struct cf_ctx *c, int i)
{
	return i >= 0 && i < CF_REFS ? c->w->refs[i] : NULL;
}

const struct ib_keyring *cf_suite_keyring(struct cf_ctx *c)
{
	return c->trusted;
}

static void ref_log(void *ctx, enum ib_log_level level, const char *line)
{
	struct cf_ctx *c = ctx;

	(void)level;
	cf_note(c, "reference node: %s", line);
}

struct ib_node *cf_ref_node(struct cf_ctx *c, int i, const char *parent)
{
	struct ib_config cfg;
	struct ib_identity *id = NULL;
	struct ib_keyring *kr = NULL;
	struct ib_diag diag = { 0 };
	struct ib_node *n = NULL;
	char name[16];

	snprintf(name, sizeof name, "R%d", i);
	ib_config_defaults(&cfg, name);
	snprintf(cfg.listen, sizeof cfg.listen, "127.0.0.1:0");
	if (parent) {
		snprintf(cfg.parents[0], sizeof cfg.parents[0], "%s", parent);
		cfg.parent_count = 1;
	}
	cfg.keepalive_interval_ms = CF_KEEPALIVE_MS;
	cfg.keepalive_timeout_ms = CF_KEEPALIVE_TIMEOUT_MS;
	cfg.election_window_ms = CF_ELECTION_WINDOW_MS;
	cfg.reconnect_min_ms = CF_RECONNECT_MIN_MS;
	cfg.reconnect_max_ms = CF_RECONNECT_MAX_MS;
	if (c->nrefs == CF_MAX_REFS || !cf_ref_identity(c, i) ||
	    ib_identity_copy(&id, cf_ref_identity(c, i)) != IB_OK) {
		cf_harness_error(c, "cannot make reference node R%d", i);
		return NULL;
	}
	kr = ib_keyring_ref((struct ib_keyring *)c->trusted);
	if (ib_node_new(&n, c->w->loop, &cfg, id, kr, &diag) == IB_OK) {
		ib_node_set_log(n, ref_log, c, c->w->opt->verbose > 1 ? IB_LOG_DEBUG : IB_LOG_WARN);
		ib_node_set_seed(n, c->w->opt->seed + 1000u + (unsigned)i);
		ib_node_set_trace(n, c->w->trace);
		if (ib_node_start(n, &diag) == IB_OK) {
			c->refs[c->nrefs++] = n;
			return n;
		}
	}
	ib_node_free(n);
	cf_harness_error(c, "reference node R%d: %s", i, diag.reason);
	return NULL;
}

void cf_ref_addr(struct ib_node *n, char *addr)
{
	snprintf(addr, IB_MAX_ADDR, "127.0.0.1:%u", ib_node_listen_port(n));
}

/* ---- keys_digest --------------------------------------------------------------------------- */

static int raw_key_order(const void *a, const void *b)
{
	return memcmp(a, b, IB_PUBKEY_LEN);
}

bool cf_keys_digest(struct cf_ctx *c, unsigned untrusted_testers, char hex[65])
{
	uint8_t raw[CF_TESTERS + CF_REFS + 1][IB_PUBKEY_LEN], md[32];
	unsigned md_len = 0;
	size_t n = 0;

	for (int i = 0; i < CF_TESTERS; i++)
		if (!(untrusted_testers & (1u << i)))
			memcpy(raw[n++], ib_pubkey_raw(ib_identity_pubkey(cf_tester_identity(c, i))),
			       IB_PUBKEY_LEN);
	for (int i = 0; i < CF_REFS; i++)
		memcpy(raw[n++], ib_pubkey_raw(ib_identity_pubkey(cf_ref_identity(c, i))),
		       IB_PUBKEY_LEN);
	memcpy(raw[n++], ib_pubkey_raw(cf_iut_key(c)), IB_PUBKEY_LEN);
	qsort(raw, n, IB_PUBKEY_LEN, raw_key_order);
	if (EVP_Digest(raw, n * IB_PUBKEY_LEN, md, &md_len, EVP_sha256(), NULL) != 1)
		return false;
	ib_hex_encode(md, sizeof md, hex);
	return true;
}

bool cf_black_hole(struct cf_ctx *c, int fds[CF_HOLE_FILL + 1], const char *ip, uint16_t port,
		   char *addr)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	bool v6 = strchr(ip, ':') != NULL;
	socklen_t len = v6 ? sizeof *a6 : sizeof *a4;
	int err = 0, family = v6 ? AF_INET6 : AF_INET, one = 1;

	(void)c;
	for (int i = 0; i <= CF_HOLE_FILL; i++)
		fds[i] = -1;
	memset(&ss, 0, sizeof ss);
	ss.ss_family = (sa_family_t)family;
	if (v6) {
		a6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, ip, &a6->sin6_addr) != 1)
			return false;
	} else {
		a4->sin_port = htons(port);
		if (inet_pton(AF_INET, ip, &a4->sin_addr) != 1)
			return false;
	}
	/* SO_REUSEADDR: a port given may still be in TIME_WAIT from an earlier connection. */
	if ((fds[0] = socket(family, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(fds[0], SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fds[0], (struct sockaddr *)&ss, len) != 0 || listen(fds[0], 0) != 0 ||
	    getsockname(fds[0], (struct sockaddr *)&ss, &len) != 0)
		return false;
	for (int i = 1; i <= CF_HOLE_FILL; i++) {
		if ((fds[i] = socket(family, SOCK_STREAM, 0)) < 0 ||
		    fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK) != 0)
			return false;
		if (connect(fds[i], (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS)
			return false;
	}
	/* On the loopback the first connection is queued at once: the queue (backlog 0) is
	 * full from then on. */
	len = sizeof err;
	if (getsockopt(fds[1], SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
		return false;
	snprintf(addr, IB_MAX_ADDR, v6 ? "[%s]:%u" : "%s:%u", ip,
		 ntohs(v6 ? a6->sin6_port : a4->sin_port));
	return true;
}

void cf_black_hole_close(int fds[CF_HOLE_FILL + 1])
{
	for (int i = 0; i <= CF_HOLE_FILL; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}
