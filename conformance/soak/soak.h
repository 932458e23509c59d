/*
 * soak.h - interbot-soak (issue 14): a tree of reference nodes on the in-process harness, on
 * one virtual clock, under churn drawn from a seed (kills and restarts, link cuts, moves to
 * another parent, a member's key removed and authorized again, publishes, fetches, commands),
 * with the spec's invariants checked throughout and at quiet checkpoints. A run is the same
 * for the same options: a failure prints what replays it.
 *
 *   main.c        options, the run (storms, then a checkpoint), heap samples, the figures
 *   churn.c       the events: drawn from the seed, applied, logged
 *   watch.c       what every node delivers and stores, judged as it happens
 *   checkpoint.c  the tree settled, then probes: flooding, elections, commands, stores
 */
#ifndef IB_SOAK_H
#define IB_SOAK_H

#include <stdarg.h>
#include <stdio.h>

#include "harness.h"
#include "simnet.h"

#define SOAK_SECOND 1000000ull
#define SOAK_MAX_NODES 64u
#define SOAK_KEYS 16u                /* the items published: a fixed set, so stores stop growing */
#define SOAK_VALUE_LEN 48u
#define SOAK_MAX_DEAD 3u             /* nodes killed at once, at most */
#define SOAK_MAX_REMOVED 2u          /* keys removed at once, at most */
#define SOAK_SLOTS 64u               /* commands and fetches in flight */
#define SOAK_WINDOW 64u              /* [FLOOD-3] */
#define SOAK_COMMAND_TIMEOUT_MS 3000u

enum soak_kind {
	EV_KILL,
	EV_RESTART,
	EV_CUT,
	EV_REPARENT,
	EV_KEY_REMOVE,
	EV_KEY_READD,
	EV_PUBLISH,
	EV_COMMAND,
	EV_FETCH,
	EV__COUNT
};

struct soak_opts {
	uint64_t seed;
	size_t nodes;
	double minutes;              /* virtual minutes of churn */
	uint64_t max_events;         /* 0: as many as the minutes hold */
	double warmup_minutes;       /* heap samples before this are not judged */
	size_t heap_tolerance;       /* bytes the heap may grow after the warm-up */
	bool verbose;
	bool all_kinds;              /* a run that applied no event of some kind fails */
	bool net_delay;              /* on simnet's in-memory links, each chunk delayed by */
	uint64_t net_min_us, net_max_us; /* a time in [min, max] drawn from the seed */
	const char *argv0;
};

/* An item as the soak saw a node hold it: enough to order it ([DATA-1]). */
struct soak_item {
	bool held;
	uint64_t version;
	ib_id writer;
	uint64_t seq;
};

/* The seqs one node instance delivered from one origin, those within 64 of the highest: what
 * [FLOOD-3] lets it deliver at most once. */
struct soak_seen {
	bool started;
	uint8_t count;
	uint64_t top;
	uint64_t seq[SOAK_WINDOW];
};

struct soak;

struct soak_node {
	struct soak *s;              /* the callbacks' context */
	size_t index;
	unsigned life;               /* starts so far: each restart is a new instance */
	bool removed;                /* its key is being removed, or is, from the others' keyrings */
	uint64_t distrust;           /* bit x: this node's owner removed node x's key */
	uint64_t seq_before;         /* the greatest seq seen from its earlier lives ([MSG-5]) */
	uint64_t seq_now;            /* ... and from this one */
	uint64_t seq_signed;         /* the last seq it signed before it was killed */
	uint64_t killed_us;          /* when (virtual monotonic time) */
	struct soak_item items[SOAK_KEYS]; /* what its store holds, as its item events said */
	struct soak_item disk[SOAK_KEYS];  /* what its store directory holds: the same, but for
					    * items not loaded at a start ([DATA-6]), which stay */
};

/* One owner's reload of its keys, due after a removal or an addition: owners do not act in
 * the same second, so for a while some nodes trust a key that others no longer do. */
struct soak_reload {
	struct soak *s;
	size_t node, key;
	bool remove;
	uint64_t timer;              /* 0: not pending */
};

