/*
 * preload.c: the hooks.  This object is what LD_PRELOAD names; it links to
 * nothing but libc and resolves OpenSSL at run time, so that a process that
 * never creates a server-capable SSL_CTX pays for no more than mapping it.
 *
 * Each hook calls the real function first and, if it succeeded on a context
 * that can be a server, tells the core (boundary.h).  The core is loaded on
 * the first such context: libautostaple-core.so for a program using OpenSSL
 * 3, libautostaple-core-1.1.so for one using OpenSSL 1.1 (the hooks are
 * exported under both ABIs' symbol versions; see "Two OpenSSL ABIs" below).
 * A thread-local flag lets the core's own calls pass straight through.
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
#include <link.h>
#include <unistd.h>

#include "boundary.h"

#define AS_EXPORT __attribute__((visibility("default")))

/* ------------------------------------------------------------------------
 * Two OpenSSL ABIs.  A program linked against OpenSSL 3 asks for the
 * hooked names at version OPENSSL_3.0.0, one linked against OpenSSL 1.1 at
 * OPENSSL_1_1_0 (OPENSSL_1_1_1 for the cert-and-key calls): each name is
 * defined here twice, once per version (HOOK below), and each definition
 * belongs to a family of hooks with its own real functions.  A program
 * linked against a libssl with no symbol versions (vendor builds often have
 * none) asks for no version and is given one of the two (glibc: the oldest
 * version, else the default one); so a family never assumes its ABI from
 * its version: it asks the library that defines the real SSL_CTX_new for
 * its OpenSSL_version_num.
 *
 * Each ABI has its own core object (libautostaple-core.so for 3,
 * libautostaple-core-1.1.so for 1.1, built against that ABI's headers),
 * loaded beside this file.  A process gets one core: the ABI of its first
 * server-capable context.  A process that serves TLS through both (a plugin
 * host) staples only that ABI's contexts and says once that it leaves the
 * other's alone; passing a context of one ABI to the other's core would
 * crash it.
 * ------------------------------------------------------------------------ */
enum abi { ABI_3, ABI_1_1, ABI_COUNT, ABI_UNKNOWN = -1 };

static const struct {
    const char *label;     /* for the log */
    const char *libssl;    /* the soname the core links to */
    const char *libcrypto;
    const char *core_file; /* beside this object */
} abi_info[ABI_COUNT] = {
    [ABI_3] = { "OpenSSL 3", "libssl.so.3", "libcrypto.so.3", "libautostaple-core.so" },
    [ABI_1_1] = { "OpenSSL 1.1", "libssl.so.1.1", "libcrypto.so.1.1",
                  "libautostaple-core-1.1.so" },
};

/* A family of hooks: the definitions of one symbol version, and the real
 * functions they call, bound once by bind_family. */
enum family_id { FAMILY_3, FAMILY_1_1, FAMILY_COUNT };
struct family {
    const char *version;      /* asked of the real libssl and libcrypto */
    const char *version_111;  /* the same for the 1.1.1 additions */
    enum abi nominal;         /* the ABI its version names */
    pthread_once_t once;
    enum abi abi;             /* what the real SSL_CTX_new's library is */
    int unusable;             /* cannot tell servers from clients */
    int global;               /* every real function found is in the global
                               * scope: every caller binds to it (real_for) */
    struct {
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
    } fn;
    struct as_real ctrl;                 /* handed to the core */
    const SSL_METHOD *client_methods[12]; /* client-only methods */
    /* BIO_new_file, bound on its own: a process may use libcrypto long
     * before it loads libssl. */
    pthread_once_t bio_once;
    BIO *(*BIO_new_file)(const char *, const char *);
    int bio_global;           /* the same, for BIO_new_file */
};
static struct family families[FAMILY_COUNT] = {
    [FAMILY_3] = { .version = "OPENSSL_3.0.0", .version_111 = "OPENSSL_3.0.0",
                   .nominal = ABI_3, .once = PTHREAD_ONCE_INIT,
                   .bio_once = PTHREAD_ONCE_INIT },
    [FAMILY_1_1] = { .version = "OPENSSL_1_1_0", .version_111 = "OPENSSL_1_1_1",
                     .nominal = ABI_1_1, .once = PTHREAD_ONCE_INIT,
                     .bio_once = PTHREAD_ONCE_INIT },
};

