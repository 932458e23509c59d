/* Unit tests of pubkey.c, identity.c and verify.c: keys, id_bot, signatures, key files,
 * certificates, and the signature half of the frame envelope. */
#include "ib_test.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* RFC 8032 section 7.1, TEST 1-3 (alice, bob, carol): public key, message, signature, and the
 * id_bot of spec section 21. */
static const struct {
	const char *pub;
	const char *msg;
	const char *sig;
	const char *id;
} rfc8032[3] = {
    {"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39"
     "701cf9b46bd25bf5f0595bbe24655141438e7a100b",
     "329bc17ebd3306cd02b7d358ebc750df"},
    {"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f36"
     "13d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
     "3d3a9ab8ed8a6299224f75668aca6080"},
    {"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f7"
     "60984dc6594a7c15e9716ed28dc027beceea1ec40a",
     "837b9efe570fcd007114a44ff7f465dd"},
};

static const char spki_prefix_hex[] = "302a300506032b6570032100";

static void tmp_path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", ib_test_tmpdir(), name);
}

/* ---- Keys and id_bot ----------------------------------------------------------------- */

static void test_rfc8032_public_keys_and_ids(void)
{
	for (int i = 0; i < 3; i++) {
		uint8_t pub[IB_PUBKEY_LEN], spki[IB_SPKI_LEN], id[IB_ID_LEN];
		struct ib_identity *me = ib_test_identity(i);
		const struct ib_pubkey *k = ib_identity_pubkey(me);
		struct ib_pubkey *k2 = NULL, *k3 = NULL;
		ib_id computed;

		ib_test_unhex(rfc8032[i].pub, pub, sizeof pub);
		ib_test_unhex(spki_prefix_hex, spki, sizeof spki);
		memcpy(spki + 12, pub, sizeof pub);
		ib_test_unhex(rfc8032[i].id, id, sizeof id);

		CU_ASSERT_EQUAL(memcmp(ib_pubkey_raw(k), pub, sizeof pub), 0);
		CU_ASSERT_EQUAL(memcmp(ib_pubkey_spki(k), spki, sizeof spki), 0);
		CU_ASSERT_EQUAL(memcmp(ib_pubkey_id(k)->b, id, sizeof id), 0);
		CU_ASSERT_EQUAL(memcmp(ib_identity_id(me)->b, id, sizeof id), 0);
		CU_ASSERT_STRING_EQUAL(ib_pubkey_label(k), "");
		ib_id_from_spki(&computed, spki);
		CU_ASSERT_EQUAL(memcmp(computed.b, id, sizeof id), 0);

		/* The same key from its raw bytes and from its SPKI has the same name. */
		IB_ASSERT_OK(ib_pubkey_from_raw(&k2, pub));
		IB_ASSERT_OK(ib_pubkey_from_spki(&k3, spki, sizeof spki));
		if (k2 && k3) {
			CU_ASSERT_EQUAL(memcmp(ib_pubkey_id(k2)->b, id, sizeof id), 0);
			CU_ASSERT_EQUAL(memcmp(ib_pubkey_id(k3)->b, id, sizeof id), 0);
			CU_ASSERT_EQUAL(memcmp(ib_pubkey_spki(k3), spki, sizeof spki), 0);
		}
		ib_pubkey_free(k2);
		ib_pubkey_free(k3);
		ib_identity_free(me);
	}
}

