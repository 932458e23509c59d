/*
 * node.c - the node: what it owns (identity, keyring, configuration, links), its life cycle,
 * logging and counters. The protocol itself is in link.c, hello.c, tree.c, keepalive.c and
 * flood.c.
 */
#include "node_internal.h"

#include <openssl/rand.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "seq_reserve.h"
#include "store.h"

static const char *const counter_names[IB_CNT__COUNT] = {
	[IB_CNT_BAD_SIGNATURE_LENGTH] = "bad_signature_length",
	[IB_CNT_UNKNOWN_ORIGIN] = "unknown_origin",
	[IB_CNT_BAD_SIGNATURE] = "bad_signature",
	[IB_CNT_UNSUPPORTED_VERSION] = "unsupported_version",
	[IB_CNT_RESERVED_TYPE] = "reserved_type",
	[IB_CNT_MALFORMED] = "malformed",
	[IB_CNT_UNKNOWN_HOP_TYPE] = "unknown_hop_type",
	[IB_CNT_REPLAY] = "replay",
	[IB_CNT_STALE_COMMAND] = "stale_command",
	[IB_CNT_TOO_BIG_FOR_PEER] = "too_big_for_peer",
	[IB_CNT_CONNECT_FAILED] = "connect_failed",
	[IB_CNT_HANDSHAKE_FAILED] = "handshake_failed",
	[IB_CNT_HANDSHAKE_TIMEOUT] = "handshake_timeout",
	[IB_CNT_NOT_AUTHORIZED] = "not_authorized",
	[IB_CNT_QUEUE_OVERFLOW] = "queue_overflow",
	[IB_CNT_LINK_LOST] = "link_lost",
	[IB_CNT_LINKS_REFUSED] = "links_refused",
	[IB_CNT_LINKS_OPENED] = "links_opened",
	[IB_CNT_FRAMES_IN] = "frames_in",
	[IB_CNT_FRAMES_FORWARDED] = "frames_forwarded",
	[IB_CNT_FRAMES_DELIVERED] = "frames_delivered",
	[IB_CNT_STORE_FAILED] = "store_failed",
	[IB_CNT_LATE_OFFER] = "late_offer",
	[IB_CNT_LATE_TRANSFER] = "late_transfer",
	[IB_CNT_HOLDER_FAILED] = "holder_failed",
	[IB_CNT_LATE_RESULT] = "late_result",
	[IB_CNT_PENDING_PER_SOURCE] = "pending_per_source",
	[IB_CNT_PENDING_EVICTED] = "pending_evicted",
	[IB_CNT_CONTROL_EVICTED] = "control_evicted",
	[IB_CNT_ACCEPT_FAILED] = "accept_failed",
	[IB_CNT_STORE_FULL] = "store_full",
	[IB_CNT_BUSY] = "busy",
	[IB_CNT_ERROR_RECEIVED] = "error_received",
	[IB_CNT_PROTOCOL_VIOLATION] = "protocol_violation",
	[IB_CNT_LOOP_DETECTED] = "loop_detected",
	[IB_CNT_TOO_BIG] = "too_big",
	[IB_CNT_KEEPALIVE_TIMEOUT] = "keepalive_timeout",
	[IB_CNT_REVOKED] = "revoked",
	[IB_CNT_NO_CHILDREN_ACCEPTED] = "no_children_accepted",
	[IB_CNT_SHUTTING_DOWN] = "shutting_down",
	[IB_CNT_DUPLICATE_IDENTITY] = "duplicate_identity",
	[IB_CNT_HELLO_TIMEOUT] = "hello_timeout",
	[IB_CNT_LINGER_FULL] = "linger_full",
	[IB_CNT_CONTROL_CUT] = "control_cut",
	[IB_CNT_SEQ_RESERVE_FAILED] = "seq_reserve_failed",
	[IB_CNT_STORE_FLUSHES] = "store_flushes",
};

const char *ib_counter_name(enum ib_counter c)
{
	return (unsigned)c < IB_CNT__COUNT ? counter_names[c] : "unknown";
}

static void log_stderr(void *ctx, enum ib_log_level level, const char *line)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	(void)ctx;
	fprintf(stderr, "%s %s\n", names[level], line);
}

/* Formats "name: text" into line (the node's name first, as every log line). */
static void format_line(const struct ib_node *n, char *line, size_t cap, const char *fmt,
			va_list ap)
{
	int used = snprintf(line, cap, "%s: ", n->cfg.name);

	vsnprintf(line + used, cap - (size_t)used, fmt, ap);
}

void node_log(const struct ib_node *n, enum ib_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!n->log_fn || level > n->log_level)
		return;
	va_start(ap, fmt);
	format_line(n, line, sizeof line, fmt, ap);
	va_end(ap);
	n->log_fn(n->log_ctx, level, line);
}

