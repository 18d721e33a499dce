#!/bin/bash
# What a responder can do wrong, and what must then happen: nothing bad is
# stapled, the server keeps serving at full speed, the reason is logged once.
# Each case points AUTOSTAPLE_RESPONDER at its own fake responder.
. "$AS_SRC/tests/lib.sh"

export AUTOSTAPLE_RETRY_MIN=1 AUTOSTAPLE_TIMEOUT=3

# serve NAME URL: s_server for leaf-rsa under the shim with URL as responder.
serve() { start_shim_s_server "$1" leaf-rsa AUTOSTAPLE_RESPONDER="$2"; }
served() { timeout 10 curl -sSk --resolve "good.test:$1:127.0.0.1" -o /dev/null "https://good.test:$1/"; }

# FAST_MS: a handshake that waited for a fetch would take up to
# AUTOSTAPLE_TIMEOUT (3 s); one that does not is done well within this.
FAST_MS=1500
sanitized && FAST_MS=2500

# fast_handshakes PORT [N]: N handshakes (3), each done within FAST_MS (none
# waits for a fetch), none stapled.
fast_handshakes() {
    local i start st ms
    for ((i = 1; i <= ${2:-3}; i++)); do
        start=$(date +%s%N)
        st=$(staple_of "$1")
        ms=$((($(date +%s%N) - start) / 1000000))
        [ "$st" = none ] && [ "$ms" -lt "$FAST_MS" ] || { diag "handshake $i: $st in $ms ms"; return 1; }
    done
}

# peak_rss_kb PID: the most memory the process ever had resident (VmHWM).
peak_rss_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# refused CASE REASON-ERE MODE [FAKE ARGS...]: the case's response is refused,
# handshakes go on at once, unstapled.  Remembers when the case started
# (STARTED[CASE]) and its server (CASES) for the checks at the end.
declare -A STARTED
CASES=()
refused() {
    local name=$1 reason=$2 mode=$3
    shift 3
    start_fake "fake-$name" 0 "$mode" "$@"
    STARTED[$name]=$(date +%s)
    CASES+=("$name")
    serve "$name" "http://127.0.0.1:$FAKE_PORT/"
    check "$name: refused and logged ($reason)" wait_for_log "$T/$name.log" "warning: .*$reason" 10
    check "$name: handshakes go on at full speed, unstapled" fast_handshakes "$PORT"
    check "$name: the server still serves" served "$PORT"
}

refused trylater "responder answered trylater" trylater
refused http500 "HTTP status 500" status:500
refused html "not a DER OCSP response" html
refused garbage "not a DER OCSP response" garbage
refused oversized "response larger than 16384 bytes" big -size 100000000
refused slow "failed: .*([Tt]imeout|timed out)" slow
refused truncated "failed: (Transferred a partial file|.*not a DER)" truncated
refused reset "failed: (Failure when receiving data|Recv failure|Connection reset|Empty reply)" reset
refused redirect "HTTP status 302" redirect

mkresp_for leaf-rsa "$T/expired.der" -this -7200 -next -60
refused expired "response refused: response expired" file -file "$T/expired.der"
mkresp_for leaf-rsa "$T/rogue.der" -signer "$AS_PKI/rogue-signer.pem" -key "$AS_PKI/rogue-signer.key"
refused wrong-signer "response refused: signature or signer not authorized" file -file "$T/rogue.der"
mkresp_for leaf-rsa "$T/noeku.der" -signer "$AS_PKI/ocsp-noeku.pem" -key "$AS_PKI/ocsp-noeku.key"
refused no-ocspsigning "response refused: signature or signer not authorized" file -file "$T/noeku.der"
mkresp_for leaf-sni "$T/other.der"
refused other-cert "response refused: response is for another certificate" file -file "$T/other.der"
mkresp_for leaf-rsa "$T/unknown.der" -status unknown
refused unknown "response refused: certificate status is unknown" file -file "$T/unknown.der"

is "$(grep -c 'warning: .*HTTP status 500' "$T/http500.log")" 1 "http500: the warning is not repeated"

# A short-lived response: refreshed at about half its window, and no longer
# stapled once its nextUpdate passes, though nothing fresher came (the
# responder keeps sending the same one).
mkresp_for leaf-rsa "$T/short.der" -this -1 -next 6
start_fake fake-short 0 file -file "$T/short.der"
serve short "http://127.0.0.1:$FAKE_PORT/"
check "short-lived: stapled" wait_for_staple good "$PORT" 3
check "short-lived: fetched again at about half its window (within 4 s)" \
    eventually 4 requests_at_least "$FAKE_LOG" 2
