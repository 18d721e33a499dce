#!/bin/bash
# Issue 4, item 3: a certificate that was good becomes revoked at the
# responder.  The next refresh replaces the good staple with the revoked one,
# and the older good response (still within its validity) is never stapled
# again.
. "$AS_SRC/tests/lib.sh"

echo good >"$T/status"
start_renewing_responder leaf-rsa 8 "$T/status"
start_shim_s_server server leaf-rsa AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/"
is "$(staple_of "$PORT")" good "good at first"
check "curl --cert-status accepts it" curl_verify "$PORT" good.test

echo revoked >"$T/status"
check "the revocation is stapled within a refresh" wait_for_staple revoked "$PORT" 8
check_fails "curl --cert-status now refuses the connection" curl_verify "$PORT" good.test
seen=''
for i in $(seq 1 15); do seen="$seen $(staple_of "$PORT")"; sleep 0.2; done
unlike "$seen" "good" "the older good response is never stapled again (15 handshakes over ~4 s)"
like "$(cat "$T/server.log")" "error: certificate /CN=good.test is REVOKED" "logged as an error"
done_testing
