/* Unit tests of config.c: node.conf defaults, parsing, errors with file and line, writing, and
 * host:port addresses (spec section 19.1, [IFACE-2]; ranges of section 18). */
#include "ib_test.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_NAME "/srv/bots/alpha/node.conf" /* the name diags must give back */
#define LISTEN "listen = 127.0.0.1:7415\n"

/* ---- Helpers --------------------------------------------------------------------------------- */

/* Parses text[0..len) over the defaults, from an exactly-sized heap copy (so that ASan sees any
 * read past len), with a diag filled with junk first (so that a field left unset shows). */
static int parse_n(struct ib_config *c, const char *text, size_t len, struct ib_diag *d)
{
	char *copy = malloc(len ? len : 1);
	int err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
	if (len)
		memcpy(copy, text, len);
	ib_config_defaults(c, "alpha");
	memset(d, 'x', sizeof *d);
	d->file[sizeof d->file - 1] = '\0';
	d->reason[sizeof d->reason - 1] = '\0';
	d->line = -1;
	err = ib_config_parse(c, copy, len, FILE_NAME, d);
	free(copy);
	return err;
}

static int parse(struct ib_config *c, const char *text, struct ib_diag *d)
{
	return parse_n(c, text, strlen(text), d);
}

/* Asserts that text is refused with IB_ERR_CONFIG, naming FILE_NAME and `line`, with a reason
 * that contains `part` (or equals it when exact). */
static void check_refused(const char *text, size_t len, int line, const char *part, int exact,
                          int src_line)
{
	struct ib_config c;
	struct ib_diag d;
	char msg[600];
	int err = parse_n(&c, text, len, &d);
	int ok = err == IB_ERR_CONFIG && d.line == line && strcmp(d.file, FILE_NAME) == 0 &&
	         (exact ? strcmp(d.reason, part) == 0 : strstr(d.reason, part) != NULL);

	snprintf(msg, sizeof msg,
	         "refused(\"%.60s\"): got %s line %d reason \"%s\"; want line %d %s "
	         "\"%s\"",
	         text, ib_errname(err), d.line, d.reason, line, exact ? "reason" : "reason with",
	         part);
	CU_assertImplementation(ok, (unsigned)src_line, msg, __FILE__, "", CU_FALSE);
}

#define REFUSED(text, line, part) check_refused(text, strlen(text), line, part, 0, __LINE__)
#define REFUSED_EXACT(text, line, reason)                                                          \
	check_refused(text, strlen(text), line, reason, 1, __LINE__)
#define REFUSED_N(text, line, part) check_refused(text, sizeof (text) - 1, line, part, 0, __LINE__)

static void check_accepted(const char *text, struct ib_config *c, int src_line)
{
	struct ib_diag d;
	char msg[600];
	int err = parse(c, text, &d);

	snprintf(msg, sizeof msg, "accepted(\"%.60s\"): got %s, line %d: %s", text, ib_errname(err),
	         d.line, err ? d.reason : "");
	CU_assertImplementation(err == IB_OK, (unsigned)src_line, msg, __FILE__, "", CU_FALSE);
}

#define ACCEPTED(text, c) check_accepted(text, c, __LINE__)

static void assert_config_equal(const struct ib_config *a, const struct ib_config *b)
{
	CU_ASSERT_STRING_EQUAL(a->name, b->name);
	CU_ASSERT_STRING_EQUAL(a->listen, b->listen);
	CU_ASSERT_EQUAL(a->mode, b->mode);
	CU_ASSERT_EQUAL_FATAL(a->parent_count, b->parent_count);
	for (size_t i = 0; i < a->parent_count; i++)
		CU_ASSERT_STRING_EQUAL(a->parents[i], b->parents[i]);
	CU_ASSERT_EQUAL(a->keepalive_interval_ms, b->keepalive_interval_ms);
	CU_ASSERT_EQUAL(a->keepalive_timeout_ms, b->keepalive_timeout_ms);
	CU_ASSERT_EQUAL(a->max_message, b->max_message);
	CU_ASSERT_EQUAL(a->election_window_ms, b->election_window_ms);
	CU_ASSERT_EQUAL(a->reconnect_min_ms, b->reconnect_min_ms);
	CU_ASSERT_EQUAL(a->reconnect_max_ms, b->reconnect_max_ms);
	CU_ASSERT_EQUAL(a->max_store_items, b->max_store_items);
	CU_ASSERT_EQUAL(a->max_store_mib, b->max_store_mib);
	CU_ASSERT_EQUAL(a->max_writer_items, b->max_writer_items);
	CU_ASSERT_EQUAL(a->max_writer_mib, b->max_writer_mib);
	CU_ASSERT_EQUAL(a->max_pending, b->max_pending);
	CU_ASSERT_EQUAL(a->max_pending_per_source, b->max_pending_per_source);
	CU_ASSERT_EQUAL(a->max_elections, b->max_elections);
	CU_ASSERT_EQUAL_FATAL(a->command_count, b->command_count);
	for (size_t i = 0; i < a->command_count; i++)
		CU_ASSERT_STRING_EQUAL(a->commands[i], b->commands[i]);
}

/* prefix, then item0 sep item1 ... up to count items, then suffix; malloc'd. */
static char *repeat(const char *prefix, const char *item, size_t count, const char *sep,
                    const char *suffix)
{
	size_t cap = strlen(prefix) + count * (strlen(item) + strlen(sep) + 8) + strlen(suffix) + 1;
	char *s = malloc(cap);
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	n = (size_t)snprintf(s, cap, "%s", prefix);
	for (size_t i = 0; i < count; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s%s%zu", i ? sep : "", item, i);
	snprintf(s + n, cap - n, "%s", suffix);
	return s;
}

static void make_dir(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", ib_test_tmpdir(), name);
	CU_ASSERT_EQUAL_FATAL(mkdir(out, 0700), 0);
}

static void write_bytes(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(p, 1, len, f), len);
	CU_ASSERT_EQUAL(fclose(f), 0);
}

/* ---- Defaults -------------------------------------------------------------------------------- */

static void test_defaults(void)
{
	static const char *const cmds[] = {"ib.ping", "ib.info", "ib.get", "ib.fetch"};
	struct ib_config c;

	memset(&c, 0x5a, sizeof c);
	ib_config_defaults(&c, "alpha");
	CU_ASSERT_STRING_EQUAL(c.name, "alpha");
	CU_ASSERT_STRING_EQUAL(c.listen, "");
	CU_ASSERT_EQUAL(c.mode, IB_ROLE_SERVER);
	CU_ASSERT_EQUAL(c.parent_count, 0);
	CU_ASSERT_EQUAL(c.keepalive_interval_ms, 30000);
	CU_ASSERT_EQUAL(c.keepalive_timeout_ms, 10000);
	CU_ASSERT_EQUAL(c.max_message, 16777215);
	CU_ASSERT_EQUAL(c.election_window_ms, 500);
	CU_ASSERT_EQUAL(c.reconnect_min_ms, 1000);
	CU_ASSERT_EQUAL(c.reconnect_max_ms, 60000);
	/* [IFACE-21] the reference's bounds */
	CU_ASSERT_EQUAL(c.max_store_items, 65536);
	CU_ASSERT_EQUAL(c.max_store_mib, 256);
	CU_ASSERT_EQUAL(c.max_writer_items, 4096);
	CU_ASSERT_EQUAL(c.max_writer_mib, 32);
	CU_ASSERT_EQUAL(c.max_pending, 128);
	CU_ASSERT_EQUAL(c.max_pending_per_source, 8);
	CU_ASSERT_EQUAL(c.max_elections, 64);
	/* [CMD-5] ib.publish is not a default command. */
	CU_ASSERT_EQUAL_FATAL(c.command_count, 4);
	for (size_t i = 0; i < 4; i++)
		CU_ASSERT_STRING_EQUAL(c.commands[i], cmds[i]);
	ib_config_defaults(NULL, "alpha"); /* does nothing */
}

