/*
 * message.c - the message header of spec section 6 and the bodies of section 7.
 *
 * Each body has a decoder and an encoder side by side, one field per line in wire order, so
 * that the two can be read against the spec's schema and against each other. A body is
 * decoded from its own reader, which must be used up exactly ([MSG-7]). The encoders check
 * the same ranges as the decoders, so this library never writes what it would refuse.
 */
#include "reader.h"

#include <string.h>

/* Field ranges of section 7 that interbot.h does not name. */
#define KEEPALIVE_MIN_MS 100u
#define KEEPALIVE_MAX_MS 3600000u
#define KEY_MIN 1u     /* item keys, node and command names: 1 .. 255 bytes */
#define VERSION_MIN 1u /* item versions: 1 .. 2^64-1 */

/* Returns from the enclosing function when expr fails. */
#define GUARD(expr)                          \
	do {                                 \
		int guard_err_ = (expr);     \
		if (guard_err_)              \
			return guard_err_;   \
	} while (0)

/* ---- Names and classes of types, codes and statuses ------------------------------------ */

bool ib_msg_type_is_hop(uint8_t type)
{
	return type >= 0x01 && type <= 0x0f;
}

bool ib_msg_type_is_e2e(uint8_t type)
{
	return type >= 0x10 && type <= 0x7f;
}

static const char *const error_code_names[] = {
	[IB_EC_PROTOCOL_VIOLATION] = "protocol_violation",
	[IB_EC_NOT_AUTHORIZED] = "not_authorized",
	[IB_EC_LOOP_DETECTED] = "loop_detected",
	[IB_EC_TOO_BIG] = "too_big",
	[IB_EC_KEEPALIVE_TIMEOUT] = "keepalive_timeout",
	[IB_EC_REVOKED] = "revoked",
	[IB_EC_NO_CHILDREN_ACCEPTED] = "no_children_accepted",
	[IB_EC_UNSUPPORTED_VERSION] = "unsupported_version",
	[IB_EC_SHUTTING_DOWN] = "shutting_down",
	[IB_EC_DUPLICATE_IDENTITY] = "duplicate_identity",
};

/* Section 17. Unknown codes are allowed on the wire (section 7.4). */
const char *ib_error_code_name(uint16_t code)
{
	size_t n = sizeof error_code_names / sizeof error_code_names[0];

	if (code >= n || !error_code_names[code])
		return "unknown";
	return error_code_names[code];
}

static const char *const status_names[] = {
	[IB_STATUS_OK] = "ok",
	[IB_STATUS_FAILED] = "failed",
	[IB_STATUS_DENIED] = "denied",
	[IB_STATUS_UNKNOWN] = "unknown",
	[IB_STATUS_BAD_ARGS] = "bad_args",
	[IB_STATUS_NOT_FOUND] = "not_found",
};

/* Section 15. "unknown" is already status 3's name, so a status outside the table is
 * "unassigned". */
const char *ib_status_name(uint16_t status)
{
	size_t n = sizeof status_names / sizeof status_names[0];

	if (status >= n || !status_names[status])
		return "unassigned";
	return status_names[status];
}

/* ---- Field helpers: read or write one field and check its range ------------------------ */

static int read_u8_in(struct ib_reader *r, uint8_t *v, uint8_t lo, uint8_t hi)
{
	GUARD(ib_reader_u8(r, v));
	return *v >= lo && *v <= hi ? IB_OK : IB_ERR_RANGE;
}

static int read_u32_in(struct ib_reader *r, uint32_t *v, uint32_t lo, uint32_t hi)
{
	GUARD(ib_reader_u32(r, v));
	return *v >= lo && *v <= hi ? IB_OK : IB_ERR_RANGE;
}

static int read_u64_min(struct ib_reader *r, uint64_t *v, uint64_t lo)
{
	GUARD(ib_reader_u64(r, v));
	return *v >= lo ? IB_OK : IB_ERR_RANGE;
}

