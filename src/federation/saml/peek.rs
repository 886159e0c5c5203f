//! What the console's ACS reads from a response before verifying it ([`peek`]): the Issuer, to
//! choose the provider, and the status codes, to tell a person their IdP reported an error.
//! Nothing read here grants anything.

use std::sync::Arc;

use super::assertion::MAX_ASSERTION_CHARS;
use super::config::{SamlProvider, SamlSettings};
use super::profile::strip;
use super::validate::STATUS_SUCCESS;
use super::xml::{self, NS_ASSERTION, NS_PROTOCOL};

/// What the console's ACS reads from a response before verifying it: the Issuer (to choose the
/// provider whose keys verify it) and the top-level and nested status codes (to tell a person
/// that their IdP reported an error). Nothing read here grants anything:
/// [`verify`](super::verify) then checks the signature with that provider's keys and the Issuer
/// against its entity id.
#[derive(Debug, Default)]
pub struct Unverified {
    /// The Response's Issuer, else the first Assertion's.
    pub issuer: Option<String>,
    /// StatusCode values, outermost first.
    pub status: Vec<String>,
}

/// Read [`Unverified`] from a base64 response; `None` when it is not XML at all.
pub fn peek(encoded: &str) -> Option<Unverified> {
    if !(4..=MAX_ASSERTION_CHARS).contains(&encoded.len()) {
        return None;
    }
    let compact: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = data_encoding::BASE64.decode(compact.as_bytes()).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let text = strip(text).ok()?;
    let doc = xml::parse(&text).ok()?;
    let root = doc.root_element();
    let issuer_of = |n: roxmltree::Node<'_, '_>| {
        n.children()
            .find(|c| xml::is(c, NS_ASSERTION, "Issuer"))
            .map(|c| xml::full_text(&c).trim().to_owned())
    };
    let issuer = issuer_of(root).or_else(|| {
        root.children()
            .find(|c| xml::is(c, NS_ASSERTION, "Assertion"))
            .and_then(issuer_of)
    });
    let mut status = Vec::new();
    let mut code = root
        .children()
        .find(|c| xml::is(c, NS_PROTOCOL, "Status"))
        .and_then(|s| s.children().find(|c| xml::is(c, NS_PROTOCOL, "StatusCode")));
    while let Some(c) = code {
        if status.len() == 3 {
            break;
        }
        status.push(c.attribute("Value").unwrap_or_default().to_owned());
        code = c.children().find(|c| xml::is(c, NS_PROTOCOL, "StatusCode"));
    }
    Some(Unverified { issuer, status })
}

impl Unverified {
    /// The provider whose entity id is the Issuer: the keys to verify with.
    pub fn provider<'s>(&self, sp: &'s SamlSettings) -> Option<&'s Arc<SamlProvider>> {
        let issuer = self.issuer.as_deref()?;
        sp.providers().find(|p| p.keys().entity_id == issuer)
    }

    /// A status other than Success, shortened for people (`Responder/AuthnFailed`).
    pub fn failed_status(&self) -> Option<String> {
        match self.status.first() {
            Some(s) if s != STATUS_SUCCESS => Some(
                self.status
                    .iter()
                    .map(|v| {
                        let short = v.rsplit(':').next().unwrap_or_default();
                        short
                            .chars()
                            .filter(char::is_ascii_alphanumeric)
                            .take(64)
                            .collect::<String>()
                    })
                    .collect::<Vec<_>>()
                    .join("/"),
            ),
            _ => None,
        }
    }
}
