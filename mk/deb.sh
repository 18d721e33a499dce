#!/bin/bash
# mk/deb.sh: the Debian package, autostaple_VERSION_ARCH.deb in build/, from
# a copy of the tree (dpkg-buildpackage writes beside the source directory),
# built with the debian/ directory (debhelper, the project's own Makefile),
# then checked with lintian (tags kept in debian/autostaple.lintian-overrides
# are explained there).  Output: the path of the .deb on the last line.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^VERSION *:= *//p' "$src/Makefile")
work=$src/build/deb-src
rm -rf "$work"
mkdir -p "$work/autostaple-$version"
tar -C "$src" --exclude=./build --exclude='./build-*' --exclude=./.git --exclude=./.prove \
    -cf - . | tar -C "$work/autostaple-$version" -xf -
(cd "$work/autostaple-$version" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || {
    tail -30 "$work/build.log" >&2
    echo "mk/deb.sh: dpkg-buildpackage failed (all of it in $work/build.log)" >&2
    exit 1
}
deb=$(ls "$work"/autostaple_"$version"_*.deb)
cp "$deb" "$src/build/"
lintian --info "$deb" >"$work/lintian.log" 2>&1 || true
if grep -qE '^[EW]: ' "$work/lintian.log"; then
    cat "$work/lintian.log" >&2
    echo "mk/deb.sh: lintian has errors or warnings" >&2
    exit 1
fi
echo "build/${deb##*/}"
