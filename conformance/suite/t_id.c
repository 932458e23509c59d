/*
 * t_id.c - identity (spec section 3): the IUT signs what it sends with its own key, over the
 * message bytes, and names itself by the MD5 of its SubjectPublicKeyInfo.
 */
#include "cf.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <sys/stat.h>

/* The frames the IUT originates toward one tester: its HELLO, RESULTs and a PUBLISH. */
static bool collect_own_frames(struct cf_ctx *c, struct hn_peer **out)
{
	struct hn_peer *p;
	uint16_t status;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !cf_command(c, p, NULL, "ib.ping", NULL, 0, &status, NULL) ||
	    !cf_iut_publish(c, p, "id.signed", "by the IUT", NULL) ||
	    !cf_wait_type(c, p, IB_MSG_PUBLISH, 1, 2000))
		return false;
	*out = p;
	return true;
}

/* [ID-1] [FRAME-1] Verified here with the key the suite gave the IUT (not the runner's
 * keyring check, which accepts any member): origin, then signature over the message. */
static void test_own_signature(struct cf_ctx *c)
{
	struct hn_peer *p;
	size_t own = 0;

	if (!collect_own_frames(c, &p))
		return;
	for (size_t i = 0; i < hn_peer_received(p); i++) {
		const struct hn_got *g = hn_peer_got(p, i);
		struct ib_frame f;

		if (ib_frame_parse(&f, g->raw.ptr, g->raw.len, IB_MAX_MESSAGE_LIMIT) != IB_OK ||
		    !ib_id_equal(&f.origin, cf_iut_id(c)))
			continue;
		own++;
		if (!cf_expect(c, ib_pubkey_verify(cf_iut_key(c), f.msg.ptr, f.msg.len, f.sig.ptr,
						   f.sig.len) == IB_OK, "ID-1",
			       "every frame of the IUT's own carries its Ed25519 signature of the "
			       "message bytes, by its identity key",
			       "its %s frame (frame %zu) does not verify with that key",
			       ib_msg_type_name(g->type), i))
			return;
	}
	cf_expect(c, own >= 3, "ID-1", "HELLO, a RESULT and a PUBLISH come from the IUT's id_bot",
		  "only %zu frames name the IUT as origin", own);
}

/* [ID-2] The id_bot in the IUT's frames is MD5(SPKI DER) of its key, computed here from the
 * 44 bytes, not by the library under test. */
static void test_id_bot_is_md5(struct cf_ctx *c)
{
	struct hn_peer *p;
	struct ib_frame f;
	struct ib_msg m;
	uint8_t md5[16];
	unsigned len = sizeof md5;
	char want[33], got[33];

	if (!collect_own_frames(c, &p))
		return;
	EVP_Digest(ib_pubkey_spki(cf_iut_key(c)), IB_SPKI_LEN, md5, &len, EVP_md5(), NULL);
	ib_hex_encode(md5, sizeof md5, want);
	for (size_t i = 0; i < hn_peer_received(p); i++) {
		if (!cf_got_msg(p, i, &f, &m) || m.h.type != IB_MSG_HELLO)
			continue;
		ib_hex_encode(f.origin.b, IB_ID_LEN, got);
		cf_expect(c, !memcmp(f.origin.b, md5, sizeof md5), "ID-2",
			  "the HELLO's id_bot is the MD5 of the DER SubjectPublicKeyInfo of the "
			  "IUT's key", "id_bot %s, MD5(SPKI) %s", got, want);
		return;
	}
	cf_expect(c, false, "ID-2", "the IUT sends HELLO", "no HELLO was decoded");
}

/* chmod DIR/rel (rel NULL: DIR itself); a harness error when it fails. */
static bool set_mode(struct cf_ctx *c, const char *rel, mode_t mode)
{
	char path[800];

	snprintf(path, sizeof path, "%s%s%s", cf_iut_dir(c), rel ? "/" : "", rel ? rel : "");
	if (chmod(path, mode) == 0)
		return true;
	cf_harness_error(c, "cannot chmod %s", path);
	return false;
}

/* Restarted on the directory as it is now, the IUT must link a tester and answer it. */
static bool starts_and_answers(struct cf_ctx *c, int tester, const char *what)
{
	struct hn_peer *p;
	uint16_t status;

	return cf_iut_restart_accepted(c, "ID-6", what) && (p = cf_peer(c, tester)) &&
	       cf_link_child(c, p) && cf_command(c, p, NULL, "ib.ping", NULL, 0, &status, NULL);
}

/* [ID-6] The owner's bits and the directories are the owner's business: identity.key mode
 * 0700 in a directory others can read (0755, authorized/ too), then mode 0400, start. The
 * refusals (0640 here; group or other execute bits in ci/test-run) are the other side. */
