/* t_cmd.c - commands (spec section 15): one RESULT per COMMAND, the `commands` setting
 * (denied, unknown), argument checks, and the freshness window that stops old commands. */
#include "cf.h"

#include <string.h>

/* The settings the suite writes by default, less ib.publish: the spec's default list. */
#define CMD_DEFAULT_LIST "ib.ping,ib.info,ib.get,ib.fetch"
#define CMD_FRESHNESS_US 300000000ull   /* [CMD-6] 300 s */
#define CMD_STALE_MARGIN_US 1000000ull  /* 1 s past the limit: no clock-skew argument */

/* How many frames of type (COMMAND or RESULT) p received that carry cmd_id. */
static size_t frames_for(struct hn_peer *p, uint8_t type, uint64_t cmd_id)
{
	struct ib_frame f;
	struct ib_msg m;
	size_t n = 0;

	for (size_t i = 0; i < hn_peer_received(p); i++)
		if (hn_peer_got(p, i)->type == type && cf_got_msg(p, i, &f, &m))
			n += (type == IB_MSG_RESULT ? m.u.result.cmd_id : m.u.command.cmd_id) == cmd_id;
	return n;
}

static size_t results_for(struct hn_peer *p, uint64_t cmd_id)
{
	return frames_for(p, IB_MSG_RESULT, cmd_id);
}

static size_t commands_for(struct hn_peer *p, uint64_t cmd_id)
{
	return frames_for(p, IB_MSG_COMMAND, cmd_id);
}

/* Sends COMMAND name (no args) from p, signed by signer (NULL: p), to dest (NULL: everyone),
 * with seq as given when seq is not 0. */
static bool send_command(struct cf_ctx *c, struct hn_peer *p, const struct ib_identity *signer,
			 const ib_id *dest, uint64_t cmd_id, const char *name, uint64_t seq)
{
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_COMMAND;
	if (dest)
		m.h.dest = *dest;
	m.h.seq = seq;
	m.u.command.cmd_id = cmd_id;
	m.u.command.name = (struct ib_slice){ (const uint8_t *)name, strlen(name) };
	if (hn_peer_send(p, &m, signer, NULL, seq != 0, NULL) != IB_OK) {
		cf_harness_error(c, "cannot send COMMAND %s", name);
		return false;
	}
	return true;
}

struct result_wait {
	struct hn_peer *p;
	uint64_t cmd_id;
};

static bool has_result(void *arg)
{
	const struct result_wait *rw = arg;

	return results_for(rw->p, rw->cmd_id) > 0 || hn_peer_closed(rw->p);
}

static bool status_is(struct cf_ctx *c, struct hn_peer *p, const char *name,
		      const struct ib_slice *args, size_t nargs, uint16_t want, const char *req)
{
	uint16_t status = 0;

	if (!cf_command(c, p, NULL, name, args, nargs, &status, NULL))
		return false;
	return cf_expect(c, status == want, req, "the status named in the spec",
			 "%s with %zu argument(s) answered %s, not %s", name, nargs,
			 ib_status_name(status), ib_status_name(want));
}

/* [CMD-1] A COMMAND to everyone is answered once, by a RESULT directed to its origin; a
 * second command is the sentinel that proves no second RESULT was on its way. */
static void test_one_result(struct cf_ctx *c)
{
	struct hn_peer *p;
	struct result_wait rw;
	struct ib_frame f;
	struct ib_msg m;
	uint16_t status;
	struct ib_buf out = { 0 };

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		goto out;
	rw = (struct result_wait){ p, cf_rand(c) };
	if (!send_command(c, p, NULL, NULL, rw.cmd_id, "ib.ping", 0) ||
	    !cf_wait(c, has_result, &rw, 5000, "a RESULT answers ib.ping sent to everyone") ||
	    !cf_command(c, p, NULL, "ib.ping", NULL, 0, &status, &out))
		goto out;
	if (!cf_expect(c, results_for(p, rw.cmd_id) == 1, "CMD-1",
		       "exactly one RESULT with the COMMAND's cmd_id",
		       "%zu RESULT frames carry cmd_id %llu", results_for(p, rw.cmd_id),
		       (unsigned long long)rw.cmd_id))
		goto out;
	for (size_t i = 0; i < hn_peer_received(p); i++)
		if (hn_peer_got(p, i)->type == IB_MSG_RESULT && cf_got_msg(p, i, &f, &m) &&
		    m.u.result.cmd_id == rw.cmd_id &&
		    !cf_expect(c, ib_id_equal(&m.h.dest, ib_identity_id(hn_peer_identity(p))),
			       "CMD-1", "the RESULT is directed to the COMMAND's origin",
			       "its dest is not the origin's id_bot"))
			goto out;
	/* The table says `pong`; a final newline (the text-output convention) is tolerated. */
	cf_expect(c, status == IB_STATUS_OK &&
		  ((out.len == 4 && !memcmp(out.ptr, "pong", 4)) ||
		   (out.len == 5 && !memcmp(out.ptr, "pong\n", 5))), "CMD-3",
		  "ib.ping answers ok with output `pong`", "status %s, output %zu bytes: %.*s",
		  ib_status_name(status), out.len, (int)(out.len > 64 ? 64 : out.len),
		  (const char *)out.ptr);
out:
	ib_buf_free(&out);
}

