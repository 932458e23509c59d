/*
 * pcapcheck.h - `interbot-conform --check-pcap FILE --keys DIR`: judges offline every frame of
 * a trace in the format of spec section 19.4, written by any implementation.
 */
#ifndef CF_PCAPCHECK_H
#define CF_PCAPCHECK_H

#include <stdint.h>

struct cf_pcap_check {
	const char *path;           /* the trace */
	const char *keys_dir;       /* *.pub of every bot whose frames the trace may hold */
	uint32_t max_message;       /* the receivers' max_message (default the spec's largest) */
	int verbose;                /* 1: a line per packet too */
};

/* Prints one line per finding and a summary. Returns the exit status: 0 no finding,
 * 1 findings, 2 the trace or the keys could not be read. */
int cf_pcap_check_run(const struct cf_pcap_check *o);

#endif
