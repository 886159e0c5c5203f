#!/usr/bin/env bash
# Makes the DEMO SAML IdP's signing key and certificate (certs/demo/saml-idp.{key,crt}) and
# its metadata (certs/demo/saml-idp-metadata.xml), which config/demo/idbroker.toml trusts as
# the provider DemoIdP. DEVELOPMENT ONLY: the private key is in the repository on purpose, so
# anyone can mint assertions for this provider (`idbroker dev saml-assertion`, and the
# development IdP served at /dev/idp, whose SingleSignOnService the metadata names). Never trust
# it anywhere real.
#
# The key and certificate are kept when they exist (idbroker compiles them in: src/dev_idp/keys.rs),
# so running this again only rewrites the metadata; `--new-key` makes a new pair (10 years,
# RSA-2048) first.
set -euo pipefail
cd "$(dirname "$0")/demo"
if [[ "${1:-}" == "--new-key" || ! -f saml-idp.key || ! -f saml-idp.crt ]]; then
  openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 3650 \
    -subj "/O=idbroker demo (development only)/CN=idp.demo.idbroker.invalid" \
    -keyout saml-idp.key -out saml-idp.crt 2>/dev/null
fi
cert=$(grep -v -- '-----' saml-idp.crt | tr -d '\n')
cat > saml-idp-metadata.xml <<XML
<?xml version="1.0" encoding="UTF-8"?>
<!-- DEVELOPMENT ONLY: the demo IdP of config/demo/idbroker.toml. Made by certs/make-demo-saml.sh. -->
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.demo.idbroker.invalid/saml">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="http://127.0.0.1:8080/dev/idp/saml/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
XML
echo "made certs/demo/saml-idp-metadata.xml (and kept or made saml-idp.key, saml-idp.crt; development only)"
