/* cache.c: see cache.h.
 *
 * The mapping, made at the first certificate:
 *
 *   meta      one cache line: how much of the packed area is handed out
 *   headers   AUTOSTAPLE_MAX_CERTS slot headers (struct as_slot), dense
 *   packed    responses packed one after the other: a slot's first response
 *             gets a chunk here just big enough (plus SLACK for the small
 *             changes of size between a response and the next), so that a
 *             certificate costs its response's bytes, not a page
 *   homes     AUTOSTAPLE_MAX_RESPONSE bytes per slot, for a response that
 *             outgrows its packed chunk or needs more than PACKED_MAX
 *
 * Nothing is touched before it is used.  Each slot takes at most one chunk
 * of PACKED_MAX bytes at most from the packed area, which therefore never
 * runs out; a slot's home is its own.  A slot's chunk or home is taken by
 * whichever process refreshes it, under the slot's lock; the packed area's
 * counter is shared, so any of the server's processes may take. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ocsp.h>

#include "cache.h"

#define LINE 64
#define SLACK 128          /* room for a later response a little larger */
#define PACKED_MAX 4096    /* the largest chunk taken from the packed area */
#define ROUND(n) (((n) + LINE - 1) & ~(size_t)(LINE - 1))

struct as_slot {
    pthread_mutex_t lock;  /* robust; process-shared in the mapping */
    int shared;            /* in the mapping (else private to a process) */
    int valid;             /* a whole response is held */
    int status;
    _Atomic pid_t fetcher;
    uid_t owner;           /* effective uid of the process that made it */
    time_t this_update;
    time_t expires;
    time_t newest;         /* the latest thisUpdate ever published */
    time_t revoked_at;     /* thisUpdate of the first revoked response, 0 if none */
    size_t len;
    size_t room;           /* bytes at der */
    unsigned char *der;    /* NULL until the first response */
    /* Handshakes that asked for status, counted by as_slot_copy under the
     * lock it holds anyway, in the cache line it reads anyway (with expires,
     * len, der): every process's handshakes, for the fetcher's metrics. */
    unsigned long staples, unstapled;
};

struct meta {
    _Atomic size_t packed_used;
    _Atomic size_t slots_used; /* headers handed out */
    /* The one process that hands out headers: the one that made the mapping,
     * then whoever took the refresh of a shared slot over (a daemon's
     * master).  Workers that learn certificates of their own (per
     * connection, in every worker, or in a child per connection) get private
     * slots and leave the mapping to the certificates the master serves. */
    _Atomic pid_t allocator;
};

static struct {
    pthread_mutex_t lock;  /* creating the mapping, handing out slots */
    size_t capacity, count;
    size_t header_size, home_size;
    unsigned char *base;   /* the mapping, NULL until made */
    struct meta *meta;
    unsigned char *headers, *packed, *homes;
    int failed;
} arena = { PTHREAD_MUTEX_INITIALIZER, 16384, 1024, 0, 0, NULL, NULL, NULL, NULL, NULL, 0 };

void as_cache_configure(size_t capacity, size_t count)
{
    arena.capacity = capacity;
    arena.count = count;
}

static void init_slot(struct as_slot *s, int shared)
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
    s->len = 0;
    s->room = 0;
    s->der = NULL;
    s->staples = s->unstapled = 0;
    s->newest = s->revoked_at = 0;
    atomic_store(&s->fetcher, getpid());
    s->owner = geteuid();
}

static void make_mapping(void)
{
    arena.header_size = ROUND(sizeof(struct as_slot));
    arena.home_size = ROUND(arena.capacity);
    size_t n = arena.count;
    size_t total = LINE + n * (arena.header_size + PACKED_MAX + arena.home_size);
    void *p = mmap(NULL, total, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        arena.failed = 1;
        return;
    }
    arena.base = p;
    arena.meta = p;
    atomic_store(&arena.meta->allocator, getpid());
    arena.headers = arena.base + LINE;
    arena.packed = arena.headers + n * arena.header_size;
    arena.homes = arena.packed + n * PACKED_MAX;
}

/* A slot from the mapping, made on first use, if this process hands them
 * out (struct meta).  The count lives in the mapping: a master that took the
 * role over from the process that made it (a daemon's first process), and
 * learns a certificate on a reload, takes a slot no other process has, and
 * the workers it forks next share it. */
static struct as_slot *shared_slot(void)
{
    pthread_mutex_lock(&arena.lock);
    if (arena.base == NULL && !arena.failed)
        make_mapping();
    struct as_slot *s = NULL;
    if (arena.base != NULL && atomic_load(&arena.meta->allocator) == getpid()) {
        size_t i = atomic_fetch_add(&arena.meta->slots_used, 1);
        if (i < arena.count) {
            s = (struct as_slot *)(arena.headers + arena.header_size * i);
            init_slot(s, 1);
        } else {
            atomic_store(&arena.meta->slots_used, arena.count); /* stays full */
        }
    }
    pthread_mutex_unlock(&arena.lock);
    return s;
}

