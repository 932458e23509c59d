/*
 * interbot-conform - judges an implementation of the interbot protocol, requirement by
 * requirement. See `interbot-conform --help` and README.md, "Testing your implementation".
 */
#include "suite.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "pcapcheck.h"

/* Exit statuses (documented in --help and the README). */
enum {
	CF_EXIT_PASSED = 0,         /* nothing failed (expected failures aside) */
	CF_EXIT_FAILED = 1,         /* a test failed, timed out or crashed, or an XPASS */
	CF_EXIT_USAGE = 2,          /* bad options or expectations file */
	CF_EXIT_HARNESS = 3,        /* the suite could not run some tests (and none failed) */
};

/* Every group, in the order of the spec; the tables are in t_<group>.c. */
static const struct cf_test *const groups[] = {
#define CF_GROUP(name) cf_tests_##name,
#include "groups.inc"
#undef CF_GROUP
};

static void usage(FILE *f)
{
	fputs("usage: interbot-conform [MODE] [OPTIONS]\n"
	      "\n"
	      "Modes (one):\n"
	      "  --self                  the reference node, in process, on virtual time (default)\n"
	      "  --iut-cmd 'TEMPLATE'    start the implementation under test for each test;\n"
	      "                          placeholders {dir} {listen} {host} {port} {parent} {name}\n"
	      "                          (spec section 19.2), e.g. 'mybot --dir {dir}'\n"
	      "  --iut-addr HOST:PORT --iut-key FILE.pub\n"
	      "                          a node already running, whose owner authorized the\n"
	      "                          tester keys of --export-keys (same --seed)\n"
	      "  --member-keys DIR       addr mode, a node in a live tree: the other members'\n"
	      "                          keys (DIR/*.pub), whose frames it forwards to testers\n"
	      "\n"
	      "Options:\n"
	      "  --list                  print the tests (id, spec IDs, needs, summary) and exit\n"
	      "  --only LIST, --skip LIST  comma-separated test-id globs, groups (FLOOD) or spec\n"
	      "                          IDs (FLOOD-2)\n"
	      "                          (each must match a test: a typo is a usage error)\n"
	      "  -j N, --jobs N          run N tests at once (self and cmd mode; default 1)\n"
	      "  -x, --exit-first        start no test after the first failure\n"
	      "  --no-fork               run every test in this process (for a debugger); by\n"
	      "                          default each test runs in a child process, so a crash\n"
	      "                          is that test's CRASH (addr mode and --pcap: in process)\n"
	      "  --seed N                every random choice (keys, nonces, topologies); default 1\n"
	      "  --timeout-scale X       multiply real-time waits (valgrind, slow CI); default 1\n"
	      "  --junit FILE            JUnit XML report\n"
	      "  --json FILE             JSON report (schema interbot-conform/1)\n"
	      "  --html FILE             one self-contained HTML page: summary, requirements\n"
	      "                          and their tests, failures with their transcripts;\n"
	      "                          filters by verdict and group (#verdict=FAIL&group=FLOOD)\n"
	      "  --expect FILE           known failures, one `TEST-GLOB reason` per line\n"
	      "  --budgets FILE          per test, the ms its process may run before it is\n"
	      "                          stopped as TIMEOUT: one `TEST-GLOB MS` per line, the\n"
	      "                          first match counts (forked tests only)\n"
	      "  --keylog FILE           TLS key log (NSS format) for decrypting captures\n"
	      "  --faketime LIB          libfaketime, which sets a spawned IUT's clock back for\n"
	      "                          the tests that need it (default: Debian's, when\n"
	      "                          installed; `none`: those tests are NOT-APPLICABLE)\n"
	      "  --pcap FILE             every frame the testers and reference nodes send and\n"
	      "                          receive, as a trace (spec section 19.4); with\n"
	      "                          --pcap-max-bytes N it rotates to FILE.1\n"
	      "  --check-pcap FILE --keys DIR [--max-message N]\n"
	      "                          judge a trace written by any implementation, offline\n"
	      "  --export-keys DIR       write the tester public keys to authorize, and exit\n"
	      "  --export-iut-key FILE   write the public key self and cmd mode give the IUT\n"
	      "                          (to --check-pcap their traces), and exit\n"
	      "  --workdir DIR           where node directories go (default: a new temp dir)\n"
	      "  --keep                  keep the node directories of passing tests too\n"
	      "  -v, --verbose           frame transcripts of failures; -vv: of every test\n"
	      "  --color WHEN            auto (default), always, never\n"
	      "  --help                  print this text and exit\n"
	      "\n"
	      "An IUT that does not answer (never listens, never completes TLS) in two tests in\n"
	      "a row is given up: the tests left are reported TIMEOUT, not run, at once.\n"
	      "\n"
	      "Exit status: 0 passed, 1 failed (FAIL, TIMEOUT, CRASH or an unexpected pass),\n"
	      "2 usage error, 3 harness error. --check-pcap: 0 no finding, 1 findings,\n"
	      "2 the trace or the keys could not be read.\n", f);
}

