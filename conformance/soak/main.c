/*
 * main.c - interbot-soak: the options, the run, the figures. See soak.h.
 *
 * The run: a tree of --nodes reference nodes (the harness's random shape for the seed) with
 * persistent stores, each key of the item set published once, then rounds until --minutes of
 * virtual time (or --events) are spent: a storm of 1 to 8 events drawn from the seed, a few
 * virtual seconds apart, then a checkpoint (half of them healed first: every node started
 * again, every key authorized again) where the tree must settle and the probes must pass.
 * A last checkpoint heals everything and makes every store converge.
 *
 * Exit status: 0 every invariant held, 1 one failed, 2 usage, 3 the harness failed.
 */
#define _GNU_SOURCE /* mallinfo2, getopt_long */
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "soak.h"

/* A bound on what one failure message and one log line hold. */
#define LINE_MAX_LEN 512

static const char *const kind_names[EV__COUNT] = {
	[EV_KILL] = "kill",
	[EV_RESTART] = "restart",
	[EV_CUT] = "cut",
	[EV_REPARENT] = "reparent",
	[EV_KEY_REMOVE] = "key_remove",
	[EV_KEY_READD] = "key_readd",
	[EV_PUBLISH] = "publish",
	[EV_COMMAND] = "command",
	[EV_FETCH] = "fetch",
};