static void test_pubkey_from_spki_errors(void)
{
	uint8_t spki[IB_SPKI_LEN + 1], garbage[IB_SPKI_LEN];
	struct ib_pubkey *k = NULL;
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	unsigned char *der = NULL;
	int der_len;

	ib_test_unhex(spki_prefix_hex, spki, sizeof spki);
	ib_test_unhex(rfc8032[0].pub, spki + 12, IB_PUBKEY_LEN);
	spki[IB_SPKI_LEN] = 0;
	memset(garbage, 0x5a, sizeof garbage);

	IB_ASSERT_ERR(ib_pubkey_from_spki(&k, garbage, sizeof garbage), IB_ERR_KEY_FILE);
	IB_ASSERT_ERR(ib_pubkey_from_spki(&k, spki, IB_SPKI_LEN - 1), IB_ERR_KEY_FILE);
	IB_ASSERT_ERR(ib_pubkey_from_spki(&k, spki, IB_SPKI_LEN + 1), IB_ERR_KEY_FILE);
	IB_ASSERT_ERR(ib_pubkey_from_spki(&k, spki, 0), IB_ERR_KEY_FILE);
	CU_ASSERT_PTR_NULL(k);

	CU_ASSERT_PTR_NOT_NULL_FATAL(ec);
	der_len = i2d_PUBKEY(ec, &der);
	CU_ASSERT_FATAL(der_len > 0);
	IB_ASSERT_ERR(ib_pubkey_from_spki(&k, der, (size_t)der_len), IB_ERR_NOT_ED25519);
	CU_ASSERT_PTR_NULL(k);
	OPENSSL_free(der);
	EVP_PKEY_free(ec);
}

static void test_pubkey_save_load(void)
{
	struct ib_identity *bob = ib_test_identity(1);
	struct ib_pubkey *k = NULL;
	struct ib_diag diag = {0};
	char path[512];

	tmp_path(path, sizeof path, "bob.pub");
	IB_ASSERT_OK(ib_pubkey_save(ib_identity_pubkey(bob), path));
	IB_ASSERT_OK(ib_pubkey_load(&k, path, &diag));
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_EQUAL(
	    memcmp(ib_pubkey_spki(k), ib_pubkey_spki(ib_identity_pubkey(bob)), IB_SPKI_LEN), 0);
	CU_ASSERT(ib_id_equal(ib_pubkey_id(k), ib_identity_id(bob)));
	CU_ASSERT_STRING_EQUAL(ib_pubkey_label(k), "bob.pub");
	ib_pubkey_free(k);
	ib_identity_free(bob);
}

static void test_pubkey_load_errors(void)
{
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct ib_pubkey *k = NULL;
	struct ib_diag diag = {0};
	char path[512];
	FILE *f;

	tmp_path(path, sizeof path, "missing.pub");
	IB_ASSERT_ERR(ib_pubkey_load(&k, path, &diag), IB_ERR_IO);
	CU_ASSERT_STRING_EQUAL(diag.file, path);

	tmp_path(path, sizeof path, "garbage.pub");
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("not a key\n", f);
	fclose(f);
	memset(&diag, 0, sizeof diag);
	IB_ASSERT_ERR(ib_pubkey_load(&k, path, &diag), IB_ERR_KEY_FILE);
	CU_ASSERT_STRING_EQUAL(diag.file, path);
	CU_ASSERT(diag.reason[0] != '\0');

	CU_ASSERT_PTR_NOT_NULL_FATAL(ec);
	tmp_path(path, sizeof path, "ec.pub");
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(PEM_write_PUBKEY(f, ec), 1);
	fclose(f);
	memset(&diag, 0, sizeof diag);
	IB_ASSERT_ERR(ib_pubkey_load(&k, path, &diag), IB_ERR_NOT_ED25519);
	CU_ASSERT_STRING_EQUAL(diag.file, path);
	CU_ASSERT_PTR_NULL(k);
	EVP_PKEY_free(ec);
}

/* ---- Signatures -------------------------------------------------------------------- */

static void test_rfc8032_signatures(void)
{
	for (int i = 0; i < 3; i++) {
		struct ib_identity *me = ib_test_identity(i);
		uint8_t msg[2], want[IB_SIG_LEN], sig[IB_SIG_LEN];
		size_t msg_len = ib_test_unhex(rfc8032[i].msg, msg, sizeof msg);

		ib_test_unhex(rfc8032[i].sig, want, sizeof want);
		IB_ASSERT_OK(ib_identity_sign(me, msg_len ? msg : NULL, msg_len, sig));
		CU_ASSERT_EQUAL(memcmp(sig, want, sizeof sig), 0);
		IB_ASSERT_OK(ib_pubkey_verify(ib_identity_pubkey(me), msg_len ? msg : NULL, msg_len,
		                              want, sizeof want));
		ib_identity_free(me);
	}
}

