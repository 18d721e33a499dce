/* fetch.c: see fetch.h.  AUTOSTAPLE_PROXY, else libcurl's usual proxy
 * variables, choose the proxy. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/opensslv.h>

#include "config.h"
#include "fetch.h"
#include "log.h"
#include "sanitized.h"

#define AS_USER_AGENT "autostaple/" AS_VERSION

/* How long one wait on the network lasts before the stop flag is looked at
 * again: an exiting process is not held up longer than this. */
#define POLL_SLICE_MS 100

_Static_assert(sizeof(((struct as_http *)0)->detail) >= CURL_ERROR_SIZE,
               "as_http.detail holds libcurl's error buffer");

static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_perform)(CURLM *, int *);
    CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    CURLMcode (*multi_cleanup)(CURLM *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} curl;
static int curl_ready;
static void (*wait_begins)(void), (*wait_ends)(void);

void as_fetch_set_wait_hooks(void (*begins)(void), void (*ends)(void))
{
    wait_begins = begins;
    wait_ends = ends;
}
static char curl_failure[256];

/* Whether the program's OpenSSL is in the global scope without symbol
 * versions (a vendor's build): its OPENSSL_init_ssl is there, but not at
 * the version this core's OpenSSL names (dlvsym matches no unversioned
 * definition).  glibc binds a versioned reference to an unversioned
 * definition, whatever the version asked: libcurl's references, made for
 * the OpenSSL libcurl links to (3 on Debian 12, even in the 1.1 core),
 * would go to the program's, an ABI libcurl was not built for (an https
 * fetch crashed).  Its own dependencies must come first for it then. */
static int program_openssl_unversioned(void)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    const char *version = "OPENSSL_3.0.0";
#else
    const char *version = "OPENSSL_1_1_0";
#endif
    return dlsym(RTLD_DEFAULT, "OPENSSL_init_ssl") != NULL &&
           dlvsym(RTLD_DEFAULT, "OPENSSL_init_ssl", version) == NULL;
}

static void load_curl(void)
{
    /* RTLD_DEEPBIND: libcurl and its dependencies bind to their own first.
     * Only where needed (it also bypasses a malloc the program
     * interposes, harmlessly: libcurl frees what it allocates), and not in
     * a sanitized build, whose runtime refuses it (there an unversioned
     * OpenSSL program fetches over http only). */
    int deep = program_openssl_unversioned() && !AS_SANITIZED ? RTLD_DEEPBIND : 0;
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL | deep);
    if (h == NULL) {
        snprintf(curl_failure, sizeof(curl_failure), "cannot load libcurl: %s", dlerror());
        return;
    }
#define SYM(field, name) (*(void **)&curl.field = dlsym(h, name))
    if (!SYM(global_init, "curl_global_init") || !SYM(easy_init, "curl_easy_init") ||
        !SYM(easy_setopt, "curl_easy_setopt") || !SYM(easy_perform, "curl_easy_perform") ||
        !SYM(easy_getinfo, "curl_easy_getinfo") || !SYM(easy_cleanup, "curl_easy_cleanup") ||
        !SYM(easy_strerror, "curl_easy_strerror") || !SYM(slist_append, "curl_slist_append") ||
        !SYM(slist_free_all, "curl_slist_free_all") || !SYM(multi_init, "curl_multi_init") ||
        !SYM(multi_add_handle, "curl_multi_add_handle") ||
        !SYM(multi_remove_handle, "curl_multi_remove_handle") ||
        !SYM(multi_perform, "curl_multi_perform") || !SYM(multi_poll, "curl_multi_poll") ||
        !SYM(multi_info_read, "curl_multi_info_read") ||
        !SYM(multi_cleanup, "curl_multi_cleanup")) {
        snprintf(curl_failure, sizeof(curl_failure), "libcurl lacks a needed function");
        return;
    }
#undef SYM
    if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(curl_failure, sizeof(curl_failure), "curl_global_init failed");
        return;
    }
    curl_ready = 1;
}

