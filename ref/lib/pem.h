/* pem.h - the one PEM block of a key file (internal): [IFACE-15], [IFACE-16]. */
#ifndef IB_PEM_H
#define IB_PEM_H

#include "interbot.h"

#define IB_PEM_FILE_MAX (64u * 1024u) /* no key file is larger */

/*
 * Reads the file at path (symbolic links followed) and the DER contents of its one PEM block
 * (RFC 7468), which must be labelled label and have no headers, into der (reset first). Text
 * before and after the block is explanatory text; a second block of any label, a file that
 * is not a regular file, is empty or larger than IB_PEM_FILE_MAX are refused.
 * IB_ERR_IO (cannot open or read), IB_ERR_KEY_FILE (anything else), IB_ERR_NOMEM; diag names
 * path and says why.
 */
int ib_pem_read_one(const char *path, const char *label, struct ib_buf *der,
		    struct ib_diag *diag);
/* The same from an open descriptor (not closed here); path is for the diagnostics. */
int ib_pem_read_fd(int fd, const char *path, const char *label, struct ib_buf *der,
		   struct ib_diag *diag);

#endif
