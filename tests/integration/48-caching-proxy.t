#!/bin/bash
# A fleet through a caching proxy: OCSP over GET is made to be cached by
# HTTP caches (RFC 5019).  Two servers with caches of their own (separate
# machines, in effect) fetch through one nginx proxy_cache
# (AUTOSTAPLE_PROXY): the responder sees one request for the certificate,
# and both staple the verified response.  AUTOSTAPLE_PROXY wins over the
# server's own http_proxy; "direct" ignores it.
. "$AS_SRC/tests/lib.sh"
[ -x /usr/sbin/nginx ] || skip_all "nginx is not installed (make check installs nginx-light)"

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"

# The proxy: nginx, caching GET answers of 200 for 5 minutes (a cache
# in front of a CA's responder keeps them until their nextUpdate, or as
# Cache-Control says: docs/configuration.md).
PPORT=$(free_port)
mkdir -p "$T/proxy/cache"
cat >"$T/proxy/nginx.conf" <<CONF
user root;
worker_processes 1;
daemon off;
pid $T/proxy/nginx.pid;
error_log $T/proxy/error.log;
events {}
http {
    log_format cached '\$request_uri \$upstream_cache_status';
    access_log $T/proxy/access.log cached;
    client_body_temp_path $T/proxy/body;
    proxy_temp_path $T/proxy/tmp;
    proxy_cache_path $T/proxy/cache keys_zone=ocsp:1m;
    server {
        listen 127.0.0.1:$PPORT;
        location / {
            proxy_pass http://127.0.0.1:$OCSP_PORT;
            proxy_cache ocsp;
            proxy_cache_key \$uri;
            proxy_cache_valid 200 5m;
        }
    }
}
CONF
start_bg proxy /usr/sbin/nginx -c "$T/proxy/nginx.conf" -p "$T/proxy"
wait_for_port "$PPORT" 10 || _as_infra_fail "the caching proxy starts" "$T/proxy/error.log"

dead=$(free_port)
mkdir -m 0755 "$T/cache-a" "$T/cache-b"
start_shim_s_server a leaf-rsa AUTOSTAPLE_CACHE_DIR="$T/cache-a" \
    AUTOSTAPLE_PROXY="http://127.0.0.1:$PPORT" http_proxy="http://127.0.0.1:$dead"
check "server a, through the proxy: stapled" wait_for_staple good "$PORT" 10
PORT_A=$PORT
start_shim_s_server b leaf-rsa AUTOSTAPLE_CACHE_DIR="$T/cache-b" \
    AUTOSTAPLE_PROXY="http://127.0.0.1:$PPORT" http_proxy="http://127.0.0.1:$dead"
check "server b, through the proxy: stapled" wait_for_staple good "$PORT" 10
check "curl --cert-status verifies a's staple" curl_verify "$PORT_A" good.test
check "and b's" curl_verify "$PORT" good.test
is "$(requests_for "$OCSP_LOG" leaf-rsa)" 1 "the responder saw one request for the certificate"
is "$(awk '{ print $2 }' "$T/proxy/access.log" | sort | tr '\n' ' ')" "HIT MISS " \
    "the proxy: a miss (fetched), then a hit (from its cache)"
unlike "$(cat "$T/a.log" "$T/b.log")" "failed" \
    "AUTOSTAPLE_PROXY won over the server's http_proxy (a dead port): no fetch failed"
stop_bg a
stop_bg b

# "direct": no proxy at all, whatever http_proxy says.
before=$(requests_for "$OCSP_LOG" leaf-rsa)
start_shim_s_server direct leaf-rsa AUTOSTAPLE_PROXY=direct http_proxy="http://127.0.0.1:$dead"
check "AUTOSTAPLE_PROXY=direct: stapled without the (dead) http_proxy" wait_for_staple good "$PORT" 10
is "$(($(requests_for "$OCSP_LOG" leaf-rsa) - before))" 1 "straight to the responder"
stop_bg direct
stop_bg proxy
done_testing
