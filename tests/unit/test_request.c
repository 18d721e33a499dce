/* The request we send (one SHA-1 CertID, no nonce), the GET URL it travels
 * in (RFC 5019), and the AIA URLs we take from a certificate.  Reads the test
 * PKI from $AS_PKI. */
#include <stdarg.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "../helpers/pem_file.h"
#include "aia.h"
#include "ocsp_request.h"
#include "ocsp_verify.h"
#include "tap.h"

static X509 *pki_cert(const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.pem", getenv("AS_PKI"), name);
    return pem_read_file(path, 0);
}

/* A certificate (unsigned: only its extensions matter) whose AIA extension
 * holds the (method NID, GeneralName type, bytes, length) entries given,
 * ended by a 0 NID; length -1 means strlen. */
static X509 *with_aia(int nid, ...)
{
    X509 *x = X509_new();
    AUTHORITY_INFO_ACCESS *aia = sk_ACCESS_DESCRIPTION_new_null();
    va_list ap;
    va_start(ap, nid);
    for (; nid != 0; nid = va_arg(ap, int)) {
        int type = va_arg(ap, int);
        const char *bytes = va_arg(ap, const char *);
        int len = va_arg(ap, int);
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();
        ASN1_STRING_set(s, bytes, len);
        ACCESS_DESCRIPTION *ad = ACCESS_DESCRIPTION_new();
        ASN1_OBJECT_free(ad->method);
        ad->method = OBJ_nid2obj(nid);
        GENERAL_NAME_set0_value(ad->location, type, s);
        sk_ACCESS_DESCRIPTION_push(aia, ad);
    }
    va_end(ap);
    X509_add1_ext_i2d(x, NID_info_access, aia, 0, X509V3_ADD_DEFAULT);
    AUTHORITY_INFO_ACCESS_free(aia);
    return x;
}

/* A certificate whose AIA extension holds these bytes. */
static X509 *with_raw_aia(const unsigned char *der, int len, int times)
{
    X509 *x = X509_new();
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(os, der, len);
    for (int i = 0; i < times; i++) {
        X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, OBJ_nid2obj(NID_info_access), 0, os);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    ASN1_OCTET_STRING_free(os);
    return x;
}

