/* persist.c: see persist.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "lock_order.h"
#include "log.h"
#include "own_dir.h"
#include "persist.h"
#include "replace_file.h"
#include "small_file.h"

#define MAX_FILE 65535

/* The last problem said (warn_once), under warn_lock. */
static pthread_mutex_t warn_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_warning[512];

/* Warn once per distinct problem: the same failure at every refresh would
 * drown the log. */
static void warn_once(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn_once(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    as_lock(&warn_lock, AS_LOCK_PERSIST_LOG);
    int repeat = strcmp(msg, last_warning) == 0;
    if (!repeat)
        snprintf(last_warning, sizeof(last_warning), "%s", msg);
    as_unlock(&warn_lock, AS_LOCK_PERSIST_LOG);
    if (!repeat)
        as_log(AS_WARN, "%s", msg);
}

void as_persist_prepare(void)
{
    as_lock(&warn_lock, AS_LOCK_PERSIST_LOG);
}

void as_persist_parent(void)
{
    as_unlock(&warn_lock, AS_LOCK_PERSIST_LOG);
}

void as_persist_child(void)
{
    as_unlock(&warn_lock, AS_LOCK_PERSIST_LOG);
}

static void file_name_ext(const unsigned char fp[32], const char *ext, char name[80])
{
    for (int i = 0; i < 32; i++)
        sprintf(name + 2 * i, "%02x", fp[i]);
    strcpy(name + 64, ext);
}

static void file_name(const unsigned char fp[32], char name[80])
{
    file_name_ext(fp, ".ocsp", name);
}

/* The cache directory, opened for this one use; -1 if off or unusable
 * (said once: own_dir.h). */
static int open_dir(void)
{
    const char *dir = as_config()->cache_dir;
    if (dir[0] == '\0')
        return -1;
    return as_own_dir_open(dir, "AUTOSTAPLE_CACHE_DIR");
}

int as_persist_load(const unsigned char fp[32], unsigned char **der, size_t *len)
{
    char name[80];
    int dfd = open_dir();
    if (dfd < 0)
        return 0;
    file_name(fp, name);
    struct as_small_file f;
    int sys_errno;
    enum as_small_file_error e = as_small_file_read(dfd, name, 1, MAX_FILE, &f, &sys_errno);
    close(dfd);
    if (e == AS_SMALL_FILE_CANNOT_OPEN) {
        if (sys_errno != ENOENT)
            warn_once("cannot read %s/%s: %s", as_config()->cache_dir, name, strerror(sys_errno));
        return 0;
    }
    if (e != AS_SMALL_FILE_READ || (f.st.st_mode & (S_IWOTH | S_IWGRP))) {
        free(f.data);
        warn_once("ignoring %s/%s: not a regular file of a sane size that only its "
                  "owner may write", as_config()->cache_dir, name);
        return 0;
    }
    *der = f.data;
    *len = f.len;
    return 1;
}

void as_persist_save(const unsigned char fp[32], const unsigned char *der, size_t len)
{
    char name[80], tmp[128];
    int dfd = open_dir();
    if (dfd < 0)
        return;
    file_name(fp, name);
    snprintf(tmp, sizeof(tmp), ".%.16s.%d.tmp", name, (int)getpid());
    int err = as_replace_file_at(dfd, tmp, name, der, len);
    if (err != 0)
        warn_once("cannot write to %s (AUTOSTAPLE_CACHE_DIR): %s; responses are kept in "
                  "memory only", as_config()->cache_dir, strerror(err));
    close(dfd);
}

void as_persist_drop(const unsigned char fp[32])
{
    char name[80];
    int dfd = open_dir();
    if (dfd < 0)
        return;
    file_name(fp, name);
    unlinkat(dfd, name, 0);
    close(dfd);
}

int as_persist_lock(const unsigned char fp[32])
{
    char name[80];
    int dfd = open_dir();
    if (dfd < 0)
        return AS_PERSIST_NO_LOCK;
    file_name_ext(fp, ".lock", name);
    int fd = openat(dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EACCES) /* another user's lock: flock needs no write access */
        fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    close(dfd);
    if (fd < 0)
        return AS_PERSIST_NO_LOCK;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return AS_PERSIST_NO_LOCK;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return fd;
    int busy = errno == EWOULDBLOCK;
    close(fd);
    return busy ? AS_PERSIST_BUSY : AS_PERSIST_NO_LOCK;
}

void as_persist_unlock(int lock)
{
    if (lock >= 0)
        close(lock); /* releases the flock */
}
