/* cache.c: see cache.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cache.h"

struct as_slot {
    pthread_mutex_t lock;  /* robust; process-shared in the mapping */
    int shared;            /* in the mapping (else private to a process) */
    int valid;             /* a whole response is held */
    int status;
    time_t this_update;
    time_t expires;
    size_t len;
    _Atomic pid_t fetcher;
    size_t capacity;
    unsigned char der[];
};

static struct {
    pthread_mutex_t lock;  /* creating the mapping */
    size_t capacity, count, stride;
    unsigned char *base;   /* the mapping, NULL until made */
    _Atomic size_t used;   /* slots handed out, in this process's view */
    int failed;
} arena = { PTHREAD_MUTEX_INITIALIZER, 16384, 1024, 0, NULL, 0, 0 };

void as_cache_configure(size_t capacity, size_t count)
{
    arena.capacity = capacity;
    arena.count = count;
}

static void init_slot(struct as_slot *s, int shared, size_t capacity)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    if (shared)
        pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&s->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    s->shared = shared;
    s->valid = 0;
    s->capacity = capacity;
    atomic_store(&s->fetcher, getpid());
}

/* A slot from the mapping, made on first use.  The counter lives in this
 * process: slots are handed out before the server forks (certificates
 * learned later in a child get private slots, see as_slot_new). */
static struct as_slot *shared_slot(void)
{
    pthread_mutex_lock(&arena.lock);
    if (arena.base == NULL && !arena.failed) {
        arena.stride = (sizeof(struct as_slot) + arena.capacity + 63) & ~(size_t)63;
        void *p = mmap(NULL, arena.stride * arena.count, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            arena.failed = 1;
        else
            arena.base = p;
    }
    struct as_slot *s = NULL;
    if (arena.base != NULL && arena.used < arena.count) {
        s = (struct as_slot *)(arena.base + arena.stride * arena.used++);
        init_slot(s, 1, arena.capacity);
    }
    pthread_mutex_unlock(&arena.lock);
    return s;
}

static pid_t creator;

struct as_slot *as_slot_new(void)
{
    /* A process forked after the mapping was made shares its slots with its
     * siblings; a slot it took from it now would collide with theirs. */
    if (creator == 0)
        creator = getpid();
    struct as_slot *s = creator == getpid() ? shared_slot() : NULL;
    if (s == NULL && (s = malloc(sizeof(*s) + arena.capacity)) != NULL)
        init_slot(s, 0, arena.capacity);
    return s;
}

void as_slot_after_fork(struct as_slot *s)
{
    if (!s->shared) {
        /* This process's own copy now: its lock starts afresh, and no one
         * else will refresh it. */
        pthread_mutexattr_t attr;
        pthread_mutexattr_init(&attr);
        pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
        pthread_mutex_init(&s->lock, &attr);
        pthread_mutexattr_destroy(&attr);
        atomic_store(&s->fetcher, getpid());
    }
}

/* Locks s; a holder that died leaves it consistent again (its write, if it
 * was writing, is marked invalid). */
static void slot_lock(struct as_slot *s)
{
    if (pthread_mutex_lock(&s->lock) == EOWNERDEAD)
        pthread_mutex_consistent(&s->lock);
}

int as_slot_publish(struct as_slot *s, const unsigned char *der, size_t len, int status,
                    time_t this_update, time_t expires)
{
    if (len > s->capacity)
        return 0;
    slot_lock(s);
    s->valid = 0;
    memcpy(s->der, der, len);
    s->len = len;
    s->status = status;
    s->this_update = this_update;
    s->expires = expires;
    s->valid = 1;
    pthread_mutex_unlock(&s->lock);
    return 1;
}

int as_slot_copy(struct as_slot *s, time_t now, unsigned char **out, size_t *len)
{
    int ok = 0;
    slot_lock(s);
    if (s->valid && now < s->expires && (*out = OPENSSL_malloc(s->len)) != NULL) {
        memcpy(*out, s->der, s->len);
        *len = s->len;
        ok = 1;
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

time_t as_slot_expires(struct as_slot *s, time_t *this_update)
{
    slot_lock(s);
    time_t t = s->valid ? s->expires : 0;
    if (this_update != NULL)
        *this_update = s->valid ? s->this_update : 0;
    pthread_mutex_unlock(&s->lock);
    return t;
}

pid_t as_slot_fetcher(const struct as_slot *s)
{
    return atomic_load(&s->fetcher);
}

int as_slot_take_over(struct as_slot *s, pid_t from, pid_t to)
{
    return atomic_compare_exchange_strong(&s->fetcher, &from, to);
}
