#!/bin/bash
# bench/scale.sh [N] [--quick]: the library with many certificates in one
# process, and the time to a first staple (issue 5, targets 4 and 5).
#
#   N        certificates (default 10000; 1000 with --quick)
#   --quick  fewer and shorter rounds, for a check that it all works
#
# Makes a test PKI (tests/pki/mkpki.sh) and N certificates (scale_certs: one
# EC key, issued by the PKI's intermediate, AIA OCSP URL pointing at one
# local `openssl ocsp -port` responder, single-threaded, which knows every
# serial as good and signs with the intermediate's RSA key), then:
#
#  1. starts fixture_server with the N certificates (one SNI context each,
#     -sni-list) under the library and times, from its start, until every
#     certificate has a verified staple (the library's "stapling a good
#     response" lines); samples the library's connections to the responder
#     (ss, every 50 ms); checks every staple with a strict client
#     (scale_client -sweep: one handshake per name); counts the requests at
#     the responder (it logs each request's first line, and a GET request
#     names its certificate: each certificate asked once?);
#  2. the refresh times the library chose (thisUpdate + "next refresh in"):
#     their spread, and the most due in any second and any minute;
#  3. memory: RSS (smaps_rollup) and address space (VmSize) of that server
#     and of the same server without the library, and of both with one
#     certificate, once all is stapled and before any handshake: per
#     certificate, beyond the bytes of the response (total, and marginal
#     between 1 and N);
#  4. the handshake rate with N certificates (random SNI names) and with
#     one, alternated in rounds (same client, same settings), and without
#     the library with N;
#  5. the time from a certificate's load to a stapled handshake
#     (scale_first, fresh process each run), next to the responder's own
#     answer time, with the default AUTOSTAPLE_STARTUP_WAIT and with 0; and
#     for a second certificate loaded once the first is stapled (libcurl,
#     loaded for the first fetch of a process, is there by then).
#
# AUTOSTAPLE_* variables of the caller apply to the library (for instance
# AUTOSTAPLE_MAX_FETCHES=1).  Environment: BUILD (default build),
# BENCH_QUICK=1 (as --quick), SCALE_ROUNDS, SCALE_SECONDS (rate rounds and
# their length), SCALE_FIRST_RUNS, SCALE_NMIN (validity of responses,
# minutes, default 60), BENCH_KEEP=1 (keep the work directory; SCALE_KEEP=1
# too), BENCH_OUT.  Results on stdout and in $BENCH_OUT/scale.md (default
# build/bench-results).
set -u
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
N=''
for a in "$@"; do
    case $a in
    --quick) QUICK=1 ;;
    [0-9]*) N=$a ;;
    *) sed -n '2,/^set -u/p' "$0" | sed 's/^# \{0,1\}//;$d' >&2; exit 2 ;;
    esac
done
if [ "$QUICK" = 1 ]; then
    N=${N:-1000} ROUNDS=${SCALE_ROUNDS:-2} SECS=${SCALE_SECONDS:-2} FIRST_RUNS=${SCALE_FIRST_RUNS:-5}
else
    N=${N:-10000} ROUNDS=${SCALE_ROUNDS:-10} SECS=${SCALE_SECONDS:-3} FIRST_RUNS=${SCALE_FIRST_RUNS:-20}
fi
NMIN=${SCALE_NMIN:-60}

rss() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/smaps_rollup"; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minmax() { sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'; }

# ---------------------------------------------------------------- build
say "building"
make -C "$ROOT" --no-print-directory bench-tools test-tools >"$W/build.log" 2>&1 || {
    cat "$W/build.log" >&2
    die "make failed"
}
FIXTURE=$BUILD/tests/fixture_server
CLIENT=$BUILD/bench/scale_client

# ---------------------------------------------------------------- machine
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -n1), kernel $(uname -r)"
    echo "openssl: $(openssl version)"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "certificates: $N; responses valid $NMIN min; AUTOSTAPLE_*: $(env | grep '^AUTOSTAPLE_' | tr '\n' ' ')"
} | tee "$W/results.txt"

# ---------------------------------------------------------------- PKI, certificates, responder
RP=$(free_port)
say "test PKI and $N certificates"
"$ROOT/tests/pki/mkpki.sh" "$W/pki" "$(free_port)" "$(free_port)" >"$W/pki.log" 2>&1 ||
    { cat "$W/pki.log" >&2; die "mkpki failed"; }
C=$W/certs
"$BUILD/bench/scale_certs" -n "$N" -ca "$W/pki/inter.pem" -cakey "$W/pki/inter.key" \
    -out "$C" -aia "http://127.0.0.1:$RP/" -chain "$W/pki/inter.pem" 2>"$W/certs.log" ||
    { cat "$W/certs.log" >&2; die "scale_certs failed"; }
