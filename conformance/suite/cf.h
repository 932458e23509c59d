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
	/* Not a need: the test waits out seconds of the IUT's timers. Under -j such tests start
	 * first, so that they run beside the others rather than after them. */
	CF_SLOW = 1u << 3,
	CF_NEEDS_CLOCK = 1u << 4,   /* the suite sets the IUT's clock: self mode only */
	CF_NEEDS_PROCESS = 1u << 5, /* the suite reads the IUT's process (/proc: its CPU time) */
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
	cf_tests_wire[], cf_tests_hostile[];

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

/* A file a test puts in the IUT's node directory, over what the suite wrote there. */
struct cf_iut_file {
	const char *name;           /* relative to the directory: "authorized/x.pub" */
	const char *text;           /* its contents (a regular file, mode 0600) */
	const char *link_to;        /* instead: a symbolic link to this path */
	const struct ib_identity *cert_of;  /* instead: a self-signed certificate of this key */
	bool dir;                   /* instead: a directory */
	bool remove;                /* instead: the suite's file of that name is removed */
};

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
	const struct ib_pubkey *extra_keys[80]; /* more keys for authorized/ (vector signers); */
	size_t nextra_keys;                     /* the suite trusts them too. Needs CONFIG. */
	/* These need CONFIG too: */
	const char *conf_omit;      /* space-separated keys the suite leaves out of node.conf */
	const char *conf_extra;     /* text appended to node.conf */
	const struct cf_iut_file *files;  /* put in the directory, in order, before the start */
	size_t nfiles;
	const char *dir_suffix;     /* appended to the directory's path as the IUT is given it
				     * ({dir}): "/./" names the same directory */
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
/* [IFACE-21] Starts the IUT with settings (node.conf lines, such as "max_writer_items = 64\n")
 * appended; when it exits 69 for them ([IFACE-8]), notes it and starts it again without them.
 * 1: started with them, 0: without, -1: not started (the verdict says why). Needs CONFIG. */
int cf_iut_start_with(struct cf_ctx *c, struct cf_iut_opts *o, const char *settings);
/* SIGTERM (self: ib_node_stop), then waits for the exit; false (FAIL IFACE-5) past 5 s. */
bool cf_iut_stop(struct cf_ctx *c);
/* Only the SIGTERM: the test watches the IUT stop, then cf_iut_stop waits for the exit
 * (within 5 s of this call). */
bool cf_iut_stop_begin(struct cf_ctx *c);
/* Stops and starts it again with the same directory (empty_store: store/ emptied first). */
bool cf_iut_restart(struct cf_ctx *c, bool empty_store);
/* Crashes it (self: freed, nothing sent, as SIGKILL) and starts it again with the same
 * directory, its wall clock skew_us off the suite's (< 0: set back). Needs CLOCK, unless
 * skew_us is 0 (then RESTART: cmd mode kills the process, libfaketime or not). */
bool cf_iut_crash_restart_skewed(struct cf_ctx *c, int64_t skew_us);
/* Rewrites authorized/ from the masks, then SIGHUP (self: ib_node_reload_keys). */
bool cf_iut_reload(struct cf_ctx *c, unsigned untrusted_testers, unsigned untrusted_refs);
/* The IUT runs nothing for ms (SIGSTOP, then SIGCONT; self: the clock jumps with no loop
 * turn), as a host that slept. Needs RESTART (the suite runs the process). */
bool cf_iut_stall(struct cf_ctx *c, uint32_t ms);
/* This test's process (and the IUT it starts after) resolves names with /etc/hosts plus
 * lines, in a private mount namespace (hosts.c). False, with why, where it cannot: not
 * root, or the test runs in the suite's own process. */
bool cf_private_hosts(struct cf_ctx *c, const char *lines, char *why, size_t cap);
/* A TCP address that never answers: a listener on ip:port (a numeric IPv4 or IPv6 address;
 * port 0: any) whose accept queue is full, so that the kernel drops every SYN; addr gets
 * "ip:port" or "[ip]:port".
 * fds[] holds the listener and the connections that fill it, -1 where none. */
#define CF_HOLE_FILL 3
bool cf_black_hole(struct cf_ctx *c, int fds[CF_HOLE_FILL + 1], const char *ip, uint16_t port,
		   char *addr);
