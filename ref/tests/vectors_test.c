/*
 * vectors_test.c - replays the golden vectors (vectors/frames.json and streams.json) through the library's decoder
 * and verifier and checks each declared verdict, and checks the spec's worked example.
 *
 * The vectors' verdicts are written by hand in vectors/gen, so this tests the library against
 * them; ci/check-vectors separately checks that regenerating them changes nothing, and that
 * `openssl pkeyutl` agrees with every signature.
 * The folder is $IB_VECTORS_DIR, or "vectors" (make test runs from the repository root).
 */
#include "ib_test.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One key to look up embedded frames by, as frames.json's notes say. */
#define EMBEDDED_QUERY_KEY "greeting"

struct receiver {
	struct ib_keyring *kr;
	uint32_t max_message;
	uint64_t now_unix_us;
};

struct verdict {
	const char *result;         /* valid | invalid | link_error */
	const char *reason;         /* NULL when valid */
	const char *error;
	char *message_json;         /* valid: the decoded message, malloc'd */
	const char *embedded_result;
	const char *embedded_reason;
};

static json_t *load_doc(const char *name)
{
	const char *dir = getenv("IB_VECTORS_DIR");
	char path[1024];
	json_error_t jerr;
	json_t *doc;

	snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "vectors", name);
	doc = json_load_file(path, 0, &jerr);
	if (!doc)
		fprintf(stderr, "%s:%d: %s\n", path, jerr.line, jerr.text);
	return doc;
}

static uint8_t *unhex_alloc(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2;
	uint8_t *p = malloc(n ? n : 1);

	*len = ib_test_unhex(hex, p, n);
	return p;
}

/* The receiver of both files: keyring of the named keys, max_message, clock. */
static int receiver_load(struct receiver *r, const json_t *doc)
{
	const json_t *rj = json_object_get(doc, "receiver");
	const json_t *keys = json_object_get(doc, "keys");
	const json_t *name;
	size_t i;

	r->max_message = (uint32_t)json_integer_value(json_object_get(rj, "max_message"));
	r->now_unix_us = strtoull(json_string_value(json_object_get(rj, "now_unix_us")), NULL, 10);
	if (ib_keyring_new(&r->kr))
		return -1;
	json_array_foreach(json_object_get(rj, "keyring"), i, name) {
		const json_t *k = json_object_get(keys, json_string_value(name));
		uint8_t raw[IB_PUBKEY_LEN];
		struct ib_pubkey *pk;

		ib_test_unhex(json_string_value(json_object_get(k, "public_hex")), raw, sizeof raw);
		if (ib_pubkey_from_raw(&pk, raw) || ib_keyring_add(r->kr, pk))
			return -1;
	}
	return 0;
}

static void verdict_error(struct verdict *v, int err, const char *result)
{
	v->result = result;
	v->reason = ib_drop_reason(err);
	v->error = ib_errname(err);
}

/* What a receiver does with one whole frame on an open link, without per-origin state. */
static void judge_frame(const struct receiver *r, const uint8_t *p, size_t n, struct verdict *v)
{
	struct ib_frame f;
	struct ib_msg m;
	int err;

	memset(v, 0, sizeof *v);
	err = ib_frame_parse(&f, p, n, r->max_message);
	if (err == IB_ERR_TOO_BIG) {
		verdict_error(v, err, "link_error");
		return;
	}
	if (err) {
		verdict_error(v, err, "not_a_frame");
		return;
	}
	err = ib_frame_check(&f, r->kr, r->now_unix_us, &m);
	if (err) {
		verdict_error(v, err, "invalid");
		return;
	}
	v->result = "valid";
	if (ib_msg_to_json(&m, &v->message_json))
		v->result = "describe_failed";
	if (m.h.type == IB_MSG_TRANSFER && m.u.transfer.frame.len) {
		struct ib_msg pub;

		err = ib_transfer_check(m.u.transfer.frame, r->kr,
					(struct ib_slice){ (const uint8_t *)EMBEDDED_QUERY_KEY,
							   sizeof EMBEDDED_QUERY_KEY - 1 },
					&pub);
		v->embedded_result = err ? "invalid" : "valid";
		v->embedded_reason = err ? ib_drop_reason(err) : NULL;
	}
}

