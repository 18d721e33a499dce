#!/bin/bash
# Issue 10: servers whose processes share no memory with the one that
# loaded the configuration, so that AUTOSTAPLE_CACHE_DIR is the store they
# share: a saved response is stapled from the first handshake of every
# process, and one process fetches per refresh (a lock per certificate in the
# directory), the others take what it saved.
#   - lighttpd (-D, as its unit runs it), 4 workers that learn their
#     certificate per connection, all www-data: cold start, then a warm
#     restart with the responder down;
#   - a fixture that execs a fresh process per connection: the same;
#   - HAProxy -W -D, whose master execs itself again once it has forked its
#     worker: the worker refreshes (with insecure-fork-wanted; refused
#     loudly without), then a USR2 reload.
# Fetches are counted at the responder, by serial.
. "$AS_SRC/tests/lib.sh"

tsan && skip_all "ThreadSanitizer's runtime, preloaded into the servers, defers the signals that drive them and slows their workers past the handshakes' bounds: the plain and ASan runs cover these servers"
[ "$(id -u)" = 0 ] || skip_all "needs root: servers that drop to www-data or haproxy"
chmod 755 "$T"   # their cache directories are below it
fp() { openssl x509 -in "$AS_PKI/$1.pem" -outform DER | sha256sum | cut -c1-64; }
nothing_runs() { ! pgrep -f "$1" >/dev/null; }
good8='good good good good good good good good'

# A responder that answers after 300 ms (a real round trip), every
# certificate good for 60 s.
start_signing_responder sign60 60 -delay 300
SIGN_PORT=$FAKE_PORT SIGN_LOG=$FAKE_LOG SIGN_PID=$BG_PID
DEAD="http://127.0.0.1:$(free_port)/"

# ---------------------------------------------------------------- lighttpd
if [ -x /usr/sbin/lighttpd ] && [ -f /usr/lib/lighttpd/mod_openssl.so ] && id www-data >/dev/null 2>&1; then
    cache=$T/lighttpd-cache
    mkdir -m 0755 "$cache"
    chown www-data "$cache"   # its processes are all www-data
    # lighty RESPONDER: lighttpd under the library, port in PORT
    lighty() {
        PORT=$(free_port)
        start_bg "lighttpd-$1" env AUTOSTAPLE_CACHE_DIR="$cache" AUTOSTAPLE_RESPONDER="$2" \
            LD_PRELOAD="$AS_SHIM" "$AS_SRC/tests/servers/lighttpd.sh" "$T/lighttpd" "$PORT" \
            "$AS_PKI/leaf-rsa-full.pem" "$AS_PKI/leaf-rsa.key" 4
        wait_for_port "$PORT" 15 || _as_infra_fail "lighttpd starts" "$T/lighttpd-$1.log"
    }
    lighty cold "http://127.0.0.1:$SIGN_PORT/"
    staples_of "$PORT" 12 >/dev/null   # every worker learns its certificate
    check "lighttpd, cold start: stapled once the first fetch is in" wait_for_staple good "$PORT" 5
    sleep 2
    is "$(staples_of "$PORT" 8)" "$good8" "lighttpd, cold start: then by every worker"
    is "$(requests_for "$SIGN_LOG" leaf-rsa)" 1 "lighttpd, cold start: one request for 4 workers"
    check "lighttpd: the response is saved" test -s "$cache/$(fp leaf-rsa).ocsp"
    check "lighttpd: the workers that refresh write their status files" \
        eventually 3 bash -c "ls '$cache'/status-*.txt >/dev/null 2>&1"
    stop_bg lighttpd-cold
    check "lighttpd stops: no process left" eventually 5 nothing_runs "$T/lighttpd/lighttpd.conf"

    lighty warm "$DEAD"
    is "$(staples_of "$PORT" 8)" "$good8" \
        "lighttpd, warm restart, responder down: every worker staples from its first handshake"
    stop_bg lighttpd-warm
    check "lighttpd stops again: no process left" eventually 5 nothing_runs "$T/lighttpd/lighttpd.conf"
else
    skip "lighttpd, lighttpd-mod-openssl or www-data missing" 9
fi

