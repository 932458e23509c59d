/* world.c - the keys, loop and clock of one run of the suite. */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include "suite.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 2026-01-01T00:00:00Z: the virtual wall clock of self mode, as in the unit tests. */
#define CF_START_UNIX_US 1767225600000000ull

void cf_derive(uint64_t seed, const char *label, int index, uint8_t out[32])
{
	char text[128];
	unsigned len = 32;

	/* SHA-256 of a text: the same secrets on every machine for one seed, so that keys
	 * exported once stay valid for later runs with that seed. */
	snprintf(text, sizeof text, "interbot-conform/v1 seed=%llu %s %d",
		 (unsigned long long)seed, label, index);
	EVP_Digest(text, strlen(text), out, &len, EVP_sha256(), NULL);
}

static int seeded_identity(uint64_t seed, const char *label, int index,
			   struct ib_identity **out)
{
	uint8_t secret[32];

	cf_derive(seed, label, index, secret);
	return ib_identity_from_secret(out, secret);
}

int cf_world_init(struct cf_world *w, const struct cf_options *opt)
{
	const char *tmp = getenv("TMPDIR");
	int err = IB_OK;

	memset(w, 0, sizeof *w);
	w->opt = opt;
	if (opt->mode == CF_MODE_SELF) {
		ib_vclock_init(&w->vclock, CF_START_UNIX_US);
		w->clock = ib_vclock_clock(&w->vclock);
	} else {
		w->clock = *ib_clock_system();
	}
	err = ib_loop_new(&w->loop, &w->clock);
	for (int i = 0; !err && i < CF_TESTERS; i++)
		err = seeded_identity(opt->seed, "tester", i, &w->testers[i]);
	for (int i = 0; !err && i < CF_REFS; i++)
		err = seeded_identity(opt->seed, "reference", i, &w->refs[i]);
	if (!err)
		err = seeded_identity(opt->seed, "stranger", 0, &w->stranger);
	if (!err && opt->mode != CF_MODE_ADDR)
		err = seeded_identity(opt->seed, "iut", 0, &w->iut_identity);
	if (!err && opt->mode != CF_MODE_ADDR)
		err = ib_pubkey_from_raw(&w->iut_key,
					 ib_pubkey_raw(ib_identity_pubkey(w->iut_identity)));
	if (!err && opt->mode == CF_MODE_ADDR) {
		struct ib_diag diag = { 0 };

		err = ib_pubkey_load(&w->iut_key, opt->iut_key, &diag);
		if (err)
			fprintf(stderr, "interbot-conform: %s: %s\n", opt->iut_key, diag.reason);
	}
	if (!err && opt->member_keys) {
		struct ib_diag diag = { 0 };

		err = ib_keyring_load_dir(&w->members, opt->member_keys, NULL, &diag);
		if (err)
			fprintf(stderr, "interbot-conform: --member-keys %s: %s\n", opt->member_keys,
				diag.reason);
	}
	if (err)
		goto out;
	if (opt->workdir)
		snprintf(w->workdir, sizeof w->workdir, "%s", opt->workdir);
	else
		snprintf(w->workdir, sizeof w->workdir, "%s/interbot-conform-XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
	if (opt->workdir ? mkdir(w->workdir, 0700) != 0 && access(w->workdir, W_OK) != 0
			 : !mkdtemp(w->workdir)) {
		fprintf(stderr, "interbot-conform: cannot create %s\n", w->workdir);
		err = IB_ERR_IO;
	}
out:
	if (err)
		cf_world_free(w);
	return err;
}

void cf_world_free(struct cf_world *w)
{
	for (int i = 0; i < CF_TESTERS; i++)
		ib_identity_free(w->testers[i]);
	for (int i = 0; i < CF_REFS; i++)
		ib_identity_free(w->refs[i]);
	ib_identity_free(w->stranger);
	ib_identity_free(w->iut_identity);
	ib_pubkey_free(w->iut_key);
	ib_keyring_free(w->members);
	if (w->loop)
		ib_loop_run_once(w->loop, 0);
	ib_loop_free(w->loop);
	memset(w, 0, sizeof *w);
}

int cf_world_export_keys(struct cf_world *w, const char *dir)
{
	char path[1024];
	int err = IB_OK;

	if (mkdir(dir, 0755) != 0 && access(dir, W_OK) != 0)
		return IB_ERR_IO;
	for (int i = 0; !err && i < CF_TESTERS; i++) {
		snprintf(path, sizeof path, "%s/conform-T%d.pub", dir, i);
		err = ib_pubkey_save(ib_identity_pubkey(w->testers[i]), path);
	}
	for (int i = 0; !err && i < CF_REFS; i++) {
		snprintf(path, sizeof path, "%s/conform-R%d.pub", dir, i);
		err = ib_pubkey_save(ib_identity_pubkey(w->refs[i]), path);
	}
	return err;
}
