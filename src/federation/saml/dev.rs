//! Development only: mint a signed SAML response for the demo provider, so that a newcomer can
//! try AssumeRoleWithSAML without an IdP. Refuses every provider but the demo one, and a key
//! that is not the one the demo provider's metadata trusts.

use std::time::SystemTime;

use openssl::pkey::PKey;
use openssl::x509::X509;
use samael::crypto::{Crypto, CryptoProvider};

use super::config::{SamlProvider, SamlSettings};

/// The only provider this module mints for.
pub const DEMO_PROVIDER_NAME: &str = "DemoIdP";
/// Its entity id (a reserved `.invalid` name: it can never be a real IdP).
pub const DEMO_ENTITY_ID: &str = "https://idp.demo.idbroker.invalid/saml";

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn template(id: &str, cert_b64: &str) -> String {
    format!(
        concat!(
            r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>"#,
            r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
            r#"<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>"#,
            r##"<ds:Reference URI="#{id}"><ds:Transforms>"##,
            r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#,
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>"#,
            r#"<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>"#,
            r#"<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>"#,
            r#"<ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data>"#,
            r#"<ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"#
        ),
        id = id,
        cert = cert_b64
    )
}

/// A base64 SAML response for the demo provider: `user` may take `role_arn`, signed (Response
/// and Assertion, RSA-SHA256) with the demo key in `key_pem`, valid for five minutes from `now`.
pub fn demo_response(
    saml: &SamlSettings,
    provider: &SamlProvider,
    key_pem: &[u8],
    cert_pem: &[u8],
    role_arn: &str,
    user: &str,
    now: SystemTime,
) -> Result<String, String> {
    if provider.name != DEMO_PROVIDER_NAME || provider.keys().entity_id != DEMO_ENTITY_ID {
        return Err(format!(
            "refusing: this development helper mints only for the demo provider {DEMO_PROVIDER_NAME} ({DEMO_ENTITY_ID}), not {}",
            provider.arn
        ));
    }
    let key =
        PKey::private_key_from_pem(key_pem).map_err(|_| "the demo key is not a PEM private key")?;
    let cert = X509::from_pem(cert_pem).map_err(|_| "the demo certificate is not PEM")?;
    let cert_der = cert
        .to_der()
        .map_err(|_| "the demo certificate cannot be encoded")?;
    let trusted = provider
        .signing_certs()
        .iter()
        .any(|c| c.der.der_data() == cert_der.as_slice());
    let matches = cert
        .public_key()
        .map(|p| p.public_eq(&key))
        .unwrap_or(false);
    if !trusted || !matches {
        return Err("refusing: the key is not the one the demo provider's metadata trusts".into());
    }
    let key_der = key
        .private_key_to_der()
        .map_err(|_| "the demo key cannot be encoded")?;
    let cert_b64 = data_encoding::BASE64.encode(&cert_der);
    let at = |secs: u64| crate::clock::iso8601(now + std::time::Duration::from_secs(secs));
    let (issued, until, session_end) = (at(0), at(300), at(8 * 3600));
    let rid = format!("_r{}", uuid::Uuid::new_v4().simple());
    let aid = format!("_a{}", uuid::Uuid::new_v4().simple());
    let (acs, aud, user, role) = (
        escape(&saml.acs_url),
        escape(&saml.sp_entity_id),
        escape(user),
        escape(role_arn),
    );
    let issuer = format!("<saml:Issuer>{DEMO_ENTITY_ID}</saml:Issuer>");
    let attr = |name: &str, value: &str| {
        format!(
            r#"<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/{name}"><saml:AttributeValue>{value}</saml:AttributeValue></saml:Attribute>"#
        )
    };
    let assertion = format!(
        concat!(
            r#"<saml:Assertion ID="{aid}" Version="2.0" IssueInstant="{issued}">{issuer}{sig}"#,
            r#"<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{user}</saml:NameID>"#,
            r#"<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">"#,
            r#"<saml:SubjectConfirmationData NotOnOrAfter="{until}" Recipient="{acs}"/></saml:SubjectConfirmation></saml:Subject>"#,
            r#"<saml:Conditions NotBefore="{issued}" NotOnOrAfter="{until}"><saml:AudienceRestriction>"#,
            r#"<saml:Audience>{aud}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"#,
            r#"<saml:AuthnStatement AuthnInstant="{issued}" SessionNotOnOrAfter="{session_end}"><saml:AuthnContext>"#,
            r#"<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>"#,
            r#"</saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>{role_attr}{name_attr}</saml:AttributeStatement></saml:Assertion>"#
        ),
        aid = aid,
        issued = issued,
        issuer = issuer,
        sig = template(&aid, &cert_b64),
        user = user,
        until = until,
        acs = acs,
        aud = aud,
        session_end = session_end,
        role_attr = attr("Role", &format!("{role},{}", escape(&provider.arn))),
        name_attr = attr("RoleSessionName", &user),
    );
    let response = |sig: &str, assertion: &str| {
        format!(
            concat!(
                r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" "#,
                r#"ID="{rid}" Version="2.0" IssueInstant="{issued}" Destination="{acs}">{issuer}{sig}"#,
                r#"<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{assertion}</samlp:Response>"#
            ),
            rid = rid,
            issued = issued,
            acs = acs,
            issuer = issuer,
            sig = sig,
            assertion = assertion
        )
    };
    // Sign the Assertion (the only template), then the Response around it (its template comes
    // first in document order, so it is the one signed second).
    let signed_inner = Crypto::sign_xml(response("", &assertion), &key_der)
        .map_err(|e| format!("signing the assertion: {e}"))?;
    let start = signed_inner
        .find("<saml:Assertion")
        .ok_or("signed assertion not found")?;
    let end = signed_inner
        .find("</saml:Assertion>")
        .ok_or("signed assertion not found")?
        + "</saml:Assertion>".len();
    let signed_assertion = signed_inner
        .get(start..end)
        .ok_or("signed assertion not found")?;
    let signed = Crypto::sign_xml(
        response(&template(&rid, &cert_b64), signed_assertion),
        &key_der,
    )
    .map_err(|e| format!("signing the response: {e}"))?;
    Ok(data_encoding::BASE64.encode(signed.as_bytes()))
}
