/*
 * config.c - node.conf, the settings file of a node directory (spec section 19.1, [IFACE-2]),
 * and the host:port addresses it holds.
 *
 * The keys are one table, in the spec's order (which is also the order ib_config_write uses):
 * each row has a value parser and a value writer for its kind, and the numeric rows their
 * range (section 18) and default. A line is checked as text first (length, NUL, UTF-8), then
 * split at its first '=' into a key and a value. Every refusal is IB_ERR_CONFIG with a diag
 * that names the file, the line, the key and what the key allows.
 *
 * node.conf is written by the node's owner, not by a peer, so this file walks text with
 * slices and memchr rather than through the peer reader (reader.h); it never reads past the
 * length it is given, and never needs the text to end with a NUL.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "interbot.h"

#include "fault.h"
#include "file.h"
#include "reader.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONF_MAX_FILE (1024u * 1024u) /* ib_config_load refuses larger files */
#define HOST_MAX 253u                 /* RFC 1035: the longest DNS name in text */
#define PORT_MAX_DIGITS 5u
#define NUMBER_MAX_DIGITS 10u /* UINT32_MAX has 10 digits */
#define DEFAULT_NAME "interbot"
#define EXCERPT_MAX 32u /* bytes of a value quoted in a diagnostic */

static const char *const default_commands[] = {"ib.ping", "ib.info", "ib.get", "ib.fetch"};

/* ---- Slices of the text -------------------------------------------------------------------- */

static struct ib_slice slice_of(const void *p, size_t len)
{
	struct ib_slice s = {p, len};

	return s;
}

/* [IFACE-2] spaces and tabs around '=' and at both ends of a line are ignored; a '\r' too, so
 * that a file saved with CRLF line ends reads the same as one with LF. */