void node_log_every(struct ib_node *n, enum ib_log_level level, enum ib_counter c,
		    const char *fmt, ...)
{
	struct node_log_rate *r = &n->log_rate[c];
	uint64_t now = node_now_us(n);
	char line[1024];
	size_t used;
	va_list ap;

	if (!n->log_fn || level > n->log_level)
		return;
	if (!r->started || now - r->window_us >= IB_LOG_INTERVAL_US) {
		r->started = true;
		r->window_us = now;
		r->lines = 0;
	}
	if (r->lines >= IB_LOG_BURST) {
		r->suppressed++;
		return;
	}
	r->lines++;
	va_start(ap, fmt);
	format_line(n, line, sizeof line, fmt, ap);
	va_end(ap);
	used = strlen(line);
	if (r->suppressed)
		snprintf(line + used, sizeof line - used, " (and %llu more like it left out before)",
			 (unsigned long long)r->suppressed);
	r->suppressed = 0;
	n->log_fn(n->log_ctx, level, line);
}

void node_count(struct ib_node *n, enum ib_counter c)
{
	/* FAULT crash-on-reserved-type, breaks [ERR-2]: the node dies of a peer's frame. It
	 * shows that the suite reports a crash in self mode as one test's CRASH, and goes on. */
	if (IB_FAULT(n, crash_on_reserved_type) && c == IB_CNT_RESERVED_TYPE)
		raise(SIGSEGV);
	n->counters[c]++;
}

uint64_t node_now_us(const struct ib_node *n)
{
	return ib_loop_now_us(n->loop);
}

uint64_t node_unix_us(const struct ib_node *n)
{
	const struct ib_clock *c = ib_loop_clock(n->loop);

	return c->unix_us(c->ctx) + (uint64_t)n->clock_skew_us;
}

/* xorshift64: only for retry jitter, which needs spread, not secrecy. */
uint64_t node_random(struct ib_node *n)
{
	uint64_t x = n->rng ? n->rng : 0x9e3779b97f4a7c15ull;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	n->rng = x;
	return x;
}

int node_random_bytes(struct ib_node *n, void *out, size_t len)
{
	uint8_t *p = out;

	if (!n->seeded)
		return RAND_bytes(p, (int)len) == 1 ? IB_OK : IB_ERR_CRYPTO;
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(node_random(n) >> 56);
	return IB_OK;
}

/* [MSG-14] Before a seq above the reservation goes out, a new one is recorded, reaching
 * IB_SEQ_RESERVE_US further. When it cannot be, the node says so and sends on: its clock
 * keeps [MSG-5] while it does not go back, and the next message tries again. */
static void seq_reserve(struct ib_node *n, uint64_t seq)
{
	uint64_t next = seq > UINT64_MAX - IB_SEQ_RESERVE_US ? UINT64_MAX : seq + IB_SEQ_RESERVE_US;

	if (!n->seq_dir || seq <= n->seq_reserved)
		return;
	if (ib_seq_reserve_save(n->seq_dir, next) == IB_OK) {
		n->seq_reserved = next;
		return;
	}
	node_count(n, IB_CNT_SEQ_RESERVE_FAILED);
	node_log_every(n, IB_LOG_ERROR, IB_CNT_SEQ_RESERVE_FAILED,
		       "cannot record the seq reservation in %s: %s (seq kept by the clock "
		       "alone until it can)", n->seq_dir, strerror(errno));
}

int node_sign(struct ib_node *n, struct ib_msg *m, struct ib_buf *frame)
{
	struct ib_buf msg = { 0 };
	int err;

	m->h.version = IB_PROTOCOL_VERSION;
	/* [MSG-5] one counter for all our messages, hop-local and end-to-end. */
	m->h.seq = ib_seq_next(&n->seq, node_unix_us(n));
	if (m->h.seq == 0)
		return IB_ERR_RANGE;
	seq_reserve(n, m->h.seq);
	err = ib_msg_encode(&msg, m);
	if (!err)
		err = ib_frame_sign(frame, n->id, msg.ptr, msg.len); /* [ID-1] */
	ib_buf_free(&msg);
	return err;
}

bool node_is_child(const struct ib_node *n, const struct ib_link *l)
{
	(void)n;
	return !l->we_connected;
}

/* [MSG-10] only known types get here; each goes to the part of the node it concerns, then
 * to the embedding program. */
