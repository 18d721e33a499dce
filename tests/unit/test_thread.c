/* The library's threads: as_thread_start returns only once the new thread
 * runs its function, with every signal blocked, and a fork waits for a
 * birth in progress (the birth lock, taken by the fork handlers). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "thread.h"

static atomic_int signals_blocked;

static void *note_running(void *arg)
{
    sigset_t mask;
    pthread_sigmask(SIG_SETMASK, NULL, &mask);
    atomic_store(&signals_blocked, sigismember(&mask, SIGTERM) && sigismember(&mask, SIGHUP));
    return arg;
}

static void *prepare_for_fork(void *arg)
{
    as_thread_prepare();
    atomic_store((atomic_int *)arg, 1);
    as_thread_parent();
    return NULL;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(void)
{
    /* Without the wait, the new thread has most often not run yet when
     * pthread_create returns: 200 in a row would not all be seen. */
    int seen = 0, blocked = 0;
    for (int i = 0; i < 200; i++) {
        pthread_t tid;
        unsigned long before = as_thread_begun();
        atomic_store(&signals_blocked, 0);
        if (as_thread_start(note_running, NULL, 128 * 1024, &tid) != 0)
            break;
        seen += as_thread_begun() == before + 1;
        pthread_join(tid, NULL);
        blocked += atomic_load(&signals_blocked);
    }
    is_long(seen, 200, "as_thread_start returns once the thread runs (200 of 200)");
    is_long(blocked, 200, "the thread runs with every signal blocked");

    unsigned long before = as_thread_begun();
    ok(as_thread_start(note_running, NULL, 128 * 1024, NULL) == 0 && as_thread_begun() == before + 1,
       "a detached thread too");

    /* A fork's prepare handler waits while a birth holds the lock. */
    as_thread_prepare(); /* as a birth would hold it */
    atomic_int prepared = 0;
    pthread_t forker;
    pthread_create(&forker, NULL, prepare_for_fork, &prepared);
    double t0 = now_ms();
    while (now_ms() - t0 < 200)
        usleep(10000);
    ok(!atomic_load(&prepared), "a fork's prepare handler waits for a birth in progress");
    as_thread_parent();
    pthread_join(forker, NULL);
    ok(atomic_load(&prepared), "and goes on once the birth is over");
    return tap_done();
}
