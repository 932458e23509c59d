/*
 * tree_bench.c - `interbot-bench tree`: whole trees in one process (the conformance harness),
 * each figure beside the bound measured in the same run:
 *   - bring-up of random:N trees, wall time, against TLS handshakes/s of one in-memory
 *     client+server pair (every link costs one handshake);
 *   - heap per idle link (both ends), from mallinfo2 between "nodes started" and "tree
 *     formed" (what the links themselves hold);
 *   - flood throughput through chain:5, frames/s reaching the far end, against the raw
 *     Ed25519 verify rate divided by the 4 nodes that each verify every frame on one core.
 * `interbot-bench data`:
 *   - an election in random:50: virtual latency (the window and the transfer) and the wall
 *     time its messages cost the process;
 *   - store publishes per second with fsync, against write+fsync+rename+fsync(dir) of a file
 *     of the same size, measured in the same run.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "tls.h"

int bench_tree(double seconds);

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* Handshakes/s of one client+server pair through memory: the bound for bring-up. */
static double handshake_rate(double seconds)
{
	struct ib_identity *a = NULL, *b = NULL;
	struct ib_keyring *kr = NULL;
	struct ib_tls_ctx *ca = NULL, *cb = NULL;
	struct ib_pubkey *ka = NULL, *kb = NULL;
	double t0, t;
	long n = 0;

	if (ib_identity_generate(&a) || ib_identity_generate(&b) || ib_keyring_new(&kr) ||
	    ib_pubkey_from_raw(&ka, ib_pubkey_raw(ib_identity_pubkey(a))) ||
	    ib_keyring_add(kr, ka) ||
	    ib_pubkey_from_raw(&kb, ib_pubkey_raw(ib_identity_pubkey(b))) ||
	    ib_keyring_add(kr, kb) || ib_tls_ctx_new(&ca, a) || ib_tls_ctx_new(&cb, b))
		return 0;
	ib_tls_ctx_set_keyring(ca, kr);
	ib_tls_ctx_set_keyring(cb, kr);
	t0 = now_s();
	do {
		struct ib_tls *c = NULL, *s = NULL;
		struct ib_buf wire = { 0 }, plain = { 0 };
		int sc = 0, ss = 0;

		ib_tls_new(&c, ca, IB_TLS_CLIENT);
		ib_tls_new(&s, cb, IB_TLS_SERVER);
		for (int round = 0; round < 10 && (sc != IB_TLS_OPEN || ss != IB_TLS_OPEN); round++) {
			sc = ib_tls_step(c, &plain);
			ib_buf_reset(&wire);
			ib_tls_take_output(c, &wire);
			ib_tls_feed(s, wire.ptr, wire.len);
			ss = ib_tls_step(s, &plain);
			ib_buf_reset(&wire);
			ib_tls_take_output(s, &wire);
			ib_tls_feed(c, wire.ptr, wire.len);
		}
		ib_tls_free(c);
		ib_tls_free(s);
		ib_buf_free(&wire);
		ib_buf_free(&plain);
		n++;
		t = now_s() - t0;
	} while (t < seconds);
	ib_tls_ctx_free(ca);
	ib_tls_ctx_free(cb);
	ib_keyring_free(kr);
	ib_identity_free(a);
	ib_identity_free(b);
	return (double)n / t;
}

static int bring_up(size_t nodes, double handshakes_per_s)
{
	char shape[64];
	struct hn_tree *t = NULL;
	size_t before, after;
	double t0, secs;

	snprintf(shape, sizeof shape, "random:%zu:1", nodes);
	t0 = now_s();
	if (hn_tree_new(&t, shape, 1) || hn_tree_start(t)) {
		hn_tree_free(t);
		return -1;
	}
	/* Nodes exist and listen; their links are not up yet. */
	before = heap_bytes();
	if (!hn_tree_run_until(t, hn_tree_formed, NULL, 600ull * 1000000ull)) {
		fprintf(stderr, "interbot-bench: %s did not form\n", shape);
		hn_tree_free(t);
		return -1;
	}
	secs = now_s() - t0;
	after = heap_bytes();
	printf("tree_%zu_bringup_s=%.3f\n", nodes, secs);
	printf("tree_%zu_links=%zu\n", nodes, nodes - 1);
	printf("tree_%zu_handshakes_per_s=%.0f\n", nodes, (double)(nodes - 1) / secs);
	printf("tree_%zu_bringup_ratio_to_bound=%.3f\n", nodes,
	       (double)(nodes - 1) / secs / handshakes_per_s);
	/* What the links added once up and idle (TLS, buffers, peer state), both ends. */
	printf("tree_%zu_heap_per_idle_link_bytes=%zu\n", nodes, (after - before) / (nodes - 1));
	hn_tree_free(t);
	return 0;
}

struct flood_wait {
	size_t node;
	uint64_t want;
};

