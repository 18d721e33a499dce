/* refresher.h: the background threads that fetch, verify and publish
 * responses.  The first starts when the first certificate with a responder
 * is learned, and again lazily in a child after fork (threads do not survive
 * fork); more, up to AUTOSTAPLE_MAX_FETCHES, while certificates are due and
 * every thread is busy.  No handshake ever waits for them. */
#ifndef AS_REFRESHER_H
#define AS_REFRESHER_H

/* Each thread takes the certificate due first (certs.h) and makes one
 * attempt for it (refresh.h); the process stops (thread.h's
 * as_process_stop) in as_refresher_stop. */

/* Something became due: wake an idle thread, or start one if none is idle
 * and a certificate is due now (within AUTOSTAPLE_MAX_FETCHES).
 * the registry lock must be held. */
void as_refresher_wake_locked(void);

/* A new chain certificate is known: certificates still waiting for their
 * chain are looked at again now.  Takes the registry lock. */
void as_refresher_chain_added(void);

/* Whether this process runs fetch threads (it refreshes certificates). */
int as_refresher_running(void);

/* The fork guard.  A fetch thread holds it whenever it may be inside
 * OpenSSL, libcurl or the dynamic loader (whose locks a fork would copy held
 * into the child), and lets go of it while it waits on the network (between
 * libcurl's steps, fetch.h's wait hooks), over HTTP and HTTPS alike.
 * pthread_atfork's prepare handler takes it, so a server that forks waits at
 * most for one step of an exchange or one verification, never for the
 * network.  One thread holds it at a time: what the threads share is
 * touched only under it. */

/* Called by each fetch thread as it starts, before any work: what the
 * layer above has to say from a thread that may do I/O (core.c: the
 * configuration's warnings, held until then).  Set once, at activation. */
void as_refresher_set_start_hook(void (*hook)(void));

/* pthread_atfork handlers. */
void as_refresher_prepare(void);
void as_refresher_parent(void);
void as_refresher_child(void);

/* At exit: as_process_stop, then stop starting work and wait briefly for the threads to park, so
 * that OpenSSL's own exit handlers do not run under their feet. */
void as_refresher_stop(void);

#endif
