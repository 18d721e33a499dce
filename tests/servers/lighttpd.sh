#!/bin/sh
# lighttpd.sh DIR PORT CERT KEY [WORKERS]
#
# Runs Debian's lighttpd (/usr/sbin/lighttpd, packages lighttpd and
# lighttpd-mod-openssl) as its unit does, "lighttpd -D" (in the foreground:
# the pid of this script is lighttpd's), with a self-contained
# configuration written to DIR/lighttpd.conf: TLS on 127.0.0.1:PORT,
# "server.max-worker = WORKERS" (default 4) worker processes; requests get
# 404 (nothing is served).  Nothing under /etc/lighttpd is read.
#
#   CERT  leaf + chain, PEM (ssl.pemfile);  KEY  its private key (ssl.privkey)
#
# lighttpd reads its certificate itself and hands it to OpenSSL per
# connection, in each worker (SSL_use_certificate from its certificate
# callback): nothing is known before a worker's first handshake.  Run as
# root it drops to www-data (LIGHTTPD_USER overrides it) before it forks
# its workers: every process that does TLS is www-data.
#
# The configuration is checked first with "lighttpd -tt" (LD_PRELOAD removed
# from that one command).
#
# SERVER_CONFIG_ONLY=1: write and check the configuration, start nothing
# (tests/integration/79-recipes.t starts the server with its unit's own
# command line).
set -eu

if [ $# -lt 4 ] || [ $# -gt 5 ]; then
    echo "usage: $0 DIR PORT CERT KEY [WORKERS]" >&2
    exit 2
fi
dir=$1 port=$2 cert=$3 key=$4 workers=${5:-4}
lighttpd=${LIGHTTPD:-/usr/sbin/lighttpd}
case $port in ''|*[!0-9]*) echo "$0: bad port: $port" >&2; exit 2 ;; esac
case $workers in ''|*[!0-9]*) echo "$0: bad worker count: $workers" >&2; exit 2 ;; esac
for f in "$cert" "$key"; do
    [ -r "$f" ] || { echo "$0: cannot read $f" >&2; exit 2; }
done
[ -x "$lighttpd" ] || { echo "$0: $lighttpd not found (apt-get install lighttpd)" >&2; exit 2; }
[ -f /usr/lib/lighttpd/mod_openssl.so ] ||
    { echo "$0: mod_openssl missing (apt-get install lighttpd-mod-openssl)" >&2; exit 2; }

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
user_lines=
if [ "$(id -u)" -eq 0 ]; then
    user_lines="server.username = \"${LIGHTTPD_USER:-www-data}\"
server.groupname = \"${LIGHTTPD_USER:-www-data}\""
fi

cat >"$dir/lighttpd.conf" <<EOF
# written by tests/servers/lighttpd.sh
server.modules = ("mod_openssl")
server.bind = "127.0.0.1"
server.port = $port
server.document-root = "/nonexistent"
server.max-worker = $workers
$user_lines
ssl.engine = "enable"
ssl.pemfile = "$cert"
ssl.privkey = "$key"
EOF

if ! env -u LD_PRELOAD "$lighttpd" -tt -f "$dir/lighttpd.conf" >"$dir/lighttpd-t.log" 2>&1; then
    echo "$0: lighttpd -tt failed:" >&2
    cat "$dir/lighttpd-t.log" >&2
    exit 1
fi
[ "${SERVER_CONFIG_ONLY:-0}" = 1 ] && exit 0
exec "$lighttpd" -D -f "$dir/lighttpd.conf"