/* [MSG-8] through ib_reader_string, then the field's length range. */
static int read_string_in(struct ib_reader *r, struct ib_slice *s, size_t lo)
{
	GUARD(ib_reader_string(r, s));
	return s->len >= lo ? IB_OK : IB_ERR_RANGE;
}

static int read_path(struct ib_reader *r, struct ib_path *path)
{
	struct ib_slice ids;

	GUARD(read_u8_in(r, &path->count, 1, IB_MAX_PATH));
	GUARD(ib_reader_bytes(r, (size_t)path->count * IB_ID_LEN, &ids));
	path->ids = ids.ptr;
	return IB_OK;
}

static int put_u8_in(struct ib_buf *b, uint8_t v, uint8_t lo, uint8_t hi)
{
	if (v < lo || v > hi)
		return IB_ERR_RANGE;
	return ib_buf_put_u8(b, v);
}

static int put_u32_in(struct ib_buf *b, uint32_t v, uint32_t lo, uint32_t hi)
{
	if (v < lo || v > hi)
		return IB_ERR_RANGE;
	return ib_buf_put_u32(b, v);
}

static int put_u64_min(struct ib_buf *b, uint64_t v, uint64_t lo)
{
	if (v < lo)
		return IB_ERR_RANGE;
	return ib_buf_put_u64(b, v);
}

static int check_slice(struct ib_slice s)
{
	return s.ptr || s.len == 0 ? IB_OK : IB_ERR_INVALID_ARG;
}

/* [MSG-8] only strings a decoder accepts. */
static int put_string_in(struct ib_buf *b, struct ib_slice s, size_t lo)
{
	GUARD(check_slice(s));
	if (s.len < lo || s.len > IB_MAX_STRING)
		return IB_ERR_RANGE;
	if (!ib_utf8_valid(s.ptr, s.len))
		return IB_ERR_BAD_STRING;
	return ib_buf_put_string(b, s);
}

static int put_blob(struct ib_buf *b, struct ib_slice s)
{
	GUARD(check_slice(s));
	return ib_buf_put_blob(b, s);
}

static int put_path(struct ib_buf *b, const struct ib_path *path)
{
	GUARD(put_u8_in(b, path->count, 1, IB_MAX_PATH));
	if (!path->ids)
		return IB_ERR_INVALID_ARG;
	return ib_buf_put(b, path->ids, (size_t)path->count * IB_ID_LEN);
}

/* ---- Bodies (section 7), decoder and encoder of each ----------------------------------- */

/* 7.1 HELLO: role u8 | keepalive_interval_ms u32 | max_message u32 | name string | path */
static int dec_hello(struct ib_reader *r, struct ib_msg *m)
{
	struct ib_hello *h = &m->u.hello;

	GUARD(read_u8_in(r, &h->role, IB_ROLE_SERVER, IB_ROLE_CLIENT));
	GUARD(read_u32_in(r, &h->keepalive_interval_ms, KEEPALIVE_MIN_MS, KEEPALIVE_MAX_MS));
	GUARD(read_u32_in(r, &h->max_message, IB_MAX_MESSAGE_MIN, IB_MAX_MESSAGE_LIMIT));
	GUARD(read_string_in(r, &h->name, KEY_MIN));
	return read_path(r, &h->path);
}

static int enc_hello(struct ib_buf *b, const struct ib_msg *m)
{
	const struct ib_hello *h = &m->u.hello;

	GUARD(put_u8_in(b, h->role, IB_ROLE_SERVER, IB_ROLE_CLIENT));
	GUARD(put_u32_in(b, h->keepalive_interval_ms, KEEPALIVE_MIN_MS, KEEPALIVE_MAX_MS));
	GUARD(put_u32_in(b, h->max_message, IB_MAX_MESSAGE_MIN, IB_MAX_MESSAGE_LIMIT));
	GUARD(put_string_in(b, h->name, KEY_MIN));
	return put_path(b, &h->path);
}

