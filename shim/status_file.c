/* status_file.c: the per-process status file's format, written by the
 * reporter (report.c) and read by `autostaple status` (tools/status.c).
 * See report.h. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ocsp.h>

#include "status_file.h"

#define MAGIC "autostaple-status: 1"

void as_format_time(time_t t, char *buf, size_t len)
{
    struct tm tm;
    if (t == 0 || gmtime_r(&t, &tm) == NULL) {
        snprintf(buf, len, "-");
        return;
    }
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

time_t as_parse_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || (*end != '\0' && *end != ' '))
        return 0;
    return timegm(&tm);
}

/* "key: value\n", the value on one line: control characters and backslash
 * as \xNN. */
static void field(FILE *out, const char *key, const char *value)
{
    fprintf(out, "%s: ", key);
    if (value == NULL || value[0] == '\0')
        value = "-";
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '\\')
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
    fputc('\n', out);
}

static void time_field(FILE *out, const char *key, time_t t, const char *suffix)
{
    char buf[64], line[128];
    as_format_time(t, buf, sizeof(buf));
    snprintf(line, sizeof(line), "%s%s", buf, t != 0 && suffix ? suffix : "");
    field(out, key, line);
}

static const char *status_name(int status)
{
    switch (status) {
    case V_OCSP_CERTSTATUS_GOOD: return "good";
    case V_OCSP_CERTSTATUS_REVOKED: return "revoked";
    case V_OCSP_CERTSTATUS_UNKNOWN: return "unknown";
    default: return "none";
    }
}

void as_status_write(FILE *out, const struct as_process_view *p,
                     const struct as_cert_view *certs, size_t n)
{
    char buf[64];
    fprintf(out, "%s\n", MAGIC);
    snprintf(buf, sizeof(buf), "%ld", (long)p->pid);
    field(out, "pid", buf);
    field(out, "program", p->program);
    snprintf(buf, sizeof(buf), "%llu", p->start_ticks);
    field(out, "start_ticks", buf);
    snprintf(buf, sizeof(buf), "%ld", p->uid);
    field(out, "uid", buf);
    if (p->learned_uid >= 0) { /* it refreshes without the rights they were learned with */
        snprintf(buf, sizeof(buf), "%ld", p->learned_uid);
        field(out, "learned_uid", buf);
    }
    time_field(out, "written", p->now, NULL);
    fputc('\n', out);
    for (size_t i = 0; i < n; i++) {
        const struct as_cert_view *c = &certs[i];
        char result[600];
        field(out, "certificate", c->subject);
        field(out, "serial", c->serial);
        field(out, "responder", c->responder);
        field(out, "must_staple", c->must_staple ? "yes" : "no");
        field(out, "status", status_name(c->status));
        time_field(out, "produced", c->produced, NULL);
        time_field(out, "this_update", c->this_update, NULL);
        if (c->status >= 0 && c->max_age)
            time_field(out, "next_update", c->expires, " (AUTOSTAPLE_MAX_AGE)");
        else
            time_field(out, "next_update", c->status >= 0 ? c->next_update : 0, NULL);
        time_field(out, "expires", c->expires, NULL);
        as_format_time(c->last_fetch, buf, sizeof(buf));
        snprintf(result, sizeof(result), "%s%s%s", buf, c->last_fetch ? " " : "",
                 c->last_fetch ? c->last_result : "");
        field(out, "last_fetch", result);
        as_format_time(c->last_error_at, buf, sizeof(buf));
        snprintf(result, sizeof(result), "%s%s%s", buf, c->last_error_at ? " " : "",
                 c->last_error_at ? c->last_error : "");
        field(out, "last_error", result);
        if (c->fetching)
            field(out, "next_fetch", "now (in progress)");
        else
            time_field(out, "next_fetch", c->next_fetch, NULL);
        snprintf(buf, sizeof(buf), "%lu", c->staples);
        field(out, "staples", buf);
        snprintf(buf, sizeof(buf), "%lu", c->unstapled);
        field(out, "unstapled", buf);
        fputc('\n', out);
    }
}

/* Copies the value of line (after "key: ") into out, \xNN decoded back
 * except control characters, which stay escaped for the terminal. */
