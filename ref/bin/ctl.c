/*
 * ctl.c - `interbot ctl DIR [--json] [--timeout MS] COMMAND [ARGS]`: asks the node running in
 * DIR through DIR/control.sock (the protocol is at the top of ref/lib/control.c) and prints
 * the answer for people, or as the JSON line it received (--json).
 *
 * Names, outputs and values come from other bots: before they reach the terminal, control
 * characters are replaced, so that no bot can write escape sequences on its owner's screen.
 */
#define _GNU_SOURCE /* MSG_NOSIGNAL */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define CTL_MAX_ANSWER (64u << 20)   /* a tree or cmd answer of many bots fits */
#define CTL_SLACK_MS 10000           /* beyond what the node itself may wait */
#define CTL_FETCH_WAIT_MS 120000     /* the node answers any request within 120 s */
#define CTL_MAX_TIMEOUT_MS 60000
#define CTL_MAX_DEPTH 256            /* a tree path holds at most 255 bots */

struct ctl_req {
	const char *dir;
	const char *cmd;
	char **args;
	int nargs;
	bool json;
	long timeout_ms;             /* 0: the node's default */
};

/* ---- Output for people -------------------------------------------------------------------- */

/* One byte of text from another bot, made harmless for a terminal: C0 and DEL become '?', and
 * so do C1 controls (U+0080..U+009F, which some terminals obey), two bytes in UTF-8. Newlines
 * and tabs pass when keep_lines. Returns the bytes consumed. */
static size_t put_safe_char(FILE *out, const char *s, bool keep_lines)
{
	unsigned char b = (unsigned char)s[0];

	if (b == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9f) {
		fputc('?', out);
		return 2;
	}
	if ((b < 0x20 && !(keep_lines && (b == '\n' || b == '\t'))) || b == 0x7f)
		fputc('?', out);
	else
		fputc(b, out);
	return 1;
}

static void put_safe(FILE *out, const char *s, bool keep_lines)
{
	while (s && *s)
		s += put_safe_char(out, s, keep_lines);
}

/* Columns s takes on a terminal: one per UTF-8 character (wide characters are rare in bot
 * names; they only misalign a column). */
