/*
 * fixture_server - a deliberately "legacy style" OpenSSL TLS server used by
 * the autostaple tests.  It knows nothing about OCSP stapling (unless asked to
 * install its own status callback with -own-cb) and exercises every way an
 * OpenSSL server can load its certificate, so the tests can check that the
 * LD_PRELOAD library staples on each path.  It builds against OpenSSL 3 and
 * 1.1.1 alike (the Makefile builds fixture_server-1.1 and, against a copy of
 * 1.1.1 without symbol versions, fixture_server-1.1u).
 *
 * Usage:
 *   fixture_server -port P -cert F -key F [-chain F] [-load MODE]
 *                  [-cert2 F -key2 F] [-sni NAME:CERT:KEY[:CHAIN]]...
 *                  [-sni-list FILE] [-own-cb staple:FILE|nostaple|nack|fatal] [-own-cb-early]
 *                  [-tls 1.2|1.3] [-threads N] [-max-seconds S]
 *                  [-reload-on-hup] [-verify-client CAFILE]
 *                  [-prefork N | -fork-per-conn] [-daemonize PIDFILE [-log FILE]
 *                  [-daemon3]] [-user NAME] [-chroot DIR] [-fork-probe]
 *                  [-exec-per-conn] [-exec-probe]
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
 *   File names must not contain ':'.  Any number of them; the callback
 *   finds the name in a hash table (the first NAME given wins).
 * -sni-list FILE: one -sni argument (NAME:CERT:KEY[:CHAIN]) per line of
 *   FILE; empty lines and lines starting with '#' are skipped.  May be given
 *   with -sni and more than once; the contexts are made in argument order.
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
 * Process models (the certificates are always loaded first, before any fork):
 * -prefork N: after listening, fork N worker processes that all run the
 *   accept loop on the shared socket (each with -threads threads if given);
 *   each prints "worker PID ready".  The parent does no TLS: it waits, logs
 *   workers that die, forwards SIGTERM/SIGINT (and SIGQUIT, graceful: stop
 *   accepting, finish the running connections) to the workers and exits once
 *   they are gone (SIGKILL after 5 s); at -max-seconds it takes them with it
 *   (status 124); if every worker dies on its own it exits with status 1.
 *   Workers get SIGTERM if the parent dies.  With -reload-on-hup the parent
 *   rebuilds its contexts from the files, forks N new workers with them, then
 *   sends SIGQUIT to the old ones and prints "reloaded" once they are gone
 *   (so after "reloaded" every new connection gets the new contexts; a
 *   connection still running on an old worker delays it, 10 s at most).
 * -fork-per-conn: the parent accepts; each connection is served (handshake
 *   and reply) by a child forked for it, which then _exit(0)s.  The parent
 *   reaps the children (a child killed by a signal or exiting non-zero is
 *   logged) and never does TLS itself; on exit it SIGTERMs those still
 *   running.  Not with -threads or -prefork.
 * -daemonize PIDFILE: after loading the certificates and before listening:
 *   fork, setsid, fork, chdir("/"), close every descriptor, 0/1/2 on
 *   /dev/null (with -log FILE, fd 2 is FILE opened O_APPEND), write the
 *   daemon's pid to PIDFILE (temporary file + rename).  The original process
 *   exits 0 once PIDFILE names the daemon (1 if the daemon dies first or
 *   after 30 s).  The daemon then listens and serves in the chosen model and
 *   removes PIDFILE when it exits, if it still can.  Relative PIDFILE, FILE
 *   and DIR (-chroot) names are taken from the starting directory.
 *   -daemon3: daemonize with glibc's daemon(3) instead (one fork; the
 *   original process leaves at once with _exit, before PIDFILE is written).
 * -exec-per-conn: as -fork-per-conn, but each child execs this program
 *   again (same arguments, with -serve-fd N for the connection instead of
 *   -exec-per-conn), which loads the certificates afresh and serves that
 *   one connection.
 * -fork-probe: after each connection, the process that served it forks a
 *   child that exits at once (as a CGI or a piped logger would) and prints
 *   "fork probe: fork took N ms".
 * -exec-probe: after each connection, the process that served it runs a
 *   shell (as a CGI would) that lists the descriptors it inherited on stderr:
 *   "exec probe: fd N -> TARGET" for each, then "exec probe: done".
 * -user NAME (root only): setgroups(0), setgid and setuid to NAME's ids,
 *   printing "dropped to uid N".  -chroot DIR (root only): chroot(DIR) and
 *   chdir("/") just before, printing "chrooted to DIR".  Both happen after
 *   listening; in the single-process and -threads models the server itself
 *   does them, in the -prefork / -fork-per-conn models every worker / child
 *   does them right after its fork, so the parent keeps its privileges and
 *   its view of the files for -reload-on-hup.  A reload, or the ssl-file /
 *   ssl-chain-file modes (which read the files per connection), in a process
 *   that dropped privileges or chrooted can fail like in a real server.
 *
 * Binds 127.0.0.1:P only (-port 0: any free port, reported as "port N" on
 * stderr before "ready").  Prints "ready" on stderr once listening (the
 * parent, in the forking models; the daemon, to -log, with -daemonize); all
 * diagnostics go to stderr, nothing is written to stdout.  Every connection
 * gets at most 10 seconds (handshake, request, response) and a failure on one
 * connection never stops the server.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define MAX_THREADS 64
#define MAX_WORKERS 64
#define MAX_CHILDREN 256     /* live workers or per-connection children */
#define STOP_GRACE 5.0       /* seconds before SIGKILL after forwarding SIGTERM */
#define DAEMON_WAIT 30.0     /* seconds the original waits for PIDFILE */
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
    struct sni_spec *sni;          /* -sni and -sni-list, in order */
    int nsni, sni_cap;
    int *sni_table;                /* open addressing: index into sni, -1 = empty */
    size_t sni_mask;
    enum own_cb own;
    const char *own_file;
    int own_early;
    int tls_version;
    int threads;
    int max_seconds;
    int reload_on_hup;
    const char *client_ca;
    int prefork;                   /* number of worker processes, 0 = none */
    int fork_per_conn;
    const char *pidfile;           /* -daemonize (absolute) */
    int daemon3;                   /* -daemon3: daemonize with daemon(3) */
    int exec_per_conn;             /* -exec-per-conn */
    int limit_as_mib;              /* -limit-as: RLIMIT_AS of a connection child */
    int effective_only;            /* -effective-user: drop the effective ids only */
    int serve_fd;                  /* -serve-fd N (set by -exec-per-conn), -1 if none */
    char **argv;                   /* as given, for -exec-per-conn */
    int fork_probe;                /* -fork-probe */
    int exec_probe;                /* -exec-probe */
    const char *log_file;          /* -log (absolute) */
    const char *user;              /* -user */
    uid_t uid;
    gid_t gid;
    const char *chroot_dir;        /* -chroot, as given */
    const char *chroot_abs;
} cfg;

