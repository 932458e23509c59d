/* Unit tests of tls.c: TLS 1.3 over memory, key pinning, ALPN, no tickets, close, garbage.
 * Two ends talk by moving each one's output into the other's input; the "raw" ends are plain
 * OpenSSL, configured as a misbehaving or foreign peer would be. */
#include "ib_test.h"

#include "identity_internal.h"
#include "tls.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUNDS 32
#define DAY (24L * 3600L)

enum { ALICE = 0, BOB = 1, CAROL = 2 };

static const unsigned char alpn_ours[] = "\x0ainterbot/1";
static const unsigned char alpn_http[] = "\x08http/1.1";
static const unsigned char alpn_both[] = "\x08http/1.1\x0ainterbot/1";

/* ---- Fixtures: identities, keyrings, contexts ------------------------------------------ */

/* A keyring of the RFC 8032 test keys named by the bits of mask (1 << ALICE ...). */
static struct ib_keyring *keyring(unsigned mask)
{
	struct ib_keyring *kr = NULL;

	IB_ASSERT_OK(ib_keyring_new(&kr));
	CU_ASSERT_PTR_NOT_NULL_FATAL(kr);
	for (int i = 0; i < 3; i++) {
		struct ib_identity *id;
		struct ib_pubkey *k = NULL;

		if (!(mask & (1u << i)))
			continue;
		id = ib_test_identity(i);
		IB_ASSERT_OK(ib_pubkey_from_raw(&k, ib_pubkey_raw(ib_identity_pubkey(id))));
		IB_ASSERT_OK(ib_keyring_add(kr, k));
		ib_identity_free(id);
	}
	return kr;
}

/* One node's TLS side: its identity, keyring and context. */
struct node {
	struct ib_identity *id;
	struct ib_keyring *kr;
	struct ib_tls_ctx *ctx;
};

static void node_init(struct node *n, int who, unsigned keyring_mask)
{
	n->id = ib_test_identity(who);
	n->kr = keyring(keyring_mask);
	n->ctx = NULL;
	IB_ASSERT_OK(ib_tls_ctx_new(&n->ctx, n->id));
	CU_ASSERT_PTR_NOT_NULL_FATAL(n->ctx);
	ib_tls_ctx_set_keyring(n->ctx, n->kr);
}

static void node_free(struct node *n)
{
	ib_tls_ctx_free(n->ctx);
	ib_keyring_free(n->kr);
	ib_identity_free(n->id);
}

static void id_hex(int who, char out[2 * IB_ID_LEN + 1])
{
	struct ib_identity *id = ib_test_identity(who);

	ib_id_to_hex(ib_identity_id(id), out);
	ib_identity_free(id);
}

/* ---- Ends: an ib_tls, or a raw OpenSSL SSL ------------------------------------------- */

struct end {
	struct ib_tls *tls;         /* an ib_tls end, or */
	SSL *ssl;                   /* a raw end (with its memory BIOs) */
	BIO *rbio, *wbio;
	int result;                 /* last step: enum ib_tls_state or ib_err */
	unsigned long ssl_error;    /* raw end: the OpenSSL error that failed it */
	struct ib_buf plain;        /* plaintext received */
};

static void end_ib(struct end *e, struct node *n, enum ib_tls_role role)
{
	memset(e, 0, sizeof *e);
	IB_ASSERT_OK(ib_tls_new(&e->tls, n->ctx, role));
	CU_ASSERT_PTR_NOT_NULL_FATAL(e->tls);
}

static void end_raw(struct end *e, SSL_CTX *ctx, bool server)
{
	memset(e, 0, sizeof *e);
	e->ssl = SSL_new(ctx);
	e->rbio = BIO_new(BIO_s_mem());
	e->wbio = BIO_new(BIO_s_mem());
	CU_ASSERT_FATAL(e->ssl && e->rbio && e->wbio);
	BIO_set_mem_eof_return(e->rbio, -1);
	SSL_set_bio(e->ssl, e->rbio, e->wbio);
	if (server)
		SSL_set_accept_state(e->ssl);
	else
		SSL_set_connect_state(e->ssl);
}

static void end_free(struct end *e)
{
	ib_tls_free(e->tls);
	SSL_free(e->ssl);
	ib_buf_free(&e->plain);
	memset(e, 0, sizeof *e);
}

/* Both ends of one handshake, and the raw context one of them used (or NULL). */
static void ends_free(struct end *client, struct end *server, SSL_CTX *raw)
{
	end_free(client);
	end_free(server);
	SSL_CTX_free(raw);
}

static void raw_read(struct end *e)
{
	uint8_t chunk[16384];

	for (;;) {
		size_t got = 0;

		ERR_clear_error();
		if (SSL_read_ex(e->ssl, chunk, sizeof chunk, &got) == 1) {
			CU_ASSERT_EQUAL(ib_buf_put(&e->plain, chunk, got), IB_OK);
			continue;
		}
		switch (SSL_get_error(e->ssl, 0)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			return;
		case SSL_ERROR_ZERO_RETURN:
			e->result = IB_TLS_PEER_CLOSED;
			return;
		default:
			e->ssl_error = ERR_peek_error();
			e->result = IB_ERR_IO;
			return;
		}
	}
}

static void raw_step(struct end *e)
{
	int rc;

	if (e->result < 0 || e->result == IB_TLS_PEER_CLOSED)
		return;
	if (e->result == IB_TLS_HANDSHAKING) {
		ERR_clear_error();
		rc = SSL_do_handshake(e->ssl);
		if (rc != 1) {
			int why = SSL_get_error(e->ssl, rc);

			if (why != SSL_ERROR_WANT_READ && why != SSL_ERROR_WANT_WRITE) {
				e->ssl_error = ERR_peek_error();
				e->result = IB_ERR_HANDSHAKE;
			}
			ERR_clear_error();
			return;
		}
		e->result = IB_TLS_OPEN;
	}
	raw_read(e);
	ERR_clear_error();
}

