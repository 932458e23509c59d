/* t_iface.c - the conformance interface itself (spec section 19): how the suite starts,
 * reloads and stops an implementation, and the standard commands it observes it through. */
#include "cf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* A "parent=" line, empty or 32 lower-case hex digits (section 15, ib.info). */
static bool parent_line(const struct ib_buf *out)
{
	static const char key[] = "parent=";
	size_t n = sizeof key - 1;

	for (size_t i = 0; i + n <= out->len; i++) {
		size_t j = i + n, hex = 0;

		if ((i && out->ptr[i - 1] != '\n') || memcmp(out->ptr + i, key, n))
			continue;
		while (j < out->len && ((out->ptr[j] >= '0' && out->ptr[j] <= '9') ||
					(out->ptr[j] >= 'a' && out->ptr[j] <= 'f'))) {
			j++;
			hex++;
		}
		return j < out->len && out->ptr[j] == '\n' && (hex == 0 || hex == 2 * IB_ID_LEN);
	}
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
	/* Started by the suite, the IUT has no parents: a root. Attached to (addr mode), it may
	 * be anywhere in a tree. */
	cf_expect(c, output_has(&out, idline) && output_has(&out, "role=server\n") &&
		  (cf_mode(c) == CF_MODE_ADDR ? parent_line(&out) : output_has(&out, "parent=\n")),
		  "CMD-3", cf_mode(c) == CF_MODE_ADDR
		  ? "ib.info lines include id=<its id>, role=server and parent= (empty, or an id)"
		  : "ib.info lines include id=<its id>, role=server and an empty parent= (a root)",
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
	struct cf_refusal r;
	char want[64];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct cf_bad_start b = { .conf_append = bad[i] };
		bool refused = cf_iut_start_refused(c, &b, &r);

		if (!cf_ok(c))
			return;
		if (!cf_expect(c, refused, "IFACE-2", "the IUT refuses to start on a broken node.conf",
			       "it started with the line `%.*s` in node.conf",
			       (int)strlen(bad[i]) - 1, bad[i]))
			return;
		snprintf(want, sizeof want, "node.conf:%d", r.line);
		if (!cf_expect(c, strstr(r.why, want) != NULL, "IFACE-2",
			       "its message names the file and the line, as node.conf:LINE",
			       "for `%.*s` (line %d) it said: %.300s", (int)strlen(bad[i]) - 1, bad[i],
			       r.line, r.why))
			return;
		cf_note(c, "refused `%.*s`: %.200s", (int)strlen(bad[i]) - 1, bad[i], r.why);
	}
}

/* [ID-5] [ID-4] Two directories the IUT must refuse: a private key others can read, and one
 * key authorized in two files. The message must say which file ([IFACE-9]). */
static void test_refuses_unsafe_dir(struct cf_ctx *c)
{
	static const struct {
		struct cf_bad_start bad;
		const char *req, *what, *file, *file2;
	} cases[] = {
		{ { .key_mode = 0640 }, "ID-5", "identity.key is mode 0640", "identity.key", NULL },
		{ { .key_in_two_files = true }, "ID-4", "one key is in two files of authorized/",
		  "same-key-again.pub", "conform-T0.pub" },
	};
	struct cf_refusal r;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bool refused = cf_iut_start_refused(c, &cases[i].bad, &r);

		if (!cf_ok(c))
			return;
		if (!cf_expect(c, refused, cases[i].req, "the IUT refuses to start",
			       "it started although %s", cases[i].what))
			return;
		/* [IFACE-9] the message names the file at fault (for [ID-4], both). */
		if (!cf_expect(c, strstr(r.why, cases[i].file) &&
			       (!cases[i].file2 || strstr(r.why, cases[i].file2)), "IFACE-9",
			       "the refusal names the file at fault (both files for ID-4)",
			       "when %s it said: %.300s", cases[i].what, r.why))
			return;
		cf_note(c, "refused (%s, exit status %d): %.300s", cases[i].what, r.status, r.why);
	}
}

/* [IFACE-10] Every line counts, from 1: empty lines, blank lines, comments, CRLF ends; only LF
 * ends a line; a line of 4,096 bytes (its LF not counted) is allowed, 4,097 is refused; a
 * last line without LF is a line. Each case is the end of a good node.conf; +N is the line
 * of the error counted from the first appended line. */