/* 7.2 PATH: path_count u8 | path[path_count] id */
static int dec_path(struct ib_reader *r, struct ib_msg *m)
{
	return read_path(r, &m->u.path);
}

static int enc_path(struct ib_buf *b, const struct ib_msg *m)
{
	return put_path(b, &m->u.path);
}

/* 7.3 PING, PONG: nonce_length u8 | nonce[nonce_length] */
static int dec_nonce(struct ib_reader *r, struct ib_msg *m)
{
	uint8_t n;

	GUARD(read_u8_in(r, &n, IB_NONCE_MIN, IB_NONCE_MAX));
	return ib_reader_bytes(r, n, &m->u.ping.nonce);
}

static int enc_nonce(struct ib_buf *b, const struct ib_msg *m)
{
	struct ib_slice nonce = m->u.ping.nonce;

	GUARD(check_slice(nonce));
	if (nonce.len < IB_NONCE_MIN || nonce.len > IB_NONCE_MAX)
		return IB_ERR_RANGE;
	GUARD(ib_buf_put_u8(b, (uint8_t)nonce.len));
	return ib_buf_put(b, nonce.ptr, nonce.len);
}

/* 7.4 ERROR: code u16 | reason string (any code; reason may be empty) */
static int dec_error(struct ib_reader *r, struct ib_msg *m)
{
	GUARD(ib_reader_u16(r, &m->u.error.code));
	return read_string_in(r, &m->u.error.reason, 0);
}

static int enc_error(struct ib_buf *b, const struct ib_msg *m)
{
	GUARD(ib_buf_put_u16(b, m->u.error.code));
	return put_string_in(b, m->u.error.reason, 0);
}

/* 7.5 PUBLISH: key string | version u64 | value blob */
static int dec_publish(struct ib_reader *r, struct ib_msg *m)
{
	struct ib_publish *p = &m->u.publish;

	GUARD(read_string_in(r, &p->key, KEY_MIN));
	GUARD(read_u64_min(r, &p->version, VERSION_MIN));
	return ib_reader_blob(r, &p->value);
}

static int enc_publish(struct ib_buf *b, const struct ib_msg *m)
{
	const struct ib_publish *p = &m->u.publish;

	GUARD(put_string_in(b, p->key, KEY_MIN));
	GUARD(put_u64_min(b, p->version, VERSION_MIN));
	return put_blob(b, p->value);
}

/* 7.6 QUERY: query_id u64 | key string */
static int dec_query(struct ib_reader *r, struct ib_msg *m)
{
	GUARD(ib_reader_u64(r, &m->u.query.query_id));
	return read_string_in(r, &m->u.query.key, KEY_MIN);
}

static int enc_query(struct ib_buf *b, const struct ib_msg *m)
{
	GUARD(ib_buf_put_u64(b, m->u.query.query_id));
	return put_string_in(b, m->u.query.key, KEY_MIN);
}

/* 7.7 OFFER: query_id u64 | key string | version u64 | writer id */
static int dec_offer(struct ib_reader *r, struct ib_msg *m)
{
	struct ib_offer *o = &m->u.offer;

	GUARD(ib_reader_u64(r, &o->query_id));
	GUARD(read_string_in(r, &o->key, KEY_MIN));
	GUARD(read_u64_min(r, &o->version, VERSION_MIN));
	return ib_reader_id(r, &o->writer);
}

static int enc_offer(struct ib_buf *b, const struct ib_msg *m)
{
	const struct ib_offer *o = &m->u.offer;

	GUARD(ib_buf_put_u64(b, o->query_id));
	GUARD(put_string_in(b, o->key, KEY_MIN));
	GUARD(put_u64_min(b, o->version, VERSION_MIN));
	return ib_buf_put(b, o->writer.b, IB_ID_LEN);
}

