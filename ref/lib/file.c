/* file.c - whole-file writes that a crash cannot tear: identity files and node.conf now, the
 * data store later. */
#define _GNU_SOURCE /* O_CLOEXEC, strndup under -std=c11 */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "interbot.h"

char *ib_file_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

/* Makes the rename durable; a file system without directory fsync is not an error. */
static void sync_dir_of(const char *path)
{
	char *dir = ib_file_dir_of(path);
	int fd;

	if (!dir)
		return;
	fd = open(dir, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(dir);
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return IB_ERR_IO;
		p += n;
		len -= (size_t)n;
	}
	return IB_OK;
}

int ib_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	size_t n = strlen(path);
	char *tmp = malloc(n + sizeof ".XXXXXX");
	int fd = -1, err = IB_ERR_IO;

	if (!tmp)
		return IB_ERR_NOMEM;
	memcpy(tmp, path, n);
	memcpy(tmp + n, ".XXXXXX", sizeof ".XXXXXX");
	/* mkstemp creates 0600: a private key is never readable by others, even for a moment. */
	fd = mkstemp(tmp);
	if (fd < 0) {
		free(tmp);
		return IB_ERR_IO;
	}
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != IB_OK || fsync(fd) != 0)
		goto out;
	err = close(fd) == 0 ? IB_OK : IB_ERR_IO;
	fd = -1;
	if (!err && rename(tmp, path) != 0)
		err = IB_ERR_IO;
	if (!err)
		sync_dir_of(path);
out:
	if (fd >= 0)
		close(fd);
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
}
