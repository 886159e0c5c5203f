//! Encrypted assertions give one answer for every decryption failure (security review, issue
//! 13, item 3). With AES-CBC content encryption and an unsigned Response (ADFS's default) an
//! attacker can wrap a captured EncryptedKey and ciphertext in a Response of their own and alter
//! blocks: if the answer says whether the padding, the UTF-8, the XML or the decrypted
//! Assertion was wrong, it is the padding/format oracle of the known XML Encryption attacks
//! (Jager & Somorovsky, "How to Break XML Encryption", CCS 2011). Here genuine responses minted
//! by tests/saml/mint.py are manipulated in several ways, and every answer of
//! AssumeRoleWithSAML must be byte for byte the same (request id aside). A provider may also
//! refuse CBC altogether (`require_aead_encryption = true`): a CBC response is then refused
//! while an AES-GCM one still passes.
//!
//! Needs python3 with signxml, lxml and cryptography, as tests/saml_hostile.rs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use idbroker::clock::ManualClock;
use idbroker::config::Config;
use idbroker::federation::saml::{check, InResponseTo};

mod common;
use common::saml_setup::{self, ACCOUNT, ACS, PROVIDER, ROLE};
use common::{raw_http, start, Minted};

fn form(assertion: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Action=AssumeRoleWithSAML&Version=2011-06-15&RoleArn={}&PrincipalArn={}&SAMLAssertion={}",
        enc(ROLE),
        enc(PROVIDER),
        enc(assertion)
    )
}

/// The whole HTTP answer to AssumeRoleWithSAML.
async fn post(url: &str, assertion: &str) -> String {
    let body = form(assertion);
    raw_http(
        url,
        format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await
}

/// Status line and body, with the request id (different on every call) blanked.
fn comparable(answer: &str) -> String {
    let status = answer.lines().next().unwrap_or_default().to_owned();
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let body = match (body.find("<RequestId>"), body.find("</RequestId>")) {
        (Some(a), Some(b)) => format!("{}<RequestId/>{}", &body[..a], &body[b + 12..]),
        _ => body.to_owned(),
    };
    format!("{status}\n{body}")
}

/// The response with the `n`th `<xenc:CipherValue>` (0: the first, `usize::MAX`: the last)
/// decoded, changed by `f` and put back.
fn alter(response_b64: &str, which: usize, f: impl Fn(&mut Vec<u8>)) -> String {
    let xml = String::from_utf8(
        data_encoding::BASE64
            .decode(response_b64.as_bytes())
            .unwrap(),
    )
    .unwrap();
    let open = "<xenc:CipherValue>";
    let starts: Vec<usize> = xml
        .match_indices(open)
        .map(|(i, _)| i + open.len())
        .collect();
    let start = if which == usize::MAX {
        *starts.last().unwrap()
    } else {
        starts[which]
    };
    let end = start + xml[start..].find("</xenc:CipherValue>").unwrap();
    let mut value = data_encoding::BASE64
        .decode(xml[start..end].trim().as_bytes())
        .unwrap();
    f(&mut value);
    let changed = format!(
        "{}{}{}",
        &xml[..start],
        data_encoding::BASE64.encode(&value),
        &xml[end..]
    );
    data_encoding::BASE64.encode(changed.as_bytes())
}

const DATA: usize = usize::MAX;
const KEY: usize = 0;

/// Manipulations of one genuine CBC response (unsigned Response, signed Assertion), each a
/// different failure inside the decryption today, plus decrypted Assertions that are not
/// acceptable (signed by another key, not signed).
fn hostile(m: &Minted) -> Vec<(&'static str, String)> {
    let genuine = &m.cases["enc_assertion_signed_cbc"];
    vec![
        // The pad byte (last byte of the last block) is flipped through the block before it:
        // XML Encryption padding larger than a block.
        (
            "bad padding",
            alter(genuine, DATA, |v| {
                let n = v.len();
                v[n - 17] ^= 0x80;
            }),
        ),
        // The IV changes the first plaintext block exactly: `<saml:Assertion` becomes
        // `<raml:Assertion`, an undeclared prefix: valid padding and UTF-8, not XML.
        (
            "first block altered (not XML)",
            alter(genuine, DATA, |v| v[1] ^= 0x01),
        ),
        // A block in the middle: garbage (not UTF-8, or not XML), the next block bit-flipped.
        (
            "middle block altered",
            alter(genuine, DATA, |v| {
                let n = v.len();
                v[(n / 32) * 16] ^= 0x40;
            }),
        ),
        // The attack's probe: the IV and the first block alone, the IV set so that the pad
        // byte is 1 (`<saml:Assertion` and one byte of padding).
        (
            "two-block probe, valid padding",
            alter(genuine, DATA, |v| {
                v.truncate(32);
                v[15] ^= b' ' ^ 0x01;
            }),
        ),
        // Not a multiple of the block size.
        (
            "truncated mid-block",
            alter(genuine, DATA, |v| {
                let n = v.len();
                v.truncate(n - 5);
            }),
        ),
        // The content key does not unwrap (RSA-OAEP fails).
        (
            "key does not unwrap",
            alter(genuine, KEY, |v| v[10] ^= 0x01),
        ),
        // Decrypts to a well-formed Assertion that is not acceptable.
        (
            "signed by another key",
            m.cases["enc_attacker_signed_cbc"].clone(),
        ),
        ("not signed", m.cases["enc_unsigned_cbc"].clone()),
        ("not signed (GCM)", m.cases["enc_unsigned"].clone()),
        (
            "DOCTYPE in the plaintext",
            m.cases["enc_doctype_inside"].clone(),
        ),
    ]
}

#[actix_web::test]
async fn every_decryption_failure_gets_the_same_answer() {
    let Some(m) = saml_setup::mint("enc_oracle") else {
        return;
    };
    let cfg = saml_setup::config(&m, "");

    // In process: one SamlError value for all of them.
    let p = cfg.saml.provider(PROVIDER).unwrap();
    let errors: Vec<(&str, String)> = hostile(&m)
        .iter()
        .map(|(name, r)| {
            let e = check(p, &cfg.saml, r, InResponseTo::Unsolicited, m.now)
                .err()
                .unwrap_or_else(|| panic!("{name}: accepted"));
            (*name, format!("{e:?}"))
        })
        .collect();
    let first = errors[0].1.clone();
    for (name, e) in &errors {
        assert_eq!(
            e, &first,
            "{name} differs from {}: {errors:#?}",
            errors[0].0
        );
    }

    // Over HTTP: byte-identical answers.
    let clock = Arc::new(ManualClock::new(m.now));
    let url = start(idbroker::build_state(cfg, clock).await.unwrap()).await;
    let mut answers = Vec::new();
    for (name, r) in hostile(&m) {
        answers.push((name, comparable(&post(&url, &r).await)));
    }
    let (first_name, first) = answers[0].clone();
    assert!(first.starts_with("HTTP/1.1 400"), "{first}");
    assert!(
        first.contains("<Code>InvalidIdentityToken</Code>"),
        "{first}"
    );
    for (name, a) in &answers {
        assert_eq!(a, &first, "{name} differs from {first_name}");
    }
    // And the genuine response still works.
    let a = post(&url, &m.cases["enc_assertion_signed_cbc"]).await;
    assert!(a.starts_with("HTTP/1.1 200"), "{a}");
    assert!(a.contains("assumed-role/SamlUser/alice@example.com"), "{a}");
}

/// The configuration of tests/common/saml_setup.rs's provider, with `provider_extra` keys.
fn config_with(m: &Minted, provider_extra: &str) -> Config {
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{PROVIDER}"}},"Action":"sts:AssumeRoleWithSAML","Condition":{{"StringEquals":{{"SAML:aud":"{ACS}"}}}}}}]}}"#
    );
    let toml = format!(
        r#"
account_id = "{ACCOUNT}"
[saml]
acs_url = "{ACS}"
sp_private_key_file = ["{sp_key}"]
sp_certificate_file = "{sp_cert}"

[[saml_providers]]
name = "TestIdP"
metadata_file = "{metadata}"
{provider_extra}

[[roles]]
name = "SamlUser"
path = "/demo/"
trust_policy = '{trust}'
"#,
        metadata = m.dir.join("metadata.xml").display(),
        sp_key = m.dir.join("sp_key.pem").display(),
        sp_cert = m.dir.join("sp_cert.pem").display(),
    );
    Config::from_toml(&toml, &m.dir.join("aead.toml"), &|_| None, m.now).unwrap()
}

