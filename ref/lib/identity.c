/*
 * identity.c - this node's own Ed25519 key pair (spec section 3): creation, the private key
 * file ([ID-5]), the self-signed certificate ([TLS-7]) and signing ([ID-1]).
 */
#include "interbot.h"

#include "fault.h"
#include "file.h"
#include "pem.h"
#include "reader.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CERT_DAYS (100 * 365 + 25) /* 100 years of validity; dates never decide [TLS-5] */
#define CERT_CN_MAX_CHARS 64       /* RFC 5280 ub-common-name */

struct ib_identity {
	EVP_PKEY *pkey; /* the private key */
	struct ib_pubkey *pub;
#ifdef IB_FAULTS
	X509 *fault_cert; /* crt-presented-unchecked: identity.crt, as it is */
#endif
};

#ifdef IB_FAULTS
/* FAULT crt-presented-unchecked, breaks [IFACE-17]: identity.crt, beside key_path, is the
 * certificate presented in TLS, not checked against the key (TLS then refuses the pair). */
static int fault_read_crt(struct ib_identity *id, const char *key_path, struct ib_diag *diag)
{
	char *dir = ib_file_dir_of(key_path), path[4200];
	FILE *f;

	snprintf(path, sizeof path, "%s/identity.crt", dir ? dir : ".");
	free(dir);
	f = fopen(path, "r");
	id->fault_cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	ERR_clear_error();
	if (id->fault_cert)
		return IB_OK;
	ib_diag_set(diag, path, 0, "cannot read the certificate");
	return IB_ERR_IO;
}

static X509 *fault_cert_copy(const struct ib_identity *id)
{
	return id->fault_cert ? X509_dup(id->fault_cert) : NULL;
}

static void fault_cert_free(struct ib_identity *id)
{
	X509_free(id->fault_cert);
}
#else
static int fault_read_crt(struct ib_identity *id, const char *key_path, struct ib_diag *diag)
{
	(void)id;
	(void)key_path;
	(void)diag;
	return IB_OK;
}

static X509 *fault_cert_copy(const struct ib_identity *id)
{
	(void)id;
	return NULL;
}

static void fault_cert_free(struct ib_identity *id)
{
	(void)id;
}
#endif

/* Takes ownership of pkey in every case. */
static int identity_wrap(struct ib_identity **out, EVP_PKEY *pkey)
{
	struct ib_identity *id = NULL;
	uint8_t raw[IB_PUBKEY_LEN];
	size_t len = sizeof raw;
	int err;

	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		err = IB_ERR_NOT_ED25519;
		goto out;
	}
	if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 || len != sizeof raw) {
		err = IB_ERR_CRYPTO;
		goto out;
	}
	id = calloc(1, sizeof *id);
	if (!id) {
		err = IB_ERR_NOMEM;
		goto out;
	}
	err = ib_pubkey_from_raw(&id->pub, raw);
	if (err)
		goto out;
	id->pkey = pkey;
	pkey = NULL;
	*out = id;
	id = NULL;
out:
	if (err)
		ERR_clear_error();
	EVP_PKEY_free(pkey);
	ib_identity_free(id);
	return err;
}

int ib_identity_generate(struct ib_identity **out)
{
	EVP_PKEY *pkey;

	if (!out)
		return IB_ERR_INVALID_ARG;
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!pkey) {
		ERR_clear_error();
		return IB_ERR_CRYPTO;
	}
	return identity_wrap(out, pkey);
}

int ib_identity_from_secret(struct ib_identity **out, const uint8_t secret[IB_SECRET_LEN])
{
	EVP_PKEY *pkey;

	if (!out || !secret)
		return IB_ERR_INVALID_ARG;
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, secret, IB_SECRET_LEN);
	if (!pkey) {
		ERR_clear_error();
		return IB_ERR_CRYPTO;
	}
	return identity_wrap(out, pkey);
}

int ib_identity_copy(struct ib_identity **out, const struct ib_identity *id)
{
	uint8_t secret[IB_SECRET_LEN];
	size_t len = sizeof secret;
	int err;

	if (!out || !id)
		return IB_ERR_INVALID_ARG;
	if (EVP_PKEY_get_raw_private_key(id->pkey, secret, &len) != 1 || len != sizeof secret) {
		ERR_clear_error();
		return IB_ERR_CRYPTO;
	}
	err = ib_identity_from_secret(out, secret);
	OPENSSL_cleanse(secret, sizeof secret);
	return err;
}