static void copy_value(const char *v, size_t vlen, char *out)
{
    size_t j = 0;
    for (size_t i = 0; i < vlen && j < AS_STATUS_FIELD - 1; i++) {
        unsigned x;
        if (v[i] == '\\' && i + 3 < vlen && v[i + 1] == 'x' &&
            sscanf(v + i + 2, "%2x", &x) == 1 && x == '\\') {
            out[j++] = '\\';
            i += 3;
        } else {
            out[j++] = v[i];
        }
    }
    out[j] = '\0';
    if (strcmp(out, "-") == 0)
        out[0] = '\0';
}

#define CERT_FIELD(name) { #name, offsetof(struct as_status_cert, name) }
static const struct { const char *key; size_t offset; } cert_fields[] = {
    { "certificate", offsetof(struct as_status_cert, subject) },
    CERT_FIELD(serial), CERT_FIELD(responder), CERT_FIELD(status), CERT_FIELD(produced),
    CERT_FIELD(this_update), CERT_FIELD(next_update), CERT_FIELD(last_fetch),
    CERT_FIELD(last_error), CERT_FIELD(next_fetch), CERT_FIELD(staples),
    CERT_FIELD(must_staple),
};

int as_status_parse(const char *text, struct as_status_file *f)
{
    memset(f, 0, sizeof(*f));
    f->pid = -1;
    f->uid = f->learned_uid = -1;
    size_t cap = 0;
    struct as_status_cert *cur = NULL;
    if (strncmp(text, MAGIC "\n", strlen(MAGIC) + 1) != 0)
        return 0;
    for (const char *line = text; *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        const char *colon = memchr(line, ':', len);
        if (len == 0) {
            cur = NULL; /* a block ends */
        } else if (colon != NULL && colon + 1 < line + len && colon[1] == ' ') {
            size_t klen = (size_t)(colon - line);
            const char *v = colon + 2;
            size_t vlen = len - klen - 2;
            char value[AS_STATUS_FIELD];
            copy_value(v, vlen, value);
            if (klen == 11 && strncmp(line, "certificate", 11) == 0) {
                if (f->n == cap) {
                    size_t ncap = cap ? cap * 2 : 8;
                    struct as_status_cert *g = realloc(f->certs, ncap * sizeof(*g));
                    if (g == NULL) {
                        as_status_free(f);
                        return 0;
                    }
                    f->certs = g;
                    cap = ncap;
                }
                cur = &f->certs[f->n++];
                memset(cur, 0, sizeof(*cur));
            }
            if (cur != NULL) {
                for (size_t i = 0; i < sizeof(cert_fields) / sizeof(cert_fields[0]); i++)
                    if (strlen(cert_fields[i].key) == klen &&
                        strncmp(line, cert_fields[i].key, klen) == 0)
                        memcpy((char *)cur + cert_fields[i].offset, value, sizeof(value));
            } else if (klen == 3 && strncmp(line, "pid", 3) == 0) {
                f->pid = strtol(value, NULL, 10);
            } else if (klen == 11 && strncmp(line, "start_ticks", 11) == 0) {
                f->start_ticks = strtoull(value, NULL, 10);
            } else if (klen == 7 && strncmp(line, "program", 7) == 0) {
                memcpy(f->program, value, sizeof(value));
            } else if (klen == 7 && strncmp(line, "written", 7) == 0) {
                memcpy(f->written, value, sizeof(value));
            } else if (klen == 3 && strncmp(line, "uid", 3) == 0) {
                f->uid = strtol(value, NULL, 10);
            } else if (klen == 11 && strncmp(line, "learned_uid", 11) == 0) {
                f->learned_uid = strtol(value, NULL, 10);
            }
        }
        line += len + (eol != NULL);
    }
    if (f->pid <= 0) {
        as_status_free(f);
        return 0;
    }
    return 1;
}

void as_status_free(struct as_status_file *f)
{
    free(f->certs);
    f->certs = NULL;
    f->n = 0;
}

unsigned long long as_process_start_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    FILE *in = fopen(path, "re");
    if (in == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, in);
    fclose(in);
    buf[n] = '\0';
    /* The command name (field 2) is in parentheses and may hold anything:
     * count from the last ')'.  Field 3 follows it; starttime is field 22. */
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return 0;
    p++;
    for (int field_no = 3; field_no <= 22; field_no++) {
        while (*p == ' ')
            p++;
        if (field_no == 22)
            return strtoull(p, NULL, 10);
        while (*p && *p != ' ')
            p++;
    }
    return 0;
}
