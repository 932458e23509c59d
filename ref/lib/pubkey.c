/*
 * pubkey.c - authorized Ed25519 public keys ([ID-2], [ID-3]) and the one signature check of
 * the library ([FRAME-1], [FRAME-6]).
 *
 * A key is parsed once into an EVP_PKEY and kept with its raw bytes, its SPKI and its id_bot:
 * decoding a key costs about as much as a verify, so nothing here re-parses per frame.
 */
#include "interbot.h"

#include "fault.h"
#include "pem.h"
#include "verify_memo.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* [ID-2] The DER SubjectPublicKeyInfo of an Ed25519 key (RFC 8410) is always this prefix
 * followed by the 32 raw key bytes. */
static const uint8_t spki_prefix[IB_SPKI_LEN - IB_PUBKEY_LEN] = {
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
};

struct ib_pubkey {
	EVP_PKEY *pkey;
	EVP_MD_CTX *verify_tmpl;    /* EVP_DigestVerifyInit'ed with pkey once; copied per check */
	bool weak;                  /* [FRAME-9] small order or not canonical: verifies nothing */
	uint8_t raw[IB_PUBKEY_LEN];
	uint8_t spki[IB_SPKI_LEN];
	ib_id id;
	char label[256];
};

/* [FRAME-9] 2^255 - 19, and the y coordinates of the eight points of small order (the sign
 * bit cleared): 0 (the two points of order 4), 1 (the identity), p - 1 (order 2) and the two
 * y of the four points of order 8. All little-endian, as encoded. */
static const uint8_t ed25519_p[IB_PUBKEY_LEN] = {
	0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
};
static const uint8_t small_order_y[5][IB_PUBKEY_LEN] = {
	{ 0 },
	{ 0x01 },
	{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0x7f },
	{ 0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
	  0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
	  0x03, 0x7a },
	{ 0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
	  0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
	  0xfc, 0x05 },
};

bool ib_ed25519_weak_point(const uint8_t enc[IB_PUBKEY_LEN])
{
	uint8_t y[IB_PUBKEY_LEN];
	int i;

	memcpy(y, enc, sizeof y);
	y[IB_PUBKEY_LEN - 1] &= 0x7f;
	/* y >= p, compared from the most significant byte: not canonical. */
	for (i = IB_PUBKEY_LEN - 1; i >= 0 && y[i] == ed25519_p[i]; i--)
		;
	if (i < 0 || y[i] > ed25519_p[i])
		return true;
	for (size_t j = 0; j < sizeof small_order_y / sizeof small_order_y[0]; j++)
		if (memcmp(y, small_order_y[j], sizeof y) == 0)
			return true;
	return false;
}

/* MD5 of the SPKI; IB_ERR_CRYPTO if the provider refuses MD5 (a FIPS-only configuration). */
static int id_digest(ib_id *out, const uint8_t spki[IB_SPKI_LEN])
{
	unsigned int len = 0;

	if (EVP_Digest(spki, IB_SPKI_LEN, out->b, &len, EVP_md5(), NULL) != 1 || len != IB_ID_LEN) {
		ERR_clear_error();
		return IB_ERR_CRYPTO;
	}
	return IB_OK;
}

/* [ID-2] The void signature cannot report a failure of MD5 itself (only possible when the
 * OpenSSL configuration disables it): the id is then all zero, the "everyone" name, which no
 * keyring can hold, since building any key goes through id_digest and fails the same way. */
void ib_id_from_spki(ib_id *out, const uint8_t spki[IB_SPKI_LEN])
{
	if (id_digest(out, spki) != IB_OK)
		memset(out->b, 0, sizeof out->b);
}

/* Label = the file name without its directory. */
static void set_label(struct ib_pubkey *k, const char *path)
{
	const char *base = path ? strrchr(path, '/') : NULL;

	base = base ? base + 1 : (path ? path : "");
	snprintf(k->label, sizeof k->label, "%s", base);
}

