//! The passes before any signature is verified: the lexical pass ([`strip`]: declarations
//! refused, comments dropped) and the profile pass ([`profile`]) on the whole document: one
//! SAML 2.0 Response with exactly one Assertion, no duplicate ID, nothing encrypted left, and
//! every `ds:Signature` an enveloped signature of the Response or the Assertion, in its schema
//! place, with one same-document reference, the allowed transforms and algorithms.

use std::borrow::Cow;

use super::config::SamlProvider;
use super::datetime::parse_time;
use super::error::SamlError;
use super::xml::{self, NS_ASSERTION, NS_DS, NS_PROTOCOL};

const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const C14N: [&str; 2] = [
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
];
const SIG_SHA2: [&str; 6] = [
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
];
const DIGEST_SHA2: [&str; 3] = [
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
];
const SIG_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
const DIGEST_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";

/// What the profile pass learned from the whole (not yet verified) document. Used only to
/// refuse: nothing here reaches a [`VerifiedAssertion`](super::VerifiedAssertion).
#[derive(Debug)]
pub(super) struct Outer {
    pub(super) response_signed: bool,
    pub(super) assertion_signed: bool,
    pub(super) assertion_id: String,
    pub(super) destination: Option<String>,
    pub(super) in_response_to: Option<String>,
    pub(super) issue_instant: i64,
    pub(super) issuer: Option<String>,
    pub(super) status: Option<String>,
}

/// The lexical pass: declarations refused, comments dropped.
pub(super) fn strip(text: &str) -> Result<Cow<'_, str>, SamlError> {
    xml::strip_comments(text).map_err(|e| match e {
        xml::LexError::Declaration => {
            SamlError::Malformed("DOCTYPE and entity declarations are not allowed")
        }
        xml::LexError::Unterminated => SamlError::Malformed("the response is not well-formed XML"),
        xml::LexError::Encoding => SamlError::Malformed(
            "the response must be UTF-8 (its XML declaration names another encoding)",
        ),
    })
}

/// A `ds:Signature` element: enveloped in the Response (`root`) or the Assertion, right after
/// Issuer, at most one per element (`seen` = the element already has one), its SignedInfo in
/// the profile. Returns whether it signs the Response.
pub(super) fn signature_element_ok(
    provider: &SamlProvider,
    sig: &roxmltree::Node<'_, '_>,
    root: &roxmltree::Node<'_, '_>,
    assertion: Option<&roxmltree::Node<'_, '_>>,
    seen: bool,
) -> Result<bool, SamlError> {
    let parent = sig
        .parent_element()
        .ok_or(SamlError::Malformed("a signature has no parent"))?;
    let is_response = parent == *root;
    if !is_response && Some(&parent) != assertion {
        return Err(SamlError::Signature(
            "a signature signs neither the Response nor the Assertion",
        ));
    }
    let before: Vec<_> = sig
        .prev_siblings()
        .skip(1)
        .filter(|n| n.is_element())
        .collect();
    let position_ok = match before.as_slice() {
        [] => is_response,
        [only] => xml::is(only, NS_ASSERTION, "Issuer"),
        _ => false,
    };
    if !position_ok {
        return Err(SamlError::Signature(
            "a signature is not where the schema puts it",
        ));
    }
    if seen {
        return Err(SamlError::Signature("an element carries two signatures"));
    }
    // SignedInfo, SignatureValue, KeyInfo: nothing else. A ds:Object (with a Manifest that
    // references any URI) is outside what the signature value covers; it is refused here,
    // before xmlsec sees it (xmlsec is also set to ignore manifests: vendor/samael patch 3).
    if sig.children().filter(|n| n.is_element()).any(|n| {
        !(xml::is(&n, NS_DS, "SignedInfo")
            || xml::is(&n, NS_DS, "SignatureValue")
            || xml::is(&n, NS_DS, "KeyInfo"))
    }) {
        return Err(SamlError::Signature(
            "a signature holds an element other than SignedInfo, SignatureValue and KeyInfo",
        ));
    }
    let parent_id = parent
        .attribute("ID")
        .ok_or(SamlError::Signature("the signed element has no ID"))?;
    signed_info_ok(provider, sig, parent_id)?;
    Ok(is_response)
}

