/* t_member.c - membership (spec section 12): the keyring is authorized/ plus the node's own
 * key, a reload revokes removed keys at once (links and frames), and a failed reload changes
 * nothing. */
#include "cf.h"
#include "probe.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>

#define MB_WAIT_MS 2000u
#define MB_HANDSHAKE_END_MS 200u
#define MB_MAX_KEYS (CF_TESTERS + CF_REFS + 1)

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

	if (!cf_keys_digest(c, untrusted_testers, want)) {
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

/* [MEMBER-4] A removed key comes back: the IUT refuses it in the TLS handshake itself, with
 * alert bad_certificate, as a key never authorized ([TLS-4], [TLS-8]). A node whose TLS
 * layer still pins against the keyring it had before the reload lets the handshake
 * complete, and refuses (if at all) only at HELLO. */
static void refused_in_handshake(struct cf_ctx *c, int tester)
{
	struct tls_probe_opts o = { .cert = TLS_PROBE_CERT_ED25519,
				    .id = cf_tester_identity(c, tester) };
	struct tls_probe *p = NULL;
	char err[128];

	if (tls_probe_start(&p, cf_loop(c), cf_iut_host(c), cf_iut_port(c), &o, err) != IB_OK) {
		cf_harness_error(c, "TLS prober: %s", err);
		return;
	}
	cf_run_until(c, tls_probe_ended, p, MB_WAIT_MS);
	cf_expect(c, tls_probe_alert(p) == SSL_AD_BAD_CERTIFICATE, "MEMBER-4",
		  "the IUT refuses a removed key in the TLS handshake, with alert bad_certificate "
		  "(42), as a key never authorized",
		  "%s%s", tls_probe_handshaken(p) ? "the handshake completed; " : "",
		  tls_probe_closed(p) ? tls_probe_failure(p) : "the connection stayed open");
	tls_probe_free(p);
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
	    !(again = cf_peer(c, 1)) || !link_refused(c, again, "MEMBER-4"))
		return;
	refused_in_handshake(c, 1);
}

/* [MEMBER-2] The link to the IUT's parent is a link like any other: a reload that removes the
 * parent's key (T1) closes it at once with `revoked`. A node that revokes only the links its
 * children made keeps T1 as its parent. */
