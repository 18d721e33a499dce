/* ocsp_verify.h: the checks a response must pass before it may be stapled
 * (docs/design.md, "Verification"; docs/configuration.md, "Failure
 * policy"), and the issuer test they rest on.  No I/O, no global state;
 * unit-tested and fuzzed. */
#ifndef AS_OCSP_VERIFY_H
#define AS_OCSP_VERIFY_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>

struct as_verify_params {
    long skew;          /* seconds a thisUpdate may lie in the future */
    long max_age;       /* life given to a response without nextUpdate */
    long max_lifetime;  /* cap on any response's life after thisUpdate */
};

/* Firefox's cap on a response's life: 10 days after its thisUpdate. */
#define AS_MAX_LIFETIME (10L * 86400)

/* The parameters of a configuration (config.h): its AUTOSTAPLE_SKEW and
 * AUTOSTAPLE_MAX_AGE, and AS_MAX_LIFETIME.  What the refresher, the warm
 * start and autostaple check verify with. */
struct as_config;
struct as_verify_params as_verify_params_configured(const struct as_config *cfg);

/* Why a response is refused, in the order as_ocsp_verify checks; the
 * text of each, the start of as_verdict.reason, in as_refusal_text. */
enum as_refusal {
    AS_NOT_REFUSED = 0,
    AS_REFUSED_NOT_DER,           /* not one DER OCSPResponse (trailing bytes too) */
    AS_REFUSED_UNSUCCESSFUL,      /* responseStatus tryLater, internalError, ... */
    AS_REFUSED_NOT_BASIC,         /* no BasicOCSPResponse */
    AS_REFUSED_SIGNATURE,         /* signature, or a signer the issuer did not authorize */
    AS_REFUSED_SIGNER_IS_CA,      /* a delegated responder with CA:TRUE */
    AS_REFUSED_NO_CERTID,         /* our CertID could not be built */
    AS_REFUSED_OTHER_CERTIFICATE, /* no SingleResponse for our CertID */
    AS_REFUSED_CRITICAL_EXTENSION,
    AS_REFUSED_UNKNOWN,           /* certificate status unknown */
    AS_REFUSED_UNREADABLE_TIMES,
    AS_REFUSED_NOT_YET_VALID,     /* thisUpdate beyond the skew */
    AS_REFUSED_TIMES_REVERSED,    /* nextUpdate before thisUpdate */
    AS_REFUSED_EXPIRED,
    AS_REFUSAL_COUNT
};
extern const char *const as_refusal_text[AS_REFUSAL_COUNT];

struct as_verdict {
    int ok;              /* 1: good or revoked, verified, fresh: may be stapled */
    enum as_refusal refusal; /* AS_NOT_REFUSED if ok */
    int status;          /* V_OCSP_CERTSTATUS_GOOD/REVOKED/UNKNOWN, -1 if none */
    int revocation_reason;
    time_t this_update;
    time_t next_update;  /* 0 if absent */
    time_t expires;      /* when it must stop being stapled */
    char reason[512];    /* as_refusal_text[refusal] and the details, if !ok */
};

/* Checks der as a response for (leaf, issuer) at time now: DER, status
 * successful, basic response, signature by the issuer or by a delegate the
 * issuer certified for OCSPSigning, CertID, certificate status, times.
 * Consumes the calling thread's OpenSSL error queue. */
int as_ocsp_verify(const unsigned char *der, size_t len, X509 *leaf, X509 *issuer,
                   time_t now, const struct as_verify_params *p, struct as_verdict *v);

/* Does candidate issue x (names, key identifiers and signature)?  Leaves
 * the thread's OpenSSL error queue empty. */
int as_is_issuer(X509 *candidate, X509 *x);

/* The first certificate of list that issued leaf (as_is_issuer), with a
 * reference for the caller; NULL if none. */
X509 *as_issuer_in(STACK_OF(X509) *list, X509 *leaf);

#endif
