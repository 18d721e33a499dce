/* small_file.h: reading a whole small file without ever blocking.  Only a
 * regular file is read: a FIFO or a device named where a file is expected
 * would hold the reading thread (a server's refresher, the command) for
 * ever, so the file is opened with O_NONBLOCK and refused unless fstat says
 * regular.  Base layer: libc only. */
#ifndef AS_SMALL_FILE_H
#define AS_SMALL_FILE_H

#include <stddef.h>
#include <sys/stat.h>

enum as_small_file_error {
    AS_SMALL_FILE_READ = 0,
    AS_SMALL_FILE_CANNOT_OPEN,   /* open or fstat failed: the errno says why */
    AS_SMALL_FILE_NOT_REGULAR,
    AS_SMALL_FILE_SIZE,          /* empty, or more than the caller's maximum */
    AS_SMALL_FILE_NO_MEMORY,
    AS_SMALL_FILE_CHANGED,       /* shorter than fstat said: changed while read */
};

/* What was read: data is malloc'd (the caller frees it), len bytes and a
 * NUL after them; st is the file's fstat. */
struct as_small_file {
    unsigned char *data;
    size_t len;
    struct stat st;
};

/* Reads name, relative to the directory dfd (AT_FDCWD: a path), whole, if
 * it is a regular file of 1 to max bytes; without following a final
 * symbolic link if nofollow.  Returns AS_SMALL_FILE_READ, or the error
 * (then nothing to free, and *sys_errno set for AS_SMALL_FILE_CANNOT_OPEN). */
enum as_small_file_error as_small_file_read(int dfd, const char *name, int nofollow, size_t max,
                                            struct as_small_file *f, int *sys_errno);

/* The error in words, into buf (of len bytes); returns buf. */
const char *as_small_file_strerror(enum as_small_file_error e, int sys_errno, size_t max,
                                   const struct as_small_file *f, char *buf, size_t len);

#endif
