/* cache.h: the response cache, one slot per certificate, in memory shared
 * by the process that created it and every process it forks (a server's
 * workers): the process that refreshes a certificate publishes into its
 * slot, and every worker's handshakes copy from it at once.
 *
 * A slot's lock is a process-shared robust mutex, held only to copy a
 * response in or out; a slot is marked invalid while it is written, so a
 * process killed in the middle of a write leaves an empty slot, never a torn
 * response.  Slots come from mappings made as certificates are learned
 * (sized to the room RLIMIT_AS leaves), by the process that made the first,
 * or the one that took its role over (as_slot_take_over: a daemon's master,
 * which forks its workers after a reload too); in other processes, and when
 * AUTOSTAPLE_MAX_CERTS slots are handed out or no mapping can be made, slots
 * are private to the process.  A slot's response takes about its own size
 * in memory: the mappings pack them (cache.c), and a private slot allocates
 * what it holds. */
#ifndef AS_CACHE_H
#define AS_CACHE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct as_slot;

/* Sets the shared slots' sizes: capacity: the largest response; count:
 * how many slots are shared at most. */
void as_cache_configure(size_t capacity, size_t count);

/* Why a slot is private to this process. */
enum as_cache_shortfall {
    AS_CACHE_SHARED,        /* it is not: it is shared */
    AS_CACHE_NOT_ALLOCATOR, /* another process hands out shared slots (a worker's own certificate) */
    AS_CACHE_FULL,          /* count slots are handed out */
    AS_CACHE_NO_ROOM,       /* RLIMIT_AS leaves no room for even one */
    AS_CACHE_MAP_FAILED,    /* mmap refused even one (for good, in this process) */
};

/* A new, empty slot whose fetcher is this process, and in *why whether it
 * is shared; NULL if out of memory. */
struct as_slot *as_slot_new(enum as_cache_shortfall *why);

/* Whether the slot is in a shared mapping. */
int as_slot_shared(const struct as_slot *s);

/* After fork, in the child: a private slot is the child's own copy, to
 * refresh itself, and its lock may have been held by a thread that does not
 * exist here.  (A shared one is released by its holder, in the parent, and
 * stays refreshed by its fetcher.) */
void as_slot_after_fork(struct as_slot *s);

/* What as_slot_publish did.  A slot's truth only goes forward: a response
 * older than the newest it ever held (by thisUpdate) is refused (a replay,
 * a cache serving an old copy), and so is a good one once it has held a
 * revoked one (a responder's error or a replay), for as long as the slot
 * lives: the server's lifetime. */
enum as_publish {
    AS_PUBLISHED,
    AS_PUBLISH_TOO_LARGE,   /* over the slot's capacity, or no memory */
    AS_PUBLISH_OLDER,       /* thisUpdate before the newest held so far */
    AS_PUBLISH_AFTER_REVOKED, /* good, after revoked */
};

/* Copies der (which stays the caller's), whose status is status
 * (V_OCSP_CERTSTATUS_*), into the slot, unless refused as above; the held
 * response then stays.  Checked and stored under the slot's lock. */
enum as_publish as_slot_publish(struct as_slot *s, const unsigned char *der, size_t len,
                                int status, time_t this_update, time_t expires);

/* The thisUpdate of the first revoked response the slot held, 0 if none. */
time_t as_slot_revoked_at(struct as_slot *s);

/* A fresh OPENSSL_malloc copy of the response if there is one that has not
 * expired at now, for SSL_set_tlsext_status_ocsp_resp (which takes it).
 * Counts the call as a staple (1 returned) or an unstapled handshake (0). */
int as_slot_copy(struct as_slot *s, time_t now, unsigned char **out, size_t *len);

/* What as_slot_copy counted, in every process sharing the slot (a private
 * slot copied at fork starts again from 0 in the child). */
void as_slot_counts(struct as_slot *s, unsigned long *staples, unsigned long *unstapled);

/* The held response's status, thisUpdate and expiry; 0 (status -1, times
 * 0) if none. */
int as_slot_held(struct as_slot *s, int *status, time_t *this_update, time_t *expires);

/* When the held response expires (0 if none), and its thisUpdate. */
time_t as_slot_expires(struct as_slot *s, time_t *this_update);

/* The process that refreshes this slot, and taking that role over from a
 * process that is gone (compare-and-swap: one taker wins; the taker of a
 * shared slot hands out the mapping's slots from then on). */
pid_t as_slot_fetcher(const struct as_slot *s);
/* The effective uid of the process that made the slot (learned its
 * certificate): the rights its refresher must have (refresher.h). */
uid_t as_slot_owner(const struct as_slot *s);
int as_slot_take_over(struct as_slot *s, pid_t from, pid_t to);

#endif