# ---------------------------------------------------------------- exec per connection
cache=$T/exec-cache
mkdir -m 0755 "$cache"
# execd NAME RESPONDER: the fixture, a process exec'd per connection; PORT
execd() {
    PORT=$(free_port)
    start_bg "$1" env AUTOSTAPLE_CACHE_DIR="$cache" AUTOSTAPLE_RESPONDER="$2" LD_PRELOAD="$AS_SHIM" \
        "$FIXTURE_SERVER" -port "$PORT" -max-seconds 60 -cert "$AS_PKI/leaf-sni.pem" \
        -key "$AS_PKI/leaf-sni.key" -chain "$AS_PKI/chain.pem" -exec-per-conn
    wait_for_log "$T/$1.log" '^ready' 10 || _as_infra_fail "exec-per-conn fixture" "$T/$1.log"
}
# parallel PORT N: N handshakes at once; their staples, sorted
parallel() {
    local i
    for ((i = 0; i < $2; i++)); do staple_of "$1" >"$T/par.$i" & done
    wait
    for ((i = 0; i < $2; i++)); do cat "$T/par.$i"; done | sort | tr '\n' ' '
}
before=$(requests_for "$SIGN_LOG" leaf-sni)
execd exec-cold "http://127.0.0.1:$SIGN_PORT/"
is "$(parallel "$PORT" 6)" "good good good good good good " \
    "exec per connection: 6 processes at once, each stapled from its first handshake"
is "$(staples_of "$PORT" 4)" "good good good good" "exec per connection: and the next ones"
is "$(($(requests_for "$SIGN_LOG" leaf-sni) - before))" 1 "exec per connection: one request in all"
check "exec per connection: the response is saved" test -s "$cache/$(fp leaf-sni).ocsp"
check "exec per connection: the parent writes its status file" \
    eventually 3 test -s "$cache/status-$exec_cold_PID.txt"
stop_bg exec-cold
execd exec-warm "$DEAD"
is "$(parallel "$PORT" 6)" "good good good good good good " \
    "exec per connection, warm restart, responder down: every process staples"
stop_bg exec-warm
check "exec per connection stops: no process left" eventually 5 nothing_runs "$AS_PKI/leaf-sni.pem .*-exec-per-conn"

