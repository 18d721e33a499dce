/*
 * fakeresponder: a (mis)behaving HTTP server for OCSP / caIssuers tests.
 *
 * fakeresponder -port P -mode MODE [-file F] [-size N] [-log F]
 *               [-max-seconds S] [-bind ADDR] [-delay MS] [-peak F] [-ctype TYPE]
 *               [-index F -ca F -rsigner F -rkey F [-nmin M] [-openssl PATH]]
 *               [-rsigner F -rkey F [-valid S] [-flaky]]
 *
 * Binds 127.0.0.1:P only (P may be 0: an ephemeral port is chosen), or the
 * IPv4 or IPv6 address -bind names; prints "listening on 127.0.0.1:P" (the
 * real port; "[::1]:P" for IPv6) on stdout once accepting, and
 * serves each connection on its own thread, one request per connection
 * ("Connection: close").  Each complete request appends "METHOD PATH SERIAL\n"
 * to the -log file (SERIAL: of the OCSP request's first certificate, in hex
 * as `openssl x509 -serial` prints it; "-" if the request is no OCSP one).
 * -delay MS: wait MS milliseconds after reading a request before
 * answering it.  -peak F: F holds the largest number of requests at once so
 * far between being read and the end of their delay (rewritten when it
 * grows): never more than the client had open at that moment.  Exits 0 on SIGTERM/SIGINT or after -max-seconds (default 300).
 *
 * Modes:
 *   file       200 application/ocsp-response (or -ctype's), body = -file (re-read
 *              per request)
 *   dir        serve files by path below directory -file, 404 otherwise
 *   ocsp       a real OCSP responder: runs `openssl ocsp -index ... -reqin`
 *              per request (GET or POST), so -index is re-read every time
 *   status:N   HTTP status N with a short text body
 *   html       200 text/html page
 *   garbage    200 with 2000 random bytes
 *   big        200 with -size bytes (default 100 MB), streamed
 *   hang       read the request, never answer; print "hang: METHOD PATH closed by
 *              the client" once the client's end closes
 *   slow       200 then one body byte per second (Content-Length -size, default 3600)
 *   reset      close with RST without answering
 *   redirect   302 to its own URL (an endless loop)
 *   truncated  Content-Length 1000 but only 10 bytes, then close
 *   trylater   200 with the OCSPResponse tryLater (30 03 0a 01 03)
 *   sign       a fast OCSP responder for load tests: every CertID asked about
 *              is answered "good", thisUpdate now, nextUpdate now + -valid S
 *              (default 3600), signed in-process by -rsigner/-rkey (included).
 *              With -flaky every second answer fails instead, in turn: HTTP
 *              500, garbage, a reset, a truncated body.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ocsp.h>
#include <openssl/pem.h>

#include "options.h"
#include "pem_file.h"

extern char **environ;

enum mode {
    M_FILE, M_DIR, M_OCSP, M_STATUS, M_HTML, M_GARBAGE, M_BIG, M_HANG, M_SLOW,
    M_RESET, M_REDIRECT, M_TRUNCATED, M_TRYLATER, M_SIGN
};

static struct {
    int port;
    enum mode mode;
    int status;
    const char *file, *log;
    long long size;
    int size_set;
    const char *index, *ca, *rsigner, *rkey, *openssl;
    int nmin;
    long valid;
    int flaky;
    long delay_ms;
    const char *peak;
    const char *ctype;  /* mode file: the Content-Type sent */
    X509 *signer;       /* mode sign */
    EVP_PKEY *signkey;
} opt = { .valid = 3600, .openssl = "openssl", .nmin = 60, .size = 100LL * 1024 * 1024 };

#define MAX_HEAD (64 * 1024)
#define MAX_BODY (1024 * 1024)

struct req {
    char method[16];
    char path[MAX_HEAD];
    unsigned char *body;
    size_t bodylen;
};

static void on_signal(int sig)
{
    (void)sig;
    _exit(0);
}