void node_deliver(struct ib_node *n, const struct ib_frame *f, const struct ib_msg *m)
{
	switch (m->h.type) {
	case IB_MSG_PUBLISH:
		data_publish_received(n, f, m);
		break;
	case IB_MSG_QUERY:
		elect_query_received(n, f, m);
		break;
	case IB_MSG_OFFER:
		elect_offer_received(n, f, m);
		break;
	case IB_MSG_SELECT:
		elect_select_received(n, f, m);
		break;
	case IB_MSG_TRANSFER:
		elect_transfer_received(n, f, m);
		break;
	case IB_MSG_COMMAND:
		cmd_received(n, f, m);
		break;
	case IB_MSG_RESULT:
		cmd_result_received(n, f, m);
		break;
	case IB_MSG_ANNOUNCE:
	case IB_MSG_PARTED:
		map_received(n, f, m);
		break;
	default:
		break;
	}
	if (n->deliver_fn)
		n->deliver_fn(n, f, m, n->deliver_ctx);
}

static void reap(struct ib_loop *loop, void *arg)
{
	struct ib_node *n = arg;

	n->reap_timer = 0;
	while (n->dead) {
		struct ib_link *l = n->dead;

		n->dead = l->next;
		link_free(l);
	}
}

/* A closed link leaves the list now and is freed after the callbacks of this turn, which may
 * still hold it. */
void node_link_gone(struct ib_node *n, struct ib_link *l)
{
	for (struct ib_link **p = &n->links; *p; p = &(*p)->next) {
		if (*p == l) {
			*p = l->next;
			break;
		}
	}
	flood_forget_link(n, l);
	l->next = n->dead;
	n->dead = l;
	if (!n->reap_timer)
		ib_loop_timer_add(n->loop, 0, reap, n, &n->reap_timer);
}

/* [DATA-16] the node's own items, and [IFACE-21] the bounds node.conf gives the store. */
static void store_configure(struct ib_node *n, struct ib_store *s)
{
	struct ib_store_bounds max = { n->cfg.max_store_items, (size_t)n->cfg.max_store_mib << 20,
				       n->cfg.max_writer_items,
				       (size_t)n->cfg.max_writer_mib << 20 };

	ib_store_set_own(s, ib_identity_id(n->id));
	ib_store_set_bounds(s, &max);
}

int ib_node_new(struct ib_node **out, struct ib_loop *loop, const struct ib_config *cfg,
		struct ib_identity *id, struct ib_keyring *kr, struct ib_diag *diag)
{
	struct ib_node *n = calloc(1, sizeof *n);
	int err = IB_ERR_NOMEM;

	*out = NULL;
	if (!n)
		goto fail;
	n->loop = loop;
	n->cfg = *cfg;
	n->id = id;
	n->kr = kr;
	n->log_fn = log_stderr;
	n->log_level = IB_LOG_INFO;
	id = NULL;
	kr = NULL;
	err = ib_tls_ctx_new(&n->tls, n->id);
	if (err) {
		ib_diag_set(diag, "", 0, "TLS context: %s", ib_strerror(err));
		goto fail;
	}
	ib_tls_ctx_set_keyring(n->tls, n->kr);
	err = ib_store_open(&n->store, NULL, n->kr, NULL, diag);
	if (err)
		goto fail;
	store_configure(n, n->store);
	if (RAND_bytes((unsigned char *)&n->rng, sizeof n->rng) != 1)
		n->rng = 1;
	n->net = &ib_net_sockets;
	n->path[0] = *ib_identity_id(n->id);
	n->path_len = 1;
	*out = n;
	return IB_OK;
fail:
	ib_node_free(n);
	ib_identity_free(id);
	ib_keyring_free(kr);
	return err;
}

/* DIR/name into buf. */
static int dir_path(char *buf, size_t cap, const char *dir, const char *name)
{
	return (size_t)snprintf(buf, cap, "%s/%s", dir, name) < cap ? IB_OK : IB_ERR_RANGE;
}

/* [DATA-5][DATA-6] DIR/store, every item checked again; what fails is reported, not loaded. */
static int open_store(struct ib_node *n, const char *dir, struct ib_diag *diag)
{
	char path[4096];
	int err = dir_path(path, sizeof path, dir, "store");

	return err ? err : ib_node_use_store(n, path, diag);
}

/* [DATA-6] Each file the store did not load, by name (the first IB_STORE_REPORTED), once. */
static void log_store_rejects(struct ib_node *n)
{
	const char *line;
	size_t i;

	for (i = 0; (line = ib_store_rejected(n->store, i)); i++)
		node_log(n, IB_LOG_WARN, "store: item not loaded: %s", line);
	if (n->store_rejected > i)
		node_log(n, IB_LOG_WARN, "store: and %zu more items not loaded",
			 n->store_rejected - i);
	n->store_rejected = 0;
}

