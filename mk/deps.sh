#!/bin/sh
# mk/deps.sh build|check|demo|fuzz|bench|deb: install the Debian packages a
# make target needs.  As root it runs apt-get; otherwise it prints the exact command and
# fails.  Quiet when everything is already there.
set -eu
# Per release: the sanitizer runtimes come with the default clang's version
# (Debian 12: 14; 13: 19).  libcurl's runtime comes with its -dev package
# (libcurl4 on 12, libcurl4t64 on 13).
release=$(. /etc/os-release 2>/dev/null && echo "${VERSION_ID:-}")
case $release in
    12) clang_rt=libclang-rt-14-dev ;;
    13) clang_rt=libclang-rt-19-dev ;;
    *) clang_rt=libclang-rt-dev ;;
esac
build="gcc make libc6-dev libssl-dev libcurl4-openssl-dev"
check="$build openssl curl gnutls-bin perl python3 build-essential dpkg-dev debhelper fakeroot lintian nginx-light apache2 haproxy lighttpd lighttpd-mod-openssl procps valgrind man-db groff-base"
demo="$build openssl curl"
fuzz="$build clang $clang_rt"
bench="$build openssl curl nginx-light valgrind hyperfine procps linux-perf"
deb="$build build-essential dpkg-dev debhelper fakeroot lintian"
case "${1:-build}" in
    build) want=$build ;;
    check) want=$check ;;
    demo) want=$demo ;;
    fuzz) want=$fuzz ;;
    bench) want=$bench ;;
    deb) want=$deb ;;
    *) echo "usage: $0 build|check|demo|fuzz|bench|deb" >&2; exit 2 ;;
esac
# AUTOSTAPLE_DEPS_FORCE: packages installed again even if they are there
# (tests/integration/97-deps-lock.t exercises the install path with them).
missing=""
for p in ${AUTOSTAPLE_DEPS_FORCE:-}; do missing="$missing $p"; done
for p in $want; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "autostaple: missing packages:$missing" >&2
    echo "run as root:  apt-get update && $cmd" >&2
    exit 1
fi
# A freshly booted machine may be running unattended-upgrades: apt waits
# for the dpkg lock (bounded), and says so while it waits.
lock_wait=${AUTOSTAPLE_DEPS_LOCK_WAIT:-600}
echo "autostaple: installing$missing (waiting up to $lock_wait s for the dpkg lock if another apt holds it)" >&2
export DEBIAN_FRONTEND=noninteractive
# nginx and apache2 start their system services on install, listening on
# every address: forbid that for the install unless a policy already rules.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
fi
apt-get -o "DPkg::Lock::Timeout=$lock_wait" update -qq >&2
# shellcheck disable=SC2086
apt-get -o "DPkg::Lock::Timeout=$lock_wait" install -y -qq --no-install-recommends $missing >&2
