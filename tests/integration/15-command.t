#!/bin/bash
# autostaple [options] [--] COMMAND: options become AUTOSTAPLE_* variables,
# the library is preloaded (found in the build, in an installed tree, in the
# compiled-in LIBDIR) and a real server under it staples; programs that
# LD_PRELOAD cannot serve are refused (126), missing ones reported (127).
# shellcheck disable=SC2016 # $VARIABLES in single quotes are the child's
. "$AS_SRC/tests/lib.sh"

AUTOSTAPLE=$AS_BUILD/autostaple
LIB=$(realpath "$AS_BUILD/libautostaple.so")
for v in $(compgen -e | grep '^AUTOSTAPLE_'); do unset "$v"; done

# run NAME CMD...: stdout in OUT, stderr in ERR, exit status in RC.
run() {
    local name=$1
    shift
    timeout 30 "$@" >"$T/$name.out" 2>"$T/$name.err"
    RC=$?
    OUT=$(cat "$T/$name.out")
    ERR=$(cat "$T/$name.err")
}

# A sanitizer build of the command puts its runtime first (run.c).
runtime_re=''
sanitized && runtime_re='[^:]*lib[at]san[^:]*:'

# ---------------------------------------------------------------- options
# Every variable of the table has its option; each reaches the program.
vars=$(sed -n 's/^ *{ "\(AUTOSTAPLE_[A-Z_]*\)".*/\1/p' "$AS_SRC/shim/config.c")
run help "$AUTOSTAPLE" --help
is "$RC" 0 "--help: exit 0"
opts=()
for v in $vars; do
    o=--$(tr 'A-Z_' 'a-z-' <<<"${v#AUTOSTAPLE_}")
    opts+=("$o=value-of-$v")
done
missing=0
for v in $vars; do
    o=--$(tr 'A-Z_' 'a-z-' <<<"${v#AUTOSTAPLE_}")
    grep -qE "^  $o +VALUE  sets $v " "$T/help.out" || { missing=1; diag "--help lacks $o"; }
done
is "$missing" 0 "--help lists an option for each of the table's $(wc -w <<<"$vars") variables"
like "$OUT" "autostaple check CERTFILE" "--help: check's usage"
like "$OUT" "autostaple status \[--cache-dir DIR\] \[--all\] \[--prune \[--metrics-dir DIR\]\]" \
    "--help: status's options, all of them"
unlike "$OUT" "docs/" "--help: no path into the source tree (not there once installed)"
like "$OUT" "autostaple\(1\), libautostaple\(7\)" "--help: the manuals instead"
like "$OUT" "autostaple status" "--help: status's usage"
like "$OUT" "next to this program, then in /[^ ]*lib,"$'\n'"then in \.\./lib relative to this program" \
    "--help: where the library is looked for"
is "$ERR" "" "--help: nothing on stderr"

run all-options "$AUTOSTAPLE" "${opts[@]}" -- env
is "$RC" 0 "all options: the program ran"
wrong=0
for v in $vars; do
    grep -qx "$v=value-of-$v" "$T/all-options.out" || { wrong=1; diag "$v not set"; }
done
is "$wrong" 0 "each option --name=VALUE sets its variable, the value as given"
run separate "$AUTOSTAPLE" --cache-dir /nowhere --log-level debug --max-fetches 2 env
is "$(grep -E '^AUTOSTAPLE_' "$T/separate.out" | sort | tr '\n' ' ')" \
    "AUTOSTAPLE_CACHE_DIR=/nowhere AUTOSTAPLE_LOG_LEVEL=debug AUTOSTAPLE_MAX_FETCHES=2 " \
    "--name VALUE works too, and COMMAND needs no --"
like "$(grep '^LD_PRELOAD=' "$T/separate.out")" "^LD_PRELOAD=$runtime_re$LIB\$" "the library is preloaded"
run bad-value "$AUTOSTAPLE" --timeout=never -- sh -c 'echo "$AUTOSTAPLE_TIMEOUT"'
is "$RC/$OUT" "0/never" "a bad value is passed as given (the library warns)"

