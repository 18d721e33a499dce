/* cache.c: see cache.h. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cache.h"

void as_slot_init(struct as_slot *s)
{
    pthread_rwlock_init(&s->lock, NULL);
    s->cur = NULL;
}

void as_slot_reinit(struct as_slot *s)
{
    pthread_rwlock_init(&s->lock, NULL);
}

static void staple_free(struct as_staple *st)
{
    if (st != NULL) {
        free(st->der);
        free(st);
    }
}

int as_slot_publish(struct as_slot *s, unsigned char *der, size_t len, int status,
                    time_t this_update, time_t expires)
{
    struct as_staple *st = malloc(sizeof(*st));
    if (st == NULL) {
        free(der);
        return 0;
    }
    *st = (struct as_staple){ der, len, status, this_update, expires };
    pthread_rwlock_wrlock(&s->lock);
    struct as_staple *old = s->cur;
    s->cur = st;
    pthread_rwlock_unlock(&s->lock);
    staple_free(old);
    return 1;
}

int as_slot_copy(struct as_slot *s, time_t now, unsigned char **out, size_t *len)
{
    int ok = 0;
    pthread_rwlock_rdlock(&s->lock);
    const struct as_staple *st = s->cur;
    if (st != NULL && now < st->expires && (*out = OPENSSL_malloc(st->len)) != NULL) {
        memcpy(*out, st->der, st->len);
        *len = st->len;
        ok = 1;
    }
    pthread_rwlock_unlock(&s->lock);
    return ok;
}

time_t as_slot_expires(struct as_slot *s)
{
    pthread_rwlock_rdlock(&s->lock);
    time_t t = s->cur != NULL ? s->cur->expires : 0;
    pthread_rwlock_unlock(&s->lock);
    return t;
}
