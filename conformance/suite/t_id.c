/*
 * t_id.c - identity (spec section 3): the IUT signs what it sends with its own key, over the
 * message bytes, and names itself by the MD5 of its SubjectPublicKeyInfo.
 */
#include "cf.h"

#include <openssl/evp.h>
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
	{ NULL, NULL, 0, NULL, NULL }
};
