/* t_tls.c - links: TCP and TLS (spec section 4). A TLS prober (probe.h) plays clients that a
 * correct node refuses - TLS 1.2, no or another ALPN, no, non-Ed25519 or unauthorized
 * certificates - and ones it must accept although their certificates look wrong; then, as
 * the IUT's parent, servers of the same kinds (tls.client-*, which need a node.conf).
 *
 * A refusal is judged twice. First "no link" ([TLS-1] to [TLS-4]): in TLS 1.3 the client
 * finishes before the server has checked the client's certificate, so an IUT that lets the
 * handshake complete is sent a valid HELLO, to tell "let in" from "slow to close". Then
 * "refused in the handshake, with the alert [TLS-8] names": the prober reports the alert it
 * received, and a close_notify, an ERROR or a bare close after the handshake is no refusal of
 * that kind; then the IUT must close TCP itself, at once, not when its handshake timer ends.
 * A few ClientHellos no TLS library writes (a supported_versions list without TLS 1.3, one
 * with a stray byte) are sent raw ([TLS-9]). Last, how an open link closes: on the peer's
 * close_notify ([TLS-10]), and with close_notify after an ERROR ([LINK-5]). */
#include "cf.h"
#include "net.h"
#include "probe.h"

#include <openssl/ssl.h>

#define PROBE_MS 5000u      /* TCP + TLS handshake of the prober */
#define REFUSE_MS 1000u     /* from the handshake (then the HELLO) to the close */
#define TICKET_MS 200u      /* after the HELLO answer, for late NewSessionTickets */

static bool start_probe(struct cf_ctx *c, const struct tls_probe_opts *o, struct tls_probe **p)
{
	char err[128];

	if (tls_probe_start(p, cf_loop(c), cf_iut_host(c), cf_iut_port(c), o, err) != IB_OK) {
		cf_harness_error(c, "TLS prober: %s", err);
		return false;
	}
	return true;
}

/* Options of a correct client of tester T0 (TLS 1.3, interbot/1, its Ed25519 key). */
static struct tls_probe_opts good_client(struct cf_ctx *c)
{
	return (struct tls_probe_opts){ .cert = TLS_PROBE_CERT_ED25519,
					.id = cf_tester_identity(c, 0) };
}

/* The IUT lets the client in: the handshake completes and a HELLO answers the prober's. */
static bool accepted(struct cf_ctx *c, struct tls_probe *p, const char *req, const char *client)
{
	char expected[256];

	snprintf(expected, sizeof expected, "the IUT accepts %s: TLS completes and HELLO is "
		 "answered with HELLO", client);
	if (!cf_wait(c, tls_probe_settled, p, PROBE_MS, "the prober's TLS handshake ends"))
		return false;
	if (!cf_expect(c, tls_probe_handshaken(p), req, expected, "%s",
		       tls_probe_failure(p)))
		return false;
	if (tls_probe_send_hello(p) != IB_OK) {
		cf_harness_error(c, "the prober cannot send HELLO");
		return false;
	}
	if (!cf_wait(c, tls_probe_got_hello, p, PROBE_MS, "the IUT answers the prober's HELLO"))
		return false;
	return cf_expect(c, tls_probe_count(p, IB_MSG_HELLO) > 0 && !tls_probe_closed(p), req,
			 expected, "the IUT closed the connection after %zu HELLO(s): %s",
			 tls_probe_count(p, IB_MSG_HELLO), tls_probe_failure(p));
}

/* After the client side of the handshake: a refusing IUT closes by itself. If it does not, a
 * HELLO tells whether it let the client in or decides only on the HELLO. */
static void judge_after_handshake(struct cf_ctx *c, struct tls_probe *p, const char *req,
				  const char *expected)
{
	cf_note(c, "prober: the client side completed %s", tls_probe_version(p));
	if (cf_run_until(c, tls_probe_ended, p, REFUSE_MS))
		return;
	if (tls_probe_send_hello(p) != IB_OK) {
		cf_harness_error(c, "the prober cannot send HELLO");
		return;
	}
	cf_run_until(c, tls_probe_got_hello, p, REFUSE_MS);
	if (!cf_expect(c, tls_probe_count(p, IB_MSG_HELLO) == 0, req, expected,
		       "the IUT answered the prober's HELLO over %s: it let the client in",
		       tls_probe_version(p)))
		return;
	if (tls_probe_closed(p))
		cf_expect(c, false, req, expected, "the connection stayed open %u ms after the "
			  "handshake; the IUT closed it only after the prober's HELLO (%s)",
			  REFUSE_MS, tls_probe_failure(p));
	else
		cf_expect(c, false, req, expected, "the connection stayed open %u ms after the "
			  "handshake, and %u ms after a HELLO", REFUSE_MS, REFUSE_MS);
}

/* How a refusal must look beyond "no link" ([TLS-8]). */
struct refusal {
	bool before_finished;   /* the prober's side of the handshake must not complete */
	int alert, alt_alert;   /* the alert that must come (alt_alert: another allowed, or -1) */
	const char *names;      /* for people: "bad_certificate (42)" */
};

