/*
 * control_test.c - the control socket (control.c): nodes of the in-process harness on virtual
 * time, each request made by a small client in the test over a real Unix socket. The client
 * writes its request, then the harness steps the loop until the answer line is complete (the
 * node answers on the loop; the client reads without blocking between steps).
 */
#include "harness.h"
#include "ib_test.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SECOND 1000000ull

/* ---- The test's client ------------------------------------------------------------------- */

struct client {
	int fd;
	const uint8_t *req;
	size_t len, sent;
	bool half_close;            /* shutdown(SHUT_WR) once the request is sent */
	struct ib_buf in;
	bool done;                  /* a whole line, or the node closed */
};

static void sun_of(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	CU_ASSERT_FATAL(strlen(path) < sizeof sa->sun_path);
	memcpy(sa->sun_path, path, strlen(path) + 1);
}

static int client_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	sun_of(&sa, path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Sends what the socket takes, reads what came; true once the answer is complete. */
static bool client_pump(struct hn_tree *t, void *arg)
{
	struct client *c = arg;
	uint8_t chunk[4096];

	(void)t;
	while (c->sent < c->len) {
		ssize_t n = send(c->fd, c->req + c->sent, c->len - c->sent, MSG_NOSIGNAL);

		if (n <= 0)
			break; /* full for now, or the node closed (a refused request) */
		c->sent += (size_t)n;
		if (c->sent == c->len && c->half_close)
			shutdown(c->fd, SHUT_WR);
	}
	for (;;) {
		ssize_t n = recv(c->fd, chunk, sizeof chunk, 0);

		if (n > 0) {
			IB_ASSERT_OK(ib_buf_put(&c->in, chunk, (size_t)n));
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			c->done = true;
		break;
	}
	if (c->in.len && memchr(c->in.ptr, '\n', c->in.len))
		c->done = true;
	return c->done;
}

/* The answer line as JSON, or NULL when none came. */
static json_t *client_answer(struct client *c)
{
	const uint8_t *nl = c->in.len ? memchr(c->in.ptr, '\n', c->in.len) : NULL;
	json_error_t err;

	if (!nl)
		return NULL;
	return json_loadb((const char *)c->in.ptr, (size_t)(nl - c->in.ptr), 0, &err);
}

static void client_close(struct client *c)
{
	close(c->fd);
	ib_buf_free(&c->in);
}

/* Sends req[0..len) as it is and waits (virtual time) for the answer. */
static json_t *ask_raw(struct hn_tree *t, const char *path, const void *req, size_t len,
		       bool half_close)
{
	struct client c = { .fd = client_connect(path), .req = req, .len = len,
			    .half_close = half_close };
	json_t *answer;

	CU_ASSERT_FATAL(c.fd >= 0);
	CU_ASSERT(hn_tree_run_until(t, client_pump, &c, 200 * SECOND));
	answer = client_answer(&c);
	client_close(&c);
	return answer;
}

static json_t *ask_bytes(struct hn_tree *t, const char *path, const void *req, size_t len)
{
	return ask_raw(t, path, req, len, false);
}

/* One request line: json and "\n". */
static json_t *ask(struct hn_tree *t, const char *path, const char *json)
{
	size_t len = strlen(json);
	char *line = malloc(len + 1);
	json_t *answer;

	CU_ASSERT_FATAL(line != NULL);
	memcpy(line, json, len);
	line[len] = '\n';
	answer = ask_bytes(t, path, line, len + 1);
	free(line);
	return answer;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static bool is_ok(json_t *a)
{
	return json_is_true(json_object_get(a, "ok"));
}

/* An {"ok":false} answer whose error says needle. */
static void assert_refused(json_t *a, const char *needle)
{
	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT(json_is_false(json_object_get(a, "ok")));
	CU_ASSERT_PTR_NOT_NULL(strstr(jstr(a, "error"), needle));
	if (!strstr(jstr(a, "error"), needle))
		fprintf(stderr, "\n  error \"%s\" does not say \"%s\"\n", jstr(a, "error"), needle);
	json_decref(a);
}

/* ---- Fixtures ---------------------------------------------------------------------------- */

static void sock_path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s.sock", ib_test_tmpdir(), name);
}

static struct hn_tree *formed_tree(const char *shape, uint64_t seed)
{
	struct hn_tree *t = NULL;

	IB_ASSERT_OK(hn_tree_new(&t, shape, seed));
	CU_ASSERT_FATAL(t != NULL);
	t->base.election_window_ms = 200;
	IB_ASSERT_OK(hn_tree_start(t));
	CU_ASSERT_FATAL(hn_tree_run_until(t, hn_tree_formed, NULL, 10 * SECOND));
	return t;
}

static void open_control(struct hn_tree *t, size_t i, const char *path)
{
	struct ib_diag diag = { 0 };

	IB_ASSERT_OK(ib_node_control_open(t->nodes[i].node, path, &diag));
}

static const char *id_hex(struct hn_tree *t, size_t i, char hex[2 * IB_ID_LEN + 1])
{
	ib_id_to_hex(hn_id(t, i), hex);
	return hex;
}

/* ---- Tests ------------------------------------------------------------------------------- */

/* Mode 0600; one socket per node and per path; status: identity, place, counters. */
static void test_control_status(void)
{
	struct hn_tree *t = formed_tree("chain:2", 71);
	char path0[256], path1[256], id0[33], id1[33];
	struct ib_diag diag = { 0 };
	struct stat st;
	json_t *a, *children, *path;

	sock_path(path0, sizeof path0, "status0");
	sock_path(path1, sizeof path1, "status1");
	open_control(t, 0, path0);
	CU_ASSERT_FATAL(stat(path0, &st) == 0);
	CU_ASSERT(S_ISSOCK(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	IB_ASSERT_ERR(ib_node_control_open(t->nodes[0].node, path1, &diag), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_node_control_open(t->nodes[1].node, path0, &diag), IB_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.reason, "in use"));
	open_control(t, 1, path1);

	a = ask(t, path0, "{\"cmd\":\"status\"}");
	CU_ASSERT_FATAL(a != NULL && is_ok(a));
	CU_ASSERT_STRING_EQUAL(jstr(a, "id"), id_hex(t, 0, id0));
	CU_ASSERT_STRING_EQUAL(jstr(a, "name"), "n0");
	CU_ASSERT_STRING_EQUAL(jstr(a, "role"), "server");
	CU_ASSERT(json_is_null(json_object_get(a, "parent")));
	path = json_object_get(a, "path");
	CU_ASSERT_EQUAL(json_array_size(path), 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(path, 0)), id0);
	children = json_object_get(a, "children");
	CU_ASSERT_FATAL(json_array_size(children) == 1);
	CU_ASSERT_STRING_EQUAL(jstr(json_array_get(children, 0), "id"), id_hex(t, 1, id1));
	CU_ASSERT_STRING_EQUAL(jstr(json_array_get(children, 0), "name"), "n1");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(a, "listen_port")),
			ib_node_listen_port(t->nodes[0].node));
	CU_ASSERT_EQUAL(json_object_size(json_object_get(a, "counters")), IB_CNT__COUNT);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(a, "counters"),
							   "links_opened")),
			(json_int_t)ib_node_counter(t->nodes[0].node, IB_CNT_LINKS_OPENED));
	json_decref(a);

	a = ask(t, path1, "{\"cmd\":\"status\"}");
	CU_ASSERT_FATAL(a != NULL && is_ok(a));
	CU_ASSERT_STRING_EQUAL(jstr(a, "parent"), id0);
	path = json_object_get(a, "path");
	CU_ASSERT_FATAL(json_array_size(path) == 2);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(path, 0)), id0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(path, 1)), id1);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(a, "children")), 0);
	json_decref(a);

	a = ask(t, path1, "{\"cmd\":\"stats\"}");
	CU_ASSERT(a && is_ok(a) && json_object_size(json_object_get(a, "counters")) == IB_CNT__COUNT);
	json_decref(a);
	hn_tree_free(t);
	CU_ASSERT(stat(path0, &st) != 0 && errno == ENOENT); /* ib_node_free removed it */
}

