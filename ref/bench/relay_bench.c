/*
 * relay_bench.c - `interbot-bench relay`: a real `interbot run` process relays frames from one
 * child to another, against the bound measured in the same run: raw Ed25519 verifies per
 * second on one core, since the relay verifies every frame it forwards ([FRAME-6]).
 *
 * The node runs alone on the last core (sched_setaffinity), the two tester peers and this
 * process on the others; with one core only, everything shares it and the figures say so. The
 * sender S sends COMMAND frames directed to the receiver C, signed before the clock starts
 * and written as fast as the node's socket takes them; C only counts what arrives. The bound
 * and the relay are measured in turns, seven rounds a size, since a shared host's speed
 * drifts within a minute. Printed, for each frame size (medians of the rounds):
 *   relay_SIZE_frames_per_s          frames C received per second, first sent to last
 *   relay_SIZE_cpu_us_per_frame      the node's CPU (user + system, /proc) per frame relayed
 *   relay_SIZE_bound_verifies_per_s  raw verifies per second of a SIZE-byte frame's message
 *   relay_SIZE_ratio_to_bound        frames_per_s / that bound, each round's own
 *   relay_SIZE_seals_per_s           AES-256-GCM seals per second of SIZE bytes (a TLS record)
 *   relay_SIZE_ratio_to_tls_bound    the same ratio, the bound one verify and two seals
 *   relay_SIZE_ratio_min, _max       the extremes of the rounds
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodeproc.h"

#define RELAY_ROUNDS 7                         /* bound, then relay, this many times */
#define RELAY_SLICE_MAX_S 60.0                 /* a relay slice that takes longer failed */