cat "$W/certs.log" >&2
head -n1 "$C/sni.list" >"$C/one.list"
head -n1 "$C/names.txt" >"$C/one.names"
say "openssl ocsp responder on 127.0.0.1:$RP"
start_bg responder env LD_PRELOAD="$BUILD/tests/loopback_bind.so" openssl ocsp \
    -index "$C/index.txt" -port "$RP" -CA "$W/pki/inter.pem" -rsigner "$W/pki/inter.pem" \
    -rkey "$W/pki/inter.key" -nmin "$NMIN" -ignore_err
wait_for_log "$W/responder.log" "waiting for OCSP client connections" 10 || die "the responder does not start"
# requests: the responder's "Received request, 1st line: GET /<request>"
# lines so far (a GET request is the certificate's CertID, no nonce).
requests() { sed -n 's/^ocsp: Received request, 1st line: //p' "$W/responder.log"; }

# server NAME LIST SHIM|plain: a fixture server with the contexts of LIST,
# the first certificate also as the default one; SERVER_PID, SERVER_PORT.
server() {
    local name=$1 list=$2 pre=()
    [ "$3" = shim ] && pre=(LD_PRELOAD="$SHIM")
    SERVER_PORT=$(free_port)
    start_bg "$name" env "${pre[@]}" "$FIXTURE" -port "$SERVER_PORT" -threads 2 -max-seconds 3600 \
        -cert "$C/certs/host1.pem" -key "$C/key.pem" -chain "$W/pki/inter.pem" -sni-list "$list"
    SERVER_PID=$BG_PID
}

# ---------------------------------------------------------------- 1. all stapled
say "1. fixture_server with $N certificates under the library"
t0=$(now_ms)
server shimN "$C/sni.list" shim
P_SHIMN=$SERVER_PORT PID_SHIMN=$SERVER_PID
t_ready='' t_all='' peak=0
: >"$W/concurrency.txt"
while :; do
    t=$(now_ms)
    [ -z "$t_ready" ] && grep -q '^ready' "$W/shimN.log" && t_ready=$((t - t0))
    c=$(ss -Htn state established "( dport = :$RP )" 2>/dev/null | wc -l)
    echo "$((t - t0)) $c" >>"$W/concurrency.txt"
    [ "$c" -gt "$peak" ] && peak=$c
    if [ "$(stapled "$W/shimN.log")" -ge "$N" ]; then t_all=$((t - t0)); break; fi
    kill -0 "$PID_SHIMN" 2>/dev/null || die "the server died: $(tail -n 5 "$W/shimN.log")"
    [ $((t - t0)) -gt 180000 ] && break
    sleep 0.05
done
if [ -z "$t_ready" ] && wait_for_log "$W/shimN.log" '^ready' 30; then t_ready=$(($(now_ms) - t0)); fi
n_stapled=$(stapled "$W/shimN.log")
say "   $n_stapled stapled after ${t_all:-(not all)} ms (ready, listening, at $t_ready ms)"
sleep 1
requests >"$W/requests.txt"
req_total=$(wc -l <"$W/requests.txt")
req_distinct=$(sort -u "$W/requests.txt" | wc -l)
req_twice=$(sort "$W/requests.txt" | uniq -d | wc -l)
req_post=$(grep -c '^POST' "$W/requests.txt")

# The same server without the library, for memory and rate.
server plainN "$C/sni.list" plain
P_PLAINN=$SERVER_PORT PID_PLAINN=$SERVER_PID
t1=$(now_ms)
wait_for_log "$W/plainN.log" '^ready' 120 || die "the server without the library does not start"
t_plain_ready=$(($(now_ms) - t1))
server shim1 "$C/one.list" shim
P_SHIM1=$SERVER_PORT PID_SHIM1=$SERVER_PID
server plain1 "$C/one.list" plain
PID_PLAIN1=$SERVER_PID
wait_for_log "$W/shim1.log" 'stapling a good response' 20 || die "the one-certificate server staples nothing"
wait_for_log "$W/plain1.log" '^ready' 20 || die "the one-certificate server without the library does not start"
sleep 1