static int text_width(const char *s)
{
	int w = 0;

	for (; s && *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

static void pad(int n)
{
	for (int i = 0; i < n; i++)
		putchar(' ');
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* A number field, or a decimal string (u64 fields); -1 when absent or null. */
static long long num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return -1;
}

/* "label:" padded to width, then the value (safe). */
static void field(int width, const char *label, const char *value)
{
	printf("%s:", label);
	pad(width - (int)strlen(label));
	put_safe(stdout, value, false);
	putchar('\n');
}

static void print_status(json_t *a)
{
	static const char *const labels[] = { "id",   "name", "role",     "software", "parent",
					      "path", "children", "listen port", "items", "keys",
					      "counters" };
	json_t *path = json_object_get(a, "path"), *children = json_object_get(a, "children");
	json_t *counters = json_object_get(a, "counters"), *v;
	const char *name;
	int width = 0;
	size_t i;
	bool any = false;

	for (i = 0; i < sizeof labels / sizeof labels[0]; i++)
		if ((int)strlen(labels[i]) + 2 > width)
			width = (int)strlen(labels[i]) + 2;
	field(width, "id", str(a, "id"));
	field(width, "name", str(a, "name"));
	field(width, "role", str(a, "role"));
	field(width, "software", str(a, "software"));
	field(width, "parent", json_is_string(json_object_get(a, "parent")) ? str(a, "parent")
									  : "none (a root)");
	printf("path:");
	pad(width - 4);
	json_array_foreach(path, i, v)
		printf("%s%s", i ? " > " : "", json_string_value(v) ? json_string_value(v) : "?");
	printf("\nchildren:");
	pad(width - 8);
	if (json_array_size(children) == 0)
		printf("none");
	json_array_foreach(children, i, v) {
		if (i) {
			putchar('\n');
			pad(width + 1);
		}
		put_safe(stdout, str(v, "name"), false);
		printf("  %s  %s", str(v, "id"), str(v, "addr"));
	}
	printf("\nlisten port:");
	pad(width - 11);
	printf("%lld\n", num(a, "listen_port"));
	printf("items:");
	pad(width - 5);
	printf("%lld\nkeys:", num(a, "items"));
	pad(width - 4);
	printf("%lld\ncounters:", num(a, "keys"));
	pad(width - 8);
	json_object_foreach(counters, name, v) {
		if (json_integer_value(v) == 0)
			continue;
		printf("%s%s=%lld", any ? " " : "", name, (long long)json_integer_value(v));
		any = true;
	}
	printf("%s\n", any ? "" : "all zero");
}

static void format_rtt(char *out, size_t cap, long long rtt_us)
{
	if (rtt_us > 0)
		snprintf(out, cap, "%.1f ms", (double)rtt_us / 1000.0);
	else
		snprintf(out, cap, "-");
}

static void print_links(json_t *a)
{
	json_t *links = json_object_get(a, "links"), *l;
	int w_name = 4, w_addr = 4;
	size_t i;

	if (json_array_size(links) == 0) {
		printf("no open links\n");
		return;
	}
	json_array_foreach(links, i, l) {
		if (text_width(str(l, "name")) > w_name)
			w_name = text_width(str(l, "name"));
		if (text_width(str(l, "addr")) > w_addr)
			w_addr = text_width(str(l, "addr"));
	}
	printf("%-*s  %-6s  %-6s  %-*s  %-9s  %-8s  %s\n", w_name, "NAME", "SIDE", "ROLE", w_addr,
	       "ADDR", "RTT", "OPEN", "ID");
	json_array_foreach(links, i, l) {
		char rtt[32], open[32];

		format_rtt(rtt, sizeof rtt, num(l, "rtt_us"));
		snprintf(open, sizeof open, "%lld s", num(l, "open_for_s"));
		put_safe(stdout, str(l, "name"), false);
		pad(w_name - text_width(str(l, "name")));
		printf("  %-6s  %-6s  %-*s  %-9s  %-8s  %s\n",
		       json_is_true(json_object_get(l, "is_parent")) ? "parent" : "child",
		       str(l, "role"), w_addr, str(l, "addr"), rtt, open, str(l, "id"));
	}
}

/* ---- tree: drawn as eggdrop's bottree draws a botnet --------------------------------------- */

struct bot {
	json_t *j;
	const char *id, *name;
	struct bot *parent;          /* NULL: a root, or a parent the map lacks */
	struct bot **children;
	size_t nchildren;
	bool self, drawn;
};

struct tree_draw {
	struct bot *bots;
	size_t count;
	char **left;                 /* each line's tree part, in drawing order */
	struct bot **order;          /* the bot of each line */
	size_t lines;
	const char *own_software;
	/* at each depth: is the bot drawn there the last child. One more than the depths drawn:
	 * draw() sets it for the children of a bot at the deepest depth, then refuses them. */
	bool last[CTL_MAX_DEPTH + 1];
};

static int by_name(const void *a, const void *b)
{
	const struct bot *x = *(struct bot *const *)a, *y = *(struct bot *const *)b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->id, y->id);
}

static struct bot *find_bot(const struct tree_draw *t, const char *id)
{
	for (size_t i = 0; id && i < t->count; i++)
		if (strcmp(t->bots[i].id, id) == 0)
			return &t->bots[i];
	return NULL;
}

/* The tree part of a line: "| `-name (this bot)  [keys differ]". */
static char *left_part(const struct tree_draw *t, const struct bot *b, size_t depth)
{
	json_t *keys = json_object_get(b->j, "keys_differ");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	for (size_t d = 1; d < depth; d++)
		fputs(t->last[d] ? "  " : "| ", f);
	if (depth > 0)
		/* cppcheck-suppress arrayIndexOutOfBoundsCond ; draw() passes depth < CTL_MAX_DEPTH */
		fputs(t->last[depth] ? "`-" : "|-", f);
	put_safe(f, b->name, false);
	if (b->self)
		fputs(" (this bot)", f);
	else if (json_is_true(keys))
		fputs("  [keys differ]", f);
	else if (!json_is_false(keys))
		fputs("  [keys unknown]", f); /* it did not answer ib.info */
	fclose(f);
	return text;
}

/* Draws b and its subtree, depth-first; cycles and depth are bounded. */
static void draw(struct tree_draw *t, struct bot *b, size_t depth)
{
	if (b->drawn || depth >= CTL_MAX_DEPTH)
		return;
	b->drawn = true;
	t->order[t->lines] = b;
	t->left[t->lines++] = left_part(t, b, depth);
	for (size_t i = 0; i < b->nchildren; i++) {
		t->last[depth + 1] = i + 1 == b->nchildren;
		draw(t, b->children[i], depth + 1);
	}
}

static void print_tree_line(const struct tree_draw *t, size_t line, int width)
{
	const struct bot *b = t->order[line];
	long long hops = num(b->j, "hops"), rtt = num(b->j, "rtt_us");
	const char *sw = str(b->j, "software");
	bool other_sw = !b->self && strcmp(sw, t->own_software) != 0;

	put_safe(stdout, t->left[line] ? t->left[line] : "?", false);
	pad(width - text_width(t->left[line]));
	if (b->self)
		put_safe(stdout, sw, false);
	else if (hops >= 0)
		printf("%lld hop%s", hops, hops == 1 ? (rtt > 0 || other_sw ? " " : "") : "s");
	else
		printf("? hops");
	if (rtt > 0)
		printf("   rtt %.1f ms", (double)rtt / 1000.0);
	if (other_sw) {
		printf("   ");
		put_safe(stdout, sw, false);
	}
	putchar('\n');
}

/* Parent and children from the ids, children in name order. */
static int tree_link(struct tree_draw *t)
{
	for (size_t i = 0; i < t->count; i++) {
		struct bot *b = &t->bots[i];

		b->parent = find_bot(t, json_string_value(json_object_get(b->j, "parent")));
		if (b->parent == b)
			b->parent = NULL;
		if (b->self)
			t->own_software = str(b->j, "software");
	}
	for (size_t i = 0; i < t->count; i++) {
		struct bot *p = t->bots[i].parent;
		struct bot **grown;

		if (!p)
			continue;
		grown = realloc(p->children, (p->nchildren + 1) * sizeof *grown);
		if (!grown)
			return -1;
		p->children = grown;
		p->children[p->nchildren++] = &t->bots[i];
	}
	for (size_t i = 0; i < t->count; i++)
		if (t->bots[i].nchildren > 1) /* a leaf's children is NULL, which qsort may not get */
			qsort(t->bots[i].children, t->bots[i].nchildren, sizeof(struct bot *),
			      by_name);
	return 0;
}

static void print_tree(json_t *a)
{
	json_t *bots = json_object_get(a, "bots");
	struct tree_draw t = { .count = json_array_size(bots), .own_software = "" };
	struct bot **roots = calloc(t.count + 1, sizeof *roots);
	size_t nroots = 0;
	int width = 16;

	t.bots = calloc(t.count + 1, sizeof *t.bots);
	t.left = calloc(t.count + 1, sizeof *t.left);
	t.order = calloc(t.count + 1, sizeof *t.order);
	if (!t.bots || !t.left || !t.order || !roots)
		goto out;
	for (size_t i = 0; i < t.count; i++) {
		t.bots[i].j = json_array_get(bots, i);
		t.bots[i].id = str(t.bots[i].j, "id");
		t.bots[i].name = str(t.bots[i].j, "name");
		t.bots[i].self = json_is_true(json_object_get(t.bots[i].j, "self"));
	}
	if (tree_link(&t) != 0)
		goto out;
	for (size_t i = 0; i < t.count; i++)
		if (!t.bots[i].parent)
			roots[nroots++] = &t.bots[i];
	if (nroots > 1)
		qsort(roots, nroots, sizeof *roots, by_name);
	for (size_t i = 0; i < nroots; i++)
		draw(&t, roots[i], 0);
	/* Bots on a cycle of parent pointers (a map caught mid-change) have no root. */
	for (size_t i = 0; i < t.count; i++)
		draw(&t, &t.bots[i], 0);
	for (size_t i = 0; i < t.lines; i++)
		if (text_width(t.left[i]) + 2 > width)
			width = text_width(t.left[i]) + 2;
	for (size_t i = 0; i < t.lines; i++)
		print_tree_line(&t, i, width);
out:
	for (size_t i = 0; t.left && i < t.lines; i++)
		free(t.left[i]);
	for (size_t i = 0; t.bots && i < t.count; i++)
		free(t.bots[i].children);
	free(t.bots);
	free(t.left);
	free(t.order);
	free(roots);
}

/* ctl fetch: the offers in arrival order, and which holder's item was taken. */
static void print_election(json_t *e)
{
	json_t *o;
	size_t i;

	if (!json_is_object(e))
		return;
	printf("offers (%lld, in arrival order):\n",
	       (long long)json_integer_value(json_object_get(e, "offers_received")));
	json_array_foreach(json_object_get(e, "offers"), i, o) {
		const char *holder = str(o, "holder");
		const char *chosen = json_string_value(json_object_get(e, "chosen"));

		printf("  %s  version %s%s%s\n", holder, str(o, "version"),
		       json_is_true(json_object_get(o, "failed")) ? "  (failed, skipped)" : "",
		       chosen && strcmp(chosen, holder) == 0 ? "  <- chosen" : "");
	}
	if (json_is_true(json_object_get(e, "own")))
		printf("  this node's own item was as new: nothing selected\n");
}

static void print_item(json_t *a)
{
	static const int width = 9;
	json_t *value = json_object_get(a, "value");
	char frame[32];

	field(width, "key", str(a, "key"));
	field(width, "version", str(a, "version"));
	field(width, "writer", str(a, "writer"));
	field(width, "seq", str(a, "seq"));
	if (json_is_string(value))
		field(width, "value", json_string_value(value));
	else
		field(width, "value_hex", str(a, "value_hex"));
	snprintf(frame, sizeof frame, "%zu bytes", strlen(str(a, "frame_hex")) / 2);
	field(width, "frame", frame);
	print_election(json_object_get(a, "election"));
}

static void print_publish(json_t *a)
{
	printf("published, version %s\n", str(a, "version"));
}

/* Output text, each line indented by two spaces. */
static void put_indented(const char *out)
{
	printf("  ");
	while (*out) {
		if (*out == '\n') {
			out++;
			if (*out)
				printf("\n  ");
			continue;
		}
		out += put_safe_char(stdout, out, false);
	}
	putchar('\n');
}

static void print_results(json_t *a)
{
	json_t *results = json_object_get(a, "results"), *r;
	size_t i;

	if (json_array_size(results) == 0)
		printf("no answer from %s\n", str(a, "target"));
	json_array_foreach(results, i, r) {
		const char *out = json_string_value(json_object_get(r, "output"));

		put_safe(stdout, json_is_string(json_object_get(r, "name")) ? str(r, "name") : "?",
			 false);
		printf(" %s: %s\n", str(r, "from"), str(r, "status"));
		if (out && *out)
			put_indented(out);
		else if (!out)
			printf("  hex: %s\n", str(r, "output_hex"));
		if (json_is_true(json_object_get(r, "truncated")))
			printf("  (output cut)\n");
	}
	if (num(a, "dropped") > 0)
		printf("(%lld more answers not kept)\n", num(a, "dropped"));
}

static void print_keys(json_t *a)
{
	json_t *keys = json_object_get(a, "keys"), *k;
	size_t i;

	if (json_is_integer(keys)) {
		printf("keys reloaded: %lld authorized\n", (long long)json_integer_value(keys));
		return;
	}
	printf("%-32s  %s\n", "ID", "LABEL");
	json_array_foreach(keys, i, k) {
		printf("%-32s  ", str(k, "id"));
		put_safe(stdout, str(k, "label"), false);
		printf("%s\n", json_is_true(json_object_get(k, "self")) ? "(this node)" : "");
	}
	printf("digest: %s\n", str(a, "digest"));
}

static void print_stats(json_t *a)
{
	json_t *counters = json_object_get(a, "counters"), *v;
	const char *name;
	int width = 0;

	json_object_foreach(counters, name, v)
		if ((int)strlen(name) + 2 > width)
			width = (int)strlen(name) + 2;
	json_object_foreach(counters, name, v) {
		printf("%s:", name);
		pad(width - (int)strlen(name));
		printf("%lld\n", (long long)json_integer_value(v));
	}
}

/* ---- Commands ------------------------------------------------------------------------------ */

struct ctl_command {
	const char *name;
	int min_args, max_args;      /* max -1: any number */
	const char *args_usage;
	const char *summary;
	bool takes_timeout;
	long wait_ms;                /* how long the node may take by default */
	void (*print)(json_t *answer);
};

static const struct ctl_command ctl_commands[] = {
	{ "status", 0, 0, "", "this node: id, parent, path, children, counters", false, 0,
	  print_status },
	{ "links", 0, 0, "", "the open links: peer, side, address, round-trip time", false, 0,
	  print_links },
	{ "tree", 0, 0, "", "every bot of the tree map, drawn as a tree (asks ib.info of all)",
	  true, 1000, print_tree },
	{ "publish", 2, 2, "KEY VALUE", "publish VALUE under KEY", false, 0, print_publish },
	{ "get", 1, 1, "KEY", "the item this node holds under KEY", false, 0, print_item },
	{ "fetch", 1, 1, "KEY", "elect the holder of the newest KEY and get its item", false,
	  CTL_FETCH_WAIT_MS, print_item },
	{ "cmd", 2, -1, "TARGET NAME [ARG...]", "run a command on TARGET: an id, a name, or all",
	  true, 2000, print_results },
	{ "keys", 1, 1, "list|reload", "the authorized keys, or reload authorized/", false, 0,
	  print_keys },
	{ "stats", 0, 0, "", "every counter", false, 0, print_stats },
};

static void ctl_usage(FILE *out)
{
	fprintf(out, "usage: interbot ctl DIR [--json] [--timeout MS] COMMAND [ARGS]\n\n"
		     "Asks the node running in DIR (through DIR/control.sock).\n\n");
	for (size_t i = 0; i < sizeof ctl_commands / sizeof ctl_commands[0]; i++) {
		const struct ctl_command *c = &ctl_commands[i];
		int n = fprintf(out, "  %s %s", c->name, c->args_usage);

		fprintf(out, "%*s%s\n", n < 28 ? 28 - n : 1, "", c->summary);
	}
	fprintf(out, "\n  --json        print the node's JSON answer as it came\n"
		     "  --timeout MS  how long tree and cmd wait for answers (1..60000; defaults\n"
		     "                1000 and 2000)\n"
		     "Exit status: 0 done, 1 failed or refused (one line on stderr), 2 bad usage.\n");
}

static int usage_error(const char *why)
{
	fprintf(stderr, "interbot ctl: %s\n", why);
	fprintf(stderr, "usage: interbot ctl DIR [--json] [--timeout MS] COMMAND [ARGS]"
			"   (interbot ctl --help)\n");
	return CLI_USAGE;
}

/* Options come before COMMAND; everything after it is its arguments. -1: help printed. */
static int parse_args(int argc, char **argv, struct ctl_req *r)
{
	int i;

	for (i = 1; i < argc && !r->cmd; i++) {
		const char *a = argv[i];
		char *end;

		if (cli_is_help(a)) {
			ctl_usage(stdout);
			return -1;
		} else if (strcmp(a, "--json") == 0) {
			r->json = true;
		} else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
			errno = 0;
			r->timeout_ms = strtol(argv[++i], &end, 10);
			if (errno || *end || r->timeout_ms < 1 || r->timeout_ms > CTL_MAX_TIMEOUT_MS)
				return usage_error("--timeout: milliseconds, 1 to 60000");
		} else if (a[0] == '-') {
			return usage_error("unknown option before the command");
		} else if (!r->dir) {
			r->dir = a;
		} else {
			r->cmd = a;
		}
	}
	if (!r->dir || !r->cmd)
		return usage_error(!r->dir ? "no node directory" : "no command");
	r->args = argv + i;
	r->nargs = argc - i;
	return 0;
}

