//! The values of the assertion, read from samael's reduced document, which holds only what a
//! trusted signature covers ([`read_signed`]): ID, Issuer, NameID and its format, bearer
//! confirmations, Conditions, SessionNotOnOrAfter, attributes.

use super::datetime::{opt_time, parse_time};
use super::error::SamlError;
use super::profile::Outer;
use super::xml::{self, NS_ASSERTION, NS_PROTOCOL, NS_XSI};

const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const NAMEID_PREFIX: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:";
const NAMEID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

/// The values of the signed assertion.
#[derive(Debug)]
pub(super) struct Signed {
    pub(super) id: String,
    pub(super) issuer: String,
    pub(super) issue_instant: i64,
    pub(super) name_id: String,
    pub(super) subject_type: String,
    pub(super) bearer: Vec<Bearer>,
    pub(super) not_before: Option<i64>,
    pub(super) not_on_or_after: Option<i64>,
    pub(super) audiences: Option<Vec<Vec<String>>>,
    pub(super) session_not_on_or_after: Option<i64>,
    pub(super) attributes: Vec<(String, Vec<String>)>,
}

#[derive(Debug)]
pub(super) struct Bearer {
    pub(super) recipient: Option<String>,
    pub(super) not_before: Option<i64>,
    pub(super) not_on_or_after: Option<i64>,
    pub(super) in_response_to: Option<String>,
}

