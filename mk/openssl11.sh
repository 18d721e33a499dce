#!/bin/sh
# mk/openssl11.sh [DIR]: Debian 11's OpenSSL 1.1.1 and the servers the suite
# runs against it, unpacked into DIR (default build/debian11):
#   libssl1.1, libssl-dev  headers and libraries the 1.1 core is built
#                          against (`make`: libautostaple-core-1.1.so)
#   openssl                Debian 11's `openssl s_server`
#   nginx-light, apache2-bin, libpcre3
#                          Debian 11's nginx and Apache, linked against 1.1
#                          (tests/openssl11/); libpcre3 for hosts without it
#                          (Debian 13)
# The packages come from Debian 11's suites on DEBIAN_MIRROR (default
# http://deb.debian.org/debian), with a private apt configuration under
# DIR/apt: nothing is installed and the host's apt state is not touched.
# Signatures are checked against the host's Debian archive keyring.  Needs
# no root.  Quiet when DIR is already complete.
set -eu
dir=${1:-build/debian11}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages="libssl1.1 libssl-dev openssl nginx-light apache2-bin libpcre3"
[ -e "$dir/.complete" ] && exit 0

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || { echo "mk/openssl11.sh: no $keyring (apt-get install debian-archive-keyring)" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs"
dir=$(cd "$dir" && pwd)
cat >"$dir/apt/sources.list" <<LIST
deb [signed-by=$keyring] $mirror bullseye main
deb [signed-by=$keyring] ${mirror%/debian}/debian-security bullseye-security main
LIST
set -- -o "Dir::Etc::SourceList=$dir/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o "Dir::State::Lists=$dir/apt/lists" -o Dir::State::status=/dev/null \
    -o "Dir::Cache=$dir/apt/cache" -o APT::Sandbox::User=root -o Debug::NoLocking=1
echo "mk/openssl11.sh: fetching Debian 11's $packages into $dir" >&2
apt-get "$@" -qq update >&2
(cd "$dir/debs" && apt-get "$@" -qq download $packages >&2)
for deb in "$dir"/debs/*.deb; do
    dpkg-deb -x "$deb" "$dir"
done
[ -e "$dir/usr/include/openssl/ssl.h" ] && [ -e "$dir/usr/bin/openssl" ] || {
    echo "mk/openssl11.sh: the packages lack what they should hold" >&2
    exit 1
}
touch "$dir/.complete"