/* 7.8 SELECT: query_id u64 | key string | version u64 */
static int dec_select(struct ib_reader *r, struct ib_msg *m)
{
	struct ib_select *s = &m->u.select;

	GUARD(ib_reader_u64(r, &s->query_id));
	GUARD(read_string_in(r, &s->key, KEY_MIN));
	return read_u64_min(r, &s->version, VERSION_MIN);
}

static int enc_select(struct ib_buf *b, const struct ib_msg *m)
{
	const struct ib_select *s = &m->u.select;

	GUARD(ib_buf_put_u64(b, s->query_id));
	GUARD(put_string_in(b, s->key, KEY_MIN));
	return put_u64_min(b, s->version, VERSION_MIN);
}

/* 7.9 The frame of a TRANSFER is empty (no item) or exactly one whole frame. Lengths that do
 * not add up to the blob's length give ib_frame_parse's error: IB_ERR_TRUNCATED when they
 * claim more bytes than the blob holds, IB_ERR_TRAILING when fewer (IB_ERR_TOO_BIG cannot
 * happen: a u24 is never above IB_MAX_MESSAGE_LIMIT). The signature is checked later,
 * against the writer's key ([ELECT-5]); relays do not look further. */
static int check_transfer_frame(struct ib_slice frame)
{
	struct ib_frame f;

	if (frame.len == 0)
		return IB_OK;
	return ib_frame_parse(&f, frame.ptr, frame.len, IB_MAX_MESSAGE_LIMIT);
}

/* 7.9 TRANSFER: query_id u64 | frame blob */
static int dec_transfer(struct ib_reader *r, struct ib_msg *m)
{
	struct ib_transfer *t = &m->u.transfer;

	GUARD(ib_reader_u64(r, &t->query_id));
	GUARD(ib_reader_blob(r, &t->frame));
	return check_transfer_frame(t->frame);
}

static int enc_transfer(struct ib_buf *b, const struct ib_msg *m)
{
	const struct ib_transfer *t = &m->u.transfer;

	GUARD(ib_buf_put_u64(b, t->query_id));
	GUARD(check_slice(t->frame));
	GUARD(check_transfer_frame(t->frame));
	return put_blob(b, t->frame);
}

/* 7.10 COMMAND: cmd_id u64 | name string | args blob (relays do not look inside args) */
static int dec_command(struct ib_reader *r, struct ib_msg *m)
{
	struct ib_command *c = &m->u.command;

	GUARD(ib_reader_u64(r, &c->cmd_id));
	GUARD(read_string_in(r, &c->name, KEY_MIN));
	return ib_reader_blob(r, &c->args);
}

static int enc_command(struct ib_buf *b, const struct ib_msg *m)
{
	const struct ib_command *c = &m->u.command;

	GUARD(ib_buf_put_u64(b, c->cmd_id));
	GUARD(put_string_in(b, c->name, KEY_MIN));
	return put_blob(b, c->args);
}

/* 7.11 RESULT: cmd_id u64 | status u16 | output blob (any status) */
static int dec_result(struct ib_reader *r, struct ib_msg *m)
{
	struct ib_result *res = &m->u.result;

	GUARD(ib_reader_u64(r, &res->cmd_id));
	GUARD(ib_reader_u16(r, &res->status));
	return ib_reader_blob(r, &res->output);
}

static int enc_result(struct ib_buf *b, const struct ib_msg *m)
{
	const struct ib_result *res = &m->u.result;

	GUARD(ib_buf_put_u64(b, res->cmd_id));
	GUARD(ib_buf_put_u16(b, res->status));
	return put_blob(b, res->output);
}

/* 7.12 ANNOUNCE: parent id | role u8 | name string | software string */
static int dec_announce(struct ib_reader *r, struct ib_msg *m)
{
	struct ib_announce *a = &m->u.announce;

	GUARD(ib_reader_id(r, &a->parent));
	GUARD(read_u8_in(r, &a->role, IB_ROLE_SERVER, IB_ROLE_CLIENT));
	GUARD(read_string_in(r, &a->name, KEY_MIN));
	return read_string_in(r, &a->software, 0);
}

