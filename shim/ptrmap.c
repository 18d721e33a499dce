/* ptrmap.c: open addressing with linear probing.  A slot's value is stored
 * before its key is published (release); a reader that sees the key
 * (acquire) sees the value. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "ptrmap.h"

struct slot {
    const void *_Atomic key;
    void *_Atomic value;
};

struct as_ptrmap_table {
    size_t mask;
    struct as_ptrmap_table *next_retired;
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

void *as_ptrmap_get(struct as_ptrmap *m, const void *key)
{
    struct as_ptrmap_table *t = atomic_load_explicit(&m->table, memory_order_acquire);
    if (t == NULL || key == NULL)
        return NULL;
    for (size_t i = hash(key) & t->mask;; i = (i + 1) & t->mask) {
        const void *k = atomic_load_explicit(&t->slots[i].key, memory_order_acquire);
        if (k == key)
            return atomic_load_explicit(&t->slots[i].value, memory_order_relaxed);
        if (k == NULL)
            return NULL;
    }
}

static struct as_ptrmap_table *table_new(size_t size)
{
    struct as_ptrmap_table *t = calloc(1, sizeof(*t) + size * sizeof(struct slot));
    if (t != NULL)
        t->mask = size - 1;
    return t;
}

static void table_set(struct as_ptrmap_table *t, const void *key, void *value)
{
    for (size_t i = hash(key) & t->mask;; i = (i + 1) & t->mask) {
        const void *k = atomic_load_explicit(&t->slots[i].key, memory_order_relaxed);
        if (k == key || k == NULL) {
            atomic_store_explicit(&t->slots[i].value, value, memory_order_relaxed);
            atomic_store_explicit(&t->slots[i].key, key, memory_order_release);
            return;
        }
    }
}

int as_ptrmap_put(struct as_ptrmap *m, const void *key, void *value)
{
    struct as_ptrmap_table *t = atomic_load_explicit(&m->table, memory_order_relaxed);
    size_t size = t == NULL ? 0 : t->mask + 1;
    if ((m->count + 1) * 2 > size) {
        size_t nsize = size == 0 ? 64 : size * 2;
        struct as_ptrmap_table *n = table_new(nsize);
        if (n == NULL)
            return 0;
        for (size_t i = 0; i < size; i++) {
            const void *k = atomic_load_explicit(&t->slots[i].key, memory_order_relaxed);
            if (k != NULL)
                table_set(n, k, atomic_load_explicit(&t->slots[i].value, memory_order_relaxed));
        }
        if (t != NULL) {
            t->next_retired = m->retired;
            m->retired = t;
        }
        atomic_store_explicit(&m->table, n, memory_order_release);
        t = n;
    }
    if (as_ptrmap_get(m, key) == NULL)
        m->count++;
    table_set(t, key, value);
    return 1;
}

void as_ptrmap_free(struct as_ptrmap *m)
{
    free(atomic_load_explicit(&m->table, memory_order_relaxed));
    while (m->retired != NULL) {
        struct as_ptrmap_table *next = m->retired->next_retired;
        free(m->retired);
        m->retired = next;
    }
    m->table = NULL;
    m->count = 0;
}
