/*
 * peer.h - a tester peer: a TLS endpoint with its own identity that links to a node as its
 * child (it connects) or as its parent (the node connects to it), sends whatever a test wants,
 * well formed or not, and records everything it receives. It uses the library's codec and TLS
 * engine but nothing of the node, so it can face any implementation.
 */
#ifndef IB_PEER_H
#define IB_PEER_H

#include "interbot.h"

struct hn_peer;

struct hn_got {                 /* one frame received, as it came */
	struct ib_buf raw;
	uint8_t type;
	uint64_t seq;
	uint16_t error_code;        /* ERROR frames */
	uint8_t nonce[IB_NONCE_MAX];/* PING/PONG */
	size_t nonce_len;
	uint64_t at_us;             /* monotonic time it arrived */
};

/* A peer with a fresh identity, pinning peers against trusted (copied). */
int hn_peer_new(struct hn_peer **out, struct ib_loop *loop, const struct ib_keyring *trusted);
void hn_peer_free(struct hn_peer *p);
/* The same with a copy of the identity id (NULL: a fresh one). */
int hn_peer_new_as(struct hn_peer **out, struct ib_loop *loop, const struct ib_keyring *trusted,
		   const struct ib_identity *id);
/* Another peer with the same identity and trusted keys: the same bot running twice. */
int hn_peer_clone(const struct hn_peer *p, struct hn_peer **out);
const struct ib_identity *hn_peer_identity(const struct hn_peer *p);
/* Replaces the keys the peer trusts (copied). */
int hn_peer_trust(struct hn_peer *p, const struct ib_keyring *trusted);

/* As a child: connects to 127.0.0.1:port and starts TLS. */
int hn_peer_connect(struct hn_peer *p, uint16_t port);
/* The same to host:port (a name or an address). */
int hn_peer_connect_to(struct hn_peer *p, const char *host, uint16_t port);
/* As a parent: listens (on *port, or an ephemeral port when it is 0, returned in *port) and
 * takes the first connection. */
int hn_peer_listen(struct hn_peer *p, uint16_t *port);
/* Stops listening (the port then refuses connections). */
void hn_peer_unlisten(struct hn_peer *p);
/* The max_message its HELLO announces (default 16,777,215). */
void hn_peer_set_max_message(struct hn_peer *p, uint32_t max_message);
/* Stops reading from its socket (a peer that does not read), or starts again. Paused before
 * it connects, it sends its ClientHello and reads nothing; paused before a connection comes
 * (listening), it accepts it and reads nothing: either way the TLS handshake waits. */
void hn_peer_pause(struct hn_peer *p, bool paused);

bool hn_peer_tls_open(const struct hn_peer *p);
bool hn_peer_closed(const struct hn_peer *p);     /* EOF, TLS failure or close_notify */
const char *hn_peer_failure(const struct hn_peer *p);

/* Bytes of TLS records the peer made that its socket has not taken yet. */
size_t hn_peer_unsent(const struct hn_peer *p);
/* Sends bytes as they are (after TLS), possibly a part of a frame. */
int hn_peer_send_raw(struct hn_peer *p, const uint8_t *bytes, size_t len);
/* Signs m with signer (NULL: the peer's own key), as origin `as` (NULL: the signer), with
 * the next seq unless keep_seq, and sends the frame; a copy goes to frame_out if not NULL. */
int hn_peer_send(struct hn_peer *p, struct ib_msg *m, const struct ib_identity *signer,
		 const ib_id *as, bool keep_seq, struct ib_buf *frame_out);
/* The frame hn_peer_send would send, appended to frame, not sent (the seq is taken). */
int hn_peer_frame(struct hn_peer *p, struct ib_msg *m, const struct ib_identity *signer,
		  const ib_id *as, bool keep_seq, struct ib_buf *frame);
/* HELLO with the peer's own path: [above..., peer]. */
int hn_peer_send_hello(struct hn_peer *p, uint8_t role, uint32_t keepalive_ms,
		       const ib_id *above, size_t nabove);
/* Answers every PING it receives with a PONG of the same nonce (on by default). */
void hn_peer_auto_pong(struct hn_peer *p, bool on);

/* Takes seqs from gen (NULL: its own): peers of one identity that share one never reuse a
 * seq, even across tests against one long-running node. gen must outlive p. */
void hn_peer_share_seq(struct hn_peer *p, struct ib_seq_gen *gen);
/* "host:port" of the peer's own end and of the other end of its connection; false when it
 * has none. */
bool hn_peer_endpoints(const struct hn_peer *p, char *local, char *remote, size_t cap);
/* Called with every frame sent (whole frames, or the raw bytes of hn_peer_send_raw) and
 * every frame received: the suite's transcript. */
typedef void (*hn_tap_fn)(void *ctx, const struct hn_peer *p, bool sent, const uint8_t *bytes,
			  size_t len);
void hn_peer_set_tap(struct hn_peer *p, hn_tap_fn fn, void *ctx);
/* Whether the raw sends go to the tap too (on by default): off for floods, whose frames
 * would fill the transcript. */
void hn_peer_tap_raw(struct hn_peer *p, bool on);

size_t hn_peer_received(const struct hn_peer *p);
/* From now on, frames received are only counted (hn_peer_counted), not kept (PINGs are
 * still answered): for benchmarks, whose peers receive more frames than memory holds. */
void hn_peer_count_only(struct hn_peer *p);
size_t hn_peer_counted(const struct hn_peer *p);
const struct hn_got *hn_peer_got(const struct hn_peer *p, size_t i);
/* How many frames of this type arrived; the last one, or NULL. */
size_t hn_peer_count(const struct hn_peer *p, uint8_t type);
const struct hn_got *hn_peer_last(const struct hn_peer *p, uint8_t type);

#endif
