/*
 * hosts.c - names that resolve as a test needs, on any machine the suite runs on as root.
 *
 * Some rules are about a name with several addresses ([TREE-25]). Which names have several
 * depends on the machine's /etc/hosts, so such a test would judge nothing on many machines.
 * Here the test's own process (one per test, in self and cmd mode) takes a private mount
 * namespace and binds over /etc/hosts a copy that adds its lines: the IUT it starts inherits
 * the namespace, and the machine and the other tests see nothing of it.
 */
#define _GNU_SOURCE /* unshare */
#include "suite.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#define HOSTS_PATH "/etc/hosts"

static bool copy_with(const char *to, const char *lines)
{
	FILE *in = fopen(HOSTS_PATH, "r"), *out = fopen(to, "w");
	char buf[4096];
	size_t n;
	bool ok = out != NULL;

	while (ok && in && (n = fread(buf, 1, sizeof buf, in)) > 0)
		ok = fwrite(buf, 1, n, out) == n;
	ok = ok && fputs("\n# added by interbot-conform for one test\n", out) >= 0 &&
	     fputs(lines, out) >= 0;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		ok = false;
	return ok;
}

bool cf_private_hosts(struct cf_ctx *c, const char *lines, char *why, size_t cap)
{
	const struct cf_options *o = c->w->opt;
	char path[PATH_MAX];

	if (o->mode == CF_MODE_ADDR || o->no_fork || o->pcap) {
		snprintf(why, cap, "the test runs in the suite's own process (--iut-addr, "
			 "--no-fork or --pcap), whose /etc/hosts it must not change");
		return false;
	}
	snprintf(path, sizeof path, "%s/%s.hosts", c->w->workdir, c->test->id);
	if (!copy_with(path, lines)) {
		snprintf(why, cap, "cannot write %s", path);
		return false;
	}
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount(path, HOSTS_PATH, NULL, MS_BIND, NULL) != 0) {
		snprintf(why, cap, "a private /etc/hosts needs a mount namespace: %s (run as root)",
			 strerror(errno));
		remove(path);
		return false;
	}
	remove(path);               /* the mount holds the file */
	cf_note(c, "a private %s for this test adds: %s", HOSTS_PATH, lines);
	return true;
}
