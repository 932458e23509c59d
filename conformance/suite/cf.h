/*
 * cf.h - what a conformance test sees: the implementation under test (IUT), tester peers
 * around it, reference nodes for mixed trees, time, and verdicts.
 *
 * A test is written once and runs in the three modes of interbot-conform:
 *   self  the reference node in this process, on virtual time (instant timers);
 *   cmd   a process started from --iut-cmd for each test, on real time;
 *   addr  a node already running at --iut-addr, which the suite cannot configure.
 * Tests reach the IUT only through the protocol (frames and the standard ib.* commands);
 * durations are protocol milliseconds, scaled by --timeout-scale on real time.
 *
 * A test returns as soon as a call returns false: the call has set the verdict.
 */
#ifndef CF_H
#define CF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "interbot.h"
#include "peer.h"

enum cf_verdict {
	CF_PASS,
	CF_FAIL,            /* the IUT broke a requirement */
	CF_UNSUPPORTED,     /* the IUT declared it lacks an optional feature */
	CF_NOT_APPLICABLE,  /* this mode cannot run the test (addr mode and a restart, ...) */
	CF_TIMEOUT,         /* the IUT did not do what was awaited in time */
	CF_CRASH,           /* the spawned IUT died */
	CF_HARNESS_ERROR,   /* the suite failed (ports, files): not the IUT's fault */
	CF__VERDICTS
};
const char *cf_verdict_name(enum cf_verdict v);     /* "PASS", "NOT-APPLICABLE", ... */

enum cf_mode { CF_MODE_SELF, CF_MODE_CMD, CF_MODE_ADDR };

/* What a test needs beyond linking to the IUT and sending it commands. A mode that cannot
 * give it reports the test NOT-APPLICABLE without running it. */
enum {
	CF_NEEDS_CONFIG = 1u << 0,  /* node.conf written by the suite: parents, timers, mode */
	CF_NEEDS_RESTART = 1u << 1, /* the IUT stopped and started again */
	CF_NEEDS_RELOAD = 1u << 2,  /* its authorized/ rewritten, then SIGHUP */
};

struct cf_ctx;

struct cf_test {
	const char *id;             /* "flood.not-echoed": the group, a dot, a stable name */
	const char *reqs;           /* spec IDs it covers, space-separated: "FLOOD-1 FLOOD-2" */
	unsigned needs;             /* CF_NEEDS_* */
	void (*run)(struct cf_ctx *c);
	const char *summary;        /* one line, for --list and the implementer who failed it */
};

/* Every group file defines a table ending with an entry whose id is NULL. */
extern const struct cf_test cf_tests_id[], cf_tests_tls[], cf_tests_frame[], cf_tests_msg[],
	cf_tests_link[], cf_tests_flood[], cf_tests_tree[], cf_tests_ka[], cf_tests_member[],
	cf_tests_data[], cf_tests_elect[], cf_tests_cmd[], cf_tests_map[], cf_tests_iface[],
	cf_tests_wire[];

/* ---- Identities ------------------------------------------------------------------------- */

/* The suite's keys, derived from --seed: tester peers T0..T7 and reference nodes R0..R3 are
 * authorized at the IUT (--export-keys writes them); the stranger is not. */
#define CF_TESTERS 8
#define CF_REFS 4
#define CF_STRANGER (-1)
const struct ib_identity *cf_tester_identity(struct cf_ctx *c, int i);  /* CF_STRANGER too */
const struct ib_identity *cf_ref_identity(struct cf_ctx *c, int i);
/* Every suite key (testers, references) and the IUT's: what peers trust. */
const struct ib_keyring *cf_suite_keyring(struct cf_ctx *c);

/* ---- The implementation under test ------------------------------------------------------ */

