/* persist.h: responses saved in AUTOSTAPLE_CACHE_DIR, one DER file per
 * certificate, named by the certificate's SHA-256 ("<hex>.ocsp").  Nothing
 * read from the directory is trusted: the caller verifies it like a fetched
 * response.  Hostile directories are refused: no symbolic link is followed,
 * a directory writable by others than its owner (group or world) is not
 * used, a file writable by others than its owner is not read: whoever could
 * write there could plant an old response for the next start.  Files are written through a temporary file and a rename, mode 0644
 * (responses are public).  Nothing is kept open between calls (daemons close
 * descriptors), but a lock while it is held.  Any thread (warm_start.h reads
 * from the application's). */
#ifndef AS_PERSIST_H
#define AS_PERSIST_H

#include <stddef.h>

/* The saved response for fp into a malloc'd buffer; 0 if there is none (or
 * it cannot be used: then a warning is logged, once per kind of problem). */
int as_persist_load(const unsigned char fp[32], unsigned char **der, size_t *len);

/* Saves der for fp; on failure logs a warning (once per kind of problem) and
 * carries on in memory. */
void as_persist_save(const unsigned char fp[32], const unsigned char *der, size_t len);

/* Forget a saved response that failed verification. */
void as_persist_drop(const unsigned char fp[32]);

/* The lock that makes one process, among all that share the directory
 * (every process of a service, whatever forks or execs them), fetch fp's
 * response at a time: "<hex>.lock", held with flock(2) while it fetches and
 * saves, released if the holder dies.  Returns a descriptor to pass to
 * as_persist_unlock, AS_PERSIST_BUSY if another process holds it, or
 * AS_PERSIST_NO_LOCK if there is no directory or the file cannot be opened
 * (then each process fetches for itself). */
#define AS_PERSIST_BUSY (-2)
#define AS_PERSIST_NO_LOCK (-1)
int as_persist_lock(const unsigned char fp[32]);
void as_persist_unlock(int lock);

/* pthread_atfork handlers (core.c): the lock of the last warning, which
 * an application thread may hold (a warm start), is not copied held. */
void as_persist_prepare(void);
void as_persist_parent(void);
void as_persist_child(void);

#endif
