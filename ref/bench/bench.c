/*
 * bench.c - interbot-bench: measures the library against the physical bounds of the same
 * machine, in the same run. Prints `name=value` lines; asserts nothing.
 *
 *   interbot-bench BENCH... [--seconds S] [--json FILE] [--dir DIR] [--nodes N,...]
 *                           [--budget S]
 *
 * The benchmarks: wire (here), tree, bringup, memory, latency (tree_bench.c), data
 * (data_bench.c), relay (relay_bench.c), publish (publish_bench.c), suite (suite_bench.c);
 * report.c runs each in a child and writes the JSON report.
 *
 * wire: Ed25519 verifies/s through raw EVP_DigestVerify (one parsed key, context reset per
 * call: the bound) against ib_frame_verify (keyring lookup + the same verify); sign rate;
 * stream decode + message decode throughput against memcpy of the same bytes.
 */
#define _POSIX_C_SOURCE 200809L
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "interbot.h"

static double seconds_per_case = 1.0;

static void die(const char *what, int err)
{
	fprintf(stderr, "interbot-bench: %s: %s\n", what, ib_strerror(err));
	exit(EXIT_FAILURE);
}

/* RFC 8032 section 7.1 TEST 1 secret key (alice). */
static const uint8_t alice_secret[32] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
	0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
};

/* A PUBLISH of about 200 bytes in all, the size the design notes measured relays with. */
static void make_frame(const struct ib_identity *id, uint64_t seq, struct ib_buf *frame)
{
	int err = bench_publish_frame(id, seq, 80, frame);

	if (err)
		die("frame", err);
}

/* The bound: verify with one parsed EVP_PKEY, EVP_MD_CTX reset before every use. */
static double raw_verify_rate(const struct ib_frame *f, EVP_PKEY *pkey)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	double t0 = bench_now(), t;
	long n = 0;

	do {
		for (int i = 0; i < 256; i++) {
			EVP_MD_CTX_reset(ctx);
			if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1 ||
			    EVP_DigestVerify(ctx, f->sig.ptr, f->sig.len, f->msg.ptr, f->msg.len) != 1)
				die("raw verify", IB_ERR_BAD_SIGNATURE);
		}
		n += 256;
		t = bench_now() - t0;
	} while (t < seconds_per_case);
	EVP_MD_CTX_free(ctx);
	return (double)n / t;
}

static double lib_verify_rate(const struct ib_frame *f, const struct ib_keyring *kr)
{
	double t0 = bench_now(), t;
	long n = 0;

	do {
		for (int i = 0; i < 256; i++)
			if (ib_frame_verify(f, kr, NULL) != IB_OK)
				die("ib_frame_verify", IB_ERR_BAD_SIGNATURE);
		n += 256;
		t = bench_now() - t0;
	} while (t < seconds_per_case);
	return (double)n / t;
}

static double sign_rate(const struct ib_identity *id, const struct ib_frame *f)
{
	uint8_t sig[IB_SIG_LEN];
	double t0 = bench_now(), t;
	long n = 0;

	do {
		for (int i = 0; i < 256; i++)
			if (ib_identity_sign(id, f->msg.ptr, f->msg.len, sig) != IB_OK)
				die("sign", IB_ERR_CRYPTO);
		n += 256;
		t = bench_now() - t0;
	} while (t < seconds_per_case);
	return (double)n / t;
}

/* Decodes the whole stream in 4 KiB reads (a TLS record's worth), every message too. */
static size_t decode_stream(const struct ib_buf *stream)
{
	struct ib_frame_decoder d;
	size_t off = 0, frames = 0;

	ib_frame_decoder_init(&d, IB_MAX_MESSAGE_LIMIT);
	while (off < stream->len) {
		size_t chunk = stream->len - off < 4096 ? stream->len - off : 4096, taken;
		struct ib_frame f;
		struct ib_msg m;

		if (ib_frame_decoder_feed(&d, stream->ptr + off, chunk, &taken) != IB_OK)
			die("decoder", IB_ERR_TOO_BIG);
		off += taken;
		while (ib_frame_decoder_next(&d, &f) == IB_FRAME_READY) {
			if (ib_msg_decode(&m, f.msg.ptr, f.msg.len) != IB_OK)
				die("decode", IB_ERR_RANGE);
			frames++;
		}
	}
	ib_frame_decoder_free(&d);
	return frames;
}

