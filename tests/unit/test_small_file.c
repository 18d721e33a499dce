/* Reading a small file whole: only a regular file of 1 to max bytes, never
 * blocking on a FIFO, a final symbolic link refused when asked. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "small_file.h"
#include "tap.h"

static char dir[] = "/tmp/test_small_file.XXXXXX";

static void put(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

static enum as_small_file_error read_in(const char *name, int nofollow, size_t max,
                                        struct as_small_file *f)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY), sys_errno;
    enum as_small_file_error e = as_small_file_read(dfd, name, nofollow, max, f, &sys_errno);
    close(dfd);
    return e;
}

int main(void)
{
    if (mkdtemp(dir) == NULL)
        return 1;
    struct as_small_file f;
    char why[128];

    put("five", "hello");
    is_long(read_in("five", 1, 5, &f), AS_SMALL_FILE_READ, "a file of max bytes is read");
    ok(f.len == 5 && memcmp(f.data, "hello", 6) == 0, "whole, with a NUL after it");
    free(f.data);
    is_long(read_in("five", 1, 4, &f), AS_SMALL_FILE_SIZE, "one byte over max: refused");
    is_str(as_small_file_strerror(AS_SMALL_FILE_SIZE, 0, 4, &f, why, sizeof(why)),
           "5 bytes (from 1 to 4 accepted)", "and said so");
    put("empty", "");
    is_long(read_in("empty", 1, 5, &f), AS_SMALL_FILE_SIZE, "an empty file: refused");

    char path[256];
    snprintf(path, sizeof(path), "%s/fifo", dir);
    mkfifo(path, 0600);
    alarm(5); /* a read that blocks fails the test */
    is_long(read_in("fifo", 1, 5, &f), AS_SMALL_FILE_NOT_REGULAR, "a FIFO with no writer: refused at once");
    alarm(0);
    is_long(read_in(".", 1, 5, &f), AS_SMALL_FILE_NOT_REGULAR, "a directory: refused");

    snprintf(path, sizeof(path), "%s/link", dir);
    if (symlink("five", path) != 0)
        return 1;
    is_long(read_in("link", 1, 5, &f), AS_SMALL_FILE_CANNOT_OPEN, "a symbolic link, nofollow: refused");
    is_long(read_in("link", 0, 5, &f), AS_SMALL_FILE_READ, "followed otherwise");
    free(f.data);
    int sys_errno;
    is_long(as_small_file_read(AT_FDCWD, "/nonexistent/x", 0, 5, &f, &sys_errno),
            AS_SMALL_FILE_CANNOT_OPEN, "a path that does not exist: cannot open");
    is_str(as_small_file_strerror(AS_SMALL_FILE_CANNOT_OPEN, sys_errno, 5, &f, why, sizeof(why)),
           "No such file or directory", "with its errno's words");

    const char *names[] = { "five", "empty", "fifo", "link" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    return tap_done();
}
