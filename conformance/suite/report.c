/*
 * report.c - what people and CI read: one console line per test, the failures explained,
 * a table per group; JUnit XML and a versioned JSON document.
 */
#include "suite.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define CF_JSON_SCHEMA "interbot-conform/1"

static const char *colour(const struct cf_options *o, enum cf_verdict v)
{
	static const char *const codes[CF__VERDICTS] = {
		"\033[32m", "\033[1;31m", "\033[33m", "\033[2m", "\033[1;31m", "\033[1;35m",
		"\033[1;36m"
	};

	return o->color ? codes[v] : "";
}

static const char *reset(const struct cf_options *o)
{
	return o->color ? "\033[0m" : "";
}

bool cf_counts_as_failure(const struct cf_result *r)
{
	if (r->unexpected_pass)
		return true;
	if (r->expect_reason)
		return false;
	return r->verdict == CF_FAIL || r->verdict == CF_TIMEOUT || r->verdict == CF_CRASH;
}

const char *cf_shown_verdict(const struct cf_result *r, char *buf, size_t cap)
{
	if (r->unexpected_pass)
		snprintf(buf, cap, "XPASS");
	else if (r->expect_reason && r->verdict != CF_PASS)
		snprintf(buf, cap, "XFAIL");
	else
		snprintf(buf, cap, "%s", cf_verdict_name(r->verdict));
	return buf;
}

void cf_report_line(FILE *f, const struct cf_options *o, const struct cf_result *r)
{
	char v[32];
	enum cf_verdict cv = r->unexpected_pass ? CF_FAIL : r->verdict;

	if (r->expect_reason && r->verdict != CF_PASS)
		cv = CF_NOT_APPLICABLE;
	fprintf(f, "  %s%-14s%s %-34s %-26s %7.1f ms\n", colour(o, cv),
		cf_shown_verdict(r, v, sizeof v), reset(o), r->test->id, r->test->reqs, r->wall_ms);
}

void cf_rerun_command(const struct cf_options *o, const struct cf_result *r, char *out,
		      size_t cap)
{
	size_t n = 0;

	n += (size_t)snprintf(out + n, cap - n, "%s", o->argv0);
	if (o->mode == CF_MODE_CMD && n < cap) {
		n += (size_t)snprintf(out + n, cap - n, " --iut-cmd '");
		for (const char *s = o->iut_cmd; *s && n + 5 < cap; s++) {
			if (*s == '\'')
				n += (size_t)snprintf(out + n, cap - n, "'\\''");
			else
				out[n++] = *s;
		}
		out[n] = 0;
		n += (size_t)snprintf(out + n, cap - n, "'");
	} else if (o->mode == CF_MODE_ADDR && n < cap) {
		n += (size_t)snprintf(out + n, cap - n, " --iut-addr %s:%u --iut-key %s",
				      o->iut_host, o->iut_port, o->iut_key);
	}
	if (n < cap && o->timeout_scale != 1.0)
		n += (size_t)snprintf(out + n, cap - n, " --timeout-scale %g", o->timeout_scale);
	if (n < cap)
		snprintf(out + n, cap - n, " --seed %llu --only %s -v",
			 (unsigned long long)o->seed, r->test->id);
}

static void print_indented(FILE *f, const char *label, const char *text, size_t max_lines)
{
	size_t lines = 0;

	fprintf(f, "    %-12s ", label);
	for (const char *s = text; *s; s++) {
		fputc(*s, f);
		if (*s == '\n' && s[1]) {
			if (++lines == max_lines) {
				fprintf(f, "                 ... (%s)\n", "cut; the JSON report has all");
				return;
			}
			fprintf(f, "                 ");
		}
	}
	if (!*text || text[strlen(text) - 1] != '\n')
		fputc('\n', f);
}

