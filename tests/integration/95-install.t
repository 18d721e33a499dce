#!/bin/bash
# Issue 6: `make install` lays out exactly the expected files, with their
# modes, under DESTDIR and PREFIX (/usr, then /opt/x); the installed command
# runs an unmodified s_server under the installed library, and a client that
# verifies gets a good staple; `make uninstall` removes exactly what install
# wrote.  The man pages render without a warning, libautostaple(7) documents
# every variable of shim/config.c's table, and autostaple(1) every option
# and exit status.
. "$AS_SRC/tests/lib.sh"

# Install from a copy of the suite's build, timestamps kept, so that the
# suite's own build is never touched: only the command is rebuilt in the
# copy, since LIBDIR (compiled into it) differs.  The make that runs the
# suite passes its flags down: drop them, except CFLAGS and SANITIZE, which
# the environment carries and which the copy was built with.
build=$T/build
mkdir -p "$build"
cp -pR "$AS_BUILD/obj" "$AS_BUILD/libascore.a" "$AS_BUILD/libautostaple.so" \
    "$AS_BUILD/libautostaple-core.so" "$AS_BUILD/autostaple" "$build/" ||
    _as_infra_fail "copy the build"
cp -p "$AS_BUILD/libdir" "$build/" 2>/dev/null
# The OpenSSL 1.1 core, if this build has it: installed beside the other.
core11=
if [ -e "$AS_BUILD/libautostaple-core-1.1.so" ]; then
    cp -pR "$AS_BUILD/obj-1.1" "$AS_BUILD/libautostaple-core-1.1.so" "$build/" ||
        _as_infra_fail "copy the OpenSSL 1.1 core"
    core11=libautostaple-core-1.1.so
fi
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$AS_SRC" BUILD="$build" "$@"; }

# Under a sanitizer the installed library needs its runtime loaded first;
# the command puts the library in front of an LD_PRELOAD already set.
runtime=
if sanitized; then
    runtime=${AS_SHIM%%:*}
    export ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0
fi

