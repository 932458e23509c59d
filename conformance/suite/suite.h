/*
 * suite.h - interbot-conform's insides: options, the per-run world, a test's context and its
 * result, and the reports. Tests include cf.h only.
 */
#ifndef CF_SUITE_H
#define CF_SUITE_H

#include <stdio.h>
#include <sys/types.h>

#include "cf.h"
#include "pcapcheck.h"

/* Expectations (--expect): known failures of a stack, each with a reason. */
struct cf_expectation {
	char pattern[128];
	char reason[256];
	int line;
	bool used;
};

/* Budgets (--budgets): per test-id glob, the milliseconds its process may run (the first
 * matching line counts); a test past it is stopped and reported TIMEOUT. */
struct cf_budgets {
	struct cf_expectation *entries;   /* the lines; reason holds the number */
	uint32_t *ms;
	size_t n;
};

struct cf_options {
	enum cf_mode mode;
	const char *iut_cmd;        /* cmd mode: the template */
	char iut_host[256];         /* addr mode */
	uint16_t iut_port;
	const char *iut_key;        /* addr mode: the IUT's public key file */
	const char *member_keys;    /* addr mode: DIR of the other members' keys (*.pub) */
	uint64_t seed;
	double timeout_scale;
	const char *only, *skip;    /* comma-separated globs on test ids, or group names */
	const char *junit, *json, *html, *expect, *keylog, *export_keys, *workdir;
	const char *budgets_path;   /* --budgets */
	struct cf_budgets budgets;
	const char *pcap;           /* --pcap: every frame of the suite's endpoints */
	const char *faketime;       /* cmd mode: libfaketime, to set the IUT's clock ("": none) */
	const char *export_iut_key;
	uint64_t pcap_max_bytes;
	struct cf_pcap_check check_pcap;  /* --check-pcap: that mode instead of tests */
	int verbose;                /* -v: transcripts of failures; -vv: of every test */
	bool list, color, keep;
	int jobs;                   /* -j: tests at once (self and cmd mode) */
	bool exit_first;            /* -x: no test started after the first failure */
	bool no_fork;               /* --no-fork: every test in this process (gdb) */
	const char *argv0;
};

/* One run: the keys, the loop and its clock. */
struct cf_world {
	const struct cf_options *opt;
	struct ib_vclock vclock;    /* self mode */
	struct ib_clock clock;
	struct ib_loop *loop;
	struct ib_identity *testers[CF_TESTERS], *refs[CF_REFS], *stranger, *iut_identity;
	struct ib_pubkey *iut_key;
	struct ib_keyring *members; /* --member-keys, or NULL */
	struct ib_seq_gen seq[CF_TESTERS + 1];  /* per tester identity, the stranger last */
	struct ib_trace *trace;     /* --pcap, or NULL */
	char workdir[512];          /* where node directories and logs go */
};

int cf_world_init(struct cf_world *w, const struct cf_options *opt);
void cf_world_free(struct cf_world *w);
/* Writes every authorized suite key to dir as T0.pub.. R3.pub (--export-keys). */
int cf_world_export_keys(struct cf_world *w, const char *dir);
/* A secret from the seed and a label, for identities and nonces. */
void cf_derive(uint64_t seed, const char *label, int index, uint8_t out[32]);

/* A test's result, as reports show it. */
struct cf_result {
	const struct cf_test *test;
	enum cf_verdict verdict;
	char req[24];               /* the requirement that failed, or "" (copied: tests pass
				     * buffers) */
	char expected[512];
	char actual[1024];
	double wall_ms;
	uint64_t virtual_ms;        /* protocol time the test took */
	char *transcript;           /* frames and notes, malloc'd */
	char *iut_log;              /* the IUT's log (stderr) during the test, malloc'd */
	char node_dir[600];         /* the IUT's directory, when kept (failures, --keep) */
	const char *expect_reason;  /* listed in the expectations file */
	bool unexpected_pass;
	bool iut_unresponsive;      /* the IUT never listened, or never completed TLS */
	bool not_run;               /* given up before it started: the IUT was unresponsive */
	bool over_budget;           /* stopped at its --budgets limit (TIMEOUT) */
};

#define CF_MAX_PEERS 32
#define CF_MAX_REFS 8

struct cf_ctx {
	struct cf_world *w;
	const struct cf_test *test;
	struct cf_result *res;
	uint64_t rng;
	uint64_t started_ms;
	/* The IUT of this test. */
	bool iut_started;
	struct cf_iut_opts iut_opts;
	char iut_dir[600];
	uint16_t iut_port;
	struct ib_node *iut_node;   /* self mode */
	int64_t iut_clock_skew_us;  /* self mode: its wall clock off the suite's by this much */
	pid_t iut_pid;              /* cmd mode; 0 when not running */
	bool iut_exit_expected;
	uint64_t iut_stop_ms;           /* when SIGTERM went (cf_iut_stop_begin); 0: not sent */
	int iut_exit_status;            /* waitpid's status of the IUT's last exit */
	struct ib_keyring *trusted; /* suite keys + the IUT's */
	struct hn_peer *peers[CF_MAX_PEERS];
	/* --pcap: what each tester sends, cut back into whole frames (tests send pieces) */
	struct ib_frame_decoder sent_frames[CF_MAX_PEERS];
	bool sent_broken[CF_MAX_PEERS];
	size_t npeers;
	struct ib_node *refs[CF_MAX_REFS];
	size_t nrefs;
	struct ib_buf transcript, log;
	uint64_t cmd_ids;
	/* self mode, [LINK-22]: turns in a row that found work at one instant; once too many,
	 * the test has failed and its waits let time pass without turning the loop. */
	unsigned busy_turns;
	bool spun;
};

