#!/bin/bash
# What the shim must leave alone: TLS clients behave exactly as without it,
# processes that load no server certificate get no thread, no fetch, no
# output and no extra libraries; and how configuration is taken (disable, a
# bad value, a log file, a log level, a proxy).
. "$AS_SRC/tests/lib.sh"

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"

# A server that staples by itself (no shim), for the clients.
mkresp_for leaf-rsa "$T/good.der"
SPORT=$(free_port)
start_bg stapler openssl s_server -accept "127.0.0.1:$SPORT" -www -status_file "$T/good.der" \
    -cert "$AS_PKI/leaf-rsa.pem" -key "$AS_PKI/leaf-rsa.key" -cert_chain "$AS_PKI/chain.pem"
wait_for_port "$SPORT" 10 || _as_infra_fail "stapling s_server starts" "$T/stapler.log"

client() { timeout 15 "$FIXTURE_CLIENT" -port "$SPORT" -CAfile "$AS_PKI/root.pem" "$@" 2>&1; }
for method in client generic; do
    for extra in "" "-status" "-status -own-cb accept" "-status -own-cb reject"; do
        # shellcheck disable=SC2086
        plain=$(client -method "$method" $extra)
        # shellcheck disable=SC2086
        shimmed=$(AUTOSTAPLE_LOG_LEVEL=debug with_shim "$FIXTURE_CLIENT" -port "$SPORT" \
            -CAfile "$AS_PKI/root.pem" -method "$method" $extra 2>&1)
        is "$shimmed" "$plain" "TLS client ($method method${extra:+, $extra}) behaves as without the shim"
    done
done
like "$(client -method generic -status -own-cb accept)" "client-cb: staple [0-9]+ bytes" \
    "(the client's own status callback does run)"
like "$(client -method generic -status -own-cb reject)" "handshake: failed" \
    "(and its rejection does fail the handshake)"

# A QUIC client (OpenSSL 3.2 and later; Debian 13's curl speaks HTTP/3
# through it) is a client: the core is not loaded for it.
out=$(with_shim "$FIXTURE_CLIENT" -port 1 -method quic 2>&1)
if [ "$out" = "quic context: not in this OpenSSL" ]; then
    skip "no QUIC in OpenSSL $(openssl version | cut -d' ' -f2)" 1
else
    is "$out" "quic context: core not loaded" "a QUIC client context: the library's core stays out"
fi

# A client certificate in a generic-method context is not a server's: no
# fetch, no output.
MPORT=$(free_port)
start_bg mtls "$FIXTURE_SERVER" -port "$MPORT" -max-seconds 120 -cert "$AS_PKI/leaf-rsa.pem" \
    -key "$AS_PKI/leaf-rsa.key" -chain "$AS_PKI/chain.pem" -verify-client "$AS_PKI/ca-bundle.pem"
wait_for_log "$T/mtls.log" '^ready' 10
before=$(count_requests "$OCSP_LOG")
out=$(AUTOSTAPLE_LOG_LEVEL=debug with_shim "$FIXTURE_CLIENT" -port "$MPORT" -method generic \
    -CAfile "$AS_PKI/root.pem" -cert "$AS_PKI/leaf-client.pem" -key "$AS_PKI/leaf-client.key" 2>&1)
like "$out" "handshake: ok" "mutual TLS client under the shim connects"
unlike "$out" "autostaple" "mutual TLS client: nothing from the shim"
sleep 1
is "$(count_requests "$OCSP_LOG")" "$before" "mutual TLS client: its certificate causes no fetch"

# Processes that never load a server certificate.
maps=$(with_shim bash -c 'cat /proc/$$/maps')
like "$maps" "libautostaple\.so" "a shell under the shim has the shim mapped"
unlike "$maps" "libssl|libcrypto|libcurl|libautostaple-core" \
    "but no libssl, libcrypto, libcurl or core because of it"
is "$(with_shim sh -c 'echo quiet' 2>&1)" "quiet" "and prints nothing of its own"

start_bg holder bash -c "sleep 20 | LD_PRELOAD='$AS_SHIM' AUTOSTAPLE_LOG_LEVEL=debug \
    openssl s_client -connect 127.0.0.1:$SPORT -status"
wait_for_log "$T/holder.log" "Verify return code|OCSP Response Status" 10
cpid=$(pgrep -f "^openssl s_client -connect 127.0.0.1:$SPORT -status" | head -n1)
if [ -n "$cpid" ]; then
    cmaps=$(cat "/proc/$cpid/maps")
    like "$cmaps" "libautostaple\.so" "a connected s_client has the shim mapped"
    unlike "$cmaps" "libcurl|libautostaple-core" "but neither libcurl nor the core"
    is "$(cat /proc/"$cpid"/task/*/comm | grep -c autostaple)" 0 "and no refresher thread"
else
    fail "s_client found"
fi
unlike "$(cat "$T/holder.log")" "autostaple\[" "s_client: no output from the shim"

start_shim_s_server disabled leaf-rsa AUTOSTAPLE_DISABLE=1
sleep 2
is "$(staple_of "$PORT")" none "AUTOSTAPLE_DISABLE=1: no staple"
unlike "$(cat "$T/disabled.log")" "autostaple" "AUTOSTAPLE_DISABLE=1: no output"
unlike "$(cat "/proc/$disabled_PID/maps")" "libautostaple-core" "AUTOSTAPLE_DISABLE=1: core not loaded"

start_shim_s_server badvalue leaf-rsa AUTOSTAPLE_TIMEOUT=banana AUTOSTAPLE_LOG_LEVEL=sometimes
check "a bad value: the server still staples" wait_for_staple good "$PORT" 5
is "$(grep -c 'AUTOSTAPLE_TIMEOUT="banana" is not valid (seconds from 1 to 120); using the default 10' \
    "$T/badvalue.log")" 1 "a bad value: one warning naming the variable and the default"
is "$(grep -c 'AUTOSTAPLE_LOG_LEVEL="sometimes" is not valid' "$T/badvalue.log")" 1 \
    "a bad log level: one warning too"

start_shim_s_server logfile leaf-rsa AUTOSTAPLE_LOG="$T/shim.log"
check "AUTOSTAPLE_LOG=file: staples" wait_for_staple good "$PORT" 5
check "AUTOSTAPLE_LOG=file: lines go to the file" wait_for_log "$T/shim.log" 'stapling a good response' 5
unlike "$(cat "$T/logfile.log")" "autostaple" "AUTOSTAPLE_LOG=file: and not to stderr"

start_shim_s_server errorsonly leaf-rsa AUTOSTAPLE_LOG_LEVEL=error
check "AUTOSTAPLE_LOG_LEVEL=error: staples" wait_for_staple good "$PORT" 5
unlike "$(cat "$T/errorsonly.log")" "autostaple" "AUTOSTAPLE_LOG_LEVEL=error: a good run prints nothing"

# libcurl's proxy variables apply.
start_fake proxy 0 file -file "$T/good.der"
dead=$(free_port)
start_shim_s_server proxied leaf-rsa http_proxy="http://127.0.0.1:$FAKE_PORT" AUTOSTAPLE_RESPONDER="http://127.0.0.1:$dead/"
check "http_proxy: staples through the proxy" wait_for_staple good "$PORT" 5
like "$(head -n1 "$FAKE_LOG")" "^GET http://127\.0\.0\.1:$dead/" "http_proxy: the proxy got the request"
done_testing
