//! The console's SAML ACS with responses minted by a real third-party signer
//! (tests/saml/mint.py: signxml + lxml, fresh keys per run): the genuine response goes through
//! the role picker to a console session; every hostile response of the AssumeRoleWithSAML suite
//! (XSW 1-8, signature on the wrong element, duplicate IDs, attacker certificate, wrong
//! audience/recipient/destination/issuer, unsolicited InResponseTo, unsigned, DOCTYPE,
//! tampered or foreign encryption, expired, replay, ...) ends on an error page without a
//! session or a picker cookie: the console runs the same validator and replay guard.
//!
//! Needs python3 with signxml, lxml and cryptography; skipped without them except in CI.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;

use common::{raw_http, saml_setup, start};
use idbroker::clock::ManualClock;
use idbroker::config::Config;

use common::saml_setup::{config, ACCOUNT, LOCKED, MAPPED, ROLE};

/// The console section: an https public URL (Secure cookies) and one other allowed origin.
const CONSOLE: &str = r#"
[console]
public_url = "https://idb.example.com"
allowed_destinations = ["https://app.example.com"]
"#;

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn request(url: &str, method: &str, path: &str, cookie: &str, body: &str) -> String {
    raw_http(
        url,
        format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await
}

async fn acs(url: &str, response: &str, relay: &str) -> String {
    request(
        url,
        "POST",
        "/saml/acs",
        "",
        &format!("SAMLResponse={}&RelayState={}", enc(response), enc(relay)),
    )
    .await
}

fn header(answer: &str, name: &str) -> Option<String> {
    let head = answer.split("\r\n\r\n").next()?;
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

fn cookie(answer: &str, name: &str) -> Option<String> {
    let head = answer.split("\r\n\r\n").next()?;
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        let pair = v.trim().split(';').next()?;
        (k.eq_ignore_ascii_case("set-cookie") && pair.starts_with(&format!("{name}=")))
            .then(|| pair.to_owned())
    })
}

fn code(answer: &str) -> Option<&str> {
    let at = answer.find("data-code=\"")? + "data-code=\"".len();
    answer.get(at..at + answer.get(at..)?.find('"')?)
}

fn hidden<'a>(answer: &'a str, name: &str) -> &'a str {
    let marker = format!("name=\"{name}\" value=\"");
    let at = answer.find(&marker).unwrap() + marker.len();
    &answer[at..at + answer[at..].find('"').unwrap()]
}

