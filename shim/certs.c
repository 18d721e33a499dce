/* certs.c: see certs.h. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "address_room.h"
#include "aia.h"
#include "cache.h"
#include "certs.h"
#include "config.h"
#include "lock_order.h"
#include "log.h"
#include "ptrmap.h"
#include "schedule.h"

#define BUCKETS 4096

/* The registry lock (AS_LOCK_REGISTRY); the condition the refresher's idle
 * threads wait on; the one the start-up wait waits on, broadcast when a
 * certificate settles; how many are unsettled.  All under the lock. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t settled_cond = PTHREAD_COND_INITIALIZER;
static int unsettled;

/* X509 object -> entry: every object a certificate was loaded as (a server
 * reloading loads it anew each time), for as long as the object lives.
 * Written under map_lock, read without.  map_lock is below every other
 * lock but the thread births' (lock_order.h): an object may be freed
 * (on_x509_free) under any of them. */
static struct as_ptrmap by_object;
static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t free_hook_once = PTHREAD_ONCE_INIT;
static int free_hook = -1; /* its ex_data index; -1: objects are not mapped */
static struct as_cert *buckets[BUCKETS];
static struct as_cert *all;
static size_t ncerts;
static struct as_dueheap due_heap; /* the certificates with a next fetch */
static int unannounced;     /* entries learned quietly, not yet logged */

static void (*wake_on_due)(void);

void as_registry_on_due(void (*wake_locked)(void))
{
    wake_on_due = wake_locked;
}

static void due_locked(void)
{
    if (wake_on_due != NULL)
        wake_on_due();
}

struct as_cert *as_registry_first(void)
{
    return all;
}

struct as_cert *as_cert_find(const X509 *x)
{
    return as_ptrmap_get(&by_object, x);
}

/* OpenSSL calls this for every X509 object it frees, the object's ex_data
 * slot empty (ptr: nothing is stored there).  A mapped object leaves the
 * map before its memory can hold another object, so the map holds no
 * reference, and its size follows the objects alive, after any number of
 * reloads.  No handshake can be looking the object up: it is being freed
 * because nothing uses it. */
static void on_x509_free(void *x, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)ptr, (void)ad, (void)idx, (void)argl, (void)argp;
    if (as_ptrmap_get(&by_object, x) == NULL)
        return;
    as_lock(&map_lock, AS_LOCK_OBJECT_MAP);
    as_ptrmap_remove(&by_object, x);
    as_unlock(&map_lock, AS_LOCK_OBJECT_MAP);
}

static void hook_x509_free(void)
{
    free_hook = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_X509, 0, NULL, NULL, NULL, on_x509_free);
}

/* Maps x to c, if objects can be unmapped when freed; else every handshake
 * with x finds c by fingerprint (as_cert_learn), slower but right. */
static void map_object(X509 *x, struct as_cert *c)
{
    pthread_once(&free_hook_once, hook_x509_free);
    if (free_hook < 0)
        return;
    as_lock(&map_lock, AS_LOCK_OBJECT_MAP);
    as_ptrmap_put(&by_object, x, c);
    as_unlock(&map_lock, AS_LOCK_OBJECT_MAP);
}

static struct as_cert *find_by_fp(const unsigned char fp[32])
{
    unsigned b = ((unsigned)fp[0] << 8 | fp[1]) % BUCKETS;
    for (struct as_cert *c = buckets[b]; c != NULL; c = c->bucket_next)
        if (memcmp(c->fp, fp, 32) == 0)
            return c;
    return NULL;
}

const char *as_cert_responder(const struct as_cert *c)
{
    return as_config()->responder[0] ? as_config()->responder : c->ocsp_url;
}

static void announce(const struct as_cert *c)
{
    const char *url = as_cert_responder(c);
    const char *must = c->must_staple ? " (Must-Staple: a handshake without a staple fails "
                                        "in clients that honour it, Firefox among them)" : "";
    char aia[1024];
    if (url[0] != '\0')
        as_log(AS_INFO, "certificate %s (%s): stapling from %s%s", c->name, c->learned_how, url,
               must);
    else if (as_aia_explain(c->leaf, NID_ad_OCSP, aia, sizeof(aia)))
        as_log(c->must_staple ? AS_ERROR : AS_WARN, "certificate %s (%s) has %s: not stapling "
               "it%s", c->name, c->learned_how, aia, must);
    else
        as_log(c->must_staple ? AS_ERROR : AS_INFO, "certificate %s (%s) names no OCSP "
               "responder: not stapling it%s", c->name, c->learned_how, must);
}

void as_cert_announce_pending_locked(void)
{
    for (struct as_cert *c = all; c != NULL && unannounced > 0; c = c->next)
        if (c->unannounced) {
            c->unannounced = 0;
            unannounced--;
            announce(c);
        }
}

void as_cert_schedule_locked(struct as_cert *c, time_t at)
{
    if (!c->taken)
        as_dueheap_set(&due_heap, &c->due, at); /* room made in create() */
}

void as_cert_take_locked(struct as_cert *c)
{
    as_dueheap_set(&due_heap, &c->due, 0);
    c->taken = 1;
}

