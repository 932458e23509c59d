/*
 * fuzz_conf.c - the node.conf parser, on arbitrary bytes.
 *
 * Targets: ib_config_parse (every key kind, the line checks: length, NUL, UTF-8; the checks
 * after the file), ib_addr_parse (on the input as one string), ib_config_write and
 * ib_config_load (for what parses).
 * Properties checked (abort on failure): the input is read through an exactly-sized copy, not
 * NUL-terminated, so ASan sees any read past its length; a refusal is IB_ERR_CONFIG naming
 * the file, with a line inside the text; a config that parses holds its ranges and limits, and
 * written with ib_config_write and loaded back it is the same config; an address that
 * ib_addr_parse accepts has a host of 1..253 bytes and a port 1..65535.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "interbot.h"

#define FILE_NAME "fuzz/node.conf"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_conf: %s\n", what);
	abort();
}

static char scratch_dir[96], scratch_file[128];

static void remove_scratch(void)
{
	unlink(scratch_file);
	rmdir(scratch_dir);
}

/* A scratch node directory of this process, made once, removed at exit. */
static const char *scratch_path(void)
{
	if (!scratch_file[0]) {
		const char *tmp = getenv("TMPDIR");

		snprintf(scratch_dir, sizeof scratch_dir, "%s/ib-fuzz-conf-%ld",
		         tmp && *tmp ? tmp : "/tmp", (long)getpid());
		if (mkdir(scratch_dir, 0700) != 0 && errno != EEXIST)
			fail("cannot make the scratch directory");
		snprintf(scratch_file, sizeof scratch_file, "%s/node.conf", scratch_dir);
		atexit(remove_scratch);
	}
	return scratch_file;
}

static int lines_in(const uint8_t *p, size_t n)
{
	int lines = n ? 1 : 0;

	for (size_t i = 0; i + 1 < n; i++)
		lines += p[i] == '\n';
	return lines;
}

static int terminated(const char *s, size_t cap)
{
	return memchr(s, 0, cap) != NULL;
}

/* What every accepted config must hold (spec sections 18 and 19.1). */
static void check_limits(const struct ib_config *c)
{
	size_t name_len;

	if (!terminated(c->name, sizeof c->name) || !terminated(c->listen, sizeof c->listen))
		fail("a string is not terminated");
	name_len = strlen(c->name);
	if (name_len < 1 || name_len > 255 || !c->listen[0])
		fail("name or listen out of range");
	if (c->mode != IB_ROLE_SERVER && c->mode != IB_ROLE_CLIENT)
		fail("mode");
	if (c->parent_count > IB_MAX_PARENTS || c->command_count > IB_MAX_COMMANDS)
		fail("too many parents or commands");
	if (ib_addr_parse(c->listen, NULL, 0, NULL) != IB_OK)
		fail("listen is not an address");
	for (size_t i = 0; i < c->parent_count; i++)
		if (!terminated(c->parents[i], IB_MAX_ADDR) ||
		    ib_addr_parse(c->parents[i], NULL, 0, NULL) != IB_OK)
			fail("a parent is not an address");
	for (size_t i = 0; i < c->command_count; i++)
		if (!terminated(c->commands[i], sizeof c->commands[i]) || !c->commands[i][0])
			fail("a command name");
	if (c->keepalive_interval_ms < 100 || c->keepalive_interval_ms > 3600000 ||
	    c->keepalive_timeout_ms < 100 || c->keepalive_timeout_ms > 3600000 ||
	    c->max_message < 65536 || c->max_message > 16777215 || c->election_window_ms < 1 ||
	    c->election_window_ms > 600000 || c->reconnect_min_ms < 10 ||
	    c->reconnect_min_ms > 3600000 || c->reconnect_max_ms < c->reconnect_min_ms ||
	    c->reconnect_max_ms > 86400000)
		fail("a number out of range");
}

static int config_equal(const struct ib_config *a, const struct ib_config *b)
{
	if (strcmp(a->name, b->name) || strcmp(a->listen, b->listen) || a->mode != b->mode ||
	    a->parent_count != b->parent_count || a->command_count != b->command_count ||
	    a->keepalive_interval_ms != b->keepalive_interval_ms ||
	    a->keepalive_timeout_ms != b->keepalive_timeout_ms ||
	    a->max_message != b->max_message || a->election_window_ms != b->election_window_ms ||
	    a->reconnect_min_ms != b->reconnect_min_ms ||
	    a->reconnect_max_ms != b->reconnect_max_ms)
		return 0;
	for (size_t i = 0; i < a->parent_count; i++)
		if (strcmp(a->parents[i], b->parents[i]))
			return 0;
	for (size_t i = 0; i < a->command_count; i++)
		if (strcmp(a->commands[i], b->commands[i]))
			return 0;
	return 1;
}

static void check_round_trip(const struct ib_config *c)
{
	static struct ib_config back; /* static: three configs would be 64 KiB of stack */
	struct ib_diag diag;

	if (ib_config_write(c, scratch_path()) != IB_OK)
		fail("a config that parsed cannot be written");
	if (ib_config_load(&back, scratch_path(), &diag) != IB_OK) {
		fprintf(stderr, "line %d: %s\n", diag.line, diag.reason);
		fail("a written config does not load");
	}
	if (!config_equal(c, &back))
		fail("a written config loads back different");
}

static void check_addr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), host[IB_MAX_ADDR];
	uint16_t port = 0;

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (ib_addr_parse(s, host, sizeof host, &port) == IB_OK &&
	    (strlen(host) < 1 || strlen(host) > 253 || port == 0))
		fail("ib_addr_parse accepted a bad address");
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ib_config c;
	uint8_t *copy = malloc(size ? size : 1);
	struct ib_diag diag;
	int err;

	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	ib_config_defaults(&c, "fuzz");
	memset(&diag, 0, sizeof diag);
	err = ib_config_parse(&c, (const char *)copy, size, FILE_NAME, &diag);
	if (err) {
		if (err != IB_ERR_CONFIG || strcmp(diag.file, FILE_NAME) != 0 || diag.line < 0 ||
		    diag.line > lines_in(copy, size) || !diag.reason[0])
			fail("a refusal without IB_ERR_CONFIG, the file or a line in the text");
	} else {
		check_limits(&c);
		check_round_trip(&c);
	}
	check_addr(copy, size);
	free(copy);
	return 0;
}
