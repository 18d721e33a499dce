/* status.c: autostaple status [--cache-dir DIR] [--all]
 * Reads the status files (status-PID.txt) that running servers' fetching
 * processes write in the cache directory (shim/report.h) and prints, per
 * process and certificate: subject, serial, status, produced, next update,
 * last fetch, last error.  A file whose process is gone (no such pid, or a
 * pid reused by a process started at another time) is stale: skipped and
 * counted, or shown with --all.  Exit: 0 when the directory was read, 1 when
 * it cannot be, 2 on a usage error. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "options.h"
#include "small_file.h"
#include "status_file.h"

#define MAX_STATUS_FILE (64L * 1024 * 1024)

static void usage(FILE *out)
{
    fprintf(out,
            "usage: autostaple status [--cache-dir DIR] [--all] [--prune [--metrics-dir DIR]]\n"
            "Shows what the running servers' autostaple libraries staple, from the\n"
            "status files they keep in DIR (default: $AUTOSTAPLE_CACHE_DIR).\n"
            "  --all          also show the files of processes that are gone\n"
            "  --prune        remove the status files of processes that are gone (killed\n"
            "                 by a signal, they could not), and their metrics files in\n"
            "                 the metrics directory (--metrics-dir, default\n"
            "                 $AUTOSTAPLE_METRICS_DIR), if there is one\n");
}

struct proc {
    struct as_status_file f;
    int live;
};

/* The whole file, NUL-terminated and malloc'd; NULL if it cannot be read
 * (not a regular file, a symbolic link, empty or too large). */
static char *slurp(int dfd, const char *name)
{
    struct as_small_file f;
    int sys_errno;
    if (as_small_file_read(dfd, name, 1, MAX_STATUS_FILE - 1, &f, &sys_errno) != AS_SMALL_FILE_READ)
        return NULL;
    return (char *)f.data;
}

/* Is the process that wrote f still the one running under its pid? */
static int alive(const struct as_status_file *f)
{
    if (kill((pid_t)f->pid, 0) != 0 && errno != EPERM)
        return 0;
    unsigned long long now = as_process_start_ticks((pid_t)f->pid);
    return f->start_ticks == 0 || now == 0 || now == f->start_ticks;
}

/* --prune: the status file name in dfd (dir) of process pid, which is gone,
 * and its metrics file in metrics_dir if there is one; each said. */
static void prune_process(int dfd, const char *dir, const char *name, long pid,
                          const char *metrics_dir)
{
    if (unlinkat(dfd, name, 0) == 0)
        printf("removed %s/%s (process %ld is gone)\n", dir, name, pid);
    else
        fprintf(stderr, "autostaple status: cannot remove %s/%s: %s\n", dir, name,
                strerror(errno));
    if (metrics_dir == NULL || metrics_dir[0] == '\0')
        return;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/" AS_METRICS_FILE_NAME, metrics_dir, pid);
    if (unlink(path) == 0)
        printf("removed %s (process %ld is gone)\n", path, pid);
    else if (errno != ENOENT)
        fprintf(stderr, "autostaple status: cannot remove %s: %s\n", path, strerror(errno));
}

static int by_pid(const void *a, const void *b)
{
    const struct proc *x = a, *y = b;
    return (x->f.pid > y->f.pid) - (x->f.pid < y->f.pid);
}

/* "2026-11-21T10:49:00Z" as "2026-11-21 10:49:00Z" (and anything after it
 * as it is), "-" for nothing. */
static void readable(const char *v, char *out, size_t len)
{
    snprintf(out, len, "%s", v[0] ? v : "-");
    if (strlen(out) > 10 && out[10] == 'T' && as_parse_time(out) != 0)
        out[10] = ' ';
}

#define COLUMNS 7
static const char *const heads[COLUMNS] = {
    "SUBJECT", "SERIAL", "STATUS", "PRODUCED", "NEXT UPDATE", "LAST FETCH", "LAST ERROR",
};

