/* The refresher's decisions for one certificate (shim/refresh.c), one
 * attempt at a time: waiting for the server's chain, the saved response
 * first, response files, the fetch and what its answer does to the staple,
 * backoff, near-expiry, and waiting for another process's fetch.  Driven by
 * a fake clock, a fixed jitter and a fake responder; the responses are
 * signed here with the test PKI's keys and verified for real.  Expected
 * times come from the schedule's rules (schedule.h).  Needs AS_PKI (the
 * test PKI, as run-suite.sh sets it); skipped without. */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>

#include "../helpers/pem_file.h"
#include "aia.h"
#include "cache.h"
#include "certs.h"
#include "config.h"
#include "issuer.h"
#include "log.h"
#include "ocsp_file.h"
#include "ocsp_verify.h"
#include "persist.h"
#include "refresh.h"
#include "schedule.h"
#include "tap.h"

/* A short backoff ladder: three doublings reach the cap. */
#define RETRY_MIN 40
#define RETRY_MAX 320
#define JITTER 0.5
#define HOUR 3600

struct signer {
    X509 *cert;
    EVP_PKEY *key;
};

static struct {
    X509 *inter;
    X509 *rsa, *sni, *revoked;  /* leaves, all issued by inter */
    struct signer delegate;     /* ocsp-signer: inter's delegated responder */
    struct signer rogue;        /* rogue-signer: certified by another CA */
} pki;

static char work[4096];         /* this run's directory */
static char log_path[4200];

/* A DER OCSPResponse and what it says. */
struct response {
    unsigned char *der;
    size_t len;
    int status;
    time_t this_update, next_update;
};

/* ---- the world refresh.c sees ---- */

static time_t fake_now;

static time_t fake_clock(void)
{
    return fake_now;
}

static double fixed_jitter(void)
{
    return JITTER;
}

/* What the fake responder answers next, and what it was asked. */
static struct {
    int unreachable;            /* the exchange fails to connect */
    long code;                  /* else: this HTTP status, with body */
    struct response body;
    long takes;                 /* seconds of fake time an exchange takes */
    void (*meanwhile)(void);    /* what happens elsewhere during an exchange */
    int calls;
    ASN1_INTEGER *asked_serial; /* the certificate of the last request */
} responder;

static void remember_asked(const unsigned char *req, size_t len)
{
    OCSP_REQUEST *r = d2i_OCSP_REQUEST(NULL, &req, (long)len);
    ASN1_INTEGER *serial = NULL;
    ASN1_INTEGER_free(responder.asked_serial);
    responder.asked_serial = NULL;
    if (r != NULL && OCSP_request_onereq_count(r) == 1 &&
        OCSP_id_get0_info(NULL, NULL, NULL, &serial,
                          OCSP_onereq_get0_id(OCSP_request_onereq_get0(r, 0))))
        responder.asked_serial = ASN1_INTEGER_dup(serial);
    OCSP_REQUEST_free(r);
}

/* as_fetch_ocsp's contract (fetch.h), answered from responder. */
static int fake_fetch(const char *url, const char *get_url, const unsigned char *req,
                      size_t reqlen, long timeout, const atomic_int *stop, struct as_http *res)
{
    (void)url, (void)get_url, (void)timeout, (void)stop;
    memset(res, 0, sizeof(*res));
    responder.calls++;
    remember_asked(req, reqlen);
    fake_now += responder.takes;
    if (responder.meanwhile != NULL)
        responder.meanwhile();
    if (responder.unreachable) {
        res->failure = AS_FETCH_NO_CONNECTION;
        snprintf(res->error, sizeof(res->error), "Couldn't connect to server");
        return 0;
    }
    res->code = responder.code;
    if (responder.body.len > 0 && (res->body = malloc(responder.body.len)) != NULL) {
        memcpy(res->body, responder.body.der, responder.body.len);
        res->len = responder.body.len;
    }
    return 1;
}

static atomic_int stopping;
static const struct as_refresh_env fake_env = { fake_clock, fixed_jitter, fake_fetch, &stopping };