/* Takes ownership of pkey in every case. IB_ERR_NOT_ED25519 for another algorithm. */
static int pubkey_wrap(struct ib_pubkey **out, EVP_PKEY *pkey)
{
	struct ib_pubkey *k = NULL;
	size_t len = IB_PUBKEY_LEN;
	int err;

	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		err = IB_ERR_NOT_ED25519;
		goto out;
	}
	k = calloc(1, sizeof *k);
	if (!k) {
		err = IB_ERR_NOMEM;
		goto out;
	}
	if (EVP_PKEY_get_raw_public_key(pkey, k->raw, &len) != 1 || len != IB_PUBKEY_LEN) {
		err = IB_ERR_CRYPTO;
		goto out;
	}
	memcpy(k->spki, spki_prefix, sizeof spki_prefix);
	memcpy(k->spki + sizeof spki_prefix, k->raw, IB_PUBKEY_LEN);
	k->weak = ib_ed25519_weak_point(k->raw);
	err = id_digest(&k->id, k->spki);
	if (err)
		goto out;
	/* EVP_DigestVerifyInit fetches the algorithm from the provider store every time (2.5 %
	 * of a verify, counted with callgrind); copying a context set up once does not. A key
	 * OpenSSL cannot set up loads as before, and each of its checks fails as before. */
	k->verify_tmpl = EVP_MD_CTX_new();
	if (!k->verify_tmpl) {
		err = IB_ERR_NOMEM;
		goto out;
	}
	if (EVP_DigestVerifyInit(k->verify_tmpl, NULL, NULL, NULL, pkey) != 1) {
		EVP_MD_CTX_free(k->verify_tmpl);
		k->verify_tmpl = NULL;
		ERR_clear_error();
	}
	k->pkey = pkey;
	pkey = NULL;
	*out = k;
	k = NULL;
out:
	if (err)
		ERR_clear_error();
	EVP_PKEY_free(pkey);
	if (k)
		EVP_MD_CTX_free(k->verify_tmpl);
	free(k);
	return err;
}

int ib_pubkey_from_raw(struct ib_pubkey **out, const uint8_t raw[IB_PUBKEY_LEN])
{
	EVP_PKEY *pkey;

	if (!out || !raw)
		return IB_ERR_INVALID_ARG;
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, IB_PUBKEY_LEN);
	if (!pkey) {
		ERR_clear_error();
		return IB_ERR_CRYPTO;
	}
	return pubkey_wrap(out, pkey);
}

/* DER SPKI; canonical: only the 44 bytes of [ID-2] (else any encoding OpenSSL decodes). */
static int spki_decode(struct ib_pubkey **out, const uint8_t *der, size_t len, bool canonical)
{
	const unsigned char *p = der;
	struct ib_pubkey *k = NULL;
	EVP_PKEY *pkey;
	int err;

	if (len == 0 || len > 65536)
		return IB_ERR_KEY_FILE;
	pkey = d2i_PUBKEY(NULL, &p, (long)len);
	if (!pkey) {
		ERR_clear_error();
		return IB_ERR_KEY_FILE;
	}
	if ((size_t)(p - der) != len) {
		EVP_PKEY_free(pkey);
		return IB_ERR_KEY_FILE;
	}
	err = pubkey_wrap(&k, pkey);
	if (err)
		return err;
	/* [ID-3] Only the canonical 44-byte encoding names this key: anything else that
	 * happens to decode to it would hash to another id_bot. */
	if (canonical && (len != IB_SPKI_LEN || memcmp(der, k->spki, IB_SPKI_LEN) != 0)) {
		ib_pubkey_free(k);
		return IB_ERR_KEY_FILE;
	}
	*out = k;
	return IB_OK;
}

int ib_pubkey_from_spki(struct ib_pubkey **out, const uint8_t *der, size_t len)
{
	if (!out || (!der && len))
		return IB_ERR_INVALID_ARG;
	return spki_decode(out, der, len, true);
}

