/*
 * data_bench.c - `interbot-bench data`, each figure beside the bound measured in the same run:
 *   - an election in random:50: virtual latency (the window and the transfer) and the wall
 *     time its messages cost the process, against the raw verify time of as many frames;
 *   - store publishes per second with fsync, against write+fsync+rename+fsync(dir) of a file
 *     of the same size, in the same directory (--dir, else TMPDIR, else /tmp).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "harness.h"

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
		double w0 = bench_now();

		snprintf(key, sizeof key, "k%d", i);
		if (ib_node_fetch(t->nodes[49].node,
				  (struct ib_slice){ (const uint8_t *)key, strlen(key) }, fetched,
				  &done) ||
		    !hn_tree_run_until(t, fetch_over, &done, 10ull * 1000000ull) || done != 1)
			return -1;
		wall += bench_now() - w0;
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

/* One PUBLISH of writer id, version v, signed and parsed as the store takes it; frame keeps
 * the bytes that f and m point into. */
static int make_publish(const struct ib_identity *id, uint64_t v, struct ib_buf *frame,
			struct ib_frame *f, struct ib_msg *m)
{
	int err = bench_publish_frame(id, v, 100, frame);

	if (!err)
		err = ib_frame_parse(f, frame->ptr, frame->len, IB_MAX_MESSAGE_LIMIT);
	if (!err)
		err = ib_msg_decode(m, f->msg.ptr, f->msg.len);
	return err;
}

/* ib_store_apply, one item after the other for `seconds`, each written with fsync; then the
 * bound in the same directory. */
static int store_rate(const struct bench_opts *o)
{
	char dir[512], fs[32];
	struct ib_identity *id = NULL;
	struct ib_keyring *kr = NULL;
	struct ib_pubkey *pk = NULL;
	struct ib_store *store = NULL;
	double t0, t = 0;
	size_t frame_len = 0;
	long n = 0;
	int err = IB_ERR_IO;

	if (!bench_mkdtemp(o, "ib-bench-store", dir, sizeof dir))
		return -1;
	if (ib_identity_generate(&id) || ib_keyring_new(&kr) ||
	    ib_pubkey_from_raw(&pk, ib_pubkey_raw(ib_identity_pubkey(id))))
		goto out;
	if (ib_keyring_add(kr, pk)) {
		ib_pubkey_free(pk);
		goto out;
	}
	if (ib_store_open(&store, dir, kr, NULL, NULL))
		goto out;
	t0 = bench_now();
	do {
		struct ib_buf frame = { 0 };
		struct ib_frame f;
		struct ib_msg m;
		int applied = make_publish(id, (uint64_t)n + 1, &frame, &f, &m);

		if (!applied)
			applied = ib_store_apply(store, f.raw, &m);
		frame_len = frame.len;
		ib_buf_free(&frame);
		if (applied != 1)
			goto out;
		n++;
		t = bench_now() - t0;
	} while (t < o->seconds);
	printf("store_fs=%s\n", bench_fs_type(dir, fs, sizeof fs));
	printf("store_publish_per_s=%.0f\n", (double)n / t);
	printf("raw_fsync_replace_per_s=%.0f\n",
	       bench_fsync_replace_rate(dir, frame_len, o->seconds));
	err = IB_OK;
out:
	ib_store_free(store);
	ib_keyring_free(kr);
	ib_identity_free(id);
	hn_remove_tree(dir);
	return err ? -1 : 0;
}

int bench_data(const struct bench_opts *o)
{
	double vr = bench_verify_rate(200, o->seconds);

	printf("raw_verify_per_s=%.0f\n", vr);
	if (election_latency(20, vr) || store_rate(o))
		return 1;
	return 0;
}
