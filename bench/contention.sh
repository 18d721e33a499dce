#!/bin/bash
# bench/contention.sh: the locks a handshake takes because of the shim.  Is
# the lock on its certificate's slot (the process-shared robust mutex in
# shim/cache.c, held while the response is copied) contended?  And what do
# glibc's own locks cost once the shim's thread exists?
#
# 1. The worst case, bench/slotbench: threads doing nothing but copy the
#    same slot's 1500-byte response, 1 and 2 at once (this machine has 2
#    CPUs), and 2 with a writer republishing it 1000 times a second.
#    Nanoseconds per copy, median of BENCH_CONT_REPEATS runs (5).
# 2. Real handshakes: the fixture server with -threads 2 and the shim, one
#    certificate, hammered by hsbench with 4 threads for BENCH_SECONDS (5);
#    perf records every futex system call the server makes, with its call
#    chain (DWARF), and counts those that come from as_slot_copy (a lock
#    that had to wait or wake a waiter) against all of them (OpenSSL's own
#    locks) and against the handshakes.  Skipped without perf.
# 3. bench/mttax: malloc and free in a process that never had a second
#    thread, and in one that has an idle one (as every nginx worker has
#    once the shim's refresher runs in the master: glibc then takes its
#    arena locks), in alternating pairs, BENCH_CONT_REPEATS x 4 of them.
#
# Environment: BUILD, BENCH_OUT, BENCH_QUICK=1.  Writes
# $BENCH_OUT/contention.md.
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

repeats=${BENCH_CONT_REPEATS:-5} secs=${BENCH_SECONDS:-5}
[ "$QUICK" = 1 ] && { repeats=${BENCH_CONT_REPEATS:-3}; secs=${BENCH_SECONDS:-3}; }
SLOT=$BUILD/bench/slotbench
for f in "$SLOT" "$BUILD/bench/mttax" "$BUILD/bench/hsbench" "$SHIM" "$BUILD/tests/fakeresponder" \
    "$BUILD/tests/fixture_server"; do
    [ -f "$f" ] || die "$f is missing: make bench-tools"
done

{
    echo "Contention on a certificate's slot lock."
    echo
    machine
    echo
    echo "| slotbench (copy and free a 1500-byte response, nothing else) | ns per copy, median (min-max) of $repeats | copies per second, all threads |"
    echo "|---|---|---|"
} >"$OUT/contention.md"
declare -A NS RATE
variants=("-threads 1" "-threads 2" "-threads 2 -writer")
for ((r = 0; r < repeats; r++)); do
    for v in "${variants[@]}"; do
        # shellcheck disable=SC2086
        line=$("$SLOT" $v -seconds 1)
        NS[$v]+="$(field "$line" ns_per_copy) "
        RATE[$v]+="$(field "$line" copies_per_s) "
    done
done
for v in "${variants[@]}"; do
    read -r m lo hi <<<"$(tr ' ' '\n' <<<"${NS[$v]}" | grep . | stats)"
    read -r rm _ _ <<<"$(tr ' ' '\n' <<<"${RATE[$v]}" | grep . | stats)"
    printf '| %s | %.0f (%.0f-%.0f) | %.2f million |\n' "${v//-/}" "$m" "$lo" "$hi" \
        "$(awk -v r="$rm" 'BEGIN { print r / 1e6 }')" >>"$OUT/contention.md"
done

# glibc's multi-thread tax, pairs in alternating order
for ((r = 0; r < repeats * 4; r++)); do
    if ((r % 2)); then
        a=$("$BUILD/bench/mttax") b=$("$BUILD/bench/mttax" -thread)
    else
        b=$("$BUILD/bench/mttax" -thread) a=$("$BUILD/bench/mttax")
    fi
    echo "$(field "$a" ns_per_pair) $(field "$b" ns_per_pair)"
