#!/bin/bash
# Issue 6, part 3: a response file beside the certificate ("<certificate
# file>.ocsp", DER, as HAProxy and cron jobs running `openssl ocsp -respout`
# keep them).  With no responder at all, a valid file staples the first
# handshake: for servers that name their file to OpenSSL (fixture server,
# Apache) and for those that read the PEM themselves (openssl s_server,
# nginx).  A file that does not verify is logged once and ignored; a fresher
# file is taken without a restart; a fresher fetched response replaces the
# file's; AUTOSTAPLE_OCSP_FILES=0 turns it off; programs that do not serve
# are unaffected by the BIO_new_file hook.
. "$AS_SRC/tests/lib.sh"

# The PKI's certificates name a responder on $OCSP_PORT: nothing listens
# there until the end of the test.
RETRY=(AUTOSTAPLE_RETRY_MIN=1 AUTOSTAPLE_RETRY_MAX=10)

# certdir DIR: a copy of leaf-rsa (.pem, .key, -full.pem) in DIR.
certdir() {
    mkdir -p "$1"
    cp "$AS_PKI/leaf-rsa.pem" "$AS_PKI/leaf-rsa.key" "$AS_PKI/leaf-rsa-full.pem" "$1/"
}

# start_fixture NAME DIR MODE [VAR=VALUE | ARG...]: the fixture server loading
# DIR/leaf-rsa.pem the MODE way (file: SSL_CTX_use_certificate_file; use:
# PEM_read_X509 from stdio, no file name OpenSSL sees); port in PORT.
start_fixture() {
    local name=$1 dir=$2 mode=$3
    shift 3
    PORT=$(free_port)
    local vars=() args=()
    for a in "$@"; do
        if [[ $a == AUTOSTAPLE_*=* ]]; then vars+=("$a"); else args+=("$a"); fi
    done
    start_bg "$name" env "${RETRY[@]}" "${vars[@]}" LD_PRELOAD="$AS_SHIM" "$FIXTURE_SERVER" \
        -port "$PORT" -max-seconds 120 -load "$mode" -cert "$dir/leaf-rsa.pem" \
        -key "$dir/leaf-rsa.key" -chain "$AS_PKI/inter.pem" "${args[@]}"
    wait_for_port "$PORT" 10 || _as_infra_fail "fixture server $name starts" "$T/$name.log"
}

# stapled_this_is WANT / stapled_this_isnt OLD: the thisUpdate stapled on
# $PORT now is WANT / is there and is not OLD.
stapled_this_is() { [ "$(this_update_of "$PORT")" = "$1" ]; }
stapled_this_isnt() { local now; now=$(this_update_of "$PORT"); [ -n "$now" ] && [ "$now" != "$1" ]; }