/* The sockets of the exchanges under way (fd + 1; 0: a free place).  A
 * fork copies them into the child, where no thread of ours carries the
 * exchange on: held open there, a connection would outlive the parent's
 * end of it, and a responder that serves one connection at a time would
 * wait on it for as long as the child lives.  as_fetch_child closes them.
 * libcurl opens and closes them in a step of the exchange, which never
 * overlaps a fork (the fork guard), so the child's copy of this table and
 * of its descriptors agree. */
#define MAX_SOCKETS 256
static atomic_int open_sockets[MAX_SOCKETS];

/* Every socket libcurl opens for us is close-on-exec from its creation: a
 * program the server executes meanwhile (a CGI, a piped logger) must not
 * inherit the connection to the responder.  And it is noted, for a fork. */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
    (void)arg;
    (void)purpose;
    int fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    for (int i = 0; fd >= 0 && i < MAX_SOCKETS; i++) {
        int none = 0;
        if (atomic_compare_exchange_strong(&open_sockets[i], &none, fd + 1))
            break;
    }
    return fd >= 0 ? fd : CURL_SOCKET_BAD;
}

static int close_socket(void *arg, curl_socket_t fd)
{
    (void)arg;
    for (int i = 0; i < MAX_SOCKETS; i++) {
        int mine = fd + 1;
        if (atomic_compare_exchange_strong(&open_sockets[i], &mine, 0))
            break;
    }
    return close(fd);
}

void as_fetch_child(void)
{
    for (int i = 0; i < MAX_SOCKETS; i++) {
        int fd = atomic_exchange(&open_sockets[i], 0);
        if (fd > 0)
            close(fd - 1);
    }
}

struct sink {
    struct as_http *res;
    size_t cap;
    int too_big;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t add = size * n;
    if (s->res->len + add > s->cap) {
        s->too_big = 1;
        return 0; /* aborts the transfer */
    }
    unsigned char *grown = realloc(s->res->body, s->res->len + add + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + s->res->len, data, add);
    s->res->body = grown;
    s->res->len += add;
    return add;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a; (void)b; (void)c; (void)d;
    return atomic_load((const atomic_int *)arg) != 0; /* non-zero aborts */
}

/* Runs the exchange on h step by step: libcurl works (inside OpenSSL, the
 * loader, the allocator) only within multi_perform; between steps this
 * thread only waits in poll(2), and the wait hooks say so, whatever the
 * scheme.  Each wait lasts POLL_SLICE_MS at most, so that *stop is seen. */
static CURLcode perform(CURL *h, const atomic_int *stop)
{
    CURLM *m = curl.multi_init();
    if (m == NULL)
        return CURLE_OUT_OF_MEMORY;
    CURLcode rc = CURLE_ABORTED_BY_CALLBACK;
    int running = 1, left;
    if (curl.multi_add_handle(m, h) != CURLM_OK) {
        curl.multi_cleanup(m);
        return CURLE_OUT_OF_MEMORY;
    }
    while (!atomic_load(stop)) {
        if (curl.multi_perform(m, &running) != CURLM_OK) {
            rc = CURLE_RECV_ERROR;
            break;
        }
        CURLMsg *msg = curl.multi_info_read(m, &left);
        if (msg != NULL && msg->msg == CURLMSG_DONE) {
            rc = msg->data.result;
            break;
        }
        if (!running)
            break; /* not reached: a transfer that ends reports CURLMSG_DONE */
        if (wait_begins != NULL)
            wait_begins();
        curl.multi_poll(m, NULL, 0, POLL_SLICE_MS, NULL);
        if (wait_ends != NULL)
            wait_ends();
    }
    curl.multi_remove_handle(m, h);
    curl.multi_cleanup(m);
    return rc;
}

const char *const as_fetch_failure_name[AS_FETCH_FAILURE_COUNT] = {
    [AS_FETCH_ANSWERED] = "answered",
    [AS_FETCH_NO_CONNECTION] = "no connection",
    [AS_FETCH_TIMED_OUT] = "timed out",
    [AS_FETCH_TOO_LARGE] = "answer too large",
    [AS_FETCH_STOPPED] = "stopped",
    [AS_FETCH_BROKEN] = "failed",
};

