/*
 * pcapcheck.c - judges a frame trace offline (spec section 19.4). Every packet is one frame
 * sent from one endpoint to another; a finding is the sending endpoint's fault:
 *   envelope  lengths, max_message, signature_length   [FRAME-2] [FRAME-3] [FRAME-7]
 *   keys      origin in the keyring, signature          [FRAME-5] [FRAME-6]
 *   message   header and body     [MSG-1] [MSG-2] [MSG-3] [MSG-6] [MSG-7] [MSG-8] [MSG-11]
 *   links     HELLO first and once; hop-local frames only of the sender itself
 *                                                       [LINK-1] [LINK-6] [FLOOD-6]
 *   flooding  a frame sent twice on a link, back on the link it came on, or an origin's
 *             frames out of order                       [FLOOD-3] [FLOOD-2] [FLOOD-8] [MSG-5]
 * A trace holds one node's view (what it sent and received); two traces of the two ends of
 * one link in one file would show every frame twice.
 */
#define _DEFAULT_SOURCE /* pcap.h uses the BSD types u_char and u_int */
#include "pcapcheck.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interbot.h"
#include "reader.h"

#define LINKTYPE_UPPER_PDU 252
#define TAG_END 0
#define TAG_IPV4_SRC 20
#define TAG_IPV4_DST 21
#define TAG_IPV6_SRC 22
#define TAG_IPV6_DST 23
#define TAG_SRC_PORT 25
#define TAG_DST_PORT 26
#define MAX_LINKS 4096u            /* directed links in one trace */
#define MAX_REQS 32u               /* distinct requirements in the summary */

struct endpoint {
	uint8_t family, ip[16];
	uint16_t port;
};

struct link {                      /* one direction of one connection: src sends to dst */
	struct endpoint src, dst;
	bool sender_known;             /* its first frame was HELLO (or ERROR) of the sender */
	ib_id sender;
	uint64_t frames;
};

/* (link, origin) -> the last seq sent, and (link, origin, seq) -> the frame's hash. */
struct slot {
	uint32_t link;
	ib_id origin;
	uint64_t seq, value;
	bool used;
};
struct table {
	struct slot *s;
	size_t cap, n;
};

struct check {
	const struct cf_pcap_check *o;
	struct ib_keyring *kr;
	struct link *links;
	size_t nlinks;
	struct table last_seq, sent;
	uint64_t packets, findings, by_type[256];
	struct {
		const char *req;
		uint64_t n;
	} reqs[MAX_REQS];
};

/* ---- a small hash table ------------------------------------------------------------------ */

static uint64_t slot_hash(uint32_t link, const ib_id *origin, uint64_t seq)
{
	uint64_t h = 1469598103934665603ull ^ link;

	for (size_t i = 0; i < IB_ID_LEN; i++)
		h = (h ^ origin->b[i]) * 1099511628211ull;
	return (h ^ seq) * 0x9e3779b97f4a7c15ull;
}

static struct slot *table_find(struct table *t, uint32_t link, const ib_id *origin,
			       uint64_t seq, bool add)
{
	size_t i;

	if (add && (t->n + 1) * 2 > t->cap) {
		struct table bigger = { calloc(t->cap ? 2 * t->cap : 1024, sizeof *t->s),
					t->cap ? 2 * t->cap : 1024, 0 };

		if (!bigger.s)
			return NULL;
		for (size_t j = 0; j < t->cap; j++)
			if (t->s[j].used)
				*table_find(&bigger, t->s[j].link, &t->s[j].origin, t->s[j].seq,
					    true) = t->s[j];
		free(t->s);
		*t = bigger;
	}
	if (!t->cap)
		return NULL;
	for (i = slot_hash(link, origin, seq) & (t->cap - 1); t->s[i].used;
	     i = (i + 1) & (t->cap - 1))
		if (t->s[i].link == link && t->s[i].seq == seq && ib_id_equal(&t->s[i].origin, origin))
			return &t->s[i];
	if (!add)
		return NULL;
	t->s[i] = (struct slot){ link, *origin, seq, 0, true };
	t->n++;
	return &t->s[i];
}

/* ---- packets ------------------------------------------------------------------------------ */

static void endpoint_text(const struct endpoint *e, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (e->family == 4 || e->family == 6)
		inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->ip, ip, sizeof ip);
	snprintf(out, cap, e->family == 6 ? "[%s]:%u" : "%s:%u", ip, e->port);
}

