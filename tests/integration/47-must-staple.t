#!/bin/bash
# Must-Staple certificates (TLS Feature status_request, RFC 7633): clients
# that honour it (Firefox, GnuTLS) refuse a handshake that comes without a
# staple.  The library says which certificates are Must-Staple, and an
# unstapled handshake of one is an error in the log, once per episode, not a
# debug line; `autostaple check` and `autostaple status` flag them, and the
# metrics count their unstapled handshakes apart.
. "$AS_SRC/tests/lib.sh"

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"
AUTOSTAPLE=$AS_BUILD/autostaple

# ---- the responder answers
start_shim_s_server must leaf-muststaple
check "stapled" wait_for_staple good "$PORT" 5 muststaple.test
like "$(grep 'stapling from' "$T/must.log")" "\\(Must-Staple: a handshake without a staple fails" \
    "the log says the certificate is Must-Staple"
check "gnutls-cli (which honours Must-Staple) accepts the stapled handshake" \
    gnutls_verify "$PORT" muststaple.test
stop_bg must
out=$("$AUTOSTAPLE" check "$AS_PKI/leaf-muststaple-full.pem" 2>&1)
like "$out" "must-staple: yes \\(TLS Feature status_request\\)" "autostaple check flags it"
unlike "$("$AUTOSTAPLE" check "$AS_PKI/leaf-rsa-full.pem" 2>&1)" "must-staple" \
    "(and not an ordinary certificate)"

# ---- the responder is unreachable: no staple, ever
dead=$(free_port)
mkdir -m 0755 "$T/cache" "$T/metrics"
start_shim_s_server down leaf-muststaple AUTOSTAPLE_RESPONDER="http://127.0.0.1:$dead/" \
    AUTOSTAPLE_CACHE_DIR="$T/cache" AUTOSTAPLE_METRICS_DIR="$T/metrics" \
    AUTOSTAPLE_METRICS_INTERVAL=1 AUTOSTAPLE_STARTUP_WAIT=0
is "$(staples_of "$PORT" 3 muststaple.test)" "none none none" "3 handshakes without a staple"
check_fails "gnutls-cli refuses the unstapled handshake" gnutls_verify "$PORT" muststaple.test
check "an error in the log" wait_for_log "$T/down.log" \
    "error: certificate /CN=muststaple\\.test is Must-Staple and a handshake went out without a staple" 5
is "$(grep -c 'is Must-Staple and a handshake went out' "$T/down.log")" 1 \
    "once for the episode, not once per handshake"
prom=$(ls "$T/metrics"/autostaple-*.prom 2>/dev/null | head -n1)
must_missed() { grep -qE '^autostaple_must_staple_unstapled_total\{[^}]*\} ([4-9]|[1-9][0-9]+)$' "$prom"; }
check "the metrics count the Must-Staple handshakes without a staple" eventually 5 must_missed
status_has_flag() { "$AUTOSTAPLE" status --cache-dir "$T/cache" | grep -q 'CN=muststaple\.test \[must-staple\]'; }
check "autostaple status flags it" eventually 5 status_has_flag
stop_bg down
done_testing