/* [TLS-8] the refusal came as the alert of the table, not as a close after the handshake. */
static void expect_alert(struct cf_ctx *c, const struct tls_probe *p, struct refusal how)
{
	char expected[160];
	int got = tls_probe_alert(p);

	snprintf(expected, sizeof expected, "the IUT fails the handshake with alert %s",
		 how.names);
	if (got < 0)
		cf_expect(c, false, "TLS-8", expected, "it sent no alert: %s%s",
			  tls_probe_handshaken(p) ? "the handshake completed, then " : "",
			  tls_probe_failure(p));
	else if (got == 0)
		cf_expect(c, false, "TLS-8", expected, "it %s, then closed with close_notify",
			  tls_probe_handshaken(p) ? "completed the handshake" : "stopped");
	else
		cf_expect(c, got == how.alert || got == how.alt_alert, "TLS-8", expected, "%s",
			  tls_probe_failure(p));
}

/* [TLS-8] After its fatal alert the IUT closes TCP (RFC 8446, 6.2: "immediately"), not only
 * when its handshake timer (10 s) runs out. The prober keeps its side open (watch_close). */
static void expect_tcp_closed(struct cf_ctx *c, struct tls_probe *p)
{
	cf_run_until(c, tls_probe_tcp_ended, p, REFUSE_MS);
	cf_expect(c, tls_probe_tcp_ended(p), "TLS-8",
		  "after its alert the IUT closes the TCP connection",
		  "the connection was still open %u ms after the alert (%s)", REFUSE_MS,
		  tls_probe_failure(p));
}

/* [TLS-8] The alert of each refusal. */
#define PROTOCOL_VERSION ((struct refusal){ true, SSL_AD_PROTOCOL_VERSION, -1, \
					    "protocol_version (70)" })
#define NO_ALPN_SERVER ((struct refusal){ true, SSL_AD_NO_APPLICATION_PROTOCOL, -1, \
					  "no_application_protocol (120)" })
#define NO_ALPN_CLIENT ((struct refusal){ true, SSL_AD_NO_APPLICATION_PROTOCOL, \
					  SSL_AD_HANDSHAKE_FAILURE, "no_application_protocol " \
					  "(120) or handshake_failure (40)" })
#define NO_CERT ((struct refusal){ false, SSL_AD_CERTIFICATE_REQUIRED, -1, \
				   "certificate_required (116)" })
#define BAD_KEY ((struct refusal){ false, SSL_AD_BAD_CERTIFICATE, -1, "bad_certificate (42)" })

/* The IUT refuses the client: no link ([TLS-1] to [TLS-4]), and the alert of [TLS-8]. */
static void expect_refused(struct cf_ctx *c, const struct tls_probe_opts *o, const char *req,
			   const char *client, struct refusal how)
{
	struct tls_probe *p = NULL;
	char expected[256];

	struct tls_probe_opts watched = *o;

	snprintf(expected, sizeof expected, "the IUT refuses %s: no link, the connection ends "
		 "without a HELLO answered", client);
	watched.watch_close = true;
	if (!cf_iut_start(c, NULL) || !start_probe(c, &watched, &p))
		goto out;
	if (!cf_wait(c, tls_probe_settled, p, PROBE_MS, "the prober's TLS handshake ends"))
		goto out;
	if (tls_probe_handshaken(p) && !tls_probe_closed(p))
		judge_after_handshake(c, p, req, expected);
	if (!cf_ok(c))
		goto out;
	cf_note(c, "prober: refused (%s)", tls_probe_failure(p));
	if (how.before_finished &&
	    !cf_expect(c, !tls_probe_handshaken(p), strcmp(req, "TLS-1") ? "TLS-8" : req,
		       "the IUT fails the handshake at the ClientHello: it never completes",
		       "it completed a %s handshake, then closed (%s)", tls_probe_version(p),
		       tls_probe_failure(p)))
		goto out;
	expect_alert(c, p, how);
	if (cf_ok(c))
		expect_tcp_closed(c, p);
out:
	tls_probe_free(p);
}

/* ---- TLS-1 ------------------------------------------------------------------------------- */

static void test_refuse_tls12(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.min_version = o.max_version = TLS1_2_VERSION;
	expect_refused(c, &o, "TLS-1", "a client that offers only TLS 1.2", PROTOCOL_VERSION);
}

static void test_negotiates_13(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);
	struct tls_probe *p = NULL;

	o.min_version = TLS1_2_VERSION;
	if (!cf_iut_start(c, NULL) || !start_probe(c, &o, &p) ||
	    !accepted(c, p, "TLS-1", "T0 offering TLS 1.2 and 1.3"))
		goto out;
	cf_expect(c, tls_probe_version_number(p) == TLS1_3_VERSION, "TLS-1",
		  "offered TLS 1.2 and 1.3, the IUT negotiates TLS 1.3", "it negotiated %s",
		  tls_probe_version(p));
out:
	tls_probe_free(p);
}

/* ---- TLS-2 ------------------------------------------------------------------------------- */

static void test_refuse_no_alpn(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.no_alpn = true;
	expect_refused(c, &o, "TLS-2", "a client that offers no ALPN", NO_ALPN_SERVER);
}

static void test_refuse_wrong_alpn(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.alpn = "h2";
	expect_refused(c, &o, "TLS-2", "a client that offers only the ALPN h2", NO_ALPN_SERVER);
}

/* The IUT finds interbot/1 nowhere in a list of two versions either (its version check reads
 * the whole supported_versions list, not a one-entry one). */
static void test_refuse_no_alpn_two_versions(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.no_alpn = true;
	o.min_version = TLS1_2_VERSION;
	expect_refused(c, &o, "TLS-2", "a client that offers TLS 1.2 and 1.3 but no ALPN",
		       NO_ALPN_SERVER);
}

