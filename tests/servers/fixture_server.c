/*
 * fixture_server - a deliberately "legacy style" OpenSSL 3 TLS server used by
 * the autostaple tests.  It knows nothing about OCSP stapling (unless asked to
 * install its own status callback with -own-cb) and exercises every way an
 * OpenSSL 3 server can load its certificate, so the tests can check that the
 * LD_PRELOAD library staples on each path.
 *
 * Usage:
 *   fixture_server -port P -cert F -key F [-chain F] [-load MODE]
 *                  [-cert2 F -key2 F] [-sni NAME:CERT:KEY[:CHAIN]]...
 *                  [-own-cb staple:FILE|nostaple|nack|fatal] [-own-cb-early]
 *                  [-tls 1.2|1.3] [-threads N] [-max-seconds S]
 *                  [-reload-on-hup] [-verify-client CAFILE]
 *
 * MODE (how the primary certificate is loaded; default "use"):
 *   use            PEM_read_X509 + SSL_CTX_use_certificate, chain with
 *                  SSL_CTX_add1_chain_cert, key with SSL_CTX_use_PrivateKey
 *   file           SSL_CTX_use_certificate_file, chain with
 *                  SSL_CTX_add_extra_chain_cert, SSL_CTX_use_PrivateKey_file
 *   chain-file     SSL_CTX_use_certificate_chain_file (-cert = leaf+chain,
 *                  -chain ignored), SSL_CTX_use_PrivateKey_file
 *   asn1           SSL_CTX_use_certificate_ASN1 (DER), chain with
 *                  SSL_CTX_add1_chain_cert, SSL_CTX_use_PrivateKey_ASN1
 *   ssl            nothing on the context; on every new SSL:
 *                  SSL_use_certificate + SSL_add1_chain_cert + SSL_use_PrivateKey
 *   ssl-file       on every new SSL: SSL_use_certificate_file +
 *                  SSL_add1_chain_cert + SSL_use_PrivateKey_file
 *   ssl-chain-file on every new SSL: SSL_use_certificate_chain_file +
 *                  SSL_use_PrivateKey_file (-cert = leaf+chain)
 *   conf           SSL_CONF_CTX (SERVER|FILE|CERTIFICATE) with the commands
 *                  "Certificate" (-cert = leaf+chain) and "PrivateKey"
 *   cert-and-key   SSL_CTX_use_cert_and_key(ctx, x509, pkey, chain, 1)
 *
 * -cert2/-key2: a second certificate (e.g. ECDSA next to RSA).  In the
 *   context modes it is loaded into the same context with
 *   SSL_CTX_use_certificate_file/SSL_CTX_use_PrivateKey_file and -chain (if
 *   given, in every mode) is attached with SSL_CTX_add1_chain_cert.  In the
 *   ssl* modes the context stays empty, so it is loaded on each SSL with
 *   SSL_use_certificate_file/SSL_use_PrivateKey_file/SSL_add1_chain_cert.
 * -sni NAME:CERT:KEY[:CHAIN]: one more context per NAME, loaded the "use"
 *   way; the default context's servername callback switches to it with
 *   SSL_set_SSL_CTX when the client's SNI equals NAME (case-insensitive).
 *   File names must not contain ':'.
 * -own-cb: the server's own status callback (SSL_CTX_set_tlsext_status_cb)
 *   on every context, installed after the certificates are loaded (like
 *   nginx/Apache do), or before anything is loaded with -own-cb-early.
 *   staple:FILE staples FILE's bytes verbatim; nostaple returns OK without a
 *   response; nack returns SSL_TLSEXT_ERR_NOACK; fatal returns
 *   SSL_TLSEXT_ERR_ALERT_FATAL.
 * -tls V pins both the minimum and maximum protocol version.
 * -threads N: N worker threads, each accepting on the shared socket (default:
 *   the main thread serves one connection at a time).
 * -max-seconds S: exit by itself after S seconds (default 300, 0 = never),
 *   with exit status 124.  SIGTERM/SIGINT: clean exit with status 0.
 * -reload-on-hup: on SIGHUP build fresh contexts from the same arguments
 *   (re-reading every file) and use them for new connections; prints
 *   "reloaded" (or "reload failed: ...") on stderr; connections already
 *   running finish with the old contexts, which are freed afterwards.
 *   Without -reload-on-hup SIGHUP keeps its default action (terminate).
 * -verify-client CAFILE: require a client certificate issued under CAFILE.
 *
 * Binds 127.0.0.1:P only (-port 0: any free port, reported as "port N" on
 * stderr before "ready").  Prints "ready" on stderr once listening; all
 * diagnostics go to stderr, nothing is written to stdout.  Every connection
 * gets at most 10 seconds (handshake, request, response) and a failure on one
 * connection never stops the server.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define MAX_SNI 16
#define MAX_THREADS 64
#define CONN_SECONDS 10.0
#define MAX_REQUEST 16384

enum load_mode {
    LOAD_USE,
    LOAD_FILE,
    LOAD_CHAIN_FILE,
    LOAD_ASN1,
    LOAD_SSL,
    LOAD_SSL_FILE,
    LOAD_SSL_CHAIN_FILE,
    LOAD_CONF,
    LOAD_CERT_AND_KEY
};

static const char *const mode_names[] = {
    "use", "file", "chain-file", "asn1", "ssl",
    "ssl-file", "ssl-chain-file", "conf", "cert-and-key"
};

enum own_cb { OWN_NONE, OWN_STAPLE, OWN_NOSTAPLE, OWN_NACK, OWN_FATAL };

struct sni_spec {
    char *name, *cert, *key, *chain; /* chain may be NULL */
};