static void step(struct end *e)
{
	if (e->tls)
		e->result = ib_tls_step(e->tls, &e->plain);
	else
		raw_step(e);
}

/* Moves what from has to send into to; returns the number of bytes moved. */
static size_t move(struct end *from, struct end *to)
{
	struct ib_buf b = {0};
	size_t n;

	if (from->tls) {
		IB_ASSERT_OK(ib_tls_take_output(from->tls, &b));
	} else {
		size_t pending = BIO_ctrl_pending(from->wbio), got = 0;

		if (pending) {
			IB_ASSERT_OK(ib_buf_reserve(&b, pending));
			CU_ASSERT_EQUAL(BIO_read_ex(from->wbio, b.ptr, pending, &got), 1);
			b.len = got;
		}
	}
	n = b.len;
	if (n && to->tls) {
		int err = ib_tls_feed(to->tls, b.ptr, n);

		/* A failed end refuses input with its sticky error. */
		CU_ASSERT(err == IB_OK || err == to->result);
	} else if (n) {
		size_t w = 0;

		CU_ASSERT_EQUAL(BIO_write_ex(to->rbio, b.ptr, n, &w), 1);
	}
	ib_buf_free(&b);
	return n;
}

/* Steps both ends and carries their bytes across until a round moves nothing. */
static void shuttle(struct end *client, struct end *server)
{
	for (int round = 0; round < MAX_ROUNDS; round++) {
		size_t moved;

		step(client);
		moved = move(client, server);
		step(server);
		moved += move(server, client);
		if (moved == 0)
			return;
	}
	CU_FAIL("the two ends kept talking for MAX_ROUNDS rounds");
}

static void send_text(struct end *e, const char *text)
{
	if (e->tls) {
		IB_ASSERT_OK(ib_tls_write(e->tls, (const uint8_t *)text, strlen(text)));
	} else {
		size_t w = 0;

		CU_ASSERT_EQUAL(SSL_write_ex(e->ssl, text, strlen(text), &w), 1);
		CU_ASSERT_EQUAL(w, strlen(text));
	}
}

static bool received(const struct end *e, const char *text)
{
	size_t n = strlen(text);

	return e->plain.len == n && memcmp(e->plain.ptr, text, n) == 0;
}

static bool failure_has(const struct end *e, const char *needle)
{
	return strstr(ib_tls_failure(e->tls), needle) != NULL;
}

/* ---- Certificates and raw OpenSSL contexts -------------------------------------------- */

/* A certificate of key signed by signer, with the given names and validity (seconds from
 * now), so tests can present what no interbot node would. */
static X509 *make_cert(EVP_PKEY *key, EVP_PKEY *signer, const char *subject, const char *issuer,
                       long not_before, long not_after)
{
	X509 *x = X509_new();
	const EVP_MD *md = EVP_PKEY_get_id(signer) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();

	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(X509_set_version(x, X509_VERSION_3), 1);
	CU_ASSERT_EQUAL(ASN1_INTEGER_set(X509_get_serialNumber(x), 7), 1);
	CU_ASSERT_EQUAL(X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
	                                           (const unsigned char *)subject, -1, -1, 0),
	                1);
	CU_ASSERT_EQUAL(X509_NAME_add_entry_by_txt(X509_get_issuer_name(x), "CN", MBSTRING_UTF8,
	                                           (const unsigned char *)issuer, -1, -1, 0),
	                1);
	CU_ASSERT_PTR_NOT_NULL(X509_gmtime_adj(X509_getm_notBefore(x), not_before));
	CU_ASSERT_PTR_NOT_NULL(X509_gmtime_adj(X509_getm_notAfter(x), not_after));
	CU_ASSERT_EQUAL(X509_set_pubkey(x, key), 1);
	CU_ASSERT(X509_sign(x, signer, md) > 0);
	return x;
}

enum raw_alpn { RAW_ALPN_NONE, RAW_ALPN_OURS, RAW_ALPN_HTTP, RAW_ALPN_BOTH };

/* A raw server that selects interbot/1 if offered (or nothing: then no ALPN callback). */
static int raw_select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                           const unsigned char *in, unsigned int inlen, void *arg)
{
	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, alpn_ours, sizeof alpn_ours - 1,
	                          in, inlen) == OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_OK;
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* A plain OpenSSL context: any version up to max_version, cert and key (both may be NULL),
 * no peer verification, the ALPN given (client: offered; server: NONE = no callback). */
static SSL_CTX *raw_ctx(bool server, int max_version, X509 *cert, EVP_PKEY *key,
                        enum raw_alpn alpn)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	CU_ASSERT_EQUAL(SSL_CTX_set_max_proto_version(ctx, max_version), 1);
	if (cert) {
		CU_ASSERT_EQUAL(SSL_CTX_use_certificate(ctx, cert), 1);
		CU_ASSERT_EQUAL(SSL_CTX_use_PrivateKey(ctx, key), 1);
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (server) {
		if (alpn != RAW_ALPN_NONE)
			SSL_CTX_set_alpn_select_cb(ctx, raw_select_alpn, NULL);
		return ctx;
	}
	switch (alpn) {
	case RAW_ALPN_OURS:
		CU_ASSERT_EQUAL(SSL_CTX_set_alpn_protos(ctx, alpn_ours, sizeof alpn_ours - 1), 0);
		break;
	case RAW_ALPN_HTTP:
		CU_ASSERT_EQUAL(SSL_CTX_set_alpn_protos(ctx, alpn_http, sizeof alpn_http - 1), 0);
		break;
	case RAW_ALPN_BOTH:
		CU_ASSERT_EQUAL(SSL_CTX_set_alpn_protos(ctx, alpn_both, sizeof alpn_both - 1), 0);
		break;
	case RAW_ALPN_NONE:
	default:
		break;
	}
	return ctx;
}