# ---------------------------------------------------------------- 3. memory (before any handshake)
mem() { echo "$(rss "$1" Rss) $(rss "$1" Anonymous) $(rss "$1" Pss_Shmem) $(rss "$1" Pss_File)"; }
read -r rs_n an_n sh_n fi_n <<<"$(mem "$PID_SHIMN")"
read -r rp_n ap_n _ fp_n <<<"$(mem "$PID_PLAINN")"
read -r rs_1 _ _ _ <<<"$(mem "$PID_SHIM1")"
read -r rp_1 _ _ _ <<<"$(mem "$PID_PLAIN1")"
# address space mapped (VmSize, kB): the shared cache's segments follow the
# certificates learned, not AUTOSTAPLE_MAX_CERTS
vsz() { awk '$1 == "VmSize:" { print $2 }' "/proc/$1/status"; }
vs_n=$(vsz "$PID_SHIMN") vp_n=$(vsz "$PID_PLAINN") vs_1=$(vsz "$PID_SHIM1") vp_1=$(vsz "$PID_PLAIN1")

resp_len=$(openssl ocsp -issuer "$W/pki/inter.pem" -cert "$C/certs/host2.pem" -no_nonce \
    -url "http://127.0.0.1:$RP/" -respout "$W/one.der" >/dev/null 2>&1 && wc -c <"$W/one.der")

# ---------------------------------------------------------------- verification sweep
say "   checking every staple (one handshake per name, strict client)"
sweep=$("$CLIENT" -port "$P_SHIMN" -names "$C/names.txt" -issuer "$W/pki/inter.pem" \
    -CAfile "$W/pki/root.pem" -threads 2 -sweep 2>"$W/sweep.err")

# ---------------------------------------------------------------- 2. refresh spread
# thisUpdate (to the second) + "next refresh in S s": when each certificate
# is due again; seconds of the day, a day later if the date moved on.
sed -n 's/.*stapling a good response.*thisUpdate \([0-9-]*\) \([0-9:]*\)Z.*next refresh in \([0-9]*\) s).*/\1 \2 \3/p' \
    "$W/shimN.log" | awk '
    NR == 1 { d0 = $1 }
    { split($2, t, ":"); s = t[1] * 3600 + t[2] * 60 + t[3]; if ($1 != d0) s += 86400
      print s, s + $3 }' >"$W/refresh.txt"
read -r f_lo f_hi r_lo r_hi per_s per_min <<<"$(awk '
    NR == 1 { flo = fhi = $1; rlo = rhi = $2 }
    { if ($1 < flo) flo = $1; if ($1 > fhi) fhi = $1; if ($2 < rlo) rlo = $2; if ($2 > rhi) rhi = $2
      s[$2]++; m[int($2 / 60)]++ }
    END { for (k in s) if (s[k] > ms) ms = s[k]; for (k in m) if (m[k] > mm) mm = m[k]
          print flo, fhi, rlo, rhi, ms, mm }' "$W/refresh.txt")"

# ---------------------------------------------------------------- 4. handshake rate
say "4. handshake rate: $ROUNDS rounds of $SECS s on each server"
rate() {   # rate PORT NAMES -> handshakes per second (and checks every staple was there)
    local out
    out=$("$CLIENT" -port "$1" -names "$2" -issuer "$W/pki/inter.pem" -threads 2 -seconds "$SECS")
    echo "$out" >>"$W/rate.log"
    echo "$out" | awk '{ print $6, $8, $10 }'   # rate stapled unstapled
}
: >"$W/rates.txt"
for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then order="one many plain"; else order="plain many one"; fi
    declare -A got=()
    for which in $order; do
        case $which in
        one) read -r v _ un <<<"$(rate "$P_SHIM1" "$C/one.names")" ;;
        many) read -r v _ un <<<"$(rate "$P_SHIMN" "$C/names.txt")" ;;
        plain) read -r v _ un <<<"$(rate "$P_PLAINN" "$C/names.txt")" ;;
        esac
        got[$which]=$v
        [ "$which" != plain ] && [ "$un" != 0 ] && say "   round $r, $which: $un handshakes unstapled"
    done
    echo "${got[one]} ${got[many]} ${got[plain]}" >>"$W/rates.txt"
    say "   round $r: one certificate ${got[one]}/s, $N certificates ${got[many]}/s, without the library ${got[plain]}/s"
done
ratio_med=$(awk '{ print $2 / $1 }' "$W/rates.txt" | median)
ratio_sum=$(awk '{ a += $1; b += $2 } END { printf "%.3f", b / a }' "$W/rates.txt")
plain_med=$(awk '{ print $2 / $3 }' "$W/rates.txt" | median)
rate_one=$(awk '{ print $1 }' "$W/rates.txt" | median)
rate_many=$(awk '{ print $2 }' "$W/rates.txt" | median)
rate_plain=$(awk '{ print $3 }' "$W/rates.txt" | median)
for p in "$PID_SHIMN" "$PID_PLAINN" "$PID_SHIM1" "$PID_PLAIN1"; do stop_pid "$p"; done