static void test_sign_verify_and_failing_twins(void)
{
	static const uint8_t msg[] = "interbot frames are signed over the message bytes";
	struct ib_identity *alice = ib_test_identity(0), *bob = ib_test_identity(1);
	const struct ib_pubkey *ka = ib_identity_pubkey(alice);
	uint8_t sig[IB_SIG_LEN], bad[IB_SIG_LEN + 1], m2[sizeof msg];
	size_t n = sizeof msg - 1;

	IB_ASSERT_OK(ib_identity_sign(alice, msg, n, sig));
	IB_ASSERT_OK(ib_pubkey_verify(ka, msg, n, sig, sizeof sig));

	/* Every bit of the signature matters. */
	for (size_t bit = 0; bit < 8 * IB_SIG_LEN; bit++) {
		memcpy(bad, sig, IB_SIG_LEN);
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (ib_pubkey_verify(ka, msg, n, bad, IB_SIG_LEN) != IB_ERR_BAD_SIGNATURE)
			CU_FAIL("a signature with one bit flipped verified");
	}
	/* Every bit of the message matters; a shorter or longer message fails. */
	for (size_t bit = 0; bit < 8 * n; bit += 7) {
		memcpy(m2, msg, n);
		m2[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (ib_pubkey_verify(ka, m2, n, sig, sizeof sig) != IB_ERR_BAD_SIGNATURE)
			CU_FAIL("a message with one bit flipped verified");
	}
	IB_ASSERT_ERR(ib_pubkey_verify(ka, msg, n - 1, sig, sizeof sig), IB_ERR_BAD_SIGNATURE);
	IB_ASSERT_ERR(ib_pubkey_verify(ka, msg, n + 1, sig, sizeof sig), IB_ERR_BAD_SIGNATURE);
	/* The wrong key. */
	IB_ASSERT_ERR(ib_pubkey_verify(ib_identity_pubkey(bob), msg, n, sig, sizeof sig),
	              IB_ERR_BAD_SIGNATURE);
	/* Only 64-byte signatures: a prefix, or the signature and one more byte, fail. */
	memcpy(bad, sig, IB_SIG_LEN);
	bad[IB_SIG_LEN] = 0;
	IB_ASSERT_ERR(ib_pubkey_verify(ka, msg, n, sig, IB_SIG_LEN - 1), IB_ERR_BAD_SIGNATURE);
	IB_ASSERT_ERR(ib_pubkey_verify(ka, msg, n, bad, IB_SIG_LEN + 1), IB_ERR_BAD_SIGNATURE);
	IB_ASSERT_ERR(ib_pubkey_verify(ka, msg, n, sig, 0), IB_ERR_BAD_SIGNATURE);
	IB_ASSERT_ERR(ib_pubkey_verify(ka, msg, n, NULL, IB_SIG_LEN), IB_ERR_BAD_SIGNATURE);
	/* Still good after all the failures. */
	IB_ASSERT_OK(ib_pubkey_verify(ka, msg, n, sig, sizeof sig));
	ib_identity_free(alice);
	ib_identity_free(bob);
}

/* S + L, where L = 2^252 + 27742317777372353535851937790883648493 is the group order: the
 * same point equation holds, so only the S < L check of RFC 8032 5.1.7 rejects it. */
static void add_group_order(uint8_t s[32])
{
	static const uint8_t l_le[32] = {
	    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
	    0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
	};
	unsigned carry = 0;

	for (int i = 0; i < 32; i++) {
		unsigned v = s[i] + l_le[i] + carry;

		s[i] = (uint8_t)v;
		carry = v >> 8;
	}
	CU_ASSERT_EQUAL(carry, 0); /* S < L < 2^253, so S + L < 2^256 */
}

static void test_non_canonical_signature_refused(void)
{
	struct ib_identity *alice = ib_test_identity(0);
	uint8_t sig[IB_SIG_LEN];

	ib_test_unhex(rfc8032[0].sig, sig, sizeof sig);
	IB_ASSERT_OK(ib_pubkey_verify(ib_identity_pubkey(alice), NULL, 0, sig, sizeof sig));
	add_group_order(sig + 32);
	IB_ASSERT_ERR(ib_pubkey_verify(ib_identity_pubkey(alice), NULL, 0, sig, sizeof sig),
	              IB_ERR_BAD_SIGNATURE);
	ib_identity_free(alice);
}

/* The OpenSSL 3.0 trap, at the key level: verifies with alternating keys must each use their
 * own key, never the previous call's. */
static void test_verify_alternating_keys(void)
{
	static const uint8_t msg[] = "alternating";
	struct ib_identity *a = ib_test_identity(0), *b = ib_test_identity(1);
	uint8_t sa[IB_SIG_LEN], sb[IB_SIG_LEN];
	const struct ib_pubkey *ka = ib_identity_pubkey(a), *kb = ib_identity_pubkey(b);

	IB_ASSERT_OK(ib_identity_sign(a, msg, sizeof msg, sa));
	IB_ASSERT_OK(ib_identity_sign(b, msg, sizeof msg, sb));
	for (int round = 0; round < 3; round++) {
		IB_ASSERT_OK(ib_pubkey_verify(ka, msg, sizeof msg, sa, sizeof sa));
		IB_ASSERT_ERR(ib_pubkey_verify(kb, msg, sizeof msg, sa, sizeof sa),
		              IB_ERR_BAD_SIGNATURE);
		IB_ASSERT_OK(ib_pubkey_verify(kb, msg, sizeof msg, sb, sizeof sb));
		IB_ASSERT_ERR(ib_pubkey_verify(ka, msg, sizeof msg, sb, sizeof sb),
		              IB_ERR_BAD_SIGNATURE);
	}
	ib_identity_free(a);
	ib_identity_free(b);
}

static void test_identity_generate(void)
{
	static const uint8_t msg[] = "fresh";
	struct ib_identity *x = NULL, *y = NULL;
	uint8_t sig[IB_SIG_LEN];

	IB_ASSERT_OK(ib_identity_generate(&x));
	IB_ASSERT_OK(ib_identity_generate(&y));
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT(!ib_id_equal(ib_identity_id(x), ib_identity_id(y)));
	IB_ASSERT_OK(ib_identity_sign(x, msg, sizeof msg, sig));
	IB_ASSERT_OK(ib_pubkey_verify(ib_identity_pubkey(x), msg, sizeof msg, sig, sizeof sig));
	IB_ASSERT_ERR(ib_pubkey_verify(ib_identity_pubkey(y), msg, sizeof msg, sig, sizeof sig),
	              IB_ERR_BAD_SIGNATURE);
	ib_identity_free(x);
	ib_identity_free(y);
}

/* ---- Key files ------------------------------------------------------------------------ */

static void test_identity_save_load(void)
{
	static const uint8_t msg[] = "same key after a round trip";
	struct ib_identity *carol = ib_test_identity(2), *back = NULL;
	uint8_t s1[IB_SIG_LEN], s2[IB_SIG_LEN];
	struct ib_diag diag = {0};
	struct stat st;
	char path[512];

	tmp_path(path, sizeof path, "carol.key");
	IB_ASSERT_OK(ib_identity_save(carol, path));
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	IB_ASSERT_OK(ib_identity_load(&back, path, &diag));
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	CU_ASSERT(ib_id_equal(ib_identity_id(back), ib_identity_id(carol)));
	IB_ASSERT_OK(ib_identity_sign(carol, msg, sizeof msg, s1));
	IB_ASSERT_OK(ib_identity_sign(back, msg, sizeof msg, s2));
	CU_ASSERT_EQUAL(memcmp(s1, s2, sizeof s1), 0);
	ib_identity_free(back);

	/* Saving again replaces the file. */
	IB_ASSERT_OK(ib_identity_save(carol, path));
	IB_ASSERT_OK(ib_identity_load(&back, path, &diag));
	ib_identity_free(back);
	ib_identity_free(carol);
}

static void test_identity_load_refuses_open_modes(void)
{
	static const mode_t refused[] = {0640, 0604, 0620, 0602, 0660, 0644, 0610, 0601};
	struct ib_identity *alice = ib_test_identity(0), *back = NULL;
	struct ib_diag diag;
	char path[512];

	tmp_path(path, sizeof path, "alice.key");
	IB_ASSERT_OK(ib_identity_save(alice, path));
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		CU_ASSERT_EQUAL_FATAL(chmod(path, refused[i]), 0);
		memset(&diag, 0, sizeof diag);
		IB_ASSERT_ERR(ib_identity_load(&back, path, &diag), IB_ERR_KEY_PERMS);
		CU_ASSERT_PTR_NULL(back);
		CU_ASSERT_STRING_EQUAL(diag.file, path);
		CU_ASSERT_PTR_NOT_NULL(strstr(diag.reason, "mode"));
	}
	/* [ID-6] the owner's bits are the owner's business. */
	for (mode_t m = 0400; m <= 0700; m += 0100) {
		CU_ASSERT_EQUAL_FATAL(chmod(path, m), 0);
		IB_ASSERT_OK(ib_identity_load(&back, path, NULL));
		ib_identity_free(back);
		back = NULL;
	}
	ib_identity_free(alice);
}

