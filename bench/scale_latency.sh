#!/bin/bash
# bench/scale_latency.sh [N] [DELAY_MS] [LIMITS]: what AUTOSTAPLE_MAX_FETCHES
# buys against a responder far away.  N certificates (default 1000) in one
# fixture_server, against a responder that answers every request after
# DELAY_MS milliseconds (default 20: a responder on another continent), for
# each limit of LIMITS (default "1 4 16"): the time until all are stapled,
# and the most requests the responder saw at once.  The responder is
# tests/helpers/fakeresponder -mode sign (multi-threaded, signs every answer
# "good" with the test PKI's delegated OCSP signer), not openssl ocsp, which
# answers one request at a time.  Environment: BUILD (default build),
# SCALE_KEEP=1 (keep the work directory).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-1000} DELAY=${2:-20} LIMITS=${3:-"1 4 16"}
BUILD=$(cd "$root" && mkdir -p "${BUILD:-build}" && cd "${BUILD:-build}" && pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/autostaple-latency.XXXXXX") || exit 1
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    [ "${SCALE_KEEP:-0}" = 1 ] && echo "kept $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
now_ms() { date +%s%3N; }
free_port() {
    local p hex
    while :; do
        p=$((20000 + RANDOM % 12000))
        hex=$(printf '%04X' "$p")
        awk -v h="$hex" 'FNR > 1 { split($2, a, ":"); if (a[2] == h) f = 1 } END { exit !f }' \
            /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo "$p"; return; }
    done
}

make -C "$root" --no-print-directory all test-tools >"$W/build.log" 2>&1 || { cat "$W/build.log" >&2; exit 1; }
mkdir -p "$BUILD/bench"
cc -Wall -Wextra -O2 -g -std=gnu11 -o "$BUILD/bench/scale_certs" "$root/bench/scale_certs.c" -lcrypto ||
    exit 1
"$root/tests/pki/mkpki.sh" "$W/pki" "$(free_port)" "$(free_port)" >"$W/pki.log" 2>&1 ||
    { cat "$W/pki.log" >&2; exit 1; }
"$BUILD/bench/scale_certs" -n "$N" -ca "$W/pki/inter.pem" -cakey "$W/pki/inter.key" \
    -out "$W/certs" -chain "$W/pki/inter.pem" 2>/dev/null || exit 1

echo "$N certificates, a responder answering after $DELAY ms; $(nproc) CPUs, $(date -u '+%Y-%m-%d')"
for k in $LIMITS; do
    rport=$(free_port) sport=$(free_port)
    "$BUILD/tests/fakeresponder" -port "$rport" -mode sign -rsigner "$W/pki/ocsp-signer.pem" \
        -rkey "$W/pki/ocsp-signer.key" -valid 3600 -delay "$DELAY" -peak "$W/peak.$k" \
        -max-seconds 3600 >"$W/responder.$k.log" 2>&1 &
    rpid=$!
    pids+=("$rpid")
    until grep -q '^listening' "$W/responder.$k.log"; do sleep 0.05; done
    t0=$(now_ms)
    env AUTOSTAPLE_MAX_FETCHES="$k" AUTOSTAPLE_STARTUP_WAIT=0 \
        AUTOSTAPLE_RESPONDER="http://127.0.0.1:$rport/" LD_PRELOAD="$BUILD/libautostaple.so" \
        "$BUILD/tests/fixture_server" -port "$sport" -max-seconds 3600 \
        -cert "$W/certs/certs/host1.pem" -key "$W/certs/key.pem" -chain "$W/pki/inter.pem" \
        -sni-list "$W/certs/sni.list" >"$W/server.$k.log" 2>&1 &
    spid=$!
    pids+=("$spid")
    while [ "$(grep -c 'stapling a good response' "$W/server.$k.log")" -lt "$N" ]; do
        kill -0 "$spid" 2>/dev/null || { echo "the server died" >&2; exit 1; }
        sleep 0.05
    done
    t=$(($(now_ms) - t0))
    echo "AUTOSTAPLE_MAX_FETCHES=$k: all $N stapled after $t ms; at most $(cat "$W/peak.$k") requests at once at the responder"
    kill "$spid" "$rpid"
    wait "$spid" "$rpid" 2>/dev/null
done
