//! The AWS CRT SigV4 suite (../shared/testdata/sigv4/aws-c-auth/v4, 38 cases): for each case,
//! the header-signed and the presigned request verify with the suite's secret at the suite's
//! time; our canonical request, string to sign and signature equal AWS's; a wrong secret, a
//! tampered request and a time outside the window are refused. v4a (ECDSA) is not supported.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

use idbroker_sigv4::{
    canonical_request, parse, signature, string_to_sign, verify_with_path_rule, Payload,
    RequestParts, SigV4Error, SignatureForm,
};
use serde_json::Value;

fn suite() -> PathBuf {
    std::env::var_os("IDBROKER_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
        })
        .join("sigv4/aws-c-auth/v4")
}

struct Http {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn parse_http(text: &str) -> Http {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let first = lines.next().unwrap();
    let (method, rest) = first.split_once(' ').unwrap();
    let target = rest.strip_suffix(" HTTP/1.1").unwrap();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with(' ') || line.starts_with('\t') {
            let last = headers.last_mut().unwrap();
            last.1.push(' ');
            last.1.push_str(line.trim());
            continue;
        }
        let (n, v) = line.split_once(':').unwrap();
        headers.push((n.to_owned(), v.to_owned()));
    }
    Http {
        method: method.into(),
        path: path.into(),
        query: query.into(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

fn epoch(ts: &str) -> u64 {
    // 2015-08-30T12:36:00Z
    let d = ts.replace(['-', ':'], "");
    let amz = format!("{}Z", &d[..15]);
    let headers = [("X-Amz-Date", amz.as_str()), ("Host", "h")];
    let _ = headers;
    // Only this date appears in the suite; keep the arithmetic honest anyway.
    assert_eq!(ts, "2015-08-30T12:36:00Z");
    1_440_938_160
}

#[test]
fn aws_c_auth_v4_suite() {
    let dir = suite();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 38, "cases in {}", dir.display());
    let mut checked = 0;
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let ctx: Value =
            serde_json::from_str(&std::fs::read_to_string(case.join("context.json")).unwrap())
                .unwrap();
        let secret = ctx["credentials"]["secret_access_key"].as_str().unwrap();
        let token = ctx["credentials"]["token"].as_str();
        let normalize = ctx["normalize"].as_bool().unwrap();
        let omit = ctx["omit_session_token"].as_bool().unwrap_or(false);
        let now = epoch(ctx["timestamp"].as_str().unwrap());
        for form in ["header", "query"] {
            let read = |f: &str| std::fs::read_to_string(case.join(format!("{form}-{f}"))).unwrap();
            let http = parse_http(&read("signed-request.txt"));
            let headers: Vec<(&str, &str)> = http
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let req = RequestParts {
                method: &http.method,
                path: &http.path,
                query: &http.query,
                headers: &headers,
                payload: Payload::Bytes(&http.body),
            };
            let parsed = parse(&req).unwrap_or_else(|e| panic!("{name}/{form}: {e}"));
            assert_eq!(
                parsed.form(),
                if form == "header" {
                    SignatureForm::Header
                } else {
                    SignatureForm::Presigned
                }
            );
            assert_eq!(parsed.access_key_id(), "AKIDEXAMPLE");
            assert_eq!(parsed.security_token(), token, "{name}/{form}");
            let creq = canonical_request(
                &req,
                parsed.signed_headers(),
                normalize,
                omit && form == "query",
            )
            .unwrap();
            assert_eq!(
                creq,
                read("canonical-request.txt"),
                "{name}/{form}: canonical request"
            );
            let sts = string_to_sign(
                "20150830T123600Z",
                "20150830/us-east-1/service/aws4_request",
                &creq,
            );
            assert_eq!(
                sts,
                read("string-to-sign.txt"),
                "{name}/{form}: string to sign"
            );
            assert_eq!(
                signature(secret, "20150830", parsed.region(), parsed.service(), &sts),
                read("signature.txt").trim(),
                "{name}/{form}: signature"
            );
            verify_with_path_rule(&req, &parsed, secret, now, 900, normalize)
                .unwrap_or_else(|e| panic!("{name}/{form}: {e}"));
            // Wrong secret.
            assert_eq!(
                verify_with_path_rule(&req, &parsed, "wrong", now, 900, normalize).unwrap_err(),
                SigV4Error::Mismatch
            );
            // Tampered method.
            let tampered = RequestParts {
                method: "DELETE",
                ..req
            };
            assert_eq!(
                verify_with_path_rule(&tampered, &parsed, secret, now, 900, normalize).unwrap_err(),
                SigV4Error::Mismatch
            );
            // Outside the window: 16 minutes late for the header form; past X-Amz-Expires (3600)
            // for the presigned one.
            let late = if form == "header" {
                now + 901
            } else {
                now + 3601
            };
            assert!(matches!(
                verify_with_path_rule(&req, &parsed, secret, late, 900, normalize),
                Err(SigV4Error::Expired(_))
            ));
            assert!(matches!(
                verify_with_path_rule(&req, &parsed, secret, now - 901, 900, normalize),
                Err(SigV4Error::Expired(_))
            ));
            checked += 1;
        }
    }
    assert_eq!(checked, 76);
}

#[test]
fn an_unsigned_header_may_be_added_but_a_signed_one_not_changed() {
    let dir = suite().join("get-vanilla");
    let http = parse_http(&std::fs::read_to_string(dir.join("header-signed-request.txt")).unwrap());
    let mut headers: Vec<(&str, &str)> = http
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    headers.push(("User-Agent", "extra"));
    let req = RequestParts {
        method: "GET",
        path: "/",
        query: "",
        headers: &headers,
        payload: Payload::Bytes(b""),
    };
    let parsed = parse(&req).unwrap();
    let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    assert!(idbroker_sigv4::verify(&req, &parsed, secret, 1_440_938_160, 900).is_ok());
    let changed: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| {
            if n.eq_ignore_ascii_case("host") {
                (*n, "evil.example.com")
            } else {
                (*n, *v)
            }
        })
        .collect();
    let req = RequestParts {
        headers: &changed,
        ..req
    };
    assert_eq!(
        idbroker_sigv4::verify(&req, &parsed, secret, 1_440_938_160, 900).unwrap_err(),
        SigV4Error::Mismatch
    );
}
