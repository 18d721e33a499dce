/* warm_start.h: a certificate's saved response, stapled when the
 * certificate is learned.  A process that execs per connection, or learns
 * its certificate per connection in a worker (lighttpd), would otherwise
 * staple nothing until its refresher has read the cache directory.  With
 * AUTOSTAPLE_CACHE_DIR set, the response saved there (persist.h) is read and
 * verified like a fetched one, on the thread that loads the certificate,
 * and put in the certificate's slot if it holds nothing yet: one small file
 * read and a verification, once per certificate and process (so at most
 * once, in a worker that loads its certificate on every connection).  The
 * refresher then takes it from there (its first look at the directory finds
 * the same response). */
#ifndef AS_WARM_START_H
#define AS_WARM_START_H

struct as_cert;

/* What as_warm_start did. */
enum as_warm {
    AS_WARM_DONE,       /* stapled, or nothing to do (no directory, no file, a response held) */
    AS_WARM_NO_ISSUER,  /* the issuer is not among the chain certificates seen yet */
};

/* Any thread; takes the pool's and the slot's locks, never the registry's.
 * Does nothing unless the thread's OpenSSL error queue is empty (it leaves
 * it so). */
enum as_warm as_warm_start(struct as_cert *c);

#endif
