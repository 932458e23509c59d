/*
 * sim_run.c - one simulated run: the nodes, the plan's events on virtual time, then a healed
 * world that must settle, and the invariants checked all along. Each invariant names the spec
 * IDs it follows from; the first one broken ends the run.
 *
 * Throughout:
 *   exactly-once       [FLOOD-3]   a node delivers an (origin, seq) once per life
 *   revoked-origin     [MEMBER-2]  no node delivers a frame of an origin it dropped
 *   child-not-in-path  [TREE-4]    no child link opens with a node of the server's path
 *   path-repeats       [TREE-22]   no node's path holds an id twice
 *   no-cycle           [TREE-7]    a cycle of parents does not outlive the PATH bound
 *   newest-offer       [ELECT-2]   an election applies nothing older than a counted offer
 *   answered-once      [CMD-1]     no node answers one COMMAND twice
 *   revoked-link       [MEMBER-2]  no node keeps a link with a peer whose key it dropped
 *   seq-above-earlier  [MSG-5]     once a restarted node has sent, its seq is above every
 *                      [MSG-14]    seq of its earlier lives, though its clock may read earlier
 * Once healed (every node up, one side, every key back):
 *   one-tree           [TREE-2]    the parents settle: no cycle, paths follow the parents,
 *                                  and a root stays one only if its parents are below it
 *   reach              [FLOOD-1]   a PUBLISH reaches every node of its tree, once
 *   elect-newest       [ELECT-2]   an election finds the newest item any live node holds
 *   all-answer         [CMD-1]     ib.ping to everyone is answered by every other node of the
 *                      [CMD-6]     tree, once, though their clocks are up to 240 s apart
 */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include "sim.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "node_internal.h" /* the fault of a FAULTS build */
#include "simnet.h"

#define SIM_KEYS 8u
#define SIM_MAX_PARENTS 3u
#define SIM_CHECK_EVERY_US 10000u
/* After the healing: time for the world to settle (a node may be waiting out a backoff of
 * reconnect_max_ms, then meet a loop or two), for a PUBLISH to reach all, for an election. */
#define SIM_SETTLE_US (300ull * 1000000u)
#define SIM_REACH_US (10ull * 1000000u)
#define SIM_ELECT_US (30ull * 1000000u)
/* Each node's wall clock is off by up to this much, either way: two nodes differ by less than
 * the 300 s of [CMD-6], so no COMMAND between them is stale. */
#define SIM_MAX_SKEW_US (120ll * 1000000)
#define SIM_COMMAND_MS 3000u
/* Up to this many nodes (the size CI runs), a revoke takes SIGHUP's path: the key's file
 * leaves a directory in the layout of authorized/, and every node that drops it reloads its
 * keys from there (node_reload_keys_from, as ib_node_reload_keys does). Above, the keyring is
 * handed over whole: each reload parses every PEM key file (about 125 us each here), N^2 per
 * revoke, which at 50 nodes took two thirds of a run's CPU. */
#define SIM_RELOAD_MAX_NODES 20u

struct slot {
	struct world *w;
	size_t i;
};

/* A command in flight: who sent it, and who answered. */
#define SIM_COMMANDS 64u
struct command {
	struct world *w;
	bool used;
	size_t from;
	uint8_t *answered;          /* one byte per node */
};

/* A set of (node, life, origin, seq): open addressing, grown at half full. */
struct seen {
	struct seen_key {
		uint32_t node, life, origin, used;
		uint64_t seq;
	} *keys;
	size_t cap, count;
};

struct world {
	const struct sim_plan *plan;
	const struct sim_config *cfg;
	struct sim_result *r;
	struct hn_tree *t;
	struct sn_net *net;
	struct slot *slots;
	uint32_t *life;             /* restarts of each node */
	int64_t *skew;              /* each node's clock error, drawn again at each restart */
	uint64_t *seq_before;       /* the greatest seq of each node's earlier lives */
	char keys_dir[300];         /* the authorized/ of the nodes that revoke ("": none) */
	bool *alive, *revoked;
	size_t (*parents)[SIM_MAX_PARENTS];
	size_t *nparents;
	struct seen seen;
	struct command commands[SIM_COMMANDS];
	int *by_id;                 /* open addressing: node index + 1 by the id's first bytes */
	size_t by_id_cap;
	uint8_t *mark;              /* find_cycle's walk */
	uint64_t next_settle_check;
	uint64_t rng;
	uint64_t cycle_since;       /* 0: no cycle now */
	uint64_t next_check;
	struct ib_keyring *without; /* the keyring of the revoked: everyone's but theirs */
	/* The probe of the healed world. */
	char probe[32];
	bool *probe_got;
	/* The elections of the healed world. */
	int elect_status;
	bool elect_done;
	struct ib_item elect_item;
	uint8_t elect_writer_copy[IB_ID_LEN];
	size_t fetches_open;
};

static uint64_t world_random(struct world *w)
{
	return hn_rand(&w->rng);
}

