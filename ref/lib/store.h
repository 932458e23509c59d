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

#endif
