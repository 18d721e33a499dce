/* config.c: the AUTOSTAPLE_* table.  See config.h. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "log.h"

static struct as_config in_use; /* as_config_use */

enum kind { BOOL, LEVEL, DURATION, SIZE, COUNT, PATH, DIRECTORY, URL, LOGTARGET, PROXY };

struct option {
    const char *name;
    enum kind kind;
    size_t offset;
    const char *def;
    long min, max; /* for DURATION, SIZE and COUNT */
};

#define F(field) offsetof(struct as_config, field)

static const struct option options[] = {
    { "AUTOSTAPLE_DISABLE", BOOL, F(disable), "0", 0, 0 },
    { "AUTOSTAPLE_LOG_LEVEL", LEVEL, F(log_level), "info", 0, 0 },
    { "AUTOSTAPLE_LOG", LOGTARGET, F(log), "stderr", 0, 0 },
    { "AUTOSTAPLE_CA_FILE", PATH, F(ca_file), "/etc/ssl/certs/ca-certificates.crt", 0, 0 },
    { "AUTOSTAPLE_RESPONDER", URL, F(responder), "", 0, 0 },
    { "AUTOSTAPLE_TIMEOUT", DURATION, F(timeout), "10", 1, 120 },
    { "AUTOSTAPLE_MAX_RESPONSE", SIZE, F(max_response), "16384", 512, 65535 },
    { "AUTOSTAPLE_RETRY_MIN", DURATION, F(retry_min), "5", 1, 3600 },
    { "AUTOSTAPLE_RETRY_MAX", DURATION, F(retry_max), "3600", 10, 86400 },
    { "AUTOSTAPLE_MAX_AGE", DURATION, F(max_age), "86400", 60, 864000 },
    { "AUTOSTAPLE_SKEW", DURATION, F(skew), "300", 0, 3600 },
    { "AUTOSTAPLE_FETCH_ISSUER", BOOL, F(fetch_issuer), "1", 0, 0 },
    { "AUTOSTAPLE_STARTUP_WAIT", DURATION, F(startup_wait), "2", 0, 30 },
    { "AUTOSTAPLE_CACHE_DIR", DIRECTORY, F(cache_dir), "", 0, 0 },
    { "AUTOSTAPLE_MAX_CERTS", COUNT, F(max_certs), "10000", 1, 1000000 },
    { "AUTOSTAPLE_MAX_FETCHES", COUNT, F(max_fetches), "4", 1, 64 },
    { "AUTOSTAPLE_METRICS_DIR", DIRECTORY, F(metrics_dir), "", 0, 0 },
    { "AUTOSTAPLE_METRICS_INTERVAL", DURATION, F(metrics_interval), "15", 1, 3600 },
    { "AUTOSTAPLE_OCSP_FILES", BOOL, F(ocsp_files), "1", 0, 0 },
    { "AUTOSTAPLE_PROXY", PROXY, F(proxy), "", 0, 0 },
};

/* Read outside the table: by the preloaded object (preload.c). */
static const char *const other_names[] = { "AUTOSTAPLE_CORE" };
#define NAMES (sizeof(options) / sizeof(options[0]) + sizeof(other_names) / sizeof(other_names[0]))

static const char *known_name(size_t i)
{
    size_t n = sizeof(options) / sizeof(options[0]);
    return i < n ? options[i].name : other_names[i - n];
}

const char *as_config_var(size_t i, const char **def)
{
    if (i >= sizeof(options) / sizeof(options[0]))
        return NULL;
    if (def != NULL)
        *def = options[i].def;
    return options[i].name;
}

int as_parse_bool(const char *s)
{
    static const char *const yes[] = { "1", "true", "yes", "on" };
    static const char *const no[] = { "0", "false", "no", "off" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
        if (strcasecmp(s, no[i]) == 0)
            return 0;
    }
    return -1;
}

