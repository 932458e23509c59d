/* t_cmd.c - commands (spec section 15): one RESULT per COMMAND, the `commands` setting
 * (denied, unknown), argument checks, and the freshness window that stops old commands. */
#include "cf.h"
#include "reader.h" /* ib_utf8_valid */

#include <openssl/evp.h>

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

/* Sends COMMAND name with args (the raw list, which may not decode) from p, signed by signer
 * (NULL: p), to dest (NULL: everyone), with seq as given when seq is not 0; the frame goes
 * to frame_out when not NULL. */
static bool send_command_args(struct cf_ctx *c, struct hn_peer *p,
			      const struct ib_identity *signer, const ib_id *dest, uint64_t cmd_id,
			      const char *name, struct ib_slice args, uint64_t seq,
			      struct ib_buf *frame_out)
{
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_COMMAND;
	if (dest)
		m.h.dest = *dest;
	m.h.seq = seq;
	m.u.command.cmd_id = cmd_id;
	m.u.command.name = (struct ib_slice){ (const uint8_t *)name, strlen(name) };
	m.u.command.args = args;
	if (hn_peer_send(p, &m, signer, NULL, seq != 0, frame_out) != IB_OK) {
		cf_harness_error(c, "cannot send COMMAND %s", name);
		return false;
	}
	return true;
}

/* The same without args. */
static bool send_command(struct cf_ctx *c, struct hn_peer *p, const struct ib_identity *signer,
			 const ib_id *dest, uint64_t cmd_id, const char *name, uint64_t seq)
{
	return send_command_args(c, p, signer, dest, cmd_id, name, (struct ib_slice){ NULL, 0 },
				 seq, NULL);
}

/* The status of the first RESULT p received for cmd_id; false when none came. */
static bool result_status(struct hn_peer *p, uint64_t cmd_id, uint16_t *status)
{
	struct ib_frame f;
	struct ib_msg m;

	for (size_t i = 0; i < hn_peer_received(p); i++)
		if (hn_peer_got(p, i)->type == IB_MSG_RESULT && cf_got_msg(p, i, &f, &m) &&
		    m.u.result.cmd_id == cmd_id) {
			*status = m.u.result.status;
			return true;
		}
	return false;
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
	if (!cf_expect(c, status == IB_STATUS_OK, "CMD-3", "ib.ping answers ok",
		       "status %s", ib_status_name(status)))
		goto out;
	/* [CMD-17] `pong` is no key=value output: no newline after it. */
	cf_expect(c, out.len == 4 && !memcmp(out.ptr, "pong", 4), "CMD-17",
		  "ib.ping answers the four bytes `pong`, without a newline",
		  "output %zu bytes: \"%.*s\"", out.len, (int)(out.len > 64 ? 64 : out.len),
		  (const char *)out.ptr);
out:
	ib_buf_free(&out);
}

/* [CMD-2] [CMD-5] With the spec's default list (no ib.publish), ib.publish and unlisted
 * names (one a prefix of ib.ping, one with ib.ping as its prefix) are denied, and ib.publish does not run: nothing is stored, nothing is flooded. */
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
	    /* A prefix of a listed name, and a listed name with more after it: other names. */
	    !status_is(c, p, "ib.pin", NULL, 0, IB_STATUS_DENIED, "CMD-2") ||
	    !status_is(c, p, "ib.pingg", NULL, 0, IB_STATUS_DENIED, "CMD-2") ||
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

/* ib.get with args bytes that are no list of items (relays do not look inside args, 7.10:
 * the message is valid, the list is not): bad_args. */
static bool raw_args_bad(struct cf_ctx *c, struct hn_peer *p, const uint8_t *args, size_t len,
			 const char *what)
{
	struct result_wait rw = { p, cf_rand(c) };
	struct ib_frame f;
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_COMMAND;
	m.h.dest = *cf_iut_id(c);
	m.u.command.cmd_id = rw.cmd_id;
	m.u.command.name = (struct ib_slice){ (const uint8_t *)"ib.get", 6 };
	m.u.command.args = (struct ib_slice){ args, len };
	if (hn_peer_send(p, &m, NULL, NULL, false, NULL) != IB_OK) {
		cf_harness_error(c, "cannot send COMMAND");
		return false;
	}
	if (!cf_wait(c, has_result, &rw, 5000, "a RESULT answers ib.get with undecodable args"))
		return false;
	for (size_t i = 0; i < hn_peer_received(p); i++)
		if (hn_peer_got(p, i)->type == IB_MSG_RESULT && cf_got_msg(p, i, &f, &m) &&
		    m.u.result.cmd_id == rw.cmd_id)
			return cf_expect(c, m.u.result.status == IB_STATUS_BAD_ARGS, "CMD-4", what,
					 "status %s", ib_status_name(m.u.result.status));
	return cf_expect(c, false, "CMD-1", "a RESULT to the COMMAND", "the link closed first");
}

/* [CMD-4] Wrong counts for each standard command, and args lists that do not decode: an
 * item whose length points past the end, and a whole item followed by one stray byte (a
 * decoder that stops when fewer bytes than a length are left takes the list for one item). */
static void test_bad_args(struct cf_ctx *c)
{
	static const uint8_t short_item[] = { 0, 0, 5, 'a' };  /* says 5 bytes, holds 1 */
	static const uint8_t stray_byte[] = { 0, 0, 1, 'k', 0 };  /* "k", then one byte */
	struct ib_slice one = { (const uint8_t *)"k", 1 }, two[2] = { one, one };
	struct ib_slice three[3] = { one, one, one };
	struct hn_peer *p;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !status_is(c, p, "ib.ping", &one, 1, IB_STATUS_BAD_ARGS, "CMD-4") ||
	    !status_is(c, p, "ib.info", &one, 1, IB_STATUS_BAD_ARGS, "CMD-4") ||
	    !status_is(c, p, "ib.get", NULL, 0, IB_STATUS_BAD_ARGS, "CMD-4") ||
	    !status_is(c, p, "ib.get", two, 2, IB_STATUS_BAD_ARGS, "CMD-4") ||
	    !status_is(c, p, "ib.fetch", two, 2, IB_STATUS_BAD_ARGS, "CMD-4") ||
	    !status_is(c, p, "ib.publish", &one, 1, IB_STATUS_BAD_ARGS, "CMD-4") ||
	    !status_is(c, p, "ib.publish", three, 3, IB_STATUS_BAD_ARGS, "CMD-4") ||
	    !raw_args_bad(c, p, short_item, sizeof short_item,
			  "args whose item length points past their end: bad_args"))
		return;
	raw_args_bad(c, p, stray_byte, sizeof stray_byte,
		     "args holding an item and then one byte (no whole item): bad_args");
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

