/* status_file.h: the status file's format (status_file.c): written by the
 * reporter, read back by `autostaple status`.  Pure: unit-tested. */
#ifndef AS_STATUS_FILE_H
#define AS_STATUS_FILE_H

#include <stdio.h>
#include <sys/types.h>

#include "report_views.h"

/* "2026-11-21T10:49:00Z", or "-" for 0. */
void as_format_time(time_t t, char *buf, size_t len);
/* Its inverse; 0 for "-" or anything else. */
time_t as_parse_time(const char *s);

/* The status file, "key: value" lines; a block per
 * certificate begins with "certificate:" and ends with a blank line.
 * Values are one line (control characters written as \xNN). */
void as_status_write(FILE *out, const struct as_process_view *p,
                     const struct as_cert_view *certs, size_t n);

/* A status file as read back (by `autostaple status`): fields as strings,
 * "" when absent.  as_status_parse returns 0 if text is not a status file. */
#define AS_STATUS_FIELD 512
struct as_status_cert {
    char subject[AS_STATUS_FIELD], serial[AS_STATUS_FIELD], responder[AS_STATUS_FIELD];
    char status[AS_STATUS_FIELD], produced[AS_STATUS_FIELD], this_update[AS_STATUS_FIELD];
    char next_update[AS_STATUS_FIELD], last_fetch[AS_STATUS_FIELD], last_error[AS_STATUS_FIELD];
    char next_fetch[AS_STATUS_FIELD], staples[AS_STATUS_FIELD];
    char must_staple[AS_STATUS_FIELD]; /* "yes", "no", "" in an older file */
};
struct as_status_file {
    long pid;
    unsigned long long start_ticks;
    char program[AS_STATUS_FIELD], written[AS_STATUS_FIELD];
    long uid, learned_uid;   /* -1 when absent (learned_uid: none other) */
    size_t n;
    struct as_status_cert *certs; /* malloc'd; as_status_free */
};
int as_status_parse(const char *text, struct as_status_file *f);
void as_status_free(struct as_status_file *f);

/* The start time of process pid (field 22 of /proc/PID/stat, in clock
 * ticks since boot); 0 if it cannot be read. */
unsigned long long as_process_start_ticks(pid_t pid);

#endif
