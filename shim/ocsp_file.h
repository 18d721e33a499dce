/* ocsp_file.h: response files beside certificates, as HAProxy and cron jobs
 * running `openssl ocsp ... -respout cert.pem.ocsp` keep them: for a
 * certificate loaded from FILE, "FILE.ocsp" (DER).  Nothing read from them
 * is trusted: a response is taken only if it verifies for that very
 * certificate (as_ocsp_verify, the checks a fetched response passes), so a
 * wrong guess can never staple a wrong response.  The library never writes
 * them (AUTOSTAPLE_CACHE_DIR is for that). */
#ifndef AS_OCSP_FILE_H
#define AS_OCSP_FILE_H

#include <stddef.h>
#include <time.h>

#include "boundary.h"
#include "ocsp_verify.h"

struct as_cert;

/* Remembers where c was loaded from (src, boundary.h): "<named>.ocsp", and,
 * as guesses, "<recent>.ocsp" for the files the loading thread opened just
 * before (one is taken only once its file is seen to hold c's certificate).
 * Relative names are made absolute with the current directory.  At most a
 * few per certificate.  On the loading thread, never in a handshake; adds
 * under the registry lock. */
void as_ocsp_file_note(struct as_cert *c, const struct as_cert_source *src);

/* How many files are remembered for c.  Any thread. */
int as_ocsp_file_count(struct as_cert *c);

/* Reads those of c's files that changed (path, size, mtime, inode) since they
 * were last looked at, and verifies each for c at now.  Returns 1 with the
 * freshest that verifies and whose thisUpdate is later than after: *der
 * (malloc'd, the caller frees), *len, *v, and *path (c's, valid as long as
 * c).  A file refused is logged once (per version of the file): what it is
 * and why.  Non-regular files, files over AUTOSTAPLE_MAX_RESPONSE bytes and
 * symbolic link loops are refused without blocking.  Refresher thread only,
 * with c taken (c->issuer known). */
int as_ocsp_file_fresher(struct as_cert *c, time_t now, const struct as_verify_params *p,
                         time_t after, unsigned char **der, size_t *len,
                         struct as_verdict *v, const char **path);

#endif
