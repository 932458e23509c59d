/*
 * reader.h - the one bounds-checked reader for bytes a peer sent (internal).
 *
 * Every read checks the bytes left first and fails with IB_ERR_TRUNCATED, leaving the reader
 * where it was; nothing else in the library does pointer arithmetic on peer bytes.
 * Length-prefixed parts are read through a sub-reader that must be consumed exactly
 * (ib_reader_end: IB_ERR_TRAILING).
 */
#ifndef IB_READER_H
#define IB_READER_H

#include "interbot.h"

struct ib_reader {
	const uint8_t *p;
	size_t len;
	size_t off;
};

void ib_reader_init(struct ib_reader *r, const uint8_t *p, size_t len);
size_t ib_reader_left(const struct ib_reader *r);
int ib_reader_u8(struct ib_reader *r, uint8_t *v);
int ib_reader_u16(struct ib_reader *r, uint16_t *v);
int ib_reader_u24(struct ib_reader *r, uint32_t *v);
int ib_reader_u32(struct ib_reader *r, uint32_t *v);
int ib_reader_u64(struct ib_reader *r, uint64_t *v);
/* n bytes as a borrowed slice. */
int ib_reader_bytes(struct ib_reader *r, size_t n, struct ib_slice *out);
int ib_reader_id(struct ib_reader *r, ib_id *out);
/* u8-prefixed UTF-8 string without NUL: IB_ERR_BAD_STRING otherwise ([MSG-8]). */
int ib_reader_string(struct ib_reader *r, struct ib_slice *out);
/* u24-prefixed opaque bytes. */
int ib_reader_blob(struct ib_reader *r, struct ib_slice *out);
/* The next n bytes as their own reader; the parent moves past them. */
int ib_reader_sub(struct ib_reader *r, size_t n, struct ib_reader *sub);
/* IB_ERR_TRAILING if bytes are left. */
int ib_reader_end(const struct ib_reader *r);

#endif
