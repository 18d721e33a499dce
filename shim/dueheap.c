/* dueheap.c: see dueheap.h. */
#include <stdlib.h>

#include "dueheap.h"

static void place(struct as_dueheap *h, size_t i, struct as_due *d)
{
    h->items[i] = d;
    d->pos = i + 1;
}

static void sift_up(struct as_dueheap *h, size_t i)
{
    struct as_due *d = h->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->items[parent]->at <= d->at)
            break;
        place(h, i, h->items[parent]);
        i = parent;
    }
    place(h, i, d);
}

static void sift_down(struct as_dueheap *h, size_t i)
{
    struct as_due *d = h->items[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->len)
            break;
        if (child + 1 < h->len && h->items[child + 1]->at < h->items[child]->at)
            child++;
        if (d->at <= h->items[child]->at)
            break;
        place(h, i, h->items[child]);
        i = child;
    }
    place(h, i, d);
}

int as_dueheap_reserve(struct as_dueheap *h, size_t n)
{
    if (n <= h->cap)
        return 1;
    size_t cap = h->cap ? h->cap : 64;
    while (cap < n)
        cap *= 2;
    struct as_due **items = realloc(h->items, cap * sizeof(*items));
    if (items == NULL)
        return 0;
    h->items = items;
    h->cap = cap;
    return 1;
}

void as_dueheap_remove(struct as_dueheap *h, struct as_due *d)
{
    if (d->pos == 0)
        return;
    size_t i = d->pos - 1;
    d->pos = 0;
    struct as_due *last = h->items[--h->len];
    if (i == h->len)
        return;
    place(h, i, last);
    sift_up(h, i);
    sift_down(h, last->pos - 1);
}

int as_dueheap_set(struct as_dueheap *h, struct as_due *d, time_t at)
{
    if (at == 0) {
        as_dueheap_remove(h, d);
        d->at = 0;
        return 1;
    }
    d->at = at;
    if (d->pos == 0) {
        if (h->len == h->cap)
            return 0;
        place(h, h->len++, d);
    }
    sift_up(h, d->pos - 1);
    sift_down(h, d->pos - 1);
    return 1;
}

struct as_due *as_dueheap_top(const struct as_dueheap *h)
{
    return h->len > 0 ? h->items[0] : NULL;
}

void as_dueheap_free(struct as_dueheap *h)
{
    free(h->items);
    h->items = NULL;
    h->len = h->cap = 0;
}