/* A raw client with bob's own certificate (as an interbot node makes it). */
static SSL_CTX *raw_bob_client(struct node *bob, int max_version, enum raw_alpn alpn)
{
	X509 *cert = ib_identity_x509(bob->id, "bob");
	SSL_CTX *ctx;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
	ctx = raw_ctx(false, max_version, cert, ib_identity_evp(bob->id), alpn);
	X509_free(cert);
	return ctx;
}

/* Runs a raw client against an ib server of alice (who authorizes alice and bob). */
static void run_raw_client(SSL_CTX *raw, struct end *client, struct end *server,
                           struct node *alice)
{
	end_raw(client, raw, false);
	end_ib(server, alice, IB_TLS_SERVER);
	shuttle(client, server);
}

static int alert_received(const struct end *e)
{
	int reason = ERR_GET_REASON(e->ssl_error);

	return reason > SSL_AD_REASON_OFFSET ? reason - SSL_AD_REASON_OFFSET : -1;
}

/* ---- Tests ----------------------------------------------------------------------------- */

static void test_handshake_and_data(void)
{
	struct node alice, bob;
	struct end client, server;
	uint8_t *big;
	size_t big_len = 100000;

	node_init(&alice, ALICE, 1u << ALICE | 1u << BOB);
	node_init(&bob, BOB, 1u << ALICE | 1u << BOB);
	end_ib(&client, &bob, IB_TLS_CLIENT);
	end_ib(&server, &alice, IB_TLS_SERVER);

	/* Nothing to write before the handshake, and no peer yet. */
	IB_ASSERT_ERR(ib_tls_write(client.tls, (const uint8_t *)"x", 1), IB_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(ib_tls_peer(client.tls));

	shuttle(&client, &server);
	IB_ASSERT_ERR(client.result, IB_TLS_OPEN);
	IB_ASSERT_ERR(server.result, IB_TLS_OPEN);
	CU_ASSERT_STRING_EQUAL(ib_tls_version(client.tls), "TLSv1.3");
	CU_ASSERT_STRING_EQUAL(ib_tls_version(server.tls), "TLSv1.3");
	CU_ASSERT_FALSE(ib_tls_resumed(client.tls));
	CU_ASSERT_FALSE(ib_tls_resumed(server.tls));
	CU_ASSERT_STRING_EQUAL(ib_tls_failure(client.tls), "");
	CU_ASSERT_STRING_EQUAL(ib_tls_failure(server.tls), "");

	/* Each end pinned the other's key, as found in its own keyring. */
	CU_ASSERT_PTR_EQUAL(ib_tls_peer(server.tls),
	                    ib_keyring_find(alice.kr, ib_identity_id(bob.id)));
	CU_ASSERT_PTR_EQUAL(ib_tls_peer(client.tls),
	                    ib_keyring_find(bob.kr, ib_identity_id(alice.id)));
	CU_ASSERT_PTR_NOT_NULL(ib_tls_peer(client.tls));

	/* Application data both ways, one small message and one of several records. */
	send_text(&client, "HELLO from bob");
	shuttle(&client, &server);
	CU_ASSERT(received(&server, "HELLO from bob"));
	big = malloc(big_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (uint8_t)(i * 7 + 3);
	IB_ASSERT_OK(ib_tls_write(server.tls, big, big_len));
	IB_ASSERT_OK(ib_tls_write(server.tls, NULL, 0));
	shuttle(&client, &server);
	IB_ASSERT_ERR(client.result, IB_TLS_OPEN);
	CU_ASSERT_EQUAL_FATAL(client.plain.len, big_len);
	CU_ASSERT_EQUAL(memcmp(client.plain.ptr, big, big_len), 0);

	/* The same in odd-sized pieces, stepping after each: records split anywhere. */
	ib_buf_reset(&client.plain);
	IB_ASSERT_OK(ib_tls_write(server.tls, big, big_len));
	{
		struct ib_buf wire = {0};

		IB_ASSERT_OK(ib_tls_take_output(server.tls, &wire));
		for (size_t off = 0; off < wire.len; off += 997) {
			size_t n = wire.len - off < 997 ? wire.len - off : 997;

			IB_ASSERT_OK(ib_tls_feed(client.tls, wire.ptr + off, n));
			IB_ASSERT_ERR(ib_tls_step(client.tls, &client.plain), IB_TLS_OPEN);
		}
		ib_buf_free(&wire);
	}
	CU_ASSERT_EQUAL_FATAL(client.plain.len, big_len);
	CU_ASSERT_EQUAL(memcmp(client.plain.ptr, big, big_len), 0);
	free(big);

	/* Small messages still flow both ways after the large ones. */
	ib_buf_reset(&client.plain);
	ib_buf_reset(&server.plain);
	send_text(&client, "ping");
	send_text(&server, "pong");
	shuttle(&client, &server);
	CU_ASSERT(received(&server, "ping"));
	CU_ASSERT(received(&client, "pong"));

	ends_free(&client, &server, NULL);
	node_free(&alice);
	node_free(&bob);
}

/* [TLS-7] what a node presents: a self-signed certificate of its Ed25519 identity key;
 * X25519 is chosen when the peer offers it. */
static void test_certificate_and_group(void)
{
	struct node alice, bob;
	struct end client, server;
	SSL_CTX *raw;
	X509 *cert;
	EVP_PKEY *key;

	node_init(&alice, ALICE, 1u << ALICE | 1u << BOB);
	node_init(&bob, BOB, 0);
	raw = raw_bob_client(&bob, TLS1_3_VERSION, RAW_ALPN_OURS);
	run_raw_client(raw, &client, &server, &alice);
	IB_ASSERT_ERR(server.result, IB_TLS_OPEN);
	IB_ASSERT_ERR(client.result, IB_TLS_OPEN);
	cert = SSL_get0_peer_certificate(client.ssl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
	key = X509_get0_pubkey(cert);
	CU_ASSERT_PTR_NOT_NULL_FATAL(key);
	CU_ASSERT_EQUAL(EVP_PKEY_get_id(key), EVP_PKEY_ED25519);
	CU_ASSERT_EQUAL(X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)), 0);
	CU_ASSERT_EQUAL(X509_verify(cert, key), 1);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(key, ib_identity_evp(alice.id)), 1);
	CU_ASSERT_EQUAL(SSL_get_negotiated_group(client.ssl), NID_X25519);
	ends_free(&client, &server, raw);
	node_free(&alice);
	node_free(&bob);
}