done >"$W/mttax"
read -r st _ _ <<<"$(awk '{ print $1 }' "$W/mttax" | stats)"
read -r mt _ _ <<<"$(awk '{ print $2 }' "$W/mttax" | stats)"
read -r d dlo dhi q1 q3 <<<"$(awk '{ print $2 - $1 }' "$W/mttax" | stats quartiles)"
{
    echo
    echo "| bench/mttax: malloc + free, blocks of 16-1015 bytes, 2000 at a time | ns per pair, median of $((repeats * 4)) |"
    echo "|---|---|"
    printf '| no other thread, ever | %.1f |\n' "$st"
    printf '| an idle thread exists | %.1f |\n' "$mt"
    printf '| difference, per pair: median [quartiles] (min-max) | %.1f [%.1f-%.1f] (%.1f-%.1f) |\n' \
        "$d" "$q1" "$q3" "$dlo" "$dhi"
} >>"$OUT/contention.md"

if ! command -v perf >/dev/null || ! perf list 2>/dev/null | grep -q 'syscalls:sys_enter_futex '; then
    echo >>"$OUT/contention.md"
    echo "(perf or its futex tracepoint is missing: the handshake part was skipped.)" >>"$OUT/contention.md"
    cat "$OUT/contention.md"
    exit 0
fi

pki=$W/pki
ocsp_port=$(free_port)
"$ROOT/bench/pki.sh" "$pki" "$ocsp_port" >/dev/null 2>&1 || die "bench/pki.sh failed"
start_responder "$pki" "$ocsp_port"
{
    echo
    echo "| fixture_server -threads 2, 4 client threads, $secs s | handshakes | futex calls by the server | of which from as_slot_copy | per handshake: futex calls, from as_slot_copy |"
    echo "|---|---|---|---|---|"
} >>"$OUT/contention.md"
for mode in none shim; do
    port=$(free_port)
    pre=()
    [ "$mode" = shim ] && pre=(env "LD_PRELOAD=$SHIM")
    start_bg "fixture-$mode" "${pre[@]}" "$BUILD/tests/fixture_server" -port "$port" \
        -cert "$pki/leaf.pem" -key "$pki/leaf.key" -chain "$pki/chain.pem" -threads 2 \
        -max-seconds 3600
    pid=$BG_PID
    wait_for_port "$port" 10 || die "fixture_server: $(cat "$W/fixture-$mode.log")"
    want=0
    [ "$mode" = shim ] && want=20
    for ((i = 0; i < 50; i++)); do
        line=$("$BUILD/bench/hsbench" -port "$port" -count 20 -threads 1)
        [ "$(field "$line" stapled)" = "$want" ] && break
        sleep 0.2
    done
    [ "$(field "$line" stapled)" = "$want" ] || die "fixture-$mode: $line"
    perf record -q -e syscalls:sys_enter_futex --call-graph dwarf,16384 -o "$W/futex-$mode.data" \
        -p "$pid" >/dev/null 2>"$W/perf-$mode.log" &
    perf_pid=$!
    sleep 0.5
    line=$("$BUILD/bench/hsbench" -port "$port" -seconds "$secs" -warmup 0 -threads 4)
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" || true
    stop_pid "$pid"
    perf script -i "$W/futex-$mode.data" >"$W/futex-$mode.txt" 2>/dev/null ||
        die "perf could not record the server: $(cat "$W/perf-$mode.log")"
    all=$(grep -c 'sys_enter_futex' "$W/futex-$mode.txt" || true)
    # one event is a block of lines ending with an empty one
    slot=$(awk 'BEGIN { RS = "" } /as_slot_copy/ { n++ } END { print n + 0 }' "$W/futex-$mode.txt")
    hs=$(field "$line" handshakes)
    say "fixture-$mode: $line; futex calls $all, from as_slot_copy $slot"
    printf '| %s | %s | %s | %s | %.3f, %.4f |\n' "$mode" "$hs" "$all" "$slot" \
        "$(awk -v a="$all" -v h="$hs" 'BEGIN { print a / h }')" \
        "$(awk -v a="$slot" -v h="$hs" 'BEGIN { print a / h }')" >>"$OUT/contention.md"
done
echo >>"$OUT/contention.md"
echo "(perf's window is a little longer than hsbench's, so the counts include a moment of idling.)" >>"$OUT/contention.md"
cat "$OUT/contention.md"
