/* dueheap.h: things ordered by when they are due, in a binary min-heap, so
 * that the refresher finds the next certificate to fetch in O(1) and
 * reschedules one in O(log n), however many there are.  Each element is a
 * struct as_due embedded in its owner and knows its own place in the heap.
 * Pure data structure: the caller serializes every call (the registry lock). */
#ifndef AS_DUEHEAP_H
#define AS_DUEHEAP_H

#include <stddef.h>
#include <time.h>

struct as_due {
    time_t at;    /* when it is due; 0 = not scheduled */
    size_t pos;   /* 1 + its index in the heap, 0 if not in it */
};

struct as_dueheap {
    struct as_due **items;
    size_t len, cap;
};

/* Room for n elements in all, so that as_dueheap_set never allocates
 * beyond it.  Returns 0 if out of memory (the heap stays as it was). */
int as_dueheap_reserve(struct as_dueheap *h, size_t n);

/* d->at = at, and d's place in the heap follows: at == 0 takes it out, any
 * other time puts it in (or moves it).  Needs room (as_dueheap_reserve) for
 * an element not in the heap yet; without it, d stays out and 0 is
 * returned. */
int as_dueheap_set(struct as_dueheap *h, struct as_due *d, time_t at);

/* Takes d out of the heap and leaves d->at as it is (d is "parked"). */
void as_dueheap_remove(struct as_dueheap *h, struct as_due *d);

/* The earliest element, NULL if the heap is empty. */
struct as_due *as_dueheap_top(const struct as_dueheap *h);

void as_dueheap_free(struct as_dueheap *h);

#endif
