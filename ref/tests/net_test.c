/* Unit tests of net.c: real sockets on the loopback, 127.0.0.1 and ::1 (the IPv6 cases pass
 * with a note where ::1 is not configured). Nothing sleeps: where the kernel has work to do
 * (a handshake, a reset, a window update), the test poll()s that one descriptor for at most
 * WAIT_MS, and a timeout is a failure. */
#define _GNU_SOURCE /* SO_LINGER, struct sigaction under -std=c11 */

#include "ib_test.h"
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_MS 2000
#define NAME_CAP 96

/* One established connection: the listener, the client end and the accepted end. */
struct conn {
	int lfd, cfd, afd;
	uint16_t port;
	char peer[NAME_CAP]; /* what accept said of the client */
};

/* Waits for the kernel to make fd ready for events; fails the test after WAIT_MS. */
static short wait_fd(int fd, short events)
{
	struct pollfd p = {fd, events, 0};
	int n;

	do
		n = poll(&p, 1, WAIT_MS);
	while (n < 0 && errno == EINTR);
	CU_ASSERT_FATAL(n == 1);
	return p.revents;
}

/* True if the host can listen on ::1; otherwise the calling test passes with a note. */
static bool have_ipv6(void)
{
	struct ib_diag d;
	int fd = -1;
	uint16_t port;

	if (ib_net_listen("::1", 0, &fd, &port, &d) != IB_OK) {
		CU_PASS("::1 is not available: IPv6 case skipped");
		return false;
	}
	ib_net_close(fd);
	return true;
}

static void conn_open(struct conn *c, const char *host)
{
	struct ib_diag d;

	memset(c, 0, sizeof *c);
	c->lfd = c->cfd = c->afd = -1;
	IB_ASSERT_OK(ib_net_listen(host, 0, &c->lfd, &c->port, &d));
	CU_ASSERT_FATAL(c->lfd >= 0);
	CU_ASSERT(c->port != 0);
	IB_ASSERT_ERR(ib_net_accept(c->lfd, &c->afd, NULL, 0), IB_ERR_AGAIN);
	IB_ASSERT_OK(ib_net_connect(host, c->port, &c->cfd, &d));
	CU_ASSERT_FATAL(c->cfd >= 0);
	CU_ASSERT(wait_fd(c->cfd, POLLOUT) & POLLOUT);
	IB_ASSERT_OK(ib_net_connect_result(c->cfd));
	CU_ASSERT(wait_fd(c->lfd, POLLIN) & POLLIN);
	IB_ASSERT_OK(ib_net_accept(c->lfd, &c->afd, c->peer, sizeof c->peer));
	CU_ASSERT_FATAL(c->afd >= 0);
	IB_ASSERT_ERR(ib_net_accept(c->lfd, &c->afd, NULL, 0), IB_ERR_AGAIN);
}

static void conn_close(struct conn *c)
{
	ib_net_close(c->lfd);
	ib_net_close(c->cfd);
	ib_net_close(c->afd);
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i % 251); /* a prime: the pattern does not align with any buffer size */
}

/* Reads exactly n bytes from fd, waiting when none are there, and checks the pattern from
 * offset off. */
static void read_exactly(int fd, size_t n, size_t off)
{
	static uint8_t buf[65536];
	size_t have = 0, got, bad = 0;
	int err;

	while (have < n) {
		err = ib_net_read(fd, buf, n - have < sizeof buf ? n - have : sizeof buf, &got);
		if (err == IB_ERR_AGAIN) {
			CU_ASSERT_FATAL(wait_fd(fd, POLLIN) & POLLIN);
			continue;
		}
		IB_ASSERT_OK(err);
		CU_ASSERT_FATAL(err == IB_OK);
		for (size_t i = 0; i < got; i++)
			bad += buf[i] != pattern(off + have + i);
		have += got;
	}
	CU_ASSERT_EQUAL(bad, 0);
}

/* ---- cases on both families ------------------------------------------------------------ */

