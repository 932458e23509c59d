/*
 * vecgen.c - writes the golden vectors: vectors/frames.json, vectors/streams.json, and the fuzz
 * seed corpora made from them.
 *
 *   interbot-vecgen --out DIR [--corpus DIR]
 *
 * Every vector is built from a stated intent (the message fields) with the RFC 8032 test keys,
 * then broken on purpose where the vector is about a fault. Ed25519 is deterministic, so the
 * output is byte-identical on every run; `make test` checks that it is. The expected verdict of
 * each vector is written here by hand, not computed by the library, so replaying the vectors
 * through the library tests it.
 */
#include "vecgen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct vg_key vg_keys[VG_NKEYS] = {
	/* RFC 8032 section 7.1: TEST 1, TEST 2, TEST 3, and TEST SHA(abc). */
	{ "alice", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", true, NULL },
	{ "bob", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", true, NULL },
	{ "carol", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7", true, NULL },
	{ "dave", "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42", false, NULL },
};

void vg_die(const char *what, int err)
{
	fprintf(stderr, "interbot-vecgen: %s: %s\n", what, err ? ib_strerror(err) : strerror(errno));
	exit(EXIT_FAILURE);
}

const ib_id *vg_id(int who)
{
	return ib_identity_id(vg_keys[who].id);
}

json_t *vg_hex(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);
	json_t *j;

	if (!s)
		vg_die("hex", IB_ERR_NOMEM);
	ib_hex_encode(p, n, s);
	j = json_string(s);
	free(s);
	return j;
}

/* "A B C" -> ["A", "B", "C"] */
json_t *vg_words(const char *list)
{
	json_t *a = json_array();
	const char *p = list ? list : "";

	while (*p) {
		size_t n = strcspn(p, " ");

		if (n)
			json_array_append_new(a, json_stringn(p, n));
		p += n;
		p += strspn(p, " ");
	}
	return a;
}

static void load_keys(void)
{
	for (int i = 0; i < VG_NKEYS; i++) {
		uint8_t secret[IB_SECRET_LEN];
		int err;

		size_t n;

		err = ib_hex_decode(vg_keys[i].secret_hex, 2 * sizeof secret, secret, sizeof secret, &n);
		if (err)
			vg_die("secret hex", err);
		err = ib_identity_from_secret(&vg_keys[i].id, secret);
		if (err)
			vg_die("identity", err);
	}
}

void vg_keyring(struct ib_keyring **out)
{
	int err = ib_keyring_new(out);

	for (int i = 0; !err && i < VG_NKEYS; i++) {
		struct ib_pubkey *k;

		if (!vg_keys[i].known)
			continue;
		err = ib_pubkey_from_raw(&k, ib_pubkey_raw(ib_identity_pubkey(vg_keys[i].id)));
		if (!err)
			err = ib_keyring_add(*out, k);
	}
	if (err)
		vg_die("keyring", err);
}

static json_t *keys_json(void)
{
	json_t *keys = json_object();

	for (int i = 0; i < VG_NKEYS; i++) {
		const struct ib_pubkey *pk = ib_identity_pubkey(vg_keys[i].id);
		char id[2 * IB_ID_LEN + 1];

		ib_id_to_hex(ib_pubkey_id(pk), id);
		json_object_set_new(keys, vg_keys[i].name,
				    json_pack("{s:s, s:o, s:o, s:s, s:b}", "secret_hex",
					      vg_keys[i].secret_hex, "public_hex",
					      vg_hex(ib_pubkey_raw(pk), IB_PUBKEY_LEN), "spki_der_hex",
					      vg_hex(ib_pubkey_spki(pk), IB_SPKI_LEN), "id_bot", id,
					      "in_receiver_keyring", vg_keys[i].known));
	}
	return keys;
}

static json_t *receiver_json(void)
{
	char now[24];

	snprintf(now, sizeof now, "%llu", (unsigned long long)VG_NOW);
	return json_pack("{s:[s,s,s], s:i, s:s}", "keyring", "alice", "bob", "carol",
			 "max_message", (int)VG_MAX_MESSAGE, "now_unix_us", now);
}

static void write_json(const char *dir, const char *name, json_t *doc)
{
	char path[4096];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (json_dump_file(doc, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) != 0)
		vg_die(path, 0);
	json_decref(doc);
}

/* frames.pcap: the frames as a trace (spec section 19.4), for --check-pcap and Wireshark.
 * Each vector is judged alone, so each travels on a link of its own: from 192.0.2.1 port
 * 40000 + tcId to 192.0.2.2 port 7001 (TEST-NET-1), one millisecond apart. */
static void write_pcap(const char *dir, const char *name, json_t *vectors)
{
	struct ib_trace_addr to = { 4, { 192, 0, 2, 2 }, 7001 };
	struct ib_trace *t = NULL;
	char path[4096];
	size_t i;
	json_t *v;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (ib_trace_open(&t, path, 0, NULL) != IB_OK)
		vg_die(path, 0);
	json_array_foreach(vectors, i, v) {
		const char *hex = json_string_value(json_object_get(v, "frame_hex"));
		int tc = (int)json_integer_value(json_object_get(v, "tcId"));
		struct ib_trace_addr from = { 4, { 192, 0, 2, 1 }, (uint16_t)(40000 + tc) };
		size_t len = hex ? strlen(hex) / 2 : 0;
		uint8_t *frame = malloc(len + 1);

		if (!hex || !frame || ib_hex_decode(hex, strlen(hex), frame, len + 1, &len) != IB_OK ||
		    ib_trace_write(t, VG_NOW + (uint64_t)tc * 1000u, &from, &to, frame, len) != IB_OK)
			vg_die(path, 0);
		free(frame);
	}
	ib_trace_close(t);
}

static json_t *frames_doc(json_t *vectors)
{
	return json_pack(
		"{s:{s:s, s:i}, s:s, s:s, s:o, s:o, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
		"s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}, s:i, s:o}",
		"schema", "name", "interbot-frame-vectors", "version", 1,
		"spec", "spec/interbot-v1.md (interbot v1)",
		"source",
		"generated by vectors/gen (make vectors); keys are RFC 8032 section 7.1 TEST 1, 2, 3 "
		"and TEST SHA(abc); signatures are deterministic Ed25519",
		"receiver", receiver_json(), "keys", keys_json(), "notes",
		"result",
		"valid: accept (act on it if the type is known, forward it if end-to-end); invalid: "
		"drop it, do not forward, count `reason`, keep the link; link_error: close the link "
		"with ERROR `reason`. Each vector is judged alone, by a receiver in the state "
		"`receiver` describes, on an open link.",
		"reason", "the spec's counter or ERROR name (section 17); normative",
		"error", "the reference library's precise error name; informative",
		"message", "for valid vectors, the decoded header and body; u64 as decimal strings, "
		"ids and opaque bytes as hex, strings as text",
		"embedded_result", "TRANSFER only: the verdict on the frame it carries, for the "
		"requester ([ELECT-5]); relays do not look inside",
		"WorkedExample", "the frame of the spec's section 21",
		"UnknownType", "end-to-end type this receiver does not know: forward it, do not act on "
		"it ([MSG-10])",
		"UnknownHopType", "unassigned hop-local type: ignore it ([MSG-9])",
		"FlagsIgnored", "non-zero flags: ignored and forwarded unchanged ([MSG-4])",
		"WrongKey", "the id_bot of one key, the signature of another (the OpenSSL 3.0 "
		"EVP_MD_CTX trap)",
		"NonCanonicalS", "signature scalar S >= L (RFC 8032 section 5.1.7)",
		"HeaderOnly", "only the 21-byte header: the receiver must decide from it alone",
		"Boundary", "a length or value exactly at a limit",
		"ClockDependent", "the verdict depends on `receiver.now_unix_us` ([CMD-6])",
		"BodyRange", "a field value outside its stated range",
		"EmbeddedInvalid", "a valid TRANSFER whose embedded frame the requester must reject",
		"SmallOrderR", "the signature's R is a point of small order ([FRAME-9]); OpenSSL, "
		"BoringSSL and Go's crypto/ed25519 alone accept the one with the identity",
		"NonCanonicalR", "the signature's R is not a canonical encoding ([FRAME-9])",
		"CofactoredOnly", "valid under the cofactored equation only; [FRAME-9] is "
		"cofactorless",
		"numberOfTests", (int)json_array_size(vectors), "vectors", vectors);
}

static json_t *streams_doc(json_t *streams)
{
	return json_pack(
		"{s:{s:s, s:i}, s:s, s:s, s:o, s:{s:s, s:s, s:s}, s:i, s:o}",
		"schema", "name", "interbot-stream-vectors", "version", 1,
		"spec", "spec/interbot-v1.md (interbot v1)",
		"source", "generated by vectors/gen (make vectors); keys as in frames.json",
		"receiver", receiver_json(), "notes",
		"chunks_hex", "the bytes of one link, in the reads a receiver gets them in",
		"expected", "one verdict per frame, in order, as in frames.json; a fresh receiver per "
		"stream, whose anti-replay windows ([FLOOD-3]) start empty and last the stream",
		"end", "clean: no bytes left over; partial: an incomplete frame is buffered; "
		"link_error: the link closes at the last verdict and later bytes are not read",
		"numberOfTests", (int)json_array_size(streams), "streams", streams);
}

static void ensure_dir(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		vg_die(path, 0);
}

int main(int argc, char **argv)
{
	const char *out = NULL, *corpus = NULL;
	struct vg_out frames = { 0 }, streams = { 0 };

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (strcmp(argv[i], "--corpus") == 0 && i + 1 < argc)
			corpus = argv[++i];
		else {
			fprintf(stderr, "usage: interbot-vecgen --out DIR [--corpus DIR]\n");
			return i == 1 && strcmp(argv[i], "--help") == 0 ? 0 : 2;
		}
	}
	if (!out) {
		fprintf(stderr, "usage: interbot-vecgen --out DIR [--corpus DIR]\n");
		return 2;
	}
	load_keys();
	frames.list = json_array();
	streams.list = json_array();
	frames.corpus = streams.corpus = corpus;
	if (corpus) {
		ensure_dir(corpus);
		vg_seed_dirs(corpus);
	}
	vg_frames(&frames);
	vg_streams(&streams);
	write_pcap(out, "frames.pcap", frames.list);
	write_json(out, "frames.json", frames_doc(frames.list));
	write_json(out, "streams.json", streams_doc(streams.list));
	for (int i = 0; i < VG_NKEYS; i++)
		ib_identity_free(vg_keys[i].id);
	return 0;
}
