/* thread.c: see thread.h. */
#include <signal.h>

#include "thread.h"

int as_thread_start(void *(*fn)(void *), void *arg, size_t stack_size, pthread_t *tid)
{
    pthread_attr_t attr;
    pthread_t id;
    sigset_t all, old;
    /* The new thread inherits the mask in force when it is created. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, stack_size);
    if (tid == NULL)
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int err = pthread_create(tid != NULL ? tid : &id, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err;
}
