/*
 * tls.c - TLS 1.3 for links (spec section 4) over memory BIOs: ciphertext in through
 * ib_tls_feed, ciphertext out through ib_tls_take_output, never a socket.
 *
 * The peer is authenticated by key pinning, not by a CA: OpenSSL's certificate chain check is
 * replaced entirely by pin_peer (SSL_CTX_set_cert_verify_callback), which takes the peer's
 * SPKI once per link and looks it up in the keyring ([TLS-4], [TLS-5], [ID-3]). OpenSSL still
 * checks the CertificateVerify signature, which proves the peer holds the pinned key.
 */
#include "tls.h"

#include "identity_internal.h"
#include "keylog.h"
#include "reader.h"

#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* [TLS-2] The one protocol offered and accepted, in ALPN wire form (u8 length, name). */
static const unsigned char alpn_wire[] = "\x0a" IB_ALPN;
#define ALPN_NAME_LEN (sizeof alpn_wire - 2)

/* Plaintext read per SSL_read: one TLS record at most. */
#define READ_CHUNK 16384

#define FAILURE_MAX 192

/* A memory BIO keeps the capacity of the largest burst it ever held; above this, an emptied
 * one is replaced, so that a link that once carried a 16 MB frame does not keep 16 MB, and
 * the handshake's flights (0.7 and 1 KB) are given back too. Small records keep their buffer:
 * replacing it every time costs ~0.6 us per record (measured), for 0.6 KB per idle end. */
#define BIO_KEEP_MAX 512

struct ib_tls_ctx {
	SSL_CTX *server;
	SSL_CTX *client;
	const struct ib_keyring *kr;    /* borrowed; NULL: nobody is authorized */
#ifdef IB_FAULTS
	enum ib_fault fault;            /* fault.h */
#endif
};

struct ib_tls {
	struct ib_tls_ctx *ctx;
	SSL *ssl;
	BIO *rbio;                      /* owned by ssl: ciphertext fed, not yet used */
	BIO *wbio;                      /* owned by ssl: ciphertext waiting to be taken */
	enum ib_tls_role role;
	int state;                      /* enum ib_tls_state */
	int error;                      /* sticky: 0, or the error every later call returns */
	int refusal;                    /* set by a callback that refused the handshake */
	bool opened;                    /* reached IB_TLS_OPEN once */
	bool closing;                   /* we queued close_notify */
	bool pinned;                    /* peer_spki holds the key the certificate carried */
	uint8_t peer_spki[IB_SPKI_LEN];
	const struct ib_pubkey *peer;   /* after OPEN: the key in the keyring current then */
	char failure[FAILURE_MAX];
#ifdef IB_FAULTS
	struct ib_pubkey *unpinned;     /* accept_unknown_keys: the unknown key, owned */
#endif
};

static void set_failure(struct ib_tls *t, const char *reason)
{
	snprintf(t->failure, sizeof t->failure, "%s", reason);
}

/* A callback's refusal: the first one is kept, so the reason names the first problem. */
static void refuse(struct ib_tls *t, int err, const char *reason)
{
	if (t->refusal)
		return;
	t->refusal = err;
	set_failure(t, reason);
}

static struct ib_tls *tls_of(const SSL *ssl)
{
	return ssl ? SSL_get_app_data(ssl) : NULL;
}

/* ---- Callbacks ------------------------------------------------------------------------- */

/* [TLS-1] True if the supported_versions extension lists TLS 1.3. Peer bytes, so through the
 * reader; a malformed list counts as "no" (OpenSSL refuses it anyway). */
static bool offers_tls13(SSL *ssl)
{
	const unsigned char *ext;
	struct ib_reader r, list;
	size_t len;
	uint8_t list_len;

	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions, &ext, &len) != 1)
		return false;
	ib_reader_init(&r, ext, len);
	if (ib_reader_u8(&r, &list_len) != IB_OK || ib_reader_sub(&r, list_len, &list) != IB_OK)
		return false;
	while (ib_reader_left(&list) >= 2) {
		uint16_t v;

		if (ib_reader_u16(&list, &v) == IB_OK && v == TLS1_3_VERSION)
			return true;
	}
	return false;
}

/*
 * [TLS-2] A ClientHello without ALPN never reaches the ALPN callback, and OpenSSL would then
 * finish the handshake with no protocol: refuse it here, with no_application_protocol. A
 * client that does not offer TLS 1.3 is left to the version check ([TLS-1]), which names
 * the real problem.
 */