/* A name that starts with interbot/1 is not interbot/1: ALPN names compare whole. */
static void test_refuse_alpn_prefix(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.alpn = "interbot/10";
	expect_refused(c, &o, "TLS-2", "a client that offers only the ALPN interbot/10",
		       NO_ALPN_SERVER);
}

/* interbot/1 need not come first: the server looks through the whole list. */
static void test_alpn_among_others(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);
	struct tls_probe *p = NULL;

	o.alpn = "h2,interbot/1,http/1.1";
	if (cf_iut_start(c, NULL) && start_probe(c, &o, &p))
		accepted(c, p, "TLS-2", "T0 offering the ALPN list h2, interbot/1, http/1.1");
	tls_probe_free(p);
}

/* ---- TLS-9: the version before ALPN ------------------------------------------------------- */

static void test_refuse_tls12_no_alpn(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.min_version = o.max_version = TLS1_2_VERSION;
	o.no_alpn = true;
	expect_refused(c, &o, "TLS-9", "a client that offers only TLS 1.2, and no ALPN",
		       PROTOCOL_VERSION);
}

/* A TCP connection that sends bytes of the test's own making (a ClientHello no TLS library
 * would write) and keeps what comes back until the IUT closes. */
struct raw_conn {
	struct ib_loop *loop;
	int fd;
	bool up, ended;
	const uint8_t *out;
	size_t out_len, out_off;
	struct ib_buf in;
};

static void raw_close(struct raw_conn *r)
{
	if (r->fd >= 0) {
		ib_loop_unwatch(r->loop, r->fd);
		ib_net_close(r->fd);
		r->fd = -1;
	}
	r->ended = true;
}

static void raw_on_event(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct raw_conn *r = arg;
	uint8_t buf[4096];

	(void)loop;
	(void)fd;
	(void)events;
	if (!r->up) {
		int rc = ib_net_connect_result(r->fd);

		if (rc == IB_ERR_AGAIN)
			return;
		if (rc != IB_OK) {
			raw_close(r);
			return;
		}
		r->up = true;
	}
	while (r->out_off < r->out_len) {
		size_t sent = 0;
		int rc = ib_net_write(r->fd, r->out + r->out_off, r->out_len - r->out_off, &sent);

		if (rc == IB_ERR_AGAIN)
			break;
		if (rc != IB_OK) {
			raw_close(r);
			return;
		}
		r->out_off += sent;
	}
	for (;;) {
		size_t got = 0;
		int rc = ib_net_read(r->fd, buf, sizeof buf, &got);

		if (rc == IB_ERR_AGAIN)
			break;
		if (rc != IB_OK || ib_buf_put(&r->in, buf, got) != IB_OK) {
			raw_close(r);
			return;
		}
	}
	ib_loop_watch(r->loop, r->fd, IB_EV_READ | (r->out_off < r->out_len ? IB_EV_WRITE : 0),
		      raw_on_event, r);
}

static bool raw_ended(void *arg)
{
	return ((const struct raw_conn *)arg)->ended;
}

/* A ClientHello record without ALPN whose supported_versions extension holds the bytes given
 * (after its one-byte list length, which is given too), one cipher suite, no key share: the
 * IUT must refuse it on the version before it looks any further. */
static void raw_client_hello(struct ib_buf *out, const uint8_t *versions, size_t vlen)
{
	static const uint8_t head[] = {
		0x03, 0x03,                                     /* legacy_version */
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
		23, 24, 25, 26, 27, 28, 29, 30, 31, 32,         /* random */
		0x00,                                           /* legacy_session_id */
		0x00, 0x02, 0x13, 0x01,                         /* TLS_AES_128_GCM_SHA256 */
		0x01, 0x00                                      /* null compression */
	};
	size_t ext_len = 4 + vlen, body = sizeof head + 2 + ext_len;

	ib_buf_put_u8(out, 0x16);                               /* handshake record */
	ib_buf_put_u16(out, 0x0301);
	ib_buf_put_u16(out, (uint16_t)(4 + body));
	ib_buf_put_u8(out, 0x01);                               /* ClientHello */
	ib_buf_put_u24(out, (uint32_t)body);
	ib_buf_put(out, head, sizeof head);
	ib_buf_put_u16(out, (uint16_t)ext_len);
	ib_buf_put_u16(out, 0x002b);                            /* supported_versions */
	ib_buf_put_u16(out, (uint16_t)vlen);
	ib_buf_put(out, versions, vlen);
}

/* Sends the ClientHello of raw_client_hello(versions) to the IUT: it must answer with the
 * fatal alert alert (or alt_alert) in a plaintext record and close the connection. */
