/* The handshake path's data structures: the pointer map (growth keeps every
 * key; absent keys miss) and a certificate's slot (copy, replace, expiry). */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/crypto.h>

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

    struct as_slot s;
    unsigned char *out = NULL;
    size_t len = 0;
    const time_t now = 1000000;
    as_slot_init(&s);
    ok(!as_slot_copy(&s, now, &out, &len), "an empty slot staples nothing");
    is_long(as_slot_expires(&s), 0, "and holds nothing");

    unsigned char *der = malloc(3);
    memcpy(der, "abc", 3);
    ok(as_slot_publish(&s, der, 3, 0, now - 10, now + 100), "publish");
    ok(as_slot_copy(&s, now, &out, &len) && len == 3 && memcmp(out, "abc", 3) == 0,
       "a fresh response is copied");
    ok(out != der, "into a new buffer (OpenSSL takes ownership of it)");
    OPENSSL_free(out);
    ok(!as_slot_copy(&s, now + 100, &out, &len), "not at its expiry");
    ok(!as_slot_copy(&s, now + 5000, &out, &len), "nor after");
    is_long(as_slot_expires(&s), now + 100, "expiry is reported");

    der = malloc(4);
    memcpy(der, "wxyz", 4);
    as_slot_publish(&s, der, 4, 1, now, now + 200);
    ok(as_slot_copy(&s, now + 150, &out, &len) && len == 4 && memcmp(out, "wxyz", 4) == 0,
       "a newer response replaces the old one");
    OPENSSL_free(out);
    return tap_done();
}
