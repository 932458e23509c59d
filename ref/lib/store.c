/*
 * store.c - the shared data store (spec section 13): the newest item of every key, each kept
 * as the writer's own signed PUBLISH frame ([DATA-4]), in memory in an array sorted by key
 * (binary search), on disk one file per key.
 *
 * On disk (the format is private to the implementation, spec section 19.1): DIR/NAME holds
 * exactly the bytes of the writer's frame, nothing else, so that loading checks it with the
 * same code as a TRANSFER ([DATA-6]). NAME depends on the key bytes only:
 *   - keys of 1 .. 64 bytes: the lowercase hex of the key, then ".item"
 *     ("greeting" -> "6772656574696e67.item"), at most 133 characters;
 *   - keys of 65 .. 255 bytes: "sha256-", the lowercase hex SHA-256 of the key, then ".item"
 *     (76 characters). The hex of a 255-byte key would be 515 characters, over NAME_MAX; the
 *     real key is in the frame, and loading checks that the name is the one of that key.
 * Hex rather than the key itself, because a key is any UTF-8 ("../x", "a/b", "."). The two
 * forms cannot meet: a hex name has only hex digits before ".item", and 's' is none. The limit
 * is 64 rather than 125 (where hex still fits 255) so that names stay below the 143 bytes of
 * eCryptfs and similar file systems, while the usual short keys stay readable in `ls`.
 *
 * Files are written with ib_file_write_atomic ([DATA-5]). The temporary file a crash leaves
 * behind is "NAME.XXXXXX" (NAME ends in ".item", then mkstemp's six characters): it is not an
 * item, and ib_store_open removes it.
 */
#include "interbot.h"

#include "fault.h"
#include "file.h"
#include "store.h"

#include <openssl/evp.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ITEM_SUFFIX ".item"
#define HASH_PREFIX "sha256-"
#define HEX_NAME_MAX_KEY 64u     /* longer keys are named by their SHA-256 */
#define SHA256_LEN 32u
/* The longer of the two forms, and a NUL. */
#define NAME_CAP (2 * HEX_NAME_MAX_KEY + sizeof ITEM_SUFFIX)
#define TMP_SUFFIX_LEN 6u        /* mkstemp's XXXXXX */
/* The largest frame a PUBLISH can be in: header, signature, the largest message. */
#define MAX_FRAME_LEN ((size_t)IB_FRAME_HEADER_LEN + IB_SIG_LEN + IB_MAX_MESSAGE_LIMIT)

struct entry {
	struct ib_item item;     /* every slice points into frame */
	uint8_t *frame;          /* owned: the writer's frame, byte for byte ([DATA-4]) */
};

/* [DATA-17] What one writer holds: an entry for every writer of a held item, and for the one
 * of an item about to be committed. Writers are members, so the table stays small. */
struct writer_use {
	ib_id writer;
	size_t items;
	size_t bytes;
};

/* [DATA-19] An item applied in the open batch: in force in memory, its file written beside
 * its place but neither flushed nor renamed yet. old is the entry it replaced (NULL: a new
 * key), owned here until the batch is durable, and put back if it cannot be made so. */
struct pending {
	struct entry *applied;
	struct entry *old;
	char *tmp;
	char *path;
};

struct ib_store {
	struct entry **v;        /* sorted by key, bytewise; at most one entry per key */
	size_t count;
	size_t cap;
	char *dir;               /* NULL: in memory only */
	size_t bytes;            /* frames held, for max.bytes */
	struct writer_use *writers;
	size_t nwriters, writers_cap;
	ib_id own;               /* [DATA-16] the node's id; all zero until set */
	struct ib_store_bounds max; /* [DATA-13][DATA-17] */
	char refused[96];        /* the bound behind the last IB_ERR_FULL, in words */
	struct ib_names rejects; /* "path: reason" of the files not loaded, the first ones */
	struct pending *batch;   /* [DATA-19] at most one per key, IB_STORE_BATCH_MAX at most */
	size_t nbatch;
	uint64_t flushes;        /* asked of the disk since ib_store_take_flushes */
#ifdef IB_FAULTS
	enum ib_fault fault;     /* fault.h: the node's, set by ib_store_set_fault */
#endif
};

/* ---- Ordering ---------------------------------------------------------------------------- */

/* [DATA-1] version as an integer, then writer as 16 unsigned bytes, then the PUBLISH seq. */
int ib_item_compare(uint64_t version_a, const ib_id *writer_a, uint64_t seq_a,
		    uint64_t version_b, const ib_id *writer_b, uint64_t seq_b)
{
	int c;

	if (version_a != version_b)
		return version_a < version_b ? -1 : 1;
	c = ib_id_compare(writer_a, writer_b);
	if (c != 0)
		return c < 0 ? -1 : 1;
	if (seq_a != seq_b)
		return seq_a < seq_b ? -1 : 1;
	return 0;
}