static void test_control_links(void)
{
	struct hn_tree *t = formed_tree("chain:2", 72);
	char path[256], id0[33], id1[33];
	json_t *a, *l;

	sock_path(path, sizeof path, "links");
	open_control(t, 1, path);
	a = ask(t, path, "{\"cmd\":\"links\"}");
	CU_ASSERT_FATAL(a != NULL && is_ok(a));
	CU_ASSERT_FATAL(json_array_size(json_object_get(a, "links")) == 1);
	l = json_array_get(json_object_get(a, "links"), 0);
	CU_ASSERT_STRING_EQUAL(jstr(l, "id"), id_hex(t, 0, id0));
	CU_ASSERT_STRING_EQUAL(jstr(l, "name"), "n0");
	CU_ASSERT(json_is_true(json_object_get(l, "is_parent")));
	CU_ASSERT_STRING_EQUAL(jstr(l, "role"), "server");
	CU_ASSERT(json_is_integer(json_object_get(l, "rtt_us")));
	CU_ASSERT(json_integer_value(json_object_get(l, "open_for_s")) >= 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(jstr(l, "addr"), "127.0.0.1:"));
	json_decref(a);

	ib_node_control_close(t->nodes[1].node);
	open_control(t, 0, path);
	a = ask(t, path, "{\"cmd\":\"links\"}");
	CU_ASSERT_FATAL(a != NULL && json_array_size(json_object_get(a, "links")) == 1);
	l = json_array_get(json_object_get(a, "links"), 0);
	CU_ASSERT_STRING_EQUAL(jstr(l, "id"), id_hex(t, 1, id1));
	CU_ASSERT(json_is_false(json_object_get(l, "is_parent")));
	json_decref(a);
	hn_tree_free(t);
}

static bool n1_has_motd(struct hn_tree *t, void *arg)
{
	struct ib_item item;
	struct ib_slice key = { (const uint8_t *)"motd", 4 };

	(void)arg;
	return ib_store_get(ib_node_store(t->nodes[1].node), key, &item) == IB_OK;
}

