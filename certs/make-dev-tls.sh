#!/usr/bin/env bash
# Makes the development TLS material in certs/dev/: a throwaway CA and a server certificate for
# localhost, 127.0.0.1 and ::1 signed by it (ECDSA P-256, 10 years). For local HTTPS only:
# the private keys are public in this repository, so never use them anywhere that matters.
#
#   certs/make-dev-tls.sh [DIR]      # (re)writes DIR/{ca,server}.{crt,key}; DIR defaults to certs/dev
#   aws --ca-bundle certs/dev/ca.crt --endpoint-url https://localhost:8443 sts get-caller-identity
set -euo pipefail
out=${1:-"$(dirname "$0")/dev"}
mkdir -p "$out" && cd "$out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out ca.key
openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/O=idbroker dev/CN=idbroker dev CA (not for production)" \
  -addext "basicConstraints=critical,CA:true,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt

openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out server.key
openssl req -new -key server.key -subj "/O=idbroker dev/CN=localhost" -out "$tmp/server.csr"
cat > "$tmp/ext" <<EXT
basicConstraints=critical,CA:false
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EXT
openssl x509 -req -in "$tmp/server.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -CAserial "$tmp/ca.srl" \
  -days 3650 -sha256 -extfile "$tmp/ext" -out "$tmp/leaf.crt"
# The chain a client needs after the leaf: leaf first, then the CA.
cat "$tmp/leaf.crt" ca.crt > server.crt
chmod 0644 ca.crt server.crt ca.key server.key
echo "wrote $(pwd)/{ca,server}.{crt,key}"