/* The exported-PDU tags, then the frame: false when the tags do not parse. */
static bool parse_tags(const uint8_t *p, size_t len, struct endpoint *src, struct endpoint *dst,
		       struct ib_slice *frame)
{
	struct ib_reader r;

	memset(src, 0, sizeof *src);
	memset(dst, 0, sizeof *dst);
	ib_reader_init(&r, p, len);
	for (;;) {
		uint16_t tag, tlen;
		struct ib_slice v;
		struct ib_reader vr;
		uint32_t port;

		if (ib_reader_u16(&r, &tag) || ib_reader_u16(&r, &tlen) ||
		    ib_reader_bytes(&r, tlen, &v))
			return false;
		if (tag == TAG_END)
			break;
		ib_reader_init(&vr, v.ptr, v.len);
		if ((tag == TAG_IPV4_SRC || tag == TAG_IPV4_DST) && tlen == 4) {
			struct endpoint *e = tag == TAG_IPV4_SRC ? src : dst;

			e->family = 4;
			memcpy(e->ip, v.ptr, 4);
		} else if ((tag == TAG_IPV6_SRC || tag == TAG_IPV6_DST) && tlen == 16) {
			struct endpoint *e = tag == TAG_IPV6_SRC ? src : dst;

			e->family = 6;
			memcpy(e->ip, v.ptr, 16);
		} else if ((tag == TAG_SRC_PORT || tag == TAG_DST_PORT) && tlen == 4 &&
			   ib_reader_u32(&vr, &port) == IB_OK && port <= 0xffff) {
			(tag == TAG_SRC_PORT ? src : dst)->port = (uint16_t)port;
		}
	}
	frame->ptr = p + (len - ib_reader_left(&r));
	frame->len = ib_reader_left(&r);
	return true;
}

static bool same_endpoint(const struct endpoint *a, const struct endpoint *b)
{
	return a->family == b->family && a->port == b->port && !memcmp(a->ip, b->ip, 16);
}

/* The directed link src -> dst (reverse: dst -> src), added when new; -1 when full. */
static long link_index(struct check *k, const struct endpoint *src, const struct endpoint *dst,
		       bool add)
{
	for (size_t i = 0; i < k->nlinks; i++)
		if (same_endpoint(&k->links[i].src, src) && same_endpoint(&k->links[i].dst, dst))
			return (long)i;
	if (!add || k->nlinks == MAX_LINKS)
		return -1;
	k->links[k->nlinks] = (struct link){ *src, *dst, false, { { 0 } }, 0 };
	return (long)k->nlinks++;
}

/* ---- findings ----------------------------------------------------------------------------- */

static void finding(struct check *k, const struct link *l, const char *req, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));
static void finding(struct check *k, const struct link *l, const char *req, const char *fmt, ...)
{
	char src[64], dst[64], why[512];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	endpoint_text(&l->src, src, sizeof src);
	endpoint_text(&l->dst, dst, sizeof dst);
	printf("packet %-6llu %s -> %s  [%s] %s\n", (unsigned long long)k->packets, src, dst, req,
	       why);
	k->findings++;
	for (i = 0; i < MAX_REQS && k->reqs[i].req && strcmp(k->reqs[i].req, req); i++)
		;
	if (i < MAX_REQS) {
		k->reqs[i].req = req;
		k->reqs[i].n++;
	}
}

static const char *msg_req(int err)
{
	switch (err) {
	case IB_ERR_BAD_VERSION: return "MSG-1";
	case IB_ERR_RESERVED_TYPE: return "MSG-3";
	case IB_ERR_HOP_DEST: return "MSG-6";
	case IB_ERR_NO_DEST: return "MSG-11";
	case IB_ERR_BAD_STRING: return "MSG-8";
	default: return "MSG-7";
	}
}

/* [FRAME-2] [FRAME-3] [FRAME-5] [FRAME-6] [FRAME-7] and the message rules: false when the
 * frame cannot be judged further. */
static bool check_frame(struct check *k, struct link *l, struct ib_slice bytes, struct ib_frame *f,
			struct ib_msg *m)
{
	int err = ib_frame_parse(f, bytes.ptr, bytes.len, k->o->max_message);

