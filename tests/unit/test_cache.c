/* The handshake path's data structures: the pointer map (growth keeps every
 * key; absent keys miss) and a certificate's slot (copy, replace, expiry). */
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ocsp.h>

#include "cache.h"
#include "ptrmap.h"
#include "tap.h"

int main(void)
{
    struct as_ptrmap m = { 0 };
    static char keys[5000];

    ok(as_ptrmap_get(&m, &keys[0]) == NULL, "an empty map misses");
    int all = 1;
    for (int i = 0; i < 5000; i++)
        all &= as_ptrmap_put(&m, &keys[i], (void *)(uintptr_t)(i + 1));
    ok(all, "5000 keys inserted (the table grew several times)");
    int found = 1;
    for (int i = 0; i < 5000; i++)
        found &= as_ptrmap_get(&m, &keys[i]) == (void *)(uintptr_t)(i + 1);
    ok(found, "every key finds its own value after growth");
    is_long(m.count, 5000, "count");
    char other;
    ok(as_ptrmap_get(&m, &other) == NULL, "an absent key misses");
    ok(as_ptrmap_get(&m, NULL) == NULL, "NULL misses");
    as_ptrmap_put(&m, &keys[7], (void *)42);
    ok(as_ptrmap_get(&m, &keys[7]) == (void *)42 && m.count == 5000, "put replaces");
    as_ptrmap_free(&m);

    unsigned char *out = NULL;
    enum as_cache_shortfall why;
    size_t len = 0;
    const time_t now = 1000000;
    as_cache_configure(100, 4);
    struct as_slot *s = as_slot_new(&why);
    ok(s != NULL, "a slot");
    is_long(as_slot_fetcher(s), getpid(), "refreshed by the process that made it");
    ok(!as_slot_copy(s, now, &out, &len), "an empty slot staples nothing");
    is_long(as_slot_expires(s, NULL), 0, "and holds nothing");

    ok(as_slot_publish(s, (const unsigned char *)"abc", 3, 0, now - 10, now + 100) == AS_PUBLISHED,
       "publish");
    ok(as_slot_copy(s, now, &out, &len) && len == 3 && memcmp(out, "abc", 3) == 0,
       "a fresh response is copied");
    OPENSSL_free(out);
    ok(!as_slot_copy(s, now + 100, &out, &len), "not at its expiry");
    ok(!as_slot_copy(s, now + 5000, &out, &len), "nor after");
    time_t this_update = 0;
    is_long(as_slot_expires(s, &this_update), now + 100, "expiry is reported");
    is_long(this_update, now - 10, "and thisUpdate");
    unsigned char big[101] = { 0 };
    ok(as_slot_publish(s, big, sizeof(big), 0, now, now + 100) == AS_PUBLISH_TOO_LARGE,
       "too large for a slot: refused");

    ok(as_slot_publish(s, (const unsigned char *)"wxyz", 4, 0, now, now + 200) == AS_PUBLISHED,
       "republish");
    ok(as_slot_copy(s, now + 150, &out, &len) && len == 4 && memcmp(out, "wxyz", 4) == 0,
       "a newer response replaces the old one");
    OPENSSL_free(out);

    /* Shared with a forked process: what the child publishes, the parent
     * copies out. */
    pid_t child = fork();
    if (child == 0) {
        as_slot_publish(s, (const unsigned char *)"from child", 10, 0, now, now + 300);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    ok(as_slot_copy(s, now, &out, &len) && len == 10 && memcmp(out, "from child", 10) == 0,
       "a response published by a forked process is seen at once");
    OPENSSL_free(out);
    ok(as_slot_take_over(s, getpid(), child) && as_slot_fetcher(s) == child,
       "the fetcher role can be handed over");
    ok(!as_slot_take_over(s, getpid(), 1), "only by whoever names the current holder");
    ok(as_slot_take_over(s, child, getpid()), "and taken back (with the handing out of slots)");

    /* Truth only goes forward: not back to an older thisUpdate, not from
     * revoked to good, whoever publishes. */
    struct as_slot *t = as_slot_new(&why);
    const unsigned char *r = (const unsigned char *)"resp";
    ok(as_slot_publish(t, r, 4, V_OCSP_CERTSTATUS_GOOD, now, now + 100) == AS_PUBLISHED,
       "monotonic: good at thisUpdate T");
    ok(as_slot_publish(t, r, 4, V_OCSP_CERTSTATUS_GOOD, now, now + 100) == AS_PUBLISHED,
       "monotonic: the same thisUpdate again (a refresh that got the same answer)");
    ok(as_slot_publish(t, r, 4, V_OCSP_CERTSTATUS_GOOD, now - 1, now + 500) == AS_PUBLISH_OLDER,
       "monotonic: an older thisUpdate is refused, even valid for longer");
    ok(as_slot_publish(t, r, 4, V_OCSP_CERTSTATUS_REVOKED, now + 10, now + 100) == AS_PUBLISHED,
       "monotonic: revoked, newer: taken");
    is_long(as_slot_revoked_at(t), now + 10, "monotonic: the revocation is remembered");
    ok(as_slot_publish(t, r, 4, V_OCSP_CERTSTATUS_GOOD, now + 20, now + 100) ==
       AS_PUBLISH_AFTER_REVOKED, "monotonic: good after revoked is refused, even newer");
    ok(as_slot_publish(t, r, 4, V_OCSP_CERTSTATUS_GOOD, now - 600, now + 100) == AS_PUBLISH_OLDER,
       "monotonic: and the old good replayed is refused as older");
    int st;
    time_t tu, ex;
    ok(as_slot_held(t, &st, &tu, &ex) && st == V_OCSP_CERTSTATUS_REVOKED && tu == now + 10,
       "monotonic: the revocation stays held");
    ok(as_slot_publish(t, r, 4, V_OCSP_CERTSTATUS_REVOKED, now + 30, now + 200) == AS_PUBLISHED,
       "monotonic: a newer revocation is taken");
    is_long(as_slot_revoked_at(t), now + 10, "monotonic: the first revocation is kept");
    pid_t sharer = fork();
    if (sharer == 0)
        _exit(as_slot_publish(t, r, 4, V_OCSP_CERTSTATUS_GOOD, now + 40, now + 300) ==
              AS_PUBLISH_AFTER_REVOKED ? 0 : 1);
    waitpid(sharer, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "monotonic: another process sharing the slot is refused too");
    ok(as_slot_held(t, &st, &tu, &ex) && st == V_OCSP_CERTSTATUS_REVOKED,
       "monotonic: and the revocation stays held for every process");

    /* Four slots fit in the mapping (two taken above); more are private to
     * this process. */
    int handed = 1, shared = 1;
    for (int i = 0; i < 2; i++)
        shared &= as_slot_new(&why) != NULL && why == AS_CACHE_SHARED;
    ok(shared, "slots up to the count are shared");
    for (int i = 0; i < 6; i++)
        handed &= (t = as_slot_new(&why)) != NULL && !as_slot_shared(t) && why == AS_CACHE_FULL;
    ok(handed, "slots beyond the count are still handed out, private, saying why");
    return tap_done();
}
