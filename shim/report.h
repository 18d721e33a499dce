/* report.h: what a fetching process tells the operator about its
 * certificates: a status file in AUTOSTAPLE_CACHE_DIR (status_file.c, read
 * by `autostaple status`) and a Prometheus textfile in
 * AUTOSTAPLE_METRICS_DIR (metrics.c).
 *
 * The refresher reports events (as_report_*: requests, publications,
 * failures) into per-certificate records under the report lock (under
 * which the slots are read and the reporter started: lock_order.h has the
 * order).  A reporter thread of its own, started with the first fetch
 * thread of a process, writes the files: the status file when something
 * changed, at most once a second; the metrics every AUTOSTAPLE_METRICS_INTERVAL.
 * Both through a temporary file and a rename, mode 0644; both removed at
 * exit.  A handshake only counts (in its certificate's slot, cache.h, or
 * as_count_unlearned): it never writes, locks or allocates for this.
 * Nothing here runs at all unless one of the two directories is set. */
#ifndef AS_REPORT_H
#define AS_REPORT_H

#include <stdatomic.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/ssl.h>

#include "report_views.h"

struct as_cert;
struct as_verdict;

/* The reason for a refused response, from as_ocsp_verify's verdict. */
enum as_fail_reason as_fail_reason_of_verdict(const struct as_verdict *v);

/* A handshake asked for status about a certificate the library does not
 * know (none, or not a server's): counted per process (one relaxed atomic
 * add).  Returns SSL_TLSEXT_ERR_NOACK, the status callback's answer. */
int as_count_unlearned(void);

/* Refresher side.  All return at once when reporting is off.  c is a
 * certificate the calling fetch thread has taken. */
void as_report_fetch_thread_started(void); /* starts the reporter in this process */
void as_report_request_sent(struct as_cert *c);
/* A verified response (der) was published for c; fetched is 0 when it came
 * from the cache directory or a response file. */
void as_report_published(struct as_cert *c, const unsigned char *der, size_t len,
                         const struct as_verdict *v, int fetched);
void as_report_failed(struct as_cert *c, enum as_fail_reason r, const char *why);
/* A fetch thread put a certificate back with its next fetch (the status
 * file said "in progress"), this process took certificates over
 * (succession.c), or a certificate was forgotten or taken up again (core.c,
 * a reload): the status file is to be rewritten.  Called with
 * the registry lock held or not (the report lock is taken after it). */
void as_report_rescheduled(void);

/* At exit, and before an exec: stop the reporter (two seconds at most) and
 * remove this process's files. */
void as_report_leave(void);

/* pthread_atfork: in sanitized builds (sanitized.h), keep the reporter out
 * of the allocator while a fork happens; taken before every other lock of
 * the prepare handler, released after the fork.  No-ops otherwise. */
void as_report_prepare_rendering(void);
void as_report_release_rendering(void);

/* pthread_atfork, called by core.c's handlers after the pool's (lock
 * order above). */
void as_report_prepare(void);
void as_report_parent(void);
void as_report_child(void);

#endif
