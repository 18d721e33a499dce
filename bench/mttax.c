/*
 * mttax: what one idle thread costs the rest of a process.
 *
 * mttax [-thread] [-seconds S]
 *
 * glibc takes cheaper paths in a process that has never had a second
 * thread: malloc and free skip their arena locks, system calls skip the
 * cancellation bookkeeping.  Once a thread exists (the shim's refresher, in
 * a server's master process) that is over for good, also in every process
 * forked afterwards (nginx's workers).  This measures it: malloc and free
 * of blocks of 16 to 1015 bytes, 2000 at a time (more than the per-thread
 * cache holds, as in a TLS handshake), for S seconds of CPU (default 0.5),
 * with or without an idle thread started first.  Prints "ns_per_pair X"
 * (one malloc and one free).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *idle(void *arg)
{
    for (;;)
        pause();
    return arg;
}

static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int thread = 0;
    double seconds = 0.5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-thread") == 0)
            thread = 1;
        else if (i + 1 < argc && strcmp(argv[i], "-seconds") == 0)
            seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: mttax [-thread] [-seconds S]\n");
            return 2;
        }
    }
    pthread_t t;
    if (thread && pthread_create(&t, NULL, idle, NULL) != 0)
        return 1;
    static void *p[2000];
    unsigned r = 1;
    long pairs = 0;
    double t0 = cpu(), el;
    while ((el = cpu() - t0) < seconds) {
        for (int i = 0; i < 2000; i++) {
            r = r * 1103515245u + 12345u;
            p[i] = malloc(16 + (r >> 16) % 1000);
        }
        for (int i = 0; i < 2000; i++)
            free(p[i]);
        pairs += 2000;
    }
    printf("ns_per_pair %.2f\n", el * 1e9 / (double)pairs);
    return 0;
}
