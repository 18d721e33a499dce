#!/bin/bash
# Issue 10: servers started the way their packages start them, as root, with
# a root-owned 0755 cache directory (as the README tells):
#   - nginx "daemon on" with 4 workers that drop to www-data, then a SIGHUP
#     reload that adds a certificate; nginx -t with a hanging responder;
#   - Apache "-k start" (it detaches) with mpm_prefork and mpm_event, then
#     "-k graceful";
#   - a fixture that daemonizes with glibc's daemon(3) (its first process
#     leaves with _exit), whose workers drop to www-data;
#   - forks in a worker forked after the start-up wait ran out, and forks
#     during a fetch that hangs over HTTPS.
# For each: every handshake stapled from the first, fetches counted at the
# responder by serial, the refresh done by the process that kept root (the
# saved response and the status file are there), and nothing left running
# once the server is stopped.  tests/openssl11/76-daemons.t runs the same
# with Debian 11's nginx and Apache and the fixture built against OpenSSL
# 1.1 (tests/lib.sh), the idle refreshes left to this run.
. "$AS_SRC/tests/lib.sh"

tsan && skip_all "ThreadSanitizer's runtime, preloaded into the servers, defers the signals that drive them (reload, graceful restart, stop): the plain and ASan runs cover these servers"
[ "$(id -u)" = 0 ] || skip_all "needs root: masters that stay root, workers that drop to www-data"
id www-data >/dev/null 2>&1 || skip_all "no www-data user"

fp() { openssl x509 -in "$AS_PKI/$1.pem" -outform DER | sha256sum | cut -c1-64; }
good8='good good good good good good good good'

