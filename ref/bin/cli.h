/* cli.h - what the subcommands of the interbot program share. */
#ifndef IB_CLI_H
#define IB_CLI_H

#include "interbot.h"

enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

struct cli_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);   /* argv[0] is the subcommand's name */
};

int cli_init(int argc, char **argv);
int cli_id(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_ctl(int argc, char **argv);

void cli_print_version(void);
/* True (and prints the version) when argv[i] is --version; prints help on --help. */
int cli_is_help(const char *arg);
/* "interbot CMD: what: reason" on stderr; returns CLI_FAILED. */
int cli_fail(const char *cmd, const char *what, int err, const struct ib_diag *diag);

#endif
