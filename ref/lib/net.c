/*
 * net.c - the sockets (net.h): TCP over IPv4 and IPv6, every descriptor non-blocking and
 * close-on-exec from birth (SOCK_NONBLOCK | SOCK_CLOEXEC, accept4), so that no exec'ed
 * helper inherits a link and no call here can block the single-threaded loop.
 *
 * IB_ERR_IO always leaves errno as the failed call set it; diag messages name the address
 * and the call: "127.0.0.1:7415: bind: Address already in use".
 */
#define _GNU_SOURCE /* accept4, SOCK_NONBLOCK, SOCK_CLOEXEC, MSG_NOSIGNAL under -std=c11 */

#include "net.h"

#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LISTEN_BACKLOG 128
/* "[" address "%" scope "]:" port: room for any numeric name. */
#define NAME_CAP (INET6_ADDRSTRLEN + IF_NAMESIZE + 8)

/* Formats a socket address as "a.b.c.d:port" or "[v6]:port". An IPv4-mapped IPv6 address
 * (a dual-stack listener's IPv4 peer) is shown as the IPv4 address people expect in logs.
 * IB_ERR_INVALID_ARG if out is too small, IB_ERR_IO for a family that is not IP. */
static int format_addr(const struct sockaddr *sa, socklen_t len, char *out, size_t cap,
		       uint16_t *port)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	struct sockaddr_in v4;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
	int n;

	/* getpeername, getsockname and accept filled sa: the analyzer does not see it.
	 * NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
	if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
		memset(&v4, 0, sizeof v4);
		v4.sin_family = AF_INET;
		v4.sin_port = v6->sin6_port;
		memcpy(&v4.sin_addr, &v6->sin6_addr.s6_addr[12], 4);
		sa = (const struct sockaddr *)&v4;
		len = sizeof v4;
	}
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) {
		errno = EAFNOSUPPORT;
		return IB_ERR_IO;
	}
	/* getnameinfo rather than inet_ntop: it keeps a link-local address's scope (%eth0). */
	if (getnameinfo(sa, len, host, sizeof host, serv, sizeof serv,
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		errno = EINVAL;
		return IB_ERR_IO;
	}
	n = snprintf(out, cap, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
	if (n < 0 || (size_t)n >= cap)
		return IB_ERR_INVALID_ARG;
	if (port)
		*port = ntohs(sa->sa_family == AF_INET6 ? v6->sin6_port
							: ((const struct sockaddr_in *)sa)->sin_port);
	return IB_OK;
}

/* Closes fd without losing the errno that made us give up on it. */
static void close_keep_errno(int fd)
{
	int saved = errno;

	close(fd);
	errno = saved;
}

/* Records "<addr>: <call>: <errno text>" and returns IB_ERR_IO with errno unchanged. */
static int fail_at_sa(struct ib_diag *diag, const struct sockaddr *sa, socklen_t len,
		      const char *call)
{
	int saved = errno;
	char name[NAME_CAP];

	if (format_addr(sa, len, name, sizeof name, NULL) != IB_OK)
		snprintf(name, sizeof name, "?");
	ib_diag_set(diag, "", 0, "%s: %s: %s", name, call, strerror(saved));
	errno = saved;
	return IB_ERR_IO;
}

static int fail_at(struct ib_diag *diag, const struct addrinfo *ai, const char *call)
{
	return fail_at_sa(diag, ai->ai_addr, ai->ai_addrlen, call);
}

/* Resolves host:port to stream addresses. A numeric address is tried first, without any
 * lookup; only then is host taken as a name. That lookup is a blocking getaddrinfo: it runs
 * once, at listen or connect time, which this plain reference node accepts rather than
 * carrying an asynchronous resolver. A NULL or empty host with passive set is the wildcard. */
static int resolve(const char *host, uint16_t port, bool passive, struct addrinfo **res,
		   struct ib_diag *diag)
{
	struct addrinfo hints;
	char serv[8];
	bool v6 = host && strchr(host, ':');
	int rc;

	if (host && !*host)
		host = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST | (passive ? AI_PASSIVE : 0);
	snprintf(serv, sizeof serv, "%u", (unsigned)port);
	rc = getaddrinfo(host, serv, &hints, res);
	if (rc == EAI_NONAME && host) {
		hints.ai_flags &= ~AI_NUMERICHOST;
		rc = getaddrinfo(host, serv, &hints, res);
	}
	if (rc == 0)
		return IB_OK;
	if (rc != EAI_SYSTEM)
		errno = ENOENT; /* keep errno meaningful for callers that log it */
	ib_diag_set(diag, "", 0, v6 ? "[%s]:%u: %s" : "%s:%u: %s", host ? host : "*",
		    (unsigned)port, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	return IB_ERR_IO;
}

/* Frames are small and keep-alive measures round trips: Nagle would only delay them. */
static int set_nodelay(int fd)
{
	int one = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0 ? IB_OK
									       : IB_ERR_IO;
}

/* One listening socket on one address, or IB_ERR_IO with diag set. */
static int listen_one(const struct addrinfo *ai, int *fd, struct ib_diag *diag)
{
	int one = 1, s, err = IB_OK;

	s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		   ai->ai_protocol);
	if (s < 0)
		return fail_at(diag, ai, "socket");
	/* A restarted node must get its port back while old links sit in TIME_WAIT. */
	if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
		err = fail_at(diag, ai, "setsockopt(SO_REUSEADDR)");
	else if (bind(s, ai->ai_addr, ai->ai_addrlen) != 0)
		err = fail_at(diag, ai, "bind");
	else if (listen(s, LISTEN_BACKLOG) != 0)
		err = fail_at(diag, ai, "listen");
	if (err) {
		close_keep_errno(s);
		return err;
	}
	*fd = s;
	return IB_OK;
}

int ib_net_listen(const char *host, uint16_t port, int *fd, uint16_t *bound_port,
		  struct ib_diag *diag)
{
	struct addrinfo *res = NULL;
	char name[NAME_CAP];
	int err, s = -1;

	if (!fd)
		return IB_ERR_INVALID_ARG;
	err = resolve(host, port, true, &res, diag);
	if (err)
		return err;
	/* The first address that works; the diag and errno are those of the last failure. */
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		err = listen_one(ai, &s, diag);
		if (err == IB_OK)
			break;
	}
	if (err)
		goto out;
	if (bound_port) {
		err = ib_net_local_name(s, name, sizeof name, bound_port);
		if (err) {
			ib_diag_set(diag, "", 0, "getsockname: %s", strerror(errno));
			close_keep_errno(s);
			goto out;
		}
	}
	*fd = s;
out:
	freeaddrinfo(res);
	return err;
}