struct cf_iut_opts {
	const char *parents[4];     /* host:port, in order; none: a root */
	size_t nparents;
	bool client_mode;           /* mode = client */
	uint32_t keepalive_interval_ms;  /* 0: the suite's default (CF_KEEPALIVE_MS) */
	uint32_t keepalive_timeout_ms;   /* 0: CF_KEEPALIVE_TIMEOUT_MS */
	uint32_t max_message;            /* 0: the spec's default */
	uint32_t election_window_ms;     /* 0: CF_ELECTION_WINDOW_MS */
	uint32_t reconnect_min_ms, reconnect_max_ms;  /* 0: CF_RECONNECT_MIN/MAX_MS */
	const char *commands;       /* NULL: CF_COMMANDS */
	unsigned untrusted_testers; /* bit i: T<i> is left out of authorized/ */
	unsigned untrusted_refs;    /* bit i: R<i> is left out */
	const struct ib_pubkey *extra_keys[8];  /* more keys for authorized/ (vector signers); */
	size_t nextra_keys;                     /* the suite trusts them too. Needs CONFIG. */
};
#define CF_KEEPALIVE_MS 2000u
#define CF_KEEPALIVE_TIMEOUT_MS 1000u
#define CF_ELECTION_WINDOW_MS 300u
#define CF_RECONNECT_MIN_MS 200u
#define CF_RECONNECT_MAX_MS 1000u
#define CF_COMMANDS "ib.ping,ib.info,ib.get,ib.fetch,ib.publish"

/* Starts the IUT (opts NULL: defaults) and waits until it accepts TCP ([IFACE-3]). In addr
 * mode it only checks that the node accepts. */
bool cf_iut_start(struct cf_ctx *c, const struct cf_iut_opts *opts);
/* SIGTERM (self: ib_node_stop), then waits for the exit; false (FAIL IFACE-5) past 5 s. */
bool cf_iut_stop(struct cf_ctx *c);
/* Stops and starts it again with the same directory (empty_store: store/ emptied first). */
bool cf_iut_restart(struct cf_ctx *c, bool empty_store);
/* Rewrites authorized/ from the masks, then SIGHUP (self: ib_node_reload_keys). */
bool cf_iut_reload(struct cf_ctx *c, unsigned untrusted_testers, unsigned untrusted_refs);
/* Writes a file in authorized/ (contents as given) before a reload: broken keyrings. */
bool cf_iut_put_authorized(struct cf_ctx *c, const char *name, const char *contents);
/* A node directory the IUT must refuse to start on: one fault of each kind at most. */
struct cf_bad_start {
	const char *conf_append;    /* text appended to node.conf */
	bool key_group_readable;    /* identity.key mode 0640 ([ID-5]) */
	bool key_in_two_files;      /* T0's key in authorized/ twice ([ID-4]) */
};
/* Starts the IUT on such a directory: true when it refused (exited non-zero, or did not
 * open), with its message in why; *line is the line of node.conf conf_append starts at. */
bool cf_iut_start_refused(struct cf_ctx *c, const struct cf_bad_start *bad, int *line,
			  char *why, size_t cap);
/* The node directory the suite made for the IUT (self and cmd mode; NULL in addr mode), for
 * tests that change it between a cf_iut_stop and a restart. */
const char *cf_iut_dir(struct cf_ctx *c);
/* Starts the stopped IUT again on its directory, which the test changed in a way the spec
 * says the IUT must accept: a refusal fails req (cmd mode: the exit is a CRASH, with the
 * IUT's message in the log). */
bool cf_iut_restart_accepted(struct cf_ctx *c, const char *req, const char *what);
const ib_id *cf_iut_id(struct cf_ctx *c);
const struct ib_pubkey *cf_iut_key(struct cf_ctx *c);    /* its public key */
uint16_t cf_iut_port(struct cf_ctx *c);
const char *cf_iut_host(struct cf_ctx *c);
enum cf_mode cf_mode(struct cf_ctx *c);

/* ---- Tester peers ------------------------------------------------------------------------ */

/* A tester peer with identity T<i> (or CF_STRANGER); freed with the test. Its frames go to
 * the transcript. It trusts every suite key and the IUT's. */
struct hn_peer *cf_peer(struct cf_ctx *c, int tester);
/* Connects p to the IUT as a child and completes the HELLO exchange (p's path: itself). */
bool cf_link_child(struct cf_ctx *c, struct hn_peer *p);
/* Connects and completes TLS only. */
bool cf_connect(struct cf_ctx *c, struct hn_peer *p);
/* p listens as a parent; addr (IB_MAX_ADDR) gets "127.0.0.1:PORT" for cf_iut_opts.parents. */
bool cf_listen_parent(struct cf_ctx *c, struct hn_peer *p, char *addr);
/* Waits for the IUT to connect to p and send HELLO, and answers with p's HELLO
 * (path: above..., p). */
