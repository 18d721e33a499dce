/* refresher.c: see refresher.h.  A fetch thread holds as_registry_lock only
 * while choosing the next certificate; fetching and verifying happen with
 * no lock held, and the result is published through the certificate's slot
 * (cache.h).  Everything under "Refresher thread only" in certs.h belongs to
 * the thread that took the certificate (one at a time: a taken certificate
 * is out of the order until it is put back).  State shared by the threads
 * (the CA bundle, libcurl's set-up) is only touched under the fork guard,
 * which one thread holds at a time. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ocsp.h>

#include "certs.h"
#include "config.h"
#include "fetch.h"
#include "issuer.h"
#include "log.h"
#include "ocsp.h"
#include "ocsp_file.h"
#include "persist.h"
#include "refresher.h"
#include "report.h"
#include "sanitized.h"
#include "schedule.h"
#include "thread.h"

#define MAX_LIFETIME (10L * 86400) /* Firefox's cap on a response's life */
/* Servers add their chain after the certificate: give them this long before
 * looking for the issuer anywhere else. */
#define CHAIN_GRACE 2
atomic_int as_stopping;
/* Fetch threads: one started with the first certificate to fetch, more
 * while certificates wait and every thread is busy, up to
 * AUTOSTAPLE_MAX_FETCHES; they stay (idle) until the process exits.  Under
 * as_registry_lock. */
static int threads;
static pthread_t tids[64];             /* AUTOSTAPLE_MAX_FETCHES at most */
static int idle;                       /* threads waiting for work */
static time_t watch_until;             /* the earliest time one of them waits for, 0 if none */
static pthread_mutex_t fork_guard = PTHREAD_MUTEX_INITIALIZER;
static int guard_taken_for_fork;

static void guard_enter(void)
{
    pthread_mutex_lock(&fork_guard);
}

static void guard_leave(void)
{
    pthread_mutex_unlock(&fork_guard);
}

/* Under a sanitizer the guard is kept while waiting too (sanitized.h):
 * libcurl's resolver thread may be inside the runtime's allocator. */
static void let_forks_wait_only_for_steps(void)
{
    if (!AS_SANITIZED)
        as_fetch_set_wait_hooks(guard_leave, guard_enter);
}

static double uniform(void)
{
    static __thread unsigned long long state;
    if (state == 0 && getrandom(&state, sizeof(state), GRND_NONBLOCK) != sizeof(state))
        state = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32);
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (double)(state >> 11) / 9007199254740992.0;
}