static void test_server_refuses_unknown_client(void)
{
	struct node alice, bob;
	struct end client, server;
	char bob_hex[2 * IB_ID_LEN + 1];

	node_init(&alice, ALICE, 1u << ALICE | 1u << CAROL);   /* bob is not authorized */
	node_init(&bob, BOB, 1u << ALICE | 1u << BOB);
	end_ib(&client, &bob, IB_TLS_CLIENT);
	end_ib(&server, &alice, IB_TLS_SERVER);
	shuttle(&client, &server);

	IB_ASSERT_ERR(server.result, IB_ERR_NOT_AUTHORIZED);
	id_hex(BOB, bob_hex);
	CU_ASSERT(failure_has(&server, bob_hex));
	CU_ASSERT(failure_has(&server, "not authorized"));
	CU_ASSERT_PTR_NULL(ib_tls_peer(server.tls));
	/* The client finished its side first (TLS 1.3), then got the server's alert. */
	IB_ASSERT_ERR(client.result, IB_ERR_HANDSHAKE);
	CU_ASSERT(failure_has(&client, "bad certificate"));
	/* Sticky: later calls keep failing the same way, and take nothing more. */
	IB_ASSERT_ERR(ib_tls_step(server.tls, &server.plain), IB_ERR_NOT_AUTHORIZED);
	IB_ASSERT_ERR(ib_tls_feed(server.tls, (const uint8_t *)"x", 1), IB_ERR_NOT_AUTHORIZED);
	IB_ASSERT_ERR(ib_tls_write(server.tls, (const uint8_t *)"x", 1), IB_ERR_NOT_AUTHORIZED);
	IB_ASSERT_ERR(ib_tls_write(client.tls, (const uint8_t *)"x", 1), IB_ERR_HANDSHAKE);
	IB_ASSERT_OK(ib_tls_close(server.tls));
	CU_ASSERT_EQUAL(server.plain.len, 0);

	ends_free(&client, &server, NULL);
	node_free(&alice);
	node_free(&bob);
}

static void test_client_refuses_unknown_server(void)
{
	struct node alice, bob;
	struct end client, server;
	char alice_hex[2 * IB_ID_LEN + 1];

	node_init(&alice, ALICE, 1u << ALICE | 1u << BOB);
	node_init(&bob, BOB, 1u << BOB | 1u << CAROL);          /* alice is not authorized */
	end_ib(&client, &bob, IB_TLS_CLIENT);
	end_ib(&server, &alice, IB_TLS_SERVER);
	shuttle(&client, &server);

	IB_ASSERT_ERR(client.result, IB_ERR_NOT_AUTHORIZED);
	id_hex(ALICE, alice_hex);
	CU_ASSERT(failure_has(&client, alice_hex));
	CU_ASSERT_PTR_NULL(ib_tls_peer(client.tls));
	IB_ASSERT_ERR(server.result, IB_ERR_HANDSHAKE);
	CU_ASSERT(failure_has(&server, "bad certificate"));

	ends_free(&client, &server, NULL);
	node_free(&alice);
	node_free(&bob);
}

/* No keyring at all (never set): nobody is authorized, and nothing crashes. */
static void test_no_keyring_refuses(void)
{
	struct node alice, bob;
	struct end client, server;

	node_init(&alice, ALICE, 0);
	node_init(&bob, BOB, 1u << ALICE);
	ib_tls_ctx_set_keyring(alice.ctx, NULL);
	end_ib(&client, &bob, IB_TLS_CLIENT);
	end_ib(&server, &alice, IB_TLS_SERVER);
	shuttle(&client, &server);
	IB_ASSERT_ERR(server.result, IB_ERR_NOT_AUTHORIZED);
	ends_free(&client, &server, NULL);
	node_free(&alice);
	node_free(&bob);
}

static void test_tls12_refused(void)
{
	struct node alice, bob;
	struct end client, server;
	SSL_CTX *raw;
	X509 *cert;

	node_init(&alice, ALICE, 1u << ALICE | 1u << BOB);
	node_init(&bob, BOB, 1u << ALICE | 1u << BOB);

	/* A TLS 1.2 client, otherwise right (ALPN, bob's certificate). */
	raw = raw_bob_client(&bob, TLS1_2_VERSION, RAW_ALPN_OURS);
	run_raw_client(raw, &client, &server, &alice);
	IB_ASSERT_ERR(server.result, IB_ERR_HANDSHAKE);
	CU_ASSERT(failure_has(&server, "TLS 1.3"));
	IB_ASSERT_ERR(client.result, IB_ERR_HANDSHAKE);
	CU_ASSERT_EQUAL(alert_received(&client), SSL_AD_PROTOCOL_VERSION);
	ends_free(&client, &server, raw);

	/* A TLS 1.2 server, facing an ib client. */
	cert = ib_identity_x509(alice.id, "alice");
	raw = raw_ctx(true, TLS1_2_VERSION, cert, ib_identity_evp(alice.id), RAW_ALPN_OURS);
	end_ib(&client, &bob, IB_TLS_CLIENT);
	end_raw(&server, raw, true);
	shuttle(&client, &server);
	IB_ASSERT_ERR(client.result, IB_ERR_HANDSHAKE);
	CU_ASSERT(failure_has(&client, "TLS 1.3"));
	IB_ASSERT_ERR(server.result, IB_ERR_HANDSHAKE);
	/* It is the TLS 1.2 server that finds no common version, from our ClientHello. */
	CU_ASSERT_EQUAL(ERR_GET_REASON(server.ssl_error), SSL_R_UNSUPPORTED_PROTOCOL);
	ends_free(&client, &server, raw);
	X509_free(cert);

	node_free(&alice);
	node_free(&bob);
}

