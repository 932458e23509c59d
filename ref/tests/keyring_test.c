/* Unit tests of keyring.c: loading authorized/, lookups, SPKI pinning, keys_digest. */
#include "ib_test.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const names[3] = {"alice", "bob", "carol"};

static struct ib_pubkey *test_pubkey(int i)
{
	struct ib_identity *id = ib_test_identity(i);
	struct ib_pubkey *k = NULL;

	IB_ASSERT_OK(ib_pubkey_from_raw(&k, ib_pubkey_raw(ib_identity_pubkey(id))));
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	ib_identity_free(id);
	return k;
}

/* A fresh directory under the test tmpdir; its path in out. */
static void make_dir(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", ib_test_tmpdir(), name);
	CU_ASSERT_EQUAL_FATAL(mkdir(out, 0700), 0);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

/* Saves test identity i as DIR/NAME.pub. */
static void save_pub(const char *dir, int i, const char *file)
{
	struct ib_pubkey *k = test_pubkey(i);
	char path[512];

	snprintf(path, sizeof path, "%s/%s", dir, file);
	IB_ASSERT_OK(ib_pubkey_save(k, path));
	ib_pubkey_free(k);
}

/* DIR with alice.pub, bob.pub, carol.pub and files that are not *.pub. */
static void make_three_key_dir(char *dir, size_t cap, const char *name)
{
	make_dir(dir, cap, name);
	for (int i = 0; i < 3; i++) {
		char file[32];

		snprintf(file, sizeof file, "%s.pub", names[i]);
		save_pub(dir, i, file);
	}
	write_file(dir, "README", "keys of the bots allowed to link\n");
	write_file(dir, "alice.pub~", "editor backup, not a key\n");
	write_file(dir, "dan.pub.disabled", "not a key either\n");
	write_file(dir, ".hidden.pub", "a hidden file, ignored as the shell's *.pub does\n");
}

static void test_load_dir_three_keys(void)
{
	struct ib_keyring *kr = NULL;
	struct ib_diag diag = {0};
	char dir[512];

	make_three_key_dir(dir, sizeof dir, "three");
	IB_ASSERT_OK(ib_keyring_load_dir(&kr, dir, NULL, &diag));
	CU_ASSERT_PTR_NOT_NULL_FATAL(kr);
	CU_ASSERT_EQUAL(ib_keyring_count(kr), 3);
	for (int i = 0; i < 3; i++) {
		struct ib_pubkey *want = test_pubkey(i);
		const struct ib_pubkey *got = ib_keyring_find(kr, ib_pubkey_id(want));
		char label[32];

		snprintf(label, sizeof label, "%s.pub", names[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(got);
		CU_ASSERT_EQUAL(memcmp(ib_pubkey_raw(got), ib_pubkey_raw(want), IB_PUBKEY_LEN), 0);
		CU_ASSERT_STRING_EQUAL(ib_pubkey_label(got), label);
		ib_pubkey_free(want);
	}
	/* at() walks the keys in ascending id_bot order. */
	for (size_t i = 1; i < ib_keyring_count(kr); i++)
		CU_ASSERT(ib_id_compare(ib_pubkey_id(ib_keyring_at(kr, i - 1)),
		                        ib_pubkey_id(ib_keyring_at(kr, i))) < 0);
	CU_ASSERT_PTR_NULL(ib_keyring_at(kr, 3));
	ib_keyring_free(kr);
}

static void test_load_dir_adds_own_key(void)
{
	struct ib_identity *alice = ib_test_identity(0);
	struct ib_keyring *kr = NULL;
	struct ib_diag diag = {0};
	const struct ib_pubkey *k;
	char dir[512];

	make_dir(dir, sizeof dir, "own");
	save_pub(dir, 1, "bob.pub");
	save_pub(dir, 2, "carol.pub");
	IB_ASSERT_OK(ib_keyring_load_dir(&kr, dir, ib_identity_pubkey(alice), &diag));
	CU_ASSERT_PTR_NOT_NULL_FATAL(kr);
	CU_ASSERT_EQUAL(ib_keyring_count(kr), 3);
	k = ib_keyring_find(kr, ib_identity_id(alice));
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_PTR_NOT_EQUAL(k, ib_identity_pubkey(alice)); /* a copy */
	CU_ASSERT_STRING_EQUAL(ib_pubkey_label(k), "");
	ib_keyring_free(kr);

	/* Own key also in authorized/: the same key twice is one key. */
	save_pub(dir, 0, "alice.pub");
	kr = NULL;
	IB_ASSERT_OK(ib_keyring_load_dir(&kr, dir, ib_identity_pubkey(alice), &diag));
	CU_ASSERT_EQUAL(ib_keyring_count(kr), 3);
	ib_keyring_free(kr);
	ib_identity_free(alice);
}

/* [ID-4] Two files with one id_bot: refused, naming both, and the old keyring stays. */
static void test_same_id_in_two_files_refused(void)
{
	struct ib_keyring *kr = NULL, *old = NULL;
	struct ib_diag diag = {0};
	char dir[512];

	make_three_key_dir(dir, sizeof dir, "twice");
	IB_ASSERT_OK(ib_keyring_load_dir(&old, dir, NULL, &diag));
	save_pub(dir, 1, "bob-again.pub");
	kr = old;
	IB_ASSERT_ERR(ib_keyring_load_dir(&kr, dir, NULL, &diag), IB_ERR_DUPLICATE_ID);
	CU_ASSERT_PTR_EQUAL(kr, old);
	/* Files load in name order: bob-again.pub first, then bob.pub clashes with it. */
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.file, "bob.pub"));
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.reason, "bob-again.pub"));
	ib_keyring_free(old);
}

