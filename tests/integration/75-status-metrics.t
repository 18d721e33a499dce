#!/bin/bash
# Issue 6: the status file of each fetching process (AUTOSTAPLE_CACHE_DIR,
# read by `autostaple status`) and the Prometheus textfile
# (AUTOSTAPLE_METRICS_DIR), with real servers under the preload, the real
# responder, and clients that verify.
. "$AS_SRC/tests/lib.sh"

AUTOSTAPLE=$AS_BUILD/autostaple
fp=$(openssl x509 -in "$AS_PKI/leaf-rsa.pem" -outform DER | sha256sum | cut -c1-64)
serial=$(serial leaf-rsa)

# valid_prom FILE: every line follows the text exposition format (HELP,
# TYPE, samples with escaped label values and a number), every family is
# typed once, before its samples.  Prints what is wrong.
valid_prom() {
    perl -ne '
        BEGIN { $bad = 0 }
        chomp;
        my $name = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
        my $lv = qr/"(?:[^"\\\n]|\\[\\"n])*"/;
        my $labels = qr/\{(?:[a-zA-Z_][a-zA-Z0-9_]*=$lv(?:,[a-zA-Z_][a-zA-Z0-9_]*=$lv)*)?\}/;
        my $num = qr/[-+]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|NaN|[-+]?Inf)/;
        if (/^# HELP ($name) .+$/) { $help{$1}++ }
        elsif (/^# TYPE ($name) (counter|gauge|histogram|summary|untyped)$/) {
            print "line $.: second TYPE for $1\n", $bad++ if $type{$1}++;
        } elsif (/^($name)$labels? $num$/) {
            print "line $.: sample of $1 before its TYPE\n", $bad++ unless $type{$1};
            $samples++;
        } else { print "line $.: not in the format: $_\n"; $bad++ }
        END { print "no sample\n", $bad++ unless $samples; exit($bad ? 1 : 0) }' "$1"
}
# metric FILE NAME [LABELS-REGEX]: the value of the first sample of NAME
# whose labels match; empty if none.
metric() {
    perl -ne 'BEGIN { ($n, $l) = (shift, shift) }
        if (/^\Q$n\E\{([^}]*)\} (\S+)$/) { my $v = $2; if ($1 =~ /$l/) { print "$v\n"; exit } }' \
        "$2" "${3:-.}" "$1"
}
# metric_is PROM NAME WANT: the first sample of NAME in PROM is WANT.
metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; }

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"

# ---- a single-process server: the fixture server
cache=$T/cache metrics=$T/metrics
mkdir -m 0755 "$cache" "$metrics"
start_fixture_server fixture AUTOSTAPLE_CACHE_DIR="$cache" AUTOSTAPLE_METRICS_DIR="$metrics" \
    AUTOSTAPLE_METRICS_INTERVAL=1 "${FIXTURE_RSA[@]}"
pid=$fixture_PID
sf=$cache/status-$pid.txt prom=$metrics/autostaple-$pid.prom
check "fixture: the status file appears, named by the pid" eventually 5 test -s "$sf"
is "$(stat -c %a "$sf")" 644 "fixture: the status file is mode 0644"
check "fixture: the metrics file appears" eventually 5 test -s "$prom"
is "$(stat -c %a "$prom")" 644 "fixture: the metrics file is mode 0644"
is "$(status_field "$sf" pid) $(status_field "$sf" start_ticks)" \
    "$pid $(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$pid/stat")" \
    "fixture: the status file names the process and its start time"
is "$(staple_of "$PORT")" good "fixture: stapled"
check "fixture: curl --cert-status accepts it" curl_verify "$PORT" good.test

# The file is rewritten within a second of the publication (coalesced).
status_good() { [ "$(status_field "$sf" status)" = good ]; }
check "fixture: the status file says good" eventually 3 status_good
out=$("$AUTOSTAPLE" status --cache-dir "$cache" 2>&1)
rc=$?
is "$rc" 0 "autostaple status: exit 0"
note "$out"
row=$(grep -F '/CN=good.test' <<<"$out")
like "$out" "fixture_server \\(pid $pid\\)" "autostaple status: names the process"
like "$row" "/CN=good.test +$serial +good " "autostaple status: subject, serial (as openssl x509 -serial) and status good"
produced=$(ocsp_time "$cache/$fp.ocsp" "Produced At")
next=$(ocsp_time "$cache/$fp.ocsp" "Next Update")
check "the saved response's times are readable ($produced, $next)" test -n "$produced" -a -n "$next"
like "$row" " ${produced/T/ } +${next/T/ } " "autostaple status: produced and next update are the saved response's"
is "$(status_field "$sf" produced) $(status_field "$sf" next_update)" "$produced $next" \
    "the status file: produced and next_update as openssl ocsp -respin reads them"