/* A PUBLISH sent at a checkpoint, counted at each node that delivers it. */
struct soak_probe {
	bool active;
	size_t origin;
	uint64_t seq;
	uint8_t got[SOAK_MAX_NODES];
};

/* A command or a fetch some node has in flight. */
struct soak_slot {
	struct soak *s;
	bool used, fetch, done;
	bool keep;                   /* a checkpoint's: it reads the results, then frees it */
	size_t requester;
	int dest;                    /* -1: everyone */
	size_t key;
	const char *name;
	uint64_t answered;           /* bit j: node j's RESULT came */
	size_t results;
	int status;                  /* a fetch's */
	struct ib_election_report report;
};

struct soak {
	struct soak_opts o;
	struct hn_tree *t;
	struct sn_net *net;          /* --net-delay, else NULL: loopback TCP */
	uint64_t rng;
	struct soak_node nodes[SOAK_MAX_NODES];
	struct soak_seen *seen;      /* [receiver * count + origin] */
	struct soak_probe probe;
	struct soak_slot slots[SOAK_SLOTS];
	struct soak_reload reloads[SOAK_MAX_NODES][SOAK_MAX_NODES]; /* [key][node] */
	uint64_t start_us;           /* virtual monotonic time at the start */

	uint64_t events, by_kind[EV__COUNT];
	uint64_t checkpoints, full_checkpoints, probes, delivered, settle_max_us, key_reloads;
	size_t heap_warmup, heap_max, heap_end;
	bool heap_warm;
	double heap_n, heap_sx, heap_sy, heap_sxy, heap_sxx; /* least squares: bytes per hour */
	FILE *log;                   /* every event so far, for the report of a failure */

	int failed;                  /* 0, 1 (an invariant) or 3 (the harness) */
	char failure[1024];
	char phase[128];             /* what the run was doing */
};

/* main.c */
uint64_t soak_rand(struct soak *s);
size_t soak_below(struct soak *s, size_t n);
double soak_vtime(const struct soak *s);
bool soak_alive(const struct soak *s, size_t i);
/* Whether node i's keyring holds node w's key. */
bool soak_trusts(const struct soak *s, size_t i, size_t w);
/* Records the first failure (ids: the spec's requirements it breaks, or "HARNESS"); the run
 * stops at its next step and reports it. */
void soak_fail(struct soak *s, const char *ids, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void soak_log(struct soak *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *soak_key(size_t k);
const char *soak_kind_name(enum soak_kind k);
/* At a checkpoint where everything runs: judges the heap against the warm-up's. */
void soak_heap_sample(struct soak *s);

/* churn.c */
void soak_storm(struct soak *s);
void soak_heal(struct soak *s);
/* An event: node i publishes key k. */
void soak_publish(struct soak *s, size_t i, size_t k);
/* The publish itself (a probe's too); a failure is recorded. */
int soak_publish_value(struct soak *s, size_t i, size_t k);
/* The owners' reloads still due, done now. */
void soak_flush_reloads(struct soak *s);

/* watch.c */
void soak_watch(struct soak *s, size_t i);
void soak_forget_instance(struct soak *s, size_t i);
void soak_check_restarted(struct soak *s, size_t i);
/* After node i's keyring changed: what it dropped ([MEMBER-6]). */
void soak_keys_reloaded(struct soak *s, size_t i);
int soak_item_compare(const struct soak_item *a, const struct soak_item *b);
struct soak_item soak_item_of(const struct soak *s, size_t i, size_t k);
struct soak_slot *soak_slot_new(struct soak *s, size_t requester, bool fetch);
void soak_slots_of_killed(struct soak *s, size_t i);
void soak_on_result(struct ib_node *n, const ib_id *from, uint16_t status,
		    struct ib_slice output, void *ctx);
void soak_on_fetch(struct ib_node *n, int status, const struct ib_item *item,
		   const struct ib_election_report *report, void *ctx);

/* checkpoint.c */
int soak_expected_parent(const struct soak *s, size_t i);
void soak_checkpoint(struct soak *s, bool heal, bool final);

#endif