static void test_alpn_required(void)
{
	static const enum raw_alpn refused[] = {RAW_ALPN_NONE, RAW_ALPN_HTTP};
	struct node alice, bob;
	struct end client, server;
	SSL_CTX *raw;
	X509 *cert;

	node_init(&alice, ALICE, 1u << ALICE | 1u << BOB);
	node_init(&bob, BOB, 1u << ALICE | 1u << BOB);

	/* A server refuses a client without interbot/1, with no_application_protocol. */
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		raw = raw_bob_client(&bob, TLS1_3_VERSION, refused[i]);
		run_raw_client(raw, &client, &server, &alice);
		IB_ASSERT_ERR(server.result, IB_ERR_HANDSHAKE);
		CU_ASSERT(failure_has(&server, "ALPN"));
		IB_ASSERT_ERR(client.result, IB_ERR_HANDSHAKE);
		CU_ASSERT_EQUAL(alert_received(&client), SSL_AD_NO_APPLICATION_PROTOCOL);
		ends_free(&client, &server, raw);
	}

	/* interbot/1 among others is selected. */
	raw = raw_bob_client(&bob, TLS1_3_VERSION, RAW_ALPN_BOTH);
	run_raw_client(raw, &client, &server, &alice);
	IB_ASSERT_ERR(server.result, IB_TLS_OPEN);
	IB_ASSERT_ERR(client.result, IB_TLS_OPEN);
	{
		const unsigned char *p = NULL;
		unsigned len = 0;

		SSL_get0_alpn_selected(client.ssl, &p, &len);
		CU_ASSERT_EQUAL(len, 10);
		CU_ASSERT(p && memcmp(p, "interbot/1", 10) == 0);
	}
	ends_free(&client, &server, raw);

	/* A client closes when the server selects no protocol. */
	cert = ib_identity_x509(alice.id, "alice");
	raw = raw_ctx(true, TLS1_3_VERSION, cert, ib_identity_evp(alice.id), RAW_ALPN_NONE);
	end_ib(&client, &bob, IB_TLS_CLIENT);
	end_raw(&server, raw, true);
	shuttle(&client, &server);
	IB_ASSERT_ERR(client.result, IB_ERR_HANDSHAKE);
	CU_ASSERT(failure_has(&client, "ALPN"));
	IB_ASSERT_ERR(server.result, IB_ERR_HANDSHAKE);
	CU_ASSERT_EQUAL(alert_received(&server), SSL_AD_HANDSHAKE_FAILURE);
	ends_free(&client, &server, raw);
	X509_free(cert);

	node_free(&alice);
	node_free(&bob);
}

static void test_client_certificate_required(void)
{
	struct node alice;
	struct end client, server;
	SSL_CTX *raw;

	node_init(&alice, ALICE, 1u << ALICE | 1u << BOB);
	raw = raw_ctx(false, TLS1_3_VERSION, NULL, NULL, RAW_ALPN_OURS);
	run_raw_client(raw, &client, &server, &alice);
	IB_ASSERT_ERR(server.result, IB_ERR_HANDSHAKE);
	CU_ASSERT(failure_has(&server, "certificate"));
	CU_ASSERT_PTR_NULL(ib_tls_peer(server.tls));
	/* The raw client is done before the server's verdict; the alert then reaches it. */
	CU_ASSERT(client.result < 0);
	CU_ASSERT_EQUAL(alert_received(&client), SSL_AD_CERTIFICATE_REQUIRED);
	ends_free(&client, &server, raw);
	node_free(&alice);
}

static void test_non_ed25519_key_refused(void)
{
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct node alice, bob;
	struct end client, server;
	SSL_CTX *raw;
	X509 *cert;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ec);
	node_init(&alice, ALICE, 1u << ALICE | 1u << BOB);
	node_init(&bob, BOB, 1u << ALICE | 1u << BOB);
	cert = make_cert(ec, ec, "bob", "bob", 0, DAY);

	/* A client with a P-256 certificate. */
	raw = raw_ctx(false, TLS1_3_VERSION, cert, ec, RAW_ALPN_OURS);
	run_raw_client(raw, &client, &server, &alice);
	IB_ASSERT_ERR(server.result, IB_ERR_NOT_AUTHORIZED);
	CU_ASSERT(failure_has(&server, "not Ed25519"));
	CU_ASSERT(client.result < 0);
	CU_ASSERT_EQUAL(alert_received(&client), SSL_AD_BAD_CERTIFICATE);
	ends_free(&client, &server, raw);

	/* A server with a P-256 certificate. */
	raw = raw_ctx(true, TLS1_3_VERSION, cert, ec, RAW_ALPN_OURS);
	end_ib(&client, &bob, IB_TLS_CLIENT);
	end_raw(&server, raw, true);
	shuttle(&client, &server);
	IB_ASSERT_ERR(client.result, IB_ERR_NOT_AUTHORIZED);
	CU_ASSERT(failure_has(&client, "not Ed25519"));
	IB_ASSERT_ERR(server.result, IB_ERR_HANDSHAKE);
	CU_ASSERT_EQUAL(alert_received(&server), SSL_AD_BAD_CERTIFICATE);
	ends_free(&client, &server, raw);

	X509_free(cert);
	EVP_PKEY_free(ec);
	node_free(&alice);
	node_free(&bob);
}

/* [TLS-5] only the key decides: an expired certificate, and one "issued" by a stranger, of an
 * authorized key are both accepted, in either role. */
