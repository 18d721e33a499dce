/*
 * fixture_client - a small TLS client for the autostaple tests.
 *
 * Usage:
 *   fixture_client -port P [-servername N] [-CAfile F] [-method client|generic|quic]
 *                  [-status] [-own-cb accept|reject] [-cert F -key F]
 *                  [-tls 1.2|1.3] [-save-staple FILE]
 *
 * Connects to 127.0.0.1:P, performs the handshake, sends
 * "GET / HTTP/1.0\r\n\r\n" and reads the reply.  Prints on stdout:
 *
 *   client-cb: staple N bytes | client-cb: no staple   (only with -own-cb,
 *                                                       printed during the
 *                                                       handshake)
 *   handshake: ok | handshake: failed
 *   verify: ok | verify: <X509 verify error string> | verify: none
 *   status: staple N bytes | status: no staple
 *   <first line of the response>   (only after a successful handshake;
 *                                   "response: none" if nothing came back)
 *
 * "verify: none" means the handshake failed before any certificate was
 * checked.  Without -CAfile the peer is not required to verify
 * (SSL_VERIFY_NONE), but the verification result is still printed (against
 * an empty trust store).  No host name check is made.
 *
 * -method client uses TLS_client_method(); generic uses TLS_method(), a
 * context that could also act as a server.  quic (OpenSSL 3.2 and later)
 * only makes a context with OSSL_QUIC_client_method() and prints whether
 * the library's core got loaded into the process for it ("quic context:
 * core loaded" or "quic context: core not loaded"; "quic context: not in
 * this OpenSSL", exit status 3, before 3.2), then exits.  -status requests a certificate
 * status (OCSP stapling); -own-cb installs the client's own status callback
 * (OpenSSL calls it only when a status was requested) which accepts or
 * rejects the handshake.  -cert/-key load a client certificate (+chain) with
 * SSL_CTX_use_certificate_chain_file/SSL_CTX_use_PrivateKey_file.
 *
 * Exit status: 0 if the handshake succeeded, 1 otherwise (2 on bad usage).
 * Everything together is bounded by 10 seconds.  Diagnostics go to stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#define TOTAL_SECONDS 10.0
#define MAX_REPLY 65536

static double deadline;

static void usage(void)
{
    fprintf(stderr,
            "usage: fixture_client -port P [-servername N] [-CAfile F]\n"
            "         [-method client|generic|quic] [-status] [-own-cb accept|reject]\n"
            "         [-cert F -key F] [-tls 1.2|1.3] [-save-staple FILE]\n");
    exit(2);
}

static double now_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_ssl_error(const char *what)
{
    unsigned long e;
    char buf[256];

    fprintf(stderr, "fixture_client: %s\n", what);
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        fprintf(stderr, "fixture_client:   %s\n", buf);
    }
}

/* Wait for the socket as OpenSSL asked; 0 when the deadline has passed. */
static int wait_io(int fd, short events)
{
    struct pollfd p;

    for (;;) {
        double left = deadline - now_mono();
        int r;

        if (left <= 0)
            return 0;
        p.fd = fd;
        p.events = events;
        p.revents = 0;
        r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return 0;
    }
}

static int ssl_wait(SSL *ssl, int fd, int r)
{
    int err = SSL_get_error(ssl, r);

    if (err == SSL_ERROR_WANT_READ)
        return wait_io(fd, POLLIN);
    if (err == SSL_ERROR_WANT_WRITE)
        return wait_io(fd, POLLOUT);
    return 0;
}

static int client_status_cb(SSL *ssl, void *arg)
{
    const unsigned char *resp = NULL;
    long len = SSL_get_tlsext_status_ocsp_resp(ssl, &resp);
    int accept = *(const int *)arg;

    if (resp != NULL && len > 0)
        printf("client-cb: staple %ld bytes\n", len);
    else
        printf("client-cb: no staple\n");
    return accept ? 1 : 0;
}