static int str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_frame_vector(const struct receiver *r, const json_t *vec)
{
	const char *hex = json_string_value(json_object_get(vec, "frame_hex"));
	const json_t *want_msg = json_object_get(vec, "message");
	struct verdict v;
	char where[160];
	uint8_t *p;
	size_t n;
	int ok;

	p = unhex_alloc(hex, &n);
	judge_frame(r, p, n, &v);
	ok = str_eq(v.result, json_string_value(json_object_get(vec, "result"))) &&
	     str_eq(v.reason, json_string_value(json_object_get(vec, "reason"))) &&
	     str_eq(v.error, json_string_value(json_object_get(vec, "error"))) &&
	     str_eq(v.embedded_result, json_string_value(json_object_get(vec, "embedded_result"))) &&
	     str_eq(v.embedded_reason, json_string_value(json_object_get(vec, "embedded_reason")));
	if (ok && want_msg) {
		json_t *got = json_loads(v.message_json ? v.message_json : "null", 0, NULL);

		ok = got && json_equal(got, want_msg);
		json_decref(got);
	}
	if (!ok) {
		snprintf(where, sizeof where, "frames.json tcId %d (%s): got %s %s %s",
			 (int)json_integer_value(json_object_get(vec, "tcId")),
			 json_string_value(json_object_get(vec, "comment")), v.result,
			 v.reason ? v.reason : "", v.error ? v.error : "");
		CU_FAIL(where);
		fprintf(stderr, "  %s\n", where);
	}
	CU_ASSERT(ok);
	free(v.message_json);
	free(p);
}

static void test_frame_vectors(void)
{
	json_t *doc = load_doc("frames.json"), *vec;
	struct receiver r = { 0 };
	size_t i;

	CU_ASSERT_FATAL(doc != NULL);
	CU_ASSERT_FATAL(receiver_load(&r, doc) == 0);
	CU_ASSERT(json_array_size(json_object_get(doc, "vectors")) > 90);
	json_array_foreach(json_object_get(doc, "vectors"), i, vec)
		check_frame_vector(&r, vec);
	ib_keyring_free(r.kr);
	json_decref(doc);
}

/* The keys section: public key from secret, SPKI and id_bot from the public key ([ID-2]). */
static void test_vector_keys(void)
{
	json_t *doc = load_doc("frames.json"), *k;
	const char *name;

	CU_ASSERT_FATAL(doc != NULL);
	json_object_foreach(json_object_get(doc, "keys"), name, k) {
		uint8_t secret[IB_SECRET_LEN], pub[IB_PUBKEY_LEN], spki[IB_SPKI_LEN];
		struct ib_identity *id = NULL;
		char hex[2 * IB_ID_LEN + 1];
		ib_id from_spki;

		ib_test_unhex(json_string_value(json_object_get(k, "secret_hex")), secret, 32);
		ib_test_unhex(json_string_value(json_object_get(k, "public_hex")), pub, 32);
		ib_test_unhex(json_string_value(json_object_get(k, "spki_der_hex")), spki, 44);
		IB_ASSERT_OK(ib_identity_from_secret(&id, secret));
		CU_ASSERT_FATAL(id != NULL);
		CU_ASSERT(memcmp(ib_pubkey_raw(ib_identity_pubkey(id)), pub, 32) == 0);
		CU_ASSERT(memcmp(ib_pubkey_spki(ib_identity_pubkey(id)), spki, 44) == 0);
		ib_id_from_spki(&from_spki, spki);
		ib_id_to_hex(&from_spki, hex);
		CU_ASSERT_STRING_EQUAL(hex, json_string_value(json_object_get(k, "id_bot")));
		ib_identity_free(id);
	}
	json_decref(doc);
}

/* Per-origin anti-replay windows of one stream's receiver. */
struct origin_window {
	ib_id id;
	struct ib_replay_window w;
};

static struct ib_replay_window *window_of(struct origin_window *ws, size_t *n, const ib_id *id)
{
	for (size_t i = 0; i < *n; i++)
		if (ib_id_equal(&ws[i].id, id))
			return &ws[i].w;
	memset(&ws[*n], 0, sizeof ws[*n]);
	ws[*n].id = *id;
	return &ws[(*n)++].w;
}

/* Judges every frame a stream yields: returns the verdicts as "result/reason" words. */
static void judge_stream(const struct receiver *r, const json_t *chunks, char *out, size_t cap,
			 const char **end)
{
	struct ib_frame_decoder d;
	struct origin_window ws[8];
	size_t nws = 0, i;
	const json_t *c;
	int err = 0;

	out[0] = '\0';
	ib_frame_decoder_init(&d, r->max_message);
	json_array_foreach(chunks, i, c) {
		size_t n, taken;
		uint8_t *p = unhex_alloc(json_string_value(c), &n);
		struct ib_frame f;
		int st;

		err = ib_frame_decoder_feed(&d, p, n, &taken);
		while (!err && (st = ib_frame_decoder_next(&d, &f)) != IB_FRAME_NEED_MORE) {
			struct ib_msg m;
			int e;

			if (st < 0) {
				err = st;
				break;
			}
			e = ib_frame_check(&f, r->kr, r->now_unix_us, &m);
			/* [FLOOD-3][FLOOD-4] only valid end-to-end frames touch the window. */
			if (!e && ib_msg_type_is_e2e(m.h.type))
				e = ib_replay_accept(window_of(ws, &nws, &f.origin), m.h.seq);
			snprintf(out + strlen(out), cap - strlen(out), "%s%s%s ",
				 e ? "invalid/" : "valid", e ? ib_drop_reason(e) : "", "");
		}
		free(p);
		if (err)
			break;
	}
	if (err)
		snprintf(out + strlen(out), cap - strlen(out), "link_error/%s ",
			 ib_drop_reason(err));
	*end = err ? "link_error" : d.buf.len > d.start ? "partial" : "clean";
	ib_frame_decoder_free(&d);
}

