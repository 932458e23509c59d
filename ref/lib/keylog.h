/* keylog.h - the TLS key log's writer (internal; ib_keylog_open in interbot.h opens it). */
#ifndef IB_KEYLOG_H
#define IB_KEYLOG_H

/* Appends one line of the NSS key log format (OpenSSL's keylog callback gives it without the
 * newline) to the key log, and flushes it; with no key log open it does nothing. */
void ib_keylog_write(const char *line);

#endif
