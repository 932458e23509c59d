/*
 * tree_bench.c - whole trees of reference nodes in this process (the conformance harness:
 * one loop, one core, links over TCP and TLS on 127.0.0.1), each figure beside the bound
 * measured in the same run. Every node's work runs on this one core, so a tree's wall time
 * is the sum of what all its nodes did.
 *
 *   bringup  random:N trees (--nodes, default 100, 1000, 10000): the wall time until every
 *            node is linked to its parent, against TLS handshakes/s of one in-memory pair
 *            (each link costs one) and against raw verifies/s of the frames the nodes took
 *            meanwhile (the ANNOUNCE floods of spec section 16 go on after the last link:
 *            N^2 verifies in all, in this process); heap and RSS. A size expected to take
 *            longer than --budget, or to need more memory or descriptors than there are, is
 *            skipped and says why, with what it would take.
 *   memory   heap per idle link (both ends) against one idle in-memory TLS pair.
 *   latency  per-hop latency of a frame through chain:8 against one raw verify per hop.
 *   flood    frames/s reaching the far end of chain:5 against raw verifies/s / 4.
 *   tree     bringup, memory and flood.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"
#include "harness.h"

#define VIRTUAL_S 1000000ull             /* a second of the harness's virtual clock, in us */
#define ANNOUNCE_MSG_LEN 70              /* an ANNOUNCE's signed message, about */
#define FRAME_MSG_LEN 200                /* the PUBLISH of flood and latency, about */
#define FDS_PER_NODE 3                   /* its listening socket and both ends of its link */
#define FDS_SPARE 64                     /* stdio, the loop's epoll, OpenSSL */
#define BRINGUP_PENDING_PER_SOURCE 16    /* [LINK-15]'s largest max_pending_per_source */

static double mb(size_t bytes)
{
	return (double)bytes / 1048576.0;
}

/* Every node's counter c, summed. */
static uint64_t counter_sum(const struct hn_tree *t, enum ib_counter c)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < t->count; i++)
		if (t->nodes[i].node)
			sum += ib_node_counter(t->nodes[i].node, c);
	return sum;
}

/* ---- bringup ---------------------------------------------------------------------------- */

struct bounds {
	double handshakes_per_s;
	double verifies_per_s;      /* of an ANNOUNCE */
};

/* What one size cost: the base of the next size's forecast. */
struct measured {
	size_t nodes;
	double seconds;
	uint64_t frames;
	size_t heap;
};

/* hn_tree_formed, asked at most every 10 ms of wall time (it walks every node), and given up
 * past a wall deadline. */
struct formed_wait {
	double next_check, deadline;
	bool timed_out;
};

static bool formed_or_late(struct hn_tree *t, void *arg)
{
	struct formed_wait *w = arg;
	double now = bench_now();

	if (now < w->next_check)
		return false;
	w->next_check = now + 0.01;
	if (now > w->deadline) {
		w->timed_out = true;
		return true;
	}
	return hn_tree_formed(t, NULL);
}

/* Raises the soft limit of descriptors to the hard one: the limit, after. */
static size_t raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? SIZE_MAX : (size_t)rl.rlim_cur;
}

/* MemAvailable of /proc/meminfo, in bytes; 0 if unknown. */
static size_t mem_available(void)
{
	static const char key[] = "MemAvailable:";
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256], *end;
	unsigned long kb = 0;

	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, key, sizeof key - 1) == 0) {
			kb = strtoul(line + sizeof key - 1, &end, 10);
			break;
		}
	if (f)
		fclose(f);
	return (size_t)kb * 1024;
}

/* A cost x_last measured at size last, grown to size n as x_last (n / last)^k, where k is
 * the exponent seen from size prev (x_prev) to last, or 2 when only one size was measured
 * (prev 0): every node keeps and verifies something of every other, the worst a tree does. */
static double grow(double x_prev, size_t prev, double x_last, size_t last, size_t n)
{
	double k = 2;

	if (prev && prev != last && x_prev > 0 && x_last > 0)
		k = bench_ln(x_last / x_prev) / bench_ln((double)last / (double)prev);
	if (k < 1)
		k = 1;
	return x_last * bench_exp(k * bench_ln((double)n / (double)last));
}

