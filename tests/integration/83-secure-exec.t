#!/bin/bash
# Secure execution: with the library in /etc/ld.so.preload (libautostaple(7)
# shows how), a set-user-ID root program that sets up a TLS server is
# reached even when an unprivileged user runs it.  Its environment is that
# user's: the library must ignore every AUTOSTAPLE_* variable there, or the
# user names a library root loads (AUTOSTAPLE_CORE) and files root writes
# (AUTOSTAPLE_LOG, the cache and metrics directories).  It stays inert.
#
# /etc/ld.so.preload is only ever changed in a private mount namespace: /etc
# is a copy there, bind-mounted over the real one, seen by this test's
# processes alone.
. "$AS_SRC/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root: a set-user-ID root program and a mount namespace"
sanitized && skip_all "a sanitizer's runtime cannot be preloaded into a set-user-ID program"
command -v unshare >/dev/null && command -v setpriv >/dev/null || skip_all "no unshare or setpriv"
command -v cc >/dev/null || skip_all "no C compiler for the hostile library"
chmod 755 "$T"

# The program: the fixture server, set-user-ID root, where nobody may run it.
mkdir -m 0755 "$T/suid"
install -o root -m 4755 "$FIXTURE_SERVER" "$T/suid/fixture_server"
# What an attacker would name: a library whose constructor leaves a mark.
cat >"$T/hostile.c" <<EOF
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void mark(void)
{
    int fd = open("$T/marks/hostile-ran", O_WRONLY | O_CREAT, 0644);
    if (fd >= 0)
        close(fd);
}
EOF
cc -shared -fPIC -o "$T/hostile.so" "$T/hostile.c" || _as_infra_fail "build hostile.so"
mkdir -m 0777 "$T/marks"

# run_suid NAME PORT [VAR=VALUE...]: as nobody, the set-user-ID fixture with
# the library in /etc/ld.so.preload (this namespace only); its output in
# $T/NAME.log; it serves for 4 s.
cp -a /etc "$T/etc" || _as_infra_fail "copy /etc"
echo "$AS_BUILD/libautostaple.so" >"$T/etc/ld.so.preload"
run_suid() {
    local name=$1 port=$2
    shift 2
    unshare --mount --propagation private sh -c 'mount --bind "$1" /etc && shift && exec "$@"' \
        sh "$T/etc" setpriv --reuid=65534 --regid=65534 --clear-groups \
        env "$@" "$T/suid/fixture_server" -port "$port" -max-seconds 4 \
        -cert "$AS_PKI/leaf-rsa.pem" -key "$AS_PKI/leaf-rsa.key" -chain "$AS_PKI/chain.pem" \
        >"$T/$name.log" 2>&1 &
    wait_for_log "$T/$name.log" '^ready' 10 || _as_infra_fail "setuid fixture $name" "$T/$name.log"
}

# Sanity: the same preload and a plain (not set-user-ID) program: the
# library is there, and reads its variables.
PORT=$(free_port)
unshare --mount --propagation private sh -c 'mount --bind "$1" /etc && shift && exec "$@"' \
    sh "$T/etc" env AUTOSTAPLE_CORE="$T/hostile.so" "$FIXTURE_SERVER" -port "$PORT" \
    -max-seconds 4 -cert "$AS_PKI/leaf-rsa.pem" -key "$AS_PKI/leaf-rsa.key" \
    -chain "$AS_PKI/chain.pem" >"$T/plain.log" 2>&1 &
wait_for_log "$T/plain.log" '^ready' 10 || _as_infra_fail "plain fixture" "$T/plain.log"
staple_of "$PORT" >/dev/null
check "a plain program: the preload reads AUTOSTAPLE_CORE (the test can fail)" \
    test -e "$T/marks/hostile-ran"
wait
rm -f "$T/marks/hostile-ran"

PORT=$(free_port)
run_suid suid "$PORT" AUTOSTAPLE_CORE="$T/hostile.so" AUTOSTAPLE_LOG="$T/marks/log" \
    AUTOSTAPLE_CACHE_DIR="$T/marks" AUTOSTAPLE_METRICS_DIR="$T/marks" \
    AUTOSTAPLE_RESPONDER="http://127.0.0.1:$OCSP_PORT/"
is "$(staple_of "$PORT")" none "set-user-ID root, run by nobody: it serves, unstapled"
wait
check "the library named by AUTOSTAPLE_CORE was not loaded" test ! -e "$T/marks/hostile-ran"
is "$(ls "$T/marks")" "" "no file written where the caller said"
unlike "$(cat "$T/suid.log")" "autostaple" "and nothing logged"
check "the real /etc/ld.so.preload is untouched" \
    bash -c "! grep -qsF '$AS_BUILD/libautostaple.so' /etc/ld.so.preload"
done_testing