static void test_conf_line_numbers(struct cf_ctx *c)
{
	static char line4096[4096 + 32], line4097[4097 + 32];
	const struct {
		const char *text, *what;
		int plus;
	} cases[] = {
		{ "\n   \t\n# a comment = with an equals sign\n\ncolour = blue\n",
		  "after an empty line, a blank line, a comment and an empty line", 4 },
		{ "# a comment, CRLF\r\n\r\n \t\r\ncolour = blue\r\n", "in a file with CRLF ends", 3 },
		{ "# one line\rwith a CR inside\ncolour = blue\n", "after a line holding a lone CR", 1 },
		{ line4096, "after a comment line of 4,096 bytes (allowed)", 1 },
		{ line4097, "on a comment line of 4,097 bytes (too long)", 0 },
		{ "colour = blue", "on a last line without LF", 0 },
	};
	struct cf_refusal r;
	char want[64];

	line4096[0] = line4097[0] = '#';
	memset(line4096 + 1, 'x', 4095);
	memset(line4097 + 1, 'x', 4096);
	snprintf(line4096 + 4096, sizeof line4096 - 4096, "\ncolour = blue\n");
	snprintf(line4097 + 4097, sizeof line4097 - 4097, "\n");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct cf_bad_start b = { .conf_append = cases[i].text };
		bool refused = cf_iut_start_refused(c, &b, &r);

		if (!cf_ok(c))
			return;
		if (!cf_expect(c, refused, "IFACE-2", "the IUT refuses to start on a broken node.conf",
			       "it started with an error %s", cases[i].what))
			return;
		snprintf(want, sizeof want, "node.conf:%d:", r.line + cases[i].plus);
		if (!cf_expect(c, strstr(r.why, want) != NULL, "IFACE-10",
			       "lines counted from 1, every line, only LF ending one",
			       "for an error %s, expected %s; it said: %.300s", cases[i].what, want,
			       r.why))
			return;
	}
}

/* The text of line key= in an ib.info output into val ("" when there is none). */
static void info_line(const struct ib_buf *out, const char *key, char *val, size_t cap)
{
	size_t klen = strlen(key);

	val[0] = 0;
	for (size_t i = 0; i + klen < out->len; i++) {
		const uint8_t *nl;
		size_t len;

		if ((i && out->ptr[i - 1] != '\n') || memcmp(out->ptr + i, key, klen) ||
		    out->ptr[i + klen] != '=')
			continue;
		nl = memchr(out->ptr + i, '\n', out->len - i);
		len = (nl ? (size_t)(nl - out->ptr) : out->len) - i - klen - 1;
		snprintf(val, cap, "%.*s", (int)len, (const char *)out->ptr + i + klen + 1);
		return;
	}
}

/* node.conf less the lines that set the keys named (each "key =" or "key=" at the start). */
static bool drop_conf_keys(struct cf_ctx *c, const char *const *keys, size_t nkeys)
{
	char path[800], line[4200];
	struct ib_buf kept = { 0 };
	FILE *f;
	bool ok;

	snprintf(path, sizeof path, "%s/node.conf", cf_iut_dir(c));
	f = fopen(path, "r");
	if (!f) {
		cf_harness_error(c, "cannot read %s", path);
		return false;
	}
	while (fgets(line, sizeof line, f)) {
		bool drop = false;

		for (size_t i = 0; i < nkeys; i++) {
			size_t n = strlen(keys[i]);

			drop |= !strncmp(line, keys[i], n) && (line[n] == ' ' || line[n] == '=');
		}
		if (!drop)
			ib_buf_put(&kept, (const uint8_t *)line, strlen(line));
	}
	fclose(f);
	f = fopen(path, "w");
	ok = f && fwrite(kept.ptr, 1, kept.len, f) == kept.len;
	if (f && fclose(f) != 0)
		ok = false;
	ib_buf_free(&kept);
	if (!ok)
		cf_harness_error(c, "cannot write %s", path);
	return ok;
}

/* [IFACE-11] [CMD-5] node.conf without name, mode and commands: the node is named after its
 * directory, is a server, and runs the default commands, which leave ib.publish out. */
