/*
 * report_html.c - the run as one HTML page (--html), for a person: the summary, every
 * requirement of the spec with the tests of this run that cover it, each failure explained,
 * every test.
 *
 * The page is self-contained (inline CSS and script, nothing fetched: it opens offline, from
 * a CI artifact) and every text in it is escaped. Without JavaScript it shows everything; the
 * script only adds the filters by verdict and by group, which hide what they leave out with
 * the `hidden` attribute, so that the DOM says what is shown. The filter lives in the URL
 * fragment (#verdict=FAIL,TIMEOUT&group=FLOOD): a link can carry one, and a headless browser
 * given such a URL shows what a person would.
 */
#include "suite.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The verdicts as reports show them (cf_shown_verdict), in the order of the text summary. */
static const char *const verdicts[] = {
	"PASS", "FAIL", "TIMEOUT", "CRASH", "NOT-APPLICABLE", "UNSUPPORTED", "HARNESS-ERROR",
	"XFAIL", "XPASS"
};
static const char *const verdict_labels[] = {
	"pass", "fail", "timeout", "crash", "n/a", "unsupported", "harness", "xfail", "xpass"
};
#define N_VERDICTS (sizeof verdicts / sizeof verdicts[0])

/* A result gets a section of its own in "Failures" when its verdict is one of these. */
static const char *const explained[] = {
	"FAIL", "TIMEOUT", "CRASH", "HARNESS-ERROR", "XFAIL", "XPASS"
};

struct page {
	FILE *f;
	const struct cf_options *o;
	const struct cf_result *rs;
	size_t n;
	double wall_ms;
	int err;                    /* the first failure (out of memory); write errors: ferror */
};

/* raw as HTML text or attribute value: valid UTF-8 without control bytes, & < > " ' escaped. */
static void put(struct page *p, const char *raw)
{
	char *s = cf_clean_text(raw);

	if (!s) {
		p->err = IB_ERR_NOMEM;
		return;
	}
	for (const char *c = s; *c; c++) {
		switch (*c) {
		case '&': fputs("&amp;", p->f); break;
		case '<': fputs("&lt;", p->f); break;
		case '>': fputs("&gt;", p->f); break;
		case '"': fputs("&quot;", p->f); break;
		case '\'': fputs("&#39;", p->f); break;
		default: fputc(*c, p->f);
		}
	}
	free(s);
}

/* A verdict as a CSS class: "v-not-applicable". Verdict names are ASCII capitals and '-'. */
static void put_verdict_class(struct page *p, const char *verdict)
{
	fputs("v-", p->f);
	for (const char *c = verdict; *c; c++)
		fputc(tolower((unsigned char)*c), p->f);
}

static void put_verdict(struct page *p, const char *verdict)
{
	fputs("<span class=\"verdict ", p->f);
	put_verdict_class(p, verdict);
	fputs("\">", p->f);
	put(p, verdict);
	fputs("</span>", p->f);
}

static bool is_explained(const char *verdict)
{
	for (size_t i = 0; i < sizeof explained / sizeof explained[0]; i++)
		if (!strcmp(explained[i], verdict))
			return true;
	return false;
}

/* Whether the test of r names the requirement id, a word of its space-separated list. */
static bool names_requirement(const struct cf_result *r, const char *id)
{
	size_t len = strlen(id);

	for (const char *s = strstr(r->test->reqs, id); s; s = strstr(s + 1, id))
		if ((s == r->test->reqs || s[-1] == ' ') && (s[len] == 0 || s[len] == ' '))
			return true;
	return false;
}

/* The tests a requirement lists: those that name it, and any that failed on it (every test
 * checks [ID-1] and [MSG-4] on the frames it received, whatever it names). */
static bool covers(const struct cf_result *r, const char *id)
{
	return names_requirement(r, id) || !strcmp(r->req, id);
}

static void put_data_attrs(struct page *p, const struct cf_result *r, const char *verdict)
{
	char group[16];

	fputs(" data-verdict=\"", p->f);
	put(p, verdict);
	fputs("\" data-group=\"", p->f);
	put(p, cf_group_of(r->test, group, sizeof group));
	fputs("\"", p->f);
}