static void test_default_name(void)
{
	struct ib_config c;
	char long_name[400];

	ib_config_defaults(&c, NULL);
	CU_ASSERT_STRING_EQUAL(c.name, "interbot");
	ib_config_defaults(&c, "");
	CU_ASSERT_STRING_EQUAL(c.name, "interbot");
	ib_config_defaults(&c, "caf\xc3\xa9 bot");
	CU_ASSERT_STRING_EQUAL(c.name, "caf\xc3\xa9 bot");

	/* 255 bytes kept, 300 cut to 255. */
	memset(long_name, 'a', sizeof long_name);
	long_name[255] = '\0';
	ib_config_defaults(&c, long_name);
	CU_ASSERT_EQUAL(strlen(c.name), 255);
	long_name[255] = 'a';
	long_name[300] = '\0';
	ib_config_defaults(&c, long_name);
	CU_ASSERT_EQUAL(strlen(c.name), 255);
	CU_ASSERT_EQUAL(memcmp(c.name, long_name, 255), 0);

	/* A character across byte 255 is dropped whole: 254 + "é" (2 bytes), 253 + "€" (3). */
	memcpy(long_name + 254, "\xc3\xa9zz", 5);
	ib_config_defaults(&c, long_name);
	CU_ASSERT_EQUAL(strlen(c.name), 254);
	memset(long_name, 'a', 254);
	memcpy(long_name + 253, "\xe2\x82\xac", 4);
	ib_config_defaults(&c, long_name);
	CU_ASSERT_EQUAL(strlen(c.name), 253);
	memcpy(long_name + 252, "\xe2\x82\xac", 4); /* ends exactly at 255: kept */
	ib_config_defaults(&c, long_name);
	CU_ASSERT_EQUAL(strlen(c.name), 255);

	/* Names node.conf could not hold give the fallback, so the defaults can be written. */
	ib_config_defaults(&c, "bad\xff");
	CU_ASSERT_STRING_EQUAL(c.name, "interbot");
	ib_config_defaults(&c, " padded");
	CU_ASSERT_STRING_EQUAL(c.name, "interbot");
	ib_config_defaults(&c, "two\nlines");
	CU_ASSERT_STRING_EQUAL(c.name, "interbot");
}

/* ---- Valid files ----------------------------------------------------------------------------- */

static void test_full_valid_file(void)
{
	static const char text[] = "# node.conf of beta\n"
	                           "name = beta \xe2\x9c\x93\n"
	                           "listen = [::1]:7416\n"
	                           "mode = client\n"
	                           "parents = 10.0.0.1:7415, alpha.example:7415 ,[2001:db8::1]:9\n"
	                           "keepalive_interval_ms = 100\n"
	                           "keepalive_timeout_ms = 3600000\n"
	                           "max_message = 65536\n"
	                           "election_window_ms = 600000\n"
	                           "commands = ib.ping, ib.publish,my-cmd_2\n"
	                           "reconnect_min_ms = 10\n"
	                           "reconnect_max_ms = 86400000\n";
	struct ib_config c;

	ACCEPTED(text, &c);
	CU_ASSERT_STRING_EQUAL(c.name, "beta \xe2\x9c\x93");
	CU_ASSERT_STRING_EQUAL(c.listen, "[::1]:7416");
	CU_ASSERT_EQUAL(c.mode, IB_ROLE_CLIENT);
	CU_ASSERT_EQUAL_FATAL(c.parent_count, 3);
	CU_ASSERT_STRING_EQUAL(c.parents[0], "10.0.0.1:7415");
	CU_ASSERT_STRING_EQUAL(c.parents[1], "alpha.example:7415");
	CU_ASSERT_STRING_EQUAL(c.parents[2], "[2001:db8::1]:9");
	CU_ASSERT_EQUAL(c.keepalive_interval_ms, 100);
	CU_ASSERT_EQUAL(c.keepalive_timeout_ms, 3600000);
	CU_ASSERT_EQUAL(c.max_message, 65536);
	CU_ASSERT_EQUAL(c.election_window_ms, 600000);
	CU_ASSERT_EQUAL_FATAL(c.command_count, 3);
	CU_ASSERT_STRING_EQUAL(c.commands[0], "ib.ping");
	CU_ASSERT_STRING_EQUAL(c.commands[1], "ib.publish");
	CU_ASSERT_STRING_EQUAL(c.commands[2], "my-cmd_2");
	CU_ASSERT_EQUAL(c.reconnect_min_ms, 10);
	CU_ASSERT_EQUAL(c.reconnect_max_ms, 86400000);
}

static void test_minimal_file_keeps_defaults(void)
{
	struct ib_config c, want;

	ACCEPTED("listen = 127.0.0.1:7415", &c); /* no final newline */
	ib_config_defaults(&want, "alpha");
	strcpy(want.listen, "127.0.0.1:7415");
	assert_config_equal(&c, &want);
}

/* [IFACE-2] blanks around '=' and at both ends, blank lines, comments; and CRLF line ends,
 * whose '\r' counts as a blank. */
static void test_blanks_comments_crlf(void)
{
	static const char text[] = "\n"
	                           "   \t \n"
	                           "# a comment = with an equals sign\n"
	                           "   \t# an indented comment\n"
	                           "\tlisten\t=\t127.0.0.1:7415\t \n"
	                           "name=gamma\r\n"
	                           "mode   =   client   \r\n"
	                           "\r\n"
	                           " \t\r\n"
	                           "  #\r\n"
	                           "election_window_ms =1\n"
	                           "keepalive_timeout_ms= 200\n"
	                           "commands =  ib.ping ,\tib.info\r\n";
	struct ib_config c;

	ACCEPTED(text, &c);
	CU_ASSERT_STRING_EQUAL(c.listen, "127.0.0.1:7415");
	CU_ASSERT_STRING_EQUAL(c.name, "gamma");
	CU_ASSERT_EQUAL(c.mode, IB_ROLE_CLIENT);
	CU_ASSERT_EQUAL(c.election_window_ms, 1);
	CU_ASSERT_EQUAL(c.keepalive_timeout_ms, 200);
	CU_ASSERT_EQUAL_FATAL(c.command_count, 2);
	CU_ASSERT_STRING_EQUAL(c.commands[0], "ib.ping");
	CU_ASSERT_STRING_EQUAL(c.commands[1], "ib.info");

	/* Inside a value, blanks and '#' are the value's own. */
	ACCEPTED(LISTEN "name = my bot # one\r\n", &c);
	CU_ASSERT_STRING_EQUAL(c.name, "my bot # one");
	/* The first '=' splits; later ones are the value's. */
	ACCEPTED(LISTEN "name = a=b\n", &c);
	CU_ASSERT_STRING_EQUAL(c.name, "a=b");
	/* A lone "\r" line ending in the middle of a value stays in it. */
	ACCEPTED(LISTEN "name = a\rb\n", &c);
	CU_ASSERT_STRING_EQUAL(c.name, "a\rb");
}