static struct config {
    int port;
    const char *cert, *key, *chain;
    enum load_mode mode;
    const char *cert2, *key2;
    struct sni_spec sni[MAX_SNI];
    int nsni;
    enum own_cb own;
    const char *own_file;
    int own_early;
    int tls_version;
    int threads;
    int max_seconds;
    int reload_on_hup;
    const char *client_ca;
} cfg;

/* Everything built from the arguments; replaced as a whole on reload. */
struct ctxset {
    int refs;                      /* protected by set_lock */
    SSL_CTX *ctx;                  /* default context */
    SSL_CTX *sni_ctx[MAX_SNI];
    int nsni;
    X509 *leaf;                    /* "ssl" mode: loaded once per set */
    EVP_PKEY *pkey;
    STACK_OF(X509) *chain;         /* parsed -chain (NULL if none) */
    unsigned char *staple;         /* -own-cb staple:FILE */
    long staple_len;
};

static pthread_mutex_t set_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ctxset *current_set;

static atomic_int stop_flag;   /* 1 = SIGTERM/SIGINT, 2 = max-seconds */
static atomic_int hup_flag;
static int listen_fd = -1;

/* ------------------------------------------------------------------ */
/* diagnostics                                                          */

static void logmsg(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    /* one write per line so that threads do not interleave */
    fprintf(stderr, "fixture_server: %s\n", buf);
    fflush(stderr);
}

/* Log a message followed by the first queued OpenSSL error (if any). */
static void log_ssl(const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char ebuf[256] = "";

    if (e != 0)
        ERR_error_string_n(e, ebuf, sizeof(ebuf));
    logmsg("%s%s%s", what, e ? ": " : "", ebuf);
    ERR_clear_error();
}

static void usage(void)
{
    fprintf(stderr,
            "usage: fixture_server -port P -cert F -key F [-chain F] [-load MODE]\n"
            "         [-cert2 F -key2 F] [-sni NAME:CERT:KEY[:CHAIN]]...\n"
            "         [-own-cb staple:FILE|nostaple|nack|fatal] [-own-cb-early]\n"
            "         [-tls 1.2|1.3] [-threads N] [-max-seconds S] [-reload-on-hup]\n"
            "         [-verify-client CAFILE]\n"
            "MODE: use file chain-file asn1 ssl ssl-file ssl-chain-file conf cert-and-key\n");
    exit(2);
}

static double now_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* file helpers (these use no SSL_* loading function)                   */