static uint64_t now_us(const struct world *w)
{
	return w->t->clock.monotonic_us;
}

static void fail(struct world *w, const char *inv, const char *reqs, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void fail(struct world *w, const char *inv, const char *reqs, const char *fmt, ...)
{
	va_list ap;

	if (w->r->failed)
		return;
	w->r->failed = true;
	w->r->at_us = now_us(w);
	snprintf(w->r->invariant, sizeof w->r->invariant, "%s", inv);
	snprintf(w->r->reqs, sizeof w->r->reqs, "%s", reqs);
	va_start(ap, fmt);
	vsnprintf(w->r->detail, sizeof w->r->detail, fmt, ap);
	va_end(ap);
}

static uint64_t seen_hash(const struct seen_key *k)
{
	uint64_t h = k->seq * 0x9e3779b97f4a7c15ull;

	h ^= ((uint64_t)k->node << 40) ^ ((uint64_t)k->life << 20) ^ k->origin;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 31);
}

/* Adds k; false when it was there already. */
static bool seen_add(struct seen *s, struct seen_key k)
{
	if (2 * (s->count + 1) > s->cap) {
		struct seen grown = { calloc(s->cap ? 2 * s->cap : 4096, sizeof *s->keys),
				      s->cap ? 2 * s->cap : 4096, 0 };

		if (!grown.keys)
			return true; /* out of memory: stop judging rather than judge wrong */
		for (size_t i = 0; i < s->cap; i++)
			if (s->keys[i].used)
				seen_add(&grown, s->keys[i]);
		free(s->keys);
		*s = grown;
	}
	k.used = 1;
	for (size_t i = seen_hash(&k) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		struct seen_key *e = &s->keys[i];

		if (!e->used) {
			*e = k;
			s->count++;
			return true;
		}
		if (e->node == k.node && e->life == k.life && e->origin == k.origin &&
		    e->seq == k.seq)
			return false;
	}
}

static size_t id_slot(const struct world *w, const ib_id *id)
{
	uint64_t h;

	memcpy(&h, id->b, sizeof h);
	return (size_t)(h * 0x9e3779b97f4a7c15ull >> 17) & (w->by_id_cap - 1);
}

/* Node index of an id, or -1: a hash lookup, as the checks ask it for every node often. */
static int index_of(const struct world *w, const ib_id *id)
{
	for (size_t k = id_slot(w, id);; k = (k + 1) & (w->by_id_cap - 1)) {
		int i = w->by_id[k] - 1;

		if (i < 0)
			return -1;
		if (ib_id_equal(hn_id(w->t, (size_t)i), id))
			return i;
	}
}

static int index_ids(struct world *w)
{
	w->by_id_cap = 16;
	while (w->by_id_cap < 2 * w->t->count)
		w->by_id_cap *= 2;
	w->by_id = calloc(w->by_id_cap, sizeof *w->by_id);
	if (!w->by_id)
		return IB_ERR_NOMEM;
	for (size_t i = 0; i < w->t->count; i++) {
		size_t k = id_slot(w, hn_id(w->t, i));

		while (w->by_id[k])
			k = (k + 1) & (w->by_id_cap - 1);
		w->by_id[k] = (int)i + 1;
	}
	return IB_OK;
}

static struct ib_node *node_at(const struct world *w, size_t i)
{
	return w->t->nodes[i].node;
}

/* ---- Invariants checked as things happen ------------------------------------------------- */

static void on_deliver(struct ib_node *node, const struct ib_frame *f, const struct ib_msg *m,
		       void *ctx)
{
	struct slot *s = ctx;
	struct world *w = s->w;
	int origin = index_of(w, &f->origin);

	(void)node;
	w->r->delivered++;
	if (origin < 0)
		return;
	/* [MEMBER-2] a revoked origin's frames are dropped by everyone who revoked it (a
	 * revoked node keeps the whole keyring). */
	if (w->revoked[origin] && !w->revoked[s->i])
		fail(w, "revoked-origin", "MEMBER-2 FRAME-5",
		     "n%zu delivered type %u seq %llu from n%d, whose key it no longer has", s->i,
		     m->h.type, (unsigned long long)m->h.seq, origin);
	/* [FLOOD-3] once per (origin, seq) in a node's life. */
	if (!seen_add(&w->seen, (struct seen_key){ (uint32_t)s->i, w->life[s->i],
						   (uint32_t)origin, 0, m->h.seq }))
		fail(w, "exactly-once", "FLOOD-3 FLOOD-1",
		     "n%zu delivered type %u seq %llu from n%d twice", s->i, m->h.type,
		     (unsigned long long)m->h.seq, origin);
	if (m->h.type == IB_MSG_PUBLISH && w->probe_got && w->probe[0] &&
	    m->u.publish.key.len == strlen(w->probe) &&
	    memcmp(m->u.publish.key.ptr, w->probe, m->u.publish.key.len) == 0)
		w->probe_got[s->i] = true;
}

