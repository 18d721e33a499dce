/*
 * scale_certs: many server certificates, fast, for the scale benchmark
 * (bench/scale.sh).
 *
 * scale_certs -n N -ca CA.pem -cakey CA.key -out DIR [-aia URL] [-days D]
 *             [-chain FILE] [-jobs J]
 *
 * Makes one EC P-256 key (DIR/key.pem) shared by N certificates
 * DIR/certs/host<i>.pem (CN and subjectAltName host<i>.test, i = 1..N),
 * issued by CA (the test PKI's intermediate), valid D days (default 30)
 * from an hour ago, with an AIA OCSP URL if -aia is given.  Serials are
 * random per run (64 bits, first bit clear) and unique within it.  Also:
 *   DIR/sni.list    one "host<i>.test:CERT:KEY[:CHAIN]" line per certificate
 *                   (fixture_server -sni-list), CHAIN being -chain if given
 *   DIR/names.txt   one "host<i>.test" per line (scale_client -names)
 *   DIR/index.txt   an `openssl ocsp -index` file listing every serial as
 *                   valid (V), with DIR/index.txt.attr (unique_subject = no)
 * The signing is split over J processes (default: the number of CPUs).
 * Prints "made N certificates in S s" on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "../tests/helpers/leaf_cert.h"
#include "../tests/helpers/options.h"
#include "../tests/helpers/pem_file.h"

static struct {
    long n, days;
    int jobs;
    const char *ca, *cakey, *out, *aia, *chain;
} opt = { .n = 0, .days = 30, .jobs = 0 };

static void die(const char *what)
{
    fprintf(stderr, "scale_certs: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static void usage(void)
{
    fprintf(stderr, "usage: scale_certs -n N -ca CA.pem -cakey CA.key -out DIR [-aia URL]\n"
                    "                   [-days D] [-chain FILE] [-jobs J]\n");
    exit(2);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The certificate (key 0) or private key (key 1) of PEM file path. */
