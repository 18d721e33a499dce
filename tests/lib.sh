# tests/lib.sh -- TAP + process helpers for tests/integration/*.t (bash).
#
# Usage in a test:   . "$AS_SRC/tests/lib.sh"
# Needs AS_BUILD (holds libautostaple.so and tests/{mkresp,fakeresponder,...}),
# AS_PKI (made by tests/pki/mkpki.sh) and AS_SRC (repo root).
# Do not use `set -e` in tests: assertions return non-zero on failure.
#
# TAP:       plan N | done_testing | skip_all WHY | check DESC CMD... |
#            check_fails DESC CMD... | is GOT WANT DESC | isnt GOT UNWANTED DESC |
#            like GOT ERE DESC | unlike GOT ERE DESC | pass DESC | fail DESC |
#            skip WHY [N] | diag MSG... | note MSG... | diag_file FILE
# Processes: start_bg NAME CMD... | stop_bg NAME|PID | free_port |
#            wait_for_log FILE ERE SECS | wait_for_port PORT SECS | eventually SECS CMD...
# Servers:   start_ocsp_responder PORT INDEX [CERT KEY] | start_openssl_ocsp PORT INDEX |
#            start_shim_s_server NAME LEAF [nochain] [VAR=VALUE...] |
#            start_fixture_server NAME [VAR=VALUE...] ARGS... (FIXTURE_RSA) |
#            start_renewing_responder LEAF SECS [STATUSFILE] | this_update_of PORT | ocsp_set_index PORT INDEX |
#            start_issuer_server PORT | start_fake NAME PORT MODE [ARGS...]
# Clients:   staple_of PORT [SNI] [ARGS...] | staples_of PORT N [SNI] | wait_for_staple WANT PORT SECS [SNI] [ARGS...] |
#            curl_verify PORT [NAME] [ARGS...] | stapled_status PORT LEAF [SNI] |
#            ocsp_query PORT LEAF | resp_status FILE LEAF
# Misc:      count_requests LOG | requests_for LOG LEAF | with_shim CMD... | mkresp_for LEAF OUT [ARGS...] |
#            make_leaves N DIR | start_signing_responder NAME VALID [-flaky] |
#            proc_usage PID | sanitized | tsan | at_exit CMD...
# OpenSSL:   AS_OPENSSL (3, or 1.1 in tests/openssl11/) | S_SERVER (the s_server to run) |
#            FIXTURE_SERVER | VERIFY_TOOL | _as_check_abi PID WHAT
# Set AS_KEEP_TMP=1 to keep $T after the test.

if [ -z "${AS_BUILD:-}" ] || [ -z "${AS_PKI:-}" ] || [ -z "${AS_SRC:-}" ]; then
    echo "Bail out! AS_BUILD, AS_PKI and AS_SRC must be set"
    exit 255
fi
# shellcheck disable=SC1091
. "$AS_PKI/ports.env"                       # OCSP_PORT, ISSUER_PORT

AS_SHIM=${AS_SHIM:-$AS_BUILD/libautostaple.so}   # run-suite.sh may put a sanitizer runtime first
MKRESP=$AS_BUILD/tests/mkresp
FAKERESPONDER=$AS_BUILD/tests/fakeresponder
FIXTURE_SERVER=$AS_BUILD/tests/fixture_server
FIXTURE_CLIENT=$AS_BUILD/tests/fixture_client
AS_HELPER_MAX_SECONDS=${AS_HELPER_MAX_SECONDS:-600}   # self-destruct timer of helpers

T=$(mktemp -d "${TMPDIR:-/tmp}/test.XXXXXX") || {
    echo "Bail out! mktemp failed"
    exit 255
}

_tap_n=0 _tap_failed=0 _tap_plan='' _tap_done=0 _tap_skipall=0
_as_pids=()

# ---------------------------------------------------------------- TAP

