/* edcraft.c - Ed25519 signatures [FRAME-9] refuses. See edcraft.h. */
#include "edcraft.h"

#include <openssl/bn.h>
#include <openssl/evp.h>

#include <string.h>

#include "identity_internal.h"

const uint8_t edc_identity[IB_PUBKEY_LEN] = { 0x01 };
const uint8_t edc_order8[IB_PUBKEY_LEN] = {
	0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
	0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,
};

/* L, the group order (RFC 8032 section 5.1). */
static BIGNUM *order_l(void)
{
	BIGNUM *l = NULL;

	return BN_hex2bn(&l, "1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed")
		       ? l : NULL;
}

/* The clamped first half of SHA-512(seed): a key's secret scalar (RFC 8032 5.1.5). */
static BIGNUM *scalar_of(const uint8_t seed[IB_SECRET_LEN])
{
	uint8_t h[64];
	unsigned int hl = 0;

	if (EVP_Digest(seed, IB_SECRET_LEN, h, &hl, EVP_sha512(), NULL) != 1)
		return NULL;
	h[0] &= 248;
	h[31] &= 127;
	h[31] |= 64;
	return BN_lebin2bn(h, 32, NULL);
}

bool edc_sign_small_r(const struct ib_identity *id, const uint8_t r_enc[IB_PUBKEY_LEN],
		      const uint8_t *msg, size_t len, uint8_t sig[IB_SIG_LEN])
{
	uint8_t seed[IB_SECRET_LEN], h[64];
	size_t seed_len = sizeof seed;
	unsigned int hl = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *l = order_l(), *a = NULL, *k = NULL, *s = BN_new();
	bool ok = false;

	if (!md || !ctx || !l || !s ||
	    EVP_PKEY_get_raw_private_key(ib_identity_evp(id), seed, &seed_len) != 1 ||
	    seed_len != sizeof seed || !(a = scalar_of(seed)))
		goto out;
	if (EVP_DigestInit_ex(md, EVP_sha512(), NULL) != 1 ||
	    EVP_DigestUpdate(md, r_enc, IB_PUBKEY_LEN) != 1 ||
	    EVP_DigestUpdate(md, ib_pubkey_raw(ib_identity_pubkey(id)), IB_PUBKEY_LEN) != 1 ||
	    EVP_DigestUpdate(md, msg, len) != 1 || EVP_DigestFinal_ex(md, h, &hl) != 1 ||
	    !(k = BN_lebin2bn(h, sizeof h, NULL)) || !BN_nnmod(k, k, l, ctx) ||
	    !BN_mod_mul(s, k, a, l, ctx))
		goto out;
	memcpy(sig, r_enc, IB_PUBKEY_LEN);
	ok = BN_bn2lebinpad(s, sig + IB_PUBKEY_LEN, IB_PUBKEY_LEN) == IB_PUBKEY_LEN;
out:
	OPENSSL_cleanse(seed, sizeof seed);
	BN_clear_free(a);
	BN_free(k);
	BN_free(s);
	BN_free(l);
	BN_CTX_free(ctx);
	EVP_MD_CTX_free(md);
	return ok;
}

bool edc_sign_identity_key(const uint8_t seed[IB_SECRET_LEN], uint8_t sig[IB_SIG_LEN])
{
	struct ib_identity *nonce = NULL;
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *l = order_l(), *s = scalar_of(seed);
	bool ok = false;

	/* [S]B - [k]O = [s]B = R, for every k: the message does not matter. */
	if (!ctx || !l || !s || ib_identity_from_secret(&nonce, seed) != IB_OK ||
	    !BN_nnmod(s, s, l, ctx))
		goto out;
	memcpy(sig, ib_pubkey_raw(ib_identity_pubkey(nonce)), IB_PUBKEY_LEN);
	ok = BN_bn2lebinpad(s, sig + IB_PUBKEY_LEN, IB_PUBKEY_LEN) == IB_PUBKEY_LEN;
out:
	ib_identity_free(nonce);
	BN_clear_free(s);
	BN_free(l);
	BN_CTX_free(ctx);
	return ok;
}
