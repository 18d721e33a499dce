/* fuzz_response: a responder's answer, as the refresher receives it (the
 * HTTP body), through as_ocsp_verify (shim/ocsp_verify.c) for the test
 * PKI's leaf at FUZZ_NOW.  Input: the body, raw.  Every verdict is checked
 * against fuzz_check_verdict's properties.  A mutated signed response no
 * longer verifies, so the checks after the signature are reached by the
 * seeds and by fuzz_response_signed. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_load_pki();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct as_verdict v;
    int ok = as_ocsp_verify(data, size, fuzz_pki.leaf.cert, fuzz_pki.ca.cert, FUZZ_NOW,
                            &fuzz_params, &v);
    fuzz_check_verdict(data, size, ok, &v, FUZZ_NOW);
    return 0;
}
