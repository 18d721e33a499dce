/* ptrmap.h: a map from pointer to pointer for the handshake path.  Readers
 * take no lock; writers must be serialized by the caller.  No removal.  A
 * grown table replaces the old one, which stays allocated (on a retired list)
 * so that a reader still walking it stays safe. */
#ifndef AS_PTRMAP_H
#define AS_PTRMAP_H

#include <stddef.h>

struct as_ptrmap_table;

struct as_ptrmap {
    struct as_ptrmap_table *_Atomic table;
    struct as_ptrmap_table *retired;
    size_t count;
};

void *as_ptrmap_get(struct as_ptrmap *m, const void *key);
/* Inserts or replaces; returns 0 on allocation failure. Caller serializes. */
int as_ptrmap_put(struct as_ptrmap *m, const void *key, void *value);
/* Frees everything; only when no reader can be running. */
void as_ptrmap_free(struct as_ptrmap *m);

#endif