/* The next exchange answers code with body (an instant exchange, nothing
 * happening meanwhile). */
static void answer(long code, struct response body)
{
    responder.unreachable = 0;
    responder.code = code;
    responder.body = body;
    responder.takes = 0;
    responder.meanwhile = NULL;
}

static void answer_unreachable(void)
{
    answer(0, (struct response){ 0 });
    responder.unreachable = 1;
}

static int asked_about(X509 *leaf)
{
    return responder.asked_serial != NULL &&
           ASN1_INTEGER_cmp(responder.asked_serial, X509_get0_serialNumber(leaf)) == 0;
}

/* ---- the test PKI and responses ---- */

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

static void quiet(const char *msg)
{
    (void)msg;
}

static void *pki_file(const char *dir, const char *name, int key)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.%s", dir, name, key ? "key" : "pem");
    return pem_read_file(path, key);
}

static int load_pki(const char *dir)
{
    pki.inter = pki_file(dir, "inter", 0);
    pki.rsa = pki_file(dir, "leaf-rsa", 0);
    pki.sni = pki_file(dir, "leaf-sni", 0);
    pki.revoked = pki_file(dir, "leaf-revoked", 0);
    pki.delegate = (struct signer){ pki_file(dir, "ocsp-signer", 0), pki_file(dir, "ocsp-signer", 1) };
    pki.rogue = (struct signer){ pki_file(dir, "rogue-signer", 0), pki_file(dir, "rogue-signer", 1) };
    return pki.inter && pki.rsa && pki.sni && pki.revoked && pki.delegate.cert &&
           pki.delegate.key && pki.rogue.cert && pki.rogue.key;
}

/* A successful response about leaf (issued by inter), signed by by. */
static struct response respond(X509 *leaf, int status, time_t this_update, time_t next_update,
                               const struct signer *by)
{
    struct response r = { NULL, 0, status, this_update, next_update };
    OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), leaf, pki.inter);
    ASN1_TIME *this_t = ASN1_TIME_set(NULL, this_update);
    ASN1_TIME *next_t = ASN1_TIME_set(NULL, next_update);
    ASN1_TIME *revoked_t = status == V_OCSP_CERTSTATUS_REVOKED ? ASN1_TIME_set(NULL, this_update - HOUR)
                                                               : NULL;
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    OCSP_RESPONSE *resp = NULL;
    unsigned char *der = NULL;
    int len = 0;
    if (id != NULL && bs != NULL &&
        OCSP_basic_add1_status(bs, id, status,
                               revoked_t ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : OCSP_REVOKED_STATUS_NOSTATUS,
                               revoked_t, this_t, next_t) != NULL &&
        OCSP_basic_sign(bs, by->cert, by->key, EVP_sha256(), NULL, 0) &&
        (resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) != NULL &&
        (len = i2d_OCSP_RESPONSE(resp, &der)) > 0) {
        r.der = der;
        r.len = (size_t)len;
    }
    OCSP_RESPONSE_free(resp);
    OCSP_BASICRESP_free(bs);
    OCSP_CERTID_free(id);
    ASN1_TIME_free(this_t);
    ASN1_TIME_free(next_t);
    ASN1_TIME_free(revoked_t);
    return r;
}

/* The common case: good, from inter's delegated responder. */
static struct response good(X509 *leaf, time_t this_update, time_t next_update)
{
    return respond(leaf, V_OCSP_CERTSTATUS_GOOD, this_update, next_update, &pki.delegate);
}

/* ---- certificates, configuration, files ---- */

/* A certificate as the registry makes one (certs.c), named label in the
 * log, learned at the fake now, with its own slot; its issuer already
 * found unless issuer is NULL.  No caIssuers URL: an issuer is never
 * downloaded here. */
