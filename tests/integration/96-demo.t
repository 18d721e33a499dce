#!/bin/bash
# `make demo` (tests/demo.sh) as a new user sees it: every step succeeds,
# and `autostaple status` at its end shows the good response the server
# staples (it once showed "none" in about half of the runs: it waited only
# for the status file to exist, which is rewritten up to a second later).
. "$AS_SRC/tests/lib.sh"
[ -n "${AS_PACKAGING_ON_HOST:-}" ] &&
    skip_all "the demo is tested by the host's run (mk/trixie.sh sets AS_PACKAGING_ON_HOST)"
sanitized && skip_all "the demo runs the build it is given; under a sanitizer its runtime would have to be preloaded first: the plain run covers it"

for run in 1 2 3; do
    BUILD=$AS_BUILD timeout 120 "$AS_SRC/tests/demo.sh" >"$T/demo-$run.out" 2>&1
    rc=$?
    is "$rc" 0 "run $run: the demo succeeds"
    # the lines after "7. autostaple status"
    status=$(sed -n '/== 7\. autostaple status/,$p' "$T/demo-$run.out")
    like "$status" "/CN=good\.test +[0-9A-F]+ +good " "run $run: autostaple status shows the good response"
done
done_testing