# first_handshake_stapled WHO [LOG]: the server on $PORT staples on its
# first handshake, curl --cert-status accepts the staple, and LOG (if given)
# names the file it came from.
first_handshake_stapled() {
    is "$(staple_of "$PORT")" good "$1: first handshake stapled from the file"
    check "$1: curl --cert-status accepts it" curl_verify "$PORT" good.test
    [ $# -lt 2 ] || like "$(cat "$2")" "stapling a good response from $d/leaf-rsa.pem.ocsp" \
        "$1: the log names the file"
}

# --- A valid file, no responder: the first handshake is stapled.
d=$T/good
certdir "$d"
mkresp_for leaf-rsa "$d/leaf-rsa.pem.ocsp" || _as_infra_fail "mkresp"
cp "$d/leaf-rsa.pem.ocsp" "$d/leaf-rsa-full.pem.ocsp"

mkdir -m 0755 "$T/fcache"
start_fixture fixture "$d" file AUTOSTAPLE_CACHE_DIR="$T/fcache"
first_handshake_stapled "fixture server (SSL_CTX_use_certificate_file)" "$T/fixture.log"
sf=$T/fcache/status-$fixture_PID.txt
file_times="$(ocsp_time "$d/leaf-rsa.pem.ocsp" "Produced At") $(ocsp_time "$d/leaf-rsa.pem.ocsp" "Next Update")"
status_times_are_the_files() {
    [ "$(status_field "$sf" produced) $(status_field "$sf" next_update)" = "$file_times" ]
}
check "fixture server: the status file gives the file's producedAt and nextUpdate ($file_times)" \
    eventually 3 status_times_are_the_files
unlike "$(cat "$T/fixture.log")" "OCSP from .* failed" \
    "fixture server: no fetch yet (the file's response sets the next refresh)"
stop_bg fixture

# s_server opens its key just before its certificate: "leaf-rsa.key.ocsp" is
# a guess too, dropped because the key file holds no certificate.
head -c 500 /dev/urandom >"$d/leaf-rsa.key.ocsp"
start_shim_s_server sserver "$d/leaf-rsa" "${RETRY[@]}"
first_handshake_stapled "openssl s_server (reads the PEM itself)" "$T/sserver.log"
unlike "$(cat "$T/sserver.log")" "leaf-rsa.key.ocsp" \
    "openssl s_server: a file beside its key file is not looked at"
stop_bg sserver

# Loaded on each connection (SSL_use_certificate_file), by two threads: the
# certificate is learned at the first handshake, its file read then.
start_fixture perconn "$d" ssl-file -threads 2
staple_of "$PORT" >/dev/null
check "per connection (SSL_use_certificate_file): stapled from the file after the first handshake" \
    wait_for_staple good "$PORT" 5
# (The log line follows the publish: wait for it before counting.)
wait_for_log "$T/perconn.log" 'stapling a good response from' 5
is "$(grep -c 'stapling a good response from' "$T/perconn.log")" 1 "per connection: the file is read once"
stop_bg perconn

# Read through stdio: no file name reaches OpenSSL, so nothing is guessed.
start_fixture stdio "$d" use
sleep 1
is "$(staple_of "$PORT")" none "a certificate read with stdio (PEM_read_X509): no file known, not stapled"
stop_bg stdio

if [ -x /usr/sbin/nginx ]; then
    PORT=$(free_port)
    mkdir -p "$T/nginx"
    start_bg nginx env "${RETRY[@]}" LD_PRELOAD="$AS_SHIM" "$AS_SRC/tests/servers/nginx.sh" \
        "$T/nginx" "$PORT" "$d/leaf-rsa-full.pem" "$d/leaf-rsa.key" 2
    wait_for_port "$PORT" 15 || _as_infra_fail "nginx starts" "$T/nginx.log"
    first_handshake_stapled "nginx, 2 workers"
    stop_bg nginx
else
    skip "nginx is not installed" 2
fi

if [ -x /usr/sbin/apache2 ]; then
    PORT=$(free_port)
    mkdir -p "$T/apache"
    start_bg apache env "${RETRY[@]}" LD_PRELOAD="$AS_SHIM" "$AS_SRC/tests/servers/apache.sh" \
        "$T/apache" "$PORT" "$d/leaf-rsa-full.pem" "$d/leaf-rsa.key"
    wait_for_port "$PORT" 15 || _as_infra_fail "apache starts" "$T/apache.log"
    first_handshake_stapled "Apache httpd"
    stop_bg apache
else
    skip "apache2 is not installed" 2
fi

# --- Files that must not be stapled: each one server, all at once.
declare -A why=(
    [other]="response is for another certificate"
    [wrongkey]="signature or signer not authorized"
    [expired]="response expired"
    [garbage]="not a DER OCSP response"
    [directory]="not a regular file"
    [fifo]="not a regular file"
    [loop]="Too many levels of symbolic links"
    [huge]="70000 bytes"
)
declare -A bad_port=()
for k in "${!why[@]}"; do
    b=$T/bad-$k
    certdir "$b"
    f=$b/leaf-rsa.pem.ocsp
    case $k in
    other) mkresp_for leaf-sni "$f" ;;
    wrongkey) mkresp_for leaf-rsa "$f" -signer "$AS_PKI/rogue-ca.pem" -key "$AS_PKI/rogue-ca.key" ;;
    expired) mkresp_for leaf-rsa "$f" -this -7200 -next -60 ;;
    garbage) head -c 3000 /dev/urandom >"$f" ;;
    directory) mkdir "$f" ;;
    fifo) mkfifo "$f" ;;
    loop) ln -s leaf-rsa.pem.ocsp "$f" ;;
    huge) { cat "$d/leaf-rsa.pem.ocsp"; head -c $((70000 - $(stat -c %s "$d/leaf-rsa.pem.ocsp"))) /dev/zero; } >"$f" ;;
    esac
    start_fixture "bad-$k" "$b" file
    bad_port[$k]=$PORT
done
sleep 5 # several retries (1, 2, 4 s): the file is looked at each time
for k in "${!why[@]}"; do
    is "$(staple_of "${bad_port[$k]}")" none "$k: not stapled"
    check "$k: the server serves" grep -q 'Verification\|Verify return code' "$T/staple_of.out"
    like "$(grep 'ignoring the response file' "$T/bad-$k.log")" \
        "warning: certificate /CN=good.test: ignoring the response file $T/bad-$k/leaf-rsa.pem.ocsp: .*${why[$k]}" \
        "$k: the log says why"
    is "$(grep -c 'ignoring the response file' "$T/bad-$k.log")" 1 "$k: once"
    stop_bg "bad-$k"
done

# --- AUTOSTAPLE_OCSP_FILES=0: the file is not read.
start_fixture off "$d" file AUTOSTAPLE_OCSP_FILES=0
sleep 1
is "$(staple_of "$PORT")" none "AUTOSTAPLE_OCSP_FILES=0: the file is ignored"
unlike "$(cat "$T/off.log")" "leaf-rsa.pem.ocsp" "AUTOSTAPLE_OCSP_FILES=0: and not mentioned"
stop_bg off

