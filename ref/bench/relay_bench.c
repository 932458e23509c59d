/*
 * relay_bench.c - `interbot-bench relay`: a real `interbot run` process relays frames from one
 * child to another, against the bound measured in the same run: raw Ed25519 verifies per
 * second on one core, since the relay verifies every frame it forwards ([FRAME-6]).
 *
 * The node runs alone on the last core (sched_setaffinity), the two tester peers and this
 * process on the others; with one core only, everything shares it and the figures say so. The
 * sender S sends COMMAND frames directed to the receiver C, signed before the clock starts
 * and written as fast as the node's socket takes them; C only counts what arrives. The bound
 * and the relay are measured in turns, seven rounds a size, since a shared host's speed
 * drifts within a minute. Printed, for each frame size (medians of the rounds):
 *   relay_SIZE_frames_per_s          frames C received per second, first sent to last
 *   relay_SIZE_cpu_us_per_frame      the node's CPU (user + system, /proc) per frame relayed
 *   relay_SIZE_bound_verifies_per_s  raw verifies per second of a SIZE-byte frame's message
 *   relay_SIZE_ratio_to_bound        frames_per_s / that bound, each round's own
 *   relay_SIZE_ratio_min, _max       the extremes of the rounds
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "peer.h"

int bench_relay(double seconds, const char *self);

#define RELAY_SETUP_US (10ull * 1000000ull)   /* for the node to listen and link the peers */
#define RELAY_UNSENT_MAX (512u * 1024u)         /* what S keeps ahead of the node's socket */
#define RELAY_CHUNK (64u * 1024u)              /* bytes of frames handed to S at once */
#define RELAY_ROUNDS 7                         /* bound, then relay, this many times */
#define RELAY_SLICE_MAX_S 60.0                 /* a relay slice that takes longer failed */

struct relay {
	char dir[256];
	pid_t pid;
	uint16_t port;
	int cores;
	struct ib_identity *node_id, *sender_id, *receiver_id;
	struct ib_keyring *trusted;
	struct ib_loop *loop;
	struct hn_peer *sender, *receiver;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Pins the calling process to core `core` of the machine's first `cores`. */
static void pin(int core)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(core, &set);
	sched_setaffinity(0, sizeof set, &set);
}

/* This process (the peers) on every core but the node's. */
static void pin_peers(const struct relay *r)
{
	cpu_set_t set;

	if (r->cores < 2)
		return;
	CPU_ZERO(&set);
	for (int i = 0; i < r->cores - 1; i++)
		CPU_SET(i, &set);
	sched_setaffinity(0, sizeof set, &set);
}

/* Raw verifies per second of one msg_len-byte message, on core `core`. */
static double verify_rate_on(int core, size_t msg_len, double seconds)
{
	struct ib_identity *id = NULL;
	uint8_t sig[IB_SIG_LEN], *msg = calloc(1, msg_len);
	double t0, t = 0;
	long n = 0;

	pin(core);
	if (msg && !ib_identity_generate(&id) && !ib_identity_sign(id, msg, msg_len, sig)) {
		t0 = now_s();
		do {
			for (int i = 0; i < 32; i++)
				ib_pubkey_verify(ib_identity_pubkey(id), msg, msg_len, sig, sizeof sig);
			n += 32;
			t = now_s() - t0;
		} while (t < seconds);
	}
	ib_identity_free(id);
	free(msg);
	return t > 0 ? (double)n / t : 0;
}

