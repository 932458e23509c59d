/* simnet.c - the simulator's in-memory network. See simnet.h. */
#define _GNU_SOURCE /* SOCK_NONBLOCK, SOCK_CLOEXEC */
#include "simnet.h"

#include "harness.h" /* hn_rand */
#include "node_internal.h" /* ib_node_set_transport */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bytes read from a sender at once, and bytes a direction holds before it stops reading (its
 * sender's writes then back up, as a slow TCP path makes them). */
#define SN_READ_CHUNK 65536u
#define SN_DIR_MAX (1024u * 1024u)

/* What one read gave: delivered, whole, at `at`. */
struct chunk {
	uint64_t at;
	size_t len;
};

/* One direction of a pipe: bytes read on `from`, written later on `to`. */
struct dir {
	struct pipe *pipe;
	int from, to;               /* the simulator's ends (owned by the pipe) */
	size_t src, dst;            /* hosts */
	struct ib_buf data;         /* waiting bytes from `off` */
	size_t off;
	struct chunk *chunks;       /* FIFO from `head` */
	size_t head, count, cap;
	uint64_t last_at;           /* never deliver before an earlier chunk: TCP keeps order */
	uint64_t timer;
	bool eof;                   /* the sender ended its stream */
	bool shut;                  /* and the receiver was told (SHUT_WR on `to`) */
	bool dead;                  /* the receiver is gone: nothing more goes through */
	bool stalled;               /* not read ([sn_stall]) */
	bool blocked;               /* `to` is full: wait until writable */
};

struct pipe {
	struct sn_net *net;
	struct dir up, down;        /* client -> server, server -> client */
	int sim_client, sim_server; /* the middle ends: up reads sim_client, down reads sim_server */
	struct pipe *next;
};

struct pending {
	int fd;                     /* the server node's end, until accepted */
	size_t from;                /* the connecting host */
};

struct sn_host {
	struct sn_net *net;
	size_t index;
	bool up;
	int side;
	int signal;                 /* ours: a byte per pending connection makes `listen` ready */
	struct pending *pending;
	size_t npending, pending_cap;
};

struct sn_net {
	struct ib_loop *loop;
	struct sn_host *hosts;
	size_t count;
	uint64_t rng;
	uint64_t min_us, max_us;
	struct pipe *pipes;
	uint64_t moved, chunks;
};

static uint64_t draw_delay(struct sn_net *net)
{
	uint64_t span = net->max_us - net->min_us;

	return net->min_us + (span ? hn_rand(&net->rng) % (span + 1) : 0);
}

static void pipe_rewatch(struct pipe *p);
static void dir_arm(struct dir *d);
static void on_due(struct ib_loop *loop, void *arg);

static void pipe_free(struct pipe *p)
{
	struct sn_net *net = p->net;
	struct dir *d[2] = { &p->up, &p->down };

	for (struct pipe **pp = &net->pipes; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	ib_loop_unwatch(net->loop, p->sim_client);
	ib_loop_unwatch(net->loop, p->sim_server);
	close(p->sim_client);
	close(p->sim_server);
	for (int i = 0; i < 2; i++) {
		ib_loop_timer_cancel(net->loop, d[i]->timer);
		ib_buf_free(&d[i]->data);
		free(d[i]->chunks);
	}
	free(p);
}

/* A direction is over when its receiver has heard the end or is gone; a pipe with both over
 * holds nothing more. */
static bool dir_over(const struct dir *d)
{
	return d->dead || (d->eof && d->shut);
}

static void pipe_check_done(struct pipe *p)
{
	if (dir_over(&p->up) && dir_over(&p->down))
		pipe_free(p);
	else
		pipe_rewatch(p);
}

static void dir_drop(struct dir *d)
{
	ib_buf_reset(&d->data);
	d->off = 0;
	d->head = d->count = 0;
	d->blocked = false;
}

/* Writes the chunks that are due; the rest wait for their time or for room. */
static void dir_deliver(struct dir *d)
{
	struct sn_net *net = d->pipe->net;
	uint64_t now = ib_loop_now_us(net->loop);

	d->blocked = false;
	while (!d->dead && d->count && d->chunks[d->head].at <= now) {
		struct chunk *c = &d->chunks[d->head];
		ssize_t w = send(d->to, d->data.ptr + d->off, c->len, MSG_NOSIGNAL);

		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			d->blocked = true;
			break;
		}
		if (w < 0) {
			/* The receiving node closed its end: what it did not read is lost, as
			 * with a reset TCP connection. */
			d->dead = true;
			dir_drop(d);
			break;
		}
		net->moved += (uint64_t)w;
		d->off += (size_t)w;
		c->len -= (size_t)w;
		if (c->len == 0) {
			net->chunks++;
			d->head = (d->head + 1) % d->cap;
			d->count--;
		}
	}
	if (d->count == 0) {
		ib_buf_reset(&d->data);
		d->off = 0;
		if (d->eof && !d->shut && !d->dead) {
			shutdown(d->to, SHUT_WR);
			d->shut = true;
		}
	}
	dir_arm(d);
}