/* Names: the listener's own, both ends of the link, and what accept said. */
static void check_names(const char *host, const char *fmt)
{
	struct conn c;
	char want[NAME_CAP], got[NAME_CAP];
	uint16_t port = 0, cport = 0;

	conn_open(&c, host);
	IB_ASSERT_OK(ib_net_local_name(c.lfd, got, sizeof got, &port));
	snprintf(want, sizeof want, fmt, (unsigned)c.port);
	CU_ASSERT_STRING_EQUAL(got, want);
	CU_ASSERT_EQUAL(port, c.port);
	IB_ASSERT_OK(ib_net_peer_name(c.cfd, got, sizeof got, &port));
	CU_ASSERT_STRING_EQUAL(got, want);
	CU_ASSERT_EQUAL(port, c.port);
	IB_ASSERT_OK(ib_net_local_name(c.cfd, got, sizeof got, &cport));
	CU_ASSERT_STRING_EQUAL(got, c.peer);
	snprintf(want, sizeof want, fmt, (unsigned)cport);
	CU_ASSERT_STRING_EQUAL(c.peer, want);
	IB_ASSERT_OK(ib_net_peer_name(c.afd, got, sizeof got, NULL));
	CU_ASSERT_STRING_EQUAL(got, want);
	/* Failing twins: a listener has no peer; a name never comes out cut. */
	IB_ASSERT_ERR(ib_net_peer_name(c.lfd, got, sizeof got, NULL), IB_ERR_IO);
	CU_ASSERT_EQUAL(errno, ENOTCONN);
	IB_ASSERT_ERR(ib_net_local_name(c.cfd, got, strlen(c.peer), NULL), IB_ERR_INVALID_ARG);
	IB_ASSERT_OK(ib_net_local_name(c.cfd, got, strlen(c.peer) + 1, NULL));
	conn_close(&c);
}

/* Bytes both ways, then a full send buffer: one write larger than both ends' buffers can
 * hold comes back partial, more writes go until IB_ERR_AGAIN, the reader drains everything in
 * order, and the writer can write again. */
static void check_data(const char *host)
{
	/* Linux buffers top out at a few MB (tcp_wmem, tcp_rmem): 32 MB cannot go at once. */
	enum { BIG = 32 << 20 };
	uint8_t *buf = malloc(BIG + 251), small[16];
	struct conn c;
	size_t total = 0, sent, writes = 0;
	int err;

	CU_ASSERT_FATAL(buf != NULL);
	for (size_t i = 0; i < BIG + 251; i++)
		buf[i] = pattern(i);
	conn_open(&c, host);
	IB_ASSERT_OK(ib_net_write(c.cfd, buf, 100, &sent));
	CU_ASSERT_EQUAL(sent, 100);
	read_exactly(c.afd, 100, 0);
	IB_ASSERT_OK(ib_net_write(c.afd, buf, 200, &sent));
	CU_ASSERT_EQUAL(sent, 200);
	read_exactly(c.cfd, 200, 0);
	IB_ASSERT_ERR(ib_net_read(c.cfd, small, sizeof small, &sent), IB_ERR_AGAIN);

	/* Starting at total % 251 continues the pattern where the last write stopped. */
	for (;;) {
		err = ib_net_write(c.cfd, buf + total % 251, BIG, &sent);
		if (err != IB_OK)
			break;
		CU_ASSERT(sent > 0 && sent < BIG);
		total += sent;
		CU_ASSERT_FATAL(++writes < 1000);
	}
	IB_ASSERT_ERR(err, IB_ERR_AGAIN);
	CU_ASSERT_EQUAL(sent, 0);
	CU_ASSERT(writes >= 1);
	read_exactly(c.afd, total, 0);
	CU_ASSERT(wait_fd(c.cfd, POLLOUT) & POLLOUT);
	IB_ASSERT_OK(ib_net_write(c.cfd, buf + total % 251, 1000, &sent));
	CU_ASSERT_EQUAL(sent, 1000);
	read_exactly(c.afd, sent, total);
	conn_close(&c);
	free(buf);
}

/* The peer's orderly close is IB_ERR_CLOSED, after the bytes it sent. */
static void check_eof(const char *host)
{
	struct conn c;
	uint8_t buf[16];
	size_t got = 0;

	conn_open(&c, host);
	IB_ASSERT_OK(ib_net_write(c.afd, (const uint8_t *)"bye", 3, &got));
	ib_net_close(c.afd);
	c.afd = -1;
	CU_ASSERT(wait_fd(c.cfd, POLLIN) & POLLIN);
	IB_ASSERT_OK(ib_net_read(c.cfd, buf, sizeof buf, &got));
	CU_ASSERT_EQUAL(got, 3);
	IB_ASSERT_ERR(ib_net_read(c.cfd, buf, sizeof buf, &got), IB_ERR_CLOSED);
	IB_ASSERT_ERR(ib_net_read(c.cfd, buf, sizeof buf, &got), IB_ERR_CLOSED);
	IB_ASSERT_ERR(ib_net_read(c.cfd, buf, 0, &got), IB_ERR_INVALID_ARG);
	conn_close(&c);
}

