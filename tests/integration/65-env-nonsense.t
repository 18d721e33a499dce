#!/bin/bash
# Issue 4, item 4: nonsense in every AUTOSTAPLE_* variable.  The variables
# and their defaults are read from shim/config.c's table, so a new one is
# covered as soon as it exists.  Each nonsense value is given to every
# variable at once, first in an s_server that loads its certificate under the
# shim and then exits (it cannot bind its socket): one warning per variable,
# naming it and the default used, and nothing else goes wrong.  A few values
# then run a full server, which must staple and serve.  Last, the path-like
# variables with values that parse but cannot be used.
. "$AS_SRC/tests/lib.sh"

# served PORT: a TLS client that verifies the certificate gets a page.
served() {
    timeout 10 curl -sS --cacert "$AS_PKI/root.pem" --resolve "localhost:$1:127.0.0.1" \
        -o /dev/null "https://localhost:$1/"
}

# "NAME DEFAULT" for each row of the table; an empty default reads "(none)".
mapfile -t TABLE < <(sed -n 's/^ *{ "\(AUTOSTAPLE_[A-Z_]*\)", [A-Z]*, F([a-z_]*), "\([^"]*\)".*/\1 \2/p' \
    "$AS_SRC/shim/config.c")
[ ${#TABLE[@]} -ge 15 ] || _as_infra_fail "read the variables of shim/config.c (${#TABLE[@]})"
undocumented=()
for row in "${TABLE[@]}"; do
    grep -qF "| \`${row%% *}\` |" "$AS_SRC/docs/configuration.md" || undocumented+=("${row%% *}")
done
is "${undocumented[*]}" "" "each of the ${#TABLE[@]} variables of shim/config.c is in docs/configuration.md"

long=/$(printf 'a%.0s' $(seq 1 4999))
LABELS=(empty banana minus overflow exponent leading-space trailing-space hex long newline high-bytes)
declare -A VALUE=(
    [empty]='' [banana]=banana [minus]=-1 [overflow]=99999999999999999999 [exponent]=1e9
    [leading-space]=' 5' [trailing-space]='5 ' [hex]=0x10 [long]=$long
    [newline]=$'5\nautostaple[forged 1]: error: a forged line' [high-bytes]=$'\x80\xff5')

# every LABEL: VAR=VALUE for each variable of the table.
every() {
    local row
    for row in "${TABLE[@]}"; do printf '%s=%s\0' "${row%% *}" "${VALUE[$1]}"; done
}

# warnings_ok LABEL LOG: exactly one warning per variable, naming it and its
# default ("" is valid where the default is none); no other warning about a
# variable; every line of the shim's is printable ASCII, none forged.
warnings_ok() {
    local label=$1 log=$2 row name def lines want=0 bad=()
    for row in "${TABLE[@]}"; do
        name=${row%% *} def=${row#* }
        [ -n "$def" ] || def='(none)'
        [ "$label" = empty ] && [ "$def" = '(none)' ] && continue
        want=$((want + 1))
        lines=$(grep -F "warning: $name=\"" "$log")
        if [ "$(grep -c . <<<"$lines")" != 1 ] || [[ $lines != *"\" is not valid"*"; using the default $def" ]]; then
            bad+=("$name: '${lines:0:300}'")
        fi
    done
    [ "$(grep -c 'warning: AUTOSTAPLE_' "$log")" = "$want" ] || bad+=("$(grep -c 'warning: AUTOSTAPLE_' "$log") warnings, not $want")
    grep -q '^autostaple\[forged' "$log" && bad+=("a forged line")
    LC_ALL=C grep '^autostaple\[' "$log" | LC_ALL=C grep -q '[^ -~]' && bad+=("unprintable bytes")
    [ ${#bad[@]} -eq 0 ] && return 0
    printf '%s\n' "${bad[@]}" >&2
    return 1
}

# The short-lived servers: the shim is active (not disabled by nonsense), warns,
# and the server ends as it does without the shim.
openssl s_server -unix "$T/no/such/socket" -cert "$AS_PKI/leaf-noaia.pem" \
    -key "$AS_PKI/leaf-noaia.key" >"$T/quick-plain.log" 2>&1
plain_rc=$?
for label in "${LABELS[@]}"; do
    mapfile -d '' -t vars < <(every "$label")
    env "${vars[@]}" LD_PRELOAD="$AS_SHIM" timeout 20 openssl s_server -unix "$T/no/such/socket" \
        -cert "$AS_PKI/leaf-noaia.pem" -key "$AS_PKI/leaf-noaia.key" >"$T/quick-$label.log" 2>&1
    rc=$?
    check "$label in every variable: one warning each, naming it and its default" \
        warnings_ok "$label" "$T/quick-$label.log"
    like "$(cat "$T/quick-$label.log")" "info: certificate /CN=noaia\.test \(loaded\) names no OCSP responder" \
        "$label in every variable: the shim still runs"
    check "$label in every variable: the server ends as without the shim (exit $rc, cannot bind)" \
        test "$rc" = "$plain_rc" -a "$(grep -c 'unable to bind socket' "$T/quick-$label.log")" = 1
done

# Full servers for some: defaults in force, so stapled from the AIA's responder.
start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"
for label in trailing-space long newline high-bytes; do
    mapfile -d '' -t vars < <(every "$label")
    start_shim_s_server "full-$label" leaf-rsa "${vars[@]}"
    check "$label in every variable: a full server staples" wait_for_staple good "$PORT" 5
    check "$label in every variable: curl --cert-status accepts it" curl_verify "$PORT" good.test
    check "$label in every variable: the same warnings" warnings_ok "$label" "$T/full-$label.log"
done

# Values that parse but cannot be used.
start_shim_s_server nolog leaf-rsa AUTOSTAPLE_LOG=/nonexistent/dir/autostaple.log
check "AUTOSTAPLE_LOG in a missing directory: stapled" wait_for_staple good "$PORT" 5
# (The log line follows the publish: wait for it before reading the log.)
wait_for_log "$T/nolog.log" 'stapling a good response' 5
is "$(grep -c 'warning: cannot open the log file /nonexistent/dir/autostaple.log (AUTOSTAPLE_LOG): No such file or directory; logging to stderr meanwhile$' \
    "$T/nolog.log")" 1 "AUTOSTAPLE_LOG in a missing directory: said once, on stderr"
like "$(cat "$T/nolog.log")" "info: certificate /CN=good\.test: stapling a good response" \
    "AUTOSTAPLE_LOG in a missing directory: the lines go to stderr"

env AUTOSTAPLE_LOG="$T" AUTOSTAPLE_SKEW=x LD_PRELOAD="$AS_SHIM" timeout 20 openssl s_server \
    -unix "$T/no/such/socket" -cert "$AS_PKI/leaf-noaia.pem" -key "$AS_PKI/leaf-noaia.key" \
    >"$T/logdir.log" 2>&1
like "$(cat "$T/logdir.log")" "warning: cannot open the log file $T \(AUTOSTAPLE_LOG\): Is a directory; logging to stderr meanwhile
.*warning: AUTOSTAPLE_SKEW=\"x\" is not valid" "AUTOSTAPLE_LOG a directory: said, and the lines go to stderr"

: >"$T/a-file"
start_shim_s_server cachefile leaf-rsa AUTOSTAPLE_CACHE_DIR="$T/a-file"
check "AUTOSTAPLE_CACHE_DIR a file: stapled" wait_for_staple good "$PORT" 5
check "AUTOSTAPLE_CACHE_DIR a file: said why" wait_for_log "$T/cachefile.log" \
    "warning: cannot use $T/a-file \(AUTOSTAPLE_CACHE_DIR\): not a directory; responses are kept in memory only" 5
is "$(grep -c "a-file (AUTOSTAPLE_CACHE_DIR)" "$T/cachefile.log")" 1 \
    "AUTOSTAPLE_CACHE_DIR a file: said once (not again for the status file)"
mkdir -m 0755 "$T/real-cache"
ln -s "$T/real-cache" "$T/link-cache"
start_shim_s_server cachelink leaf-rsa AUTOSTAPLE_CACHE_DIR="$T/link-cache"
check "AUTOSTAPLE_CACHE_DIR a symbolic link: refused, saying so" wait_for_log "$T/cachelink.log" \
    "warning: refusing $T/link-cache \(AUTOSTAPLE_CACHE_DIR\): it is a symbolic link \(name the directory itself\)" 5
is "$(grep -c "link-cache" "$T/cachelink.log")" 1 "AUTOSTAPLE_CACHE_DIR a symbolic link: once"
start_shim_s_server cacherel leaf-rsa AUTOSTAPLE_CACHE_DIR=var/cache
check "AUTOSTAPLE_CACHE_DIR relative: says an absolute path is needed" wait_for_log "$T/cacherel.log" \
    "AUTOSTAPLE_CACHE_DIR=\"var/cache\" is not valid \(an absolute path is needed" 5

start_shim_s_server badurl leaf-rsa 'AUTOSTAPLE_RESPONDER=http://[::1'
check "AUTOSTAPLE_RESPONDER=http://[::1: the failure is logged" wait_for_log "$T/badurl.log" \
    "warning: certificate /CN=good\.test: OCSP from http://\[::1 failed: URL using bad/illegal format" 5
is "$(staple_of "$PORT")" none "AUTOSTAPLE_RESPONDER=http://[::1: nothing stapled"
check "AUTOSTAPLE_RESPONDER=http://[::1: served" served "$PORT"

start_shim_s_server nocore leaf-rsa AUTOSTAPLE_CORE=/nonexistent/core.so
check "AUTOSTAPLE_CORE missing: served" served "$PORT"
is "$(staple_of "$PORT")" none "AUTOSTAPLE_CORE missing: nothing stapled"
like "$(cat "$T/nocore.log")" "autostaple\[[0-9]+\]: error: cannot load /nonexistent/core\.so \(.*\); stapling disabled" \
    "AUTOSTAPLE_CORE missing: said"

unlike "$(cat "$T"/*.log)" "Sanitizer|runtime error:" "no sanitizer report from any server"
# A misspelled name (a typo in a systemd Environment= line) is not silently
# ignored: one warning, naming the variable it was probably meant to be.
start_shim_s_server typo leaf-rsa AUTOSTAPLE_CACHEDIR="$T" AUTOSTAPEL_TIMEOUT=5
check "a misspelled variable: a warning" wait_for_log "$T/typo.log" \
    "warning: unknown variable AUTOSTAPLE_CACHEDIR ignored: did you mean AUTOSTAPLE_CACHE_DIR\?" 5
is "$(grep -c 'unknown variable' "$T/typo.log")" 2 "one for each of the two, and no more"
like "$(grep 'AUTOSTAPEL_TIMEOUT' "$T/typo.log")" "did you mean AUTOSTAPLE_TIMEOUT\?" \
    "the prefix misspelled too"
is "$(staple_of "$PORT")" good "and the server staples"
done_testing
