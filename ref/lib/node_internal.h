/*
 * node_internal.h - the node's parts and what they share (internal).
 *
 *   node.c       life cycle, public API, logging, counters
 *   link.c       one link: socket, TLS engine, frame stream, write queue, close (spec 8)
 *   hello.c      the HELLO exchange and its checks ([LINK-1], [TREE-4], [TREE-5])
 *   tree.c       parents, root fallback, retry with backoff, PATH ([TREE-*])
 *   keepalive.c  PING / PONG ([KA-*])
 *   flood.c      anti-replay, routes, delivery and forwarding ([FLOOD-*])
 */
#ifndef IB_NODE_INTERNAL_H
#define IB_NODE_INTERNAL_H

#include "fault.h"
#include "interbot.h"
#include "net.h"
#include "tls.h"

#define IB_HANDSHAKE_TIMEOUT_US (10ull * 1000000ull)   /* [LINK-7][LINK-12] */
#define IB_HELLO_TIMEOUT_US (10ull * 1000000ull)       /* [LINK-7][LINK-12] */
#define IB_KA_SILENCE_INTERVALS 3u                      /* [KA-5] */
#define IB_PING_NONCE_LEN 32u                           /* [KA-2]: 16..64 */
#define IB_READ_CHUNK 16384u                            /* [LINK-20] one read per turn */
#define IB_SEAL_QUEUE_MAX 16384u      /* plaintext frames gathered into one TLS record at most */
#define IB_ANSWER_BACKLOG (256u * 1024u)                /* [LINK-21] answer_backlog */
#define IB_LOG_INTERVAL_US (10ull * 1000000ull)         /* a repeated event: at most */
#define IB_LOG_BURST 10u                                /* ... this many lines per interval */
#define IB_LINGER_US (2ull * 1000000ull)                /* [LINK-11] close_linger_ms */
#define IB_MAX_LINGERING 256u                           /* closed, still delivering */
#define IB_MAX_LISTEN 8u                                /* addresses of a `listen` name */

struct ib_net_addrs;

enum link_state {
	LINK_CONNECTING,            /* client: TCP connect in progress */
	LINK_TLS,                   /* TLS handshake */
	LINK_HELLO_WAIT,            /* TLS done, HELLO exchange not */
	LINK_OPEN,
	LINK_CLOSED                 /* waiting to be freed */
};

struct ib_link {
	struct ib_node *node;
	struct ib_link *next;
	int fd;
	enum link_state state;
	bool we_connected;          /* we are the client: the peer is (to be) our parent */
	bool hello_sent;
	unsigned events;            /* what the loop watches for */
	char addr[IB_MAX_ADDR];     /* the peer's address, for logs */
	struct ib_net_source source; /* accepted: where it came from ([LINK-15]) */
	struct ib_net_addrs *addrs; /* client: what the parents entry resolved to ([TREE-25]) */
	size_t addr_next;           /* the next of them to try when a TCP connect fails */

	struct ib_tls *tls;
	struct ib_frame_decoder dec;
	struct ib_buf plain;        /* scratch: plaintext out of TLS */
	struct ib_buf unsealed;     /* frames sent while input is handled, not yet in TLS */
	struct ib_buf out;          /* ciphertext waiting for the socket */
	size_t out_off;
	bool flush_due;             /* on node->flush_due */
	struct ib_link *due_next;
	size_t queue_limit;         /* [LINK-2] */

	/* The peer, once TLS pinned it ([TLS-4]) and HELLO told the rest. */
	bool peer_known;
	ib_id peer_id;
	uint8_t peer_spki[IB_SPKI_LEN];
	char peer_name[IB_MAX_STRING + 1];
	uint8_t peer_role;
	uint32_t peer_keepalive_ms;
	uint32_t peer_max_message;
	uint8_t peer_path_len;
	ib_id *peer_path;           /* a parent's HELLO path, for [TREE-6]; NULL on a child's link */

	/* Timers (0: none). */
	uint64_t setup_timer;       /* handshake, then HELLO deadline */
	uint64_t ka_timer;          /* server: next PING; client: silence limit */
	uint64_t pong_timer;        /* server: PONG deadline */

	/* Keep-alive ([KA-*]); the server side. */
	bool ping_outstanding;
	uint8_t nonce[IB_PING_NONCE_LEN];
	uint64_t ping_sent_us;
	uint64_t ping_due_us;       /* [KA-7] when the last PING was due (sent or skipped) */
	/* The client side. */
	uint64_t last_ping_in_us;   /* the last PING read, or the end of the HELLO exchange */
	uint64_t tls_open_us;       /* the end of the TLS handshake */
	uint64_t rtt_us;
	uint64_t open_since_us;