static void test_control_publish_get(void)
{
	struct hn_tree *t = formed_tree("chain:2", 73);
	struct ib_slice bin_key = { (const uint8_t *)"bin", 3 };
	struct ib_slice bin_value = { (const uint8_t *)"\xff\x00", 2 };
	char path0[256], path1[256], id0[33], frame0[4096];
	json_t *a;

	sock_path(path0, sizeof path0, "pub0");
	sock_path(path1, sizeof path1, "pub1");
	open_control(t, 0, path0);
	open_control(t, 1, path1);
	a = ask(t, path0, "{\"cmd\":\"publish\",\"key\":\"motd\",\"value\":\"hi there\"}");
	CU_ASSERT_FATAL(a != NULL && is_ok(a));
	CU_ASSERT_STRING_EQUAL(jstr(a, "version"), "1");
	json_decref(a);

	a = ask(t, path0, "{\"cmd\":\"get\",\"key\":\"motd\"}");
	CU_ASSERT_FATAL(a != NULL && is_ok(a));
	CU_ASSERT_STRING_EQUAL(jstr(a, "key"), "motd");
	CU_ASSERT_STRING_EQUAL(jstr(a, "version"), "1");
	CU_ASSERT_STRING_EQUAL(jstr(a, "writer"), id_hex(t, 0, id0));
	CU_ASSERT_STRING_EQUAL(jstr(a, "value"), "hi there");
	CU_ASSERT_STRING_EQUAL(jstr(a, "value_hex"), "6869207468657265");
	CU_ASSERT(strlen(jstr(a, "seq")) > 0);
	CU_ASSERT_FATAL(strlen(jstr(a, "frame_hex")) > 2 * IB_FRAME_HEADER_LEN &&
			strlen(jstr(a, "frame_hex")) < sizeof frame0);
	snprintf(frame0, sizeof frame0, "%s", jstr(a, "frame_hex"));
	json_decref(a);

	/* The same frame, byte for byte, at the other node once it arrived. */
	CU_ASSERT_FATAL(hn_tree_run_until(t, n1_has_motd, NULL, 5 * SECOND));
	a = ask(t, path1, "{\"cmd\":\"get\",\"key\":\"motd\"}");
	CU_ASSERT_FATAL(a != NULL && is_ok(a));
	CU_ASSERT_STRING_EQUAL(jstr(a, "frame_hex"), frame0);
	json_decref(a);

	/* A value that is not text: null, and its hex. */
	IB_ASSERT_OK(ib_node_publish(t->nodes[0].node, bin_key, bin_value, NULL));
	a = ask(t, path0, "{\"cmd\":\"get\",\"key\":\"bin\"}");
	CU_ASSERT_FATAL(a != NULL && is_ok(a));
	CU_ASSERT(json_is_null(json_object_get(a, "value")));
	CU_ASSERT_STRING_EQUAL(jstr(a, "value_hex"), "ff00");
	json_decref(a);

	assert_refused(ask(t, path0, "{\"cmd\":\"get\",\"key\":\"nothing\"}"), "not found");
	assert_refused(ask(t, path0, "{\"cmd\":\"publish\",\"key\":\"k\"}"), "\"value\"");
	assert_refused(ask(t, path0, "{\"cmd\":\"publish\",\"key\":\"\",\"value\":\"v\"}"),
		       "1 to 255");
	hn_tree_free(t);
}

static void test_control_keys(void)
{
	struct hn_tree *t = formed_tree("chain:2", 74);
	struct ib_keyring *kr = NULL;
	char path[256], id0[33], id1[33], digest_hex[65];
	uint8_t digest[32];
	json_t *a, *keys;
	size_t i, seen = 0;
	json_t *k;

	sock_path(path, sizeof path, "keys");
	open_control(t, 0, path);
	id_hex(t, 0, id0);
	id_hex(t, 1, id1);
	a = ask(t, path, "{\"cmd\":\"keys\",\"action\":\"list\"}");
	CU_ASSERT_FATAL(a != NULL && is_ok(a));
	keys = json_object_get(a, "keys");
	CU_ASSERT_EQUAL(json_array_size(keys), 2);
	json_array_foreach(keys, i, k) {
		bool self = strcmp(jstr(k, "id"), id0) == 0;

		seen += self || strcmp(jstr(k, "id"), id1) == 0;
		CU_ASSERT_EQUAL(json_is_true(json_object_get(k, "self")), self);
		CU_ASSERT(json_is_string(json_object_get(k, "label")));
	}
	CU_ASSERT_EQUAL(seen, 2);
	/* The harness gives every node the keyring of all: the same digest. */
	IB_ASSERT_OK(hn_tree_keyring(t, NULL, 0, &kr));
	IB_ASSERT_OK(ib_keyring_digest(kr, digest));
	ib_hex_encode(digest, sizeof digest, digest_hex);
	CU_ASSERT_STRING_EQUAL(jstr(a, "digest"), digest_hex);
	ib_keyring_free(kr);
	json_decref(a);

	/* list is the default action; reload needs a node directory; no other action. */
	a = ask(t, path, "{\"cmd\":\"keys\"}");
	CU_ASSERT(a && is_ok(a) && json_array_size(json_object_get(a, "keys")) == 2);
	json_decref(a);
	assert_refused(ask(t, path, "{\"cmd\":\"keys\",\"action\":\"reload\"}"),
		       "not opened from a directory");
	assert_refused(ask(t, path, "{\"cmd\":\"keys\",\"action\":\"burn\"}"), "\"list\"");
	hn_tree_free(t);
}