static X509 *read_x509(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *x;

    if (f == NULL) {
        logmsg("cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (x == NULL)
        logmsg("no PEM certificate in %s", path);
    return x;
}

static EVP_PKEY *read_pkey(const char *path)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *k;

    if (f == NULL) {
        logmsg("cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (k == NULL)
        logmsg("no PEM private key in %s", path);
    return k;
}

/* All PEM certificates of a file, in order; NULL if none can be read. */
static STACK_OF(X509) *read_chain(const char *path)
{
    FILE *f = fopen(path, "r");
    STACK_OF(X509) *sk;
    X509 *x;

    if (f == NULL) {
        logmsg("cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    sk = sk_X509_new_null();
    while (sk != NULL && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(sk, x)) {
            X509_free(x);
            break;
        }
    }
    fclose(f);
    ERR_clear_error(); /* the final "no start line" */
    if (sk == NULL || sk_X509_num(sk) == 0) {
        logmsg("no PEM certificate in chain file %s", path);
        sk_X509_pop_free(sk, X509_free);
        return NULL;
    }
    return sk;
}

static unsigned char *read_whole_file(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0, r;

    if (f == NULL) {
        logmsg("cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            unsigned char *nb;

            if (cap >= (size_t)1 << 24) {
                logmsg("%s is too large", path);
                goto fail;
            }
            cap = cap ? cap * 2 : 4096;
            nb = realloc(buf, cap);
            if (nb == NULL)
                goto fail;
            buf = nb;
        }
        r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    if (ferror(f)) {
        logmsg("read error on %s", path);
        goto fail;
    }
    fclose(f);
    *len = (long)n;
    return buf;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* callbacks                                                            */

static int own_status_cb(SSL *ssl, void *arg)
{
    struct ctxset *set = arg;
    unsigned char *copy;

    switch (cfg.own) {
    case OWN_STAPLE:
        copy = OPENSSL_malloc((size_t)set->staple_len);
        if (copy == NULL)
            return SSL_TLSEXT_ERR_ALERT_FATAL;
        memcpy(copy, set->staple, (size_t)set->staple_len);
        if (!SSL_set_tlsext_status_ocsp_resp(ssl, copy, set->staple_len)) {
            OPENSSL_free(copy);
            return SSL_TLSEXT_ERR_ALERT_FATAL;
        }
        return SSL_TLSEXT_ERR_OK;
    case OWN_NOSTAPLE:
        return SSL_TLSEXT_ERR_OK;
    case OWN_NACK:
        return SSL_TLSEXT_ERR_NOACK;
    case OWN_FATAL:
    default:
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
}

static int servername_cb(SSL *ssl, int *alert, void *arg)
{
    struct ctxset *set = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    int i;

    (void)alert;
    if (name == NULL)
        return SSL_TLSEXT_ERR_OK;
    for (i = 0; i < set->nsni; i++) {
        if (strcasecmp(name, cfg.sni[i].name) == 0) {
            if (SSL_set_SSL_CTX(ssl, set->sni_ctx[i]) == NULL)
                return SSL_TLSEXT_ERR_ALERT_FATAL;
            break;
        }
    }
    return SSL_TLSEXT_ERR_OK;
}

/* ------------------------------------------------------------------ */
/* building the contexts                                                */

static int ctx_add1_chain(SSL_CTX *ctx, STACK_OF(X509) *chain)
{
    int i;

    for (i = 0; chain != NULL && i < sk_X509_num(chain); i++)
        if (!SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, i)))
            return 0;
    return 1;
}

static int ctx_add_extra_chain(SSL_CTX *ctx, STACK_OF(X509) *chain)
{
    int i;

    for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);

        /* SSL_CTX_add_extra_chain_cert takes ownership of the reference */
        if (!X509_up_ref(x))
            return 0;
        if (!SSL_CTX_add_extra_chain_cert(ctx, x)) {
            X509_free(x);
            return 0;
        }
    }
    return 1;
}

static int ssl_add1_chain(SSL *ssl, STACK_OF(X509) *chain)
{
    int i;

    for (i = 0; chain != NULL && i < sk_X509_num(chain); i++)
        if (!SSL_add1_chain_cert(ssl, sk_X509_value(chain, i)))
            return 0;
    return 1;
}

static int is_ssl_mode(enum load_mode m)
{
    return m == LOAD_SSL || m == LOAD_SSL_FILE || m == LOAD_SSL_CHAIN_FILE;
}

static void install_own_cb(SSL_CTX *ctx, struct ctxset *set)
{
    if (cfg.own == OWN_NONE)
        return;
    SSL_CTX_set_tlsext_status_cb(ctx, own_status_cb);
    SSL_CTX_set_tlsext_status_arg(ctx, set);
}

static SSL_CTX *new_ctx(struct ctxset *set)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (ctx == NULL) {
        log_ssl("SSL_CTX_new failed");
        return NULL;
    }
    if (cfg.tls_version != 0
        && (!SSL_CTX_set_min_proto_version(ctx, cfg.tls_version)
            || !SSL_CTX_set_max_proto_version(ctx, cfg.tls_version))) {
        log_ssl("cannot pin the protocol version");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (cfg.client_ca != NULL) {
        if (!SSL_CTX_load_verify_locations(ctx, cfg.client_ca, NULL)) {
            log_ssl("cannot load -verify-client CA file");
            SSL_CTX_free(ctx);
            return NULL;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                           NULL);
    }
    if (cfg.own_early)
        install_own_cb(ctx, set);
    return ctx;
}

/* The "use" path: PEM_read_X509 + SSL_CTX_use_certificate etc. */
static int load_use(SSL_CTX *ctx, const char *cert, const char *key,
                    STACK_OF(X509) *chain)
{
    X509 *x = read_x509(cert);
    EVP_PKEY *k;
    int ok;

    if (x == NULL)
        return 0;
    ok = SSL_CTX_use_certificate(ctx, x);
    X509_free(x);
    if (!ok) {
        log_ssl("SSL_CTX_use_certificate failed");
        return 0;
    }
    if (!ctx_add1_chain(ctx, chain)) {
        log_ssl("SSL_CTX_add1_chain_cert failed");
        return 0;
    }
    if ((k = read_pkey(key)) == NULL)
        return 0;
    ok = SSL_CTX_use_PrivateKey(ctx, k);
    EVP_PKEY_free(k);
    if (!ok) {
        log_ssl("SSL_CTX_use_PrivateKey failed");
        return 0;
    }
    return 1;
}

static int load_asn1(SSL_CTX *ctx, STACK_OF(X509) *chain)
{
    X509 *x = read_x509(cfg.cert);
    EVP_PKEY *k = NULL;
    unsigned char *der = NULL;
    int len, ok = 0;

    if (x == NULL)
        return 0;
    len = i2d_X509(x, &der);
    X509_free(x);
    if (len <= 0) {
        log_ssl("i2d_X509 failed");
        return 0;
    }
    ok = SSL_CTX_use_certificate_ASN1(ctx, len, der);
    OPENSSL_free(der);
    der = NULL;
    if (!ok) {
        log_ssl("SSL_CTX_use_certificate_ASN1 failed");
        return 0;
    }
    if (!ctx_add1_chain(ctx, chain)) {
        log_ssl("SSL_CTX_add1_chain_cert failed");
        return 0;
    }
    if ((k = read_pkey(cfg.key)) == NULL)
        return 0;
    len = i2d_PrivateKey(k, &der);
    if (len <= 0) {
        log_ssl("i2d_PrivateKey failed");
        EVP_PKEY_free(k);
        return 0;
    }
    ok = SSL_CTX_use_PrivateKey_ASN1(EVP_PKEY_get_base_id(k), ctx, der, len);
    OPENSSL_clear_free(der, (size_t)len);
    EVP_PKEY_free(k);
    if (!ok) {
        log_ssl("SSL_CTX_use_PrivateKey_ASN1 failed");
        return 0;
    }
    return 1;
}

static int load_conf(SSL_CTX *ctx)
{
    SSL_CONF_CTX *cctx = SSL_CONF_CTX_new();
    int ok = 0;

    if (cctx == NULL) {
        log_ssl("SSL_CONF_CTX_new failed");
        return 0;
    }
    SSL_CONF_CTX_set_flags(cctx, SSL_CONF_FLAG_SERVER | SSL_CONF_FLAG_FILE
                                 | SSL_CONF_FLAG_CERTIFICATE);
    SSL_CONF_CTX_set_ssl_ctx(cctx, ctx);
    if (SSL_CONF_cmd(cctx, "Certificate", cfg.cert) <= 0)
        log_ssl("SSL_CONF_cmd Certificate failed");
    else if (SSL_CONF_cmd(cctx, "PrivateKey", cfg.key) <= 0)
        log_ssl("SSL_CONF_cmd PrivateKey failed");
    else if (!SSL_CONF_CTX_finish(cctx))
        log_ssl("SSL_CONF_CTX_finish failed");
    else
        ok = 1;
    SSL_CONF_CTX_free(cctx);
    return ok;
}

static int load_cert_and_key(SSL_CTX *ctx, STACK_OF(X509) *chain)
{
    X509 *x = read_x509(cfg.cert);
    EVP_PKEY *k = x != NULL ? read_pkey(cfg.key) : NULL;
    int ok = 0;

    if (x != NULL && k != NULL) {
        ok = SSL_CTX_use_cert_and_key(ctx, x, k, chain, 1);
        if (!ok)
            log_ssl("SSL_CTX_use_cert_and_key failed");
    }
    X509_free(x);
    EVP_PKEY_free(k);
    return ok;
}

/* Load the primary certificate into the default context (context modes). */
static int load_primary(SSL_CTX *ctx, struct ctxset *set)
{
    switch (cfg.mode) {
    case LOAD_USE:
        return load_use(ctx, cfg.cert, cfg.key, set->chain);
    case LOAD_FILE:
        if (SSL_CTX_use_certificate_file(ctx, cfg.cert, SSL_FILETYPE_PEM) != 1) {
            log_ssl("SSL_CTX_use_certificate_file failed");
            return 0;
        }
        if (!ctx_add_extra_chain(ctx, set->chain)) {
            log_ssl("SSL_CTX_add_extra_chain_cert failed");
            return 0;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, cfg.key, SSL_FILETYPE_PEM) != 1) {
            log_ssl("SSL_CTX_use_PrivateKey_file failed");
            return 0;
        }
        return 1;
    case LOAD_CHAIN_FILE:
        if (SSL_CTX_use_certificate_chain_file(ctx, cfg.cert) != 1) {
            log_ssl("SSL_CTX_use_certificate_chain_file failed");
            return 0;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, cfg.key, SSL_FILETYPE_PEM) != 1) {
            log_ssl("SSL_CTX_use_PrivateKey_file failed");
            return 0;
        }
        return 1;
    case LOAD_ASN1:
        return load_asn1(ctx, set->chain);
    case LOAD_CONF:
        return load_conf(ctx);
    case LOAD_CERT_AND_KEY:
        return load_cert_and_key(ctx, set->chain);
    case LOAD_SSL:
        /* parsed once per set, attached to each SSL */
        if ((set->leaf = read_x509(cfg.cert)) == NULL
            || (set->pkey = read_pkey(cfg.key)) == NULL)
            return 0;
        return 1;
    case LOAD_SSL_FILE:
    case LOAD_SSL_CHAIN_FILE: {
        /* the files are read per connection; only check them here */
        X509 *x = read_x509(cfg.cert);
        EVP_PKEY *k = x != NULL ? read_pkey(cfg.key) : NULL;
        int ok = x != NULL && k != NULL;

        X509_free(x);
        EVP_PKEY_free(k);
        return ok;
    }
    }
    return 0;
}

static int load_cert2_ctx(SSL_CTX *ctx, struct ctxset *set)
{
    if (SSL_CTX_use_certificate_file(ctx, cfg.cert2, SSL_FILETYPE_PEM) != 1) {
        log_ssl("SSL_CTX_use_certificate_file (-cert2) failed");
        return 0;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg.key2, SSL_FILETYPE_PEM) != 1) {
        log_ssl("SSL_CTX_use_PrivateKey_file (-key2) failed");
        return 0;
    }
    /* the current certificate is now cert2: give it the chain */
    if (!ctx_add1_chain(ctx, set->chain)) {
        log_ssl("SSL_CTX_add1_chain_cert (-cert2) failed");
        return 0;
    }
    return 1;
}

