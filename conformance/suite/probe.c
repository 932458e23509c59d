/* probe.c - the TLS prober. See probe.h. */
#include "probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "identity_internal.h"
#include "net.h"

#define PROBE_FAILURE_MAX 192
#define PROBE_SPKI_MAX 512      /* an RSA-2048 SPKI is 294 bytes; the IUT's should be 44 */
#define PROBE_READ_CHUNK 16384
#define DAY_S (24L * 3600L)

struct tls_probe {
	struct ib_loop *loop;
	struct tls_probe_opts opts;
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *rbio, *wbio;               /* owned by ssl */
	int fd, listen_fd;
	uint16_t port;                  /* a server probe's */
	bool server;
	struct tls_probe_hello hello;
	bool tcp_up, handshaken, closed, eof, resumed, peer_self_signed;
	bool tcp_ended;                 /* the socket is closed (watch_close: the peer's EOF) */
	int version;
	char group[32];
	char alert[96];                 /* the last alert the server sent, for failure */
	int alert_code;                 /* its AlertDescription, or -1 */
	char failure[PROBE_FAILURE_MAX];
	struct ib_buf plain_out;        /* frames queued until the handshake is done */
	struct ib_buf wire_out;         /* ciphertext the socket did not take yet */
	struct ib_frame_decoder dec;
	size_t nframes;
	size_t ntype[256];
	size_t tickets;
	SSL_SESSION *ticket;
	uint8_t spki[PROBE_SPKI_MAX];
	size_t spki_len;
};

/* One seq generator for every probe: two probes of one identity in one test (a resumption
 * attempt) then never send the same seq, even on virtual time that did not move. */
static struct ib_seq_gen hello_seq;

static void end(struct tls_probe *p, const char *reason);
static void on_event(struct ib_loop *loop, int fd, unsigned events, void *arg);

/* ---- certificates ------------------------------------------------------------------------ */

static EVP_PKEY *fresh_key(enum tls_probe_cert kind)
{
	switch (kind) {
	case TLS_PROBE_CERT_RSA:
		return EVP_RSA_gen(2048);
	case TLS_PROBE_CERT_P256:
		return EVP_EC_gen("P-256");
	default:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	}
}

static bool set_cn(X509_NAME *name, const char *cn)
{
	return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
					  -1, 0) == 1;
}

/* [TLS-5] An unknown extension marked critical: a stack that checked certificates as a CA
 * client does would refuse it (RFC 5280, 4.2); a pinning one does not look. */
static bool add_odd_extension(X509 *x)
{
	static const unsigned char der_null[] = { 0x05, 0x00 };
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1);
	ASN1_OCTET_STRING *data = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	bool ok = oid && data && ASN1_OCTET_STRING_set(data, der_null, sizeof der_null) == 1 &&
		  (ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, data)) != NULL &&
		  X509_add_ext(x, ext, -1) == 1;

	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(data);
	ASN1_OBJECT_free(oid);
	return ok;
}

/* [TLS-5] A certificate of key whose dates and issuer are what the test asks: expired, or
 * issued and signed by another key. Ed25519 signs without a digest, the others with SHA-256. */
