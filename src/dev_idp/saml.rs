//! The development IdP's SAML side, SP-initiated over the HTTP-Redirect binding: an
//! AuthnRequest read strictly and bounded ([`parse_authn_request`]), the people page's sealed
//! form ([`DevIdp::saml_request`]), and the signed response for the person chosen
//! ([`DevIdp::saml_respond`]), posted to idbroker's own ACS and nowhere else.

use std::io::Read;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::config::{DevIdp, SamlSide};
use super::error::DevIdpError;
use super::keys;
use crate::clock::epoch;
use crate::console::seal::Purpose;
use crate::federation::saml::dev::{demo_response_for, DemoSubject, NAMEID_EMAIL};
use crate::federation::saml::xml::{self, NS_ASSERTION, NS_PROTOCOL};
use crate::federation::saml::SamlSettings;

/// Longest `SAMLRequest` (base64 of the deflated request) read.
pub const MAX_SAML_REQUEST_CHARS: usize = 16 * 1024;
/// Most bytes the request inflates to: a deflate bomb stops here.
pub const MAX_INFLATED_BYTES: usize = 64 * 1024;
/// Longest RelayState (SAML bindings, section 3.4.3).
pub const MAX_RELAY_STATE_BYTES: usize = 80;
/// Longest request ID.
const MAX_ID_CHARS: usize = 256;
/// How long the people page's form may wait for a choice, seconds.
pub const FORM_TTL: u64 = 600;

const HTTP_POST_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// What the development IdP reads of an AuthnRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnRequest {
    /// `ID`, echoed as InResponseTo.
    pub id: String,
    /// `AssertionConsumerServiceURL`.
    pub acs_url: String,
    /// `saml:Issuer`, when present.
    pub issuer: Option<String>,
}

fn bad(what: &str) -> DevIdpError {
    DevIdpError::BadRequest(format!("The SAMLRequest {what}"))
}

/// An XML ID (NCName) of at most [`MAX_ID_CHARS`]: a letter or `_` first, then letters, digits,
/// `_`, `-`, `.`.
fn id_ok(id: &str) -> bool {
    let mut bytes = id.bytes();
    id.len() <= MAX_ID_CHARS
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
}

/// Read an HTTP-Redirect `SAMLRequest`: base64, raw DEFLATE inflated to at most
/// [`MAX_INFLATED_BYTES`], UTF-8, the lexical pass (no DTD, entity or other declaration),
/// roxmltree (no DTD, bounded nodes), a `samlp:AuthnRequest` of version 2.0 with an `ID`, an
/// `AssertionConsumerServiceURL` and the HTTP-POST binding (or none named).
pub fn parse_authn_request(saml_request: &str) -> Result<AuthnRequest, DevIdpError> {
    if saml_request.len() > MAX_SAML_REQUEST_CHARS {
        return Err(bad("is too long"));
    }
    let deflated = data_encoding::BASE64
        .decode(saml_request.as_bytes())
        .map_err(|_| bad("is not base64"))?;
    let mut inflated = Vec::new();
    flate2::read::DeflateDecoder::new(deflated.as_slice())
        .take(MAX_INFLATED_BYTES as u64 + 1)
        .read_to_end(&mut inflated)
        .map_err(|_| bad("is not DEFLATE data"))?;
    if inflated.len() > MAX_INFLATED_BYTES {
        return Err(bad("inflates to too much"));
    }
    let text = String::from_utf8(inflated).map_err(|_| bad("is not UTF-8"))?;
    let text = xml::strip_comments(&text).map_err(|_| bad("has a declaration (DTD)"))?;
    let doc = xml::parse(&text).map_err(|_| bad("is not well-formed XML"))?;
    let root = doc.root_element();
    if !xml::is(&root, NS_PROTOCOL, "AuthnRequest") || root.attribute("Version") != Some("2.0") {
        return Err(bad("is not a SAML 2.0 AuthnRequest"));
    }
    let id = root
        .attribute("ID")
        .filter(|id| id_ok(id))
        .ok_or_else(|| bad("has no usable ID"))?;
    let acs_url = root
        .attribute("AssertionConsumerServiceURL")
        .ok_or_else(|| bad("names no AssertionConsumerServiceURL"))?;
    if root
        .attribute("ProtocolBinding")
        .is_some_and(|b| b != HTTP_POST_BINDING)
    {
        return Err(bad("asks for a binding other than HTTP-POST"));
    }
    let issuer = xml::child(&root, NS_ASSERTION, "Issuer").map(|i| xml::full_text(&i));
    Ok(AuthnRequest {
        id: id.to_owned(),
        acs_url: acs_url.to_owned(),
        issuer: issuer.map(|i| i.trim().to_owned()),
    })
}

