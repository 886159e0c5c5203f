//! SP-initiated SAML sign-in: the AuthnRequest idbroker sends over the HTTP-Redirect binding,
//! and recognising the response to it.
//!
//! The request ID is the proof that idbroker sent the request: it is sealed under the console
//! key and names the provider and an expiry, so the ACS needs no server-side state (any
//! replica recognises it) and a response can only answer a request made for its own provider
//! within [`LOGIN_TTL`](super::browser::LOGIN_TTL). The response itself is single-use through the
//! assertion replay guard, as every SAML sign-in.

use std::io::Write;

use serde::{Deserialize, Serialize};

use super::seal::{Purpose, Sealer};
use super::ConsoleError;
use crate::federation::saml::{SamlProvider, SamlSettings};

#[derive(Serialize, Deserialize)]
struct RequestId {
    /// Provider ARN.
    p: String,
    /// Expiry, epoch seconds.
    exp: u64,
}

const SIG_ALG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const HTTP_POST_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The IdP URL that starts an SP-initiated sign-in with `provider`: its HTTP-Redirect
/// SingleSignOnService with a (signed, when `sign`) AuthnRequest and `relay_state`.
pub fn authn_request_url(
    sealer: &Sealer,
    sp: &SamlSettings,
    provider: &SamlProvider,
    relay_state: Option<&str>,
    sign: bool,
    now: std::time::SystemTime,
) -> Result<String, ConsoleError> {
    let keys = provider.keys();
    let sso = keys.sso_redirect_url.as_deref().ok_or_else(|| {
        ConsoleError::BadRequest(format!(
            "The identity provider {} publishes no HTTP-Redirect sign-in endpoint in its metadata; start the sign-in from the identity provider instead",
            provider.name
        ))
    })?;
    let now_s = crate::clock::epoch(now);
    let id = format!(
        "_{}",
        sealer.seal(
            Purpose::AuthnRequest,
            &RequestId {
                p: provider.arn.clone(),
                exp: now_s + super::browser::LOGIN_TTL,
            },
        )?
    );
    let xml = format!(
        concat!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="{instant}" Destination="{dest}" AssertionConsumerServiceURL="{acs}" "#,
            r#"ProtocolBinding="{binding}"><saml:Issuer>{issuer}</saml:Issuer>"#,
            r#"<samlp:NameIDPolicy AllowCreate="true"/></samlp:AuthnRequest>"#
        ),
        id = id,
        instant = crate::clock::iso8601(now),
        dest = escape(sso),
        acs = escape(&sp.acs_url),
        binding = HTTP_POST_BINDING,
        issuer = escape(&sp.sp_entity_id),
    );
    let mut deflater =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    deflater
        .write_all(xml.as_bytes())
        .map_err(|_| ConsoleError::Internal)?;
    let deflated = deflater.finish().map_err(|_| ConsoleError::Internal)?;
    let mut query = format!(
        "SAMLRequest={}",
        enc(&data_encoding::BASE64.encode(&deflated))
    );
    if let Some(r) = relay_state {
        query.push_str("&RelayState=");
        query.push_str(&enc(r));
    }
    if sign {
        query.push_str("&SigAlg=");
        query.push_str(&enc(SIG_ALG_RSA_SHA256));
        let signature = sp
            .sp_keys
            .sign_rsa_sha256(query.as_bytes())
            .ok_or(ConsoleError::Internal)?;
        query.push_str("&Signature=");
        query.push_str(&enc(&data_encoding::BASE64.encode(&signature)));
    }
    let sep = if sso.contains('?') { '&' } else { '?' };
    Ok(format!("{sso}{sep}{query}"))
}

/// Is `id` the ID of an AuthnRequest this service sent for `provider_arn`, not expired at
/// `now_s`? (The InResponseTo check of the console's ACS.)
pub fn issued(sealer: &Sealer, provider_arn: &str, id: &str, now_s: u64) -> bool {
    id.strip_prefix('_')
        .and_then(|sealed| sealer.open::<RequestId>(Purpose::AuthnRequest, sealed))
        .is_some_and(|r| r.p == provider_arn && now_s < r.exp)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn request_ids_are_recognised_only_for_their_provider_and_time() {
        let s = Sealer::new(&[3u8; 32]).unwrap();
        let id = format!(
            "_{}",
            s.seal(
                Purpose::AuthnRequest,
                &RequestId {
                    p: "arn:p".into(),
                    exp: 1000
                }
            )
            .unwrap()
        );
        assert!(issued(&s, "arn:p", &id, 999));
        assert!(!issued(&s, "arn:p", &id, 1000));
        assert!(!issued(&s, "arn:other", &id, 10));
        assert!(!issued(&s, "arn:p", id.trim_start_matches('_'), 10));
        assert!(!issued(&s, "arn:p", "_abc", 10));
        // A value sealed for another purpose is not a request id.
        let pick = format!(
            "_{}",
            s.seal(
                Purpose::Pick,
                &RequestId {
                    p: "arn:p".into(),
                    exp: 1000
                }
            )
            .unwrap()
        );
        assert!(!issued(&s, "arn:p", &pick, 10));
    }

    #[test]
    fn escaping() {
        assert_eq!(escape(r#"a&b<"'>"#), "a&amp;b&lt;&quot;&apos;&gt;");
    }
}