static void test_dates_and_issuer_ignored(void)
{
	struct node alice, bob, carol;
	struct end client, server;
	X509 *certs[2];

	node_init(&alice, ALICE, 1u << ALICE | 1u << BOB);
	node_init(&bob, BOB, 1u << ALICE | 1u << BOB);
	node_init(&carol, CAROL, 0);
	certs[0] = make_cert(ib_identity_evp(bob.id), ib_identity_evp(bob.id), "bob", "bob",
	                     -30 * DAY, -DAY);
	certs[1] = make_cert(ib_identity_evp(bob.id), ib_identity_evp(carol.id), "bob",
	                     "Some Certificate Authority", DAY, 2 * DAY);

	for (int i = 0; i < 2; i++) {
		SSL_CTX *raw = raw_ctx(false, TLS1_3_VERSION, certs[i], ib_identity_evp(bob.id),
		                       RAW_ALPN_OURS);

		run_raw_client(raw, &client, &server, &alice);
		IB_ASSERT_ERR(server.result, IB_TLS_OPEN);
		CU_ASSERT_PTR_EQUAL(ib_tls_peer(server.tls),
		                    ib_keyring_find(alice.kr, ib_identity_id(bob.id)));
		ends_free(&client, &server, raw);

		/* The same certificate on a server, facing an ib client of alice. */
		raw = raw_ctx(true, TLS1_3_VERSION, certs[i], ib_identity_evp(bob.id),
		              RAW_ALPN_OURS);
		end_ib(&client, &alice, IB_TLS_CLIENT);
		end_raw(&server, raw, true);
		shuttle(&client, &server);
		IB_ASSERT_ERR(client.result, IB_TLS_OPEN);
		CU_ASSERT_PTR_EQUAL(ib_tls_peer(client.tls),
		                    ib_keyring_find(alice.kr, ib_identity_id(bob.id)));
		ends_free(&client, &server, raw);
	}
	X509_free(certs[0]);
	X509_free(certs[1]);
	node_free(&alice);
	node_free(&bob);
	node_free(&carol);
}

static int tickets_seen;

static int count_ticket(SSL *ssl, SSL_SESSION *sess)
{
	(void)ssl;
	(void)sess;
	tickets_seen++;
	return 0; /* not kept */
}

static void test_no_tickets_no_resumption(void)
{
	struct node alice, bob;
	struct end client, server;
	SSL_SESSION *sess;
	SSL_CTX *raw;

	node_init(&alice, ALICE, 1u << ALICE | 1u << BOB);
	node_init(&bob, BOB, 1u << ALICE | 1u << BOB);
	raw = raw_bob_client(&bob, TLS1_3_VERSION, RAW_ALPN_OURS);
	/* The raw client would keep every ticket it gets. */
	SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
	SSL_CTX_sess_set_new_cb(raw, count_ticket);
	tickets_seen = 0;

	run_raw_client(raw, &client, &server, &alice);
	IB_ASSERT_ERR(server.result, IB_TLS_OPEN);
	/* Tickets come after the handshake: let data flow both ways first. */
	send_text(&server, "ping");
	send_text(&client, "pong");
	shuttle(&client, &server);
	CU_ASSERT(received(&client, "ping"));
	CU_ASSERT(received(&server, "pong"));
	CU_ASSERT_EQUAL(tickets_seen, 0);
	sess = SSL_get1_session(client.ssl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sess);
	CU_ASSERT_EQUAL(SSL_SESSION_has_ticket(sess), 0);
	CU_ASSERT_EQUAL(SSL_SESSION_is_resumable(sess), 0);
	ends_free(&client, &server, NULL);

	/* Offering the first session again still gets a full handshake. */
	end_raw(&client, raw, false);
	CU_ASSERT_EQUAL(SSL_set_session(client.ssl, sess), 1);
	end_ib(&server, &alice, IB_TLS_SERVER);
	shuttle(&client, &server);
	IB_ASSERT_ERR(server.result, IB_TLS_OPEN);
	IB_ASSERT_ERR(client.result, IB_TLS_OPEN);
	CU_ASSERT_EQUAL(SSL_session_reused(client.ssl), 0);
	CU_ASSERT_FALSE(ib_tls_resumed(server.tls));
	ends_free(&client, &server, NULL);
	SSL_SESSION_free(sess);
	SSL_CTX_free(raw);

	node_free(&alice);
	node_free(&bob);
}

/* A server that does issue tickets: the ib client takes no notice and stays OPEN. */
static void test_client_ignores_tickets(void)
{
	struct node alice, bob;
	struct end client, server;
	SSL_CTX *raw;
	X509 *cert;

	node_init(&alice, ALICE, 1u << ALICE | 1u << BOB);
	node_init(&bob, BOB, 1u << ALICE | 1u << BOB);
	cert = ib_identity_x509(alice.id, "alice");
	raw = raw_ctx(true, TLS1_3_VERSION, cert, ib_identity_evp(alice.id), RAW_ALPN_OURS);
	CU_ASSERT_EQUAL(SSL_CTX_set_num_tickets(raw, 2), 1);
	end_ib(&client, &bob, IB_TLS_CLIENT);
	end_raw(&server, raw, true);
	shuttle(&client, &server);
	IB_ASSERT_ERR(client.result, IB_TLS_OPEN);
	send_text(&server, "data after tickets");
	shuttle(&client, &server);
	IB_ASSERT_ERR(client.result, IB_TLS_OPEN);
	CU_ASSERT(received(&client, "data after tickets"));
	CU_ASSERT_FALSE(ib_tls_resumed(client.tls));
	ends_free(&client, &server, raw);
	X509_free(cert);
	node_free(&alice);
	node_free(&bob);
}

