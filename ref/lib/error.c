/* error.c - names and sentences for enum ib_err, and configuration diagnostics. */
#include "interbot.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct err_entry {
	const char *name;
	const char *text;
};

/* Indexed by -err. The short names are the ones vectors and logs use. */
static const struct err_entry err_table[IB_ERR__COUNT] = {
	[0] = { "ok", "success" },
	[-IB_ERR_NOMEM] = { "nomem", "out of memory" },
	[-IB_ERR_INVALID_ARG] = { "invalid_arg", "invalid argument" },
	[-IB_ERR_TRUNCATED] = { "truncated", "fewer bytes than the field or frame needs" },
	[-IB_ERR_TRAILING] = { "trailing", "bytes left after the last field" },
	[-IB_ERR_BAD_STRING] = { "bad_string", "string is not UTF-8 or holds U+0000" },
	[-IB_ERR_RANGE] = { "range", "field value out of range" },
	[-IB_ERR_BAD_SIG_LEN] = { "bad_signature_length", "signature_length is not 64" },
	[-IB_ERR_TOO_BIG] = { "too_big", "message_length above max_message" },
	[-IB_ERR_UNKNOWN_ORIGIN] = { "unknown_origin", "id_bot not in the keyring" },
	[-IB_ERR_BAD_SIGNATURE] = { "bad_signature", "signature does not verify" },
	[-IB_ERR_BAD_VERSION] = { "unsupported_version", "message version is not 1" },
	[-IB_ERR_RESERVED_TYPE] = { "reserved_type", "message type 0x00 or 0x80-0xff" },
	[-IB_ERR_HOP_DEST] = { "hop_dest", "hop-local message with dest set" },
	[-IB_ERR_REPLAY] = { "replay", "sequence number already seen or too old" },
	[-IB_ERR_IO] = { "io", "input/output error" },
	[-IB_ERR_KEY_FILE] = { "key_file", "key file does not parse" },
	[-IB_ERR_KEY_PERMS] = { "key_perms", "private key is readable by group or others" },
	[-IB_ERR_NOT_ED25519] = { "not_ed25519", "key is not Ed25519" },
	[-IB_ERR_DUPLICATE_ID] = { "duplicate_id", "two keys share one id_bot" },
	[-IB_ERR_CRYPTO] = { "crypto", "OpenSSL operation failed" },
	[-IB_ERR_STALE] = { "stale_command", "command sequence number too far from the clock" },
	[-IB_ERR_NOT_FOUND] = { "not_found", "not found" },
	[-IB_ERR_CONFIG] = { "config", "configuration error" },
	[-IB_ERR_BAD_ARGS] = { "bad_args", "command arguments do not decode" },
	[-IB_ERR_NOT_PUBLISH] = { "not_publish", "embedded frame is not a PUBLISH of the key" },
	[-IB_ERR_AGAIN] = { "again", "operation would block" },
	[-IB_ERR_CLOSED] = { "closed", "the peer closed the connection" },
	[-IB_ERR_HANDSHAKE] = { "handshake_failed", "TLS handshake failed" },
	[-IB_ERR_NOT_AUTHORIZED] = { "not_authorized", "the peer's key is not authorized" },
	[-IB_ERR_FULL] = { "full", "a bound was reached" },
	[-IB_ERR_NO_DEST] = { "no_dest", "directed message type with dest all zero" },
};

static const struct err_entry *err_lookup(int err)
{
	static const struct err_entry unknown = { "unknown_error", "unknown error" };

	if (err > 0 || err <= -IB_ERR__COUNT || !err_table[-err].name)
		return &unknown;
	return &err_table[-err];
}

const char *ib_strerror(int err)
{
	return err_lookup(err)->text;
}

const char *ib_errname(int err)
{
	return err_lookup(err)->name;
}

void ib_diag_set(struct ib_diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (!d)
		return;
	snprintf(d->file, sizeof d->file, "%s", file ? file : "");
	d->line = line;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof d->reason, fmt, ap);
	va_end(ap);
}
