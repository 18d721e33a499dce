#!/bin/sh
# nginx.sh DIR PORT CERT KEY [WORKERS]
#
# Runs Debian's nginx (package nginx-light, /usr/sbin/nginx, or NGINX_BIN:
# not NGINX, which nginx reads as the sockets it inherits on a binary
# upgrade, and then does not daemonize) as a TLS server on 127.0.0.1:PORT with a minimal, self-contained configuration written to
# DIR/nginx.conf.  Everything nginx writes (pid, logs, temp dirs) lives in
# DIR; nothing under /etc/nginx or /var is read or written.
#
#   CERT     leaf + chain, PEM (ssl_certificate)
#   KEY      private key, PEM (ssl_certificate_key)
#   WORKERS  number of worker processes (default 1); 0 = "master_process off",
#            i.e. a single process serving everything itself.
#
# "ssl_stapling off": nginx itself does no stapling, the LD_PRELOAD library
# is expected to add it.  Every request to / answers 200 "hello\n".
#
# The configuration is checked with "nginx -t" (with LD_PRELOAD removed from
# that one command, so the library is not exercised by the check), then this
# script execs nginx in the foreground ("daemon off;"): the pid of this script
# is the pid of the nginx master, and LD_PRELOAD set by the caller applies.
#
# Running as root: nginx's master keeps root, the workers drop to an
# unprivileged user.  We keep that realistic behaviour and use www-data
# (as Debian's own nginx.conf does); set NGINX_USER (e.g. NGINX_USER=root) to
# change it.  This works with a private DIR (mode 0700, as mktemp -d
# creates) because the workers never open anything in DIR: certificates,
# keys and logs are opened by the master before the workers are forked, the
# temp directories are only used for request bodies (never, with "return"),
# and the pid file is written by the master.  nginx chowns the temp dirs to
# the worker user itself.
#
# NGINX_DAEMON=1: "daemon on;", as Debian's nginx.service runs it: this
# script runs nginx, which forks, lets its first process exit and carries on
# as a session leader; the script returns once nginx has, and the master's
# pid is in DIR/nginx.pid.  Stop it by that pid.
#
# NGINX_ERROR_LOG: the error log, DIR/error.log by default (/dev/stderr, as
# in a container).
#
# Every DIR/conf.d/*.conf is included in the http block: a test adds a
# server there and reloads (SIGHUP to the master).
#
# nginx clears the environment of its workers except TZ and variables named
# by "env" directives.  LD_PRELOAD is already mapped by then, but a library
# that reads its settings lazily with getenv() would not see them, so
# LD_PRELOAD and every AUTOSTAPLE_* variable present now are passed on with
# "env NAME;".
#
# SERVER_CONFIG_ONLY=1: write and check the configuration, start nothing
# (tests/integration/79-recipes.t starts the server with its unit's own
# command line).  The configuration then has no "daemon" or
# "master_process" line: the unit's -g gives them.
set -eu

if [ $# -lt 4 ] || [ $# -gt 5 ]; then
    echo "usage: $0 DIR PORT CERT KEY [WORKERS]" >&2
    exit 2
fi
dir=$1 port=$2 cert=$3 key=$4 workers=${5:-1}
nginx=${NGINX_BIN:-/usr/sbin/nginx}

case $port in ''|*[!0-9]*) echo "$0: bad port: $port" >&2; exit 2 ;; esac
case $workers in ''|*[!0-9]*) echo "$0: bad worker count: $workers" >&2; exit 2 ;; esac
for f in "$cert" "$key"; do
    [ -r "$f" ] || { echo "$0: cannot read $f" >&2; exit 2; }
done
[ -x "$nginx" ] || { echo "$0: $nginx not found (apt-get install nginx-light)" >&2; exit 2; }

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
abspath() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$(pwd)" "$1" ;; esac; }
cert=$(abspath "$cert")
key=$(abspath "$key")
mkdir -p "$dir/tmp"

if [ "$workers" -eq 0 ]; then
    procs="master_process off;
worker_processes 1;"
else
    procs="master_process on;
worker_processes $workers;"
fi

user_line=
if [ "$(id -u)" -eq 0 ]; then
    user_line="user ${NGINX_USER:-www-data};"
fi

# env directives for the library's variables (names are [A-Za-z0-9_] only)
env_lines=$(env | sed -n 's/^\(LD_PRELOAD\|AUTOSTAPLE_[A-Za-z0-9_]*\)=.*/env \1;/p')

daemon=off
[ "${NGINX_DAEMON:-0}" = 1 ] && daemon=on
daemon_line="daemon $daemon;"
if [ "${SERVER_CONFIG_ONLY:-0}" = 1 ]; then
    procs="worker_processes $workers;"
    daemon_line=
fi
mkdir -p "$dir/conf.d"

cat > "$dir/nginx.conf" <<EOF
# written by tests/servers/nginx.sh
$user_line
$procs
$daemon_line
pid $dir/nginx.pid;
lock_file $dir/nginx.lock;
error_log ${NGINX_ERROR_LOG:-$dir/error.log} info;
$env_lines

events {
    worker_connections 64;
}

http {
    access_log $dir/access.log;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    keepalive_timeout 5;
    include $dir/conf.d/*.conf;

    server {
        listen 127.0.0.1:$port ssl;
        server_name localhost;
        ssl_certificate $cert;
        ssl_certificate_key $key;
        ssl_stapling off;

        location / {
            default_type text/plain;
            return 200 "hello\n";
        }
    }
}
EOF

if ! env -u LD_PRELOAD "$nginx" -t -q -c "$dir/nginx.conf" -p "$dir" 2>"$dir/nginx-t.log"; then
    echo "$0: nginx -t failed:" >&2
    cat "$dir/nginx-t.log" >&2
    exit 1
fi
[ "${SERVER_CONFIG_ONLY:-0}" = 1 ] && exit 0

if [ "$daemon" = on ]; then
    "$nginx" -c "$dir/nginx.conf" -p "$dir"
else
    exec "$nginx" -c "$dir/nginx.conf" -p "$dir"
fi