static bool n2_maps_three(struct hn_tree *t, void *arg)
{
	(void)arg;
	return ib_node_map(t->nodes[2].node, NULL, 0) == 3;
}

static json_t *bot_with_id(json_t *bots, const char *id)
{
	size_t i;
	json_t *b;

	json_array_foreach(bots, i, b)
		if (strcmp(jstr(b, "id"), id) == 0)
			return b;
	return NULL;
}

/* A keyring of the whole tree and one more key: a node whose owner authorized someone
 * else. */
static struct ib_keyring *keyring_plus_one(struct hn_tree *t)
{
	struct ib_identity *extra = NULL;
	struct ib_pubkey *k = NULL;
	struct ib_keyring *kr = NULL;

	IB_ASSERT_OK(hn_tree_keyring(t, NULL, 0, &kr));
	IB_ASSERT_OK(ib_identity_generate(&extra));
	IB_ASSERT_OK(ib_pubkey_from_raw(&k, ib_pubkey_raw(ib_identity_pubkey(extra))));
	IB_ASSERT_OK(ib_keyring_add(kr, k));
	ib_identity_free(extra);
	return kr;
}

/* The map from the leaf of chain:3: hops over the parent pointers, rtt of the direct link,
 * keys_differ from an ib.info round that ends when its timeout does. */
static void test_control_tree(void)
{
	struct hn_tree *t = formed_tree("chain:3", 75);
	char path[256], id[3][33];
	uint64_t asked_at;
	json_t *a, *bots, *b;

	for (size_t i = 0; i < 3; i++)
		id_hex(t, i, id[i]);
	CU_ASSERT_FATAL(hn_tree_run_until(t, n2_maps_three, NULL, 5 * SECOND));
	IB_ASSERT_OK(ib_node_set_keyring(t->nodes[1].node, keyring_plus_one(t)));
	sock_path(path, sizeof path, "tree");
	open_control(t, 2, path);

	asked_at = t->clock.monotonic_us;
	a = ask(t, path, "{\"cmd\":\"tree\"}");
	CU_ASSERT(t->clock.monotonic_us - asked_at >= 1000 * 1000); /* after the ib.info round */
	CU_ASSERT_FATAL(a != NULL && is_ok(a));
	bots = json_object_get(a, "bots");
	CU_ASSERT_EQUAL(json_array_size(bots), 3);

	b = bot_with_id(bots, id[2]);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT(json_is_true(json_object_get(b, "self")));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(b, "hops")), 0);
	CU_ASSERT_STRING_EQUAL(jstr(b, "parent"), id[1]);
	CU_ASSERT(json_is_false(json_object_get(b, "keys_differ")));
	CU_ASSERT(json_is_null(json_object_get(b, "rtt_us")));
	CU_ASSERT_STRING_EQUAL(jstr(b, "software"), IB_SOFTWARE_NAME "/" IB_SOFTWARE_VERSION);

	b = bot_with_id(bots, id[1]);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_STRING_EQUAL(jstr(b, "name"), "n1");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(b, "hops")), 1);
	CU_ASSERT_STRING_EQUAL(jstr(b, "parent"), id[0]);
	CU_ASSERT(json_is_true(json_object_get(b, "keys_differ")));
	CU_ASSERT(json_is_integer(json_object_get(b, "rtt_us"))); /* a direct link */

	b = bot_with_id(bots, id[0]);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(b, "hops")), 2);
	CU_ASSERT(json_is_null(json_object_get(b, "parent")));
	CU_ASSERT(json_is_false(json_object_get(b, "keys_differ")));
	CU_ASSERT(json_is_null(json_object_get(b, "rtt_us")));
	CU_ASSERT_STRING_EQUAL(jstr(b, "role"), "server");
	json_decref(a);

	/* A shorter round when asked; a timeout out of range is refused. */
	asked_at = t->clock.monotonic_us;
	a = ask(t, path, "{\"cmd\":\"tree\",\"timeout_ms\":100}");
	CU_ASSERT(a && is_ok(a) && json_array_size(json_object_get(a, "bots")) == 3);
	CU_ASSERT(t->clock.monotonic_us - asked_at < 1000 * 1000);
	json_decref(a);
	assert_refused(ask(t, path, "{\"cmd\":\"tree\",\"timeout_ms\":0}"), "timeout_ms");
	assert_refused(ask(t, path, "{\"cmd\":\"tree\",\"timeout_ms\":\"1\"}"), "timeout_ms");
	hn_tree_free(t);
}

