/* peer.c - a tester peer. See peer.h. */
#include "peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "tls.h"

struct hn_peer {
	struct ib_loop *loop;
	struct ib_identity *id;
	struct ib_keyring *trusted;
	struct ib_tls_ctx *ctx;
	struct ib_tls *tls;
	int fd, listen_fd;
	bool open, closed, auto_pong, paused;
	bool counting_only;         /* frames counted in ncounted, not kept (benchmarks) */
	size_t ncounted;
	uint32_t max_message;
	char failure[128];
	struct ib_seq_gen seq, *seqp;   /* seqp: where seqs come from (&seq, or shared) */
	struct ib_frame_decoder dec;
	/* The frames of what this peer sent: a PONG owed while the bytes sent end inside a
	 * frame (a test sending one in pieces) waits for its end ([KA-8]: part of a frame is no
	 * PONG, and a PONG in the middle of one would break both). */
	struct ib_frame_decoder sent;
	bool sent_lost;             /* what it sent is not frames (a test's garbage): untracked */
	bool pong_owed;
	uint8_t pong_nonce[IB_NONCE_MAX];
	size_t pong_len;
	struct ib_buf plain, out;
	size_t out_off;                 /* out[out_off..] waits for the socket */
	struct hn_got *got;
	size_t ngot, capgot;
	hn_tap_fn tap;
	void *tap_ctx;
	bool untapped_raw;          /* raw sends bypass the tap */
};

static int copy_keyring(const struct ib_keyring *from, struct ib_keyring **out)
{
	struct ib_keyring *kr = NULL;
	int err = ib_keyring_new(&kr);

	for (size_t i = 0; !err && from && i < ib_keyring_count(from); i++) {
		struct ib_pubkey *k;

		err = ib_pubkey_from_raw(&k, ib_pubkey_raw(ib_keyring_at(from, i)));
		if (!err)
			err = ib_keyring_add(kr, k);
	}
	if (err) {
		ib_keyring_free(kr);
		return err;
	}
	*out = kr;
	return IB_OK;
}

int hn_peer_new(struct hn_peer **out, struct ib_loop *loop, const struct ib_keyring *trusted)
{
	return hn_peer_new_as(out, loop, trusted, NULL);
}

int hn_peer_new_as(struct hn_peer **out, struct ib_loop *loop, const struct ib_keyring *trusted,
		   const struct ib_identity *id)
{
	struct hn_peer *p = calloc(1, sizeof *p);
	int err = IB_ERR_NOMEM;

	*out = NULL;
	if (!p)
		return err;
	p->loop = loop;
	p->fd = p->listen_fd = -1;
	p->auto_pong = true;
	p->seqp = &p->seq;
	p->max_message = IB_MAX_MESSAGE_LIMIT;
	ib_frame_decoder_init(&p->dec, IB_MAX_MESSAGE_LIMIT);
	ib_frame_decoder_init(&p->sent, IB_MAX_MESSAGE_LIMIT);
	err = id ? ib_identity_copy(&p->id, id) : ib_identity_generate(&p->id);
	if (!err)
		err = copy_keyring(trusted, &p->trusted);
	if (!err)
		err = ib_tls_ctx_new(&p->ctx, p->id);
	if (err) {
		hn_peer_free(p);
		return err;
	}
	ib_tls_ctx_set_keyring(p->ctx, p->trusted);
	*out = p;
	return IB_OK;
}

int hn_peer_clone(const struct hn_peer *p, struct hn_peer **out)
{
	return hn_peer_new_as(out, p->loop, p->trusted, p->id);
}

int hn_peer_trust(struct hn_peer *p, const struct ib_keyring *trusted)
{
	struct ib_keyring *kr;
	int err = copy_keyring(trusted, &kr);

	if (err)
		return err;
	ib_tls_ctx_set_keyring(p->ctx, kr);
	ib_keyring_free(p->trusted);
	p->trusted = kr;
	return IB_OK;
}

static void close_fd(struct hn_peer *p)
{
	if (p->fd >= 0) {
		ib_loop_unwatch(p->loop, p->fd);
		ib_net_close(p->fd);
		p->fd = -1;
	}
	ib_buf_reset(&p->out);
	p->out_off = 0;
	p->closed = true;
}

void hn_peer_free(struct hn_peer *p)
{
	if (!p)
		return;
	close_fd(p);
	if (p->listen_fd >= 0) {
		ib_loop_unwatch(p->loop, p->listen_fd);
		ib_net_close(p->listen_fd);
	}
	for (size_t i = 0; i < p->ngot; i++)
		ib_buf_free(&p->got[i].raw);
	free(p->got);
	ib_tls_free(p->tls);
	ib_tls_ctx_free(p->ctx);
	ib_keyring_free(p->trusted);
	ib_identity_free(p->id);
	ib_frame_decoder_free(&p->dec);
	ib_frame_decoder_free(&p->sent);
	ib_buf_free(&p->plain);
	ib_buf_free(&p->out);
	free(p);
}