static void *read_pem(const char *path, int key)
{
    void *p = pem_read_file(path, key);

    if (p == NULL && errno != 0) {
        fprintf(stderr, "scale_certs: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    if (p == NULL)
        die(path);
    return p;
}

/* Certificate i, for host<i>.test: serial a per-run random 40-bit prefix,
 * then i. */
static X509 *issue(long i, const unsigned char prefix[5], EVP_PKEY *key, X509 *ca,
                   EVP_PKEY *cakey)
{
    char name[64];
    struct leaf_spec spec = { .name = name, .days = opt.days, .ocsp_url = opt.aia,
                              .authority_key_id = 1 };
    X509 *x;

    snprintf(name, sizeof(name), "host%ld.test", i);
    memcpy(spec.serial, prefix, 5);
    spec.serial[0] = (unsigned char)((spec.serial[0] & 0x7f) | 0x40); /* positive, 8 bytes */
    spec.serial[5] = (unsigned char)(i >> 16);
    spec.serial[6] = (unsigned char)(i >> 8);
    spec.serial[7] = (unsigned char)i;
    if ((x = leaf_cert_issue(&spec, key, ca, cakey)) == NULL)
        die("cannot make a certificate");
    return x;
}

/* The index line of x: V, expiry (YYMMDDHHMMSSZ), no revocation, serial as
 * `openssl ocsp` looks it up (BN_bn2hex), "unknown", subject. */
static void index_line(FILE *f, X509 *x)
{
    struct tm tm;
    char end[32], subj[256];
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    if (hex == NULL || !ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
        die("index line");
    strftime(end, sizeof(end), "%y%m%d%H%M%SZ", &tm);
    X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
    fprintf(f, "V\t%s\t\t%s\tunknown\t%s\n", end, hex, subj);
    OPENSSL_free(hex);
    BN_free(bn);
}

/* Certificates first..last (inclusive), each in its file; their index lines
 * into DIR/index.part<job>. */
static void make_range(int job, long first, long last, const unsigned char prefix[5],
                       EVP_PKEY *key)
{
    X509 *ca = read_pem(opt.ca, 0);
    EVP_PKEY *cakey = read_pem(opt.cakey, 1);
    char path[4096];
    snprintf(path, sizeof(path), "%s/index.part%d", opt.out, job);
    FILE *idx = fopen(path, "w");
    if (idx == NULL)
        die("cannot write an index part");
    for (long i = first; i <= last; i++) {
        X509 *x = issue(i, prefix, key, ca, cakey);
        snprintf(path, sizeof(path), "%s/certs/host%ld.pem", opt.out, i);
        FILE *f = fopen(path, "w");
        if (f == NULL || !PEM_write_X509(f, x) || fclose(f) != 0)
            die("cannot write a certificate");
        index_line(idx, x);
        X509_free(x);
    }
    if (fclose(idx) != 0)
        die("cannot write an index part");
    X509_free(ca);
    EVP_PKEY_free(cakey);
}

static void write_lists(void)
{
    char path[4096], line[8192];
    snprintf(path, sizeof(path), "%s/sni.list", opt.out);
    FILE *sni = fopen(path, "w");
    snprintf(path, sizeof(path), "%s/names.txt", opt.out);
    FILE *names = fopen(path, "w");
    snprintf(path, sizeof(path), "%s/index.txt", opt.out);
    FILE *idx = fopen(path, "w");
    if (sni == NULL || names == NULL || idx == NULL)
        die("cannot write the lists");
    for (long i = 1; i <= opt.n; i++) {
        fprintf(sni, "host%ld.test:%s/certs/host%ld.pem:%s/key.pem%s%s\n", i, opt.out, i,
                opt.out, opt.chain ? ":" : "", opt.chain ? opt.chain : "");
        fprintf(names, "host%ld.test\n", i);
    }
    for (int j = 0; j < opt.jobs; j++) {
        snprintf(path, sizeof(path), "%s/index.part%d", opt.out, j);
        FILE *part = fopen(path, "r");
        if (part == NULL)
            die("an index part is missing");
        while (fgets(line, sizeof(line), part) != NULL)
            fputs(line, idx);
        fclose(part);
        unlink(path);
    }
    if (fclose(sni) != 0 || fclose(names) != 0 || fclose(idx) != 0)
        die("cannot write the lists");
    snprintf(path, sizeof(path), "%s/index.txt.attr", opt.out);
    FILE *attr = fopen(path, "w");
    if (attr == NULL || fputs("unique_subject = no\n", attr) < 0 || fclose(attr) != 0)
        die("cannot write index.txt.attr");
}

int main(int argc, char **argv)
{
    const struct option_spec options[] = {
        { "-n", option_long, &opt.n },
        { "-ca", option_string, &opt.ca },
        { "-cakey", option_string, &opt.cakey },
        { "-out", option_string, &opt.out },
        { "-aia", option_string, &opt.aia },
        { "-chain", option_string, &opt.chain },
        { "-days", option_long, &opt.days },
        { "-jobs", option_int, &opt.jobs },
        { NULL, NULL, NULL },
    };

    parse_options(argc, argv, options, usage);
    if (opt.n < 1 || opt.n > 0xffffff || opt.ca == NULL || opt.cakey == NULL ||
        opt.out == NULL || opt.days < 1)
        usage();
    if (opt.jobs <= 0)
        opt.jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (opt.jobs < 1 || opt.jobs > 64)
        opt.jobs = 1;
    if (opt.jobs > opt.n)
        opt.jobs = (int)opt.n;

    double t0 = now();
    char path[4096];
    snprintf(path, sizeof(path), "%s/certs", opt.out);
    if ((mkdir(opt.out, 0755) != 0 && errno != EEXIST) || (mkdir(path, 0755) != 0 && errno != EEXIST))
        die("cannot make the output directory");

    EVP_PKEY *key = EVP_EC_gen("P-256");
    snprintf(path, sizeof(path), "%s/key.pem", opt.out);
    FILE *f = fopen(path, "w");
    if (key == NULL || f == NULL || !PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) ||
        fclose(f) != 0)
        die("cannot make the key");
    chmod(path, 0600);

    unsigned char prefix[5];
    if (RAND_bytes(prefix, sizeof(prefix)) != 1)
        die("RAND_bytes");
    fflush(NULL);
    long per = (opt.n + opt.jobs - 1) / opt.jobs;
    pid_t pids[64];
    for (int j = 0; j < opt.jobs; j++) {
        long first = 1 + j * per, last = first + per - 1 < opt.n ? first + per - 1 : opt.n;
        if ((pids[j] = fork()) < 0)
            die("fork");
        if (pids[j] == 0) {
            if (first <= last) {
                make_range(j, first, last, prefix, key);
            } else { /* nothing left for this one: an empty part */
                snprintf(path, sizeof(path), "%s/index.part%d", opt.out, j);
                FILE *e = fopen(path, "w");
                if (e == NULL || fclose(e) != 0)
                    _exit(1);
            }
            _exit(0);
        }
    }
    int failed = 0;
    for (int j = 0; j < opt.jobs; j++) {
        int st;
        if (waitpid(pids[j], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            failed = 1;
    }
    if (failed)
        die("a signing process failed");
    write_lists();
    EVP_PKEY_free(key);
    fprintf(stderr, "made %ld certificates in %.1f s\n", opt.n, now() - t0);
    return 0;
}