static bool is_blank(uint8_t ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

static struct ib_slice trim(struct ib_slice s)
{
	while (s.len && is_blank(s.ptr[0])) {
		s.ptr++;
		s.len--;
	}
	while (s.len && is_blank(s.ptr[s.len - 1]))
		s.len--;
	return s;
}

static bool slice_is(struct ib_slice s, const char *z)
{
	size_t n = strlen(z);

	return s.len == n && memcmp(s.ptr, z, n) == 0;
}

static bool slice_equal(struct ib_slice a, struct ib_slice b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool is_digit(uint8_t ch)
{
	return ch >= '0' && ch <= '9';
}

/* The characters of a command name and of a host name outside brackets: [IFACE-19] ASCII
 * letters only. FAULT conf-host-unicode-letters, breaks [IFACE-19]: any byte of a non-ASCII
 * character passes for a letter. */
static bool is_name_char(uint8_t ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) || ch == '.' ||
	       ch == '_' || ch == '-' || (ch >= 0x80 && IB_FAULT_ENV(conf_host_unicode_letters));
}

static bool all_name_chars(struct ib_slice s)
{
	for (size_t i = 0; i < s.len; i++)
		if (!is_name_char(s.ptr[i]))
			return false;
	return true;
}

static bool all_digits(struct ib_slice s)
{
	for (size_t i = 0; i < s.len; i++)
		if (!is_digit(s.ptr[i]))
			return false;
	return s.len > 0;
}

/* Decimal digits only: no sign, no 0x, at most max_digits of them (so no overflow). */
static bool decimal(struct ib_slice s, size_t max_digits, uint64_t *out)
{
	uint64_t v = 0;

	if (!all_digits(s) || s.len > max_digits)
		return false;
	for (size_t i = 0; i < s.len; i++)
		v = v * 10 + (uint64_t)(s.ptr[i] - '0');
	*out = v;
	return true;
}

/* Copies s into a char array of cap bytes, zero-filled past the text (so that two configs with
 * the same settings are the same bytes). Callers checked the length: a longer s is a bug. */
static void set_text(char *dst, size_t cap, struct ib_slice s)
{
	if (s.len >= cap) {
		fprintf(stderr, "config.c: %zu bytes do not fit in %zu\n", s.len, cap);
		abort();
	}
	memset(dst, 0, cap);
	if (s.len)
		memcpy(dst, s.ptr, s.len);
}

static struct ib_slice text_slice(const char *z)
{
	return slice_of(z, strlen(z));
}

/* A short printable copy of s for a diagnostic: at most EXCERPT_MAX bytes cut at a character
 * boundary (the line is valid UTF-8 by then), control bytes shown as '?' so that a reason is
 * one line a terminal prints safely. */
struct excerpt {
	char s[EXCERPT_MAX + sizeof "..."];
};

static const char *excerpt(struct excerpt *e, struct ib_slice s)
{
	size_t n = s.len <= EXCERPT_MAX ? s.len : EXCERPT_MAX;

	if (n < s.len)
		while (n > 0 && (s.ptr[n] & 0xc0) == 0x80)
			n--;
	for (size_t i = 0; i < n; i++)
		/* NOLINTNEXTLINE(bugprone-narrowing-conversions): '?' is an int; both are chars */
		e->s[i] = s.ptr[i] < 0x20 || s.ptr[i] == 0x7f ? '?' : (char)s.ptr[i];
	memcpy(e->s + n, n < s.len ? "..." : "", n < s.len ? sizeof "..." : 1);
	return e->s;
}

/* ---- Diagnostics ----------------------------------------------------------------------------- */

/* Where a value came from. */
struct where {
	const char *file;
	int line; /* from 1; 0 for the whole file */
	struct ib_diag *diag;
};

static int fail(const struct where *at, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* [IFACE-2] every refusal names the file and the line. Returns IB_ERR_CONFIG. */
static int fail(const struct where *at, const char *fmt, ...)
{
	char reason[sizeof((struct ib_diag *)0)->reason];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	ib_diag_set(at->diag, at->file, at->line, "%s", reason);
	return IB_ERR_CONFIG;
}

/* ---- Addresses ------------------------------------------------------------------------------- */

struct addr {
	struct ib_slice host; /* without brackets */
	uint16_t port;
};

/* "[v6]:port": the host must be an IPv6 literal (inet_pton, no lookup). */
static int split_bracketed(struct ib_slice s, struct addr *a, const char **why)
{
	const uint8_t *close = memchr(s.ptr, ']', s.len);
	char host[HOST_MAX + 1];
	uint8_t bin[16];
	size_t n;

	if (!close) {
		*why = "no ']' after the IPv6 host";
		return IB_ERR_RANGE;
	}
	n = (size_t)(close - s.ptr) - 1;
	if (n == 0 || n > HOST_MAX) {
		*why = n ? "the host is longer than 253 bytes" : "the host is empty";
		return IB_ERR_RANGE;
	}
	memcpy(host, s.ptr + 1, n);
	host[n] = '\0';
	if (inet_pton(AF_INET6, host, bin) != 1) {
		*why = "the host in brackets is not an IPv6 address";
		return IB_ERR_RANGE;
	}
	if ((size_t)(close - s.ptr) + 1 == s.len || close[1] != ':') {
		*why = "no :port after ']'";
		return IB_ERR_RANGE;
	}
	a->host = slice_of(s.ptr + 1, n);
	return IB_OK;
}

/* "host:port": a DNS name or IPv4 address, so no ':' (an IPv6 host needs brackets). */
static int split_plain(struct ib_slice s, struct addr *a, const char **why)
{
	const uint8_t *colon = memchr(s.ptr, ':', s.len);
	size_t n;

	if (!colon) {
		*why = "no :port";
		return IB_ERR_RANGE;
	}
	n = (size_t)(colon - s.ptr);
	if (memchr(colon + 1, ':', s.len - n - 1)) {
		*why = "an IPv6 host must be in brackets, as [::1]:port";
		return IB_ERR_RANGE;
	}
	/* FAULT conf-host-wildcard, breaks [IFACE-19]: an empty host or `*` is every address. */
	if ((n == 0 || (n == 1 && s.ptr[0] == '*')) && IB_FAULT_ENV(conf_host_wildcard)) {
		a->host = slice_of(s.ptr, n);
		return IB_OK;
	}
	/* [IFACE-19] never empty, never a wildcard ('*' is no name character). */
	if (n == 0 || n > HOST_MAX) {
		*why = n ? "the host is longer than 253 bytes" : "the host is empty";
		return IB_ERR_RANGE;
	}
	a->host = slice_of(s.ptr, n);
	if (!all_name_chars(a->host)) {
		*why = "the host has a character other than A-Z a-z 0-9 . _ -";
		return IB_ERR_RANGE;
	}
	return IB_OK;
}

/* [IFACE-2] `host:port` or `[v6]:port`, port 1..65535. No DNS lookup: a name is only checked
 * for its form. On failure *why says what is wrong. */
static int addr_check(struct ib_slice s, struct addr *a, const char **why)
{
	struct ib_slice port;
	uint64_t v;
	int err;

	if (s.len == 0) {
		*why = "empty";
		return IB_ERR_RANGE;
	}
	err = s.ptr[0] == '[' ? split_bracketed(s, a, why) : split_plain(s, a, why);
	if (err)
		return err;
	/* Both forms end with ":port" right after the host (and its ']'). */
	port.ptr = a->host.ptr + a->host.len + (s.ptr[0] == '[') + 1;
	port.len = s.len - (size_t)(port.ptr - s.ptr);
	if (!decimal(port, PORT_MAX_DIGITS, &v) || v < 1 || v > 65535) {
		*why = "the port is not a decimal number 1..65535";
		return IB_ERR_RANGE;
	}
	a->port = (uint16_t)v;
	return IB_OK;
}

/* IB_ERR_RANGE for an address out of form; host and port may be NULL to check only; a valid
 * address whose host does not fit in host_cap is IB_ERR_INVALID_ARG (the caller's buffer). */
int ib_addr_parse(const char *s, char *host, size_t host_cap, uint16_t *port)
{
	struct addr a;
	const char *why;
	size_t n;
	int err;

	if (!s)
		return IB_ERR_INVALID_ARG;
	/* The longest valid address is "[" 253 "]:" 5 digits; no need to scan further. */
	n = strnlen(s, IB_MAX_ADDR);
	if (n >= IB_MAX_ADDR)
		return IB_ERR_RANGE;
	err = addr_check(slice_of(s, n), &a, &why);
	if (err)
		return err;
	if (host) {
		if (host_cap <= a.host.len)
			return IB_ERR_INVALID_ARG; /* a valid address, a buffer too small for it */
		memcpy(host, a.host.ptr, a.host.len);
		host[a.host.len] = '\0';
	}
	if (port)
		*port = a.port;
	return IB_OK;
}

/* ---- The keys -------------------------------------------------------------------------------- */

struct conf_key;

/* Stores v (trimmed, maybe empty) in c, or fails with the key's reason. */
typedef int (*value_parser)(struct ib_config *c, const struct conf_key *k, struct ib_slice v,
                            const struct where *at);
/* Appends the value of k in c, as its parser reads it. */
typedef int (*value_writer)(struct ib_buf *out, const struct ib_config *c,
                            const struct conf_key *k);

struct conf_key {
	const char *name;
	value_parser parse;
	value_writer write;
	uint32_t min, max;    /* a number's range, a text's length in bytes */
	const char *min_text; /* shown instead of min when the bound is another key */
	uint32_t def;         /* a number's default (section 19.1) */
	size_t offset;        /* a number's field in struct ib_config */
};

static uint32_t *number_field(struct ib_config *c, const struct conf_key *k)
{
	return (uint32_t *)(void *)((char *)c + k->offset);
}

static uint32_t number_value(const struct ib_config *c, const struct conf_key *k)
{
	return *(const uint32_t *)(const void *)((const char *)c + k->offset);
}

/* "100..3600000", or "reconnect_min_ms..86400000". */
static const char *range_text(const struct conf_key *k, char *buf, size_t cap)
{
	if (k->min_text)
		snprintf(buf, cap, "%s..%" PRIu32, k->min_text, k->max);
	else
		snprintf(buf, cap, "%" PRIu32 "..%" PRIu32, k->min, k->max);
	return buf;
}

/* name: 1..255 bytes (a u8-prefixed string in HELLO and ANNOUNCE). */
static int parse_name(struct ib_config *c, const struct conf_key *k, struct ib_slice v,
                      const struct where *at)
{
	if (v.len < k->min)
		return fail(at, "%s: empty value; %" PRIu32 "..%" PRIu32 " bytes are required",
		            k->name, k->min, k->max);
	if (v.len > k->max)
		return fail(at, "%s: %zu bytes is too long; %" PRIu32 "..%" PRIu32 " are allowed",
		            k->name, v.len, k->min, k->max);
	set_text(c->name, sizeof c->name, v);
	return IB_OK;
}

static int check_addr(const struct conf_key *k, struct ib_slice v, const struct where *at)
{
	struct excerpt e;
	struct addr a;
	const char *why;

	if (addr_check(v, &a, &why) == IB_OK)
		return IB_OK;
	return fail(at, "%s: \"%s\": %s; host:port or [v6]:port is allowed, port 1..65535", k->name,
	            excerpt(&e, v), why);
}

/* listen: REQUIRED, one address. */
static int parse_listen(struct ib_config *c, const struct conf_key *k, struct ib_slice v,
                        const struct where *at)
{
	int err;

	if (v.len == 0)
		return fail(at, "%s: empty value; host:port or [v6]:port is required", k->name);
	err = check_addr(k, v, at);
	if (err)
		return err;
	set_text(c->listen, sizeof c->listen, v);
	return IB_OK;
}

static const struct {
	const char *text;
	uint8_t role;
} modes[] = {{"server", IB_ROLE_SERVER}, {"client", IB_ROLE_CLIENT}};

static int parse_mode(struct ib_config *c, const struct conf_key *k, struct ib_slice v,
                      const struct where *at)
{
	struct excerpt e;

	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		if (slice_is(v, modes[i].text)) {
			c->mode = modes[i].role;
			return IB_OK;
		}
	}
	if (v.len == 0)
		return fail(at, "%s: empty value; server or client is required", k->name);
	return fail(at, "%s: \"%s\" is not allowed; server or client is", k->name, excerpt(&e, v));
}

/* Splits the next comma-separated item off *rest, blanks around it dropped ([IFACE-2] allows
 * spaces around commas); false once the last item was taken (rest->ptr is then NULL). */
static bool list_next(struct ib_slice *rest, struct ib_slice *item)
{
	const uint8_t *comma;

	if (!rest->ptr)
		return false;
	comma = memchr(rest->ptr, ',', rest->len);
	if (!comma) {
		*item = trim(*rest);
		*rest = slice_of(NULL, 0);
		return true;
	}
	*item = trim(slice_of(rest->ptr, (size_t)(comma - rest->ptr)));
	*rest = slice_of(comma + 1, rest->len - (size_t)(comma + 1 - rest->ptr));
	return true;
}

/* [IFACE-19] an empty list item is a mistake: FAULT conf-empty-item-skipped, breaks
 * [IFACE-19]: it is left out instead. */
static bool skip_empty_item(struct ib_slice item)
{
	return item.len == 0 && IB_FAULT_ENV(conf_empty_item_skipped);
}

static bool parent_listed(const struct ib_config *c, size_t n, struct ib_slice addr)
{
	/* FAULT conf-duplicate-parent-accepted, breaks [IFACE-19]: an address twice is kept. */
	if (IB_FAULT_ENV(conf_duplicate_parent_accepted))
		return false;
	for (size_t i = 0; i < n; i++)
		if (slice_equal(text_slice(c->parents[i]), addr))
			return true;
	return false;
}

/* parents: comma-separated addresses in order of preference ([TREE-1]); empty: a root. */
static int parse_parents(struct ib_config *c, const struct conf_key *k, struct ib_slice v,
                         const struct where *at)
{
	struct ib_slice item;
	struct excerpt e;
	size_t n = 0;
	int err;

	memset(c->parents, 0, sizeof c->parents);
	c->parent_count = 0;
	/* [IFACE-11] empty: the empty list, a root. FAULT empty-parents-refused, breaks
	 * [IFACE-11]: an empty value is out of range. */
	if (v.len == 0 && IB_FAULT_ENV(empty_parents_refused))
		return fail(at, "%s: empty value", k->name);
	if (v.len == 0)
		return IB_OK;
	while (list_next(&v, &item)) {
		if (skip_empty_item(item))
			continue;
		if (n == IB_MAX_PARENTS)
			return fail(at, "%s: more than %u addresses; at most %u are allowed",
			            k->name, IB_MAX_PARENTS, IB_MAX_PARENTS);
		if (item.len == 0)
			return fail(at, "%s: empty entry; comma-separated host:port are allowed",
			            k->name);
		err = check_addr(k, item, at);
		if (err)
			return err;
		/* [IFACE-19] no address twice. */
		if (parent_listed(c, n, item))
			return fail(at, "%s: \"%s\" is listed twice", k->name, excerpt(&e, item));
		set_text(c->parents[n++], IB_MAX_ADDR, item);
	}
	c->parent_count = n;
	return IB_OK;
}

/* [CMD-5] the default `commands`: ib.publish is not among them. */
static void set_default_commands(struct ib_config *c)
{
	for (size_t i = 0; i < sizeof default_commands / sizeof default_commands[0]; i++)
		set_text(c->commands[i], sizeof c->commands[i], text_slice(default_commands[i]));
	c->command_count = sizeof default_commands / sizeof default_commands[0];
}

static bool command_listed(const struct ib_config *c, size_t n, struct ib_slice name)
{
	for (size_t i = 0; i < n; i++)
		if (slice_equal(text_slice(c->commands[i]), name))
			return true;
	return false;
}

/* [CMD-2] commands: the names this node runs; empty: none. */
static int parse_commands(struct ib_config *c, const struct conf_key *k, struct ib_slice v,
                          const struct where *at)
{
	struct ib_slice item;
	struct excerpt e;
	size_t n = 0;

	memset(c->commands, 0, sizeof c->commands);
	c->command_count = 0;
	/* [IFACE-11] empty: no command runs. FAULT empty-commands-default, breaks [IFACE-11]:
	 * an empty list is read as the default one. */
	if (v.len == 0 && IB_FAULT_ENV(empty_commands_default))
		set_default_commands(c);
	if (v.len == 0)
		return IB_OK;
	while (list_next(&v, &item)) {
		if (skip_empty_item(item))
			continue;
		if (n == IB_MAX_COMMANDS)
			return fail(at, "%s: more than %u names; at most %u are allowed", k->name,
			            IB_MAX_COMMANDS, IB_MAX_COMMANDS);
		if (item.len == 0)
			return fail(at, "%s: empty entry; comma-separated names are allowed",
			            k->name);
		if (item.len > k->max || !all_name_chars(item))
			return fail(at,
			            "%s: \"%s\" is not a command name; 1..%" PRIu32
			            " bytes of A-Z a-z 0-9 . _ - are allowed",
			            k->name, excerpt(&e, item), k->max);
		if (command_listed(c, n, item))
			return fail(at, "%s: \"%s\" is listed twice", k->name, excerpt(&e, item));
		set_text(c->commands[n++], sizeof c->commands[0], item);
	}
	c->command_count = n;
	return IB_OK;
}

/* The numeric keys of section 18: decimal digits only, within the key's range. */
static int parse_number(struct ib_config *c, const struct conf_key *k, struct ib_slice v,
                        const struct where *at)
{
	struct excerpt e;
	char range[64];
	uint64_t n;

	range_text(k, range, sizeof range);
	if (v.len == 0)
		return fail(at, "%s: empty value; a decimal number %s is required", k->name, range);
	if (!all_digits(v))
		return fail(at, "%s: \"%s\" is not a decimal number; digits only, %s", k->name,
		            excerpt(&e, v), range);
	/* [IFACE-19] leading zeros change nothing. FAULT conf-leading-zeros-octal, breaks
	 * [IFACE-19]: a number with a leading zero is read in octal, as C's strtoul(.., 0). */
	if (IB_FAULT_ENV(conf_leading_zeros_octal) && v.len > 1 && v.ptr[0] == '0') {
		char digits[NUMBER_MAX_DIGITS + 1];

		snprintf(digits, sizeof digits, "%.*s", (int)v.len, (const char *)v.ptr);
		n = strtoull(digits, NULL, 8);
		if (n < k->min || n > k->max)
			return fail(at, "%s: %s is out of range %s", k->name, excerpt(&e, v), range);
	} else if (!decimal(v, NUMBER_MAX_DIGITS, &n) || n < k->min || n > k->max)
		return fail(at, "%s: %s is out of range %s", k->name, excerpt(&e, v), range);
	*number_field(c, k) = (uint32_t)n;
	return IB_OK;
}

static int write_text(struct ib_buf *out, const char *z)
{
	return ib_buf_put(out, z, strlen(z));
}

static int write_name(struct ib_buf *out, const struct ib_config *c, const struct conf_key *k)
{
	return write_text(out, c->name);
}

static int write_listen(struct ib_buf *out, const struct ib_config *c, const struct conf_key *k)
{
	return write_text(out, c->listen);
}

static int write_mode(struct ib_buf *out, const struct ib_config *c, const struct conf_key *k)
{
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (modes[i].role == c->mode)
			return write_text(out, modes[i].text);
	return IB_ERR_INVALID_ARG;
}

/* Items joined by ",": the form of the spec's default `commands`. */
static int write_list(struct ib_buf *out, const char *items, size_t stride, size_t count)
{
	int err = IB_OK;

	for (size_t i = 0; i < count && !err; i++) {
		if (i)
			err = ib_buf_put_u8(out, ',');
		if (!err)
			err = write_text(out, items + i * stride);
	}
	return err;
}

static int write_parents(struct ib_buf *out, const struct ib_config *c, const struct conf_key *k)
{
	return write_list(out, c->parents[0], sizeof c->parents[0], c->parent_count);
}

static int write_commands(struct ib_buf *out, const struct ib_config *c, const struct conf_key *k)
{
	return write_list(out, c->commands[0], sizeof c->commands[0], c->command_count);
}

static int write_number(struct ib_buf *out, const struct ib_config *c, const struct conf_key *k)
{
	char digits[16];

	snprintf(digits, sizeof digits, "%" PRIu32, number_value(c, k));
	return write_text(out, digits);
}

enum key_index {
	KEY_NAME,
	KEY_LISTEN,
	KEY_MODE,
	KEY_PARENTS,
	KEY_KEEPALIVE_INTERVAL,
	KEY_KEEPALIVE_TIMEOUT,
	KEY_MAX_MESSAGE,
	KEY_ELECTION_WINDOW,
	KEY_COMMANDS,
	KEY_RECONNECT_MIN,
	KEY_RECONNECT_MAX,
	KEY_MAX_STORE_ITEMS,
	KEY_MAX_STORE_MIB,
	KEY_MAX_WRITER_ITEMS,
	KEY_MAX_WRITER_MIB,
	KEY_MAX_PENDING,
	KEY_MAX_PENDING_PER_SOURCE,
	KEY_MAX_ELECTIONS,
	KEY_COUNT
};

/* A numeric key of section 18: its range and default. Each argument is a whole initializer,
 * between '=' and ',': no parentheses needed. NOLINTBEGIN(bugprone-macro-parentheses) */
#define NUMBER(key, lo, hi, dflt)                                                                  \
	{                                                                                          \
		.name = #key, .parse = parse_number, .write = write_number, .min = lo, .max = hi,  \
		.def = dflt, .offset = offsetof(struct ib_config, key)                             \
	}
/* NOLINTEND(bugprone-macro-parentheses) */

/* [IFACE-2] the keys of section 19.1 in its order, with the ranges of section 18. */
static const struct conf_key keys[KEY_COUNT] = {
    [KEY_NAME] = {"name", parse_name, write_name, 1, IB_MAX_STRING, NULL, 0, 0},
    [KEY_LISTEN] = {"listen", parse_listen, write_listen, 0, 0, NULL, 0, 0},
    [KEY_MODE] = {"mode", parse_mode, write_mode, 0, 0, NULL, 0, 0},
    [KEY_PARENTS] = {"parents", parse_parents, write_parents, 0, 0, NULL, 0, 0},
    [KEY_KEEPALIVE_INTERVAL] = NUMBER(keepalive_interval_ms, 100, 3600000, 30000),
    [KEY_KEEPALIVE_TIMEOUT] = NUMBER(keepalive_timeout_ms, 100, 3600000, 10000),
    [KEY_MAX_MESSAGE] =
        NUMBER(max_message, IB_MAX_MESSAGE_MIN, IB_MAX_MESSAGE_LIMIT, IB_MAX_MESSAGE_LIMIT),
    [KEY_ELECTION_WINDOW] = NUMBER(election_window_ms, 1, 600000, 500),
    [KEY_COMMANDS] = {"commands", parse_commands, write_commands, 0, IB_MAX_STRING, NULL, 0, 0},
    [KEY_RECONNECT_MIN] = NUMBER(reconnect_min_ms, 10, 3600000, 1000),
    /* Its lower bound is reconnect_min_ms, checked once the whole file is read ([TREE-2]). */
    [KEY_RECONNECT_MAX] = {.name = "reconnect_max_ms",
                           .parse = parse_number,
                           .write = write_number,
                           .min = 0,
                           .max = 86400000,
                           .min_text = "reconnect_min_ms",
                           .def = 60000,
                           .offset = offsetof(struct ib_config, reconnect_max_ms)},
    /* [IFACE-21] the bounds section 18 leaves to the implementation: the reference's. */
    [KEY_MAX_STORE_ITEMS] = NUMBER(max_store_items, 1024, 16777216, IB_STORE_MAX_ITEMS),
    [KEY_MAX_STORE_MIB] = NUMBER(max_store_mib, 32, 1048576, IB_STORE_MAX_MIB),
    [KEY_MAX_WRITER_ITEMS] = NUMBER(max_writer_items, 16, 4096, IB_STORE_MAX_WRITER_ITEMS),
    [KEY_MAX_WRITER_MIB] = NUMBER(max_writer_mib, 17, 1048576, IB_STORE_MAX_WRITER_MIB),
    [KEY_MAX_PENDING] = NUMBER(max_pending, 16, 256, IB_MAX_PENDING_LINKS),
    [KEY_MAX_PENDING_PER_SOURCE] = NUMBER(max_pending_per_source, 1, 16,
                                          IB_MAX_PENDING_PER_SOURCE),
    [KEY_MAX_ELECTIONS] = NUMBER(max_elections, 16, 1024, IB_MAX_ELECTIONS),
};

#undef NUMBER

static const struct conf_key *find_key(struct ib_slice name)
{
	for (size_t i = 0; i < KEY_COUNT; i++)
		if (slice_is(name, keys[i].name))
			return &keys[i];
	return NULL;
}

/* ---- Defaults -------------------------------------------------------------------------------- */

/* A name that a `name = ...` line gives back unchanged: 1..255 bytes of UTF-8, no newline,
 * no blank at either end (a parser trims those). */
static bool name_storable(struct ib_slice s)
{
	return s.len >= 1 && s.len <= IB_MAX_STRING && ib_utf8_valid(s.ptr, s.len) &&
	       !memchr(s.ptr, '\n', s.len) && !is_blank(s.ptr[0]) && !is_blank(s.ptr[s.len - 1]);
}

/* [IFACE-2] the default name is the directory's base name, cut to 255 bytes at a character
 * boundary; one that node.conf could not hold (not UTF-8, blank ends...) gives "interbot", so
 * that the defaults can always be written. */
static void set_default_name(struct ib_config *c, const char *name)
{
	size_t n = name ? strnlen(name, IB_MAX_STRING + 1) : 0;

	if (n > IB_MAX_STRING) {
		n = IB_MAX_STRING;
		while (n > 0 && ((uint8_t)name[n] & 0xc0) == 0x80)
			n--;
	}
	if (!name_storable(slice_of(name, n)))
		set_text(c->name, sizeof c->name, text_slice(DEFAULT_NAME));
	else
		set_text(c->name, sizeof c->name, slice_of(name, n));
}

/* Every field set: the whole struct is zeroed first, so configs compare with memcmp too. */
void ib_config_defaults(struct ib_config *c, const char *default_name)
{
	if (!c)
		return;
	memset(c, 0, sizeof *c);
	set_default_name(c, default_name);
	c->mode = IB_ROLE_SERVER;
	for (size_t i = 0; i < KEY_COUNT; i++)
		if (keys[i].parse == parse_number)
			*number_field(c, &keys[i]) = keys[i].def;
	set_default_commands(c);
}

/* ---- Parsing --------------------------------------------------------------------------------- */

struct parse_state {
	struct ib_config *c;
	int line_of[KEY_COUNT]; /* the line that set each key; 0 if none */
	struct where at;
};

/* A line as text, before its meaning: [IFACE-2] node.conf is UTF-8 text. */
static int check_line_text(struct ib_slice line, const struct where *at)
{
	/* [IFACE-10] counted without the LF. FAULT conf-line-limit-counts-lf, breaks [IFACE-10]:
	 * the LF counts too, so a line of 4,096 bytes is refused. */
	size_t lf = IB_FAULT_ENV(conf_line_limit_counts_lf) ? 1 : 0;

	if (line.len + lf > IB_CONF_MAX_LINE)
		return fail(at, "the line is %zu bytes long; at most %u are allowed", line.len,
		            IB_CONF_MAX_LINE);
	if (memchr(line.ptr, 0, line.len))
		return fail(at, "the line holds a NUL byte; node.conf is UTF-8 text");
	if (!ib_utf8_valid(line.ptr, line.len))
		return fail(at, "the line is not valid UTF-8; node.conf is UTF-8 text");
	/* A BOM would silently become part of the first key: say what it is instead. */
	if (at->line == 1 && line.len >= 3 && memcmp(line.ptr, "\xef\xbb\xbf", 3) == 0)
		return fail(at, "the file starts with a byte order mark (BOM); save it as UTF-8 "
		                "without one");
	return IB_OK;
}

static int unknown_key(struct ib_slice key, const struct where *at)
{
	char list[256];
	struct excerpt e;
	size_t used = 0;

	list[0] = '\0';
	for (size_t i = 0; i < KEY_COUNT && used < sizeof list; i++)
		used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
		                         keys[i].name);
	if (key.len == 0)
		return fail(at, "no key before '='; the keys are %s", list);
	return fail(at, "unknown key \"%s\"; the keys are %s", excerpt(&e, key), list);
}

