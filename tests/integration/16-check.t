#!/bin/bash
# autostaple check: one exchange with a real responder (good, revoked,
# unknown) and with fake ones that fail in every way, each told on stdout
# with the right reason and the fixed exit code (0 good, 1 revoked or
# unknown, 2 usage, 3 no verified answer, 4 no certificate).
. "$AS_SRC/tests/lib.sh"

AUTOSTAPLE=$AS_BUILD/autostaple
unset AUTOSTAPLE_RESPONDER AUTOSTAPLE_CA_FILE AUTOSTAPLE_TIMEOUT

# run_check NAME ARGS...: autostaple check ARGS; stdout in OUT (and
# $T/NAME.out), stderr in ERR, exit status in RC, wall time in MS.
run_check() {
    local name=$1 start
    shift
    start=$(date +%s%N)
    timeout 60 "$AUTOSTAPLE" check "$@" >"$T/$name.out" 2>"$T/$name.err"
    RC=$?
    MS=$((($(date +%s%N) - start) / 1000000))
    OUT=$(cat "$T/$name.out")
    ERR=$(cat "$T/$name.err")
}

# line STEP: the output line of that step (without "STEP: ").
line() { sed -n "s/^$1: //p" <<<"$OUT" | head -n1; }

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"

# ---------------------------------------------------------------- good
run_check good "$AS_PKI/leaf-rsa-full.pem"
is "$RC" 0 "good: exit 0"
rsa_serial=$(serial leaf-rsa)
sha=$(openssl x509 -fingerprint -sha256 -noout -in "$AS_PKI/leaf-rsa.pem")
not_after=$(date -u -d "$(openssl x509 -enddate -noout -in "$AS_PKI/leaf-rsa.pem" | cut -d= -f2)" \
    '+%Y-%m-%d %H:%M:%S UTC')
is "$(line certificate)" "subject CN=good.test; serial $rsa_serial; notAfter $not_after; SHA-256 ${sha#*=}" \
    "good: subject, serial, notAfter and SHA-256 as openssl x509 tells them"
is "$(line responder)" "http://127.0.0.1:$OCSP_PORT/ (from the certificate's AIA)" "good: the AIA responder"
is "$(line issuer)" "CN=autostaple test intermediate (from the chain in $AS_PKI/leaf-rsa-full.pem)" \
    "good: issuer from the chain in the file"
like "$(line request)" "^GET http://127\.0\.0\.1:$OCSP_PORT/M[^ ]+ \([0-9]+ bytes; CertID SHA-1, serial $rsa_serial; no nonce\)$" \
    "good: a GET with a SHA-1 CertID for the serial"
like "$(head -n1 "$OCSP_LOG")" "^GET /M" "good: the responder saw the GET"
like "$(line http)" "^status 200, content type application/ocsp-response, [0-9]+ bytes, [0-9]+ ms$" "good: HTTP result"
is "$(line response)" successful "good: response status"
is "$(line signature)" "verified: signed by the issuer (CN=autostaple test intermediate)" "good: signed by the issuer"
like "$(line certid)" "^matches this certificate" "good: the CertID matches"
is "$(line status)" good "good: status good"
tu=$(line thisUpdate) nu=$(line nextUpdate)
like "$tu" "^20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9:]{8} UTC$" "good: thisUpdate ($tu)"
# the responder signs with -nmin 60
is "$(($(date -u -d "$nu" +%s) - $(date -u -d "$tu" +%s)))" 3600 "good: nextUpdate an hour later ($nu)"
like "$(line producedAt)" "^20[0-9]{2}-" "good: producedAt"
is "$(line verdict)" "good: verified; the library would staple it until $nu" "good: the verdict"
is "$(tail -n1 <<<"$OUT" | cut -d: -f1)" verdict "good: the verdict comes last"
is "$ERR" "" "good: nothing on stderr"

# The issuer from elsewhere: --issuer, the CA bundle, caIssuers.
run_check issuer-option "$AS_PKI/leaf-rsa.pem" --issuer "$AS_PKI/inter.pem"
is "$RC/$(line issuer)" "0/CN=autostaple test intermediate (from --issuer $AS_PKI/inter.pem)" "--issuer: used"
run_check ca-file "$AS_PKI/leaf-rsa.pem" --ca-file="$AS_PKI/ca-bundle.pem"
is "$RC/$(line issuer)" "0/CN=autostaple test intermediate (from the CA bundle $AS_PKI/ca-bundle.pem)" \
    "--ca-file: the issuer from the bundle"