static int item_compare(const struct ib_item *a, const struct ib_item *b)
{
	return ib_item_compare(a->version, &a->writer, a->seq, b->version, &b->writer, b->seq);
}

/* Bytewise, a shorter key before the longer one it starts. */
static int key_compare(struct ib_slice a, struct ib_slice b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int c = n ? memcmp(a.ptr, b.ptr, n) : 0;

	if (c != 0)
		return c;
	return (a.len > b.len) - (a.len < b.len);
}

#ifdef IB_FAULTS
static int ascii_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* key_compare with ASCII letters folded to lower case. */
static int key_compare_folded(struct ib_slice a, struct ib_slice b)
{
	size_t n = a.len < b.len ? a.len : b.len;

	for (size_t i = 0; i < n; i++)
		if (ascii_lower(a.ptr[i]) != ascii_lower(b.ptr[i]))
			return ascii_lower(a.ptr[i]) - ascii_lower(b.ptr[i]);
	return (a.len > b.len) - (a.len < b.len);
}

void ib_store_set_fault(struct ib_store *s, enum ib_fault f)
{
	s->fault = f;
}
#endif

/* [DATA-12] One key is one exact byte string: no folding, no normalisation, no prefix. FAULT
 * keys-case-folded, breaks [DATA-12]: the store holds one item for Key and key. */
static int store_key_compare(const struct ib_store *s, struct ib_slice a, struct ib_slice b)
{
#ifdef IB_FAULTS
	if (IB_FAULT(s, keys_case_folded))
		return key_compare_folded(a, b);
#endif
	(void)s;
	return key_compare(a, b);
}