/* [IFACE-2] empty and blank lines, and comments. */
static bool line_ignored(struct ib_slice line)
{
	line = trim(line);
	return line.len == 0 || line.ptr[0] == '#';
}

/* [IFACE-2] one `key = value` line; blank lines and comments do nothing. */
static int parse_line(struct parse_state *st, struct ib_slice line)
{
	const struct conf_key *k;
	const uint8_t *eq;
	struct ib_slice key, value;
	struct excerpt e;
	size_t i;
	int err;

	err = check_line_text(line, &st->at);
	if (err)
		return err;
	if (line_ignored(line))
		return IB_OK;
	line = trim(line);
	/* [IFACE-19] the first '=': the value may hold more. */
	eq = memchr(line.ptr, '=', line.len);
	/* FAULT conf-equals-in-value-refused, breaks [IFACE-19]: a second '=' is an error. */
	if (eq && IB_FAULT_ENV(conf_equals_in_value_refused) &&
	    memchr(eq + 1, '=', line.len - (size_t)(eq + 1 - line.ptr)))
		return fail(&st->at, "more than one '=' on the line");
	if (!eq)
		return fail(&st->at, "\"%s\" has no '='; a line is `key = value`",
		            excerpt(&e, line));
	key = trim(slice_of(line.ptr, (size_t)(eq - line.ptr)));
	value = trim(slice_of(eq + 1, line.len - (size_t)(eq + 1 - line.ptr)));
	k = find_key(key);
	if (!k)
		return unknown_key(key, &st->at);
	i = (size_t)(k - keys);
	if (st->line_of[i])
		return fail(&st->at,
		            "%s: repeated key (first set on line %d); each key is allowed once",
		            k->name, st->line_of[i]);
	st->line_of[i] = st->at.line;
	return k->parse(st->c, k, value, &st->at);
}