start_issuer_server "$ISSUER_PORT"
run_check caissuers "$AS_PKI/leaf-rsa.pem" --ca-file "$AS_PKI/root-only.pem"
is "$RC/$(line issuer)" "0/CN=autostaple test intermediate (downloaded from caIssuers http://127.0.0.1:$ISSUER_PORT/inter.der)" \
    "caIssuers: the issuer downloaded"
stop_bg "$ISSUER_PID"

# ---------------------------------------------------------------- revoked, unknown
run_check revoked "$AS_PKI/leaf-revoked-full.pem"
is "$RC" 1 "revoked: exit 1"
revoked_at=$(awk -F'\t' '$1 == "R" && $6 == "/CN=revoked.test" { split($3, a, ","); print a[1] }' "$AS_PKI/index.txt")
want=$(date -u -d "$(sed -E 's/^(..)(..)(..)(..)(..)(..)Z$/20\1-\2-\3 \4:\5:\6/' <<<"$revoked_at")" '+%Y-%m-%d %H:%M:%S UTC')
is "$(line status)" "revoked at $want, reason keyCompromise" "revoked: the time and reason of the index ($revoked_at)"
like "$(line verdict)" "^REVOKED: verified; the library would staple the revocation" "revoked: verdict"

run_check unknown "$AS_PKI/leaf-unknown-full.pem"
is "$RC" 1 "unknown: exit 1"
is "$(line status)" unknown "unknown: status unknown"
like "$(line verdict)" "^unknown: the responder does not know this certificate \(verified\)" "unknown: verdict"

# A delegated signer is fine, and said so.
mkresp_for leaf-rsa "$T/delegated.der" -signer "$AS_PKI/ocsp-signer.pem" -key "$AS_PKI/ocsp-signer.key"
start_fake fake-delegated 0 file -file "$T/delegated.der"
run_check delegated "$AS_PKI/leaf-rsa-full.pem" --responder "http://127.0.0.1:$FAKE_PORT/"
is "$RC" 0 "delegated signer: exit 0"
like "$(line signature)" "^verified: signed by a delegated signer CN=[^;]+ \(issued by the issuer; EKU OCSPSigning\)$" \
    "delegated signer: named, issued by the issuer, with its EKU"
is "$(line responder)" "http://127.0.0.1:$FAKE_PORT/ (from --responder)" "--responder: used"
long=$(printf 'p%.0s' $(seq 1 200))
run_check post "$AS_PKI/leaf-rsa-full.pem" --responder "http://127.0.0.1:$FAKE_PORT/$long/"
like "$RC/$(line request)" "^0/POST http://127\.0\.0\.1:$FAKE_PORT/$long/ \(" "a URL over 255 bytes: POSTed, as the library does"
like "$(tail -n1 "$FAKE_LOG")" "^POST /$long/" "and the responder saw the POST"

# No nextUpdate: the library's maximum age; the responder from the environment.
mkresp_for leaf-rsa "$T/nonext.der" -no-next
start_fake fake-nonext 0 file -file "$T/nonext.der"
AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" AUTOSTAPLE_MAX_AGE=600 run_check nonext "$AS_PKI/leaf-rsa-full.pem"
is "$RC/$(line responder)" "0/http://127.0.0.1:$FAKE_PORT/ (from AUTOSTAPLE_RESPONDER)" "AUTOSTAPLE_RESPONDER: used"
is "$(line nextUpdate)" "none (the library applies AUTOSTAPLE_MAX_AGE, 600 s)" "no nextUpdate: said so"
until=$(date -u -d "@$(($(date -u -d "$(line thisUpdate)" +%s) + 600))" '+%Y-%m-%d %H:%M:%S UTC')
is "$(line verdict)" "good: verified; the library would staple it until $until" "no nextUpdate: good until thisUpdate + AUTOSTAPLE_MAX_AGE"
AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" AUTOSTAPLE_MAX_AGE=864000 run_check nonext10 "$AS_PKI/leaf-rsa-full.pem"
is "$(line nextUpdate)" "none (the library applies one day, the most a client allows, not AUTOSTAPLE_MAX_AGE's 864000 s)" \
    "no nextUpdate, AUTOSTAPLE_MAX_AGE of 10 days: one day, said so"
