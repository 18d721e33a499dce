/* refresh.h: one attempt to refresh one certificate, and what it decides:
 * wait for the server's chain, find the issuer, take a saved response or a
 * response file, fetch, verify, publish, and when to try again (backoff
 * after failures, early retries for stale answers).  No thread, no lock of
 * its own: the refresher (refresher.h) calls it for the certificate it has
 * taken, under its fork guard.  The clock, the randomness of the schedule
 * and the exchange with the responder come from the caller (struct
 * as_refresh_env), so unit tests drive it with fakes. */
#ifndef AS_REFRESH_H
#define AS_REFRESH_H

#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "certs.h"
#include "fetch.h"

/* Servers add their chain after the certificate: a certificate's issuer is
 * looked for only in the chain pool for this many seconds after it was
 * learned, before the CA bundle and caIssuers. */
#define AS_CHAIN_GRACE 2

/* What an attempt needs from the world.  None may be NULL. */
struct as_refresh_env {
    time_t (*now)(void);
    double (*uniform)(void);          /* uniform in [0, 1): the schedule's jitter */
    /* as_fetch_ocsp's contract (fetch.h). */
    int (*fetch)(const char *responder, const char *get_url, const unsigned char *req,
                 size_t reqlen, long timeout, const atomic_int *stop, struct as_http *res);
    const atomic_int *stop;           /* non-zero: the process exits, give up */
};

/* The real clock, a per-thread xorshift seeded from getrandom, libcurl, and
 * as_process_stop_flag(). */
const struct as_refresh_env *as_refresh_env_real(void);

/* One attempt for c, which the caller has taken (certs.h: the fields under
 * "Refresher thread only" are its own meanwhile).  Returns when to try
 * again (0 if the process stops); *attempted is 0 if it only decided to
 * wait for the server's chain (the return value is then c->learned +
 * AS_CHAIN_GRACE), or for the fetch another process makes (persist.h's
 * lock). */
time_t as_refresh_once(struct as_cert *c, const struct as_refresh_env *env, int *attempted);

#endif