static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "fakeresponder: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static int send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int send_head(int fd, int code, const char *ctype, long long clen)
{
    char h[512];
    const char *reason;
    int n;

    switch (code) {
    case 200: reason = "OK"; break;
    case 302: reason = "Found"; break;
    case 400: reason = "Bad Request"; break;
    case 403: reason = "Forbidden"; break;
    case 404: reason = "Not Found"; break;
    case 500: reason = "Internal Server Error"; break;
    case 502: reason = "Bad Gateway"; break;
    case 503: reason = "Service Unavailable"; break;
    default: reason = "Status"; break;
    }
    n = snprintf(h, sizeof(h),
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %lld\r\n"
                 "Connection: close\r\n\r\n", code, reason, ctype, clen);
    return send_all(fd, h, (size_t)n);
}

static int send_resp(int fd, int code, const char *ctype, const void *body, size_t len)
{
    if (send_head(fd, code, ctype, (long long)len) < 0)
        return -1;
    return send_all(fd, body, len);
}

static long request_der(const struct req *r, unsigned char **der);

/* The serial of the request's first CertID, in hex as `openssl x509
 * -serial` prints it, into out; "-" if it is not an OCSP request. */
static void request_serial(const struct req *r, char *out, size_t outlen)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    long len = request_der(r, &der);
    OCSP_REQUEST *rq = NULL;
    ASN1_INTEGER *serial = NULL;
    BIGNUM *bn = NULL;
    char *hex = NULL;

    snprintf(out, outlen, "-");
    p = der;
    if (len > 0 && (rq = d2i_OCSP_REQUEST(NULL, &p, len)) != NULL &&
        OCSP_request_onereq_count(rq) > 0 &&
        OCSP_id_get0_info(NULL, NULL, NULL, &serial,
                          OCSP_onereq_get0_id(OCSP_request_onereq_get0(rq, 0))) &&
        (bn = ASN1_INTEGER_to_BN(serial, NULL)) != NULL && (hex = BN_bn2hex(bn)) != NULL)
        snprintf(out, outlen, "%s", hex);
    OPENSSL_free(hex);
    BN_free(bn);
    OCSP_REQUEST_free(rq);
    if (der != r->body)
        free(der);
}

/* "METHOD PATH SERIAL" (SERIAL: request_serial's), a line per request. */
static void log_request(const struct req *r)
{
    char *line, serial[128];
    int fd, n;

    if (opt.log == NULL)
        return;
    request_serial(r, serial, sizeof(serial));
    n = asprintf(&line, "%s %s %s\n", r->method, r->path, serial);
    if (n < 0)
        return;
    fd = open(opt.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (write(fd, line, (size_t)n) != n)
            fprintf(stderr, "fakeresponder: short write to %s\n", opt.log);
        close(fd);
    }
    free(line);
}

/* Reads a whole file; returns malloc'ed buffer or NULL. */
static unsigned char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    unsigned char *buf = NULL;
    size_t cap = 0, used = 0;

    if (fd < 0)
        return NULL;
    for (;;) {
        ssize_t n;

        if (used == cap) {
            unsigned char *nb;

            cap = cap ? cap * 2 : 65536;
            nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                close(fd);
                return NULL;
            }
            buf = nb;
        }
        n = read(fd, buf + used, cap - used);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            free(buf);
            close(fd);
            return NULL;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    close(fd);
    *len = used;
    return buf;
}

