/*
 * embed_test.c - a program with its own poll() loop drives the library's loop through
 * ib_loop_prepare and ib_loop_dispatch: descriptors and timers behave as with
 * ib_loop_run_once.
 */
#include "ib_test.h"

#include <poll.h>
#include <string.h>
#include <unistd.h>

static int reads, timers;

static void on_read(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	char buf[16];

	(void)loop;
	(void)arg;
	if ((events & IB_EV_READ) && read(fd, buf, sizeof buf) > 0)
		reads++;
}

static void on_timer(struct ib_loop *loop, void *arg)
{
	(void)loop;
	(void)arg;
	timers++;
}

/* The program's own loop: its descriptor first, then the library's. */
static int foreign_turn(struct ib_loop *loop, int own_fd, bool *own_ready)
{
	struct pollfd fds[16];
	int timeout;
	size_t n;

	fds[0] = (struct pollfd){ .fd = own_fd, .events = POLLIN };
	n = ib_loop_prepare(loop, fds + 1, 15, &timeout);
	CU_ASSERT_FATAL(n <= 15);
	CU_ASSERT_FATAL(poll(fds, n + 1, 0) >= 0);
	*own_ready = fds[0].revents & POLLIN;
	return ib_loop_dispatch(loop, fds + 1, n);
}

static void test_foreign_poll_loop(void)
{
	struct ib_vclock v;
	struct ib_clock c;
	struct ib_loop *loop = NULL;
	int lib_pipe[2], own_pipe[2];
	bool own_ready = false;
	struct pollfd fds[4];
	int timeout = 0;

	ib_vclock_init(&v, 1000);
	c = ib_vclock_clock(&v);
	IB_ASSERT_OK(ib_loop_new(&loop, &c));
	CU_ASSERT_FATAL(pipe(lib_pipe) == 0 && pipe(own_pipe) == 0);
	IB_ASSERT_OK(ib_loop_watch(loop, lib_pipe[0], IB_EV_READ, on_read, NULL));
	IB_ASSERT_OK(ib_loop_timer_add(loop, 5000, on_timer, NULL, NULL));
	reads = timers = 0;

	/* The timeout it asks for is the time to its timer, rounded up to whole ms. */
	CU_ASSERT_EQUAL(ib_loop_prepare(loop, fds, 4, &timeout), 1);
	CU_ASSERT_EQUAL(timeout, 5);
	CU_ASSERT_EQUAL(fds[0].fd, lib_pipe[0]);

	CU_ASSERT(write(lib_pipe[1], "x", 1) == 1);
	CU_ASSERT(write(own_pipe[1], "y", 1) == 1);
	CU_ASSERT_EQUAL(foreign_turn(loop, own_pipe[0], &own_ready), 1);
	CU_ASSERT(own_ready);
	CU_ASSERT_EQUAL(reads, 1);
	CU_ASSERT_EQUAL(timers, 0);

	ib_vclock_advance(&v, 5000);
	CU_ASSERT_EQUAL(foreign_turn(loop, own_pipe[0], &own_ready), 1);
	CU_ASSERT_EQUAL(timers, 1);

	/* A dispatch that does not match the prepared set is refused. */
	ib_loop_prepare(loop, fds, 4, NULL);
	fds[0].fd = own_pipe[0];
	IB_ASSERT_ERR(ib_loop_dispatch(loop, fds, 1), IB_ERR_INVALID_ARG);
	IB_ASSERT_ERR(ib_loop_dispatch(loop, fds, 2), IB_ERR_INVALID_ARG);

	ib_loop_free(loop);
	close(lib_pipe[0]);
	close(lib_pipe[1]);
	close(own_pipe[0]);
	close(own_pipe[1]);
}

static const struct ib_test_case cases[] = {
	IB_TEST(test_foreign_poll_loop, ""),
	IB_TEST_END
};

const struct ib_test_suite ib_suite_embed = { "embed", NULL, NULL, cases };
