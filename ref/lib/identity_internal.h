/*
 * identity_internal.h - what the TLS engine needs of the node's identity (internal): the
 * private key as OpenSSL holds it, and the self-signed certificate built in memory
 * ([TLS-3], [TLS-7]).
 */
#ifndef IB_IDENTITY_INTERNAL_H
#define IB_IDENTITY_INTERNAL_H

#include "interbot.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

/* The identity's private key, borrowed: valid while id lives (up-ref it to keep it longer). */
EVP_PKEY *ib_identity_evp(const struct ib_identity *id);
/* A new self-signed certificate of the identity key, CN = cn (as ib_identity_write_cert);
 * the caller frees it with X509_free. NULL on failure (OpenSSL error queue cleared). */
X509 *ib_identity_x509(const struct ib_identity *id, const char *cn);

#endif
