/* elfcheck.h: can LD_PRELOAD put libautostaple.so into this program?  Read
 * from the file's own ELF headers, without running anything. */
#ifndef AS_ELFCHECK_H
#define AS_ELFCHECK_H

#include <stddef.h>

/* 1 if path may be run under the library: a script (#!), a file that is not
 * ELF (the shell will run it), or a dynamically linked ELF program that does
 * not rule it out.  0 with why set for a setuid or setgid file (ld.so ignores
 * LD_PRELOAD there), a static executable (no PT_INTERP), one that needs
 * OpenSSL 1.x (libssl.so.1.*), or one that defines SSL_CTX_new itself
 * without needing libssl.so.3 (OpenSSL built in).  A stripped program with
 * OpenSSL built in and not exported cannot be told from one without it: it
 * is allowed. */
int as_elf_preloadable(const char *path, char *why, size_t whylen);

#endif