static void free_ctxset(struct ctxset *set)
{
    int i;

    if (set == NULL)
        return;
    SSL_CTX_free(set->ctx);
    for (i = 0; i < set->nsni; i++)
        SSL_CTX_free(set->sni_ctx[i]);
    X509_free(set->leaf);
    EVP_PKEY_free(set->pkey);
    sk_X509_pop_free(set->chain, X509_free);
    free(set->staple);
    free(set);
}

static struct ctxset *build_ctxset(void)
{
    struct ctxset *set = calloc(1, sizeof(*set));
    int i;

    if (set == NULL)
        return NULL;
    set->refs = 1;
    if (cfg.own == OWN_STAPLE) {
        set->staple = read_whole_file(cfg.own_file, &set->staple_len);
        if (set->staple == NULL)
            goto fail;
        if (set->staple_len == 0) {
            logmsg("staple file %s is empty", cfg.own_file);
            goto fail;
        }
    }
    if (cfg.chain != NULL && (set->chain = read_chain(cfg.chain)) == NULL)
        goto fail;

    if ((set->ctx = new_ctx(set)) == NULL)
        goto fail;
    if (!load_primary(set->ctx, set))
        goto fail;
    if (cfg.cert2 != NULL && !is_ssl_mode(cfg.mode)
        && !load_cert2_ctx(set->ctx, set))
        goto fail;
    if (!is_ssl_mode(cfg.mode) && SSL_CTX_check_private_key(set->ctx) != 1) {
        log_ssl("certificate and private key do not match");
        goto fail;
    }
    if (!cfg.own_early)
        install_own_cb(set->ctx, set);

