/*
 * keyring.c - the set of authorized keys (spec section 12), kept sorted by id_bot so that the
 * per-frame lookup is a binary search.
 */
#include "interbot.h"

#include "fault.h"
#include "file.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

struct ib_keyring {
	struct ib_pubkey **keys; /* sorted by id_bot, ascending, no two with one id */
	size_t count;
	size_t cap;
	unsigned refs;           /* owners; a shared keyring is not changed any more */
};

int ib_keyring_new(struct ib_keyring **out)
{
	if (!out)
		return IB_ERR_INVALID_ARG;
	*out = calloc(1, sizeof **out);
	if (!*out)
		return IB_ERR_NOMEM;
	(*out)->refs = 1;
	return IB_OK;
}

/* Index of the first key whose id is not below id (count if none). */
static size_t lower_bound(const struct ib_keyring *kr, const ib_id *id)
{
	size_t lo = 0, hi = kr->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ib_id_compare(ib_pubkey_id(kr->keys[mid]), id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int grow(struct ib_keyring *kr)
{
	size_t cap = kr->cap ? kr->cap * 2 : 16;
	struct ib_pubkey **keys;

	if (kr->count < kr->cap)
		return IB_OK;
	if (cap > SIZE_MAX / sizeof *keys)
		return IB_ERR_NOMEM;
	keys = realloc(kr->keys, cap * sizeof *keys);
	if (!keys)
		return IB_ERR_NOMEM;
	kr->keys = keys;
	kr->cap = cap;
	return IB_OK;
}

#ifdef IB_FAULTS
static bool fault_weak_keys;

void ib_keyring_fault_weak_keys(bool allowed)
{
	fault_weak_keys = allowed;
}
#endif

/* [FRAME-10] A key of small order, or not canonical, is no member's. FAULT accept-weak-keys
 * (set around a node's reload): it is authorized. */
static bool refused_key(const struct ib_pubkey *key)
{
#ifdef IB_FAULTS
	if (fault_weak_keys)
		return false;
#endif
	return ib_ed25519_weak_point(ib_pubkey_raw(key));
}

int ib_keyring_add(struct ib_keyring *kr, struct ib_pubkey *key)
{
	size_t i;
	int err;

	if (!kr || !key) {
		err = IB_ERR_INVALID_ARG;
		goto out;
	}
	if (refused_key(key)) {
		err = IB_ERR_WEAK_KEY;
		goto out;
	}
	i = lower_bound(kr, ib_pubkey_id(key));
	if (i < kr->count && ib_id_equal(ib_pubkey_id(kr->keys[i]), ib_pubkey_id(key))) {
		/* [ID-4] One name, two keys: a configuration error. The same key twice is one. */
		err = memcmp(ib_pubkey_raw(kr->keys[i]), ib_pubkey_raw(key), IB_PUBKEY_LEN) == 0
		          ? IB_OK
		          : IB_ERR_DUPLICATE_ID;
		goto out;
	}
	err = grow(kr);
	if (err)
		goto out;
	memmove(&kr->keys[i + 1], &kr->keys[i], (kr->count - i) * sizeof *kr->keys);
	kr->keys[i] = key;
	kr->count++;
	key = NULL;
out:
	ib_pubkey_free(key);
	return err;
}

/* [MEMBER-1] The owner's key is always in the keyring; added first, so that a file that
 * clashes with it is the one named in the diagnostic. */
static int add_own(struct ib_keyring *kr, const struct ib_pubkey *own, struct ib_diag *diag)
{
	struct ib_pubkey *copy;
	int err;

	if (!own)
		return IB_OK;
	err = ib_pubkey_from_raw(&copy, ib_pubkey_raw(own));
	if (!err)
		err = ib_keyring_add(kr, copy);
	if (err)
		ib_diag_set(diag, "", 0, "own key: %s", ib_strerror(err));
	return err;
}

/* [IFACE-14] NAME.pub, in lower case, not hidden: what the shell lists as authorized/ *.pub. */
static bool is_pub_name(const char *name)
{
	size_t n = strlen(name);

	/* FAULT pub-dot-files-read, breaks [IFACE-14]: .alice.pub and ._alice.pub are read. */
	if (name[0] == '.' && !IB_FAULT_ENV(pub_dot_files_read))
		return false;
	/* FAULT pub-names-any-case, breaks [IFACE-14]: alice.PUB is a key file too. */
	if (IB_FAULT_ENV(pub_names_any_case))
		return n > 4 && strcasecmp(name + n - 4, ".pub") == 0;
	return n > 4 && strcmp(name + n - 4, ".pub") == 0;
}

/* The fault pub-links-skipped: whether path is a symbolic link, which [IFACE-14] follows. */
static bool is_link(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

/* [ID-7] The file of the own key takes the own key's place (the same key, with the file's
 * label), so that a second file of it is [ID-4]'s case: two files, one id_bot. */
static void take_own_file(struct ib_keyring *kr, struct ib_pubkey *key)
{
	size_t i = lower_bound(kr, ib_pubkey_id(key));

	ib_pubkey_free(kr->keys[i]);
	kr->keys[i] = key;
}

static int load_one(struct ib_keyring *kr, const char *dir, const char *name, struct ib_diag *diag)
{
	size_t dl = strlen(dir), nl = strlen(name);
	struct ib_pubkey *key = NULL;
	const struct ib_pubkey *other;
	char *path = malloc(dl + nl + 2);
	char hex[2 * IB_ID_LEN + 1];
	int err = IB_OK;

	if (!path)
		return IB_ERR_NOMEM;
	memcpy(path, dir, dl);
	path[dl] = '/';
	memcpy(path + dl + 1, name, nl + 1);
	/* FAULT pub-links-skipped, breaks [IFACE-14]: a symbolic link is not read. */
	if (IB_FAULT_ENV(pub_links_skipped) && is_link(path))
		goto out;
	/* [IFACE-15] a file that is not one Ed25519 key refuses the whole keyring. */
	err = ib_pubkey_load(&key, path, diag);
	/* FAULT pub-bad-file-skipped, breaks [IFACE-15]: a malformed key file is left out. */
	if (err && err != IB_ERR_NOMEM && IB_FAULT_ENV(pub_bad_file_skipped))
		err = IB_OK;
	if (err || !key)
		goto out;
	if (refused_key(key)) {
		/* [FRAME-10] a malformed key file, as [MEMBER-3] says. */
		ib_diag_set(diag, path, 0, "the key is of small order or not canonical: it "
		            "authenticates nothing [FRAME-10]");
		ib_pubkey_free(key);
		err = IB_ERR_WEAK_KEY;
		goto out;
	}
	other = ib_keyring_find(kr, ib_pubkey_id(key));
	/* [ID-7] a file of the own key is allowed, and the key counts once. FAULT
	 * own-key-file-refused, breaks [ID-7]: it is taken for a second file of that key. */
	if (other && !*ib_pubkey_label(other) && IB_FAULT_ENV(own_key_file_refused) &&
	    !memcmp(ib_pubkey_raw(other), ib_pubkey_raw(key), IB_PUBKEY_LEN)) {
		ib_diag_set(diag, path, 0, "id_bot is also the node's own [ID-4]");
		ib_pubkey_free(key);
		err = IB_ERR_DUPLICATE_ID;
		goto out;
	}
	if (other && !*ib_pubkey_label(other) &&
	    !memcmp(ib_pubkey_raw(other), ib_pubkey_raw(key), IB_PUBKEY_LEN)) {
		take_own_file(kr, key);
		goto out;
	}
	if (other && *ib_pubkey_label(other)) {
		/* [ID-4] Two files, one name: even with the same key, one of them is a mistake
		 * the owner should see (removing one file would not revoke the bot). The own
		 * key (no label) may also be in authorized/. */
		ib_id_to_hex(ib_pubkey_id(other), hex);
		ib_diag_set(diag, path, 0, "id_bot %s is also authorized by %s [ID-4]", hex,
		            ib_pubkey_label(other));
		ib_pubkey_free(key);
		err = IB_ERR_DUPLICATE_ID;
		goto out;
	}
	/* [ID-4][ID-7] another key with the own id_bot: refused, naming this file. */
	err = ib_keyring_add(kr, key);
	if (err == IB_ERR_DUPLICATE_ID) {
		ib_id_to_hex(ib_pubkey_id(other), hex);
		ib_diag_set(diag, path, 0,
		            "id_bot %s is also the id of a different key (%s) [ID-4]", hex,
		            *ib_pubkey_label(other) ? ib_pubkey_label(other) : "own key");
	} else if (err)
		ib_diag_set(diag, path, 0, "%s", ib_strerror(err));
out:
	free(path);
	return err;
}

/*
 * [MEMBER-1] authorized/ *.pub plus own key. [MEMBER-3] Everything is built aside and *out is
 * set only when every file loaded, so a failed reload leaves the caller's keyring in force.
 */
int ib_keyring_load_dir(struct ib_keyring **out, const char *dir, const struct ib_pubkey *own,
                        struct ib_diag *diag)
{
	struct ib_keyring *kr = NULL;
	struct ib_names ns = {0};
	int err;

	if (!out || !dir)
		return IB_ERR_INVALID_ARG;
	err = ib_keyring_new(&kr);
	if (err)
		goto out;
	err = add_own(kr, own, diag);
	if (err)
		goto out;
	err = ib_dir_names(dir, is_pub_name, &ns, diag);
	for (size_t i = 0; !err && i < ns.n; i++)
		err = load_one(kr, dir, ns.v[i], diag);
	if (err)
		goto out;
	*out = kr;
	kr = NULL;
out:
	ib_names_free(&ns);
	ib_keyring_free(kr);
	return err;
}

const struct ib_pubkey *ib_keyring_find(const struct ib_keyring *kr, const ib_id *id)
{
	size_t i;

	if (!kr || !id)
		return NULL;
	i = lower_bound(kr, id);
	if (i < kr->count && ib_id_equal(ib_pubkey_id(kr->keys[i]), id))
		return kr->keys[i];
	return NULL;
}

/* [ID-3][TLS-4] The id_bot only finds the candidate; the whole SPKI must be equal. */
const struct ib_pubkey *ib_keyring_match_spki(const struct ib_keyring *kr, const uint8_t *der,
                                              size_t len)
{
	const struct ib_pubkey *k;
	ib_id id;

	if (!kr || !der || len != IB_SPKI_LEN)
		return NULL;
	ib_id_from_spki(&id, der);
	k = ib_keyring_find(kr, &id);
	if (!k || CRYPTO_memcmp(ib_pubkey_spki(k), der, IB_SPKI_LEN) != 0)
		return NULL;
	return k;
}

size_t ib_keyring_count(const struct ib_keyring *kr)
{
	return kr ? kr->count : 0;
}

/* Keys in ascending id_bot order. */
const struct ib_pubkey *ib_keyring_at(const struct ib_keyring *kr, size_t i)
{
	return kr && i < kr->count ? kr->keys[i] : NULL;
}

static int cmp_raw(const void *a, const void *b)
{
	return memcmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b, IB_PUBKEY_LEN);
}

/* Spec section 15, keys_digest: SHA-256 of the raw keys in ascending byte order. */
int ib_keyring_digest(const struct ib_keyring *kr, uint8_t out[32])
{
	const uint8_t **raw = NULL;
	EVP_MD_CTX *ctx = NULL;
	unsigned int len = 0;
	int err = IB_ERR_CRYPTO;

	if (!kr || !out)
		return IB_ERR_INVALID_ARG;
	if (kr->count) {
		raw = malloc(kr->count * sizeof *raw);
		if (!raw)
			return IB_ERR_NOMEM;
	}
	for (size_t i = 0; i < kr->count; i++)
		raw[i] = ib_pubkey_raw(kr->keys[i]);
	if (kr->count > 1)
		qsort(raw, kr->count, sizeof *raw, cmp_raw);
	ctx = EVP_MD_CTX_new();
	if (!ctx) {
		err = IB_ERR_NOMEM;
		goto out;
	}
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	for (size_t i = 0; i < kr->count; i++)
		if (EVP_DigestUpdate(ctx, raw[i], IB_PUBKEY_LEN) != 1)
			goto out;
	if (EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != 32)
		goto out;
	err = IB_OK;
out:
	if (err)
		ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	free(raw);
	return err;
}

struct ib_keyring *ib_keyring_ref(struct ib_keyring *kr)
{
	kr->refs++;
	return kr;
}

void ib_keyring_free(struct ib_keyring *kr)
{
	if (!kr || --kr->refs > 0)
		return;
	for (size_t i = 0; i < kr->count; i++)
		ib_pubkey_free(kr->keys[i]);
	free(kr->keys);
	free(kr);
}
