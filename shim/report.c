/* report.c: see report.h.  The records of the certificates, the counters,
 * and the reporter thread that writes the status and metrics files. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "cache.h"
#include "certs.h"
#include "config.h"
#include "lock_order.h"
#include "log.h"
#include "metrics.h"
#include "ocsp_verify.h"
#include "own_dir.h"
#include "ptrmap.h"
#include "replace_file.h"
#include "report.h"
#include "sanitized.h"
#include "status_file.h"
#include "thread.h"

#define STATUS_MIN_GAP 1      /* seconds between two writes of the status file */
#define STATUS_MAX_AGE 60     /* rewritten at least this often (staple counts) */

static atomic_ulong unstapled_unlearned; /* as_count_unlearned */

int as_count_unlearned(void)
{
    atomic_fetch_add_explicit(&unstapled_unlearned, 1, memory_order_relaxed);
    return SSL_TLSEXT_ERR_NOACK;
}

/* What the refresher told about a certificate.  Under rep.lock. */
struct record {
    char serial[132];
    time_t produced, next_update;
    int max_age;
    time_t last_fetch;
    const char *last_result;    /* a literal */
    time_t last_error_at;
    char *last_error;           /* malloc'd, NULL if none */
};

static struct {
    pthread_mutex_t lock;       /* the report lock: see report.h for its order */
    pthread_cond_t cond;        /* the reporter waits on it */
    struct as_ptrmap records;   /* struct as_cert * -> struct record * */
    unsigned long long fetches, failures[AS_FAIL_COUNT];
    int dirty;                  /* the status file is to be rewritten */
    int stop;
    pid_t running;              /* the process that started its reporter, 0 if none */
    int started;                /* and it did start: tid is valid */
    pthread_t tid;
    int atexit_set;
} rep = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
/* Held by the reporter while it renders and writes, in sanitized builds
 * only, and by a fork's prepare handler first of all its locks (the
 * reporter takes the registry lock while it holds it). */
static pthread_mutex_t rendering = PTHREAD_MUTEX_INITIALIZER;

/* The files this process wrote, to remove at exit (the reporter's own). */
static pid_t status_written, metrics_written;

static int enabled(void)
{
    return as_config()->cache_dir[0] != '\0' || as_config()->metrics_dir[0] != '\0';
}

enum as_fail_reason as_fail_reason_of_verdict(const struct as_verdict *v)
{
    switch (v->refusal) {
    case AS_REFUSED_NOT_DER:
    case AS_REFUSED_NOT_BASIC:
    case AS_REFUSED_UNREADABLE_TIMES:
        return AS_FAIL_MALFORMED;
    case AS_REFUSED_UNSUCCESSFUL:
        return AS_FAIL_UNSUCCESSFUL;
    case AS_REFUSED_UNKNOWN:
        return AS_FAIL_UNKNOWN;
    default:
        return AS_FAIL_VERIFY;
    }
}

/* c's record, made on first use.  rep.lock held. */
static struct record *record_of(struct as_cert *c)
{
    struct record *r = as_ptrmap_get(&rep.records, c);
    if (r != NULL || (r = calloc(1, sizeof(*r))) == NULL)
        return r;
    /* The serial as `openssl x509 -serial` prints it: its bytes in hex. */
    const ASN1_INTEGER *sn = X509_get0_serialNumber(c->leaf);
    const unsigned char *b = ASN1_STRING_get0_data(sn);
    int len = ASN1_STRING_length(sn);
    for (int i = 0; i < len && 2 * i + 2 < (int)sizeof(r->serial); i++)
        snprintf(r->serial + 2 * i, 3, "%02X", b[i]);
    if (!as_ptrmap_put(&rep.records, c, r)) {
        free(r);
        return NULL;
    }
    return r;
}

static void changed_locked(void)
{
    rep.dirty = 1;
    pthread_cond_signal(&rep.cond);
}

void as_report_request_sent(struct as_cert *c)
{
    (void)c;
    if (!enabled())
        return;
    as_lock(&rep.lock, AS_LOCK_REPORT);
    rep.fetches++;
    as_unlock(&rep.lock, AS_LOCK_REPORT);
}