until=$(date -u -d "@$(($(date -u -d "$(line thisUpdate)" +%s) + 86400))" '+%Y-%m-%d %H:%M:%S UTC')
is "$(line verdict)" "good: verified; the library would staple it until $until" \
    "no nextUpdate, AUTOSTAPLE_MAX_AGE of 10 days: good until thisUpdate + one day"
stop_bg fake-nonext

# What came off the network is printed escaped: a Content-Type with a
# terminal escape sequence reaches the terminal as text.
start_fake fake-ctype 0 file -file "$T/nonext.der" -ctype "$(printf 'application/ocsp-response[2J]0;owned')"
AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" run_check ctype "$AS_PKI/leaf-rsa-full.pem"
check "a hostile Content-Type: no escape character reaches the output" \
    bash -c "! grep -q \$'\033' '$T/ctype.out' && ! grep -q \$'\007' '$T/ctype.out'"
like "$(line http)" '^status 200, content type application/ocsp-response\\x1b\[2J\\x1b\]0;owned\\x07, ' \
    "a hostile Content-Type: shown escaped"
stop_bg fake-ctype

# ---------------------------------------------------------------- no verified answer
# bad NAME EXIT-STEP-ERE VERDICT-ERE MODE [FAKE ARGS...]: a fake responder in
# MODE; check exits 3 with the step's line and the verdict's reason.
bad() {
    local name=$1 step=$2 reason=$3 mode=$4
    shift 4
    start_fake "fake-$name" 0 "$mode" "$@"
    run_check "$name" "$AS_PKI/leaf-rsa-full.pem" --responder "http://127.0.0.1:$FAKE_PORT/" --timeout 3
    is "$RC" 3 "$name: exit 3"
    check "$name: the step says so" grep -qE "^$step" "$T/$name.out"
    like "$(line verdict)" "^no verified answer: $reason" "$name: the verdict says why"
    stop_bg "fake-$name"
}
bad http500 "http: status 500," "responder answered HTTP status 500" status:500
bad garbage "response: not an OCSP response" "not a DER OCSP response" garbage
bad trylater "response: trylater" "responder answered trylater" trylater
mkresp_for leaf-rsa "$T/rogue.der" -signer "$AS_PKI/rogue-signer.pem" -key "$AS_PKI/rogue-signer.key"
bad wrong-signer "signature: REFUSED: signature or signer not authorized by the issuer.*; signed by a delegated signer CN=[^;]+ \(NOT issued by the issuer" \
    "signature or signer not authorized by the issuer" file -file "$T/rogue.der"
mkresp_for leaf-sni "$T/other.der"
sni_serial=$(serial leaf-sni)
bad other-cert "certid: NO MATCH: the response is about another certificate \(serial $sni_serial\)" \
    "response is for another certificate" file -file "$T/other.der"
mkresp_for leaf-rsa "$T/expired.der" -this -7200 -next -60
bad expired "nextUpdate: " "expired: response expired [0-9]+ s ago" file -file "$T/expired.der"
mkresp_for leaf-rsa "$T/future.der" -this 3600 -next 7200
bad future "thisUpdate: " "not yet valid: thisUpdate in the future by [0-9]+ s" file -file "$T/future.der"

# Hanging: the timeout is honoured.
start_fake fake-hang 0 hang
run_check hang "$AS_PKI/leaf-rsa-full.pem" --responder "http://127.0.0.1:$FAKE_PORT/" --timeout 2
is "$RC" 3 "hang: exit 3"
hang_ms=4000
sanitized && hang_ms=6000
check "hang: done within the timeout + $((hang_ms / 1000 - 2)) s ($MS ms)" test "$MS" -lt "$hang_ms" -a "$MS" -ge 1900
like "$(line http)" "^timed out after [0-9]+ ms: " "hang: timed out"
is "$(line verdict)" "no verified answer: the responder timed out (2 s)" "hang: the verdict says so"
stop_bg fake-hang

# Down: nothing listens.
dead=$(free_port)
run_check down "$AS_PKI/leaf-rsa-full.pem" --responder "http://127.0.0.1:$dead/"
is "$RC" 3 "down: exit 3"
like "$(line http)" "^failed after [0-9]+ ms: Connection refused \(" "down: connection refused"
is "$(line verdict)" "no verified answer: cannot reach the responder: Connection refused" "down: the verdict says so"

# No OCSP URL: nothing is asked.
n=$(count_requests "$OCSP_LOG")
run_check noaia "$AS_PKI/leaf-noaia-full.pem"
is "$RC" 3 "no OCSP URL: exit 3"
is "$(line responder)" "none: the certificate has no AIA extension" "no OCSP URL: said so"
like "$(line verdict)" "^no verified answer: no OCSP URL in the certificate" "no OCSP URL: the verdict"
is "$(count_requests "$OCSP_LOG")" "$n" "no OCSP URL: no request sent"

