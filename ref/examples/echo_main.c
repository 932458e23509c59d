/*
 * echo_main.c - `interbot-echo DIR`: the example bot as a program. It runs the node of DIR
 * (made by `interbot init`; add echo.say to its `commands`) until SIGTERM or SIGINT.
 */
#define _GNU_SOURCE /* pipe2 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "echo_bot.h"

static int stop_pipe[2] = { -1, -1 };

static void on_signal(int signo)
{
	unsigned char b = (unsigned char)signo;

	if (write(stop_pipe[1], &b, 1) < 0) {
		/* already told */
	}
}

static void on_stop(struct ib_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	*(int *)arg = 1;
}

int main(int argc, char **argv)
{
	struct ib_loop *loop = NULL;
	struct ib_node *node = NULL;
	struct ib_diag diag = { 0 };
	int stop = 0, rc = 1;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: interbot-echo DIR\n");
		return 2;
	}
	if (pipe2(stop_pipe, O_NONBLOCK | O_CLOEXEC) != 0 || signal(SIGTERM, on_signal) == SIG_ERR ||
	    signal(SIGINT, on_signal) == SIG_ERR || ib_loop_new(&loop, ib_clock_system()) != IB_OK)
		goto out;
	signal(SIGPIPE, SIG_IGN);
	if (ib_node_open(&node, loop, argv[1], &diag) != IB_OK ||
	    echo_bot_attach(node) != IB_OK || ib_node_start(node, &diag) != IB_OK) {
		fprintf(stderr, "interbot-echo: %s%s%s\n", diag.file, diag.file[0] ? ": " : "",
			diag.reason);
		goto out;
	}
	ib_loop_watch(loop, stop_pipe[0], IB_EV_READ, on_stop, &stop);
	while (!stop && ib_loop_run_once(loop, -1) >= 0)
		;
	rc = 0;
out:
	ib_node_free(node);
	ib_loop_free(loop);
	return rc;
}
