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

/// NameID formats the demo responses use.
pub const NAMEID_PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
/// An email address as the NameID (the development IdP's people).
pub const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
/// The attribute the development IdP lists a person's groups in (ADFS's group claim).
pub const GROUPS_ATTRIBUTE: &str = "http://schemas.xmlsoap.org/claims/Group";

/// Who a demo response names and what it answers.
#[derive(Debug, Clone, Copy)]
pub struct DemoSubject<'a> {
    /// The NameID.
    pub name_id: &'a str,
    /// Its format ([`NAMEID_PERSISTENT`], [`NAMEID_EMAIL`]).
    pub name_id_format: &'a str,
    /// Role ARNs, each sent as a `role,provider` pair of the Role attribute.
    pub roles: &'a [&'a str],
    /// The RoleSessionName attribute.
    pub session_name: &'a str,
    /// The [`GROUPS_ATTRIBUTE`] values (none: no such attribute).
    pub groups: &'a [&'a str],
    /// The AuthnRequest ID answered (SP-initiated), on the Response and the bearer confirmation;
    /// `None`: unsolicited.
    pub in_response_to: Option<&'a str>,
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
    let subject = DemoSubject {
        name_id: user,
        name_id_format: NAMEID_PERSISTENT,
        roles: &[role_arn],
        session_name: user,
        groups: &[],
        in_response_to: None,
    };
    demo_response_for(saml, provider, (key_pem, cert_pem), &subject, now)
}

/// A base64 SAML response for the demo provider naming `subject` (see [`DemoSubject`]), addressed
/// to `saml`'s ACS URL and SP entity id, signed (Response and Assertion, RSA-SHA256) with the demo
/// key and certificate `(key_pem, cert_pem)`, valid for five minutes from `now`. Refuses every
/// provider but the demo one, and a key its metadata does not trust.
pub fn demo_response_for(
    saml: &SamlSettings,
    provider: &SamlProvider,
    (key_pem, cert_pem): (&[u8], &[u8]),
    subject: &DemoSubject<'_>,
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
    let (acs, aud, user, format) = (
        escape(&saml.acs_url),
        escape(&saml.sp_entity_id),
        escape(subject.name_id),
        escape(subject.name_id_format),
    );
    let answers = subject
        .in_response_to
        .map(|id| format!(r#" InResponseTo="{}""#, escape(id)))
        .unwrap_or_default();
    let issuer = format!("<saml:Issuer>{DEMO_ENTITY_ID}</saml:Issuer>");
    let attr = |name: &str, values: &[String]| {
        let values: String = values
            .iter()
            .map(|v| format!("<saml:AttributeValue>{v}</saml:AttributeValue>"))
            .collect();
        format!(r#"<saml:Attribute Name="{name}">{values}</saml:Attribute>"#)
    };
    let aws = |name: &str| format!("https://aws.amazon.com/SAML/Attributes/{name}");
    let pairs: Vec<String> = subject
        .roles
        .iter()
        .map(|r| format!("{},{}", escape(r), escape(&provider.arn)))
        .collect();
    let mut attributes = attr(&aws("Role"), &pairs)
        + &attr(&aws("RoleSessionName"), &[escape(subject.session_name)]);
    if !subject.groups.is_empty() {
        let groups: Vec<String> = subject.groups.iter().map(|g| escape(g)).collect();
        attributes.push_str(&attr(GROUPS_ATTRIBUTE, &groups));
    }
    let assertion = format!(
        concat!(
            r#"<saml:Assertion ID="{aid}" Version="2.0" IssueInstant="{issued}">{issuer}{sig}"#,
            r#"<saml:Subject><saml:NameID Format="{format}">{user}</saml:NameID>"#,
            r#"<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">"#,
            r#"<saml:SubjectConfirmationData NotOnOrAfter="{until}" Recipient="{acs}"{answers}/></saml:SubjectConfirmation></saml:Subject>"#,
            r#"<saml:Conditions NotBefore="{issued}" NotOnOrAfter="{until}"><saml:AudienceRestriction>"#,
            r#"<saml:Audience>{aud}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"#,
            r#"<saml:AuthnStatement AuthnInstant="{issued}" SessionNotOnOrAfter="{session_end}"><saml:AuthnContext>"#,
            r#"<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>"#,
            r#"</saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>{attributes}</saml:AttributeStatement></saml:Assertion>"#
        ),
        aid = aid,
        issued = issued,
        issuer = issuer,
        sig = template(&aid, &cert_b64),
        format = format,
        user = user,
        until = until,
        acs = acs,
        answers = answers,
        aud = aud,
        session_end = session_end,
        attributes = attributes,
    );
    let response = |sig: &str, assertion: &str| {
        format!(
            concat!(
                r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" "#,
                r#"ID="{rid}" Version="2.0" IssueInstant="{issued}" Destination="{acs}"{answers}>{issuer}{sig}"#,
                r#"<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{assertion}</samlp:Response>"#
            ),
            rid = rid,
            issued = issued,
            acs = acs,
            answers = answers,
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
