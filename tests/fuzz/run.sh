#!/bin/bash
# tests/fuzz/run.sh [TARGET...]: what `make check-fuzz` runs once the
# fuzzers are built: each target (default: all) for FUZZ_SECONDS over a
# fresh copy of its corpus (tests/fuzz/corpus/TARGET; the tree is never
# written), with TARGET.dict if there is one.  New inputs, logs and any
# crash-, leak-, timeout- or oom- file go to $BUILD/fuzz/run/TARGET/.
# Prints one line per target (coverage, executions, speed); exits 1 if any
# target failed.  Environment: BUILD, FUZZ_SECONDS, FUZZ_FLAGS (more
# libFuzzer flags).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
build=${BUILD:-build}
secs=${FUZZ_SECONDS:-15}
if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for f in tests/fuzz/fuzz_*.c; do
        t=${f##*/fuzz_}
        targets+=("${t%.c}")
    done
fi

# final_stat NAME: from -print_final_stats; field NAME: from the last status line.
final_stat() { sed -n "s/^stat::$1:[[:space:]]*//p" "$out/log" | tail -1; }
field() { sed -n "s/.* $1: \([0-9/]*\).*/\1/p" <<<"$last"; }

failed=()
printf '%-16s %-7s %8s %8s %10s %8s %7s\n' target result cov ft execs exec/s corpus
for t in "${targets[@]}"; do
    bin=$build/fuzz/fuzz_$t
    out=$build/fuzz/run/$t
    rm -rf "$out"
    mkdir -p "$out/corpus" "$out/artifacts"
    cp tests/fuzz/corpus/"$t"/* "$out/corpus/" 2>/dev/null
    # Value profiles make libFuzzer keep inputs that bring a comparison's
    # operands closer: the way to the edges of the time and range checks.
    flags=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
           -use_value_profile=1 -artifact_prefix="$out/artifacts/")
    [ -f "tests/fuzz/$t.dict" ] && flags+=(-dict="tests/fuzz/$t.dict")
    # shellcheck disable=SC2206
    flags+=(${FUZZ_FLAGS:-})
    if [ ! -x "$bin" ]; then
        echo "run.sh: $bin is missing (make fuzz)" >&2
        failed+=("$t")
        continue
    fi
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
        "$bin" "${flags[@]}" "$out/corpus" >"$out/log" 2>&1
    rc=$?
    last=$(grep -E '^#[0-9]+' "$out/log" | tail -1) # the DONE line, if it got there
    result=ok
    artifacts=$(ls "$out/artifacts")
    if [ $rc -ne 0 ] || [ -n "$artifacts" ]; then
        result=FAILED
        failed+=("$t")
    fi
    printf '%-16s %-7s %8s %8s %10s %8s %7s\n' "$t" "$result" "$(field cov)" "$(field ft)" \
        "$(final_stat number_of_executed_units)" "$(final_stat average_exec_per_sec)" \
        "$(field corp | cut -d/ -f1)"
    if [ "$result" = FAILED ]; then
        echo "--- $t: exit status $rc; the end of $out/log:"
        grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|INITED)' "$out/log" | tail -40 | sed 's/^/    /'
        for a in $artifacts; do
            echo "    reproduce: $bin $out/artifacts/$a"
        done
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "check-fuzz: FAILED: ${failed[*]}"
    exit 1
fi
echo "check-fuzz: ${#targets[@]} targets, ${secs}s each: no crash, leak or timeout"