static void expect_raw_refused(struct cf_ctx *c, const uint8_t *versions, size_t vlen,
			       const char *client, int alert, int alt_alert, const char *names)
{
	struct raw_conn r = { .loop = cf_loop(c), .fd = -1 };
	struct ib_buf hello = { 0 };
	struct ib_diag diag = { 0 };
	char expected[256], what[96];
	int got = -1;

	snprintf(expected, sizeof expected, "the IUT refuses %s with the fatal alert %s, then "
		 "closes the connection", client, names);
	raw_client_hello(&hello, versions, vlen);
	if (!cf_iut_start(c, NULL))
		goto out;
	if (ib_net_connect(cf_iut_host(c), cf_iut_port(c), &r.fd, &diag) != IB_OK ||
	    ib_loop_watch(r.loop, r.fd, IB_EV_WRITE, raw_on_event, &r) != IB_OK) {
		cf_harness_error(c, "cannot connect to the IUT: %s", diag.reason);
		goto out;
	}
	r.out = hello.ptr;
	r.out_len = hello.len;
	if (!cf_wait(c, raw_ended, &r, PROBE_MS, "the IUT answers the ClientHello and closes"))
		goto out;
	/* An alert record: type 21, a version, length 2, level fatal (2), description. */
	if (r.in.len >= 7 && r.in.ptr[0] == 0x15 && r.in.ptr[3] == 0 && r.in.ptr[4] == 2 &&
	    r.in.ptr[5] == 2)
		got = r.in.ptr[6];
	if (got >= 0)
		snprintf(what, sizeof what, "it sent the fatal alert %d", got);
	else
		snprintf(what, sizeof what, "its %zu byte(s) held no fatal alert", r.in.len);
	cf_expect(c, got == alert || (alt_alert >= 0 && got == alt_alert), "TLS-9", expected,
		  "%s", what);
out:
	raw_close(&r);
	ib_buf_free(&r.in);
	ib_buf_free(&hello);
}

static void test_refuse_versions_without_13(struct cf_ctx *c)
{
	static const uint8_t versions[] = { 0x02, 0x03, 0x03 };    /* TLS 1.2 only */

	expect_raw_refused(c, versions, sizeof versions, "a ClientHello whose supported_versions "
			   "lists only TLS 1.2, without ALPN", SSL_AD_PROTOCOL_VERSION, -1,
			   "protocol_version (70)");
}

static void test_refuse_versions_malformed(struct cf_ctx *c)
{
	static const uint8_t versions[] = { 0x03, 0x03, 0x03, 0x03 };  /* 1.2 and a stray byte */

	expect_raw_refused(c, versions, sizeof versions, "a ClientHello whose supported_versions "
			   "list is TLS 1.2 and a stray byte, without ALPN",
			   SSL_AD_PROTOCOL_VERSION, SSL_AD_DECODE_ERROR,
			   "protocol_version (70) or decode_error (50)");
}

/* ---- TLS-3, TLS-4 ------------------------------------------------------------------------- */

static void test_refuse_no_cert(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.cert = TLS_PROBE_CERT_NONE;
	expect_refused(c, &o, "TLS-3", "a client that presents no certificate", NO_CERT);
}

static void test_refuse_rsa_cert(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.cert = TLS_PROBE_CERT_RSA;
	expect_refused(c, &o, "TLS-3", "a client with an RSA-2048 certificate (HELLO signed by T0)",
		       BAD_KEY);
}

static void test_refuse_p256_cert(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.cert = TLS_PROBE_CERT_P256;
	expect_refused(c, &o, "TLS-3",
		       "a client with an ECDSA P-256 certificate (HELLO signed by T0)", BAD_KEY);
}

static void test_refuse_stranger(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.id = cf_tester_identity(c, CF_STRANGER);
	expect_refused(c, &o, "TLS-4", "the stranger, a key not in authorized/", BAD_KEY);
}

static void test_refuse_fresh_key(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);
	struct ib_identity *fresh = NULL;

	if (ib_identity_generate(&fresh) != IB_OK) {
		cf_harness_error(c, "cannot generate a key");
		return;
	}
	o.id = fresh;
	expect_refused(c, &o, "TLS-4", "a freshly generated key nobody authorized", BAD_KEY);
	ib_identity_free(fresh);
}

/* The IUT's certificate carries its identity key: what its peers pin. */
static void test_server_key(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);
	struct tls_probe *p = NULL;
	const uint8_t *spki;
	char got[2 * IB_ID_LEN + 1] = "-", want[2 * IB_ID_LEN + 1];
	size_t len;
	ib_id id;

	if (!cf_iut_start(c, NULL) || !start_probe(c, &o, &p) ||
	    !accepted(c, p, "TLS-4", "T0, an authorized tester"))
		goto out;
	spki = tls_probe_peer_spki(p, &len);
	if (len == IB_SPKI_LEN) {
		ib_id_from_spki(&id, spki);
		ib_id_to_hex(&id, got);
	}
	ib_id_to_hex(cf_iut_id(c), want);
	if (!cf_expect(c, len == IB_SPKI_LEN, "TLS-3",
		       "the IUT's certificate holds an Ed25519 key (a 44-byte SPKI)",
		       "its SPKI is %zu bytes", len))
		goto out;
	cf_expect(c, ib_id_equal(&id, cf_iut_id(c)), "TLS-4",
		  "the IUT's certificate holds its identity key (the key its peers pin)",
		  "the certificate's key has id_bot %s, the IUT's id is %s", got, want);
out:
	tls_probe_free(p);
}

/* ---- TLS-5 ------------------------------------------------------------------------------- */

/* [TLS-5] T0's authorized key in a certificate made odd by opts: the link must open. */
static void expect_accepted(struct cf_ctx *c, const struct tls_probe_opts *o, const char *what)
{
	struct tls_probe *p = NULL;

	if (cf_iut_start(c, NULL) && start_probe(c, o, &p))
		accepted(c, p, "TLS-5", what);
	tls_probe_free(p);
}

