#!/bin/bash
# mk/deps.sh on a machine whose dpkg lock is held (a freshly booted VM
# running unattended-upgrades): it says it will wait, waits (bounded), and
# installs once the lock is free, instead of failing at once with apt's raw
# "Could not get lock".  The lock is held here for 4 s by a process of the
# test's own; the package installed is one that is there already (procps),
# forced through the install path.
. "$AS_SRC/tests/lib.sh"
[ -n "${AS_PACKAGING_ON_HOST:-}" ] &&
    skip_all "deps.sh is tested by the host's run (mk/trixie.sh sets AS_PACKAGING_ON_HOST)"
sanitized && skip_all "deps.sh has nothing to do with the library: the plain run covers it"

[ "$(id -u)" = 0 ] || skip_all "needs root (apt-get, the dpkg lock)"
command -v apt-get >/dev/null && [ -e /var/lib/dpkg/lock-frontend ] || skip_all "no apt/dpkg here"

# Holds the dpkg front-end lock (fcntl, as apt and dpkg take it) for SECS s.
start_bg locker python3 -c '
import fcntl, sys, time
f = open("/var/lib/dpkg/lock-frontend", "w")
fcntl.lockf(f, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(float(sys.argv[1]))' 4
wait_for_log "$T/locker.log" '^locked' 10 || _as_infra_fail "take the dpkg lock" "$T/locker.log"
start=$(date +%s%N)
AUTOSTAPLE_DEPS_FORCE=procps timeout 300 "$AS_SRC/mk/deps.sh" build >"$T/deps.out" 2>&1
rc=$? ms=$((($(date +%s%N) - start) / 1000000))
stop_bg locker
is "$rc" 0 "the lock held: deps.sh waits, then installs (exit 0)"
like "$(cat "$T/deps.out")" "waiting up to [0-9]+ s for the dpkg lock" "it says it may wait, and how long at most"
check "it did wait for the lock ($ms ms)" test "$ms" -ge 2500
unlike "$(cat "$T/deps.out")" "E: Could not get lock" "no raw failure from apt"
done_testing
