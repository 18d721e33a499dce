/*
 * hammer: many concurrent TLS handshakes that ask for a staple and check
 * every staple the way a strict client would.
 *
 * hammer -port P -CAfile ROOT.pem -issuer ISSUER.pem [-name SNI]...
 *        [-threads N] [-seconds S] [-skew SECS]
 *
 * N threads (default 8) connect to 127.0.0.1:P for S seconds (default 10),
 * each handshake with status_request and the next -name as SNI (in turn;
 * none if no -name).  After the handshake a thread sends
 * "GET / HTTP/1.0\r\n\r\n" and reads the reply to its end, so the server
 * sees whole connections.  A staple counts as bad unless it is a successful
 * basic response, verified with OCSP_basic_verify against ROOT (ISSUER as
 * untrusted intermediate), its single response for the served certificate
 * (CertID from the peer certificate and ISSUER) says good, and its times
 * are valid now within -skew seconds (default 2).
 *
 * Prints one summary line on stdout:
 *   handshakes H stapled S unstapled U bad B failed F
 * and the first few reasons for bad staples and failed handshakes on
 * stderr.  Exit status 0 if B and F are 0, 1 otherwise, 2 on bad usage.
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
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "loopback_connect.h"
#include "strict_staple.h"

#define MAX_NAMES 512
#define MAX_THREADS 64
#define MAX_REPORTS 5

static struct {
    int port, threads;
    long seconds, skew;
    const char *names[MAX_NAMES];
    int nnames;
    SSL_CTX *ctx;
    X509 *issuer;
    STACK_OF(X509) *untrusted;
    X509_STORE *store;
    time_t deadline;
} opt = { .port = -1, .threads = 8, .seconds = 10, .skew = 2 };
/* What staples are checked against, once loaded (strict_staple.h). */
static struct strict_trust trust;

static atomic_long n_handshakes, n_stapled, n_unstapled, n_bad, n_failed, n_reports;
static atomic_uint next_name;

static void report(const char *what, const char *why)
{
    if (atomic_fetch_add(&n_reports, 1) < MAX_REPORTS)
        fprintf(stderr, "hammer: %s: %s\n", what, why);
}

static void one_connection(void)
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
        report("connection failed", fd < 0 ? "connect" : "SSL_new");
        usleep(10000);   /* the server may be gone: do not spin */
        goto out;
    }
    SSL_set_fd(ssl, fd);
    if (opt.nnames > 0)
        SSL_set_tlsext_host_name(ssl, opt.names[atomic_fetch_add(&next_name, 1) % opt.nnames]);
    SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp);
    if (SSL_connect(ssl) != 1) {
        atomic_fetch_add(&n_failed, 1);
        report("handshake failed", ERR_reason_error_string(ERR_peek_last_error())
                                       ? ERR_reason_error_string(ERR_peek_last_error())
                                       : "no OpenSSL error");
        ERR_clear_error();
        goto out;
    }
    atomic_fetch_add(&n_handshakes, 1);
    len = SSL_get_tlsext_status_ocsp_resp(ssl, &staple);
    if (len <= 0 || staple == NULL) {
        atomic_fetch_add(&n_unstapled, 1);
    } else if ((why = strict_staple_problem(ssl, staple, len, &trust, 1)) != NULL) {
        atomic_fetch_add(&n_bad, 1);
        report("bad staple", why);
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
    (void)arg;
    while (time(NULL) < opt.deadline)
        one_connection();
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
        fprintf(stderr, "hammer: cannot read a certificate from %s\n", path);
        exit(2);
    }
    return x;
}

static void usage(void)
{
    fprintf(stderr, "usage: hammer -port P -CAfile ROOT.pem -issuer ISSUER.pem [-name SNI]...\n"
                    "              [-threads N] [-seconds S] [-skew SECS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *cafile = NULL, *issuer = NULL;
    pthread_t th[MAX_THREADS];
    int i;

    for (i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];

        if (strcmp(a, "-port") == 0)
            opt.port = atoi(v);
        else if (strcmp(a, "-CAfile") == 0)
            cafile = v;
        else if (strcmp(a, "-issuer") == 0)
            issuer = v;
        else if (strcmp(a, "-name") == 0 && opt.nnames < MAX_NAMES)
            opt.names[opt.nnames++] = v;
        else if (strcmp(a, "-threads") == 0)
            opt.threads = atoi(v);
        else if (strcmp(a, "-seconds") == 0)
            opt.seconds = atol(v);
        else if (strcmp(a, "-skew") == 0)
            opt.skew = atol(v);
        else
            usage();
    }
    if (i != argc || opt.port <= 0 || opt.port > 65535 || cafile == NULL || issuer == NULL
        || opt.threads < 1 || opt.threads > MAX_THREADS || opt.seconds < 1)
        usage();

    signal(SIGPIPE, SIG_IGN);
    opt.issuer = read_cert(issuer);
    opt.untrusted = sk_X509_new_null();
    sk_X509_push(opt.untrusted, opt.issuer);
    opt.store = X509_STORE_new();
    if (opt.store == NULL || X509_STORE_load_file(opt.store, cafile) != 1) {
        fprintf(stderr, "hammer: cannot load %s\n", cafile);
        return 2;
    }
    trust = (struct strict_trust){ opt.store, opt.untrusted, opt.issuer, opt.skew };
    opt.ctx = SSL_CTX_new(TLS_client_method());
    if (opt.ctx == NULL)
        return 2;
    SSL_CTX_set_session_cache_mode(opt.ctx, SSL_SESS_CACHE_OFF);   /* full handshakes */
    opt.deadline = time(NULL) + opt.seconds;
    for (i = 0; i < opt.threads; i++)
        if (pthread_create(&th[i], NULL, worker, NULL) != 0) {
            fprintf(stderr, "hammer: cannot start thread %d\n", i);
            return 2;
        }
    for (i = 0; i < opt.threads; i++)
        pthread_join(th[i], NULL);
    printf("handshakes %ld stapled %ld unstapled %ld bad %ld failed %ld\n",
           atomic_load(&n_handshakes), atomic_load(&n_stapled), atomic_load(&n_unstapled),
           atomic_load(&n_bad), atomic_load(&n_failed));
    SSL_CTX_free(opt.ctx);
    X509_STORE_free(opt.store);
    sk_X509_free(opt.untrusted);
    X509_free(opt.issuer);
    return atomic_load(&n_bad) == 0 && atomic_load(&n_failed) == 0 ? 0 : 1;
}