const struct ib_identity *hn_peer_identity(const struct hn_peer *p)
{
	return p->id;
}

static void on_event(struct ib_loop *loop, int fd, unsigned events, void *arg);

/* What the loop watches: reading unless paused, writing while bytes wait. */
static void watch(struct hn_peer *p)
{
	ib_loop_watch(p->loop, p->fd, (p->paused ? 0 : IB_EV_READ) |
		      (p->out_off < p->out.len ? IB_EV_WRITE : 0), on_event, p);
}

/* Writes what the socket takes; the rest waits for it to take more (a test that sends
 * megabytes to a busy IUT must not lose bytes mid-record). */
static void flush(struct hn_peer *p)
{
	size_t sent;

	if (!p->tls || p->fd < 0)
		return;
	ib_tls_take_output(p->tls, &p->out);
	while (p->out_off < p->out.len &&
	       ib_net_write(p->fd, p->out.ptr + p->out_off, p->out.len - p->out_off,
			    &sent) == IB_OK)
		p->out_off += sent;
	if (p->out_off == p->out.len) {
		ib_buf_reset(&p->out);
		p->out_off = 0;
	}
	watch(p);
}

/* Whether the bytes sent so far end inside a frame. */
static bool mid_frame(const struct hn_peer *p)
{
	return !p->sent_lost && p->sent.buf.len > p->sent.start;
}

/* Follows the frame boundaries of bytes sent. */
static void track_sent(struct hn_peer *p, const uint8_t *bytes, size_t len)
{
	struct ib_frame f;

	while (!p->sent_lost && len) {
		size_t taken = 0;
		int st;

		if (ib_frame_decoder_feed(&p->sent, bytes, len, &taken) != IB_OK)
			p->sent_lost = true;
		while ((st = ib_frame_decoder_next(&p->sent, &f)) == IB_FRAME_READY)
			;
		if (st < 0 || (!taken && st == IB_FRAME_NEED_MORE))
			p->sent_lost = true;
		bytes += taken;
		len -= taken;
	}
}

/* The PONG owed, unless the bytes sent end inside a frame. */
static void pay_pong(struct hn_peer *p)
{
	struct ib_msg pong;

	if (!p->pong_owed || mid_frame(p))
		return;
	p->pong_owed = false;
	memset(&pong, 0, sizeof pong);
	pong.h.type = IB_MSG_PONG;
	pong.u.ping.nonce = (struct ib_slice){ p->pong_nonce, p->pong_len };
	hn_peer_send(p, &pong, NULL, NULL, false, NULL);
}

/* A PING received: its PONG is owed, and paid once no frame is half sent. */
static void owe_pong(struct hn_peer *p, const struct ib_msg *ping)
{
	if (!p->auto_pong || ping->u.ping.nonce.len > sizeof p->pong_nonce)
		return;
	memcpy(p->pong_nonce, ping->u.ping.nonce.ptr, ping->u.ping.nonce.len);
	p->pong_len = ping->u.ping.nonce.len;
	p->pong_owed = true;
	pay_pong(p);
}

static void record(struct hn_peer *p, const struct ib_frame *f)
{
	struct hn_got *g;
	struct ib_msg m;

	if (p->counting_only) {
		p->ncounted++;
		if (ib_msg_decode(&m, f->msg.ptr, f->msg.len) == IB_OK && m.h.type == IB_MSG_PING)
			owe_pong(p, &m);
		return;
	}
	if (p->ngot == p->capgot) {
		size_t cap = p->capgot ? 2 * p->capgot : 16;
		struct hn_got *n = realloc(p->got, cap * sizeof *n);

		if (!n)
			return;
		p->got = n;
		p->capgot = cap;
	}
	if (p->tap)
		p->tap(p->tap_ctx, p, false, f->raw.ptr, f->raw.len);
	g = &p->got[p->ngot++];
	memset(g, 0, sizeof *g);
	ib_buf_put(&g->raw, f->raw.ptr, f->raw.len);
	g->at_us = ib_loop_now_us(p->loop);
	if (ib_msg_decode(&m, f->msg.ptr, f->msg.len) != IB_OK)
		return;
	g->type = m.h.type;
	g->seq = m.h.seq;
	if (m.h.type == IB_MSG_ERROR)
		g->error_code = m.u.error.code;
	if (m.h.type == IB_MSG_PING || m.h.type == IB_MSG_PONG) {
		g->nonce_len = m.u.ping.nonce.len;
		memcpy(g->nonce, m.u.ping.nonce.ptr, g->nonce_len);
	}
	if (m.h.type == IB_MSG_PING)
		owe_pong(p, &m);
}