static bool delivered(struct hn_tree *t, void *arg)
{
	const struct flood_wait *w = arg;

	return t->nodes[w->node].delivered >= w->want;
}

static double verify_rate(double seconds)
{
	static const uint8_t msg[200] = { 1 };
	struct ib_identity *id = NULL;
	uint8_t sig[IB_SIG_LEN];
	double t0, t;
	long n = 0;

	if (ib_identity_generate(&id) || ib_identity_sign(id, msg, sizeof msg, sig))
		return 0;
	t0 = now_s();
	do {
		for (int i = 0; i < 64; i++)
			ib_pubkey_verify(ib_identity_pubkey(id), msg, sizeof msg, sig, sizeof sig);
		n += 64;
		t = now_s() - t0;
	} while (t < seconds);
	ib_identity_free(id);
	return (double)n / t;
}

static int chain_flood(size_t frames, double verifies_per_s)
{
	static uint8_t value[120];
	struct hn_tree *t = NULL;
	struct flood_wait w = { 4, frames };
	double t0, secs;

	if (hn_tree_new(&t, "chain:5", 2) || hn_tree_start(t) ||
	    !hn_tree_run_until(t, hn_tree_formed, NULL, 60ull * 1000000ull))
		return -1;
	t0 = now_s();
	for (size_t i = 0; i < frames; i++) {
		struct ib_msg m;

		memset(&m, 0, sizeof m);
		m.h.type = IB_MSG_PUBLISH;
		m.u.publish.key = (struct ib_slice){ (const uint8_t *)"bench", 5 };
		m.u.publish.version = i + 1;
		m.u.publish.value = (struct ib_slice){ value, sizeof value };
		ib_node_send(t->nodes[0].node, &m);
		/* Let the chain drain as it goes, as a real sender would be paced by TCP. */
		if (i % 64 == 63)
			hn_tree_run_until(t, delivered, &(struct flood_wait){ 4, i + 1 - 64 },
					  60ull * 1000000ull);
	}
	if (!hn_tree_run_until(t, delivered, &w, 600ull * 1000000ull)) {
		hn_tree_free(t);
		return -1;
	}
	secs = now_s() - t0;
	printf("chain5_frames=%zu\n", frames);
	printf("chain5_frames_per_s=%.0f\n", (double)frames / secs);
	printf("chain5_bound_frames_per_s=%.0f\n", verifies_per_s / 4);
	printf("chain5_ratio_to_bound=%.3f\n", (double)frames / secs / (verifies_per_s / 4));
	hn_tree_free(t);
	return 0;
}

int bench_tree(double seconds)
{
	double hs = handshake_rate(seconds), vr = verify_rate(seconds);

	printf("tls_handshakes_per_s=%.0f\n", hs);
	printf("raw_verify_per_s=%.0f\n", vr);
	if (bring_up(100, hs) || bring_up(1000, hs) || chain_flood(5000, vr))
		return 1;
	return 0;
}

/* ---- interbot-bench data ---------------------------------------------------------------- */

int bench_data(double seconds);

static void fetched(struct ib_node *n, int status, const struct ib_item *item,
		    const struct ib_election_report *report, void *ctx)
{
	(void)n;
	(void)item;
	(void)report;
	*(int *)ctx = status == IB_OK ? 1 : -1;
}

static bool fetch_over(struct hn_tree *t, void *arg)
{
	(void)t;
	return *(int *)arg != 0;
}

static uint64_t frames_verified(const struct hn_tree *t)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < t->count; i++)
		if (t->nodes[i].node)
			sum += ib_node_counter(t->nodes[i].node, IB_CNT_FRAMES_IN);
	return sum;
}

/* Elections in random:50: node 49 joins after 20 keys were published, then fetches each:
 * every other node holds it and offers. Virtual latency is the window plus SELECT and
 * TRANSFER; the wall time is the CPU the process spent on the election's frames, compared
 * with the raw verify time of as many frames as the nodes accepted meanwhile. */
