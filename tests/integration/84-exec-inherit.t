#!/bin/bash
# A program the server executes while a fetch is under way (a CGI, a piped
# logger) inherits none of the library's descriptors: the connection to the
# responder is close-on-exec from its creation.  The fixture executes a shell
# after each connection it serves, which lists the descriptors it got; the
# responder hangs, so the fetch's connection is open meanwhile.
# And a process the server forks meanwhile (its workers) lets go of its copy
# of that connection at once: when the fetch gives up, the connection closes
# (a responder that serves one connection at a time, as `openssl ocsp` does,
# would otherwise wait on it for as long as the workers live).
. "$AS_SRC/tests/lib.sh"

# Under a sanitizer a fork waits for the fetch to end (the fork guard is kept
# while waiting on the network, refresher.c): there is no fetch under way
# left to inherit by the time the program runs.
sanitized && skip_all "under a sanitizer a fork waits for the fetch (sanitized.h)"

# responder_inodes PORT: the socket inodes of the TCP connections to
# 127.0.0.1:PORT (any state), from /proc/net/tcp
responder_inodes() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" 'NR > 1 && substr($3, length($3) - 4) == p { print $10 }' /proc/net/tcp
}
# responder_connected: a connection to the fake responder is open now
# (a function: eventually runs it again; a $(...) argument would be read
# once, before the first try)
responder_connected() { [ -n "$(responder_inodes "$FAKE_PORT")" ]; }
# inherited LOG: the socket inodes the probe's shell listed
inherited() { sed -n 's/^exec probe: fd [0-9]* -> socket:\[\([0-9]*\)\]$/\1/p' "$1"; }

for scheme in http https; do
    start_fake "hang-$scheme" 0 hang
    PORT=$(free_port)
    start_bg "exec-$scheme" env AUTOSTAPLE_RESPONDER="$scheme://127.0.0.1:$FAKE_PORT/" \
        AUTOSTAPLE_STARTUP_WAIT=0 AUTOSTAPLE_TIMEOUT=20 LD_PRELOAD="$AS_SHIM" "$FIXTURE_SERVER" \
        -port "$PORT" -max-seconds 60 -cert "$AS_PKI/leaf-rsa.pem" -key "$AS_PKI/leaf-rsa.key" \
        -chain "$AS_PKI/chain.pem" -exec-probe
    wait_for_log "$T/exec-$scheme.log" '^ready' 10 || _as_infra_fail "fixture" "$T/exec-$scheme.log"
    # the fetch is under way: its connection to the responder is open
    check "$scheme: the fetch's connection to the responder is open" \
        eventually 5 responder_connected
    staple_of "$PORT" >/dev/null
    wait_for_log "$T/exec-$scheme.log" '^exec probe: done' 10 ||
        _as_infra_fail "exec probe" "$T/exec-$scheme.log"
    conn=$(responder_inodes "$FAKE_PORT" | tr '\n' ' ')
    got=$(inherited "$T/exec-$scheme.log" | tr '\n' ' ')
    leaked=''
    for i in $conn; do [[ " $got " == *" $i "* ]] && leaked="$leaked $i"; done
    is "$leaked" "" "$scheme: the executed program inherits no connection to the responder (responder: $conn; inherited sockets: $got)"
    stop_bg "exec-$scheme"
    stop_bg "hang-$scheme"
done

# Workers forked while the first fetch hangs (the start-up wait runs out
# after 1 s); the fetch gives up after 3 s and is not tried again for a
# minute.  The responder sees the connection close then, not when the
# workers end (60 s).
start_fake hang-fork 0 hang
start_fixture_server forking AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" \
    AUTOSTAPLE_STARTUP_WAIT=1 AUTOSTAPLE_TIMEOUT=3 AUTOSTAPLE_RETRY_MIN=60 \
    -max-seconds 60 "${FIXTURE_RSA[@]}" -prefork 2
check "the workers are forked while the fetch is under way" \
    wait_for_log "$T/forking.log" 'first OCSP fetches still running' 5
check "the connection closes when the fetch gives up: the workers hold no copy of it" \
    wait_for_log "$T/hang-fork.log" '^hang: .* closed by the client' 8
stop_bg forking
stop_bg hang-fork
done_testing