static bool path_has(const ib_id *path, size_t len, const ib_id *id)
{
	for (size_t i = 0; i < len; i++)
		if (ib_id_equal(&path[i], id))
			return true;
	return false;
}

static void on_link(struct ib_node *n, const struct ib_link_info *link, bool up, void *ctx)
{
	struct slot *s = ctx;
	ib_id path[IB_MAX_PATH];
	size_t len;

	if (!up || link->is_parent)
		return;
	/* [TREE-4] step 3: a server never takes a child that is in its own path. */
	len = ib_node_path(n, path, IB_MAX_PATH);
	if (path_has(path, len, &link->peer))
		fail(s->w, "child-not-in-path", "TREE-4",
		     "n%zu took n%d as a child while it is in its path", s->i,
		     index_of(s->w, &link->peer));
}

static int cmp_pair(uint64_t va, const ib_id *wa, uint64_t vb, const ib_id *wb)
{
	if (va != vb)
		return va < vb ? -1 : 1;
	return memcmp(wa->b, wb->b, IB_ID_LEN);
}

static void on_fetch(struct ib_node *n, int status, const struct ib_item *item,
		     const struct ib_election_report *rep, void *ctx)
{
	struct slot *s = ctx;
	struct world *w = s->w;

	(void)n;
	w->fetches_open--;
	if (status != IB_OK || !item || !rep)
		return;
	/* [ELECT-2][ELECT-11] what is applied is at least as new as every offer counted and not
	 * failed. */
	for (size_t i = 0; i < rep->offers && i < IB_REPORT_MAX_OFFERS; i++) {
		if (rep->offer[i].failed)
			continue;
		if (cmp_pair(item->version, &item->writer, rep->offer[i].version,
			     &rep->offer[i].writer) < 0)
			fail(w, "newest-offer", "ELECT-2 ELECT-11",
			     "n%zu applied version %llu of %.*s, but n%d offered %llu", s->i,
			     (unsigned long long)item->version, (int)item->key.len,
			     (const char *)item->key.ptr, index_of(w, &rep->offer[i].holder),
			     (unsigned long long)rep->offer[i].version);
	}
}

static size_t root_of(const struct world *w, size_t i);

static void on_result(struct ib_node *n, const ib_id *from, uint16_t status,
		      struct ib_slice output, void *ctx)
{
	struct command *c = ctx;
	int i;

	(void)n;
	(void)status;
	(void)output;
	if (!from) {
		c->used = false; /* the time is up: nothing more comes */
		return;
	}
	c->w->r->results++;
	i = index_of(c->w, from);
	if (i < 0)
		return;
	/* [CMD-1] each node runs a COMMAND once, however many ways it reaches it. */
	if (c->answered[i]++)
		fail(c->w, "answered-once", "CMD-1 FLOOD-3", "n%d answered one ib.ping of n%zu twice",
		     i, c->from);
}

static void command(struct world *w, size_t a, size_t b)
{
	struct command *c = NULL;

	for (size_t k = 0; k < SIM_COMMANDS && !c; k++)
		if (!w->commands[k].used)
			c = &w->commands[k];
	if (!c || !w->alive[a])
		return;
	memset(c->answered, 0, w->t->count);
	c->from = a;
	if (ib_node_command(node_at(w, a), b < w->t->count ? hn_id(w->t, b) : NULL, "ib.ping",
			    NULL, 0, SIM_COMMAND_MS, on_result, c) == IB_OK)
		c->used = true;
}

static bool command_over(struct hn_tree *t, void *arg)
{
	(void)t;
	return !((struct command *)arg)->used;
}

/* [CMD-1][CMD-6] in a settled world, ib.ping to everyone is answered by every other node of
 * the sender's tree, whatever their clocks' skew. */
static void all_answer(struct world *w)
{
	size_t from = world_random(w) % w->t->count, root = root_of(w, from);
	struct command *c = NULL;

	for (size_t k = 0; k < SIM_COMMANDS && !c; k++)
		if (!w->commands[k].used)
			c = &w->commands[k];
	if (!c)
		return;
	command(w, from, w->t->count);
	if (!c->used) {
		fail(w, "all-answer", "CMD-1", "n%zu could not send ib.ping", from);
		return;
	}
	hn_tree_run_until(w->t, command_over, c, (SIM_COMMAND_MS + 1000) * 1000ull);
	for (size_t i = 0; i < w->t->count && !w->r->failed; i++) {
		uint64_t stale = 0;

		if (i == from || root_of(w, i) != root || c->answered[i])
			continue;
		/* Any node on the way may have dropped it: tell how many did. */
		for (size_t k = 0; k < w->t->count; k++)
			stale += ib_node_counter(node_at(w, k), IB_CNT_STALE_COMMAND);
		fail(w, "all-answer", "CMD-1 CMD-6",
		     "n%zu (clock %+lld s) did not answer ib.ping from n%zu (clock %+lld s); the "
		     "nodes counted %llu stale commands in all",
		     i, (long long)(w->skew[i] / 1000000), from,
		     (long long)(w->skew[from] / 1000000), (unsigned long long)stale);
	}
}

