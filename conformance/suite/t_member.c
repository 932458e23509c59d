/* t_member.c - membership (spec section 12): the keyring is authorized/ plus the node's own
 * key, a reload revokes removed keys at once (links and frames), and a failed reload changes
 * nothing. */
#include "cf.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define MB_WAIT_MS 2000u
#define MB_HANDSHAKE_END_MS 200u
#define MB_MAX_KEYS (CF_TESTERS + CF_REFS + 1)

static int raw_key_order(const void *a, const void *b)
{
	return memcmp(a, b, IB_PUBKEY_LEN);
}

/* keys_digest as section 15 defines it, computed here from the keys the suite put in
 * authorized/ (all but the untrusted testers) and the IUT's own key, as 64 hex digits. */
static bool expected_digest(struct cf_ctx *c, unsigned untrusted_testers, char hex[65])
{
	uint8_t raw[MB_MAX_KEYS][IB_PUBKEY_LEN], md[32];
	const struct ib_pubkey *own = ib_keyring_find(cf_suite_keyring(c), cf_iut_id(c));
	unsigned md_len = 0;
	size_t n = 0;

	if (!own)
		return false;
	for (int i = 0; i < CF_TESTERS; i++)
		if (!(untrusted_testers & (1u << i)))
			memcpy(raw[n++], ib_pubkey_raw(ib_identity_pubkey(cf_tester_identity(c, i))),
			       IB_PUBKEY_LEN);
	for (int i = 0; i < CF_REFS; i++)
		memcpy(raw[n++], ib_pubkey_raw(ib_identity_pubkey(cf_ref_identity(c, i))),
		       IB_PUBKEY_LEN);
	memcpy(raw[n++], ib_pubkey_raw(own), IB_PUBKEY_LEN);
	qsort(raw, n, IB_PUBKEY_LEN, raw_key_order);
	if (EVP_Digest(raw, n * IB_PUBKEY_LEN, md, &md_len, EVP_sha256(), NULL) != 1)
		return false;
	ib_hex_encode(md, sizeof md, hex);
	return true;
}

/* The value of the keys_digest= line of ib.info, in hex (65 bytes). */
static bool info_digest(struct cf_ctx *c, struct hn_peer *p, char hex[65])
{
	struct ib_buf out = { 0 };
	uint16_t status = 0;
	bool ok = false;

	hex[0] = 0;
	if (!cf_command(c, p, NULL, "ib.info", NULL, 0, &status, &out))
		goto out;
	if (!cf_expect(c, status == IB_STATUS_OK, "CMD-3", "ib.info answers ok", "status %s",
		       ib_status_name(status)))
		goto out;
	for (size_t i = 0; i + 12 <= out.len; i++)
		if ((i == 0 || out.ptr[i - 1] == '\n') && !memcmp(out.ptr + i, "keys_digest=", 12)) {
			size_t n = 0;

			while (i + 12 + n < out.len && out.ptr[i + 12 + n] != '\n' && n < 64)
				n++;
			memcpy(hex, out.ptr + i + 12, n);
			hex[n] = 0;
			break;
		}
	ok = true;
out:
	ib_buf_free(&out);
	return ok;
}

static bool digest_is(struct cf_ctx *c, struct hn_peer *p, unsigned untrusted_testers,
		      const char *req, const char *expected)
{
	char want[65], got[65];

	if (!expected_digest(c, untrusted_testers, want)) {
		cf_harness_error(c, "cannot compute the expected keys_digest");
		return false;
	}
	if (!info_digest(c, p, got))
		return false;
	return cf_expect(c, !strcmp(got, want), req, expected, "keys_digest=%s (wanted %s)",
			 got[0] ? got : "(no such line)", want);
}

/* Whether p received a PUBLISH of key. */
static bool got_key(struct hn_peer *p, const char *key)
{
	struct ib_frame f;
	struct ib_msg m;

	for (size_t i = 0; i < hn_peer_received(p); i++)
		if (hn_peer_got(p, i)->type == IB_MSG_PUBLISH && cf_got_msg(p, i, &f, &m) &&
		    m.u.publish.key.len == strlen(key) &&
		    !memcmp(m.u.publish.key.ptr, key, m.u.publish.key.len))
			return true;
	return false;
}

struct key_wait {
	struct hn_peer *p;
	const char *key;
};

static bool key_arrived(void *arg)
{
	const struct key_wait *kw = arg;

	return got_key(kw->p, kw->key) || hn_peer_closed(kw->p);
}

/* Sends over `via` a PUBLISH of key written by `writer` (an origin the IUT must now drop),
 * then a PUBLISH of `via` itself as the sentinel; `watcher` must get the sentinel only, and
 * the IUT must not have stored the first. */