void as_cert_put_back_locked(struct as_cert *c, time_t at)
{
    c->taken = 0;
    as_cert_schedule_locked(c, at);
}

struct as_cert *as_cert_next_locked(void)
{
    pid_t me = getpid();
    struct as_due *d;
    while ((d = as_dueheap_top(&due_heap)) != NULL) {
        struct as_cert *c = (struct as_cert *)((char *)d - offsetof(struct as_cert, due));
        if (as_slot_fetcher(c->slot) == me)
            return c;
        as_dueheap_remove(&due_heap, d); /* another process refreshes it */
    }
    return NULL;
}

/* Says once per reason why certificates' responses stop being shared with
 * forked workers (cache.h): each process then fetches its own. */
static void say_shortfall(enum as_cache_shortfall why, const char *name)
{
    static int said[AS_CACHE_MAP_FAILED + 1];
    if (why == AS_CACHE_SHARED || why == AS_CACHE_NOT_ALLOCATOR || said[why])
        return;
    said[why] = 1;
    size_t limit, used;
    switch (why) {
    case AS_CACHE_FULL:
        as_log(AS_WARN, "AUTOSTAPLE_MAX_CERTS=%ld certificates share their responses with "
               "forked workers: %s and later ones are refreshed by each process on its own "
               "(raise AUTOSTAPLE_MAX_CERTS)", as_config()->max_certs, name);
        break;
    case AS_CACHE_NO_ROOM:
        as_address_limit(&limit, &used);
        as_log(AS_WARN, "the address-space limit (RLIMIT_AS %zu MiB, %zu MiB mapped) leaves no "
               "room for responses shared with forked workers: %s and later ones are kept "
               "by each process in its own memory", limit >> 20, used >> 20, name);
        break;
    default:
        as_log(AS_WARN, "cannot map memory for responses shared with forked workers: %s and "
               "later ones are kept by each process in its own memory", name);
        break;
    }
}

static struct as_cert *create(X509 *x, const unsigned char fp[32], const char *how, int quiet)
{
    /* The strings are sized to fit: an entry costs a few hundred bytes
     * (bench/scale.sh counts them with ten thousand certificates). */
    char name[256], ocsp[AS_MAX_URL], issuers[AS_MAX_URL];
    X509_NAME_oneline(X509_get_subject_name(x), name, sizeof(name));
    as_aia_urls(x, ocsp, issuers);
    size_t nlen = strlen(name) + 1, olen = strlen(ocsp) + 1, ilen = strlen(issuers) + 1;

    if (!as_dueheap_reserve(&due_heap, ncerts + 1))
        return NULL;
    struct as_cert *c = calloc(1, sizeof(*c) + nlen + olen + ilen);
    enum as_cache_shortfall why = AS_CACHE_SHARED;
    if (c == NULL || (c->slot = as_slot_new(&why)) == NULL || !X509_up_ref(x)) {
        free(c);
        return NULL;
    }
    say_shortfall(why, name);
    c->leaf = x;
    memcpy(c->fp, fp, 32);
    c->name = memcpy(c->text, name, nlen);
    c->ocsp_url = memcpy(c->text + nlen, ocsp, olen);
    c->ca_issuers_url = memcpy(c->text + nlen + olen, issuers, ilen);
    c->learned = time(NULL);
    c->must_staple = as_is_must_staple(x);

    c->learned_how = how;
    if (as_cert_responder(c)[0] != '\0') {
        as_cert_schedule_locked(c, c->learned);
        unsettled++;
    } else {
        c->settled = 1;
    }
    if (quiet) {
        c->unannounced = 1;
        unannounced++;
    } else {
        announce(c);
    }

    unsigned b = ((unsigned)fp[0] << 8 | fp[1]) % BUCKETS;
    c->bucket_next = buckets[b];
    buckets[b] = c;
    c->next = all;
    all = c;
    ncerts++;
    return c;
}

struct as_cert *as_cert_learn(X509 *x, const char *how, int quiet)
{
    struct as_cert *c = as_cert_find(x);
    if (c != NULL || x == NULL)
        return c;

    unsigned char fp[EVP_MAX_MD_SIZE];
    unsigned int fplen = 0;
    ERR_set_mark();
    /* A certificate that cannot serve TLS (a client's, in a context made
     * with the generic TLS_method) is none of our business. */
    int server = X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0) == 1;
    int ok = server && X509_digest(x, EVP_sha256(), fp, &fplen) && fplen == 32;
    ERR_pop_to_mark();
    if (!ok)
        return NULL;

    as_lock(&registry_lock, AS_LOCK_REGISTRY);
    c = as_cert_find(x);
    if (c == NULL) {
        c = find_by_fp(fp);
        int fresh = c == NULL;
        if (fresh)
            c = create(x, fp, how, quiet);
        if (c != NULL)
            map_object(x, c);
        if (fresh && c != NULL && c->due.at != 0)
            due_locked();
    }
    as_unlock(&registry_lock, AS_LOCK_REGISTRY);
    return c;
}