static void step(struct hn_peer *p)
{
	int st = ib_tls_step(p->tls, &p->plain);
	size_t off = 0;

	if (st < 0) {
		snprintf(p->failure, sizeof p->failure, "%s", ib_tls_failure(p->tls));
		flush(p);
		close_fd(p);
		return;
	}
	p->open = st != IB_TLS_HANDSHAKING;
	for (;;) {
		struct ib_frame f;
		size_t taken = 0;

		if (off < p->plain.len)
			ib_frame_decoder_feed(&p->dec, p->plain.ptr + off, p->plain.len - off,
					      &taken);
		off += taken;
		if (ib_frame_decoder_next(&p->dec, &f) != IB_FRAME_READY)
			break;
		record(p, &f);
	}
	ib_buf_reset(&p->plain);
	if (st == IB_TLS_PEER_CLOSED)
		close_fd(p);
	else
		flush(p);
}

static void on_event(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct hn_peer *p = arg;
	uint8_t buf[16384];
	size_t got;
	int err;

	(void)loop;
	if (p->tls && (events & IB_EV_WRITE)) {
		flush(p);
		if (p->paused || !(events & (IB_EV_READ | IB_EV_ERROR)))
			return;
	}
	if (!p->tls) {
		if (ib_net_connect_result(fd) != IB_OK ||
		    ib_tls_new(&p->tls, p->ctx, IB_TLS_CLIENT) != IB_OK) {
			snprintf(p->failure, sizeof p->failure, "connect failed");
			close_fd(p);
			return;
		}
		/* A paused peer sends its ClientHello, and reads nothing until resumed. */
		watch(p);
		step(p);
		return;
	}
	err = ib_net_read(fd, buf, sizeof buf, &got);
	if (err == IB_ERR_AGAIN)
		return;
	if (err) {
		close_fd(p);
		return;
	}
	ib_tls_feed(p->tls, buf, got);
	step(p);
}

int hn_peer_connect(struct hn_peer *p, uint16_t port)
{
	return hn_peer_connect_to(p, "127.0.0.1", port);
}

int hn_peer_connect_to(struct hn_peer *p, const char *host, uint16_t port)
{
	struct ib_diag diag = { 0 };
	int err = ib_net_connect(host, port, &p->fd, &diag);

	if (err)
		return err;
	return ib_loop_watch(p->loop, p->fd, IB_EV_WRITE, on_event, p);
}

static void on_accept(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct hn_peer *p = arg;
	char name[128];
	int conn;

	(void)loop;
	(void)events;
	if (ib_net_accept(fd, &conn, name, sizeof name) != IB_OK)
		return;
	/* One connection per peer: a second one is closed at once, not left in the backlog,
	 * where it would keep the listening socket readable and spin the loop (on virtual
	 * time, without the clock ever moving). */
	if (p->fd >= 0) {
		ib_net_close(conn);
		return;
	}
	p->fd = conn;
	if (ib_tls_new(&p->tls, p->ctx, IB_TLS_SERVER) != IB_OK) {
		close_fd(p);
		return;
	}
	/* A paused peer accepts the connection, and reads nothing until resumed. */
	watch(p);
}

int hn_peer_listen(struct hn_peer *p, uint16_t *port)
{
	struct ib_diag diag = { 0 };
	/* cppcheck-suppress ctunullpointer ; a caller with no port does not listen (keepalive_test) */
	int err = ib_net_listen("127.0.0.1", *port, &p->listen_fd, port, &diag);

	if (err)
		return err;
	return ib_loop_watch(p->loop, p->listen_fd, IB_EV_READ, on_accept, p);
}

void hn_peer_unlisten(struct hn_peer *p)
{
	if (p->listen_fd >= 0) {
		ib_loop_unwatch(p->loop, p->listen_fd);
		ib_net_close(p->listen_fd);
		p->listen_fd = -1;
	}
}

void hn_peer_set_max_message(struct hn_peer *p, uint32_t max_message)
{
	p->max_message = max_message;
}

void hn_peer_pause(struct hn_peer *p, bool paused)
{
	p->paused = paused;
	if (p->fd >= 0 && p->tls)
		watch(p);
}

bool hn_peer_tls_open(const struct hn_peer *p)
{
	return p->open && !p->closed;
}

bool hn_peer_closed(const struct hn_peer *p)
{
	return p->closed;
}

const char *hn_peer_failure(const struct hn_peer *p)
{
	return p->failure;
}

