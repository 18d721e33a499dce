#!/bin/bash
# Issue 3, reloads: a server that re-reads its configuration keeps stapling
# without a gap, does not refetch a certificate it already has, picks up a
# new certificate and forgets the one it no longer uses.
. "$AS_SRC/tests/lib.sh"

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"
stapled_serial() {
    staple_of "$1" >/dev/null
    grep -m1 -oE 'Serial Number: [0-9A-F]+' "$T/staple_of.out" | sed 's/^Serial Number: //'
}
requests() { count_requests "$OCSP_LOG"; }
# use LEAF: make $T/cert.pem (leaf + chain) and $T/key.pem that LEAF's
use() { cat "$AS_PKI/$1-full.pem" >"$T/cert.pem.new" && mv "$T/cert.pem.new" "$T/cert.pem"
        cp "$AS_PKI/$1.key" "$T/key.pem.new" && mv "$T/key.pem.new" "$T/key.pem"; }
serves() { test "$(stapled_serial "$1")" = "$2"; }   # serves PORT SERIAL
reloads() { test "$(grep -c 'reloaded' "$1")" -ge "$2"; }  # reloads LOG N
first8() { local r='' i; for i in 1 2 3 4 5 6 7 8; do r="$r $(stapled_serial "$1")"; done; echo "${r# }"; }
eight() { echo "$1 $1 $1 $1 $1 $1 $1 $1"; }

# Our fixture: SIGHUP rebuilds its contexts from the files.
use leaf-rsa
PORT=$(free_port)
start_bg fixture env AUTOSTAPLE_LOG_LEVEL=debug LD_PRELOAD="$AS_SHIM" "$FIXTURE_SERVER" \
    -port "$PORT" -max-seconds 120 -load chain-file -cert "$T/cert.pem" -key "$T/key.pem" \
    -reload-on-hup
wait_for_log "$T/fixture.log" '^ready' 10 || _as_infra_fail "fixture starts" "$T/fixture.log"
is "$(stapled_serial "$PORT")" "$(serial leaf-rsa)" "fixture: stapled before the reload"
before=$(requests)
kill -HUP "$fixture_PID"
wait_for_log "$T/fixture.log" 'reloaded' 10
is "$(stapled_serial "$PORT")" "$(serial leaf-rsa)" "fixture, same certificate: stapled right after the reload"
is "$(requests)" "$before" "fixture, same certificate: not fetched again"
use leaf-sni
kill -HUP "$fixture_PID"
check "fixture, new certificate: reloaded" eventually 10 reloads "$T/fixture.log" 2
check "fixture, new certificate: stapled" eventually 5 serves "$PORT" "$(serial leaf-sni)"
is "$(($(requests) - before))" 1 "fixture, new certificate: one fetch, for it"
check "fixture: the replaced certificate is forgotten" \
    wait_for_log "$T/fixture.log" "certificate /CN=good.test is no longer used by the server" 5

# nginx, 4 workers: SIGHUP to the master re-reads the configuration and
# replaces the workers.
if [ -x /usr/sbin/nginx ]; then
    use leaf-rsa
    PORT=$(free_port)
    mkdir -p "$T/nginx"
    start_bg nginx env AUTOSTAPLE_LOG_LEVEL=debug LD_PRELOAD="$AS_SHIM" \
        "$AS_SRC/tests/servers/nginx.sh" "$T/nginx" "$PORT" "$T/cert.pem" "$T/key.pem" 4
    wait_for_port "$PORT" 15 || _as_infra_fail "nginx starts" "$T/nginx.log"
    rsa=$(serial leaf-rsa) sni=$(serial leaf-sni)
    is "$(first8 "$PORT")" "$(eight "$rsa")" "nginx: stapled before the reload"
    before=$(requests)
    kill -HUP "$nginx_PID"
    sleep 1
    is "$(first8 "$PORT")" "$(eight "$rsa")" "nginx, same certificate: every handshake stapled after the reload"
    is "$(requests)" "$before" "nginx, same certificate: not fetched again"
    use leaf-sni
    kill -HUP "$nginx_PID"
    check "nginx, new certificate: served" eventually 10 serves "$PORT" "$sni"
    sleep 1
    is "$(first8 "$PORT")" "$(eight "$sni")" "nginx, new certificate: every handshake stapled with its response"
    is "$(($(requests) - before))" 1 "nginx, new certificate: one fetch for 4 new workers"
    check "nginx: the replaced certificate is forgotten" \
        wait_for_log "$T/nginx/error.log" "certificate /CN=good.test is no longer used by the server" 5
else
    skip "nginx is not installed" 7
fi

# Apache: a graceful restart (SIGUSR1) with the same certificate.
if [ -x /usr/sbin/apache2 ]; then
    use leaf-rsa
    PORT=$(free_port)
    mkdir -p "$T/apache"
    start_bg apache env LD_PRELOAD="$AS_SHIM" "$AS_SRC/tests/servers/apache.sh" "$T/apache" \
        "$PORT" "$T/cert.pem" "$T/key.pem"
    wait_for_port "$PORT" 15 || _as_infra_fail "apache starts" "$T/apache.log"
    is "$(first8 "$PORT")" "$(eight "$(serial leaf-rsa)")" "Apache: stapled before the graceful restart"
    before=$(requests)
    kill -USR1 "$apache_PID"
    sleep 2
    is "$(first8 "$PORT")" "$(eight "$(serial leaf-rsa)")" "Apache, graceful restart: every handshake stapled"
    is "$(requests)" "$before" "Apache, graceful restart: not fetched again"
else
    skip "apache2 is not installed" 3
fi
done_testing