/* A listener closed again leaves a port where nobody listens: the connect starts, and its
 * result is a refusal with errno ECONNREFUSED. */
static void check_refused(const char *host)
{
	struct ib_diag d;
	int lfd = -1, fd = -1;
	uint16_t port;

	IB_ASSERT_OK(ib_net_listen(host, 0, &lfd, &port, &d));
	ib_net_close(lfd);
	IB_ASSERT_OK(ib_net_connect(host, port, &fd, &d));
	CU_ASSERT_FATAL(fd >= 0);
	wait_fd(fd, POLLOUT);
	errno = 0;
	IB_ASSERT_ERR(ib_net_connect_result(fd), IB_ERR_IO);
	CU_ASSERT_EQUAL(errno, ECONNREFUSED);
	ib_net_close(fd);
}

/* A peer that reset: writes fail with IB_ERR_IO (ECONNRESET, then EPIPE) and the process
 * lives. SIGPIPE is set to its default, which kills, so only MSG_NOSIGNAL saves us here. */
static void check_reset(const char *host)
{
	struct sigaction dfl, old;
	struct linger lg = {1, 0};
	struct conn c;
	size_t sent = 1;

	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	CU_ASSERT_FATAL(sigaction(SIGPIPE, &dfl, &old) == 0);
	conn_open(&c, host);
	/* Linger 0: close sends RST instead of FIN. */
	CU_ASSERT_FATAL(setsockopt(c.afd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
	ib_net_close(c.afd);
	c.afd = -1;
	CU_ASSERT(wait_fd(c.cfd, POLLIN) & (POLLERR | POLLHUP));
	IB_ASSERT_ERR(ib_net_write(c.cfd, (const uint8_t *)"x", 1, &sent), IB_ERR_IO);
	CU_ASSERT_EQUAL(errno, ECONNRESET);
	CU_ASSERT_EQUAL(sent, 0);
	/* The second write is the one that raises SIGPIPE without MSG_NOSIGNAL. */
	IB_ASSERT_ERR(ib_net_write(c.cfd, (const uint8_t *)"x", 1, &sent), IB_ERR_IO);
	CU_ASSERT_EQUAL(errno, EPIPE);
	conn_close(&c);
	CU_ASSERT(sigaction(SIGPIPE, &old, NULL) == 0);
}

/* A port in use: IB_ERR_IO, and the diag names the address, the call and the reason. */
static void check_listen_twice(const char *host, const char *fmt)
{
	struct ib_diag d;
	char want[NAME_CAP + 64];
	int a = -1, b = -1;
	uint16_t port;

	IB_ASSERT_OK(ib_net_listen(host, 0, &a, &port, &d));
	memset(&d, 0, sizeof d);
	IB_ASSERT_ERR(ib_net_listen(host, port, &b, NULL, &d), IB_ERR_IO);
	CU_ASSERT_EQUAL(b, -1);
	CU_ASSERT_EQUAL(errno, EADDRINUSE);
	snprintf(want, sizeof want, fmt, (unsigned)port);
	strncat(want, ": bind: ", sizeof want - strlen(want) - 1);
	strncat(want, strerror(EADDRINUSE), sizeof want - strlen(want) - 1);
	CU_ASSERT_STRING_EQUAL(d.reason, want);
	ib_net_close(a);
}

/* ---- the cases ------------------------------------------------------------------------- */

#define V4 "127.0.0.1"
#define V6 "::1"

static void test_names_v4(void) { check_names(V4, V4 ":%u"); }
static void test_data_v4(void) { check_data(V4); }
static void test_eof_v4(void) { check_eof(V4); }
static void test_refused_v4(void) { check_refused(V4); }
static void test_reset_no_sigpipe_v4(void) { check_reset(V4); }
static void test_listen_twice_v4(void) { check_listen_twice(V4, V4 ":%u"); }

static void test_names_v6(void)
{
	if (have_ipv6())
		check_names(V6, "[" V6 "]:%u");
}

static void test_data_v6(void)
{
	if (have_ipv6())
		check_data(V6);
}

static void test_eof_v6(void)
{
	if (have_ipv6())
		check_eof(V6);
}

static void test_refused_v6(void)
{
	if (have_ipv6())
		check_refused(V6);
}

static void test_reset_no_sigpipe_v6(void)
{
	if (have_ipv6())
		check_reset(V6);
}

static void test_listen_twice_v6(void)
{
	if (have_ipv6())
		check_listen_twice(V6, "[" V6 "]:%u");
}

/* An accept queue that is full drops SYNs (Linux), so a connect to it stays in progress:
 * connect_result says IB_ERR_AGAIN. The listener here is built by hand with backlog 0,
 * which holds one connection. */
static void test_connect_in_progress(void)
{
	struct ib_diag d;
	struct conn c;
	int second = -1;

	conn_open(&c, V4);
	ib_net_close(c.lfd);
	c.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CU_ASSERT_FATAL(c.lfd >= 0);
	{
		struct sockaddr_in sa = {.sin_family = AF_INET};
		socklen_t len = sizeof sa;

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		CU_ASSERT_FATAL(bind(c.lfd, (struct sockaddr *)&sa, sizeof sa) == 0);
		CU_ASSERT_FATAL(listen(c.lfd, 0) == 0);
		CU_ASSERT_FATAL(getsockname(c.lfd, (struct sockaddr *)&sa, &len) == 0);
		c.port = ntohs(sa.sin_port);
	}
	ib_net_close(c.cfd);
	IB_ASSERT_OK(ib_net_connect(V4, c.port, &c.cfd, &d)); /* fills the queue */
	wait_fd(c.cfd, POLLOUT);
	IB_ASSERT_OK(ib_net_connect_result(c.cfd));
	IB_ASSERT_OK(ib_net_connect(V4, c.port, &second, &d));
	IB_ASSERT_ERR(ib_net_connect_result(second), IB_ERR_AGAIN);
	ib_net_close(second);
	conn_close(&c);
}

/* A dual-stack listener names an IPv4 client as IPv4, not as ::ffff:127.0.0.1. */
static void test_v4_mapped_peer(void)
{
	struct ib_diag d;
	char want[NAME_CAP], peer[NAME_CAP];
	int lfd = -1, cfd = -1, afd = -1;
	uint16_t port, cport;

	if (!have_ipv6())
		return;
	IB_ASSERT_OK(ib_net_listen("::", 0, &lfd, &port, &d));
	IB_ASSERT_OK(ib_net_connect(V4, port, &cfd, &d));
	wait_fd(cfd, POLLOUT);
	if (ib_net_connect_result(cfd) != IB_OK) {
		CU_PASS("the host's IPv6 sockets are IPv6-only: mapped case skipped");
		goto out;
	}
	wait_fd(lfd, POLLIN);
	IB_ASSERT_OK(ib_net_accept(lfd, &afd, peer, sizeof peer));
	IB_ASSERT_OK(ib_net_local_name(cfd, want, sizeof want, &cport));
	CU_ASSERT_STRING_EQUAL(peer, want);
	CU_ASSERT_EQUAL(strncmp(peer, V4 ":", strlen(V4 ":")), 0);
out:
	ib_net_close(lfd);
	ib_net_close(cfd);
	ib_net_close(afd);
}

/* A name goes through the resolver; "localhost" is in /etc/hosts, no DNS involved. */
static void test_listen_on_name(void)
{
	struct ib_diag d;
	char name[NAME_CAP];
	int fd = -1;
	uint16_t port = 0, again = 0;

	IB_ASSERT_OK(ib_net_listen("localhost", 0, &fd, &port, &d));
	IB_ASSERT_OK(ib_net_local_name(fd, name, sizeof name, &again));
	CU_ASSERT_EQUAL(port, again);
	CU_ASSERT(strncmp(name, "127.", 4) == 0 || strncmp(name, "[::1]", 5) == 0);
	ib_net_close(fd);
}

/* Numeric addresses are parsed without a lookup, and a wrong one is an error with a diag. */
static void test_bad_address(void)
{
	struct ib_diag d;
	int fd = -1;

	memset(&d, 0, sizeof d);
	IB_ASSERT_ERR(ib_net_listen("192.0.2.1", 0, &fd, NULL, &d), IB_ERR_IO);
	CU_ASSERT_EQUAL(errno, EADDRNOTAVAIL);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "192.0.2.1:0: bind: "));
	CU_ASSERT_EQUAL(fd, -1);
	IB_ASSERT_ERR(ib_net_connect("", 1, &fd, &d), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_net_accept(-1, &fd, NULL, 0), IB_ERR_IO);
	CU_ASSERT_EQUAL(errno, EBADF);
}