/* ---- Issue 12: the points sections 15 left open ------------------------------------------ */

#define CMD_NEAR_US 900000ull  /* 0.9 s either side of the bound: whole seconds cannot tell */

/* [CMD-8] One probe on each side of the bound, in the past and in the future, and one
 * exactly 300 s ahead (in self mode no time passes before it is read: exactly on the bound;
 * on real time it arrives a little inside). Each probe has its own origin (T2..T5, relayed
 * by T0): a probe that runs moves its origin's window. The sentinel, a fresh ib.ping of T0
 * on the same link, is answered after every answer to the probes. It needs a node the suite
 * started (CF_NEEDS_CONFIG): a running node remembers T2..T5 from earlier tests, and a
 * COMMAND 299 s old would be a replay there. */
static void test_fresh_bounds(struct cf_ctx *c)
{
	static const struct {
		int signer;
		bool ahead, fresh;
		uint64_t off_us;
		const char *what;
	} probes[] = {
		{ 2, false, false, CMD_FRESHNESS_US + CMD_NEAR_US, "300.9 s old" },
		{ 3, false, true, CMD_FRESHNESS_US - CMD_NEAR_US, "299.1 s old" },
		{ 4, true, true, CMD_FRESHNESS_US, "exactly 300 s ahead" },
		{ 5, true, false, CMD_FRESHNESS_US + CMD_NEAR_US, "300.9 s ahead" },
		/* Only where the IUT reads this host's clock (not addr mode): the time the
		 * frame takes to arrive only makes it older, so no delay can make it fresh;
		 * a node that counts whole milliseconds takes it. */
		{ 6, false, false, CMD_FRESHNESS_US + 1, "300.000001 s old" },
	};
	/* The last probe needs the IUT on this host's clock: not in addr mode. */
	const size_t n = sizeof probes / sizeof probes[0] - (cf_mode(c) == CF_MODE_ADDR);
	uint64_t base = cf_rand(c);
	struct hn_peer *p;
	uint16_t status;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		return;
	for (size_t i = 0; i < n; i++) {
		uint64_t now = cf_unix_us(c);
		uint64_t seq = probes[i].ahead ? now + probes[i].off_us : now - probes[i].off_us;

		if (!send_command(c, p, cf_tester_identity(c, probes[i].signer), cf_iut_id(c),
				  base + i, "ib.ping", seq))
			return;
	}
	if (!cf_command(c, p, NULL, "ib.ping", NULL, 0, &status, NULL))
		return;
	for (size_t i = 0; i < n; i++) {
		bool answered = results_for(p, base + i) > 0;

		if (!cf_expect(c, answered == probes[i].fresh, "CMD-8",
			       probes[i].fresh ? "a COMMAND at most 300 s away runs: the bound is "
						 "inclusive, to the microsecond"
					       : "a COMMAND more than 300 s away is dropped, however "
						 "little more",
			       "the COMMAND %s was %s", probes[i].what,
			       answered ? "answered" : "not answered"))
			return;
	}
}

/* [CMD-9] A stale COMMAND must not move its origin's window: T6's COMMAND 300.9 s ahead is
 * dropped, and T6's next COMMAND, stamped now, still runs. */
static void test_stale_keeps_window(struct cf_ctx *c)
{
	uint64_t ahead = cf_rand(c), fresh = ahead + 1;
	struct hn_peer *p;
	uint16_t status;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !send_command(c, p, cf_tester_identity(c, 6), cf_iut_id(c), ahead, "ib.ping",
			  cf_unix_us(c) + CMD_FRESHNESS_US + CMD_NEAR_US) ||
	    !send_command(c, p, cf_tester_identity(c, 6), cf_iut_id(c), fresh, "ib.ping",
			  cf_next_seq(c, 6)) ||
	    !cf_command(c, p, NULL, "ib.ping", NULL, 0, &status, NULL))
		return;
	if (!cf_expect(c, results_for(p, ahead) == 0, "CMD-6",
		       "a COMMAND 300.9 s ahead is dropped: no RESULT", "%zu RESULT(s) answered it",
		       results_for(p, ahead)))
		return;
	cf_expect(c, results_for(p, fresh) == 1, "CMD-9",
		  "a stale COMMAND leaves its origin's anti-replay window as it was: the origin's "
		  "next COMMAND, stamped now, runs",
		  "%zu RESULT(s) answered it (a window moved 300 s ahead takes it for a replay)",
		  results_for(p, fresh));
}

/* [CMD-9] cmd_id is no replay key: a second COMMAND with the cmd_id of the first (a new
 * frame, a later seq) runs too. The first frame sent again is a replay ([FLOOD-3]): it does
 * not run again. */
