//! The AWS CRT SigV4 suite (tests/data/sigv4/aws-c-auth/v4, 38 cases), both forms
//! (header-* and query-*): our signer's canonical request, string to sign, signature and signed
//! request equal AWS's; the suite's signed request verifies with the suite's secret at the suite's
//! time; a wrong secret, a changed request and a time outside the window are refused.
//!
//! v4a/ (40 cases, ECDSA P-256, `AWS4-ECDSA-P256-SHA256`): SigV4a is not supported (idbroker's
//! clients sign STS with SigV4); every v4a request, in both forms, must be refused for its
//! algorithm, and still refused (for its signature) when relabelled as SigV4.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::PathBuf;

use common::{iso8601, read, testdata, Continuation, Http};
use idbroker_sigv4::{
    parse, sign, verify_with_path_rule, RequestParts, SigV4Error, SignatureForm, SigningForm,
    SigningParams,
};
use serde_json::Value;

fn case_dirs(suite: &str) -> Vec<PathBuf> {
    let dir = testdata().join("sigv4/aws-c-auth").join(suite);
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

struct Case {
    name: String,
    dir: PathBuf,
    ctx: Value,
}

impl Case {
    fn str(&self, key: &str) -> &str {
        self.ctx[key].as_str().unwrap()
    }
    fn flag(&self, key: &str) -> bool {
        self.ctx[key].as_bool().unwrap_or(false)
    }
    fn secret(&self) -> &str {
        self.ctx["credentials"]["secret_access_key"]
            .as_str()
            .unwrap()
    }
    fn token(&self) -> Option<&str> {
        self.ctx["credentials"]["token"].as_str()
    }
    fn time(&self) -> u64 {
        iso8601(self.str("timestamp"))
    }
    fn expires(&self) -> u64 {
        self.ctx["expiration_in_seconds"].as_u64().unwrap()
    }
    fn file(&self, form: &str, f: &str) -> String {
        read(&self.dir.join(format!("{form}-{f}")))
    }
}

fn check_signer(case: &Case, form: &str) {
    let name = &case.name;
    let http = Http::parse(
        &read(&case.dir.join("request.txt")),
        Continuation::SameValue,
    );
    let headers = http.header_refs();
    let params = SigningParams {
        security_token: case.token(),
        form: if form == "header" {
            SigningForm::Header
        } else {
            SigningForm::Presigned {
                expires_in: case.expires(),
            }
        },
        normalize_path: case.flag("normalize"),
        content_sha256_header: case.flag("sign_body"),
        sign_security_token: !case.flag("omit_session_token"),
        ..SigningParams::new(
            case.ctx["credentials"]["access_key_id"].as_str().unwrap(),
            case.secret(),
            case.str("region"),
            case.str("service"),
            case.time(),
        )
    };
    let signed =
        sign(&http.parts(&headers), &params).unwrap_or_else(|e| panic!("{name}/{form}: sign: {e}"));
    assert_eq!(
        signed.canonical_request(),
        case.file(form, "canonical-request.txt"),
        "{name}/{form}: canonical request"
    );
    assert_eq!(
        signed.string_to_sign(),
        case.file(form, "string-to-sign.txt"),
        "{name}/{form}: string to sign"
    );
    assert_eq!(
        signed.signature(),
        case.file(form, "signature.txt").trim(),
        "{name}/{form}: signature"
    );
    // The signed request, as we would send it, equals AWS's (headers compared as a multiset).
    let mut ours = http.clone();
    ours.headers.extend(signed.headers().iter().cloned());
    ours.query = signed.query().to_owned();
    let theirs = Http::parse(
        &case.file(form, "signed-request.txt"),
        Continuation::SameValue,
    );
    assert_eq!(ours.method, theirs.method, "{name}/{form}");
    assert_eq!(ours.path, theirs.path, "{name}/{form}");
    assert_eq!(ours.query, theirs.query, "{name}/{form}: signed query");
    assert_eq!(
        ours.normalized_headers(),
        theirs.normalized_headers(),
        "{name}/{form}: signed headers"
    );
    assert_eq!(ours.body, theirs.body, "{name}/{form}");
}

fn check_verifier(case: &Case, form: &str) {
    let name = &case.name;
    let http = Http::parse(
        &case.file(form, "signed-request.txt"),
        Continuation::SameValue,
    );
    let headers = http.header_refs();
    let req = http.parts(&headers);
    let normalize = case.flag("normalize");
    let now = case.time();
    let secret = case.secret();
    let verify = |req: &RequestParts<'_>, secret: &str, now: u64| {
        let parsed = parse(req)?;
        verify_with_path_rule(req, &parsed, secret, now, 900_u64, normalize)
    };

    let parsed = parse(&req).unwrap_or_else(|e| panic!("{name}/{form}: parse: {e}"));
    let expected_form = if form == "header" {
        SignatureForm::Header
    } else {
        SignatureForm::Presigned
    };
    assert_eq!(parsed.form(), expected_form, "{name}/{form}");
    assert_eq!(parsed.access_key_id(), "AKIDEXAMPLE");
    assert_eq!(parsed.region(), case.str("region"));
    assert_eq!(parsed.service(), case.str("service"));
    assert_eq!(parsed.signed_at(), now);
    assert_eq!(parsed.security_token(), case.token(), "{name}/{form}");

    let ok = verify(&req, secret, now).unwrap_or_else(|e| panic!("{name}/{form}: verify: {e}"));
    assert_eq!(ok.form(), expected_form);
    assert_eq!(ok.security_token(), case.token());
    assert!(
        ok.payload_signed(),
        "{name}/{form}: the suite signs the body hash"
    );

    assert_eq!(
        verify(&req, "not the secret", now).unwrap_err(),
        SigV4Error::Mismatch,
        "{name}/{form}: wrong secret"
    );
    let tampered = RequestParts {
        method: if http.method == "GET" { "POST" } else { "GET" },
        ..req
    };
    assert_eq!(
        verify(&tampered, secret, now).unwrap_err(),
        SigV4Error::Mismatch,
        "{name}/{form}: other method"
    );
    let other_path = format!("{}x", http.path);
    let tampered = RequestParts {
        path: &other_path,
        ..req
    };
    assert_eq!(
        verify(&tampered, secret, now).unwrap_err(),
        SigV4Error::Mismatch,
        "{name}/{form}: other path"
    );
    // The window: header form +-15 min; presigned from X-Amz-Date - 15 min to + X-Amz-Expires.
    let (first, last) = if form == "header" {
        (now - 900, now + 900)
    } else {
        (now - 900, now + case.expires())
    };
    for t in [first, last] {
        verify(&req, secret, t).unwrap_or_else(|e| panic!("{name}/{form}: at {t}: {e}"));
    }
    for t in [first - 1, last + 1] {
        assert!(
            matches!(verify(&req, secret, t), Err(SigV4Error::Expired(_))),
            "{name}/{form}: at {t}"
        );
    }
}