    for (i = 0; i < cfg.nsni; i++) {
        STACK_OF(X509) *chain = NULL;
        int ok;

        if ((set->sni_ctx[i] = new_ctx(set)) == NULL)
            goto fail;
        set->nsni = i + 1;
        if (cfg.sni[i].chain != NULL
            && (chain = read_chain(cfg.sni[i].chain)) == NULL)
            goto fail;
        ok = load_use(set->sni_ctx[i], cfg.sni[i].cert, cfg.sni[i].key, chain);
        sk_X509_pop_free(chain, X509_free);
        if (!ok)
            goto fail;
        if (!cfg.own_early)
            install_own_cb(set->sni_ctx[i], set);
    }
    if (cfg.nsni > 0) {
        SSL_CTX_set_tlsext_servername_callback(set->ctx, servername_cb);
        SSL_CTX_set_tlsext_servername_arg(set->ctx, set);
    }
    return set;
fail:
    ERR_clear_error();
    free_ctxset(set);
    return NULL;
}

static struct ctxset *acquire_set(void)
{
    struct ctxset *set;

    pthread_mutex_lock(&set_lock);
    set = current_set;
    set->refs++;
    pthread_mutex_unlock(&set_lock);
    return set;
}

static void release_set(struct ctxset *set)
{
    int last;

    pthread_mutex_lock(&set_lock);
    last = --set->refs == 0;
    pthread_mutex_unlock(&set_lock);
    if (last)
        free_ctxset(set);
}

static void do_reload(void)
{
    struct ctxset *fresh = build_ctxset(), *old;

    if (fresh == NULL) {
        logmsg("reload failed: keeping the previous certificates");
        return;
    }
    pthread_mutex_lock(&set_lock);
    old = current_set;
    current_set = fresh;
    pthread_mutex_unlock(&set_lock);
    release_set(old);
    logmsg("reloaded");
}

