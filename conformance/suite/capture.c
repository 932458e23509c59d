/* capture.c - live loopback capture and TCP reassembly for the WIRE group (capture.h). */
#define _DEFAULT_SOURCE /* pcap.h uses the BSD types u_char and u_int */

#include "capture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#define CAP_DEVICE "lo"
#define CAP_SNAPLEN 262144          /* loopback GSO packets reach 64 KiB and more */
#define CAP_BUFFER (8 * 1024 * 1024)
#define CAP_MAX_PORTS 4             /* one pcap handle each */
#define CAP_MAX_CONNS 64

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_ACK 0x10

/* One live capture per port: a new filter on a running handle makes Linux libpcap discard
 * what the kernel queued meanwhile, and a port added late must not cost the first one's
 * packets. */
struct cap_handle {
	pcap_t *pcap;
	int fd;
	int dlt;
};

struct cap {
	struct ib_loop *loop;       /* NULL: offline (cap_feed only) */
	struct cap_handle h[CAP_MAX_PORTS];
	uint16_t ports[CAP_MAX_PORTS];
	size_t nports;
	struct cap_conn conns[CAP_MAX_CONNS];
	size_t nconns;
	unsigned overflow;          /* connections past CAP_MAX_CONNS, not followed */
};

/* One TCP segment, as the link and IP layers delivered it. */
struct cap_tcp {
	uint8_t src[16], dst[16];
	bool v6;
	uint16_t sport, dport;
	uint32_t seq;
	uint8_t flags;
	const uint8_t *payload;
	size_t len;
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- decoding: link layer, IP, TCP ------------------------------------------------------ */

static bool decode_tcp(const uint8_t *p, size_t len, struct cap_tcp *t)
{
	size_t hl;

	if (len < 20 || (hl = (size_t)(p[12] >> 4) * 4) < 20 || hl > len)
		return false;
	t->sport = be16(p);
	t->dport = be16(p + 2);
	t->seq = be32(p + 4);
	t->flags = p[13];
	t->payload = p + hl;
	t->len = len - hl;
	return true;
}

static bool decode_ip(const uint8_t *p, size_t len, struct cap_tcp *t)
{
	memset(t->src, 0, sizeof t->src);
	memset(t->dst, 0, sizeof t->dst);
	if (len >= 20 && p[0] >> 4 == 4) {
		size_t ihl = (size_t)(p[0] & 15) * 4, total = be16(p + 2);

		/* Fragments do not happen on loopback TCP; refusing them keeps this honest. */
		if (p[9] != 6 || ihl < 20 || total < ihl || total > len ||
		    (be16(p + 6) & 0x3fff) != 0)
			return false;
		memcpy(t->src, p + 12, 4);
		memcpy(t->dst, p + 16, 4);
		t->v6 = false;
		return decode_tcp(p + ihl, total - ihl, t);
	}
	/* IPv6 without extension headers: what loopback TCP sends. */
	if (len >= 40 && p[0] >> 4 == 6) {
		size_t plen = be16(p + 4);

		if (p[6] != 6 || 40 + plen > len)
			return false;
		memcpy(t->src, p + 8, 16);
		memcpy(t->dst, p + 24, 16);
		t->v6 = true;
		return decode_tcp(p + 40, plen, t);
	}
	return false;
}

/* Strips the link layer of the device's type; false for other protocols. */
static bool decode_link(int dlt, const uint8_t *p, size_t len, struct cap_tcp *t)
{
	uint16_t proto;

	switch (dlt) {
	case DLT_EN10MB:
		if (len < 14)
			return false;
		proto = be16(p + 12);
		return (proto == 0x0800 || proto == 0x86dd) && decode_ip(p + 14, len - 14, t);
	case DLT_NULL:
	case DLT_LOOP:
		/* A 4-byte address family (host order for NULL): the IP version nibble decides. */
		return len >= 4 && decode_ip(p + 4, len - 4, t);
	case DLT_LINUX_SLL:
		if (len < 16)
			return false;
		proto = be16(p + 14);
		return (proto == 0x0800 || proto == 0x86dd) && decode_ip(p + 16, len - 16, t);
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2:
		if (len < 20)
			return false;
		proto = be16(p);
		return (proto == 0x0800 || proto == 0x86dd) && decode_ip(p + 20, len - 20, t);
#endif
	case DLT_RAW:
		return decode_ip(p, len, t);
	default:
		return false;
	}
}

static bool dlt_known(int dlt)
{
	return dlt == DLT_EN10MB || dlt == DLT_NULL || dlt == DLT_LOOP || dlt == DLT_LINUX_SLL ||
#ifdef DLT_LINUX_SLL2
	       dlt == DLT_LINUX_SLL2 ||
#endif
	       dlt == DLT_RAW;
}

/* ---- reassembly ------------------------------------------------------------------------- */

static bool wanted_port(const struct cap *k, const struct cap_tcp *t)
{
	if (!k->loop)
		return true;    /* offline: whatever is fed */
	for (size_t i = 0; i < k->nports; i++)
		if (t->sport == k->ports[i] || t->dport == k->ports[i])
			return true;
	return false;
}

/* The connection of t and the direction t travels in (0: from the client). */
static struct cap_conn *conn_of(struct cap *k, const struct cap_tcp *t, int *dir)
{
	size_t alen = t->v6 ? 16 : 4;