size_t hn_peer_unsent(const struct hn_peer *p)
{
	return p->out.len - p->out_off;
}

int hn_peer_send_raw(struct hn_peer *p, const uint8_t *bytes, size_t len)
{
	int err;

	if (!p->open || p->closed)
		return IB_ERR_INVALID_ARG;
	if (p->tap && !p->untapped_raw)
		p->tap(p->tap_ctx, p, true, bytes, len);
	err = ib_tls_write(p->tls, bytes, len);
	flush(p);
	if (!err) {
		track_sent(p, bytes, len);
		pay_pong(p);
	}
	return err;
}

int hn_peer_frame(struct hn_peer *p, struct ib_msg *m, const struct ib_identity *signer,
		  const ib_id *as, bool keep_seq, struct ib_buf *frame)
{
	const struct ib_identity *key = signer ? signer : p->id;
	struct ib_buf msg = { 0 };
	uint8_t sig[IB_SIG_LEN];
	int err;

	m->h.version = m->h.version ? m->h.version : IB_PROTOCOL_VERSION;
	if (!keep_seq) {
		const struct ib_clock *c = ib_loop_clock(p->loop);

		m->h.seq = ib_seq_next(p->seqp, c->unix_us(c->ctx));
	}
	err = ib_msg_encode(&msg, m);
	if (!err)
		err = ib_identity_sign(key, msg.ptr, msg.len, sig);
	if (!err)
		err = ib_frame_encode(frame, as ? as : ib_identity_id(key), sig, msg.ptr, msg.len);
	ib_buf_free(&msg);
	return err;
}

int hn_peer_send(struct hn_peer *p, struct ib_msg *m, const struct ib_identity *signer,
		 const ib_id *as, bool keep_seq, struct ib_buf *frame_out)
{
	struct ib_buf frame = { 0 };
	int err = hn_peer_frame(p, m, signer, as, keep_seq, &frame);

	if (!err && frame_out)
		err = ib_buf_put(frame_out, frame.ptr, frame.len);
	if (!err)
		err = hn_peer_send_raw(p, frame.ptr, frame.len);
	ib_buf_free(&frame);
	return err;
}

int hn_peer_send_hello(struct hn_peer *p, uint8_t role, uint32_t keepalive_ms,
		       const ib_id *above, size_t nabove)
{
	ib_id path[IB_MAX_PATH];
	struct ib_msg m;

	if (nabove + 1 > IB_MAX_PATH)
		return IB_ERR_RANGE;
	if (nabove)
		memcpy(path, above, nabove * sizeof *path);
	path[nabove] = *ib_identity_id(p->id);
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_HELLO;
	m.u.hello = (struct ib_hello){ role, keepalive_ms, p->max_message,
				       { (const uint8_t *)"tester", 6 },
				       { (uint8_t)(nabove + 1), path[0].b } };
	return hn_peer_send(p, &m, NULL, NULL, false, NULL);
}

void hn_peer_auto_pong(struct hn_peer *p, bool on)
{
	p->auto_pong = on;
}

size_t hn_peer_received(const struct hn_peer *p)
{
	return p->ngot;
}

void hn_peer_count_only(struct hn_peer *p)
{
	p->counting_only = true;
}

size_t hn_peer_counted(const struct hn_peer *p)
{
	return p->ncounted;
}

const struct hn_got *hn_peer_got(const struct hn_peer *p, size_t i)
{
	return i < p->ngot ? &p->got[i] : NULL;
}

size_t hn_peer_count(const struct hn_peer *p, uint8_t type)
{
	size_t n = 0;

	for (size_t i = 0; i < p->ngot; i++)
		n += p->got[i].type == type;
	return n;
}

const struct hn_got *hn_peer_last(const struct hn_peer *p, uint8_t type)
{
	for (size_t i = p->ngot; i-- > 0;)
		if (p->got[i].type == type)
			return &p->got[i];
	return NULL;
}

void hn_peer_set_tap(struct hn_peer *p, hn_tap_fn fn, void *ctx)
{
	p->tap = fn;
	p->tap_ctx = ctx;
}

void hn_peer_tap_raw(struct hn_peer *p, bool on)
{
	p->untapped_raw = !on;
}

void hn_peer_share_seq(struct hn_peer *p, struct ib_seq_gen *gen)
{
	p->seqp = gen ? gen : &p->seq;
}

bool hn_peer_endpoints(const struct hn_peer *p, char *local, char *remote, size_t cap)
{
	return p->fd >= 0 && ib_net_local_name(p->fd, local, cap, NULL) == IB_OK &&
	       ib_net_peer_name(p->fd, remote, cap, NULL) == IB_OK;
}
