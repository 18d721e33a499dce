/* succession.c: see succession.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "certs.h"
#include "log.h"
#include "refresher.h"
#include "report.h"
#include "succession.h"
#include "thread.h"

/* How long a process without the rights of the one that learned a
 * certificate leaves the role to one with them. */
#define SUCCESSION_GRACE 10
#define HEIR_POLL_MS 20
#define HEIR_WATCH_SECONDS 30
#define WATCHED_MAX 4

/* Something may need taking over here: set in a forked child and after an
 * abdication, cleared once there is nothing left to watch. */
static atomic_int watching;
static _Atomic time_t next_watch;
static atomic_int heir_running;
/* Under the registry lock: the living processes that refresh for this one
 * (one of their slots each, to see the role change), and since when a
 * certificate waits for a successor this process is not fit to be. */
static struct {
    pid_t pid;
    struct as_slot *slot;
} watched[WATCHED_MAX];
static int nwatched;
static time_t orphaned_since;
/* The usual case, a worker whose only refresher is its parent (a master),
 * kept where a handshake reads it without the lock: that parent's pid and
 * one of its slots; 0 and NULL otherwise.  Written under the lock. */
static _Atomic pid_t watched_parent;
static struct as_slot *_Atomic watched_parent_slot;

/* Is pid gone?  A zombie (exited, not yet reaped by a parent that may be a
 * shell or a supervisor taking its time) is gone too, and so is pid 0 (a
 * slot left at exec).  Our own parent is there as long as it is our
 * parent: one that exits hands us to another. */
static int gone(pid_t pid)
{
    if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
        return 1;
    if (pid == getppid())
        return 0;
    char path[64], stat[256];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* no /proc (a chroot): there, as far as we can tell */
    ssize_t n = read(fd, stat, sizeof(stat) - 1);
    close(fd);
    stat[n > 0 ? n : 0] = '\0';
    const char *paren = strrchr(stat, ')'); /* the name may hold anything */
    return paren != NULL && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
}

static void watch_process(pid_t pid, struct as_slot *slot)
{
    for (int i = 0; i < nwatched; i++)
        if (watched[i].pid == pid)
            return;
    if (nwatched < WATCHED_MAX)
        watched[nwatched++] = (typeof(watched[0])){ pid, slot };
}

/* What adopt_locked found. */
struct adoption {
    int taken;          /* certificates this process now refreshes */
    int unfit;          /* of which this process lacks the rights they were learned with */
    int waiting;        /* refreshed by a living process, or waiting for a fit successor */
    pid_t from;         /* the process last taken from */
    uid_t owner;        /* the uid they were learned with */
};

/* Takes over the certificates whose refreshing process is gone, as
 * succession.h says.  A certificate whose first fetch had not ended is
 * waited for again (as_core_wait_for_first_fetches).  the registry lock
 * must be held. */
static struct adoption adopt_locked(void)
{
    struct adoption a = { 0, 0, 0, 0, 0 };
    pid_t me = getpid(), last = -1; /* (0 is a fetcher too: one that left before exec) */
    uid_t rights = geteuid();
    int last_gone = 0, orphans = 0, own = 0;
    time_t now = time(NULL);
    int unfit_may = orphaned_since != 0 && now - orphaned_since >= SUCCESSION_GRACE;
    nwatched = 0;
    for (struct as_cert *c = as_registry_first(); c != NULL; c = c->next) {
        pid_t f = as_slot_fetcher(c->slot);
        int fetched = !c->forgotten && as_cert_responder(c)[0];
        if (f == me) {
            /* A private copy made ours at fork: fetch it here (again, if it
             * was in flight in the parent's thread). */
            if (!as_refresher_running() && fetched) {
                as_cert_schedule_locked(c, c->due.at != 0 ? c->due.at : now);
                own++;
            }
            continue;
        }
        if (f != last) {
            last = f;
            last_gone = gone(f);
        }
        if (!last_gone) {
            a.waiting++;
            watch_process(f, c->slot);
            continue;
        }
        int fit = as_slot_owner(c->slot) == rights;
        if (!fit && !unfit_may) {
            orphans++;
            a.waiting++;
            continue;
        }
        if (!as_slot_take_over(c->slot, f, me))
            continue; /* a sibling was quicker */
        a.taken++;
        a.unfit += !fit;
        a.from = f;
        a.owner = as_slot_owner(c->slot);
        if (fetched) {
            as_cert_schedule_locked(c, c->due.at != 0 ? c->due.at : now);
            as_cert_unsettle_locked(c);
        }
    }
    orphaned_since = orphans == 0 ? 0 : orphaned_since != 0 ? orphaned_since : now;
    int only_parent = nwatched == 1 && orphaned_since == 0 && watched[0].pid == getppid();
    atomic_store(&watched_parent_slot, only_parent ? watched[0].slot : NULL);
    atomic_store(&watched_parent, only_parent ? watched[0].pid : 0);
    if (a.taken > 0 || own > 0)
        as_refresher_wake_locked();
    if (a.taken > 0) {
        as_report_rescheduled(); /* the status file lists them from now on */
        if (a.from != 0)
            as_log(AS_INFO, "taking over the refresh of %d certificate%s from process %d, "
                   "which is gone", a.taken, a.taken > 1 ? "s" : "", (int)a.from);
        else
            as_log(AS_INFO, "taking over the refresh of %d certificate%s, left by a process "
                   "that executed a program anew", a.taken, a.taken > 1 ? "s" : "");
    }
    static int warned;
    if (a.unfit > 0 && !warned) {
        warned = 1;
        as_log(AS_WARN, "this process (uid %d) refreshes %d certificate%s learned by a process "
               "running as uid %d: none with those rights is left (a master that executed "
               "itself again, or that is gone); the cache directory, the status and the log "
               "files must be writable by uid %d", (int)rights, a.unfit,
               a.unfit > 1 ? "s" : "", (int)a.owner, (int)rights);
    }
    return a;
}

