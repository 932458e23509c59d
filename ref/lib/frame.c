/*
 * frame.c - the frame envelope of spec section 5: encoding, parsing one frame, and the
 * incremental decoder that cuts a byte stream into frames.
 *
 * Signing and verifying (ib_frame_sign, ib_frame_verify) need the keys and live in
 * verify.c.
 */
#include "reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The 21 bytes in front of every frame. */
struct frame_header {
	ib_id origin;
	uint16_t sig_len;
	uint32_t msg_len;
};

static int read_header(struct ib_reader *r, struct frame_header *h)
{
	int err;

	err = ib_reader_id(r, &h->origin);
	if (err)
		return err;
	err = ib_reader_u16(r, &h->sig_len);
	if (err)
		return err;
	return ib_reader_u24(r, &h->msg_len);
}

/* [FRAME-2] the two lengths alone delimit a frame, whatever signature_length holds. */
static size_t frame_total(const struct frame_header *h)
{
	return IB_FRAME_HEADER_LEN + (size_t)h->sig_len + (size_t)h->msg_len;
}

int ib_frame_encode(struct ib_buf *out, const ib_id *origin, const uint8_t sig[IB_SIG_LEN],
		    const uint8_t *msg, size_t msg_len)
{
	size_t mark = out->len;
	int err;

	if (msg_len > IB_MAX_MESSAGE_LIMIT)
		return IB_ERR_RANGE;
	if (!origin || !sig || (!msg && msg_len))
		return IB_ERR_INVALID_ARG;
	/* Reserve once so that a failure cannot leave half a frame in out. */
	err = ib_buf_reserve(out, IB_FRAME_HEADER_LEN + IB_SIG_LEN + msg_len);
	if (err)
		return err;
	err = ib_buf_put(out, origin->b, IB_ID_LEN);
	if (!err)
		err = ib_buf_put_u16(out, IB_SIG_LEN);
	if (!err)
		err = ib_buf_put_u24(out, (uint32_t)msg_len);
	if (!err)
		err = ib_buf_put(out, sig, IB_SIG_LEN);
	if (!err)
		err = ib_buf_put(out, msg, msg_len);
	if (err)
		out->len = mark;
	return err;
}

int ib_frame_parse(struct ib_frame *f, const uint8_t *p, size_t len, uint32_t max_message)
{
	struct ib_reader r, whole;
	struct frame_header h;
	struct ib_frame tmp;
	int err;

	ib_reader_init(&r, p, len);
	whole = r;
	err = read_header(&r, &h);
	if (err)
		return err;
	/* [FRAME-4][FRAME-8] the length limit comes first, from the header alone. */
	if (h.msg_len > max_message)
		return IB_ERR_TOO_BIG;
	err = ib_reader_bytes(&r, h.sig_len, &tmp.sig);
	if (err)
		return err;
	err = ib_reader_bytes(&r, h.msg_len, &tmp.msg);
	if (err)
		return err;
	err = ib_reader_end(&r);
	if (err)
		return err;
	err = ib_reader_bytes(&whole, frame_total(&h), &tmp.raw);
	if (err)
		return err;
	tmp.origin = h.origin;
	tmp.sig_len = h.sig_len;
	*f = tmp;
	return IB_OK;
}

/* ---- The stream decoder ([FRAME-2]) --------------------------------------------------- */

/* A buffer is released once empty when it grew above this, so that an idle link keeps
 * neither a large frame's bytes nor a burst's (a map burst to a new child is ~9 KB). It grows
 * by doubling only as far as the frames need: reserving a whole read up front left that
 * much on every idle link (measured: 29.0 -> 35.2 KB per idle link). */
#define DECODER_KEEP_CAP 1024u

enum header_state {
	HEADER_PARTIAL = 0, /* fewer than 21 bytes buffered */
	HEADER_READ = 1     /* *need is the whole frame's length */
};

void ib_frame_decoder_init(struct ib_frame_decoder *d, uint32_t max_message)
{
	memset(d, 0, sizeof *d);
	d->max_message = max_message;
}

void ib_frame_decoder_free(struct ib_frame_decoder *d)
{
	ib_buf_free(&d->buf);
	d->start = 0;
}

/* Looks at the frame starting at buf[pos]. Sets *need to the bytes that frame needs to be
 * judged (21 while its header is partial, then its whole length). Returns enum
 * header_state, or IB_ERR_TOO_BIG. */
