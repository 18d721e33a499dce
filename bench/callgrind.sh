#!/bin/bash
# bench/callgrind.sh: instructions per stapled handshake, counted by
# callgrind (exact and repeatable, on a machine however noisy).
#
# Each server runs under valgrind --tool=callgrind with instrumentation off
# until it has loaded its certificates, the shim has fetched every response
# (its log says so) and 20 handshakes have warmed it up; then instrumentation
# goes on for BENCH_CG_HANDSHAKES handshakes by bench/hsbench (one thread,
# full handshakes, status_request, SNI going round all the certificates),
# and the counts are dumped.  Per handshake:
#   total   every instruction the server executed (all threads)
#   cb      inclusive instructions of the shim's status callback
#           (our_callback in shim/status_cb.c): lookup, expiry check, copy
#   self    instructions executed in the shim's own code (both objects,
#           callback and hooks, without what they call)
# and the calls to malloc and free (for bench/contention.sh's mttax).
# Servers: tests/servers/fixture_server (-threads 2) without and with the
# shim, nginx (one process: master_process off) without stapling, with its
# own stapling (ssl_stapling_file, one certificate) and with the shim; each
# with 1, 100 and 1000 certificates loaded (BENCH_CG_COUNTS), so that the
# cost of choosing among them by SNI, which is the server's, is in both
# columns of a comparison.  The fixture server takes at most 256
# certificates unless it has -sni-list.
#
# Environment: BUILD, BENCH_OUT, BENCH_QUICK=1 (counts 1 and 100, 100
# handshakes), BENCH_CG_HANDSHAKES (300), BENCH_CG_COUNTS ("1 100 1000").
# Writes $BENCH_OUT/callgrind.tsv and callgrind.md; the raw profiles stay in
# $BENCH_OUT/callgrind/.
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

hs=${BENCH_CG_HANDSHAKES:-300} counts=${BENCH_CG_COUNTS:-1 100 1000}
if [ "$QUICK" = 1 ]; then hs=${BENCH_CG_HANDSHAKES:-100} counts=${BENCH_CG_COUNTS:-1 100}; fi
HSBENCH=$BUILD/bench/hsbench
command -v valgrind >/dev/null || die "valgrind is missing: apt-get install valgrind"
for f in "$HSBENCH" "$BUILD/bench/mkleaves" "$SHIM" "$BUILD/tests/fakeresponder" \
    "$BUILD/tests/mkresp" "$BUILD/tests/fixture_server"; do
    [ -f "$f" ] || die "$f is missing: make bench-tools"
done
max=1
for n in $counts; do [ "$n" -gt "$max" ] && max=$n; done

pki=$W/pki
ocsp_port=$(free_port)
"$ROOT/bench/pki.sh" "$pki" "$ocsp_port" >/dev/null 2>&1 || die "bench/pki.sh failed"
start_responder "$pki" "$ocsp_port"
"$BUILD/tests/mkresp" -cert "$pki/leaf.pem" -issuer "$pki/inter.pem" -signer "$pki/inter.pem" \
    -key "$pki/inter.key" -this -60 -next 7200 -out "$pki/leaf.ocsp" || die "mkresp failed"
mkdir -p "$W/leaves"
"$BUILD/bench/mkleaves" -issuer "$pki/inter.pem" -issuer-key "$pki/inter.key" \
    -key "$pki/leaf.key" -ocsp "http://127.0.0.1:$ocsp_port/" -n "$max" -dir "$W/leaves" ||
    die "mkleaves failed"
sni_list=0
"$BUILD/tests/fixture_server" 2>&1 | grep -q -- -sni-list && sni_list=1
rm -rf "$OUT/callgrind"
mkdir -p "$OUT/callgrind"