/* ib_config_parse reads len bytes and not one more: the text need not end with a NUL. */
static void test_text_not_nul_terminated(void)
{
	static const char text[] = LISTEN "keepalive_interval_ms = 1000\nname = zzz\n";
	struct ib_config c;
	struct ib_diag d;
	const char *cut = strstr(text, "1000") + 3; /* "...= 100|0\n..." */

	IB_ASSERT_OK(parse_n(&c, text, (size_t)(cut - text), &d));
	CU_ASSERT_EQUAL(c.keepalive_interval_ms, 100);
	CU_ASSERT_STRING_EQUAL(c.name, "alpha");

	/* A slice ending inside a listen address: "127.0.0.1:74" of "127.0.0.1:7415". */
	IB_ASSERT_OK(parse_n(&c, text, strlen("listen = 127.0.0.1:74"), &d));
	CU_ASSERT_STRING_EQUAL(c.listen, "127.0.0.1:74");
	/* A slice ending inside a key: "listen = ...\nkeep" is a line with no '='. */
	IB_ASSERT_ERR(parse_n(&c, text, strlen(LISTEN "keep"), &d), IB_ERR_CONFIG);
	CU_ASSERT_EQUAL(d.line, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "\"keep\" has no '='"));
}

static void test_invalid_arguments(void)
{
	struct ib_config c;
	struct ib_diag d;

	ib_config_defaults(&c, "alpha");
	IB_ASSERT_ERR(ib_config_parse(NULL, LISTEN, strlen(LISTEN), FILE_NAME, &d),
	              IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_config_parse(&c, NULL, 5, FILE_NAME, &d), IB_ERR_INVALID_ARG);
	/* NULL text of length 0 is an empty file (which lacks listen); a NULL diag is fine. */
	IB_ASSERT_ERR(ib_config_parse(&c, NULL, 0, FILE_NAME, NULL), IB_ERR_CONFIG);
	IB_ASSERT_ERR(ib_config_load(&c, NULL, NULL), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_config_load(NULL, "node.conf", NULL), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_config_write(NULL, "node.conf"), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_config_write(&c, NULL), IB_ERR_INVALID_ARG);
}

/* ---- Syntax errors --------------------------------------------------------------------------- */

static void test_unknown_key(void)
{
	REFUSED(LISTEN "\n# c\nlisten_port = 80\n", 4,
	        "unknown key \"listen_port\"; the keys are "
	        "name, listen, mode, parents,");
	REFUSED(LISTEN "Name = x\n", 2, "unknown key \"Name\"");   /* keys are case-sensitive */
	REFUSED(LISTEN "na me = x\n", 2, "unknown key \"na me\""); /* and one word */
	REFUSED(LISTEN "= x\n", 2, "no key before '='");
	REFUSED("handshake_timeout_ms = 10000\n" LISTEN, 1, "unknown key"); /* not configurable */
	/* The list of keys names all eleven. */
	REFUSED(LISTEN "x = 1\n", 2, "commands, reconnect_min_ms, reconnect_max_ms");
}

static void test_repeated_key(void)
{
	REFUSED_EXACT("name = a\n" LISTEN "\n# again:\nname = a\n", 5,
	              "name: repeated key (first set on line 1); each key is allowed once");
	REFUSED(LISTEN LISTEN, 2, "listen: repeated key (first set on line 1)");
	REFUSED(LISTEN "parents =\nparents = a:1\n", 3, "parents: repeated key");
	REFUSED(LISTEN "max_message = 65536\nmax_message = 65536\n", 3, "max_message: repeated");
}

static void test_line_without_equals(void)
{
	REFUSED_EXACT(LISTEN "mode server\n", 2,
	              "\"mode server\" has no '='; a line is "
	              "`key = value`");
	REFUSED("listen\n", 1, "has no '='");
	REFUSED(LISTEN "\n\n  ;comment\n", 4, "\";comment\" has no '='");
}

static void test_empty_values(void)
{
	struct ib_config c;

	REFUSED_EXACT(LISTEN "name =\n", 2, "name: empty value; 1..255 bytes are required");
	REFUSED_EXACT("listen = \t\n", 1,
	              "listen: empty value; host:port or [v6]:port is required");
	REFUSED_EXACT(LISTEN "mode=\n", 2, "mode: empty value; server or client is required");
	REFUSED_EXACT(LISTEN "keepalive_interval_ms =\n", 2,
	              "keepalive_interval_ms: empty value; a decimal number 100..3600000 is "
	              "required");
	REFUSED(LISTEN "reconnect_max_ms =\n", 2,
	        "reconnect_max_ms: empty value; a decimal number reconnect_min_ms..86400000");
	/* Empty lists are allowed: no parents (a root), no commands. */
	ACCEPTED(LISTEN "parents =\ncommands = \n", &c);
	CU_ASSERT_EQUAL(c.parent_count, 0);
	CU_ASSERT_EQUAL(c.command_count, 0);
}

/* [IFACE-2] UTF-8 text: a NUL byte, bytes that are not UTF-8, and a BOM are refused, with
 * the line they are on, even in a comment. */
static void test_nul_byte(void)
{
	REFUSED_N(LISTEN "name = a\0b\n", 2, "NUL byte");
	REFUSED_N("\0" LISTEN, 1, "NUL byte");
	REFUSED_N(LISTEN "\n# \0 in a comment\n", 3, "NUL byte");
	REFUSED_N(LISTEN "name = ab\0", 2, "NUL byte"); /* last byte, no newline */
}

static void test_invalid_utf8(void)
{
	struct ib_config c;

	REFUSED(LISTEN "name = \xff\n", 2, "not valid UTF-8");
	REFUSED(LISTEN "name = \xc0\xaf\n", 2, "not valid UTF-8");         /* overlong '/' */
	REFUSED(LISTEN "name = \xed\xa0\x80\n", 2, "not valid UTF-8");     /* surrogate */
	REFUSED(LISTEN "name = \xf4\x90\x80\x80\n", 2, "not valid UTF-8"); /* > U+10FFFF */
	REFUSED(LISTEN "# caf\xe9 (Latin-1)\n", 2, "not valid UTF-8");
	REFUSED(LISTEN "name = \xe2\x82", 2, "not valid UTF-8"); /* cut at the end */
	REFUSED("\xef\xbb\xbf" LISTEN, 1, "byte order mark (BOM)");
	ACCEPTED(LISTEN "name = \xf0\x9f\xa4\x96 na\xc3\xafve\n", &c);
	CU_ASSERT_STRING_EQUAL(c.name, "\xf0\x9f\xa4\x96 na\xc3\xafve");
}