	for (size_t i = 0; i < k->nconns; i++) {
		struct cap_conn *cn = &k->conns[i];

		for (int d = 0; d < 2; d++)
			if (cn->v6 == t->v6 && cn->port[d] == t->sport &&
			    cn->port[!d] == t->dport && !memcmp(cn->addr[d], t->src, alen) &&
			    !memcmp(cn->addr[!d], t->dst, alen)) {
				*dir = d;
				return cn;
			}
	}
	if (k->nconns == CAP_MAX_CONNS) {
		k->overflow++;
		return NULL;
	}
	/* A new one: its client is the sender of a bare SYN, else (started before the
	 * capture) whoever spoke first, and its streams are then not whole. */
	struct cap_conn *cn = &k->conns[k->nconns++];

	memset(cn, 0, sizeof *cn);
	cn->v6 = t->v6;
	memcpy(cn->addr[0], t->src, alen);
	memcpy(cn->addr[1], t->dst, alen);
	cn->port[0] = t->sport;
	cn->port[1] = t->dport;
	cn->syn_seen = (t->flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
	*dir = 0;
	return cn;
}

static void note_seg(struct cap_dir *d, size_t off, uint64_t ts_us)
{
	if (d->nsegs == d->capsegs) {
		size_t n = d->capsegs ? 2 * d->capsegs : 64;
		struct cap_seg *s = realloc(d->segs, n * sizeof *s);

		if (!s)
			return;
		d->segs = s;
		d->capsegs = n;
	}
	d->segs[d->nsegs++] = (struct cap_seg){ off, ts_us };
}

/* Appends what t adds to its direction: a retransmission adds only bytes past the end;
 * a segment past a hole marks the stream as having a gap (the capture missed bytes). */
static void take_segment(struct cap_dir *d, const struct cap_tcp *t, uint64_t ts_us)
{
	uint32_t ahead;
	size_t skip;

	if (t->flags & TCP_SYN) {
		d->next_seq = t->seq + 1;
		d->started = true;
		return;
	}
	if (!d->started) {
		d->next_seq = t->seq;
		d->started = true;
	}
	if (t->flags & TCP_FIN)
		d->fin = true;
	if (!t->len)
		return;
	ahead = t->seq - d->next_seq;   /* modulo 2^32: small when ahead, huge when behind */
	if (ahead != 0 && ahead < 0x80000000u) {
		d->gap = true;
		return;
	}
	skip = ahead ? (size_t)(d->next_seq - t->seq) : 0;
	if (skip >= t->len)
		return;     /* all of it seen already */
	note_seg(d, d->bytes.len, ts_us);
	ib_buf_put(&d->bytes, t->payload + skip, t->len - skip);
	d->next_seq += (uint32_t)(t->len - skip);
}

void cap_feed(struct cap *k, int dlt, const uint8_t *pkt, size_t len, uint64_t ts_us)
{
	struct cap_conn *cn;
	struct cap_tcp t;
	int dir;

	if (!decode_link(dlt, pkt, len, &t) || !wanted_port(k, &t) ||
	    !(cn = conn_of(k, &t, &dir)))
		return;
	take_segment(&cn->dir[dir], &t, ts_us);
}

struct cap_ctx {
	struct cap *k;
	int dlt;
};

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct cap_ctx *x = (struct cap_ctx *)user;
	uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;

