#!/bin/bash
# A process that may start no thread (RLIMIT_NPROC at the user's process
# count, as HAProxy sets it in its workers) cannot refresh: it says so once,
# at error level, naming the limit, and still staples the response saved in
# the cache directory by an earlier run, until that response's nextUpdate.
. "$AS_SRC/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (to run the server as nobody with a process limit)"
# Neither runtime starts without threads of its own.
sanitized && skip_all "a sanitizer's runtime needs threads of its own"

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"
chmod 755 "$T"
cache=$T/cache
install -d -m 0755 -o nobody "$cache"
install -m 644 "$AS_PKI/leaf-rsa.key" "$AS_PKI/leaf-rsa.pem" "$AS_PKI/chain.pem" "$T/"
readable_shim "$T/lib" # nobody may not reach the checkout

# as_nobody NAME NPROC: the fixture as nobody, with RLIMIT_NPROC at NPROC
# (unlimited if empty)
as_nobody() {
    PORT=$(free_port)
    start_bg "$1" setpriv --reuid=nobody --regid=nogroup --clear-groups \
        bash -c 'if [ -n "$1" ]; then ulimit -u "$1" || exit 99; fi; shift; exec "$@"' \
        limit "$2" env AUTOSTAPLE_CACHE_DIR="$cache" LD_PRELOAD="$READABLE_SHIM" \
        "$READABLE_FIXTURE" -port "$PORT" -max-seconds 60 -cert "$T/leaf-rsa.pem" -key "$T/leaf-rsa.key" \
        -chain "$T/chain.pem"
    wait_for_log "$T/$1.log" '^ready' 10 || _as_infra_fail "fixture as nobody" "$T/$1.log"
}

# A first run, without a limit, fetches and saves.
as_nobody first ''
is "$(staple_of "$PORT")" good "without a limit: stapled (and saved)"
stop_bg first
before=$(count_requests "$OCSP_LOG")

# nobody runs no other process here: a limit of 1 forbids every thread.
as_nobody limited 1
is "$(staple_of "$PORT")" good "RLIMIT_NPROC 1: the saved response is stapled all the same"
check "it says it cannot refresh, and why" \
    grep -q 'error: cannot start the refresher thread: Resource temporarily unavailable' \
    "$T/limited.log"
is "$(grep -c 'cannot start the refresher thread' "$T/limited.log")" 1 "once"
is "$(($(count_requests "$OCSP_LOG") - before))" 0 "and fetches nothing"
done_testing
