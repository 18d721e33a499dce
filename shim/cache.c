/* cache.c: see cache.h.
 *
 * Shared slots live in segments: mappings made as certificates are learned,
 * the first for FIRST_SLOTS, each next one twice the last, up to
 * SEGMENT_SLOTS, so that the address space reserved follows the
 * certificates learned (a server with one certificate reserves about
 * 330 KB, not room for AUTOSTAPLE_MAX_CERTS).  A segment is made by the
 * process that hands out slots, and a process that holds a slot's pointer
 * got it there or by a fork after it: every process that can reach a slot
 * has its segment mapped.  A segment:
 *
 *   segment   one cache line: its size, what is handed out
 *   headers   slot headers (struct as_slot), dense
 *   packed    responses packed one after the other: a slot's first response
 *             gets a chunk here just big enough (plus SLACK for the small
 *             changes of size between a response and the next), so that a
 *             certificate costs its response's bytes, not a page
 *   homes     AUTOSTAPLE_MAX_RESPONSE bytes per slot, for a response that
 *             outgrows its packed chunk or needs more than PACKED_MAX
 *
 * Nothing is touched before it is used.  Each slot takes at most one chunk
 * of PACKED_MAX bytes at most from its segment's packed area, which
 * therefore never runs out; a slot's home is its own.  A slot's chunk or
 * home is taken by whichever process refreshes it, under the slot's lock;
 * the packed area's counter is shared, so any of the server's processes may
 * take.  Each segment is sized to fit the room RLIMIT_AS leaves
 * (address_room.h); when not even one slot fits, slots are private. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ocsp.h>

#include "address_room.h"
#include "cache.h"
#include "lock_order.h"

#define LINE 64
#define SLACK 128          /* room for a later response a little larger */
#define PACKED_MAX 4096    /* the largest chunk taken from the packed area */
#define FIRST_SLOTS 16     /* the first segment's slots */
#define SEGMENT_SLOTS 1024 /* the most in one segment (about 21 MB at the defaults) */
#define ROUND(n) (((n) + LINE - 1) & ~(size_t)(LINE - 1))

struct segment {           /* at the start of its mapping, shared */
    _Atomic size_t packed_used;
    _Atomic size_t slots_used;  /* headers handed out here */
    size_t count;               /* headers here */
    unsigned char *headers, *packed, *homes;
    /* In the first segment only: the one process that hands out slots, the
     * one that made it, then whoever took the refresh of a shared slot over
     * (a daemon's master); and the slots handed out in every segment, held
     * to AUTOSTAPLE_MAX_CERTS.  Workers that learn certificates of their own
     * (per connection, in every worker, or in a child per connection) get
     * private slots and leave the mapping to the certificates the master
     * serves. */
    _Atomic pid_t allocator;
    _Atomic size_t slots_total;
};

struct as_slot {
    pthread_mutex_t lock;  /* robust; process-shared in the mapping */
    struct segment *segment; /* the segment holding it; NULL: private to a process */
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

/* This process's view, inherited by its forks.  Locks: lock, for making
 * segments and handing out slots. */
static struct {
    pthread_mutex_t lock;
    size_t capacity, count;  /* largest response; shared slots at most */
    size_t header_size, home_size;
    struct segment *first;   /* the first segment (the allocator's record) */
    struct segment *last;    /* the newest segment this process knows */
    int map_failed;          /* mmap refused even one slot: private from now on */
} arena = { PTHREAD_MUTEX_INITIALIZER, 16384, 1024, 0, 0, NULL, NULL, 0 };

void as_cache_configure(size_t capacity, size_t count)
{
    arena.capacity = capacity;
    arena.count = count;
}

static void init_slot(struct as_slot *s, struct segment *segment)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    if (segment != NULL)
        pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&s->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    s->segment = segment;
    s->valid = 0;
    s->len = 0;
    s->room = 0;
    s->der = NULL;
    s->staples = s->unstapled = 0;
    s->newest = s->revoked_at = 0;
    atomic_store(&s->fetcher, getpid());
    s->owner = geteuid();
}

static size_t slot_bytes(void)
{
    return arena.header_size + PACKED_MAX + arena.home_size;
}

/* A segment of up to want slots, fewer if the room under RLIMIT_AS is
 * short; NULL (and *why) if not even one fits or mmap refuses. */
static struct segment *make_segment(size_t want, enum as_cache_shortfall *why)
{
    arena.header_size = ROUND(sizeof(struct as_slot));
    arena.home_size = ROUND(arena.capacity);
    size_t head = ROUND(sizeof(struct segment));
    size_t room = as_address_room();
    size_t fits = room <= head ? 0 : (room - head) / slot_bytes();
    size_t n = want < fits ? want : fits;
    if (n == 0) {
        *why = AS_CACHE_NO_ROOM;
        return NULL;
    }
    void *p;
    while ((p = mmap(NULL, head + n * slot_bytes(), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)) == MAP_FAILED) {
        if (n == 1) {
            arena.map_failed = 1;
            *why = AS_CACHE_MAP_FAILED;
            return NULL;
        }
        n /= 2;
    }
    struct segment *g = p;
    g->count = n;
    g->headers = (unsigned char *)p + head;
    g->packed = g->headers + n * arena.header_size;
    g->homes = g->packed + n * PACKED_MAX;
    return g;
}

