/* status_cb.h: the certificate-status callback on every server-capable
 * context (status_cb.c), and the application's own, which it calls first. */
#ifndef AS_STATUS_CB_H
#define AS_STATUS_CB_H

#include <openssl/ssl.h>

#include "boundary.h"

/* Once, before anything else here: real holds the real OpenSSL functions
 * (boundary.h), which this module calls instead of the hooked names; it is
 * copied.  0 if the context's ex_data index cannot be had. */
int as_status_cb_init(const struct as_real *real);

/* Installs ours on ctx, unless it is there. */
void as_status_cb_install(SSL_CTX *ctx);

/* The application sets (or asks for) its own callback on ctx: kept beside
 * ours, which calls it first.  0 if ours is not installed on ctx (the call
 * then goes to OpenSSL). */
int as_status_cb_set(SSL_CTX *ctx, void (*fp)(void));
int as_status_cb_get(SSL_CTX *ctx, void (**fp)(void));

#endif
