/*
 * init.c - `interbot init DIR`: makes a node directory as spec section 19.1 lays it out:
 * identity.key (mode 0600), identity.crt, identity.pub (to hand to other owners), node.conf,
 * an empty authorized/ and store/.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

#define DEFAULT_LISTEN "127.0.0.1:7415"

static void init_usage(FILE *out)
{
	fprintf(out,
		"usage: interbot init DIR [--name N] [--listen HOST:PORT] [--parent HOST:PORT ...]\n"
		"                         [--mode server|client]\n\n"
		"Creates DIR (or fills an existing one that has no identity.key) with a new\n"
		"Ed25519 identity, its self-signed certificate, identity.pub, node.conf, and\n"
		"empty authorized/ and store/. Give DIR/identity.pub to the owners of the bots\n"
		"this one links with; put theirs in DIR/authorized/NAME.pub.\n\n"
		"  --name N          the node's name (default: the directory's name)\n"
		"  --listen H:P      where it accepts children (default: " DEFAULT_LISTEN ")\n"
		"  --parent H:P      a parent to join, in order of preference (repeatable)\n"
		"  --mode M          server (always accepts children, default) or client\n");
}

/* What node.conf can hold as a name ([IFACE-2]), checked before anything is written: a name
 * the certificate then refused would leave a key behind and the directory half made. */
static int name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > IB_MAX_STRING || name[0] == ' ' || name[n - 1] == ' ' ||
	    !ib_utf8_valid((const uint8_t *)name, n))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return 0;
	return 1;
}

/* Fills c from the options; every value is checked before anything is written. */
static int parse_options(int argc, char **argv, struct ib_config *c, const char **dir)
{
	char host[IB_MAX_ADDR];
	uint16_t port;

	*dir = NULL;
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (opt[0] != '-') {
			if (*dir) {
				fprintf(stderr, "interbot init: one directory only\n");
				return CLI_USAGE;
			}
			*dir = opt;
			continue;
		}
		if (!val) {
			fprintf(stderr, "interbot init: %s needs a value\n", opt);
			return CLI_USAGE;
		}
		i++;
		if (strcmp(opt, "--name") == 0) {
			if (!name_ok(val)) {
				fprintf(stderr, "interbot init: --name: 1 to 255 bytes of UTF-8, no "
						"control characters, no blank at either end\n");
				return CLI_USAGE;
			}
			snprintf(c->name, sizeof c->name, "%s", val);
		} else if (strcmp(opt, "--listen") == 0 || strcmp(opt, "--parent") == 0) {
			if (ib_addr_parse(val, host, sizeof host, &port) != IB_OK ||
			    strlen(val) >= IB_MAX_ADDR) {
				fprintf(stderr, "interbot init: %s %s: expected HOST:PORT or "
						"[V6]:PORT, port 1-65535\n", opt, val);
				return CLI_USAGE;
			}
			if (opt[2] == 'l')
				snprintf(c->listen, sizeof c->listen, "%s", val);
			else if (c->parent_count == IB_MAX_PARENTS) {
				fprintf(stderr, "interbot init: at most %u parents\n", IB_MAX_PARENTS);
				return CLI_USAGE;
			} else
				snprintf(c->parents[c->parent_count++], IB_MAX_ADDR, "%s", val);
		} else if (strcmp(opt, "--mode") == 0) {
			if (strcmp(val, "server") != 0 && strcmp(val, "client") != 0) {
				fprintf(stderr, "interbot init: --mode: server or client\n");
				return CLI_USAGE;
			}
			c->mode = val[0] == 's' ? IB_ROLE_SERVER : IB_ROLE_CLIENT;
		} else {
			fprintf(stderr, "interbot init: unknown option %s\n", opt);
			return CLI_USAGE;
		}
	}
	if (!*dir) {
		init_usage(stderr);
		return CLI_USAGE;
	}
	return CLI_OK;
}

static int make_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return IB_OK;
	return IB_ERR_IO;
}

/* DIR/NAME into buf; IB_ERR_RANGE if it does not fit. */
static int path_in(char *buf, size_t cap, const char *dir, const char *name)
{
	return (size_t)snprintf(buf, cap, "%s/%s", dir, name) < cap ? IB_OK : IB_ERR_RANGE;
}

/* Writes the identity, its certificate and public key, then node.conf. */
static int write_node_dir(const char *dir, const struct ib_config *c, struct ib_identity *id)
{
	char path[4096];
	struct stat st;
	int err;

	err = path_in(path, sizeof path, dir, "identity.key");
	if (err)
		return cli_fail("init", dir, err, NULL);
	if (stat(path, &st) == 0) {
		fprintf(stderr, "interbot init: %s exists; not replacing an identity\n", path);
		return CLI_FAILED;
	}
	if (make_dir(dir, 0700) != IB_OK)
		return cli_fail("init", dir, IB_ERR_IO, NULL);
	err = ib_identity_save(id, path);
	if (err)
		return cli_fail("init", path, err, NULL);
	if (!path_in(path, sizeof path, dir, "identity.crt"))
		err = ib_identity_write_cert(id, path, c->name);
	if (!err && !path_in(path, sizeof path, dir, "identity.pub"))
		err = ib_pubkey_save(ib_identity_pubkey(id), path);
	if (!err && !path_in(path, sizeof path, dir, "authorized"))
		err = make_dir(path, 0755);
	if (!err && !path_in(path, sizeof path, dir, "store"))
		err = make_dir(path, 0700);
	if (!err && !path_in(path, sizeof path, dir, "node.conf"))
		err = ib_config_write(c, path);
	if (err)
		return cli_fail("init", path, err, NULL);
	return CLI_OK;
}

int cli_init(int argc, char **argv)
{
	struct ib_identity *id = NULL;
	struct ib_config *c = calloc(1, sizeof *c);
	char base[4096], hex[2 * IB_ID_LEN + 1];
	const char *dir;
	int rc = CLI_FAILED;

	if (!c)
		goto out;
	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			init_usage(stdout);
			rc = CLI_OK;
			goto out;
		}
	}
	/* The default name is the directory's: parse once to find DIR, then again over it. */
	ib_config_defaults(c, NULL);
	rc = parse_options(argc, argv, c, &dir);
	if (rc != CLI_OK)
		goto out;
	snprintf(base, sizeof base, "%s", dir);
	ib_config_defaults(c, basename(base));
	snprintf(c->listen, sizeof c->listen, "%s", DEFAULT_LISTEN);
	rc = parse_options(argc, argv, c, &dir);
	if (rc != CLI_OK)
		goto out;
	if (ib_identity_generate(&id) != IB_OK) {
		rc = cli_fail("init", "key generation", IB_ERR_CRYPTO, NULL);
		goto out;
	}
	rc = write_node_dir(dir, c, id);
	if (rc != CLI_OK)
		goto out;
	ib_id_to_hex(ib_identity_id(id), hex);
	printf("created %s\n  name    %s\n  id_bot  %s\n  listen  %s\n"
	       "Give %s/identity.pub to the owners of the bots it links with; put theirs in "
	       "%s/authorized/.\n",
	       dir, c->name, hex, c->listen, dir, dir);
out:
	ib_identity_free(id);
	free(c);
	return rc;
}
