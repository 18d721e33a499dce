#!/bin/bash
# bench/handshakes.sh: what stapling costs a handshake, measured side by side.
#
# Five servers run at once on 127.0.0.1, each with one worker, the same
# ECDSA P-256 certificate and chain (bench/pki.sh; BENCH_KEY=rsa for RSA
# 2048):
#   nginx-none     nginx, no stapling
#   nginx-native   nginx, its own stapling (ssl_stapling on, ssl_stapling_file
#                  with a valid response made by mkresp)
#   nginx-shim     nginx, its stapling off, libautostaple preloaded
#   fixture-none   tests/servers/fixture_server -threads 2
#   fixture-shim   the same, libautostaple preloaded
# The shim fetches from the fake responder (mode sign, on loopback).  Each
# configuration is first checked with bench/hsbench -verify: every handshake
# of the stapling ones must carry a valid staple, none of the others.
#
# Then rounds: in each, every configuration in turn (the order rotated from
# round to round) gets hsbench for BENCH_SECONDS (after BENCH_WARMUP s), with
# BENCH_THREADS client threads, full handshakes (no resumption), each asking
# for status.  Many short rounds rather than a few long ones: the load of
# others on the machine changes from second to second.  Per run: handshakes
# per second, and the server's CPU time per handshake (all its threads, from
# /proc/PID/task/*/schedstat), from which its capacity: handshakes per
# second of one busy core.  Ratios are taken within a round, then the median
# over rounds, with the quartiles, min and max.
#
# Environment: BUILD, BENCH_OUT, BENCH_QUICK=1 (8 rounds), BENCH_ROUNDS
# (default 30), BENCH_SECONDS (0.6), BENCH_WARMUP (0.1), BENCH_THREADS (2),
# BENCH_TLS (1.3), BENCH_KEY (ec).  Writes $BENCH_OUT/handshakes.tsv (one
# line a run) and handshakes.md (the tables).
set -eu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

rounds=${BENCH_ROUNDS:-30} secs=${BENCH_SECONDS:-0.6}
if [ "$QUICK" = 1 ]; then rounds=${BENCH_ROUNDS:-8}; fi
threads=${BENCH_THREADS:-2} tls=${BENCH_TLS:-1.3} key=${BENCH_KEY:-ec} warm=${BENCH_WARMUP:-0.1}
HSBENCH=$BUILD/bench/hsbench
for f in "$HSBENCH" "$SHIM" "$BUILD/tests/fakeresponder" "$BUILD/tests/mkresp" \
    "$BUILD/tests/fixture_server"; do
    [ -x "$f" ] || [ -f "$f" ] || die "$f is missing: make bench-tools"
done
[ -x /usr/sbin/nginx ] || die "nginx is missing: apt-get install nginx-light"

pki=$W/pki
ocsp_port=$(free_port)
"$ROOT/bench/pki.sh" "$pki" "$ocsp_port" "$key" >/dev/null 2>&1 || die "bench/pki.sh failed"
start_responder "$pki" "$ocsp_port"
"$BUILD/tests/mkresp" -cert "$pki/leaf.pem" -issuer "$pki/inter.pem" -signer "$pki/inter.pem" \
    -key "$pki/inter.key" -this -60 -next 7200 -out "$pki/leaf.ocsp" ||
    die "mkresp failed"

declare -A PORT PIDS STAPLE
configs=(nginx-none nginx-native nginx-shim fixture-none fixture-shim)
for c in "${configs[@]}"; do
    port=$(free_port)
    PORT[$c]=$port
    pre=()
    case $c in *-shim) pre=(env "LD_PRELOAD=$SHIM") ;; esac
    case $c in
    nginx-*)
        nginx_conf "$W/$c" "$port" "${c#nginx-}" "$pki"
        start_bg "$c" "${pre[@]}" /usr/sbin/nginx -c "$W/$c/nginx.conf" -p "$W/$c"
        ;;
    fixture-*)
        start_bg "$c" "${pre[@]}" "$BUILD/tests/fixture_server" -port "$port" \
            -cert "$pki/leaf.pem" -key "$pki/leaf.key" -chain "$pki/chain.pem" -threads 2 \
            -max-seconds 3600
        ;;
    esac
    PIDS[$c]=$BG_PID
done
for c in "${configs[@]}"; do
    wait_for_port "${PORT[$c]}" 10 || die "$c does not listen: $(cat "$W/$c.log")"
    if [[ $c == nginx-* ]]; then
        workers=$(pgrep -P "${PIDS[$c]}" | tr '\n' ' ')
        [ -n "$workers" ] || die "$c has no worker"
        PIDS[$c]="${PIDS[$c]} $workers"
    fi
done