static int frame_at(const struct ib_frame_decoder *d, size_t pos, size_t *need)
{
	struct ib_reader r;
	struct ib_slice before;
	struct frame_header h;

	*need = IB_FRAME_HEADER_LEN;
	ib_reader_init(&r, d->buf.ptr, d->buf.len);
	if (ib_reader_bytes(&r, pos, &before) != IB_OK) {
		fprintf(stderr, "ib_frame_decoder: position %zu past %zu buffered bytes\n", pos,
			d->buf.len);
		abort();
	}
	if (read_header(&r, &h) != IB_OK)
		return HEADER_PARTIAL;
	/* [FRAME-4] decided from the 21-byte header, before any more of the frame is taken. */
	if (h.msg_len > d->max_message)
		return IB_ERR_TOO_BIG;
	*need = frame_total(&h);
	return HEADER_READ;
}

/* Drops the bytes already delivered, so that the buffer holds at most the undelivered
 * frames. This moves the bytes that the last frame handed out borrowed. */
static void compact(struct ib_frame_decoder *d)
{
	size_t keep;

	if (d->start == 0)
		return;
	keep = d->buf.len - d->start;
	if (keep == 0 && d->buf.cap > DECODER_KEEP_CAP)
		ib_buf_free(&d->buf);
	else if (keep > 0)
		memmove(d->buf.ptr, d->buf.ptr + d->start, keep);
	d->buf.len = keep;
	d->start = 0;
}

/* Takes bytes from in, frame by frame: while a frame's header is partial only up to its 21st
 * byte, so that the size check runs before any of the body is buffered ([FRAME-4]). */
static int take(struct ib_frame_decoder *d, struct ib_reader *in)
{
	size_t pos = d->start;

	for (;;) {
		struct ib_slice chunk;
		size_t need, have, n;
		int state, err;

		state = frame_at(d, pos, &need);
		if (state < 0)
			return state;
		have = d->buf.len - pos;
		if (state == HEADER_READ && have >= need) {
			pos += need; /* a whole frame: judge the next one */
			continue;
		}
		if (ib_reader_left(in) == 0)
			return IB_OK;
		n = need - have;
		if (n > ib_reader_left(in))
			n = ib_reader_left(in);
		err = ib_reader_bytes(in, n, &chunk);
		if (!err)
			err = ib_buf_put(&d->buf, chunk.ptr, chunk.len);
		if (err)
			return err;
	}
}

/* A too-big header found during this call is recorded (d->error) but not returned here: next
 * hands out the whole frames that came before it, then the error, so that a caller draining
 * next sees the same frames however the stream was split ([FRAME-2]). From then on feed
 * returns it at once and takes nothing. */
int ib_frame_decoder_feed(struct ib_frame_decoder *d, const uint8_t *p, size_t len,
			  size_t *taken)
{
	struct ib_reader in;
	int err;

	*taken = 0;
	if (d->error)
		return d->error;
	if (!p && len)
		return IB_ERR_INVALID_ARG;
	compact(d);
	ib_reader_init(&in, p, len);
	err = take(d, &in);
	*taken = len - ib_reader_left(&in);
	/* Running out of memory is not the peer's doing: not sticky, the caller may retry. */
	if (err == IB_ERR_NOMEM)
		return err;
	/* [FRAME-4] a link error is sticky. */
	d->error = err;
	return IB_OK;
}

int ib_frame_decoder_next(struct ib_frame_decoder *d, struct ib_frame *f)
{
	struct ib_reader r;
	struct ib_slice before, whole;
	size_t need;
	int state, err;

	state = frame_at(d, d->start, &need);
	if (state < 0) {
		d->error = state;
		return state;
	}
	/* Whole frames that came before a too-big header are still handed out (see feed); the
	 * error comes after them, and stays. */
	if (state != HEADER_READ || d->buf.len - d->start < need)
		return d->error ? d->error : IB_FRAME_NEED_MORE;
	ib_reader_init(&r, d->buf.ptr, d->buf.len);
	err = ib_reader_bytes(&r, d->start, &before);
	if (!err)
		err = ib_reader_bytes(&r, need, &whole);
	if (!err)
		err = ib_frame_parse(f, whole.ptr, whole.len, d->max_message);
	if (err) {
		fprintf(stderr, "ib_frame_decoder: buffered frame does not parse: %s\n",
			ib_errname(err));
		abort();
	}
	d->start += need;
	return IB_FRAME_READY;
}
