/* t_iface.c - the conformance interface itself (spec section 19): how the suite starts,
 * reloads and stops an implementation, and the standard commands it observes it through. */
#include "cf.h"

#include <string.h>

static void test_ready_and_link(struct cf_ctx *c)
{
	struct hn_peer *p;

	/* [IFACE-1] it read the directory: a tester from authorized/ is let in, and the HELLO
	 * it answers comes from identity.key. */
	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p))
		return;
	cf_note(c, "linked as a child of the IUT");
}

static bool output_has(const struct ib_buf *out, const char *line)
{
	size_t n = strlen(line);

	for (size_t i = 0; i + n <= out->len; i++)
		if ((i == 0 || out->ptr[i - 1] == '\n') && !memcmp(out->ptr + i, line, n))
			return true;
	return false;
}

static void test_info(struct cf_ctx *c)
{
	struct ib_buf out = { 0 };
	struct hn_peer *p;
	uint16_t status;
	char idline[64], hex[2 * IB_ID_LEN + 1];

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !cf_command(c, p, NULL, "ib.info", NULL, 0, &status, &out))
		goto out;
	if (!cf_expect(c, status == IB_STATUS_OK, "IFACE-6", "ib.info answers ok",
		       "status %s", ib_status_name(status)))
		goto out;
	ib_id_to_hex(cf_iut_id(c), hex);
	snprintf(idline, sizeof idline, "id=%s\n", hex);
	cf_expect(c, output_has(&out, idline) && output_has(&out, "role=server\n") &&
		  output_has(&out, "parent=\n"), "CMD-3",
		  "ib.info lines include id=<its id>, role=server and an empty parent= (a root)",
		  "output: %.*s", (int)out.len, (const char *)out.ptr);
out:
	ib_buf_free(&out);
}

static void test_sigterm(struct cf_ctx *c)
{
	struct hn_peer *p;

	if (!cf_iut_start(c, NULL) || !(p = cf_peer(c, 0)) || !cf_link_child(c, p) ||
	    !cf_iut_stop(c))
		return;
	cf_wait_closed(c, p, IB_EC_SHUTTING_DOWN, "LINK-8", 1000);
}

const struct cf_test cf_tests_iface[] = {
	{ "iface.ready", "IFACE-1 IFACE-3", 0, test_ready_and_link,
	  "Started on a prepared node directory, the IUT accepts TCP, then links an authorized "
	  "tester as a child" },
	{ "iface.info", "IFACE-6 CMD-3", 0, test_info,
	  "ib.info from a tester answers ok with id=, role= and parent= lines" },
	{ "iface.sigterm", "IFACE-5 LINK-8", CF_NEEDS_RESTART, test_sigterm,
	  "On SIGTERM the IUT closes its links with ERROR shutting_down and exits within 5 s" },
	{ NULL, NULL, 0, NULL, NULL }
};