/* What n nodes will cost, from the sizes measured before (prev, last). Returns why the size
 * cannot run here, or NULL. */
static const char *forecast(size_t n, const struct measured *prev, const struct measured *last,
			    double budget, size_t fd_limit)
{
	const char *why = NULL;

	printf("bringup_%zu_fds_needed=%zu\n", n, n * FDS_PER_NODE + FDS_SPARE);
	if (n * FDS_PER_NODE + FDS_SPARE > fd_limit)
		why = "fd-limit";
	if (last->nodes) {
		double secs = grow(prev->seconds, prev->nodes, last->seconds, last->nodes, n);
		double heap = grow((double)prev->heap, prev->nodes, (double)last->heap, last->nodes, n);
		double avail = (double)mem_available();

		printf("bringup_%zu_expected_s=%.0f\n", n, secs);
		printf("bringup_%zu_expected_heap_mb=%.0f\n", n, heap / 1048576.0);
		if (!why && avail > 0 && heap > avail * 0.8)
			why = "memory";
		if (!why && secs > budget)
			why = "time";
	}
	if (why)
		printf("bringup_%zu_skipped=%s\n", n, why);
	return why;
}

/* The share of the n^2 map entries the tree will hold once every ANNOUNCE went everywhere. */
static double map_share(const struct hn_tree *t)
{
	double entries = 0;

	for (size_t i = 0; i < t->count; i++)
		if (t->nodes[i].node)
			entries += (double)ib_node_map(t->nodes[i].node, NULL, 0);
	return entries / ((double)t->count * (double)t->count);
}

static void bringup_figures(const struct hn_tree *t, const struct measured *m,
			    const struct bounds *b)
{
	size_t n = m->nodes;
	double links = (double)(n - 1), hs_s = links / b->handshakes_per_s,
	       verify_s = (double)m->frames / b->verifies_per_s;

	printf("bringup_%zu_s=%.3f\n", n, m->seconds);
	printf("bringup_%zu_links=%zu\n", n, n - 1);
	printf("bringup_%zu_links_per_s=%.0f\n", n, links / m->seconds);
	/* Links/s over handshakes/s: every link costs one handshake. */
	printf("bringup_%zu_ratio_to_bound=%.3f\n", n, links / m->seconds / b->handshakes_per_s);
	printf("bringup_%zu_frames_verified=%llu\n", n, (unsigned long long)m->frames);
	printf("bringup_%zu_verify_bound_s=%.3f\n", n, verify_s);
	/* Both crypto bounds together over the time taken: what the rest (TCP, the loop, the
	 * map, the harness) left of the run. */
	printf("bringup_%zu_ratio_to_crypto_bound=%.3f\n", n, (hs_s + verify_s) / m->seconds);
	printf("bringup_%zu_map_share=%.3f\n", n, map_share(t));
	printf("bringup_%zu_refused_per_source=%llu\n", n,
	       (unsigned long long)counter_sum(t, IB_CNT_PENDING_PER_SOURCE));
	printf("bringup_%zu_heap_mb=%.1f\n", n, mb(m->heap));
	printf("bringup_%zu_rss_mb=%.1f\n", n, mb(bench_rss_bytes()));
}

/* One random:n tree, from nothing to every link up. */
static int bring_up(size_t n, const struct bounds *b, double deadline_s, struct measured *out)
{
	char shape[64];
	struct hn_tree *t = NULL;
	struct formed_wait w = { 0, 0, false };
	size_t heap0 = bench_heap_bytes(), heap;
	double t0 = bench_now(), secs;
	int err = -1;

	snprintf(shape, sizeof shape, "random:%zu:1", n);
	w.deadline = t0 + deadline_s;
	if (hn_tree_new(&t, shape, 1))
		goto out;
	/* Every node of this process connects from 127.0.0.1: one source to [LINK-15], where a
	 * real tree has one per host. A parent whose children all connect at once would refuse
	 * some, and their retry waits for a virtual clock that stands still while the process
	 * is busy: the spec's largest bound keeps that rare (refused_per_source says). */
	t->base.max_pending_per_source = BRINGUP_PENDING_PER_SOURCE;
	if (hn_tree_start(t))
		goto out;
	if (!hn_tree_run_until(t, formed_or_late, &w, 3600 * VIRTUAL_S) || w.timed_out) {
		printf("bringup_%zu_skipped=%s\n", n, w.timed_out ? "timeout" : "did-not-form");
		fprintf(stderr, "interbot-bench: %s did not form in %.0f s\n", shape,
			bench_now() - t0);
		err = w.timed_out ? 0 : -1;
		goto out;
	}
	secs = bench_now() - t0;
	heap = bench_heap_bytes();
	heap = heap > heap0 ? heap - heap0 : 0;
	*out = (struct measured){ n, secs, counter_sum(t, IB_CNT_FRAMES_IN), heap };
	bringup_figures(t, out, b);
	err = 0;
out:
	hn_tree_free(t);
	return err;
}