static int election_latency(int rounds, double verifies_per_s)
{
	struct hn_tree *t = NULL;
	double wall = 0;
	uint64_t virt = 0, frames = 0;

	if (hn_tree_new(&t, "random:50:3", 3))
		return -1;
	t->base.election_window_ms = 100;
	if (hn_tree_start(t) || !hn_tree_run_until(t, hn_tree_formed, NULL, 60ull * 1000000ull))
		return -1;
	hn_tree_kill(t, 49);
	for (int i = 0; i < rounds; i++) {
		char key[16];

		snprintf(key, sizeof key, "k%d", i);
		ib_node_publish(t->nodes[0].node, (struct ib_slice){ (const uint8_t *)key, strlen(key) },
				(struct ib_slice){ (const uint8_t *)"value", 5 }, NULL);
	}
	if (hn_tree_restart(t, 49) ||
	    !hn_tree_run_until(t, hn_tree_formed, NULL, 120ull * 1000000ull))
		return -1;
	hn_tree_run_for(t, 1000000); /* the tree map settles */
	for (int i = 0; i < rounds; i++) {
		int done = 0;
		char key[16];
		uint64_t v0 = t->clock.monotonic_us, f0 = frames_verified(t);
		double w0 = now_s();

		snprintf(key, sizeof key, "k%d", i);
		if (ib_node_fetch(t->nodes[49].node,
				  (struct ib_slice){ (const uint8_t *)key, strlen(key) }, fetched,
				  &done) ||
		    !hn_tree_run_until(t, fetch_over, &done, 10ull * 1000000ull) || done != 1)
			return -1;
		wall += now_s() - w0;
		virt += t->clock.monotonic_us - v0;
		frames += frames_verified(t) - f0;
	}
	printf("election_random50_virtual_ms=%.1f\n", (double)virt / rounds / 1000.0);
	printf("election_random50_window_ms=%u\n", t->base.election_window_ms);
	printf("election_random50_wall_ms=%.2f\n", wall / rounds * 1000.0);
	printf("election_random50_frames_verified=%.0f\n", (double)frames / rounds);
	printf("election_random50_verify_bound_ms=%.2f\n",
	       (double)frames / rounds / verifies_per_s * 1000.0);
	hn_tree_free(t);
	return 0;
}

/* The bound for the store: write + fsync + rename + fsync(dir) of a file of the same size. */
static double raw_fsync_rate(const char *dir, size_t size, double seconds)
{
	char path[512], tmp[520];
	uint8_t *buf = calloc(1, size);
	double t0 = now_s(), t;
	long n = 0;

	if (!buf)
		return 0;
	snprintf(path, sizeof path, "%s/raw", dir);
	do {
		FILE *f;
		int dfd = open(dir, O_RDONLY);

		snprintf(tmp, sizeof tmp, "%s.tmp", path);
		f = fopen(tmp, "wb");
		if (!f)
			break;
		fwrite(buf, 1, size, f);
		fflush(f);
		fsync(fileno(f));
		fclose(f);
		rename(tmp, path);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		n++;
		t = now_s() - t0;
	} while (t < seconds);
	free(buf);
	return (double)n / (now_s() - t0);
}

static int store_rate(double seconds)
{
	char dir[] = "/tmp/ib-bench-store-XXXXXX";
	struct ib_identity *id = NULL;
	struct ib_keyring *kr = NULL;
	struct ib_pubkey *pk = NULL;
	struct ib_store *store = NULL;
	uint8_t value[100] = { 0 };
	double t0, t;
	size_t frame_len = 0;
	long n = 0;

	if (!mkdtemp(dir) || ib_identity_generate(&id) || ib_keyring_new(&kr) ||
	    ib_pubkey_from_raw(&pk, ib_pubkey_raw(ib_identity_pubkey(id))) ||
	    ib_keyring_add(kr, pk) || ib_store_open(&store, dir, kr, NULL, NULL))
		return -1;
	t0 = now_s();
	do {
		struct ib_buf msg = { 0 }, frame = { 0 };
		struct ib_frame f;
		struct ib_msg m, back;

		memset(&m, 0, sizeof m);
		m.h.version = 1;
		m.h.type = IB_MSG_PUBLISH;
		m.h.seq = (uint64_t)n + 1;
		m.u.publish = (struct ib_publish){ { (const uint8_t *)"bench", 5 }, (uint64_t)n + 1,
						   { value, sizeof value } };
		ib_msg_encode(&msg, &m);
		ib_frame_sign(&frame, id, msg.ptr, msg.len);
		ib_frame_parse(&f, frame.ptr, frame.len, IB_MAX_MESSAGE_LIMIT);
		ib_msg_decode(&back, f.msg.ptr, f.msg.len);
		if (ib_store_apply(store, f.raw, &back) != 1)
			return -1;
		frame_len = frame.len;
		ib_buf_free(&msg);
		ib_buf_free(&frame);
		n++;
		t = now_s() - t0;
	} while (t < seconds);
	printf("store_publish_per_s=%.0f\n", (double)n / t);
	printf("raw_fsync_replace_per_s=%.0f\n", raw_fsync_rate(dir, frame_len, seconds));
	ib_store_free(store);
	ib_keyring_free(kr);
	ib_identity_free(id);
	{
		char cmd[600];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		/* NOLINTNEXTLINE(cert-env33-c): dir is the mkdtemp directory this program made */
		if (system(cmd) != 0)
			fprintf(stderr, "interbot-bench: could not remove %s\n", dir);
	}
	return 0;
}

int bench_data(double seconds)
{
	double vr = verify_rate(seconds);

	printf("raw_verify_per_s=%.0f\n", vr);
	if (election_latency(20, vr) || store_rate(seconds))
		return 1;
	return 0;
}