/* [TREE-2] reconnect_min_ms <= reconnect_max_ms. Lines come in any order, so this waits for the
 * whole file; it is reported on the line of reconnect_max_ms, or of reconnect_min_ms when the
 * maximum is the default. */
static int check_reconnect(struct parse_state *st)
{
	const struct ib_config *c = st->c;
	struct where at = st->at;

	if (c->reconnect_max_ms >= c->reconnect_min_ms)
		return IB_OK;
	if (st->line_of[KEY_RECONNECT_MAX] || !st->line_of[KEY_RECONNECT_MIN]) {
		at.line = st->line_of[KEY_RECONNECT_MAX];
		return fail(&at,
		            "reconnect_max_ms: %" PRIu32 " is below reconnect_min_ms (%" PRIu32
		            "); allowed reconnect_min_ms..%" PRIu32,
		            c->reconnect_max_ms, c->reconnect_min_ms, keys[KEY_RECONNECT_MAX].max);
	}
	at.line = st->line_of[KEY_RECONNECT_MIN];
	return fail(&at,
	            "reconnect_min_ms: %" PRIu32 " is above reconnect_max_ms (%" PRIu32
	            ", the default); set reconnect_max_ms too",
	            c->reconnect_min_ms, c->reconnect_max_ms);
}

/* What only the whole file can tell. */
static int check_whole(struct parse_state *st)
{
	struct where at = st->at;
	int err;

	err = check_reconnect(st);
	if (err)
		return err;
	if (st->c->listen[0] == '\0') {
		at.line = 0;
		return fail(&at, "listen is required");
	}
	return IB_OK;
}