/* ---- the head: the style sheet ------------------------------------------------------------ */

static const char style[] =
	"body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:80rem;padding:0 1rem;"
	"color:#1b1b1b;background:#fff}\n"
	"[hidden]{display:none!important}\n"
	"h1{font-size:1.5rem;margin:1rem 0 .3rem}h2{margin-top:2rem;border-bottom:1px solid #ccc}\n"
	"table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;"
	"padding:.25rem .5rem;border-bottom:1px solid #e3e3e3}\n"
	"th{background:#f3f3f3}td.num,th.num{text-align:right}\n"
	"#summary{width:auto}#summary td{font-size:1.3rem;text-align:center;min-width:4rem}\n"
	"#summary th{text-align:center}\n"
	".outcome{font-size:1.2rem;font-weight:600;padding:.4rem .7rem;display:inline-block;"
	"border-radius:4px}\n"
	".outcome.passed{background:#dcf5dc;color:#145214}"
	".outcome.failed{background:#fbdcdc;color:#7a1010}\n"
	"dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem}"
	"dl.facts dt{font-weight:600}dl.facts dd{margin:0}\n"
	".verdict{font:600 12px/1 ui-monospace,monospace;padding:.2rem .35rem;border-radius:3px;"
	"white-space:nowrap;background:#e8e8e8}\n"
	".v-pass{background:#dcf5dc;color:#145214}.v-fail,.v-crash,.v-xpass{background:#c62828;"
	"color:#fff}\n.v-timeout{background:#f4a300;color:#000}.v-harness-error{background:#6a1b9a;"
	"color:#fff}\n.v-xfail{background:#ffe0b2}.v-not-applicable,.v-unsupported{background:#eee;"
	"color:#555}\n"
	"#filters{margin:1rem 0;padding:.5rem .7rem;background:#f6f6f6;border:1px solid #ddd;"
	"border-radius:4px}\n#filters fieldset{display:inline;border:0;margin:0 1rem 0 0;"
	"padding:0}\n#filters label{margin-right:.6rem;white-space:nowrap}\n"
	"#filter-status{font-weight:600}\n"
	"article.failure{border-left:5px solid #c62828;padding:.1rem .9rem;margin:1rem 0;"
	"background:#fdf6f6}\narticle.failure h3{margin:.5rem 0}\n"
	"article.failure dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}\n"
	"article.failure dt{font-weight:600}article.failure dd{margin:0;white-space:pre-wrap;"
	"overflow-wrap:anywhere}\n"
	"pre{background:#f4f4f4;padding:.5rem;overflow:auto;max-height:40rem;font-size:12px}\n"
	"code{font-family:ui-monospace,monospace;font-size:13px}\n"
	"ul.tests{list-style:none;margin:0;padding:0}ul.tests li{margin:.1rem 0}\n"
	"tr.req-failed td:first-child{border-left:5px solid #c62828}"
	"tr.req-incomplete td:first-child{border-left:5px solid #f4a300}"
	"tr.req-passed td:first-child{border-left:5px solid #4caf50}"
	"tr.req-untested td:first-child{border-left:5px solid #ccc}\n"
	".status{white-space:nowrap;font-size:13px}.why{color:#555;font-size:13px}\n"
	"td.id{white-space:nowrap;font-family:ui-monospace,monospace;font-size:13px}\n";

static void put_head(struct page *p, bool failed)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta name=\"generator\" content=\"interbot-conform " IB_SOFTWARE_VERSION "\">\n",
	      p->f);
	fprintf(p->f, "<title>interbot-conform: %s</title>\n", failed ? "FAILED" : "PASSED");
	fprintf(p->f, "<style>\n%s</style>\n</head>\n<body>\n", style);
}

/* ---- the header: outcome, run, counts -------------------------------------------------- */

static void count_verdicts(const struct page *p, size_t counts[N_VERDICTS], size_t *failed)
{
	char v[32];

	memset(counts, 0, N_VERDICTS * sizeof counts[0]);
	*failed = 0;
	for (size_t i = 0; i < p->n; i++) {
		cf_shown_verdict(&p->rs[i], v, sizeof v);
		for (size_t j = 0; j < N_VERDICTS; j++)
			counts[j] += !strcmp(v, verdicts[j]);
		*failed += cf_counts_as_failure(&p->rs[i]);
	}
}