static void test_key_mode_owner_bits(struct cf_ctx *c)
{
	if (!cf_iut_start(c, NULL) || !set_mode(c, "identity.key", 0700) ||
	    !set_mode(c, NULL, 0755) || !set_mode(c, "authorized", 0755) ||
	    !starts_and_answers(c, 0, "identity.key mode 0700 in a directory of mode 0755 is "
				"accepted: only the bits 0077 of the key file refuse it") ||
	    !set_mode(c, "identity.key", 0400))
		return;
	starts_and_answers(c, 1, "identity.key mode 0400 is accepted");
}

/* ---- Issue 12: key modes, the own key, identity.key and identity.crt --------------------- */

#define PEM_CAP 2048

/* [ID-5] [ID-6] [IFACE-9] Any bit of 0077 refuses identity.key, execute bits too; the
 * refusal names the file and ends in an exit status other than 0 and 69. */
static void test_key_mode_refused(struct cf_ctx *c)
{
	static const unsigned modes[] = { 0640, 0604, 0620, 0602, 0610, 0601, 0710 };
	struct cf_refusal r;

	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		struct cf_bad_start b = { .key_mode = modes[i] };
		bool refused = cf_iut_start_refused(c, &b, &r);

		if (!cf_ok(c))
			return;
		if (!cf_expect(c, refused, "ID-6",
			       "identity.key with any bit of 0077 set (read, write or execute for "
			       "group or others) stops the start",
			       "it started with identity.key mode %04o", modes[i]) ||
		    !cf_expect(c, strstr(r.why, "identity.key") != NULL, "IFACE-9",
			       "the refusal names identity.key",
			       "for mode %04o it said: %.300s", modes[i], r.why))
			return;
		cf_note(c, "mode %04o refused (exit status %d): %.200s", modes[i], r.status, r.why);
	}
}

/* A start the spec says the IUT must accept: a refusal fails req. */
static bool starts(struct cf_ctx *c, const struct cf_bad_start *b, const char *req,
		   const char *what)
{
	struct cf_refusal r;

	if (cf_iut_start_refused(c, b, &r))
		return cf_expect(c, false, req, what, "it refused to start: %.400s", r.why);
	return cf_ok(c);
}

static bool has_text(const struct ib_buf *out, const char *text)
{
	size_t n = strlen(text);

	for (size_t i = 0; i + n <= out->len; i++)
		if (!memcmp(out->ptr + i, text, n))
			return true;
	return false;
}

/* [ID-7] The IUT's own key in authorized/me.pub: it starts, and keys_digest counts the key
 * once. In me.pub and me-too.pub, two files of one key: refused, both named ([ID-4]). (The
 * other half of [ID-7], another key with the own id_bot, needs an MD5 collision.) */
static void test_own_key_authorized(struct cf_ctx *c)
{
	static char me[PEM_CAP];
	const struct cf_iut_file once[] = { { .name = "authorized/me.pub", .text = me } };
	const struct cf_iut_file twice[] = { { .name = "authorized/me.pub", .text = me },
					     { .name = "authorized/me-too.pub", .text = me } };
	struct cf_bad_start one = { .files = once, .nfiles = 1 }, two = { .files = twice,
									.nfiles = 2 };
	struct ib_buf out = { 0 };
	struct cf_refusal r;
	struct hn_peer *p;
	uint16_t status = 0;
	char want[65], line[100];
	bool refused;

	cf_pem("PUBLIC KEY", ib_pubkey_spki(cf_iut_key(c)), IB_SPKI_LEN, me, PEM_CAP);
	if (!starts(c, &one, "ID-7", "the IUT starts with its own key in authorized/me.pub") ||
	    !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !cf_command(c, p, NULL, "ib.info", NULL, 0, &status, &out))
		goto out;
	cf_keys_digest(c, 0, want);
	snprintf(line, sizeof line, "keys_digest=%s\n", want);
	if (!cf_expect(c, status == IB_STATUS_OK && out.len >= strlen(line) &&
		       has_text(&out, line), "ID-7",
		       "its own key, in authorized/ too, is in the keyring once: keys_digest counts "
		       "it once",
		       "ib.info answered %s: %.*s (expected %s)", ib_status_name(status),
		       (int)(out.len > 600 ? 600 : out.len), (const char *)out.ptr, line) ||
	    !cf_iut_stop(c))
		goto out;
	refused = cf_iut_start_refused(c, &two, &r);
	if (!cf_ok(c) ||
	    !cf_expect(c, refused, "ID-4", "its own key in two files of authorized/ stops the start",
		       "it started with its key in me.pub and me-too.pub"))
		goto out;
	cf_expect(c, strstr(r.why, "me.pub") && strstr(r.why, "me-too.pub"), "IFACE-9",
		  "the refusal names both files", "it said: %.300s", r.why);
out:
	ib_buf_free(&out);
}

