/* ocsp_file.c: see ocsp_file.h.  A certificate's files are a list that only
 * grows: a node is prepended under the registry lock and published with
 * release order, so the loading threads can look for a name without the
 * lock; a node's path never changes, and its guessed flag only drops to 0.
 * The rest of a node belongs to the refresher thread that has the
 * certificate taken. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certs.h"
#include "config.h"
#include "log.h"
#include "ocsp_file.h"
#include "small_file.h"

#define MAX_FILES 8              /* response files remembered per certificate */
#define MAX_CERT_FILE (1L << 20) /* a certificate file read to confirm a guess */
#define SUFFIX ".ocsp"

struct as_ocsp_file {
    struct as_ocsp_file *next;
    atomic_int guessed;          /* from the files opened before the load: unconfirmed */
    /* Refresher thread only. */
    int holds_leaf;              /* guessed: 1 its certificate file holds the leaf, -1 not */
    int looked;                  /* the fields below describe the last look */
    int err;                     /* stat's errno then, 0 if it was there */
    dev_t dev;
    ino_t ino;
    mode_t mode;
    off_t size;
    struct timespec mtime;
    size_t stem;                 /* length of the certificate file's name in path */
    char path[];                 /* "<certificate file>.ocsp", absolute */
};

static struct as_ocsp_file *first(struct as_cert *c)
{
    return atomic_load_explicit(&c->ocsp_files, memory_order_acquire);
}

/* Remember file + ".ocsp" for c; guessed: file is only a guess. */
static void add(struct as_cert *c, const char *file, int guessed)
{
    char path[PATH_MAX + sizeof(SUFFIX)], cwd[PATH_MAX];
    int n;
    if (file[0] == '/')
        n = snprintf(path, sizeof(path), "%s%s", file, SUFFIX);
    else if (getcwd(cwd, sizeof(cwd)) != NULL)
        n = snprintf(path, sizeof(path), "%s/%s%s", cwd, file, SUFFIX);
    else
        return;
    if (n <= 0 || (size_t)n >= sizeof(path))
        return;

    /* Already known (a certificate loaded per connection comes here on every
     * connection): no lock. */
    for (struct as_ocsp_file *f = first(c); f != NULL; f = f->next)
        if (strcmp(f->path, path) == 0 && (guessed || !atomic_load(&f->guessed)))
            return;

    as_registry_lock();
    int count = 0;
    struct as_ocsp_file *f;
    for (f = first(c); f != NULL; f = f->next, count++)
        if (strcmp(f->path, path) == 0)
            break;
    if (f != NULL) {
        if (!guessed)
            atomic_store(&f->guessed, 0); /* named by the server itself now */
    } else if (count < MAX_FILES && (f = calloc(1, sizeof(*f) + (size_t)n + 1)) != NULL) {
        memcpy(f->path, path, (size_t)n + 1);
        f->stem = (size_t)n - strlen(SUFFIX);
        atomic_init(&f->guessed, guessed);
        f->next = first(c);
        atomic_store_explicit(&c->ocsp_files, f, memory_order_release);
    }
    as_registry_unlock();
}

void as_ocsp_file_note(struct as_cert *c, const struct as_cert_source *src)
{
    if (c == NULL || src == NULL || !as_config()->ocsp_files)
        return;
    if (src->named != NULL && src->named[0] != '\0')
        add(c, src->named, 0);
    for (int i = 0; i < src->nrecent && i < AS_RECENT_FILES; i++)
        if (src->recent[i] != NULL && src->recent[i][0] != '\0' &&
            (src->named == NULL || strcmp(src->recent[i], src->named) != 0))
            add(c, src->recent[i], 1);
}

int as_ocsp_file_count(struct as_cert *c)
{
    int n = 0;
    for (struct as_ocsp_file *f = first(c); f != NULL; f = f->next)
        n++;
    return n;
}

