/* The AUTOSTAPLE_* table: defaults, parsing, ranges, one warning per bad
 * value naming the variable and the default. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "tap.h"

static const char *env[][2] = { { NULL, NULL } };
static const char *(*pairs)[2] = env;
static char warnings[16][AS_CONFIG_WARNING_MAX + 100];
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
    is_long(c.max_fetches, 4, "MAX_FETCHES defaults to 4");
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

    /* Nonsense in every variable, one at a time: one warning, naming the
     * variable, showing the value safely, and the default stands. */
    static const char *const defaults[][2] = {
        { "AUTOSTAPLE_DISABLE", "0" }, { "AUTOSTAPLE_LOG_LEVEL", "info" },
        { "AUTOSTAPLE_LOG", "stderr" },
        { "AUTOSTAPLE_CA_FILE", "/etc/ssl/certs/ca-certificates.crt" },
        { "AUTOSTAPLE_RESPONDER", "(none)" }, { "AUTOSTAPLE_TIMEOUT", "10" },
        { "AUTOSTAPLE_MAX_RESPONSE", "16384" }, { "AUTOSTAPLE_RETRY_MIN", "5" },
        { "AUTOSTAPLE_RETRY_MAX", "3600" }, { "AUTOSTAPLE_MAX_AGE", "86400" },
        { "AUTOSTAPLE_SKEW", "300" }, { "AUTOSTAPLE_FETCH_ISSUER", "1" },
        { "AUTOSTAPLE_STARTUP_WAIT", "2" }, { "AUTOSTAPLE_CACHE_DIR", "(none)" },
        { "AUTOSTAPLE_MAX_CERTS", "10000" }, { "AUTOSTAPLE_MAX_FETCHES", "4" },
    };
    static char huge[5001];
    memset(huge, '9', 5000);
    const char *nonsense[] = { "", "banana", "-1", "99999999999999999999", "1e9", " 5", "5 ",
                               "0x10", "5\nautostaple[x 1]: error: forged", "\x80\xff",
                               "http://", "relative/path", huge };
    struct as_config def;
    load(env, &def);
    int all_once = 1, all_named = 1, all_default = 1, all_safe = 1;
    for (size_t v = 0; v < sizeof(defaults) / sizeof(defaults[0]); v++)
        for (size_t n = 0; n < sizeof(nonsense) / sizeof(nonsense[0]); n++) {
            const char *one[][2] = { { defaults[v][0], nonsense[n] }, { NULL, NULL } };
            int none_ok = nonsense[n][0] == '\0' && strcmp(defaults[v][1], "(none)") == 0;
            load(one, &c);
            if (nwarn != (none_ok ? 0 : 1)) {
                all_once = 0;
                printf("# %s=\"%.20s\": %d warnings\n", defaults[v][0], nonsense[n], nwarn);
                continue;
            }
            if (memcmp(&c, &def, sizeof(c)) != 0) {
                all_default = 0;
                printf("# %s=\"%.20s\": not the default\n", defaults[v][0], nonsense[n]);
            }
            if (none_ok)
                continue;
            char want[64];
            snprintf(want, sizeof(want), "using the default %s", defaults[v][1]);
            if (strncmp(warnings[0], defaults[v][0], strlen(defaults[v][0])) != 0 ||
                strstr(warnings[0], want) == NULL) {
                all_named = 0;
                printf("# %s\n", warnings[0]);
            }
            for (const char *p = warnings[0]; *p; p++)
                if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                    all_safe = 0;
            if (strlen(warnings[0]) >= AS_CONFIG_WARNING_MAX - 1)
                all_safe = 0;
        }
    ok(all_once, "nonsense in any variable: exactly one warning (none for \"\" where it means none)");
    ok(all_named, "each names the variable and the default used");
    ok(all_default, "and the default stands");
    ok(all_safe, "each is one printable line, not cut");
    const char *nl[][2] = { { "AUTOSTAPLE_TIMEOUT", "5\nx\x80\"" }, { NULL, NULL } };
    load(nl, &c);
    ok(strstr(warnings[0], "AUTOSTAPLE_TIMEOUT=\"5\\x0ax\\x80\\x22\" is not valid"),
       "odd bytes are shown escaped: %s", warnings[0]);
    const char *big[][2] = { { "AUTOSTAPLE_MAX_RESPONSE", huge }, { NULL, NULL } };
    load(big, &c);
    ok(strstr(warnings[0], "99999...\" is not valid (bytes from 512 to 65535); using the "
                           "default 16384"), "a long value is cut: %s", warnings[0]);
    const char *count[][2] = { { "AUTOSTAPLE_MAX_CERTS", "0" }, { NULL, NULL } };
    load(count, &c);
    ok(strstr(warnings[0], "(a number from 1 to 1000000)"), "MAX_CERTS is a count, not bytes");
    const char *paths[][2] = { { "AUTOSTAPLE_CA_FILE", "/tmp/\xc3\xa9.pem" },
                               { "AUTOSTAPLE_RESPONDER", "HTTPS://[::1]:8080/ocsp" },
                               { NULL, NULL } };
    ok(load(paths, &c) == 0, "a path with UTF-8 in it and an IPv6 responder are fine");
    is_str(c.ca_file, "/tmp/\xc3\xa9.pem", "the path is kept as it is");

    /* Misspelled names: one warning each, naming the closest known one. */
    char *typos[] = { "PATH=/usr/bin", "AUTOSTAPLE_CACHEDIR=/var/cache/autostaple",
                      "AUTOSTAPEL_TIMEOUT=5", "autostaple_log_level=debug", "AUTSTAPLE_LOG=syslog",
                      "AUTOSTAPLE_TIMEOUT=5", "AUTOSTAPLE_CORE=/x.so", "AUTOSTART_X=1",
                      "AUTOSTAPLE_FROBNICATE_EVERYTHING_NOW=1", "AUTOSTAPLE_X\nerror: forged=1",
                      NULL };
    nwarn = 0;
    is_long(as_config_unknown(typos, collect), 6, "6 unknown names");
    is_long(nwarn, 6, "a warning each");
    is_str(warnings[0], "unknown variable AUTOSTAPLE_CACHEDIR ignored: did you mean "
                        "AUTOSTAPLE_CACHE_DIR?", "a missing underscore");
    is_str(warnings[1], "unknown variable AUTOSTAPEL_TIMEOUT ignored: did you mean "
                        "AUTOSTAPLE_TIMEOUT?", "a typo in the prefix");
    is_str(warnings[2], "unknown variable autostaple_log_level ignored: did you mean "
                        "AUTOSTAPLE_LOG_LEVEL?", "lower case (the names are case-sensitive)");
    is_str(warnings[3], "unknown variable AUTSTAPLE_LOG ignored: did you mean AUTOSTAPLE_LOG?",
           "a letter missing in the prefix");
    ok(strstr(warnings[4], "AUTOSTAPLE_FROBNICATE_EVERYTHING_NOW ignored (the variables: "
                           "libautostaple(7)") != NULL, "nothing close: no guess (%s)", warnings[4]);
    ok(strstr(warnings[5], "\\x0a") != NULL && strchr(warnings[5], '\n') == NULL,
       "a name with a newline is escaped (%s)", warnings[5]);
    char *many[20];
    char names[20][32];
    for (int i = 0; i < 19; i++) {
        snprintf(names[i], sizeof(names[i]), "AUTOSTAPLE_NOPE%d=1", i);
        many[i] = names[i];
    }
    many[19] = NULL;
    nwarn = 0;
    is_long(as_config_unknown(many, collect), 19, "19 unknown names");
    is_long(nwarn, 9, "8 said, then one line for the rest");
    is_str(warnings[8], "and 11 more unknown AUTOSTAPLE_* variables ignored", "the rest counted");

    is_long(as_parse_duration("90"), 90, "plain seconds");
    is_long(as_parse_duration("3d"), 259200, "days");
    is_long(as_parse_duration("5ms"), -1, "trailing garbage");
    is_long(as_parse_duration(""), -1, "empty");
    is_long(as_parse_duration("99999999999999999999"), -1, "overflow");
    is_long(as_parse_bool("ON"), 1, "ON");
    is_long(as_parse_bool("2"), -1, "2 is not a bool");
    return tap_done();
}
