/* run.c: autostaple [options] [--] COMMAND [ARGS...]: run a program with
 * libautostaple.so preloaded.
 *
 * Each option sets one AUTOSTAPLE_* variable of shim/config.c's table
 * (--cache-dir DIR or --cache-dir=DIR sets AUTOSTAPLE_CACHE_DIR), so a new
 * variable gets its option without a change here.  Values go as given: the
 * library checks them and warns.  Options end at "--" or at the first word
 * that is not one.
 *
 * The library is looked for next to this program (a build tree), then in
 * the LIBDIR compiled in by the Makefile (AS_LIBDIR), then in ../lib
 * relative to the program (an installed tree moved elsewhere), and prepended
 * to any LD_PRELOAD already set.
 *
 * COMMAND is resolved through PATH as execvp would, and that file's ELF
 * headers are read (elfcheck.c): a program the library cannot work in is
 * refused (exit 126) rather than run unstapled without a word; so is one
 * linked against OpenSSL 1.1 when the 1.1 core is not installed. */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "elfcheck.h"
#include "options.h"

#ifndef AS_LIBDIR
#define AS_LIBDIR "/usr/local/lib"
#endif

#define OPTION_PREFIX "AUTOSTAPLE_"

/* --cache-dir for AUTOSTAPLE_CACHE_DIR, into out. */
static void option_of(const char *var, char *out, size_t len)
{
    size_t n = 0;
    const char *p = var + strlen(OPTION_PREFIX);
    if (len < 3)
        return;
    out[n++] = '-';
    out[n++] = '-';
    for (; *p && n + 1 < len; p++)
        out[n++] = *p == '_' ? '-' : (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    out[n] = '\0';
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: autostaple [OPTIONS] [--] COMMAND [ARGS...]\n"
            "       autostaple check CERTFILE|- [--issuer FILE] [--responder URL]\n"
            "                        [--ca-file FILE] [--timeout SECONDS]\n"
            "       autostaple status [--cache-dir DIR] [--all] [--prune [--metrics-dir DIR]]\n"
            "       autostaple --help | --version\n"
            "\n"
            "autostaple COMMAND runs COMMAND with libautostaple.so preloaded, so that an\n"
            "unmodified OpenSSL 3 or 1.1.1 server staples OCSP responses.  Each option\n"
            "sets the AUTOSTAPLE_* variable of the same name (see libautostaple(7));\n"
            "values are passed as given (--NAME VALUE or --NAME=VALUE), and the library\n"
            "warns about bad ones.  Options end at -- or at the first word that is not one.\n"
            "\n"
            "Options (default in brackets):\n");
    const char *var, *def;
    for (size_t i = 0; (var = as_config_var(i, &def)) != NULL; i++) {
        char opt[96];
        option_of(var, opt, sizeof(opt));
        fprintf(out, "  %-22s VALUE  sets %s [%s]\n", opt, var, def[0] ? def : "none");
    }
    fprintf(out,
            "\n"
            "The library is looked for next to this program, then in %s,\n"
            "then in ../lib relative to this program; it is put first in LD_PRELOAD.\n"
            "COMMAND is refused (exit 126) if it is setuid or setgid, statically linked,\n"
            "linked against an OpenSSL older than 1.1, or has OpenSSL built in:\n"
            "LD_PRELOAD cannot make those staple; so is one linked against OpenSSL 1.1\n"
            "if libautostaple-core-1.1.so is not installed.  Found but not runnable (a\n"
            "directory, not executable): exit 126.  Not found: exit 127.\n"
            "\n"
            "autostaple check tells, step by step, whether the library would staple a\n"
            "response for CERTFILE's certificate: exit 0 good, 1 revoked or unknown,\n"
            "2 usage error, 3 no verified answer, 4 CERTFILE unreadable.\n"
            "autostaple status shows what the running servers staple, from the status\n"
            "files in the cache directory; --prune removes those of processes that are\n"
            "gone (autostaple status --help).\n"
            "Manuals: autostaple(1), libautostaple(7).\n",
            AS_LIBDIR);
}

