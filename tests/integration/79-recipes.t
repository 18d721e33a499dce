#!/bin/bash
# Issue 12: docs/deploying.md's recipes, run as written.  For each one
# (nginx, Apache, HAProxy, lighttpd, any other daemon, a container) the
# commands are read from the document itself and run in order:
#   - its shell lines (install -d, ldd, autostaple check and status, and
#     "How to see that it works": openssl s_client, curl --cert-status);
#   - "systemctl edit UNIT" takes the Environment= lines of the ini block
#     that follows as the drop-in; "systemctl restart UNIT" does what
#     systemd would: the installed unit's ExecStartPre and ExecStart lines,
#     in an environment of the unit's Environment= lines and the drop-in's,
#     waited for (Type=forking) or left running in the background;
#   - the Dockerfile's ENV lines and CMD, in a PID namespace of their own
#     (docker exec: nsenter).
# Then the library is turned off as "How to turn it off" says (the drop-in,
# or the envvars lines, removed) and the server started again.
# In place of the document's: the suite's library ($AS_SHIM), a cache
# directory below $T, the suite's certificates, names and port, and each
# server's configuration file (the suite's own, on loopback: the
# configuration option is added to the unit's command line, or given as the
# unit's own variable).  systemd itself is never asked.
. "$AS_SRC/tests/lib.sh"

tsan && skip_all "ThreadSanitizer's runtime, preloaded into the servers, defers the signals that drive them: the plain and ASan runs cover these recipes"
[ "$(id -u)" = 0 ] || skip_all "needs root: servers started as their units start them"
id www-data >/dev/null 2>&1 || skip_all "no www-data user"
chmod 755 "$T" # the cache directories below it are written by www-data and haproxy
DOC=$AS_SRC/docs/deploying.md
export CURL_CA_BUNDLE=$AS_PKI/root.pem
nothing_runs() { ! pgrep -f "$1" >/dev/null; }

# all_blocks SECTION: every code block of the section "## SECTION" of the
# document, in order, as "LANG<TAB>LINE" lines (LANG "" for a plain fence).
all_blocks() {
    awk -v h="## $1" '
        /^```/ { if (fence) { fence = 0 } else { fence = 1; lang = substr($0, 4) }; next }
        !fence && /^## / { sec = $0 == h; next }
        fence && sec { print lang "\t" $0 }' "$DOC"
}
# blocks SECTION LANG: the lines of SECTION's code blocks fenced ```LANG.
blocks() { all_blocks "$1" | sed -n "s/^$2\t//p"; }
# here: the document's paths and names made the suite's (CACHE, PORT).
here() {
    sed -e "s#/usr/local/lib/libautostaple.so#$AS_SHIM#g" \
        -e "s#/usr/lib/x86_64-linux-gnu/libautostaple.so#$AS_SHIM#g" \
        -e "s#/var/cache/autostaple#$CACHE#g" \
        -e "s#example.org:443#127.0.0.1:$PORT#g" \
        -e "s#-servername example.org#-servername good.test#g" \
        -e "s#https://example.org/#https://good.test:$PORT/#g" \
        -e "s#/usr/sbin/legacyd#$FIXTURE_SERVER#g" \
        -e "s#/etc/legacyd/server.pem#$AS_PKI/leaf-rsa-full.pem#g" \
        -e "s#^autostaple #$AS_BUILD/autostaple #"
}
# curl as the recipes run it, good.test being 127.0.0.1.
curl() { command curl --resolve "good.test:$PORT:127.0.0.1" "$@"; }
# env_words: the KEY=VALUE words of the Environment= lines read (systemd's
# quoting, as far as these units use it).
env_words() {
    local line
    while IFS= read -r line; do
        case $line in Environment=*) eval "printf '%s\n' ${line#Environment=}" ;; esac
    done
}
# The suite's own conditions, passed to the servers: a sanitizer's options
# and its longer start-up wait.
suite_env=()
for v in ASAN_OPTIONS UBSAN_OPTIONS AUTOSTAPLE_STARTUP_WAIT; do
    [ -n "${!v:-}" ] && suite_env+=("$v=${!v}")
done