static void write_private_pem(const char *path, EVP_PKEY *pkey)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	CU_ASSERT_EQUAL(chmod(path, 0600), 0);
}

static void test_identity_load_errors(void)
{
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct ib_identity *id = NULL;
	struct ib_diag diag = {0};
	char path[512];
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(rsa);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ec);
	tmp_path(path, sizeof path, "rsa.key");
	write_private_pem(path, rsa);
	IB_ASSERT_ERR(ib_identity_load(&id, path, &diag), IB_ERR_NOT_ED25519);
	CU_ASSERT_STRING_EQUAL(diag.file, path);

	tmp_path(path, sizeof path, "ec.key");
	write_private_pem(path, ec);
	memset(&diag, 0, sizeof diag);
	IB_ASSERT_ERR(ib_identity_load(&id, path, &diag), IB_ERR_NOT_ED25519);
	CU_ASSERT_STRING_EQUAL(diag.file, path);

	tmp_path(path, sizeof path, "garbage.key");
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(chmod(path, 0600), 0);
	memset(&diag, 0, sizeof diag);
	IB_ASSERT_ERR(ib_identity_load(&id, path, &diag), IB_ERR_KEY_FILE);
	CU_ASSERT_STRING_EQUAL(diag.file, path);

	tmp_path(path, sizeof path, "absent.key");
	IB_ASSERT_ERR(ib_identity_load(&id, path, &diag), IB_ERR_IO);
	CU_ASSERT_PTR_NULL(id);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
}

