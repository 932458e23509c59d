/*
 * nodeproc.c - a real `interbot run` process and two tester children for relay and publish
 * (nodeproc.h). The node runs alone on the last core (sched_setaffinity), the peers and this
 * process on the others; with one core only, everything shares it.
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
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nodeproc.h"

#define SETUP_US (10ull * 1000000ull)   /* for the node to listen and link the peers */
#define STATUS_TIMEOUT_MS 5000
#define STATUS_MAX (1u << 20)           /* an answer longer than this is not a status */
#define UNSENT_MAX (512u * 1024u)       /* what S keeps ahead of the node's socket */
#define CHUNK (64u * 1024u)             /* bytes of frames handed to S at once */

/* Pins the calling process to one core. */
static void pin(int core)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(core, &set);
	sched_setaffinity(0, sizeof set, &set);
}

int nodeproc_node_core(const struct nodeproc *r)
{
	return r->cores > 1 ? r->cores - 1 : 0;
}

void nodeproc_pin_peers(const struct nodeproc *r)
{
	cpu_set_t set;

	if (r->cores < 2)
		return;
	CPU_ZERO(&set);
	for (int i = 0; i < r->cores - 1; i++)
		CPU_SET(i, &set);
	sched_setaffinity(0, sizeof set, &set);
}

double nodeproc_verify_rate_on(int core, size_t msg_len, double seconds)
{
	pin(core);
	return bench_verify_rate(msg_len, seconds);
}

double nodeproc_seal_rate_on(int core, size_t len, double seconds)
{
	pin(core);
	return bench_seal_rate(len, seconds);
}

static int write_file_key(const struct nodeproc *r, const char *name,
			  const struct ib_identity *id)
{
	char path[600];

	snprintf(path, sizeof path, "%s/authorized/%s.pub", r->dir, name);
	return ib_pubkey_save(ib_identity_pubkey(id), path) == IB_OK ? IB_OK : IB_ERR_IO;
}

/* DIR/identity.key, authorized/ (S and C), store/, node.conf. */
static int write_node_dir(struct nodeproc *r, const char *base)
{
	const char *tmpdir = getenv("TMPDIR");
	char path[600];
	FILE *f;
	int err = IB_ERR_IO;

	if (!base || !*base)
		base = tmpdir && *tmpdir ? tmpdir : "/tmp";
	snprintf(r->dir, sizeof r->dir, "%s/interbot-bench-XXXXXX", base);
	if (!mkdtemp(r->dir))
		return IB_ERR_IO;
	snprintf(path, sizeof path, "%s/authorized", r->dir);
	if (mkdir(path, 0700) != 0)
		return IB_ERR_IO;
	snprintf(path, sizeof path, "%s/store", r->dir);
	if (mkdir(path, 0700) != 0)
		return IB_ERR_IO;
	snprintf(path, sizeof path, "%s/identity.key", r->dir);
	if (ib_identity_save(r->node_id, path) != IB_OK ||
	    write_file_key(r, "sender", r->sender_id) ||
	    write_file_key(r, "receiver", r->receiver_id))
		return IB_ERR_IO;
	snprintf(path, sizeof path, "%s/node.conf", r->dir);
	if (!(f = fopen(path, "w")))
		return IB_ERR_IO;
	if (fprintf(f, "name = bench\nlisten = 127.0.0.1:%u\n", r->port) > 0)
		err = IB_OK;
	if (fclose(f) != 0)
		err = IB_ERR_IO;
	return err;
}

