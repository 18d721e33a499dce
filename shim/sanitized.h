/* sanitized.h: AS_SANITIZED is 1 in a build under AddressSanitizer or
 * ThreadSanitizer.  Their runtime's allocator (GCC 12's) is not fork-safe
 * the way glibc's malloc is: a fork that catches one of our threads inside
 * it leaves the child deadlocked on its lock, and so does one that catches
 * a thread starting or ending (the runtime sets up and tears down its
 * per-thread state then).  Such builds keep our threads out of the
 * allocator while a fork happens (refresher.c, report.c), and a detached
 * thread of ours never ends (thread.c; every thread's start is excluded
 * from forks in all builds). */
#ifndef AS_SANITIZED_H
#define AS_SANITIZED_H

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define AS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define AS_SANITIZED 1
#endif
#endif
#ifndef AS_SANITIZED
#define AS_SANITIZED 0
#endif

#endif
