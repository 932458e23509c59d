/*
 * clock.c - where a node takes its time from: the system clocks in the program, a virtual
 * clock in tests. Everything that needs the time reads it through a struct ib_clock, so that
 * a harness can run many nodes in one process and step time by hand, without sleeping.
 */
#include "interbot.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Where a virtual clock's monotonic reading starts: not 0, so that 0 is never a deadline a
 * timer could have, and far enough from 0 that "now - some delay" does not underflow in
 * callers that look back a little. */
#define VCLOCK_MONOTONIC_START 1000000u

static uint64_t read_clock(clockid_t id, const char *name)
{
	struct timespec ts;

	/* These clocks exist on every POSIX system we build for; with no clock the node cannot
	 * keep a single promise about time, so this is a broken environment, not an error. */
	if (clock_gettime(id, &ts) != 0) {
		fprintf(stderr, "ib_clock_system: clock_gettime(%s) failed\n", name);
		abort();
	}
	if (ts.tv_sec < 0)
		return 0; /* a wall clock before 1970: no microsecond count to give */
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t system_monotonic_us(void *ctx)
{
	(void)ctx;
	return read_clock(CLOCK_MONOTONIC, "CLOCK_MONOTONIC");
}

static uint64_t system_unix_us(void *ctx)
{
	(void)ctx;
	return read_clock(CLOCK_REALTIME, "CLOCK_REALTIME");
}

const struct ib_clock *ib_clock_system(void)
{
	static const struct ib_clock system_clock = {
		system_monotonic_us,
		system_unix_us,
		NULL,
	};

	return &system_clock;
}

void ib_vclock_init(struct ib_vclock *v, uint64_t start_unix_us)
{
	v->monotonic_us = VCLOCK_MONOTONIC_START;
	v->unix_us = start_unix_us;
}

/* Saturates rather than wraps: a clock that wrapped would go back, which a monotonic clock
 * must never do (timers would all fall due at once). */
static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void ib_vclock_advance(struct ib_vclock *v, uint64_t us)
{
	v->monotonic_us = add_sat(v->monotonic_us, us);
	v->unix_us = add_sat(v->unix_us, us);
}

static uint64_t vclock_monotonic_us(void *ctx)
{
	return ((const struct ib_vclock *)ctx)->monotonic_us;
}

static uint64_t vclock_unix_us(void *ctx)
{
	return ((const struct ib_vclock *)ctx)->unix_us;
}

struct ib_clock ib_vclock_clock(struct ib_vclock *v)
{
	struct ib_clock c = { vclock_monotonic_us, vclock_unix_us, v };

	return c;
}