static int enc_announce(struct ib_buf *b, const struct ib_msg *m)
{
	const struct ib_announce *a = &m->u.announce;

	GUARD(ib_buf_put(b, a->parent.b, IB_ID_LEN));
	GUARD(put_u8_in(b, a->role, IB_ROLE_SERVER, IB_ROLE_CLIENT));
	GUARD(put_string_in(b, a->name, KEY_MIN));
	return put_string_in(b, a->software, 0);
}

/* 7.13 PARTED: child id */
static int dec_parted(struct ib_reader *r, struct ib_msg *m)
{
	return ib_reader_id(r, &m->u.parted.child);
}

static int enc_parted(struct ib_buf *b, const struct ib_msg *m)
{
	return ib_buf_put(b, m->u.parted.child.b, IB_ID_LEN);
}

/* ---- The type table (section 6) -------------------------------------------------------- */

struct msg_schema {
	uint8_t type;
	const char *name;
	int (*decode)(struct ib_reader *r, struct ib_msg *m);
	int (*encode)(struct ib_buf *b, const struct ib_msg *m);
};

static const struct msg_schema schemas[] = {
	{ IB_MSG_HELLO, "HELLO", dec_hello, enc_hello },
	{ IB_MSG_PATH, "PATH", dec_path, enc_path },
	{ IB_MSG_PING, "PING", dec_nonce, enc_nonce },
	{ IB_MSG_PONG, "PONG", dec_nonce, enc_nonce },
	{ IB_MSG_ERROR, "ERROR", dec_error, enc_error },
	{ IB_MSG_PUBLISH, "PUBLISH", dec_publish, enc_publish },
	{ IB_MSG_QUERY, "QUERY", dec_query, enc_query },
	{ IB_MSG_OFFER, "OFFER", dec_offer, enc_offer },
	{ IB_MSG_SELECT, "SELECT", dec_select, enc_select },
	{ IB_MSG_TRANSFER, "TRANSFER", dec_transfer, enc_transfer },
	{ IB_MSG_COMMAND, "COMMAND", dec_command, enc_command },
	{ IB_MSG_RESULT, "RESULT", dec_result, enc_result },
	{ IB_MSG_ANNOUNCE, "ANNOUNCE", dec_announce, enc_announce },
	{ IB_MSG_PARTED, "PARTED", dec_parted, enc_parted },
};

static const struct msg_schema *schema_of(uint8_t type)
{
	for (size_t i = 0; i < sizeof schemas / sizeof schemas[0]; i++)
		if (schemas[i].type == type)
			return &schemas[i];
	return NULL;
}

bool ib_msg_type_is_known(uint8_t type)
{
	return schema_of(type) != NULL;
}

/* [MSG-11] The answers of an election or a command go to one node only. */
bool ib_msg_type_is_directed(uint8_t type)
{
	switch (type) {
	case IB_MSG_OFFER:
	case IB_MSG_SELECT:
	case IB_MSG_TRANSFER:
	case IB_MSG_RESULT:
		return true;
	default:
		return false;
	}
}

const char *ib_msg_type_name(uint8_t type)
{
	const struct msg_schema *s = schema_of(type);

	return s ? s->name : "UNKNOWN";
}

/* ---- The header (section 6) and whole messages ----------------------------------------- */

/* version u8 | type u8 | flags u16 | seq u64 | dest id */
static int read_header(struct ib_reader *r, struct ib_msg_header *h)
{
	/* [MSG-2] shorter than the header: one error, whichever field it cuts. */
	if (ib_reader_left(r) < IB_MSG_HEADER_LEN)
		return IB_ERR_TRUNCATED;
	GUARD(ib_reader_u8(r, &h->version));
	GUARD(ib_reader_u8(r, &h->type));
	GUARD(ib_reader_u16(r, &h->flags));
	GUARD(ib_reader_u64(r, &h->seq));
	return ib_reader_id(r, &h->dest);
}

