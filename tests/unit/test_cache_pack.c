/* The shared mapping packs responses: many slots each hold their own
 * response, of any size up to the limit, whatever the order of sizes; a
 * response that outgrows its place moves without losing anything; a
 * forked process sees what is published, wherever it lands. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cache.h"
#include "tap.h"

#define SLOTS 1000
#define CAPACITY 5000

static const time_t now = 1000000;

/* Response i of round r: len bytes derived from (i, r). */
static void fill(unsigned char *buf, size_t len, int i, int r)
{
    for (size_t k = 0; k < len; k++)
        buf[k] = (unsigned char)(i * 31 + r * 7 + k);
}

static int holds(struct as_slot *s, int i, int r, size_t len)
{
    unsigned char want[CAPACITY], *out = NULL;
    size_t got = 0;
    fill(want, len, i, r);
    int same = as_slot_copy(s, now, &out, &got) && got == len && memcmp(out, want, len) == 0;
    OPENSSL_free(out);
    return same;
}

static size_t size_of(int i, int r)
{
    return (size_t)(1 + (i * 37 + r * 1001) % 1500);
}

int main(void)
{
    static struct as_slot *slot[SLOTS + 10];
    unsigned char buf[CAPACITY + 1];
    enum as_cache_shortfall why;

    as_cache_configure(CAPACITY, SLOTS);
    int made = 1, stored = 1;
    for (int i = 0; i < SLOTS; i++) {
        made &= (slot[i] = as_slot_new(&why)) != NULL && why == AS_CACHE_SHARED;
        fill(buf, size_of(i, 0), i, 0);
        stored &= as_slot_publish(slot[i], buf, size_of(i, 0), 0, now, now + 100) == AS_PUBLISHED;
    }
    ok(made && stored, "%d shared slots (in several segments), each with a response of its own size",
       SLOTS);
    int all = 1;
    for (int i = 0; i < SLOTS; i++)
        all &= holds(slot[i], i, 0, size_of(i, 0));
    ok(all, "each holds exactly its own response (no chunk overlaps another)");

    /* Sizes change: some shrink, some grow a little (in place), some grow
     * past their chunk (to their home), some to the limit. */
    for (int i = 0; i < SLOTS; i++) {
        size_t len = i % 10 == 0 ? CAPACITY : i % 3 == 0 ? size_of(i, 0) * 3 : size_of(i, 1);
        if (len > CAPACITY)
            len = CAPACITY;
        fill(buf, len, i, 1);
        stored &= as_slot_publish(slot[i], buf, len, 0, now, now + 100) == AS_PUBLISHED;
    }
    all = 1;
    for (int i = 0; i < SLOTS; i++) {
        size_t len = i % 10 == 0 ? CAPACITY : i % 3 == 0 ? size_of(i, 0) * 3 : size_of(i, 1);
        all &= holds(slot[i], i, 1, len > CAPACITY ? CAPACITY : len);
    }
    ok(stored && all, "after growing, shrinking and moving, each holds its newest response");

    fill(buf, CAPACITY + 1, 0, 2);
    ok(as_slot_publish(slot[1], buf, CAPACITY + 1, 0, now, now + 100) == AS_PUBLISH_TOO_LARGE,
       "over the limit: refused");
    ok(holds(slot[1], 1, 1, size_of(1, 1)), "and the held response stays");

    /* A forked process refreshes: what it publishes, grown or not, is seen
     * here, in every segment. */
#define REFRESHED(i) ((i) < 20 || (i) % 13 == 0)
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < SLOTS; i++) {
            if (!REFRESHED(i))
                continue;
            size_t len = i % 2 ? 4000 : 50;
            fill(buf, len, i, 3);
            as_slot_publish(slot[i], buf, len, 0, now, now + 100);
        }
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    all = 1;
    for (int i = 0; i < SLOTS; i++)
        all &= REFRESHED(i) ? holds(slot[i], i, 3, i % 2 ? 4000 : 50) : 1;
    ok(all, "responses published by a forked process are seen at once");

    /* Beyond the mapping: private slots, same behaviour. */
    all = 1;
    for (int i = SLOTS; i < SLOTS + 10; i++) {
        all &= (slot[i] = as_slot_new(&why)) != NULL;
        for (int r = 0; r < 3 && all; r++) {
            size_t len = r == 1 ? 4500 : 10 + (size_t)r;
            fill(buf, len, i, r);
            all &= as_slot_publish(slot[i], buf, len, 0, now, now + 100) == AS_PUBLISHED &&
                   holds(slot[i], i, r, len);
        }
    }
    ok(all, "private slots grow and shrink too");
    return tap_done();
}