/* Index of the first entry whose key is not below key (count if none). */
static size_t lower_bound(const struct ib_store *s, struct ib_slice key)
{
	size_t lo = 0, hi = s->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (store_key_compare(s, s->v[mid]->item.key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* True if key is held; *at is its index, or where it would go. */
static bool find(const struct ib_store *s, struct ib_slice key, size_t *at)
{
	*at = lower_bound(s, key);
	return *at < s->count && store_key_compare(s, s->v[*at]->item.key, key) == 0;
}

/* ---- Entries ----------------------------------------------------------------------------- */

static void entry_free(struct entry *e)
{
	if (!e)
		return;
	free(e->frame);
	free(e);
}

/* One whole frame holding a PUBLISH, decoded; signature not checked. */
static int decode_publish(const uint8_t *p, size_t len, struct ib_frame *f, struct ib_msg *m)
{
	int err = ib_frame_parse(f, p, len, IB_MAX_MESSAGE_LIMIT);

	if (err)
		return err;
	err = ib_msg_decode(m, f->msg.ptr, f->msg.len);
	if (err)
		return err;
	return m->h.type == IB_MSG_PUBLISH ? IB_OK : IB_ERR_NOT_PUBLISH;
}

/* An entry owning frame[0..len) (taken in every case: freed on failure), its item's slices
 * pointing into it. The errors of decode_publish, or IB_ERR_NOMEM. */
static int entry_take(struct entry **out, uint8_t *frame, size_t len)
{
	struct entry *e = NULL;
	struct ib_frame f;
	struct ib_msg m;
	int err;

	err = decode_publish(frame, len, &f, &m);
	if (err)
		goto out;
	e = calloc(1, sizeof *e);
	if (!e) {
		err = IB_ERR_NOMEM;
		goto out;
	}
	e->frame = frame;
	frame = NULL;
	e->item = (struct ib_item){ .key = m.u.publish.key,
				    .version = m.u.publish.version,
				    .writer = f.origin,
				    .seq = m.h.seq,
				    .value = m.u.publish.value,
				    .frame = { e->frame, len } };
	*out = e;
out:
	free(frame);
	return err;
}

/* An entry holding a copy of frame. */
static int entry_copy(struct entry **out, struct ib_slice frame)
{
	uint8_t *copy = malloc(frame.len);

	if (!copy)
		return IB_ERR_NOMEM;
	memcpy(copy, frame.ptr, frame.len);
	return entry_take(out, copy, frame.len);
}

/* Room for one more entry, so that the commit after a successful write cannot fail. */
static int reserve_one(struct ib_store *s)
{
	size_t cap = s->cap ? s->cap * 2 : 16;
	struct entry **v;

	if (s->count < s->cap)
		return IB_OK;
	if (cap > SIZE_MAX / sizeof *v)
		return IB_ERR_NOMEM;
	v = realloc(s->v, cap * sizeof *v);
	if (!v)
		return IB_ERR_NOMEM;
	s->v = v;
	s->cap = cap;
	return IB_OK;
}

/* ---- [DATA-17] [DATA-16] What each writer holds ----------------------------------------- */

static struct writer_use *writer_find(const struct ib_store *s, const ib_id *writer)
{
	for (size_t i = 0; i < s->nwriters; i++)
		if (ib_id_equal(&s->writers[i].writer, writer))
			return &s->writers[i];
	return NULL;
}

/* The entry of writer, added (empty) when it has none: commit then cannot fail. */
static int writer_reserve(struct ib_store *s, const ib_id *writer)
{
	size_t cap = s->writers_cap ? 2 * s->writers_cap : 8;
	struct writer_use *grown;

	if (writer_find(s, writer))
		return IB_OK;
	if (s->nwriters == s->writers_cap) {
		if (cap > SIZE_MAX / sizeof *grown)
			return IB_ERR_NOMEM;
		grown = realloc(s->writers, cap * sizeof *grown);
		if (!grown)
			return IB_ERR_NOMEM;
		s->writers = grown;
		s->writers_cap = cap;
	}
	s->writers[s->nwriters++] = (struct writer_use){ *writer, 0, 0 };
	return IB_OK;
}

/* An item of item's writer comes (sign 1) or goes (-1). Its entry exists: reserved before a
 * commit, kept while it holds items. */
static void writer_count(struct ib_store *s, const struct ib_item *item, int sign)
{
	struct writer_use *u = writer_find(s, &item->writer);

	if (sign > 0) {
		u->items++;
		u->bytes += item->frame.len;
	} else {
		u->items--;
		u->bytes -= item->frame.len;
	}
}

static bool is_own(const struct ib_store *s, const ib_id *writer)
{
	return !ib_id_is_zero(&s->own) && ib_id_equal(&s->own, writer);
}

void ib_store_set_own(struct ib_store *s, const ib_id *own)
{
	s->own = *own;
}

void ib_store_set_bounds(struct ib_store *s, const struct ib_store_bounds *max)
{
	s->max = *max;
}

/* Says which bound an item would pass, for ib_store_refused: false, to be returned. */
static bool refuse(struct ib_store *s, const char *what, size_t bound)
{
	snprintf(s->refused, sizeof s->refused, "%s %zu)", what, bound);
	return false;
}

/* Whether an item of in's writer, frame_len bytes, replacing held (NULL: a new key), keeps
 * within the bounds: its writer's ([DATA-17]), and, for another writer than the node, the
 * store's, where the node's own items do not count ([DATA-16]). */
static bool within_bounds(struct ib_store *s, const struct ib_item *in, size_t frame_len,
			  const struct ib_item *held)
{
	const struct writer_use *u = writer_find(s, &in->writer);
	const struct writer_use *own = ib_id_is_zero(&s->own) ? NULL : writer_find(s, &s->own);
	bool same = held && ib_id_equal(&held->writer, &in->writer);
	size_t items = (u ? u->items : 0) + (same ? 0 : 1);
	size_t bytes = (u ? u->bytes : 0) - (same ? held->frame.len : 0) + frame_len;
	size_t others_items = s->count - (own ? own->items : 0);
	size_t others_bytes = s->bytes - (own ? own->bytes : 0);

	if (items > s->max.writer_items)
		return refuse(s, "its writer's share of items (max_writer_items",
			      s->max.writer_items);
	if (bytes > s->max.writer_bytes)
		return refuse(s, "its writer's share of bytes (max_writer_mib",
			      s->max.writer_bytes >> 20);
	if (is_own(s, &in->writer))
		return true;
	if (held && !is_own(s, &held->writer)) {
		others_items--;
		others_bytes -= held->frame.len;
	}
	if (others_items + 1 > s->max.items)
		return refuse(s, "the store's bound of items (max_store_items", s->max.items);
	if (others_bytes + frame_len > s->max.bytes)
		return refuse(s, "the store's bound of frames (max_store_mib", s->max.bytes >> 20);
	return true;
}

const char *ib_store_refused(const struct ib_store *s)
{
	return s->refused[0] ? s->refused : "a bound of the store";
}

/* Puts e at index at (replacing the entry of the same key when found), and returns the entry
 * it replaced (NULL: none), which the caller frees or keeps. Cannot fail: the caller reserved
 * the room, and its writer's entry. */
static struct entry *commit(struct ib_store *s, size_t at, bool found, struct entry *e)
{
	struct entry *old = NULL;

	s->bytes += e->item.frame.len;
	writer_count(s, &e->item, 1);
	if (found) {
		old = s->v[at];
		s->bytes -= old->item.frame.len;
		writer_count(s, &old->item, -1);
		s->v[at] = e;
		return old;
	}
	memmove(&s->v[at + 1], &s->v[at], (s->count - at) * sizeof *s->v);
	s->v[at] = e;
	s->count++;
	return NULL;
}

/* Undoes commit: the key's entry is e again old, or gone when old is NULL. e is freed. */
static void uncommit(struct ib_store *s, struct entry *e, struct entry *old)
{
	size_t at;

	if (!find(s, e->item.key, &at) || s->v[at] != e)
		return; /* cannot happen: a batch holds the key's current entry */
	s->bytes -= e->item.frame.len;
	writer_count(s, &e->item, -1);
	if (old) {
		s->bytes += old->item.frame.len;
		writer_count(s, &old->item, 1);
		s->v[at] = old;
	} else {
		memmove(&s->v[at], &s->v[at + 1], (s->count - at - 1) * sizeof *s->v);
		s->count--;
	}
	entry_free(e);
}

/* ---- File names -------------------------------------------------------------------------- */

/* The file name of key (see the top of this file), NUL-terminated. */
static int item_name(struct ib_slice key, char out[NAME_CAP])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (key.len <= HEX_NAME_MAX_KEY) {
		ib_hex_encode(key.ptr, key.len, out);
		memcpy(out + 2 * key.len, ITEM_SUFFIX, sizeof ITEM_SUFFIX);
		return IB_OK;
	}
	if (EVP_Digest(key.ptr, key.len, md, &md_len, EVP_sha256(), NULL) != 1 ||
	    md_len != SHA256_LEN)
		return IB_ERR_CRYPTO;
	memcpy(out, HASH_PREFIX, sizeof HASH_PREFIX - 1);
	ib_hex_encode(md, SHA256_LEN, out + sizeof HASH_PREFIX - 1);
	memcpy(out + sizeof HASH_PREFIX - 1 + 2 * SHA256_LEN, ITEM_SUFFIX, sizeof ITEM_SUFFIX);
	return IB_OK;
}

/* dir "/" name, malloc'd; NULL without memory. */
static char *join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *path = malloc(dl + nl + 2);

	if (!path)
		return NULL;
	memcpy(path, dir, dl);
	path[dl] = '/';
	memcpy(path + dl + 1, name, nl + 1);
	return path;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* "*.item", not hidden (as the shell's glob). */
static bool is_item_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > sizeof ITEM_SUFFIX - 1 && ends_with(name, n, ITEM_SUFFIX);
}

static bool is_ascii_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* "*.item.XXXXXX": what ib_file_write_atomic leaves when the process dies before rename. */
static bool is_crash_leftover(const char *name)
{
	size_t n = strlen(name), base;

	if (n <= TMP_SUFFIX_LEN + 1 || name[n - TMP_SUFFIX_LEN - 1] != '.')
		return false;
	for (size_t i = n - TMP_SUFFIX_LEN; i < n; i++)
		if (!is_ascii_alnum(name[i]))
			return false;
	base = n - TMP_SUFFIX_LEN - 1;
	return name[0] != '.' && base > sizeof ITEM_SUFFIX - 1 && ends_with(name, base, ITEM_SUFFIX);
}

/* The path of item's file, malloc'd; NULL without memory (or for a key without a name,
 * which the wire format excludes). */
static char *item_path(const struct ib_store *s, const struct ib_item *item)
{
	char name[NAME_CAP];

	return item_name(item->key, name) == IB_OK ? join(s->dir, name) : NULL;
}

/* [DATA-5] The item's file, replaced whole or not at all. 0600: the data is not secret (every
 * member sees it), but the files are the owner's. */
static int persist(const struct ib_store *s, const struct ib_item *item)
{
	char *path = item_path(s, item);
	int err;

	if (!path)
		return IB_ERR_NOMEM;
	err = ib_file_write_atomic(path, item->frame.ptr, item->frame.len, 0600);
	free(path);
	return err;
}

/* The flushes ib_file_write_atomic asks for: the file, then its directory. */
#define FLUSHES_PER_WRITE 2u

/* [DATA-19] The batch's file of item, written and not flushed: p->path and p->tmp set, both
 * or neither. */
static int persist_unflushed(const struct ib_store *s, const struct ib_item *item,
			     struct pending *p)
{
	char *path = item_path(s, item), *tmp = NULL;
	int err;

	if (!path)
		return IB_ERR_NOMEM;
	err = ib_file_write_temp(path, item->frame.ptr, item->frame.len, 0600, false, &tmp);
	if (err) {
		free(path);
		return err;
	}
	p->path = path;
	p->tmp = tmp;
	return IB_OK;
}

static void pending_free(struct pending *p)
{
	free(p->tmp);
	free(p->path);
	*p = (struct pending){ 0 };
}

/* The batch's entry of key, or NULL. */
static struct pending *batch_find(struct ib_store *s, struct ib_slice key)
{
	for (size_t i = 0; i < s->nbatch; i++)
		if (key_compare(s->batch[i].applied->item.key, key) == 0)
			return &s->batch[i];
	return NULL;
}

/* ---- Applying ---------------------------------------------------------------------------- */

/* pub must be the decoding of the frame's message: a caller that passes another message (the
 * TRANSFER around the frame, say) would otherwise store something it did not mean to. */
static bool same_publish(const struct ib_msg *m, const struct ib_msg *pub)
{
	const struct ib_publish *a = &m->u.publish, *b = &pub->u.publish;

	return m->h.seq == pub->h.seq && a->version == b->version &&
	       key_compare(a->key, b->key) == 0 && a->value.len == b->value.len;
}

/* ib_store_apply and ib_store_apply_batched: batched, the file is written and the item put
 * in force, and the flush waits for ib_store_batch_commit ([DATA-19]). */
static int apply(struct ib_store *s, struct ib_slice frame, const struct ib_msg *pub, bool batched)
{
	struct entry *e = NULL, *old;
	struct pending p = { 0 }, *earlier;
	struct ib_frame f;
	struct ib_msg m;
	struct ib_item incoming;
	bool found;
	size_t at;
	int err;

	if (!s || !pub || !frame.ptr || pub->h.type != IB_MSG_PUBLISH)
		return IB_ERR_INVALID_ARG;
	if (decode_publish(frame.ptr, frame.len, &f, &m) != IB_OK || !same_publish(&m, pub))
		return IB_ERR_INVALID_ARG;
	/* [DATA-2] Decide on the caller's bytes, before copying up to 16 MiB for nothing. */
	incoming = (struct ib_item){ .key = m.u.publish.key, .version = m.u.publish.version,
				     .writer = f.origin, .seq = m.h.seq };
	found = find(s, incoming.key, &at);
	if (found && item_compare(&incoming, &s->v[at]->item) <= 0)
		return 0;
	/* [DATA-13] a bounded store, [DATA-17] per writer too: an authorized member can fill
	 * neither the disk nor the store. */
	if (!within_bounds(s, &incoming, frame.len, found ? &s->v[at]->item : NULL))
		return IB_ERR_FULL;
	/* A write that must be durable now goes after the batch, which then cannot rename an
	 * older file over it; a full batch is flushed before it grows. */
	if ((!batched || s->nbatch == IB_STORE_BATCH_MAX) && s->nbatch)
		ib_store_batch_commit(s, NULL);
	/* Everything that can fail in memory first, then the disk, then the commit, which
	 * cannot fail: a failed write leaves the old item in force in both ([DATA-5]). */
	err = entry_copy(&e, frame);
	if (!err && !found)
		err = reserve_one(s);
	if (!err)
		err = writer_reserve(s, &incoming.writer);
	if (!err && !batched && s->dir) {
		err = persist(s, &e->item);
		s->flushes += FLUSHES_PER_WRITE;
	}
	if (!err && batched && s->dir && !s->batch &&
	    !(s->batch = calloc(IB_STORE_BATCH_MAX, sizeof *s->batch)))
		err = IB_ERR_NOMEM;
	if (!err && batched && s->dir)
		err = persist_unflushed(s, &e->item, &p);
	if (err)
		goto out;
	old = commit(s, at, found, e);
	if (!batched || !s->dir) {
		entry_free(old);
	} else if ((earlier = batch_find(s, incoming.key)) != NULL) {
		/* Replaced within the batch: the file on disk is still the one before it. */
		unlink(earlier->tmp);
		entry_free(old); /* earlier->applied */
		free(earlier->tmp);
		free(earlier->path);
		*earlier = (struct pending){ e, earlier->old, p.tmp, p.path };
		p = (struct pending){ 0 };
	} else {
		s->batch[s->nbatch++] = (struct pending){ e, old, p.tmp, p.path };
		p = (struct pending){ 0 };
	}
	e = NULL;
	err = 1;
out:
	pending_free(&p);
	entry_free(e);
	return err;
}

int ib_store_apply(struct ib_store *s, struct ib_slice frame, const struct ib_msg *pub)
{
	return apply(s, frame, pub, false);
}

int ib_store_apply_batched(struct ib_store *s, struct ib_slice frame, const struct ib_msg *pub)
{
	return apply(s, frame, pub, true);
}

uint64_t ib_store_take_flushes(struct ib_store *s)
{
	uint64_t n = s ? s->flushes : 0;

	if (s)
		s->flushes = 0;
	return n;
}

size_t ib_store_batch_pending(const struct ib_store *s)
{
	return s ? s->nbatch : 0;
}

/* [DATA-19] One flush for the whole batch, then each file renamed into place, then one flush
 * of the directory. An item whose file cannot be made durable is taken back: its old item is
 * in force again, in memory as on disk ([DATA-5]). */
int ib_store_batch_commit(struct ib_store *s, size_t *taken_back)
{
	char *tmps[IB_STORE_BATCH_MAX];
	size_t back = 0;
	int err, first = IB_OK;

	if (!s)
		return IB_ERR_INVALID_ARG;
	if (!s->nbatch)
		goto out;
	for (size_t i = 0; i < s->nbatch; i++)
		tmps[i] = s->batch[i].tmp;
	err = ib_file_flush_all(s->dir, tmps, s->nbatch);
#ifdef __linux__
	s->flushes += 2; /* syncfs, then the directory */
#else
	s->flushes += s->nbatch + 1;
#endif
	for (size_t i = 0; i < s->nbatch; i++) {
		struct pending *p = &s->batch[i];

		if (!err && rename(p->tmp, p->path) == 0) {
			entry_free(p->old);
		} else {
			if (!first)
				first = IB_ERR_IO;
			unlink(p->tmp);
			uncommit(s, p->applied, p->old);
			back++;
		}
		pending_free(p);
	}
	if (!first)
		first = err;
	s->nbatch = 0;
	if (ib_file_sync_dir(s->dir) != IB_OK && !first)
		first = IB_ERR_IO;
out:
	if (taken_back)
		*taken_back = back;
	return first;
}

/* ---- Removing ---------------------------------------------------------------------------- */

/* The item's file, gone. FAULT revoke-keeps-item-files, breaks [MEMBER-6]: the file stays,
 * and the item comes back at the next start if its writer is authorized again. */
static int unpersist(const struct ib_store *s, const struct ib_item *item)
{
	char name[NAME_CAP];
	char *path;
	int err;

	if (!s->dir || IB_FAULT(s, revoke_keeps_item_files))
		return IB_OK;
	err = item_name(item->key, name);
	if (err)
		return err;
	path = join(s->dir, name);
	if (!path)
		return IB_ERR_NOMEM;
	err = ib_file_remove(path);
	free(path);
	return err;
}

int ib_store_remove_if(struct ib_store *s, bool (*gone)(const struct ib_item *item, void *ctx),
		       void *ctx, size_t *removed)
{
	size_t kept = 0, count = 0;
	int err = IB_OK;

	if (!s || !gone)
		return IB_ERR_INVALID_ARG;
	ib_store_batch_commit(s, NULL); /* a batch names entries: none may go under it */
	for (size_t i = 0; i < s->count; i++) {
		struct entry *e = s->v[i];
		int e_err;

		if (!gone(&e->item, ctx)) {
			s->v[kept++] = e;
			continue;
		}
		/* Out of memory even when its file stays: at the next start the file meets the
		 * check of [DATA-6] again. */
		e_err = unpersist(s, &e->item);
		if (!err)
			err = e_err;
		s->bytes -= e->item.frame.len;
		writer_count(s, &e->item, -1);
		entry_free(e);
		count++;
	}
	s->count = kept;
	if (removed)
		*removed = count;
	return err;
}

/* ---- Loading ----------------------------------------------------------------------------- */

/* A temporary file of a write that never reached its rename: never an item. Removing it is
 * only tidying, so a failure is not an error. */
static void remove_leftover(const char *dir, const char *name)
{
	char *path = join(dir, name);

	if (path)
		(void)unlink(path);
	free(path);
}

/* The "*.item" names of dir, sorted (through ib_dir_names) so that loading, and which
 * rejection diag names, is reproducible; crash leftovers are removed first. */
static int list_item_files(const char *dir, struct ib_names *ns, struct ib_diag *diag)
{
	struct ib_names leftovers = { 0 };
	int err = ib_dir_names(dir, is_crash_leftover, &leftovers, diag);

	for (size_t i = 0; !err && i < leftovers.n; i++)
		remove_leftover(dir, leftovers.v[i]);
	ib_names_free(&leftovers);
	return err ? err : ib_dir_names(dir, is_item_name, ns, diag);
}

/* An item file's bytes, malloc'd, its descriptor closed ([DATA-18]); IB_ERR_IO (*why), NOMEM. */
static int read_item_file(const char *path, uint8_t **out, size_t *len, const char **why)
{
	struct stat st;
	uint8_t *p = NULL;
	size_t n = 0, size;
	int fd, err = IB_ERR_IO;

	/* O_NONBLOCK: a FIFO named like an item must not hang the start. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		*why = strerror(errno);
		return IB_ERR_IO;
	}
	if (fstat(fd, &st) != 0) {
		*why = strerror(errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uintmax_t)st.st_size > MAX_FRAME_LEN) {
		*why = S_ISREG(st.st_mode) ? "larger than any frame" : "not a regular file";
		goto out;
	}
	size = (size_t)st.st_size;
	p = malloc(size ? size : 1);
	if (!p) {
		err = IB_ERR_NOMEM;
		goto out;
	}
	while (n < size) {
		ssize_t got = read(fd, p + n, size - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			/* A file that shrank since fstat is as suspect as a read error. */
			*why = got < 0 ? strerror(errno) : "shorter than its size";
			goto out;
		}
		n += (size_t)got;
	}
	*out = p;
	*len = n;
	p = NULL;
	err = IB_OK;
out:
	free(p);
	close(fd);
	return err;
}

