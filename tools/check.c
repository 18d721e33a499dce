/* check.c: autostaple check CERTFILE [--issuer FILE] [--responder URL]
 *          [--ca-file FILE] [--timeout SECONDS]
 *
 * One OCSP exchange for CERTFILE's certificate, done the way the library
 * does it (the same issuer search, request, transport and as_ocsp_verify
 * with the same parameters), told step by step on stdout, one line per step
 * ("step: ..."), ending with "verdict: ...".  Errors on stderr.
 * Exit: 0 good and verified (the library would staple it), 1 a verified
 * answer that is revoked or unknown, 2 usage error, 3 no verified answer,
 * 4 CERTFILE cannot be read or holds no certificate. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "aia.h"
#include "commands.h"
#include "config.h"
#include "fetch.h"
#include "issuer.h"
#include "log.h"
#include "ocsp_request.h"
#include "ocsp_verify.h"
#include "options.h"

enum { GOOD = 0, NOT_GOOD = 1, USAGE = 2, NO_ANSWER = 3, NO_CERT = 4 };

struct args {
    const char *certfile, *issuer, *responder, *ca_file;
    long timeout; /* 0: AUTOSTAPLE_TIMEOUT */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: autostaple check CERTFILE [--issuer FILE] [--responder URL]\n"
            "                        [--ca-file FILE] [--timeout SECONDS]\n"
            "Asks CERTFILE's OCSP responder about its (first) certificate and verifies\n"
            "the answer as libautostaple does before stapling, one line per step.\n"
            "The issuer is taken from --issuer, else the other certificates in\n"
            "CERTFILE, else the CA bundle (--ca-file, AUTOSTAPLE_CA_FILE), else the\n"
            "certificate's caIssuers URL.  The responder is --responder or\n"
            "AUTOSTAPLE_RESPONDER, else the certificate's OCSP URL.  --timeout bounds\n"
            "the whole check (default AUTOSTAPLE_TIMEOUT, 10 s).  CERTFILE is a file\n"
            "(PEM or DER), or - for standard input.\n"
            "Exit: 0 good, 1 revoked or unknown, 2 usage error, 3 no verified answer,\n"
            "4 CERTFILE unreadable, not a regular file or without a certificate.\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "autostaple check: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(autostaple check --help for usage)\n");
    va_end(ap);
    return -USAGE;
}

/* Fills a from argv; returns 0, or -exit status. */
static int parse_args(int argc, char **argv, struct args *a)
{
    static const char *const names[] = { "issuer", "responder", "ca-file", "timeout" };
    const size_t nnames = sizeof(names) / sizeof(names[0]);
    const char *timeout = NULL;
    const char **slots[] = { &a->issuer, &a->responder, &a->ca_file, &timeout };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        struct as_option o;
        if (!as_option_split(arg, &o)) {
            if (strcmp(arg, "--") == 0 && i + 1 < argc)
                arg = argv[++i];
            else if (arg[0] == '-' && arg[1] != '\0')
                return usage_error("unknown option %s", arg);
            if (a->certfile != NULL)
                return usage_error("one certificate file only (extra %s)", arg);
            a->certfile = arg;
            continue;
        }
        size_t k = 0;
        while (k < nnames && !as_option_is(&o, names[k]))
            k++;
        if (k == nnames)
            return usage_error("unknown option %s", arg);
        if ((*slots[k] = as_option_value(&o, argc, argv, &i)) == NULL)
            return usage_error("option %s needs a value", arg);
    }
    if (a->certfile == NULL)
        return usage_error("no certificate file given");
    if (timeout != NULL) {
        a->timeout = as_parse_duration(timeout);
        if (a->timeout < 1 || a->timeout > 120)
            return usage_error("--timeout %s: seconds from 1 to 120", timeout);
    }
    if (a->responder != NULL && strncmp(a->responder, "http://", 7) != 0 &&
        strncmp(a->responder, "https://", 8) != 0)
        return usage_error("--responder %s: not an http:// or https:// URL", a->responder);
    if (a->ca_file != NULL && a->ca_file[0] != '/')
        return usage_error("--ca-file %s: an absolute path, please", a->ca_file);
    return 0;
}

