/* cli.c - messages and options shared by the subcommands. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void cli_print_version(void)
{
	printf("interbot %s (%s, protocol interbot/%u)\n", IB_SOFTWARE_VERSION, IB_SOFTWARE_NAME,
	       IB_PROTOCOL_VERSION);
}

int cli_is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int cli_fail(const char *cmd, const char *what, int err, const struct ib_diag *diag)
{
	if (diag && diag->file[0] && diag->line > 0)
		fprintf(stderr, "interbot %s: %s:%d: %s\n", cmd, diag->file, diag->line,
			diag->reason);
	else if (diag && diag->file[0])
		fprintf(stderr, "interbot %s: %s: %s\n", cmd, diag->file, diag->reason);
	else if (diag && diag->reason[0])
		fprintf(stderr, "interbot %s: %s: %s\n", cmd, what, diag->reason);
	else if (err == IB_ERR_IO && errno)
		fprintf(stderr, "interbot %s: %s: %s\n", cmd, what, strerror(errno));
	else
		fprintf(stderr, "interbot %s: %s: %s\n", cmd, what, ib_strerror(err));
	return CLI_FAILED;
}