static void put_fact(struct page *p, const char *name, const char *value)
{
	fputs("<dt>", p->f);
	put(p, name);
	fputs("</dt><dd>", p->f);
	put(p, value);
	fputs("</dd>\n", p->f);
}

static void put_run_facts(struct page *p)
{
	char buf[700];

	fputs("<dl class=\"facts\" id=\"run\">\n", p->f);
	put_fact(p, "suite", "interbot-conform " IB_SOFTWARE_VERSION ", spec interbot-v1");
	put_fact(p, "mode", cf_mode_name(p->o->mode));
	put_fact(p, "implementation", cf_iut_description(p->o, buf, sizeof buf));
	snprintf(buf, sizeof buf, "%llu", (unsigned long long)p->o->seed);
	put_fact(p, "seed", buf);
	snprintf(buf, sizeof buf, "%g", p->o->timeout_scale);
	put_fact(p, "timeout scale", buf);
	snprintf(buf, sizeof buf, "%.2f s", p->wall_ms / 1e3);
	put_fact(p, "wall time", buf);
	if (p->o->only)
		put_fact(p, "only", p->o->only);
	if (p->o->skip)
		put_fact(p, "skip", p->o->skip);
	if (p->o->expect)
		put_fact(p, "expectations", p->o->expect);
	fputs("</dl>\n", p->f);
}

/* Each count in a cell of its own, id="count-FAIL", for people and for scripts. */
static void put_summary(struct page *p, const size_t counts[N_VERDICTS], size_t failed)
{
	fputs("<table id=\"summary\">\n<thead><tr><th>tests</th>", p->f);
	for (size_t j = 0; j < N_VERDICTS; j++) {
		fputs("<th title=\"", p->f);
		put(p, verdicts[j]);
		fputs("\">", p->f);
		put(p, verdict_labels[j]);
		fputs("</th>", p->f);
	}
	fputs("</tr></thead>\n<tbody><tr>", p->f);
	fprintf(p->f, "<td id=\"count-total\">%zu</td>", p->n);
	for (size_t j = 0; j < N_VERDICTS; j++) {
		fputs("<td id=\"count-", p->f);
		put(p, verdicts[j]);
		fputs("\"", p->f);
		/* Coloured when not zero: a red 0 would read as a failure. */
		if (counts[j]) {
			fputs(" class=\"", p->f);
			put_verdict_class(p, verdicts[j]);
			fputs("\"", p->f);
		}
		fprintf(p->f, ">%zu</td>", counts[j]);
	}
	fputs("</tr></tbody>\n</table>\n", p->f);
	fprintf(p->f, "<p>%zu of %zu tests fail the run (FAIL, TIMEOUT, CRASH or an unexpected "
		"pass, expected failures aside).</p>\n", failed, p->n);
}

static void put_header(struct page *p, const size_t counts[N_VERDICTS], size_t failed)
{
	put_head(p, failed > 0);
	fputs("<header>\n<h1>interbot-conform report</h1>\n", p->f);
	fprintf(p->f, "<p id=\"outcome\" class=\"outcome %s\">%s: %zu tests, %zu passed, %zu "
		"failed</p>\n", failed ? "failed" : "passed", failed ? "FAILED" : "PASSED", p->n,
		counts[0], failed);
	put_run_facts(p);
	put_summary(p, counts, failed);
	fputs("</header>\n", p->f);
}

/* ---- the filters: controls the script shows and drives --------------------------------- */