static void warn_config(const char *msg)
{
    fprintf(stderr, "autostaple check: warning: %s\n", msg);
}

static const char *env(const char *name)
{
    return getenv(name);
}

static void fmt_time(time_t t, char *out, size_t len)
{
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, len, "%lld", (long long)t);
}

static void fmt_asn1_time(const ASN1_TIME *a, char *out, size_t len)
{
    struct tm tm;
    if (a == NULL || !ASN1_TIME_to_tm(a, &tm))
        snprintf(out, len, "unreadable");
    else
        fmt_time(timegm(&tm), out, len);
}

static void name_of(const X509_NAME *n, char *out, size_t len)
{
    BIO *b = BIO_new(BIO_s_mem());
    int w = b != NULL ? X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) : -1;
    int r = w >= 0 ? BIO_read(b, out, (int)len - 1) : -1;
    out[r > 0 ? r : 0] = '\0';
    BIO_free(b);
}

/* An INTEGER as `openssl x509 -serial` shows it (uppercase hex). */
static void serial_of(const ASN1_INTEGER *s, char *out, size_t len)
{
    BIO *b = BIO_new(BIO_s_mem());
    int r = b != NULL && i2a_ASN1_INTEGER(b, s) > 0 ? BIO_read(b, out, (int)len - 1) : -1;
    out[r > 0 ? r : 0] = '\0';
    BIO_free(b);
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

#define CERTFILE_MAX (1024 * 1024) /* a certificate file larger than this is none */

/* The bytes of path ("-": standard input) into a malloc'd *buf, bounded by
 * CERTFILE_MAX and by timeout seconds (a pipe or a terminal may never end).
 * Only a regular file or standard input: a FIFO, a device or a directory is
 * refused with its reason, never waited on.  0 with *why set on failure. */
static int read_input(const char *path, long timeout, unsigned char **buf, size_t *len,
                      char *why, size_t whylen)
{
    int stdin_ = strcmp(path, "-") == 0;
    const char *name = stdin_ ? "standard input" : path;
    int fd = stdin_ ? STDIN_FILENO : open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(why, whylen, "cannot read %s: %s", name, strerror(errno));
        if (fd >= 0 && !stdin_)
            close(fd);
        return 0;
    }
    if (!stdin_ && !S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "%s is %s, not a certificate file (give a file, or - for "
                 "standard input)", name, S_ISDIR(st.st_mode) ? "a directory"
                 : S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket"
                 : "a device");
        close(fd);
        return 0;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    *len = 0;
    *buf = malloc(CERTFILE_MAX + 1);
    int ok = *buf != NULL;
    while (ok) {
        long left = timeout * 1000 - ms_since(&t0);
        struct pollfd p = { fd, POLLIN, 0 };
        int r = left > 0 ? poll(&p, 1, (int)left) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            snprintf(why, whylen, "%s: nothing more came within %ld s (--timeout)", name,
                     timeout);
            ok = 0;
            break;
        }
        ssize_t n = r < 0 ? -1 : read(fd, *buf + *len, CERTFILE_MAX + 1 - *len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            snprintf(why, whylen, "cannot read %s: %s", name, strerror(errno));
            ok = 0;
        } else if (n == 0) {
            break;
        } else if ((*len += (size_t)n) > CERTFILE_MAX) {
            snprintf(why, whylen, "%s is larger than %d bytes: not a certificate file", name,
                     CERTFILE_MAX);
            ok = 0;
        }
    }
    if (!stdin_)
        close(fd);
    if (!ok) {
        free(*buf);
        *buf = NULL;
    }
    return ok;
}

/* CERTFILE's certificates: PEM (the first is the leaf, the others its
 * chain), or one DER certificate.  NULL with *why set if none. */