/// Read the assertion out of samael's reduced document (signed content only).
pub(super) fn read_signed(reduced: &str, outer: &Outer) -> Result<Signed, SamlError> {
    let unsigned = SamlError::Signature("the assertion is not covered by a valid signature");
    let doc = xml::parse(reduced).map_err(|_| unsigned.clone())?;
    let root = doc.root_element();
    let assertion = if xml::is(&root, NS_ASSERTION, "Assertion") {
        if outer.response_signed {
            return Err(unsigned);
        }
        root
    } else if xml::is(&root, NS_PROTOCOL, "Response") {
        let list: Vec<_> = xml::children(&root, NS_ASSERTION, "Assertion").collect();
        let [a] = list.as_slice() else {
            return Err(unsigned);
        };
        *a
    } else {
        return Err(unsigned);
    };
    let id = assertion.attribute("ID").unwrap_or_default();
    if id != outer.assertion_id {
        return Err(unsigned);
    }
    if assertion.attribute("Version") != Some("2.0") {
        return Err(SamlError::Malformed(
            "the Assertion is not SAML version 2.0",
        ));
    }
    let issuer = xml::child(&assertion, NS_ASSERTION, "Issuer")
        .map(|i| xml::full_text(&i).trim().to_owned())
        .ok_or(SamlError::Malformed("the Assertion has no Issuer"))?;
    let issue_instant = parse_time(
        assertion
            .attribute("IssueInstant")
            .ok_or(SamlError::Malformed("the Assertion has no IssueInstant"))?,
    )?;
    let subject = xml::child(&assertion, NS_ASSERTION, "Subject")
        .ok_or(SamlError::Malformed("the Assertion has no Subject"))?;
    let name_id = xml::child(&subject, NS_ASSERTION, "NameID")
        .ok_or(SamlError::Malformed("the Subject has no NameID"))?;
    if name_id.children().any(|n| n.is_element()) {
        return Err(SamlError::Malformed("the NameID holds elements"));
    }
    let name_id_text = xml::full_text(&name_id).trim().to_owned();
    if name_id_text.is_empty() {
        return Err(SamlError::Malformed("the NameID is empty"));
    }
    let format = name_id.attribute("Format").unwrap_or(NAMEID_UNSPECIFIED);
    let subject_type = format
        .strip_prefix(NAMEID_PREFIX)
        .unwrap_or(format)
        .to_owned();
    let mut bearer = Vec::new();
    for sc in xml::children(&subject, NS_ASSERTION, "SubjectConfirmation") {
        if sc.attribute("Method") != Some(BEARER) {
            continue;
        }
        let data = xml::child(&sc, NS_ASSERTION, "SubjectConfirmationData");
        bearer.push(Bearer {
            recipient: data
                .and_then(|d| d.attribute("Recipient"))
                .map(str::to_owned),
            not_before: data
                .map(|d| opt_time(&d, "NotBefore"))
                .transpose()?
                .flatten(),
            not_on_or_after: data
                .map(|d| opt_time(&d, "NotOnOrAfter"))
                .transpose()?
                .flatten(),
            in_response_to: data
                .and_then(|d| d.attribute("InResponseTo"))
                .map(str::to_owned),
        });
    }
    let conditions: Vec<_> = xml::children(&assertion, NS_ASSERTION, "Conditions").collect();
    let (not_before, not_on_or_after, audiences) = match conditions.as_slice() {
        [] => (None, None, None),
        [c] => (
            opt_time(c, "NotBefore")?,
            opt_time(c, "NotOnOrAfter")?,
            Some(
                xml::children(c, NS_ASSERTION, "AudienceRestriction")
                    .map(|r| {
                        xml::children(&r, NS_ASSERTION, "Audience")
                            .map(|a| xml::full_text(&a).trim().to_owned())
                            .collect()
                    })
                    .collect(),
            ),
        ),
        _ => return Err(SamlError::Malformed("the Assertion has several Conditions")),
    };
    let mut session_not_on_or_after: Option<i64> = None;
    for s in xml::children(&assertion, NS_ASSERTION, "AuthnStatement") {
        if let Some(t) = opt_time(&s, "SessionNotOnOrAfter")? {
            session_not_on_or_after = Some(session_not_on_or_after.map_or(t, |o| o.min(t)));
        }
    }
    let mut attributes: Vec<(String, Vec<String>)> = Vec::new();
    for st in xml::children(&assertion, NS_ASSERTION, "AttributeStatement") {
        for a in xml::children(&st, NS_ASSERTION, "Attribute") {
            let name = a.attribute("Name").unwrap_or_default().to_owned();
            let values: Vec<String> = xml::children(&a, NS_ASSERTION, "AttributeValue")
                .filter(|v| v.attribute((NS_XSI, "nil")) != Some("true"))
                .map(|v| xml::full_text(&v).trim().to_owned())
                .collect();
            match attributes.iter_mut().find(|(n, _)| *n == name) {
                Some((_, list)) => list.extend(values),
                None => attributes.push((name, values)),
            }
        }
    }
    Ok(Signed {
        id: id.to_owned(),
        issuer,
        issue_instant,
        name_id: name_id_text,
        subject_type,
        bearer,
        not_before,
        not_on_or_after,
        audiences,
        session_not_on_or_after,
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    // The unit tests below call samael's certificate-based entry point.
    use samael::crypto::{CertificateDer, Crypto, CryptoProvider, ReduceMode};

    /// A file of the SAML corpus in the repository (tests/data/saml); a missing one fails the test.
    fn testdata(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/saml")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn fixture(name: &str) -> String {
        testdata(&format!("fixtures/{name}"))
    }

    fn outer(assertion_id: &str) -> Outer {
        Outer {
            response_signed: true,
            assertion_signed: false,
            assertion_id: assertion_id.into(),
            destination: None,
            in_response_to: None,
            issue_instant: 0,
            issuer: None,
            status: None,
        }
    }

    /// CVE-2017-11428 (ruby-saml fixture 29, signature valid): the NameID split by a comment
    /// reads as all of its text, from the content samael verified.
    #[test]
    fn a_comment_never_truncates_a_signed_name_id() {
        let xml = fixture("29_comment_response_node_text_attack2.xml");
        let text = xml::strip_comments(&xml).unwrap_or_default();
        let pem = testdata("certs/4b68c453c7d994aa.pem");
        let der = openssl::x509::X509::from_pem(pem.as_bytes())
            .and_then(|c| c.to_der())
            .unwrap_or_default();
        let reduced = Crypto::reduce_xml_to_signed(
            &text,
            &[CertificateDer::from(der)],
            ReduceMode::ValidateAndMarkNoAncestors,
        );
        assert!(reduced.is_ok(), "the fixture's signature verifies");
        let doc = xml::parse(&text).ok();
        let id = doc
            .as_ref()
            .and_then(|d| {
                d.descendants()
                    .find(|n| xml::is(n, NS_ASSERTION, "Assertion"))
            })
            .and_then(|a| a.attribute("ID"))
            .unwrap_or_default()
            .to_owned();
        let signed = read_signed(&reduced.unwrap_or_default(), &outer(&id));
        assert_eq!(
            signed.map(|s| s.name_id).ok().as_deref(),
            Some("test@onelogin.com")
        );
    }

    /// python3-saml fixture 31 (parse only): comments in NameID and an attribute value.
    #[test]
    fn comments_in_values_read_as_all_of_their_text() {
        let xml = fixture("31_comment_response_node_text_attack.xml");
        let text = xml::strip_comments(&xml).unwrap_or_default();
        let doc = xml::parse(&text).ok();
        let id = doc
            .as_ref()
            .and_then(|d| {
                d.descendants()
                    .find(|n| xml::is(n, NS_ASSERTION, "Assertion"))
            })
            .and_then(|a| a.attribute("ID"))
            .unwrap_or_default()
            .to_owned();
        let mut o = outer(&id);
        o.response_signed = false;
        let signed = read_signed(&text, &o);
        let signed = signed.ok();
        assert_eq!(
            signed.as_ref().map(|s| s.name_id.as_str()),
            Some("support@onelogin.com")
        );
        let all: Vec<&str> = signed
            .iter()
            .flat_map(|s| {
                s.attributes
                    .iter()
                    .flat_map(|(_, v)| v.iter().map(String::as_str))
            })
            .collect();
        assert!(all.iter().all(|v| !v.contains("<!--")), "{all:?}");
    }
}