static time_t produced_at(const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    time_t t = 0;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
    OCSP_BASICRESP *bs = resp != NULL ? OCSP_response_get1_basic(resp) : NULL;
    const ASN1_GENERALIZEDTIME *at = bs != NULL ? OCSP_resp_get0_produced_at(bs) : NULL;
    struct tm tm;
    if (at != NULL && ASN1_TIME_to_tm(at, &tm))
        t = timegm(&tm);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
    return t;
}

void as_report_published(struct as_cert *c, const unsigned char *der, size_t len,
                         const struct as_verdict *v, int fetched)
{
    if (!enabled())
        return;
    time_t produced = produced_at(der, len), now = time(NULL);
    as_lock(&rep.lock, AS_LOCK_REPORT);
    struct record *r = record_of(c);
    if (r != NULL) {
        r->produced = produced;
        r->next_update = v->next_update;
        r->max_age = v->next_update == 0;
        if (fetched) {
            r->last_fetch = now;
            r->last_result = v->status == V_OCSP_CERTSTATUS_REVOKED ? "revoked" : "good";
        }
    }
    if (fetched && v->status == V_OCSP_CERTSTATUS_REVOKED)
        rep.failures[AS_FAIL_REVOKED]++;
    changed_locked();
    as_unlock(&rep.lock, AS_LOCK_REPORT);
}

void as_report_rescheduled(void)
{
    if (!enabled())
        return;
    as_lock(&rep.lock, AS_LOCK_REPORT);
    changed_locked();
    as_unlock(&rep.lock, AS_LOCK_REPORT);
}

void as_report_failed(struct as_cert *c, enum as_fail_reason why_kind, const char *why)
{
    if (!enabled())
        return;
    time_t now = time(NULL);
    as_lock(&rep.lock, AS_LOCK_REPORT);
    rep.failures[why_kind]++;
    struct record *r = record_of(c);
    if (r != NULL) {
        if (why_kind != AS_FAIL_ISSUER) {
            r->last_fetch = now;
            r->last_result = as_fail_reason_names[why_kind];
        }
        char *text = strdup(why);
        if (text != NULL) {
            free(r->last_error);
            r->last_error = text;
        }
        r->last_error_at = now;
    }
    changed_locked();
    as_unlock(&rep.lock, AS_LOCK_REPORT);
}

/* ---- the reporter ---- */

/* Warns once per distinct message (the same problem every interval would
 * drown the log); the reporter's thread only. */
static void warn_once(char *last, size_t lastlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void warn_once(char *last, size_t lastlen, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (strcmp(msg, last) != 0) {
        snprintf(last, lastlen, "%s", msg);
        as_log(AS_WARN, "%s", msg);
    }
}

/* Writes buf as dir/name through dir/.name.tmp and a rename, mode 0644, in
 * a directory that passes own_dir.h's rules (the cache directory's: its
 * owner only writes there; the metrics directory's: not anyone).  Returns 1
 * if written. */
static int write_file(const char *dir, const char *var, const char *name, const char *buf,
                      size_t len, char *last, size_t lastlen)
{
    char tmp[128];
    int dfd = as_own_dir_open(dir, var);
    if (dfd < 0)
        return 0;
    snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
    int err = as_replace_file_at(dfd, tmp, name, buf, len);
    int ok = err == 0;
    if (!ok) {
        warn_once(last, lastlen, "cannot write %s/%s (%s): %s", dir, name, var,
                  strerror(err));
    } else {
        last[0] = '\0'; /* a problem that comes back is reported again */
    }
    close(dfd);
    return ok;
}

static void remove_file(const char *dir, const char *name)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd >= 0) {
        unlinkat(dfd, name, 0);
        close(dfd);
    }
}

struct entry {
    struct as_cert *c;
    time_t due;
    int taken, forgotten;
};

/* The certificates this process refreshes, with their next fetch. */
static struct entry *collect(size_t *n)
{
    size_t cap = 0;
    struct entry *e = NULL;
    pid_t me = getpid();
    *n = 0;
    as_registry_lock();
    for (struct as_cert *c = as_registry_first(); c != NULL; c = c->next) {
        if (as_slot_fetcher(c->slot) != me)
            continue;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct entry *g = realloc(e, ncap * sizeof(*e));
            if (g == NULL)
                break;
            e = g;
            cap = ncap;
        }
        e[(*n)++] = (struct entry){ c, c->due.at, c->taken, c->forgotten };
    }
    as_registry_unlock();
    return e;
}

/* Formats what is to be written now into *status and *metrics (malloc'd,
 * NULL where nothing is due). */
