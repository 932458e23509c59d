/*
 * fuzz_store.c - the store's item files (store.c), on arbitrary bytes.
 *
 * Targets: ib_store_item_check (the check of [DATA-6] on one file's bytes: decode_publish,
 * ib_transfer_check, the file name of the key), and ib_store_open on a directory holding that
 * one file (read_item_file, the check, the load).
 * Input: byte 0 is flags, the rest the file.
 *   bit 0  the rest is a message: it is signed as alice (RFC 8032 TEST 1) and the frame is the
 *          file, so that mutations reach the checks after the signature; else the rest is the
 *          file as it is (a valid signature only where a seed had one);
 *   bit 1  the file is named wrong for its key ("0" before the right name).
 * The right name is computed here from the format that store.c documents (hex of the key up
 * to 64 bytes, "sha256-" and the hex of its SHA-256 above, then ".item"), not by store.c.
 * Properties checked (abort on failure): the check reads the file through an exactly-sized
 * copy, so ASan sees any read past its length; it accepts exactly the files that pass
 * ib_transfer_check under the right name, and says why it refuses; ib_store_open on a
 * directory of that one file loads it exactly when the check accepts it (else counts it
 * rejected), as an item whose frame is the file byte for byte, whose key (1..255 bytes) and
 * value lie inside the frame's message and are its PUBLISH's, and whose writer is the frame's
 * origin, in the keyring.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "interbot.h"
#include "store.h"

#define FLAG_SIGN 0x01u
#define FLAG_MISNAME 0x02u
#define NAME_CAP 134u           /* the hex of 64 bytes, ".item" and a NUL */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_store: %s\n", what);
	abort();
}

/* RFC 8032 section 7.1 TEST 1, 2, 3 (alice, bob, carol): the keyring holds all three. */
static const char *const secret_hex[] = {
	"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
};
static struct ib_keyring *kr;
static struct ib_identity *alice;

static void make_keys(void)
{
	if (ib_keyring_new(&kr))
		fail("keyring");
	for (size_t i = 0; i < 3; i++) {
		uint8_t secret[IB_SECRET_LEN];
		struct ib_identity *id;
		struct ib_pubkey *k;
		size_t n;

		if (ib_hex_decode(secret_hex[i], 2 * sizeof secret, secret, sizeof secret, &n) ||
		    ib_identity_from_secret(&id, secret) ||
		    ib_pubkey_from_raw(&k, ib_pubkey_raw(ib_identity_pubkey(id))) ||
		    ib_keyring_add(kr, k))
			fail("a test key");
		if (i == 0)
			alice = id;
		else
			ib_identity_free(id);
	}
}

static char scratch_dir[96], scratch_file[96 + NAME_CAP + 2];

static void remove_scratch(void)
{
	if (scratch_file[0])
		unlink(scratch_file);
	rmdir(scratch_dir);
}

/* A store directory of this process, made once, removed at exit. */
static const char *store_dir(void)
{
	if (!scratch_dir[0]) {
		const char *tmp = getenv("TMPDIR");

		snprintf(scratch_dir, sizeof scratch_dir, "%s/ib-fuzz-store-%ld",
			 tmp && *tmp ? tmp : "/tmp", (long)getpid());
		if (mkdir(scratch_dir, 0700) != 0 && errno != EEXIST)
			fail("cannot make the scratch directory");
		atexit(remove_scratch);
	}
	return scratch_dir;
}

/* The name store.c's header comment gives the file of key. */
static void documented_name(struct ib_slice key, char out[NAME_CAP])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (key.len <= 64) {
		ib_hex_encode(key.ptr, key.len, out);
		strcpy(out + 2 * key.len, ".item");
		return;
	}
	if (EVP_Digest(key.ptr, key.len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32)
		fail("SHA-256");
	strcpy(out, "sha256-");
	ib_hex_encode(md, 32, out + 7);
	strcpy(out + 7 + 64, ".item");
}

/* The PUBLISH the file holds, if it decodes as one at all (signature not checked). */
static bool publish_of(const uint8_t *p, size_t n, struct ib_frame *f, struct ib_msg *m)
{
	return ib_frame_parse(f, p, n, IB_MAX_MESSAGE_LIMIT) == IB_OK &&
	       ib_msg_decode(m, f->msg.ptr, f->msg.len) == IB_OK && m->h.type == IB_MSG_PUBLISH;
}

static bool inside(struct ib_slice s, struct ib_slice whole)
{
	return s.ptr >= whole.ptr && s.len <= whole.len &&
	       (size_t)(s.ptr - whole.ptr) <= whole.len - s.len;
}