static X509 *make_cert(EVP_PKEY *key, const struct tls_probe_opts *o)
{
	X509 *x = X509_new();
	X509_NAME *issuer = NULL;
	EVP_PKEY *other = NULL, *signer = key;
	const EVP_MD *md;
	bool ok = x != NULL;

	ok = ok && X509_set_version(x, 2) == 1 &&
	     ASN1_INTEGER_set(X509_get_serialNumber(x), 1) == 1 &&
	     X509_gmtime_adj(X509_getm_notBefore(x), o->expired ? -30 * DAY_S : -3600) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), o->expired ? -DAY_S : 30 * DAY_S) &&
	     set_cn(X509_get_subject_name(x), "interbot-conform probe") &&
	     X509_set_pubkey(x, key) == 1;
	if (ok && o->foreign_issuer) {
		issuer = X509_NAME_new();
		other = fresh_key(TLS_PROBE_CERT_ED25519);
		ok = issuer && other && set_cn(issuer, "interbot-conform other CA") &&
		     X509_set_issuer_name(x, issuer) == 1;
		signer = other;
	} else if (ok) {
		ok = X509_set_issuer_name(x, X509_get_subject_name(x)) == 1;
	}
	if (ok && o->odd_extension)
		ok = add_odd_extension(x);
	md = EVP_PKEY_id(signer) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
	ok = ok && X509_sign(x, signer, md) > 0;
	X509_NAME_free(issuer);
	EVP_PKEY_free(other);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static bool use_cert(SSL_CTX *ctx, const struct tls_probe_opts *o)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	bool ok;

	if (o->cert == TLS_PROBE_CERT_NONE)
		return true;
	if (o->cert == TLS_PROBE_CERT_ED25519) {
		key = o->id ? ib_identity_evp(o->id) : NULL;
		if (key)
			EVP_PKEY_up_ref(key);
	} else {
		key = fresh_key(o->cert);
	}
	cert = key ? make_cert(key, o) : NULL;
	ok = cert && SSL_CTX_use_certificate(ctx, cert) == 1 &&
	     SSL_CTX_use_PrivateKey(ctx, key) == 1;
	X509_free(cert);
	EVP_PKEY_free(key);
	return ok;
}

/* ---- OpenSSL callbacks ------------------------------------------------------------------- */

static struct tls_probe *probe_of(const SSL *ssl)
{
	return SSL_get_app_data(ssl);
}

/* The server's certificate is looked at by the test (its key), not by a chain check; OpenSSL
 * still checks the server's CertificateVerify against it. */
static int accept_any_chain(X509_STORE_CTX *xs, void *arg)
{
	(void)arg;
	X509_STORE_CTX_set_error(xs, X509_V_OK);
	return 1;
}

/* [TLS-6] Every NewSessionTicket ends up here (client session cache on). */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct tls_probe *p = probe_of(ssl);

	if (!p)
		return 0;
	p->tickets++;
	SSL_SESSION_free(p->ticket);
	p->ticket = sess;
	return 1;   /* the reference is ours */
}

static void on_info(const SSL *ssl, int where, int ret)
{
	struct tls_probe *p = probe_of(ssl);

	/* OpenSSL 3.0 names certificate_required (116, TLS 1.3) "unknown". */
	if (p && (where & SSL_CB_READ_ALERT))
		p->alert_code = ret & 0xff;
	if (p && (where & SSL_CB_READ_ALERT))
		snprintf(p->alert, sizeof p->alert, "received alert %s (%d, %s)",
			 (ret & 0xff) == 116 ? "certificate required"
					     : SSL_alert_desc_string_long(ret),
			 ret & 0xff, SSL_alert_type_string_long(ret));
}

/* [TLS-2] The server selects interbot/1 when offered, unless told to select nothing. */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	struct tls_probe *p = probe_of(ssl);
	size_t n = strlen(IB_ALPN);

	(void)arg;
	if (!p || p->opts.no_alpn)
		return SSL_TLSEXT_ERR_NOACK;
	for (unsigned i = 0; i < inlen; i += 1u + in[i])
		if (in[i] == n && i + 1 + n <= inlen && memcmp(in + i + 1, IB_ALPN, n) == 0) {
			*out = in + i + 1;
			*outlen = in[i];
			return SSL_TLSEXT_ERR_OK;
		}
	return SSL_TLSEXT_ERR_NOACK;
}

static bool list_has_u16(const unsigned char *ext, size_t len, unsigned v)
{
	size_t n = len >= 2 ? (size_t)ext[0] << 8 | ext[1] : 0;

	for (size_t i = 2; i + 1 < len && i < n + 2; i += 2)
		if (((unsigned)ext[i] << 8 | ext[i + 1]) == v)
			return true;
	return false;
}

static bool alpn_lists_ours(const unsigned char *ext, size_t len)
{
	size_t n = strlen(IB_ALPN);

	for (size_t i = 2; i < len; i += 1u + ext[i])
		if (ext[i] == n && i + 1 + n <= len && memcmp(ext + i + 1, IB_ALPN, n) == 0)
			return true;
	return false;
}

