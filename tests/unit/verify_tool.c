/* verify_tool RESP.der LEAF.pem ISSUER.pem [NOW_OFFSET]: runs the shim's
 * response verification (shim/ocsp_verify.c) on one response and prints the
 * verdict: "ok good|revoked expires_in=N" or "refused: REASON".  Exit 0 only
 * if the response may be stapled.  Driven by tests/unit/verify.t. */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/ocsp.h>
#include <openssl/pem.h>

#include "ocsp.h"

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (x == NULL) {
        fprintf(stderr, "verify_tool: cannot read %s\n", path);
        exit(2);
    }
    return x;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: verify_tool RESP.der LEAF.pem ISSUER.pem [NOW_OFFSET]\n");
        return 2;
    }
    static unsigned char der[200000];
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL)
        return 2;
    size_t len = fread(der, 1, sizeof(der), f);
    fclose(f);
    X509 *leaf = read_cert(argv[2]), *issuer = read_cert(argv[3]);
    time_t now = time(NULL) + (argc > 4 ? atol(argv[4]) : 0);
    struct as_verify_params p = { 300, 86400, 10L * 86400 };
    struct as_verdict v;
    int ok = as_ocsp_verify(der, len, leaf, issuer, now, &p, &v);
    if (ok)
        printf("ok %s expires_in=%lld\n", OCSP_cert_status_str(v.status),
               (long long)(v.expires - now));
    else
        printf("refused: %s\n", v.reason);
    X509_free(leaf);
    X509_free(issuer);
    return ok ? 0 : 1;
}
