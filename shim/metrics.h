/* metrics.h: the metrics file's format (metrics.c).  Pure: unit-tested. */
#ifndef AS_METRICS_H
#define AS_METRICS_H

#include <stdio.h>

#include "report_views.h"

/* The failure reasons' names: the metrics' reason labels (and the
 * status file's last result). */
extern const char *const as_fail_reason_names[AS_FAIL_COUNT];

/* The Prometheus text exposition format.  Only certificates
 * with held != 0 get an expiry sample. */
void as_metrics_write(FILE *out, const struct as_process_view *p,
                      const struct as_cert_view *certs, size_t n);
/* A label value escaped for the format (\\, \", \n), cut to fit. */
void as_metrics_escape(const char *s, char *out, size_t outlen);

#endif
