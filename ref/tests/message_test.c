/*
 * Unit tests of message.c: the header of spec section 6 and the bodies of section 7.
 *
 * The expected wire bytes are written here by hand, field by field in the spec's order
 * (wire_header, wire_body), independently of ib_msg_encode, so that a layout mistake made
 * the same way in the encoder and the decoder still shows.
 */
#include "ib_test.h"

#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SLICE(lit) ((struct ib_slice){ (const uint8_t *)(lit), sizeof(lit) - 1 })
#define PUT(expr) CU_ASSERT_FATAL((expr) == IB_OK)

static const uint64_t sample_seq = 1767225600000000ull; /* 2026-01-01T00:00:00Z */

/* Ids for paths and id fields: 255 distinct ids, id i is i, i+1, ... */
static uint8_t id_pool[255 * IB_ID_LEN];
static uint8_t nonce_pool[IB_NONCE_MAX + 1];
static uint8_t long_name[IB_MAX_STRING];
/* A whole frame for TRANSFER, built once. */
static struct ib_buf transfer_frame;

static int setup(void)
{
	uint8_t sig[IB_SIG_LEN];
	ib_id origin;
	static const uint8_t inner[] = "a message the test does not decode";

	for (size_t i = 0; i < sizeof id_pool; i++)
		id_pool[i] = (uint8_t)(i / IB_ID_LEN + i % IB_ID_LEN);
	for (size_t i = 0; i < sizeof nonce_pool; i++)
		nonce_pool[i] = (uint8_t)(0x5a ^ i);
	memset(long_name, 'n', sizeof long_name);
	memset(sig, 0x42, sizeof sig);
	memset(origin.b, 0x07, sizeof origin.b);
	return ib_frame_encode(&transfer_frame, &origin, sig, inner, sizeof inner - 1) ? -1 : 0;
}

static int teardown(void)
{
	ib_buf_free(&transfer_frame);
	return 0;
}

static void set_id(ib_id *id, uint8_t first)
{
	for (size_t i = 0; i < IB_ID_LEN; i++)
		id->b[i] = (uint8_t)(first + i);
}

static void header(struct ib_msg *m, uint8_t type)
{
	memset(m, 0, sizeof *m);
	m->h.version = 1;
	m->h.type = type;
	m->h.seq = sample_seq;
}

/* ---- One valid message of every type ------------------------------------------------- */

static void fill_hello(struct ib_msg *m)
{
	header(m, IB_MSG_HELLO);
	m->u.hello.role = IB_ROLE_SERVER;
	m->u.hello.keepalive_interval_ms = 30000;
	m->u.hello.max_message = IB_MAX_MESSAGE_LIMIT;
	m->u.hello.name = SLICE("alice");
	m->u.hello.path.count = 2;
	m->u.hello.path.ids = id_pool;
}

static void fill_path(struct ib_msg *m)
{
	header(m, IB_MSG_PATH);
	m->u.path.count = 3;
	m->u.path.ids = id_pool + IB_ID_LEN;
}

static void fill_ping(struct ib_msg *m)
{
	header(m, IB_MSG_PING);
	m->u.ping.nonce = (struct ib_slice){ nonce_pool, IB_NONCE_MIN };
}

static void fill_pong(struct ib_msg *m)
{
	header(m, IB_MSG_PONG);
	m->u.ping.nonce = (struct ib_slice){ nonce_pool, IB_NONCE_MAX };
}

static void fill_error(struct ib_msg *m)
{
	header(m, IB_MSG_ERROR);
	m->u.error.code = IB_EC_TOO_BIG;
	m->u.error.reason = SLICE("message_length 70000 > 65536");
}

static void fill_publish(struct ib_msg *m)
{
	header(m, IB_MSG_PUBLISH);
	m->u.publish.key = SLICE("greeting");
	m->u.publish.version = 1;
	m->u.publish.value = SLICE("hello, interbot");
}

static void fill_query(struct ib_msg *m)
{
	header(m, IB_MSG_QUERY);
	m->u.query.query_id = 0x0102030405060708ull;
	m->u.query.key = SLICE("k");
}

static void fill_offer(struct ib_msg *m)
{
	header(m, IB_MSG_OFFER);
	set_id(&m->h.dest, 0x90);
	m->u.offer.query_id = 0x8877665544332211ull;
	m->u.offer.key = SLICE("cl\xc3\xa9 \xf0\x9f\x94\x91"); /* "clé" and U+1F511 */
	m->u.offer.version = UINT64_MAX;
	set_id(&m->u.offer.writer, 0xa0);
}

static void fill_select(struct ib_msg *m)
{
	header(m, IB_MSG_SELECT);
	set_id(&m->h.dest, 0xb0);
	m->u.select.query_id = 42;
	m->u.select.key = SLICE("greeting");
	m->u.select.version = 7;
}

static void fill_transfer(struct ib_msg *m)
{
	header(m, IB_MSG_TRANSFER);
	set_id(&m->h.dest, 0xc0);
	m->u.transfer.query_id = 42;
	m->u.transfer.frame = (struct ib_slice){ transfer_frame.ptr, transfer_frame.len };
}

static void fill_transfer_empty(struct ib_msg *m)
{
	fill_transfer(m);
	m->u.transfer.frame = (struct ib_slice){ NULL, 0 };
}

static void fill_command(struct ib_msg *m)
{
	header(m, IB_MSG_COMMAND);
	set_id(&m->h.dest, 0xd0);
	m->u.command.cmd_id = 9;
	m->u.command.name = SLICE("ib.get");
	m->u.command.args = SLICE("\x00\x00\x08greeting");
}

static void fill_result(struct ib_msg *m)
{
	header(m, IB_MSG_RESULT);
	set_id(&m->h.dest, 0xe0);
	m->u.result.cmd_id = 9;
	m->u.result.status = IB_STATUS_NOT_FOUND;
	m->u.result.output = (struct ib_slice){ NULL, 0 };
}

