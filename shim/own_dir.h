/* own_dir.h: opening a directory the library keeps files in
 * (AUTOSTAPLE_CACHE_DIR: saved responses, lock files, status files;
 * AUTOSTAPLE_METRICS_DIR: metrics files) under one set of rules, whichever
 * module asks: the directory itself (a symbolic link is refused: it could
 * be pointed elsewhere), absolute, and writable by no one but its owner
 * (the cache: a response planted there would be stapled at the next start)
 * or at least not by anyone (the metrics).  A problem is said once, at
 * warning level, with its real reason and what follows from it, for the
 * whole process, until the directory is usable again. */
#ifndef AS_OWN_DIR_H
#define AS_OWN_DIR_H

/* A descriptor of dir (the value of the variable var, which names the rules:
 * AUTOSTAPLE_CACHE_DIR refused if its group or others may write, any other
 * if anyone may), O_CLOEXEC, for openat; -1 if it cannot be used, having
 * said why (once). */
int as_own_dir_open(const char *dir, const char *var);

/* pthread_atfork handlers (core.c): the lock of the problems said, which
 * the reporter thread takes at every write, is not copied held into a
 * child (whose first directory opened would wait for it forever). */
void as_own_dir_prepare(void);
void as_own_dir_parent(void);
void as_own_dir_child(void);

#endif