static void test_expired_cert(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.expired = true;
	expect_accepted(c, &o, "T0's key in a certificate that expired yesterday");
}

static void test_foreign_issuer(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.foreign_issuer = true;
	expect_accepted(c, &o, "T0's key in a certificate issued and signed by another key");
}

static void test_odd_extension(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.odd_extension = true;
	expect_accepted(c, &o, "T0's key in a certificate with an unknown extension marked critical");
}

/* ---- TLS-6 ------------------------------------------------------------------------------- */

static void test_no_tickets(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);
	struct tls_probe *p = NULL;

	if (!cf_iut_start(c, NULL) || !start_probe(c, &o, &p) ||
	    !accepted(c, p, "TLS-6", "T0, an authorized tester"))
		goto out;
	/* Tickets come right after the handshake, before the HELLO answer; this is for an IUT
	 * that sends them later. */
	cf_run_for(c, TICKET_MS);
	cf_expect(c, tls_probe_tickets(p) == 0, "TLS-6", "the IUT sends no NewSessionTicket",
		  "it sent %zu NewSessionTicket(s)", tls_probe_tickets(p));
out:
	tls_probe_free(p);
}

/* Whether a ticket, if the IUT gave one anyway, lets a second connection skip the full
 * handshake or send 0-RTT data. Without a ticket there is nothing to resume: a pass. */
static void test_no_resumption(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);
	struct tls_probe *first = NULL, *second = NULL;
	SSL_SESSION *ticket;

	if (!cf_iut_start(c, NULL) || !start_probe(c, &o, &first) ||
	    !accepted(c, first, "TLS-6", "T0, an authorized tester"))
		goto out;
	cf_run_for(c, TICKET_MS);
	ticket = tls_probe_ticket_session(first);
	if (!ticket) {
		cf_note(c, "no session ticket: no session can be resumed");
		goto out;
	}
	if (!cf_expect(c, SSL_SESSION_get_max_early_data(ticket) == 0, "TLS-6",
		       "no ticket allows 0-RTT early data",
		       "a ticket allows %u bytes of early data",
		       (unsigned)SSL_SESSION_get_max_early_data(ticket)))
		goto out;
	o.resume = ticket;
	if (!start_probe(c, &o, &second) ||
	    !cf_wait(c, tls_probe_settled, second, PROBE_MS, "the second handshake ends"))
		goto out;
	cf_expect(c, !tls_probe_resumed(second), "TLS-6",
		  "the IUT refuses to resume a session: a second connection is a full handshake",
		  "it accepted the ticket's PSK: the second handshake resumed the session");
out:
	tls_probe_free(second);
	tls_probe_free(first);
}

/* ---- TLS-10, LINK-5: closing ------------------------------------------------------------ */

/* An open link whose peer sends close_notify (and keeps TCP open): the IUT closes it. */
static void test_close_notify_answered(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);
	struct tls_probe *p = NULL;

	o.watch_close = true;
	if (!cf_iut_start(c, NULL) || !start_probe(c, &o, &p) ||
	    !accepted(c, p, "TLS-10", "T0, an authorized tester"))
		goto out;
	if (tls_probe_close_notify(p) != IB_OK) {
		cf_harness_error(c, "the prober cannot send close_notify");
		goto out;
	}
	cf_run_until(c, tls_probe_tcp_ended, p, REFUSE_MS);
	cf_expect(c, tls_probe_tcp_ended(p), "TLS-10",
		  "sent close_notify on an open link, the IUT closes the connection at once",
		  "the connection was still open %u ms after the prober's close_notify (%s)",
		  REFUSE_MS, p && tls_probe_closed(p) ? tls_probe_failure(p) : "TLS still up");
out:
	tls_probe_free(p);
}

/* [LINK-5] SHOULD: a link the IUT closes with an ERROR (a second HELLO, [LINK-6]) ends with its
 * close_notify before TCP closes. */
static void test_close_notify_sent(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);
	struct tls_probe *p = NULL;

	if (!cf_iut_start(c, NULL) || !start_probe(c, &o, &p) ||
	    !accepted(c, p, "LINK-5", "T0, an authorized tester"))
		goto out;
	if (tls_probe_send_hello(p) != IB_OK) {
		cf_harness_error(c, "the prober cannot send HELLO");
		goto out;
	}
	if (!cf_wait(c, tls_probe_ended, p, PROBE_MS, "the IUT closes after a second HELLO") ||
	    !cf_expect(c, tls_probe_count(p, IB_MSG_ERROR) > 0, "LINK-6",
		       "the IUT closes the link with ERROR after a second HELLO",
		       "it closed without an ERROR (%s)", tls_probe_failure(p)))
		goto out;
	cf_expect(c, tls_probe_alert(p) == 0, "LINK-5",
		  "the IUT sends close_notify after its ERROR, before it closes TCP",
		  "%s", tls_probe_alert(p) < 0 ? "it closed TCP without close_notify"
					       : tls_probe_failure(p));
out:
	tls_probe_free(p);
}

/* ---- TLS-7 ------------------------------------------------------------------------------- */

static void test_x25519(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);
	struct tls_probe *p = NULL;

	o.groups = "X25519";
	if (!cf_iut_start(c, NULL) || !start_probe(c, &o, &p) ||
	    !accepted(c, p, "TLS-7", "T0 offering only the X25519 group"))
		goto out;
	cf_expect(c, strcmp(tls_probe_group(p), "X25519") == 0, "TLS-7",
		  "key exchange with X25519", "group %s", tls_probe_group(p));