int as_fetch(const char *url, const unsigned char *post, size_t postlen,
             const char *content_type, size_t cap, long timeout,
             const atomic_int *stop, struct as_http *res)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    memset(res, 0, sizeof(*res));
    pthread_once(&once, load_curl);
    if (!curl_ready) {
        res->failure = AS_FETCH_BROKEN;
        snprintf(res->error, sizeof(res->error), "%s", curl_failure);
        return 0;
    }
    CURL *h = curl.easy_init();
    if (h == NULL) {
        res->failure = AS_FETCH_BROKEN;
        snprintf(res->error, sizeof(res->error), "curl_easy_init failed");
        return 0;
    }
    struct sink sink = { res, cap, 0 };
    struct curl_slist *headers = NULL;
    char ctype[128];

    curl.easy_setopt(h, CURLOPT_URL, url);
    curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl.easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
    curl.easy_setopt(h, CURLOPT_TIMEOUT, timeout);
    curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout);
    curl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl.easy_setopt(h, CURLOPT_MAXFILESIZE, (long)cap);
    curl.easy_setopt(h, CURLOPT_USERAGENT, AS_USER_AGENT);
    curl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl.easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl.easy_setopt(h, CURLOPT_XFERINFODATA, (void *)stop);
    curl.easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl.easy_setopt(h, CURLOPT_ERRORBUFFER, res->detail); /* CURL_ERROR_SIZE bytes */
    /* AUTOSTAPLE_PROXY: the library's own proxy, whatever the server's
     * http_proxy says; "direct": none at all.  Unset, libcurl's variables
     * (http_proxy, https_proxy, no_proxy) apply. */
    if (strcasecmp(as_config()->proxy, "direct") == 0) {
        curl.easy_setopt(h, CURLOPT_PROXY, "");
    } else if (as_config()->proxy[0] != '\0') {
        curl.easy_setopt(h, CURLOPT_PROXY, as_config()->proxy);
        curl.easy_setopt(h, CURLOPT_NOPROXY, "");
    }
    if (post != NULL) {
        snprintf(ctype, sizeof(ctype), "Content-Type: %s", content_type);
        headers = curl.slist_append(NULL, ctype);
        curl.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl.easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)post);
        curl.easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)postlen);
    }

    CURLcode rc = perform(h, stop);
    curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->code);
    const char *type = NULL;
    if (curl.easy_getinfo(h, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type != NULL)
        snprintf(res->content_type, sizeof(res->content_type), "%s", type);
    int ok = rc == CURLE_OK;
    if (!ok) {
        curl.easy_getinfo(h, CURLINFO_OS_ERRNO, &res->os_errno);
        if (sink.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
            res->failure = AS_FETCH_TOO_LARGE;
            snprintf(res->error, sizeof(res->error), "response larger than %zu bytes", cap);
        } else if (atomic_load(stop)) {
            res->failure = AS_FETCH_STOPPED;
            snprintf(res->error, sizeof(res->error), "stopped");
        } else {
            res->failure = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                                   rc == CURLE_COULDNT_RESOLVE_PROXY ? AS_FETCH_NO_CONNECTION
                           : rc == CURLE_OPERATION_TIMEDOUT       ? AS_FETCH_TIMED_OUT
                                                                  : AS_FETCH_BROKEN;
            snprintf(res->error, sizeof(res->error), "%s", curl.easy_strerror(rc));
        }
        free(res->body);
        res->body = NULL;
        res->len = 0;
    }
    curl.slist_free_all(headers);
    curl.easy_cleanup(h);
    return ok;
}

int as_fetch_ocsp(const char *responder, const char *get_url, const unsigned char *req,
                  size_t reqlen, long timeout, const atomic_int *stop, struct as_http *res)
{
    size_t cap = (size_t)as_config()->max_response;
    if (get_url != NULL)
        return as_fetch(get_url, NULL, 0, NULL, cap, timeout, stop, res);
    return as_fetch(responder, req, reqlen, "application/ocsp-request", cap, timeout, stop, res);
}
