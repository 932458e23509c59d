/*
 * control.c - the control socket of owner tools (spec section 19.1, DIR/control.sock): a Unix
 * stream socket, mode 0600, on the node's loop. Each connection carries one request and one
 * answer, each a JSON object on one line:
 *
 *   -> {"cmd":"status"}\n
 *   <- {"ok":true,"id":"<hex>",...}\n      or   {"ok":false,"error":"one line"}\n
 *
 * Requests ("timeout_ms" is optional, 1..60000):
 *   status                       id, name, role, software, parent (hex or null), path (hex
 *                                list, root first), children [{id,name,addr}], listen_port,
 *                                items, keys, counters {name: value}
 *   links                        links [{id,name,addr,is_parent,role,rtt_us,open_for_s}]
 *   tree     [timeout_ms 1000]   bots [{id,parent,name,software,role,self,hops,rtt_us,
 *                                keys_differ}]: the map, after an ib.info round to everyone
 *   publish  key, value          version
 *   get      key                 key, version, writer, seq, value (text or null), value_hex,
 *                                frame_hex
 *   fetch    key                 as get, after a version election
 *   cmd      target, name, args [timeout_ms 2000]
 *                                target (hex or "all"), results [{from, name, status,
 *                                status_code, output | output_hex, truncated}]
 *   keys     action "list"       keys [{id,label,self}], digest
 *   keys     action "reload"     keys (how many)
 *   stats                        counters
 * Protocol u64 fields (version, seq) are decimal strings, as in ib_msg_to_json; counts, times
 * and ports are JSON numbers. tree, fetch and cmd answer later, from their callbacks: the
 * connection stays open until then.
 *
 * What a client sends is untrusted: the request is bounded, parsed by jansson, and every field
 * is checked before use. A client is bounded in time too (CTL_IO_TIMEOUT_US to send its request
 * or read the answer, CTL_WAIT_TIMEOUT_US for an answer that comes later) and in number.
 *
 * The node's callbacks (commands, fetch) do not carry a pointer to the client, which may be
 * gone when they come (closed by its peer, timed out, or the whole control socket closed): they
 * carry the client's serial number, looked up again on each call.
 */
#define _GNU_SOURCE /* accept4, SOCK_NONBLOCK, SOCK_CLOEXEC under -std=c11 */

#include "node_internal.h"
#include "control.h"
#include "json_util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"

#define CTL_MAX_CLIENTS 16u
#define CTL_ACCEPTS_PER_TURN 16u
#define CTL_BACKLOG 16
#define CTL_READ_CHUNK 4096u
#define CTL_IO_TIMEOUT_US (10ull * 1000000ull)
#define CTL_WAIT_TIMEOUT_US (120ull * 1000000ull)
#define CTL_TREE_TIMEOUT_MS 1000u
#define CTL_CMD_TIMEOUT_MS 2000u
#define CTL_MAX_TIMEOUT_MS 60000u
#define CTL_MAX_RESULTS 1024u       /* RESULTs kept for one cmd or tree request */
#define CTL_MAX_OUTPUT 65536u       /* bytes of one RESULT output kept */
#define CTL_MAX_ARGS 16u            /* what a node splits a COMMAND's args into */
#define CTL_RESERVE_RETRY_US 1000000ull /* out of descriptors, no reserve: accept again then */
#define CTL_MAX_HELD (64u * 1024u * 1024u) /* answer bytes held for clients at once: a big
					    * answer past it waits (busy) for the others */

enum client_state { CL_READING, CL_WAITING, CL_WRITING };
enum client_wait { WAIT_NONE, WAIT_TREE, WAIT_CMD, WAIT_FETCH };

struct control;

struct client {
	struct control *ctl;
	struct client *next;
	uint64_t serial;            /* the callbacks' handle: never reused */
	int fd;
	enum client_state state;
	enum client_wait wait;      /* what a CL_WAITING client waits for */
	struct ib_buf in;           /* the request, up to its "\n" */
	struct ib_buf out;          /* the answer line */
	size_t out_off;
	uint64_t timer;
	json_t *results;            /* tree: {id hex: digest hex}; cmd: [result] */
	size_t dropped;             /* results beyond CTL_MAX_RESULTS */
	char target[2 * IB_ID_LEN + 1]; /* cmd: the id asked, or "all" */
};

struct control {
	struct ib_node *node;
	int fd;
	char path[IB_NET_UNIX_PATH_MAX];
	dev_t dev;                  /* the socket file we made, to remove only that one */
	ino_t ino;
	struct client *clients;
	size_t nclients;
	uint64_t next_serial;
	/* A descriptor held in reserve: out of descriptors, it is given up to accept one client,
	 * so that the owner can still ask what is wrong; taken back when that client goes. */
	int reserve_fd;
	const struct client *reserve_user;
	uint64_t retry_timer;       /* no reserve: accepting again in a while */
};

static void client_io(struct ib_loop *loop, int fd, unsigned events, void *arg);
static void client_timeout(struct ib_loop *loop, void *arg);

/* ---- JSON helpers ------------------------------------------------------------------------ */