static void render(int want_status, int want_metrics, char **status, size_t *slen,
                   char **metrics, size_t *mlen)
{
    size_t n = 0, shown = 0;
    struct entry *e = collect(&n);
    struct as_cert_view *views = calloc(n ? n : 1, sizeof(*views));
    struct as_process_view p = { 0 };
    p.pid = getpid();
    p.program = as_log_program();
    p.uid = (long)geteuid();
    p.learned_uid = -1;
    for (size_t i = 0; i < n; i++)
        if ((long)as_slot_owner(e[i].c->slot) != p.uid)
            p.learned_uid = (long)as_slot_owner(e[i].c->slot);
    p.start_ticks = as_process_start_ticks(p.pid);
    p.now = time(NULL);
    p.unstapled = atomic_load_explicit(&unstapled_unlearned, memory_order_relaxed);

    as_lock(&rep.lock, AS_LOCK_REPORT);
    p.fetches = rep.fetches;
    memcpy(p.failures, rep.failures, sizeof(p.failures));
    for (size_t i = 0; i < n && views != NULL; i++) {
        struct as_cert *c = e[i].c;
        unsigned long staples, unstapled;
        as_slot_counts(c->slot, &staples, &unstapled);
        p.staples += staples;
        p.unstapled += unstapled;
        if (c->must_staple)
            p.must_staple_unstapled += unstapled;
        if (e[i].forgotten)
            continue; /* no longer served: counted, not shown */
        struct record *r = record_of(c);
        struct as_cert_view *v = &views[shown++];
        v->subject = c->name;
        v->serial = r != NULL ? r->serial : "";
        v->responder = as_cert_responder(c);
        as_slot_held(c->slot, &v->status, &v->this_update, &v->expires);
        if (r != NULL && v->status >= 0) {
            v->produced = r->produced;
            v->next_update = r->next_update;
            v->max_age = r->max_age;
        }
        v->last_fetch = r != NULL ? r->last_fetch : 0;
        v->last_result = r != NULL && r->last_result ? r->last_result : "";
        v->last_error_at = r != NULL ? r->last_error_at : 0;
        v->last_error = r != NULL && r->last_error ? r->last_error : "";
        v->next_fetch = e[i].due;
        v->fetching = e[i].taken;
        v->staples = staples;
        v->unstapled = unstapled;
        v->must_staple = c->must_staple;
    }
    /* Formatted under the lock: the views point into the records. */
    FILE *out;
    if (want_status && views != NULL && (out = open_memstream(status, slen)) != NULL) {
        as_status_write(out, &p, views, shown);
        if (fclose(out) != 0) {
            free(*status);
            *status = NULL;
        }
    }
    if (want_metrics && views != NULL && (out = open_memstream(metrics, mlen)) != NULL) {
        as_metrics_write(out, &p, views, shown);
        if (fclose(out) != 0) {
            free(*metrics);
            *metrics = NULL;
        }
    }
    as_unlock(&rep.lock, AS_LOCK_REPORT);
    free(views);
    free(e);
}