run stop "$AUTOSTAPLE" sh -c 'echo "$*|${AUTOSTAPLE_LOG_LEVEL-unset}"' sh --log-level debug
is "$OUT" "--log-level debug|unset" "options end at the first word that is not one"
run dashdash "$AUTOSTAPLE" --log-level info -- sh -c 'echo "$*|$AUTOSTAPLE_LOG_LEVEL"' sh --skew 1
is "$OUT" "--skew 1|info" "and at --"

# (A sanitizer build of the command needs its runtime first in its own
# LD_PRELOAD too.)
pre=$AS_BUILD/tests/loopback_bind.so
sanitized && pre=${AS_SHIM%%:*}:$pre
run prepend env LD_PRELOAD="$pre" "$AUTOSTAPLE" -- sh -c 'echo "$LD_PRELOAD"'
before=${OUT%%"$LIB"*}
like "$before" "^$runtime_re\$" "the library comes first in LD_PRELOAD"
is "${OUT#"$before"}" "$LIB:$pre" "prepended to an LD_PRELOAD already set"

run unknown "$AUTOSTAPLE" --cache-dri /x -- env
is "$RC/$ERR/$OUT" "2/autostaple: unknown option --cache-dri (autostaple --help lists them)/" \
    "an unknown option: exit 2, named, nothing run"
run unknown-eq "$AUTOSTAPLE" --bogus=1 env
is "$RC/$ERR" "2/autostaple: unknown option --bogus (autostaple --help lists them)" "--bogus=1: named without its value"
run short "$AUTOSTAPLE" -x env
is "$RC" 2 "-x: exit 2"
run novalue "$AUTOSTAPLE" --skew
is "$RC/$ERR" "2/autostaple: option --skew needs a value" "an option without its value: exit 2"
run status-novalue "$AUTOSTAPLE" status --cache-dir
like "$RC/$ERR" "^2/autostaple status: option --cache-dir needs a value" \
    "status --cache-dir without its value: said so, exit 2"
run status-eq "$AUTOSTAPLE" status --cache-dir="$T/nonexistent"
like "$RC/$ERR" "^1/autostaple status: cannot read $T/nonexistent" "status --cache-dir=DIR: taken"
run nocommand "$AUTOSTAPLE" --skew 5
like "$RC/$ERR" "^2/usage: autostaple" "no command: usage, exit 2"
run version "$AUTOSTAPLE" --version
is "$RC/$OUT" "0/autostaple $(sed -n 's/^VERSION *:= *//p' "$AS_SRC/Makefile")" "--version: the Makefile's VERSION"

# ---------------------------------------------------------------- a real server
start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"
PORT=$(free_port)
start_bg served "$AUTOSTAPLE" --log-level debug --timeout 5 -- openssl s_server \
    -accept "127.0.0.1:$PORT" -www -cert "$AS_PKI/leaf-rsa.pem" -key "$AS_PKI/leaf-rsa.key" \
    -cert_chain "$AS_PKI/chain.pem"
wait_for_port "$PORT" 10 || diag_file "$T/served.log"
check "s_server under autostaple: a good staple" wait_for_staple good "$PORT" 10
check "curl --cert-status accepts it" curl_verify "$PORT" good.test
check "--log-level debug reached the library" grep -q '^autostaple\[openssl [0-9]*\]: debug: ' "$T/served.log"
stop_bg served

# ---------------------------------------------------------------- refusals
# refused NAME REASON-ERE PROGRAM: exit 126, the reason on stderr, not run.
refused() {
    run "$1" "$AUTOSTAPLE" -- "$3" --version
    is "$RC" 126 "$1: exit 126"
    like "$ERR" "^autostaple: refusing to run $3: $2" "$1: says why"
    is "$OUT" "" "$1: not run"
}

cat >"$T/hello.c" <<'EOF'
#include <stdio.h>
int main(void) { puts("hello"); return 0; }
EOF
dynamic=$(type -P true)
if findmnt -no OPTIONS -T "$T" 2>/dev/null | grep -qw nosuid; then
    skip "$T is mounted nosuid: no setuid copy can be made there" 6