/* A shared keyring lives until its last owner frees it. */
static void test_shared_keyring_refcount(void)
{
	struct ib_keyring *kr = NULL;
	struct ib_pubkey *k = test_pubkey(0);

	IB_ASSERT_OK(ib_keyring_new(&kr));
	IB_ASSERT_OK(ib_keyring_add(kr, k));
	CU_ASSERT_PTR_EQUAL(ib_keyring_ref(kr), kr);
	ib_keyring_free(kr);
	/* Still there for the second owner (ASan and valgrind would see a use after free). */
	CU_ASSERT_EQUAL(ib_keyring_count(kr), 1);
	CU_ASSERT_PTR_NOT_NULL(ib_keyring_at(kr, 0));
	ib_keyring_free(kr);
}

static void test_non_pub_files_ignored(void)
{
	struct ib_keyring *kr = NULL;
	char dir[512];

	make_dir(dir, sizeof dir, "nopub");
	write_file(dir, "notes.txt", "garbage\n");
	write_file(dir, "x.pem", "garbage\n");
	write_file(dir, ".pub", "garbage\n");
	IB_ASSERT_OK(ib_keyring_load_dir(&kr, dir, NULL, NULL));
	CU_ASSERT_PTR_NOT_NULL_FATAL(kr);
	CU_ASSERT_EQUAL(ib_keyring_count(kr), 0);
	ib_keyring_free(kr);
}

/* [IFACE-14] NAME.pub in lower case, not hidden, links followed; [IFACE-15] one PEM block of
 * the 44 canonical bytes, explanatory text around it; anything else refuses the keyring. */
static void test_key_files(void)
{
	struct ib_pubkey *bob = test_pubkey(1);
	struct ib_keyring *kr = NULL;
	struct ib_diag diag = {0};
	uint8_t der[60] = { 0x30, 0x81, 0x2c, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x82,
			    0x00, 0x21, 0x00 };
	unsigned char b64[100];
	char dir[512], link[600], text[600];

	make_dir(dir, sizeof dir, "keyfiles");
	save_pub(dir, 0, "alice.PUB");
	save_pub(dir, 0, ".alice.pub");
	save_pub(dir, 1, "bob.key");
	snprintf(link, sizeof link, "%s/bob.pub", dir);
	CU_ASSERT_EQUAL_FATAL(symlink("bob.key", link), 0);
	write_file(dir, "._carol.pub", "\x05\x16\x07 not a key\n");
	IB_ASSERT_OK(ib_keyring_load_dir(&kr, dir, NULL, &diag));
	CU_ASSERT_EQUAL(ib_keyring_count(kr), 1);
	CU_ASSERT_PTR_NOT_NULL(ib_keyring_find(kr, ib_pubkey_id(bob)));
	ib_keyring_free(kr);
	kr = NULL;

	/* Explanatory text around the block is read past. */
	CU_ASSERT_EQUAL_FATAL(unlink(link), 0);
	EVP_EncodeBlock(b64, ib_pubkey_spki(bob), IB_SPKI_LEN);
	snprintf(text, sizeof text, "Bob's bot\n-----BEGIN PUBLIC KEY-----\n%s\n"
		 "-----END PUBLIC KEY-----\nchecked by phone\n", b64);
	write_file(dir, "bob.pub", text);
	IB_ASSERT_OK(ib_keyring_load_dir(&kr, dir, NULL, &diag));
	CU_ASSERT_EQUAL(ib_keyring_count(kr), 1);
	ib_keyring_free(kr);
	kr = NULL;

	/* Two blocks; the same key with long-form DER lengths; a directory named x.pub. */
	{
		char two[2 * sizeof text];

		snprintf(two, sizeof two, "%s%s", text, text);
		write_file(dir, "bob.pub", two);
	}
	IB_ASSERT_ERR(ib_keyring_load_dir(&kr, dir, NULL, &diag), IB_ERR_KEY_FILE);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.reason, "more than one PEM block"));
	memcpy(der + 15, ib_pubkey_raw(bob), IB_PUBKEY_LEN);
	EVP_EncodeBlock(b64, der, 15 + IB_PUBKEY_LEN);
	snprintf(text, sizeof text, "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n",
		 b64);
	write_file(dir, "bob.pub", text);
	IB_ASSERT_ERR(ib_keyring_load_dir(&kr, dir, NULL, &diag), IB_ERR_KEY_FILE);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.reason, "44 DER bytes"));
	CU_ASSERT_EQUAL_FATAL(unlink(link), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(link, 0700), 0);
	IB_ASSERT_ERR(ib_keyring_load_dir(&kr, dir, NULL, &diag), IB_ERR_KEY_FILE);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.reason, "not a regular file"));
	CU_ASSERT_PTR_NULL(kr);
	ib_pubkey_free(bob);
}

