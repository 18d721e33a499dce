/*
 * slotbench: the handshake path's copy out of a certificate's slot
 * (as_slot_copy, shim/cache.c), alone, from 1 to N threads at once on the
 * same slot: the worst case for its lock, every thread doing nothing else.
 *
 * slotbench [-threads N] [-seconds S] [-bytes B] [-writer]
 *
 * Each thread copies the slot's B-byte response (default 1500) and frees
 * the copy, as a handshake does, in a loop for S seconds (default 1).  With
 * -writer a further thread republishes the response 1000 times a second.
 * Prints "threads N ns_per_copy X copies_per_s Y" (per thread, then all).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cache.h"

static struct as_slot *slot;
static atomic_int stop;
static size_t bytes = 1500;
static unsigned char *resp;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *reader(void *arg)
{
    long *copies = arg;
    time_t t = time(NULL);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        unsigned char *out;
        size_t len;
        if (!as_slot_copy(slot, t, &out, &len) || len != bytes)
            abort();
        OPENSSL_free(out);
        ++*copies;
    }
    return NULL;
}

static void *writer(void *arg)
{
    (void)arg;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        time_t t = time(NULL);
        as_slot_publish(slot, resp, bytes, 0, t - 60, t + 3600);
        usleep(1000);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = 1, with_writer = 0;
    double seconds = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-writer") == 0)
            with_writer = 1;
        else if (i + 1 < argc && strcmp(argv[i], "-threads") == 0)
            threads = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "-seconds") == 0)
            seconds = atof(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "-bytes") == 0)
            bytes = (size_t)atol(argv[++i]);
        else {
            fprintf(stderr, "usage: slotbench [-threads N] [-seconds S] [-bytes B] [-writer]\n");
            return 2;
        }
    }
    if (threads < 1 || threads > 64 || bytes < 1 || bytes > 65535 || seconds <= 0)
        return 2;
    as_cache_configure(bytes, 4);
    enum as_cache_shortfall why;
    slot = as_slot_new(&why);
    resp = malloc(bytes);
    if (slot == NULL || resp == NULL)
        return 1;
    memset(resp, 0x5a, bytes);
    time_t t = time(NULL);
    as_slot_publish(slot, resp, bytes, 0, t - 60, t + 3600);

    pthread_t th[65];
    long copies[64][16] = { { 0 } }; /* a cache line each */
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, reader, copies[i]);
    if (with_writer)
        pthread_create(&th[threads], NULL, writer, NULL);
    double t0 = now();
    usleep((useconds_t)(seconds * 1e6));
    atomic_store(&stop, 1);
    for (int i = 0; i < threads + with_writer; i++)
        pthread_join(th[i], NULL);
    double el = now() - t0;
    long total = 0;
    for (int i = 0; i < threads; i++)
        total += copies[i][0];
    printf("threads %d ns_per_copy %.1f copies_per_s %.0f\n", threads,
           el * 1e9 * threads / (double)total, (double)total / el);
    return 0;
}
