/*
 * scale_client: TLS handshakes over many SNI names, for bench/scale.sh.
 *
 * scale_client -port P -names FILE -issuer ISSUER.pem [-CAfile ROOT.pem]
 *              [-threads N] [-seconds S | -sweep] [-seed X]
 *
 * Every handshake is a full one (no session reuse), TLS 1.3, asks for a
 * staple, sends "GET / HTTP/1.0" and reads the answer to its end.
 *
 * Rate (default): N threads (default 2) for S seconds (default 10), each
 * handshake with a name drawn at random from FILE (one per line).  A staple
 * is looked at as a client that caches nothing would: it must parse, and
 * hold a single response for the certificate served (CertID from the peer
 * certificate and ISSUER); its signature is not checked (see -sweep).
 * Prints:  handshakes H seconds S rate R stapled T unstapled U bad B failed F
 *
 * -sweep: every name of FILE once (shared among the threads), each staple
 * checked like a strict client: a successful basic response, signed by the
 * issuer or its delegate (OCSP_basic_verify against ROOT, -CAfile needed),
 * for the certificate served, status good, times valid now (60 s skew).
 * Prints:  names N verified V unstapled U bad B failed F
 * and the first few problems on stderr.  Exit status 0 if every name got a
 * verified staple, 1 if not, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/ssl.h>

#include "../tests/helpers/options.h"
#include "../tests/helpers/staple_probe.h"

#define MAX_THREADS 64

static struct {
    int port, threads, sweep;
    double seconds;
    unsigned long long seed;
    char **names;
    size_t nnames;
    double deadline;
} opt = { .port = -1, .threads = 2, .seconds = 10 };
/* What staples are checked against, once loaded (strict_staple.h). */
static struct strict_trust trust;
static struct probe_config probe = { .nodelay = 0, .request = 1, .trust = &trust };

static struct probe_tally tally;
static atomic_size_t next_name;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void one_connection(const char *name)
{
    static const char *const failed[] = {
        [PROBE_NO_CONNECT] = "connect failed",
        [PROBE_NO_SSL] = "SSL_new failed",
        [PROBE_NO_HANDSHAKE] = "handshake failed",
    };
    const char *why;
    long len;
    enum probe_result r = staple_probe(&probe, name, &why, &len);

    probe_count(&tally, r);
    if (probe_failed(r))
        why = failed[r];
    else if (r == PROBE_UNSTAPLED && opt.sweep)
        why = "no staple";
    if (why != NULL)
        probe_report("scale_client", name, why);
}

static void *worker(void *arg)
{
    unsigned long long x = opt.seed + 0x9e3779b97f4a7c15ULL * (unsigned long long)(size_t)arg;
    if (x == 0)
        x = 1;
    if (opt.sweep) {
        size_t i;
        while ((i = atomic_fetch_add(&next_name, 1)) < opt.nnames)
            one_connection(opt.names[i]);
    } else {
        while (now() < opt.deadline) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            one_connection(opt.names[x % opt.nnames]);
        }
    }
    OPENSSL_thread_stop();
    return NULL;
}

static void read_names(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    size_t cap = 0;

    if (f == NULL) {
        fprintf(stderr, "scale_client: cannot read %s\n", path);
        exit(2);
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0')
            continue;
        if (opt.nnames == cap) {
            cap = cap ? cap * 2 : 1024;
            opt.names = realloc(opt.names, cap * sizeof(char *));
            if (opt.names == NULL)
                exit(2);
        }
        if ((opt.names[opt.nnames++] = strdup(line)) == NULL)
            exit(2);
    }
    fclose(f);
    if (opt.nnames == 0) {
        fprintf(stderr, "scale_client: no names in %s\n", path);
        exit(2);
    }
}

/* -seed: as strtoull reads it. */
static int option_seed(const char *v, void *dst)
{
    *(unsigned long long *)dst = strtoull(v, NULL, 10);
    return 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: scale_client -port P -names FILE -issuer ISSUER.pem [-CAfile ROOT.pem]\n"
                    "                    [-threads N] [-seconds S | -sweep] [-seed X]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *cafile = NULL, *issuer = NULL, *names = NULL;
    pthread_t th[MAX_THREADS];
    int i;
    const struct option_spec options[] = {
        { "-sweep", NULL, &opt.sweep },
        { "-port", option_int, &opt.port },
        { "-names", option_string, &names },
        { "-issuer", option_string, &issuer },
        { "-CAfile", option_string, &cafile },
        { "-threads", option_int, &opt.threads },
        { "-seconds", option_double, &opt.seconds },
        { "-seed", option_seed, &opt.seed },
        { NULL, NULL, NULL },
    };

    parse_options(argc, argv, options, usage);
    if (opt.port <= 0 || opt.port > 65535 || names == NULL || issuer == NULL ||
        opt.threads < 1 || opt.threads > MAX_THREADS || opt.seconds <= 0 ||
        (opt.sweep && cafile == NULL))
        usage();
    if (opt.seed == 0 && getrandom(&opt.seed, sizeof(opt.seed), 0) != sizeof(opt.seed))
        opt.seed = (unsigned long long)time(NULL);

    signal(SIGPIPE, SIG_IGN);
    read_names(names);
    strict_trust_load(&trust, "scale_client", cafile, issuer, 60);
    probe.port = opt.port;
    probe.full = opt.sweep;
    probe.ctx = SSL_CTX_new(TLS_client_method());
    if (probe.ctx == NULL)
        return 2;
    SSL_CTX_set_session_cache_mode(probe.ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_min_proto_version(probe.ctx, TLS1_3_VERSION);

    double t0 = now();
    opt.deadline = t0 + opt.seconds;
    for (i = 0; i < opt.threads; i++)
        if (pthread_create(&th[i], NULL, worker, (void *)(size_t)(i + 1)) != 0) {
            fprintf(stderr, "scale_client: cannot start thread %d\n", i);
            return 2;
        }
    for (i = 0; i < opt.threads; i++)
        pthread_join(th[i], NULL);
    double took = now() - t0;
    long h = atomic_load(&tally.handshakes), s = atomic_load(&tally.stapled);
    long u = atomic_load(&tally.unstapled), b = atomic_load(&tally.bad);
    long f = atomic_load(&tally.failed);
    if (opt.sweep)
        printf("names %zu verified %ld unstapled %ld bad %ld failed %ld seconds %.1f\n",
               opt.nnames, s, u, b, f, took);
    else
        printf("handshakes %ld seconds %.2f rate %.1f stapled %ld unstapled %ld bad %ld "
               "failed %ld\n", h, took, (double)h / took, s, u, b, f);
    return b == 0 && f == 0 && (!opt.sweep || s == (long)opt.nnames) ? 0 : 1;
}
