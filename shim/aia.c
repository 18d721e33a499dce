/* aia.c: the responder and issuer URLs a certificate names. */
#include <string.h>
#include <strings.h>

#include <openssl/x509v3.h>

#include "ocsp.h"

static int usable_url(const ASN1_IA5STRING *s)
{
    const unsigned char *d = ASN1_STRING_get0_data(s);
    int n = ASN1_STRING_length(s);
    if (n <= 0 || n >= AS_MAX_URL)
        return 0;
    for (int i = 0; i < n; i++)
        if (d[i] <= 0x20 || d[i] >= 0x7f)
            return 0;
    return (n > 7 && strncasecmp((const char *)d, "http://", 7) == 0) ||
           (n > 8 && strncasecmp((const char *)d, "https://", 8) == 0);
}

void as_aia_urls(X509 *x, char ocsp[AS_MAX_URL], char ca_issuers[AS_MAX_URL])
{
    ocsp[0] = ca_issuers[0] = '\0';
    AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
    if (aia == NULL)
        return;
    for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
        ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
        int nid = OBJ_obj2nid(ad->method);
        char *dest = nid == NID_ad_OCSP ? ocsp : nid == NID_ad_ca_issuers ? ca_issuers : NULL;
        if (dest == NULL || dest[0] != '\0' || ad->location->type != GEN_URI ||
            !usable_url(ad->location->d.uniformResourceIdentifier))
            continue;
        const ASN1_IA5STRING *s = ad->location->d.uniformResourceIdentifier;
        memcpy(dest, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
        dest[ASN1_STRING_length(s)] = '\0';
    }
    AUTHORITY_INFO_ACCESS_free(aia);
}
