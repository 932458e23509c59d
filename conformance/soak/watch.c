/*
 * watch.c - what the soak judges as it happens, whatever the churn: each end-to-end message a
 * node delivers, each item its store takes, each RESULT and each fetch that ends. These hold
 * at every moment, so they are checked at every event, not only at checkpoints.
 */
#include <inttypes.h>
#include <string.h>

#include "soak.h"

/* The key's index in the soak's set, or -1. */
static int key_index(struct ib_slice key)
{
	for (size_t k = 0; k < SOAK_KEYS; k++)
		if (key.len == strlen(soak_key(k)) && memcmp(key.ptr, soak_key(k), key.len) == 0)
			return (int)k;
	return -1;
}

int soak_item_compare(const struct soak_item *a, const struct soak_item *b)
{
	if (a->held != b->held)
		return a->held ? 1 : -1;
	if (!a->held)
		return 0;
	return ib_item_compare(a->version, &a->writer, a->seq, b->version, &b->writer, b->seq);
}

struct soak_item soak_item_of(const struct soak *s, size_t i, size_t k)
{
	struct soak_item out = { 0 };
	struct ib_item item;
	struct ib_slice key = { (const uint8_t *)soak_key(k), strlen(soak_key(k)) };

	if (soak_alive(s, i) &&
	    ib_store_get(ib_node_store(s->t->nodes[i].node), key, &item) == IB_OK)
		out = (struct soak_item){ true, item.version, item.writer, item.seq };
	return out;
}

/* ---- delivered messages ---------------------------------------------------------------- */

/* [MEMBER-2] a node drops the frames of origins no longer in its keyring, from the reload on,
 * whichever neighbour (one that still trusts them) forwards them. */
static void check_trusted(struct soak *s, size_t r, size_t o, const struct ib_msg *m)
{
	if (!soak_trusts(s, r, o))
		soak_fail(s, "MEMBER-2 FRAME-5", "n%zu delivered a frame (%s) of n%zu, whose key it "
			  "removed",
			  r, ib_msg_type_name(m->h.type), o);
}

/* [FLOOD-3][FLOOD-14] one node instance delivers an origin's seq once at most, and never one
 * more than 63 below the highest it delivered (the node's own top is at least as high). */
static void check_once(struct soak *s, size_t r, size_t o, const struct ib_msg *m)
{
	struct soak_seen *w = &s->seen[r * s->o.nodes + o];
	uint64_t seq = m->h.seq;
	uint8_t kept = 0;

	if (w->started && seq < w->top && w->top - seq > SOAK_WINDOW - 1) {
		soak_fail(s, "FLOOD-3 FLOOD-14", "n%zu delivered a frame (%s) of n%zu, seq %" PRIu64
			  ", below its window (top %" PRIu64 ")", r, ib_msg_type_name(m->h.type),
			  o, seq, w->top);
		return;
	}
	for (uint8_t i = 0; i < w->count; i++) {
		if (w->seq[i] == seq) {
			soak_fail(s, "FLOOD-3", "n%zu delivered a frame (%s) of n%zu, seq %" PRIu64
				  ", twice", r, ib_msg_type_name(m->h.type), o, seq);
			return;
		}
	}
	if (!w->started || seq > w->top) {
		w->started = true;
		w->top = seq;
	}
	for (uint8_t i = 0; i < w->count; i++)
		if (w->top - w->seq[i] <= SOAK_WINDOW - 1)
			w->seq[kept++] = w->seq[i];
	w->count = kept;
	if (w->count < SOAK_WINDOW) /* distinct seqs of a 64-wide range: room is left */
		w->seq[w->count++] = seq;
}

/* [MSG-5] a restarted node's seqs are above those of its earlier lives. ANNOUNCE is left out:
 * nodes keep the last one of each origin and send it again to new children ([MAP-3]), so an
 * old life's ANNOUNCE may well reach a fresh node after its origin restarted. */
static void check_seq(struct soak *s, size_t o, const struct ib_msg *m)
{
	struct soak_node *origin = &s->nodes[o];

	if (m->h.type == IB_MSG_ANNOUNCE)
		return;
	if (origin->life > 1 && m->h.seq <= origin->seq_before)
		soak_fail(s, "MSG-5", "n%zu (started %u times) sent a frame (%s), seq %" PRIu64
			  ", not above %" PRIu64 " of an earlier life", o, origin->life,
			  ib_msg_type_name(m->h.type), m->h.seq, origin->seq_before);
	if (m->h.seq > origin->seq_now)
		origin->seq_now = m->h.seq;
}

static void count_probe(struct soak *s, size_t r, size_t o, const struct ib_msg *m)
{
	struct soak_probe *p = &s->probe;

	if (p->active && m->h.type == IB_MSG_PUBLISH && o == p->origin && m->h.seq == p->seq &&
	    p->got[r] < UINT8_MAX)
		p->got[r]++;
}

