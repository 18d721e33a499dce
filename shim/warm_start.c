/* warm_start.c: see warm_start.h. */
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "cache.h"
#include "certs.h"
#include "config.h"
#include "issuer.h"
#include "log.h"
#include "ocsp_verify.h"
#include "persist.h"
#include "refresher.h"
#include "warm_start.h"

enum as_warm as_warm_start(struct as_cert *c)
{
    time_t now = time(NULL);
    /* Verifying clears OpenSSL's error queue, which is the application's:
     * only where it is empty anyway. */
    if (c == NULL || as_config()->cache_dir[0] == '\0' || atomic_load(&c->warm_tried) ||
        as_slot_expires(c->slot, NULL) > now || ERR_peek_error() != 0)
        return AS_WARM_DONE;
    X509 *issuer = as_issuer_from_chain(c->leaf);
    if (issuer == NULL)
        return AS_WARM_NO_ISSUER;
    if (atomic_exchange(&c->warm_tried, 1)) { /* once per certificate and process */
        X509_free(issuer);
        return AS_WARM_DONE;
    }
    unsigned char *der;
    size_t len;
    if (as_persist_load(c->fp, &der, &len)) {
        struct as_verify_params p = as_verify_params_configured(as_config());
        struct as_verdict v;
        if (as_ocsp_verify(der, len, c->leaf, issuer, now, &p, &v) &&
            as_slot_publish(c->slot, der, len, v.status, v.this_update, v.expires) ==
                AS_PUBLISHED)
            as_log(AS_DEBUG, "certificate %s: stapling the response saved in %s from the start",
                   c->name, as_config()->cache_dir);
        free(der);
    }
    X509_free(issuer);
    return AS_WARM_DONE;
}
