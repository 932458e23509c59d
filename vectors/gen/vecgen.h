/* vecgen.h - shared parts of the vector generator (vecgen.c, frames.c, streams.c). */
#ifndef VECGEN_H
#define VECGEN_H

#include <jansson.h>
#include <stdbool.h>

#include "interbot.h"

enum { ALICE, BOB, CAROL, DAVE, VG_NKEYS };
#define VG_EVERYONE (-1)

/* 2026-01-01T00:00:00Z in microseconds: the seq of the worked example. */
#define VG_T0 1767225600000000ull
/* The receiver's clock: one minute later ([CMD-6] vectors depend on it). */
#define VG_NOW (VG_T0 + 60000000ull)
/* The receiver's max_message: the smallest allowed, so that "too big" fits in a u24. */
#define VG_MAX_MESSAGE IB_MAX_MESSAGE_MIN

#define VG_S(lit) ((struct ib_slice){ (const uint8_t *)(lit), sizeof(lit) - 1 })

struct vg_key {
	const char *name;
	const char *secret_hex;
	bool known;                 /* in the receiver's keyring */
	struct ib_identity *id;
};
extern struct vg_key vg_keys[VG_NKEYS];

/* Where vectors go: a JSON array, and the seed corpus folder (or NULL). */
struct vg_out {
	json_t *list;
	const char *corpus;
	int next_tc;
};

/* One vector's expected verdict, written by hand. */
struct vg_vec {
	const char *comment;
	const char *reqs;           /* "FRAME-3 FRAME-8" */
	const char *flags;          /* "Boundary HeaderOnly" */
	const char *result;         /* valid | invalid | link_error */
	const char *reason;         /* spec counter name, NULL when valid */
	const char *error;          /* library error name, NULL when valid */
	const struct ib_msg *intent;        /* valid only: the fields it must decode to */
	const char *embedded_result;        /* TRANSFER only */
	const char *embedded_reason;
};

void vg_die(const char *what, int err) __attribute__((noreturn));
const ib_id *vg_id(int who);
json_t *vg_hex(const uint8_t *p, size_t n);
json_t *vg_words(const char *list);
void vg_keyring(struct ib_keyring **out);

/* Building blocks; each dies on error (a generator bug, not a vector). */
struct ib_msg vg_msg(uint8_t type, uint64_t seq, int dest);
void vg_encode(struct ib_buf *out, const struct ib_msg *m);
void vg_header(struct ib_buf *out, uint8_t version, uint8_t type, uint64_t seq, int dest);
void vg_sign(struct ib_buf *frame, int signer, int named_as, const uint8_t *msg, size_t len);
void vg_raw_frame(struct ib_buf *frame, const ib_id *origin, uint16_t sig_len_field,
		  const uint8_t *sig, size_t sig_n, uint32_t msg_len_field, const uint8_t *msg,
		  size_t msg_n);
void vg_emit(struct vg_out *o, const struct vg_vec *v, const struct ib_buf *frame);

void vg_seed_dirs(const char *corpus);
void vg_seed(const char *corpus, const char *target, int tc, const uint8_t *p, size_t n);

/* edwards.c: sig = (R, S) by signer over msg for a chosen R, S = r + k a mod L (r_scalar
 * NULL: 0); and R = [r]B + torsion, r from a secret as a key's scalar is. */
void vg_sign_with_r(int signer, const uint8_t r_enc[32], const uint8_t *r_scalar,
		    const uint8_t *msg, size_t len, uint8_t sig[IB_SIG_LEN]);
void vg_mixed_r(const uint8_t seed[IB_SECRET_LEN], const uint8_t torsion[32], uint8_t r_enc[32],
		uint8_t r_scalar[32]);

void vg_frames(struct vg_out *o);
void vg_streams(struct vg_out *o);

#endif
