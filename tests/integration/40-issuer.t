#!/bin/bash
# Finding the issuer when the server sends no chain: from the CA bundle
# (AUTOSTAPLE_CA_FILE), from the AIA caIssuers URL (DER or PEM), and the one
# clear line when it cannot be found.
. "$AS_SRC/tests/lib.sh"

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"
export AUTOSTAPLE_RETRY_MIN=1

# curl --cert-status needs the issuer in the chain the server sends ("Error
# computing OCSP ID"), which these servers do not: the staple is checked with
# openssl ocsp instead (stapled_status).

start_shim_s_server bundle leaf-rsa nochain AUTOSTAPLE_CA_FILE="$AS_PKI/ca-bundle.pem" AUTOSTAPLE_FETCH_ISSUER=0
check "CA bundle: staples" wait_for_staple good "$PORT" 8
is "$(stapled_status "$PORT" leaf-rsa)" good "CA bundle: the staple verifies"

start_issuer_server "$ISSUER_PORT"
start_shim_s_server aia-der leaf-rsa nochain AUTOSTAPLE_CA_FILE="$AS_PKI/root-only.pem"
check "caIssuers (DER): staples" wait_for_staple good "$PORT" 8
is "$(stapled_status "$PORT" leaf-rsa)" good "caIssuers (DER): the staple verifies"
like "$(cat "$ISSUER_LOG")" "GET /inter.der" "caIssuers (DER): the issuer was downloaded"

start_shim_s_server aia-pem leaf-pemissuer nochain AUTOSTAPLE_CA_FILE="$AS_PKI/root-only.pem"
check "caIssuers (PEM): staples" wait_for_staple good "$PORT" 8
is "$(stapled_status "$PORT" leaf-pemissuer)" good "caIssuers (PEM): the staple verifies"
like "$(cat "$ISSUER_LOG")" "GET /inter.pem" "caIssuers (PEM): the issuer was downloaded"

# A caIssuers URL that serves some other certificate is not believed.
cp "$AS_PKI/rogue-ca.pem" "$ISSUER_DIR/inter.pem"
start_shim_s_server aia-wrong leaf-pemissuer nochain AUTOSTAPLE_CA_FILE="$AS_PKI/root-only.pem"
check "caIssuers serving another certificate: refused" \
    wait_for_log "$T/aia-wrong.log" "that certificate did not issue this one" 8
is "$(staple_of "$PORT")" none "caIssuers serving another certificate: no staple"

stop_bg "issuer-$ISSUER_PORT"
start_shim_s_server nowhere leaf-rsa nochain AUTOSTAPLE_CA_FILE="$AS_PKI/root-only.pem"
check "issuer nowhere: one clear error line" \
    wait_for_log "$T/nowhere.log" "error: certificate /CN=good.test: issuer not found" 8
sleep 3
is "$(staple_of "$PORT")" none "issuer nowhere: no staple"
is "$(grep -c 'issuer not found' "$T/nowhere.log")" 1 "issuer nowhere: said once, not at every retry"
like "$(grep 'issuer not found' "$T/nowhere.log")" "caIssuers http://127.0.0.1:$ISSUER_PORT/inter.der: " \
    "issuer nowhere: the line says what was tried"

start_shim_s_server missing-bundle leaf-rsa nochain AUTOSTAPLE_CA_FILE=/nonexistent/bundle.pem AUTOSTAPLE_FETCH_ISSUER=0
check "an unreadable CA bundle is reported" \
    wait_for_log "$T/missing-bundle.log" "warning: cannot read the CA bundle /nonexistent/bundle.pem" 8
done_testing
