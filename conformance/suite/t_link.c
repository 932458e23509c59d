/* t_link.c - the link life cycle (spec section 8): HELLO first and nothing else before it,
 * closing with ERROR and on ERROR, hop-local frames from the link's own peer, a bounded
 * write queue, and a bounded set-up time. */
#include "cf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"

#define LINK_CLOSE_MS 2000u        /* an ERROR and the close that follows it */
#define LINK_FRAME_MS 2000u        /* a forwarded frame reaches a tester */

/* [LINK-2] [LINK-10] What the queue test sends toward a tester that reads nothing:
 * QUEUE_ANSWERS frames of about QUEUE_VALUE bytes each (15 MB), forwarded PUBLISH frames (not
 * answers, which [LINK-21] paces), with the IUT's max_message at
 * its minimum (64 KiB) and the tester's at its maximum (16 MiB). The spec's ceiling is then
 * 16 x 64 KiB + 1 MiB (2 MiB), the reference's bound 4 x 64 KiB + 64 KiB (320 KiB), plus
 * what the kernel's socket buffers hold (a few MB); a bound set by the tester's max_message
 * (64 MiB and more) fails. */
#define QUEUE_ANSWERS 256
#define QUEUE_VALUE 60000
#define QUEUE_KEY "conform-queue-big-item"

/* [LINK-7] the spec's fixed handshake_timeout_ms and hello_timeout_ms (section 18), and
 * slack for a loaded machine. */
#define SETUP_TIMEOUT_MS 10000u
#define SETUP_SLACK_MS 2000u

/* ---- helpers ---------------------------------------------------------------------------- */

static const ib_id *id_of(const struct hn_peer *p)
{
	return ib_identity_id(hn_peer_identity(p));
}



struct frame_wait {
	const struct hn_peer *p;
	const struct ib_buf *frame;
};

static bool frame_arrived(void *arg)
{
	const struct frame_wait *fw = arg;

	return cf_copies(fw->p, (fw->frame)->ptr, (fw->frame)->len) || hn_peer_closed(fw->p);
}

/* Runs until p got frame, byte for byte; FAIL against req otherwise. */
static bool expect_frame(struct cf_ctx *c, struct hn_peer *p, const struct ib_buf *frame,
			 const char *req, const char *expected)
{
	struct frame_wait fw = { p, frame };

	if (!cf_run_until(c, frame_arrived, &fw, LINK_FRAME_MS) && !cf_ok(c))
		return false;
	return cf_expect(c, cf_copies(p, (frame)->ptr, (frame)->len) > 0, req, expected,
			 hn_peer_closed(p) ? "the IUT closed the link instead"
					   : "it did not arrive within %u ms", LINK_FRAME_MS);
}

/* A PUBLISH of key from p (its own frame, next seq); the bytes go to out. */
static bool send_publish(struct cf_ctx *c, struct hn_peer *p, const char *key,
			 struct ib_buf *out)
{
	struct ib_msg m;

	cf_msg_publish(&m, key, 1, "link test");
	ib_buf_reset(out);
	if (hn_peer_send(p, &m, NULL, NULL, false, out) == IB_OK)
		return true;
	cf_harness_error(c, "a tester cannot send");
	return false;
}

/* Appends m, signed by id with the given seq, to out (frames sent together in one write). */
static bool append_frame(struct cf_ctx *c, const struct ib_identity *id, struct ib_msg *m,
			 uint64_t seq, struct ib_buf *out)
{
	struct ib_buf msg = { 0 };
	bool ok;

	m->h.version = IB_PROTOCOL_VERSION;
	m->h.seq = seq;
	ok = ib_msg_encode(&msg, m) == IB_OK && ib_frame_sign(out, id, msg.ptr, msg.len) == IB_OK;
	ib_buf_free(&msg);
	if (!ok)
		cf_harness_error(c, "cannot sign a test frame");
	return ok;
}

static void msg_error(struct ib_msg *m, uint16_t code)
{
	memset(m, 0, sizeof *m);
	m->h.type = IB_MSG_ERROR;
	m->u.error.code = code;
	m->u.error.reason = (struct ib_slice){ (const uint8_t *)"conformance test", 16 };
}

/* Every frame p received is of type, or p received nothing but ERRORs when type is 0. */
static bool only_type(const struct hn_peer *p, uint8_t type, uint8_t *other)
{
	for (size_t i = 0; i < hn_peer_received(p); i++) {
		uint8_t t = hn_peer_got(p, i)->type;

		if (t != IB_MSG_ERROR && t != type) {
			*other = t;
			return false;
		}
	}
	return true;
}

static const char *closing_error(const struct hn_peer *p)
{
	const struct hn_got *err = hn_peer_last(p, IB_MSG_ERROR);

	return err ? ib_error_code_name(err->error_code) : "none";
}

/* [LINK-5] the ERROR was the last frame before the close. */
static bool expect_error_last(struct cf_ctx *c, const struct hn_peer *p)
{
	size_t n = hn_peer_received(p);
	uint8_t last = n ? hn_peer_got(p, n - 1)->type : 0;

	return cf_expect(c, last == IB_MSG_ERROR, "LINK-5",
			 "the IUT closes the link right after the ERROR it sends",
			 "a %s frame came after the ERROR", ib_msg_type_name(last));
}

/* The IUT as the child of tester T0 (*parent), which has the IUT's HELLO but not answered. */
static bool start_toward_parent(struct cf_ctx *c, struct hn_peer **parent, char *addr)
{
	struct cf_iut_opts o = { 0 };

	return cf_iut_start_toward(c, &o, 0, parent, addr) &&
	       cf_wait_type(c, *parent, IB_MSG_HELLO, 1, LINK_CLOSE_MS);
}

/* ---- LINK-1: HELLO first ------------------------------------------------------------------ */

static void test_frame_before_hello(struct cf_ctx *c)
{
	struct ib_buf f = { 0 };
	struct hn_peer *p;
	uint8_t other = 0;
	bool only_error;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 1)) || !cf_connect(c, p) ||
	    !send_publish(c, p, "conform-before-hello", &f) ||
	    !cf_wait_closed(c, p, IB_EC_PROTOCOL_VIOLATION, "LINK-1", LINK_CLOSE_MS))
		goto out;
	only_error = only_type(p, IB_MSG_ERROR, &other); /* sets other, read below */
	if (!cf_expect(c, only_error, "LINK-1",
		       "nothing but the ERROR on a link whose HELLO exchange did not happen",
		       "the IUT sent a %s frame", ib_msg_type_name(other)))
		goto out;
	expect_error_last(c, p);
out:
	ib_buf_free(&f);
}

static void test_server_quiet_before_hello(struct cf_ctx *c)
{
	struct hn_peer *a, *b, *x;
	struct ib_buf f = { 0 };
	size_t early;

	/* x has TLS but no HELLO yet while a's frames flow to the IUT's open links. */
	if (!cf_iut_start(c, NULL) || !(a = cf_peer(c, 1)) || !cf_link_child(c, a) ||
	    !(b = cf_peer(c, 2)) || !cf_link_child(c, b) || !(x = cf_peer(c, 3)) ||
	    !cf_connect(c, x) || !send_publish(c, a, "conform-quiet-1", &f) ||
	    !expect_frame(c, b, &f, "FLOOD-1", "a child's PUBLISH reaches the other child"))
		goto out;
	early = hn_peer_received(x);
	if (!cf_expect(c, early == 0, "LINK-1",
		       "nothing on a link before the client's HELLO (the server answers it)",
		       "the IUT sent %zu frame(s), the first a %s", early,
		       early ? ib_msg_type_name(hn_peer_got(x, 0)->type) : ""))
		goto out;
	if (hn_peer_send_hello(x, IB_ROLE_SERVER, 30000, NULL, 0) != IB_OK) {
		cf_harness_error(c, "cannot send HELLO");
		goto out;
	}
	if (!cf_wait_type(c, x, IB_MSG_HELLO, 1, LINK_CLOSE_MS) ||
	    !cf_expect(c, hn_peer_got(x, 0)->type == IB_MSG_HELLO, "LINK-1",
		       "the server's first frame is its HELLO", "it was a %s",
		       ib_msg_type_name(hn_peer_got(x, 0)->type)))
		goto out;
	/* Now open: x is one of the links a flood goes to. */
	if (send_publish(c, a, "conform-quiet-2", &f))
		expect_frame(c, x, &f, "FLOOD-1", "a child's PUBLISH reaches a child linked since");
out:
	ib_buf_free(&f);
}

static void test_client_hello_first(struct cf_ctx *c)
{
	char addr[IB_MAX_ADDR];
	struct hn_peer *parent, *q;
	struct ib_buf f = { 0 };
	uint16_t status;

	if (!start_toward_parent(c, &parent, addr) ||
	    !cf_expect(c, hn_peer_got(parent, 0)->type == IB_MSG_HELLO, "LINK-1",
		       "the client's first frame is its HELLO", "it was a %s",
		       ib_msg_type_name(hn_peer_got(parent, 0)->type)))
		goto out;
	/* A child's frame and command while the parent has not answered: nothing of it may
	 * go up; the RESULT proves the IUT handled the PUBLISH sent before the command. */
	if (!(q = cf_peer(c, 1)) || !cf_link_child(c, q) ||
	    !send_publish(c, q, "conform-client-wait", &f) ||
	    !cf_command(c, q, NULL, "ib.ping", NULL, 0, &status, NULL))
		goto out;
	if (!cf_expect(c, hn_peer_received(parent) == 1, "LINK-1",
		       "nothing but HELLO toward a parent that has not answered HELLO",
		       "the parent received %zu frames, the second a %s", hn_peer_received(parent),
		       ib_msg_type_name(hn_peer_received(parent) > 1 ? hn_peer_got(parent, 1)->type
								      : 0)))
		goto out;
	if (hn_peer_send_hello(parent, IB_ROLE_SERVER, 30000, NULL, 0) != IB_OK) {
		cf_harness_error(c, "cannot answer HELLO");
		goto out;
	}
	/* The same IUT command round trip makes sure it took the HELLO first. */
	if (cf_command(c, parent, NULL, "ib.ping", NULL, 0, &status, NULL) &&
	    send_publish(c, q, "conform-client-open", &f))
		expect_frame(c, parent, &f, "FLOOD-1",
			     "once HELLO is answered, a child's PUBLISH goes up to the parent");
out:
	ib_buf_free(&f);
}

