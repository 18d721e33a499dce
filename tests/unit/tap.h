/* tap.h: the least TAP a C unit test needs.  ok() counts and prints; the
 * test's exit status is non-zero if anything failed or nothing ran. */
#ifndef AS_TAP_H
#define AS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_long(got, want, ...) \
    do { long g_ = (long)(got), w_ = (long)(want); \
         if (!ok(g_ == w_, __VA_ARGS__)) printf("#   got %ld, want %ld\n", g_, w_); } while (0)
#define is_str(got, want, ...) \
    do { const char *g_ = (got), *w_ = (want); \
         if (!ok(strcmp(g_, w_) == 0, __VA_ARGS__)) printf("#   got \"%s\", want \"%s\"\n", g_, w_); } while (0)

__attribute__((format(printf, 4, 5)))
static int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    tap_n++;
    printf("%sok %d - ", pass ? "" : "not ", tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!pass) {
        tap_failed++;
        printf("#   failed at %s:%d\n", file, line);
    }
    fflush(stdout);
    return pass;
}

static int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed != 0 || tap_n == 0;
}

#endif