static void test_keyring_swap(void)
{
	struct node alice, bob;
	struct end client, server;
	struct ib_keyring *both = keyring(1u << ALICE | 1u << BOB);

	node_init(&alice, ALICE, 1u << ALICE);
	node_init(&bob, BOB, 1u << ALICE | 1u << BOB);

	end_ib(&client, &bob, IB_TLS_CLIENT);
	end_ib(&server, &alice, IB_TLS_SERVER);
	shuttle(&client, &server);
	IB_ASSERT_ERR(server.result, IB_ERR_NOT_AUTHORIZED);
	ends_free(&client, &server, NULL);

	/* After a reload that authorizes bob, the next handshake pins against the new set. */
	ib_tls_ctx_set_keyring(alice.ctx, both);
	end_ib(&client, &bob, IB_TLS_CLIENT);
	end_ib(&server, &alice, IB_TLS_SERVER);
	shuttle(&client, &server);
	IB_ASSERT_ERR(server.result, IB_TLS_OPEN);
	CU_ASSERT_PTR_EQUAL(ib_tls_peer(server.tls), ib_keyring_find(both, ib_identity_id(bob.id)));
	ends_free(&client, &server, NULL);

	/* And back: bob's key removed again. */
	ib_tls_ctx_set_keyring(alice.ctx, alice.kr);
	end_ib(&client, &bob, IB_TLS_CLIENT);
	end_ib(&server, &alice, IB_TLS_SERVER);
	shuttle(&client, &server);
	IB_ASSERT_ERR(server.result, IB_ERR_NOT_AUTHORIZED);
	ends_free(&client, &server, NULL);

	ib_keyring_free(both);
	node_free(&alice);
	node_free(&bob);
}

/* Bytes of buf up to the end of its first application_data record (TLS 1.3 encrypts every
 * handshake message after ServerHello in its own record of that type). */
static size_t through_first_app_record(const struct ib_buf *b)
{
	size_t off = 0;

	while (off + 5 <= b->len) {
		size_t len = (size_t)b->ptr[off + 3] << 8 | b->ptr[off + 4];
		uint8_t type = b->ptr[off];

		off += 5 + len;
		if (type == 23)
			return off <= b->len ? off : 0;
	}
	return 0;
}

/* The server has pinned the client's certificate when the keyring is swapped and the old one
 * freed, before the client's Finished arrives: the key is looked up again in the new one. */
static void swap_between_certificate_and_finished(bool keep_bob)
{
	struct node alice, bob;
	struct end client, server;
	struct ib_keyring *next = keyring(1u << ALICE | (keep_bob ? 1u << BOB : 0));
	struct ib_buf flight = {0};
	char bob_hex[2 * IB_ID_LEN + 1];
	size_t cut;

	node_init(&alice, ALICE, 1u << ALICE | 1u << BOB);
	node_init(&bob, BOB, 1u << ALICE | 1u << BOB);
	end_ib(&client, &bob, IB_TLS_CLIENT);
	end_ib(&server, &alice, IB_TLS_SERVER);
	step(&client);
	move(&client, &server);
	step(&server);
	move(&server, &client);
	step(&client);
	IB_ASSERT_ERR(client.result, IB_TLS_OPEN);
	IB_ASSERT_OK(ib_tls_take_output(client.tls, &flight));
	cut = through_first_app_record(&flight);
	CU_ASSERT_FATAL(cut > 0 && cut < flight.len);

	IB_ASSERT_OK(ib_tls_feed(server.tls, flight.ptr, cut));
	step(&server);
	IB_ASSERT_ERR(server.result, IB_TLS_HANDSHAKING);
	ib_tls_ctx_set_keyring(alice.ctx, next);
	ib_keyring_free(alice.kr);
	alice.kr = next;
	IB_ASSERT_OK(ib_tls_feed(server.tls, flight.ptr + cut, flight.len - cut));
	step(&server);
	if (keep_bob) {
		IB_ASSERT_ERR(server.result, IB_TLS_OPEN);
		CU_ASSERT_PTR_EQUAL(ib_tls_peer(server.tls),
		                    ib_keyring_find(next, ib_identity_id(bob.id)));
	} else {
		IB_ASSERT_ERR(server.result, IB_ERR_NOT_AUTHORIZED);
		id_hex(BOB, bob_hex);
		CU_ASSERT(failure_has(&server, bob_hex));
		CU_ASSERT_PTR_NULL(ib_tls_peer(server.tls));
		/* Refused after the handshake, not by the pinning: the client sees a close. */
		shuttle(&client, &server);
		IB_ASSERT_ERR(client.result, IB_TLS_PEER_CLOSED);
	}
	ib_buf_free(&flight);
	ends_free(&client, &server, NULL);
	node_free(&alice);
	node_free(&bob);
}

static void test_keyring_swap_mid_handshake(void)
{
	swap_between_certificate_and_finished(false);
	swap_between_certificate_and_finished(true);
}

static void test_close_notify(void)
{
	struct node alice, bob;
	struct end client, server;

	node_init(&alice, ALICE, 1u << ALICE | 1u << BOB);
	node_init(&bob, BOB, 1u << ALICE | 1u << BOB);
	end_ib(&client, &bob, IB_TLS_CLIENT);
	end_ib(&server, &alice, IB_TLS_SERVER);
	/* Closing before the handshake is done queues nothing and is not an error. */
	IB_ASSERT_OK(ib_tls_close(client.tls));
	shuttle(&client, &server);
	IB_ASSERT_ERR(server.result, IB_TLS_OPEN);

	/* The last words arrive before the close. */
	send_text(&client, "last words");
	IB_ASSERT_OK(ib_tls_close(client.tls));
	IB_ASSERT_OK(ib_tls_close(client.tls));
	IB_ASSERT_ERR(ib_tls_write(client.tls, (const uint8_t *)"x", 1), IB_ERR_INVALID_ARG);
	shuttle(&client, &server);
	IB_ASSERT_ERR(server.result, IB_TLS_PEER_CLOSED);
	CU_ASSERT(received(&server, "last words"));
	IB_ASSERT_ERR(ib_tls_step(server.tls, &server.plain), IB_TLS_PEER_CLOSED);
	IB_ASSERT_ERR(client.result, IB_TLS_OPEN);

	/* The server may still answer, then closes too. */
	send_text(&server, "bye");
	IB_ASSERT_OK(ib_tls_close(server.tls));
	shuttle(&client, &server);
	CU_ASSERT(received(&client, "bye"));
	IB_ASSERT_ERR(client.result, IB_TLS_PEER_CLOSED);

	ends_free(&client, &server, NULL);
	node_free(&alice);
	node_free(&bob);
}