static void test_client_frame_before_hello(struct cf_ctx *c)
{
	char addr[IB_MAX_ADDR];
	struct hn_peer *parent;
	struct ib_buf f = { 0 };

	/* The parent answers the IUT's HELLO with a PUBLISH. */
	if (start_toward_parent(c, &parent, addr) &&
	    send_publish(c, parent, "conform-parent-no-hello", &f) &&
	    cf_wait_closed(c, parent, IB_EC_PROTOCOL_VIOLATION, "LINK-1", LINK_CLOSE_MS))
		expect_error_last(c, parent);
	ib_buf_free(&f);
}

/* ---- LINK-3, LINK-6: hop-local frames from the wrong origin, HELLO twice ---------------- */

static bool send_hop(struct cf_ctx *c, struct hn_peer *p, struct ib_msg *m,
		     const struct ib_identity *signer)
{
	if (hn_peer_send(p, m, signer, NULL, false, NULL) == IB_OK)
		return true;
	cf_harness_error(c, "a tester cannot send");
	return false;
}

static void test_hop_local_foreign_origin(struct cf_ctx *c)
{
	struct hn_peer *a, *b, *d;
	struct ib_msg m;
	uint16_t status;

	if (!cf_iut_start(c, NULL) || !(a = cf_peer(c, 1)) || !cf_link_child(c, a) ||
	    !(b = cf_peer(c, 2)) || !cf_link_child(c, b) || !(d = cf_peer(c, 3)) ||
	    !cf_link_child(c, d))
		return;
	/* 0x0F, the last hop-local type (section 6), from another origin: hop-local all the
	 * same. */
	memset(&m, 0, sizeof m);
	m.h.type = 0x0f;
	if (!send_hop(c, d, &m, cf_tester_identity(c, 5)) ||
	    !cf_wait_closed(c, d, IB_EC_PROTOCOL_VIOLATION, "LINK-3", LINK_CLOSE_MS))
		return;
	/* [MSG-9] from a itself, an unassigned hop-local type is ignored: the link stays. */
	memset(&m, 0, sizeof m);
	m.h.type = 0x06;
	if (!send_hop(c, a, &m, NULL) || !cf_command(c, a, NULL, "ib.ping", NULL, 0, &status, NULL))
		return;
	/* The same type, signed by another authorized member: not the link's peer. */
	memset(&m, 0, sizeof m);
	m.h.type = 0x06;
	if (!send_hop(c, a, &m, cf_tester_identity(c, 5)) ||
	    !cf_wait_closed(c, a, IB_EC_PROTOCOL_VIOLATION, "LINK-3", LINK_CLOSE_MS))
		return;
	/* An ERROR from another origin is no ERROR of the peer's: the origin check comes
	 * first, and the IUT answers it with protocol_violation. */
	msg_error(&m, IB_EC_SHUTTING_DOWN);
	if (send_hop(c, b, &m, cf_tester_identity(c, 5)))
		cf_wait_closed(c, b, IB_EC_PROTOCOL_VIOLATION, "LINK-3", LINK_CLOSE_MS);
}

/* [LINK-17] A child's PATH, a child's PING, the parent's PONG: each closes its link with
 * protocol_violation. Each is valid but for its sender's role. */
static void test_hop_wrong_sender(struct cf_ctx *c)
{
	static const char nonce[IB_NONCE_MIN + 1] = "conform-role-016";
	struct cf_iut_opts o = { 0 };
	struct hn_peer *parent, *a, *b;
	char addr[IB_MAX_ADDR];
	struct ib_msg m;

	if (!cf_iut_start_toward(c, &o, 0, &parent, addr) || !cf_accept_child(c, parent, NULL, 0))
		return;
	hn_peer_unlisten(parent);
	if (!(a = cf_peer(c, 1)) || !cf_link_child(c, a) || !(b = cf_peer(c, 2)) ||
	    !cf_link_child(c, b))
		return;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PATH;
	m.u.path = (struct ib_path){ 1, cf_tester_id(c, 1)->b };
	if (!send_hop(c, a, &m, NULL) ||
	    !cf_wait_closed(c, a, IB_EC_PROTOCOL_VIOLATION, "LINK-17", LINK_CLOSE_MS))
		return;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PING;
	m.u.ping.nonce = (struct ib_slice){ (const uint8_t *)nonce, IB_NONCE_MIN };
	if (!send_hop(c, b, &m, NULL) ||
	    !cf_wait_closed(c, b, IB_EC_PROTOCOL_VIOLATION, "LINK-17", LINK_CLOSE_MS))
		return;
	m.h.type = IB_MSG_PONG;
	if (send_hop(c, parent, &m, NULL))
		cf_wait_closed(c, parent, IB_EC_PROTOCOL_VIOLATION, "LINK-17", LINK_CLOSE_MS);
}

/* [LINK-3] Before the HELLO exchange too (section 8.1 row 12): a HELLO signed by another
 * member than the link's TLS peer closes the link with protocol_violation, unanswered, even
 * when its path ends with the TLS peer as it should (so that only the origin is wrong). */
static void test_hello_foreign_origin(struct cf_ctx *c)
{
	struct hn_peer *p;
	struct ib_msg m;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 1)) || !cf_connect(c, p))
		return;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_HELLO;
	m.u.hello = (struct ib_hello){ IB_ROLE_SERVER, 30000, IB_MAX_MESSAGE_LIMIT,
				       { (const uint8_t *)"tester", 6 },
				       { 1, cf_tester_id(c, 1)->b } };
	if (!send_hop(c, p, &m, cf_tester_identity(c, 5)) ||
	    !cf_wait_closed(c, p, IB_EC_PROTOCOL_VIOLATION, "LINK-3", LINK_CLOSE_MS))
		return;
	cf_expect(c, hn_peer_count(p, IB_MSG_HELLO) == 0, "LINK-3",
		  "the IUT does not answer a HELLO whose origin is not the link's TLS peer",
		  "it answered with HELLO before closing");
}

static void test_second_hello(struct cf_ctx *c)
{
	struct hn_peer *p;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 1)) || !cf_link_child(c, p))
		return;
	if (hn_peer_send_hello(p, IB_ROLE_SERVER, 30000, NULL, 0) != IB_OK) {
		cf_harness_error(c, "cannot send HELLO");
		return;
	}
	if (cf_wait_closed(c, p, IB_EC_PROTOCOL_VIOLATION, "LINK-6", LINK_CLOSE_MS))
		expect_error_last(c, p);
}

/* ---- LINK-4: ERROR received ---------------------------------------------------------------- */

static void test_error_received(struct cf_ctx *c)
{
	static const char key[] = "conform-after-error";
	struct ib_buf both = { 0 }, publish = { 0 }, out = { 0 };
	struct ib_slice arg = { (const uint8_t *)key, sizeof key - 1 };
	struct hn_peer *a, *b, *x;
	struct ib_msg m;
	uint64_t seq;
	uint16_t status;

	if (!cf_iut_start(c, NULL) || !(a = cf_peer(c, 1)) || !cf_link_child(c, a) ||
	    !(b = cf_peer(c, 2)) || !cf_link_child(c, b))
		goto out;
	/* ERROR then a PUBLISH, in one write: the PUBLISH is after the ERROR on the link. */
	seq = cf_unix_us(c) + 1000;
	msg_error(&m, IB_EC_SHUTTING_DOWN);
	if (!append_frame(c, hn_peer_identity(a), &m, seq, &both))
		goto out;
	cf_msg_publish(&m, key, 1, "sent after ERROR");
	if (!append_frame(c, hn_peer_identity(a), &m, seq + 1, &publish) ||
	    ib_buf_put(&both, publish.ptr, publish.len) != IB_OK ||
	    hn_peer_send_raw(a, both.ptr, both.len) != IB_OK) {
		cf_harness_error(c, "cannot send ERROR and PUBLISH");
		goto out;
	}
	if (!cf_wait_closed(c, a, 0, "LINK-4", LINK_CLOSE_MS) ||
	    !cf_expect(c, hn_peer_count(a, IB_MSG_ERROR) == 0, "LINK-4",
		       "the IUT closes without answering the ERROR",
		       "it sent ERROR %s", hn_peer_count(a, IB_MSG_ERROR) ?
		       ib_error_code_name(hn_peer_last(a, IB_MSG_ERROR)->error_code) : ""))
		goto out;
	/* b's command round trip comes after anything the IUT did with that PUBLISH. */
	if (!cf_command(c, b, NULL, "ib.get", &arg, 1, &status, &out) ||
	    !cf_expect(c, cf_copies(b, (&publish)->ptr, (&publish)->len) == 0, "LINK-4",
		       "a frame after a received ERROR is not processed (not forwarded)",
		       "the PUBLISH sent after the ERROR reached another child") ||
	    !cf_expect(c, status == IB_STATUS_NOT_FOUND, "LINK-4",
		       "a frame after a received ERROR is not processed (not stored: ib.get "
		       "answers not_found)", "ib.get %s answered %s", key, ib_status_name(status)))
		goto out;
	/* The same before the HELLO exchange. */
	msg_error(&m, IB_EC_SHUTTING_DOWN);
	if (!(x = cf_peer(c, 3)) || !cf_connect(c, x) ||
	    hn_peer_send(x, &m, NULL, NULL, false, NULL) != IB_OK ||
	    !cf_wait_closed(c, x, 0, "LINK-4", LINK_CLOSE_MS))
		goto out;
	cf_expect(c, hn_peer_received(x) == 0, "LINK-4",
		  "an ERROR instead of HELLO: the IUT closes without answering",
		  "it sent %zu frame(s), the first a %s", hn_peer_received(x),
		  hn_peer_received(x) ? ib_msg_type_name(hn_peer_got(x, 0)->type) : "");
out:
	ib_buf_free(&both);
	ib_buf_free(&publish);
	ib_buf_free(&out);
}

/* ---- LINK-4: only a valid ERROR ends a link -------------------------------------------------- */

#define BAD_ERROR_CASES 5
#define INVALID_ERROR_MS 200u   /* time for a wrong close to show */

static bool peer_closed(void *arg)
{
	return hn_peer_closed(arg);
}