static int bringup_sizes(const struct bench_opts *o, const struct bounds *b)
{
	struct measured prev = { 0 }, last = { 0 };
	size_t fd_limit = raise_fd_limit();

	printf("bringup_fd_limit=%zu\n", fd_limit);
	printf("bringup_max_pending_per_source=%d\n", BRINGUP_PENDING_PER_SOURCE);
	printf("bringup_budget_s=%.0f\n", o->budget);
	for (size_t i = 0; i < o->nsizes; i++) {
		size_t n = o->sizes[i];
		struct measured now = { 0 };

		if (forecast(n, &prev, &last, o->budget, fd_limit))
			continue;
		/* A tree let through runs to its end unless it takes 3 times the budget. */
		if (bring_up(n, b, 3 * o->budget, &now))
			return -1;
		if (now.nodes) {
			prev = last;
			last = now;
		}
	}
	return 0;
}

int bench_bringup(const struct bench_opts *o)
{
	struct bounds b;

	b.handshakes_per_s = bench_handshake_rate(o->seconds);
	b.verifies_per_s = bench_verify_rate(ANNOUNCE_MSG_LEN, o->seconds);
	printf("bringup_harness=one-process\n");
	printf("tls_handshakes_per_s=%.0f\n", b.handshakes_per_s);
	printf("raw_verify_per_s=%.0f\n", b.verifies_per_s);
	if (b.handshakes_per_s <= 0 || b.verifies_per_s <= 0)
		return 1;
	return bringup_sizes(o, &b) ? 1 : 0;
}

/* ---- memory ----------------------------------------------------------------------------- */

/* Every node's map holds all n nodes: the ANNOUNCE floods are over. */
static bool maps_full(struct hn_tree *t, void *arg)
{
	(void)arg;
	for (size_t i = 0; i < t->count; i++)
		if (t->nodes[i].node && ib_node_map(t->nodes[i].node, NULL, 0) < t->count)
			return false;
	return true;
}

/* Heap of random:n: what its nodes hold once started and listening, with no link yet
 * (*nodes), and what the links added, both ends, once idle: from then to every link up, every
 * map full and 5 virtual seconds of keep-alive after (*links), in bytes. */
static int tree_heap(size_t n, size_t *nodes, size_t *links)
{
	char shape[64];
	struct hn_tree *t = NULL;
	size_t start = bench_heap_bytes(), before, after;
	int err = -1;

	snprintf(shape, sizeof shape, "random:%zu:1", n);
	if (hn_tree_new(&t, shape, 1) || hn_tree_start(t))
		goto out;
	before = bench_heap_bytes();
	if (!hn_tree_run_until(t, hn_tree_formed, NULL, 600 * VIRTUAL_S) ||
	    !hn_tree_run_until(t, maps_full, NULL, 600 * VIRTUAL_S))
		goto out;
	hn_tree_run_for(t, 5 * VIRTUAL_S);
	after = bench_heap_bytes();
	*nodes = before > start ? before - start : 0;
	*links = after > before ? after - before : 0;
	err = 0;
out:
	if (err)
		fprintf(stderr, "interbot-bench: %s did not form\n", shape);
	hn_tree_free(t);
	return err;
}

/* Two sizes, because a tree's heap grows with its links (n - 1) and with what each node
 * keeps of every other (its ANNOUNCE in the map, its anti-replay window: n (n - 1) in all):
 *   added(n) = link (n - 1) + origin n (n - 1),  so  added(n) / (n - 1) = link + origin n.
 * 50 and 100 fill the doubling arrays of the map alike (64 and 128 slots), so the origin's
 * part holds the same slack at both and the fit does not move with it. */
