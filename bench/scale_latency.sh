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
# BENCH_KEEP=1 (keep the work directory; SCALE_KEEP=1 too).
set -u
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
N=${1:-1000} DELAY=${2:-20} LIMITS=${3:-"1 4 16"}

make -C "$ROOT" --no-print-directory bench-tools test-tools >"$W/build.log" 2>&1 ||
    { cat "$W/build.log" >&2; die "make failed"; }
"$ROOT/tests/pki/mkpki.sh" "$W/pki" "$(free_port)" "$(free_port)" >"$W/pki.log" 2>&1 ||
    { cat "$W/pki.log" >&2; die "mkpki failed"; }
"$BUILD/bench/scale_certs" -n "$N" -ca "$W/pki/inter.pem" -cakey "$W/pki/inter.key" \
    -out "$W/certs" -chain "$W/pki/inter.pem" 2>/dev/null || die "scale_certs failed"

echo "$N certificates, a responder answering after $DELAY ms; $(nproc) CPUs, $(date -u '+%Y-%m-%d')"
for k in $LIMITS; do
    rport=$(free_port) sport=$(free_port)
    start_bg "responder.$k" "$BUILD/tests/fakeresponder" -port "$rport" -mode sign \
        -rsigner "$W/pki/ocsp-signer.pem" -rkey "$W/pki/ocsp-signer.key" -valid 3600 \
        -delay "$DELAY" -peak "$W/peak.$k" -max-seconds 3600
    rpid=$BG_PID
    wait_for_log "$W/responder.$k.log" '^listening' 10 ||
        die "the responder does not start: $(cat "$W/responder.$k.log")"
    t0=$(now_ms)
    start_bg "server.$k" env AUTOSTAPLE_MAX_FETCHES="$k" AUTOSTAPLE_STARTUP_WAIT=0 \
        AUTOSTAPLE_RESPONDER="http://127.0.0.1:$rport/" LD_PRELOAD="$SHIM" \
        "$BUILD/tests/fixture_server" -port "$sport" -max-seconds 3600 \
        -cert "$W/certs/certs/host1.pem" -key "$W/certs/key.pem" -chain "$W/pki/inter.pem" \
        -sni-list "$W/certs/sni.list"
    spid=$BG_PID
    while [ "$(stapled "$W/server.$k.log")" -lt "$N" ]; do
        kill -0 "$spid" 2>/dev/null || die "the server died: $(tail -n 5 "$W/server.$k.log")"
        sleep 0.05
    done
    t=$(($(now_ms) - t0))
    echo "AUTOSTAPLE_MAX_FETCHES=$k: all $N stapled after $t ms; at most $(cat "$W/peak.$k") requests at once at the responder"
    stop_pid "$spid"
    stop_pid "$rpid"
done
