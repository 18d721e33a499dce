#!/bin/bash
# The Debian package (make deb: mk/deb.sh, debian/): it builds, lintian has
# no error or warning left (the overrides explain the rest), and installed
# with apt-get it gives the command, the library in the multiarch
# directory, the manual pages, the documents and /var/cache/autostaple,
# and preloads nothing; `autostaple check` and a server under the library
# work from it; purged, it leaves nothing.
. "$AS_SRC/tests/lib.sh"
[ -n "${AS_PACKAGING_ON_HOST:-}" ] &&
    skip_all "the package is tested by the host's run (mk/trixie.sh sets AS_PACKAGING_ON_HOST)"

[ "$(id -u)" = 0 ] || skip_all "needs root (apt-get install)"
sanitized && skip_all "the package is built plain: the plain run covers it"
command -v dpkg-buildpackage >/dev/null && command -v lintian >/dev/null ||
    skip_all "dpkg-dev or lintian missing (make check installs them)"
dpkg -s autostaple >/dev/null 2>&1 && skip_all "an autostaple package is installed already: not touched"

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
"$AS_SRC/mk/deb.sh" >"$T/deb.out" 2>&1
rc=$?
is "$rc" 0 "make deb's script builds the package, lintian clean"
deb=$AS_SRC/$(tail -n1 "$T/deb.out")
check "the package is there ($deb)" test -f "$deb"

purge() { DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq autostaple >/dev/null 2>&1; }
# (lib.sh's own exit handler, which stops what the test started, runs too)
trap 'rc=$?; purge; (exit $rc); _as_exit' EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >"$T/install.log" 2>&1
is "$?" 0 "apt-get install ./autostaple_*.deb"
for f in /usr/bin/autostaple "/usr/lib/$multiarch/libautostaple.so" \
    "/usr/lib/$multiarch/libautostaple-core.so" /usr/share/man/man7/libautostaple.7.gz \
    /usr/share/doc/autostaple/deploying.md; do
    check "installs $f" test -e "$f"
done
check "creates /var/cache/autostaple, root's, mode 0755" \
    test "$(stat -c '%U %a' /var/cache/autostaple)" = "root 755"
check_fails "preloads nothing" grep -qs autostaple /etc/ld.so.preload
like "$(/usr/bin/autostaple --help)" "then in /usr/lib/$multiarch," "the command looks in the multiarch directory"
like "$(zcat /usr/share/man/man7/libautostaple.7.gz)" "LD_PRELOAD=/usr/lib/${multiarch//-/\\\\-}/libautostaple\\.so" \
    "the manual page names the installed library"

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"
out=$(/usr/bin/autostaple check "$AS_PKI/leaf-rsa-full.pem" 2>&1)
like "$out" "verdict: good" "the installed autostaple check: good"
PORT=$(free_port)
start_bg pkg env LD_PRELOAD="/usr/lib/$multiarch/libautostaple.so" AUTOSTAPLE_CACHE_DIR=/var/cache/autostaple \
    openssl s_server -accept "127.0.0.1:$PORT" -www -cert "$AS_PKI/leaf-rsa.pem" \
    -key "$AS_PKI/leaf-rsa.key" -cert_chain "$AS_PKI/chain.pem"
wait_for_port "$PORT" 10 || _as_infra_fail "s_server under the packaged library" "$T/pkg.log"
check "a server under the packaged library staples" wait_for_staple good "$PORT" 10
stop_bg pkg

purge
trap _as_exit EXIT
check_fails "purged: the command is gone" test -e /usr/bin/autostaple
check_fails "and the library" test -e "/usr/lib/$multiarch/libautostaple.so"
check_fails "and the cache directory" test -e /var/cache/autostaple
done_testing
