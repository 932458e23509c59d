/*
 * report.c - runs the benchmarks named on the command line, each in a child process, and
 * writes what they printed to one JSON file with the facts of the machine (--json).
 *
 * A child per benchmark: its heap, resident set and descriptors are its own (bringup reports
 * RSS, and raises its descriptor limit), and a benchmark that dies does not take the figures
 * of the others with it. The child prints `name=value` lines as it always did; the parent
 * reads them from a pipe, echoes each one at once, and keeps it: a value that is a whole
 * number becomes a JSON integer, another number a JSON real, anything else a string.
 *
 *   {"format": "interbot-bench/1", "software": ..., "seconds": S, "machine": {...},
 *    "benches": {"wire": {"exit_status": 0, "wall_s": 9.4,
 *                         "figures": {"frame_bytes": 214, ...}}, ...}}
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "interbot.h"

#define REPORT_FORMAT "interbot-bench/1"

static const struct {
	const char *name;
	int (*fn)(const struct bench_opts *o);
} benches[] = {
	{ "wire", bench_wire },       { "tree", bench_tree },       { "bringup", bench_bringup },
	{ "memory", bench_memory },   { "latency", bench_latency }, { "data", bench_data },
	{ "relay", bench_relay },     { "publish", bench_publish }, { "suite", bench_suite },
};

int (*bench_find(const char *name))(const struct bench_opts *o)
{
	for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++)
		if (strcmp(benches[i].name, name) == 0)
			return benches[i].fn;
	return NULL;
}

/* "5508" an integer, "0.930" a real, "yes" or "fd-limit" a string. */
static json_t *value_json(const char *v)
{
	char *end;
	long long i;
	double d;

	errno = 0;
	i = strtoll(v, &end, 10);
	if (*v && !*end && !errno)
		return json_integer(i);
	errno = 0;
	d = strtod(v, &end);
	if (*v && !*end && !errno && isfinite(d))
		return json_real(d);
	return json_string(v);
}

/* One line of a child: echoed, and kept in figures when it is name=value. */
static void take_line(char *line, json_t *figures)
{
	char *eq;

	fputs(line, stdout);
	fflush(stdout);
	line[strcspn(line, "\n")] = '\0';
	eq = strchr(line, '=');
	if (!eq || eq == line)
		return;
	*eq = '\0';
	json_object_set_new(figures, line, value_json(eq + 1));
}

/* Runs one benchmark in a child whose standard output is a pipe to this process: its exit
 * status (or 128 + the signal that killed it, or -1 when it could not start). */
static int run_child(int (*fn)(const struct bench_opts *o), const struct bench_opts *o,
		     json_t *figures)
{
	int fds[2], status = 0;
	char *line = NULL;
	size_t cap = 0;
	pid_t pid;
	FILE *in;

	fflush(stdout);
	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(1);
		close(fds[1]);
		/* Each line to the parent as it is printed: progress shows while a run lasts. */
		setvbuf(stdout, NULL, _IOLBF, 0);
		status = fn(o);
		fflush(stdout);
		exit(status);
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	if (!in) {
		close(fds[0]);
		waitpid(pid, NULL, 0);
		return -1;
	}
	while (getline(&line, &cap, in) > 0)
		take_line(line, figures);
	free(line);
	fclose(in);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The "model name" of /proc/cpuinfo, or "unknown". */
static json_t *cpu_model(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	json_t *model = NULL;

	while (f && !model && fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) != 0 || !colon)
			continue;
		colon += 1 + strspn(colon + 1, " \t");
		colon[strcspn(colon, "\n")] = '\0';
		model = json_string(colon);
	}
	if (f)
		fclose(f);
	return model ? model : json_string("unknown");
}

static json_t *machine_json(void)
{
	struct utsname u;
	char kernel[3 * sizeof u.release + 8], date[32];
	time_t now = time(NULL);
	struct tm tm;
	const char *commit = getenv("IB_BENCH_COMMIT");
	json_t *m = json_object();

	if (!m)
		return NULL;
	if (uname(&u) == 0)
		snprintf(kernel, sizeof kernel, "%s %s %s", u.sysname, u.release, u.machine);
	else
		snprintf(kernel, sizeof kernel, "unknown");
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(m, "nproc", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_set_new(m, "kernel", json_string(kernel));
	json_object_set_new(m, "openssl", json_string(OpenSSL_version(OPENSSL_VERSION)));
	json_object_set_new(m, "cpu_model", cpu_model());
	json_object_set_new(m, "mem_total_mb",
			    json_integer((json_int_t)((double)sysconf(_SC_PHYS_PAGES) *
						      (double)sysconf(_SC_PAGESIZE) / 1048576.0)));
	json_object_set_new(m, "date", json_string(date));
	json_object_set_new(m, "commit", commit && *commit ? json_string(commit) : json_null());
	return m;
}

/* Written to PATH.tmp, then renamed: a reader never sees half a report. */
static int write_json(json_t *report, const char *path)
{
	char tmp[4096];

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp ||
	    json_dump_file(report, tmp, JSON_INDENT(1) | JSON_REAL_PRECISION(6)) != 0 ||
	    rename(tmp, path) != 0) {
		fprintf(stderr, "interbot-bench: cannot write %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int bench_run_all(const char *const *names, size_t count, const struct bench_opts *o,
		  const char *json_path)
{
	json_t *report = json_object(), *all = json_object();
	int failed = 0;

	if (!report || !all) {
		json_decref(report);
		json_decref(all);
		return 1;
	}
	json_object_set_new(report, "format", json_string(REPORT_FORMAT));
	json_object_set_new(report, "software",
			    json_string("interbot-bench " IB_SOFTWARE_VERSION));
	json_object_set_new(report, "seconds", json_real(o->seconds));
	json_object_set_new(report, "machine", machine_json());
	for (size_t i = 0; i < count; i++) {
		json_t *one = json_object(), *figures = json_object();
		double t0 = bench_now();
		int status = run_child(bench_find(names[i]), o, figures);
		double wall = bench_now() - t0;

		fprintf(stderr, "interbot-bench: %s: %.1f s, exit status %d\n", names[i], wall,
			status);
		json_object_set_new(one, "exit_status", json_integer(status));
		json_object_set_new(one, "wall_s", json_real((double)(long)(wall * 10 + 0.5) / 10));
		json_object_set_new(one, "figures", figures);
		json_object_set_new(all, names[i], one);
		failed |= status != 0;
	}
	json_object_set_new(report, "benches", all);
	if (json_path && write_json(report, json_path) != 0)
		failed = 1;
	json_decref(report);
	return failed ? 1 : 0;
}
