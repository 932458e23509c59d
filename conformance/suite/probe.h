/*
 * probe.h - a TLS prober: a TLS client or server built on OpenSSL directly, not on the
 * library's TLS engine, so that it can do what a correct interbot node never does (TLS 1.2, no
 * or another ALPN, no certificate, an RSA or ECDSA certificate, an expired one, another
 * issuer, session tickets) and observe what the IUT does about it (spec section 4).
 *
 * It runs on the suite's event loop and never blocks: in self mode the IUT runs on the same
 * loop, so a blocking handshake would wait for itself. Ciphertext goes through memory BIOs
 * and the library's non-blocking sockets (net.h), which never raise SIGPIPE.
 */
#ifndef CF_PROBE_H
#define CF_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "interbot.h"

enum tls_probe_cert {
	TLS_PROBE_CERT_ED25519,     /* a certificate of opts.id's key (the normal case) */
	TLS_PROBE_CERT_NONE,        /* no certificate at all */
	TLS_PROBE_CERT_RSA,         /* a fresh RSA-2048 key */
	TLS_PROBE_CERT_P256         /* a fresh ECDSA P-256 key */
};

struct tls_probe_opts {
	int min_version, max_version;   /* 0: TLS1_3_VERSION */
	bool no_alpn;                   /* offer no ALPN extension at all */
	const char *alpn;               /* the protocols offered, in order, comma-separated
	                                 * ("h2,interbot/1"); NULL: IB_ALPN alone */
	enum tls_probe_cert cert;
	const struct ib_identity *id;   /* the certificate's key (ED25519) and the HELLO signer;
	                                 * borrowed, must outlive the probe */
	bool expired;                   /* certificate valid from -30 to -1 days */
	bool foreign_issuer;            /* issuer "CN=interbot-conform other CA", signed by
	                                 * another (fresh) key, not self-signed */
	bool odd_extension;             /* an unknown extension marked critical */
	const char *groups;             /* key exchange groups offered, "X25519"; NULL: default */
	SSL_SESSION *resume;            /* client: a session to offer (borrowed) */
	unsigned tickets;               /* server: NewSessionTickets to issue after the handshake */
	bool watch_close;               /* when the connection ends (an alert, close_notify), keep
	                                 * the socket open and read until the other end closes TCP
	                                 * (tls_probe_tcp_ended) instead of closing it at once */
};

/* What the IUT's ClientHello offered (server probes). */
struct tls_probe_hello {
	bool seen;
	bool alpn_ours;                 /* ALPN lists interbot/1 */
	bool x25519;                    /* supported_groups lists X25519 */
	bool psk, early_data;           /* pre_shared_key, early_data extensions */
};

struct tls_probe;

/* Starts a TCP connect to host:port and the handshake; the rest happens on the loop.
 * err (may be NULL, 128 bytes) says what failed. */
int tls_probe_start(struct tls_probe **out, struct ib_loop *loop, const char *host,
		    uint16_t port, const struct tls_probe_opts *opts, char *err);
/* A server probe: listens on 127.0.0.1:*port (0: an ephemeral port, returned) and runs the
 * server side of the handshake with the first connection; then it stops listening. With
 * opts.no_alpn it selects no protocol; it always requests a client certificate. */
int tls_probe_listen(struct tls_probe **out, struct ib_loop *loop, uint16_t *port,
		     const struct tls_probe_opts *opts, char *err);
void tls_probe_free(struct tls_probe *p);
/* The port a server probe listens on. */
uint16_t tls_probe_port(const struct tls_probe *p);
/* Server probes: whether a connection came, and what its ClientHello offered. */
bool tls_probe_accepted(const struct tls_probe *p);
const struct tls_probe_hello *tls_probe_client_hello(const struct tls_probe *p);

/* This end finished the handshake. For a client probe, in TLS 1.3, that is before the server
 * checked the client's certificate: only what follows tells whether it was accepted. */
bool tls_probe_handshaken(const struct tls_probe *p);
/* The connection ended: an alert, close_notify, EOF, a reset or a failed handshake. */
bool tls_probe_closed(const struct tls_probe *p);
/* Why it ended, for people: "received alert certificate required", "EOF", ... */
const char *tls_probe_failure(const struct tls_probe *p);
/* The AlertDescription of the last alert the server sent (120: no_application_protocol), or
 * -1 when none came. */
int tls_probe_alert(const struct tls_probe *p);

/* Sends close_notify now (the handshake must be done); the socket stays open: what the other
 * end does next (its close_notify, frames, closing TCP) is observed as usual. */
int tls_probe_close_notify(struct tls_probe *p);

/* Signs a HELLO (role server, path [id]) with opts.id and sends it once the handshake is
 * done (queued until then). */
int tls_probe_send_hello(struct tls_probe *p);
/* Whole frames received, and how many of one message type. */
size_t tls_probe_frames(const struct tls_probe *p);
size_t tls_probe_count(const struct tls_probe *p, uint8_t type);

/* After the handshake: the version ("TLSv1.3"), the key exchange group (its short name,
 * "X25519", or "none"), whether a session was resumed, whether early data was accepted. */
const char *tls_probe_version(const struct tls_probe *p);
int tls_probe_version_number(const struct tls_probe *p);
const char *tls_probe_group(const struct tls_probe *p);
bool tls_probe_resumed(const struct tls_probe *p);
/* Whether the other end's certificate is self-signed: issuer = subject, and its signature
 * verifies with its own key. */
bool tls_probe_peer_self_signed(const struct tls_probe *p);
/* The other end's certificate's SubjectPublicKeyInfo (DER), and its length (0: none). */
const uint8_t *tls_probe_peer_spki(const struct tls_probe *p, size_t *len);

/* NewSessionTicket messages received, and the last one's session (NULL: none; owned by the
 * probe, valid while it lives). */
size_t tls_probe_tickets(const struct tls_probe *p);
SSL_SESSION *tls_probe_ticket_session(const struct tls_probe *p);

/* Wait conditions for cf_wait (arg: the probe). */
bool tls_probe_settled(void *probe);        /* handshaken or closed */
bool tls_probe_ended(void *probe);          /* closed */
bool tls_probe_got_hello(void *probe);      /* a HELLO came, or it closed */
/* The TCP connection is gone: the other end closed it (EOF or reset), or, without
 * opts.watch_close, the connection ended. */
bool tls_probe_tcp_ended(void *probe);

#endif