/* The n-th ERROR of p's own that fails a check of sections 5 to 7, as a whole frame in out. */
static bool bad_error_case(struct cf_ctx *c, struct hn_peer *p, int n, struct ib_buf *out,
			   const char **what)
{
	const struct ib_identity *id = hn_peer_identity(p);
	size_t sig_len = IB_SIG_LEN;
	struct ib_buf msg = { 0 };
	uint8_t sig[IB_SIG_LEN];
	struct ib_msg m;
	bool ok;

	msg_error(&m, IB_EC_PROTOCOL_VIOLATION);
	m.h.version = IB_PROTOCOL_VERSION;
	m.h.seq = cf_unix_us(c) + (uint64_t)n;
	ok = ib_msg_encode(&msg, &m) == IB_OK;
	switch (n) {
	case 0:
		*what = "an ERROR whose signature has one bit flipped [FRAME-6]";
		break;
	case 1:
		*what = "an ERROR with signature_length 63 [FRAME-3]";
		sig_len = IB_SIG_LEN - 1;
		break;
	case 2:
		*what = "an ERROR of message version 2 [MSG-1]";
		if (ok)
			msg.ptr[0] = 2;
		break;
	case 3:
		*what = "an ERROR whose reason is not UTF-8 [MSG-8]";
		if (ok)
			msg.ptr[IB_MSG_HEADER_LEN + 3] = 0xff;
		break;
	default:
		*what = "an ERROR with a byte after its reason [MSG-7]";
		ok = ok && ib_buf_put_u8(&msg, 0) == IB_OK;
		break;
	}
	ok = ok && ib_identity_sign(id, msg.ptr, msg.len, sig) == IB_OK;
	if (ok && n == 0)
		sig[40] ^= 0x10;
	ok = ok && cf_put_envelope(out, ib_identity_id(id), sig, sig_len, &msg);
	ib_buf_free(&msg);
	if (!ok)
		cf_harness_error(c, "cannot build a bad ERROR");
	return ok;
}

/* [LINK-4] An ERROR that fails a check of sections 5 to 7, from the link's own peer, on an
 * open link: it is dropped like any invalid frame (section 8.1), not taken as an ERROR. Each
 * is followed by a command, which the IUT must still answer on that link. */
static void test_invalid_error_dropped(struct cf_ctx *c)
{
	struct ib_buf bad = { 0 };
	struct hn_peer *p;
	char expected[200];
	const char *what;
	uint16_t status;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 1)) || !cf_link_child(c, p))
		return;
	for (int n = 0; n < BAD_ERROR_CASES; n++) {
		ib_buf_reset(&bad);
		if (!bad_error_case(c, p, n, &bad, &what))
			break;
		if (hn_peer_send_raw(p, bad.ptr, bad.len) != IB_OK) {
			cf_harness_error(c, "a tester cannot send");
			break;
		}
		snprintf(expected, sizeof expected, "%s from the link's peer is dropped: the link "
			 "stays open and its next command is answered", what);
		cf_run_until(c, peer_closed, p, INVALID_ERROR_MS);
		if (!cf_ok(c) ||
		    !cf_expect(c, !hn_peer_closed(p), "LINK-4", expected,
			       "the IUT closed the link (ERROR %s)", closing_error(p)) ||
		    !cf_command(c, p, NULL, "ib.ping", NULL, 0, &status, NULL))
			break;
	}
	ib_buf_free(&bad);
}

/* ---- LINK-9: a failed check before the HELLO exchange ------------------------------------- */

#define HELLO_WAIT_CASES 6

/* The n-th bad first frame of tester T<tester> (a HELLO, or a PUBLISH of the stranger), into
 * out, with the ERROR code the IUT must close with. */
static bool hello_wait_case(struct cf_ctx *c, int tester, int n, struct ib_buf *out,
			    uint16_t *code, const char **what)
{
	const struct ib_identity *id = cf_tester_identity(c, tester);
	size_t sig_len = IB_SIG_LEN;
	struct ib_buf msg = { 0 };
	uint8_t sig[IB_SIG_LEN];
	struct ib_msg m = { 0 };
	bool ok;

	*code = IB_EC_PROTOCOL_VIOLATION;
	m.h.type = IB_MSG_HELLO;
	m.u.hello = (struct ib_hello){ IB_ROLE_SERVER, 30000, IB_MAX_MESSAGE_LIMIT,
				       { (const uint8_t *)"conform", 7 },
				       { 1, ib_identity_id(id)->b } };
	switch (n) {
	case 0:
		*what = "a HELLO with signature_length 63 [FRAME-3]";
		sig_len = IB_SIG_LEN - 1;
		break;
	case 1:
		*what = "a HELLO whose signature has one bit flipped [FRAME-6]";
		break;
	case 2:
		*what = "a PUBLISH of the stranger, whose key the IUT does not know [FRAME-5]";
		tester = CF_STRANGER;
		id = cf_tester_identity(c, tester);
		cf_msg_publish(&m, "conform-hello-wait", 1, "stranger");
		break;
	case 3:
		*what = "a HELLO of version 2 [MSG-1]";
		*code = IB_EC_UNSUPPORTED_VERSION;
		break;
	case 4:
		*what = "the first 27 bytes of a HELLO, signed [MSG-2]";
		break;
	default:
		*what = "a HELLO with a byte after its path [MSG-7]";
		break;
	}
	m.h.version = IB_PROTOCOL_VERSION;
	m.h.seq = cf_next_seq(c, tester);
	ok = ib_msg_encode(&msg, &m) == IB_OK && (n != 5 || ib_buf_put_u8(&msg, 0) == IB_OK);
	if (ok && n == 3)
		msg.ptr[0] = 2;
	if (ok && n == 4)
		msg.len = IB_MSG_HEADER_LEN - 1;
	ok = ok && ib_identity_sign(id, msg.ptr, msg.len, sig) == IB_OK;
	if (ok && n == 1)
		sig[5] ^= 0x01;
	ok = ok && cf_put_envelope(out, ib_identity_id(id), sig, sig_len, &msg);
	ib_buf_free(&msg);
	if (!ok)
		cf_harness_error(c, "cannot build a bad first frame");
	return ok;
}

static bool got_any_hello(void *arg)
{
	return hn_peer_count(arg, IB_MSG_HELLO) > 0;
}

static bool closed_or_hello(void *arg)
{
	const struct hn_peer *p = arg;

	return hn_peer_closed(p) || hn_peer_count(p, IB_MSG_HELLO) > 0;
}

/* [LINK-9] Each case on a new connection of its own tester: the bad frame, then a valid HELLO
 * in the same write. The IUT closes with the case's code and never answers the HELLO: a node
 * that dropped the bad frame, as on an open link, would answer it. */
static void test_hello_wait_bad_frame(struct cf_ctx *c)
{
	struct ib_buf bad = { 0 };
	char expected[200];
	const char *what;
	uint16_t code;

	if (!cf_iut_start(c, NULL))
		return;
	for (int n = 0; n < HELLO_WAIT_CASES; n++) {
		struct hn_peer *p = cf_peer(c, 1 + n);

		ib_buf_reset(&bad);
		if (!p || !cf_connect(c, p) || !hello_wait_case(c, 1 + n, n, &bad, &code, &what))
			break;
		if (hn_peer_send_raw(p, bad.ptr, bad.len) != IB_OK ||
		    hn_peer_send_hello(p, IB_ROLE_SERVER, 30000, NULL, 0) != IB_OK) {
			cf_harness_error(c, "a tester cannot send");
			break;
		}
		snprintf(expected, sizeof expected, "%s before HELLO: the IUT closes with ERROR %s "
			 "and does not answer the valid HELLO that follows", what,
			 ib_error_code_name(code));
		cf_run_until(c, closed_or_hello, p, LINK_CLOSE_MS);
		if (!cf_ok(c) ||
		    !cf_expect(c, hn_peer_count(p, IB_MSG_HELLO) == 0, "LINK-9", expected,
			       "it answered the HELLO: it dropped the bad frame and waited on") ||
		    !cf_wait_closed(c, p, code, "LINK-9", LINK_CLOSE_MS))
			break;
	}
	ib_buf_free(&bad);
}

/* ---- LINK-11: an ERROR reaches a peer that is still sending -------------------------------- */

/* What the IUT owes T1 when it closes: LINGER_FRAMES PUBLISHes of LINGER_VALUE bytes (10.2
 * MB, more than the socket buffers between a sender and a peer that does not read hold: part
 * of it is still in the IUT's queue when it closes), then the ERROR. What T1 sent that the
 * IUT never reads: LINGER_FILLER frames of LINGER_FILL bytes after the frame that ends the
 * link. */
#define LINGER_FRAMES 170
#define LINGER_VALUE 60000
#define LINGER_FILLER 32
#define LINGER_FILL 8000
#define LINGER_MS 2000u     /* the spec's close_linger_ms */

/* A PUBLISH of value_len bytes, signed by id with the next seq of tester, appended to out. */
static bool append_publish(struct cf_ctx *c, int tester, const char *key, size_t value_len,
			   struct ib_buf *out)
{
	char *value = malloc(value_len + 1);
	struct ib_msg m;
	bool ok;

	if (!value) {
		cf_harness_error(c, "out of memory");
		return false;
	}
	memset(value, 'l', value_len);
	value[value_len] = '\0';
	cf_msg_publish(&m, key, 1, value);
	ok = append_frame(c, cf_tester_identity(c, tester), &m, cf_next_seq(c, tester), out);
	free(value);
	return ok;
}

/* reader stops reading; then tester `from` (its peer p) publishes count items of value_len
 * bytes, one write each, that the IUT forwards toward reader. */
static bool publish_to_paused(struct cf_ctx *c, struct hn_peer *reader, int from,
			      struct hn_peer *p, int count, size_t value_len, const char *prefix)
{
	struct ib_buf one = { 0 };
	char key[48];
	bool ok = true;

	hn_peer_pause(reader, true);
	for (int i = 0; ok && i < count; i++) {
		ib_buf_reset(&one);
		snprintf(key, sizeof key, "%s-%d", prefix, i);
		ok = append_publish(c, from, key, value_len, &one);
		if (ok && hn_peer_send_raw(p, one.ptr, one.len) != IB_OK) {
			cf_harness_error(c, "a tester cannot send");
			ok = false;
		}
		cf_run_for(c, 0);
	}
	ib_buf_free(&one);
	return ok;
}

/* The round trip: the IUT took every PUBLISH of publish_to_paused (and queued it toward the
 * reader, T<tester>) before asker's ib.info answers. Its answer says whether the reader is
 * still a child: a queue bound below 4 x max_message (a SHOULD of LINK-10) has closed its
 * link, and the test needs the IUT to hold it (NOT-APPLICABLE otherwise). */