static void test_line_too_long(void)
{
	char *text = malloc(2 * IB_CONF_MAX_LINE + 100);
	struct ib_config c;
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	/* A comment of exactly IB_CONF_MAX_LINE bytes (the '\n' not counted) is fine. */
	n = (size_t)sprintf(text, LISTEN "#");
	memset(text + n, 'x', IB_CONF_MAX_LINE - 1);
	strcpy(text + n + IB_CONF_MAX_LINE - 1, "\n");
	ACCEPTED(text, &c);
	/* One more byte is refused, even in a comment, with the line it is on. */
	strcpy(text + n + IB_CONF_MAX_LINE - 1, "x\nname = b\n");
	REFUSED(text, 2, "the line is 4097 bytes long; at most 4096 are allowed");
	/* A '\r' counts. */
	strcpy(text + n + IB_CONF_MAX_LINE - 1, "\r\n");
	REFUSED(text, 2, "4097 bytes");
	/* The last line, with no newline. */
	strcpy(text + n + IB_CONF_MAX_LINE - 1, "x");
	REFUSED(text, 2, "4097 bytes");
	free(text);
}

/* ---- Values ---------------------------------------------------------------------------------- */

static void test_name_length(void)
{
	char text[400];
	struct ib_config c;

	snprintf(text, sizeof text, LISTEN "name = %0255d\n", 7);
	ACCEPTED(text, &c);
	CU_ASSERT_EQUAL(strlen(c.name), 255);
	snprintf(text, sizeof text, LISTEN "name = %0256d\n", 7);
	REFUSED_EXACT(text, 2, "name: 256 bytes is too long; 1..255 are allowed");
}

static void test_mode(void)
{
	struct ib_config c;

	ACCEPTED(LISTEN "mode = server\n", &c);
	CU_ASSERT_EQUAL(c.mode, IB_ROLE_SERVER);
	ACCEPTED(LISTEN "mode = client\n", &c);
	CU_ASSERT_EQUAL(c.mode, IB_ROLE_CLIENT);
	REFUSED_EXACT(LISTEN "mode = Server\n", 2,
	              "mode: \"Server\" is not allowed; server or client is");
	REFUSED(LISTEN "mode = root\n", 2, "mode: \"root\"");
	REFUSED(LISTEN "mode = server client\n", 2, "mode:");
}

struct number_case {
	const char *key;
	uint32_t min, max;
	const char *extra; /* another line the bound needs */
};

/* [IFACE-2] each numeric key of section 18 at min-1, min, max and max+1. */
static void test_number_ranges(void)
{
	/* cppcheck-suppress shadowVariable ; the suite's cases[] (at the end) is not used here */
	static const struct number_case cases[] = {
	    {"keepalive_interval_ms", 100, 3600000, ""},
	    {"keepalive_timeout_ms", 100, 3600000, ""},
	    {"max_message", 65536, 16777215, ""},
	    {"election_window_ms", 1, 600000, ""},
	    /* reconnect_max_ms would be below 3600000 otherwise. */
	    {"reconnect_min_ms", 10, 3600000, "reconnect_max_ms = 86400000\n"},
	    /* reconnect_min_ms would be above 10 otherwise. */
	    {"reconnect_max_ms", 10, 86400000, "reconnect_min_ms = 10\n"},
	    /* [IFACE-21] the bounds of section 18 */
	    {"max_store_items", 1024, 16777216, ""},
	    {"max_store_mib", 32, 1048576, ""},
	    {"max_writer_items", 16, 4096, ""},
	    {"max_writer_mib", 17, 1048576, ""},
	    {"max_pending", 16, 256, ""},
	    {"max_pending_per_source", 1, 16, ""},
	    {"max_elections", 16, 1024, ""},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct number_case *t = &cases[i];
		uint32_t values[4] = {t->min - 1, t->min, t->max, t->max + 1};
		const char *range =
		    strcmp(t->key, "reconnect_max_ms") == 0 ? "reconnect_min_ms" : "";

		for (int v = 0; v < 4; v++) {
			char text[256], reason[256], lo[16];
			struct ib_config c;

			snprintf(text, sizeof text, LISTEN "%s%s = %u\n", t->extra, t->key,
			         values[v]);
			if (v == 1 || v == 2) {
				ACCEPTED(text, &c);
				continue;
			}
			snprintf(lo, sizeof lo, "%u", t->min);
			if (v == 0 && *range) /* below the other key: the check after the file */
				snprintf(reason, sizeof reason,
				         "%s: %u is below reconnect_min_ms (%u); allowed "
				         "reconnect_min_ms..%u",
				         t->key, values[v], t->min, t->max);
			else
				snprintf(reason, sizeof reason, "%s: %u is out of range %s..%u",
				         t->key, values[v], *range ? range : lo, t->max);
			check_refused(text, strlen(text), *t->extra ? 3 : 2, reason, 1, __LINE__);
		}
	}
	/* The example of the brief, word for word. */
	REFUSED_EXACT(LISTEN "keepalive_interval_ms = 50\n", 2,
	              "keepalive_interval_ms: 50 is out of range 100..3600000");
}

static void test_number_syntax(void)
{
	struct ib_config c;

	REFUSED_EXACT(LISTEN "max_message = 4294967296\n", 2,
	              "max_message: 4294967296 is out of range 65536..16777215");
	REFUSED_EXACT(LISTEN "max_message = 99999999999\n", 2,
	              "max_message: 99999999999 is out of range 65536..16777215");
	REFUSED(LISTEN "max_message = 4294967295\n", 2, "out of range");
	REFUSED(LISTEN "reconnect_max_ms = 18446744073709551617\n", 2, "out of range");
	REFUSED(LISTEN "election_window_ms = 00000000001\n", 2, "out of range"); /* 11 digits */
	REFUSED_EXACT(LISTEN "election_window_ms = +5\n", 2,
	              "election_window_ms: \"+5\" is not a decimal number; digits only, "
	              "1..600000");
	REFUSED(LISTEN "election_window_ms = -5\n", 2, "\"-5\" is not a decimal number");
	REFUSED(LISTEN "election_window_ms = 0x10\n", 2, "\"0x10\" is not a decimal number");
	REFUSED(LISTEN "election_window_ms = 1e3\n", 2, "not a decimal number");
	REFUSED(LISTEN "election_window_ms = 500ms\n", 2, "not a decimal number");
	REFUSED(LISTEN "election_window_ms = 5 00\n", 2, "not a decimal number");
	REFUSED(LISTEN "election_window_ms = 1,000\n", 2, "not a decimal number");
	REFUSED(LISTEN "election_window_ms = \xd9\xa5\n", 2, "not a decimal number"); /* Arabic 5 */
	/* Leading zeros are decimal digits (never octal), within 10 digits. */
	ACCEPTED(LISTEN "election_window_ms = 0000000010\n", &c);
	CU_ASSERT_EQUAL(c.election_window_ms, 10);
}

