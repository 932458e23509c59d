/*
 * identity.c - this node's own Ed25519 key pair (spec section 3): creation, the private key
 * file ([ID-5]), the self-signed certificate ([TLS-7]) and signing ([ID-1]).
 */
#include "interbot.h"

#include "fault.h"
#include "file.h"

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
};

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

/* An encrypted key file fails to load instead of prompting on a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
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

int ib_identity_load(struct ib_identity **out, const char *key_path, struct ib_diag *diag)
{
	EVP_PKEY *pkey = NULL;
	FILE *f = NULL;
	int fd, err;

	if (!out || !key_path)
		return IB_ERR_INVALID_ARG;
	fd = open(key_path, O_RDONLY | O_NOCTTY);
	if (fd < 0) {
		ib_diag_set(diag, key_path, 0, "cannot open: %s", strerror(errno));
		return IB_ERR_IO;
	}
	err = check_key_perms(fd, key_path, diag);
	if (err)
		goto out;
	f = fdopen(fd, "r");
	if (!f) {
		ib_diag_set(diag, key_path, 0, "cannot read: %s", strerror(errno));
		err = IB_ERR_IO;
		goto out;
	}
	fd = -1;
	pkey = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
	if (!pkey) {
		const char *r = ERR_reason_error_string(ERR_peek_last_error());

		ib_diag_set(diag, key_path, 0, "not an unencrypted PEM private key: %s",
		            r ? r : "no key found");
		err = IB_ERR_KEY_FILE;
		goto out;
	}
	err = identity_wrap(out, pkey);
	pkey = NULL;
	if (err)
		ib_diag_set(diag, key_path, 0, "%s",
		            err == IB_ERR_NOT_ED25519 ? "the key is not an Ed25519 key"
		                                      : ib_strerror(err));
out:
	ERR_clear_error();
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
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
	x = X509_new();
	if (x && cert_build(x, id, cn) != IB_OK) {
		X509_free(x);
		x = NULL;
	}
	ERR_clear_error();
	return x;
}