static bool still_child_after_backlog(struct cf_ctx *c, struct hn_peer *asker, int tester)
{
	struct ib_buf info = { 0 };
	char hex[2 * IB_ID_LEN + 1];
	uint16_t status;
	bool held = false;

	if (!cf_command(c, asker, NULL, "ib.info", NULL, 0, &status, &info) ||
	    !cf_standard_ran(c, "ib.info", status))
		goto out;
	ib_id_to_hex(cf_tester_id(c, tester), hex);
	if (ib_buf_put(&info, "", 1) != IB_OK) {
		cf_harness_error(c, "out of memory");
		goto out;
	}
	held = strstr((const char *)info.ptr, hex) != NULL;
	if (!held)
		cf_not_applicable(c, "the IUT closed the link of a child that did not read 10.2 MB "
				  "(its queue bound is below 4 x max_message, a SHOULD of LINK-10)");
out:
	ib_buf_free(&info);
	return held;
}

/* T1 reads nothing while the IUT floods it 10.2 MB of T2's frames; then T1 sends a PING (a
 * child never does: protocol_violation) and more frames behind it, in one write. The IUT
 * owes T1 the queued frames and the ERROR, and holds bytes from T1 it will not read: closing
 * the socket at once would reset the connection and lose the ERROR. */
static void test_error_reaches_busy_peer(struct cf_ctx *c)
{
	static const uint8_t nonce[16] = "conform-linger16";
	/* No PING while T1 does not read: its link is to end by the violation only. */
	struct cf_iut_opts o = { .keepalive_interval_ms = 60000, .keepalive_timeout_ms = 60000 };
	struct ib_buf burst = { 0 };
	struct hn_peer *t1, *t2;
	struct ib_msg m;
	char key[48];

	if (!cf_iut_start(c, &o) || !(t1 = cf_peer(c, 1)) || !cf_link_child(c, t1) ||
	    !(t2 = cf_peer(c, 2)) || !cf_link_child(c, t2))
		goto out;
	if (!publish_to_paused(c, t1, 2, t2, LINGER_FRAMES, LINGER_VALUE, "conform-linger") ||
	    !still_child_after_backlog(c, t2, 1))
		goto out;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PING;
	m.u.ping.nonce = (struct ib_slice){ nonce, sizeof nonce };
	if (!append_frame(c, cf_tester_identity(c, 1), &m, cf_next_seq(c, 1), &burst))
		goto out;
	for (int i = 0; i < LINGER_FILLER; i++) {
		snprintf(key, sizeof key, "conform-linger-unread-%d", i);
		if (!append_publish(c, 1, key, LINGER_FILL, &burst))
			goto out;
	}
	if (hn_peer_send_raw(t1, burst.ptr, burst.len) != IB_OK) {
		cf_harness_error(c, "a tester cannot send");
		goto out;
	}
	cf_run_for(c, 200);
	hn_peer_pause(t1, false);
	cf_note(c, "T1 reads again, after %zu frames", hn_peer_received(t1));
	if (!cf_wait_closed(c, t1, IB_EC_PROTOCOL_VIOLATION, "LINK-11", LINGER_MS))
		goto out;
	cf_expect(c, hn_peer_count(t1, IB_MSG_PUBLISH) >= LINGER_FRAMES, "LINK-11",
		  "every frame the IUT queued before its ERROR reaches T1 before it",
		  "%zu of %d PUBLISHes arrived", hn_peer_count(t1, IB_MSG_PUBLISH), LINGER_FRAMES);
	cf_note(c, "T1 received %zu frames", hn_peer_received(t1));
out:
	ib_buf_free(&burst);
}

/* ---- LINK-11: after its FIN the IUT reads and discards ------------------------------------ */

/* What a stranger sends into a connection the IUT has closed: more than the kernels' socket
 * buffers hold between two sockets (Linux by default: tcp_rmem 6 MB + tcp_wmem 4 MB at
 * most). All of it goes through only if the IUT reads and throws it away, as [LINK-11] says
 * it must until the peer closes or close_linger_ms have passed; a node that only waits
 * stalls the sender, one that closes resets it. */
#define LINGER_DISCARD (32u << 20)

struct discarder {
	struct ib_loop *loop;
	int fd;
	bool iut_shut;              /* EOF read: the IUT's FIN */
	size_t sent;                /* after the FIN */
	char failure[128];
};

static void discarder_stop(struct discarder *d)
{
	if (d->fd < 0)
		return;
	ib_loop_unwatch(d->loop, d->fd);
	ib_net_close(d->fd);
	d->fd = -1;
}

static void on_discarder_read(struct discarder *d)
{
	uint8_t buf[4096];
	size_t got;
	int err;

	while ((err = ib_net_read(d->fd, buf, sizeof buf, &got)) == IB_OK)
		; /* a TLS alert, if any */
	if (err == IB_ERR_AGAIN)
		return;
	if (err != IB_ERR_CLOSED) {
		snprintf(d->failure, sizeof d->failure, "the IUT reset the connection instead "
			 "of shutting down its side (%s)", strerror(errno));
		ib_loop_unwatch(d->loop, d->fd);
		return;
	}
	d->iut_shut = true;
}

static void on_discarder_write(struct discarder *d)
{
	static const uint8_t junk[65536];

	while (d->sent < LINGER_DISCARD) {
		size_t want = LINGER_DISCARD - d->sent, sent;
		int err = ib_net_write(d->fd, junk, want < sizeof junk ? want : sizeof junk, &sent);

		if (err == IB_ERR_AGAIN)
			return;
		if (err != IB_OK) {
			snprintf(d->failure, sizeof d->failure, "a write failed after %zu bytes "
				 "(%s): the IUT closed its socket", d->sent, strerror(errno));
			break;
		}
		d->sent += sent;
	}
	ib_loop_unwatch(d->loop, d->fd);
}

static void on_discarder_event(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct discarder *d = arg;

	(void)fd;
	if (!d->iut_shut) {
		on_discarder_read(d);
		if (d->iut_shut && ib_loop_watch(loop, d->fd, IB_EV_WRITE, on_discarder_event,
						 d) != IB_OK)
			snprintf(d->failure, sizeof d->failure, "harness: cannot watch a socket");
		return;
	}
	if (events & (IB_EV_WRITE | IB_EV_ERROR))
		on_discarder_write(d);
}

static bool discarder_shut(void *arg)
{
	const struct discarder *d = arg;

	return d->iut_shut || d->failure[0];
}

static bool discarder_done(void *arg)
{
	const struct discarder *d = arg;

	return d->failure[0] || d->sent == LINGER_DISCARD;
}

/* A TCP connection that sends bytes that are no TLS, until the IUT's FIN (the IUT fails the
 * handshake and closes, or its handshake timer does, [LINK-12]). */
static bool stranger_shut(struct cf_ctx *c, struct discarder *d)
{
	static const char not_tls[] = "interbot? this is no TLS record\r\n\r\n";
	struct ib_diag diag = { 0 };
	size_t sent = 0;
	int err = IB_ERR_AGAIN;

	*d = (struct discarder){ .loop = cf_loop(c), .fd = -1 };
	if (ib_net_connect(cf_iut_host(c), cf_iut_port(c), &d->fd, &diag) != IB_OK) {
		cf_harness_error(c, "cannot connect to the IUT: %s", diag.reason);
		return false;
	}
	if (ib_loop_watch(d->loop, d->fd, IB_EV_READ, on_discarder_event, d) != IB_OK) {
		cf_harness_error(c, "cannot watch a socket");
		return false;
	}
	/* A connect in progress takes no bytes yet (AGAIN): try again a while. */
	for (int i = 0; i < 200; i++) {
		err = ib_net_write(d->fd, (const uint8_t *)not_tls, sizeof not_tls - 1, &sent);
		if (err != IB_ERR_AGAIN)
			break;
		cf_run_for(c, 10);
	}
	if (err != IB_OK || sent != sizeof not_tls - 1) {
		cf_harness_error(c, "cannot write to the IUT");
		return false;
	}
	return cf_wait(c, discarder_shut, d, SETUP_TIMEOUT_MS + SETUP_SLACK_MS,
		       "the IUT to close a connection that sent no TLS") &&
	       cf_expect(c, !d->failure[0], "LINK-11", "the IUT ends the connection with a FIN",
			 "%s", d->failure);
}

/* What the IUT's resident memory may grow by over LINGER_ROUNDS closed connections. */
#define RSS_SLACK_KB 2048

/* The time a node may take beyond close_linger_ms to close a lingering socket. */
#define LINGER_SLACK_MS 1000u

/* More connections closed than a node might keep lingering at once (the reference: 256),
 * ten at a time: each lingering close ends when its peer closes, whichever others still
 * linger, and must not count against the next ones. */
#define LINGER_ROUNDS 300

/* Strangers closed at once: each lingering close ends on its own while others go on, as
 * on a busy node, in the order they were made (not the reverse of it). */
#define LINGER_AT_ONCE 10

/* LINGER_AT_ONCE strangers, each shut by the IUT, then closed by this end oldest first. */
static bool strangers_shut_at_once(struct cf_ctx *c)
{
	struct discarder d[LINGER_AT_ONCE];
	bool ok = true;
	int made = 0;

	while (ok && made < LINGER_AT_ONCE)
		ok = stranger_shut(c, &d[made++]);
	for (int k = 0; k < made; k++)
		discarder_stop(&d[k]);
	return ok;
}

/* Strangers send bytes that are no TLS, LINGER_ROUNDS times (LINGER_AT_ONCE at a time),
 * closing after the IUT's FIN;
 * then one more: after its FIN, 32 MB that the IUT must read and discard within
 * close_linger_ms. */