static void test_revoke_parent(struct cf_ctx *c)
{
	char addr[IB_MAX_ADDR];
	struct cf_iut_opts o = { 0 };
	struct hn_peer *parent, *child;

	if (!cf_iut_start_toward(c, &o, 1, &parent, addr) || !cf_accept_child(c, parent, NULL, 0) ||
	    !(child = cf_peer(c, 0)) || !cf_link_child(c, child))
		return;
	hn_peer_unlisten(parent);
	if (!cf_iut_reload(c, 1u << 1, 0) ||
	    !cf_wait_closed(c, parent, IB_EC_REVOKED, "MEMBER-2", MB_WAIT_MS))
		return;
	cf_expect(c, !hn_peer_closed(child), "MEMBER-2", "only the removed key's link is closed",
		  "T0's link (a child) closed too");
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

/* ---- MEMBER-6: the items of a removed writer --------------------------------------------- */

/* ib.get key from p: its status, and the frame in *out (may be NULL). */
static bool get_status(struct cf_ctx *c, struct hn_peer *p, const char *key, uint16_t *status,
		       struct ib_buf *out)
{
	struct ib_slice arg = { (const uint8_t *)key, strlen(key) };

	return cf_command(c, p, NULL, "ib.get", &arg, 1, status, out);
}

/* ib.get key must answer `status`, with exactly frame when it is ok. */
static bool get_is(struct cf_ctx *c, struct hn_peer *p, const char *key, uint16_t want,
		   const struct ib_buf *frame, const char *req, const char *expected)
{
	struct ib_buf out = { 0 };
	uint16_t status = 0;
	bool ok = false;

	if (!get_status(c, p, key, &status, &out))
		goto out;
	ok = cf_expect(c, status == want && (want != IB_STATUS_OK ||
					      (out.len == frame->len &&
					       !memcmp(out.ptr, frame->ptr, out.len))),
		       req, expected, "ib.get %s answered %s (%zu bytes)", key,
		       ib_status_name(status), out.len);
out:
	ib_buf_free(&out);
	return ok;
}

/* Waits (bounded) until ib.info shows the keys_digest of authorized/ without the testers of
 * the mask: a reload that adds keys closes nothing, so this is how its end is seen. */
static bool await_digest(struct cf_ctx *c, struct hn_peer *p, unsigned untrusted_testers,
			 const char *req)
{
	char want[65], got[65];

	if (!cf_keys_digest(c, untrusted_testers, want)) {
		cf_harness_error(c, "cannot compute the expected keys_digest");
		return false;
	}
	for (int i = 0; i < 40; i++) {
		if (!info_digest(c, p, got))
			return false;
		if (!strcmp(got, want))
			return true;
		cf_run_for(c, 50);
	}
	return cf_expect(c, false, req, "the reload takes the keys of authorized/",
			 "keys_digest=%s (wanted %s)", got, want);
}

/* The OFFERs p received for query_id. */
static size_t offers_for(struct hn_peer *p, uint64_t query_id)
{
	struct ib_frame f;
	struct ib_msg m;
	size_t n = 0;

	for (size_t i = 0; i < hn_peer_received(p); i++)
		n += hn_peer_got(p, i)->type == IB_MSG_OFFER && cf_got_msg(p, i, &f, &m) &&
		     m.u.offer.query_id == query_id;
	return n;
}

struct offer_wait {
	struct hn_peer *p;
	uint64_t query_id;
};

static bool offer_came(void *arg)
{
	const struct offer_wait *w = arg;

	return offers_for(w->p, w->query_id) > 0 || hn_peer_closed(w->p);
}

/* A TRANSFER of query_id at p, as a wait condition. */
static bool transfer_came(void *arg)
{
	const struct offer_wait *w = arg;
	struct ib_frame f;
	struct ib_msg m;

	for (size_t i = 0; i < hn_peer_received(w->p); i++)
		if (hn_peer_got(w->p, i)->type == IB_MSG_TRANSFER && cf_got_msg(w->p, i, &f, &m) &&
		    m.u.transfer.query_id == w->query_id)
			return true;
	return hn_peer_closed(w->p);
}

/* [MEMBER-6] After a reload that removes T5, the items T5 wrote are gone at once: ib.get
 * answers not_found, a QUERY gets no OFFER (the QUERY of T1's item, after it, does), a SELECT
 * gets an empty TRANSFER, and ib.publish of such a key writes version 1. They stay gone when
 * T5 is authorized again, and after a restart: a node that only hid them, keeping their
 * files, loads them again. */
static void test_revoke_drops_items(struct cf_ctx *c)
{
	static const char gone[] = "member.by-t5", gone2[] = "member.by-t5-too",
			  kept_key[] = "member.by-t1";
	struct ib_buf kept = { 0 }, frame = { 0 }, by_t5 = { 0 };
	struct hn_peer *p, *t5, *t1;
	struct ib_frame f;
	struct ib_msg m;
	uint64_t q_gone = cf_rand(c), q_kept = q_gone + 1, q_sel = q_gone + 2;
	struct offer_wait ow = { NULL, q_kept };
	bool ok;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !(t5 = cf_peer(c, 5)) ||
	    !(t1 = cf_peer(c, 1)) || !cf_link_child(c, p) || !cf_link_child(c, t5) ||
	    !cf_link_child(c, t1))
		goto out;
	cf_msg_publish(&m, gone, 7, "written by T5");
	if (hn_peer_send(t5, &m, NULL, NULL, false, &by_t5) != IB_OK)
		goto harness;
	cf_msg_publish(&m, gone2, 7, "written by T5 too");
	if (hn_peer_send(t5, &m, NULL, NULL, false, NULL) != IB_OK)
		goto harness;
	cf_msg_publish(&m, kept_key, 2, "written by T1");
	if (hn_peer_send(t1, &m, NULL, NULL, false, &kept) != IB_OK)
		goto harness;
	/* Each asked on the link its PUBLISH came on: answered after it. */
	if (!get_is(c, t1, kept_key, IB_STATUS_OK, &kept, "DATA-2", "T1's PUBLISH is stored") ||
	    !get_is(c, t5, gone, IB_STATUS_OK, &by_t5, "DATA-2", "T5's PUBLISH is stored"))
		goto out;
	/* T5's link closing with `revoked` shows the reload was done. */
	if (!cf_iut_reload(c, 1u << 5, 0) ||
	    !cf_wait_closed(c, t5, IB_EC_REVOKED, "MEMBER-2", MB_WAIT_MS) ||
	    !get_is(c, p, gone, IB_STATUS_NOT_FOUND, NULL, "MEMBER-6",
		    "once T5's key is removed, its items are gone: ib.get answers not_found") ||
	    !get_is(c, p, kept_key, IB_STATUS_OK, &kept, "MEMBER-6",
		    "the items of writers still authorized stay"))
		goto out;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_QUERY;
	m.u.query = (struct ib_query){ q_gone, { (const uint8_t *)gone, sizeof gone - 1 } };
	if (hn_peer_send(p, &m, NULL, NULL, false, NULL) != IB_OK)
		goto harness;
	m.u.query = (struct ib_query){ q_kept, { (const uint8_t *)kept_key, sizeof kept_key - 1 } };
	if (hn_peer_send(p, &m, NULL, NULL, false, NULL) != IB_OK)
		goto harness;
	ow.p = p;
	if (!cf_wait(c, offer_came, &ow, MB_WAIT_MS, "an OFFER answers the QUERY of T1's item") ||
	    !cf_expect(c, offers_for(p, q_gone) == 0, "MEMBER-6",
		       "no OFFER for an item whose writer was removed",
		       "the IUT offered it"))
		goto out;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_SELECT;
	m.h.dest = *cf_iut_id(c);
	m.u.select = (struct ib_select){ q_sel, { (const uint8_t *)gone, sizeof gone - 1 }, 7 };
	if (hn_peer_send(p, &m, NULL, NULL, false, NULL) != IB_OK)
		goto harness;
	ow.query_id = q_sel;
	if (!cf_wait(c, transfer_came, &ow, MB_WAIT_MS, "a TRANSFER answers SELECT"))
		goto out;
	for (size_t i = 0; i < hn_peer_received(p); i++)
		if (hn_peer_got(p, i)->type == IB_MSG_TRANSFER && cf_got_msg(p, i, &f, &m) &&
		    m.u.transfer.query_id == q_sel &&
		    !cf_expect(c, m.u.transfer.frame.len == 0, "MEMBER-6",
			       "SELECT of an item whose writer was removed: an empty TRANSFER",
			       "it carried %zu bytes", m.u.transfer.frame.len))
			goto out;
	if (!cf_iut_publish(c, p, gone2, "mine", &frame))
		goto out;
	ok = ib_frame_parse(&f, frame.ptr, frame.len, IB_MAX_MESSAGE_LIMIT) == IB_OK &&
	     ib_msg_decode(&m, f.msg.ptr, f.msg.len) == IB_OK && m.h.type == IB_MSG_PUBLISH;
	if (!cf_expect(c, ok && m.u.publish.version == 1, "MEMBER-6",
		       "ib.publish of a key whose only item was T5's writes version 1: the removed "
		       "item's version 7 is not known", "%s %llu", ok ? "version" : "not a PUBLISH",
		       ok ? (unsigned long long)m.u.publish.version : 0ull))
		goto out;
	/* T5 comes back: its items do not. Then a restart reads the store again. */
	if (!cf_iut_reload(c, 0, 0) || !await_digest(c, p, 0, "MEMBER-1") ||
	    !get_is(c, p, gone, IB_STATUS_NOT_FOUND, NULL, "MEMBER-6",
		    "authorizing T5 again does not bring its removed items back") ||
	    !cf_iut_restart(c, false) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !get_is(c, p, kept_key, IB_STATUS_OK, &kept, "DATA-5",
		    "T1's item survives the restart"))
		goto out;
	get_is(c, p, gone, IB_STATUS_NOT_FOUND, NULL, "MEMBER-6",
	       "the removed items left the persisted store too: after a restart, with T5 "
	       "authorized again, ib.get still answers not_found");
	goto out;
harness:
	cf_harness_error(c, "a tester cannot send");
out:
	ib_buf_free(&kept);
	ib_buf_free(&frame);
	ib_buf_free(&by_t5);
}