like "$(status_field "$sf" last_fetch)" "^[0-9T:Z-]+ good$" "the status file: the last fetch and its result"
is "$(status_field "$sf" last_error)" - "the status file: no error yet"
# Once the fetch thread has put the certificate back (a rewrite within a
# second), the next fetch is a time, not "now (in progress)".
next_fetch_scheduled() { [[ $(status_field "$sf" next_fetch) =~ ^[0-9]{4}- ]]; }
check "the status file: the next fetch is scheduled ($(status_field "$sf" next_fetch))" \
    eventually 3 next_fetch_scheduled
is "$(env AUTOSTAPLE_CACHE_DIR="$cache" "$AUTOSTAPLE" status | grep -c good.test)" 1 \
    "autostaple status: the directory defaults to \$AUTOSTAPLE_CACHE_DIR"

check "metrics: the file follows the exposition format" valid_prom "$prom"
for m in autostaple_fetches_total autostaple_fetch_failures_total autostaple_staples_total \
    autostaple_unstapled_total autostaple_certificates autostaple_response_expiry_seconds; do
    check "metrics: $m has HELP and TYPE" grep -q "^# TYPE $m " "$prom"
done
is "$(metric "$prom" autostaple_certificates)" 1 "metrics: one certificate"
is "$(metric "$prom" autostaple_fetches_total)" 1 "metrics: one request sent"
# metric_now FILE NAME: once the file was rewritten after the last handshake
metric_now() { sleep 1.5; metric "$1" "$2"; }
before=$(metric_now "$prom" autostaple_staples_total)
for i in 1 2 3 4 5; do staple_of "$PORT" >/dev/null; done
check "metrics: 5 handshakes with status: staples_total grows by 5 (from $before)" \
    eventually 5 metric_is "$prom" autostaple_staples_total $((before + 5))
is "$(metric "$prom" autostaple_unstapled_total)" 0 "metrics: nothing unstapled"
expiry=$(metric "$prom" autostaple_response_expiry_seconds "subject=\"/CN=good.test\",serial=\"$serial\"")
want=$(($(date -u -d "$next" +%s) - $(date +%s)))
check "metrics: the expiry gauge ($expiry) is nextUpdate - now ($want), within 3 s" \
    test -n "$expiry" -a "${expiry:-0}" -le $((want + 3)) -a "${expiry:-0}" -ge $((want - 3))
like "$(cat "$prom")" 'reason="connect"} 0' "metrics: failures by reason, none yet"

AS_TERM_GRACE=10 stop_bg fixture
check_fails "fixture stopped: its status file is removed" test -e "$sf"
check_fails "fixture stopped: its metrics file is removed" test -e "$prom"
is "$(find "$cache" "$metrics" -name '*.tmp' | wc -l)" 0 "no temporary file left behind"

# ---- a daemon whose first process exits after forking: the survivor takes
# the refresh over (on a handshake), and with it the status file
mkdir -m 0755 "$T/dcache"
at_exit '[ -s "$T/daemon.pid" ] && _as_terminate "$(cat "$T/daemon.pid")"'
start_fixture_server daemon AUTOSTAPLE_CACHE_DIR="$T/dcache" "${FIXTURE_RSA[@]}" \
    -daemonize "$T/daemon.pid" -log "$T/daemon.out"
dpid=$(cat "$T/daemon.pid")
is "$(staple_of "$PORT")" good "daemon: stapled"
check "daemon: the survivor writes its status file" eventually 5 test -s "$T/dcache/status-$dpid.txt"
out=$("$AUTOSTAPLE" status --cache-dir "$T/dcache")
note "$out"
is "$(grep -c '(pid ' <<<"$out")" 1 "daemon: autostaple status shows one live process"
like "$out" "fixture_server \\(pid $dpid\\)" "daemon: the survivor"
like "$(grep -F good.test <<<"$out")" "/CN=good.test +$serial +good " "daemon: its certificate, good"
if [[ $AS_SHIM == *libtsan* ]]; then
    # A process forked from a multi-threaded one under ThreadSanitizer does
    # not act on SIGTERM (seen with and without the library's reporter).
    skip "ThreadSanitizer: the daemon does not exit on SIGTERM"
else
    AS_TERM_GRACE=10 _as_terminate "$dpid"
    check_fails "daemon stopped: its status file is removed" test -e "$T/dcache/status-$dpid.txt"
fi