static void test_cmd_id_reused(struct cf_ctx *c)
{
	struct ib_buf first = { 0 };
	struct hn_peer *p;
	struct result_wait rw;
	uint16_t status;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		goto out;
	rw = (struct result_wait){ p, cf_rand(c) };
	if (!send_command_args(c, p, NULL, cf_iut_id(c), rw.cmd_id, "ib.ping",
			       (struct ib_slice){ NULL, 0 }, 0, &first) ||
	    !cf_wait(c, has_result, &rw, 5000, "a RESULT answers the first COMMAND") ||
	    !send_command(c, p, NULL, cf_iut_id(c), rw.cmd_id, "ib.ping", 0) ||
	    !cf_command(c, p, NULL, "ib.ping", NULL, 0, &status, NULL))
		goto out;
	if (!cf_expect(c, results_for(p, rw.cmd_id) == 2, "CMD-9",
		       "a COMMAND whose cmd_id repeats an earlier one runs: two RESULTs",
		       "%zu RESULT(s) carry the cmd_id", results_for(p, rw.cmd_id)))
		goto out;
	if (hn_peer_send_raw(p, first.ptr, first.len) != IB_OK) {
		cf_harness_error(c, "cannot send the first COMMAND again");
		goto out;
	}
	if (!cf_command(c, p, NULL, "ib.ping", NULL, 0, &status, NULL))
		goto out;
	cf_expect(c, results_for(p, rw.cmd_id) == 2, "CMD-9",
		  "the first COMMAND frame, sent again, is a replay and does not run again",
		  "%zu RESULT(s) carry the cmd_id", results_for(p, rw.cmd_id));
out:
	ib_buf_free(&first);
}

/* Sends COMMAND name with the raw args list from p to the IUT and waits for its status. */
static bool raw_status(struct cf_ctx *c, struct hn_peer *p, const char *name,
		       struct ib_slice args, uint16_t *status)
{
	struct result_wait rw = { p, cf_rand(c) };

	return send_command_args(c, p, NULL, cf_iut_id(c), rw.cmd_id, name, args, 0, NULL) &&
	       cf_wait(c, has_result, &rw, 5000, "a RESULT answers the COMMAND") &&
	       cf_expect(c, result_status(p, rw.cmd_id, status), "CMD-1",
			 "a RESULT to the COMMAND", "the link closed first");
}

/* [CMD-10] The name is judged first, then the arguments: args that do not decode are
 * `denied` for a name not listed (a standard one too), `unknown` for a listed name the node
 * lacks, and `bad_args` only for a name that would run. */
static void test_status_order(struct cf_ctx *c)
{
	static const uint8_t broken[] = { 0, 0, 5, 'a' };  /* says 5 bytes, holds 1 */
	static const uint8_t two[] = { 0, 0, 1, 'a', 0, 0, 1, 'b' };
	static const struct {
		const char *name;
		bool broken;
		uint16_t want;
		const char *why;
	} cases[] = {
		{ "x.not-listed", true, IB_STATUS_DENIED,
		  "a name not in `commands` is denied, whatever its arguments" },
		{ "ib.get", true, IB_STATUS_DENIED,
		  "a standard name not in `commands` is denied, whatever its arguments" },
		{ "x.nonesuch", true, IB_STATUS_UNKNOWN,
		  "a listed name the node lacks is unknown, whatever its arguments" },
		{ "x.nonesuch", false, IB_STATUS_UNKNOWN,
		  "a listed name the node lacks is unknown, with two arguments too" },
		{ "ib.ping", true, IB_STATUS_BAD_ARGS,
		  "a listed name the node runs, with args that do not decode, is bad_args" },
	};
	struct cf_iut_opts o = { .commands = "ib.ping,ib.info,x.nonesuch" };
	struct hn_peer *p;

	if (!cf_iut_start(c, &o) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		return;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ib_slice args = cases[i].broken ? (struct ib_slice){ broken, sizeof broken }
						       : (struct ib_slice){ two, sizeof two };
		uint16_t status = 0;

		if (!raw_status(c, p, cases[i].name, args, &status) ||
		    !cf_expect(c, status == cases[i].want, "CMD-10", cases[i].why,
			       "%s with %s answered %s, not %s", cases[i].name,
			       cases[i].broken ? "args that do not decode" : "two arguments",
			       ib_status_name(status), ib_status_name(cases[i].want)))
			return;
	}
}

struct type_wait {
	struct hn_peer *p;
	uint8_t type;
	size_t count;
};

static bool type_count_reached(void *arg)
{
	const struct type_wait *tw = arg;

	return hn_peer_count(tw->p, tw->type) >= tw->count || hn_peer_closed(tw->p);
}

/* [CMD-11] Each KEY no PUBLISH could carry is bad_args from the three commands that take one,
 * and nothing runs: no QUERY, no PUBLISH reaches another child. A KEY of 255 bytes is valid;
 * its ib.fetch is the sentinel (its QUERY comes after anything the others sent). */
