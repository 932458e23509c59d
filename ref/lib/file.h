/* file.h - whole-file writes that a crash cannot tear (internal). */
#ifndef IB_FILE_H
#define IB_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "interbot.h"

/* Replaces path with data[0..len): a temporary file in the same directory, created 0600 and
 * set to mode before a byte is written, fsync'ed, renamed over path, then the directory
 * fsync'ed. A crash leaves the old file or the new one, never a part ([DATA-5] asks the same
 * of the store). IB_OK, IB_ERR_NOMEM or IB_ERR_IO (errno kept); on failure path is unchanged. */
int ib_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* The first half of ib_file_write_atomic: data[0..len) in a new file beside path
 * ("PATH.XXXXXX", created 0600, set to mode), fsync'ed only when flush, closed; *tmp_out its
 * name (malloc'd), NULL on failure. IB_OK, IB_ERR_NOMEM or IB_ERR_IO (errno kept). */
int ib_file_write_temp(const char *path, const void *data, size_t len, mode_t mode, bool flush,
		       char **tmp_out);

/* Makes every file written so far under dir durable: one syncfs of its file system on
 * Linux, else an fsync of each of paths[0..n). IB_OK or IB_ERR_IO (errno kept). */
int ib_file_flush_all(const char *dir, char *const *paths, size_t n);

/* fsync of the directory itself: its renames and unlinks made durable. IB_OK or IB_ERR_IO. */
int ib_file_sync_dir(const char *dir);

/* Deletes path and makes the deletion durable (the directory fsync'ed). A path that does not
 * exist is not an error. IB_OK, IB_ERR_NOMEM or IB_ERR_IO (errno kept). */
int ib_file_remove(const char *path);

/* A list of file names, owned. */
struct ib_names {
	char **v;
	size_t n, cap;
};
void ib_names_free(struct ib_names *ns);
/* Appends a copy of name: IB_OK or IB_ERR_NOMEM. */
int ib_names_push(struct ib_names *ns, const char *name);
/* The names in dir that want() accepts, sorted bytewise, so that loading and the errors it
 * reports are reproducible. IB_ERR_IO with diag (naming dir) when it cannot be read. */
int ib_dir_names(const char *dir, bool (*want)(const char *name), struct ib_names *out,
		 struct ib_diag *diag);

/* The directory part of path ("." for a bare name), malloc'd; NULL without memory. */
char *ib_file_dir_of(const char *path);

#endif