static void print_proc(const struct proc *p)
{
    char written[64];
    readable(p->f.written, written, sizeof(written));
    printf("%s (pid %ld)%s, status written %s\n", p->f.program[0] ? p->f.program : "?",
           p->f.pid, p->live ? "" : ": GONE (stale status file)", written);
    if (p->f.learned_uid >= 0)
        printf("  refreshes as uid %ld certificates learned as uid %ld (no process with those "
               "rights is left): this directory, the status and log files must be writable "
               "by uid %ld\n", p->f.uid, p->f.learned_uid, p->f.uid);
    if (p->f.n == 0) {
        printf("  no certificate\n\n");
        return;
    }
    size_t n = p->f.n;
    char(*cells)[COLUMNS][AS_STATUS_FIELD + 8] = calloc(n, sizeof(*cells));
    if (cells == NULL)
        return;
    size_t width[COLUMNS];
    for (int k = 0; k < COLUMNS; k++)
        width[k] = strlen(heads[k]);
    for (size_t i = 0; i < n; i++) {
        const struct as_status_cert *c = &p->f.certs[i];
        /* A Must-Staple certificate is flagged where it is named: without a
         * staple its handshakes fail. */
        char subject[AS_STATUS_FIELD + 16];
        snprintf(subject, sizeof(subject), "%s%s", c->subject,
                 strcmp(c->must_staple, "yes") == 0 ? " [must-staple]" : "");
        const char *v[COLUMNS] = { subject, c->serial, c->status, c->produced,
                                   c->next_update, c->last_fetch, c->last_error };
        for (int k = 0; k < COLUMNS; k++) {
            readable(v[k], cells[i][k], sizeof(cells[i][k]));
            if (strlen(cells[i][k]) > width[k])
                width[k] = strlen(cells[i][k]);
        }
    }
    for (int k = 0; k < COLUMNS; k++)
        printf("  %-*s", k + 1 < COLUMNS ? (int)width[k] : 0, heads[k]);
    printf("\n");
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < COLUMNS; k++)
            printf("  %-*s", k + 1 < COLUMNS ? (int)width[k] : 0, cells[i][k]);
        printf("\n");
    }
    printf("\n");
    free(cells);
}

int as_cmd_status(int argc, char **argv)
{
    const char *dir = NULL, *metrics_dir = NULL;
    int all = 0, prune = 0;
    for (int i = 1; i < argc; i++) {
        struct as_option o;
        int option = as_option_split(argv[i], &o);
        const char **slot = !option                           ? NULL
                            : as_option_is(&o, "cache-dir")   ? &dir
                            : as_option_is(&o, "metrics-dir") ? &metrics_dir
                                                              : NULL;
        if (option && o.value == NULL && as_option_is(&o, "all")) {
            all = 1;
        } else if (option && o.value == NULL && as_option_is(&o, "prune")) {
            prune = 1;
        } else if (slot != NULL) {
            if ((*slot = as_option_value(&o, argc, argv, &i)) == NULL) {
                fprintf(stderr, "autostaple status: option %s needs a value\n", argv[i]);
                usage(stderr);
                return 2;
            }
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "autostaple status: unexpected argument: %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (dir == NULL)
        dir = getenv("AUTOSTAPLE_CACHE_DIR");
    if (metrics_dir == NULL)
        metrics_dir = getenv("AUTOSTAPLE_METRICS_DIR");
    if (dir == NULL || dir[0] == '\0') {
        fprintf(stderr, "autostaple status: AUTOSTAPLE_CACHE_DIR is not set and no "
                        "--cache-dir DIR was given: the status files live in the cache "
                        "directory\n");
        return 2;
    }

    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (d == NULL) {
        fprintf(stderr, "autostaple status: cannot read %s: %s\n", dir, strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return 1;
    }
    struct proc *procs = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid;
        int end = 0;
        if (sscanf(e->d_name, AS_STATUS_FILE_NAME "%n", &pid, &end) != 1 ||
            (size_t)end != strlen(e->d_name))
            continue;
        char *text = slurp(dfd, e->d_name);
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            struct proc *g = realloc(procs, cap * sizeof(*g));
            if (g == NULL) {
                free(text);
                break;
            }
            procs = g;
        }
        struct proc *p = &procs[n];
        if (text == NULL || !as_status_parse(text, &p->f)) {
            fprintf(stderr, "autostaple status: ignoring %s/%s: not a readable status file\n",
                    dir, e->d_name);
            free(text);
            continue;
        }
        free(text);
        p->live = alive(&p->f);
        if (prune && !p->live) {
            prune_process(dfd, dir, e->d_name, p->f.pid, metrics_dir);
            as_status_free(&p->f);
            continue;
        }
        n++;
    }
    closedir(d);

    if (n > 1)
        qsort(procs, n, sizeof(*procs), by_pid);
    size_t live = 0, stale = 0;
    for (size_t i = 0; i < n; i++) {
        if (procs[i].live)
            live++;
        else
            stale++;
        if (procs[i].live || all)
            print_proc(&procs[i]);
        as_status_free(&procs[i].f);
    }
    free(procs);
    if (live == 0)
        printf("no running server has written a status in %s\n", dir);
    if (stale > 0 && !all)
        printf("%zu stale status file%s of processes that are gone not shown (--all shows "
               "them)\n", stale, stale > 1 ? "s" : "");
    else if (stale > 0)
        printf("%zu stale status file%s of processes that are gone\n", stale,
               stale > 1 ? "s" : "");
    return 0;
}
