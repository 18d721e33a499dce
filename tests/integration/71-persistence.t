#!/bin/bash
# Issue 3, persistence: AUTOSTAPLE_CACHE_DIR.  Responses are saved
# atomically, loaded at start and verified again; a restart with the
# responder down staples the saved response from its first handshake; a
# hostile directory or file is refused.
. "$AS_SRC/tests/lib.sh"

fp=$(openssl x509 -in "$AS_PKI/leaf-rsa.pem" -outform DER | sha256sum | cut -c1-64)
cache=$T/cache
mkdir -m 0755 "$cache"

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"
start_shim_s_server first leaf-rsa AUTOSTAPLE_CACHE_DIR="$cache"
is "$(staple_of "$PORT")" good "with a responder: stapled"
check "the response is saved as <sha256>.ocsp" test -f "$cache/$fp.ocsp"
is "$(stat -c %a "$cache/$fp.ocsp")" 644 "readable by all, writable by its owner only"
is "$(resp_status "$cache/$fp.ocsp" leaf-rsa)" good "the saved file is the verified response"
is "$(find "$cache" -name '*.tmp' | wc -l)" 0 "no temporary file left behind"
stop_bg first
stop_bg "ocsp-$OCSP_PORT"

# Restart with the responder gone: the first handshake is stapled all the same.
start_shim_s_server restart leaf-rsa AUTOSTAPLE_CACHE_DIR="$cache"
is "$(staple_of "$PORT")" good "responder down, restarted: the first handshake is stapled"
check "restarted: curl --cert-status accepts it" curl_verify "$PORT" good.test
like "$(cat "$T/restart.log")" "stapling a good response from the cache directory" \
    "restarted: the log says where it came from"
unlike "$(cat "$T/restart.log")" "warning" "restarted: no warning (nothing had to be fetched)"
stop_bg restart

# A file that does not verify is never stapled, and is removed.
cp "$cache/$fp.ocsp" "$T/good.der"
mkresp_for leaf-sni "$cache/$fp.ocsp"
start_shim_s_server other leaf-rsa AUTOSTAPLE_CACHE_DIR="$cache"
is "$(staple_of "$PORT")" none "a saved response for another certificate: not stapled"
like "$(cat "$T/other.log")" "not using the saved response .*another certificate" "and the reason is logged"
check_fails "and the file is removed" test -e "$cache/$fp.ocsp"
stop_bg other

mkresp_for leaf-rsa "$cache/$fp.ocsp" -this -7200 -next -60
start_shim_s_server expired leaf-rsa AUTOSTAPLE_CACHE_DIR="$cache"
is "$(staple_of "$PORT")" none "an expired saved response: not stapled"
like "$(cat "$T/expired.log")" "not using the saved response .*expired" "and the reason is logged"
stop_bg expired

head -c 3000 /dev/urandom >"$cache/$fp.ocsp"
start_shim_s_server garbage leaf-rsa AUTOSTAPLE_CACHE_DIR="$cache"
is "$(staple_of "$PORT")" none "garbage in the cache: not stapled, the server runs on"
stop_bg garbage

# Hostile: a symbolic link, a file others may write, a world-writable directory.
cp "$T/good.der" "$T/elsewhere.der"
rm -f "$cache/$fp.ocsp"
ln -s "$T/elsewhere.der" "$cache/$fp.ocsp"
start_shim_s_server symlink leaf-rsa AUTOSTAPLE_CACHE_DIR="$cache"
is "$(staple_of "$PORT")" none "a symbolic link in the cache: not followed"
like "$(cat "$T/symlink.log")" "warning: cannot read $cache/$fp.ocsp" "and it is reported"
stop_bg symlink
rm -f "$cache/$fp.ocsp"