static void test_defaults(struct cf_ctx *c)
{
	static const char *const unset[] = { "name", "mode", "commands" };
	struct ib_slice args[2] = { { (const uint8_t *)"iface.defaults", 14 },
				    { (const uint8_t *)"v", 1 } };
	struct ib_buf out = { 0 };
	struct hn_peer *p;
	uint16_t status = 0;
	char name[300], role[64];
	const char *base;

	if (!cf_iut_start(c, NULL) || !drop_conf_keys(c, unset, 3) ||
	    !cf_iut_restart_accepted(c, "IFACE-11", "the IUT starts on a node.conf without name, "
				     "mode and commands (they have defaults)") ||
	    !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !cf_command(c, p, NULL, "ib.info", NULL, 0, &status, &out))
		goto out;
	base = strrchr(cf_iut_dir(c), '/');
	base = base ? base + 1 : cf_iut_dir(c);
	info_line(&out, "name", name, sizeof name);
	info_line(&out, "role", role, sizeof role);
	if (!cf_expect(c, status == IB_STATUS_OK && !strcmp(name, base) && !strcmp(role, "server"),
		       "IFACE-11",
		       "without name and mode: named after its directory, and a server",
		       "ib.info answered %s with name=%s role=%s (the directory is %s)",
		       ib_status_name(status), name, role, base))
		goto out;
	if (!cf_command(c, p, NULL, "ib.publish", args, 2, &status, NULL) ||
	    !cf_expect(c, status == IB_STATUS_DENIED, "CMD-5",
		       "the default `commands` leaves ib.publish out: denied",
		       "ib.publish answered %s", ib_status_name(status)) ||
	    !cf_command(c, p, NULL, "ib.ping", NULL, 0, &status, NULL) ||
	    !cf_expect(c, status == IB_STATUS_OK, "IFACE-11",
		       "the default `commands` has ib.ping", "ib.ping answered %s",
		       ib_status_name(status)) ||
	    !cf_command(c, p, NULL, "ib.get", args, 1, &status, NULL) ||
	    !cf_expect(c, status == IB_STATUS_NOT_FOUND, "IFACE-11",
		       "the default `commands` has ib.get (nothing was published)",
		       "ib.get answered %s", ib_status_name(status)) ||
	    !cf_command(c, p, NULL, "ib.fetch", args, 1, &status, NULL))
		goto out;
	cf_expect(c, status == IB_STATUS_NOT_FOUND, "IFACE-11",
		  "the default `commands` has ib.fetch (nobody holds the key)",
		  "ib.fetch answered %s", ib_status_name(status));
out:
	ib_buf_free(&out);
}

