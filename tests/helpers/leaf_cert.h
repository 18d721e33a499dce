/* leaf_cert.h: a server certificate issued by a test CA, for the
 * benchmarks' certificate makers (bench/mkleaves.c, bench/scale_certs.c).
 * Header-only: include it once. */
#ifndef AS_LEAF_CERT_H
#define AS_LEAF_CERT_H

#include <stdio.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

/* What differs from one certificate, and one maker, to another. */
struct leaf_spec {
    const char *name;         /* the CN and the subjectAltName's DNS name */
    unsigned char serial[8];  /* big-endian: the caller keeps it positive and unique */
    long days;                /* valid from an hour ago for this many days */
    const char *ocsp_url;     /* in an AIA extension; NULL for none */
    int authority_key_id;     /* with an authorityKeyIdentifier (keyid:always) */
};

static inline int leaf_cert_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok = e != NULL && X509_add_ext(x, e, -1);

    X509_EXTENSION_free(e);
    return ok;
}

/* A certificate as s says, for the public key of key, issued by ca and
 * signed with cakey (SHA-256): version 3; basicConstraints critical
 * CA:FALSE, keyUsage critical digitalSignature, extendedKeyUsage
 * serverAuth, subjectAltName, then the authorityKeyIdentifier and AIA if s
 * asks for them.  Owned by the caller (X509_free); NULL on failure
 * (OpenSSL's error queue says why). */
static inline X509 *leaf_cert_issue(const struct leaf_spec *s, EVP_PKEY *key, X509 *ca,
                                    EVP_PKEY *cakey)
{
    char value[1200];
    X509 *x = X509_new();
    BIGNUM *bn = BN_bin2bn(s->serial, sizeof(s->serial), NULL);
    X509V3_CTX ctx;
    int ok = x != NULL && bn != NULL && X509_set_version(x, X509_VERSION_3) &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
             X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                                        (const unsigned char *)s->name, -1, -1, 0) &&
             X509_set_issuer_name(x, X509_get_subject_name(ca)) &&
             X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
             X509_gmtime_adj(X509_getm_notAfter(x), s->days * 86400) != NULL &&
             X509_set_pubkey(x, key);

    BN_free(bn);
    if (ok) {
        X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
        snprintf(value, sizeof(value), "DNS:%s", s->name);
        ok = leaf_cert_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") &&
             leaf_cert_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") &&
             leaf_cert_ext(x, &ctx, NID_ext_key_usage, "serverAuth") &&
             leaf_cert_ext(x, &ctx, NID_subject_alt_name, value);
    }
    if (ok && s->authority_key_id)
        ok = leaf_cert_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
    if (ok && s->ocsp_url != NULL) {
        snprintf(value, sizeof(value), "OCSP;URI:%s", s->ocsp_url);
        ok = leaf_cert_ext(x, &ctx, NID_info_access, value);
    }
    if (ok && !X509_sign(x, cakey, EVP_sha256()))
        ok = 0;
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

#endif
