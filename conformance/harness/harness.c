/* harness.c - many nodes in one process on virtual time. See harness.h. */
#define _XOPEN_SOURCE 700 /* nftw, mkdtemp */
#include "harness.h"

#include "node_internal.h" /* hn_tree_cut: the socket of a link */
#include "peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* 2026-01-01T00:00:00Z: virtual wall clock of every run. */
#define HN_START_UNIX_US 1767225600000000ull

uint64_t hn_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x2545f4914f6cdd1dull;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Fills parents[] for the shape; returns the node count, or 0 for a bad shape. */
static size_t parse_shape(const char *shape, int **parents, uint64_t seed)
{
	unsigned a = 0, b = 0, c = 0;
	size_t n = 0;
	int *p = NULL;

	if (sscanf(shape, "chain:%u", &a) == 1 || sscanf(shape, "star:%u", &a) == 1 ||
	    sscanf(shape, "forest:%u", &a) == 1 ||
	    sscanf(shape, "random:%u:%u", &a, &c) >= 1)
		n = a;
	else if (sscanf(shape, "tree:%ux%u", &a, &b) == 2) {
		size_t level = 1;

		n = 1;
		for (unsigned d = 0; d < b && n < 100000; d++) {
			level *= a;
			n += level;
		}
	}
	if (n == 0 || n > 100000)
		return 0;
	p = calloc(n, sizeof *p);
	if (!p)
		return 0;
	p[0] = -1;
	for (size_t i = 1; i < n; i++) {
		if (shape[0] == 'c')
			p[i] = (int)i - 1;
		else if (shape[0] == 'f')
			p[i] = -1;
		else if (shape[0] == 's')
			p[i] = 0;
		else if (shape[0] == 't')
			p[i] = (int)((i - 1) / a);
		else {
			uint64_t s = seed ^ (c * 0x9e3779b97f4a7c15ull) ^ i;

			p[i] = (int)(hn_rand(&s) % i);
		}
	}
	*parents = p;
	return n;
}

int hn_tree_new(struct hn_tree **out, const char *shape, uint64_t seed)
{
	struct hn_tree *t = calloc(1, sizeof *t);
	struct ib_clock clock;
	int *parents = NULL;
	int err = IB_ERR_NOMEM;

	*out = NULL;
	if (!t)
		return IB_ERR_NOMEM;
	t->seed = seed;
	t->log_level = getenv("HN_LOG") ? IB_LOG_DEBUG : IB_LOG_ERROR;
	t->count = parse_shape(shape, &parents, seed);
	if (t->count == 0) {
		err = IB_ERR_INVALID_ARG;
		goto fail;
	}
	ib_vclock_init(&t->clock, HN_START_UNIX_US);
	clock = ib_vclock_clock(&t->clock);
	err = ib_loop_new(&t->loop, &clock);
	if (err)
		goto fail;
	ib_config_defaults(&t->base, "node");
	t->nodes = calloc(t->count, sizeof *t->nodes);
	t->ids = calloc(t->count, sizeof *t->ids);
	t->pubs = calloc(t->count, sizeof *t->pubs);
	err = IB_ERR_NOMEM;
	if (!t->nodes || !t->ids || !t->pubs)
		goto fail;
	for (size_t i = 0; i < t->count; i++) {
		t->nodes[i].parent = parents[i];
		snprintf(t->nodes[i].name, sizeof t->nodes[i].name, "n%zu", i);
		err = ib_identity_generate(&t->ids[i]);
		if (!err)
			err = ib_pubkey_from_raw(&t->pubs[i],
						 ib_pubkey_raw(ib_identity_pubkey(t->ids[i])));
		if (err)
			goto fail;
	}
	free(parents);
	*out = t;
	return IB_OK;
fail:
	free(parents);
	hn_tree_free(t);
	return err;
}

int hn_tree_seed_ids(struct hn_tree *t)
{
	if (t->shared)
		return IB_ERR_INVALID_ARG;
	for (size_t i = 0; i < t->count; i++) {
		uint64_t state = t->seed ^ (0x9e3779b97f4a7c15ull * (i + 1));
		uint8_t secret[IB_SECRET_LEN];
		int err;

		for (size_t b = 0; b < IB_SECRET_LEN; b += 8) {
			uint64_t r = hn_rand(&state);

			memcpy(secret + b, &r, 8);
		}
		ib_identity_free(t->ids[i]);
		ib_pubkey_free(t->pubs[i]);
		t->ids[i] = NULL;
		t->pubs[i] = NULL;
		err = ib_identity_from_secret(&t->ids[i], secret);
		if (!err)
			err = ib_pubkey_from_raw(&t->pubs[i],
						 ib_pubkey_raw(ib_identity_pubkey(t->ids[i])));
		if (err)
			return err;
	}
	return IB_OK;
}