int ib_node_use_store(struct ib_node *n, const char *store_dir, struct ib_diag *diag)
{
	struct ib_store *store = NULL;
	struct ib_diag why = { 0 };
	size_t rejected = 0;
	int err = ib_store_open(&store, store_dir, n->kr, &rejected, &why);
	uint64_t reserved = 0;
	char *seq_dir = NULL;

	/* [MSG-14] the seq floor the earlier runs reserved. */
	if (!err)
		err = ib_seq_reserve_load(store_dir, &reserved, &why);
	if (!err && !(seq_dir = strdup(store_dir)))
		err = IB_ERR_NOMEM;
	if (err) {
		if (diag)
			*diag = why;
		ib_store_free(store);
		free(seq_dir); /* NULL: said for cppcheck, which does not follow err */
		return err;
	}
	n->seq_reserved = reserved; /* the floor from ib_node_start on */
	free(n->seq_dir);
	n->seq_dir = seq_dir;
#ifdef IB_FAULTS
	ib_store_set_fault(store, n->fault);
#endif
	store_configure(n, store);
	ib_store_free(n->store);
	n->store = store;
	n->store_rejected = rejected;
	if (n->started)
		log_store_rejects(n);
	return IB_OK;
}

int ib_node_open(struct ib_node **out, struct ib_loop *loop, const char *dir,
		 struct ib_diag *diag)
{
	struct ib_identity *id = NULL;
	struct ib_keyring *kr = NULL;
	struct ib_config *cfg = calloc(1, sizeof *cfg);
	char path[4096];
	int err = IB_ERR_NOMEM;

	*out = NULL;
#ifdef IB_FAULTS
	ib_fault_from_env(); /* a bad IB_FAULT ends the program here, whatever the directory */
#endif
	if (!cfg)
		goto out;
	err = dir_path(path, sizeof path, dir, "node.conf");
	if (!err)
		err = ib_config_load(cfg, path, diag); /* [IFACE-1][IFACE-2] */
	if (!err)
		err = dir_path(path, sizeof path, dir, "identity.key");
	if (!err)
		err = ib_identity_load(&id, path, diag); /* [ID-5] */
	if (!err)
		err = dir_path(path, sizeof path, dir, "authorized");
	if (!err)
		err = ib_keyring_load_dir(&kr, path, ib_identity_pubkey(id), diag); /* [MEMBER-1] */
	if (err) {
		ib_identity_free(id);
		goto out;
	}
	err = ib_node_new(out, loop, cfg, id, kr, diag);
	if (!err)
		snprintf((*out)->dir, sizeof (*out)->dir, "%s", dir);
#ifdef IB_FAULTS
	/* Fault builds break the node opened from a directory (the IUT, `interbot run`), not
	 * the reference nodes interbot-conform makes with ib_node_new in the same process. */
	if (!err) {
		(*out)->fault = ib_fault_from_env();
		ib_tls_ctx_set_fault((*out)->tls, (*out)->fault);
	}
#endif
	if (!err)
		err = open_store(*out, dir, diag);
	if (err && *out) {
		ib_node_free(*out);
		*out = NULL;
	}
out:
	free(cfg);
	return err;
}

void ib_node_set_log(struct ib_node *n, ib_log_fn fn, void *ctx, enum ib_log_level level)
{
	n->log_fn = fn;
	n->log_ctx = ctx;
	n->log_level = level;
}

void ib_node_set_trace(struct ib_node *n, struct ib_trace *t)
{
	n->trace = t;
}

void ib_node_set_deliver(struct ib_node *n, ib_deliver_fn fn, void *ctx)
{
	n->deliver_fn = fn;
	n->deliver_ctx = ctx;
}

void ib_node_set_seed(struct ib_node *n, uint64_t seed)
{
	n->rng = seed ? seed : 1;
}

void ib_node_set_transport(struct ib_node *n, const struct ib_transport *t, void *ctx,
			   uint64_t seed)
{
	n->net = t;
	n->net_ctx = ctx;
	n->seeded = true;
	ib_node_set_seed(n, seed);
}

void ib_node_set_clock_skew(struct ib_node *n, int64_t skew_us)
{
	n->clock_skew_us = skew_us;
}

/* [LINK-14][LINK-15][LINK-16] Whether a connection just accepted from source may stay: not
 * if its source holds max_pending_per_source pending connections already; if the table is
 * full, the oldest pending connection makes room for it. */