/* The parent of node i as an index: -1 for a root (or a parent the world does not know). */
static int parent_of(const struct world *w, size_t i)
{
	ib_id p;

	if (!node_at(w, i) || !ib_node_parent(node_at(w, i), &p))
		return -1;
	return index_of(w, &p);
}

/* A node that is on a cycle of parents, or -1. Each node is walked once: a walk stops at a
 * node an earlier walk finished (mark 2), and meets a cycle when it comes back to a node of
 * its own (mark 1). */
static int find_cycle(struct world *w)
{
	size_t n = w->t->count;
	int found = -1;

	memset(w->mark, 0, n);
	for (size_t i = 0; i < n && found < 0; i++) {
		int at = (int)i;

		while (at >= 0 && w->mark[at] == 0) {
			w->mark[at] = 1;
			at = parent_of(w, (size_t)at);
		}
		if (at >= 0 && w->mark[at] == 1)
			found = at;
		for (at = (int)i; at >= 0 && w->mark[at] == 1; at = parent_of(w, (size_t)at))
			w->mark[at] = 2;
	}
	return found;
}

static uint64_t cycle_bound_us(const struct world *w)
{
	return 1000000u + 2u * w->t->count * w->cfg->max_delay_us;
}

/* The checks of every SIM_CHECK_EVERY_US: paths, and how long a cycle has lasted. */
static void check_now(struct world *w)
{
	int c;

	for (size_t i = 0; i < w->t->count && !w->r->failed; i++) {
		ib_id path[IB_MAX_PATH];
		size_t len;

		if (!node_at(w, i))
			continue;
		len = ib_node_path(node_at(w, i), path, IB_MAX_PATH);
		for (size_t a = 0; a < len; a++)
			if (path_has(path + a + 1, len - a - 1, &path[a]))
				fail(w, "path-repeats", "TREE-22 TREE-5",
				     "n%zu's path holds n%d twice", i, index_of(w, &path[a]));
	}
	/* [MSG-5][MSG-14] A seq at or below an earlier life's: the others' windows drop the
	 * frames that carry it as replays. (0: the node has sent nothing yet.) */
	for (size_t i = 0; i < w->t->count && !w->r->failed; i++) {
		uint64_t seq = node_at(w, i) ? node_at(w, i)->seq.last : 0;

		if (seq && seq <= w->seq_before[i])
			fail(w, "seq-above-earlier", "MSG-5 MSG-14",
			     "n%zu (life %u, clock %+lld s) sends seq %llu, not above the %llu of its "
			     "earlier lives", i, w->life[i], (long long)(w->skew[i] / 1000000),
			     (unsigned long long)seq, (unsigned long long)w->seq_before[i]);
	}
	/* [MEMBER-2][MEMBER-4] a reload closes the links of dropped keys at once. */
	for (size_t i = 0; i < w->t->count && !w->r->failed; i++) {
		struct ib_link_info links[64];
		size_t count;

		if (!node_at(w, i) || w->revoked[i])
			continue;
		count = ib_node_links(node_at(w, i), links, 64);
		for (size_t k = 0; k < count && k < 64; k++) {
			int p = index_of(w, &links[k].peer);

			if (p >= 0 && w->revoked[p])
				fail(w, "revoked-link", "MEMBER-2 MEMBER-4",
				     "n%zu keeps its link with n%d, whose key it dropped", i, p);
		}
	}
	c = find_cycle(w);
	if (c < 0) {
		w->cycle_since = 0;
	} else if (!w->cycle_since) {
		w->cycle_since = now_us(w) ? now_us(w) : 1;
	} else if (now_us(w) - w->cycle_since > cycle_bound_us(w)) {
		fail(w, "no-cycle", "TREE-7 TREE-4",
		     "n%d has been on a cycle of parents for %llu ms", c,
		     (unsigned long long)((now_us(w) - w->cycle_since) / 1000));
	}
}

static bool checked_stop(struct hn_tree *t, void *arg)
{
	struct world *w = arg;

	(void)t;
	if (now_us(w) >= w->next_check) {
		check_now(w);
		w->next_check = now_us(w) + SIM_CHECK_EVERY_US;
	}
	return w->r->failed;
}

/* Runs until virtual time `at` (us), checking; false once an invariant failed. */
static bool run_to(struct world *w, uint64_t at)
{
	if (at > now_us(w))
		hn_tree_run_until(w->t, checked_stop, w, at - now_us(w));
	return !w->r->failed;
}

/* ---- Nodes ------------------------------------------------------------------------------- */