/* [TREE-2] reconnect_min_ms <= reconnect_max_ms, whatever the order of the lines. */
static void test_reconnect_order(void)
{
	struct ib_config c;

	REFUSED_EXACT("reconnect_max_ms = 500\n" LISTEN "reconnect_min_ms = 501\n", 1,
	              "reconnect_max_ms: 500 is below reconnect_min_ms (501); allowed "
	              "reconnect_min_ms..86400000");
	REFUSED("reconnect_min_ms = 501\n" LISTEN "reconnect_max_ms = 500\n", 3,
	        "reconnect_max_ms: 500 is below reconnect_min_ms (501)");
	/* The maximum is the default (60000): reported on the minimum's line. */
	REFUSED_EXACT(LISTEN "\nreconnect_min_ms = 60001\n", 3,
	              "reconnect_min_ms: 60001 is above reconnect_max_ms (60000, the default); "
	              "set reconnect_max_ms too");
	/* The minimum is the default (1000). */
	REFUSED(LISTEN "reconnect_max_ms = 999\n", 2,
	        "reconnect_max_ms: 999 is below reconnect_min_ms (1000)");
	ACCEPTED("reconnect_max_ms = 70000\nreconnect_min_ms = 70000\n" LISTEN, &c);
	CU_ASSERT_EQUAL(c.reconnect_min_ms, 70000);
	CU_ASSERT_EQUAL(c.reconnect_max_ms, 70000);
}

static void test_listen_required(void)
{
	struct ib_config c;
	struct ib_diag d;

	REFUSED_EXACT("", 0, "listen is required");
	REFUSED_EXACT("# only a comment\n\nname = x\n", 0, "listen is required");
	REFUSED("listen = 127.0.0.1\n", 1, "listen: \"127.0.0.1\": no :port");
	/* Parsed over a config that has one already, a file may leave it out. */
	ib_config_defaults(&c, "alpha");
	strcpy(c.listen, "[::1]:1");
	IB_ASSERT_OK(ib_config_parse(&c, "name = x\n", 9, FILE_NAME, &d));
	CU_ASSERT_STRING_EQUAL(c.listen, "[::1]:1");
	CU_ASSERT_STRING_EQUAL(c.name, "x");
}

static void test_parents(void)
{
	struct ib_config c;
	char buf[2048];
	size_t n;

	ACCEPTED(LISTEN "parents = a:1\n", &c);
	CU_ASSERT_EQUAL(c.parent_count, 1);
	CU_ASSERT_STRING_EQUAL(c.parents[0], "a:1");
	REFUSED_EXACT(LISTEN "parents = a:1,,b:2\n", 2,
	              "parents: empty entry; comma-separated host:port are allowed");
	REFUSED(LISTEN "parents = a:1,\n", 2, "parents: empty entry");
	REFUSED(LISTEN "parents = , a:1\n", 2, "parents: empty entry");
	REFUSED(LISTEN "parents = ,\n", 2, "parents: empty entry");
	REFUSED_EXACT(LISTEN "parents = a:1, b:0\n", 2,
	              "parents: \"b:0\": the port is not a decimal number 1..65535; host:port or "
	              "[v6]:port is allowed, port 1..65535");
	REFUSED(LISTEN "parents = a:1 b:2\n", 2, "parents: \"a:1 b:2\""); /* not comma-separated */
	REFUSED(LISTEN "parents = ::1:80\n", 2, "an IPv6 host must be in brackets");

	/* At most IB_MAX_PARENTS, in the order given. */
	n = (size_t)snprintf(buf, sizeof buf, LISTEN "parents = ");
	for (unsigned i = 0; i < IB_MAX_PARENTS; i++)
		n +=
		    (size_t)snprintf(buf + n, sizeof buf - n, "%sh%u:%u", i ? " , " : "", i, i + 1);
	strcat(buf, "\n");
	ACCEPTED(buf, &c);
	CU_ASSERT_EQUAL_FATAL(c.parent_count, IB_MAX_PARENTS);
	CU_ASSERT_STRING_EQUAL(c.parents[0], "h0:1");
	CU_ASSERT_STRING_EQUAL(c.parents[IB_MAX_PARENTS - 1], "h15:16");
	buf[strlen(buf) - 1] = '\0';
	strcat(buf, ",h16:17\n");
	REFUSED_EXACT(buf, 2, "parents: more than 16 addresses; at most 16 are allowed");
}

/* [IFACE-19] the first '=', no address twice, hosts never empty, `*` or non-ASCII. */
static void test_value_details(void)
{
	struct ib_config c;

	ACCEPTED(LISTEN "name = a=b = c\n", &c);
	CU_ASSERT_STRING_EQUAL(c.name, "a=b = c");
	ACCEPTED(LISTEN "parents =\n", &c);
	CU_ASSERT_EQUAL(c.parent_count, 0);
	REFUSED_EXACT(LISTEN "parents = a:1, b:2 ,a:1\n", 2, "parents: \"a:1\" is listed twice");
	ACCEPTED(LISTEN "parents = a:1, A:1, a:01\n", &c); /* other bytes: other addresses */
	CU_ASSERT_EQUAL(c.parent_count, 3);
	REFUSED(LISTEN "parents = :7000\n", 2, "the host is empty");
	REFUSED(LISTEN "parents = *:7000\n", 2, "the host has a character other than");
	REFUSED(LISTEN "parents = b\303\274cher.example:7000\n", 2,
		"the host has a character other than");
	ACCEPTED(LISTEN "parents = xn--bcher-kva.example:07000\n", &c);
	CU_ASSERT_STRING_EQUAL(c.parents[0], "xn--bcher-kva.example:07000");
	REFUSED(LISTEN "parents = a:000080\n", 2, "the port is not a decimal number");
}

