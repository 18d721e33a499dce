/* run.c: autostaple [--] COMMAND: run a program with libautostaple.so preloaded.
 *   autostaple [--] COMMAND [ARGS...]
 * The library is looked for next to this program (a build tree), then in
 * ../lib relative to it (an installed tree).  It is prepended to any
 * LD_PRELOAD already set. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: autostaple [--] COMMAND [ARGS...]\n"
            "Runs COMMAND with libautostaple.so preloaded, so that an unmodified\n"
            "OpenSSL 3 server staples OCSP responses.  Configure with the\n"
            "AUTOSTAPLE_* environment variables (see docs/configuration.md).\n");
}

static int find_library(char *out, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return 0;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash == NULL)
        return 0;
    *slash = '\0';
    const char *candidates[] = { "%s/libautostaple.so", "%s/../lib/libautostaple.so" };
    for (size_t i = 0; i < 2; i++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof(path), candidates[i], self);
        if (access(path, R_OK) == 0 && realpath(path, out) != NULL && strlen(out) < len)
            return 1;
    }
    return 0;
}

int as_cmd_run(int argc, char **argv)
{
    int first = 1;
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("autostaple %s\n", AS_VERSION);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--") == 0)
        first = 2;
    if (first >= argc) {
        usage(stderr);
        return 2;
    }
    char lib[PATH_MAX];
    if (!find_library(lib, sizeof(lib))) {
        fprintf(stderr, "autostaple: cannot find libautostaple.so next to this program "
                        "or in ../lib\n");
        return 1;
    }
    const char *old = getenv("LD_PRELOAD");
    char *preload = malloc(strlen(lib) + (old ? strlen(old) : 0) + 2);
    if (preload == NULL)
        return 1;
    sprintf(preload, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "");
    setenv("LD_PRELOAD", preload, 1);
    execvp(argv[first], argv + first);
    fprintf(stderr, "autostaple: cannot run %s: %s\n", argv[first], strerror(errno));
    return 127;
}
