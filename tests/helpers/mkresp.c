/*
 * mkresp: build an arbitrary DER OCSPResponse for tests.
 *
 * mkresp -cert LEAF.pem -issuer ISSUER.pem -signer SIGNER.pem -key SIGNER.key
 *        -out FILE.der [-status good|revoked|unknown] [-this SECONDS]
 *        [-next SECONDS | -no-next] [-respstatus successful|malformedrequest|
 *        internalerror|trylater|sigrequired|unauthorized] [-no-certs] [-sha256]
 *        [-crit-ext response|single]
 *
 * -this/-next are offsets from now in seconds (may be negative).
 * Defaults: -status good -this -60 -next 3600.  CertID hash is SHA-1 unless
 * -sha256; the response is signed with SHA-256, responder ID by name, and
 * includes the signer cert unless -no-certs.  A non-successful -respstatus
 * writes a bare unsigned response (only -out is required then).
 * -crit-ext adds an extension no client knows (OID 1.3.6.1.4.1.55555.1), marked
 * critical, to the responseExtensions or to the SingleResponse.
 * Exit status 0 on success, 1 on any error (message on stderr), 2 on usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pem_file.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: mkresp -cert LEAF.pem -issuer ISSUER.pem -signer SIGNER.pem "
            "-key SIGNER.key -out FILE.der\n"
            "       [-status good|revoked|unknown] [-this SECONDS] "
            "[-next SECONDS | -no-next]\n"
            "       [-respstatus successful|malformedrequest|internalerror|"
            "trylater|sigrequired|unauthorized]\n"
            "       [-no-certs] [-sha256] [-crit-ext response|single]\n");
    exit(2);
}

static void die(const char *what)
{
    fprintf(stderr, "mkresp: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static long parse_long(const char *opt, const char *s)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *s == '\0' || *end != '\0') {
        fprintf(stderr, "mkresp: bad number for %s: %s\n", opt, s);
        exit(2);
    }
    return v;
}

/* The certificate (key 0) or private key (key 1) of PEM file path. */
static void *load_pem(const char *path, int key)
{
    void *p = pem_read_file(path, key);

    if (p == NULL && errno != 0) {
        fprintf(stderr, "mkresp: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    if (p == NULL) {
        fprintf(stderr, "mkresp: %s: ", path);
        die(key ? "cannot read PEM private key" : "cannot read PEM certificate");
    }
    return p;
}

static const struct {
    const char *name;
    int value;
} respstatuses[] = {
    { "successful", OCSP_RESPONSE_STATUS_SUCCESSFUL },
    { "malformedrequest", OCSP_RESPONSE_STATUS_MALFORMEDREQUEST },
    { "internalerror", OCSP_RESPONSE_STATUS_INTERNALERROR },
    { "trylater", OCSP_RESPONSE_STATUS_TRYLATER },
    { "sigrequired", OCSP_RESPONSE_STATUS_SIGREQUIRED },
    { "unauthorized", OCSP_RESPONSE_STATUS_UNAUTHORIZED },
};

int main(int argc, char **argv)
{
    const char *certf = NULL, *issuerf = NULL, *signerf = NULL, *keyf = NULL;
    const char *outf = NULL;
    int status = V_OCSP_CERTSTATUS_GOOD;
    int respstatus = OCSP_RESPONSE_STATUS_SUCCESSFUL;
    long this_off = -60, next_off = 3600;
    int no_next = 0, no_certs = 0, sha256 = 0;
    const char *crit_ext = NULL;
    OCSP_RESPONSE *resp = NULL;
    unsigned char *der = NULL;
    int derlen, i;
    FILE *out;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "-no-next") == 0) {
            no_next = 1;
            continue;
        } else if (strcmp(a, "-no-certs") == 0) {
            no_certs = 1;
            continue;
        } else if (strcmp(a, "-sha256") == 0) {
            sha256 = 1;
            continue;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "-help") == 0) {
            usage();
        }
        if (v == NULL) {
            fprintf(stderr, "mkresp: %s needs an argument (or is unknown)\n", a);
            usage();
        }
        i++;
        if (strcmp(a, "-cert") == 0) {
            certf = v;
        } else if (strcmp(a, "-issuer") == 0) {
            issuerf = v;
        } else if (strcmp(a, "-signer") == 0) {
            signerf = v;
        } else if (strcmp(a, "-key") == 0) {
            keyf = v;
        } else if (strcmp(a, "-out") == 0) {
            outf = v;
        } else if (strcmp(a, "-crit-ext") == 0) {
            if (strcmp(v, "response") != 0 && strcmp(v, "single") != 0) {
                fprintf(stderr, "mkresp: bad -crit-ext %s\n", v);
                usage();
            }
            crit_ext = v;
        } else if (strcmp(a, "-this") == 0) {
            this_off = parse_long(a, v);
        } else if (strcmp(a, "-next") == 0) {
            next_off = parse_long(a, v);
        } else if (strcmp(a, "-status") == 0) {
            if (strcmp(v, "good") == 0)
                status = V_OCSP_CERTSTATUS_GOOD;
            else if (strcmp(v, "revoked") == 0)
                status = V_OCSP_CERTSTATUS_REVOKED;
            else if (strcmp(v, "unknown") == 0)
                status = V_OCSP_CERTSTATUS_UNKNOWN;
            else {
                fprintf(stderr, "mkresp: bad -status %s\n", v);
                usage();
            }
        } else if (strcmp(a, "-respstatus") == 0) {
            size_t k;

            for (k = 0; k < sizeof(respstatuses) / sizeof(respstatuses[0]); k++)
                if (strcmp(v, respstatuses[k].name) == 0)
                    break;
            if (k == sizeof(respstatuses) / sizeof(respstatuses[0])) {
                fprintf(stderr, "mkresp: bad -respstatus %s\n", v);
                usage();
            }
            respstatus = respstatuses[k].value;
        } else {
            fprintf(stderr, "mkresp: unknown option %s\n", a);
            usage();
        }
    }
    if (outf == NULL)
        usage();

    if (respstatus != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        resp = OCSP_response_create(respstatus, NULL);
        if (resp == NULL)
            die("OCSP_response_create failed");
    } else {
        X509 *cert, *issuer, *signer;
        EVP_PKEY *key;
        OCSP_BASICRESP *bs;
        OCSP_CERTID *id;
        ASN1_TIME *thisupd, *nextupd = NULL, *revtime = NULL;

        if (certf == NULL || issuerf == NULL || signerf == NULL || keyf == NULL)
            usage();
        cert = load_pem(certf, 0);
        issuer = load_pem(issuerf, 0);
        signer = load_pem(signerf, 0);
        key = load_pem(keyf, 1);

        id = OCSP_cert_to_id(sha256 ? EVP_sha256() : EVP_sha1(), cert, issuer);
        if (id == NULL)
            die("OCSP_cert_to_id failed");
        thisupd = X509_gmtime_adj(NULL, this_off);
        if (thisupd == NULL)
            die("bad -this");
        if (!no_next && (nextupd = X509_gmtime_adj(NULL, next_off)) == NULL)
            die("bad -next");
        if (status == V_OCSP_CERTSTATUS_REVOKED
            && (revtime = X509_gmtime_adj(NULL, this_off - 3600)) == NULL)
            die("cannot make revocation time");

        OCSP_SINGLERESP *single;

        bs = OCSP_BASICRESP_new();
        if (bs == NULL
            || (single = OCSP_basic_add1_status(bs, id, status,
                                                status == V_OCSP_CERTSTATUS_REVOKED
                                                    ? OCSP_REVOKED_STATUS_KEYCOMPROMISE
                                                    : OCSP_REVOKED_STATUS_NOSTATUS,
                                                revtime, thisupd, nextupd)) == NULL)
            die("OCSP_basic_add1_status failed");
        if (crit_ext != NULL) {
            /* an extension no client knows, marked critical */
            ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.55555.1", 1);
            ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
            X509_EXTENSION *ext = NULL;

            if (oid == NULL || val == NULL || !ASN1_OCTET_STRING_set(val, (const unsigned char *)"\x05\x00", 2)
                || (ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, val)) == NULL
                || !(strcmp(crit_ext, "response") == 0 ? OCSP_BASICRESP_add_ext(bs, ext, -1)
                                                       : OCSP_SINGLERESP_add_ext(single, ext, -1)))
                die("cannot add the critical extension");
            X509_EXTENSION_free(ext);
            ASN1_OCTET_STRING_free(val);
            ASN1_OBJECT_free(oid);
        }
        if (!OCSP_basic_sign(bs, signer, key, EVP_sha256(), NULL,
                             no_certs ? OCSP_NOCERTS : 0))
            die("OCSP_basic_sign failed (does the key match the signer cert?)");
        resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
        if (resp == NULL)
            die("OCSP_response_create failed");

        OCSP_BASICRESP_free(bs);
        OCSP_CERTID_free(id);
        ASN1_TIME_free(thisupd);
        ASN1_TIME_free(nextupd);
        ASN1_TIME_free(revtime);
        X509_free(cert);
        X509_free(issuer);
        X509_free(signer);
        EVP_PKEY_free(key);
    }

    derlen = i2d_OCSP_RESPONSE(resp, &der);
    if (derlen <= 0)
        die("i2d_OCSP_RESPONSE failed");
    out = fopen(outf, "wb");
    if (out == NULL) {
        fprintf(stderr, "mkresp: %s: %s\n", outf, strerror(errno));
        return 1;
    }
    if (fwrite(der, 1, (size_t)derlen, out) != (size_t)derlen || fclose(out) != 0) {
        fprintf(stderr, "mkresp: writing %s: %s\n", outf, strerror(errno));
        remove(outf);
        return 1;
    }
    OPENSSL_free(der);
    OCSP_RESPONSE_free(resp);
    return 0;
}
