/* build.c - building blocks of the vector generator: messages, frames, seeds, JSON entries. */
#include "vecgen.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct ib_msg vg_msg(uint8_t type, uint64_t seq, int dest)
{
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.version = IB_PROTOCOL_VERSION;
	m.h.type = type;
	m.h.seq = seq;
	if (dest != VG_EVERYONE)
		m.h.dest = *vg_id(dest);
	return m;
}

void vg_encode(struct ib_buf *out, const struct ib_msg *m)
{
	int err;

	ib_buf_reset(out);
	err = ib_msg_encode(out, m);
	if (err)
		vg_die(ib_msg_type_name(m->h.type), err);
}

/* A header with any version and type, for the vectors the encoder rightly refuses to make. */
void vg_header(struct ib_buf *out, uint8_t version, uint8_t type, uint64_t seq, int dest)
{
	ib_id zero = { { 0 } };
	const ib_id *d = dest == VG_EVERYONE ? &zero : vg_id(dest);
	int err;

	ib_buf_reset(out);
	err = ib_buf_put_u8(out, version);
	err = err ? err : ib_buf_put_u8(out, type);
	err = err ? err : ib_buf_put_u16(out, 0);
	err = err ? err : ib_buf_put_u64(out, seq);
	err = err ? err : ib_buf_put(out, d->b, IB_ID_LEN);
	if (err)
		vg_die("header", err);
}

void vg_sign(struct ib_buf *frame, int signer, int named_as, const uint8_t *msg, size_t len)
{
	uint8_t sig[IB_SIG_LEN];
	int err;

	/* The frame is rebuilt in place: msg must not live in it. */
	if (frame->ptr && msg >= frame->ptr && msg < frame->ptr + frame->cap)
		vg_die("vg_sign: message inside the frame buffer", IB_ERR_INVALID_ARG);
	err = ib_identity_sign(vg_keys[signer].id, msg, len, sig);
	if (err)
		vg_die("sign", err);
	ib_buf_reset(frame);
	err = ib_frame_encode(frame, vg_id(named_as), sig, msg, len);
	if (err)
		vg_die("frame", err);
}

/* A frame whose length fields may lie about what follows them. */
void vg_raw_frame(struct ib_buf *frame, const ib_id *origin, uint16_t sig_len_field,
		  const uint8_t *sig, size_t sig_n, uint32_t msg_len_field, const uint8_t *msg,
		  size_t msg_n)
{
	int err;

	ib_buf_reset(frame);
	err = ib_buf_put(frame, origin->b, IB_ID_LEN);
	err = err ? err : ib_buf_put_u16(frame, sig_len_field);
	err = err ? err : ib_buf_put_u24(frame, msg_len_field);
	err = err ? err : ib_buf_put(frame, sig, sig_n);
	err = err ? err : ib_buf_put(frame, msg, msg_n);
	if (err)
		vg_die("raw frame", err);
}

static json_t *intent_json(const struct ib_msg *m)
{
	json_error_t jerr;
	json_t *j;
	char *s;
	int err;

	err = ib_msg_to_json(m, &s);
	if (err)
		vg_die("describe", err);
	j = json_loads(s, 0, &jerr);
	free(s);
	if (!j)
		vg_die(jerr.text, IB_ERR_RANGE);
	return j;
}

void vg_emit(struct vg_out *o, const struct vg_vec *v, const struct ib_buf *frame)
{
	json_t *e;
	int tc = ++o->next_tc;

	e = json_pack("{s:i, s:s, s:o, s:o, s:o, s:s}", "tcId", tc, "comment", v->comment,
		      "requirements", vg_words(v->reqs), "flags", vg_words(v->flags),
		      "frame_hex", vg_hex(frame->ptr, frame->len), "result", v->result);
	if (!e)
		vg_die("vector json", IB_ERR_NOMEM);
	if (v->reason)
		json_object_set_new(e, "reason", json_string(v->reason));
	if (v->error)
		json_object_set_new(e, "error", json_string(v->error));
	if (v->intent)
		json_object_set_new(e, "message", intent_json(v->intent));
	if (v->embedded_result)
		json_object_set_new(e, "embedded_result", json_string(v->embedded_result));
	if (v->embedded_reason)
		json_object_set_new(e, "embedded_reason", json_string(v->embedded_reason));
	json_array_append_new(o->list, e);
	vg_seed(o->corpus, "frame_stream", tc, frame->ptr, frame->len);
	if (frame->len > IB_FRAME_HEADER_LEN + IB_SIG_LEN && v->intent)
		vg_seed(o->corpus, "message", tc, frame->ptr + IB_FRAME_HEADER_LEN + IB_SIG_LEN,
			frame->len - IB_FRAME_HEADER_LEN - IB_SIG_LEN);
}

static const char *const seed_targets[] = { "frame_stream", "message", NULL };

void vg_seed_dirs(const char *corpus)
{
	char path[4096];

	for (int i = 0; seed_targets[i]; i++) {
		snprintf(path, sizeof path, "%s/%s", corpus, seed_targets[i]);
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			vg_die(path, 0);
	}
}

/* Seeds are named after the vector, so regenerating rewrites the same files. */
void vg_seed(const char *corpus, const char *target, int tc, const uint8_t *p, size_t n)
{
	char path[4096];
	FILE *f;

	if (!corpus)
		return;
	snprintf(path, sizeof path, "%s/%s/vec-%s-%03d", corpus, target,
		 strcmp(target, "message") == 0 ? "msg" : "frame", tc);
	f = fopen(path, "wb");
	if (!f)
		vg_die(path, 0);
	/* fuzz_frame_stream reads its split seed from the first byte. */
	if (strcmp(target, "frame_stream") == 0 && fputc(tc & 0xff, f) == EOF)
		vg_die(path, 0);
	if (fwrite(p, 1, n, f) != n || fclose(f) != 0)
		vg_die(path, 0);
}