/* ---- Certificate ---------------------------------------------------------------------- */

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	return x;
}

static void cert_cn(X509 *x, char *out, int cap)
{
	out[0] = '\0';
	CU_ASSERT(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, cap) >
	          0);
}

static void test_identity_write_cert(void)
{
	struct ib_identity *bob = ib_test_identity(1);
	uint8_t raw[IB_PUBKEY_LEN];
	size_t raw_len = sizeof raw;
	time_t in_99_years = time(NULL) + (time_t)99 * 365 * 86400;
	char path[512], cn[300];
	BIGNUM *serial, *other;
	EVP_PKEY *pk;
	X509 *x;

	tmp_path(path, sizeof path, "bob.crt");
	IB_ASSERT_OK(ib_identity_write_cert(bob, path, "bob"));
	x = read_cert(path);
	pk = X509_get0_pubkey(x);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pk);
	CU_ASSERT_EQUAL(EVP_PKEY_get_id(pk), EVP_PKEY_ED25519);
	CU_ASSERT_EQUAL(EVP_PKEY_get_raw_public_key(pk, raw, &raw_len), 1);
	CU_ASSERT_EQUAL(memcmp(raw, ib_pubkey_raw(ib_identity_pubkey(bob)), sizeof raw), 0);
	CU_ASSERT_EQUAL(X509_verify(x, pk), 1); /* self-signed with the identity key */
	CU_ASSERT_EQUAL(X509_get_version(x), X509_VERSION_3);
	CU_ASSERT_EQUAL(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
	cert_cn(x, cn, sizeof cn);
	CU_ASSERT_STRING_EQUAL(cn, "bob");
	CU_ASSERT(X509_cmp_time(X509_get0_notAfter(x), &in_99_years) > 0);
	CU_ASSERT(X509_cmp_current_time(X509_get0_notBefore(x)) <= 0);
	serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(serial);
	CU_ASSERT(!BN_is_negative(serial));
	CU_ASSERT_EQUAL(BN_num_bits(serial), 127);
	X509_free(x);

	/* A second certificate has another random serial. */
	IB_ASSERT_OK(ib_identity_write_cert(bob, path, "bob"));
	x = read_cert(path);
	other = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(other);
	CU_ASSERT(BN_cmp(serial, other) != 0);
	BN_free(serial);
	BN_free(other);
	X509_free(x);
	ib_identity_free(bob);
}

