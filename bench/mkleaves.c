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
#include <openssl/x509v3.h>

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

static void *read_pem(const char *path, int key)
{
    FILE *f = fopen(path, "r");
    void *p = NULL;
    if (f != NULL) {
        p = key ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL)
                : (void *)PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (p == NULL)
        die(path);
    return p;
}

static void add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    if (e == NULL || !X509_add_ext(x, e, -1))
        die("extension");
    X509_EXTENSION_free(e);
}

static X509 *leaf(int i, X509 *ca, EVP_PKEY *cakey, EVP_PKEY *key, const char *ocsp,
                  const unsigned char base[4])
{
    char name[64], buf[1200];
    unsigned char serial[8];
    X509 *x = X509_new();
    X509V3_CTX ctx;

    snprintf(name, sizeof(name), "host%d.test", i);
    /* A positive serial, unique per run: four random bytes, then i. */
    serial[0] = base[0] & 0x7f;
    memcpy(serial + 1, base + 1, 3);
    serial[4] = (unsigned char)(i >> 24);
    serial[5] = (unsigned char)(i >> 16);
    serial[6] = (unsigned char)(i >> 8);
    serial[7] = (unsigned char)i;
    BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    X509_NAME *subject = X509_NAME_new();
    if (x == NULL || bn == NULL || subject == NULL || !X509_set_version(x, X509_VERSION_3) ||
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
        !X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, (unsigned char *)name, -1, -1,
                                    0) ||
        !X509_set_subject_name(x, subject) ||
        !X509_set_issuer_name(x, X509_get_subject_name(ca)) ||
        X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400) == NULL || !X509_set_pubkey(x, key))
        die("certificate");
    BN_free(bn);
    X509_NAME_free(subject);
    X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
    add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature");
    add_ext(x, &ctx, NID_ext_key_usage, "serverAuth");
    snprintf(buf, sizeof(buf), "DNS:%s", name);
    add_ext(x, &ctx, NID_subject_alt_name, buf);
    snprintf(buf, sizeof(buf), "OCSP;URI:%s", ocsp);
    add_ext(x, &ctx, NID_info_access, buf);
    if (!X509_sign(x, cakey, EVP_sha256()))
        die("signing");
    return x;
}

int main(int argc, char **argv)
{
    const char *issuer = NULL, *issuer_key = NULL, *key = NULL, *ocsp = NULL, *dir = NULL;
    long n = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-issuer") == 0)
            issuer = argv[i + 1];
        else if (strcmp(argv[i], "-issuer-key") == 0)
            issuer_key = argv[i + 1];
        else if (strcmp(argv[i], "-key") == 0)
            key = argv[i + 1];
        else if (strcmp(argv[i], "-ocsp") == 0)
            ocsp = argv[i + 1];
        else if (strcmp(argv[i], "-n") == 0)
            n = atol(argv[i + 1]);
        else if (strcmp(argv[i], "-dir") == 0)
            dir = argv[i + 1];
        else
            usage();
    }
    if (argc % 2 != 1 || issuer == NULL || issuer_key == NULL || key == NULL || ocsp == NULL ||
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
