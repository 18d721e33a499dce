/* staple_probe.h: one client connection that asks for a staple, as the test
 * and benchmark clients make them (tests/helpers/hammer.c, bench/hsbench.c,
 * bench/scale_client.c).  Header-only: include it once. */
#ifndef AS_STAPLE_PROBE_H
#define AS_STAPLE_PROBE_H

#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "loopback_connect.h"
#include "strict_staple.h"

/* How a client connects, ends its connections, and checks staples. */
struct probe_config {
    SSL_CTX *ctx;
    int port;
    int nodelay;                      /* as loopback_connect's */
    int request;                      /* end with "GET / HTTP/1.0" (probe_end) */
    const struct strict_trust *trust; /* NULL: staples are not checked */
    int full;                         /* as strict_staple_problem's */
};

/* What one connection came to. */
enum probe_result {
    PROBE_NO_CONNECT,   /* why: "connect" */
    PROBE_NO_SSL,       /* why: "SSL_new" */
    PROBE_NO_HANDSHAKE, /* why: OpenSSL's reason, or "no OpenSSL error" */
    PROBE_UNSTAPLED,
    PROBE_BAD,          /* why: strict_staple_problem's */
    PROBE_STAPLED,
};

/* Results counted, by threads at once: every failure, and every handshake
 * once, as stapled (with a staple that passed its check, or was not
 * checked), unstapled or bad. */
struct probe_tally {
    atomic_long failed, handshakes, stapled, unstapled, bad;
};

static inline int probe_failed(enum probe_result r)
{
    return r == PROBE_NO_CONNECT || r == PROBE_NO_SSL || r == PROBE_NO_HANDSHAKE;
}

static inline void probe_count(struct probe_tally *t, enum probe_result r)
{
    if (probe_failed(r)) {
        atomic_fetch_add(&t->failed, 1);
        return;
    }
    atomic_fetch_add(&t->handshakes, 1);
    atomic_fetch_add(r == PROBE_STAPLED ? &t->stapled
                     : r == PROBE_BAD   ? &t->bad
                                        : &t->unstapled, 1);
}

/* What went wrong, as hammer and hsbench report it: "connection failed",
 * "handshake failed" or "bad staple"; NULL if nothing did. */
static inline const char *probe_trouble(enum probe_result r)
{
    return r == PROBE_NO_HANDSHAKE ? "handshake failed"
           : probe_failed(r)       ? "connection failed"
           : r == PROBE_BAD        ? "bad staple"
                                   : NULL;
}

/* "PROG: WHAT: WHY" on stderr, for the first 5 calls of the process only
 * (the first few problems say enough). */
static inline void probe_report(const char *prog, const char *what, const char *why)
{
    static atomic_long reports;

    if (atomic_fetch_add(&reports, 1) < 5)
        fprintf(stderr, "%s: %s: %s\n", prog, what, why);
}

/* Ends a connection after its handshake.  With request, sends
 * "GET / HTTP/1.0" and reads the reply to its end, then close_notify (the
 * server sees a whole connection); else close_notify, and waits for the
 * server to close.  Does not free ssl or close fd. */
static inline void probe_end(SSL *ssl, int fd, int request)
{
    static const char get[] = "GET / HTTP/1.0\r\n\r\n";
    char buf[4096];

    if (request) {
        if (SSL_write(ssl, get, sizeof(get) - 1) > 0)
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

/* One connection to 127.0.0.1:c->port: a full handshake over c->ctx asking
 * for a staple (status_request), with SNI sni (none if NULL); the staple
 * checked against c->trust; then probe_end, and the connection closed and
 * freed.  Sets *why for the results that say one above (a static string),
 * else NULL, and *staple_len to the staple's size (0 if none).  After a
 * failed connect or SSL_new, pauses 10 ms: the server may be gone, and the
 * callers loop.  Leaves OpenSSL's error queue empty. */
static inline enum probe_result staple_probe(const struct probe_config *c, const char *sni,
                                             const char **why, long *staple_len)
{
    const unsigned char *staple = NULL;
    enum probe_result result;
    long len;
    int fd = loopback_connect(c->port, c->nodelay);
    SSL *ssl = fd >= 0 ? SSL_new(c->ctx) : NULL;

    *why = NULL;
    *staple_len = 0;
    if (ssl == NULL) {
        result = fd < 0 ? PROBE_NO_CONNECT : PROBE_NO_SSL;
        *why = fd < 0 ? "connect" : "SSL_new";
        usleep(10000);
        goto out;
    }
    SSL_set_fd(ssl, fd);
    if (sni != NULL)
        SSL_set_tlsext_host_name(ssl, sni);
    SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp);
    if (SSL_connect(ssl) != 1) {
        const char *reason = ERR_reason_error_string(ERR_peek_last_error());

        result = PROBE_NO_HANDSHAKE;
        *why = reason != NULL ? reason : "no OpenSSL error";
        goto out;
    }
    len = SSL_get_tlsext_status_ocsp_resp(ssl, &staple);
    if (len <= 0 || staple == NULL) {
        result = PROBE_UNSTAPLED;
    } else {
        *staple_len = len;
        if (c->trust != NULL)
            *why = strict_staple_problem(ssl, staple, len, c->trust, c->full);
        result = *why != NULL ? PROBE_BAD : PROBE_STAPLED;
    }
    probe_end(ssl, fd, c->request);
out:
    ERR_clear_error();
    SSL_free(ssl);
    if (fd >= 0)
        close(fd);
    return result;
}

#endif
