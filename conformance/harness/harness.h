/*
 * harness.h - many nodes in one process, on one loop and one virtual clock, linked over real
 * TCP + TLS on 127.0.0.1 (issue: the in-process tree harness).
 *
 * A topology is a short description:
 *   chain:N        node i's parent is node i-1
 *   star:N         node 0 is every other node's parent
 *   tree:FxD       fan-out F, depth D (levels below the root)
 *   random:N:SEED  node i's parent is a node below i, drawn from SEED
 *   forest:N       N roots, no links (tests link them with ib_node_set_parents)
 * Nodes start in index order, so a parent listens before its children connect.
 */
#ifndef IB_HARNESS_H
#define IB_HARNESS_H

#include "interbot.h"

struct hn_node {
	struct ib_node *node;
	int parent;                 /* index in the topology, -1 for the root */
	char name[32];
	uint64_t delivered;         /* PUBLISH messages delivered to it (the tests' traffic) */
	uint64_t delivered_type[256]; /* the same, by message type */
	uint64_t delivered_from_self; /* PUBLISH messages of its own that came back */
	uint16_t port;              /* where it listens (kept across a restart) */
	struct ib_keyring *keyring; /* the keyring it starts with (the harness's reference),
				     * or NULL for the shared one: a node whose owner removed
				     * keys restarts without them */
};

struct hn_tree {
	struct ib_vclock clock;
	struct ib_loop *loop;
	struct hn_node *nodes;
	size_t count;
	uint64_t seed;
	struct ib_config base;      /* every node's settings, but name, listen and parents */
	struct ib_identity **ids;   /* each node is given a copy, for restarts */
	struct ib_pubkey **pubs;    /* every node's key, for keyrings and lookups */
	struct ib_pubkey *extra[8]; /* more keys every node trusts (tester peers) */
	size_t nextra;
	char root_parent[IB_MAX_ADDR]; /* a parent for node 0 (a tester peer), or "" */
	struct ib_keyring *shared;  /* every key above, made at start, shared by the nodes */
	bool persist;               /* stores on disk (set before start): items survive restarts */
	char store_root[256];       /* a temporary folder for them, removed at free */
	enum ib_log_level log_level;
	/* Called for every node made (at start and at each restart) before it starts: a
	 * simulator gives it its transport, parents and callbacks there. Non-zero: the start
	 * fails with it. */
	int (*on_node)(struct hn_tree *t, size_t i, struct ib_node *n, void *ctx);
	void *on_node_ctx;
};

/* Parses the shape and makes the identities and settings; nothing runs yet. */
int hn_tree_new(struct hn_tree **out, const char *shape, uint64_t seed);
/* Replaces the random identities with ones derived from t->seed, so that a run is the same
 * for the same seed (ids decide [TREE-9] collisions, [DATA-1] ties, table orders). Call
 * before hn_tree_start; IB_ERR_INVALID_ARG after it. */
int hn_tree_seed_ids(struct hn_tree *t);
/* Creates and starts every node in index order. */
int hn_tree_start(struct hn_tree *t);
void hn_tree_free(struct hn_tree *t);

/* One turn of the loop without blocking; when nothing happened, the virtual clock jumps to
 * the next timer. Returns false when there is no timer left and nothing happened.
 * hn_tree_run_until never moves the clock past its deadline. */
bool hn_tree_step(struct hn_tree *t);
/* Steps until cond holds (true) or the virtual clock passes now + within_us (false). */
bool hn_tree_run_until(struct hn_tree *t, bool (*cond)(struct hn_tree *t, void *arg), void *arg,
		       uint64_t within_us);
/* Runs for within_us of virtual time. */
void hn_tree_run_for(struct hn_tree *t, uint64_t within_us);

/* Every node linked to the parent the topology gives it. */
bool hn_tree_formed(struct hn_tree *t, void *unused);
/* Makes every node started later trust this key too (a tester peer's). */
int hn_tree_trust(struct hn_tree *t, const struct ib_identity *id);
/* Index of the node with this id, or -1. */
int hn_tree_find(const struct hn_tree *t, const ib_id *id);
/* Stops and frees node i (it stays in the table as a NULL node). */
void hn_tree_kill(struct hn_tree *t, size_t i);
/* Starts a killed node again: same identity, same port, the same parent. */
int hn_tree_restart(struct hn_tree *t, size_t i);
/* Cuts node i's open link with peer as a network failure would: its TCP connection is shut
 * down in both directions, so both ends see it end, and neither sends ERROR. IB_ERR_NOT_FOUND
 * when node i is not running or has no open link with peer. */
int hn_tree_cut(struct hn_tree *t, size_t i, const ib_id *peer);
/* The last seq node i signed ([MSG-5]: one counter for all its messages), 0 when it is not
 * running: what a soak compares across a restart. */
uint64_t hn_last_seq(const struct hn_tree *t, size_t i);
/* Node i starts (and restarts) with kr from now on, instead of the shared keyring; takes
 * ownership of kr (NULL: the shared one again). The running node is not changed. */
void hn_tree_set_start_keyring(struct hn_tree *t, size_t i, struct ib_keyring *kr);
/* A keyring of every identity of the tree but those whose index is in `without`. */
int hn_tree_keyring(const struct hn_tree *t, const int *without, size_t nwithout,
		    struct ib_keyring **out);

struct hn_peer;
/* A tester peer trusted by the tree and trusting it (call before hn_tree_start). */
int hn_tree_new_peer(struct hn_tree *t, struct hn_peer **out);
/* Connects p to node i as its child and completes the HELLO exchange. */
bool hn_attach_child(struct hn_tree *t, struct hn_peer *p, size_t i);
/* "127.0.0.1:PORT" of node i, in buf. */
const char *hn_addr(const struct hn_tree *t, size_t i, char *buf, size_t cap);
/* Node i's id and path. */
const ib_id *hn_id(const struct hn_tree *t, size_t i);
size_t hn_path(const struct hn_tree *t, size_t i, ib_id *path);

/* A non-blocking TCP connect to ip:port (IPv4) from the local address src, so that one
 * process can be many sources ([LINK-15]: any 127.0.0.0/8 address is this host's on Linux).
 * IB_OK with *fd (the connect may be in progress), else IB_ERR_IO with errno. */
int hn_connect_from(const char *src, const char *ip, uint16_t port, int *fd);

/* xorshift64 on *state (0 is taken as a fixed odd seed): spread, not secrecy, for the
 * harness and the simulators built on it. */
uint64_t hn_rand(uint64_t *state);

/* A port of 127.0.0.1 nobody listens on now (bind port 0, read it, close); 0 on failure. */
uint16_t hn_free_port(void);
/* Removes dir and everything under it, links not followed. */
void hn_remove_tree(const char *dir);
/* The CPU time (user and system) process pid has used, in ms (/proc); -1 if unknown. */
long hn_proc_cpu_ms(long pid);

#endif