static int check_client_hello(SSL *ssl, int *alert, void *arg)
{
	struct ib_tls *t = tls_of(ssl);
	const unsigned char *ext;
	size_t len;

	(void)arg;
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation,
	                              &ext, &len) == 1 ||
	    !offers_tls13(ssl))
		return SSL_CLIENT_HELLO_SUCCESS;
	/* FAULT no-alpn-check, breaks [TLS-2]: a ClientHello without ALPN goes on. */
	if (IB_FAULT((const struct ib_tls_ctx *)arg, no_alpn_check))
		return SSL_CLIENT_HELLO_SUCCESS;
	if (t)
		refuse(t, IB_ERR_HANDSHAKE, "peer offered no ALPN (" IB_ALPN " required)");
	*alert = SSL_AD_NO_APPLICATION_PROTOCOL;
	return SSL_CLIENT_HELLO_ERROR;
}

/* [TLS-2] The server selects interbot/1 or fails the handshake with no_application_protocol. */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
	struct ib_tls *t = tls_of(ssl);
	struct ib_reader r;

	(void)arg;
	ib_reader_init(&r, in, inlen);
	while (ib_reader_left(&r) > 0) {
		struct ib_slice name;
		uint8_t n;

		if (ib_reader_u8(&r, &n) != IB_OK || ib_reader_bytes(&r, n, &name) != IB_OK)
			break;
		if (name.len == ALPN_NAME_LEN && memcmp(name.ptr, IB_ALPN, ALPN_NAME_LEN) == 0) {
			*out = name.ptr;
			*outlen = n;
			return SSL_TLSEXT_ERR_OK;
		}
	}
	/* FAULT no-alpn-check, breaks [TLS-2]: other protocols only: go on without one. */
	if (IB_FAULT((const struct ib_tls_ctx *)arg, no_alpn_check))
		return SSL_TLSEXT_ERR_NOACK;
	if (t)
		refuse(t, IB_ERR_HANDSHAKE, "peer offered ALPN without " IB_ALPN);
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static bool alpn_is_ours(const SSL *ssl)
{
	const unsigned char *p = NULL;
	unsigned int len = 0;

	SSL_get0_alpn_selected(ssl, &p, &len);
	return p && len == ALPN_NAME_LEN && memcmp(p, IB_ALPN, ALPN_NAME_LEN) == 0;
}

/* "key <id_bot> is not authorized", the id as people write it. */
static void unauthorized_reason(char out[FAILURE_MAX], const uint8_t spki[IB_SPKI_LEN])
{
	char hex[2 * IB_ID_LEN + 1];
	ib_id id;

	ib_id_from_spki(&id, spki);
	ib_id_to_hex(&id, hex);
	snprintf(out, FAILURE_MAX, "key %s is not authorized", hex);
}

/* The callback's refusal, as the alert OpenSSL sends (bad_certificate for a rejected key,
 * handshake_failure for the rest). */
static int pin_refuse(X509_STORE_CTX *xs, struct ib_tls *t, int err, int x509_err,
                      const char *reason)
{
	refuse(t, err, reason);
	X509_STORE_CTX_set_error(xs, x509_err);
	return 0;
}

/*
 * [TLS-3][TLS-4][TLS-5][ID-3] Replaces the whole chain check: the only question is whether the
 * peer's key is one the owner authorized. Dates, issuer, subject and extensions are never
 * looked at. The SPKI is encoded once here, per link, never per frame.
 */