static void test_identity_write_cert_names(void)
{
	struct ib_identity *carol = ib_test_identity(2);
	char path[512], name[256], cn[300];
	X509 *x;

	/* A 255-byte node name: the CN keeps its first 64 characters (RFC 5280's bound). */
	memset(name, 'c', 255);
	name[255] = '\0';
	tmp_path(path, sizeof path, "carol.crt");
	IB_ASSERT_OK(ib_identity_write_cert(carol, path, name));
	x = read_cert(path);
	cert_cn(x, cn, sizeof cn);
	CU_ASSERT_EQUAL(strlen(cn), 64);
	X509_free(x);

	/* 70 two-byte characters: cut at a character boundary, 64 characters = 128 bytes. */
	for (int i = 0; i < 70; i++)
		memcpy(name + 2 * i, "\xc3\xa9", 2);
	name[140] = '\0';
	IB_ASSERT_OK(ib_identity_write_cert(carol, path, name));
	x = read_cert(path);
	CU_ASSERT_EQUAL(
	    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn),
	    128);
	X509_free(x);

	IB_ASSERT_ERR(ib_identity_write_cert(carol, path, ""), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_identity_write_cert(carol, path, "bad \xff utf-8"), IB_ERR_INVALID_ARG);
	ib_identity_free(carol);
}

/* ---- Frames: ib_frame_sign and ib_frame_verify ---------------------------------------- */

/* Spec section 21: alice's PUBLISH frame, 148 bytes; the message is its last 63. */
static const char worked_example_frame[] =
    "329bc17ebd3306cd02b7d358ebc750df004000003fc34cf5153a099b138fad056e3b14070fdf9bbc6dd71ee9"
    "1c7ad0dafc0f63adacfeccd28bb3a72f46aa3fce8e8f0f16b29ed6f87e2507e1cc17faa0b30d530508011000"
    "00000647484620400000000000000000000000000000000000086772656574696e6700000000000000010000"
    "0f68656c6c6f2c20696e746572626f74";

static struct ib_keyring *ring_of(struct ib_identity *const *ids, size_t n)
{
	struct ib_keyring *kr = NULL;

	IB_ASSERT_OK(ib_keyring_new(&kr));
	CU_ASSERT_PTR_NOT_NULL_FATAL(kr);
	for (size_t i = 0; i < n; i++) {
		struct ib_pubkey *k = NULL;

		IB_ASSERT_OK(ib_pubkey_from_raw(&k, ib_pubkey_raw(ib_identity_pubkey(ids[i]))));
		IB_ASSERT_OK(ib_keyring_add(kr, k));
	}
	return kr;
}