/* [CMD-2] [CMD-5] With the spec's default list (no ib.publish), ib.publish and an unlisted
 * name are denied, and ib.publish does not run: nothing is stored, nothing is flooded. */
static void test_denied(struct cf_ctx *c)
{
	struct cf_iut_opts o = { .commands = CMD_DEFAULT_LIST };
	struct ib_slice pub[2] = { { (const uint8_t *)"cmd.denied", 10 },
				   { (const uint8_t *)"v", 1 } };
	struct hn_peer *p, *watcher;
	uint16_t status = 0;

	if (!cf_iut_start(c, &o) || !(p = cf_peer(c, 0)) || !(watcher = cf_peer(c, 1)) ||
	    !cf_link_child(c, p) || !cf_link_child(c, watcher) ||
	    !status_is(c, p, "ib.publish", pub, 2, IB_STATUS_DENIED, "CMD-5") ||
	    !status_is(c, p, "x.not-listed", NULL, 0, IB_STATUS_DENIED, "CMD-2") ||
	    !cf_command(c, p, NULL, "ib.get", pub, 1, &status, NULL))
		return;
	if (!cf_expect(c, status == IB_STATUS_NOT_FOUND, "CMD-5",
		       "a denied ib.publish does not run: ib.get finds nothing",
		       "ib.get of the key answered %s", ib_status_name(status)))
		return;
	cf_expect(c, hn_peer_count(watcher, IB_MSG_PUBLISH) == 0, "CMD-5",
		  "a denied ib.publish floods no PUBLISH",
		  "another child received %zu PUBLISH frame(s)",
		  hn_peer_count(watcher, IB_MSG_PUBLISH));
}

/* [CMD-3] The standard commands answer; a listed name the IUT lacks is `unknown`. ib.get
 * and ib.fetch of a key nobody holds are `not_found`. */
static void test_standard_and_unknown(struct cf_ctx *c)
{
	struct cf_iut_opts o = { .commands = CF_COMMANDS ",x.nonesuch" };
	struct ib_slice key = { (const uint8_t *)"cmd.nobody-has-it", 17 };
	struct hn_peer *p;

	if (!cf_iut_start(c, &o) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		return;
	if (!status_is(c, p, "ib.ping", NULL, 0, IB_STATUS_OK, "CMD-3") ||
	    !status_is(c, p, "ib.info", NULL, 0, IB_STATUS_OK, "CMD-3") ||
	    !status_is(c, p, "ib.get", &key, 1, IB_STATUS_NOT_FOUND, "CMD-3") ||
	    !status_is(c, p, "ib.fetch", &key, 1, IB_STATUS_NOT_FOUND, "CMD-3"))
		return;
	status_is(c, p, "x.nonesuch", NULL, 0, IB_STATUS_UNKNOWN, "CMD-3");
}

/* [CMD-4] Wrong counts for each standard command, and an args list that does not decode. */
static void test_bad_args(struct cf_ctx *c)
{
	static const uint8_t short_item[] = { 0, 0, 5, 'a' };  /* says 5 bytes, holds 1 */
	struct ib_slice one = { (const uint8_t *)"k", 1 }, two[2] = { one, one };
	struct ib_slice three[3] = { one, one, one };
	struct ib_msg m;
	struct hn_peer *p;
	struct result_wait rw;
	struct ib_frame f;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !status_is(c, p, "ib.ping", &one, 1, IB_STATUS_BAD_ARGS, "CMD-4") ||
	    !status_is(c, p, "ib.info", &one, 1, IB_STATUS_BAD_ARGS, "CMD-4") ||
	    !status_is(c, p, "ib.get", NULL, 0, IB_STATUS_BAD_ARGS, "CMD-4") ||
	    !status_is(c, p, "ib.get", two, 2, IB_STATUS_BAD_ARGS, "CMD-4") ||
	    !status_is(c, p, "ib.fetch", two, 2, IB_STATUS_BAD_ARGS, "CMD-4") ||
	    !status_is(c, p, "ib.publish", &one, 1, IB_STATUS_BAD_ARGS, "CMD-4") ||
	    !status_is(c, p, "ib.publish", three, 3, IB_STATUS_BAD_ARGS, "CMD-4"))
		return;
	/* Relays do not look inside args (7.10): the message is valid, the list is not. */
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_COMMAND;
	m.h.dest = *cf_iut_id(c);
	rw = (struct result_wait){ p, cf_rand(c) };
	m.u.command.cmd_id = rw.cmd_id;
	m.u.command.name = (struct ib_slice){ (const uint8_t *)"ib.get", 6 };
	m.u.command.args = (struct ib_slice){ short_item, sizeof short_item };
	if (hn_peer_send(p, &m, NULL, NULL, false, NULL) != IB_OK) {
		cf_harness_error(c, "cannot send COMMAND");
		return;
	}
	if (!cf_wait(c, has_result, &rw, 5000, "a RESULT answers ib.get with undecodable args"))
		return;
	for (size_t i = 0; i < hn_peer_received(p); i++)
		if (hn_peer_got(p, i)->type == IB_MSG_RESULT && cf_got_msg(p, i, &f, &m) &&
		    m.u.result.cmd_id == rw.cmd_id) {
			cf_expect(c, m.u.result.status == IB_STATUS_BAD_ARGS, "CMD-4",
				  "args whose item length points past their end: bad_args",
				  "status %s", ib_status_name(m.u.result.status));
			return;
		}
	cf_expect(c, false, "CMD-1", "a RESULT to the COMMAND", "the link closed first");
}

