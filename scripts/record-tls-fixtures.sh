#!/usr/bin/env bash
# Regenerate the TLS test fixtures in src/dissect/tls/testdata/ (project-made data only).
#
#   certs: ca.der (EC P-256 CA, 2020..2099), leaf.der (signed by the CA, SANs with DNS
#          names and IP literals), expired-selfsigned.der (RSA-2048, self-signed, 2020..2021)
#   pcaps: tls12.pcap and tls13.pcap, one openssl s_client ↔ s_server handshake each on
#          127.0.0.1:4433, recorded with tcpdump on lo.
#
# Needs openssl (3.x), tcpdump and root (for tcpdump). Dates are fixed with `openssl ca`
# so the certificate tests do not depend on today's date; the pcaps change on every run.
set -euo pipefail
out="$(cd "$(dirname "$0")/.." && pwd)/src/dissect/tls/testdata"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

mkdir -p db && : > db/index.txt && echo 01 > db/serial
cat > ca.cnf <<'CNF'
[ca]
default_ca = local
[local]
database = db/index.txt
serial = db/serial
new_certs_dir = db
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
# `openssl ca` writes the DN in this order: C, O, CN as in most real certificates.
[anything]
countryName = optional
organizationName = optional
commonName = supplied
[v3_ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[v3_leaf]
basicConstraints = CA:false
subjectAltName = DNS:praxis.example, DNS:*.praxis.example, IP:192.0.2.7, IP:2001:db8::1
[v3_self]
basicConstraints = CA:false
subjectAltName = DNS:old.example
CNF

# CA: EC P-256, self-signed, 2020-01-01 .. 2099-12-31 (GeneralizedTime after 2049).
openssl ecparam -name prime256v1 -genkey -noout -out ca.key
openssl req -new -key ca.key -subj "/C=DE/O=Leakscope Test CA/CN=Leakscope Test Root" -out ca.csr
openssl ca -batch -config ca.cnf -selfsign -keyfile ca.key -in ca.csr -extensions v3_ca \
  -startdate 20200101000000Z -enddate 20991231235959Z -out ca.pem
# Leaf: EC P-256 signed by the CA; the O contains a comma (RFC 4514 escaping).
openssl ecparam -name prime256v1 -genkey -noout -out leaf.key
openssl req -new -key leaf.key -subj "/C=DE/O=Praxis Muster, GmbH/CN=praxis.example" -out leaf.csr
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in leaf.csr -extensions v3_leaf \
  -startdate 20240101000000Z -enddate 20340101000000Z -out leaf.pem
# Expired self-signed RSA certificate, 2020-01-01 .. 2021-01-01.
openssl genrsa -out old.key 2048 2>/dev/null
openssl req -new -key old.key -subj "/CN=old.example" -out old.csr
openssl ca -batch -config ca.cnf -selfsign -keyfile old.key -in old.csr -extensions v3_self \
  -startdate 20200101000000Z -enddate 20210101000000Z -out old.pem

openssl x509 -in ca.pem -outform der -out "$out/ca.der"
openssl x509 -in leaf.pem -outform der -out "$out/leaf.der"
openssl x509 -in old.pem -outform der -out "$out/expired-selfsigned.der"

record() { # name, s_client protocol flag
  local name="$1" flag="$2"
  tcpdump -i lo -U -s 0 -w "$out/$name.pcap" 'tcp port 4433' 2>/dev/null &
  local dump=$!
  sleep 1
  openssl s_server -accept 127.0.0.1:4433 -naccept 1 -cert leaf.pem -key leaf.key \
    -cert_chain ca.pem -alpn h2 -quiet >/dev/null 2>&1 &
  local server=$!
  sleep 1
  printf 'hello\n' | openssl s_client -connect 127.0.0.1:4433 -servername praxis.example \
    -alpn h2,http/1.1 "$flag" -ign_eof >/dev/null 2>&1 || true
  sleep 1
  kill "$server" 2>/dev/null || true
  kill "$dump"
  wait "$dump" 2>/dev/null || true
}
record tls12 -tls1_2
record tls13 -tls1_3
ls -l "$out"
