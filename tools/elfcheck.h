/* elfcheck.h: can LD_PRELOAD put libautostaple.so into this program?  Read
 * from the file's own ELF headers, without running anything. */
#ifndef AS_ELFCHECK_H
#define AS_ELFCHECK_H

#include <stddef.h>

/* What a program's ELF headers say of the OpenSSL it uses. */
enum as_elf_openssl {
    AS_ELF_OPENSSL_NONE, /* needs no libssl (it may load one later) */
    AS_ELF_OPENSSL_3,    /* DT_NEEDED libssl.so.3 */
    AS_ELF_OPENSSL_1_1,  /* DT_NEEDED libssl.so.1.1 */
};

/* 1 if path may be run under the library: a script (#!), a file that is not
 * ELF (the shell will run it), or a dynamically linked ELF program that does
 * not rule it out, with *openssl set to what it needs.  0 with why set for a
 * setuid or setgid file (ld.so ignores LD_PRELOAD there), a static
 * executable (no PT_INTERP), one that needs an OpenSSL older than 1.1
 * (libssl.so.1.0.*, libssl.so.10), or one that defines SSL_CTX_new itself
 * without needing a libssl (OpenSSL built in).  A stripped program with
 * OpenSSL built in and not exported cannot be told from one without it: it
 * is allowed. */
int as_elf_preloadable(const char *path, enum as_elf_openssl *openssl, char *why, size_t whylen);

#endif
