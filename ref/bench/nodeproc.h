/*
 * nodeproc.h - a real `interbot run` process for relay and publish: its directory, the
 * process alone on the last core, and two tester peers linked to it as its children, the
 * sender S and the receiver C, on a loop of this process (pinned to the other cores).
 */
#ifndef IB_BENCH_NODEPROC_H
#define IB_BENCH_NODEPROC_H

#include <jansson.h>
#include <sys/types.h>

#include "bench.h"
#include "harness.h"
#include "peer.h"

struct nodeproc {
	char dir[512];
	pid_t pid;
	uint16_t port;
	int cores;
	struct ib_identity *node_id, *sender_id, *receiver_id;
	struct ib_keyring *trusted;
	struct ib_loop *loop;
	struct hn_peer *sender, *receiver;
};

/* Makes the node's directory (a new one under base, else TMPDIR, else /tmp: identity,
 * authorized/ with S and C, store/, node.conf), starts `program run` on it and links S and C.
 * On failure what was made is left for nodeproc_stop. */
int nodeproc_start(struct nodeproc *r, const char *program, const char *base);
/* Stops the node (SIGTERM), frees the peers; keep_dir: the directory stays, for its log. */
void nodeproc_stop(struct nodeproc *r, bool keep_dir);
/* The core the node runs on (the last). */
int nodeproc_node_core(const struct nodeproc *r);
/* This process on every core but the node's. */
void nodeproc_pin_peers(const struct nodeproc *r);
/* Raw verifies per second of a msg_len-byte message on core `core` (this process moves
 * there; nodeproc_pin_peers moves it back). */
double nodeproc_verify_rate_on(int core, size_t msg_len, double seconds);
/* bench_seal_rate on that core (the caller moves back with nodeproc_pin_peers). */
double nodeproc_seal_rate_on(int core, size_t len, double seconds);
/* S writes frames[*off..) (whole frames of frame_len bytes) as fast as the node takes them
 * until C has counted `count` more frames: the seconds it took, or a negative value if a peer
 * was cut or it took more than max_s. */
double nodeproc_send(struct nodeproc *r, const struct ib_buf *frames, size_t *off, size_t count,
		     size_t frame_len, double max_s);
/* The node's answer to {"cmd":"status"} on DIR/control.sock, or NULL (within 5 s). */
json_t *nodeproc_status(const struct nodeproc *r);

#endif