# unit_start UNIT: what "systemctl start UNIT" would run (the unit in
# /lib/systemd/system, or UNIT_FILE), with DROPIN (the
# drop-in's words) and OVERRIDE (the suite's configuration, as variables),
# and the unit's command lines edited by UNIT_SED (the suite's
# configuration file).  Type=forking: waits for the command; else leaves it
# running (stopped at exit), its pid in MAINPID.
unit_start() {
    local file=${UNIT_FILE:-/lib/systemd/system/$1.service} env=() cmd key type
    mapfile -t env < <(env_words <"$file")
    env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
        "${suite_env[@]}" "${env[@]}" "${DROPIN[@]}" "${OVERRIDE[@]}")
    type=$(sed -n 's/^Type=//p' "$file")
    for key in ExecStartPre ExecStart; do
        while IFS= read -r cmd; do
            cmd=$(sed -e "$UNIT_SED" <<<"$cmd")
            note "$1: $key=$cmd"
            if [ "$key" = ExecStart ] && [ "$type" != forking ]; then
                start_bg "$1" env -i "${env[@]}" bash -c "exec $cmd"
                MAINPID=$BG_PID
            else
                env -i "${env[@]}" bash -c "$cmd" >>"$T/$1-start.log" 2>&1 ||
                    { diag_file "$T/$1-start.log"; return 1; }
            fi
        done < <(sed -n "s/^$key=[-+!@:]*//p" "$file")
    done
}

# recipe SECTION UNIT: SECTION's blocks, run in order (sh lines, the
# drop-in, systemctl).  Sets DROPIN.
recipe() {
    local lang line after_edit=0
    DROPIN=()
    while IFS=$'\t' read -r lang line; do
        case $lang in
        sh)
            case $line in
            '') ;;
            "systemctl edit $2") after_edit=1 ;;
            "systemctl restart $2" | "systemctl start $2")
                unit_start "$2" || { fail "$1: the unit starts"; return 1; } ;;
            systemctl\ *) fail "$1: a systemctl command the test does not know: $line"; return 1 ;;
            *)
                line=$(here <<<"$line")
                note "$1: \$ $line"
                eval "$line" >>"$T/$2-recipe.log" 2>&1 ||
                    { fail "$1: $line"; diag_file "$T/$2-recipe.log"; return 1; } ;;
            esac ;;
        ini)
            [ "$after_edit" = 1 ] || continue
            case $line in Environment=*) mapfile -t -O "${#DROPIN[@]}" DROPIN < <(here <<<"$line" | env_words) ;; esac ;;
        esac
    done < <(all_blocks "$1")
    pass "$1: the recipe's commands ran (drop-in: ${DROPIN[*]//$AS_SHIM/LIB})"
}

# works NAME: "How to see that it works", as written, against PORT and CACHE.
works() {
    local line out
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        line=$(here <<<"$line")
        out=$(eval "$line" 2>&1 </dev/null)
        case $line in
        *"autostaple status"*)
            # (a process that just took the refresh over lists the
            # certificate once its first exchange has ended)
            status_good() { out=$(eval "$line" 2>&1 </dev/null) && [[ $out =~ \(pid\ [0-9]+\).*good ]]; }
            eventually 5 status_good
            like "$out" "\(pid [0-9]+\).*good" "$1: $line" ;;
        *s_client*) like "$out" "OCSP Response Status: successful" "$1: openssl s_client -status | grep" ;;
        *curl*) is "$out" "stapled and verified" "$1: curl --cert-status" ;;
        *) fail "$1: a command the test does not know: $line" ;;
        esac
    done < <(blocks "How to see that it works" sh)
}

# maps_library PID: the process has the library mapped.
maps_library() { grep -q libautostaple "/proc/$1/maps" 2>/dev/null; }

# The responder the certificates name (AIA): OpenSSL's own answers (openssl
# ocsp, run per request), a connection each.  Not `openssl ocsp -port`: the
# recipes' configuration tests (nginx -t, apache2 -t) exit within a second,
# and one that exits just after its fetch connected leaves an empty
# connection, which stops that responder for good (79 failed so 1 run in 6
# on Debian 13 and once in a CI's ASan run; a real responder serves on).
start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"

