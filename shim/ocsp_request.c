/* ocsp_request.c: the request we send and the URL it travels in. */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>

#include "ocsp_request.h"

int as_ocsp_request(X509 *leaf, X509 *issuer, unsigned char **der, size_t *len)
{
    int ok = 0;
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), leaf, issuer);
    if (req == NULL || id == NULL || OCSP_request_add0_id(req, id) == NULL)
        goto error;
    id = NULL; /* owned by req now */
    unsigned char *out = NULL;
    int n = i2d_OCSP_REQUEST(req, &out);
    if (n <= 0)
        goto error;
    *der = out;
    *len = (size_t)n;
    ok = 1;
error:
    OCSP_CERTID_free(id);
    OCSP_REQUEST_free(req);
    return ok;
}

int as_ocsp_get_url(const char *base, const unsigned char *der, size_t len,
                    char *out, size_t outlen)
{
    static const size_t limit = 255; /* RFC 5019 section 5 */
    unsigned char b64[4 * 256 / 3 + 8];
    if (len > 190)
        return 0; /* base64 alone would pass the limit */
    int n = EVP_EncodeBlock(b64, der, (int)len);
    size_t blen = strlen(base);
    int slash = blen == 0 || base[blen - 1] != '/';
    size_t used = (size_t)snprintf(out, outlen, "%s%s", base, slash ? "/" : "");
    if (used >= outlen)
        return 0; /* base alone does not fit (and out[used] is not ours) */
    for (int i = 0; i < n && used < limit + 1; i++) {
        const char *esc = b64[i] == '+' ? "%2B" : b64[i] == '/' ? "%2F"
                        : b64[i] == '=' ? "%3D" : NULL;
        size_t add = esc ? 3 : 1;
        if (used + add >= outlen)
            return 0;
        if (esc)
            memcpy(out + used, esc, 3);
        else
            out[used] = (char)b64[i];
        used += add;
    }
    out[used] = '\0';
    return used <= limit;
}