/* IB_ERR_CONFIG with diag (file, line from 1 or 0 for the whole file, reason) for anything
 * [IFACE-2] refuses; IB_ERR_INVALID_ARG for a NULL c, or NULL text with len > 0. Reads
 * text[0..len) only. */
int ib_config_parse(struct ib_config *c, const char *text, size_t len, const char *file,
                    struct ib_diag *diag)
{
	struct parse_state st = {.c = c, .at = {file, 0, diag}};
	const uint8_t *p = (const uint8_t *)text;
	size_t off = 0;
	int err;

	if (!c || (!text && len)) {
		ib_diag_set(diag, file, 0, "invalid argument");
		return IB_ERR_INVALID_ARG;
	}
	while (off < len) {
		const uint8_t *nl = memchr(p + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (p + off)) : len - off;

		if (st.at.line == INT_MAX)
			return fail(&st.at, "more than %d lines", INT_MAX - 1);
		/* [IFACE-10] every line counts, from 1, and only LF ends one. */
		st.at.line++;
		err = parse_line(&st, slice_of(p + off, n));
		if (err)
			return err;
		/* FAULT conf-lines-skip-comments, breaks [IFACE-10]: empty lines and comments are
		 * not numbered. */
		if (IB_FAULT_ENV(conf_lines_skip_comments) && line_ignored(slice_of(p + off, n)))
			st.at.line--;
		off += n + (nl != NULL);
	}
	return check_whole(&st);
}