/* [IFACE-11] `commands =` is the empty list: every COMMAND is denied. */
static void test_empty_commands(struct cf_ctx *c)
{
	struct cf_iut_opts o = { .commands = "" };
	struct hn_peer *p;
	uint16_t status = 0;

	if (!cf_iut_start(c, &o) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		return;
	for (int i = 0; i < 2; i++) {
		const char *name = i ? "ib.info" : "ib.ping";

		if (!cf_command(c, p, NULL, name, NULL, 0, &status, NULL) ||
		    !cf_expect(c, status == IB_STATUS_DENIED, "IFACE-11",
			       "with `commands =` (empty) no command runs, not even the defaults",
			       "%s answered %s", name, ib_status_name(status)))
			return;
	}
}

/* [IFACE-12] A control socket in the node directory is for its owner only. A node that has
 * none (the reference in self mode) passes: there is nothing to see. */
static void test_control_socket_private(struct cf_ctx *c)
{
	struct hn_peer *p;
	struct stat st;
	uint16_t status;
	char path[800];

	/* An answered command: whatever the node set up at start is there. */
	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !cf_command(c, p, NULL, "ib.ping", NULL, 0, &status, NULL))
		return;
	snprintf(path, sizeof path, "%s/control.sock", cf_iut_dir(c));
	if (lstat(path, &st) != 0) {
		cf_note(c, "no control.sock in the node directory: nothing to check");
		return;
	}
	cf_expect(c, (st.st_mode & 077) == 0, "IFACE-12",
		  "control.sock has no permission bit for group or others",
		  "control.sock is mode %04o", (unsigned)(st.st_mode & 07777));
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

/* ---- Issue 12: key files, node.conf values, SIGHUP --------------------------------------- */

#define PEM_CAP 2048

/* The PEM public key file of an identity. */
static void pub_pem(const struct ib_identity *id, char *out, size_t cap)
{
	cf_pem("PUBLIC KEY", ib_pubkey_spki(ib_identity_pubkey(id)), IB_SPKI_LEN, out, cap);
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

/* [IFACE-14] Key files are NAME.pub, lower case, not hidden, links followed: T1 as
 * .T1.pub, T2 as T2.PUB, T3 as T3.pub.bak are not keys; T4.pub, a link to a file outside
 * authorized/, is one. A hidden ._conform-T5.pub of junk (what some systems leave beside a
 * copied file) and a README are not read at all. */
static void test_key_file_names(struct cf_ctx *c)
{
	static char pem[6][PEM_CAP];
	static const struct cf_iut_file files[] = {
		{ .name = "authorized/conform-T1.pub", .remove = true },
		{ .name = "authorized/conform-T5.pub", .remove = true },
		{ .name = "authorized/5.pub", .text = pem[5] },
		{ .name = "authorized/conform-T2.pub", .remove = true },
		{ .name = "authorized/conform-T3.pub", .remove = true },
		{ .name = "authorized/conform-T4.pub", .remove = true },
		{ .name = "authorized/.T1.pub", .text = pem[1] },
		{ .name = "authorized/T2.PUB", .text = pem[2] },
		{ .name = "authorized/T3.pub.bak", .text = pem[3] },
		{ .name = "T4-key.pem", .text = pem[4] },
		{ .name = "authorized/T4.pub", .link_to = "../T4-key.pem" },
		{ .name = "authorized/._conform-T5.pub", .text = "\x05\x16\x07 Mac OS X junk\n" },
		{ .name = "authorized/README", .text = "the keys of the bots we link with\n" },
	};
	struct cf_bad_start b = { .files = files, .nfiles = sizeof files / sizeof files[0] };
	static const struct {
		int tester;
		bool key;
		const char *as;
	} who[] = {
		{ 0, true, "conform-T0.pub" }, { 4, true, "T4.pub, a symbolic link" },
		{ 5, true, "5.pub (a NAME of one character)" },
		{ 1, false, ".T1.pub (hidden)" }, { 2, false, "T2.PUB (upper case)" },
		{ 3, false, "T3.pub.bak" },
	};

	for (int i = 1; i <= 5; i++)
		pub_pem(cf_tester_identity(c, i), pem[i], PEM_CAP);
	if (!starts(c, &b, "IFACE-14", "the IUT starts: files that are not NAME.pub (hidden, upper "
		    "case, other ends, junk) are not read"))
		return;
	for (size_t i = 0; i < sizeof who / sizeof who[0]; i++) {
		bool accepted;

		if (!cf_try_link(c, cf_peer(c, who[i].tester), &accepted) ||
		    !cf_expect(c, accepted == who[i].key, "IFACE-14",
			       "key files are the entries NAME.pub, in lower case, not hidden, "
			       "symbolic links followed; nothing else",
			       "T%d, whose key is in %s, was %s", who[i].tester, who[i].as,
			       accepted ? "accepted" : "refused"))
			return;
	}
}

/* text with CRLF line ends, as a file written on Windows. */
static void crlf(char *text, size_t cap)
{
	char out[4 * PEM_CAP];
	size_t n = 0;

	for (size_t i = 0; text[i] && n + 3 < sizeof out && n + 3 < cap; i++) {
		if (text[i] == '\n')
			out[n++] = '\r';
		out[n++] = text[i];
	}
	out[n] = 0;
	memcpy(text, out, n + 1);
}

/* [IFACE-15] Each of these files in authorized/ alone must stop the start, naming it; then
 * a key between lines of explanatory text, with CRLF line ends, is read. */
static void test_key_file_malformed(struct cf_ctx *c)
{
	static const uint8_t x25519_prefix[] = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65,
						 0x6e, 0x03, 0x21, 0x00 };
	static const uint8_t long_prefix[] = { 0x30, 0x81, 0x2c, 0x30, 0x05, 0x06, 0x03, 0x2b,
					       0x65, 0x70, 0x03, 0x82, 0x00, 0x21, 0x00 };
	static const uint8_t alice[IB_PUBKEY_LEN] = {  /* RFC 8032 section 7.1, TEST 1 */
		0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64,
		0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68,
		0xf7, 0x07, 0x51, 0x1a };
	static char x25519[PEM_CAP], two[2 * PEM_CAP], longform[PEM_CAP], trailing[PEM_CAP],
		label[PEM_CAP], explained[2 * PEM_CAP], t7[PEM_CAP];
	const uint8_t *raw = ib_pubkey_raw(ib_identity_pubkey(cf_tester_identity(c, CF_STRANGER)));
	const struct {
		struct cf_iut_file file;
		const char *what;
	} cases[] = {
		{ { .name = "authorized/x25519.pub", .text = x25519 }, "an X25519 key" },
		{ { .name = "authorized/two-keys.pub", .text = two }, "two PUBLIC KEY blocks" },
		{ { .name = "authorized/long-form.pub", .text = longform },
		  "an Ed25519 key in DER with long-form lengths (47 bytes)" },
		{ { .name = "authorized/trailing.pub", .text = trailing },
		  "the 44 DER bytes and one byte more" },
		{ { .name = "authorized/label.pub", .text = label },
		  "a block labelled ED25519 PUBLIC KEY" },
		{ { .name = "authorized/not-pem.pub", .text = "ssh-ed25519 AAAA not a PEM file\n" },
		  "text without a PEM block" },
		{ { .name = "authorized/empty.pub", .text = "" }, "an empty file" },
		{ { .name = "authorized/dir.pub", .dir = true }, "a directory named dir.pub" },
		{ { .name = "authorized/dangling.pub", .link_to = "no-such-key.pem" },
		  "a symbolic link to nothing" },
	};
	struct cf_iut_file accepted[2] = {
		{ .name = "authorized/conform-T7.pub", .remove = true },
		{ .name = "authorized/explained.pub", .text = explained },
	};
	struct cf_bad_start ok = { .files = accepted, .nfiles = 2 };
	uint8_t der[64];
	struct hn_peer *p;

	memcpy(der, x25519_prefix, sizeof x25519_prefix);
	memcpy(der + sizeof x25519_prefix, raw, IB_PUBKEY_LEN);
	cf_pem("PUBLIC KEY", der, IB_SPKI_LEN, x25519, PEM_CAP);
	pub_pem(cf_tester_identity(c, CF_STRANGER), two, PEM_CAP);
	memcpy(der, ib_pubkey_spki(ib_identity_pubkey(cf_tester_identity(c, CF_STRANGER))),
	       IB_SPKI_LEN);
	memcpy(der + 12, alice, IB_PUBKEY_LEN);
	cf_pem("PUBLIC KEY", der, IB_SPKI_LEN, two + strlen(two), PEM_CAP);
	memcpy(der, long_prefix, sizeof long_prefix);
	memcpy(der + sizeof long_prefix, raw, IB_PUBKEY_LEN);
	cf_pem("PUBLIC KEY", der, sizeof long_prefix + IB_PUBKEY_LEN, longform, PEM_CAP);
	memcpy(der, ib_pubkey_spki(ib_identity_pubkey(cf_tester_identity(c, CF_STRANGER))),
	       IB_SPKI_LEN);
	der[IB_SPKI_LEN] = 0;
	cf_pem("PUBLIC KEY", der, IB_SPKI_LEN + 1, trailing, PEM_CAP);
	cf_pem("ED25519 PUBLIC KEY", der, IB_SPKI_LEN, label, PEM_CAP);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct cf_bad_start b = { .files = &cases[i].file, .nfiles = 1 };
		const char *base = strrchr(cases[i].file.name, '/') + 1;
		struct cf_refusal r;
		bool refused = cf_iut_start_refused(c, &b, &r);

		if (!cf_ok(c))
			return;
		if (!cf_expect(c, refused, "IFACE-15",
			       "a malformed key file stops the start: it is not skipped",
			       "it started with %s in authorized/%s", cases[i].what, base))
			return;
		if (!cf_expect(c, strstr(r.why, base) != NULL, "IFACE-9",
			       "the refusal names the key file at fault",
			       "for %s in %s it said: %.300s", cases[i].what, base, r.why))
			return;
		cf_note(c, "refused %s: %.200s", cases[i].what, r.why);
	}
	pub_pem(cf_tester_identity(c, 7), t7, PEM_CAP);
	snprintf(explained, sizeof explained,
		 "The bot of T7, given on 2026-01-01.\n\n%sFingerprint checked by phone.\n", t7);
	crlf(explained, sizeof explained);
	if (!starts(c, &ok, "IFACE-15", "text before and after the PEM block is explanatory: the "
		    "key file is read") ||
	    !(p = cf_peer(c, 7)))
		return;
	cf_link_child(c, p);
}