# --- A file that appears, and a fresher file while the responder is down:
# taken at the next retry, without a restart.
c=$T/cron
certdir "$c"
start_fixture cron "$c" file AUTOSTAPLE_LOG_LEVEL=debug
is "$(staple_of "$PORT")" none "no file, no responder: not stapled"
mkresp_for leaf-rsa "$c/new.der" -this -1 -next 15 && mv "$c/new.der" "$c/leaf-rsa.pem.ocsp"
check "a file written by cron is taken at the next retry (within 10 s)" wait_for_staple good "$PORT" 10
first_this=$(this_update_of "$PORT")
is "$first_this" "$(ocsp_field "$c/leaf-rsa.pem.ocsp" "This Update")" "and it is that file's response"
# Its refresh (at about half its 16 s window) fails: the thread is back to
# retrying every few seconds.
taken_at=$(wc -l <"$T/cron.log")
failed_since() { tail -n "+$((taken_at + 1))" "$T/cron.log" | grep -q "OCSP from .* failed"; }
check "its refresh fails: the responder is down" eventually 15 failed_since
mkresp_for leaf-rsa "$c/new.der" -this 0 -next 15 && mv "$c/new.der" "$c/leaf-rsa.pem.ocsp"
second=$(ocsp_field "$c/leaf-rsa.pem.ocsp" "This Update")
isnt "$second" "$first_this" "(the new file is fresher)"
check "a fresher file is taken at a retry (within 10 s)" \
    eventually 10 stapled_this_is "$second"

# --- The responder comes up: its fresher response replaces the file's.
start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"
check "the responder's fresher response replaces the file's (within 20 s)" \
    eventually 20 stapled_this_isnt "$second"
fetched_this=$(this_update_of "$PORT")
isnt "$fetched_this" "$second" "a later thisUpdate is stapled: $fetched_this"
like "$(cat "$T/cron.log")" "stapling a good response from http://127.0.0.1:$OCSP_PORT/" \
    "the log says it came from the responder"
check "curl --cert-status accepts it" curl_verify "$PORT" good.test
is "$(grep -c "stapling a good response from $c/leaf-rsa.pem.ocsp" "$T/cron.log")" 2 \
    "the two files were each taken once"
stop_bg cron
stop_bg "ocsp-$OCSP_PORT"

# --- A file written while a fetch hangs is taken as soon as the fetch
# fails, not at the next retry (30 s later).
h=$T/hang
certdir "$h"
start_fake hang 0 hang
start_fixture hangs "$h" file AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" \
    AUTOSTAPLE_TIMEOUT=6 AUTOSTAPLE_RETRY_MIN=30 AUTOSTAPLE_RETRY_MAX=60 AUTOSTAPLE_STARTUP_WAIT=0
check "(the fetch is under way)" eventually 5 requests_at_least "$FAKE_LOG" 1
mkresp_for leaf-rsa "$h/new.der" && mv "$h/new.der" "$h/leaf-rsa.pem.ocsp"
unlike "$(cat "$T/hangs.log")" "OCSP from .* failed" "(the file is there before the fetch fails)"
check "a file written during a fetch that fails is taken when it fails (within 10 s)" \
    wait_for_staple good "$PORT" 10
stop_bg hangs
stop_bg hang

# --- Programs that do not serve: the BIO_new_file hook stays out of the way.
# (compared with its own output without the preload: OpenSSL 3.0 prints
# "subject=CN = good.test", 3.5 "subject=CN=good.test")
out=$(with_shim openssl x509 -in "$AS_PKI/leaf-rsa.pem" -noout -subject 2>&1)
is "$out" "$(openssl x509 -in "$AS_PKI/leaf-rsa.pem" -noout -subject 2>&1)" \
    "openssl x509 under the preload: reads its file, prints nothing else"
like "$out" "good\.test" "(and it did print the subject)"
out=$(with_shim /usr/bin/python3 -c 'import ssl; print(ssl.OPENSSL_VERSION_INFO[0])' 2>&1)
is "$out" 3 "python3 (libcrypto loaded RTLD_LOCAL, config read through BIO_new_file): unaffected"
start_fixture client-target "$d" file
out=$(AUTOSTAPLE_LOG_LEVEL=debug with_shim timeout 10 openssl s_client -connect "127.0.0.1:$PORT" \
    -status </dev/null 2>&1)
like "$out" "Cert Status: good" "openssl s_client under the preload: gets the staple"
unlike "$out" "autostaple\\[" "and the library says nothing in it"
if sanitized; then
    # curl hangs in setlocale with a sanitizer runtime preloaded, library or not.
    skip "curl under a preloaded sanitizer runtime" 2
else
    out=$(AUTOSTAPLE_LOG_LEVEL=debug with_shim timeout 10 curl -sS --cert-status \
        --cacert "$AS_PKI/root.pem" --resolve "good.test:$PORT:127.0.0.1" "https://good.test:$PORT/" 2>&1)
    rc=$?
    is "$rc" 0 "curl --cert-status under the preload: verifies"
    unlike "$out" "autostaple\\[" "and the library says nothing in it"
fi
stop_bg client-target
done_testing
