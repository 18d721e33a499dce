/*
 * preload.c: the hooks.  This object is what LD_PRELOAD names; it links to
 * nothing but libc and resolves OpenSSL at run time, so that a process that
 * never creates a server-capable SSL_CTX pays for no more than mapping it.
 *
 * Each hook calls the real function first and, if it succeeded on a context
 * that can be a server, tells the core (boundary.h).  The core is loaded on
 * the first such context.  A thread-local flag lets the core's own calls pass
 * straight through.  The exported names are versioned OPENSSL_3.0.0 by
 * preload.map, so programs linked against OpenSSL 1.1 never bind to them.
 * BIO_new_file is hooked too, only to note, per thread, the files a server
 * reads its certificate from (for "<file>.ocsp", ocsp_file.h).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <grp.h>
#include <unistd.h>

#include "boundary.h"

#define AS_EXPORT __attribute__((visibility("default")))

/* Real OpenSSL entry points: one typed slot each, bound once. */
static struct {
    SSL_CTX *(*SSL_CTX_new)(const SSL_METHOD *);
    SSL_CTX *(*SSL_CTX_new_ex)(OSSL_LIB_CTX *, const char *, const SSL_METHOD *);
    int (*SSL_CTX_use_certificate)(SSL_CTX *, X509 *);
    int (*SSL_CTX_use_certificate_file)(SSL_CTX *, const char *, int);
    int (*SSL_CTX_use_certificate_chain_file)(SSL_CTX *, const char *);
    int (*SSL_CTX_use_certificate_ASN1)(SSL_CTX *, int, const unsigned char *);
    int (*SSL_use_certificate)(SSL *, X509 *);
    int (*SSL_use_certificate_file)(SSL *, const char *, int);
    int (*SSL_use_certificate_chain_file)(SSL *, const char *);
    int (*SSL_use_certificate_ASN1)(SSL *, const unsigned char *, int);
    int (*SSL_CTX_use_cert_and_key)(SSL_CTX *, X509 *, EVP_PKEY *, STACK_OF(X509) *, int);
    int (*SSL_use_cert_and_key)(SSL *, X509 *, EVP_PKEY *, STACK_OF(X509) *, int);
    const SSL_METHOD *(*SSL_CTX_get_ssl_method)(const SSL_CTX *);
    SSL_CTX *(*SSL_get_SSL_CTX)(const SSL *);
} real_fn;
static struct as_real real_ctrl;            /* shared with the core */
static const SSL_METHOD *client_methods[12]; /* client-only methods */

static pthread_once_t bind_once = PTHREAD_ONCE_INIT;
static pthread_once_t core_once = PTHREAD_ONCE_INIT;
static int disabled;
static const struct as_core *_Atomic core; /* set once by load_core */
static char self_dir[PATH_MAX];
static __thread int in_shim __attribute__((tls_model("initial-exec")));

static void die(const char *what)
{
    char line[256];
    int n = snprintf(line, sizeof(line),
                     "autostaple[%d]: error: cannot find the real %s; aborting\n",
                     (int)getpid(), what);
    if (n > 0)
        (void)!write(STDERR_FILENO, line, (size_t)n);
    abort();
}

/* The next definition of NAME, of symbol version VERSION, after ours:
 * normally libssl.so.3 in the global scope; failing that, a libssl.so.3
 * already loaded with RTLD_LOCAL. */
static void *find_next_version(const char *name, const char *version, void *self)
{
    void *p = dlvsym(RTLD_NEXT, name, version);
    if (p == NULL) {
        void *h = dlopen("libssl.so.3", RTLD_LAZY | RTLD_NOLOAD);
        if (h != NULL) {
            p = dlvsym(h, name, version);
            dlclose(h);
        }
    }
    return p == self ? NULL : p;
}

/* Every function hooked here is OpenSSL 3.0's, and keeps that version up
 * to 3.5. */
static void *find_next(const char *name, void *self)
{
    return find_next_version(name, "OPENSSL_3.0.0", self);
}