/* [IFACE-19] [IFACE-11] A value holding '=', leading zeros, `parents =`: the IUT starts,
 * named `iut=x`, a root, announcing max_message 65536 and keep-alive every 2000 ms. */
static void test_conf_values(struct cf_ctx *c)
{
	struct cf_bad_start b = {
		.conf_omit = "name keepalive_interval_ms",
		.conf_append = "name = iut=x\nkeepalive_interval_ms = 02000\nparents =\n"
			       "max_message = 0000065536\n",
	};
	struct ib_buf out = { 0 };
	struct hn_peer *p;
	struct ib_msg hello;
	uint16_t status = 0;
	char name[300] = "", parent[64] = "?";

	if (!starts(c, &b, "IFACE-19", "the IUT starts with `name = iut=x`, numbers with leading "
		    "zeros and `parents =`") ||
	    !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		goto out;
	if (!cf_expect(c, cf_hello_of(p, &hello), "IFACE-19", "the IUT's HELLO decodes",
		       "no HELLO") ||
	    !cf_expect(c, hello.u.hello.max_message == 65536 &&
		       hello.u.hello.keepalive_interval_ms == 2000, "IFACE-19",
		       "leading zeros change nothing: max_message 0000065536 and "
		       "keepalive_interval_ms 02000 are 65536 and 2000 (not octal)",
		       "its HELLO announced max_message %u and keepalive_interval_ms %u",
		       hello.u.hello.max_message, hello.u.hello.keepalive_interval_ms) ||
	    !cf_expect(c, hello.u.hello.name.len == 5 && !memcmp(hello.u.hello.name.ptr, "iut=x", 5),
		       "IFACE-19", "a line splits at its first '=': `name = iut=x` names it iut=x",
		       "its HELLO names it \"%.*s\"", (int)hello.u.hello.name.len,
		       (const char *)hello.u.hello.name.ptr) ||
	    !cf_command(c, p, NULL, "ib.info", NULL, 0, &status, &out))
		goto out;
	info_line(&out, "name", name, sizeof name);
	info_line(&out, "parent", parent, sizeof parent);
	cf_expect(c, status == IB_STATUS_OK && !strcmp(name, "iut=x") && !parent[0], "IFACE-11",
		  "`parents =` is the empty list: a root (parent= empty); name=iut=x",
		  "ib.info answered %s with name=%s parent=%s", ib_status_name(status), name, parent);
out:
	ib_buf_free(&out);
}

/* [IFACE-19] Empty and repeated list items, empty and wildcard hosts, non-ASCII letters: each
 * refuses the start, on its line. */
static void test_conf_values_refused(struct cf_ctx *c)
{
	static const char *const bad[] = {
		"parents = 127.0.0.1:7000,,127.0.0.1:7001\n",
		"parents = 127.0.0.1:7000,\n",
		"parents = 127.0.0.1:7000, 127.0.0.1:7000\n",
		"parents = :7000\n",
		"parents = *:7000\n",
		"parents = b\303\274cher.example:7000\n",
	};
	struct cf_refusal r;
	char want[64];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct cf_bad_start b = { .conf_append = bad[i] };
		bool refused = cf_iut_start_refused(c, &b, &r);

		if (!cf_ok(c))
			return;
		if (!cf_expect(c, refused, "IFACE-19",
			       "an empty or repeated list item, an empty or `*` host, a non-ASCII "
			       "letter are values out of range: the start is refused",
			       "it started with `%.*s`", (int)strlen(bad[i]) - 1, bad[i]))
			return;
		snprintf(want, sizeof want, "node.conf:%d", r.line);
		if (!cf_expect(c, strstr(r.why, want) != NULL, "IFACE-2",
			       "its message names the file and the line, as node.conf:LINE",
			       "for `%.*s` (line %d) it said: %.300s", (int)strlen(bad[i]) - 1,
			       bad[i], r.line, r.why))
			return;
	}
}

