/*
 * mkleaves: many server certificates, quickly, for the benchmarks.
 *
 * mkleaves -issuer CA.pem -issuer-key CA.key -key LEAF.key -ocsp URL -n N -dir DIR
 *
 * Writes DIR/host1.pem .. DIR/hostN.pem: certificate hostI.test (CN and
 * subjectAltName), issued by CA for 30 days, server authentication, its AIA
 * naming the OCSP responder URL, public key from LEAF.key (all share it),
 * followed by CA's certificate (the chain, as nginx's ssl_certificate wants
 * it).  A thousand take well under a second, where `openssl req` per
 * certificate takes tens of seconds.  Exit status 0, or 1 with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "../tests/helpers/leaf_cert.h"
#include "../tests/helpers/options.h"
#include "../tests/helpers/pem_file.h"

static void die(const char *what)
{
    fprintf(stderr, "mkleaves: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static void usage(void)
{
    fprintf(stderr, "usage: mkleaves -issuer CA.pem -issuer-key CA.key -key LEAF.key "
                    "-ocsp URL -n N -dir DIR\n");
    exit(2);
}

/* The certificate (key 0) or private key (key 1) of PEM file path. */
static void *read_pem(const char *path, int key)
{
    void *p = pem_read_file(path, key);

    if (p == NULL)
        die(path);
    return p;
}

/* Certificate i, for hosti.test: serial four random bytes (base, made
 * positive), then i. */
static X509 *leaf(int i, X509 *ca, EVP_PKEY *cakey, EVP_PKEY *key, const char *ocsp,
                  const unsigned char base[4])
{
    char name[64];
    struct leaf_spec spec = { .name = name, .days = 30, .ocsp_url = ocsp };
    X509 *x;

    snprintf(name, sizeof(name), "host%d.test", i);
    spec.serial[0] = base[0] & 0x7f;
    memcpy(spec.serial + 1, base + 1, 3);
    spec.serial[4] = (unsigned char)(i >> 24);
    spec.serial[5] = (unsigned char)(i >> 16);
    spec.serial[6] = (unsigned char)(i >> 8);
    spec.serial[7] = (unsigned char)i;
    if ((x = leaf_cert_issue(&spec, key, ca, cakey)) == NULL)
        die("certificate");
    return x;
}

int main(int argc, char **argv)
{
    const char *issuer = NULL, *issuer_key = NULL, *key = NULL, *ocsp = NULL, *dir = NULL;
    long n = 0;
    const struct option_spec options[] = {
        { "-issuer", option_string, &issuer },
        { "-issuer-key", option_string, &issuer_key },
        { "-key", option_string, &key },
        { "-ocsp", option_string, &ocsp },
        { "-n", option_long, &n },
        { "-dir", option_string, &dir },
        { NULL, NULL, NULL },
    };

    parse_options(argc, argv, options, usage);
    if (issuer == NULL || issuer_key == NULL || key == NULL || ocsp == NULL ||
        dir == NULL || n < 1 || n > 10000000 || strlen(ocsp) > 1000)
        usage();

    X509 *ca = read_pem(issuer, 0);
    EVP_PKEY *cakey = read_pem(issuer_key, 1), *leafkey = read_pem(key, 1);
    unsigned char base[4];
    if (RAND_bytes(base, sizeof(base)) != 1)
        die("random");
    for (long i = 1; i <= n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/host%ld.pem", dir, i);
        X509 *x = leaf((int)i, ca, cakey, leafkey, ocsp, base);
        FILE *f = fopen(path, "w");
        if (f == NULL || !PEM_write_X509(f, x) || !PEM_write_X509(f, ca) || fclose(f) != 0)
            die(path);
        X509_free(x);
    }
    X509_free(ca);
    EVP_PKEY_free(cakey);
    EVP_PKEY_free(leafkey);
    return 0;
}
