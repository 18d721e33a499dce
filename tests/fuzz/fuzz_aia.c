/* fuzz_aia: a certificate's Authority Information Access extension, from
 * which the shim takes the URLs it will fetch (as_aia_urls, shim/aia.c),
 * and the GET URL built on the OCSP one (as_ocsp_get_url,
 * shim/ocsp_request.c).
 *
 * Input: byte 0 flags, byte 1 a buffer-size probe, then the extension.
 * Flags: bit 0 clear: the rest is the extension's DER value as is; set: the
 * rest is records (tag, 2-byte big-endian length, bytes) built into an AIA
 * here, so that URLs of any content and length are reached without
 * learning DER (tag bits 0-1: method OCSP, caIssuers, timeStamping,
 * caRepository; bits 2-3: name type URI, DNS, email, URI).  Bit 1: the
 * extension appears twice (then nothing may be used); bit 2: critical.
 * The extension goes into a certificate made here.
 *
 * Checks: both URLs are NUL-terminated inside their AS_MAX_URL buffers
 * (which are heap blocks of exactly that size, so ASan sees any overrun),
 * empty or http(s) with no control characters or spaces, and the first
 * usable entry of each kind; a GET URL is at most 255 bytes and decodes
 * back to the request; with a buffer of any size the function stays
 * inside it and never claims a URL it could not write. */
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#include "aia.h"
#include "fuzz_common.h"
#include "ocsp_request.h"

static unsigned char *request;
static size_t request_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_load_pki();
    if (!as_ocsp_request(fuzz_pki.leaf.cert, fuzz_pki.ca.cert, &request, &request_len))
        exit(2);
    return 0;
}

/* The records of the input as an AIA extension value (DER). */
static int build_aia(const uint8_t *b, size_t n, unsigned char **der)
{
    static const int methods[] = { NID_ad_OCSP, NID_ad_ca_issuers, NID_ad_timeStamping,
                                   NID_caRepository };
    static const int types[] = { GEN_URI, GEN_DNS, GEN_EMAIL, GEN_URI };
    AUTHORITY_INFO_ACCESS *aia = sk_ACCESS_DESCRIPTION_new_null();
    size_t at = 0;
    while (aia != NULL && at + 3 <= n && sk_ACCESS_DESCRIPTION_num(aia) < 64) {
        uint8_t tag = b[at];
        size_t len = (size_t)b[at + 1] << 8 | b[at + 2];
        at += 3;
        if (len > n - at)
            len = n - at;
        ACCESS_DESCRIPTION *ad = ACCESS_DESCRIPTION_new();
        GENERAL_NAME *gn = GENERAL_NAME_new();
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();
        if (ad == NULL || gn == NULL || s == NULL || !ASN1_STRING_set(s, b + at, (int)len)) {
            ACCESS_DESCRIPTION_free(ad);
            GENERAL_NAME_free(gn);
            ASN1_IA5STRING_free(s);
            break;
        }
        GENERAL_NAME_set0_value(gn, types[(tag >> 2) & 3], s);
        ASN1_OBJECT_free(ad->method);
        ad->method = OBJ_nid2obj(methods[tag & 3]);
        GENERAL_NAME_free(ad->location);
        ad->location = gn;
        if (!sk_ACCESS_DESCRIPTION_push(aia, ad))
            ACCESS_DESCRIPTION_free(ad);
        at += len;
    }
    int len = aia != NULL ? i2d_AUTHORITY_INFO_ACCESS(aia, der) : -1;
    AUTHORITY_INFO_ACCESS_free(aia);
    return len;
}

static X509 *cert_with(const unsigned char *ext, int len, int twice, int critical)
{
    X509 *x = X509_new();
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *e = NULL;
    if (x == NULL || os == NULL || !ASN1_OCTET_STRING_set(os, ext, len) ||
        (e = X509_EXTENSION_create_by_NID(NULL, NID_info_access, critical, os)) == NULL ||
        !X509_add_ext(x, e, -1) || (twice && !X509_add_ext(x, e, -1))) {
        X509_free(x);
        x = NULL;
    }
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    return x;
}

/* Written apart from aia.c: what may be fetched. */
static int usable(const unsigned char *d, size_t n)
{
    if (n == 0 || n >= AS_MAX_URL)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (d[i] <= ' ' || d[i] >= 0x7f)
            return 0;
    return (n > 7 && strncasecmp((const char *)d, "http://", 7) == 0) ||
           (n > 8 && strncasecmp((const char *)d, "https://", 8) == 0);
}

static void check_url(const char *url)
{
    const char *end = memchr(url, '\0', AS_MAX_URL);
    FUZZ_CHECK(end != NULL);
    FUZZ_CHECK(url[0] == '\0' || usable((const unsigned char *)url, (size_t)(end - url)));
}

