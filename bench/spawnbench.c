/*
 * spawnbench: how much longer a program takes to run with a library
 * preloaded, measured side by side.
 *
 * spawnbench -preload LIB [-n N] [-warmup W] -- COMMAND [ARGS...]
 *
 * Runs COMMAND 2N times (after W unmeasured pairs, default 20), in pairs:
 * once with the environment as it is minus LD_PRELOAD, once with
 * LD_PRELOAD=LIB, the order within a pair alternating, so that both see the
 * same machine.  Each run is timed from posix_spawn to its end (wall clock,
 * monotonic), stdin, stdout and stderr on /dev/null.  Prints one line:
 *   runs N plain_us P preload_us L ratio R pair_ratio Q p10_ratio A p90_ratio B
 *   plain_cpu_us C preload_cpu_us D failed F
 * P and L are medians, R = L/P, Q the median of the per-pair ratios (with
 * its 10th and 90th percentiles A and B), C and D median CPU time (user +
 * system) of the child.  F counts runs that did not exit 0 (the same program
 * must behave the same either way).  Exit status 0, 1 if F > 0, 2 on usage.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, int p)
{
    qsort(v, (size_t)n, sizeof(*v), cmp);
    return v[(n - 1) * p / 100];
}

/* One run; returns its wall time in microseconds, its CPU time in *cpu. */
static double run(char **argv, char **envp, const posix_spawn_file_actions_t *fa, double *cpu,
                  int *failed)
{
    pid_t pid;
    int status;
    struct rusage ru;
    double t0 = now_us();
    if (posix_spawnp(&pid, argv[0], fa, NULL, argv, envp) != 0) {
        perror("spawnbench: posix_spawn");
        exit(2);
    }
    if (wait4(pid, &status, 0, &ru) != pid) {
        perror("spawnbench: wait4");
        exit(2);
    }
    double t = now_us() - t0;
    *cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        ++*failed;
    return t;
}

int main(int argc, char **argv)
{
    const char *lib = NULL;
    int n = 500, warmup = 20, i;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc)
            break;
        if (strcmp(argv[i], "-preload") == 0)
            lib = argv[++i];
        else if (strcmp(argv[i], "-n") == 0)
            n = atoi(argv[++i]);
        else if (strcmp(argv[i], "-warmup") == 0)
            warmup = atoi(argv[++i]);
        else
            break;
    }
    if (lib == NULL || i >= argc || n < 1 || warmup < 0) {
        fprintf(stderr, "usage: spawnbench -preload LIB [-n N] [-warmup W] -- COMMAND [ARGS...]\n");
        return 2;
    }
    char **cmd = argv + i;

    /* The two environments: as given minus LD_PRELOAD, and with LIB. */
    size_t ne = 0;
    while (environ[ne] != NULL)
        ne++;
    char **plain = calloc(ne + 1, sizeof(char *)), **pre = calloc(ne + 2, sizeof(char *));
    char *var = malloc(strlen(lib) + 16);
    if (plain == NULL || pre == NULL || var == NULL)
        return 2;
    sprintf(var, "LD_PRELOAD=%s", lib);
    size_t k = 0;
    for (size_t j = 0; j < ne; j++)
        if (strncmp(environ[j], "LD_PRELOAD=", 11) != 0)
            plain[k] = pre[k] = environ[j], k++;
    pre[k] = var;

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);

    double *tp = calloc((size_t)n, sizeof(double)), *tl = calloc((size_t)n, sizeof(double));
    double *cp = calloc((size_t)n, sizeof(double)), *cl = calloc((size_t)n, sizeof(double));
    double *pr = calloc((size_t)n, sizeof(double));
    if (tp == NULL || tl == NULL || cp == NULL || cl == NULL || pr == NULL)
        return 2;
    int failed = 0, ignored = 0;
    double c;
    for (i = 0; i < warmup; i++) {
        run(cmd, plain, &fa, &c, &ignored);
        run(cmd, pre, &fa, &c, &ignored);
    }
    for (i = 0; i < n; i++) {
        if (i % 2 == 0) {
            tp[i] = run(cmd, plain, &fa, &cp[i], &failed);
            tl[i] = run(cmd, pre, &fa, &cl[i], &failed);
        } else {
            tl[i] = run(cmd, pre, &fa, &cl[i], &failed);
            tp[i] = run(cmd, plain, &fa, &cp[i], &failed);
        }
        pr[i] = tl[i] / tp[i];
    }
    double mp = pct(tp, n, 50), ml = pct(tl, n, 50);
    printf("runs %d plain_us %.1f preload_us %.1f ratio %.3f pair_ratio %.3f p10_ratio %.3f "
           "p90_ratio %.3f plain_cpu_us %.0f preload_cpu_us %.0f failed %d\n",
           n, mp, ml, ml / mp, pct(pr, n, 50), pct(pr, n, 10), pct(pr, n, 90), pct(cp, n, 50),
           pct(cl, n, 50), failed);
    return failed > 0;
}