static const struct ctl_command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof ctl_commands / sizeof ctl_commands[0]; i++)
		if (strcmp(ctl_commands[i].name, name) == 0)
			return &ctl_commands[i];
	return NULL;
}

/* The request object; NULL when an argument is not UTF-8 (JSON strings must be). */
static json_t *build_request(const struct ctl_command *c, const struct ctl_req *r)
{
	json_t *req = json_pack("{s:s}", "cmd", c->name), *args;
	int bad = !req;

	if (strcmp(c->name, "publish") == 0) {
		bad |= json_object_set_new(req, "key", json_string(r->args[0]));
		bad |= json_object_set_new(req, "value", json_string(r->args[1]));
	} else if (strcmp(c->name, "get") == 0 || strcmp(c->name, "fetch") == 0) {
		bad |= json_object_set_new(req, "key", json_string(r->args[0]));
	} else if (strcmp(c->name, "keys") == 0) {
		bad |= json_object_set_new(req, "action", json_string(r->args[0]));
	} else if (strcmp(c->name, "cmd") == 0) {
		bad |= json_object_set_new(req, "target", json_string(r->args[0]));
		bad |= json_object_set_new(req, "name", json_string(r->args[1]));
		args = json_array();
		for (int i = 2; args && i < r->nargs; i++)
			bad |= json_array_append_new(args, json_string(r->args[i]));
		bad |= json_object_set_new(req, "args", args);
	}
	if (r->timeout_ms)
		bad |= json_object_set_new(req, "timeout_ms", json_integer(r->timeout_ms));
	if (bad) {
		json_decref(req);
		return NULL;
	}
	return req;
}

