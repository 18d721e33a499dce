/* The object map after any number of reloads: keys removed as their objects
 * are freed leave the others found, the table's size follows the keys
 * present, and readers on other threads always find a key that stays,
 * while a writer churns the rest and replaces the table under them. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ptrmap.h"
#include "tap.h"

#define STAYING 100
#define CHURN 200000

static struct as_ptrmap m;
static char staying[STAYING];
static atomic_int stop;
static atomic_long misses, lookups;

static void *reader(void *arg)
{
    (void)arg;
    long miss = 0, n = 0;
    while (!atomic_load(&stop)) {
        for (int i = 0; i < STAYING; i++, n++)
            miss += as_ptrmap_get(&m, &staying[i]) != (void *)(uintptr_t)(i + 1);
    }
    atomic_fetch_add(&misses, miss);
    atomic_fetch_add(&lookups, n);
    return NULL;
}

int main(void)
{
    static char keys[1000];
    for (int i = 0; i < 1000; i++)
        as_ptrmap_put(&m, &keys[i], (void *)(uintptr_t)(i + 1));
    int removed = 1;
    for (int i = 0; i < 1000; i += 2)
        removed &= as_ptrmap_remove(&m, &keys[i]);
    ok(removed && m.count == 500, "every other key removed");
    int right = 1;
    for (int i = 0; i < 1000; i++)
        right &= as_ptrmap_get(&m, &keys[i]) == (i % 2 ? (void *)(uintptr_t)(i + 1) : NULL);
    ok(right, "the removed miss, the others are found past their tombstones");
    ok(!as_ptrmap_remove(&m, &keys[0]), "removing an absent key: 0");
    as_ptrmap_put(&m, &keys[0], (void *)7);
    ok(as_ptrmap_get(&m, &keys[0]) == (void *)7 && m.count == 501, "a removed key can come back");
    as_ptrmap_free(&m);

    /* Reloads: the same 100 certificates stay, each reload maps new objects
     * (new addresses) and frees the last ones.  Readers on two threads look
     * the staying keys up all along. */
    for (int i = 0; i < STAYING; i++)
        as_ptrmap_put(&m, &staying[i], (void *)(uintptr_t)(i + 1));
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, reader, NULL);
    /* Mostly 8 objects a reload; every 50th reload 600, which grows the
     * table, and the next shrinks it back: tables are replaced under the
     * readers. */
    static char *prev[600], *fresh[600], objects[CHURN + 600];
    int nprev = 0, replaced = 0, churned = 0;
    size_t most_used = 0;
    for (int r = 0; churned < CHURN; r++) {
        int n = r % 50 == 0 ? 600 : 8;
        struct as_ptrmap_table *before = atomic_load(&m.table);
        for (int k = 0; k < n; k++) {
            fresh[k] = &objects[churned + k]; /* new addresses: tombstones everywhere */
            as_ptrmap_put(&m, fresh[k], (void *)(uintptr_t)r);
        }
        for (int k = 0; k < nprev; k++)
            as_ptrmap_remove(&m, prev[k]);
        for (int k = 0; k < n; k++)
            prev[k] = fresh[k];
        nprev = n;
        churned += n;
        replaced += atomic_load(&m.table) != before;
        if (m.used > most_used)
            most_used = m.used;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    ok(atomic_load(&misses) == 0, "readers never missed a staying key (%ld lookups, %d objects "
       "mapped and removed, the table replaced %d times under them)", atomic_load(&lookups),
       churned, replaced);
    ok(replaced > 10, "(the table was replaced: %d)", replaced);
    is_long(m.count, STAYING + nprev, "the map holds the keys present, no more");
    /* at most STAYING + 600 + 8 keys at once: the table stays sized for
     * them (4 slots a key, 3/4 of them at most in use), whatever the
     * number mapped in all */
    ok(most_used <= 8 * (STAYING + 608), "its slots in use stayed bounded by the keys present "
       "at once (%zu used at most)", most_used);
    as_ptrmap_free(&m);
    return tap_done();
}