static void test_linger_discards(struct cf_ctx *c)
{
	struct discarder d = { .fd = -1 }, busy = { .fd = -1 };
	int fds_before, fds_after, fds_rounds;
	long rss_before, rss_after;
	uint64_t shut_ms;

	if (!cf_iut_start(c, NULL))
		return;
	/* A first round, so that what the first connection allocates for good (TLS context
	 * caches, buffers) is in the baseline. */
	if (!stranger_shut(c, &d)) {
		discarder_stop(&d);
		return;
	}
	discarder_stop(&d);
	cf_run_for(c, 100);
	fds_before = cf_iut_open_fds(c);
	rss_before = cf_iut_rss_kb(c);
	for (int i = 0; i < LINGER_ROUNDS / LINGER_AT_ONCE; i++)
		if (!strangers_shut_at_once(c))
			return;
	/* Every lingering close has seen its peer's EOF by now, or will in a moment. */
	cf_run_for(c, 100);
	fds_after = fds_rounds = cf_iut_open_fds(c);
	if (fds_before >= 0 && fds_after >= 0 &&
	    !cf_expect(c, fds_after < fds_before + 16, "LINK-11",
		       "a lingering close ends with the socket closed: 300 strangers closed leave "
		       "the IUT's descriptors as they were",
		       "the IUT holds %d descriptors, %d before", fds_after, fds_before))
		return;
	/* Nor its memory: a closed connection is freed (a TLS object alone is tens of kB, so
	 * 300 kept would be megabytes). */
	rss_after = cf_iut_rss_kb(c);
	if (rss_before >= 0 && rss_after >= 0 &&
	    !cf_expect(c, rss_after < rss_before + RSS_SLACK_KB, "LINK-11",
		       "300 strangers closed leave the IUT's memory as it was (within 2 MB)",
		       "its resident memory grew from %ld to %ld kB", rss_before, rss_after))
		return;
	/* One more lingers while the last is judged, as on a busy node: a node that lost count
	 * of its lingering closes takes it for one too many, and closes the last at once. */
	if (!stranger_shut(c, &busy) || !stranger_shut(c, &d))
		goto out;
	shut_ms = cf_now_ms(c);
	cf_run_until(c, discarder_done, &d, LINGER_MS);
	if (!cf_expect(c, d.sent == LINGER_DISCARD, "LINK-11",
		       "after its FIN the IUT reads and discards what the peer still sends: 32 MB "
		       "(more than socket buffers hold) taken within close_linger_ms (2000 ms)",
		       "%zu bytes taken in %llu ms%s%s", d.sent,
		       (unsigned long long)(cf_now_ms(c) - shut_ms), d.failure[0] ? "; " : "",
		       d.failure))
		goto out;
	discarder_stop(&busy);
	/* The stranger never closes: once close_linger_ms have passed the IUT closes its
	 * socket anyway, its descriptors back to what they were after the rounds. */
	cf_pause(c, (uint32_t)(shut_ms + LINGER_MS + LINGER_SLACK_MS - cf_now_ms(c)));
	fds_after = cf_iut_open_fds(c);
	/* In self mode the process also holds this test's own end of the connection. */
	if (cf_mode(c) == CF_MODE_SELF)
		fds_rounds++;
	if (fds_rounds >= 0 && fds_after >= 0)
		cf_expect(c, fds_after <= fds_rounds, "LINK-11",
			  "close_linger_ms after its FIN the IUT has closed the socket of a peer "
			  "that never closed its side",
			  "%u ms after the FIN the IUT holds %d descriptors, %d before that "
			  "connection", LINGER_MS + LINGER_SLACK_MS, fds_after, fds_rounds);
out:
	discarder_stop(&busy);
	discarder_stop(&d);
}

/* ---- [LINK-22] waiting costs no CPU ------------------------------------------------------- */

#define IDLE_WINDOW_MS 1000u        /* each window the IUT only waits through */
#define IDLE_CPU_MAX_PCT 10.0       /* of one core; a node that spins uses all of it */
#define IDLE_TURNS 1000u            /* self mode: turns of the loop at one instant, of which
				     * under 10 % may find work */

/* How much of the window the IUT worked, in percent. In cmd mode, its CPU time over
 * IDLE_WINDOW_MS of real time (never scaled: the share is what is judged); -1 when the suite
 * cannot read it. In self mode the node shares this process and a virtual clock that stands
 * still while anything is ready, so a node that spins would hold time itself: the share of
 * IDLE_TURNS turns of the loop, at one instant, that found a callback to call. */
static double idle_work_pct(struct cf_ctx *c)
{
	long before, after;
	unsigned busy = 0;

	if (cf_mode(c) == CF_MODE_SELF) {
		for (unsigned i = 0; i < IDLE_TURNS; i++)
			busy += ib_loop_run_once(cf_loop(c), 0) > 0;
		return 100.0 * busy / IDLE_TURNS;
	}
	before = cf_iut_cpu_ms(c);
	cf_pause(c, IDLE_WINDOW_MS);
	after = cf_iut_cpu_ms(c);
	if (before < 0 || after < before)
		return -1;
	return 100.0 * (double)(after - before) / IDLE_WINDOW_MS;
}

/* The IUT with a child T2 that answers its PINGs: over a second it only waits, and uses
 * under 10 % of a core. Then a stranger sends bytes that are no TLS and never closes its side
 * after the IUT's FIN: the second that follows, inside close_linger_ms, costs no more. A node
 * that asks to be woken when a socket is writable with nothing to write (or once its FIN is
 * out: such a socket is writable at every instant) turns at full speed. */
static void test_idle_costs_no_cpu(struct cf_ctx *c)
{
	struct discarder d = { .fd = -1 };
	struct hn_peer *t2;
	double linked, lingering;

	if (!cf_iut_start(c, NULL) || !(t2 = cf_peer(c, 2)) || !cf_link_child(c, t2))
		return;
	cf_run_for(c, 200); /* what linking started (the first PATH, ANNOUNCE) is done */
	linked = idle_work_pct(c);
	if (linked < 0) {
		cf_not_applicable(c, "the IUT's CPU time cannot be read (/proc/PID/stat)");
		return;
	}
	cf_note(c, "linked and idle: %.1f %%", linked);
	if (!cf_expect(c, linked < IDLE_CPU_MAX_PCT, "LINK-22",
		       "with one child linked and nothing to do, the IUT waits: under 10 % of a "
		       "core over 1 s", cf_mode(c) == CF_MODE_SELF
		       ? "%.0f %% of the loop's turns at one instant called a callback"
		       : "it used %.0f %% of a core", linked))
		return;
	if (!stranger_shut(c, &d))
		goto out;
	/* The stranger reads no more (its EOF would be ready at every turn) and never closes. */
	ib_loop_unwatch(d.loop, d.fd);
	lingering = idle_work_pct(c);
	cf_note(c, "lingering: %.1f %%", lingering);
	cf_expect(c, lingering >= 0 && lingering < IDLE_CPU_MAX_PCT, "LINK-22",
		  "while it lingers on a connection it shut down ([LINK-11]) whose peer never "
		  "closes, the IUT waits: under 10 % of a core over 1 s",
		  cf_mode(c) == CF_MODE_SELF
		  ? "%.0f %% of the loop's turns at one instant called a callback"
		  : "it used %.0f %% of a core", lingering);
out:
	discarder_stop(&d);
}

/* ---- FLOOD-1: a backlog larger than the socket buffers drains on its own ------------------- */

/* 10.2 MB of frames toward a child that reads nothing: more than the kernels' buffers hold
 * (about 4 MB here), well under the queue the spec asks a node to allow (4 x max_message,
 * [LINK-10]). */
#define BACKLOG_FRAMES 170
#define BACKLOG_VALUE 60000
#define BACKLOG_DRAIN_MS 3000u

struct backlog {
	struct hn_peer *p;
	size_t want;
};

static bool backlog_received(void *arg)
{
	const struct backlog *b = arg;

	return hn_peer_count(b->p, IB_MSG_PUBLISH) >= b->want || hn_peer_closed(b->p);
}

/* T1 stops reading while T0 publishes 10.2 MB; then T1 reads again and nothing else happens:
 * every frame must reach it. A node that writes only when it has something new to send
 * (not when its socket can take more) leaves the rest of its queue unsent. */
static void test_backlog_drains(struct cf_ctx *c)
{
	/* No PING for a minute: nothing but the backlog itself may push the backlog. */
	struct cf_iut_opts o = { .keepalive_interval_ms = 60000, .keepalive_timeout_ms = 60000 };
	struct hn_peer *t0, *t1;
	const struct hn_got *err;
	struct backlog b;
	uint16_t status;

	if (!cf_iut_start(c, &o) || !(t0 = cf_peer(c, 0)) || !cf_link_child(c, t0) ||
	    !(t1 = cf_peer(c, 1)) || !cf_link_child(c, t1))
		goto out;
	if (!publish_to_paused(c, t1, 0, t0, BACKLOG_FRAMES, BACKLOG_VALUE, "conform-backlog"))
		goto out;
	/* The round trip: the IUT took every PUBLISH, and queued it toward T1, before this. */
	if (!cf_command(c, t0, NULL, "ib.ping", NULL, 0, &status, NULL))
		goto out;
	cf_run_for(c, 200);
	hn_peer_pause(t1, false);
	b.p = t1;
	b.want = BACKLOG_FRAMES;
	cf_run_until(c, backlog_received, &b, BACKLOG_DRAIN_MS);
	/* A link closed for its queue (without ERROR, or too_big) shows a bound below what the
	 * spec asks a node to allow, not a backlog left unsent; another close (a PING that
	 * waited behind the stalled backlog: keepalive_timeout) is what this test looks for. */
	err = hn_peer_last(t1, IB_MSG_ERROR);
	if (hn_peer_closed(t1) && cf_ok(c) && hn_peer_count(t1, IB_MSG_PUBLISH) < BACKLOG_FRAMES &&
	    (!err || err->error_code == IB_EC_TOO_BIG)) {
		cf_not_applicable(c, "the IUT closed the link of a child that did not read %.1f MB "
				  "(its queue bound is below 4 x max_message, a SHOULD of LINK-10)",
				  BACKLOG_FRAMES * (double)BACKLOG_VALUE / 1e6);
		goto out;
	}
	cf_expect(c, hn_peer_count(t1, IB_MSG_PUBLISH) >= BACKLOG_FRAMES, "FLOOD-1",
		  "all 170 frames (10.2 MB) queued while T1 did not read reach it once it reads "
		  "again, with no other traffic to push them",
		  "%zu of 170 arrived within %u ms%s%s", hn_peer_count(t1, IB_MSG_PUBLISH),
		  BACKLOG_DRAIN_MS, err ? "; then ERROR " : "",
		  err ? ib_error_code_name(err->error_code) : "");
out:
	return;
}

/* ---- LINK-2: a bounded write queue ---------------------------------------------------------- */

/* Whether ib.info's children= line names p: the IUT still has the link. */
static bool info_lists_child(const struct ib_buf *info, const struct hn_peer *p)
{
	char hex[2 * IB_ID_LEN + 1];
	const char *text = (const char *)info->ptr, *end = text + info->len;

	ib_id_to_hex(id_of(p), hex);
	for (const char *line = text; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);

		if (len >= 9 && !memcmp(line, "children=", 9))
			for (size_t i = 9; i + 2 * IB_ID_LEN <= len; i++)
				if (!memcmp(line + i, hex, 2 * IB_ID_LEN))
					return true;
		line += len + 1;
	}
	return false;
}

/* QUEUE_ANSWERS newer versions of QUEUE_KEY from q, each forwarded to the other child; a
 * few at a time, so that the IUT reads them as they come. */