/* Whether group or others may use the directory that holds path. Only the fault
 * key-dir-checked asks: [ID-6] leaves directories to their owner. */
static bool dir_open_to_others(const char *path)
{
	char *dir = ib_file_dir_of(path);
	struct stat st;
	bool open_to_others = dir && stat(dir, &st) == 0 && (st.st_mode & 077);

	free(dir);
	return open_to_others;
}

/* [ID-5][ID-6] Checked on the open descriptor, so the file checked is the file read: any
 * permission bit of group or others refuses it, the owner's bits do not. */
static int check_key_perms(int fd, const char *path, struct ib_diag *diag)
{
	/* FAULT refusal-names-no-file, breaks [IFACE-9]: the refusal does not say which file. */
	const char *named = IB_FAULT_ENV(refusal_names_no_file) ? "" : path;
	mode_t bad = 077;
	struct stat st;

	/* FAULT key-mode-exactly-0600, breaks [ID-6]: "0600 or stricter" read as no owner
	 * execute bit either, so 0700 is refused. */
	if (IB_FAULT_ENV(key_mode_exactly_0600))
		bad = 0177;
	/* FAULT key-mode-rw-bits-only, breaks [ID-6]: only read and write bits refuse, so
	 * 0610, 0601 and 0710 start. */
	if (IB_FAULT_ENV(key_mode_rw_bits_only))
		bad = 066;
	if (fstat(fd, &st) != 0) {
		ib_diag_set(diag, path, 0, "cannot stat: %s", strerror(errno));
		return IB_ERR_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		ib_diag_set(diag, path, 0, "not a regular file");
		return IB_ERR_KEY_FILE;
	}
	/* FAULT key-dir-checked, breaks [ID-6]: a directory others can read refuses the key. */
	if (IB_FAULT_ENV(key_dir_checked) && dir_open_to_others(path)) {
		ib_diag_set(diag, path, 0, "its directory is open to group or others");
		return IB_ERR_KEY_PERMS;
	}
	if (st.st_mode & bad) {
		ib_diag_set(diag, named, 0,
		            "mode %04o: the private key must give group and others no permission "
		            "at all (chmod 600)",
		            (unsigned)(st.st_mode & 07777));
		return IB_ERR_KEY_PERMS;
	}
	return IB_OK;
}

/* ---- identity.key: PKCS#8 v1 and v2 ([IFACE-16]) ------------------------------------------ */

static const uint8_t ed25519_alg[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 }; /* OID 1.3.101.112 */

/* One DER element: its tag and its contents as a sub-reader. Definite lengths only, of at
 * most two length bytes: a key file holds at most 64 KiB. */
static int der_next(struct ib_reader *r, uint8_t *tag, struct ib_reader *body)
{
	uint8_t t, l, b1 = 0, b2 = 0;
	size_t len;

	if (ib_reader_u8(r, &t) || ib_reader_u8(r, &l))
		return IB_ERR_KEY_FILE;
	if (l < 0x80)
		len = l;
	else if (l == 0x81 && !ib_reader_u8(r, &b1))
		len = b1;
	else if (l == 0x82 && !ib_reader_u8(r, &b1) && !ib_reader_u8(r, &b2))
		len = (size_t)b1 << 8 | b2;
	else
		return IB_ERR_KEY_FILE;
	*tag = t;
	return ib_reader_sub(r, len, body) ? IB_ERR_KEY_FILE : IB_OK;
}

/* Whether body is exactly these bytes. */
static bool der_is(const struct ib_reader *body, const uint8_t *want, size_t len)
{
	return ib_reader_left(body) == len && memcmp(body->p + body->off, want, len) == 0;
}

struct pkcs8_ed25519 {
	uint8_t secret[IB_SECRET_LEN];
	uint8_t pub[IB_PUBKEY_LEN]; /* the publicKey field, when has_pub */
	bool has_pub;
};