/* The DER of a PKCS#8 Ed25519 key: version 0 (v1) or 1 (v2), attributes (a friendlyName)
 * when attrs, the publicKey field when pub; returns its length. */
static size_t pkcs8_der(uint8_t *der, int version, const uint8_t secret[32], bool attrs,
			const uint8_t *pub)
{
	static const uint8_t alg[] = { 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70 };
	static const uint8_t friendly[] = { 0xa0, 0x17, 0x30, 0x15, 0x06, 0x09, 0x2a, 0x86, 0x48,
					    0x86, 0xf7, 0x0d, 0x01, 0x09, 0x14, 0x31, 0x08, 0x1e,
					    0x06, 0x00, 0x69, 0x00, 0x75, 0x00, 0x74 };
	size_t n = 2;

	der[n++] = 0x02, der[n++] = 0x01, der[n++] = (uint8_t)version;
	memcpy(der + n, alg, sizeof alg), n += sizeof alg;
	der[n++] = 0x04, der[n++] = 0x22, der[n++] = 0x04, der[n++] = 0x20;
	memcpy(der + n, secret, 32), n += 32;
	if (attrs)
		memcpy(der + n, friendly, sizeof friendly), n += sizeof friendly;
	if (pub) {
		der[n++] = 0x81, der[n++] = 0x21, der[n++] = 0x00;
		memcpy(der + n, pub, 32), n += 32;
	}
	der[0] = 0x30, der[1] = (uint8_t)(n - 2);
	return n;
}

/* The IUT's key encrypted with a password, as `openssl pkcs8 -topk8 -v2 aes-256-cbc`. */
static bool encrypted_pem(const uint8_t secret[32], char *out, size_t cap)
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, secret, 32);
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long len;
	bool ok = k && b &&
		  PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_256_cbc(), "secret", 6, NULL,
						NULL) == 1 &&
		  (len = BIO_get_mem_data(b, &data)) > 0 && (size_t)len < cap;

	if (ok)
		snprintf(out, cap, "%.*s", (int)len, data);
	BIO_free(b);
	EVP_PKEY_free(k);
	return ok;
}

/* [IFACE-16] identity.key as PKCS#8 version 2 with an attribute and its publicKey: the IUT
 * starts and signs with that key. A publicKey of another key, an encrypted key, two blocks:
 * each stops the start, naming identity.key. */
static void test_key_pkcs8(struct cf_ctx *c)
{
	static char v2[PEM_CAP], other_pub[PEM_CAP], encrypted[4 * PEM_CAP], two[2 * PEM_CAP];
	const struct {
		const char *text, *what;
	} bad[] = {
		{ other_pub, "version 2 whose publicKey is another key" },
		{ encrypted, "an ENCRYPTED PRIVATE KEY" },
		{ two, "two PRIVATE KEY blocks (version 1)" },
	};
	uint8_t secret[32], der[160];
	struct cf_iut_file key = { .name = "identity.key", .text = v2 };
	struct cf_bad_start b = { .files = &key, .nfiles = 1 };
	struct hn_peer *p;
	struct ib_frame f;
	struct ib_msg m;
	struct cf_refusal r;
	size_t n;
	bool signed_ok = false;

	cf_iut_secret(c, secret);
	n = pkcs8_der(der, 1, secret, true, ib_pubkey_raw(cf_iut_key(c)));
	cf_pem("PRIVATE KEY", der, n, v2, PEM_CAP);
	n = pkcs8_der(der, 1, secret, false,
		      ib_pubkey_raw(ib_identity_pubkey(cf_tester_identity(c, CF_STRANGER))));
	cf_pem("PRIVATE KEY", der, n, other_pub, PEM_CAP);
	n = pkcs8_der(der, 0, secret, false, NULL);
	cf_pem("PRIVATE KEY", der, n, two, PEM_CAP);
	cf_pem("PRIVATE KEY", der, n, two + strlen(two), PEM_CAP);
	if (!encrypted_pem(secret, encrypted, sizeof encrypted)) {
		OPENSSL_cleanse(secret, sizeof secret);
		cf_harness_error(c, "cannot encrypt a key");
		return;
	}
	OPENSSL_cleanse(secret, sizeof secret);
	if (!starts(c, &b, "IFACE-16", "the IUT starts with identity.key as PKCS#8 version 2, "
		    "with attributes and its publicKey") ||
	    !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		return;
	for (size_t i = 0; i < hn_peer_received(p) && !signed_ok; i++)
		signed_ok = cf_got_msg(p, i, &f, &m) && m.h.type == IB_MSG_HELLO &&
			    ib_id_equal(&f.origin, cf_iut_id(c)) &&
			    ib_pubkey_verify(cf_iut_key(c), f.msg.ptr, f.msg.len, f.sig.ptr,
					     f.sig.len) == IB_OK;
	if (!cf_expect(c, signed_ok, "IFACE-16",
		       "its HELLO is signed with the key of the version 2 identity.key",
		       "no HELLO of its id_bot verifies with that key") ||
	    !cf_iut_stop(c))
		return;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		bool refused;

		key.text = bad[i].text;
		refused = cf_iut_start_refused(c, &b, &r);
		if (!cf_ok(c) ||
		    !cf_expect(c, refused, "IFACE-16", "identity.key that is not one unencrypted "
			       "PKCS#8 key, consistent with itself, stops the start",
			       "it started with %s", bad[i].what) ||
		    !cf_expect(c, strstr(r.why, "identity.key") != NULL, "IFACE-9",
			       "the refusal names identity.key", "for %s it said: %.300s",
			       bad[i].what, r.why))
			return;
	}
}