int bench_memory(const struct bench_opts *o)
{
	static const size_t small = 50, large = 100;
	size_t tls = bench_tls_idle_pair_bytes(), h_small = 0, h_large = 0, h_pair = 0, nodes = 0;
	size_t unused;
	double per_small, per_large, origin, link;

	(void)o;
	if (!tls || tree_heap(small, &unused, &h_small) || tree_heap(large, &nodes, &h_large) ||
	    tree_heap(2, &unused, &h_pair))
		return 1;
	per_small = (double)h_small / (double)(small - 1);
	per_large = (double)h_large / (double)(large - 1);
	origin = (per_large - per_small) / (double)(large - small);
	link = per_small - origin * (double)small;
	printf("memory_tls_idle_pair_bytes=%zu\n", tls);
	/* A node without links: identity, TLS context, settings, its own map entry. */
	printf("memory_heap_per_node_bytes=%zu\n", nodes / large);
	printf("memory_random%zu_heap_per_link_bytes=%.0f\n", small, per_small);
	printf("memory_random%zu_heap_per_link_bytes=%.0f\n", large, per_large);
	printf("memory_heap_per_known_origin_bytes=%.0f\n", origin);
	printf("memory_heap_per_idle_link_bytes=%.0f\n", link);
	/* Measured, not fitted: two nodes, one link, and each one's map entry and window of the
	 * other (two origins): an upper bound of the link itself. */
	printf("memory_pair_heap_bytes=%zu\n", h_pair);
	printf("memory_target_bytes_per_link=40960\n");
	/* Higher is better, as every ratio here: the bound over what a link holds. */
	printf("memory_ratio_to_bound=%.3f\n", link > 0 ? (double)tls / link : 0);
	printf("memory_ratio_to_target=%.3f\n", link > 0 ? 40960.0 / link : 0);
	return 0;
}

/* ---- latency ---------------------------------------------------------------------------- */

#define CHAIN_NODES 8
#define LATENCY_MIN_FRAMES 100
#define LATENCY_MAX_FRAMES 20000

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The q-quantile of v[0..n), sorted in place (nearest rank). */
static double quantile(double *v, size_t n, double q)
{
	size_t rank = (size_t)(q * (double)n);

	if ((double)rank < q * (double)n)
		rank++;

	qsort(v, n, sizeof *v, by_value);
	return v[rank ? rank - 1 : 0];
}

static void send_publish(struct ib_node *n, uint64_t version)
{
	static const uint8_t value[120];
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PUBLISH;
	m.u.publish.key = (struct ib_slice){ (const uint8_t *)"bench", 5 };
	m.u.publish.version = version;
	m.u.publish.value = (struct ib_slice){ value, sizeof value };
	ib_node_send(n, &m);
}

/* One frame from node 0 to the end of the chain: when each hop delivered it, in us after the
 * send, in at[1..CHAIN_NODES). */
static int one_frame(struct hn_tree *t, uint64_t version, double *at)
{
	uint64_t want[CHAIN_NODES];
	double t0;
	size_t got = 1;

	for (size_t h = 1; h < CHAIN_NODES; h++)
		want[h] = t->nodes[h].delivered + 1;
	t0 = bench_now();
	send_publish(t->nodes[0].node, version);
	while (got < CHAIN_NODES) {
		if (!hn_tree_step(t) || bench_now() - t0 > 10.0)
			return -1;
		for (size_t h = got; h < CHAIN_NODES && t->nodes[h].delivered >= want[h]; h++) {
			at[h] = (bench_now() - t0) * 1e6;
			got = h + 1;
		}
	}
	return 0;
}

static void latency_figures(double **hops, size_t frames, double verify_us)
{
	double last_p50 = 0;

	printf("latency_chain%d_frames=%zu\n", CHAIN_NODES, frames);
	for (size_t h = 1; h < CHAIN_NODES; h++) {
		double p50 = quantile(hops[h], frames, 0.50), p99 = quantile(hops[h], frames, 0.99);

		printf("latency_chain%d_hop%zu_p50_us=%.1f\n", CHAIN_NODES, h, p50);
		printf("latency_chain%d_hop%zu_p99_us=%.1f\n", CHAIN_NODES, h, p99);
		last_p50 = p50;
	}
	printf("latency_chain%d_per_hop_p50_us=%.1f\n", CHAIN_NODES,
	       last_p50 / (CHAIN_NODES - 1));
	printf("latency_bound_per_hop_us=%.1f\n", verify_us);
	/* Higher is better: the bound over what a hop took. */
	printf("latency_ratio_to_bound=%.3f\n", verify_us / (last_p50 / (CHAIN_NODES - 1)));
}

