#!/bin/sh
# bench/pki.sh DIR OCSP_PORT [ec|rsa]
#
# A small PKI for the benchmarks, in DIR: root and inter (ECDSA P-256),
# leaf.key, leaf.pem (CN localhost, issued by inter, its AIA naming the OCSP
# responder http://127.0.0.1:OCSP_PORT/), leaf-full.pem (leaf then inter,
# for nginx's ssl_certificate), chain.pem (inter).  The leaf's key is ECDSA
# P-256 by default (cheap handshakes, so that what stapling costs shows), or
# RSA 2048 with "rsa".  Takes well under a second.
set -eu
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: $0 DIR OCSP_PORT [ec|rsa]" >&2
    exit 2
fi
dir=$1 port=$2 kind=${3:-ec}
mkdir -p "$dir"
cd "$dir"
export OPENSSL_CONF=/dev/null

ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
cat >ext.cnf <<EOF
[req]
distinguished_name = dn
[dn]
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[inter]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
authorityInfoAccess = OCSP;URI:http://127.0.0.1:$port/
EOF

ec root.key
ec inter.key
case $kind in
ec) ec leaf.key ;;
rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out leaf.key 2>/dev/null ;;
*) echo "$0: ec or rsa, not $kind" >&2; exit 2 ;;
esac
openssl req -new -x509 -key root.key -subj "/CN=autostaple bench root" -days 30 \
    -config ext.cnf -extensions root -out root.pem
openssl req -new -key inter.key -subj "/CN=autostaple bench intermediate" -config ext.cnf \
    -out inter.csr
openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key -set_serial 2 -days 30 \
    -extfile ext.cnf -extensions inter -out inter.pem 2>/dev/null
openssl req -new -key leaf.key -subj "/CN=localhost" -config ext.cnf -out leaf.csr
openssl x509 -req -in leaf.csr -CA inter.pem -CAkey inter.key -set_serial 3 -days 30 \
    -extfile ext.cnf -extensions leaf -out leaf.pem 2>/dev/null
cp inter.pem chain.pem
cat leaf.pem inter.pem >leaf-full.pem
rm -f inter.csr leaf.csr
openssl verify -CAfile root.pem -untrusted inter.pem leaf.pem >/dev/null
