/*
 * fuzz_control.c - the control socket's reading of requests (control.c), on arbitrary bytes.
 *
 * Targets: ib_control_line_room and ib_control_line_feed (the request line out of what a
 * client sends, in any split, up to IB_CONTROL_MAX_REQUEST bytes), ib_control_request_parse
 * (jansson, then the object, its "cmd" and the command table). What a command does needs a
 * node and its loop: the handlers are not run here (ref/tests/control_test.c runs them).
 * Input: byte 0 seeds the split sizes; byte 1, when its high bit is set, pads the stream in
 * front with IB_CONTROL_MAX_REQUEST - 64 + (byte 1 & 0x7f) copies of byte 2, so that lines
 * around the limit are reached without 64 KiB inputs; the rest is the stream. A connection
 * carries one request: after a line, the bytes that follow are the next client's (32 at most).
 * Properties checked (abort on failure):
 *   - the line is the bytes before the stream's first "\n" when that comes within
 *     IB_CONTROL_MAX_REQUEST bytes; else more than that many bytes end the line as too long,
 *     exactly IB_CONTROL_MAX_REQUEST + 1 held; else the line is still incomplete, holding
 *     every byte sent; the room is never 0 while more is wanted; the buffer holds exactly
 *     the bytes sent;
 *   - the result does not depend on how the stream is split;
 *   - the line is parsed from an exactly-sized copy, so ASan sees a read past its length; a
 *     request that parses is an object whose "cmd" is the name returned, one of the nine
 *     commands of control.c, and every string in it (names too) has no NUL, as the handlers
 *     use them as C strings; a refusal is {"ok":false,"error":"..."}, one line as JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "interbot.h"

#define PAD_FLAG 0x80u
#define PAD_BASE (IB_CONTROL_MAX_REQUEST - 64u)
#define READ_CHUNK 4096u        /* what control.c reads at most at once */
#define MAX_CONNECTIONS 32u     /* requests read from one input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_control: %s\n", what);
	abort();
}

/* The protocol's commands (control.c, top of file). */
static const char *const commands[] = {
	"status", "links", "tree", "publish", "get", "fetch", "cmd", "keys", "stats",
};

static int command_index(const char *cmd)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(cmd, commands[i]) == 0)
			return (int)i;
	return -1;
}

static void check_strings(json_t *v)
{
	const char *key;
	json_t *item;
	size_t i;

	if (json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v))
		fail("a string of the request holds a NUL");
	if (json_is_object(v)) {
		json_object_foreach(v, key, item) {
			/* A name with a NUL would find another member, or none. */
			if (json_object_get(v, key) != item)
				fail("an object member name is not a C string");
			check_strings(item);
		}
	}
	if (json_is_array(v))
		json_array_foreach(v, i, item)
			check_strings(item);
}

static void check_refusal(json_t *answer)
{
	json_t *ok = json_object_get(answer, "ok"), *why = json_object_get(answer, "error");
	char *line;

	if (!json_is_false(ok) || !json_is_string(why) || !json_string_length(why))
		fail("a refusal is not {\"ok\":false,\"error\":\"...\"}");
	line = json_dumps(answer, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!line || strchr(line, '\n'))
		fail("a refusal is not one line of JSON");
	free(line);
}

/* Parses the line; the command's index, or -1 when refused. */
static int parse(const uint8_t *p, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	json_t *req = NULL, *answer = NULL;
	const char *cmd;
	int index = -1;

	if (!copy)
		fail("out of memory");
	if (len)
		memcpy(copy, p, len);
	cmd = ib_control_request_parse(copy, len, &req, &answer);
	if (cmd) {
		index = command_index(cmd);
		if (index < 0 || answer || !json_is_object(req))
			fail("a request parses without being an object of a known command");
		if (strcmp(json_string_value(json_object_get(req, "cmd")), cmd) != 0)
			fail("the command returned is not the request's \"cmd\"");
		check_strings(req);
	} else {
		if (req || !answer)
			fail("a refused request without its answer");
		check_refusal(answer);
	}
	json_decref(req);
	json_decref(answer);
	free(copy);
	return index;
}

/* One connection: the stream from s[0..n) in chunks; appends what came of it to log. The
 * bytes it used up (the line and its "\n"), or 0 when the connection ends. */
static size_t connection(const uint8_t *s, size_t n, uint32_t *x, bool split,
			 struct ib_buf *log)
{
	struct ib_buf in = { 0 };
	const uint8_t *nl = n ? memchr(s, '\n', n) : NULL;
	size_t fed = 0, len = 0, used = 0;
	int st = IB_CONTROL_LINE_MORE;

	while (st == IB_CONTROL_LINE_MORE && fed < n) {
		size_t room = ib_control_line_room(&in), chunk = split ? 1 + *x % 97 : READ_CHUNK;

		*x = *x * 1103515245u + 12345u;
		if (room == 0)
			fail("no room while the line wants more");
		chunk = chunk < room ? chunk : room;
		chunk = chunk < n - fed ? chunk : n - fed;
		st = ib_control_line_feed(&in, s + fed, chunk, &len);
		if (st < 0)
			fail("feed failed");
		fed += chunk;
		if (in.len != fed)
			fail("the buffer does not hold what was sent");
	}
	if (fed && memcmp(in.ptr, s, fed) != 0)
		fail("the buffer holds other bytes than were sent");
	if (nl && (size_t)(nl - s) <= IB_CONTROL_MAX_REQUEST) {
		if (st != IB_CONTROL_LINE_READY || len != (size_t)(nl - s))
			fail("the line is not the bytes before the first newline");
		used = len + 1;
	} else if (n > IB_CONTROL_MAX_REQUEST) {
		if (st != IB_CONTROL_LINE_TOO_LONG || in.len != IB_CONTROL_MAX_REQUEST + 1)
			fail("a line past the limit is not ended as too long");
	} else if (st != IB_CONTROL_LINE_MORE || in.len != n) {
		fail("an incomplete line is not waiting for more");
	}
	ib_buf_put_u8(log, (uint8_t)st);
	if (st == IB_CONTROL_LINE_READY) {
		ib_buf_put_u32(log, (uint32_t)len);
		ib_buf_put_u8(log, (uint8_t)parse(in.ptr, len));
	}
	ib_buf_free(&in);
	return used;
}

static void run(const uint8_t *s, size_t n, uint8_t seed, bool split, struct ib_buf *log)
{
	uint32_t x = seed ? seed : 1;
	size_t off = 0, used;

	/* Bounded: a padding of newlines would otherwise be 65,000 empty requests a run. */
	for (unsigned i = 0; i < MAX_CONNECTIONS && off < n; i++) {
		used = connection(s + off, n - off, &x, split, log);
		if (!used)
			break;
		off += used;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ib_buf whole = { 0 }, split = { 0 };
	size_t pad, n;
	uint8_t *s;

	if (size < 3)
		return 0;
	pad = data[1] & PAD_FLAG ? PAD_BASE + (data[1] & 0x7fu) : 0;
	n = pad + size - 3;
	s = malloc(n ? n : 1);
	if (!s)
		fail("out of memory");
	memset(s, data[2], pad);
	memcpy(s + pad, data + 3, size - 3);
	run(s, n, data[0], false, &whole);
	run(s, n, data[0], true, &split);
	if (whole.len != split.len || (whole.len && memcmp(whole.ptr, split.ptr, whole.len) != 0))
		fail("what the node reads depends on how the stream was split");
	ib_buf_free(&whole);
	ib_buf_free(&split);
	free(s);
	return 0;
}