static void test_frame_sign_worked_example(void)
{
	struct ib_identity *alice = ib_test_identity(0);
	struct ib_keyring *kr = ring_of(&alice, 1);
	uint8_t want[148];
	struct ib_buf out = {0};
	const struct ib_pubkey *key = NULL;
	struct ib_frame f;

	CU_ASSERT_EQUAL_FATAL(ib_test_unhex(worked_example_frame, want, sizeof want), 148);
	IB_ASSERT_OK(ib_frame_sign(&out, alice, want + 85, 63));
	CU_ASSERT_EQUAL_FATAL(out.len, sizeof want);
	CU_ASSERT_EQUAL(memcmp(out.ptr, want, sizeof want), 0);

	IB_ASSERT_OK(ib_frame_parse(&f, out.ptr, out.len, IB_MAX_MESSAGE_LIMIT));
	IB_ASSERT_OK(ib_frame_verify(&f, kr, &key));
	CU_ASSERT_PTR_EQUAL(key, ib_keyring_find(kr, ib_identity_id(alice)));
	ib_buf_free(&out);
	ib_keyring_free(kr);
	ib_identity_free(alice);
}

/* A frame struct over borrowed bytes, as ib_frame_parse would give. */
static struct ib_frame frame_of(const ib_id *origin, const uint8_t *sig, size_t sig_len,
                                const uint8_t *msg, size_t msg_len)
{
	struct ib_frame f;

	memset(&f, 0, sizeof f);
	f.origin = *origin;
	f.sig_len = (uint16_t)sig_len;
	f.sig = (struct ib_slice){sig, sig_len};
	f.msg = (struct ib_slice){msg, msg_len};
	return f;
}

static void test_frame_verify_order(void)
{
	static const uint8_t msg[] = "ordered checks";
	struct ib_identity *ids[2] = {ib_test_identity(0), ib_test_identity(1)};
	struct ib_identity *carol = ib_test_identity(2);
	struct ib_keyring *kr = ring_of(ids, 2);
	const struct ib_pubkey *key = NULL;
	uint8_t sig[IB_SIG_LEN + 1] = {0}, junk[IB_SIG_LEN + 1];
	struct ib_frame f;

	memset(junk, 0xa5, sizeof junk);
	IB_ASSERT_OK(ib_identity_sign(ids[0], msg, sizeof msg, sig));

	f = frame_of(ib_identity_id(ids[0]), sig, IB_SIG_LEN, msg, sizeof msg);
	IB_ASSERT_OK(ib_frame_verify(&f, kr, NULL));
	/* signature_length first: even an unknown origin with junk is BAD_SIG_LEN. */
	f = frame_of(ib_identity_id(carol), junk, IB_SIG_LEN - 1, msg, sizeof msg);
	IB_ASSERT_ERR(ib_frame_verify(&f, kr, &key), IB_ERR_BAD_SIG_LEN);
	f = frame_of(ib_identity_id(ids[0]), sig, IB_SIG_LEN + 1, msg, sizeof msg);
	IB_ASSERT_ERR(ib_frame_verify(&f, kr, &key), IB_ERR_BAD_SIG_LEN);
	f = frame_of(ib_identity_id(ids[0]), sig, 0, msg, sizeof msg);
	IB_ASSERT_ERR(ib_frame_verify(&f, kr, &key), IB_ERR_BAD_SIG_LEN);
	/* Then the origin: carol is not in the keyring, even with her own valid signature. */
	IB_ASSERT_OK(ib_identity_sign(carol, msg, sizeof msg, junk));
	f = frame_of(ib_identity_id(carol), junk, IB_SIG_LEN, msg, sizeof msg);
	IB_ASSERT_ERR(ib_frame_verify(&f, kr, &key), IB_ERR_UNKNOWN_ORIGIN);
	/* Then the signature. */
	f = frame_of(ib_identity_id(ids[1]), sig, IB_SIG_LEN, msg, sizeof msg);
	IB_ASSERT_ERR(ib_frame_verify(&f, kr, &key), IB_ERR_BAD_SIGNATURE);
	f = frame_of(ib_identity_id(ids[0]), sig, IB_SIG_LEN, msg, sizeof msg - 1);
	IB_ASSERT_ERR(ib_frame_verify(&f, kr, &key), IB_ERR_BAD_SIGNATURE);
	CU_ASSERT_PTR_NULL(key); /* untouched by every failure */

	ib_keyring_free(kr);
	ib_identity_free(ids[0]);
	ib_identity_free(ids[1]);
	ib_identity_free(carol);
}

