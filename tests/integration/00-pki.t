#!/bin/bash
# Sanity of the test infrastructure itself (no shim): PKI, OCSP responder,
# mkresp, fakeresponder, and the lib.sh client helpers.
. "${AS_SRC:?AS_SRC must be set}/tests/lib.sh" || { echo "Bail out! cannot load lib.sh"; exit 1; }

P=$AS_PKI
LEAVES="leaf-rsa leaf-ec leaf-sni leaf-revoked leaf-unknown leaf-noaia leaf-pemissuer"

# ---- PKI
for c in inter ocsp-signer ocsp-noeku $LEAVES; do
    check "$c verifies to root" openssl verify -CAfile "$P/root.pem" -untrusted "$P/inter.pem" "$P/$c.pem"
done
check "full chain of leaf-rsa verifies with root-only.pem" \
    openssl verify -CAfile "$P/root-only.pem" -untrusted "$P/leaf-rsa-full.pem" "$P/leaf-rsa.pem"
check_fails "rogue-signer does not verify to root" \
    openssl verify -CAfile "$P/root.pem" -untrusted "$P/inter.pem" "$P/rogue-signer.pem"
is "$(openssl x509 -in "$P/leaf-rsa.pem" -noout -ocsp_uri)" "http://127.0.0.1:$OCSP_PORT/" "leaf-rsa AIA OCSP URL"
is "$(openssl x509 -in "$P/leaf-noaia.pem" -noout -ocsp_uri)" "" "leaf-noaia has no OCSP URL"
like "$(openssl x509 -in "$P/leaf-pemissuer.pem" -noout -text)" "CA Issuers - URI:http://127\.0\.0\.1:$ISSUER_PORT/inter\.pem" \
    "leaf-pemissuer caIssuers is a PEM URL"
like "$(openssl x509 -in "$P/leaf-ec.pem" -noout -text)" "id-ecPublicKey" "leaf-ec is ECDSA"
like "$(openssl x509 -in "$P/ocsp-signer.pem" -noout -text)" "OCSP Signing" "ocsp-signer has OCSPSigning EKU"
serials=$(for c in $LEAVES ocsp-signer ocsp-noeku; do openssl x509 -in "$P/$c.pem" -noout -serial; done | sort -u | wc -l)
is "$serials" 9 "leaf and signer serials are distinct"
rsa_serial=$(openssl x509 -in "$P/leaf-rsa.pem" -noout -serial)
check "index.txt lists leaf-rsa by its serial" grep -qP "^V\t\d{12}Z\t\t${rsa_serial#serial=}\t" "$P/index.txt"
check "index.txt does not list leaf-unknown" \
    bash -c "! grep -q \"\$(openssl x509 -in '$P/leaf-unknown.pem' -noout -serial | cut -d= -f2)\" '$P/index.txt'"

# ---- real OCSP responder on the AIA port
start_ocsp_responder "$OCSP_PORT" "$P/index.txt"
is "$(ocsp_query "$OCSP_PORT" leaf-rsa)" good "responder: leaf-rsa good" || diag_file "$T/ocsp_query.out"
is "$(ocsp_query "$OCSP_PORT" leaf-ec)" good "responder: leaf-ec good"
is "$(ocsp_query "$OCSP_PORT" leaf-revoked)" revoked "responder: leaf-revoked revoked"
is "$(ocsp_query "$OCSP_PORT" leaf-unknown)" unknown "responder: leaf-unknown unknown"
is "$(count_requests "$OCSP_LOG")" 4 "responder logged 4 requests"
ocsp_set_index "$OCSP_PORT" "$P/index-all-good.txt"
is "$(ocsp_query "$OCSP_PORT" leaf-revoked)" good "index flip: leaf-revoked now good"
ocsp_set_index "$OCSP_PORT" "$P/index-all-revoked.txt"
is "$(ocsp_query "$OCSP_PORT" leaf-rsa)" revoked "index flip: leaf-rsa now revoked"
stop_bg "$OCSP_PID"
is "$(ocsp_query "$OCSP_PORT" leaf-rsa)" error "responder stopped"

