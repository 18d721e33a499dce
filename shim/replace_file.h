/* replace_file.h: a file in a directory replaced as a whole, never seen
 * half written (a temporary file beside it, then a rename), for the cache
 * directory's responses (persist.c) and the status and metrics files
 * (report.c). */
#ifndef AS_REPLACE_FILE_H
#define AS_REPLACE_FILE_H

#include <stddef.h>

/* Writes len bytes of buf to tmp in the directory dfd, mode 0644, and
 * renames it to name; tmp is removed first (a leftover of a crash) and on
 * failure.  No symbolic link is followed.  Returns 0, or the errno of what
 * failed. */
int as_replace_file_at(int dfd, const char *tmp, const char *name, const void *buf, size_t len);

#endif