/* cmd to all, to a name, to an id; every RESULT in the answer. */
static void test_control_cmd(void)
{
	struct hn_tree *t = formed_tree("chain:2", 76);
	char path[256], id1[33], req[512];
	json_t *a, *r;

	sock_path(path, sizeof path, "cmd");
	open_control(t, 0, path);
	id_hex(t, 1, id1);
	a = ask(t, path, "{\"cmd\":\"cmd\",\"target\":\"all\",\"name\":\"ib.ping\"}");
	CU_ASSERT_FATAL(a != NULL && is_ok(a));
	CU_ASSERT_STRING_EQUAL(jstr(a, "target"), "all");
	CU_ASSERT_FATAL(json_array_size(json_object_get(a, "results")) == 1);
	r = json_array_get(json_object_get(a, "results"), 0);
	CU_ASSERT_STRING_EQUAL(jstr(r, "from"), id1);
	CU_ASSERT_STRING_EQUAL(jstr(r, "name"), "n1");
	CU_ASSERT_STRING_EQUAL(jstr(r, "status"), "ok");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "status_code")), IB_STATUS_OK);
	CU_ASSERT_STRING_EQUAL(jstr(r, "output"), "pong");
	json_decref(a);

	a = ask(t, path, "{\"cmd\":\"cmd\",\"target\":\"n1\",\"name\":\"ib.info\"}");
	CU_ASSERT_FATAL(a != NULL && is_ok(a));
	CU_ASSERT_STRING_EQUAL(jstr(a, "target"), id1);
	r = json_array_get(json_object_get(a, "results"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(jstr(r, "output"), "keys_digest="));
	json_decref(a);

	/* A command the node does not list is denied, and the answer says so. */
	snprintf(req, sizeof req, "{\"cmd\":\"cmd\",\"target\":\"%s\",\"name\":\"ib.publish\","
				  "\"args\":[\"k\",\"v\"],\"timeout_ms\":500}", id1);
	a = ask(t, path, req);
	CU_ASSERT_FATAL(a != NULL && is_ok(a));
	CU_ASSERT_STRING_EQUAL(jstr(json_array_get(json_object_get(a, "results"), 0), "status"),
			       "denied");
	json_decref(a);

	assert_refused(ask(t, path, "{\"cmd\":\"cmd\",\"target\":\"nobody\",\"name\":\"ib.ping\"}"),
		       "no bot named");
	assert_refused(ask(t, path, "{\"cmd\":\"cmd\",\"target\":\"all\",\"name\":\"ib.ping\","
				    "\"args\":\"x\"}"), "args");
	assert_refused(ask(t, path, "{\"cmd\":\"cmd\",\"target\":\"all\"}"), "\"name\"");
	hn_tree_free(t);
}

/* Counts the RESULTs that came (not the end of the wait, from NULL). */
static void count_result(struct ib_node *n, const ib_id *from, uint16_t status,
			 struct ib_slice output, void *ctx)
{
	(void)n;
	(void)status;
	(void)output;
	if (from)
		(*(unsigned *)ctx)++;
}

/* Section 18: while IB_MAX_COMMANDS_IN_FLIGHT commands wait for their time to be up, the
 * owner's `cmd` is answered at once that the node is busy, nothing sent; once they have
 * expired, it is sent and answered again. */
static void test_control_cmd_busy(void)
{
	static const char ping[] = "{\"cmd\":\"cmd\",\"target\":\"n1\",\"name\":\"ib.ping\","
				   "\"timeout_ms\":500}";
	struct hn_tree *t = formed_tree("chain:2", 82);
	struct ib_node *n0 = t->nodes[0].node;
	unsigned answered = 0;
	uint64_t busy;
	char path[256];
	json_t *a;

	sock_path(path, sizeof path, "busy");
	open_control(t, 0, path);
	for (unsigned i = 0; i < IB_MAX_COMMANDS_IN_FLIGHT; i++)
		IB_ASSERT_OK(ib_node_command(n0, hn_id(t, 1), "ib.ping", NULL, 0, 5000,
					     count_result, &answered));
	busy = ib_node_counter(n0, IB_CNT_BUSY);
	assert_refused(ask(t, path, ping), "busy");
	CU_ASSERT_EQUAL(ib_node_counter(n0, IB_CNT_BUSY), busy + 1);
	hn_tree_run_for(t, 6 * SECOND);
	CU_ASSERT_EQUAL(answered, IB_MAX_COMMANDS_IN_FLIGHT);
	a = ask(t, path, ping);
	CU_ASSERT_FATAL(a != NULL && is_ok(a));
	CU_ASSERT_STRING_EQUAL(jstr(json_array_get(json_object_get(a, "results"), 0), "output"),
			       "pong");
	json_decref(a);
	hn_tree_free(t);
}