	if (err == IB_ERR_TOO_BIG) {
		finding(k, l, "FRAME-7", "message_length above max_message %u", k->o->max_message);
		return false;
	}
	if (err) {
		finding(k, l, "FRAME-2", "not one whole frame: %s (%zu bytes in the record)",
			ib_errname(err), bytes.len);
		return false;
	}
	err = ib_frame_verify(f, k->kr, NULL);
	if (err) {
		char hex[2 * IB_ID_LEN + 1];

		ib_id_to_hex(&f->origin, hex);
		finding(k, l, err == IB_ERR_BAD_SIG_LEN ? "FRAME-3" :
			      err == IB_ERR_UNKNOWN_ORIGIN ? "FRAME-5" : "FRAME-6",
			"%s (origin %s)", ib_drop_reason(err), hex);
		return false;
	}
	err = ib_msg_decode(m, f->msg.ptr, f->msg.len);
	if (err) {
		finding(k, l, f->msg.len < IB_MSG_HEADER_LEN ? "MSG-2" : msg_req(err),
			"the message does not decode: %s", ib_errname(err));
		return false;
	}
	if (ib_msg_type_is_directed(m->h.type) && ib_id_is_zero(&m->h.dest)) {
		finding(k, l, "MSG-11", "%s with dest all zero", ib_msg_type_name(m->h.type));
		return false;
	}
	return true;
}

/* [LINK-1] HELLO first, [LINK-6] once; [FLOOD-6] hop-local frames carry the sender's own id,
 * which its HELLO told. A link whose HELLO the trace does not hold (the trace started later,
 * or rotated) is judged from its next HELLO on, which then must not come. */
static void check_hop(struct check *k, struct link *l, const struct ib_frame *f,
		      const struct ib_msg *m)
{
	if (m->h.type == IB_MSG_HELLO) {
		if (l->sender_known)
			finding(k, l, "LINK-6", "a second HELLO on the link");
		else if (l->frames > 1)
			finding(k, l, "LINK-1", "%llu frame(s) came before HELLO",
				(unsigned long long)l->frames - 1);
		l->sender_known = true;
		l->sender = f->origin;
		return;
	}
	if (l->sender_known && ib_msg_type_is_hop(m->h.type) && !ib_id_equal(&f->origin, &l->sender))
		finding(k, l, "FLOOD-6", "a hop-local %s of another origin: a hop message forwarded",
			ib_msg_type_name(m->h.type));
}

static uint64_t bytes_hash(struct ib_slice b)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < b.len; i++)
		h = (h ^ b.ptr[i]) * 1099511628211ull;
	return h | 1;   /* never 0: 0 marks "no hash" */
}

/* [FLOOD-3] once per link, [FLOOD-2] not back where it came from, [FLOOD-8] [MSG-5] in
 * order. End-to-end frames only: hop-local ones are the link's own business. */
static void check_flooding(struct check *k, long li, const struct ib_frame *f,
			   const struct ib_msg *m, struct ib_slice bytes)
{
	struct link *l = &k->links[li];
	long back = link_index(k, &l->dst, &l->src, false);
	uint64_t h = bytes_hash(bytes);
	struct slot *s = table_find(&k->sent, (uint32_t)li, &f->origin, m->h.seq, false);
	struct slot *last;

	if (s) {
		finding(k, l, "FLOOD-3", "%s seq %llu of this origin sent on this link before%s",
			ib_msg_type_name(m->h.type), (unsigned long long)m->h.seq,
			s->value == h ? " (the same frame again)" : " (other bytes)");
		return;
	}
	if (back >= 0) {
		struct slot *in = table_find(&k->sent, (uint32_t)back, &f->origin, m->h.seq, false);

		if (in && in->value == h)
			finding(k, l, "FLOOD-2", "%s seq %llu sent back on the link it came on",
				ib_msg_type_name(m->h.type), (unsigned long long)m->h.seq);
	}
	last = table_find(&k->last_seq, (uint32_t)li, &f->origin, 0, true);
	if (last && last->value && m->h.seq <= last->value)
		finding(k, l, ib_id_equal(&f->origin, &l->sender) ? "MSG-5" : "FLOOD-8",
			"%s seq %llu after seq %llu of the same origin on this link",
			ib_msg_type_name(m->h.type), (unsigned long long)m->h.seq,
			(unsigned long long)last->value);
	if (last && m->h.seq > last->value)
		last->value = m->h.seq;
	s = table_find(&k->sent, (uint32_t)li, &f->origin, m->h.seq, true);
	if (s)
		s->value = h;
}

