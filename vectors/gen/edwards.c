/*
 * edwards.c - Ed25519 signatures the vectors need and no library makes ([FRAME-9]): a chosen
 * R (of small order, not canonical, or with a small-order part), with the S that satisfies
 * the verification equation for it. RFC 8032 arithmetic with OpenSSL's BIGNUM: scalars mod
 * L, and just enough of the curve (decode, add, encode) to add a point of order 8.
 */
#include "vecgen.h"

#include <openssl/bn.h>
#include <openssl/evp.h>

#include <string.h>

/* Little-endian byte strings <-> BIGNUM. */
static BIGNUM *le_bn(const uint8_t *p, size_t n)
{
	BIGNUM *b = BN_lebin2bn(p, (int)n, NULL);

	if (!b)
		vg_die("BN_lebin2bn", IB_ERR_NOMEM);
	return b;
}

static void bn_le(const BIGNUM *b, uint8_t out[32])
{
	if (BN_bn2lebinpad(b, out, 32) != 32)
		vg_die("BN_bn2lebinpad", IB_ERR_RANGE);
}

static BIGNUM *hex_bn(const char *hex)
{
	BIGNUM *b = NULL;

	if (!BN_hex2bn(&b, hex))
		vg_die("BN_hex2bn", IB_ERR_NOMEM);
	return b;
}

/* L and p, and d = -121665 / 121666 mod p. */
static BIGNUM *order_l(void)
{
	return hex_bn("1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed");
}

static BIGNUM *prime_p(void)
{
	return hex_bn("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed");
}

static BIGNUM *curve_d(const BIGNUM *p, BN_CTX *ctx)
{
	BIGNUM *num = BN_new(), *den = BN_new(), *d = BN_new();

	if (!num || !den || !d || !BN_set_word(num, 121665) || !BN_sub(num, p, num) ||
	    !BN_set_word(den, 121666) || !BN_mod_inverse(den, den, p, ctx) ||
	    !BN_mod_mul(d, num, den, p, ctx))
		vg_die("curve d", IB_ERR_CRYPTO);
	BN_free(num);
	BN_free(den);
	return d;
}

/* The secret scalar a of a vector key (RFC 8032 section 5.1.5: SHA-512 of the secret, its
 * first half clamped), and its nonce prefix. */
static BIGNUM *secret_scalar(int who)
{
	uint8_t secret[IB_SECRET_LEN], h[64];
	unsigned int hl = 0;
	size_t n;

	if (ib_hex_decode(vg_keys[who].secret_hex, 2 * sizeof secret, secret, sizeof secret, &n) ||
	    EVP_Digest(secret, sizeof secret, h, &hl, EVP_sha512(), NULL) != 1)
		vg_die("secret scalar", IB_ERR_CRYPTO);
	h[0] &= 248;
	h[31] &= 127;
	h[31] |= 64;
	return le_bn(h, 32);
}

/* k = SHA-512(R || A || M) mod L. */
static BIGNUM *challenge(const uint8_t r[32], const uint8_t a[32], const uint8_t *msg,
			 size_t len, const BIGNUM *l, BN_CTX *ctx)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t h[64];
	unsigned int hl = 0;
	BIGNUM *k;

	if (!md || EVP_DigestInit_ex(md, EVP_sha512(), NULL) != 1 ||
	    EVP_DigestUpdate(md, r, 32) != 1 || EVP_DigestUpdate(md, a, 32) != 1 ||
	    EVP_DigestUpdate(md, msg, len) != 1 || EVP_DigestFinal_ex(md, h, &hl) != 1)
		vg_die("challenge", IB_ERR_CRYPTO);
	EVP_MD_CTX_free(md);
	k = le_bn(h, sizeof h);
	if (!BN_nnmod(k, k, l, ctx))
		vg_die("challenge mod L", IB_ERR_CRYPTO);
	return k;
}

void vg_sign_with_r(int signer, const uint8_t r_enc[32], const uint8_t *r_scalar,
		    const uint8_t *msg, size_t len, uint8_t sig[IB_SIG_LEN])
{
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *l = order_l(), *a = secret_scalar(signer), *s = BN_new(), *k;
	const uint8_t *pub = ib_pubkey_raw(ib_identity_pubkey(vg_keys[signer].id));

	if (!ctx || !s)
		vg_die("sign with R", IB_ERR_NOMEM);
	k = challenge(r_enc, pub, msg, len, l, ctx);
	/* S = r + k a (mod L): the equation [S]B = R + [k]A when R = [r]B; r is 0 when R
	 * is of small order. */
	if (!BN_mod_mul(s, k, a, l, ctx))
		vg_die("k a", IB_ERR_CRYPTO);
	if (r_scalar) {
		BIGNUM *r = le_bn(r_scalar, 32);

		if (!BN_mod_add(s, s, r, l, ctx))
			vg_die("r + k a", IB_ERR_CRYPTO);
		BN_free(r);
	}
	memcpy(sig, r_enc, 32);
	bn_le(s, sig + 32);
	BN_free(k);
	BN_free(s);
	BN_free(a);
	BN_free(l);
	BN_CTX_free(ctx);
}

