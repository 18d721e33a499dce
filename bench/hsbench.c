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
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>

#include "../tests/helpers/options.h"
#include "../tests/helpers/staple_probe.h"

#define MAX_NAMES 4096
#define MAX_THREADS 64
#define MAX_PIDS 8

static const char *names[MAX_NAMES];
static struct {
    int port, threads, request, tls;
    double seconds, warmup;
    long count;
    const char *groups;
    struct option_list names;
    int pids[MAX_PIDS];
    int npids;
} opt = { .port = -1, .threads = 2, .seconds = 0, .warmup = 1, .names = { names, 0, MAX_NAMES } };
/* What staples are checked against, with -verify (strict_staple.h). */
static struct strict_trust trust;
static struct probe_config probe = { .nodelay = 1, .trust = NULL, .full = 1 };

static double win_start, win_end; /* measured window, monotonic seconds */
static atomic_long left;          /* -count: handshakes still to start */
static struct probe_tally tally;
static atomic_uint next_name;
static atomic_long staple_bytes; /* the size of a staple (the last one seen) */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One connection: a failure counted at once, a handshake if it completes
 * in the window (or with -count). */
static void one_connection(void)
{
    const char *sni = option_list_next(&opt.names, &next_name), *why;
    long len;
    enum probe_result r = staple_probe(&probe, sni, &why, &len);

    if (why != NULL)
        probe_report("hsbench", probe_trouble(r), why);
    if (len > 0)
        atomic_store_explicit(&staple_bytes, len, memory_order_relaxed);
    double t = now();
    if (probe_failed(r) || opt.count > 0 || (t >= win_start && t < win_end))
        probe_count(&tally, r);
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
    SSL_CTX *ctx = probe.ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL)
        exit(2);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF); /* full handshakes */
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    if (opt.tls != 0 && (!SSL_CTX_set_min_proto_version(ctx, opt.tls) ||
                         !SSL_CTX_set_max_proto_version(ctx, opt.tls)))
        exit(2);
    if (opt.groups != NULL && !SSL_CTX_set1_groups_list(ctx, opt.groups)) {
        fprintf(stderr, "hsbench: bad -groups %s\n", opt.groups);
        exit(2);
    }
    if (root == NULL) {
        /* The client does not check the server's chain (a bench client
         * trusts its server): that keeps its share of the machine small. */
        SSL_CTX_set_cert_verify_callback(ctx, accept_chain, NULL);
        return;
    }
    strict_trust_load(&trust, "hsbench", root, issuer, 2);
    probe.trust = &trust;
}

/* -tls: 1.2 or 1.3 only. */
static int option_tls(const char *v, void *dst)
{
    *(int *)dst = strcmp(v, "1.2") == 0 ? TLS1_2_VERSION
                  : strcmp(v, "1.3") == 0 ? TLS1_3_VERSION : 0;
    return *(int *)dst != 0;
}

/* -cpu: one more process to measure. */
static int option_pid(const char *v, void *dst)
{
    (void)dst;
    if (opt.npids >= MAX_PIDS)
        return 0;
    opt.pids[opt.npids++] = atoi(v);
    return 1;
}

int main(int argc, char **argv)
{
    const char *root = NULL, *issuer = NULL;
    pthread_t th[MAX_THREADS];
    int i;
    const struct option_spec options[] = {
        { "-request", NULL, &opt.request },
        { "-port", option_int, &opt.port },
        { "-threads", option_int, &opt.threads },
        { "-seconds", option_double, &opt.seconds },
        { "-warmup", option_double, &opt.warmup },
        { "-count", option_long, &opt.count },
        { "-tls", option_tls, &opt.tls },
        { "-groups", option_string, &opt.groups },
        { "-name", option_append, &opt.names },
        { "-cpu", option_pid, NULL },
        { "-verify", option_string, &root },
        { "-issuer", option_string, &issuer },
        { NULL, NULL, NULL },
    };

    parse_options(argc, argv, options, usage);
    if (opt.port <= 0 || opt.port > 65535 || opt.threads < 1 || opt.threads > MAX_THREADS ||
        (opt.seconds > 0) == (opt.count > 0) || opt.warmup < 0 || (root == NULL) != (issuer == NULL))
        usage();

    signal(SIGPIPE, SIG_IGN);
    probe.port = opt.port;
    probe.request = opt.request;
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
    long hs = atomic_load(&tally.handshakes), bad = atomic_load(&tally.bad);
    double secs = t1 - t0;
    printf("handshakes %ld stapled %ld unstapled %ld failed %ld bad %ld seconds %.3f rate %.1f "
           "client_us_per_hs %.1f staple_bytes %ld",
           hs, atomic_load(&tally.stapled) + bad /* a bad staple is a staple here */,
           atomic_load(&tally.unstapled), atomic_load(&tally.failed), bad, secs,
           secs > 0 ? (double)hs / secs : 0.0,
           hs > 0 ? (self1 - self0) * 1e6 / (double)hs : 0.0, atomic_load(&staple_bytes));
    if (opt.npids > 0)
        printf(" server_us_per_hs %.2f", hs > 0 ? (cpu1 - cpu0) * 1e6 / (double)hs : 0.0);
    printf("\n");
    SSL_CTX_free(probe.ctx);
    strict_trust_free(&trust);
    return atomic_load(&tally.failed) == 0 && bad == 0 ? 0 : 1;
}