static struct as_cert *new_cert(const char *label, X509 *leaf, X509 *issuer)
{
    char ocsp_url[AS_MAX_URL], ca_issuers[AS_MAX_URL];
    as_aia_urls(leaf, ocsp_url, ca_issuers);
    size_t name_len = strlen(label) + 1, url_len = strlen(ocsp_url) + 1;
    struct as_cert *c = calloc(1, sizeof(*c) + name_len + url_len + 1);
    enum as_cache_shortfall why;
    unsigned fp_len = 0;
    if (c == NULL || (c->slot = as_slot_new(&why)) == NULL ||
        !X509_digest(leaf, EVP_sha256(), c->fp, &fp_len) || fp_len != sizeof(c->fp)) {
        printf("Bail out! cannot make a certificate entry\n");
        exit(1);
    }
    c->name = memcpy(c->text, label, name_len);
    c->ocsp_url = memcpy(c->text + name_len, ocsp_url, url_len);
    c->ca_issuers_url = c->text + name_len + url_len;
    c->leaf = leaf;
    c->learned = fake_now;
    if (issuer != NULL && X509_up_ref(issuer))
        c->issuer = issuer;
    return c;
}

/* The defaults, with the short backoff ladder, a CA bundle without the
 * intermediate and no issuer download; cache_dir ("" for none) and
 * response files as given. */
static void configure(const char *cache_dir, int ocsp_files)
{
    struct as_config cfg;
    as_config_load(&cfg, no_env, quiet);
    cfg.retry_min = RETRY_MIN;
    cfg.retry_max = RETRY_MAX;
    cfg.fetch_issuer = 0;
    snprintf(cfg.ca_file, sizeof(cfg.ca_file), "%s/root-only.pem", getenv("AS_PKI"));
    snprintf(cfg.cache_dir, sizeof(cfg.cache_dir), "%s", cache_dir);
    cfg.ocsp_files = ocsp_files;
    as_config_use(&cfg);
}

/* A new directory of this run's, only its owner may write (persist.h). */
static const char *new_dir(const char *name)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s", work, name) < 0 || mkdir(path, 0700) != 0) {
        printf("Bail out! cannot make %s in %s\n", name, work);
        exit(1);
    }
    return path;
}