static int on_node(struct hn_tree *t, size_t i, struct ib_node *n, void *ctx)
{
	struct world *w = ctx;
	char addrs[SIM_MAX_PARENTS][IB_MAX_ADDR];
	const char *list[SIM_MAX_PARENTS];

	(void)t;
	for (size_t k = 0; k < w->nparents[i]; k++) {
		snprintf(addrs[k], sizeof addrs[k], "127.0.0.1:%zu", SN_PORT_BASE + w->parents[i][k]);
		list[k] = addrs[k];
	}
	sn_attach(w->net, i, n, w->plan->seed * 0x100000001b3ull + i * 7919u + w->life[i]);
	ib_node_set_clock_skew(n, w->skew[i]);
	ib_node_set_deliver(n, on_deliver, &w->slots[i]);
	ib_node_on_link(n, on_link, &w->slots[i]);
#ifdef IB_FAULTS
	n->fault = ib_fault_from_env();
#endif
	return ib_node_set_parents(n, list, w->nparents[i]);
}

/* Node i's parents: one below it (so that a tree exists), and maybe one or two more
 * anywhere, in a random order: a node may try its own descendant first, and two nodes may
 * try each other. */
static void draw_parents(struct world *w)
{
	for (size_t i = 1; i < w->t->count; i++) {
		size_t *p = w->parents[i];

		p[0] = world_random(w) % i;
		w->nparents[i] = 1;
		while (w->nparents[i] < SIM_MAX_PARENTS && world_random(w) % 2) {
			size_t q = world_random(w) % w->t->count;

			if (q != i)
				p[w->nparents[i]++] = q;
		}
		for (size_t k = w->nparents[i] - 1; k > 0; k--) {
			size_t j = world_random(w) % (k + 1), t = p[k];

			p[k] = p[j];
			p[j] = t;
		}
	}
}

static void crash(struct world *w, size_t i)
{
	if (!w->alive[i])
		return;
	if (node_at(w, i)->seq.last > w->seq_before[i])
		w->seq_before[i] = node_at(w, i)->seq.last;
	/* The pipes go first: a crashed node's goodbyes reach nobody. */
	sn_host_down(w->net, i);
	hn_tree_kill(w->t, i);
	w->alive[i] = false;
	/* Its commands end with it, without a last call. */
	for (size_t k = 0; k < SIM_COMMANDS; k++)
		if (w->commands[k].from == i)
			w->commands[k].used = false;
}

/* A clock error within SIM_MAX_SKEW_US, from a number of the plan. */
static int64_t skew_of(uint64_t x)
{
	return (int64_t)(x % (2 * SIM_MAX_SKEW_US + 1)) - SIM_MAX_SKEW_US;
}

/* The node comes back with its clock set anew (k): often earlier than any seq it used
 * before, which [MSG-5] and [MSG-14] must survive. */
static void restart(struct world *w, size_t i, uint64_t k)
{
	if (w->alive[i])
		return;
	w->life[i]++;
	w->skew[i] = skew_of(k);
	sn_host_up(w->net, i);
	if (hn_tree_restart(w->t, i) == IB_OK)
		w->alive[i] = true;
	else
		fail(w, "restart", "-", "n%zu could not start again", i);
}

/* [MEMBER-2] SIGHUP's path: keys_dir holds the file of every node but the revoked ones,
 * and (nodes) every live node that is not revoked reloads its keys from it. */
static int reload_keys(struct world *w, bool nodes)
{
	char path[400];
	int err = IB_OK;

	if (!w->keys_dir[0])
		return IB_OK;
	for (size_t i = 0; i < w->t->count && !err; i++) {
		snprintf(path, sizeof path, "%s/%s.pub", w->keys_dir, w->t->nodes[i].name);
		if (w->revoked[i])
			err = unlink(path) == 0 || errno == ENOENT ? IB_OK : IB_ERR_IO;
		else if (access(path, F_OK) != 0)
			err = ib_pubkey_save(ib_identity_pubkey(w->t->ids[i]), path);
	}
	for (size_t i = 0; i < w->t->count && !err && nodes; i++) {
		struct ib_diag diag = { 0 };

		if (!node_at(w, i) || w->revoked[i])
			continue;
		err = node_reload_keys_from(node_at(w, i), w->keys_dir, &diag);
		if (err)
			fail(w, "keyring", "MEMBER-3", "n%zu refused the keys of %s: %s", i,
			     w->keys_dir, diag.reason);
	}
	return err;
}

/* The keyring every node other than the revoked ones holds. */
static int apply_keyrings(struct world *w)
{
	int *without = w->t->count ? calloc(w->t->count, sizeof *without) : NULL;
	size_t nw = 0;
	int err;

	if (!without)
		return IB_ERR_NOMEM;
	for (size_t i = 0; i < w->t->count; i++)
		if (w->revoked[i])
			without[nw++] = (int)i;
	ib_keyring_free(w->without);
	w->without = NULL;
	err = hn_tree_keyring(w->t, without, nw, &w->without);
	for (size_t i = 0; !err && i < w->t->count; i++) {
		/* A node keeps its own key ([MEMBER-1]): the revoked keep the full ring. */
		struct ib_keyring *kr = ib_keyring_ref(w->revoked[i] ? w->t->shared : w->without);

		hn_tree_set_start_keyring(w->t, i, ib_keyring_ref(kr));
		if (node_at(w, i) && !(w->keys_dir[0] && !w->revoked[i]))
			err = ib_node_set_keyring(node_at(w, i), kr);
		else
			ib_keyring_free(kr);
	}
	free(without);
	return err ? err : reload_keys(w, true);
}