/* [ID-7] The own key in one file is allowed (and counted once); in two, [ID-4] refuses. */
static void test_own_key_files(void)
{
	struct ib_identity *alice = ib_test_identity(0);
	struct ib_keyring *kr = NULL;
	struct ib_diag diag = {0};
	char dir[512];

	make_dir(dir, sizeof dir, "ownfiles");
	save_pub(dir, 0, "me.pub");
	save_pub(dir, 1, "bob.pub");
	IB_ASSERT_OK(ib_keyring_load_dir(&kr, dir, ib_identity_pubkey(alice), &diag));
	CU_ASSERT_EQUAL(ib_keyring_count(kr), 2);
	ib_keyring_free(kr);
	kr = NULL;
	save_pub(dir, 0, "me-too.pub");
	IB_ASSERT_ERR(ib_keyring_load_dir(&kr, dir, ib_identity_pubkey(alice), &diag),
		      IB_ERR_DUPLICATE_ID);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.file, "me.pub"));
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.reason, "me-too.pub"));
	ib_identity_free(alice);
}

static void test_match_spki_whole_key(void)
{
	struct ib_pubkey *alice = test_pubkey(0), *bob = test_pubkey(1);
	struct ib_identity *stranger = NULL;
	struct ib_keyring *kr = NULL;
	uint8_t der[IB_SPKI_LEN + 1];

	IB_ASSERT_OK(ib_keyring_new(&kr));
	IB_ASSERT_OK(ib_identity_generate(&stranger));
	memcpy(der, ib_pubkey_spki(alice), IB_SPKI_LEN);
	der[IB_SPKI_LEN] = 0;
	IB_ASSERT_OK(ib_keyring_add(kr, alice));

	CU_ASSERT_PTR_EQUAL(ib_keyring_match_spki(kr, der, IB_SPKI_LEN),
	                    ib_keyring_find(kr, ib_pubkey_id(ib_keyring_at(kr, 0))));
	/* A key outside the keyring, a truncated or extended DER, a changed key byte. */
	CU_ASSERT_PTR_NULL(ib_keyring_match_spki(kr, ib_pubkey_spki(bob), IB_SPKI_LEN));
	CU_ASSERT_PTR_NULL(
	    ib_keyring_match_spki(kr, ib_pubkey_spki(ib_identity_pubkey(stranger)), IB_SPKI_LEN));
	CU_ASSERT_PTR_NULL(ib_keyring_match_spki(kr, der, IB_SPKI_LEN - 1));
	CU_ASSERT_PTR_NULL(ib_keyring_match_spki(kr, der, IB_SPKI_LEN + 1));
	CU_ASSERT_PTR_NULL(ib_keyring_match_spki(kr, der, 0));
	CU_ASSERT_PTR_NULL(ib_keyring_match_spki(kr, NULL, IB_SPKI_LEN));
	der[IB_SPKI_LEN - 1] ^= 1;
	CU_ASSERT_PTR_NULL(ib_keyring_match_spki(kr, der, IB_SPKI_LEN));
	der[IB_SPKI_LEN - 1] ^= 1;
	der[0] ^= 1; /* the prefix counts too */
	CU_ASSERT_PTR_NULL(ib_keyring_match_spki(kr, der, IB_SPKI_LEN));

	ib_pubkey_free(bob);
	ib_identity_free(stranger);
	ib_keyring_free(kr);
}