dport=$(free_port)
start_ocsp_responder "$dport" "$P/index.txt" "$P/ocsp-signer.pem" "$P/ocsp-signer.key"
is "$(ocsp_query "$dport" leaf-sni)" good "delegated ocsp-signer response verifies"
# GET form: /<urlencoded base64 of the DER request>
openssl ocsp -issuer "$P/inter.pem" -cert "$P/leaf-rsa.pem" -no_nonce -reqout "$T/req.der" 2>/dev/null
b64=$(base64 -w0 "$T/req.der" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
check "responder answers OCSP GET" curl -fsS -o "$T/get.der" "http://127.0.0.1:$dport/$b64"
is "$(resp_status "$T/get.der" leaf-rsa)" good "GET response is good"
check "malformed POST gets malformedRequest" \
    bash -c "curl -fsS --data-binary junk http://127.0.0.1:$dport/ | cmp - <(printf '\x30\x03\x0a\x01\x01')"

# ---- mkresp
check "mkresp good by inter" mkresp_for leaf-rsa "$T/g1.der"
is "$(resp_status "$T/g1.der" leaf-rsa)" good "openssl accepts mkresp response signed by inter"
check "mkresp good by ocsp-signer" mkresp_for leaf-rsa "$T/g2.der" -signer "$P/ocsp-signer.pem" -key "$P/ocsp-signer.key"
is "$(resp_status "$T/g2.der" leaf-rsa)" good "openssl accepts mkresp response signed by ocsp-signer"
mkresp_for leaf-revoked "$T/r.der" -status revoked -sha256
like "$(openssl ocsp -respin "$T/r.der" -noverify -resp_text 2>&1)" "Cert Status: revoked" "mkresp -status revoked"
like "$(openssl ocsp -respin "$T/r.der" -noverify -resp_text 2>&1)" "Hash Algorithm: sha256" "mkresp -sha256 CertID"
mkresp_for leaf-unknown "$T/u.der" -status unknown
is "$(resp_status "$T/u.der" leaf-unknown)" unknown "mkresp -status unknown"
mkresp_for leaf-rsa "$T/exp.der" -this -7200 -next -3600
is "$(resp_status "$T/exp.der" leaf-rsa)" expired "expired response is flagged"
mkresp_for leaf-rsa "$T/nonext.der" -no-next
unlike "$(openssl ocsp -respin "$T/nonext.der" -noverify -resp_text 2>&1)" "Next Update" "mkresp -no-next"
mkresp_for leaf-rsa "$T/nocerts.der" -signer "$P/ocsp-signer.pem" -key "$P/ocsp-signer.key" -no-certs
unlike "$(openssl ocsp -respin "$T/nocerts.der" -noverify -resp_text 2>&1)" "BEGIN CERTIFICATE" "mkresp -no-certs"
mkresp_for leaf-rsa "$T/noeku.der" -signer "$P/ocsp-noeku.pem" -key "$P/ocsp-noeku.key"
is "$(resp_status "$T/noeku.der" leaf-rsa)" invalid "response by signer without OCSPSigning rejected"
mkresp_for leaf-rsa "$T/rogue.der" -signer "$P/rogue-signer.pem" -key "$P/rogue-signer.key"
is "$(resp_status "$T/rogue.der" leaf-rsa)" invalid "response by rogue signer rejected"
"$MKRESP" -out "$T/tl.der" -respstatus trylater
is "$(od -An -tx1 "$T/tl.der" | tr -d ' \n')" 30030a0103 "mkresp -respstatus trylater"
check_fails "mkresp: key not matching signer is an error" \
    mkresp_for leaf-rsa "$T/x.der" -signer "$P/ocsp-signer.pem" -key "$P/inter.key"
check_fails "mkresp: bad option is an error" "$MKRESP" -bogus

# ---- staple_of / curl_verify against openssl s_server -status_file
sport=$(free_port)
start_bg s_server openssl s_server -accept "127.0.0.1:$sport" -cert "$P/leaf-rsa.pem" \
    -key "$P/leaf-rsa.key" -cert_chain "$P/inter.pem" -status_file "$T/g1.der" -www
check "s_server up" wait_for_log "$T/s_server.log" '^ACCEPT' 10
is "$(staple_of "$sport")" good "staple_of sees good staple"
check "curl_verify accepts good staple" curl_verify "$sport" localhost
check "wait_for_staple good" wait_for_staple good "$sport" 3 localhost
stop_bg s_server
start_bg s_server2 openssl s_server -accept "127.0.0.1:$sport" -cert "$P/leaf-revoked.pem" \
    -key "$P/leaf-revoked.key" -cert_chain "$P/inter.pem" -status_file "$T/r.der" -www
check "s_server2 up" wait_for_log "$T/s_server2.log" '^ACCEPT' 10
is "$(staple_of "$sport" revoked.test)" revoked "staple_of sees revoked staple"
check_fails "curl_verify rejects revoked staple" curl_verify "$sport" revoked.test
stop_bg s_server2
start_bg s_server3 openssl s_server -accept "127.0.0.1:$sport" -cert "$P/leaf-rsa.pem" \
    -key "$P/leaf-rsa.key" -cert_chain "$P/inter.pem" -www
check "s_server3 up" wait_for_log "$T/s_server3.log" '^ACCEPT' 10
is "$(staple_of "$sport")" none "staple_of: no staple -> none"
check_fails "curl_verify requires a staple" curl_verify "$sport"
check_fails "wait_for_staple times out" wait_for_staple good "$sport" 0.5
stop_bg s_server3
is "$(staple_of "$sport")" error "staple_of: nothing listening -> error"

# ---- fakeresponder modes
fp=$(free_port)
url=http://127.0.0.1:$fp/x
start_fake f1 "$fp" file -file "$T/g1.der"
check "file mode serves the file" bash -c "curl -fsS $url | cmp - '$T/g1.der'"
cp "$T/r.der" "$T/new.der" && mv -f "$T/new.der" "$T/g1.der"
check "file mode re-reads the file" bash -c "curl -fsS $url | cmp - '$T/r.der'"
start_bg idle bash -c "exec 3<>/dev/tcp/127.0.0.1/$fp; sleep 30"    # a silent client
sleep 0.2
check "a silent client does not block others" curl -fsS -m 5 -o /dev/null "$url"
stop_bg idle
check "POST with body logged" curl -fsS -o /dev/null --data-binary @"$T/req.der" "$url"
is "$(count_requests "$FAKE_LOG")" 4 "count_requests"
is "$(tail -n1 "$FAKE_LOG")" "POST /x $(serial leaf-rsa)" "log line is METHOD PATH SERIAL"
check "a GET is logged with its certificate's serial too" \
    grep -q "^GET /[^ ]* $(serial leaf-rsa)\$" "$T/ocsp-$dport.requests"
is "$(requests_for "$T/ocsp-$dport.requests" leaf-sni)" 1 "requests_for counts by serial"
stop_bg f1

start_fake f2 "$fp" status:503
is "$(curl -s -o /dev/null -w '%{http_code}' "$url")" 503 "status:503"
stop_bg f2
start_fake f3 "$fp" html
like "$(curl -s -o /dev/null -w '%{content_type}' "$url")" "text/html" "html mode"
stop_bg f3
start_fake f4 "$fp" garbage
is "$(curl -s "$url" | wc -c)" 2000 "garbage mode: 2000 bytes"
stop_bg f4
start_fake f5 "$fp" big -size 3000000
is "$(curl -s "$url" | wc -c)" 3000000 "big mode streams -size bytes"
stop_bg f5
start_fake f6 "$fp" trylater
is "$(curl -s "$url" | od -An -tx1 | tr -d ' \n')" 30030a0103 "trylater mode"
stop_bg f6
start_fake f7 "$fp" truncated
curl -s -o /dev/null "$url"; is $? 18 "truncated mode: curl error 18 (partial file)"
stop_bg f7
start_fake f8 "$fp" reset
curl -s -o /dev/null "$url"; rc=$?
like "$rc" '^(52|56)$' "reset mode: curl error 52/56"
stop_bg f8
start_fake f9 "$fp" redirect
curl -s -L --max-redirs 3 -o /dev/null "$url"; is $? 47 "redirect mode loops (curl error 47)"
is "$(curl -s -o /dev/null -w '%{redirect_url}' "$url")" "$url" "redirect points to itself"
stop_bg f9
start_fake f10 "$fp" hang
start=$(date +%s)
curl -s -m 1 -o /dev/null "$url"; is $? 28 "hang mode: curl times out"
curl -s -m 1 -o /dev/null "$url"
is "$(count_requests "$FAKE_LOG")" 2 "hang mode logged the requests"
stop_bg f10
start_fake f11 "$fp" slow -size 3
start=$(date +%s)
is "$(curl -s "$url")" 000 "slow mode delivers the body"
like "$(($(date +%s) - start))" '^[2-5]$' "slow mode: one byte per second"
stop_bg f11
start_issuer_server "$fp"
check "issuer server: inter.der" bash -c "curl -fsS http://127.0.0.1:$fp/inter.der | cmp - '$P/inter.der'"
check "issuer server: inter.pem" bash -c "curl -fsS http://127.0.0.1:$fp/inter.pem | cmp - '$P/inter.pem'"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$fp/inter.key")" 404 "issuer server: 404 otherwise"
is "$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "http://127.0.0.1:$fp/../inter.der")" 404 "issuer server: no .."
like "$(ss -Hltn "sport = :$fp")" "127\.0\.0\.1:$fp" "helpers bind 127.0.0.1 only"
stop_bg "issuer-$fp"

# ---- process cleanup
start_bg sleeper bash -c 'sleep 300 & sleep 300; wait'
sleep 0.2
pg=$sleeper_PID
check "start_bg: own process group" test "$(ps -o pgid= -p "$pg" | tr -d ' ')" = "$pg"
stop_bg sleeper
check_fails "stop_bg kills the whole group" kill -0 -- "-$pg"

p1=$(free_port); p2=$(free_port)
isnt "$p1" "$p2" "free_port hands out distinct ports"

done_testing