static void test_key_args(struct cf_ctx *c)
{
	static const char *const cmds[] = { "ib.get", "ib.fetch", "ib.publish" };
	uint8_t k256[256], k255[255];
	const struct {
		struct ib_slice key;
		const char *what;
	} bad[] = {
		{ { (const uint8_t *)"", 0 }, "an empty KEY" },
		{ { k256, sizeof k256 }, "a KEY of 256 bytes" },
		{ { (const uint8_t *)"a\0b", 3 }, "a KEY holding a NUL byte" },
		{ { (const uint8_t *)"\xff", 1 }, "a KEY that is not UTF-8 (byte ff)" },
		{ { (const uint8_t *)"\xc0\x80", 2 }, "a KEY that is not UTF-8 (an overlong NUL)" },
		{ { (const uint8_t *)"\xed\xa0\x80", 3 }, "a KEY that is not UTF-8 (a surrogate)" },
	};
	struct ib_slice args[2] = { { NULL, 0 }, { (const uint8_t *)"v", 1 } };
	struct hn_peer *p, *watcher;
	struct type_wait tw;
	uint16_t status = 0;
	bool publish = true;

	memset(k256, 'k', sizeof k256);
	snprintf((char *)k255, sizeof k255, "cmd.key-args.%016llx", (unsigned long long)cf_rand(c));
	memset(k255 + strlen((char *)k255), 'k', sizeof k255 - strlen((char *)k255));
	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !(watcher = cf_peer(c, 1)) ||
	    !cf_link_child(c, p) || !cf_link_child(c, watcher))
		return;
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		bool pub = !strcmp(cmds[i], "ib.publish");

		for (size_t j = 0; publish && j < sizeof bad / sizeof bad[0]; j++) {
			args[0] = bad[j].key;
			if (!cf_command(c, p, NULL, cmds[i], args, pub ? 2 : 1, &status, NULL))
				return;
			/* A running node's owner may deny ib.publish (spec section 19.3). */
			if (pub && status == IB_STATUS_DENIED && cf_mode(c) == CF_MODE_ADDR) {
				cf_note(c, "the node denies ib.publish: its KEY checks are not seen");
				publish = false;
				break;
			}
			if (!cf_expect(c, status == IB_STATUS_BAD_ARGS, "CMD-11",
				       "a KEY that no PUBLISH could carry is bad_args",
				       "%s with %s answered %s", cmds[i], bad[j].what,
				       ib_status_name(status)))
				return;
		}
	}
	/* Both ends of 1..255: a bound moved inward refuses one of them, in ib.get's check or
	 * in the QUERY that ib.fetch sends (the node encodes the KEY itself there). */
	args[0] = (struct ib_slice){ (const uint8_t *)"\x7f", 1 };
	if (!cf_command(c, p, NULL, "ib.get", args, 1, &status, NULL) ||
	    !cf_expect(c, status == IB_STATUS_NOT_FOUND || status == IB_STATUS_OK, "CMD-11",
		       "a KEY of 1 byte is valid: ib.get answers the item or not_found",
		       "it answered %s", ib_status_name(status)) ||
	    !cf_command(c, p, NULL, "ib.fetch", args, 1, &status, NULL))
		return;
	args[0] = (struct ib_slice){ k255, sizeof k255 };
	if (!cf_command(c, p, NULL, "ib.get", args, 1, &status, NULL) ||
	    !cf_expect(c, status == IB_STATUS_NOT_FOUND, "CMD-11",
		       "a KEY of 255 bytes is valid: ib.get of one nobody holds is not_found",
		       "it answered %s", ib_status_name(status)) ||
	    !cf_command(c, p, NULL, "ib.fetch", args, 1, &status, NULL))
		return;
	tw = (struct type_wait){ watcher, IB_MSG_QUERY, 2 };
	if (!cf_wait(c, type_count_reached, &tw, 2000,
		     "the QUERYs of ib.fetch with valid KEYs (1 and 255 bytes) reach the other "
		     "child (sentinel)"))
		return;
	cf_expect(c, hn_peer_count(watcher, IB_MSG_QUERY) == 2 &&
		  hn_peer_count(watcher, IB_MSG_PUBLISH) == 0, "CMD-11",
		  "commands with a bad KEY do not run: they send no QUERY and publish nothing",
		  "the other child received %zu QUERY (2 are the valid ib.fetch) and %zu PUBLISH",
		  hn_peer_count(watcher, IB_MSG_QUERY), hn_peer_count(watcher, IB_MSG_PUBLISH));
}

struct copy_wait {
	struct hn_peer *p;
	const struct ib_buf *frame;
};

static bool copied(void *arg)
{
	const struct copy_wait *cw = arg;

	return cf_copies(cw->p, cw->frame->ptr, cw->frame->len) > 0 || hn_peer_closed(cw->p);
}

/* [CMD-12] RESULTs of unassigned statuses from T0 to T1 pass through the IUT unchanged, as
 * the RESULT of status 0 sent after them (the sentinel) does. */
static void test_unassigned_status(struct cf_ctx *c)
{
	static const uint16_t statuses[] = { 6, 4242, 65535, 0 };
	enum { N = sizeof statuses / sizeof statuses[0] };
	struct ib_buf frames[N] = { { 0 } };
	struct hn_peer *p, *q;
	struct copy_wait cw;
	uint64_t base = cf_rand(c);

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !(q = cf_peer(c, 1)) ||
	    !cf_link_child(c, p) || !cf_link_child(c, q))
		goto out;
	for (size_t i = 0; i < N; i++) {
		struct ib_msg m;

		memset(&m, 0, sizeof m);
		m.h.type = IB_MSG_RESULT;
		m.h.dest = *cf_tester_id(c, 1);
		m.u.result = (struct ib_result){ base + i, statuses[i],
						 { (const uint8_t *)"out", 3 } };
		if (hn_peer_send(p, &m, NULL, NULL, false, &frames[i]) != IB_OK) {
			cf_harness_error(c, "cannot send RESULT");
			goto out;
		}
	}
	cw = (struct copy_wait){ q, &frames[N - 1] };
	if (!cf_wait(c, copied, &cw, 2000, "the RESULT of status 0 reaches the other child"))
		goto out;
	for (size_t i = 0; i + 1 < N; i++)
		if (!cf_expect(c, cf_copies(q, frames[i].ptr, frames[i].len) == 1, "CMD-12",
			       "a RESULT of an unassigned status is valid: forwarded unchanged",
			       "the RESULT of status %u reached the other child %zu times",
			       statuses[i], cf_copies(q, frames[i].ptr, frames[i].len)))
			goto out;
out:
	for (size_t i = 0; i < N; i++)
		ib_buf_free(&frames[i]);
}

/* [CMD-13] Every standard command, listed and called right, answers one of its statuses:
 * never `unknown` (ib.publish included), `not_found` only from ib.get and ib.fetch. */
static void test_standard_statuses(struct cf_ctx *c)
{
	static const struct {
		const char *name;
		size_t nargs;
		bool may_not_find;
	} cmds[] = {
		{ "ib.ping", 0, false }, { "ib.info", 0, false }, { "ib.get", 1, true },
		{ "ib.fetch", 1, true }, { "ib.publish", 2, false },
	};
	char key[64];
	struct ib_slice args[2] = { { (const uint8_t *)key, 0 }, { (const uint8_t *)"v", 1 } };
	struct hn_peer *p;

	snprintf(key, sizeof key, "cmd.standard.%016llx", (unsigned long long)cf_rand(c));
	args[0].len = strlen(key);
	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		return;
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		uint16_t st = 0;
		bool ok;

		if (!cf_command(c, p, NULL, cmds[i].name, args, cmds[i].nargs, &st, NULL))
			return;
		/* A running node's owner may leave a command out of `commands`. */
		ok = st == IB_STATUS_OK || st == IB_STATUS_FAILED ||
		     (st == IB_STATUS_NOT_FOUND && cmds[i].may_not_find) ||
		     (st == IB_STATUS_DENIED && cf_mode(c) == CF_MODE_ADDR);
		if (!cf_expect(c, ok, "CMD-13",
			       "a standard command answers only its statuses (never unknown)",
			       "%s, listed in `commands`, answered %s (%u)", cmds[i].name,
			       ib_status_name(st), st))
			return;
	}
}