/* Records what the IUT's ClientHello offers ([TLS-2], [TLS-6], [TLS-7]); accepts it. */
static int on_client_hello(SSL *ssl, int *alert, void *arg)
{
	struct tls_probe *p = probe_of(ssl);
	const unsigned char *ext;
	size_t len;

	(void)alert;
	(void)arg;
	if (!p)
		return SSL_CLIENT_HELLO_SUCCESS;
	p->hello.seen = true;
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation,
				      &ext, &len) == 1)
		p->hello.alpn_ours = alpn_lists_ours(ext, len);
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_groups, &ext, &len) == 1)
		p->hello.x25519 = list_has_u16(ext, len, 0x001d);
	p->hello.psk = SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_psk, &ext, &len) == 1;
	p->hello.early_data =
		SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_early_data, &ext, &len) == 1;
	return SSL_CLIENT_HELLO_SUCCESS;
}

static bool configure_server(SSL_CTX *ctx, const struct tls_probe_opts *o)
{
	static const unsigned char sid_ctx[] = "interbot-conform";

	SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
	SSL_CTX_set_client_hello_cb(ctx, on_client_hello, NULL);
	/* Tickets only when a test wants them ([TLS-6]: will the IUT offer one back?). */
	if (!o->tickets)
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	return SSL_CTX_set_num_tickets(ctx, o->tickets) == 1 &&
	       SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1) == 1;
}

/* "a,b" as the ALPN wire list (u8 length, name)*: the names in that order. */
static int alpn_wire(const char *names, unsigned char *wire, size_t cap)
{
	size_t len = 0;

	for (const char *name = names;;) {
		const char *comma = strchr(name, ',');
		size_t n = comma ? (size_t)(comma - name) : strlen(name);

		if (n == 0 || n > 255 || len + n + 1 > cap)
			return -1;
		wire[len] = (unsigned char)n;
		memcpy(wire + len + 1, name, n);
		len += n + 1;
		if (!comma)
			return (int)len;
		name = comma + 1;
	}
}

static SSL_CTX *make_ctx(const struct tls_probe_opts *o, bool server, char *err)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	unsigned char wire[256];
	int wlen;

	if (!ctx ||
	    SSL_CTX_set_min_proto_version(ctx, o->min_version ? o->min_version
							      : TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, o->max_version ? o->max_version
							      : TLS1_3_VERSION) != 1) {
		snprintf(err, 128, "cannot set the TLS versions");
		goto fail;
	}
	if (server) {
		if (!configure_server(ctx, o)) {
			snprintf(err, 128, "cannot configure the TLS server");
			goto fail;
		}
	} else if (!o->no_alpn) {
		wlen = alpn_wire(o->alpn ? o->alpn : IB_ALPN, wire, sizeof wire);
		if (wlen < 0 || SSL_CTX_set_alpn_protos(ctx, wire, (unsigned)wlen) != 0) {
			snprintf(err, 128, "cannot set ALPN");
			goto fail;
		}
	}
	if (!use_cert(ctx, o)) {
		snprintf(err, 128, "cannot make the certificate");
		goto fail;
	}
	if (o->groups && SSL_CTX_set1_groups_list(ctx, o->groups) != 1) {
		snprintf(err, 128, "cannot offer groups %s", o->groups);
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
			   NULL);
	SSL_CTX_set_cert_verify_callback(ctx, accept_any_chain, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
						    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, on_new_session);
	SSL_CTX_set_info_callback(ctx, on_info);
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

/* ---- the connection ---------------------------------------------------------------------- */

static void rewatch(struct tls_probe *p)
{
	unsigned events = IB_EV_READ;

	if (p->closed)
		return;
	if (!p->tcp_up)
		events = IB_EV_WRITE;
	else if (p->wire_out.len)
		events |= IB_EV_WRITE;
	ib_loop_watch(p->loop, p->fd, events, on_event, p);
}

