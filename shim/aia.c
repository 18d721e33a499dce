/* aia.c: what a certificate says of its status: the responder and issuer
 * URLs it names, and whether it is Must-Staple. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "aia.h"
#include "log.h"

/* Why an AIA location cannot be fetched from; NULL if it can. */
static const char *unusable(const GENERAL_NAME *location)
{
    if (location->type != GEN_URI)
        return "not a URI";
    const ASN1_IA5STRING *s = location->d.uniformResourceIdentifier;
    const unsigned char *d = ASN1_STRING_get0_data(s);
    int n = ASN1_STRING_length(s);
    if (n <= 0)
        return "empty";
    if (n >= AS_MAX_URL)
        return "longer than 1023 bytes";
    for (int i = 0; i < n; i++)
        if (d[i] <= 0x20 || d[i] >= 0x7f)
            return "spaces, control characters or non-ASCII bytes in it";
    int scheme = n >= 7 && strncasecmp((const char *)d, "http://", 7) == 0   ? 7
                 : n >= 8 && strncasecmp((const char *)d, "https://", 8) == 0 ? 8
                                                                             : 0;
    if (scheme == 0)
        return "not an http:// or https:// URL";
    return n > scheme ? NULL : "no host";
}

/* x's AIA extension, decoded; NULL if it has none or it does not decode.
 * The caller's OpenSSL error queue is left as it was: a malformed extension
 * in a server's certificate must not leave errors behind in the server's
 * thread (SSL_get_error would read them as its own). */
static AUTHORITY_INFO_ACCESS *aia_of(X509 *x, int *crit)
{
    ERR_set_mark();
    AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access, crit, NULL);
    ERR_pop_to_mark();
    return aia;
}

void as_aia_urls(X509 *x, char ocsp[AS_MAX_URL], char ca_issuers[AS_MAX_URL])
{
    ocsp[0] = ca_issuers[0] = '\0';
    AUTHORITY_INFO_ACCESS *aia = aia_of(x, NULL);
    if (aia == NULL)
        return;
    for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
        ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
        int nid = OBJ_obj2nid(ad->method);
        char *dest = nid == NID_ad_OCSP ? ocsp : nid == NID_ad_ca_issuers ? ca_issuers : NULL;
        if (dest == NULL || dest[0] != '\0' || unusable(ad->location) != NULL)
            continue;
        const ASN1_IA5STRING *s = ad->location->d.uniformResourceIdentifier;
        memcpy(dest, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
        dest[ASN1_STRING_length(s)] = '\0';
    }
    AUTHORITY_INFO_ACCESS_free(aia);
}

int as_aia_explain(X509 *x, int method, char *buf, size_t len)
{
    const char *what = method == NID_ad_OCSP ? "OCSP" : "caIssuers";
    int crit = -1;
    AUTHORITY_INFO_ACCESS *aia = aia_of(x, &crit);
    if (aia == NULL) {
        snprintf(buf, len, "%s", crit == -1 ? "no AIA extension"
                                 : crit == -2 ? "more than one AIA extension"
                                              : "an AIA extension that does not parse");
        return crit != -1;
    }
    /* The unusable entries for method, each with what is wrong with it. */
    char list[768] = "";
    size_t used = 0;
    int entries = 0, usable = 0;
    for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
        ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
        if (OBJ_obj2nid(ad->method) != method)
            continue;
        const char *why = unusable(ad->location);
        entries++;
        if (why == NULL) {
            usable++;
            continue;
        }
        char shown[260] = "a location";
        if (ad->location->type == GEN_URI) {
            const ASN1_IA5STRING *s = ad->location->d.uniformResourceIdentifier;
            shown[0] = '"';
            as_log_quote(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s), 60,
                         shown + 1, sizeof(shown) - 2);
            strcat(shown, "\"");
        }
        if (used < sizeof(list) - 1) { /* beyond, the list is cut; the counts go on */
            int n = snprintf(list + used, sizeof(list) - used, "%s%s: %s",
                             used ? "; " : "", shown, why);
            used = n < 0 ? sizeof(list) - 1 : used + (size_t)n;
            if (used > sizeof(list) - 1)
                used = sizeof(list) - 1;
        }
    }
    AUTHORITY_INFO_ACCESS_free(aia);
    if (entries == 0)
        snprintf(buf, len, "no %s URL", what);
    else if (usable == 0)
        snprintf(buf, len, "no usable %s URL (%s)", what, list);
    else
        snprintf(buf, len, "a usable %s URL%s%s%s", what, used ? " (skipped " : "", list,
                 used ? ")" : "");
    return entries > 0 && usable == 0;
}

int as_is_must_staple(X509 *x)
{
    int crit = 0, yes = 0;
    ERR_set_mark();
    STACK_OF(ASN1_INTEGER) *features = X509_get_ext_d2i(x, NID_tlsfeature, &crit, NULL);
    for (int i = 0; features != NULL && i < sk_ASN1_INTEGER_num(features); i++)
        yes |= ASN1_INTEGER_get(sk_ASN1_INTEGER_value(features, i)) == 5; /* status_request */
    sk_ASN1_INTEGER_pop_free(features, ASN1_INTEGER_free);
    ERR_pop_to_mark();
    return yes;
}