static void fmt_time(time_t t, char *buf, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* FNV-1a, never 0: tells a failure from the last one without keeping its
 * text. */
static unsigned long long hash_of(const char *s)
{
    unsigned long long h = 14695981039346656037ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h != 0 ? h : 1;
}

/* A failed attempt: log it unless it repeats the last one; keep any good
 * response; back off.  kind is its reason for the metrics (report.h). */
static time_t failed_at(struct as_cert *c, time_t now, const char *why,
                        enum as_fail_reason kind, int level);

static time_t failed(struct as_cert *c, time_t now, const char *why, enum as_fail_reason kind)
{
    return failed_at(c, now, why, kind, AS_WARN);
}

/* failed, logged at level (repeats at debug). */
static time_t failed_at(struct as_cert *c, time_t now, const char *why,
                        enum as_fail_reason kind, int first_level)
{
    if (atomic_load(&as_stopping))
        return 0; /* the process exits: an exchange cut short is no news */
    as_report_failed(c, kind, why);
    unsigned long long h = hash_of(why);
    c->failures++;
    time_t held = as_slot_expires(c->slot, NULL);
    time_t at = as_next_retry(now, c->failures, as_cfg.retry_min, as_cfg.retry_max,
                              held, uniform());
    int level = c->last_error != h ? first_level : AS_DEBUG;
    char until[32];
    fmt_time(held, until, sizeof(until));
    as_log(level, "certificate %s: OCSP from %s failed: %s; %s%s; retrying in %lld s",
           c->name, as_cert_responder(c), why,
           held > now ? "keeping the last good response until " : "no staple",
           held > now ? until : "", (long long)(at - now));
    c->last_error = h;
    return at;
}

static time_t published(struct as_cert *c, time_t now, const struct as_verdict *v,
                        const char *source)
{
    char this_s[32], next_s[32];
    fmt_time(v->this_update, this_s, sizeof(this_s));
    fmt_time(v->expires, next_s, sizeof(next_s));
    time_t at = as_next_refresh(now, v->this_update, v->expires, uniform());
    /* A response already past its earliest refresh point (40 % of its
     * window) when it arrives (a responder or a cache that keeps serving an
     * old one) would be asked for again every second until it lapses: back
     * off instead, as after a failure, and still try once shortly before it
     * lapses.  (A fresh one with a window of seconds is refreshed within
     * one, as it should.) */
    if (now > v->this_update + (v->expires - v->this_update) * 2 / 5)
        at = as_next_retry(now, ++c->stale, as_cfg.retry_min, as_cfg.retry_max, v->expires,
                           uniform());
    else
        c->stale = 0;
    if (v->status == V_OCSP_CERTSTATUS_REVOKED)
        as_log(AS_ERROR, "certificate %s is REVOKED (reason %d) according to %s; "
               "stapling the revocation", c->name, v->revocation_reason, source);
    else
        as_log(c->stapled && c->failures == 0 ? AS_DEBUG : AS_INFO,
               "certificate %s: stapling a good response from %s (thisUpdate %s, "
               "valid until %s%s; next refresh in %lld s)", c->name, source,
               this_s, next_s, v->next_update ? "" : " by AUTOSTAPLE_MAX_AGE: no nextUpdate",
               (long long)(at - now));
    c->stapled = 1;
    c->failures = 0;
    c->last_error = 0;
    return at;
}

/* Stores der, verified as v, as c's staple and tells the status and
 * metrics files (fetched: 1 if it came from the responder, 0 from the cache
 * directory or a response file).  Returns what the slot made of it
 * (cache.h: it refuses to go back in time, or from revoked to good). */
static enum as_publish publish(struct as_cert *c, const unsigned char *der, size_t len,
                               const struct as_verdict *v, int fetched)
{
    enum as_publish r = as_slot_publish(c->slot, der, len, v->status, v->this_update,
                                        v->expires);
    if (r == AS_PUBLISHED)
        as_report_published(c, der, len, v, fetched);
    return r;
}

/* A fetched response the slot refused (publish): why, and when to try
 * again.  Going from revoked back to good is an error: the responder
 * contradicts itself, or someone replays an old answer. */
static time_t refused(struct as_cert *c, time_t now, enum as_publish r,
                      const struct as_verdict *v)
{
    char this_s[32], held_s[32], why[300];
    time_t held_this = 0;
    as_slot_expires(c->slot, &held_this);
    fmt_time(v->this_update, this_s, sizeof(this_s));
    if (r == AS_PUBLISH_TOO_LARGE)
        return failed(c, now, "response larger than the cache's slots", AS_FAIL_INTERNAL);
    if (r == AS_PUBLISH_AFTER_REVOKED) {
        fmt_time(as_slot_revoked_at(c->slot), held_s, sizeof(held_s));
        snprintf(why, sizeof(why), "refusing a good response (thisUpdate %s): the certificate "
                 "was answered REVOKED (thisUpdate %s), and a revocation is not undone: a "
                 "responder error or a replay; restart the server to accept good again",
                 this_s, held_s);
        return failed_at(c, now, why, AS_FAIL_VERIFY, AS_ERROR);
    }
    fmt_time(held_this, held_s, sizeof(held_s));
    snprintf(why, sizeof(why), "refusing a response older than the one held (thisUpdate %s, "
             "held %s): a replay, or a cache or responder serving an old copy", this_s, held_s);
    return failed(c, now, why, AS_FAIL_VERIFY);
}

struct as_verify_params as_verify_params_configured(void)
{
    return (struct as_verify_params){ as_cfg.skew, as_cfg.max_age, MAX_LIFETIME };
}

/* The checks of der as a response for c, at now (ocsp_verify.c), with the
 * configured skew and ages. */
static int verify(const struct as_cert *c, const unsigned char *der, size_t len, time_t now,
                  struct as_verdict *v)
{
    struct as_verify_params p = as_verify_params_configured();
    return as_ocsp_verify(der, len, c->leaf, c->issuer, now, &p, v);
}

static time_t fetch_and_verify(struct as_cert *c, time_t now)
{
    unsigned char *req = NULL;
    size_t reqlen = 0;
    char url[AS_MAX_URL + 512], why[600];
    struct as_http res;

    if (!as_ocsp_request(c->leaf, c->issuer, &req, &reqlen)) {
        as_log_ssl(AS_ERROR, "certificate %s: cannot build an OCSP request", c->name);
        return failed(c, now, "cannot build an OCSP request", AS_FAIL_INTERNAL);
    }
    as_report_request_sent(c);
    const char *responder = as_cert_responder(c);
    int get = as_ocsp_get_url(responder, req, reqlen, url, sizeof(url));
    int ok = as_fetch_ocsp(responder, get ? url : NULL, req, reqlen, as_cfg.timeout,
                           &as_stopping, &res);
    OPENSSL_free(req);
    if (!ok)
        return failed(c, time(NULL), res.error,
                      res.failure == AS_FETCH_NO_CONNECTION ? AS_FAIL_CONNECT
                      : res.failure == AS_FETCH_TIMED_OUT   ? AS_FAIL_TIMEOUT
                                                            : AS_FAIL_TRANSFER);
    if (res.code != 200) {
        free(res.body);
        snprintf(why, sizeof(why), "HTTP status %ld", res.code);
        return failed(c, time(NULL), why, AS_FAIL_HTTP);
    }

    struct as_verdict v;
    now = time(NULL);
    if (!verify(c, res.body, res.len, now, &v)) {
        free(res.body);
        snprintf(why, sizeof(why), "response refused: %s", v.reason);
        return failed(c, now, why, as_fail_reason_of_verdict(&v));
    }
    enum as_publish r = publish(c, res.body, res.len, &v, 1);
    if (r == AS_PUBLISHED)
        as_persist_save(c->fp, res.body, res.len);
    free(res.body);
    if (r != AS_PUBLISHED)
        return refused(c, now, r, &v);
    return published(c, now, &v, as_cert_responder(c));
}

/* A response saved by an earlier run (or another server), verified again
 * like any other.  Returns 1 and sets *at if it is stapled. */
static int from_cache(struct as_cert *c, time_t now, time_t *at)
{
    unsigned char *der;
    size_t len;
    if (!as_persist_load(c->fp, &der, &len))
        return 0;
    struct as_verdict v;
    if (!verify(c, der, len, now, &v)) {
        as_log(AS_INFO, "certificate %s: not using the saved response in %s: %s", c->name,
               as_cfg.cache_dir, v.reason);
        free(der);
        as_persist_drop(c->fp);
        return 0;
    }
    int stored = publish(c, der, len, &v, 0) == AS_PUBLISHED;
    free(der);
    if (!stored)
        return 0;
    *at = published(c, now, &v, "the cache directory");
    return 1;
}

/* The response another process saved in the cache directory since c's was
 * taken, if it is fresher than the one held and not yet due for a refresh
 * itself: stapled instead of a fetch.  Returns 1 and sets *at if so. */
static int from_saved(struct as_cert *c, time_t now, time_t *at)
{
    unsigned char *der;
    size_t len;
    time_t held_this = 0;
    if (as_slot_expires(c->slot, &held_this) <= now)
        held_this = 0;
    if (!as_persist_load(c->fp, &der, &len))
        return 0;
    struct as_verdict v;
    int fresh = verify(c, der, len, now, &v) && v.this_update > held_this &&
                now < v.this_update + (v.expires - v.this_update) * 2 / 5 &&
                publish(c, der, len, &v, 0) == AS_PUBLISHED;
    free(der);
    if (fresh)
        *at = published(c, now, &v, "the cache directory (saved by another process)");
    return fresh;
}

/* A response file beside the certificate (ocsp_file.h) that changed and
 * holds a response fresher than the one held, verified like a fetched one.
 * Returns 1 and sets *at if it is stapled. */
static int from_files(struct as_cert *c, time_t now, time_t *at)
{
    if (!as_cfg.ocsp_files || atomic_load_explicit(&c->ocsp_files, memory_order_acquire) == NULL)
        return 0;
    time_t held_this = 0;
    if (as_slot_expires(c->slot, &held_this) <= now)
        held_this = 0;
    struct as_verify_params p = as_verify_params_configured();
    unsigned char *der;
    size_t len;
    struct as_verdict v;
    const char *path;
    if (!as_ocsp_file_fresher(c, now, &p, held_this, &der, &len, &v, &path))
        return 0;
    int stored = publish(c, der, len, &v, 0) == AS_PUBLISHED;
    free(der);
    if (!stored)
        return 0;
    *at = published(c, now, &v, path);
    return 1;
}

/* One attempt for c.  Returns when to try again; *attempted is 0 if it only
 * decided to wait for the server's chain, or for the fetch another process
 * makes (persist.h's lock). */
static time_t refresh(struct as_cert *c, int *attempted)
{
    time_t now = time(NULL);
    *attempted = 0;
    if (c->issuer == NULL && now < c->learned + CHAIN_GRACE) {
        c->pool_seen = as_pool_generation();
        if ((c->issuer = as_issuer_from_chain(c->leaf)) == NULL)
            return c->learned + CHAIN_GRACE; /* not yet: the chain may follow */
    }
    *attempted = 1;
    if (c->issuer == NULL) {
        const char *source = NULL;
        char why[600];
        c->issuer = as_issuer_find(c->leaf, c->ca_issuers_url, &as_stopping, &source, why,
                                  sizeof(why));
        if (c->issuer == NULL && atomic_load(&as_stopping))
            return 0;
        if (c->issuer == NULL) {
            if (!c->issuer_missing_logged)
                as_log(AS_ERROR, "certificate %s: issuer not found (not in the server's "
                       "chain, not in %s, %s): not stapling it", c->name, as_cfg.ca_file,
                       why);
            c->issuer_missing_logged = 1;
            c->failures++;
            as_report_failed(c, AS_FAIL_ISSUER, "issuer not found");
            return as_next_retry(now, c->failures, as_cfg.retry_min, as_cfg.retry_max, 0,
                                 uniform());
        }
        char iname[256];
        X509_NAME_oneline(X509_get_subject_name(c->issuer), iname, sizeof(iname));
        as_log(AS_DEBUG, "certificate %s: issuer %s found in %s", c->name, iname, source);
        c->failures = 0;
    }
    /* A saved response, then a fresher response file, may spare a fetch:
     * the next one follows the schedule of the response taken.  When the
     * responder fails, a response file that changed meanwhile (a cron job
     * keeps it fresh) is taken if it is fresher. */
    time_t at;
    int taken = 0;
    if (!c->cache_checked) {
        c->cache_checked = 1;
        taken = from_cache(c, now, &at);
    }
    if (from_files(c, now, &at) || taken)
        return at;
    /* One process of all that share the cache directory fetches; the
     * others take what it saves (every second while it holds the lock, for
     * as long as its fetch may take). */
    int lock = as_persist_lock(c->fp);
    if (lock == AS_PERSIST_BUSY) {
        if (c->lock_wait_since == 0)
            c->lock_wait_since = now;
        if (now - c->lock_wait_since <= as_cfg.timeout + 2) {
            if (from_saved(c, now, &at)) {
                c->lock_wait_since = 0;
                return at;
            }
            *attempted = 0; /* its first attempt is the other process's */
            return now + 1;
        }
        as_log(AS_DEBUG, "certificate %s: the process fetching it holds its lock for %lld s: "
               "fetching too", c->name, (long long)(now - c->lock_wait_since));
    }
    c->lock_wait_since = 0;
    if (lock >= 0 && from_saved(c, now, &at)) {
        as_persist_unlock(lock);
        return at;
    }
    at = fetch_and_verify(c, now);
    as_persist_unlock(lock);
    if (c->failures > 0)
        from_files(c, time(NULL), &at);
    return at;
}

static int start_locked(void);

/* Nothing due now: wait for the next certificate (c, NULL if none) or a
 * wake-up.  An idle thread waits for c's time unless another already waits
 * for that time or an earlier one; the others wait to be woken.  Whatever
 * makes a certificate due sooner wakes one (as_refresher_wake_locked),
 * which then waits for the new time. */
static void wait_locked(struct as_cert *c)
{
    idle++;
    if (c != NULL && (watch_until == 0 || c->due.at < watch_until)) {
        time_t mine = c->due.at;
        struct timespec t = { mine, 0 };
        watch_until = mine;
        pthread_cond_timedwait(&as_registry_cond, &as_registry_lock, &t);
        if (watch_until == mine)
            watch_until = 0;
    } else {
        pthread_cond_wait(&as_registry_cond, &as_registry_lock);
    }
    idle--;
}

/* Work may be waiting: wake an idle thread, or if none is idle and a
 * certificate is due now, start one more, up to AUTOSTAPLE_MAX_FETCHES
 * exchanges with responders at a time. */
static void spread_locked(void)
{
    struct as_cert *next = as_cert_next_locked();
    if (idle > 0)
        pthread_cond_signal(&as_registry_cond);
    else if (threads == 0 ||
             (next != NULL && next->due.at <= time(NULL) && threads < as_cfg.max_fetches))
        start_locked();
}

static void (*start_hook)(void);

void as_refresher_set_start_hook(void (*hook)(void))
{
    start_hook = hook;
}

static void *run(void *arg)
{
    (void)arg;
    if (start_hook != NULL)
        start_hook();
    if (!atomic_load(&as_stopping)) /* (not as the process exits) */
        as_report_fetch_thread_started();
    pthread_mutex_lock(&as_registry_lock);
    while (!as_stopping) {
        as_cert_announce_pending_locked();
        /* The next certificate this process refreshes: the others' slots
         * are refreshed by the process that forked this one (see
         * as_refresher_watch). */
        struct as_cert *c = as_cert_next_locked();
        time_t now = time(NULL);
        if (c == NULL || c->due.at > now) {
            wait_locked(c);
            continue;
        }
        as_cert_take_locked(c);
        /* This thread may have been the one waiting for the next due
         * time: another takes its place, or the next certificate. */
        spread_locked();
        pthread_mutex_unlock(&as_registry_lock);

        int attempted = 0;
        guard_enter();
        time_t next = as_stopping ? 0 : refresh(c, &attempted);
        guard_leave();

        pthread_mutex_lock(&as_registry_lock);
        /* A chain certificate that came while the pool was searched did
         * not wake c (as_refresher_chain_added: it was taken): look again
         * now rather than at the end of the grace period. */
        if (!attempted && next == c->learned + CHAIN_GRACE &&
            as_pool_generation() != c->pool_seen)
            next = time(NULL);
        as_cert_put_back_locked(c, c->forgotten ? 0 : next);
        if (attempted) {
            as_cert_first_attempt_ended_locked(c);
            as_report_rescheduled();
        } else if (c->forgotten) {
            as_cert_settle_locked(c); /* let go while it waited for its chain */
        }
    }
    /* The process exits: as_refresher_stop waits for this thread to end
     * (OpenSSL's per-thread clean-up included) before OPENSSL_cleanup. */
    pthread_mutex_unlock(&as_registry_lock);
    return NULL;
}

/* One more fetch thread; 0 if it cannot be started. */
static int start_locked(void)
{
    pthread_t tid;

    static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;
    if ((size_t)threads >= sizeof(tids) / sizeof(tids[0]))
        return 0; /* not reached: AUTOSTAPLE_MAX_FETCHES is at most 64 */
    pthread_once(&hooks_once, let_forks_wait_only_for_steps);
    int err = as_thread_start(run, NULL, 512 * 1024, &tid);
    if (err != 0) {
        static int said;
        if (threads == 0 && !said) {
            said = 1;
            as_log(AS_ERROR, "cannot start the refresher thread: %s%s; not stapling",
                   strerror(err), err != EAGAIN ? ""
                   : " (RLIMIT_NPROC: HAProxy sets it in its workers unless its global "
                     "section says insecure-fork-wanted)");
        } else if (threads > 0)
            as_log(AS_DEBUG, "cannot start one more fetch thread: %s; %d at work",
                   strerror(err), threads);
        return 0;
    }
    pthread_setname_np(tid, "autostaple");
    tids[threads++] = tid;
    return 1;
}

void as_refresher_wake_locked(void)
{
    if (!as_stopping)
        spread_locked();
}

void as_refresher_chain_added(void)
{
    int woken = 0;
    pthread_mutex_lock(&as_registry_lock);
    time_t now = time(NULL);
    for (struct as_cert *c = as_registry_first(); c != NULL; c = c->next)
        if (c->due.at > now && c->due.at == c->learned + CHAIN_GRACE) {
            as_cert_schedule_locked(c, now);
            woken = 1;
        }
    if (woken)
        as_refresher_wake_locked();
    pthread_mutex_unlock(&as_registry_lock);
}

int as_refresher_running(void)
{
    return threads > 0;
}

void as_refresher_prepare(void)
{
    /* At exit the guard stays taken (as_refresher_stop): do not wait. */
    guard_taken_for_fork = !atomic_load(&as_stopping);
    if (guard_taken_for_fork)
        pthread_mutex_lock(&fork_guard);
}

void as_refresher_parent(void)
{
    if (guard_taken_for_fork)
        pthread_mutex_unlock(&fork_guard);
}

void as_refresher_child(void)
{
    if (guard_taken_for_fork)
        pthread_mutex_unlock(&fork_guard);
    /* The threads are gone.  The certificates stay refreshed by the process
     * that forked this one (succession.h). */
    threads = 0;
    idle = 0;
    watch_until = 0;
}

void as_refresher_stop(void)
{
    pthread_t ending[sizeof(tids) / sizeof(tids[0])];
    as_stopping = 1;
    pthread_mutex_lock(&as_registry_lock);
    pthread_cond_broadcast(&as_registry_cond);
    int n = threads;
    memcpy(ending, tids, sizeof(ending));
    pthread_mutex_unlock(&as_registry_lock);
    /* Wait for the threads to end, OpenSSL's per-thread clean-up included,
     * before OpenSSL's own exit handler runs.  A fetch in progress notices
     * as_stopping within a second (fetch.c).  Then keep the guard: a thread
     * still there must not touch OpenSSL again while the exit handlers run. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    for (int i = 0; i < n; i++)
        if (!pthread_equal(ending[i], pthread_self()))
            pthread_timedjoin_np(ending[i], NULL, &until);
    pthread_mutex_timedlock(&fork_guard, &until);
}