static void fill_announce(struct ib_msg *m)
{
	header(m, IB_MSG_ANNOUNCE);
	set_id(&m->u.announce.parent, 0x11);
	m->u.announce.role = IB_ROLE_CLIENT;
	m->u.announce.name = SLICE("bob");
	m->u.announce.software = SLICE("interbot-ref/0.1.0");
}

static void fill_parted(struct ib_msg *m)
{
	header(m, IB_MSG_PARTED);
	set_id(&m->u.parted.child, 0x22);
}

struct sample {
	const char *name;
	void (*fill)(struct ib_msg *m);
};

static const struct sample samples[] = {
	{ "HELLO", fill_hello },
	{ "PATH", fill_path },
	{ "PING", fill_ping },
	{ "PONG", fill_pong },
	{ "ERROR", fill_error },
	{ "PUBLISH", fill_publish },
	{ "QUERY", fill_query },
	{ "OFFER", fill_offer },
	{ "SELECT", fill_select },
	{ "TRANSFER", fill_transfer },
	{ "TRANSFER empty", fill_transfer_empty },
	{ "COMMAND", fill_command },
	{ "RESULT", fill_result },
	{ "ANNOUNCE", fill_announce },
	{ "PARTED", fill_parted },
};

/* ---- The wire, written by hand from sections 6 and 7 (no validation) ------------------ */

static void wire_string(struct ib_buf *b, struct ib_slice s)
{
	PUT(ib_buf_put_u8(b, (uint8_t)s.len));
	PUT(ib_buf_put(b, s.ptr, s.len));
}

static void wire_blob(struct ib_buf *b, struct ib_slice s)
{
	PUT(ib_buf_put_u24(b, (uint32_t)s.len));
	PUT(ib_buf_put(b, s.ptr, s.len));
}

static void wire_path(struct ib_buf *b, const struct ib_path *p)
{
	PUT(ib_buf_put_u8(b, p->count));
	PUT(ib_buf_put(b, p->ids, (size_t)p->count * IB_ID_LEN));
}

static void wire_header(struct ib_buf *b, const struct ib_msg_header *h)
{
	PUT(ib_buf_put_u8(b, h->version));
	PUT(ib_buf_put_u8(b, h->type));
	PUT(ib_buf_put_u16(b, h->flags));
	PUT(ib_buf_put_u64(b, h->seq));
	PUT(ib_buf_put(b, h->dest.b, IB_ID_LEN));
}

static void wire_body(struct ib_buf *b, const struct ib_msg *m)
{
	switch (m->h.type) {
	case IB_MSG_HELLO:
		PUT(ib_buf_put_u8(b, m->u.hello.role));
		PUT(ib_buf_put_u32(b, m->u.hello.keepalive_interval_ms));
		PUT(ib_buf_put_u32(b, m->u.hello.max_message));
		wire_string(b, m->u.hello.name);
		wire_path(b, &m->u.hello.path);
		break;
	case IB_MSG_PATH:
		wire_path(b, &m->u.path);
		break;
	case IB_MSG_PING:
	case IB_MSG_PONG:
		PUT(ib_buf_put_u8(b, (uint8_t)m->u.ping.nonce.len));
		PUT(ib_buf_put(b, m->u.ping.nonce.ptr, m->u.ping.nonce.len));
		break;
	case IB_MSG_ERROR:
		PUT(ib_buf_put_u16(b, m->u.error.code));
		wire_string(b, m->u.error.reason);
		break;
	case IB_MSG_PUBLISH:
		wire_string(b, m->u.publish.key);
		PUT(ib_buf_put_u64(b, m->u.publish.version));
		wire_blob(b, m->u.publish.value);
		break;
	case IB_MSG_QUERY:
		PUT(ib_buf_put_u64(b, m->u.query.query_id));
		wire_string(b, m->u.query.key);
		break;
	case IB_MSG_OFFER:
		PUT(ib_buf_put_u64(b, m->u.offer.query_id));
		wire_string(b, m->u.offer.key);
		PUT(ib_buf_put_u64(b, m->u.offer.version));
		PUT(ib_buf_put(b, m->u.offer.writer.b, IB_ID_LEN));
		break;
	case IB_MSG_SELECT:
		PUT(ib_buf_put_u64(b, m->u.select.query_id));
		wire_string(b, m->u.select.key);
		PUT(ib_buf_put_u64(b, m->u.select.version));
		break;
	case IB_MSG_TRANSFER:
		PUT(ib_buf_put_u64(b, m->u.transfer.query_id));
		wire_blob(b, m->u.transfer.frame);
		break;
	case IB_MSG_COMMAND:
		PUT(ib_buf_put_u64(b, m->u.command.cmd_id));
		wire_string(b, m->u.command.name);
		wire_blob(b, m->u.command.args);
		break;
	case IB_MSG_RESULT:
		PUT(ib_buf_put_u64(b, m->u.result.cmd_id));
		PUT(ib_buf_put_u16(b, m->u.result.status));
		wire_blob(b, m->u.result.output);
		break;
	case IB_MSG_ANNOUNCE:
		PUT(ib_buf_put(b, m->u.announce.parent.b, IB_ID_LEN));
		PUT(ib_buf_put_u8(b, m->u.announce.role));
		wire_string(b, m->u.announce.name);
		wire_string(b, m->u.announce.software);
		break;
	case IB_MSG_PARTED:
		PUT(ib_buf_put(b, m->u.parted.child.b, IB_ID_LEN));
		break;
	default:
		PUT(ib_buf_put(b, m->body.ptr, m->body.len));
		break;
	}
}

static void wire(struct ib_buf *b, const struct ib_msg *m)
{
	ib_buf_reset(b);
	wire_header(b, &m->h);
	wire_body(b, m);
}

/* ---- Comparing decoded messages ------------------------------------------------------- */