static STACK_OF(X509) *read_certs(const char *path, long timeout, char *why, size_t whylen)
{
    unsigned char *buf;
    size_t len;
    if (!read_input(path, timeout, &buf, &len, why, whylen))
        return NULL;
    STACK_OF(X509) *all = sk_X509_new_null();
    BIO *in = BIO_new_mem_buf(buf, (int)len);
    X509 *x;
    while (all != NULL && in != NULL && (x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL)
        if (!sk_X509_push(all, x))
            X509_free(x);
    if (all != NULL && sk_X509_num(all) == 0) {
        const unsigned char *p = buf;
        if ((x = d2i_X509(NULL, &p, (long)len)) != NULL && !sk_X509_push(all, x))
            X509_free(x);
    }
    ERR_clear_error();
    BIO_free(in);
    free(buf);
    if (all == NULL || sk_X509_num(all) == 0) {
        snprintf(why, whylen, "%s holds no certificate (PEM or DER)",
                 strcmp(path, "-") == 0 ? "standard input" : path);
        sk_X509_pop_free(all, X509_free);
        return NULL;
    }
    return all;
}

static void show_certificate(X509 *leaf)
{
    char subject[512], serial[256], not_after[64], hex[3 * 32 + 1];
    unsigned char md[32];
    unsigned int mdlen = 0;
    name_of(X509_get_subject_name(leaf), subject, sizeof(subject));
    serial_of(X509_get0_serialNumber(leaf), serial, sizeof(serial));
    fmt_asn1_time(X509_get0_notAfter(leaf), not_after, sizeof(not_after));
    X509_digest(leaf, EVP_sha256(), md, &mdlen);
    for (unsigned i = 0; i < mdlen && i < 32; i++)
        sprintf(hex + 3 * i, "%02X%s", md[i], i + 1 < mdlen ? ":" : "");
    hex[mdlen ? 3 * mdlen - 1 : 0] = '\0';
    printf("certificate: subject %s; serial %s; notAfter %s; SHA-256 %s\n", subject, serial,
           not_after, hex);
    if (as_is_must_staple(leaf))
        printf("must-staple: yes (TLS Feature status_request): clients that honour it, "
               "Firefox among them, refuse a handshake without a staple\n");
}

/* The responder URL and where it came from, as the library picks it
 * (as_cert_responder: AUTOSTAPLE_RESPONDER, else AIA).  0 if none. */
static int find_responder(X509 *leaf, const struct args *a, char url[AS_MAX_URL],
                          char ca_issuers[AS_MAX_URL])
{
    char aia_ocsp[AS_MAX_URL];
    as_aia_urls(leaf, aia_ocsp, ca_issuers);
    const char *configured = as_config()->responder;
    const char *from = a->responder != NULL ? "--responder"
                       : configured[0]      ? "AUTOSTAPLE_RESPONDER"
                                            : "the certificate's AIA";
    snprintf(url, AS_MAX_URL, "%s", a->responder ? a->responder
                                    : configured[0] ? configured : aia_ocsp);
    if (url[0] == '\0') {
        char why[700];
        as_aia_explain(leaf, NID_ad_OCSP, why, sizeof(why));
        printf("responder: none: the certificate has %s\n", why);
        return 0;
    }
    printf("responder: %s (from %s)\n", url, from);
    return 1;
}

/* The stop flag of the command's fetches: it never stops them early (the
 * timeout bounds them). */
static atomic_int never;

/* The issuer of leaf, searched like the library (issuer.c) after --issuer;
 * prints the "issuer:" line.  NULL if not found. */
static X509 *find_issuer(X509 *leaf, STACK_OF(X509) *certs, const struct args *a,
                         const char *ca_issuers)
{
    char name[512];
    X509 *x = NULL;
    if (a->issuer != NULL) {
        char why[600];
        STACK_OF(X509) *given = read_certs(a->issuer, as_config()->timeout, why, sizeof(why));
        x = as_issuer_in(given, leaf);
        sk_X509_pop_free(given, X509_free);
        if (x == NULL) {
            printf("issuer: not found: %s\n", given == NULL ? why
                   : "the --issuer file holds no certificate that issued this one");
            return NULL;
        }
        name_of(X509_get_subject_name(x), name, sizeof(name));
        printf("issuer: %s (from --issuer %s)\n", name, a->issuer);
        return x;
    }
    for (int i = 1; i < sk_X509_num(certs); i++)
        as_pool_add(sk_X509_value(certs, i));
    const char *source = NULL;
    char why[600];
    x = as_issuer_find(leaf, ca_issuers, &never, &source, why, sizeof(why));
    if (x == NULL) {
        printf("issuer: not found: not in %s (%d other certificate%s), not in the CA bundle "
               "%s, %s\n", a->certfile, sk_X509_num(certs) - 1,
               sk_X509_num(certs) == 2 ? "" : "s", as_config()->ca_file, why);
        return NULL;
    }
    name_of(X509_get_subject_name(x), name, sizeof(name));
    if (source == as_config()->ca_file)
        printf("issuer: %s (from the CA bundle %s)\n", name, source);
    else if (source == ca_issuers)
        printf("issuer: %s (downloaded from caIssuers %s)\n", name, source);
    else
        printf("issuer: %s (from the chain in %s)\n", name, a->certfile);
    return x;
}

/* The request, as the refresher sends it (GET if it fits, else POST);
 * prints the "request:" and "http:" lines.  Returns 1 with an HTTP 200
 * body in res, else 0 with the reason in why. */
static int exchange(X509 *leaf, X509 *issuer, const char *responder, long timeout,
                    struct as_http *res, char *why, size_t whylen)
{
    unsigned char *req = NULL;
    size_t reqlen = 0;
    char url[AS_MAX_URL + 512], serial[256];
    if (!as_ocsp_request(leaf, issuer, &req, &reqlen)) {
        snprintf(why, whylen, "cannot build an OCSP request");
        return 0;
    }
    serial_of(X509_get0_serialNumber(leaf), serial, sizeof(serial));
    int get = as_ocsp_get_url(responder, req, reqlen, url, sizeof(url));
    printf("request: %s %s (%zu bytes; CertID SHA-1, serial %s; no nonce)\n",
           get ? "GET" : "POST", get ? url : responder, reqlen, serial);
    fflush(stdout);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int ok = as_fetch_ocsp(responder, get ? url : NULL, req, reqlen, timeout, &never, res);
    long ms = ms_since(&t0);
    OPENSSL_free(req);
    if (!ok) {
        int timed_out = res->failure == AS_FETCH_TIMED_OUT;
        const char *os = res->os_errno != 0 ? strerror((int)res->os_errno) : NULL;
        char detail[4 * sizeof(res->detail)];
        as_log_quote(res->detail, strlen(res->detail), sizeof(res->detail), detail,
                     sizeof(detail));
        printf("http: %s after %ld ms: %s%s%s%s%s%s\n",
               timed_out ? as_fetch_failure_name[AS_FETCH_TIMED_OUT]
                         : as_fetch_failure_name[AS_FETCH_BROKEN], ms,
               os != NULL ? os : "", os != NULL ? " (" : "", res->error,
               detail[0] ? ": " : "", detail, os != NULL ? ")" : "");
        if (timed_out)
            snprintf(why, whylen, "the responder timed out (%ld s)", timeout);
        else if (os != NULL)
            snprintf(why, whylen, "cannot reach the responder: %s", os);
        else
            snprintf(why, whylen, "the exchange with the responder failed: %s", res->error);
        return 0;
    }
    /* What came off the network is printed escaped: a terminal must not
     * take it for its own escape sequences. */
    char ctype[4 * sizeof(res->content_type)];
    as_log_quote(res->content_type, strlen(res->content_type), sizeof(res->content_type), ctype,
                 sizeof(ctype));
    printf("http: status %ld, content type %s, %zu bytes, %ld ms\n", res->code,
           ctype[0] ? ctype : "none", res->len, ms);
    if (res->code != 200) {
        snprintf(why, whylen, "responder answered HTTP status %ld", res->code);
        return 0;
    }
    return 1;
}

/* The "signature:" line: who signed, and whether the library accepts it. */
static void show_signer(OCSP_BASICRESP *bs, X509 *issuer, int accepted, const char *reason)
{
    STACK_OF(X509) *extra = sk_X509_new_null();
    X509 *signer = NULL;
    char who[700] = "an unknown signer (not the issuer, not in the response)";
    if (extra != NULL && sk_X509_push(extra, issuer) &&
        OCSP_resp_get0_signer(bs, &signer, extra) == 1 && signer != NULL) {
        char name[512];
        name_of(X509_get_subject_name(signer), name, sizeof(name));
        if (X509_cmp(signer, issuer) == 0)
            snprintf(who, sizeof(who), "the issuer (%s)", name);
        else
            snprintf(who, sizeof(who), "a delegated signer %s (%s by the issuer; EKU %s)", name,
                     as_is_issuer(issuer, signer) ? "issued" : "NOT issued",
                     (X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) &&
                             (X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN)
                         ? "OCSPSigning"
                         : "without OCSPSigning");
    }
    sk_X509_free(extra);
    ERR_clear_error();
    if (accepted)
        printf("signature: verified: signed by %s\n", who);
    else
        printf("signature: REFUSED: %s; signed by %s\n", reason, who);
}

/* The single response for (leaf, issuer), or NULL; the "certid:" line. */
static OCSP_SINGLERESP *show_certid(OCSP_BASICRESP *bs, X509 *leaf, X509 *issuer)
{
    OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), leaf, issuer);
    int at = id != NULL ? OCSP_resp_find(bs, id, -1) : -1;
    OCSP_CERTID_free(id);
    if (at >= 0) {
        printf("certid: matches this certificate (SHA-1 of the issuer's name and key, serial)\n");
        return OCSP_resp_get0(bs, at);
    }
    char serials[600] = "";
    for (int i = 0; i < OCSP_resp_count(bs) && strlen(serials) < 400; i++) {
        ASN1_INTEGER *sn = NULL;
        char s[256];
        OCSP_id_get0_info(NULL, NULL, NULL, &sn, (OCSP_CERTID *)OCSP_SINGLERESP_get0_id(OCSP_resp_get0(bs, i)));
        serial_of(sn, s, sizeof(s));
        snprintf(serials + strlen(serials), sizeof(serials) - strlen(serials), "%s%s",
                 i ? ", " : "", s);
    }
    printf("certid: NO MATCH: the response is about another certificate (serial %s)\n",
           serials[0] ? serials : "none");
    return NULL;
}

