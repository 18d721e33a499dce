/* pem_file.h: the first certificate or private key of a PEM file, for the
 * test and benchmark tools.  Header-only: include it once. */
#ifndef AS_PEM_FILE_H
#define AS_PEM_FILE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/pem.h>

/* The first certificate (key 0: an X509 *) or private key (key 1: an
 * EVP_PKEY *) of the PEM file path, owned by the caller.  NULL if the file
 * cannot be opened (errno says why) or holds no such object (errno 0;
 * OpenSSL's error queue says why). */
static inline void *pem_read_file(const char *path, int key)
{
    FILE *f = fopen(path, "r");
    void *p;

    if (f == NULL)
        return NULL;
    p = key ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL)
            : (void *)PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (p == NULL)
        errno = 0;
    return p;
}

/* The first certificate of the PEM file path, owned by the caller.  If
 * there is none (no such file, no certificate in it): "PROG: cannot read a
 * certificate from PATH" on stderr, and exit status 2 (the clients' status
 * for bad usage). */
static inline X509 *pem_cert_or_exit(const char *prog, const char *path)
{
    X509 *x = pem_read_file(path, 0);

    if (x == NULL) {
        fprintf(stderr, "%s: cannot read a certificate from %s\n", prog, path);
        exit(2);
    }
    return x;
}

#endif