/* [DATA-6] Checks one file's bytes as a TRANSFER's frame is checked (whole frame, writer in
 * kr, signature, PUBLISH schema, key), and that its name is the one of its key: a file copied
 * under another key's name would otherwise hide that key's real item. */
int ib_store_item_check(const uint8_t *frame, size_t len, const char *name,
			const struct ib_keyring *kr, char *why, size_t why_cap)
{
	char want[NAME_CAP];
	struct ib_frame f;
	struct ib_msg m;
	int err;

	/* The key is needed to check the key: decode it first, then check everything. */
	err = decode_publish(frame, len, &f, &m);
	if (!err)
		err = ib_transfer_check((struct ib_slice){ frame, len }, kr, m.u.publish.key, &m);
	if (!err)
		err = item_name(m.u.publish.key, want);
	if (err) {
		snprintf(why, why_cap, "%s: %s", ib_errname(err), ib_strerror(err));
		goto out;
	}
	if (strcmp(name, want) != 0) {
		snprintf(why, why_cap, "the file name is not the one of the key it holds (%s)",
			 want);
		err = IB_ERR_NOT_PUBLISH;
	}
out:
	return err;
}

/* ib_store_item_check, taking frame: on success *e owns it. A rejection fills why;
 * IB_ERR_NOMEM (from entry_take) is not a rejection. */