/* A small deterministic generator, so a failure can be replayed. */
static uint32_t next_random(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

static void test_garbage(void)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
	struct node alice, bob;
	struct end client, server;
	struct ib_buf plain = {0};
	uint8_t junk[512];
	uint32_t seed = 12345;

	node_init(&alice, ALICE, 1u << ALICE | 1u << BOB);
	node_init(&bob, BOB, 1u << ALICE | 1u << BOB);

	/* Random bytes, and something that is not TLS at all, fed to a fresh server. */
	for (int i = 0; i < 300; i++) {
		struct ib_tls *t = NULL;
		size_t n = 1 + next_random(&seed) % sizeof junk;
		int rc;

		for (size_t j = 0; j < n; j++)
			junk[j] = (uint8_t)next_random(&seed);
		if (i == 0) {
			n = sizeof http - 1;
			memcpy(junk, http, n);
		}
		IB_ASSERT_OK(ib_tls_new(&t, alice.ctx, IB_TLS_SERVER));
		IB_ASSERT_OK(ib_tls_feed(t, junk, n));
		rc = ib_tls_step(t, &plain);
		/* Too few bytes to tell is still "handshaking"; otherwise a handshake failure. */
		CU_ASSERT(rc == IB_ERR_HANDSHAKE || rc == IB_TLS_HANDSHAKING);
		if (rc == IB_ERR_HANDSHAKE)
			CU_ASSERT(ib_tls_failure(t)[0] != '\0');
		if (i == 0) {
			IB_ASSERT_ERR(rc, IB_ERR_HANDSHAKE);
			CU_ASSERT_PTR_NOT_NULL(strstr(ib_tls_failure(t), "does not speak TLS"));
		}
		CU_ASSERT_EQUAL(plain.len, 0);
		ib_tls_free(t);
	}

	/* Random bytes inside an open link: a broken stream, IB_ERR_IO. */
	end_ib(&client, &bob, IB_TLS_CLIENT);
	end_ib(&server, &alice, IB_TLS_SERVER);
	shuttle(&client, &server);
	IB_ASSERT_ERR(server.result, IB_TLS_OPEN);
	junk[0] = 0x17; /* application_data record, TLS 1.2 legacy version, 100 bytes */
	junk[1] = 0x03;
	junk[2] = 0x03;
	junk[3] = 0x00;
	junk[4] = 100;
	for (size_t j = 5; j < 105; j++)
		junk[j] = (uint8_t)next_random(&seed);
	IB_ASSERT_OK(ib_tls_feed(server.tls, junk, 105));
	IB_ASSERT_ERR(ib_tls_step(server.tls, &server.plain), IB_ERR_IO);
	CU_ASSERT(ib_tls_failure(server.tls)[0] != '\0');
	ends_free(&client, &server, NULL);

	ib_buf_free(&plain);
	node_free(&alice);
	node_free(&bob);
}

static void test_invalid_args(void)
{
	struct node alice;
	struct ib_tls_ctx *c = NULL;
	struct ib_tls *t = NULL;
	struct ib_buf b = {0};

	node_init(&alice, ALICE, 1u << ALICE);
	IB_ASSERT_ERR(ib_tls_ctx_new(NULL, alice.id), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_tls_ctx_new(&c, NULL), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_tls_new(&t, alice.ctx, (enum ib_tls_role)3), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_tls_new(&t, NULL, IB_TLS_CLIENT), IB_ERR_INVALID_ARG);
	IB_ASSERT_OK(ib_tls_new(&t, alice.ctx, IB_TLS_CLIENT));
	IB_ASSERT_ERR(ib_tls_feed(t, NULL, 1), IB_ERR_INVALID_ARG);
	IB_ASSERT_OK(ib_tls_feed(t, NULL, 0));
	IB_ASSERT_ERR(ib_tls_step(t, NULL), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_tls_take_output(t, NULL), IB_ERR_INVALID_ARG);
	/* A client's first step produces its ClientHello. */
	IB_ASSERT_ERR(ib_tls_step(t, &b), IB_TLS_HANDSHAKING);
	IB_ASSERT_OK(ib_tls_take_output(t, &b));
	CU_ASSERT(b.len > 0 && b.ptr[0] == 0x16);
	CU_ASSERT_STRING_EQUAL(ib_tls_failure(t), "");
	ib_tls_free(t);
	ib_tls_free(NULL);
	ib_tls_ctx_free(NULL);
	ib_buf_free(&b);
	node_free(&alice);
}

static const struct ib_test_case cases[] = {
	IB_TEST(test_handshake_and_data, "TLS-3 TLS-4"),
	IB_TEST(test_certificate_and_group, "TLS-7"),
	IB_TEST(test_server_refuses_unknown_client, "TLS-4 MEMBER-4"),
	IB_TEST(test_client_refuses_unknown_server, "TLS-4"),
	IB_TEST(test_no_keyring_refuses, "TLS-4"),
	IB_TEST(test_tls12_refused, "TLS-1"),
	IB_TEST(test_alpn_required, "TLS-2"),
	IB_TEST(test_client_certificate_required, "TLS-3"),
	IB_TEST(test_non_ed25519_key_refused, "TLS-3 TLS-4"),
	IB_TEST(test_dates_and_issuer_ignored, "TLS-5"),
	IB_TEST(test_no_tickets_no_resumption, "TLS-6"),
	IB_TEST(test_client_ignores_tickets, "TLS-6"),
	IB_TEST(test_keyring_swap, ""),
	IB_TEST(test_keyring_swap_mid_handshake, "TLS-4 MEMBER-4"),
	IB_TEST(test_close_notify, "LINK-5"),
	IB_TEST(test_garbage, "ERR-2"),
	IB_TEST(test_invalid_args, ""),
	IB_TEST_END,
};

const struct ib_test_suite ib_suite_tls = {"tls", NULL, NULL, cases};