int bench_latency(const struct bench_opts *o)
{
	double verify_us, *hops[CHAIN_NODES] = { NULL }, at[CHAIN_NODES], t0;
	struct hn_tree *t = NULL;
	size_t frames = 0;
	int err = 1;

	verify_us = 1e6 / bench_verify_rate(FRAME_MSG_LEN, o->seconds);
	for (size_t h = 1; h < CHAIN_NODES; h++)
		if (!(hops[h] = calloc(LATENCY_MAX_FRAMES, sizeof(double))))
			goto out;
	if (hn_tree_new(&t, "chain:8", 4) || hn_tree_start(t) ||
	    !hn_tree_run_until(t, hn_tree_formed, NULL, 60 * VIRTUAL_S) ||
	    !hn_tree_run_until(t, maps_full, NULL, 60 * VIRTUAL_S))
		goto out;
	printf("latency_harness=one-process\n");
	t0 = bench_now();
	while (frames < LATENCY_MAX_FRAMES &&
	       (frames < LATENCY_MIN_FRAMES || bench_now() - t0 < o->seconds)) {
		if (one_frame(t, frames + 1, at))
			goto out;
		for (size_t h = 1; h < CHAIN_NODES; h++)
			hops[h][frames] = at[h];
		frames++;
	}
	latency_figures(hops, frames, verify_us);
	err = 0;
out:
	if (err)
		fprintf(stderr, "interbot-bench latency: chain:8 failed after %zu frames\n", frames);
	hn_tree_free(t);
	for (size_t h = 1; h < CHAIN_NODES; h++)
		free(hops[h]);
	return err;
}

/* ---- flood ------------------------------------------------------------------------------ */

struct flood_wait {
	size_t node;
	uint64_t want;
};

static bool delivered(struct hn_tree *t, void *arg)
{
	const struct flood_wait *w = arg;

	return t->nodes[w->node].delivered >= w->want;
}

static int chain_flood(size_t frames, double verifies_per_s)
{
	struct hn_tree *t = NULL;
	struct flood_wait w = { 4, frames };
	double t0, secs;

	if (hn_tree_new(&t, "chain:5", 2) || hn_tree_start(t) ||
	    !hn_tree_run_until(t, hn_tree_formed, NULL, 60 * VIRTUAL_S)) {
		hn_tree_free(t);
		return -1;
	}
	t0 = bench_now();
	for (size_t i = 0; i < frames; i++) {
		send_publish(t->nodes[0].node, i + 1);
		/* Let the chain drain as it goes, as a real sender would be paced by TCP. */
		if (i % 64 == 63)
			hn_tree_run_until(t, delivered, &(struct flood_wait){ 4, i + 1 - 64 },
					  60 * VIRTUAL_S);
	}
	if (!hn_tree_run_until(t, delivered, &w, 600 * VIRTUAL_S)) {
		hn_tree_free(t);
		return -1;
	}
	secs = bench_now() - t0;
	printf("chain5_frames=%zu\n", frames);
	printf("chain5_frames_per_s=%.0f\n", (double)frames / secs);
	printf("chain5_bound_frames_per_s=%.0f\n", verifies_per_s / 4);
	printf("chain5_ratio_to_bound=%.3f\n", (double)frames / secs / (verifies_per_s / 4));
	hn_tree_free(t);
	return 0;
}

int bench_flood(const struct bench_opts *o)
{
	double vr = bench_verify_rate(FRAME_MSG_LEN, o->seconds);

	/* Not raw_verify_per_s: tree prints bringup's too, of a shorter message. */
	printf("chain5_raw_verify_per_s=%.0f\n", vr);
	return chain_flood(5000, vr) ? 1 : 0;
}

int bench_tree(const struct bench_opts *o)
{
	if (bench_bringup(o) || bench_memory(o) || bench_flood(o))
		return 1;
	return 0;
}
