/*
 * tls_plugin.so: a plugin that serves TLS through its own OpenSSL, for a
 * process that maps two (tests/openssl11/25-two-openssls.t).  Built twice:
 * against OpenSSL 3 (tls_plugin-3.so) and against 1.1.1
 * (tls_plugin-1.1.so), and preloaded after the library into a server built
 * against the other.  It sets up a server context for TLS_PLUGIN_CERT
 * (leaf and chain, PEM) and TLS_PLUGIN_KEY through the hooked calls:
 *   TLS_PLUGIN_WHEN=first  in its constructor, before the program's main;
 *   TLS_PLUGIN_WHEN=later  in a thread of its own, TLS_PLUGIN_DELAY seconds
 *                          (default 2) after the program started.
 * Then it writes "tls_plugin: context ready (VERSION)" to standard error.
 * The context is kept for the life of the process.
 */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static SSL_CTX *kept;

static void set_up(void)
{
    const char *cert = getenv("TLS_PLUGIN_CERT"), *key = getenv("TLS_PLUGIN_KEY");
    if (cert == NULL || key == NULL) {
        fprintf(stderr, "tls_plugin: TLS_PLUGIN_CERT and TLS_PLUGIN_KEY are needed\n");
        return;
    }
    kept = SSL_CTX_new(TLS_server_method());
    if (kept == NULL || SSL_CTX_use_certificate_chain_file(kept, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(kept, key, SSL_FILETYPE_PEM) != 1) {
        fprintf(stderr, "tls_plugin: cannot set up a context for %s\n", cert);
        ERR_print_errors_fp(stderr);
        return;
    }
    fprintf(stderr, "tls_plugin: context ready (%s)\n", OpenSSL_version(OPENSSL_VERSION));
}

static void *later(void *arg)
{
    (void)arg;
    const char *d = getenv("TLS_PLUGIN_DELAY");
    sleep(d != NULL ? (unsigned)atoi(d) : 2);
    set_up();
    return NULL;
}

__attribute__((constructor)) static void plugin_start(void)
{
    const char *when = getenv("TLS_PLUGIN_WHEN");
    if (when == NULL || strcmp(when, "first") == 0) {
        set_up();
    } else {
        pthread_t t;
        if (pthread_create(&t, NULL, later, NULL) == 0)
            pthread_detach(t);
    }
}