/* The timer of a direction follows its first chunk. */
static void dir_arm(struct dir *d)
{
	struct sn_net *net = d->pipe->net;
	uint64_t now = ib_loop_now_us(net->loop);

	ib_loop_timer_cancel(net->loop, d->timer);
	d->timer = 0;
	if (d->count && !d->blocked && !d->dead) {
		uint64_t at = d->chunks[d->head].at;

		ib_loop_timer_add(net->loop, at > now ? at - now : 0, on_due, d, &d->timer);
	}
}

static void on_due(struct ib_loop *loop, void *arg)
{
	struct dir *d = arg;
	struct pipe *p = d->pipe;

	(void)loop;
	d->timer = 0;
	dir_deliver(d);
	pipe_check_done(p);
}

static int dir_push(struct dir *d, const uint8_t *b, size_t n, uint64_t at)
{
	if (d->count == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 16;
		struct chunk *c = malloc(cap * sizeof *c);

		if (!c)
			return IB_ERR_NOMEM;
		for (size_t i = 0; i < d->count; i++)
			c[i] = d->chunks[(d->head + i) % d->cap];
		free(d->chunks);
		d->chunks = c;
		d->cap = cap;
		d->head = 0;
	}
	if (ib_buf_put(&d->data, b, n) != IB_OK)
		return IB_ERR_NOMEM;
	d->chunks[(d->head + d->count) % d->cap] = (struct chunk){ at, n };
	d->count++;
	return IB_OK;
}

static bool dir_wants_read(const struct dir *d)
{
	return !d->eof && !d->dead && !d->stalled && d->data.len - d->off < SN_DIR_MAX;
}

/* Reads what the sender wrote; each read is one chunk with its own delay. */
static void dir_read(struct dir *d)
{
	struct sn_net *net = d->pipe->net;
	uint8_t buf[SN_READ_CHUNK];
	bool was_empty = d->count == 0;

	while (dir_wants_read(d)) {
		ssize_t r = recv(d->from, buf, sizeof buf, 0);
		uint64_t at;

		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r <= 0) {
			/* The end of the stream, or a reset: either way nothing more comes. */
			d->eof = true;
			break;
		}
		at = ib_loop_now_us(net->loop) + draw_delay(net);
		if (at < d->last_at)
			at = d->last_at;
		d->last_at = at;
		if (dir_push(d, buf, (size_t)r, at) != IB_OK) {
			d->eof = true;
			break;
		}
	}
	if (was_empty || d->count == 0)
		dir_deliver(d);
}

static unsigned fd_events(const struct dir *reading, const struct dir *writing)
{
	return (dir_wants_read(reading) ? IB_EV_READ : 0) | (writing->blocked ? IB_EV_WRITE : 0);
}

static void on_pipe_fd(struct ib_loop *loop, int fd, unsigned events, void *arg);

/* Watches each middle end for what its directions need, and not at all when they need
 * nothing: a closed peer would otherwise make it ready on every turn. */
static void pipe_rewatch(struct pipe *p)
{
	struct ib_loop *loop = p->net->loop;
	unsigned ce = fd_events(&p->up, &p->down), se = fd_events(&p->down, &p->up);

	if (p->up.dead && !p->up.eof) {
		/* Nobody reads what the client sends: its writes fail, as after a reset. */
		shutdown(p->sim_client, SHUT_RD);
		p->up.eof = true;
	}
	if (p->down.dead && !p->down.eof) {
		shutdown(p->sim_server, SHUT_RD);
		p->down.eof = true;
	}
	if (ce)
		ib_loop_watch(loop, p->sim_client, ce, on_pipe_fd, p);
	else
		ib_loop_unwatch(loop, p->sim_client);
	if (se)
		ib_loop_watch(loop, p->sim_server, se, on_pipe_fd, p);
	else
		ib_loop_unwatch(loop, p->sim_server);
}

static void on_pipe_fd(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct pipe *p = arg;
	struct dir *reading = fd == p->sim_client ? &p->up : &p->down;
	struct dir *writing = fd == p->sim_client ? &p->down : &p->up;

	(void)loop;
	if ((events & (IB_EV_WRITE | IB_EV_ERROR)) && writing->blocked)
		dir_deliver(writing);
	if ((events & (IB_EV_READ | IB_EV_ERROR)) && dir_wants_read(reading))
		dir_read(reading);
	pipe_check_done(p);
}