static void on_deliver(struct ib_node *node, const struct ib_frame *f, const struct ib_msg *m,
		       void *ctx)
{
	struct soak_node *rx = ctx;
	struct soak *s = rx->s;
	int o = hn_tree_find(s->t, &f->origin);

	(void)node;
	s->delivered++;
	if (o < 0) {
		soak_fail(s, "FRAME-5", "n%zu delivered a frame (%s) of an origin outside the tree",
			  rx->index, ib_msg_type_name(m->h.type));
		return;
	}
	check_trusted(s, rx->index, (size_t)o, m);
	check_once(s, rx->index, (size_t)o, m);
	check_seq(s, (size_t)o, m);
	count_probe(s, rx->index, (size_t)o, m);
}

/* ---- items ----------------------------------------------------------------------------- */

/* [DATA-2] an item replaces only an older one; [MEMBER-6][ELECT-5][DATA-6] never one of a
 * writer the node no longer trusts, from a PUBLISH or a TRANSFER. */
static void on_item(struct ib_node *n, const struct ib_item *item, void *ctx)
{
	struct soak_node *sn = ctx;
	struct soak *s = sn->s;
	struct soak_item now = { true, item->version, item->writer, item->seq };
	int k = key_index(item->key), w = hn_tree_find(s->t, &item->writer);

	(void)n;
	if (k < 0 || w < 0) {
		soak_fail(s, "DATA-2", "n%zu took an item the soak never published", sn->index);
		return;
	}
	if (!soak_trusts(s, sn->index, (size_t)w))
		soak_fail(s, "MEMBER-6 ELECT-5", "n%zu took %s v%" PRIu64 " of n%d, whose key it "
			  "removed", sn->index, soak_key((size_t)k), item->version, w);
	if (soak_item_compare(&now, &sn->items[k]) <= 0)
		soak_fail(s, "DATA-2", "n%zu replaced %s v%" PRIu64 " by v%" PRIu64 " of n%d, which "
			  "is not newer", sn->index, soak_key((size_t)k), sn->items[k].version,
			  item->version, w);
	sn->items[k] = now;
	sn->disk[k] = now; /* [DATA-5] persisted before it is applied */
}

void soak_watch(struct soak *s, size_t i)
{
	ib_node_set_deliver(s->t->nodes[i].node, on_deliver, &s->nodes[i]);
	ib_node_on_item(s->t->nodes[i].node, on_item, &s->nodes[i]);
}

/* A restart is a new instance: a fresh anti-replay window at the node, and a new life of its
 * seqs. */
void soak_forget_instance(struct soak *s, size_t i)
{
	struct soak_node *sn = &s->nodes[i];

	memset(&s->seen[i * s->o.nodes], 0, s->o.nodes * sizeof *s->seen);
	if (sn->seq_now > sn->seq_before)
		sn->seq_before = sn->seq_now;
	sn->seq_now = 0;
	sn->life++;
}

/* [MEMBER-6] a reload drops the items of writers the node no longer trusts, from memory and
 * from its directory, and nothing else. */
void soak_keys_reloaded(struct soak *s, size_t i)
{
	struct soak_node *sn = &s->nodes[i];

	for (size_t k = 0; k < SOAK_KEYS && !s->failed; k++) {
		struct soak_item want = sn->items[k], got = soak_item_of(s, i, k);
		int w = want.held ? hn_tree_find(s->t, &want.writer) : -1;

		if (w >= 0 && !soak_trusts(s, i, (size_t)w)) {
			want.held = false;
			sn->disk[k] = want; /* deleted, not hidden */
		}
		if (soak_item_compare(&got, &want) != 0)
			soak_fail(s, "MEMBER-6", "after a key reload n%zu holds %s %s%" PRIu64 " of "
				  "n%d, it held %s%" PRIu64, i, soak_key(k), got.held ? "v" : "none ",
				  got.version, hn_tree_find(s->t, &got.writer),
				  sn->items[k].held ? "v" : "none ", sn->items[k].version);
		sn->items[k] = got;
	}
}

/* [DATA-5][DATA-6] a node started again loads what its directory holds, but the items of
 * writers it does not trust now: those stay on disk, not loaded. (Such an item comes back at a
 * later start, once its writer is trusted again: DATA-6 says "not load", not "delete", and the
 * store keeps a refused file for its owner to see. An item a reload removed does not come
 * back ([MEMBER-6]). The soak expects exactly that.) */
void soak_check_restarted(struct soak *s, size_t i)
{
	struct soak_node *sn = &s->nodes[i];

	for (size_t k = 0; k < SOAK_KEYS && !s->failed; k++) {
		struct soak_item want = sn->disk[k], got = soak_item_of(s, i, k);
		int w = want.held ? hn_tree_find(s->t, &want.writer) : -1;

		if (w >= 0 && !soak_trusts(s, i, (size_t)w))
			want.held = false;
		if (soak_item_compare(&got, &want) != 0)
			soak_fail(s, "DATA-5 DATA-6", "n%zu started again with %s %s%" PRIu64 " of "
				  "n%d, its directory held %s%" PRIu64 " of n%d", i, soak_key(k),
				  got.held ? "v" : "none ", got.version,
				  got.held ? hn_tree_find(s->t, &got.writer) : -1,
				  want.held ? "v" : "none ", want.version, w);
		sn->items[k] = got;
	}
}

