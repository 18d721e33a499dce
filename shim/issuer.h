/* issuer.h: finding the certificate that issued a leaf.  Order: certificates
 * the server itself put in a chain (the pool), then the CA bundle
 * (AUTOSTAPLE_CA_FILE), then the leaf's AIA caIssuers URL.  Any candidate
 * must have signed the leaf. */
#ifndef AS_ISSUER_H
#define AS_ISSUER_H

#include <stdatomic.h>

#include <openssl/x509.h>

/* Remember chain certificates as issuer candidates.  Any thread; no I/O;
 * preserves the caller's OpenSSL error queue. */
void as_pool_add(X509 *x);
void as_pool_add_chain(STACK_OF(X509) *chain);

/* Who is told, with no lock held, that the pool took a certificate (the
 * refresher: certificates waiting for their chain look again).  Set once at
 * activation (core.c); nobody before, nor in the command. */
void as_pool_on_added(void (*added)(void));

/* How many certificates the pool has taken so far: a change tells that a
 * search of it may now find more.  Any thread. */
unsigned as_pool_generation(void);

/* The issuer of leaf from the server's own chains, with a reference for
 * the caller, or NULL.  Refresher thread only. */
X509 *as_issuer_from_chain(X509 *leaf);

/* The issuer of leaf with a reference for the caller, or NULL; *source
 * names where it was found.  Refresher thread only: may read the CA file and
 * fetch ca_issuers_url ("" if none), which *stop turning non-zero cuts
 * short. */
X509 *as_issuer_find(X509 *leaf, const char *ca_issuers_url, const atomic_int *stop,
                     const char **source, char *why, size_t whylen);

/* The certificate a caIssuers URL returned (untrusted bytes, at most
 * 64 KiB): DER, or the first one in PEM (RFC 5280 says DER; PEM is common in
 * practice).  NULL if there is none; the caller checks that it issued the
 * leaf (as_is_issuer) and frees it.  Any thread; clears the error queue. */
X509 *as_issuer_parse(const unsigned char *body, size_t len);

void as_pool_prepare(void);
void as_pool_parent(void);
void as_pool_child(void);

#endif
