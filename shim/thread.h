/* thread.h: starting the library's own threads inside someone else's
 * process.  They take no signals (every signal is blocked in them, so the
 * application's handlers only ever run on its own threads) and have small
 * stacks of a size the caller names (address space is the operator's). */
#ifndef AS_THREAD_H
#define AS_THREAD_H

#include <pthread.h>
#include <stddef.h>

/* Starts fn(arg) with all signals blocked and a stack of stack_size bytes;
 * detached if tid is NULL, else joinable and its id in *tid.  Returns 0 or
 * pthread_create's error (EAGAIN under RLIMIT_NPROC, for one). */
int as_thread_start(void *(*fn)(void *), void *arg, size_t stack_size, pthread_t *tid);

#endif
