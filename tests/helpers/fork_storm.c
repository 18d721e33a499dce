/*
 * fork_storm: a server that daemonizes and forks its worker at once, over
 * and over, while the library's threads are being born in it.
 *
 * fork_storm CERT KEY ROUNDS
 *
 * Loads CERT (leaf + chain, PEM) and KEY into a context, as a server does
 * (the library learns it and fetches), waits a second, then ROUNDS times:
 * forks a child that calls setsid (the library starts a thread there, to
 * take the refresh over when this process leaves) and at once forks a
 * grandchild, which starts and joins 10 threads and allocates, as a worker
 * starting up does.  A grandchild that has not exited 5 s later is counted
 * as hung, and killed.
 *
 * Prints "hung N of ROUNDS"; exit status 0 if none hung, 1 otherwise, 2 on
 * bad usage or if the certificate does not load.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ssl.h>

static void *allocate(void *arg)
{
    free(malloc(100));
    return arg;
}

/* A worker starting up: threads and allocations. */
static void worker(void)
{
    for (int i = 0; i < 10; i++) {
        pthread_t tid;
        if (pthread_create(&tid, NULL, allocate, NULL) == 0)
            pthread_join(tid, NULL);
        free(malloc(1000 * (size_t)i + 1));
    }
    _exit(0);
}

/* The daemonizing child: 0 if its worker exited within 5 s. */
static void daemonizing(void)
{
    setsid();
    pid_t pid = fork();
    if (pid == 0)
        worker();
    int status;
    for (int i = 0; i < 500; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            _exit(0);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    _exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 4 || atoi(argv[3]) <= 0) {
        fprintf(stderr, "usage: fork_storm CERT KEY ROUNDS\n");
        return 2;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, argv[1]) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, argv[2], SSL_FILETYPE_PEM) != 1) {
        fprintf(stderr, "fork_storm: cannot load %s and %s\n", argv[1], argv[2]);
        return 2;
    }
    sleep(1);
    int rounds = atoi(argv[3]), hung = 0;
    for (int i = 0; i < rounds; i++) {
        pid_t pid = fork();
        if (pid == 0)
            daemonizing();
        int status;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            hung++;
    }
    printf("hung %d of %d\n", hung, rounds);
    SSL_CTX_free(ctx);
    return hung != 0;
}
