/*
 * command.c - commands between bots (spec section 15): running what `commands` allows and
 * answering RESULT, the standard ib.* set, and the commands this node sends.
 */
#include "node_internal.h"
#include "reader.h"
#include "store.h"

#include <openssl/evp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CMD_MAX_ARGS 16u

#define RESULT_FIXED_LEN (IB_MSG_HEADER_LEN + 8u + 2u + 3u) /* cmd_id, status, output's length */

#define RESULT_REASON_CAP 200u

/* [CMD-18] Whether an output of len bytes fits a RESULT toward `to` ([FRAME-7]); when it
 * does not, the reason, logged at a bounded rate, in reason[RESULT_REASON_CAP]. */
static bool result_fits(struct ib_node *n, const ib_id *to, size_t len, char *reason)
{
	uint32_t room = flood_room_toward(n, to);

	/* FAULT big-result-failed-everywhere, breaks [CMD-18]: a RESULT above the smallest
	 * max_message any node may announce is failed, whatever the asker's link takes. */
	if (IB_FAULT(n, big_result_failed_everywhere))
		room = IB_MAX_MESSAGE_MIN;
	/* FAULT big-result-sent, breaks [CMD-18]: sent as it is, [FLOOD-13] keeps it off. */
	if (len <= room - RESULT_FIXED_LEN || IB_FAULT(n, big_result_sent))
		return true;
	snprintf(reason, RESULT_REASON_CAP,
		 "the answer (%zu bytes) does not fit the max_message (%" PRIu32 ") of the link "
		 "to the asker\n", len + RESULT_FIXED_LEN, room);
	node_log_every(n, IB_LOG_WARN, IB_CNT_TOO_BIG_FOR_PEER, "an answer of %zu bytes does not "
		       "fit the asker's link (max_message %" PRIu32 "): failed instead",
		       len + RESULT_FIXED_LEN, room);
	return false;
}

/*
 * [CMD-1][CMD-18] One RESULT to `to`, always: one that a link it would leave on could not
 * take ([FRAME-7]) is replaced by `failed` with a short reason, which fits any link.
 */
int cmd_send_result(struct ib_node *n, const ib_id *to, uint64_t cmd_id, uint16_t status,
		    struct ib_slice output)
{
	char reason[RESULT_REASON_CAP];
	struct ib_msg m;

	if (!result_fits(n, to, output.len, reason)) {
		status = IB_STATUS_FAILED;
		output = (struct ib_slice){ (const uint8_t *)reason, strlen(reason) };
	}
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_RESULT;
	m.h.dest = *to;
	m.u.result = (struct ib_result){ cmd_id, status, output };
	return flood_originate(n, &m);
}

/* [CMD-14] a command name is its bytes: no case folding, no trimming. */
static bool name_is(const struct ib_node *n, struct ib_slice name, const char *text)
{
	size_t len = strlen(text);

	if (name.len != len)
		return false;
	/* FAULT command-names-fold-case, breaks [CMD-14]: IB.PING is ib.ping. */
	if (IB_FAULT(n, command_names_fold_case))
		return strncasecmp((const char *)name.ptr, text, len) == 0;
	return memcmp(name.ptr, text, len) == 0;
}

/* [CMD-2] only what the owner listed runs. */
static bool allowed(const struct ib_node *n, struct ib_slice name)
{
	if (IB_FAULT(n, run_denied_commands)) /* FAULT run-denied-commands, breaks [CMD-2] */
		return true;
	for (size_t i = 0; i < n->cfg.command_count; i++)
		if (name_is(n, name, n->cfg.commands[i]))
			return true;
	return false;
}

/* [CMD-11] a KEY argument is a key a PUBLISH can carry (section 7.5, [MSG-8]). */
static bool key_valid(struct ib_slice key)
{
	return key.len >= 1 && key.len <= IB_MAX_STRING && ib_utf8_valid(key.ptr, key.len);
}

static int put_text(struct ib_buf *out, const char *fmt, const char *value)
{
	char line[1024];
	int len = snprintf(line, sizeof line, fmt, value);

	return len < 0 ? IB_ERR_RANGE : ib_buf_put(out, line, (size_t)len);
}