static void test_control_fetch(void)
{
	struct hn_tree *t = formed_tree("chain:2", 77);
	struct ib_slice key = { (const uint8_t *)"motd", 4 }, value = { (const uint8_t *)"v1", 2 };
	char path[256], id0[33];
	json_t *a;

	IB_ASSERT_OK(ib_node_publish(t->nodes[0].node, key, value, NULL));
	sock_path(path, sizeof path, "fetch");
	open_control(t, 1, path);
	a = ask(t, path, "{\"cmd\":\"fetch\",\"key\":\"motd\"}");
	CU_ASSERT_FATAL(a != NULL && is_ok(a));
	CU_ASSERT_STRING_EQUAL(jstr(a, "value"), "v1");
	CU_ASSERT_STRING_EQUAL(jstr(a, "writer"), id_hex(t, 0, id0));
	json_decref(a);
	assert_refused(ask(t, path, "{\"cmd\":\"fetch\",\"key\":\"none\"}"), "not found");
	assert_refused(ask(t, path, "{\"cmd\":\"fetch\"}"), "\"key\"");
	hn_tree_free(t);
}

/* Whatever a client sends, it gets one error line, and the node goes on. */
static void test_control_garbage(void)
{
	static const uint8_t binary[] = { 0xff, 0xfe, 0x00, '{', 0x80, '\n' };
	struct hn_tree *t = formed_tree("chain:2", 78);
	size_t max = IB_CONTROL_MAX_REQUEST;
	char path[256], *big = malloc(max + 2);
	struct client c;
	json_t *a;
	int n;

	CU_ASSERT_FATAL(big != NULL);
	sock_path(path, sizeof path, "garbage");
	open_control(t, 0, path);
	assert_refused(ask(t, path, "hello"), "not JSON");
	assert_refused(ask_bytes(t, path, binary, sizeof binary), "not JSON");
	assert_refused(ask(t, path, "{\"cmd\":\"status\"} and more"), "not JSON");
	assert_refused(ask(t, path, "{\"cmd\":\"status\",\"cmd\":\"links\"}"), "not JSON");
	assert_refused(ask(t, path, "[1,2]"), "one JSON object");
	assert_refused(ask(t, path, "{}"), "no \"cmd\"");
	assert_refused(ask(t, path, "{\"cmd\":7}"), "no \"cmd\"");
	assert_refused(ask(t, path, "{\"cmd\":\"frobnicate\"}"), "unknown command");
	assert_refused(ask(t, path, "{\"cmd\":\"get\",\"key\":5}"), "\"key\"");
	assert_refused(ask(t, path, "{\"cmd\":\"get\",\"key\":\"a\\u0000b\"}"), "not JSON");
	assert_refused(ask_raw(t, path, "{\"cmd\":\"status\"}", 16, true), "without a newline");

	/* Exactly the limit before the "\n" is taken; one byte more is refused. The value is
	 * the longest a node publishes ([DATA-10]); blanks fill the rest of the request. */
	n = snprintf(big, max, "{\"cmd\":\"publish\",\"key\":\"big\",\"value\":\"");
	memset(big + n, 'x', IB_MAX_VALUE);
	big[n + IB_MAX_VALUE] = '"';
	memset(big + n + IB_MAX_VALUE + 1, ' ', max - 1 - ((size_t)n + IB_MAX_VALUE + 1));
	memcpy(big + max - 1, "}\n", 2);
	a = ask_bytes(t, path, big, max + 1);
	CU_ASSERT(a && is_ok(a));
	json_decref(a);
	memset(big, 'x', max + 1);
	big[max + 1] = '\n';
	assert_refused(ask_bytes(t, path, big, max + 2), "longer than 65536");
	CU_ASSERT_EQUAL(ib_node_counter(t->nodes[0].node, IB_CNT_CONTROL_CUT), 1);

	/* A client that says nothing is told so after 10 s, not kept for ever. */
	memset(&c, 0, sizeof c);
	c.fd = client_connect(path);
	CU_ASSERT_FATAL(c.fd >= 0);
	CU_ASSERT(hn_tree_run_until(t, client_pump, &c, 15 * SECOND));
	assert_refused(client_answer(&c), "no complete request");
	client_close(&c);
	CU_ASSERT_EQUAL(ib_node_counter(t->nodes[0].node, IB_CNT_CONTROL_CUT), 2);

	a = ask(t, path, "{\"cmd\":\"status\"}");
	CU_ASSERT(a && is_ok(a));
	json_decref(a);
	free(big);
	hn_tree_free(t);
}

/* At most 16 clients at once: a 17th closes the oldest, which is told so, and is answered;
 * 200 idle clients cannot keep the owner from asking. */