static bool admit_pending(struct ib_node *n, const struct ib_net_source *source)
{
	struct ib_link *oldest = NULL, *newest = NULL;
	size_t total = 0, same = 0;

	for (struct ib_link *l = n->links; l; l = l->next) {
		if (!link_pending(l))
			continue;
		total++;
		same += ib_net_same_source(&l->source, source);
		if (!newest)
			newest = l;
		oldest = l; /* the list is newest first */
	}
	/* FAULT no-source-bound, breaks [LINK-15]: one address may fill the table. */
	if (same >= n->cfg.max_pending_per_source && !IB_FAULT(n, no_source_bound)) {
		node_count(n, IB_CNT_PENDING_PER_SOURCE);
		node_log_every(n, IB_LOG_WARN, IB_CNT_PENDING_PER_SOURCE,
			       "a connection refused: its source holds %u pending connections "
			       "(max_pending_per_source)", (unsigned)n->cfg.max_pending_per_source);
		return false;
	}
	if (total < n->cfg.max_pending)
		return true;
	/* FAULT refuse-when-full, breaks [LINK-16]: a full table refuses the newcomer, and
	 * idle connects keep every peer out. */
	if (IB_FAULT(n, refuse_when_full)) {
		node_count(n, IB_CNT_PENDING_EVICTED);
		return false;
	}
	/* FAULT evict-newest, breaks [LINK-16]: the newest pending connection makes room, and
	 * a flood closes every peer still in its handshake. */
	if (IB_FAULT(n, evict_newest))
		oldest = newest;
	node_count(n, IB_CNT_PENDING_EVICTED);
	node_log_every(n, IB_LOG_WARN, IB_CNT_PENDING_EVICTED,
		       "%u connections pending (max_pending): the oldest (%s) closed for a new "
		       "one", (unsigned)n->cfg.max_pending, oldest->addr);
	link_close(oldest, 0, "the oldest pending connection, closed for a new one");
	return true;
}

static void on_listen(struct ib_loop *loop, int fd, unsigned events, void *arg);

static void listen_again(struct ib_loop *loop, void *arg)
{
	struct ib_node *n = arg;

	n->listen_timer = 0;
	for (size_t i = 0; i < n->listen_count; i++)
		ib_loop_watch(loop, n->listen_fds[i], IB_EV_READ, on_listen, n);
}

static void on_listen(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	struct ib_node *n = arg;
	struct ib_net_source source;
	char peer[IB_MAX_ADDR];
	int cfd, err;

	(void)events;
	while ((err = n->net->accept_from(n->net_ctx, fd, &cfd, peer, sizeof peer, &source)) ==
	       IB_OK) {
		if (!admit_pending(n, &source)) {
			ib_net_close(cfd);
			continue;
		}
		link_accept(n, cfd, peer, &source);
	}
	if (err != IB_ERR_AGAIN) {
		/* Out of descriptors: the listener stays readable, so stop watching it for a
		 * second instead of spinning. */
		node_count(n, IB_CNT_ACCEPT_FAILED);
		node_log_every(n, IB_LOG_WARN, IB_CNT_ACCEPT_FAILED,
			       "accept failed (%s): no new links for 1 s", strerror(errno));
		ib_loop_watch(loop, fd, 0, on_listen, n);
		if (!n->listen_timer)
			ib_loop_timer_add(loop, 1000000, listen_again, n, &n->listen_timer);
	}
}

int ib_node_start(struct ib_node *n, struct ib_diag *diag)
{
	char host[IB_MAX_ADDR];
	uint16_t port = 0;
	const char *colon = strrchr(n->cfg.listen, ':');
	int err;

	if (n->started)
		return IB_ERR_INVALID_ARG;
	/* [MSG-14] the reservation of the earlier runs is the floor of seq.
	 * FAULT forget-seq-reservation, breaks [MSG-14]: the floor is the clock's alone. */
	if (n->seq_reserved > n->seq.last && !IB_FAULT(n, forget_seq_reservation))
		n->seq.last = n->seq_reserved;
	/* Port 0 (tests: an ephemeral port) is not a node.conf value, so it is read here, not
	 * by ib_addr_parse. */
	if (colon && strcmp(colon, ":0") == 0) {
		size_t len = (size_t)(colon - n->cfg.listen);
		const char *h = n->cfg.listen;

		if (len >= 2 && h[0] == '[' && h[len - 1] == ']') {
			h++;
			len -= 2;
		}
		snprintf(host, sizeof host, "%.*s", (int)len, h);
		err = IB_OK;
	} else {
		err = ib_addr_parse(n->cfg.listen, host, sizeof host, &port);
	}
	if (err) {
		ib_diag_set(diag, "", 0, "listen %s: not an address", n->cfg.listen);
		return err;
	}
	/* [TREE-26] every address a name resolves to. */
	err = n->net->listen_all(n->net_ctx, host, port, n->listen_fds, IB_MAX_LISTEN,
				 &n->listen_count, &n->listen_port, diag);
	if (err)
		return err;
	for (size_t i = 0; i < n->listen_count && !err; i++)
		err = ib_loop_watch(n->loop, n->listen_fds[i], IB_EV_READ, on_listen, n);
	if (err)
		return err;
	n->started = true;
	{
		char hex[2 * IB_ID_LEN + 1];

		ib_id_to_hex(ib_node_id(n), hex);
		node_log(n, IB_LOG_INFO, "listening on %s port %u (%zu address%s), id %s", host,
			 n->listen_port, n->listen_count, n->listen_count == 1 ? "" : "es", hex);
	}
	/* A removed item file leaves no trace ([DATA-6] checks the files that are there): the
	 * count lets the owner see that items are missing. */
	node_log(n, IB_LOG_INFO, "store: %zu items loaded", ib_store_count(n->store));
	if (n->store_rejected)
		log_store_rejects(n);
	tree_start(n);
	return IB_OK;
}

