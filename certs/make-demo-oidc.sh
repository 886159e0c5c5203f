#!/usr/bin/env bash
# Makes the DEVELOPMENT-ONLY signing key of the demo OIDC provider (config/demo/idbroker.toml,
# issuer https://oidc.demo.idbroker.invalid) and its public JWKS, pinned in the demo config.
# `idbroker dev web-identity-token` signs demo tokens with this key. Never trust this provider,
# or any key made here, anywhere real. Needs openssl and python3.
set -euo pipefail
cd "$(dirname "$0")/demo"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out oidc-demo.key 2>/dev/null
chmod 600 oidc-demo.key
openssl rsa -in oidc-demo.key -noout -modulus | sed 's/^Modulus=//' > oidc-demo.modulus
python3 - <<'PY'
import base64, json
n = bytes.fromhex(open("oidc-demo.modulus").read().strip())
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
jwks = {"keys": [{"kty": "RSA", "kid": "idbroker-demo-1", "alg": "RS256", "use": "sig",
                  "n": b64(n), "e": b64((65537).to_bytes(3, "big"))}]}
open("oidc-demo-jwks.json", "w").write(json.dumps(jwks, indent=1) + "\n")
PY
rm -f oidc-demo.modulus
echo "wrote certs/demo/oidc-demo.key (private, development only) and certs/demo/oidc-demo-jwks.json"
