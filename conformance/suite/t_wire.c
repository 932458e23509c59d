/* t_wire.c - on-the-wire checks (issue 7): a live capture of the test's loopback traffic
 * (capture.h) shows what no endpoint can: that each connection starts with a TLS 1.3
 * ClientHello, that the IUT's ServerHello picks TLS 1.3 with an (EC)DHE key share (forward
 * secrecy), that no frame byte crosses the wire in clear, and that keep-alive traffic shows
 * at the configured interval.
 *
 * Capturing needs rights (root, or CAP_NET_RAW and CAP_NET_ADMIN): without them a test
 * reports NOT-APPLICABLE with the reason, never a pass. In addr mode it needs the IUT on
 * this host's loopback. */
#include "cf.h"
#include "capture.h"
#include "probe.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#define WIRE_LINK_MS 5000u

/* TLS on the wire (RFC 8446, section 5.1 and 4). */
#define TLS_CCS 20
#define TLS_ALERT 21
#define TLS_HANDSHAKE 22
#define TLS_APP_DATA 23
#define TLS_HS_CLIENT_HELLO 1
#define TLS_HS_SERVER_HELLO 2
#define TLS_EXT_SUPPORTED_GROUPS 10
#define TLS_EXT_SUPPORTED_VERSIONS 43
#define TLS_EXT_KEY_SHARE 51
#define TLS_1_3 0x0304
#define TLS_X25519 0x001d
#define TLS_AEAD_OVERHEAD 17    /* the inner content type and a 16-byte tag, at least */
#define TLS_MAX_CIPHERTEXT (16384 + 256)

/* ---- the capture, opened or not applicable ---------------------------------------------- */

