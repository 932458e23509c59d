/*
 * keylog.c - the TLS key log: the secrets of every handshake of the process, appended to a
 * file in the NSS key log format that Wireshark reads (tls.keylog_file), so that a packet
 * capture of the links can be decrypted. tls.c hands over each line OpenSSL gives it.
 *
 * Whoever reads the file reads every link it covers, so it is opened as a careful daemon
 * opens a secret it writes, on the descriptor it will write to (no window between a check
 * and the open): created with mode 0600, never through a symbolic link, and an existing file
 * is taken only when it is a regular file of this process's user with no permission for
 * group or others and no other name (a hard link planted in a shared directory would
 * otherwise point the secrets, or the appends, at a file of someone else's choosing).
 * An existing file that fails a check is refused, not repaired: its mode says the secrets
 * already there may have been read, which its owner must know.
 */
#include "interbot.h"
#include "keylog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static FILE *keylog;

void ib_keylog_write(const char *line)
{
	/* Flushed per line: a capture is decrypted while the node runs, or after it crashed. */
	if (keylog) {
		fprintf(keylog, "%s\n", line);
		fflush(keylog);
	}
}

/* IB_OK when fd is a file the secrets may go to; else diag names what is wrong. */
static int check_file(int fd, const char *path, struct ib_diag *diag)
{
	struct stat st;
	int err = IB_ERR_IO;

	if (fstat(fd, &st) != 0) {
		ib_diag_set(diag, path, 0, "cannot stat: %s", strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		ib_diag_set(diag, path, 0, "not a regular file");
	} else if (st.st_uid != geteuid()) {
		err = IB_ERR_KEY_PERMS;
		ib_diag_set(diag, path, 0, "owned by uid %u, not by this process's user (uid %u)",
			    (unsigned)st.st_uid, (unsigned)geteuid());
	} else if (st.st_mode & 077) {
		err = IB_ERR_KEY_PERMS;
		ib_diag_set(diag, path, 0,
			    "mode %04o: a key log must give group and others no permission at all "
			    "(chmod 600, after finding out who read it)",
			    (unsigned)(st.st_mode & 07777));
	} else if (st.st_nlink != 1) {
		ib_diag_set(diag, path, 0, "has %lu hard links: a key log has one name",
			    (unsigned long)st.st_nlink);
	} else {
		err = IB_OK;
	}
	return err;
}

int ib_keylog_open(const char *path, struct ib_diag *diag)
{
	FILE *f = NULL;
	int fd = -1;
	int err = IB_ERR_INVALID_ARG;

	if (!path || !*path) {
		ib_diag_set(diag, "", 0, "no key log file named");
		goto out;
	}
	/* O_NONBLOCK: opening a FIFO without a reader would wait forever, and a FIFO is refused
	 * below anyway; it changes nothing for a regular file. */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		err = IB_ERR_IO;
		if (errno == ELOOP)
			ib_diag_set(diag, path, 0, "a symbolic link: a key log is not written "
						   "through one");
		else if (errno == ENXIO)
			ib_diag_set(diag, path, 0, "not a regular file (a FIFO or socket)");
		else
			ib_diag_set(diag, path, 0, "cannot open: %s", strerror(errno));
		goto out;
	}
	err = check_file(fd, path, diag);
	if (err)
		goto out;
	f = fdopen(fd, "a");
	if (!f) {
		err = IB_ERR_IO;
		ib_diag_set(diag, path, 0, "fdopen: %s", strerror(errno));
		goto out;
	}
	fd = -1;
	/* Only now: a refused file leaves the key log before it in place. */
	ib_keylog_close();
	keylog = f;
out:
	if (fd >= 0)
		close(fd);
	return err;
}

void ib_keylog_close(void)
{
	if (keylog)
		fclose(keylog);
	keylog = NULL;
}
