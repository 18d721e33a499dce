/* small_file.c: see small_file.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "small_file.h"

enum as_small_file_error as_small_file_read(int dfd, const char *name, int nofollow, size_t max,
                                            struct as_small_file *f, int *sys_errno)
{
    memset(f, 0, sizeof(*f));
    *sys_errno = 0;
    int fd = openat(dfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
                                   (nofollow ? O_NOFOLLOW : 0));
    if (fd < 0 || fstat(fd, &f->st) != 0) {
        *sys_errno = errno;
        if (fd >= 0)
            close(fd);
        return AS_SMALL_FILE_CANNOT_OPEN;
    }
    enum as_small_file_error e = AS_SMALL_FILE_READ;
    if (!S_ISREG(f->st.st_mode))
        e = AS_SMALL_FILE_NOT_REGULAR;
    else if (f->st.st_size <= 0 || (unsigned long long)f->st.st_size > max)
        e = AS_SMALL_FILE_SIZE;
    else if ((f->data = malloc((size_t)f->st.st_size + 1)) == NULL)
        e = AS_SMALL_FILE_NO_MEMORY;
    else {
        size_t want = (size_t)f->st.st_size;
        ssize_t n;
        while (f->len < want && ((n = read(fd, f->data + f->len, want - f->len)) > 0 ||
                                 (n < 0 && errno == EINTR)))
            if (n > 0)
                f->len += (size_t)n;
        if (f->len == want) {
            f->data[want] = '\0';
        } else {
            free(f->data);
            f->data = NULL;
            f->len = 0;
            e = AS_SMALL_FILE_CHANGED;
        }
    }
    close(fd);
    return e;
}

const char *as_small_file_strerror(enum as_small_file_error e, int sys_errno, size_t max,
                                   const struct as_small_file *f, char *buf, size_t len)
{
    switch (e) {
    case AS_SMALL_FILE_READ:
        snprintf(buf, len, "read");
        break;
    case AS_SMALL_FILE_CANNOT_OPEN:
        snprintf(buf, len, "%s", strerror(sys_errno));
        break;
    case AS_SMALL_FILE_NOT_REGULAR:
        snprintf(buf, len, "not a regular file");
        break;
    case AS_SMALL_FILE_SIZE:
        snprintf(buf, len, "%lld bytes (from 1 to %zu accepted)", (long long)f->st.st_size, max);
        break;
    case AS_SMALL_FILE_NO_MEMORY:
        snprintf(buf, len, "out of memory");
        break;
    case AS_SMALL_FILE_CHANGED:
        snprintf(buf, len, "changed while read");
        break;
    }
    return buf;
}
