#!/bin/bash
# Usage: mkpki.sh OUTDIR OCSP_PORT ISSUER_PORT
# Generates the autostaple test PKI into OUTDIR (PEM unless .der):
#   root, inter (+inter.der), ocsp-signer, ocsp-noeku, rogue-ca, rogue-signer
#   (.pem/.key); leaves leaf-{rsa,ec,sni,revoked,unknown,noaia,pemissuer,client}
#   (leaf-client: EKU clientAuth only, a TLS client's certificate)
#   (.pem/.key/-full.pem); ca-bundle.pem root-only.pem chain.pem;
#   index.txt, index-all-good.txt, index-all-revoked.txt (+ .attr) for
#   `openssl ocsp -index` (leaf-unknown is never listed); ports.env.
# Serials are random per run, so two PKIs never share a CertID.
set -eu

if [ $# -ne 3 ]; then
    echo "usage: $0 OUTDIR OCSP_PORT ISSUER_PORT" >&2
    exit 2
fi
OUT=$1 OCSP_PORT=$2 ISSUER_PORT=$3
case "$OCSP_PORT$ISSUER_PORT" in *[!0-9]*) echo "$0: ports must be numeric" >&2; exit 2;; esac

mkdir -p "$OUT"
cd "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mkpki.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export OPENSSL_CONF=/dev/null   # no system config surprises

declare -A SEEN_SERIAL=()
new_serial() {                   # 8-byte positive serial, unique in this PKI
    local s
    while :; do
        s=1$(openssl rand -hex 8 | cut -c2-16 | tr a-f A-F)
        [ -z "${SEEN_SERIAL[$s]:-}" ] && break
    done
    SEEN_SERIAL[$s]=1
    echo "0x$s"
}

genrsa()  { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }
rsa_key() { if [ -s "$WORK/$1" ]; then mv "$WORK/$1" "$1"; else genrsa "$1"; fi; }   # pregenerated?
ec_key()  { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# Extension file shared by every issued cert; sections selected per cert.
cat > "$WORK/ext.cnf" <<EOC
[ca_root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ca_inter]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ocsp_signer]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ocsp_ca_signer]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, keyCertSign
extendedKeyUsage = OCSPSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ocsp_noeku]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOC

# add_leaf_section SECTION DNSNAME AIA_ISSUER_FILE|"" KEYUSAGE [EKU [EXTRA]]
# ("" = no AIA at all; EXTRA: one more extension line)
add_leaf_section() {
    {
        echo "[$1]"
        echo "basicConstraints = critical, CA:FALSE"
        echo "keyUsage = critical, $4"
        echo "extendedKeyUsage = ${5:-serverAuth}"
        echo "subjectAltName = DNS:localhost, IP:127.0.0.1, DNS:$2"
        echo "subjectKeyIdentifier = hash"
        echo "authorityKeyIdentifier = keyid:always"
        if [ -n "$3" ]; then
            echo "authorityInfoAccess = OCSP;URI:http://127.0.0.1:$OCSP_PORT/, caIssuers;URI:http://127.0.0.1:$ISSUER_PORT/$3"
        fi
        if [ -n "${6:-}" ]; then echo "$6"; fi
        echo
    } >> "$WORK/ext.cnf"
}

# issue NAME SUBJECT SECTION CA_NAME DAYS  (NAME.key must exist)
issue() {
    openssl req -new -key "$1.key" -subj "$2" -out "$WORK/$1.csr"
    openssl x509 -req -in "$WORK/$1.csr" -CA "$4.pem" -CAkey "$4.key" \
        -set_serial "$(new_serial)" -days "$5" -sha256 \
        -extfile "$WORK/ext.cnf" -extensions "$3" -out "$1.pem" 2>/dev/null
}

# self-signed CA: selfsign NAME SUBJECT
selfsign() {
    rsa_key "$1.key"
    openssl req -new -x509 -key "$1.key" -subj "$2" -days 3650 -sha256 \
        -set_serial "$(new_serial)" \
        -config "$WORK/ext.cnf" -extensions ca_root -out "$1.pem"
}

# RSA keygen dominates the run time: generate all keys up front, in parallel.
pids=()
for k in root inter ocsp-signer ocsp-ca-signer ocsp-noeku rogue-ca rogue-signer leaf-rsa leaf-sni leaf-revoked leaf-unknown leaf-noaia leaf-pemissuer leaf-client leaf-muststaple; do
    genrsa "$WORK/$k.key" & pids+=($!)
done
ec_key leaf-ec.key
for p in "${pids[@]}"; do wait "$p"; done

# --- CAs ---
# req -x509 needs a [req] section to accept -config
printf '[req]\ndistinguished_name = dn\n[dn]\n' >> "$WORK/ext.cnf"
selfsign root "/CN=autostaple test root"
rsa_key inter.key
issue inter "/CN=autostaple test intermediate" ca_inter root 3650
openssl x509 -in inter.pem -outform DER -out inter.der