/* The cores, one per ABI, each loaded at most once (load_core). */
static struct {
    pthread_once_t once;
    const struct as_core *_Atomic core;
    pthread_once_t refused_once; /* the note that this ABI is left alone */
} cores[ABI_COUNT] = { { PTHREAD_ONCE_INIT, NULL, PTHREAD_ONCE_INIT },
                       { PTHREAD_ONCE_INIT, NULL, PTHREAD_ONCE_INIT } };
static atomic_int process_abi = ABI_UNKNOWN; /* the ABI this process staples */
static __thread struct family *loading_for;  /* load_core's caller's family */

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static int disabled;
static char self_dir[PATH_MAX];
static void *self_base; /* where this object is mapped */
static pthread_once_t self_once = PTHREAD_ONCE_INIT;
static void remember_self(void); /* sets the two above, once */
static __thread int in_shim __attribute__((tls_model("initial-exec")));

/* One line on standard error: "autostaple[PID]: LEVEL: " and FMT, which
 * takes two strings, A and B (B may be ""). */
static void say(const char *level, const char *fmt, const char *a, const char *b)
{
    char msg[PATH_MAX + 256], line[PATH_MAX + 320];
    snprintf(msg, sizeof(msg), fmt, a, b);
    int n = snprintf(line, sizeof(line), "autostaple[%d]: %s: %s\n", (int)getpid(), level, msg);
    if (n > 0)
        (void)!write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void die(const char *what)
{
    say("error", "cannot find the real %s%s; aborting", what, "");
    abort();
}

static void read_env(void)
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
}

/* Is P (a definition) in this object? */
static int ours(const void *p)
{
    Dl_info info;
    return dladdr(p, &info) != 0 && info.dli_fbase == self_base;
}

/* Whether the object defining P has symbol versions: glibc binds a
 * versioned reference to a definition without any (a vendor's libssl
 * built without them), never to one of another version. */
static int versioned(const void *p)
{
    Dl_info info;
    struct link_map *map = NULL;
    if (dladdr1(p, &info, (void **)&map, RTLD_DL_LINKMAP) == 0 || map == NULL)
        return 1;
    for (const ElfW(Dyn) *d = map->l_ld; d != NULL && d->d_tag != DT_NULL; d++)
        if (d->d_tag == DT_VERDEF)
            return 1;
    return 0;
}

/* NAME at VERSION, as a lookup in HANDLE's scope binds it: the versioned
 * definition, or an unversioned one from an object without versions; not
 * one of our hooks. */
static void *lookup_in(void *handle, const char *name, const char *version)
{
    void *p = dlvsym(handle, name, version);
    if (p == NULL && (p = dlsym(handle, name)) != NULL && versioned(p))
        p = NULL;
    return p != NULL && !ours(p) ? p : NULL;
}

/* The definition of NAME at VERSION that a reference to it would bind to
 * without this object: in the global scope after it (*global set to 1);
 * failing that, in SONAME loaded with RTLD_LOCAL (a plugin's libssl, as
 * Python's ssl module loads it), which only that soname's users bind to
 * (*global left alone). */
static void *find_next(const char *name, const char *version, const char *soname, int *global)
{
    void *p = lookup_in(RTLD_NEXT, name, version);
    if (p != NULL) {
        *global = 1;
        return p;
    }
    void *h = dlopen(soname, RTLD_LAZY | RTLD_NOLOAD);
    if (h != NULL) {
        p = lookup_in(h, name, version);
        dlclose(h);
    }
    return p;
}

/* The definition of NAME at VERSION that CALLER (an address in the object
 * that called a hook) binds to: in the caller's own scope, that is, it and
 * its dependencies (a plugin loaded with RTLD_LOCAL, with a libssl of its
 * own).  NULL for the main program or if there is none. */
static void *caller_binds_to(const void *caller, const char *name, const char *version)
{
    Dl_info info;
    struct link_map *map = NULL;
    if (dladdr1(caller, &info, (void **)&map, RTLD_DL_LINKMAP) == 0 || map == NULL ||
        map->l_name == NULL || map->l_name[0] == '\0' || info.dli_fbase == self_base)
        return NULL;
    void *h = dlopen(map->l_name, RTLD_LAZY | RTLD_NOLOAD);
    if (h == NULL)
        return NULL;
    void *p = lookup_in(h, name, version);
    dlclose(h);
    return p;
}