/* ------------------------------------------------------------------ */
/* per-SSL loading (ssl* modes)                                         */

static int per_ssl_load(SSL *ssl, struct ctxset *set)
{
    switch (cfg.mode) {
    case LOAD_SSL:
        if (SSL_use_certificate(ssl, set->leaf) != 1) {
            log_ssl("SSL_use_certificate failed");
            return 0;
        }
        if (!ssl_add1_chain(ssl, set->chain)) {
            log_ssl("SSL_add1_chain_cert failed");
            return 0;
        }
        if (SSL_use_PrivateKey(ssl, set->pkey) != 1) {
            log_ssl("SSL_use_PrivateKey failed");
            return 0;
        }
        break;
    case LOAD_SSL_FILE:
        if (SSL_use_certificate_file(ssl, cfg.cert, SSL_FILETYPE_PEM) != 1) {
            log_ssl("SSL_use_certificate_file failed");
            return 0;
        }
        if (!ssl_add1_chain(ssl, set->chain)) {
            log_ssl("SSL_add1_chain_cert failed");
            return 0;
        }
        if (SSL_use_PrivateKey_file(ssl, cfg.key, SSL_FILETYPE_PEM) != 1) {
            log_ssl("SSL_use_PrivateKey_file failed");
            return 0;
        }
        break;
    case LOAD_SSL_CHAIN_FILE:
        if (SSL_use_certificate_chain_file(ssl, cfg.cert) != 1) {
            log_ssl("SSL_use_certificate_chain_file failed");
            return 0;
        }
        if (SSL_use_PrivateKey_file(ssl, cfg.key, SSL_FILETYPE_PEM) != 1) {
            log_ssl("SSL_use_PrivateKey_file failed");
            return 0;
        }
        break;
    default:
        return 1;
    }
    if (cfg.cert2 != NULL) {
        if (SSL_use_certificate_file(ssl, cfg.cert2, SSL_FILETYPE_PEM) != 1
            || SSL_use_PrivateKey_file(ssl, cfg.key2, SSL_FILETYPE_PEM) != 1
            || !ssl_add1_chain(ssl, set->chain)) {
            log_ssl("loading -cert2 on the SSL failed");
            return 0;
        }
    }
    if (SSL_check_private_key(ssl) != 1) {
        log_ssl("certificate and private key do not match");
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* serving                                                              */

/*
 * Wait until fd is ready for what OpenSSL asked for.  Returns 0 on timeout,
 * on a stop request or on a poll error.  Wakes up every 200 ms to notice a
 * stop request made from another thread.
 */
static int wait_io(int fd, int ssl_err, double deadline)
{
    struct pollfd p;

    p.fd = fd;
    p.events = ssl_err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
    for (;;) {
        double left = deadline - now_mono();
        int ms, r;

        if (atomic_load(&stop_flag) || left <= 0)
            return 0;
        ms = left > 0.2 ? 200 : (int)(left * 1000) + 1;
        p.revents = 0;
        r = poll(&p, 1, ms);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return 0;
    }
}

static const char response[] =
    "HTTP/1.0 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 6\r\n"
    "Connection: close\r\n"
    "\r\n"
    "hello\n";

static void serve_conn(int fd)
{
    struct ctxset *set = acquire_set();
    double deadline = now_mono() + CONN_SECONDS;
    char req[MAX_REQUEST + 1];
    size_t have = 0;
    SSL *ssl;
    int r, err;

    ERR_clear_error();
    ssl = SSL_new(set->ctx);
    if (ssl == NULL) {
        log_ssl("SSL_new failed");
        goto out;
    }
    if (is_ssl_mode(cfg.mode) && !per_ssl_load(ssl, set))
        goto out;
    if (!SSL_set_fd(ssl, fd)) {
        log_ssl("SSL_set_fd failed");
        goto out;
    }

    /* handshake; like most legacy servers only WANT_READ/WRITE are retried */
    while ((r = SSL_accept(ssl)) != 1) {
        err = SSL_get_error(ssl, r);
        if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
            && wait_io(fd, err, deadline))
            continue;
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
            logmsg("handshake timed out");
        else if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
            logmsg("handshake failed: connection closed by peer");
        else
            log_ssl("handshake failed");
        goto out;
    }

    /* request: up to the blank line, EOF or MAX_REQUEST bytes */
    while (have < MAX_REQUEST) {
        r = SSL_read(ssl, req + have, (int)(MAX_REQUEST - have));
        if (r > 0) {
            have += (size_t)r;
            req[have] = '\0';
            if (strstr(req, "\r\n\r\n") != NULL)
                break;
            continue;
        }
        err = SSL_get_error(ssl, r);
        if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
            && wait_io(fd, err, deadline))
            continue;
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            logmsg("request timed out");
            goto out;
        }
        break; /* EOF or error: answer anyway, the write will tell */
    }
    ERR_clear_error();

    for (;;) {
        r = SSL_write(ssl, response, (int)sizeof(response) - 1);
        if (r > 0)
            break;
        err = SSL_get_error(ssl, r);
        if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
            && wait_io(fd, err, deadline))
            continue;
        if (err != SSL_ERROR_SYSCALL || ERR_peek_error() != 0)
            log_ssl("writing the response failed");
        goto out;
    }
    /* send our close_notify; do not wait for the peer's */
    r = SSL_shutdown(ssl);
    if (r < 0) {
        err = SSL_get_error(ssl, r);
        if (err == SSL_ERROR_WANT_WRITE && wait_io(fd, err, deadline))
            (void)SSL_shutdown(ssl);
    }
