/*
 * hsbench: full TLS handshakes per second against a server on 127.0.0.1,
 * every one asking for certificate status; counts handshakes and staples.
 *
 * hsbench -port P [-threads N] [-seconds S [-warmup W] | -count N]
 *         [-tls 1.2|1.3] [-groups LIST] [-name SNI]... [-request]
 *         [-cpu PID]... [-verify ROOT.pem -issuer ISSUER.pem]
 *
 * N threads (default 2) each connect, handshake with status_request and no
 * session to resume (every handshake is a full one), then end the
 * connection: by default close_notify and wait for the server to close;
 * with -request, "GET / HTTP/1.0" and read the reply to its end.  SNI is
 * the next -name, in turn (none without -name).
 *
 * -seconds S: run W seconds (default 1) unmeasured, then count what
 *   completes in the next S seconds.  -count N: exactly N handshakes,
 *   counted from the start (for callgrind, where time means nothing).
 * -cpu PID: also report the CPU time the process PID (all its threads)
 *   spent in the measured window, per handshake; repeatable (nginx master
 *   and worker).  The client's own CPU time per handshake is reported too,
 *   so that a client that is the bottleneck shows.
 * -verify: check every staple the way a strict client would (signature to
 *   ROOT, CertID of the served certificate and ISSUER, status good, times
 *   valid): meant for checking a configuration before measuring it, not
 *   while measuring (it costs the client a signature verification).
 *
 * Prints one line on stdout, "key value" pairs:
 *   handshakes H stapled S unstapled U failed F bad B seconds T rate R
 *   client_us_per_hs C staple_bytes L [server_us_per_hs X]
 * rate is handshakes per second; C and X are CPU microseconds per
 * handshake; L is the size of a staple received (0 if none).  Exit status 0 if no handshake failed and
 * no staple was bad, 1 otherwise, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "../tests/helpers/loopback_connect.h"
#include "../tests/helpers/strict_staple.h"

#define MAX_NAMES 4096
#define MAX_THREADS 64
#define MAX_PIDS 8
#define MAX_REPORTS 5

static struct {
    int port, threads, request, tls;
    double seconds, warmup;
    long count;
    const char *groups;
    const char *names[MAX_NAMES];
    int nnames;
    int pids[MAX_PIDS];
    int npids;
    SSL_CTX *ctx;
    X509 *issuer;                 /* -verify */
    STACK_OF(X509) *untrusted;
    X509_STORE *store;
} opt = { .port = -1, .threads = 2, .seconds = 0, .warmup = 1 };
/* What staples are checked against, once loaded (strict_staple.h). */
static struct strict_trust trust;

static double win_start, win_end; /* measured window, monotonic seconds */
static atomic_long left;          /* -count: handshakes still to start */
static atomic_long n_hs, n_stapled, n_unstapled, n_failed, n_bad, n_reports;
static atomic_uint next_name;
static atomic_long staple_bytes; /* the size of a staple (the last one seen) */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void report(const char *what, const char *why)
{
    if (atomic_fetch_add(&n_reports, 1) < MAX_REPORTS)
        fprintf(stderr, "hsbench: %s: %s\n", what, why);
}

/* End the connection after the handshake: see the header. */
static void finish(SSL *ssl, int fd)
{
    static const char request[] = "GET / HTTP/1.0\r\n\r\n";
    char buf[4096];

    if (opt.request) {
        if (SSL_write(ssl, request, sizeof(request) - 1) > 0)
            while (SSL_read(ssl, buf, sizeof(buf)) > 0)
                ;
        SSL_shutdown(ssl);
        return;
    }
    SSL_shutdown(ssl);
    shutdown(fd, SHUT_WR);
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

/* One connection, counted if it completes in the window (or with -count). */
static void one_connection(void)
{
    const unsigned char *staple;
    const char *why;
    long len;
    int counted, stapled = 0, bad = 0;
    int fd = loopback_connect(opt.port, 1);
    SSL *ssl = fd >= 0 ? SSL_new(opt.ctx) : NULL;

    if (ssl == NULL) {
        atomic_fetch_add(&n_failed, 1);
        report("connection failed", fd < 0 ? "connect" : "SSL_new");
        usleep(10000); /* the server may be gone: do not spin */
        goto out;
    }
    SSL_set_fd(ssl, fd);
    if (opt.nnames > 0)
        SSL_set_tlsext_host_name(ssl, opt.names[atomic_fetch_add(&next_name, 1) % opt.nnames]);
    SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp);
    if (SSL_connect(ssl) != 1) {
        const char *r = ERR_reason_error_string(ERR_peek_last_error());
        atomic_fetch_add(&n_failed, 1);
        report("handshake failed", r != NULL ? r : "no OpenSSL error");
        ERR_clear_error();
        goto out;
    }
    len = SSL_get_tlsext_status_ocsp_resp(ssl, &staple);
    if (len > 0 && staple != NULL) {
        stapled = 1;
        atomic_store_explicit(&staple_bytes, len, memory_order_relaxed);
        if (opt.store != NULL && (why = strict_staple_problem(ssl, staple, len, &trust, 1)) != NULL) {
            bad = 1;
            report("bad staple", why);
        }
    }
    finish(ssl, fd);
    ERR_clear_error();
    /* A timed run counts what completes inside the window. */
    double t = now();
    counted = opt.count > 0 || (t >= win_start && t < win_end);
    if (counted) {
        atomic_fetch_add(&n_hs, 1);
        atomic_fetch_add(stapled ? &n_stapled : &n_unstapled, 1);
        if (bad)
            atomic_fetch_add(&n_bad, 1);
    }
out:
    SSL_free(ssl);
    if (fd >= 0)
        close(fd);
}