/* [IFACE-21] Each `max_` key one below and one above its range: the start is refused, as for
 * any value out of range ([IFACE-2]). A node that does not take the keys refuses them too. */
static void test_bounds_refused(struct cf_ctx *c)
{
	static const char *const bad[] = {
		"max_store_items = 1023\n", "max_store_items = 16777217\n",
		"max_store_mib = 31\n", "max_store_mib = 1048577\n",
		"max_writer_items = 15\n", "max_writer_items = 4097\n",
		"max_writer_mib = 16\n", "max_writer_mib = 1048577\n",
		"max_pending = 15\n", "max_pending = 257\n",
		"max_pending_per_source = 0\n", "max_pending_per_source = 17\n",
		"max_elections = 15\n", "max_elections = 1025\n",
	};
	struct cf_refusal r;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct cf_bad_start b = { .conf_append = bad[i] };
		bool refused = cf_iut_start_refused(c, &b, &r);

		if (!cf_ok(c) ||
		    !cf_expect(c, refused, "IFACE-21", "a `max_` key out of its range (section "
			       "19.1) refuses the start", "it started with `%.*s`",
			       (int)strlen(bad[i]) - 1, bad[i]))
			return;
	}
}

/* [IFACE-20] Given its directory as DIR/./ and no `name`, the IUT is named after DIR. */
static void test_default_name_path(struct cf_ctx *c)
{
	struct cf_iut_opts o = { .conf_omit = "name", .dir_suffix = "/./" };
	struct ib_buf out = { 0 };
	struct hn_peer *p;
	uint16_t status = 0;
	char name[300];
	const char *base;

	if (!cf_iut_start(c, &o) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !cf_command(c, p, NULL, "ib.info", NULL, 0, &status, &out))
		goto out;
	base = strrchr(cf_iut_dir(c), '/');
	base = base ? base + 1 : cf_iut_dir(c);
	info_line(&out, "name", name, sizeof name);
	cf_expect(c, status == IB_STATUS_OK && !strcmp(name, base), "IFACE-20",
		  "the default name is the last component of the directory's path, `.` and a "
		  "final `/` taken out",
		  "given %s/./ it answered ib.info %s with name=%s", base, ib_status_name(status),
		  name);
out:
	ib_buf_free(&out);
}

