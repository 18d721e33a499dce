/* lock_order.c: see lock_order.h.  Checked builds keep, per thread, the
 * set of ranks held (a bit each); the others have only the rule and the
 * names here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lock_order.h"

static const char *const names[AS_LOCK_RANKS] = {
    [AS_LOCK_RENDERING] = "rendering",
    [AS_LOCK_FORK_GUARD] = "fork guard",
    [AS_LOCK_REGISTRY] = "registry",
    [AS_LOCK_POOL] = "pool",
    [AS_LOCK_REPORT] = "report",
    [AS_LOCK_SLOT] = "slot",
    [AS_LOCK_ARENA] = "arena",
    [AS_LOCK_PERSIST_LOG] = "persist log",
    [AS_LOCK_OWN_DIR] = "own dir",
    [AS_LOCK_OBJECT_MAP] = "object map",
    [AS_LOCK_BIRTHS] = "births",
};

const char *as_lock_name(enum as_lock_rank rank)
{
    return (unsigned)rank < AS_LOCK_RANKS ? names[rank] : "?";
}

int as_lock_order_conflict(unsigned held_ranks, enum as_lock_rank rank)
{
    for (int r = AS_LOCK_RANKS - 1; r >= (int)rank; r--)
        if (held_ranks & (1u << r))
            return r;
    return -1;
}

#if AS_LOCK_CHECKED
/* The ranks this thread holds.  (Thread-local in a dlopen'ed object: its
 * first use on a thread allocates, in checked builds only.) */
static __thread unsigned held;

/* A lock taken out of order: said on stderr, and the process stops. */
static void violated(enum as_lock_rank rank, int holding)
{
    char msg[200];
    int n = snprintf(msg, sizeof(msg), "autostaple: lock order violated: taking the %s lock "
                     "while holding the %s lock (lock_order.h)\n", as_lock_name(rank),
                     as_lock_name((enum as_lock_rank)holding));
    if (n > 0)
        (void)!write(2, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
    abort();
}

static void check(enum as_lock_rank rank)
{
    int holding = as_lock_order_conflict(held, rank);
    if (holding >= 0)
        violated(rank, holding);
}

int as_lock(pthread_mutex_t *m, enum as_lock_rank rank)
{
    check(rank);
    int r = pthread_mutex_lock(m);
    if (r == 0 || r == EOWNERDEAD)
        held |= 1u << rank;
    return r;
}

int as_lock_until(pthread_mutex_t *m, enum as_lock_rank rank, const struct timespec *until)
{
    check(rank);
    int r = pthread_mutex_timedlock(m, until);
    if (r == 0 || r == EOWNERDEAD)
        held |= 1u << rank;
    return r;
}

void as_unlock(pthread_mutex_t *m, enum as_lock_rank rank)
{
    held &= ~(1u << rank);
    pthread_mutex_unlock(m);
}

int as_lock_wait(pthread_cond_t *cv, pthread_mutex_t *m, enum as_lock_rank rank,
                 const struct timespec *until)
{
    held &= ~(1u << rank);
    int r = until != NULL ? pthread_cond_timedwait(cv, m, until) : pthread_cond_wait(cv, m);
    held |= 1u << rank;
    return r;
}

void as_lock_kept(enum as_lock_rank rank)
{
    held &= ~(1u << rank);
}
#endif
