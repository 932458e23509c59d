/*
 * trace.c - frame traces: every whole frame a node sends or receives, after TLS, written to a
 * pcap file with libpcap, one packet per frame.
 *
 * The link type is LINKTYPE_WIRESHARK_UPPER_PDU (252): each packet starts with a list of tags
 * (u16 tag, u16 length, value, all big-endian) that name the dissector to call ("interbot",
 * spec/wireshark/interbot.lua) and both endpoints' addresses and TCP ports, then the frame
 * exactly as it went over the link. Wireshark's wsutil/exported_pdu_tlvs.h defines the tags.
 */
#define _DEFAULT_SOURCE /* pcap.h uses the BSD types u_char and u_int */
#include "interbot.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Exported-PDU tags (Wireshark's wsutil/exported_pdu_tlvs.h). */
#define TAG_END 0
#define TAG_DISSECTOR_NAME 12
#define TAG_IPV4_SRC 20
#define TAG_IPV4_DST 21
#define TAG_IPV6_SRC 22
#define TAG_IPV6_DST 23
#define TAG_PORT_TYPE 24
#define TAG_SRC_PORT 25
#define TAG_DST_PORT 26
#define PORT_TYPE_TCP 2u            /* EXP_PDU_PT_TCP */

#define DISSECTOR "interbot"
/* The most tag bytes a packet carries: the name (padded to 4), two IPv6 addresses, the port
 * type, two ports, the end tag. */
#define TAGS_MAX (4 + 8 + 2 * (4 + 16) + 3 * (4 + 4) + 4)

#define PCAP_FILE_HEADER_LEN 24u
#define PCAP_RECORD_HEADER_LEN 16u

struct ib_trace {
	char *path;                 /* PATH; the previous file is PATH.1 */
	char *old_path;
	uint64_t max_bytes;         /* 0: no limit */
	pcap_t *pcap;               /* a "dead" handle: only the link type and snaplen */
	pcap_dumper_t *dump;        /* NULL once stopped */
	uint64_t file_bytes;        /* what the current file holds */
	uint8_t *packet;            /* scratch: tags and frame of one packet */
	struct ib_trace_stats st;
};

/* ---- Endpoints ------------------------------------------------------------------------ */

int ib_trace_addr_parse(struct ib_trace_addr *a, const char *hostport)
{
	char buf[IB_MAX_ADDR], host[IB_MAX_ADDR];
	char *scope, *bracket;
	int err = IB_ERR_RANGE;

	memset(a, 0, sizeof *a);
	if (!hostport || strlen(hostport) >= sizeof buf)
		goto out;
	/* A link-local address keeps its scope ("[fe80::1%eth0]:7001"); neither the address
	 * syntax nor the tag has room for it. */
	memcpy(buf, hostport, strlen(hostport) + 1);
	scope = strchr(buf, '%');
	bracket = scope ? strchr(scope, ']') : NULL;
	if (scope && bracket)
		memmove(scope, bracket, strlen(bracket) + 1);
	err = ib_addr_parse(buf, host, sizeof host, &a->port);
	if (err)
		goto out;
	err = IB_OK;
	if (inet_pton(AF_INET, host, a->ip) == 1)
		a->family = 4;
	else if (inet_pton(AF_INET6, host, a->ip) == 1)
		a->family = 6;
	else
		err = IB_ERR_RANGE;     /* a name: the tags take numbers only */
out:
	if (err)
		memset(a, 0, sizeof *a);
	return err;
}

/* ---- Packets -------------------------------------------------------------------------- */

static uint8_t *put_tag(uint8_t *p, uint16_t tag, const void *value, uint16_t len)
{
	p[0] = (uint8_t)(tag >> 8);
	p[1] = (uint8_t)tag;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	if (len)                    /* the end tag has no value (memcpy takes no NULL) */
		memcpy(p + 4, value, len);
	return p + 4 + len;
}

static uint8_t *put_tag_u32(uint8_t *p, uint16_t tag, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return put_tag(p, tag, b, sizeof b);
}

/* The address tags of one end; none for an unknown one (Wireshark then shows no address). */
static uint8_t *put_addr(uint8_t *p, const struct ib_trace_addr *a, bool src)
{
	if (a->family == 4)
		return put_tag(p, src ? TAG_IPV4_SRC : TAG_IPV4_DST, a->ip, 4);
	if (a->family == 6)
		return put_tag(p, src ? TAG_IPV6_SRC : TAG_IPV6_DST, a->ip, 16);
	return p;
}

/* Writes the tags into p; returns their length. */
static size_t put_tags(uint8_t *p, const struct ib_trace_addr *src,
		       const struct ib_trace_addr *dst)
{
	/* The name is padded with NULs to a multiple of 4 bytes, the padding counted in the
	 * length, as Wireshark's own exporter does ("interbot" needs none). */
	static const char name[(sizeof DISSECTOR - 1 + 3) & ~3u] = DISSECTOR;
	uint8_t *start = p;

	p = put_tag(p, TAG_DISSECTOR_NAME, name, sizeof name);
	p = put_addr(p, src, true);
	p = put_addr(p, dst, false);
	p = put_tag_u32(p, TAG_PORT_TYPE, PORT_TYPE_TCP);
	p = put_tag_u32(p, TAG_SRC_PORT, src->port);
	p = put_tag_u32(p, TAG_DST_PORT, dst->port);
	p = put_tag(p, TAG_END, NULL, 0);
	return (size_t)(p - start);
}

/* ---- The file ------------------------------------------------------------------------- */

