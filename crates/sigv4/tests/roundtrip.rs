//! Sign, then verify, on hostile random input: whatever [`sign`] accepts, [`parse`] and
//! [`verify`] accept at the signing time with the same secret (and report what was signed), and
//! refuse with another secret. Whatever it refuses, it refuses with IncompleteSignature. Nothing
//! panics. (The same oracle runs in the fuzz target, fuzz_target_parse.rs.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use idbroker_sigv4::{
    parse, sign, verify_with_path_rule, Payload, RequestParts, SigV4Error, SignatureForm,
    SigningForm, SigningParams,
};
use proptest::prelude::*;

fn any_text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::string::string_regex(&format!("[ -~]{{0,{max}}}")).unwrap(),
        1 => proptest::string::string_regex(&format!(".{{0,{max}}}")).unwrap(),
        1 => proptest::string::string_regex(&format!("[\\t\\r\\n a%+/.=&;,]{{0,{max}}}")).unwrap(),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    payload_kind: u8,
    akid: String,
    region: String,
    service: String,
    token: Option<String>,
    time: u64,
    presign: Option<u64>,
    normalize: bool,
    content_header: bool,
    sign_token: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        (
            prop_oneof![Just("GET".to_owned()), Just("POST".to_owned()), any_text(8)],
            any_text(40),
            any_text(60),
            proptest::collection::vec(
                (
                    prop_oneof![
                        12 => proptest::string::string_regex("[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}").unwrap(),
                        1 => any_text(10),
                        1 => prop::sample::select(vec!["X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256", "Authorization", "User-Agent"]).prop_map(str::to_owned),
                    ],
                    any_text(30),
                ),
                0..5,
            ),
            proptest::collection::vec(any::<u8>(), 0..40),
            0_u8..3,
        ),
        (
            prop_oneof![12 => "[A-Z0-9]{16,20}", 1 => any_text(20)],
            prop_oneof![12 => "[a-z0-9-]{1,15}", 1 => any_text(10)],
            prop_oneof![12 => "[a-z0-9-]{1,15}", 1 => any_text(10)],
            proptest::option::of(any_text(40)),
            prop_oneof![12 => 0_u64..253_402_300_799, 1 => any::<u64>()],
            proptest::option::of(prop_oneof![12 => 0_u64..=604_800, 1 => any::<u64>()]),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (method, path, query, mut headers, body, payload_kind),
                (akid, region, service, token, time, presign, normalize, content_header, sign_token),
            )| {
                headers.insert(0, ("Host".into(), "example.com".into()));
                Case {
                    method,
                    path,
                    query,
                    headers,
                    body,
                    payload_kind,
                    akid,
                    region,
                    service,
                    token,
                    time,
                    presign,
                    normalize,
                    content_header,
                    sign_token,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("SIGV4_ROUNDTRIP_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512),
        ..ProptestConfig::default()
    })]

    #[test]
    fn whatever_we_sign_verifies(c in case()) {
        let hash = "ab".repeat(32);
        let payload = match c.payload_kind {
            0 => Payload::Bytes(&c.body),
            1 => Payload::Sha256Hex(&hash),
            _ => Payload::Unsigned,
        };
        let headers: Vec<(&str, &str)> = c.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let req = RequestParts { method: &c.method, path: &c.path, query: &c.query, headers: &headers, payload };
        let params = SigningParams {
            security_token: c.token.as_deref(),
            form: match c.presign { None => SigningForm::Header, Some(expires_in) => SigningForm::Presigned { expires_in } },
            normalize_path: c.normalize,
            content_sha256_header: c.content_header,
            sign_security_token: c.sign_token,
            ..SigningParams::new(&c.akid, "the secret", &c.region, &c.service, c.time)
        };
        let signed = match sign(&req, &params) {
            Ok(s) => s,
            Err(e) => {
                prop_assert!(matches!(e, SigV4Error::Incomplete(_)), "{e:?}");
                return Ok(());
            }
        };
        let mut sent = c.headers.clone();
        sent.extend(signed.headers().iter().cloned());
        let sent_refs: Vec<(&str, &str)> = sent.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let req = RequestParts { query: signed.query(), headers: &sent_refs, ..req };
        let parsed = parse(&req).unwrap_or_else(|e| panic!("parse: {e}"));
        let v = verify_with_path_rule(&req, &parsed, "the secret", c.time, 900_u64, c.normalize)
            .unwrap_or_else(|e| panic!("verify: {e}"));
        prop_assert_eq!(v.access_key_id(), c.akid.as_str());
        prop_assert_eq!(v.region(), c.region.as_str());
        prop_assert_eq!(v.service(), c.service.as_str());
        prop_assert_eq!(v.signed_at(), c.time);
        prop_assert_eq!(v.form(), if c.presign.is_some() { SignatureForm::Presigned } else { SignatureForm::Header });
        if c.presign.is_some() {
            if let Some(t) = &c.token {
                prop_assert_eq!(v.security_token(), Some(t.as_str()));
            }
        }
        prop_assert_eq!(
            verify_with_path_rule(&req, &parsed, "another secret", c.time, 900_u64, c.normalize).unwrap_err(),
            SigV4Error::Mismatch
        );
    }
}