/* ---- The connection ------------------------------------------------------------------------ */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until deadline: 1 ready, 0 timed out. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd p = { fd, events, 0 };
		long long left = deadline - now_ms();
		int rc;

		if (left <= 0)
			return 0;
		rc = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
		if (rc > 0 || (rc < 0 && errno != EINTR))
			return 1; /* an error shows in the read or write that follows */
	}
}

/* Connects to path; on failure prints the one line and returns -1. */
static int ctl_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa.sun_path) {
		fprintf(stderr, "interbot ctl: %s: path too long for a Unix socket\n", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
		return fd;
	if (errno == ECONNREFUSED)
		fprintf(stderr, "interbot ctl: %s: no node running here (connection refused)\n",
			path);
	else if (errno == ENOENT)
		fprintf(stderr, "interbot ctl: %s: no node running here (no control socket)\n",
			path);
	else
		fprintf(stderr, "interbot ctl: %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Sends the request line. A node that refuses it early (too long) closes while we write: its
 * answer is still waiting to be read, so a broken pipe is not an error here. */
static int send_request(int fd, const char *p, size_t len, long long deadline)
{
	while (len > 0) {
		ssize_t n;

		if (!wait_fd(fd, POLLOUT, deadline))
			return -1;
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return 0;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
	}
	return 0;
}

/* Reads the answer line into *line (malloc'd, NUL-terminated, without the "\n"). 0, or -1
 * with *why set. */
static int read_answer(int fd, long long deadline, char **line, const char **why)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap + 1);

	*why = "out of memory";
	while (buf) {
		ssize_t n;
		char *nl;

		if (len == cap) {
			char *grown = cap < CTL_MAX_ANSWER ? realloc(buf, 2 * cap + 1) : NULL;

			*why = "the answer is too long";
			if (!grown)
				break;
			buf = grown;
			cap *= 2;
		}
		*why = "no answer in time";
		if (!wait_fd(fd, POLLIN, deadline))
			break;
		n = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		*why = "the node closed the connection without answering";
		if (n <= 0)
			break;
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl) {
			*nl = '\0';
			*line = buf;
			return 0;
		}
	}
	free(buf);
	return -1;
}