else
    cp "$dynamic" "$T/setuid-true" && chmod 4755 "$T/setuid-true"
    refused setuid "it is setuid: the dynamic loader ignores LD_PRELOAD" "$T/setuid-true"
    cp "$dynamic" "$T/setgid-true" && chmod 2755 "$T/setgid-true"
    refused setgid "it is setgid: the dynamic loader ignores LD_PRELOAD" "$T/setgid-true"
fi

if gcc -static -o "$T/static-hello" "$T/hello.c" 2>"$T/static.err" && [ "$("$T/static-hello")" = hello ]; then
    refused static "it is statically linked: there is no dynamic loader" "$T/static-hello"
else
    skip "gcc -static cannot link here ($(head -n1 "$T/static.err"))" 3
fi

# Programs that need libssl.so.1.1 and libssl.so.1.0.2: linked against
# stubs of those names.
mkdir -p "$T/old"
echo 'int SSL_library_init(void) { return 1; }' >"$T/old/stub.c"
cat >"$T/old/main.c" <<'EOF'
#include <stdio.h>
int SSL_library_init(void);
int main(void) { puts("served"); return SSL_library_init() ? 0 : 1; }
EOF
for v in 1.1 1.0.2; do
    if ! gcc -shared -fPIC -Wl,-soname,libssl.so.$v -o "$T/old/libssl.so.$v" "$T/old/stub.c" ||
        ! gcc -o "$T/old/server-$v" "$T/old/main.c" "$T/old/libssl.so.$v" -Wl,-rpath,"$T/old"; then
        fail "build a program needing libssl.so.$v"
    fi
    check "the OpenSSL $v program runs by itself" "$T/old/server-$v"
done
refused openssl-1.0 "it is linked against an OpenSSL older than 1\.1 \(libssl\.so\.1\.0\.2\)" \
    "$T/old/server-1.0.2"
# OpenSSL 1.1: run when the 1.1 core is beside the library, refused when not
# (tests/openssl11/15-command.t runs Debian 11's s_server so).
mkdir -p "$T/no11"
cp "$AUTOSTAPLE" "$AS_BUILD/libautostaple.so" "$AS_BUILD/libautostaple-core.so" "$T/no11/"
run no11 "$T/no11/autostaple" -- "$T/old/server-1.1"
is "$RC/$OUT" "126/" "openssl-1.1 without the 1.1 core: exit 126, not run"
like "$ERR" "^autostaple: refusing to run $T/old/server-1.1: it is linked against OpenSSL 1\.1 \(libssl\.so\.1\.1\), and this installation has no libautostaple-core-1\.1\.so beside $T/no11/libautostaple\.so" \
    "openssl-1.1 without the 1.1 core: says why"
if [ -e "$AS_BUILD/libautostaple-core-1.1.so" ]; then
    run openssl-1.1 "$AUTOSTAPLE" -- "$T/old/server-1.1"
    is "$RC/$OUT" "0/served" "openssl-1.1 with the 1.1 core: run"
else
    skip "no OpenSSL 1.1 core in this build (make openssl11)"
fi

# A program with OpenSSL built in: it defines SSL_CTX_new itself.
cat >"$T/builtin.c" <<'EOF'
#include <stddef.h>
void *SSL_CTX_new(const void *method) { return (void *)method; }
int main(void) { return SSL_CTX_new(NULL) != NULL; }
EOF
gcc -o "$T/builtin" "$T/builtin.c" || fail "build a program defining SSL_CTX_new"
refused builtin "it has OpenSSL built in \(it defines SSL_CTX_new and uses neither libssl\.so\.3 nor libssl\.so\.1\.1\)" "$T/builtin"

# Allowed: scripts, and programs that may load libssl later.
printf '#!/bin/sh\necho "script $AUTOSTAPLE_SKEW"\n' >"$T/script.sh" && chmod 755 "$T/script.sh"
run script "$AUTOSTAPLE" --skew 7 "$T/script.sh"
is "$RC/$OUT" "0/script 7" "a #! script is run"
gcc -o "$T/hello" "$T/hello.c"
run hello "$AUTOSTAPLE" "$T/hello"
is "$RC/$OUT" "0/hello" "a program not linked with libssl is run"
run path-lookup env PATH="$T:/usr/bin:/bin" "$AUTOSTAPLE" builtin
is "$RC" 126 "COMMAND is resolved through PATH before it is checked"

