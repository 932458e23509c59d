/*
 * control.h - how the control socket reads a client's request (internal; control.c): the
 * request line out of the bytes as they come, then the command it names. Apart from the
 * socket so that fuzz/fuzz_control.c can feed them any bytes without a node.
 */
#ifndef IB_CONTROL_H
#define IB_CONTROL_H

#include <jansson.h>

#include "interbot.h"

enum ib_control_line {
	IB_CONTROL_LINE_MORE = 0,       /* no "\n" yet, and room for more */
	IB_CONTROL_LINE_READY = 1,      /* a whole request: *len bytes before its "\n" */
	IB_CONTROL_LINE_TOO_LONG = 2,   /* IB_CONTROL_MAX_REQUEST + 1 bytes and no "\n" */
};

/* How many more bytes a client may send into in (what it sent so far): never 0 while the
 * line is still MORE. */
size_t ib_control_line_room(const struct ib_buf *in);
/* Appends chunk[0..got) to in, got at most ib_control_line_room(in). An enum ib_control_line,
 * or the error of ib_buf_put. */
int ib_control_line_feed(struct ib_buf *in, const uint8_t *chunk, size_t got, size_t *len);

/* The command of one request line p[0..len) (without its "\n"), a name of the command table
 * (static), with the request object in *req, the caller's to release. NULL when the line is
 * no request of a known command: then *req is NULL and *error the answer to send, which the
 * caller releases (NULL only without memory). The fields of each command are checked by its
 * handler, with the node. */
const char *ib_control_request_parse(const uint8_t *p, size_t len, json_t **req,
				     json_t **error);

#endif