static int check_item(struct entry **e, uint8_t *frame, size_t len, const char *name,
		      const struct ib_keyring *kr, char *why, size_t why_cap)
{
	int err = ib_store_item_check(frame, len, name, kr, why, why_cap);

	if (err) {
		free(frame);
		return err;
	}
	return entry_take(e, frame, len);
}

/* Adds a checked entry. Two files for one key cannot pass the name check (one name per key,
 * one file per name); should that ever change, the newer stays rather than two entries. */
static int add_loaded(struct ib_store *s, struct entry *e)
{
	size_t at;
	bool found = find(s, e->item.key, &at);
	int err;

	if (found && item_compare(&e->item, &s->v[at]->item) <= 0) {
		entry_free(e);
		return IB_OK;
	}
	err = found ? IB_OK : reserve_one(s);
	if (!err)
		err = writer_reserve(s, &e->item.writer);
	if (err) {
		entry_free(e);
		return err;
	}
	commit(s, at, found, e);
	return IB_OK;
}

/* Loads one file: IB_OK (loaded), IB_ERR_NOMEM (give up), or another error when the file was
 * rejected, with why filled in. */
static int load_one(struct ib_store *s, const struct ib_keyring *kr, const char *name,
		    char *why, size_t why_cap)
{
	struct entry *e = NULL;
	const char *io_why = "";
	char *path = join(s->dir, name);
	uint8_t *frame = NULL;
	size_t len = 0;
	int err;

	if (!path)
		return IB_ERR_NOMEM;
	err = read_item_file(path, &frame, &len, &io_why);
	if (err == IB_ERR_IO)
		snprintf(why, why_cap, "cannot read: %s", io_why);
	if (!err)
		err = check_item(&e, frame, len, name, kr, why, why_cap);
	if (!err)
		err = add_loaded(s, e);
	free(path);
	return err;
}