void cf_report_failure(FILE *f, const struct cf_options *o, const struct cf_result *r)
{
	/* cppcheck-suppress shadowFunction ; this function does not call text() */
	const char *text = cf_requirement_text(r->req);
	char cmd[2048], req[2048];

	fprintf(f, "\n  %s%s%s %s  [%s]\n", colour(o, r->verdict), cf_verdict_name(r->verdict),
		reset(o), r->test->id, r->test->reqs);
	print_indented(f, "test", r->test->summary, 0);
	if (r->req[0]) {
		snprintf(req, sizeof req, "%s: %s", r->req, text ? text : "(not in the spec)");
		print_indented(f, "requirement", req, 0);
	}
	if (r->expected[0])
		print_indented(f, "expected", r->expected, 0);
	print_indented(f, r->verdict == CF_FAIL || r->verdict == CF_TIMEOUT ? "actual" : "why",
		       r->actual, 0);
	if (r->iut_log && *r->iut_log && o->mode == CF_MODE_CMD)
		print_indented(f, "IUT stderr", r->iut_log, 12);
	if (r->node_dir[0])
		print_indented(f, "node dir", r->node_dir, 0);
	if (o->verbose && r->transcript && *r->transcript)
		print_indented(f, "transcript", r->transcript, 400);
	cf_rerun_command(o, r, cmd, sizeof cmd);
	print_indented(f, "rerun", cmd, 0);
}

struct tally {
	char group[16];
	size_t n[CF__VERDICTS], xfail, xpass;
	double ms;
};

static void add(struct tally *t, const struct cf_result *r)
{
	if (r->unexpected_pass)
		t->xpass++;
	else if (r->expect_reason && r->verdict != CF_PASS)
		t->xfail++;
	else
		t->n[r->verdict]++;
	t->ms += r->wall_ms;
}

void cf_report_summary(FILE *f, const struct cf_options *o, const struct cf_result *rs,
		       size_t n, double wall)
{
	struct tally groups[32], all = { "all", { 0 }, 0, 0, 0 };
	size_t ng = 0, failed = 0;

	memset(groups, 0, sizeof groups);
	for (size_t i = 0; i < n; i++) {
		char g[16];
		size_t j;

		cf_group_of(rs[i].test, g, sizeof g);
		for (j = 0; j < ng && strcmp(groups[j].group, g); j++)
			;
		if (j == ng && ng < 32)
			snprintf(groups[ng++].group, sizeof groups[0].group, "%s", g);
		if (j < ng)
			add(&groups[j], &rs[i]);
		add(&all, &rs[i]);
		failed += cf_counts_as_failure(&rs[i]);
	}
	fprintf(f, "\n  %-8s %5s %5s %8s %7s %5s %6s %6s %5s %5s %9s\n", "group", "pass", "fail",
		"timeout", "crash", "n/a", "unsup", "harn.", "xfail", "xpass", "time");
	for (size_t j = 0; j <= ng; j++) {
		const struct tally *t = j < ng ? &groups[j] : &all;

		fprintf(f, "  %-8s %5zu %5zu %8zu %7zu %5zu %6zu %6zu %5zu %5zu %7.2f s\n", t->group,
			t->n[CF_PASS], t->n[CF_FAIL], t->n[CF_TIMEOUT], t->n[CF_CRASH],
			t->n[CF_NOT_APPLICABLE], t->n[CF_UNSUPPORTED], t->n[CF_HARNESS_ERROR],
			t->xfail, t->xpass, j < ng ? t->ms / 1e3 : wall / 1e3);
	}
	/* The headline says what the exit status says: 1 FAILED, 3 ERROR (a test the suite
	 * could not judge is no pass), 0 PASSED. */
	fprintf(f, "\n%s%s%s: %zu tests, %zu passed, %zu failed, %zu harness errors, "
		"%zu not applicable, %zu unsupported in %.2f s (seed %llu)\n",
		colour(o, failed || all.n[CF_HARNESS_ERROR] ? CF_FAIL : CF_PASS),
		failed ? "FAILED" : all.n[CF_HARNESS_ERROR] ? "ERROR" : "PASSED", reset(o), n,
		all.n[CF_PASS], failed, all.n[CF_HARNESS_ERROR], all.n[CF_NOT_APPLICABLE],
		all.n[CF_UNSUPPORTED], wall / 1e3, (unsigned long long)o->seed);
}