/* r into path through a rename, as a cron job would. */
static int write_response(const char *path, const struct response *r)
{
    char tmp[4300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    int written = f != NULL && fwrite(r->der, 1, r->len, f) == r->len;
    if (f != NULL)
        written &= fclose(f) == 0;
    return written && rename(tmp, path) == 0;
}

/* How many lines of the log contain needle. */
static int log_lines(const char *needle)
{
    FILE *f = fopen(log_path, "r");
    char line[4096];
    int n = 0;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        n += strstr(line, needle) != NULL;
    if (f != NULL)
        fclose(f);
    return n;
}

/* The log as TAP comments, to see why something failed. */
static void show_log(void)
{
    FILE *f = fopen(log_path, "r");
    char line[4096];
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        printf("# %s", line);
    if (f != NULL)
        fclose(f);
}

/* Whether c's slot staples exactly r. */
static int staples(struct as_cert *c, const struct response *r)
{
    int status;
    time_t this_update, expires;
    unsigned char *der = NULL;
    size_t len = 0;
    int held = as_slot_held(c->slot, &status, &this_update, &expires) && status == r->status &&
               this_update == r->this_update && expires == r->next_update &&
               as_slot_copy(c->slot, fake_now, &der, &len) && len == r->len &&
               memcmp(der, r->der, len) == 0;
    OPENSSL_free(der);
    return held;
}

static int staples_nothing(struct as_cert *c)
{
    return as_slot_expires(c->slot, NULL) == 0;
}

/* When the schedule says a response taken at now is refreshed, and when the
 * n-th failure in a row at now is retried while held_expires is held. */
static time_t refresh_at(time_t now, const struct response *r)
{
    return as_next_refresh(now, r->this_update, r->next_update, JITTER);
}

static time_t retry_at(time_t now, int n, time_t held_expires)
{
    return as_next_retry(now, n, RETRY_MIN, RETRY_MAX, held_expires, JITTER);
}

/* ---- the cases ---- */

/* First of all: the pool holds no chain certificate yet. */
static void chain_grace(void)
{
    configure("", 0);
    struct as_cert *c = new_cert("chain-grace", pki.rsa, NULL);
    struct as_cert *orphan = new_cert("no-issuer", pki.sni, NULL);
    orphan->learned = fake_now - AS_CHAIN_GRACE;
    struct response r = good(pki.rsa, fake_now - 60, fake_now + HOUR);
    answer(200, r);
    int attempted = -1, calls = responder.calls;

    is_long(as_refresh_once(c, &fake_env, &attempted), c->learned + AS_CHAIN_GRACE,
            "chain grace: no issuer in the pool: look again when the grace ends");
    is_long(attempted, 0, "chain grace: not an attempt");
    is_long(responder.calls, calls, "chain grace: no fetch");
    is_long(c->pool_seen, as_pool_generation(), "chain grace: the pool's generation is noted");
    fake_now = c->learned + AS_CHAIN_GRACE - 1;
    is_long(as_refresh_once(c, &fake_env, &attempted), c->learned + AS_CHAIN_GRACE,
            "chain grace: a second before it ends: the same");
    ok(attempted == 0 && responder.calls == calls && c->issuer == NULL,
       "chain grace: still no attempt, no fetch, no issuer");

    time_t orphan_at = as_refresh_once(orphan, &fake_env, &attempted);
    is_long(orphan_at, retry_at(fake_now, 1, 0), "grace over, the issuer nowhere: a failure, backed off");
    ok(attempted == 1 && orphan->failures == 1 && orphan->issuer == NULL &&
       responder.calls == calls, "grace over, the issuer nowhere: attempted, counted, no fetch");

    as_pool_add(pki.inter);
    time_t at = as_refresh_once(c, &fake_env, &attempted);
    ok(attempted == 1 && c->issuer != NULL && X509_cmp(c->issuer, pki.inter) == 0,
       "chain grace: the chain came: its issuer is found");
    ok(responder.calls == calls + 1 && asked_about(pki.rsa), "chain grace: and fetched");
    ok(staples(c, &r), "chain grace: and stapled");
    is_long(at, refresh_at(fake_now, &r), "chain grace: next refresh on the schedule");

    fake_now = orphan_at;
    struct response for_orphan = good(pki.sni, fake_now - 60, fake_now + HOUR);
    answer(200, for_orphan);
    at = as_refresh_once(orphan, &fake_env, &attempted);
    ok(orphan->issuer != NULL && orphan->failures == 0 && asked_about(pki.sni) &&
       staples(orphan, &for_orphan), "the retry finds the issuer in the pool, fetches, staples");
    is_long(at, refresh_at(fake_now, &for_orphan), "and schedules the next refresh");
}

static void fetch_good(void)
{
    configure("", 0);
    struct as_cert *c = new_cert("fetch-good", pki.rsa, pki.inter);
    struct response r = good(pki.rsa, fake_now - 60, fake_now + HOUR);
    answer(200, r);
    int attempted = -1, calls = responder.calls;
    time_t at = as_refresh_once(c, &fake_env, &attempted);
    ok(attempted == 1 && responder.calls == calls + 1 && asked_about(pki.rsa),
       "fetch: one request, for the certificate");
    ok(staples(c, &r), "fetch good: stapled");
    ok(c->stapled && c->failures == 0 && c->stale == 0, "fetch good: stapled, no failure, not stale");
    is_long(at, refresh_at(fake_now, &r), "fetch good: next refresh at as_next_refresh");
}

/* A failure of each kind in a row, no response held: the retries climb the
 * ladder to its cap, and nothing is stapled until a good answer. */
static void failures_back_off(void)
{
    configure("", 0);
    struct as_cert *c = new_cert("backoff", pki.rsa, pki.inter);
    static const char garbage[] = "<html>502 Bad Gateway</html>";
    struct {
        const char *what;
        long code;              /* 0: unreachable */
        struct response body;
    } failures[] = {
        { "HTTP 500", 500, { (unsigned char *)"oops", 4, 0, 0, 0 } },
        { "no connection", 0, { 0 } },
        { "garbage body", 200, { (unsigned char *)garbage, sizeof(garbage) - 1, 0, 0, 0 } },
        { "wrong signer", 200, respond(pki.rsa, V_OCSP_CERTSTATUS_GOOD, fake_now - 60,
                                       fake_now + HOUR, &pki.rogue) },
        { "expired", 200, good(pki.rsa, fake_now - 2 * HOUR, fake_now - 60) },
    };
    enum { N = sizeof(failures) / sizeof(failures[0]) };
    time_t delay[N];
    for (int i = 0; i < N; i++) {
        if (failures[i].code != 0)
            answer(failures[i].code, failures[i].body);
        else
            answer_unreachable();
        responder.takes = 3;
        int attempted = -1, calls = responder.calls;
        time_t at = as_refresh_once(c, &fake_env, &attempted);
        ok(attempted == 1 && responder.calls == calls + 1, "%s: fetched once", failures[i].what);
        is_long(c->failures, i + 1, "%s: failure %d in a row", failures[i].what, i + 1);
        ok(staples_nothing(c) && !c->stapled, "%s: nothing stapled", failures[i].what);
        is_long(at, retry_at(fake_now, i + 1, 0),
                "%s: retried at as_next_retry from the end of the exchange", failures[i].what);
        delay[i] = at - fake_now;
        fake_now = at;
    }
    ok(delay[1] == 2 * delay[0] && delay[2] == 2 * delay[1] && delay[3] == 2 * delay[2] &&
       delay[4] == delay[3], "backoff: the delay doubles up to RETRY_MAX, then stays");
    ok(delay[3] <= RETRY_MAX && delay[0] >= RETRY_MIN / 2, "backoff: within RETRY_MIN/2 .. RETRY_MAX");

    struct response r = good(pki.rsa, fake_now - 60, fake_now + HOUR);
    answer(200, r);
    int attempted;
    time_t at = as_refresh_once(c, &fake_env, &attempted);
    ok(staples(c, &r) && c->failures == 0, "then a good answer: stapled, failures reset");
    is_long(at, refresh_at(fake_now, &r), "and the schedule is the normal one again");
}

/* A failure keeps the good response held; its retry counts with it; the
 * same failure again is logged once. */
static void failure_keeps_last_good(void)
{
    configure("", 0);
    struct as_cert *c = new_cert("keeps-last-good", pki.rsa, pki.inter);
    struct response r = good(pki.rsa, fake_now - 60, fake_now + HOUR);
    answer(200, r);
    int attempted;
    fake_now = as_refresh_once(c, &fake_env, &attempted);

    const char *logged = "certificate keeps-last-good: OCSP from";
    for (int n = 1; n <= 2; n++) {
        answer(500, (struct response){ (unsigned char *)"oops", 4, 0, 0, 0 });
        time_t at = as_refresh_once(c, &fake_env, &attempted);
        ok(staples(c, &r), "HTTP 500 (%d): the last good response is kept", n);
        is_long(c->failures, n, "HTTP 500 (%d): counted", n);
        is_long(at, retry_at(fake_now, n, r.next_update), "HTTP 500 (%d): retry with the held expiry", n);
        fake_now = at;
    }
    is_long(log_lines(logged), 1, "the same failure twice is logged once");
    answer_unreachable();
    as_refresh_once(c, &fake_env, &attempted);
    is_long(log_lines(logged), 2, "a different failure is logged");

    /* The fourth delay would end past the held response's expiry. */
    fake_now = r.next_update - (time_t)(RETRY_MAX * (1 + JITTER) / 2) + 10;
    answer(500, (struct response){ (unsigned char *)"oops", 4, 0, 0, 0 });
    time_t at = as_refresh_once(c, &fake_env, &attempted);
    is_long(at, retry_at(fake_now, 4, r.next_update), "close to its expiry: retried as the schedule says");
    ok(at < r.next_update, "before the held response lapses");
}

/* A response already past 40 % of its window when it comes: backed off
 * like a failure, stapled all the same. */
static void near_expiry(void)
{
    configure("", 0);
    struct as_cert *c = new_cert("near-expiry", pki.rsa, pki.inter);
    int attempted;
    for (int n = 1; n <= 2; n++) {
        struct response old = good(pki.rsa, fake_now - 3000 + 100 * n, fake_now + 1000);
        answer(200, old);
        time_t at = as_refresh_once(c, &fake_env, &attempted);
        ok(staples(c, &old), "near expiry (%d): stapled", n);
        ok(c->stale == n && c->failures == 0, "near expiry (%d): stale %d, no failure", n, n);
        is_long(at, retry_at(fake_now, n, old.next_update),
                "near expiry (%d): the early retry path, not the refresh point already passed", n);
        fake_now = at;
    }
    struct response fresh = good(pki.rsa, fake_now - 60, fake_now + HOUR);
    answer(200, fresh);
    time_t at = as_refresh_once(c, &fake_env, &attempted);
    ok(staples(c, &fresh) && c->stale == 0, "then a fresh one: stapled, not stale");
    is_long(at, refresh_at(fake_now, &fresh), "on the normal schedule");
}

static void revoked_then_good(void)
{
    configure("", 0);
    struct as_cert *c = new_cert("revoked", pki.revoked, pki.inter);
    struct response revoked = respond(pki.revoked, V_OCSP_CERTSTATUS_REVOKED, fake_now - 60,
                                      fake_now + HOUR, &pki.delegate);
    answer(200, revoked);
    int attempted;
    time_t at = as_refresh_once(c, &fake_env, &attempted);
    ok(staples(c, &revoked), "revoked: the revocation is stapled");
    is_long(as_slot_revoked_at(c->slot), revoked.this_update, "revoked: the slot remembers when");
    is_long(at, refresh_at(fake_now, &revoked), "revoked: refreshed on the schedule");

    fake_now = at;
    answer(200, good(pki.revoked, fake_now - 10, fake_now + HOUR));
    at = as_refresh_once(c, &fake_env, &attempted);
    ok(staples(c, &revoked), "then good: refused, the revocation stays");
    is_long(c->failures, 1, "then good: a failure");
    is_long(at, retry_at(fake_now, 1, revoked.next_update), "then good: retried as after a failure");
    is_long(log_lines("refusing a good response"), 1, "then good: the log says why");
}

static void older_replay(void)
{
    configure("", 0);
    struct as_cert *c = new_cert("replay", pki.rsa, pki.inter);
    struct response newer = good(pki.rsa, fake_now - 60, fake_now + HOUR);
    answer(200, newer);
    int attempted;
    as_refresh_once(c, &fake_env, &attempted);
    fake_now += 60;
    answer(200, good(pki.rsa, newer.this_update - 600, fake_now + HOUR));
    time_t at = as_refresh_once(c, &fake_env, &attempted);
    ok(staples(c, &newer) && c->failures == 1, "an older response (a replay): refused, a failure");
    is_long(at, retry_at(fake_now, 1, newer.next_update), "an older response: retried");
}

static void cache_first(void)
{
    configure(new_dir("cache-first"), 0);
    struct as_cert *c = new_cert("cache-first", pki.rsa, pki.inter);
    struct response saved = good(pki.rsa, fake_now - 60, fake_now + HOUR);
    as_persist_save(c->fp, saved.der, saved.len);
    int attempted = -1, calls = responder.calls;
    time_t at = as_refresh_once(c, &fake_env, &attempted);
    ok(responder.calls == calls && attempted == 1, "cache first: a saved response, no fetch");
    ok(staples(c, &saved), "cache first: the saved response is stapled");
    is_long(at, refresh_at(fake_now, &saved), "cache first: next refresh on its schedule");

    fake_now = at;
    struct response fetched = good(pki.rsa, fake_now - 10, fake_now + HOUR);
    answer(200, fetched);
    as_refresh_once(c, &fake_env, &attempted);
    ok(responder.calls == calls + 1 && staples(c, &fetched), "cache first: once due, fetched");
    unsigned char *der = NULL;
    size_t len = 0;
    ok(as_persist_load(c->fp, &der, &len) && len == fetched.len && memcmp(der, fetched.der, len) == 0,
       "cache first: the fetched response is saved");
    free(der);

    /* Saved by an earlier run, past its refresh point: stapled at once all
     * the same (it is valid), and retried early.  Only the first attempt
     * looks at the cache so: later ones take a saved response only if it
     * is fresh (another process's, taking_over). */
    configure(new_dir("cache-old"), 0);
    struct as_cert *o = new_cert("cache-old", pki.rsa, pki.inter);
    struct response old = good(pki.rsa, fake_now - 3000, fake_now + 1000);
    as_persist_save(o->fp, old.der, old.len);
    calls = responder.calls;
    at = as_refresh_once(o, &fake_env, &attempted);
    ok(responder.calls == calls && staples(o, &old), "cache first: an old saved response, stapled, no fetch");
    is_long(o->stale, 1, "cache first: an old saved response is stale");
    is_long(at, retry_at(fake_now, 1, old.next_update), "cache first: an old saved response: early retry");

    configure(new_dir("cache-forged"), 0);
    struct as_cert *f = new_cert("cache-forged", pki.rsa, pki.inter);
    struct response forged = respond(pki.rsa, V_OCSP_CERTSTATUS_GOOD, fake_now - 60,
                                     fake_now + HOUR, &pki.rogue);
    as_persist_save(f->fp, forged.der, forged.len);
    answer(500, (struct response){ (unsigned char *)"oops", 4, 0, 0, 0 });
    calls = responder.calls;
    as_refresh_once(f, &fake_env, &attempted);
    ok(staples_nothing(f) && responder.calls == calls + 1,
       "a saved response that does not verify: not stapled, fetched instead");
    ok(!as_persist_load(f->fp, &der, &len), "and deleted");
}

/* What a cron job writes beside the certificate while the responder is
 * asked. */
static struct {
    const char *path;
    struct response r;
} cron;

static void cron_rewrites(void)
{
    write_response(cron.path, &cron.r);
}

static void response_files(void)
{
    configure("", 1);
    const char *dir = new_dir("files");
    char cert_file[4300], ocsp_file[4400];
    snprintf(cert_file, sizeof(cert_file), "%s/cert.pem", dir);
    snprintf(ocsp_file, sizeof(ocsp_file), "%s.ocsp", cert_file);
    struct as_cert *c = new_cert("response-files", pki.rsa, pki.inter);
    as_ocsp_file_note(c, &(struct as_cert_source){ .named = cert_file });

    struct response on_disk = good(pki.rsa, fake_now - 60, fake_now + HOUR);
    ok(write_response(ocsp_file, &on_disk), "a response file beside the certificate");
    int attempted, calls = responder.calls;
    time_t at = as_refresh_once(c, &fake_env, &attempted);
    ok(responder.calls == calls && staples(c, &on_disk), "response file: taken, no fetch");
    is_long(at, refresh_at(fake_now, &on_disk), "response file: next refresh on its schedule");

    fake_now = at;
    struct response fetched = good(pki.rsa, fake_now - 10, fake_now + HOUR);
    answer(200, fetched);
    as_refresh_once(c, &fake_env, &attempted);
    ok(responder.calls == calls + 1 && staples(c, &fetched), "response file unchanged: fetched");

    fake_now = at = refresh_at(fake_now, &fetched);
    struct response older = good(pki.rsa, fetched.this_update - 60, fake_now + HOUR);
    ok(write_response(ocsp_file, &older), "rewritten, older than the held one");
    answer(500, (struct response){ (unsigned char *)"oops", 4, 0, 0, 0 });
    at = as_refresh_once(c, &fake_env, &attempted);
    ok(staples(c, &fetched) && c->failures == 1, "responder fails, the file is older: kept, a failure");
    is_long(at, retry_at(fake_now, 1, fetched.next_update), "and retried");

    fake_now = at;
    cron.path = ocsp_file;
    cron.r = good(pki.rsa, fake_now - 5, fake_now + HOUR);
    answer(500, (struct response){ (unsigned char *)"oops", 4, 0, 0, 0 });
    responder.meanwhile = cron_rewrites;
    at = as_refresh_once(c, &fake_env, &attempted);
    ok(responder.calls == calls + 3 && staples(c, &cron.r),
       "responder fails, a fresher file came meanwhile: taken");
    is_long(c->failures, 0, "and the failure is over");
    is_long(at, refresh_at(fake_now, &cron.r), "next refresh on the file's schedule");
}

/* Another process fetches (it holds the certificate's lock): wait for what
 * it saves, then, past the exchange's timeout, fetch too. */
static void taking_over(void)
{
    configure(new_dir("taking-over"), 0);
    struct as_cert *c = new_cert("taking-over", pki.rsa, pki.inter);
    /* flock(2) locks belong to an open file description: a lock taken on
     * a descriptor of its own excludes the refresher as another process's
     * would. */
    int other = as_persist_lock(c->fp);
    ok(other >= 0, "another fetcher holds the lock");
    answer(200, good(pki.rsa, fake_now - 60, fake_now + HOUR));
    int attempted = -1, calls = responder.calls;
    time_t since = fake_now;
    is_long(as_refresh_once(c, &fake_env, &attempted), since + 1, "lock busy: look again in a second");
    ok(attempted == 0 && responder.calls == calls, "lock busy: not an attempt, no fetch");

    fake_now += 1;
    struct response theirs = good(pki.rsa, fake_now - 1, fake_now + HOUR);
    as_persist_save(c->fp, theirs.der, theirs.len);
    time_t at = as_refresh_once(c, &fake_env, &attempted);
    ok(responder.calls == calls && staples(c, &theirs), "lock busy: the response it saved is taken");
    is_long(at, refresh_at(fake_now, &theirs), "lock busy: next refresh on that response's schedule");

    fake_now = since = at;
    long timeout = as_config()->timeout;
    is_long(as_refresh_once(c, &fake_env, &attempted), since + 1,
            "due again, lock busy, nothing fresher saved: wait");
    fake_now = since + timeout + 2;
    is_long(as_refresh_once(c, &fake_env, &attempted), fake_now + 1,
            "timeout + 2 s later: still waiting");
    ok(attempted == 0 && responder.calls == calls, "still no fetch");
    fake_now = since + timeout + 3;
    struct response mine = good(pki.rsa, fake_now - 1, fake_now + HOUR);
    answer(200, mine);
    at = as_refresh_once(c, &fake_env, &attempted);
    ok(attempted == 1 && responder.calls == calls + 1 && staples(c, &mine),
       "past timeout + 2 s: fetched itself");
    is_long(at, refresh_at(fake_now, &mine), "and refreshed on the schedule");
    as_persist_unlock(other);
}

static void stopping_process(void)
{
    configure("", 0);
    struct as_cert *c = new_cert("stopping", pki.rsa, pki.inter);
    answer_unreachable();
    atomic_store(&stopping, 1);
    int attempted;
    is_long(as_refresh_once(c, &fake_env, &attempted), 0, "the process stops: no next attempt");
    is_long(c->failures, 0, "an exchange cut short is no failure");
    atomic_store(&stopping, 0);
}

int main(void)
{
    const char *pki_dir = getenv("AS_PKI");
    if (pki_dir == NULL) {
        printf("1..0 # SKIP AS_PKI is not set\n");
        return 0;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(work, sizeof(work), "%s/test_refresh.XXXXXX", tmp ? tmp : "/tmp");
    if (!load_pki(pki_dir) || mkdtemp(work) == NULL) {
        printf("Bail out! cannot load the test PKI from %s or make a directory\n", pki_dir);
        return 1;
    }
    snprintf(log_path, sizeof(log_path), "%s/log", work);
    as_log_setup(AS_INFO, log_path);
    as_cache_configure(16384, 64);
    /* The real clock's neighbourhood: the PKI's certificates are valid. */
    fake_now = time(NULL);

    chain_grace();
    fetch_good();
    failures_back_off();
    failure_keeps_last_good();
    near_expiry();
    revoked_then_good();
    older_replay();
    cache_first();
    response_files();
    taking_over();
    stopping_process();

    if (tap_failed)
        show_log();
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
    ok(system(cmd) == 0, "clean up");
    return tap_done();
}