/* [CMD-14] Names are bytes: other cases, or a trailing blank, are other names, not listed. */
static void test_names_exact(struct cf_ctx *c)
{
	static const char *const names[] = { "IB.PING", "Ib.Info", "ib.ping ", " ib.ping" };
	struct hn_peer *p;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		return;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!status_is(c, p, names[i], NULL, 0, IB_STATUS_DENIED, "CMD-14"))
			return;
}

/* The value of line key= in the ib.info output, into val; false if there is no such line. */
static bool info_value(const struct ib_buf *out, const char *key, char *val, size_t cap)
{
	size_t klen = strlen(key);

	for (size_t i = 0; i < out->len; i++) {
		const uint8_t *nl;
		size_t len;

		if (i && out->ptr[i - 1] != '\n')
			continue;
		if (out->len - i <= klen || memcmp(out->ptr + i, key, klen) || out->ptr[i + klen] != '=')
			continue;
		nl = memchr(out->ptr + i, '\n', out->len - i);
		len = (nl ? (size_t)(nl - out->ptr) : out->len) - i - klen - 1;
		if (len >= cap)
			return false;
		memcpy(val, out->ptr + i + klen + 1, len);
		val[len] = 0;
		return true;
	}
	return false;
}

/* [CMD-15] ib.info, byte for byte but for the order of children and the software text: seven
 * lines in order, each ending in \n. Its own key is also in authorized/ (as conform-X0.pub):
 * the digest counts it once. */
static void test_info_format(struct cf_ctx *c)
{
	static const char *const keys[] = { "name", "id", "role", "parent", "children",
					    "software", "keys_digest" };
	struct cf_iut_opts o = { .nextra_keys = 1 };
	char want[300], got[300], a[33], b[33], digest[65];
	struct hn_peer *p, *q;
	struct ib_buf out = { 0 };
	size_t lines = 0, at = 0;
	uint16_t status;

	o.extra_keys[0] = cf_iut_key(c);
	if (!cf_iut_start(c, &o) || !(p = cf_peer(c, 0)) || !(q = cf_peer(c, 1)) ||
	    !cf_link_child(c, p) || !cf_link_child(c, q) ||
	    !cf_command(c, p, NULL, "ib.info", NULL, 0, &status, &out) ||
	    !cf_expect(c, status == IB_STATUS_OK, "CMD-3", "ib.info answers ok", "status %s",
		       ib_status_name(status)))
		goto out;
	for (size_t i = 0; i < out.len; i++)
		lines += out.ptr[i] == '\n';
	if (!cf_expect(c, out.len > 0 && out.ptr[out.len - 1] == '\n' && lines == 7, "CMD-15",
		       "seven lines, each ending in \\n (the last one too)",
		       "%zu newline(s), the output %s in one: %.*s", lines,
		       out.len && out.ptr[out.len - 1] == '\n' ? "ends" : "does not end",
		       (int)(out.len > 600 ? 600 : out.len), (const char *)out.ptr))
		goto out;
	for (size_t i = 0; i < 7; i++) {
		size_t klen = strlen(keys[i]);
		const uint8_t *nl = memchr(out.ptr + at, '\n', out.len - at);

		if (!cf_expect(c, out.len - at > klen && !memcmp(out.ptr + at, keys[i], klen) &&
			       out.ptr[at + klen] == '=', "CMD-15",
			       "the lines name=, id=, role=, parent=, children=, software=, "
			       "keys_digest=, in this order",
			       "line %zu is \"%.*s\", not %s=...", i + 1,
			       (int)(nl - (out.ptr + at)), (const char *)out.ptr + at, keys[i]))
			goto out;
		at = (size_t)(nl - out.ptr) + 1;
	}
	ib_id_to_hex(cf_iut_id(c), a);
	if (!cf_keys_digest(c, 0, digest))
		goto out;
	{
		const struct {
			const char *key, *want;
		} exact[] = { { "name", "iut" }, { "id", a }, { "role", "server" },
			      { "parent", "" }, { "keys_digest", digest } };

		for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
			info_value(&out, exact[i].key, got, sizeof got);
			if (!cf_expect(c, !strcmp(got, exact[i].want), "CMD-15",
				       "ib.info values: name the setting, id its id_bot, role its "
				       "mode, parent empty for a root, keys_digest the SHA-256 of its "
				       "keyring (each key once), lowercase hex",
				       "%s=%s, expected %s=%s", exact[i].key, got, exact[i].key,
				       exact[i].want))
				goto out;
		}
	}
	ib_id_to_hex(cf_tester_id(c, 0), a);
	ib_id_to_hex(cf_tester_id(c, 1), b);
	info_value(&out, "children", got, sizeof got);
	snprintf(want, sizeof want, "%s,%s", a, b);
	if (strcmp(got, want) != 0)
		snprintf(want, sizeof want, "%s,%s", b, a);
	if (!cf_expect(c, !strcmp(got, want), "CMD-15",
		       "children= the id_bots of the two children, comma-separated, no blanks",
		       "children=%s", got))
		goto out;
	/* software= as in the IUT's own ANNOUNCE, which p received when it linked ([MAP-3]). */
	info_value(&out, "software", got, sizeof got);
	for (size_t i = hn_peer_received(p); i-- > 0;) {
		struct ib_frame f;
		struct ib_msg m;

		if (hn_peer_got(p, i)->type != IB_MSG_ANNOUNCE || !cf_got_msg(p, i, &f, &m) ||
		    !ib_id_equal(&f.origin, cf_iut_id(c)))
			continue;
		cf_expect(c, m.u.announce.software.len == strlen(got) &&
			       !memcmp(m.u.announce.software.ptr, got, strlen(got)), "CMD-15",
			  "software= is the software of the IUT's own ANNOUNCE",
			  "software=%s, its ANNOUNCE says \"%.*s\"", got,
			  (int)m.u.announce.software.len, (const char *)m.u.announce.software.ptr);
		goto out;
	}
	cf_expect(c, false, "MAP-3", "T0 received the IUT's own ANNOUNCE when it linked",
		  "it received none");