static int pin_peer(X509_STORE_CTX *xs, void *arg)
{
	const struct ib_tls_ctx *c = arg;
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct ib_tls *t = tls_of(ssl);
	X509 *cert = X509_STORE_CTX_get0_cert(xs);
	X509_PUBKEY *xpk = cert ? X509_get_X509_PUBKEY(cert) : NULL;
	ASN1_OBJECT *alg = NULL;
	unsigned char *der = NULL;
	char reason[FAILURE_MAX];
	int len;

	if (!t) {
		X509_STORE_CTX_set_error(xs, X509_V_ERR_UNSPECIFIED);
		return 0;
	}
	/* [TLS-2][TLS-8] The client knows the server's ALPN answer (EncryptedExtensions) before
	 * the server's certificate: refuse here, in the handshake, so that the server gets an
	 * alert (handshake_failure: OpenSSL cannot send no_application_protocol from a client).
	 * FAULT client-alpn-late, breaks [TLS-8]: the handshake completes, then the check in
	 * handshake() closes it. */
	if (t->role == IB_TLS_CLIENT && !alpn_is_ours(ssl) && !IB_FAULT(c, client_alpn_late))
		return pin_refuse(xs, t, IB_ERR_HANDSHAKE, X509_V_ERR_APPLICATION_VERIFICATION,
		                  "peer selected no ALPN " IB_ALPN);
	if (!xpk || X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, xpk) != 1)
		return pin_refuse(xs, t, IB_ERR_HANDSHAKE, X509_V_ERR_UNSPECIFIED,
		                  "peer certificate has no readable key");
	/* [TLS-3][TLS-4] counted as not_authorized, as the spec says. */
	if (OBJ_obj2nid(alg) != NID_ED25519) {
		const char *sn = OBJ_nid2sn(OBJ_obj2nid(alg));

		snprintf(reason, sizeof reason, "peer key is not Ed25519 (%s)",
		         sn ? sn : "unknown algorithm");
		return pin_refuse(xs, t, IB_ERR_NOT_AUTHORIZED, X509_V_ERR_CERT_REJECTED, reason);
	}
	len = i2d_X509_PUBKEY(xpk, &der);
	if (len != IB_SPKI_LEN) {
		OPENSSL_free(der);
		return pin_refuse(xs, t, IB_ERR_NOT_AUTHORIZED, X509_V_ERR_CERT_REJECTED,
		                  "peer key is not a valid Ed25519 key");
	}
	/* [TLS-4][ID-3] the whole SPKI must equal the stored key's, not only its id_bot; [TLS-8]
	 * refused here, in the handshake, with bad_certificate.
	 * FAULT accept-unknown-keys, breaks [TLS-4]: a key outside the keyring is pinned.
	 * FAULT late-pinning, breaks [TLS-8]: it is let through the handshake, and handshake()
	 * closes the link after it. */
	if (!ib_keyring_match_spki(c->kr, der, (size_t)len) && !IB_FAULT(c, accept_unknown_keys) &&
	    !IB_FAULT(c, late_pinning) && !IB_FAULT(c, not_authorized_error)) {
		unauthorized_reason(reason, der);
		OPENSSL_free(der);
		return pin_refuse(xs, t, IB_ERR_NOT_AUTHORIZED, X509_V_ERR_CERT_REJECTED, reason);
	}
	memcpy(t->peer_spki, der, IB_SPKI_LEN);
	t->pinned = true;
	OPENSSL_free(der);
	X509_STORE_CTX_set_error(xs, X509_V_OK);
	return 1;
}

/* ---- Contexts -------------------------------------------------------------------------- */

