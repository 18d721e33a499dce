/* ptrmap.h: a map from pointer to pointer for the handshake path.  Readers
 * take no lock; writers (put, remove) must be serialized by the caller.
 * A table that is replaced (grown, or rebuilt without its removed entries)
 * is freed by the writer that replaces it once no reader can still be in
 * it: readers announce themselves in one of two counters, by epoch, and
 * the writer waits for both to drain in turn (a reader spends nanoseconds
 * in the map).  Memory follows the entries present, whatever the number of
 * puts and removes. */
#ifndef AS_PTRMAP_H
#define AS_PTRMAP_H

#include <stdatomic.h>
#include <stddef.h>

struct as_ptrmap_table;

struct as_ptrmap {
    struct as_ptrmap_table *_Atomic table;
    size_t count;          /* keys present */
    size_t used;           /* slots not empty: keys present and removed ones */
    atomic_uint epoch;     /* which of readers[] a reader counts itself in */
    _Alignas(64) atomic_long readers[2];
};

/* The value of key, NULL if absent.  Lock-free. */
void *as_ptrmap_get(struct as_ptrmap *m, const void *key);
/* Inserts or replaces; returns 0 on allocation failure. Caller serializes. */
int as_ptrmap_put(struct as_ptrmap *m, const void *key, void *value);
/* Removes key if present (1), else 0.  No reader may be looking key itself
 * up (the caller guarantees it: its object is being freed).  Caller
 * serializes. */
int as_ptrmap_remove(struct as_ptrmap *m, const void *key);
/* In a forked child: the readers counted are threads that are not here. */
void as_ptrmap_after_fork(struct as_ptrmap *m);
/* Frees everything; only when no reader can be running. */
void as_ptrmap_free(struct as_ptrmap *m);

#endif
