/* ocsp_verify.c: what must hold before a response is stapled, and why:
 *   - responseStatus successful, a BasicOCSPResponse: tryLater and the other
 *     error statuses are unsigned (RFC 6960 2.3), never stapled;
 *   - signed by the issuer, or by a certificate the issuer issued with
 *     id-kp-OCSPSigning (RFC 6960 4.2.2.2): a store holding only the issuer,
 *     partial chains allowed, no flag that loosens the checks; and that
 *     delegate no CA (Firefox's rule);
 *   - no critical extension, in the response or in our SingleResponse
 *     (none is understood; Firefox's rule);
 *   - a SingleResponse for our SHA-1 CertID (curl and others look the staple
 *     up by a SHA-1 CertID, RFC 5019 2.1.1);
 *   - thisUpdate not in the future beyond the skew, nextUpdate not passed,
 *     and no life beyond the caps (a response without nextUpdate: the
 *     caller's maximum age, one day at most, as Firefox; any: the caller's
 *     lifetime, Firefox's 10 days).
 * Order: DER -> responseStatus -> signature and signer -> CertID -> status
 * -> times.  The first failure names the reason. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "ocsp.h"

#define MAX_AGE_WITHOUT_NEXT_UPDATE 86400L

int as_is_issuer(X509 *candidate, X509 *x)
{
    if (X509_check_issued(candidate, x) != X509_V_OK) {
        ERR_clear_error(); /* it may queue some: a key that does not decode, say */
        return 0;
    }
    EVP_PKEY *key = X509_get0_pubkey(candidate);
    int ok = key != NULL && X509_verify(x, key) == 1;
    ERR_clear_error();
    return ok;
}

static int refuse(struct as_verdict *v, int with_ssl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
    va_end(ap);
    if (with_ssl) {
        char errs[256];
        size_t used = strlen(v->reason);
        as_ssl_errors(errs, sizeof(errs));
        if (errs[0] != '\0')
            snprintf(v->reason + used, sizeof(v->reason) - used, " (%s)", errs);
    }
    ERR_clear_error();
    v->ok = 0;
    return 0;
}

static int to_time(const ASN1_GENERALIZEDTIME *t, time_t *out)
{
    struct tm tm;
    if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
        return 0;
    *out = timegm(&tm);
    return 1;
}

/* Signature by the issuer, or by a certificate the issuer issued with
 * OCSPSigning: the issuer is the only trust anchor (partial chain), the
 * issuer is offered to find an issuer-signed response's signer, and no
 * flag loosens the checks (no NOVERIFY, no TRUSTOTHER). */
static int signed_by_authority(OCSP_BASICRESP *bs, X509 *issuer, time_t now)
{
    int ok = 0;
    X509_STORE *store = X509_STORE_new();
    STACK_OF(X509) *certs = sk_X509_new_null();
    if (store == NULL || certs == NULL || !X509_STORE_add_cert(store, issuer) ||
        !sk_X509_push(certs, issuer))
        goto error;
    X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
    X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), now);
    ok = OCSP_basic_verify(bs, certs, store, 0) == 1;
error:
    sk_X509_free(certs);
    X509_STORE_free(store);
    return ok;
}

/* The signer is the issuer, or a delegate that is no CA: mozilla::pkix
 * (Firefox) refuses a delegated signer with CA:TRUE even when it carries
 * OCSPSigning, and with one any sub-CA of the issuer could sign.  Called
 * once the signature has verified. */
static int signer_not_a_ca(OCSP_BASICRESP *bs, X509 *issuer)
{
    X509 *signer = NULL;
    STACK_OF(X509) *extra = sk_X509_new_null();
    int ok = extra != NULL && sk_X509_push(extra, issuer) &&
             OCSP_resp_get0_signer(bs, &signer, extra) == 1 && signer != NULL &&
             (X509_cmp(signer, issuer) == 0 || X509_check_ca(signer) == 0);
    sk_X509_free(extra);
    return ok;
}

/* No extension marked critical in the responseExtensions or in our
 * SingleResponse: none is understood here, and mozilla::pkix refuses a
 * response with a critical extension it does not understand. */