/* count COMMAND frames from S to C of frame_len bytes each, signed now, into out. */
static int sign_frames(struct nodeproc *r, size_t frame_len, size_t count, struct ib_buf *out)
{
	struct ib_buf args = { 0 }, one = { 0 };
	uint8_t *filler = calloc(1, frame_len);
	size_t fill = 0;
	int err = filler ? IB_OK : IB_ERR_NOMEM;

	/* The filler's length: the frame with none, then with the difference (one pass more
	 * for the length prefix of the argument). */
	for (int pass = 0; !err && pass < 3; pass++) {
		struct ib_msg m;

		ib_buf_reset(&args);
		ib_buf_reset(&one);
		if (fill)
			err = ib_args_put(&args, (struct ib_slice){ filler, fill });
		memset(&m, 0, sizeof m);
		m.h.type = IB_MSG_COMMAND;
		m.h.dest = *ib_identity_id(r->receiver_id);
		m.u.command = (struct ib_command){ 1, { (const uint8_t *)"bench", 5 },
						   { args.ptr, args.len } };
		if (!err)
			err = hn_peer_frame(r->sender, &m, NULL, NULL, false, &one);
		if (!err && one.len != frame_len)
			fill = one.len < frame_len ? fill + (frame_len - one.len)
						   : (fill > one.len - frame_len ? fill - (one.len - frame_len) : 0);
	}
	for (size_t i = 0; !err && i < count; i++) {
		struct ib_msg m;

		memset(&m, 0, sizeof m);
		m.h.type = IB_MSG_COMMAND;
		m.h.dest = *ib_identity_id(r->receiver_id);
		m.u.command = (struct ib_command){ i + 2, { (const uint8_t *)"bench", 5 },
						   { args.ptr, args.len } };
		err = hn_peer_frame(r->sender, &m, NULL, NULL, false, out);
	}
	ib_buf_free(&args);
	ib_buf_free(&one);
	free(filler);
	return err;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, by_value);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* RELAY_ROUNDS rounds, each the bound (raw verifies on the node's core, the node idle) then
 * the relay of as many frames as that bound verifies in `seconds`: this machine's speed
 * drifts (a shared host), so each ratio compares figures taken a moment apart, and the
 * medians are printed. */
static int relay_run(struct nodeproc *r, size_t frame_len, double seconds)
{
	struct ib_buf frames = { 0 };
	double ratio[RELAY_ROUNDS], rate[RELAY_ROUNDS], bound[RELAY_ROUNDS];
	double ratio_tls[RELAY_ROUNDS];
	size_t count[RELAY_ROUNDS], total = 0, off = 0;
	size_t msg_len = frame_len - IB_FRAME_HEADER_LEN - IB_SIG_LEN;
	int node_core = nodeproc_node_core(r);
	long cpu0, cpu1;
	double seal;
	int err = IB_OK;

	/* The rate of the first bound sizes every round, so that all frames are signed first. */
	bound[0] = nodeproc_verify_rate_on(node_core, msg_len, seconds / 4);
	for (size_t i = 0; i < RELAY_ROUNDS; i++) {
		count[i] = (size_t)(bound[0] * seconds) < 100 ? 100 : (size_t)(bound[0] * seconds);
		total += count[i];
	}
	nodeproc_pin_peers(r);
	err = sign_frames(r, frame_len, total, &frames);
	if (!err && frames.len != total * frame_len)
		err = IB_ERR_RANGE; /* the slices cut the buffer at frame boundaries */
	if (err)
		goto out;
	/* A relay must open and seal every frame too: the bound with TLS adds two AEAD passes
	 * over it to each round's verify bound, so that its ratio is what the node's own code
	 * and the kernel cost. */
	seal = nodeproc_seal_rate_on(node_core, frame_len, seconds / 4);
	nodeproc_pin_peers(r);
	hn_peer_count_only(r->receiver);
	cpu0 = hn_proc_cpu_ms((long)r->pid);
	for (size_t i = 0; i < RELAY_ROUNDS; i++) {
		double t;

		bound[i] = nodeproc_verify_rate_on(node_core, msg_len, seconds / 4);
		nodeproc_pin_peers(r);
		t = nodeproc_send(r, &frames, &off, count[i], frame_len, RELAY_SLICE_MAX_S);
		if (t <= 0 || bound[i] <= 0) {
			fprintf(stderr, "interbot-bench relay: round %zu of %zu-byte frames: %zu frames "
				"arrived in all, a link was cut or %.0f s passed\n", i + 1, frame_len,
				hn_peer_counted(r->receiver), RELAY_SLICE_MAX_S);
			err = IB_ERR_IO;
			goto out;
		}
		rate[i] = (double)count[i] / t;
		ratio[i] = rate[i] / bound[i];
		ratio_tls[i] = seal > 0 ? rate[i] * (1.0 / bound[i] + 2.0 / seal) : 0;
	}
	cpu1 = hn_proc_cpu_ms((long)r->pid);
	printf("relay_%zu_frames=%zu\n", frame_len, total);
	printf("relay_%zu_frames_per_s=%.0f\n", frame_len, median(rate, RELAY_ROUNDS));
	if (cpu0 >= 0 && cpu1 >= cpu0)
		printf("relay_%zu_cpu_us_per_frame=%.1f\n", frame_len,
		       1000.0 * (double)(cpu1 - cpu0) / (double)total);
	printf("relay_%zu_bound_verifies_per_s=%.0f\n", frame_len, median(bound, RELAY_ROUNDS));
	printf("relay_%zu_ratio_to_bound=%.3f\n", frame_len, median(ratio, RELAY_ROUNDS));
	if (seal > 0) {
		printf("relay_%zu_seals_per_s=%.0f\n", frame_len, seal);
		printf("relay_%zu_ratio_to_tls_bound=%.3f\n", frame_len,
		       median(ratio_tls, RELAY_ROUNDS));
	}
	/* median() sorted ratio[]: its ends are the extremes. */
	printf("relay_%zu_ratio_min=%.3f\n", frame_len, ratio[0]);
	printf("relay_%zu_ratio_max=%.3f\n", frame_len, ratio[RELAY_ROUNDS - 1]);
out:
	ib_buf_free(&frames);
	return err;
}

int bench_relay(const struct bench_opts *o)
{
	static const size_t sizes[] = { 200, 16384 };
	struct nodeproc r;
	char program[512];
	int err;

	bench_program(o, "interbot", "INTERBOT", program, sizeof program);
	printf("relay_rounds=%d\n", RELAY_ROUNDS);
	err = nodeproc_start(&r, program, NULL);
	printf("relay_node_core_alone=%s\n", r.cores > 1 ? "yes" : "no");
	for (size_t i = 0; !err && i < 2; i++)
		err = relay_run(&r, sizes[i], o->seconds);
	if (err)
		fprintf(stderr, "interbot-bench relay: %s (node log: %s/node.log)\n", ib_strerror(err),
			r.dir);
	nodeproc_stop(&r, err != IB_OK);
	return err ? 1 : 0;
}
