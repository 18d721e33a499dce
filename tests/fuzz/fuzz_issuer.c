/* fuzz_issuer: what a caIssuers URL returns when the shim downloads a
 * missing issuer (shim/issuer.c): as_issuer_parse (DER, or the first PEM
 * certificate), then as_is_issuer against the test PKI's leaf and its
 * delegated OCSP signer.
 *
 * Input: the HTTP body (at most 64 KiB, as the fetch caps it).  Checks: the
 * error queue is left empty; a certificate accepted as the issuer carries
 * the CA's public key (no other key signed those certificates, so anything
 * else accepted would be a forgery getting through). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "issuer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_load_pki();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    X509 *x = as_issuer_parse(data, size);
    FUZZ_CHECK(ERR_peek_error() == 0);
    if (x == NULL)
        return 0;
    X509 *subjects[] = { fuzz_pki.leaf.cert, fuzz_pki.delegate.cert };
    for (int i = 0; i < 2; i++) {
        int issued = as_is_issuer(x, subjects[i]);
        FUZZ_CHECK(ERR_peek_error() == 0);
        if (issued) {
            EVP_PKEY *key = X509_get0_pubkey(x);
            FUZZ_CHECK(key != NULL && EVP_PKEY_eq(key, fuzz_pki.ca.key) == 1);
        }
    }
    X509_free(x);
    ERR_clear_error();
    return 0;
}