static int no_critical_extension(OCSP_BASICRESP *bs, OCSP_CERTID *id)
{
    for (int i = 0; i < OCSP_BASICRESP_get_ext_count(bs); i++)
        if (X509_EXTENSION_get_critical(OCSP_BASICRESP_get_ext(bs, i)))
            return 0;
    OCSP_SINGLERESP *single = OCSP_resp_get0(bs, OCSP_resp_find(bs, id, -1));
    for (int i = 0; single != NULL && i < OCSP_SINGLERESP_get_ext_count(single); i++)
        if (X509_EXTENSION_get_critical(OCSP_SINGLERESP_get_ext(single, i)))
            return 0;
    return 1;
}

int as_ocsp_verify(const unsigned char *der, size_t len, X509 *leaf, X509 *issuer,
                   time_t now, const struct as_verify_params *p, struct as_verdict *v)
{
    OCSP_RESPONSE *resp = NULL;
    OCSP_BASICRESP *bs = NULL;
    OCSP_CERTID *id = NULL;
    const unsigned char *cursor = der;
    ASN1_GENERALIZEDTIME *this_t = NULL, *next_t = NULL, *rev_t = NULL;

    memset(v, 0, sizeof(*v));
    v->status = -1;

    if (len == 0 || len > 65535 ||
        (resp = d2i_OCSP_RESPONSE(NULL, &cursor, (long)len)) == NULL ||
        cursor != der + len) {
        refuse(v, 1, "not a DER OCSP response (%zu bytes)", len);
        goto done;
    }
    int rs = OCSP_response_status(resp);
    if (rs != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        refuse(v, 0, "responder answered %s", OCSP_response_status_str(rs));
        goto done;
    }
    if ((bs = OCSP_response_get1_basic(resp)) == NULL) {
        refuse(v, 1, "not a basic OCSP response");
        goto done;
    }
    if (!signed_by_authority(bs, issuer, now)) {
        refuse(v, 1, "signature or signer not authorized by the issuer");
        goto done;
    }
    if (!signer_not_a_ca(bs, issuer)) {
        refuse(v, 1, "signed by a delegated responder that is a CA (CA:TRUE)");
        goto done;
    }
    if ((id = OCSP_cert_to_id(EVP_sha1(), leaf, issuer)) == NULL) {
        refuse(v, 1, "cannot build the CertID");
        goto done;
    }
    if (OCSP_resp_find_status(bs, id, &v->status, &v->revocation_reason, &rev_t,
                              &this_t, &next_t) != 1) {
        v->status = -1;
        refuse(v, 0, "response is for another certificate");
        goto done;
    }
    if (!no_critical_extension(bs, id)) {
        refuse(v, 0, "a critical extension that is not understood");
        goto done;
    }
    if (v->status == V_OCSP_CERTSTATUS_UNKNOWN) {
        refuse(v, 0, "certificate status is unknown to the responder");
        goto done;
    }
    if (!to_time(this_t, &v->this_update) || (next_t != NULL && !to_time(next_t, &v->next_update))) {
        refuse(v, 1, "unreadable thisUpdate or nextUpdate");
        goto done;
    }
    if (v->this_update > now + p->skew) {
        refuse(v, 0, "thisUpdate is %lld s in the future", (long long)(v->this_update - now));
        goto done;
    }
    if (next_t != NULL && v->next_update < v->this_update) {
        refuse(v, 0, "nextUpdate precedes thisUpdate");
        goto done;
    }
    /* Without nextUpdate, mozilla::pkix gives a response one day: no
     * longer here, whatever the configured maximum age. */
    long max_age = p->max_age < MAX_AGE_WITHOUT_NEXT_UPDATE ? p->max_age
                                                            : MAX_AGE_WITHOUT_NEXT_UPDATE;
    v->expires = next_t != NULL ? v->next_update : v->this_update + max_age;
    if (v->expires > v->this_update + p->max_lifetime)
        v->expires = v->this_update + p->max_lifetime;
    if (v->expires <= now) {
        refuse(v, 0, "response expired %lld s ago%s", (long long)(now - v->expires),
               next_t != NULL ? "" : " (no nextUpdate: maximum age applied)");
        goto done;
    }
    v->ok = 1;
done:
    OCSP_CERTID_free(id);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
    return v->ok;
}
