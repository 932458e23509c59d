/*
 * keyid.c - `interbot id DIR|FILE`: the id_bot of a node directory (from its identity.pub) or
 * of a PEM public key file, as 32 hex digits. Owners compare it when they exchange keys.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

int cli_id(int argc, char **argv)
{
	struct ib_pubkey *k = NULL;
	struct ib_diag diag = { 0 };
	char path[4096], hex[2 * IB_ID_LEN + 1];
	struct stat st;
	int err;

	if (argc == 2 && cli_is_help(argv[1])) {
		printf("usage: interbot id DIR|FILE.pub\n\n"
		       "Prints the id_bot (MD5 of the key's DER SubjectPublicKeyInfo, spec section 3)\n"
		       "of a node directory's identity.pub, or of a PEM public key file.\n");
		return CLI_OK;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: interbot id DIR|FILE.pub\n");
		return CLI_USAGE;
	}
	if (stat(argv[1], &st) == 0 && S_ISDIR(st.st_mode))
		snprintf(path, sizeof path, "%s/identity.pub", argv[1]);
	else
		snprintf(path, sizeof path, "%s", argv[1]);
	err = ib_pubkey_load(&k, path, &diag);
	if (err)
		return cli_fail("id", path, err, &diag);
	ib_id_to_hex(ib_pubkey_id(k), hex);
	printf("%s\n", hex);
	ib_pubkey_free(k);
	return CLI_OK;
}