/* ---- Points: affine (x, y) on -x^2 + y^2 = 1 + d x^2 y^2 ---------------------------------- */

struct point {
	BIGNUM *x, *y;
};

static void point_decode(struct point *pt, const uint8_t enc[32], const BIGNUM *p,
			 const BIGNUM *d, BN_CTX *ctx)
{
	uint8_t ybytes[32];
	int sign = enc[31] >> 7;
	BIGNUM *y2 = BN_new(), *num = BN_new(), *den = BN_new(), *x2 = BN_new();

	memcpy(ybytes, enc, 32);
	ybytes[31] &= 0x7f;
	pt->y = le_bn(ybytes, 32);
	pt->x = BN_new();
	/* x^2 = (y^2 - 1) / (d y^2 + 1) */
	if (!y2 || !num || !den || !x2 || !pt->x || !BN_mod_sqr(y2, pt->y, p, ctx) ||
	    !BN_mod_sub(num, y2, BN_value_one(), p, ctx) || !BN_mod_mul(den, d, y2, p, ctx) ||
	    !BN_mod_add(den, den, BN_value_one(), p, ctx) || !BN_mod_inverse(den, den, p, ctx) ||
	    !BN_mod_mul(x2, num, den, p, ctx) || !BN_mod_sqrt(pt->x, x2, p, ctx))
		vg_die("point decode", IB_ERR_CRYPTO);
	if (BN_is_odd(pt->x) != sign && !BN_sub(pt->x, p, pt->x))
		vg_die("point decode sign", IB_ERR_CRYPTO);
	BN_free(y2);
	BN_free(num);
	BN_free(den);
	BN_free(x2);
}

static void point_encode(const struct point *pt, uint8_t out[32])
{
	bn_le(pt->y, out);
	if (BN_is_odd(pt->x))
		out[31] |= 0x80;
}

/* (x1 y2 + y1 x2) / (1 + d x1 x2 y1 y2), (y1 y2 + x1 x2) / (1 - d x1 x2 y1 y2) */
static void point_add(struct point *r, const struct point *a, const struct point *b,
		      const BIGNUM *p, const BIGNUM *d, BN_CTX *ctx)
{
	BIGNUM *t = BN_new(), *u = BN_new(), *v = BN_new(), *w = BN_new(), *dd = BN_new();

	r->x = BN_new();
	r->y = BN_new();
	if (!t || !u || !v || !w || !dd || !r->x || !r->y ||
	    !BN_mod_mul(t, a->x, b->x, p, ctx) || !BN_mod_mul(u, a->y, b->y, p, ctx) ||
	    !BN_mod_mul(dd, t, u, p, ctx) || !BN_mod_mul(dd, dd, d, p, ctx) ||
	    /* y = (u + t) / (1 - dd) */
	    !BN_mod_add(v, u, t, p, ctx) || !BN_mod_sub(w, BN_value_one(), dd, p, ctx) ||
	    !BN_mod_inverse(w, w, p, ctx) || !BN_mod_mul(r->y, v, w, p, ctx) ||
	    /* x = (x1 y2 + y1 x2) / (1 + dd) */
	    !BN_mod_mul(t, a->x, b->y, p, ctx) || !BN_mod_mul(u, a->y, b->x, p, ctx) ||
	    !BN_mod_add(v, t, u, p, ctx) || !BN_mod_add(w, BN_value_one(), dd, p, ctx) ||
	    !BN_mod_inverse(w, w, p, ctx) || !BN_mod_mul(r->x, v, w, p, ctx))
		vg_die("point add", IB_ERR_CRYPTO);
	BN_free(t);
	BN_free(u);
	BN_free(v);
	BN_free(w);
	BN_free(dd);
}

static void point_free(struct point *pt)
{
	BN_free(pt->x);
	BN_free(pt->y);
}

void vg_mixed_r(const uint8_t seed[IB_SECRET_LEN], const uint8_t torsion[32], uint8_t r_enc[32],
		uint8_t r_scalar[32])
{
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *p = prime_p(), *d;
	struct ib_identity *nonce = NULL;
	struct point rb, t, sum;
	uint8_t h[64];
	unsigned int hl = 0;

	if (!ctx)
		vg_die("mixed R", IB_ERR_NOMEM);
	d = curve_d(p, ctx);
	/* [r]B is the public key of a secret whose clamped hash is r. */
	if (ib_identity_from_secret(&nonce, seed) ||
	    EVP_Digest(seed, IB_SECRET_LEN, h, &hl, EVP_sha512(), NULL) != 1)
		vg_die("mixed R nonce", IB_ERR_CRYPTO);
	h[0] &= 248;
	h[31] &= 127;
	h[31] |= 64;
	memcpy(r_scalar, h, 32);
	point_decode(&rb, ib_pubkey_raw(ib_identity_pubkey(nonce)), p, d, ctx);
	point_decode(&t, torsion, p, d, ctx);
	point_add(&sum, &rb, &t, p, d, ctx);
	point_encode(&sum, r_enc);
	point_free(&rb);
	point_free(&t);
	point_free(&sum);
	ib_identity_free(nonce);
	BN_free(d);
	BN_free(p);
	BN_CTX_free(ctx);
}
