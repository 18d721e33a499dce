/* status_cb.c: the certificate-status callback installed on every
 * server-capable context.  It never blocks on I/O and, on a server, returns
 * only SSL_TLSEXT_ERR_OK or SSL_TLSEXT_ERR_NOACK unless the application's own
 * callback decided otherwise.  An application that installs its own callback
 * keeps it: ours calls it first and lets its staple win. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

#include "certs.h"
#include "issuer.h"
#include "log.h"
#include "refresher.h"
#include "report.h"
#include "status_cb.h"
#include "succession.h"

typedef int (*status_fn)(SSL *, void *);

static int app_cb_index = -1; /* SSL_CTX ex_data: the application's callback */
static struct as_real real;    /* set once, by as_status_cb_init */

int as_status_cb_init(const struct as_real *fns)
{
    real = *fns;
    app_cb_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    return app_cb_index >= 0;
}

static status_fn app_callback(SSL_CTX *ctx)
{
    void *p = ctx != NULL ? SSL_CTX_get_ex_data(ctx, app_cb_index) : NULL;
    status_fn fn;
    memcpy(&fn, &p, sizeof(fn));
    return fn;
}

static int our_callback(SSL *s, void *arg);

static int installed(SSL_CTX *ctx)
{
    status_fn cb = NULL;
    real.SSL_CTX_ctrl(ctx, SSL_CTRL_GET_TLSEXT_STATUS_REQ_CB, 0, &cb);
    return cb == our_callback;
}

void as_status_cb_install(SSL_CTX *ctx)
{
    if (!installed(ctx))
        real.SSL_CTX_callback_ctrl(ctx, SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB,
                                          (void (*)(void))our_callback);
}

int as_status_cb_set(SSL_CTX *ctx, void (*fp)(void))
{
    if (!installed(ctx))
        return 0;
    void *p;
    memcpy(&p, &fp, sizeof(p));
    ERR_set_mark();
    int ok = SSL_CTX_set_ex_data(ctx, app_cb_index, p);
    ERR_pop_to_mark();
    return ok;
}

int as_status_cb_get(SSL_CTX *ctx, void (**fp)(void))
{
    if (!installed(ctx))
        return 0;
    status_fn fn = app_callback(ctx);
    memcpy(fp, &fn, sizeof(*fp));
    return 1;
}

/* A certificate no hook saw (-Bsymbolic builds):
 * learn it now, with the chain it is served with.  No I/O, not even a log
 * line: the refresher announces it, fetches, and a later handshake staples. */
static struct as_cert *learn_lazily(SSL *s, X509 *leaf)
{
    STACK_OF(X509) *chain = NULL, *extra = NULL;
    real.SSL_ctrl(s, SSL_CTRL_GET_CHAIN_CERTS, 0, &chain);
    real.SSL_CTX_ctrl(SSL_get_SSL_CTX(s), SSL_CTRL_GET_EXTRA_CHAIN_CERTS, 1, &extra);
    as_pool_add_chain(chain);
    as_pool_add_chain(extra);
    return as_cert_learn(leaf, "seen in a handshake", 1);
}

/* A Must-Staple certificate's handshake goes out without a staple: clients
 * that honour it refuse the connection.  Said once per episode (until a
 * handshake is stapled again), at error level: one log line on the
 * handshake's thread, which is otherwise never I/O, but this is an outage. */
static void missed_must_staple(struct as_cert *c)
{
    if (atomic_exchange(&c->must_staple_missed, 1))
        return;
    int saved = errno;
    as_log(AS_ERROR, "certificate %s is Must-Staple and a handshake went out without a "
           "staple (none verified and valid is held): clients that honour Must-Staple, "
           "Firefox among them, refuse the connection; said once until one is stapled "
           "again", c->name);
    errno = saved;
}

static int staple(SSL *s)
{
    X509 *leaf = SSL_get_certificate(s);
    if (leaf == NULL)
        return as_count_unlearned();
    as_succession_watch();
    struct as_cert *c = as_cert_find(leaf);
    if (c == NULL && (c = learn_lazily(s, leaf)) == NULL)
        return as_count_unlearned();
    /* (as_slot_copy counts the handshake in the slot, stapled or not) */
    unsigned char *der;
    size_t len;
    if (!as_slot_copy(c->slot, time(NULL), &der, &len)) {
        if (c->must_staple)
            missed_must_staple(c);
        return SSL_TLSEXT_ERR_NOACK;
    }
    if (c->must_staple && atomic_load_explicit(&c->must_staple_missed, memory_order_relaxed))
        atomic_store_explicit(&c->must_staple_missed, 0, memory_order_relaxed);
    if (real.SSL_ctrl(s, SSL_CTRL_SET_TLSEXT_STATUS_REQ_OCSP_RESP, (long)len, der) <= 0) {
        OPENSSL_free(der);
        return SSL_TLSEXT_ERR_NOACK;
    }
    return SSL_TLSEXT_ERR_OK;
}

static int our_callback(SSL *s, void *arg)
{
    status_fn app = app_callback(SSL_get_SSL_CTX(s));
    if (!SSL_is_server(s))
        return app != NULL ? app(s, arg) : 1; /* as if we were not here */
    if (app != NULL) {
        int rc = app(s, arg);
        if (rc != SSL_TLSEXT_ERR_OK && rc != SSL_TLSEXT_ERR_NOACK)
            return rc; /* the application's decision */
        unsigned char *resp = NULL;
        if (rc == SSL_TLSEXT_ERR_OK &&
            real.SSL_ctrl(s, SSL_CTRL_GET_TLSEXT_STATUS_REQ_OCSP_RESP, 0, &resp) > 0 &&
            resp != NULL)
            return SSL_TLSEXT_ERR_OK; /* the application stapled: it wins */
    }
    return staple(s);
}