# ---------------------------------------------------------------- 5. first staple
say "5. time to the first staple: $FIRST_RUNS runs each"
first() {   # first STARTUP_WAIT OFFSET: FIRST_RUNS runs of scale_first
    local i a b
    for i in $(seq 1 "$FIRST_RUNS"); do
        a=$((2 + (i + $2) % (N - 1))) b=$((2 + (i + $2 + FIRST_RUNS) % (N - 1)))
        env AUTOSTAPLE_STARTUP_WAIT="$1" LD_PRELOAD="$SHIM" "$BUILD/bench/scale_first" \
            -cert "$C/certs/host$a.pem" -cert2 "$C/certs/host$b.pem" -key "$C/key.pem" \
            -chain "$W/pki/inter.pem" -issuer "$W/pki/inter.pem" -url "http://127.0.0.1:$RP/" \
            2>>"$W/first.err"
    done
}
wait_default=${AUTOSTAPLE_STARTUP_WAIT:-2}
first "$wait_default" 0 >"$W/first-wait.txt"
first 0 $((2 * FIRST_RUNS)) >"$W/first-nowait.txt"
col() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "$2"; }

# ---------------------------------------------------------------- results
kb_per_cert=$(awk -v a="$rs_n" -v b="$rp_n" -v n="$N" -v r="$resp_len" \
    'BEGIN { printf "%.0f", ((a - b) * 1024 - n * r) / n }')
marginal=$(awk -v a="$rs_n" -v b="$rp_n" -v c="$rs_1" -v d="$rp_1" -v n="$N" -v r="$resp_len" \
    'BEGIN { printf "%.0f", (((a - b) - (c - d)) * 1024 - (n - 1) * r) / (n - 1) }')
{
    echo
    echo "== 4. $N certificates in one process"
    echo "all stapled (verified by the library) after: ${t_all:-NOT ALL ($n_stapled)} ms from the server's start (target 60000)"
    echo "  server listening (after loading, and AUTOSTAPLE_STARTUP_WAIT) at: $t_ready ms; the same server without the library loads in $t_plain_ready ms"
    echo "  strict client, one handshake per name: $sweep"
    echo "  requests at the responder until then: $req_total for $N certificates ($req_post by POST), $req_distinct distinct, $req_twice asked more than once"
    echo "  connections to the responder at once (sampled every 50 ms): at most $peak (AUTOSTAPLE_MAX_FETCHES=${AUTOSTAPLE_MAX_FETCHES:-4})"
    echo "  first fetches: thisUpdate over $((f_hi - f_lo + 1)) s; next refreshes from +$((r_lo - f_lo)) s to +$((r_hi - f_lo)) s after the first fetch (a band of $((r_hi - r_lo)) s), at most $per_s in one second, $per_min in one minute (responses valid $((NMIN * 60)) s)"
    echo "  memory (RSS, kB): with the library $rs_n (anonymous $an_n, shared $sh_n, files $fi_n), without $rp_n (anonymous $ap_n, files $fp_n); one certificate: $rs_1 with, $rp_1 without"
    echo "  address space (VmSize, kB): $N certificates: $vs_n with the library, $vp_n without; one certificate: $vs_1 with, $vp_1 without"
    echo "  response size: $resp_len bytes; added per certificate beyond it: $kb_per_cert bytes in all, $marginal bytes marginal (target 4096)"
    echo "  handshakes/s (median of $ROUNDS rounds of $SECS s, 2 client threads, 2 server threads): one certificate $rate_one, $N certificates $rate_many, $N without the library $rate_plain"
    echo "  ratio $N/one: median $ratio_med, overall $ratio_sum (target 0.95); $N with/without the library: $plain_med"
    echo
    echo "== 5. time to the first staple (ms; median, min-max of $FIRST_RUNS runs)"
    for f in first-wait first-nowait; do
        [ $f = first-wait ] && label="AUTOSTAPLE_STARTUP_WAIT=$wait_default" || label="AUTOSTAPLE_STARTUP_WAIT=0"
        echo "  $label: first stapled handshake $(col first_staple_ms "$W/$f.txt" | median) ($(col first_staple_ms "$W/$f.txt" | minmax)); responder alone $(col responder_ms "$W/$f.txt" | median) ($(col responder_ms "$W/$f.txt" | minmax)); overhead $(col overhead_ms "$W/$f.txt" | median) ($(col overhead_ms "$W/$f.txt" | minmax)) (target 10)"
        echo "    a second certificate, libcurl loaded: $(col second_ms "$W/$f.txt" | median) ($(col second_ms "$W/$f.txt" | minmax)); overhead $(col second_overhead_ms "$W/$f.txt" | median) ($(col second_overhead_ms "$W/$f.txt" | minmax))"
    done
    echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$W/results.txt"
cp "$W/results.txt" "$OUT/scale.md"
exit 0