/* A slot from the mapping, if this process hands them out (struct
 * segment), else NULL and *why.  The counts live in the mapping: a master
 * that took the role over from the process that made the first segment (a
 * daemon's first process), and learns a certificate on a reload, takes a
 * slot no other process has, and the workers it forks next share it. */
static struct as_slot *shared_slot(enum as_cache_shortfall *why)
{
    struct as_slot *s = NULL;
    as_lock(&arena.lock, AS_LOCK_ARENA);
    if (arena.first != NULL && atomic_load(&arena.first->allocator) != getpid()) {
        *why = AS_CACHE_NOT_ALLOCATOR;
    } else if (arena.map_failed) {
        *why = AS_CACHE_MAP_FAILED;
    } else if (arena.first != NULL && atomic_load(&arena.first->slots_total) >= arena.count) {
        *why = AS_CACHE_FULL;
    } else {
        struct segment *g = arena.last;
        if (g == NULL || atomic_load(&g->slots_used) >= g->count) {
            size_t want = g == NULL ? FIRST_SLOTS : g->count * 2;
            size_t total = arena.first == NULL ? 0 : atomic_load(&arena.first->slots_total);
            if (want > SEGMENT_SLOTS)
                want = SEGMENT_SLOTS;
            if (want > arena.count - total)
                want = arena.count - total;
            if ((g = make_segment(want, why)) != NULL) {
                if (arena.first == NULL) {
                    arena.first = g;
                    atomic_store(&g->allocator, getpid());
                }
                arena.last = g;
            }
        }
        if (g != NULL) {
            size_t i = atomic_fetch_add(&g->slots_used, 1);
            atomic_fetch_add(&arena.first->slots_total, 1);
            s = (struct as_slot *)(g->headers + arena.header_size * i);
            init_slot(s, g);
        }
    }
    as_unlock(&arena.lock, AS_LOCK_ARENA);
    return s;
}

struct as_slot *as_slot_new(enum as_cache_shortfall *why)
{
    *why = AS_CACHE_SHARED;
    struct as_slot *s = shared_slot(why);
    if (s == NULL && (s = malloc(sizeof(*s))) != NULL)
        init_slot(s, NULL);
    return s;
}

int as_slot_shared(const struct as_slot *s)
{
    return s->segment != NULL;
}

void as_slot_after_fork(struct as_slot *s)
{
    if (s->segment == NULL) {
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
    if (as_lock(&s->lock, AS_LOCK_SLOT) == EOWNERDEAD)
        pthread_mutex_consistent(&s->lock);
}

/* Room for len bytes in a shared slot (whose lock is held): its packed chunk
 * the first time, if len is small enough and the packed area has room (it
 * does, unless processes died holding chunks), else its home. */
static void grow_shared(struct as_slot *s, size_t len)
{
    struct segment *g = s->segment;
    size_t want = ROUND(len + SLACK);
    if (s->der == NULL && want <= PACKED_MAX) {
        size_t at = atomic_fetch_add(&g->packed_used, want);
        if (at + want <= g->count * PACKED_MAX) {
            s->der = g->packed + at;
            s->room = want;
            return;
        }
    }
    size_t index = (size_t)((unsigned char *)s - g->headers) / arena.header_size;
    s->der = g->homes + index * arena.home_size;
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
                              : len > s->room && s->segment == NULL &&
                                        (fresh = malloc(ROUND(len + SLACK))) == NULL
                                  ? AS_PUBLISH_TOO_LARGE
                                  : AS_PUBLISHED;
    if (refused != AS_PUBLISHED) {
        as_unlock(&s->lock, AS_LOCK_SLOT); /* the held response stays */
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
    as_unlock(&s->lock, AS_LOCK_SLOT);
    free(old);
    return AS_PUBLISHED;
}

time_t as_slot_revoked_at(struct as_slot *s)
{
    slot_lock(s);
    time_t at = s->revoked_at;
    as_unlock(&s->lock, AS_LOCK_SLOT);
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
    as_unlock(&s->lock, AS_LOCK_SLOT);
    return ok;
}

void as_slot_counts(struct as_slot *s, unsigned long *staples, unsigned long *unstapled)
{
    slot_lock(s);
    *staples = s->staples;
    *unstapled = s->unstapled;
    as_unlock(&s->lock, AS_LOCK_SLOT);
}

int as_slot_held(struct as_slot *s, int *status, time_t *this_update, time_t *expires)
{
    slot_lock(s);
    int valid = s->valid;
    *status = valid ? s->status : -1;
    *this_update = valid ? s->this_update : 0;
    *expires = valid ? s->expires : 0;
    as_unlock(&s->lock, AS_LOCK_SLOT);
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
    if (s->segment != NULL && arena.first != NULL)
        atomic_store(&arena.first->allocator, to);
    return 1;
}
