/*
 * net.h - the sockets: the only code that calls socket(), connect(), accept(), read() and
 * write(). Everything is non-blocking and close-on-exec. Internal.
 */
#ifndef IB_NET_H
#define IB_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "interbot.h"

/* The stream addresses a host:port resolves to, in the resolver's order ([TREE-25]). */
#define IB_NET_MAX_ADDRS 8
struct ib_net_addrs {
	size_t count;
	struct sockaddr_storage ss[IB_NET_MAX_ADDRS];
	socklen_t len[IB_NET_MAX_ADDRS];
};

/* Resolves host:port (a numeric address without any lookup, else a name: a blocking
 * getaddrinfo). IB_ERR_NOT_FOUND, with diag, when it gives no address. */
int ib_net_resolve(const char *host, uint16_t port, struct ib_net_addrs *out,
		   struct ib_diag *diag);
/* Starts a non-blocking connect to address i of a: IB_OK once under way (or done), else
 * IB_ERR_IO (no route, family not supported: failures the kernel reports at once). */
int ib_net_connect_addr(const struct ib_net_addrs *a, size_t i, int *fd, struct ib_diag *diag);
/* "a.b.c.d:port" or "[v6]:port" of address i of a, for logs. */
int ib_net_addr_name(const struct ib_net_addrs *a, size_t i, char *out, size_t cap);

/* Listens on host:port (port 0: an ephemeral port, returned in *bound_port). The host is a
 * numeric address or a name resolved once, now. diag says why on failure (IB_ERR_IO). */
int ib_net_listen(const char *host, uint16_t port, int *fd, uint16_t *bound_port,
		  struct ib_diag *diag);
/* [TREE-26] The same on every address host resolves to, up to cap sockets in fds[0..*count):
 * port 0 takes the ephemeral port of the first address for all. An address that cannot be
 * bound is skipped; IB_ERR_IO (diag: the first failure) only when none could be. */
int ib_net_listen_all(const char *host, uint16_t port, int *fds, size_t cap, size_t *count,
		      uint16_t *bound_port, struct ib_diag *diag);
/* One pending connection: IB_OK with *fd, or IB_ERR_AGAIN when there is none. peer (may be
 * NULL) receives "host:port" of the other end. */
int ib_net_accept(int listen_fd, int *fd, char *peer, size_t peer_cap);

/* [LINK-15] Where a connection comes from, for a per-source bound: the IPv4 address (an
 * IPv4-mapped one too), or the first 64 bits of an IPv6 address. */
struct ib_net_source {
	uint8_t len;                /* 4 or 8 */
	uint8_t bytes[8];
};
/* ib_net_accept, and the source of the connection in *source. */
int ib_net_accept_from(int listen_fd, int *fd, char *peer, size_t peer_cap,
		       struct ib_net_source *source);
bool ib_net_same_source(const struct ib_net_source *a, const struct ib_net_source *b);
/* Starts a non-blocking connect; the socket becomes writable when it is done, then
 * ib_net_connect_result tells how it went. */
int ib_net_connect(const char *host, uint16_t port, int *fd, struct ib_diag *diag);
/* IB_OK once connected, IB_ERR_AGAIN while in progress, IB_ERR_IO (errno set) if refused. */
int ib_net_connect_result(int fd);
/* Reads up to cap bytes: IB_OK with *got > 0, IB_ERR_AGAIN, IB_ERR_CLOSED on EOF, IB_ERR_IO. */
int ib_net_read(int fd, uint8_t *buf, size_t cap, size_t *got);
/* Writes what it can: IB_OK with *sent (maybe less than n), IB_ERR_AGAIN when nothing could
 * be written, IB_ERR_IO (a reset peer included; never SIGPIPE). */
int ib_net_write(int fd, const uint8_t *p, size_t n, size_t *sent);
void ib_net_close(int fd);
/* Shuts down the sending direction (TCP FIN); reading goes on. IB_ERR_IO if it failed. */
int ib_net_shutdown_write(int fd);
/* [issue 17] The transport seam: how a node finds, reaches and accepts its peers. A node uses
 * ib_net_sockets (the functions above) unless it is given another transport before it starts
 * (ib_node_set_transport, node_internal.h): a simulator hands out descriptors of in-memory
 * pipes it owns, so that everything past accept and connect (reads, writes, TLS, the
 * protocol) is the code that ships. ctx is the transport's, per node. */
struct ib_transport {
	int (*resolve)(void *ctx, const char *host, uint16_t port, struct ib_net_addrs *out,
		       struct ib_diag *diag);
	int (*connect_addr)(void *ctx, const struct ib_net_addrs *a, size_t i, int *fd,
			    struct ib_diag *diag);
	int (*listen_all)(void *ctx, const char *host, uint16_t port, int *fds, size_t cap,
			  size_t *count, uint16_t *bound_port, struct ib_diag *diag);
	int (*accept_from)(void *ctx, int listen_fd, int *fd, char *peer, size_t peer_cap,
			   struct ib_net_source *source);
};
extern const struct ib_transport ib_net_sockets;

/* Unix stream sockets, for the local control socket. A path holds at most
 * IB_NET_UNIX_PATH_MAX - 1 bytes. ib_net_listen_unix sets the file's mode before listen(), so
 * no client can connect with a wider one; a stale socket file (nobody accepts on it) is
 * replaced, anything else in the way is refused. *dev and *ino name the file, so that it can
 * later be removed only if it is still ours. */
#define IB_NET_UNIX_PATH_MAX 108
int ib_net_listen_unix(const char *path, unsigned mode, int backlog, int *fd, dev_t *dev,
		       ino_t *ino, struct ib_diag *diag);
/* One pending connection: IB_OK with *fd, IB_ERR_AGAIN when there is none, IB_ERR_IO (errno
 * kept) when accept fails otherwise (out of descriptors). */
int ib_net_accept_unix(int listen_fd, int *fd);

/* "host:port" of the socket's own end / of its peer. */
int ib_net_local_name(int fd, char *out, size_t cap, uint16_t *port);
int ib_net_peer_name(int fd, char *out, size_t cap, uint16_t *port);

#endif
