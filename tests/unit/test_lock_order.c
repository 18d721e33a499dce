/* The lock order (lock_order.h): the rule, and its check on acquisition.
 * This test compiles lock_order.c itself with AS_CHECK_LOCKS, so the
 * checked variant runs whatever the build.  The core's own objects check
 * only in sanitized builds (plain ones inline the pthread calls): there,
 * the registry lock taken out of order must stop the process too. */
#define AS_CHECK_LOCKS 1
#include "lock_order.c"

#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "certs.h"
#include "tap.h"

#define BIT(r) (1u << (r))

/* Runs fn in a child with stderr into a pipe: its wait status, and what
 * it wrote in out. */
static int in_child(void (*fn)(void), char *out, size_t outlen)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        fn();
        _exit(0);
    }
    close(p[1]);
    size_t got = 0;
    ssize_t n;
    while (got + 1 < outlen && (n = read(p[0], out + got, outlen - 1 - got)) > 0)
        got += (size_t)n;
    out[got] = '\0';
    close(p[0]);
    int status = -1;
    waitpid(pid, &status, 0);
    return status;
}

static pthread_mutex_t pool_like = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t report_like = PTHREAD_MUTEX_INITIALIZER;

#if AS_SANITIZED
/* The core's registry lock (certs.c's), taken while a lock below it is
 * held. */
static void registry_under_pool(void)
{
    as_lock(&pool_like, AS_LOCK_POOL);
    as_registry_lock();
    as_registry_unlock();
    as_unlock(&pool_like, AS_LOCK_POOL);
}
#endif

static void report_under_pool_reversed(void)
{
    as_lock(&report_like, AS_LOCK_REPORT);
    as_lock(&pool_like, AS_LOCK_POOL);
}

/* In order: pool, then report below it; and again after letting go. */
static void in_order_and_again(void)
{
    as_lock(&pool_like, AS_LOCK_POOL);
    as_lock(&report_like, AS_LOCK_REPORT);
    as_unlock(&report_like, AS_LOCK_REPORT);
    as_unlock(&pool_like, AS_LOCK_POOL);
    as_lock(&report_like, AS_LOCK_REPORT);
    as_unlock(&report_like, AS_LOCK_REPORT);
    as_lock(&pool_like, AS_LOCK_POOL);
    as_unlock(&pool_like, AS_LOCK_POOL);
}

static void pool_twice(void)
{
    static pthread_mutex_t other = PTHREAD_MUTEX_INITIALIZER;
    as_lock(&pool_like, AS_LOCK_POOL);
    as_lock(&other, AS_LOCK_POOL);
}

/* A lock kept for the rest of the process (the fork guard at exit)
 * orders nothing more: a lock above it may still be taken. */
static void kept_then_above(void)
{
    as_lock(&report_like, AS_LOCK_REPORT);
    as_lock_kept(AS_LOCK_REPORT);
    as_lock(&pool_like, AS_LOCK_POOL);
    as_unlock(&pool_like, AS_LOCK_POOL);
}

/* While a thread waits on a condition its lock is free: a signal handler
 * on that thread may take a lock above it (an exit() there takes the
 * registry). */
static void take_pool_in_handler(int sig)
{
    (void)sig;
    as_lock(&pool_like, AS_LOCK_POOL);
    as_unlock(&pool_like, AS_LOCK_POOL);
}

static void handler_during_wait(void)
{
    static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    signal(SIGALRM, take_pool_in_handler);
    struct itimerval in_50ms = { { 0, 0 }, { 0, 50000 } };
    setitimer(ITIMER_REAL, &in_50ms, NULL);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 300000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    as_lock(&report_like, AS_LOCK_REPORT);
    as_lock_wait(&cv, &report_like, AS_LOCK_REPORT, &until);
    as_unlock(&report_like, AS_LOCK_REPORT);
}

int main(void)
{
    /* The rule. */
    is_long(as_lock_order_conflict(0, AS_LOCK_REGISTRY), -1, "nothing held: any lock");
    is_long(as_lock_order_conflict(BIT(AS_LOCK_FORK_GUARD) | BIT(AS_LOCK_REGISTRY), AS_LOCK_POOL),
            -1, "fork guard and registry held: the pool, below both");
    is_long(as_lock_order_conflict(BIT(AS_LOCK_POOL), AS_LOCK_REGISTRY), AS_LOCK_POOL,
            "pool held: not the registry, above it");
    is_long(as_lock_order_conflict(BIT(AS_LOCK_REGISTRY), AS_LOCK_REGISTRY), AS_LOCK_REGISTRY,
            "a lock not twice");
    is_long(as_lock_order_conflict(BIT(AS_LOCK_RENDERING) | BIT(AS_LOCK_BIRTHS), AS_LOCK_REPORT),
            AS_LOCK_BIRTHS, "the innermost held is named");

    int distinct = 1;
    for (int a = 0; a < AS_LOCK_RANKS; a++)
        for (int b = 0; b < AS_LOCK_RANKS; b++)
            if (strcmp(as_lock_name(a), "?") == 0 ||
                (a != b && strcmp(as_lock_name(a), as_lock_name(b)) == 0))
                distinct = 0;
    ok(distinct, "every lock has a name of its own");

    /* The check. */
    char err[512];
    int st = in_child(report_under_pool_reversed, err, sizeof(err));
    ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "taking the pool lock under the report's stops the process");
    ok(strstr(err, "lock order violated: taking the pool lock while holding the report lock") != NULL,
       "and says which locks");
    if (strstr(err, "lock order") == NULL)
        printf("#   stderr: %s\n", err);
    st = in_child(in_order_and_again, err, sizeof(err));
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 && err[0] == '\0', "in order, and again once released: taken");
    st = in_child(pool_twice, err, sizeof(err));
    ok(WIFSIGNALED(st) && strstr(err, "taking the pool lock while holding the pool lock") != NULL,
       "two locks of one rank at once: stopped");
    st = in_child(kept_then_above, err, sizeof(err));
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a lock kept for good orders nothing more");
    st = in_child(handler_during_wait, err, sizeof(err));
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
       "a signal handler during a condition wait may take a lock above the one waited with");
    if (err[0] != '\0')
        printf("#   stderr: %s\n", err);
#if AS_SANITIZED
    st = in_child(registry_under_pool, err, sizeof(err));
    ok(WIFSIGNALED(st) && strstr(err, "taking the registry lock while holding the pool lock") != NULL,
       "the core's registry lock taken under the pool's: stopped (sanitized build)");
#else
    printf("ok %d # skip the core's objects check only in sanitized builds\n", ++tap_n);
#endif
    return tap_done();
}
