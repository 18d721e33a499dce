/*
 * The contract between libautostaple.so (preload.c: the hooks, linked to
 * nothing but libc) and libautostaple-core.so (everything else, linked to
 * libssl and libcrypto), which preload.c dlopen()s the first time a
 * server-capable SSL_CTX appears.  Keeping the hooks in an object with no
 * OpenSSL dependency means a process that never uses OpenSSL as a server
 * maps nothing more than this small file.
 */
#ifndef AS_BOUNDARY_H
#define AS_BOUNDARY_H

#include <openssl/ssl.h>

#define AS_BOUNDARY_ABI 5

/* The real OpenSSL functions, resolved by preload.c.  The core calls these
 * rather than the public names, which would come back through the hooks. */
struct as_real {
    long (*SSL_CTX_callback_ctrl)(SSL_CTX *, int, void (*)(void));
    long (*SSL_CTX_ctrl)(SSL_CTX *, int, long, void *);
    long (*SSL_ctrl)(SSL *, int, long, void *);
};

/* Where a certificate may have come from, for its response file
 * ("<file>.ocsp", ocsp_file.h).  named: the file a *_file call was given, or
 * NULL.  recent: the files the calling thread opened for reading through
 * BIO_new_file since its last certificate load (at most AS_RECENT_FILES,
 * most recent first): a guess, for servers that read the PEM themselves.
 * The strings are the caller's, valid during the call. */
#define AS_RECENT_FILES 8
struct as_cert_source {
    const char *named;
    const char *recent[AS_RECENT_FILES];
    int nrecent;
};

/* What the hooks tell the core.  Every function is called after the real
 * call succeeded, on the caller's thread, never re-entrantly. */
struct as_core {
    int abi;
    /* A context that is not client-only was created. */
    void (*ctx_new)(SSL_CTX *ctx);
    /* The context's current certificate (and chain) changed. */
    void (*ctx_loaded)(SSL_CTX *ctx, const struct as_cert_source *src);
    /* A connection's own certificate (and chain) changed. */
    void (*ssl_loaded)(SSL *ssl, const struct as_cert_source *src);
    /* A certificate was added to a chain or to the extra chain. */
    void (*chain_cert)(X509 *x);
    /* A whole chain was set. */
    void (*chain_stack)(STACK_OF(X509) *chain);
    /* The application sets its own status callback (fp may be NULL).
     * Returns 1 if the core took it (ours stays installed and calls the
     * application's first), 0 if the call should go to OpenSSL as is. */
    int (*status_cb_set)(SSL_CTX *ctx, void (*fp)(void));
    /* The application asks for its status callback: returns 1 and sets *fp
     * if the core holds it for this context. */
    int (*status_cb_get)(SSL_CTX *ctx, void (**fp)(void));
    /* The process accepts a connection for the first time: it is done
     * loading and serves.  May wait (bounded); never called on a handshake.
     * (Not at listen: a configuration test, nginx -t, listens and exits,
     * and must not wait.) */
    void (*before_serving)(void);
    /* The process is about to give up rights (set*id, setgroups, chroot).
     * May wait (bounded). */
    void (*before_dropping_rights)(void);
    /* The process is about to listen on a socket.  Never waits long. */
    void (*listening)(void);
    /* The process became a session leader (setsid): it daemonizes. */
    void (*session_started)(void);
    /* The process is about to exec another program (or itself again):
     * program is its path or name as given, or "a program by descriptor". */
    void (*before_exec)(const char *program);
};

typedef const struct as_core *(*as_core_init_fn)(const struct as_real *real);

/* Exported by libautostaple-core.so, called once. */
const struct as_core *as_core_init(const struct as_real *real);

#endif