/*
 * RFC 5958 OneAsymmetricKey of an Ed25519 key (RFC 8410 section 7):
 *   SEQUENCE { version INTEGER (0: v1, 1: v2), SEQUENCE { OID 1.3.101.112 },
 *              OCTET STRING { OCTET STRING (32) }, [0] attributes OPTIONAL,
 *              [1] publicKey OPTIONAL (v2 only) }
 * IB_ERR_NOT_ED25519 for another algorithm, IB_ERR_KEY_FILE for anything else, with *why.
 */
static int pkcs8_parse(const uint8_t *der, size_t len, struct pkcs8_ed25519 *k, const char **why)
{
	struct ib_reader all, seq, body, inner;
	struct ib_slice bytes;
	uint8_t tag, version;

	*why = "not a PKCS#8 private key";
	ib_reader_init(&all, der, len);
	if (der_next(&all, &tag, &seq) || tag != 0x30 || ib_reader_end(&all))
		return IB_ERR_KEY_FILE;
	if (der_next(&seq, &tag, &body) || tag != 0x02 || ib_reader_u8(&body, &version) ||
	    ib_reader_end(&body) || version > 1) {
		*why = "not a PKCS#8 private key of version 1 or 2";
		return IB_ERR_KEY_FILE;
	}
	/* FAULT pkcs8-v2-refused, breaks [IFACE-16]: version 2 is not read (OpenSSL 3.0). */
	if (version == 1 && IB_FAULT_ENV(pkcs8_v2_refused)) {
		*why = "PKCS#8 version 2 is not supported";
		return IB_ERR_KEY_FILE;
	}
	if (der_next(&seq, &tag, &body) || tag != 0x30)
		return IB_ERR_KEY_FILE;
	if (!der_is(&body, ed25519_alg, sizeof ed25519_alg))
		return IB_ERR_NOT_ED25519;
	/* privateKey: an OCTET STRING holding CurvePrivateKey, an OCTET STRING of 32 bytes. */
	if (der_next(&seq, &tag, &body) || tag != 0x04 || der_next(&body, &tag, &inner) ||
	    tag != 0x04 || ib_reader_end(&body) ||
	    ib_reader_bytes(&inner, IB_SECRET_LEN, &bytes) || ib_reader_end(&inner)) {
		*why = "the private key is not 32 bytes of Ed25519";
		return IB_ERR_KEY_FILE;
	}
	memcpy(k->secret, bytes.ptr, IB_SECRET_LEN);
	k->has_pub = false;
	/* attributes [0], ignored. */
	if (ib_reader_left(&seq) && seq.p[seq.off] == 0xa0 && der_next(&seq, &tag, &body))
		return IB_ERR_KEY_FILE;
	/* publicKey [1]: a BIT STRING's contents, no unused bits, 32 bytes; in v2 only. */
	if (ib_reader_left(&seq) && seq.p[seq.off] == 0x81 && version == 1) {
		uint8_t unused;

		if (der_next(&seq, &tag, &body) || ib_reader_u8(&body, &unused) || unused != 0 ||
		    ib_reader_bytes(&body, IB_PUBKEY_LEN, &bytes) || ib_reader_end(&body)) {
			*why = "the publicKey field is not 32 bytes of Ed25519";
			return IB_ERR_KEY_FILE;
		}
		memcpy(k->pub, bytes.ptr, IB_PUBKEY_LEN);
		k->has_pub = true;
	}
	if (ib_reader_end(&seq)) {
		*why = "unexpected fields after the private key";
		return IB_ERR_KEY_FILE;
	}
	return IB_OK;
}

