/* report_views.h: what the status and metrics files show, as the reporter
 * (report.c) hands it to their formats (status_file.h, metrics.h): plain
 * types, no state. */
#ifndef AS_REPORT_VIEWS_H
#define AS_REPORT_VIEWS_H

#include <sys/types.h>
#include <time.h>

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
    unsigned long staples, unstapled; /* slots' counts and as_count_unlearned's */
    unsigned long must_staple_unstapled; /* of unstapled, Must-Staple certificates' */
};

#endif