static bool test_selected(const struct cf_test *t, const char *list)
{
	char *copy = strdup(list), *save = NULL, group[16];
	bool hit = false;

	cf_group_of(t, group, sizeof group);
	for (char *w = strtok_r(copy, ",", &save); w && !hit; w = strtok_r(NULL, ",", &save)) {
		size_t wl = strlen(w);

		hit = cf_glob_match(w, t->id) || !strcasecmp(w, group);
		/* A spec ID names every test that covers it. */
		for (const char *r = strstr(t->reqs, w); !hit && r; r = strstr(r + 1, w))
			hit = (r == t->reqs || r[-1] == ' ') && (r[wl] == 0 || r[wl] == ' ');
	}
	free(copy);
	return hit;
}

static bool wanted(const struct cf_options *o, const struct cf_test *t)
{
	return (!o->only || test_selected(t, o->only)) && (!o->skip || !test_selected(t, o->skip));
}

static void list_tests(const struct cf_options *o)
{
	for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
		for (const struct cf_test *t = groups[g]; t->id; t++) {
			if (!wanted(o, t))
				continue;
			printf("%-34s %-26s %-8s %s\n", t->id, t->reqs,
			       t->needs & CF_NEEDS_CLOCK ? "clock" :
			       t->needs & CF_NEEDS_RELOAD ? "reload" :
			       t->needs & CF_NEEDS_RESTART ? "restart" :
			       t->needs & CF_NEEDS_CONFIG ? "config" :
			       t->needs & CF_NEEDS_PROCESS ? "process" : "-", t->summary);
		}
}

static int parse_addr(struct cf_options *o, const char *s)
{
	return ib_addr_parse(s, o->iut_host, sizeof o->iut_host, &o->iut_port);
}

/* Debian's libfaketime (multiarch paths), or "". */
static const char *installed_faketime(void)
{
	static const char *const paths[] = {
		"/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
		"/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
		"/usr/lib/i386-linux-gnu/faketime/libfaketime.so.1",
		"/usr/lib/faketime/libfaketime.so.1",
	};

	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		if (access(paths[i], R_OK) == 0)
			return paths[i];
	return "";
}