# The files install must write, with their modes, below PREFIX.
expected() {
    local p=${1#/}
    printf '%s\n' "755 $p/bin/autostaple" "644 $p/lib/libautostaple.so" \
        "644 $p/lib/libautostaple-core.so" ${core11:+"644 $p/lib/$core11"} \
        "644 $p/share/man/man1/autostaple.1" \
        "644 $p/share/man/man7/libautostaple.7" "644 $p/share/doc/autostaple/README.md" \
        "644 $p/share/doc/autostaple/configuration.md" "644 $p/share/doc/autostaple/PERFORMANCE.md" \
        "644 $p/share/doc/autostaple/design.md" "644 $p/share/doc/autostaple/deploying.md" | sort
}
files_in() { (cd "$1" && find . ! -type d -printf '%m %P\n' | sort); }
dirs_in() { (cd "$1" && find . -type d -printf '%P\n' | sort); }

start_openssl_ocsp "$OCSP_PORT" "$AS_PKI/index.txt"

for prefix in /usr /opt/x; do
    root=$T/root${prefix//\//-}
    # Somebody else's files, already there: install and uninstall leave them.
    mkdir -p "$root$prefix/lib" "$root$prefix/share/doc/other"
    echo keep >"$root$prefix/lib/other.so"
    echo keep >"$root$prefix/share/doc/other/README"
    before=$(files_in "$root") before_dirs=$(dirs_in "$root")
    built=$(md5sum <"$build/autostaple")

    check "$prefix: make install DESTDIR=... PREFIX=$prefix succeeds" \
        mk install DESTDIR="$root" PREFIX="$prefix"
    is "$(md5sum <"$build/autostaple")" "$built" "$prefix: the build's own command is left as it was"
    log=$T/install${prefix//\//-}.log
    cp "$T/.check.out" "$log"
    is "$(comm -13 <(echo "$before") <(files_in "$root"))" "$(expected "$prefix")" \
        "$prefix: exactly the expected files, with their modes"
    check "$prefix: the command is built for LIBDIR $prefix/lib" \
        grep -qF -- "-DAS_LIBDIR=\\\"$prefix/lib\\\"" "$log"
    check "$prefix: the installed library is the suite's, not a rebuild" \
        cmp "$AS_BUILD/libautostaple.so" "$root$prefix/lib/libautostaple.so"
    check "$prefix: the installed core is the suite's" \
        cmp "$AS_BUILD/libautostaple-core.so" "$root$prefix/lib/libautostaple-core.so"
    page=$(MANWIDTH=200 man -l "$root$prefix/share/man/man7/libautostaple.7" 2>/dev/null)
    like "$page" "LD_PRELOAD=$prefix/lib/libautostaple\.so" \
        "$prefix: the man page names the installed library"
    like "$page" "$prefix/share/doc/autostaple/deploying\.md" "$prefix: and the installed docs"
    unlike "$page" "/usr/local" "$prefix: and nothing of the default prefix"
    broken=$(cd "$root$prefix/share/doc/autostaple" &&
        grep -oh '](\([^)#h][^)#]*\)' ./*.md | sed 's/^](//' | sort -u |
        while read -r f; do [ -f "$f" ] || echo "$f"; done)
    is "$broken" "" "$prefix: every link between the installed docs reaches an installed file"
    check "$prefix: man finds libautostaple(7) in MANDIR" \
        test "$(man -M "$root$prefix/share/man" -w 7 libautostaple 2>/dev/null)" = \
        "$root$prefix/share/man/man7/libautostaple.7"

    # The installed command, from the DESTDIR tree, runs a real server: it
    # finds the library in its ../lib, and the server staples.
    PORT=$(free_port)
    name=server${prefix//\//-}
    start_bg "$name" env ${runtime:+LD_PRELOAD="$runtime"} AUTOSTAPLE_STARTUP_WAIT=5 \
        "$root$prefix/bin/autostaple" -- \
        openssl s_server -accept "127.0.0.1:$PORT" -www \
        -cert "$AS_PKI/leaf-rsa.pem" -key "$AS_PKI/leaf-rsa.key" -cert_chain "$AS_PKI/chain.pem"
    pid=$BG_PID
    wait_for_port "$PORT" 10 || diag_file "$T/$name.log"
    check "$prefix: the installed command runs s_server, which staples good" \
        wait_for_staple good "$PORT" 10
    check "$prefix: curl --cert-status verifies the staple" curl_verify "$PORT" good.test
    maps=$(cat "/proc/$pid/maps" 2>/dev/null)
    like "$maps" "$root$prefix/lib/libautostaple\.so" "$prefix: the server maps the installed library"
    like "$maps" "$root$prefix/lib/libautostaple-core\.so" "$prefix: and the installed core"
    unlike "$maps" "$AS_BUILD/" "$prefix: and nothing of the build tree"
    stop_bg "$name"

    check "$prefix: make uninstall with the same variables succeeds" \
        mk uninstall DESTDIR="$root" PREFIX="$prefix"
    is "$(files_in "$root")" "$before" "$prefix: uninstall removes every installed file and nothing else"
    is "$(dirs_in "$root")" "$before_dirs" "$prefix: and the directories install made"
    check_fails "$prefix: and the doc directory" test -e "$root$prefix/share/doc/autostaple"
    check "$prefix: but not the directories others use" test -d "$root$prefix/share/doc/other"
done

# A doc directory that holds somebody else's file stays, with the file.
root=$T/root-keep
mk install DESTDIR="$root" PREFIX=/usr >"$T/keep.log" 2>&1 || diag_file "$T/keep.log"
echo keep >"$root/usr/share/doc/autostaple/local-notes"
check "uninstall with a foreign file in the doc directory succeeds" mk uninstall DESTDIR="$root" PREFIX=/usr
is "$(files_in "$root")" "644 usr/share/doc/autostaple/local-notes" "and leaves that file, and only it"

# The man pages render without a warning, as man-db and groff see them.
for page in "$AS_SRC/docs/man/autostaple.1" "$AS_SRC/docs/man/libautostaple.7"; do
    name=${page##*/}
    LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=all -l "$page" >"$T/$name.txt" 2>"$T/$name.man-err"
    is "$(cat "$T/$name.man-err")" "" "$name: man --warnings=all -l prints no warning"
    check "$name: and renders" grep -q '^SEE ALSO' "$T/$name.txt"
    # A page with tables says so on its first line ('\" t), which man(1)
    # reads to run tbl; groff is told the same (groff 1.23 warns about a
    # table it was not told to preprocess).
    tbl=''
    [ "$(head -c 5 "$page")" = "'\\\" t" ] && tbl=-t
    is "$(groff $tbl -man -ww -z "$page" 2>&1)" "" \
        "$name: groff ${tbl:+$tbl }-man -ww -z prints no warning"
done

# section NAME FILE: the lines of a rendered page's section NAME.
section() { awk -v s="$1" '/^[A-Z]/ { on = ($0 == s); next } on' "$2"; }

# Every variable of shim/config.c's table is in libautostaple(7)'s
# ENVIRONMENT section (as a tag of its own), and has its option in
# autostaple(1): AUTOSTAPLE_CACHE_DIR -> --cache-dir.
mapfile -t VARS < <(sed -n 's/^ *{ "\(AUTOSTAPLE_[A-Z_]*\)", [A-Z]*, F([a-z_]*), .*/\1/p' \
    "$AS_SRC/shim/config.c")
[ ${#VARS[@]} -ge 15 ] || _as_infra_fail "read the variables of shim/config.c (${#VARS[@]})"
env_section=$(section ENVIRONMENT "$T/libautostaple.7.txt")
opt_section=$(section OPTIONS "$T/autostaple.1.txt")
missing=() nooption=()
for v in "${VARS[@]}"; do
    grep -qx "       $v" <<<"$env_section" || missing+=("$v")
    opt=${v#AUTOSTAPLE_}
    opt=--$(tr 'A-Z_' 'a-z-' <<<"$opt")
    grep -qE "^ +$opt [A-Z]+ +$v\$" <<<"$opt_section" || nooption+=("$v")
done
is "${missing[*]}" "" "libautostaple(7) ENVIRONMENT has each of the ${#VARS[@]} variables of shim/config.c"
is "${nooption[*]}" "" "autostaple(1) OPTIONS has each one's long option"

# Every exit status of the specification, in its subsection of autostaple(1).
codes=$(section "EXIT STATUS" "$T/autostaple.1.txt" |
    awk '/^   [^ ]/ { sub(/^ +/, ""); sub_ = $0; next } /^       [0-9]+ / { print sub_ ": " $1 }')
for want in "Running a program: 2" "Running a program: 126" "Running a program: 127" \
    "autostaple check: 0" "autostaple check: 1" "autostaple check: 2" "autostaple check: 3" \
    "autostaple check: 4" "autostaple status: 0" "autostaple status: 1" "autostaple status: 2"; do
    check "autostaple(1) EXIT STATUS: $want" grep -qx "$want" <<<"$codes"
done
done_testing
