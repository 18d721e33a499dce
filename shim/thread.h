/* thread.h: starting the library's own threads inside someone else's
 * process.  They take no signals (every signal is blocked in them, so the
 * application's handlers only ever run on its own threads) and have small
 * stacks of a size the caller names (address space is the operator's).
 *
 * A server may fork at any moment, from any of its threads.  No fork
 * happens while one of ours is being born: as_thread_start returns only
 * once the new thread runs fn, and holds the birth lock until then, which
 * the fork handlers take.  (glibc's fork is safe against a thread's start
 * and end; a sanitizer's runtime is not: see sanitized.h.) */
#ifndef AS_THREAD_H
#define AS_THREAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

/* Starts fn(arg) with all signals blocked and a stack of stack_size bytes;
 * detached if tid is NULL, else joinable and its id in *tid.  Returns once
 * the thread runs fn: 0, or pthread_create's error (EAGAIN under
 * RLIMIT_NPROC, for one).  Takes the birth lock, the innermost of the
 * library's locks: the caller may hold any other. */
int as_thread_start(void *(*fn)(void *), void *arg, size_t stack_size, pthread_t *tid);

/* How many threads as_thread_start has started in this process's life
 * (counted by each, before fn): for tests. */
unsigned long as_thread_begun(void);

/* The process exits (the exit handler, through as_refresher_stop): every
 * thread of ours gives up what it does and starts nothing long.  Any
 * thread, no lock.  as_process_stop_flag is the same flag for what waits
 * on the network (fetch.h's stop). */
void as_process_stop(void);
int as_process_stopping(void);
const atomic_int *as_process_stop_flag(void);

/* pthread_atfork handlers (core.c): the birth lock, taken last. */
void as_thread_prepare(void);
void as_thread_parent(void);
void as_thread_child(void);

#endif