static int parse_options(int argc, char **argv, struct cf_options *o)
{
	enum { O_SELF = 256, O_CMD, O_ADDR, O_KEY, O_SEED, O_SCALE, O_ONLY, O_SKIP, O_JUNIT,
	       O_JSON, O_EXPECT, O_KEYLOG, O_EXPORT, O_WORKDIR, O_KEEP, O_LIST, O_COLOR, O_HELP,
	       O_PCAP, O_FAKETIME, O_PCAP_MAX, O_CHECK_PCAP, O_KEYS, O_MAX_MESSAGE, O_EXPORT_IUT, O_NO_FORK,
	       O_BUDGETS, O_HTML, O_MEMBERS };
	static const struct option opts[] = {
		{ "self", no_argument, NULL, O_SELF }, { "iut-cmd", required_argument, NULL, O_CMD },
		{ "iut-addr", required_argument, NULL, O_ADDR },
		{ "iut-key", required_argument, NULL, O_KEY },
		{ "member-keys", required_argument, NULL, O_MEMBERS },
		{ "seed", required_argument, NULL, O_SEED },
		{ "timeout-scale", required_argument, NULL, O_SCALE },
		{ "only", required_argument, NULL, O_ONLY }, { "skip", required_argument, NULL, O_SKIP },
		{ "junit", required_argument, NULL, O_JUNIT },
		{ "json", required_argument, NULL, O_JSON },
		{ "html", required_argument, NULL, O_HTML },
		{ "expect", required_argument, NULL, O_EXPECT },
		{ "keylog", required_argument, NULL, O_KEYLOG },
		{ "pcap", required_argument, NULL, O_PCAP },
		{ "faketime", required_argument, NULL, O_FAKETIME },
		{ "export-iut-key", required_argument, NULL, O_EXPORT_IUT },
		{ "pcap-max-bytes", required_argument, NULL, O_PCAP_MAX },
		{ "check-pcap", required_argument, NULL, O_CHECK_PCAP },
		{ "keys", required_argument, NULL, O_KEYS },
		{ "max-message", required_argument, NULL, O_MAX_MESSAGE },
		{ "export-keys", required_argument, NULL, O_EXPORT },
		{ "workdir", required_argument, NULL, O_WORKDIR },
		{ "keep", no_argument, NULL, O_KEEP }, { "list", no_argument, NULL, O_LIST },
		{ "color", required_argument, NULL, O_COLOR },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, O_HELP },
		{ "jobs", required_argument, NULL, 'j' },
		{ "exit-first", no_argument, NULL, 'x' },
		{ "no-fork", no_argument, NULL, O_NO_FORK },
		{ "budgets", required_argument, NULL, O_BUDGETS },
		{ NULL, 0, NULL, 0 }
	};
	const char *color = "auto", *nocolor = getenv("NO_COLOR");
	int c;
	char *end;

	o->seed = 1;
	o->timeout_scale = 1.0;
	o->argv0 = "interbot-conform";
	o->jobs = 1;
	while ((c = getopt_long(argc, argv, "vj:x", opts, NULL)) != -1) {
		switch (c) {
		case O_SELF: o->mode = CF_MODE_SELF; break;
		case O_CMD: o->mode = CF_MODE_CMD; o->iut_cmd = optarg; break;
		case O_ADDR:
			o->mode = CF_MODE_ADDR;
			if (parse_addr(o, optarg) != IB_OK) {
				fprintf(stderr, "interbot-conform: --iut-addr %s: want HOST:PORT\n",
					optarg);
				return -1;
			}
			break;
		case O_KEY: o->iut_key = optarg; break;
		case O_MEMBERS: o->member_keys = optarg; break;
		case O_SEED:
			o->seed = strtoull(optarg, &end, 10);
			if (*end || !*optarg) {
				fprintf(stderr, "interbot-conform: --seed %s: want a number\n", optarg);
				return -1;
			}
			break;
		case O_SCALE:
			o->timeout_scale = strtod(optarg, &end);
			if (*end || o->timeout_scale < 0.1 || o->timeout_scale > 1000) {
				fprintf(stderr, "interbot-conform: --timeout-scale %s: want 0.1 to "
					"1000\n", optarg);
				return -1;
			}
			break;
		case O_ONLY: o->only = optarg; break;
		case O_SKIP: o->skip = optarg; break;
		case O_JUNIT: o->junit = optarg; break;
		case O_JSON: o->json = optarg; break;
		case O_HTML: o->html = optarg; break;
		case O_EXPECT: o->expect = optarg; break;
		case O_BUDGETS: o->budgets_path = optarg; break;
		case O_KEYLOG: o->keylog = optarg; break;
		case O_PCAP: o->pcap = optarg; break;
		case O_FAKETIME: o->faketime = strcmp(optarg, "none") ? optarg : ""; break;
		case O_EXPORT_IUT: o->export_iut_key = optarg; break;
		case O_PCAP_MAX:
			o->pcap_max_bytes = strtoull(optarg, &end, 10);
			if (*end || !*optarg) {
				fprintf(stderr, "interbot-conform: --pcap-max-bytes %s: want a "
					"number\n", optarg);
				return -1;
			}
			break;
		case O_CHECK_PCAP: o->check_pcap.path = optarg; break;
		case O_KEYS: o->check_pcap.keys_dir = optarg; break;
		case O_MAX_MESSAGE: {
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || v < IB_MAX_MESSAGE_MIN || v > IB_MAX_MESSAGE_LIMIT) {
				fprintf(stderr, "interbot-conform: --max-message %s: want %u to %u\n",
					optarg, IB_MAX_MESSAGE_MIN, IB_MAX_MESSAGE_LIMIT);
				return -1;
			}
			o->check_pcap.max_message = (uint32_t)v;
			break;
		}
		case O_EXPORT: o->export_keys = optarg; break;
		case O_WORKDIR: o->workdir = optarg; break;
		case O_KEEP: o->keep = true; break;
		case O_LIST: o->list = true; break;
		case O_COLOR: color = optarg; break;
		case 'v': o->verbose++; break;
		case 'j':
			o->jobs = (int)strtol(optarg, &end, 10);
			if (*end || !*optarg || o->jobs < 1 || o->jobs > 64) {
				fprintf(stderr, "interbot-conform: -j %s: want 1 to 64\n", optarg);
				return -1;
			}
			break;
		case 'x': o->exit_first = true; break;
		case O_NO_FORK: o->no_fork = true; break;
		case O_HELP: usage(stdout); exit(CF_EXIT_PASSED);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "interbot-conform: unexpected argument %s\n", argv[optind]);
		return -1;
	}
	if (o->check_pcap.path && !o->check_pcap.keys_dir) {
		fprintf(stderr, "interbot-conform: --check-pcap needs --keys DIR\n");
		return -1;
	}
	if (!o->check_pcap.max_message)
		o->check_pcap.max_message = IB_MAX_MESSAGE_LIMIT;
	if (!o->faketime)
		o->faketime = installed_faketime();
	o->check_pcap.verbose = o->verbose;
	if (o->jobs > 1 && (o->mode == CF_MODE_ADDR || o->pcap || o->no_fork)) {
		fprintf(stderr, "interbot-conform: -j %d: %s runs one test at a time\n", o->jobs,
			o->mode == CF_MODE_ADDR ? "--iut-addr (one running node)"
			: o->pcap ? "--pcap (one trace, in order)" : "--no-fork");
		return -1;
	}
	if (o->budgets_path && (o->mode == CF_MODE_ADDR || o->pcap || o->no_fork)) {
		fprintf(stderr, "interbot-conform: --budgets: only a test in a process of its own "
			"can be stopped, not with %s\n", o->mode == CF_MODE_ADDR ? "--iut-addr"
			: o->pcap ? "--pcap" : "--no-fork");
		return -1;
	}
	if (o->mode == CF_MODE_ADDR && !o->iut_key) {
		fprintf(stderr, "interbot-conform: --iut-addr needs --iut-key FILE.pub\n");
		return -1;
	}
	if (o->member_keys && o->mode != CF_MODE_ADDR) {
		fprintf(stderr, "interbot-conform: --member-keys is for --iut-addr: the suite makes "
			"the IUT's keyring in the other modes\n");
		return -1;
	}
	/* getopt_long sets optarg for --color, whose argument is required.
	 * NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
	o->color = !strcmp(color, "always") ||
		   (!strcmp(color, "auto") && isatty(1) && !(nocolor && *nocolor));
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *mode_line(const struct cf_options *o, char *buf, size_t cap)
{
	if (o->mode == CF_MODE_CMD)
		snprintf(buf, cap, "--iut-cmd '%s' (one process per test, real time x%g)",
			 o->iut_cmd, o->timeout_scale);
	else if (o->mode == CF_MODE_ADDR)
		snprintf(buf, cap, "--iut-addr %s:%u (a running node, real time x%g)", o->iut_host,
			 o->iut_port, o->timeout_scale);
	else
		snprintf(buf, cap, "--self (%s %s in process, virtual time)", IB_SOFTWARE_NAME,
			 IB_SOFTWARE_VERSION);
	return buf;
}

/* Why tests did not run, once per distinct reason: a mode's limits, missing capture rights. */
static void print_not_applicable(const struct cf_result *rs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t count = 0;
		bool first = true;

		if (rs[i].verdict != CF_NOT_APPLICABLE)
			continue;
		for (size_t j = 0; j < n; j++) {
			bool same = rs[j].verdict == CF_NOT_APPLICABLE &&
				    !strcmp(rs[j].actual, rs[i].actual);

			count += same;
			if (same && j < i)
				first = false;
		}
		if (first)
			printf("\n  NOT-APPLICABLE (%zu test%s): %s\n", count, count == 1 ? "" : "s",
			       rs[i].actual);
	}
}

