//! Interop with the real AWS signer (the `aws-sigv4` crate the AWS SDK for Rust uses), on random
//! requests: methods, paths with spaces, unicode, percent-encoded bytes and dot segments, query
//! strings with repeated names and empty values, random headers (repeated, odd case, runs of
//! spaces), bodies, session tokens, header and presigned forms.
//!
//! - aws-sigv4 signs, we verify (and refuse the request with a changed body or signed header,
//!   or with a body added to an UNSIGNED-PAYLOAD presigned URL);
//! - we sign the same input at the same time, and our signature equals aws-sigv4's.
//!
//! Known divergence kept out of the generator: aws-sigv4 folds only runs of spaces in header
//! values, we (like botocore and aws-c-auth) fold all ASCII white space, so header values here
//! have no tabs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::borrow::Cow;
use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign as aws_sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use idbroker_sigv4::{
    parse, sign, verify, Payload, RequestParts, SigV4Error, SignatureForm, SigningForm,
    SigningParams,
};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use proptest::prelude::*;

/// What a client leaves unencoded in a path segment or query component.
const CLIENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[derive(Debug, Clone)]
struct Input {
    method: &'static str,
    /// The path as sent on the wire.
    path: String,
    /// The query as sent on the wire.
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    akid: String,
    secret: String,
    token: Option<String>,
    region: String,
    service: String,
    time: u64,
    /// None: header form; Some(expires): presigned.
    presign: Option<u64>,
    /// Presigned: sign UNSIGNED-PAYLOAD (botocore) rather than the body hash.
    unsigned_payload: bool,
}

fn text() -> impl Strategy<Value = String> {
    // Letters, digits, spaces, reserved characters, '%' and '+', unicode.
    proptest::collection::vec(
        prop_oneof![
            6 => proptest::char::range('a', 'z'),
            2 => proptest::char::range('A', 'Z'),
            2 => proptest::char::range('0', '9'),
            2 => prop::sample::select(vec![' ', '-', '_', '.', '~', '%', '+', '/', '?', '=', '&', '#', '!', '*', '\'', '(', ')', ':', '@', ',', ';', '$']),
            1 => prop::sample::select(vec!['é', 'ß', 'ሴ', '中', '😀']),
        ],
        0..8,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => text().prop_map(|t| utf8_percent_encode(&t, CLIENT).to_string()),
        1 => Just(".".to_owned()),
        1 => Just("..".to_owned()),
        1 => Just(String::new()),
        // Already-encoded octets sent as they are, and sub-delims a client may leave raw.
        1 => prop::sample::select(vec!["%20", "%2F", "%41", "%e2%82%ac", "a+b", "x=y", "a:b@c", "!$'()*,;"]).prop_map(str::to_owned),
    ]
}

fn path() -> impl Strategy<Value = String> {
    (proptest::collection::vec(segment(), 0..5), any::<bool>()).prop_map(|(segs, trailing)| {
        let mut p = format!("/{}", segs.join("/"));
        if trailing && !p.ends_with('/') {
            p.push('/');
        }
        p
    })
}

fn query() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        3 => prop::sample::select(vec!["Action", "Version", "a", "b", "B", "list.member.1", "k"]).prop_map(str::to_owned),
        1 => text().prop_filter("non-empty", |t| !t.is_empty()).prop_map(|t| format!("k{t}")),
    ];
    let value = prop_oneof![
        1 => Just(None),
        1 => Just(Some(String::new())),
        4 => text().prop_map(Some),
    ];
    proptest::collection::vec((key, value, any::<bool>()), 0..6).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v, raw_plus)| {
                let enc = |s: &str| {
                    let e = utf8_percent_encode(s, CLIENT).to_string();
                    // Some clients send a space as '+'; both sides form-decode the query.
                    if raw_plus {
                        e.replace("%20", "+")
                    } else {
                        e
                    }
                };
                match v {
                    None => enc(&k),
                    Some(v) => format!("{}={}", enc(&k), enc(&v)),
                }
            })
            .collect::<Vec<_>>()
            .join("&")
    })
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop::sample::select(vec![
        "X-Test-One",
        "x-test-one",
        "X-TEST-TWO",
        "Content-Type",
        "x-amz-meta-thing",
        "X-Forwarded-For",
        "User-Agent",
    ]);
    let value = proptest::collection::vec(
        prop_oneof![
            6 => proptest::char::range('!', '~'),
            2 => Just(' '),
        ],
        0..16,
    )
    .prop_map(|cs| cs.into_iter().collect::<String>());
    proptest::collection::vec((name.prop_map(str::to_owned), value), 0..5)
}