/* Ciphertext from OpenSSL to the socket; what it does not take waits for IB_EV_WRITE. */
static void flush_wire(struct tls_probe *p)
{
	size_t pending = p->wbio ? BIO_ctrl_pending(p->wbio) : 0, got = 0, sent = 0;

	if (pending && ib_buf_reserve(&p->wire_out, pending) == IB_OK &&
	    BIO_read_ex(p->wbio, p->wire_out.ptr + p->wire_out.len, pending, &got) == 1)
		p->wire_out.len += got;
	if (p->fd < 0 || !p->tcp_up || p->wire_out.len == 0)
		return;
	switch (ib_net_write(p->fd, p->wire_out.ptr, p->wire_out.len, &sent)) {
	case IB_OK:
		memmove(p->wire_out.ptr, p->wire_out.ptr + sent, p->wire_out.len - sent);
		p->wire_out.len -= sent;
		break;
	case IB_ERR_AGAIN:
		break;
	default:
		p->eof = true;  /* reset by the server */
		break;
	}
}

/* Socket to OpenSSL. EOF is noted, not acted on: an alert may be in what came before it. */
static void read_socket(struct tls_probe *p)
{
	uint8_t buf[PROBE_READ_CHUNK];

	for (;;) {
		size_t got = 0, put = 0;
		int err = ib_net_read(p->fd, buf, sizeof buf, &got);

		if (err == IB_ERR_AGAIN)
			return;
		if (err) {
			p->eof = true;
			return;
		}
		if (BIO_write_ex(p->rbio, buf, got, &put) != 1 || put != got) {
			end(p, "out of memory");
			return;
		}
	}
}

/* The reason of an OpenSSL failure: the server's alert if one came, else the error. */
static void fail_ssl(struct tls_probe *p, int ssl_err, const char *during)
{
	char reason[PROBE_FAILURE_MAX], what[120];
	unsigned long e = ERR_peek_error();

	if (ssl_err == SSL_ERROR_ZERO_RETURN)
		snprintf(what, sizeof what, "close_notify");
	else if (p->alert[0])
		snprintf(what, sizeof what, "%s", p->alert);
	else if (e)
		ERR_error_string_n(e, what, sizeof what);
	else
		snprintf(what, sizeof what, "OpenSSL error %d", ssl_err);
	snprintf(reason, sizeof reason, "%s: %s", during, what);
	ERR_clear_error();
	end(p, reason);
}

static void note_session(struct tls_probe *p)
{
	X509 *cert = SSL_get0_peer_certificate(p->ssl);
	X509_PUBKEY *xpk = cert ? X509_get_X509_PUBKEY(cert) : NULL;
	unsigned char *der = NULL;
	int len = xpk ? i2d_X509_PUBKEY(xpk, &der) : -1;
	int nid = SSL_get_negotiated_group(p->ssl);
	const char *sn = nid > 0 ? OBJ_nid2sn(nid) : NULL;

	p->peer_self_signed = cert &&
		X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(cert)) == 0 &&
		X509_verify(cert, X509_get0_pubkey(cert)) == 1;
	if (len > 0 && (size_t)len <= sizeof p->spki) {
		memcpy(p->spki, der, (size_t)len);
		p->spki_len = (size_t)len;
	}
	OPENSSL_free(der);
	p->version = SSL_version(p->ssl);
	p->resumed = SSL_session_reused(p->ssl) == 1;
	snprintf(p->group, sizeof p->group, "%s", sn ? sn : "none");
	ERR_clear_error();
}

static void handshake_step(struct tls_probe *p)
{
	int rc, e;

	ERR_clear_error();
	rc = SSL_do_handshake(p->ssl);
	if (rc == 1) {
		p->handshaken = true;
		note_session(p);
		return;
	}
	e = SSL_get_error(p->ssl, rc);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		ERR_clear_error();
		return;
	}
	fail_ssl(p, e, "handshake failed");
}

static void write_plain(struct tls_probe *p)
{
	size_t w = 0;
	int e;

	if (p->plain_out.len == 0)
		return;
	ERR_clear_error();
	if (SSL_write_ex(p->ssl, p->plain_out.ptr, p->plain_out.len, &w) == 1) {
		ib_buf_reset(&p->plain_out);
		return;
	}
	e = SSL_get_error(p->ssl, 0);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		ERR_clear_error();
		return;
	}
	fail_ssl(p, e, "write failed");
}