/* One of the peers node a has an open link with, picked by k (a cut or a stall that hits a
 * link, not a pair of nodes that may have none); a itself when it has none. */
static size_t linked_peer(const struct world *w, size_t a, uint64_t k)
{
	struct ib_link_info links[64];
	size_t count;
	int i;

	if (!node_at(w, a))
		return a;
	count = ib_node_links(node_at(w, a), links, 64);
	if (count > 64)
		count = 64;
	if (count == 0)
		return a;
	i = index_of(w, &links[k % count].peer);
	return i < 0 ? a : (size_t)i;
}

static void key_of(char *buf, size_t cap, uint64_t k)
{
	snprintf(buf, cap, "k%llu", (unsigned long long)(k % SIM_KEYS));
}

static void apply(struct world *w, const struct sim_event *e)
{
	size_t n = w->t->count, a = e->a % n;
	char key[16], value[32];

	switch (e->kind) {
	case EV_PUBLISH:
		if (!w->alive[a])
			break;
		key_of(key, sizeof key, e->b);
		snprintf(value, sizeof value, "v%llu", (unsigned long long)e->at_ms);
		ib_node_publish(node_at(w, a), (struct ib_slice){ (const uint8_t *)key, strlen(key) },
				(struct ib_slice){ (const uint8_t *)value, strlen(value) }, NULL);
		break;
	case EV_FETCH:
		if (!w->alive[a])
			break;
		key_of(key, sizeof key, e->b);
		if (ib_node_fetch(node_at(w, a), (struct ib_slice){ (const uint8_t *)key, strlen(key) },
				  on_fetch, &w->slots[a]) == IB_OK)
			w->fetches_open++;
		break;
	case EV_CUT:
		sn_cut(w->net, a, linked_peer(w, a, e->b));
		break;
	case EV_COMMAND:
		command(w, a, e->b % (n + 1));
		break;
	case EV_CRASH:
		crash(w, a);
		break;
	case EV_RESTART:
		restart(w, a, e->b);
		break;
	case EV_PARTITION:
		for (size_t i = 0; i < n; i++) {
			uint64_t x = (e->a ^ (i * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;

			sn_set_side(w->net, i, (int)((x >> 33) & 1));
		}
		break;
	case EV_HEAL:
		for (size_t i = 0; i < n; i++)
			sn_set_side(w->net, i, 0);
		break;
	case EV_STALL:
		sn_stall(w->net, a, linked_peer(w, a, e->b), true);
		break;
	case EV_UNSTALL:
		/* Whichever link the stall took, and any other: a is read again. */
		for (size_t i = 0; i < n; i++)
			sn_stall(w->net, a, i, false);
		break;
	case EV_REVOKE:
	case EV_READMIT:
		if (w->revoked[a] != (e->kind == EV_REVOKE)) {
			w->revoked[a] = e->kind == EV_REVOKE;
			if (apply_keyrings(w) != IB_OK)
				fail(w, "keyring", "-", "could not change the keyrings");
		}
		break;
	default:
		break;
	}
}

/* ---- The healed world -------------------------------------------------------------------- */

/* [TREE-2] settled: no cycle, every path is its parent's plus the node, and every root
 * either has no parents or is above all of them (it could join none). */
static bool settled(struct hn_tree *t, void *arg)
{
	struct world *w = arg;

	(void)t;
	/* Every 10 ms of virtual time, not every turn: it reads every node. */
	if (now_us(w) < w->next_settle_check)
		return false;
	w->next_settle_check = now_us(w) + SIM_CHECK_EVERY_US;
	if (find_cycle(w) >= 0)
		return false;
	for (size_t i = 0; i < w->t->count; i++) {
		ib_id path[IB_MAX_PATH], ppath[IB_MAX_PATH];
		size_t len = ib_node_path(node_at(w, i), path, IB_MAX_PATH), plen;
		int p = parent_of(w, i);

		if (p >= 0) {
			plen = ib_node_path(node_at(w, (size_t)p), ppath, IB_MAX_PATH);
			if (len != plen + 1 || memcmp(path, ppath, plen * sizeof *path) != 0)
				return false;
			continue;
		}
		for (size_t k = 0; k < w->nparents[i]; k++) {
			size_t q = w->parents[i][k];

			plen = ib_node_path(node_at(w, q), ppath, IB_MAX_PATH);
			if (!path_has(ppath, plen, hn_id(w->t, i)))
				return false;
		}
	}
	return true;
}

static bool probe_reached(struct hn_tree *t, void *arg)
{
	struct world *w = arg;

	(void)t;
	for (size_t i = 0; i < w->t->count; i++)
		if (!w->probe_got[i])
			return false;
	return true;
}

/* The root of node i's tree. */
static size_t root_of(const struct world *w, size_t i)
{
	for (size_t steps = 0; steps <= w->t->count; steps++) {
		int p = parent_of(w, i);

		if (p < 0)
			break;
		i = (size_t)p;
	}
	return i;
}

/* [FLOOD-1] a PUBLISH from a random node reaches every node of its tree once. */
static void reach(struct world *w)
{
	size_t from = world_random(w) % w->t->count, root = root_of(w, from);
	const char *value = "probe";

	snprintf(w->probe, sizeof w->probe, "probe");
	for (size_t i = 0; i < w->t->count; i++)
		w->probe_got[i] = i == from || root_of(w, i) != root;
	if (ib_node_publish(node_at(w, from), (struct ib_slice){ (const uint8_t *)w->probe, 5 },
			    (struct ib_slice){ (const uint8_t *)value, 5 }, NULL) != IB_OK) {
		fail(w, "reach", "FLOOD-1", "n%zu could not publish the probe", from);
		return;
	}
	if (!hn_tree_run_until(w->t, probe_reached, w, SIM_REACH_US))
		for (size_t i = 0; i < w->t->count; i++)
			if (!w->probe_got[i]) {
				fail(w, "reach", "FLOOD-1 FLOOD-2",
				     "n%zu's PUBLISH did not reach n%zu of its tree in %llu s",
				     from, i, SIM_REACH_US / 1000000);
				break;
			}
}

static void on_final_fetch(struct ib_node *n, int status, const struct ib_item *item,
			   const struct ib_election_report *rep, void *ctx)
{
	struct world *w = ((struct slot *)ctx)->w;

	on_fetch(n, status, item, rep, ctx);
	w->elect_done = true;
	w->elect_status = status;
	if (status == IB_OK) {
		w->elect_item.version = item->version;
		w->elect_item.writer = item->writer;
	}
}

static bool elect_over(struct hn_tree *t, void *arg)
{
	(void)t;
	return ((struct world *)arg)->elect_done;
}

/* [ELECT-2] in a settled world, an election finds the newest item of any node of its tree. */
static void elect_newest(struct world *w)
{
	for (unsigned k = 0; k < SIM_KEYS && !w->r->failed; k++) {
		size_t from = world_random(w) % w->t->count, root = root_of(w, from);
		char key[16];
		struct ib_slice ks;
		struct ib_item best = { 0 }, it;
		bool any = false;

		key_of(key, sizeof key, k);
		ks = (struct ib_slice){ (const uint8_t *)key, strlen(key) };
		for (size_t i = 0; i < w->t->count; i++) {
			if (root_of(w, i) != root ||
			    ib_store_get(ib_node_store(node_at(w, i)), ks, &it) != IB_OK)
				continue;
			if (!any || cmp_pair(it.version, &it.writer, best.version, &best.writer) > 0)
				best = it;
			any = true;
		}
		w->elect_done = false;
		if (ib_node_fetch(node_at(w, from), ks, on_final_fetch, &w->slots[from]) != IB_OK) {
			fail(w, "elect-newest", "ELECT-2", "n%zu could not start an election", from);
			return;
		}
		w->fetches_open++;
		if (!hn_tree_run_until(w->t, elect_over, w, SIM_ELECT_US)) {
			fail(w, "elect-newest", "ELECT-2 ELECT-6", "n%zu's election of %s never ended",
			     from, key);
		} else if (!any && w->elect_status == IB_OK) {
			fail(w, "elect-newest", "ELECT-2", "n%zu found %s, which nobody holds", from,
			     key);
		} else if (any && (w->elect_status != IB_OK ||
				   cmp_pair(w->elect_item.version, &w->elect_item.writer,
					    best.version, &best.writer) != 0)) {
			fail(w, "elect-newest", "ELECT-2",
			     "n%zu's election of %s gave status %d version %llu; the newest in its "
			     "tree is version %llu",
			     from, key, w->elect_status,
			     (unsigned long long)(w->elect_status == IB_OK ? w->elect_item.version
									   : 0),
			     (unsigned long long)best.version);
		}
	}
}

static void heal(struct world *w)
{
	for (size_t i = 0; i < w->t->count; i++)
		restart(w, i, world_random(w));
	sn_heal(w->net);
	for (size_t i = 0; i < w->t->count; i++)
		w->revoked[i] = false;
	if (apply_keyrings(w) != IB_OK)
		fail(w, "keyring", "-", "could not give the keys back");
}

/* ---- The run ----------------------------------------------------------------------------- */

static int world_new(struct world *w, const struct sim_plan *p)
{
	size_t n = p->nodes;
	char shape[32];
	int err;

	snprintf(shape, sizeof shape, "forest:%zu", n);
	w->rng = p->seed * 0x2545f4914f6cdd1dull + 1;
	w->slots = calloc(n, sizeof *w->slots);
	w->life = calloc(n, sizeof *w->life);
	w->skew = calloc(n, sizeof *w->skew);
	w->seq_before = calloc(n, sizeof *w->seq_before);
	w->alive = calloc(n, sizeof *w->alive);
	w->revoked = calloc(n, sizeof *w->revoked);
	w->parents = calloc(n, sizeof *w->parents);
	w->nparents = calloc(n, sizeof *w->nparents);
	w->probe_got = calloc(n, sizeof *w->probe_got);
	w->mark = calloc(n, 1);
	if (!w->slots || !w->life || !w->skew || !w->seq_before || !w->alive || !w->revoked || !w->parents || !w->nparents ||
	    !w->probe_got || !w->mark)
		return IB_ERR_NOMEM;
	err = hn_tree_new(&w->t, shape, p->seed);
	if (!err)
		err = hn_tree_seed_ids(w->t);
	if (!err)
		err = index_ids(w);
	if (!err)
		err = sn_net_new(&w->net, w->t->loop, n, p->seed, w->cfg->min_delay_us,
				 w->cfg->max_delay_us);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		w->slots[i] = (struct slot){ w, i };
		w->alive[i] = true;
	}
	for (size_t k = 0; k < SIM_COMMANDS; k++) {
		w->commands[k] = (struct command){ .w = w, .answered = calloc(n, 1) };
		if (!w->commands[k].answered)
			return IB_ERR_NOMEM;
	}
	draw_parents(w);
	for (size_t i = 0; i < n; i++)
		w->skew[i] = skew_of(world_random(w));
	w->t->on_node = on_node;
	w->t->on_node_ctx = w;
	w->t->persist = true;
	if (access("/dev/shm", W_OK) == 0) {
		/* The stores are fsync'd on every item: memory makes that free. */
		snprintf(w->t->store_root, sizeof w->t->store_root, "/dev/shm/ib-sim-XXXXXX");
		if (!mkdtemp(w->t->store_root))
			w->t->store_root[0] = '\0';
	}
	err = hn_tree_start(w->t);
	if (err || n > SIM_RELOAD_MAX_NODES)
		return err;
	/* Beside the stores, removed with them; hidden, so no node's name can meet it. */
	snprintf(w->keys_dir, sizeof w->keys_dir, "%s/.authorized", w->t->store_root);
	if (mkdir(w->keys_dir, 0700) != 0)
		return IB_ERR_IO;
	return reload_keys(w, false); /* they started with these keys */
}

static void world_free(struct world *w)
{
	/* The pipes first: their ends are watched on the loop the tree frees. The nodes then
	 * close their own ends. */
	sn_net_free(w->net);
	hn_tree_free(w->t);
	ib_keyring_free(w->without);
	free(w->seen.keys);
	free(w->slots);
	free(w->life);
	free(w->skew);
	free(w->seq_before);
	free(w->alive);
	free(w->revoked);
	free(w->parents);
	free(w->nparents);
	free(w->probe_got);
	free(w->mark);
	free(w->by_id);
	for (size_t k = 0; k < SIM_COMMANDS; k++)
		free(w->commands[k].answered);
}

/* [TREE-2] the healed world settles into trees. */
static void settle(struct world *w)
{
	if (!hn_tree_run_until(w->t, settled, w, SIM_SETTLE_US))
		fail(w, "one-tree", "TREE-2 TREE-7 TREE-13",
		     "the healed world has not settled in %llu s", SIM_SETTLE_US / 1000000);
}

int sim_run(const struct sim_plan *p, const struct sim_config *cfg, struct sim_result *r)
{
	static void (*const healed[])(struct world *) = {
		heal, settle, check_now, reach, elect_newest, all_answer,
	};
	struct world w = { .plan = p, .cfg = cfg, .r = r };
	uint64_t end_ms = 0;
	int err;

	memset(r, 0, sizeof *r);
	err = world_new(&w, p);
	if (err)
		goto out;
	for (size_t k = 0; k < p->count && !r->failed; k++) {
		if (!run_to(&w, p->events[k].at_ms * 1000))
			break;
		apply(&w, &p->events[k]);
		end_ms = p->events[k].at_ms;
	}
	if (!r->failed)
		run_to(&w, (end_ms + 1000) * 1000);
	/* Then the healed world, one check after the other, up to the first failure. */
	for (size_t k = 0; k < sizeof healed / sizeof healed[0] && !r->failed; k++)
		healed[k](&w);
out:
	r->sim_us = w.t ? now_us(&w) : 0;
	r->bytes = w.net ? sn_bytes_moved(w.net) : 0;
	r->events = (w.net ? sn_chunks_moved(w.net) : 0) + p->count;
	world_free(&w);
	return err;
}
