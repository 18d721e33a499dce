#!/bin/bash
# Issue 3, process models: the very first handshake is stapled (the first
# fetch is awaited, within AUTOSTAPLE_STARTUP_WAIT, when the server listens
# or forks its workers), in single-process and forking servers, and the
# responder sees one request per certificate at start, whatever the worker
# count.  A hanging responder delays start-up by the bound at most.
. "$AS_SRC/tests/lib.sh"

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"
first8() { staples_of "$1" 8; }
all_good='good good good good good good good good'

before=$(count_requests "$OCSP_LOG")
start_shim_s_server s_server leaf-rsa
is "$(staple_of "$PORT")" good "s_server: the first handshake is stapled"
is "$(($(count_requests "$OCSP_LOG") - before))" 1 "s_server: one request"

PORT=$(free_port)
start_bg fixture with_shim "$FIXTURE_SERVER" -port "$PORT" -max-seconds 120 \
    -cert "$AS_PKI/leaf-rsa.pem" -key "$AS_PKI/leaf-rsa.key" -chain "$AS_PKI/chain.pem"
wait_for_log "$T/fixture.log" '^ready' 10
is "$(staple_of "$PORT")" good "fixture server: the first handshake is stapled"

if [ -x /usr/sbin/nginx ]; then
    before=$(count_requests "$OCSP_LOG")
    PORT=$(free_port)
    mkdir -p "$T/nginx"
    start_bg nginx with_shim "$AS_SRC/tests/servers/nginx.sh" "$T/nginx" "$PORT" \
        "$AS_PKI/leaf-rsa-full.pem" "$AS_PKI/leaf-rsa.key" 4
    wait_for_port "$PORT" 15 || _as_infra_fail "nginx starts" "$T/nginx.log"
    is "$(first8 "$PORT")" "$all_good" "nginx, 4 workers: the first 8 handshakes are all stapled"
    is "$(($(count_requests "$OCSP_LOG") - before))" 1 "nginx, 4 workers: one request at start"
    check "nginx, 4 workers: curl --cert-status accepts it" curl_verify "$PORT" good.test
else
    skip "nginx is not installed" 3
fi

# Apache loads its configuration twice: the certificate is learned, let go
# (its context freed), and loaded again before the fork.  A responder that
# answers after 1 s makes sure the fork waits for the first fetch even so.
if [ -x /usr/sbin/apache2 ]; then
    start_fake ocsp-slow 0 ocsp -index "$T/ocsp-$OCSP_PORT.index" -ca "$AS_PKI/inter.pem" \
        -rsigner "$AS_PKI/inter.pem" -rkey "$AS_PKI/inter.key" -nmin 60 -delay 1000
    PORT=$(free_port)
    mkdir -p "$T/apache"
    start_bg apache env AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" \
        LD_PRELOAD="$AS_SHIM" "$AS_SRC/tests/servers/apache.sh" "$T/apache" "$PORT" \
        "$AS_PKI/leaf-rsa-full.pem" "$AS_PKI/leaf-rsa.key" 4
    wait_for_port "$PORT" 15 || _as_infra_fail "apache starts" "$T/apache.log"
    is "$(first8 "$PORT")" "$all_good" "Apache prefork, 4 children: the first 8 handshakes are all stapled"
    is "$(count_requests "$FAKE_LOG")" 1 "Apache prefork, 4 children: one request at start"
    is "$(pgrep -f "apache2 -f $T/apache/httpd.conf" | wc -l)" 5 "Apache prefork: (a parent and 4 children)"
else
    skip "apache2 is not installed" 3
fi