static void bench_decode(const struct ib_identity *id)
{
	struct ib_buf stream = { 0 };
	uint8_t *copy;
	double t0, t, mb;
	long rounds = 0;
	size_t frames = 0;

	for (uint64_t i = 0; i < 5000; i++)
		make_frame(id, 1 + i, &stream);
	mb = (double)stream.len / 1e6;
	copy = malloc(stream.len);

	t0 = bench_now();
	do {
		frames += decode_stream(&stream);
		rounds++;
		t = bench_now() - t0;
	} while (t < seconds_per_case);
	printf("decode_mb_per_s=%.1f\n", mb * (double)rounds / t);
	printf("decode_frames_per_s=%.0f\n", (double)frames / t);

	rounds = 0;
	t0 = bench_now();
	do {
		/* memcpy in the same 4 KiB pieces: the cost of touching the bytes once. */
		for (size_t off = 0; off < stream.len; off += 4096)
			memcpy(copy + off, stream.ptr + off,
			       stream.len - off < 4096 ? stream.len - off : 4096);
		rounds++;
		t = bench_now() - t0;
	} while (t < seconds_per_case);
	printf("memcpy_mb_per_s=%.1f\n", mb * (double)rounds / t);
	free(copy);
	ib_buf_free(&stream);
}

int bench_wire(const struct bench_opts *o)
{
	struct ib_identity *id = NULL;
	struct ib_keyring *kr = NULL;
	struct ib_pubkey *pk = NULL;
	struct ib_buf frame = { 0 };
	struct ib_frame f;
	EVP_PKEY *raw;
	double raw_rate, lib_rate;
	int err;

	seconds_per_case = o->seconds;
	err = ib_identity_from_secret(&id, alice_secret);
	if (!err)
		err = ib_keyring_new(&kr);
	if (!err)
		err = ib_pubkey_from_raw(&pk, ib_pubkey_raw(ib_identity_pubkey(id)));
	if (!err)
		err = ib_keyring_add(kr, pk);
	if (err)
		die("setup", err);
	make_frame(id, 1, &frame);
	if (ib_frame_parse(&f, frame.ptr, frame.len, IB_MAX_MESSAGE_LIMIT) != IB_OK)
		die("parse", IB_ERR_RANGE);
	raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
					  ib_pubkey_raw(ib_identity_pubkey(id)), IB_PUBKEY_LEN);
	if (!raw)
		die("raw key", IB_ERR_CRYPTO);

	printf("frame_bytes=%zu\n", frame.len);
	/* Alternated, best of three each: a machine that speeds up or is disturbed during the
	 * run then skews both sides alike. */
	raw_rate = lib_rate = 0;
	for (int round = 0; round < 3; round++) {
		double r = raw_verify_rate(&f, raw), l = lib_verify_rate(&f, kr);

		raw_rate = r > raw_rate ? r : raw_rate;
		lib_rate = l > lib_rate ? l : lib_rate;
	}
	printf("raw_evp_verify_per_s=%.0f\n", raw_rate);
	printf("ib_frame_verify_per_s=%.0f\n", lib_rate);
	printf("verify_ratio_lib_to_raw=%.3f\n", lib_rate / raw_rate);
	printf("sign_per_s=%.0f\n", sign_rate(id, &f));
	bench_decode(id);

	EVP_PKEY_free(raw);
	ib_buf_free(&frame);
	ib_keyring_free(kr);
	ib_identity_free(id);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: interbot-bench BENCH... [--seconds S] [--json FILE] [--dir DIR]\n"
		"                      [--nodes N,N...] [--budget S]\n"
		"       interbot-bench --help|--version\n\n"
		"Prints name=value lines: the library's figures beside the bounds measured\n"
		"in the same run. Each BENCH runs in a child process, in the order given.\n\n"
		"  wire     ib_frame_verify vs raw EVP_DigestVerify, sign rate, decode vs memcpy\n"
		"  bringup  random:100, 1000 and 10000 bring-up in this process vs TLS\n"
		"           handshakes/s and raw verifies/s; heap and RSS\n"
		"  memory   heap per idle link (both ends) vs one idle in-memory TLS pair;\n"
		"           the 40 KiB target\n"
		"  latency  per-hop p50/p99 of a frame through chain:8 in this process vs one\n"
		"           raw verify per hop\n"
		"  tree     bringup, memory, and a chain:5 flood vs raw verifies/s / 4\n"
		"  data     an election in random:50 vs its verify bound; store publishes\n"
		"           with fsync vs raw write+fsync+rename\n"
		"  relay    an `interbot run` process (alone on a core) relaying 200 B and\n"
		"           16 KiB frames between two children vs raw verifies/s of a frame\n"
		"  publish  an `interbot run` process storing PUBLISH frames flooded by a\n"
		"           child vs raw verifies/s and raw fsync-replace/s; fsyncs per item\n"
		"  suite    wall time of the conformance suite on the reference node, in\n"
		"           process and as spawned nodes (2 jobs)\n\n"
		"  --seconds S     how long each rate is measured (default 1; S > 0)\n"
		"  --json FILE     also write every figure, and the machine's facts, to FILE\n"
		"  --dir DIR       where publish and data make their node directory and store\n"
		"                  (default: $TMPDIR, else /tmp)\n"
		"  --nodes LIST    bringup's tree sizes (default 100,1000,10000)\n"
		"  --budget S      bringup skips a tree expected to take longer (default 60)\n");
}

