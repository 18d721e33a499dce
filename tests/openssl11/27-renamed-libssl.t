#!/bin/bash
# A vendor's OpenSSL 1.1 under a name of its own (libvsl.so.1.1, made by
# tests/helpers/rename_soname.py from Debian 11's libssl.so.1.1): the 1.1
# core links to libssl.so.1.1, and loading it would map that second
# OpenSSL beside the program's and hand it the program's objects.  The
# library leaves such a program alone: it serves as without the library,
# one error line says why, and no core is mapped.
. "$AS_SRC/tests/lib.sh"

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"
# (AS_OPENSSL=none: start_fixture_server's check that the 1.1 core is
# mapped does not apply here.)
AS_OPENSSL=none FIXTURE_SERVER=$AS_BUILD/tests/fixture_server-1.1v \
    start_fixture_server renamed "${FIXTURE_RSA[@]}" -prefork 2
maps=$(cat "/proc/$renamed_PID/maps")
like "$maps" "libvsl\.so\.1\.1" "the server runs on its own libssl (libvsl.so.1.1)"
is "$(staple_of "$PORT")" none "its handshakes go on, unstapled"
check "and serve pages" \
    timeout 10 curl -sSk --resolve "good.test:$PORT:127.0.0.1" -o /dev/null "https://good.test:$PORT/"
for i in 1 2 3; do staple_of "$PORT" >/dev/null; done
is "$(grep -c '^autostaple\[' "$T/renamed.log")" 1 "one line from the library, at any number of handshakes"
like "$(cat "$T/renamed.log")" \
    "^autostaple\[[0-9]+\]: error: this program's OpenSSL 1\.1 is not libssl\.so\.1\.1, the one its core links to; stapling disabled" \
    "it says why"
maps=$(cat "/proc/$renamed_PID/maps")
unlike "$maps" "libautostaple-core|libssl\.so\.1\.1|libcurl" "no core, no second libssl, no libcurl mapped"
stop_bg renamed
done_testing
