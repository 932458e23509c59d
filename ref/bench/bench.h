/*
 * bench.h - what the parts of interbot-bench share: the options, the benchmarks' entry
 * points, and the bounds (bound.c), each a measure of what the machine alone can do, taken in
 * the same run as the figure it is printed beside.
 *
 * Every benchmark prints `name=value` lines on standard output and returns 0, or 1 when a
 * measurement failed. main() runs each one in a child process (report.c): its figures are
 * then its own (heap, RSS, descriptors), and the parent copies each line into the JSON
 * report.
 */
#ifndef IB_BENCH_H
#define IB_BENCH_H

#include <stdbool.h>
#include <stddef.h>

#include "interbot.h"

#define BENCH_MAX_SIZES 8

struct bench_opts {
	double seconds;             /* how long each rate is measured */
	const char *self;           /* argv[0]: the programs beside it are this build's */
	const char *dir;            /* where node directories and stores go (NULL: TMPDIR) */
	size_t sizes[BENCH_MAX_SIZES]; /* bringup's tree sizes */
	size_t nsizes;
	double budget;              /* bringup: the wall seconds a tree may be expected to take */
};

int bench_wire(const struct bench_opts *o);
int bench_tree(const struct bench_opts *o);      /* bringup + memory + flood */
int bench_bringup(const struct bench_opts *o);
int bench_memory(const struct bench_opts *o);
int bench_flood(const struct bench_opts *o);
int bench_latency(const struct bench_opts *o);
int bench_data(const struct bench_opts *o);
int bench_relay(const struct bench_opts *o);
int bench_publish(const struct bench_opts *o);
int bench_suite(const struct bench_opts *o);

/* ---- bound.c ---------------------------------------------------------------------------- */

double bench_now(void);                          /* CLOCK_MONOTONIC, seconds */
double bench_ln(double x);                       /* natural logarithm, x > 0 */
double bench_exp(double x);
size_t bench_heap_bytes(void);                   /* malloc'd and in use (mallinfo2) */
size_t bench_rss_bytes(void);                    /* this process's resident set (/proc) */
/* Raw Ed25519 verifies per second of one msg_len-byte message through ib_pubkey_verify, on
 * the calling thread's core(s), for about `seconds`; 0 on failure. */
/* A PUBLISH of "bench/key", version seq, a value of value_len zero bytes (BENCH_VALUE_MAX at
 * most), signed by id and appended to frame. IB_OK or the codec's error. */
#define BENCH_VALUE_MAX 128u
int bench_publish_frame(const struct ib_identity *id, uint64_t seq, size_t value_len,
			struct ib_buf *frame);
double bench_verify_rate(size_t msg_len, double seconds);
/* AES-256-GCM seals per second of a len-byte record: what TLS costs a relay per frame, once
 * to open it and once to seal it again. */
double bench_seal_rate(size_t len, double seconds);
/* Handshakes per second of one client and server pair through memory (TLS 1.3, pinned keys):
 * every link of a tree costs one. */
double bench_handshake_rate(double seconds);
/* Heap held by one client and server pair through memory once the handshake is done and the
 * engines have released their buffers (SSL_MODE_RELEASE_BUFFERS): what an idle link's TLS
 * costs, both ends; 0 on failure. */
size_t bench_tls_idle_pair_bytes(void);
/* write + fsync + rename + fsync(dir) of a size-byte file in dir, per second. */
double bench_fsync_replace_rate(const char *dir, size_t size, double seconds);
/* The file system type of path, as a name ("ext4", "tmpfs", or the magic number in hex). */
const char *bench_fs_type(const char *path, char *buf, size_t cap);
/* A new directory under o->dir or TMPDIR or /tmp, named PREFIX-XXXXXX, in out; false on
 * failure. */
bool bench_mkdtemp(const struct bench_opts *o, const char *prefix, char *out, size_t cap);
/* The program `name` beside this one (argv[0]'s folder), unless the environment variable
 * env names another. */
void bench_program(const struct bench_opts *o, const char *name, const char *env, char *out,
		   size_t cap);

/* ---- report.c --------------------------------------------------------------------------- */

/* Runs each named benchmark in a child, echoes its lines, and writes them with the machine's
 * facts to json_path when it is not NULL. Returns 0 when every benchmark succeeded. */
int bench_run_all(const char *const *names, size_t count, const struct bench_opts *o,
		  const char *json_path);
/* The benchmark of that name, or NULL. */
int (*bench_find(const char *name))(const struct bench_opts *o);

#endif
