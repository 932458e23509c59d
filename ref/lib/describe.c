/*
 * describe.c - a decoded message as JSON, field names as in the spec (section 7).
 *
 * The golden vectors record what a frame decodes to in this form, and reports show frames in
 * it, so an implementer in another language can compare field by field.
 */
#include "interbot.h"

#include "json_util.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

json_t *ib_json_hex(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);
	json_t *j;

	if (!s)
		return NULL;
	ib_hex_encode(p, n, s);
	j = json_string(s);
	free(s);
	return j;
}

json_t *ib_json_id(const ib_id *id)
{
	return ib_json_hex(id->b, IB_ID_LEN);
}

json_t *ib_json_u64(uint64_t v)
{
	char s[24];

	snprintf(s, sizeof s, "%" PRIu64, v);
	return json_string(s);
}

/* Strings decoded from the wire are UTF-8 without NUL ([MSG-8]). */
static json_t *text_of(struct ib_slice s)
{
	return json_stringn((const char *)s.ptr, s.len);
}

static json_t *path_of(struct ib_path p)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < p.count; i++)
		json_array_append_new(a, ib_json_hex(p.ids + (size_t)i * IB_ID_LEN, IB_ID_LEN));
	return a;
}

static json_t *body_of(const struct ib_msg *m)
{
	const uint8_t t = m->h.type;

	switch (t) {
	case IB_MSG_HELLO:
		return json_pack("{s:i, s:I, s:I, s:o, s:o}", "role", m->u.hello.role,
				 "keepalive_interval_ms", (json_int_t)m->u.hello.keepalive_interval_ms,
				 "max_message", (json_int_t)m->u.hello.max_message,
				 "name", text_of(m->u.hello.name), "path", path_of(m->u.hello.path));
	case IB_MSG_PATH:
		return json_pack("{s:o}", "path", path_of(m->u.path));
	case IB_MSG_PING:
	case IB_MSG_PONG:
		return json_pack("{s:o}", "nonce", ib_json_hex(m->u.ping.nonce.ptr, m->u.ping.nonce.len));
	case IB_MSG_ERROR:
		return json_pack("{s:i, s:s, s:o}", "code", m->u.error.code, "code_name",
				 ib_error_code_name(m->u.error.code), "reason",
				 text_of(m->u.error.reason));
	case IB_MSG_PUBLISH:
		return json_pack("{s:o, s:o, s:o}", "key", text_of(m->u.publish.key), "version",
				 ib_json_u64(m->u.publish.version), "value",
				 ib_json_hex(m->u.publish.value.ptr, m->u.publish.value.len));
	case IB_MSG_QUERY:
		return json_pack("{s:o, s:o}", "query_id", ib_json_u64(m->u.query.query_id), "key",
				 text_of(m->u.query.key));
	case IB_MSG_OFFER:
		return json_pack("{s:o, s:o, s:o, s:o}", "query_id", ib_json_u64(m->u.offer.query_id),
				 "key", text_of(m->u.offer.key), "version",
				 ib_json_u64(m->u.offer.version), "writer", ib_json_id(&m->u.offer.writer));
	case IB_MSG_SELECT:
		return json_pack("{s:o, s:o, s:o}", "query_id", ib_json_u64(m->u.select.query_id),
				 "key", text_of(m->u.select.key), "version",
				 ib_json_u64(m->u.select.version));
	case IB_MSG_TRANSFER:
		return json_pack("{s:o, s:o}", "query_id", ib_json_u64(m->u.transfer.query_id), "frame",
				 ib_json_hex(m->u.transfer.frame.ptr, m->u.transfer.frame.len));
	case IB_MSG_COMMAND:
		return json_pack("{s:o, s:o, s:o}", "cmd_id", ib_json_u64(m->u.command.cmd_id), "name",
				 text_of(m->u.command.name), "args",
				 ib_json_hex(m->u.command.args.ptr, m->u.command.args.len));
	case IB_MSG_RESULT:
		return json_pack("{s:o, s:i, s:s, s:o}", "cmd_id", ib_json_u64(m->u.result.cmd_id),
				 "status", m->u.result.status, "status_name",
				 ib_status_name(m->u.result.status), "output",
				 ib_json_hex(m->u.result.output.ptr, m->u.result.output.len));
	case IB_MSG_ANNOUNCE:
		return json_pack("{s:o, s:i, s:o, s:o}", "parent", ib_json_id(&m->u.announce.parent),
				 "role", m->u.announce.role, "name", text_of(m->u.announce.name),
				 "software", text_of(m->u.announce.software));
	case IB_MSG_PARTED:
		return json_pack("{s:o}", "child", ib_json_id(&m->u.parted.child));
	default:
		/* Unassigned types: only the raw body is known. */
		return json_pack("{s:o}", "raw", ib_json_hex(m->body.ptr, m->body.len));
	}
}

int ib_msg_to_json(const struct ib_msg *m, char **out)
{
	json_t *body = body_of(m);
	json_t *obj = NULL;
	int err = IB_ERR_NOMEM;

	*out = NULL;
	if (!body)
		goto out;
	obj = json_pack("{s:s, s:i, s:i, s:i, s:o, s:o, s:O}", "type",
			ib_msg_type_name(m->h.type), "type_code", m->h.type, "version",
			m->h.version, "flags", m->h.flags, "seq", ib_json_u64(m->h.seq), "dest",
			ib_json_id(&m->h.dest), "body", body);
	if (!obj)
		goto out;
	*out = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (*out)
		err = IB_OK;
out:
	json_decref(obj);
	json_decref(body);
	return err;
}