/* ---- commands and fetches -------------------------------------------------------------- */

struct soak_slot *soak_slot_new(struct soak *s, size_t requester, bool fetch)
{
	for (size_t i = 0; i < SOAK_SLOTS; i++) {
		struct soak_slot *slot = &s->slots[i];

		if (slot->used)
			continue;
		*slot = (struct soak_slot){ .s = s, .used = true, .fetch = fetch,
					    .requester = requester, .dest = -1 };
		return slot;
	}
	return NULL;
}

/* A node freed with commands in flight calls nobody back: their slots are free again. (Its
 * fetches end with IB_ERR_CLOSED, which frees theirs.) */
void soak_slots_of_killed(struct soak *s, size_t i)
{
	for (size_t j = 0; j < SOAK_SLOTS; j++)
		if (s->slots[j].used && !s->slots[j].fetch && s->slots[j].requester == i)
			s->slots[j].used = false;
}

static bool output_is(struct ib_slice out, const uint8_t *p, size_t len)
{
	return out.len == len && (len == 0 || memcmp(out.ptr, p, len) == 0);
}

/* At a checkpoint, nothing moves while a RESULT travels: it must say what the node holds. */
static void check_quiet_result(struct soak *s, const struct soak_slot *slot, size_t r,
			       uint16_t status, struct ib_slice output)
{
	struct ib_item item;
	struct ib_slice key = { (const uint8_t *)soak_key(slot->key), strlen(soak_key(slot->key)) };
	bool held = ib_store_get(ib_node_store(s->t->nodes[r].node), key, &item) == IB_OK;

	if (strcmp(slot->name, "ib.ping") == 0 &&
	    (status != IB_STATUS_OK || !output_is(output, (const uint8_t *)"pong", 4)))
		soak_fail(s, "CMD-3", "n%zu answered ib.ping with status %s", r,
			  ib_status_name(status));
	if (strcmp(slot->name, "ib.get") == 0 && held &&
	    (status != IB_STATUS_OK || !output_is(output, item.frame.ptr, item.frame.len)))
		soak_fail(s, "CMD-3 DATA-4", "n%zu answered ib.get %s with status %s, not its item",
			  r, soak_key(slot->key), ib_status_name(status));
	if (strcmp(slot->name, "ib.get") == 0 && !held && status != IB_STATUS_NOT_FOUND)
		soak_fail(s, "CMD-3", "n%zu holds no %s and answered ib.get with status %s", r,
			  soak_key(slot->key), ib_status_name(status));
}

void soak_on_result(struct ib_node *n, const ib_id *from, uint16_t status,
		    struct ib_slice output, void *ctx)
{
	struct soak_slot *slot = ctx;
	struct soak *s = slot->s;
	int r = from ? hn_tree_find(s->t, from) : -1;

	(void)n;
	if (!from) {
		slot->done = true;
		slot->used = slot->keep;
		return;
	}
	if (r < 0 || (slot->dest >= 0 && r != slot->dest)) {
		soak_fail(s, "CMD-1 FLOOD-12", "n%zu's %s for n%d was answered by n%d",
			  slot->requester, slot->name, slot->dest, r);
		return;
	}
	if (slot->answered & (1ull << r))
		soak_fail(s, "CMD-1 FLOOD-3", "n%d answered one %s of n%zu twice", r, slot->name,
			  slot->requester);
	slot->answered |= 1ull << r;
	slot->results++;
	if (slot->keep)
		check_quiet_result(s, slot, (size_t)r, status, output);
}

/* [ELECT-10] a fetch ends with the item the node holds then, or not_found when none. */
void soak_on_fetch(struct ib_node *n, int status, const struct ib_item *item,
		   const struct ib_election_report *report, void *ctx)
{
	struct soak_slot *slot = ctx;
	struct soak *s = slot->s;
	struct ib_item held;
	struct ib_slice key = { (const uint8_t *)soak_key(slot->key), strlen(soak_key(slot->key)) };
	bool has = status != IB_ERR_CLOSED && ib_store_get(ib_node_store(n), key, &held) == IB_OK;

	slot->status = status;
	slot->report = *report;
	slot->done = true;
	slot->used = slot->keep;
	if (status == IB_OK && (!item || !has || !output_is(item->frame, held.frame.ptr,
							       held.frame.len)))
		soak_fail(s, "ELECT-10", "n%zu's fetch of %s ended ok with another item than it "
			  "holds", slot->requester, soak_key(slot->key));
	if (status == IB_ERR_NOT_FOUND && has)
		soak_fail(s, "ELECT-10", "n%zu's fetch of %s ended not_found, and it holds one",
			  slot->requester, soak_key(slot->key));
	if (status != IB_OK && status != IB_ERR_NOT_FOUND && status != IB_ERR_CLOSED)
		soak_fail(s, "ELECT-10", "n%zu's fetch of %s ended with %s", slot->requester,
			  soak_key(slot->key), ib_strerror(status));
}