/* [LINK-13] shutting_down wherever an ERROR can be sent: after TLS, before or after HELLO.
 * FAULT shutdown-skips-hello-wait, breaks [LINK-13]: HELLO-WAIT connections just close. */
static uint16_t stop_code(const struct ib_node *n, const struct ib_link *l)
{
	if (l->state == LINK_OPEN ||
	    (l->state == LINK_HELLO_WAIT && !IB_FAULT(n, shutdown_skips_hello_wait)))
		return IB_EC_SHUTTING_DOWN;
	return 0;
}

void ib_node_stop(struct ib_node *n)
{
	if (!n || n->stopping)
		return;
	n->stopping = true;
	ib_node_control_close(n);
	tree_stop(n);
	/* FAULT shutdown-announces, breaks [LINK-13]: an ANNOUNCE goes out before the goodbyes. */
	if (IB_FAULT(n, shutdown_announces))
		map_announce(n);
	/* [LINK-8][LINK-13] a clean goodbye on every connection past TLS, HELLO-WAIT too; the
	 * parent last, so that no child is sent a PATH first (a stopping node originates
	 * nothing more). */
	for (struct ib_link *l = n->links, *next; l; l = next) {
		next = l->next;
		if (l != n->parent)
			link_close(l, stop_code(n, l), "shutting down");
	}
	while (n->links)
		link_close(n->links, stop_code(n, n->links), "shutting down");
	/* [LINK-13] no listening while it winds down: a connection now is refused at once. */
	ib_loop_timer_cancel(n->loop, n->listen_timer);
	n->listen_timer = 0;
	for (size_t i = 0; i < n->listen_count; i++) {
		ib_loop_unwatch(n->loop, n->listen_fds[i]);
		ib_net_close(n->listen_fds[i]);
	}
	n->listen_count = 0;
}

void ib_node_free(struct ib_node *n)
{
	if (!n)
		return;
	ib_node_stop(n);
	link_linger_free_all(n);
	elect_free_all(n);
	cmd_free_all(n);
	ib_loop_timer_cancel(n->loop, n->reap_timer);
	n->reap_timer = 0;
	reap(n->loop, n);
	flood_free(n);
	map_free(n);
	ib_store_free(n->store);
	free(n->seq_dir);
	ib_tls_ctx_free(n->tls);
	ib_keyring_free(n->kr);
	ib_identity_free(n->id);
	free(n);
}

/* The keyrings before and after a reload, for writer_removed. */
struct keyring_change {
	const struct ib_keyring *old, *kr;
};

/* [MEMBER-6] Whether the item's writer left the keyring, or is now another key under the
 * same id_bot ([ID-3]): either way the frame no longer verifies against the keyring. */
static bool writer_removed(const struct ib_item *item, void *ctx)
{
	const struct keyring_change *ch = ctx;
	const struct ib_pubkey *now = ib_keyring_find(ch->kr, &item->writer);
	const struct ib_pubkey *before = ib_keyring_find(ch->old, &item->writer);

	return !now || !before || memcmp(ib_pubkey_spki(now), ib_pubkey_spki(before), IB_SPKI_LEN);
}

/* [MEMBER-6] The items of removed writers leave the store and its files at once, as the next
 * start would leave them out ([DATA-6]). */
static void drop_removed_writers(struct ib_node *n, const struct ib_keyring *old)
{
	struct keyring_change ch = { old, n->kr };
	size_t removed = 0;
	int err;

	/* FAULT revoke-keeps-items, breaks [MEMBER-6]: they stay, served until a restart. */
	if (IB_FAULT(n, revoke_keeps_items))
		return;
	err = ib_store_remove_if(n->store, writer_removed, &ch, &removed);
	if (err)
		node_log(n, IB_LOG_ERROR, "items of removed keys: cannot delete a file: %s",
			 ib_strerror(err));
	if (removed)
		node_log(n, IB_LOG_INFO, "%zu item(s) of removed keys dropped", removed);
}