#define BIND(slot, name) (slot) = (__typeof__(slot))find_next(#name, (void *)name)

static void bind_real(void)
{
    /* A set-user-ID, set-group-ID or capability-raising program (reached
     * through /etc/ld.so.preload): its environment is its caller's, who
     * must not steer it (AUTOSTAPLE_CORE names a library to load, the
     * others files to write).  Stay inert: nothing is loaded, read or
     * written; such a program is no server we staple for.  The real
     * functions are bound all the same: the hooks still need them. */
    const char *v = getauxval(AT_SECURE) != 0 ? "1" : getenv("AUTOSTAPLE_DISABLE");
    if (v != NULL && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
                      strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0))
        disabled = 1;

    BIND(real_fn.SSL_CTX_new, SSL_CTX_new);
    BIND(real_fn.SSL_CTX_new_ex, SSL_CTX_new_ex);
    BIND(real_fn.SSL_CTX_use_certificate, SSL_CTX_use_certificate);
    BIND(real_fn.SSL_CTX_use_certificate_file, SSL_CTX_use_certificate_file);
    BIND(real_fn.SSL_CTX_use_certificate_chain_file, SSL_CTX_use_certificate_chain_file);
    BIND(real_fn.SSL_CTX_use_certificate_ASN1, SSL_CTX_use_certificate_ASN1);
    BIND(real_fn.SSL_use_certificate, SSL_use_certificate);
    BIND(real_fn.SSL_use_certificate_file, SSL_use_certificate_file);
    BIND(real_fn.SSL_use_certificate_chain_file, SSL_use_certificate_chain_file);
    BIND(real_fn.SSL_use_certificate_ASN1, SSL_use_certificate_ASN1);
    BIND(real_fn.SSL_CTX_use_cert_and_key, SSL_CTX_use_cert_and_key);
    BIND(real_fn.SSL_use_cert_and_key, SSL_use_cert_and_key);
    BIND(real_ctrl.SSL_CTX_callback_ctrl, SSL_CTX_callback_ctrl);
    BIND(real_ctrl.SSL_CTX_ctrl, SSL_CTX_ctrl);
    BIND(real_ctrl.SSL_ctrl, SSL_ctrl);
    real_fn.SSL_CTX_get_ssl_method = find_next("SSL_CTX_get_ssl_method", NULL);
    real_fn.SSL_get_SSL_CTX = find_next("SSL_get_SSL_CTX", NULL);

    static const struct {
        const char *name, *version;
    } getters[] = {
        { "TLS_client_method", "OPENSSL_3.0.0" },
        { "DTLS_client_method", "OPENSSL_3.0.0" },
        { "TLSv1_2_client_method", "OPENSSL_3.0.0" },
        { "TLSv1_1_client_method", "OPENSSL_3.0.0" },
        { "TLSv1_client_method", "OPENSSL_3.0.0" },
        { "DTLSv1_2_client_method", "OPENSSL_3.0.0" },
        { "DTLSv1_client_method", "OPENSSL_3.0.0" },
        /* OpenSSL 3.2 and later (absent before: skipped): QUIC clients,
         * such as Debian 13's curl fetching over HTTP/3. */
        { "OSSL_QUIC_client_method", "OPENSSL_3.2.0" },
        { "OSSL_QUIC_client_thread_method", "OPENSSL_3.2.0" },
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof(getters) / sizeof(getters[0]); i++) {
        const SSL_METHOD *(*get)(void) = (const SSL_METHOD *(*)(void))find_next_version(
            getters[i].name, getters[i].version, NULL);
        if (get != NULL)
            client_methods[n++] = get();
    }
    if (real_fn.SSL_CTX_get_ssl_method == NULL || real_fn.SSL_get_SSL_CTX == NULL)
        disabled = 1; /* cannot tell servers from clients: stay out of the way */
}

/* The real function for a hook, bound on first use; abort if it is missing,
 * since there is nothing sane to return in its place. */
