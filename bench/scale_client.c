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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
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

#define MAX_THREADS 64

static struct {
    int port, threads, sweep;
    double seconds;
    unsigned long long seed;
    char **names;
    size_t nnames;
    SSL_CTX *ctx;
    X509 *issuer;
    STACK_OF(X509) *untrusted;
    X509_STORE *store;
    double deadline;
} opt = { .port = -1, .threads = 2, .seconds = 10 };
/* What staples are checked against, once loaded (strict_staple.h). */
static struct strict_trust trust;

static atomic_long n_handshakes, n_stapled, n_unstapled, n_bad, n_failed, n_reports;
static atomic_size_t next_name;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void report(const char *name, const char *why)
{
    if (atomic_fetch_add(&n_reports, 1) < 5)
        fprintf(stderr, "scale_client: %s: %s\n", name, why);
}

static void one_connection(const char *name)
{
    static const char request[] = "GET / HTTP/1.0\r\n\r\n";
    char buf[4096];
    const unsigned char *staple;
    const char *why;
    long len;
    int fd = loopback_connect(opt.port, 0);
    SSL *ssl = fd >= 0 ? SSL_new(opt.ctx) : NULL;

    if (ssl == NULL) {
        atomic_fetch_add(&n_failed, 1);
        report(name, fd < 0 ? "connect failed" : "SSL_new failed");
        usleep(10000);
        goto out;
    }
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, name);
    SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp);
    if (SSL_connect(ssl) != 1) {
        atomic_fetch_add(&n_failed, 1);
        report(name, "handshake failed");
        ERR_clear_error();
        goto out;
    }
    atomic_fetch_add(&n_handshakes, 1);
    len = SSL_get_tlsext_status_ocsp_resp(ssl, &staple);
    if (len <= 0 || staple == NULL) {
        atomic_fetch_add(&n_unstapled, 1);
        if (opt.sweep)
            report(name, "no staple");
    } else if ((why = strict_staple_problem(ssl, staple, len, &trust, opt.sweep)) != NULL) {
        atomic_fetch_add(&n_bad, 1);
        report(name, why);
    } else {
        atomic_fetch_add(&n_stapled, 1);
    }
    if (SSL_write(ssl, request, sizeof(request) - 1) > 0)
        while (SSL_read(ssl, buf, sizeof(buf)) > 0)
            ;
    SSL_shutdown(ssl);
    ERR_clear_error();
out:
    SSL_free(ssl);
    if (fd >= 0)
        close(fd);
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

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

    if (f)
        fclose(f);
    if (x == NULL) {
        fprintf(stderr, "scale_client: cannot read a certificate from %s\n", path);
        exit(2);
    }
    return x;
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

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "-sweep") == 0) {
            opt.sweep = 1;
            continue;
        }
        if (v == NULL)
            usage();
        i++;
        if (strcmp(a, "-port") == 0)
            opt.port = atoi(v);
        else if (strcmp(a, "-names") == 0)
            names = v;
        else if (strcmp(a, "-issuer") == 0)
            issuer = v;
        else if (strcmp(a, "-CAfile") == 0)
            cafile = v;
        else if (strcmp(a, "-threads") == 0)
            opt.threads = atoi(v);
        else if (strcmp(a, "-seconds") == 0)
            opt.seconds = atof(v);
        else if (strcmp(a, "-seed") == 0)
            opt.seed = strtoull(v, NULL, 10);
        else
            usage();
    }
    if (opt.port <= 0 || opt.port > 65535 || names == NULL || issuer == NULL ||
        opt.threads < 1 || opt.threads > MAX_THREADS || opt.seconds <= 0 ||
        (opt.sweep && cafile == NULL))
        usage();
    if (opt.seed == 0 && getrandom(&opt.seed, sizeof(opt.seed), 0) != sizeof(opt.seed))
        opt.seed = (unsigned long long)time(NULL);

    signal(SIGPIPE, SIG_IGN);
    read_names(names);
    opt.issuer = read_cert(issuer);
    opt.untrusted = sk_X509_new_null();
    sk_X509_push(opt.untrusted, opt.issuer);
    if (cafile != NULL) {
        opt.store = X509_STORE_new();
        if (opt.store == NULL || X509_STORE_load_file(opt.store, cafile) != 1) {
            fprintf(stderr, "scale_client: cannot load %s\n", cafile);
            return 2;
        }
    }
    trust = (struct strict_trust){ opt.store, opt.untrusted, opt.issuer, 60 };
    opt.ctx = SSL_CTX_new(TLS_client_method());
    if (opt.ctx == NULL)
        return 2;
    SSL_CTX_set_session_cache_mode(opt.ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_min_proto_version(opt.ctx, TLS1_3_VERSION);

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
    long h = atomic_load(&n_handshakes), s = atomic_load(&n_stapled);
    long u = atomic_load(&n_unstapled), b = atomic_load(&n_bad), f = atomic_load(&n_failed);
    if (opt.sweep)
        printf("names %zu verified %ld unstapled %ld bad %ld failed %ld seconds %.1f\n",
               opt.nnames, s, u, b, f, took);
    else
        printf("handshakes %ld seconds %.2f rate %.1f stapled %ld unstapled %ld bad %ld "
               "failed %ld\n", h, took, (double)h / took, s, u, b, f);
    return b == 0 && f == 0 && (!opt.sweep || s == (long)opt.nnames) ? 0 : 1;
}