/* xorshift64*: the churn's only source of choice, so a seed names a run. */
uint64_t soak_rand(struct soak *s)
{
	uint64_t x = s->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	s->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

size_t soak_below(struct soak *s, size_t n)
{
	return n ? (size_t)(soak_rand(s) % n) : 0;
}

double soak_vtime(const struct soak *s)
{
	return (double)(s->t->clock.monotonic_us - s->start_us) / 1e6;
}

bool soak_alive(const struct soak *s, size_t i)
{
	return s->t->nodes[i].node != NULL;
}

bool soak_trusts(const struct soak *s, size_t i, size_t w)
{
	return !(s->nodes[i].distrust >> w & 1);
}

const char *soak_key(size_t k)
{
	static const char *const keys[SOAK_KEYS] = {
		"k00", "k01", "k02", "k03", "k04", "k05", "k06", "k07",
		"k08", "k09", "k10", "k11", "k12", "k13", "k14", "k15",
	};

	return keys[k % SOAK_KEYS];
}

void soak_fail(struct soak *s, const char *ids, const char *fmt, ...)
{
	char text[LINE_MAX_LEN];
	va_list ap;

	if (s->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	s->failed = strcmp(ids, "HARNESS") == 0 ? 3 : 1;
	snprintf(s->failure, sizeof s->failure, "[%s] %s", ids, text);
}

void soak_log(struct soak *s, const char *fmt, ...)
{
	char text[LINE_MAX_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	fprintf(s->log, "  t=%.3f %s\n", soak_vtime(s), text);
	if (s->o.verbose)
		printf("# t=%.3f %s\n", soak_vtime(s), text);
}

const char *soak_kind_name(enum soak_kind k)
{
	return (unsigned)k < EV__COUNT ? kind_names[k] : "unknown";
}

/* ---- heap ----------------------------------------------------------------------------- */

/* Bytes malloc holds for the process (small blocks in use, and mmapped ones): what a leak
 * makes grow. Free memory kept by the allocator, and fragmentation, are not counted. */
static size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* Resident set size, for the figures only: the allocator keeps freed pages, so RSS is no
 * judge of a leak. */
static size_t rss_kib(void)
{
	unsigned long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &pages, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * (size_t)sysconf(_SC_PAGESIZE) / 1024;
}

static void heap_fit(struct soak *s, double hours, double bytes)
{
	s->heap_n += 1;
	s->heap_sx += hours;
	s->heap_sy += bytes;
	s->heap_sxy += hours * bytes;
	s->heap_sxx += hours * hours;
}

/* The trend of the samples after the warm-up, for the figures: a leak shows as a slope that
 * longer runs confirm; the judge is the growth against the tolerance. */
static double heap_slope(const struct soak *s)
{
	double d = s->heap_n * s->heap_sxx - s->heap_sx * s->heap_sx;

	return s->heap_n >= 3 && d > 0 ? (s->heap_n * s->heap_sxy - s->heap_sx * s->heap_sy) / d
				       : 0;
}

/* Called at each checkpoint where every node runs and every key is authorized, the tree
 * settled and quiet: the same nodes, links and items each time, so the same heap but for
 * what leaks. The first sample past the warm-up is the reference. */
void soak_heap_sample(struct soak *s)
{
	size_t now = heap_bytes();

	s->heap_end = now;
	if (soak_vtime(s) < s->o.warmup_minutes * 60.0)
		return;
	if (!s->heap_warm && now == 0)
		return; /* no figures from this allocator */
	if (!s->heap_warm) {
		s->heap_warm = true;
		s->heap_warmup = s->heap_max = now;
		soak_log(s, "heap at warm-up: %zu bytes", now);
		return;
	}
	if (now > s->heap_max)
		s->heap_max = now;
	heap_fit(s, soak_vtime(s) / 3600.0, (double)now - (double)s->heap_warmup);
	soak_log(s, "heap: %zu bytes (%+lld since warm-up)", now,
		 (long long)now - (long long)s->heap_warmup);
	if (now > s->heap_warmup + s->o.heap_tolerance)
		soak_fail(s, "memory", "the heap grew by %zu bytes since the warm-up (%zu -> %zu), "
			  "more than the tolerance of %zu", now - s->heap_warmup, s->heap_warmup,
			  now, s->o.heap_tolerance);
}

/* ---- options --------------------------------------------------------------------------- */

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"usage: %s [--seed S] [--nodes N] [--minutes M] [--events E] [--warmup M]\n"
		"          [--heap-tolerance BYTES] [--all-kinds] [--net-delay MIN_US:MAX_US]\n"
		"          [--verbose]\n"
		"A tree of N reference nodes (default 30) in one process, on virtual time, under\n"
		"churn drawn from seed S (default 1) for M virtual minutes (default 30) or E events\n"
		"(default: no limit), with the spec's invariants checked throughout. Prints\n"
		"name=value figures; on a failure, the seed, the event index and the events so far.\n"
		"  --warmup M            heap samples from M virtual minutes on are judged\n"
		"                        (default: a fifth of the run)\n"
		"  --heap-tolerance B    how much the heap may grow after the warm-up (default\n"
		"                        262144, times N/30 above 30 nodes)\n"
		"  --all-kinds           fail a run that applied no event of some kind (a short\n"
		"                        run's seed must exercise every kind)\n"
		"  --net-delay A:B       links through simnet (in memory) instead of loopback\n"
		"                        TCP, each chunk delivered A to B us after it was sent\n"
		"                        (drawn from the seed), so that frames cross\n"
		"  --verbose             every event as it is applied\n",
		argv0);
}

/* A number of a bounded range, or false. */
static bool parse_number(const char *text, double lo, double hi, double *out)
{
	char *end = NULL;
	double v = strtod(text, &end);

	if (end == text || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool parse_option(struct soak_opts *o, int c, const char *arg)
{
	double v = 0;

	switch (c) {
	case 's':
		if (!parse_number(arg, 0, 1e15, &v))
			return false;
		o->seed = (uint64_t)v;
		return true;
	case 'n':
		if (!parse_number(arg, 2, SOAK_MAX_NODES, &v))
			return false;
		o->nodes = (size_t)v;
		return true;
	case 'm':
		return parse_number(arg, 0.1, 100000, &o->minutes);
	case 'e':
		if (!parse_number(arg, 0, 1e9, &v))
			return false;
		o->max_events = (uint64_t)v;
		return true;
	case 'w':
		return parse_number(arg, 0, 100000, &o->warmup_minutes);
	case 't':
		if (!parse_number(arg, 0, 1e12, &v))
			return false;
		o->heap_tolerance = (size_t)v;
		return true;
	case 'v':
		o->verbose = true;
		return true;
	case 'a':
		o->all_kinds = true;
		return true;
	case 'd': {
		unsigned long long lo, hi;
		char end;

		if (sscanf(arg, "%llu:%llu%c", &lo, &hi, &end) != 2 || lo > hi || hi > 10000000)
			return false;
		o->net_delay = true;
		o->net_min_us = lo;
		o->net_max_us = hi;
		return true;
	}
	default:
		return false;
	}
}

/* 0: run; 1: --help; 2: a usage error. */
static int parse_options(struct soak_opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "nodes", required_argument, NULL, 'n' },
		{ "minutes", required_argument, NULL, 'm' },
		{ "events", required_argument, NULL, 'e' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "heap-tolerance", required_argument, NULL, 't' },
		{ "all-kinds", no_argument, NULL, 'a' },
		{ "net-delay", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool warmup_set = false, tolerance_set = false;
	int c;

	*o = (struct soak_opts){ .seed = 1, .nodes = 30, .minutes = 30, .heap_tolerance = 262144,
				 .argv0 = argv[0] };
	while ((c = getopt_long(argc, argv, "v", longs, NULL)) != -1) {
		if (c == 'h')
			return 1;
		warmup_set |= c == 'w';
		tolerance_set |= c == 't';
		if (!parse_option(o, c, optarg)) {
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr, argv[0]);
		return 2;
	}
	if (!warmup_set)
		o->warmup_minutes = o->minutes / 5;
	/* What varies without a leak is per link (the buffers each keeps): more nodes, more. */
	if (!tolerance_set && o->nodes > 30)
		o->heap_tolerance = o->heap_tolerance * o->nodes / 30;
	return 0;
}

/* ---- the run --------------------------------------------------------------------------- */

static bool formed(struct hn_tree *t, void *arg)
{
	(void)arg;
	return hn_tree_formed(t, NULL);
}

/* --net-delay: every node reaches the others through simnet. */
static int on_node(struct hn_tree *t, size_t i, struct ib_node *n, void *ctx)
{
	struct soak *s = ctx;

	sn_attach(s->net, i, n, t->seed * 1000003u + i + s->nodes[i].life * 7919u);
	return IB_OK;
}

/* The tree of the seed, started, formed, each key published once: what the rounds churn. */
static int setup(struct soak *s)
{
	char shape[64];
	int err;

	snprintf(shape, sizeof shape, "random:%zu:%" PRIu64, s->o.nodes, s->o.seed);
	err = hn_tree_new(&s->t, shape, s->o.seed);
	if (!err) {
		s->t->persist = true; /* [DATA-5] a restarted node keeps its store */
		err = hn_tree_seed_ids(s->t);
	}
	if (!err && s->o.net_delay) {
		err = sn_net_new(&s->net, s->t->loop, s->o.nodes, s->o.seed, s->o.net_min_us,
				 s->o.net_max_us);
		s->t->on_node = on_node;
		s->t->on_node_ctx = s;
	}
	if (!err)
		err = hn_tree_start(s->t);
	if (err) {
		fprintf(stderr, "interbot-soak: cannot start %s: %s\n", shape, ib_strerror(err));
		return err;
	}
	s->start_us = s->t->clock.monotonic_us;
	s->seen = calloc(s->o.nodes * s->o.nodes, sizeof *s->seen);
	if (!s->seen)
		return IB_ERR_NOMEM;
	for (size_t i = 0; i < s->o.nodes; i++) {
		s->nodes[i] = (struct soak_node){ .s = s, .index = i, .life = 1 };
		soak_watch(s, i);
	}
	if (!hn_tree_run_until(s->t, formed, NULL, 120 * SOAK_SECOND)) {
		soak_fail(s, "TREE-1", "the tree %s did not form in 120 s", shape);
		return IB_OK;
	}
	/* Every key held everywhere before the churn: the stores' size is then what it stays. */
	for (size_t k = 0; k < SOAK_KEYS && !s->failed; k++) {
		size_t i = soak_below(s, s->o.nodes);

		soak_log(s, "setup: publish n%zu %s", i, soak_key(k));
		soak_publish_value(s, i, k);
	}
	return IB_OK;
}

static bool time_left(const struct soak *s)
{
	if (s->o.max_events && s->events >= s->o.max_events)
		return false;
	return soak_vtime(s) < s->o.minutes * 60.0;
}

static void run(struct soak *s)
{
	if (s->failed)
		return;
	soak_checkpoint(s, false, false); /* the tree as set up */
	while (!s->failed && time_left(s)) {
		soak_storm(s);
		if (s->failed)
			break;
		soak_checkpoint(s, soak_below(s, 2) == 0, false);
	}
	if (!s->failed)
		soak_checkpoint(s, true, true);
	for (int k = 0; k < EV__COUNT && s->o.all_kinds && !s->failed; k++)
		if (s->by_kind[k] == 0)
			soak_fail(s, "coverage", "--all-kinds: the run applied no %s event; give it "
				  "more minutes or another seed", soak_kind_name(k));
}

/* CPU seconds of the process: on a loaded machine, what the run cost better than wall time. */
static double cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void print_figures(const struct soak *s, double wall_s)
{
	printf("seed=%" PRIu64 "\n", s->o.seed);
	printf("nodes=%zu\n", s->o.nodes);
	printf("virtual_s=%.3f\n", soak_vtime(s));
	printf("wall_s=%.3f\n", wall_s);
	printf("cpu_s=%.3f\n", cpu_seconds());
	printf("events=%" PRIu64 "\n", s->events);
	for (int k = 0; k < EV__COUNT; k++)
		printf("events_%s=%" PRIu64 "\n", soak_kind_name(k), s->by_kind[k]);
	printf("checkpoints=%" PRIu64 "\n", s->checkpoints);
	printf("checkpoints_full=%" PRIu64 "\n", s->full_checkpoints);
	printf("probes=%" PRIu64 "\n", s->probes);
	printf("key_reloads=%" PRIu64 "\n", s->key_reloads);
	printf("frames_delivered=%" PRIu64 "\n", s->delivered);
	printf("settle_max_s=%.3f\n", (double)s->settle_max_us / 1e6);
	printf("heap_warmup_bytes=%zu\n", s->heap_warmup);
	printf("heap_max_bytes=%zu\n", s->heap_max);
	printf("heap_end_bytes=%zu\n", s->heap_end);
	printf("heap_growth_bytes=%lld\n",
	       s->heap_warm ? (long long)s->heap_end - (long long)s->heap_warmup : 0);
	printf("heap_tolerance_bytes=%zu\n", s->o.heap_tolerance);
	/* Under ASan (sanitize-check) malloc is not glibc's and mallinfo2 says 0: its leak
	 * check at exit judges instead. */
	printf("heap_judged=%s\n", s->heap_warm ? "yes" : "no");
	printf("heap_samples=%.0f\n", s->heap_n + (s->heap_warm ? 1 : 0));
	printf("heap_slope_bytes_per_hour=%.0f\n", heap_slope(s));
	printf("rss_end_kib=%zu\n", rss_kib());
}

/* The failure, what the run was doing, the events so far, and the command that replays it. */
static void print_failure(struct soak *s)
{
	char line[LINE_MAX_LEN];

	fprintf(stderr, "interbot-soak: FAIL %s\n", s->failure);
	fprintf(stderr, "  seed=%" PRIu64 " event_index=%" PRIu64 " virtual_s=%.3f during %s\n",
		s->o.seed, s->events, soak_vtime(s), s->phase);
	fprintf(stderr, "  events so far:\n");
	fflush(s->log);
	rewind(s->log);
	while (fgets(line, sizeof line, s->log))
		fputs(line, stderr);
	fprintf(stderr, "  replay: %s --seed %" PRIu64 " --nodes %zu --minutes %g", s->o.argv0,
		s->o.seed, s->o.nodes, s->o.minutes);
	if (s->o.max_events)
		fprintf(stderr, " --events %" PRIu64, s->o.max_events);
	if (s->o.all_kinds)
		fprintf(stderr, " --all-kinds");
	fprintf(stderr, " --warmup %g --heap-tolerance %zu\n", s->o.warmup_minutes,
		s->o.heap_tolerance);
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static struct soak soak; /* large: the item records of every node */
	struct soak *s = &soak;
	double t0 = wall_now();
	int status = parse_options(&s->o, argc, argv);

	if (status == 1)
		usage(stdout, argv[0]);
	if (status)
		return status == 1 ? 0 : 2;
	/* Odd, so never the 0 that xorshift would stay at. */
	s->rng = (s->o.seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull) | 1;
	s->log = tmpfile();
	if (!s->log || setup(s) != IB_OK) {
		status = 3;
		goto out;
	}
	run(s);
	print_figures(s, wall_now() - t0);
	status = s->failed;
	printf("result=%s\n", status ? "fail" : "pass");
	if (status)
		print_failure(s);
out:
	sn_net_free(s->net); /* its pipes are watched on the tree's loop */
	hn_tree_free(s->t);
	free(s->seen);
	if (s->log)
		fclose(s->log);
	return status;
}
