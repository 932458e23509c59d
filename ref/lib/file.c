/* file.c - whole-file writes that a crash cannot tear: identity files and node.conf now, the
 * data store later. */
#define _GNU_SOURCE /* O_CLOEXEC, strndup under -std=c11 */
#include "file.h"

#include <dirent.h>
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

int ib_file_write_temp(const char *path, const void *data, size_t len, mode_t mode, bool flush,
		       char **tmp_out)
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
	if (fd < 0)
		goto out;
	if (fchmod(fd, mode) == 0 && write_all(fd, data, len) == IB_OK && (!flush || fsync(fd) == 0))
		err = IB_OK;
	if (close(fd) != 0)
		err = IB_ERR_IO;
	if (err)
		unlink(tmp);
out:
	if (err) {
		free(tmp);
		tmp = NULL;
	}
	*tmp_out = tmp;
	return err;
}

int ib_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = NULL;
	int err = ib_file_write_temp(path, data, len, mode, true, &tmp);

	if (err)
		return err;
	if (rename(tmp, path) != 0) {
		err = IB_ERR_IO;
		unlink(tmp);
	} else {
		sync_dir_of(path);
	}
	free(tmp);
	return err;
}

int ib_file_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_CLOEXEC), err = IB_OK;

	if (fd < 0)
		return IB_ERR_IO;
	/* A file system without directory fsync (EINVAL) loses nothing by it. */
	if (fsync(fd) != 0 && errno != EINVAL)
		err = IB_ERR_IO;
	close(fd);
	return err;
}

int ib_file_flush_all(const char *dir, char *const *paths, size_t n)
{
	int err = IB_OK;
#ifdef __linux__
	int fd = open(dir, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return IB_ERR_IO;
	/* One flush of the file system for every file: what a batch of writes is for. Since
	 * Linux 5.8 it reports a write-back error of any file written since the last call. */
	if (syncfs(fd) != 0)
		err = IB_ERR_IO;
	close(fd);
	(void)paths;
	(void)n;
#else
	(void)dir;
	for (size_t i = 0; !err && i < n; i++) {
		int fd = open(paths[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0 || fsync(fd) != 0)
			err = IB_ERR_IO;
		if (fd >= 0)
			close(fd);
	}
#endif
	return err;
}

int ib_file_remove(const char *path)
{
	if (unlink(path) != 0)
		return errno == ENOENT ? IB_OK : IB_ERR_IO;
	sync_dir_of(path);
	return IB_OK;
}

void ib_names_free(struct ib_names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	ns->v = NULL;
	ns->n = ns->cap = 0;
}

int ib_names_push(struct ib_names *ns, const char *name)
{
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 16;
		char **v;

		if (cap > SIZE_MAX / sizeof *v)
			return IB_ERR_NOMEM;
		v = realloc(ns->v, cap * sizeof *v);
		if (!v)
			return IB_ERR_NOMEM;
		ns->v = v;
		ns->cap = cap;
	}
	ns->v[ns->n] = strdup(name);
	if (!ns->v[ns->n])
		return IB_ERR_NOMEM;
	ns->n++;
	return IB_OK;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ib_dir_names(const char *dir, bool (*want)(const char *name), struct ib_names *out,
		 struct ib_diag *diag)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int err = IB_OK;

	if (!d) {
		ib_diag_set(diag, dir, 0, "cannot open directory: %s", strerror(errno));
		return IB_ERR_IO;
	}
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (!e)
			break;
		if (want(e->d_name)) {
			err = ib_names_push(out, e->d_name);
			if (err)
				break;
		}
	}
	if (!err && errno) {
		ib_diag_set(diag, dir, 0, "cannot read directory: %s", strerror(errno));
		err = IB_ERR_IO;
	}
	closedir(d);
	if (!err && out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, cmp_names);
	return err;
}
