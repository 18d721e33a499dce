/* fuzz_config: the AUTOSTAPLE_* environment (shim/config.c), read by
 * as_config_load through a fake getenv, and as_parse_duration and
 * as_parse_bool on every value.
 *
 * Input: NAME=value lines, as the environment holds them (a value ends at
 * its newline or at a NUL byte; the first line for a name counts; names
 * are case-sensitive; other lines are ignored).
 *
 * Checks, against docs/configuration.md rather than config.c: every field
 * within its documented range or set of values, and NUL-terminated; an
 * unset variable takes its documented default; one warning per bad value,
 * naming the variable, and as many as as_config_load returns; a value that
 * drew no warning is the one stored; durations and booleans parse as
 * documented ("30", "30s", "5m", "2h", "1d"; 1/true/yes/on, 0/false/no/off);
 * the table names every variable config.c reads. */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "fuzz_check.h"
#include "log.h"


/* docs/configuration.md's table. */
enum kind { BOOL, LEVEL, DURATION, SIZE, LOG, PATH, URL, DIR, PROXY };
static const struct doc {
    const char *name;
    enum kind kind;
    const char *def;
    long min, max;
} docs[] = {
    { "AUTOSTAPLE_DISABLE", BOOL, "0", 0, 1 },
    { "AUTOSTAPLE_LOG_LEVEL", LEVEL, "info", AS_QUIET, AS_DEBUG },
    { "AUTOSTAPLE_LOG", LOG, "stderr", 0, 0 },
    { "AUTOSTAPLE_CA_FILE", PATH, "/etc/ssl/certs/ca-certificates.crt", 0, 0 },
    { "AUTOSTAPLE_RESPONDER", URL, "", 0, 0 },
    { "AUTOSTAPLE_TIMEOUT", DURATION, "10", 1, 120 },
    { "AUTOSTAPLE_MAX_RESPONSE", SIZE, "16384", 512, 65535 },
    { "AUTOSTAPLE_RETRY_MIN", DURATION, "5", 1, 3600 },
    { "AUTOSTAPLE_RETRY_MAX", DURATION, "3600", 10, 86400 },
    { "AUTOSTAPLE_MAX_AGE", DURATION, "86400", 60, 864000 },
    { "AUTOSTAPLE_SKEW", DURATION, "300", 0, 3600 },
    { "AUTOSTAPLE_FETCH_ISSUER", BOOL, "1", 0, 1 },
    { "AUTOSTAPLE_CACHE_DIR", DIR, "", 0, 0 },
    { "AUTOSTAPLE_MAX_CERTS", SIZE, "10000", 1, 1000000 },   /* a count: plain digits too */
    { "AUTOSTAPLE_STARTUP_WAIT", DURATION, "2", 0, 30 },
    { "AUTOSTAPLE_MAX_FETCHES", SIZE, "4", 1, 64 },          /* a count: plain digits too */
    { "AUTOSTAPLE_METRICS_DIR", DIR, "", 0, 0 },
    { "AUTOSTAPLE_METRICS_INTERVAL", DURATION, "15", 1, 3600 },
    { "AUTOSTAPLE_OCSP_FILES", BOOL, "1", 0, 1 },
    { "AUTOSTAPLE_PROXY", PROXY, "", 0, 0 },
};
#define NDOCS (sizeof(docs) / sizeof(docs[0]))

/* The environment of this input. */
static struct { char name[64]; char *value; } env[256];
static size_t nenv;
static char warnings[64][1400];
static size_t nwarn;

static const char *fake_getenv(const char *name)
{
    for (size_t i = 0; i < nenv; i++)
        if (strcmp(env[i].name, name) == 0)
            return env[i].value;
    return NULL;
}

static void collect(const char *msg)
{
    FUZZ_CHECK(memchr(msg, '\0', 1400) != NULL);
    if (nwarn < 64)
        snprintf(warnings[nwarn], sizeof(warnings[0]), "%s", msg);
    nwarn++;
}

static void *field(struct as_config *c, size_t i)
{
    void *f[NDOCS] = { &c->disable,   &c->log_level,    &c->log,         &c->ca_file,
                       &c->responder, &c->timeout,      &c->max_response, &c->retry_min,
                       &c->retry_max, &c->max_age,      &c->skew,         &c->fetch_issuer,
                       &c->cache_dir, &c->max_certs,    &c->startup_wait, &c->max_fetches,
                       &c->metrics_dir, &c->metrics_interval, &c->ocsp_files, &c->proxy };
    return f[i];
}