static void test_commands(void)
{
	struct ib_config c;
	char *text, name[300];

	ACCEPTED(LISTEN "commands = ib.publish\n", &c);
	CU_ASSERT_EQUAL_FATAL(c.command_count, 1);
	CU_ASSERT_STRING_EQUAL(c.commands[0], "ib.publish");
	REFUSED_EXACT(LISTEN "commands = ib.ping, ib.info, ib.ping\n", 2,
	              "commands: \"ib.ping\" is listed twice");
	REFUSED_EXACT(LISTEN "commands = ib.ping, ib/get\n", 2,
	              "commands: \"ib/get\" is not a command name; 1..255 bytes of A-Z a-z 0-9 . "
	              "_ - are allowed");
	REFUSED(LISTEN "commands = ib ping\n", 2, "\"ib ping\" is not a command name");
	REFUSED(LISTEN "commands = caf\xc3\xa9\n", 2, "is not a command name");
	REFUSED(LISTEN "commands = ib.ping,,ib.info\n", 2, "commands: empty entry");
	REFUSED(LISTEN "commands = ib.ping,\n", 2, "commands: empty entry");

	/* A name of 255 bytes, then 256. */
	memset(name, 'c', 256);
	name[255] = '\0';
	text = malloc(600);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	snprintf(text, 600, LISTEN "commands = x,%s\n", name);
	ACCEPTED(text, &c);
	CU_ASSERT_EQUAL(strlen(c.commands[1]), 255);
	name[255] = 'c';
	name[256] = '\0';
	snprintf(text, 600, LISTEN "commands = x,%s\n", name);
	REFUSED(text, 2, "is not a command name; 1..255 bytes");
	free(text);

	/* At most IB_MAX_COMMANDS. */
	text = repeat(LISTEN "commands = ", "cmd", IB_MAX_COMMANDS, ", ", "\n");
	ACCEPTED(text, &c);
	CU_ASSERT_EQUAL(c.command_count, IB_MAX_COMMANDS);
	CU_ASSERT_STRING_EQUAL(c.commands[IB_MAX_COMMANDS - 1], "cmd63");
	free(text);
	text = repeat(LISTEN "commands = ", "cmd", IB_MAX_COMMANDS + 1, ",", "\n");
	REFUSED_EXACT(text, 2, "commands: more than 64 names; at most 64 are allowed");
	free(text);
}

/* A value is replaced by its line, not added to: a list set twice is a repeated key, and a
 * list set once replaces the default one. */
static void test_list_replaces_default(void)
{
	struct ib_config c;

	ACCEPTED(LISTEN "commands = ib.info\n", &c);
	CU_ASSERT_EQUAL(c.command_count, 1);
	CU_ASSERT_STRING_EQUAL(c.commands[0], "ib.info");
	CU_ASSERT_STRING_EQUAL(c.commands[1], ""); /* the old entries are cleared */
}

/* ---- Addresses ------------------------------------------------------------------------------- */

struct addr_case {
	const char *in;
	const char *host; /* NULL: refused */
	uint16_t port;
};

static void test_addr_parse(void)
{
	/* cppcheck-suppress shadowVariable ; the suite's cases[] (at the end) is not used here */
	static const struct addr_case cases[] = {
	    {"127.0.0.1:7415", "127.0.0.1", 7415},
	    {"localhost:1", "localhost", 1},
	    {"bot-1.example_net.org:65535", "bot-1.example_net.org", 65535},
	    {"[::1]:80", "::1", 80},
	    {"[2001:db8::a:b]:443", "2001:db8::a:b", 443},
	    {"[::ffff:1.2.3.4]:9", "::ffff:1.2.3.4", 9},
	    {"h:00080", "h", 80}, /* up to 5 digits */
	    {"host", NULL, 0},
	    {"host:", NULL, 0},
	    {":80", NULL, 0},
	    {"host:0", NULL, 0},
	    {"host:65536", NULL, 0},
	    {"host:000080", NULL, 0},
	    {"host:+80", NULL, 0},
	    {"host:-1", NULL, 0},
	    {"host:8a", NULL, 0},
	    {"host:80 ", NULL, 0},
	    {" host:80", NULL, 0},
	    {"[::1]", NULL, 0},
	    {"[::1]:", NULL, 0},
	    {"[::1]80", NULL, 0},
	    {"[::1", NULL, 0},
	    {"[]:80", NULL, 0},
	    {"[1.2.3.4]:80", NULL, 0}, /* brackets hold IPv6 only */
	    {"[localhost]:80", NULL, 0},
	    {"[fe80::1%eth0]:80", NULL, 0}, /* no zone ids */
	    {"[::1]:80:1", NULL, 0},
	    {"::1:80", NULL, 0},
	    {"::1", NULL, 0},
	    {"a b:80", NULL, 0},
	    {"a\tb:80", NULL, 0},
	    {"h\xc3\xb4st:80", NULL, 0},
	    {"a,b:80", NULL, 0},
	    {"", NULL, 0},
	};
	char host[IB_MAX_ADDR], longest[300];
	uint16_t port;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct addr_case *t = &cases[i];
		int err;

		strcpy(host, "unchanged");
		port = 0;
		err = ib_addr_parse(t->in, host, sizeof host, &port);
		if (t->host) {
			if (err != IB_OK || strcmp(host, t->host) != 0 || port != t->port)
				fprintf(stderr, "\naddr \"%s\": got %s %s %u\n", t->in,
				        ib_errname(err), host, port);
			IB_ASSERT_OK(err);
			CU_ASSERT_STRING_EQUAL(host, t->host);
			CU_ASSERT_EQUAL(port, t->port);
		} else {
			if (err != IB_ERR_RANGE)
				fprintf(stderr, "\naddr \"%s\": got %s\n", t->in, ib_errname(err));
			IB_ASSERT_ERR(err, IB_ERR_RANGE);
		}
	}

	/* A host of 253 bytes, then 254. */
	memset(longest, 'h', 253);
	strcpy(longest + 253, ":1");
	IB_ASSERT_OK(ib_addr_parse(longest, host, sizeof host, &port));
	CU_ASSERT_EQUAL(strlen(host), 253);
	memset(longest, 'h', 254);
	strcpy(longest + 254, ":1");
	IB_ASSERT_ERR(ib_addr_parse(longest, host, sizeof host, &port), IB_ERR_RANGE);

	/* host and port may be NULL (only checking); a host buffer too small is the caller's. */
	IB_ASSERT_OK(ib_addr_parse("a:1", NULL, 0, NULL));
	IB_ASSERT_ERR(ib_addr_parse("abcd:1", host, 4, &port), IB_ERR_INVALID_ARG);
	IB_ASSERT_OK(ib_addr_parse("abc:1", host, 4, &port));
	CU_ASSERT_STRING_EQUAL(host, "abc");
	IB_ASSERT_ERR(ib_addr_parse(NULL, host, sizeof host, &port), IB_ERR_INVALID_ARG);
}

/* Each address refusal says why, after the key and the value. */
static void test_addr_reasons(void)
{
	REFUSED("listen = host\n", 1, "listen: \"host\": no :port;");
	REFUSED("listen = host:\n", 1, "listen: \"host:\": the port is not a decimal number");
	REFUSED("listen = :80\n", 1, "listen: \":80\": the host is empty");
	REFUSED("listen = host:65536\n", 1, "the port is not a decimal number 1..65535");
	REFUSED("listen = [::1]\n", 1, "listen: \"[::1]\": no :port after ']'");
	REFUSED("listen = [::1\n", 1, "no ']' after the IPv6 host");
	REFUSED("listen = [x]:1\n", 1, "the host in brackets is not an IPv6 address");
	REFUSED("listen = ::1:80\n", 1, "an IPv6 host must be in brackets, as [::1]:port");
	REFUSED("listen = a b:80\n", 1, "the host has a character other than A-Z a-z 0-9 . _ -");
}

/* ---- Load and write -------------------------------------------------------------------------- */