struct as_slot *as_slot_new(void)
{
    struct as_slot *s = shared_slot();
    if (s == NULL && (s = malloc(sizeof(*s))) != NULL)
        init_slot(s, 0);
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
        s->staples = s->unstapled = 0; /* the parent's handshakes are the parent's */
    }
}

/* Locks s; a holder that died leaves it consistent again (its write, if it
 * was writing, is marked invalid). */
static void slot_lock(struct as_slot *s)
{
    if (pthread_mutex_lock(&s->lock) == EOWNERDEAD)
        pthread_mutex_consistent(&s->lock);
}

/* Room for len bytes in a shared slot (whose lock is held): its packed chunk
 * the first time, if len is small enough and the packed area has room (it
 * does, unless processes died holding chunks), else its home. */
static void grow_shared(struct as_slot *s, size_t len)
{
    size_t want = ROUND(len + SLACK);
    if (s->der == NULL && want <= PACKED_MAX) {
        size_t at = atomic_fetch_add(&arena.meta->packed_used, want);
        if (at + want <= arena.count * PACKED_MAX) {
            s->der = arena.packed + at;
            s->room = want;
            return;
        }
    }
    size_t index = (size_t)((unsigned char *)s - arena.headers) / arena.header_size;
    s->der = arena.homes + index * arena.home_size;
    s->room = arena.home_size;
}

enum as_publish as_slot_publish(struct as_slot *s, const unsigned char *der, size_t len,
                                int status, time_t this_update, time_t expires)
{
    if (len > arena.capacity)
        return AS_PUBLISH_TOO_LARGE;
    unsigned char *fresh = NULL, *old = NULL;
    slot_lock(s);
    enum as_publish refused = this_update < s->newest ? AS_PUBLISH_OLDER
                              : s->revoked_at != 0 && status != V_OCSP_CERTSTATUS_REVOKED
                                  ? AS_PUBLISH_AFTER_REVOKED
                              : len > s->room && !s->shared &&
                                        (fresh = malloc(ROUND(len + SLACK))) == NULL
                                  ? AS_PUBLISH_TOO_LARGE
                                  : AS_PUBLISHED;
    if (refused != AS_PUBLISHED) {
        pthread_mutex_unlock(&s->lock); /* the held response stays */
        return refused;
    }
    s->valid = 0;
    if (fresh != NULL) {
        old = s->der;
        s->der = fresh;
        s->room = ROUND(len + SLACK);
    } else if (len > s->room) {
        grow_shared(s, len);
    }
    memcpy(s->der, der, len);
    s->len = len;
    s->status = status;
    s->this_update = this_update;
    s->expires = expires;
    s->newest = this_update;
    if (status == V_OCSP_CERTSTATUS_REVOKED && s->revoked_at == 0)
        s->revoked_at = this_update;
    s->valid = 1;
    pthread_mutex_unlock(&s->lock);
    free(old);
    return AS_PUBLISHED;
}

time_t as_slot_revoked_at(struct as_slot *s)
{
    slot_lock(s);
    time_t at = s->revoked_at;
    pthread_mutex_unlock(&s->lock);
    return at;
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
    if (ok)
        s->staples++;
    else
        s->unstapled++;
    pthread_mutex_unlock(&s->lock);
    return ok;
}

void as_slot_counts(struct as_slot *s, unsigned long *staples, unsigned long *unstapled)
{
    slot_lock(s);
    *staples = s->staples;
    *unstapled = s->unstapled;
    pthread_mutex_unlock(&s->lock);
}

int as_slot_held(struct as_slot *s, int *status, time_t *this_update, time_t *expires)
{
    slot_lock(s);
    int valid = s->valid;
    *status = valid ? s->status : -1;
    *this_update = valid ? s->this_update : 0;
    *expires = valid ? s->expires : 0;
    pthread_mutex_unlock(&s->lock);
    return valid;
}

time_t as_slot_expires(struct as_slot *s, time_t *this_update)
{
    int status;
    time_t this, expires;
    as_slot_held(s, &status, &this, &expires);
    if (this_update != NULL)
        *this_update = this;
    return expires;
}

pid_t as_slot_fetcher(const struct as_slot *s)
{
    return atomic_load(&s->fetcher);
}

uid_t as_slot_owner(const struct as_slot *s)
{
    return s->owner;
}

int as_slot_take_over(struct as_slot *s, pid_t from, pid_t to)
{
    if (!atomic_compare_exchange_strong(&s->fetcher, &from, to))
        return 0;
    if (s->shared)
        atomic_store(&arena.meta->allocator, to);
    return 1;
}