static void *worker(void *arg)
{
    (void)arg;
    if (opt.count > 0)
        while (atomic_fetch_sub(&left, 1) > 0)
            one_connection();
    else
        while (now() < win_end)
            one_connection();
    OPENSSL_thread_stop();
    return NULL;
}

/* CPU time, in seconds, that process pid has used so far (all threads
 * alive now; the servers measured keep theirs). */
static double process_cpu(int pid)
{
    char path[64];
    double sum = 0;
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    DIR *d = opendir(path);
    struct dirent *e;
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char f[400];
        unsigned long long ns = 0;
        snprintf(f, sizeof(f), "%s/%s/schedstat", path, e->d_name);
        FILE *fp = fopen(f, "r");
        if (fp != NULL) {
            if (fscanf(fp, "%llu", &ns) == 1)
                sum += (double)ns / 1e9;
            fclose(fp);
        }
    }
    closedir(d);
    return sum;
}

static double servers_cpu(void)
{
    double sum = 0;
    for (int i = 0; i < opt.npids; i++)
        sum += process_cpu(opt.pids[i]);
    return sum;
}

static double self_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
    double d;
    while ((d = t - now()) > 0) {
        struct timespec ts = { (time_t)d, (long)((d - (double)(time_t)d) * 1e9) };
        nanosleep(&ts, NULL);
    }
}

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f != NULL)
        fclose(f);
    if (x == NULL) {
        fprintf(stderr, "hsbench: cannot read a certificate from %s\n", path);
        exit(2);
    }
    return x;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: hsbench -port P [-threads N] [-seconds S [-warmup W] | -count N]\n"
            "               [-tls 1.2|1.3] [-groups LIST] [-name SNI]... [-request]\n"
            "               [-cpu PID]... [-verify ROOT.pem -issuer ISSUER.pem]\n");
    exit(2);
}

static int accept_chain(X509_STORE_CTX *sctx, void *arg)
{
    (void)sctx;
    (void)arg;
    return 1;
}

static void make_ctx(const char *root, const char *issuer)
{
    opt.ctx = SSL_CTX_new(TLS_client_method());
    if (opt.ctx == NULL)
        exit(2);
    SSL_CTX_set_session_cache_mode(opt.ctx, SSL_SESS_CACHE_OFF); /* full handshakes */
    SSL_CTX_set_options(opt.ctx, SSL_OP_NO_TICKET);
    if (opt.tls != 0 && (!SSL_CTX_set_min_proto_version(opt.ctx, opt.tls) ||
                         !SSL_CTX_set_max_proto_version(opt.ctx, opt.tls)))
        exit(2);
    if (opt.groups != NULL && !SSL_CTX_set1_groups_list(opt.ctx, opt.groups)) {
        fprintf(stderr, "hsbench: bad -groups %s\n", opt.groups);
        exit(2);
    }
    if (root == NULL) {
        /* The client does not check the server's chain (a bench client
         * trusts its server): that keeps its share of the machine small. */
        SSL_CTX_set_cert_verify_callback(opt.ctx, accept_chain, NULL);
        return;
    }
    opt.issuer = read_cert(issuer);
    opt.untrusted = sk_X509_new_null();
    sk_X509_push(opt.untrusted, opt.issuer);
    opt.store = X509_STORE_new();
    if (opt.store == NULL || X509_STORE_load_file(opt.store, root) != 1) {
        fprintf(stderr, "hsbench: cannot load %s\n", root);
        exit(2);
    }
    trust = (struct strict_trust){ opt.store, opt.untrusted, opt.issuer, 2 };
}

