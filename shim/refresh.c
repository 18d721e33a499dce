/* refresh.c: see refresh.h.  Everything under "Refresher thread only" in
 * certs.h is the caller's while it has taken the certificate, and so this
 * file's; the staple itself is published through the certificate's slot
 * (cache.h). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ocsp.h>

#include "aia.h"
#include "config.h"
#include "issuer.h"
#include "log.h"
#include "ocsp_file.h"
#include "ocsp_request.h"
#include "ocsp_verify.h"
#include "persist.h"
#include "refresh.h"
#include "report.h"
#include "schedule.h"
#include "thread.h"

static double real_uniform(void)
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
static time_t failed_at(const struct as_refresh_env *e, struct as_cert *c, time_t now,
                        const char *why, enum as_fail_reason kind, int level);

static time_t failed(const struct as_refresh_env *e, struct as_cert *c, time_t now,
                     const char *why, enum as_fail_reason kind)
{
    return failed_at(e, c, now, why, kind, AS_WARN);
}

/* failed, logged at level (repeats at debug). */
static time_t failed_at(const struct as_refresh_env *e, struct as_cert *c, time_t now,
                        const char *why, enum as_fail_reason kind, int first_level)
{
    if (atomic_load(e->stop))
        return 0; /* the process exits: an exchange cut short is no news */
    as_report_failed(c, kind, why);
    unsigned long long h = hash_of(why);
    c->failures++;
    time_t held = as_slot_expires(c->slot, NULL);
    time_t at = as_next_retry(now, c->failures, as_config()->retry_min, as_config()->retry_max,
                              held, e->uniform());
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

static time_t published(const struct as_refresh_env *e, struct as_cert *c, time_t now,
                        const struct as_verdict *v, const char *source)
{
    char this_s[32], next_s[32];
    fmt_time(v->this_update, this_s, sizeof(this_s));
    fmt_time(v->expires, next_s, sizeof(next_s));
    time_t at = as_next_refresh(now, v->this_update, v->expires, e->uniform());
    /* A response already past its earliest refresh point (40 % of its
     * window) when it arrives (a responder or a cache that keeps serving an
     * old one) would be asked for again every second until it lapses: back
     * off instead, as after a failure, and still try once shortly before it
     * lapses.  (A fresh one with a window of seconds is refreshed within
     * one, as it should.) */
    if (now > v->this_update + (v->expires - v->this_update) * 2 / 5)
        at = as_next_retry(now, ++c->stale, as_config()->retry_min, as_config()->retry_max,
                           v->expires, e->uniform());
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
static time_t refused(const struct as_refresh_env *e, struct as_cert *c, time_t now,
                      enum as_publish r, const struct as_verdict *v)
{
    char this_s[32], held_s[32], why[300];
    time_t held_this = 0;
    as_slot_expires(c->slot, &held_this);
    fmt_time(v->this_update, this_s, sizeof(this_s));
    if (r == AS_PUBLISH_TOO_LARGE)
        return failed(e, c, now, "response larger than the cache's slots", AS_FAIL_INTERNAL);
    if (r == AS_PUBLISH_AFTER_REVOKED) {
        fmt_time(as_slot_revoked_at(c->slot), held_s, sizeof(held_s));
        snprintf(why, sizeof(why), "refusing a good response (thisUpdate %s): the certificate "
                 "was answered REVOKED (thisUpdate %s), and a revocation is not undone: a "
                 "responder error or a replay; restart the server to accept good again",
                 this_s, held_s);
        return failed_at(e, c, now, why, AS_FAIL_VERIFY, AS_ERROR);
    }
    fmt_time(held_this, held_s, sizeof(held_s));
    snprintf(why, sizeof(why), "refusing a response older than the one held (thisUpdate %s, "
             "held %s): a replay, or a cache or responder serving an old copy", this_s, held_s);
    return failed(e, c, now, why, AS_FAIL_VERIFY);
}

/* The checks of der as a response for c, at now (ocsp_verify.c), with the
 * configured skew and ages. */
static int verify(const struct as_cert *c, const unsigned char *der, size_t len, time_t now,
                  struct as_verdict *v)
{
    struct as_verify_params p = as_verify_params_configured(as_config());
    return as_ocsp_verify(der, len, c->leaf, c->issuer, now, &p, v);
}

static time_t fetch_and_verify(const struct as_refresh_env *e, struct as_cert *c, time_t now)
{
    unsigned char *req = NULL;
    size_t reqlen = 0;
    char url[AS_MAX_URL + 512], why[600];
    struct as_http res;

    if (!as_ocsp_request(c->leaf, c->issuer, &req, &reqlen)) {
        as_log_ssl(AS_ERROR, "certificate %s: cannot build an OCSP request", c->name);
        return failed(e, c, now, "cannot build an OCSP request", AS_FAIL_INTERNAL);
    }
    as_report_request_sent(c);
    const char *responder = as_cert_responder(c);
    int get = as_ocsp_get_url(responder, req, reqlen, url, sizeof(url));
    int ok = e->fetch(responder, get ? url : NULL, req, reqlen, as_config()->timeout,
                           e->stop, &res);
    OPENSSL_free(req);
    if (!ok)
        return failed(e, c, e->now(), res.error,
                      res.failure == AS_FETCH_NO_CONNECTION ? AS_FAIL_CONNECT
                      : res.failure == AS_FETCH_TIMED_OUT   ? AS_FAIL_TIMEOUT
                                                            : AS_FAIL_TRANSFER);
    if (res.code != 200) {
        free(res.body);
        snprintf(why, sizeof(why), "HTTP status %ld", res.code);
        return failed(e, c, e->now(), why, AS_FAIL_HTTP);
    }

    struct as_verdict v;
    now = e->now();
    if (!verify(c, res.body, res.len, now, &v)) {
        free(res.body);
        snprintf(why, sizeof(why), "response refused: %s", v.reason);
        return failed(e, c, now, why, as_fail_reason_of_verdict(&v));
    }
    enum as_publish r = publish(c, res.body, res.len, &v, 1);
    if (r == AS_PUBLISHED)
        as_persist_save(c->fp, res.body, res.len);
    free(res.body);
    if (r != AS_PUBLISHED)
        return refused(e, c, now, r, &v);
    return published(e, c, now, &v, as_cert_responder(c));
}

/* A response from the cache directory or a response file (der, malloc'd,
 * freed here), verified as v: stapled if the slot takes it.  Returns 1 and
 * sets *at (when to refresh) if so. */
static int take(const struct as_refresh_env *e, struct as_cert *c, time_t now,
                unsigned char *der, size_t len, const struct as_verdict *v, const char *source,
                time_t *at)
{
    int stored = publish(c, der, len, v, 0) == AS_PUBLISHED;
    free(der);
    if (stored)
        *at = published(e, c, now, v, source);
    return stored;
}

/* A response saved by an earlier run (or another server), verified again
 * like any other.  Returns 1 and sets *at if it is stapled. */
static int from_cache(const struct as_refresh_env *e, struct as_cert *c, time_t now, time_t *at)
{
    unsigned char *der;
    size_t len;
    if (!as_persist_load(c->fp, &der, &len))
        return 0;
    struct as_verdict v;
    if (!verify(c, der, len, now, &v)) {
        as_log(AS_INFO, "certificate %s: not using the saved response in %s: %s", c->name,
               as_config()->cache_dir, v.reason);
        free(der);
        as_persist_drop(c->fp);
        return 0;
    }
    return take(e, c, now, der, len, &v, "the cache directory", at);
}

/* The response another process saved in the cache directory since c's was
 * taken, if it is fresher than the one held and not yet due for a refresh
 * itself: stapled instead of a fetch.  Returns 1 and sets *at if so. */
static int from_saved(const struct as_refresh_env *e, struct as_cert *c, time_t now, time_t *at)
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
        *at = published(e, c, now, &v, "the cache directory (saved by another process)");
    return fresh;
}

/* A response file beside the certificate (ocsp_file.h) that changed and
 * holds a response fresher than the one held, verified like a fetched one.
 * Returns 1 and sets *at if it is stapled. */
static int from_files(const struct as_refresh_env *e, struct as_cert *c, time_t now, time_t *at)
{
    if (!as_config()->ocsp_files ||
        atomic_load_explicit(&c->ocsp_files, memory_order_acquire) == NULL)
        return 0;
    time_t held_this = 0;
    if (as_slot_expires(c->slot, &held_this) <= now)
        held_this = 0;
    struct as_verify_params p = as_verify_params_configured(as_config());
    unsigned char *der;
    size_t len;
    struct as_verdict v;
    const char *path;
    if (!as_ocsp_file_fresher(c, now, &p, held_this, &der, &len, &v, &path))
        return 0;
    return take(e, c, now, der, len, &v, path, at);
}

time_t as_refresh_once(struct as_cert *c, const struct as_refresh_env *e, int *attempted)
{
    time_t now = e->now();
    *attempted = 0;
    if (c->issuer == NULL && now < c->learned + AS_CHAIN_GRACE) {
        c->pool_seen = as_pool_generation();
        if ((c->issuer = as_issuer_from_chain(c->leaf)) == NULL)
            return c->learned + AS_CHAIN_GRACE; /* not yet: the chain may follow */
    }
    *attempted = 1;
    if (c->issuer == NULL) {
        const char *source = NULL;
        char why[600];
        c->issuer = as_issuer_find(c->leaf, c->ca_issuers_url, e->stop, &source, why,
                                  sizeof(why));
        if (c->issuer == NULL && atomic_load(e->stop))
            return 0;
        if (c->issuer == NULL) {
            if (!c->issuer_missing_logged)
                as_log(AS_ERROR, "certificate %s: issuer not found (not in the server's "
                       "chain, not in %s, %s): not stapling it", c->name, as_config()->ca_file,
                       why);
            c->issuer_missing_logged = 1;
            c->failures++;
            as_report_failed(c, AS_FAIL_ISSUER, "issuer not found");
            return as_next_retry(now, c->failures, as_config()->retry_min,
                                 as_config()->retry_max, 0, e->uniform());
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
        taken = from_cache(e, c, now, &at);
    }
    if (from_files(e, c, now, &at) || taken)
        return at;
    /* One process of all that share the cache directory fetches; the
     * others take what it saves (every second while it holds the lock, for
     * as long as its fetch may take). */
    int lock = as_persist_lock(c->fp);
    if (lock == AS_PERSIST_BUSY) {
        if (c->lock_wait_since == 0)
            c->lock_wait_since = now;
        if (now - c->lock_wait_since <= as_config()->timeout + 2) {
            if (from_saved(e, c, now, &at)) {
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
    if (lock >= 0 && from_saved(e, c, now, &at)) {
        as_persist_unlock(lock);
        return at;
    }
    at = fetch_and_verify(e, c, now);
    as_persist_unlock(lock);
    if (c->failures > 0)
        from_files(e, c, e->now(), &at);
    return at;
}

static time_t real_now(void)
{
    return time(NULL);
}

static struct as_refresh_env real_env;

static void set_real(void)
{
    real_env = (struct as_refresh_env){ real_now, real_uniform, as_fetch_ocsp,
                                        as_process_stop_flag() };
}

const struct as_refresh_env *as_refresh_env_real(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, set_real);
    return &real_env;
}
