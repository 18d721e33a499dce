/* core.h: what libautostaple-core.so's entry (core.c) offers the modules
 * it drives. */
#ifndef AS_CORE_H
#define AS_CORE_H

#include "boundary.h"

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

#endif