/* [IFACE-18] node.conf changed to `commands = ib.ping` while the IUT runs, then a SIGHUP that
 * removes T1's key: T1's link closes (the keyring was reloaded), and ib.info still runs. */
static void test_sighup_keyring_only(struct cf_ctx *c)
{
	static const char *const commands[] = { "commands" };
	struct hn_peer *p, *revoked;
	uint16_t status = 0;
	char path[800];
	FILE *f;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !(revoked = cf_peer(c, 1)) ||
	    !cf_link_child(c, p) || !cf_link_child(c, revoked) ||
	    !drop_conf_keys(c, commands, 1))
		return;
	snprintf(path, sizeof path, "%s/node.conf", cf_iut_dir(c));
	f = fopen(path, "a");
	if (!f || fputs("commands = ib.ping\n", f) < 0 || fclose(f) != 0) {
		cf_harness_error(c, "cannot write %s", path);
		return;
	}
	if (!cf_iut_reload(c, 1u << 1, 0) ||
	    !cf_wait_closed(c, revoked, IB_EC_REVOKED, "IFACE-4", 2000) ||
	    !cf_command(c, p, NULL, "ib.info", NULL, 0, &status, NULL))
		return;
	cf_expect(c, status == IB_STATUS_OK, "IFACE-18",
		  "SIGHUP reloads the keyring only: `commands` stays as node.conf said at start",
		  "after node.conf was changed to `commands = ib.ping` and SIGHUP, ib.info "
		  "answered %s", ib_status_name(status));
}