# Check: stapling configurations staple a valid response on every
# handshake (the shim's first fetch may take a moment), the others never.
for c in "${configs[@]}"; do
    want=0
    case $c in *-native | *-shim) want=20 ;; esac
    for ((i = 0; i < 50; i++)); do
        line=$("$HSBENCH" -port "${PORT[$c]}" -count 20 -threads 1 -tls "$tls" \
            -verify "$pki/root.pem" -issuer "$pki/inter.pem" 2>&1) || true
        [ "$(field "$line" stapled)" = "$want" ] && [ "$(field "$line" bad)" = 0 ] &&
            [ "$(field "$line" failed)" = 0 ] && break
        sleep 0.2
    done
    [ "$(field "$line" stapled)" = "$want" ] || die "$c: wanted $want of 20 stapled: $line"
    say "$c checked: $line"
    STAPLE[$c]=$(field "$line" staple_bytes)
done

tsv=$OUT/handshakes.tsv
printf 'round\tconfig\thandshakes\tstapled\tfailed\trate\tserver_us_per_hs\tclient_us_per_hs\n' >"$tsv"
say "$rounds rounds of ${#configs[@]} configurations, $secs s each, $threads client threads, TLS $tls, $key key"
for ((r = 1; r <= rounds; r++)); do
    n=${#configs[@]}
    for ((k = 0; k < n; k++)); do
        c=${configs[$(((k + r) % n))]}
        cpu=()
        for p in ${PIDS[$c]}; do cpu+=(-cpu "$p"); done
        line=$("$HSBENCH" -port "${PORT[$c]}" -seconds "$secs" -warmup "$warm" -threads "$threads" \
            -tls "$tls" "${cpu[@]}" 2>"$W/hsbench.err") || die "$c: $line $(cat "$W/hsbench.err")"
        hs=$(field "$line" handshakes) st=$(field "$line" stapled)
        case $c in *-none) [ "$st" = 0 ] ;; *) [ "$st" = "$hs" ] ;; esac ||
            die "$c: $st of $hs handshakes stapled"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$c" "$hs" "$st" "$(field "$line" failed)" \
            "$(field "$line" rate)" "$(field "$line" server_us_per_hs)" \
            "$(field "$line" client_us_per_hs)" >>"$tsv"
        say "round $r $c: $line"
    done
done

# col CONFIG COLUMN: the values of one column for one configuration, by round.
col() { awk -F'\t' -v c="$1" -v k="$2" 'NR > 1 && $2 == c { print $k }' "$tsv"; }
# ratios A B COLUMN [inverse]: per round A/B (or B/A), then "median min max".
ratios() {
    paste <(col "$1" "$3") <(col "$2" "$3") |
        awk -v inv="${4:-}" '{ print inv ? $2 / $1 : $1 / $2 }' | stats quartiles
}
row() { # row LABEL A B TARGET
    local r c
    r=$(ratios "$2" "$3" 6 | awk '{ printf "%s [%s-%s] (%s-%s)", $1, $4, $5, $2, $3 }')
    c=$(ratios "$2" "$3" 7 inv | awk '{ printf "%s [%s-%s] (%s-%s)", $1, $4, $5, $2, $3 }')
    printf '| %s | %s | %s | %s |\n' "$1" "$4" "$r" "$c"
}
{
    echo "Handshakes: TLS $tls, $key leaf key, $threads client threads, $rounds rounds of $secs s per configuration."
    echo
    machine
    echo
    echo "| configuration | handshakes/s, median (min-max) | server CPU us per handshake, median (min-max) | client CPU us per handshake | staple bytes |"
    echo "|---|---|---|---|---|"
    for c in "${configs[@]}"; do
        read -r a alo ahi <<<"$(col "$c" 6 | stats)"
        read -r s slo shi <<<"$(col "$c" 7 | stats)"
        read -r u _ _ <<<"$(col "$c" 8 | stats)"
        printf '| %s | %.0f (%.0f-%.0f) | %.1f (%.1f-%.1f) | %.0f | %s |\n' "$c" "$a" "$alo" "$ahi" \
            "$s" "$slo" "$shi" "$u" "${STAPLE[$c]}"
    done
    echo
    echo "| ratio (same round) | target | handshakes/s: median [quartiles] (min-max) | server capacity (handshakes per CPU second): median [quartiles] (min-max) |"
    echo "|---|---|---|---|"
    row "nginx shim / nginx native stapling" nginx-shim nginx-native ">= 0.98"
    row "nginx shim / nginx no stapling" nginx-shim nginx-none ">= 0.97"
    row "nginx native stapling / nginx no stapling" nginx-native nginx-none "-"
    row "fixture shim / fixture no stapling" fixture-shim fixture-none ">= 0.97"
} >"$OUT/handshakes.md"
cat "$OUT/handshakes.md"