static void test_control_client_limit(void)
{
	struct hn_tree *t = formed_tree("chain:1", 79);
	struct client idle[16], extra;
	char path[256];
	json_t *a;

	sock_path(path, sizeof path, "limit");
	open_control(t, 0, path);
	for (size_t i = 0; i < 16; i++) {
		memset(&idle[i], 0, sizeof idle[i]);
		idle[i].fd = client_connect(path);
		CU_ASSERT_FATAL(idle[i].fd >= 0);
		hn_tree_run_for(t, 1000); /* accepted in this order */
	}
	memset(&extra, 0, sizeof extra);
	extra.fd = client_connect(path);
	CU_ASSERT_FATAL(extra.fd >= 0);
	hn_tree_run_for(t, 1000);
	CU_ASSERT(hn_tree_run_until(t, client_pump, &idle[0], SECOND));
	assert_refused(client_answer(&idle[0]), "the oldest closed");
	CU_ASSERT_EQUAL(ib_node_counter(t->nodes[0].node, IB_CNT_CONTROL_EVICTED), 1);
	client_close(&idle[0]);
	/* The newcomer is served; idle[1] went for it. */
	extra.req = (const uint8_t *)"{\"cmd\":\"status\"}\n";
	extra.len = sizeof "{\"cmd\":\"status\"}\n" - 1;
	CU_ASSERT(hn_tree_run_until(t, client_pump, &extra, SECOND));
	a = client_answer(&extra);
	CU_ASSERT(a && is_ok(a));
	json_decref(a);
	client_close(&extra);
	/* Many more idle clients: each status asked in between is answered. */
	for (int round = 0; round < 12; round++) {
		struct client more[16];

		for (size_t i = 0; i < 16; i++) {
			memset(&more[i], 0, sizeof more[i]);
			more[i].fd = client_connect(path);
			CU_ASSERT_FATAL(more[i].fd >= 0);
		}
		a = ask(t, path, "{\"cmd\":\"status\"}");
		CU_ASSERT(a && is_ok(a));
		json_decref(a);
		for (size_t i = 0; i < 16; i++)
			client_close(&more[i]);
	}
	for (size_t i = 1; i < 16; i++)
		client_close(&idle[i]);
	hn_tree_free(t);
}

/* Puts a PUBLISH of node 1's with a value of len bytes (fill) in node 0's store, as a member's
 * frame above max_value would come ([DATA-11]: receivers keep what publishers may not make). */
static void put_big_item(struct hn_tree *t, const char *key, size_t len, uint8_t fill)
{
	struct ib_store *store = (struct ib_store *)ib_node_store(t->nodes[0].node);
	struct ib_buf msg = { 0 }, frame = { 0 };
	uint8_t *value = malloc(len), sig[IB_SIG_LEN];
	struct ib_msg m;

	CU_ASSERT_FATAL(value != NULL);
	memset(value, fill, len);
	memset(&m, 0, sizeof m);
	m.h.version = IB_PROTOCOL_VERSION;
	m.h.type = IB_MSG_PUBLISH;
	m.h.seq = 1;
	m.u.publish = (struct ib_publish){ { (const uint8_t *)key, strlen(key) }, 1,
					   { value, len } };
	IB_ASSERT_OK(ib_msg_encode(&msg, &m));
	IB_ASSERT_OK(ib_identity_sign(t->ids[1], msg.ptr, msg.len, sig));
	IB_ASSERT_OK(ib_frame_encode(&frame, ib_identity_id(t->ids[1]), sig, msg.ptr, msg.len));
	CU_ASSERT_EQUAL(ib_store_apply(store, (struct ib_slice){ frame.ptr, frame.len }, &m), 1);
	ib_buf_free(&msg);
	ib_buf_free(&frame);
	free(value);
}

/* 16 clients ask for a 4 MB item and do not read: the node makes the first answer (16 MB of
 * hex) and answers the others "busy" rather than hold 16 of them (CTL_MAX_HELD); status is
 * answered meanwhile, and each client then reads a whole answer. */
static void test_control_answers_held(void)
{
	static const char req[] = "{\"cmd\":\"get\",\"key\":\"big\"}\n";
	struct hn_tree *t = formed_tree("chain:2", 83);
	struct client c[16];
	size_t whole = 0, busy = 0;
	char path[256];
	json_t *a;

	sock_path(path, sizeof path, "held");
	open_control(t, 0, path);
	put_big_item(t, "big", 4u << 20, 0xaa);
	for (size_t i = 0; i < 16; i++) {
		c[i] = (struct client){ .fd = client_connect(path) };
		CU_ASSERT_FATAL(c[i].fd >= 0);
		CU_ASSERT_FATAL(send(c[i].fd, req, sizeof req - 1, MSG_NOSIGNAL) ==
				(ssize_t)(sizeof req - 1));
		hn_tree_run_for(t, 100000);
	}
	a = ask(t, path, "{\"cmd\":\"status\"}");
	CU_ASSERT(a && is_ok(a));
	json_decref(a);
	for (size_t i = 0; i < 16; i++) {
		CU_ASSERT(hn_tree_run_until(t, client_pump, &c[i], 20 * SECOND));
		a = client_answer(&c[i]);
		CU_ASSERT_FATAL(a != NULL);
		if (is_ok(a))
			whole += strlen(jstr(a, "value_hex")) == 2 * (4u << 20);
		else
			busy += strstr(jstr(a, "error"), "busy") != NULL;
		json_decref(a);
		client_close(&c[i]);
	}
	CU_ASSERT(whole >= 1 && whole <= 4);
	CU_ASSERT_EQUAL(whole + busy, 16);
	hn_tree_free(t);
}

