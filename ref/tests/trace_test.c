/* Unit tests of trace.c: the pcap file of frames (LINKTYPE_WIRESHARK_UPPER_PDU), byte for byte,
 * its snapshot length, its rotation and how it stops. ci/test-trace reads real traces with
 * tshark. */
#include "ib_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_HEADER 24u
#define RECORD_HEADER 16u
#define V4_TAGS (12 + 8 + 8 + 8 + 8 + 8 + 4)    /* name, two addresses, type, ports, end */

static void trace_path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", ib_test_tmpdir(), name);
}

/* The whole file in a malloc'd buffer (freed by the caller); *len its size. */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	*len = 0;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
			*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void addrs(struct ib_trace_addr *a, struct ib_trace_addr *b)
{
	IB_ASSERT_OK(ib_trace_addr_parse(a, "127.0.0.1:7001"));
	IB_ASSERT_OK(ib_trace_addr_parse(b, "10.1.2.3:40000"));
}

static void test_addr_parse(void)
{
	struct ib_trace_addr a;
	static const uint8_t v6_loopback[16] = { [15] = 1 };

	IB_ASSERT_OK(ib_trace_addr_parse(&a, "192.0.2.7:65535"));
	CU_ASSERT_EQUAL(a.family, 4);
	CU_ASSERT_EQUAL(a.port, 65535);
	CU_ASSERT(memcmp(a.ip, "\xc0\x00\x02\x07", 4) == 0);
	IB_ASSERT_OK(ib_trace_addr_parse(&a, "[::1]:7000"));
	CU_ASSERT_EQUAL(a.family, 6);
	CU_ASSERT(memcmp(a.ip, v6_loopback, 16) == 0);
	IB_ASSERT_OK(ib_trace_addr_parse(&a, "[fe80::1%lo]:1"));   /* the scope is dropped */
	CU_ASSERT_EQUAL(a.family, 6);
	IB_ASSERT_ERR(ib_trace_addr_parse(&a, "localhost:1"), IB_ERR_RANGE);
	IB_ASSERT_ERR(ib_trace_addr_parse(&a, "127.0.0.1"), IB_ERR_RANGE);
	CU_ASSERT_EQUAL(a.family, 0);
}