/* ib.info: key=value lines (spec section 15). */
static uint16_t run_info(struct ib_node *n, struct ib_buf *out)
{
	char hex[2 * IB_ID_LEN + 1], digest_hex[65];
	uint8_t digest[32];
	ib_id parent;
	bool first = true, root = !ib_node_parent(n, &parent);
	bool server = n->cfg.mode == IB_ROLE_SERVER;
	int err;

	/* FAULT info-role-behaviour, breaks [CMD-16]: a root says server, as it accepts children. */
	if (IB_FAULT(n, info_role_behaviour))
		server = server || root;
	/* [CMD-15] seven lines, in the spec's order, each ending in a newline. */
	ib_id_to_hex(ib_node_id(n), hex);
	err = put_text(out, "name=%s\n", n->cfg.name);
	err = err ? err : put_text(out, "id=%s\n", hex);
	/* [CMD-16] the mode setting, as in HELLO, not what a root does meanwhile. */
	err = err ? err : put_text(out, "role=%s\n", server ? "server" : "client");
	if (!root)
		ib_id_to_hex(&parent, hex);
	else
		hex[0] = '\0';
	err = err ? err : put_text(out, "parent=%s\n", hex);
	err = err ? err : ib_buf_put(out, "children=", 9);
	for (const struct ib_link *l = n->links; !err && l; l = l->next) {
		if (!link_open(l) || !node_is_child(n, l))
			continue;
		ib_id_to_hex(&l->peer_id, hex);
		err = put_text(out, first ? "%s" : ",%s", hex);
		first = false;
	}
	err = err ? err : ib_buf_put(out, "\n", 1);
	err = err ? err : put_text(out, "software=%s\n", IB_SOFTWARE_NAME "/" IB_SOFTWARE_VERSION);
	err = err ? err : ib_keyring_digest(n->kr, digest);
	if (!err) {
		ib_hex_encode(digest, sizeof digest, digest_hex);
		/* FAULT info-no-final-newline, breaks [CMD-15]: lines separated, not ended. */
		err = put_text(out, IB_FAULT(n, info_no_final_newline) ? "keys_digest=%s"
								       : "keys_digest=%s\n",
			       digest_hex);
	}
	if (!err)
		return IB_STATUS_OK;
	/* Seven lines or none: a partial answer would be read as a short one. */
	ib_buf_reset(out);
	return IB_STATUS_FAILED;
}

static uint16_t run_get(struct ib_node *n, const ib_id *from, struct ib_slice key,
			struct ib_buf *out)
{
	char reason[RESULT_REASON_CAP];
	struct ib_item item;

	if (ib_store_get(n->store, key, &item) != IB_OK)
		return IB_STATUS_NOT_FOUND;
	/* [CMD-18] An item the asker's link cannot take is not copied to be refused: asked
	 * again and again, a frame of 16 MB would cost a copy each time. */
	if (!result_fits(n, from, item.frame.len, reason)) {
		ib_buf_put(out, reason, strlen(reason));
		return IB_STATUS_FAILED;
	}
	/* The writer's own frame, so the asker can check it ([CMD-3] rationale). */
	return ib_buf_put(out, item.frame.ptr, item.frame.len) ? IB_STATUS_FAILED : IB_STATUS_OK;
}

/* Why ib.publish failed, for people. */
static void put_publish_failure(const struct ib_node *n, struct ib_slice key, int err,
				struct ib_buf *out)
{
	struct ib_item item;

	if (err == IB_ERR_FULL && ib_store_get(n->store, key, &item) == IB_OK &&
	    item.version == UINT64_MAX)
		put_text(out, "%s\n", "the key is at version 2^64-1: no version is left");
	else if (err == IB_ERR_FULL) /* [DATA-16] only its own share can keep it out */
		put_text(out, "the store refused it: it would pass %s\n", ib_store_refused(n->store));
	else
		put_text(out, "%s\n", ib_strerror(err));
}

static uint16_t run_publish(struct ib_node *n, struct ib_slice key, struct ib_slice value,
			    struct ib_buf *out)
{
	struct ib_item item;
	int err;