/* Out of descriptors, the owner still gets status: the control socket gives up its reserve
 * descriptor for one client, and takes it back after; again for the next. */
static void test_control_out_of_descriptors(void)
{
	struct hn_tree *t = formed_tree("chain:1", 81);
	static int fillers[4096];
	struct rlimit old;
	size_t nf;
	char path[256];
	json_t *a;

	sock_path(path, sizeof path, "nofile");
	open_control(t, 0, path);
	/* Room for the client's socket, none for the node's accept. */
	nf = ib_test_fill_fds(fillers, sizeof fillers / sizeof fillers[0], &old);
	for (int i = 0; i < 2; i++) {
		a = ask(t, path, "{\"cmd\":\"status\"}");
		CU_ASSERT(a && is_ok(a));
		json_decref(a);
	}
	CU_ASSERT(ib_node_counter(t->nodes[0].node, IB_CNT_ACCEPT_FAILED) >= 2);
	ib_test_free_fds(fillers, nf, &old);
	a = ask(t, path, "{\"cmd\":\"status\"}");
	CU_ASSERT(a && is_ok(a));
	json_decref(a);
	hn_tree_free(t);
}

/* Closing the control socket while a request waits: the client gets no answer, the late
 * callbacks find nobody (ASan would see a use after free), the file is gone, and the socket
 * can be opened again. A client that hangs up while waiting is forgotten the same way. */
static void test_control_close_while_waiting(void)
{
	static const char tree[] = "{\"cmd\":\"tree\",\"timeout_ms\":500}\n";
	struct hn_tree *t = formed_tree("chain:2", 80);
	struct client c;
	char path[256];
	struct stat st;
	json_t *a;

	sock_path(path, sizeof path, "close");
	open_control(t, 0, path);
	memset(&c, 0, sizeof c);
	c.fd = client_connect(path);
	c.req = (const uint8_t *)tree;
	c.len = sizeof tree - 1;
	CU_ASSERT_FATAL(c.fd >= 0);
	CU_ASSERT(!hn_tree_run_until(t, client_pump, &c, 100 * 1000)); /* still waiting */
	ib_node_control_close(t->nodes[0].node);
	CU_ASSERT(stat(path, &st) != 0 && errno == ENOENT);
	CU_ASSERT(hn_tree_run_until(t, client_pump, &c, SECOND));
	CU_ASSERT_PTR_NULL(client_answer(&c));
	client_close(&c);
	hn_tree_run_for(t, SECOND);

	open_control(t, 0, path);
	memset(&c, 0, sizeof c);
	c.fd = client_connect(path);
	c.req = (const uint8_t *)tree;
	c.len = sizeof tree - 1;
	CU_ASSERT(!hn_tree_run_until(t, client_pump, &c, 100 * 1000));
	client_close(&c);
	hn_tree_run_for(t, SECOND);
	a = ask(t, path, "{\"cmd\":\"status\"}");
	CU_ASSERT(a && is_ok(a));
	json_decref(a);
	hn_tree_free(t);
}

/* What may be at the path: a stale socket is replaced; a file is not; too long a path. */
static void test_control_path(void)
{
	struct hn_tree *t = formed_tree("chain:1", 81);
	struct ib_diag diag = { 0 };
	struct sockaddr_un sa;
	char path[256], longp[300];
	FILE *f;
	int fd;

	sock_path(path, sizeof path, "stale");
	sun_of(&sa, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	close(fd); /* the file stays, nobody accepts on it: a crashed node's */
	open_control(t, 0, path);
	ib_node_control_close(t->nodes[0].node);

	sock_path(path, sizeof path, "plainfile");
	f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fclose(f);
	IB_ASSERT_ERR(ib_node_control_open(t->nodes[0].node, path, &diag), IB_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.reason, "not a socket"));

	memset(longp, 'd', sizeof longp - 1);
	longp[0] = '/';
	longp[sizeof longp - 1] = '\0';
	IB_ASSERT_ERR(ib_node_control_open(t->nodes[0].node, longp, &diag), IB_ERR_RANGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.reason, "too long"));
	hn_tree_free(t);
}

static const struct ib_test_case cases[] = {
	IB_TEST(test_control_status, ""),
	IB_TEST(test_control_links, ""),
	IB_TEST(test_control_publish_get, ""),
	IB_TEST(test_control_keys, ""),
	IB_TEST(test_control_tree, ""),
	IB_TEST(test_control_cmd, ""),
	IB_TEST(test_control_cmd_busy, ""),
	IB_TEST(test_control_fetch, ""),
	IB_TEST(test_control_garbage, ""),
	IB_TEST(test_control_out_of_descriptors, ""),
	IB_TEST(test_control_client_limit, ""),
	IB_TEST(test_control_answers_held, ""),
	IB_TEST(test_control_close_while_waiting, ""),
	IB_TEST(test_control_path, ""),
	IB_TEST_END
};

const struct ib_test_suite ib_suite_control = { "control", NULL, NULL, cases };