# ---- stale files: a pid that is gone, a pid reused by another process
out=$("$AUTOSTAPLE" status --cache-dir "$cache")
is "$?" 0 "an empty directory: exit 0"
like "$out" "no running server has written a status in $cache" "an empty directory: says so"
sleep 0 &
gone=$!
wait "$gone"
mkdir -m 0755 "$T/stale"
printf 'autostaple-status: 1\npid: %s\nprogram: old\nstart_ticks: 1\nwritten: 2026-01-01T00:00:00Z\n\ncertificate: /CN=gone.test\nserial: 01\nstatus: good\n\n' \
    "$gone" >"$T/stale/status-$gone.txt"
printf 'autostaple-status: 1\npid: %s\nprogram: reused\nstart_ticks: 1\nwritten: 2026-01-01T00:00:00Z\n\n' \
    "$$" >"$T/stale/status-$$.txt"
out=$("$AUTOSTAPLE" status --cache-dir "$T/stale")
is "$?" 0 "stale files only: exit 0"
unlike "$out" "gone.test" "a gone process's file is skipped"
like "$out" "2 stale status files of processes that are gone not shown" "and counted in a footer"
out=$("$AUTOSTAPLE" status --all --cache-dir "$T/stale")
like "$out" "old \\(pid $gone\\): GONE" "--all: shown, as gone"
like "$out" "reused \\(pid $$\\): GONE" "--all: a reused pid (another start time) is gone too"
like "$out" "/CN=gone.test" "--all: with its certificates"

# --prune: the files of processes that are gone go (status, and metrics in
# the metrics directory); a running server's stay.
mkdir -m 0755 "$T/stale-metrics"
echo "# old" >"$T/stale-metrics/autostaple-$gone.prom"
start_shim_s_server live leaf-rsa AUTOSTAPLE_CACHE_DIR="$T/stale" \
    AUTOSTAPLE_METRICS_DIR="$T/stale-metrics"
check "(a running server writes its status there)" eventually 10 test -s "$T/stale/status-$live_PID.txt"
out=$("$AUTOSTAPLE" status --prune --cache-dir "$T/stale" --metrics-dir "$T/stale-metrics")
is "$?" 0 "--prune: exit 0"
like "$out" "removed $T/stale/status-$gone.txt \(process $gone is gone\)" "--prune: a gone process's file, said"
like "$out" "removed $T/stale-metrics/autostaple-$gone.prom" "--prune: and its metrics file"
is "$(cd "$T/stale" && ls status-*.txt)" "status-$live_PID.txt" "--prune: only the running server's status file is left"
like "$out" "openssl \(pid $live_PID\)" "--prune: the running server is shown as usual"
stop_bg live

out=$(env -u AUTOSTAPLE_CACHE_DIR "$AUTOSTAPLE" status 2>&1)
is "$?" 2 "no cache directory: exit 2"
like "$out" "AUTOSTAPLE_CACHE_DIR is not set" "no cache directory: says so"
"$AUTOSTAPLE" status --cache-dir "$T/no/such" >/dev/null 2>"$T/nosuch.err"
is "$?" 1 "a directory that cannot be read: exit 1"
"$AUTOSTAPLE" status --bogus >/dev/null 2>&1
is "$?" 2 "a bad argument: exit 2"

# ---- a responder failure after a good response: the last error shows
start_renewing_responder leaf-rsa 16
mkdir -m 0755 "$T/cache2"
start_fixture_server renewed AUTOSTAPLE_CACHE_DIR="$T/cache2" \
    AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" "${FIXTURE_RSA[@]}"
is "$(staple_of "$PORT")" good "short-lived responses: stapled"
stop_bg renewing
stop_bg renewer
sf=$T/cache2/status-$renewed_PID.txt
has_error() { [ "$(status_field "$sf" last_error)" != - ]; }
check "responder gone: the next refresh fails, the status file records it" eventually 15 has_error
out=$("$AUTOSTAPLE" status --cache-dir "$T/cache2")
note "$out"
# (libcurl's text: "Couldn't connect to server" up to 8.x, "Could not connect
# to server" in Debian 13's 8.14)
like "$(grep -F good.test <<<"$out")" " good .*Could(n't| not) connect to server" \
    "autostaple status: still good (held), with the last error"
like "$(status_field "$sf" last_fetch)" " connect$" "the status file: the last fetch failed to connect"
stop_bg renewed

