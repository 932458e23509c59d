/*
 * main.c - the `interbot` program: one subcommand per owner task.
 *
 *   interbot init DIR [--name N] [--listen H:P] [--parent H:P ...] [--mode server|client]
 *   interbot id DIR|FILE.pub
 *   interbot run DIR [--log-level LEVEL] [--pcap FILE [--pcap-max-bytes N]] [--keylog FILE]
 *   interbot ctl DIR [--json] [--timeout MS] COMMAND [ARGS]
 *
 * Every subcommand answers --help; `interbot --version` prints the software version.
 * Exit status: 0 done, 1 failed (one line on stderr says why), 2 bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct cli_command commands[] = {
	{ "init", "create a node directory: key, certificate, node.conf, authorized/",
	  cli_init },
	{ "id", "print the id_bot of a node directory or a public key file", cli_id },
	{ "run", "run the node of a directory in the foreground", cli_run },
	{ "ctl", "ask the node running in a directory: status, links, tree, data, commands",
	  cli_ctl },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: interbot COMMAND [ARGS]   (interbot COMMAND --help for more)\n\n"
		     "commands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-6s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\noptions: --help, --version\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		cli_print_version();
		return CLI_OK;
	}
	/* --version answers on every subcommand too. */
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--version") == 0) {
			cli_print_version();
			return CLI_OK;
		}
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "interbot: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return CLI_USAGE;
}