/* DIR/identity.key, authorized/ (S and C), store/, node.conf. */
static int write_node_dir(struct relay *r)
{
	char path[512];
	FILE *f;
	int err = IB_ERR_IO;

	snprintf(r->dir, sizeof r->dir, "%s/interbot-bench-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(r->dir))
		return IB_ERR_IO;
	snprintf(path, sizeof path, "%s/authorized", r->dir);
	if (mkdir(path, 0700) != 0)
		return IB_ERR_IO;
	snprintf(path, sizeof path, "%s/store", r->dir);
	if (mkdir(path, 0700) != 0)
		return IB_ERR_IO;
	snprintf(path, sizeof path, "%s/identity.key", r->dir);
	if (ib_identity_save(r->node_id, path) != IB_OK)
		return IB_ERR_IO;
	snprintf(path, sizeof path, "%s/authorized/sender.pub", r->dir);
	if (ib_pubkey_save(ib_identity_pubkey(r->sender_id), path) != IB_OK)
		return IB_ERR_IO;
	snprintf(path, sizeof path, "%s/authorized/receiver.pub", r->dir);
	if (ib_pubkey_save(ib_identity_pubkey(r->receiver_id), path) != IB_OK)
		return IB_ERR_IO;
	snprintf(path, sizeof path, "%s/node.conf", r->dir);
	if (!(f = fopen(path, "w")))
		return IB_ERR_IO;
	if (fprintf(f, "name = relay\nlisten = 127.0.0.1:%u\n", r->port) > 0)
		err = IB_OK;
	if (fclose(f) != 0)
		err = IB_ERR_IO;
	return err;
}

static int start_node(struct relay *r, const char *program)
{
	r->pid = fork();
	if (r->pid < 0)
		return IB_ERR_IO;
	if (r->pid == 0) {
		char log[512];

		snprintf(log, sizeof log, "%s/node.log", r->dir);
		if (!freopen(log, "w", stderr))
			_exit(127);
		pin(r->cores - 1);
		execl(program, program, "run", "--log-level", "info", r->dir, (char *)NULL);
		_exit(127);
	}
	return IB_OK;
}

static bool peer_open(struct hn_peer *p)
{
	return hn_peer_tls_open(p) || hn_peer_closed(p);
}

static bool peer_hello(struct hn_peer *p)
{
	return hn_peer_count(p, IB_MSG_HELLO) > 0 || hn_peer_closed(p);
}

/* Runs the loop until cond(p) or until_us has passed: whether cond held. */
static bool run_until(struct relay *r, bool (*cond)(struct hn_peer *), struct hn_peer *p,
		      uint64_t within_us)
{
	uint64_t end = ib_loop_now_us(r->loop) + within_us;

	while (!cond(p) && ib_loop_now_us(r->loop) < end)
		ib_loop_run_once(r->loop, 10);
	return cond(p);
}

/* Whether the node accepts a TCP connection yet. */
static bool node_listening(const struct relay *r)
{
	struct pollfd pfd = { .fd = -1, .events = POLLOUT };
	int soerr = 1;
	socklen_t len = sizeof soerr;

	if (hn_connect_from("127.0.0.1", "127.0.0.1", r->port, &pfd.fd) != IB_OK)
		return false;
	if (poll(&pfd, 1, 1000) == 1)
		getsockopt(pfd.fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	close(pfd.fd);
	return soerr == 0;
}

/* Connects p as the node's child and exchanges HELLO, once the node listens. */
static int link_child(struct relay *r, struct hn_peer *p)
{
	uint64_t end = ib_loop_now_us(r->loop) + RELAY_SETUP_US;

	while (!node_listening(r)) {
		if (ib_loop_now_us(r->loop) >= end)
			return IB_ERR_IO;
		ib_loop_run_once(r->loop, 20); /* starting: 20 ms, then again */
	}
	if (hn_peer_connect_to(p, "127.0.0.1", r->port) != IB_OK ||
	    !run_until(r, peer_open, p, RELAY_SETUP_US) || hn_peer_closed(p) ||
	    hn_peer_send_hello(p, IB_ROLE_SERVER, 30000, NULL, 0) != IB_OK ||
	    !run_until(r, peer_hello, p, RELAY_SETUP_US) || hn_peer_closed(p))
		return IB_ERR_IO;
	return IB_OK;
}

static int setup(struct relay *r, const char *program)
{
	struct ib_pubkey *k = NULL;
	int err;

	r->cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (r->cores < 1)
		r->cores = 1;
	err = ib_identity_generate(&r->node_id);
	if (!err)
		err = ib_identity_generate(&r->sender_id);
	if (!err)
		err = ib_identity_generate(&r->receiver_id);
	if (!err)
		err = ib_keyring_new(&r->trusted);
	if (!err)
		err = ib_pubkey_from_raw(&k, ib_pubkey_raw(ib_identity_pubkey(r->node_id)));
	if (!err && (err = ib_keyring_add(r->trusted, k)) != IB_OK)
		ib_pubkey_free(k);
	if (!err && !(r->port = hn_free_port()))
		err = IB_ERR_IO;
	if (!err)
		err = write_node_dir(r);
	if (!err)
		err = start_node(r, program);
	if (!err)
		err = ib_loop_new(&r->loop, ib_clock_system());
	if (!err) {
		pin_peers(r);
		err = hn_peer_new_as(&r->sender, r->loop, r->trusted, r->sender_id);
	}
	if (!err)
		err = hn_peer_new_as(&r->receiver, r->loop, r->trusted, r->receiver_id);
	if (!err)
		err = link_child(r, r->sender);
	if (!err)
		err = link_child(r, r->receiver);
	return err;
}

/* keep_dir: the node directory stays, for its log. */
static void teardown(struct relay *r, bool keep_dir)
{
	hn_peer_free(r->sender);
	hn_peer_free(r->receiver);
	ib_loop_free(r->loop);
	if (r->pid > 0) {
		kill(r->pid, SIGTERM);
		waitpid(r->pid, NULL, 0);
	}
	ib_keyring_free(r->trusted);
	ib_identity_free(r->node_id);
	ib_identity_free(r->sender_id);
	ib_identity_free(r->receiver_id);
	if (r->dir[0] && !keep_dir)
		hn_remove_tree(r->dir);
}

/* count COMMAND frames from S to C of frame_len bytes each, signed now, into out. */
static int sign_frames(struct relay *r, size_t frame_len, size_t count, struct ib_buf *out)
{
	struct ib_buf args = { 0 }, one = { 0 };
	uint8_t *filler = calloc(1, frame_len);
	size_t fill = 0;
	int err = filler ? IB_OK : IB_ERR_NOMEM;

	/* The filler's length: the frame with none, then with the difference (one pass more
	 * for the length prefix of the argument). */
	for (int pass = 0; !err && pass < 3; pass++) {
		struct ib_msg m;

		ib_buf_reset(&args);
		ib_buf_reset(&one);
		if (fill)
			err = ib_args_put(&args, (struct ib_slice){ filler, fill });
		memset(&m, 0, sizeof m);
		m.h.type = IB_MSG_COMMAND;
		m.h.dest = *ib_identity_id(r->receiver_id);
		m.u.command = (struct ib_command){ 1, { (const uint8_t *)"bench", 5 },
						   { args.ptr, args.len } };
		if (!err)
			err = hn_peer_frame(r->sender, &m, NULL, NULL, false, &one);
		if (!err && one.len != frame_len)
			fill = one.len < frame_len ? fill + (frame_len - one.len)
						   : (fill > one.len - frame_len ? fill - (one.len - frame_len) : 0);
	}
	for (size_t i = 0; !err && i < count; i++) {
		struct ib_msg m;

		memset(&m, 0, sizeof m);
		m.h.type = IB_MSG_COMMAND;
		m.h.dest = *ib_identity_id(r->receiver_id);
		m.u.command = (struct ib_command){ i + 2, { (const uint8_t *)"bench", 5 },
						   { args.ptr, args.len } };
		err = hn_peer_frame(r->sender, &m, NULL, NULL, false, out);
	}
	ib_buf_free(&args);
	ib_buf_free(&one);
	free(filler);
	return err;
}

/* S writes frames[*off..) as fast as the node takes them until C has counted `count` more:
 * the seconds it took, or a negative value if a peer was cut or it took too long. */
static double relay_slice(struct relay *r, const struct ib_buf *frames, size_t *off,
			  size_t count, size_t frame_len)
{
	size_t before = hn_peer_counted(r->receiver), end = *off + count * frame_len;
	double t0 = now_s();

	/* Only this slice's frames: the node is idle once C has them all, and the next bound
	 * is measured on a quiet core. */
	while (hn_peer_counted(r->receiver) - before < count) {
		if (hn_peer_closed(r->sender) || hn_peer_closed(r->receiver) ||
		    now_s() - t0 > RELAY_SLICE_MAX_S)
			return -1;
		while (*off < end && hn_peer_unsent(r->sender) < RELAY_UNSENT_MAX) {
			size_t n = end - *off < RELAY_CHUNK ? end - *off : RELAY_CHUNK;

			if (hn_peer_send_raw(r->sender, frames->ptr + *off, n) != IB_OK)
				return -1;
			*off += n;
		}
		ib_loop_run_once(r->loop, 10);
	}
	return now_s() - t0;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, by_value);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* RELAY_ROUNDS rounds, each the bound (raw verifies on the node's core, the node idle) then
 * the relay of as many frames as that bound verifies in `seconds`: this machine's speed
 * drifts (a shared host), so each ratio compares figures taken a moment apart, and the
 * medians are printed. */
static int relay_run(struct relay *r, size_t frame_len, double seconds)
{
	struct ib_buf frames = { 0 };
	double ratio[RELAY_ROUNDS], rate[RELAY_ROUNDS], bound[RELAY_ROUNDS];
	size_t count[RELAY_ROUNDS], total = 0, off = 0;
	size_t msg_len = frame_len - IB_FRAME_HEADER_LEN - IB_SIG_LEN;
	int node_core = r->cores > 1 ? r->cores - 1 : 0;
	long cpu0, cpu1;
	int err = IB_OK;

	/* The rate of the first bound sizes every round, so that all frames are signed first. */
	bound[0] = verify_rate_on(node_core, msg_len, seconds / 4);
	for (size_t i = 0; i < RELAY_ROUNDS; i++) {
		count[i] = (size_t)(bound[0] * seconds) < 100 ? 100 : (size_t)(bound[0] * seconds);
		total += count[i];
	}
	pin_peers(r);
	err = sign_frames(r, frame_len, total, &frames);
	if (!err && frames.len != total * frame_len)
		err = IB_ERR_RANGE; /* the slices cut the buffer at frame boundaries */
	if (err)
		goto out;
	hn_peer_count_only(r->receiver);
	cpu0 = hn_proc_cpu_ms((long)r->pid);
	for (size_t i = 0; i < RELAY_ROUNDS; i++) {
		double t;

		bound[i] = verify_rate_on(node_core, msg_len, seconds / 4);
		pin_peers(r);
		t = relay_slice(r, &frames, &off, count[i], frame_len);
		if (t <= 0 || bound[i] <= 0) {
			fprintf(stderr, "interbot-bench relay: round %zu of %zu-byte frames: %zu frames "
				"arrived in all, a link was cut or %.0f s passed\n", i + 1, frame_len,
				hn_peer_counted(r->receiver), RELAY_SLICE_MAX_S);
			err = IB_ERR_IO;
			goto out;
		}
		rate[i] = (double)count[i] / t;
		ratio[i] = rate[i] / bound[i];
	}
	cpu1 = hn_proc_cpu_ms((long)r->pid);
	printf("relay_%zu_frames=%zu\n", frame_len, total);
	printf("relay_%zu_frames_per_s=%.0f\n", frame_len, median(rate, RELAY_ROUNDS));
	if (cpu0 >= 0 && cpu1 >= cpu0)
		printf("relay_%zu_cpu_us_per_frame=%.1f\n", frame_len,
		       1000.0 * (double)(cpu1 - cpu0) / (double)total);
	printf("relay_%zu_bound_verifies_per_s=%.0f\n", frame_len, median(bound, RELAY_ROUNDS));
	printf("relay_%zu_ratio_to_bound=%.3f\n", frame_len, median(ratio, RELAY_ROUNDS));
	/* median() sorted ratio[]: its ends are the extremes. */
	printf("relay_%zu_ratio_min=%.3f\n", frame_len, ratio[0]);
	printf("relay_%zu_ratio_max=%.3f\n", frame_len, ratio[RELAY_ROUNDS - 1]);
out:
	ib_buf_free(&frames);
	return err;
}

int bench_relay(double seconds, const char *self)
{
	static const size_t sizes[] = { 200, 16384 };
	struct relay r;
	char program[512];
	const char *slash = strrchr(self, '/');
	int err;

	memset(&r, 0, sizeof r);
	/* interbot, beside this program (the build's bin/), unless INTERBOT names another. */
	if (getenv("INTERBOT"))
		snprintf(program, sizeof program, "%s", getenv("INTERBOT"));
	else
		snprintf(program, sizeof program, "%.*sinterbot", slash ? (int)(slash - self + 1) : 0,
			 self);
	printf("relay_rounds=%d\n", RELAY_ROUNDS);
	err = setup(&r, program);
	printf("relay_node_core_alone=%s\n", r.cores > 1 ? "yes" : "no");
	for (size_t i = 0; !err && i < 2; i++)
		err = relay_run(&r, sizes[i], seconds);
	if (err)
		fprintf(stderr, "interbot-bench relay: %s (node log: %s/node.log)\n", ib_strerror(err),
			r.dir);
	teardown(&r, err != IB_OK);
	return err ? 1 : 0;
}