/* Everything built from the arguments; replaced as a whole on reload. */
struct ctxset {
    int refs;                      /* protected by set_lock */
    SSL_CTX *ctx;                  /* default context */
    SSL_CTX **sni_ctx;             /* one per cfg.sni, the first nsni made */
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
static atomic_int drain_flag;  /* SIGQUIT (-prefork): stop accepting, finish */
static int listen_fd = -1;
static double deadline_mono;   /* end of -max-seconds (0: none) */

/* Child processes of this one (-prefork workers or -fork-per-conn children). */
static struct kid {
    pid_t pid;
    int gen;                       /* -prefork: worker generation */
} kids[MAX_CHILDREN];
static int nkids;

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
            "         [-cert2 F -key2 F] [-sni NAME:CERT:KEY[:CHAIN]]... [-sni-list FILE]\n"
            "         [-own-cb staple:FILE|nostaple|nack|fatal] [-own-cb-early]\n"
            "         [-tls 1.2|1.3] [-threads N] [-max-seconds S] [-reload-on-hup]\n"
            "         [-verify-client CAFILE]\n"
            "         [-prefork N | -fork-per-conn] [-daemonize PIDFILE [-log FILE] [-daemon3]]\n"
            "         [-fork-probe] [-exec-probe] [-exec-per-conn]\n"
            "         [-user NAME | -effective-user NAME] [-chroot DIR] [-limit-as MIB]\n"
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

/* FNV-1a of a name, case-folded (SNI names compare case-insensitively). */
static size_t name_hash(const char *name)
{
    size_t h = 14695981039346656037ULL;

    for (; *name != '\0'; name++) {
        h ^= (unsigned char)(*name >= 'A' && *name <= 'Z' ? *name + 32 : *name);
        h *= 1099511628211ULL;
    }
    return h;
}

/* The first -sni entry named name, or -1. */
static int sni_lookup(const char *name)
{
    size_t i;

    if (cfg.sni_table == NULL)
        return -1;
    for (i = name_hash(name) & cfg.sni_mask; cfg.sni_table[i] >= 0;
         i = (i + 1) & cfg.sni_mask)
        if (strcasecmp(name, cfg.sni[cfg.sni_table[i]].name) == 0)
            return cfg.sni_table[i];
    return -1;
}

/* The table sni_lookup reads, at most half full; made once, before the
 * contexts. */
static void index_sni(void)
{
    size_t size = 16, i;
    int n;

    while (size < (size_t)cfg.nsni * 2)
        size *= 2;
    cfg.sni_table = malloc(size * sizeof(int));
    if (cfg.sni_table == NULL)
        exit(1);
    for (i = 0; i < size; i++)
        cfg.sni_table[i] = -1;
    cfg.sni_mask = size - 1;
    for (n = 0; n < cfg.nsni; n++) {
        if (sni_lookup(cfg.sni[n].name) >= 0)
            continue; /* a duplicate: the first one wins */
        for (i = name_hash(cfg.sni[n].name) & cfg.sni_mask; cfg.sni_table[i] >= 0;
             i = (i + 1) & cfg.sni_mask)
            ;
        cfg.sni_table[i] = n;
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
    i = sni_lookup(name);
    if (i >= 0 && i < set->nsni && SSL_set_SSL_CTX(ssl, set->sni_ctx[i]) == NULL)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
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

/* The "use" path: PEM_read_X509 + SSL_CTX_use_certificate etc.  The key
 * is read from its file unless pkey is given (already read). */
static int load_use(SSL_CTX *ctx, const char *cert, const char *key,
                    STACK_OF(X509) *chain, EVP_PKEY *pkey)
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
    if (pkey != NULL && EVP_PKEY_up_ref(pkey))
        k = pkey;
    else if ((k = read_pkey(key)) == NULL)
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
    ok = SSL_CTX_use_PrivateKey_ASN1(EVP_PKEY_base_id(k), ctx, der, len);
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
        return load_use(ctx, cfg.cert, cfg.key, set->chain, NULL);
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
    free(set->sni_ctx);
    X509_free(set->leaf);
    EVP_PKEY_free(set->pkey);
    sk_X509_pop_free(set->chain, X509_free);
    free(set->staple);
    free(set);
}

static struct ctxset *build_ctxset(void)
{
    struct ctxset *set = calloc(1, sizeof(*set));
    const char *sni_key_path = NULL, *sni_chain_path = NULL;
    EVP_PKEY *sni_key = NULL;
    STACK_OF(X509) *sni_chain = NULL;
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
    if (cfg.nsni > 0 && (set->sni_ctx = calloc((size_t)cfg.nsni, sizeof(SSL_CTX *))) == NULL)
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

    /* Each certificate file is read for its context; a key or chain file
     * named by the previous -sni too is not parsed again (thousands of
     * contexts sharing a key, bench/scale.sh: OpenSSL 3's key decoding
     * costs half a millisecond each time). */
    for (i = 0; i < cfg.nsni; i++) {
        int ok;

        if ((set->sni_ctx[i] = new_ctx(set)) == NULL)
            goto fail;
        set->nsni = i + 1;
        if (sni_chain_path == NULL || cfg.sni[i].chain == NULL
            || strcmp(sni_chain_path, cfg.sni[i].chain) != 0) {
            sk_X509_pop_free(sni_chain, X509_free);
            sni_chain = NULL;
            sni_chain_path = cfg.sni[i].chain;
            if (sni_chain_path != NULL && (sni_chain = read_chain(sni_chain_path)) == NULL)
                goto fail;
        }
        if (sni_key_path == NULL || strcmp(sni_key_path, cfg.sni[i].key) != 0) {
            EVP_PKEY_free(sni_key);
            sni_key_path = cfg.sni[i].key;
            if ((sni_key = read_pkey(sni_key_path)) == NULL)
                goto fail;
        }
        ok = load_use(set->sni_ctx[i], cfg.sni[i].cert, cfg.sni[i].key, sni_chain, sni_key);
        if (!ok)
            goto fail;
        if (!cfg.own_early)
            install_own_cb(set->sni_ctx[i], set);
    }
    sk_X509_pop_free(sni_chain, X509_free);
    EVP_PKEY_free(sni_key);
    if (cfg.nsni > 0) {
        SSL_CTX_set_tlsext_servername_callback(set->ctx, servername_cb);
        SSL_CTX_set_tlsext_servername_arg(set->ctx, set);
    }
    return set;
fail:
    ERR_clear_error();
    sk_X509_pop_free(sni_chain, X509_free);
    EVP_PKEY_free(sni_key);
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

/* Build fresh contexts and make them current; 0 (logged) on failure. */
static int swap_in_fresh_set(void)
{
    struct ctxset *fresh = build_ctxset(), *old;

    if (fresh == NULL) {
        logmsg("reload failed: keeping the previous certificates");
        return 0;
    }
    pthread_mutex_lock(&set_lock);
    old = current_set;
    current_set = fresh;
    pthread_mutex_unlock(&set_lock);
    release_set(old);
    return 1;
}

static void do_reload(void)
{
    if (swap_in_fresh_set())
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

/* -fork-probe: what a CGI or a piped logger costs the serving process: a
 * fork whose child exits at once, timed from the call to its return. */
static void probe_fork(void)
{
    double t0 = now_mono();
    pid_t pid = fork();

    if (pid == 0)
        _exit(0);
    if (pid < 0) {
        logmsg("fork probe: fork: %s", strerror(errno));
        return;
    }
    logmsg("fork probe: fork took %.0f ms", (now_mono() - t0) * 1000);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* -exec-probe: what a program this process executes inherits (a CGI): a
 * shell that prints "exec probe: fd N -> TARGET" on stderr for each of its
 * descriptors, then "exec probe: done". */
static void probe_exec(void)
{
    pid_t pid = fork();

    if (pid == 0) {
        execl("/bin/sh", "sh", "-c",
              "for f in /proc/$$/fd/*; do echo \"exec probe: fd ${f##*/} -> $(readlink $f)\" >&2; "
              "done; echo 'exec probe: done' >&2", (char *)NULL);
        _exit(127);
    }
    if (pid < 0) {
        logmsg("exec probe: fork: %s", strerror(errno));
        return;
    }
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

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
    if (cfg.fork_probe)
        probe_fork();
    if (cfg.exec_probe)
        probe_exec();
}

static void fork_conn(int fd);
static void reap_kids(const char *what);

/*
 * Accept loop.  The listening socket is non-blocking and polled with a
 * 200 ms timeout so the loop notices the stop, drain and reload flags; with
 * handle_hup the reload is done here, between connections.  With
 * -fork-per-conn each connection goes to a child and the children are
 * reaped here.
 */
static void accept_loop(int handle_hup)
{
    while (!atomic_load(&stop_flag) && !atomic_load(&drain_flag)) {
        struct pollfd p;
        int fd, fl;

        if (cfg.fork_per_conn)
            reap_kids("connection child");
        if (handle_hup && atomic_exchange(&hup_flag, 0))
            do_reload();
        p.fd = listen_fd;
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, 1, 200) <= 0 || atomic_load(&stop_flag)
            || atomic_load(&drain_flag))
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
        if (cfg.fork_per_conn)
            fork_conn(fd);
        else
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

static void on_drain(int sig)
{
    (void)sig;
    atomic_store(&drain_flag, 1);
}

static void on_chld(int sig)
{
    (void)sig; /* only interrupts poll() so children are reaped at once */
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

    if (cfg.nsni == cfg.sni_cap) {
        cfg.sni_cap = cfg.sni_cap ? cfg.sni_cap * 2 : 16;
        cfg.sni = realloc(cfg.sni, (size_t)cfg.sni_cap * sizeof(*cfg.sni));
        if (cfg.sni == NULL)
            exit(1);
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

/* -sni-list FILE: a -sni argument per line. */
static void parse_sni_list(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[8192];
    size_t len;

    if (f == NULL) {
        fprintf(stderr, "fixture_server: -sni-list %s: %s\n", path, strerror(errno));
        usage();
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        len = strlen(line);
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len > 0 && line[0] != '#')
            parse_sni(line);
    }
    fclose(f);
}

static void parse_args(int argc, char **argv)
{
    int i;
    size_t m;

    cfg.port = -1;
    cfg.serve_fd = -1;
    cfg.argv = argv;
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
        if (strcmp(o, "-fork-per-conn") == 0) {
            cfg.fork_per_conn = 1;
            continue;
        }
        if (strcmp(o, "-daemon3") == 0) {
            cfg.daemon3 = 1;
            continue;
        }
        if (strcmp(o, "-exec-per-conn") == 0) {
            cfg.exec_per_conn = cfg.fork_per_conn = 1;
            continue;
        }
        if (strcmp(o, "-fork-probe") == 0) {
            cfg.fork_probe = 1;
            continue;
        }
        if (strcmp(o, "-exec-probe") == 0) {
            cfg.exec_probe = 1;
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
        } else if (strcmp(o, "-sni-list") == 0) {
            parse_sni_list(v);
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
        } else if (strcmp(o, "-prefork") == 0) {
            cfg.prefork = parse_int(v, 1, MAX_WORKERS, "worker count");
        } else if (strcmp(o, "-serve-fd") == 0) {
            cfg.serve_fd = atoi(v);
        } else if (strcmp(o, "-daemonize") == 0) {
            cfg.pidfile = v;
        } else if (strcmp(o, "-log") == 0) {
            cfg.log_file = v;
        } else if (strcmp(o, "-user") == 0) {
            cfg.user = v;
        } else if (strcmp(o, "-effective-user") == 0) {
            cfg.user = v;
            cfg.effective_only = 1;
        } else if (strcmp(o, "-chroot") == 0) {
            cfg.chroot_dir = v;
        } else if (strcmp(o, "-limit-as") == 0) {
            cfg.limit_as_mib = parse_int(v, 1, 1 << 20, "address-space limit (MiB)");
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
    if (cfg.fork_per_conn && (cfg.prefork > 0 || cfg.threads > 0)) {
        fprintf(stderr, "fixture_server: -fork-per-conn goes with neither -prefork nor -threads\n");
        usage();
    }
    if ((cfg.log_file != NULL || cfg.daemon3) && cfg.pidfile == NULL) {
        fprintf(stderr, "fixture_server: -log and -daemon3 go with -daemonize\n");
        usage();
    }
    if ((cfg.user != NULL || cfg.chroot_dir != NULL) && geteuid() != 0) {
        fprintf(stderr, "fixture_server: -user and -chroot need root\n");
        usage();
    }
}

/* path made absolute against the starting directory (-daemonize chdirs) */
static const char *absolute(const char *path)
{
    char cwd[4096], *r;

    if (path[0] == '/')
        return path;
    if (getcwd(cwd, sizeof(cwd)) == NULL || asprintf(&r, "%s/%s", cwd, path) < 0) {
        fprintf(stderr, "fixture_server: cannot make %s absolute\n", path);
        exit(1);
    }
    return r;
}

/* What must be looked up before any chroot or fork. */
static void resolve_names(void)
{
    struct stat st;

    if (cfg.pidfile != NULL)
        cfg.pidfile = absolute(cfg.pidfile);
    if (cfg.log_file != NULL)
        cfg.log_file = absolute(cfg.log_file);
    if (cfg.chroot_dir != NULL) {
        cfg.chroot_abs = absolute(cfg.chroot_dir);
        if (stat(cfg.chroot_abs, &st) < 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "fixture_server: -chroot %s: not a directory\n",
                    cfg.chroot_dir);
            exit(1);
        }
    }
    if (cfg.user != NULL) {
        struct passwd *pw = getpwnam(cfg.user);

        if (pw == NULL) {
            fprintf(stderr, "fixture_server: -user %s: no such user\n", cfg.user);
            exit(1);
        }
        cfg.uid = pw->pw_uid;
        cfg.gid = pw->pw_gid;
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

/* ------------------------------------------------------------------ */
/* process models                                                       */

/* Re-arm -max-seconds in a forked process: fork(2) does not inherit alarms. */
static void rearm_alarm(void)
{
    double left;

    if (deadline_mono <= 0)
        return;
    left = deadline_mono - now_mono();
    if (left <= 0) {
        atomic_store(&stop_flag, 2);
        return;
    }
    alarm((unsigned)(left + 0.999));
}

/* -chroot then -user, in the process about to do TLS; 0 (logged) on failure. */
static int drop_privileges(void)
{
    if (cfg.chroot_abs != NULL) {
        if (chroot(cfg.chroot_abs) < 0 || chdir("/") < 0) {
            logmsg("chroot %s: %s", cfg.chroot_dir, strerror(errno));
            return 0;
        }
        fprintf(stderr, "chrooted to %s\n", cfg.chroot_dir);
        fflush(stderr);
    }
    if (cfg.user != NULL && cfg.effective_only) {
        /* As a master that only switches its effective ids: the real ones
         * stay root, and a program it executes runs in secure-execution
         * mode (where the loader ignores LD_PRELOAD). */
        if (setgroups(0, NULL) < 0 || setegid(cfg.gid) < 0 || seteuid(cfg.uid) < 0) {
            logmsg("switching the effective ids to user %s: %s", cfg.user, strerror(errno));
            return 0;
        }
        fprintf(stderr, "effective uid %d, real uid %d\n", (int)geteuid(), (int)getuid());
        fflush(stderr);
    } else if (cfg.user != NULL) {
        if (setgroups(0, NULL) < 0 || setgid(cfg.gid) < 0 || setuid(cfg.uid) < 0) {
            logmsg("dropping to user %s: %s", cfg.user, strerror(errno));
            return 0;
        }
        if (cfg.uid != 0 && setuid(0) == 0) {
            logmsg("dropping to user %s: root could be regained", cfg.user);
            return 0;
        }
        fprintf(stderr, "dropped to uid %d\n", (int)getuid());
        fflush(stderr);
    }
    return 1;
}

/*
 * A worker or connection child gets SIGTERM when its parent dies.  Called
 * after drop_privileges(): a change of credentials clears the death signal.
 */
static void tie_to_parent(pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
        atomic_store(&stop_flag, 1);
}

static int count_kids(int gen) /* gen < 0: all */
{
    int i, n = 0;

    for (i = 0; i < nkids; i++)
        if (gen < 0 || kids[i].gen == gen)
            n++;
    return n;
}

static void signal_kids(int sig, int gen) /* gen < 0: all */
{
    int i;

    for (i = 0; i < nkids; i++)
        if (gen < 0 || kids[i].gen == gen)
            kill(kids[i].pid, sig);
}

/* Reap what has exited; log deaths by a signal and unexpected statuses. */
static void reap_kids(const char *what)
{
    pid_t pid;
    int st, i;

    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        for (i = 0; i < nkids && kids[i].pid != pid; i++)
            ;
        if (i == nkids)
            continue;
        kids[i] = kids[--nkids];
        if (WIFSIGNALED(st))
            logmsg("%s %d killed by signal %d", what, (int)pid, WTERMSIG(st));
        else if (WIFEXITED(st) && WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 124)
            logmsg("%s %d exited with status %d", what, (int)pid, WEXITSTATUS(st));
    }
}

/* SIGTERM every child, SIGKILL those still there after STOP_GRACE, reap all. */
static void stop_kids(const char *what)
{
    double kill_at = now_mono() + STOP_GRACE;

    signal_kids(SIGTERM, -1);
    for (;;) {
        reap_kids(what);
        if (nkids == 0)
            break;
        if (now_mono() > kill_at) {
            signal_kids(SIGKILL, -1);
            kill_at = now_mono() + 3600;
        }
        poll(NULL, 0, 50);
    }
}

/*
 * Serve in this process until told to stop: the -threads workers (the
 * calling thread then only watches the flags) or the accept loop itself.
 * ready_msg is printed once the process can take connections.
 */
static void serve(int handle_hup, const char *ready_msg)
{
    pthread_t tids[MAX_THREADS];
    int i, nstarted = 0;

    if (cfg.threads > 0) {
        sigset_t block, old;

        /* workers never take the signals; the main thread watches the flags */
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGALRM);
        sigaddset(&block, SIGHUP);
        sigaddset(&block, SIGQUIT);
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

    fprintf(stderr, "%s\n", ready_msg);
    fflush(stderr);

    if (cfg.threads > 0) {
        while (!atomic_load(&stop_flag) && !atomic_load(&drain_flag)) {
            if (handle_hup && atomic_exchange(&hup_flag, 0))
                do_reload();
            poll(NULL, 0, 200);
        }
        for (i = 0; i < nstarted; i++)
            pthread_join(tids[i], NULL);
    } else {
        accept_loop(handle_hup);
    }
}

/* -fork-per-conn: a child does the handshake and the reply, then _exit(0). */
/* -exec-per-conn, in the child: this program again, with the same
 * arguments less -exec-per-conn, serving fd (-serve-fd): it loads every
 * certificate afresh, as a mail server's or a proxy's per-connection
 * process does.  Never returns. */
static void exec_for_conn(int fd)
{
    char fdarg[16], **args;
    int n = 0, i;

    for (i = 0; cfg.argv[i] != NULL; i++)
        ;
    args = calloc((size_t)i + 3, sizeof(*args));
    if (args == NULL)
        _exit(1);
    for (i = 0; cfg.argv[i] != NULL; i++) {
        if (strcmp(cfg.argv[i], "-exec-per-conn") == 0)
            continue;
        /* the ids are dropped already, by the process executing */
        if ((strcmp(cfg.argv[i], "-user") == 0 || strcmp(cfg.argv[i], "-effective-user") == 0) &&
            cfg.argv[i + 1] != NULL) {
            i++;
            continue;
        }
        args[n++] = cfg.argv[i];
    }
    snprintf(fdarg, sizeof(fdarg), "%d", fd);
    if (fcntl(fd, F_SETFD, 0) < 0) /* accepted close-on-exec */
        _exit(1);
    args[n++] = "-serve-fd";
    args[n++] = fdarg;
    execv("/proc/self/exe", args);
    logmsg("exec: %s", strerror(errno));
    _exit(1);
}

/* -limit-as: what vsftpd does in a connection's process, as a mail or FTP
 * daemon might: cap its address space (here, at MIB MiB), then map its
 * buffers (16 MiB here).  A library that reserved much address space
 * before the fork leaves no room: the client gets "500 OOPS: mmap". */
static void limit_address_space(int fd)
{
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = (rlim_t)cfg.limit_as_mib << 20;
    if (setrlimit(RLIMIT_AS, &rl) != 0) {
        logmsg("setrlimit RLIMIT_AS: %s", strerror(errno));
        _exit(1);
    }
    void *p = mmap(NULL, (size_t)16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED) {
        static const char oops[] = "500 OOPS: mmap\r\n";
        logmsg("500 OOPS: mmap: %s", strerror(errno));
        if (write(fd, oops, sizeof(oops) - 1) < 0)
            _exit(1);
        _exit(1);
    }
}

static void fork_conn(int fd)
{
    pid_t parent = getpid(), pid;

    if (nkids == MAX_CHILDREN) {
        logmsg("too many connection children, dropping a connection");
        close(fd);
        return;
    }
    pid = fork();
    if (pid < 0) {
        logmsg("fork: %s", strerror(errno));
        close(fd);
        return;
    }
    if (pid == 0) {
        close(listen_fd);
        signal(SIGCHLD, SIG_DFL);
        nkids = 0;
        if (!drop_privileges())
            _exit(1);
        tie_to_parent(parent);
        if (cfg.exec_per_conn)
            exec_for_conn(fd);
        if (cfg.limit_as_mib > 0)
            limit_address_space(fd);
        rearm_alarm();
        serve_conn(fd);
        _exit(0);
    }
    kids[nkids].pid = pid;
    kids[nkids].gen = 0;
    nkids++;
    close(fd);
}

static void run_fork_per_conn(void)
{
    set_handler(SIGCHLD, on_chld);
    fprintf(stderr, "ready\n");
    fflush(stderr);
    accept_loop(1);
    stop_kids("connection child");
}

/* A -prefork worker: never returns. */
static void worker_process(pid_t parent)
{
    char msg[64];

    nkids = 0;
    signal(SIGCHLD, SIG_DFL);
    if (cfg.reload_on_hup)
        signal(SIGHUP, SIG_IGN); /* the parent does the reloading */
    if (!drop_privileges())
        exit(1);
    tie_to_parent(parent);
    rearm_alarm();
    snprintf(msg, sizeof(msg), "worker %d ready", (int)getpid());
    serve(0, msg);
    close(listen_fd);
    release_set(current_set);
    exit(atomic_load(&stop_flag) == 2 ? 124 : 0);
}

/* Fork the -prefork workers of generation gen; returns how many started. */
static int spawn_workers(int gen)
{
    pid_t parent = getpid(), pid;
    int i, n = 0;

    for (i = 0; i < cfg.prefork && !atomic_load(&stop_flag); i++) {
        if (nkids == MAX_CHILDREN) {
            logmsg("too many workers");
            break;
        }
        pid = fork();
        if (pid < 0) {
            logmsg("fork: %s", strerror(errno));
            break;
        }
        if (pid == 0)
            worker_process(parent);
        kids[nkids].pid = pid;
        kids[nkids].gen = gen;
        nkids++;
        n++;
    }
    return n;
}

/*
 * SIGHUP with -prefork: new contexts, new workers, then the old ones are
 * told to quit gracefully.  Returns 1 if the reload is under way ("reloaded"
 * is printed by the caller once the old workers are gone).
 */
static int prefork_reload(int *gen)
{
    int i;

    if (!swap_in_fresh_set())
        return 0;
    if (spawn_workers(*gen + 1) == 0) {
        logmsg("reload failed: no new worker started, the old ones stay");
        return 0;
    }
    (*gen)++;
    for (i = 0; i < nkids; i++)
        if (kids[i].gen != *gen)
            kill(kids[i].pid, SIGQUIT); /* graceful: finish, then exit */
    return 1;
}

/* The -prefork parent: no TLS, only the workers.  Returns the exit status. */
static int run_prefork(void)
{
    int gen = 0, lost = 0, sent = 0, reloads = 0;
    double kill_at = 0;

    /* before the forks, so that every worker has them from the start */
    set_handler(SIGQUIT, on_drain);
    set_handler(SIGCHLD, on_chld);
    if (spawn_workers(gen) == 0) {
        logmsg("no worker started");
        stop_kids("worker");
        return 1;
    }
    fprintf(stderr, "ready\n");
    fflush(stderr);

    for (;;) {
        int stop, drain;

        reap_kids("worker");
        stop = atomic_load(&stop_flag);
        drain = atomic_load(&drain_flag);
        if (!stop && !drain && !lost && count_kids(gen) == 0) {
            logmsg("all workers are gone");
            lost = 1;
        }
        if ((stop || drain || lost) && nkids == 0)
            break;
        if ((stop || lost) && sent != SIGTERM) {
            signal_kids(SIGTERM, -1);
            sent = SIGTERM;
            kill_at = now_mono() + STOP_GRACE;
        } else if (drain && sent == 0) {
            signal_kids(SIGQUIT, -1);
            sent = SIGQUIT;
        } else if (sent == SIGTERM && now_mono() > kill_at) {
            signal_kids(SIGKILL, -1);
            kill_at = now_mono() + 3600;
        }
        if (!stop && !drain && !lost && atomic_exchange(&hup_flag, 0))
            reloads += prefork_reload(&gen);
        /* done once only the new generation is left */
        for (; reloads > 0 && count_kids(-1) == count_kids(gen); reloads--)
            logmsg("reloaded");
        poll(NULL, 0, 200);
    }
    if (atomic_load(&stop_flag) == 2)
        return 124;
    return lost ? 1 : 0;
}

static pid_t read_pidfile(const char *path)
{
    char buf[32];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return (pid_t)strtol(buf, NULL, 10);
}

/* PIDFILE <- our pid, atomically (temporary file + rename). */
static int write_pidfile(void)
{
    char *tmp, line[32];
    int fd, len, ok;

    if (asprintf(&tmp, "%s.tmp.%d", cfg.pidfile, (int)getpid()) < 0)
        return 0;
    len = snprintf(line, sizeof(line), "%d\n", (int)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    ok = fd >= 0 && write(fd, line, (size_t)len) == len;
    if (fd >= 0 && close(fd) < 0)
        ok = 0;
    if (ok && rename(tmp, cfg.pidfile) < 0)
        ok = 0;
    if (!ok) {
        logmsg("cannot write pid file %s: %s", cfg.pidfile, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return ok;
}

/* Only the daemon's own pid file, and only where it can still reach it. */
static void remove_pidfile(void)
{
    if (cfg.pidfile != NULL && read_pidfile(cfg.pidfile) == getpid())
        unlink(cfg.pidfile);
}

/* pid has exited (or is a zombie that nobody reaps) */
static int process_gone(pid_t pid)
{
    char path[64], buf[512], *p;
    size_t n;
    FILE *f;

    if (kill(pid, 0) < 0 && errno == ESRCH)
        return 1;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    return p != NULL && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static void close_every_fd(void)
{
    long fd, max;

    if (close_range(0, ~0U, 0) == 0)
        return;
    max = sysconf(_SC_OPEN_MAX);
    for (fd = 0; fd < (max > 0 ? max : 65536); fd++)
        close((int)fd);
}

/*
 * -daemonize: the classic double fork.  Returns in the daemon; the original
 * process exits here, with 0 once PIDFILE names the daemon.
 */
static void daemonize(void)
{
    pid_t first, daemon_pid = -1;
    if (cfg.daemon3) {
        /* glibc's daemon(3): fork, the parent leaves with _exit (no exit
         * handler runs), the child calls setsid (inside libc) */
        if (daemon(0, 1) != 0) {
            logmsg("daemon: %s", strerror(errno));
            exit(1);
        }
        close_every_fd();
        if (open("/dev/null", O_RDWR) != 0 || dup2(0, 1) != 1)
            _exit(1);
        if ((cfg.log_file != NULL
             ? open(cfg.log_file, O_WRONLY | O_CREAT | O_APPEND | O_NOCTTY, 0644)
             : dup2(0, 2)) != 2)
            _exit(1);
        if (!write_pidfile())
            exit(1);
        rearm_alarm();
        return;
    }
    double until;
    ssize_t n;
    int p[2], st, fd;

    if (pipe2(p, O_CLOEXEC) < 0) {
        logmsg("pipe: %s", strerror(errno));
        exit(1);
    }
    first = fork();
    if (first < 0) {
        logmsg("fork: %s", strerror(errno));
        exit(1);
    }
    if (first == 0) {
        pid_t second;

        close(p[0]);
        if (setsid() < 0)
            _exit(1);
        second = fork();
        if (second < 0)
            _exit(1);
        if (second > 0) {
            /* tell the original who the daemon is, and go */
            n = write(p[1], &second, sizeof(second));
            _exit(n == (ssize_t)sizeof(second) ? 0 : 1);
        }
        /* the daemon: no session leader, so no controlling terminal again */
        if (chdir("/") < 0)
            _exit(1);
        close_every_fd();
        if (open("/dev/null", O_RDWR) != 0 || dup2(0, 1) != 1)
            _exit(1);
        if (cfg.log_file != NULL)
            fd = open(cfg.log_file, O_WRONLY | O_CREAT | O_APPEND | O_NOCTTY, 0644);
        else
            fd = dup2(0, 2);
        if (fd != 2)
            _exit(1);
        if (!write_pidfile())
            exit(1);
        rearm_alarm();
        return;
    }

    /* the original process */
    close(p[1]);
    do
        n = read(p[0], &daemon_pid, sizeof(daemon_pid));
    while (n < 0 && errno == EINTR);
    close(p[0]);
    while (waitpid(first, &st, 0) < 0 && errno == EINTR)
        ;
    if (n != (ssize_t)sizeof(daemon_pid)) {
        logmsg("daemonizing failed");
        exit(1);
    }
    until = now_mono() + DAEMON_WAIT;
    for (;;) {
        if (read_pidfile(cfg.pidfile) == daemon_pid) {
            logmsg("daemon %d started", (int)daemon_pid);
            exit(0);
        }
        if (process_gone(daemon_pid)) {
            logmsg("the daemon (pid %d) exited before writing %s",
                   (int)daemon_pid, cfg.pidfile);
            exit(1);
        }
        if (now_mono() > until) {
            logmsg("no pid file %s after %.0f s, stopping the daemon (pid %d)",
                   cfg.pidfile, DAEMON_WAIT, (int)daemon_pid);
            kill(daemon_pid, SIGTERM);
            exit(1);
        }
        poll(NULL, 0, 20);
    }
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    int status;

    parse_args(argc, argv);
    resolve_names();
    if (cfg.nsni > 0)
        index_sni();

    signal(SIGPIPE, SIG_IGN);
    set_handler(SIGTERM, on_stop);
    set_handler(SIGINT, on_stop);
    set_handler(SIGALRM, on_stop);
    if (cfg.reload_on_hup)
        set_handler(SIGHUP, on_hup);
    if (cfg.max_seconds > 0) {
        deadline_mono = now_mono() + cfg.max_seconds;
        alarm((unsigned)cfg.max_seconds);
    }

    /* certificates first, in every model, before any fork */
    current_set = build_ctxset();
    if (current_set == NULL) {
        logmsg("cannot set up the TLS contexts (-load %s)", mode_names[cfg.mode]);
        return 1;
    }
    if (cfg.serve_fd >= 0) {
        serve_conn(cfg.serve_fd);
        release_set(current_set);
        return 0;
    }
    if (cfg.pidfile != NULL)
        daemonize();
    listen_fd = open_listener(cfg.port);
    if (listen_fd < 0) {
        release_set(current_set);
        remove_pidfile();
        return 1;
    }

    if (cfg.prefork > 0) {
        status = run_prefork();
    } else if (cfg.fork_per_conn) {
        run_fork_per_conn();
        status = atomic_load(&stop_flag) == 2 ? 124 : 0;
    } else if (!drop_privileges()) {
        status = 1;
    } else {
        serve(1, "ready");
        status = atomic_load(&stop_flag) == 2 ? 124 : 0;
    }

    if (status != 1)
        logmsg(status == 124 ? "max-seconds reached, exiting" : "exiting");
    close(listen_fd);
    release_set(current_set);
    remove_pidfile();
    return status;
}