int hn_tree_keyring(const struct hn_tree *t, const int *without, size_t nwithout,
		    struct ib_keyring **out)
{
	struct ib_keyring *kr = NULL;
	int err = ib_keyring_new(&kr);

	for (size_t i = 0; !err && i < t->count; i++) {
		struct ib_pubkey *k;
		bool skip = false;

		for (size_t j = 0; j < nwithout; j++)
			skip |= without[j] == (int)i;
		if (skip)
			continue;
		err = ib_pubkey_from_raw(&k, ib_pubkey_raw(t->pubs[i]));
		if (!err)
			err = ib_keyring_add(kr, k);
	}
	for (size_t i = 0; !err && i < t->nextra; i++) {
		struct ib_pubkey *k;

		err = ib_pubkey_from_raw(&k, ib_pubkey_raw(t->extra[i]));
		if (!err)
			err = ib_keyring_add(kr, k);
	}
	if (err) {
		ib_keyring_free(kr);
		return err;
	}
	*out = kr;
	return IB_OK;
}

int hn_tree_trust(struct hn_tree *t, const struct ib_identity *id)
{
	if (t->nextra == sizeof t->extra / sizeof t->extra[0])
		return IB_ERR_RANGE;
	return ib_pubkey_from_raw(&t->extra[t->nextra++], ib_pubkey_raw(ib_identity_pubkey(id)));
}

static void on_deliver(struct ib_node *node, const struct ib_frame *f, const struct ib_msg *m,
		       void *ctx)
{
	struct hn_node *hn = ctx;

	hn->delivered_type[m->h.type]++;
	if (m->h.type != IB_MSG_PUBLISH)
		return;
	hn->delivered++;
	if (ib_id_equal(&f->origin, ib_node_id(node)))
		hn->delivered_from_self++;
}

/* HN_LOG=1 in the environment shows every node's log. */
static void log_line(void *ctx, enum ib_log_level level, const char *line)
{
	(void)ctx;
	(void)level;
	fprintf(stderr, "  %s\n", line);
}

static int start_node(struct hn_tree *t, size_t i)
{
	struct ib_config cfg = t->base;
	struct ib_identity *id = NULL;
	struct ib_keyring *kr = NULL;
	struct ib_diag diag = { 0 };
	struct hn_node *hn = &t->nodes[i];
	int err;

	snprintf(cfg.name, sizeof cfg.name, "%s", hn->name);
	/* A restarted node listens where it did, so that its children find it again. */
	snprintf(cfg.listen, sizeof cfg.listen, "127.0.0.1:%u", hn->port);
	cfg.parent_count = 0;
	if (i == 0 && t->root_parent[0]) {
		snprintf(cfg.parents[0], sizeof cfg.parents[0], "%s", t->root_parent);
		cfg.parent_count = 1;
	}
	/* The parent's address, where it listens now or will again after a restart: a node
	 * started while its parent is down tries it until it is back ([TREE-2]). */
	if (hn->parent >= 0 && t->nodes[hn->parent].port) {
		snprintf(cfg.parents[0], sizeof cfg.parents[0], "127.0.0.1:%u",
			 t->nodes[hn->parent].port);
		cfg.parent_count = 1;
	}
	/* The node owns what it is given: the identity, and a reference to the keyring all
	 * nodes share (a keyring each would hold N^2 keys). */
	if (!t->shared) {
		err = hn_tree_keyring(t, NULL, 0, &t->shared);
		if (err)
			return err;
	}
	kr = ib_keyring_ref(hn->keyring ? hn->keyring : t->shared);
	/* The harness keeps the identity, to start the node again after a kill. */
	err = ib_identity_copy(&id, t->ids[i]);
	if (err) {
		ib_keyring_free(kr);
		return err;
	}
	err = ib_node_new(&hn->node, t->loop, &cfg, id, kr, &diag);
	if (err)
		return err;
	ib_node_set_log(hn->node, log_line, NULL, t->log_level);
	if (t->persist) {
		char path[512];

		snprintf(path, sizeof path, "%s/%s", t->store_root, hn->name);
		err = ib_node_use_store(hn->node, path, &diag);
		if (err)
			return err;
	}
	ib_node_set_seed(hn->node, t->seed * 1000003u + i);
	ib_node_set_deliver(hn->node, on_deliver, hn);
	if (t->on_node) {
		err = t->on_node(t, i, hn->node, t->on_node_ctx);
		if (err)
			return err;
	}
	err = ib_node_start(hn->node, &diag);
	if (err)
		fprintf(stderr, "harness: %s: %s\n", hn->name, diag.reason);
	else
		hn->port = ib_node_listen_port(hn->node);
	return err;
}

