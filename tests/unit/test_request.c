/* The request we send (one SHA-1 CertID, no nonce), the GET URL it travels
 * in (RFC 5019), and the AIA URLs we take from a certificate.  Reads the test
 * PKI from $AS_PKI. */
#include <stdlib.h>

#include <openssl/ocsp.h>
#include <openssl/pem.h>

#include "ocsp.h"
#include "tap.h"

static X509 *pki_cert(const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.pem", getenv("AS_PKI"), name);
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    return x;
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
