/* strict_staple.h: what a strict client checks in a stapled OCSP response,
 * and the trust it checks against, shared by the test and benchmark clients
 * (tests/helpers/hammer.c, bench/hsbench.c, bench/scale_client.c).
 * Header-only: include it once. */
#ifndef AS_STRICT_STAPLE_H
#define AS_STRICT_STAPLE_H

#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>

#include "pem_file.h"

/* The trust a strict client brings: the root store, extra untrusted
 * certificates (may be NULL), the served certificate's issuer, and the clock
 * skew it allows on thisUpdate. */
struct strict_trust {
    X509_STORE *store;
    STACK_OF(X509) *untrusted;
    X509 *issuer;
    long skew;
};

/* Loads t: the certificate of the PEM file issuer, both as the served
 * certificate's issuer and as the one untrusted certificate; the store from
 * the PEM file root (NULL: no store, for checks with full 0 only); skew.
 * On failure: "PROG: cannot read a certificate from ISSUER" or "PROG:
 * cannot load ROOT" on stderr, and exit status 2.  strict_trust_free
 * frees what it loads (nothing of a t still zero). */
static inline void strict_trust_load(struct strict_trust *t, const char *prog, const char *root,
                                     const char *issuer, long skew)
{
    t->issuer = pem_cert_or_exit(prog, issuer);
    t->untrusted = sk_X509_new_null();
    sk_X509_push(t->untrusted, t->issuer);
    t->store = NULL;
    if (root != NULL) {
        t->store = X509_STORE_new();
        if (t->store == NULL || X509_STORE_load_file(t->store, root) != 1) {
            fprintf(stderr, "%s: cannot load %s\n", prog, root);
            exit(2);
        }
    }
    t->skew = skew;
}

static inline void strict_trust_free(struct strict_trust *t)
{
    X509_STORE_free(t->store);
    sk_X509_free(t->untrusted);
    X509_free(t->issuer);
}

/* NULL if der (the staple of ssl's handshake) is one a strict client
 * accepts: a successful basic response, signed by the issuer or its
 * delegate (OCSP_basic_verify against the store), holding the served
 * certificate's CertID, good, and valid now; else why not.  With full 0,
 * only the parse and the CertID are checked (no signature, status or
 * time).  Leaves OpenSSL's error queue empty. */
static const char *strict_staple_problem(SSL *ssl, const unsigned char *der, long len,
                                         const struct strict_trust *t, int full)
{
    const unsigned char *p = der;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, len);
    OCSP_BASICRESP *bs = NULL;
    OCSP_CERTID *id = NULL;
    X509 *peer = SSL_get0_peer_certificate(ssl);
    ASN1_GENERALIZEDTIME *thisupd, *nextupd;
    int status, reason;
    const char *why = NULL;

    if (resp == NULL || p != der + len)
        why = "not a DER OCSP response";
    else if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
        why = "response status not successful";
    else if ((bs = OCSP_response_get1_basic(resp)) == NULL)
        why = "no basic response";
    else if (full && OCSP_basic_verify(bs, t->untrusted, t->store, 0) <= 0)
        why = "signature or signer does not verify";
    else if (peer == NULL || (id = OCSP_cert_to_id(NULL, peer, t->issuer)) == NULL)
        why = "no peer certificate";
    else if (!OCSP_resp_find_status(bs, id, &status, &reason, NULL, &thisupd, &nextupd))
        why = "no single response for the served certificate";
    else if (full && status != V_OCSP_CERTSTATUS_GOOD)
        why = "certificate status is not good";
    else if (full && !OCSP_check_validity(thisupd, nextupd, t->skew, -1))
        why = "response not valid now";
    OCSP_CERTID_free(id);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
    return why;
}

#endif
