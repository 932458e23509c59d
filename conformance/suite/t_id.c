/*
 * t_id.c - identity (spec section 3): the IUT signs what it sends with its own key, over the
 * message bytes, and names itself by the MD5 of its SubjectPublicKeyInfo.
 */
#include "cf.h"

#include <openssl/evp.h>

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

const struct cf_test cf_tests_id[] = {
	{ "id.own-signature", "ID-1 FRAME-1", 0, test_own_signature,
	  "Every frame the IUT originates (HELLO, RESULT, PUBLISH) is signed with its own key over "
	  "the message bytes exactly" },
	{ "id.id-bot-is-md5", "ID-2", 0, test_id_bot_is_md5,
	  "The id_bot the IUT puts in its frames is the MD5 of its key's DER SubjectPublicKeyInfo "
	  "(44 bytes)" },
	{ NULL, NULL, 0, NULL, NULL }
};
