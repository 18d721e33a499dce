/* own_dir.c: see own_dir.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lock_order.h"
#include "log.h"
#include "own_dir.h"

#define SAID_MAX 4 /* problems remembered, per process */

/* The problems said (the directory, the message), so that each is said
 * once.  Locks: lock. */
static struct {
    pthread_mutex_t lock;
    struct {
        char dir[1024], msg[1600];
    } said[SAID_MAX];
    int next;
} memo = { PTHREAD_MUTEX_INITIALIZER, { { { 0 }, { 0 } } }, 0 };

static void say_once(const char *dir, const char *msg)
{
    as_lock(&memo.lock, AS_LOCK_OWN_DIR);
    int said = 0;
    for (int i = 0; i < SAID_MAX && !said; i++)
        said = strcmp(memo.said[i].msg, msg) == 0;
    if (!said) {
        snprintf(memo.said[memo.next].dir, sizeof(memo.said[0].dir), "%s", dir);
        snprintf(memo.said[memo.next].msg, sizeof(memo.said[0].msg), "%s", msg);
        memo.next = (memo.next + 1) % SAID_MAX;
    }
    as_unlock(&memo.lock, AS_LOCK_OWN_DIR);
    if (!said)
        as_log(AS_WARN, "%s", msg);
}

/* dir is usable: its problems are said again if they come back. */
static void forget(const char *dir)
{
    as_lock(&memo.lock, AS_LOCK_OWN_DIR);
    for (int i = 0; i < SAID_MAX; i++)
        if (strcmp(memo.said[i].dir, dir) == 0)
            memo.said[i].dir[0] = memo.said[i].msg[0] = '\0';
    as_unlock(&memo.lock, AS_LOCK_OWN_DIR);
}

int as_own_dir_open(const char *dir, const char *var)
{
    int cache = strcmp(var, "AUTOSTAPLE_CACHE_DIR") == 0;
    /* What follows when it cannot be used. */
    const char *consequence = cache ? "responses are kept in memory only, and no status file "
                                      "is written"
                                    : "no file is written there";
    char msg[1600];
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        int err = errno;
        if ((err == ENOTDIR || err == ELOOP) && lstat(dir, &st) == 0 && S_ISLNK(st.st_mode))
            snprintf(msg, sizeof(msg), "refusing %s (%s): it is a symbolic link (name the "
                     "directory itself); %s", dir, var, consequence);
        else
            snprintf(msg, sizeof(msg), "cannot use %s (%s): %s; %s", dir, var,
                     err == ENOTDIR ? "not a directory" : strerror(err), consequence);
        say_once(dir, msg);
        return -1;
    }
    mode_t refused = cache ? (S_IWOTH | S_IWGRP) : S_IWOTH;
    if (fstat(fd, &st) != 0 || (st.st_mode & refused)) {
        snprintf(msg, sizeof(msg), "refusing %s (%s): it is writable by %s (only its owner "
                 "may write there); %s", dir, var, st.st_mode & S_IWOTH ? "anyone" : "its group",
                 consequence);
        say_once(dir, msg);
        close(fd);
        return -1;
    }
    forget(dir);
    return fd;
}

void as_own_dir_prepare(void)
{
    as_lock(&memo.lock, AS_LOCK_OWN_DIR);
}

void as_own_dir_parent(void)
{
    as_unlock(&memo.lock, AS_LOCK_OWN_DIR);
}

void as_own_dir_child(void)
{
    as_unlock(&memo.lock, AS_LOCK_OWN_DIR);
}
