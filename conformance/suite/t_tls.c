/* t_tls.c - links: TCP and TLS (spec section 4). A TLS prober (probe.h) plays clients that a
 * correct node refuses - TLS 1.2, no or another ALPN, no, non-Ed25519 or unauthorized
 * certificates - and ones it must accept although their certificates look wrong.
 *
 * "Refused" is judged after the handshake too: in TLS 1.3 the client finishes before the
 * server has checked the client's certificate, so a refusing IUT then closes at once (alert
 * or EOF). One that does not is sent a valid HELLO, to tell "let in" from "slow to close". */
#include "cf.h"
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
	if (!cf_expect(c, tls_probe_handshaken(p), req, expected, "the handshake failed: %s",
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

/* After the client side of the handshake: the IUT closes by itself ([TLS-4]: "fail the
 * handshake, or close immediately after it"). If it does not, a HELLO tells whether it let
 * the client in or decides only on the HELLO. */
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
	cf_expect(c, false, req, expected, tls_probe_closed(p) ?
		  "the connection stayed open %u ms after the handshake; the IUT closed it only "
		  "after the prober's HELLO (%s)" :
		  "the connection stayed open %u ms after the handshake, and after a HELLO%s",
		  REFUSE_MS, tls_probe_closed(p) ? tls_probe_failure(p) : "");
}

/* How a refusal must look beyond "no link": what the spec names for some cases. */
struct refusal {
	bool before_finished;   /* [TLS-1] the handshake must not complete at all */
	int alert;              /* [TLS-2] this alert must come (-1: any alert, or none) */
};
#define ANY_REFUSAL ((struct refusal){ .alert = -1 })

/* The IUT refuses the client: the handshake fails, or the IUT closes right after it. */
static void expect_refused(struct cf_ctx *c, const struct tls_probe_opts *o, const char *req,
			   const char *client, struct refusal how)
{
	struct tls_probe *p = NULL;
	char expected[256];

	snprintf(expected, sizeof expected, "the IUT refuses %s: the handshake fails, or the "
		 "IUT closes right after it", client);
	if (!cf_iut_start(c, NULL) || !start_probe(c, o, &p))
		goto out;
	if (!cf_wait(c, tls_probe_settled, p, PROBE_MS, "the prober's TLS handshake ends"))
		goto out;
	if (tls_probe_handshaken(p) && !tls_probe_closed(p))
		judge_after_handshake(c, p, req, expected);
	if (!cf_ok(c))
		goto out;
	cf_note(c, "prober: refused (%s)", tls_probe_failure(p));
	if (how.before_finished &&
	    !cf_expect(c, !tls_probe_handshaken(p), req,
		       "the IUT fails the handshake: it never negotiates that version",
		       "it completed a %s handshake, then closed (%s)", tls_probe_version(p),
		       tls_probe_failure(p)))
		goto out;
	if (how.alert >= 0)
		cf_expect(c, tls_probe_alert(p) == how.alert, req,
			  "the IUT fails the handshake with alert no_application_protocol (120)",
			  "%s", tls_probe_alert(p) < 0 ? "it sent no alert" : tls_probe_failure(p));
out:
	tls_probe_free(p);
}

/* ---- TLS-1 ------------------------------------------------------------------------------- */

static void test_refuse_tls12(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.min_version = o.max_version = TLS1_2_VERSION;
	expect_refused(c, &o, "TLS-1", "a client that offers only TLS 1.2",
		       (struct refusal){ .before_finished = true, .alert = -1 });
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
	expect_refused(c, &o, "TLS-2", "a client that offers no ALPN",
		       (struct refusal){ .alert = SSL_AD_NO_APPLICATION_PROTOCOL });
}

static void test_refuse_wrong_alpn(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.alpn = "h2";
	expect_refused(c, &o, "TLS-2", "a client that offers only the ALPN h2",
		       (struct refusal){ .alert = SSL_AD_NO_APPLICATION_PROTOCOL });
}

/* ---- TLS-3, TLS-4 ------------------------------------------------------------------------- */

static void test_refuse_no_cert(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.cert = TLS_PROBE_CERT_NONE;
	expect_refused(c, &o, "TLS-3", "a client that presents no certificate",
		       ANY_REFUSAL);
}

static void test_refuse_rsa_cert(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.cert = TLS_PROBE_CERT_RSA;
	expect_refused(c, &o, "TLS-3", "a client with an RSA-2048 certificate (HELLO signed by T0)",
		       ANY_REFUSAL);
}

static void test_refuse_p256_cert(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.cert = TLS_PROBE_CERT_P256;
	expect_refused(c, &o, "TLS-3",
		       "a client with an ECDSA P-256 certificate (HELLO signed by T0)",
		       ANY_REFUSAL);
}

static void test_refuse_stranger(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);

	o.id = cf_tester_identity(c, CF_STRANGER);
	expect_refused(c, &o, "TLS-4", "the stranger, a key not in authorized/",
		       ANY_REFUSAL);
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
	expect_refused(c, &o, "TLS-4", "a freshly generated key nobody authorized",
		       ANY_REFUSAL);
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
	spki = tls_probe_server_spki(p, &len);
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

static void test_expired_cert(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);
	struct tls_probe *p = NULL;

	o.expired = true;
	if (cf_iut_start(c, NULL) && start_probe(c, &o, &p))
		accepted(c, p, "TLS-5", "T0's key in a certificate that expired yesterday");
	tls_probe_free(p);
}

