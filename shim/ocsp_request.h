/* ocsp_request.h: the OCSP request we send, and its GET URL (no I/O, no
 * global state).  Unit-tested. */
#ifndef AS_OCSP_REQUEST_H
#define AS_OCSP_REQUEST_H

#include <stddef.h>
#include <openssl/x509.h>

/* A DER OCSPRequest for (leaf, issuer): one SHA-1 CertID, no nonce.
 * *der is OPENSSL_malloc'd; returns 0 on failure (OpenSSL error queued). */
int as_ocsp_request(X509 *leaf, X509 *issuer, unsigned char **der, size_t *len);

/* base + "/" + urlencode(base64(der)) into out if it fits in RFC 5019's 255
 * bytes; returns 0 if it does not (then POST). */
int as_ocsp_get_url(const char *base, const unsigned char *der, size_t len,
                    char *out, size_t outlen);

#endif
