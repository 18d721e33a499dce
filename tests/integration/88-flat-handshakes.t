#!/bin/bash
# The handshake path stays flat: the locks a handshake takes (counted on
# the server's handshake thread by a preloaded counter of pthread_mutex_lock
# calls) are the same
#  - after 20 reloads as after none: a server that reloads loads its
#    certificates anew each time, as new X509 objects, and a handshake
#    still finds its certificate by its object (before, past 16 reloads,
#    every handshake computed the certificate's SHA-256 and took the pool
#    and registry locks);
#  - in a worker whose master refreshes, however long it runs: it watches
#    for the master's end without the registry lock (before, one handshake
#    a second took it).
. "$AS_SRC/tests/lib.sh"

# The counter is preloaded ahead of the library; a sanitizer's runtime must
# come first of all.  The plain run covers it.
sanitized && skip_all "the lock counter and a sanitizer's runtime cannot both be first"

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"
counter=$T/locks
# The fixture's environment: the counter, ahead of the library.
counting=(COUNT_LOCKS_FILE="$counter" LD_PRELOAD="$AS_BUILD/tests/count_locks.so:$AS_SHIM")
: >"$counter"
start_fixture_server server "${counting[@]}" -reload-on-hup "${FIXTURE_RSA[@]}"
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
stop_bg server

# A worker (forked by its master, which refreshes) over 5 s of handshakes
# 0.25 s apart, then 20 back to back.
: >"$counter"
start_fixture_server prefork "${counting[@]}" -prefork 1 "${FIXTURE_RSA[@]}"
wait_for_log "$T/prefork.log" 'worker .* ready' 10 || _as_infra_fail "prefork fixture" "$T/prefork.log"
wait_for_staple good "$PORT" 10 || _as_infra_fail "first staple" "$T/prefork.log"
per_handshake
quick=$PER
before=$(locks)
for i in $(seq 1 20); do staple_of "$PORT" >>"$T/slow.staples"; sleep 0.25; done
slow=$(awk -v a="$before" -v b="$(locks)" 'BEGIN { printf "%.2f", (b - a) / 20 }')
is "$(sort -u "$T/slow.staples")" good "a worker: handshakes over 5 s all stapled"
is "$slow" "$quick" "a worker: the same locks per handshake over 5 s as back to back"
done_testing