	/* The socket's two ends for the trace, looked up at its first frame (not per frame). */
	bool trace_ends_known;
	struct ib_trace_addr trace_local, trace_peer;
#ifdef IB_FAULTS
	uint8_t fault_burst;        /* burst-after-traffic: 1 burst waiting, 2 burst sent */
#endif
};

struct lingering;               /* link.c */

/* A COMMAND this node sent, waiting for RESULTs until its timer. */
struct pending_cmd {
	struct ib_node *node;
	struct pending_cmd *next;
	uint64_t cmd_id;
	ib_id dest;                 /* all zero: everyone may answer */
	ib_result_fn fn;
	void *ctx;
	uint64_t timer;
};

/* A command registered by the embedding program. */
struct registered_cmd {
	struct registered_cmd *next;
	char name[IB_MAX_STRING + 1];
	ib_command_fn fn;
	void *ctx;
};

struct offer {
	ib_id holder;
	uint64_t version;
	ib_id writer;
	bool failed;
};

/* A version election this node runs (spec section 14). */
struct election {
	struct ib_node *node;
	struct election *next;
	uint64_t query_id;
	uint8_t key[IB_MAX_STRING];
	size_t key_len;
	bool transferring;          /* false: collecting offers */
	size_t chosen;
	struct offer *offers;
	size_t noffers, cap;
	uint64_t timer;
	ib_fetch_fn fn;
	void *ctx;
};

/* A bot of the tree map, and its last ANNOUNCE frame. */
struct map_entry {
	ib_id id;
	ib_id parent;
	uint8_t role;
	char name[IB_MAX_STRING + 1];
	char software[IB_MAX_STRING + 1];
	uint64_t seen_unix_us;
	uint64_t seq;               /* the kept ANNOUNCE's: the greatest seen ([MAP-5]) */
	struct ib_buf announce;
};

/* One origin seen in frames: its anti-replay window and the link its last frame came on. */
struct origin {
	ib_id id;
	bool used;
	struct ib_replay_window window;
	struct ib_link *route;
};

struct ib_node {
	struct ib_loop *loop;
	struct ib_config cfg;
	struct ib_identity *id;
	struct ib_keyring *kr;
	struct ib_tls_ctx *tls;
	char dir[4096];             /* "" when not opened from a directory */
	struct ib_seq_gen seq;
	char *seq_dir;              /* [MSG-14] the store's directory, NULL: nothing persisted */
	uint64_t seq_reserved;      /* [MSG-14] the reservation recorded there */
	uint64_t rng;               /* xorshift state: retry jitter (and, when `seeded`, all) */
	bool seeded;                /* a simulator's node: PING nonces and query_ids from rng */
	int64_t clock_skew_us;      /* a simulator's node: its wall clock is off by this much */
	const struct ib_transport *net; /* ib_net_sockets, or a simulator's (net.h) */
	void *net_ctx;

	int listen_fds[IB_MAX_LISTEN]; /* one per address of `listen` ([TREE-26]) */
	size_t listen_count;
	uint16_t listen_port;
	uint64_t listen_timer;      /* listening paused after an accept failure */
	bool started, stopping;
	size_t store_rejected;      /* files the store did not load, logged at start so that a
				     * log function set after ib_node_open hears them */

	struct ib_link *links;
	struct ib_link *dead;       /* closed, freed by the reap timer */
	/* While one link's input is handled, the links it sends frames to are written once at
	 * its end (link.c, on_readable): one write per link and read, not one per frame. */
	bool defer_flush;
	struct ib_link *flush_due;  /* through due_next */
	struct lingering *lingering; /* link.c: closed connections delivering their last bytes */
	size_t nlingering;
	uint64_t reap_timer;
	struct ib_link *parent;     /* the OPEN parent link, or NULL: a root */
	struct ib_link *joining;    /* our client link being set up, or NULL */
	size_t parent_index;        /* which `parents` entry joining / parent is */
	unsigned failed_rounds;     /* rounds of `parents` that all failed, for the backoff */
	uint64_t retry_timer;
	uint8_t path_len;
	ib_id path[IB_MAX_PATH];

	struct origin *origins;     /* open addressing on the id */
	size_t origin_cap, origin_count;

	struct ib_store *store;
	struct map_entry *map;
	size_t map_count, map_cap;
	struct registered_cmd *registered;
	struct pending_cmd *pending;
	size_t npending;            /* at most IB_MAX_COMMANDS_IN_FLIGHT */
	struct election *elections;
	size_t nelections;          /* open ones, at most cfg.max_elections ([ELECT-17]) */
	uint64_t next_cmd_id;

