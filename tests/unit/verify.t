#!/bin/bash
# Response verification (shim/ocsp_verify.c) on responses built by mkresp:
# every check of what must hold before a response is stapled (shim/ocsp_verify.c).
. "$AS_SRC/tests/lib.sh"
VERIFY=${VERIFY_TOOL:-$AS_BUILD/tests/unit/verify_tool}

# verdict LEAF [MKRESP ARGS...]: what the shim says of such a response for LEAF
verdict() {
    local leaf=$1
    shift
    mkresp_for "$leaf" "$T/r.der" "$@" >"$T/mkresp.log" 2>&1 || { echo "mkresp failed"; return; }
    "$VERIFY" "$T/r.der" "$AS_PKI/leaf-rsa.pem" "$AS_PKI/inter.pem" 2>&1
}
signer() { echo "-signer $AS_PKI/$1.pem -key $AS_PKI/$1.key"; }

like "$(verdict leaf-rsa)" '^ok good' "issuer-signed good response"
like "$(verdict leaf-rsa -no-certs)" '^ok good' "issuer-signed without certificates"
like "$(verdict leaf-rsa $(signer ocsp-signer))" '^ok good' "delegated signer with OCSPSigning"
like "$(verdict leaf-rsa -status revoked)" '^ok revoked' "revoked is stapled (the signed truth)"
like "$(verdict leaf-rsa -status unknown)" '^refused: .*unknown' "unknown is refused"
like "$(verdict leaf-rsa -this -7200 -next -3600)" '^refused: response expired' "expired is refused"
like "$(verdict leaf-rsa -this -7200 -next -1)" '^refused: response expired' "expired a second ago is refused"
like "$(verdict leaf-rsa -this 3600 -next 7200)" '^refused: thisUpdate in the future by [0-9]+ s' \
    "a thisUpdate an hour ahead is refused"
like "$(verdict leaf-rsa -this 120 -next 7200)" '^ok good' "a thisUpdate within the skew is fine"
like "$(verdict leaf-rsa -no-next)" '^ok good expires_in=8[0-9]{4}$' \
    "no nextUpdate: a day's maximum age"
like "$(verdict leaf-rsa -this -172800 -no-next)" '^refused: .*maximum age' \
    "no nextUpdate and two days old: refused"
like "$(verdict leaf-rsa -next 2592000)" '^ok good expires_in=86[0-9]{4}$' \
    "a 30-day response is capped at thisUpdate + 10 days"
mkresp_for leaf-rsa "$T/nonext.der" -no-next
like "$("$VERIFY" "$T/nonext.der" "$AS_PKI/leaf-rsa.pem" "$AS_PKI/inter.pem" 0 864000)" \
    '^ok good expires_in=8[0-9]{4}$' \
    "no nextUpdate, AUTOSTAPLE_MAX_AGE of 10 days: still one day at most (Firefox's rule)"
like "$("$VERIFY" "$T/nonext.der" "$AS_PKI/leaf-rsa.pem" "$AS_PKI/inter.pem" 0 3600)" \
    '^ok good expires_in=3[0-9]{3}$' "no nextUpdate, AUTOSTAPLE_MAX_AGE of an hour: an hour"
like "$(verdict leaf-rsa $(signer ocsp-ca-signer))" '^refused: signed by a delegated responder that is a CA' \
    "delegated signer with OCSPSigning that is a CA (Firefox: CA used as end entity)"
like "$(verdict leaf-rsa -crit-ext response)" '^refused: a critical extension' \
    "an unknown critical response extension (Firefox refuses it)"
like "$(verdict leaf-rsa -crit-ext single)" '^refused: a critical extension' \
    "an unknown critical extension in our SingleResponse (Firefox refuses it)"
like "$(verdict leaf-rsa $(signer rogue-signer))" '^refused: signature or signer' \
    "signed by an unrelated key"
like "$(verdict leaf-rsa $(signer rogue-ca))" '^refused: signature or signer' \
    "signed by an unrelated CA"
like "$(verdict leaf-rsa $(signer ocsp-noeku))" '^refused: signature or signer' \
    "delegated signer without OCSPSigning"
like "$(verdict leaf-rsa $(signer ocsp-signer) -no-certs)" '^refused: signature or signer' \
    "delegated signer not included (clients could not verify it either)"
like "$(verdict leaf-rsa $(signer leaf-sni))" '^refused: signature or signer' \
    "signed by a sibling leaf"
like "$(verdict leaf-sni)" '^refused: response is for another certificate' \
    "response for another certificate"
like "$(verdict leaf-rsa -sha256)" '^refused: response is for another certificate' \
    "SHA-256 CertID (clients look up SHA-1)"
like "$(verdict leaf-rsa -respstatus trylater)" '^refused: responder answered trylater' "tryLater"
like "$(verdict leaf-rsa -respstatus internalerror)" '^refused: responder answered internalerror' \
    "internalError"

head -c 2000 /dev/urandom >"$T/garbage"
like "$("$VERIFY" "$T/garbage" "$AS_PKI/leaf-rsa.pem" "$AS_PKI/inter.pem")" '^refused: not a DER' \
    "random bytes"
: >"$T/empty"
like "$("$VERIFY" "$T/empty" "$AS_PKI/leaf-rsa.pem" "$AS_PKI/inter.pem")" '^refused: not a DER' \
    "empty body"
mkresp_for leaf-rsa "$T/good.der"
{ cat "$T/good.der"; printf 'junk'; } >"$T/trailing"
like "$("$VERIFY" "$T/trailing" "$AS_PKI/leaf-rsa.pem" "$AS_PKI/inter.pem")" '^refused: not a DER' \
    "trailing bytes after the response"
head -c 100 "$T/good.der" >"$T/truncated"
like "$("$VERIFY" "$T/truncated" "$AS_PKI/leaf-rsa.pem" "$AS_PKI/inter.pem")" '^refused: not a DER' \
    "truncated response"
like "$("$VERIFY" "$T/good.der" "$AS_PKI/leaf-rsa.pem" "$AS_PKI/root.pem")" '^refused' \
    "checked against the wrong issuer"
like "$("$VERIFY" "$T/good.der" "$AS_PKI/leaf-rsa.pem" "$AS_PKI/inter.pem" 7200)" \
    '^refused: response expired' "the same response, two hours later"
done_testing