/* The refusal of two different keys under one id_bot ([ID-4]) needs an MD5 collision of two
 * 44-byte SPKIs with the same 12-byte prefix, which nobody can craft: only the other half of
 * the rule, the same key twice, is testable. */
static void test_add_same_key_twice(void)
{
	struct ib_keyring *kr = NULL;

	IB_ASSERT_OK(ib_keyring_new(&kr));
	IB_ASSERT_OK(ib_keyring_add(kr, test_pubkey(0)));
	IB_ASSERT_OK(ib_keyring_add(kr, test_pubkey(0)));
	CU_ASSERT_EQUAL(ib_keyring_count(kr), 1);
	IB_ASSERT_OK(ib_keyring_add(kr, test_pubkey(1)));
	CU_ASSERT_EQUAL(ib_keyring_count(kr), 2);
	/* Ownership is taken even on failure (no leak under ASan / valgrind). */
	IB_ASSERT_ERR(ib_keyring_add(NULL, test_pubkey(2)), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_keyring_add(kr, NULL), IB_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(ib_keyring_count(kr), 2);
	ib_keyring_free(kr);
}

static void test_failed_reload_keeps_old_keyring(void)
{
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct ib_keyring *kr = NULL, *before;
	struct ib_pubkey *bob = test_pubkey(1);
	struct ib_diag diag = {0};
	char dir[512], path[600], missing[600];
	FILE *f;

	make_three_key_dir(dir, sizeof dir, "reload");
	IB_ASSERT_OK(ib_keyring_load_dir(&kr, dir, NULL, &diag));
	CU_ASSERT_PTR_NOT_NULL_FATAL(kr);
	before = kr;

	/* A garbage .pub: the load fails naming it; the old keyring is untouched and works. */
	write_file(dir, "mallory.pub",
	           "-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n");
	snprintf(path, sizeof path, "%s/mallory.pub", dir);
	IB_ASSERT_ERR(ib_keyring_load_dir(&kr, dir, NULL, &diag), IB_ERR_KEY_FILE);
	CU_ASSERT_PTR_EQUAL(kr, before);
	CU_ASSERT_STRING_EQUAL(diag.file, path);
	CU_ASSERT(diag.reason[0] != '\0');
	CU_ASSERT_EQUAL(ib_keyring_count(kr), 3);
	CU_ASSERT_PTR_NOT_NULL(ib_keyring_find(kr, ib_pubkey_id(bob)));
	CU_ASSERT_EQUAL(remove(path), 0);

	/* A key of another algorithm. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(ec);
	snprintf(path, sizeof path, "%s/ec.pub", dir);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(PEM_write_PUBKEY(f, ec), 1);
	fclose(f);
	memset(&diag, 0, sizeof diag);
	IB_ASSERT_ERR(ib_keyring_load_dir(&kr, dir, NULL, &diag), IB_ERR_NOT_ED25519);
	CU_ASSERT_PTR_EQUAL(kr, before);
	CU_ASSERT_STRING_EQUAL(diag.file, path);
	CU_ASSERT_EQUAL(remove(path), 0);

	/* A directory that does not exist. */
	snprintf(missing, sizeof missing, "%s/absent", dir);
	memset(&diag, 0, sizeof diag);
	IB_ASSERT_ERR(ib_keyring_load_dir(&kr, missing, NULL, &diag), IB_ERR_IO);
	CU_ASSERT_PTR_EQUAL(kr, before);
	CU_ASSERT_STRING_EQUAL(diag.file, missing);

	/* Fixed: the reload succeeds and replaces the keyring. */
	IB_ASSERT_OK(ib_keyring_load_dir(&kr, dir, NULL, &diag));
	CU_ASSERT_PTR_NOT_EQUAL(kr, before);
	CU_ASSERT_EQUAL(ib_keyring_count(kr), 3);
	ib_keyring_free(before);
	ib_keyring_free(kr);
	ib_pubkey_free(bob);
	EVP_PKEY_free(ec);
}

static void digest_hex(const struct ib_keyring *kr, char out[65])
{
	uint8_t d[32];

	IB_ASSERT_OK(ib_keyring_digest(kr, d));
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_keys_digest(void)
{
	/* SHA-256(bob || alice || carol): the raw keys of RFC 8032 TEST 2, 1, 3 are in that
	 * ascending order (3d.. < d7.. < fc..); computed with `openssl dgst -sha256`. */
	static const char want[] =
	    "937796d48a3acfef1f972c55e63650ce3386d18f4ef083c8e663fc2e0878553c";
	static const char empty[] =
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	static const int orders[3][3] = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}};
	char hex[65];

	for (int o = 0; o < 3; o++) {
		struct ib_keyring *kr = NULL;

		IB_ASSERT_OK(ib_keyring_new(&kr));
		digest_hex(kr, hex);
		CU_ASSERT_STRING_EQUAL(hex, empty);
		for (int i = 0; i < 3; i++)
			IB_ASSERT_OK(ib_keyring_add(kr, test_pubkey(orders[o][i])));
		digest_hex(kr, hex);
		CU_ASSERT_STRING_EQUAL(hex, want);
		ib_keyring_free(kr);
	}
}

