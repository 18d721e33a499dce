/* fuzz_common.h: what the fuzz targets share: the fixed test PKI
 * (fuzz_pki.h, made by mkseeds.sh), the fixed clock, and the properties
 * every verdict of as_ocsp_verify must have, checked independently of the
 * code under test (FUZZ_VERBOSE=1 in the environment prints each verdict).  A broken property aborts, which libFuzzer reports as a
 * crash with the input that caused it. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "fuzz_check.h"
#include "fuzz_pki.h"
#include "ocsp_verify.h"

/* 2026-01-01T00:00:00Z: every target verifies at this time; the seeds'
 * times are set around it (mkseeds.sh reads this line). */
#define FUZZ_NOW 1767225600

/* The production parameters: AUTOSTAPLE_SKEW and AUTOSTAPLE_MAX_AGE
 * defaults, and the refresher's 10-day cap (refresher.c). */
static const struct as_verify_params fuzz_params = { 300, 86400, 10L * 86400 };


struct fuzz_party {
    X509 *cert;
    EVP_PKEY *key;
};

/* ca issued leaf, sibling, delegate (OCSPSigning) and noeku (clientAuth);
 * rogue is self-signed with the CA's name and OCSPSigning. */
static struct {
    struct fuzz_party ca, leaf, sibling, delegate, noeku, rogue;
} fuzz_pki;

static inline void fuzz_load_party(struct fuzz_party *p, const char *pem, const char *key)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    p->cert = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    b = BIO_new_mem_buf(key, -1);
    p->key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (p->cert == NULL || p->key == NULL) {
        fprintf(stderr, "fuzz: cannot read the test PKI (fuzz_pki.h)\n");
        exit(2);
    }
}

/* Loaded once; kept for the process's life (reachable: not a leak). */
static inline void fuzz_load_pki(void)
{
    fuzz_load_party(&fuzz_pki.ca, fuzz_ca_pem, fuzz_ca_key);
    fuzz_load_party(&fuzz_pki.leaf, fuzz_leaf_pem, fuzz_leaf_key);
    fuzz_load_party(&fuzz_pki.sibling, fuzz_sibling_pem, fuzz_sibling_key);
    fuzz_load_party(&fuzz_pki.delegate, fuzz_delegate_pem, fuzz_delegate_key);
    fuzz_load_party(&fuzz_pki.noeku, fuzz_noeku_pem, fuzz_noeku_key);
    fuzz_load_party(&fuzz_pki.rogue, fuzz_rogue_pem, fuzz_rogue_key);
}

/* Does key sign the tbsResponseData of bs?  Computed here, not by OCSP's
 * own verification. */
static inline int fuzz_signed_with(OCSP_BASICRESP *bs, EVP_PKEY *key)
{
    const X509_ALGOR *alg = OCSP_resp_get0_tbs_sigalg(bs);
    const ASN1_OCTET_STRING *sig = OCSP_resp_get0_signature(bs);
    const OCSP_RESPDATA *tbs = OCSP_resp_get0_respdata(bs);
    int ok = ASN1_item_verify(ASN1_ITEM_rptr(OCSP_RESPDATA), (X509_ALGOR *)alg,
                              (ASN1_BIT_STRING *)sig, (void *)tbs, key) == 1;
    ERR_clear_error();
    return ok;
}

/* t against x, by OpenSSL's time arithmetic rather than the shim's: -1
 * before, 0 equal, 1 after; 2 if it cannot tell (x beyond the years a
 * GeneralizedTime holds), which no check rejects. */
static inline int fuzz_time_cmp(const ASN1_TIME *t, time_t x)
{
    int c = ASN1_TIME_cmp_time_t(t, x);
    ERR_clear_error();
    return c == -2 ? 2 : c;
}

/* What as_ocsp_verify's verdict v on der (for the fixture leaf, at now
 * with fuzz_params) must satisfy, whatever der holds. */