/// The request being answered, sealed in the people page's form.
#[derive(Debug, Serialize, Deserialize)]
struct PendingSaml {
    /// The AuthnRequest's ID.
    id: String,
    /// RelayState to send back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    relay: Option<String>,
    /// Expiry, epoch seconds.
    exp: u64,
}

/// A signed response and where it goes.
#[derive(Debug)]
pub struct SignedResponse {
    /// `[saml] acs_url`.
    pub acs_url: String,
    /// The base64 `SAMLResponse`.
    pub saml_response: String,
    /// `RelayState`, as the request had it.
    pub relay_state: Option<String>,
}

impl DevIdp {
    fn saml_side(&self) -> Result<&SamlSide, DevIdpError> {
        self.saml.as_ref().ok_or_else(|| {
            DevIdpError::NotServed(
                "The development IdP has no SAML side (no [[saml_providers]] DemoIdP)".into(),
            )
        })
    }

    /// An AuthnRequest received (`SAMLRequest`, `RelayState`): read, checked against idbroker's
    /// own SP (the ACS URL exactly `[saml] acs_url`, the Issuer its entity id), and sealed for
    /// the people page's form. Returns the sealed form value and the request.
    pub fn saml_request(
        &self,
        saml_request: &str,
        relay_state: Option<&str>,
        now: SystemTime,
    ) -> Result<(String, AuthnRequest), DevIdpError> {
        let side = self.saml_side()?;
        if relay_state.is_some_and(|r| r.len() > MAX_RELAY_STATE_BYTES) {
            return Err(DevIdpError::BadRequest(format!(
                "The RelayState is longer than {MAX_RELAY_STATE_BYTES} bytes"
            )));
        }
        let request = parse_authn_request(saml_request)?;
        if request.acs_url != side.acs_url {
            return Err(DevIdpError::BadRequest(format!(
                "The AuthnRequest's AssertionConsumerServiceURL is not idbroker's own ACS ({}): the development IdP posts nowhere else",
                side.acs_url
            )));
        }
        if request
            .issuer
            .as_deref()
            .is_some_and(|i| i != side.sp_entity_id)
        {
            return Err(DevIdpError::BadRequest(
                "The AuthnRequest's Issuer is not idbroker's SP entity id".into(),
            ));
        }
        let sealed = self.sealer.seal(
            Purpose::DevIdpSaml,
            &PendingSaml {
                id: request.id.clone(),
                relay: relay_state.filter(|r| !r.is_empty()).map(str::to_owned),
                exp: epoch(now) + FORM_TTL,
            },
        )?;
        Ok((sealed, request))
    }