static void test_keys_digest_own_key_and_subset(void)
{
	struct ib_identity *carol = ib_test_identity(2);
	struct ib_keyring *kr = NULL;
	char dir[512], a[65], b[65];

	/* authorized/ = alice, bob; own = carol: the same set as the three keys. */
	make_dir(dir, sizeof dir, "digest");
	save_pub(dir, 0, "alice.pub");
	save_pub(dir, 1, "bob.pub");
	IB_ASSERT_OK(ib_keyring_load_dir(&kr, dir, ib_identity_pubkey(carol), NULL));
	digest_hex(kr, a);
	CU_ASSERT_STRING_EQUAL(a,
	                       "937796d48a3acfef1f972c55e63650ce3386d18f4ef083c8e663fc2e0878553c");
	ib_keyring_free(kr);
	kr = NULL;
	IB_ASSERT_OK(ib_keyring_load_dir(&kr, dir, NULL, NULL));
	digest_hex(kr, b);
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	ib_keyring_free(kr);
	ib_identity_free(carol);
}

/* Thousands of keys: every one found by its id, none by a missing one. */
static void test_many_keys(void)
{
	enum { N = 2000 };
	struct ib_keyring *kr = NULL;
	uint8_t raw[IB_PUBKEY_LEN];

	IB_ASSERT_OK(ib_keyring_new(&kr));
	for (unsigned i = 0; i < N; i++) {
		struct ib_pubkey *k = NULL;

		memset(raw, 0x11, sizeof raw);
		memcpy(raw, &i, sizeof i);
		IB_ASSERT_OK(ib_pubkey_from_raw(&k, raw));
		IB_ASSERT_OK(ib_keyring_add(kr, k));
	}
	CU_ASSERT_EQUAL_FATAL(ib_keyring_count(kr), N);
	for (size_t i = 0; i < N; i++) {
		const struct ib_pubkey *k = ib_keyring_at(kr, i);

		if (ib_keyring_find(kr, ib_pubkey_id(k)) != k)
			CU_FAIL("a key is not found by its own id");
		if (i &&
		    ib_id_compare(ib_pubkey_id(ib_keyring_at(kr, i - 1)), ib_pubkey_id(k)) >= 0)
			CU_FAIL("keys are not in ascending id order");
		if (ib_keyring_match_spki(kr, ib_pubkey_spki(k), IB_SPKI_LEN) != k)
			CU_FAIL("a key does not match its own SPKI");
	}
	{
		struct ib_pubkey *outside = test_pubkey(0);

		CU_ASSERT_PTR_NULL(ib_keyring_find(kr, ib_pubkey_id(outside)));
		ib_pubkey_free(outside);
	}
	ib_keyring_free(kr);
}

static const struct ib_test_case cases[] = {
    IB_TEST(test_load_dir_three_keys, "MEMBER-1 IFACE-1"),
    IB_TEST(test_load_dir_adds_own_key, "MEMBER-1"),
    IB_TEST(test_same_id_in_two_files_refused, "ID-4 MEMBER-3"),
    IB_TEST(test_shared_keyring_refcount, ""),
    IB_TEST(test_non_pub_files_ignored, "IFACE-1"),
    IB_TEST(test_match_spki_whole_key, "ID-3 TLS-4"),
    IB_TEST(test_key_files, "IFACE-14 IFACE-15"),
    IB_TEST(test_own_key_files, "ID-7 ID-4"),
    IB_TEST(test_add_same_key_twice, ""),
    IB_TEST(test_failed_reload_keeps_old_keyring, "MEMBER-3"),
    IB_TEST(test_keys_digest, ""),
    IB_TEST(test_keys_digest_own_key_and_subset, "MEMBER-1"),
    IB_TEST(test_many_keys, ""),
    IB_TEST_END};

const struct ib_test_suite ib_suite_keyring = {"keyring", NULL, NULL, cases};
