#!/bin/bash
# Concurrent exchanges with responders: at most AUTOSTAPLE_MAX_FETCHES
# (default 4) at a time, and that many when certificates are due together
# and the responder is slow; each certificate fetched once, even when it is
# forgotten and used again while its fetch is under way; no more fetch
# threads than that.
. "$AS_SRC/tests/lib.sh"

CERTS=12
make_leaves "$CERTS" "$T/leaves"

# run NAME [VAR=VALUE...]: the fixture server with the 12 certificates (and
# its default leaf-ec) under the shim, against a responder that takes 0.5 s
# per answer; until every certificate is stapled.  Sets PEAK (most requests
# answered at once), REQUESTS, UNIQUE (distinct requests) and MS (from the
# start to the last staple, as logged).
run() {
    local name=$1
    shift
    start_fake "resp-$name" 0 sign -rsigner "$AS_PKI/ocsp-signer.pem" \
        -rkey "$AS_PKI/ocsp-signer.key" -valid 3600 -delay 500 -peak "$T/$name.peak"
    PORT=$(free_port)
    local t0
    t0=$(_as_now_ms)
    start_bg "$name" env "$@" AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" \
        AUTOSTAPLE_STARTUP_WAIT=0 LD_PRELOAD="$AS_SHIM" "$FIXTURE_SERVER" -port "$PORT" \
        -max-seconds 120 -cert "$AS_PKI/leaf-ec.pem" -key "$AS_PKI/leaf-ec.key" \
        -chain "$AS_PKI/chain.pem" "${SNI_ARGS[@]}"
    wait_for_log "$T/$name.log" '^ready' 10 || _as_infra_fail "fixture $name starts" "$T/$name.log"
    eventually 30 all_stapled "$T/$name.log" || diag_file "$T/$name.log"
    MS=$(($(_as_now_ms) - t0))
    PEAK=$(cat "$T/$name.peak" 2>/dev/null || echo 0)
    REQUESTS=$(count_requests "$FAKE_LOG")
    UNIQUE=$(sort -u "$FAKE_LOG" | wc -l | tr -d ' ')
    SERVER_PID=$BG_PID
}

all_stapled() { [ "$(grep -c 'stapling a good response' "$1")" -ge $((CERTS + 1)) ]; }

# fetch_threads PID: the library's threads in the process.
fetch_threads() { cat /proc/"$1"/task/*/comm 2>/dev/null | grep -c '^autostaple$'; }

run three AUTOSTAPLE_MAX_FETCHES=3
note "MAX_FETCHES=3: $CERTS+1 certificates stapled in $MS ms, peak $PEAK at the responder"
if sanitized; then
    # Under a sanitizer the fork guard is kept through plain HTTP too
    # (fetch.c): the exchanges do not overlap.
    check "MAX_FETCHES=3: at most 3 at a time ($PEAK)" test "$PEAK" -ge 1 -a "$PEAK" -le 3
else
    is "$PEAK" 3 "MAX_FETCHES=3: three exchanges at a time while certificates wait"
fi
is "$REQUESTS" $((CERTS + 1)) "MAX_FETCHES=3: one request per certificate"
is "$UNIQUE" "$REQUESTS" "MAX_FETCHES=3: none asked twice"
n=$(fetch_threads "$SERVER_PID")
check "MAX_FETCHES=3: no more than 3 fetch threads ($n)" test "$n" -ge 1 -a "$n" -le 3
stop_bg three

run default
note "default: $CERTS+1 certificates stapled in $MS ms, peak $PEAK at the responder"
if sanitized; then
    check "default: at most 4 at a time ($PEAK)" test "$PEAK" -ge 1 -a "$PEAK" -le 4
else
    is "$PEAK" 4 "default: four exchanges at a time"
    check "default: faster than one at a time would be ($MS ms < 6000)" test "$MS" -lt 6000
fi
is "$REQUESTS" $((CERTS + 1)) "default: one request per certificate"
stop_bg default

run one AUTOSTAPLE_MAX_FETCHES=1
note "MAX_FETCHES=1: $CERTS+1 certificates stapled in $MS ms, peak $PEAK at the responder"
is "$PEAK" 1 "MAX_FETCHES=1: one exchange at a time"
check "MAX_FETCHES=1: one after the other ($MS ms >= 6500)" test "$MS" -ge 6500
is "$(fetch_threads "$SERVER_PID")" 1 "MAX_FETCHES=1: a single fetch thread"
stop_bg one

# Apache loads its configuration twice at start-up, freeing the first
# pass's contexts before making the second's: every certificate is
# forgotten, then in use again, while its first fetch may be under way (here
# it is: the responder takes 0.5 s).  Still one request, by one thread.
if [ -x /usr/sbin/apache2 ]; then
    start_fake resp-apache 0 sign -rsigner "$AS_PKI/ocsp-signer.pem" \
        -rkey "$AS_PKI/ocsp-signer.key" -valid 3600 -delay 500
    PORT=$(free_port)
    mkdir -p "$T/apache"
    start_bg apache env AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" \
        LD_PRELOAD="$AS_SHIM" "$AS_SRC/tests/servers/apache.sh" "$T/apache" "$PORT" \
        "$AS_PKI/leaf-rsa-full.pem" "$AS_PKI/leaf-rsa.key" 2
    wait_for_port "$PORT" 15 || _as_infra_fail "apache starts" "$T/apache.log"
    check "Apache, first fetch under way across its second configuration pass: stapled" \
        wait_for_staple good "$PORT" 10
    sleep 1
    is "$(count_requests "$FAKE_LOG")" 1 "Apache, first fetch under way across its second pass: one request"
    stop_bg apache
else
    skip "apache2 is not installed" 2
fi

unlike "$(cat "$T"/three.log "$T"/default.log "$T"/one.log)" "Sanitizer|runtime error|warning" \
    "no warning, no sanitizer report"
done_testing