const struct cf_test cf_tests_member[] = {
	{ "member.keyring-is-authorized", "MEMBER-1", CF_NEEDS_CONFIG, test_keyring_is_authorized,
	  "take as keyring exactly authorized/*.pub plus your own key (ib.info keys_digest), and "
	  "drop frames of other origins" },
	{ "member.revoke", "MEMBER-1 MEMBER-2 MEMBER-4", CF_NEEDS_RELOAD, test_revoke,
	  "on reload close the links of removed keys with ERROR revoked, drop their frames, and "
	  "refuse them in the TLS handshake (bad_certificate) when they connect again" },
	{ "member.revoke-parent", "MEMBER-2", CF_NEEDS_RELOAD, test_revoke_parent,
	  "on reload close the link to the parent too, with ERROR revoked, when its key is "
	  "removed" },
	{ "member.revoke-in-hello-wait", "MEMBER-5 MEMBER-2", CF_NEEDS_RELOAD,
	  test_revoke_in_hello_wait,
	  "on reload also close, with ERROR revoked, a removed key's connection that has not "
	  "sent HELLO yet" },
	{ "member.failed-reload", "MEMBER-3 MEMBER-2", CF_NEEDS_RELOAD, test_failed_reload,
	  "when a reload meets a malformed key file keep the previous keyring (links, digest, "
	  "new links)" },
	{ "member.revoke-drops-items", "MEMBER-6", CF_NEEDS_RELOAD | CF_NEEDS_RESTART,
	  test_revoke_drops_items,
	  "on reload drop the items of removed writers at once, in memory and on disk: no ib.get, "
	  "no OFFER, no version known, not back when the key returns" },
	{ NULL, NULL, 0, NULL, NULL }
};