/* ---- shared by JUnit and JSON: text made safe (valid UTF-8, no control bytes) ------------- */

static size_t utf8_len(const unsigned char *s)
{
	size_t need = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
		      : (s[0] & 0xf8) == 0xf0 ? 4 : 0;

	if (s[0] >= 0x80 && s[0] < 0xc2)
		return 0;
	for (size_t i = 1; i < need; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return need;
}

char *cf_clean_text(const char *in)
{
	size_t n = in ? strlen(in) : 0, o = 0;
	char *out = malloc(n + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		const unsigned char *s = (const unsigned char *)in + i;
		size_t len = utf8_len(s);

		if (len == 0 || (s[0] < 0x20 && s[0] != '\n' && s[0] != '\t') || s[0] == 0x7f) {
			out[o++] = '?';
			i++;
			continue;
		}
		memcpy(out + o, s, len);
		o += len;
		i += len;
	}
	out[o] = 0;
	return out;
}

static void xml_escaped(FILE *f, const char *raw)
{
	char *s = cf_clean_text(raw);

	for (const char *p = s; p && *p; p++) {
		switch (*p) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default: fputc(*p, f);
		}
	}
	free(s);
}

static void junit_case(FILE *f, const struct cf_options *o, const struct cf_result *r,
		       const char *group)
{
	const char *req = cf_requirement_text(r->req);
	char msg[2048], cmd[2048];

	fprintf(f, "    <testcase classname=\"interbot.%s\" name=\"", group);
	xml_escaped(f, r->test->id);
	fprintf(f, " [");
	xml_escaped(f, r->test->reqs);
	fprintf(f, "]\" time=\"%.3f\">\n", r->wall_ms / 1e3);
	snprintf(msg, sizeof msg, "%s: expected %s; %s", cf_verdict_name(r->verdict),
		 r->expected, r->actual);
	cf_rerun_command(o, r, cmd, sizeof cmd);
	if (r->unexpected_pass) {
		fprintf(f, "      <failure type=\"XPASS\" message=\"");
		xml_escaped(f, r->expect_reason);
		fprintf(f, "\">listed in the expectations file as failing, but it passed: "
			"remove it from the list</failure>\n");
	} else if (r->expect_reason && r->verdict != CF_PASS) {
		fprintf(f, "      <skipped message=\"expected failure: ");
		xml_escaped(f, r->expect_reason);
		fprintf(f, "\"/>\n");
	} else if (r->verdict == CF_FAIL || r->verdict == CF_TIMEOUT || r->verdict == CF_CRASH) {
		fprintf(f, "      <failure type=\"%s\" message=\"", cf_verdict_name(r->verdict));
		xml_escaped(f, msg);
		fprintf(f, "\">");
		if (r->req[0]) {
			fprintf(f, "%s: ", r->req);
			xml_escaped(f, req ? req : "");
			fprintf(f, "\n");
		}
		fprintf(f, "expected: ");
		xml_escaped(f, r->expected);
		fprintf(f, "\nactual: ");
		xml_escaped(f, r->actual);
		fprintf(f, "\nrerun: ");
		xml_escaped(f, cmd);
		fprintf(f, "</failure>\n");
	} else if (r->verdict == CF_HARNESS_ERROR) {
		fprintf(f, "      <error type=\"HARNESS-ERROR\" message=\"");
		xml_escaped(f, r->actual);
		fprintf(f, "\"/>\n");
	} else if (r->verdict != CF_PASS) {
		fprintf(f, "      <skipped message=\"%s: ", cf_verdict_name(r->verdict));
		xml_escaped(f, r->actual);
		fprintf(f, "\"/>\n");
	}
	if (r->transcript && *r->transcript) {
		fprintf(f, "      <system-out>");
		xml_escaped(f, r->transcript);
		fprintf(f, "</system-out>\n");
	}
	if (r->iut_log && *r->iut_log) {
		fprintf(f, "      <system-err>");
		xml_escaped(f, r->iut_log);
		fprintf(f, "</system-err>\n");
	}
	fprintf(f, "    </testcase>\n");
}