/* Names a file not loaded: in diag (if given) and in the list of ib_store_rejected. */
static int name_reject(struct ib_store *s, const char *name, const char *why,
		       struct ib_diag *diag)
{
	char *path = join(s->dir, name), line[PATH_MAX + 200];
	int err = IB_OK;

	if (diag)
		ib_diag_set(diag, path ? path : name, 0, "item not loaded [DATA-6]: %s", why);
	if (s->rejects.n < IB_STORE_REPORTED) {
		snprintf(line, sizeof line, "%s: %s", path ? path : name, why);
		err = ib_names_push(&s->rejects, line);
	}
	free(path);
	return err;
}

static int load_all(struct ib_store *s, const struct ib_keyring *kr, size_t *rejected,
		    struct ib_diag *diag)
{
	struct ib_names ns = { 0 };
	char why[192];
	int err;

	err = list_item_files(s->dir, &ns, diag);
	for (size_t i = 0; !err && i < ns.n; i++) {
		err = load_one(s, kr, ns.v[i], why, sizeof why);
		if (err == IB_ERR_NOMEM || err == IB_OK)
			continue;
		/* [DATA-6] Not loaded, counted, and named; the others still load. */
		err = name_reject(s, ns.v[i], why, *rejected == 0 ? diag : NULL);
		(*rejected)++;
	}
	ib_names_free(&ns);
	return err;
}