static void put_filters(struct page *p, const size_t counts[N_VERDICTS])
{
	char group[16], last[16] = "";

	fputs("<form id=\"filters\" hidden>\n<fieldset><legend>verdict</legend>\n", p->f);
	for (size_t j = 0; j < N_VERDICTS; j++) {
		if (!counts[j])
			continue;
		fputs("<label><input type=\"checkbox\" name=\"verdict\" value=\"", p->f);
		put(p, verdicts[j]);
		fputs("\"> ", p->f);
		put_verdict(p, verdicts[j]);
		fprintf(p->f, " %zu</label>\n", counts[j]);
	}
	fputs("</fieldset>\n<fieldset><legend>group</legend>\n<select name=\"group\">"
	      "<option value=\"\">all groups</option>", p->f);
	/* Results come in test order, so a group's tests are together. */
	for (size_t i = 0; i < p->n; i++) {
		if (!strcmp(cf_group_of(p->rs[i].test, group, sizeof group), last))
			continue;
		snprintf(last, sizeof last, "%s", group);
		fputs("<option>", p->f);
		put(p, group);
		fputs("</option>", p->f);
	}
	fputs("</select></fieldset>\n<button type=\"reset\">show all</button>\n</form>\n", p->f);
	fputs("<noscript><p>The filters need JavaScript; every test is shown.</p></noscript>\n",
	      p->f);
	fprintf(p->f, "<p id=\"filter-status\" role=\"status\">Showing all %zu tests.</p>\n", p->n);
}

/* ---- the failures, explained ------------------------------------------------------------- */

static void put_term(struct page *p, const char *term, const char *text)
{
	fputs("<dt>", p->f);
	put(p, term);
	fputs("</dt><dd>", p->f);
	put(p, text);
	fputs("</dd>\n", p->f);
}

static void put_requirement_term(struct page *p, const struct cf_result *r)
{
	const char *text = cf_requirement_text(r->req);

	fputs("<dt>requirement</dt><dd class=\"failed-requirement\"><a href=\"#req-", p->f);
	put(p, r->req);
	fputs("\">", p->f);
	put(p, r->req);
	fputs("</a>: ", p->f);
	put(p, text ? text : "(not in the spec)");
	fputs("</dd>\n", p->f);
}

/* A long text (transcript, the IUT's stderr) in a <details>, which opens without a script. */
static void put_long_text(struct page *p, const char *css_class, const char *title,
			  const char *text)
{
	size_t lines = 0;

	if (!text || !*text)
		return;
	for (const char *s = text; *s; s++)
		lines += *s == '\n';
	fprintf(p->f, "<details class=\"%s\"><summary>%s (%zu lines)</summary><pre>", css_class, title,
		lines + (text[strlen(text) - 1] != '\n'));
	put(p, text);
	fputs("</pre></details>\n", p->f);
}

static void put_failure(struct page *p, const struct cf_result *r, const char *verdict)
{
	char cmd[2048];
	bool actual = r->verdict == CF_FAIL || r->verdict == CF_TIMEOUT;

	fputs("<article class=\"failure\" id=\"fail-", p->f);
	put(p, r->test->id);
	fputs("\"", p->f);
	put_data_attrs(p, r, verdict);
	fputs(">\n<h3>", p->f);
	put_verdict(p, verdict);
	fputs(" <a class=\"test-id\" href=\"#test-", p->f);
	put(p, r->test->id);
	fputs("\">", p->f);
	put(p, r->test->id);
	fputs("</a> <span class=\"reqs\">[", p->f);
	put(p, r->test->reqs);
	fputs("]</span></h3>\n<dl>\n", p->f);
	put_term(p, "test", r->test->summary);
	if (r->req[0])
		put_requirement_term(p, r);
	if (r->expected[0])
		put_term(p, "expected", r->expected);
	put_term(p, actual ? "actual" : "why", r->actual);
	if (r->expect_reason)
		put_term(p, r->unexpected_pass ? "listed as failing, but passed" : "expected failure",
			 r->expect_reason);
	if (r->node_dir[0])
		put_term(p, "node dir", r->node_dir);
	cf_rerun_command(p->o, r, cmd, sizeof cmd);
	fputs("<dt>rerun</dt><dd><code class=\"rerun\">", p->f);
	put(p, cmd);
	fputs("</code></dd>\n</dl>\n", p->f);
	put_long_text(p, "transcript", "frame transcript", r->transcript);
	put_long_text(p, "iut-log", "IUT stderr", r->iut_log);
	fputs("</article>\n", p->f);
}

