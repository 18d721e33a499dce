#!/bin/bash
# bench/run.sh [startup] [handshakes] [callgrind] [contention] [scale]: the
# benchmarks (all five by default, in that order), each also usable alone
# (bench/NAME.sh).  What `make bench` runs.  Results in $BENCH_OUT (default
# $BUILD/bench-results): each one's NAME.md, and summary.md, all of them.
# BENCH_QUICK=1 for a short run (about 3 minutes instead of 10; scale.sh
# then takes 1,000 certificates instead of 10,000).
# docs/PERFORMANCE.md explains the methods and records a run.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
out=${BENCH_OUT:-$BUILD/bench-results}
export BUILD BENCH_OUT=$out
mkdir -p "$out"
[ $# -gt 0 ] || set -- startup handshakes callgrind contention scale
rc=0
: >"$out/summary.md.tmp"
for b in "$@"; do
    case $b in
    startup | handshakes | callgrind | contention | scale) ;;
    *) echo "bench/run.sh: no benchmark $b" >&2; exit 2 ;;
    esac
    echo "bench: == $b ==" >&2
    rm -f "$out/$b.md"
    start=$(date +%s)
    if bench/"$b".sh >"$out/$b.stdout"; then
        status='done'
    else
        status=FAILED
        rc=1
    fi
    echo "bench: == $b: $status in $(($(date +%s) - start)) s ==" >&2
    { echo "## $b ($status)"; echo; [ -f "$out/$b.md" ] && cat "$out/$b.md"; echo; } \
        >>"$out/summary.md.tmp"
done
mv "$out/summary.md.tmp" "$out/summary.md"
echo "bench: results in $out/summary.md" >&2
exit $rc