/* The store directory, private to the owner, created when absent (not its parents). */
static int make_dir(const char *dir, struct ib_diag *diag)
{
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return IB_OK;
	ib_diag_set(diag, dir, 0, "cannot create the store directory: %s", strerror(errno));
	return IB_ERR_IO;
}

int ib_store_open(struct ib_store **out, const char *dir, const struct ib_keyring *kr,
		  size_t *rejected, struct ib_diag *diag)
{
	struct ib_store *s = NULL;
	size_t bad = 0;
	int err;

	if (!out || (dir && (!*dir || !kr)))
		return IB_ERR_INVALID_ARG;
	if (rejected)
		*rejected = 0;
	s = calloc(1, sizeof *s);
	if (!s)
		return IB_ERR_NOMEM;
	s->max = (struct ib_store_bounds){ IB_STORE_MAX_ITEMS, IB_STORE_MAX_BYTES,
					   IB_STORE_MAX_WRITER_ITEMS, IB_STORE_MAX_WRITER_BYTES };
	if (dir) {
		s->dir = strdup(dir);
		err = s->dir ? make_dir(dir, diag) : IB_ERR_NOMEM;
		if (!err)
			err = load_all(s, kr, &bad, diag);
		if (err)
			goto out;
	}
	if (rejected)
		*rejected = bad;
	*out = s;
	s = NULL;
	err = IB_OK;
out:
	ib_store_free(s);
	return err;
}