/* One packet, byte for byte: file header, record header, the tags, the frame. */
static void test_packet_layout(void)
{
	static const uint8_t tags[V4_TAGS] = {
		0, 12, 0, 8, 'i', 'n', 't', 'e', 'r', 'b', 'o', 't',   /* dissector name */
		0, 20, 0, 4, 127, 0, 0, 1,                             /* IPv4 source */
		0, 21, 0, 4, 10, 1, 2, 3,                              /* IPv4 destination */
		0, 24, 0, 4, 0, 0, 0, 2,                               /* port type: TCP */
		0, 25, 0, 4, 0, 0, 0x1b, 0x59,                         /* source port 7001 */
		0, 26, 0, 4, 0, 0, 0x9c, 0x40,                         /* destination port 40000 */
		0, 0, 0, 0                                             /* end */
	};
	static const uint8_t frame[] = "not even a frame: traced as it came";
	struct ib_trace_addr src, dst;
	struct ib_trace *t = NULL;
	struct ib_trace_stats st;
	struct stat sb;
	char path[512];
	uint8_t *file;
	size_t len;

	trace_path(path, sizeof path, "layout.pcap");
	addrs(&src, &dst);
	IB_ASSERT_OK(ib_trace_open(&t, path, 0, NULL));
	IB_ASSERT_OK(ib_trace_write(t, 1767225600123456ull, &src, &dst, frame, sizeof frame));
	ib_trace_stats(t, &st);
	CU_ASSERT_EQUAL(st.packets, 1);
	/* Flushed: the file is complete before it is closed. */
	file = slurp(path, &len);
	CU_ASSERT_EQUAL_FATAL(len, FILE_HEADER + RECORD_HEADER + V4_TAGS + sizeof frame);
	CU_ASSERT_EQUAL(le32(file), 0xa1b2c3d4u);                  /* microseconds */
	CU_ASSERT_EQUAL(le32(file + 16), IB_TRACE_SNAPLEN);
	CU_ASSERT_EQUAL(le32(file + 20), 252u);                    /* UPPER_PDU */
	CU_ASSERT_EQUAL(le32(file + 24), 1767225600u);
	CU_ASSERT_EQUAL(le32(file + 28), 123456u);
	CU_ASSERT_EQUAL(le32(file + 32), V4_TAGS + sizeof frame);
	CU_ASSERT_EQUAL(le32(file + 36), V4_TAGS + sizeof frame);
	CU_ASSERT(memcmp(file + 40, tags, sizeof tags) == 0);
	CU_ASSERT(memcmp(file + 40 + V4_TAGS, frame, sizeof frame) == 0);
	free(file);
	/* A trace holds what TLS hid: only its owner reads it. */
	CU_ASSERT(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	ib_trace_close(t);
}

static void test_ipv6_and_unknown_ends(void)
{
	struct ib_trace_addr src, dst;
	struct ib_trace *t = NULL;
	char path[512];
	uint8_t *file;
	size_t len;
	const uint8_t *p;

	trace_path(path, sizeof path, "v6.pcap");
	IB_ASSERT_OK(ib_trace_addr_parse(&src, "[::1]:7001"));
	IB_ASSERT_OK(ib_trace_addr_parse(&dst, "[2001:db8::2]:7002"));
	IB_ASSERT_OK(ib_trace_open(&t, path, 0, NULL));
	IB_ASSERT_OK(ib_trace_write(t, 0, &src, &dst, (const uint8_t *)"x", 1));
	memset(&dst, 0, sizeof dst);                /* an end whose name could not be read */
	IB_ASSERT_OK(ib_trace_write(t, 0, &src, &dst, (const uint8_t *)"y", 1));
	ib_trace_close(t);
	file = slurp(path, &len);
	CU_ASSERT_FATAL(file != NULL);
	p = file + FILE_HEADER + RECORD_HEADER + 12;
	CU_ASSERT(memcmp(p, "\x00\x16\x00\x10", 4) == 0);          /* tag 22, 16 bytes */
	CU_ASSERT(memcmp(p + 20, "\x00\x17\x00\x10", 4) == 0);     /* tag 23 */
	CU_ASSERT(p[20 + 4] == 0x20 && p[20 + 5] == 0x01);
	/* The second packet: a source address tag, no destination one, then the port type. */
	p = file + FILE_HEADER + RECORD_HEADER + (12 + 20 + 20 + 8 + 8 + 8 + 4 + 1) +
	    RECORD_HEADER + 12;
	CU_ASSERT(memcmp(p, "\x00\x16\x00\x10", 4) == 0);
	CU_ASSERT(memcmp(p + 20, "\x00\x18\x00\x04", 4) == 0);
	free(file);
}

/* A frame above the snapshot length: cut, its whole length kept, counted. */
static void test_cut_at_snaplen(void)
{
	size_t big = 300000, len;
	uint8_t *frame = calloc(1, big), *file;
	struct ib_trace_addr src, dst;
	struct ib_trace *t = NULL;
	struct ib_trace_stats st;
	char path[512];

	CU_ASSERT_FATAL(frame != NULL);
	trace_path(path, sizeof path, "cut.pcap");
	addrs(&src, &dst);
	IB_ASSERT_OK(ib_trace_open(&t, path, 0, NULL));
	IB_ASSERT_OK(ib_trace_write(t, 0, &src, &dst, frame, big));
	ib_trace_stats(t, &st);
	CU_ASSERT_EQUAL(st.cut, 1);
	ib_trace_close(t);
	file = slurp(path, &len);
	CU_ASSERT_EQUAL_FATAL(len, FILE_HEADER + RECORD_HEADER + IB_TRACE_SNAPLEN);
	CU_ASSERT_EQUAL(le32(file + 32), IB_TRACE_SNAPLEN);
	CU_ASSERT_EQUAL(le32(file + 36), V4_TAGS + big);
	free(file);
	free(frame);
}

static off_t size_of(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* Past the limit: PATH.1 holds the older packets, PATH the newer, each within the limit. */
static void test_rotation(void)
{
	size_t n = 100000;
	uint8_t *frame = calloc(1, n);
	struct ib_trace_addr src, dst;
	struct ib_trace *t = NULL;
	struct ib_trace_stats st;
	char path[512], old[520];

	CU_ASSERT_FATAL(frame != NULL);
	trace_path(path, sizeof path, "rot.pcap");
	snprintf(old, sizeof old, "%s.1", path);
	addrs(&src, &dst);
	IB_ASSERT_OK(ib_trace_open(&t, path, IB_TRACE_MIN_BYTES, NULL));
	for (int i = 0; i < 5; i++)
		IB_ASSERT_OK(ib_trace_write(t, 0, &src, &dst, frame, n));
	ib_trace_stats(t, &st);
	CU_ASSERT_EQUAL(st.packets, 5);
	CU_ASSERT_EQUAL(st.rotations, 2);         /* 2 + 2 + 1 packets: the first two are gone */
	CU_ASSERT_EQUAL(size_of(old), (off_t)(FILE_HEADER + 2 * (RECORD_HEADER + V4_TAGS + n)));
	CU_ASSERT_EQUAL(size_of(path), (off_t)(FILE_HEADER + RECORD_HEADER + V4_TAGS + n));
	ib_trace_close(t);
	free(frame);
}

/* A failure stops the trace: said once (IB_ERR_IO), then CLOSED, and nothing more written. */
static void test_failure_stops_once(void)
{
	size_t n = 200000;
	uint8_t *frame = calloc(1, n);
	struct ib_trace_addr src, dst;
	struct ib_trace *t = NULL;
	struct ib_trace_stats st;
	char path[512];

	CU_ASSERT_FATAL(frame != NULL);
	trace_path(path, sizeof path, "stop.pcap");
	addrs(&src, &dst);
	IB_ASSERT_OK(ib_trace_open(&t, path, IB_TRACE_MIN_BYTES, NULL));
	IB_ASSERT_OK(ib_trace_write(t, 0, &src, &dst, frame, n));
	/* The rotation's rename fails: the file is gone. */
	CU_ASSERT(unlink(path) == 0);
	IB_ASSERT_ERR(ib_trace_write(t, 0, &src, &dst, frame, n), IB_ERR_IO);
	IB_ASSERT_ERR(ib_trace_write(t, 0, &src, &dst, frame, 1), IB_ERR_CLOSED);
	ib_trace_stats(t, &st);
	CU_ASSERT(st.stopped);
	CU_ASSERT_EQUAL(st.error, IB_ERR_IO);
	CU_ASSERT_EQUAL(st.packets, 1);
	CU_ASSERT_EQUAL(size_of(path), -1);
	ib_trace_close(t);
	free(frame);
}

static void test_open_refusals(void)
{
	struct ib_trace *t = (struct ib_trace *)1;
	struct ib_diag diag = { 0 };
	char path[512];

	trace_path(path, sizeof path, "limit.pcap");
	IB_ASSERT_ERR(ib_trace_open(&t, path, IB_TRACE_MIN_BYTES - 1, &diag), IB_ERR_INVALID_ARG);
	CU_ASSERT(t == NULL);
	CU_ASSERT(strstr(diag.reason, "limit") != NULL);
	CU_ASSERT_EQUAL(size_of(path), -1);
	trace_path(path, sizeof path, "no/such/dir.pcap");
	IB_ASSERT_ERR(ib_trace_open(&t, path, 0, &diag), IB_ERR_IO);
	CU_ASSERT(strstr(diag.file, "dir.pcap") != NULL);
	IB_ASSERT_ERR(ib_trace_open(&t, "", 0, &diag), IB_ERR_INVALID_ARG);
	ib_trace_close(NULL);
}

static const struct ib_test_case cases[] = {
	IB_TEST(test_addr_parse, ""),
	IB_TEST(test_packet_layout, ""),
	IB_TEST(test_ipv6_and_unknown_ends, ""),
	IB_TEST(test_cut_at_snaplen, ""),
	IB_TEST(test_rotation, ""),
	IB_TEST(test_failure_stops_once, ""),
	IB_TEST(test_open_refusals, ""),
	IB_TEST_END};

const struct ib_test_suite ib_suite_trace = {"trace", NULL, NULL, cases};