bool cf_accept_child(struct cf_ctx *c, struct hn_peer *p, const ib_id *above, size_t nabove);
/* The IUT's HELLO as p received it, decoded into m (borrowing p's copy); false if none. */
bool cf_hello_of(struct hn_peer *p, struct ib_msg *m);
/* How many frames p received that are exactly bytes[0..len). */
size_t cf_copies(const struct hn_peer *p, const uint8_t *bytes, size_t len);
/* T<i>'s id (CF_STRANGER too). */
const ib_id *cf_tester_id(struct cf_ctx *c, int i);
/* Decodes received frame i of p: the frame and its message. */
bool cf_got_msg(struct hn_peer *p, size_t i, struct ib_frame *f, struct ib_msg *m);

/* The next seq for a frame of tester T<i> (or CF_STRANGER): above every seq of that identity
 * this run, peers' frames included. Tests that sign frames themselves take their seqs here. */
uint64_t cf_next_seq(struct cf_ctx *c, int tester);

/* Message makers: fill m (zeroed first); slices borrow the strings. */
void cf_msg_publish(struct ib_msg *m, const char *key, uint64_t version, const char *value);

/* Sends COMMAND name(args) from p to dest (NULL: the IUT) and waits for its RESULT. */
bool cf_command(struct cf_ctx *c, struct hn_peer *p, const ib_id *dest, const char *name,
		const struct ib_slice *args, size_t nargs, uint16_t *status, struct ib_buf *output);
/* ib.publish KEY VALUE on the IUT; UNSUPPORTED if the IUT says `unknown`. *frame (may be
 * NULL) gets the PUBLISH frame it answers. */
bool cf_iut_publish(struct cf_ctx *c, struct hn_peer *p, const char *key, const char *value,
		    struct ib_buf *frame);

/* ---- Reference nodes (mixed trees) ------------------------------------------------------- */

/* Reference node R<i> in this process, child of parent (host:port, NULL: a root); it trusts
 * every suite key and the IUT. Freed with the test. */
struct ib_node *cf_ref_node(struct cf_ctx *c, int i, const char *parent);
/* "127.0.0.1:PORT" of a reference node, in addr (IB_MAX_ADDR). */
void cf_ref_addr(struct ib_node *n, char *addr);

/* ---- Time --------------------------------------------------------------------------------- */

/* Runs until cond(arg) holds: true. After within_ms (scaled on real time): false, and the
 * verdict TIMEOUT that says "waited N ms for <what>". */
bool cf_wait(struct cf_ctx *c, bool (*cond)(void *arg), void *arg, uint32_t within_ms,
	     const char *what);
/* The same without a verdict: whether cond held in time. */
bool cf_run_until(struct cf_ctx *c, bool (*cond)(void *arg), void *arg, uint32_t within_ms);
/* Runs for ms (scaled on real time): to see that something does not happen. */
void cf_run_for(struct cf_ctx *c, uint32_t ms);
uint64_t cf_now_ms(struct cf_ctx *c);        /* the loop's monotonic clock */
uint64_t cf_unix_us(struct cf_ctx *c);       /* the loop's wall clock */
/* The suite's event loop, for a test's own sockets (a raw TLS prober): the IUT may run on it
 * (self mode), so whatever is watched on it must never block. */
struct ib_loop *cf_loop(struct cf_ctx *c);

/* Common waits: p has `count` frames of type; p was closed (and, if code is not 0, an ERROR
 * with that code came first). */
bool cf_wait_type(struct cf_ctx *c, struct hn_peer *p, uint8_t type, size_t count,
		  uint32_t within_ms);
bool cf_wait_closed(struct cf_ctx *c, struct hn_peer *p, uint16_t code, const char *req,
		    uint32_t within_ms);

/* ---- Verdicts ------------------------------------------------------------------------------ */

/* When ok is false: FAIL against requirement req (its text goes in the report), with what
 * was expected and what happened (printf format). Returns ok. */
bool cf_expect(struct cf_ctx *c, bool ok, const char *req, const char *expected,
	       const char *actual_fmt, ...) __attribute__((format(printf, 5, 6)));
void cf_unsupported(struct cf_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cf_harness_error(struct cf_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The test cannot run here, for a reason only it can see (no capture rights, ...). */
void cf_not_applicable(struct cf_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A free-form line in the transcript (shown with -v and in reports). */
void cf_note(struct cf_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether the test can go on (no verdict other than PASS yet). */
bool cf_ok(const struct cf_ctx *c);
/* The test's own random numbers, from --seed and the test id. */
uint64_t cf_rand(struct cf_ctx *c);

#endif