# ---- failures by reason, and unstapled handshakes, per responder fault
# reason_server NAME RESPONDER: an s_server with that responder, metrics every second
reason_server() {
    mkdir -m 0755 "$T/m-$1"
    start_shim_s_server "$1" leaf-rsa AUTOSTAPLE_RESPONDER="$2" AUTOSTAPLE_METRICS_DIR="$T/m-$1" \
        AUTOSTAPLE_METRICS_INTERVAL=1 AUTOSTAPLE_CACHE_DIR="$T/m-$1" AUTOSTAPLE_STARTUP_WAIT=1
    PROM=$T/m-$1/autostaple-$BG_PID.prom
}
failed_for() { [ "$(metric "$1" autostaple_fetch_failures_total "reason=\"$2\"")" -ge 1 ] 2>/dev/null; }
dead=$(free_port)
reason_server down "http://127.0.0.1:$dead/"
check "responder down: failures{reason=connect} counted" eventually 5 failed_for "$PROM" connect
check "responder down: the file follows the format" valid_prom "$PROM"
before=$(metric_now "$PROM" autostaple_unstapled_total)
for i in 1 2 3 4; do staple_of "$PORT" >/dev/null; done
check "responder down, nothing held: 4 handshakes -> unstapled_total grows by 4 (from $before)" \
    eventually 5 metric_is "$PROM" autostaple_unstapled_total $((before + 4))
is "$(metric "$PROM" autostaple_staples_total)" 0 "responder down: no staple counted"
is "$(metric "$PROM" autostaple_response_expiry_seconds)" "" "responder down: no expiry sample while none is held"
out=$("$AUTOSTAPLE" status --cache-dir "$T/m-down")
like "$(grep -F good.test <<<"$out")" " none .*Could(n't| not) connect" "autostaple status: status none, and the error"
stop_bg down

start_fake http500 0 status:500
reason_server http "http://127.0.0.1:$FAKE_PORT/"
check "HTTP 500: failures{reason=http} counted" eventually 5 failed_for "$PROM" http
stop_bg http
start_fake trylater 0 trylater
reason_server trylater "http://127.0.0.1:$FAKE_PORT/"
check "tryLater: failures{reason=unsuccessful} counted" eventually 5 failed_for "$PROM" unsuccessful
stop_bg trylater
start_fake garbage 0 garbage
reason_server garbage "http://127.0.0.1:$FAKE_PORT/"
check "garbage: failures{reason=malformed} counted" eventually 5 failed_for "$PROM" malformed
is "$(metric "$PROM" autostaple_fetch_failures_total 'reason="http"')" 0 "garbage: and not as http"
stop_bg garbage

# ---- nginx, 4 workers: one file, the master's, counting the workers' handshakes
if [ -x /usr/sbin/nginx ]; then
    PORT=$(free_port)
    mkdir -p "$T/nginx"
    mkdir -m 0755 "$T/ncache" "$T/nmetrics"
    start_bg nginx env AUTOSTAPLE_CACHE_DIR="$T/ncache" AUTOSTAPLE_METRICS_DIR="$T/nmetrics" \
        AUTOSTAPLE_METRICS_INTERVAL=1 LD_PRELOAD="$AS_SHIM" "$AS_SRC/tests/servers/nginx.sh" \
        "$T/nginx" "$PORT" "$AS_PKI/leaf-rsa-full.pem" "$AS_PKI/leaf-rsa.key" 4
    wait_for_port "$PORT" 15 || _as_infra_fail "nginx starts" "$T/nginx.log"
    nprom=$T/nmetrics/autostaple-$nginx_PID.prom
    check "nginx: the master's metrics file appears" eventually 5 test -s "$nprom"
    check "nginx: the master's status file appears" eventually 5 test -s "$T/ncache/status-$nginx_PID.txt"
    is "$(find "$T/nmetrics" -name '*.prom' | wc -l) $(find "$T/ncache" -name 'status-*' | wc -l)" \
        "1 1" "nginx: one file each (the fetching process's), not one per worker"
    before=$(metric_now "$nprom" autostaple_staples_total)
    for i in 1 2 3 4 5 6 7 8; do staple_of "$PORT" >/dev/null; done
    check "nginx, 4 workers: 8 handshakes -> staples_total grows by 8 (from $before)" \
        eventually 5 metric_is "$nprom" autostaple_staples_total $((before + 8))
    check "nginx: curl --cert-status accepts the staple" curl_verify "$PORT" good.test
    out=$("$AUTOSTAPLE" status --cache-dir "$T/ncache")
    like "$out" "nginx \\(pid $nginx_PID\\)" "nginx: autostaple status shows the master"
    like "$(grep -F good.test <<<"$out")" "/CN=good.test +$serial +good " \
        "nginx: and its certificate, good"
    AS_TERM_GRACE=10 stop_bg nginx
    check_fails "nginx stopped: the status file is removed" test -e "$T/ncache/status-$nginx_PID.txt"
    check_fails "nginx stopped: the metrics file is removed" test -e "$nprom"
else
    skip "nginx is not installed" 9
fi
done_testing
