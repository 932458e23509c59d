/*
 * sim.c - interbot-sim: plans, the command line, batches of seeds, replay and shrinking.
 *
 *   interbot-sim [--seed S] [--seeds K] [--nodes N] [--events E] [--save FILE] [--shrink]
 *   interbot-sim --replay FILE [--shrink] [--save FILE]
 *
 * A plan is drawn from its seed: the events, then (in sim_run.c) each node's parents and the
 * network's delays. A failure prints the seed, the invariant and its spec IDs, and the plan;
 * --shrink removes events as long as the same invariant still fails, and --save writes the
 * plan that --replay runs again. Exit status: 0 every run held, 1 an invariant failed, 2 a
 * usage or setup error.
 */
#include "sim.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "interbot.h"
#include "fault.h"
#include "verify_memo.h"

static const char *const kind_names[EV_KIND_COUNT] = {
	[EV_PUBLISH] = "publish", [EV_FETCH] = "fetch",     [EV_CUT] = "cut",
	[EV_CRASH] = "crash",     [EV_RESTART] = "restart", [EV_PARTITION] = "partition",
	[EV_HEAL] = "heal",       [EV_STALL] = "stall",     [EV_UNSTALL] = "unstall",
	[EV_REVOKE] = "revoke",   [EV_READMIT] = "readmit", [EV_COMMAND] = "command",
};

const char *sim_kind_name(enum sim_kind k)
{
	return k < EV_KIND_COUNT ? kind_names[k] : "?";
}

