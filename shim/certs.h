/* certs.h: the certificates this process serves, learned from the hooks or
 * lazily from the status callback.  One entry per distinct certificate
 * (by SHA-256 of its DER); every X509 object seen for it maps to the entry
 * through a lock-free pointer map, holding a reference so that the address
 * cannot be reused by another certificate.  Entries live as long as the
 * process. */
#ifndef AS_CERTS_H
#define AS_CERTS_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <openssl/x509.h>

#include "cache.h"
#include "dueheap.h"

struct as_ocsp_file;

struct as_cert {
    /* Set at registration, then read-only. */
    X509 *leaf;
    const char *name;               /* subject, for logs */
    const char *ocsp_url;           /* AIA OCSP URL, "" if none */
    const char *ca_issuers_url;     /* AIA caIssuers URL, "" if none */
    unsigned char fp[32];
    time_t learned;                 /* when it was registered */
    struct as_slot *slot;           /* the staple, shared with forked workers (cache.h) */
    /* Response files beside the certificate's files: grows under
     * the registry lock, read without it (ocsp_file.c). */
    _Atomic(struct as_ocsp_file *) ocsp_files;
    atomic_int warm_tried;          /* its saved response was looked for (warm_start.h) */
    int must_staple;                /* TLS Feature status_request (RFC 7633): set at registration */
    /* A Must-Staple handshake went out without a staple since the last
     * stapled one (the error is said once per such episode: status_cb.c). */
    atomic_int must_staple_missed;

    /* Under the registry lock. */
    const char *learned_how;        /* a string literal, for the log */
    int unannounced;                /* learned quietly, not logged yet */
    int settled;                    /* first attempt ended, or none is to come while forgotten */
    int first_ended;                /* its first fetch attempt has ended */
    int contexts;                   /* live SSL_CTXs that loaded it */
    int forgotten;                  /* no context uses it any more: not refreshed */
    struct as_due due;              /* next fetch (due.at; 0 = none): see as_cert_schedule_locked */
    int taken;                      /* a fetch thread works on it (as_cert_take_locked) */
    struct as_cert *next;
    struct as_cert *bucket_next;

    /* Refresher thread only. */
    X509 *issuer;
    int failures;
    int stale;                      /* responses in a row already due for a refresh when taken */
    int stapled;                    /* a verified response was published */
    int issuer_missing_logged;
    int cache_checked;              /* AUTOSTAPLE_CACHE_DIR looked at */
    time_t lock_wait_since;         /* another process holds its fetch lock since (persist.h) */
    unsigned pool_seen;             /* as_pool_generation() when the chain lacked the issuer */
    unsigned long long last_error;  /* hash of the last failure logged, 0 if none */

    char text[];                    /* name, ocsp_url and ca_issuers_url point here */
};

/* Where c's responses come from: AUTOSTAPLE_RESPONDER, else its AIA OCSP
 * URL; "" if neither (then it is never fetched). */
const char *as_cert_responder(const struct as_cert *c);

/* The registry lock (lock_order.h: AS_LOCK_REGISTRY).  Every "_locked"
 * function of this header needs it held. */
void as_registry_lock(void);
void as_registry_unlock(void);
/* The refresher's idle threads wait for work, until the absolute
 * CLOCK_REALTIME *until (NULL: until woken); the lock is held again on
 * return.  Whoever makes work wakes one, or all (at exit). */
void as_registry_wait_for_work_locked(const struct timespec *until);
void as_registry_wake_one_locked(void);
void as_registry_wake_all_locked(void);
/* How many certificates to fetch have not settled (their first attempt has
 * not ended: as_cert_settle_locked), and waiting until one settles or
 * *until passes (the start-up wait, core.c). */
int as_registry_unsettled_locked(void);
void as_registry_wait_settled_locked(const struct timespec *until);
/* First entry of the list; walk with ->next under the registry lock. */
struct as_cert *as_registry_first(void);

/* Who is told, under the registry lock, that a certificate became due
 * (learned, or taken up again by a reload): the refresher, set once at
 * activation (core.c); nobody before, nor in the command. */
void as_registry_on_due(void (*wake_locked)(void));

/* The entry for this X509 object, without locking; NULL if not learned. */
struct as_cert *as_cert_find(const X509 *x);

/* Registers x (or finds its entry) and maps the object to it.  how names the
 * path for the log.  May be called from any thread; takes the registry lock.
 * A new certificate is logged here, or, if quiet (in a handshake, where no
 * I/O may happen), later by the refresher (as_cert_announce_pending).
 * Preserves the caller's OpenSSL error queue. */
struct as_cert *as_cert_learn(X509 *x, const char *how, int quiet);

/* Context bookkeeping, for reloads: a context that loaded c counts as a
 * user of it until it is freed; a certificate whose contexts are all gone is
 * forgotten (no longer refreshed) until one loads it again.  Any thread;
 * takes the registry lock.  Each returns 1 if c was forgotten or taken up
 * again (what the status file lists changed), else 0. */
int as_cert_attach(struct as_cert *c);
int as_cert_detach(struct as_cert *c);

/* c's next fetch at at (0: none).  The certificates with a next fetch are
 * kept ordered by it (dueheap.h).  Ignored while c is taken: the thread
 * that has it decides (as_cert_put_back_locked).  the registry lock must be
 * held. */
void as_cert_schedule_locked(struct as_cert *c, time_t at);

/* A fetch thread takes c (out of the order, so that no other thread takes
 * it meanwhile), and puts it back with its next fetch (0: none).
 * the registry lock must be held. */
void as_cert_take_locked(struct as_cert *c);
void as_cert_put_back_locked(struct as_cert *c, time_t at);

/* The certificate due first among those this process refreshes (its slot's
 * fetcher is this process), NULL if none.  Others met on the way, refreshed
 * by another process, leave the order but keep their due.at ("parked"):
 * as_cert_schedule_locked puts them back if this process takes them over.
 * the registry lock must be held. */
struct as_cert *as_cert_next_locked(void);

/* c's first attempt has ended (or, forgotten, it will not have one for
 * now): wakes the start-up wait.  Idempotent.  the registry lock must be
 * held. */
void as_cert_settle_locked(struct as_cert *c);
/* The certificates waited for whose slot holds a response (another
 * process fetched it) are settled.  the registry lock must be held. */
void as_cert_settle_held_locked(void);
/* The start-up wait ran out: the first attempts still running are waited
 * for no more (they staple when they end).  the registry lock must be
 * held. */
void as_cert_stop_waiting_locked(void);
/* c's first attempt is to be waited for again (it had not ended, and its
 * slot holds no response another process fetched: this
 * process takes it over, or a reload loads it again).  the registry lock
 * must be held. */
void as_cert_unsettle_locked(struct as_cert *c);
void as_cert_first_attempt_ended_locked(struct as_cert *c);

/* Logs the certificates learned quietly.  the registry lock must be held. */
void as_cert_announce_pending_locked(void);

/* Fork safety: prepare/parent/child handlers for pthread_atfork. */
void as_registry_prepare(void);
void as_registry_parent(void);
void as_registry_child(void);
/* The same for the lock of the map from X509 objects to entries (below
 * every other but the thread births', lock_order.h). */
void as_object_map_prepare(void);
void as_object_map_parent(void);
void as_object_map_child(void);

#endif