# ---------------------------------------------------------------- nginx
if [ -x /usr/sbin/nginx ] && [ -f /lib/systemd/system/nginx.service ]; then
    dir=$T/nginx CACHE=$T/nginx-cache PORT=$(free_port)
    SERVER_CONFIG_ONLY=1 "$AS_SRC/tests/servers/nginx.sh" "$dir" "$PORT" \
        "$AS_PKI/leaf-rsa-full.pem" "$AS_PKI/leaf-rsa.key" 2 >"$T/nginx-conf.log" 2>&1 ||
        _as_infra_fail "nginx configuration" "$T/nginx-conf.log"
    OVERRIDE=() UNIT_SED="s#\$# -c $dir/nginx.conf -p $dir#"
    at_exit "[ -s '$dir/nginx.pid' ] && kill -TERM \$(cat '$dir/nginx.pid')"
    if recipe nginx nginx; then
        wait_for_port "$PORT" 15 && eventually 10 test -s "$dir/nginx.pid"
        master=$(cat "$dir/nginx.pid")
        is "$(staples_of "$PORT" 4)" "good good good good" "nginx: stapled from the first handshake"
        works nginx
        # What it logs while nginx starts goes where nginx's standard error
        # went (the journal, here the start log); later lines to its log.
        like "$(cat "$T/nginx-start.log" "$dir/error.log")" "autostaple\[nginx $master\]: info: taking over" \
            "nginx: the library's lines are in the journal or nginx's error log"
        check "nginx: the master ($master, root) refreshes: the status file is its" \
            eventually 5 test -s "$CACHE/status-$master.txt"
        kill -TERM "$master"
        check "nginx stops" eventually 10 nothing_runs "$dir/nginx.conf"
        # Off: the drop-in removed (systemctl revert nginx), restarted.
        DROPIN=()
        unit_start nginx && wait_for_port "$PORT" 15 && eventually 10 test -s "$dir/nginx.pid"
        master=$(cat "$dir/nginx.pid")
        is "$(staple_of "$PORT")" none "nginx, drop-in removed: no staple"
        check_fails "nginx, drop-in removed: the library is not loaded" maps_library "$master"
        kill -TERM "$master"
        check "nginx stops again" eventually 10 nothing_runs "$dir/nginx.conf"
    fi
fi

# ---------------------------------------------------------------- Apache
if [ -x /usr/sbin/apache2 ] && [ -f /lib/systemd/system/apache2.service ]; then
    dir=$T/apache CACHE=$T/apache-cache PORT=$(free_port)
    SERVER_CONFIG_ONLY=1 APACHE_MPM=event "$AS_SRC/tests/servers/apache.sh" "$dir" "$PORT" \
        "$AS_PKI/leaf-rsa-full.pem" "$AS_PKI/leaf-rsa.key" 2 >"$T/apache-conf.log" 2>&1 ||
        _as_infra_fail "Apache configuration" "$T/apache-conf.log"
    OVERRIDE=("APACHE_CONFDIR=$dir") UNIT_SED=''
    apache_up() { wait_for_port "$PORT" 15 && eventually 10 test -s "$dir/httpd.pid"; }
    apache_stop() {
        kill -TERM "$(cat "$dir/httpd.pid")"
        check "Apache stops$1" eventually 10 nothing_runs "apache2 -d $dir"
    }
    at_exit "[ -s '$dir/httpd.pid' ] && kill -TERM \$(cat '$dir/httpd.pid')"
    if recipe "Apache httpd" apache2; then
        apache_up
        parent=$(cat "$dir/httpd.pid")
        is "$(staples_of "$PORT" 4)" "good good good good" "Apache: stapled from the first handshake"
        works Apache
        like "$(cat "$T/apache2-start.log" "$dir/error.log")" "autostaple\[apache2 $parent\]: info: taking over" \
            "Apache: the library's lines are in the journal or Apache's error log"
        apache_stop ""
        # The same lines at the end of envvars instead, no drop-in.
        keep=("${DROPIN[@]}")
        cp "$dir/envvars" "$dir/envvars.orig"
        for w in "${keep[@]}"; do printf 'export %q\n' "$w"; done >>"$dir/envvars"
        DROPIN=()
        unit_start apache2 && apache_up
        is "$(staples_of "$PORT" 2)" "good good" "Apache, the lines in envvars: stapled"
        apache_stop " (envvars)"
        # Off: the lines removed from envvars.
        cp "$dir/envvars.orig" "$dir/envvars"
        unit_start apache2 && apache_up
        is "$(staple_of "$PORT")" none "Apache, lines removed: no staple"
        check_fails "Apache, lines removed: the library is not loaded" maps_library "$(cat "$dir/httpd.pid")"
        apache_stop " (off)"
    fi
