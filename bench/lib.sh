# shellcheck shell=bash disable=SC2034
# bench/lib.sh: what the bench scripts share (bash).  Sourced, not run.
#
# Sets ROOT (the source tree), BUILD (absolute), OUT (where results go:
# $BENCH_OUT, default $BUILD/bench-results), QUICK (1 with BENCH_QUICK=1),
# W (a private temporary directory, removed at exit unless BENCH_KEEP=1).
# Processes started with start_bg are stopped at exit, and only those.
# SCALE_KEEP=1 (the scale scripts' old name) works as BENCH_KEEP=1.

: "${BENCH_KEEP:=${SCALE_KEEP:-0}}"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(cd "$ROOT" && mkdir -p "${BUILD:-build}" && cd "${BUILD:-build}" && pwd)
OUT=${BENCH_OUT:-$BUILD/bench-results}
QUICK=${BENCH_QUICK:-0}
SHIM=$BUILD/libautostaple.so
mkdir -p "$OUT"
W=$(mktemp -d "${TMPDIR:-/tmp}/autostaple-bench.XXXXXX")
chmod 755 "$W" # nginx's workers run as www-data
export OPENSSL_CONF=/dev/null

_bench_pids=()

say() { echo "bench: $*" >&2; }
die() {
    echo "bench: error: $*" >&2
    exit 1
}

# start_bg NAME CMD...: CMD in the background, in its own process group,
# output in $W/NAME.log; its pid in BG_PID.
start_bg() {
    local name=$1
    shift
    set -m
    "$@" >"$W/$name.log" 2>&1 </dev/null &
    BG_PID=$!
    set +m
    _bench_pids+=("$BG_PID")
}

# stop_pid PID: TERM its process group, KILL after 3 s.  A process stopped
# here is not stopped again at exit (its pid may be someone else's by then).
stop_pid() {
    local i
    kill -TERM -- "-$1" 2>/dev/null || kill -TERM "$1" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    for i in "${!_bench_pids[@]}"; do [ "${_bench_pids[$i]}" = "$1" ] && unset '_bench_pids[i]'; done
    return 0
}

_bench_exit() {
    local rc=$? p
    for p in "${_bench_pids[@]}"; do stop_pid "$p"; done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $W"; else rm -rf "$W"; fi
    exit $rc
}
trap _bench_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# free_port: a 127.0.0.1 TCP port nobody listens on (20000-31999).
free_port() {
    local p i hex
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        grep -qx "$p" "$W/.ports" 2>/dev/null && continue
        hex=$(printf '%04X' "$p")
        awk -v h="$hex" 'FNR > 1 { split($2, a, ":"); if (a[2] == h) f = 1 } END { exit !f }' \
            /proc/net/tcp /proc/net/tcp6 2>/dev/null && continue
        echo "$p" >>"$W/.ports"
        echo "$p"
        return 0
    done
    die "no free port"
}

# now_ms: the time in milliseconds (since the epoch).
now_ms() { date +%s%3N; }

# wait_for_log FILE ERE SECS
wait_for_log() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# wait_for_port PORT SECS (an empty TCP connection; fine for the servers here)
wait_for_port() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# stapled FILE: how many "stapling a good response" lines the library has
# logged in FILE so far (0 while FILE does not exist yet).
stapled() {
    local n
    n=$(grep -c 'stapling a good response' "$1" 2>/dev/null)
    echo "${n:-0}"
}

# start_responder PKI_DIR PORT: the fake responder (mode sign) answering
# "good" for every certificate, signed by the intermediate itself.
start_responder() {
    start_bg responder "$BUILD/tests/fakeresponder" -port "$2" -mode sign \
        -rsigner "$1/inter.pem" -rkey "$1/inter.key" -valid 7200 -max-seconds 3600
    wait_for_log "$W/responder.log" "^listening on 127\.0\.0\.1:$2\$" 10 ||
        die "the responder did not start: $(cat "$W/responder.log")"
}

# nginx_conf DIR PORT none|native|shim PKI [NCERTS LEAVES] [single]: a
# minimal nginx configuration in DIR/nginx.conf, checked with nginx -t.  One
# worker process (with "single": master_process off, for valgrind).  The
# default server is localhost with PKI/leaf-full.pem; with NCERTS > 1,
# NCERTS-1 more servers hostI.test with LEAVES/hostI.pem (bench/mkleaves).
# native: ssl_stapling on with ssl_stapling_file PKI/leaf.ocsp (the default
# server only); otherwise ssl_stapling off, and shim passes LD_PRELOAD on.
nginx_conf() {
    local dir=$1 port=$2 mode=$3 pki=$4 n=${5:-1} leaves=${6:-} single=${7:-}
    local user='' stapling='ssl_stapling off;' envs='' procs='master_process on;' i
    mkdir -p "$dir/tmp"
    [ "$(id -u)" -eq 0 ] && user="user ${NGINX_USER:-www-data};"
    [ "$mode" = native ] && stapling="ssl_stapling on; ssl_stapling_file $pki/leaf.ocsp;"
    [ "$mode" = shim ] && envs="env LD_PRELOAD;"
    [ "$single" = single ] && procs='master_process off;'
    {
        cat <<EOF
$user
$procs
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
lock_file $dir/nginx.lock;
error_log $dir/error.log error;
$envs
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server_names_hash_max_size 65536;
    server_names_hash_bucket_size 64;
    ssl_protocols TLSv1.2 TLSv1.3;
    server {
        listen 127.0.0.1:$port ssl;
        server_name localhost;
        ssl_certificate $pki/leaf-full.pem;
        ssl_certificate_key $pki/leaf.key;
        $stapling
        location / { return 200 "hello\n"; }
    }
EOF
        for ((i = 1; i < n; i++)); do
            printf '    server { listen 127.0.0.1:%s ssl; server_name host%d.test;' "$port" "$i"
            printf ' ssl_certificate %s; ssl_certificate_key %s; return 200 "hello\\n"; }\n' \
                "$leaves/host$i.pem" "$pki/leaf.key"
        done
        echo "}"
    } >"$dir/nginx.conf"
    env -u LD_PRELOAD /usr/sbin/nginx -t -q -c "$dir/nginx.conf" -p "$dir" 2>"$dir/nginx-t.log" ||
        die "nginx -t: $(cat "$dir/nginx-t.log")"
}

# field LINE KEY: the value after KEY in an hsbench line.
field() { awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' <<<"$1"; }

# stats [quartiles]: reads numbers, one a line; prints "median min max"
# (and the first and third quartiles after them).
# shellcheck disable=SC2120
stats() {
    sort -g | awk -v q="${1:-}" '
        function at(p,  i, f) { i = 1 + (NR - 1) * p; f = int(i); return v[f] + (i - f) * (v[f + 1] - v[f]) }
        { v[NR] = $1 } END {
        if (NR == 0) { print q ? "- - - - -" : "- - -"; exit }
        v[NR + 1] = v[NR]
        printf "%.3f %.3f %.3f", at(0.5), v[1], v[NR]
        if (q) printf " %.3f %.3f", at(0.25), at(0.75)
        printf "\n" }'
}

# machine: the machine, as a markdown list.
machine() {
    local model
    model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    echo "- $(nproc) CPUs ($model), $(uname -sr), $(openssl version | cut -d' ' -f1-2)," \
        "$(date -u '+%Y-%m-%d %H:%M UTC'); load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
}
