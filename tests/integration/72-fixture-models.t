#!/bin/bash
# Issue 3, process models with our own fixture server: pre-fork workers,
# fork per connection, a daemon that double-forks and closes every
# descriptor, a privilege drop (with a cache it can no longer write), and a
# chroot.  Responses are valid 8 s and renewed at the responder every second:
# each model must staple its first handshake and still staple, a newer
# response, after the first one has expired (its refresher lives on).
. "$AS_SRC/tests/lib.sh"

start_renewing_responder leaf-rsa 8
mkdir -m 0755 "$T/cache" "$T/jail"

# The fixtures' environment: the renewing responder, debug lines (fetchers).
fenv=(AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" AUTOSTAPLE_LOG_LEVEL=debug)
fetchers() { sed -n 's/^autostaple\[fixture_server[^ ]* \([0-9]*\)\]: .*stapling a good response.*/\1/p' "$@" | sort -u; }

t0=$(date +%s)
start_fixture_server prefork "${fenv[@]}" "${FIXTURE_RSA[@]}" -prefork 4 -user nobody
P_PREFORK=$PORT
start_fixture_server perconn "${fenv[@]}" "${FIXTURE_RSA[@]}" -fork-per-conn
P_PERCONN=$PORT
at_exit '[ -s "$T/daemon.pid" ] && _as_terminate "$(cat "$T/daemon.pid")"'
start_fixture_server daemon "${fenv[@]}" "${FIXTURE_RSA[@]}" -daemonize "$T/daemon.pid" -log "$T/daemon.out"
P_DAEMON=$PORT
start_fixture_server dropped "${fenv[@]}" AUTOSTAPLE_CACHE_DIR="$T/cache" "${FIXTURE_RSA[@]}" -user nobody
P_DROPPED=$PORT
start_fixture_server jailed "${fenv[@]}" "${FIXTURE_RSA[@]}" -chroot "$T/jail" -user nobody
P_JAILED=$PORT

declare -A first
for m in PREFORK PERCONN DAEMON DROPPED JAILED; do
    port_var=P_$m
    is "$(staple_of "${!port_var}")" good "$m: the first handshake is stapled"
    first[$m]=$(this_update_of "${!port_var}")
done
r='' && for i in 1 2 3 4 5 6 7; do r="$r $(staple_of "$P_PREFORK")"; done
is "$r" " good good good good good good good" "PREFORK: and the next 7, whichever worker"

sleep 10   # the first responses have expired; only refreshed ones can staple
for m in PREFORK PERCONN DAEMON DROPPED JAILED; do
    port_var=P_$m
    is "$(staple_of "${!port_var}")" good "$m: still stapled 10 s later"
    isnt "$(this_update_of "${!port_var}")" "${first[$m]}" "$m: with a newer response"
done

# The responder's requests, all accounted for by the servers' fetches: one
# process per model fetches, every 1 to 3 s (9 s windows, responses about
# 1 s old when fetched), and never twice in one second: at most one per
# second since the start, and the first (4 workers each fetching would make
# about 4 times as many).  The servers keep fetching while this is counted:
# the two counts are compared until they agree.
fetches() { grep -c 'stapling a good response' "$@" | awk -F: '{ n += $NF } END { print n }'; }
logs=("$T/prefork.log" "$T/perconn.log" "$T/daemon.log" "$T/daemon.out" "$T/dropped.log" "$T/jailed.log")
counts_agree() { [ "$(count_requests "$FAKE_LOG")" = "$(fetches "${logs[@]}")" ]; }
check "the responder's requests are the servers' fetches, one each" eventually 3 counts_agree
most=$(($(date +%s) - t0 + 1))
for m in prefork perconn dropped jailed; do
    k=$(fetches "$T/$m.log")
    check "$m: $k requests, one per refresh (at most $most)" test "$k" -ge 2 -a "$k" -le "$most"
done
k=$(fetches "$T/daemon.log" "$T/daemon.out")
check "daemon: $k requests, one per refresh (at most $most)" test "$k" -ge 2 -a "$k" -le "$most"
is "$(fetchers "$T/prefork.log" | wc -l)" 1 "PREFORK: one process fetches for the 4 workers"
is "$(fetchers "$T/perconn.log" | wc -l)" 1 "PERCONN: the parent fetches, no child does"
like "$(cat "$T/daemon.out")" "taking over the refresh of 1 certificate from process [0-9]+, which is gone" \
    "DAEMON: the surviving daemon took over from the process that exited"
is "$(fetchers "$T/daemon.out" | wc -l)" 1 "DAEMON: and fetches alone"
is "$(grep -cE 'warning: cannot (use|write to) .* \(AUTOSTAPLE_CACHE_DIR\): .*responses are kept in memory only' \
    "$T/dropped.log")" 1 \
    "DROPPED: a cache it can no longer use: one warning, at any number of refreshes"
check "DROPPED: what was saved before the drop is there" test -s "$T/cache/$(openssl x509 \
    -in "$AS_PKI/leaf-rsa.pem" -outform DER | sha256sum | cut -c1-64).ocsp"
done_testing
