#!/bin/bash
# A master whose real and effective ids differ (it switched only its
# effective ids, or it was started set-user-ID) executes its children in
# secure-execution mode, where the dynamic loader ignores LD_PRELOAD: they
# serve without the library.  The master must say so, once, at warning
# level, rather than only log its own refreshes as if all were stapled.
. "$AS_SRC/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (to switch ids)"
# A process executed per connection starts TSan's runtime afresh each time,
# which now and then dies at its start (the connection is reset): the
# plain, ASan and Debian 13 runs cover this.
tsan && skip_all "ThreadSanitizer's runtime, started in every executed child, dies now and then at its start"
id www-data >/dev/null 2>&1 || skip_all "no www-data user"

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"
# the executed program, as www-data, reads the key again
chmod 755 "$T"
install -m 644 "$AS_PKI/leaf-rsa.key" "$AS_PKI/leaf-rsa.pem" "$AS_PKI/chain.pem" "$T/"
readable_shim "$T/lib" # www-data may not reach the checkout

# execs NAME DROP: the fixture, a process per connection that drops to
# www-data (DROP: -user or -effective-user) and executes the fixture again
# to serve it; the response reaches the executed program through the cache
# directory (root's, readable)
execs() {
    PORT=$(free_port)
    mkdir -m 0755 "$T/cache-$1"
    start_bg "$1" env AUTOSTAPLE_CACHE_DIR="$T/cache-$1" LD_PRELOAD="$READABLE_SHIM" \
        "$READABLE_FIXTURE" -port "$PORT" -max-seconds 60 -exec-per-conn "$2" www-data \
        -cert "$T/leaf-rsa.pem" -key "$T/leaf-rsa.key" -chain "$T/chain.pem"
    wait_for_log "$T/$1.log" '^ready' 10 || _as_infra_fail "fixture" "$T/$1.log"
}
warnings() { grep -c 'secure-execution mode' "$T/$1.log"; }

execs full -user
is "$(staples_of "$PORT" 3)" "good good good" "children that dropped every id: stapled"
is "$(warnings full)" 0 "and nothing said of secure execution"

execs effective -effective-user
is "$(staples_of "$PORT" 3)" "none none none" \
    "children that switched only their effective ids run without the library"
is "$(warnings effective)" 1 "the master's family says so once, for 3 children"
check "at warning level, naming the ids and the remedy" \
    grep -q "warning: executing .*real uid 0 .* effective uid $(id -u www-data) .*setresuid" \
    "$T/effective.log"
done_testing