static void refuse(const struct as_cert *c, const struct as_ocsp_file *f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void refuse(const struct as_cert *c, const struct as_ocsp_file *f, const char *fmt, ...)
{
    char why[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    as_log(AS_WARN, "certificate %s: ignoring the response file %s: %s", c->name, f->path, why);
}

/* The whole of a regular file of 1 to max bytes into a malloc'd buffer;
 * never blocks on a FIFO or a device.  0 and *why if it cannot be read. */
static int slurp(const char *path, long max, unsigned char **out, size_t *len, char *why,
                 size_t whylen)
{
    struct as_small_file f;
    int sys_errno;
    enum as_small_file_error e = as_small_file_read(AT_FDCWD, path, 0, (size_t)max, &f, &sys_errno);
    if (e != AS_SMALL_FILE_READ) {
        as_small_file_strerror(e, sys_errno, (size_t)max, &f, why, whylen);
        return 0;
    }
    *out = f.data;
    *len = f.len;
    return 1;
}

static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf; (void)size; (void)rwflag; (void)u;
    return 0;
}

/* A guess is taken only if the file it was made from holds c's certificate
 * first (PEM, other blocks such as a key skipped; or DER). */
static int holds_leaf(const struct as_cert *c, const struct as_ocsp_file *f)
{
    char file[PATH_MAX], why[256];
    unsigned char *buf;
    size_t len;
    snprintf(file, sizeof(file), "%.*s", (int)f->stem, f->path);
    if (!slurp(file, MAX_CERT_FILE, &buf, &len, why, sizeof(why)))
        return 0;
    ERR_set_mark();
    X509 *x = NULL;
    BIO *b = BIO_new_mem_buf(buf, (int)len);
    if (b != NULL)
        x = PEM_read_bio_X509(b, NULL, no_password, NULL);
    BIO_free(b);
    if (x == NULL) {
        const unsigned char *p = buf;
        x = d2i_X509(NULL, &p, (long)len);
    }
    int same = x != NULL && X509_cmp(x, c->leaf) == 0;
    X509_free(x);
    ERR_pop_to_mark();
    free(buf);
    return same;
}

/* Has f changed since it was last looked at, and is it worth reading?
 * Problems are logged here, once per change. */
static int changed(const struct as_cert *c, struct as_ocsp_file *f)
{
    if (!atomic_load(&f->guessed) && f->holds_leaf < 0) {
        f->holds_leaf = 0; /* a guess refused, named by the server since */
        f->looked = 0;
    }
    struct stat st;
    int err = stat(f->path, &st) == 0 ? 0 : errno;
    if (f->looked && err == f->err &&
        (err != 0 || (st.st_dev == f->dev && st.st_ino == f->ino && st.st_mode == f->mode &&
                      st.st_size == f->size && st.st_mtim.tv_sec == f->mtime.tv_sec &&
                      st.st_mtim.tv_nsec == f->mtime.tv_nsec)))
        return 0;
    f->looked = 1;
    f->err = err;
    if (err == 0) {
        f->dev = st.st_dev;
        f->ino = st.st_ino;
        f->mode = st.st_mode;
        f->size = st.st_size;
        f->mtime = st.st_mtim;
    }
    if (err == ENOENT || err == ENOTDIR)
        return 0; /* none there: the usual case */
    if (atomic_load(&f->guessed)) {
        if (f->holds_leaf == 0) {
            f->holds_leaf = holds_leaf(c, f) ? 1 : -1;
            if (f->holds_leaf < 0)
                as_log(AS_DEBUG, "certificate %s: not looking at %s: the file beside it does "
                       "not hold this certificate", c->name, f->path);
        }
        if (f->holds_leaf < 0)
            return 0;
    }
    if (err != 0) {
        refuse(c, f, "%s", strerror(err));
        return 0;
    }
    if (!S_ISREG(st.st_mode)) {
        refuse(c, f, "not a regular file");
        return 0;
    }
    if (st.st_size <= 0 || st.st_size > as_config()->max_response) {
        refuse(c, f, "%lld bytes (from 1 to AUTOSTAPLE_MAX_RESPONSE=%ld accepted)",
               (long long)st.st_size, as_config()->max_response);
        return 0;
    }
    return 1;
}

int as_ocsp_file_fresher(struct as_cert *c, time_t now, const struct as_verify_params *p,
                         time_t after, unsigned char **der, size_t *len,
                         struct as_verdict *v, const char **path)
{
    int found = 0;
    for (struct as_ocsp_file *f = first(c); f != NULL; f = f->next) {
        unsigned char *d;
        size_t l;
        char why[256];
        struct as_verdict fv;
        if (!changed(c, f))
            continue;
        if (!slurp(f->path, as_config()->max_response, &d, &l, why, sizeof(why))) {
            refuse(c, f, "%s", why);
            continue;
        }
        if (!as_ocsp_verify(d, l, c->leaf, c->issuer, now, p, &fv)) {
            refuse(c, f, "%s", fv.reason);
            free(d);
            continue;
        }
        if (fv.this_update <= after || (found && fv.this_update <= v->this_update)) {
            as_log(AS_DEBUG, "certificate %s: the response in %s is no newer than the one "
                   "held", c->name, f->path);
            free(d);
            continue;
        }
        if (found)
            free(*der);
        *der = d;
        *len = l;
        *v = fv;
        *path = f->path;
        found = 1;
    }
    return found;
}