#[actix_web::test]
async fn idp_initiated_sign_in_picker_and_hostile_responses() {
    let Some(m) = saml_setup::mint("console") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(m.now));
    let state = idbroker::build_state(config(&m, CONSOLE), clock.clone())
        .await
        .unwrap();
    let url = start(state).await;
    let case = |name: &str| m.cases.get(name).unwrap().clone();

    // Genuine, with a RelayState on an allowed origin: the Role attribute's role and the
    // mapped one are offered (the Locked one's trust policy refuses), so the picker.
    let a = acs(&url, &case("valid"), "https://app.example.com/reports").await;
    assert!(a.starts_with("HTTP/1.1 303"), "{a}");
    assert_eq!(header(&a, "location").as_deref(), Some("/console/roles"));
    let pick = cookie(&a, "idb_pick").unwrap();
    assert!(cookie(&a, "idb_console").is_none());
    let page = request(&url, "GET", "/console/roles", &pick, "").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains(&format!("value=\"{ROLE}\"")), "{page}");
    assert!(page.contains(&format!("value=\"{MAPPED}\"")));
    assert!(!page.contains(LOCKED));
    assert!(page.contains("Runs the reports"));
    assert!(page.contains("Account 123456789012"));
    let csrf = hidden(&page, "csrf").to_owned();

    // A role that was not offered, and a wrong CSRF token, are refused.
    let r = request(
        &url,
        "POST",
        "/console/roles",
        &pick,
        &format!("role={}&csrf={csrf}", enc(LOCKED)),
    )
    .await;
    assert_eq!(code(&r), Some("no_role"), "{r}");
    let r = request(
        &url,
        "POST",
        "/console/roles",
        &pick,
        &format!("role={}&csrf=0000", enc(ROLE)),
    )
    .await;
    assert_eq!(code(&r), Some("csrf"), "{r}");

    // The pick: a session, the cookie, and the RelayState destination.
    let body = format!("role={}&csrf={csrf}", enc(ROLE));
    let r = request(&url, "POST", "/console/roles", &pick, &body).await;
    assert!(r.starts_with("HTTP/1.1 303"), "{r}");
    assert_eq!(
        header(&r, "location").as_deref(),
        Some("https://app.example.com/reports")
    );
    let session = cookie(&r, "idb_console").unwrap();
    let set = header(&r, "set-cookie").unwrap();
    assert!(
        set.contains("Secure"),
        "an https public URL makes Secure cookies: {set}"
    );
    let landing = request(&url, "GET", "/console", &session, "").await;
    assert!(
        landing.contains("arn:aws:sts::123456789012:assumed-role/SamlUser/alice@example.com"),
        "{landing}"
    );
    // The pick is single use.
    let r = request(&url, "POST", "/console/roles", &pick, &body).await;
    assert_eq!(code(&r), Some("csrf"), "{r}");

    // Replayed, expired, a RelayState that is not allowed.
    assert_eq!(
        code(&acs(&url, &case("valid"), "").await),
        Some("invalid_identity")
    );
    assert_eq!(
        code(&acs(&url, &case("expired"), "").await),
        Some("expired_assertion")
    );
    assert_eq!(
        code(&acs(&url, &case("spare1"), "https://evil.example/").await),
        Some("destination")
    );

    // Everything AssumeRoleWithSAML refuses, the console refuses.
    for name in [
        "xsw1",
        "xsw2",
        "xsw3",
        "xsw4",
        "xsw5",
        "xsw6",
        "xsw7",
        "xsw8",
        "signature_on_wrong_element",
        "duplicate_ids",
        "attacker_cert_same_subject",
        "expired_cert",
        "not_yet_valid",
        "issued_in_future",
        "wrong_audience",
        "wrong_recipient",
        "wrong_destination",
        "wrong_issuer",
        "in_response_to_unsolicited",
        "no_conditions",
        "unsigned",
        "doctype_billion_laughs",
        "enc_other_sp_key",
        "enc_tampered_gcm",
        "enc_tampered_cbc",
        "enc_unsigned",
        "enc_attacker_signed",
        "enc_beside_plain_assertion",
        "enc_doctype_inside",
        "enc_twice",
        "session_not_on_or_after_passed",
    ] {
        let a = acs(&url, &case(name), "").await;
        assert!(
            matches!(code(&a), Some("invalid_identity" | "expired_assertion")),
            "{name}: {a}"
        );
        assert!(cookie(&a, "idb_console").is_none(), "{name}");
        assert!(cookie(&a, "idb_pick").is_none(), "{name}");
        assert!(a.contains("id=\"request-id\""), "{name}");
    }

    // A response whose status is not Success: the IdP's error, shown as such.
    let a = acs(&url, &case("status_not_success"), "").await;
    assert_eq!(code(&a), Some("idp_error"), "{a}");
    assert!(a.contains("status Responder"), "{a}");
    assert!(cookie(&a, "idb_console").is_none());

    // The IdP's SessionDuration (with_tags says 1800 s) is each option's session length.
    let a = acs(&url, &case("with_tags"), "").await;
    assert_eq!(
        header(&a, "location").as_deref(),
        Some("/console/roles"),
        "{a}"
    );
    let page = request(
        &url,
        "GET",
        "/console/roles",
        &cookie(&a, "idb_pick").unwrap(),
        "",
    )
    .await;
    assert!(
        page.contains("Session 30 min as dave@example.com"),
        "{page}"
    );
}

