/*
 * verify_memo.c - the memo of signature checks (see verify_memo.h): a direct-mapped table.
 * A slot is chosen by the signature's first bytes (R, a point the signer derives from a
 * hash: as good as random), and a new answer takes the slot over.
 */
#include "interbot.h"
#include "verify_memo.h"

#include <stdlib.h>
#include <string.h>

struct memo_slot {
	uint8_t key[IB_PUBKEY_LEN];
	uint8_t sig[IB_SIG_LEN];
	uint8_t *msg; /* NULL: an empty slot */
	size_t msg_len;
	int result;
};

static struct memo_slot *slots;
static size_t slot_mask;
static uint64_t hits, computed;

static void memo_free(void)
{
	for (size_t i = 0; slots && i <= slot_mask; i++)
		free(slots[i].msg);
	free(slots);
	slots = NULL;
	slot_mask = 0;
}

int ib_verify_memo_set(unsigned bits)
{
	memo_free();
	hits = computed = 0;
	if (bits == 0)
		return IB_OK;
	if (bits > 24)
		return IB_ERR_RANGE;
	slots = calloc((size_t)1 << bits, sizeof *slots);
	if (!slots)
		return IB_ERR_NOMEM;
	slot_mask = ((size_t)1 << bits) - 1;
	return IB_OK;
}

void ib_verify_memo_counts(uint64_t *h, uint64_t *c)
{
	*h = hits;
	*c = computed;
}

static struct memo_slot *slot_of(const uint8_t *sig)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | sig[i];
	return &slots[v & slot_mask];
}

int ib_verify_memo_find(const uint8_t *key, const uint8_t *msg, size_t msg_len,
			const uint8_t *sig)
{
	const struct memo_slot *s;

	if (!slots)
		return -1;
	s = slot_of(sig);
	if (!s->msg || s->msg_len != msg_len || memcmp(s->sig, sig, IB_SIG_LEN) != 0 ||
	    memcmp(s->key, key, IB_PUBKEY_LEN) != 0 || memcmp(s->msg, msg, msg_len) != 0)
		return -1;
	hits++;
	return s->result;
}

void ib_verify_memo_keep(const uint8_t *key, const uint8_t *msg, size_t msg_len,
			 const uint8_t *sig, int result)
{
	struct memo_slot *s;
	uint8_t *copy;

	if (!slots)
		return;
	computed++;
	/* One byte at least, so that an empty message still marks the slot used. */
	copy = malloc(msg_len ? msg_len : 1);
	if (!copy)
		return;
	if (msg_len)
		memcpy(copy, msg, msg_len);
	s = slot_of(sig);
	free(s->msg);
	memcpy(s->key, key, IB_PUBKEY_LEN);
	memcpy(s->sig, sig, IB_SIG_LEN);
	s->msg = copy;
	s->msg_len = msg_len;
	s->result = result;
}