/*
 * The OpenSSL 3.0 trap (decisions, "Implementation notes"): frames from two origins,
 * interleaved, where every other one names one origin and is signed with the other's key.
 * A verifier that reused a context without reset would accept the forged ones.
 */
static void test_frame_verify_interleaved_origins(void)
{
	struct ib_identity *ids[2] = {ib_test_identity(0), ib_test_identity(1)};
	struct ib_keyring *kr = ring_of(ids, 2);
	struct ib_buf wire = {0};
	size_t off = 0, n = 0;
	const struct ib_pubkey *key;

	/* Round r: origin r%2 honestly, then origin (r+1)%2 forged with r%2's key. */
	for (int r = 0; r < 8; r++) {
		uint8_t msg[16] = {(uint8_t)r};
		uint8_t sig[IB_SIG_LEN];

		IB_ASSERT_OK(ib_frame_sign(&wire, ids[r % 2], msg, sizeof msg));
		IB_ASSERT_OK(ib_identity_sign(ids[r % 2], msg, sizeof msg, sig));
		IB_ASSERT_OK(
		    ib_frame_encode(&wire, ib_identity_id(ids[(r + 1) % 2]), sig, msg, sizeof msg));
	}
	for (; off < wire.len; n++) {
		size_t len = IB_FRAME_HEADER_LEN + IB_SIG_LEN + 16;
		struct ib_frame f;
		bool forged = n % 2 == 1;

		CU_ASSERT_FATAL(off + len <= wire.len);
		IB_ASSERT_OK(ib_frame_parse(&f, wire.ptr + off, len, IB_MAX_MESSAGE_LIMIT));
		key = NULL;
		IB_ASSERT_ERR(ib_frame_verify(&f, kr, &key), forged ? IB_ERR_BAD_SIGNATURE : IB_OK);
		if (!forged)
			CU_ASSERT(key && ib_id_equal(ib_pubkey_id(key), &f.origin));
		off += len;
	}
	CU_ASSERT_EQUAL(n, 16);
	ib_buf_free(&wire);
	ib_keyring_free(kr);
	ib_identity_free(ids[0]);
	ib_identity_free(ids[1]);
}

static const struct ib_test_case cases[] = {
    IB_TEST(test_rfc8032_public_keys_and_ids, "ID-2"),
    IB_TEST(test_pubkey_from_spki_errors, "ID-2"),
    IB_TEST(test_pubkey_save_load, ""),
    IB_TEST(test_pubkey_load_errors, ""),
    IB_TEST(test_rfc8032_signatures, "ID-1 FRAME-1"),
    IB_TEST(test_sign_verify_and_failing_twins, "FRAME-1 FRAME-6"),
    IB_TEST(test_non_canonical_signature_refused, "FRAME-6"),
    IB_TEST(test_verify_alternating_keys, "FRAME-6 ID-3"),
    IB_TEST(test_identity_generate, ""),
    IB_TEST(test_identity_save_load, "ID-5"),
    IB_TEST(test_identity_load_refuses_open_modes, "ID-5 ID-6"),
    IB_TEST(test_identity_load_errors, ""),
    IB_TEST(test_identity_write_cert, "TLS-7"),
    IB_TEST(test_identity_write_cert_names, ""),
    IB_TEST(test_frame_sign_worked_example, "ID-1 FRAME-1"),
    IB_TEST(test_frame_verify_order, "FRAME-3 FRAME-5 FRAME-6 FRAME-8"),
    IB_TEST(test_frame_verify_interleaved_origins, "FRAME-6 ID-3"),
    IB_TEST_END};

const struct ib_test_suite ib_suite_identity = {"identity", NULL, NULL, cases};
