/* issuer.c: see issuer.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "aia.h"
#include "certs.h"
#include "config.h"
#include "fetch.h"
#include "issuer.h"
#include "lock_order.h"
#include "log.h"
#include "ocsp_verify.h"

#define MAX_POOL 4096
#define MAX_ISSUER_SIZE 65536

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static STACK_OF(X509) *pool;        /* under pool_lock */
static atomic_uint pool_generation; /* certificates ever added to the pool */
static STACK_OF(X509) *bundle;      /* refresher only */
static int bundle_loaded;
static void (*on_added)(void); /* as_pool_on_added */

void as_pool_add(X509 *x)
{
    if (x == NULL)
        return;
    ERR_set_mark();
    as_lock(&pool_lock, AS_LOCK_POOL);
    if (pool == NULL)
        pool = sk_X509_new_null();
    int known = 0;
    for (int i = 0; pool != NULL && i < sk_X509_num(pool) && !known; i++)
        known = X509_cmp(sk_X509_value(pool, i), x) == 0;
    int added = 0;
    if (!known && pool != NULL && sk_X509_num(pool) < MAX_POOL && X509_up_ref(x)) {
        added = sk_X509_push(pool, x) > 0;
        if (!added)
            X509_free(x);
        else
            atomic_fetch_add(&pool_generation, 1);
    }
    as_unlock(&pool_lock, AS_LOCK_POOL);
    ERR_pop_to_mark();
    if (added && on_added != NULL)
        on_added();
}

void as_pool_on_added(void (*added)(void))
{
    on_added = added;
}

void as_pool_add_chain(STACK_OF(X509) *chain)
{
    for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++)
        as_pool_add(sk_X509_value(chain, i));
}

unsigned as_pool_generation(void)
{
    return atomic_load(&pool_generation);
}

X509 *as_issuer_from_chain(X509 *leaf)
{
    as_lock(&pool_lock, AS_LOCK_POOL);
    X509 *x = as_issuer_in(pool, leaf);
    as_unlock(&pool_lock, AS_LOCK_POOL);
    return x;
}

/* AUTOSTAPLE_CA_FILE, opened for reading; NULL (logged) if it cannot be.
 * Opened without blocking and refused unless a regular file: a FIFO would
 * hold the refresher forever. */
static BIO *open_bundle(const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    const char *why = fd < 0 ? strerror(errno)
                      : fstat(fd, &st) != 0 ? strerror(errno)
                      : S_ISDIR(st.st_mode) ? "it is a directory"
                      : !S_ISREG(st.st_mode) ? "not a regular file"
                                             : NULL;
    FILE *f = why == NULL ? fdopen(fd, "r") : NULL;
    BIO *in = f != NULL ? BIO_new_fp(f, BIO_CLOSE) : NULL;
    if (in == NULL) {
        if (f != NULL)
            fclose(f);
        else if (fd >= 0)
            close(fd);
        as_log(AS_WARN, "cannot read the CA bundle %s (AUTOSTAPLE_CA_FILE): %s", path,
               why != NULL ? why : "out of memory");
    }
    return in;
}

/* Every certificate in the bundle.  A malformed one is skipped, not taken
 * for the end of the file: the ones after it still count. */
static void load_bundle(void)
{
    bundle_loaded = 1;
    bundle = sk_X509_new_null();
    BIO *in = open_bundle(as_config()->ca_file);
    if (in == NULL)
        return;
    int skipped = 0;
    for (;;) {
        long at = BIO_tell(in);
        X509 *x = PEM_read_bio_X509(in, NULL, NULL, NULL);
        if (x == NULL) {
            unsigned long e = ERR_peek_last_error();
            ERR_clear_error();
            if ((ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) ||
                BIO_tell(in) <= at)
                break; /* the end, or a read error */
            skipped++;
            continue;
        }
        if (bundle == NULL || !sk_X509_push(bundle, x))
            X509_free(x);
    }
    BIO_free(in);
    int n = sk_X509_num(bundle);
    if (skipped > 0)
        as_log(AS_WARN, "CA bundle %s (AUTOSTAPLE_CA_FILE): skipped %d malformed "
               "certificate%s, read %d", as_config()->ca_file, skipped, skipped > 1 ? "s" : "", n);
    else if (n <= 0)
        as_log(AS_WARN, "the CA bundle %s (AUTOSTAPLE_CA_FILE) holds no PEM certificate",
               as_config()->ca_file);
    else
        as_log(AS_DEBUG, "read %d certificates from %s", n, as_config()->ca_file);
}

X509 *as_issuer_parse(const unsigned char *body, size_t len)
{
    const unsigned char *p = body;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL) {
        BIO *b = BIO_new_mem_buf(body, (int)len);
        x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
    }
    ERR_clear_error();
    return x;
}

static X509 *from_aia(X509 *leaf, const char *url, const atomic_int *stop, char *why,
                      size_t whylen)
{
    if (url[0] == '\0') {
        char aia[700];
        as_aia_explain(leaf, NID_ad_ca_issuers, aia, sizeof(aia));
        snprintf(why, whylen, "the certificate has %s", aia);
        return NULL;
    }
    if (!as_config()->fetch_issuer) {
        snprintf(why, whylen, "caIssuers %s not fetched (AUTOSTAPLE_FETCH_ISSUER=0)",
                 url);
        return NULL;
    }
    struct as_http res;
    if (!as_fetch(url, NULL, 0, NULL, MAX_ISSUER_SIZE, as_config()->timeout, stop,
                  &res)) {
        snprintf(why, whylen, "caIssuers %s: %s", url, res.error);
        return NULL;
    }
    X509 *x = NULL;
    if (res.code != 200)
        snprintf(why, whylen, "caIssuers %s: HTTP %ld", url, res.code);
    else if ((x = as_issuer_parse(res.body, res.len)) == NULL)
        snprintf(why, whylen, "caIssuers %s: not a certificate", url);
    else if (!as_is_issuer(x, leaf)) {
        snprintf(why, whylen, "caIssuers %s: that certificate did not issue this one",
                 url);
        X509_free(x);
        x = NULL;
    }
    free(res.body);
    return x;
}

X509 *as_issuer_find(X509 *leaf, const char *ca_issuers_url, const atomic_int *stop,
                     const char **source, char *why, size_t whylen)
{
    X509 *x;
    why[0] = '\0';
    if ((x = as_issuer_from_chain(leaf)) != NULL) {
        *source = "the server's chain";
        return x;
    }
    if (!bundle_loaded)
        load_bundle();
    if ((x = as_issuer_in(bundle, leaf)) != NULL) {
        *source = as_config()->ca_file;
        return x;
    }
    if ((x = from_aia(leaf, ca_issuers_url, stop, why, whylen)) != NULL) {
        *source = ca_issuers_url;
        as_pool_add(x);
        return x;
    }
    return NULL;
}

void as_pool_prepare(void)
{
    as_lock(&pool_lock, AS_LOCK_POOL);
}

void as_pool_parent(void)
{
    as_unlock(&pool_lock, AS_LOCK_POOL);
}

void as_pool_child(void)
{
    as_unlock(&pool_lock, AS_LOCK_POOL);
}
