#!/bin/bash
# Issue 4, leaks: the soak of 90-soak.t, smaller, with the server under
# valgrind's memcheck: four certificates whose responses live 2 s, from a
# responder that fails every second answer, and concurrent handshakes.  On
# SIGTERM the server exits and valgrind must report no memory error and no
# leak (definitely or indirectly lost) anywhere in the process.
. "$AS_SRC/tests/lib.sh"

command -v valgrind >/dev/null || { skip_all "valgrind is not installed"; exit 0; }
sanitized && { skip_all "the library is built with a sanitizer (valgrind needs the plain build)"; exit 0; }

make_leaves 3 "$T/leaves"
start_signing_responder flaky 2 -flaky
PORT=$(free_port)
start_bg server env AUTOSTAPLE_RESPONDER="http://127.0.0.1:$FAKE_PORT/" AUTOSTAPLE_RETRY_MIN=1 \
    AUTOSTAPLE_RETRY_MAX=10 LD_PRELOAD="$AS_SHIM" valgrind --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file="$T/valgrind.log" \
    "$FIXTURE_SERVER" -port "$PORT" -threads 4 -max-seconds 120 \
    -cert "$AS_PKI/leaf-ec.pem" -key "$AS_PKI/leaf-ec.key" -chain "$AS_PKI/chain.pem" \
    "${SNI_ARGS[@]}"
wait_for_log "$T/server.log" '^ready' 60 || _as_infra_fail "fixture server under valgrind starts" "$T/valgrind.log"
# Half of the answers fail at random: a run of failures backs any one
# certificate off for a while (at most 10 s here).
check "under valgrind: stapled" wait_for_any_staple "$PORT" 40 \
    good.test host1.test host2.test host3.test

out=$("$AS_BUILD/tests/hammer" -port "$PORT" -CAfile "$AS_PKI/root.pem" -issuer "$AS_PKI/inter.pem" \
    -threads 4 -seconds 15 -name good.test -name host1.test -name host2.test -name host3.test \
    2>"$T/hammer.err")
rc=$?
note "hammer: $out; $(count_requests "$FAKE_LOG") requests at the responder"
[ -s "$T/hammer.err" ] && diag_file "$T/hammer.err" 10
read -r _ handshakes _ _ _ _ _ bad _ failed <<<"$out"
is "$rc" 0 "under valgrind: no bad staple, no failed handshake"
check "under valgrind: hundreds of handshakes (${handshakes:-0})" test "${handshakes:-0}" -ge 200
check "under valgrind: dozens of refreshes and failures" test "$(count_requests "$FAKE_LOG")" -ge 20

kill -TERM "$server_PID"
for ((i = 0; i < 300; i++)); do kill -0 "$server_PID" 2>/dev/null || break; sleep 0.1; done
wait "$server_PID"
vrc=$?
is "$vrc" 0 "valgrind: the server exited cleanly, with no error and no leak"
like "$(cat "$T/valgrind.log")" "ERROR SUMMARY: 0 errors" "valgrind: no memory error"
like "$(cat "$T/valgrind.log")" "definitely lost: 0 bytes|All heap blocks were freed" "valgrind: nothing definitely lost"
[ "$vrc" = 0 ] || diag_file "$T/valgrind.log" 60
done_testing