	if (key.len == 0 || key.len > IB_MAX_STRING)
		return IB_STATUS_BAD_ARGS;
	err = ib_node_publish(n, key, value, NULL);
	/* [DATA-10] a VALUE above max_value (or a bad KEY) does not fit: nothing was sent. */
	if (err == IB_ERR_RANGE || err == IB_ERR_BAD_STRING)
		return IB_STATUS_BAD_ARGS;
	if (!err)
		err = ib_store_get(n->store, key, &item);
	if (err) {
		/* [DATA-9] no version left (or no room): failed, with the reason. */
		put_publish_failure(n, key, err, out);
		return IB_STATUS_FAILED;
	}
	return ib_buf_put(out, item.frame.ptr, item.frame.len) ? IB_STATUS_FAILED : IB_STATUS_OK;
}

/* ib.fetch answers when its election ends. */
struct fetch_reply {
	ib_id to;
	uint64_t cmd_id;
};

static void fetch_done(struct ib_node *n, int status, const struct ib_item *item,
		       const struct ib_election_report *report, void *ctx)
{
	struct fetch_reply *r = ctx;
	struct ib_slice none = { NULL, 0 };

	(void)report;
	if (status == IB_OK)
		cmd_send_result(n, &r->to, r->cmd_id, IB_STATUS_OK, item->frame);
	else
		cmd_send_result(n, &r->to, r->cmd_id,
				status == IB_ERR_NOT_FOUND ? IB_STATUS_NOT_FOUND : IB_STATUS_FAILED,
				none);
	free(r);
}

/* Starts ib.fetch: IB_OK when the RESULT will come from fetch_done. */
static int run_fetch(struct ib_node *n, const ib_id *from, uint64_t cmd_id, struct ib_slice key)
{
	struct fetch_reply *r = malloc(sizeof *r);
	int err;

	if (!r)
		return IB_ERR_NOMEM;
	r->to = *from;
	r->cmd_id = cmd_id;
	err = ib_node_fetch(n, key, fetch_done, r);
	if (err)
		free(r);
	return err;
}

static const struct registered_cmd *registered(const struct ib_node *n, struct ib_slice name)
{
	for (const struct registered_cmd *r = n->registered; r; r = r->next)
		if (name_is(n, name, r->name))
			return r;
	return NULL;
}

static const char *const standard[] = { "ib.ping", "ib.info", "ib.get", "ib.fetch", "ib.publish" };

/* [CMD-3] the standard commands, and those the embedding program registered. */
static bool implemented(const struct ib_node *n, struct ib_slice name)
{
	/* FAULT publish-unknown, breaks [CMD-13]: ib.publish, listed, answers unknown. */
	if (IB_FAULT(n, publish_unknown) && name_is(n, name, "ib.publish"))
		return false;
	for (size_t i = 0; i < sizeof standard / sizeof standard[0]; i++)
		if (name_is(n, name, standard[i]))
			return true;
	return registered(n, name) != NULL;
}

/* [CMD-4][CMD-11] a KEY alone, and a valid one. FAULT get-bad-key-not-found, breaks
 * [CMD-11]: ib.get looks any KEY up, so a key no PUBLISH can carry is not_found. */
static bool key_args(const struct ib_node *n, struct ib_slice name, const struct ib_slice *args,
		     size_t nargs, size_t want)
{
	if (nargs != want)
		return false;
	if (IB_FAULT(n, get_bad_key_not_found) && name_is(n, name, "ib.get"))
		return true;
	return key_valid(args[0]);
}

/* Runs an implemented command whose arguments decoded; IB_STATUS_* or -1 when the answer
 * comes later (ib.fetch). */
