#!/bin/bash
# Truth only goes forward: once a certificate has been answered revoked, a
# good answer is refused (logged as an error) for as long as the server
# runs, and no response older than the one held is taken, whether it comes
# from the responder (a replay, a CDN serving an old copy), from another
# process's save in the cache directory, or from a planted file.
. "$AS_SRC/tests/lib.sh"

# A responder that serves whatever $T/answer.der holds at each request.
serve_file() { cp "$1" "$T/answer.der.new" && mv -f "$T/answer.der.new" "$T/answer.der"; }
# no_good_during SECS PORT: SECS seconds of handshakes (5 a second), none good
no_good_during() {
    local end=$(($(_as_now_ms) + $1 * 1000)) seen=''
    while [ "$(_as_now_ms)" -lt "$end" ]; do seen="$seen $(staple_of "$2")"; sleep 0.2; done
    [[ $seen != *good* ]] || { diag "seen:$seen"; return 1; }
}

# Revoked, valid 10 s (refreshed after 4 to 6 s): then the responder
# replays an old good answer (thisUpdate 10 minutes ago, valid an hour).
mkresp_for leaf-rsa "$T/revoked.der" -status revoked -this -1 -next 10
mkresp_for leaf-rsa "$T/oldgood.der" -status good -this -600 -next 3600
serve_file "$T/revoked.der"
start_fake answer 0 file -file "$T/answer.der"
start_shim_s_server replay leaf-rsa AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" \
    AUTOSTAPLE_RETRY_MIN=1 AUTOSTAPLE_RETRY_MAX=2
check "revoked: stapled" wait_for_staple revoked "$PORT" 5
serve_file "$T/oldgood.der"
check "an older good answer replayed: refused" \
    wait_for_log "$T/replay.log" "refusing a response older than the one held" 10
check "and never stapled: revoked, then nothing once the revocation lapses" no_good_during 8 "$PORT"

# A responder that flip-flops (a CDN whose nodes disagree): revoked, then a
# newer good.  A revocation is not undone: an error, and no good staple.
mkresp_for leaf-rsa "$T/newgood.der" -status good -this 0 -next 3600
serve_file "$T/newgood.der"
# (the next attempt comes within RETRY_MAX's 2 s; the bound is for a
# machine slowed by a sanitizer and another suite: once missed under TSan)
check "good after revoked, newer: refused" \
    wait_for_log "$T/replay.log" "error: .*refusing a good response .*REVOKED" 20
check "and never stapled" no_good_during 4 "$PORT"
stop_bg replay

# The cache directory: a good response saved there by a restart-era
# process, older than the one this server holds, is not taken when the
# server looks there (the other process's save, or a planted file).
mkdir -m 0755 "$T/cache"
mkresp_for leaf-rsa "$T/fresh.der" -status good -this -5 -next 20
serve_file "$T/fresh.der"
start_shim_s_server cached leaf-rsa AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" \
    AUTOSTAPLE_CACHE_DIR="$T/cache" AUTOSTAPLE_LOG_LEVEL=debug
check "cache: stapled" wait_for_staple good "$PORT" 5
first=$(this_update_of "$PORT")
saved=$T/cache/$(openssl x509 -in "$AS_PKI/leaf-rsa.pem" -outform DER | sha256sum | cut -c1-64).ocsp
cp "$T/oldgood.der" "$saved"   # planted: older than what the server holds
serve_file "$T/oldgood.der"    # and the responder replays it too
check "cache: the refresh refuses the older response" \
    wait_for_log "$T/cached.log" "refusing a response older than the one held" 15
is "$(this_update_of "$PORT")" "$first" "cache: the server still staples the newer one"
unlike "$(cat "$T/cached.log")" "stapling a good response from the cache directory \\(saved by another" \
    "cache: the planted older file was not taken"
stop_bg cached
done_testing
