/* report.h: what a fetching process tells the operator about its
 * certificates: a status file in AUTOSTAPLE_CACHE_DIR (status_file.c, read
 * by `autostaple status`) and a Prometheus textfile in
 * AUTOSTAPLE_METRICS_DIR (metrics.c).
 *
 * The refresher reports events (as_report_*: requests, publications,
 * failures) into per-certificate records under the report lock (nothing
 * else is taken while it is held but the thread birth lock, thread.h, to
 * start the reporter; lock order: fork guard, registry, pool, report,
 * births).  A reporter thread of its own, started with the first fetch
 * thread of a process, writes the files: the status file when something
 * changed, at most once a second; the metrics every AUTOSTAPLE_METRICS_INTERVAL.
 * Both through a temporary file and a rename, mode 0644; both removed at
 * exit.  A handshake only counts (in its certificate's slot, cache.h, or
 * as_count_unlearned): it never writes, locks or allocates for this.
 * Nothing here runs at all unless one of the two directories is set. */
#ifndef AS_REPORT_H
#define AS_REPORT_H

#include <stdatomic.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/ssl.h>

struct as_cert;
struct as_verdict;

/* The files' names, for a process's pid (long). */
#define AS_STATUS_FILE_NAME "status-%ld.txt"
#define AS_METRICS_FILE_NAME "autostaple-%ld.prom"

/* Why a fetch failed (autostaple_fetch_failures_total's reason label; the
 * set is documented in docs/configuration.md). */
enum as_fail_reason {
    AS_FAIL_CONNECT,      /* no connection to the responder */
    AS_FAIL_TIMEOUT,      /* AUTOSTAPLE_TIMEOUT reached */
    AS_FAIL_TRANSFER,     /* connection broken, body too large, other transport error */
    AS_FAIL_HTTP,         /* an HTTP status other than 200 */
    AS_FAIL_MALFORMED,    /* not a DER (basic) OCSP response */
    AS_FAIL_UNSUCCESSFUL, /* responseStatus not successful (tryLater, ...) */
    AS_FAIL_VERIFY,       /* signature, signer, CertID or times refused */
    AS_FAIL_UNKNOWN,      /* certificate status unknown */
    AS_FAIL_REVOKED,      /* revoked (stapled all the same: the fetch worked) */
    AS_FAIL_ISSUER,       /* the issuer was not found: nothing could be asked */
    AS_FAIL_INTERNAL,     /* request not built, response too large for the cache */
    AS_FAIL_COUNT
};
extern const char *const as_fail_reason_names[AS_FAIL_COUNT];

/* The reason for a refused response, from as_ocsp_verify's verdict. */
enum as_fail_reason as_fail_reason_of_verdict(const struct as_verdict *v);

/* Handshakes that asked for status about a certificate the library does
 * not know (none, or not a server's): per process, relaxed. */
extern atomic_ulong as_unstapled_unlearned;
static inline int as_count_unlearned(void)
{
    atomic_fetch_add_explicit(&as_unstapled_unlearned, 1, memory_order_relaxed);
    return SSL_TLSEXT_ERR_NOACK;
}

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
 * a reload): the status file is to be rewritten.  Called with as_registry_lock held (the report lock is taken
 * after it). */
void as_report_rescheduled(void);

/* pthread_atfork, called by core.c's handlers after the pool's (lock
 * order above). */
/* At exit, and before an exec: stop the reporter (two seconds at most) and
 * remove this process's files. */
void as_report_leave(void);

/* pthread_atfork: in sanitized builds (sanitized.h), keep the reporter out
 * of the allocator while a fork happens; taken before every other lock of
 * the prepare handler, released after the fork.  No-ops otherwise. */
void as_report_prepare_rendering(void);
void as_report_release_rendering(void);

void as_report_prepare(void);
void as_report_parent(void);
void as_report_child(void);

/* ---- Formats (pure: unit-tested) ---- */

/* One certificate as the files show it.  Times are 0 when unknown. */
struct as_cert_view {
    const char *subject;
    const char *serial;      /* hex, as `openssl x509 -serial` prints it */
    const char *responder;   /* "" if none */
    int status;              /* V_OCSP_CERTSTATUS_*, -1 if no response is held */
    time_t produced, this_update, next_update;
    time_t expires;          /* when the held response stops being stapled */
    int max_age;             /* expires comes from AUTOSTAPLE_MAX_AGE (no nextUpdate) */
    time_t last_fetch;       /* when the last request ended */
    const char *last_result; /* "good", "revoked", a reason name; "" if none */
    time_t last_error_at;
    const char *last_error;  /* "" if none */
    time_t next_fetch;       /* 0: none scheduled (or being fetched) */
    int fetching;            /* a fetch thread has it now */
    unsigned long staples, unstapled;
    int must_staple;         /* TLS Feature status_request (RFC 7633) */
};

struct as_process_view {
    pid_t pid;
    const char *program;
    long uid;                /* the effective uid it refreshes with */
    long learned_uid;        /* another uid its certificates were learned with, -1 if none */
    unsigned long long start_ticks; /* /proc/PID/stat field 22 */
    time_t now;
    unsigned long long fetches, failures[AS_FAIL_COUNT];
    unsigned long staples, unstapled; /* slots' counts and as_unstapled_unlearned */
    unsigned long must_staple_unstapled; /* of unstapled, Must-Staple certificates' */
};

/* "2026-11-21T10:49:00Z", or "-" for 0. */
void as_format_time(time_t t, char *buf, size_t len);
/* Its inverse; 0 for "-" or anything else. */
time_t as_parse_time(const char *s);

/* status_file.c: the status file, "key: value" lines; a block per
 * certificate begins with "certificate:" and ends with a blank line.
 * Values are one line (control characters written as \xNN). */
void as_status_write(FILE *out, const struct as_process_view *p,
                     const struct as_cert_view *certs, size_t n);

/* A status file as read back (by `autostaple status`): fields as strings,
 * "" when absent.  as_status_parse returns 0 if text is not a status file. */
#define AS_STATUS_FIELD 512
struct as_status_cert {
    char subject[AS_STATUS_FIELD], serial[AS_STATUS_FIELD], responder[AS_STATUS_FIELD];
    char status[AS_STATUS_FIELD], produced[AS_STATUS_FIELD], this_update[AS_STATUS_FIELD];
    char next_update[AS_STATUS_FIELD], last_fetch[AS_STATUS_FIELD], last_error[AS_STATUS_FIELD];
    char next_fetch[AS_STATUS_FIELD], staples[AS_STATUS_FIELD];
    char must_staple[AS_STATUS_FIELD]; /* "yes", "no", "" in an older file */
};
struct as_status_file {
    long pid;
    unsigned long long start_ticks;
    char program[AS_STATUS_FIELD], written[AS_STATUS_FIELD];
    long uid, learned_uid;   /* -1 when absent (learned_uid: none other) */
    size_t n;
    struct as_status_cert *certs; /* malloc'd; as_status_free */
};
int as_status_parse(const char *text, struct as_status_file *f);
void as_status_free(struct as_status_file *f);

/* metrics.c: the Prometheus text exposition format.  Only certificates
 * with held != 0 get an expiry sample. */
void as_metrics_write(FILE *out, const struct as_process_view *p,
                      const struct as_cert_view *certs, size_t n);
/* A label value escaped for the format (\\, \", \n), cut to fit. */
void as_metrics_escape(const char *s, char *out, size_t outlen);

/* The start time of process pid (field 22 of /proc/PID/stat, in clock
 * ticks since boot); 0 if it cannot be read. */
unsigned long long as_process_start_ticks(pid_t pid);

#endif