static uint64_t plan_random(uint64_t *s)
{
	/* splitmix64: every seed, 0 included, gives a good stream. */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int plan_add(struct sim_plan *p, size_t *cap, struct sim_event e)
{
	if (p->count == *cap) {
		size_t ncap = *cap ? 2 * *cap : 64;
		struct sim_event *ev = realloc(p->events, ncap * sizeof *ev);

		if (!ev)
			return IB_ERR_NOMEM;
		p->events = ev;
		*cap = ncap;
	}
	p->events[p->count++] = e;
	return IB_OK;
}

static int by_time(const void *a, const void *b)
{
	const struct sim_event *x = a, *y = b;

	return x->at_ms < y->at_ms ? -1 : x->at_ms > y->at_ms;
}

/* Weights of the kinds a plan draws; a fault that lasts gets its end drawn with it. */
int sim_plan_generate(struct sim_plan *p, uint64_t seed, size_t nodes, size_t events)
{
	static const struct {
		enum sim_kind kind, end;
		unsigned weight;
	} mix[] = {
		{ EV_PUBLISH, EV_KIND_COUNT, 30 }, { EV_FETCH, EV_KIND_COUNT, 15 },
		{ EV_CUT, EV_KIND_COUNT, 20 },     { EV_CRASH, EV_RESTART, 8 },
		{ EV_PARTITION, EV_HEAL, 4 },      { EV_STALL, EV_UNSTALL, 5 },
		{ EV_REVOKE, EV_READMIT, 3 },      { EV_COMMAND, EV_KIND_COUNT, 10 },
	};
	unsigned total = 0;
	uint64_t s = seed, at = 0;
	size_t cap = 0;
	int err = IB_OK;

	memset(p, 0, sizeof *p);
	p->seed = seed;
	p->nodes = nodes;
#ifdef IB_FAULTS
	const char *fault = getenv("IB_FAULT");

	if (fault && ib_fault_from_env() != IB_FAULT_ID_none)
		snprintf(p->fault, sizeof p->fault, "%s", fault);
#endif
	for (size_t i = 0; i < sizeof mix / sizeof mix[0]; i++)
		total += mix[i].weight;
	for (size_t k = 0; k < events && !err; k++) {
		unsigned pick = (unsigned)(plan_random(&s) % total);
		size_t m = 0;
		struct sim_event e;

		while (pick >= mix[m].weight)
			pick -= mix[m++].weight;
		/* Events come close together (0 to 400 ms apart), so that faults overlap the
		 * joins, elections and floods the earlier ones started. */
		at += plan_random(&s) % 400;
		e = (struct sim_event){ at, mix[m].kind, plan_random(&s), plan_random(&s) };
		/* Node numbers as they are, so that a plan reads; a partition keeps its mask. */
		if (e.kind != EV_PARTITION) {
			e.a %= nodes;
			e.b %= e.kind == EV_PUBLISH || e.kind == EV_FETCH ? 8
			       : e.kind == EV_COMMAND			   ? nodes + 1
			       : e.kind == EV_CUT || e.kind == EV_STALL	   ? 64
									   : nodes;
		}
		err = plan_add(p, &cap, e);
		if (!err && mix[m].end != EV_KIND_COUNT) {
			struct sim_event end = e;

			end.kind = mix[m].end;
			/* A stall lasts long enough to meet a PING's deadline (30 s + 10 s by
			 * default) now and then; the other faults up to 5 s. */
			end.at_ms = at + 200 + plan_random(&s) % (e.kind == EV_STALL ? 45000 : 5000);
			err = plan_add(p, &cap, end);
		}
	}
	if (err) {
		sim_plan_free(p);
		return err;
	}
	/* Stable: events at the same time keep the order they were drawn in. */
	for (size_t i = 1; i < p->count; i++)
		for (size_t j = i; j > 0 && by_time(&p->events[j - 1], &p->events[j]) > 0; j--) {
			struct sim_event t = p->events[j];

			p->events[j] = p->events[j - 1];
			p->events[j - 1] = t;
		}
	return IB_OK;
}

void sim_plan_free(struct sim_plan *p)
{
	free(p->events);
	p->events = NULL;
	p->count = 0;
}

int sim_plan_write(const struct sim_plan *p, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
	int err = IB_OK;

	if (!f)
		return IB_ERR_IO;
	fprintf(f, "# interbot-sim plan: interbot-sim --replay FILE runs it again\n");
	fprintf(f, "seed %llu\nnodes %zu\n", (unsigned long long)p->seed, p->nodes);
	if (p->fault[0])
		fprintf(f, "fault %s\n", p->fault);
	for (size_t i = 0; i < p->count; i++)
		fprintf(f, "at %llu %s %llu %llu\n", (unsigned long long)p->events[i].at_ms,
			sim_kind_name(p->events[i].kind), (unsigned long long)p->events[i].a,
			(unsigned long long)p->events[i].b);
	if (ferror(f))
		err = IB_ERR_IO;
	if (f != stdout && fclose(f) != 0)
		err = IB_ERR_IO;
	return err;
}

int sim_plan_read(struct sim_plan *p, const char *path, char *err, size_t cap)
{
	FILE *f = fopen(path, "r");
	char line[512], word[32];
	size_t lineno = 0, ecap = 0;
	int ret = IB_OK;

	memset(p, 0, sizeof *p);
	if (!f) {
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		return IB_ERR_IO;
	}
	while (!ret && fgets(line, sizeof line, f)) {
		unsigned long long at, a, b, v;
		size_t n;

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "seed %llu", &v) == 1) {
			p->seed = v;
		} else if (sscanf(line, "nodes %zu", &n) == 1 && n > 0 && n <= 100000) {
			p->nodes = n;
		} else if (sscanf(line, "fault %63s", p->fault) == 1) {
			continue;
		} else if (sscanf(line, "at %llu %31s %llu %llu", &at, word, &a, &b) == 4) {
			struct sim_event e = { at, EV_KIND_COUNT, a, b };

			for (int k = 0; k < EV_KIND_COUNT; k++)
				if (strcmp(word, kind_names[k]) == 0)
					e.kind = (enum sim_kind)k;
			if (e.kind == EV_KIND_COUNT) {
				snprintf(err, cap, "%s:%zu: no event is called %s", path, lineno, word);
				ret = IB_ERR_CONFIG;
			} else {
				ret = plan_add(p, &ecap, e);
			}
		} else {
			snprintf(err, cap, "%s:%zu: not a plan line", path, lineno);
			ret = IB_ERR_CONFIG;
		}
	}
	fclose(f);
	if (!ret && !p->nodes) {
		snprintf(err, cap, "%s: no 'nodes' line", path);
		ret = IB_ERR_CONFIG;
	}
	if (ret)
		sim_plan_free(p);
	return ret;
}