static void take_frames(struct tls_probe *p, const uint8_t *bytes, size_t len)
{
	size_t off = 0;

	for (;;) {
		struct ib_frame f;
		struct ib_msg m;
		size_t taken = 0;

		if (off < len)
			ib_frame_decoder_feed(&p->dec, bytes + off, len - off, &taken);
		off += taken;
		if (ib_frame_decoder_next(&p->dec, &f) != IB_FRAME_READY)
			return;
		p->nframes++;
		if (ib_msg_decode(&m, f.msg.ptr, f.msg.len) == IB_OK)
			p->ntype[m.h.type]++;
	}
}

/* Application data, and the post-handshake messages (NewSessionTicket, alerts) with it. */
static void read_plain(struct tls_probe *p)
{
	uint8_t chunk[PROBE_READ_CHUNK];

	while (!p->closed) {
		size_t got = 0;
		int e;

		ERR_clear_error();
		if (SSL_read_ex(p->ssl, chunk, sizeof chunk, &got) == 1) {
			take_frames(p, chunk, got);
			continue;
		}
		e = SSL_get_error(p->ssl, 0);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			return;
		}
		fail_ssl(p, e, "connection ended");
	}
}

static void drive(struct tls_probe *p)
{
	if (!p->handshaken)
		handshake_step(p);
	if (p->handshaken && !p->closed) {
		write_plain(p);
		read_plain(p);
	}
	if (p->closed)
		return;
	flush_wire(p);
	if (p->eof) {
		end(p, p->alert[0] ? p->alert : "EOF (the server closed TCP)");
		return;
	}
	rewatch(p);
}

static void on_event(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct tls_probe *p = arg;

	(void)loop;
	(void)fd;
	if (!p->tcp_up) {
		int rc = p->server ? IB_OK : ib_net_connect_result(p->fd);

		if (rc == IB_ERR_AGAIN)
			return;
		if (rc != IB_OK) {
			end(p, "TCP connect failed");
			return;
		}
		p->tcp_up = true;
	}
	if (events & (IB_EV_READ | IB_EV_ERROR))
		read_socket(p);
	if (!p->closed)
		drive(p);
}

static void stop_listening(struct tls_probe *p)
{
	if (p->listen_fd >= 0) {
		ib_loop_unwatch(p->loop, p->listen_fd);
		ib_net_close(p->listen_fd);
		p->listen_fd = -1;
	}
}

static void close_socket(struct tls_probe *p)
{
	if (p->fd >= 0) {
		ib_loop_unwatch(p->loop, p->fd);
		ib_net_close(p->fd);
		p->fd = -1;
	}
	p->tcp_ended = true;
}

/* watch_close, after the end: input is read and discarded until the other end closes TCP. */
static void on_drain(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct tls_probe *p = arg;
	uint8_t buf[PROBE_READ_CHUNK];

	(void)loop;
	(void)fd;
	(void)events;
	for (;;) {
		size_t got = 0;
		int err = ib_net_read(p->fd, buf, sizeof buf, &got);

		if (err == IB_ERR_AGAIN)
			return;
		if (err) {
			close_socket(p);
			return;
		}
	}
}

static void end(struct tls_probe *p, const char *reason)
{
	if (p->closed)
		return;
	/* The alert OpenSSL queued for the server, if any, goes out first. */
	flush_wire(p);
	p->closed = true;
	snprintf(p->failure, sizeof p->failure, "%s", reason);
	if (p->fd >= 0 && p->tcp_up && p->opts.watch_close && !p->eof)
		ib_loop_watch(p->loop, p->fd, IB_EV_READ, on_drain, p);
	else
		close_socket(p);
	stop_listening(p);
}

/* ---- API ----------------------------------------------------------------------------------- */

