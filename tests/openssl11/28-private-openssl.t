#!/bin/bash
# OpenSSL that is not in the global scope: a process whose libssl is loaded
# RTLD_LOCAL (an interpreter: Python's ssl module), and plugins that bring a
# copy of their own under another name (a vendor's plugin, a Python wheel's
# bundled libssl-<hash>.so.1.1), loaded RTLD_LOCAL too.  Their calls reach
# the hooks all the same (the global scope is searched first), and each
# must go on to the definition the caller would have bound to without the
# library (shim/preload.c, real_for): a plugin's copy is passed through,
# never handed another copy's function, and the program's own OpenSSL is
# still stapled.  The host is tests/helpers/plugin_host.py; the plugins are
# tests/helpers/tls_plugin.c linked to renamed copies of 1.1.1's and 3's
# libssl (libvsl.so.1.1, libvsl.so.3).
. "$AS_SRC/tests/lib.sh"

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"
HOST=$AS_SRC/tests/helpers/plugin_host.py
plugin_env=(TLS_PLUGIN_CERT="$AS_PKI/leaf-sni-full.pem" TLS_PLUGIN_KEY="$AS_PKI/leaf-sni.key"
            TLS_PLUGIN_WHEN=first)
cat "$AS_PKI/leaf-rsa.pem" "$AS_PKI/chain.pem" >"$T/leaf-rsa-full.pem"
mapped() { grep -q "$2" "/proc/$1/maps" 2>/dev/null; }

# host NAME ARGS...: plugin_host.py under the library; ready within 10 s.
host() {
    local name=$1
    shift
    start_bg "$name" with_shim env "${plugin_env[@]}" python3 "$HOST" "$@"
    wait_for_log "$T/$name.log" '^plugin_host: ready' 10 ||
        diag_file "$T/$name.log"
}

# 1. Nothing in the global scope; a plugin with its own 1.1.1 under another name.
host private11 "$AS_BUILD/tests/tls_plugin-1.1v.so"
like "$(cat "$T/private11.log")" "tls_plugin: context ready \(OpenSSL 1\.1\.1" \
    "a plugin with its own OpenSSL 1.1 (RTLD_LOCAL), no other: its context is set up"
check "and the process lives on" kill -0 "$private11_PID"
unlike "$(cat "$T/private11.log")" "autostaple\[" "the library says nothing"
check "no core is loaded for it" eval '! mapped "$private11_PID" libautostaple-core'
stop_bg private11

# 2. OpenSSL 3 in the global scope (a program linked to it); the same plugin.
host global3 --global libssl.so.3 "$AS_BUILD/tests/tls_plugin-1.1v.so"
like "$(cat "$T/global3.log")" "tls_plugin: context ready \(OpenSSL 1\.1\.1" \
    "a program's OpenSSL 3 in the global scope, a plugin's own 1.1: the plugin's context is set up"
check "and the process lives on" kill -0 "$global3_PID"
unlike "$(cat "$T/global3.log")" "autostaple\[" "the library says nothing"
stop_bg global3

# 3. A Python server (its libssl.so.3 loaded RTLD_LOCAL by the ssl module)
#    and a plugin with its own OpenSSL 3 under another name.
PORT=$(free_port)
host python3 --serve "$PORT" "$T/leaf-rsa-full.pem" "$AS_PKI/leaf-rsa.key" \
    "$AS_BUILD/tests/tls_plugin-3v.so"
like "$(cat "$T/python3.log")" "tls_plugin: context ready \(OpenSSL 3" \
    "Python's server and a plugin with its own OpenSSL 3: the plugin's context is set up"
check "Python's ssl server (libssl loaded RTLD_LOCAL) is stapled" wait_for_staple good "$PORT" 10
check "curl --cert-status accepts it" curl_verify "$PORT" good.test
unlike "$(cat "$T/python3.log")" "certificate /CN=sni\.test" \
    "the plugin's certificate, loaded through its own copy, is not learned"
check "both copies are mapped, and the process lives on" \
    eval 'mapped "$python3_PID" libvsl.so.3 && mapped "$python3_PID" "libssl\.so\.3"'
stop_bg python3
done_testing
