//! Interop with samlify (a widely used Node.js SAML library, xml-crypto signer) as the IdP: its
//! IdP-initiated responses carry `InResponseTo=""` on the Response and in the signed
//! SubjectConfirmationData. An empty InResponseTo names no request, so AssumeRoleWithSAML and
//! the console's IdP-initiated sign-in accept them; an SP-initiated check still needs the exact
//! request id (issue 13, item 7).
//!
//! Needs Node and `npm ci --prefix tests/samlify` (scripts/test.sh does both). Without them the
//! test is skipped, except in CI (`CI=true`), where it fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use idbroker::clock::{Clock, SystemClock};
use idbroker::federation::saml::{check, InResponseTo, SamlError};
use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509NameBuilder, X509};

mod common;
use common::saml_setup::{config, ACS, ISSUER, PROVIDER, ROLE};
use common::{raw_http, start, Minted};

/// A fresh RSA-2048 key and a self-signed certificate for `cn`, as PEM.
fn keypair(cn: &str) -> (Vec<u8>, Vec<u8>) {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    let serial = openssl::bn::BigNum::from_u32(7)
        .unwrap()
        .to_asn1_integer()
        .unwrap();
    b.set_serial_number(&serial).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    (
        key.private_key_to_pem_pkcs8().unwrap(),
        b.build().to_pem().unwrap(),
    )
}

fn der_b64(pem: &[u8]) -> String {
    String::from_utf8_lossy(pem)
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect()
}

/// The IdP's key pair, its metadata and the SP's keys in a fresh directory.
fn setup() -> (Minted, PathBuf, PathBuf) {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("samlify_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (idp_key, idp_cert) = keypair("idp.test");
    let (sp_key, sp_cert) = keypair("sp.test");
    let write = |name: &str, data: &[u8]| {
        std::fs::write(dir.join(name), data).unwrap();
        dir.join(name)
    };
    let key = write("idp_key.pem", &idp_key);
    let cert = write("idp_cert.pem", &idp_cert);
    write("sp_key.pem", &sp_key);
    write("sp_cert.pem", &sp_cert);
    write(
        "metadata.xml",
        format!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{ISSUER}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.test/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"#,
            der_b64(&idp_cert)
        )
        .as_bytes(),
    );
    let m = Minted {
        dir,
        now: SystemClock.now(),
        cases: Default::default(),
    };
    (m, key, cert)
}

/// A samlify response for `user`; `None` (skip) when Node or samlify is missing outside CI.
fn samlify(key: &Path, cert: &Path, user: &str) -> Option<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/samlify");
    if !root.join("node_modules/samlify").is_dir() {
        common::skip_or_fail("samlify is not installed (npm ci --prefix tests/samlify)");
        return None;
    }
    let out = std::process::Command::new("node")
        .arg(root.join("mint.mjs"))
        .arg(key)
        .arg(cert)
        .args([ISSUER, ACS, ROLE, PROVIDER, user])
        .output();
    match out {
        Ok(o) if o.status.success() => Some(String::from_utf8(o.stdout).unwrap()),
        Err(e) => {
            common::skip_or_fail(format!("node: {e}"));
            None
        }
        other => panic!("samlify mint failed: {other:?}"),
    }
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn post(url: &str, path: &str, body: String) -> String {
    raw_http(
        url,
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await
}

#[actix_web::test]
async fn samlify_idp_initiated_responses_are_accepted() {
    let (m, key, cert) = setup();
    let Some(b64) = samlify(&key, &cert, "alice@example.com") else {
        return;
    };
    let xml = String::from_utf8(data_encoding::BASE64.decode(b64.as_bytes()).unwrap()).unwrap();
    // What this test is about: samlify's empty InResponseTo, in both places.
    assert!(xml.contains(r#"Version="2.0" IssueInstant"#), "{xml}");
    assert_eq!(xml.matches(r#"InResponseTo="""#).count(), 2, "{xml}");

    let cfg = config(&m, "[console]\npublic_url = \"https://idb.example.com\"\n");
    // SP-initiated: an empty InResponseTo is not the request id.
    let provider = cfg.saml.provider(PROVIDER).unwrap();
    let sp_initiated = check(
        provider,
        &cfg.saml,
        &b64,
        InResponseTo::OneOf(vec!["_request-1".into()]),
        SystemClock.now(),
    );
    assert!(
        matches!(&sp_initiated, Err(SamlError::Rejected(m)) if m.contains("InResponseTo")),
        "{sp_initiated:?}"
    );

    let state = idbroker::build_state(cfg, Arc::new(idbroker::clock::SystemClock))
        .await
        .unwrap();
    let url = start(state).await;
    // AssumeRoleWithSAML (IdP-initiated by nature).
    let answer = post(
        &url,
        "/",
        format!(
            "Action=AssumeRoleWithSAML&Version=2011-06-15&RoleArn={}&PrincipalArn={}&SAMLAssertion={}",
            enc(ROLE),
            enc(PROVIDER),
            enc(&b64)
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("<AccessKeyId>ASIA"), "{answer}");
    assert!(
        answer.contains("<Subject>alice@example.com</Subject>"),
        "{answer}"
    );

    // The console's ACS, IdP-initiated: a fresh response (the first one is spent) signs in.
    let b64 = samlify(&key, &cert, "alice@example.com").unwrap();
    let answer = post(&url, "/saml/acs", format!("SAMLResponse={}", enc(&b64))).await;
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    assert!(!answer.contains("data-code="), "an error page: {answer}");
}