static int start_node(struct nodeproc *r, const char *program)
{
	r->pid = fork();
	if (r->pid < 0)
		return IB_ERR_IO;
	if (r->pid == 0) {
		char log[600];

		snprintf(log, sizeof log, "%s/node.log", r->dir);
		if (!freopen(log, "w", stderr))
			_exit(127);
		pin(nodeproc_node_core(r));
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

/* Runs the loop until cond(p) or until within_us has passed: whether cond held. */
static bool run_until(struct nodeproc *r, bool (*cond)(struct hn_peer *), struct hn_peer *p,
		      uint64_t within_us)
{
	uint64_t end = ib_loop_now_us(r->loop) + within_us;

	while (!cond(p) && ib_loop_now_us(r->loop) < end)
		ib_loop_run_once(r->loop, 10);
	return cond(p);
}

/* Whether the node accepts a TCP connection yet. */
static bool node_listening(const struct nodeproc *r)
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
static int link_child(struct nodeproc *r, struct hn_peer *p)
{
	uint64_t end = ib_loop_now_us(r->loop) + SETUP_US;

	while (!node_listening(r)) {
		if (ib_loop_now_us(r->loop) >= end)
			return IB_ERR_IO;
		ib_loop_run_once(r->loop, 20); /* starting: 20 ms, then again */
	}
	if (hn_peer_connect_to(p, "127.0.0.1", r->port) != IB_OK ||
	    !run_until(r, peer_open, p, SETUP_US) || hn_peer_closed(p) ||
	    hn_peer_send_hello(p, IB_ROLE_SERVER, 30000, NULL, 0) != IB_OK ||
	    !run_until(r, peer_hello, p, SETUP_US) || hn_peer_closed(p))
		return IB_ERR_IO;
	return IB_OK;
}

static int identities(struct nodeproc *r)
{
	struct ib_pubkey *k = NULL;
	int err;

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
	return err;
}

int nodeproc_start(struct nodeproc *r, const char *program, const char *base)
{
	int err;

	memset(r, 0, sizeof *r);
	r->cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (r->cores < 1)
		r->cores = 1;
	err = identities(r);
	if (!err && !(r->port = hn_free_port()))
		err = IB_ERR_IO;
	if (!err)
		err = write_node_dir(r, base);
	if (!err)
		err = start_node(r, program);
	if (!err)
		err = ib_loop_new(&r->loop, ib_clock_system());
	if (!err) {
		nodeproc_pin_peers(r);
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

void nodeproc_stop(struct nodeproc *r, bool keep_dir)
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

/* Reads one line (the answer) from fd into a new string, within the timeout; NULL when none
 * came whole. */
static char *read_answer(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (!buf)
		return NULL;
	while (!memchr(buf, '\n', len)) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *bigger = cap < STATUS_MAX ? realloc(buf, cap * 2) : NULL;

			if (!bigger)
				goto fail;
			buf = bigger;
			cap *= 2;
		}
		if (poll(&pfd, 1, STATUS_TIMEOUT_MS) != 1)
			goto fail;
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			goto fail;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
fail:
	free(buf);
	return NULL;
}

json_t *nodeproc_status(const struct nodeproc *r)
{
	static const char req[] = "{\"cmd\":\"status\"}\n";
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	json_t *answer = NULL;
	char *line = NULL;
	int fd;

	if ((size_t)snprintf(a.sun_path, sizeof a.sun_path, "%s/control.sock", r->dir) >=
	    sizeof a.sun_path)
		return NULL;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1))
		line = read_answer(fd);
	close(fd);
	if (line)
		answer = json_loads(line, 0, NULL);
	free(line);
	if (answer && !json_is_true(json_object_get(answer, "ok"))) {
		json_decref(answer);
		answer = NULL;
	}
	return answer;
}

double nodeproc_send(struct nodeproc *r, const struct ib_buf *frames, size_t *off, size_t count,
		     size_t frame_len, double max_s)
{
	size_t before = hn_peer_counted(r->receiver), end = *off + count * frame_len;
	double t0 = bench_now();

	/* Only this slice's frames: the node is idle once C has them all, and the next bound
	 * is measured on a quiet core. */
	while (hn_peer_counted(r->receiver) - before < count) {
		if (hn_peer_closed(r->sender) || hn_peer_closed(r->receiver) ||
		    bench_now() - t0 > max_s)
			return -1;
		while (*off < end && hn_peer_unsent(r->sender) < UNSENT_MAX) {
			size_t n = end - *off < CHUNK ? end - *off : CHUNK;

			if (hn_peer_send_raw(r->sender, frames->ptr + *off, n) != IB_OK)
				return -1;
			*off += n;
		}
		ib_loop_run_once(r->loop, 10);
	}
	return bench_now() - t0;
}
