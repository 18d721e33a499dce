/* The AUTOSTAPLE_* table: defaults, parsing, ranges, one warning per bad
 * value naming the variable and the default. */
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "tap.h"

static const char *env[][2] = { { NULL, NULL } };
static const char *(*pairs)[2] = env;
static char warnings[16][1400];
static int nwarn;

static const char *fake_getenv(const char *name)
{
    for (int i = 0; pairs[i][0] != NULL; i++)
        if (strcmp(pairs[i][0], name) == 0)
            return pairs[i][1];
    return NULL;
}

static void collect(const char *msg)
{
    if (nwarn < 16)
        snprintf(warnings[nwarn], sizeof(warnings[0]), "%s", msg);
    nwarn++;
}

static int load(const char *(*p)[2], struct as_config *cfg)
{
    pairs = p;
    nwarn = 0;
    return as_config_load(cfg, fake_getenv, collect);
}

int main(void)
{
    struct as_config c;

    ok(load(env, &c) == 0 && nwarn == 0, "an empty environment is valid");
    is_long(c.disable, 0, "DISABLE defaults to 0");
    is_long(c.log_level, AS_INFO, "LOG_LEVEL defaults to info");
    is_str(c.log, "stderr", "LOG defaults to stderr");
    is_str(c.ca_file, "/etc/ssl/certs/ca-certificates.crt", "CA_FILE defaults to the system bundle");
    is_str(c.responder, "", "RESPONDER defaults to the AIA URL");
    is_long(c.timeout, 10, "TIMEOUT defaults to 10 s");
    is_long(c.max_response, 16384, "MAX_RESPONSE defaults to 16384");
    is_long(c.retry_min, 5, "RETRY_MIN defaults to 5 s");
    is_long(c.retry_max, 3600, "RETRY_MAX defaults to 3600 s");
    is_long(c.max_age, 86400, "MAX_AGE defaults to a day");
    is_long(c.fetch_issuer, 1, "FETCH_ISSUER defaults to on");
    is_long(c.startup_wait, 2, "STARTUP_WAIT defaults to 2 s");
    is_str(c.cache_dir, "", "CACHE_DIR defaults to none");

    const char *good[][2] = {
        { "AUTOSTAPLE_DISABLE", "yes" }, { "AUTOSTAPLE_LOG_LEVEL", "DEBUG" },
        { "AUTOSTAPLE_LOG", "/var/log/as.log" }, { "AUTOSTAPLE_TIMEOUT", "2m" },
        { "AUTOSTAPLE_RESPONDER", "http://127.0.0.1:9/ocsp" },
        { "AUTOSTAPLE_RETRY_MAX", "1h" }, { "AUTOSTAPLE_FETCH_ISSUER", "off" },
        { NULL, NULL } };
    ok(load(good, &c) == 0 && nwarn == 0, "valid values produce no warning");
    is_long(c.disable, 1, "yes is true");
    is_long(c.log_level, AS_DEBUG, "levels are case-insensitive");
    is_str(c.log, "/var/log/as.log", "a log file path");
    is_long(c.timeout, 120, "2m is 120 s");
    is_str(c.responder, "http://127.0.0.1:9/ocsp", "a responder URL");
    is_long(c.retry_max, 3600, "1h is 3600 s");
    is_long(c.fetch_issuer, 0, "off is false");

    const char *bad[][2] = {
        { "AUTOSTAPLE_DISABLE", "perhaps" }, { "AUTOSTAPLE_LOG_LEVEL", "loud" },
        { "AUTOSTAPLE_TIMEOUT", "0" }, { "AUTOSTAPLE_MAX_RESPONSE", "10x" },
        { "AUTOSTAPLE_RESPONDER", "ldap://x" }, { "AUTOSTAPLE_LOG", "relative.log" },
        { "AUTOSTAPLE_RETRY_MIN", "-5" }, { "AUTOSTAPLE_CACHE_DIR", "var/cache" },
        { NULL, NULL } };
    is_long(load(bad, &c), 8, "eight bad values counted");
    is_long(nwarn, 8, "one warning each");
    ok(strstr(warnings[0], "AUTOSTAPLE_DISABLE") && strstr(warnings[0], "default 0"),
       "the warning names the variable and the default: %s", warnings[0]);
    int ranged = 0;
    for (int i = 0; i < 8; i++)
        ranged |= strstr(warnings[i], "AUTOSTAPLE_TIMEOUT") && strstr(warnings[i], "1 to 120");
    ok(ranged, "the warning for a number states its range");
    is_long(c.disable, 0, "a bad bool keeps the default");
    is_long(c.log_level, AS_INFO, "a bad level keeps the default");
    is_long(c.timeout, 10, "an out-of-range timeout keeps the default");
    is_long(c.max_response, 16384, "a malformed size keeps the default");
    is_str(c.responder, "", "a non-HTTP responder keeps the default");
    is_str(c.log, "stderr", "a relative log path keeps the default");
    is_str(c.cache_dir, "", "a relative cache directory keeps the default (none)");

    is_long(as_parse_duration("90"), 90, "plain seconds");
    is_long(as_parse_duration("3d"), 259200, "days");
    is_long(as_parse_duration("5ms"), -1, "trailing garbage");
    is_long(as_parse_duration(""), -1, "empty");
    is_long(as_parse_duration("99999999999999999999"), -1, "overflow");
    is_long(as_parse_bool("ON"), 1, "ON");
    is_long(as_parse_bool("2"), -1, "2 is not a bool");
    return tap_done();
}