void as_registry_lock(void)
{
    as_lock(&registry_lock, AS_LOCK_REGISTRY);
}

void as_registry_unlock(void)
{
    as_unlock(&registry_lock, AS_LOCK_REGISTRY);
}

void as_registry_wait_for_work_locked(const struct timespec *until)
{
    as_lock_wait(&work_cond, &registry_lock, AS_LOCK_REGISTRY, until);
}

void as_registry_wake_one_locked(void)
{
    pthread_cond_signal(&work_cond);
}

void as_registry_wake_all_locked(void)
{
    pthread_cond_broadcast(&work_cond);
}

int as_registry_unsettled_locked(void)
{
    return unsettled;
}

void as_registry_wait_settled_locked(const struct timespec *until)
{
    as_lock_wait(&settled_cond, &registry_lock, AS_LOCK_REGISTRY, until);
}

void as_cert_settle_locked(struct as_cert *c)
{
    if (!c->settled) {
        c->settled = 1;
        unsettled--;
        pthread_cond_broadcast(&settled_cond);
    }
}

void as_cert_settle_held_locked(void)
{
    time_t now = time(NULL);
    for (struct as_cert *c = all; c != NULL && unsettled > 0; c = c->next)
        if (!c->settled && as_slot_expires(c->slot, NULL) > now)
            as_cert_settle_locked(c);
}

void as_cert_stop_waiting_locked(void)
{
    for (struct as_cert *c = all; c != NULL && unsettled > 0; c = c->next)
        as_cert_settle_locked(c);
}

void as_cert_unsettle_locked(struct as_cert *c)
{
    /* (a response another process fetched into the shared slot settles it) */
    if (c->settled && !c->first_ended && as_slot_expires(c->slot, NULL) <= time(NULL)) {
        c->settled = 0;
        unsettled++;
    }
}

void as_cert_first_attempt_ended_locked(struct as_cert *c)
{
    c->first_ended = 1;
    as_cert_settle_locked(c);
}

int as_cert_attach(struct as_cert *c)
{
    int changed = 0;
    as_lock(&registry_lock, AS_LOCK_REGISTRY);
    if (c->contexts++ == 0 && c->forgotten) {
        c->forgotten = 0;
        changed = 1;
        if (as_cert_responder(c)[0] != '\0') {
            /* Apache loads its configuration twice: a certificate let go
             * before its first fetch ended is waited for again before the
             * fork (as_core_wait_for_first_fetches), by this process, or by
             * the daemon it forked, which takes it over. */
            as_cert_unsettle_locked(c);
            /* From the response it holds, if that is still good. */
            time_t now = time(NULL), this_update;
            time_t expires = as_slot_expires(c->slot, &this_update);
            as_cert_schedule_locked(c, expires > now ? as_next_refresh(now, this_update,
                                                                       expires, 0.5) : now);
            as_log(AS_INFO, "certificate %s is in use again: refreshing it", c->name);
            due_locked();
        }
    }
    as_unlock(&registry_lock, AS_LOCK_REGISTRY);
    return changed;
}

int as_cert_detach(struct as_cert *c)
{
    int changed = 0;
    as_lock(&registry_lock, AS_LOCK_REGISTRY);
    if (c->contexts > 0 && --c->contexts == 0 && !c->forgotten) {
        c->forgotten = 1;
        changed = 1;
        as_cert_schedule_locked(c, 0);
        /* A fetch under way still ends (and settles it): what it brings
         * serves a configuration loaded again, here or in a daemon forked
         * meanwhile (Apache's detach, between its two passes). */
        if (!c->taken)
            as_cert_settle_locked(c);
        as_log(AS_DEBUG, "certificate %s is no longer used by the server: "
               "no longer refreshing it", c->name);
    }
    as_unlock(&registry_lock, AS_LOCK_REGISTRY);
    return changed;
}

void as_registry_prepare(void)
{
    as_lock(&registry_lock, AS_LOCK_REGISTRY);
}

void as_registry_parent(void)
{
    as_unlock(&registry_lock, AS_LOCK_REGISTRY);
}

void as_object_map_prepare(void)
{
    as_lock(&map_lock, AS_LOCK_OBJECT_MAP);
}

void as_object_map_parent(void)
{
    as_unlock(&map_lock, AS_LOCK_OBJECT_MAP);
}

void as_object_map_child(void)
{
    as_unlock(&map_lock, AS_LOCK_OBJECT_MAP);
    as_ptrmap_after_fork(&by_object);
}

void as_registry_child(void)
{
    as_unlock(&registry_lock, AS_LOCK_REGISTRY);
    pthread_cond_init(&work_cond, NULL);
    pthread_cond_init(&settled_cond, NULL);
    /* No fetch runs here: nothing to wait for, unless this process takes
     * the refresh over (as_cert_unsettle_locked then). */
    unsettled = 0;
    for (struct as_cert *c = all; c != NULL; c = c->next) {
        as_slot_after_fork(c->slot);
        c->taken = 0; /* the threads that had them are not here */
        c->settled = 1;
    }
}