/* The lines from "response:" to "producedAt:", read from der for people;
 * the decision is v's (as_ocsp_verify's). */
static void show_response(const unsigned char *der, size_t len, X509 *leaf, X509 *issuer,
                          const struct as_verdict *v)
{
    const unsigned char *p = der;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
    OCSP_BASICRESP *bs = NULL;
    if (resp == NULL || p != der + len) {
        printf("response: not an OCSP response (%zu bytes)\n", len);
        goto done;
    }
    int rs = OCSP_response_status(resp);
    printf("response: %s\n", OCSP_response_status_str(rs));
    if (rs != OCSP_RESPONSE_STATUS_SUCCESSFUL || (bs = OCSP_response_get1_basic(resp)) == NULL)
        goto done;
    /* as_ocsp_verify checks the signature and signer before anything
     * this far: any other refusal means that they passed. */
    int refused_sig = v->refusal == AS_REFUSED_SIGNATURE || v->refusal == AS_REFUSED_SIGNER_IS_CA;
    show_signer(bs, issuer, !refused_sig, v->reason);
    OCSP_SINGLERESP *single = show_certid(bs, leaf, issuer);
    char t[64];
    if (single != NULL) {
        int reason = -1;
        ASN1_GENERALIZEDTIME *rev = NULL, *this_t = NULL, *next_t = NULL;
        int st = OCSP_single_get0_status(single, &reason, &rev, &this_t, &next_t);
        if (st == V_OCSP_CERTSTATUS_REVOKED) {
            fmt_asn1_time(rev, t, sizeof(t));
            printf("status: revoked at %s, reason %s\n", t,
                   reason >= 0 ? OCSP_crl_reason_str(reason) : "not given");
        } else {
            printf("status: %s\n", OCSP_cert_status_str(st));
        }
        fmt_asn1_time(this_t, t, sizeof(t));
        printf("thisUpdate: %s\n", t);
        if (next_t != NULL) {
            fmt_asn1_time(next_t, t, sizeof(t));
            printf("nextUpdate: %s\n", t);
        } else {
            if (as_config()->max_age <= 86400)
                printf("nextUpdate: none (the library applies AUTOSTAPLE_MAX_AGE, %ld s)\n",
                       as_config()->max_age);
            else
                printf("nextUpdate: none (the library applies one day, the most a client "
                       "allows, not AUTOSTAPLE_MAX_AGE's %ld s)\n", as_config()->max_age);
        }
    }
    fmt_asn1_time(OCSP_resp_get0_produced_at(bs), t, sizeof(t));
    printf("producedAt: %s\n", t);
done:
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
}