/* [IFACE-17] identity.crt of another key, then no identity.crt: the IUT either refuses to
 * start naming identity.crt, or starts and links with the key of identity.key; never starts
 * presenting the other key. */
static void test_crt_other_key(struct cf_ctx *c)
{
	const struct cf_iut_file files[] = {
		{ .name = "identity.crt", .cert_of = cf_tester_identity(c, CF_STRANGER) },
		{ .name = "identity.crt", .remove = true },
	};
	static const char *const what[] = { "identity.crt holds another key",
					     "there is no identity.crt" };

	for (size_t i = 0; i < 2; i++) {
		struct cf_bad_start b = { .files = &files[i], .nfiles = 1 };
		struct cf_refusal r;
		bool accepted = false;

		if (cf_iut_start_refused(c, &b, &r)) {
			if (!cf_expect(c, strstr(r.why, "identity.crt") != NULL, "IFACE-17",
				       "a node that refuses for identity.crt names it",
				       "when %s it refused, saying: %.300s", what[i], r.why))
				return;
			cf_note(c, "refused when %s: %.200s", what[i], r.why);
			continue;
		}
		if (!cf_ok(c) || !cf_try_link(c, cf_peer(c, 0), &accepted) ||
		    !cf_expect(c, accepted, "IFACE-17",
			       "a node that starts presents a certificate of identity.key's key: "
			       "a tester links",
			       "when %s it started, and T0 could not link", what[i]) ||
		    !cf_iut_stop(c))
			return;
	}
}

const struct cf_test cf_tests_id[] = {
	{ "id.own-signature", "ID-1 FRAME-1", 0, test_own_signature,
	  "Every frame the IUT originates (HELLO, RESULT, PUBLISH) is signed with its own key over "
	  "the message bytes exactly" },
	{ "id.id-bot-is-md5", "ID-2", 0, test_id_bot_is_md5,
	  "The id_bot the IUT puts in its frames is the MD5 of its key's DER SubjectPublicKeyInfo "
	  "(44 bytes)" },
	{ "id.key-mode-owner-bits", "ID-6 ID-5", CF_NEEDS_CONFIG | CF_NEEDS_RESTART,
	  test_key_mode_owner_bits,
	  "start with identity.key mode 0700 in a directory of mode 0755, and with mode 0400: "
	  "only group and other bits refuse a key" },
	{ "id.key-mode-refused", "ID-6 ID-5 IFACE-9", CF_NEEDS_CONFIG, test_key_mode_refused,
	  "identity.key modes 0640, 0604, 0620, 0602, 0610, 0601, 0710 each stop the start, "
	  "naming the file, with an exit status other than 0 and 69" },
	{ "id.own-key-authorized", "ID-7 ID-4 IFACE-9", CF_NEEDS_CONFIG | CF_NEEDS_RESTART,
	  test_own_key_authorized,
	  "the own key in authorized/me.pub is allowed and counted once in keys_digest; in two "
	  "files it stops the start, naming both" },
	{ "id.key-pkcs8", "IFACE-16 IFACE-9", CF_NEEDS_CONFIG | CF_NEEDS_RESTART, test_key_pkcs8,
	  "identity.key as PKCS#8 version 2 (attributes, publicKey) is read; a wrong publicKey, "
	  "an encrypted key, two blocks stop the start" },
	{ "id.crt-other-key", "IFACE-17 IFACE-13", CF_NEEDS_CONFIG | CF_NEEDS_RESTART,
	  test_crt_other_key,
	  "identity.crt of another key, or none: refuse to start naming it, or start and present "
	  "the key of identity.key" },
	{ NULL, NULL, 0, NULL, NULL }
};