#[actix_web::test]
async fn a_provider_may_require_aes_gcm() {
    let Some(m) = saml_setup::mint("enc_aead") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(m.now));
    let strict = start(
        idbroker::build_state(
            config_with(&m, "require_aead_encryption = true"),
            clock.clone(),
        )
        .await
        .unwrap(),
    )
    .await;
    // CBC, genuine: refused, with a message that says why (the algorithm is public: nothing
    // was decrypted).
    for case in ["enc_assertion_signed_cbc", "enc_response_signed_cbc"] {
        let a = post(&strict, &m.cases[case]).await;
        assert!(a.starts_with("HTTP/1.1 400"), "{case}: {a}");
        assert!(
            a.contains("<Code>InvalidIdentityToken</Code>"),
            "{case}: {a}"
        );
        assert!(a.contains("AES-GCM"), "{case}: {a}");
        assert!(!a.contains("AccessKeyId"), "{case}: {a}");
    }
    // GCM: accepted.
    let a = post(&strict, &m.cases["enc_assertion_signed_gcm"]).await;
    assert!(a.starts_with("HTTP/1.1 200"), "{a}");
    assert!(a.contains("assumed-role/SamlUser/alice@example.com"), "{a}");

    // The default (and `false`): CBC accepted.
    for (extra, case) in [
        ("", "enc_assertion_signed_cbc"),
        ("require_aead_encryption = false", "enc_response_signed_cbc"),
    ] {
        let url = start(
            idbroker::build_state(config_with(&m, extra), clock.clone())
                .await
                .unwrap(),
        )
        .await;
        let a = post(&url, &m.cases[case]).await;
        assert!(a.starts_with("HTTP/1.1 200"), "{extra:?} {case}: {a}");
    }
}
