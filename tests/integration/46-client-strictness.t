#!/bin/bash
# As strict as the strictest client: responses that break one rule each
# (built by mkresp) are stapled as they are by `openssl s_server
# -status_file`, without the library, to two clients that verify the
# staples they receive, gnutls-cli and curl --cert-status.  Whatever either
# refuses, the library's verification (verify_tool, shim/ocsp_verify.c)
# refuses too; a revoked response is the one exception, by design: it is
# stapled, the signed truth, and the clients then refuse the connection.
# The table of what each refused is printed (docs/configuration.md,
# "Verification", cites it).
. "$AS_SRC/tests/lib.sh"
VERIFY=${VERIFY_TOOL:-$AS_BUILD/tests/unit/verify_tool}
command -v gnutls-cli >/dev/null || skip_all "gnutls-cli is not installed (gnutls-bin)"

# case NAME MKRESP-ARGS...: the three verdicts on such a response for
# leaf-rsa (good.test): "ours gnutls curl", each ok or refused
case_verdicts() {
    local port ours g c
    mkresp_for leaf-rsa "$T/r.der" "$@" >"$T/mkresp.log" 2>&1 || { echo "mkresp failed"; return; }
    ours=refused
    "$VERIFY" "$T/r.der" "$AS_PKI/leaf-rsa.pem" "$AS_PKI/inter.pem" 2>&1 | grep -q '^ok' && ours=ok
    port=$(free_port)
    start_bg stapler openssl s_server -accept "127.0.0.1:$port" -cert "$AS_PKI/leaf-rsa.pem" \
        -key "$AS_PKI/leaf-rsa.key" -cert_chain "$AS_PKI/chain.pem" -status_file "$T/r.der" -www -quiet
    wait_for_port "$port" 10 || { echo "s_server failed"; stop_bg stapler; return; }
    g=refused c=refused
    gnutls_verify "$port" && g=ok
    curl_verify "$port" good.test 2>/dev/null && c=ok
    stop_bg stapler
    echo "$ours $g $c"
}

signer() { echo "-signer $AS_PKI/$1.pem -key $AS_PKI/$1.key"; }
table="| response | ours | gnutls-cli | curl |"
# row NAME ARGS...: checks the rule for one case, adds its row to the table
row() {
    local name=$1 ours g c
    shift
    read -r ours g c <<<"$(case_verdicts "$@")"
    table="$table"$'\n'"| $name | $ours | $g | $c |"
    if [ "$name" = revoked ]; then
        is "$ours" ok "$name: stapled (the signed truth; gnutls-cli $g, curl $c)"
    elif [ "$g" = refused ] || [ "$c" = refused ]; then
        is "$ours" refused "$name: gnutls-cli $g, curl $c: refused by us too"
    else
        pass "$name: accepted by gnutls-cli and curl (ours: $ours)"
    fi
}

read -r ours g c <<<"$(case_verdicts)"
is "$ours $g $c" "ok ok ok" "a good response: all three accept it"
read -r ours g c <<<"$(case_verdicts -cert "$AS_PKI/leaf-sni.pem")"
is "$ours $g $c" "refused refused refused" \
    "another certificate's response: all three refuse it (both clients verify staples)"

row revoked -status revoked
row unknown -status unknown
row "expired an hour ago" -this -7200 -next -3600
row "thisUpdate an hour ahead" -this 3600 -next 7200
row "no nextUpdate, two days old" -this -172800 -no-next
row "no nextUpdate, fresh" -no-next
row "signed by a delegate that is a CA" $(signer ocsp-ca-signer)
row "critical extension in the response" -crit-ext response
row "critical extension in the SingleResponse" -crit-ext single
row "signed by an unrelated key" $(signer rogue-signer)
row "delegate without OCSPSigning" $(signer ocsp-noeku)
row "delegate not included" $(signer ocsp-signer) -no-certs
row "SHA-256 CertID" -sha256
row "valid 30 days" -next 2592000
row tryLater -respstatus trylater
diag "$table"
done_testing