/* [IFACE-16] The key of the DER, whose public key is the one derived from the private key. */
static int identity_from_pkcs8(struct ib_identity **out, const struct ib_buf *der,
			       const char *path, struct ib_diag *diag)
{
	struct pkcs8_ed25519 k;
	const char *why;
	int err;

	err = pkcs8_parse(der->ptr, der->len, &k, &why);
	if (err == IB_ERR_NOT_ED25519)
		ib_diag_set(diag, path, 0, "the key is not an Ed25519 key");
	else if (err)
		ib_diag_set(diag, path, 0, "%s", why);
	if (!err) {
		err = ib_identity_from_secret(out, k.secret);
		if (err)
			ib_diag_set(diag, path, 0, "%s", ib_strerror(err));
	}
	/* FAULT pkcs8-public-key-unchecked, breaks [IFACE-16]: the publicKey field is not
	 * compared with the key of the private key. */
	if (!err && k.has_pub && !IB_FAULT_ENV(pkcs8_public_key_unchecked) &&
	    memcmp(k.pub, ib_pubkey_raw((*out)->pub), IB_PUBKEY_LEN) != 0) {
		ib_identity_free(*out);
		*out = NULL;
		ib_diag_set(diag, path, 0,
			    "its publicKey field is not the public key of its private key");
		err = IB_ERR_KEY_FILE;
	}
	OPENSSL_cleanse(&k, sizeof k);
	return err;
}

int ib_identity_load(struct ib_identity **out, const char *key_path, struct ib_diag *diag)
{
	struct ib_buf der = { 0 };
	int fd, err;

	if (!out || !key_path)
		return IB_ERR_INVALID_ARG;
	fd = open(key_path, O_RDONLY | O_NOCTTY);
	if (fd < 0) {
		ib_diag_set(diag, key_path, 0, "cannot open: %s", strerror(errno));
		return IB_ERR_IO;
	}
	err = check_key_perms(fd, key_path, diag);
	if (!err)
		err = ib_pem_read_fd(fd, key_path, "PRIVATE KEY", &der, diag);
	if (!err)
		err = identity_from_pkcs8(out, &der, key_path, diag);
	/* [IFACE-17] the reference makes its own certificate: identity.crt is not read. */
	if (!err && IB_FAULT_ENV(crt_presented_unchecked)) {
		err = fault_read_crt(*out, key_path, diag);
		if (err) {
			ib_identity_free(*out);
			*out = NULL;
		}
	}
	close(fd);
	if (der.ptr)
		OPENSSL_cleanse(der.ptr, der.cap);
	ib_buf_free(&der);
	return err;
}

typedef int (*pem_writer)(BIO *b, const void *obj);

static int write_private_key(BIO *b, const void *obj)
{
	const struct ib_identity *id = obj;

	/* PKCS#8 ("BEGIN PRIVATE KEY"), unencrypted: the file mode protects it [ID-5]. */
	return PEM_write_bio_PrivateKey(b, id->pkey, NULL, NULL, 0, NULL, NULL) == 1 ? 0 : -1;
}

static int write_cert(BIO *b, const void *obj)
{
	return PEM_write_bio_X509(b, obj) == 1 ? 0 : -1;
}

/* PEM into memory (secure memory: it may hold the private key), then one atomic write. */
static int write_pem(const char *path, mode_t mode, pem_writer emit, const void *obj)
{
	BIO *b = BIO_new(BIO_s_secmem());
	char *data;
	long len;
	int err = IB_ERR_CRYPTO;

	if (!b)
		return IB_ERR_NOMEM;
	if (emit(b, obj) != 0)
		goto out;
	len = BIO_get_mem_data(b, &data);
	if (len <= 0)
		goto out;
	err = ib_file_write_atomic(path, data, (size_t)len, mode);
out:
	ERR_clear_error();
	BIO_free(b);
	return err;
}

int ib_identity_save(const struct ib_identity *id, const char *key_path)
{
	if (!id || !key_path)
		return IB_ERR_INVALID_ARG;
	return write_pem(key_path, 0600, write_private_key, id);
}

/* Bytes of the first CERT_CN_MAX_CHARS UTF-8 characters of name: the CN is a label only
 * ([TLS-5]), and a longer one would make OpenSSL refuse the certificate. */
static size_t cn_prefix_len(const char *name)
{
	size_t i, chars = 0;

	for (i = 0; name[i]; i++) {
		if (((unsigned char)name[i] & 0xc0) != 0x80 && chars++ == CERT_CN_MAX_CHARS)
			break;
	}
	return i;
}

static int cert_set_names(X509 *x, const char *name)
{
	X509_NAME *subject = X509_get_subject_name(x);
	size_t len = cn_prefix_len(name);

	if (!subject || len == 0)
		return IB_ERR_INVALID_ARG;
	/* MBSTRING_UTF8 checks that the name is UTF-8. */
	if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, (const unsigned char *)name,
	                               (int)len, -1, 0) != 1)
		return IB_ERR_INVALID_ARG;
	if (X509_set_issuer_name(x, subject) != 1)
		return IB_ERR_CRYPTO;
	return IB_OK;
}