/* JUnit XML as Jenkins, GitLab and the junit-xml tools read it: failures are <failure>,
 * suite errors <error>, what did not run <skipped>. One <testsuite> per group. */
int cf_report_junit(const char *path, const struct cf_options *o, const struct cf_result *rs,
		    size_t n, double wall)
{
	FILE *f = fopen(path, "w");
	size_t fails = 0, errors = 0, skipped = 0;
	int err;

	if (!f)
		return IB_ERR_IO;
	for (size_t i = 0; i < n; i++) {
		fails += cf_counts_as_failure(&rs[i]);
		errors += rs[i].verdict == CF_HARNESS_ERROR && !rs[i].expect_reason;
		skipped += !cf_counts_as_failure(&rs[i]) && rs[i].verdict != CF_PASS &&
			   !(rs[i].verdict == CF_HARNESS_ERROR && !rs[i].expect_reason);
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites name=\"interbot-conform\" tests=\"%zu\" failures=\"%zu\" "
		"errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n", n, fails, errors, skipped,
		wall / 1e3);
	for (size_t i = 0; i < n;) {
		char group[16], other[16];
		size_t j = i, gf = 0, ge = 0, gs = 0;
		double ms = 0;

		cf_group_of(rs[i].test, group, sizeof group);
		while (j < n && !strcmp(cf_group_of(rs[j].test, other, sizeof other), group)) {
			gf += cf_counts_as_failure(&rs[j]);
			ge += rs[j].verdict == CF_HARNESS_ERROR && !rs[j].expect_reason;
			gs += !cf_counts_as_failure(&rs[j]) && rs[j].verdict != CF_PASS &&
			      !(rs[j].verdict == CF_HARNESS_ERROR && !rs[j].expect_reason);
			ms += rs[j].wall_ms;
			j++;
		}
		fprintf(f, "  <testsuite name=\"%s\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
			"skipped=\"%zu\" time=\"%.3f\">\n", group, j - i, gf, ge, gs, ms / 1e3);
		for (; i < j; i++)
			junit_case(f, o, &rs[i], group);
		fprintf(f, "  </testsuite>\n");
	}
	fprintf(f, "</testsuites>\n");
	err = ferror(f) ? IB_ERR_IO : IB_OK;
	if (fclose(f) != 0)
		err = IB_ERR_IO;
	return err;
}

static json_t *text(const char *s)
{
	char *clean = cf_clean_text(s ? s : "");
	json_t *j = json_string(clean ? clean : "");

	free(clean);
	return j;
}

