#!/bin/bash
# `autostaple --` runs a program linked against OpenSSL 1.1 (Debian 11's
# openssl s_server) instead of refusing it, and it staples from its first
# handshake.  (tests/integration/15-command.t: the refusal when the 1.1
# core is not installed, and of OpenSSL older than 1.1.)
. "$AS_SRC/tests/lib.sh"

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"
PORT=$(free_port)
start_bg served "$AS_BUILD/autostaple" --log-level debug -- "${S_SERVER[@]}" \
    -accept "127.0.0.1:$PORT" -www -cert "$AS_PKI/leaf-rsa.pem" -key "$AS_PKI/leaf-rsa.key" \
    -cert_chain "$AS_PKI/chain.pem"
wait_for_port "$PORT" 10 || _as_infra_fail "autostaple -- s_server (1.1) starts" "$T/served.log"
_as_check_abi "$served_PID" "autostaple -- s_server"
is "$(staple_of "$PORT")" good "autostaple -- Debian 11's s_server: the first handshake is stapled"
check "curl --cert-status accepts it" curl_verify "$PORT" good.test
check "--log-level debug reached the 1.1 core" grep -q '^autostaple\[openssl [0-9]*\]: debug: ' "$T/served.log"
stop_bg served
done_testing