/* [CMD-6] COMMANDs 301 s in the past (origin T0) and in the future (origin T2, relayed by
 * T0, so that an IUT moving T0's window cannot spoil the sentinel) get no RESULT and are not
 * forwarded to the other child; a fresh COMMAND after them is answered and forwarded. */
static void test_stale(struct cf_ctx *c)
{
	struct hn_peer *p, *watcher;
	uint64_t past = cf_rand(c), future = past + 1, fresh = past + 2, now;
	struct result_wait rw;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !(watcher = cf_peer(c, 1)) ||
	    !cf_link_child(c, p) || !cf_link_child(c, watcher))
		return;
	now = cf_unix_us(c);
	if (!send_command(c, p, NULL, NULL, past, "ib.ping",
			  now - CMD_FRESHNESS_US - CMD_STALE_MARGIN_US) ||
	    !send_command(c, p, cf_tester_identity(c, 2), NULL, future, "ib.ping",
			  now + CMD_FRESHNESS_US + CMD_STALE_MARGIN_US) ||
	    !send_command(c, p, NULL, NULL, fresh, "ib.ping", 0))
		return;
	rw = (struct result_wait){ p, fresh };
	if (!cf_wait(c, has_result, &rw, 5000, "a RESULT answers the fresh COMMAND (sentinel)") ||
	    !cf_wait_type(c, watcher, IB_MSG_COMMAND, 1, 2000) ||
	    !cf_expect(c, results_for(p, fresh) == 1, "CMD-1",
		       "one RESULT answers the fresh COMMAND (the sentinel)",
		       "%zu RESULT(s); the link %s", results_for(p, fresh),
		       hn_peer_closed(p) ? "closed" : "is open"))
		return;
	/* Same links, same order: an answer to a stale one would have come before. */
	if (!cf_expect(c, results_for(p, past) + results_for(watcher, past) == 0, "CMD-6",
		       "a COMMAND 301 s old is dropped: no RESULT",
		       "%zu RESULT(s) answered it", results_for(p, past) + results_for(watcher, past)) ||
	    !cf_expect(c, results_for(p, future) + results_for(watcher, future) == 0, "CMD-6",
		       "a COMMAND 301 s ahead is dropped: no RESULT", "%zu RESULT(s) answered it",
		       results_for(p, future) + results_for(watcher, future)))
		return;
	cf_expect(c, commands_for(watcher, past) + commands_for(watcher, future) == 0, "CMD-6",
		  "stale COMMANDs are not forwarded (the fresh one was)",
		  "the other child received %zu of the 2 stale COMMANDs",
		  commands_for(watcher, past) + commands_for(watcher, future));
}

const struct cf_test cf_tests_cmd[] = {
	{ "cmd.one-result", "CMD-1 CMD-3", 0, test_one_result,
	  "answer each COMMAND (also one sent to everyone) with exactly one RESULT, same cmd_id, "
	  "directed to its origin; ib.ping answers `pong`" },
	{ "cmd.denied", "CMD-2 CMD-5", CF_NEEDS_CONFIG, test_denied,
	  "with commands = ib.ping,ib.info,ib.get,ib.fetch answer ib.publish and other unlisted "
	  "names `denied`, and do not run them" },
	{ "cmd.standard-and-unknown", "CMD-3", CF_NEEDS_CONFIG, test_standard_and_unknown,
	  "implement ib.ping, ib.info, ib.get, ib.fetch (not_found for a key nobody holds); "
	  "answer a listed name you do not implement `unknown`" },
	{ "cmd.bad-args", "CMD-4", 0, test_bad_args,
	  "answer `bad_args` to a standard command with the wrong number of arguments or an "
	  "args list that does not decode" },
	{ "cmd.stale", "CMD-6", 0, test_stale,
	  "drop (no RESULT, no forwarding) a COMMAND whose seq is more than 300 s away from your "
	  "clock, in the past or the future" },
	{ NULL, NULL, 0, NULL, NULL }
};