static bool origin_dropped(struct cf_ctx *c, struct hn_peer *via, struct hn_peer *watcher,
			   const struct ib_identity *writer, const char *key, const char *req)
{
	struct key_wait kw = { watcher, "member.sentinel" };
	struct ib_slice arg = { (const uint8_t *)key, strlen(key) };
	uint16_t status = 0;
	struct ib_msg m;

	cf_msg_publish(&m, key, 1, "from a key not in the keyring");
	if (hn_peer_send(via, &m, writer, NULL, false, NULL) != IB_OK)
		goto harness;
	cf_msg_publish(&m, "member.sentinel", 1, "sentinel");
	if (hn_peer_send(via, &m, NULL, NULL, false, NULL) != IB_OK)
		goto harness;
	if (!cf_wait(c, key_arrived, &kw, MB_WAIT_MS, "the sentinel PUBLISH is flooded") ||
	    !cf_expect(c, got_key(watcher, kw.key), "FLOOD-1",
		       "a PUBLISH from an authorized origin is flooded to the other child",
		       "that child's link closed first") ||
	    !cf_expect(c, !got_key(watcher, key), req,
		       "a frame whose origin is not in the keyring is dropped, not forwarded",
		       "it was forwarded to another child") ||
	    !cf_command(c, via, NULL, "ib.get", &arg, 1, &status, NULL))
		return false;
	return cf_expect(c, status == IB_STATUS_NOT_FOUND, req,
			 "a PUBLISH whose writer is not in the keyring is not stored",
			 "ib.get answered %s", ib_status_name(status));
harness:
	cf_harness_error(c, "cannot send PUBLISH");
	return false;
}

/* The IUT must refuse p: no HELLO back, the connection closed (at TLS or after HELLO). */
static bool settled_or_hello(void *arg)
{
	struct hn_peer *p = arg;

	return hn_peer_closed(p) || hn_peer_count(p, IB_MSG_HELLO) > 0;
}

static bool closed(void *arg)
{
	return hn_peer_closed(arg);
}

static bool tls_settled(void *arg)
{
	struct hn_peer *p = arg;

	return hn_peer_closed(p) || hn_peer_tls_open(p);
}

static bool link_refused(struct cf_ctx *c, struct hn_peer *p, const char *req)
{
	if (hn_peer_connect_to(p, cf_iut_host(c), cf_iut_port(c)) != IB_OK) {
		cf_harness_error(c, "cannot connect to the IUT");
		return false;
	}
	if (!cf_wait(c, tls_settled, p, MB_WAIT_MS, "the TLS handshake ends"))
		return false;
	if (!hn_peer_closed(p) &&
	    hn_peer_send_hello(p, IB_ROLE_SERVER, 30000, NULL, 0) != IB_OK) {
		cf_harness_error(c, "cannot send HELLO");
		return false;
	}
	if (!cf_wait(c, settled_or_hello, p, MB_WAIT_MS,
		     "the IUT closes a connection from a removed key"))
		return false;
	return cf_expect(c, hn_peer_count(p, IB_MSG_HELLO) == 0, req,
			 "no link with a peer whose key is not in the keyring",
			 "the IUT answered its HELLO");
}

/* [MEMBER-1] authorized/ without T5: keys_digest covers exactly the other suite keys and the
 * IUT's own; T5's frames are dropped although T5's key is known to the rest of the tree. */
static void test_keyring_is_authorized(struct cf_ctx *c)
{
	struct cf_iut_opts o = { .untrusted_testers = 1u << 5 };
	struct hn_peer *p, *watcher;

	if (!cf_iut_start(c, &o) || !(p = cf_peer(c, 0)) || !(watcher = cf_peer(c, 1)) ||
	    !cf_link_child(c, p) || !cf_link_child(c, watcher) ||
	    !digest_is(c, p, 1u << 5, "MEMBER-1",
		       "keys_digest = SHA-256 of the sorted raw keys of authorized/ + its own"))
		return;
	origin_dropped(c, p, watcher, cf_tester_identity(c, 5), "member.by-t5", "MEMBER-1");
}

/* [MEMBER-2] [MEMBER-4] A reload without T1 closes T1's link with `revoked` at once and
 * only that link; T1's frames relayed by T0 are dropped; the digest follows; T1 cannot link
 * again. */
static void test_revoke(struct cf_ctx *c)
{
	struct hn_peer *p, *revoked, *watcher, *again;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !(revoked = cf_peer(c, 1)) ||
	    !(watcher = cf_peer(c, 2)) || !cf_link_child(c, p) || !cf_link_child(c, revoked) ||
	    !cf_link_child(c, watcher) || !cf_iut_reload(c, 1u << 1, 0) ||
	    !cf_wait_closed(c, revoked, IB_EC_REVOKED, "MEMBER-2", MB_WAIT_MS))
		return;
	if (!cf_expect(c, !hn_peer_closed(p) && !hn_peer_closed(watcher), "MEMBER-2",
		       "only the removed key's link is closed", "another tester's link closed") ||
	    !origin_dropped(c, p, watcher, cf_tester_identity(c, 1), "member.by-t1", "MEMBER-2") ||
	    !digest_is(c, p, 1u << 1, "MEMBER-1", "keys_digest no longer covers the removed key") ||
	    !(again = cf_peer(c, 1)))
		return;
	link_refused(c, again, "MEMBER-4");
}