out:
	ib_buf_free(&out);
}

/* p publishes under key an item of 70,000 bytes, more than any link of max_message 65,536
 * takes; its frame goes to frame. False, with the test NOT-APPLICABLE, when the IUT's HELLO
 * announced no room for it. */
#define BIG_VALUE_LEN 70000

static bool publish_big(struct cf_ctx *c, struct hn_peer *p, struct ib_slice key,
			struct ib_buf *frame)
{
	static uint8_t value[BIG_VALUE_LEN];
	struct ib_msg m;

	memset(value, 'v', sizeof value);
	if (!cf_hello_of(p, &m) || m.u.hello.max_message < sizeof value + 1024) {
		cf_not_applicable(c, "the node takes no message of %zu bytes", sizeof value + 1024);
		return false;
	}
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PUBLISH;
	m.u.publish = (struct ib_publish){ key, 1, { value, sizeof value } };
	if (hn_peer_send(p, &m, NULL, NULL, false, frame) != IB_OK) {
		cf_harness_error(c, "cannot send PUBLISH");
		return false;
	}
	return true;
}

/* The first RESULT p received for cmd_id, into m; false if none. */
static bool result_of(struct hn_peer *p, uint64_t cmd_id, struct ib_msg *m)
{
	struct ib_frame f;

	for (size_t i = 0; i < hn_peer_received(p); i++)
		if (hn_peer_got(p, i)->type == IB_MSG_RESULT && cf_got_msg(p, i, &f, m) &&
		    m->u.result.cmd_id == cmd_id)
			return true;
	return false;
}

struct two_results {
	struct hn_peer *p;
	uint64_t cmd_id[2];
};

static bool both_results(void *arg)
{
	const struct two_results *t = arg;

	return (results_for(t->p, t->cmd_id[0]) && results_for(t->p, t->cmd_id[1])) ||
	       hn_peer_closed(t->p);
}

/* [CMD-18] Without a route to the asker, every open link counts, and only open links. T2
 * connects first and never sends HELLO. T0 (max_message 16 MiB) has the IUT store a
 * 70,000-byte item and a small one, asks ib.fetch of both (each election takes a window),
 * and its link goes; it links again (HELLO is hop-local: no route from it). The RESULTs
 * would leave on every open link, T1's among them (max_message 65,536): the big one must be
 * `failed` with a reason, not the frame (which would reach T0 only, [FLOOD-13] keeping it
 * off T1); the small one `ok`, whatever T2's link, which is not open, takes. */
static void test_result_no_route(struct cf_ctx *c)
{
	static const uint8_t value[100] = { 'v' };
	struct cf_iut_opts o = { .election_window_ms = 1000 };
	struct ib_buf frame = { 0 }, little = { 0 }, args = { 0 };
	struct hn_peer *big, *small, *pending, *first = NULL;
	struct two_results tr;
	struct ib_slice key[2];
	struct ib_msg m;
	char name[2][64];
	uint16_t status = 0;

	for (int i = 0; i < 2; i++) {
		snprintf(name[i], sizeof name[i], "cmd.no-route.%d.%016llx", i,
			 (unsigned long long)cf_rand(c));
		key[i] = (struct ib_slice){ (const uint8_t *)name[i], strlen(name[i]) };
	}
	if (!cf_iut_start(c, &o) || !(big = cf_peer(c, 0)) || !(small = cf_peer(c, 1)) ||
	    !(pending = cf_peer(c, 2)))
		goto out;
	hn_peer_set_max_message(small, IB_MAX_MESSAGE_MIN);
	if (hn_peer_clone(big, &first) != IB_OK) {
		cf_harness_error(c, "cannot clone T0");
		goto out;
	}
	/* T2 first: the oldest of the IUT's links, whatever order it keeps them in. */
	if (!cf_connect(c, pending) || !cf_link_child(c, first) || !cf_link_child(c, small) ||
	    !publish_big(c, first, key[0], &frame))
		goto out;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PUBLISH;
	m.u.publish = (struct ib_publish){ key[1], 1, { value, sizeof value } };
	if (hn_peer_send(first, &m, NULL, NULL, false, &little) != IB_OK ||
	    !cf_command(c, first, NULL, "ib.ping", NULL, 0, &status, NULL))
		goto harness;
	tr.p = big;
	for (int i = 0; i < 2; i++) {
		tr.cmd_id[i] = cf_rand(c);
		ib_buf_reset(&args);
		if (ib_args_put(&args, key[i]) != IB_OK ||
		    !send_command_args(c, first, NULL, NULL, tr.cmd_id[i], "ib.fetch",
				       (struct ib_slice){ args.ptr, args.len }, 0, NULL))
			goto out;
	}
	hn_peer_free(first);
	first = NULL;
	cf_pause(c, 100);           /* the IUT sees the link go */
	if (!cf_link_child(c, big) ||
	    !cf_wait(c, both_results, &tr, 1000 + 5000, "the RESULTs of ib.fetch reach T0's new link"))
		goto out;
	if (!result_of(big, tr.cmd_id[0], &m) ||
	    !cf_expect(c, m.u.result.status == IB_STATUS_FAILED && m.u.result.output.len > 0 &&
			       m.u.result.output.len <= 255, "CMD-18",
		       "without a route to the asker every open link counts: a RESULT too big for "
		       "one of them is `failed`, with a reason",
		       "ib.fetch of the big item answered %s with %zu bytes",
		       ib_status_name(m.u.result.status), m.u.result.output.len))
		goto out;
	if (!result_of(big, tr.cmd_id[1], &m))
		goto out;
	cf_expect(c, m.u.result.status == IB_STATUS_OK && m.u.result.output.len == little.len &&
		  !memcmp(m.u.result.output.ptr, little.ptr, little.len), "CMD-18",
		  "only open links count: a link still waiting for HELLO does not fail a small RESULT",
		  "ib.fetch of the small item answered %s with %zu bytes",
		  ib_status_name(m.u.result.status), m.u.result.output.len);
	goto out;
harness:
	cf_harness_error(c, "cannot send PUBLISH or ib.ping");
out:
	hn_peer_free(first);
	ib_buf_free(&frame);
	ib_buf_free(&little);
	ib_buf_free(&args);
}

