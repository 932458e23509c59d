/*
 * pem.c - the one PEM block (RFC 7468) of a key file: the key files of authorized/
 * ([IFACE-15]) and identity.key ([IFACE-16]). Text before and after the block is RFC 7468's
 * explanatory text; a second block, of any label, makes the file malformed: a reader that took
 * the first block would leave the others out without a word.
 */
#define _GNU_SOURCE /* O_CLOEXEC under -std=c11 */
#include "pem.h"

#include "fault.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The whole file into text; it may hold a private key, so the caller cleanses it. */
static int read_all(int fd, const char *path, struct ib_buf *text, struct ib_diag *diag)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		ib_diag_set(diag, path, 0, "cannot stat: %s", strerror(errno));
		return IB_ERR_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		ib_diag_set(diag, path, 0, "not a regular file");
		return IB_ERR_KEY_FILE;
	}
	while (text->len <= IB_PEM_FILE_MAX) {
		ssize_t got;
		int err = ib_buf_reserve(text, 4096);

		if (err)
			return err;
		got = read(fd, text->ptr + text->len, text->cap - text->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ib_diag_set(diag, path, 0, "cannot read: %s", strerror(errno));
			return IB_ERR_IO;
		}
		if (got == 0)
			break;
		text->len += (size_t)got;
	}
	if (text->len > IB_PEM_FILE_MAX) {
		ib_diag_set(diag, path, 0, "larger than %u bytes: not a key file", IB_PEM_FILE_MAX);
		return IB_ERR_KEY_FILE;
	}
	if (text->len == 0) {
		ib_diag_set(diag, path, 0, "empty: a key file holds one PEM block");
		return IB_ERR_KEY_FILE;
	}
	return IB_OK;
}

/* Whether the last PEM_read_bio failed only for want of another "-----BEGIN" line. */
static bool no_more_blocks(void)
{
	unsigned long e = ERR_peek_last_error();

	return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

/* The one block of text, checked. */
static int one_block(const struct ib_buf *text, const char *path, const char *label,
		     struct ib_buf *der, struct ib_diag *diag)
{
	BIO *bio = BIO_new_mem_buf(text->ptr, (int)text->len);
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long len = 0;
	int err = IB_ERR_KEY_FILE;

	if (!bio)
		return IB_ERR_NOMEM;
	if (PEM_read_bio(bio, &name, &header, &data, &len) != 1) {
		ib_diag_set(diag, path, 0, no_more_blocks() ? "no PEM block (-----BEGIN %s-----)"
							    : "not a PEM block of %s",
			    label);
		goto out;
	}
	if (strcmp(name, label) != 0) {
		ib_diag_set(diag, path, 0, "a PEM block of %s, not %s%s", name, label,
			    strstr(name, "ENCRYPTED") ? " (an encrypted key cannot be read)" : "");
		goto out;
	}
	if (header[0] || len <= 0) {
		ib_diag_set(diag, path, 0, "the PEM block has %s",
			    header[0] ? "headers (an encrypted key?)" : "no contents");
		goto out;
	}
	err = ib_buf_put(der, data, (size_t)len);
	if (err)
		goto out;
	err = IB_ERR_KEY_FILE;
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_clear_free(data, (size_t)len);
	name = header = NULL;
	data = NULL;
	/* FAULT pub-first-block-only, breaks [IFACE-15]: a second block is not looked for. */
	if (IB_FAULT_ENV(pub_first_block_only)) {
		err = IB_OK;
		goto out;
	}
	if (PEM_read_bio(bio, &name, &header, &data, &len) == 1 || !no_more_blocks()) {
		ib_diag_set(diag, path, 0, "more than one PEM block: a key file holds one key");
		goto out;
	}
	err = IB_OK;
out:
	ERR_clear_error();
	OPENSSL_free(name);
	OPENSSL_free(header);
	if (data)
		OPENSSL_clear_free(data, (size_t)len);
	BIO_free(bio);
	if (err)
		ib_buf_reset(der);
	return err;
}

int ib_pem_read_fd(int fd, const char *path, const char *label, struct ib_buf *der,
		   struct ib_diag *diag)
{
	struct ib_buf text = { 0 };
	int err;

	ib_buf_reset(der);
	err = read_all(fd, path, &text, diag);
	if (!err)
		err = one_block(&text, path, label, der, diag);
	if (text.ptr)
		OPENSSL_cleanse(text.ptr, text.cap);
	ib_buf_free(&text);
	return err;
}

int ib_pem_read_one(const char *path, const char *label, struct ib_buf *der,
		    struct ib_diag *diag)
{
	int fd, err;

	if (!path || !label || !der)
		return IB_ERR_INVALID_ARG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ib_diag_set(diag, path, 0, "cannot open: %s", strerror(errno));
		return IB_ERR_IO;
	}
	err = ib_pem_read_fd(fd, path, label, der, diag);
	close(fd);
	return err;
}
