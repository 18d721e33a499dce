#!/bin/bash
# A server that reloads loads its certificates anew each time: new X509
# objects for the same certificates.  After any number of reloads a
# handshake still finds its certificate by its object, at the cost of the
# first: the same locks taken per handshake after 20 reloads as after none
# (counted on the server's handshake thread by a preloaded counter of
# pthread_mutex_lock calls).  Before, past 16 reloads every handshake
# computed the certificate's SHA-256 and took the pool and registry locks.
. "$AS_SRC/tests/lib.sh"

# The counter is preloaded ahead of the library; a sanitizer's runtime must
# come first of all.  The plain run covers it.
sanitized && skip_all "the lock counter and a sanitizer's runtime cannot both be first"

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"
counter=$T/locks
PORT=$(free_port)
start_bg server env COUNT_LOCKS_FILE="$counter" \
    LD_PRELOAD="$AS_BUILD/tests/count_locks.so:$AS_SHIM" "$FIXTURE_SERVER" -port "$PORT" \
    -max-seconds 120 -reload-on-hup -cert "$AS_PKI/leaf-rsa.pem" -key "$AS_PKI/leaf-rsa.key" \
    -chain "$AS_PKI/chain.pem"
wait_for_log "$T/server.log" '^ready' 10 || _as_infra_fail "fixture" "$T/server.log"
wait_for_staple good "$PORT" 10 || _as_infra_fail "first staple" "$T/server.log"

locks() { od -An -tu8 "$counter" | tr -d ' '; }
# per_handshake: the locks taken on the handshake thread by 20 handshakes,
# per handshake (two decimals), in PER; their staples, counted, in STAPLES
per_handshake() {
    local before after
    before=$(locks)
    STAPLES=$(staples_of "$PORT" 20 | tr ' ' '\n' | sort | uniq -c | tr -s ' \n' ' ')
    after=$(locks)
    PER=$(awk -v a="$before" -v b="$after" 'BEGIN { printf "%.2f", (b - a) / 20 }')
}
reloads() { grep -c '^fixture_server: reloaded' "$T/server.log"; }
more_reloads_than() { [ "$(reloads)" -gt "$1" ]; }

per_handshake
fresh=$PER
is "$STAPLES" " 20 good " "before any reload: every handshake stapled"
check "the counter counts ($fresh locks per handshake)" awk -v f="$fresh" 'BEGIN { exit !(f >= 1) }'
for i in $(seq 1 20); do
    n=$(reloads)
    kill -HUP "$server_PID"
    eventually 10 more_reloads_than "$n" || _as_infra_fail "reload $i" "$T/server.log"
done
per_handshake
reloaded=$PER
is "$STAPLES" " 20 good " "after 20 reloads: every handshake stapled"
is "$reloaded" "$fresh" "after 20 reloads: the same locks per handshake as before any"
done_testing
