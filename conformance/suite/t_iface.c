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
 * key authorized in two files. The message must say which file ([IFACE-9]). */
static void test_refuses_unsafe_dir(struct cf_ctx *c)
{
	static const struct {
		struct cf_bad_start bad;
		const char *req, *what, *file, *file2;
	} cases[] = {
		{ { .key_group_readable = true }, "ID-5", "identity.key is mode 0640",
		  "identity.key", NULL },
		{ { .key_in_two_files = true }, "ID-4", "one key is in two files of authorized/",
		  "same-key-again.pub", "conform-T0.pub" },
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
		/* [IFACE-9] the message names the file at fault (for [ID-4], both). */
		if (!cf_expect(c, strstr(why, cases[i].file) &&
			       (!cases[i].file2 || strstr(why, cases[i].file2)), "IFACE-9",
			       "the refusal names the file at fault (both files for ID-4)",
			       "when %s it said: %.300s", cases[i].what, why))
			return;
		cf_note(c, "refused (%s): %.300s", cases[i].what, why);
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
	char why[4096], want[64];

	line4096[0] = line4097[0] = '#';
	memset(line4096 + 1, 'x', 4095);
	memset(line4097 + 1, 'x', 4096);
	snprintf(line4096 + 4096, sizeof line4096 - 4096, "\ncolour = blue\n");
	snprintf(line4097 + 4097, sizeof line4097 - 4097, "\n");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct cf_bad_start b = { .conf_append = cases[i].text };
		int line = 0;
		bool refused = cf_iut_start_refused(c, &b, &line, why, sizeof why);

		if (!cf_ok(c))
			return;
		if (!cf_expect(c, refused, "IFACE-2", "the IUT refuses to start on a broken node.conf",
			       "it started with an error %s", cases[i].what))
			return;
		snprintf(want, sizeof want, "node.conf:%d:", line + cases[i].plus);
		if (!cf_expect(c, strstr(why, want) != NULL, "IFACE-10",
			       "lines counted from 1, every line, only LF ending one",
			       "for an error %s, expected %s; it said: %.300s", cases[i].what, want,
			       why))
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
	{ NULL, NULL, 0, NULL, NULL }
};