/* Closes them, and sets them to -1: closing twice is harmless. */
void cf_black_hole_close(int fds[CF_HOLE_FILL + 1]);
/* Writes a file in authorized/ (contents as given) before a reload: broken keyrings. */
bool cf_iut_put_authorized(struct cf_ctx *c, const char *name, const char *contents);
/* A node directory the IUT must refuse to start on: one fault of each kind at most. */
struct cf_bad_start {
	const char *conf_append;    /* text appended to node.conf */
	const char *conf_omit;      /* keys left out of node.conf, as in cf_iut_opts */
	unsigned key_mode;          /* identity.key's mode, when not 0 ([ID-5], [ID-6]) */
	bool key_in_two_files;      /* T0's key in authorized/ twice ([ID-4]) */
	const struct cf_iut_file *files;  /* as in cf_iut_opts */
	size_t nfiles;
};
/* What a start on such a directory showed. */
struct cf_refusal {
	int line;                   /* the line of node.conf conf_append starts at */
	char why[4096];             /* what the IUT wrote (self mode: the reference's message) */
	int status;                 /* cmd mode: its exit status; -1 when a signal ended it or
				     * in self mode (no process) */
};
/* Starts the IUT on such a directory: true when it refused (it exited before it listened;
 * self mode: it did not open), with what it said in r. A refusal that breaks [IFACE-9]'s
 * exit rule (status 0 or 69, or a signal) is judged here: FAIL IFACE-9. When it did not
 * refuse, the IUT runs as after cf_iut_start. */
bool cf_iut_start_refused(struct cf_ctx *c, const struct cf_bad_start *bad,
			  struct cf_refusal *r);
/* The node directory the suite made for the IUT (self and cmd mode; NULL in addr mode), for
 * tests that change it between a cf_iut_stop and a restart. */
const char *cf_iut_dir(struct cf_ctx *c);
/* Starts the stopped IUT again on its directory, which the test changed in a way the spec
 * says the IUT must accept: a refusal fails req (cmd mode: the exit is a CRASH, with the
 * IUT's message in the log). */
bool cf_iut_restart_accepted(struct cf_ctx *c, const char *req, const char *what);
const ib_id *cf_iut_id(struct cf_ctx *c);
/* The IUT's 32-byte private key, which the suite derived (self and cmd mode): for tests that
 * write identity.key in another form. */
void cf_iut_secret(struct cf_ctx *c, uint8_t out[32]);
const struct ib_pubkey *cf_iut_key(struct cf_ctx *c);    /* its public key */
uint16_t cf_iut_port(struct cf_ctx *c);
/* The descriptors open in the IUT's process (/proc): the process the suite started (cmd
 * mode; an adapter that does not exec the node shows its own), this one (self mode); -1 in
 * addr mode or without /proc. */
int cf_iut_open_fds(struct cf_ctx *c);
/* The resident memory of the process the suite started (cmd mode, /proc), in kB; -1 in the
 * other modes (self mode shares it with the suite) or without /proc. */
long cf_iut_rss_kb(struct cf_ctx *c);
/* The CPU time (user and system) the process the suite started has used, in ms (cmd mode,
 * /proc); -1 in the other modes or without /proc. */
long cf_iut_cpu_ms(struct cf_ctx *c);
/* Sockets of this host in SYN-SENT toward port (/proc/net/tcp6 or tcp: state 02), whichever
 * process holds them: a connect given up must be closed, not left sending SYNs. -1 when the
 * table cannot be read. */
int cf_syn_sent_to(uint16_t port, bool v6);
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
/* Tries to link p as a child, with no verdict on the outcome: *accepted when TLS completed
 * and the IUT answered HELLO on a link it kept; false only for a timeout or the harness. */
bool cf_try_link(struct cf_ctx *c, struct hn_peer *p, bool *accepted);
/* p listens as a parent; addr (IB_MAX_ADDR) gets "127.0.0.1:PORT" for cf_iut_opts.parents. */
bool cf_listen_parent(struct cf_ctx *c, struct hn_peer *p, char *addr);
/* T<tester> (*parent) listens as a parent at addr (IB_MAX_ADDR), addr is added to o's
 * parents, and the IUT starts with o: it connects to the parent next (cf_accept_child, or
 * cf_wait_type for its HELLO). */
bool cf_iut_start_toward(struct cf_ctx *c, struct cf_iut_opts *o, int tester,
			 struct hn_peer **parent, char *addr);
/* Waits for the IUT to connect to p and send HELLO, and answers with p's HELLO
 * (path: above..., p). */
bool cf_accept_child(struct cf_ctx *c, struct hn_peer *p, const ib_id *above, size_t nabove);
/* The IUT's HELLO as p received it, decoded into m (borrowing p's copy); false if none. */
bool cf_hello_of(struct hn_peer *p, struct ib_msg *m);
/* How many frames p received that are exactly bytes[0..len). */
size_t cf_copies(const struct hn_peer *p, const uint8_t *bytes, size_t len);
/* T<i>'s id (CF_STRANGER too). */
const ib_id *cf_tester_id(struct cf_ctx *c, int i);
/* T<i> and T<j> as the one whose id sorts lower (*lo) and higher (*hi): for tests of how
 * writers rank at one version. */
