#!/bin/bash
# A TLS client linked against OpenSSL 1.1 (Debian 11's openssl s_client) is
# left alone as a 3.x one is (tests/integration/60-bystanders.t): the same
# output and verdict on the server's staple as without the library, nothing
# written by it, and no core, libcurl or thread of ours mapped.
. "$AS_SRC/tests/lib.sh"

# A server that staples by itself (OpenSSL 3's s_server, no library).
mkresp_for leaf-rsa "$T/good.der"
SPORT=$(free_port)
start_bg stapler openssl s_server -accept "127.0.0.1:$SPORT" -www -status_file "$T/good.der" \
    -cert "$AS_PKI/leaf-rsa.pem" -key "$AS_PKI/leaf-rsa.key" -cert_chain "$AS_PKI/chain.pem"
wait_for_port "$SPORT" 10 || _as_infra_fail "stapling s_server starts" "$T/stapler.log"

c11=("$AS_OPENSSL11/usr/bin/openssl" s_client -connect "127.0.0.1:$SPORT" -CAfile "$AS_PKI/root.pem")
# what s_client (1.1) says of the staple and the chain, and anything of ours
# (once each: TLS 1.3 tickets that arrive before it exits repeat the verdict)
said() { grep -E 'OCSP Response Status|Cert Status|Verify return code|^autostaple\[' "$1" | sed 's/^ *//' | sort -u; }
for args in "-status" "-status -tls1_2" ""; do
    # shellcheck disable=SC2086
    echo | timeout 15 "${c11[@]}" $args >"$T/plain.out" 2>&1
    # shellcheck disable=SC2086
    echo | AUTOSTAPLE_LOG_LEVEL=debug LD_PRELOAD="$AS_SHIM" timeout 15 "${c11[@]}" $args >"$T/shim.out" 2>&1
    is "$(said "$T/shim.out")" "$(said "$T/plain.out")" \
        "1.1 s_client${args:+ $args}: the same staple verdict and chain as without the library"
done
like "$(said "$T/plain.out")" "Verify return code: 0" "(and s_client verified the chain)"
echo | timeout 15 "${c11[@]}" -status >"$T/plain.out" 2>&1
like "$(said "$T/plain.out")" "Cert Status: good" "(and saw the server's good staple)"

# Held open: what it maps.
start_bg held env AUTOSTAPLE_LOG_LEVEL=debug LD_PRELOAD="$AS_SHIM" "${c11[@]}" -ign_eof -quiet
check "a connected 1.1 s_client under the library" eventually 5 grep -q libssl.so.1.1 "/proc/$held_PID/maps"
maps=$(cat "/proc/$held_PID/maps")
like "$maps" "libautostaple\.so" "it has the library mapped"
unlike "$maps" "libcurl|libautostaple-core" "but no core and no libcurl"
is "$(ls "/proc/$held_PID/task" | wc -l)" 1 "and no thread but its own"
stop_bg held
unlike "$(cat "$T/held.log")" "^autostaple\[" "and nothing written by the library"
done_testing