static void publish_many(struct cf_ctx *c, struct hn_peer *q, const char *value)
{
	struct ib_msg m;

	for (int i = 0; i < QUEUE_ANSWERS; i++) {
		cf_msg_publish(&m, QUEUE_KEY, 2 + (uint64_t)i, value);
		if (hn_peer_send(q, &m, NULL, NULL, false, NULL) != IB_OK) {
			cf_harness_error(c, "T1 cannot publish");
			return;
		}
		if (i % 8 == 7)
			cf_run_for(c, 0);
	}
}

/* Polls ib.info from q until it no longer lists p as a child; false if it still does. */
static bool wait_child_gone(struct cf_ctx *c, struct hn_peer *q, const struct hn_peer *p,
			    bool *gone)
{
	struct ib_buf info = { 0 };
	uint16_t status = 0;
	bool ok = true;

	*gone = false;
	for (int round = 0; ok && !*gone && round < 40; round++) {
		ok = cf_command(c, q, NULL, "ib.info", NULL, 0, &status, &info) &&
		     cf_expect(c, status == IB_STATUS_OK, "CMD-3", "ib.info answers ok",
			       "status %s", ib_status_name(status));
		*gone = ok && !info_lists_child(&info, p);
		if (ok && !*gone)
			cf_run_for(c, 50);
	}
	ib_buf_free(&info);
	return ok;
}

static void test_queue_bounded(struct cf_ctx *c)
{
	struct cf_iut_opts o = { 0 };
	struct hn_peer *q, *p;
	struct ib_buf f = { 0 };
	struct ib_msg m;
	char *value = malloc(QUEUE_VALUE + 1);
	const struct hn_got *err;
	uint16_t status;
	bool gone;

	/* Small frames, so that the bound is small too; no PING to a peer that cannot answer. */
	o.max_message = IB_MAX_MESSAGE_MIN;
	o.keepalive_interval_ms = 600000;
	if (!value) {
		cf_harness_error(c, "out of memory");
		return;
	}
	memset(value, 'q', QUEUE_VALUE);
	value[QUEUE_VALUE] = 0;
	cf_msg_publish(&m, QUEUE_KEY, 1, value);
	/* q stores a large item, and checks it is there: the IUT takes its frames. */
	if (!cf_iut_start(c, &o) || !(q = cf_peer(c, 1)) || !cf_link_child(c, q) ||
	    hn_peer_send(q, &m, NULL, NULL, false, &f) != IB_OK ||
	    !cf_command(c, q, NULL, "ib.get",
			&(struct ib_slice){ (const uint8_t *)QUEUE_KEY, strlen(QUEUE_KEY) }, 1,
			&status, NULL) ||
	    !cf_expect(c, status == IB_STATUS_OK, "DATA-7", "the IUT stores a tester's PUBLISH",
		       "ib.get answered %s", ib_status_name(status)))
		goto out;
	/* p, which announces the largest max_message, reads nothing while q publishes newer
	 * versions, each forwarded to p. */
	if (!(p = cf_peer(c, 2)))
		goto out;
	hn_peer_set_max_message(p, IB_MAX_MESSAGE_LIMIT);
	if (!cf_link_child(c, p))
		goto out;
	hn_peer_pause(p, true);
	publish_many(c, q, value);
	if (!cf_ok(c))
		goto out;
	if (!wait_child_gone(c, q, p, &gone) ||
	    !cf_expect(c, gone, "LINK-10",
		       "the IUT closes a link whose peer reads nothing once its write queue passes "
		       "16 x its own max_message (64 KiB) + 1 MiB, whatever the peer announced "
		       "(16 MiB)", "after %d frames of %d bytes toward T2 (about %d MB), the link "
		       "was still open (ib.info lists T2)", QUEUE_ANSWERS, QUEUE_VALUE,
		       QUEUE_ANSWERS * QUEUE_VALUE / 1000000))
		goto out;
	hn_peer_pause(p, false);
	if (!cf_wait_closed(c, p, 0, "LINK-2", LINK_CLOSE_MS))
		goto out;
	/* An ERROR may not get through a full queue; if one does, it says too_big. */
	err = hn_peer_last(p, IB_MSG_ERROR);
	if (!cf_expect(c, !err || err->error_code == IB_EC_TOO_BIG, "LINK-2",
		       "a queue overflow closes with too_big (or no ERROR at all)",
		       "it closed with ERROR %s", err ? ib_error_code_name(err->error_code) : "") ||
	    !cf_expect(c, hn_peer_count(p, IB_MSG_PUBLISH) < QUEUE_ANSWERS, "LINK-2",
		       "the frames beyond the bound are dropped with the link",
		       "T2 received all %d frames", QUEUE_ANSWERS))
		goto out;
	/* The others are still served. */
	if (cf_command(c, q, NULL, "ib.ping", NULL, 0, &status, NULL))
		cf_expect(c, status == IB_STATUS_OK, "LINK-2",
			  "the IUT keeps serving its other links", "ib.ping answered %s",
			  ib_status_name(status));
out:
	free(value);
	ib_buf_free(&f);
}

/* ---- LINK-7: bounded set-up time ------------------------------------------------------------ */

/* A TCP connection that never starts TLS; -1 if it cannot be made. */
static int connect_tcp(const char *host, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1 || (fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct setup_wait {
	int fd;
	bool tcp_closed;
	struct hn_peer *tls_only;
};

/* Both idle connections were closed by the IUT (EOF or reset on the TCP one). */
static bool both_closed(void *arg)
{
	struct setup_wait *sw = arg;
	char byte;

	if (!sw->tcp_closed) {
		ssize_t n = recv(sw->fd, &byte, 1, 0);

		sw->tcp_closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
	}
	return sw->tcp_closed && hn_peer_closed(sw->tls_only);
}

static void test_setup_timeout(struct cf_ctx *c)
{
	struct setup_wait sw = { -1, false, NULL };
	const struct hn_got *err;

	if (!cf_iut_start(c, NULL) || !(sw.tls_only = cf_peer(c, 1)) || !cf_connect(c, sw.tls_only))
		goto out;
	sw.fd = connect_tcp(cf_iut_host(c), cf_iut_port(c));
	if (sw.fd < 0) {
		cf_harness_error(c, "cannot open a TCP connection to the IUT");
		goto out;
	}
	cf_run_until(c, both_closed, &sw, SETUP_TIMEOUT_MS + SETUP_SLACK_MS);
	if (!cf_ok(c) ||
	    !cf_expect(c, sw.tcp_closed, "LINK-7",
		       "a TCP connection that never starts TLS is closed after handshake_timeout_ms "
		       "(10 s)", "it was still open after %u ms", SETUP_TIMEOUT_MS + SETUP_SLACK_MS) ||
	    !cf_expect(c, hn_peer_closed(sw.tls_only), "LINK-7",
		       "a link that never sends HELLO is closed after hello_timeout_ms (10 s)",
		       "it was still open after %u ms", SETUP_TIMEOUT_MS + SETUP_SLACK_MS))
		goto out;
	/* The state table: HELLO-WAIT and hello_timeout_ms elapsed: close with
	 * protocol_violation. */
	err = hn_peer_last(sw.tls_only, IB_MSG_ERROR);
	cf_expect(c, err && err->error_code == IB_EC_PROTOCOL_VIOLATION, "LINK-7",
		  "no HELLO in time: the IUT closes with ERROR protocol_violation",
		  err ? "it closed with ERROR %s" : "it closed without an ERROR frame",
		  err ? ib_error_code_name(err->error_code) : "");
out:
	if (sw.fd >= 0)
		close(sw.fd);
}

/* ---- LINK-12: when the set-up timers start, on both ends ----------------------------------- */

#define TLS_STALL_MS 5000u      /* a tester holds the TLS handshake this long */
#define HELLO_LATE_MS 7000u     /* then sends, or answers, HELLO this long after it */

static bool tls_settled(void *arg)
{
	const struct hn_peer *p = arg;

	return hn_peer_tls_open(p) || hn_peer_closed(p);
}

/* [LINK-12] The IUT as server: T1 takes 5 s over its side of the TLS handshake, then sends
 * HELLO 7 s after it, 12 s after its TCP connect. A HELLO timer that started at the TCP
 * accept (one 10 s budget for both) would have closed the connection. */
static void test_hello_timer_from_tls(struct cf_ctx *c)
{
	struct hn_peer *p;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 1)))
		return;
	hn_peer_pause(p, true);
	if (hn_peer_connect_to(p, cf_iut_host(c), cf_iut_port(c)) != IB_OK) {
		cf_harness_error(c, "cannot connect to %s:%u", cf_iut_host(c), cf_iut_port(c));
		return;
	}
	cf_pause(c, TLS_STALL_MS);
	hn_peer_pause(p, false);
	cf_run_until(c, tls_settled, p, LINK_CLOSE_MS);
	if (!cf_ok(c) ||
	    !cf_expect(c, hn_peer_tls_open(p), "LINK-12", "a TLS handshake that takes 5 s "
		       "completes (handshake_timeout_ms is 10 s)", "it failed: %s",
		       hn_peer_failure(p)[0] ? hn_peer_failure(p) : "connection closed"))
		return;
	cf_pause(c, HELLO_LATE_MS);
	if (!cf_expect(c, !hn_peer_closed(p), "LINK-12", "7 s after TLS completed (12 s after "
		       "the TCP connect) the IUT still waits for HELLO: hello_timeout_ms counts "
		       "from the end of TLS", "it had closed the connection (ERROR %s)",
		       closing_error(p)))
		return;
	if (hn_peer_send_hello(p, IB_ROLE_SERVER, 30000, NULL, 0) != IB_OK) {
		cf_harness_error(c, "cannot send HELLO");
		return;
	}
	if (cf_wait_type(c, p, IB_MSG_HELLO, 1, LINK_CLOSE_MS))
		cf_expect(c, !hn_peer_closed(p), "LINK-12", "the IUT answers the late HELLO and "
			  "keeps the link", "it closed the connection (ERROR %s)",
			  closing_error(p));
}

/* [LINK-12] The IUT as client applies the HELLO timer too: its parent (T0) completes TLS and
 * never answers the IUT's HELLO; it is given up after hello_timeout_ms with
 * protocol_violation. */
static void test_client_hello_timer(struct cf_ctx *c)
{
	char addr[IB_MAX_ADDR];
	struct cf_iut_opts o = { 0 };
	struct hn_peer *p;

	if (!(p = cf_peer(c, 0)) || !cf_listen_parent(c, p, addr))
		return;
	o.parents[o.nparents++] = addr;
	if (cf_iut_start(c, &o) && cf_wait_type(c, p, IB_MSG_HELLO, 1, LINK_CLOSE_MS))
		cf_wait_closed(c, p, IB_EC_PROTOCOL_VIOLATION, "LINK-12",
			       SETUP_TIMEOUT_MS + SETUP_SLACK_MS);
}

