//! AssumeRoleWithSAML's CPU work: a 2-signature response (Response + Assertion, RSA-2048,
//! SHA-256, exc-c14n) from the demo provider, checked as the server checks it (everything but
//! the single-use write to the store), and the parts of that work measured alone.
//!
//! `cargo bench --bench saml` (figures in docs/PERFORMANCE.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use idbroker::clock::{Clock, SystemClock};
use idbroker::federation::saml::{self, dev, InResponseTo};

fn bench(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let now = SystemClock.now();
    let cfg = idbroker::config::Config::load_with_env(
        &root.join("config/demo/idbroker.toml"),
        &|_| None,
        now,
    )
    .unwrap();
    let arn = "arn:aws:iam::123456789012:saml-provider/DemoIdP";
    let provider = cfg.saml.provider(arn).unwrap();
    let b64 = dev::demo_response(
        &cfg.saml,
        provider,
        &std::fs::read(root.join("certs/demo/saml-idp.key")).unwrap(),
        &std::fs::read(root.join("certs/demo/saml-idp.crt")).unwrap(),
        "arn:aws:iam::123456789012:role/demo/SamlDeveloper",
        "alice@example.com",
        now,
    )
    .unwrap();
    let xml = String::from_utf8(data_encoding::BASE64.decode(b64.as_bytes()).unwrap()).unwrap();
    eprintln!(
        "response: {} bytes of XML, {} of base64",
        xml.len(),
        b64.len()
    );
    assert!(saml::check(provider, &cfg.saml, &b64, InResponseTo::Unsolicited, now).is_ok());

    let mut g = c.benchmark_group("saml");
    g.bench_function("check/response+assertion-rsa2048-sha256", |b| {
        b.iter(|| saml::check(provider, &cfg.saml, &b64, InResponseTo::Unsolicited, now).unwrap())
    });
    let certs: Vec<samael::crypto::CertificateDer> = provider
        .signing_certs()
        .iter()
        .map(|c| c.der().clone())
        .collect();
    g.bench_function("part/samael-reduce_xml_to_signed", |b| {
        use samael::crypto::{CryptoProvider, ReduceMode};
        b.iter(|| {
            samael::crypto::Crypto::reduce_xml_to_signed(
                &xml,
                &certs,
                ReduceMode::ValidateAndMarkNoAncestors,
            )
            .unwrap()
        })
    });
    g.bench_function("part/base64+strip-comments+roxmltree-parse", |b| {
        b.iter(|| {
            let bytes = data_encoding::BASE64.decode(b64.as_bytes()).unwrap();
            let text = std::str::from_utf8(&bytes).unwrap();
            let text = saml::xml::strip_comments(text).unwrap();
            saml::xml::parse(&text)
                .map(|d| d.descendants().count())
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
