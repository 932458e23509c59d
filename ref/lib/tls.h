/*
 * tls.h - TLS 1.3 for links, over memory: the engine takes ciphertext in and hands ciphertext
 * out, and never touches a socket (spec section 4). Internal.
 *
 * A node has one ib_tls_ctx (its identity, the keyring it pins against); each link has one
 * ib_tls. The link feeds what it read from the socket, steps the engine, writes the plaintext
 * it wants to send, and takes the ciphertext to write to the socket.
 */
#ifndef IB_TLS_H
#define IB_TLS_H

#include "fault.h"
#include "interbot.h"

struct ib_tls_ctx;
struct ib_tls;

enum ib_tls_role { IB_TLS_CLIENT = 1, IB_TLS_SERVER = 2 };

enum ib_tls_state {
	IB_TLS_HANDSHAKING = 0,     /* keep feeding and stepping */
	IB_TLS_OPEN = 1,            /* handshake done, peer pinned: application data flows */
	IB_TLS_PEER_CLOSED = 2      /* the peer sent close_notify */
};

/* [TLS-1..7] Contexts for both roles with the node's identity as certificate and key: TLS 1.3
 * only, ALPN interbot/1 required, peer certificate required and pinned against the keyring
 * (not a CA), no session tickets or resumption, SSL_MODE_RELEASE_BUFFERS. The identity must
 * outlive the context. */
int ib_tls_ctx_new(struct ib_tls_ctx **out, const struct ib_identity *id);
/* The keyring handshakes pin against from now on (after a reload); kr must outlive its use. */
void ib_tls_ctx_set_keyring(struct ib_tls_ctx *c, const struct ib_keyring *kr);
void ib_tls_ctx_free(struct ib_tls_ctx *c);
#ifdef IB_FAULTS
/* Fault builds: the links of this context run with fault f (fault.h). */
void ib_tls_ctx_set_fault(struct ib_tls_ctx *c, enum ib_fault f);
#endif

int ib_tls_new(struct ib_tls **out, struct ib_tls_ctx *c, enum ib_tls_role role);
void ib_tls_free(struct ib_tls *t);
/* Ciphertext received from the peer. */
int ib_tls_feed(struct ib_tls *t, const uint8_t *p, size_t n);
/* Advances the handshake, then appends any plaintext received to plain_out. Returns an enum
 * ib_tls_state, or IB_ERR_HANDSHAKE / IB_ERR_NOT_AUTHORIZED (handshake refused; an alert for
 * the peer may be waiting in the output), IB_ERR_IO (a TLS error after the handshake).
 * IB_ERR_HANDSHAKE can come after OPEN on a client: in TLS 1.3 the client finishes before the
 * server has checked its certificate, so the server's HELLO, not OPEN, says it was accepted.
 * A step may queue output even when nothing was written (alerts, KeyUpdate answers): take the
 * output after every step. */
int ib_tls_step(struct ib_tls *t, struct ib_buf *plain_out);
/* Plaintext to send; only once OPEN (IB_ERR_INVALID_ARG before). Never blocks: the
 * ciphertext waits in the engine until taken. */
int ib_tls_write(struct ib_tls *t, const uint8_t *p, size_t n);
/* Appends the ciphertext waiting to be sent to out, and empties the engine's copy. */
int ib_tls_take_output(struct ib_tls *t, struct ib_buf *out);
/* Bytes of ciphertext made and not taken yet (0 for NULL). */
size_t ib_tls_pending_output(const struct ib_tls *t);
/* Queues close_notify ([LINK-5]); before OPEN or after a failure it queues nothing. */
int ib_tls_close(struct ib_tls *t);
/* After OPEN: the peer's pinned key, owned by the keyring current at OPEN and valid only
 * while that keyring lives (copy its SPKI to keep it). */
const struct ib_pubkey *ib_tls_peer(const struct ib_tls *t);
/* Why the handshake failed, for logs (for example "peer supports no TLS 1.3",
 * "key <32 hex> is not authorized"); "" if it did not. A key that is not Ed25519 is
 * IB_ERR_NOT_AUTHORIZED, as [TLS-4] counts it. */
const char *ib_tls_failure(const struct ib_tls *t);
/* The negotiated protocol version name ("TLSv1.3") and whether the session was resumed. */
const char *ib_tls_version(const struct ib_tls *t);
bool ib_tls_resumed(const struct ib_tls *t);

#endif
