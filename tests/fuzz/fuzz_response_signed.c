/* fuzz_response_signed: responses whose content the fuzzer chooses and the
 * target signs, so that mutations reach what as_ocsp_verify checks after
 * the signature (signer authority, CertID, status, times), which a mutated
 * signed response never reaches in fuzz_response.
 *
 * Input: a control byte, a clock byte, then a DER OCSPResponse.  The
 * target decodes it, builds a basic response with the same SingleResponses
 * (CertID, status, the times' own bytes, extensions), response extensions
 * and certificates, signs it (producedAt FUZZ_NOW) and verifies the result
 * for the test PKI's leaf.  (Rebuilt rather than signed again in place:
 * OpenSSL 3.0's OCSP_RESPID_set_by_key overwrites a decoded responderID
 * without freeing it.)
 *
 * The clock byte picks the time of verification, so that the boundaries
 * of the time checks are reached without the fuzzer having to write the
 * exact digits: bits 0-2 an anchor (the leaf's SingleResponse's
 * thisUpdate, nextUpdate, thisUpdate + max_age, thisUpdate + max_lifetime,
 * thisUpdate - skew; otherwise, or if that time cannot be read, FUZZ_NOW),
 * bits 3-7 a delta from -16 to +15 s (0x80: FUZZ_NOW exactly).
 *
 * Control byte: bits 0-2 the signer (0 and 6: the CA, 1 and 7: the
 * delegate, 2: a CA-issued certificate without OCSPSigning, 3: a self-signed
 * impostor with the CA's name, 4: the leaf, 5: a sibling leaf); bit 3:
 * responderID by key hash instead of name; bit 4: do not add the signer's
 * certificate; bit 5: drop the certificates the input carried. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

static ASN1_GENERALIZEDTIME *placeholder; /* a valid time, FUZZ_NOW */
static OCSP_CERTID *leaf_id;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_load_pki();
    if ((placeholder = ASN1_GENERALIZEDTIME_set(NULL, FUZZ_NOW)) == NULL ||
        (leaf_id = OCSP_cert_to_id(EVP_sha1(), fuzz_pki.leaf.cert, fuzz_pki.ca.cert)) == NULL)
        exit(2);
    return 0;
}

static const struct fuzz_party *signer_for(uint8_t ctl)
{
    const struct fuzz_party *signers[8] = {
        &fuzz_pki.ca,   &fuzz_pki.delegate, &fuzz_pki.noeku, &fuzz_pki.rogue,
        &fuzz_pki.leaf, &fuzz_pki.sibling,  &fuzz_pki.ca,    &fuzz_pki.delegate,
    };
    return signers[ctl & 7];
}

/* An unsigned basic response with in's content (certificates if
 * with_certs), producedAt FUZZ_NOW; NULL if OpenSSL will not build it (a
 * revoked status without a time, say). */
static OCSP_BASICRESP *rebuild(OCSP_BASICRESP *in, int with_certs)
{
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    if (bs == NULL)
        return NULL;
    for (int i = 0; i < OCSP_resp_count(in); i++) {
        OCSP_SINGLERESP *one = OCSP_resp_get0(in, i), *copy;
        ASN1_GENERALIZEDTIME *rev_t = NULL, *this_t = NULL, *next_t = NULL;
        int reason = OCSP_REVOKED_STATUS_NOSTATUS;
        int status = OCSP_single_get0_status(one, &reason, &rev_t, &this_t, &next_t);
        /* Valid times first (OpenSSL converts them), then the input's own
         * bytes, which need not be valid times. */
        copy = OCSP_basic_add1_status(bs, (OCSP_CERTID *)OCSP_SINGLERESP_get0_id(one), status,
                                      reason, rev_t ? placeholder : NULL, placeholder,
                                      next_t ? placeholder : NULL);
        ASN1_GENERALIZEDTIME *c_rev = NULL, *c_this = NULL, *c_next = NULL;
        if (copy == NULL)
            goto error;
        OCSP_single_get0_status(copy, NULL, &c_rev, &c_this, &c_next);
        if (!ASN1_STRING_copy(c_this, this_t) || (next_t && !ASN1_STRING_copy(c_next, next_t)) ||
            (rev_t && c_rev && !ASN1_STRING_copy(c_rev, rev_t)))
            goto error;
        for (int e = 0; e < OCSP_SINGLERESP_get_ext_count(one); e++)
            if (!OCSP_SINGLERESP_add_ext(copy, OCSP_SINGLERESP_get_ext(one, e), -1))
                goto error;
    }
    for (int e = 0; e < OCSP_BASICRESP_get_ext_count(in); e++)
        if (!OCSP_BASICRESP_add_ext(bs, OCSP_BASICRESP_get_ext(in, e), -1))
            goto error;
    const STACK_OF(X509) *certs = OCSP_resp_get0_certs(in);
    for (int i = 0; with_certs && i < sk_X509_num(certs); i++)
        if (!OCSP_basic_add1_cert(bs, sk_X509_value(certs, i)))
            goto error;
    if (!ASN1_GENERALIZEDTIME_set((ASN1_GENERALIZEDTIME *)OCSP_resp_get0_produced_at(bs),
                                  FUZZ_NOW))
        goto error;
    return bs;
error:
    OCSP_BASICRESP_free(bs);
    return NULL;
}