/* [IFACE-15] One PEM block of PUBLIC KEY, whose DER is the 44 bytes of [ID-2]. */
int ib_pubkey_load(struct ib_pubkey **out, const char *path, struct ib_diag *diag)
{
	struct ib_pubkey *k = NULL;
	struct ib_buf der = { 0 };
	int err;

	if (!out || !path)
		return IB_ERR_INVALID_ARG;
	err = ib_pem_read_one(path, "PUBLIC KEY", &der, diag);
	if (err)
		goto out;
	/* FAULT pub-any-der, breaks [IFACE-15]: any DER OpenSSL decodes to an Ed25519 key. */
	err = spki_decode(&k, der.ptr, der.len, !IB_FAULT_ENV(pub_any_der));
	if (err == IB_ERR_NOT_ED25519)
		ib_diag_set(diag, path, 0, "the key is not an Ed25519 key");
	else if (err == IB_ERR_KEY_FILE)
		ib_diag_set(diag, path, 0,
		            "not the 44 DER bytes of an Ed25519 SubjectPublicKeyInfo "
		            "(302a300506032b6570032100 and the key)");
	else if (err)
		ib_diag_set(diag, path, 0, "%s", ib_strerror(err));
	if (err)
		goto out;
	set_label(k, path);
	*out = k;
out:
	ib_buf_free(&der);
	return err;
}

int ib_pubkey_save(const struct ib_pubkey *k, const char *path)
{
	FILE *f;
	int ok;

	if (!k || !path)
		return IB_ERR_INVALID_ARG;
	f = fopen(path, "w");
	if (!f)
		return IB_ERR_IO;
	ok = PEM_write_PUBKEY(f, k->pkey) == 1;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok) {
		ERR_clear_error();
		remove(path);
		return IB_ERR_IO;
	}
	return IB_OK;
}

const ib_id *ib_pubkey_id(const struct ib_pubkey *k)
{
	return &k->id;
}

const uint8_t *ib_pubkey_raw(const struct ib_pubkey *k)
{
	return k->raw;
}

const uint8_t *ib_pubkey_spki(const struct ib_pubkey *k)
{
	return k->spki;
}

const char *ib_pubkey_label(const struct ib_pubkey *k)
{
	return k->label;
}

/*
 * [FRAME-1][FRAME-6] Pure Ed25519 (NULL digest), one shot over the message bytes exactly.
 * A fresh EVP_MD_CTX per call, copied from this key's own template: OpenSSL 3.0 keeps
 * verifying with the previous key when EVP_DigestVerifyInit is called again on a used context
 * that was not reset, which would let a frame signed by A pass as B's ([ID-3]); a template
 * belongs to one key and is never verified with itself. OpenSSL rejects a non-canonical S
 * (S >= L).
 */
int ib_pubkey_verify(const struct ib_pubkey *k, const uint8_t *msg, size_t msg_len,
                     const uint8_t *sig, size_t sig_len)
{
	static const uint8_t empty[1];
	EVP_MD_CTX *ctx;
	int err, rc;

	if (!k || (!msg && msg_len))
		return IB_ERR_INVALID_ARG;
	if (!sig || sig_len != IB_SIG_LEN)
		return IB_ERR_BAD_SIGNATURE;
	/* [FRAME-9] OpenSSL takes a key or an R of small order, and a key that is not
	 * canonical (libsodium does not): refused here, so that every node agrees. R not
	 * canonical, S not below L and the cofactorless equation are OpenSSL's own checks. */
	if (k->weak || ib_ed25519_weak_point(sig))
		return IB_ERR_BAD_SIGNATURE;
	err = ib_verify_memo_find(k->raw, msg ? msg : empty, msg_len, sig);
	if (err != -1)
		return err;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return IB_ERR_NOMEM;
	if (!k->verify_tmpl || EVP_MD_CTX_copy_ex(ctx, k->verify_tmpl) != 1) {
		err = IB_ERR_CRYPTO;
		goto out;
	}
	rc = EVP_DigestVerify(ctx, sig, sig_len, msg ? msg : empty, msg_len);
	err = rc == 1 ? IB_OK : rc == 0 ? IB_ERR_BAD_SIGNATURE : IB_ERR_CRYPTO;
	if (err != IB_ERR_CRYPTO)
		ib_verify_memo_keep(k->raw, msg ? msg : empty, msg_len, sig, err);
out:
	if (err)
		ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return err;
}

void ib_pubkey_free(struct ib_pubkey *k)
{
	if (!k)
		return;
	EVP_MD_CTX_free(k->verify_tmpl);
	EVP_PKEY_free(k->pkey);
	free(k);
}