cp "$T/good.der" "$cache/$fp.ocsp"
chmod 0666 "$cache/$fp.ocsp"
start_shim_s_server writable leaf-rsa AUTOSTAPLE_CACHE_DIR="$cache"
is "$(staple_of "$PORT")" none "a cache file anyone may write: not used"
like "$(cat "$T/writable.log")" "warning: ignoring $cache/$fp.ocsp" "and it is reported"
stop_bg writable
chmod 0644 "$cache/$fp.ocsp"

chmod 0664 "$cache/$fp.ocsp"
start_shim_s_server groupfile leaf-rsa AUTOSTAPLE_CACHE_DIR="$cache"
is "$(staple_of "$PORT")" none "a cache file its group may write: not used"
like "$(cat "$T/groupfile.log")" "warning: ignoring $cache/$fp.ocsp" "and it is reported"
stop_bg groupfile
chmod 0644 "$cache/$fp.ocsp"

chmod 0775 "$cache"
start_shim_s_server groupDir leaf-rsa AUTOSTAPLE_CACHE_DIR="$cache"
is "$(staple_of "$PORT")" none "a cache directory its group may write: not used (a plant for the next start)"
like "$(cat "$T/groupDir.log")" "warning: refusing $cache \(AUTOSTAPLE_CACHE_DIR\): it is writable by its group" \
    "and it is reported"
stop_bg groupDir

chmod 0777 "$cache"
start_shim_s_server openDir leaf-rsa AUTOSTAPLE_CACHE_DIR="$cache"
is "$(staple_of "$PORT")" none "a world-writable cache directory: not used"
like "$(cat "$T/openDir.log")" "warning: refusing $cache \(AUTOSTAPLE_CACHE_DIR\): it is writable by anyone" \
    "and it is reported once"
is "$(grep -c "refusing $cache" "$T/openDir.log")" 1 "once (not again for the status file)"
stop_bg openDir
chmod 0755 "$cache"

# Two servers, and a server that runs unprivileged (it loads its
# certificate after dropping privileges): one directory, written by root.
shared=$T/shared
mkdir -m 0755 "$shared"
chmod 0755 "$T"
start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"
start_shim_s_server one leaf-rsa AUTOSTAPLE_CACHE_DIR="$shared"
P1=$PORT
start_shim_s_server two leaf-sni AUTOSTAPLE_CACHE_DIR="$shared"
is "$(staple_of "$P1") $(staple_of "$PORT")" "good good" "two servers sharing a cache directory both staple"
is "$(ls "$shared" | grep -c '\.ocsp$')" 2 "and each saved its response there"
stop_bg one
stop_bg two
stop_bg "ocsp-$OCSP_PORT"
# nobody reads the library, the certificates and the cache from $T: the
# checkout itself may be closed to others (a clone in a mode-700 home).
chmod 755 "$T"
install -m 0400 -o nobody "$AS_PKI/leaf-rsa.key" "$T/nobody.key"
install -m 0644 "$AS_PKI/leaf-rsa.pem" "$AS_PKI/chain.pem" "$T/"
readable_shim "$T/lib"
PORT=$(free_port)
start_bg unprivileged env AUTOSTAPLE_CACHE_DIR="$shared" LD_PRELOAD="$READABLE_SHIM" \
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
    openssl s_server -accept "127.0.0.1:$PORT" -www -cert "$T/leaf-rsa.pem" \
    -key "$T/nobody.key" -cert_chain "$T/chain.pem"
wait_for_port "$PORT" 10 || _as_infra_fail "unprivileged s_server starts" "$T/unprivileged.log"
is "$(staple_of "$PORT")" good \
    "an unprivileged server, responder down, staples from a cache it cannot write"
stop_bg unprivileged

start_shim_s_server missing leaf-rsa AUTOSTAPLE_CACHE_DIR="$T/no/such/dir"
check "a missing cache directory: a warning, and the server runs on" \
    wait_for_log "$T/missing.log" "warning: cannot use $T/no/such/dir \(AUTOSTAPLE_CACHE_DIR\): No such file or directory" 5
is "$(grep -c "no/such/dir" "$T/missing.log")" 1 "a missing cache directory: one warning"
done_testing