static void sample_config(struct ib_config *c)
{
	ib_config_defaults(c, "delta");
	strcpy(c->name, "delta \xce\x94 # not a comment");
	strcpy(c->listen, "[::1]:7416");
	c->mode = IB_ROLE_CLIENT;
	strcpy(c->parents[0], "10.0.0.1:7415");
	strcpy(c->parents[1], "[2001:db8::1]:7415");
	c->parent_count = 2;
	c->keepalive_interval_ms = 1234;
	c->keepalive_timeout_ms = 4321;
	c->max_message = 65536;
	c->election_window_ms = 7;
	c->reconnect_min_ms = 10;
	c->reconnect_max_ms = 86400000;
	strcpy(c->commands[4], "ib.publish");
	c->command_count = 5;
}

static void test_write_load_round_trip(void)
{
	struct ib_config c, back;
	struct ib_diag d;
	char dir[512], path[600], text[2048];
	struct stat st;
	FILE *f;
	size_t n;

	make_dir(dir, sizeof dir, "round-trip");
	snprintf(path, sizeof path, "%s/node.conf", dir);
	sample_config(&c);
	IB_ASSERT_OK(ib_config_write(&c, path));
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0644);
	CU_ASSERT_EQUAL(ib_test_count_entries(dir), 1); /* no temporary file left */
	memset(&back, 0x5a, sizeof back);
	IB_ASSERT_OK(ib_config_load(&back, path, &d));
	assert_config_equal(&c, &back);

	/* A header comment, then every key in the order of the spec's table. */
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	CU_ASSERT_EQUAL(text[0], '#');
	{
		static const char *const order[] = {
		    "\nname = delta \xce\x94 # not a comment\n",
		    "\nlisten = [::1]:7416\n",
		    "\nmode = client\n",
		    "\nparents = 10.0.0.1:7415,[2001:db8::1]:7415\n",
		    "\nkeepalive_interval_ms = 1234\n",
		    "\nkeepalive_timeout_ms = 4321\n",
		    "\nmax_message = 65536\n",
		    "\nelection_window_ms = 7\n",
		    "\ncommands = ib.ping,ib.info,ib.get,ib.fetch,ib.publish\n",
		    "\nreconnect_min_ms = 10\n",
		    "\nreconnect_max_ms = 86400000\n",
		};
		const char *at = text;

		for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
			const char *next = strstr(at, order[i]);

			if (!next)
				fprintf(stderr, "\n%s not found in order in:\n%s", order[i], text);
			CU_ASSERT_PTR_NOT_NULL_FATAL(next);
			at = next + 1;
		}
	}

	/* Written again, over the old file: replaced. Empty lists and defaults too. */
	ib_config_defaults(&c, "delta");
	strcpy(c.listen, "127.0.0.1:1");
	c.command_count = 0;
	IB_ASSERT_OK(ib_config_write(&c, path));
	IB_ASSERT_OK(ib_config_load(&back, path, &d));
	assert_config_equal(&c, &back);
	CU_ASSERT_EQUAL(ib_test_count_entries(dir), 1);
}

/* Lists at their limits: 16 parents and 64 commands, and a line of exactly 4096 bytes read
 * from a compact `key=value` line, which must still be writable. */
static void test_write_round_trip_limits(void)
{
	struct ib_config c, back;
	struct ib_diag d;
	char dir[512], path[600], *text;
	size_t n;

	make_dir(dir, sizeof dir, "limits");
	snprintf(path, sizeof path, "%s/node.conf", dir);
	ib_config_defaults(&c, "limits");
	strcpy(c.listen, "h:1");
	for (unsigned i = 0; i < IB_MAX_PARENTS; i++)
		snprintf(c.parents[i], IB_MAX_ADDR, "parent-%u.example:%u", i, 1000 + i);
	c.parent_count = IB_MAX_PARENTS;
	for (unsigned i = 0; i < IB_MAX_COMMANDS; i++)
		snprintf(c.commands[i], sizeof c.commands[i], "command.%u", i);
	c.command_count = IB_MAX_COMMANDS;
	IB_ASSERT_OK(ib_config_write(&c, path));
	IB_ASSERT_OK(ib_config_load(&back, path, &d));
	assert_config_equal(&c, &back);

	/* "commands=" and 4087 bytes of names: 4096 bytes, no room for " = ". */
	text = malloc(IB_CONF_MAX_LINE + 100);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	n = (size_t)sprintf(text, LISTEN "commands=");
	for (int i = 0; i < 16; i++)
		n += (size_t)sprintf(text + n, "%s%0250d", i ? "," : "", i); /* 16 * 251 - 1 */
	n += (size_t)sprintf(text + n, ",%070d", 99);                        /* + 71 = 4086 */
	n += (size_t)sprintf(text + n, "%s", "x\n");                         /* + 1 = 4087 */
	CU_ASSERT_EQUAL(n, strlen(LISTEN) + IB_CONF_MAX_LINE + 1);
	ACCEPTED(text, &c);
	CU_ASSERT_EQUAL(c.command_count, 17);
	IB_ASSERT_OK(ib_config_write(&c, path));
	IB_ASSERT_OK(ib_config_load(&back, path, &d));
	assert_config_equal(&c, &back);
	free(text);
}

/* The writer refuses a config the parser would refuse or read back otherwise, and then leaves
 * no file behind. */