/* [CMD-15] ib.info of a node with a parent (T2) and a child (T0): parent= is the parent's
 * id_bot, and children= lists the child only (the parent's link is open too, but not a
 * child's). */
static void test_info_with_parent(struct cf_ctx *c)
{
	struct cf_iut_opts o = { 0 };
	struct hn_peer *parent, *p;
	struct ib_buf out = { 0 };
	char addr[IB_MAX_ADDR], want[65], got[300] = "?";
	uint16_t status;

	if (!cf_iut_start_toward(c, &o, 2, &parent, addr) || !cf_accept_child(c, parent, NULL, 0) ||
	    !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !cf_command(c, p, NULL, "ib.info", NULL, 0, &status, &out) ||
	    !cf_expect(c, status == IB_STATUS_OK, "CMD-3", "ib.info answers ok", "status %s",
		       ib_status_name(status)))
		goto out;
	ib_id_to_hex(cf_tester_id(c, 2), want);
	info_value(&out, "parent", got, sizeof got);
	if (!cf_expect(c, !strcmp(got, want), "CMD-15", "parent= the parent's id_bot",
		       "parent=%s, expected %s", got, want))
		goto out;
	ib_id_to_hex(cf_tester_id(c, 0), want);
	snprintf(got, sizeof got, "?");
	info_value(&out, "children", got, sizeof got);
	cf_expect(c, !strcmp(got, want), "CMD-15",
		  "children= the child only, not the parent", "children=%s, expected %s", got,
		  want);
out:
	ib_buf_free(&out);
}

/* [CMD-15] keys_digest of a keyring of two keys, the IUT's and T<k>'s, where k is a tester
 * whose key and id_bot sort in opposite orders against the IUT's: the digest sorts the raw
 * keys, whatever order the node keeps them in. */
static void test_info_digest_two_keys(struct cf_ctx *c)
{
	const uint8_t *own = ib_pubkey_raw(cf_iut_key(c)), *raw[2];
	struct cf_iut_opts o = { .untrusted_refs = (1u << CF_REFS) - 1 };
	uint8_t both[2 * IB_PUBKEY_LEN], md[32];
	char want[65], got[300] = "?";
	struct ib_buf out = { 0 };
	struct hn_peer *p;
	unsigned md_len = 0;
	uint16_t status;
	int k = -1;

	for (int i = 0; i < CF_TESTERS && k < 0; i++) {
		const struct ib_pubkey *t = ib_identity_pubkey(cf_tester_identity(c, i));
		bool raw_below = memcmp(ib_pubkey_raw(t), own, IB_PUBKEY_LEN) < 0;
		bool id_below = ib_id_compare(ib_pubkey_id(t), cf_iut_id(c)) < 0;

		if (raw_below != id_below)
			k = i;
	}
	if (k < 0) {
		cf_not_applicable(c, "no tester key sorts against the IUT's key opposite to its "
				  "id_bot (seed-dependent, 1 in 256): try another --seed");
		return;
	}
	o.untrusted_testers = ((1u << CF_TESTERS) - 1) & ~(1u << k);
	raw[0] = own;
	raw[1] = ib_pubkey_raw(ib_identity_pubkey(cf_tester_identity(c, k)));
	if (memcmp(raw[0], raw[1], IB_PUBKEY_LEN) > 0) {
		const uint8_t *x = raw[0];

		raw[0] = raw[1];
		raw[1] = x;
	}
	memcpy(both, raw[0], IB_PUBKEY_LEN);
	memcpy(both + IB_PUBKEY_LEN, raw[1], IB_PUBKEY_LEN);
	if (EVP_Digest(both, sizeof both, md, &md_len, EVP_sha256(), NULL) != 1) {
		cf_harness_error(c, "SHA-256 failed");
		return;
	}
	ib_hex_encode(md, sizeof md, want);
	if (!cf_iut_start(c, &o) || !(p = cf_peer(c, k)) || !cf_link_child(c, p) ||
	    !cf_command(c, p, NULL, "ib.info", NULL, 0, &status, &out) ||
	    !cf_expect(c, status == IB_STATUS_OK, "CMD-3", "ib.info answers ok", "status %s",
		       ib_status_name(status)))
		goto out;
	info_value(&out, "keys_digest", got, sizeof got);
	cf_expect(c, !strcmp(got, want), "CMD-15",
		  "keys_digest of two keys: SHA-256 of the raw keys in byte order (not in the "
		  "order of their id_bots)", "keys_digest=%s, expected %s", got, want);
out:
	ib_buf_free(&out);
}

/* [CMD-16] A mode = client root accepts children, and still shows role=client. */
static void test_info_role_client(struct cf_ctx *c)
{
	struct cf_iut_opts o = { .client_mode = true };
	struct ib_buf out = { 0 };
	struct hn_peer *p;
	uint16_t status;
	char role[64] = "", parent[64] = "?";

	if (!cf_iut_start(c, &o) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !cf_command(c, p, NULL, "ib.info", NULL, 0, &status, &out) ||
	    !cf_expect(c, status == IB_STATUS_OK, "CMD-3", "ib.info answers ok", "status %s",
		       ib_status_name(status)))
		goto out;
	info_value(&out, "role", role, sizeof role);
	info_value(&out, "parent", parent, sizeof parent);
	cf_expect(c, !strcmp(role, "client") && !parent[0], "CMD-16",
		  "a mode = client root shows role=client (its mode) and an empty parent=",
		  "role=%s parent=%s", role, parent);
out:
	ib_buf_free(&out);
}

/* [CMD-18] T0 (max_message 16 MiB) publishes an item of 70,000 bytes, which the IUT stores
 * ([DATA-11]); T1 announced max_message 65,536, which no RESULT carrying that item fits.
 * ib.get from T0 answers ok with T0's frame, whole; ib.get and ib.fetch from T1 answer
 * failed with a short reason, and T1's link stays open. */
