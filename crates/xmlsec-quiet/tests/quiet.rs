//! What this crate is for, checked on the library path idbroker takes (samael on libxmlsec1): a
//! failing signature verification makes libxmlsec1 print its errors to stderr, and after
//! [`silence_xmlsec`] it prints nothing, while the verification still fails.
//!
//! libxmlsec1 writes through the C library's stderr, which the test harness does not capture:
//! each case runs in a child process (this test binary again, told which case by
//! `XMLSEC_QUIET_CASE`), and the parent reads the child's stderr between two markers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use idbroker_xmlsec_quiet::silence_xmlsec;
use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509Builder, X509NameBuilder};
use samael::crypto::{CertificateDer, Crypto, CryptoProvider, ReduceMode, VerificationKey};

const CASE: &str = "XMLSEC_QUIET_CASE";
const BEGIN: &str = "--- xmlsec-quiet: verification begins ---";
const END: &str = "--- xmlsec-quiet: verification ends ---";

/// An enveloped-signature template over the root element (the SAML signature profile).
const TEMPLATE: &str = concat!(
    r#"<Response xmlns="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r1" Version="2.0">"#,
    r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>"#,
    r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
    r#"<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>"#,
    r##"<ds:Reference URI="#_r1"><ds:Transforms>"##,
    r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#,
    r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>"#,
    r#"<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>"#,
    r#"<ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/></ds:Signature>"#,
    r#"<Status>alice</Status></Response>"#,
);

/// A fresh RSA key (PKCS#8 DER) and its self-signed certificate (DER).
fn key_pair() -> (Vec<u8>, Vec<u8>) {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "xmlsec-quiet test")
        .unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    (
        key.private_key_to_pkcs8().unwrap(),
        b.build().to_der().unwrap(),
    )
}

/// In the child: load the key into xmlsec, verify the signed document (must pass) and a
/// tampered copy (must fail), between the markers; `quiet` silences xmlsec first (twice: the
/// second call is a no-op).
fn child(quiet: bool) {
    let (private, cert) = key_pair();
    let signed = Crypto::sign_xml(TEMPLATE, &private).unwrap();
    let tampered = signed.replace(">alice<", ">mallory<");
    assert_ne!(signed, tampered);
    if quiet {
        silence_xmlsec();
        silence_xmlsec();
    }
    eprintln!("{BEGIN}");
    let key = VerificationKey::from_certificate_der(&CertificateDer::from(cert)).unwrap();
    let verify = |xml: &str| {
        Crypto::reduce_xml_to_signed_with_keys(
            xml,
            std::slice::from_ref(&key),
            ReduceMode::ValidateAndMarkNoAncestors,
            None,
        )
    };
    let genuine = verify(&signed);
    let forged = verify(&tampered);
    eprintln!("{END}");
    assert!(genuine.is_ok(), "the genuine document: {genuine:?}");
    assert!(forged.is_err(), "the tampered document verified");
}

/// Run `case` in a child process; what it wrote to stderr between the markers.
fn run(case: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "silenced_xmlsec_prints_nothing_on_a_failed_verification",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CASE, case)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{case} child failed: {out:?}\n{stderr}"
    );
    let begin = stderr
        .find(BEGIN)
        .unwrap_or_else(|| panic!("{case}: no begin marker (did the test run?): {stderr}"));
    let end = stderr
        .find(END)
        .unwrap_or_else(|| panic!("{case}: no end marker: {stderr}"));
    stderr[begin + BEGIN.len()..end].trim().to_owned()
}

#[test]
fn silenced_xmlsec_prints_nothing_on_a_failed_verification() {
    match std::env::var(CASE).as_deref() {
        Ok("loud") => return child(false),
        Ok("quiet") => return child(true),
        _ => {}
    }
    // Without the call, libxmlsec1 prints its errors (else the quiet case would prove nothing).
    let loud = run("loud");
    assert!(
        loud.contains("func="),
        "libxmlsec1 printed no error without silence_xmlsec(): {loud:?}"
    );
    // With it: not a line, and the verification still failed (asserted in the child).
    assert_eq!(run("quiet"), "");
}
