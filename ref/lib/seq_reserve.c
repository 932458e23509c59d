/*
 * seq_reserve.c - [MSG-14] the node's reservation of `seq`: one decimal number and a newline,
 * in the store's directory, replaced whole (file.c) so that a crash leaves the old value or
 * the new one.
 */
#include "seq_reserve.h"

#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* "18446744073709551615\n" and one byte more, to see a longer file. */
#define RESERVE_TEXT_MAX 22

static int path_of(char *path, size_t cap, const char *dir)
{
	int n = snprintf(path, cap, "%s/%s", dir, IB_SEQ_RESERVE_FILE);

	return n < 0 || (size_t)n >= cap ? IB_ERR_RANGE : IB_OK;
}

/* 1 to 20 digits, then one newline, nothing else; no more than 2^64-1. */
static int parse(const char *text, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len < 2 || len > 21 || text[len - 1] != '\n')
		return IB_ERR_CONFIG;
	for (i = 0; i + 1 < len; i++) {
		unsigned d = (unsigned)(text[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return IB_ERR_CONFIG;
		v = v * 10 + d;
	}
	*out = v;
	return IB_OK;
}

int ib_seq_reserve_load(const char *dir, uint64_t *out, struct ib_diag *diag)
{
	char path[4096], text[RESERVE_TEXT_MAX + 1];
	ssize_t got = 0, r;
	int fd = -1, err;

	*out = 0;
	err = path_of(path, sizeof path, dir);
	if (err)
		goto out;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno == ENOENT ? IB_OK : IB_ERR_IO;
		if (err)
			ib_diag_set(diag, path, 0, "cannot read the seq reservation: %s",
				    strerror(errno));
		goto out;
	}
	while ((r = read(fd, text + got, (size_t)(RESERVE_TEXT_MAX + 1 - got))) > 0 &&
	       (got += r) < RESERVE_TEXT_MAX + 1)
		;
	if (r < 0) {
		err = IB_ERR_IO;
		ib_diag_set(diag, path, 0, "cannot read the seq reservation: %s", strerror(errno));
		goto out;
	}
	err = got > RESERVE_TEXT_MAX ? IB_ERR_CONFIG : parse(text, (size_t)got, out);
	if (err)
		ib_diag_set(diag, path, 1, "not a seq reservation (one decimal number of at most 20 "
			    "digits, then a newline) ([MSG-14])");
out:
	if (fd >= 0)
		close(fd);
	return err;
}

int ib_seq_reserve_save(const char *dir, uint64_t value)
{
	char path[4096], text[RESERVE_TEXT_MAX + 1];
	int len, err = path_of(path, sizeof path, dir);

	if (err)
		return err;
	len = snprintf(text, sizeof text, "%llu\n", (unsigned long long)value);
	return ib_file_write_atomic(path, text, (size_t)len, 0600);
}