static int parse_level(const char *s)
{
    static const struct { const char *name; int level; } levels[] = {
        { "error", AS_ERROR }, { "warn", AS_WARN }, { "warning", AS_WARN },
        { "info", AS_INFO },   { "debug", AS_DEBUG }, { "quiet", AS_QUIET },
    };
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
        if (strcasecmp(s, levels[i].name) == 0)
            return levels[i].level;
    return -2;
}

long as_parse_duration(const char *s)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9')
        return -1;
    long v = strtol(s, &end, 10);
    if (errno != 0)
        return -1;
    long unit = 1;
    if (*end != '\0') {
        switch (*end) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        default: return -1;
        }
        if (end[1] != '\0')
            return -1;
    }
    if (v > LONG_MAX / unit)
        return -1;
    return v * unit;
}

static long parse_size(const char *s)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9')
        return -1;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    return v;
}

static int text_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* http:// or https:// and a host, printable ASCII without spaces (as an AIA
 * URL must be, aia.c). */
static int url_ok(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return 0;
    return (strncasecmp(s, "http://", 7) == 0 && s[7] != '\0') ||
           (strncasecmp(s, "https://", 8) == 0 && s[8] != '\0');
}

/* Stores value (or, if it is bad, the default) into cfg.  Returns 0 if the
 * value was bad. */
static int apply(struct as_config *cfg, const struct option *o, const char *value)
{
    char *field = (char *)cfg + o->offset;
    int ok = 1;
    long n;
    switch (o->kind) {
    case BOOL:
        n = as_parse_bool(value);
        ok = n >= 0;
        *(int *)field = ok ? (int)n : as_parse_bool(o->def);
        break;
    case LEVEL:
        n = parse_level(value);
        ok = n >= -1;
        *(int *)field = ok ? (int)n : parse_level(o->def);
        break;
    case DURATION:
    case SIZE:
    case COUNT:
        n = o->kind == DURATION ? as_parse_duration(value) : parse_size(value);
        ok = n >= o->min && n <= o->max;
        *(long *)field = ok ? n : strtol(o->def, NULL, 10);
        break;
    case PATH: /* absolute: a daemon's working directory is anyone's guess */
    case LOGTARGET:
        ok = strlen(value) < 1024 && text_ok(value) &&
             (value[0] == '/' ||
              (o->kind == LOGTARGET &&
               (strcmp(value, "stderr") == 0 || strcmp(value, "syslog") == 0)));
        snprintf(field, 1024, "%s", ok ? value : o->def);
        break;
    case DIRECTORY: /* absolute, or "" for none */
        ok = strlen(value) < 1024 && text_ok(value) && (value[0] == '\0' || value[0] == '/');
        snprintf(field, 1024, "%s", ok ? value : o->def);
        break;
    case URL:
        ok = strlen(value) < 1024 && (value[0] == '\0' || url_ok(value));
        snprintf(field, 1024, "%s", ok ? value : o->def);
        break;
    case PROXY: /* "" (libcurl's variables), "direct", or an http(s) URL */
        ok = strlen(value) < 1024 &&
             (value[0] == '\0' || strcasecmp(value, "direct") == 0 || url_ok(value));
        snprintf(field, 1024, "%s", ok ? value : o->def);
        break;
    }
    return ok;
}

