/*
 * capture.h - a live capture of the loopback traffic of a test (libpcap), reassembled into
 * the two byte streams of each TCP connection, with the capture time of every segment: what
 * the WIRE group reads to see what no endpoint shows, the bytes as they crossed the wire.
 *
 * It runs on the suite's event loop (non-blocking, its descriptor watched there) and is
 * drained by cap_drain too. A packet reaches the capture before the receiving socket has
 * it (the kernel hands it to packet sockets first): once an endpoint has read some bytes,
 * a drain has seen the segments that carried them, whatever the clocks say.
 */
#ifndef CF_CAPTURE_H
#define CF_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "interbot.h"

enum cap_status {
	CAP_OK,
	CAP_NO_RIGHTS,      /* the process may not capture (not root, no CAP_NET_RAW) */
	CAP_FAILED          /* anything else: no such device, a bad filter, ... */
};

/* One byte of a direction's stream, by the segment that carried it. */
struct cap_seg {
	size_t off;         /* offset in the direction's stream of its first byte */
	uint64_t ts_us;     /* capture time, unix microseconds */
};

struct cap_dir {
	struct ib_buf bytes;        /* payload in stream order, retransmissions removed */
	struct cap_seg *segs;
	size_t nsegs, capsegs;
	uint32_t next_seq;          /* the seq of the next byte expected */
	bool started;               /* SYN (or the first segment) seen */
	bool gap;                   /* a segment came after bytes the capture missed */
	bool fin;
};

/* A TCP connection; dir[0] is the side that sent the SYN (the client). */
struct cap_conn {
	uint8_t addr[2][16];        /* IPv4 in the first 4 bytes */
	uint16_t port[2];
	bool v6;
	bool syn_seen;              /* the capture saw its start: its streams are whole */
	struct cap_dir dir[2];
};

struct cap;

/* Opens a live capture on the loopback device for TCP on the given ports (why: a reason,
 * for the report). */
enum cap_status cap_open(struct cap **out, struct ib_loop *loop, const uint16_t *ports,
			 size_t nports, char *why, size_t whycap);
/* Captures one more port from now on (1 to 4 in all). */
bool cap_add_port(struct cap *k, uint16_t port, char *why, size_t whycap);
void cap_free(struct cap *k);
/* Takes every packet the kernel holds for the capture now. */
void cap_drain(struct cap *k);
/* Packets the kernel dropped for the capture (its buffer full): then streams have gaps. */
unsigned cap_dropped(struct cap *k);
size_t cap_conns(const struct cap *k);
const struct cap_conn *cap_conn(const struct cap *k, size_t i);
/* The capture time of the byte at off in d (the segment that carried it); 0 if none. */
uint64_t cap_time_of(const struct cap_dir *d, size_t off);
/* Feeds one link-layer packet as pcap would (tests of the reassembly; dlt: DLT_*). */
void cap_feed(struct cap *k, int dlt, const uint8_t *pkt, size_t len, uint64_t ts_us);
/* A capture that reads nothing live: for cap_feed. */
struct cap *cap_offline(void);

#endif