/* Every pattern of --only and --skip must name a test: a typo must not make an empty (or a
 * whole) run that looks green. */
static bool patterns_match(const char *opt, const char *list)
{
	char *copy, *save = NULL;
	bool ok = true;

	if (!list)
		return true;
	copy = strdup(list);
	for (char *w = copy ? strtok_r(copy, ",", &save) : NULL; w; w = strtok_r(NULL, ",", &save)) {
		bool hit = false;

		for (size_t g = 0; g < sizeof groups / sizeof groups[0] && !hit; g++)
			for (const struct cf_test *t = groups[g]; t->id && !hit; t++)
				hit = test_selected(t, w);
		if (!hit) {
			fprintf(stderr, "interbot-conform: %s %s: matches no test (--list shows "
				"them)\n", opt, w);
			ok = false;
		}
	}
	free(copy);
	return copy && ok;
}

static bool timed_out_by_budget(const struct cf_result *rs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rs[i].over_budget)
			return true;
	return false;
}

struct run_state {
	const struct cf_options *o;
	struct cf_expectation *ex;
	size_t nex;
	char last_group[16];
};

/* One line per test as its result comes (in test order), the group's name before its first. */
static void report_one(struct cf_result *r, void *arg)
{
	struct run_state *st = arg;
	const struct cf_expectation *e = cf_expect_find(st->ex, st->nex, r->test->id);
	char group[16];

	if (strcmp(cf_group_of(r->test, group, sizeof group), st->last_group)) {
		printf("%s\n", group);
		snprintf(st->last_group, sizeof st->last_group, "%s", group);
	}
	if (e) {
		r->expect_reason = e->reason;
		r->unexpected_pass = r->verdict == CF_PASS;
	}
	cf_report_line(stdout, st->o, r);
	if (st->o->verbose > 1 && r->transcript && *r->transcript)
		printf("%s", r->transcript);
	fflush(stdout);
}