/* Creates path with mode 0600, not libpcap's 0666: a trace holds what TLS hid on the wire. */
static int open_file(struct ib_trace *t, struct ib_diag *diag)
{
	int fd = open(t->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = NULL;
	int err = IB_ERR_IO;

	if (fd < 0) {
		ib_diag_set(diag, t->path, 0, "cannot create: %s", strerror(errno));
		goto out;
	}
	f = fdopen(fd, "wb");
	if (!f) {
		ib_diag_set(diag, t->path, 0, "fdopen: %s", strerror(errno));
		close(fd);
		goto out;
	}
	t->dump = pcap_dump_fopen(t->pcap, f);
	if (!t->dump) {
		ib_diag_set(diag, t->path, 0, "pcap: %s", pcap_geterr(t->pcap));
		fclose(f);
		goto out;
	}
	/* The file header now, so that a reader opening the file at once finds a capture. */
	if (pcap_dump_flush(t->dump) != 0) {
		ib_diag_set(diag, t->path, 0, "write: %s", strerror(errno));
		goto out;
	}
	t->file_bytes = PCAP_FILE_HEADER_LEN;
	err = IB_OK;
out:
	if (err && t->dump) {
		pcap_dump_close(t->dump);
		t->dump = NULL;
	}
	return err;
}

/* The trace stops for good: the file is closed (what it holds stays readable). */
static void stop(struct ib_trace *t, int err)
{
	if (t->dump)
		pcap_dump_close(t->dump);
	t->dump = NULL;
	t->st.stopped = true;
	t->st.error = err;
}

/* PATH becomes PATH.1 (replacing the one before) and a new PATH starts. */
static int rotate(struct ib_trace *t)
{
	struct ib_diag diag = { 0 };

	pcap_dump_close(t->dump);
	t->dump = NULL;
	if (rename(t->path, t->old_path) != 0)
		return IB_ERR_IO;
	t->st.rotations++;
	return open_file(t, &diag);
}

int ib_trace_open(struct ib_trace **out, const char *path, uint64_t max_bytes,
		  struct ib_diag *diag)
{
	struct ib_trace *t = NULL;
	size_t len;
	int err = IB_ERR_INVALID_ARG;

	*out = NULL;
	if (!path || !*path) {
		ib_diag_set(diag, "", 0, "no trace file named");
		goto out;
	}
	/* A limit below one whole record could never be kept to. */
	if (max_bytes != 0 && max_bytes < IB_TRACE_MIN_BYTES) {
		ib_diag_set(diag, path, 0, "the size limit is below %u bytes", IB_TRACE_MIN_BYTES);
		goto out;
	}
	err = IB_ERR_NOMEM;
	len = strlen(path);
	t = calloc(1, sizeof *t);
	if (!t)
		goto out;
	t->max_bytes = max_bytes;
	t->path = strdup(path);
	t->old_path = malloc(len + 3);
	t->packet = malloc(IB_TRACE_SNAPLEN);
	t->pcap = pcap_open_dead(DLT_WIRESHARK_UPPER_PDU, (int)IB_TRACE_SNAPLEN);
	if (!t->path || !t->old_path || !t->packet || !t->pcap)
		goto out;
	memcpy(t->old_path, path, len);
	memcpy(t->old_path + len, ".1", 3);
	err = open_file(t, diag);
out:
	if (err)
		ib_trace_close(t);
	else
		*out = t;
	return err;
}

int ib_trace_write(struct ib_trace *t, uint64_t unix_us, const struct ib_trace_addr *src,
		   const struct ib_trace_addr *dst, const uint8_t *frame, size_t len)
{
	struct pcap_pkthdr h;
	size_t tags, caplen;
	uint64_t record;
	int err = IB_ERR_CLOSED;

	if (!t->dump)
		goto out;
	tags = put_tags(t->packet, src, dst);
	/* A frame longer than the snapshot length is cut (Wireshark refuses longer packets);
	 * the record keeps its whole length and the dissector says what is missing. */
	caplen = len < IB_TRACE_SNAPLEN - tags ? len : IB_TRACE_SNAPLEN - tags;
	memcpy(t->packet + tags, frame, caplen);
	record = PCAP_RECORD_HEADER_LEN + tags + caplen;
	err = IB_OK;
	if (t->max_bytes && t->file_bytes + record > t->max_bytes)
		err = rotate(t);
	if (err)
		goto out;
	memset(&h, 0, sizeof h);
	h.ts.tv_sec = (time_t)(unix_us / 1000000u);
	h.ts.tv_usec = (suseconds_t)(unix_us % 1000000u);
	h.caplen = (bpf_u_int32)(tags + caplen);
	h.len = (bpf_u_int32)(tags + len);
	pcap_dump((u_char *)t->dump, &h, t->packet);
	/* Flushed at once: the file is read while the node runs, and a crash loses nothing. */
	if (pcap_dump_flush(t->dump) != 0) {
		err = IB_ERR_IO;
		goto out;
	}
	t->file_bytes += record;
	t->st.packets++;
	if (caplen < len)
		t->st.cut++;
out:
	/* The first failure stops the trace and is returned once; later calls say CLOSED. */
	if (err == IB_ERR_IO || err == IB_ERR_NOMEM)
		stop(t, err);
	return err;
}

void ib_trace_stats(const struct ib_trace *t, struct ib_trace_stats *st)
{
	*st = t->st;
}

void ib_trace_close(struct ib_trace *t)
{
	if (!t)
		return;
	if (t->dump)
		pcap_dump_close(t->dump);
	if (t->pcap)
		pcap_close(t->pcap);
	free(t->packet);
	free(t->old_path);
	free(t->path);
	free(t);
}