/* ---- Shrinking: fewer events, same invariant broken -------------------------------------- */

static bool still_fails(const struct sim_plan *p, const struct sim_config *cfg,
			const char *invariant, unsigned *runs)
{
	struct sim_result r;

	(*runs)++;
	return sim_run(p, cfg, &r) == IB_OK && r.failed && strcmp(r.invariant, invariant) == 0;
}

/* ddmin, simplified: drop runs of events, halving their length, while the failure stays. */
static void shrink(struct sim_plan *p, const struct sim_config *cfg, const char *invariant,
		   unsigned max_runs)
{
	struct sim_event *keep = malloc(p->count * sizeof *keep);
	unsigned runs = 0;

	if (!keep)
		return;
	for (size_t chunk = p->count / 2 ? p->count / 2 : 1; chunk >= 1 && runs < max_runs;
	     chunk /= 2) {
		for (size_t start = 0; start < p->count && runs < max_runs;) {
			size_t len = start + chunk <= p->count ? chunk : p->count - start;

			memcpy(keep, p->events, p->count * sizeof *keep);
			memmove(p->events + start, p->events + start + len,
				(p->count - start - len) * sizeof *p->events);
			p->count -= len;
			if (still_fails(p, cfg, invariant, &runs)) {
				fprintf(stderr, "shrink: %zu events still fail %s\n", p->count,
					invariant);
				continue; /* the same start now holds the next events */
			}
			p->count += len;
			memcpy(p->events, keep, p->count * sizeof *keep);
			start += len;
		}
		if (chunk == 1)
			break;
	}
	free(keep);
}

/* ---- The command line -------------------------------------------------------------------- */

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: interbot-sim [--seed S] [--seeds K] [--nodes N] [--events E]\n"
		   "                    [--delay MIN_US:MAX_US] [--save FILE] [--shrink] [-v]\n"
		   "                    [--no-verify-memo]\n"
		   "       interbot-sim --replay FILE [--shrink] [--save FILE]\n"
		   "Runs K seeded simulations (from S) of N reference nodes under E events\n"
		   "(faults and workload), checking the invariants of sim_run.c. In a FAULTS\n"
		   "build, IB_FAULT=NAME plants that bug in every node. Each signature check\n"
		   "is computed once and the other nodes' same check answered from a memo\n"
		   "(verify_memo.h); --no-verify-memo computes every one.\n"
		   "Exit: 0 all held, 1 an invariant failed, 2 usage or setup error.\n");
}

