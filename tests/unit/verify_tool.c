/* verify_tool RESP.der LEAF.pem ISSUER.pem [NOW_OFFSET [MAX_AGE]]: runs the shim's
 * response verification (shim/ocsp_verify.c) on one response and prints the
 * verdict: "ok good|revoked expires_in=N" or "refused: REASON".  Exit 0 only
 * if the response may be stapled.  MAX_AGE: the configured maximum age
 * (AUTOSTAPLE_MAX_AGE), default 86400.  Driven by tests/unit/verify.t. */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/ocsp.h>

#include "../helpers/pem_file.h"
#include "ocsp_verify.h"

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: verify_tool RESP.der LEAF.pem ISSUER.pem [NOW_OFFSET [MAX_AGE]]\n");
        return 2;
    }
    static unsigned char der[200000];
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL)
        return 2;
    size_t len = fread(der, 1, sizeof(der), f);
    fclose(f);
    X509 *leaf = pem_cert_or_exit("verify_tool", argv[2]);
    X509 *issuer = pem_cert_or_exit("verify_tool", argv[3]);
    time_t now = time(NULL) + (argc > 4 ? atol(argv[4]) : 0);
    struct as_verify_params p = { 300, argc > 5 ? atol(argv[5]) : 86400, 10L * 86400 };
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