check "short-lived: not stapled once its nextUpdate has passed" wait_for_staple none "$PORT" 5
check "short-lived: the expired refetch is refused" \
    wait_for_log "$T/short.log" "response refused: response expired" 5

# Good responses served by a plain HTTP server: issuer-signed and delegated.
mkresp_for leaf-rsa "$T/issuer.der"
start_fake fake-issuer-signed 0 file -file "$T/issuer.der"
serve issuer-signed "http://127.0.0.1:$FAKE_PORT/"
check "issuer-signed: stapled" wait_for_staple good "$PORT" 5
check "issuer-signed: curl accepts it" curl_verify "$PORT" good.test
like "$(head -n1 "$FAKE_LOG")" "^GET /M" "a short request travels as a GET"

mkresp_for leaf-rsa "$T/delegated.der" -signer "$AS_PKI/ocsp-signer.pem" -key "$AS_PKI/ocsp-signer.key"
start_fake fake-delegated 0 file -file "$T/delegated.der"
long=$(printf 'p%.0s' $(seq 1 200))
serve delegated "http://127.0.0.1:$FAKE_PORT/$long/"
check "delegated signer: stapled" wait_for_staple good "$PORT" 5
check "delegated signer: curl accepts it" curl_verify "$PORT" good.test
like "$(head -n1 "$FAKE_LOG")" "^POST /$long/" "a URL over 255 bytes: the request is POSTed"

# Responder down: nothing listens.
dead=$(free_port)
serve down "http://127.0.0.1:$dead/"
# (libcurl says "Couldn't connect" up to 8.x, "Could not connect" in 8.14)
check "down: logged" wait_for_log "$T/down.log" "warning: .*(Could(n't| not) connect|Connection refused)" 10
is "$(staple_of "$PORT")" none "down: nothing stapled"

# Responder that never answers: handshakes do not wait for it.  (The
# first accept waits AUTOSTAPLE_STARTUP_WAIT for the first fetch: 70 tests
# that bound; here it is off.)
start_fake fake-hang 0 hang
start_shim_s_server hang leaf-rsa AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" \
    AUTOSTAPLE_STARTUP_WAIT=0
wait_for_log "$FAKE_LOG" "^GET" 5
check "hang: five handshakes during a hung fetch each complete at once, unstapled" \
    fast_handshakes "$PORT" 5
check "hang: the timeout is logged" wait_for_log "$T/hang.log" "warning: .*[Tt]imeout" 10
# Every case retries, backing off: with RETRY_MIN=1 the delays are at least
# 1, 1, 2, 4, 8... s counted in whole seconds of the clock, so the requests
# come at 0, 0, 0, 1, 4, 11, 26... s at the earliest, however the jitter
# falls: in E seconds at most log2(E) + 3 (one a second would be E; every
# case has run 8 s or more by now).  The same failure is logged
# once, not at every retry.  Memory stays bounded: no case (the 100 MB body
# included) made a server's peak resident size grow by more than 16 MB over
# that of the server that got a good response.
mkresp_for leaf-rsa "$T/baseline.der"
start_fake fake-baseline 0 file -file "$T/baseline.der"
serve baseline "http://127.0.0.1:$FAKE_PORT/"
wait_for_staple good "$PORT" 5 >/dev/null
baseline_kb=$(peak_rss_kb "$baseline_PID")
for name in "${CASES[@]}"; do
    elapsed=$(($(date +%s) - STARTED[$name]))
    n=$(count_requests "$T/fake-$name.requests")
    most=$(awk -v e="$elapsed" 'BEGIN { printf "%d", log(e) / log(2) + 3 }')
    check "$name: retried and backing off ($n requests in $elapsed s, at most $most)" \
        test "$elapsed" -ge 8 -a "$n" -ge 2 -a "$n" -le "$most"
    pid_var=${name//-/_}_PID
    kb=$(peak_rss_kb "${!pid_var}")
    check "$name: memory bounded (peak $kb kB, $baseline_kb kB with a good response)" \
        test "$kb" -le $((baseline_kb + 16384))
done
done_testing
