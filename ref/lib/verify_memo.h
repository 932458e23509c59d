/*
 * verify_memo.h - a memo of signature checks, for a process that runs many nodes at once
 * (interbot-sim). Every node of a simulated tree checks the signature of every frame that
 * floods past it: at N nodes each check is done N times over, on the same key, message and
 * signature, and it is 80 % of a 100-node run's CPU. A check is a pure function of those
 * three, so the memo computes each once and answers the other N - 1 from its table. It
 * keeps whole copies and compares them byte for byte: a hit is the same question, never a
 * look-alike. Off unless a program turns it on; the node program never does.
 */
#ifndef IB_VERIFY_MEMO_H
#define IB_VERIFY_MEMO_H

#include <stddef.h>
#include <stdint.h>

/* Turns the memo on with 2^bits slots (1 .. 24), or off with 0 (its memory freed). Not
 * thread-safe: for single-threaded programs. Returns IB_OK or IB_ERR_NOMEM/RANGE. */
int ib_verify_memo_set(unsigned bits);
/* Checks answered from the memo, and checks computed (while it is on). */
void ib_verify_memo_counts(uint64_t *hits, uint64_t *computed);

/* For pubkey.c: the memo's answer (IB_OK or an error), or -1 when it has none. */
int ib_verify_memo_find(const uint8_t *key, const uint8_t *msg, size_t msg_len,
			const uint8_t *sig);
/* For pubkey.c: keeps a computed answer (when the memo is on; forgets on no memory). */
void ib_verify_memo_keep(const uint8_t *key, const uint8_t *msg, size_t msg_len,
			 const uint8_t *sig, int result);

#endif
