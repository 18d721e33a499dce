/* log.h: one line per event, never on stdout.  Lines name the program and
 * pid: "autostaple[nginx 1234]: warning: ...".  Thread-safe. */
#ifndef AS_LOG_H
#define AS_LOG_H

#include <stddef.h>

enum as_level { AS_ERROR = 0, AS_WARN = 1, AS_INFO = 2, AS_DEBUG = 3, AS_QUIET = -1 };

/* Keeps the program's name for log lines, before a server rewrites its
 * argv for ps (nginx does). */
void as_log_remember_program(void);
/* That name. */
const char *as_log_program(void);

/* target: "stderr", "syslog" or a file path (opened per line, so closed
 * descriptors and log rotation are harmless). */
void as_log_setup(int level, const char *target);
int as_log_enabled(int level);

/* What is said once in a whole process family (the process that set the
 * log up and every process it forks afterwards): a condition every worker
 * would meet, such as each forked child exec'ing in secure-execution mode. */
enum as_family_note {
    AS_NOTE_SECURE_EXEC,
    AS_NOTE_COUNT
};
/* 1 the first time any process of the family asks for note, then 0. */
int as_log_first_in_family(enum as_family_note note);

__attribute__((format(printf, 2, 3)))
void as_log(int level, const char *fmt, ...);

/* Like as_log, with the calling thread's OpenSSL error queue appended
 * (and consumed).  Only for threads the shim owns. */
__attribute__((format(printf, 2, 3)))
void as_log_ssl(int level, const char *fmt, ...);

/* Up to max bytes of s (n bytes long) as text fit for a log line, in out:
 * printable ASCII as it is, except double quote and backslash; those and
 * every other byte as \xNN; "..." after a value that was cut.  Never more
 * than outlen - 1 characters. */
void as_log_quote(const void *s, size_t n, size_t max, char *out, size_t outlen);

/* The thread's OpenSSL error queue as text ("" if empty), consumed. */
void as_ssl_errors(char *buf, unsigned long len);

#endif
