#!/bin/bash
# An unmodified `openssl s_server` under the shim, with a real OCSP responder
# at the certificate's AIA URL: good, revoked, unknown and no-AIA
# certificates, TLS 1.2 and 1.3, checked with s_client, curl --cert-status and gnutls-cli.
. "$AS_SRC/tests/lib.sh"

start_openssl_ocsp "$OCSP_PORT" "$AS_PKI/index.txt"

# Control: the same server without the shim staples nothing.
PORT=$(free_port)
start_bg plain "${S_SERVER[@]}" -accept "127.0.0.1:$PORT" -www \
    -cert "$AS_PKI/leaf-rsa.pem" -key "$AS_PKI/leaf-rsa.key" -cert_chain "$AS_PKI/chain.pem"
wait_for_port "$PORT" 10
is "$(staple_of "$PORT")" none "without the shim, s_server staples nothing"
check_fails "and curl --cert-status refuses it" curl_verify "$PORT" good.test
stop_bg plain

start_shim_s_server good leaf-rsa
check "good: s_client sees a good staple within 5 s" wait_for_staple good "$PORT" 5
check "good: curl --cert-status accepts the handshake" curl_verify "$PORT" good.test
check "and gets the page" test -s "$T/curl.body"
check "good: TLS 1.2 staples" wait_for_staple good "$PORT" 2 "" -tls1_2
check "good: TLS 1.3 staples" wait_for_staple good "$PORT" 2 "" -tls1_3
check "good: curl over TLS 1.2 verifies the staple" curl_verify "$PORT" good.test --tls-max 1.2
check "good: gnutls-cli verifies the staple and accepts it" gnutls_verify "$PORT"
like "$(cat "$T/gnutls.out")" "Options: .*OCSP status request" "(gnutls-cli received the staple: without one it lists no OCSP status request)"
check "good: a client that does not ask gets no status" \
    bash -c "! timeout 5 openssl s_client -connect 127.0.0.1:$PORT </dev/null 2>&1 | grep -q 'OCSP response'"
like "$(cat "$T/good.log")" "info: certificate /CN=good.test \(loaded\): stapling from http://127.0.0.1:$OCSP_PORT/" \
    "good: the log names the certificate and its responder"
like "$(grep -m1 autostaple "$T/good.log")" "^autostaple\[openssl [0-9]+\]: " \
    "log lines name the program and pid"

start_shim_s_server revoked leaf-revoked
check "revoked: the revocation is stapled" wait_for_staple revoked "$PORT" 5
check_fails "revoked: curl --cert-status refuses the connection" curl_verify "$PORT" revoked.test
like "$(cat "$T/curl.err")" "revocation reason: keyCompromise" "curl says why: revoked"
check_fails "revoked: gnutls-cli refuses the connection" gnutls_verify "$PORT" revoked.test
like "$(cat "$T/gnutls.out")" "revoked via OCSP" "gnutls-cli says why: revoked"
like "$(cat "$T/revoked.log")" "error: certificate /CN=revoked.test is REVOKED" "revoked: logged as an error"

start_shim_s_server unknown leaf-unknown
check "unknown: the refusal is logged" wait_for_log "$T/unknown.log" "response refused: certificate status is unknown" 5
is "$(staple_of "$PORT")" none "unknown: nothing is stapled"

start_shim_s_server noaia leaf-noaia
check "no AIA: the certificate is noted once" wait_for_log "$T/noaia.log" "names no OCSP responder" 5
sleep 1
is "$(staple_of "$PORT")" none "no AIA: nothing is stapled"
is "$(grep -c 'names no OCSP responder' "$T/noaia.log")" 1 "no AIA: one info line, after handshakes too"
is "$(grep -c autostaple "$T/noaia.log")" 1 "no AIA: and nothing else"

# Never stdout: s_server's own output goes to stdout, ours to stderr only.
PORT=$(free_port)
start_bg split bash -c "LD_PRELOAD='$AS_SHIM' exec ${S_SERVER[*]} -accept 127.0.0.1:$PORT -www \
    -cert '$AS_PKI/leaf-rsa.pem' -key '$AS_PKI/leaf-rsa.key' -cert_chain '$AS_PKI/chain.pem' \
    >'$T/split.stdout' 2>'$T/split.stderr'"
check "split: staples" wait_for_staple good "$PORT" 5
check "split: our lines are on stderr" grep -q '^autostaple\[' "$T/split.stderr"
check_fails "split: and never on stdout" grep -q autostaple "$T/split.stdout"
done_testing
