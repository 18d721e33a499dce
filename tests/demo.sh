#!/bin/bash
# tests/demo.sh: what `make demo` shows.  A throw-away CA with an OCSP
# responder (OpenSSL's own), `autostaple check` diagnosing the certificate,
# an unmodified `openssl s_server` started under `autostaple` (the shim
# preloaded), two clients asking for the certificate status (s_client
# prints the staple, curl --cert-status verifies it), and `autostaple
# status` telling what the server staples.
# Everything listens on 127.0.0.1 and is stopped on exit.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
case ${BUILD:-build} in
/*) build=$BUILD ;;
*) build=$(cd "$root/${BUILD:-build}" && pwd) ;;
esac
work=$(mktemp -d "${TMPDIR:-/tmp}/autostaple-demo.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
port() { echo $((20000 + RANDOM % 12000)); }
die() { echo "demo: $*" >&2; exit 1; }

ocsp_port=$(port)
tls_port=$(port)
say "1. A test CA: root, intermediate, and a server certificate whose AIA names an OCSP responder"
"$root/tests/pki/mkpki.sh" "$work/pki" "$ocsp_port" "$(port)" >"$work/pki.log" 2>&1 ||
    { cat "$work/pki.log"; die "cannot make the CA"; }
openssl x509 -in "$work/pki/leaf-rsa.pem" -noout -subject -ext authorityInfoAccess | sed 's/^/   /'

say "2. The CA's OCSP responder: openssl ocsp on 127.0.0.1:$ocsp_port"
LD_PRELOAD="$build/tests/loopback_bind.so" openssl ocsp -index "$work/pki/index.txt" \
    -port "$ocsp_port" -CA "$work/pki/inter.pem" -rsigner "$work/pki/inter.pem" \
    -rkey "$work/pki/inter.key" -nmin 60 -ignore_err >"$work/ocsp.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q "waiting for OCSP" "$work/ocsp.log" && break; sleep 0.1; done
grep -q "waiting for OCSP" "$work/ocsp.log" || { cat "$work/ocsp.log"; die "the responder did not start"; }

say "3. autostaple check: would the library staple a response for this certificate?"
echo "   autostaple check leaf-rsa-full.pem"
"$build/autostaple" check "$work/pki/leaf-rsa-full.pem" | sed 's/^/   /'
echo "   (exit status ${PIPESTATUS[0]}: 0 is a good, verified response)"

say "4. An unmodified openssl s_server on 127.0.0.1:$tls_port, under autostaple (the shim preloaded):"
echo "   autostaple --cache-dir DIR -- openssl s_server -cert leaf-rsa.pem ..."
mkdir -p "$work/cache"
"$build/autostaple" --cache-dir "$work/cache" -- openssl s_server -accept "127.0.0.1:$tls_port" -www \
    -cert "$work/pki/leaf-rsa.pem" -key "$work/pki/leaf-rsa.key" \
    -cert_chain "$work/pki/chain.pem" >/dev/null 2>"$work/server.log" &
pids+=($!)
for _ in $(seq 50); do grep -q "stapling a good response" "$work/server.log" && break; sleep 0.1; done
echo "   The server's stderr (the shim's log):"
grep autostaple "$work/server.log" | sed 's/^/   /'

say "5. openssl s_client -status: the staple arrives in the handshake"
timeout 10 openssl s_client -connect "127.0.0.1:$tls_port" -status </dev/null 2>/dev/null |
    sed -n '/^OCSP response:/,/^---/p' | grep -E 'OCSP Response Status|Cert Status|This Update|Next Update|Responder Id|OCSP response: no' |
    sed 's/^ */   /'

say "6. curl --cert-status: a client that verifies the staple (signature, CertID, status, times)"
if timeout 10 curl -sS --cert-status --cacert "$work/pki/root.pem" \
    --resolve "good.test:$tls_port:127.0.0.1" -o /dev/null "https://good.test:$tls_port/"; then
    echo "   curl: the staple verified; the connection succeeded."
else
    die "curl refused the staple (see above)"
fi

say "7. autostaple status: what the running server staples"
# The status file is rewritten up to a second after a change: wait (5 s at
# most) until it records the good response stapled above, not merely exists.
for _ in $(seq 50); do
    grep -qs '^status: good$' "$work/cache"/status-*.txt && break
    sleep 0.1
done
echo "   autostaple status --cache-dir DIR"
"$build/autostaple" status --cache-dir "$work/cache" | sed 's/^/   /'
say "Done: an unmodified server stapled a verified OCSP response."
