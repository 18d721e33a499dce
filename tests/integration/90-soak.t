#!/bin/bash
# Issue 4, soak: a threaded fixture server with 16 certificates takes
# thousands of concurrent handshakes while the refresher replaces their
# responses many times a second (valid 3 s each, so every certificate is
# refreshed about every 1.5 s).  Every staple must be one a strict client
# accepts, handshakes must not fail, and the server must not report anything
# (the suite runs this under ASan+UBSan and TSan too: a report kills it).
. "$AS_SRC/tests/lib.sh"

HAMMER=$AS_BUILD/tests/hammer
CERTS=16
SECONDS_OF_LOAD=20

make_leaves $((CERTS - 1)) "$T/leaves"
names=()
for ((i = 1; i < CERTS; i++)); do names+=(-name "host$i.test"); done
start_signing_responder signer 3
signer_log=$FAKE_LOG

PORT=$(free_port)
start_bg soak env AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" AUTOSTAPLE_RETRY_MIN=1 \
    AUTOSTAPLE_LOG_LEVEL=info LD_PRELOAD="$AS_SHIM" \
    "$FIXTURE_SERVER" -port "$PORT" -threads 8 -max-seconds 120 \
    -cert "$AS_PKI/leaf-ec.pem" -key "$AS_PKI/leaf-ec.key" -chain "$AS_PKI/chain.pem" \
    "${SNI_ARGS[@]}"
wait_for_log "$T/soak.log" '^ready' 15 || _as_infra_fail "fixture server starts" "$T/soak.log"
check "soak: the first certificate is stapled" wait_for_staple good "$PORT" 10 good.test
check "soak: the last certificate is stapled" wait_for_staple good "$PORT" 10 "host$((CERTS - 1)).test"

before=$(count_requests "$signer_log")
start=$(date +%s)
out=$("$HAMMER" -port "$PORT" -CAfile "$AS_PKI/root.pem" -issuer "$AS_PKI/inter.pem" \
    -threads 16 -seconds "$SECONDS_OF_LOAD" "${names[@]}" -name good.test 2>"$T/hammer.err")
rc=$?
elapsed=$(($(date +%s) - start))
fetched=$(($(count_requests "$signer_log") - before))
note "hammer: $out in $elapsed s; $fetched responses fetched meanwhile"
[ -s "$T/hammer.err" ] && diag_file "$T/hammer.err" 10
read -r _ handshakes _ stapled _ unstapled _ bad _ failed <<<"$out"

is "$rc" 0 "soak: the client saw no bad staple and no failed handshake"
is "${bad:-x}" 0 "soak: no staple a strict client would reject"
is "${failed:-x}" 0 "soak: no handshake failed"
check "soak: thousands of handshakes (${handshakes:-0})" test "${handshakes:-0}" -ge 2000
# A response can only lapse unrefreshed if the refresher falls behind; allow
# a sliver for a loaded sanitizer run.
check "soak: nearly all stapled (${stapled:-0} of ${handshakes:-0})" \
    test $((${stapled:-0} * 100)) -ge $((${handshakes:-1} * 99))
check "soak: responses replaced many times a second ($fetched in $elapsed s)" \
    test "$fetched" -ge $((elapsed * 5))
check "soak: the server is still running" kill -0 "$soak_PID"
unlike "$(cat "$T/soak.log")" "Sanitizer|runtime error|autostaple.*: (error|warning):" \
    "soak: no sanitizer report, no error or warning in the server's log"
stop_bg soak

# The checker itself: a server that staples another certificate's response
# (openssl s_server -status_file, no shim) must be caught.
mkresp_for leaf-sni "$T/other.der"
PORT=$(free_port)
start_bg other openssl s_server -accept "127.0.0.1:$PORT" -cert "$AS_PKI/leaf-rsa.pem" \
    -key "$AS_PKI/leaf-rsa.key" -cert_chain "$AS_PKI/chain.pem" -status_file "$T/other.der" -www
wait_for_port "$PORT" 10 || _as_infra_fail "s_server starts" "$T/other.log"
out=$("$HAMMER" -port "$PORT" -CAfile "$AS_PKI/root.pem" -issuer "$AS_PKI/inter.pem" \
    -threads 2 -seconds 1 2>"$T/hammer-other.err")
rc=$?
is "$rc" 1 "control: the client fails on a wrong staple ($out)"
like "$(cat "$T/hammer-other.err")" "bad staple: no single response for the served certificate" \
    "control: and says why"
done_testing
