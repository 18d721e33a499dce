/* fuzz_cachefile: a saved response in AUTOSTAPLE_CACHE_DIR, on its way from
 * the file to a handshake, as the refresher's from_cache takes it:
 * as_persist_load (shim/persist.c), as_ocsp_verify, then as_slot_publish
 * and as_slot_copy (shim/cache.c), or as_persist_drop when refused.
 *
 * Input: the file's content.  It is written as <sha256 of the leaf>.ocsp
 * in a private temporary directory (removed at exit).  Checks: the loader
 * returns exactly the file's bytes, or nothing for an empty or oversized
 * file; verdicts have fuzz_check_verdict's properties; a stapled response
 * comes back byte for byte with its expiry; a refused one is deleted; the
 * slot refuses only what is too large, older than what it held, or good
 * after revoked. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "cache.h"
#include "config.h"
#include "fuzz_common.h"
#include "log.h"
#include "persist.h"

static char dir[256], path[512];
static unsigned char fp[32];
static struct as_slot *slot;

static const char *fake_getenv(const char *name)
{
    return strcmp(name, "AUTOSTAPLE_CACHE_DIR") == 0 ? dir : NULL;
}

static void no_warning(const char *msg)
{
    fprintf(stderr, "fuzz_cachefile: unexpected configuration warning: %s\n", msg);
    abort();
}

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_load_pki();
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/fuzz_cachefile.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("fuzz_cachefile: mkdtemp");
        exit(2);
    }
    atexit(cleanup);
    /* The production defaults, with the cache directory set. */
    struct as_config cfg;
    as_config_load(&cfg, fake_getenv, no_warning);
    as_config_use(&cfg);
    as_log_setup(AS_DEBUG, "/dev/null");
    unsigned int n = 0;
    if (!X509_digest(fuzz_pki.leaf.cert, EVP_sha256(), fp, &n) || n != sizeof(fp))
        exit(2);
    int used = snprintf(path, sizeof(path), "%s/", dir);
    for (int i = 0; i < 32; i++)
        used += snprintf(path + used, sizeof(path) - used, "%02x", fp[i]);
    snprintf(path + used, sizeof(path) - used, ".ocsp");
    as_cache_configure((size_t)as_config()->max_response, 1);
    enum as_cache_shortfall why;
    if ((slot = as_slot_new(&why)) == NULL)
        exit(2);
    return 0;
}

static void write_file(const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size) || close(fd) != 0) {
        perror("fuzz_cachefile: writing the cache file");
        exit(2);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_file(data, size);
    unsigned char *der = NULL;
    size_t len = 0;
    int loaded = as_persist_load(fp, &der, &len);
    FUZZ_CHECK(loaded == (size > 0 && size <= 65535));
    if (!loaded)
        return 0;
    FUZZ_CHECK(len == size && memcmp(der, data, size) == 0);

    struct as_verify_params p = as_verify_params_configured(as_config());
    struct as_verdict v;
    int ok = as_ocsp_verify(der, len, fuzz_pki.leaf.cert, fuzz_pki.ca.cert, FUZZ_NOW, &p, &v);
    fuzz_check_verdict(der, len, ok, &v, FUZZ_NOW);
    if (!ok) {
        as_persist_drop(fp);
        FUZZ_CHECK(access(path, F_OK) != 0 && errno == ENOENT);
    } else {
        /* The slot lives across inputs: it refuses to go back in time, or
         * from revoked to good (cache.h), and only that or a size refuses. */
        time_t newest = 0;
        as_slot_expires(slot, &newest);
        time_t revoked_at = as_slot_revoked_at(slot);
        enum as_publish r = as_slot_publish(slot, der, len, v.status, v.this_update, v.expires);
        int stored = r == AS_PUBLISHED;
        if (r == AS_PUBLISH_OLDER)
            FUZZ_CHECK(v.this_update < newest);
        else if (r == AS_PUBLISH_AFTER_REVOKED)
            FUZZ_CHECK(revoked_at != 0 && v.status != V_OCSP_CERTSTATUS_REVOKED);
        else
            FUZZ_CHECK(stored == (len <= (size_t)as_config()->max_response));
        if (stored) {
            unsigned char *copy = NULL;
            size_t clen = 0;
            time_t this_update = 0;
            FUZZ_CHECK(as_slot_copy(slot, FUZZ_NOW, &copy, &clen));
            FUZZ_CHECK(clen == len && memcmp(copy, data, len) == 0);
            OPENSSL_free(copy);
            FUZZ_CHECK(as_slot_expires(slot, &this_update) == v.expires &&
                       this_update == v.this_update);
            FUZZ_CHECK(!as_slot_copy(slot, v.expires, &copy, &clen)); /* not after expiry */
        }
    }
    free(der);
    return 0;
}
