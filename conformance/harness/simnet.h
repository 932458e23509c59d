/*
 * simnet.h - a simulated network for the harness: in-memory links between the nodes of one
 * process, on the loop and virtual clock they share (issue 17; interbot-sim and interbot-soak
 * --net-delay use it).
 *
 * Each node is a host with a port (SN_PORT_BASE + index). A node reaches another through the
 * transport seam (struct ib_transport, net.h): connecting to 127.0.0.1:PORT gives it one end
 * of a socketpair, and the host behind PORT accepts the end of a second one. The simulator
 * owns the two middle ends and copies bytes between them, so it decides when each byte
 * arrives: a delay drawn from the seed for every chunk, never reordering one direction (TCP
 * keeps order), and faults: a cut, a partition, a direction that stops being read. TLS, the
 * reads and writes, and the protocol are the node's shipped code.
 */
#ifndef IB_SIMNET_H
#define IB_SIMNET_H

#include <stdbool.h>
#include <stdint.h>

#include "interbot.h"
#include "net.h"

#define SN_PORT_BASE 20000u

struct sn_net;
struct sn_host;

/* A network of count hosts on loop. Delays are drawn uniformly in [min_us, max_us]. */
int sn_net_new(struct sn_net **out, struct ib_loop *loop, size_t count, uint64_t seed,
	       uint64_t min_us, uint64_t max_us);
/* Closes every pipe; the nodes must be freed first (their descriptors are theirs). */
void sn_net_free(struct sn_net *net);

/* Node n is host i from now on (call before ib_node_start, on every start): it reaches and
 * accepts peers through the network, and draws all its randomness from seed. */
void sn_attach(struct sn_net *net, size_t i, struct ib_node *n, uint64_t seed);

/* Host i's node is gone (crashed or stopped): its pipes are cut at once, without delivering
 * what was in flight, and connections to it are refused until sn_host_up. */
void sn_host_down(struct sn_net *net, size_t i);
void sn_host_up(struct sn_net *net, size_t i);

/* Cuts every pipe between hosts a and b, as a network failure: both nodes read the end of
 * the stream (what was in flight is lost). Returns how many pipes were cut. */
size_t sn_cut(struct sn_net *net, size_t a, size_t b);
/* Host i joins side 0 or 1: pipes across sides are cut and connections across refused until
 * they are on one side again. */
void sn_set_side(struct sn_net *net, size_t i, int side);
/* Stops (or resumes) reading what host a sends to host b: a's writes back up, as a peer that
 * stops reading makes them do. */
void sn_stall(struct sn_net *net, size_t a, size_t b, bool stalled);
/* Everything resumed, one side, every host up: the network of a healed world. */
void sn_heal(struct sn_net *net);

/* Figures. */
uint64_t sn_bytes_moved(const struct sn_net *net);
uint64_t sn_chunks_moved(const struct sn_net *net);

#endif
