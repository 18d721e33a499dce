/* The status and metrics files' formats (shim/status_file.c,
 * shim/metrics.c): times, escaping, a status file read back as written,
 * every metrics line in the exposition format, failure reasons from
 * verdicts, a process's start time. */
#define _GNU_SOURCE
#include <regex.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ocsp.h>

#include "metrics.h"
#include "ocsp_verify.h"
#include "report.h"
#include "status_file.h"
#include "tap.h"

static char *format(void (*fn)(FILE *, const struct as_process_view *,
                               const struct as_cert_view *, size_t),
                    const struct as_process_view *p, const struct as_cert_view *c, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    fn(out, p, c, n);
    fclose(out);
    return buf;
}

/* Each line a HELP, a TYPE or a sample: name{label="escaped",...} number. */
static int exposition_ok(const char *text, int *samples)
{
    regex_t help, sample;
    regcomp(&help, "^# (HELP [a-z_]+ .+|TYPE [a-z_]+ (counter|gauge))$", REG_EXTENDED | REG_NOSUB);
    regcomp(&sample,
            "^[a-z_]+\\{[a-z_]+=\"([^\"\\\\]|\\\\[\\\\\"n])*\"(,[a-z_]+=\"([^\"\\\\]|\\\\[\\\\\"n])*\")*\\} "
            "-?[0-9]+$", REG_EXTENDED | REG_NOSUB);
    int good = 1;
    *samples = 0;
    char *copy = strdup(text), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (regexec(&sample, line, 0, NULL, 0) == 0)
            (*samples)++;
        else if (regexec(&help, line, 0, NULL, 0) != 0) {
            printf("# not in the format: %s\n", line);
            good = 0;
        }
    }
    free(copy);
    regfree(&help);
    regfree(&sample);
    return good;
}