static void test_foreign_issuer(struct cf_ctx *c)
{
	struct tls_probe_opts o = good_client(c);
	struct tls_probe *p = NULL;

	o.foreign_issuer = true;
	if (cf_iut_start(c, NULL) && start_probe(c, &o, &p))
		accepted(c, p, "TLS-5",
			 "T0's key in a certificate issued and signed by another key");
	tls_probe_free(p);
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
		  "it accepted the ticket's PSK and resumed the session (then: %s)",
		  tls_probe_closed(second) ? tls_probe_failure(second) : "the link stayed open");
out:
	tls_probe_free(second);
	tls_probe_free(first);
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

const struct cf_test cf_tests_tls[] = {
	{ "tls.refuse-tls12", "TLS-1", 0, test_refuse_tls12,
	  "Refuse a client that offers only TLS 1.2: fail the handshake (protocol_version)" },
	{ "tls.negotiates-1.3", "TLS-1", 0, test_negotiates_13,
	  "Offered TLS 1.2 and 1.3 by an authorized client, negotiate TLS 1.3" },
	{ "tls.refuse-no-alpn", "TLS-2", 0, test_refuse_no_alpn,
	  "Fail the handshake (no_application_protocol) when the ClientHello has no ALPN" },
	{ "tls.refuse-wrong-alpn", "TLS-2", 0, test_refuse_wrong_alpn,
	  "Fail the handshake (no_application_protocol) when the client offers only ALPN h2" },
	{ "tls.refuse-no-cert", "TLS-3", 0, test_refuse_no_cert,
	  "Request a client certificate and fail the handshake when the client sends none" },
	{ "tls.refuse-rsa-cert", "TLS-3", 0, test_refuse_rsa_cert,
	  "Refuse a client whose certificate key is RSA: only Ed25519 keys are accepted" },
	{ "tls.refuse-p256-cert", "TLS-3", 0, test_refuse_p256_cert,
	  "Refuse a client whose certificate key is ECDSA P-256: only Ed25519 is accepted" },
	{ "tls.refuse-stranger", "TLS-4 MEMBER-4", 0, test_refuse_stranger,
	  "Refuse a client whose Ed25519 key is not in authorized/ (the suite's stranger)" },
	{ "tls.refuse-fresh-key", "TLS-4 MEMBER-4", 0, test_refuse_fresh_key,
	  "Refuse a client with a freshly generated Ed25519 key that nobody authorized" },
	{ "tls.server-key", "TLS-3 TLS-4", 0, test_server_key,
	  "Present a certificate of the node's own Ed25519 identity key (what peers pin)" },
	{ "tls.expired-cert", "TLS-5", 0, test_expired_cert,
	  "Accept an authorized key in an expired certificate: dates do not decide" },
	{ "tls.foreign-issuer", "TLS-5", 0, test_foreign_issuer,
	  "Accept an authorized key in a certificate issued and signed by another key" },
	{ "tls.no-tickets", "TLS-6", 0, test_no_tickets,
	  "Send no NewSessionTicket: sessions are never resumed" },
	{ "tls.no-resumption", "TLS-6", 0, test_no_resumption,
	  "Never resume a session nor allow 0-RTT: every connection is a full handshake" },
	{ "tls.x25519", "TLS-7", 0, test_x25519,
	  "Support X25519 key exchange (SHOULD): a client offering only X25519 gets a link" },
	{ NULL, NULL, 0, NULL, NULL }
};
