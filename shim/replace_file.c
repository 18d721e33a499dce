/* replace_file.c: see replace_file.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replace_file.h"

int as_replace_file_at(int dfd, const char *tmp, const char *name, const void *buf, size_t len)
{
    unlinkat(dfd, tmp, 0);
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    int ok = fd >= 0 && fchmod(fd, 0644) == 0 && write(fd, buf, len) == (ssize_t)len;
    int err = ok ? 0 : errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    if (ok && renameat(dfd, tmp, dfd, name) != 0) {
        ok = 0;
        err = errno;
    }
    if (!ok && fd >= 0)
        unlinkat(dfd, tmp, 0);
    return ok ? 0 : (err != 0 ? err : EIO);
}
