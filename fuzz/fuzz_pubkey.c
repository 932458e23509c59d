/*
 * fuzz_pubkey.c - the key loaders behind the keyring, on arbitrary files.
 *
 * Targets: ib_pubkey_load (PEM, as read from authorized/NAME.pub), ib_pubkey_from_spki (DER,
 * as found in a peer's certificate), ib_keyring_match_spki.
 * Property checked: a key that loads has a 44-byte SPKI whose id_bot is the key's, and the
 * SPKI loads back to the same key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "interbot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *scratch_path(void)
{
	static char path[64];

	if (!path[0])
		snprintf(path, sizeof path, "/tmp/ib-fuzz-pubkey-%ld.pub", (long)getpid());
	return path;
}

static void check_key(const struct ib_pubkey *k)
{
	struct ib_pubkey *again = NULL;
	ib_id id;

	ib_id_from_spki(&id, ib_pubkey_spki(k));
	if (!ib_id_equal(&id, ib_pubkey_id(k)))
		abort();
	if (ib_pubkey_from_spki(&again, ib_pubkey_spki(k), IB_SPKI_LEN) != IB_OK ||
	    memcmp(ib_pubkey_raw(again), ib_pubkey_raw(k), IB_PUBKEY_LEN) != 0)
		abort();
	ib_pubkey_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ib_pubkey *k = NULL;
	struct ib_diag diag;
	FILE *f;

	if (ib_pubkey_from_spki(&k, data, size) == IB_OK) {
		check_key(k);
		ib_pubkey_free(k);
		k = NULL;
	}
	f = fopen(scratch_path(), "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	if (ib_pubkey_load(&k, scratch_path(), &diag) == IB_OK) {
		check_key(k);
		ib_pubkey_free(k);
	}
	unlink(scratch_path());
	return 0;
}