# measure NAME SERVER N STAPLING: the server's pid is BG_PID, listening on
# $port; N certificates; STAPLING none|native|shim.  Appends to the tsv.
measure() {
    local name=$1 server=$2 n=$3 mode=$4 pid=$BG_PID names=() i line want=0 cg
    cg=$OUT/callgrind/$name.out
    wait_for_port "$port" 120 || die "$name does not listen: $(tail -5 "$W/$name.log")"
    if [ "$mode" = shim ]; then
        for ((i = 0; i < 1200; i++)); do
            [ "$(stapled "$W/$name.shim.log")" -ge "$n" ] && break
            sleep 0.2
        done
        [ "$i" -lt 1200 ] || die "$name: not every response fetched: $(tail -3 "$W/$name.shim.log")"
    fi
    for ((i = 1; i < n; i++)); do names+=(-name "host$i.test"); done
    [ "$mode" = none ] || want=20
    line=$("$HSBENCH" -port "$port" -count 20 -threads 1 "${names[@]}" 2>&1) || true
    [ "$(field "$line" stapled)" = "$want" ] || die "$name: warm-up: $line"
    callgrind_control -i on "$pid" >"$W/cgc.out" 2>&1 || die "$name: $(cat "$W/cgc.out")"
    line=$("$HSBENCH" -port "$port" -count "$hs" -threads 1 "${names[@]}" 2>&1) || true
    [ "$mode" = none ] || want=$hs
    if [ "$(field "$line" stapled)" != "$want" ] || [ "$(field "$line" failed)" != 0 ]; then
        die "$name: $line"
    fi
    callgrind_control -d "$pid" >"$W/cgc.out" 2>&1 || die "$name: $(cat "$W/cgc.out")"
    for ((i = 0; i < 100; i++)); do [ -s "$cg.1" ] && break; sleep 0.1; done
    stop_pid "$pid"
    mv "$cg.1" "$cg"
    rm -f "$cg"[0-9]* "$OUT/callgrind/$name.out."* 2>/dev/null || true
    local total cb self
    total=$(callgrind_annotate --auto=no "$cg" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    cb=$(callgrind_annotate --auto=no --inclusive=yes --threshold=100 "$cg" |
        awk '/status_cb\.c:our_callback / { gsub(",", "", $1); print $1 }')
    self=$(callgrind_annotate --auto=no --threshold=100 "$cg" |
        awk '/libautostaple(-core)?\.so\]$/ { gsub(",", "", $1); s += $1 } END { print s + 0 }')
    # calls to malloc and free, from the profile's call records
    read -r mallocs frees <<<"$(perl -ne '
        if (/^(c?fn)=\((\d+)\)(?: (.*))?$/) { $n{$2} = $3 if defined $3; $f = $n{$2} if $1 eq "cfn" }
        if (/^calls=(\d+)/) { my $k = $1; $c{$f} += $k }
        END { printf "%d %d\n", $c{malloc}, $c{free} }' "$cg")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$mode" "$n" "$hs" "${total:-0}" \
        "${cb:-0}" "$self" "$mallocs" "$frees" >>"$tsv"
    say "$name: $((total / hs)) instructions per handshake, callback $((${cb:-0} / hs)), shim's own code $((self / hs))"
}

cg=(valgrind --tool=callgrind --instr-atstart=no)
# fixture_run MODE N
fixture_run() {
    local mode=$1 n=$2 name=fixture-$1-$2 pre=() sni=() i
    port=$(free_port)
    [ "$mode" = shim ] && pre=(env "LD_PRELOAD=$SHIM" "AUTOSTAPLE_LOG=$W/$name.shim.log")
    if [ "$n" -gt 1 ] && [ "$sni_list" = 1 ]; then
        for ((i = 1; i < n; i++)); do
            echo "host$i.test:$W/leaves/host$i.pem:$pki/leaf.key:$pki/chain.pem"
        done >"$W/$name.sni"
        sni=(-sni-list "$W/$name.sni")
    else
        for ((i = 1; i < n; i++)); do
            sni+=(-sni "host$i.test:$W/leaves/host$i.pem:$pki/leaf.key:$pki/chain.pem")
        done
    fi
    start_bg "$name" "${pre[@]}" "${cg[@]}" --callgrind-out-file="$OUT/callgrind/$name.out" \
        "$BUILD/tests/fixture_server" -port "$port" -cert "$pki/leaf.pem" -key "$pki/leaf.key" \
        -chain "$pki/chain.pem" -threads 2 -max-seconds 1800 "${sni[@]}"
    measure "$name" fixture "$n" "$mode"
}
# nginx_run MODE N
nginx_run() {
    local mode=$1 n=$2 name=nginx-$1-$2 pre=()
    port=$(free_port)
    : >"$W/$name.shim.log"
    chmod 666 "$W/$name.shim.log"
    [ "$mode" = shim ] && pre=(env "LD_PRELOAD=$SHIM" "AUTOSTAPLE_LOG=$W/$name.shim.log")
    nginx_conf "$W/$name" "$port" "$mode" "$pki" "$n" "$W/leaves" single
    start_bg "$name" "${pre[@]}" "${cg[@]}" --callgrind-out-file="$OUT/callgrind/$name.out" \
        /usr/sbin/nginx -c "$W/$name/nginx.conf" -p "$W/$name"
    measure "$name" nginx "$n" "$mode"
}

tsv=$OUT/callgrind.tsv
printf 'server\tstapling\tcertificates\thandshakes\ttotal_ir\tcallback_ir\tshim_self_ir\tmalloc_calls\tfree_calls\n' >"$tsv"
say "callgrind, $hs handshakes per run, certificates: $counts"
for n in $counts; do
    if [ "$n" -gt 256 ] && [ "$sni_list" = 0 ]; then
        say "fixture_server takes at most 256 certificates (no -sni-list): skipping $n"
        continue
    fi
    fixture_run none "$n"
    fixture_run shim "$n"
done
for n in $counts; do
    nginx_run none "$n"
    [ "$n" = 1 ] && nginx_run native 1
    nginx_run shim "$n"
done

# per SERVER MODE N COLUMN: instructions per handshake
per() {
    awk -F'\t' -v s="$1" -v m="$2" -v n="$3" -v k="$4" \
        '$1 == s && $2 == m && $3 == n { printf "%.0f", $k / $4 }' "$tsv"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.4f", b / a; else print "-" }'; }
{
    echo "Callgrind: instructions per full TLS 1.3 handshake (ECDSA P-256, status requested), $hs handshakes per run."
    echo
    machine
    echo
    echo "| server | stapling | certificates | instructions per handshake | of which the status callback (inclusive) | shim's own code (self) | capacity vs the same server without stapling (inverse ratio of instructions) |"
    echo "|---|---|---|---|---|---|---|"
    while IFS=$'\t' read -r s m n _ _ _ _ _ _; do
        [ "$s" = server ] && continue
        t=$(per "$s" "$m" "$n" 5)
        base=$(per "$s" none "$n" 5)
        cbv=$(per "$s" "$m" "$n" 6) selfv=$(per "$s" "$m" "$n" 7)
        [ "$m" = shim ] || { cbv=-; selfv=-; }
        printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$s" "$m" "$n" "$t" "$cbv" "$selfv" \
            "$(ratio "$t" "$base")"
    done <"$tsv"
    native=$(per nginx native 1 5) shim=$(per nginx shim 1 5)
    echo
    echo "nginx with the shim / nginx with its own stapling, in instructions per handshake (capacity ratio): $(ratio "$shim" "$native")"
    echo
    echo "Calls per handshake in nginx without stapling: malloc $(per nginx none 1 8), free $(per nginx none 1 9)."

} >"$OUT/callgrind.md"
cat "$OUT/callgrind.md"
