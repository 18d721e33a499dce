/* core.c: the core's entry point and what it does with each hook event.
 * Everything here runs on the application's thread, right after the real
 * OpenSSL call: no I/O, and the caller's OpenSSL error queue is preserved. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "cache.h"
#include "certs.h"
#include "config.h"
#include "core.h"
#include "fetch.h"
#include "issuer.h"
#include "log.h"
#include "ocsp_file.h"
#include "own_dir.h"
#include "persist.h"
#include "refresher.h"
#include "report.h"
#include "status_cb.h"
#include "succession.h"
#include "thread.h"
#include "warm_start.h"

/* The real OpenSSL functions that the hooks shadow (boundary.h). */
static struct as_real as_real_fns;

static const char *real_getenv(const char *name)
{
    return getenv(name);
}

#define MAX_HELD_WARNINGS 32 /* more than there are variables, and 9 for unknown ones */
static char held_warnings[MAX_HELD_WARNINGS][AS_CONFIG_WARNING_MAX];
static int nheld;

static void hold_warning(const char *msg)
{
    if (nheld < MAX_HELD_WARNINGS)
        snprintf(held_warnings[nheld++], sizeof(held_warnings[0]), "%s", msg);
}

/* How often the wait looks whether the process should take the refresh
 * over (its certificates' refresher is gone: refresher.h). */
#define ADOPT_SLICE_NS 50000000L

void as_core_wait_for_first_fetches(const char *moment, int may_take_over)
{
    if (as_config()->startup_wait <= 0)
        return;
    as_registry_lock();
    if (may_take_over)
        as_succession_adopt_locked();
    if (as_registry_unsettled_locked() > 0 && !as_process_stopping()) {
        struct timespec t0, until, slice;
        clock_gettime(CLOCK_REALTIME, &t0);
        until = t0;
        until.tv_sec += as_config()->startup_wait;
        int waiting = as_registry_unsettled_locked();
        for (;;) {
            clock_gettime(CLOCK_REALTIME, &slice);
            if (slice.tv_sec > until.tv_sec ||
                (slice.tv_sec == until.tv_sec && slice.tv_nsec >= until.tv_nsec))
                break;
            slice.tv_nsec += ADOPT_SLICE_NS;
            if (slice.tv_nsec >= 1000000000L) {
                slice.tv_sec++;
                slice.tv_nsec -= 1000000000L;
            }
            if (slice.tv_sec > until.tv_sec ||
                (slice.tv_sec == until.tv_sec && slice.tv_nsec > until.tv_nsec))
                slice = until;
            as_registry_wait_settled_locked(&slice);
            if (may_take_over)
                as_succession_adopt_locked();
            as_cert_settle_held_locked();
            if (as_registry_unsettled_locked() == 0 || as_process_stopping())
                break;
        }
        struct timespec t1;
        clock_gettime(CLOCK_REALTIME, &t1);
        long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (as_registry_unsettled_locked() > 0) {
            as_log(AS_WARN, "%s: %d of %d first OCSP fetches still running after %ld s "
                   "(AUTOSTAPLE_STARTUP_WAIT); serving meanwhile, unstapled until they end",
                   moment, as_registry_unsettled_locked(), waiting, as_config()->startup_wait);
            as_cert_stop_waiting_locked(); /* the next fork does not wait again */
        } else
            as_log(AS_DEBUG, "%s: waited %ld ms for %d first OCSP fetches", moment, ms, waiting);
    }
    as_registry_unlock();
}

static void on_before_serving(void)
{
    as_core_wait_for_first_fetches("before accepting", 1);
}

/* A worker forked by a root master is still root until it drops: it must
 * not take the refresh over on its way out of root's rights. */
static void on_before_dropping_rights(void)
{
    as_core_wait_for_first_fetches("before dropping privileges", 0);
}

static void on_listening(void)
{
    as_succession_succeed();
}

static void on_session_started(void)
{
    as_succession_succeed();
}