/* [LINK-12] The client's HELLO timer counts from the end of TLS: the parent (T1) holds TLS
 * 5 s, then answers the IUT's HELLO 7 s after it, 12 s after the TCP connect: the IUT joins
 * it. (A separate test from the one above, so that the two 10 s waits run side by side.) */
static void test_client_hello_timer_from_tls(struct cf_ctx *c)
{
	char addr[IB_MAX_ADDR];
	struct cf_iut_opts o = { 0 };
	struct hn_peer *p;

	if (!(p = cf_peer(c, 1)))
		return;
	hn_peer_pause(p, true);
	if (!cf_listen_parent(c, p, addr))
		return;
	o.parents[o.nparents++] = addr;
	if (!cf_iut_start(c, &o))
		return;
	cf_pause(c, TLS_STALL_MS);
	hn_peer_pause(p, false);
	if (!cf_wait_type(c, p, IB_MSG_HELLO, 1, LINK_CLOSE_MS))
		return;
	cf_pause(c, HELLO_LATE_MS);
	if (!cf_expect(c, !hn_peer_closed(p), "LINK-12", "7 s after TLS completed (12 s after "
		       "its TCP connect) the IUT still waits for the parent's HELLO: "
		       "hello_timeout_ms counts from the end of TLS", "it had closed the "
		       "connection (ERROR %s)", closing_error(p)))
		return;
	if (hn_peer_send_hello(p, IB_ROLE_SERVER, CF_KEEPALIVE_MS, NULL, 0) != IB_OK) {
		cf_harness_error(c, "cannot answer HELLO");
		return;
	}
	if (cf_wait_type(c, p, IB_MSG_ANNOUNCE, 1, LINK_CLOSE_MS))
		cf_expect(c, !hn_peer_closed(p), "LINK-12", "the IUT joins the parent that "
			  "answered late", "it closed the link (ERROR %s)", closing_error(p));
}

/* [LINK-12] The setup deadlines end when the link opens: a child linked at once, answering
 * PINGs, is still linked 12 s later (the TLS and HELLO deadlines are 10 s). A node that
 * leaves its setup timer running closes it then. */
static void test_open_past_setup_deadline(struct cf_ctx *c)
{
	struct hn_peer *p;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		return;
	cf_pause(c, SETUP_TIMEOUT_MS + SETUP_SLACK_MS);
	cf_expect(c, !hn_peer_closed(p), "LINK-12",
		  "an open link outlives the setup deadlines (10 s): they end when it opens",
		  "the IUT closed it (ERROR %s)", closing_error(p));
}

/* [LINK-12] The handshake timer bounds the TCP connect: a first parent whose address never
 * answers is given up after handshake_timeout_ms, and the second one gets the IUT's HELLO. */
static void test_connect_timeout(struct cf_ctx *c)
{
	int fds[CF_HOLE_FILL + 1], syn_before;
	char hole[IB_MAX_ADDR], addr[IB_MAX_ADDR];
	struct cf_iut_opts o = { 0 };
	struct hn_peer *p;
	uint16_t hole_port;

	if (!cf_black_hole(c, fds, "127.0.0.1", 0, hole)) {
		cf_harness_error(c, "cannot make an address that drops TCP connects: %s",
				 strerror(errno));
		goto out;
	}
	if (!(p = cf_peer(c, 0)) || !cf_listen_parent(c, p, addr))
		goto out;
	o.parents[0] = hole;
	o.parents[1] = addr;
	o.nparents = 2;
	hole_port = (uint16_t)atoi(strrchr(hole, ':') + 1);
	syn_before = cf_syn_sent_to(hole_port, false);
	if (!cf_iut_start(c, &o))
		goto out;
	cf_run_until(c, got_any_hello, p, SETUP_TIMEOUT_MS + SETUP_SLACK_MS);
	if (!cf_ok(c) ||
	    !cf_expect(c, hn_peer_count(p, IB_MSG_HELLO) > 0, "LINK-12", "a parent whose "
		       "address never answers the TCP connect is given up after "
		       "handshake_timeout_ms (10 s): the next parent gets the IUT's HELLO",
		       "it got nothing within %u ms", SETUP_TIMEOUT_MS + SETUP_SLACK_MS))
		goto out;
	/* Given up means closed: a connect left open keeps sending SYNs for minutes. (The
	 * harness's own sockets that fill the black hole are counted before.) */
	if (syn_before >= 0)
		cf_expect(c, cf_syn_sent_to(hole_port, false) <= syn_before, "LINK-12",
			  "the connect given up is closed: no socket still sends SYNs to it",
			  "%d sockets in SYN-SENT toward %s, %d before the IUT started",
			  cf_syn_sent_to(hole_port, false), hole, syn_before);
out:
	cf_black_hole_close(fds);
}

/* The port of "host:port". */
static uint16_t port_of(const char *addr)
{
	const char *colon = strrchr(addr, ':');

	return colon ? (uint16_t)atoi(colon + 1) : 0;
}

/* ---- LINK-13: stopping, with connections not yet linked ------------------------------------ */

/* The frames p received from index `from` on: nothing but one ERROR shutting_down, last. */
static bool only_goodbye_since(struct cf_ctx *c, const struct hn_peer *p, size_t from,
			       const char *who)
{
	size_t n = hn_peer_received(p);

	for (size_t i = from; i < n; i++) {
		const struct hn_got *g = hn_peer_got(p, i);

		/* A PING may have left just before the stop: keep-alive, not a goodbye. */
		if (!cf_expect(c, g->type == IB_MSG_ERROR || g->type == IB_MSG_PING, "LINK-13",
			       "a stopping node sends nothing but ERROR shutting_down: no "
			       "ANNOUNCE, PARTED or PATH", "%s received a %s after the stop began",
			       who, ib_msg_type_name(g->type)))
			return false;
	}
	return cf_expect(c, n > from && hn_peer_got(p, n - 1)->error_code == IB_EC_SHUTTING_DOWN,
			 "LINK-13", "the stopping node says goodbye with ERROR shutting_down",
			 "%s received %s", who, n > from ? "another ERROR" : "no ERROR");
}

/* [LINK-13] T1 and T2 are linked, T3 has TLS but has not sent HELLO. The IUT stops: T3 too
 * gets ERROR shutting_down ([LINK-1] allows an ERROR before HELLO), and T1 and T2 get
 * nothing else (a PARTED for the other, an ANNOUNCE, a PATH) before their goodbye. */
static void test_shutdown_hello_wait(struct cf_ctx *c)
{
	struct hn_peer *t1, *t2, *t3;
	size_t n1, n2;

	if (!cf_iut_start(c, NULL) || !(t1 = cf_peer(c, 1)) || !cf_link_child(c, t1) ||
	    !(t2 = cf_peer(c, 2)) || !cf_link_child(c, t2) || !(t3 = cf_peer(c, 3)) ||
	    !cf_connect(c, t3))
		return;
	cf_run_for(c, 100);
	n1 = hn_peer_received(t1);
	n2 = hn_peer_received(t2);
	if (!cf_iut_stop(c) ||
	    !cf_wait_closed(c, t3, IB_EC_SHUTTING_DOWN, "LINK-13", LINK_CLOSE_MS) ||
	    !cf_expect(c, hn_peer_received(t3) == 1, "LINK-13", "a connection in HELLO-WAIT gets "
		       "ERROR shutting_down and nothing else", "it received %zu frames",
		       hn_peer_received(t3)) ||
	    !cf_wait_closed(c, t1, IB_EC_SHUTTING_DOWN, "LINK-8", LINK_CLOSE_MS) ||
	    !cf_wait_closed(c, t2, IB_EC_SHUTTING_DOWN, "LINK-8", LINK_CLOSE_MS))
		return;
	if (only_goodbye_since(c, t1, n1, "T1"))
		only_goodbye_since(c, t2, n2, "T2");
}

/* [LINK-8] The IUT, the child of T0 and the parent of T1, stops: both links get ERROR
 * shutting_down, the one to its parent as well as the one to its child (a parent too must
 * tell a clean stop of its child from a crash). */
static void test_shutdown_parent(struct cf_ctx *c)
{
	/* The parent link lasts longer than reconnect_max_ms before the stop: a node that goes
	 * on would start a round of joins at once when it ends ([TREE-14]). */
	struct cf_iut_opts o = { .reconnect_min_ms = 100, .reconnect_max_ms = 200 };
	struct hn_peer *parent, *child;
	char addr[IB_MAX_ADDR], name[128] = "";
	struct ib_diag diag = { 0 };
	int again = -1, conn = -1;
	uint16_t status;
	size_t mark;

	if (!cf_iut_start_toward(c, &o, 0, &parent, addr) || !cf_accept_child(c, parent, NULL, 0))
		return;
	hn_peer_unlisten(parent);
	/* The parent's address listens again, without accepting: a stopping node must not
	 * connect there once it has closed its parent link ([LINK-13]). */
	if (ib_net_listen("127.0.0.1", port_of(addr), &again, NULL, &diag) != IB_OK) {
		cf_harness_error(c, "cannot listen again on %s: %s", addr, diag.reason);
		return;
	}
	/* Its answer shows that the IUT took the parent's HELLO: the link to T0 is open. */
	if (!cf_command(c, parent, NULL, "ib.ping", NULL, 0, &status, NULL) ||
	    !(child = cf_peer(c, 1)) || !cf_link_child(c, child))
		goto out;
	cf_run_for(c, 300);
	mark = hn_peer_received(child);
	if (!cf_iut_stop(c) ||
	    !cf_wait_closed(c, parent, IB_EC_SHUTTING_DOWN, "LINK-8", LINK_CLOSE_MS) ||
	    !cf_wait_closed(c, child, IB_EC_SHUTTING_DOWN, "LINK-8", LINK_CLOSE_MS))
		goto out;
	/* [LINK-13] Leaving its parent does not make it a root that tells its child so: a
	 * node that closed the parent link first would send the child PATH [IUT]. */
	if (!only_goodbye_since(c, child, mark, "T1 (its child)"))
		goto out;
	cf_expect(c, ib_net_accept(again, &conn, name, sizeof name) == IB_ERR_AGAIN, "LINK-13",
		  "a stopping node does not connect to its parent's address again",
		  "it connected there (%s) after SIGTERM", name);
out:
	if (conn >= 0)
		ib_net_close(conn);
	ib_net_close(again);
}