/* A random positive 127-bit serial (RFC 5280 asks for at most 20 bytes, unpredictable). */
static int cert_set_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	int err = IB_ERR_CRYPTO;

	if (!bn)
		return IB_ERR_NOMEM;
	if (BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) == 1 &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL)
		err = IB_OK;
	BN_free(bn);
	return err;
}

static int cert_add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return IB_ERR_CRYPTO;
	ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok ? IB_OK : IB_ERR_CRYPTO;
}

static int cert_build(X509 *x, const struct ib_identity *id, const char *name)
{
	int err;

	if (X509_set_version(x, X509_VERSION_3) != 1)
		return IB_ERR_CRYPTO;
	err = cert_set_serial(x);
	if (!err)
		err = cert_set_names(x, name);
	if (err)
		return err;
	if (!X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), CERT_DAYS, 0, NULL) ||
	    X509_set_pubkey(x, id->pkey) != 1)
		return IB_ERR_CRYPTO;
	err = cert_add_ext(x, NID_basic_constraints, "critical,CA:FALSE");
	if (!err)
		err = cert_add_ext(x, NID_key_usage, "critical,digitalSignature");
	if (err)
		return err;
	/* Ed25519 takes no digest: X509_sign with NULL md is pure EdDSA. */
	if (X509_sign(x, id->pkey, NULL) <= 0)
		return IB_ERR_CRYPTO;
	return IB_OK;
}

int ib_identity_write_cert(const struct ib_identity *id, const char *crt_path, const char *name)
{
	X509 *x;
	int err;

	if (!id || !crt_path || !name)
		return IB_ERR_INVALID_ARG;
	x = X509_new();
	if (!x)
		return IB_ERR_NOMEM;
	err = cert_build(x, id, name);
	if (!err)
		err = write_pem(crt_path, 0644, write_cert, x);
	ERR_clear_error();
	X509_free(x);
	return err;
}

const ib_id *ib_identity_id(const struct ib_identity *id)
{
	return ib_pubkey_id(id->pub);
}

const struct ib_pubkey *ib_identity_pubkey(const struct ib_identity *id)
{
	return id->pub;
}

/* [ID-1] Pure Ed25519 over msg exactly; a fresh context per call, as for verify. */
int ib_identity_sign(const struct ib_identity *id, const uint8_t *msg, size_t msg_len,
                     uint8_t sig[IB_SIG_LEN])
{
	static const uint8_t empty[1];
	size_t sig_len = IB_SIG_LEN;
	EVP_MD_CTX *ctx;
	int err = IB_OK;

	if (!id || !sig || (!msg && msg_len))
		return IB_ERR_INVALID_ARG;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return IB_ERR_NOMEM;
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, id->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &sig_len, msg ? msg : empty, msg_len) != 1 ||
	    sig_len != IB_SIG_LEN) {
		ERR_clear_error();
		err = IB_ERR_CRYPTO;
	}
	EVP_MD_CTX_free(ctx);
	return err;
}

void ib_identity_free(struct ib_identity *id)
{
	if (!id)
		return;
	EVP_PKEY_free(id->pkey);
	ib_pubkey_free(id->pub);
	fault_cert_free(id);
	free(id);
}

/* ---- For the TLS engine (identity_internal.h) ------------------------------------------- */

#include "identity_internal.h"

EVP_PKEY *ib_identity_evp(const struct ib_identity *id)
{
	return id ? id->pkey : NULL;
}

/* [TLS-7] The same certificate as ib_identity_write_cert, kept in memory for SSL_CTX. */
X509 *ib_identity_x509(const struct ib_identity *id, const char *cn)
{
	X509 *x;

	if (!id || !cn)
		return NULL;
	x = fault_cert_copy(id); /* NULL but with the fault crt-presented-unchecked */
	if (x)
		return x;
	x = X509_new();
	if (x && cert_build(x, id, cn) != IB_OK) {
		X509_free(x);
		x = NULL;
	}
	ERR_clear_error();
	return x;
}
