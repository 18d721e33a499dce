#!/bin/bash
# Issue 4, item 2: expiry during an outage.  After a good fetch the responder
# goes away: the response is stapled while it is fresh, no longer once its
# nextUpdate passes, and when the responder returns stapling resumes within
# the backoff bound (AUTOSTAPLE_RETRY_MAX plus one exchange).  A response
# without nextUpdate lives AUTOSTAPLE_MAX_AGE from its thisUpdate.
. "$AS_SRC/tests/lib.sh"

RETRY_MAX=10 TIMEOUT=2
FPORT=$(free_port)
mkresp_for leaf-rsa "$T/first.der" -this -1 -next 12
next_update=$(($(date +%s) + 12))
start_fake responder "$FPORT" file -file "$T/first.der"
start_shim_s_server outage leaf-rsa AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FPORT/" \
    AUTOSTAPLE_RETRY_MIN=1 AUTOSTAPLE_RETRY_MAX=$RETRY_MAX AUTOSTAPLE_TIMEOUT=$TIMEOUT
check "before the outage: stapled" wait_for_staple good "$PORT" 5
first=$(this_update_of "$PORT")

stop_bg responder
# Poll every 0.3 s until the staple goes; note when.
last_good=0 gone=0
while [ "$(date +%s)" -lt $((next_update + 5)) ]; do
    st=$(staple_of "$PORT")
    now=$(date +%s)
    if [ "$st" = good ]; then last_good=$now; elif [ "$st" = none ]; then gone=$now; break; fi
    sleep 0.3
done
note "nextUpdate $next_update; last stapled at $last_good, gone at $gone"
check "during the outage: stapled until shortly before nextUpdate" \
    test "$last_good" -ge $((next_update - 2))
check "during the outage: no longer stapled once nextUpdate has passed" \
    test "$gone" -gt 0 -a "$gone" -le $((next_update + 2))
like "$(cat "$T/outage.log")" "warning: .*failed: .*keeping the last good response until" \
    "during the outage: the failure is logged, with how long the response is kept"
is "$(staple_of "$PORT")" none "during the outage: the lapsed response is not stapled again"

# The responder returns with a fresh response.
mkresp_for leaf-rsa "$T/second.der" -this -1 -next 600
start_fake responder "$FPORT" file -file "$T/second.der"
back=$(date +%s)
bound=$((RETRY_MAX + TIMEOUT + 2))
check "back: stapling resumes within the backoff bound ($bound s)" wait_for_staple good "$PORT" "$bound"
note "stapled again $(($(date +%s) - back)) s after the responder returned"
isnt "$(this_update_of "$PORT")" "$first" "back: the new response is the one stapled"
check "back: curl --cert-status accepts it" curl_verify "$PORT" good.test
stop_bg outage

# No nextUpdate: AUTOSTAPLE_MAX_AGE=60 from a thisUpdate 50 s ago leaves 10 s
# (the responder, the server and its first fetch start in them).
mkresp_for leaf-rsa "$T/nonext.der" -this -50 -no-next
lapse=$(($(date +%s) + 10))
start_fake nonext 0 file -file "$T/nonext.der"
start_shim_s_server nonext leaf-rsa AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" \
    AUTOSTAPLE_MAX_AGE=60 AUTOSTAPLE_RETRY_MIN=1
check "no nextUpdate: stapled while younger than AUTOSTAPLE_MAX_AGE" wait_for_staple good "$PORT" 3
like "$(cat "$T/nonext.log")" "valid until [-0-9: ]*Z by AUTOSTAPLE_MAX_AGE: no nextUpdate" \
    "no nextUpdate: the log says how long it is kept, and why"
check "no nextUpdate: not stapled once AUTOSTAPLE_MAX_AGE has passed" wait_for_staple none "$PORT" 13
check "no nextUpdate: ... and not before ($(date +%s) vs $lapse)" test "$(date +%s)" -ge $((lapse - 1))
done_testing