int main(int argc, char **argv)
{
    const char *root = NULL, *issuer = NULL;
    pthread_t th[MAX_THREADS];
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-request") == 0) {
            opt.request = 1;
            continue;
        }
        if (v == NULL)
            usage();
        i++;
        if (strcmp(a, "-port") == 0)
            opt.port = atoi(v);
        else if (strcmp(a, "-threads") == 0)
            opt.threads = atoi(v);
        else if (strcmp(a, "-seconds") == 0)
            opt.seconds = atof(v);
        else if (strcmp(a, "-warmup") == 0)
            opt.warmup = atof(v);
        else if (strcmp(a, "-count") == 0)
            opt.count = atol(v);
        else if (strcmp(a, "-tls") == 0)
            opt.tls = strcmp(v, "1.2") == 0 ? TLS1_2_VERSION
                      : strcmp(v, "1.3") == 0 ? TLS1_3_VERSION : (usage(), 0);
        else if (strcmp(a, "-groups") == 0)
            opt.groups = v;
        else if (strcmp(a, "-name") == 0 && opt.nnames < MAX_NAMES)
            opt.names[opt.nnames++] = v;
        else if (strcmp(a, "-cpu") == 0 && opt.npids < MAX_PIDS)
            opt.pids[opt.npids++] = atoi(v);
        else if (strcmp(a, "-verify") == 0)
            root = v;
        else if (strcmp(a, "-issuer") == 0)
            issuer = v;
        else
            usage();
    }
    if (opt.port <= 0 || opt.port > 65535 || opt.threads < 1 || opt.threads > MAX_THREADS ||
        (opt.seconds > 0) == (opt.count > 0) || opt.warmup < 0 || (root == NULL) != (issuer == NULL))
        usage();

    signal(SIGPIPE, SIG_IGN);
    make_ctx(root, issuer);
    atomic_store(&left, opt.count);
    double t0 = now();
    win_start = opt.count > 0 ? t0 : t0 + opt.warmup;
    win_end = opt.count > 0 ? 0 : win_start + opt.seconds;
    double cpu0 = 0, self0 = 0;
    if (opt.count > 0) {
        cpu0 = servers_cpu();
        self0 = self_cpu();
    }
    for (i = 0; i < opt.threads; i++)
        if (pthread_create(&th[i], NULL, worker, NULL) != 0) {
            fprintf(stderr, "hsbench: cannot start thread %d\n", i);
            return 2;
        }
    double cpu1 = 0, self1 = 0, t1 = 0;
    if (opt.count == 0) {
        sleep_until(win_start);
        cpu0 = servers_cpu();
        self0 = self_cpu();
        sleep_until(win_end);
        cpu1 = servers_cpu();
        self1 = self_cpu();
        t1 = win_end;
        t0 = win_start;
    }
    for (i = 0; i < opt.threads; i++)
        pthread_join(th[i], NULL);
    if (opt.count > 0) {
        cpu1 = servers_cpu();
        self1 = self_cpu();
        t1 = now();
    }
    long hs = atomic_load(&n_hs);
    double secs = t1 - t0;
    printf("handshakes %ld stapled %ld unstapled %ld failed %ld bad %ld seconds %.3f rate %.1f "
           "client_us_per_hs %.1f staple_bytes %ld",
           hs, atomic_load(&n_stapled), atomic_load(&n_unstapled), atomic_load(&n_failed),
           atomic_load(&n_bad), secs, secs > 0 ? (double)hs / secs : 0.0,
           hs > 0 ? (self1 - self0) * 1e6 / (double)hs : 0.0, atomic_load(&staple_bytes));
    if (opt.npids > 0)
        printf(" server_us_per_hs %.2f", hs > 0 ? (cpu1 - cpu0) * 1e6 / (double)hs : 0.0);
    printf("\n");
    SSL_CTX_free(opt.ctx);
    X509_STORE_free(opt.store);
    sk_X509_free(opt.untrusted);
    X509_free(opt.issuer);
    return atomic_load(&n_failed) == 0 && atomic_load(&n_bad) == 0 ? 0 : 1;
}
