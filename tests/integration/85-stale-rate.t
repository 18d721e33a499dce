#!/bin/bash
# A responder (or a cache in front of it) that keeps serving a response
# already past its refresh point: the response is stapled, but it is not
# asked for again every second until it lapses.  The library backs off as
# after a failure (in E seconds at most log2(E) + 3 requests with
# AUTOSTAPLE_RETRY_MIN=1, as 30-responder-faults counts them), and still
# tries once shortly before the response lapses.
. "$AS_SRC/tests/lib.sh"

# thisUpdate an hour ago, nextUpdate in 10 minutes: its refresh point (half
# its window, and at the latest 5 minutes before it lapses) has passed.
mkresp_for leaf-rsa "$T/stale.der" -this -3600 -next 600
start_fake stale 0 file -file "$T/stale.der"
start_shim_s_server server leaf-rsa AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" \
    AUTOSTAPLE_RETRY_MIN=1 AUTOSTAPLE_RETRY_MAX=60
check "stapled" wait_for_staple good "$PORT" 5
start=$(count_requests "$FAKE_LOG")
sleep 16
n=$(($(count_requests "$FAKE_LOG") - start))
check "16 s later: $n more requests, backing off (at most 7; one a second would be 16)" test "$n" -le 7
check "and it was asked again (the back-off is no silence)" test "$n" -ge 2
is "$(staple_of "$PORT")" good "still stapled"
done_testing