#define REAL(name) \
    (pthread_once(&bind_once, bind_real), \
     real_fn.name != NULL ? real_fn.name : (die(#name), real_fn.name))
#define REAL_CTRL(name) \
    (pthread_once(&bind_once, bind_real), \
     real_ctrl.name != NULL ? real_ctrl.name : (die(#name), real_ctrl.name))

/* The directory this object was loaded from, taken at load time while a
 * relative LD_PRELOAD path still means what it meant. */
__attribute__((constructor)) static void remember_self_dir(void)
{
    Dl_info info;
    if (dladdr((void *)remember_self_dir, &info) == 0 || info.dli_fname == NULL)
        return;
    char buf[PATH_MAX];
    const char *path = info.dli_fname;
    if (path[0] != '/' && realpath(path, buf) != NULL)
        path = buf;
    const char *slash = strrchr(path, '/');
    if (slash != NULL && (size_t)(slash - path) < sizeof(self_dir))
        memcpy(self_dir, path, (size_t)(slash - path));
}

static void load_core(void)
{
    char path[PATH_MAX + 32];
    const char *override = getenv("AUTOSTAPLE_CORE");
    if (override != NULL && override[0] != '\0')
        snprintf(path, sizeof(path), "%s", override);
    else
        snprintf(path, sizeof(path), "%s/libautostaple-core.so", self_dir);

    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    as_core_init_fn init = h != NULL ? (as_core_init_fn)dlsym(h, "as_core_init") : NULL;
    const struct as_core *c = init != NULL ? init(&real_ctrl) : NULL;
    if (c == NULL || c->abi != AS_BOUNDARY_ABI) {
        char line[PATH_MAX + 256];
        int n = snprintf(line, sizeof(line),
                         "autostaple[%d]: error: cannot load %s (%s); stapling disabled\n",
                         (int)getpid(), path, h == NULL ? dlerror() : "bad core");
        if (n > 0)
            (void)!write(STDERR_FILENO, line,
                         (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
        return;
    }
    atomic_store_explicit(&core, c, memory_order_release);
}

static int client_only(const SSL_CTX *ctx)
{
    const SSL_METHOD *m = real_fn.SSL_CTX_get_ssl_method(ctx);
    for (size_t i = 0; i < sizeof(client_methods) / sizeof(client_methods[0]); i++)
        if (client_methods[i] != NULL && client_methods[i] == m)
            return 1;
    return 0;
}

/* The core, if this context is one we act on; loads the core on first use.
 * Called after a real call, so the bindings are in place. */
static const struct as_core *core_for(const SSL_CTX *ctx)
{
    if (disabled || in_shim || ctx == NULL || client_only(ctx))
        return NULL;
    pthread_once(&core_once, load_core);
    return atomic_load_explicit(&core, memory_order_acquire);
}

static const struct as_core *core_for_ssl(const SSL *ssl)
{
    return ssl == NULL ? NULL : core_for(real_fn.SSL_get_SSL_CTX(ssl));
}

#define TELL(c, call) do { in_shim = 1; (c)->call; in_shim = 0; } while (0)

/* Files this thread opened for reading through BIO_new_file since its last
 * certificate load: where a server that reads its PEM itself (nginx,
 * openssl s_server) got the certificate it loads next, so that the core can
 * look for "<file>.ocsp" beside it (boundary.h: struct as_cert_source).  A
 * ring of the last AS_RECENT_FILES names; longer names are not kept.  Plain
 * thread-local storage: no lock, no allocation. */
#define RECENT_NAME_MAX 256
static __thread struct {
    char name[AS_RECENT_FILES][RECENT_NAME_MAX];
    unsigned next, count;
} recent;

static void remember_opened(const char *file)
{
    size_t len = strnlen(file, RECENT_NAME_MAX);
    if (len == 0 || len >= RECENT_NAME_MAX)
        return;
    memcpy(recent.name[recent.next], file, len + 1);
    recent.next = (recent.next + 1) % AS_RECENT_FILES;
    if (recent.count < AS_RECENT_FILES)
        recent.count++;
}

/* The source of a certificate loaded now (named: the *_file argument or
 * NULL); the names it hands out stay valid until this thread's next
 * BIO_new_file.  The ring is emptied: the next load starts afresh. */
static struct as_cert_source source_of(const char *named)
{
    struct as_cert_source src = { .named = named };
    for (unsigned i = 0; i < recent.count; i++)
        src.recent[src.nrecent++] =
            recent.name[(recent.next + AS_RECENT_FILES - 1 - i) % AS_RECENT_FILES];
    recent.count = 0;
    return src;
}

/* BIO_new_file, bound on its own: a process may use libcrypto long before
 * it loads libssl (bind_real needs libssl). */
static BIO *(*real_BIO_new_file)(const char *, const char *);

static void bind_bio_new_file(void)
{
    void *p = dlvsym(RTLD_NEXT, "BIO_new_file", "OPENSSL_3.0.0");
    if (p == NULL) {
        void *h = dlopen("libcrypto.so.3", RTLD_LAZY | RTLD_NOLOAD);
        if (h != NULL) {
            p = dlvsym(h, "BIO_new_file", "OPENSSL_3.0.0");
            dlclose(h);
        }
    }
    real_BIO_new_file = p == (void *)BIO_new_file ? NULL : (BIO *(*)(const char *, const char *))p;
}

AS_EXPORT BIO *BIO_new_file(const char *file, const char *mode)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, bind_bio_new_file);
    if (real_BIO_new_file == NULL)
        die("BIO_new_file");
    BIO *b = real_BIO_new_file(file, mode);
    if (b != NULL && !in_shim && file != NULL && mode != NULL && mode[0] == 'r')
        remember_opened(file);
    return b;
}

AS_EXPORT SSL_CTX *SSL_CTX_new_ex(OSSL_LIB_CTX *libctx, const char *propq,
                                  const SSL_METHOD *meth)
{
    SSL_CTX *ctx = REAL(SSL_CTX_new_ex)(libctx, propq, meth);
    const struct as_core *c = core_for(ctx);
    if (c != NULL)
        TELL(c, ctx_new(ctx));
    return ctx;
}

AS_EXPORT SSL_CTX *SSL_CTX_new(const SSL_METHOD *meth)
{
    /* libssl may reach SSL_CTX_new_ex above through its PLT: ctx_new is
     * idempotent. */
    SSL_CTX *ctx = REAL(SSL_CTX_new)(meth);
    const struct as_core *c = core_for(ctx);
    if (c != NULL)
        TELL(c, ctx_new(ctx));
    return ctx;
}

AS_EXPORT long SSL_CTX_callback_ctrl(SSL_CTX *ctx, int cmd, void (*fp)(void))
{
    long (*real)(SSL_CTX *, int, void (*)(void)) = REAL_CTRL(SSL_CTX_callback_ctrl);
    const struct as_core *c;
    if (cmd == SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB && (c = core_for(ctx)) != NULL) {
        in_shim = 1;
        int taken = c->status_cb_set(ctx, fp);
        in_shim = 0;
        if (taken)
            return 1;
    }
    return real(ctx, cmd, fp);
}

AS_EXPORT long SSL_CTX_ctrl(SSL_CTX *ctx, int cmd, long larg, void *parg)
{
    long (*real)(SSL_CTX *, int, long, void *) = REAL_CTRL(SSL_CTX_ctrl);
    const struct as_core *c;

    switch (cmd) {
    case SSL_CTRL_GET_TLSEXT_STATUS_REQ_CB:
        if (parg != NULL && (c = core_for(ctx)) != NULL) {
            in_shim = 1;
            int held = c->status_cb_get(ctx, (void (**)(void))parg);
            in_shim = 0;
            if (held)
                return 1;
        }
        break;
    case SSL_CTRL_EXTRA_CHAIN_CERT:
    case SSL_CTRL_CHAIN_CERT:
    case SSL_CTRL_CHAIN: {
        long rc = real(ctx, cmd, larg, parg);
        if (rc > 0 && parg != NULL && (c = core_for(ctx)) != NULL) {
            if (cmd == SSL_CTRL_CHAIN)
                TELL(c, chain_stack((STACK_OF(X509) *)parg));
            else
                TELL(c, chain_cert((X509 *)parg));
        }
        return rc;
    }
    }
    return real(ctx, cmd, larg, parg);
}

AS_EXPORT long SSL_ctrl(SSL *ssl, int cmd, long larg, void *parg)
{
    long (*real)(SSL *, int, long, void *) = REAL_CTRL(SSL_ctrl);
    if (cmd != SSL_CTRL_CHAIN_CERT && cmd != SSL_CTRL_CHAIN)
        return real(ssl, cmd, larg, parg);
    long rc = real(ssl, cmd, larg, parg);
    const struct as_core *c;
    if (rc > 0 && parg != NULL && (c = core_for_ssl(ssl)) != NULL) {
        if (cmd == SSL_CTRL_CHAIN)
            TELL(c, chain_stack((STACK_OF(X509) *)parg));
        else
            TELL(c, chain_cert((X509 *)parg));
    }
    return rc;
}

/* The certificate-loading hooks: real call, then tell the core where the
 * certificate may have come from (file: the *_file argument, or NULL). */
#define CTX_LOAD_HOOK(name, params, args, file) \
    AS_EXPORT int name params \
    { \
        int rc = REAL(name) args; \
        const struct as_core *c; \
        if (rc == 1 && (c = core_for(ctx)) != NULL) { \
            struct as_cert_source src = source_of(file); \
            TELL(c, ctx_loaded(ctx, &src)); \
        } \
        return rc; \
    }
#define SSL_LOAD_HOOK(name, params, args, file) \
    AS_EXPORT int name params \
    { \
        int rc = REAL(name) args; \
        const struct as_core *c; \
        if (rc == 1 && (c = core_for_ssl(ssl)) != NULL) { \
            struct as_cert_source src = source_of(file); \
            TELL(c, ssl_loaded(ssl, &src)); \
        } \
        return rc; \
    }

CTX_LOAD_HOOK(SSL_CTX_use_certificate, (SSL_CTX *ctx, X509 *x), (ctx, x), NULL)
CTX_LOAD_HOOK(SSL_CTX_use_certificate_file, (SSL_CTX *ctx, const char *file, int type),
              (ctx, file, type), file)
CTX_LOAD_HOOK(SSL_CTX_use_certificate_chain_file, (SSL_CTX *ctx, const char *file),
              (ctx, file), file)
CTX_LOAD_HOOK(SSL_CTX_use_certificate_ASN1, (SSL_CTX *ctx, int len, const unsigned char *d),
              (ctx, len, d), NULL)
SSL_LOAD_HOOK(SSL_use_certificate, (SSL *ssl, X509 *x), (ssl, x), NULL)
SSL_LOAD_HOOK(SSL_use_certificate_file, (SSL *ssl, const char *file, int type),
              (ssl, file, type), file)
SSL_LOAD_HOOK(SSL_use_certificate_chain_file, (SSL *ssl, const char *file), (ssl, file),
              file)
SSL_LOAD_HOOK(SSL_use_certificate_ASN1, (SSL *ssl, const unsigned char *d, int len),
              (ssl, d, len), NULL)
/* (OpenSSL 1.1.1 and later: certificate, key and chain in one call, which
 * calls none of the functions above inside libssl.) */
CTX_LOAD_HOOK(SSL_CTX_use_cert_and_key,
              (SSL_CTX *ctx, X509 *x, EVP_PKEY *key, STACK_OF(X509) *chain, int override),
              (ctx, x, key, chain, override), NULL)
SSL_LOAD_HOOK(SSL_use_cert_and_key,
              (SSL *ssl, X509 *x, EVP_PKEY *key, STACK_OF(X509) *chain, int override),
              (ssl, x, key, chain, override), NULL)

/* libc's calls that tell where a server is in its life, exported under
 * glibc's own versions (preload.map), which is what programs ask for.  Each
 * does nothing more than the real call in a process whose core is not
 * loaded (it set up no server context).
 *   listen(2): a process about to serve may be a daemon that takes over the
 *     refresh from the process that started it (core: listening).
 *   accept(2), accept4(2), the first call in a process: it serves now; give
 *     the first fetches a moment, so that the first handshake is stapled
 *     (core: before_serving).  A configuration test (nginx -t) listens but
 *     never accepts, so it does not wait.
 *   setsid(2): the process daemonizes (core: session_started).  glibc's own
 *     daemon(3) calls it internally, unseen: listen and fork cover that.
 *   set*id(2), setgroups(2), initgroups(3), chroot(2): the process gives up
 *     rights or files it may need to fetch and to save what it fetched; the
 *     first fetches are given a moment first (core: before_dropping_rights),
 *     as a server that listens as root and then drops privileges serves
 *     next.
 *   execve(2), execv(3), execvp(3), execvpe(3), fexecve(3): a process that
 *     refreshes for others leaves that role before it becomes another
 *     program (HAProxy's master execs itself again; core: before_exec).
 *     The execl(3) family and posix_spawn(3) reach execve inside libc,
 *     unseen. */
static struct {
    int (*listen)(int, int);
    int (*accept)(int, struct sockaddr *, socklen_t *);
    int (*accept4)(int, struct sockaddr *, socklen_t *, int);
    pid_t (*setsid)(void);
    int (*setuid)(uid_t);
    int (*seteuid)(uid_t);
    int (*setreuid)(uid_t, uid_t);
    int (*setresuid)(uid_t, uid_t, uid_t);
    int (*setgid)(gid_t);
    int (*setegid)(gid_t);
    int (*setregid)(gid_t, gid_t);
    int (*setresgid)(gid_t, gid_t, gid_t);
    int (*setgroups)(size_t, const gid_t *);
    int (*initgroups)(const char *, gid_t);
    int (*chroot)(const char *);
    int (*execve)(const char *, char *const[], char *const[]);
    int (*execv)(const char *, char *const[]);
    int (*execvp)(const char *, char *const[]);
    int (*execvpe)(const char *, char *const[], char *const[]);
    int (*fexecve)(int, char *const[], char *const[]);
} real_libc;
static atomic_int served; /* this process (or the one it was forked from) accepted */

static void bind_libc(void)
{
    real_libc.listen = (int (*)(int, int))dlsym(RTLD_NEXT, "listen");
    real_libc.accept = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "accept");
    real_libc.accept4 =
        (int (*)(int, struct sockaddr *, socklen_t *, int))dlsym(RTLD_NEXT, "accept4");
    real_libc.setsid = (pid_t (*)(void))dlsym(RTLD_NEXT, "setsid");
#define BIND_LIBC(name) (real_libc.name = (__typeof__(real_libc.name))dlsym(RTLD_NEXT, #name))
    BIND_LIBC(setuid);
    BIND_LIBC(seteuid);
    BIND_LIBC(setreuid);
    BIND_LIBC(setresuid);
    BIND_LIBC(setgid);
    BIND_LIBC(setegid);
    BIND_LIBC(setregid);
    BIND_LIBC(setresgid);
    BIND_LIBC(setgroups);
    BIND_LIBC(initgroups);
    BIND_LIBC(chroot);
    BIND_LIBC(execve);
    BIND_LIBC(execv);
    BIND_LIBC(execvp);
    BIND_LIBC(execvpe);
    BIND_LIBC(fexecve);
#undef BIND_LIBC
}

static pthread_once_t libc_once = PTHREAD_ONCE_INIT;

/* The real libc function for a hook, every one bound at the first use of
 * any; abort if it is missing. */
#define REAL_LIBC(name) \
    ({ pthread_once(&libc_once, bind_libc); \
       if (real_libc.name == NULL) \
           die(#name); \
       real_libc.name; })

/* The core, if this process loaded it, and the call is not the core's own. */
static const struct as_core *core_loaded(void)
{
    const struct as_core *c = atomic_load_explicit(&core, memory_order_acquire);
    return c != NULL && !in_shim ? c : NULL;
}

static void before_serving(void)
{
    const struct as_core *c;
    if (atomic_load_explicit(&served, memory_order_relaxed) == 0 && (c = core_loaded()) != NULL &&
        atomic_exchange(&served, 1) == 0)
        TELL(c, before_serving());
}

/* Before giving up rights: wait for the first fetches (each time: the core
 * returns at once when nothing is pending). */
static void before_dropping(void)
{
    const struct as_core *c = core_loaded();
    if (c != NULL)
        TELL(c, before_dropping_rights());
}

#define DROP_HOOK(ret, name, params, args) \
    AS_EXPORT ret name params \
    { \
        ret (*real) params = REAL_LIBC(name); \
        before_dropping(); \
        return real args; \
    }

DROP_HOOK(int, setuid, (uid_t u), (u))
DROP_HOOK(int, seteuid, (uid_t u), (u))
DROP_HOOK(int, setreuid, (uid_t r, uid_t e), (r, e))
DROP_HOOK(int, setresuid, (uid_t r, uid_t e, uid_t s), (r, e, s))
DROP_HOOK(int, setgid, (gid_t g), (g))
DROP_HOOK(int, setegid, (gid_t g), (g))
DROP_HOOK(int, setregid, (gid_t r, gid_t e), (r, e))
DROP_HOOK(int, setresgid, (gid_t r, gid_t e, gid_t s), (r, e, s))
DROP_HOOK(int, setgroups, (size_t n, const gid_t *list), (n, list))
DROP_HOOK(int, initgroups, (const char *user, gid_t g), (user, g))
DROP_HOOK(int, chroot, (const char *dir), (dir))

static void before_exec(const char *program)
{
    const struct as_core *c = core_loaded();
    if (c != NULL)
        TELL(c, before_exec(program));
}

#define EXEC_HOOK(name, params, program, args) \
    AS_EXPORT int name params \
    { \
        int (*real) params = REAL_LIBC(name); \
        before_exec(program); \
        return real args; \
    }

EXEC_HOOK(execve, (const char *path, char *const argv[], char *const envp[]), path,
          (path, argv, envp))
EXEC_HOOK(execv, (const char *path, char *const argv[]), path, (path, argv))
EXEC_HOOK(execvp, (const char *file, char *const argv[]), file, (file, argv))
EXEC_HOOK(execvpe, (const char *file, char *const argv[], char *const envp[]), file,
          (file, argv, envp))
EXEC_HOOK(fexecve, (int fd, char *const argv[], char *const envp[]), "a program by descriptor",
          (fd, argv, envp))

AS_EXPORT int listen(int fd, int backlog)
{
    int (*real)(int, int) = REAL_LIBC(listen);
    const struct as_core *c = core_loaded();
    if (c != NULL)
        TELL(c, listening());
    return real(fd, backlog);
}

AS_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    int (*real)(int, struct sockaddr *, socklen_t *) = REAL_LIBC(accept);
    before_serving();
    return real(fd, addr, len);
}

AS_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    int (*real)(int, struct sockaddr *, socklen_t *, int) = REAL_LIBC(accept4);
    before_serving();
    return real(fd, addr, len, flags);
}

AS_EXPORT pid_t setsid(void)
{
    pid_t (*real)(void) = REAL_LIBC(setsid);
    pid_t sid = real();
    const struct as_core *c;
    if (sid != (pid_t)-1 && (c = core_loaded()) != NULL)
        TELL(c, session_started());
    return sid;
}