	/* A packet cut by the snap length loses bytes of the stream: the reassembly then
	 * sees a gap, which is what it is. */
	cap_feed(x->k, x->dlt, bytes, h->caplen, ts);
}

void cap_drain(struct cap *k)
{
	for (size_t i = 0; k && i < k->nports; i++) {
		struct cap_ctx x = { k, k->h[i].dlt };

		while (k->h[i].pcap &&
		       pcap_dispatch(k->h[i].pcap, -1, on_packet, (u_char *)&x) > 0)
			;
	}
}

static void on_readable(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	cap_drain(arg);
}

/* ---- opening ------------------------------------------------------------------------------- */

static bool set_filter(pcap_t *pc, uint16_t port, char *why, size_t whycap)
{
	struct bpf_program prog;
	char expr[64];

	snprintf(expr, sizeof expr, "tcp port %u", port);
	if (pcap_compile(pc, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(why, whycap, "BPF filter `%s`: %s", expr, pcap_geterr(pc));
		return false;
	}
	if (pcap_setfilter(pc, &prog) != 0) {
		snprintf(why, whycap, "pcap_setfilter: %s", pcap_geterr(pc));
		pcap_freecode(&prog);
		return false;
	}
	pcap_freecode(&prog);
	return true;
}

/* Whether pcap_activate's failure is a lack of rights (reported as such, not as a fault). */
static bool denied(int rc, const char *msg)
{
	return rc == PCAP_ERROR_PERM_DENIED ||
	       (rc == PCAP_ERROR && (strstr(msg, "ermitted") || strstr(msg, "ermission")));
}

static enum cap_status activate(struct cap_handle *h, char *why, size_t whycap)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	int rc;

	h->pcap = pcap_create(CAP_DEVICE, errbuf);
	if (!h->pcap) {
		snprintf(why, whycap, "pcap_create(%s): %s", CAP_DEVICE, errbuf);
		return CAP_FAILED;
	}
	/* Immediate mode: each packet as it comes, not when a kernel block fills. */
	if (pcap_set_immediate_mode(h->pcap, 1) != 0 || pcap_set_snaplen(h->pcap, CAP_SNAPLEN) ||
	    pcap_set_buffer_size(h->pcap, CAP_BUFFER) != 0) {
		snprintf(why, whycap, "cannot configure the capture of %s", CAP_DEVICE);
		return CAP_FAILED;
	}
	rc = pcap_activate(h->pcap);
	if (rc < 0) {
		const char *msg = pcap_geterr(h->pcap);

		snprintf(why, whycap, "capturing on %s: %s (%s)", CAP_DEVICE,
			 msg[0] ? msg : pcap_statustostr(rc), pcap_statustostr(rc));
		return denied(rc, msg) || errno == EPERM ? CAP_NO_RIGHTS : CAP_FAILED;
	}
	h->dlt = pcap_datalink(h->pcap);
	if (!dlt_known(h->dlt)) {
		snprintf(why, whycap, "%s has link type %s, which the capture does not decode",
			 CAP_DEVICE, pcap_datalink_val_to_name(h->dlt));
		return CAP_FAILED;
	}
	return CAP_OK;
}

/* A live handle for port, watched on k's loop. */
static enum cap_status open_handle(struct cap *k, uint16_t port, char *why, size_t whycap)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct cap_handle *h;
	enum cap_status st;