_tap_desc() { local d=${1//$'\n'/ }; printf '%s' "${d//#/\\#}"; }

# _tap_result STATUS DESC: STATUS 0 = ok.  Returns STATUS (0/1).
_tap_result() {
    _tap_n=$((_tap_n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $_tap_n - $(_tap_desc "$2")"
        return 0
    fi
    echo "not ok $_tap_n - $(_tap_desc "$2")"
    _tap_failed=$((_tap_failed + 1))
    diag "  Failed test '$2' at ${BASH_SOURCE[2]##*/} line ${BASH_LINENO[1]}."
    return 1
}

plan() { _tap_plan=$1; echo "1..$1"; }
done_testing() { [ -n "$_tap_plan" ] || echo "1..$_tap_n"; _tap_plan=${_tap_plan:-$_tap_n}; _tap_done=1; }
skip_all() {
    if [ "$_tap_n" -gt 0 ]; then
        fail "skip_all after $_tap_n assertions: $*"
        exit 1
    fi
    echo "1..0 # SKIP $*"
    _tap_skipall=1
    exit 0
}
# diag goes to stderr (shown by prove without -v); note to stdout.
diag() { local l; while IFS= read -r l; do echo "# $l" >&2; done <<<"$*"; }
note() { local l; while IFS= read -r l; do echo "# $l"; done <<<"$*"; }
diag_file() {   # diag_file FILE [MAXLINES=60]: tail of FILE as diag
    if [ -s "$1" ]; then
        diag "--- ${1##*/} (last ${2:-60} lines) ---"
        tail -n "${2:-60}" "$1" | sed 's/^/# /' >&2
    else
        diag "--- ${1##*/}: empty or missing ---"
    fi
}

pass() { _tap_result 0 "$1"; }
fail() { _tap_result 1 "$1"; }
skip() { local i; for ((i = 0; i < ${2:-1}; i++)); do _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # skip $(_tap_desc "$1")"; done; }

# check DESC CMD...: pass if CMD exits 0 (runs in this shell; output captured).
# stacks_of PATTERN: for a failing test's report, every thread's stack in
# each process whose command line matches PATTERN (a server that stopped
# answering: where it waits).  Needs gdb; says so without it.
stacks_of() {
    local p
    command -v gdb >/dev/null || { diag "(no gdb: no stacks of $1)"; return 0; }
    for p in $(pgrep -f "$1"); do
        diag "--- threads of process $p: $(tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null) ---"
        timeout 30 gdb -p "$p" -batch -ex 'thread apply all bt 15' </dev/null 2>/dev/null |
            grep -E '^(#|Thread)' | sed 's/^/# /' >&2
    done
}
check() {
    local desc=$1 rc out=$T/.check.out
    shift
    "$@" >"$out" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
        _tap_result 0 "$desc"
    else
        _tap_result 1 "$desc"
        diag "  command (exit $rc): $*"
        diag_file "$out"
    fi
    return $((rc != 0))
}
# check_fails DESC CMD...: pass if CMD exits non-zero.
check_fails() {
    local desc=$1 rc out=$T/.check.out
    shift
    "$@" >"$out" 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then
        _tap_result 0 "$desc"
    else
        _tap_result 1 "$desc"
        diag "  command unexpectedly succeeded: $*"
        diag_file "$out"
    fi
    return $((rc == 0))
}
is() {
    if [ "$1" = "$2" ]; then _tap_result 0 "$3"; return; fi
    _tap_result 1 "$3"
    diag "         got: '$1'"
    diag "    expected: '$2'"
    if [[ $1 == *error* ]] && [ -s "$T/staple_of.why" ]; then
        while IFS= read -r line; do diag "  $line"; done <"$T/staple_of.why"
    fi
    return 1
}
isnt() {
    if [ "$1" != "$2" ]; then _tap_result 0 "$3"; return; fi
    _tap_result 1 "$3"
    diag "         got: '$1'"
    diag "    expected: anything else"
    return 1
}
like() {
    if [[ $1 =~ $2 ]]; then _tap_result 0 "$3"; return; fi
    _tap_result 1 "$3"
    diag "    '$1'"
    diag "    doesn't match /$2/"
    return 1
}
unlike() {
    if ! [[ $1 =~ $2 ]]; then _tap_result 0 "$3"; return; fi
    _tap_result 1 "$3"
    diag "    '$1'"
    diag "    matches /$2/"
    return 1
}

# Infrastructure failure: one "not ok", diagnostics, end the test.
_as_infra_fail() {
    _tap_result 1 "$1"
    [ -n "${2:-}" ] && diag_file "$2"
    exit 1
}

# ---------------------------------------------------------------- processes

_as_ident() { local s=${1//[^A-Za-z0-9_]/_}; [[ $s =~ ^[0-9] ]] && s=_$s; printf '%s' "$s"; }
_as_alive() { kill -0 -- "-$1" 2>/dev/null || kill -0 "$1" 2>/dev/null; }
_as_signal() { kill "-$1" -- "-$2" 2>/dev/null; kill "-$1" "$2" 2>/dev/null; }

# _as_terminate PID...: TERM (group and pid), KILL after AS_TERM_GRACE
# seconds (default 2; more where a test checks what a process does as it
# exits), reap.
_as_terminate() {
    local p i left
    for p in "$@"; do _as_signal TERM "$p"; done
    for ((i = 0; i < ${AS_TERM_GRACE:-2} * 10; i++)); do
        left=0
        for p in "$@"; do _as_alive "$p" && left=1; done
        [ $left -eq 0 ] && break
        sleep 0.1
    done
    for p in "$@"; do _as_alive "$p" && _as_signal KILL "$p"; done
    for p in "$@"; do wait "$p" 2>/dev/null; done
    return 0
}

# start_bg NAME CMD...: CMD (a program or shell function) in the background in
# its own process group; output to $T/NAME.log; sets ${NAME}_PID and BG_PID.
start_bg() {
    local name=$1 pid had_m=0
    shift
    # Run programs directly, so that the recorded pid is the program's own
    # even if it leaves the process group (Apache's -DNO_DETACH calls setsid):
    # a shell function would run in a subshell that has a pid of its own.
    if [ "$1" = with_shim ]; then
        shift
        set -- env LD_PRELOAD="$AS_SHIM${LD_PRELOAD:+:$LD_PRELOAD}" "$@"
    fi
    [[ $- == *m* ]] && had_m=1
    set -m                       # => the job gets its own process group
    "$@" >"$T/$name.log" 2>&1 </dev/null &
    pid=$!
    [ $had_m -eq 1 ] || set +m
    _as_pids+=("$pid")
    printf -v "$(_as_ident "$name")_PID" '%s' "$pid"
    BG_PID=$pid
}

# stop_bg NAME|PID: stop something started by start_bg (TERM, then KILL after 2 s).
stop_bg() {
    local pid=$1 var i
    if ! [[ $pid =~ ^[0-9]+$ ]]; then
        var="$(_as_ident "$1")_PID"
        pid=${!var:-}
        [ -n "$pid" ] || { diag "stop_bg: no process named $1"; return 1; }
    fi
    _as_terminate "$pid"
    for i in "${!_as_pids[@]}"; do [ "${_as_pids[$i]}" = "$pid" ] && unset '_as_pids[i]'; done
    return 0
}

# free_port: prints a 127.0.0.1 TCP port nobody uses (20000-31999, below the
# ephemeral range); never the PKI's OCSP/ISSUER ports nor one handed out before.
free_port() {
    local p i hex
    for ((i = 0; i < 500; i++)); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        [ "$p" = "$OCSP_PORT" ] || [ "$p" = "$ISSUER_PORT" ] && continue
        grep -qx "$p" "$T/.ports" 2>/dev/null && continue
        hex=$(printf '%04X' "$p")
        awk -v h="$hex" 'FNR > 1 { split($2, a, ":"); if (a[2] == h) f = 1 } END { exit !f }' \
            /proc/net/tcp /proc/net/tcp6 2>/dev/null && continue
        echo "$p" >>"$T/.ports"
        echo "$p"
        return 0
    done
    echo "free_port: no free port found" >&2
    return 1
}

_as_now_ms() { local ns; ns=$(date +%s%N); echo $((ns / 1000000)); }
_as_ms() { awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }'; }

# eventually SECS CMD...: CMD succeeds within SECS seconds (tried every 0.3 s).
eventually() {
    local end=$(($(_as_now_ms) + $(_as_ms "$1")))
    shift
    until "$@"; do [ "$(_as_now_ms)" -ge "$end" ] && return 1; sleep 0.3; done
}

# wait_for_log FILE ERE SECS: until a line of FILE matches ERE.
wait_for_log() {
    local end=$(($(_as_now_ms) + $(_as_ms "$3")))
    while :; do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        [ "$(_as_now_ms)" -ge "$end" ] && break
        sleep 0.1
    done
    echo "wait_for_log: no /$2/ in $1 after $3 s" >&2
    return 1
}

# wait_for_port PORT SECS: until 127.0.0.1:PORT accepts a TCP connection.
# Makes an empty connection: never use it on an `openssl ocsp -port` responder.
wait_for_port() {
    local end=$(($(_as_now_ms) + $(_as_ms "$2")))
    while :; do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        [ "$(_as_now_ms)" -ge "$end" ] && break
        sleep 0.1
    done
    echo "wait_for_port: 127.0.0.1:$1 not accepting after $2 s" >&2
    return 1
}

# ---------------------------------------------------------------- servers

# start_fake NAME PORT MODE [ARGS...]: fakeresponder on 127.0.0.1:PORT (0: any
# free port), ready on return; actual port in FAKE_PORT.  Requests logged to
# $T/NAME.requests (also FAKE_LOG); pid in ${NAME}_PID.  Ends the test on failure.
start_fake() {
    local name=$1 port=$2 mode=$3
    shift 3
    start_bg "$name" "$FAKERESPONDER" -port "$port" -mode "$mode" -log "$T/$name.requests" \
        -max-seconds "$AS_HELPER_MAX_SECONDS" "$@"
    FAKE_LOG=$T/$name.requests
    local re=$port
    [ "$port" = 0 ] && re='[0-9]+'
    wait_for_log "$T/$name.log" "^listening on 127\.0\.0\.1:$re\$" 10 ||
        _as_infra_fail "fakeresponder $name ($mode) listening on port $port" "$T/$name.log"
    FAKE_PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/$name.log" | head -n1)
}

# start_ocsp_responder PORT INDEX [CERT KEY]: a real OCSP responder on
# 127.0.0.1:PORT (fakeresponder -mode ocsp: `openssl ocsp -index` run per
# request, since `openssl ocsp -port` can only bind all interfaces).  Signs with
# CERT/KEY (default inter).  Works on a copy of INDEX: $T/ocsp-PORT.index (see
# ocsp_set_index).  Requests logged to $T/ocsp-PORT.requests (OCSP_LOG); pid in
# OCSP_PID.  Ends the test with a failure if it cannot start.
start_ocsp_responder() {
    local port=$1 index=$2 cert=${3:-$AS_PKI/inter.pem} key=${4:-$AS_PKI/inter.key}
    local name=ocsp-$port
    ocsp_set_index "$port" "$index" || _as_infra_fail "copy OCSP index $index"
    start_fake "$name" "$port" ocsp -index "$T/$name.index" -ca "$AS_PKI/inter.pem" \
        -rsigner "$cert" -rkey "$key" -nmin 60
    OCSP_PID=$BG_PID
    OCSP_LOG=$T/$name.requests
}

# ocsp_set_index PORT INDEX: atomically make the responder on PORT use INDEX
# (takes effect with the next request).
ocsp_set_index() {
    local dst=$T/ocsp-$1.index
    cp "$2" "$dst.tmp" && mv -f "$dst.tmp" "$dst" || return 1
    if [ -f "$2.attr" ]; then cp "$2.attr" "$dst.attr"; else echo "unique_subject = no" >"$dst.attr"; fi
}

# start_openssl_ocsp PORT INDEX: OpenSSL's own responder (`openssl ocsp
# -port`), signing as inter.  OpenSSL 3.0 binds it to every address, so it runs
# under loopback_bind.so, which pins it to 127.0.0.1.  Ready on return (its
# "waiting" line; never probe its port: an empty connection wedges it for
# good, even with -timeout or -multi, as a client that exits just after
# connecting does: servers under test that may exit mid-fetch want
# start_ocsp_responder).
# Pid in OPENSSL_OCSP_PID.  No request log: use start_ocsp_responder for that.
start_openssl_ocsp() {
    local port=$1 name=openssl-ocsp-$1
    cp "$2" "$T/$name.index" && cp "$2.attr" "$T/$name.index.attr" 2>/dev/null
    start_bg "$name" env LD_PRELOAD="$AS_BUILD/tests/loopback_bind.so" timeout "$AS_HELPER_MAX_SECONDS" \
        openssl ocsp -index "$T/$name.index" -port "$port" -CA "$AS_PKI/inter.pem" \
        -rsigner "$AS_PKI/inter.pem" -rkey "$AS_PKI/inter.key" -nmin 60 -ignore_err
    OPENSSL_OCSP_PID=$BG_PID
    wait_for_log "$T/$name.log" "waiting for OCSP client connections" 10 ||
        _as_infra_fail "openssl ocsp responder on port $port" "$T/$name.log"
}

# start_shim_s_server NAME LEAF [nochain] [VAR=VALUE...]: an unmodified
# `openssl s_server -www` for $AS_PKI/LEAF (or LEAF.pem and LEAF.key if LEAF
# is an absolute path) under the shim, sending its chain unless nochain, with
# the given environment; port in PORT.  Ends the test if it does not start.
start_shim_s_server() {
    local name=$1 leaf=$2 chain=(-cert_chain "$AS_PKI/chain.pem")
    shift 2
    [[ $leaf == /* ]] || leaf=$AS_PKI/$leaf
    if [ "${1:-}" = nochain ]; then chain=(); shift; fi
    PORT=$(free_port)
    start_bg "$name" env "$@" LD_PRELOAD="$AS_SHIM" "${S_SERVER[@]}" -accept "127.0.0.1:$PORT" \
        -www -cert "$leaf.pem" -key "$leaf.key" "${chain[@]}"
    wait_for_port "$PORT" 10 || _as_infra_fail "s_server $name starts" "$T/$name.log"
    _as_check_abi "$BG_PID" "s_server $name"
}

# FIXTURE_RSA: the fixture server's arguments for leaf-rsa and its chain.
FIXTURE_RSA=(-cert "$AS_PKI/leaf-rsa.pem" -key "$AS_PKI/leaf-rsa.key" -chain "$AS_PKI/chain.pem")

# start_fixture_server NAME [VAR=VALUE...] ARGS...: the fixture server
# (tests/servers/fixture_server.c) with ARGS under the library, in its own
# process group (start_bg: output in $T/NAME.log, pid in ${NAME}_PID), on
# 127.0.0.1:PORT, a free port set in PORT.  Its environment is this one
# with LD_PRELOAD=$AS_SHIM and then each VAR=VALUE (an LD_PRELOAD among them
# replaces the shim's).  -max-seconds 120 unless ARGS give their own.  Ready
# on return: "ready" in its log ($T/NAME.log, or FILE of a -log FILE in
# ARGS, where a -daemonize server writes it) within 10 s, else it ends the
# test.  Stop it with stop_bg NAME; a -daemonize one by its PIDFILE's pid
# (register that with at_exit before the start).
start_fixture_server() {
    local name=$1 envs=() log
    shift
    while [[ ${1:-} =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do envs+=("$1"); shift; done
    PORT=$(free_port)
    start_bg "$name" env LD_PRELOAD="$AS_SHIM" "${envs[@]}" \
        "$FIXTURE_SERVER" -port "$PORT" -max-seconds 120 "$@"
    log=$(_as_log_arg "$T/$name.log" "$@")
    wait_for_log "$log" '^ready' 10 || _as_infra_fail "fixture server $name starts" "$log"
    _as_check_abi "$BG_PID" "fixture server $name"
}

# _as_log_arg DEFAULT ARGS...: the FILE of the last "-log FILE" in ARGS, else DEFAULT.
_as_log_arg() {
    local file=$1
    shift
    while [ $# -gt 1 ]; do
        [ "$1" = -log ] && file=$2
        shift
    done
    printf '%s\n' "$file"
}

# start_renewing_responder LEAF SECS [STATUSFILE]: a responder (fakeresponder,
# file mode) whose response for $AS_PKI/LEAF is valid SECS seconds and renewed
# every second, with the status (good, revoked, unknown) that STATUSFILE holds
# at each renewal (default good); FAKE_PORT and FAKE_LOG as start_fake.
start_renewing_responder() {
    local leaf=$1 secs=$2 statusfile=${3:-}
    mkresp_for "$leaf" "$T/renewed.der" -this -1 -next "$secs" ||
        _as_infra_fail "mkresp for $leaf"
    _as_renew() {
        local status
        while :; do
            status=good
            [ -n "$3" ] && status=$(cat "$3")
            mkresp_for "$1" "$T/renewed.tmp" -this -1 -next "$2" -status "$status" &&
                mv -f "$T/renewed.tmp" "$T/renewed.der"
            sleep 1
        done
    }
    start_bg renewer _as_renew "$leaf" "$secs" "$statusfile"
    start_fake renewing 0 file -file "$T/renewed.der"
}

# this_update_of PORT: the thisUpdate of the response stapled now (empty if none)
this_update_of() {
    staple_of "$1" >/dev/null
    grep -m1 'This Update' "$T/staple_of.out" | sed 's/^ *This Update: //'
}

# start_issuer_server PORT: serves copies of inter.der and inter.pem (from
# $ISSUER_DIR = $T/issuer-PORT) over HTTP, 404 otherwise; log in ISSUER_LOG.
start_issuer_server() {
    local port=$1
    ISSUER_DIR=$T/issuer-$port
    mkdir -p "$ISSUER_DIR"
    cp "$AS_PKI/inter.der" "$AS_PKI/inter.pem" "$ISSUER_DIR/"
    start_fake "issuer-$port" "$port" dir -file "$ISSUER_DIR"
    ISSUER_PID=$BG_PID
    ISSUER_LOG=$T/issuer-$port.requests
}

# ---------------------------------------------------------------- clients

# staple_of PORT [SNI] [S_CLIENT ARGS...]: prints good|revoked|unknown (the
# stapled Cert Status), none (no staple), or error (no handshake / odd staple).
# Full s_client output in $T/staple_of.out.  Empty SNI = no -servername.
staple_of() {
    local port=$1 sni='' st
    shift
    if [ $# -gt 0 ]; then sni=$1; shift; fi
    local args=(-connect "127.0.0.1:$port" -status)
    [ -n "$sni" ] && args+=(-servername "$sni")
    local rc=0
    timeout 10 openssl s_client "${args[@]}" "$@" </dev/null >"$T/staple_of.out" 2>&1 || rc=$?
    if grep -q '^OCSP response: no response sent' "$T/staple_of.out"; then
        echo none
    elif st=$(grep -m1 -oE 'Cert Status: [a-z]+' "$T/staple_of.out"); then
        echo "${st#Cert Status: }"
    else
        # Why, for a failing test's report (is): s_client's complaints.
        {
            echo "staple_of $port: no staple status; s_client exited $rc (124: timed out):"
            grep -m 5 -iE 'error|alert|errno|refused|OCSP|OOPS|closed' "$T/staple_of.out"
        } >"$T/staple_of.why"
        echo error
    fi
}

# staples_of PORT N [SNI]: the staples of N handshakes (staple_of), on one line.
staples_of() {
    local r='' i
    for ((i = 0; i < $2; i++)); do r="$r $(staple_of "$1" ${3:+"$3"})"; done
    echo "${r# }"
}

# wait_for_staple WANT PORT SECS [SNI] [ARGS...]: poll staple_of every 0.2 s
# until it prints WANT; 1 on timeout.  Last answer in STAPLE.
wait_for_staple() {
    local want=$1 port=$2 secs=$3
    shift 3
    local end=$(($(_as_now_ms) + $(_as_ms "$secs")))
    while :; do
        STAPLE=$(staple_of "$port" "$@")
        [ "$STAPLE" = "$want" ] && return 0
        [ "$(_as_now_ms)" -ge "$end" ] && break
        sleep 0.2
    done
    echo "wait_for_staple: wanted '$want' on port $port, last saw '$STAPLE' after $secs s" >&2
    [ "$STAPLE" = error ] && tail -n 20 "$T/staple_of.out" >&2
    return 1
}

# wait_for_any_staple PORT SECS NAME...: ask each SNI NAME in turn until one
# has a good staple; 1 on timeout.  For a server overloaded on purpose, where
# any one certificate may be backed off for a while after a run of failures.
wait_for_any_staple() {
    local port=$1 secs=$2 name
    shift 2
    local end=$(($(_as_now_ms) + $(_as_ms "$secs")))
    while [ "$(_as_now_ms)" -lt "$end" ]; do
        for name in "$@"; do
            [ "$(staple_of "$port" "$name")" = good ] && return 0
        done
        sleep 0.2
    done
    echo "wait_for_any_staple: no good staple on port $port for $* in $secs s" >&2
    return 1
}

# curl_verify PORT [NAME] [CURL ARGS...]: HTTPS GET https://NAME:PORT/ (NAME
# resolved to 127.0.0.1, default localhost) requiring a valid good staple
# (--cert-status) and a chain to root.pem.  Returns curl's exit status; body
# in $T/curl.body, curl's messages on stderr and in $T/curl.err.
curl_verify() {
    local port=$1 name=${2:-localhost} rc
    shift $(($# >= 2 ? 2 : 1))
    timeout 10 curl -sS --cert-status --cacert "$AS_PKI/root.pem" \
        --resolve "$name:$port:127.0.0.1" -o "$T/curl.body" "$@" \
        "https://$name:$port/" 2>"$T/curl.err"
    rc=$?
    cat "$T/curl.err" >&2
    return $rc
}

# gnutls_verify PORT [NAME]: a handshake by gnutls-cli, which verifies the
# certificate and, if one is stapled, the OCSP response (signature, that it
# is for this certificate, its nextUpdate, a revoked status); 0 if it
# accepts.  Its output in $T/gnutls.out.  NAME defaults to good.test.
gnutls_verify() {
    local port=$1 name=${2:-good.test}
    timeout 10 gnutls-cli --x509cafile "$AS_PKI/root.pem" -p "$port" --sni-hostname "$name" \
        --verify-hostname "$name" 127.0.0.1 </dev/null >"$T/gnutls.out" 2>&1
}

# stapled_status PORT LEAF [SNI]: take the staple with fixture_client and
# verify it for $AS_PKI/LEAF.pem against root.pem (resp_status): for servers
# that send no chain, where curl --cert-status cannot check a staple.
stapled_status() {
    local args=(-port "$1" -status -save-staple "$T/stapled.der")
    [ -n "${3:-}" ] && args+=(-servername "$3")
    rm -f "$T/stapled.der"
    timeout 10 "$FIXTURE_CLIENT" "${args[@]}" >"$T/stapled.out" 2>&1
    if [ -s "$T/stapled.der" ]; then resp_status "$T/stapled.der" "$2"; else echo none; fi
}

# ocsp_query PORT LEAF: ask the responder on PORT about $AS_PKI/LEAF.pem and
# verify the answer against root.pem; prints good|revoked|unknown|error.
ocsp_query() {
    local out=$T/ocsp_query.out st
    timeout 10 openssl ocsp -issuer "$AS_PKI/inter.pem" -cert "$AS_PKI/$2.pem" \
        -url "http://127.0.0.1:$1/" -CAfile "$AS_PKI/root.pem" >"$out" 2>&1
    if [ $? -eq 0 ] && grep -q '^Response verify OK' "$out" &&
        st=$(grep -m1 -oE ": (good|revoked|unknown)\$" "$out"); then
        echo "${st#: }"
    else
        echo error
    fi
}

# resp_status FILE LEAF: verify DER response FILE for $AS_PKI/LEAF.pem against
# root.pem; prints good|revoked|unknown, expired (times invalid), or invalid.
resp_status() {
    local out=$T/resp_status.out st
    openssl ocsp -respin "$1" -issuer "$AS_PKI/inter.pem" -cert "$AS_PKI/$2.pem" \
        -CAfile "$AS_PKI/root.pem" >"$out" 2>&1
    if [ $? -ne 0 ] || ! grep -q '^Response verify OK' "$out"; then
        echo invalid
    elif grep -q 'Status times invalid' "$out"; then
        echo expired
    elif st=$(grep -m1 -oE '^(good|revoked|unknown)$|: (good|revoked|unknown)$' "$out"); then
        echo "${st#: }"
    else
        echo invalid
    fi
}

# ---------------------------------------------------------------- misc

# count_requests LOG: number of requests in a fakeresponder -log (0 if none).
count_requests() {
    if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi
}

# requests_for LOG LEAF: number of requests in LOG about $AS_PKI/LEAF.pem (by
# its serial, which fakeresponder logs); 0 if none.
requests_for() {
    local s
    s=$(serial "$2")
    if [ -f "$1" ]; then awk -v s="$s" '$3 == s { n++ } END { print n + 0 }' "$1"; else echo 0; fi
}

# requests_at_least LOG N: LOG has N requests or more (for eventually).
requests_at_least() { [ "$(count_requests "$1")" -ge "$2" ]; }

# serial LEAF: the serial of $AS_PKI/LEAF.pem, as openssl x509 -serial
# prints it (hex, without "serial=").
serial() { openssl x509 -noout -serial -in "$AS_PKI/$1.pem" | sed 's/^serial=//'; }

# with_shim CMD...: run CMD with libautostaple preloaded.
# readable_shim DIR: copies of the library's two objects and of the fixture
# server in DIR (readable by all); READABLE_SHIM, $AS_SHIM with them in place
# of the build's, and READABLE_FIXTURE: for a process run as another user,
# who may not reach the checkout (a clone in a mode-700 home).
readable_shim() {
    install -d -m 0755 "$1"
    install -m 0644 "$AS_BUILD/libautostaple.so" "$AS_BUILD/libautostaple-core.so" "$1/"
    install -m 0755 "$FIXTURE_SERVER" "$1/"
    READABLE_SHIM=${AS_SHIM//$AS_BUILD\/libautostaple.so/$1/libautostaple.so}
    READABLE_FIXTURE=$1/fixture_server
}
with_shim() { LD_PRELOAD="$AS_SHIM${LD_PRELOAD:+:$LD_PRELOAD}" "$@"; }

# mkresp_for LEAF OUT [MKRESP ARGS...]: mkresp for $AS_PKI/LEAF.pem, issuer and
# signer inter unless ARGS override -signer/-key.
mkresp_for() {
    local leaf=$1 out=$2
    shift 2
    "$MKRESP" -cert "$AS_PKI/$leaf.pem" -issuer "$AS_PKI/inter.pem" \
        -signer "$AS_PKI/inter.pem" -key "$AS_PKI/inter.key" -out "$out" "$@"
}

# make_leaves N DIR: N server certificates host1.test .. hostN.test issued by
# inter, without AIA (point AUTOSTAPLE_RESPONDER at a responder), sharing the
# key DIR/key.pem: DIR/host<i>.pem.  Sets SNI_ARGS to the fixture server's
# "-sni hostI.test:CERT:KEY:CHAIN" arguments for all of them.
make_leaves() {
    local n=$1 dir=$2 i
    mkdir -p "$dir"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/key.pem" 2>/dev/null ||
        _as_infra_fail "make_leaves: key"
    SNI_ARGS=()
    for ((i = 1; i <= n; i++)); do
        openssl req -new -x509 -key "$dir/key.pem" -subj "/CN=host$i.test" -days 30 \
            -CA "$AS_PKI/inter.pem" -CAkey "$AS_PKI/inter.key" -set_serial $((90000 + i)) \
            -addext "subjectAltName=DNS:host$i.test" -addext "basicConstraints=critical,CA:FALSE" \
            -addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=serverAuth" \
            -out "$dir/host$i.pem" 2>/dev/null || _as_infra_fail "make_leaves: host$i"
        SNI_ARGS+=(-sni "host$i.test:$dir/host$i.pem:$dir/key.pem:$AS_PKI/inter.pem")
    done
}

# start_signing_responder NAME VALID [-flaky]: the fake responder in mode
# sign (every certificate good, valid VALID seconds from now, signed by the
# delegated ocsp-signer; with -flaky every second answer fails).
start_signing_responder() {
    local name=$1 valid=$2
    shift 2
    start_fake "$name" 0 sign -rsigner "$AS_PKI/ocsp-signer.pem" \
        -rkey "$AS_PKI/ocsp-signer.key" -valid "$valid" "$@"
}

# proc_usage PID: "FDS THREADS RSS_KB" of a running process.
proc_usage() {
    local fds threads rss
    fds=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    threads=$(awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
    echo "$fds ${threads:-0} ${rss:-0}"
}

# ocsp_field DER LABEL: a field of the DER OCSP response in file DER ("This
# Update", "Produced At", "Next Update"), as openssl prints it; empty if none.
ocsp_field() {
    openssl ocsp -respin "$1" -resp_text -noverify 2>/dev/null | sed -n "s/^ *$2: //p" | head -n1
}

# ocsp_time DER LABEL: that time as the status file writes it.
ocsp_time() {
    local t
    t=$(ocsp_field "$1" "$2")
    [ -n "$t" ] && date -u -d "$t" +%Y-%m-%dT%H:%M:%SZ
}

# status_field FILE KEY: the first value of KEY in a status file.
status_field() { sed -n "s/^$2: //p" "$1" | head -n1; }

# sanitized: true when the library under test is built with a sanitizer.
sanitized() { case "$AS_SHIM" in *libasan* | *libtsan*) return 0 ;; esac; return 1; }
# tsan: the library runs under ThreadSanitizer's runtime, preloaded into the
# server too, which then defers the signals the server is driven by (a
# master in sigsuspend never sees its SIGHUP, SIGUSR1 or SIGTERM).
tsan() { case "$AS_SHIM" in *libtsan*) return 0 ;; esac; return 1; }

# Under a sanitizer a server's first fetch (libcurl loaded, a responder that
# may spawn openssl) can outlast the default 2-s start-up wait, and the
# "first handshake is stapled" checks would measure the machine.  Tests about
# the wait itself set it.
if sanitized; then export AUTOSTAPLE_STARTUP_WAIT=${AUTOSTAPLE_STARTUP_WAIT:-8}; fi

# at_exit CMD...: run CMD (eval'ed) when the test ends, before processes are
# killed.  Tests must not set their own EXIT trap.
_as_atexit=()
at_exit() { _as_atexit+=("$*"); }

# ---------------------------------------------------------------- exit

_as_exit() {
    local rc=$? final=0
    set +e
    trap '' INT TERM HUP
    local c
    for c in "${_as_atexit[@]}"; do eval "$c"; done
    [ ${#_as_pids[@]} -gt 0 ] && _as_terminate "${_as_pids[@]}"
    if [ $_tap_skipall -eq 0 ]; then
        if [ $_tap_n -eq 0 ]; then
            echo "not ok 1 - test ran no assertions"
            [ -n "$_tap_plan" ] || echo "1..1"
            final=1
        elif [ -z "$_tap_plan" ]; then
            echo "1..$_tap_n"
            diag "test ended without plan or done_testing (exit status $rc)"
            final=255
        elif [ "$_tap_plan" != "$_tap_n" ]; then
            diag "planned $_tap_plan tests but ran $_tap_n"
            final=255
        fi
        if [ $_tap_failed -gt 0 ]; then
            diag "failed $_tap_failed of $_tap_n tests"
            final=1
        fi
        if [ $rc -ne 0 ] && [ $final -eq 0 ]; then
            diag "test script exited with status $rc"
            final=$rc
        fi
    fi
    if [ "${AS_KEEP_TMP:-0}" = 1 ] || { [ $final -ne 0 ] && [ "${AS_KEEP_TMP:-0}" = fail ]; }; then
        diag "kept $T"
    else
        rm -rf "$T"
    fi
    exit $final
}
trap _as_exit EXIT

# ---------------------------------------------------------------- OpenSSL 1.1
# The files in tests/openssl11/ (links to integration tests among them) run
# their servers linked against OpenSSL 1.1.1: Debian 11's openssl s_server,
# nginx and Apache, unpacked by mk/openssl11.sh into AS_OPENSSL11 and run
# with its libraries (LD_LIBRARY_PATH), and the fixture server and the
# verification tool built against them.  S_SERVER is the `openssl s_server`
# to run (Debian 12's otherwise), VERIFY_TOOL the verification tool
# (tests/unit/verify_tool.c) if not the OpenSSL 3 one.
S_SERVER=(openssl s_server)
case $0 in *tests/openssl11/*) AS_OPENSSL=1.1 ;; *) AS_OPENSSL=3 ;; esac
if [ "$AS_OPENSSL" = 1.1 ]; then
    AS_OPENSSL11=${AS_OPENSSL11:-$AS_SRC/build/debian11}
    [ -x "$AS_OPENSSL11/usr/bin/openssl" ] && [ -e "$AS_BUILD/libautostaple-core-1.1.so" ] ||
        skip_all "no OpenSSL 1.1 core or no Debian 11 programs (make openssl11, then make)"
    # Under a sanitizer, the files that take the 1.1 core through paths of
    # its own (binding, load paths, both ABIs, unversioned builds, private
    # copies): the core's other code is the same source the sanitized
    # OpenSSL 3 run covers, and the plain run takes the 1.1 servers through
    # all of it.
    case ${0##*/} in
    10-* | 20-* | 25-* | 26-* | 28-*) ;;
    *) sanitized && skip_all "under a sanitizer the 1.1 pass runs 10, 20, 25, 26 and 28: the plain run covers this file" ;;
    esac
    _as_multiarch=$(gcc -print-multiarch)
    export LD_LIBRARY_PATH=$AS_OPENSSL11/usr/lib/$_as_multiarch:$AS_OPENSSL11/lib/$_as_multiarch
    export NGINX_BIN=$AS_OPENSSL11/usr/sbin/nginx APACHE=$AS_OPENSSL11/usr/sbin/apache2
    export APACHE_MODULES=$AS_OPENSSL11/usr/lib/apache2/modules
    S_SERVER=("$AS_OPENSSL11/usr/bin/openssl" s_server)
    FIXTURE_SERVER=$AS_BUILD/tests/fixture_server-1.1
    VERIFY_TOOL=$AS_BUILD/tests/unit/verify_tool-1.1
fi

# _as_check_abi PID WHAT: in the OpenSSL 1.1 files, the server PID, if it
# still runs, must
# have libssl.so.1.1 and the 1.1 core mapped (and no OpenSSL 3 core): a
# test that ran a 3.x server there by mistake would prove nothing.
_as_check_abi() {
    [ "$AS_OPENSSL" = 1.1 ] || return 0
    local maps
    maps=$(cat "/proc/$1/maps" 2>/dev/null) || return 0 # gone (daemonized): not checked
    [[ $maps == *libssl.so.1.1* && $maps == *libautostaple-core-1.1.so* &&
        $maps != *libautostaple-core.so* ]] ||
        _as_infra_fail "$2 runs OpenSSL 1.1 with the 1.1 core (pid $1)" /dev/null
}
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