int ib_node_set_keyring(struct ib_node *n, struct ib_keyring *kr)
{
	struct ib_keyring *old = n->kr;

	n->kr = kr;
	ib_tls_ctx_set_keyring(n->tls, kr);
	/* [MEMBER-2] links to keys no longer authorized close at once; [MEMBER-5] those still
	 * in HELLO-WAIT too (peer_known: the TLS handshake is done). */
	for (struct ib_link *l = n->links, *next; l; l = next) {
		next = l->next;
		if (l->peer_known && !ib_keyring_match_spki(kr, l->peer_spki, IB_SPKI_LEN) &&
		    !IB_FAULT(n, revoke_keeps_links) && /* FAULT revoke-keeps-links, [MEMBER-2] */
		    (link_open(l) || !IB_FAULT(n, revoke_skips_hello_wait))) /* FAULT [MEMBER-5] */
			link_close(l, IB_EC_REVOKED, "your key was removed");
	}
	drop_removed_writers(n, old);
	ib_keyring_free(old);
	return IB_OK;
}

#ifdef IB_FAULTS
/* FAULT sighup-rereads-conf, breaks [IFACE-18]: a reload also takes `commands` from
 * node.conf as it is now. */
static void fault_reread_commands(struct ib_node *n)
{
	struct ib_config cfg;
	char path[4096];

	if (dir_path(path, sizeof path, n->dir, "node.conf") != IB_OK ||
	    ib_config_load(&cfg, path, NULL) != IB_OK)
		return;
	memcpy(n->cfg.commands, cfg.commands, sizeof cfg.commands);
	n->cfg.command_count = cfg.command_count;
}
#else
static void fault_reread_commands(struct ib_node *n)
{
	(void)n;
}
#endif

int ib_node_reload_keys(struct ib_node *n, struct ib_diag *diag)
{
	char path[4096];
	int err;

	if (!n->dir[0])
		return IB_ERR_INVALID_ARG;
	/* [IFACE-18] the keyring only: node.conf was read once, at start. */
	if (IB_FAULT(n, sighup_rereads_conf))
		fault_reread_commands(n);
	err = dir_path(path, sizeof path, n->dir, "authorized");
	return err ? err : node_reload_keys_from(n, path, diag);
}

int node_reload_keys_from(struct ib_node *n, const char *authorized, struct ib_diag *diag)
{
	struct ib_keyring *kr = NULL;
	int err;

	/* FAULT accept-weak-keys, breaks [FRAME-10]: a key of small order is loaded. */
	ib_keyring_fault_weak_keys(IB_FAULT(n, accept_weak_keys));
	err = ib_keyring_load_dir(&kr, authorized, ib_identity_pubkey(n->id), diag);
	ib_keyring_fault_weak_keys(false);
	if (err) {
		/* [MEMBER-3] the old keyring stays in force. */
		node_log(n, IB_LOG_ERROR, "key reload failed, keeping the old keys: %s%s%s",
			 diag && diag->file[0] ? diag->file : "", diag && diag->file[0] ? ": " : "",
			 diag ? diag->reason : ib_strerror(err));
		return err;
	}
	node_log(n, IB_LOG_INFO, "keys reloaded: %zu authorized", ib_keyring_count(kr));
	return ib_node_set_keyring(n, kr);
}

int ib_node_set_parents(struct ib_node *n, const char *const *addrs, size_t count)
{
	if (count > IB_MAX_PARENTS)
		return IB_ERR_RANGE;
	for (size_t i = 0; i < count; i++)
		if (ib_addr_parse(addrs[i], NULL, 0, NULL) != IB_OK || strlen(addrs[i]) >= IB_MAX_ADDR)
			return IB_ERR_RANGE;
	for (size_t i = 0; i < count; i++)
		snprintf(n->cfg.parents[i], sizeof n->cfg.parents[i], "%s", addrs[i]);
	n->cfg.parent_count = count;
	if (n->started)
		tree_parents_changed(n);
	return IB_OK;
}

int ib_node_send(struct ib_node *n, struct ib_msg *m)
{
	return flood_originate(n, m);
}

const ib_id *ib_node_id(const struct ib_node *n)
{
	return ib_identity_id(n->id);
}

const char *ib_node_name(const struct ib_node *n)
{
	return n->cfg.name;
}

uint16_t ib_node_listen_port(const struct ib_node *n)
{
	return n->listen_port;
}

bool ib_node_parent(const struct ib_node *n, ib_id *parent)
{
	if (!n->parent)
		return false;
	if (parent)
		*parent = n->parent->peer_id;
	return true;
}