fn input() -> impl Strategy<Value = Input> {
    (
        (
            prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"]),
            path(),
            query(),
            headers(),
            proptest::collection::vec(any::<u8>(), 0..64),
            prop::sample::select(vec![
                "example.amazonaws.com",
                "sts.example.com:8443",
                "localhost",
            ]),
        ),
        (
            "(AKIA|ASIA)[A-Z0-9]{16}",
            "[A-Za-z0-9/+]{40}",
            proptest::option::of("[A-Za-z0-9/+=]{16,64}"),
            prop::sample::select(vec!["us-east-1", "eu-west-3", "ap-southeast-2", "local"]),
            prop::sample::select(vec!["sts", "service", "execute-api"]),
            946_684_800_u64..4_102_444_800,
            proptest::option::of(1_u64..=604_800),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (method, path, query, mut headers, body, host),
                (akid, secret, token, region, service, time, presign, unsigned_payload),
            )| {
                headers.insert(0, ("Host".to_owned(), host.to_owned()));
                Input {
                    method,
                    path,
                    query,
                    headers,
                    body,
                    akid,
                    secret,
                    token,
                    region: region.to_owned(),
                    service: service.to_owned(),
                    time,
                    presign,
                    unsigned_payload,
                }
            },
        )
}

/// What aws-sigv4 makes of `input`: the headers and query to send, and its signature.
struct AwsSigned {
    headers: Vec<(String, String)>,
    query: String,
    signature: String,
}

fn aws_signed(input: &Input) -> AwsSigned {
    let creds = Credentials::new(
        &input.akid,
        &input.secret,
        input.token.clone(),
        None,
        "interop",
    );
    let identity = creds.into();
    let mut settings = SigningSettings::default();
    if let Some(expires) = input.presign {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(expires));
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&input.region)
        .name(&input.service)
        .time(UNIX_EPOCH + Duration::from_secs(input.time))
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let host = &input.headers[0].1;
    let uri = if input.query.is_empty() {
        format!("https://{host}{}", input.path)
    } else {
        format!("https://{host}{}?{}", input.path, input.query)
    };
    let body = if input.presign.is_some() && input.unsigned_payload {
        SignableBody::UnsignedPayload
    } else {
        SignableBody::Bytes(&input.body)
    };
    let signable = SignableRequest::new(
        input.method,
        Cow::Owned(uri),
        input.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        body,
    )
    .unwrap();
    let (instructions, signature) = aws_sign(signable, &params).unwrap().into_parts();
    let mut headers = input.headers.clone();
    headers.extend(
        instructions
            .headers()
            .map(|(n, v)| (n.to_owned(), v.to_owned())),
    );
    let mut query = input.query.clone();
    for (k, v) in instructions.params() {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(k);
        query.push('=');
        query.push_str(&utf8_percent_encode(v, CLIENT).to_string());
    }
    AwsSigned {
        headers,
        query,
        signature,
    }
}