/* ---- Loading --------------------------------------------------------------------------------- */

/* The directory part of path, malloc'd: "." for a bare name, "/" for a file at the root. */
/* The whole file into out; refuses what cannot be a node.conf (not a regular file, too big). */
static int read_file(const char *path, struct ib_buf *out, struct ib_diag *diag)
{
	struct stat st;
	int fd, err = IB_ERR_IO;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ib_diag_set(diag, path, 0, "cannot open: %s", strerror(errno));
		return IB_ERR_IO;
	}
	if (fstat(fd, &st) != 0) {
		ib_diag_set(diag, path, 0, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ib_diag_set(diag, path, 0, "not a regular file");
		goto out;
	}
	/* st_size first; then the reading stops one chunk past the limit, so that a file that
	 * grew since fstat is refused too. */
	while ((uintmax_t)st.st_size <= CONF_MAX_FILE && out->len <= CONF_MAX_FILE) {
		ssize_t got;

		err = ib_buf_reserve(out, 4096);
		if (err)
			goto out;
		got = read(fd, out->ptr + out->len, out->cap - out->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ib_diag_set(diag, path, 0, "cannot read: %s", strerror(errno));
			err = IB_ERR_IO;
			goto out;
		}
		if (got == 0)
			break;
		out->len += (size_t)got;
	}
	if ((uintmax_t)st.st_size > CONF_MAX_FILE || out->len > CONF_MAX_FILE) {
		ib_diag_set(diag, path, 0, "the file is larger than 1 MiB (%u bytes)",
		            CONF_MAX_FILE);
		err = IB_ERR_CONFIG;
		goto out;
	}
	err = IB_OK;
out:
	close(fd);
	return err;
}