int hn_tree_start(struct hn_tree *t)
{
	if (t->persist && !t->store_root[0]) {
		const char *base = getenv("TMPDIR");

		snprintf(t->store_root, sizeof t->store_root, "%s/hn-store-XXXXXX",
			 base && *base ? base : "/tmp");
		if (!mkdtemp(t->store_root))
			return IB_ERR_IO;
	}
	for (size_t i = 0; i < t->count; i++) {
		int err = start_node(t, i);

		if (err)
			return err;
	}
	return IB_OK;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void hn_remove_tree(const char *dir)
{
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

uint16_t hn_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t len = sizeof a;
	uint16_t port = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return 0;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

long hn_proc_cpu_ms(long pid)
{
	unsigned long long utime, stime;
	char path[64], line[1024];
	const char *after;
	long ticks = sysconf(_SC_CLK_TCK);
	long ms = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if (ticks <= 0 || !(f = fopen(path, "r")))
		return -1;
	/* proc(5): the command name (field 2) may hold spaces and ')', so the fields are counted
	 * from the last ')': state is field 3, utime and stime are fields 14 and 15. */
	if (fgets(line, sizeof line, f) && (after = strrchr(line, ')')) &&
	    sscanf(after + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
		   &stime) == 2)
		ms = (long)((utime + stime) * 1000ull / (unsigned long long)ticks);
	fclose(f);
	return ms;
}

void hn_tree_free(struct hn_tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->nodes && i < t->count; i++) {
		ib_node_free(t->nodes[i].node);
		ib_keyring_free(t->nodes[i].keyring);
	}
	for (size_t i = 0; t->ids && i < t->count; i++)
		ib_identity_free(t->ids[i]);
	for (size_t i = 0; t->pubs && i < t->count; i++)
		ib_pubkey_free(t->pubs[i]);
	for (size_t i = 0; i < t->nextra; i++)
		ib_pubkey_free(t->extra[i]);
	ib_keyring_free(t->shared);
	/* Links closed by the frees above are reaped by one more turn. */
	if (t->loop)
		ib_loop_run_once(t->loop, 0);
	ib_loop_free(t->loop);
	if (t->store_root[0])
		hn_remove_tree(t->store_root);
	free(t->nodes);
	free(t->ids);
	free(t->pubs);
	free(t);
}

/* One turn; when nothing was ready, the clock jumps to the next timer, but not past limit.
 * Returns false when the clock cannot move before limit. */
static bool step_until(struct hn_tree *t, uint64_t limit)
{
	uint64_t at;

	if (ib_loop_run_once(t->loop, 0) > 0)
		return true;
	/* Nothing ready: loopback TCP delivers synchronously, so the tree is idle until the
	 * next timer. */
	if (ib_loop_next_deadline(t->loop, &at) != IB_OK || at > limit) {
		if (limit > t->clock.monotonic_us)
			ib_vclock_advance(&t->clock, limit - t->clock.monotonic_us);
		return false;
	}
	if (at > t->clock.monotonic_us)
		ib_vclock_advance(&t->clock, at - t->clock.monotonic_us);
	return true;
}

bool hn_tree_step(struct hn_tree *t)
{
	return step_until(t, UINT64_MAX);
}

bool hn_tree_run_until(struct hn_tree *t, bool (*cond)(struct hn_tree *t, void *arg), void *arg,
		       uint64_t within_us)
{
	uint64_t deadline = t->clock.monotonic_us + within_us;

	for (;;) {
		if (cond(t, arg))
			return true;
		if (!step_until(t, deadline)) {
			/* At the deadline: one last turn for what its timers started. */
			ib_loop_run_once(t->loop, 0);
			return cond(t, arg);
		}
	}
}

static bool never(struct hn_tree *t, void *arg)
{
	(void)t;
	(void)arg;
	return false;
}

void hn_tree_run_for(struct hn_tree *t, uint64_t within_us)
{
	hn_tree_run_until(t, never, NULL, within_us);
}

int hn_tree_find(const struct hn_tree *t, const ib_id *id)
{
	for (size_t i = 0; i < t->count; i++)
		if (ib_id_equal(ib_pubkey_id(t->pubs[i]), id))
			return (int)i;
	return -1;
}

bool hn_tree_formed(struct hn_tree *t, void *unused)
{
	(void)unused;
	for (size_t i = 0; i < t->count; i++) {
		const struct hn_node *hn = &t->nodes[i];
		ib_id parent;

		if (!hn->node)
			continue;
		if (hn->parent < 0) {
			if (ib_node_parent(hn->node, NULL))
				return false;
			continue;
		}
		if (!ib_node_parent(hn->node, &parent) ||
		    !ib_id_equal(&parent, ib_pubkey_id(t->pubs[hn->parent])))
			return false;
	}
	return true;
}

void hn_tree_kill(struct hn_tree *t, size_t i)
{
	ib_node_free(t->nodes[i].node);
	t->nodes[i].node = NULL;
}

int hn_tree_restart(struct hn_tree *t, size_t i)
{
	if (t->nodes[i].node)
		return IB_ERR_INVALID_ARG;
	return start_node(t, i);
}

int hn_tree_cut(struct hn_tree *t, size_t i, const ib_id *peer)
{
	const struct ib_node *n = i < t->count ? t->nodes[i].node : NULL;

	for (const struct ib_link *l = n ? n->links : NULL; l; l = l->next) {
		if (!link_open(l) || !ib_id_equal(&l->peer_id, peer))
			continue;
		/* Both directions: this end reads EOF at once, the other end gets the FIN. */
		return shutdown(l->fd, SHUT_RDWR) == 0 ? IB_OK : IB_ERR_IO;
	}
	return IB_ERR_NOT_FOUND;
}

uint64_t hn_last_seq(const struct hn_tree *t, size_t i)
{
	return i < t->count && t->nodes[i].node ? t->nodes[i].node->seq.last : 0;
}

void hn_tree_set_start_keyring(struct hn_tree *t, size_t i, struct ib_keyring *kr)
{
	ib_keyring_free(t->nodes[i].keyring);
	t->nodes[i].keyring = kr;
}

int hn_tree_new_peer(struct hn_tree *t, struct hn_peer **out)
{
	struct ib_keyring *kr = NULL;
	int err = hn_tree_keyring(t, NULL, 0, &kr);

	if (!err)
		err = hn_peer_new(out, t->loop, kr);
	if (!err)
		err = hn_tree_trust(t, hn_peer_identity(*out));
	ib_keyring_free(kr);
	return err;
}

const ib_id *hn_id(const struct hn_tree *t, size_t i)
{
	return ib_pubkey_id(t->pubs[i]);
}

size_t hn_path(const struct hn_tree *t, size_t i, ib_id *path)
{
	return ib_node_path(t->nodes[i].node, path, IB_MAX_PATH);
}

static bool peer_open(struct hn_tree *t, void *arg)
{
	(void)t;
	return hn_peer_tls_open(arg) || hn_peer_closed(arg);
}

static bool peer_has_hello(struct hn_tree *t, void *arg)
{
	(void)t;
	return hn_peer_count(arg, IB_MSG_HELLO) > 0 || hn_peer_closed(arg);
}

bool hn_attach_child(struct hn_tree *t, struct hn_peer *p, size_t i)
{
	if (hn_peer_connect(p, ib_node_listen_port(t->nodes[i].node)) != IB_OK ||
	    !hn_tree_run_until(t, peer_open, p, 5000000) || !hn_peer_tls_open(p))
		return false;
	/* A node joining alone: its path is itself. */
	if (hn_peer_send_hello(p, IB_ROLE_SERVER, 30000, NULL, 0) != IB_OK)
		return false;
	return hn_tree_run_until(t, peer_has_hello, p, 5000000) && !hn_peer_closed(p);
}

const char *hn_addr(const struct hn_tree *t, size_t i, char *buf, size_t cap)
{
	snprintf(buf, cap, "127.0.0.1:%u", ib_node_listen_port(t->nodes[i].node));
	return buf;
}

int hn_connect_from(const char *src, const char *ip, uint16_t port, int *fd)
{
	struct sockaddr_in from = { .sin_family = AF_INET }, to = { .sin_family = AF_INET };
	int s = -1, err = IB_ERR_IO;

	to.sin_port = htons(port);
	if (inet_pton(AF_INET, src, &from.sin_addr) != 1 ||
	    inet_pton(AF_INET, ip, &to.sin_addr) != 1) {
		errno = EINVAL;
		goto out;
	}
	s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&from, sizeof from) != 0)
		goto out;
	if (connect(s, (struct sockaddr *)&to, sizeof to) != 0 && errno != EINPROGRESS)
		goto out;
	*fd = s;
	s = -1;
	err = IB_OK;
out:
	if (s >= 0) {
		int saved = errno;

		close(s);
		errno = saved;
	}
	return err;
}