/* Returns 0 with *r filled, -1 if the client sent no complete request. */
static int read_request(int fd, struct req *r)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    char *head = malloc(MAX_HEAD + 1);
    size_t used = 0, hlen, have;
    char *end = NULL, *p, *line_end, *sp1, *sp2;
    long long clen = 0;
    int expect = 0;

    if (head == NULL)
        return -1;
    while (end == NULL) {
        ssize_t n;

        if (used == MAX_HEAD)
            goto fail;
        n = recv(fd, head + used, MAX_HEAD - used, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        used += (size_t)n;
        head[used] = '\0';
        if ((end = strstr(head, "\r\n\r\n")) != NULL)
            end += 4;
        else if ((end = strstr(head, "\n\n")) != NULL)
            end += 2;
    }
    hlen = (size_t)(end - head);

    line_end = strpbrk(head, "\r\n");
    *line_end = '\0';
    sp1 = strchr(head, ' ');
    if (sp1 == NULL || (size_t)(sp1 - head) >= sizeof(r->method))
        goto fail;
    *sp1 = '\0';
    strcpy(r->method, head);
    sp2 = strchr(sp1 + 1, ' ');
    if (sp2 != NULL)
        *sp2 = '\0';
    snprintf(r->path, sizeof(r->path), "%s", sp1 + 1);

    for (p = line_end + 1; p < end; p = line_end + 1) {
        line_end = strchr(p, '\n');
        if (line_end == NULL)
            break;
        *line_end = '\0';
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            clen = atoll(p + 15);
        else if (strncasecmp(p, "Expect:", 7) == 0 && strcasestr(p, "100-continue"))
            expect = 1;
    }
    if (clen < 0 || clen > MAX_BODY)
        goto fail;

    r->bodylen = (size_t)clen;
    r->body = malloc(r->bodylen + 1);
    if (r->body == NULL)
        goto fail;
    have = used - hlen;
    if (have > r->bodylen)
        have = r->bodylen;
    memcpy(r->body, head + hlen, have);
    if (expect && have < r->bodylen && send_all(fd, cont, sizeof(cont) - 1) < 0)
        goto fail;
    while (have < r->bodylen) {
        ssize_t n = recv(fd, r->body + have, r->bodylen - have, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        have += (size_t)n;
    }
    free(head);
    return 0;
fail:
    free(head);
    free(r->body);
    r->body = NULL;
    return -1;
}

static int unhex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* GET /<urlencoded base64 DER>: decodes in place into out; returns length or -1. */
static long decode_get_path(const char *path, unsigned char *out)
{
    char *dec = malloc(strlen(path) + 1);
    size_t n = 0, i;
    unsigned acc = 0;
    int bits = 0;
    long len = 0;

    if (dec == NULL)
        return -1;
    while (*path == '/')
        path++;
    for (i = 0; path[i] != '\0'; i++) {
        if (path[i] == '%' && unhex(path[i + 1]) >= 0 && unhex(path[i + 2]) >= 0) {
            dec[n++] = (char)(unhex(path[i + 1]) * 16 + unhex(path[i + 2]));
            i += 2;
        } else {
            dec[n++] = path[i];
        }
    }
    for (i = 0; i < n; i++) {
        int v = b64val((unsigned char)dec[i]);

        if (dec[i] == '=')
            break;
        if (v < 0) {
            free(dec);
            return -1;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[len++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    free(dec);
    return len;
}

/* The DER OCSPRequest of a GET or POST into *der (r->body or a malloc'd
 * buffer the caller frees if it differs); its length, or -1. */
static long request_der(const struct req *r, unsigned char **der)
{
    if (strcmp(r->method, "POST") == 0) {
        *der = r->body;
        return (long)r->bodylen;
    }
    *der = malloc(strlen(r->path) + 1);
    return *der ? decode_get_path(r->path, *der) : -1;
}

/* Signs "good" for every CertID of the request (mode sign). */
static void serve_sign(int fd, const struct req *r)
{
    static const unsigned char malformed[] = { 0x30, 0x03, 0x0a, 0x01, 0x01 };
    unsigned char *der = NULL, *out = NULL;
    const unsigned char *p;
    long derlen = request_der(r, &der);
    OCSP_REQUEST *rq = NULL;
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    OCSP_RESPONSE *resp = NULL;
    ASN1_TIME *thisupd = X509_gmtime_adj(NULL, 0);
    ASN1_TIME *nextupd = X509_gmtime_adj(NULL, opt.valid);
    int i, n, outlen = -1;

    p = der;
    if (derlen > 0 && (rq = d2i_OCSP_REQUEST(NULL, &p, derlen)) != NULL
        && bs != NULL && thisupd != NULL && nextupd != NULL) {
        n = OCSP_request_onereq_count(rq);
        for (i = 0; i < n; i++) {
            OCSP_CERTID *id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(rq, i));

            if (!OCSP_basic_add1_status(bs, id, V_OCSP_CERTSTATUS_GOOD, 0, NULL,
                                        thisupd, nextupd))
                n = -1;
        }
        if (n > 0 && OCSP_basic_sign(bs, opt.signer, opt.signkey, EVP_sha256(), NULL, 0))
            resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
    }
    if (resp != NULL)
        outlen = i2d_OCSP_RESPONSE(resp, &out);
    if (outlen > 0)
        send_resp(fd, 200, "application/ocsp-response", out, (size_t)outlen);
    else
        send_resp(fd, 200, "application/ocsp-response", malformed, sizeof(malformed));
    OPENSSL_free(out);
    OCSP_RESPONSE_free(resp);
    OCSP_BASICRESP_free(bs);
    OCSP_REQUEST_free(rq);
    ASN1_TIME_free(thisupd);
    ASN1_TIME_free(nextupd);
    if (der != r->body)
        free(der);
}

/* Runs openssl ocsp on the request; sends its response, or a DER error status. */
static void serve_ocsp(int fd, const struct req *r)
{
    static const unsigned char malformed[] = { 0x30, 0x03, 0x0a, 0x01, 0x01 };
    static const unsigned char internal[] = { 0x30, 0x03, 0x0a, 0x01, 0x02 };
    char reqf[] = "/tmp/fakeresponder-req.XXXXXX";
    char respf[] = "/tmp/fakeresponder-resp.XXXXXX";
    unsigned char *der = NULL, *resp = NULL;
    long derlen;
    size_t resplen = 0;
    int rfd = -1, ofd = -1, st;
    pid_t pid;
    char nmin[16];
    char *argv[24];
    int a = 0;
    posix_spawn_file_actions_t fa;

    if (strcmp(r->method, "POST") != 0 && strcmp(r->method, "GET") != 0) {
        const char msg[] = "method not allowed\n";
        send_resp(fd, 405, "text/plain", msg, sizeof(msg) - 1);
        return;
    }
    derlen = request_der(r, &der);
    if (derlen <= 0) {
        send_resp(fd, 200, "application/ocsp-response", malformed, sizeof(malformed));
        goto out;
    }
    if ((rfd = mkstemp(reqf)) < 0 || (ofd = mkstemp(respf)) < 0
        || write(rfd, der, (size_t)derlen) != derlen) {
        send_resp(fd, 200, "application/ocsp-response", internal, sizeof(internal));
        goto out;
    }
    snprintf(nmin, sizeof(nmin), "%d", opt.nmin);
    argv[a++] = (char *)opt.openssl;
    argv[a++] = "ocsp";
    argv[a++] = "-index";
    argv[a++] = (char *)opt.index;
    argv[a++] = "-CA";
    argv[a++] = (char *)opt.ca;
    argv[a++] = "-rsigner";
    argv[a++] = (char *)opt.rsigner;
    argv[a++] = "-rkey";
    argv[a++] = (char *)opt.rkey;
    argv[a++] = "-reqin";
    argv[a++] = reqf;
    argv[a++] = "-respout";
    argv[a++] = respf;
    if (opt.nmin > 0) {
        argv[a++] = "-nmin";
        argv[a++] = nmin;
    }
    argv[a] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, 2, 1);   /* diagnostics go to our stderr */
    if (posix_spawnp(&pid, opt.openssl, &fa, NULL, argv, environ) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        fprintf(stderr, "fakeresponder: cannot run %s\n", opt.openssl);
        send_resp(fd, 200, "application/ocsp-response", internal, sizeof(internal));
        goto out;
    }
    posix_spawn_file_actions_destroy(&fa);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    resp = read_file(respf, &resplen);
    if (resp != NULL && resplen > 0)
        send_resp(fd, 200, "application/ocsp-response", resp, resplen);
    else /* openssl could not parse the request (or is misconfigured) */
        send_resp(fd, 200, "application/ocsp-response", malformed, sizeof(malformed));
out:
    if (rfd >= 0) {
        close(rfd);
        unlink(reqf);
    }
    if (ofd >= 0) {
        close(ofd);
        unlink(respf);
    }
    if (der != r->body)
        free(der);
    free(resp);
}

static void serve_dir(int fd, const struct req *r)
{
    static const char nf[] = "not found\n";
    char path[MAX_HEAD], *full = NULL, *q;
    unsigned char *body;
    size_t len, blen;
    struct stat sb;
    const char *ctype = "application/octet-stream";

    snprintf(path, sizeof(path), "%s", r->path);
    if ((q = strpbrk(path, "?#")) != NULL)
        *q = '\0';
    if (path[0] != '/' || strstr(path, "..") != NULL
        || asprintf(&full, "%s%s", opt.file, path) < 0
        || stat(full, &sb) != 0 || !S_ISREG(sb.st_mode)
        || (body = read_file(full, &blen)) == NULL) {
        send_resp(fd, 404, "text/plain", nf, sizeof(nf) - 1);
        free(full);
        return;
    }
    len = strlen(path);
    if (len > 4 && strcmp(path + len - 4, ".der") == 0)
        ctype = "application/pkix-cert";
    else if (len > 4 && strcmp(path + len - 4, ".pem") == 0)
        ctype = "application/x-pem-file";
    send_resp(fd, 200, ctype, body, blen);
    free(body);
    free(full);
}

static atomic_int in_flight, peak;

/* One more request being answered: -peak's file follows the highest count. */
static void enter_request(void)
{
    int now = atomic_fetch_add(&in_flight, 1) + 1, high = atomic_load(&peak);

    while (now > high && !atomic_compare_exchange_weak(&peak, &high, now))
        ;
    if (now > high && opt.peak != NULL) {
        static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
        char tmp[4096], line[32];
        int fd, n;

        /* the highest count when this thread writes, not when it entered */
        pthread_mutex_lock(&lock);
        n = snprintf(line, sizeof(line), "%d\n", atomic_load(&peak));
        snprintf(tmp, sizeof(tmp), "%s.tmp", opt.peak);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0 && write(fd, line, (size_t)n) == n && close(fd) == 0)
            rename(tmp, opt.peak);
        else if (fd >= 0)
            close(fd);
        pthread_mutex_unlock(&lock);
    }
}

static void *conn_thread(void *arg)
{
    int fd = (int)(intptr_t)arg;
    struct req *r = calloc(1, sizeof(*r));
    unsigned char buf[65536];
    size_t i, len;
    enum mode mode = opt.mode;

    if (r == NULL || read_request(fd, r) < 0)
        goto done;
    log_request(r);
    enter_request();
    if (opt.delay_ms > 0)
        usleep((useconds_t)opt.delay_ms * 1000);
    atomic_fetch_sub(&in_flight, 1);
    if (opt.flaky) {
        static atomic_uint served;
        static const enum mode faults[] = { M_STATUS, M_GARBAGE, M_RESET, M_TRUNCATED };
        unsigned k = atomic_fetch_add(&served, 1);

        if (k % 2 == 1) {
            mode = faults[(k / 2) % 4];
            opt.status = 500;
        }
    }

    switch (mode) {
    case M_FILE: {
        unsigned char *body = read_file(opt.file, &len);

        if (body == NULL) {
            static const char msg[] = "fakeresponder: cannot read -file\n";
            send_resp(fd, 500, "text/plain", msg, sizeof(msg) - 1);
        } else {
            send_resp(fd, 200, opt.ctype != NULL ? opt.ctype : "application/ocsp-response",
                      body, len);
            free(body);
        }
        break;
    }
    case M_DIR:
        serve_dir(fd, r);
        break;
    case M_OCSP:
        serve_ocsp(fd, r);
        break;
    case M_SIGN:
        serve_sign(fd, r);
        break;
    case M_STATUS: {
        char msg[64];
        int n = snprintf(msg, sizeof(msg), "status %d from fakeresponder\n", opt.status);

        send_resp(fd, opt.status, "text/plain", msg, (size_t)n);
        break;
    }
    case M_HTML: {
        static const char page[] =
            "<!DOCTYPE html>\n<html><head><title>Captive portal</title></head>"
            "<body><h1>Please log in</h1></body></html>\n";
        send_resp(fd, 200, "text/html", page, sizeof(page) - 1);
        break;
    }
    case M_GARBAGE: {
        unsigned seed = (unsigned)time(NULL) ^ (unsigned)fd;

        for (i = 0; i < 2000; i++)
            buf[i] = (unsigned char)(rand_r(&seed) >> 7);
        buf[0] = 0x42;  /* never accidentally a DER SEQUENCE */
        send_resp(fd, 200, "application/ocsp-response", buf, 2000);
        break;
    }
    case M_BIG: {
        long long left = opt.size;

        memset(buf, 'A', sizeof(buf));
        if (send_head(fd, 200, "application/ocsp-response", left) < 0)
            break;
        while (left > 0) {
            size_t chunk = left > (long long)sizeof(buf) ? sizeof(buf) : (size_t)left;

            if (send_all(fd, buf, chunk) < 0)
                break;   /* client went away */
            left -= (long long)chunk;
        }
        break;
    }
    case M_HANG: {
        /* Never answer; say on stdout when the client's end of the
         * connection closes (every process holding it has let go). */
        char c;
        while (read(fd, &c, 1) > 0)
            ;
        printf("hang: %s %s closed by the client\n", r->method, r->path);
        fflush(stdout);
        break;
    }
    case M_SLOW: {
        long long left = opt.size_set ? opt.size : 3600;

        if (send_head(fd, 200, "application/ocsp-response", left) < 0)
            break;
        for (; left > 0; left--) {
            if (send_all(fd, "0", 1) < 0)
                break;
            sleep(1);
        }
        break;
    }
    case M_RESET: {
        struct linger lg = { 1, 0 };

        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        break;
    }
    case M_REDIRECT: {
        char h[MAX_HEAD + 256];
        int n = snprintf(h, sizeof(h),
                         "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d%s\r\n"
                         "Content-Length: 0\r\nConnection: close\r\n\r\n",
                         opt.port, r->path);

        send_all(fd, h, (size_t)n);
        break;
    }
    case M_TRUNCATED:
        if (send_head(fd, 200, "application/ocsp-response", 1000) == 0)
            send_all(fd, "\x30\x82\x03\xe4\x0a\x01\x00\xa0\x82\x03", 10);
        shutdown(fd, SHUT_WR);
        break;
    case M_TRYLATER:
        send_resp(fd, 200, "application/ocsp-response", "\x30\x03\x0a\x01\x03", 5);
        break;
    }
done:
    if (r != NULL)
        free(r->body);
    free(r);
    close(fd);
    return NULL;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: fakeresponder -port P -mode MODE [-file F] [-size N] [-log F] "
            "[-max-seconds S] [-bind ADDR] [-delay MS] [-peak F] [-ctype TYPE]\n"
            "       [-index F -ca F -rsigner F -rkey F [-nmin M] [-openssl PATH]]\n"
            "MODE: file dir ocsp status:N html garbage big hang slow reset redirect "
            "truncated trylater sign\n");
    exit(2);
}