static void put_failures(struct page *p)
{
	char v[32];
	size_t count = 0;

	for (size_t i = 0; i < p->n; i++)
		count += is_explained(cf_shown_verdict(&p->rs[i], v, sizeof v));
	fprintf(p->f, "<section id=\"failures\">\n<h2>Failures (%zu)</h2>\n", count);
	if (!count)
		fputs("<p>No test failed, timed out, crashed or hit a harness error.</p>\n", p->f);
	for (size_t i = 0; i < p->n; i++)
		if (is_explained(cf_shown_verdict(&p->rs[i], v, sizeof v)))
			put_failure(p, &p->rs[i], v);
	fputs("</section>\n", p->f);
}

/* ---- every requirement of the spec, with its tests ------------------------------------------ */

enum req_status { REQ_UNTESTED, REQ_PASSED, REQ_INCOMPLETE, REQ_FAILED };

/* failed: a test failed on this very requirement; passed: every test of it passed;
 * incomplete: some did not pass for another reason (another requirement failed first, not
 * applicable, an expected failure); untested: no test of this run covers it. */
static enum req_status requirement_status(const struct page *p, const char *id)
{
	size_t tests = 0, passed = 0;

	for (size_t i = 0; i < p->n; i++) {
		const struct cf_result *r = &p->rs[i];

		if (!covers(r, id))
			continue;
		if (!strcmp(r->req, id) && cf_counts_as_failure(r))
			return REQ_FAILED;
		tests++;
		passed += r->verdict == CF_PASS && !r->unexpected_pass;
	}
	return !tests ? REQ_UNTESTED : passed == tests ? REQ_PASSED : REQ_INCOMPLETE;
}

static const char *const status_names[] = { "untested", "passed", "incomplete", "failed" };
static const char *const status_words[] = {
	"no test in this run", "passed", "not every test passed", "FAILED"
};

static void put_requirement_tests(struct page *p, const char *id)
{
	char v[32];

	fputs("<ul class=\"tests\">", p->f);
	for (size_t i = 0; i < p->n; i++) {
		const struct cf_result *r = &p->rs[i];

		if (!covers(r, id))
			continue;
		cf_shown_verdict(r, v, sizeof v);
		fputs("<li", p->f);
		put_data_attrs(p, r, v);
		fputs(">", p->f);
		put_verdict(p, v);
		fputs(" <a href=\"#test-", p->f);
		put(p, r->test->id);
		fputs("\">", p->f);
		put(p, r->test->id);
		fputs("</a>", p->f);
		if (!strcmp(r->req, id) && is_explained(v)) {
			fputs(" <a class=\"failed-here\" href=\"#fail-", p->f);
			put(p, r->test->id);
			fputs("\">failed here</a>", p->f);
		}
		fputs("</li>", p->f);
	}
	fputs("</ul>", p->f);
}

static void put_requirements(struct page *p)
{
	size_t by_status[4] = { 0 }, total = 0;
	const char *id;

	for (size_t i = 0; (id = cf_requirement_id(i)); i++) {
		by_status[requirement_status(p, id)]++;
		total++;
	}
	fprintf(p->f, "<section id=\"requirements\">\n<h2>Requirements (%zu)</h2>\n<p>Every "
		"requirement of the spec, with the tests of this run that cover it: %zu failed, "
		"%zu passed, %zu with a test that did not pass, %zu with no test in this run.</p>\n",
		total, by_status[REQ_FAILED], by_status[REQ_PASSED], by_status[REQ_INCOMPLETE],
		by_status[REQ_UNTESTED]);
	fputs("<table>\n<thead><tr><th>ID</th><th>requirement</th><th>tests</th><th>status</th>"
	      "</tr></thead>\n<tbody>\n", p->f);
	for (size_t i = 0; (id = cf_requirement_id(i)); i++) {
		enum req_status st = requirement_status(p, id);

		fputs("<tr id=\"req-", p->f);
		put(p, id);
		fprintf(p->f, "\" class=\"req-%s\"><td class=\"id\">", status_names[st]);
		put(p, id);
		fputs("</td><td>", p->f);
		put(p, cf_requirement_text(id));
		fputs("</td><td>", p->f);
		put_requirement_tests(p, id);
		fprintf(p->f, "</td><td class=\"status\">%s</td></tr>\n", status_words[st]);
	}
	fputs("</tbody>\n</table>\n</section>\n", p->f);
}

