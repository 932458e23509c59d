/*
 * publish_bench.c - `interbot-bench publish`: a real `interbot run` process takes PUBLISH
 * frames flooded by its child S, stores each item ([DATA-5]: durably, before it forwards it,
 * [DATA-19]) and floods it on to its other child C, which only counts. Against two bounds
 * measured in the same run: raw Ed25519 verifies per second on the node's core (it verifies
 * every frame), and write + fsync + rename + fsync(dir) of a file of the frame's size per
 * second in the node's directory (the durable bound: one item stored alone costs that).
 *
 * The frames are signed before the clock starts: 256 keys in turn, each new frame a newer
 * version of its key, so every one is stored and the store stays within its limits. The
 * node's directory is under --dir (else TMPDIR, else /tmp): its file system is printed, as
 * fsync on a tmpfs costs nothing.
 *
 * fsyncs per item come from the node's counters (`interbot ctl DIR status`): store_syncs, or
 * store_flushes, whichever the node has; "unknown" when it has neither.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodeproc.h"

#define PUBLISH_KEYS 256
#define PUBLISH_VALUE_LEN 100
#define PUBLISH_MIN_ITEMS 200
#define PUBLISH_MAX_S 120.0            /* a flood that takes longer failed */

static const char *const sync_counters[] = { "store_syncs", "store_flushes" };

/* count PUBLISH frames of S, signed now, into out; their common length in *frame_len. */
static int sign_items(struct nodeproc *r, size_t count, struct ib_buf *out, size_t *frame_len)
{
	static const uint8_t value[PUBLISH_VALUE_LEN];
	int err = IB_OK;

	*frame_len = 0;
	for (size_t i = 0; !err && i < count; i++) {
		char key[32];
		size_t before = out->len;
		struct ib_msg m;

		snprintf(key, sizeof key, "bench/%04zu", i % PUBLISH_KEYS);
		memset(&m, 0, sizeof m);
		m.h.type = IB_MSG_PUBLISH;
		m.u.publish = (struct ib_publish){ { (const uint8_t *)key, strlen(key) }, i + 1,
						   { value, sizeof value } };
		err = hn_peer_frame(r->sender, &m, NULL, NULL, false, out);
		if (!err && *frame_len && out->len - before != *frame_len)
			err = IB_ERR_RANGE; /* nodeproc_send counts whole frames of one length */
		*frame_len = out->len - before;
	}
	return err;
}

/* The node's store sync counter, by the name found first; -1 when it has none. */
static long long sync_count(const struct nodeproc *r, const char **name)
{
	json_t *status = nodeproc_status(r), *counters = json_object_get(status, "counters");
	long long v = -1;

	for (size_t i = 0; i < sizeof sync_counters / sizeof sync_counters[0] && v < 0; i++) {
		json_t *c = json_object_get(counters, sync_counters[i]);

		if (json_is_integer(c)) {
			v = json_integer_value(c);
			*name = sync_counters[i];
		}
	}
	json_decref(status);
	return v;
}

/* A counter of the node's status, or -1. */
static long long counter(const struct nodeproc *r, const char *name)
{
	json_t *status = nodeproc_status(r);
	json_t *c = json_object_get(json_object_get(status, "counters"), name);
	long long v = json_is_integer(c) ? json_integer_value(c) : -1;

	json_decref(status);
	return v;
}

struct publish_bounds {
	double verifies_per_s, fsyncs_per_s;
};

static void publish_figures(size_t items, double secs, double cpu_ms,
			    const struct publish_bounds *b, long long syncs, const char *sync_name)
{
	double rate = (double)items / secs;

	printf("publish_items=%zu\n", items);
	printf("publish_items_per_s=%.0f\n", rate);
	if (cpu_ms >= 0)
		printf("publish_cpu_us_per_item=%.1f\n", 1000.0 * cpu_ms / (double)items);
	printf("publish_bound_verifies_per_s=%.0f\n", b->verifies_per_s);
	printf("publish_ratio_to_bound=%.3f\n", rate / b->verifies_per_s);
	printf("publish_fsync_replace_per_s=%.0f\n", b->fsyncs_per_s);
	printf("publish_ratio_to_durable_bound=%.3f\n", rate / b->fsyncs_per_s);
	if (syncs >= 0) {
		printf("publish_sync_counter=%s\n", sync_name);
		printf("publish_fsyncs_per_item=%.3f\n", (double)syncs / (double)items);
	} else {
		printf("publish_fsyncs_per_item=unknown\n");
	}
}

static int publish_run(struct nodeproc *r, double seconds)
{
	struct ib_buf frames = { 0 };
	struct publish_bounds b;
	const char *sync_name = "", *name1 = "";
	size_t count, frame_len = 0, off = 0;
	long long syncs0, syncs1, failed;
	long cpu0, cpu1;
	double secs;
	int err;

	b.verifies_per_s = nodeproc_verify_rate_on(nodeproc_node_core(r), 200, seconds / 2);
	nodeproc_pin_peers(r);
	b.fsyncs_per_s = bench_fsync_replace_rate(r->dir, 200, seconds / 2);
	count = (size_t)(b.verifies_per_s * seconds);
	if (count < PUBLISH_MIN_ITEMS)
		count = PUBLISH_MIN_ITEMS;
	err = sign_items(r, count, &frames, &frame_len);
	if (err || b.verifies_per_s <= 0 || b.fsyncs_per_s <= 0)
		goto out;
	hn_peer_count_only(r->receiver);
	syncs0 = sync_count(r, &sync_name);
	cpu0 = hn_proc_cpu_ms((long)r->pid);
	secs = nodeproc_send(r, &frames, &off, count, frame_len, PUBLISH_MAX_S);
	cpu1 = hn_proc_cpu_ms((long)r->pid);
	syncs1 = sync_count(r, &name1);
	failed = counter(r, "store_failed") + counter(r, "store_full");
	if (secs <= 0 || failed != 0) {
		fprintf(stderr, "interbot-bench publish: %zu of %zu items arrived, %lld not stored\n",
			hn_peer_counted(r->receiver), count, failed);
		err = IB_ERR_IO;
		goto out;
	}
	printf("publish_frame_bytes=%zu\n", frame_len);
	publish_figures(count, secs, cpu0 >= 0 && cpu1 >= cpu0 ? (double)(cpu1 - cpu0) : -1, &b,
			syncs0 >= 0 && syncs1 >= syncs0 ? syncs1 - syncs0 : -1, sync_name);
out:
	ib_buf_free(&frames);
	return err;
}

int bench_publish(const struct bench_opts *o)
{
	struct nodeproc r;
	char program[512], fs[32];
	int err;

	bench_program(o, "interbot", "INTERBOT", program, sizeof program);
	err = nodeproc_start(&r, program, o->dir);
	printf("publish_node_core_alone=%s\n", r.cores > 1 ? "yes" : "no");
	if (!err) {
		printf("publish_fs=%s\n", bench_fs_type(r.dir, fs, sizeof fs));
		err = publish_run(&r, o->seconds);
	}
	if (err)
		fprintf(stderr, "interbot-bench publish: %s (node log: %s/node.log)\n",
			ib_strerror(err), r.dir);
	nodeproc_stop(&r, err != IB_OK);
	return err ? 1 : 0;
}
