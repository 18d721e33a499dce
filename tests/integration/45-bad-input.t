#!/bin/bash
# Issue 4, item 4: bad input from certificates and files.  Certificates with
# odd AIA extensions (made here, issued by the suite's intermediate) and a CA
# bundle that is a directory, a FIFO, unreadable, empty, garbage or partly
# broken.  Each case: the server serves verified handshakes, nothing bad is
# stapled, and the log says what is wrong in one clear line.  (A missing
# bundle: 40-issuer.t; garbage in the cache directory: 71-persistence.t.)
. "$AS_SRC/tests/lib.sh"

export AUTOSTAPLE_RETRY_MIN=1 AUTOSTAPLE_TIMEOUT=3

# served PORT: a TLS client that verifies the certificate (trusting root and
# inter, for servers that send no chain) and name gets a page.
served() {
    timeout 10 curl -sS --cacert "$AS_PKI/ca-bundle.pem" --resolve "localhost:$1:127.0.0.1" \
        -o /dev/null "https://localhost:$1/"
}
# no_refresher PID: the process runs, without the shim's thread.
no_refresher() { [ -d "/proc/$1/task" ] && ! grep -qx autostaple /proc/"$1"/task/*/comm; }

# ------------------------------------------------------------ certificates

# DER, in hex: tlv TAG HEX; an AccessDescription ad ocsp|issuers URI-BYTES
# (a URI, or with a third argument dns a dNSName); aia AD...
_hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
tlv() {
    local n=$((${#2} / 2))
    if ((n < 128)); then printf '%s%02x%s' "$1" "$n" "$2"
    elif ((n < 256)); then printf '%s81%02x%s' "$1" "$n" "$2"
    else printf '%s82%04x%s' "$1" "$n" "$2"; fi
}
ad() {
    local oid=2b06010505073001 tag=86
    [ "$1" = issuers ] && oid=2b06010505073002
    [ "${3:-}" = dns ] && tag=82
    tlv 30 "$(tlv 06 $oid)$(tlv $tag "$(_hex "$2")")"
}
aia() { local all='' a; for a in "$@"; do all+=$a; done; tlv 30 "$all"; }

# odd_cert NAME AIA-HEX: $T/NAME.pem (CN=NAME.odd.test, for localhost) and
# $T/NAME.key, issued by inter, with that AIA extension.
OPENSSL_CONF=/dev/null openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$T/odd.key" 2>/dev/null || _as_infra_fail "EC key"
odd_cert() {
    local name=$1
    printf '%s\n' "basicConstraints = critical, CA:FALSE" "keyUsage = critical, digitalSignature" \
        "extendedKeyUsage = serverAuth" "subjectAltName = DNS:localhost, IP:127.0.0.1" \
        "authorityKeyIdentifier = keyid:always" "authorityInfoAccess = DER:$2" >"$T/$name.cnf"
    cp "$T/odd.key" "$T/$name.key"
    OPENSSL_CONF=/dev/null openssl req -new -key "$T/$name.key" -subj "/CN=$name.odd.test" \
        -out "$T/$name.csr" &&
        OPENSSL_CONF=/dev/null openssl x509 -req -in "$T/$name.csr" -CA "$AS_PKI/inter.pem" \
            -CAkey "$AS_PKI/inter.key" -set_serial "0x1$(openssl rand -hex 8)" -days 30 -sha256 \
            -extfile "$T/$name.cnf" -out "$T/$name.pem" 2>/dev/null ||
        _as_infra_fail "certificate $name"
}
# good_response NAME: a good response for $T/NAME.pem in $T/NAME.der.
good_response() {
    "$MKRESP" -cert "$T/$1.pem" -issuer "$AS_PKI/inter.pem" -signer "$AS_PKI/inter.pem" \
        -key "$AS_PKI/inter.key" -out "$T/$1.der" || _as_infra_fail "response for $1"
}
# warned NAME ERE: the log of NAME has exactly one line matching ERE.
warned() { [ "$(grep -cE -- "$2" "$T/$1.log")" = 1 ]; }

# Several OCSP URLs: unusable ones are skipped; of two http ones the first is
# used, and only it is asked.
start_fake several 0 file -file "$T/several.der"
F=$FAKE_PORT
odd_cert several "$(aia "$(ad ocsp ldap://ldap.test/cn=ocsp)" "$(ad ocsp o.test dns)" \
    "$(ad ocsp "http://127.0.0.1:$F/first/")" "$(ad ocsp "http://127.0.0.1:$F/second/")")"
good_response several
start_shim_s_server several "$T/several"
check "several URLs: stapled" wait_for_staple good "$PORT" 5
check "several URLs: curl --cert-status accepts the staple" curl_verify "$PORT"
check "several URLs: the first usable one is named" \
    warned several "info: certificate /CN=several\.odd\.test \(loaded\): stapling from http://127\.0\.0\.1:$F/first/\$"
like "$(cut -d' ' -f2 "$FAKE_LOG" | cut -d/ -f2 | sort -u | tr '\n' ' ')" "^first \$" \
    "several URLs: only that one is asked"

# A first responder that fails: the next URL is not tried (docs/configuration.md).
dead=$(free_port)
start_fake second 0 file -file "$T/second.der"
odd_cert second "$(aia "$(ad ocsp "http://127.0.0.1:$dead/")" "$(ad ocsp "http://127.0.0.1:$FAKE_PORT/")")"
good_response second
start_shim_s_server second "$T/second"
check "first responder down: the failure is logged" \
    wait_for_log "$T/second.log" "warning: certificate /CN=second\.odd\.test: OCSP from http://127\.0\.0\.1:$dead/ failed" 5
is "$(staple_of "$PORT")" none "first responder down: no staple"
is "$(count_requests "$FAKE_LOG")" 0 "first responder down: the second URL is not tried"
check "first responder down: served" served "$PORT"

# unusable NAME AIA-HEX ERE DESC: a certificate whose AIA offers nothing
# usable: one warning matching ERE, nothing stapled, no refresher thread, the
# server serves.
unusable() {
    local name=$1 re=$3 desc=$4
    odd_cert "$name" "$2"
    start_shim_s_server "$name" "$T/$name"
    check "$desc: served" served "$PORT"
    check "$desc: one warning that says why" \
        warned "$name" "^autostaple\[openssl [0-9]+\]: warning: certificate /CN=$name\.odd\.test \(loaded\) has $re: not stapling it\$"
    is "$(staple_of "$PORT")" none "$desc: nothing stapled"
    check "$desc: no refresher, no fetch" no_refresher "$BG_PID"
}

start_fake nobody-asks 0 html
F=$FAKE_PORT
notweb='not an http:// or https:// URL'
unusable schemes "$(aia "$(ad ocsp ldap://ldap.test/cn=ocsp)" "$(ad ocsp "ftp://127.0.0.1:$F/")" \
    "$(ad ocsp file:///etc/passwd)")" \
    "no usable OCSP URL \(\"ldap://ldap\.test/cn=ocsp\": $notweb; \"ftp://127\.0\.0\.1:$F/\": $notweb; \"file:///etc/passwd\": $notweb\)" \
    "ldap://, ftp://, file:// only"
long=http://127.0.0.1:$F/$(printf 'a%.0s' $(seq 1 1100))
unusable long "$(aia "$(ad ocsp "$long")")" \
    "no usable OCSP URL \(\"http://127\.0\.0\.1:$F/a+\.\.\.\": longer than 1023 bytes\)" \
    "a URL of ${#long} bytes"
unusable garbled "$(aia "$(ad ocsp "http://127.0.0.1:$F/a b")" "$(ad ocsp $'http://127.0.0.1:'"$F"$'/\x01\n')")" \
    "no usable OCSP URL \(\"http://127\.0\.0\.1:$F/a b\": spaces, control characters or non-ASCII bytes in it; \"http://127\.0\.0\.1:$F/\\\\x01\\\\x0a\": spaces, control characters or non-ASCII bytes in it\)" \
    "a URL with a space, one with control characters"
unusable empty "$(aia "$(ad ocsp '')")" 'no usable OCSP URL \("": empty\)' "an empty URI"
unusable malformed 3003020101 "an AIA extension that does not parse" "an AIA extension that is not DER for AIA"
is "$(count_requests "$FAKE_LOG")" 0 "none of those URLs was asked"

# The limit is where it says: a 1000-byte URL works (POSTed, being over 255).
start_fake longok 0 file -file "$T/longok.der"
path=/$(printf 'p%.0s' $(seq 1 978))/
odd_cert longok "$(aia "$(ad ocsp "http://127.0.0.1:$FAKE_PORT$path")")"
good_response longok
start_shim_s_server longok "$T/longok"
n=$((17 + ${#FAKE_PORT} + ${#path}))
check "a URL of $n bytes: stapled" wait_for_staple good "$PORT" 5
like "$(head -n1 "$FAKE_LOG")" "^POST $path [0-9A-F]+\$" "a URL of $n bytes: POSTed to it"

# An IPv6 literal, if this machine has the IPv6 loopback.
start_bg v6 "$FAKERESPONDER" -port 0 -bind ::1 -mode file -file "$T/v6.der" -log "$T/v6.requests" \
    -max-seconds "$AS_HELPER_MAX_SECONDS"
if wait_for_log "$T/v6.log" '^listening on \[::1\]:[0-9]+$' 5 2>/dev/null; then
    F6=$(sed -n 's/^listening on \[::1\]:\([0-9]*\)$/\1/p' "$T/v6.log")
    odd_cert v6 "$(aia "$(ad ocsp "http://[::1]:$F6/")")"
    good_response v6
    start_shim_s_server v6 "$T/v6"
    check "IPv6 literal: stapled" wait_for_staple good "$PORT" 5
    check "IPv6 literal: curl --cert-status accepts the staple" curl_verify "$PORT"
    check "IPv6 literal: fetched from [::1]" warned v6 "stapling from http://\[::1\]:$F6/\$"
    like "$(head -n1 "$T/v6.requests")" "^GET /M" "IPv6 literal: the responder was asked"
else
    skip "no IPv6 loopback here: $(tail -n1 "$T/v6.log")" 4
fi

# A caIssuers URL that cannot be used, and no chain: the error says so.
odd_cert issuers "$(aia "$(ad ocsp "http://127.0.0.1:$OCSP_PORT/")" "$(ad issuers ldap://ldap.test/ca)")"
start_shim_s_server issuers "$T/issuers" nochain AUTOSTAPLE_CA_FILE="$AS_PKI/root-only.pem"
check "unusable caIssuers, no chain: the error says why" wait_for_log "$T/issuers.log" \
    "error: certificate /CN=issuers\.odd\.test: issuer not found \(not in the server's chain, not in $AS_PKI/root-only\.pem, the certificate has no usable caIssuers URL \(\"ldap://ldap\.test/ca\": $notweb\)\): not stapling it" 8
is "$(staple_of "$PORT")" none "unusable caIssuers, no chain: nothing stapled"

# ------------------------------------------------------------ the CA bundle

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"
mkdir "$T/bundle-dir"
mkfifo "$T/bundle-fifo"
: >"$T/bundle-empty.pem"
head -c 3000 /dev/urandom >"$T/bundle-garbage.pem"
{ cat "$AS_PKI/root.pem"; printf -- '-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n'
  cat "$AS_PKI/inter.pem"; } >"$T/bundle-broken.pem"

# Unreadable: root reads anything, so that server runs as nobody, with its
# own copy of the certificate and key.
nobody=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
mkdir "$T/nobody"
cp "$AS_PKI/leaf-rsa.pem" "$AS_PKI/leaf-rsa.key" "$T/nobody/"
cp "$AS_PKI/ca-bundle.pem" "$T/nobody/unreadable.pem"
chmod 711 "$T"
chown -R nobody "$T/nobody"
chmod 000 "$T/nobody/unreadable.pem"
chown root "$T/nobody/unreadable.pem"
can_drop=0
"${nobody[@]}" test -r "$T/nobody/leaf-rsa.key" -a -r "${AS_SHIM##*:}" -a ! -r "$T/nobody/unreadable.pem" &&
    can_drop=1

declare -A WHY=(
    [dir]="cannot read the CA bundle $T/bundle-dir \(AUTOSTAPLE_CA_FILE\): it is a directory"
    [fifo]="cannot read the CA bundle $T/bundle-fifo \(AUTOSTAPLE_CA_FILE\): not a regular file"
    [empty]="the CA bundle $T/bundle-empty\.pem \(AUTOSTAPLE_CA_FILE\) holds no PEM certificate"
    [garbage]="the CA bundle $T/bundle-garbage\.pem \(AUTOSTAPLE_CA_FILE\) holds no PEM certificate"
    [unreadable]="cannot read the CA bundle $T/nobody/unreadable\.pem \(AUTOSTAPLE_CA_FILE\): Permission denied")
declare -A FILE=([dir]=$T/bundle-dir [fifo]=$T/bundle-fifo [empty]=$T/bundle-empty.pem
    [garbage]=$T/bundle-garbage.pem [unreadable]=$T/nobody/unreadable.pem)
kinds=(dir fifo empty garbage)
[ $can_drop = 1 ] && kinds+=(unreadable)

# bundle_server NAME KIND [nochain]: s_server with that bundle (as nobody for
# unreadable); port in PORT.
bundle_server() {
    local name=$1 kind=$2 leaf=$AS_PKI/leaf-rsa chain=(-cert_chain "$AS_PKI/chain.pem") run=()
    [ "${3:-}" = nochain ] && chain=()
    [ "$kind" = unreadable ] && leaf=$T/nobody/leaf-rsa run=("${nobody[@]}")
    PORT=$(free_port)
    # The responder spawns openssl for each request: a timeout that a slow
    # machine never reaches, since a timeout warning would fail the check.
    start_bg "$name" "${run[@]}" env AUTOSTAPLE_CA_FILE="${FILE[$kind]}" AUTOSTAPLE_FETCH_ISSUER=0 \
        AUTOSTAPLE_TIMEOUT=10 \
        LD_PRELOAD="$AS_SHIM" openssl s_server -accept "127.0.0.1:$PORT" -www \
        -cert "$leaf.pem" -key "$leaf.key" "${chain[@]}"
}

# Without the chain, all at once (each waits for the server's chain first).
declare -A NPORT=()
for k in "${kinds[@]}"; do
    bundle_server "nochain-$k" "$k" nochain
    NPORT[$k]=$PORT
done
for k in "${kinds[@]}"; do
    check "CA bundle $k, no chain: one warning that says why" \
        wait_for_log "$T/nochain-$k.log" "warning: ${WHY[$k]}\$" 8
    check "CA bundle $k, no chain: then the issuer is not found" \
        wait_for_log "$T/nochain-$k.log" "error: certificate /CN=good\.test: issuer not found" 5
    is "$(grep -c 'CA bundle\|issuer not found' "$T/nochain-$k.log")" 2 "CA bundle $k: said once each"
    check "CA bundle $k, no chain: served" eval 'wait_for_port "${NPORT[$k]}" 5 && served "${NPORT[$k]}"'
    is "$(staple_of "${NPORT[$k]}")" none "CA bundle $k, no chain: nothing stapled"
done
[ $can_drop = 1 ] || skip "cannot run a server as nobody here" 5

# With the chain the bundle is not needed: stapled, and no word about it.
for k in "${kinds[@]}"; do
    bundle_server "chain-$k" "$k"
    wait_for_port "$PORT" 10 || _as_infra_fail "s_server chain-$k starts" "$T/chain-$k.log"
    check "CA bundle $k, with the chain: stapled" wait_for_staple good "$PORT" 5
    check "CA bundle $k, with the chain: curl --cert-status accepts it" curl_verify "$PORT" good.test
    unlike "$(grep autostaple "$T/chain-$k.log")" "warning|error" \
        "CA bundle $k, with the chain: nothing to complain about"
done
[ $can_drop = 1 ] || skip "cannot run a server as nobody here" 3

# A malformed certificate in the bundle does not hide the ones after it.
start_shim_s_server broken leaf-rsa nochain AUTOSTAPLE_CA_FILE="$T/bundle-broken.pem" AUTOSTAPLE_FETCH_ISSUER=0
check "CA bundle with a broken certificate before the issuer: stapled" wait_for_staple good "$PORT" 8
is "$(stapled_status "$PORT" leaf-rsa)" good "CA bundle with a broken certificate: the staple verifies"
check "CA bundle with a broken certificate: one warning" warned broken \
    "warning: CA bundle $T/bundle-broken\.pem \(AUTOSTAPLE_CA_FILE\): skipped 1 malformed certificate, read 2\$"

unlike "$(cat "$T"/*.log)" "Sanitizer|runtime error:" "no sanitizer report from any server"
done_testing
