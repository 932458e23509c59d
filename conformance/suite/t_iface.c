/* t_iface.c - the conformance interface itself (spec section 19): how the suite starts,
 * reloads and stops an implementation, and the standard commands it observes it through. */
#include "cf.h"

#include <string.h>

static void test_ready_and_link(struct cf_ctx *c)
{
	struct hn_peer *p;

	/* [IFACE-1] it read the directory: a tester from authorized/ is let in, and the HELLO
	 * it answers comes from identity.key. */
	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		return;
	cf_note(c, "linked as a child of the IUT");
}

static bool output_has(const struct ib_buf *out, const char *line)
{
	size_t n = strlen(line);

	for (size_t i = 0; i + n <= out->len; i++)
		if ((i == 0 || out->ptr[i - 1] == '\n') && !memcmp(out->ptr + i, line, n))
			return true;
	return false;
}

static void test_info(struct cf_ctx *c)
{
	struct ib_buf out = { 0 };
	struct hn_peer *p;
	uint16_t status;
	char idline[64], hex[2 * IB_ID_LEN + 1];

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !cf_command(c, p, NULL, "ib.info", NULL, 0, &status, &out))
		goto out;
	if (!cf_expect(c, status == IB_STATUS_OK, "IFACE-6", "ib.info answers ok",
		       "status %s", ib_status_name(status)))
		goto out;
	ib_id_to_hex(cf_iut_id(c), hex);
	snprintf(idline, sizeof idline, "id=%s\n", hex);
	cf_expect(c, output_has(&out, idline) && output_has(&out, "role=server\n") &&
		  output_has(&out, "parent=\n"), "CMD-3",
		  "ib.info lines include id=<its id>, role=server and an empty parent= (a root)",
		  "output: %.*s", (int)out.len, (const char *)out.ptr);
out:
	ib_buf_free(&out);
}

static void test_sigterm(struct cf_ctx *c)
{
	struct hn_peer *p;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !cf_iut_stop(c))
		return;
	cf_wait_closed(c, p, IB_EC_SHUTTING_DOWN, "LINK-8", 1000);
}


/* [IFACE-2] Each broken line, alone at the end of a good node.conf, must stop the start with a
 * message that names the file and the line. */
static void test_bad_conf(struct cf_ctx *c)
{
	static const char *const bad[] = {
		"colour = blue\n",                 /* unknown key */
		"keepalive_interval_ms = 5000\n",  /* repeated key (the suite wrote it) */
		"just some words\n",               /* no '=' */
		"mode = sometimes\n",              /* value out of range */
	};
	char why[4096], want[64];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct cf_bad_start b = { .conf_append = bad[i] };
		int line = 0;
		bool refused = cf_iut_start_refused(c, &b, &line, why, sizeof why);

		if (!cf_ok(c))
			return;
		if (!cf_expect(c, refused, "IFACE-2", "the IUT refuses to start on a broken node.conf",
			       "it started with the line `%.*s` in node.conf",
			       (int)strlen(bad[i]) - 1, bad[i]))
			return;
		snprintf(want, sizeof want, "node.conf:%d", line);
		if (!cf_expect(c, strstr(why, want) != NULL, "IFACE-2",
			       "its message names the file and the line, as node.conf:LINE",
			       "for `%.*s` (line %d) it said: %.300s", (int)strlen(bad[i]) - 1, bad[i],
			       line, why))
			return;
		cf_note(c, "refused `%.*s`: %.200s", (int)strlen(bad[i]) - 1, bad[i], why);
	}
}

/* [ID-5] [ID-4] Two directories the IUT must refuse: a private key others can read, and one
 * key authorized in two files. The message should say which file. */
static void test_refuses_unsafe_dir(struct cf_ctx *c)
{
	static const struct {
		struct cf_bad_start bad;
		const char *req, *what, *file;
	} cases[] = {
		{ { .key_group_readable = true }, "ID-5", "identity.key is mode 0640",
		  "identity.key" },
		{ { .key_in_two_files = true }, "ID-4", "one key is in two files of authorized/",
		  "same-key-again.pub" },
	};
	char why[4096];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int line = 0;
		bool refused = cf_iut_start_refused(c, &cases[i].bad, &line, why, sizeof why);

		if (!cf_ok(c))
			return;
		if (!cf_expect(c, refused, cases[i].req, "the IUT refuses to start",
			       "it started although %s", cases[i].what))
			return;
		cf_note(c, "refused (%s): %.300s", cases[i].what, why);
	}
}