/* Runs the selected tests, printing each line as it ends and the failures after. */
static size_t run_all(struct cf_world *w, const struct cf_options *o,
		      struct cf_expectation *ex, size_t nex, struct cf_result *rs, size_t cap,
		      size_t *selected, char *dead, size_t dead_cap)
{
	const struct cf_test **sel = calloc(cap ? cap : 1, sizeof *sel);
	struct run_state st = { .o = o, .ex = ex, .nex = nex };
	size_t n = 0, ran;

	if (!sel)
		return 0;
	for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
		for (const struct cf_test *t = groups[g]; t->id && n < cap; t++)
			if (wanted(o, t))
				sel[n++] = t;
	*selected = n;
	ran = cf_sched_run(w, sel, n, rs, report_one, &st, dead, dead_cap);
	free(sel);
	return ran;
}

int main(int argc, char **argv)
{
	struct cf_options o = { 0 };
	struct cf_world w;
	struct cf_expectation *ex = NULL;
	struct cf_result *rs = NULL;
	size_t nex = 0, total = 0, n = 0, selected = 0, harness = 0;
	char err[600], line[800], dead[300] = "";
	struct ib_diag keylog_diag = { 0 };
	double t0;
	int rc = CF_EXIT_USAGE;

	if (parse_options(argc, argv, &o) != 0)
		return CF_EXIT_USAGE;
	if (!patterns_match("--only", o.only) || !patterns_match("--skip", o.skip))
		return CF_EXIT_USAGE;
	if (o.list) {
		list_tests(&o);
		return CF_EXIT_PASSED;
	}
	if (o.check_pcap.path)
		return cf_pcap_check_run(&o.check_pcap);
	if (o.expect && cf_expect_load(o.expect, &ex, &nex, err, sizeof err) != IB_OK) {
		fprintf(stderr, "interbot-conform: %s\n", err);
		return CF_EXIT_USAGE;
	}
	if (o.budgets_path &&
	    cf_budgets_load(o.budgets_path, &o.budgets, err, sizeof err) != IB_OK) {
		fprintf(stderr, "interbot-conform: %s\n", err);
		goto out;
	}
	if (o.keylog && ib_keylog_open(o.keylog, &keylog_diag) != IB_OK) {
		fprintf(stderr, "interbot-conform: --keylog %s: %s\n", o.keylog,
			keylog_diag.reason);
		goto out;
	}
	if (cf_world_init(&w, &o) != IB_OK) {
		rc = CF_EXIT_HARNESS;
		goto out;
	}
	if (o.pcap) {
		struct ib_diag diag = { 0 };

		if (ib_trace_open(&w.trace, o.pcap, o.pcap_max_bytes, &diag) != IB_OK) {
			fprintf(stderr, "interbot-conform: --pcap %s: %s\n", o.pcap, diag.reason);
			rc = CF_EXIT_USAGE;
			goto free_world;
		}
	}
	if (o.export_iut_key) {
		rc = w.iut_identity && ib_pubkey_save(ib_identity_pubkey(w.iut_identity),
						      o.export_iut_key) == IB_OK
			     ? CF_EXIT_PASSED : CF_EXIT_HARNESS;
		goto free_world;
	}
	if (o.export_keys) {
		rc = cf_world_export_keys(&w, o.export_keys) == IB_OK ? CF_EXIT_PASSED
								      : CF_EXIT_HARNESS;
		printf("tester keys written to %s: put them in the IUT's authorized/ (same --seed "
		       "%llu), then reload it\n", o.export_keys, (unsigned long long)o.seed);
		goto free_world;
	}
	for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
		for (const struct cf_test *t = groups[g]; t->id; t++)
			total++;
	rs = calloc(total ? total : 1, sizeof *rs);
	if (!rs) {
		rc = CF_EXIT_HARNESS;
		goto free_world;
	}
	printf("interbot-conform %s, spec interbot-v1: %s, seed %llu\n\n", IB_SOFTWARE_VERSION,
	       mode_line(&o, line, sizeof line), (unsigned long long)o.seed);
	t0 = now_ms();
	n = run_all(&w, &o, ex, nex, rs, total, &selected, dead, sizeof dead);
	for (size_t i = 0; i < n; i++) {
		harness += rs[i].verdict == CF_HARNESS_ERROR;
		if (rs[i].not_run)
			continue;           /* one line for them all, below */
		if (rs[i].verdict != CF_PASS && rs[i].verdict != CF_NOT_APPLICABLE &&
		    !rs[i].expect_reason && (rs[i].verdict != CF_UNSUPPORTED || o.verbose))
			cf_report_failure(stdout, &o, &rs[i]);
		else if (rs[i].unexpected_pass)
			printf("\n  XPASS %s: listed in %s (%s) but passed: remove the line\n",
			       rs[i].test->id, o.expect, rs[i].expect_reason);
	}
	print_not_applicable(rs, n);
	if (dead[0]) {
		size_t skipped = 0;

		for (size_t i = 0; i < n; i++)
			skipped += rs[i].not_run;
		printf("\n  IUT UNRESPONSIVE [IFACE-3]: %zu test%s not run, reported TIMEOUT: %s\n",
		       skipped, skipped == 1 ? "" : "s", dead);
	}
	for (size_t i = 0; i < nex; i++)
		if (!ex[i].used)
			printf("\n  note: %s:%d: `%s` matches no test that ran\n", o.expect,
			       ex[i].line, ex[i].pattern);
	if (timed_out_by_budget(rs, n))
		printf("\n  note: TIMEOUT by --budgets %s: a test stopped at its budget, not at "
		       "a timeout of the spec\n", o.budgets_path);
	cf_report_summary(stdout, &o, rs, n, now_ms() - t0);
	if (n == 0)
		printf("no test matches --only/--skip\n");
	else if (n < selected)
		printf("stopped after the first failure (-x): later tests not run\n");
	rc = cf_run_failed(rs, n) ? CF_EXIT_FAILED : harness ? CF_EXIT_HARNESS : CF_EXIT_PASSED;
	if (o.junit && cf_report_junit(o.junit, &o, rs, n, now_ms() - t0) != IB_OK) {
		fprintf(stderr, "interbot-conform: cannot write %s\n", o.junit);
		rc = CF_EXIT_HARNESS;
	}
	if (o.json && cf_report_json(o.json, &o, rs, n, now_ms() - t0) != IB_OK) {
		fprintf(stderr, "interbot-conform: cannot write %s\n", o.json);
		rc = CF_EXIT_HARNESS;
	}
	if (o.html && cf_report_html(o.html, &o, rs, n, now_ms() - t0) != IB_OK) {
		fprintf(stderr, "interbot-conform: cannot write %s\n", o.html);
		rc = CF_EXIT_HARNESS;
	}
	for (size_t i = 0; i < n; i++)
		cf_result_free(&rs[i]);
	free(rs);
free_world:
	if (w.trace) {
		struct ib_trace_stats st;

		ib_trace_stats(w.trace, &st);
		printf("trace %s: %llu frames, %llu rotation(s)%s\n", o.pcap,
		       (unsigned long long)st.packets, (unsigned long long)st.rotations,
		       st.stopped ? ", stopped by a write failure" : "");
		ib_trace_close(w.trace);
	}
	if (!o.keep && !o.workdir)
		rmdir(w.workdir);
	cf_world_free(&w);
out:
	free(ex);
	free(o.budgets.entries);
	free(o.budgets.ms);
	ib_keylog_close();
	return rc;
}