	uint64_t counters[IB_CNT__COUNT];
	struct node_log_rate {
		bool started;
		uint64_t window_us;         /* when the current interval began */
		unsigned lines;             /* written in it */
		uint64_t suppressed;        /* left out since the last line */
	} log_rate[IB_CNT__COUNT];
	ib_log_fn log_fn;
	void *log_ctx;
	enum ib_log_level log_level;
	ib_deliver_fn deliver_fn;
	void *deliver_ctx;
	ib_item_fn item_fn;
	void *item_ctx;
	ib_link_fn link_fn;
	void *link_ctx;
	struct control *control;    /* control.c: the owner tools' socket, or NULL */
	struct ib_trace *trace;     /* not owned; NULL: no trace (link.c tests only this) */
#ifdef IB_FAULTS
	enum ib_fault fault;        /* the deliberate fault this node runs with (fault.h) */
	uint64_t fault_offered;     /* version-from-offers: the greatest version offered */
	uint64_t fault_cmd_id;      /* dedupe-cmd-id: the cmd_id of the last COMMAND */
	bool fault_store_refused;   /* store-refusal-not-forwarded: the last PUBLISH was */
	bool fault_closing_with_error; /* parted-only-unexpected: the closing link's ERROR */
#endif
};

/* node.c */
/* node_log for an event that can repeat at a peer's pace: at most one line per counter c
 * each IB_LOG_INTERVAL_US (IB_LOG_BURST of them), the next one saying how many were left out. */