/* Counts and times: numbers, clamped where a json_int_t ends (never reached in practice). */
static json_t *count_json(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static const char *role_name(uint8_t role)
{
	switch (role) {
	case IB_ROLE_SERVER:
		return "server";
	case IB_ROLE_CLIENT:
		return "client";
	default:
		return "unknown";
	}
}

/* The map into out[0..cap); how many entries were filled (the map may not grow between the
 * caller's count and this call, but a short count is not trusted either). */
static size_t map_fill(const struct ib_node *n, struct ib_map_entry *out, size_t cap)
{
	size_t count = cap ? ib_node_map(n, out, cap) : 0;

	return count < cap ? count : cap;
}

/* A file name as JSON text: bytes that are not printable ASCII become '?' (names of key files
 * are bytes, JSON strings UTF-8). */
static json_t *label_json(const char *label)
{
	char clean[256];
	size_t i;

	for (i = 0; label[i] && i < sizeof clean - 1; i++) {
		unsigned char b = (unsigned char)label[i];

		/* NOLINTNEXTLINE(bugprone-narrowing-conversions): '?' is an int; both are chars */
		clean[i] = b >= 0x20 && b < 0x7f ? (char)b : '?';
	}
	clean[i] = '\0';
	return json_string(clean);
}

static json_t *answer_ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

/* {"ok":false,"error":...}; NULL only without memory. The message may quote a client's bytes
 * that are not UTF-8, which a JSON string cannot hold: then a plainer message. */
static json_t *answer_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *answer_error(const char *fmt, ...)
{
	char msg[512];
	json_t *a;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	a = json_pack("{s:b,s:s}", "ok", 0, "error", msg);
	return a ? a : json_pack("{s:b,s:s}", "ok", 0, "error", "bad request");
}

/* Releases a half-built answer: the caller sends the out-of-memory line instead. */
static json_t *no_memory(json_t *a)
{
	json_decref(a);
	return NULL;
}

static json_t *counters_json(const struct ib_node *n)
{
	json_t *o = json_object();
	int bad = !o;

	for (int c = 0; !bad && c < IB_CNT__COUNT; c++)
		bad |= json_object_set_new(o, ib_counter_name((enum ib_counter)c),
					   count_json(ib_node_counter(n, (enum ib_counter)c)));
	return bad ? no_memory(o) : o;
}

/* A string field of the request: 0, or -1 with *why set. */
static int req_string(json_t *req, const char *field, struct ib_slice *out, const char **why)
{
	json_t *v = json_object_get(req, field);

	if (!json_is_string(v)) {
		*why = field;
		return -1;
	}
	out->ptr = (const uint8_t *)json_string_value(v);
	out->len = json_string_length(v);
	return 0;
}

/* The optional "timeout_ms": 1..CTL_MAX_TIMEOUT_MS, or def when absent. -1 when wrong. */
static int req_timeout(json_t *req, uint32_t def, uint32_t *ms)
{
	json_t *v = json_object_get(req, "timeout_ms");
	json_int_t t;

	*ms = def;
	if (!v)
		return 0;
	if (!json_is_integer(v))
		return -1;
	t = json_integer_value(v);
	if (t < 1 || t > CTL_MAX_TIMEOUT_MS)
		return -1;
	*ms = (uint32_t)t;
	return 0;
}

/* ---- Clients ----------------------------------------------------------------------------- */

static void *token_of(const struct client *c)
{
	/* NOLINTNEXTLINE(performance-no-int-to-ptr): a token compared, never dereferenced */
	return (void *)(uintptr_t)c->serial;
}

/* The client a callback's token names, if it still waits for that answer. */
static struct client *client_waiting(struct ib_node *n, void *token, enum client_wait wait)
{
	if (!n->control)
		return NULL;
	for (struct client *c = n->control->clients; c; c = c->next)
		if ((uintptr_t)c->serial == (uintptr_t)token)
			return c->state == CL_WAITING && c->wait == wait ? c : NULL;
	return NULL;
}

static void client_set_timer(struct client *c, uint64_t delay_us)
{
	struct ib_loop *loop = c->ctl->node->loop;

	ib_loop_timer_cancel(loop, c->timer);
	c->timer = 0;
	ib_loop_timer_add(loop, delay_us, client_timeout, c, &c->timer);
}

static void on_accept(struct ib_loop *loop, int fd, unsigned events, void *arg);

/* The reserve descriptor back, and clients accepted again (the listener was left unwatched
 * while none could be). */
static void reserve_take_back(struct control *ctl)
{
	ctl->reserve_user = NULL;
	ctl->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ib_loop_watch(ctl->node->loop, ctl->fd, IB_EV_READ, on_accept, ctl);
}

static void client_free(struct client *c)
{
	struct control *ctl = c->ctl;

	for (struct client **p = &ctl->clients; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	ctl->nclients--;
	ib_loop_unwatch(ctl->node->loop, c->fd);
	ib_net_close(c->fd);
	if (ctl->reserve_user == c)
		reserve_take_back(ctl);
	ib_loop_timer_cancel(ctl->node->loop, c->timer);
	ib_buf_free(&c->in);
	ib_buf_free(&c->out);
	json_decref(c->results);
	free(c);
}

/* Writes what the socket takes; frees the client when the answer is out or cannot be. */
static void client_write(struct client *c)
{
	while (c->out_off < c->out.len) {
		size_t sent = 0;
		int err = ib_net_write(c->fd, c->out.ptr + c->out_off, c->out.len - c->out_off,
				       &sent);

		if (err == IB_ERR_AGAIN)
			return; /* the loop calls again when the socket is writable */
		if (err) {
			client_free(c);
			return;
		}
		c->out_off += sent;
	}
	client_free(c);
}

/* Sends ans (consumed; NULL: out of memory) and closes once it is written. The client may be
 * freed on return. */
static void client_answer(struct client *c, json_t *ans)
{
	static const char oom[] = "{\"ok\":false,\"error\":\"out of memory\"}\n";
	char *text = ans ? json_dumps(ans, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(ans);
	ib_buf_free(&c->out);
	if (text) {
		/* The text becomes the answer as it is, its NUL the line's end: an item's answer
		 * is not held twice. */
		size_t len = strlen(text);

		text[len] = '\n';
		c->out = (struct ib_buf){ (uint8_t *)text, len + 1, len + 1 };
	} else if (ib_buf_put(&c->out, oom, sizeof oom - 1)) {
		client_free(c);
		return;
	}
	c->state = CL_WRITING;
	c->wait = WAIT_NONE;
	c->out_off = 0;
	if (ib_loop_watch(c->ctl->node->loop, c->fd, IB_EV_WRITE, client_io, c) != IB_OK) {
		client_free(c);
		return;
	}
	client_set_timer(c, CTL_IO_TIMEOUT_US);
	client_write(c);
}

/* The request's answer comes later, from a callback. The socket is watched for errors only:
 * a client that hangs up is freed, and the callback finds nobody. When the watch cannot be
 * set, the client stays as it was and gets the out-of-memory answer from handle_request
 * (the callback then finds it not waiting). */
static void client_wait(struct client *c, enum client_wait wait)
{
	if (ib_loop_watch(c->ctl->node->loop, c->fd, 0, client_io, c) != IB_OK)
		return;
	c->state = CL_WAITING;
	c->wait = wait;
	client_set_timer(c, CTL_WAIT_TIMEOUT_US);
}

/* A client at one of its bounds: counted, and told in a rate-limited line. */
static void client_cut(const struct client *c, const char *what)
{
	node_count(c->ctl->node, IB_CNT_CONTROL_CUT);
	node_log_every(c->ctl->node, IB_LOG_WARN, IB_CNT_CONTROL_CUT, "control client cut: "
		       "it %s (bounds: requests of %u bytes, %llu s to send or read)", what,
		       IB_CONTROL_MAX_REQUEST,
		       CTL_IO_TIMEOUT_US / 1000000ull);
}

static void client_timeout(struct ib_loop *loop, void *arg)
{
	struct client *c = arg;

	(void)loop;
	c->timer = 0;
	switch (c->state) {
	case CL_READING:
		client_cut(c, "sent no complete request in time");
		client_answer(c, answer_error("no complete request within %llu s",
					      CTL_IO_TIMEOUT_US / 1000000ull));
		break;
	case CL_WAITING:
		/* The late callback finds the client writing, or gone: it does nothing. */
		client_answer(c, answer_error("no answer within %llu s",
					      CTL_WAIT_TIMEOUT_US / 1000000ull));
		break;
	case CL_WRITING:
	default:
		client_cut(c, "did not read its answer in time");
		client_free(c);
		break;
	}
}

/* ---- Synchronous requests ---------------------------------------------------------------- */

static json_t *children_json(const struct ib_link_info *links, size_t count)
{
	json_t *a = json_array();
	int bad = !a;

	for (size_t i = 0; !bad && i < count; i++) {
		if (links[i].is_parent)
			continue;
		bad |= json_array_append_new(a, json_pack("{s:o,s:s,s:s}", "id",
							  ib_json_id(&links[i].peer), "name",
							  links[i].name, "addr", links[i].addr));
	}
	return bad ? no_memory(a) : a;
}

/* Every open link; *count how many (out is malloc'd, may be NULL when there are none). */
static struct ib_link_info *links_of(const struct ib_node *n, size_t *count)
{
	size_t want = ib_node_links(n, NULL, 0);
	struct ib_link_info *out = want ? calloc(want, sizeof *out) : NULL;

	*count = out ? ib_node_links(n, out, want) : 0;
	if (*count > want) /* cannot happen between two calls of one turn */
		*count = want;
	return out;
}

static json_t *path_json(const struct ib_node *n)
{
	ib_id *path = calloc(IB_MAX_PATH, sizeof *path);
	size_t len = path ? ib_node_path(n, path, IB_MAX_PATH) : 0;
	json_t *a = path ? json_array() : NULL;
	int bad = !a;

	for (size_t i = 0; !bad && i < len && i < IB_MAX_PATH; i++)
		bad |= json_array_append_new(a, ib_json_id(&path[i]));
	free(path);
	return bad ? no_memory(a) : a;
}

static json_t *do_status(struct client *c, json_t *req)
{
	const struct ib_node *n = c->ctl->node;
	size_t nlinks = 0;
	struct ib_link_info *links = links_of(n, &nlinks);
	json_t *a = answer_ok();
	ib_id parent;
	int bad = !a;

	(void)req;
	bad |= json_object_set_new(a, "id", ib_json_id(ib_node_id(n)));
	bad |= json_object_set_new(a, "name", json_string(ib_node_name(n)));
	bad |= json_object_set_new(a, "role", json_string(role_name(n->cfg.mode)));
	bad |= json_object_set_new(a, "software",
				   json_string(IB_SOFTWARE_NAME "/" IB_SOFTWARE_VERSION));
	bad |= json_object_set_new(a, "parent", ib_node_parent(n, &parent) ? ib_json_id(&parent)
									   : json_null());
	bad |= json_object_set_new(a, "path", path_json(n));
	bad |= json_object_set_new(a, "children", children_json(links, nlinks));
	bad |= json_object_set_new(a, "listen_port", json_integer(ib_node_listen_port(n)));
	bad |= json_object_set_new(a, "items", count_json(ib_store_count(ib_node_store(n))));
	bad |= json_object_set_new(a, "keys", count_json(ib_keyring_count(n->kr)));
	bad |= json_object_set_new(a, "counters", counters_json(n));
	free(links);
	return bad ? no_memory(a) : a;
}

static json_t *do_links(struct client *c, json_t *req)
{
	const struct ib_node *n = c->ctl->node;
	uint64_t now = ib_loop_now_us(n->loop);
	size_t count = 0;
	struct ib_link_info *links = links_of(n, &count);
	json_t *a = answer_ok(), *list = json_array();
	int bad = !a || !list;

	(void)req;
	for (size_t i = 0; !bad && i < count; i++) {
		const struct ib_link_info *l = &links[i];
		uint64_t open_us = now > l->open_since_us ? now - l->open_since_us : 0;

		bad |= json_array_append_new(
			list, json_pack("{s:o,s:s,s:s,s:b,s:s,s:o,s:o}", "id", ib_json_id(&l->peer),
					"name", l->name, "addr", l->addr, "is_parent", l->is_parent,
					"role", role_name(l->role), "rtt_us", count_json(l->rtt_us),
					"open_for_s", count_json(open_us / 1000000u)));
	}
	bad |= json_object_set_new(a, "links", list);
	free(links);
	return bad ? no_memory(a) : a;
}

/* key, version, writer, seq, value (text if UTF-8, else null), value_hex, frame_hex. */
static json_t *item_answer(const struct ib_item *item)
{
	json_t *a = answer_ok();
	json_t *text = json_stringn((const char *)item->value.ptr, item->value.len);
	int bad = !a;

	bad |= json_object_set_new(a, "key", json_stringn((const char *)item->key.ptr,
							   item->key.len));
	bad |= json_object_set_new(a, "version", ib_json_u64(item->version));
	bad |= json_object_set_new(a, "writer", ib_json_id(&item->writer));
	bad |= json_object_set_new(a, "seq", ib_json_u64(item->seq));
	bad |= json_object_set_new(a, "value", text ? text : json_null());
	bad |= json_object_set_new(a, "value_hex", ib_json_hex(item->value.ptr, item->value.len));
	bad |= json_object_set_new(a, "frame_hex", ib_json_hex(item->frame.ptr, item->frame.len));
	return bad ? no_memory(a) : a;
}

static json_t *do_publish(struct client *c, json_t *req)
{
	struct ib_slice key, value;
	const char *missing = NULL;
	uint64_t version = 0;
	json_t *a;
	int err;

	if (req_string(req, "key", &key, &missing) || req_string(req, "value", &value, &missing))
		return answer_error("publish needs a \"%s\" string", missing);
	if (key.len == 0 || key.len > IB_MAX_STRING)
		return answer_error("a key is 1 to %u bytes", IB_MAX_STRING);
	err = ib_node_publish(c->ctl->node, key, value, &version);
	if (err)
		return answer_error("publish failed: %s", ib_strerror(err));
	a = answer_ok();
	if (a && json_object_set_new(a, "version", ib_json_u64(version)))
		return no_memory(a);
	return a;
}

/* The bytes held in answers that their clients have not read yet. */
static size_t answers_held(const struct control *ctl)
{
	size_t held = 0;

	for (const struct client *c = ctl->clients; c; c = c->next)
		held += c->out.cap;
	return held;
}

/* At most what item_answer and its text hold at once: the value as JSON text (6 bytes per
 * control byte at worst), value_hex and frame_hex, in jansson's strings and in the text. */
static size_t item_answer_cost(const struct ib_item *item)
{
	return 2 * (8 * item->value.len + 2 * item->frame.len) + 1024;
}

static json_t *do_get(struct client *c, json_t *req)
{
	struct ib_slice key;
	const char *missing = NULL;
	struct ib_item item;
	size_t held;

	if (req_string(req, "key", &key, &missing))
		return answer_error("get needs a \"key\" string");
	if (ib_store_get(ib_node_store(c->ctl->node), key, &item) != IB_OK)
		return answer_error("not found: this node holds no item under that key");
	/* Clients that do not read hold their answers: past CTL_MAX_HELD, an item's answer
	 * waits for them to, so that clients cannot take the node's memory. The first is
	 * always made, whatever its size; status never waits. */
	held = answers_held(c->ctl);
	if (held && held + item_answer_cost(&item) > CTL_MAX_HELD)
		return answer_error("busy: %zu bytes of answers wait for other control clients to "
				    "read them; ask again", held);
	return item_answer(&item);
}

static json_t *do_keys(struct client *c, json_t *req)
{
	struct ib_node *n = c->ctl->node;
	json_t *action = json_object_get(req, "action");
	const char *what = action ? json_string_value(action) : "list";
	struct ib_diag diag = { 0 };
	uint8_t digest[32];
	json_t *a, *list;
	int bad, err;

	if (what && strcmp(what, "reload") == 0) {
		err = ib_node_reload_keys(n, &diag);
		if (err == IB_ERR_INVALID_ARG)
			return answer_error("this node was not opened from a directory: "
					    "no authorized/ to reload");
		if (err && diag.file[0])
			return answer_error("%s: %s", diag.file, diag.reason);
		if (err)
			return answer_error("%s", diag.reason[0] ? diag.reason : ib_strerror(err));
		a = answer_ok();
		if (a && json_object_set_new(a, "keys", count_json(ib_keyring_count(n->kr))))
			return no_memory(a);
		return a;
	}
	if (!what || strcmp(what, "list") != 0)
		return answer_error("keys: the action is \"list\" or \"reload\"");
	a = answer_ok();
	list = json_array();
	bad = !a || !list;
	for (size_t i = 0; !bad && i < ib_keyring_count(n->kr); i++) {
		const struct ib_pubkey *k = ib_keyring_at(n->kr, i);
		const ib_id *id = ib_pubkey_id(k);

		bad |= json_array_append_new(list, json_pack("{s:o,s:o,s:b}", "id", ib_json_id(id),
							     "label", label_json(ib_pubkey_label(k)), "self",
							     ib_id_equal(id, ib_node_id(n))));
	}
	bad |= json_object_set_new(a, "keys", list);
	if (!bad && ib_keyring_digest(n->kr, digest) == IB_OK)
		bad |= json_object_set_new(a, "digest", ib_json_hex(digest, sizeof digest));
	return bad ? no_memory(a) : a;
}

static json_t *do_stats(struct client *c, json_t *req)
{
	json_t *a = answer_ok();

	(void)req;
	if (a && json_object_set_new(a, "counters", counters_json(c->ctl->node)))
		return no_memory(a);
	return a;
}

/* ---- tree: the map, hops, and an ib.info round for the keys digests ----------------------- */

struct id_index {
	ib_id id;
	size_t at;
};

static int id_index_cmp(const void *a, const void *b)
{
	return ib_id_compare(&((const struct id_index *)a)->id, &((const struct id_index *)b)->id);
}

#define HOPS_NONE (-1L)     /* not reachable over the parent pointers */
#define HOPS_UNKNOWN (-2L)
#define HOPS_BUSY (-3L)     /* on the walk being made: met again, it is a cycle */

/* The index of each entry's parent in m, or -1 (a root, or a parent the map lacks). */
static int parent_indexes(const struct ib_map_entry *m, size_t count, long *parent)
{
	struct id_index *index = calloc(count ? count : 1, sizeof *index);

	if (!index)
		return IB_ERR_NOMEM;
	for (size_t i = 0; i < count; i++)
		index[i] = (struct id_index){ m[i].id, i };
	qsort(index, count, sizeof *index, id_index_cmp);
	for (size_t i = 0; i < count; i++) {
		struct id_index key = { m[i].parent, 0 };
		const struct id_index *hit = ib_id_is_zero(&m[i].parent) ? NULL
			: bsearch(&key, index, count, sizeof *index, id_index_cmp);

		parent[i] = hit ? (long)hit->at : -1;
	}
	free(index);
	return IB_OK;
}

/* Hops from entry self to every entry, over the parent pointers: the ancestors of self are
 * 0, 1, 2... away; any other entry is one more than its parent. Each entry is walked once
 * (memoised), and a cycle in the pointers (the map of a tree that is changing) ends a walk
 * with HOPS_NONE rather than looping. */
static int compute_hops(const struct ib_map_entry *m, size_t count, long self, long *hops)
{
	long *parent = calloc(count ? count : 1, sizeof *parent);
	long *stack = calloc(count ? count : 1, sizeof *stack);
	int err = parent && stack ? parent_indexes(m, count, parent) : IB_ERR_NOMEM;

	if (err)
		goto out;
	for (size_t i = 0; i < count; i++)
		hops[i] = HOPS_UNKNOWN;
	for (long k = self, j = 0; k >= 0 && hops[k] == HOPS_UNKNOWN; k = parent[k])
		hops[k] = j++;
	for (size_t i = 0; i < count; i++) {
		size_t depth = 0;
		long k = (long)i, base;

		while (k >= 0 && hops[k] == HOPS_UNKNOWN) {
			stack[depth++] = k;
			hops[k] = HOPS_BUSY;
			k = parent[k];
		}
		base = k >= 0 && hops[k] >= 0 ? hops[k] : HOPS_NONE;
		while (depth-- > 0) {
			if (base != HOPS_NONE)
				base++;
			hops[stack[depth]] = base;
		}
	}
out:
	free(parent);
	free(stack);
	return err;
}

/* keys_differ of one bot: false for this node; from its ib.info digest; null if none came. */
static json_t *keys_differ_json(const struct client *c, const ib_id *id, bool self,
				const char *own_digest)
{
	char hex[2 * IB_ID_LEN + 1];
	json_t *d;

	if (self)
		return json_false();
	ib_id_to_hex(id, hex);
	d = json_object_get(c->results, hex);
	if (!json_is_string(d))
		return json_null();
	return json_boolean(strcmp(json_string_value(d), own_digest) != 0);
}

static json_t *rtt_json(const ib_id *id, const struct ib_link_info *links, size_t nlinks)
{
	for (size_t i = 0; i < nlinks; i++)
		if (ib_id_equal(&links[i].peer, id))
			return count_json(links[i].rtt_us);
	return json_null();
}

static json_t *bot_json(const struct client *c, const struct ib_map_entry *e, long hops,
			const struct ib_link_info *links, size_t nlinks, const char *own_digest)
{
	bool self = ib_id_equal(&e->id, ib_node_id(c->ctl->node));

	return json_pack("{s:o,s:o,s:s,s:s,s:s,s:b,s:o,s:o,s:o}", "id", ib_json_id(&e->id), "parent",
			 ib_id_is_zero(&e->parent) ? json_null() : ib_json_id(&e->parent), "name",
			 e->name, "software", e->software, "role", role_name(e->role), "self", self,
			 "hops", hops >= 0 ? json_integer(hops) : json_null(), "rtt_us",
			 self ? json_null() : rtt_json(&e->id, links, nlinks), "keys_differ",
			 keys_differ_json(c, &e->id, self, own_digest));
}

/* The map as it is now, with the digests the ib.info round brought. */
static json_t *tree_answer(const struct client *c)
{
	const struct ib_node *n = c->ctl->node;
	size_t count = ib_node_map(n, NULL, 0), nlinks = 0;
	struct ib_map_entry *map = calloc(count ? count : 1, sizeof *map);
	long *hops = calloc(count ? count : 1, sizeof *hops);
	struct ib_link_info *links = links_of(n, &nlinks);
	char own[65] = "";
	uint8_t digest[32];
	json_t *a = answer_ok(), *bots = json_array();
	long self = -1;
	int bad = !map || !hops || !a || !bots;

	if (!bad)
		count = map_fill(n, map, count);
	if (ib_keyring_digest(n->kr, digest) == IB_OK)
		ib_hex_encode(digest, sizeof digest, own);
	for (size_t i = 0; !bad && i < count; i++)
		if (ib_id_equal(&map[i].id, ib_node_id(n)))
			self = (long)i;
	bad = bad || compute_hops(map, count, self, hops) != IB_OK;
	for (size_t i = 0; !bad && i < count; i++)
		bad |= json_array_append_new(bots, bot_json(c, &map[i], hops[i], links, nlinks, own));
	bad |= json_object_set_new(a, "bots", bots); /* takes bots, also on failure */
	free(map);
	free(hops);
	free(links);
	return bad ? no_memory(a) : a;
}

/* The value of the "keys_digest=" line of an ib.info output, or "" (64 hex digits at most). */
static void digest_line(struct ib_slice out, char hex[65])
{
	static const char tag[] = "keys_digest=";
	size_t i = 0;

	hex[0] = '\0';
	while (i < out.len) {
		const uint8_t *line = out.ptr + i;
		const uint8_t *nl = memchr(line, '\n', out.len - i);
		size_t len = nl ? (size_t)(nl - line) : out.len - i;

		if (len == 64 + sizeof tag - 1 && memcmp(line, tag, sizeof tag - 1) == 0) {
			memcpy(hex, line + sizeof tag - 1, 64);
			hex[64] = '\0';
			return;
		}
		i += len + 1;
	}
}

static void tree_result(struct ib_node *n, const ib_id *from, uint16_t status,
			struct ib_slice output, void *token)
{
	struct client *c = client_waiting(n, token, WAIT_TREE);
	char id[2 * IB_ID_LEN + 1], digest[65];

	if (!c)
		return;
	if (!from) {
		client_answer(c, tree_answer(c));
		return;
	}
	digest_line(output, digest);
	if (status != IB_STATUS_OK || !digest[0])
		return; /* no digest: keys_differ stays null for that bot */
	if (json_object_size(c->results) >= CTL_MAX_RESULTS) {
		c->dropped++;
		return;
	}
	ib_id_to_hex(from, id);
	json_object_set_new(c->results, id, json_string(digest));
}

/* The map does not carry keys digests (spec section 16), ib.info does (section 15). */
static json_t *do_tree(struct client *c, json_t *req)
{
	uint32_t ms;
	int err;

	if (req_timeout(req, CTL_TREE_TIMEOUT_MS, &ms))
		return answer_error("timeout_ms is an integer from 1 to %u", CTL_MAX_TIMEOUT_MS);
	c->results = json_object();
	if (!c->results)
		return NULL;
	err = ib_node_command(c->ctl->node, NULL, "ib.info", NULL, 0, ms, tree_result,
			      token_of(c));
	if (err)
		return answer_error("cannot send ib.info: %s", ib_strerror(err));
	client_wait(c, WAIT_TREE);
	return NULL;
}

/* ---- fetch ------------------------------------------------------------------------------- */

/* The offers, in arrival order, and where the item came from. */
static json_t *report_json(const struct ib_election_report *r)
{
	json_t *offers = json_array();
	char hex[2 * IB_ID_LEN + 1];

	for (size_t i = 0; offers && i < r->offers && i < IB_REPORT_MAX_OFFERS; i++) {
		char holder[2 * IB_ID_LEN + 1], version[24];

		ib_id_to_hex(&r->offer[i].holder, holder);
		ib_id_to_hex(&r->offer[i].writer, hex);
		snprintf(version, sizeof version, "%llu", (unsigned long long)r->offer[i].version);
		json_array_append_new(offers, json_pack("{s:s, s:s, s:s, s:b}", "holder", holder,
							"version", version, "writer", hex,
							"failed", r->offer[i].failed));
	}
	ib_id_to_hex(&r->holder, hex);
	return json_pack("{s:o, s:I, s:o, s:b}", "offers", offers, "offers_received",
			 (json_int_t)r->offers, "chosen",
			 r->transferred ? json_string(hex) : json_null(), "own", r->own);
}

static void fetch_done(struct ib_node *n, int status, const struct ib_item *item,
		       const struct ib_election_report *report, void *token)
{
	struct client *c = client_waiting(n, token, WAIT_FETCH);

	if (!c)
		return;
	if (status == IB_OK && item) {
		json_t *a = item_answer(item);

		if (a)
			json_object_set_new(a, "election", report_json(report));
		client_answer(c, a);
	}
	else if (status == IB_ERR_NOT_FOUND || status == IB_OK)
		client_answer(c, answer_error("not found: no bot offered an item under that key"));
	else
		client_answer(c, answer_error("fetch failed: %s", ib_strerror(status)));
}

static json_t *do_fetch(struct client *c, json_t *req)
{
	struct ib_slice key;
	const char *missing = NULL;
	int err;

	if (req_string(req, "key", &key, &missing))
		return answer_error("fetch needs a \"key\" string");
	if (key.len == 0 || key.len > IB_MAX_STRING)
		return answer_error("a key is 1 to %u bytes", IB_MAX_STRING);
	err = ib_node_fetch(c->ctl->node, key, fetch_done, token_of(c));
	if (err == IB_ERR_FULL)
		return answer_error("busy: as many elections are open as the node runs at once "
				    "(max_elections); ask again");
	if (err)
		return answer_error("fetch failed: %s", ib_strerror(err));
	client_wait(c, WAIT_FETCH);
	return NULL;
}

/* ---- cmd --------------------------------------------------------------------------------- */

/* The name the map gives id, or NULL. */
static const char *name_in_map(const struct ib_map_entry *map, size_t count, const ib_id *id)
{
	for (size_t i = 0; i < count; i++)
		if (ib_id_equal(&map[i].id, id))
			return map[i].name;
	return NULL;
}

static json_t *result_json(const struct ib_node *n, const ib_id *from, uint16_t status,
			   struct ib_slice output)
{
	size_t count = ib_node_map(n, NULL, 0);
	struct ib_map_entry *map = count ? calloc(count, sizeof *map) : NULL;
	bool truncated = output.len > CTL_MAX_OUTPUT;
	size_t keep = truncated ? CTL_MAX_OUTPUT : output.len;
	json_t *text = json_stringn((const char *)output.ptr, keep);
	const char *name;
	json_t *r;

	count = map ? map_fill(n, map, count) : 0;
	name = map ? name_in_map(map, count, from) : NULL;
	r = json_pack("{s:o,s:s?,s:s,s:i}", "from", ib_json_id(from), "name", name, "status",
		      ib_status_name(status), "status_code", (int)status);
	free(map);
	/* Text when it is UTF-8 (a cut may split a character: then hex too). */
	if (r && json_object_set_new(r, text ? "output" : "output_hex",
				     text ? text : ib_json_hex(output.ptr, keep)))
		return no_memory(r);
	if (r && truncated && json_object_set_new(r, "truncated", json_true()))
		return no_memory(r);
	return r;
}

static void cmd_result(struct ib_node *n, const ib_id *from, uint16_t status,
		       struct ib_slice output, void *token)
{
	struct client *c = client_waiting(n, token, WAIT_CMD);
	json_t *a;
	int bad;

	if (!c)
		return;
	if (from) {
		if (json_array_size(c->results) >= CTL_MAX_RESULTS)
			c->dropped++;
		else
			json_array_append_new(c->results, result_json(n, from, status, output));
		return;
	}
	a = answer_ok();
	bad = !a;
	bad |= json_object_set_new(a, "target", json_string(c->target));
	bad |= json_object_set_new(a, "results", json_incref(c->results));
	if (c->dropped)
		bad |= json_object_set_new(a, "dropped", count_json(c->dropped));
	client_answer(c, bad ? no_memory(a) : a);
}

/* TARGET: 32 hex digits, "all", or a name the map holds once. */
static json_t *resolve_target(struct client *c, const char *target, ib_id *dest, bool *all)
{
	const struct ib_node *n = c->ctl->node;
	size_t count = ib_node_map(n, NULL, 0), found = 0;
	struct ib_map_entry *map;

	*all = strcmp(target, "all") == 0;
	if (*all || ib_id_from_hex(dest, target) == IB_OK)
		return NULL;
	map = calloc(count ? count : 1, sizeof *map);
	if (!map)
		return answer_error("out of memory");
	count = map_fill(n, map, count);
	for (size_t i = 0; i < count; i++) {
		if (strcmp(map[i].name, target) != 0)
			continue;
		*dest = map[i].id;
		found++;
	}
	free(map);
	if (found == 1)
		return NULL;
	if (found == 0)
		return answer_error("no bot named \"%s\" in the tree map (give its id, or all)",
				    target);
	return answer_error("%zu bots are named \"%s\": give the id", found, target);
}

/* The "args" list of strings (may be absent); -1 when it is something else. */
static int cmd_args(json_t *req, struct ib_slice *args, size_t *nargs)
{
	json_t *list = json_object_get(req, "args"), *v;
	size_t i;

	*nargs = 0;
	if (!list)
		return 0;
	if (!json_is_array(list) || json_array_size(list) > CTL_MAX_ARGS)
		return -1;
	json_array_foreach(list, i, v) {
		if (!json_is_string(v))
			return -1;
		args[i] = (struct ib_slice){ (const uint8_t *)json_string_value(v),
					     json_string_length(v) };
	}
	*nargs = json_array_size(list);
	return 0;
}

static json_t *do_cmd(struct client *c, json_t *req)
{
	struct ib_slice target, name, args[CTL_MAX_ARGS];
	const char *missing = NULL;
	size_t nargs;
	uint32_t ms;
	ib_id dest;
	bool all;
	json_t *bad;
	int err;

	if (req_string(req, "target", &target, &missing) || req_string(req, "name", &name, &missing))
		return answer_error("cmd needs a \"%s\" string", missing);
	if (name.len == 0 || name.len > IB_MAX_STRING)
		return answer_error("a command name is 1 to %u bytes", IB_MAX_STRING);
	if (cmd_args(req, args, &nargs))
		return answer_error("args is a list of at most %u strings", CTL_MAX_ARGS);
	if (req_timeout(req, CTL_CMD_TIMEOUT_MS, &ms))
		return answer_error("timeout_ms is an integer from 1 to %u", CTL_MAX_TIMEOUT_MS);
	bad = resolve_target(c, (const char *)target.ptr, &dest, &all);
	if (bad)
		return bad;
	if (all)
		snprintf(c->target, sizeof c->target, "all");
	else
		ib_id_to_hex(&dest, c->target);
	c->results = json_array();
	if (!c->results)
		return NULL;
	err = ib_node_command(c->ctl->node, all ? NULL : &dest, (const char *)name.ptr, args,
			      nargs, ms, cmd_result, token_of(c));
	if (err == IB_ERR_FULL)
		return answer_error("busy: %u commands wait for their results; ask again",
				    IB_MAX_COMMANDS_IN_FLIGHT);
	if (err)
		return answer_error("cannot send the command: %s", ib_strerror(err));
	client_wait(c, WAIT_CMD);
	return NULL;
}

/* ---- Requests ---------------------------------------------------------------------------- */

static const struct handler {
	const char *name;
	/* The answer (NULL: out of memory), or NULL after client_wait: it comes later. */
	json_t *(*fn)(struct client *c, json_t *req);
} handlers[] = {
	{ "status", do_status },   { "links", do_links }, { "tree", do_tree },
	{ "publish", do_publish }, { "get", do_get },     { "fetch", do_fetch },
	{ "cmd", do_cmd },         { "keys", do_keys },   { "stats", do_stats },
};

/* The handler of one request line (without its "\n"), with the request object in *req (the
 * caller's to release). NULL when the line is no request of a known command: then *req is
 * NULL and *error the answer to send (NULL only without memory). */
static const struct handler *request_parse(const uint8_t *p, size_t len, json_t **req,
					   json_t **error)
{
	const struct handler *h = NULL;
	json_error_t why;
	const char *cmd;

	*error = NULL;
	/* Without JSON_ALLOW_NUL, jansson refuses "\u0000": every string is a C string too. */
	*req = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &why);
	if (!*req) {
		*error = answer_error("the request is not JSON: %s (column %d)", why.text,
				      why.column);
		goto out;
	}
	cmd = json_string_value(json_object_get(*req, "cmd"));
	if (!json_is_object(*req)) {
		*error = answer_error("a request is one JSON object");
		goto out;
	}
	if (!cmd) {
		*error = answer_error("the request has no \"cmd\" string");
		goto out;
	}
	for (size_t i = 0; !h && i < sizeof handlers / sizeof handlers[0]; i++)
		if (strcmp(cmd, handlers[i].name) == 0)
			h = &handlers[i];
	if (!h)
		*error = answer_error("unknown command \"%s\" (status, links, tree, publish, get, "
				      "fetch, cmd, keys, stats)", cmd);
out:
	if (!h) {
		json_decref(*req);
		*req = NULL;
	}
	return h;
}

const char *ib_control_request_parse(const uint8_t *p, size_t len, json_t **req,
				     json_t **error)
{
	const struct handler *h = request_parse(p, len, req, error);

	return h ? h->name : NULL;
}

/* One request line, without its "\n". The client may be freed on return. */
static void handle_request(struct client *c, const uint8_t *p, size_t len)
{
	json_t *req, *ans;
	const struct handler *h = request_parse(p, len, &req, &ans);

	if (h) {
		ans = h->fn(c, req);
		json_decref(req);
	}
	if (c->state != CL_WAITING)
		client_answer(c, ans);
}

size_t ib_control_line_room(const struct ib_buf *in)
{
	return IB_CONTROL_MAX_REQUEST + 1 - in->len;
}

int ib_control_line_feed(struct ib_buf *in, const uint8_t *chunk, size_t got, size_t *len)
{
	const uint8_t *nl;
	int err = ib_buf_put(in, chunk, got);

	if (err)
		return err;
	/* The bytes before these held no "\n": the line would have ended there. */
	nl = got ? memchr(in->ptr + in->len - got, '\n', got) : NULL;
	if (nl) {
		*len = (size_t)(nl - in->ptr);
		return IB_CONTROL_LINE_READY;
	}
	return in->len > IB_CONTROL_MAX_REQUEST ? IB_CONTROL_LINE_TOO_LONG : IB_CONTROL_LINE_MORE;
}

/* Reads until the "\n", at most IB_CONTROL_MAX_REQUEST bytes before it. The client may be
 * freed on return. */
static void client_read(struct client *c)
{
	uint8_t chunk[CTL_READ_CHUNK];

	for (;;) {
		size_t room = ib_control_line_room(&c->in), got = 0, len = 0;
		int err = ib_net_read(c->fd, chunk, room < sizeof chunk ? room : sizeof chunk,
				      &got);

		if (err == IB_ERR_AGAIN)
			return;
		if (err == IB_ERR_CLOSED && c->in.len > 0) {
			client_answer(c, answer_error("the request ends without a newline"));
			return;
		}
		if (!err)
			err = ib_control_line_feed(&c->in, chunk, got, &len);
		if (err < 0) {
			client_free(c); /* closed before asking anything, or broken */
			return;
		}
		if (err == IB_CONTROL_LINE_READY) {
			handle_request(c, c->in.ptr, len);
			return;
		}
		if (err == IB_CONTROL_LINE_TOO_LONG) {
			client_cut(c, "sent a request too long");
			client_answer(c, answer_error("the request is longer than %u bytes",
						      IB_CONTROL_MAX_REQUEST));
			return;
		}
	}
}

static void client_io(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct client *c = arg;

	(void)loop;
	(void)fd;
	switch (c->state) {
	case CL_READING:
		client_read(c);
		break;
	case CL_WRITING:
		client_write(c);
		break;
	case CL_WAITING:
	default:
		if (events & IB_EV_ERROR)
			client_free(c); /* hung up: nobody to answer */
		break;
	}
}

/* Too many clients: the oldest goes, so that slow or stuck clients cannot keep the owner
 * from asking. It is told so (best effort, one line) unless it is in the middle of an
 * answer. */
static void evict_oldest(struct control *ctl)
{
	static const char busy[] = "{\"ok\":false,\"error\":\"too many control clients: "
				   "the oldest closed for a new one\"}\n";
	struct client *oldest = ctl->clients;
	size_t sent;

	while (oldest && oldest->next)
		oldest = oldest->next; /* the list is newest first */
	if (!oldest)
		return;
	if (oldest->state != CL_WRITING)
		ib_net_write(oldest->fd, (const uint8_t *)busy, sizeof busy - 1, &sent);
	node_count(ctl->node, IB_CNT_CONTROL_EVICTED);
	node_log_every(ctl->node, IB_LOG_WARN, IB_CNT_CONTROL_EVICTED,
		       "%u control clients: the oldest closed for a new one", CTL_MAX_CLIENTS);
	client_free(oldest);
}

static int client_new(struct control *ctl, int fd)
{
	struct client *c = calloc(1, sizeof *c);

	if (!c)
		return IB_ERR_NOMEM;
	c->ctl = ctl;
	c->fd = fd;
	c->serial = ++ctl->next_serial;
	c->state = CL_READING;
	if (ib_loop_watch(ctl->node->loop, fd, IB_EV_READ, client_io, c) != IB_OK) {
		free(c);
		return IB_ERR_NOMEM;
	}
	c->next = ctl->clients;
	ctl->clients = c;
	ctl->nclients++;
	client_set_timer(c, CTL_IO_TIMEOUT_US);
	return IB_OK;
}

static void reserve_retry(struct ib_loop *loop, void *arg)
{
	struct control *ctl = arg;

	(void)loop;
	ctl->retry_timer = 0;
	if (ctl->reserve_fd < 0)
		reserve_take_back(ctl);
	else
		ib_loop_watch(ctl->node->loop, ctl->fd, IB_EV_READ, on_accept, ctl);
}

/* reserve_user while the reserve's client is being set up. */
#define RESERVE_ACCEPTING ((const struct client *)1)

/* accept() failed, out of descriptors most likely: the reserve is given up for this one
 * client. While it is in use, or if that fails too, the listener is not watched (it would
 * stay readable and spin the loop) until the reserve is back. */
static bool accept_from_reserve(struct control *ctl, int *cfd)
{
	struct ib_node *n = ctl->node;
	int err = errno;

	ib_loop_watch(n->loop, ctl->fd, 0, on_accept, ctl);
	node_count(n, IB_CNT_ACCEPT_FAILED);
	if (ctl->reserve_fd < 0 || ctl->reserve_user) {
		node_log_every(n, IB_LOG_ERROR, IB_CNT_ACCEPT_FAILED,
			       "control socket: accept failed (%s), the reserve descriptor %s: "
			       "clients wait", strerror(err), ctl->reserve_user ? "in use" : "lost");
		/* In use, it comes back with its client; lost, it is tried again later. */
		if (!ctl->reserve_user && !ctl->retry_timer)
			ib_loop_timer_add(n->loop, CTL_RESERVE_RETRY_US, reserve_retry, ctl,
					  &ctl->retry_timer);
		return false;
	}
	close(ctl->reserve_fd);
	ctl->reserve_fd = -1;
	if (ib_net_accept_unix(ctl->fd, cfd) != IB_OK) {
		reserve_take_back(ctl);
		return false;
	}
	ctl->reserve_user = RESERVE_ACCEPTING;
	node_log_every(n, IB_LOG_ERROR, IB_CNT_ACCEPT_FAILED,
		       "control socket: accept failed (%s): a client served on the reserve "
		       "descriptor", strerror(err));
	return true;
}

static void on_accept(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct control *ctl = arg;

	(void)loop;
	(void)events;
	/* A few per turn, so that a flood of clients cannot starve the links. */
	for (unsigned i = 0; i < CTL_ACCEPTS_PER_TURN; i++) {
		int cfd;

		int err = ib_net_accept_unix(fd, &cfd);

		if (err == IB_ERR_AGAIN)
			return; /* none left */
		if (err && !accept_from_reserve(ctl, &cfd))
			return;
		if (ctl->nclients >= CTL_MAX_CLIENTS)
			evict_oldest(ctl);
		if (client_new(ctl, cfd) != IB_OK) {
			ib_net_close(cfd);
			if (ctl->reserve_user == RESERVE_ACCEPTING)
				reserve_take_back(ctl);
			continue;
		}
		if (ctl->reserve_user == RESERVE_ACCEPTING)
			ctl->reserve_user = ctl->clients; /* the newest */
	}
}

/* ---- The socket -------------------------------------------------------------------------- */

int ib_node_control_open(struct ib_node *n, const char *path, struct ib_diag *diag)
{
	struct control *ctl;
	int err;

	if (!n || !path || n->control || n->stopping)
		return IB_ERR_INVALID_ARG;
	if (strlen(path) >= sizeof ctl->path) {
		ib_diag_set(diag, path, 0, "too long for a Unix socket (%zu bytes, at most %zu)",
			    strlen(path), sizeof ctl->path - 1);
		return IB_ERR_RANGE;
	}
	ctl = calloc(1, sizeof *ctl);
	if (!ctl)
		return IB_ERR_NOMEM;
	ctl->node = n;
	memcpy(ctl->path, path, strlen(path) + 1);
	ctl->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* Owner only (spec 19.1); a stale socket of a dead node is replaced. */
	err = ib_net_listen_unix(path, 0600, CTL_BACKLOG, &ctl->fd, &ctl->dev, &ctl->ino, diag);
	if (!err && ib_loop_watch(n->loop, ctl->fd, IB_EV_READ, on_accept, ctl) != IB_OK) {
		unlink(path);
		ib_net_close(ctl->fd);
		err = IB_ERR_NOMEM;
	}
	if (err) {
		if (ctl->reserve_fd >= 0)
			close(ctl->reserve_fd);
		free(ctl);
		return err;
	}
	n->control = ctl;
	node_log(n, IB_LOG_INFO, "control socket %s", path);
	return IB_OK;
}

void ib_node_control_close(struct ib_node *n)
{
	struct control *ctl = n ? n->control : NULL;
	struct stat st;

	if (!ctl)
		return;
	/* Callbacks still due find no control, hence no client. */
	n->control = NULL;
	ctl->reserve_user = NULL; /* no taking back while closing */
	while (ctl->clients)
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): client_free unlinks it */
		client_free(ctl->clients);
	ib_loop_timer_cancel(n->loop, ctl->retry_timer);
	ib_loop_unwatch(n->loop, ctl->fd);
	ib_net_close(ctl->fd);
	if (ctl->reserve_fd >= 0)
		close(ctl->reserve_fd);
	/* Only our own file: another node may have replaced a socket it found stale. */
	if (lstat(ctl->path, &st) == 0 && st.st_dev == ctl->dev && st.st_ino == ctl->ino)
		unlink(ctl->path);
	free(ctl);
}