/* t in seconds since the epoch, by OpenSSL's arithmetic; 0 if unreadable. */
static int epoch(const ASN1_GENERALIZEDTIME *t, time_t *out)
{
    int days, secs;
    if (t == NULL || !ASN1_TIME_diff(&days, &secs, placeholder, t)) {
        ERR_clear_error();
        return 0;
    }
    *out = FUZZ_NOW + (time_t)days * 86400 + secs;
    return 1;
}

/* The time of verification the clock byte asks for (see the top). */
static time_t clock_for(uint8_t clock, OCSP_BASICRESP *bs)
{
    const struct as_verify_params *p = &fuzz_params;
    time_t now = FUZZ_NOW, this_update, next_update;
    ASN1_GENERALIZEDTIME *this_t = NULL, *next_t = NULL;
    int i = OCSP_resp_find(bs, leaf_id, -1);
    if (i >= 0 && OCSP_single_get0_status(OCSP_resp_get0(bs, i), NULL, NULL, &this_t,
                                          &next_t) >= 0 && epoch(this_t, &this_update)) {
        switch (clock & 7) {
        case 1: now = this_update; break;
        case 2: now = epoch(next_t, &next_update) ? next_update : FUZZ_NOW; break;
        case 3: now = this_update + p->max_age; break;
        case 4: now = this_update + p->max_lifetime; break;
        case 5: now = this_update - p->skew; break;
        }
    }
    return now + (clock >> 3) - 16;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    uint8_t ctl = data[0], clock = data[1];
    const unsigned char *cur = data + 2;
    OCSP_RESPONSE *in = d2i_OCSP_RESPONSE(NULL, &cur, (long)(size - 2));
    OCSP_BASICRESP *bs = in != NULL ? OCSP_response_get1_basic(in) : NULL;
    OCSP_BASICRESP *signed_bs = NULL;
    OCSP_RESPONSE *out = NULL;
    unsigned char *der = NULL;
    if (bs == NULL)
        goto done;

    const struct fuzz_party *signer = signer_for(ctl);
    unsigned long flags = OCSP_NOTIME | (ctl & 0x08 ? OCSP_RESPID_KEY : 0) |
                          (ctl & 0x10 ? OCSP_NOCERTS : 0);
    if ((signed_bs = rebuild(bs, !(ctl & 0x20))) == NULL ||
        !OCSP_basic_sign(signed_bs, signer->cert, signer->key, EVP_sha256(), NULL, flags) ||
        (out = OCSP_response_create(OCSP_response_status(in), signed_bs)) == NULL)
        goto done;
    int len = i2d_OCSP_RESPONSE(out, &der);
    if (len <= 0)
        goto done;

    struct as_verdict v;
    time_t now = clock_for(clock, bs);
    int ok = as_ocsp_verify(der, (size_t)len, fuzz_pki.leaf.cert, fuzz_pki.ca.cert, now,
                            &fuzz_params, &v);
    fuzz_check_verdict(der, (size_t)len, ok, &v, now);
    if (signer != &fuzz_pki.ca && signer != &fuzz_pki.delegate)
        FUZZ_CHECK(!ok);
done:
    OPENSSL_free(der);
    OCSP_RESPONSE_free(out);
    OCSP_BASICRESP_free(signed_bs);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(in);
    ERR_clear_error();
    return 0;
}
