#!/bin/bash
# Servers linked against an OpenSSL with no symbol versions, as vendors
# often build it (tests/helpers/unversion.py makes such copies of Debian
# 11's 1.1.1 and of the system's OpenSSL 3): the program asks for no
# version, glibc binds it to either family of hooks (shim/preload.c), and
# the library must still find the real functions and load the core of the
# ABI the program actually maps.  Load paths, a forking server, a revoked
# certificate, curl --cert-status, an https responder.
. "$AS_SRC/tests/lib.sh"

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"

# maps_have PID PATTERN...: every PATTERN is in PID's mapped files.
maps_have() {
    local maps p
    maps=$(cat "/proc/$1/maps" 2>/dev/null) || return 1
    shift
    for p in "$@"; do [[ $maps == *"$p"* ]] || { diag "no $p mapped"; return 1; }; done
}

# start_u NAME ARGS...: the fixture server for this ABI (start_fixture_server,
# whose check of the 1.1 core applies to the 1.1 one only), with its
# RUNPATH's libraries: LD_LIBRARY_PATH, which would come first, is emptied.
start_u() {
    local name=$1
    shift
    AS_OPENSSL=$abi FIXTURE_SERVER=$server start_fixture_server "$name" LD_LIBRARY_PATH= "$@"
}

for abi in 1.1 3; do
    server=$AS_BUILD/tests/fixture_server-${abi}u lib=$AS_BUILD/tests/unversioned-$abi
    core=libautostaple-core-1.1.so other=libautostaple-core.so
    [ "$abi" = 3 ] && core=libautostaple-core.so other=libautostaple-core-1.1.so
    # What makes the case: the program's references and the library's
    # definitions carry no version.
    like "$(readelf --dyn-syms -W "$server" | awk '$8 ~ /^SSL_CTX_new/ { print $8 }')" '^SSL_CTX_new$' \
        "$abi: the program asks for SSL_CTX_new with no version"
    is "$(readelf -d "$lib/libssl.so.$abi" | grep -c VERDEF)" 0 "$abi: its libssl defines no versions"

    for mode in use file ssl chain-file cert-and-key; do
        args=("${FIXTURE_RSA[@]}")
        [ "$mode" = chain-file ] && args=(-cert "$AS_PKI/leaf-rsa-full.pem" -key "$AS_PKI/leaf-rsa.key")
        start_u "u$abi-$mode" "${args[@]}" -load "$mode"
        check "$abi unversioned, -load $mode: staples a good response" wait_for_staple good "$PORT" 5
        check "$abi unversioned, -load $mode: curl --cert-status accepts it" curl_verify "$PORT" good.test
        [ "$mode" = use ] &&
            check "$abi unversioned: its core ($core) and its libssl are mapped, not the other core" \
                eval 'maps_have "$BG_PID" "$lib/libssl.so.$abi" "$core" && ! maps_have "$BG_PID" "$other" 2>/dev/null'
        stop_bg "u$abi-$mode"
    done
    start_u "u$abi-prefork" "${FIXTURE_RSA[@]}" -prefork 2 -user nobody
    is "$(staples_of "$PORT" 4)" "good good good good" "$abi unversioned, 2 workers: every handshake stapled"
    stop_bg "u$abi-prefork"
    start_u "u$abi-revoked" -cert "$AS_PKI/leaf-revoked.pem" \
        -key "$AS_PKI/leaf-revoked.key" -chain "$AS_PKI/chain.pem"
    check "$abi unversioned, revoked: the revocation is stapled" wait_for_staple revoked "$PORT" 5
    check_fails "$abi unversioned, revoked: curl --cert-status refuses the connection" \
        curl_verify "$PORT" revoked.test
    stop_bg "u$abi-revoked"

    # An https responder: libcurl (linked to the host's OpenSSL 3) must do
    # its handshake with its own OpenSSL, not bind to the program's
    # unversioned one (shim/fetch.c, RTLD_DEEPBIND; the 1.1 server crashed
    # at its first fetch).  The responder's certificate is the test CA's,
    # which libcurl does not trust: the fetch fails, saying why.
    if sanitized; then
        skip "$abi unversioned, https responder: sanitizer runtimes refuse RTLD_DEEPBIND" 3
    else
        tls_port=$(free_port)
        start_bg "tls$abi" timeout 60 openssl s_server -www -accept "127.0.0.1:$tls_port" \
            -cert "$AS_PKI/leaf-rsa.pem" -key "$AS_PKI/leaf-rsa.key"
        wait_for_port "$tls_port" 10 || _as_infra_fail "https endpoint starts" "$T/tls$abi.log"
        start_u "u$abi-https" AUTOSTAPLE_RESPONDER="https://127.0.0.1:$tls_port/" "${FIXTURE_RSA[@]}"
        check "$abi unversioned, https responder: the fetch's handshake is made and fails on the untrusted certificate" \
            wait_for_log "$T/u$abi-https.log" "OCSP from https://127\.0\.0\.1:$tls_port/ failed: SSL peer certificate" 10
        check "$abi unversioned, https responder: the server lives on" kill -0 "$BG_PID"
        check "$abi unversioned, https responder: and serves" \
            timeout 10 curl -sSk --resolve "good.test:$PORT:127.0.0.1" -o /dev/null "https://good.test:$PORT/"
        stop_bg "u$abi-https"
        stop_bg "tls$abi"
    fi
done
done_testing