/// `preverified`: the text was rebuilt after decryption from a Response whose signature was
/// verified (see [`open_encrypted`](super::encrypted::open_encrypted)); an unsigned Assertion
/// is then acceptable.
pub(super) fn profile(
    provider: &SamlProvider,
    text: &str,
    preverified: bool,
) -> Result<Outer, SamlError> {
    let doc = xml::parse(text)
        .map_err(|_| SamlError::Malformed("the response is not well-formed XML"))?;
    let root = doc.root_element();
    if !xml::is(&root, NS_PROTOCOL, "Response") {
        return Err(SamlError::Malformed(
            "the root element is not a SAML 2.0 Response",
        ));
    }
    if root.attribute("Version") != Some("2.0") {
        return Err(SamlError::Malformed("the Response is not SAML version 2.0"));
    }
    let mut ids = std::collections::HashSet::new();
    for n in doc.descendants().filter(|n| n.is_element()) {
        if let Some(id) = n.attribute("ID") {
            if !ids.insert(id) {
                return Err(SamlError::Malformed("duplicate ID attributes"));
            }
        }
        if xml::is(&n, NS_ASSERTION, "EncryptedAssertion")
            || xml::is(&n, NS_ASSERTION, "EncryptedID")
            || xml::is(&n, NS_ASSERTION, "EncryptedAttribute")
        {
            // One EncryptedAssertion, a child of the Response, is opened before this pass;
            // anything encrypted left (nested, EncryptedID, EncryptedAttribute) is refused.
            return Err(SamlError::Malformed(
                "only one EncryptedAssertion, a child of the Response, is supported (no EncryptedID or EncryptedAttribute)",
            ));
        }
    }
    let assertions: Vec<_> = doc
        .descendants()
        .filter(|n| xml::is(n, NS_ASSERTION, "Assertion"))
        .collect();
    let [assertion] = assertions.as_slice() else {
        return Err(SamlError::Malformed(
            "the Response must contain exactly one Assertion",
        ));
    };
    if assertion.parent_element() != Some(root) {
        return Err(SamlError::Malformed(
            "the Assertion must be a child of the Response",
        ));
    }
    let assertion_id = assertion
        .attribute("ID")
        .ok_or(SamlError::Malformed("the Assertion has no ID"))?;

    let mut response_signed = false;
    let mut assertion_signed = false;
    for sig in doc.descendants().filter(|n| xml::is(n, NS_DS, "Signature")) {
        let on_response = sig.parent_element() == Some(root);
        let seen = if on_response {
            response_signed
        } else {
            assertion_signed
        };
        signature_element_ok(provider, &sig, &root, Some(assertion), seen)?;
        if on_response {
            response_signed = true;
        } else {
            assertion_signed = true;
        }
    }
    if !response_signed && !assertion_signed && !preverified {
        return Err(SamlError::Signature(
            "neither the Response nor the Assertion is signed",
        ));
    }
    let status = xml::child(&root, NS_PROTOCOL, "Status")
        .and_then(|s| xml::child(&s, NS_PROTOCOL, "StatusCode"))
        .and_then(|c| c.attribute("Value"))
        .map(str::to_owned);
    Ok(Outer {
        response_signed,
        assertion_signed,
        assertion_id: assertion_id.to_owned(),
        destination: root.attribute("Destination").map(str::to_owned),
        in_response_to: root.attribute("InResponseTo").map(str::to_owned),
        issue_instant: parse_time(
            root.attribute("IssueInstant")
                .ok_or(SamlError::Malformed("the Response has no IssueInstant"))?,
        )?,
        issuer: xml::child(&root, NS_ASSERTION, "Issuer")
            .map(|i| xml::full_text(&i).trim().to_owned()),
        status,
    })
}

fn alg<'a>(n: Option<roxmltree::Node<'a, '_>>) -> Option<&'a str> {
    n.and_then(|n| n.attribute("Algorithm"))
}

/// One Reference to the parent (`#ID`), enveloped signature, comment-less c14n, allowed
/// algorithms: nothing else (no XPath, XPointer, XSLT, detached or foreign references).
fn signed_info_ok(
    provider: &SamlProvider,
    sig: &roxmltree::Node<'_, '_>,
    parent_id: &str,
) -> Result<(), SamlError> {
    let bad = SamlError::Signature("the signature is outside the SAML signature profile");
    let si = xml::child(sig, NS_DS, "SignedInfo").ok_or(bad.clone())?;
    let c14n = alg(xml::child(&si, NS_DS, "CanonicalizationMethod"));
    if !c14n.is_some_and(|a| C14N.contains(&a)) {
        return Err(bad);
    }
    let method = alg(xml::child(&si, NS_DS, "SignatureMethod")).unwrap_or_default();
    let sha1_ok = provider.allow_sha1 && method == SIG_SHA1;
    if !(SIG_SHA2.contains(&method) || sha1_ok) {
        return Err(SamlError::Signature(
            "the signature algorithm is not allowed for this provider",
        ));
    }
    let refs: Vec<_> = xml::children(&si, NS_DS, "Reference").collect();
    let [reference] = refs.as_slice() else {
        return Err(bad);
    };
    if reference.attribute("URI").and_then(|u| u.strip_prefix('#')) != Some(parent_id) {
        return Err(bad);
    }
    let mut enveloped = false;
    if let Some(transforms) = xml::child(reference, NS_DS, "Transforms") {
        for t in transforms.children().filter(|n| n.is_element()) {
            if !xml::is(&t, NS_DS, "Transform") {
                return Err(bad);
            }
            match t.attribute("Algorithm") {
                Some(ENVELOPED) => enveloped = true,
                Some(a) if C14N.contains(&a) => {}
                _ => return Err(bad),
            }
            // Only exc-c14n's InclusiveNamespaces may sit inside a transform.
            if t.children()
                .filter(|n| n.is_element())
                .any(|n| n.tag_name().name() != "InclusiveNamespaces")
            {
                return Err(bad);
            }
        }
    }
    if !enveloped {
        return Err(bad);
    }
    let digest = alg(xml::child(reference, NS_DS, "DigestMethod")).unwrap_or_default();
    if !(DIGEST_SHA2.contains(&digest) || (provider.allow_sha1 && digest == DIGEST_SHA1)) {
        return Err(SamlError::Signature(
            "the digest algorithm is not allowed for this provider",
        ));
    }
    Ok(())
}
