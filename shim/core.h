/* core.h: shared state of libautostaple-core.so. */
#ifndef AS_CORE_H
#define AS_CORE_H

#include "boundary.h"

/* The real OpenSSL functions that the hooks shadow (boundary.h). */
extern struct as_real as_real_fns;

/* Reads the configuration, sets up logging and fork/exit handling; once,
 * when the first server-capable context is created.  Prints nothing. */
void as_core_activate(void);

/* Logs what was wrong with the configuration; once.  Called where output is
 * due anyway (a certificate loaded, the refresher starting), so that a
 * process that never loads a server certificate prints nothing. */
void as_core_report_config(void);

/* Before the server starts serving (it accepts its first connection, forks
 * its workers, or drops its privileges): wait, at most
 * AUTOSTAPLE_STARTUP_WAIT, for the first fetch of every certificate this
 * process fetches, so that the first handshake is stapled.  With
 * may_take_over, a process whose certificates' refresher is gone takes over
 * meanwhile (refresher.h).  moment names the event for the log.  Never
 * called on a handshake. */
void as_core_wait_for_first_fetches(const char *moment, int may_take_over);

/* status_cb.c */
void as_status_cb_install(SSL_CTX *ctx);
int as_status_cb_set(SSL_CTX *ctx, void (*fp)(void));
int as_status_cb_get(SSL_CTX *ctx, void (**fp)(void));
int as_status_cb_init(void);

#endif