static inline void fuzz_check_verdict(const unsigned char *der, size_t len, int ret,
                               const struct as_verdict *v, time_t now)
{
    const struct as_verify_params *p = &fuzz_params;
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (verbose)
        fprintf(stderr, "verdict: %s %s\n", v->ok ? "ok" : "refused",
                v->ok ? OCSP_cert_status_str(v->status) : v->reason);
    FUZZ_CHECK(ret == v->ok && (ret == 0 || ret == 1));
    FUZZ_CHECK(memchr(v->reason, '\0', sizeof(v->reason)) != NULL);
    FUZZ_CHECK(ERR_peek_error() == 0); /* the error queue is consumed */
    if (!v->ok) {
        FUZZ_CHECK(v->reason[0] != '\0'); /* a refusal says why */
        FUZZ_CHECK(v->refusal > AS_NOT_REFUSED && v->refusal < AS_REFUSAL_COUNT);
        FUZZ_CHECK(strncmp(v->reason, as_refusal_text[v->refusal],
                           strlen(as_refusal_text[v->refusal])) == 0);
        return;
    }
    FUZZ_CHECK(v->reason[0] == '\0');
    FUZZ_CHECK(v->refusal == AS_NOT_REFUSED);
    FUZZ_CHECK(v->status == V_OCSP_CERTSTATUS_GOOD || v->status == V_OCSP_CERTSTATUS_REVOKED);
    FUZZ_CHECK(v->expires > now);
    FUZZ_CHECK(v->this_update <= now + p->skew);
    FUZZ_CHECK(v->expires <= v->this_update + p->max_lifetime);
    FUZZ_CHECK(v->next_update == 0 || v->expires <= v->next_update);
    FUZZ_CHECK(v->next_update == 0 || v->next_update >= v->this_update);
    FUZZ_CHECK(v->next_update != 0 || v->expires <= v->this_update + p->max_age);

    /* The same bytes, read again here: a successful basic response,
     * signed by the CA's key or the delegate's (no other key in the test
     * PKI may speak for the CA; no one else can make a certificate the CA
     * signed), with a SingleResponse for the leaf's SHA-1 CertID whose
     * status and times agree. */
    const unsigned char *cur = der;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &cur, (long)len);
    FUZZ_CHECK(resp != NULL && cur == der + len);
    FUZZ_CHECK(OCSP_response_status(resp) == OCSP_RESPONSE_STATUS_SUCCESSFUL);
    OCSP_BASICRESP *bs = OCSP_response_get1_basic(resp);
    FUZZ_CHECK(bs != NULL);
    FUZZ_CHECK(fuzz_signed_with(bs, fuzz_pki.ca.key) ||
               fuzz_signed_with(bs, fuzz_pki.delegate.key));
    if (!fuzz_signed_with(bs, fuzz_pki.ca.key)) {
        /* A certificate for the delegate's key must travel with the
         * response (the verifier is given only the CA's). */
        const STACK_OF(X509) *certs = OCSP_resp_get0_certs(bs);
        int found = 0;
        for (int i = 0; i < sk_X509_num(certs); i++)
            found |= EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(certs, i)),
                                 fuzz_pki.delegate.key) == 1;
        FUZZ_CHECK(found);
    }
    OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), fuzz_pki.leaf.cert, fuzz_pki.ca.cert);
    FUZZ_CHECK(id != NULL);
    int i = OCSP_resp_find(bs, id, -1);
    FUZZ_CHECK(i >= 0);
    ASN1_GENERALIZEDTIME *this_t = NULL, *next_t = NULL;
    int reason = 0;
    int status = OCSP_single_get0_status(OCSP_resp_get0(bs, i), &reason, NULL, &this_t, &next_t);
    FUZZ_CHECK(status == v->status);
    FUZZ_CHECK(this_t != NULL && fuzz_time_cmp(this_t, now + p->skew) != 1);
    FUZZ_CHECK(fuzz_time_cmp(this_t, now - p->max_lifetime) > 0);
    if (next_t != NULL)
        FUZZ_CHECK(fuzz_time_cmp(next_t, now) > 0);
    else
        FUZZ_CHECK(fuzz_time_cmp(this_t, now - p->max_age) > 0);
    OCSP_CERTID_free(id);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
}

#endif
