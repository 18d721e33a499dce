#!/bin/bash
# A process that maps OpenSSL 1.1 and 3 and serves TLS through both (a
# plugin host): the library staples the ABI of the first server context
# the process sets up, leaves the other's contexts alone, says so once, and
# neither crashes nor hands a context of one ABI to the other's core
# (shim/preload.c, "Two OpenSSL ABIs").  The plugin is tests/helpers/
# tls_plugin.c, preloaded after the library, built against the other ABI.
. "$AS_SRC/tests/lib.sh"

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"
warning='serves TLS through both OpenSSL [0-9.]+ and OpenSSL [0-9.]+: only the contexts of the first it set up are stapled'
plugin_env=(TLS_PLUGIN_CERT="$AS_PKI/leaf-sni-full.pem" TLS_PLUGIN_KEY="$AS_PKI/leaf-sni.key")

# serve NAME PLUGIN WHEN S_SERVER...: the s_server given under the library
# and the plugin, for leaf-rsa; port in PORT.
serve() {
    local name=$1 plugin=$2 when=$3
    shift 3
    PORT=$(free_port)
    start_bg "$name" env "${plugin_env[@]}" TLS_PLUGIN_WHEN="$when" TLS_PLUGIN_DELAY=2 \
        LD_PRELOAD="$AS_SHIM:$AS_BUILD/tests/$plugin" "$@" -accept "127.0.0.1:$PORT" -www \
        -cert "$AS_PKI/leaf-rsa.pem" -key "$AS_PKI/leaf-rsa.key" -cert_chain "$AS_PKI/chain.pem"
    wait_for_port "$PORT" 10 || _as_infra_fail "s_server $name starts" "$T/$name.log"
}
mapped() { grep -c "$2" "/proc/$1/maps" 2>/dev/null | grep -qv '^0$'; }

# 1. OpenSSL 3's s_server, whose 1.1 plugin sets up its context first.
serve first11 tls_plugin-1.1.so first openssl s_server
like "$(cat "$T/first11.log")" "tls_plugin: context ready \(OpenSSL 1\.1\.1" \
    "3 program, 1.1 plugin first: the plugin's context is set up"
check "3 program, 1.1 plugin first: the plugin's certificate is learned by the 1.1 core" \
    wait_for_log "$T/first11.log" 'certificate /CN=sni.test \(loaded\): stapling from' 5
check "3 program, 1.1 plugin first: the program's contexts are left alone, said once" \
    wait_for_log "$T/first11.log" "warning: this process $warning" 5
is "$(staple_of "$PORT")" none "3 program, 1.1 plugin first: the program's handshakes go on, unstapled"
check "3 program, 1.1 plugin first: and serve pages" \
    timeout 10 curl -sSk --resolve "good.test:$PORT:127.0.0.1" -o /dev/null "https://good.test:$PORT/"
for i in 1 2 3; do staple_of "$PORT" >/dev/null; done
is "$(grep -cE "$warning" "$T/first11.log")" 1 "3 program, 1.1 plugin first: one warning, at any number of handshakes"
check "3 program, 1.1 plugin first: the 1.1 core is mapped, not the 3 one" \
    eval 'mapped "$first11_PID" libautostaple-core-1.1.so && ! mapped "$first11_PID" "libautostaple-core.so"'
check "3 program, 1.1 plugin first: still running" kill -0 "$first11_PID"
unlike "$(cat "$T/first11.log")" "certificate /CN=good.test" "3 program, 1.1 plugin first: the program's certificate is not learned"
stop_bg first11

# 2. OpenSSL 1.1's s_server (Debian 11's), whose 3 plugin sets up its context
#    2 s later.
serve later3 tls_plugin-3.so later "${S_SERVER[@]}"
check "1.1 program, 3 plugin later: the program's certificate is stapled" wait_for_staple good "$PORT" 5
check "1.1 program, 3 plugin later: the plugin's context comes" \
    wait_for_log "$T/later3.log" 'tls_plugin: context ready \(OpenSSL 3' 5
check "1.1 program, 3 plugin later: it is left alone, said once" wait_for_log "$T/later3.log" "warning: this process $warning" 5
check "1.1 program, 3 plugin later: the program still staples" wait_for_staple good "$PORT" 5
check "1.1 program, 3 plugin later: curl --cert-status accepts it" curl_verify "$PORT" good.test
unlike "$(cat "$T/later3.log")" "certificate /CN=sni.test" "1.1 program, 3 plugin later: the plugin's certificate is not learned"
check "1.1 program, 3 plugin later: libssl.so.3 is mapped beside 1.1, the 3 core is not" \
    eval 'mapped "$later3_PID" libssl.so.3 && mapped "$later3_PID" libssl.so.1.1 && ! mapped "$later3_PID" "libautostaple-core.so"'
stop_bg later3
done_testing
