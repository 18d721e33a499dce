/* count_locks.so: preloaded ahead of the library, counts the calls to
 * pthread_mutex_lock made on the process's main thread (the one a
 * single-process server handles its handshakes on) into the 8-byte file
 * COUNT_LOCKS_FILE, which a test reads between handshakes.  The library's
 * threads are not counted: what they do is not on the handshake path. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int (*real_lock)(pthread_mutex_t *);
static _Atomic unsigned long long *counter;
static __thread int on_main; /* 0 unknown, 1 main thread, 2 another */

__attribute__((constructor)) static void setup(void)
{
    const char *path = getenv("COUNT_LOCKS_FILE");
    int fd = path != NULL ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644) : -1;
    if (fd >= 0 && ftruncate(fd, sizeof(*counter)) == 0) {
        void *p = mmap(NULL, sizeof(*counter), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        counter = p == MAP_FAILED ? NULL : p;
    }
    if (fd >= 0)
        close(fd);
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
    if (real_lock == NULL)
        real_lock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
    if (on_main == 0)
        on_main = syscall(SYS_gettid) == getpid() ? 1 : 2;
    if (on_main == 1 && counter != NULL)
        atomic_fetch_add(counter, 1);
    return real_lock(m);
}
