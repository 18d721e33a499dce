/* ptrmap.c: open addressing with linear probing.  A slot's value is stored
 * before its key is published (release); a reader that sees the key
 * (acquire) sees the value.  A removed key leaves a tombstone, which keeps
 * the probe chains of other keys whole and is reused by a later put; a
 * table whose slots fill with tombstones is rebuilt. */
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

#include "ptrmap.h"

#define MIN_SIZE 64

static const char tombstone_mark;
#define TOMBSTONE ((const void *)&tombstone_mark)

struct slot {
    const void *_Atomic key;
    void *_Atomic value;
};

struct as_ptrmap_table {
    size_t mask;
    struct slot slots[];
};

static size_t hash(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

/* The slot holding key in t, or NULL. */
static struct slot *find(struct as_ptrmap_table *t, const void *key)
{
    for (size_t i = hash(key) & t->mask, n = 0; n <= t->mask; i = (i + 1) & t->mask, n++) {
        const void *k = atomic_load_explicit(&t->slots[i].key, memory_order_acquire);
        if (k == key)
            return &t->slots[i];
        if (k == NULL)
            return NULL;
    }
    return NULL;
}

void *as_ptrmap_get(struct as_ptrmap *m, const void *key)
{
    if (key == NULL)
        return NULL;
    /* Counted in the epoch's counter while in the table (seq_cst: a writer
     * that sees the counter at zero after flipping the epoch knows a reader
     * that comes later loads the table it published before). */
    unsigned e = atomic_load(&m->epoch) & 1;
    atomic_fetch_add(&m->readers[e], 1);
    struct as_ptrmap_table *t = atomic_load(&m->table);
    void *value = NULL;
    struct slot *s = t == NULL ? NULL : find(t, key);
    if (s != NULL)
        value = atomic_load_explicit(&s->value, memory_order_relaxed);
    atomic_fetch_sub_explicit(&m->readers[e], 1, memory_order_release);
    return value;
}

/* Waits until no reader can be in a table replaced before this call: each
 * counter in turn is retired by an epoch flip and drained. */
static void wait_for_readers(struct as_ptrmap *m)
{
    for (int round = 0; round < 2; round++) {
        unsigned e = atomic_fetch_add(&m->epoch, 1) & 1;
        while (atomic_load(&m->readers[e]) != 0)
            sched_yield();
    }
}

static struct as_ptrmap_table *table_new(size_t size)
{
    struct as_ptrmap_table *t = calloc(1, sizeof(*t) + size * sizeof(struct slot));
    if (t != NULL)
        t->mask = size - 1;
    return t;
}

/* Puts key (absent from t) in the first empty or removed slot of its chain;
 * returns 1 if that slot was empty. */
static int table_insert(struct as_ptrmap_table *t, const void *key, void *value)
{
    for (size_t i = hash(key) & t->mask;; i = (i + 1) & t->mask) {
        const void *k = atomic_load_explicit(&t->slots[i].key, memory_order_relaxed);
        if (k == NULL || k == TOMBSTONE) {
            atomic_store_explicit(&t->slots[i].value, value, memory_order_relaxed);
            atomic_store_explicit(&t->slots[i].key, key, memory_order_release);
            return k == NULL;
        }
    }
}

/* Replaces the table by one sized for count + 1 keys, without tombstones;
 * frees the old one once no reader is in it. */
static int rebuild(struct as_ptrmap *m, struct as_ptrmap_table *t)
{
    size_t size = MIN_SIZE;
    while (size < (m->count + 1) * 4)
        size *= 2;
    struct as_ptrmap_table *n = table_new(size);
    if (n == NULL)
        return 0;
    for (size_t i = 0; t != NULL && i <= t->mask; i++) {
        const void *k = atomic_load_explicit(&t->slots[i].key, memory_order_relaxed);
        if (k != NULL && k != TOMBSTONE)
            table_insert(n, k, atomic_load_explicit(&t->slots[i].value, memory_order_relaxed));
    }
    m->used = m->count;
    atomic_store(&m->table, n);
    if (t != NULL) {
        wait_for_readers(m);
        free(t);
    }
    return 1;
}

int as_ptrmap_put(struct as_ptrmap *m, const void *key, void *value)
{
    struct as_ptrmap_table *t = atomic_load_explicit(&m->table, memory_order_relaxed);
    struct slot *s = t == NULL ? NULL : find(t, key);
    if (s != NULL) {
        atomic_store_explicit(&s->value, value, memory_order_release);
        return 1;
    }
    size_t size = t == NULL ? 0 : t->mask + 1;
    if ((m->count + 1) * 2 > size || (m->used + 1) * 4 > size * 3) {
        if (!rebuild(m, t))
            return 0;
        t = atomic_load_explicit(&m->table, memory_order_relaxed);
    }
    m->used += table_insert(t, key, value);
    m->count++;
    return 1;
}

int as_ptrmap_remove(struct as_ptrmap *m, const void *key)
{
    struct as_ptrmap_table *t = atomic_load_explicit(&m->table, memory_order_relaxed);
    struct slot *s = t == NULL || key == NULL ? NULL : find(t, key);
    if (s == NULL)
        return 0;
    atomic_store_explicit(&s->key, TOMBSTONE, memory_order_release);
    m->count--;
    return 1;
}

void as_ptrmap_after_fork(struct as_ptrmap *m)
{
    atomic_store(&m->readers[0], 0);
    atomic_store(&m->readers[1], 0);
}

void as_ptrmap_free(struct as_ptrmap *m)
{
    free(atomic_load_explicit(&m->table, memory_order_relaxed));
    m->table = NULL;
    m->count = m->used = 0;
}