#[actix_web::test]
async fn sp_initiated_authn_request_is_signed_and_well_formed() {
    use std::io::Read;
    let Some(m) = saml_setup::mint("console_sp") else {
        return;
    };
    // An SP with its own entity id and ACS on idbroker, signing its AuthnRequests.
    let toml_path = m.dir.join("signed.toml");
    let original = format!(
        r#"
account_id = "{ACCOUNT}"
[saml]
sp_entity_id = "urn:idbroker:console"
acs_url = "https://idb.example.com/saml/acs"
sp_private_key_file = ["{}"]
sp_certificate_file = "{}"
[[saml_providers]]
name = "TestIdP"
metadata_file = "{}"
[console]
public_url = "https://idb.example.com"
sign_authn_requests = true
"#,
        m.dir.join("sp_key.pem").display(),
        m.dir.join("sp_cert.pem").display(),
        m.dir.join("metadata.xml").display(),
    );
    std::fs::write(&toml_path, &original).unwrap();
    let cfg = Config::from_toml(&original, &toml_path, &|_| None, m.now).unwrap();
    let clock = Arc::new(ManualClock::new(m.now));
    let state = idbroker::build_state(cfg, clock.clone()).await.unwrap();
    let url = start(state).await;

    // The SP metadata publishes the signing certificate, so the IdP can check the requests.
    let md = request(&url, "GET", "/saml/metadata", "", "").await;
    assert!(md.contains(r#"AuthnRequestsSigned="true""#), "{md}");
    assert!(md.contains(r#"<md:KeyDescriptor use="signing">"#), "{md}");
    let page = request(&url, "GET", "/console/signin", "", "").await;
    assert!(
        page.contains(r#"id="signin-saml-TestIdP" href="/console/saml/login?provider=TestIdP""#),
        "{page}"
    );
    let r = request(
        &url,
        "GET",
        "/console/saml/login?provider=TestIdP&to=%2Fconsole",
        "",
        "",
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 302"), "{r}");
    let location = header(&r, "location").unwrap();
    let (sso, query) = location.split_once('?').unwrap();
    assert_eq!(sso, "https://idp.test/sso");
    // The signature covers the query as sent, up to SigAlg.
    let (signed, signature) = query.split_once("&Signature=").unwrap();
    let params: std::collections::HashMap<String, String> =
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(params["RelayState"], "/console");
    assert_eq!(
        params["SigAlg"],
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    );
    let sig: String = form_urlencoded::parse(format!("s={signature}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned();
    let sig = data_encoding::BASE64.decode(sig.as_bytes()).unwrap();
    let cert =
        openssl::x509::X509::from_pem(&std::fs::read(m.dir.join("sp_cert.pem")).unwrap()).unwrap();
    let key = cert.public_key().unwrap();
    let mut v = openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
    v.update(signed.as_bytes()).unwrap();
    assert!(
        v.verify(&sig).unwrap(),
        "the AuthnRequest signature verifies with the SP cert"
    );
    // The request itself.
    let deflated = data_encoding::BASE64
        .decode(params["SAMLRequest"].as_bytes())
        .unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..])
        .read_to_string(&mut xml)
        .unwrap();
    assert!(
        xml.contains(r#"AssertionConsumerServiceURL="https://idb.example.com/saml/acs""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"Destination="https://idp.test/sso""#),
        "{xml}"
    );
    assert!(
        xml.contains("<saml:Issuer>urn:idbroker:console</saml:Issuer>"),
        "{xml}"
    );
    assert!(xml.contains(r#" ID="_"#), "{xml}");
    // Unknown provider, or a destination that is not allowed: error pages.
    let r = request(
        &url,
        "GET",
        "/console/saml/login?provider=TestIdP&to=https%3A%2F%2Fevil.example%2F",
        "",
        "",
    )
    .await;
    assert_eq!(code(&r), Some("destination"));
}