void ib_store_free(struct ib_store *s)
{
	if (!s)
		return;
	/* A batch still open is lost as in a crash: its files are left for the next start to
	 * remove, its old entries freed (the new ones are in s->v). */
	for (size_t i = 0; i < s->nbatch; i++) {
		entry_free(s->batch[i].old);
		pending_free(&s->batch[i]);
	}
	free(s->batch);
	for (size_t i = 0; i < s->count; i++)
		entry_free(s->v[i]);
	free(s->v);
	free(s->writers);
	free(s->dir);
	ib_names_free(&s->rejects);
	free(s);
}

const char *ib_store_rejected(const struct ib_store *s, size_t i)
{
	return s && i < s->rejects.n ? s->rejects.v[i] : NULL;
}

/* ---- Reading ----------------------------------------------------------------------------- */

int ib_store_get(const struct ib_store *s, struct ib_slice key, struct ib_item *item)
{
	size_t at;

	if (!s || !item || (!key.ptr && key.len))
		return IB_ERR_INVALID_ARG;
	if (!find(s, key, &at))
		return IB_ERR_NOT_FOUND;
	*item = s->v[at]->item;
	return IB_OK;
}

/* [DATA-3] The store keeps the newest item of each key, so its version is the highest known. */
uint64_t ib_store_next_version(const struct ib_store *s, struct ib_slice key)
{
	struct ib_item item;

	if (ib_store_get(s, key, &item) != IB_OK)
		return 1;
	return item.version == UINT64_MAX ? 0 : item.version + 1;
}

size_t ib_store_count(const struct ib_store *s)
{
	return s ? s->count : 0;
}

int ib_store_at(const struct ib_store *s, size_t i, struct ib_item *item)
{
	if (!s || !item)
		return IB_ERR_INVALID_ARG;
	if (i >= s->count)
		return IB_ERR_NOT_FOUND;
	*item = s->v[i]->item;
	return IB_OK;
}