void node_log_every(struct ib_node *n, enum ib_log_level level, enum ib_counter c,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void node_log(const struct ib_node *n, enum ib_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void node_count(struct ib_node *n, enum ib_counter c);
uint64_t node_now_us(const struct ib_node *n);      /* monotonic */
uint64_t node_unix_us(const struct ib_node *n);
uint64_t node_random(struct ib_node *n);
/* [KA-2][ELECT-7] Unpredictable bytes: the CSPRNG, or node_random on a simulator's node. */
int node_random_bytes(struct ib_node *n, void *out, size_t len);
/* [issue 17] For a simulator, before ib_node_start: the node reaches and accepts peers
 * through t (ctx is passed back to it), and takes all its randomness from seed, so that a
 * run replays from its seed. */
void ib_node_set_transport(struct ib_node *n, const struct ib_transport *t, void *ctx,
			   uint64_t seed);
/* For a simulator: the node's wall clock (seq, [CMD-6] freshness) reads skew_us off the
 * loop's. */
void ib_node_set_clock_skew(struct ib_node *n, int64_t skew_us);
/* The second half of ib_node_reload_keys (SIGHUP's path): the keys of the directory
 * `authorized`, in the layout of authorized/, replace the keyring ([MEMBER-2]). For a
 * simulator, whose nodes have no directory of their own. */
int node_reload_keys_from(struct ib_node *n, const char *authorized, struct ib_diag *diag);
/* Signs m (seq filled in) into frame. */
int node_sign(struct ib_node *n, struct ib_msg *m, struct ib_buf *frame);
void node_link_gone(struct ib_node *n, struct ib_link *l);
void node_link_info(const struct ib_link *l, struct ib_link_info *info);
/* Tells the embedding program (ib_node_on_link, ib_node_on_item). */
void node_link_event(struct ib_node *n, const struct ib_link *l, bool up);
void node_item_event(struct ib_node *n, struct ib_slice key);
/* Applies a verified PUBLISH to the store and tells the program; < 0 on a store failure. */
/* ib_store_apply with the node's counting and logging; batched ([DATA-19]): flushed with the
 * other items of the read being handled, by node_store_commit at its end. */
int node_store_apply(struct ib_node *n, struct ib_slice frame, const struct ib_msg *pub,
		     bool batched);
void node_store_commit(struct ib_node *n);
bool node_is_child(const struct ib_node *n, const struct ib_link *l);

/* link.c */
int link_connect(struct ib_node *n, const char *addr, struct ib_link **out);
int link_accept(struct ib_node *n, int fd, const char *peer, const struct ib_net_source *source);
/* [LINK-14] accepted, its HELLO exchange not complete: its peer may be anybody. */
bool link_pending(const struct ib_link *l);
/* Queues a whole frame for the peer ([FRAME-7]: not above its max_message). */
int link_send(struct ib_link *l, const uint8_t *frame, size_t len);
/* Sends a hop-local message (seq and signature filled in). */
int link_send_msg(struct ib_link *l, struct ib_msg *m);
/* Sends ERROR code (0: none) and closes; idempotent. */
void link_close(struct ib_link *l, uint16_t code, const char *reason);
void link_free(struct ib_link *l);
bool link_open(const struct ib_link *l);
/* Bytes queued for sending that the socket has not taken yet. */
size_t link_backlog(const struct ib_link *l);
/* [LINK-11] Closes at once the connections still delivering their last bytes. */
void link_linger_free_all(struct ib_node *n);

/* hello.c */
int hello_send(struct ib_link *l);
/* The HELLO received in HELLO-WAIT; closes the link when a check fails. */
void hello_receive(struct ib_link *l, const struct ib_msg *m);

/* tree.c */
void tree_start(struct ib_node *n);
void tree_stop(struct ib_node *n);
void tree_joined(struct ib_node *n, struct ib_link *l);
void tree_link_closed(struct ib_node *n, struct ib_link *l, bool was_open);
void tree_path_received(struct ib_node *n, struct ib_link *l, const struct ib_msg *m);
bool tree_accepts_children(const struct ib_node *n);
bool tree_path_has(const struct ib_node *n, const ib_id *id);
/* [TREE-22] whether p names some id twice. */
bool tree_path_repeats(const struct ib_node *n, const struct ib_path *p);
/* [TREE-16] closes every connection the node accepted, with no_children_accepted. */
void tree_close_accepted(struct ib_node *n, const char *reason);
void tree_parents_changed(struct ib_node *n);

/* keepalive.c */
void ka_start(struct ib_link *l);
void ka_stop(struct ib_link *l);
void ka_ping_received(struct ib_link *l, const struct ib_msg *m);
void ka_pong_received(struct ib_link *l, const struct ib_msg *m);
#ifdef IB_FAULTS
void ka_frame_received(struct ib_link *l);
void ka_frame_dropped(struct ib_link *l, const struct ib_msg *m);
#endif

/* node.c: what this node does with an end-to-end message for it. */
void node_deliver(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m);

/* map.c */
void map_announce(struct ib_node *n);
void map_parted(struct ib_node *n, const ib_id *child);
void map_burst(struct ib_node *n, struct ib_link *child);
/* After the parent link is lost: only this node's subtree is still reachable ([MAP-7]). */
void map_keep_own_subtree(struct ib_node *n);
/* A valid ANNOUNCE or PARTED accepted by the anti-replay window; a valid ANNOUNCE it dropped
 * ([MAP-8]: the map still takes it when it is newer than the one kept). */
void map_received(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m);
void map_replayed(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m);
void map_free(struct ib_node *n);
#ifdef IB_FAULTS
void map_fault_link_closing(struct ib_link *l, uint16_t code);
void map_fault_frame_sent(struct ib_link *l);
#endif

/* data.c */
void data_publish_received(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m);

/* election.c */
void elect_query_received(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m);
void elect_offer_received(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m);
void elect_select_received(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m);
void elect_transfer_received(struct ib_node *n, const struct ib_frame *f,
			     const struct ib_msg *m);
void elect_free_all(struct ib_node *n);

/* command.c */
void cmd_received(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m);
void cmd_result_received(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m);
void cmd_free_all(struct ib_node *n);
/* Sends RESULT for cmd_id to `to`. */
int cmd_send_result(struct ib_node *n, const ib_id *to, uint64_t cmd_id, uint16_t status,
		    struct ib_slice output);

/* flood.c */
/* Section 9 for a frame that passed the checks of sections 5 and 6; stale: a COMMAND that
 * failed only [CMD-6], dropped by rule 2 after the anti-replay check of rule 1. */
void flood_receive(struct ib_node *n, struct ib_link *from, const struct ib_frame *f,
		   const struct ib_msg *m, bool stale);
/* [FLOOD-10] the route to origin is now l. */
void flood_learn_route(struct ib_node *n, const ib_id *origin, struct ib_link *l);
int flood_originate(struct ib_node *n, struct ib_msg *m);
/* [CMD-18] the smallest max_message of the links a frame for dest would leave on. */
uint32_t flood_room_toward(struct ib_node *n, const ib_id *dest);
/* [LINK-21] Whether a request of dest's (what: "QUERY", ...) goes unanswered for a backed-up
 * link toward dest; if so it is counted `busy` and logged at a bounded rate. */
bool flood_busy_toward(struct ib_node *n, const ib_id *dest, const char *what);
int flood_send_frame(struct ib_node *n, const struct ib_msg *m, const uint8_t *frame, size_t len);
void flood_forget_link(struct ib_node *n, const struct ib_link *l);
/* Whether a message of msg_len bytes directed to dest would be sent on some link
 * ([FLOOD-13] keeps it off links whose peer announced a smaller max_message). */
bool flood_fits(struct ib_node *n, const ib_id *dest, size_t msg_len);
/* For the faults of [ELECT-15] only: false in a build without faults. */
bool flood_fault_embedded(struct ib_node *n, const ib_id *writer, uint64_t seq);
void flood_free(struct ib_node *n);

#endif