static void test_stream_vectors(void)
{
	json_t *doc = load_doc("streams.json"), *frames = load_doc("frames.json"), *s;
	struct receiver r = { 0 };
	size_t i;

	CU_ASSERT_FATAL(doc != NULL && frames != NULL);
	/* streams.json's receiver names keys described in frames.json. */
	json_object_set(doc, "keys", json_object_get(frames, "keys"));
	CU_ASSERT_FATAL(receiver_load(&r, doc) == 0);
	CU_ASSERT(json_array_size(json_object_get(doc, "streams")) >= 10);
	json_array_foreach(json_object_get(doc, "streams"), i, s) {
		char got[2048], want[2048] = "";
		const char *end;
		const json_t *e;
		size_t j;

		json_array_foreach(json_object_get(s, "expected"), j, e) {
			const char *reason = json_string_value(json_object_get(e, "reason"));
			const char *res = json_string_value(json_object_get(e, "result"));

			snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s%s ", res,
				 reason ? "/" : "", reason ? reason : "");
		}
		judge_stream(&r, json_object_get(s, "chunks_hex"), got, sizeof got, &end);
		if (strcmp(got, want) != 0 ||
		    strcmp(end, json_string_value(json_object_get(s, "end"))) != 0) {
			fprintf(stderr, "  streams.json tcId %d: want [%s] %s, got [%s] %s\n",
				(int)json_integer_value(json_object_get(s, "tcId")), want,
				json_string_value(json_object_get(s, "end")), got, end);
			CU_FAIL("stream vector verdicts differ");
		}
	}
	ib_keyring_free(r.kr);
	json_decref(doc);
	json_decref(frames);
}

/* The hex under <!-- worked-example-frame --> in the spec is what the library makes. */
static void test_spec_worked_example(void)
{
	static const uint8_t secret[32] = {
		0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
		0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
		0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60 };
	FILE *f = fopen("spec/interbot-v1.md", "r");
	char line[1024], hex[1024] = "";
	struct ib_identity *id = NULL;
	struct ib_buf msg = { 0 }, frame = { 0 };
	struct ib_msg m;
	uint8_t want[512];
	size_t n;
	int marker = 0;

	CU_ASSERT_FATAL(f != NULL);
	while (fgets(line, sizeof line, f)) {
		if (strstr(line, "<!-- worked-example-frame -->"))
			marker = 1;
		else if (marker == 1 && strncmp(line, "```", 3) == 0)
			marker = 2;
		else if (marker == 2) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(hex, sizeof hex, "%s", line);
			break;
		}
	}
	fclose(f);
	CU_ASSERT_FATAL(hex[0] != '\0');
	n = ib_test_unhex(hex, want, sizeof want);

	memset(&m, 0, sizeof m);
	m.h.version = 1;
	m.h.type = IB_MSG_PUBLISH;
	m.h.seq = 1767225600000000ull;
	m.u.publish.key = (struct ib_slice){ (const uint8_t *)"greeting", 8 };
	m.u.publish.version = 1;
	m.u.publish.value = (struct ib_slice){ (const uint8_t *)"hello, interbot", 15 };
	IB_ASSERT_OK(ib_identity_from_secret(&id, secret));
	IB_ASSERT_OK(ib_msg_encode(&msg, &m));
	IB_ASSERT_OK(ib_frame_sign(&frame, id, msg.ptr, msg.len));
	CU_ASSERT_EQUAL(frame.len, n);
	CU_ASSERT(frame.len == n && memcmp(frame.ptr, want, n) == 0);
	ib_buf_free(&msg);
	ib_buf_free(&frame);
	ib_identity_free(id);
}

static const struct ib_test_case cases[] = {
	IB_TEST(test_spec_worked_example, "ID-1 ID-2 FRAME-1"),
	IB_TEST(test_vector_keys, "ID-2"),
	IB_TEST(test_frame_vectors, ""),    /* each vector names its own requirements */
	IB_TEST(test_stream_vectors, ""),
	IB_TEST_END
};

const struct ib_test_suite ib_suite_vectors = { "vectors", NULL, NULL, cases };