	if (k->nports == CAP_MAX_PORTS) {
		snprintf(why, whycap, "more than %d ports to capture", CAP_MAX_PORTS);
		return CAP_FAILED;
	}
	h = &k->h[k->nports];
	h->fd = -1;
	k->ports[k->nports++] = port;   /* counted now: cap_free closes what is open */
	st = activate(h, why, whycap);
	if (st != CAP_OK)
		return st;
	if (!set_filter(h->pcap, port, why, whycap))
		return CAP_FAILED;
	if (pcap_setnonblock(h->pcap, 1, errbuf) != 0 ||
	    pcap_get_selectable_fd(h->pcap) < 0) {
		snprintf(why, whycap, "no non-blocking, selectable capture: %s", errbuf);
		return CAP_FAILED;
	}
	if (ib_loop_watch(k->loop, pcap_get_selectable_fd(h->pcap), IB_EV_READ, on_readable,
			  k) != IB_OK) {
		snprintf(why, whycap, "cannot watch the capture's descriptor");
		return CAP_FAILED;
	}
	h->fd = pcap_get_selectable_fd(h->pcap);
	return CAP_OK;
}

enum cap_status cap_open(struct cap **out, struct ib_loop *loop, const uint16_t *ports,
			 size_t nports, char *why, size_t whycap)
{
	struct cap *k = calloc(1, sizeof *k);
	enum cap_status st = CAP_OK;

	*out = NULL;
	if (!k) {
		snprintf(why, whycap, "cap_open: out of memory");
		return CAP_FAILED;
	}
	k->loop = loop;
	for (size_t i = 0; st == CAP_OK && i < nports; i++)
		st = open_handle(k, ports[i], why, whycap);
	if (st != CAP_OK) {
		cap_free(k);
		return st;
	}
	*out = k;
	return CAP_OK;
}

bool cap_add_port(struct cap *k, uint16_t port, char *why, size_t whycap)
{
	if (!k->loop) {
		if (k->nports < CAP_MAX_PORTS)
			k->ports[k->nports++] = port;
		return true;
	}
	return open_handle(k, port, why, whycap) == CAP_OK;
}

struct cap *cap_offline(void)
{
	return calloc(1, sizeof(struct cap));
}

void cap_free(struct cap *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->nports; i++) {
		if (k->h[i].fd >= 0 && k->h[i].pcap)
			ib_loop_unwatch(k->loop, k->h[i].fd);
		if (k->h[i].pcap)
			pcap_close(k->h[i].pcap);
	}
	for (size_t i = 0; i < k->nconns; i++)
		for (int d = 0; d < 2; d++) {
			ib_buf_free(&k->conns[i].dir[d].bytes);
			free(k->conns[i].dir[d].segs);
		}
	free(k);
}

unsigned cap_dropped(struct cap *k)
{
	unsigned n = k->overflow;
	struct pcap_stat st;

	for (size_t i = 0; i < k->nports; i++)
		if (k->h[i].pcap && pcap_stats(k->h[i].pcap, &st) == 0)
			n += st.ps_drop;
	return n;
}

size_t cap_conns(const struct cap *k)
{
	return k->nconns;
}

const struct cap_conn *cap_conn(const struct cap *k, size_t i)
{
	return i < k->nconns ? &k->conns[i] : NULL;
}

uint64_t cap_time_of(const struct cap_dir *d, size_t off)
{
	uint64_t ts = 0;

	for (size_t i = 0; i < d->nsegs && d->segs[i].off <= off; i++)
		ts = d->segs[i].ts_us;
	return off < d->bytes.len ? ts : 0;
}