size_t ib_node_path(const struct ib_node *n, ib_id *out, size_t max)
{
	size_t count = n->path_len < max ? n->path_len : max;

	memcpy(out, n->path, count * sizeof *out);
	return n->path_len;
}

void node_link_info(const struct ib_link *l, struct ib_link_info *info)
{
	memset(info, 0, sizeof *info);
	info->peer = l->peer_id;
	snprintf(info->name, sizeof info->name, "%s", l->peer_name);
	snprintf(info->addr, sizeof info->addr, "%s", l->addr);
	info->is_parent = l->we_connected;
	info->role = l->peer_role;
	info->rtt_us = l->rtt_us;
	info->open_since_us = l->open_since_us;
}

size_t ib_node_links(const struct ib_node *n, struct ib_link_info *out, size_t max)
{
	size_t count = 0;

	for (const struct ib_link *l = n->links; l; l = l->next) {
		if (!link_open(l))
			continue;
		if (count < max)
			node_link_info(l, &out[count]);
		count++;
	}
	return count;
}

void ib_node_on_item(struct ib_node *n, ib_item_fn fn, void *ctx)
{
	n->item_fn = fn;
	n->item_ctx = ctx;
}

void ib_node_on_link(struct ib_node *n, ib_link_fn fn, void *ctx)
{
	n->link_fn = fn;
	n->link_ctx = ctx;
}

void node_link_event(struct ib_node *n, const struct ib_link *l, bool up)
{
	struct ib_link_info info;

	if (!n->link_fn)
		return;
	node_link_info(l, &info);
	n->link_fn(n, &info, up, n->link_ctx);
}

void node_item_event(struct ib_node *n, struct ib_slice key)
{
	struct ib_item item;

	if (n->item_fn && ib_store_get(n->store, key, &item) == IB_OK)
		n->item_fn(n, &item, n->item_ctx);
}

/* The store's flushes since the last call, into IB_CNT_STORE_FLUSHES: what a benchmark
 * divides by the items it sent. */
static void count_flushes(struct ib_node *n)
{
	n->counters[IB_CNT_STORE_FLUSHES] += ib_store_take_flushes(n->store);
}

/* [DATA-19] The items of this read made durable, before anything of it leaves: one flush of
 * the disk for all of them. An item that could not be is taken back, and reported. */
void node_store_commit(struct ib_node *n)
{
	size_t back = 0;
	int err;

	if (!ib_store_batch_pending(n->store))
		return;
	err = ib_store_batch_commit(n->store, &back);
	count_flushes(n);
	if (!err)
		return;
	for (size_t i = 0; i < back; i++)
		node_count(n, IB_CNT_STORE_FAILED);
	node_log_every(n, IB_LOG_ERROR, IB_CNT_STORE_FAILED,
		       "cannot keep %zu item%s received (the older ones are kept): %s", back,
		       back == 1 ? "" : "s", strerror(errno));
}

int node_store_apply(struct ib_node *n, struct ib_slice frame, const struct ib_msg *pub,
		     bool batched)
{
	/* Batched only while a read is handled: its end commits ([DATA-19]). */
	int applied = batched && n->defer_flush ? ib_store_apply_batched(n->store, frame, pub)
						: ib_store_apply(n->store, frame, pub);
	int saved_errno = errno; /* the file layer's: "No space left on device" says more */

	count_flushes(n);

	if (applied < 0) {
		enum ib_counter c = applied == IB_ERR_FULL ? IB_CNT_STORE_FULL : IB_CNT_STORE_FAILED;

		/* [DATA-5] the old item stays; the owner is told, at a bounded rate (members
		 * choose how often). */
		node_count(n, c);
		node_log_every(n, IB_LOG_ERROR, c, "cannot keep item %.*s: %s%s",
			       (int)pub->u.publish.key.len, (const char *)pub->u.publish.key.ptr,
			       applied == IB_ERR_FULL ? "it would pass " : "",
			       applied == IB_ERR_IO ? strerror(saved_errno)
			       : applied == IB_ERR_FULL ? ib_store_refused(n->store)
			       : ib_strerror(applied));
	} else if (applied == 1) {
		node_item_event(n, pub->u.publish.key);
	}
	return applied;
}

size_t ib_node_child_count(const struct ib_node *n)
{
	size_t count = 0;

	for (const struct ib_link *l = n->links; l; l = l->next)
		count += link_open(l) && node_is_child(n, l);
	return count;
}

size_t ib_node_link_count(const struct ib_node *n)
{
	size_t count = 0;

	for (const struct ib_link *l = n->links; l; l = l->next)
		count += link_open(l);
	return count;
}

uint64_t ib_node_counter(const struct ib_node *n, enum ib_counter c)
{
	return (unsigned)c < IB_CNT__COUNT ? n->counters[c] : 0;
}