static json_t *json_result(const struct cf_options *o, const struct cf_result *r)
{
	json_t *t = json_object(), *reqs = json_array();
	char group[16], cmd[2048], *list = strdup(r->test->reqs), *save = NULL;

	for (char *w = strtok_r(list, " ", &save); w; w = strtok_r(NULL, " ", &save))
		json_array_append_new(reqs, json_string(w));
	free(list);
	cf_rerun_command(o, r, cmd, sizeof cmd);
	json_object_set_new(t, "id", json_string(r->test->id));
	json_object_set_new(t, "group", json_string(cf_group_of(r->test, group, sizeof group)));
	json_object_set_new(t, "requirements", reqs);
	json_object_set_new(t, "summary", text(r->test->summary));
	json_object_set_new(t, "verdict", json_string(cf_verdict_name(r->verdict)));
	json_object_set_new(t, "counts_as_failure", json_boolean(cf_counts_as_failure(r)));
	json_object_set_new(t, "expected_failure",
			    r->expect_reason ? text(r->expect_reason) : json_null());
	json_object_set_new(t, "unexpected_pass", json_boolean(r->unexpected_pass));
	json_object_set_new(t, "failed_requirement", r->req[0] ? json_string(r->req) : json_null());
	json_object_set_new(t, "requirement_text",
			    cf_requirement_text(r->req)
				    ? text(cf_requirement_text(r->req)) : json_null());
	json_object_set_new(t, "expected", text(r->expected));
	json_object_set_new(t, "actual", text(r->actual));
	json_object_set_new(t, "wall_ms", json_real(r->wall_ms));
	json_object_set_new(t, "protocol_ms", json_integer((json_int_t)r->virtual_ms));
	json_object_set_new(t, "rerun", text(cmd));
	json_object_set_new(t, "transcript", text(r->transcript));
	json_object_set_new(t, "iut_log", text(r->iut_log));
	return t;
}

const char *cf_mode_name(enum cf_mode m)
{
	static const char *const modes[] = { "self", "cmd", "addr" };

	return (size_t)m < sizeof modes / sizeof modes[0] ? modes[m] : "?";
}

const char *cf_iut_description(const struct cf_options *o, char *buf, size_t cap)
{
	if (o->mode == CF_MODE_CMD)
		snprintf(buf, cap, "%s", o->iut_cmd);
	else if (o->mode == CF_MODE_ADDR)
		snprintf(buf, cap, "%s:%u", o->iut_host, o->iut_port);
	else
		snprintf(buf, cap, "%s %s (in process)", IB_SOFTWARE_NAME, IB_SOFTWARE_VERSION);
	return buf;
}

int cf_report_json(const char *path, const struct cf_options *o, const struct cf_result *rs,
		   size_t n, double wall)
{
	json_t *doc = json_object(), *tests = json_array(), *sum = json_object();
	char iut[600];
	size_t failed = 0;
	int err;

	for (int v = 0; v < CF__VERDICTS; v++)
		json_object_set_new(sum, cf_verdict_name((enum cf_verdict)v), json_integer(0));
	for (size_t i = 0; i < n; i++) {
		json_t *cnt = json_object_get(sum, cf_verdict_name(rs[i].verdict));

		json_integer_set(cnt, json_integer_value(cnt) + 1);
		failed += cf_counts_as_failure(&rs[i]);
		json_array_append_new(tests, json_result(o, &rs[i]));
	}
	json_object_set_new(sum, "total", json_integer((json_int_t)n));
	json_object_set_new(sum, "failed", json_integer((json_int_t)failed));
	json_object_set_new(doc, "schema", json_string(CF_JSON_SCHEMA));
	json_object_set_new(doc, "suite", json_string("interbot-conform " IB_SOFTWARE_VERSION));
	json_object_set_new(doc, "spec", json_string("interbot-v1"));
	json_object_set_new(doc, "mode", json_string(cf_mode_name(o->mode)));
	json_object_set_new(doc, "iut", text(cf_iut_description(o, iut, sizeof iut)));
	json_object_set_new(doc, "seed", json_integer((json_int_t)o->seed));
	json_object_set_new(doc, "timeout_scale", json_real(o->timeout_scale));
	json_object_set_new(doc, "wall_ms", json_real(wall));
	json_object_set_new(doc, "passed", json_boolean(failed == 0));
	json_object_set_new(doc, "summary", sum);
	json_object_set_new(doc, "tests", tests);
	err = json_dump_file(doc, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER) == 0 ? IB_OK
										  : IB_ERR_IO;
	json_decref(doc);
	return err;
}

bool cf_run_failed(const struct cf_result *rs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cf_counts_as_failure(&rs[i]))
			return true;
	return false;
}