static int socket_pair(int fds[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0
		       ? IB_OK
		       : IB_ERR_IO;
}

/* A pipe from host `client` to host `server`: *client_fd and *server_fd are the nodes'
 * ends. */
static int pipe_new(struct sn_net *net, size_t client, size_t server, int *client_fd,
		    int *server_fd)
{
	struct pipe *p = calloc(1, sizeof *p);
	int a[2] = { -1, -1 }, b[2] = { -1, -1 };

	if (!p || socket_pair(a) != IB_OK || socket_pair(b) != IB_OK) {
		for (int i = 0; i < 2; i++) {
			if (a[i] >= 0)
				close(a[i]);
			if (b[i] >= 0)
				close(b[i]);
		}
		free(p);
		return IB_ERR_IO;
	}
	p->net = net;
	p->sim_client = a[1];
	p->sim_server = b[0];
	p->up = (struct dir){ .pipe = p, .from = a[1], .to = b[0], .src = client, .dst = server };
	p->down = (struct dir){ .pipe = p, .from = b[0], .to = a[1], .src = server, .dst = client };
	*client_fd = a[0];
	*server_fd = b[1];
	p->next = net->pipes;
	net->pipes = p;
	pipe_rewatch(p);
	return IB_OK;
}

/* ---- The transport: what a node calls instead of the sockets ----------------------------- */

static int sn_resolve(void *ctx, const char *host, uint16_t port, struct ib_net_addrs *out,
		      struct ib_diag *diag)
{
	struct sockaddr_in *sa = (struct sockaddr_in *)&out->ss[0];

	(void)ctx;
	memset(out, 0, sizeof *out);
	if (strcmp(host, "127.0.0.1") != 0) {
		ib_diag_set(diag, "", 0, "%s: no such host in the simulation", host);
		return IB_ERR_NOT_FOUND;
	}
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	sa->sin_addr.s_addr = htonl(0x7f000001);
	out->len[0] = sizeof *sa;
	out->count = 1;
	return IB_OK;
}

static struct sn_host *host_at_port(struct sn_net *net, uint16_t port)
{
	if (port < SN_PORT_BASE || port - SN_PORT_BASE >= net->count)
		return NULL;
	return &net->hosts[port - SN_PORT_BASE];
}

static int sn_connect_addr(void *ctx, const struct ib_net_addrs *a, size_t i, int *fd,
			   struct ib_diag *diag)
{
	struct sn_host *from = ctx;
	struct sn_net *net = from->net;
	const struct sockaddr_in *sa = (const struct sockaddr_in *)&a->ss[i];
	struct sn_host *to = host_at_port(net, ntohs(sa->sin_port));
	int server_fd = -1;

	if (!to || !to->up || to->signal < 0 || to->side != from->side) {
		ib_diag_set(diag, "", 0, "connection refused (simulated)");
		return IB_ERR_IO;
	}
	if (to->npending == to->pending_cap) {
		size_t cap = to->pending_cap ? 2 * to->pending_cap : 8;
		struct pending *np = realloc(to->pending, cap * sizeof *np);

		if (!np)
			return IB_ERR_NOMEM;
		to->pending = np;
		to->pending_cap = cap;
	}
	if (pipe_new(net, from->index, to->index, fd, &server_fd) != IB_OK) {
		ib_diag_set(diag, "", 0, "no socketpair: %s", strerror(errno));
		return IB_ERR_IO;
	}
	to->pending[to->npending++] = (struct pending){ server_fd, from->index };
	if (send(to->signal, "c", 1, MSG_NOSIGNAL) != 1) {
		ib_diag_set(diag, "", 0, "connection refused (simulated listener gone)");
		close(server_fd);
		to->npending--;
		close(*fd);
		*fd = -1;
		return IB_ERR_IO;
	}
	return IB_OK;
}

static void host_drop_pending(struct sn_host *h)
{
	for (size_t i = 0; i < h->npending; i++)
		close(h->pending[i].fd);
	h->npending = 0;
	if (h->signal >= 0)
		close(h->signal);
	h->signal = -1;
}

static int sn_listen_all(void *ctx, const char *host, uint16_t port, int *fds, size_t cap,
			 size_t *count, uint16_t *bound_port, struct ib_diag *diag)
{
	struct sn_host *h = ctx;
	int pair[2];

	(void)host;
	(void)port;
	if (cap < 1 || socket_pair(pair) != IB_OK) {
		ib_diag_set(diag, "", 0, "no socketpair for the simulated listener");
		return IB_ERR_IO;
	}
	host_drop_pending(h);
	h->signal = pair[0];
	fds[0] = pair[1];
	*count = 1;
	*bound_port = (uint16_t)(SN_PORT_BASE + h->index);
	return IB_OK;
}

static int sn_accept_from(void *ctx, int listen_fd, int *fd, char *peer, size_t peer_cap,
			  struct ib_net_source *source)
{
	struct sn_host *h = ctx;
	char c;
	struct pending p;

	if (recv(listen_fd, &c, 1, 0) != 1 || h->npending == 0)
		return IB_ERR_AGAIN;
	p = h->pending[0];
	memmove(h->pending, h->pending + 1, --h->npending * sizeof *h->pending);
	*fd = p.fd;
	if (peer)
		snprintf(peer, peer_cap, "127.0.0.1:%zu", SN_PORT_BASE + p.from);
	/* [LINK-15] each host is a source of its own. */
	memset(source, 0, sizeof *source);
	source->len = 4;
	source->bytes[0] = 10;
	source->bytes[2] = (uint8_t)(p.from >> 8);
	source->bytes[3] = (uint8_t)p.from;
	return IB_OK;
}

static const struct ib_transport sn_transport = {
	.resolve = sn_resolve,
	.connect_addr = sn_connect_addr,
	.listen_all = sn_listen_all,
	.accept_from = sn_accept_from,
};

/* ---- The network ------------------------------------------------------------------------- */

int sn_net_new(struct sn_net **out, struct ib_loop *loop, size_t count, uint64_t seed,
	       uint64_t min_us, uint64_t max_us)
{
	struct sn_net *net = calloc(1, sizeof *net);

	*out = NULL;
	if (!net || !(net->hosts = calloc(count, sizeof *net->hosts))) {
		free(net);
		return IB_ERR_NOMEM;
	}
	net->loop = loop;
	net->count = count;
	net->rng = seed * 0x9e3779b97f4a7c15ull + 0x5851f42d4c957f2dull;
	if (!net->rng)
		net->rng = 1;
	net->min_us = min_us;
	net->max_us = max_us < min_us ? min_us : max_us;
	for (size_t i = 0; i < count; i++)
		net->hosts[i] = (struct sn_host){ .net = net, .index = i, .up = true,
						  .signal = -1 };
	*out = net;
	return IB_OK;
}

void sn_net_free(struct sn_net *net)
{
	if (!net)
		return;
	while (net->pipes)
		pipe_free(net->pipes);
	for (size_t i = 0; i < net->count; i++) {
		host_drop_pending(&net->hosts[i]);
		free(net->hosts[i].pending);
	}
	free(net->hosts);
	free(net);
}

void sn_attach(struct sn_net *net, size_t i, struct ib_node *n, uint64_t seed)
{
	ib_node_set_transport(n, &sn_transport, &net->hosts[i], seed);
}

static bool pipe_between(const struct pipe *p, size_t a, size_t b)
{
	return (p->up.src == a && p->up.dst == b) || (p->up.src == b && p->up.dst == a);
}

static bool pipe_touches(const struct pipe *p, size_t a)
{
	return p->up.src == a || p->up.dst == a;
}

size_t sn_cut(struct sn_net *net, size_t a, size_t b)
{
	size_t cut = 0;

	for (struct pipe *p = net->pipes, *next; p; p = next) {
		next = p->next;
		if (pipe_between(p, a, b)) {
			pipe_free(p);
			cut++;
		}
	}
	return cut;
}

void sn_host_down(struct sn_net *net, size_t i)
{
	for (struct pipe *p = net->pipes, *next; p; p = next) {
		next = p->next;
		if (pipe_touches(p, i))
			pipe_free(p);
	}
	host_drop_pending(&net->hosts[i]);
	net->hosts[i].up = false;
}

void sn_host_up(struct sn_net *net, size_t i)
{
	net->hosts[i].up = true;
}

void sn_set_side(struct sn_net *net, size_t i, int side)
{
	net->hosts[i].side = side;
	for (struct pipe *p = net->pipes, *next; p; p = next) {
		next = p->next;
		if (net->hosts[p->up.src].side != net->hosts[p->up.dst].side)
			pipe_free(p);
	}
}

void sn_stall(struct sn_net *net, size_t a, size_t b, bool stalled)
{
	for (struct pipe *p = net->pipes; p; p = p->next) {
		struct dir *d = p->up.src == a && p->up.dst == b     ? &p->up
				: p->down.src == a && p->down.dst == b ? &p->down
								       : NULL;

		if (!d)
			continue;
		d->stalled = stalled;
		pipe_rewatch(p);
	}
}

void sn_heal(struct sn_net *net)
{
	for (size_t i = 0; i < net->count; i++)
		net->hosts[i].side = 0;
	for (struct pipe *p = net->pipes; p; p = p->next) {
		p->up.stalled = p->down.stalled = false;
		pipe_rewatch(p);
	}
}

uint64_t sn_bytes_moved(const struct sn_net *net)
{
	return net->moved;
}

uint64_t sn_chunks_moved(const struct sn_net *net)
{
	return net->chunks;
}