# stop_daemon PIDFILE PATTERN: TERM the daemon whose pid PIDFILE holds (it
# leads its own session), wait until nothing matching PATTERN runs (10 s).
stop_daemon() {
    local pid
    pid=$(cat "$1" 2>/dev/null) && [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
    eventually 10 nothing_runs "$2"
}
nothing_runs() { ! pgrep -f "$1" >/dev/null; }
# daemon_pid PIDFILE: the pid a daemon writes once it has detached (10 s).
daemon_pid() {
    eventually 10 test -s "$1" || _as_infra_fail "a pid in $1"
    cat "$1"
}
# taken_over LOG PROGRAM PID: LOG says that PROGRAM's process PID took the
# refresh over.
taken_over() { grep -qE "^autostaple\[$2 $3\]: info: taking over the refresh" "$1"; }
takers() { grep -c 'taking over the refresh' "$1"; }

# ---------------------------------------------------------------- nginx
# Responses valid 20 s (refreshed every 8 to 12 s), from a responder that
# signs for any certificate: an idle server must refresh with no handshake,
# and a certificate added by a reload is refreshed once per window, not once
# per process.
nginx=${NGINX_BIN:-/usr/sbin/nginx} apache=${APACHE:-/usr/sbin/apache2}
if [ -x "$nginx" ]; then
    start_signing_responder sign20 20
    SIGN_LOG=$FAKE_LOG
    cache=$T/nginx-cache
    mkdir -m 0755 "$cache"
    PORT=$(free_port)
    NGINX_DAEMON=1 AUTOSTAPLE_CACHE_DIR=$cache AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" \
        AUTOSTAPLE_LOG_LEVEL=debug \
        with_shim "$AS_SRC/tests/servers/nginx.sh" \
        "$T/nginx" "$PORT" "$AS_PKI/leaf-rsa-full.pem" "$AS_PKI/leaf-rsa.key" 4 \
        >"$T/nginx-start.log" 2>&1 || _as_infra_fail "nginx starts" "$T/nginx-start.log"
    at_exit stop_daemon "$T/nginx/nginx.pid" "$T/nginx/nginx.conf"
    wait_for_port "$PORT" 15 || _as_infra_fail "nginx listens" "$T/nginx/error.log"
    master=$(daemon_pid "$T/nginx/nginx.pid")
    _as_check_abi "$master" "the nginx master"
    log=$T/nginx/error.log
    is "$(staples_of "$PORT" 8)" "$good8" "nginx daemon on, 4 workers: the first 8 handshakes are stapled" ||
        stacks_of "$T/nginx/nginx.conf"
    is "$(requests_for "$SIGN_LOG" leaf-rsa)" 1 "nginx daemon on: one request for the certificate"
    check "nginx daemon on: the master ($master) took the refresh over" taken_over "$log" nginx "$master"
    is "$(takers "$log")" 1 "nginx daemon on: and no worker did"
    check "nginx daemon on: the response is saved in root's cache directory" \
        test -s "$cache/$(fp leaf-rsa).ocsp"
    check "nginx daemon on: the master writes the status file" \
        eventually 3 test -s "$cache/status-$master.txt"
    like "$("$AS_BUILD/autostaple" status --cache-dir "$cache")" "nginx \(pid $master\)" \
        "nginx daemon on: autostaple status shows the master"
    unlike "$(cat "$log")" "Permission denied|cannot (use|write to) the cache" \
        "nginx daemon on: no complaint about the cache directory"

    # A reload that adds a certificate: the master learns it, fetches it
    # once, and the workers it forks next staple it from their first
    # handshake; the unchanged certificate is not fetched again for it.
    cat >"$T/nginx/conf.d/sni.conf" <<EOF
server {
    listen 127.0.0.1:$PORT ssl;
    server_name sni.test;
    ssl_certificate $AS_PKI/leaf-sni-full.pem;
    ssl_certificate_key $AS_PKI/leaf-sni.key;
    location / { return 200 "sni\n"; }
}
EOF
    kill -HUP "$master"
    check "nginx reload: done" eventually 10 grep -q 'reconfiguring' "$log"
    check "nginx reload: the new certificate is stapled" wait_for_staple good "$PORT" 10 sni.test
    is "$(staples_of "$PORT" 8 sni.test)" "$good8" "nginx reload: on every worker"
    is "$(requests_for "$SIGN_LOG" leaf-sni)" 1 "nginx reload: one request for the new certificate"

    # No handshake for 25 s: two refreshes of each (the first at 8 to 12 s
    # after its fetch, the next 8 to 12 s after that), made by the master;
    # every process refreshing on its own would make 5 times as many.
    # (Once: the refresh is the same for either OpenSSL.)
    if [ "$AS_OPENSSL" = 3 ]; then
        rsa0=$(requests_for "$SIGN_LOG" leaf-rsa) sni0=$(requests_for "$SIGN_LOG" leaf-sni)
        sleep 25
        rsa=$(($(requests_for "$SIGN_LOG" leaf-rsa) - rsa0)) sni=$(($(requests_for "$SIGN_LOG" leaf-sni) - sni0))
        check "nginx, idle 25 s: the certificate is refreshed ($rsa requests)" test "$rsa" -ge 1 -a "$rsa" -le 3
        check "nginx, idle 25 s: the one the reload added too, once per window ($sni requests)" \
            test "$sni" -ge 1 -a "$sni" -le 3
        is "$(staples_of "$PORT" 4 sni.test)" "good good good good" "nginx, after 25 s: still stapled"
    else
        skip "the idle refresh is run with OpenSSL 3 only" 3
    fi
    # Every request was a fetch of the process that loaded the configuration
    # (before it daemonized, into nginx-start.log) or of the master.
    fetched() { grep -h 'stapling a good response' "$log" "$T/nginx-start.log"; }
    first=$(sed -n 's/^autostaple\[nginx \([0-9]*\)\]: .* (loaded): stapling from.*/\1/p' \
        "$T/nginx-start.log" | head -n1)
    is "$(fetched | wc -l)" "$(count_requests "$SIGN_LOG")" "nginx: every request was a fetch logged"
    is "$(fetched | sed -n 's/^autostaple\[nginx \([0-9]*\)\].*/\1/p' | sort -u | tr '\n' ' ')" \
        "$(printf '%s\n' "$first" "$master" | sort -u | tr '\n' ' ')" \
        "nginx: made by the first process ($first), then by the master ($master) alone"
    check "nginx stops: no process left" stop_daemon "$T/nginx/nginx.pid" "$T/nginx/nginx.conf"
    check "nginx stops: the master removed its status file" test ! -e "$cache/status-$master.txt"

    # nginx -t (ExecStartPre and ExecReload in Debian's unit) binds, listens
    # and exits: it must not wait for a responder that hangs.
    start_fake hang 0 hang
    start=$(date +%s%N)
    AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" AUTOSTAPLE_STARTUP_WAIT=5 \
        with_shim "$nginx" -t -c "$T/nginx/nginx.conf" -p "$T/nginx" >"$T/nginx-t.log" 2>&1
    rc=$?
    ms=$((($(date +%s%N) - start) / 1000000))
    is "$rc" 0 "nginx -t under the library: succeeds"
    check "nginx -t, responder hanging: it does not wait ($ms ms)" test "$ms" -lt 1500
    unlike "$(cat "$T/nginx-t.log")" "serving meanwhile|still running" "nginx -t: no word of serving"
    stop_bg hang
else
    skip "nginx is not installed" 23
fi

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"

# ---------------------------------------------------------------- Apache
# graceful_done LOG: Apache says it restarted gracefully (prefork and event
# word the request differently).
graceful_done() {
    grep -A100 -E 'Graceful restart requested|Doing graceful restart' "$1" |
        grep -q 'resuming normal operations'
}
# apache_k MPM: apache2 -k start with MPM, 4 children, checked as above,
# then -k graceful.
apache_k() {
    local mpm=$1 dir=$T/apache-$1 cache=$T/apache-$1-cache before pid log
    mkdir -m 0755 "$cache"
    PORT=$(free_port)
    before=$(requests_for "$OCSP_LOG" leaf-rsa)
    APACHE_START=k APACHE_MPM=$mpm AUTOSTAPLE_CACHE_DIR=$cache with_shim \
        "$AS_SRC/tests/servers/apache.sh" "$dir" "$PORT" "$AS_PKI/leaf-rsa-full.pem" \
        "$AS_PKI/leaf-rsa.key" 4 >"$T/apache-$mpm-start.log" 2>&1 ||
        _as_infra_fail "apache -k start ($mpm)" "$T/apache-$mpm-start.log"
    at_exit stop_daemon "$dir/httpd.pid" "$dir/httpd.conf"
    wait_for_port "$PORT" 15 || _as_infra_fail "apache ($mpm) listens" "$dir/error.log"
    pid=$(daemon_pid "$dir/httpd.pid")
    _as_check_abi "$pid" "the Apache parent ($mpm)"
    log=$dir/error.log
    is "$(staples_of "$PORT" 8)" "$good8" "Apache -k start, $mpm: the first 8 handshakes are stapled" ||
        stacks_of "$dir/httpd.conf"
    is "$(($(requests_for "$OCSP_LOG" leaf-rsa) - before))" 1 "Apache -k start, $mpm: one request"
    check "Apache -k start, $mpm: the parent ($pid) took the refresh over" \
        taken_over "$log" apache2 "$pid"
    is "$(takers "$log")" 1 "Apache -k start, $mpm: and no child did"
    unlike "$(cat "$log")" "still running after" "Apache -k start, $mpm: no fork waited in vain"
    check "Apache -k start, $mpm: the response is saved" test -s "$cache/$(fp leaf-rsa).ocsp"
    check "Apache -k start, $mpm: the parent writes the status file" \
        eventually 3 test -s "$cache/status-$pid.txt"
    # apache2ctl configtest (apache2 -t): no wait for a hanging responder.
    if [ "$mpm" = prefork ]; then
        start_fake hang-t 0 hang
        start=$(date +%s%N)
        AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" AUTOSTAPLE_STARTUP_WAIT=5 \
            with_shim "$apache" -t -f "$dir/httpd.conf" >"$T/apache-t.log" 2>&1
        ms=$((($(date +%s%N) - start) / 1000000))
        check "apache2 -t, responder hanging: it does not wait ($ms ms)" test "$ms" -lt 1500
        stop_bg hang-t
    fi
    "$apache" -f "$dir/httpd.conf" -k graceful
    check "Apache -k graceful, $mpm: restarted" eventually 10 graceful_done "$log"
    is "$(staples_of "$PORT" 8)" "$good8" "Apache -k graceful, $mpm: every handshake stapled"
    is "$(($(requests_for "$OCSP_LOG" leaf-rsa) - before))" 1 "Apache -k graceful, $mpm: no new request"
    check "Apache stops, $mpm: no process left" stop_daemon "$dir/httpd.pid" "$dir/httpd.conf"
}
if [ -x "$apache" ]; then
    apache_k prefork
    apache_k event
else
    skip "apache2 is not installed" 23
fi

# ---------------------------------------------------------------- daemon(3)
# Responses valid 8 s, renewed every second: the daemon refreshes while no
# handshake comes (the master never handshakes; its workers are www-data).
start_renewing_responder leaf-rsa 8
cache=$T/d3-cache
mkdir -m 0755 "$cache"
at_exit stop_daemon "$T/d3.pid" "$T/d3.pid"
start_fixture_server d3 AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" AUTOSTAPLE_CACHE_DIR="$cache" \
    "${FIXTURE_RSA[@]}" -daemonize "$T/d3.pid" -daemon3 -log "$T/d3.out" -prefork 2 -user www-data
d3=$(daemon_pid "$T/d3.pid")
_as_check_abi "$d3" "the daemon(3) fixture"
is "$(staples_of "$PORT" 4)" "good good good good" "daemon(3): the first handshakes are stapled"
check "daemon(3): the daemon ($d3) took the refresh over" taken_over "$T/d3.out" "fixture_server[^ ]*" "$d3"
if [ "$AS_OPENSSL" = 3 ]; then
    first=$(requests_for "$FAKE_LOG" leaf-rsa)
    sleep 12   # no handshake: the first response expires after 8 s
    check "daemon(3): refreshed with no handshake ($first, then $(requests_for "$FAKE_LOG" leaf-rsa) requests)" \
        test "$(requests_for "$FAKE_LOG" leaf-rsa)" -ge $((first + 2))
    is "$(staple_of "$PORT")" good "daemon(3): still stapled after the first response expired"
else
    skip "the idle refresh is run with OpenSSL 3 only" 2
fi
check "daemon(3): the response is saved" test -s "$cache/$(fp leaf-rsa).ocsp"
check "daemon(3): the daemon writes the status file" test -s "$cache/status-$d3.txt"
is "$(takers "$T/d3.out")" 1 "daemon(3): no worker took over"
check "daemon(3) stops: no process left" stop_daemon "$T/d3.pid" "$T/d3.pid"

# ---------------------------------------------------------------- forks
# fork_times LOG: the "fork took N ms" of a -fork-probe fixture, largest first.
fork_times() { sed -n 's/.*fork probe: fork took \([0-9]*\) ms$/\1/p' "$1" | sort -rn | tr '\n' ' '; }
slowest_fork() { fork_times "$1" | cut -d' ' -f1; }

# A worker forked after the start-up wait ran out (the responder answers
# after 4 s) must not wait at each of its own forks (a CGI, a piped logger)
# for a fetch it does not make.
mkresp_for leaf-rsa "$T/slow.der"
start_fake slow 0 file -file "$T/slow.der" -delay 4000
start_fixture_server pending AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" AUTOSTAPLE_STARTUP_WAIT=1 \
    AUTOSTAPLE_TIMEOUT=20 -max-seconds 60 "${FIXTURE_RSA[@]}" -prefork 2 -fork-probe
staples_of "$PORT" 4 >/dev/null
check "a worker forked after the wait ran out: its forks do not wait ($(fork_times "$T/pending.log")ms)" \
    test "$(slowest_fork "$T/pending.log")" -lt 500
stop_bg pending
start_fake hang 0 hang

# A fetch that hangs inside a TLS handshake (https:// responder): the
# serving process's forks do not wait for it.
if sanitized; then
    skip "under a sanitizer the fork guard is kept while waiting (refresher.c)" 2
else
    start_fixture_server https AUTOSTAPLE_RESPONDER="https://127.0.0.1:$FAKE_PORT/" AUTOSTAPLE_STARTUP_WAIT=0 \
        AUTOSTAPLE_TIMEOUT=8 -max-seconds 60 "${FIXTURE_RSA[@]}" -fork-probe
    sleep 1   # the fetch is under way (a TLS handshake that never ends is no request to log)
    for i in 1 2 3; do staple_of "$PORT" >/dev/null; sleep 0.5; done
    is "$(grep -c 'fork took' "$T/https.log")" 3 "https responder hanging: three forks probed"
    check "https responder hanging: no fork waits for it ($(fork_times "$T/https.log")ms)" \
        test "$(slowest_fork "$T/https.log")" -lt 500
    stop_bg https
fi
done_testing