/* Whether a TCP connection to the IUT's port is established (within 100 ms). */
static bool accepts_tcp(struct cf_ctx *c)
{
	struct ib_diag diag = { 0 };
	bool established;
	int fd = -1;

	if (ib_net_connect(cf_iut_host(c), cf_iut_port(c), &fd, &diag) != IB_OK)
		return false;
	cf_run_for(c, 100);
	established = ib_net_connect_result(fd) == IB_OK;
	ib_net_close(fd);
	return established;
}

/* [LINK-11] [LINK-13] T1 reads nothing while the IUT queues it 10.2 MB of T2's frames, then
 * sends 5.8 MB of its own (one write) and the IUT is told to stop: the IUT owes T1 the queued
 * frames and its goodbye, and holds input from T1 it has not read. T1 reads again 200 ms
 * later. A node that exits once it has queued its goodbyes, without the lingering close,
 * resets the connection: the reset throws away what the kernel had not sent yet, the ERROR
 * with it. */
static void test_shutdown_busy_child(struct cf_ctx *c)
{
	struct cf_iut_opts o = { .keepalive_interval_ms = 60000, .keepalive_timeout_ms = 60000 };
	struct ib_buf burst = { 0 };
	struct hn_peer *t1, *t2;
	char key[48];

	if (!cf_iut_start(c, &o) || !(t1 = cf_peer(c, 1)) || !cf_link_child(c, t1) ||
	    !(t2 = cf_peer(c, 2)) || !cf_link_child(c, t2) ||
	    !publish_to_paused(c, t1, 2, t2, LINGER_FRAMES, LINGER_VALUE, "conform-stop-busy") ||
	    !still_child_after_backlog(c, t2, 1))
		goto out;
	for (int i = 0; i < 96; i++) {
		snprintf(key, sizeof key, "conform-stop-unread-%d", i);
		if (!append_publish(c, 1, key, LINGER_VALUE, &burst))
			goto out;
	}
	if (hn_peer_send_raw(t1, burst.ptr, burst.len) != IB_OK) {
		cf_harness_error(c, "a tester cannot send");
		goto out;
	}
	cf_run_for(c, 0);
	if (!cf_iut_stop_begin(c))
		goto out;
	cf_run_for(c, 200);
	/* [LINK-13] It lingers for T1, but listens no more. */
	if (!cf_expect(c, !accepts_tcp(c), "LINK-13",
		       "a stopping node no longer listens: a TCP connection to its port is refused "
		       "while it winds down", "one was accepted 200 ms after SIGTERM"))
		goto out;
	hn_peer_pause(t1, false);
	if (!cf_wait_closed(c, t1, IB_EC_SHUTTING_DOWN, "LINK-11", LINGER_MS))
		goto out;
	cf_iut_stop(c);
out:
	ib_buf_free(&burst);
}

const struct cf_test cf_tests_link[] = {
	{ "link.frame-before-hello", "LINK-1 LINK-5", 0, test_frame_before_hello,
	  "A PUBLISH before HELLO: the IUT sends nothing but ERROR protocol_violation, then "
	  "closes" },
	{ "link.server-quiet-before-hello", "LINK-1", 0, test_server_quiet_before_hello,
	  "While a connected tester has not sent HELLO, the IUT sends it nothing (not even "
	  "flooded frames); then its first frame is HELLO" },
	{ "link.client-hello-first", "LINK-1", CF_NEEDS_CONFIG, test_client_hello_first,
	  "Toward a parent, the IUT's first frame is HELLO, and nothing else follows (not a "
	  "child's PUBLISH) until the parent answers HELLO" },
	{ "link.client-frame-before-hello", "LINK-1 LINK-5", CF_NEEDS_CONFIG,
	  test_client_frame_before_hello,
	  "A parent that answers HELLO with a PUBLISH: the IUT closes with ERROR "
	  "protocol_violation" },
	{ "link.hop-local-foreign-origin", "LINK-3 MSG-9 MSG-6", 0, test_hop_local_foreign_origin,
	  "A hop-local frame (type 0x06, then ERROR) signed by another member than the link's "
	  "peer: ERROR protocol_violation and close; from the peer, 0x06 is ignored" },
	{ "link.hop-wrong-sender", "LINK-17", CF_NEEDS_CONFIG, test_hop_wrong_sender,
	  "PATH from a child, PING from a child, PONG from the parent: each link is closed with "
	  "ERROR protocol_violation" },
	{ "link.hello-foreign-origin", "LINK-3", 0, test_hello_foreign_origin,
	  "A HELLO signed by another member than the TLS peer (its path ending with the TLS "
	  "peer): ERROR protocol_violation, no HELLO in answer" },
	{ "link.second-hello", "LINK-6 LINK-5", 0, test_second_hello,
	  "HELLO again on an open link: ERROR protocol_violation, then the close, nothing in "
	  "between" },
	{ "link.error-received", "LINK-4", 0, test_error_received,
	  "ERROR then PUBLISH in one write: the IUT closes without answering, and neither "
	  "forwards nor stores the PUBLISH; ERROR instead of HELLO: closed without answer" },
	{ "link.invalid-error-dropped", "LINK-4 FRAME-6 MSG-12", 0, test_invalid_error_dropped,
	  "On an open link, ERRORs of the peer with a bad signature, signature_length 63, "
	  "version 2, a reason that is not UTF-8 or a trailing byte are dropped: the link stays "
	  "and the next command is answered" },
	{ "link.hello-wait-bad-frame", "LINK-9", 0, test_hello_wait_bad_frame,
	  "Before HELLO, a frame that fails a check (signature_length 63, a bad signature, an "
	  "unknown origin, version 2, a cut or a too long HELLO) closes the link: ERROR "
	  "unsupported_version for version 2, protocol_violation for the others; the valid HELLO "
	  "sent after it is not answered" },
	{ "link.error-reaches-busy-peer", "LINK-11", CF_NEEDS_CONFIG, test_error_reaches_busy_peer,
	  "A child that reads nothing while 10.2 MB are queued to it, then sends a PING and 256 KB "
	  "more: it still receives every queued frame, then the ERROR protocol_violation, when it "
	  "reads again (the IUT neither resets the connection on the bytes it left unread nor "
	  "shuts its side before its queue is out)" },
	{ "link.linger-discards-input", "LINK-11", CF_SLOW, test_linger_discards,
	  "Strangers send bytes that are no TLS, 301 times one after the other; after the IUT's "
	  "last FIN the last one sends 32 MB more, more than socket buffers hold: the IUT reads "
	  "and discards them all within close_linger_ms, neither stalling the sender nor "
	  "resetting the connection, then closes its socket though the stranger never closes; "
	  "its descriptors and memory stay as they were (3 s in cmd mode)" },
	{ "link.idle-costs-no-cpu", "LINK-22", CF_NEEDS_PROCESS, test_idle_costs_no_cpu,
	  "With a child linked and nothing to do, then while it lingers on a connection it shut "
	  "down whose peer never closes, the IUT uses under 10 % of a core over 1 s each (in self "
	  "mode: under 10 % of the loop's turns at one instant find work)" },
	{ "link.backlog-drains", "FLOOD-1", CF_NEEDS_CONFIG, test_backlog_drains,
	  "10.2 MB forwarded toward a child that does not read (more than socket buffers hold) "
	  "reach it once it reads again, with no other traffic to push them" },
	{ "link.queue-bounded", "LINK-2 LINK-10", CF_NEEDS_CONFIG, test_queue_bounded,
	  "A child that announces max_message 16 MiB and reads nothing while 15 MB of frames are "
	  "forwarded to it: the IUT (max_message 64 KiB) closes that link, its queue bound being at most "
	  "16 x 64 KiB + 1 MiB (too_big if an ERROR gets through), and keeps serving others" },
	{ "link.setup-timeout", "LINK-7", CF_SLOW, test_setup_timeout,
	  "A TCP connection without TLS and a TLS link without HELLO are closed within 10 s "
	  "(+2 s), the second with ERROR protocol_violation; in --iut-cmd mode it takes 10 s" },
	{ "link.hello-timer-from-tls", "LINK-12", CF_SLOW, test_hello_timer_from_tls,
	  "A tester that takes 5 s over TLS, then sends HELLO 7 s later (12 s after its TCP "
	  "connect), is answered: hello_timeout_ms runs from the end of TLS; 12 s in cmd mode" },
	{ "link.open-past-setup-deadline", "LINK-12", CF_SLOW, test_open_past_setup_deadline,
	  "an open link outlives the TLS and HELLO deadlines: they end when it opens" },
	{ "link.client-hello-timer", "LINK-12", CF_NEEDS_CONFIG | CF_SLOW, test_client_hello_timer,
	  "As a client: a parent that never answers HELLO is closed with protocol_violation "
	  "after 10 s" },
	{ "link.client-hello-timer-from-tls", "LINK-12", CF_NEEDS_CONFIG | CF_SLOW,
	  test_client_hello_timer_from_tls,
	  "As a client: a parent that takes 5 s over TLS and answers HELLO 7 s later is joined: "
	  "the HELLO timer counts from the end of TLS; 12 s in cmd mode" },
	{ "link.connect-timeout", "LINK-12", CF_NEEDS_CONFIG | CF_SLOW, test_connect_timeout,
	  "A first parent whose address drops the TCP connect is given up after 10 s "
	  "(handshake_timeout_ms), and the second parent gets the IUT's HELLO; 10 s in cmd mode" },
	{ "link.shutdown-hello-wait", "LINK-13 LINK-8", CF_NEEDS_RESTART,
	  test_shutdown_hello_wait,
	  "A stopping IUT sends ERROR shutting_down to a tester in HELLO-WAIT too, and its two "
	  "linked children get nothing else (no PARTED of the other, ANNOUNCE or PATH) first" },
	{ "link.shutdown-busy-child", "LINK-11 LINK-13", CF_NEEDS_CONFIG | CF_NEEDS_RESTART,
	  test_shutdown_busy_child,
	  "A child that reads nothing, owed 10.2 MB, and has just sent 5.8 MB when the IUT stops "
	  "gets ERROR shutting_down once it reads: the IUT lingers before it exits, and listens "
	  "no more meanwhile" },
	{ "link.shutdown-parent", "LINK-8 LINK-13", CF_NEEDS_CONFIG | CF_NEEDS_RESTART,
	  test_shutdown_parent,
	  "A stopping IUT that has a parent and a child sends ERROR shutting_down to both (the "
	  "parent is told too), its child nothing before it (no PATH for losing the parent), and "
	  "connects to no parent again" },
	{ NULL, NULL, 0, NULL, NULL }
};
