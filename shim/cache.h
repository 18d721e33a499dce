/* cache.h: the process-local response cache, one slot per certificate.
 * The refresher publishes a verified response; handshakes copy it out.
 * A slot's rwlock is held by a reader only for the copy and by the writer
 * only for a pointer swap, so handshakes never wait on I/O or on each other. */
#ifndef AS_CACHE_H
#define AS_CACHE_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

struct as_staple {          /* immutable once published */
    unsigned char *der;
    size_t len;
    int status;             /* V_OCSP_CERTSTATUS_GOOD or _REVOKED */
    time_t this_update;
    time_t expires;         /* never stapled at or after this */
};

struct as_slot {
    pthread_rwlock_t lock;
    struct as_staple *cur;  /* NULL until the first verified response */
};

void as_slot_init(struct as_slot *s);
/* After fork, in the child only: the lock may have been held by a thread
 * that no longer exists. */
void as_slot_reinit(struct as_slot *s);

/* Takes ownership of der (malloc'd).  Returns 0 (and frees der) on failure. */
int as_slot_publish(struct as_slot *s, unsigned char *der, size_t len, int status,
                    time_t this_update, time_t expires);

/* A fresh OPENSSL_malloc copy of the response if there is one that has not
 * expired at now, for SSL_set_tlsext_status_ocsp_resp (which takes it). */
int as_slot_copy(struct as_slot *s, time_t now, unsigned char **out, size_t *len);

/* When the held response expires (0 if none). */
time_t as_slot_expires(struct as_slot *s);

#endif