/* Sends the request, returns the answer line (malloc'd) or NULL after printing why. */
static char *ask(const char *path, json_t *req, long wait_ms)
{
	char *text = json_dumps(req, JSON_COMPACT), *line = NULL;
	long long deadline = now_ms() + wait_ms + CTL_SLACK_MS;
	const char *why = "cannot send the request";
	size_t len;
	int fd;

	if (!text) {
		fprintf(stderr, "interbot ctl: out of memory\n");
		return NULL;
	}
	len = strlen(text);
	if (len > IB_CONTROL_MAX_REQUEST) {
		fprintf(stderr, "interbot ctl: the request is longer than the %u bytes a node takes\n",
			IB_CONTROL_MAX_REQUEST);
		free(text);
		return NULL;
	}
	text[len] = '\n'; /* json_dumps left room: the NUL becomes the line's end */
	fd = ctl_connect(path);
	if (fd >= 0 && (send_request(fd, text, len + 1, deadline) != 0 ||
			read_answer(fd, deadline, &line, &why) != 0)) {
		fprintf(stderr, "interbot ctl: %s: %s\n", path, why);
		line = NULL;
	}
	if (fd >= 0)
		close(fd);
	free(text);
	return line;
}

/* Prints the answer; the exit status. */
static int show(const struct ctl_command *c, const struct ctl_req *r, const char *line)
{
	json_error_t jerr;
	json_t *a = json_loads(line, 0, &jerr);
	int rc = CLI_OK;

	if (r->json)
		printf("%s\n", line);
	if (!json_is_object(a)) {
		fprintf(stderr, "interbot ctl: the node's answer is not a JSON object\n");
		rc = CLI_FAILED;
	} else if (!json_is_true(json_object_get(a, "ok"))) {
		fprintf(stderr, "interbot ctl: ");
		put_safe(stderr, str(a, "error"), false);
		fputc('\n', stderr);
		rc = CLI_FAILED;
	} else if (!r->json) {
		c->print(a);
	}
	json_decref(a);
	return rc;
}