static int connect_local(int port)
{
    struct sockaddr_in sa;
    int fd, fl, soerr = 0;
    socklen_t len = sizeof(soerr);

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "fixture_client: socket: %s\n", strerror(errno));
        return -1;
    }
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        fprintf(stderr, "fixture_client: fcntl: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (errno != EINPROGRESS) {
            fprintf(stderr, "fixture_client: connect: %s\n", strerror(errno));
            close(fd);
            return -1;
        }
        if (!wait_io(fd, POLLOUT)) {
            fprintf(stderr, "fixture_client: connect: timed out\n");
            close(fd);
            return -1;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr != 0) {
            fprintf(stderr, "fixture_client: connect: %s\n",
                    strerror(soerr ? soerr : errno));
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* -method quic: see the header comment. */
static int quic_context(void)
{
#if OPENSSL_VERSION_NUMBER >= 0x30200000L
    SSL_CTX *ctx = SSL_CTX_new(OSSL_QUIC_client_method());
    char line[512];
    int loaded = 0;
    FILE *maps = fopen("/proc/self/maps", "r");

    if (ctx == NULL) {
        print_ssl_error("SSL_CTX_new(OSSL_QUIC_client_method()) failed");
        return 1;
    }
    while (maps != NULL && fgets(line, sizeof(line), maps) != NULL)
        loaded |= strstr(line, "libautostaple-core") != NULL;
    if (maps != NULL)
        fclose(maps);
    printf("quic context: core %s\n", loaded ? "loaded" : "not loaded");
    SSL_CTX_free(ctx);
    return 0;
#else
    printf("quic context: not in this OpenSSL\n");
    return 3;
#endif
}

int main(int argc, char **argv)
{
    int port = -1, want_status = 0, own_cb = 0, cb_accept = 1, generic = 0;
    int tls_version = 0, i, fd = -1, r, ok = 0;
    const char *servername = NULL, *cafile = NULL, *cert = NULL, *key = NULL;
    const char *save_staple = NULL;
    static const char request[] = "GET / HTTP/1.0\r\n\r\n";
    static char reply[MAX_REPLY + 1];
    size_t have = 0;
    const unsigned char *resp = NULL;
    long resp_len;
    long vr;
    SSL_CTX *ctx;
    SSL *ssl = NULL;

    for (i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(o, "-status") == 0) {
            want_status = 1;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "fixture_client: %s needs a value\n", o);
            usage();
        }
        i++;
        if (strcmp(o, "-port") == 0) {
            char *end;
            long p = strtol(v, &end, 10);

            if (end == v || *end != '\0' || p < 1 || p > 65535)
                usage();
            port = (int)p;
        } else if (strcmp(o, "-servername") == 0) {
            servername = v;
        } else if (strcmp(o, "-CAfile") == 0) {
            cafile = v;
        } else if (strcmp(o, "-method") == 0) {
            if (strcmp(v, "client") == 0)
                generic = 0;
            else if (strcmp(v, "generic") == 0)
                generic = 1;
            else if (strcmp(v, "quic") == 0)
                return quic_context();
            else
                usage();
        } else if (strcmp(o, "-own-cb") == 0) {
            own_cb = 1;
            if (strcmp(v, "accept") == 0)
                cb_accept = 1;
            else if (strcmp(v, "reject") == 0)
                cb_accept = 0;
            else
                usage();
        } else if (strcmp(o, "-save-staple") == 0) {
            save_staple = v;
        } else if (strcmp(o, "-cert") == 0) {
            cert = v;
        } else if (strcmp(o, "-key") == 0) {
            key = v;
        } else if (strcmp(o, "-tls") == 0) {
            if (strcmp(v, "1.2") == 0)
                tls_version = TLS1_2_VERSION;
            else if (strcmp(v, "1.3") == 0)
                tls_version = TLS1_3_VERSION;
            else
                usage();
        } else {
            fprintf(stderr, "fixture_client: unknown option %s\n", o);
            usage();
        }
    }
    if (port < 0 || (cert == NULL) != (key == NULL))
        usage();

    /* line buffered so that a kill still leaves complete lines behind */
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    /* hard backstop; the deadline below normally ends things first */
    alarm((unsigned)TOTAL_SECONDS + 2);
    deadline = now_mono() + TOTAL_SECONDS;

    ctx = SSL_CTX_new(generic ? TLS_method() : TLS_client_method());
    if (ctx == NULL) {
        print_ssl_error("SSL_CTX_new failed");
        return 1;
    }
    if (tls_version != 0
        && (!SSL_CTX_set_min_proto_version(ctx, tls_version)
            || !SSL_CTX_set_max_proto_version(ctx, tls_version))) {
        print_ssl_error("cannot pin the protocol version");
        return 1;
    }
    if (cafile != NULL) {
        if (!SSL_CTX_load_verify_locations(ctx, cafile, NULL)) {
            print_ssl_error("cannot load the CA file");
            return 1;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    if (cert != NULL) {
        if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1
            || SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1
            || SSL_CTX_check_private_key(ctx) != 1) {
            print_ssl_error("cannot load the client certificate");
            return 1;
        }
    }
    if (own_cb) {
        SSL_CTX_set_tlsext_status_cb(ctx, client_status_cb);
        SSL_CTX_set_tlsext_status_arg(ctx, &cb_accept);
    }

    fd = connect_local(port);
    if (fd < 0)
        goto report;
    ssl = SSL_new(ctx);
    if (ssl == NULL || !SSL_set_fd(ssl, fd)) {
        print_ssl_error("SSL_new/SSL_set_fd failed");
        goto report;
    }
    if (servername != NULL && !SSL_set_tlsext_host_name(ssl, servername)) {
        print_ssl_error("cannot set the server name");
        goto report;
    }
    if (want_status && !SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp)) {
        print_ssl_error("cannot request a certificate status");
        goto report;
    }
    while ((r = SSL_connect(ssl)) != 1) {
        if (!ssl_wait(ssl, fd, r)) {
            if (SSL_get_error(ssl, r) == SSL_ERROR_WANT_READ
                || SSL_get_error(ssl, r) == SSL_ERROR_WANT_WRITE)
                fprintf(stderr, "fixture_client: handshake timed out\n");
            else
                print_ssl_error("handshake failed");
            goto report;
        }
    }
    ok = 1;

