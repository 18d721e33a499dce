/* lock_order.h: every lock of the library, in the one order they may be
 * taken: a thread holding a lock takes only locks further down this list.
 * Builds under a sanitizer (sanitized.h) or with -DAS_CHECK_LOCKS
 * (AS_LOCK_CHECKED) check it on every acquisition: a lock taken out of order, or twice, stops the
 * process with a message naming both locks (a test sees it; a server is
 * never built so).  Other builds only take and release.
 *
 * The fork handlers (core.c) take the locks that matter across fork in
 * this order too, and release them in the parent and the child. */
#ifndef AS_LOCK_ORDER_H
#define AS_LOCK_ORDER_H

#include <pthread.h>
#include <time.h>

#include "sanitized.h"

enum as_lock_rank {
    AS_LOCK_RENDERING = 0, /* report.c: the reporter's writing, sanitized builds, at fork */
    AS_LOCK_FORK_GUARD,    /* refresher.c: OpenSSL, libcurl, the loader in our threads */
    AS_LOCK_REGISTRY,      /* certs.c: the certificates and their schedule */
    AS_LOCK_POOL,          /* issuer.c: the chain pool and CA bundle */
    AS_LOCK_REPORT,        /* report.c: the status and metrics records (read slots) */
    AS_LOCK_SLOT,          /* cache.c: one certificate's staple, shared across processes */
    AS_LOCK_ARENA,         /* cache.c: the slots' allocation */
    AS_LOCK_PERSIST_LOG,   /* persist.c: the last cache-directory warning */
    AS_LOCK_OWN_DIR,       /* own_dir.c: the directories already checked */
    AS_LOCK_OBJECT_MAP,    /* certs.c: X509 objects to entries */
    AS_LOCK_BIRTHS,        /* thread.c: a thread being born */
    AS_LOCK_RANKS
};

/* pthread_mutex_lock / unlock of m, which is the lock of that rank.
 * as_lock returns pthread_mutex_lock's result (EOWNERDEAD for a robust
 * lock whose holder died: it is held then too).  as_lock_until gives up at
 * the absolute CLOCK_REALTIME time *until (pthread_mutex_timedlock's
 * result: ETIMEDOUT then, and m is not held).  as_lock_wait waits on cv
 * with m held, until *until if it is not NULL; m is held again on return,
 * and is not held meanwhile (a signal handler on that thread may take it).
 * as_lock_kept: the lock of that rank, held by this thread, stays held for
 * the rest of the process's life (the fork guard at exit) and orders
 * nothing more.  Unchecked builds inline these to the pthread calls (a
 * handshake takes a slot's lock: no cost added there). */
#if AS_SANITIZED || defined(AS_CHECK_LOCKS)
#define AS_LOCK_CHECKED 1
int as_lock(pthread_mutex_t *m, enum as_lock_rank rank);
void as_unlock(pthread_mutex_t *m, enum as_lock_rank rank);
int as_lock_until(pthread_mutex_t *m, enum as_lock_rank rank, const struct timespec *until);
int as_lock_wait(pthread_cond_t *cv, pthread_mutex_t *m, enum as_lock_rank rank,
                 const struct timespec *until);
void as_lock_kept(enum as_lock_rank rank);
#else
#define AS_LOCK_CHECKED 0
static inline int as_lock(pthread_mutex_t *m, enum as_lock_rank rank)
{
    (void)rank;
    return pthread_mutex_lock(m);
}
static inline void as_unlock(pthread_mutex_t *m, enum as_lock_rank rank)
{
    (void)rank;
    pthread_mutex_unlock(m);
}
static inline int as_lock_until(pthread_mutex_t *m, enum as_lock_rank rank,
                                const struct timespec *until)
{
    (void)rank;
    return pthread_mutex_timedlock(m, until);
}
static inline int as_lock_wait(pthread_cond_t *cv, pthread_mutex_t *m, enum as_lock_rank rank,
                               const struct timespec *until)
{
    (void)rank;
    return until != NULL ? pthread_cond_timedwait(cv, m, until) : pthread_cond_wait(cv, m);
}
static inline void as_lock_kept(enum as_lock_rank rank)
{
    (void)rank;
}
#endif

/* The rule itself: may a thread holding the ranks in held (bit r for rank
 * r) take rank?  Returns -1 if so, else the held rank that forbids it. */
int as_lock_order_conflict(unsigned held, enum as_lock_rank rank);

/* The name of a rank, for messages. */
const char *as_lock_name(enum as_lock_rank rank);

#endif