static bool iut_on_loopback(struct cf_ctx *c)
{
	const char *h = cf_iut_host(c);
	struct in_addr a4;

	if (!strcmp(h, "localhost") || !strcmp(h, "::1"))
		return true;
	return inet_pton(AF_INET, h, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

static bool open_capture(struct cf_ctx *c, struct cap **k, uint16_t port)
{
	char why[512];

	if (!iut_on_loopback(c)) {
		cf_not_applicable(c, "the capture listens on the loopback device; the IUT is at %s",
				  cf_iut_host(c));
		return false;
	}
	switch (cap_open(k, cf_loop(c), &port, 1, why, sizeof why)) {
	case CAP_OK:
		cf_note(c, "capturing tcp port %u on lo", port);
		return true;
	case CAP_NO_RIGHTS:
		cf_not_applicable(c, "no right to capture packets (run as root, or give the suite "
				  "CAP_NET_RAW and CAP_NET_ADMIN): %s", why);
		return false;
	default:
		cf_harness_error(c, "cannot capture: %s", why);
		return false;
	}
}

static bool add_port(struct cf_ctx *c, struct cap *k, uint16_t port)
{
	char why[512];

	if (cap_add_port(k, port, why, sizeof why)) {
		cf_note(c, "capturing tcp port %u on lo too", port);
		return true;
	}
	cf_harness_error(c, "cannot capture port %u: %s", port, why);
	return false;
}

/* Every packet that carried bytes an endpoint has read is in the kernel's capture buffer
 * already (capture.h): one drain takes them. A drop would leave holes the checks misread. */
static bool settle(struct cf_ctx *c, struct cap *k)
{
	unsigned dropped;

	cap_drain(k);
	dropped = cap_dropped(k);
	if (dropped) {
		cf_harness_error(c, "the capture lost %u packets (buffer full, or over 64 "
				 "connections)", dropped);
		return false;
	}
	return true;
}

static uint16_t port_of(const char *addr)
{
	const char *colon = strrchr(addr, ':');

	return colon ? (uint16_t)atoi(colon + 1) : 0;
}

/* ---- TLS records and hellos ------------------------------------------------------------- */

struct tls_rec {
	uint8_t type;
	uint16_t version;
	size_t off;         /* of its header in the stream */
	size_t len;         /* of its body */
};

enum rec_status { REC_OK, REC_SHORT, REC_BAD };

/* The record at off in s[0..n). */
static enum rec_status record_at(const uint8_t *s, size_t n, size_t off, struct tls_rec *r)
{
	if (n - off < 5)
		return REC_SHORT;
	r->type = s[off];
	r->version = (uint16_t)(s[off + 1] << 8 | s[off + 2]);
	r->len = (size_t)(s[off + 3] << 8 | s[off + 4]);
	r->off = off;
	if (r->type < TLS_CCS || r->type > TLS_APP_DATA || s[off + 1] != 3 ||
	    r->len > TLS_MAX_CIPHERTEXT)
		return REC_BAD;
	return n - off - 5 < r->len ? REC_SHORT : REC_OK;
}

/* Up to max records of a stream from its start. *bad_at: offset of the first bytes that
 * are not a record header (SIZE_MAX: none); *tail: bytes of an unfinished last record. */
static size_t records(const struct cap_dir *d, struct tls_rec *out, size_t max, size_t *bad_at,
		      size_t *tail)
{
	const uint8_t *s = d->bytes.ptr;
	size_t n = d->bytes.len, off = 0, count = 0;
	struct tls_rec r;
	enum rec_status st = REC_OK;

	*bad_at = SIZE_MAX;
	while (off < n && (st = record_at(s, n, off, &r)) == REC_OK) {
		if (count < max)
			out[count] = r;
		count++;
		off += 5 + r.len;
	}
	if (off < n && st == REC_BAD)
		*bad_at = off;
	*tail = off < n && st == REC_SHORT ? n - off : 0;
	return count;
}

/* What a ClientHello or ServerHello says (only what the checks need). */
struct hello {
	uint8_t hs_type;
	bool hrr;                   /* a ServerHello that is a HelloRetryRequest */
	uint16_t suite;             /* ServerHello */
	bool offers_13;             /* ClientHello: supported_versions lists 0x0304 */
	uint16_t versions[8];       /* ClientHello: supported_versions */
	size_t nversions;
	uint16_t selected;          /* ServerHello: supported_versions; 0: absent */
	bool has_key_share;
	uint16_t shares[8];         /* key_share groups, in order (ServerHello: one) */
	size_t nshares;
	uint16_t groups[32];        /* ClientHello: supported_groups */
	size_t ngroups;
	char err[96];               /* why it did not parse */
};

/* Handshake message nth (0: the first) in clear in a stream: the bodies of its handshake
 * records up to the first encrypted or alert record, joined (a hello may span records;
 * change_cipher_spec records are skipped, they come between a HelloRetryRequest and the
 * second hello). *other_type: the type of the record that ended the search, or -1. */
static bool handshake_msg(const struct cap_dir *d, size_t nth, struct ib_buf *msg,
			  int *other_type)
{
	size_t off = 0, at = 0, len;
	struct tls_rec r;

	*other_type = -1;
	ib_buf_reset(msg);
	for (;;) {
		/* Whole messages already joined: skip to the nth. */
		while (msg->len - at >= 4 &&
		       msg->len - at >= 4 + (len = (size_t)(msg->ptr[at + 1] << 16 |
						     msg->ptr[at + 2] << 8 | msg->ptr[at + 3]))) {
			if (nth-- == 0) {
				memmove(msg->ptr, msg->ptr + at, 4 + len);
				msg->len = 4 + len;
				return true;
			}
			at += 4 + len;
		}
		enum rec_status st = record_at(d->bytes.ptr, d->bytes.len, off, &r);

		if (st == REC_BAD && off < d->bytes.len)
			*other_type = d->bytes.ptr[off];
		if (st != REC_OK)
			return false;
		if (r.type != TLS_HANDSHAKE && r.type != TLS_CCS) {
			*other_type = r.type;
			return false;
		}
		if (r.type == TLS_HANDSHAKE)
			ib_buf_put(msg, d->bytes.ptr + off + 5, r.len);
		off += 5 + r.len;
	}
}

static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8,
	0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8,
	0x33, 0x9c
};

/* A cursor over the bytes of a hello. */
struct rd {
	const uint8_t *p;
	size_t n, at;
	bool bad;
};

static const uint8_t *take(struct rd *r, size_t n)
{
	const uint8_t *p = r->p + r->at;

	if (r->bad || r->n - r->at < n) {
		r->bad = true;
		return NULL;
	}
	r->at += n;
	return p;
}

static unsigned take_u(struct rd *r, size_t n)
{
	const uint8_t *p = take(r, n);
	unsigned v = 0;

	for (size_t i = 0; p && i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* A vector with an n-byte length: a cursor over its contents. */
static struct rd take_vec(struct rd *r, size_t n)
{
	size_t len = take_u(r, n);
	const uint8_t *p = take(r, len);

	return (struct rd){ p, p ? len : 0, 0, p == NULL };
}

static void take_extension(struct hello *h, unsigned type, struct rd *e)
{
	if (type == TLS_EXT_SUPPORTED_VERSIONS && h->hs_type == TLS_HS_CLIENT_HELLO) {
		struct rd v = take_vec(e, 1);

		while (!v.bad && v.at < v.n) {
			uint16_t ver = (uint16_t)take_u(&v, 2);

			h->offers_13 |= ver == TLS_1_3;
			if (h->nversions < 8)
				h->versions[h->nversions++] = ver;
		}
	} else if (type == TLS_EXT_SUPPORTED_VERSIONS) {
		h->selected = (uint16_t)take_u(e, 2);
	} else if (type == TLS_EXT_KEY_SHARE) {
		/* ClientHello: a list of (group, key); ServerHello: one; HRR: the group alone. */
		struct rd list = h->hs_type == TLS_HS_CLIENT_HELLO ? take_vec(e, 2) : *e;

		h->has_key_share = true;
		while (!list.bad && list.at < list.n && h->nshares < 8) {
			h->shares[h->nshares++] = (uint16_t)take_u(&list, 2);
			if (!h->hrr)
				take_vec(&list, 2);
		}
		e->bad |= list.bad;
	} else if (type == TLS_EXT_SUPPORTED_GROUPS) {
		struct rd g = take_vec(e, 2);

		while (!g.bad && g.at < g.n && h->ngroups < 32)
			h->groups[h->ngroups++] = (uint16_t)take_u(&g, 2);
	}
}

/* Parses a ClientHello or ServerHello message (its 4-byte header included). */
static bool parse_hello(const uint8_t *msg, size_t len, struct hello *h)
{
	struct rd r = { msg, len, 0, false }, exts;
	const uint8_t *random;

	memset(h, 0, sizeof *h);
	h->hs_type = (uint8_t)take_u(&r, 1);
	r = take_vec(&r, 3);
	take_u(&r, 2);                      /* legacy_version */
	random = take(&r, 32);
	take_vec(&r, 1);                    /* legacy_session_id(_echo) */
	if (h->hs_type == TLS_HS_CLIENT_HELLO) {
		take_vec(&r, 2);            /* cipher_suites */
		take_vec(&r, 1);            /* legacy_compression_methods */
	} else {
		h->suite = (uint16_t)take_u(&r, 2);
		take_u(&r, 1);
		h->hrr = random && !memcmp(random, hrr_random, 32);
	}
	exts = take_vec(&r, 2);
	while (!exts.bad && exts.at < exts.n) {
		unsigned type = take_u(&exts, 2);
		struct rd e = take_vec(&exts, 2);

		take_extension(h, type, &e);
		exts.bad |= e.bad;
	}
	if (r.bad || exts.bad)
		snprintf(h->err, sizeof h->err, "a %s that does not parse",
			 h->hs_type == TLS_HS_CLIENT_HELLO ? "ClientHello" : "handshake message");
	return !h->err[0];
}

/* Key exchange groups that are ephemeral (EC)DHE, alone or in a hybrid with ML-KEM. */
static bool dhe_group(uint16_t g)
{
	return (g >= 0x0017 && g <= 0x0019) || g == 0x001d || g == 0x001e ||
	       (g >= 0x0100 && g <= 0x0104) || (g >= 0x11eb && g <= 0x11ed);
}

static const char *group_name(uint16_t g)
{
	switch (g) {
	case 0x0017: return "secp256r1";
	case 0x0018: return "secp384r1";
	case 0x0019: return "secp521r1";
	case 0x001d: return "x25519";
	case 0x001e: return "x448";
	case 0x11ec: return "X25519MLKEM768";
	default: return dhe_group(g) ? "(EC)DHE" : "not (EC)DHE";
	}
}

static bool has_u16(const uint16_t *v, size_t n, uint16_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* ---- a node with a tester parent and a tester child, captured ---------------------------- */

struct scene {
	struct cap *cap;
	struct hn_peer *parent, *child;
	uint16_t parent_port;
	struct ib_buf msg;
};

static bool handshakes_ended(void *arg)
{
	const struct scene *s = arg;

	return (hn_peer_tls_open(s->parent) || hn_peer_closed(s->parent)) &&
	       (hn_peer_tls_open(s->child) || hn_peer_closed(s->child));
}

/* The IUT is started as T0's child, and T1 connects to it: both links captured from their
 * first SYN. Only the handshakes are awaited here, without a verdict, so that what the
 * wire shows is judged first; scene_links then links both for good. */
static bool scene_start(struct cf_ctx *c, struct scene *s)
{
	char addr[IB_MAX_ADDR];
	struct cf_iut_opts o;

	memset(&o, 0, sizeof o);
	if (!(s->parent = cf_peer(c, 0)) || !cf_listen_parent(c, s->parent, addr))
		return false;
	s->parent_port = port_of(addr);
	if (!open_capture(c, &s->cap, s->parent_port))
		return false;
	o.parents[0] = addr;
	o.nparents = 1;
	if (!cf_iut_start(c, &o) || !add_port(c, s->cap, cf_iut_port(c)) ||
	    !(s->child = cf_peer(c, 1)))
		return false;
	if (hn_peer_connect_to(s->child, cf_iut_host(c), cf_iut_port(c)) != IB_OK) {
		cf_harness_error(c, "cannot connect to the IUT");
		return false;
	}
	cf_run_until(c, handshakes_ended, s, WIRE_LINK_MS);
	return settle(c, s->cap);
}

/* After the wire checks: both links complete (HELLOs exchanged), or the verdict says why
 * not. */
static bool scene_links(struct cf_ctx *c, struct scene *s)
{
	if (!cf_accept_child(c, s->parent, NULL, 0) ||
	    !cf_wait(c, handshakes_ended, s, WIRE_LINK_MS, "the TLS handshakes end"))
		return false;
	if (!cf_expect(c, hn_peer_tls_open(s->child), "TLS-4",
		       "the IUT completes TLS 1.3 with a tester whose key it was given",
		       "the handshake failed: %s", hn_peer_failure(s->child)))
		return false;
	if (hn_peer_send_hello(s->child, IB_ROLE_SERVER, 30000, NULL, 0) != IB_OK) {
		cf_harness_error(c, "cannot send HELLO");
		return false;
	}
	return cf_wait_type(c, s->child, IB_MSG_HELLO, 1, WIRE_LINK_MS);
}

static void scene_free(struct scene *s)
{
	cap_free(s->cap);
	ib_buf_free(&s->msg);
}

/* Whether the IUT is the server of cn (it listens on its port) or the client. */
static bool iut_serves(struct cf_ctx *c, const struct cap_conn *cn)
{
	return cn->port[1] == cf_iut_port(c);
}

static const char *conn_name(struct cf_ctx *c, const struct cap_conn *cn, char *buf, size_t cap)
{
	snprintf(buf, cap, iut_serves(c, cn) ? "tester :%u -> IUT :%u" : "IUT :%u -> tester :%u",
		 cn->port[0], cn->port[1]);
	return buf;
}

/* The connections of the test that carried bytes (the readiness probe of cmd mode sends
 * none); exactly `want` of them, each seen from its SYN, or the capture missed something. */
static bool captured_links(struct cf_ctx *c, struct cap *k, size_t want,
			   const struct cap_conn **out)
{
	size_t n = 0;

	for (size_t i = 0; i < cap_conns(k); i++) {
		const struct cap_conn *cn = cap_conn(k, i);

		if (!cn->dir[0].bytes.len && !cn->dir[1].bytes.len)
			continue;
		if (!cn->syn_seen || cn->dir[0].gap || cn->dir[1].gap) {
			cf_harness_error(c, "the capture missed the start or bytes of connection "
					 ":%u -> :%u", cn->port[0], cn->port[1]);
			return false;
		}
		if (n < want)
			out[n] = cn;
		n++;
	}
	if (n != want) {
		cf_harness_error(c, "the capture shows %zu connections with payload, the test made "
				 "%zu", n, want);
		return false;
	}
	return true;
}

/* The scene's two links as captured. When a link is missing, the IUT's failure to link
 * (a TIMEOUT, a refused handshake) is the verdict before the capture's. */
static bool scene_captured(struct cf_ctx *c, struct scene *s, const struct cap_conn **links)
{
	size_t n = 0;

	for (size_t i = 0; i < cap_conns(s->cap); i++)
		n += cap_conn(s->cap, i)->dir[0].bytes.len || cap_conn(s->cap, i)->dir[1].bytes.len;
	if (n < 2 && !scene_links(c, s))
		return false;
	return captured_links(c, s->cap, 2, links);
}

/* The first handshake message of one direction, as a parsed hello of type hs_type. A
 * failure is the IUT's (FAIL [TLS-1]) when it sent those bytes, else the harness's. */
static bool hello_of(struct cf_ctx *c, struct scene *s, const struct cap_conn *cn, int dir,
		     size_t nth, uint8_t hs_type, struct hello *h)
{
	const struct cap_dir *d = &cn->dir[dir];
	bool by_iut = iut_serves(c, cn) == (dir == 1);
	const char *want = hs_type == TLS_HS_CLIENT_HELLO ? "ClientHello" : "ServerHello";
	char name[64], actual[256] = "", expected[160];
	uint8_t start[3] = { 0 };
	int other = -1;
	bool whole = handshake_msg(d, nth, &s->msg, &other);

	conn_name(c, cn, name, sizeof name);
	if (d->bytes.len)
		memcpy(start, d->bytes.ptr, d->bytes.len < 3 ? d->bytes.len : 3);
	if (!whole && other >= 0)
		snprintf(actual, sizeof actual, "on %s a record of content type %d where the "
			 "hello should be, stream starting %02x %02x %02x", name, other, start[0],
			 start[1], start[2]);
	else if (!whole)
		snprintf(actual, sizeof actual, "on %s: %zu bytes, not a whole handshake record",
			 name, d->bytes.len);
	else if (!parse_hello(s->msg.ptr, s->msg.len, h))
		snprintf(actual, sizeof actual, "on %s: %s", name, h->err);
	else if (h->hs_type != hs_type)
		snprintf(actual, sizeof actual, "on %s handshake message %zu in clear has type %u",
			 name, nth, h->hs_type);
	if (!actual[0])
		return true;
	if (!by_iut) {
		cf_harness_error(c, "a tester did not start with a %s: %s", want, actual);
		return false;
	}
	snprintf(expected, sizeof expected, "the IUT's first bytes on a link are a TLS handshake "
		 "record holding a %s", want);
	return cf_expect(c, false, "TLS-1", expected, "%s", actual);
}

/* ---- wire.client-hello-first --------------------------------------------------------------- */

static const char *versions_text(const struct hello *h, char *buf, size_t cap)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < h->nversions && used < cap; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%s0x%04x", i ? " " : "",
					 h->versions[i]);
	return h->nversions ? buf : "(no supported_versions extension)";
}

static bool check_starts(struct cf_ctx *c, struct scene *s, const struct cap_conn *cn)
{
	struct hello ch, sh;
	char name[64], vers[64];

	conn_name(c, cn, name, sizeof name);
	if (!hello_of(c, s, cn, 0, 0, TLS_HS_CLIENT_HELLO, &ch) ||
	    !hello_of(c, s, cn, 1, 0, TLS_HS_SERVER_HELLO, &sh))
		return false;
	if (!iut_serves(c, cn) &&
	    !cf_expect(c, ch.offers_13 && ch.nversions == 1, "TLS-1",
		       "the IUT's ClientHello offers TLS 1.3 and nothing else (supported_versions "
		       "= [0x0304]): offering TLS 1.2 is being ready to negotiate it",
		       "on %s supported_versions lists %zu version(s): %s", name, ch.nversions,
		       versions_text(&ch, vers, sizeof vers)))
		return false;
	if (iut_serves(c, cn) && !ch.offers_13) {
		cf_harness_error(c, "the tester's ClientHello on %s does not offer TLS 1.3", name);
		return false;
	}
	cf_note(c, "%s: starts with ClientHello (TLS 1.3 offered), answered by ServerHello",
		name);
	return true;
}

static void test_client_hello_first(struct cf_ctx *c)
{
	struct scene s = { 0 };
	const struct cap_conn *links[2];

	if (!scene_start(c, &s) || !scene_captured(c, &s, links) ||
	    !check_starts(c, &s, links[0]) || !check_starts(c, &s, links[1]))
		goto out;
	scene_links(c, &s);
out:
	scene_free(&s);
}

/* ---- wire.server-hello-tls13-dhe ----------------------------------------------------------- */

/* The IUT as a server: its ServerHello (past a HelloRetryRequest) selects TLS 1.3 and an
 * (EC)DHE share. */
static bool check_server_hello(struct cf_ctx *c, struct scene *s, const struct cap_conn *cn)
{
	struct hello sh;
	char name[64];

	conn_name(c, cn, name, sizeof name);
	if (!hello_of(c, s, cn, 1, 0, TLS_HS_SERVER_HELLO, &sh))
		return false;
	/* hello_of is true only when it parsed the hello into sh (its message stayed empty).
	 * NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Branch) */
	if (sh.hrr) {
		/* Legal, but the tester offers an X25519 share: [TLS-7] says that should do. */
		cf_note(c, "%s: HelloRetryRequest for group 0x%04x; [TLS-7] offers X25519", name,
			sh.nshares ? sh.shares[0] : 0);
		if (!hello_of(c, s, cn, 1, 1, TLS_HS_SERVER_HELLO, &sh))
			return false;
	}
	if (!cf_expect(c, sh.selected == TLS_1_3, "TLS-1",
		       "the IUT's ServerHello selects TLS 1.3 (supported_versions = 0x0304)",
		       "on %s supported_versions = 0x%04x (0: absent), cipher suite 0x%04x",
		       name, sh.selected, sh.suite) ||
	    !cf_expect(c, sh.has_key_share && sh.nshares == 1 && dhe_group(sh.shares[0]),
		       "TLS-1", "the IUT's ServerHello carries a key_share of an (EC)DHE group: "
		       "forward secrecy, never a PSK-only key exchange",
		       "on %s: %s, group 0x%04x (%s)", name,
		       sh.has_key_share ? "key_share" : "no key_share extension",
		       sh.nshares ? sh.shares[0] : 0, group_name(sh.nshares ? sh.shares[0] : 0)))
		return false;
	cf_note(c, "%s: ServerHello TLS 1.3, suite 0x%04x, key share %s (0x%04x)%s", name,
		sh.suite, group_name(sh.shares[0]), sh.shares[0],
		sh.shares[0] == TLS_X25519 ? "" : "; [TLS-7] prefers x25519");
	return true;
}

/* The IUT as a client: its ClientHello offers (EC)DHE shares, X25519 among its groups. */
static bool check_client_offer(struct cf_ctx *c, struct scene *s, const struct cap_conn *cn)
{
	bool dhe = false;
	struct hello ch;
	char name[64];

	conn_name(c, cn, name, sizeof name);
	if (!hello_of(c, s, cn, 0, 0, TLS_HS_CLIENT_HELLO, &ch))
		return false;
	/* As in check_server_hello: ch is parsed.
	 * NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
	for (size_t i = 0; i < ch.nshares; i++)
		dhe |= dhe_group(ch.shares[i]);
	if (!cf_expect(c, ch.offers_13 && dhe, "TLS-1",
		       "the IUT's ClientHello offers TLS 1.3 with a key_share of an (EC)DHE group",
		       "on %s: TLS 1.3 %s, %zu key share(s), first group 0x%04x (%s)", name,
		       ch.offers_13 ? "offered" : "not offered", ch.nshares,
		       ch.nshares ? ch.shares[0] : 0, group_name(ch.nshares ? ch.shares[0] : 0)))
		return false;
	if (!cf_expect(c, has_u16(ch.groups, ch.ngroups, TLS_X25519) ||
			  has_u16(ch.shares, ch.nshares, TLS_X25519), "TLS-7",
		       "the IUT's ClientHello offers X25519 (SHOULD)",
		       "on %s: %zu supported groups, none is x25519 (0x001d)", name, ch.ngroups))
		return false;
	cf_note(c, "%s: ClientHello shares %s (0x%04x)%s", name, group_name(ch.shares[0]),
		ch.shares[0], ch.nshares > 1 ? " and more" : "");
	return true;
}

/* The connection of the capture with payload that is none of the `known`. */
static const struct cap_conn *another_link(struct cap *k, const struct cap_conn *const *known,
					   size_t nknown)
{
	for (size_t i = 0; i < cap_conns(k); i++) {
		const struct cap_conn *cn = cap_conn(k, i);
		bool old = false;

		for (size_t j = 0; j < nknown; j++)
			old |= cn == known[j];
		if (!old && (cn->dir[0].bytes.len || cn->dir[1].bytes.len))
			return cn;
	}
	return NULL;
}

/* [TLS-1] A client that offers TLS 1.2 only: what the IUT sends back must not be a
 * ServerHello that selects it (a correct node answers with an alert, or closes). */
static bool check_refuses_tls12(struct cf_ctx *c, struct scene *s,
				const struct cap_conn *const *links)
{
	struct tls_probe_opts o = { .min_version = TLS1_2_VERSION, .max_version = TLS1_2_VERSION,
				    .cert = TLS_PROBE_CERT_ED25519,
				    .id = cf_tester_identity(c, 2) };
	const struct cap_conn *cn;
	struct tls_probe *p = NULL;
	struct hello sh;
	char err[128];
	int other = -1;
	bool ok = false;

	if (tls_probe_start(&p, cf_loop(c), cf_iut_host(c), cf_iut_port(c), &o, err) != IB_OK) {
		cf_harness_error(c, "TLS prober: %s", err);
		return false;
	}
	if (!cf_wait(c, tls_probe_settled, p, WIRE_LINK_MS, "the TLS 1.2 prober's handshake "
		     "ends") || !settle(c, s->cap))
		goto out;
	if (!(cn = another_link(s->cap, links, 2))) {
		cf_harness_error(c, "the capture does not show the TLS 1.2 prober's connection");
		goto out;
	}
	if (handshake_msg(&cn->dir[1], 0, &s->msg, &other) &&
	    parse_hello(s->msg.ptr, s->msg.len, &sh) && sh.hs_type == TLS_HS_SERVER_HELLO &&
	    !sh.hrr) {
		ok = cf_expect(c, sh.selected == TLS_1_3, "TLS-1", "the IUT refuses a client "
			       "that offers TLS 1.2 only: no ServerHello selecting it",
			       "its ServerHello selects %s (supported_versions 0x%04x, cipher "
			       "suite 0x%04x)", sh.selected ? "another version" : "TLS 1.2",
			       sh.selected, sh.suite);
		goto out;
	}
	cf_note(c, "a TLS 1.2-only client: the IUT answered %s (%s)",
		other == TLS_ALERT ? "with an alert" : "no ServerHello", tls_probe_failure(p));
	ok = true;
out:
	tls_probe_free(p);
	return ok;
}

static void test_server_hello(struct cf_ctx *c)
{
	struct scene s = { 0 };
	const struct cap_conn *links[2];

	if (!scene_start(c, &s) || !scene_captured(c, &s, links))
		goto out;
	for (size_t i = 0; i < 2; i++)
		if (!(iut_serves(c, links[i]) ? check_server_hello(c, &s, links[i])
					      : check_client_offer(c, &s, links[i])))
			goto out;
	if (scene_links(c, &s))
		check_refuses_tls12(c, &s, links);
out:
	scene_free(&s);
}

/* ---- wire.no-plaintext ------------------------------------------------------------------ */

/* Byte strings that must not cross the wire: every frame's signature, and 16-byte runs of
 * its bytes at every 8th offset (so any clear run of 23 bytes or more contains one). Runs
 * with few distinct bytes (zero ids, padding) could occur in a handshake by chance. */
struct needles {
	struct ib_buf bytes;        /* needles one after another */
	size_t count;
	size_t len[4096];
};

static void add_needle(struct needles *nd, const uint8_t *p, size_t len)
{
	bool seen[256] = { false };
	size_t distinct = 0;

	for (size_t i = 0; i < len; i++)
		if (!seen[p[i]]) {
			seen[p[i]] = true;
			distinct++;
		}
	if (distinct < 8 || nd->count == sizeof nd->len / sizeof nd->len[0])
		return;
	ib_buf_put(&nd->bytes, p, len);
	nd->len[nd->count++] = len;
}

static void add_frame_needles(struct needles *nd, const uint8_t *frame, size_t len)
{
	if (len >= IB_FRAME_HEADER_LEN + IB_SIG_LEN)
		add_needle(nd, frame + IB_FRAME_HEADER_LEN, IB_SIG_LEN);
	for (size_t off = 0; off + 16 <= len; off += 8)
		add_needle(nd, frame + off, 16);
}

static bool contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t len)
{
	for (size_t i = 0; i + len <= n; i++) {
		const uint8_t *p = memchr(hay + i, needle[0], n - len + 1 - i);

		if (!p)
			return false;
		i = (size_t)(p - hay);
		if (!memcmp(p, needle, len))
			return true;
	}
	return false;
}

/* Where a needle shows in d, or SIZE_MAX. */
static size_t find_needle(const struct needles *nd, const struct cap_dir *d, size_t *which)
{
	size_t at = 0;

	for (size_t i = 0; i < nd->count; at += nd->len[i], i++)
		if (contains(d->bytes.ptr, d->bytes.len, nd->bytes.ptr + at, nd->len[i])) {
			*which = i;
			return at;
		}
	return SIZE_MAX;
}

/* [TLS-1] A direction carries TLS records only, of record version 0x0303 (the ClientHello's
 * record may say 0x0301), and no needle. NULL if so, else what is wrong (in buf). */
static const char *judge_stream(const struct needles *nd, const struct cap_dir *d, bool client,
				char *buf, size_t cap)
{
	struct tls_rec r[512];
	size_t bad_at, tail, which;
	size_t n = records(d, r, 512, &bad_at, &tail);

	if (bad_at != SIZE_MAX) {
		const uint8_t *p = d->bytes.ptr + bad_at;
		bool frame = d->bytes.len - bad_at >= IB_FRAME_HEADER_LEN && p[16] == 0 &&
			     p[17] == IB_SIG_LEN;

		snprintf(buf, cap, "at byte %zu (after %zu records) bytes %02x %02x %02x that are "
			 "not a TLS record header%s", bad_at, n, p[0],
			 bad_at + 1 < d->bytes.len ? p[1] : 0, bad_at + 2 < d->bytes.len ? p[2] : 0,
			 frame ? ", but a frame header (signature_length 64): a frame in clear" : "");
		return buf;
	}
	for (size_t i = 0; i < n && i < 512; i++)
		if (r[i].version != 0x0303 && !(client && i == 0 && r[i].version == 0x0301)) {
			snprintf(buf, cap, "record %zu (type %u) has version 0x%04x", i, r[i].type,
				 r[i].version);
			return buf;
		}
	if (find_needle(nd, d, &which) != SIZE_MAX) {
		snprintf(buf, cap, "needle %zu of the frames (%zu bytes of a frame a tester sent "
			 "or received) is in clear in the TCP payload", which, nd->len[which]);
		return buf;
	}
	(void)tail;     /* a record still on its way at the end is not a fault */
	return NULL;
}

/* The detector itself, on a made-up connection whose client sends a frame in clear inside
 * a record header, split over two segments and one retransmission: it must see it. */
/* One IPv4 + TCP packet from 127.0.0.1:40000 to :40001 (checksums left out: not read). */
static size_t fake_packet(uint8_t *pkt, uint32_t seq, uint8_t flags, const uint8_t *payload,
			  size_t len)
{
	static const uint8_t head[40] = {
		0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
		0x9c, 0x40, 0x9c, 0x41, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0, 0xff, 0xff, 0, 0, 0, 0 };
	size_t total = sizeof head + len;

	memcpy(pkt, head, sizeof head);
	pkt[2] = (uint8_t)(total >> 8);
	pkt[3] = (uint8_t)total;
	for (int i = 0; i < 4; i++)
		pkt[24 + i] = (uint8_t)(seq >> (24 - 8 * i));
	pkt[33] = flags;
	if (len)    /* a SYN carries no payload (payload may be NULL) */
		memcpy(pkt + sizeof head, payload, len);
	return total;
}

/* The detector itself, on a made-up connection whose client sends a frame in clear inside
 * a record header, split over two segments with a retransmission between: it must see it. */
static bool detector_sees(const uint8_t *frame, size_t len, const struct needles *nd)
{
	uint8_t data[1600] = { TLS_APP_DATA, 3, 3, (uint8_t)(len >> 8), (uint8_t)len };
	uint8_t pkt[1700];
	size_t half = (5 + len) / 2, which;
	struct cap *k;
	bool seen;

	if (len + 5 > sizeof data || !(k = cap_offline()))
		return false;
	memcpy(data + 5, frame, len);
	cap_feed(k, 12 /* DLT_RAW */, pkt, fake_packet(pkt, 1000, 0x02, NULL, 0), 1);
	cap_feed(k, 12, pkt, fake_packet(pkt, 1001, 0x18, data, half), 2);
	cap_feed(k, 12, pkt, fake_packet(pkt, 1001, 0x18, data, half), 3);
	cap_feed(k, 12, pkt, fake_packet(pkt, (uint32_t)(1001 + half), 0x18, data + half,
					 5 + len - half), 4);
	seen = cap_conns(k) == 1 && cap_conn(k, 0)->syn_seen &&
	       cap_conn(k, 0)->dir[0].bytes.len == 5 + len &&
	       find_needle(nd, &cap_conn(k, 0)->dir[0], &which) != SIZE_MAX;
	cap_free(k);
	return seen;
}

static void needles_of_peer(struct needles *nd, const struct hn_peer *p)
{
	for (size_t i = 0; i < hn_peer_received(p); i++)
		add_frame_needles(nd, hn_peer_got(p, i)->raw.ptr, hn_peer_got(p, i)->raw.len);
}

/* T0 makes the IUT publish (ib.publish), then publishes itself; T1 gets both floods and asks
 * ib.info. Frames of all kinds, in both directions, with recognizable values. */
static bool exchange(struct cf_ctx *c, struct hn_peer *t0, struct hn_peer *t1,
		     struct ib_buf *own, const char *canary)
{
	struct ib_buf out = { 0 };
	struct ib_msg m;
	uint16_t status;
	bool ok = false;

	if (!cf_iut_publish(c, t0, "wire.by-iut", canary, NULL) ||
	    !cf_wait_type(c, t1, IB_MSG_PUBLISH, 1, WIRE_LINK_MS))
		goto out;
	cf_msg_publish(&m, "wire.by-tester", cf_unix_us(c), canary);
	if (hn_peer_send(t0, &m, NULL, NULL, false, own) != IB_OK) {
		cf_harness_error(c, "cannot send PUBLISH");
		goto out;
	}
	/* ib.info's RESULT also tells that the IUT read everything T1 sent before it. */
	ok = cf_wait_type(c, t1, IB_MSG_PUBLISH, 2, WIRE_LINK_MS) &&
	     cf_command(c, t1, NULL, "ib.info", NULL, 0, &status, &out) &&
	     cf_command(c, t0, NULL, "ib.ping", NULL, 0, &status, &out);
out:
	ib_buf_free(&out);
	return ok;
}

static bool judge_link(struct cf_ctx *c, const struct needles *nd, const struct cap_conn *cn)
{
	static const char *const dir_name[2] = { "client to server", "server to client" };
	char why[256], name[64];

	conn_name(c, cn, name, sizeof name);
	for (int d = 0; d < 2; d++) {
		const char *bad = judge_stream(nd, &cn->dir[d], d == 0, why, sizeof why);

		if (!cf_expect(c, !bad, "TLS-1", "every byte of every link is in TLS records "
			       "(types 20-23, version 0x0303): no frame byte in clear",
			       "%s, %s: %s", name, dir_name[d], bad ? bad : ""))
			return false;
		cf_note(c, "%s, %s: %zu bytes of TLS records, no frame bytes in clear", name,
			dir_name[d], cn->dir[d].bytes.len);
	}
	return true;
}

static bool hello_or_closed(void *arg)
{
	return hn_peer_count(arg, IB_MSG_HELLO) > 0 || hn_peer_closed(arg);
}

/* cf_link_child, but a link that fails after TLS is first judged on the wire: frames sent
 * in clear break the tester's TLS, and the capture then says why. */
static bool link_child(struct cf_ctx *c, struct cap *k, const struct needles *nd,
		       struct hn_peer *p)
{
	if (!cf_connect(c, p))
		return false;
	if (hn_peer_send_hello(p, IB_ROLE_SERVER, 30000, NULL, 0) != IB_OK) {
		cf_harness_error(c, "cannot send HELLO");
		return false;
	}
	cf_run_until(c, hello_or_closed, p, WIRE_LINK_MS);
	if (hn_peer_count(p, IB_MSG_HELLO) > 0 && !hn_peer_closed(p))
		return true;
	if (!settle(c, k))
		return false;
	for (size_t i = 0; i < cap_conns(k); i++)
		if (cap_conn(k, i)->syn_seen && !judge_link(c, nd, cap_conn(k, i)))
			return false;
	return cf_expect(c, false, "TREE-4", "the IUT answers an authorized child's HELLO and "
			 "keeps the link", "%s after %zu HELLO(s): %s",
			 hn_peer_closed(p) ? "the link closed" : "nothing came",
			 hn_peer_count(p, IB_MSG_HELLO), hn_peer_failure(p));
}

static void test_no_plaintext(struct cf_ctx *c)
{
	struct needles *nd = calloc(1, sizeof *nd);
	struct ib_buf own = { 0 };
	struct hn_peer *t0, *t1;
	const struct cap_conn *links[2];
	struct cap *k = NULL;
	char canary[64];

	snprintf(canary, sizeof canary, "wire-canary-%016llx-in-clear?",
		 (unsigned long long)cf_rand(c));
	if (!nd) {
		cf_harness_error(c, "out of memory");
		goto out;
	}
	if (!cf_iut_start(c, NULL) || !open_capture(c, &k, cf_iut_port(c)) ||
	    !(t0 = cf_peer(c, 0)) || !(t1 = cf_peer(c, 1)) || !link_child(c, k, nd, t0) ||
	    !link_child(c, k, nd, t1) || !exchange(c, t0, t1, &own, canary) || !settle(c, k) ||
	    !captured_links(c, k, 2, links))
		goto out;
	add_frame_needles(nd, own.ptr, own.len);
	needles_of_peer(nd, t0);
	needles_of_peer(nd, t1);
	add_needle(nd, (const uint8_t *)canary, strlen(canary));
	if (!detector_sees(own.ptr, own.len, nd)) {
		cf_harness_error(c, "the plaintext detector misses a frame sent in clear");
		goto out;
	}
	cf_note(c, "%zu needles from %zu + %zu frames received and 1 sent", nd->count,
		hn_peer_received(t0), hn_peer_received(t1));
	for (size_t i = 0; i < 2 && judge_link(c, nd, links[i]); i++)
		;
out:
	cap_free(k);
	ib_buf_free(&own);
	if (nd)
		ib_buf_free(&nd->bytes);
	free(nd);
}

/* ---- wire.keepalive-interval ------------------------------------------------------------- */

#define KA_INTERVAL_MS 200u
#define KA_PINGS 5
#define KA_BURST_US 20000u     /* records closer than this are one write of the IUT */

/* The PINGs p received from frame `from` on, and their bytes. */
static size_t pings_from(struct hn_peer *p, size_t from, size_t *bytes)
{
	size_t n = 0;

	*bytes = 0;
	for (size_t i = from; i < hn_peer_received(p); i++)
		if (hn_peer_got(p, i)->type == IB_MSG_PING) {
			n++;
			*bytes += hn_peer_got(p, i)->raw.len;
		}
	return n;
}

/* The capture times of the application_data records from index first on, merged into
 * bursts (one write of the IUT may make several records). */
static size_t bursts_of(const struct cap_dir *d, const struct tls_rec *r, size_t first,
			size_t n, uint64_t *at, size_t max)
{
	size_t count = 0;

	for (size_t i = first; i < n; i++) {
		uint64_t t;

		if (r[i].type != TLS_APP_DATA)
			continue;
		t = cap_time_of(d, r[i].off + 5 + r[i].len - 1);
		if (count && t - at[count - 1] < KA_BURST_US)
			continue;
		if (count < max)
			at[count] = t;
		count++;
	}
	return count;
}

/* Real time: the last KA_PINGS bursts are the PINGs (the tester got them last), spaced by
 * the interval. On virtual time (self mode) the IUT sends them at once in real time, so
 * only the counts mean something there. */
static bool check_spacing(struct cf_ctx *c, const struct cap_dir *d, const struct tls_rec *r,
			  size_t first, size_t n)
{
	uint64_t at[64];
	size_t nb = bursts_of(d, r, first, n, at, 64);
	char gaps[256] = "";
	size_t used = 0;
	bool ok = nb >= KA_PINGS && nb <= 64;

	for (size_t i = nb - KA_PINGS + 1; nb >= KA_PINGS && nb <= 64 && i < nb; i++) {
		uint64_t gap = (at[i] - at[i - 1]) / 1000;

		used += (size_t)snprintf(gaps + used, sizeof gaps - used, "%s%llu",
					 used ? "," : "", (unsigned long long)gap);
		/* Timers fire late, never early; the capture clock is the kernel's. */
		ok &= gap + 15 >= KA_INTERVAL_MS && gap <= KA_INTERVAL_MS + 150;
	}
	if (ok)
		cf_note(c, "capture times: ms between the last %d bursts of records: %s", KA_PINGS,
			gaps);
	return cf_expect(c, ok, "KA-1", "on the wire, the IUT's records to an idle child come "
			 "every keepalive_interval_ms (200 ms)",
			 "%zu bursts of application_data records after HELLO; ms between the "
			 "last %d: %s", nb, KA_PINGS, gaps);
}

struct ping_wait {
	struct hn_peer *p;
	size_t from;
};

static bool pinged(void *arg)
{
	struct ping_wait *w = arg;
	size_t bytes;

	return pings_from(w->p, w->from, &bytes) >= KA_PINGS || hn_peer_closed(w->p);
}

static void test_keepalive_interval(struct cf_ctx *c)
{
	struct tls_rec r[256];
	size_t first, frames0, n, bad_at, tail, pings, bytes, app = 0, app_bytes = 0;
	const struct cap_conn *link;
	const struct cap_dir *d;
	struct cf_iut_opts o;
	struct ping_wait pw;
	struct hn_peer *p;
	struct cap *k = NULL;

	memset(&o, 0, sizeof o);
	o.keepalive_interval_ms = KA_INTERVAL_MS;
	o.keepalive_timeout_ms = 1000;
	if (!cf_iut_start(c, &o) || !open_capture(c, &k, cf_iut_port(c)) ||
	    !(p = cf_peer(c, 0)) || !cf_link_child(c, p) || !settle(c, k) ||
	    !captured_links(c, k, 1, &link))
		goto out;
	/* The tester has the IUT's HELLO: the records so far hold the handshake, HELLO and
	 * maybe more; the first PING is an interval away, after both marks. */
	d = &link->dir[1];
	first = records(d, r, 256, &bad_at, &tail);
	frames0 = pw.from = hn_peer_received(p);
	pw.p = p;
	/* Without a verdict: too few PINGs is judged with what the wire shows. */
	cf_run_until(c, pinged, &pw, KA_PINGS * KA_INTERVAL_MS + 2000);
	if (!settle(c, k))
		goto out;
	n = records(d, r, 256, &bad_at, &tail);
	pings = pings_from(p, frames0, &bytes);
	for (size_t i = first; i < n && i < 256; i++)
		if (r[i].type == TLS_APP_DATA) {
			app++;
			app_bytes += r[i].len - TLS_AEAD_OVERHEAD;
		}
	cf_note(c, "after HELLO: %zu PINGs (%zu bytes) to the tester; on the wire %zu "
		"application_data records (%zu bytes of content)", pings, bytes, app, app_bytes);
	if (!cf_expect(c, pings >= KA_PINGS, "KA-1", "a PING every keepalive_interval_ms (200) "
		       "on an idle link: 5 within 3 s",
		       "%zu PINGs in %u ms%s; on the wire %zu application_data records from the "
		       "IUT after its HELLO", pings, KA_PINGS * KA_INTERVAL_MS + 2000,
		       hn_peer_closed(p) ? " (then the link closed)" : "", app))
		goto out;
	if (!cf_expect(c, bad_at == SIZE_MAX && n <= 256 && app >= pings && app_bytes >= bytes,
		       "KA-1", "every PING the tester got crossed the wire as application_data "
		       "record(s) of at least its size",
		       "%zu PINGs (%zu bytes) after HELLO, %zu application_data records (%zu "
		       "bytes)%s", pings, bytes, app, app_bytes,
		       bad_at != SIZE_MAX ? ", then bytes that are not TLS records" : ""))
		goto out;
	if (cf_mode(c) == CF_MODE_SELF) {
		cf_note(c, "self mode: the IUT runs on virtual time, the capture on real time; the "
			"spacing is judged in cmd and addr modes only");
		goto out;
	}
	check_spacing(c, d, r, first, n);
out:
	cap_free(k);
}

const struct cf_test cf_tests_wire[] = {
	{ "wire.client-hello-first", "TLS-1", CF_NEEDS_CONFIG, test_client_hello_first,
	  "Seen on the wire (live capture, needs root): every link starts with a TLS ClientHello "
	  "offering TLS 1.3 (the IUT's: 1.3 only), answered by a ServerHello, whether the IUT "
	  "is server or client" },
	{ "wire.server-hello-tls13-dhe", "TLS-1 TLS-7", CF_NEEDS_CONFIG, test_server_hello,
	  "Seen on the wire: the IUT's ServerHello selects TLS 1.3 with an (EC)DHE key_share "
	  "(forward secrecy) and never one that selects TLS 1.2; as a client its ClientHello "
	  "offers (EC)DHE shares and X25519" },
	{ "wire.no-plaintext", "TLS-1", 0, test_no_plaintext,
	  "Seen on the wire: every byte of every link is a TLS record (types 20-23, version "
	  "0x0303), and no frame byte nor published value appears in clear" },
	{ "wire.keepalive-interval", "KA-1", CF_NEEDS_CONFIG, test_keepalive_interval,
	  "Seen on the wire: on an idle link the IUT sends an encrypted record for each PING, "
	  "every keepalive_interval_ms (200 ms; the spacing is judged on real time only)" },
	{ NULL, NULL, 0, NULL, NULL }
};
