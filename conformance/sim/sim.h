/*
 * sim.h - interbot-sim: deterministic simulation of a network of reference nodes with faults
 * (issue 17). One process, one loop, one virtual clock; the links are simnet's in-memory
 * pipes, so a run is decided by its seed and its event list alone.
 */
#ifndef IB_SIM_H
#define IB_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the simulator does to the world, at a virtual time (ms from the start). */
enum sim_kind {
	EV_PUBLISH = 0, /* node a publishes key b */
	EV_FETCH,       /* node a runs an election for key b */
	EV_CUT,         /* node a's link number b (of those open) is cut */
	EV_CRASH,       /* node a dies: no goodbye, its in-flight bytes lost */
	EV_RESTART,     /* node a starts again (same identity, port and store), its clock set anew (b) */
	EV_PARTITION,   /* the nodes whose bit is set in mask (a) go to side 1 */
	EV_HEAL,        /* one side again */
	EV_STALL,       /* what a sends on its link number b is not read ... */
	EV_UNSTALL,     /* ... until this (all of a's links) */
	EV_REVOKE,      /* every other node drops a's key ([MEMBER-2], SIGHUP's path) */
	EV_READMIT,     /* and takes it again */
	EV_COMMAND,     /* node a sends ib.ping to node b, or to everyone when b = nodes */
	EV_KIND_COUNT
};

struct sim_event {
	uint64_t at_ms;
	enum sim_kind kind;
	uint64_t a, b;
};

struct sim_plan {
	uint64_t seed;
	size_t nodes;
	char fault[64];             /* a planted bug for every node (FAULTS builds), or "" */
	struct sim_event *events;
	size_t count;
};

/* How a run ended. */
struct sim_result {
	bool failed;
	char invariant[32];         /* its name, e.g. "no-cycle" */
	char reqs[64];              /* the spec IDs it follows from */
	char detail[512];
	uint64_t at_us;             /* virtual time of the failure */
	uint64_t sim_us;            /* virtual time run */
	uint64_t events;            /* the scheduler's decisions: chunks delivered, plan events */
	uint64_t delivered;         /* end-to-end messages delivered */
	uint64_t results;           /* RESULTs of ib.ping received */
	uint64_t bytes;             /* bytes the pipes moved */
};

struct sim_config {
	uint64_t min_delay_us, max_delay_us;
	bool verbose;
};

/* Draws a plan of `events` events for `nodes` nodes from seed. */
int sim_plan_generate(struct sim_plan *p, uint64_t seed, size_t nodes, size_t events);
void sim_plan_free(struct sim_plan *p);
int sim_plan_write(const struct sim_plan *p, const char *path);
/* Reads a file sim_plan_write wrote; diag text in err (cap bytes) on failure. */
int sim_plan_read(struct sim_plan *p, const char *path, char *err, size_t cap);
const char *sim_kind_name(enum sim_kind k);

/* Runs the plan, then heals everything and checks that the world settles (sim_run.c). */
int sim_run(const struct sim_plan *p, const struct sim_config *cfg, struct sim_result *r);

#endif
