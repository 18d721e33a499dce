/* log.c: see log.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/err.h>

#include "log.h"

static int log_level = AS_WARN;
static enum { TO_STDERR, TO_SYSLOG, TO_FILE } log_to = TO_STDERR;
static char log_path[1024];
static char program[64] = "?";

/* One byte per as_family_note, in a page shared with every process forked
 * after as_log_setup; NULL if it could not be mapped (then every process
 * says it). */
static _Atomic unsigned char *family_said;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void as_log_remember_program(void)
{
    snprintf(program, sizeof(program), "%s", program_invocation_short_name);
}

const char *as_log_program(void)
{
    return program;
}

void as_log_setup(int level, const char *target)
{
    log_level = level;
    if (family_said == NULL) {
        void *page = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        family_said = page == MAP_FAILED ? NULL : page;
    }
    if (target == NULL || strcmp(target, "stderr") == 0) {
        log_to = TO_STDERR;
    } else if (strcmp(target, "syslog") == 0) {
        log_to = TO_SYSLOG;
        openlog("autostaple", LOG_PID, LOG_DAEMON); /* connects at the first line */
    } else {
        log_to = TO_FILE;
        snprintf(log_path, sizeof(log_path), "%s", target);
    }
}

int as_log_first_in_family(enum as_family_note note)
{
    return family_said == NULL || atomic_exchange(&family_said[note], 1) == 0;
}

int as_log_enabled(int level)
{
    return level <= log_level;
}

/* The log file, opened for one line; stderr if it cannot be opened, said
 * there once for each run of failures (a missing directory, a server that
 * dropped its privileges). */
static int open_log_file(void)
{
    static atomic_int failing;
    int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd >= 0) {
        atomic_store(&failing, 0);
        return fd;
    }
    if (atomic_exchange(&failing, 1) == 0) {
        char note[sizeof(log_path) + 256];
        int n = snprintf(note, sizeof(note), "autostaple[%s %d]: warning: cannot open the log "
                         "file %s (AUTOSTAPLE_LOG): %s; logging to stderr meanwhile\n",
                         program, (int)getpid(), log_path, strerror(errno));
        if (n > 0)
            (void)!write(STDERR_FILENO, note, (size_t)n < sizeof(note) ? (size_t)n
                                                                     : sizeof(note) - 1);
    }
    return STDERR_FILENO;
}

static void emit(int level, const char *msg)
{
    if (log_to == TO_SYSLOG) {
        static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
        syslog(prio[level], "%s", msg);
        return;
    }
    char line[2048];
    int n = snprintf(line, sizeof(line), "autostaple[%s %d]: %s: %s\n",
                     program, (int)getpid(),
                     level_names[level], msg);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line)) {
        n = sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    int saved = errno;
    int fd = STDERR_FILENO;
    if (log_to == TO_FILE)
        fd = open_log_file();
    if (fd >= 0) {
        (void)!write(fd, line, (size_t)n); /* EBADF after a daemon closed 2: fine */
        if (fd != STDERR_FILENO)
            close(fd);
    }
    errno = saved;
}

static void vlog(int level, int with_ssl, const char *fmt, va_list ap)
{
    char msg[1536];
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (n < 0)
        return;
    if (with_ssl) {
        size_t used = strlen(msg);
        char errs[768];
        as_ssl_errors(errs, sizeof(errs));
        if (errs[0] != '\0' && used + 3 < sizeof(msg))
            snprintf(msg + used, sizeof(msg) - used, " (%s)", errs);
    }
    emit(level, msg);
}

void as_log(int level, const char *fmt, ...)
{
    if (!as_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, 0, fmt, ap);
    va_end(ap);
}

void as_log_ssl(int level, const char *fmt, ...)
{
    if (!as_log_enabled(level)) {
        ERR_clear_error();
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vlog(level, 1, fmt, ap);
    va_end(ap);
}

void as_ssl_errors(char *buf, unsigned long len)
{
    unsigned long e;
    size_t used = 0;
    buf[0] = '\0';
    while ((e = ERR_get_error()) != 0) {
        char one[256];
        ERR_error_string_n(e, one, sizeof(one));
        int n = snprintf(buf + used, len - used, "%s%s", used ? "; " : "", one);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
    ERR_clear_error();
}

void as_log_quote(const void *s, size_t n, size_t max, char *out, size_t outlen)
{
    const unsigned char *p = s;
    size_t used = 0, i;
    if (outlen == 0)
        return;
    for (i = 0; i < n && i < max; i++) {
        char one[8];
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
            one[0] = (char)p[i], one[1] = '\0';
        else
            snprintf(one, sizeof(one), "\\x%02x", p[i]);
        size_t k = strlen(one);
        if (used + k >= outlen)
            break;
        memcpy(out + used, one, k);
        used += k;
    }
    if (i < n && used + 3 < outlen) {
        memcpy(out + used, "...", 3);
        used += 3;
    }
    out[used] = '\0';
}