#[test]
fn aws_c_auth_v4_suite() {
    let dirs = case_dirs("v4");
    assert_eq!(dirs.len(), 38, "cases in aws-c-auth/v4");
    let mut checked = 0;
    for dir in dirs {
        let case = Case {
            name: dir.file_name().unwrap().to_string_lossy().to_string(),
            ctx: serde_json::from_str(&read(&dir.join("context.json"))).unwrap(),
            dir,
        };
        for form in ["header", "query"] {
            check_signer(&case, form);
            check_verifier(&case, form);
            checked += 1;
        }
    }
    println!("aws-c-auth v4: {checked} case/form pairs checked (38 cases x header, query)");
    assert_eq!(checked, 76);
}

/// SigV4a is not supported, and a SigV4a request never passes for a SigV4 one: each of the 38
/// v4a cases with signed requests (of 40), in both forms, is refused when parsed, for its
/// algorithm; relabelled `AWS4-HMAC-SHA256` (its ECDSA signature kept), it is refused for its
/// credential scope (SigV4a's has no region: the region set is in `X-Amz-Region-Set`).
#[test]
fn aws_c_auth_v4a_requests_are_refused_as_unsupported() {
    let dirs = case_dirs("v4a");
    assert_eq!(dirs.len(), 40, "cases in aws-c-auth/v4a");
    let mut refused = 0;
    let mut without_signed_request = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        for form in ["header", "query"] {
            let file = dir.join(format!("{form}-signed-request.txt"));
            if !file.exists() {
                without_signed_request.push(format!("{name}/{form}"));
                continue;
            }
            let text = read(&file);
            assert!(text.contains("AWS4-ECDSA-P256-SHA256"), "{name}/{form}");
            let http = Http::parse(&text, Continuation::SameValue);
            let headers = http.header_refs();
            let want = if form == "header" {
                "Unsupported Authorization type; only AWS4-HMAC-SHA256 is accepted"
            } else {
                "X-Amz-Algorithm only supports AWS4-HMAC-SHA256"
            };
            assert_eq!(
                parse(&http.parts(&headers)).unwrap_err(),
                SigV4Error::Incomplete(want.into()),
                "{name}/{form}"
            );
            let relabelled = Http::parse(
                &text.replace("AWS4-ECDSA-P256-SHA256", "AWS4-HMAC-SHA256"),
                Continuation::SameValue,
            );
            let headers = relabelled.header_refs();
            assert_eq!(
                parse(&relabelled.parts(&headers)).unwrap_err(),
                SigV4Error::Incomplete(
                    "Credential must have the form <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request"
                        .into()
                ),
                "{name}/{form} relabelled"
            );
            refused += 1;
        }
    }
    println!("aws-c-auth v4a: {refused} case/form pairs refused (SigV4a / ECDSA is not supported)");
    // Two cases of the suite come with their request only (no signed request to refuse).
    assert_eq!(
        without_signed_request,
        [
            "get-vanilla-query-order-key/header",
            "get-vanilla-query-order-key/query",
            "get-vanilla-query-order-value/header",
            "get-vanilla-query-order-value/query",
        ]
    );
    assert_eq!(refused, 76);
}