static bool same_bytes(struct ib_slice a, struct ib_slice b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* The item a store loaded from the file p[0..n), whose frame f and PUBLISH m were decoded
 * from it here. */
static void check_item(const struct ib_item *item, const uint8_t *p, size_t n,
		       const struct ib_frame *f, const struct ib_msg *m)
{
	struct ib_slice msg;

	if (!same_bytes(item->frame, (struct ib_slice){ p, n }))
		fail("the item's frame is not the file, byte for byte");
	/* The message of the store's copy: where f found it in the file. */
	msg = (struct ib_slice){ item->frame.ptr + (f->msg.ptr - p), f->msg.len };
	if (!inside(item->key, msg) || !inside(item->value, msg))
		fail("the key or the value lies outside the file's message");
	if (item->key.len < 1 || item->key.len > IB_MAX_STRING)
		fail("a key of 0 or more than 255 bytes");
	if (!same_bytes(item->key, m->u.publish.key) || !same_bytes(item->value,
								    m->u.publish.value) ||
	    item->version != m->u.publish.version || item->seq != m->h.seq)
		fail("the item is not the file's PUBLISH");
	if (!ib_id_equal(&item->writer, &f->origin) || !ib_keyring_find(kr, &item->writer))
		fail("the writer is not the frame's origin in the keyring");
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	if (!fp || (n && fwrite(p, 1, n, fp) != n) || fclose(fp) != 0)
		fail("cannot write the item file");
}

/* What ib_store_open makes of the directory holding the file p[0..n) under name. */
static void check_open(const uint8_t *p, size_t n, const char *name, bool accepted,
		       const struct ib_frame *f, const struct ib_msg *m)
{
	struct ib_store *s = NULL;
	struct ib_item item;
	size_t rejected = 0;
	struct ib_diag diag;

	snprintf(scratch_file, sizeof scratch_file, "%s/%s", store_dir(), name);
	write_file(scratch_file, p, n);
	if (ib_store_open(&s, store_dir(), kr, &rejected, &diag) != IB_OK)
		fail("ib_store_open failed on a directory of one file");
	if (accepted) {
		if (rejected != 0 || ib_store_count(s) != 1 || ib_store_at(s, 0, &item) != IB_OK)
			fail("ib_store_open does not load a file the check accepts");
		check_item(&item, p, n, f, m);
	} else if (rejected != 1 || ib_store_count(s) != 0) {
		fail("ib_store_open loads a file the check refuses, or does not count it");
	}
	ib_store_free(s);
	unlink(scratch_file);
	scratch_file[0] = '\0';
}

static void run(const uint8_t *p, size_t n, bool misname)
{
	char right[NAME_CAP], name[NAME_CAP + 1], why[192] = "";
	struct ib_frame f;
	struct ib_msg m, checked;
	/* A name for what is no PUBLISH: the check refuses it before looking at the name. */
	struct ib_slice key = { (const uint8_t *)"k", 1 };
	bool decodes = publish_of(p, n, &f, &m);
	bool want_ok;
	int err;

	if (decodes)
		key = m.u.publish.key;
	documented_name(key, right);
	snprintf(name, sizeof name, "%s%s", misname ? "0" : "", right);
	want_ok = decodes && !misname &&
		  ib_transfer_check((struct ib_slice){ p, n }, kr, key, &checked) == IB_OK;
	err = ib_store_item_check(p, n, name, kr, why, sizeof why);
	if ((err == IB_OK) != want_ok)
		fail(want_ok ? "a valid file under its key's name is refused"
			     : "a file that fails the check of [DATA-6] or its name is accepted");
	if (err && (!why[0] || !memchr(why, '\0', sizeof why)))
		fail("a refusal without a reason");
	check_open(p, n, name, err == IB_OK, &f, &m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ib_buf signed_frame = { 0 };
	uint8_t flags, *copy = NULL;

	if (size < 1)
		return 0;
	if (!kr)
		make_keys();
	flags = data[0];
	data++;
	size--;
	if (flags & FLAG_SIGN) {
		if (ib_frame_sign(&signed_frame, alice, data, size) != IB_OK)
			goto out; /* a message too long for a frame */
		data = signed_frame.ptr;
		size = signed_frame.len;
	}
	copy = malloc(size ? size : 1);
	if (!copy)
		fail("out of memory");
	if (size)
		memcpy(copy, data, size);
	run(copy, size, flags & FLAG_MISNAME);
out:
	free(copy);
	ib_buf_free(&signed_frame);
	return 0;
}
