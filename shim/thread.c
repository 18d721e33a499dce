/* thread.c: see thread.h. */
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "lock_order.h"
#include "sanitized.h"
#include "thread.h"

static pthread_mutex_t births = PTHREAD_MUTEX_INITIALIZER;
static atomic_ulong begun;
static atomic_int stopping;

/* What a new thread is given; on its creator's stack, which waits until
 * the thread has copied it. */
struct birth {
    void *(*fn)(void *);
    void *arg;
    int detached;
    sem_t running;
};

static void *begin(void *p)
{
    struct birth *b = p;
    void *(*fn)(void *) = b->fn;
    void *arg = b->arg;
    int detached = b->detached;
    atomic_fetch_add(&begun, 1);
    sem_post(&b->running); /* b is gone from here on */
    void *result = fn(arg);
    /* Under a sanitizer a thread's end, like its start, runs the runtime's
     * non-fork-safe code after fn returns, out of reach of any lock: a
     * detached thread (nobody waits for its end) stays instead, asleep with
     * every signal blocked, until the process exits or executes. */
    if (AS_SANITIZED && detached)
        for (;;)
            pause();
    return result;
}

int as_thread_start(void *(*fn)(void *), void *arg, size_t stack_size, pthread_t *tid)
{
    struct birth b = { fn, arg, tid == NULL, { { 0 } } };
    pthread_attr_t attr;
    pthread_t id;
    sigset_t all, old;

    sem_init(&b.running, 0, 0);
    as_lock(&births, AS_LOCK_BIRTHS);
    /* The new thread inherits the mask in force when it is created. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, stack_size);
    if (tid == NULL)
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int err = pthread_create(tid != NULL ? tid : &id, &attr, begin, &b);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err == 0)
        while (sem_wait(&b.running) != 0 && errno == EINTR)
            ;
    as_unlock(&births, AS_LOCK_BIRTHS);
    sem_destroy(&b.running);
    return err;
}

void as_process_stop(void)
{
    atomic_store(&stopping, 1);
}

int as_process_stopping(void)
{
    return atomic_load(&stopping);
}

const atomic_int *as_process_stop_flag(void)
{
    return &stopping;
}

unsigned long as_thread_begun(void)
{
    return atomic_load(&begun);
}

void as_thread_prepare(void)
{
    as_lock(&births, AS_LOCK_BIRTHS);
}

void as_thread_parent(void)
{
    as_unlock(&births, AS_LOCK_BIRTHS);
}

void as_thread_child(void)
{
    as_unlock(&births, AS_LOCK_BIRTHS);
}