/* The "verdict:" line and the exit status for v. */
static int verdict(const struct as_verdict *v)
{
    char until[64];
    fmt_time(v->expires, until, sizeof(until));
    if (v->ok && v->status == V_OCSP_CERTSTATUS_GOOD) {
        printf("verdict: good: verified; the library would staple it until %s\n", until);
        return GOOD;
    }
    if (v->ok && v->status == V_OCSP_CERTSTATUS_REVOKED) {
        printf("verdict: REVOKED: verified; the library would staple the revocation "
               "(clients will refuse the certificate)\n");
        return NOT_GOOD;
    }
    if (v->status == V_OCSP_CERTSTATUS_UNKNOWN) {
        printf("verdict: unknown: the responder does not know this certificate (verified); "
               "the library staples nothing\n");
        return NOT_GOOD;
    }
    const char *kind = v->refusal == AS_REFUSED_NOT_YET_VALID ? "not yet valid: "
                       : v->refusal == AS_REFUSED_EXPIRED      ? "expired: "
                                                               : "";
    printf("verdict: no verified answer: %s%s\n", kind, v->reason);
    return NO_ANSWER;
}

static int no_answer(const char *why)
{
    printf("verdict: no verified answer: %s\n", why);
    return NO_ANSWER;
}

static int diagnose(const struct args *a)
{
    char why[700];
    STACK_OF(X509) *certs = read_certs(a->certfile, as_config()->timeout, why, sizeof(why));
    if (certs == NULL) {
        fprintf(stderr, "autostaple check: %s\n", why);
        return NO_CERT;
    }
    X509 *leaf = sk_X509_value(certs, 0), *issuer = NULL;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int status = NO_ANSWER;
    char responder[AS_MAX_URL], ca_issuers[AS_MAX_URL];
    struct as_http res = { 0 };

    show_certificate(leaf);
    if (!find_responder(leaf, a, responder, ca_issuers)) {
        status = no_answer("no OCSP URL in the certificate (and no --responder): nothing to ask");
        goto done;
    }
    if ((issuer = find_issuer(leaf, certs, a, ca_issuers)) == NULL) {
        status = no_answer("issuer not found: the request cannot be built without it");
        goto done;
    }
    /* The issuer's download counts against the timeout too. */
    long left = as_config()->timeout - ms_since(&t0) / 1000;
    if (!exchange(leaf, issuer, responder, left < 1 ? 1 : left, &res, why, sizeof(why))) {
        status = no_answer(why);
        goto done;
    }
    struct as_verdict v;
    struct as_verify_params params = as_verify_params_configured(as_config());
    as_ocsp_verify(res.body, res.len, leaf, issuer, time(NULL), &params, &v);
    show_response(res.body, res.len, leaf, issuer, &v);
    status = verdict(&v);
done:
    free(res.body);
    X509_free(issuer);
    sk_X509_pop_free(certs, X509_free);
    return status;
}

int as_cmd_check(int argc, char **argv)
{
    struct args a = { 0 };
    int r = parse_args(argc, argv, &a);
    if (r != 0)
        return r > 0 ? 0 : -r;
    struct as_config cfg;
    as_config_load(&cfg, env, warn_config);
    as_log_setup(AS_WARN, "stderr");
    if (a.ca_file != NULL)
        snprintf(cfg.ca_file, sizeof(cfg.ca_file), "%s", a.ca_file);
    if (a.timeout > 0)
        cfg.timeout = a.timeout;
    as_config_use(&cfg);
    int status = diagnose(&a);
    fflush(stdout);
    return status;
}