static void set_port(struct sockaddr *sa, uint16_t port)
{
	if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
	else if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)sa)->sin_port = htons(port);
}

int ib_net_listen_all(const char *host, uint16_t port, int *fds, size_t cap, size_t *count,
		      uint16_t *bound_port, struct ib_diag *diag)
{
	struct ib_diag first = { 0 };
	struct addrinfo *res = NULL;
	char name[NAME_CAP];
	bool failed = false;
	int err;

	if (!fds || !count || cap == 0)
		return IB_ERR_INVALID_ARG;
	*count = 0;
	err = resolve(host, port, true, &res, diag);
	if (err)
		return err;
	/* [TREE-26] every address of the name; one that cannot be bound (a family the host
	 * lacks, a dual-stack socket that took the port already) is skipped. */
	for (const struct addrinfo *ai = res; ai && *count < cap; ai = ai->ai_next) {
		struct sockaddr_storage ss;
		struct addrinfo one = *ai;
		int s = -1;

		if (ai->ai_addrlen > sizeof ss)
			continue;
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		one.ai_addr = (struct sockaddr *)&ss;
		if (*count && port == 0)
			set_port(one.ai_addr, *bound_port); /* every socket on the first one's port */
		if (listen_one(&one, &s, failed ? NULL : &first) != IB_OK) {
			failed = true;
			continue;
		}
		if (*count == 0 && ib_net_local_name(s, name, sizeof name, bound_port) != IB_OK) {
			ib_diag_set(&first, "", 0, "getsockname: %s", strerror(errno));
			failed = true;
			close_keep_errno(s);
			continue;
		}
		fds[(*count)++] = s;
	}
	freeaddrinfo(res);
	if (*count)
		return IB_OK;
	if (diag)
		*diag = first;
	return IB_ERR_IO;
}