/* A process whose real and effective ids differ executes its program in
 * secure-execution mode (AT_SECURE): the dynamic loader ignores LD_PRELOAD
 * there, so the program it runs (a server's worker, exec'd by a master
 * started that way) has no library and staples nothing, whatever this
 * process logs of its own refreshes.  Said once for the process family. */
static void say_if_exec_is_secure(const char *program)
{
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    if (getresuid(&ruid, &euid, &suid) != 0 || getresgid(&rgid, &egid, &sgid) != 0 ||
        (ruid == euid && rgid == egid) || !as_log_first_in_family(AS_NOTE_SECURE_EXEC))
        return;
    as_log(AS_WARN, "executing %s with real uid %d and gid %d but effective uid %d and gid %d: "
           "it runs in secure-execution mode, where the dynamic loader ignores LD_PRELOAD, so "
           "it does not staple; if it serves TLS, give the process equal real and effective "
           "ids (setresuid, not seteuid) before it executes", program, (int)ruid, (int)rgid,
           (int)euid, (int)egid);
}

/* The program is replaced: another process refreshes, and this one's
 * status and metrics files would outlive what they describe under the same
 * pid. */
static void on_before_exec(const char *program)
{
    say_if_exec_is_secure(program);
    as_succession_abdicate();
    as_report_leave();
}

/* The locks a fork must not copy held, taken in lock_order.h's order. */
static void at_fork_prepare(void)
{
    as_report_prepare_rendering();
    as_core_wait_for_first_fetches("before forking", 1);
    as_refresher_prepare();
    as_registry_prepare();
    as_pool_prepare();
    as_report_prepare();
    as_persist_prepare();
    as_own_dir_prepare();
    as_object_map_prepare();
    as_thread_prepare();
}

static void at_fork_parent(void)
{
    as_thread_parent();
    as_object_map_parent();
    as_own_dir_parent();
    as_persist_parent();
    as_report_parent();
    as_pool_parent();
    as_registry_parent();
    as_refresher_parent();
    as_report_release_rendering();
}

static void at_fork_child(void)
{
    as_fetch_child();
    as_thread_child();
    as_object_map_child();
    as_own_dir_child();
    as_persist_child();
    as_report_child();
    as_pool_child();
    as_registry_child();
    as_refresher_child();
    as_succession_child();
    as_report_release_rendering();
}

static void activate(void)
{
    static struct as_config cfg; /* (6 KB: not on the application's stack) */
    as_config_load(&cfg, real_getenv, hold_warning);
    as_config_use(&cfg);
    as_config_unknown(environ, hold_warning);
    as_log_setup(as_config()->log_level, as_config()->log);
    as_cache_configure((size_t)as_config()->max_response, (size_t)as_config()->max_certs);
    as_refresher_set_start_hook(as_core_report_config);
    as_registry_on_due(as_refresher_wake_locked);
    as_pool_on_added(as_refresher_chain_added);
    pthread_atfork(at_fork_prepare, at_fork_parent, at_fork_child);
    atexit(as_refresher_stop);
}

void as_core_activate(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, activate);
}

static void report_config(void)
{
    for (int i = 0; i < nheld; i++)
        as_log(AS_WARN, "%s", held_warnings[i]);
}

void as_core_report_config(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, report_config);
}

static struct as_cert *learn(X509 *leaf, STACK_OF(X509) *chain, STACK_OF(X509) *extra,
                             const char *how)
{
    if (leaf == NULL)
        return NULL;
    as_core_report_config();
    as_pool_add_chain(chain);
    as_pool_add_chain(extra);
    return as_cert_learn(leaf, how, 0);
}

/* The certificates a context loaded (its ex_data), so that freeing the
 * context (a reload) tells which are no longer used. */
struct ctx_certs {
    int n;
    struct as_cert *certs[4]; /* RSA, ECDSA, ...: more than this stay in use */
};
static int ctx_certs_index = -1;

