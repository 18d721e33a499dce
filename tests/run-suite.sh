#!/bin/bash
# tests/run-suite.sh: what `make check` runs once everything is built.
# Makes a fresh test PKI (its AIA URLs point at two free loopback ports),
# then runs every unit and integration test through prove.
# Environment: BUILD (build directory), SANITIZE (the flags the library was
# built with), TESTS (optional: a subset of test files), OPENSSL11 (where
# mk/openssl11.sh put Debian 11's OpenSSL and servers, for tests/openssl11/).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=$(cd "${BUILD:-build}" && pwd)

# Below the kernel's ephemeral range (32768 and up here), where an outgoing
# connection may take the port between this check and the responder's bind.
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 12000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
    return 1
}
ocsp_port=$(free_port)
issuer_port=$(free_port)
while [ "$issuer_port" = "$ocsp_port" ]; do issuer_port=$(free_port); done

pki=$build/check-pki
rm -rf "$pki"
tests/pki/mkpki.sh "$pki" "$ocsp_port" "$issuer_port" >"$build/check-pki.log" 2>&1 || {
    cat "$build/check-pki.log" >&2
    echo "run-suite: cannot make the test PKI" >&2
    exit 1
}

# Every test's temporary directory lives in this run's own directory, so the
# leak check below sees this run's processes only (several runs may share
# the machine).
run_tmp=$(mktemp -d "${TMPDIR:-/tmp}/autostaple-run.XXXXXX")
chmod 755 "$run_tmp"   # tests run servers as nobody too
export TMPDIR=$run_tmp
export AS_BUILD=$build AS_PKI=$pki AS_SRC=$root
AS_OPENSSL11=$(cd "${OPENSSL11:-build/debian11}" 2>/dev/null && pwd || echo none)
export AS_OPENSSL11
export AS_SHIM=$build/libautostaple.so
case "${SANITIZE:-}" in
*address*)
    # The library is instrumented, the programs under test are not: the
    # runtime must come first.  Leaks of the servers themselves are not ours.
    export AS_SHIM="$(gcc -print-file-name=libasan.so):$AS_SHIM"
    export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    ;;
*thread*)
    export AS_SHIM="$(gcc -print-file-name=libtsan.so):$AS_SHIM"
    export TSAN_OPTIONS="halt_on_error=1 report_signal_unsafe=0 suppressions=$root/tests/tsan.supp die_after_fork=0"
    ;;
esac

if [ -n "${TESTS:-}" ]; then
    # shellcheck disable=SC2206
    tests=($TESTS)
else
    tests=("$build"/tests/unit/test_* tests/unit/*.t tests/integration/*.t tests/openssl11/*.t)
fi
echo "run-suite: PKI ports $ocsp_port (OCSP) and $issuer_port (caIssuers); shim $AS_SHIM"
rc=0
# prove's state (for the retry below) is this run's alone, in the build directory.
rm -f "$build/prove.state"
prove ${PROVE_VERBOSE:+-v} --timer -f --statefile="$build/prove.state" --state=save "${tests[@]}" 2>&1 |
    tee "$build/prove.log"
rc=${PIPESTATUS[0]}
# ThreadSanitizer's runtime (GCC 12), preloaded into every server, now and
# then dies as a server starts ("ThreadSanitizer failed to allocate
# 0x1ec2... bytes", errno 12), whatever the library does: in one CI run,
# three files at first and two of them again on a second try.  Such a run
# is taken again for the test files that failed, twice at most, saying so,
# and only while that is what failed; any other failure stands.
case "${SANITIZE:-}" in
*thread*)
    for again in 1 2; do
        [ "$rc" -ne 0 ] && grep -q 'ThreadSanitizer failed to allocate' "$build/prove.log" || break
        echo "run-suite: ThreadSanitizer's runtime died at a start: the failed test files again ($again of 2)"
        rc=0
        prove --timer -f --statefile="$build/prove.state" --state=failed,save 2>&1 |
            tee "$build/prove.log"
        rc=${PIPESTATUS[0]}
    done
    ;;
esac

# Every test cleans up what it started: anything still running from a test's
# temporary directory, or with the test PKI, is a leak (and would disturb
# later runs).
sleep 1
leaked=$(pgrep -f "$run_tmp/|$pki/" || true)
if [ -n "$leaked" ]; then
    echo "run-suite: processes left running by the tests:" >&2
    # shellcheck disable=SC2086
    ps -o pid,ppid,cmd -p $leaked >&2 || true
    # shellcheck disable=SC2086
    kill -9 $leaked 2>/dev/null || true
    rc=1
fi
[ -n "${AS_KEEP_TMP:-}" ] || rm -rf "$run_tmp"
exit $rc