fi

# ---------------------------------------------------------------- HAProxy
if [ -x /usr/sbin/haproxy ] && id haproxy >/dev/null 2>&1 && [ -f /lib/systemd/system/haproxy.service ]; then
    dir=$T/haproxy CACHE=$T/haproxy-cache PORT=$(free_port)
    HAPROXY_GLOBAL=$(blocks HAProxy "") SERVER_CONFIG_ONLY=1 "$AS_SRC/tests/servers/haproxy.sh" \
        "$dir" "$PORT" "$AS_PKI/leaf-ec-full.pem" "$AS_PKI/leaf-ec.key" >"$T/haproxy-conf.log" 2>&1 ||
        _as_infra_fail "HAProxy configuration" "$T/haproxy-conf.log"
    like "$(cat "$dir/haproxy.cfg")" "insecure-fork-wanted" "HAProxy: the recipe's global line is in the configuration"
    OVERRIDE=("CONFIG=$dir/haproxy.cfg" "PIDFILE=$dir/haproxy.pid" "EXTRAOPTS=-S $dir/master.sock")
    UNIT_SED=''
    if recipe HAProxy haproxy; then
        wait_for_port "$PORT" 15
        is "$(staples_of "$PORT" 4)" "good good good good" "HAProxy: stapled from the first handshake"
        # The worker takes the refresh over 10 s after its first handshake
        # found the master gone (executed itself again), without waiting
        # for more handshakes: then status names it.
        worker_status() { compgen -G "$CACHE/status-*.txt" >/dev/null; }
        check "HAProxy: the worker writes its status file, no handshake since" eventually 20 worker_status
        works HAProxy
        check "HAProxy: the response is saved in haproxy's directory" \
            eventually 5 compgen -G "$CACHE/*.ocsp"
        stop_bg haproxy
        check "HAProxy stops" eventually 10 nothing_runs "$dir/haproxy.cfg"
        DROPIN=()
        unit_start haproxy && wait_for_port "$PORT" 15
        is "$(staple_of "$PORT")" none "HAProxy, drop-in removed: no staple"
        check_fails "HAProxy, drop-in removed: the library is not loaded" maps_library "$MAINPID"
        stop_bg haproxy
        check "HAProxy stops again" eventually 10 nothing_runs "$dir/haproxy.cfg"
    fi
fi

# ---------------------------------------------------------------- lighttpd
if [ -x /usr/sbin/lighttpd ] && [ -f /usr/lib/lighttpd/mod_openssl.so ] &&
    [ -f /lib/systemd/system/lighttpd.service ]; then
    dir=$T/lighttpd CACHE=$T/lighttpd-cache PORT=$(free_port)
    SERVER_CONFIG_ONLY=1 "$AS_SRC/tests/servers/lighttpd.sh" "$dir" "$PORT" \
        "$AS_PKI/leaf-rsa-full.pem" "$AS_PKI/leaf-rsa.key" 2 >"$T/lighttpd-conf.log" 2>&1 ||
        _as_infra_fail "lighttpd configuration" "$T/lighttpd-conf.log"
    OVERRIDE=() UNIT_SED="s#/etc/lighttpd/lighttpd.conf#$dir/lighttpd.conf#g"
    if recipe lighttpd lighttpd; then
        wait_for_port "$PORT" 15
        # Its workers learn the certificate at their first handshake.
        check "lighttpd: stapled once the first fetch ended" wait_for_staple good "$PORT" 10
        check "lighttpd: the response is saved in www-data's directory" \
            eventually 5 compgen -G "$CACHE/*.ocsp"
        works lighttpd
        stop_bg lighttpd
        check "lighttpd stops" eventually 10 nothing_runs "$dir/lighttpd.conf"
        DROPIN=()
        unit_start lighttpd && wait_for_port "$PORT" 15
        is "$(staples_of "$PORT" 2)" "none none" "lighttpd, drop-in removed: no staple"
        stop_bg lighttpd
    fi
fi