int cli_ctl(int argc, char **argv)
{
	struct ctl_req r = { 0 };
	const struct ctl_command *c;
	char path[4096], *line;
	json_t *req;
	int rc = parse_args(argc, argv, &r);

	if (rc)
		return rc < 0 ? CLI_OK : rc;
	c = find_command(r.cmd);
	if (!c)
		return usage_error("unknown command (status, links, tree, publish, get, fetch, cmd, "
				   "keys, stats)");
	if (r.nargs < c->min_args || (c->max_args >= 0 && r.nargs > c->max_args)) {
		fprintf(stderr, "interbot ctl: usage: interbot ctl DIR %s %s\n", c->name,
			c->args_usage);
		return CLI_USAGE;
	}
	if (strcmp(c->name, "keys") == 0 && strcmp(r.args[0], "list") != 0 &&
	    strcmp(r.args[0], "reload") != 0)
		return usage_error("keys list, or keys reload");
	if (r.timeout_ms && !c->takes_timeout)
		return usage_error("--timeout is for tree and cmd");
	if (snprintf(path, sizeof path, "%s/control.sock", r.dir) >= (int)sizeof path)
		return usage_error("the directory name is too long");
	req = build_request(c, &r);
	if (!req)
		return usage_error("arguments must be UTF-8 text");
	line = ask(path, req, r.timeout_ms ? r.timeout_ms : c->wait_ms);
	json_decref(req);
	if (!line)
		return CLI_FAILED;
	rc = show(c, &r, line);
	free(line);
	return rc;
}
