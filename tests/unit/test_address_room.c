/* Under RLIMIT_AS the shared cache takes a small share of the room left,
 * and none when there is none: the server's own next mmap still works. */
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "address_room.h"
#include "cache.h"
#include "sanitized.h"
#include "tap.h"

#define MIB ((size_t)1 << 20)

static size_t mapped(void)
{
    size_t limit, used;
    as_address_limit(&limit, &used);
    return used;
}

static void cap(size_t bytes)
{
    struct rlimit rl = { bytes, bytes };
    if (setrlimit(RLIMIT_AS, &rl) != 0)
        _exit(99);
}

/* Runs body in a child (the limit is for good); its exit status. */
#define IN_CHILD(body)                                                                             \
    ({                                                                                             \
        fflush(stdout); /* (not written twice by a child's runtime at its exit) */                 \
        pid_t pid = fork();                                                                        \
        if (pid == 0) {                                                                            \
            body;                                                                                  \
        }                                                                                          \
        int st = -1;                                                                               \
        waitpid(pid, &st, 0);                                                                      \
        WIFEXITED(st) ? WEXITSTATUS(st) : 100;                                                     \
    })

int main(void)
{
    size_t limit, used;
    ok(!as_address_limit(&limit, &used) && as_address_room() == (size_t)-1,
       "no limit: no bound");
    ok(used > 0, "what is mapped is read (%zu MiB)", used / MIB);

    as_cache_configure(16384, 10000);
    int rc;
    if (AS_SANITIZED) {
        /* A sanitizer's runtime maps as it goes (shadow memory, its
         * allocator's regions): under a limit this tight it dies. */
        printf("ok %d # skip under a sanitizer: no room under RLIMIT_AS for its runtime\n", ++tap_n);
        printf("ok %d # skip under a sanitizer\n", ++tap_n);
        goto unlimited;
    }

    /* Room for 8 MiB more: the cache may take 1/16 of it, and the server
     * then maps the rest but that share. */
    rc = IN_CHILD({
        size_t before = mapped();
        cap(before + 8 * MIB);
        size_t room = as_address_room();
        if (room > MIB / 2 || room < MIB / 4)
            _exit(1);
        enum as_cache_shortfall why;
        struct as_slot *s = as_slot_new(&why);
        if (s == NULL || why != AS_CACHE_SHARED || !as_slot_shared(s))
            _exit(2);
        if (mapped() - before > room)
            _exit(3);
        void *p = mmap(NULL, 7 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        _exit(p == MAP_FAILED ? 4 : 0);
    });
    is_long(rc, 0, "8 MiB of room: a shared slot in at most 1/16 of it, and 7 MiB still map");

    /* Room for 64 KiB: not even one slot's share; the slot is private, and
     * says why. */
    rc = IN_CHILD({
        cap(mapped() + 64 * 1024);
        enum as_cache_shortfall why;
        struct as_slot *s = as_slot_new(&why);
        _exit(s == NULL ? 1 : as_slot_shared(s) ? 2 : why != AS_CACHE_NO_ROOM ? 3 : 0);
    });
    is_long(rc, 0, "no room: a private slot, AS_CACHE_NO_ROOM");

unlimited:
    /* Without a limit, one certificate reserves about 330 KB, not room for
     * AUTOSTAPLE_MAX_CERTS (10000 x 21 KB). */
    rc = IN_CHILD({
        size_t before = mapped();
        enum as_cache_shortfall why;
        struct as_slot *s = as_slot_new(&why);
        _exit(s == NULL || !as_slot_shared(s) ? 1 : mapped() - before > MIB ? 2 : 0);
    });
    is_long(rc, 0, "one certificate reserves under 1 MiB of address space");
    return tap_done();
}