static void test_result_too_big(struct cf_ctx *c)
{
	struct ib_buf frame = { 0 }, out = { 0 };
	struct hn_peer *big, *small;
	struct ib_slice key;
	char name[64];
	uint16_t status = 0;

	snprintf(name, sizeof name, "cmd.too-big.%016llx", (unsigned long long)cf_rand(c));
	key = (struct ib_slice){ (const uint8_t *)name, strlen(name) };
	if (!cf_iut_start(c, NULL) || !(big = cf_peer(c, 0)) || !(small = cf_peer(c, 1)))
		goto out;
	hn_peer_set_max_message(small, IB_MAX_MESSAGE_MIN);
	if (!cf_link_child(c, big) || !cf_link_child(c, small) ||
	    !publish_big(c, big, key, &frame))
		goto out;
	if (!cf_command(c, big, NULL, "ib.get", &key, 1, &status, &out) ||
	    !cf_expect(c, status == IB_STATUS_OK && out.len == frame.len &&
		       !memcmp(out.ptr, frame.ptr, frame.len), "CMD-18",
		       "a RESULT that fits the asker's link is sent whole: ib.get from T0 answers "
		       "ok with the 70,000-byte item's frame",
		       "it answered %s with %zu bytes (the frame has %zu)", ib_status_name(status),
		       out.len, frame.len))
		goto out;
	for (int i = 0; i < 2; i++) {
		const char *cmd = i ? "ib.fetch" : "ib.get";

		if (!cf_command(c, small, NULL, cmd, &key, 1, &status, &out) ||
		    !cf_expect(c, status == IB_STATUS_FAILED && out.len > 0 && out.len <= 255 &&
				   ib_utf8_valid(out.ptr, out.len) && !memchr(out.ptr, 0, out.len),
			       "CMD-18",
			       "a RESULT too big for the asker's link is replaced by failed with a "
			       "reason: 1 to 255 bytes of text (UTF-8, no NUL)",
			       "%s from T1 (max_message 65,536) answered %s with %zu bytes", cmd,
			       ib_status_name(status), out.len))
			goto out;
	}
	cf_expect(c, !hn_peer_closed(small), "FLOOD-13",
		  "the link whose max_message is small stays open", "the IUT closed it");
out:
	ib_buf_free(&frame);
	ib_buf_free(&out);
}

const struct cf_test cf_tests_cmd[] = {
	{ "cmd.one-result", "CMD-1 CMD-3 CMD-17", 0, test_one_result,
	  "answer each COMMAND (also one sent to everyone) with exactly one RESULT, same cmd_id, "
	  "directed to its origin; ib.ping answers the four bytes `pong`" },
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
	{ "cmd.fresh-bounds", "CMD-6 CMD-8", CF_NEEDS_CONFIG, test_fresh_bounds,
	  "run COMMANDs 299.1 s old and exactly 300 s ahead; drop those 300.9 s old or ahead: "
	  "the bound is inclusive and exact to the microsecond" },
	{ "cmd.stale-keeps-window", "CMD-6 CMD-9", 0, test_stale_keeps_window,
	  "a COMMAND dropped as stale (300.9 s ahead) does not move its origin's anti-replay "
	  "window: its next COMMAND, stamped now, runs" },
	{ "cmd.cmd-id-reused", "CMD-9 FLOOD-3", 0, test_cmd_id_reused,
	  "run a second COMMAND with the cmd_id of an earlier one; do not run the same frame "
	  "twice" },
	{ "cmd.status-order", "CMD-10 CMD-2 CMD-3 CMD-4", CF_NEEDS_CONFIG, test_status_order,
	  "judge the name before the arguments: denied, then unknown, then bad_args" },
	{ "cmd.key-args", "CMD-11", 0, test_key_args,
	  "answer bad_args to ib.get, ib.fetch and ib.publish with an empty, 256-byte, NUL or "
	  "non-UTF-8 KEY, and run nothing; a 255-byte KEY is valid" },
	{ "cmd.unassigned-status", "CMD-12", 0, test_unassigned_status,
	  "forward RESULTs of statuses 6, 4242 and 65535 unchanged: they are valid" },
	{ "cmd.standard-statuses", "CMD-13 CMD-3", 0, test_standard_statuses,
	  "each standard command, ib.publish included, answers only its statuses: never unknown" },
	{ "cmd.names-exact", "CMD-14 CMD-2", 0, test_names_exact,
	  "compare names byte for byte: IB.PING, Ib.Info, `ib.ping ` are not listed: denied" },
	{ "cmd.info-format", "CMD-15 IFACE-6", CF_NEEDS_CONFIG, test_info_format,
	  "ib.info: seven lines in order, each ending in \\n; exact values; keys_digest counts "
	  "the own key once when authorized/ holds it too" },
	{ "cmd.result-no-route", "CMD-18", CF_NEEDS_CONFIG, test_result_no_route,
	  "without a route to the asker (its link went and came back), a RESULT too big for "
	  "any open link is `failed`" },
	{ "cmd.info-with-parent", "CMD-15", CF_NEEDS_CONFIG, test_info_with_parent,
	  "ib.info of a node with a parent and a child: parent= the parent, children= the child "
	  "only" },
	{ "cmd.info-digest-two-keys", "CMD-15", CF_NEEDS_CONFIG, test_info_digest_two_keys,
	  "keys_digest of a keyring of two keys sorts the raw keys, not their id_bots" },
	{ "cmd.info-role-client", "CMD-16", CF_NEEDS_CONFIG, test_info_role_client,
	  "a mode = client root shows role=client in ib.info" },
	{ "cmd.result-too-big", "CMD-18 CMD-1 DATA-11", 0, test_result_too_big,
	  "ib.get of a 70,000-byte item answers ok to a child whose link takes it, and failed with "
	  "a short reason to one that announced max_message 65,536; so does ib.fetch" },
	{ NULL, NULL, 0, NULL, NULL }
};