/* The table's variable for option name (without "--", n bytes), or NULL. */
static const char *variable_of(const char *name, size_t n)
{
    const char *var;
    for (size_t i = 0; (var = as_config_var(i, NULL)) != NULL; i++) {
        char opt[96];
        option_of(var, opt, sizeof(opt));
        if (strlen(opt + 2) == n && strncmp(opt + 2, name, n) == 0)
            return var;
    }
    return NULL;
}

static int readable_lib(const char *dir, const char *rel, char *out, size_t len)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s%s/libautostaple.so", dir, rel);
    char real[PATH_MAX];
    if (access(path, R_OK) != 0 || realpath(path, real) == NULL || strlen(real) >= len)
        return 0;
    memcpy(out, real, strlen(real) + 1);
    return 1;
}

static int find_library(char *out, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash = NULL;
    if (n > 0) {
        self[n] = '\0';
        slash = strrchr(self, '/');
    }
    if (slash != NULL)
        *slash = '\0';
    return (slash != NULL && readable_lib(self, "", out, len)) ||
           readable_lib(AS_LIBDIR, "", out, len) ||
           (slash != NULL && readable_lib(self, "/../lib", out, len));
}

/* A sanitizer build of this command preloads a sanitizer build of the
 * library, which works only with the sanitizer's runtime first in the
 * program's libraries: the runtime this command is linked with, found by
 * one of its functions.  "" in an ordinary build. */
#if defined(__SANITIZE_ADDRESS__)
extern void __asan_init(void);
#define AS_RUNTIME_SYMBOL ((void *)__asan_init)
#elif defined(__SANITIZE_THREAD__)
extern void __tsan_init(void);
#define AS_RUNTIME_SYMBOL ((void *)__tsan_init)
#endif

static const char *sanitizer_runtime(void)
{
#ifdef AS_RUNTIME_SYMBOL
    Dl_info info;
    if (dladdr(AS_RUNTIME_SYMBOL, &info) != 0 && info.dli_fname != NULL &&
        strstr(info.dli_fname, ".so") != NULL)
        return info.dli_fname;
#endif
    return "";
}

/* Sets the variables of argv's options; returns the index of COMMAND (argc
 * if there is none), or -1 with *status set (help, version, usage error). */
static int parse_options(int argc, char **argv, int *status)
{
    int i = 1;
    while (i < argc) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            return i + 1;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            *status = 0;
            return -1;
        }
        if (strcmp(a, "--version") == 0) {
            printf("autostaple %s\n", AS_VERSION);
            *status = 0;
            return -1;
        }
        if (a[0] != '-' || a[1] == '\0')
            return i; /* COMMAND ("-" alone is a word, not an option) */
        struct as_option o;
        const char *var = as_option_split(a, &o) ? variable_of(o.name, o.len) : NULL;
        if (var == NULL) {
            fprintf(stderr, "autostaple: unknown option %.*s (autostaple --help lists them)\n",
                    (int)strcspn(a, "="), a);
            *status = 2;
            return -1;
        }
        const char *value = as_option_value(&o, argc, argv, &i);
        if (value == NULL) {
            fprintf(stderr, "autostaple: option %s needs a value\n", a);
            *status = 2;
            return -1;
        }
        if (setenv(var, value, 1) != 0) {
            fprintf(stderr, "autostaple: cannot set %s: %s\n", var, strerror(errno));
            *status = 1;
            return -1;
        }
        i++;
    }
    return i; /* no COMMAND: as_cmd_run says so */
}

/* The core for programs linked against OpenSSL 1.1 (shim/preload.c). */
#define CORE_1_1 "libautostaple-core-1.1.so"

/* Whether the file NAME is in the directory of the file LIB. */
static int beside(const char *lib, const char *name)
{
    char path[PATH_MAX];
    const char *slash = strrchr(lib, '/');
    int dlen = slash != NULL ? (int)(slash - lib) : 1;
    const char *dir = slash != NULL ? lib : ".";
    int n = snprintf(path, sizeof(path), "%.*s/%s", dlen, dir, name);
    return n > 0 && (size_t)n < sizeof(path) && access(path, R_OK) == 0;
}

/* Where execvp would find cmd, into out.  Returns 0, or the exit status
 * (127: not found, 126: found but not executable) after saying why. */
