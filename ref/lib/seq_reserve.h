/*
 * seq_reserve.h - [MSG-14] the reservation of `seq` a node with a store keeps on disk, so that
 * its `seq` stays above its earlier ones after a restart whose clock reads earlier (internal).
 */
#ifndef IB_SEQ_RESERVE_H
#define IB_SEQ_RESERVE_H

#include <stdint.h>

#include "interbot.h"

/* In the store's directory; hidden, so that the store's "*.item" listing never sees it. */
#define IB_SEQ_RESERVE_FILE ".seq-reserved"
/* How far ahead of the seq being sent a new reservation reaches: at most one flush per 10 s
 * of sending, and a seq at most 10 s ahead of the clock after a restart. */
#define IB_SEQ_RESERVE_US (10ull * 1000000u)

/* The reservation recorded in dir (0 when there is none). A file that is not one decimal
 * number and a newline is IB_ERR_CONFIG, with diag naming the file and its line 1. */
int ib_seq_reserve_load(const char *dir, uint64_t *out, struct ib_diag *diag);
/* Records value durably (ib_file_write_atomic): IB_OK, IB_ERR_NOMEM or IB_ERR_IO. */
int ib_seq_reserve_save(const char *dir, uint64_t value);

#endif
