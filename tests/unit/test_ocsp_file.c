/* Response files beside certificates (shim/ocsp_file.c): which names are
 * remembered for a certificate, and when a file is read again.  Needs
 * AS_PKI (the test PKI) and AS_BUILD (for mkresp), as run-suite.sh sets
 * them; skipped without. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../helpers/pem_file.h"
#include "certs.h"
#include "config.h"
#include "ocsp_file.h"
#include "tap.h"

static const char *pki, *build;
static char dir[] = "/tmp/test_ocsp_file.XXXXXX";

static const char *env(const char *name)
{
    return getenv(name);
}

static void quiet(const char *msg)
{
    (void)msg;
}

static X509 *load(const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.pem", pki, name);
    return pem_read_file(path, 0);
}

/* mkresp for leaf-rsa into dir/NAME, with extra arguments. */
static int mkresp(const char *name, const char *args)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd),
             "%s/tests/mkresp -cert %s/leaf-rsa.pem -issuer %s/inter.pem -signer %s/inter.pem "
             "-key %s/inter.key -out %s/%s.tmp %s && mv %s/%s.tmp %s/%s",
             build, pki, pki, pki, pki, dir, name, args, dir, name, dir, name);
    return system(cmd) == 0;
}

static struct as_cert *new_cert(X509 *leaf, X509 *issuer)
{
    struct as_cert *c = calloc(1, sizeof(*c) + 16);
    c->name = strcpy(c->text, "/CN=good.test");
    c->leaf = leaf;
    c->issuer = issuer;
    return c;
}

static int fresher(struct as_cert *c, time_t after, time_t *this_update, const char **path)
{
    struct as_verify_params p = { 300, 86400, 864000 };
    unsigned char *der = NULL;
    size_t len;
    struct as_verdict v;
    if (!as_ocsp_file_fresher(c, time(NULL), &p, after, &der, &len, &v, path))
        return 0;
    free(der);
    *this_update = v.this_update;
    return 1;
}

int main(void)
{
    pki = getenv("AS_PKI");
    build = getenv("AS_BUILD");
    if (pki == NULL || build == NULL) {
        printf("1..0 # SKIP AS_PKI and AS_BUILD are not set\n");
        return 0;
    }
    struct as_config cfg;
    as_config_load(&cfg, env, quiet);
    cfg.ocsp_files = 1;
    as_config_use(&cfg);
    if (mkdtemp(dir) == NULL)
        return 1;

    struct as_cert *c = new_cert(load("leaf-rsa"), load("inter"));
    ok(c->leaf != NULL && c->issuer != NULL, "the test PKI loads");

    /* Names. */
    char cert[4200], key[4200], cwd[4096];
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    char cmd[9000];
    snprintf(cmd, sizeof(cmd), "cp %s/leaf-rsa.pem %s && cp %s/leaf-rsa.key %s", pki, cert, pki,
             key);
    ok(system(cmd) == 0, "a certificate file and a key file");

    struct as_cert_source named = { .named = cert };
    as_ocsp_file_note(c, &named);
    as_ocsp_file_note(c, &named);
    is_long(as_ocsp_file_count(c), 1, "a named file is remembered once");

    struct as_cert_source guess = { .recent = { key, cert, "relative.pem" }, .nrecent = 3 };
    as_ocsp_file_note(c, &guess);
    is_long(as_ocsp_file_count(c), 3, "guesses: the key file and a relative name are added, the named one not again");

    char many[20][64];
    struct as_cert_source lots = { .nrecent = AS_RECENT_FILES };
    for (int i = 0; i < AS_RECENT_FILES; i++) {
        snprintf(many[i], sizeof(many[i]), "/nonexistent/%d.pem", i);
        lots.recent[i] = many[i];
    }
    as_ocsp_file_note(c, &lots);
    is_long(as_ocsp_file_count(c), 8, "at most 8 files per certificate");

    cfg.ocsp_files = 0;
    as_config_use(&cfg);
    struct as_cert *off = new_cert(NULL, NULL);
    as_ocsp_file_note(off, &named);
    is_long(as_ocsp_file_count(off), 0, "AUTOSTAPLE_OCSP_FILES=0: nothing remembered");
    cfg.ocsp_files = 1;
    as_config_use(&cfg);

    /* Reading. */
    time_t t1 = 0, t2 = 0;
    const char *path = NULL;
    ok(!fresher(c, 0, &t1, &path), "no file yet: nothing");
    ok(mkresp("cert.pem.ocsp", "-this -60"), "mkresp");
    ok(fresher(c, 0, &t1, &path), "a valid file beside the named certificate file: taken");
    ok(path != NULL && strstr(path, "/cert.pem.ocsp") != NULL, "its path is given");
    ok(!fresher(c, 0, &t2, &path), "unchanged: not read again");
    /* Older than the held one by a minute, so a second boundary crossed
     * between the two mkresp runs cannot make it the fresher. */
    ok(mkresp("cert.pem.ocsp", "-this -120"), "mkresp");
    utimensat(AT_FDCWD, path, (struct timespec[]){ { 0, UTIME_NOW }, { time(NULL) + 5, 0 } }, 0);
    ok(!fresher(c, t1, &t2, &path), "rewritten, not fresher than the held one: not taken");
    ok(mkresp("cert.pem.ocsp", "-this -10"), "mkresp");
    ok(fresher(c, t1, &t2, &path) && t2 > t1, "rewritten with a later thisUpdate: taken");

    /* A guess whose file holds no certificate is never read. */
    ok(mkresp("key.pem.ocsp", "-this -1"), "mkresp");
    struct as_cert *g = new_cert(c->leaf, c->issuer);
    struct as_cert_source keyonly = { .recent = { key }, .nrecent = 1 };
    as_ocsp_file_note(g, &keyonly);
    ok(!fresher(g, 0, &t2, &path), "a valid response beside a key file (a wrong guess): not taken");
    struct as_cert_source keynamed = { .named = key };
    as_ocsp_file_note(g, &keynamed);
    ok(fresher(g, 0, &t2, &path), "the same file named by the server: taken");

    /* A relative name is taken from the directory at load time: the server
     * may chdir afterwards (daemons do). */
    struct as_cert *r = new_cert(c->leaf, c->issuer);
    struct as_cert_source relative = { .named = "cert.pem" };
    ok(getcwd(cwd, sizeof(cwd)) != NULL && chdir(dir) == 0, "into the certificate's directory");
    as_ocsp_file_note(r, &relative);
    ok(chdir(cwd) == 0, "and out of it");
    ok(fresher(r, 0, &t2, &path) && strncmp(path, dir, strlen(dir)) == 0,
       "a relative name is made absolute when noted");

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ok(system(cmd) == 0, "clean up");
    return tap_done();
}