/* The first usable URL for method nid in the extension value, or "". */
static void expected(const unsigned char *ext, int len, int nid, char *out)
{
    const unsigned char *p = ext;
    AUTHORITY_INFO_ACCESS *aia = d2i_AUTHORITY_INFO_ACCESS(NULL, &p, len);
    out[0] = '\0';
    for (int i = 0; aia != NULL && i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
        ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
        if (OBJ_obj2nid(ad->method) != nid || ad->location->type != GEN_URI)
            continue;
        const ASN1_STRING *s = ad->location->d.uniformResourceIdentifier;
        size_t n = (size_t)ASN1_STRING_length(s);
        if (usable(ASN1_STRING_get0_data(s), n)) {
            memcpy(out, ASN1_STRING_get0_data(s), n);
            out[n] = '\0';
            break;
        }
    }
    AUTHORITY_INFO_ACCESS_free(aia);
    ERR_clear_error();
}

/* base, a slash unless it ends with one, and the request base64'd with
 * +, / and = percent-encoded: the GET URL of RFC 5019. */
static void get_url(const char *base, char *out, size_t outlen)
{
    unsigned char b64[512];
    int n = EVP_EncodeBlock(b64, request, (int)request_len);
    size_t used = (size_t)snprintf(out, outlen, "%s%s", base,
                                   base[strlen(base) - 1] == '/' ? "" : "/");
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(out + used, outlen - used, b64[i] == '+' ? "%%2B"
                                 : b64[i] == '/' ? "%%2F" : b64[i] == '=' ? "%%3D" : "%c",
                                 b64[i]);
}

static void check_get_url(const char *base, uint8_t probe)
{
    char want[AS_MAX_URL + 512];
    get_url(base, want, sizeof(want));
    size_t want_len = strlen(want);

    /* As the refresher calls it. */
    char out[AS_MAX_URL + 512];
    int r = as_ocsp_get_url(base, request, request_len, out, sizeof(out));
    FUZZ_CHECK(r == (want_len <= 255));
    FUZZ_CHECK(!r || strcmp(out, want) == 0);

    /* Any buffer: a heap block of exactly outlen bytes. */
    size_t outlen = 1 + (size_t)probe * 8;
    char *small = malloc(outlen);
    FUZZ_CHECK(small != NULL);
    int r2 = as_ocsp_get_url(base, request, request_len, small, outlen);
    FUZZ_CHECK(r2 == (r && want_len < outlen));
    FUZZ_CHECK(!r2 || strcmp(small, want) == 0);
    free(small);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t flags = data[0], probe = data[1];
    unsigned char *built = NULL;
    const unsigned char *ext = data + 2;
    int len = size - 2 > 100000 ? 100000 : (int)(size - 2);
    if ((flags & 1) && (len = build_aia(data + 2, size - 2, &built)) < 0)
        return 0;
    if (flags & 1)
        ext = built;
    X509 *x = cert_with(ext, len, flags & 2, flags & 4 ? 1 : 0);
    if (x == NULL) {
        OPENSSL_free(built);
        return 0;
    }

    char *ocsp = malloc(AS_MAX_URL), *ca = malloc(AS_MAX_URL);
    FUZZ_CHECK(ocsp != NULL && ca != NULL);
    memset(ocsp, 0xa5, AS_MAX_URL);
    memset(ca, 0xa5, AS_MAX_URL);
    as_aia_urls(x, ocsp, ca);
    check_url(ocsp);
    check_url(ca);

    char want[AS_MAX_URL];
    expected(ext, len, NID_ad_OCSP, want);
    FUZZ_CHECK(strcmp(ocsp, (flags & 2) ? "" : want) == 0);
    expected(ext, len, NID_ad_ca_issuers, want);
    FUZZ_CHECK(strcmp(ca, (flags & 2) ? "" : want) == 0);
    if (ocsp[0] != '\0')
        check_get_url(ocsp, probe);

    /* The log's explanation: within any buffer, printable ASCII only (it
     * quotes the URLs: no forged log lines), no OpenSSL error left behind,
     * and nothing to complain about when a usable URL exists. */
    for (int m = 0; m < 2; m++) {
        int method = m ? NID_ad_ca_issuers : NID_ad_OCSP;
        size_t blen = 1 + (size_t)probe * 4;
        char *buf = malloc(blen);
        FUZZ_CHECK(buf != NULL);
        int r = as_aia_explain(x, method, buf, blen);
        FUZZ_CHECK(r == 0 || r == 1);
        FUZZ_CHECK(memchr(buf, '\0', blen) != NULL);
        for (const char *p = buf; *p; p++)
            FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
        FUZZ_CHECK(!(r == 1 && (m ? ca : ocsp)[0] != '\0'));
        FUZZ_CHECK(ERR_peek_error() == 0);
        free(buf);
    }

    free(ocsp);
    free(ca);
    X509_free(x);
    OPENSSL_free(built);
    ERR_clear_error();
    return 0;
}
