/*
 * edcraft.h - Ed25519 signatures that a verifier following spec [FRAME-9] refuses while some
 * libraries accept them, made from a tester's own key: RFC 8032's scalar arithmetic with
 * OpenSSL's BIGNUM (the frame tests of t_frame.c).
 */
#ifndef CF_EDCRAFT_H
#define CF_EDCRAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "interbot.h"

/* The encodings the tests use: the identity (the nonce 0), and a point of order 8. */
extern const uint8_t edc_identity[IB_PUBKEY_LEN];
extern const uint8_t edc_order8[IB_PUBKEY_LEN];

/* sig = (r_enc, k a mod L), k = SHA-512(r_enc || A || msg): the equation holds when r_enc is
 * the identity, and only its cofactored form when r_enc is another point of small order. */
bool edc_sign_small_r(const struct ib_identity *id, const uint8_t r_enc[IB_PUBKEY_LEN],
		      const uint8_t *msg, size_t len, uint8_t sig[IB_SIG_LEN]);
/* A signature that every message has under the key edc_identity (of small order): R = [s]B
 * and S = s, s the scalar of seed; OpenSSL alone verifies it. */
bool edc_sign_identity_key(const uint8_t seed[IB_SECRET_LEN], uint8_t sig[IB_SIG_LEN]);

#endif