    /// The people page's choice: the sealed request (made by [`DevIdp::saml_request`], not
    /// expired) answered for `person`, signed with the demo key: InResponseTo the request's ID,
    /// Destination and Recipient the ACS URL, Audience the SP entity id, NameID and
    /// RoleSessionName the email, the person's roles and groups.
    pub fn saml_respond(
        &self,
        sp: &SamlSettings,
        sealed: &str,
        person: &str,
        now: SystemTime,
    ) -> Result<SignedResponse, DevIdpError> {
        let side = self.saml_side()?;
        let (pending, person) = self.chosen(
            Purpose::DevIdpSaml,
            sealed,
            |p: &PendingSaml| p.exp,
            person,
            now,
        )?;
        let provider = sp.provider(&side.provider_arn).ok_or_else(|| {
            DevIdpError::NotServed("The demo SAML provider is no longer configured".into())
        })?;
        if sp.acs_url != side.acs_url {
            return Err(DevIdpError::Internal);
        }
        let roles: Vec<&str> = person.saml_roles.iter().map(String::as_str).collect();
        let groups: Vec<&str> = person.groups.iter().map(String::as_str).collect();
        let subject = DemoSubject {
            name_id: &person.email,
            name_id_format: NAMEID_EMAIL,
            roles: &roles,
            session_name: &person.email,
            groups: &groups,
            in_response_to: Some(&pending.id),
        };
        let saml_response = demo_response_for(
            sp,
            provider,
            (keys::SAML_KEY_PEM, keys::SAML_CERT_PEM),
            &subject,
            now,
        )
        .map_err(|e| {
            tracing::error!(error = %e, "development IdP: signing the SAML response failed");
            DevIdpError::Internal
        })?;
        tracing::warn!(person = %person.name, acs = %side.acs_url, "DEVELOPMENT IdP signed a SAML response");
        Ok(SignedResponse {
            acs_url: side.acs_url.clone(),
            saml_response,
            relay_state: pending.relay,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Write;

    use super::*;

    fn encode(xml: &[u8]) -> String {
        let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        d.write_all(xml).unwrap();
        data_encoding::BASE64.encode(&d.finish().unwrap())
    }

    fn request(id: &str, acs: &str) -> String {
        format!(
            concat!(
                r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
                r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{}" Version="2.0" "#,
                r#"IssueInstant="2026-12-06T10:00:00Z" AssertionConsumerServiceURL="{}" "#,
                r#"ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">"#,
                r#"<saml:Issuer>urn:amazon:webservices</saml:Issuer></samlp:AuthnRequest>"#
            ),
            id, acs
        )
    }

    #[test]
    fn a_console_request_is_read() {
        let r = parse_authn_request(&encode(
            request("_abc-1.x", "http://127.0.0.1:8080/saml/acs").as_bytes(),
        ))
        .unwrap();
        assert_eq!(r.id, "_abc-1.x");
        assert_eq!(r.acs_url, "http://127.0.0.1:8080/saml/acs");
        assert_eq!(r.issuer.as_deref(), Some("urn:amazon:webservices"));
    }

    #[test]
    fn hostile_requests_are_refused() {
        let acs = "http://127.0.0.1:8080/saml/acs";
        // A deflate bomb: a megabyte of spaces inflates past the bound (and no further).
        let mut bomb = request("_a", acs).into_bytes();
        bomb.splice(5..5, vec![b' '; 1 << 20]);
        let encoded = encode(&bomb);
        assert!(encoded.len() < MAX_SAML_REQUEST_CHARS);
        assert!(
            matches!(parse_authn_request(&encoded), Err(DevIdpError::BadRequest(m)) if m.contains("too much"))
        );
        // A DTD (an entity expansion), however it is written.
        let dtd = format!(
            "<!DOCTYPE r [<!ENTITY x \"xx\">]>{}",
            request("_a", acs).replace("urn:amazon:webservices", "&x;")
        );
        assert!(parse_authn_request(&encode(dtd.as_bytes())).is_err());
        // Too long, not base64, not deflate, not XML, not an AuthnRequest, bad IDs, no ACS.
        assert!(parse_authn_request(&"A".repeat(MAX_SAML_REQUEST_CHARS + 4)).is_err());
        assert!(parse_authn_request("%%%").is_err());
        assert!(parse_authn_request(&data_encoding::BASE64.encode(b"\xff\xff\xff\xff")).is_err());
        assert!(parse_authn_request(&encode(b"not xml")).is_err());
        assert!(parse_authn_request(&encode(b"<x/>")).is_err());
        for id in ["", "1abc", "a\"b", &"a".repeat(MAX_ID_CHARS + 1)] {
            let xml = request("ID_PLACEHOLDER", acs)
                .replace("ID_PLACEHOLDER", &id.replace('"', "&quot;"));
            assert!(
                parse_authn_request(&encode(xml.as_bytes())).is_err(),
                "{id}"
            );
        }
        let no_acs =
            request("_a", acs).replace(&format!(r#"AssertionConsumerServiceURL="{acs}" "#), "");
        assert!(parse_authn_request(&encode(no_acs.as_bytes())).is_err());
        let artifact = request("_a", acs).replace("HTTP-POST", "HTTP-Artifact");
        assert!(parse_authn_request(&encode(artifact.as_bytes())).is_err());
    }

    #[tokio::test]
    async fn the_answer_is_signed_for_the_own_acs_and_echoes_the_request() {
        use crate::dev_idp::config::testing::{at, demo_text, load};
        use crate::federation::saml::InResponseTo;
        let cfg = load(&demo_text()).unwrap();
        let idp = cfg.dev_idp.as_ref().unwrap();
        let acs = "http://127.0.0.1:8080/saml/acs";
        let now = at();
        let ok = encode(request("_r1", acs).as_bytes());

        // Another ACS, a long RelayState, another Issuer: refused before any page.
        let elsewhere = encode(request("_r1", "https://evil.example/acs").as_bytes());
        let e = idp.saml_request(&elsewhere, None, now).unwrap_err();
        assert!(
            matches!(&e, DevIdpError::BadRequest(m) if m.contains("ACS")),
            "{e}"
        );
        let acs_prefix = encode(request("_r1", &format!("{acs}/../evil")).as_bytes());
        assert!(idp.saml_request(&acs_prefix, None, now).is_err());
        assert!(idp.saml_request(&ok, Some(&"x".repeat(81)), now).is_err());
        let issuer =
            request("_r1", acs).replace("urn:amazon:webservices", "https://sp.example.com");
        assert!(idp
            .saml_request(&encode(issuer.as_bytes()), None, now)
            .is_err());

        let (sealed, r) = idp.saml_request(&ok, Some("/console"), now).unwrap();
        assert_eq!(r.id, "_r1");
        // A form changed, made for another purpose, or expired, and an unknown person: refused.
        let mut changed = sealed.clone().into_bytes();
        changed[10] = if changed[10] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(changed).unwrap();
        assert!(matches!(
            idp.saml_respond(&cfg.saml, &changed, "bob", now),
            Err(DevIdpError::Expired(_))
        ));
        let later = now + std::time::Duration::from_secs(FORM_TTL);
        assert!(matches!(
            idp.saml_respond(&cfg.saml, &sealed, "bob", later),
            Err(DevIdpError::Expired(_))
        ));
        assert!(matches!(
            idp.saml_respond(&cfg.saml, &sealed, "mallory", now),
            Err(DevIdpError::BadRequest(_))
        ));

        let signed = idp.saml_respond(&cfg.saml, &sealed, "alice", now).unwrap();
        assert_eq!(signed.acs_url, acs);
        assert_eq!(signed.relay_state.as_deref(), Some("/console"));
        // idbroker's own validator takes it as the answer to _r1, and to nothing else.
        let provider = cfg
            .saml
            .provider("arn:aws:iam::123456789012:saml-provider/DemoIdP")
            .unwrap();
        let other = InResponseTo::OneOf(vec!["_other".into()]);
        assert!(crate::federation::saml::check(
            provider,
            &cfg.saml,
            &signed.saml_response,
            other,
            now
        )
        .is_err());
        assert!(crate::federation::saml::check(
            provider,
            &cfg.saml,
            &signed.saml_response,
            InResponseTo::Unsolicited,
            now
        )
        .is_err());
        let store = idbroker_session::MemoryStore::new();
        let v = crate::federation::saml::verify(
            provider,
            &cfg.saml,
            &signed.saml_response,
            InResponseTo::OneOf(vec!["_r1".into()]),
            &store,
            now,
        )
        .await
        .unwrap();
        assert_eq!(v.subject(), "alice@example.com");
        assert_eq!(v.audience(), acs);
        let aws = |n: &str| format!("https://aws.amazon.com/SAML/Attributes/{n}");
        assert_eq!(
            v.attribute(&aws("Role")),
            [
                "arn:aws:iam::123456789012:role/demo/SamlDeveloper,arn:aws:iam::123456789012:saml-provider/DemoIdP",
                "arn:aws:iam::123456789012:role/demo/SamlOperator,arn:aws:iam::123456789012:saml-provider/DemoIdP",
            ]
        );
        assert_eq!(v.attribute(&aws("RoleSessionName")), ["alice@example.com"]);
        assert_eq!(
            v.attribute(crate::federation::saml::dev::GROUPS_ATTRIBUTE),
            ["developers", "operators"]
        );
    }
}