report:
    printf("handshake: %s\n", ok ? "ok" : "failed");
    vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (vr != X509_V_OK)
        printf("verify: %s\n", X509_verify_cert_error_string(vr));
    else if (ok || (ssl != NULL && SSL_get0_peer_certificate(ssl) != NULL))
        printf("verify: ok\n");
    else
        printf("verify: none\n");
    resp_len = ssl != NULL ? SSL_get_tlsext_status_ocsp_resp(ssl, &resp) : -1;
    if (resp != NULL && resp_len > 0) {
        printf("status: staple %ld bytes\n", resp_len);
        FILE *out = save_staple != NULL ? fopen(save_staple, "wb") : NULL;
        if (out != NULL) {
            fwrite(resp, 1, (size_t)resp_len, out);
            fclose(out);
        }
    } else
        printf("status: no staple\n");
    if (!ok)
        goto done;

    /* request */
    for (;;) {
        r = SSL_write(ssl, request, (int)sizeof(request) - 1);
        if (r > 0)
            break;
        if (!ssl_wait(ssl, fd, r)) {
            print_ssl_error("sending the request failed");
            goto response;
        }
    }
    /* reply, until EOF, error, deadline or MAX_REPLY bytes */
    while (have < MAX_REPLY) {
        r = SSL_read(ssl, reply + have, (int)(MAX_REPLY - have));
        if (r > 0) {
            have += (size_t)r;
            continue;
        }
        if (SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN)
            break;
        if (!ssl_wait(ssl, fd, r)) {
            if (SSL_get_error(ssl, r) == SSL_ERROR_WANT_READ)
                fprintf(stderr, "fixture_client: reading the reply timed out\n");
            else if (SSL_get_error(ssl, r) != SSL_ERROR_SYSCALL
                     || ERR_peek_error() != 0)
                print_ssl_error("reading the reply failed");
            break;
        }
    }
    (void)SSL_shutdown(ssl);

response:
    reply[have] = '\0';
    if (have == 0) {
        printf("response: none\n");
    } else {
        reply[strcspn(reply, "\r\n")] = '\0';
        printf("%s\n", reply);
    }

done:
    ERR_clear_error();
    SSL_free(ssl);
    if (fd >= 0)
        close(fd);
    SSL_CTX_free(ctx);
    return ok ? 0 : 1;
}