static int text(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* Documented duration syntax, written apart from config.c: digits, then
 * at most one of s, m, h, d; -1 if malformed or too large for a long. */
static long duration(const char *s)
{
    size_t digits = strspn(s, "0123456789");
    if (digits == 0 || (s[digits] != '\0' && (strchr("smhd", s[digits]) == NULL ||
                                              s[digits + 1] != '\0')))
        return -1;
    long unit = s[digits] == 'm' ? 60 : s[digits] == 'h' ? 3600 : s[digits] == 'd' ? 86400 : 1;
    long v = 0;
    for (size_t i = 0; i < digits; i++) {
        if (v > (LONG_MAX - (s[i] - '0')) / 10)
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v > LONG_MAX / unit ? -1 : v * unit;
}

static int boolean(const char *s)
{
    const char *yes[] = { "1", "true", "yes", "on" }, *no[] = { "0", "false", "no", "off" };
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
        else if (strcasecmp(s, no[i]) == 0)
            return 0;
    return -1;
}

static int level(const char *s)
{
    return strcasecmp(s, "error") == 0 ? AS_ERROR
         : strcasecmp(s, "warn") == 0 || strcasecmp(s, "warning") == 0 ? AS_WARN
         : strcasecmp(s, "info") == 0 ? AS_INFO
         : strcasecmp(s, "debug") == 0 ? AS_DEBUG
         : strcasecmp(s, "quiet") == 0 ? AS_QUIET : -2;
}

/* Is v within what the documentation allows for d? */
static int valid(const struct doc *d, const char *v)
{
    size_t n = strlen(v);
    switch (d->kind) {
    case BOOL: return boolean(v) >= 0;
    case LEVEL: return level(v) != -2;
    case DURATION:
    case SIZE: {
        /* Sizes are plain numbers: only durations take a suffix. */
        long x = d->kind == SIZE && strspn(v, "0123456789") != n ? -1 : duration(v);
        return x >= d->min && x <= d->max;
    }
    case LOG: return n > 0 && n < 1024 && text(v) &&
                     (v[0] == '/' || strcmp(v, "stderr") == 0 || strcmp(v, "syslog") == 0);
    case PATH: return n < 1024 && text(v) && v[0] == '/';
    case URL:
    case PROXY: {
        /* Printable ASCII without spaces, http:// or https:// and a host;
         * a proxy may also be "direct". */
        if (d->kind == PROXY && strcasecmp(v, "direct") == 0)
            return 1;
        for (size_t k = 0; k < n; k++)
            if ((unsigned char)v[k] <= 0x20 || (unsigned char)v[k] >= 0x7f)
                return 0;
        return n < 1024 && (n == 0 || (strncasecmp(v, "http://", 7) == 0 && n > 7) ||
                            (strncasecmp(v, "https://", 8) == 0 && n > 8));
    }
    case DIR: return n < 1024 && text(v) && (n == 0 || v[0] == '/');
    }
    return 0;
}

/* The field for d holds the value v (already known valid). */
static int holds(struct as_config *c, size_t i, const char *v)
{
    const struct doc *d = &docs[i];
    void *f = field(c, i);
    switch (d->kind) {
    case BOOL: return *(int *)f == boolean(v);
    case LEVEL: return *(int *)f == level(v);
    case DURATION:
    case SIZE: return *(long *)f == duration(v);
    default: return strcmp((char *)f, v) == 0;
    }
}

static void parse_env(const uint8_t *data, size_t size, char *copy)
{
    memcpy(copy, data, size);
    copy[size] = '\0';
    nenv = 0;
    for (char *line = copy, *next; line != NULL && nenv < 256; line = next) {
        next = memchr(line, '\n', (size_t)(copy + size - line));
        if (next != NULL)
            *next++ = '\0';
        char *eq = strchr(line, '=');
        if (eq == NULL || (size_t)(eq - line) >= sizeof(env[0].name))
            continue;
        *eq = '\0';
        if (fake_getenv(line) == NULL) {
            snprintf(env[nenv].name, sizeof(env[0].name), "%s", line);
            env[nenv++].value = eq + 1;
        }
    }
}

/* This table and config.c's name the same variables: one config.c added
 * and this table lacks would otherwise surface only as a warning count off
 * by one, on the rare input that sets it. */
static void same_variables(void)
{
    size_t i = 0;
    for (const char *name; (name = as_config_var(i, NULL)) != NULL; i++) {
        size_t k = 0;
        while (k < NDOCS && strcmp(name, docs[k].name) != 0)
            k++;
        if (k == NDOCS)
            fprintf(stderr, "fuzz_config: config.c reads %s, which this table lacks\n", name);
        FUZZ_CHECK(k < NDOCS);
    }
    FUZZ_CHECK(i == NDOCS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int checked;
    if (!checked) {
        same_variables();
        checked = 1;
    }
    if (size > 65536)
        return 0;
    char *copy = malloc(size + 1);
    FUZZ_CHECK(copy != NULL);
    parse_env(data, size, copy);

    struct as_config c;
    memset(&c, 0xa5, sizeof(c));
    nwarn = 0;
    int bad = as_config_load(&c, fake_getenv, collect);
    FUZZ_CHECK(bad >= 0 && (size_t)bad == nwarn);

    size_t expect_bad = 0;
    for (size_t i = 0; i < NDOCS; i++) {
        const struct doc *d = &docs[i];
        const char *v = fake_getenv(d->name);
        void *f = field(&c, i);
        if (d->kind == BOOL || d->kind == LEVEL)
            FUZZ_CHECK(*(int *)f >= d->min && *(int *)f <= d->max);
        else if (d->kind == DURATION || d->kind == SIZE)
            FUZZ_CHECK(*(long *)f >= d->min && *(long *)f <= d->max);
        else
            FUZZ_CHECK(memchr(f, '\0', 1024) != NULL && valid(d, f));
        if (v != NULL && valid(d, v)) {
            FUZZ_CHECK(holds(&c, i, v));
        } else {
            FUZZ_CHECK(holds(&c, i, d->def));
            if (v != NULL) {
                /* A warning names it. */
                size_t len = strlen(d->name), w = 0;
                while (w < nwarn && w < 64 &&
                       (strncmp(warnings[w], d->name, len) != 0 || warnings[w][len] != '='))
                    w++;
                FUZZ_CHECK(w < nwarn);
                expect_bad++;
            }
        }
    }
    FUZZ_CHECK(expect_bad == nwarn);

    for (size_t i = 0; i < nenv; i++) {
        FUZZ_CHECK(as_parse_duration(env[i].value) == duration(env[i].value));
        FUZZ_CHECK(as_parse_bool(env[i].value) == boolean(env[i].value));
    }
    free(copy);
    return 0;
}
