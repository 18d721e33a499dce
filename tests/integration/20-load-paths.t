#!/bin/bash
# Every way a server loads its certificate, through our fixture server
# (tests/servers/fixture_server.c): each staples a response curl accepts.
# Also RSA+ECDSA in one context, SNI switching contexts, and a server with
# its own status callback.
. "$AS_SRC/tests/lib.sh"

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"

# serial LEAF: the certificate's serial as s_client's OCSP dump prints it
stapled_serial() { grep -m1 -oE 'Serial Number: [0-9A-F]+' "$T/staple_of.out" | sed 's/^Serial Number: //'; }

full=(-cert "$AS_PKI/leaf-rsa-full.pem" -key "$AS_PKI/leaf-rsa.key")

for mode in use file asn1 ssl ssl-file cert-and-key; do
    start_fixture_server "$mode" "${FIXTURE_RSA[@]}" -load "$mode"
    check "$mode: staples a good response" wait_for_staple good "$PORT" 5
    check "$mode: curl --cert-status accepts it" curl_verify "$PORT" good.test
done
for mode in chain-file ssl-chain-file conf; do
    start_fixture_server "$mode" "${full[@]}" -load "$mode"
    check "$mode: staples a good response" wait_for_staple good "$PORT" 5
    check "$mode: curl --cert-status accepts it" curl_verify "$PORT" good.test
done
# Each path is seen by its hook, not learned lazily from a first handshake
# (which would go unstapled): a hook bypassed on some OpenSSL fails here.
for mode in use file asn1 ssl ssl-file cert-and-key chain-file ssl-chain-file conf; do
    is "$(grep -c 'stapling from' "$T/$mode.log") $(grep -c 'seen in a handshake' "$T/$mode.log")" \
        "1 0" "$mode: the certificate is learned once, as it is loaded"
done
is "$(grep -c 'stapling from' "$T/file.log")" 1 "registering the same certificate twice is harmless"

# RSA and ECDSA certificates in one context: each handshake gets the response
# for the certificate it was served.
start_fixture_server dual "${FIXTURE_RSA[@]}" -cert2 "$AS_PKI/leaf-ec.pem" -key2 "$AS_PKI/leaf-ec.key"
check "dual: ECDSA handshake (TLS 1.3) staples" wait_for_staple good "$PORT" 5 "" -sigalgs ECDSA+SHA256
is "$(stapled_serial)" "$(serial leaf-ec)" "dual: with the ECDSA certificate's response"
check "dual: RSA handshake (TLS 1.3) staples" wait_for_staple good "$PORT" 5 "" -sigalgs RSA-PSS+SHA256
is "$(stapled_serial)" "$(serial leaf-rsa)" "dual: with the RSA certificate's response"
check "dual: curl with an ECDSA suite (TLS 1.2) verifies" \
    curl_verify "$PORT" good.test --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256
check "dual: curl with an RSA suite (TLS 1.2) verifies" \
    curl_verify "$PORT" good.test --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256

# SNI: the servername callback switches to another context.
start_fixture_server sni "${FIXTURE_RSA[@]}" \
    -sni "sni.test:$AS_PKI/leaf-sni.pem:$AS_PKI/leaf-sni.key:$AS_PKI/chain.pem"
check "sni: the switched-to context staples" wait_for_staple good "$PORT" 5 sni.test
is "$(stapled_serial)" "$(serial leaf-sni)" "sni: its own certificate's response"
check "sni: the default context staples" wait_for_staple good "$PORT" 5 good.test
is "$(stapled_serial)" "$(serial leaf-rsa)" "sni: the default certificate's response"
check "sni: curl verifies sni.test" curl_verify "$PORT" sni.test
check "sni: curl verifies good.test" curl_verify "$PORT" good.test

# The same from a list file (-sni-list, how bench/scale.sh loads thousands):
# names are looked up case-insensitively, the first of two equal names wins.
{
    echo "# comment"
    echo "SNI.test:$AS_PKI/leaf-sni.pem:$AS_PKI/leaf-sni.key:$AS_PKI/chain.pem"
    echo
    echo "sni.TEST:$AS_PKI/leaf-ec.pem:$AS_PKI/leaf-ec.key:$AS_PKI/chain.pem"
} >"$T/sni.list"
start_fixture_server sni-list "${FIXTURE_RSA[@]}" -sni-list "$T/sni.list"
check "sni-list: the switched-to context staples" wait_for_staple good "$PORT" 5 sni.test
is "$(stapled_serial)" "$(serial leaf-sni)" "sni-list: the first context of that name, with its response"

for v in 1.2 1.3; do
    start_fixture_server "tls$v" "${FIXTURE_RSA[@]}" -tls "$v"
    check "TLS $v only: staples" wait_for_staple good "$PORT" 5
    check "TLS $v only: curl verifies" curl_verify "$PORT" good.test
done

# The server's own status callback: its staple wins; when it staples nothing,
# ours fills in; a fatal answer stays fatal, as without the shim.
mkresp_for leaf-rsa "$T/own.der" -status revoked
start_fixture_server own-staple "${FIXTURE_RSA[@]}" -own-cb "staple:$T/own.der"
sleep 1
is "$(staple_of "$PORT")" revoked "own callback that staples: the server's response wins"
start_fixture_server own-nostaple "${FIXTURE_RSA[@]}" -own-cb nostaple
check "own callback returning OK without a response: ours fills in" wait_for_staple good "$PORT" 5
start_fixture_server own-nack "${FIXTURE_RSA[@]}" -own-cb nack
check "own callback returning NOACK: ours fills in" wait_for_staple good "$PORT" 5
start_fixture_server own-fatal "${FIXTURE_RSA[@]}" -own-cb fatal
sleep 1
is "$(staple_of "$PORT")" error "own callback returning a fatal error: the handshake fails"
PORT2=$(free_port)
start_bg own-fatal-plain "$FIXTURE_SERVER" -port "$PORT2" -max-seconds 60 "${FIXTURE_RSA[@]}" -own-cb fatal
wait_for_log "$T/own-fatal-plain.log" '^ready' 10
is "$(staple_of "$PORT2")" error "as it does without the shim"
done_testing
