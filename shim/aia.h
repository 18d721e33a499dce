/* aia.h: what a certificate says of its status, read from it alone (no
 * I/O, no global state): the responder and issuer URLs of its AIA
 * extension, and whether it is Must-Staple.  Unit-tested and fuzzed. */
#ifndef AS_AIA_H
#define AS_AIA_H

#include <stddef.h>
#include <openssl/x509.h>

#define AS_MAX_URL 1024

/* The first usable OCSP and caIssuers URLs of x's AIA extension: http:// or
 * https://, printable ASCII without spaces, shorter than AS_MAX_URL; others
 * are skipped, and a usable URL that fails is not followed by the next.
 * "" where there is none.  Leaves the OpenSSL error queue as it was. */
void as_aia_urls(X509 *x, char ocsp[AS_MAX_URL], char ca_issuers[AS_MAX_URL]);

/* Does x carry the TLS Feature extension with status_request (RFC 7633,
 * "Must-Staple")?  Clients that honour it (Firefox) refuse a handshake
 * that comes without a staple.  Leaves the OpenSSL error queue as it was. */
int as_is_must_staple(X509 *x);

/* For the log: what x's AIA offers for method (NID_ad_OCSP or
 * NID_ad_ca_issuers), as a phrase that follows "has": "no AIA extension",
 * "an AIA extension that does not parse", "no OCSP URL", "no usable OCSP URL
 * ("ldap://..": not an http:// or https:// URL; ...)", "a usable OCSP URL".
 * Returns 1 if the extension names something for method that cannot be used
 * (an operator would want to know), else 0. */
int as_aia_explain(X509 *x, int method, char *buf, size_t len);

#endif