static bool same_slice(struct ib_slice a, struct ib_slice b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool same_path(const struct ib_path *a, const struct ib_path *b)
{
	return a->count == b->count &&
	       memcmp(a->ids, b->ids, (size_t)a->count * IB_ID_LEN) == 0;
}

static bool same_header(const struct ib_msg_header *a, const struct ib_msg_header *b)
{
	return a->version == b->version && a->type == b->type && a->flags == b->flags &&
	       a->seq == b->seq && ib_id_equal(&a->dest, &b->dest);
}

static bool same_body(const struct ib_msg *a, const struct ib_msg *b)
{
	switch (a->h.type) {
	case IB_MSG_HELLO:
		return a->u.hello.role == b->u.hello.role &&
		       a->u.hello.keepalive_interval_ms == b->u.hello.keepalive_interval_ms &&
		       a->u.hello.max_message == b->u.hello.max_message &&
		       same_slice(a->u.hello.name, b->u.hello.name) &&
		       same_path(&a->u.hello.path, &b->u.hello.path);
	case IB_MSG_PATH:
		return same_path(&a->u.path, &b->u.path);
	case IB_MSG_PING:
	case IB_MSG_PONG:
		return same_slice(a->u.ping.nonce, b->u.ping.nonce);
	case IB_MSG_ERROR:
		return a->u.error.code == b->u.error.code &&
		       same_slice(a->u.error.reason, b->u.error.reason);
	case IB_MSG_PUBLISH:
		return same_slice(a->u.publish.key, b->u.publish.key) &&
		       a->u.publish.version == b->u.publish.version &&
		       same_slice(a->u.publish.value, b->u.publish.value);
	case IB_MSG_QUERY:
		return a->u.query.query_id == b->u.query.query_id &&
		       same_slice(a->u.query.key, b->u.query.key);
	case IB_MSG_OFFER:
		return a->u.offer.query_id == b->u.offer.query_id &&
		       same_slice(a->u.offer.key, b->u.offer.key) &&
		       a->u.offer.version == b->u.offer.version &&
		       ib_id_equal(&a->u.offer.writer, &b->u.offer.writer);
	case IB_MSG_SELECT:
		return a->u.select.query_id == b->u.select.query_id &&
		       same_slice(a->u.select.key, b->u.select.key) &&
		       a->u.select.version == b->u.select.version;
	case IB_MSG_TRANSFER:
		return a->u.transfer.query_id == b->u.transfer.query_id &&
		       same_slice(a->u.transfer.frame, b->u.transfer.frame);
	case IB_MSG_COMMAND:
		return a->u.command.cmd_id == b->u.command.cmd_id &&
		       same_slice(a->u.command.name, b->u.command.name) &&
		       same_slice(a->u.command.args, b->u.command.args);
	case IB_MSG_RESULT:
		return a->u.result.cmd_id == b->u.result.cmd_id &&
		       a->u.result.status == b->u.result.status &&
		       same_slice(a->u.result.output, b->u.result.output);
	case IB_MSG_ANNOUNCE:
		return ib_id_equal(&a->u.announce.parent, &b->u.announce.parent) &&
		       a->u.announce.role == b->u.announce.role &&
		       same_slice(a->u.announce.name, b->u.announce.name) &&
		       same_slice(a->u.announce.software, b->u.announce.software);
	case IB_MSG_PARTED:
		return ib_id_equal(&a->u.parted.child, &b->u.parted.child);
	default:
		return same_slice(a->body, b->body);
	}
}

/* Fails with a sample's name, which plain CU_ASSERT would not show. */
static void check(bool ok, const char *what, unsigned line)
{
	CU_assertImplementation(ok, line, what, __FILE__, "", CU_FALSE);
}

/* ---- Round trips and cuts -------------------------------------------------------------- */

/* [MSG-7] every type: the encoder writes the spec's layout, the decoder reads it back, and
 * re-encoding gives the same bytes. */
static void test_round_trip_every_type(void)
{
	struct ib_buf want = { 0 }, got = { 0 }, again = { 0 };

	for (size_t i = 0; i < ARRAY_LEN(samples); i++) {
		struct ib_msg m, d;

		samples[i].fill(&m);
		wire(&want, &m);
		ib_buf_reset(&got);
		ib_buf_reset(&again);
		IB_ASSERT_OK(ib_msg_encode(&got, &m));
		check(got.len == want.len && memcmp(got.ptr, want.ptr, got.len) == 0,
		      samples[i].name, __LINE__);
		IB_ASSERT_OK(ib_msg_decode(&d, want.ptr, want.len));
		check(same_header(&m.h, &d.h), samples[i].name, __LINE__);
		check(same_body(&m, &d), samples[i].name, __LINE__);
		check(d.body.len == want.len - IB_MSG_HEADER_LEN, samples[i].name, __LINE__);
		check(d.body.ptr == want.ptr + IB_MSG_HEADER_LEN, samples[i].name, __LINE__);
		IB_ASSERT_OK(ib_msg_encode(&again, &d));
		check(again.len == want.len && memcmp(again.ptr, want.ptr, again.len) == 0,
		      samples[i].name, __LINE__);
	}
	ib_buf_free(&want);
	ib_buf_free(&got);
	ib_buf_free(&again);
}

/* [MSG-2][MSG-7] every proper prefix of every message, header or body, is truncated. */
static void test_truncated_every_cut(void)
{
	struct ib_buf b = { 0 };

	for (size_t i = 0; i < ARRAY_LEN(samples); i++) {
		struct ib_msg m, d;

		samples[i].fill(&m);
		wire(&b, &m);
		for (size_t cut = 0; cut < b.len; cut++) {
			int err = ib_msg_decode(&d, b.ptr, cut);

			check(err == IB_ERR_TRUNCATED, samples[i].name, __LINE__);
			IB_ASSERT_ERR(err, IB_ERR_TRUNCATED);
		}
	}
	ib_buf_free(&b);
}

/* [MSG-7] a byte after the last field is malformed, for every type. */
static void test_trailing_byte(void)
{
	struct ib_buf b = { 0 };

	for (size_t i = 0; i < ARRAY_LEN(samples); i++) {
		struct ib_msg m, d;
		int err;

		samples[i].fill(&m);
		wire(&b, &m);
		PUT(ib_buf_put_u8(&b, 0));
		err = ib_msg_decode(&d, b.ptr, b.len);
		check(err == IB_ERR_TRAILING, samples[i].name, __LINE__);
		IB_ASSERT_ERR(err, IB_ERR_TRAILING);
	}
	ib_buf_free(&b);
}

/* ---- The header ([MSG-1] [MSG-2] [MSG-3] [MSG-4] [MSG-6]) ------------------------------ */

/* [MSG-2] shorter than 28 bytes is truncated, before any header rule is looked at. */
static void test_header_short(void)
{
	struct ib_buf b = { 0 };
	struct ib_msg m, d;

	fill_ping(&m);
	m.h.version = 2;
	m.h.type = 0x80;
	wire(&b, &m);
	for (size_t cut = 0; cut < IB_MSG_HEADER_LEN; cut++)
		IB_ASSERT_ERR(ib_msg_decode(&d, b.ptr, cut), IB_ERR_TRUNCATED);
	IB_ASSERT_ERR(ib_msg_decode(&d, NULL, 0), IB_ERR_TRUNCATED);
	ib_buf_free(&b);
}

/* [MSG-1] version other than 1; it is checked before the type and the body. */
static void test_bad_version(void)
{
	static const uint8_t versions[] = { 0, 2, 0xff };
	struct ib_buf b = { 0 };
	struct ib_msg m, d;

	for (size_t i = 0; i < ARRAY_LEN(versions); i++) {
		fill_publish(&m);
		m.h.version = versions[i];
		wire(&b, &m);
		IB_ASSERT_ERR(ib_msg_decode(&d, b.ptr, b.len), IB_ERR_BAD_VERSION);
		/* Before the type rule, the dest rule and the body. */
		fill_hello(&m);
		m.h.version = versions[i];
		m.h.type = 0;
		wire(&b, &m);
		IB_ASSERT_ERR(ib_msg_decode(&d, b.ptr, b.len), IB_ERR_BAD_VERSION);
		m.h.type = IB_MSG_HELLO;
		m.h.dest.b[0] = 1;
		wire(&b, &m);
		PUT(ib_buf_put_u8(&b, 0));
		IB_ASSERT_ERR(ib_msg_decode(&d, b.ptr, b.len), IB_ERR_BAD_VERSION);
	}
	ib_buf_free(&b);
}

/* [MSG-3] types 0x00 and 0x80-0xFF, whatever dest and body. */
static void test_reserved_types(void)
{
	static const uint8_t types[] = { 0x00, 0x80, 0x81, 0xfe, 0xff };
	struct ib_buf b = { 0 };
	struct ib_msg m, d;

	for (size_t i = 0; i < ARRAY_LEN(types); i++) {
		header(&m, types[i]);
		wire(&b, &m);
		IB_ASSERT_ERR(ib_msg_decode(&d, b.ptr, b.len), IB_ERR_RESERVED_TYPE);
		m.h.dest.b[3] = 9;
		m.body = SLICE("body");
		wire(&b, &m);
		IB_ASSERT_ERR(ib_msg_decode(&d, b.ptr, b.len), IB_ERR_RESERVED_TYPE);
	}
	ib_buf_free(&b);
}

/* [MSG-6] a hop-local type (assigned or not) with any byte of dest set; checked before the
 * body. */
static void test_hop_dest(void)
{
	struct ib_buf b = { 0 };
	struct ib_msg m, d;

	for (unsigned type = 0x01; type <= 0x0f; type++) {
		for (size_t at = 0; at < IB_ID_LEN; at += 15) {
			header(&m, (uint8_t)type);
			if (type == IB_MSG_PING || type == IB_MSG_PONG)
				fill_ping(&m);
			m.h.type = (uint8_t)type;
			m.h.dest.b[at] = 0x01;
			wire(&b, &m);
			IB_ASSERT_ERR(ib_msg_decode(&d, b.ptr, b.len), IB_ERR_HOP_DEST);
		}
	}
	/* A well-formed HELLO with dest set is refused too. */
	fill_hello(&m);
	m.h.dest.b[15] = 0x80;
	wire(&b, &m);
	IB_ASSERT_ERR(ib_msg_decode(&d, b.ptr, b.len), IB_ERR_HOP_DEST);
	ib_buf_free(&b);
}

/* [MSG-9][MSG-10] unassigned types are not errors: the header and the body bytes, as they
 * are. End-to-end ones may be directed. */
static void test_unassigned_types(void)
{
	static const uint8_t types[] = { 0x06, 0x0f, 0x15, 0x1f, 0x22, 0x32, 0x7f };
	struct ib_buf b = { 0 }, again = { 0 };
	struct ib_msg m, d;

	for (size_t i = 0; i < ARRAY_LEN(types); i++) {
		header(&m, types[i]);
		if (ib_msg_type_is_e2e(types[i]))
			set_id(&m.h.dest, 0x44);
		m.body = SLICE("\xff\x00 any bytes, even \xc0\x80");
		wire(&b, &m);
		IB_ASSERT_OK(ib_msg_decode(&d, b.ptr, b.len));
		CU_ASSERT(same_header(&m.h, &d.h));
		CU_ASSERT(same_slice(m.body, d.body));
		CU_ASSERT(!ib_msg_type_is_known(types[i]));
		ib_buf_reset(&again);
		IB_ASSERT_OK(ib_msg_encode(&again, &d));
		CU_ASSERT(again.len == b.len && memcmp(again.ptr, b.ptr, b.len) == 0);
		/* And with no body at all. */
		IB_ASSERT_OK(ib_msg_decode(&d, b.ptr, IB_MSG_HEADER_LEN));
		CU_ASSERT_EQUAL(d.body.len, 0);
	}
	ib_buf_free(&b);
	ib_buf_free(&again);
}

/* [MSG-4] flags are decoded as they are and encoded as given. */
static void test_flags_kept(void)
{
	struct ib_buf b = { 0 }, out = { 0 };
	struct ib_msg m, d;

	fill_publish(&m);
	m.h.flags = 0xbeef;
	wire(&b, &m);
	IB_ASSERT_OK(ib_msg_decode(&d, b.ptr, b.len));
	CU_ASSERT_EQUAL(d.h.flags, 0xbeef);
	IB_ASSERT_OK(ib_msg_encode(&out, &d));
	CU_ASSERT(out.len == b.len && memcmp(out.ptr, b.ptr, b.len) == 0);
	ib_buf_free(&b);
	ib_buf_free(&out);
}

/* ---- Strings ([MSG-8]) ------------------------------------------------------------------ */

/* Every string field of section 7, by the sample that carries it. */
struct string_field {
	void (*fill)(struct ib_msg *m);
	struct ib_slice *(*field)(struct ib_msg *m);
};

static struct ib_slice *hello_name(struct ib_msg *m)
{
	return &m->u.hello.name;
}
static struct ib_slice *error_reason(struct ib_msg *m)
{
	return &m->u.error.reason;
}
static struct ib_slice *publish_key(struct ib_msg *m)
{
	return &m->u.publish.key;
}
static struct ib_slice *query_key(struct ib_msg *m)
{
	return &m->u.query.key;
}
static struct ib_slice *offer_key(struct ib_msg *m)
{
	return &m->u.offer.key;
}
static struct ib_slice *select_key(struct ib_msg *m)
{
	return &m->u.select.key;
}
static struct ib_slice *command_name(struct ib_msg *m)
{
	return &m->u.command.name;
}
static struct ib_slice *announce_name(struct ib_msg *m)
{
	return &m->u.announce.name;
}
static struct ib_slice *announce_software(struct ib_msg *m)
{
	return &m->u.announce.software;
}

static const struct string_field string_fields[] = {
	{ fill_hello, hello_name },	    { fill_error, error_reason },
	{ fill_publish, publish_key },	    { fill_query, query_key },
	{ fill_offer, offer_key },	    { fill_select, select_key },
	{ fill_command, command_name },	    { fill_announce, announce_name },
	{ fill_announce, announce_software },
};

static void test_bad_strings(void)
{
	const struct ib_slice bad[] = {
		SLICE("over\xc0\xaflong"),	/* overlong '/' */
		SLICE("\xe0\x80\xaf"),		/* overlong, 3 bytes */
		SLICE("sur\xed\xa0\x80rogate"), /* U+D800 */
		SLICE("nul\x00inside"),		/* U+0000 */
		SLICE("\x00"),
		SLICE("cut \xe2\x82"),		/* truncated sequence at the end */
		SLICE("cut \xe2\x82 middle"),	/* truncated sequence in the middle */
		SLICE("\xf4\x90\x80\x80"),	/* U+110000 */
		SLICE("\xff"),
	};
	struct ib_buf b = { 0 }, out = { 0 };

	for (size_t i = 0; i < ARRAY_LEN(string_fields); i++) {
		for (size_t j = 0; j < ARRAY_LEN(bad); j++) {
			struct ib_msg m, d;

			string_fields[i].fill(&m);
			*string_fields[i].field(&m) = bad[j];
			wire(&b, &m);
			IB_ASSERT_ERR(ib_msg_decode(&d, b.ptr, b.len), IB_ERR_BAD_STRING);
			/* The encoder does not write what the decoder refuses. */
			PUT(ib_buf_put_u8(&out, 0x99));
			IB_ASSERT_ERR(ib_msg_encode(&out, &m), IB_ERR_BAD_STRING);
			CU_ASSERT_EQUAL(out.len, 1);
			ib_buf_reset(&out);
		}
	}
	ib_buf_free(&b);
	ib_buf_free(&out);
}

/* ---- Ranges ([MSG-7]) ------------------------------------------------------------------- */

struct range_case {
	const char *what;
	void (*fill)(struct ib_msg *m);
	void (*mutate)(struct ib_msg *m, uint64_t v);
	uint64_t bad[2];   /* values out of range */
	uint64_t good[2];  /* the edges of the range */
};

static void set_hello_role(struct ib_msg *m, uint64_t v)
{
	m->u.hello.role = (uint8_t)v;
}
static void set_hello_keepalive(struct ib_msg *m, uint64_t v)
{
	m->u.hello.keepalive_interval_ms = (uint32_t)v;
}
static void set_hello_max_message(struct ib_msg *m, uint64_t v)
{
	m->u.hello.max_message = (uint32_t)v;
}
static void set_hello_name_len(struct ib_msg *m, uint64_t v)
{
	m->u.hello.name = (struct ib_slice){ long_name, (size_t)v };
}
static void set_hello_path_count(struct ib_msg *m, uint64_t v)
{
	m->u.hello.path.count = (uint8_t)v;
}
static void set_path_count(struct ib_msg *m, uint64_t v)
{
	m->u.path.count = (uint8_t)v;
	m->u.path.ids = id_pool; /* room for 255 ids */
}
static void set_nonce_len(struct ib_msg *m, uint64_t v)
{
	m->u.ping.nonce.len = (size_t)v;
}
static void set_publish_key_len(struct ib_msg *m, uint64_t v)
{
	m->u.publish.key = (struct ib_slice){ long_name, (size_t)v };
}
static void set_publish_version(struct ib_msg *m, uint64_t v)
{
	m->u.publish.version = v;
}
static void set_query_key_len(struct ib_msg *m, uint64_t v)
{
	m->u.query.key = (struct ib_slice){ long_name, (size_t)v };
}
static void set_offer_key_len(struct ib_msg *m, uint64_t v)
{
	m->u.offer.key = (struct ib_slice){ long_name, (size_t)v };
}
static void set_offer_version(struct ib_msg *m, uint64_t v)
{
	m->u.offer.version = v;
}
static void set_select_key_len(struct ib_msg *m, uint64_t v)
{
	m->u.select.key = (struct ib_slice){ long_name, (size_t)v };
}
static void set_select_version(struct ib_msg *m, uint64_t v)
{
	m->u.select.version = v;
}
static void set_command_name_len(struct ib_msg *m, uint64_t v)
{
	m->u.command.name = (struct ib_slice){ long_name, (size_t)v };
}
static void set_announce_role(struct ib_msg *m, uint64_t v)
{
	m->u.announce.role = (uint8_t)v;
}
static void set_announce_name_len(struct ib_msg *m, uint64_t v)
{
	m->u.announce.name = (struct ib_slice){ long_name, (size_t)v };
}

/* Where only one value is out of range, it is listed twice. */
static const struct range_case range_cases[] = {
	{ "HELLO role", fill_hello, set_hello_role, { 0, 3 }, { 1, 2 } },
	{ "HELLO keepalive_interval_ms", fill_hello, set_hello_keepalive, { 99, 3600001 },
	  { 100, 3600000 } },
	{ "HELLO max_message", fill_hello, set_hello_max_message, { 65535, 16777216 },
	  { 65536, 16777215 } },
	{ "HELLO name", fill_hello, set_hello_name_len, { 0, 0 }, { 1, 255 } },
	{ "HELLO path_count", fill_hello, set_hello_path_count, { 0, 0 }, { 1, 255 } },
	{ "PATH path_count", fill_path, set_path_count, { 0, 0 }, { 1, 255 } },
	{ "PING nonce_length", fill_ping, set_nonce_len, { 15, 65 }, { 16, 64 } },
	{ "PONG nonce_length", fill_pong, set_nonce_len, { 15, 65 }, { 16, 64 } },
	{ "PUBLISH key", fill_publish, set_publish_key_len, { 0, 0 }, { 1, 255 } },
	{ "PUBLISH version", fill_publish, set_publish_version, { 0, 0 }, { 1, UINT64_MAX } },
	{ "QUERY key", fill_query, set_query_key_len, { 0, 0 }, { 1, 255 } },
	{ "OFFER key", fill_offer, set_offer_key_len, { 0, 0 }, { 1, 255 } },
	{ "OFFER version", fill_offer, set_offer_version, { 0, 0 }, { 1, UINT64_MAX } },
	{ "SELECT key", fill_select, set_select_key_len, { 0, 0 }, { 1, 255 } },
	{ "SELECT version", fill_select, set_select_version, { 0, 0 }, { 1, UINT64_MAX } },
	{ "COMMAND name", fill_command, set_command_name_len, { 0, 0 }, { 1, 255 } },
	{ "ANNOUNCE role", fill_announce, set_announce_role, { 0, 3 }, { 1, 2 } },
	{ "ANNOUNCE name", fill_announce, set_announce_name_len, { 0, 0 }, { 1, 255 } },
};

/* [MSG-7] each field outside its stated range is refused by the decoder and the encoder. */
static void test_ranges(void)
{
	struct ib_buf b = { 0 }, out = { 0 };

	for (size_t i = 0; i < ARRAY_LEN(range_cases); i++) {
		const struct range_case *c = &range_cases[i];

		for (size_t j = 0; j < 2; j++) {
			struct ib_msg m, d;
			int err;

			c->fill(&m);
			c->mutate(&m, c->bad[j]);
			wire(&b, &m);
			err = ib_msg_decode(&d, b.ptr, b.len);
			check(err == IB_ERR_RANGE, c->what, __LINE__);
			IB_ASSERT_ERR(err, IB_ERR_RANGE);
			PUT(ib_buf_put_u8(&out, 0x99));
			err = ib_msg_encode(&out, &m);
			check(err == IB_ERR_RANGE, c->what, __LINE__);
			IB_ASSERT_ERR(err, IB_ERR_RANGE);
			CU_ASSERT_EQUAL(out.len, 1);
			ib_buf_reset(&out);
		}
	}
	ib_buf_free(&b);
	ib_buf_free(&out);
}

/* The edges of each range are accepted, both ways. */
static void test_range_edges(void)
{
	struct ib_buf b = { 0 }, out = { 0 };

	for (size_t i = 0; i < ARRAY_LEN(range_cases); i++) {
		const struct range_case *c = &range_cases[i];

		for (size_t j = 0; j < 2; j++) {
			struct ib_msg m, d;
			int err;

			c->fill(&m);
			c->mutate(&m, c->good[j]);
			wire(&b, &m);
			err = ib_msg_decode(&d, b.ptr, b.len);
			check(err == IB_OK, c->what, __LINE__);
			check(err == IB_OK && same_body(&m, &d), c->what, __LINE__);
			ib_buf_reset(&out);
			IB_ASSERT_OK(ib_msg_encode(&out, &m));
			check(out.len == b.len && memcmp(out.ptr, b.ptr, b.len) == 0, c->what,
			      __LINE__);
		}
	}
	ib_buf_free(&b);
	ib_buf_free(&out);
}

/* Fields whose every value is allowed: ERROR code and empty reason, RESULT status, ANNOUNCE
 * software empty, PUBLISH value empty, COMMAND args empty. */
static void test_open_fields(void)
{
	struct ib_buf b = { 0 };
	struct ib_msg m, d;

	fill_error(&m);
	m.u.error.code = 0xffff;
	m.u.error.reason = (struct ib_slice){ NULL, 0 };
	wire(&b, &m);
	IB_ASSERT_OK(ib_msg_decode(&d, b.ptr, b.len));
	CU_ASSERT_EQUAL(d.u.error.code, 0xffff);
	CU_ASSERT_EQUAL(d.u.error.reason.len, 0);
	fill_result(&m);
	m.u.result.status = 0xffff;
	wire(&b, &m);
	IB_ASSERT_OK(ib_msg_decode(&d, b.ptr, b.len));
	CU_ASSERT_EQUAL(d.u.result.status, 0xffff);
	fill_announce(&m);
	m.u.announce.software = (struct ib_slice){ NULL, 0 };
	memset(m.u.announce.parent.b, 0, IB_ID_LEN);
	wire(&b, &m);
	IB_ASSERT_OK(ib_msg_decode(&d, b.ptr, b.len));
	CU_ASSERT(ib_id_is_zero(&d.u.announce.parent));
	fill_publish(&m);
	m.u.publish.value = (struct ib_slice){ NULL, 0 };
	wire(&b, &m);
	IB_ASSERT_OK(ib_msg_decode(&d, b.ptr, b.len));
	CU_ASSERT_EQUAL(d.u.publish.value.len, 0);
	/* Relays do not look inside args: a list that does not decode is still a COMMAND. */
	fill_command(&m);
	m.u.command.args = SLICE("\x00\x00\x09short");
	wire(&b, &m);
	IB_ASSERT_OK(ib_msg_decode(&d, b.ptr, b.len));
	ib_buf_free(&b);
}

/* [MSG-7] a TRANSFER frame is empty or exactly one whole frame: lengths that claim more than
 * the blob holds are truncated, lengths that leave bytes over are trailing. */
static void test_transfer_frame(void)
{
	struct ib_buf b = { 0 }, inner = { 0 }, out = { 0 };
	struct ib_msg m, d;
	struct ib_slice whole = { transfer_frame.ptr, transfer_frame.len };
	const struct ib_slice short_ones[] = {
		{ whole.ptr, whole.len - 1 },           /* lengths say one byte more */
		{ whole.ptr, IB_FRAME_HEADER_LEN },     /* the header alone */
		{ whole.ptr, IB_FRAME_HEADER_LEN - 1 }, /* not even a header */
		{ whole.ptr, 1 },
	};

	for (size_t i = 0; i < ARRAY_LEN(short_ones); i++) {
		fill_transfer(&m);
		m.u.transfer.frame = short_ones[i];
		wire(&b, &m);
		IB_ASSERT_ERR(ib_msg_decode(&d, b.ptr, b.len), IB_ERR_TRUNCATED);
		/* The encoder refuses it with the decoder's error. */
		IB_ASSERT_ERR(ib_msg_encode(&out, &m), IB_ERR_TRUNCATED);
		CU_ASSERT_EQUAL(out.len, 0);
	}
	/* One byte more than the frame, and two frames. */
	PUT(ib_buf_put(&inner, whole.ptr, whole.len));
	PUT(ib_buf_put_u8(&inner, 0));
	fill_transfer(&m);
	m.u.transfer.frame = (struct ib_slice){ inner.ptr, inner.len };
	wire(&b, &m);
	IB_ASSERT_ERR(ib_msg_decode(&d, b.ptr, b.len), IB_ERR_TRAILING);
	IB_ASSERT_ERR(ib_msg_encode(&out, &m), IB_ERR_TRAILING);
	CU_ASSERT_EQUAL(out.len, 0);
	inner.len--;
	PUT(ib_buf_put(&inner, whole.ptr, whole.len));
	m.u.transfer.frame = (struct ib_slice){ inner.ptr, inner.len };
	wire(&b, &m);
	IB_ASSERT_ERR(ib_msg_decode(&d, b.ptr, b.len), IB_ERR_TRAILING);
	/* A frame whose signature_length is not 64 is still one whole frame here: its
	 * signature is judged later, against its writer. */
	ib_buf_reset(&inner);
	for (size_t i = 0; i < IB_ID_LEN; i++)
		PUT(ib_buf_put_u8(&inner, 7));
	PUT(ib_buf_put_u16(&inner, 1));
	PUT(ib_buf_put_u24(&inner, 2));
	PUT(ib_buf_put(&inner, "sig", 3));
	m.u.transfer.frame = (struct ib_slice){ inner.ptr, inner.len };
	wire(&b, &m);
	IB_ASSERT_OK(ib_msg_decode(&d, b.ptr, b.len));
	CU_ASSERT(same_slice(d.u.transfer.frame, m.u.transfer.frame));
	ib_buf_free(&b);
	ib_buf_free(&inner);
	ib_buf_free(&out);
}

/* ---- The encoder's own checks ---------------------------------------------------------- */

static void test_encode_refuses_bad_header(void)
{
	struct ib_buf out = { 0 };
	struct ib_msg m;

	fill_publish(&m);
	m.h.version = 2;
	IB_ASSERT_ERR(ib_msg_encode(&out, &m), IB_ERR_BAD_VERSION);
	fill_publish(&m);
	m.h.type = 0x80;
	IB_ASSERT_ERR(ib_msg_encode(&out, &m), IB_ERR_RESERVED_TYPE);
	m.h.type = 0x00;
	IB_ASSERT_ERR(ib_msg_encode(&out, &m), IB_ERR_RESERVED_TYPE);
	fill_ping(&m);
	m.h.dest.b[0] = 1;
	IB_ASSERT_ERR(ib_msg_encode(&out, &m), IB_ERR_HOP_DEST);
	CU_ASSERT_EQUAL(out.len, 0);
	/* A blob longer than a u24 can say. */
	fill_publish(&m);
	m.u.publish.value = (struct ib_slice){ long_name, (size_t)IB_MAX_BLOB + 1 };
	IB_ASSERT_ERR(ib_msg_encode(&out, &m), IB_ERR_RANGE);
	CU_ASSERT_EQUAL(out.len, 0);
	ib_buf_free(&out);
}

/* ---- Names and classes ----------------------------------------------------------------- */

static void test_type_classes(void)
{
	CU_ASSERT(!ib_msg_type_is_hop(0x00));
	CU_ASSERT(ib_msg_type_is_hop(0x01));
	CU_ASSERT(ib_msg_type_is_hop(0x0f));
	CU_ASSERT(!ib_msg_type_is_hop(0x10));
	CU_ASSERT(!ib_msg_type_is_e2e(0x0f));
	CU_ASSERT(ib_msg_type_is_e2e(0x10));
	CU_ASSERT(ib_msg_type_is_e2e(0x7f));
	CU_ASSERT(!ib_msg_type_is_e2e(0x80));
	CU_ASSERT(!ib_msg_type_is_e2e(0xff));
	for (unsigned t = 0; t <= 0xff; t++) {
		bool known = t == 0x01 || t == 0x02 || t == 0x03 || t == 0x04 || t == 0x05 ||
			     (t >= 0x10 && t <= 0x14) || t == 0x20 || t == 0x21 || t == 0x30 ||
			     t == 0x31;

		CU_ASSERT_EQUAL(ib_msg_type_is_known((uint8_t)t), known);
		if (!known)
			CU_ASSERT_STRING_EQUAL(ib_msg_type_name((uint8_t)t), "UNKNOWN");
	}
}

static void test_names(void)
{
	static const struct {
		uint8_t type;
		const char *name;
	} types[] = {
		{ 0x01, "HELLO" },    { 0x02, "PATH" },	    { 0x03, "PING" },	 { 0x04, "PONG" },
		{ 0x05, "ERROR" },    { 0x10, "PUBLISH" },  { 0x11, "QUERY" },	 { 0x12, "OFFER" },
		{ 0x13, "SELECT" },   { 0x14, "TRANSFER" }, { 0x20, "COMMAND" }, { 0x21, "RESULT" },
		{ 0x30, "ANNOUNCE" }, { 0x31, "PARTED" },
	};
	static const char *const codes[] = {
		"unknown",	     "protocol_violation", "not_authorized",
		"loop_detected",     "too_big",		   "keepalive_timeout",
		"revoked",	     "no_children_accepted", "unsupported_version",
		"shutting_down",     "duplicate_identity", "unknown",
	};
	static const char *const statuses[] = { "ok",	    "failed",	 "denied",    "unknown",
						"bad_args", "not_found", "unassigned" };

	for (size_t i = 0; i < ARRAY_LEN(types); i++)
		CU_ASSERT_STRING_EQUAL(ib_msg_type_name(types[i].type), types[i].name);
	for (size_t i = 0; i < ARRAY_LEN(codes); i++)
		CU_ASSERT_STRING_EQUAL(ib_error_code_name((uint16_t)i), codes[i]);
	CU_ASSERT_STRING_EQUAL(ib_error_code_name(0xffff), "unknown");
	for (size_t i = 0; i < ARRAY_LEN(statuses); i++)
		CU_ASSERT_STRING_EQUAL(ib_status_name((uint16_t)i), statuses[i]);
	CU_ASSERT_STRING_EQUAL(ib_status_name(0xffff), "unassigned");
}

/* ---- COMMAND args (section 7.10) ------------------------------------------------------- */

static void test_args_round_trip(void)
{
	struct ib_buf b = { 0 };
	struct ib_slice items[4];
	size_t count = 99;

	/* An empty args is an empty list. */
	IB_ASSERT_OK(ib_args_split((struct ib_slice){ NULL, 0 }, items, 4, &count));
	CU_ASSERT_EQUAL(count, 0);
	IB_ASSERT_OK(ib_args_split((struct ib_slice){ NULL, 0 }, NULL, 0, &count));
	IB_ASSERT_OK(ib_args_put(&b, SLICE("greeting")));
	IB_ASSERT_OK(ib_args_put(&b, (struct ib_slice){ NULL, 0 }));
	IB_ASSERT_OK(ib_args_put(&b, SLICE("\x00\xff")));
	CU_ASSERT_EQUAL(b.len, 3 + 8 + 3 + 3 + 2);
	CU_ASSERT_EQUAL(b.ptr[2], 8);
	IB_ASSERT_OK(ib_args_split((struct ib_slice){ b.ptr, b.len }, items, 4, &count));
	CU_ASSERT_EQUAL_FATAL(count, 3);
	CU_ASSERT(same_slice(items[0], SLICE("greeting")));
	CU_ASSERT_EQUAL(items[1].len, 0);
	CU_ASSERT(same_slice(items[2], SLICE("\x00\xff")));
	IB_ASSERT_OK(ib_args_split((struct ib_slice){ b.ptr, b.len }, items, 3, &count));
	CU_ASSERT_EQUAL(count, 3);
	ib_buf_free(&b);
}

/* [CMD-4] a list that does not fill args exactly, or has too many items. */
static void test_args_bad(void)
{
	struct ib_buf b = { 0 };
	struct ib_slice items[2];
	size_t count = 99;

	IB_ASSERT_OK(ib_args_put(&b, SLICE("a")));
	IB_ASSERT_OK(ib_args_put(&b, SLICE("bc")));
	IB_ASSERT_ERR(ib_args_split((struct ib_slice){ b.ptr, b.len }, items, 1, &count),
		      IB_ERR_BAD_ARGS);
	CU_ASSERT_EQUAL(count, 0);
	for (size_t cut = 1; cut < b.len; cut++) {
		if (cut == 4) /* after the first item: a valid list of one */
			continue;
		IB_ASSERT_ERR(ib_args_split((struct ib_slice){ b.ptr, cut }, items, 2, &count),
			      IB_ERR_BAD_ARGS);
	}
	IB_ASSERT_OK(ib_args_split((struct ib_slice){ b.ptr, 4 }, items, 2, &count));
	CU_ASSERT_EQUAL(count, 1);
	ib_buf_free(&b);
}

static const struct ib_test_case cases[] = {
	IB_TEST(test_round_trip_every_type, "MSG-7"),
	IB_TEST(test_truncated_every_cut, "MSG-2 MSG-7"),
	IB_TEST(test_trailing_byte, "MSG-7"),
	IB_TEST(test_header_short, "MSG-2"),
	IB_TEST(test_bad_version, "MSG-1"),
	IB_TEST(test_reserved_types, "MSG-3"),
	IB_TEST(test_hop_dest, "MSG-6"),
	IB_TEST(test_unassigned_types, "MSG-9 MSG-10"),
	IB_TEST(test_flags_kept, "MSG-4"),
	IB_TEST(test_bad_strings, "MSG-8"),
	IB_TEST(test_ranges, "MSG-7"),
	IB_TEST(test_range_edges, "MSG-7"),
	IB_TEST(test_open_fields, "MSG-7"),
	IB_TEST(test_transfer_frame, "MSG-7"),
	IB_TEST(test_encode_refuses_bad_header, ""),
	IB_TEST(test_type_classes, ""),
	IB_TEST(test_names, ""),
	IB_TEST(test_args_round_trip, ""),
	IB_TEST(test_args_bad, ""),
	IB_TEST_END,
};

const struct ib_test_suite ib_suite_message = { "message", setup, teardown, cases };