fn refs(h: &[(String, String)]) -> Vec<(&str, &str)> {
    h.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

proptest! {
    // 64 cases by default; SIGV4_INTEROP_CASES=N for a longer run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("SIGV4_INTEROP_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64),
        ..ProptestConfig::default()
    })]

    /// aws-sigv4 signs; we verify, and refuse changed requests.
    #[test]
    fn aws_signs_we_verify(input in input(), delay in 0_u64..=900) {
        let signed = aws_signed(&input);
        let headers = refs(&signed.headers);
        let presigned = input.presign.is_some();
        // botocore-style presigned URLs (UNSIGNED-PAYLOAD) are sent without a body.
        let body: &[u8] = if presigned && input.unsigned_payload { &[] } else { &input.body };
        let req = RequestParts {
            method: input.method,
            path: &input.path,
            query: &signed.query,
            headers: &headers,
            payload: Payload::Bytes(body),
        };
        let parsed = parse(&req).unwrap_or_else(|e| panic!("parse: {e}"));
        prop_assert_eq!(parsed.access_key_id(), input.akid.as_str());
        prop_assert_eq!(parsed.security_token(), input.token.as_deref());
        prop_assert_eq!(parsed.region(), input.region.as_str());
        prop_assert_eq!(parsed.service(), input.service.as_str());
        prop_assert_eq!(parsed.signed_at(), input.time);
        let now = input.time + delay.min(input.presign.unwrap_or(900));
        let ok = verify(&req, &parsed, &input.secret, now, Duration::from_secs(900))
            .unwrap_or_else(|e| panic!("verify: {e}"));
        prop_assert_eq!(ok.access_key_id(), input.akid.as_str());
        prop_assert_eq!(ok.form(), if presigned { SignatureForm::Presigned } else { SignatureForm::Header });
        prop_assert_eq!(ok.payload_signed(), !(presigned && input.unsigned_payload));

        // Wrong secret.
        prop_assert_eq!(
            verify(&req, &parsed, "x", now, 900_u64).unwrap_err(),
            SigV4Error::Mismatch
        );
        // A changed body, or a body added to an UNSIGNED-PAYLOAD presigned URL: refused.
        let mut body = body.to_vec();
        body.push(b'!');
        let changed = RequestParts { payload: Payload::Bytes(&body), ..req };
        prop_assert_eq!(
            verify(&changed, &parsed, &input.secret, now, 900_u64).unwrap_err(),
            SigV4Error::Mismatch
        );
        // A changed signed header (host is always signed).
        let mut changed_headers = signed.headers.clone();
        changed_headers[0].1.push('x');
        let changed_refs = refs(&changed_headers);
        let changed = RequestParts { headers: &changed_refs, ..req };
        prop_assert_eq!(
            verify(&changed, &parsed, &input.secret, now, 900_u64).unwrap_err(),
            SigV4Error::Mismatch
        );
        // An unsigned header added: still verifies.
        let mut more = signed.headers.clone();
        more.push(("X-Added-After-Signing".into(), "1".into()));
        let more_refs = refs(&more);
        let added = RequestParts { headers: &more_refs, ..req };
        prop_assert!(verify(&added, &parse(&added).unwrap(), &input.secret, now, 900_u64).is_ok());
    }

    /// We sign the same input at the same time: the same signature as aws-sigv4.
    #[test]
    fn we_sign_like_aws(input in input()) {
        let theirs = aws_signed(&input);
        let headers = refs(&input.headers);
        let payload = if input.presign.is_some() && input.unsigned_payload {
            Payload::Unsigned
        } else {
            Payload::Bytes(&input.body)
        };
        let req = RequestParts {
            method: input.method,
            path: &input.path,
            query: &input.query,
            headers: &headers,
            payload,
        };
        let params = SigningParams {
            security_token: input.token.as_deref(),
            form: match input.presign {
                None => SigningForm::Header,
                Some(expires_in) => SigningForm::Presigned { expires_in },
            },
            ..SigningParams::new(&input.akid, &input.secret, &input.region, &input.service, input.time)
        };
        let ours = sign(&req, &params).unwrap_or_else(|e| panic!("sign: {e}"));
        prop_assert_eq!(ours.signature(), theirs.signature.as_str());
        if input.presign.is_none() {
            let auth = theirs.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("authorization")).map(|(_, v)| v.as_str());
            prop_assert_eq!(ours.authorization(), auth);
        }

        // And what we signed verifies.
        let mut sent = input.headers.clone();
        sent.extend(ours.headers().iter().cloned());
        let sent_refs = refs(&sent);
        let body: &[u8] = if input.presign.is_some() && input.unsigned_payload { &[] } else { &input.body };
        let req = RequestParts { query: ours.query(), headers: &sent_refs, payload: Payload::Bytes(body), ..req };
        let parsed = parse(&req).unwrap();
        prop_assert!(verify(&req, &parsed, &input.secret, input.time, 900_u64).is_ok());
    }
}