out:
    ERR_clear_error();
    SSL_free(ssl);
    close(fd);
    release_set(set);
}

/*
 * Accept loop.  The listening socket is non-blocking and polled with a
 * 200 ms timeout so the loop notices the stop and reload flags; with
 * handle_hup the reload is done here, between connections.
 */
static void accept_loop(int handle_hup)
{
    while (!atomic_load(&stop_flag)) {
        struct pollfd p;
        int fd, fl;

        if (handle_hup && atomic_exchange(&hup_flag, 0))
            do_reload();
        p.fd = listen_fd;
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, 1, 200) <= 0)
            continue;
        fd = accept(listen_fd, NULL, NULL);
        if (fd < 0)
            continue; /* EAGAIN (another thread took it), EINTR, ECONNABORTED... */
        fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0
            || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
            close(fd);
            continue;
        }
        serve_conn(fd);
    }
}

static void *worker_main(void *arg)
{
    (void)arg;
    accept_loop(0);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* signals                                                              */

static void on_stop(int sig)
{
    atomic_store(&stop_flag, sig == SIGALRM ? 2 : 1);
}

static void on_hup(int sig)
{
    (void)sig;
    atomic_store(&hup_flag, 1);
}

static void set_handler(int sig, void (*fn)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: interrupt poll() */
    sigaction(sig, &sa, NULL);
}

/* ------------------------------------------------------------------ */
/* arguments                                                            */

static int parse_int(const char *s, int lo, int hi, const char *what)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "fixture_server: bad %s: %s\n", what, s);
        usage();
    }
    return (int)v;
}

static void parse_sni(const char *arg)
{
    struct sni_spec *s;
    char *copy, *parts[4] = { NULL, NULL, NULL, NULL }, *p, *colon = NULL;
    int n = 0;

    if (cfg.nsni == MAX_SNI) {
        fprintf(stderr, "fixture_server: too many -sni (max %d)\n", MAX_SNI);
        usage();
    }
    copy = strdup(arg);
    if (copy == NULL)
        exit(1);
    for (p = copy;; p = colon + 1) {
        parts[n++] = p;
        if (n == 4 || (colon = strchr(p, ':')) == NULL)
            break;
        *colon = '\0';
    }
    if (n < 3 || (n == 4 && strchr(parts[3], ':') != NULL)
        || *parts[0] == '\0' || *parts[1] == '\0' || *parts[2] == '\0') {
        fprintf(stderr, "fixture_server: bad -sni %s (NAME:CERT:KEY[:CHAIN])\n", arg);
        usage();
    }
    s = &cfg.sni[cfg.nsni++];
    s->name = parts[0];
    s->cert = parts[1];
    s->key = parts[2];
    s->chain = (n == 4 && *parts[3] != '\0') ? parts[3] : NULL;
}