/* [TREE-26] Every address of a name, all on the port the first one took. */
static void test_listen_all_on_name(void)
{
	struct ib_diag d;
	char name[NAME_CAP];
	int fds[8];
	size_t count = 0;
	uint16_t port = 0, again = 0;

	IB_ASSERT_OK(ib_net_listen_all("localhost", 0, fds, 8, &count, &port, &d));
	CU_ASSERT_FATAL(count >= 1);
	CU_ASSERT(port != 0);
	for (size_t i = 0; i < count; i++) {
		IB_ASSERT_OK(ib_net_local_name(fds[i], name, sizeof name, &again));
		CU_ASSERT_EQUAL(port, again);
		ib_net_close(fds[i]);
	}
	IB_ASSERT_ERR(ib_net_listen_all("192.0.2.1", 0, fds, 8, &count, &port, &d), IB_ERR_IO);
	CU_ASSERT_EQUAL(count, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "192.0.2.1:0: bind: "));
}

/* [TREE-25] A name's addresses one by one: a refused one, then the one that listens. */
static void test_connect_each_address(void)
{
	struct ib_net_addrs a;
	struct ib_diag d;
	char name[NAME_CAP];
	int lfd = -1, fd = -1;
	uint16_t port = 0;

	IB_ASSERT_OK(ib_net_listen(V4, 0, &lfd, &port, &d));
	IB_ASSERT_OK(ib_net_resolve(V4, port, &a, &d));
	CU_ASSERT_FATAL(a.count == 1);
	IB_ASSERT_OK(ib_net_addr_name(&a, 0, name, sizeof name));
	CU_ASSERT_PTR_NOT_NULL(strstr(name, "127.0.0.1:"));
	/* A second address that refuses, tried first. */
	a.ss[1] = a.ss[0];
	a.len[1] = a.len[0];
	a.count = 2;
	((struct sockaddr_in *)&a.ss[0])->sin_port = 0;
	if (ib_net_connect_addr(&a, 0, &fd, &d) == IB_OK) {
		CU_ASSERT(wait_fd(fd, POLLOUT) & POLLOUT);
		IB_ASSERT_ERR(ib_net_connect_result(fd), IB_ERR_IO);
		ib_net_close(fd);
	}
	IB_ASSERT_OK(ib_net_connect_addr(&a, 1, &fd, &d));
	CU_ASSERT(wait_fd(fd, POLLOUT) & POLLOUT);
	IB_ASSERT_OK(ib_net_connect_result(fd));
	ib_net_close(fd);
	ib_net_close(lfd);
	IB_ASSERT_ERR(ib_net_connect_addr(&a, 2, &fd, &d), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_net_resolve("", 1, &a, &d), IB_ERR_INVALID_ARG);
}

