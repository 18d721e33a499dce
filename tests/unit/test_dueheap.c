/* The refresher's due-time heap: always yields the earliest, whatever the
 * order of insertions, moves and removals; never allocates past its
 * reservation. */
#include <stdlib.h>

#include "dueheap.h"
#include "tap.h"

#define N 2000

/* Every element's recorded position matches where it sits, and the heap
 * order holds. */
static int consistent(const struct as_dueheap *h)
{
    for (size_t i = 0; i < h->len; i++) {
        if (h->items[i]->pos != i + 1)
            return 0;
        if (i > 0 && h->items[(i - 1) / 2]->at > h->items[i]->at)
            return 0;
    }
    return 1;
}

int main(void)
{
    static struct as_due d[N];
    struct as_dueheap h = { 0 };
    unsigned seed = 12345;

    ok(as_dueheap_top(&h) == NULL, "an empty heap has no top");
    ok(!as_dueheap_set(&h, &d[0], 5) && d[0].pos == 0, "no room, no insertion");
    ok(as_dueheap_reserve(&h, N), "reserve %d", N);

    for (int i = 0; i < N; i++)
        as_dueheap_set(&h, &d[i], 1 + (time_t)(rand_r(&seed) % 100000));
    ok(h.len == N && consistent(&h), "%d insertions in random order", N);

    /* Move some, take some out, park some. */
    for (int i = 0; i < N; i += 3)
        as_dueheap_set(&h, &d[i], 1 + (time_t)(rand_r(&seed) % 100000));
    for (int i = 1; i < N; i += 7)
        as_dueheap_set(&h, &d[i], 0);
    for (int i = 2; i < N; i += 11)
        as_dueheap_remove(&h, &d[i]);
    ok(consistent(&h), "after moves and removals");
    ok(d[1].pos == 0 && d[1].at == 0, "set to 0: out, and not due");
    ok(d[2].pos == 0 && d[2].at != 0, "removed: out, its time kept (parked)");
    as_dueheap_remove(&h, &d[2]);
    ok(consistent(&h), "removing twice is harmless");

    /* Popping yields a non-decreasing sequence of every element left. */
    size_t left = h.len, popped = 0;
    time_t last = 0;
    int sorted = 1;
    struct as_due *top;
    while ((top = as_dueheap_top(&h)) != NULL) {
        if (top->at < last)
            sorted = 0;
        last = top->at;
        as_dueheap_set(&h, top, 0);
        popped++;
    }
    ok(sorted && popped == left, "the earliest first, every one (%zu)", popped);

    /* The refresher's pattern: take the top, put it back later. */
    for (int i = 0; i < 100; i++)
        as_dueheap_set(&h, &d[i], 1000 + i);
    int order = 1;
    for (int round = 0; round < 1000; round++) {
        top = as_dueheap_top(&h);
        if (top->at != 1000 + round)
            order = 0;
        as_dueheap_set(&h, top, top->at + 100);
    }
    ok(order && consistent(&h), "rescheduling the top keeps the order");
    as_dueheap_free(&h);
    return tap_done();
}