# Shared refreshes: responses valid 20 s, renewed at the responder every
# second.  One process fetches for all workers (checked in the debug log),
# the responder sees one request per refresh (each of 5 processes refreshing
# on its own would make 5 or more in 14 s), and every worker staples the same
# newest response.
start_renewing_responder leaf-rsa 20
# this_updates PORT: the distinct thisUpdates of 8 handshakes' staples
this_updates() { local i; for i in 1 2 3 4 5 6 7 8; do this_update_of "$1"; done | sort -u; }
if [ -x /usr/sbin/nginx ]; then
    PORT=$(free_port)
    mkdir -p "$T/nginx-short"
    start_bg nginx-short env AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" \
        AUTOSTAPLE_LOG_LEVEL=debug LD_PRELOAD="$AS_SHIM" "$AS_SRC/tests/servers/nginx.sh" \
        "$T/nginx-short" "$PORT" "$AS_PKI/leaf-rsa-full.pem" "$AS_PKI/leaf-rsa.key" 4
    wait_for_port "$PORT" 15 || _as_infra_fail "nginx starts" "$T/nginx-short.log"
    is "$(staple_of "$PORT")" good "short-lived, nginx 4 workers: stapled"
    sleep 14
    n=$(count_requests "$FAKE_LOG")
    fetchers=$(cat "$T/nginx-short.log" "$T/nginx-short/error.log" 2>/dev/null |
        sed -n 's/^autostaple\[nginx \([0-9]*\)\]: .*stapling a good response.*/\1/p' | sort -u)
    is "$(echo "$fetchers" | wc -l)" 1 "short-lived, nginx 4 workers: one process fetches ($(echo $fetchers))"
    check "short-lived, nginx 4 workers: refreshed ($n requests in 14 s)" test "$n" -ge 2
    check "short-lived, nginx 4 workers: one request per refresh, not per worker ($n)" \
        test "$n" -le 4
    is "$(first8 "$PORT")" "$all_good" "short-lived, nginx 4 workers: every handshake stapled"
    # A shared refresh may land between two of the 8 handshakes; private
    # per-worker responses would differ in every sample.  Three tries.
    for try in 1 2 3; do
        distinct=$(this_updates "$PORT" | wc -l)
        [ "$distinct" = 1 ] && break
    done
    is "$distinct" 1 "short-lived, nginx 4 workers: every worker staples the same response"
    stop_bg nginx-short
else
    skip "nginx is not installed" 6
fi

# A responder that never answers: the first accept waits the bound, then
# the server serves, and later handshakes do not wait.
start_fake hang 0 hang
# timed_first NAME LEAF [VAR=VALUE...]: start_shim_s_server, then time its
# first handshake (which the start-up wait delays) in MS.
timed_first() {
    local start
    start_shim_s_server "$@"
    start=$(date +%s%N)
    staple_of "$PORT" >/dev/null
    MS=$((($(date +%s%N) - start) / 1000000))
}
# The first handshake's time is compared with a server that does not wait
# (the machine, or a sanitizer, may make both slow), a later handshake's
# with the 20-s fetch it must not wait for.
timed_first hang0 leaf-rsa AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" \
    AUTOSTAPLE_STARTUP_WAIT=0 AUTOSTAPLE_TIMEOUT=20
ms0=$MS
timed_first hang2 leaf-rsa AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" \
    AUTOSTAPLE_STARTUP_WAIT=2 AUTOSTAPLE_TIMEOUT=20
ms=$MS
check "hanging responder, STARTUP_WAIT=2: the first accept waited the bound ($ms ms)" \
    test "$ms" -ge 1900
check "hanging responder, STARTUP_WAIT=2: and no more ($ms ms, $ms0 ms without waiting)" \
    test "$ms" -lt $((ms0 + 3000))
check "STARTUP_WAIT=0: the first accept does not wait ($ms0 ms)" test "$ms0" -lt $((ms - 1000))
start=$(date +%s%N)
st=$(staple_of "$PORT")
hs=$((($(date +%s%N) - start) / 1000000))
is "$st" none "hanging responder: the handshake is not stapled"
check "hanging responder: and does not wait ($hs ms)" test "$hs" -lt 5000
like "$(cat "$T/hang2.log")" "warning: before accepting: 1 of 1 first OCSP fetches still running after 2 s" \
    "hanging responder: the wait is reported"
done_testing
