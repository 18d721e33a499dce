/* elfcheck.c: see elfcheck.h.  The file is mapped read-only and every
 * offset is checked against its size: the program may be anything. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfcheck.h"

struct facts {
    int interp;           /* has PT_INTERP */
    int needs_ssl3;       /* DT_NEEDED libssl.so.3 */
    int needs_ssl11;      /* DT_NEEDED libssl.so.1.1 */
    char old_ssl[64];     /* DT_NEEDED libssl.so.1.0.* or .10, "" if none */
    int defines_ctx_new;  /* a defined SSL_CTX_new in .dynsym or .symtab */
};

static int in_file(size_t size, uint64_t off, uint64_t len)
{
    return off <= size && len <= size - off;
}

/* The NUL-terminated string at off in the string table (toff, tlen), or
 * NULL. */
static const char *string_at(const unsigned char *m, size_t size, uint64_t toff, uint64_t tlen,
                             uint64_t off)
{
    if (!in_file(size, toff, tlen) || off >= tlen)
        return NULL;
    const char *s = (const char *)m + toff + off;
    return memchr(s, '\0', tlen - off) != NULL ? s : NULL;
}

/* inspect32 and inspect64: the same walk over either class. */
#define INSPECT(BITS)                                                                       \
    static int inspect##BITS(const unsigned char *m, size_t size, struct facts *f)         \
    {                                                                                       \
        const Elf##BITS##_Ehdr *eh = (const void *)m;                                       \
        if (!in_file(size, 0, sizeof(*eh)))                                                 \
            return 0;                                                                       \
        uint64_t phoff = eh->e_phoff, shoff = eh->e_shoff;                                  \
        if (eh->e_phentsize == sizeof(Elf##BITS##_Phdr) &&                                  \
            in_file(size, phoff, (uint64_t)eh->e_phnum * sizeof(Elf##BITS##_Phdr)))         \
            for (unsigned i = 0; i < eh->e_phnum; i++) {                                    \
                const Elf##BITS##_Phdr *ph = (const void *)(m + phoff) + i * sizeof(*ph);   \
                if (ph->p_type == PT_INTERP)                                                \
                    f->interp = 1;                                                          \
            }                                                                               \
        if (eh->e_shentsize != sizeof(Elf##BITS##_Shdr) ||                                  \
            !in_file(size, shoff, (uint64_t)eh->e_shnum * sizeof(Elf##BITS##_Shdr)))        \
            return 1; /* no section headers: nothing more to learn */                       \
        const Elf##BITS##_Shdr *sh = (const void *)(m + shoff);                             \
        for (unsigned i = 0; i < eh->e_shnum; i++) {                                        \
            const Elf##BITS##_Shdr *s = &sh[i];                                             \
            if (s->sh_link >= eh->e_shnum || !in_file(size, s->sh_offset, s->sh_size))      \
                continue;                                                                   \
            const Elf##BITS##_Shdr *str = &sh[s->sh_link];                                  \
            if (s->sh_type == SHT_DYNAMIC) {                                                \
                const Elf##BITS##_Dyn *d = (const void *)(m + s->sh_offset);                \
                for (uint64_t k = 0; k < s->sh_size / sizeof(*d) && d[k].d_tag != DT_NULL;  \
                     k++) {                                                                 \
                    if (d[k].d_tag != DT_NEEDED)                                            \
                        continue;                                                           \
                    const char *name = string_at(m, size, str->sh_offset, str->sh_size,     \
                                                 d[k].d_un.d_val);                          \
                    if (name != NULL && strcmp(name, "libssl.so.3") == 0)                   \
                        f->needs_ssl3 = 1;                                                  \
                    else if (name != NULL && strcmp(name, "libssl.so.1.1") == 0)            \
                        f->needs_ssl11 = 1;                                                 \
                    else if (name != NULL && strncmp(name, "libssl.so.1", 11) == 0)         \
                        snprintf(f->old_ssl, sizeof(f->old_ssl), "%s", name);               \
                }                                                                           \
            } else if (s->sh_type == SHT_DYNSYM || s->sh_type == SHT_SYMTAB) {              \
                const Elf##BITS##_Sym *y = (const void *)(m + s->sh_offset);                \
                for (uint64_t k = 0; k < s->sh_size / sizeof(*y); k++) {                    \
                    if (y[k].st_shndx == SHN_UNDEF)                                         \
                        continue;                                                           \
                    const char *name = string_at(m, size, str->sh_offset, str->sh_size,     \
                                                 y[k].st_name);                             \
                    if (name != NULL && strcmp(name, "SSL_CTX_new") == 0)                   \
                        f->defines_ctx_new = 1;                                             \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
        return 1;                                                                           \
    }
INSPECT(32)
INSPECT(64)

static int refuse(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return 0;
}

int as_elf_preloadable(const char *path, enum as_elf_openssl *openssl, char *why, size_t whylen)
{
    struct stat st;
    *openssl = AS_ELF_OPENSSL_NONE;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        /* exec will say why; nothing to refuse on */
        if (fd >= 0)
            close(fd);
        return 1;
    }
    if ((st.st_mode & S_ISUID) || ((st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP))) {
        close(fd);
        return refuse(why, whylen, "it is %s: the dynamic loader ignores LD_PRELOAD for "
                      "such programs, so nothing would be stapled",
                      st.st_mode & S_ISUID ? "setuid" : "setgid");
    }
    size_t size = (size_t)st.st_size;
    if (!S_ISREG(st.st_mode) || size < EI_NIDENT) {
        close(fd);
        return 1;
    }
    unsigned char *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return 1;
    struct facts f = { 0 };
    int elf = memcmp(m, ELFMAG, SELFMAG) == 0;
    int native = elf && m[EI_DATA] == (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB
                                                                                 : ELFDATA2MSB);
    int read = native && (m[EI_CLASS] == ELFCLASS64   ? inspect64(m, size, &f)
                          : m[EI_CLASS] == ELFCLASS32 ? inspect32(m, size, &f)
                                                      : 0);
    int type = read ? ((const Elf32_Ehdr *)m)->e_type : 0; /* same offset in both classes */
    munmap(m, size);
    if (!read || (type != ET_EXEC && type != ET_DYN))
        return 1; /* a script, or nothing ld.so would load: exec decides */
    if (!f.interp)
        return refuse(why, whylen, "it is statically linked: there is no dynamic loader to "
                      "preload the library");
    if (f.old_ssl[0] != '\0' && !f.needs_ssl3 && !f.needs_ssl11)
        return refuse(why, whylen, "it is linked against an OpenSSL older than 1.1 (%s); the "
                      "library works with OpenSSL 1.1 (libssl.so.1.1) and 3 (libssl.so.3)",
                      f.old_ssl);
    if (f.defines_ctx_new && !f.needs_ssl3 && !f.needs_ssl11)
        return refuse(why, whylen, "it has OpenSSL built in (it defines SSL_CTX_new and uses "
                      "neither libssl.so.3 nor libssl.so.1.1): its calls cannot be interposed");
    *openssl = f.needs_ssl3    ? AS_ELF_OPENSSL_3
               : f.needs_ssl11 ? AS_ELF_OPENSSL_1_1
                               : AS_ELF_OPENSSL_NONE;
    return 1;
}
