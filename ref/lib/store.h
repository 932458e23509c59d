/*
 * store.h - the store's check of one item file at start, without the file (internal;
 * store.c). Apart from ib_store_open so that fuzz/fuzz_store.c can feed it any bytes.
 */
#ifndef IB_STORE_H
#define IB_STORE_H

#include "interbot.h"

/* [DATA-6] Whether frame[0..len), read from the file DIR/name, is an item ib_store_open
 * loads: a whole frame of a writer in kr, its signature, a PUBLISH, and name the one of its
 * key (store.c says how keys are named). IB_OK, or the error with why (why_cap bytes)
 * saying it in words. */
int ib_store_item_check(const uint8_t *frame, size_t len, const char *name,
			const struct ib_keyring *kr, char *why, size_t why_cap);

/* The bound behind ib_store_apply's last IB_ERR_FULL, in words ("its writer's share of items
 * (max_writer_items 4,096)"), for logs and ib.publish's answer. */
const char *ib_store_refused(const struct ib_store *s);

/* [DATA-19] Items applied in one batch are written at once and flushed together: at most
 * this many wait for one flush (a 16 KiB read holds about 80 small PUBLISH frames). */
#define IB_STORE_BATCH_MAX 256u

/* ib_store_apply, except that the item's file is written and not flushed: the item is in
 * force in memory at once, and durable once ib_store_batch_commit returns. Nothing may tell a
 * peer that the node holds it before then ([DATA-19]). A store without a directory applies
 * it at once. ib_store_apply, ib_store_remove_if and a full batch commit the batch first. */
int ib_store_apply_batched(struct ib_store *s, struct ib_slice frame, const struct ib_msg *pub);

/* How many items wait for ib_store_batch_commit. */
size_t ib_store_batch_pending(const struct ib_store *s);

/* Makes the batch durable with one flush of the disk and one of the directory. An item whose
 * file could not be made durable is taken back (the item before it in force again,
 * [DATA-5]); *taken_back (may be NULL) counts them. IB_OK, or IB_ERR_IO (errno kept) when
 * any was taken back or the directory could not be flushed. */
int ib_store_batch_commit(struct ib_store *s, size_t *taken_back);

/* The disk flushes (fsync of a file or a directory, syncfs) since the last call. */
uint64_t ib_store_take_flushes(struct ib_store *s);

#endif