# Issuer not found: where it looked.
AUTOSTAPLE_FETCH_ISSUER=0 run_check noissuer "$AS_PKI/leaf-rsa.pem" --ca-file "$AS_PKI/root-only.pem"
is "$RC" 3 "issuer not found: exit 3"
is "$(line issuer)" "not found: not in $AS_PKI/leaf-rsa.pem (0 other certificates), not in the CA bundle $AS_PKI/root-only.pem, caIssuers http://127.0.0.1:$ISSUER_PORT/inter.der not fetched (AUTOSTAPLE_FETCH_ISSUER=0)" \
    "issuer not found: every place looked at is named"
like "$(line verdict)" "^no verified answer: issuer not found" "issuer not found: the verdict"
run_check wrongissuer "$AS_PKI/leaf-rsa.pem" --issuer "$AS_PKI/root.pem"
is "$RC/$(line issuer)" "3/not found: the --issuer file holds no certificate that issued this one" \
    "--issuer that did not issue it: exit 3, said so"

# ---------------------------------------------------------------- no certificate, usage
run_check missing "$T/nonexistent.pem"
is "$RC" 4 "unreadable file: exit 4"
is "$ERR" "autostaple check: cannot read $T/nonexistent.pem: No such file or directory" "unreadable file: why, on stderr"
is "$OUT" "" "unreadable file: nothing on stdout"
echo "not a certificate" >"$T/junk.pem"
run_check junk "$T/junk.pem"
is "$RC/$ERR" "4/autostaple check: $T/junk.pem holds no certificate (PEM or DER)" "no certificate in the file: exit 4"
# Not a regular file: refused with its reason, never waited on (a FIFO
# would block forever); standard input with -, bounded by --timeout.
run_check dir "$T"
is "$RC/$ERR" "4/autostaple check: $T is a directory, not a certificate file (give a file, or - for standard input)" \
    "a directory: exit 4, said so"
mkfifo "$T/fifo"
run_check fifo "$T/fifo"
is "$RC/$ERR" "4/autostaple check: $T/fifo is a FIFO, not a certificate file (give a file, or - for standard input)" \
    "a FIFO: exit 4 at once, said so"
check "(at once: $MS ms)" test "$MS" -lt 3000
run_check stdin - <"$AS_PKI/leaf-rsa-full.pem"
is "$RC" 0 "- reads the certificate from standard input"
like "$(line certificate)" "CN=good\.test" "(the one given there)"
mkfifo "$T/never"
start_bg writer bash -c 'exec 3>"$1"; sleep 60' writer "$T/never"
run_check slow - --timeout 1 <"$T/never"
is "$RC/$ERR" "4/autostaple check: standard input: nothing more came within 1 s (--timeout)" \
    "standard input that never ends: bounded by --timeout"
check "(in $MS ms)" test "$MS" -lt 5000
stop_bg writer
run_check der "$AS_PKI/inter.der" --responder "http://127.0.0.1:$dead/"
like "$RC/$(line certificate)" "^3/subject CN=autostaple test intermediate" "a DER certificate is read"

run_check noargs
is "$RC" 2 "no argument: exit 2"
like "$ERR" "no certificate file given" "no argument: said so on stderr"
run_check unknown-option "$AS_PKI/leaf-rsa-full.pem" --frobnicate
is "$RC/$ERR" "2/autostaple check: unknown option --frobnicate
(autostaple check --help for usage)" "unknown option: exit 2, named"
run_check bad-timeout "$AS_PKI/leaf-rsa-full.pem" --timeout 0
like "$RC/$ERR" "^2/autostaple check: --timeout 0: seconds from 1 to 120" "--timeout 0: exit 2"
run_check two-files "$AS_PKI/leaf-rsa-full.pem" "$AS_PKI/leaf-ec.pem"
like "$RC/$ERR" "^2/.*one certificate file only" "two files: exit 2"
run_check no-value "$AS_PKI/leaf-rsa-full.pem" --issuer
like "$RC/$ERR" "^2/.*option --issuer needs a value" "an option without its value: exit 2"
run_check help --help
like "$RC/$OUT" "^0/usage: autostaple check CERTFILE" "--help: usage on stdout, exit 0"
done_testing