/* -size: as atoll reads it; the default is the mode's. */
static int option_size(const char *v, void *dst)
{
    *(long long *)dst = atoll(v);
    opt.size_set = 1;
    return 1;
}

static void parse_mode(const char *m)
{
    static const struct { const char *name; enum mode mode; } modes[] = {
        { "file", M_FILE }, { "dir", M_DIR }, { "ocsp", M_OCSP },
        { "html", M_HTML }, { "garbage", M_GARBAGE }, { "big", M_BIG },
        { "hang", M_HANG }, { "slow", M_SLOW }, { "reset", M_RESET },
        { "redirect", M_REDIRECT }, { "truncated", M_TRUNCATED },
        { "trylater", M_TRYLATER }, { "sign", M_SIGN },
    };
    size_t i;

    if (strncmp(m, "status:", 7) == 0) {
        opt.mode = M_STATUS;
        opt.status = atoi(m + 7);
        if (opt.status < 100 || opt.status > 999)
            die("bad status in %s", m);
        return;
    }
    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (strcmp(m, modes[i].name) == 0) {
            opt.mode = modes[i].mode;
            return;
        }
    }
    die("unknown mode %s", m);
}

int main(int argc, char **argv)
{
    struct sockaddr_storage sa;
    socklen_t salen = sizeof(sa);
    const char *mode = NULL, *bind_addr = "127.0.0.1";
    long max_seconds = 300;
    int lfd, one = 1;
    const struct option_spec options[] = {
        { "-flaky", NULL, &opt.flaky },
        { "-port", option_int, &opt.port },
        { "-mode", option_string, &mode },
        { "-file", option_string, &opt.file },
        { "-size", option_size, &opt.size },
        { "-log", option_string, &opt.log },
        { "-max-seconds", option_long, &max_seconds },
        { "-index", option_string, &opt.index },
        { "-ca", option_string, &opt.ca },
        { "-rsigner", option_string, &opt.rsigner },
        { "-rkey", option_string, &opt.rkey },
        { "-nmin", option_int, &opt.nmin },
        { "-openssl", option_string, &opt.openssl },
        { "-valid", option_long, &opt.valid },
        { "-bind", option_string, &bind_addr },
        { "-delay", option_long, &opt.delay_ms },
        { "-peak", option_string, &opt.peak },
        { "-ctype", option_string, &opt.ctype },
        { NULL, NULL, NULL },
    };

    opt.port = -1;
    parse_options(argc, argv, options, usage);
    if (opt.port < 0 || opt.port > 65535 || mode == NULL)
        usage();
    parse_mode(mode);
    if ((opt.mode == M_FILE || opt.mode == M_DIR) && opt.file == NULL)
        die("mode %s needs -file", mode);
    if (opt.mode == M_OCSP && (!opt.index || !opt.ca || !opt.rsigner || !opt.rkey))
        die("mode ocsp needs -index, -ca, -rsigner and -rkey");
    if (opt.size < 0)
        die("bad -size");
    if (opt.mode == M_SIGN) {
        if (!opt.rsigner || !opt.rkey || opt.valid <= 0)
            die("mode sign needs -rsigner, -rkey and a positive -valid");
        if ((opt.signer = pem_read_file(opt.rsigner, 0)) == NULL)
            die("cannot read %s", opt.rsigner);
        if ((opt.signkey = pem_read_file(opt.rkey, 1)) == NULL)
            die("cannot read %s", opt.rkey);
    }

    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGALRM, on_signal);
    if (max_seconds > 0)
        alarm((unsigned)max_seconds);

    struct sockaddr_in *v4 = (struct sockaddr_in *)&sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&sa;
    int six = strchr(bind_addr, ':') != NULL;
    memset(&sa, 0, sizeof(sa));
    if (six) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((unsigned short)opt.port);
        if (inet_pton(AF_INET6, bind_addr, &v6->sin6_addr) != 1)
            die("bad -bind address %s", bind_addr);
    } else {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((unsigned short)opt.port);
        if (inet_pton(AF_INET, bind_addr, &v4->sin_addr) != 1)
            die("bad -bind address %s", bind_addr);
    }
    lfd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        die("socket: %s", strerror(errno));
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&sa, six ? sizeof(*v6) : sizeof(*v4)) < 0)
        die("bind %s port %d: %s", bind_addr, opt.port, strerror(errno));
    if (listen(lfd, 128) < 0)
        die("listen: %s", strerror(errno));
    if (getsockname(lfd, (struct sockaddr *)&sa, &salen) == 0)
        opt.port = ntohs(six ? v6->sin6_port : v4->sin_port);
    printf(six ? "listening on [%s]:%d\n" : "listening on %s:%d\n", bind_addr, opt.port);
    fflush(stdout);

    for (;;) {
        pthread_t th;
        pthread_attr_t at;
        int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

        if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE
                || errno == ENFILE) {
                if (errno == EMFILE || errno == ENFILE)
                    usleep(100000);
                continue;
            }
            die("accept: %s", strerror(errno));
        }
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, 512 * 1024);
        if (pthread_create(&th, &at, conn_thread, (void *)(intptr_t)cfd) != 0)
            close(cfd);
        pthread_attr_destroy(&at);
    }
}