# ---------------------------------------------------------------- any other daemon
# legacyd: the fixture server under a unit of Type=forking, daemonizing
# with a double fork, its master root and its workers www-data.
dir=$T/legacyd CACHE=$T/legacyd-cache PORT=$(free_port)
mkdir -p "$dir"
{
    echo "[Service]"
    echo "Type=forking"
    echo "ExecStart=$FIXTURE_SERVER -port $PORT -cert $AS_PKI/leaf-rsa-full.pem -key $AS_PKI/leaf-rsa.key -load chain-file -prefork 2 -user www-data -daemonize $dir/legacyd.pid -log $dir/legacyd.log"
} >"$dir/legacyd.service"
at_exit "[ -s '$dir/legacyd.pid' ] && kill -TERM \$(cat '$dir/legacyd.pid')"
OVERRIDE=() UNIT_SED='' UNIT_FILE=$dir/legacyd.service
if recipe "Any other daemon" legacyd; then
    wait_for_port "$PORT" 15 && eventually 10 test -s "$dir/legacyd.pid"
    like "$(cat "$T/legacyd-recipe.log")" "libssl\.so\.3" "any daemon: ldd names libssl.so.3"
    like "$(cat "$T/legacyd-recipe.log")" "good" "any daemon: autostaple check says good"
    is "$(staples_of "$PORT" 2)" "good good" "any daemon: stapled"
    works "any daemon"
    like "$(cat "$dir/legacyd.log")" "autostaple\[fixture_server [0-9]+\]" \
        "any daemon: the library's lines are in the daemon's standard error"
    kill -TERM "$(cat "$dir/legacyd.pid")"
    check "any daemon stops" eventually 10 nothing_runs "$dir/legacyd.pid"
fi
UNIT_FILE=

# ---------------------------------------------------------------- a container
# The Dockerfile's ENV lines and CMD (nginx in the foreground), as process 1
# of a PID namespace of its own; docker exec is nsenter into it.  Its error
# log is standard error, as the image's ln line makes it.
if [ -x /usr/sbin/nginx ] && command -v unshare >/dev/null && command -v nsenter >/dev/null; then
    dir=$T/container CACHE=$T/container-cache PORT=$(free_port)
    install -d -m 0755 "$CACHE" # the package's /var/cache/autostaple
    NGINX_ERROR_LOG=/dev/stderr SERVER_CONFIG_ONLY=1 "$AS_SRC/tests/servers/nginx.sh" "$dir" "$PORT" \
        "$AS_PKI/leaf-rsa-full.pem" "$AS_PKI/leaf-rsa.key" 2 >"$T/container-conf.log" 2>&1 ||
        _as_infra_fail "nginx configuration (container)" "$T/container-conf.log"
    image_env=()
    while read -r line; do
        mapfile -t -O "${#image_env[@]}" image_env < <(here <<<"${line#ENV }" | xargs -n1)
    done < <(blocks "In a container" dockerfile | grep '^ENV ')
    mapfile -t cmd < <(blocks "In a container" dockerfile | sed -n 's/^CMD //p' |
        python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin)))')
    is "${cmd[*]}" "nginx -g daemon off;" "container: the image's CMD runs nginx in the foreground"
    start_bg container unshare --pid --fork --mount-proc --kill-child \
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "${suite_env[@]}" "${image_env[@]}" \
        "${cmd[@]}" -c "$dir/nginx.conf" -p "$dir"
    wait_for_port "$PORT" 15
    is "$(staples_of "$PORT" 4)" "good good good good" "container: stapled from the first handshake"
    pid1=$(pgrep -P "$container_PID" -x nginx | head -n1)
    while read -r line; do
        [[ $line == "docker exec web "* ]] || continue
        # (-r -w: its root and directory too; a mount namespace entered
        # alone sets them to the namespace's own, outside a chroot the
        # suite may run in)
        out=$(nsenter -t "$pid1" -p -m -r -w env -i "${image_env[@]}" $(here <<<"${line#docker exec web }") 2>&1)
        like "$out" "nginx \(pid 1\).*good" "container: ${line%% web*} ... ${line#docker exec web }: the master is process 1"
    done < <(blocks "In a container" sh)
    like "$(cat "$T/container.log")" "autostaple\[nginx 1\]" \
        "container: the library's lines are on standard error (docker logs)"
    stop_bg container
    check "container: nginx stops" eventually 10 nothing_runs "$dir/nginx.conf"
fi

done_testing