static void on_ctx_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                        void *argp)
{
    (void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
    struct ctx_certs *l = ptr;
    if (l == NULL)
        return;
    int changed = 0;
    for (int i = 0; i < l->n; i++)
        changed |= as_cert_detach(l->certs[i]);
    if (changed)
        as_report_rescheduled(); /* the status file no longer lists them */
    free(l);
}

static void attach(SSL_CTX *ctx, struct as_cert *c)
{
    if (c == NULL)
        return;
    ERR_set_mark();
    struct ctx_certs *l = SSL_CTX_get_ex_data(ctx, ctx_certs_index);
    if (l == NULL && (l = calloc(1, sizeof(*l))) != NULL &&
        !SSL_CTX_set_ex_data(ctx, ctx_certs_index, l)) {
        free(l);
        l = NULL;
    }
    ERR_pop_to_mark();
    if (l == NULL)
        return; /* then c is simply never forgotten */
    for (int i = 0; i < l->n; i++)
        if (l->certs[i] == c)
            return;
    if (l->n < (int)(sizeof(l->certs) / sizeof(l->certs[0]))) {
        l->certs[l->n++] = c;
        if (as_cert_attach(c))
            as_report_rescheduled(); /* the status file lists it again */
    }
}

static void on_ctx_new(SSL_CTX *ctx)
{
    as_core_activate();
    as_status_cb_install(ctx);
}

/* The certificate this thread loaded last, if its saved response waits for
 * its issuer (warm_start.h): servers add the chain just after. */
static __thread struct as_cert *warm_pending;

static void warm(struct as_cert *c)
{
    warm_pending = as_warm_start(c) == AS_WARM_NO_ISSUER ? c : NULL;
}

static void on_ctx_loaded(SSL_CTX *ctx, const struct as_cert_source *src)
{
    STACK_OF(X509) *chain = NULL, *extra = NULL;
    as_real_fns.SSL_CTX_ctrl(ctx, SSL_CTRL_GET_CHAIN_CERTS, 0, &chain);
    as_real_fns.SSL_CTX_ctrl(ctx, SSL_CTRL_GET_EXTRA_CHAIN_CERTS, 1, &extra);
    struct as_cert *c = learn(SSL_CTX_get0_certificate(ctx), chain, extra, "loaded");
    as_ocsp_file_note(c, src);
    attach(ctx, c);
    warm(c);
}

static void on_ssl_loaded(SSL *ssl, const struct as_cert_source *src)
{
    STACK_OF(X509) *chain = NULL;
    as_real_fns.SSL_ctrl(ssl, SSL_CTRL_GET_CHAIN_CERTS, 0, &chain);
    struct as_cert *c = learn(SSL_get_certificate(ssl), chain, NULL, "loaded per connection");
    as_ocsp_file_note(c, src);
    warm(c);
}

static void on_chain_cert(X509 *x)
{
    as_pool_add(x);
    if (warm_pending != NULL)
        warm(warm_pending);
}

static void on_chain_stack(STACK_OF(X509) *chain)
{
    as_pool_add_chain(chain);
    if (warm_pending != NULL)
        warm(warm_pending);
}

static const struct as_core ops = {
    .abi = AS_BOUNDARY_ABI,
    .ctx_new = on_ctx_new,
    .ctx_loaded = on_ctx_loaded,
    .ssl_loaded = on_ssl_loaded,
    .chain_cert = on_chain_cert,
    .chain_stack = on_chain_stack,
    .status_cb_set = as_status_cb_set,
    .status_cb_get = as_status_cb_get,
    .before_serving = on_before_serving,
    .before_dropping_rights = on_before_dropping_rights,
    .listening = on_listening,
    .session_started = on_session_started,
    .before_exec = on_before_exec,
};

__attribute__((visibility("default")))
const struct as_core *as_core_init(const struct as_real *real)
{
    as_real_fns = *real;
    as_log_remember_program();
    if (as_real_fns.SSL_CTX_ctrl == NULL || as_real_fns.SSL_ctrl == NULL ||
        as_real_fns.SSL_CTX_callback_ctrl == NULL || !as_status_cb_init(&as_real_fns))
        return NULL;
    ctx_certs_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, on_ctx_free);
    if (ctx_certs_index < 0)
        return NULL;
    return &ops;
}
