#!/bin/bash
# Unmodified nginx (Debian's package) with its own stapling off, under the
# shim: single process, and a master with workers (which fork after the
# certificates are loaded).  Skipped only if nginx is not installed.
. "$AS_SRC/tests/lib.sh"
[ -x /usr/sbin/nginx ] || skip_all "nginx is not installed (make check installs nginx-light)"

start_openssl_ocsp "$OCSP_PORT" "$AS_PKI/index.txt"

for workers in 0 2; do
    name=nginx-w$workers
    PORT=$(free_port)
    mkdir -p "$T/$name"
    start_bg "$name" with_shim "$AS_SRC/tests/servers/nginx.sh" "$T/$name" "$PORT" \
        "$AS_PKI/leaf-rsa-full.pem" "$AS_PKI/leaf-rsa.key" "$workers"
    wait_for_port "$PORT" 15 || _as_infra_fail "$name starts" "$T/$name.log"
    _as_check_abi "$BG_PID" "$name"
    check "$name: staples a good response within 5 s" wait_for_staple good "$PORT" 5
    check "$name: curl --cert-status accepts it" eventually 5 curl_verify "$PORT" good.test
    like "$(cat "$T/curl.body" 2>/dev/null)" "hello" "$name: and gets the page"
    ok=1
    for i in 1 2 3 4 5 6; do curl_verify "$PORT" good.test 2>/dev/null || ok=0; done
    is "$ok" 1 "$name: six more handshakes all verify"
    like "$(grep -m1 autostaple "$T/$name/error.log" "$T/$name.log" 2>/dev/null)" \
        "stapling from http://127.0.0.1:$OCSP_PORT/" "$name: the shim's log line is there"
done
done_testing
