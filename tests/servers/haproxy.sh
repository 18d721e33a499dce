#!/bin/sh
# haproxy.sh DIR PORT CERT KEY
#
# Runs Debian's HAProxy (/usr/sbin/haproxy, package haproxy) in
# master-worker mode, daemonized: "haproxy -W -D".  TLS on
# 127.0.0.1:PORT with a self-contained configuration written to
# DIR/haproxy.cfg; every request is answered 200 "hello".  Nothing under
# /etc/haproxy is read.
#
#   CERT  leaf + chain, PEM;  KEY  its private key, PEM (HAProxy wants both
#         in one file: DIR/site.pem)
#
# Run as root, the master keeps root and the worker drops to the haproxy
# user (HAPROXY_USER overrides it), as Debian's haproxy.cfg has it.  The
# script returns once HAProxy has daemonized; the master's pid is in
# DIR/haproxy.pid.  SIGUSR2 to it reloads (the master execs itself again,
# keeping its pid, and starts a new worker); SIGTERM stops everything.
#
# HAPROXY_SYSTEMD=1: "haproxy -Ws" instead, as Debian's haproxy.service runs
# it: master-worker in the foreground (the pid of this script is the
# master's), with systemd's readiness notification (a no-op without
# systemd).  SIGUSR2 reloads, SIGTERM stops.
#
# The configuration is checked first with "haproxy -c" (LD_PRELOAD removed
# from that one command).
#
# SERVER_CONFIG_ONLY=1: write and check the configuration, start nothing
# (tests/integration/79-recipes.t starts the server with its unit's own
# command line).  The pid file is then the unit's -p.
set -eu

if [ $# -ne 4 ]; then
    echo "usage: $0 DIR PORT CERT KEY" >&2
    exit 2
fi
dir=$1 port=$2 cert=$3 key=$4
haproxy=${HAPROXY:-/usr/sbin/haproxy}
case $port in ''|*[!0-9]*) echo "$0: bad port: $port" >&2; exit 2 ;; esac
for f in "$cert" "$key"; do
    [ -r "$f" ] || { echo "$0: cannot read $f" >&2; exit 2; }
done
[ -x "$haproxy" ] || { echo "$0: $haproxy not found (apt-get install haproxy)" >&2; exit 2; }

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cat "$cert" "$key" >"$dir/site.pem"
chmod 600 "$dir/site.pem"

user_lines=
if [ "$(id -u)" -eq 0 ]; then
    user_lines="    user ${HAPROXY_USER:-haproxy}
    group ${HAPROXY_USER:-haproxy}"
fi

pid_line="    pidfile $dir/haproxy.pid"
[ "${SERVER_CONFIG_ONLY:-0}" = 1 ] && pid_line=
cat >"$dir/haproxy.cfg" <<EOF
# written by tests/servers/haproxy.sh
global
$pid_line
$user_lines
    nbthread 2
${HAPROXY_GLOBAL:-}

defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend tls
    bind 127.0.0.1:$port ssl crt $dir/site.pem
    http-request return status 200 content-type text/plain string "hello\n"
EOF

if ! env -u LD_PRELOAD "$haproxy" -c -q -f "$dir/haproxy.cfg" >"$dir/haproxy-c.log" 2>&1; then
    echo "$0: haproxy -c failed:" >&2
    cat "$dir/haproxy-c.log" >&2
    exit 1
fi
[ "${SERVER_CONFIG_ONLY:-0}" = 1 ] && exit 0
if [ "${HAPROXY_SYSTEMD:-0}" = 1 ]; then
    exec "$haproxy" -Ws -f "$dir/haproxy.cfg"
fi
exec "$haproxy" -W -D -f "$dir/haproxy.cfg"