/* Defaults for the file at path, named after the directory that holds it ([IFACE-2]). The
 * directory is resolved (realpath) so that "node.conf" or "dir/./node.conf" name it too. */
static void defaults_for_path(struct ib_config *c, const char *path)
{
	char *dir = ib_file_dir_of(path), *real = NULL, *last;
	const char *base = NULL;
	size_t n;

	/* [IFACE-20] "." and ".." resolved, as realpath does. FAULT default-name-lexical, breaks
	 * [IFACE-20]: the last component of the path as given, "." for "alice/." and "alice/./". */
	if (dir && !IB_FAULT_ENV(default_name_lexical))
		real = realpath(dir, NULL);
	if (real || dir) {
		char *s = real ? real : dir;

		n = strlen(s);
		while (n > 0 && s[n - 1] == '/')
			s[--n] = '\0';
		last = strrchr(s, '/');
		base = last ? last + 1 : s;
		/* "/" and an unresolved "." or ".." name nothing: the default name then. */
		if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
			base = NULL;
	}
	/* FAULT default-name-fixed, breaks [IFACE-11]: the default name is "interbot". */
	if (IB_FAULT_ENV(default_name_fixed))
		base = NULL;
	ib_config_defaults(c, base);
	/* FAULT default-commands-publish, breaks [CMD-5]: the default list has ib.publish too. */
	if (IB_FAULT_ENV(default_commands_publish))
		set_text(c->commands[c->command_count++], sizeof c->commands[0],
			 text_slice("ib.publish"));
	free(real);
	free(dir);
}

