/* json_util.h - how the library writes protocol values in JSON (internal; describe.c). */
#ifndef IB_JSON_UTIL_H
#define IB_JSON_UTIL_H

#include <jansson.h>

#include "interbot.h"

/* Lowercase hex of p[0..n); NULL without memory. */
json_t *ib_json_hex(const uint8_t *p, size_t n);
json_t *ib_json_id(const ib_id *id);
/* u64 values as decimal strings: JSON readers (jansson included) lose or refuse integers
 * above 2^53 or 2^63. */
json_t *ib_json_u64(uint64_t v);

#endif