/* IPv4 (mapped or not): the address; IPv6: its /64, what one host is given. */
static void source_of(const struct sockaddr *sa, struct ib_net_source *out)
{
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;

	memset(out, 0, sizeof *out);
	if (sa->sa_family == AF_INET) {
		out->len = 4;
		memcpy(out->bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
		out->len = 4;
		memcpy(out->bytes, &v6->sin6_addr.s6_addr[12], 4);
	} else if (sa->sa_family == AF_INET6) {
		out->len = 8;
		memcpy(out->bytes, v6->sin6_addr.s6_addr, 8);
	}
}

bool ib_net_same_source(const struct ib_net_source *a, const struct ib_net_source *b)
{
	return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

int ib_net_accept_from(int listen_fd, int *fd, char *peer, size_t peer_cap,
		       struct ib_net_source *source)
{
	struct sockaddr_storage ss = { 0 }; /* accept4 fills it; the analyzer cannot tell */
	socklen_t len;
	int s, err;

	if (!fd)
		return IB_ERR_INVALID_ARG;
	do {
		len = sizeof ss;
		s = accept4(listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		/* ECONNABORTED: a client gave up while queued; the next one may be there. */
	} while (s < 0 && (errno == EINTR || errno == ECONNABORTED));
	if (s < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? IB_ERR_AGAIN : IB_ERR_IO;
	/* The name accept gave, not getpeername: a peer that already reset has none. */
	err = peer ? format_addr((struct sockaddr *)&ss, len, peer, peer_cap, NULL) : IB_OK;
	if (err == IB_OK)
		err = set_nodelay(s);
	if (err) {
		close_keep_errno(s);
		return err;
	}
	if (source)
		source_of((const struct sockaddr *)&ss, source);
	*fd = s;
	return IB_OK;
}

int ib_net_accept(int listen_fd, int *fd, char *peer, size_t peer_cap)
{
	return ib_net_accept_from(listen_fd, fd, peer, peer_cap, NULL);
}

int ib_net_resolve(const char *host, uint16_t port, struct ib_net_addrs *out,
		   struct ib_diag *diag)
{
	struct addrinfo *res = NULL;

	if (!out || !host || !*host)
		return IB_ERR_INVALID_ARG;
	out->count = 0;
	if (resolve(host, port, false, &res, diag) != IB_OK)
		return IB_ERR_NOT_FOUND;
	for (const struct addrinfo *ai = res; ai && out->count < IB_NET_MAX_ADDRS;
	     ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof out->ss[0])
			continue;
		memcpy(&out->ss[out->count], ai->ai_addr, ai->ai_addrlen);
		out->len[out->count++] = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	if (out->count)
		return IB_OK;
	ib_diag_set(diag, "", 0, "%s:%u: no stream address", host, (unsigned)port);
	return IB_ERR_NOT_FOUND;
}

int ib_net_addr_name(const struct ib_net_addrs *a, size_t i, char *out, size_t cap)
{
	if (!a || i >= a->count || !out)
		return IB_ERR_INVALID_ARG;
	return format_addr((const struct sockaddr *)&a->ss[i], a->len[i], out, cap, NULL);
}

int ib_net_connect_addr(const struct ib_net_addrs *a, size_t i, int *fd, struct ib_diag *diag)
{
	const struct sockaddr *sa;
	socklen_t len;
	int s, rc;

	if (!a || i >= a->count || !fd)
		return IB_ERR_INVALID_ARG;
	sa = (const struct sockaddr *)&a->ss[i];
	len = a->len[i];
	s = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (s < 0)
		return fail_at_sa(diag, sa, len, "socket");
	if (set_nodelay(s) != IB_OK) {
		rc = fail_at_sa(diag, sa, len, "setsockopt(TCP_NODELAY)");
		close_keep_errno(s);
		return rc;
	}
	/* EINTR: the connect goes on in the background, as with EINPROGRESS. */
	rc = connect(s, sa, len);
	if (rc != 0 && errno != EINPROGRESS && errno != EINTR) {
		rc = fail_at_sa(diag, sa, len, "connect");
		close_keep_errno(s);
		return rc;
	}
	*fd = s;
	return IB_OK;
}

int ib_net_connect(const char *host, uint16_t port, int *fd, struct ib_diag *diag)
{
	struct ib_net_addrs a;
	int err;

	if (!fd || !host || !*host)
		return IB_ERR_INVALID_ARG;
	err = ib_net_resolve(host, port, &a, diag);
	if (err)
		return err == IB_ERR_NOT_FOUND ? IB_ERR_IO : err;
	/* Only failures the kernel reports at once (no route, family not supported) move on to
	 * the next address here: a refusal comes later, through ib_net_connect_result (a node's
	 * parent links walk the addresses themselves, [TREE-25]). */
	for (size_t i = 0; i < a.count; i++) {
		err = ib_net_connect_addr(&a, i, fd, diag);
		if (err == IB_OK)
			break;
	}
	return err;
}

int ib_net_connect_result(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(int);
	int soerr = 0;

	/* Reading SO_ERROR clears it: a failure is reported once. */
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
		return IB_ERR_IO;
	if (soerr != 0) {
		errno = soerr;
		return IB_ERR_IO;
	}
	/* No error yet: connected only if there is a peer. */
	len = sizeof ss;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		return IB_OK;
	return errno == ENOTCONN ? IB_ERR_AGAIN : IB_ERR_IO;
}

int ib_net_read(int fd, uint8_t *buf, size_t cap, size_t *got)
{
	ssize_t n;

	/* A zero-byte read returns 0, which would look like the end of the stream. */
	if (!buf || cap == 0 || !got)
		return IB_ERR_INVALID_ARG;
	do
		n = recv(fd, buf, cap, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? IB_ERR_AGAIN : IB_ERR_IO;
	if (n == 0)
		return IB_ERR_CLOSED;
	*got = (size_t)n;
	return IB_OK;
}

int ib_net_write(int fd, const uint8_t *p, size_t n, size_t *sent)
{
	ssize_t w;

	if ((!p && n) || !sent)
		return IB_ERR_INVALID_ARG;
	*sent = 0;
	if (n == 0)
		return IB_OK;
	/* MSG_NOSIGNAL: a reset peer is an EPIPE to handle, not a signal that kills the node. */
	do
		w = send(fd, p, n, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? IB_ERR_AGAIN : IB_ERR_IO;
	*sent = (size_t)w;
	return IB_OK;
}

void ib_net_close(int fd)
{
	/* No retry on EINTR: Linux has released the descriptor already, and a retry could
	 * close a descriptor that another part of the program has just opened. */
	if (fd >= 0)
		close(fd);
}

int ib_net_shutdown_write(int fd)
{
	return shutdown(fd, SHUT_WR) == 0 ? IB_OK : IB_ERR_IO;
}

int ib_net_local_name(int fd, char *out, size_t cap, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (!out)
		return IB_ERR_INVALID_ARG;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return IB_ERR_IO;
	return format_addr((struct sockaddr *)&ss, len, out, cap, port);
}

int ib_net_peer_name(int fd, char *out, size_t cap, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (!out)
		return IB_ERR_INVALID_ARG;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return IB_ERR_IO;
	return format_addr((struct sockaddr *)&ss, len, out, cap, port);
}

/* ---- Unix sockets (the control socket) --------------------------------------------------- */

/* Whether a process accepts on the socket at sa: only a refusal says it is stale. */
static bool unix_in_use(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	bool in_use;

	if (fd < 0)
		return true;
	in_use = connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0 ||
		 errno != ECONNREFUSED;
	ib_net_close(fd);
	return in_use;
}

/* Makes way for the socket: nothing there, or a stale socket file, which is removed. */
static int unix_clear_path(const struct sockaddr_un *sa, struct ib_diag *diag)
{
	struct stat st;

	if (lstat(sa->sun_path, &st) != 0) {
		if (errno == ENOENT)
			return IB_OK;
		ib_diag_set(diag, sa->sun_path, 0, "%s", strerror(errno));
		return IB_ERR_IO;
	}
	if (!S_ISSOCK(st.st_mode)) {
		ib_diag_set(diag, sa->sun_path, 0, "exists and is not a socket; not replacing it");
		return IB_ERR_IO;
	}
	if (unix_in_use(sa)) {
		ib_diag_set(diag, sa->sun_path, 0, "in use: another node answers on it");
		return IB_ERR_IO;
	}
	if (unlink(sa->sun_path) != 0 && errno != ENOENT) {
		ib_diag_set(diag, sa->sun_path, 0, "cannot remove the stale socket: %s",
			    strerror(errno));
		return IB_ERR_IO;
	}
	return IB_OK;
}

int ib_net_listen_unix(const char *path, unsigned mode, int backlog, int *fd_out, dev_t *dev,
		       ino_t *ino, struct ib_diag *diag)
{
	struct sockaddr_un sa;
	struct stat st;
	const char *call = "socket";
	bool bound = false;
	int fd = -1, err;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa.sun_path) {
		ib_diag_set(diag, path, 0, "too long for a Unix socket");
		return IB_ERR_RANGE;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	err = unix_clear_path(&sa, diag);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	call = "bind";
	if (bind(fd, (const struct sockaddr *)&sa, sizeof sa) != 0)
		goto fail;
	bound = true;
	/* Before listen, while every connect is still refused, so the wider mode bind gave the
	 * file is never usable; chmod rather than umask, which is the whole process's. */
	call = "chmod";
	if (chmod(sa.sun_path, (mode_t)mode) != 0)
		goto fail;
	call = "stat";
	if (lstat(sa.sun_path, &st) != 0)
		goto fail;
	call = "listen";
	if (listen(fd, backlog) != 0)
		goto fail;
	*fd_out = fd;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return IB_OK;
fail:
	ib_diag_set(diag, sa.sun_path, 0, "%s: %s", call, strerror(errno));
	if (bound)
		unlink(sa.sun_path);
	if (fd >= 0)
		ib_net_close(fd);
	return IB_ERR_IO;
}

int ib_net_accept_unix(int listen_fd, int *fd)
{
	int cfd;

	do
		cfd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (cfd < 0 && errno == EINTR);
	/* ECONNABORTED: a client that gave up while queued is no error. */
	if (cfd < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED
			       ? IB_ERR_AGAIN : IB_ERR_IO;
	*fd = cfd;
	return IB_OK;
}

/* The sockets as a transport: the functions above, with the context they do not need. */
static int sockets_resolve(void *ctx, const char *host, uint16_t port, struct ib_net_addrs *out,
			   struct ib_diag *diag)
{
	(void)ctx;
	return ib_net_resolve(host, port, out, diag);
}

static int sockets_connect_addr(void *ctx, const struct ib_net_addrs *a, size_t i, int *fd,
				struct ib_diag *diag)
{
	(void)ctx;
	return ib_net_connect_addr(a, i, fd, diag);
}

static int sockets_listen_all(void *ctx, const char *host, uint16_t port, int *fds, size_t cap,
			      size_t *count, uint16_t *bound_port, struct ib_diag *diag)
{
	(void)ctx;
	return ib_net_listen_all(host, port, fds, cap, count, bound_port, diag);
}

static int sockets_accept_from(void *ctx, int listen_fd, int *fd, char *peer, size_t peer_cap,
			       struct ib_net_source *source)
{
	(void)ctx;
	return ib_net_accept_from(listen_fd, fd, peer, peer_cap, source);
}

const struct ib_transport ib_net_sockets = {
	.resolve = sockets_resolve,
	.connect_addr = sockets_connect_addr,
	.listen_all = sockets_listen_all,
	.accept_from = sockets_accept_from,
};
