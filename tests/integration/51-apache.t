#!/bin/bash
# Unmodified Apache httpd (Debian's package, prefork) with SSLUseStapling
# off, under the shim.  Children fork after the certificates are loaded.
. "$AS_SRC/tests/lib.sh"
[ -x /usr/sbin/apache2 ] || skip_all "apache2 is not installed (make check installs it)"

start_openssl_ocsp "$OCSP_PORT" "$AS_PKI/index.txt"

PORT=$(free_port)
mkdir -p "$T/apache"
start_bg apache with_shim "$AS_SRC/tests/servers/apache.sh" "$T/apache" "$PORT" \
    "$AS_PKI/leaf-rsa-full.pem" "$AS_PKI/leaf-rsa.key"
wait_for_port "$PORT" 15 || _as_infra_fail "apache starts" "$T/apache.log"
_as_check_abi "$BG_PID" apache
check "apache: staples a good response within 5 s" wait_for_staple good "$PORT" 5
check "apache: curl --cert-status accepts it" eventually 5 curl_verify "$PORT" good.test
sleep 2
ok=1
for i in 1 2 3 4 5 6 7 8; do curl_verify "$PORT" good.test 2>/dev/null || ok=0; done
is "$ok" 1 "apache: eight more handshakes (any child) all verify"
like "$(cat "$T/apache.log" "$T/apache/"*log 2>/dev/null | grep -m1 autostaple)" \
    "stapling from http://127.0.0.1:$OCSP_PORT/" "apache: the shim's log line is there"
done_testing