const struct cf_test cf_tests_iface[] = {
	{ "iface.ready", "IFACE-1 IFACE-3 IFACE-13", 0, test_ready_and_link,
	  "Started on a prepared node directory, the IUT accepts TCP, then links an authorized "
	  "tester as a child" },
	{ "iface.info", "IFACE-6 CMD-3", 0, test_info,
	  "ib.info from a tester answers ok with id=, role= and parent= lines" },
	{ "iface.sigterm", "IFACE-5 LINK-8", CF_NEEDS_RESTART, test_sigterm,
	  "On SIGTERM the IUT closes its links with ERROR shutting_down and exits within 5 s" },
	{ "iface.bad-conf", "IFACE-2 IFACE-9", CF_NEEDS_CONFIG, test_bad_conf,
	  "A node.conf with an unknown key, a repeated key, a line without '=' or a bad value "
	  "stops the start, with a message naming node.conf and the line" },
	{ "iface.unsafe-dir", "ID-4 ID-5 IFACE-9", CF_NEEDS_CONFIG, test_refuses_unsafe_dir,
	  "The IUT refuses to start when identity.key is readable by others, or when one key is "
	  "authorized in two files of authorized/, and names the file (both files)" },
	{ "iface.conf-line-numbers", "IFACE-10 IFACE-2", CF_NEEDS_CONFIG, test_conf_line_numbers,
	  "node.conf errors count every line from 1 (empty, blank, comments, CRLF), only LF ends "
	  "a line, 4,096 bytes is a line's limit" },
	{ "iface.defaults", "IFACE-11 CMD-5", CF_NEEDS_CONFIG | CF_NEEDS_RESTART, test_defaults,
	  "without name, mode and commands in node.conf: named after the directory, a server, "
	  "and the default commands (ib.publish denied)" },
	{ "iface.empty-commands", "IFACE-11 CMD-2", CF_NEEDS_CONFIG, test_empty_commands,
	  "`commands =` (empty) is the empty list: ib.ping and ib.info are denied" },
	{ "iface.control-socket-private", "IFACE-12", CF_NEEDS_CONFIG,
	  test_control_socket_private,
	  "a control.sock in the node directory has no permission bit for group or others" },
	{ "iface.sighup-reload", "IFACE-4 MEMBER-2", CF_NEEDS_RELOAD, test_sighup_reload,
	  "SIGHUP reloads authorized/: the link of a removed key closes with revoked, others stay" },
	{ "iface.survives-garbage", "ERR-2", 0, test_survives_garbage,
	  "32 KiB of random bytes on one link do not crash the IUT; it still answers ib.ping on "
	  "another" },
	{ "iface.key-file-names", "IFACE-14 IFACE-1", CF_NEEDS_CONFIG, test_key_file_names,
	  "key files are authorized/NAME.pub, lower case, not hidden, symbolic links followed: "
	  ".T1.pub, T2.PUB, T3.pub.bak are not read, and junk in ._x.pub does not stop the start" },
	{ "iface.key-file-malformed", "IFACE-15 IFACE-9", CF_NEEDS_CONFIG, test_key_file_malformed,
	  "an X25519 key, two blocks, long-form DER, trailing bytes, another label, an empty file, "
	  "a directory or a dangling link as NAME.pub stops the start; explanatory text and CRLF "
	  "line ends do not" },
	{ "iface.conf-values", "IFACE-19 IFACE-11", CF_NEEDS_CONFIG, test_conf_values,
	  "`name = iut=x` splits at the first '=', leading zeros are decimal, `parents =` is a "
	  "root" },
	{ "iface.conf-values-refused", "IFACE-19 IFACE-2", CF_NEEDS_CONFIG,
	  test_conf_values_refused,
	  "empty or repeated items in parents, an empty or `*` host, a non-ASCII host stop the "
	  "start, on their line" },
	{ "iface.bounds-refused", "IFACE-21", CF_NEEDS_CONFIG, test_bounds_refused,
	  "refuse to start with a `max_` key of node.conf one below or one above its range "
	  "(max_writer_items = 4097 among them: a writer's share is 4,096 items at most)" },
	{ "iface.default-name-path", "IFACE-20", CF_NEEDS_CONFIG, test_default_name_path,
	  "given DIR/./ and no name, the IUT is named after DIR" },
	{ "iface.sighup-keyring-only", "IFACE-18 IFACE-4", CF_NEEDS_CONFIG | CF_NEEDS_RELOAD,
	  test_sighup_keyring_only,
	  "SIGHUP reloads the keyring and not node.conf: `commands` changed meanwhile is not "
	  "applied" },
	{ NULL, NULL, 0, NULL, NULL }
};