/* The ABI of the OpenSSL that defines FN, from its OpenSSL_version_num. */
static enum abi abi_of(void *fn)
{
    Dl_info info;
    if (fn == NULL || dladdr(fn, &info) == 0 || info.dli_fname == NULL)
        return ABI_UNKNOWN;
    void *h = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    if (h == NULL)
        return ABI_UNKNOWN;
    unsigned long (*num)(void) = (unsigned long (*)(void))dlsym(h, "OpenSSL_version_num");
    unsigned long v = num != NULL ? num() : 0;
    dlclose(h);
    if (v >> 28 == 3)
        return ABI_3;
    if (v >> 20 == 0x101)
        return ABI_1_1;
    return ABI_UNKNOWN;
}

/* Binds one real function of F; F stays global while each found is. */
static void *bind_one(struct family *f, const char *name, const char *version)
{
    int global = 0;
    void *p = find_next(name, version, abi_info[f->nominal].libssl, &global);
    if (p != NULL && !global)
        f->global = 0;
    return p;
}
#define BIND(f, name, version) \
    ((f)->fn.name = (__typeof__((f)->fn.name))bind_one(f, #name, version))
#define BIND_CTRL(f, name) \
    ((f)->ctrl.name = (__typeof__((f)->ctrl.name))bind_one(f, #name, (f)->version))

static void bind_family(struct family *f)
{
    pthread_once(&self_once, remember_self);
    pthread_once(&env_once, read_env);
    f->global = 1;
    BIND(f, SSL_CTX_new, f->version);
    if (f->nominal == ABI_3)
        BIND(f, SSL_CTX_new_ex, f->version);
    BIND(f, SSL_CTX_use_certificate, f->version);
    BIND(f, SSL_CTX_use_certificate_file, f->version);
    BIND(f, SSL_CTX_use_certificate_chain_file, f->version);
    BIND(f, SSL_CTX_use_certificate_ASN1, f->version);
    BIND(f, SSL_use_certificate, f->version);
    BIND(f, SSL_use_certificate_file, f->version);
    BIND(f, SSL_use_certificate_chain_file, f->version);
    BIND(f, SSL_use_certificate_ASN1, f->version);
    BIND(f, SSL_CTX_use_cert_and_key, f->version_111);
    BIND(f, SSL_use_cert_and_key, f->version_111);
    BIND(f, SSL_CTX_get_ssl_method, f->version);
    BIND(f, SSL_get_SSL_CTX, f->version);
    BIND_CTRL(f, SSL_CTX_callback_ctrl);
    BIND_CTRL(f, SSL_CTX_ctrl);
    BIND_CTRL(f, SSL_ctrl);
    f->abi = abi_of((void *)f->fn.SSL_CTX_new);

    static const struct {
        const char *name;
        int since_3_2; /* OpenSSL 3.2 and later: QUIC clients, such as
                        * Debian 13's curl over HTTP/3 (absent before) */
    } getters[] = {
        { "TLS_client_method", 0 },        { "DTLS_client_method", 0 },
        { "TLSv1_2_client_method", 0 },    { "TLSv1_1_client_method", 0 },
        { "TLSv1_client_method", 0 },      { "DTLSv1_2_client_method", 0 },
        { "DTLSv1_client_method", 0 },     { "OSSL_QUIC_client_method", 1 },
        { "OSSL_QUIC_client_thread_method", 1 },
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof(getters) / sizeof(getters[0]); i++) {
        if (getters[i].since_3_2 && f->abi != ABI_3)
            continue;
        const char *version = getters[i].since_3_2 ? "OPENSSL_3.2.0" : f->version;
        int global = 0;
        const SSL_METHOD *(*get)(void) = (const SSL_METHOD *(*)(void))find_next(
            getters[i].name, version, abi_info[f->nominal].libssl, &global);
        if (get != NULL)
            f->client_methods[n++] = get();
    }
    /* Cannot tell servers from clients, or which core to load: stay out of
     * the way. */
    if (f->fn.SSL_CTX_get_ssl_method == NULL || f->fn.SSL_get_SSL_CTX == NULL ||
        f->abi == ABI_UNKNOWN)
        f->unusable = 1;
}

static void bind_family_3(void) { bind_family(&families[FAMILY_3]); }
static void bind_family_1_1(void) { bind_family(&families[FAMILY_1_1]); }

static struct family *bound(enum family_id id)
{
    pthread_once(&families[id].once, id == FAMILY_3 ? bind_family_3 : bind_family_1_1);
    return &families[id];
}

/* The real NAME at VERSION for a call to a hook from CALLER: the one the
 * caller would have bound to without this object.  That is BOUND_FN (the
 * family's, bound on first use) when the family's functions are in the
 * global scope (GLOBAL), which every caller searches first; else the
 * caller's own scope decides (about 0.3 us: only in a process whose
 * OpenSSL is loaded RTLD_LOCAL), and *own says whether it is BOUND_FN, the
 * only kind the hooks act on: a plugin's own copy of OpenSSL is passed
 * through.  Aborts if there is none, as the loader would have at the call
 * (there is nothing sane to return in its place). */
static void *real_for(void *bound_fn, int global, const char *name, const char *version,
                      const void *caller, int *own)
{
    *own = 1;
    if (bound_fn != NULL && global)
        return bound_fn;
    void *p = caller_binds_to(caller, name, version);
    if (p == NULL)
        p = bound_fn;
    if (p == NULL)
        die(name);
    *own = p == bound_fn;
    return p;
}
#define REAL_AT(F, caller, own, field, name, version) \
    ({ struct family *f_ = bound(F); \
       (__typeof__(f_->field))real_for((void *)f_->field, f_->global, #name, version, caller, \
                                        own); })
#define REAL(F, caller, own, name) REAL_AT(F, caller, own, fn.name, name, families[F].version)
#define REAL_111(F, caller, own, name) \
    REAL_AT(F, caller, own, fn.name, name, families[F].version_111)
#define REAL_CTRL(F, caller, own, name) \
    REAL_AT(F, caller, own, ctrl.name, name, families[F].version)

/* Where this object is mapped, and the directory it was loaded from, taken
 * at load time while a relative LD_PRELOAD path still means what it meant;
 * or before, at the first hook's call, if a constructor that runs before
 * ours calls one (a library preloaded after this one is initialized
 * first). */
static void remember_self(void)
{
    Dl_info info;
    if (dladdr((void *)remember_self, &info) == 0 || info.dli_fname == NULL)
        return;
    self_base = info.dli_fbase;
    char buf[PATH_MAX];
    const char *path = info.dli_fname;
    if (path[0] != '/' && realpath(path, buf) != NULL)
        path = buf;
    const char *slash = strrchr(path, '/');
    if (slash != NULL && (size_t)(slash - path) < sizeof(self_dir))
        memcpy(self_dir, path, (size_t)(slash - path));
}
__attribute__((constructor)) static void remember_self_at_load(void)
{
    pthread_once(&self_once, remember_self);
}

/* Whether the libssl and libcrypto a core for F's ABI links to (by soname)
 * are already mapped: else loading the core would map a second OpenSSL
 * beside the program's (a vendor's copy under another name), and hand the
 * program's objects to it.  (Not whether F's real functions are that
 * libssl's own: another preloaded library may interpose them.) */
static int core_would_share_openssl(const struct family *f)
{
    const char *names[] = { abi_info[f->abi].libssl, abi_info[f->abi].libcrypto };
    for (size_t i = 0; i < 2; i++) {
        void *h = dlopen(names[i], RTLD_LAZY | RTLD_NOLOAD);
        if (h == NULL)
            return 0;
        dlclose(h);
    }
    return 1;
}

/* Loads the core for loading_for's ABI: run under that ABI's once (the
 * same function for both; loading_for says which). */
static void load_core(void)
{
    const struct family *f = loading_for;
    char path[PATH_MAX + 32];
    const char *override = f->abi == ABI_3 ? getenv("AUTOSTAPLE_CORE") : NULL;
    if (override != NULL && override[0] != '\0')
        snprintf(path, sizeof(path), "%s", override);
    else
        snprintf(path, sizeof(path), "%s/%s", self_dir, abi_info[f->abi].core_file);

    if (!core_would_share_openssl(f)) {
        say("error", "this program's %s is not %s, the one its core links to; stapling disabled",
            abi_info[f->abi].label, abi_info[f->abi].libssl);
        return;
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    as_core_init_fn init = h != NULL ? (as_core_init_fn)dlsym(h, "as_core_init") : NULL;
    const struct as_core *c = init != NULL ? init(&f->ctrl) : NULL;
    if (c == NULL || c->abi != AS_BOUNDARY_ABI) {
        say("error", "cannot load %s (%s); stapling disabled", path,
            h == NULL ? dlerror() : "bad core");
        return;
    }
    atomic_store_explicit(&cores[f->abi].core, c, memory_order_release);
}

static enum abi refused_abi; /* read by note_refused, under its once */
static void note_refused(void)
{
    enum abi other = refused_abi == ABI_3 ? ABI_1_1 : ABI_3;
    say("warning", "this process serves TLS through both %s and %s: only the contexts of the "
                   "first it set up are stapled",
        abi_info[other].label, abi_info[refused_abi].label);
}

static int client_only(const struct family *f, const SSL_CTX *ctx)
{
    const SSL_METHOD *m = f->fn.SSL_CTX_get_ssl_method(ctx);
    for (size_t i = 0; i < sizeof(f->client_methods) / sizeof(f->client_methods[0]); i++)
        if (f->client_methods[i] != NULL && f->client_methods[i] == m)
            return 1;
    return 0;
}

/* The core, if this context (of family F, bound) is one we act on; loads
 * the core of its ABI on first use, if this process staples that ABI. */
static const struct as_core *core_for(enum family_id id, const SSL_CTX *ctx)
{
    struct family *f = &families[id];
    if (disabled || in_shim || ctx == NULL || f->unusable || client_only(f, ctx))
        return NULL;
    int want = f->abi, held = atomic_load_explicit(&process_abi, memory_order_acquire);
    if (held != want && (held != ABI_UNKNOWN ||
                         (!atomic_compare_exchange_strong(&process_abi, &held, want) &&
                          held != want))) {
        refused_abi = (enum abi)want; /* same value from every thread */
        pthread_once(&cores[want].refused_once, note_refused);
        return NULL;
    }
    loading_for = f;
    pthread_once(&cores[want].once, load_core);
    return atomic_load_explicit(&cores[want].core, memory_order_acquire);
}

static const struct as_core *core_for_ssl(enum family_id id, const SSL *ssl)
{
    return ssl == NULL || families[id].unusable
               ? NULL
               : core_for(id, families[id].fn.SSL_get_SSL_CTX(ssl));
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

static void bind_bio(struct family *f)
{
    pthread_once(&self_once, remember_self);
    f->BIO_new_file = (BIO * (*)(const char *, const char *))
        find_next("BIO_new_file", f->version, abi_info[f->nominal].libcrypto, &f->bio_global);
}
static void bind_bio_3(void) { bind_bio(&families[FAMILY_3]); }
static void bind_bio_1_1(void) { bind_bio(&families[FAMILY_1_1]); }

/* ------------------------------------------------------------------------
 * The hooks.  HOOK(ret, name, params, args) defines name_3 and name_1_1,
 * exported as name@@OPENSSL_3.0.0 and name@OPENSSL_1_1_0, each calling
 * hook_name(family, caller, args...), written once below (caller: the
 * return address, in the object that called; see real_for).  HOOK_111
 * exports the 1.1 one as name@OPENSSL_1_1_1 (a call 1.1.1 added); HOOK_3
 * defines the OpenSSL 3 one only.
 * ------------------------------------------------------------------------ */
#define ARGS(...) __VA_ARGS__
#define HOOK_ONE(ret, name, params, args, suffix, id, at) \
    __asm__(".symver " #name "_" #suffix ", " #name at); \
    AS_EXPORT ret name##_##suffix params; \
    AS_EXPORT ret name##_##suffix params \
    { \
        return hook_##name(id, __builtin_return_address(0), ARGS args); \
    }
#define HOOK_3(ret, name, params, args) \
    HOOK_ONE(ret, name, params, args, 3, FAMILY_3, "@@OPENSSL_3.0.0")
#define HOOK(ret, name, params, args) \
    HOOK_3(ret, name, params, args) \
    HOOK_ONE(ret, name, params, args, 1_1, FAMILY_1_1, "@OPENSSL_1_1_0")
#define HOOK_111(ret, name, params, args) \
    HOOK_3(ret, name, params, args) \
    HOOK_ONE(ret, name, params, args, 1_1, FAMILY_1_1, "@OPENSSL_1_1_1")

static BIO *hook_BIO_new_file(enum family_id id, const void *caller, const char *file,
                              const char *mode)
{
    struct family *f = &families[id];
    pthread_once(&f->bio_once, id == FAMILY_3 ? bind_bio_3 : bind_bio_1_1);
    int own;
    BIO *(*real)(const char *, const char *) = (BIO * (*)(const char *, const char *))
        real_for((void *)f->BIO_new_file, f->bio_global, "BIO_new_file", f->version, caller, &own);
    BIO *b = real(file, mode);
    if (b != NULL && own && !in_shim && file != NULL && mode != NULL && mode[0] == 'r')
        remember_opened(file);
    return b;
}
HOOK(BIO *, BIO_new_file, (const char *file, const char *mode), (file, mode))

static SSL_CTX *hook_SSL_CTX_new_ex(enum family_id id, const void *caller, OSSL_LIB_CTX *libctx,
                                    const char *propq, const SSL_METHOD *meth)
{
    int own;
    SSL_CTX *ctx = REAL(id, caller, &own, SSL_CTX_new_ex)(libctx, propq, meth);
    const struct as_core *c = own ? core_for(id, ctx) : NULL;
    if (c != NULL)
        TELL(c, ctx_new(ctx));
    return ctx;
}
HOOK_3(SSL_CTX *, SSL_CTX_new_ex, (OSSL_LIB_CTX *libctx, const char *propq, const SSL_METHOD *meth),
       (libctx, propq, meth))

static SSL_CTX *hook_SSL_CTX_new(enum family_id id, const void *caller, const SSL_METHOD *meth)
{
    /* libssl may reach SSL_CTX_new_ex above through its PLT: ctx_new is
     * idempotent. */
    int own;
    SSL_CTX *ctx = REAL(id, caller, &own, SSL_CTX_new)(meth);
    const struct as_core *c = own ? core_for(id, ctx) : NULL;
    if (c != NULL)
        TELL(c, ctx_new(ctx));
    return ctx;
}
HOOK(SSL_CTX *, SSL_CTX_new, (const SSL_METHOD *meth), (meth))

static long hook_SSL_CTX_callback_ctrl(enum family_id id, const void *caller, SSL_CTX *ctx, int cmd,
                                       void (*fp)(void))
{
    int own;
    long (*real)(SSL_CTX *, int, void (*)(void)) =
        REAL_CTRL(id, caller, &own, SSL_CTX_callback_ctrl);
    const struct as_core *c;
    if (cmd == SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB && own && (c = core_for(id, ctx)) != NULL) {
        in_shim = 1;
        int taken = c->status_cb_set(ctx, fp);
        in_shim = 0;
        if (taken)
            return 1;
    }
    return real(ctx, cmd, fp);
}
HOOK(long, SSL_CTX_callback_ctrl, (SSL_CTX *ctx, int cmd, void (*fp)(void)), (ctx, cmd, fp))

static long hook_SSL_CTX_ctrl(enum family_id id, const void *caller, SSL_CTX *ctx, int cmd,
                              long larg, void *parg)
{
    int own;
    long (*real)(SSL_CTX *, int, long, void *) = REAL_CTRL(id, caller, &own, SSL_CTX_ctrl);
    const struct as_core *c;
    if (!own)
        return real(ctx, cmd, larg, parg);

    switch (cmd) {
    case SSL_CTRL_GET_TLSEXT_STATUS_REQ_CB:
        if (parg != NULL && (c = core_for(id, ctx)) != NULL) {
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
        if (rc > 0 && parg != NULL && (c = core_for(id, ctx)) != NULL) {
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
HOOK(long, SSL_CTX_ctrl, (SSL_CTX *ctx, int cmd, long larg, void *parg), (ctx, cmd, larg, parg))

static long hook_SSL_ctrl(enum family_id id, const void *caller, SSL *ssl, int cmd, long larg,
                          void *parg)
{
    int own;
    long (*real)(SSL *, int, long, void *) = REAL_CTRL(id, caller, &own, SSL_ctrl);
    if (!own || (cmd != SSL_CTRL_CHAIN_CERT && cmd != SSL_CTRL_CHAIN))
        return real(ssl, cmd, larg, parg);
    long rc = real(ssl, cmd, larg, parg);
    const struct as_core *c;
    if (rc > 0 && parg != NULL && (c = core_for_ssl(id, ssl)) != NULL) {
        if (cmd == SSL_CTRL_CHAIN)
            TELL(c, chain_stack((STACK_OF(X509) *)parg));
        else
            TELL(c, chain_cert((X509 *)parg));
    }
    return rc;
}
HOOK(long, SSL_ctrl, (SSL *ssl, int cmd, long larg, void *parg), (ssl, cmd, larg, parg))

/* The certificate-loading hooks: real call, then tell the core where the
 * certificate may have come from (file: the *_file argument, or NULL). */
#define CTX_LOAD_HOOK(hook, real, name, params, args, file) \
    static int hook_##name(enum family_id id, const void *caller, ARGS params) \
    { \
        int own; \
        int rc = real(id, caller, &own, name) args; \
        const struct as_core *c; \
        if (rc == 1 && own && (c = core_for(id, ctx)) != NULL) { \
            struct as_cert_source src = source_of(file); \
            TELL(c, ctx_loaded(ctx, &src)); \
        } \
        return rc; \
    } \
    hook(int, name, params, args)
#define SSL_LOAD_HOOK(hook, real, name, params, args, file) \
    static int hook_##name(enum family_id id, const void *caller, ARGS params) \
    { \
        int own; \
        int rc = real(id, caller, &own, name) args; \
        const struct as_core *c; \
        if (rc == 1 && own && (c = core_for_ssl(id, ssl)) != NULL) { \
            struct as_cert_source src = source_of(file); \
            TELL(c, ssl_loaded(ssl, &src)); \
        } \
        return rc; \
    } \
    hook(int, name, params, args)

CTX_LOAD_HOOK(HOOK, REAL, SSL_CTX_use_certificate, (SSL_CTX *ctx, X509 *x), (ctx, x), NULL)
CTX_LOAD_HOOK(HOOK, REAL, SSL_CTX_use_certificate_file, (SSL_CTX *ctx, const char *file, int type),
              (ctx, file, type), file)
CTX_LOAD_HOOK(HOOK, REAL, SSL_CTX_use_certificate_chain_file, (SSL_CTX *ctx, const char *file),
              (ctx, file), file)
CTX_LOAD_HOOK(HOOK, REAL, SSL_CTX_use_certificate_ASN1,
              (SSL_CTX *ctx, int len, const unsigned char *d), (ctx, len, d), NULL)
SSL_LOAD_HOOK(HOOK, REAL, SSL_use_certificate, (SSL *ssl, X509 *x), (ssl, x), NULL)
SSL_LOAD_HOOK(HOOK, REAL, SSL_use_certificate_file, (SSL *ssl, const char *file, int type),
              (ssl, file, type), file)
SSL_LOAD_HOOK(HOOK, REAL, SSL_use_certificate_chain_file, (SSL *ssl, const char *file), (ssl, file),
              file)
SSL_LOAD_HOOK(HOOK, REAL, SSL_use_certificate_ASN1, (SSL *ssl, const unsigned char *d, int len),
              (ssl, d, len), NULL)
/* (OpenSSL 1.1.1 and later: certificate, key and chain in one call, which
 * calls none of the functions above inside libssl.) */
CTX_LOAD_HOOK(HOOK_111, REAL_111, SSL_CTX_use_cert_and_key,
              (SSL_CTX *ctx, X509 *x, EVP_PKEY *key, STACK_OF(X509) *chain, int override),
              (ctx, x, key, chain, override), NULL)
SSL_LOAD_HOOK(HOOK_111, REAL_111, SSL_use_cert_and_key,
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
    int abi = atomic_load_explicit(&process_abi, memory_order_acquire);
    const struct as_core *c =
        abi == ABI_UNKNOWN ? NULL : atomic_load_explicit(&cores[abi].core, memory_order_acquire);
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