/* ---- every test ------------------------------------------------------------------------------ */

static void put_test_requirements(struct page *p, const struct cf_result *r)
{
	char *list = strdup(r->test->reqs), *save = NULL;

	if (!list) {
		p->err = IB_ERR_NOMEM;
		return;
	}
	for (char *w = strtok_r(list, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		fputs("<a href=\"#req-", p->f);
		put(p, w);
		fputs("\">", p->f);
		put(p, w);
		fputs("</a> ", p->f);
	}
	free(list);
}

static void put_test_row(struct page *p, const struct cf_result *r)
{
	char v[32], group[16];

	cf_shown_verdict(r, v, sizeof v);
	fputs("<tr id=\"test-", p->f);
	put(p, r->test->id);
	fputs("\"", p->f);
	put_data_attrs(p, r, v);
	fputs("><td>", p->f);
	put(p, cf_group_of(r->test, group, sizeof group));
	fputs("</td><td class=\"id\">", p->f);
	put(p, r->test->id);
	fputs("</td><td>", p->f);
	put_test_requirements(p, r);
	fputs("</td><td>", p->f);
	put_verdict(p, v);
	fprintf(p->f, "</td><td class=\"num\">%.1f</td><td class=\"why\">", r->wall_ms);
	if (is_explained(v)) {
		fputs("<a href=\"#fail-", p->f);
		put(p, r->test->id);
		fputs("\">", p->f);
		put(p, r->req[0] ? r->req : "details");
		fputs("</a>", p->f);
	} else if (r->verdict != CF_PASS) {
		put(p, r->actual);
	}
	fputs("</td></tr>\n", p->f);
}

static void put_tests(struct page *p)
{
	fprintf(p->f, "<section id=\"tests\">\n<h2>Tests (%zu)</h2>\n<table>\n<thead><tr>"
		"<th>group</th><th>test</th><th>requirements</th><th>verdict</th>"
		"<th class=\"num\">ms</th><th>failed requirement, or why</th></tr></thead>\n"
		"<tbody>\n", p->n);
	for (size_t i = 0; i < p->n; i++)
		put_test_row(p, &p->rs[i]);
	fputs("</tbody>\n</table>\n</section>\n", p->f);
}

/* ---- the script: the filters ----------------------------------------------------------------- */

/* Plain ES5, no library. The fragment is the filter's one source of truth: the controls write
 * it, and a change of it (a link, the back button, a URL given to a browser) sets the controls
 * and hides what the filter leaves out. A fragment that is not a filter (#fail-x) is a plain
 * anchor; when it points into something the filter hides, the filter is cleared. The controls'
 * state goes to their attributes too (defaultChecked, defaultSelected), so that the DOM as
 * saved or dumped (chromium --dump-dom) says which filter is on. */
static const char script[] =
	"(function () {\n"
	"'use strict';\n"
	"var form = document.getElementById('filters');\n"
	"var status = document.getElementById('filter-status');\n"
	"var boxes = form.querySelectorAll('input[name=verdict]');\n"
	"var group = form.querySelector('select[name=group]');\n"
	"function each(sel, fn, root) {\n"
	"  var list = (root || document).querySelectorAll(sel);\n"
	"  for (var i = 0; i < list.length; i++) fn(list[i]);\n"
	"}\n"
	"function parse(hash) {\n"
	"  var h = hash.replace(/^#/, ''), f = { verdicts: [], group: '' };\n"
	"  if (!/^(verdict|group)=/.test(h)) return null;\n"
	"  h.split('&').forEach(function (kv) {\n"
	"    var i = kv.indexOf('='), k = kv.slice(0, i), v = decodeURIComponent(kv.slice(i + 1));\n"
	"    if (k === 'verdict' && v) f.verdicts = v.split(',');\n"
	"    else if (k === 'group') f.group = v;\n"
	"  });\n"
	"  return f;\n"
	"}\n"
	"function fromControls() {\n"
	"  var f = { verdicts: [], group: group.value };\n"
	"  each('input[name=verdict]:checked', function (b) { f.verdicts.push(b.value); }, form);\n"
	"  return f;\n"
	"}\n"
	"function toHash(f) {\n"
	"  var parts = [];\n"
	"  if (f.verdicts.length) parts.push('verdict=' + f.verdicts.join(','));\n"
	"  if (f.group) parts.push('group=' + encodeURIComponent(f.group));\n"
	"  return parts.join('&');\n"
	"}\n"
	"function setControls(f) {\n"
	"  each('input[name=verdict]', function (b) {\n"
	"    b.checked = b.defaultChecked = f.verdicts.indexOf(b.value) >= 0;\n"
	"  }, form);\n"
	"  each('option', function (o) {\n"
	"    o.selected = o.defaultSelected = o.value === f.group;\n"
	"  }, group);\n"
	"}\n"
	"function matches(el, f) {\n"
	"  return (!f.verdicts.length || f.verdicts.indexOf(el.getAttribute('data-verdict')) >= 0)\n"
	"    && (!f.group || el.getAttribute('data-group') === f.group);\n"
	"}\n"
	"function apply(f) {\n"
	"  var active = f.verdicts.length > 0 || f.group !== '', shown = 0, total = 0, fails = 0;\n"
	"  each('[data-verdict]', function (el) { el.hidden = !matches(el, f); });\n"
	"  each('#requirements tbody tr', function (tr) {\n"
	"    tr.hidden = active && !tr.querySelector('li[data-verdict]:not([hidden])');\n"
	"  });\n"
	"  each('#tests tbody tr', function (tr) { total++; shown += !tr.hidden; });\n"
	"  each('#failures article', function (a) { fails += !a.hidden; });\n"
	"  status.textContent = active\n"
	"    ? 'Showing ' + shown + ' of ' + total + ' tests and ' + fails + ' failures: '\n"
	"      + (f.verdicts.length ? 'verdict ' + f.verdicts.join(' or ') : 'any verdict')\n"
	"      + ', ' + (f.group ? 'group ' + f.group : 'every group') + '.'\n"
	"    : 'Showing all ' + total + ' tests.';\n"
	"}\n"
	"function onHash() {\n"
	"  var f = parse(location.hash), target;\n"
	"  if (f) { show(f); return; }\n"
	"  target = location.hash.length > 1 &&\n"
	"    document.getElementById(decodeURIComponent(location.hash.slice(1)));\n"
	"  if (target && target.closest('[hidden]')) {\n"
	"    show({ verdicts: [], group: '' }); target.scrollIntoView();\n"
	"  }\n"
	"}\n"
	"function show(f) {\n"
	"  setControls(f); apply(f);\n"
	"}\n"
	"form.addEventListener('change', function () {\n"
	"  var f = fromControls();\n"
	"  location.hash = toHash(f); apply(f);\n"
	"});\n"
	"form.addEventListener('reset', function (e) {\n"
	"  e.preventDefault(); location.hash = ''; show({ verdicts: [], group: '' });\n"
	"});\n"
	"window.addEventListener('hashchange', onHash);\n"
	"form.hidden = false;\n"
	"show(parse(location.hash) || { verdicts: [], group: '' });\n"
	"}());\n";

static void put_page(struct page *p)
{
	size_t counts[N_VERDICTS], failed;

	count_verdicts(p, counts, &failed);
	put_header(p, counts, failed);
	fputs("<main>\n", p->f);
	put_filters(p, counts);
	put_failures(p);
	put_requirements(p);
	put_tests(p);
	fputs("</main>\n", p->f);
	fprintf(p->f, "<script>\n%s</script>\n</body>\n</html>\n", script);
}

int cf_report_html(const char *path, const struct cf_options *o, const struct cf_result *rs,
		   size_t n, double wall_ms)
{
	struct page p = { .o = o, .rs = rs, .n = n, .wall_ms = wall_ms, .err = IB_OK };

	p.f = fopen(path, "w");
	if (!p.f)
		return IB_ERR_IO;
	put_page(&p);
	if (ferror(p.f) && p.err == IB_OK)
		p.err = IB_ERR_IO;
	if (fclose(p.f) != 0 && p.err == IB_OK)
		p.err = IB_ERR_IO;
	return p.err;
}