static int configure(SSL_CTX *ctx, struct ib_tls_ctx *c, X509 *cert, EVP_PKEY *key,
                     bool server)
{
	/* [TLS-1] TLS 1.3 and nothing else. */
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
		return IB_ERR_CRYPTO;
	/* [TLS-3][TLS-7] the identity key, in a self-signed certificate. */
	if (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		return IB_ERR_CRYPTO;
	/* [TLS-3] both ends require the other's certificate, [TLS-8] the server with alert
	 * certificate_required when none comes; [TLS-4][TLS-5] pinning, not a CA. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, pin_peer, c);
	/* [TLS-6] no tickets, no session cache, no early data: every link is a full handshake. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (SSL_CTX_set_num_tickets(ctx, 0) != 1 || SSL_CTX_set_max_early_data(ctx, 0) != 1)
		return IB_ERR_CRYPTO;
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* Idle links give their two ~17 KB record buffers back (50.4 KB -> 17.9 KB of heap per
	 * idle end, measured with OpenSSL 3.0). A memory BIO never blocks, so partial and moved
	 * writes cannot happen; the modes only make ib_tls_write's loop safe if they did. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
	                          SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* [TLS-7] X25519 first. */
	if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256") != 1)
		return IB_ERR_CRYPTO;
	/* [TLS-2] */
	if (server) {
		SSL_CTX_set_client_hello_cb(ctx, check_client_hello, c);
		SSL_CTX_set_alpn_select_cb(ctx, select_alpn, c);
	} else if (SSL_CTX_set_alpn_protos(ctx, alpn_wire, sizeof alpn_wire - 1) != 0) {
		return IB_ERR_CRYPTO; /* sic: 0 is success here */
	}
	return IB_OK;
}

/* Every secret goes to the process-wide key log (keylog.c), which writes only when its owner
 * opened one: `interbot run --keylog`, interbot-conform --keylog. */
static void write_keylog(const SSL *ssl, const char *line)
{
	(void)ssl;
	ib_keylog_write(line);
}

int ib_tls_ctx_new(struct ib_tls_ctx **out, const struct ib_identity *id)
{
	struct ib_tls_ctx *c = NULL;
	char cn[2 * IB_ID_LEN + 1];
	X509 *cert = NULL;
	int err;

	if (!out || !id)
		return IB_ERR_INVALID_ARG;
	c = calloc(1, sizeof *c);
	if (!c)
		return IB_ERR_NOMEM;
	/* The CN is a label for people reading traces; nothing checks it [TLS-5]. */
	ib_id_to_hex(ib_identity_id(id), cn);
	cert = ib_identity_x509(id, cn);
	c->server = SSL_CTX_new(TLS_server_method());
	c->client = SSL_CTX_new(TLS_client_method());
	if (!cert || !c->server || !c->client) {
		err = IB_ERR_CRYPTO;
		goto out;
	}
	err = configure(c->server, c, cert, ib_identity_evp(id), true);
	if (!err)
		err = configure(c->client, c, cert, ib_identity_evp(id), false);
	if (err)
		goto out;
	SSL_CTX_set_keylog_callback(c->server, write_keylog);
	SSL_CTX_set_keylog_callback(c->client, write_keylog);
	*out = c;
	c = NULL;
out:
	ERR_clear_error();
	X509_free(cert);
	ib_tls_ctx_free(c);
	return err;
}

void ib_tls_ctx_set_keyring(struct ib_tls_ctx *c, const struct ib_keyring *kr)
{
	if (c)
		c->kr = kr;
}

#ifdef IB_FAULTS
void ib_tls_ctx_set_fault(struct ib_tls_ctx *c, enum ib_fault f)
{
	c->fault = f;
}
#endif

void ib_tls_ctx_free(struct ib_tls_ctx *c)
{
	if (!c)
		return;
	SSL_CTX_free(c->server);
	SSL_CTX_free(c->client);
	free(c);
}

/* ---- Links ----------------------------------------------------------------------------- */

static BIO *new_mem_bio(void)
{
	BIO *b = BIO_new(BIO_s_mem());

	/* An empty input is "wait for more", never end of stream: the link sees EOF itself. */
	if (b)
		BIO_set_mem_eof_return(b, -1);
	return b;
}

static size_t bio_capacity(BIO *b)
{
	BUF_MEM *bm = NULL;

	BIO_get_mem_ptr(b, &bm);
	return bm ? bm->max : 0;
}

/* Replaces an emptied BIO whose buffer grew large (BIO_s_mem never shrinks). If the new BIO
 * cannot be had, the old one stays: that costs memory, not correctness. */
static void shrink_bio(struct ib_tls *t, bool input)
{
	BIO *old = input ? t->rbio : t->wbio, *fresh;

	if (BIO_ctrl_pending(old) != 0 || bio_capacity(old) <= BIO_KEEP_MAX)
		return;
	fresh = new_mem_bio();
	if (!fresh) {
		ERR_clear_error();
		return;
	}
	if (input) {
		SSL_set0_rbio(t->ssl, fresh);   /* frees old */
		t->rbio = fresh;
	} else {
		SSL_set0_wbio(t->ssl, fresh);
		t->wbio = fresh;
	}
}

int ib_tls_new(struct ib_tls **out, struct ib_tls_ctx *c, enum ib_tls_role role)
{
	struct ib_tls *t = NULL;
	BIO *rbio = NULL, *wbio = NULL;
	int err = IB_ERR_NOMEM;

	if (!out || !c || (role != IB_TLS_CLIENT && role != IB_TLS_SERVER))
		return IB_ERR_INVALID_ARG;
	t = calloc(1, sizeof *t);
	if (!t)
		return IB_ERR_NOMEM;
	t->ctx = c;
	t->role = role;
	t->state = IB_TLS_HANDSHAKING;
	t->ssl = SSL_new(role == IB_TLS_CLIENT ? c->client : c->server);
	rbio = new_mem_bio();
	wbio = new_mem_bio();
	if (!t->ssl || !rbio || !wbio)
		goto out;
	/* FAULT accept-tls12, breaks [TLS-1]: TLS 1.2 may be negotiated. */
	if (IB_FAULT(c, accept_tls12) && SSL_set_min_proto_version(t->ssl, TLS1_2_VERSION) != 1)
		goto out;
	SSL_set_bio(t->ssl, rbio, wbio);
	t->rbio = rbio;
	t->wbio = wbio;
	rbio = wbio = NULL;
	if (SSL_set_app_data(t->ssl, t) != 1) {
		err = IB_ERR_CRYPTO;
		goto out;
	}
	/* FAULT optional-client-cert, breaks [TLS-8]: the server asks for a certificate but
	 * does not require one; handshake() closes the link after the handshake instead. */
	if (IB_FAULT(c, optional_client_cert) && role == IB_TLS_SERVER)
		SSL_set_verify(t->ssl, SSL_VERIFY_PEER, NULL);
	if (role == IB_TLS_CLIENT)
		SSL_set_connect_state(t->ssl);
	else
		SSL_set_accept_state(t->ssl);
	*out = t;
	t = NULL;
	err = IB_OK;
out:
	ERR_clear_error();
	BIO_free(rbio);
	BIO_free(wbio);
	ib_tls_free(t);
	return err;
}

void ib_tls_free(struct ib_tls *t)
{
	if (!t)
		return;
	SSL_free(t->ssl);
#ifdef IB_FAULTS
	ib_pubkey_free(t->unpinned);
#endif
	free(t);
}

int ib_tls_feed(struct ib_tls *t, const uint8_t *p, size_t n)
{
	size_t done = 0;

	if (!t || (!p && n))
		return IB_ERR_INVALID_ARG;
	if (t->error)
		return t->error;
	while (done < n) {
		size_t w = 0;

		if (BIO_write_ex(t->rbio, p + done, n - done, &w) != 1 || w == 0) {
			ERR_clear_error();
			return IB_ERR_NOMEM;
		}
		done += w;
	}
	return IB_OK;
}

/* Records the sticky error and its reason (unless a callback gave one already). */
static int fail(struct ib_tls *t, int err, const char *reason)
{
	if (t->refusal) {
		err = t->refusal;
	} else if (reason) {
		set_failure(t, reason);
	}
	t->error = err;
	ERR_clear_error();
	return err;
}

/* Alerts that mean "the peer refused the handshake" rather than a broken stream. */
static bool is_handshake_alert(int alert)
{
	switch (alert) {
	case SSL_AD_HANDSHAKE_FAILURE:
	case SSL_AD_BAD_CERTIFICATE:
	case SSL_AD_UNSUPPORTED_CERTIFICATE:
	case SSL_AD_CERTIFICATE_REVOKED:
	case SSL_AD_CERTIFICATE_EXPIRED:
	case SSL_AD_CERTIFICATE_UNKNOWN:
	case SSL_AD_UNKNOWN_CA:
	case SSL_AD_ACCESS_DENIED:
	case SSL_AD_PROTOCOL_VERSION:
	case SSL_AD_CERTIFICATE_REQUIRED:
	case SSL_AD_NO_APPLICATION_PROTOCOL:
		return true;
	default:
		return false;
	}
}

/*
 * An OpenSSL failure as an ib_err and a reason for people. Before OPEN every failure is
 * IB_ERR_HANDSHAKE. After it, a handshake alert still is: in TLS 1.3 the client is done
 * before the server has checked the client's certificate, so the server's refusal arrives
 * at a client that is already OPEN. Anything else after OPEN is IB_ERR_IO.
 */
static int fail_from_openssl(struct ib_tls *t)
{
	unsigned long e = ERR_peek_error();
	int reason = ERR_GET_REASON(e);
	int err = t->opened ? IB_ERR_IO : IB_ERR_HANDSHAKE;
	const char *what;
	char buf[FAILURE_MAX];

	if (e == 0 || ERR_GET_LIB(e) != ERR_LIB_SSL) {
		what = e ? ERR_reason_error_string(e) : NULL;
		snprintf(buf, sizeof buf, "TLS error: %s", what ? what : "unknown");
		return fail(t, err, buf);
	}
	if (reason > SSL_AD_REASON_OFFSET && reason <= SSL_AD_REASON_OFFSET + 255) {
		int alert = reason - SSL_AD_REASON_OFFSET;
		const char *name = SSL_alert_desc_string_long(alert);

		if (is_handshake_alert(alert))
			err = IB_ERR_HANDSHAKE;
		switch (alert) {
		case SSL_AD_PROTOCOL_VERSION:
			what = "peer supports no TLS 1.3";
			break;
		case SSL_AD_NO_APPLICATION_PROTOCOL:
			what = "peer refused ALPN " IB_ALPN;
			break;
		case SSL_AD_CERTIFICATE_REQUIRED:
			what = "peer requires a certificate";
			break;
		default:
			what = is_handshake_alert(alert) ? "peer refused the handshake"
			                                 : "peer sent an alert";
			break;
		}
		snprintf(buf, sizeof buf, "%s (alert: %s)", what, name);
		return fail(t, err, buf);
	}
	switch (reason) {
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_WRONG_SSL_VERSION:
	case SSL_R_UNKNOWN_PROTOCOL:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
		return fail(t, err, "peer supports no TLS 1.3");
	case SSL_R_NO_APPLICATION_PROTOCOL:
		return fail(t, err, "no ALPN " IB_ALPN);
	case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
		return fail(t, err, "peer sent no certificate");
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_HTTP_REQUEST:
	case SSL_R_HTTPS_PROXY_REQUEST:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
	case SSL_R_RECORD_LENGTH_MISMATCH:
		what = ERR_reason_error_string(e);
		snprintf(buf, sizeof buf, "peer does not speak TLS (%s)", what ? what : "bad record");
		return fail(t, err, buf);
	default:
		what = ERR_reason_error_string(e);
		snprintf(buf, sizeof buf, "TLS error: %s", what ? what : "unknown");
		return fail(t, err, buf);
	}
}

/* A failure found after OpenSSL finished the handshake: close_notify, so the peer closes. */
static int fail_after_handshake(struct ib_tls *t, int err, const char *reason)
{
	ERR_clear_error();
	SSL_shutdown(t->ssl);
	return fail(t, err, reason);
}

static int handshake(struct ib_tls *t)
{
	int rc;

	ERR_clear_error();
	rc = SSL_do_handshake(t->ssl);
	if (rc != 1) {
		switch (SSL_get_error(t->ssl, rc)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			ERR_clear_error();
			return IB_TLS_HANDSHAKING;
		default:
			return fail_from_openssl(t);
		}
	}
	/* What the configuration and callbacks already ensure, checked once more where it
	 * costs nothing. */
	/* FAULT accept-tls12, breaks [TLS-1]: a TLS 1.2 session is kept. */
	if (SSL_version(t->ssl) != TLS1_3_VERSION && !IB_FAULT(t->ctx, accept_tls12))
		return fail_after_handshake(t, IB_ERR_HANDSHAKE, "peer supports no TLS 1.3");
	/* FAULT no-alpn-check, breaks [TLS-2]: a session without ALPN is kept. */
	if (!alpn_is_ours(t->ssl) && !IB_FAULT(t->ctx, no_alpn_check))
		return fail_after_handshake(t, IB_ERR_HANDSHAKE, "no ALPN " IB_ALPN);
	if (!t->pinned)
		return fail_after_handshake(t, IB_ERR_NOT_AUTHORIZED, "peer key was not pinned");
	/* [TLS-4][MEMBER-4] The keyring may have been swapped (and the old one freed) between the
	 * peer's Certificate and its Finished, when they came in different reads: look the key
	 * up again in the current one, so that ib_tls_peer never points into a freed keyring
	 * and a key removed meanwhile gets no link. */
	t->peer = ib_keyring_match_spki(t->ctx->kr, t->peer_spki, IB_SPKI_LEN);
#ifdef IB_FAULTS
	/* FAULT accept-unknown-keys, breaks [TLS-4]: the link gets the unknown key.
	 * FAULT not-authorized-error, breaks [TLS-8]: so does it, for link.c to close it with
	 * ERROR not_authorized after the handshake. */
	if (!t->peer && (IB_FAULT(t->ctx, accept_unknown_keys) ||
			 IB_FAULT(t->ctx, not_authorized_error)) &&
	    ib_pubkey_from_spki(&t->unpinned, t->peer_spki, IB_SPKI_LEN) == IB_OK)
		t->peer = t->unpinned;
#endif
	if (!t->peer) {
		char reason[FAILURE_MAX];

		unauthorized_reason(reason, t->peer_spki);
		return fail_after_handshake(t, IB_ERR_NOT_AUTHORIZED, reason);
	}
	if (SSL_session_reused(t->ssl))
		return fail_after_handshake(t, IB_ERR_HANDSHAKE, "session resumed");
	t->state = IB_TLS_OPEN;
	t->opened = true;
	return IB_TLS_OPEN;
}

/* Every whole record's plaintext, until OpenSSL wants more ciphertext or the peer closed. */
static int read_plain(struct ib_tls *t, struct ib_buf *plain_out)
{
	for (;;) {
		size_t got = 0;

		/* Decrypted straight into the caller's buffer: no copy through the stack. */
		if (ib_buf_reserve(plain_out, READ_CHUNK) != IB_OK)
			return fail(t, IB_ERR_NOMEM, "out of memory");
		ERR_clear_error();
		if (SSL_read_ex(t->ssl, plain_out->ptr + plain_out->len, READ_CHUNK, &got) == 1) {
			plain_out->len += got;
			continue;
		}
		switch (SSL_get_error(t->ssl, 0)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			ERR_clear_error();
			return t->state;
		case SSL_ERROR_ZERO_RETURN:
			/* [LINK-5] close_notify */
			ERR_clear_error();
			t->state = IB_TLS_PEER_CLOSED;
			return t->state;
		default:
			return fail_from_openssl(t);
		}
	}
}

int ib_tls_step(struct ib_tls *t, struct ib_buf *plain_out)
{
	int st;

	if (!t || !plain_out)
		return IB_ERR_INVALID_ARG;
	if (t->error)
		return t->error;
	if (t->state == IB_TLS_HANDSHAKING) {
		st = handshake(t);
		if (st != IB_TLS_OPEN)
			return st;
	}
	if (t->state == IB_TLS_PEER_CLOSED)
		return t->state;
	st = read_plain(t, plain_out);
	if (st >= 0)
		shrink_bio(t, true);
	return st;
}

int ib_tls_write(struct ib_tls *t, const uint8_t *p, size_t n)
{
	size_t done = 0;

	if (!t || (!p && n))
		return IB_ERR_INVALID_ARG;
	if (t->error)
		return t->error;
	if (!t->opened || t->closing)
		return IB_ERR_INVALID_ARG;
	while (done < n) {
		size_t w = 0;

		ERR_clear_error();
		if (SSL_write_ex(t->ssl, p + done, n - done, &w) != 1) {
			/* A memory BIO never blocks: this is a broken link, or no memory. */
			return fail_from_openssl(t);
		}
		done += w;
	}
	return IB_OK;
}

size_t ib_tls_pending_output(const struct ib_tls *t)
{
	return t ? BIO_ctrl_pending(t->wbio) : 0;
}

int ib_tls_take_output(struct ib_tls *t, struct ib_buf *out)
{
	size_t pending, got = 0;
	int err;

	if (!t || !out)
		return IB_ERR_INVALID_ARG;
	/* Taken even after a failure: the alert for the peer is in there. */
	pending = BIO_ctrl_pending(t->wbio);
	if (pending == 0)
		return IB_OK;
	err = ib_buf_reserve(out, pending);
	if (err)
		return err;
	if (BIO_read_ex(t->wbio, out->ptr + out->len, pending, &got) != 1 || got != pending) {
		ERR_clear_error();
		return IB_ERR_CRYPTO;
	}
	out->len += got;
	shrink_bio(t, false);
	return IB_OK;
}

int ib_tls_close(struct ib_tls *t)
{
	if (!t)
		return IB_ERR_INVALID_ARG;
	/* Before OPEN, or after a failure, there is no session to close: the caller just drops
	 * the connection (any alert is already in the output). */
	if (t->error || !t->opened || t->closing)
		return IB_OK;
	t->closing = true;
	ERR_clear_error();
	/* [LINK-5] queues close_notify; 0 means "sent, the peer's not received yet". */
	if (SSL_shutdown(t->ssl) < 0)
		return fail_from_openssl(t);
	return IB_OK;
}

const struct ib_pubkey *ib_tls_peer(const struct ib_tls *t)
{
	return t && t->opened ? t->peer : NULL;
}

const char *ib_tls_failure(const struct ib_tls *t)
{
	return t ? t->failure : "";
}

const char *ib_tls_version(const struct ib_tls *t)
{
	return t ? SSL_get_version(t->ssl) : "";
}

bool ib_tls_resumed(const struct ib_tls *t)
{
	return t && SSL_session_reused(t->ssl) == 1;
}