# --- OCSP signers ---
rsa_key ocsp-signer.key
issue ocsp-signer "/CN=autostaple ocsp signer" ocsp_signer inter 30
rsa_key ocsp-ca-signer.key
issue ocsp-ca-signer "/CN=autostaple ocsp signer that is a CA" ocsp_ca_signer inter 30
rsa_key ocsp-noeku.key
issue ocsp-noeku "/CN=autostaple ocsp signer without EKU" ocsp_noeku inter 30
selfsign rogue-ca "/CN=autostaple rogue CA"
rsa_key rogue-signer.key
issue rogue-signer "/CN=autostaple rogue ocsp signer" ocsp_signer rogue-ca 30

# --- leaves (issued by inter, 30 days) ---
# leaf-muststaple carries the TLS Feature extension status_request (RFC 7633)
LEAVES="leaf-rsa leaf-ec leaf-sni leaf-revoked leaf-unknown leaf-noaia leaf-pemissuer leaf-client leaf-muststaple"
declare -A L_DNS=(
    [leaf-rsa]=good.test [leaf-ec]=good.test [leaf-sni]=sni.test
    [leaf-revoked]=revoked.test [leaf-unknown]=unknown.test
    [leaf-noaia]=noaia.test [leaf-pemissuer]=pemissuer.test [leaf-client]=client.test
    [leaf-muststaple]=muststaple.test)
declare -A L_SUBJ=(
    [leaf-rsa]="/CN=good.test" [leaf-ec]="/OU=ecdsa/CN=good.test"
    [leaf-sni]="/CN=sni.test" [leaf-revoked]="/CN=revoked.test"
    [leaf-unknown]="/CN=unknown.test" [leaf-noaia]="/CN=noaia.test"
    [leaf-pemissuer]="/CN=pemissuer.test" [leaf-client]="/CN=client.test"
    [leaf-muststaple]="/CN=muststaple.test")
for l in $LEAVES; do
    aia=inter.der
    case $l in leaf-noaia) aia="";; leaf-pemissuer) aia=inter.pem;; esac
    ku="digitalSignature, keyEncipherment"; [ "$l" = leaf-ec ] && ku=digitalSignature
    eku=serverAuth; [ "$l" = leaf-client ] && eku=clientAuth   # a TLS client's certificate
    extra=''; [ "$l" = leaf-muststaple ] && extra="tlsfeature = status_request"
    add_leaf_section "ext_$l" "${L_DNS[$l]}" "$aia" "$ku" "$eku" "$extra"
    [ "$l" = leaf-ec ] || rsa_key "$l.key"
    issue "$l" "${L_SUBJ[$l]}" "ext_$l" inter 30
    cat "$l.pem" inter.pem > "$l-full.pem"
done

cat root.pem inter.pem > ca-bundle.pem
cp root.pem root-only.pem
cp inter.pem chain.pem
chmod 600 ./*.key

# --- verify everything ---
for c in inter ocsp-signer ocsp-noeku $LEAVES; do
    openssl verify -CAfile root.pem -untrusted inter.pem "$c.pem" >/dev/null
done
openssl verify -CAfile rogue-ca.pem rogue-signer.pem >/dev/null

# --- OCSP responder indexes ---
idx_date() { date -u -d "$1" +%y%m%d%H%M%SZ; }
REVTIME=$(date -u -d '-1 hour' +%y%m%d%H%M%SZ)
# index_line NAME V|R
index_line() {
    local serial end subj
    serial=$(openssl x509 -in "$1.pem" -noout -serial); serial=${serial#serial=}
    end=$(openssl x509 -in "$1.pem" -noout -enddate); end=$(idx_date "${end#notAfter=}")
    subj=$(openssl x509 -in "$1.pem" -noout -subject -nameopt compat); subj=${subj#subject=}
    if [ "$2" = R ]; then
        printf 'R\t%s\t%s,keyCompromise\t%s\tunknown\t%s\n' "$end" "$REVTIME" "$serial" "$subj"
    else
        printf 'V\t%s\t\t%s\tunknown\t%s\n' "$end" "$serial" "$subj"
    fi
}
KNOWN="leaf-rsa leaf-ec leaf-sni leaf-revoked leaf-noaia leaf-pemissuer leaf-client leaf-muststaple"   # leaf-unknown: never listed
: > index.txt; : > index-all-good.txt; : > index-all-revoked.txt
for l in $KNOWN; do
    if [ "$l" = leaf-revoked ]; then index_line "$l" R >> index.txt; else index_line "$l" V >> index.txt; fi
    index_line "$l" V >> index-all-good.txt
    index_line "$l" R >> index-all-revoked.txt
done
for f in index.txt index-all-good.txt index-all-revoked.txt; do
    index_line ocsp-signer V >> "$f"
    # leaf-rsa and leaf-ec share CN=good.test; don't let `openssl ocsp` insist on unique subjects
    echo "unique_subject = no" > "$f.attr"
done

printf 'OCSP_PORT=%s\nISSUER_PORT=%s\n' "$OCSP_PORT" "$ISSUER_PORT" > ports.env
