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

#include "config.h"
#include "log.h"
#include "ocsp_verify.h"

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

X509 *as_issuer_in(STACK_OF(X509) *list, X509 *leaf)
{
    for (int i = 0; list != NULL && i < sk_X509_num(list); i++) {
        X509 *candidate = sk_X509_value(list, i);
        if (as_is_issuer(candidate, leaf) && X509_up_ref(candidate))
            return candidate;
    }
    return NULL;
}

const char *const as_refusal_text[AS_REFUSAL_COUNT] = {
    [AS_NOT_REFUSED] = "",
    [AS_REFUSED_NOT_DER] = "not a DER OCSP response",
    [AS_REFUSED_UNSUCCESSFUL] = "responder answered",
    [AS_REFUSED_NOT_BASIC] = "not a basic OCSP response",
    [AS_REFUSED_SIGNATURE] = "signature or signer not authorized by the issuer",
    [AS_REFUSED_SIGNER_IS_CA] = "signed by a delegated responder that is a CA (CA:TRUE)",
    [AS_REFUSED_NO_CERTID] = "cannot build the CertID",
    [AS_REFUSED_OTHER_CERTIFICATE] = "response is for another certificate",
    [AS_REFUSED_CRITICAL_EXTENSION] = "a critical extension that is not understood",
    [AS_REFUSED_UNKNOWN] = "certificate status is unknown to the responder",
    [AS_REFUSED_UNREADABLE_TIMES] = "unreadable thisUpdate or nextUpdate",
    [AS_REFUSED_NOT_YET_VALID] = "thisUpdate in the future",
    [AS_REFUSED_TIMES_REVERSED] = "nextUpdate precedes thisUpdate",
    [AS_REFUSED_EXPIRED] = "response expired",
};

/* Refuses for why: its text, then the details (detail, a format), then
 * OpenSSL's queued errors if with_ssl.  Returns 0. */
__attribute__((format(printf, 4, 5)))
static int refuse_with(struct as_verdict *v, enum as_refusal why, int with_ssl, const char *detail,
                       ...)
{
    va_list ap;
    v->refusal = why;
    int used = snprintf(v->reason, sizeof(v->reason), "%s", as_refusal_text[why]);
    va_start(ap, detail);
    if (used >= 0 && (size_t)used < sizeof(v->reason))
        vsnprintf(v->reason + used, sizeof(v->reason) - (size_t)used, detail, ap);
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

static int refuse(struct as_verdict *v, enum as_refusal why, int with_ssl)
{
    return refuse_with(v, why, with_ssl, "%s", "");
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
        refuse_with(v, AS_REFUSED_NOT_DER, 1, " (%zu bytes)", len);
        goto done;
    }
    int rs = OCSP_response_status(resp);
    if (rs != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        refuse_with(v, AS_REFUSED_UNSUCCESSFUL, 0, " %s", OCSP_response_status_str(rs));
        goto done;
    }
    if ((bs = OCSP_response_get1_basic(resp)) == NULL) {
        refuse(v, AS_REFUSED_NOT_BASIC, 1);
        goto done;
    }
    if (!signed_by_authority(bs, issuer, now)) {
        refuse(v, AS_REFUSED_SIGNATURE, 1);
        goto done;
    }
    if (!signer_not_a_ca(bs, issuer)) {
        refuse(v, AS_REFUSED_SIGNER_IS_CA, 1);
        goto done;
    }
    if ((id = OCSP_cert_to_id(EVP_sha1(), leaf, issuer)) == NULL) {
        refuse(v, AS_REFUSED_NO_CERTID, 1);
        goto done;
    }
    if (OCSP_resp_find_status(bs, id, &v->status, &v->revocation_reason, &rev_t,
                              &this_t, &next_t) != 1) {
        v->status = -1;
        refuse(v, AS_REFUSED_OTHER_CERTIFICATE, 0);
        goto done;
    }
    if (!no_critical_extension(bs, id)) {
        refuse(v, AS_REFUSED_CRITICAL_EXTENSION, 0);
        goto done;
    }
    if (v->status == V_OCSP_CERTSTATUS_UNKNOWN) {
        refuse(v, AS_REFUSED_UNKNOWN, 0);
        goto done;
    }
    if (!to_time(this_t, &v->this_update) || (next_t != NULL && !to_time(next_t, &v->next_update))) {
        refuse(v, AS_REFUSED_UNREADABLE_TIMES, 1);
        goto done;
    }
    if (v->this_update > now + p->skew) {
        refuse_with(v, AS_REFUSED_NOT_YET_VALID, 0, " by %lld s", (long long)(v->this_update - now));
        goto done;
    }
    if (next_t != NULL && v->next_update < v->this_update) {
        refuse(v, AS_REFUSED_TIMES_REVERSED, 0);
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
        refuse_with(v, AS_REFUSED_EXPIRED, 0, " %lld s ago%s", (long long)(now - v->expires),
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

struct as_verify_params as_verify_params_configured(const struct as_config *cfg)
{
    return (struct as_verify_params){ cfg->skew, cfg->max_age, AS_MAX_LIFETIME };
}
