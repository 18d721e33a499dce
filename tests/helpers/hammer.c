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
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/ssl.h>

#include "options.h"
#include "staple_probe.h"

#define MAX_NAMES 512
#define MAX_THREADS 64

static const char *names[MAX_NAMES];
static struct {
    int port, threads;
    long seconds, skew;
    struct option_list names;
    time_t deadline;
} opt = { .port = -1, .threads = 8, .seconds = 10, .skew = 2, .names = { names, 0, MAX_NAMES } };
/* What staples are checked against, once loaded (strict_staple.h). */
static struct strict_trust trust;
static struct probe_config probe = { .nodelay = 0, .request = 1, .trust = &trust, .full = 1 };

static struct probe_tally tally;
static atomic_uint next_name;

static void one_connection(void)
{
    const char *sni = option_list_next(&opt.names, &next_name), *why;
    long len;
    enum probe_result r = staple_probe(&probe, sni, &why, &len);

    probe_count(&tally, r);
    if (why != NULL)
        probe_report("hammer", probe_trouble(r), why);
}

static void *worker(void *arg)
{
    (void)arg;
    while (time(NULL) < opt.deadline)
        one_connection();
    OPENSSL_thread_stop();
    return NULL;
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
    const struct option_spec options[] = {
        { "-port", option_int, &opt.port },
        { "-CAfile", option_string, &cafile },
        { "-issuer", option_string, &issuer },
        { "-name", option_append, &opt.names },
        { "-threads", option_int, &opt.threads },
        { "-seconds", option_long, &opt.seconds },
        { "-skew", option_long, &opt.skew },
        { NULL, NULL, NULL },
    };

    parse_options(argc, argv, options, usage);
    if (opt.port <= 0 || opt.port > 65535 || cafile == NULL || issuer == NULL
        || opt.threads < 1 || opt.threads > MAX_THREADS || opt.seconds < 1)
        usage();

    signal(SIGPIPE, SIG_IGN);
    strict_trust_load(&trust, "hammer", cafile, issuer, opt.skew);
    probe.port = opt.port;
    probe.ctx = SSL_CTX_new(TLS_client_method());
    if (probe.ctx == NULL)
        return 2;
    SSL_CTX_set_session_cache_mode(probe.ctx, SSL_SESS_CACHE_OFF);   /* full handshakes */
    opt.deadline = time(NULL) + opt.seconds;
    for (i = 0; i < opt.threads; i++)
        if (pthread_create(&th[i], NULL, worker, NULL) != 0) {
            fprintf(stderr, "hammer: cannot start thread %d\n", i);
            return 2;
        }
    for (i = 0; i < opt.threads; i++)
        pthread_join(th[i], NULL);
    printf("handshakes %ld stapled %ld unstapled %ld bad %ld failed %ld\n",
           atomic_load(&tally.handshakes), atomic_load(&tally.stapled),
           atomic_load(&tally.unstapled), atomic_load(&tally.bad), atomic_load(&tally.failed));
    SSL_CTX_free(probe.ctx);
    strict_trust_free(&trust);
    return atomic_load(&tally.bad) == 0 && atomic_load(&tally.failed) == 0 ? 0 : 1;
}