static int run(struct ib_node *n, const ib_id *from, const struct ib_command *c,
	       const struct ib_slice *args, size_t nargs, struct ib_buf *out)
{
	const struct registered_cmd *r;
	int err;

	if (name_is(n, c->name, "ib.ping")) {
		/* [CMD-17] four bytes. FAULT ping-newline, breaks [CMD-17]: "pong\n". */
		size_t len = IB_FAULT(n, ping_newline) ? 5 : 4;

		return nargs ? IB_STATUS_BAD_ARGS
			     : (ib_buf_put(out, "pong\n", len) ? IB_STATUS_FAILED : IB_STATUS_OK);
	}
	if (name_is(n, c->name, "ib.info"))
		return nargs ? IB_STATUS_BAD_ARGS : run_info(n, out);
	if (name_is(n, c->name, "ib.get"))
		return !key_args(n, c->name, args, nargs, 1) ? IB_STATUS_BAD_ARGS
							      : run_get(n, from, args[0], out);
	if (name_is(n, c->name, "ib.publish"))
		return !key_args(n, c->name, args, nargs, 2)
			       ? IB_STATUS_BAD_ARGS
			       : run_publish(n, args[0], args[1], out);
	if (name_is(n, c->name, "ib.fetch")) {
		if (!key_args(n, c->name, args, nargs, 1))
			return IB_STATUS_BAD_ARGS;
		err = run_fetch(n, from, c->cmd_id, args[0]);
		if (err == IB_ERR_FULL) /* [ELECT-17] */
			put_text(out, "%s\n", "busy: this node runs as many elections as it may; "
				 "ask again later");
		return err ? IB_STATUS_FAILED : -1;
	}
	r = registered(n, c->name);
	if (r)
		return r->fn(n, from, args, nargs, out, r->ctx);
	return IB_STATUS_UNKNOWN; /* not reached: implemented() said it is */
}

/* The status a COMMAND gets before it runs ([CMD-10]: the name, then the arguments), or -1
 * when it may run. */
static int judge(struct ib_node *n, const struct ib_command *c, bool args_ok)
{
	/* FAULT args-before-name, breaks [CMD-10]: bad arguments of a denied name: bad_args. */
	if (IB_FAULT(n, args_before_name) && !args_ok)
		return IB_STATUS_BAD_ARGS;
	if (!allowed(n, c->name))
		return IB_STATUS_DENIED; /* [CMD-2][CMD-5] it does not run */
	/* FAULT args-before-unknown, breaks [CMD-10]: bad arguments of a listed name the node
	 * lacks: bad_args. */
	if (IB_FAULT(n, args_before_unknown) && !args_ok)
		return IB_STATUS_BAD_ARGS;
	if (!implemented(n, c->name))
		return IB_STATUS_UNKNOWN; /* [CMD-3] allowed, but not implemented here */
	if (!args_ok)
		return IB_STATUS_BAD_ARGS; /* [CMD-4] */
	return -1;
}

#ifdef IB_FAULTS
/* The fault dedupe-cmd-id's memory: whether cmd_id is that of the COMMAND before. */
static bool repeated_cmd_id(struct ib_node *n, uint64_t cmd_id)
{
	bool repeated = n->fault_cmd_id == cmd_id;

	n->fault_cmd_id = cmd_id;
	return repeated;
}
#else
static bool repeated_cmd_id(struct ib_node *n, uint64_t cmd_id)
{
	(void)n;
	(void)cmd_id;
	return false;
}
#endif

/* [CMD-1] one RESULT per COMMAND, to its origin, with its cmd_id. */
void cmd_received(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m)
{
	const struct ib_command *c = &m->u.command;
	struct ib_slice args[CMD_MAX_ARGS];
	struct ib_buf out = { 0 };
	size_t nargs = 0;
	bool args_ok;
	int status;

	/* FAULT dedupe-cmd-id, breaks [CMD-9]: a COMMAND with the cmd_id of the one before is
	 * taken for a copy of it and ignored. */
	if (IB_FAULT(n, dedupe_cmd_id) && repeated_cmd_id(n, c->cmd_id))
		return;
	args_ok = ib_args_split(c->args, args, CMD_MAX_ARGS, &nargs) == IB_OK;
	status = judge(n, c, args_ok);
	/* [LINK-21] The link toward the asker is backed up: not run, and a small answer. */
	if (status < 0 && flood_busy_toward(n, &f->origin, "COMMAND")) {
		status = IB_STATUS_FAILED;
		put_text(&out, "%s\n", "busy: the link toward you is backed up; ask again later");
	}
	if (status < 0)
		status = run(n, &f->origin, c, args, nargs, &out);
	node_log(n, IB_LOG_DEBUG, "command %.*s from %02x%02x..: %s", (int)c->name.len,
		 (const char *)c->name.ptr, f->origin.b[0], f->origin.b[1],
		 status < 0 ? "running" : ib_status_name((uint16_t)status));
	if (status >= 0)
		cmd_send_result(n, &f->origin, c->cmd_id, (uint16_t)status,
				(struct ib_slice){ out.ptr, out.len });
	ib_buf_free(&out);
}