/* The probe and its TLS object, before any socket. */
static struct tls_probe *probe_new(struct ib_loop *loop, const struct tls_probe_opts *opts,
				   bool server, char *err)
{
	struct tls_probe *p = calloc(1, sizeof *p);

	if (!p) {
		snprintf(err, 128, "out of memory");
		return NULL;
	}
	p->loop = loop;
	p->fd = p->listen_fd = -1;
	p->alert_code = -1;
	p->server = server;
	p->opts = *opts;
	ib_frame_decoder_init(&p->dec, IB_MAX_MESSAGE_LIMIT);
	p->ctx = make_ctx(opts, server, err);
	p->ssl = p->ctx ? SSL_new(p->ctx) : NULL;
	p->rbio = BIO_new(BIO_s_mem());
	p->wbio = BIO_new(BIO_s_mem());
	if (!p->ssl || !p->rbio || !p->wbio) {
		BIO_free(p->rbio);
		BIO_free(p->wbio);
		p->rbio = p->wbio = NULL;
		if (!err[0])
			snprintf(err, 128, "cannot make the TLS %s", server ? "server" : "client");
		goto fail;
	}
	/* Empty input means "more later": the socket tells EOF. */
	BIO_set_mem_eof_return(p->rbio, -1);
	SSL_set_bio(p->ssl, p->rbio, p->wbio);
	SSL_set_app_data(p->ssl, p);
	if (server)
		SSL_set_accept_state(p->ssl);
	else
		SSL_set_connect_state(p->ssl);
	if (opts->resume && SSL_set_session(p->ssl, opts->resume) != 1) {
		snprintf(err, 128, "cannot offer the session");
		goto fail;
	}
	return p;
fail:
	ERR_clear_error();
	tls_probe_free(p);
	return NULL;
}

int tls_probe_start(struct tls_probe **out, struct ib_loop *loop, const char *host,
		    uint16_t port, const struct tls_probe_opts *opts, char *err)
{
	struct ib_diag diag = { 0 };
	struct tls_probe *p;
	char scratch[128];
	int rc;

	err = err ? err : scratch;
	err[0] = '\0';
	*out = NULL;
	p = probe_new(loop, opts, false, err);
	if (!p)
		return IB_ERR_CRYPTO;
	rc = ib_net_connect(host, port, &p->fd, &diag);
	if (rc == IB_OK)
		rc = ib_loop_watch(loop, p->fd, IB_EV_WRITE, on_event, p);
	if (rc != IB_OK) {
		snprintf(err, 128, "cannot connect to %.40s:%u: %.60s", host, port, diag.reason);
		tls_probe_free(p);
		return rc;
	}
	*out = p;
	return IB_OK;
}

/* The first connection is the probe's; the listener closes, so later ones are refused. */
static void on_accept(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct tls_probe *p = arg;

	(void)loop;
	(void)events;
	if (p->fd >= 0 || ib_net_accept(fd, &p->fd, NULL, 0) != IB_OK)
		return;
	stop_listening(p);
	p->tcp_up = true;
	ib_loop_watch(p->loop, p->fd, IB_EV_READ, on_event, p);
}

int tls_probe_listen(struct tls_probe **out, struct ib_loop *loop, uint16_t *port,
		     const struct tls_probe_opts *opts, char *err)
{
	struct ib_diag diag = { 0 };
	struct tls_probe *p;
	char scratch[128];
	int rc;

	err = err ? err : scratch;
	err[0] = '\0';
	*out = NULL;
	p = probe_new(loop, opts, true, err);
	if (!p)
		return IB_ERR_CRYPTO;
	rc = ib_net_listen("127.0.0.1", *port, &p->listen_fd, port, &diag);
	if (rc == IB_OK)
		rc = ib_loop_watch(loop, p->listen_fd, IB_EV_READ, on_accept, p);
	if (rc != IB_OK) {
		snprintf(err, 128, "cannot listen: %.100s", diag.reason);
		tls_probe_free(p);
		return rc;
	}
	p->port = *port;
	*out = p;
	return IB_OK;
}

bool tls_probe_peer_self_signed(const struct tls_probe *p)
{
	return p->peer_self_signed;
}

uint16_t tls_probe_port(const struct tls_probe *p)
{
	return p->port;
}

bool tls_probe_accepted(const struct tls_probe *p)
{
	return p->tcp_up;
}

const struct tls_probe_hello *tls_probe_client_hello(const struct tls_probe *p)
{
	return &p->hello;
}