static void test_write_refuses_bad_config(void)
{
	struct ib_config c;
	char dir[512], path[600];

	make_dir(dir, sizeof dir, "refused");
	snprintf(path, sizeof path, "%s/node.conf", dir);

	sample_config(&c);
	c.listen[0] = '\0'; /* required */
	IB_ASSERT_ERR(ib_config_write(&c, path), IB_ERR_INVALID_ARG);
	sample_config(&c);
	strcpy(c.name, " padded"); /* would read back as "padded" */
	IB_ASSERT_ERR(ib_config_write(&c, path), IB_ERR_INVALID_ARG);
	sample_config(&c);
	strcpy(c.name, "two\nlines");
	IB_ASSERT_ERR(ib_config_write(&c, path), IB_ERR_INVALID_ARG);
	sample_config(&c);
	c.mode = 0;
	IB_ASSERT_ERR(ib_config_write(&c, path), IB_ERR_INVALID_ARG);
	sample_config(&c);
	strcpy(c.parents[1], "no-port");
	IB_ASSERT_ERR(ib_config_write(&c, path), IB_ERR_INVALID_ARG);
	sample_config(&c);
	c.parent_count = IB_MAX_PARENTS + 1;
	IB_ASSERT_ERR(ib_config_write(&c, path), IB_ERR_INVALID_ARG);
	sample_config(&c);
	c.keepalive_interval_ms = 99;
	IB_ASSERT_ERR(ib_config_write(&c, path), IB_ERR_INVALID_ARG);
	sample_config(&c);
	c.reconnect_max_ms = 9;
	IB_ASSERT_ERR(ib_config_write(&c, path), IB_ERR_INVALID_ARG);
	sample_config(&c);
	strcpy(c.commands[1], c.commands[0]); /* a duplicate */
	IB_ASSERT_ERR(ib_config_write(&c, path), IB_ERR_INVALID_ARG);
	sample_config(&c);
	memset(c.name, 'n', sizeof c.name); /* no NUL inside the array */
	IB_ASSERT_ERR(ib_config_write(&c, path), IB_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(ib_test_count_entries(dir), 0);

	/* A directory that does not exist. */
	sample_config(&c);
	snprintf(path, sizeof path, "%s/absent/node.conf", dir);
	IB_ASSERT_ERR(ib_config_write(&c, path), IB_ERR_IO);
}

static void test_load_errors_name_the_file(void)
{
	struct ib_config c;
	struct ib_diag d;
	char dir[512], path[600];
	char *big;

	make_dir(dir, sizeof dir, "load-errors");
	snprintf(path, sizeof path, "%s/node.conf", dir);

	/* Absent, or a directory. */
	IB_ASSERT_ERR(ib_config_load(&c, path, &d), IB_ERR_IO);
	CU_ASSERT_STRING_EQUAL(d.file, path);
	CU_ASSERT_EQUAL(d.line, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "cannot open"));
	IB_ASSERT_ERR(ib_config_load(&c, dir, &d), IB_ERR_IO);
	CU_ASSERT_STRING_EQUAL(d.file, dir);

	/* A syntax error: the path given and the line. */
	write_bytes(path, LISTEN "\nmode = both\n", strlen(LISTEN "\nmode = both\n"));
	IB_ASSERT_ERR(ib_config_load(&c, path, &d), IB_ERR_CONFIG);
	CU_ASSERT_STRING_EQUAL(d.file, path);
	CU_ASSERT_EQUAL(d.line, 3);
	CU_ASSERT_STRING_EQUAL(d.reason, "mode: \"both\" is not allowed; server or client is");

	/* A NUL byte in the file. */
	write_bytes(path, LISTEN "name = a\0b\n", sizeof LISTEN "name = a\0b\n" - 1);
	IB_ASSERT_ERR(ib_config_load(&c, path, &d), IB_ERR_CONFIG);
	CU_ASSERT_EQUAL(d.line, 2);

	/* 1 MiB is allowed; one byte more is not. */
	big = malloc(1024 * 1024 + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, '\n', 1024 * 1024 + 1);
	memcpy(big, LISTEN, strlen(LISTEN));
	write_bytes(path, big, 1024 * 1024);
	IB_ASSERT_OK(ib_config_load(&c, path, &d));
	write_bytes(path, big, 1024 * 1024 + 1);
	IB_ASSERT_ERR(ib_config_load(&c, path, &d), IB_ERR_CONFIG);
	CU_ASSERT_STRING_EQUAL(d.file, path);
	CU_ASSERT_EQUAL(d.line, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "larger than 1 MiB"));
	free(big);
}

/* [IFACE-2] name defaults to the base name of the directory that holds node.conf. */
static void test_load_default_name_is_directory(void)
{
	struct ib_config c;
	struct ib_diag d;
	char dir[512], path[700], sub[600], cwd[PATH_MAX];

	make_dir(dir, sizeof dir, "epsilon-node");
	snprintf(path, sizeof path, "%s/node.conf", dir);
	write_bytes(path, LISTEN, strlen(LISTEN));
	IB_ASSERT_OK(ib_config_load(&c, path, &d));
	CU_ASSERT_STRING_EQUAL(c.name, "epsilon-node");

	/* "dir/sub/../node.conf" and "dir//node.conf" name dir too. */
	snprintf(sub, sizeof sub, "%s/sub", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0700), 0);
	snprintf(path, sizeof path, "%s/../node.conf", sub);
	IB_ASSERT_OK(ib_config_load(&c, path, &d));
	CU_ASSERT_STRING_EQUAL(c.name, "epsilon-node");
	snprintf(path, sizeof path, "%s//node.conf", dir);
	IB_ASSERT_OK(ib_config_load(&c, path, &d));
	CU_ASSERT_STRING_EQUAL(c.name, "epsilon-node");

	/* A bare "node.conf": the current directory. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof cwd));
	CU_ASSERT_EQUAL_FATAL(chdir(dir), 0);
	IB_ASSERT_OK(ib_config_load(&c, "node.conf", &d));
	CU_ASSERT_EQUAL_FATAL(chdir(cwd), 0);
	CU_ASSERT_STRING_EQUAL(c.name, "epsilon-node");

	/* A name line wins. */
	snprintf(path, sizeof path, "%s/node.conf", dir);
	write_bytes(path, LISTEN "name = zeta\n", strlen(LISTEN "name = zeta\n"));
	IB_ASSERT_OK(ib_config_load(&c, path, &d));
	CU_ASSERT_STRING_EQUAL(c.name, "zeta");
}

static const struct ib_test_case cases[] = {
    IB_TEST(test_defaults, "IFACE-2"),
    IB_TEST(test_default_name, "IFACE-2"),
    IB_TEST(test_full_valid_file, "IFACE-2"),
    IB_TEST(test_minimal_file_keeps_defaults, "IFACE-2"),
    IB_TEST(test_blanks_comments_crlf, "IFACE-2"),
    IB_TEST(test_text_not_nul_terminated, ""),
    IB_TEST(test_invalid_arguments, ""),
    IB_TEST(test_unknown_key, "IFACE-2"),
    IB_TEST(test_repeated_key, "IFACE-2"),
    IB_TEST(test_line_without_equals, "IFACE-2"),
    IB_TEST(test_empty_values, "IFACE-2"),
    IB_TEST(test_nul_byte, "IFACE-2"),
    IB_TEST(test_invalid_utf8, "IFACE-2"),
    IB_TEST(test_line_too_long, "IFACE-2"),
    IB_TEST(test_name_length, "IFACE-2"),
    IB_TEST(test_mode, "IFACE-2"),
    IB_TEST(test_number_ranges, "IFACE-2"),
    IB_TEST(test_number_syntax, "IFACE-2"),
    IB_TEST(test_reconnect_order, "IFACE-2"),
    IB_TEST(test_listen_required, "IFACE-2"),
    IB_TEST(test_parents, "IFACE-2"),
    IB_TEST(test_value_details, "IFACE-19 IFACE-11"),
    IB_TEST(test_commands, "IFACE-2"),
    IB_TEST(test_list_replaces_default, "IFACE-2"),
    IB_TEST(test_addr_parse, "IFACE-2"),
    IB_TEST(test_addr_reasons, "IFACE-2"),
    IB_TEST(test_write_load_round_trip, "IFACE-2"),
    IB_TEST(test_write_round_trip_limits, "IFACE-2"),
    IB_TEST(test_write_refuses_bad_config, ""),
    IB_TEST(test_load_errors_name_the_file, "IFACE-2"),
    IB_TEST(test_load_default_name_is_directory, "IFACE-2"),
    IB_TEST_END,
};

const struct ib_test_suite ib_suite_config = {"config", NULL, NULL, cases};
