#!/usr/bin/env bash
# Makes the DEMO SAML IdP's signing key and certificate (certs/demo/saml-idp.{key,crt}) and
# its metadata (certs/demo/saml-idp-metadata.xml), which config/demo/idbroker.toml trusts as
# the provider DemoIdP. DEVELOPMENT ONLY: the private key is in the repository on purpose, so
# anyone can mint assertions for this provider (`idbroker dev saml-assertion`). Never trust it
# anywhere real. Run again to make new ones (10 years, RSA-2048).
set -euo pipefail
cd "$(dirname "$0")/demo"
openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 3650 \
  -subj "/O=idbroker demo (development only)/CN=idp.demo.idbroker.invalid" \
  -keyout saml-idp.key -out saml-idp.crt 2>/dev/null
cert=$(grep -v -- '-----' saml-idp.crt | tr -d '\n')
cat > saml-idp-metadata.xml <<XML
<?xml version="1.0" encoding="UTF-8"?>
<!-- DEVELOPMENT ONLY: the demo IdP of config/demo/idbroker.toml. Made by certs/make-demo-saml.sh. -->
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.demo.idbroker.invalid/saml">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.demo.idbroker.invalid/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
XML
echo "made certs/demo/saml-idp.key, saml-idp.crt, saml-idp-metadata.xml (development only)"
