/* succession.h: which process refreshes a certificate.
 *
 * A certificate's slot names the process that refreshes it (cache.h): the
 * one that learned it, until that process is gone.  It is gone when it no
 * longer exists, is a zombie, or has left its slots before an exec
 * (as_succession_abdicate: HAProxy's master execs itself again once it has
 * forked its worker).  Then a process that shares the slot takes the role
 * over:
 *   - first, one with the rights of the process that learned it (the same
 *     effective uid): the daemon's master that stayed root, never a worker
 *     that dropped to www-data;
 *   - only if none has after SUCCESSION_GRACE seconds, any other, which says
 *     so once: it may not be able to write the cache directory.
 * One process wins a slot (compare-and-swap).
 *
 * Every function here takes the registry lock unless its name ends in
 * _locked (then it must be held).  None does I/O but reading /proc. */
#ifndef AS_SUCCESSION_H
#define AS_SUCCESSION_H

/* On a handshake: at most once a second, and cheaply (it looks at the
 * processes it watches, not at every certificate), take over what this
 * process may.  Stops once there is nothing to watch.  Certificates left
 * waiting for a successor with their rights (SUCCESSION_GRACE) are taken
 * over by the heir thread (as_succession_succeed) when the grace ends,
 * whether handshakes come or not. */
void as_succession_watch(void);

/* While the process waits for first fetches (core.c), before it forks. */
void as_succession_adopt_locked(void);

/* The process daemonizes (setsid) or is about to serve (listen): if the
 * process that refreshes its certificates still lives, it is most likely
 * the one that started this daemon and is about to leave (with exit or
 * _exit: no handler of ours need run there).  A thread watches for that,
 * every 20 ms for 30 s, and takes over when it happens; if it does not, the
 * other process is a master that stays, and keeps the role. */
void as_succession_succeed(void);

/* The process is about to exec: it leaves the slots it refreshes, so that
 * another takes them over at once. */
void as_succession_abdicate(void);

/* After fork, in the child. */
void as_succession_child(void);

#endif
