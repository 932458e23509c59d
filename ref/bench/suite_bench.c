/*
 * suite_bench.c - `interbot-bench suite`: the wall time of the whole conformance suite
 * against the reference node, in process (`interbot-conform --self`) and as spawned nodes
 * (`--iut-cmd 'BUILD/bin/interbot run {dir}' -j 2`), the programs beside this one.
 *
 * The bound is the suite's own: each test's wall time comes from its JSON report, and no
 * schedule of them on J workers ends before the longest test, nor before their sum / J. The
 * ratio is that bound over the run's wall time (1: the workers never waited). The suite's
 * output goes to a log in a scratch directory, kept when the suite did not pass.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "harness.h"

struct suite_run {
	const char *name;           /* in the figures' names */
	int jobs;
	bool iut_cmd;
};

/* Runs argv with stdout and stderr to log: its exit status, or -1. */
static int run_logged(const char *const argv[], const char *log)
{
	int status = 0;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(127);
		/* execv's argv is char *const[] for C's sake; it does not write the strings. */
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The tests' wall times of the report: their sum and the longest, in seconds. */
static int report_times(const char *path, double *sum, double *longest, long long *total,
			long long *failed)
{
	json_t *doc = json_load_file(path, 0, NULL), *tests = json_object_get(doc, "tests"), *t;
	json_t *summary = json_object_get(doc, "summary");
	size_t i;

	*sum = *longest = 0;
	if (!json_is_array(tests)) {
		json_decref(doc);
		return -1;
	}
	json_array_foreach(tests, i, t) {
		double s = json_number_value(json_object_get(t, "wall_ms")) / 1000.0;

		*sum += s;
		*longest = s > *longest ? s : *longest;
	}
	*total = json_integer_value(json_object_get(summary, "total"));
	*failed = json_integer_value(json_object_get(summary, "failed"));
	json_decref(doc);
	return 0;
}

static int suite_one(const struct bench_opts *o, const char *dir, const struct suite_run *s)
{
	char conform[512], node[512], cmd[600], jobs[16], json[600], log[600];
	const char *argv[12];
	int argc = 0, status;
	double t0, wall, sum, longest, bound;
	long long total = 0, failed = 0;

	bench_program(o, "interbot-conform", NULL, conform, sizeof conform);
	bench_program(o, "interbot", "INTERBOT", node, sizeof node);
	snprintf(cmd, sizeof cmd, "%s run {dir}", node);
	snprintf(jobs, sizeof jobs, "%d", s->jobs);
	snprintf(json, sizeof json, "%s/%s.json", dir, s->name);
	snprintf(log, sizeof log, "%s/%s.log", dir, s->name);
	argv[argc++] = conform;
	argv[argc++] = s->iut_cmd ? "--iut-cmd" : "--self";
	if (s->iut_cmd)
		argv[argc++] = cmd;
	argv[argc++] = "-j";
	argv[argc++] = jobs;
	argv[argc++] = "--color";
	argv[argc++] = "never";
	argv[argc++] = "--json";
	argv[argc++] = json;
	argv[argc] = NULL;
	t0 = bench_now();
	status = run_logged(argv, log);
	wall = bench_now() - t0;
	if (status < 0 || status > 1 || report_times(json, &sum, &longest, &total, &failed)) {
		fprintf(stderr, "interbot-bench suite: %s: exit status %d (log: %s)\n", s->name,
			status, log);
		return -1;
	}
	bound = sum / s->jobs > longest ? sum / s->jobs : longest;
	printf("suite_%s_s=%.1f\n", s->name, wall);
	printf("suite_%s_jobs=%d\n", s->name, s->jobs);
	printf("suite_%s_tests=%lld\n", s->name, total);
	printf("suite_%s_failed=%lld\n", s->name, failed);
	printf("suite_%s_tests_sum_s=%.1f\n", s->name, sum);
	printf("suite_%s_longest_test_s=%.1f\n", s->name, longest);
	printf("suite_%s_bound_s=%.1f\n", s->name, bound);
	printf("suite_%s_ratio_to_bound=%.3f\n", s->name, bound / wall);
	if (failed)
		fprintf(stderr, "interbot-bench suite: %s: %lld tests failed (log: %s)\n", s->name,
			failed, log);
	return failed ? 1 : 0;
}

int bench_suite(const struct bench_opts *o)
{
	static const struct suite_run runs[] = {
		{ "self", 1, false },
		{ "iut_cmd", 2, true },
	};
	char dir[512];
	int rc = 0;

	if (!bench_mkdtemp(o, "ib-bench-suite", dir, sizeof dir))
		return 1;
	for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++)
		if (suite_one(o, dir, &runs[i]))
			rc = 1;
	if (!rc)
		hn_remove_tree(dir);
	return rc;
}