# ---------------------------------------------------------------- HAProxy
if [ -x /usr/sbin/haproxy ] && id haproxy >/dev/null 2>&1; then
    # hap NAME [GLOBAL LINE]: haproxy -W -D under the library; PORT, and
    # the master's pid in MASTER.  Its log goes to a file both the master
    # (root) and the worker (haproxy) can write: HAProxy -D closes stderr.
    hap() {
        local dir=$T/$1
        PORT=$(free_port)
        mkdir -m 0755 "$dir" "$dir/cache"
        chown haproxy "$dir/cache"
        install -m 0666 /dev/null "$dir/autostaple.log"
        HAPROXY_GLOBAL=${2:-} AUTOSTAPLE_CACHE_DIR="$dir/cache" AUTOSTAPLE_LOG="$dir/autostaple.log" \
            AUTOSTAPLE_LOG_LEVEL=debug \
            AUTOSTAPLE_RESPONDER="http://127.0.0.1:$SIGN_PORT/" with_shim \
            "$AS_SRC/tests/servers/haproxy.sh" "$dir" "$PORT" "$AS_PKI/leaf-ec-full.pem" \
            "$AS_PKI/leaf-ec.key" >"$T/$1-start.log" 2>&1 || _as_infra_fail "haproxy starts" "$T/$1-start.log"
        at_exit "[ -s '$dir/haproxy.pid' ] && kill -TERM \$(cat '$dir/haproxy.pid')"
        wait_for_port "$PORT" 15 || _as_infra_fail "haproxy listens" "$T/$1-start.log"
        eventually 10 test -s "$dir/haproxy.pid"
        MASTER=$(cat "$dir/haproxy.pid")
    }
    # handshakes_for SECS PORT: one handshake a second; their staples, sorted, counted
    handshakes_for() {
        local i
        for ((i = 0; i < $1; i++)); do staple_of "$2"; sleep 1; done | sort | uniq -c | tr -s ' \n' ' '
    }
    before=$(requests_for "$SIGN_LOG" leaf-ec)
    hap haproxy "    insecure-fork-wanted"
    log=$T/haproxy/autostaple.log
    is "$(staples_of "$PORT" 4)" "good good good good" "HAProxy -W -D: the first handshakes are stapled" ||
        stacks_of "$T/haproxy/haproxy.cfg"
    is "$(($(requests_for "$SIGN_LOG" leaf-ec) - before))" 1 "HAProxy -W -D: one request"
    # The master execs itself once it has forked its worker: the worker
    # takes over (10 s after it finds no one with root's rights), says so,
    # and refreshes before the first 60-s response lapses.
    like "$(handshakes_for 15 "$PORT")" "^ *15 good *\$" "HAProxy: 15 s later, still stapled"
    like "$(cat "$log")" "warning: this process \\(uid $(id -u haproxy)\\) refreshes 1 certificate learned by a process running as uid 0" \
        "HAProxy: the worker says it refreshes without root's rights"
    worker=$(pgrep -P "$MASTER" | head -n1)
    check "HAProxy: the worker ($worker) writes the status file" eventually 3 \
        test -s "$T/haproxy/cache/status-$worker.txt"
    check "HAProxy: the response is saved" test -s "$T/haproxy/cache/$(fp leaf-ec).ocsp"
    like "$("$AS_BUILD/autostaple" status --cache-dir "$T/haproxy/cache")" \
        "refreshes as uid $(id -u haproxy) certificates learned as uid 0 .*must be writable by uid $(id -u haproxy)" \
        "HAProxy: autostaple status says so too"
    n=$(requests_for "$SIGN_LOG" leaf-ec)
    kill -USR2 "$MASTER"
    new_worker() { pgrep -P "$MASTER" | grep -vqx "$worker"; }
    check "HAProxy USR2: a new worker" eventually 10 new_worker
    is "$(staples_of "$PORT" 4)" "good good good good" "HAProxy USR2: stapled"
    is "$(requests_for "$SIGN_LOG" leaf-ec)" "$n" "HAProxy USR2: the saved response is taken, no request"
    kill -TERM "$MASTER"
    check "HAProxy stops: no process left" eventually 10 nothing_runs "$T/haproxy/haproxy.cfg"

    # haproxy -c (ExecStartPre, ExecReload) loads the certificates too: no
    # wait for a hanging responder.
    start_fake hang 0 hang
    start=$(date +%s%N)
    AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" AUTOSTAPLE_STARTUP_WAIT=5 \
        with_shim /usr/sbin/haproxy -c -q -f "$T/haproxy/haproxy.cfg" >"$T/haproxy-c.log" 2>&1
    rc=$? ms=$((($(date +%s%N) - start) / 1000000))
    is "$rc" 0 "haproxy -c under the library: succeeds"
    check "haproxy -c, responder hanging: it does not wait ($ms ms)" test "$ms" -lt 1500
    stop_bg hang

    # As Debian's unit runs it (-Ws, in the foreground), without
    # insecure-fork-wanted: HAProxy forbids its worker any thread
    # (RLIMIT_NPROC), refused loudly, naming the fix.  Here the master
    # itself learned the certificate and leaves it as it execs itself.
    dir=$T/haproxy-ws
    mkdir -m 0755 "$dir"
    install -m 0666 /dev/null "$dir/autostaple.log"
    PORT=$(free_port)
    start_bg haproxy-ws env HAPROXY_SYSTEMD=1 AUTOSTAPLE_LOG="$dir/autostaple.log" \
        AUTOSTAPLE_RESPONDER="http://127.0.0.1:$SIGN_PORT/" LD_PRELOAD="$AS_SHIM" \
        "$AS_SRC/tests/servers/haproxy.sh" "$dir" "$PORT" "$AS_PKI/leaf-ec-full.pem" "$AS_PKI/leaf-ec.key"
    wait_for_port "$PORT" 15 || _as_infra_fail "haproxy -Ws listens" "$T/haproxy-ws.log"
    # (the worker looks for a successor's role on its handshakes)
    refused() {
        staple_of "$PORT" >/dev/null
        grep -q 'cannot start the refresher thread: .*insecure-fork-wanted' "$dir/autostaple.log"
    }
    check "HAProxy -Ws without insecure-fork-wanted: the worker says it cannot refresh, and why" \
        eventually 20 refused
    like "$(cat "$dir/autostaple.log")" "taking over the refresh of 1 certificate, left by a process that executed a program anew" \
        "HAProxy -Ws: the master left the certificate to its worker as it executed itself"
    stop_bg haproxy-ws
    check "HAProxy stops: no process left" eventually 10 nothing_runs "$dir/haproxy.cfg"
else
    skip "haproxy is not installed" 15
fi
done_testing