static void *reporter(void *arg)
{
    (void)arg;
    static char status_warned[600], metrics_warned[600];
    char status_name[64], metrics_name[64];
    pid_t me = getpid();
    snprintf(status_name, sizeof(status_name), AS_STATUS_FILE_NAME, (long)me);
    snprintf(metrics_name, sizeof(metrics_name), AS_METRICS_FILE_NAME, (long)me);
    int want_status = as_config()->cache_dir[0] != '\0';
    int want_metrics = as_config()->metrics_dir[0] != '\0';
    time_t status_at = 0, metrics_at = 0; /* when each was last written */

    as_lock(&rep.lock, AS_LOCK_REPORT);
    rep.dirty = 1;
    while (!rep.stop) {
        time_t now = time(NULL);
        int do_status = want_status && ((rep.dirty && now >= status_at + STATUS_MIN_GAP) ||
                                        now >= status_at + STATUS_MAX_AGE);
        int do_metrics = want_metrics && now >= metrics_at + as_config()->metrics_interval;
        if (do_status || do_metrics) {
            if (do_status)
                rep.dirty = 0;
            as_unlock(&rep.lock, AS_LOCK_REPORT);
            if (AS_SANITIZED) /* no fork while this thread allocates (sanitized.h) */
                as_lock(&rendering, AS_LOCK_RENDERING);
            char *sbuf = NULL, *mbuf = NULL;
            size_t slen = 0, mlen = 0;
            render(do_status, do_metrics, &sbuf, &slen, &mbuf, &mlen);
            if (sbuf != NULL && write_file(as_config()->cache_dir, "AUTOSTAPLE_CACHE_DIR",
                                           status_name, sbuf, slen, status_warned,
                                           sizeof(status_warned)))
                status_written = me;
            if (mbuf != NULL && write_file(as_config()->metrics_dir, "AUTOSTAPLE_METRICS_DIR",
                                           metrics_name, mbuf, mlen, metrics_warned,
                                           sizeof(metrics_warned)))
                metrics_written = me;
            free(sbuf);
            free(mbuf);
            if (AS_SANITIZED)
                as_unlock(&rendering, AS_LOCK_RENDERING);
            if (do_status)
                status_at = now;
            if (do_metrics)
                metrics_at = now;
            as_lock(&rep.lock, AS_LOCK_REPORT);
            continue;
        }
        time_t wake = now + 3600;
        if (want_status)
            wake = rep.dirty ? status_at + STATUS_MIN_GAP : status_at + STATUS_MAX_AGE;
        if (want_metrics && metrics_at + as_config()->metrics_interval < wake)
            wake = metrics_at + as_config()->metrics_interval;
        struct timespec t = { wake, 0 };
        as_lock_wait(&rep.cond, &rep.lock, AS_LOCK_REPORT, &t);
    }
    as_unlock(&rep.lock, AS_LOCK_REPORT);
    return NULL;
}

void as_report_leave(void)
{
    pid_t me = getpid();
    as_lock(&rep.lock, AS_LOCK_REPORT);
    int mine = rep.running == me && rep.started;
    rep.stop = 1;
    pthread_cond_signal(&rep.cond);
    as_unlock(&rep.lock, AS_LOCK_REPORT);
    if (mine) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 2;
        pthread_timedjoin_np(rep.tid, NULL, &until);
    }
    char name[64];
    if (status_written == me) {
        snprintf(name, sizeof(name), AS_STATUS_FILE_NAME, (long)me);
        remove_file(as_config()->cache_dir, name);
    }
    if (metrics_written == me) {
        snprintf(name, sizeof(name), AS_METRICS_FILE_NAME, (long)me);
        remove_file(as_config()->metrics_dir, name);
    }
}

void as_report_fetch_thread_started(void)
{
    if (!enabled())
        return;
    pid_t me = getpid();
    as_lock(&rep.lock, AS_LOCK_REPORT);
    if (rep.running != me && !rep.stop) {
        int err = as_thread_start(reporter, NULL, 256 * 1024, &rep.tid);
        rep.running = me; /* once per process, even if it failed */
        rep.started = err == 0;
        if (err == 0) {
            pthread_setname_np(rep.tid, "autostaple-rep");
            if (!rep.atexit_set) /* (inherited by forked processes) */
                rep.atexit_set = atexit(as_report_leave) == 0;
        } else {
            as_log(AS_WARN, "cannot start the thread that writes the status and metrics "
                   "files: %s; not writing them", strerror(err));
        }
    }
    as_unlock(&rep.lock, AS_LOCK_REPORT);
}

void as_report_prepare_rendering(void)
{
    if (AS_SANITIZED)
        as_lock(&rendering, AS_LOCK_RENDERING);
}

void as_report_release_rendering(void)
{
    if (AS_SANITIZED)
        as_unlock(&rendering, AS_LOCK_RENDERING);
}

void as_report_prepare(void)
{
    as_lock(&rep.lock, AS_LOCK_REPORT);
}

void as_report_parent(void)
{
    as_unlock(&rep.lock, AS_LOCK_REPORT);
}

void as_report_child(void)
{
    /* The reporter is the parent's; the child starts its own if it
     * refreshes (as_report_fetch_thread_started), and its counts begin
     * anew: its fetches are its own, its handshakes are in the slots. */
    as_unlock(&rep.lock, AS_LOCK_REPORT);
    pthread_cond_init(&rep.cond, NULL);
    rep.running = 0;
    rep.started = 0;
    rep.fetches = 0;
    memset(rep.failures, 0, sizeof(rep.failures));
    atomic_store(&unstapled_unlearned, 0);
}
