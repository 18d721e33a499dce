/* address_room.c: see address_room.h. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "address_room.h"

#define SHARE_OF_ROOM 16        /* take at most 1/16 of what is left */
#define SHARE_OF_UNKNOWN 64     /* or 1/64 of the limit, when what is mapped is unknown */

/* The process's mapped size (VmSize), from /proc/self/statm's first field,
 * in pages; 0 if it cannot be read. */
static size_t mapped_bytes(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    unsigned long long pages = strtoull(buf, NULL, 10);
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 && pages <= SIZE_MAX / (size_t)page ? (size_t)pages * (size_t)page : 0;
}

int as_address_limit(size_t *limit, size_t *used)
{
    struct rlimit rl;
    *used = mapped_bytes();
    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= SIZE_MAX) {
        *limit = SIZE_MAX;
        return 0;
    }
    *limit = (size_t)rl.rlim_cur;
    return 1;
}

size_t as_address_room(void)
{
    size_t limit, used;
    if (!as_address_limit(&limit, &used))
        return SIZE_MAX;
    if (used == 0)
        return limit / SHARE_OF_UNKNOWN;
    return used < limit ? (limit - used) / SHARE_OF_ROOM : 0;
}