out:
	tls_probe_free(p);
}

/* [TLS-7] SHOULD: the node's certificate is self-signed by its identity key. */
static void test_self_signed(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);
	struct tls_probe *p = NULL;

	if (cf_iut_start(c, NULL) && start_probe(c, &o, &p) &&
	    accepted(c, p, "TLS-7", "T0, an authorized tester"))
		cf_expect(c, tls_probe_peer_self_signed(p), "TLS-7",
			  "the IUT's certificate is self-signed (issuer = subject, signed by its "
			  "own key)", "its certificate is not self-signed");
	tls_probe_free(p);
}

/* ---- the IUT as a client: a server probe is its parent ------------------------------- */

/* Starts the IUT with the probe (listening) as its parent, and waits until the handshake
 * with it ends. addr must live as long as the test (the IUT's options point to it). */
static bool iut_connects_to_probe(struct cf_ctx *c, const struct tls_probe_opts *o,
				  struct tls_probe **p, char *addr)
{
	struct cf_iut_opts io = { .nparents = 1 };
	uint16_t port = 0;
	char err[128];

	if (tls_probe_listen(p, cf_loop(c), &port, o, err) != IB_OK) {
		cf_harness_error(c, "TLS prober: %s", err);
		return false;
	}
	snprintf(addr, IB_MAX_ADDR, "127.0.0.1:%u", port);
	io.parents[0] = addr;
	return cf_iut_start(c, &io) &&
	       cf_wait(c, tls_probe_settled, *p, PROBE_MS,
		       "the IUT connects to its parent (the prober) and the handshake ends");
}

/* The IUT, as a client, refuses the parent: no HELLO, and [TLS-8] an alert before its
 * Finished (how.before_finished is true for every client refusal). */
static void expect_parent_refused(struct cf_ctx *c, const struct tls_probe_opts *o,
				  const char *req, const char *parent, struct refusal how)
{
	struct tls_probe *p = NULL;
	char addr[IB_MAX_ADDR], expected[256];

	snprintf(expected, sizeof expected, "the IUT refuses %s: it closes, and sends no HELLO",
		 parent);
	if (!iut_connects_to_probe(c, o, &p, addr))
		goto out;
	if (tls_probe_handshaken(p) && !tls_probe_closed(p))
		cf_run_until(c, tls_probe_got_hello, p, REFUSE_MS);
	if (!cf_expect(c, tls_probe_count(p, IB_MSG_HELLO) == 0, req, expected,
		       "the IUT sent its HELLO over %s: it accepted that parent",
		       tls_probe_version(p)) ||
	    !cf_expect(c, tls_probe_closed(p), req, expected,
		       "no HELLO, but the connection stayed open %u ms", REFUSE_MS))
		goto out;
	cf_note(c, "prober (parent): refused (%s)", tls_probe_failure(p));
	if (cf_expect(c, !tls_probe_handshaken(p), strcmp(req, "TLS-1") ? "TLS-8" : req,
		      "the IUT fails the handshake before it sends its Finished",
		      "it completed a %s handshake, then closed (%s)", tls_probe_version(p),
		      tls_probe_failure(p)))
		expect_alert(c, p, how);
out:
	tls_probe_free(p);
}

static void test_client_refuse_tls12(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.min_version = o.max_version = TLS1_2_VERSION;
	expect_parent_refused(c, &o, "TLS-1", "a parent that speaks only TLS 1.2",
			      PROTOCOL_VERSION);
}

static void test_client_refuse_no_alpn(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.no_alpn = true;
	expect_parent_refused(c, &o, "TLS-2", "a parent that selects no ALPN protocol",
			      NO_ALPN_CLIENT);
}

static void test_client_refuse_p256(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.cert = TLS_PROBE_CERT_P256;
	expect_parent_refused(c, &o, "TLS-3", "a parent with an ECDSA P-256 certificate", BAD_KEY);
}

static void test_client_refuse_stranger(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.id = cf_tester_identity(c, CF_STRANGER);
	expect_parent_refused(c, &o, "TLS-4", "a parent whose key is not in authorized/", BAD_KEY);
}

/* The IUT as a client with T0 (authorized) as its parent: its HELLO arrives. */
static bool parent_accepted(struct cf_ctx *c, const struct tls_probe_opts *o,
			    struct tls_probe **p, char *addr, const char *req, const char *parent)
{
	char expected[256];

	snprintf(expected, sizeof expected, "the IUT accepts %s: TLS completes and it sends "
		 "HELLO", parent);
	if (!iut_connects_to_probe(c, o, p, addr))
		return false;
	if (!cf_expect(c, tls_probe_handshaken(*p), req, expected, "%s",
		       tls_probe_failure(*p)) ||
	    !cf_wait(c, tls_probe_got_hello, *p, PROBE_MS, "the IUT sends HELLO to its parent"))
		return false;
	return cf_expect(c, tls_probe_count(*p, IB_MSG_HELLO) > 0, req, expected,
			 "it closed without HELLO: %s", tls_probe_failure(*p));
}

static void test_client_expired_parent(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);
	struct tls_probe *p = NULL;
	char addr[IB_MAX_ADDR];

	o.expired = true;
	o.foreign_issuer = true;
	parent_accepted(c, &o, &p, addr, "TLS-5",
			"parent T0 whose certificate expired and was issued by another key");
	tls_probe_free(p);
}

