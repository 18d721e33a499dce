/* config.h: every AUTOSTAPLE_* variable, read once.  The table in config.c
 * mirrors docs/configuration.md; keep them together. */
#ifndef AS_CONFIG_H
#define AS_CONFIG_H

#include <stddef.h>

struct as_config {
    int disable;          /* AUTOSTAPLE_DISABLE */
    int log_level;        /* AUTOSTAPLE_LOG_LEVEL (enum as_level) */
    char log[1024];       /* AUTOSTAPLE_LOG: stderr, syslog or a path */
    char ca_file[1024];   /* AUTOSTAPLE_CA_FILE: issuer search bundle */
    char responder[1024]; /* AUTOSTAPLE_RESPONDER: overrides AIA, "" = AIA */
    long timeout;         /* AUTOSTAPLE_TIMEOUT: seconds per exchange */
    long max_response;    /* AUTOSTAPLE_MAX_RESPONSE: bytes */
    long retry_min;       /* AUTOSTAPLE_RETRY_MIN: first retry, seconds */
    long retry_max;       /* AUTOSTAPLE_RETRY_MAX: backoff cap, seconds */
    long max_age;         /* AUTOSTAPLE_MAX_AGE: life of a response without nextUpdate */
    long skew;            /* AUTOSTAPLE_SKEW: tolerated clock difference, seconds */
    int fetch_issuer;     /* AUTOSTAPLE_FETCH_ISSUER: download AIA caIssuers */
    long startup_wait;    /* AUTOSTAPLE_STARTUP_WAIT: bound on waiting for first fetches */
    char cache_dir[1024]; /* AUTOSTAPLE_CACHE_DIR: saved responses, "" = none */
    long max_certs;       /* AUTOSTAPLE_MAX_CERTS: slots shared with forked workers */
    long max_fetches;     /* AUTOSTAPLE_MAX_FETCHES: exchanges with responders at a time */
    char metrics_dir[1024]; /* AUTOSTAPLE_METRICS_DIR: Prometheus textfile, "" = none */
    long metrics_interval;  /* AUTOSTAPLE_METRICS_INTERVAL: seconds between rewrites */
    int ocsp_files;       /* AUTOSTAPLE_OCSP_FILES: read <certificate file>.ocsp */
    char proxy[1024];     /* AUTOSTAPLE_PROXY: "" = libcurl's variables, "direct", or a URL */
};

/* A warning about a bad value shows at most AS_CONFIG_SHOWN_MAX bytes of it
 * and is shorter than AS_CONFIG_WARNING_MAX. */
#define AS_CONFIG_SHOWN_MAX 64
#define AS_CONFIG_WARNING_MAX 512

/* Fills cfg from getenv_fn (getenv in production).  Each bad value is
 * reported through warn (once, naming the variable and the default used) and
 * the default stands.  Returns the number of bad values. */
int as_config_load(struct as_config *cfg, const char *(*getenv_fn)(const char *),
                   void (*warn)(const char *msg));

/* Names in env (an environ list) that look like ours but are not (a
 * misspelling, in a systemd Environment= line, would otherwise silently
 * lose its setting): one warning each through warn, naming the closest
 * known variable, at most 8, then one saying how many more.  Returns how
 * many there are. */
int as_config_unknown(char *const *env, void (*warn)(const char *msg));

/* The table's variables, in order, for the command's options (tools/run.c):
 * the name of the i-th (NULL past the last), its default in *def if def is
 * not NULL. */
const char *as_config_var(size_t i, const char **def);

/* "30", "30s", "5m", "2h", "1d" -> seconds; -1 if malformed. */
long as_parse_duration(const char *s);
/* 1/true/yes/on -> 1, 0/false/no/off -> 0, else -1. */
int as_parse_bool(const char *s);

/* The process-wide configuration: as_config_use copies cfg in (the core at
 * activation, before any thread of ours; the command; tests), as_config
 * reads it (all zeros before the first as_config_use). */
void as_config_use(const struct as_config *cfg);
const struct as_config *as_config(void);

#endif
