#!/bin/sh
# apache.sh DIR PORT CERT KEY [CHILDREN]
#
# Runs Debian's Apache httpd 2.4 (/usr/sbin/apache2, package apache2) as a TLS
# server on 127.0.0.1:PORT with a minimal, self-contained configuration
# written to DIR/httpd.conf.  Nothing under /etc/apache2 is used (no
# envvars, no apache2.conf, no mods-enabled); modules are loaded directly
# from /usr/lib/apache2/modules.  Pid file, logs, mutexes, shared memory and
# the runtime dir are all in DIR.
#
#   CERT  leaf + chain, PEM (SSLCertificateFile)
#   KEY   private key, PEM (SSLCertificateKeyFile)
#
# mpm_prefork with StartServers CHILDREN (default 2), "SSLUseStapling off" (the LD_PRELOAD
# library is expected to add stapling).  GET / answers 200 (see below).
#
# The configuration is checked with "apache2 -t" (with LD_PRELOAD removed
# from that one command), then this script execs apache2 in the foreground:
# the pid of this script is the pid of the Apache parent, and LD_PRELOAD set
# by the caller applies.  Stop it with SIGTERM to that pid (SIGHUP = restart,
# SIGUSR1 = graceful restart; both re-read the certificates).
#
# -DNO_DETACH, not -DFOREGROUND: on SIGTERM (and SIGHUP) mpm_prefork signals
# its whole process group (killpg(getpgrp(), ...)).  With -DFOREGROUND it
# stays in the caller's process group and would kill the calling test script
# too.  -DNO_DETACH does not fork either (same pid) but calls setsid(), so
# Apache and its children get their own session and process group.  Kill it
# by pid, not by the caller's process group.
#
# APACHE_START=k: "apache2 -k start", as apachectl and Debian's
# apache2.service run it: Apache detaches (its first process exits, the
# parent carries on in a session of its own) and this script returns once it
# has; the parent's pid is in DIR/httpd.pid.  Stop it by that pid, or with
# "apache2 -f DIR/httpd.conf -k stop"; "-k graceful" restarts gracefully.
# APACHE_MPM=event: mpm_event (threaded children) instead of mpm_prefork.
#
# Running as root: httpd refuses to serve as root, so the children run as
# User/Group www-data (APACHE_USER/APACHE_GROUP override this).  The
# certificates, keys, logs and mutex/shm files are opened by the root
# parent, but a static file would be opened by a child: with a private DIR
# (mode 0700, as mktemp -d creates, or below such a directory) www-data could
# not even search it (httpd answers 403, "search permissions are missing on a
# component of the path" - it stats the DocumentRoot path for every request,
# even one answered by a handler).  So nothing is served from DIR: every URL
# is answered 200 by a built-in handler (mod_status's "server-status" page,
# text/html) and DocumentRoot is "/", which any user can search; no file
# is read.  The body is therefore not "hello": test the status code.
#
# SERVER_CONFIG_ONLY=1: write and check the configuration, start nothing
# (tests/integration/79-recipes.t starts the server with its unit's own
# command line).  It is then also written as DIR/apache2.conf, with a
# DIR/envvars of one line (APACHE_RUN_DIR=DIR, which apachectl start
# cleans), so that "APACHE_CONFDIR=DIR apachectl start" runs it.
set -eu

if [ $# -lt 4 ] || [ $# -gt 5 ]; then
    echo "usage: $0 DIR PORT CERT KEY [CHILDREN]" >&2
    exit 2
fi
dir=$1 port=$2 cert=$3 key=$4 children=${5:-2}
apache=${APACHE:-/usr/sbin/apache2}
mods=${APACHE_MODULES:-/usr/lib/apache2/modules}

case $port in ''|*[!0-9]*) echo "$0: bad port: $port" >&2; exit 2 ;; esac
for f in "$cert" "$key"; do
    [ -r "$f" ] || { echo "$0: cannot read $f" >&2; exit 2; }
done
[ -x "$apache" ] || { echo "$0: $apache not found (apt-get install apache2)" >&2; exit 2; }
mpm=${APACHE_MPM:-prefork}
case $mpm in prefork|event) ;; *) echo "$0: bad APACHE_MPM: $mpm" >&2; exit 2 ;; esac
for m in "mpm_$mpm" authz_core socache_shmcb ssl status; do
    [ -f "$mods/mod_$m.so" ] || { echo "$0: $mods/mod_$m.so missing" >&2; exit 2; }
done

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
abspath() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$(pwd)" "$1" ;; esac; }
cert=$(abspath "$cert")
key=$(abspath "$key")

user_lines=
if [ "$(id -u)" -eq 0 ]; then
    user_lines="User ${APACHE_USER:-www-data}
Group ${APACHE_GROUP:-www-data}"
fi

cat > "$dir/httpd.conf" <<EOF
# written by tests/servers/apache.sh
ServerRoot "$dir"
ServerName 127.0.0.1
DefaultRuntimeDir "$dir"
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error.log"
LogLevel info
Mutex file:$dir default

LoadModule mpm_${mpm}_module $mods/mod_mpm_$mpm.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so
LoadModule ssl_module $mods/mod_ssl.so
LoadModule status_module $mods/mod_status.so

$user_lines

StartServers $children
$(if [ "$mpm" = prefork ]; then
    printf 'MinSpareServers 1\nMaxSpareServers %s\nMaxRequestWorkers 16\n' \
        "$((children > 4 ? children : 4))"
else
    printf 'ThreadsPerChild 4\nMinSpareThreads 4\nMaxSpareThreads %s\nServerLimit %s\nMaxRequestWorkers %s\n' \
        "$((children * 4))" "$((children > 4 ? children : 4))" "$((children > 4 ? children * 4 : 16))"
fi)
Timeout 10
KeepAlive Off

LogFormat "%h %t \"%r\" %>s %b" common
CustomLog "$dir/access.log" common

SSLSessionCache "shmcb:$dir/ssl_scache(512000)"
SSLUseStapling off

Listen 127.0.0.1:$port

<Directory />
    AllowOverride None
    Require all denied
</Directory>

<VirtualHost 127.0.0.1:$port>
    ServerName localhost
    DocumentRoot "/"
    SSLEngine on
    SSLCertificateFile "$cert"
    SSLCertificateKeyFile "$key"
    SSLUseStapling off
    <Location />
        SetHandler server-status
        Require all granted
    </Location>
</VirtualHost>
EOF

if ! env -u LD_PRELOAD "$apache" -t -f "$dir/httpd.conf" >"$dir/apache-t.log" 2>&1; then
    echo "$0: apache2 -t failed:" >&2
    cat "$dir/apache-t.log" >&2
    exit 1
fi
if [ "${SERVER_CONFIG_ONLY:-0}" = 1 ]; then
    cp "$dir/httpd.conf" "$dir/apache2.conf"
    echo "export APACHE_RUN_DIR=$dir" >"$dir/envvars"
    exit 0
fi

if [ "${APACHE_START:-}" = k ]; then
    "$apache" -f "$dir/httpd.conf" -k start
else
    exec "$apache" -f "$dir/httpd.conf" -DNO_DETACH
fi