/* "100,1000": the sizes, each from 2 to 100000; false on anything else. */
static bool parse_sizes(const char *list, struct bench_opts *o)
{
	const char *p = list;

	o->nsizes = 0;
	while (*p) {
		char *end;
		unsigned long n = strtoul(p, &end, 10);

		if (end == p || n < 2 || n > 100000 || o->nsizes == BENCH_MAX_SIZES ||
		    (*end && *end != ','))
			return false;
		o->sizes[o->nsizes++] = n;
		p = *end ? end + 1 : end;
	}
	return o->nsizes > 0;
}

/* A positive number, else 0 (which the callers refuse). */
static double positive(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	return end != s && !*end && v > 0 ? v : 0;
}

/* Options may come anywhere after the first benchmark name. Returns the number of names
 * put in names[], or -1 on bad usage. */
static int parse_args(int argc, char **argv, struct bench_opts *o, const char **json,
		      const char **names, int max)
{
	int count = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strncmp(a, "--", 2) != 0) {
			if (!bench_find(a) || count == max)
				return -1;
			names[count++] = a;
			continue;
		}
		if (!v)
			return -1;
		i++;
		if (strcmp(a, "--seconds") == 0 && (o->seconds = positive(v)) > 0)
			continue;
		if (strcmp(a, "--budget") == 0 && (o->budget = positive(v)) > 0)
			continue;
		if (strcmp(a, "--json") == 0 && *v) {
			*json = v;
			continue;
		}
		if (strcmp(a, "--dir") == 0 && *v) {
			o->dir = v;
			continue;
		}
		if (strcmp(a, "--nodes") == 0 && parse_sizes(v, o))
			continue;
		return -1;
	}
	return count;
}

int main(int argc, char **argv)
{
	struct bench_opts o = { .seconds = 1.0, .self = argv[0], .budget = 60.0,
				.sizes = { 100, 1000, 10000 }, .nsizes = 3 };
	const char *names[32], *json = NULL;
	int count;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("interbot-bench %s\n", IB_SOFTWARE_VERSION);
		return 0;
	}
	count = parse_args(argc, argv, &o, &json, names, 32);
	if (count <= 0) {
		usage(stderr);
		return 2;
	}
	return bench_run_all(names, (size_t)count, &o, json);
}
