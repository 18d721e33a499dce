#!/bin/bash
# A server that caps its per-connection processes' address space (vsftpd
# sets RLIMIT_AS to 200 MiB in each session's process, then maps its
# buffers) keeps working under the library: the shared cache reserves
# address space for the certificates learned, not for AUTOSTAPLE_MAX_CERTS,
# and never more than a small share of the room left under the limit.
. "$AS_SRC/tests/lib.sh"

# A sanitizer's runtime reserves terabytes of shadow memory: no address-space
# limit leaves it room.
sanitized && skip_all "a sanitizer's shadow memory cannot live under RLIMIT_AS"

start_ocsp_responder "$OCSP_PORT" "$AS_PKI/index.txt"

# vmsize PID: the process's mapped size, MiB
vmsize() { awk '$1 == "VmSize:" { print int($2 / 1024) }' "/proc/$1/status"; }

# The fixture forks a process per connection, which caps itself at 200 MiB
# and maps 16 MiB before the handshake ("500 OOPS: mmap" if it cannot).
PORT=$(free_port)
start_bg vsftpd-like with_shim "$FIXTURE_SERVER" -port "$PORT" -max-seconds 60 -fork-per-conn \
    -limit-as 200 -cert "$AS_PKI/leaf-rsa.pem" -key "$AS_PKI/leaf-rsa.key" -chain "$AS_PKI/chain.pem"
wait_for_log "$T/vsftpd-like.log" '^ready' 10 || _as_infra_fail "fixture" "$T/vsftpd-like.log"
is "$(staples_of "$PORT" 3)" "good good good" \
    "RLIMIT_AS 200 MiB in each connection's process: every handshake is served and stapled"
is "$(grep -c OOPS "$T/vsftpd-like.log")" 0 "no connection's process failed to map its buffers"
vsz=$(vmsize "$vsftpd_like_PID")
check "the server maps $vsz MiB with the library, under the 200 MiB its sessions allow" \
    test "$vsz" -lt 150

done_testing
