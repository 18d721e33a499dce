/* refresher.c: see refresher.h.  A fetch thread holds the registry lock only
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
#include <unistd.h>

#include "certs.h"
#include "config.h"
#include "fetch.h"
#include "issuer.h"
#include "lock_order.h"
#include "log.h"
#include "refresh.h"
#include "refresher.h"
#include "report.h"
#include "sanitized.h"
#include "thread.h"

/* Fetch threads: one started with the first certificate to fetch, more
 * while certificates wait and every thread is busy, up to
 * AUTOSTAPLE_MAX_FETCHES; they stay (idle) until the process exits.  Under
 * the registry lock. */
static int threads;
static pthread_t tids[64];             /* AUTOSTAPLE_MAX_FETCHES at most */
static int idle;                       /* threads waiting for work */
static time_t watch_until;             /* the earliest time one of them waits for, 0 if none */
static pthread_mutex_t fork_guard = PTHREAD_MUTEX_INITIALIZER;
static int guard_taken_for_fork;

static void guard_enter(void)
{
    as_lock(&fork_guard, AS_LOCK_FORK_GUARD);
}

static void guard_leave(void)
{
    as_unlock(&fork_guard, AS_LOCK_FORK_GUARD);
}

/* Under a sanitizer the guard is kept while waiting too (sanitized.h):
 * libcurl's resolver thread may be inside the runtime's allocator. */
static void let_forks_wait_only_for_steps(void)
{
    if (!AS_SANITIZED)
        as_fetch_set_wait_hooks(guard_leave, guard_enter);
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
        as_registry_wait_for_work_locked(&t);
        if (watch_until == mine)
            watch_until = 0;
    } else {
        as_registry_wait_for_work_locked(NULL);
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
        as_registry_wake_one_locked();
    else if (threads == 0 ||
             (next != NULL && next->due.at <= time(NULL) && threads < as_config()->max_fetches))
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
    if (!as_process_stopping()) /* (not as the process exits) */
        as_report_fetch_thread_started();
    as_registry_lock();
    while (!as_process_stopping()) {
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
        as_registry_unlock();

        int attempted = 0;
        guard_enter();
        time_t next =
            as_process_stopping() ? 0 : as_refresh_once(c, as_refresh_env_real(), &attempted);
        guard_leave();

        as_registry_lock();
        /* A chain certificate that came while the pool was searched did
         * not wake c (as_refresher_chain_added: it was taken): look again
         * now rather than at the end of the grace period. */
        if (!attempted && next == c->learned + AS_CHAIN_GRACE &&
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
    as_registry_unlock();
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
    if (!as_process_stopping())
        spread_locked();
}

void as_refresher_chain_added(void)
{
    int woken = 0;
    as_registry_lock();
    time_t now = time(NULL);
    for (struct as_cert *c = as_registry_first(); c != NULL; c = c->next)
        if (c->due.at > now && c->due.at == c->learned + AS_CHAIN_GRACE) {
            as_cert_schedule_locked(c, now);
            woken = 1;
        }
    if (woken)
        as_refresher_wake_locked();
    as_registry_unlock();
}

int as_refresher_running(void)
{
    return threads > 0;
}

void as_refresher_prepare(void)
{
    /* At exit the guard stays taken (as_refresher_stop): do not wait. */
    guard_taken_for_fork = !as_process_stopping();
    if (guard_taken_for_fork)
        as_lock(&fork_guard, AS_LOCK_FORK_GUARD);
}

void as_refresher_parent(void)
{
    if (guard_taken_for_fork)
        as_unlock(&fork_guard, AS_LOCK_FORK_GUARD);
}

void as_refresher_child(void)
{
    if (guard_taken_for_fork)
        as_unlock(&fork_guard, AS_LOCK_FORK_GUARD);
    /* The threads are gone.  The certificates stay refreshed by the process
     * that forked this one (succession.h). */
    threads = 0;
    idle = 0;
    watch_until = 0;
}

void as_refresher_stop(void)
{
    pthread_t ending[sizeof(tids) / sizeof(tids[0])];
    as_process_stop();
    as_registry_lock();
    as_registry_wake_all_locked();
    int n = threads;
    memcpy(ending, tids, sizeof(ending));
    as_registry_unlock();
    /* Wait for the threads to end, OpenSSL's per-thread clean-up included,
     * before OpenSSL's own exit handler runs.  A fetch in progress notices
     * as_process_stopping() within a second (fetch.c).  Then keep the guard: a thread
     * still there must not touch OpenSSL again while the exit handlers run. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    for (int i = 0; i < n; i++)
        if (!pthread_equal(ending[i], pthread_self()))
            pthread_timedjoin_np(ending[i], NULL, &until);
    if (as_lock_until(&fork_guard, AS_LOCK_FORK_GUARD, &until) == 0)
        as_lock_kept(AS_LOCK_FORK_GUARD); /* (a later exit handler may still fork) */
}
