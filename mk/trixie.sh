#!/bin/bash
# mk/trixie.sh [COMMAND]: the whole `make check` inside Debian 13 (trixie:
# OpenSSL 3.5, nginx 1.26, Apache 2.4.71, libcurl 8.14), next to the host's
# Debian 12, but for tests/openssl11/ (OPENSSL11=none: Debian 11's OpenSSL
# 1.1 is tested on the host, by make check) and for the demo, deps.sh and
# the Debian package (AS_PACKAGING_ON_HOST=1: tested on the host; this run
# is about OpenSSL 3.5 and Debian 13's servers, within CI's time); or COMMAND, a shell command run in the copy of the tree there
# (say, 'mk/deps.sh check && make bench-tools && bench/handshakes.sh').
# Root only (debootstrap, chroot, mounts).
#
#  1. The chroot: build/trixie-root, made by debootstrap --variant=minbase
#     the first time (about 30 s), reused afterwards.  A half-made one (an
#     interrupted debootstrap) is never used: it is built aside and renamed.
#  2. The working tree, without its build outputs and .git, copied to /src
#     in the chroot, fresh each run.
#  3. In private mount and PID namespaces (unshare): /proc, /dev and /dev/pts
#     are mounted in the chroot, mk/deps.sh check installs Debian 13's
#     packages, and `make check` (or COMMAND) runs.  The namespaces end with the run,
#     however it ends (success, failure, interrupt): every mount goes with
#     the mount namespace, and every process still running inside with the
#     PID namespace; nothing is left mounted on the host.
#
# Environment: TRIXIE_ROOT (default build/trixie-root), DEBIAN_MIRROR
# (default http://deb.debian.org/debian), TESTS (a subset, as for make
# check).  Output: the suite's; the exit status is make check's (COMMAND's).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
target=${TRIXIE_ROOT:-$src/build/trixie-root}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
command=${*:-mk/deps.sh check && make check OPENSSL11=none}

if [ "$(id -u)" -ne 0 ]; then
    echo "mk/trixie.sh: needs root (debootstrap, chroot, mounts)" >&2
    exit 1
fi
if ! command -v debootstrap >/dev/null; then
    echo "mk/trixie.sh: installing debootstrap" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
fi

if [ ! -x "$target/usr/bin/apt-get" ] || [ ! -e "$target/.autostaple-ready" ]; then
    echo "mk/trixie.sh: making a Debian 13 chroot in $target (debootstrap)" >&2
    rm -rf "$target.new" "$target"
    mkdir -p "$(dirname "$target")"
    debootstrap --variant=minbase trixie "$target.new" "$mirror" >"$target.debootstrap.log" 2>&1 || {
        tail -20 "$target.debootstrap.log" >&2
        echo "mk/trixie.sh: debootstrap failed" >&2
        exit 1
    }
    touch "$target.new/.autostaple-ready"
    mv "$target.new" "$target"
fi

rm -rf "$target/src"
mkdir "$target/src"
tar -C "$src" --exclude=./build --exclude='./build-*' --exclude=./.git --exclude=./.prove \
    -cf - . | tar -C "$target/src" -xf -
cp /etc/resolv.conf "$target/etc/resolv.conf"

# Inside the namespaces (PID 1 there): mount what the suite needs, then run
# it in the chroot with a clean environment.
inside='
set -e
r=$1
# The chroot'"'"'s / a mount point of its own, as on a real system: unshare
# --propagation (83-secure-exec.t) remounts it, and fails on a plain directory.
mount --bind "$r" "$r"
mount -t proc proc "$r/proc"
mount --rbind /dev "$r/dev"
mount -t sysfs sysfs "$r/sys"
chroot "$r" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 TERM=dumb AS_PACKAGING_ON_HOST=1 ${TESTS:+TESTS="$TESTS"} \
    ${BENCH_QUICK:+BENCH_QUICK=1} \
    /bin/bash -c "cd /src && $2"
'
echo "mk/trixie.sh: in Debian 13 ($target): $command" >&2
TESTS=${TESTS:-} BENCH_QUICK=${BENCH_QUICK:-} exec unshare --mount --pid --fork --kill-child \
    --propagation private bash -c "$inside" trixie "$target" "$command"