/* IB_ERR_IO when path cannot be opened or read or is not a regular file, IB_ERR_CONFIG when
 * it is over 1 MiB or does not parse; diag names path either way. */
int ib_config_load(struct ib_config *c, const char *path, struct ib_diag *diag)
{
	struct ib_buf text = {0};
	int err;

	if (!c || !path) {
		ib_diag_set(diag, path, 0, "invalid argument");
		return IB_ERR_INVALID_ARG;
	}
	defaults_for_path(c, path);
	err = read_file(path, &text, diag);
	if (!err)
		err = ib_config_parse(c, (const char *)text.ptr, text.len, path, diag);
	ib_buf_free(&text);
	return err;
}

/* ---- Writing --------------------------------------------------------------------------------- */

/* Counts within bounds and every string ended inside its array: what rendering relies on. */
static bool config_well_formed(const struct ib_config *c)
{
	if (c->parent_count > IB_MAX_PARENTS || c->command_count > IB_MAX_COMMANDS)
		return false;
	if (!memchr(c->name, 0, sizeof c->name) || !memchr(c->listen, 0, sizeof c->listen))
		return false;
	for (size_t i = 0; i < c->parent_count; i++)
		if (!memchr(c->parents[i], 0, sizeof c->parents[i]))
			return false;
	for (size_t i = 0; i < c->command_count; i++)
		if (!memchr(c->commands[i], 0, sizeof c->commands[i]))
			return false;
	return true;
}

static bool config_equal(const struct ib_config *a, const struct ib_config *b)
{
	if (strcmp(a->name, b->name) != 0 || strcmp(a->listen, b->listen) != 0 ||
	    a->mode != b->mode || a->parent_count != b->parent_count ||
	    a->command_count != b->command_count)
		return false;
	for (size_t i = 0; i < KEY_COUNT; i++)
		if (keys[i].parse == parse_number &&
		    number_value(a, &keys[i]) != number_value(b, &keys[i]))
			return false;
	for (size_t i = 0; i < a->parent_count; i++)
		if (strcmp(a->parents[i], b->parents[i]) != 0)
			return false;
	for (size_t i = 0; i < a->command_count; i++)
		if (strcmp(a->commands[i], b->commands[i]) != 0)
			return false;
	return true;
}

/* One `key = value` line. A list near the line limit that was read from a compact `key=value`
 * line is written compact too, so that whatever parsed can be written back. */
static int render_key(struct ib_buf *out, const struct ib_config *c, const struct conf_key *k)
{
	struct ib_buf value = {0};
	size_t name_len = strlen(k->name);
	const char *eq;
	int err;

	err = k->write(&value, c, k);
	if (err)
		goto out;
	eq = name_len + 3 + value.len > IB_CONF_MAX_LINE ? "=" : " = ";
	err = ib_buf_put(out, k->name, name_len);
	if (!err)
		err = write_text(out, eq);
	if (!err && value.len)
		err = ib_buf_put(out, value.ptr, value.len);
	if (!err)
		err = ib_buf_put_u8(out, '\n');
out:
	ib_buf_free(&value);
	return err;
}

static int render(struct ib_buf *out, const struct ib_config *c)
{
	static const char header[] =
	    "# node.conf: settings of an interbot node (spec section 19.1).\n"
	    "# One `key = value` per line; a line starting with '#' is a comment.\n"
	    "# Written by " IB_SOFTWARE_NAME " " IB_SOFTWARE_VERSION ".\n\n";
	int err;

	err = write_text(out, header);
	for (size_t i = 0; i < KEY_COUNT && !err; i++)
		err = render_key(out, c, &keys[i]);
	return err;
}

/* IB_ERR_INVALID_ARG for a config that would not load back equal (nothing is written then),
 * IB_ERR_IO when the file cannot be written, IB_ERR_NOMEM. The file is mode 0644. */
int ib_config_write(const struct ib_config *c, const char *path)
{
	struct ib_buf text = {0};
	struct ib_config back;
	int err;

	if (!c || !path || !config_well_formed(c))
		return IB_ERR_INVALID_ARG;
	err = render(&text, c);
	if (err)
		goto out;
	/* [IFACE-2] never write a file the node would refuse, or read back otherwise: a name with
	 * blank ends, an address out of form, a list too long for one line... */
	ib_config_defaults(&back, NULL);
	if (ib_config_parse(&back, (const char *)text.ptr, text.len, path, NULL) != IB_OK ||
	    !config_equal(c, &back)) {
		err = IB_ERR_INVALID_ARG;
		goto out;
	}
	/* Settings are not secret: 0644. */
	err = ib_file_write_atomic(path, text.ptr, text.len, 0644);
out:
	ib_buf_free(&text);
	return err;
}