const char *cf_group_of(const struct cf_test *t, char *buf, size_t cap);  /* "FLOOD" */
/* The spec's text of a requirement (generated from spec/), or NULL. */
const char *cf_requirement_text(const char *id);
/* The i-th requirement of the spec, in the order it defines them, or NULL past the last. */
const char *cf_requirement_id(size_t i);

/* Runs one test: never returns early, always fills res. */
void cf_run_test(struct cf_world *w, const struct cf_test *t, struct cf_result *res);
void cf_result_free(struct cf_result *r);

/* Runs tests[0..n) (sched.c: a child process per test where the mode allows, -j at once),
 * calling report() for each result in test order. Returns how many ran (fewer after -x).
 * dead gets why the IUT was given up, or "". */
size_t cf_sched_run(struct cf_world *w, const struct cf_test *const *tests, size_t n,
		    struct cf_result *rs, void (*report)(struct cf_result *r, void *arg),
		    void *arg, char *dead, size_t dead_cap);

/* iut.c, for the runner */
void cf_iut_cleanup(struct cf_ctx *c);
bool cf_iut_check_alive(struct cf_ctx *c);
/* Kills the process group of the IUT this test process started, if one runs; safe in a
 * signal handler (sched.c calls it when -x stops a test in flight). */
void cf_iut_kill_now(void);
/* Removes dir and everything under it (a node directory). */
void cf_remove_tree(const char *dir);
/* The node directory as the IUT is given it: its path and the test's dir_suffix. */
void cf_iut_given_dir(struct cf_ctx *c, char *out, size_t cap);

/* Expectations (--expect), struct cf_expectation above. */
int cf_expect_load(const char *path, struct cf_expectation **out, size_t *count, char *err,
		   size_t errcap);
const struct cf_expectation *cf_expect_find(struct cf_expectation *e, size_t n,
					    const char *test_id);
bool cf_glob_match(const char *pattern, const char *s);

/* Budgets (--budgets), struct cf_budgets above. */
int cf_budgets_load(const char *path, struct cf_budgets *out, char *err, size_t errcap);
/* The budget of test_id in ms, or 0 when no line matches it. */
uint32_t cf_budget_ms(const struct cf_budgets *b, const char *test_id);

/* Reports (report.c; report_html.c: --html). */
/* Whether the run fails because of r: a failure nobody expected, or a pass that was. */
bool cf_counts_as_failure(const struct cf_result *r);
/* The verdict as reports show it: XFAIL and XPASS for a test of the expectations file. */
const char *cf_shown_verdict(const struct cf_result *r, char *buf, size_t cap);
/* The shell words that start this run again for one test. */
void cf_rerun_command(const struct cf_options *o, const struct cf_result *r, char *out,
		      size_t cap);
/* A malloc'd copy of in (NULL: "") that is valid UTF-8 with no control byte but newline and
 * tab (each bad byte becomes '?'), or NULL when out of memory. */
char *cf_clean_text(const char *in);
const char *cf_mode_name(enum cf_mode m);   /* "self", "cmd", "addr" */
/* What the run tested: the --iut-cmd template, HOST:PORT, or the in-process reference. */
const char *cf_iut_description(const struct cf_options *o, char *buf, size_t cap);
void cf_report_line(FILE *f, const struct cf_options *o, const struct cf_result *r);
void cf_report_failure(FILE *f, const struct cf_options *o, const struct cf_result *r);
void cf_report_summary(FILE *f, const struct cf_options *o, const struct cf_result *rs,
		       size_t n, double wall_ms);
/* Whether the run fails (exit status 1): an unexpected failure, or an unexpected pass. */
bool cf_run_failed(const struct cf_result *rs, size_t n);
int cf_report_junit(const char *path, const struct cf_options *o, const struct cf_result *rs,
		    size_t n, double wall_ms);
int cf_report_json(const char *path, const struct cf_options *o, const struct cf_result *rs,
		   size_t n, double wall_ms);
/* One self-contained HTML page (inline CSS and JS, every text escaped): the summary, every
 * requirement of the spec with the tests of this run that cover it, each failure explained
 * (requirement, expected, actual, rerun, transcript), every test; filters by verdict and group
 * that read the URL fragment (#verdict=FAIL,TIMEOUT&group=FLOOD). IB_ERR_IO when path cannot
 * be written. */
int cf_report_html(const char *path, const struct cf_options *o, const struct cf_result *rs,
		   size_t n, double wall_ms);

#endif