static int resolve(const char *cmd, char *out, size_t len)
{
    struct stat st;
    if (strchr(cmd, '/') != NULL) {
        int err = strlen(cmd) >= len ? ENAMETOOLONG : stat(cmd, &st) != 0 ? errno : 0;
        if (err != 0) {
            fprintf(stderr, "autostaple: %s: %s\n", cmd, strerror(err));
            return err == ENOENT || err == ENOTDIR ? 127 : 126;
        }
        if (S_ISDIR(st.st_mode)) {
            fprintf(stderr, "autostaple: %s: is a directory\n", cmd);
            return 126;
        }
        if (access(cmd, X_OK) != 0) {
            fprintf(stderr, "autostaple: %s: not executable (%s)\n", cmd, strerror(errno));
            return 126;
        }
        memcpy(out, cmd, strlen(cmd) + 1);
        return 0;
    }
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/bin:/usr/bin"; /* glibc's execvp default */
    int denied = 0;
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t dlen = end != NULL ? (size_t)(end - p) : strlen(p);
        /* An empty entry is the current directory, as for execvp. */
        int w = snprintf(out, len, "%.*s%s%s", (int)dlen, p, dlen ? "/" : "", cmd);
        if (w > 0 && (size_t)w < len && stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
            if (access(out, X_OK) == 0)
                return 0;
            denied = 1;
        }
        if (end == NULL)
            break;
        p = end;
    }
    if (denied) {
        fprintf(stderr, "autostaple: %s: permission denied\n", cmd);
        return 126;
    }
    fprintf(stderr, "autostaple: %s: command not found\n", cmd);
    return 127;
}

int as_cmd_run(int argc, char **argv)
{
    int status = 0;
    int first = parse_options(argc, argv, &status);
    if (first < 0)
        return status;
    if (first >= argc) {
        usage(stderr);
        return 2;
    }
    char path[PATH_MAX];
    if ((status = resolve(argv[first], path, sizeof(path))) != 0)
        return status;
    char why[512];
    enum as_elf_openssl openssl;
    if (!as_elf_preloadable(path, &openssl, why, sizeof(why))) {
        fprintf(stderr, "autostaple: refusing to run %s: %s\n", path, why);
        return 126;
    }
    char lib[PATH_MAX];
    if (!find_library(lib, sizeof(lib))) {
        fprintf(stderr, "autostaple: cannot find libautostaple.so next to this program, "
                        "in %s or in ../lib\n", AS_LIBDIR);
        return 1;
    }
    /* A program linked against OpenSSL 1.1 needs the core built for it,
     * beside the library (shim/preload.c); a build without OpenSSL 1.1's
     * headers has none. */
    if (openssl == AS_ELF_OPENSSL_1_1 && !beside(lib, CORE_1_1)) {
        fprintf(stderr, "autostaple: refusing to run %s: it is linked against OpenSSL 1.1 "
                        "(libssl.so.1.1), and this installation has no %s beside %s "
                        "(built without OpenSSL 1.1's headers: 'make openssl11', then make)\n",
                path, CORE_1_1, lib);
        return 126;
    }
    const char *old = getenv("LD_PRELOAD"), *runtime = sanitizer_runtime();
    char *preload = malloc(strlen(runtime) + strlen(lib) + (old ? strlen(old) : 0) + 3);
    if (preload == NULL)
        return 1;
    sprintf(preload, "%s%s%s%s%s", runtime, *runtime ? ":" : "", lib, old && *old ? ":" : "",
            old && *old ? old : "");
    setenv("LD_PRELOAD", preload, 1);
    execv(path, argv + first);
    if (errno == ENOEXEC) { /* a script without #!: the shell runs it, as for execvp */
        char **sh = calloc((size_t)(argc - first) + 2, sizeof(*sh));
        if (sh != NULL) {
            sh[0] = "/bin/sh";
            sh[1] = path;
            for (int i = first + 1; i < argc; i++)
                sh[i - first + 1] = argv[i];
            execv("/bin/sh", sh);
        }
    }
    fprintf(stderr, "autostaple: cannot run %s: %s\n", path, strerror(errno));
    return errno == ENOENT ? 127 : 126;
}