/* [MEMBER-5] T1 has finished TLS but not sent HELLO (its connection is in HELLO-WAIT at the
 * IUT) when a reload removes its key: that connection closes at once with `revoked`, as an
 * open link would. A node that revokes only open links would answer T1's HELLO later. */
static void test_revoke_in_hello_wait(struct cf_ctx *c)
{
	struct hn_peer *p, *waiting;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !(waiting = cf_peer(c, 1)) ||
	    !cf_link_child(c, p) || !cf_connect(c, waiting))
		return;
	/* The IUT's handshake ends when it reads the tester's Finished, one flight after the
	 * tester's did, and nothing on the wire shows it: 200 ms (virtual in self mode) for that
	 * read, or the reload would meet a handshake still running ([TLS-4] then refuses T1 with
	 * an alert, not ERROR revoked). */
	cf_run_for(c, MB_HANDSHAKE_END_MS);
	if (!cf_iut_reload(c, 1u << 1, 0) ||
	    !cf_wait_closed(c, waiting, IB_EC_REVOKED, "MEMBER-5", MB_WAIT_MS))
		return;
	cf_expect(c, !hn_peer_closed(p), "MEMBER-2", "only the removed key's connection is closed",
		  "T0's link closed too");
}

/* A PEM public key file for k: what an owner puts in authorized/. */
static bool pem_of(const struct ib_pubkey *k, char *out, size_t cap)
{
	unsigned char b64[128];
	int n = EVP_EncodeBlock(b64, ib_pubkey_spki(k), IB_SPKI_LEN);

	return n > 0 && (size_t)snprintf(out, cap, "-----BEGIN PUBLIC KEY-----\n%s\n"
					 "-----END PUBLIC KEY-----\n", b64) < cap;
}

/* [MEMBER-3] A reload that meets a malformed file (and would have removed T1) changes
 * nothing: T1 stays linked, the digest stays, an authorized tester still links. Then the file
 * is mended (it holds T5's key, whose own file goes): the reload works and T1 is revoked,
 * which shows the first reload was seen. */
static void test_failed_reload(struct cf_ctx *c)
{
	struct hn_peer *p, *kept, *late;
	char pem[256];

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !(kept = cf_peer(c, 1)) ||
	    !cf_link_child(c, p) || !cf_link_child(c, kept) ||
	    !cf_iut_put_authorized(c, "broken.pub", "-----BEGIN PUBLIC KEY-----\nnot base64!\n"
				   "-----END PUBLIC KEY-----\n") ||
	    !cf_iut_reload(c, 1u << 1, 0))
		return;
	cf_run_until(c, closed, kept, 300);  /* a wrong revocation comes at once */
	if (!cf_expect(c, !hn_peer_closed(kept), "MEMBER-3",
		       "a failed reload keeps the previous keyring: T1's link stays",
		       "T1's link closed (ERROR %s)",
		       hn_peer_last(kept, IB_MSG_ERROR)
			       ? ib_error_code_name(hn_peer_last(kept, IB_MSG_ERROR)->error_code)
			       : "none") ||
	    !digest_is(c, p, 0, "MEMBER-3", "keys_digest unchanged after a failed reload") ||
	    !(late = cf_peer(c, 2)) || !cf_link_child(c, late))
		return;
	if (!pem_of(ib_identity_pubkey(cf_tester_identity(c, 5)), pem, sizeof pem)) {
		cf_harness_error(c, "cannot write a PEM key");
		return;
	}
	if (!cf_iut_put_authorized(c, "broken.pub", pem) ||
	    !cf_iut_reload(c, (1u << 1) | (1u << 5), 0))
		return;
	cf_wait_closed(c, kept, IB_EC_REVOKED, "MEMBER-2", MB_WAIT_MS);
}

const struct cf_test cf_tests_member[] = {
	{ "member.keyring-is-authorized", "MEMBER-1", CF_NEEDS_CONFIG, test_keyring_is_authorized,
	  "take as keyring exactly authorized/*.pub plus your own key (ib.info keys_digest), and "
	  "drop frames of other origins" },
	{ "member.revoke", "MEMBER-1 MEMBER-2 MEMBER-4", CF_NEEDS_RELOAD, test_revoke,
	  "on reload close the links of removed keys with ERROR revoked, drop their frames, and "
	  "refuse them when they connect again" },
	{ "member.revoke-in-hello-wait", "MEMBER-5 MEMBER-2", CF_NEEDS_RELOAD,
	  test_revoke_in_hello_wait,
	  "on reload also close, with ERROR revoked, a removed key's connection that has not "
	  "sent HELLO yet" },
	{ "member.failed-reload", "MEMBER-3 MEMBER-2", CF_NEEDS_RELOAD, test_failed_reload,
	  "when a reload meets a malformed key file keep the previous keyring (links, digest, "
	  "new links)" },
	{ NULL, NULL, 0, NULL, NULL }
};
