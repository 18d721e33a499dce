#!/bin/bash
# bench/startup.sh: what the shim costs a program that never serves TLS.
#
# 1. Start-up time, side by side: bench/spawnbench runs each program in
#    pairs, without and with LD_PRELOAD=libautostaple.so (alternating which
#    goes first), and reports the median of each and of the per-pair ratios.
#    Programs: /bin/true, a shell (sh -c :), a shell script that runs three
#    more programs (each preloaded too), `openssl version`, and two TLS
#    clients doing a full handshake with a local server (openssl s_client,
#    curl).  The same is done for an empty library (one symbol, no code), to
#    show what preloading any library costs.  hyperfine cross-checks
#    /bin/true: how many microseconds the library adds.
# 2. What gets mapped: the files mapped by a preloaded shell, sleep,
#    openssl s_client (connected, waiting on its input) and curl (waiting
#    for a server that never answers), against the same without the shim.
#    The only difference allowed is libautostaple.so itself: no libssl,
#    libcrypto, libcurl or libautostaple-core.so because of the shim.
#
# Environment: BUILD, BENCH_OUT, BENCH_QUICK=1 (fewer runs), BENCH_RUNS
# (pairs for the cheap programs, default 1000).  Writes
# $BENCH_OUT/startup.md.
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

runs=${BENCH_RUNS:-1000}
[ "$QUICK" = 1 ] && runs=${BENCH_RUNS:-200}
tls_runs=$((runs / 5))
SPAWN=$BUILD/bench/spawnbench
for f in "$SPAWN" "$SHIM" "$BUILD/tests/fixture_server" "$BUILD/tests/fakeresponder"; do
    [ -f "$f" ] || die "$f is missing: make bench-tools"
done

# An empty library, to tell what any preload costs from what this one does.
echo 'int autostaple_bench_empty;' >"$W/empty.c"
cc -shared -fPIC -O2 -o "$W/empty.so" "$W/empty.c" || die "cannot build the empty library"

pki=$W/pki
"$ROOT/bench/pki.sh" "$pki" "$(free_port)" >/dev/null 2>&1 || die "bench/pki.sh failed"
port=$(free_port)
start_bg server "$BUILD/tests/fixture_server" -port "$port" -cert "$pki/leaf.pem" \
    -key "$pki/leaf.key" -chain "$pki/chain.pem" -threads 2 -max-seconds 3600
wait_for_port "$port" 10 || die "fixture_server: $(cat "$W/server.log")"
hang=$(free_port)
start_bg hang "$BUILD/tests/fakeresponder" -port "$hang" -mode hang -max-seconds 3600
wait_for_log "$W/hang.log" "^listening on" 10 || die "fakeresponder: $(cat "$W/hang.log")"

cat >"$W/script.sh" <<'EOF'
#!/bin/sh
# a shell script as any: three more programs
d=$(date +%s)
echo "$d" | cut -c1-4 | wc -c >/dev/null
EOF
chmod +x "$W/script.sh"

progs=("/bin/true" "sh -c :" "$W/script.sh" "openssl version"
    "openssl s_client -connect 127.0.0.1:$port -brief"
    "curl -sk -o /dev/null https://127.0.0.1:$port/")
labels=("/bin/true" "sh -c :" "a shell script (3 more programs)" "openssl version"
    "openssl s_client, one handshake" "curl, one HTTPS request")

{
    echo "Start-up: median wall time of $runs pairs ($tls_runs from the shell script on), without and with the library preloaded, interleaved."
    echo
    machine
    echo
    echo "| program | without | with libautostaple.so | added | ratio (target <= 1.25) | per-pair ratio: median (p10-p90) | an empty library preloaded instead: ratio |"
    echo "|---|---|---|---|---|---|---|"
} >"$OUT/startup.md"
for i in "${!progs[@]}"; do
    n=$runs
    [ "$i" -ge 2 ] && n=$tls_runs
    # shellcheck disable=SC2086
    shim=$("$SPAWN" -preload "$SHIM" -n "$n" -- ${progs[$i]}) || die "${labels[$i]}: $shim"
    # shellcheck disable=SC2086
    empty=$("$SPAWN" -preload "$W/empty.so" -n "$n" -- ${progs[$i]}) || die "${labels[$i]}: $empty"
    say "${labels[$i]}: $shim"
    printf '| %s | %.0f us | %.0f us | %.0f us | %s | %s (%s-%s) | %s |\n' "${labels[$i]}" \
        "$(field "$shim" plain_us)" "$(field "$shim" preload_us)" \
        "$(awk -v a="$(field "$shim" plain_us)" -v b="$(field "$shim" preload_us)" 'BEGIN { print b - a }')" \
        "$(field "$shim" ratio)" \
        "$(field "$shim" pair_ratio)" "$(field "$shim" p10_ratio)" "$(field "$shim" p90_ratio)" \
        "$(field "$empty" ratio)" >>"$OUT/startup.md"
