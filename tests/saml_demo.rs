//! The demo: `idbroker dev saml-assertion` mints for the demo provider a response that the
//! demo configuration accepts, and refuses any other provider or key.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use idbroker::clock::{Clock, ManualClock, SystemClock};
use idbroker::federation::saml::{check, dev, InResponseTo};

mod common;

fn file(p: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(p)).unwrap()
}

#[test]
fn demo_assertions_verify_and_only_for_the_demo_provider() {
    let cfg = common::demo();
    let p = cfg
        .saml
        .provider("arn:aws:iam::123456789012:saml-provider/DemoIdP")
        .unwrap();
    let now = SystemClock.now();
    let role = "arn:aws:iam::123456789012:role/demo/SamlDeveloper";
    let (key, cert) = (
        file("certs/demo/saml-idp.key"),
        file("certs/demo/saml-idp.crt"),
    );
    let b64 =
        dev::demo_response(&cfg.saml, p, &key, &cert, role, "alice@example.com", now).unwrap();
    let checked = check(p, &cfg.saml, &b64, InResponseTo::Unsolicited, now).unwrap();
    assert_eq!(checked.subject(), "alice@example.com");

    // Another provider (same metadata, another name) is refused.
    let other = idbroker::federation::saml::SamlSettings::build(
        &idbroker::federation::saml::RawSamlSp::default(),
        &[idbroker::federation::saml::RawSamlProvider {
            name: "Okta".into(),
            metadata_file: Some(
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("certs/demo/saml-idp-metadata.xml"),
            ),
            metadata_url: None,
            metadata_refresh_seconds: 3600,
            allow_http_loopback: false,
            allow_sha1: false,
            clock_skew_seconds: 300,
            max_assertion_age_seconds: 300,
            expired_certs: "reject".into(),
            min_rsa_key_bits: 2048,
            require_aead_encryption: false,
            role_mappings: vec![],
        }],
        "123456789012",
        std::path::Path::new("."),
        now,
        &mut Vec::new(),
    )
    .unwrap();
    let okta = other
        .provider("arn:aws:iam::123456789012:saml-provider/Okta")
        .unwrap();
    let e = dev::demo_response(&other, okta, &key, &cert, role, "alice", now).unwrap_err();
    assert!(e.starts_with("refusing"), "{e}");

    // A key the demo provider does not trust is refused.
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    let other_key = openssl::pkey::PKey::from_rsa(rsa)
        .unwrap()
        .private_key_to_pem_pkcs8()
        .unwrap();
    let e = dev::demo_response(&cfg.saml, p, &other_key, &cert, role, "alice", now).unwrap_err();
    assert!(e.starts_with("refusing"), "{e}");
}

#[test]
fn the_dev_command_prints_count_responses_stamped_by_its_clock() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // 2026-11-28T12:00:00Z, inside the demo certificate's validity.
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_867_200));
    let mut out = Vec::new();
    idbroker::cli::dev::saml_assertions(
        &root.join("config/demo/idbroker.toml"),
        "arn:aws:iam::123456789012:role/demo/SamlDeveloper",
        "alice@example.com",
        (
            &root.join("certs/demo/saml-idp.key"),
            &root.join("certs/demo/saml-idp.crt"),
        ),
        2,
        &clock,
        &mut out,
    )
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_ne!(lines[0], lines[1], "each response has its own IDs");
    let cfg = common::demo();
    let p = cfg
        .saml
        .provider("arn:aws:iam::123456789012:saml-provider/DemoIdP")
        .unwrap();
    for b64 in lines {
        let at = |t| check(p, &cfg.saml, b64, InResponseTo::Unsolicited, t);
        assert_eq!(at(clock.now()).unwrap().subject(), "alice@example.com");
        // Valid five minutes from the clock's time, not the system's.
        assert!(at(clock.now() + Duration::from_secs(3600)).is_err());
    }
}

#[actix_web::test]
async fn sp_metadata_is_published() {
    let state = idbroker::build_state(
        common::demo(),
        std::sync::Arc::new(idbroker::clock::SystemClock),
    )
    .await
    .unwrap();
    let url = common::start(state).await;
    let md = common::get(&url, "/saml/metadata").await;
    assert!(md.starts_with("HTTP/1.1 200"), "{md}");
    assert!(md.contains("md:SPSSODescriptor"), "{md}");
}