/* The IUT's ALPN offer and its own certificate, as its parent sees them. */
static void test_client_hello(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);
	struct tls_probe *p = NULL;
	char addr[IB_MAX_ADDR];
	const uint8_t *spki;
	size_t len;
	ib_id id;

	/* The ClientHello first: an IUT that offers no ALPN fails the handshake itself. */
	if (!iut_connects_to_probe(c, &o, &p, addr) ||
	    !cf_expect(c, tls_probe_client_hello(p)->alpn_ours, "TLS-2",
		       "the IUT's ClientHello offers ALPN interbot/1",
		       "its ClientHello %s", tls_probe_client_hello(p)->seen ?
		       "lists no interbot/1 in ALPN" : "never came"))
		goto out;
	if (!cf_expect(c, tls_probe_handshaken(p), "TLS-4",
		       "the IUT completes TLS with parent T0, an authorized tester",
		       "%s", tls_probe_failure(p)))
		goto out;
	spki = tls_probe_peer_spki(p, &len);
	if (len == IB_SPKI_LEN)
		ib_id_from_spki(&id, spki);
	cf_expect(c, len == IB_SPKI_LEN && ib_id_equal(&id, cf_iut_id(c)), "TLS-3",
		  "the IUT presents a client certificate of its own Ed25519 identity key",
		  len == IB_SPKI_LEN ? "the certificate holds another Ed25519 key (%zu-byte SPKI)"
				     : "the certificate's key is not Ed25519 (%zu-byte SPKI)",
		  len);
out:
	tls_probe_free(p);
}

static void test_client_x25519(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);
	struct tls_probe *p = NULL;
	char addr[IB_MAX_ADDR];

	if (parent_accepted(c, &o, &p, addr, "TLS-7", "parent T0, an authorized tester"))
		cf_expect(c, tls_probe_client_hello(p)->x25519, "TLS-7",
			  "the IUT's ClientHello offers the X25519 group",
			  "its supported_groups lacks X25519 (negotiated %s)", tls_probe_group(p));
	tls_probe_free(p);
}

/* [TLS-6] The parent gives tickets and drops the link; the IUT's next ClientHello must be a
 * full handshake: no pre_shared_key, no early_data. */
static void test_client_no_resumption(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);
	struct tls_probe *first = NULL, *second = NULL;
	char addr[IB_MAX_ADDR], err[128];
	const struct tls_probe_hello *h;
	uint16_t port;

	o.tickets = 2;
	if (!parent_accepted(c, &o, &first, addr, "TLS-6", "parent T0, which issues tickets"))
		goto out;
	/* The same address: the IUT knows no other. */
	port = tls_probe_port(first);
	tls_probe_free(first);
	first = NULL;
	if (tls_probe_listen(&second, cf_loop(c), &port, &o, err) != IB_OK) {
		cf_harness_error(c, "TLS prober: %s", err);
		goto out;
	}
	if (!cf_wait(c, tls_probe_settled, second, PROBE_MS,
		     "the IUT connects to its parent again"))
		goto out;
	h = tls_probe_client_hello(second);
	cf_expect(c, h->seen && !h->psk && !h->early_data, "TLS-6",
		  "the IUT's next ClientHello is a full handshake (no pre_shared_key, early_data)",
		  "ClientHello %s: pre_shared_key %s, early_data %s", h->seen ? "seen" : "not seen",
		  h->psk ? "offered" : "absent", h->early_data ? "offered" : "absent");
out:
	tls_probe_free(second);
	tls_probe_free(first);
}