static void print_failure(const struct sim_plan *p, const struct sim_result *r)
{
	printf("FAIL seed=%llu nodes=%zu invariant=%s [%s] at=%.3fs: %s\n",
	       (unsigned long long)p->seed, p->nodes, r->invariant, r->reqs,
	       (double)r->at_us / 1e6, r->detail);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },   { "seeds", required_argument, NULL, 'k' },
		{ "nodes", required_argument, NULL, 'n' },  { "events", required_argument, NULL, 'e' },
		{ "replay", required_argument, NULL, 'r' }, { "save", required_argument, NULL, 'o' },
		{ "shrink", no_argument, NULL, 'S' },       { "delay", required_argument, NULL, 'd' },
		{ "no-verify-memo", no_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
	};
	struct sim_config cfg = { .min_delay_us = 100, .max_delay_us = 5000 };
	unsigned long long seed = 1, seeds = 1, nodes = 20, events = 200, dmin, dmax;
	const char *replay = NULL, *save = NULL;
	bool want_shrink = false, memo = true;
	uint64_t memo_hits = 0, verified = 0;
	double t0 = wall_s(), sim_s = 0;
	uint64_t total_events = 0;
	unsigned long long runs = 0;
	int c, status = 0;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'k': seeds = strtoull(optarg, NULL, 0); break;
		case 'n': nodes = strtoull(optarg, NULL, 0); break;
		case 'e': events = strtoull(optarg, NULL, 0); break;
		case 'r': replay = optarg; break;
		case 'o': save = optarg; break;
		case 'S': want_shrink = true; break;
		case 'M': memo = false; break;
		case 'v': cfg.verbose = true; break;
		case 'd':
			if (sscanf(optarg, "%llu:%llu", &dmin, &dmax) != 2 || dmin > dmax) {
				fprintf(stderr, "interbot-sim: --delay MIN_US:MAX_US\n");
				return 2;
			}
			cfg.min_delay_us = dmin;
			cfg.max_delay_us = dmax;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || nodes < 2 || nodes > 5000 || seeds < 1) {
		usage(stderr);
		return 2;
	}
	{
		/* Four descriptors per link and two per node: 1,000 nodes need more than the
		 * usual soft limit of 1,024. */
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	/* 2^16 slots: a frame's checks on all nodes fall within its flood, far fewer frames. */
	if (memo && ib_verify_memo_set(16) != IB_OK) {
		fprintf(stderr, "interbot-sim: no memory for the verify memo\n");
		return 2;
	}
	for (unsigned long long k = 0; k < (replay ? 1 : seeds) && status == 0; k++) {
		struct sim_plan plan;
		struct sim_result r;
		char err[256];
		int e;

		e = replay ? sim_plan_read(&plan, replay, err, sizeof err)
			   : sim_plan_generate(&plan, seed + k, (size_t)nodes, (size_t)events);
		if (e) {
			fprintf(stderr, "interbot-sim: %s\n", replay ? err : ib_strerror(e));
			return 2;
		}
#ifdef IB_FAULTS
		const char *fault = getenv("IB_FAULT");

		if (replay && strcmp(plan.fault, fault ? fault : "") != 0) {
			fprintf(stderr, "interbot-sim: the plan was made with IB_FAULT=%s\n",
				plan.fault);
			sim_plan_free(&plan);
			return 2;
		}
#endif
		e = sim_run(&plan, &cfg, &r);
		runs++;
		sim_s += (double)r.sim_us / 1e6;
		total_events += r.events;
		if (e) {
			fprintf(stderr, "interbot-sim: seed %llu: setup failed: %s\n",
				(unsigned long long)plan.seed, ib_strerror(e));
			status = 2;
		} else if (r.failed) {
			print_failure(&plan, &r);
			if (want_shrink) {
				shrink(&plan, &cfg, r.invariant, 200);
				sim_run(&plan, &cfg, &r);
				printf("shrunk to %zu events:\n", plan.count);
				print_failure(&plan, &r);
			}
			sim_plan_write(&plan, save ? save : "-");
			status = 1;
		} else if (cfg.verbose) {
			printf("ok seed=%llu sim_s=%.1f events=%llu delivered=%llu results=%llu\n",
			       (unsigned long long)plan.seed, (double)r.sim_us / 1e6,
			       (unsigned long long)r.events, (unsigned long long)r.delivered,
			       (unsigned long long)r.results);
		}
		sim_plan_free(&plan);
	}
	{
		double wall = wall_s() - t0, cpu = 0;
		struct rusage ru;

		ib_verify_memo_counts(&memo_hits, &verified);
		ib_verify_memo_set(0);

		/* CPU time too: on a busy machine the wall clock says more about the others. */
		if (getrusage(RUSAGE_SELF, &ru) == 0)
			cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
			      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
		printf("sim runs=%llu nodes=%llu failed=%d sim_s=%.0f wall_s=%.1f cpu_s=%.1f "
		       "sim_s_per_wall_s=%.1f events_per_s=%.0f events_per_cpu_s=%.0f",
		       runs, replay ? 0 : nodes, status == 1, sim_s, wall, cpu,
		       wall > 0 ? sim_s / wall : 0, wall > 0 ? (double)total_events / wall : 0,
		       cpu > 0 ? (double)total_events / cpu : 0);
		if (memo)
			printf(" verify_memo_hits=%llu verify_computed=%llu",
			       (unsigned long long)memo_hits, (unsigned long long)verified);
		printf("\n");
	}
	return status;
}
