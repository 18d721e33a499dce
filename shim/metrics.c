/* metrics.c: the metrics file in the Prometheus text exposition format
 * (version 0.0.4), for node_exporter's textfile collector.  See report.h;
 * the metric names are fixed (docs/configuration.md, the man page). */
#include <stdio.h>
#include <string.h>

#include "metrics.h"

/* The failure reasons' names: the metrics' reason labels, and the status
 * file's last result (report.c). */
const char *const as_fail_reason_names[AS_FAIL_COUNT] = {
    [AS_FAIL_CONNECT] = "connect",   [AS_FAIL_TIMEOUT] = "timeout",
    [AS_FAIL_TRANSFER] = "transfer", [AS_FAIL_HTTP] = "http",
    [AS_FAIL_MALFORMED] = "malformed", [AS_FAIL_UNSUCCESSFUL] = "unsuccessful",
    [AS_FAIL_VERIFY] = "verify",     [AS_FAIL_UNKNOWN] = "unknown",
    [AS_FAIL_REVOKED] = "revoked",   [AS_FAIL_ISSUER] = "issuer",
    [AS_FAIL_INTERNAL] = "internal",
};

void as_metrics_escape(const char *s, char *out, size_t outlen)
{
    size_t j = 0;
    for (; s != NULL && *s && j + 2 < outlen; s++) {
        const char *esc = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
        if (esc != NULL) {
            out[j++] = esc[0];
            out[j++] = esc[1];
        } else {
            out[j++] = *s;
        }
    }
    out[j] = '\0';
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void as_metrics_write(FILE *out, const struct as_process_view *p,
                      const struct as_cert_view *certs, size_t n)
{
    /* Every sample names its process: several servers' files, in one
     * directory, are collected together. */
    char program[256], labels[400];
    as_metrics_escape(p->program, program, sizeof(program));
    snprintf(labels, sizeof(labels), "program=\"%s\",pid=\"%ld\"", program, (long)p->pid);

    family(out, "autostaple_fetches_total", "counter",
           "OCSP requests sent to responders.");
    fprintf(out, "autostaple_fetches_total{%s} %llu\n", labels, p->fetches);
    family(out, "autostaple_fetch_failures_total", "counter",
           "OCSP fetches that did not give a good response, by reason.");
    for (int r = 0; r < AS_FAIL_COUNT; r++)
        fprintf(out, "autostaple_fetch_failures_total{%s,reason=\"%s\"} %llu\n", labels,
                as_fail_reason_names[r], p->failures[r]);
    family(out, "autostaple_staples_total", "counter",
           "TLS handshakes that asked for certificate status and got a staple.");
    fprintf(out, "autostaple_staples_total{%s} %lu\n", labels, p->staples);
    family(out, "autostaple_unstapled_total", "counter",
           "TLS handshakes that asked for certificate status and got none.");
    fprintf(out, "autostaple_unstapled_total{%s} %lu\n", labels, p->unstapled);
    family(out, "autostaple_must_staple_unstapled_total", "counter",
           "Of those, handshakes of Must-Staple certificates (TLS Feature status_request): "
           "clients that honour it refused them.");
    fprintf(out, "autostaple_must_staple_unstapled_total{%s} %lu\n", labels,
            p->must_staple_unstapled);
    family(out, "autostaple_certificates", "gauge",
           "Server certificates this process refreshes.");
    fprintf(out, "autostaple_certificates{%s} %zu\n", labels, n);
    family(out, "autostaple_response_expiry_seconds", "gauge",
           "Seconds until the held OCSP response expires (negative: expired); "
           "absent while none is held.");
    for (size_t i = 0; i < n; i++) {
        if (certs[i].expires == 0)
            continue;
        char subject[1024], serial[256];
        as_metrics_escape(certs[i].subject, subject, sizeof(subject));
        as_metrics_escape(certs[i].serial, serial, sizeof(serial));
        fprintf(out, "autostaple_response_expiry_seconds{%s,subject=\"%s\",serial=\"%s\"} %lld\n",
                labels, subject, serial, (long long)(certs[i].expires - p->now));
    }
}