void tls_probe_free(struct tls_probe *p)
{
	if (!p)
		return;
	end(p, "freed");
	close_socket(p);
	SSL_free(p->ssl);
	SSL_CTX_free(p->ctx);
	SSL_SESSION_free(p->ticket);
	ib_frame_decoder_free(&p->dec);
	ib_buf_free(&p->plain_out);
	ib_buf_free(&p->wire_out);
	free(p);
}

bool tls_probe_handshaken(const struct tls_probe *p)
{
	return p->handshaken;
}

bool tls_probe_closed(const struct tls_probe *p)
{
	return p->closed;
}

const char *tls_probe_failure(const struct tls_probe *p)
{
	return p->failure;
}

int tls_probe_send_hello(struct tls_probe *p)
{
	const struct ib_clock *clk = ib_loop_clock(p->loop);
	struct ib_buf msg = { 0 };
	uint8_t sig[IB_SIG_LEN];
	struct ib_msg m;
	int err;

	if (!p->opts.id)
		return IB_ERR_INVALID_ARG;
	memset(&m, 0, sizeof m);
	m.h.version = IB_PROTOCOL_VERSION;
	m.h.type = IB_MSG_HELLO;
	m.h.seq = ib_seq_next(&hello_seq, clk->unix_us(clk->ctx));
	m.u.hello = (struct ib_hello){ IB_ROLE_SERVER, 30000, IB_MAX_MESSAGE_LIMIT,
				       { (const uint8_t *)"probe", 5 },
				       { 1, ib_identity_id(p->opts.id)->b } };
	err = ib_msg_encode(&msg, &m);
	if (!err)
		err = ib_identity_sign(p->opts.id, msg.ptr, msg.len, sig);
	if (!err)
		err = ib_frame_encode(&p->plain_out, ib_identity_id(p->opts.id), sig, msg.ptr,
				      msg.len);
	ib_buf_free(&msg);
	if (!err && p->handshaken && !p->closed)
		drive(p);
	return err;
}

int tls_probe_close_notify(struct tls_probe *p)
{
	/* cppcheck-suppress ctunullpointer ; its callers pass a probe that tls_probe_start made */
	if (!p->handshaken || p->closed)
		return IB_ERR_INVALID_ARG;
	ERR_clear_error();
	/* 0: sent, the other end's not received yet; the socket takes it below. */
	if (SSL_shutdown(p->ssl) < 0) {
		ERR_clear_error();
		return IB_ERR_CRYPTO;
	}
	flush_wire(p);
	rewatch(p);
	return IB_OK;
}

size_t tls_probe_frames(const struct tls_probe *p)
{
	return p->nframes;
}

size_t tls_probe_count(const struct tls_probe *p, uint8_t type)
{
	return p->ntype[type];
}

const char *tls_probe_version(const struct tls_probe *p)
{
	return p->version ? SSL_get_version(p->ssl) : "none";
}

int tls_probe_alert(const struct tls_probe *p)
{
	return p->alert_code;
}

int tls_probe_version_number(const struct tls_probe *p)
{
	return p->version;
}

const char *tls_probe_group(const struct tls_probe *p)
{
	return p->group[0] ? p->group : "none";
}

bool tls_probe_resumed(const struct tls_probe *p)
{
	return p->resumed;
}

const uint8_t *tls_probe_peer_spki(const struct tls_probe *p, size_t *len)
{
	*len = p->spki_len;
	return p->spki;
}

size_t tls_probe_tickets(const struct tls_probe *p)
{
	return p->tickets;
}

SSL_SESSION *tls_probe_ticket_session(const struct tls_probe *p)
{
	return p->ticket;
}

bool tls_probe_settled(void *probe)
{
	const struct tls_probe *p = probe;

	return p->handshaken || p->closed;
}

bool tls_probe_ended(void *probe)
{
	return ((const struct tls_probe *)probe)->closed;
}

bool tls_probe_got_hello(void *probe)
{
	const struct tls_probe *p = probe;

	return p->ntype[IB_MSG_HELLO] > 0 || p->closed;
}

bool tls_probe_tcp_ended(void *probe)
{
	return ((const struct tls_probe *)probe)->tcp_ended;
}