/* Every descriptor is close-on-exec and non-blocking. */
static void test_flags(void)
{
	struct conn c;
	int fds[3];

	conn_open(&c, V4);
	fds[0] = c.lfd;
	fds[1] = c.cfd;
	fds[2] = c.afd;
	for (int i = 0; i < 3; i++) {
		CU_ASSERT(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
		CU_ASSERT(fcntl(fds[i], F_GETFL) & O_NONBLOCK);
	}
	conn_close(&c);
}

static const struct ib_test_case cases[] = {
    IB_TEST(test_names_v4, ""),
    IB_TEST(test_data_v4, ""),
    IB_TEST(test_eof_v4, ""),
    IB_TEST(test_refused_v4, ""),
    IB_TEST(test_reset_no_sigpipe_v4, ""),
    IB_TEST(test_listen_twice_v4, ""),
    IB_TEST(test_names_v6, ""),
    IB_TEST(test_data_v6, ""),
    IB_TEST(test_eof_v6, ""),
    IB_TEST(test_refused_v6, ""),
    IB_TEST(test_reset_no_sigpipe_v6, ""),
    IB_TEST(test_listen_twice_v6, ""),
    IB_TEST(test_connect_in_progress, ""),
    IB_TEST(test_v4_mapped_peer, ""),
    IB_TEST(test_listen_on_name, ""),
    IB_TEST(test_bad_address, ""),
    IB_TEST(test_listen_all_on_name, ""),
    IB_TEST(test_connect_each_address, ""),
    IB_TEST(test_flags, ""),
    IB_TEST_END};

const struct ib_test_suite ib_suite_net = {"net", NULL, NULL, cases};
