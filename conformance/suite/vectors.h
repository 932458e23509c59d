/*
 * vectors.h - the golden frame vectors (vectors/frames.json) replayed against the IUT, and
 * the stream helpers the FRAME and MSG groups share (t_frame.c defines them).
 */
#ifndef CF_VECTORS_H
#define CF_VECTORS_H

#include "cf.h"

/* Which vectors a replay test takes; each class is one test. */
enum cfv_class {
	CFV_VALID,          /* valid end-to-end, clock-independent: forwarded byte for byte */
	CFV_BAD_SIGNATURE,  /* bad_signature, unknown_origin: dropped, link kept */
	CFV_BAD_SIG_LEN,    /* bad_signature_length: dropped, link kept, next frame read */
	CFV_TOO_BIG,        /* link_error too_big, header only: link closed */
	/* The next three send the vector's message signed by a tester: no config needed. */
	CFV_MSG_HEADER,     /* unsupported_version, reserved_type, short message */
	CFV_MSG_BODY,       /* end-to-end malformed bodies and strings */
	CFV_HOP_LOCAL,      /* hop-local: malformed, and unassigned types ([MSG-9]) */
	CFV_CLOCK,          /* COMMAND freshness: only when the IUT's clock is near now_unix_us */
};

/* Replays every vector of class cls (see t_frame.c). */
void cfv_replay(struct cf_ctx *c, enum cfv_class cls);

/* Signs end-to-end messages as a tester with increasing seq (the tester's own frames). */
struct cfv_signer {
	const struct ib_identity *id;
	int tester;                 /* seqs from cf_next_seq(c, tester) */
};
void cfv_signer_init(struct cf_ctx *c, struct cfv_signer *s, int tester);
/* Starts the IUT with T0 and T1 as its children; T0's own frames are signed by s. */
bool cfv_two_children(struct cf_ctx *c, struct hn_peer **t0, struct hn_peer **t1,
		      struct cfv_signer *s);
/* Appends the frame of m (its seq set from s; version 1) to out; false: HARNESS-ERROR. */
bool cfv_sign(struct cf_ctx *c, struct cfv_signer *s, struct ib_msg *m, struct ib_buf *out);
/* Whether p received a frame equal to bytes[0..len). */
bool cfv_got_bytes(const struct hn_peer *p, const uint8_t *bytes, size_t len);
/* Waits until `to` received exactly frame (FAIL against req with `what` otherwise; a closed
 * link of `from` is named in the failure). */
bool cfv_wait_frame(struct cf_ctx *c, struct hn_peer *from, struct hn_peer *to,
		    const struct ib_buf *frame, const char *req, const char *what);

/* Sends frame from t0, then a PUBLISH of s that must reach t1: false (FAIL against req,
 * `what` expected) if that one does not arrive, t0's link closed, or t1 got frame. */
bool cfv_send_dropped(struct cf_ctx *c, struct hn_peer *t0, struct hn_peer *t1,
		      struct cfv_signer *s, const struct ib_buf *frame, const char *req,
		      const char *what);

#endif
