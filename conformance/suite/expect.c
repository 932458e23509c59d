/*
 * expect.c - the expectations file of a stack (--expect): its known failures, one per line,
 *
 *     # comment
 *     TEST-ID-OR-GLOB  reason, to the end of the line
 *
 * A listed test that fails is reported XFAIL and does not fail the run; one that passes is
 * XPASS and does, so that the list cannot outlive the bugs it names.
 *
 * The budgets file (--budgets) has the same lines with a number of milliseconds for a reason:
 * how long a test process may run before it is stopped and reported TIMEOUT.
 */
#include "suite.h"

#include <stdlib.h>
#include <string.h>

#define CF_EXPECT_MAX 1024u     /* entries */
#define CF_EXPECT_LINE 512u     /* bytes per line */
#define CF_BUDGET_MAX_MS 3600000u /* an hour: more is a typo */

bool cf_glob_match(const char *p, const char *s)
{
	/* '*' matches any run of characters, '?' one; enough for test ids. */
	if (!*p)
		return !*s;
	if (*p == '*')
		return cf_glob_match(p + 1, s) || (*s && cf_glob_match(p, s + 1));
	if (!*s)
		return false;
	return (*p == '?' || *p == *s) && cf_glob_match(p + 1, s + 1);
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' ||
			   end[-1] == '\r'))
		*--end = 0;
	return s;
}

int cf_expect_load(const char *path, struct cf_expectation **out, size_t *count, char *err,
		   size_t errcap)
{
	FILE *f = fopen(path, "r");
	struct cf_expectation *e = NULL;
	char line[CF_EXPECT_LINE + 2];
	size_t n = 0;
	int lineno = 0, rc = IB_OK;

	*out = NULL;
	*count = 0;
	if (!f) {
		snprintf(err, errcap, "%s: cannot open", path);
		return IB_ERR_IO;
	}
	e = calloc(CF_EXPECT_MAX, sizeof *e);
	if (!e) {
		rc = IB_ERR_NOMEM;
		goto out;
	}
	while (fgets(line, sizeof line, f)) {
		char *s, *sp;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errcap, "%s:%d: line longer than %u bytes", path, lineno,
				 CF_EXPECT_LINE);
			rc = IB_ERR_CONFIG;
			goto out;
		}
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		sp = strpbrk(s, " \t");
		if (!sp || !*trim(sp)) {
			snprintf(err, errcap, "%s:%d: `%s` has no reason: say why it is expected "
				 "to fail", path, lineno, s);
			rc = IB_ERR_CONFIG;
			goto out;
		}
		*sp = 0;
		if (n == CF_EXPECT_MAX || strlen(s) >= sizeof e[0].pattern) {
			snprintf(err, errcap, "%s:%d: too many entries or too long a pattern", path,
				 lineno);
			rc = IB_ERR_CONFIG;
			goto out;
		}
		snprintf(e[n].pattern, sizeof e[n].pattern, "%s", s);
		snprintf(e[n].reason, sizeof e[n].reason, "%s", trim(sp + 1));
		e[n].line = lineno;
		n++;
	}
	*out = e;
	*count = n;
	e = NULL;
out:
	free(e);
	fclose(f);
	return rc;
}

const struct cf_expectation *cf_expect_find(struct cf_expectation *e, size_t n,
					    const char *test_id)
{
	for (size_t i = 0; i < n; i++)
		if (cf_glob_match(e[i].pattern, test_id)) {
			e[i].used = true;
			return &e[i];
		}
	return NULL;
}

int cf_budgets_load(const char *path, struct cf_budgets *out, char *err, size_t errcap)
{
	struct cf_expectation *e = NULL;
	uint32_t *ms = NULL;
	size_t n = 0;
	int rc = cf_expect_load(path, &e, &n, err, errcap);

	if (rc != IB_OK)
		goto out;
	ms = calloc(n ? n : 1, sizeof *ms);
	if (!ms) {
		rc = IB_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char *end;
		unsigned long v = strtoul(e[i].reason, &end, 10);

		if (end == e[i].reason || *end || v < 1 || v > CF_BUDGET_MAX_MS) {
			snprintf(err, errcap, "%s:%d: `%s` is not a budget: want milliseconds, 1 to "
				 "%u", path, e[i].line, e[i].reason, CF_BUDGET_MAX_MS);
			rc = IB_ERR_CONFIG;
			goto out;
		}
		ms[i] = (uint32_t)v;
	}
	out->entries = e;
	out->ms = ms;
	out->n = n;
	e = NULL;
	ms = NULL;
out:
	free(e);
	free(ms);
	return rc;
}

uint32_t cf_budget_ms(const struct cf_budgets *b, const char *test_id)
{
	for (size_t i = 0; i < b->n; i++)
		if (cf_glob_match(b->entries[i].pattern, test_id))
			return b->ms[i];
	return 0;
}