int as_config_load(struct as_config *cfg, const char *(*getenv_fn)(const char *),
                   void (*warn)(const char *msg))
{
    int bad = 0;
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        const struct option *o = &options[i];
        const char *v = getenv_fn(o->name);
        if (v == NULL) {
            apply(cfg, o, o->def);
            continue;
        }
        if (!apply(cfg, o, v)) {
            /* The value as the user may not have meant it: cut, and with
             * its control characters (a newline would forge a log line)
             * and other odd bytes escaped. */
            char msg[AS_CONFIG_WARNING_MAX], shown[AS_CONFIG_SHOWN_MAX * 4 + 4];
            as_log_quote(v, strlen(v), AS_CONFIG_SHOWN_MAX, shown, sizeof(shown));
            if (o->kind == DURATION || o->kind == SIZE || o->kind == COUNT)
                snprintf(msg, sizeof(msg),
                         "%s=\"%s\" is not valid (%s from %ld to %ld); using the default %s",
                         o->name, shown,
                         o->kind == DURATION ? "seconds" : o->kind == SIZE ? "bytes" : "a number",
                         o->min, o->max, o->def[0] ? o->def : "(none)");
            else if ((o->kind == PATH || o->kind == DIRECTORY || o->kind == LOGTARGET) &&
                     v[0] != '/' && text_ok(v) && strlen(v) < 1024)
                snprintf(msg, sizeof(msg),
                         "%s=\"%s\" is not valid (an absolute path is needed%s: a daemon's "
                         "working directory is anyone's guess); using the default %s",
                         o->name, shown, o->kind == LOGTARGET ? ", or stderr or syslog" : "",
                         o->def[0] ? o->def : "(none)");
            else
                snprintf(msg, sizeof(msg), "%s=\"%s\" is not valid; using the default %s",
                         o->name, shown, o->def[0] ? o->def : "(none)");
            warn(msg);
            bad++;
        }
    }
    return bad;
}

#define PREFIX "AUTOSTAPLE_"
#define NAME_MAX_LEN 64      /* longer names are nobody's misspelling of ours */
#define UNKNOWN_SAID_MAX 8   /* said one by one; more are counted */

/* Levenshtein distance between a (alen bytes) and b, case-insensitive;
 * both at most NAME_MAX_LEN bytes. */
static size_t distance(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b), row[NAME_MAX_LEN + 1];
    for (size_t j = 0; j <= blen; j++)
        row[j] = j;
    for (size_t i = 1; i <= alen; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= blen; j++) {
            size_t up = row[j];
            size_t cost = toupper((unsigned char)a[i - 1]) != toupper((unsigned char)b[j - 1]);
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[blen];
}

int as_config_unknown(char *const *env, void (*warn)(const char *msg))
{
    int unknown = 0;
    for (; env != NULL && *env != NULL; env++) {
        const char *name = *env, *eq = strchr(name, '=');
        size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        size_t plen = strlen(PREFIX);
        /* Ours, or meant to be: its start is within two edits of the
         * prefix (AUTOSTAPEL_, AUTSTAPLE_, autostaple_). */
        if (len < plen - 2 || len > NAME_MAX_LEN ||
            distance(name, len < plen ? len : plen, PREFIX) > 2)
            continue;
        size_t best = 0, best_d = (size_t)-1;
        int known = 0;
        for (size_t i = 0; i < NAMES && !known; i++) {
            const char *k = known_name(i);
            known = strlen(k) == len && memcmp(k, name, len) == 0;
            size_t d = distance(name, len, k);
            if (d < best_d)
                best = i, best_d = d;
        }
        if (known || ++unknown > UNKNOWN_SAID_MAX)
            continue;
        char msg[AS_CONFIG_WARNING_MAX], shown[NAME_MAX_LEN * 4 + 4];
        as_log_quote(name, len, NAME_MAX_LEN, shown, sizeof(shown));
        if (best_d <= 4)
            snprintf(msg, sizeof(msg), "unknown variable %s ignored: did you mean %s?", shown,
                     known_name(best));
        else
            snprintf(msg, sizeof(msg), "unknown variable %s ignored (the variables: "
                     "libautostaple(7), ENVIRONMENT)", shown);
        warn(msg);
    }
    if (unknown > UNKNOWN_SAID_MAX) {
        char msg[AS_CONFIG_WARNING_MAX];
        snprintf(msg, sizeof(msg), "and %d more unknown AUTOSTAPLE_* variables ignored",
                 unknown - UNKNOWN_SAID_MAX);
        warn(msg);
    }
    return unknown;
}

void as_config_use(const struct as_config *cfg)
{
    in_use = *cfg;
}

const struct as_config *as_config(void)
{
    return &in_use;
}
