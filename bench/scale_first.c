/*
 * scale_first: time from a server's certificate load to its first stapled
 * handshake, next to the responder's own answer time (bench/scale.sh).
 * Run it under the shim; it is the server and its own client.
 *
 * scale_first -cert LEAF.pem -key KEY.pem -issuer ISSUER.pem -url URL
 *             [-chain CHAIN.pem] [-cert2 LEAF2.pem] [-probes N] [-timeout S]
 *
 * 1. The responder's answer time: N (default 20) OCSP requests for LEAF
 *    (one SHA-1 CertID, no nonce, sent as the shim sends them: GET
 *    URL/base64, a fresh TCP connection each), after one to warm up;
 *    the median, from connect() to the end of the body.
 * 2. t0; a server context loads LEAF as most servers do
 *    (SSL_CTX_use_certificate, then SSL_CTX_add1_chain_cert with CHAIN,
 *    then SSL_CTX_use_PrivateKey); listen() on 127.0.0.1 (the shim waits
 *    there for the first fetch, AUTOSTAPLE_STARTUP_WAIT); a thread accepts.
 * 3. The client handshakes (TLS 1.3, status_request) again and again until
 *    one comes back stapled, for at most -timeout seconds (default 10).
 * 4. With -cert2 (same key and chain): the same again for a second server
 *    context and listening socket, loaded once the first is stapled: a
 *    certificate added to a running server, libcurl already loaded.
 *
 * Prints one line on stdout:
 *   responder_ms R first_staple_ms F listen_ms L handshakes H overhead_ms O
 *   [second_ms F2 second_overhead_ms O2]
 * F runs from t0 to the start of the first handshake that came back stapled
 * (a handshake that starts later than that cannot be stapled sooner), L
 * from t0 to the return of listen(), H the handshakes it took, O = F - R;
 * F2 and O2 the same for the second certificate.
 * Exit status 0 if a staple came, 1 if not, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

static struct {
    const char *cert, *key, *chain, *issuer, *url, *cert2;
    int probes;
    double timeout;
} opt = { .probes = 20, .timeout = 10 };

struct server {
    int fd;
    SSL_CTX *ctx;
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "scale_first: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(2);
}

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f != NULL)
        fclose(f);
    if (x == NULL)
        die(path);
    return x;
}

/* host, port and path of an http:// URL (127.0.0.1 only: a benchmark). */
static void split_url(const char *url, int *port, char *path, size_t len)
{
    const char *p = strncmp(url, "http://127.0.0.1:", 17) == 0 ? url + 17 : NULL;
    if (p == NULL)
        die("-url must be http://127.0.0.1:PORT/...");
    *port = atoi(p);
    const char *slash = strchr(p, '/');
    snprintf(path, len, "%s", slash != NULL ? slash : "/");
}

/* The GET path the shim uses: path + urlencode(base64(der)). */
static void get_path(const char *base, X509 *leaf, X509 *issuer, char *out, size_t len)
{
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), leaf, issuer);
    unsigned char *der = NULL, b64[1024];
    if (req == NULL || id == NULL || OCSP_request_add0_id(req, id) == NULL)
        die("cannot build the request");
    int n = i2d_OCSP_REQUEST(req, &der);
    if (n <= 0 || n > 700)
        die("cannot encode the request");
    EVP_EncodeBlock(b64, der, n);
    size_t used = (size_t)snprintf(out, len, "%s%s", base,
                                   base[strlen(base) - 1] == '/' ? "" : "/");
    for (unsigned char *p = b64; *p && used + 4 < len; p++)
        used += (size_t)(*p == '+' || *p == '/' || *p == '='
                             ? snprintf(out + used, len - used, "%%%02X", *p)
                             : snprintf(out + used, len - used, "%c", *p));
    OPENSSL_free(der);
    OCSP_REQUEST_free(req);
}

static int tcp_connect(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* One exchange; returns its duration in seconds, or -1. */
static double ask(int port, const char *path)
{
    char buf[16384];
    double t = now();
    int fd = tcp_connect(port);
    if (fd < 0)
        return -1;
    int n = snprintf(buf, sizeof(buf), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (write(fd, buf, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    /* To the end of the body (the responder closes); only the status line
     * is looked at. */
    char head[64] = "";
    size_t got = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof(buf))) > 0) {
        if (got < sizeof(head) - 1)
            memcpy(head + got, buf, (size_t)r < sizeof(head) - 1 - got ? (size_t)r
                                                                      : sizeof(head) - 1 - got);
        got += (size_t)r;
    }
    close(fd);
    t = now() - t;
    return strncmp(head, "HTTP/1.", 7) == 0 && strstr(head, " 200 ") != NULL ? t : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double responder_time(X509 *leaf, X509 *issuer)
{
    char path[2048], base[1024];
    int port;
    double t[1000];
    split_url(opt.url, &port, base, sizeof(base));
    get_path(base, leaf, issuer, path, sizeof(path));
    if (ask(port, path) < 0)
        die("the responder does not answer 200");
    for (int i = 0; i < opt.probes; i++)
        if ((t[i] = ask(port, path)) < 0)
            die("the responder does not answer 200");
    qsort(t, (size_t)opt.probes, sizeof(double), cmp_double);
    return t[opt.probes / 2];
}

static void *serve(void *arg)
{
    struct server *srv = arg;
    for (;;) {
        int fd = accept(srv->fd, NULL, NULL);
        if (fd < 0)
            continue;
        SSL *ssl = SSL_new(srv->ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) == 1)
            SSL_shutdown(ssl);
        SSL_free(ssl);
        close(fd);
        ERR_clear_error();
    }
    return NULL;
}

/* One handshake: 1 stapled, 0 not, -1 failed. */
static int handshake(SSL_CTX *ctx, int port)
{
    int fd = tcp_connect(port), stapled = -1;
    SSL *ssl = fd >= 0 ? SSL_new(ctx) : NULL;
    if (ssl != NULL) {
        const unsigned char *resp;
        SSL_set_fd(ssl, fd);
        SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp);
        if (SSL_connect(ssl) == 1)
            stapled = SSL_get_tlsext_status_ocsp_resp(ssl, &resp) > 0 && resp != NULL;
        SSL_free(ssl);
    }
    if (fd >= 0)
        close(fd);
    ERR_clear_error();
    return stapled;
}