static void pending_remove(struct ib_node *n, struct pending_cmd *p)
{
	for (struct pending_cmd **q = &n->pending; *q; q = &(*q)->next) {
		if (*q == p) {
			*q = p->next;
			n->npending--;
			break;
		}
	}
	ib_loop_timer_cancel(n->loop, p->timer);
	free(p);
}

static void pending_expired(struct ib_loop *loop, void *arg)
{
	struct pending_cmd *p = arg;
	struct ib_node *n = p->node;
	ib_result_fn fn = p->fn;
	void *ctx = p->ctx;

	(void)loop;
	p->timer = 0;
	pending_remove(n, p);
	fn(n, NULL, 0, (struct ib_slice){ NULL, 0 }, ctx);
}

void cmd_result_received(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m)
{
	const struct ib_result *r = &m->u.result;

	for (struct pending_cmd *p = n->pending; p; p = p->next) {
		if (p->cmd_id != r->cmd_id)
			continue;
		if (!ib_id_is_zero(&p->dest) && !ib_id_equal(&p->dest, &f->origin))
			break;
		p->fn(n, &f->origin, r->status, r->output, p->ctx);
		return;
	}
	node_count(n, IB_CNT_LATE_RESULT); /* [CMD-7] nobody waits for it any more */
}

int ib_node_command(struct ib_node *n, const ib_id *dest, const char *name,
		    const struct ib_slice *args, size_t nargs, uint32_t timeout_ms,
		    ib_result_fn fn, void *ctx)
{
	struct pending_cmd *p = NULL;
	struct ib_buf blob = { 0 };
	struct ib_msg m;
	int err = IB_OK;

	/* Section 18: commands in flight are bounded; past it nothing is sent. */
	if (n->npending >= IB_MAX_COMMANDS_IN_FLIGHT) {
		node_count(n, IB_CNT_BUSY);
		node_log_every(n, IB_LOG_INFO, IB_CNT_BUSY, "busy: a command not sent: %u wait "
			       "for their results", IB_MAX_COMMANDS_IN_FLIGHT);
		return IB_ERR_FULL;
	}
	p = calloc(1, sizeof *p);
	if (!p)
		return IB_ERR_NOMEM;

	for (size_t i = 0; !err && i < nargs; i++)
		err = ib_args_put(&blob, args[i]);
	if (err)
		goto fail;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_COMMAND;
	if (dest)
		m.h.dest = *dest;
	/* cmd_ids start at a random point so a restarted node does not reuse recent ones. */
	if (n->next_cmd_id == 0)
		n->next_cmd_id = node_random(n) >> 16 | 1;
	m.u.command = (struct ib_command){ n->next_cmd_id++,
					   { (const uint8_t *)name, strlen(name) },
					   { blob.ptr, blob.len } };
	err = flood_originate(n, &m);
	if (err)
		goto fail;
	p->node = n;
	p->cmd_id = m.u.command.cmd_id;
	p->dest = m.h.dest;
	p->fn = fn;
	p->ctx = ctx;
	err = ib_loop_timer_add(n->loop, (uint64_t)timeout_ms * 1000, pending_expired, p, &p->timer);
	if (err)
		goto fail;
	p->next = n->pending;
	n->pending = p;
	n->npending++;
	ib_buf_free(&blob);
	return IB_OK;
fail:
	ib_buf_free(&blob);
	free(p);
	return err;
}

int ib_node_register_command(struct ib_node *n, const char *name, ib_command_fn fn, void *ctx)
{
	struct registered_cmd *r;

	if (!name || !*name || strlen(name) > IB_MAX_STRING || !fn)
		return IB_ERR_INVALID_ARG;
	r = calloc(1, sizeof *r);
	if (!r)
		return IB_ERR_NOMEM;
	snprintf(r->name, sizeof r->name, "%s", name);
	r->fn = fn;
	r->ctx = ctx;
	r->next = n->registered;
	n->registered = r;
	return IB_OK;
}

void cmd_free_all(struct ib_node *n)
{
	while (n->pending)
		pending_remove(n, n->pending);
	while (n->registered) {
		struct registered_cmd *r = n->registered;

		n->registered = r->next;
		free(r);
	}
}
