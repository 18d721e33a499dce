#!/bin/bash
# A server that daemonizes and forks its worker at once, as HAProxy -W -D
# does: at setsid the library starts a thread (to take the refresh over
# once the first process leaves, succession.h), and the worker is forked
# while that thread may still be starting.  No worker may hang.  glibc's
# fork is safe against a thread's start; a sanitizer's runtime is not
# (shim/sanitized.h), and there a library that let a fork catch a birth
# left up to one worker in four hung, as in the ASan run of
# 77-shared-store.  strace, when installed, slows every thread's start and
# so widens the window a fork must miss.
. "$AS_SRC/tests/lib.sh"

start_signing_responder sign600 600
slow=()
command -v strace >/dev/null && slow=(strace -f -qq -e trace=clone,clone3,setsid -o /dev/null)
[ ${#slow[@]} -gt 0 ] || note "no strace: the storm runs at full speed, and proves less"

out=$(AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" timeout 300 env LD_PRELOAD="$AS_SHIM" \
    "${slow[@]}" "$AS_BUILD/tests/fork_storm" "$AS_PKI/leaf-ec-full.pem" "$AS_PKI/leaf-ec.key" ${STORM_ROUNDS:-40} 2>"$T/storm.err")
is "$out" "hung 0 of 40" "40 daemonizing forks, each forking its worker at once: no worker hangs" ||
    diag_file "$T/storm.err"
is "$(requests_for "$FAKE_LOG" leaf-ec)" 1 "the certificate was fetched once, by the first process"
done_testing