/* Loads leaf into a new server context, listens, serves it from a thread
 * and handshakes until a staple comes.  Returns the seconds from the load
 * to the start of that handshake (-1 if none came), *listened those to the
 * return of listen(), *n the handshakes made. */
static double staple_after(SSL_CTX *client, X509 *leaf, X509 *chain, EVP_PKEY *key,
                           double *listened, int *n)
{
    struct server *srv = calloc(1, sizeof(*srv));
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);
    double t0 = now();

    if (srv == NULL || (srv->ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
        SSL_CTX_use_certificate(srv->ctx, leaf) != 1 ||
        (chain != NULL && SSL_CTX_add1_chain_cert(srv->ctx, chain) != 1) ||
        SSL_CTX_use_PrivateKey(srv->ctx, key) != 1)
        die("cannot load the certificate");
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (srv->fd < 0 || bind(srv->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(srv->fd, 64) != 0 ||
        getsockname(srv->fd, (struct sockaddr *)&sa, &salen) != 0)
        die("cannot listen");
    *listened = now() - t0;
    pthread_t tid;
    if (pthread_create(&tid, NULL, serve, srv) != 0)
        die("pthread_create");

    int port = ntohs(sa.sin_port), r = 0;
    double start = t0;
    *n = 0;
    while (now() - t0 < opt.timeout) {
        start = now();
        (*n)++;
        if ((r = handshake(client, port)) == 1)
            return start - t0;
    }
    return -1;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc)
            die("usage: scale_first -cert F -key F -issuer F -url URL [-chain F] "
                "[-cert2 F] [-probes N] [-timeout S]");
        const char *a = argv[i], *v = argv[i + 1];
        if (strcmp(a, "-cert") == 0)
            opt.cert = v;
        else if (strcmp(a, "-key") == 0)
            opt.key = v;
        else if (strcmp(a, "-chain") == 0)
            opt.chain = v;
        else if (strcmp(a, "-issuer") == 0)
            opt.issuer = v;
        else if (strcmp(a, "-url") == 0)
            opt.url = v;
        else if (strcmp(a, "-cert2") == 0)
            opt.cert2 = v;
        else if (strcmp(a, "-probes") == 0)
            opt.probes = atoi(v);
        else if (strcmp(a, "-timeout") == 0)
            opt.timeout = atof(v);
        else
            die("unknown option");
    }
    if (opt.cert == NULL || opt.key == NULL || opt.issuer == NULL || opt.url == NULL ||
        opt.probes < 1 || opt.probes > 1000)
        die("-cert, -key, -issuer and -url are required");
    signal(SIGPIPE, SIG_IGN);

    X509 *leaf = read_cert(opt.cert), *issuer = read_cert(opt.issuer);
    X509 *chain = opt.chain != NULL ? read_cert(opt.chain) : NULL;
    FILE *f = fopen(opt.key, "r");
    EVP_PKEY *key = f != NULL ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f != NULL)
        fclose(f);
    if (key == NULL)
        die(opt.key);
    double responder = responder_time(leaf, issuer);

    SSL_CTX *client = SSL_CTX_new(TLS_client_method());
    if (client == NULL)
        die("client context");
    SSL_CTX_set_session_cache_mode(client, SSL_SESS_CACHE_OFF);
    int n = 0;

    /* The measured part: load, listen, handshake until stapled. */
    double listened, first = staple_after(client, leaf, chain, key, &listened, &n);
    if (first < 0) {
        printf("responder_ms %.3f first_staple_ms none listen_ms %.3f handshakes %d\n",
               responder * 1e3, listened * 1e3, n);
        return 1;
    }
    printf("responder_ms %.3f first_staple_ms %.3f listen_ms %.3f handshakes %d "
           "overhead_ms %.3f", responder * 1e3, first * 1e3, listened * 1e3, n,
           (first - responder) * 1e3);
    if (opt.cert2 != NULL) {
        double second = staple_after(client, read_cert(opt.cert2), chain, key, &listened, &n);
        if (second < 0)
            printf(" second_ms none");
        else
            printf(" second_ms %.3f second_overhead_ms %.3f", second * 1e3,
                   (second - responder) * 1e3);
    }
    printf("\n");
    fflush(stdout);
    _exit(0); /* the accept thread is still blocked */
}