static void check_packet(struct check *k, const struct pcap_pkthdr *hdr, const uint8_t *p)
{
	struct endpoint src, dst;
	struct ib_slice bytes;
	struct ib_frame f;
	struct ib_msg m;
	struct link unknown = { 0 };
	long li;

	if (!parse_tags(p, hdr->caplen, &src, &dst, &bytes)) {
		finding(k, &unknown, "FRAME-2", "the exported-PDU tags do not parse");
		return;
	}
	li = link_index(k, &src, &dst, true);
	if (li < 0) {
		finding(k, &unknown, "FRAME-2", "more than %u directed links", MAX_LINKS);
		return;
	}
	k->links[li].frames++;
	if (hdr->caplen < hdr->len) {
		/* Cut by the trace's snapshot length (section 19.4): not the node's fault. */
		if (k->o->verbose)
			printf("packet %-6llu cut by the trace at %u of %u bytes\n",
			       (unsigned long long)k->packets, hdr->caplen, hdr->len);
		return;
	}
	if (!check_frame(k, &k->links[li], bytes, &f, &m))
		return;
	k->by_type[m.h.type]++;
	check_hop(k, &k->links[li], &f, &m);
	if (ib_msg_type_is_e2e(m.h.type))
		check_flooding(k, li, &f, &m, bytes);
}

static void summary(const struct check *k)
{
	printf("\n%llu frames on %zu directed links:", (unsigned long long)k->packets, k->nlinks);
	for (int t = 0; t < 256; t++)
		if (k->by_type[t] && ib_msg_type_is_known((uint8_t)t))
			printf(" %s %llu", ib_msg_type_name((uint8_t)t),
			       (unsigned long long)k->by_type[t]);
		else if (k->by_type[t])
			printf(" 0x%02x %llu", t, (unsigned long long)k->by_type[t]);
	printf("\n%llu finding%s", (unsigned long long)k->findings, k->findings == 1 ? "" : "s");
	for (size_t i = 0; i < MAX_REQS && k->reqs[i].req; i++)
		printf("%s %s x%llu", i ? "," : ":", k->reqs[i].req,
		       (unsigned long long)k->reqs[i].n);
	printf("\n");
}

int cf_pcap_check_run(const struct cf_pcap_check *o)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct check k = { .o = o };
	struct ib_diag diag = { 0 };
	struct pcap_pkthdr *hdr;
	const u_char *data;
	pcap_t *pc = NULL;
	int rc = 2, got;

	k.links = calloc(MAX_LINKS, sizeof *k.links);
	if (!k.links)
		goto out;
	if (ib_keyring_load_dir(&k.kr, o->keys_dir, NULL, &diag) != IB_OK) {
		fprintf(stderr, "interbot-conform: --keys %s: %s%s%s\n", o->keys_dir, diag.file,
			diag.file[0] ? ": " : "", diag.reason);
		goto out;
	}
	pc = pcap_open_offline(o->path, errbuf);
	if (!pc) {
		fprintf(stderr, "interbot-conform: %s: %s\n", o->path, errbuf);
		goto out;
	}
	if (pcap_datalink(pc) != LINKTYPE_UPPER_PDU) {
		fprintf(stderr, "interbot-conform: %s: link type %d (%s), not 252 "
			"(WIRESHARK_UPPER_PDU, spec section 19.4)\n", o->path, pcap_datalink(pc),
			pcap_datalink_val_to_name(pcap_datalink(pc)) ?
			pcap_datalink_val_to_name(pcap_datalink(pc)) : "?");
		goto out;
	}
	while ((got = pcap_next_ex(pc, &hdr, &data)) == 1) {
		k.packets++;
		check_packet(&k, hdr, data);
	}
	if (got == PCAP_ERROR) {
		fprintf(stderr, "interbot-conform: %s: %s\n", o->path, pcap_geterr(pc));
		goto out;
	}
	summary(&k);
	rc = k.findings ? 1 : 0;
out:
	if (pc)
		pcap_close(pc);
	ib_keyring_free(k.kr);
	free(k.last_seq.s);
	free(k.sent.s);
	free(k.links);
	return rc;
}