int main(void)
{
    char buf[256];

    as_format_time(0, buf, sizeof(buf));
    is_str(buf, "-", "time 0 is written -");
    as_format_time(1700000000, buf, sizeof(buf));
    is_str(buf, "2023-11-14T22:13:20Z", "a time in UTC, ISO 8601");
    is_long(as_parse_time(buf), 1700000000, "and read back");
    is_long(as_parse_time("2023-11-14T22:13:20Z good"), 1700000000, "followed by a word");
    is_long(as_parse_time("-"), 0, "- is no time");

    as_metrics_escape("a\\b\"c\nd", buf, sizeof(buf));
    is_str(buf, "a\\\\b\\\"c\\nd", "label values: backslash, quote and newline escaped");
    as_metrics_escape("\"\"\"\"", buf, 6);
    is_str(buf, "\\\"\\\"", "cut between escapes, never inside one");

    struct as_cert_view certs[2] = {
        { .subject = "/CN=good.test/O=a \"quoted\" \\ name", .serial = "1EBF", .responder =
          "http://127.0.0.1:1/", .status = V_OCSP_CERTSTATUS_GOOD, .produced = 1700000000,
          .this_update = 1700000000, .next_update = 1700003600, .expires = 1700003600,
          .last_fetch = 1700000001, .last_result = "good", .last_error_at = 1699999000,
          .last_error = "Couldn't connect\nforged: line", .next_fetch = 1700001800,
          .staples = 42, .unstapled = 3 },
        { .subject = "/CN=none.test", .serial = "02", .responder = "", .status = -1,
          .last_result = "", .last_error = "" },
    };
    struct as_process_view p = { .pid = 1234, .program = "nginx", .start_ticks = 987654,
                                 .uid = 0, .learned_uid = -1,
                                 .now = 1700000100, .fetches = 7, .staples = 45, .unstapled = 4 };
    p.failures[AS_FAIL_CONNECT] = 2;

    char *text = format(as_status_write, &p, certs, 2);
    ok(strstr(text, "\nlast_error: 2023-11-14T21:56:40Z Couldn't connect\\x0aforged: line\n") != NULL,
       "a newline in a value cannot forge a line");
    struct as_status_file f;
    ok(as_status_parse(text, &f), "the status file parses");
    is_long(f.pid, 1234, "pid");
    is_long((long)f.start_ticks, 987654, "start time");
    is_str(f.program, "nginx", "program");
    is_str(f.written, "2023-11-14T22:15:00Z", "written");
    is_long(f.uid, 0, "the uid it refreshes with");
    is_long(f.learned_uid, -1, "no other uid its certificates were learned with");
    is_long((long)f.n, 2, "two certificates");
    if (f.n == 2) {
        is_str(f.certs[0].subject, "/CN=good.test/O=a \"quoted\" \\ name", "subject, backslash and all");
        is_str(f.certs[0].serial, "1EBF", "serial");
        is_str(f.certs[0].status, "good", "status");
        is_str(f.certs[0].produced, "2023-11-14T22:13:20Z", "produced");
        is_str(f.certs[0].next_update, "2023-11-14T23:13:20Z", "next update");
        is_str(f.certs[0].last_fetch, "2023-11-14T22:13:21Z good", "last fetch and its result");
        is_str(f.certs[0].staples, "42", "staples");
        is_str(f.certs[1].status, "none", "no response held: none");
        is_str(f.certs[1].produced, "", "no time: empty");
        is_str(f.certs[1].last_error, "", "no error: empty");
    }
    as_status_free(&f);
    free(text);
    ok(!as_status_parse("pid: 12\n", &f), "text without the first line is not a status file");
    ok(!as_status_parse("autostaple-status: 1\nprogram: x\n", &f), "nor one without a pid");

    p.uid = 102;
    p.learned_uid = 0;
    text = format(as_status_write, &p, certs, 1);
    ok(as_status_parse(text, &f) && f.uid == 102 && f.learned_uid == 0,
       "refreshing without the rights the certificates were learned with: both uids");
    as_status_free(&f);
    free(text);
    p.uid = 0;
    p.learned_uid = -1;

    certs[0].max_age = 1;
    text = format(as_status_write, &p, certs, 1);
    ok(strstr(text, "\nnext_update: 2023-11-14T23:13:20Z (AUTOSTAPLE_MAX_AGE)\n") != NULL,
       "no nextUpdate: the expiry AUTOSTAPLE_MAX_AGE gives, said so");
    free(text);

    int samples = 0;
    text = format(as_metrics_write, &p, certs, 2);
    ok(exposition_ok(text, &samples), "every metrics line is in the exposition format");
    is_long(samples, 5 + AS_FAIL_COUNT + 1, "samples: 4 counters, a gauge, a failure per reason, "
            "one expiry (none for the certificate without a response)");
    ok(strstr(text, "autostaple_staples_total{program=\"nginx\",pid=\"1234\"} 45\n") != NULL,
       "staples_total");
    ok(strstr(text, "autostaple_fetch_failures_total{program=\"nginx\",pid=\"1234\","
                    "reason=\"connect\"} 2\n") != NULL, "failures by reason");
    ok(strstr(text, "subject=\"/CN=good.test/O=a \\\"quoted\\\" \\\\ name\",serial=\"1EBF\"} 3500\n")
       != NULL, "expiry: seconds from now, labels escaped");
    certs[0].expires = p.now - 10;
    free(text);
    text = format(as_metrics_write, &p, certs, 1);
    ok(strstr(text, "serial=\"1EBF\"} -10\n") != NULL, "an expired response: negative");
    free(text);

    /* Failures are counted by the refusal's code, whatever its text says. */
    static const struct {
        enum as_refusal refusal;
        const char *reason;
    } kinds[] = {
        { AS_REFUSED_NOT_DER, "malformed" },        { AS_REFUSED_NOT_BASIC, "malformed" },
        { AS_REFUSED_UNREADABLE_TIMES, "malformed" }, { AS_REFUSED_UNSUCCESSFUL, "unsuccessful" },
        { AS_REFUSED_UNKNOWN, "unknown" },          { AS_REFUSED_SIGNATURE, "verify" },
        { AS_REFUSED_SIGNER_IS_CA, "verify" },      { AS_REFUSED_OTHER_CERTIFICATE, "verify" },
        { AS_REFUSED_NOT_YET_VALID, "verify" },     { AS_REFUSED_EXPIRED, "verify" },
    };
    struct as_verdict v = { .status = -1 };
    snprintf(v.reason, sizeof(v.reason), "any wording");
    int right = 0;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        v.refusal = kinds[i].refusal;
        right += strcmp(as_fail_reason_names[as_fail_reason_of_verdict(&v)], kinds[i].reason) == 0;
    }
    is_long(right, sizeof(kinds) / sizeof(kinds[0]), "each refusal's code gives its failure reason");
    int named = 0;
    for (int i = 1; i < AS_REFUSAL_COUNT; i++)
        named += as_refusal_text[i] != NULL && as_refusal_text[i][0] != '\0';
    is_long(named, AS_REFUSAL_COUNT - 1, "every refusal has a text");

    unsigned long long me = as_process_start_ticks(getpid());
    ok(me > 0, "this process's start time is read");
    int pipefd[2];
    if (pipe(pipefd) == 0) {
        pid_t child = fork();
        if (child == 0) {
            char c;
            read(pipefd[0], &c, 1);
            _exit(0);
        }
        usleep(20000);
        unsigned long long theirs = as_process_start_ticks(child);
        ok(theirs >= me, "a child's start time is not before its parent's");
        write(pipefd[1], "x", 1);
        waitpid(child, NULL, 0);
        is_long((long)as_process_start_ticks(child), 0, "a process that is gone: 0");
    }
    return tap_done();
}