done

if command -v hyperfine >/dev/null; then
    # Five pairs of blocks, alternating, both through env(1) so that they
    # differ only in the variable; hyperfine's own runs are not interleaved,
    # hence the pairs.  What counts is the difference, in microseconds.
    hf_runs=$((runs / 5))
    cmds=()
    for ((i = 0; i < 5; i++)); do
        cmds+=("env LD_PRELOAD= /bin/true" "env LD_PRELOAD=$SHIM /bin/true")
    done
    hyperfine -N -w 20 -r "$hf_runs" --export-json "$W/hf.json" "${cmds[@]}" >"$W/hf.out" 2>&1 ||
        die "hyperfine: $(cat "$W/hf.out")"
    # medians in order: plain, shim, plain, shim...
    read -r d lo hi <<<"$(awk -F'[:,]' '/"median"/ { gsub(/ /, "", $2); m[++n] = $2 * 1e6 }
        END { for (i = 1; i < n; i += 2) print m[i + 1] - m[i] }' "$W/hf.json" | stats)"
    read -r p _ _ <<<"$(awk -F'[:,]' '/"median"/ { gsub(/ /, "", $2); if (++n % 2) print $2 * 1e6 }' "$W/hf.json" | stats)"
    echo >>"$OUT/startup.md"
    # shellcheck disable=SC2016
    printf 'hyperfine cross-check (`env LD_PRELOAD= /bin/true` against `env LD_PRELOAD=libautostaple.so /bin/true`, 5 alternating pairs of %s runs each): the library adds %.0f us (min %.0f, max %.0f) to a run of %.0f us (env and /bin/true, two programs).\n' \
        "$hf_runs" "$d" "$lo" "$hi" "$p" >>"$OUT/startup.md"
fi

# objects PID: the files a process maps, one a line, sorted.
objects() { awk '$6 ~ /^\// { print $6 }' "/proc/$1/maps" | sort -u; }
# extra LABEL PLAIN_FILE SHIM_FILE: what the shim's run maps that the other does not.
extra() {
    local more
    more=$(comm -13 "$2" "$3" | tr '\n' ' ' | sed 's/ $//')
    local verdict=ok
    [ "$more" = "$SHIM" ] || verdict="NOT OK"
    echo "| $1 | $(wc -l <"$2") | $(wc -l <"$3") | ${more:-nothing} | $verdict |" >>"$OUT/startup.md"
    [ "$verdict" = ok ]
}
# mapped_while NAME PRE CMD...: start CMD (env PRE), let it settle, list its mapped files.
mapped_while() {
    local name=$1 pre=$2 pid
    shift 2
    mkfifo "$W/$name.fifo"
    env ${pre:+LD_PRELOAD=$pre} "$@" <"$W/$name.fifo" >/dev/null 2>&1 &
    pid=$!
    exec 7>"$W/$name.fifo"
    sleep 1
    objects "$pid" >"$W/$name.maps"
    exec 7>&-
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$W/$name.fifo"
}
{
    echo
    echo "Mapped files (from /proc/PID/maps) of a process running, without and with the library preloaded:"
    echo
    echo "| process | files without | files with | mapped only with the library | |"
    echo "|---|---|---|---|---|"
} >>"$OUT/startup.md"
ok=0
sh -c 'cat /proc/$$/maps' | awk '$6 ~ /^\// { print $6 }' | sort -u >"$W/sh.plain"
LD_PRELOAD=$SHIM sh -c 'cat /proc/$$/maps' | awk '$6 ~ /^\// { print $6 }' | sort -u >"$W/sh.shim"
extra "sh -c 'cat /proc/\$\$/maps'" "$W/sh.plain" "$W/sh.shim" || ok=1
for c in sleep s_client curl; do
    case $c in
    sleep) cmd=(sleep 30) ;;
    s_client) cmd=(openssl s_client -connect "127.0.0.1:$port" -quiet) ;;
    curl) cmd=(curl -sk -m 10 "https://127.0.0.1:$hang/") ;;
    esac
    mapped_while "$c-plain" "" "${cmd[@]}"
    mapped_while "$c-shim" "$SHIM" "${cmd[@]}"
    extra "${cmd[*]}" "$W/$c-plain.maps" "$W/$c-shim.maps" || ok=1
done
cat "$OUT/startup.md"
exit $ok