run notfound "$AUTOSTAPLE" -- no-such-program-autostaple
is "$RC/$ERR" "127/autostaple: no-such-program-autostaple: command not found" "command not found: exit 127"
run notfound-path "$AUTOSTAPLE" "$T/nothing-here"
is "$RC/$ERR" "127/autostaple: $T/nothing-here: No such file or directory" "a path that is not there: exit 127"
# Found but not runnable: 126 as a shell says, with the real reason.
run notexec "$AUTOSTAPLE" -- /etc/passwd
like "$RC/$ERR" "^126/autostaple: /etc/passwd: not executable \(Permission denied\)$" \
    "a file that is not executable: exit 126, said so"
run directory "$AUTOSTAPLE" -- "$T"
is "$RC/$ERR" "126/autostaple: $T: is a directory" "a directory: exit 126, said so"

# ---------------------------------------------------------------- installed
# bin/../lib: the command copied with the library beside bin/.
mkdir -p "$T/inst/bin" "$T/inst/lib"
cp "$AUTOSTAPLE" "$T/inst/bin/" && cp "$AS_BUILD/libautostaple.so" "$AS_BUILD/libautostaple-core.so" "$T/inst/lib/"
if [ -e "$(sed -n 's/^.*then in \(\/[^ ]*\),$/\1/p' "$T/help.out")/libautostaple.so" ]; then
    skip "a library is installed in the compiled-in LIBDIR, which comes before ../lib" 2
else
    run installed "$T/inst/bin/autostaple" -- sh -c 'echo "$LD_PRELOAD"'
    like "$OUT" "^$runtime_re$T/inst/lib/libautostaple\.so\$" "installed as bin/ and lib/: ../lib/libautostaple.so"
    PORT=$(free_port)
    start_bg installed-server "$T/inst/bin/autostaple" -- openssl s_server -accept "127.0.0.1:$PORT" \
        -www -cert "$AS_PKI/leaf-rsa.pem" -key "$AS_PKI/leaf-rsa.key" -cert_chain "$AS_PKI/chain.pem"
    wait_for_port "$PORT" 10
    check "installed: the server staples (the core found beside the library)" wait_for_staple good "$PORT" 10
    stop_bg installed-server
fi
rm "$T/inst/lib/libautostaple.so"
run no-library "$T/inst/bin/autostaple" -- true
like "$RC/$ERR" "^1/autostaple: cannot find libautostaple\.so next to this program, in /" "no library anywhere: said so"

# make install with a LIBDIR that is not ../lib: the command looks there.
# Built from a copy of this build (only the command is linked again).
mkdir -p "$T/b"
cp -a "$AS_BUILD/obj" "$AS_BUILD/libascore.a" "$AS_BUILD/libautostaple.so" "$AS_BUILD/libautostaple-core.so" "$T/b/"
[ -e "$AS_BUILD/libautostaple-core-1.1.so" ] && cp -a "$AS_BUILD/obj-1.1" "$AS_BUILD/libautostaple-core-1.1.so" "$T/b/"
if make -C "$AS_SRC" install BUILD="$T/b" SANITIZE="${SANITIZE:-}" PREFIX="$T/prefix" \
    LIBDIR="$T/prefix/lib/multiarch" >"$T/install.log" 2>&1; then
    run libdir "$T/prefix/bin/autostaple" -- sh -c 'echo "$LD_PRELOAD"'
    like "$OUT" "^$runtime_re$T/prefix/lib/multiarch/libautostaple\.so\$" "make install LIBDIR=...: found there"
    check "the command was linked with that LIBDIR" grep -q -- "-DAS_LIBDIR=.*$T/prefix/lib/multiarch" "$T/install.log"
    check_fails "and nothing else was built again" grep -q -- ' -c ' "$T/install.log"
else
    fail "make install into $T/prefix"
    diag_file "$T/install.log"
fi
done_testing
