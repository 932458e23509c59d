/* loop.h - what loop.c tells its own tests and no caller needs. */
#ifndef IB_LOOP_H
#define IB_LOOP_H

#include "interbot.h"

/* Whether the loop finds ready descriptors with epoll (Linux), rather than poll(). */
bool ib_loop_uses_epoll(const struct ib_loop *loop);

#endif