static bool closed(void *arg)
{
	return hn_peer_closed(arg);
}

/* [IFACE-4] The reload is triggered the way the interface says (SIGHUP for a process); the
 * revoked tester's link must close, the other stays. */
static void test_sighup_reload(struct cf_ctx *c)
{
	struct hn_peer *kept, *revoked;

	if (!cf_iut_start(c, NULL) || !(kept = cf_peer(c, 0)) || !(revoked = cf_peer(c, 1)) ||
	    !cf_link_child(c, kept) || !cf_link_child(c, revoked) ||
	    !cf_iut_reload(c, 1u << 1, 0) ||
	    !cf_wait_closed(c, revoked, IB_EC_REVOKED, "IFACE-4", 2000))
		return;
	cf_run_until(c, closed, kept, 200);
	cf_expect(c, !hn_peer_closed(kept), "IFACE-4",
		  "a reload closes only the links of removed keys",
		  "the link of T0, still authorized, closed too");
}

/* [ERR-2] Random bytes after a good HELLO: the IUT may close that link (it must, once the
 * bytes stop making frames), but it must keep running and serving others. */
static void test_survives_garbage(struct cf_ctx *c)
{
	struct hn_peer *noisy, *other;
	uint8_t junk[4096];
	uint16_t status = 0;
	struct ib_buf out = { 0 };

	if (!cf_iut_start(c, NULL) || !(noisy = cf_peer(c, 0)) || !(other = cf_peer(c, 1)) ||
	    !cf_link_child(c, noisy) || !cf_link_child(c, other))
		goto out;
	for (int round = 0; round < 8 && !hn_peer_closed(noisy); round++) {
		for (size_t i = 0; i < sizeof junk; i += 8) {
			uint64_t r = cf_rand(c);

			memcpy(junk + i, &r, 8);
		}
		hn_peer_send_raw(noisy, junk, sizeof junk);
		cf_run_for(c, 20);
	}
	if (cf_command(c, other, NULL, "ib.ping", NULL, 0, &status, &out))
		cf_expect(c, status == IB_STATUS_OK, "ERR-2",
			  "after garbage on one link the IUT still answers ib.ping on another",
			  "status %s", ib_status_name(status));
out:
	ib_buf_free(&out);
}

const struct cf_test cf_tests_iface[] = {
	{ "iface.ready", "IFACE-1 IFACE-3", 0, test_ready_and_link,
	  "Started on a prepared node directory, the IUT accepts TCP, then links an authorized "
	  "tester as a child" },
	{ "iface.info", "IFACE-6 CMD-3", 0, test_info,
	  "ib.info from a tester answers ok with id=, role= and parent= lines" },
	{ "iface.sigterm", "IFACE-5 LINK-8", CF_NEEDS_RESTART, test_sigterm,
	  "On SIGTERM the IUT closes its links with ERROR shutting_down and exits within 5 s" },
	{ "iface.bad-conf", "IFACE-2", CF_NEEDS_CONFIG, test_bad_conf,
	  "A node.conf with an unknown key, a repeated key, a line without '=' or a bad value "
	  "stops the start, with a message naming node.conf and the line" },
	{ "iface.unsafe-dir", "ID-4 ID-5", CF_NEEDS_CONFIG, test_refuses_unsafe_dir,
	  "The IUT refuses to start when identity.key is readable by others, or when one key is "
	  "authorized in two files of authorized/" },
	{ "iface.sighup-reload", "IFACE-4 MEMBER-2", CF_NEEDS_RELOAD, test_sighup_reload,
	  "SIGHUP reloads authorized/: the link of a removed key closes with revoked, others stay" },
	{ "iface.survives-garbage", "ERR-2", 0, test_survives_garbage,
	  "32 KiB of random bytes on one link do not crash the IUT; it still answers ib.ping on "
	  "another" },
	{ NULL, NULL, 0, NULL, NULL }
};
