/* fetch.h: one HTTP exchange through libcurl, loaded with dlopen on first
 * use so that processes with nothing to fetch never map it.  Refresher
 * thread only. */
#ifndef AS_FETCH_H
#define AS_FETCH_H

#include <stdatomic.h>
#include <stddef.h>

/* How an exchange failed (as_http.failure); the name of each in
 * as_fetch_failure_name. */
enum as_fetch_failure {
    AS_FETCH_ANSWERED = 0,    /* an HTTP answer came, whatever its status */
    AS_FETCH_NO_CONNECTION,   /* refused, unreachable, a name not resolved */
    AS_FETCH_TIMED_OUT,       /* the timeout was reached */
    AS_FETCH_TOO_LARGE,       /* the answer went past the cap */
    AS_FETCH_STOPPED,         /* *stop turned non-zero */
    AS_FETCH_BROKEN,          /* any other transport error */
    AS_FETCH_FAILURE_COUNT
};
extern const char *const as_fetch_failure_name[AS_FETCH_FAILURE_COUNT];

struct as_http {
    long code;             /* HTTP status, 0 if none */
    unsigned char *body;   /* malloc'd, NULL if none; caller frees */
    size_t len;
    char content_type[128]; /* the answer's Content-Type, "" if none */
    char error[256];       /* why the exchange failed, if it did */
    char detail[256];      /* libcurl's own words on it, "" if none */
    long os_errno;         /* errno of a failed connection, 0 if none */
    enum as_fetch_failure failure;
};

/* Called around every wait on the network (neither may be NULL, or both
 * are): the refresher lets go of its fork guard there (refresher.h).  Set
 * once, before the first fetch; none by default. */
void as_fetch_set_wait_hooks(void (*begins)(void), void (*ends)(void));

/* GET url (post == NULL) or POST post as content_type.  The body is refused
 * past cap bytes while reading; the whole exchange is bounded by timeout
 * seconds, and by *stop turning non-zero.  Returns 1 if an HTTP answer came
 * (any status), 0 otherwise (res->error says why). */
int as_fetch(const char *url, const unsigned char *post, size_t postlen,
             const char *content_type, size_t cap, long timeout,
             const atomic_int *stop, struct as_http *res);

/* One OCSP exchange: GET get_url if it is not NULL (as_ocsp_get_url made it
 * from responder and req), else POST req (DER, reqlen bytes) to responder;
 * answers past AUTOSTAPLE_MAX_RESPONSE bytes are refused.  As as_fetch. */
int as_fetch_ocsp(const char *responder, const char *get_url, const unsigned char *req,
                  size_t reqlen, long timeout, const atomic_int *stop, struct as_http *res);

/* pthread_atfork child handler (core.c): closes the child's copies of the
 * sockets of exchanges under way in the parent (no thread carries them on
 * here), so that they do not hold the parent's connections open. */
void as_fetch_child(void);

#endif