static void parse_args(int argc, char **argv)
{
    int i;
    size_t m;

    cfg.port = -1;
    cfg.mode = LOAD_USE;
    cfg.max_seconds = 300;
    for (i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(o, "-reload-on-hup") == 0) {
            cfg.reload_on_hup = 1;
            continue;
        }
        if (strcmp(o, "-own-cb-early") == 0) {
            cfg.own_early = 1;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "fixture_server: %s needs a value\n", o);
            usage();
        }
        i++;
        if (strcmp(o, "-port") == 0) {
            cfg.port = parse_int(v, 0, 65535, "port");
        } else if (strcmp(o, "-cert") == 0) {
            cfg.cert = v;
        } else if (strcmp(o, "-key") == 0) {
            cfg.key = v;
        } else if (strcmp(o, "-chain") == 0) {
            cfg.chain = v;
        } else if (strcmp(o, "-load") == 0) {
            for (m = 0; m < sizeof(mode_names) / sizeof(mode_names[0]); m++)
                if (strcmp(v, mode_names[m]) == 0)
                    break;
            if (m == sizeof(mode_names) / sizeof(mode_names[0])) {
                fprintf(stderr, "fixture_server: unknown -load mode %s\n", v);
                usage();
            }
            cfg.mode = (enum load_mode)m;
        } else if (strcmp(o, "-cert2") == 0) {
            cfg.cert2 = v;
        } else if (strcmp(o, "-key2") == 0) {
            cfg.key2 = v;
        } else if (strcmp(o, "-sni") == 0) {
            parse_sni(v);
        } else if (strcmp(o, "-own-cb") == 0) {
            if (strncmp(v, "staple:", 7) == 0 && v[7] != '\0') {
                cfg.own = OWN_STAPLE;
                cfg.own_file = v + 7;
            } else if (strcmp(v, "nostaple") == 0) {
                cfg.own = OWN_NOSTAPLE;
            } else if (strcmp(v, "nack") == 0) {
                cfg.own = OWN_NACK;
            } else if (strcmp(v, "fatal") == 0) {
                cfg.own = OWN_FATAL;
            } else {
                fprintf(stderr, "fixture_server: bad -own-cb %s\n", v);
                usage();
            }
        } else if (strcmp(o, "-tls") == 0) {
            if (strcmp(v, "1.2") == 0)
                cfg.tls_version = TLS1_2_VERSION;
            else if (strcmp(v, "1.3") == 0)
                cfg.tls_version = TLS1_3_VERSION;
            else {
                fprintf(stderr, "fixture_server: bad -tls %s\n", v);
                usage();
            }
        } else if (strcmp(o, "-threads") == 0) {
            cfg.threads = parse_int(v, 1, MAX_THREADS, "thread count");
        } else if (strcmp(o, "-max-seconds") == 0) {
            cfg.max_seconds = parse_int(v, 0, 86400, "max-seconds");
        } else if (strcmp(o, "-verify-client") == 0) {
            cfg.client_ca = v;
        } else {
            fprintf(stderr, "fixture_server: unknown option %s\n", o);
            usage();
        }
    }
    if (cfg.port < 0 || cfg.cert == NULL || cfg.key == NULL) {
        fprintf(stderr, "fixture_server: -port, -cert and -key are required\n");
        usage();
    }
    if ((cfg.cert2 == NULL) != (cfg.key2 == NULL)) {
        fprintf(stderr, "fixture_server: -cert2 and -key2 go together\n");
        usage();
    }
}

/* ------------------------------------------------------------------ */

static int open_listener(int port)
{
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);
    int fd, one = 1, fl;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        logmsg("socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        logmsg("bind 127.0.0.1:%d: %s", port, strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, 64) < 0) {
        logmsg("listen: %s", strerror(errno));
        close(fd);
        return -1;
    }
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        logmsg("fcntl: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (port == 0 && getsockname(fd, (struct sockaddr *)&sa, &salen) == 0)
        logmsg("port %d", ntohs(sa.sin_port));
    return fd;
}

int main(int argc, char **argv)
{
    pthread_t tids[MAX_THREADS];
    int i, nstarted = 0, status;

    parse_args(argc, argv);

    signal(SIGPIPE, SIG_IGN);
    set_handler(SIGTERM, on_stop);
    set_handler(SIGINT, on_stop);
    set_handler(SIGALRM, on_stop);
    if (cfg.reload_on_hup)
        set_handler(SIGHUP, on_hup);
    if (cfg.max_seconds > 0)
        alarm((unsigned)cfg.max_seconds);

    current_set = build_ctxset();
    if (current_set == NULL) {
        logmsg("cannot set up the TLS contexts (-load %s)", mode_names[cfg.mode]);
        return 1;
    }
    listen_fd = open_listener(cfg.port);
    if (listen_fd < 0) {
        release_set(current_set);
        return 1;
    }

    if (cfg.threads > 0) {
        sigset_t block, old;

        /* workers never take the signals; the main thread watches the flags */
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGALRM);
        sigaddset(&block, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &block, &old);
        for (i = 0; i < cfg.threads; i++) {
            if (pthread_create(&tids[i], NULL, worker_main, NULL) != 0) {
                logmsg("pthread_create failed");
                atomic_store(&stop_flag, 1);
                break;
            }
            nstarted++;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }

    fprintf(stderr, "ready\n");
    fflush(stderr);

    if (cfg.threads > 0) {
        while (!atomic_load(&stop_flag)) {
            if (atomic_exchange(&hup_flag, 0))
                do_reload();
            poll(NULL, 0, 200);
        }
        for (i = 0; i < nstarted; i++)
            pthread_join(tids[i], NULL);
    } else {
        accept_loop(1);
    }

    status = atomic_load(&stop_flag) == 2 ? 124 : 0;
    logmsg(status == 124 ? "max-seconds reached, exiting" : "exiting");
    close(listen_fd);
    release_set(current_set);
    return status;
}