const struct cf_test cf_tests_tls[] = {
	{ "tls.refuse-tls12", "TLS-1 TLS-8", 0, test_refuse_tls12,
	  "Refuse a client that offers only TLS 1.2: fail the handshake (protocol_version)" },
	{ "tls.negotiates-1.3", "TLS-1", 0, test_negotiates_13,
	  "Offered TLS 1.2 and 1.3 by an authorized client, negotiate TLS 1.3" },
	{ "tls.refuse-no-alpn", "TLS-2 TLS-8", 0, test_refuse_no_alpn,
	  "Fail the handshake (no_application_protocol) when the ClientHello has no ALPN" },
	{ "tls.refuse-wrong-alpn", "TLS-2 TLS-8", 0, test_refuse_wrong_alpn,
	  "Fail the handshake (no_application_protocol) when the client offers only ALPN h2" },
	{ "tls.refuse-no-alpn-two-versions", "TLS-2 TLS-8", 0, test_refuse_no_alpn_two_versions,
	  "Fail the handshake (no_application_protocol) when a ClientHello offering TLS 1.2 and "
	  "1.3 has no ALPN" },
	{ "tls.refuse-alpn-prefix", "TLS-2 TLS-8", 0, test_refuse_alpn_prefix,
	  "Fail the handshake (no_application_protocol) when the client offers only ALPN "
	  "interbot/10: names compare whole" },
	{ "tls.alpn-among-others", "TLS-2", 0, test_alpn_among_others,
	  "Select interbot/1 from an ALPN list where it is not first (h2, interbot/1, http/1.1)" },
	{ "tls.refuse-tls12-no-alpn", "TLS-1 TLS-8 TLS-9", 0, test_refuse_tls12_no_alpn,
	  "Refuse a client that offers only TLS 1.2 and no ALPN for the version: "
	  "protocol_version, then close TCP" },
	{ "tls.refuse-versions-without-13", "TLS-1 TLS-9", 0, test_refuse_versions_without_13,
	  "Refuse a ClientHello whose supported_versions lists only TLS 1.2 (no ALPN) with "
	  "protocol_version, then close TCP" },
	{ "tls.refuse-versions-malformed", "TLS-1 TLS-9", 0, test_refuse_versions_malformed,
	  "Refuse a ClientHello whose supported_versions list has a stray byte (no ALPN) with "
	  "protocol_version or decode_error, then close TCP" },
	{ "tls.refuse-no-cert", "TLS-3 TLS-8", 0, test_refuse_no_cert,
	  "Request a client certificate and fail the handshake (certificate_required) when the "
	  "client sends none: not a close after the handshake" },
	{ "tls.refuse-rsa-cert", "TLS-3 TLS-8", 0, test_refuse_rsa_cert,
	  "Refuse a client whose certificate key is RSA: only Ed25519 keys are accepted "
	  "(bad_certificate)" },
	{ "tls.refuse-p256-cert", "TLS-3 TLS-8", 0, test_refuse_p256_cert,
	  "Refuse a client whose certificate key is ECDSA P-256: only Ed25519 is accepted "
	  "(bad_certificate)" },
	{ "tls.refuse-stranger", "TLS-4 TLS-8 MEMBER-4", 0, test_refuse_stranger,
	  "Refuse a client whose Ed25519 key is not in authorized/ (the suite's stranger): fail "
	  "the handshake with bad_certificate" },
	{ "tls.refuse-fresh-key", "TLS-4 TLS-8 MEMBER-4", 0, test_refuse_fresh_key,
	  "Refuse a client with a freshly generated Ed25519 key that nobody authorized "
	  "(bad_certificate)" },
	{ "tls.server-key", "TLS-3 TLS-4", 0, test_server_key,
	  "Present a certificate of the node's own Ed25519 identity key (what peers pin)" },
	{ "tls.expired-cert", "TLS-5", 0, test_expired_cert,
	  "Accept an authorized key in an expired certificate: dates do not decide" },
	{ "tls.foreign-issuer", "TLS-5", 0, test_foreign_issuer,
	  "Accept an authorized key in a certificate issued and signed by another key" },
	{ "tls.odd-extension", "TLS-5", 0, test_odd_extension,
	  "Accept an authorized key in a certificate with an unknown critical extension" },
	{ "tls.no-tickets", "TLS-6", 0, test_no_tickets,
	  "Send no NewSessionTicket: sessions are never resumed" },
	{ "tls.no-resumption", "TLS-6", 0, test_no_resumption,
	  "Never resume a session nor allow 0-RTT: every connection is a full handshake" },
	{ "tls.close-notify-answered", "TLS-10", 0, test_close_notify_answered,
	  "Close an open link at once when the peer sends close_notify (TCP left open)" },
	{ "tls.close-notify-sent", "LINK-5 LINK-6", 0, test_close_notify_sent,
	  "Send close_notify after the ERROR of a close (SHOULD), before closing TCP" },
	{ "tls.x25519", "TLS-7", 0, test_x25519,
	  "Support X25519 key exchange (SHOULD): a client offering only X25519 gets a link" },
	{ "tls.self-signed", "TLS-7", 0, test_self_signed,
	  "Present a self-signed certificate of the identity key (SHOULD)" },
	{ "tls.client-refuse-tls12", "TLS-1 TLS-8", CF_NEEDS_CONFIG, test_client_refuse_tls12,
	  "As a client, fail the handshake (protocol_version) with a parent that speaks only "
	  "TLS 1.2" },
	{ "tls.client-refuse-no-alpn", "TLS-2 TLS-8", CF_NEEDS_CONFIG, test_client_refuse_no_alpn,
	  "As a client, fail the handshake before its Finished (no_application_protocol or "
	  "handshake_failure) when the parent selects no ALPN protocol" },
	{ "tls.client-refuse-p256", "TLS-3 TLS-8", CF_NEEDS_CONFIG, test_client_refuse_p256,
	  "As a client, refuse a parent whose certificate key is ECDSA P-256, not Ed25519, in "
	  "the handshake (bad_certificate)" },
	{ "tls.client-refuse-stranger", "TLS-4 TLS-8", CF_NEEDS_CONFIG, test_client_refuse_stranger,
	  "As a client, refuse a parent whose key is not in authorized/ in the handshake "
	  "(bad_certificate), no HELLO" },
	{ "tls.client-expired-parent", "TLS-5", CF_NEEDS_CONFIG, test_client_expired_parent,
	  "As a client, accept an authorized parent key in an expired, foreign-issued cert" },
	{ "tls.client-hello", "TLS-2 TLS-3", CF_NEEDS_CONFIG, test_client_hello,
	  "As a client, offer ALPN interbot/1 and present a certificate of the node's own key" },
	{ "tls.client-x25519", "TLS-7", CF_NEEDS_CONFIG, test_client_x25519,
	  "As a client, offer the X25519 key exchange group (SHOULD)" },
	{ "tls.client-no-resumption", "TLS-6", CF_NEEDS_CONFIG, test_client_no_resumption,
	  "As a client, never offer a PSK or 0-RTT: reconnecting is a full handshake" },
	{ NULL, NULL, 0, NULL, NULL }
};