static int write_header(struct ib_buf *b, const struct ib_msg_header *h)
{
	GUARD(ib_buf_put_u8(b, h->version));
	GUARD(ib_buf_put_u8(b, h->type));
	/* [MSG-4] flags are written as given: a relay re-encoding must keep them. */
	GUARD(ib_buf_put_u16(b, h->flags));
	GUARD(ib_buf_put_u64(b, h->seq));
	return ib_buf_put(b, h->dest.b, IB_ID_LEN);
}

/* The header rules, in the order a receiver applies them. */
static int check_header(const struct ib_msg_header *h)
{
	/* [MSG-1] */
	if (h->version != IB_PROTOCOL_VERSION)
		return IB_ERR_BAD_VERSION;
	/* [MSG-3] */
	if (!ib_msg_type_is_hop(h->type) && !ib_msg_type_is_e2e(h->type))
		return IB_ERR_RESERVED_TYPE;
	/* [MSG-6] */
	if (ib_msg_type_is_hop(h->type) && !ib_id_is_zero(&h->dest))
		return IB_ERR_HOP_DEST;
	return IB_OK;
}

int ib_msg_decode(struct ib_msg *m, const uint8_t *p, size_t len)
{
	const struct msg_schema *s;
	struct ib_reader r, body;

	memset(m, 0, sizeof *m);
	ib_reader_init(&r, p, len);
	GUARD(read_header(&r, &m->h));
	GUARD(check_header(&m->h));
	GUARD(ib_reader_bytes(&r, ib_reader_left(&r), &m->body));
	s = schema_of(m->h.type);
	/* [MSG-9][MSG-10] an unassigned type is not an error: header and body slice only. */
	if (!s)
		return IB_OK;
	/* [MSG-7] the body is the exact schema: short, out of range or left over is malformed. */
	ib_reader_init(&body, m->body.ptr, m->body.len);
	GUARD(s->decode(&body, m));
	return ib_reader_end(&body);
}

static int encode_into(struct ib_buf *out, const struct ib_msg *m)
{
	const struct msg_schema *s;

	GUARD(check_header(&m->h));
	GUARD(write_header(out, &m->h));
	s = schema_of(m->h.type);
	if (s)
		return s->encode(out, m);
	/* An unassigned type carries its body as given (a relay or a test may send one). */
	GUARD(check_slice(m->body));
	return ib_buf_put(out, m->body.ptr, m->body.len);
}

int ib_msg_encode(struct ib_buf *out, const struct ib_msg *m)
{
	size_t mark = out->len;
	int err;

	err = encode_into(out, m);
	/* Nothing half written stays in out. */
	if (err)
		out->len = mark;
	return err;
}

/* ---- COMMAND args (section 7.10) ------------------------------------------------------- */

/* The list is read only by the node that runs the command: a list that does not decode is a
 * bad_args result ([CMD-4]), not a malformed message. Items found before a failure are left
 * in items; *count is set on success only (0 on failure). */
int ib_args_split(struct ib_slice args, struct ib_slice *items, size_t max, size_t *count)
{
	struct ib_reader r;
	size_t n = 0;

	*count = 0;
	ib_reader_init(&r, args.ptr, args.len);
	while (ib_reader_left(&r) > 0) {
		struct ib_slice item;

		if (n == max)
			return IB_ERR_BAD_ARGS;
		if (ib_reader_blob(&r, &item) != IB_OK)
			return IB_ERR_BAD_ARGS;
		items[n++] = item;
	}
	*count = n;
	return IB_OK;
}

int ib_args_put(struct ib_buf *out, struct ib_slice item)
{
	return put_blob(out, item);
}