static void odd_aia(void)
{
    char ocsp[AS_MAX_URL], issuers[AS_MAX_URL], why[1024];
    const int O = NID_ad_OCSP, I = NID_ad_ca_issuers;
    X509 *x;

    x = with_aia(O, GEN_URI, "ldap://o.test/cn=ocsp", -1, O, GEN_DNS, "o.test", -1,
                 O, GEN_URI, "http://first.test/", -1, O, GEN_URI, "http://second.test/", -1,
                 I, GEN_URI, "ftp://i.test/ca.der", -1, I, GEN_URI, "HTTPS://I.test/ca.der", -1, 0);
    as_aia_urls(x, ocsp, issuers);
    is_str(ocsp, "http://first.test/", "OCSP: unusable entries skipped, then the first http URL");
    is_str(issuers, "HTTPS://I.test/ca.der", "caIssuers: the first https URL, any case");
    ok(as_aia_explain(x, O, why, sizeof(why)) == 0, "nothing to warn about when one is usable");
    is_str(why, "a usable OCSP URL (skipped \"ldap://o.test/cn=ocsp\": not an http:// or "
           "https:// URL; a location: not a URI)", "but the skipped ones are named");
    X509_free(x);

    x = with_aia(O, GEN_URI, "ldap://o.test/", -1, O, GEN_URI, "ftp://o.test/", -1,
                 O, GEN_URI, "file:///etc/passwd", -1, O, GEN_URI, "http://", -1, 0);
    as_aia_urls(x, ocsp, issuers);
    ok(ocsp[0] == '\0' && issuers[0] == '\0', "only other schemes (or a bare http://): no URL");
    ok(as_aia_explain(x, O, why, sizeof(why)) == 1, "worth a warning");
    is_str(why, "no usable OCSP URL (\"ldap://o.test/\": not an http:// or https:// URL; "
           "\"ftp://o.test/\": not an http:// or https:// URL; \"file:///etc/passwd\": not "
           "an http:// or https:// URL; \"http://\": no host)",
           "each one and why: %s", why);
    ok(as_aia_explain(x, I, why, sizeof(why)) == 0, "no caIssuers entry: nothing to warn about");
    is_str(why, "no caIssuers URL", "no caIssuers URL");
    X509_free(x);

    char url[1100];
    memset(url, 'a', sizeof(url));
    memcpy(url, "http://o.test/", 14);
    x = with_aia(O, GEN_URI, url, AS_MAX_URL - 1, 0);
    as_aia_urls(x, ocsp, issuers);
    is_long(strlen(ocsp), AS_MAX_URL - 1, "a 1023-byte URL is used");
    X509_free(x);
    x = with_aia(O, GEN_URI, url, AS_MAX_URL, 0);
    as_aia_urls(x, ocsp, issuers);
    is_str(ocsp, "", "a 1024-byte URL is not");
    as_aia_explain(x, O, why, sizeof(why));
    ok(strstr(why, "\"http://o.test/aaaa") && strstr(why, "aaa...\": longer than 1023 bytes)") &&
       strlen(why) < 200, "and the warning shows its start only: %s", why);
    X509_free(x);

    x = with_aia(O, GEN_URI, url, 1100, O, GEN_URI, url, 1100, O, GEN_URI, url, 1100,
                 O, GEN_URI, url, 1100, O, GEN_URI, url, 1100, O, GEN_URI, url, 1100,
                 O, GEN_URI, url, 1100, O, GEN_URI, url, 1100, O, GEN_URI, url, 1100,
                 O, GEN_URI, url, 1100, O, GEN_URI, "http://o.test/", -1, 0);
    as_aia_urls(x, ocsp, issuers);
    is_str(ocsp, "http://o.test/", "ten over-long URLs, then a usable one: that one");
    int warn = as_aia_explain(x, O, why, sizeof(why));
    ok(warn == 0 && strlen(why) > 700 && strlen(why) < 800,
       "no warning, and the list of skipped ones is cut (%zu bytes)", strlen(why));
    X509_free(x);

    x = with_aia(O, GEN_URI, "http://o.test/a b", -1, O, GEN_URI, "http://o.test/\n\x01", -1,
                 O, GEN_URI, "http://\xc3\xa9.test/", -1, O, GEN_URI, "", 0, 0);
    as_aia_urls(x, ocsp, issuers);
    is_str(ocsp, "", "spaces, control characters, non-ASCII bytes, empty: not used");
    as_aia_explain(x, O, why, sizeof(why));
    is_str(why, "no usable OCSP URL (\"http://o.test/a b\": spaces, control characters or "
           "non-ASCII bytes in it; \"http://o.test/\\x0a\\x01\": spaces, control characters or "
           "non-ASCII bytes in it; \"http://\\xc3\\xa9.test/\": spaces, control characters or "
           "non-ASCII bytes in it; \"\": empty)", "bytes shown escaped: %s", why);
    X509_free(x);

    x = with_aia(O, GEN_URI, "http://[::1]:8080/ocsp", -1, 0);
    as_aia_urls(x, ocsp, issuers);
    is_str(ocsp, "http://[::1]:8080/ocsp", "an IPv6 literal is a URL like any other");
    X509_free(x);

    const unsigned char bad[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
    ERR_clear_error();
    x = with_raw_aia(bad, sizeof(bad), 1);
    as_aia_urls(x, ocsp, issuers);
    ok(ocsp[0] == '\0' && issuers[0] == '\0', "an AIA that does not parse: no URL");
    ok(as_aia_explain(x, O, why, sizeof(why)) == 1, "worth a warning");
    is_str(why, "an AIA extension that does not parse", "which says so");
    is_long(ERR_peek_error(), 0, "and no OpenSSL error is left in the caller's queue");
    X509_free(x);

    const unsigned char good[] = { 0x30, 0x16, 0x30, 0x14, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05,
                                   0x05, 0x07, 0x30, 0x01, 0x86, 0x08, 'h', 't', 't', 'p',
                                   ':', '/', '/', 'o' };
    x = with_raw_aia(good, sizeof(good), 2);
    as_aia_urls(x, ocsp, issuers);
    is_str(ocsp, "", "two AIA extensions: no URL");
    ok(as_aia_explain(x, O, why, sizeof(why)) == 1, "worth a warning");
    is_str(why, "more than one AIA extension", "which says so");
    X509_free(x);
    x = with_raw_aia(good, sizeof(good), 1);
    as_aia_urls(x, ocsp, issuers);
    is_str(ocsp, "http://o", "(the same extension once is fine)");
    X509_free(x);

    x = X509_new();
    ok(as_aia_explain(x, O, why, sizeof(why)) == 0, "no AIA: nothing to warn about");
    is_str(why, "no AIA extension", "no AIA extension");
    X509_free(x);
}

int main(void)
{
    char url[2048], ocsp[AS_MAX_URL], issuers[AS_MAX_URL];
    const unsigned char der[] = { 0x30, 0xfb, 0xff, 0x3e, 0x01 };

    ok(as_ocsp_get_url("http://o.test", der, sizeof(der), url, sizeof(url)),
       "a short request fits a GET");
    is_str(url, "http://o.test/MPv%2FPgE%3D", "base64 is URL-encoded after one slash");
    ok(as_ocsp_get_url("http://o.test/", der, sizeof(der), url, sizeof(url)),
       "a base ending in a slash");
    is_str(url, "http://o.test/MPv%2FPgE%3D", "gets no second slash");

    unsigned char big[180];
    memset(big, 0xfb, sizeof(big));
    ok(!as_ocsp_get_url("http://o.test", big, sizeof(big), url, sizeof(url)),
       "a URL over 255 bytes is refused (then POST)");
    char longbase[300];
    memset(longbase, 'a', sizeof(longbase) - 1);
    memcpy(longbase, "http://", 7);
    longbase[sizeof(longbase) - 1] = '\0';
    ok(!as_ocsp_get_url(longbase, der, sizeof(der), url, sizeof(url)),
       "a long responder URL is refused too");

    odd_aia();

    if (getenv("AS_PKI") == NULL) {
        printf("# AS_PKI not set\n");
        return tap_done() || 1;
    }
    X509 *leaf = pki_cert("leaf-rsa"), *issuer = pki_cert("inter"),
         *noaia = pki_cert("leaf-noaia"), *root = pki_cert("root");
    ok(leaf && issuer && noaia && root, "test PKI readable");

    as_aia_urls(leaf, ocsp, issuers);
    ok(strncmp(ocsp, "http://127.0.0.1:", 17) == 0, "AIA OCSP URL: %s", ocsp);
    ok(strstr(issuers, "/inter.der") != NULL, "AIA caIssuers URL: %s", issuers);
    as_aia_urls(noaia, ocsp, issuers);
    ok(ocsp[0] == '\0' && issuers[0] == '\0', "no AIA, no URLs");

    ok(as_is_issuer(issuer, leaf), "the intermediate issued the leaf");
    ok(!as_is_issuer(root, leaf), "the root did not");
    ok(!as_is_issuer(leaf, leaf), "nor did the leaf itself");

    unsigned char *req = NULL;
    size_t len = 0;
    ok(as_ocsp_request(leaf, issuer, &req, &len) && len > 0, "request built (%zu bytes)", len);
    const unsigned char *p = req;
    OCSP_REQUEST *r = d2i_OCSP_REQUEST(NULL, &p, (long)len);
    ok(r != NULL && p == req + len, "request is DER");
    is_long(OCSP_request_onereq_count(r), 1, "one CertID");
    OCSP_CERTID *want = OCSP_cert_to_id(EVP_sha1(), leaf, issuer);
    ok(OCSP_id_cmp(OCSP_onereq_get0_id(OCSP_request_onereq_get0(r, 0)), want) == 0,
       "a SHA-1 CertID for (leaf, issuer)");
    is_long(OCSP_REQUEST_get_ext_by_NID(r, NID_id_pkix_OCSP_Nonce, -1), -1, "no nonce");
    ok(as_ocsp_get_url("http://127.0.0.1:1/", req, len, url, sizeof(url)),
       "a real request fits a GET (%zu bytes)", strlen(url));
    OCSP_CERTID_free(want);
    OCSP_REQUEST_free(r);
    OPENSSL_free(req);
    X509_free(leaf);
    X509_free(issuer);
    X509_free(noaia);
    X509_free(root);
    return tap_done();
}