void cf_order_testers(struct cf_ctx *c, int i, int j, const struct ib_identity **lo,
		      const struct ib_identity **hi);
/* Decodes received frame i of p: the frame and its message. */
bool cf_got_msg(struct hn_peer *p, size_t i, struct ib_frame *f, struct ib_msg *m);

/* The next seq for a frame of tester T<i> (or CF_STRANGER): above every seq of that identity
 * this run, peers' frames included. Tests that sign frames themselves take their seqs here. */
uint64_t cf_next_seq(struct cf_ctx *c, int tester);

/* der as one PEM block labelled label (RFC 7468, 64 columns), NUL-terminated in out. */
void cf_pem(const char *label, const uint8_t *der, size_t len, char *out, size_t cap);

/* Message makers: fill m (zeroed first); slices borrow the strings. */
void cf_msg_publish(struct ib_msg *m, const char *key, uint64_t version, const char *value);
/* A PUBLISH frame of (key, version, value) signed by writer with this seq, into *out (reset
 * first), not sent: for frames a test sends raw, transfers, or compares with what it gets.
 * False (HARNESS error) if it cannot be made. */
bool cf_publish_frame(struct cf_ctx *c, const struct ib_identity *writer, const char *key,
		      uint64_t version, const char *value, uint64_t seq, struct ib_buf *out);
/* Appends a frame envelope with any signature_length to out: id_bot (origin), S, M, sig[S],
 * msg. For frames the codec would refuse to build (bad lengths, bad signatures). */
bool cf_put_envelope(struct ib_buf *out, const ib_id *origin, const uint8_t *sig,
		     size_t sig_len, const struct ib_buf *msg);
/* Sends m from p directed to the IUT (m's dest is set); false (HARNESS error) on failure. */
bool cf_send_to_iut(struct cf_ctx *c, struct hn_peer *p, struct ib_msg *m);
/* "base.<clock>" into buf: a key no earlier run stored (a node started by the user with
 * --iut-addr keeps its store between runs). Returns buf. */
const char *cf_fresh_key(struct cf_ctx *c, const char *base, char *buf, size_t cap);

/* Sends COMMAND name(args) from p to dest (NULL: the IUT) and waits for its RESULT. */
bool cf_command(struct cf_ctx *c, struct hn_peer *p, const ib_id *dest, const char *name,
		const struct ib_slice *args, size_t nargs, uint16_t *status, struct ib_buf *output);
/* Whether status, the answer to the standard command name, shows that it ran. When not:
 * UNSUPPORTED for `denied` from a node the suite did not configure (addr mode, its owner's
 * `commands`); FAIL CMD-13 for `unknown`, FAIL CMD-2 for `denied` otherwise (section 19.3). */
bool cf_standard_ran(struct cf_ctx *c, const char *name, uint16_t status);
/* ib.publish KEY VALUE on the IUT, judged by cf_standard_ran, then ok ([CMD-3]). *frame (may
 * be NULL) gets the PUBLISH frame it answers. */
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
/* Runs for exactly ms of protocol time, never scaled: where the wait is itself what the
 * test measures against the IUT's own timers (a link held so long, a HELLO sent so late),
 * --timeout-scale must not stretch it. */
void cf_pause(struct cf_ctx *c, uint32_t ms);
/* keys_digest (section 15) of the keyring the suite gave the IUT: the testers but those of
 * the mask, the reference nodes and the IUT's own key, each once; 64 hex digits. */
bool cf_keys_digest(struct cf_ctx *c, unsigned untrusted_testers, char hex[65]);
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
/* p sends ERROR code (reason "bye"); false (HARNESS error) if it cannot. */
bool cf_send_error(struct cf_ctx *c, struct hn_peer *p, uint16_t code);

/* ---- Verdicts ------------------------------------------------------------------------------ */

/* When ok is false: FAIL against requirement req (its text goes in the report), with what
 * was expected and what happened (printf format). Returns ok. */
bool cf_expect(struct cf_ctx *c, bool ok, const char *req, const char *expected,
	       const char *actual_fmt, ...) __attribute__((format(printf, 5, 6)));
/* For clang-tidy's analyzer (make lint) only, which defines __clang_analyzer__: cf_expect
 * returns ok, which the analyzer cannot see from a test's file, so it followed paths on which
 * a failed expectation went on to read what was not there. Each argument is evaluated once,
 * as before; ctx.c defines the function as (cf_expect), which this does not expand. No build
 * compiles this. */
#ifdef __clang_analyzer__
#define cf_expect(c, ok, ...) \
	((ok) ? cf_expect(c, true, __VA_ARGS__) : (cf_expect(c, false, __VA_ARGS__), false))
#endif
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