static void start_heir(void);

void as_succession_watch(void)
{
    if (atomic_load_explicit(&watching, memory_order_relaxed) == 0)
        return;
    time_t now = time(NULL);
    if (now < atomic_load_explicit(&next_watch, memory_order_relaxed))
        return;
    atomic_store_explicit(&next_watch, now + 1, memory_order_relaxed);

    /* A worker whose master refreshes: while the master is still its parent
     * (a parent that dies hands the worker to another) and still holds the
     * role (it leaves it before an exec), there is nothing to do, seen
     * without the lock. */
    pid_t parent = atomic_load(&watched_parent);
    struct as_slot *slot = atomic_load(&watched_parent_slot);
    if (parent != 0 && slot != NULL && getppid() == parent && as_slot_fetcher(slot) == parent)
        return;

    as_registry_lock();
    /* Most of the time the processes watched live on and keep their role:
     * then no certificate is looked at. */
    int look = nwatched == 0 || orphaned_since != 0;
    for (int i = 0; i < nwatched && !look; i++)
        look = as_slot_fetcher(watched[i].slot) != watched[i].pid || gone(watched[i].pid);
    int heir_needed = 0;
    if (look) {
        if (adopt_locked().waiting == 0)
            atomic_store(&watching, 0);
        /* Certificates wait out the grace for a successor with their
         * rights: the heir takes them over when it ends, handshakes or
         * not (an idle HAProxy worker). */
        heir_needed = orphaned_since != 0;
    }
    as_registry_unlock();
    if (heir_needed)
        start_heir();
}

void as_succession_adopt_locked(void)
{
    if (atomic_load_explicit(&watching, memory_order_relaxed) != 0 && adopt_locked().waiting == 0)
        atomic_store(&watching, 0);
}

static void *heir(void *arg)
{
    (void)arg;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct timespec pause = { 0, HEIR_POLL_MS * 1000000L };
        nanosleep(&pause, NULL);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (as_process_stopping())
            break;
        as_registry_lock();
        struct adoption a = adopt_locked();
        as_registry_unlock();
        if (a.waiting == 0 || t.tv_sec - t0.tv_sec >= HEIR_WATCH_SECONDS)
            break;
    }
    atomic_store(&heir_running, 0);
    return NULL;
}

/* Starts the heir unless it runs.  Takes no lock. */
static void start_heir(void)
{
    if (as_process_stopping() || atomic_exchange(&heir_running, 1))
        return;
    int err = as_thread_start(heir, NULL, 128 * 1024, NULL);
    if (err != 0) {
        atomic_store(&heir_running, 0);
        static atomic_int said;
        if (!atomic_exchange(&said, 1))
            as_log(AS_WARN, "cannot start a thread to take over the refresh: %s", strerror(err));
    }
}

void as_succession_succeed(void)
{
    if (as_process_stopping())
        return;
    as_registry_lock();
    struct adoption a = adopt_locked();
    as_registry_unlock();
    if (a.waiting > 0)
        start_heir();
}

void as_succession_abdicate(void)
{
    as_registry_lock();
    if (as_refresher_running()) {
        pid_t me = getpid();
        for (struct as_cert *c = as_registry_first(); c != NULL; c = c->next)
            as_slot_take_over(c->slot, me, 0);
        /* If the exec fails, this process takes them back. */
        nwatched = 0;
        atomic_store(&watched_parent, 0);
        atomic_store(&watching, 1);
    }
    as_registry_unlock();
}

void as_succession_child(void)
{
    nwatched = 0;
    atomic_store(&watched_parent, 0);
    atomic_store(&watched_parent_slot, NULL);
    orphaned_since = 0;
    atomic_store(&heir_running, 0);
    atomic_store(&watching, 1);
    atomic_store(&next_watch, 0);
}
