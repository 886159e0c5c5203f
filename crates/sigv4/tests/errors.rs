//! Every way a request can fail, with the error and STS code it gets; and that no error message
//! or Debug output shows the secret, the token, a signature or the canonical request.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use idbroker_sigv4::{
    format_amz_date, parse, sign, verify, verify_with_path_rule, Payload, RequestParts, SigV4Error,
    SignatureForm, SigningForm, SigningParams, Skew, Verified, UNSIGNED_PAYLOAD,
};
use proptest::prelude::*;

const AKID: &str = "ASIAEXAMPLEEXAMPLE01";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLETOKEN/with+slash==";
const NOW: u64 = 1_700_000_000;
const BODY: &[u8] = b"Action=GetCallerIdentity&Version=2011-06-15";

/// The caller's key lookup: the access key id is not part of the string to sign, the signature
/// is bound to it through its secret.
fn secret_for(access_key_id: &str) -> &'static str {
    if access_key_id == AKID {
        SECRET
    } else {
        "the secret of some other key"
    }
}

/// An owned request.
#[derive(Clone, Debug)]
struct Req {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Req {
    fn base() -> Req {
        Req {
            method: "POST".into(),
            path: "/".into(),
            query: String::new(),
            headers: vec![
                ("Host".into(), "sts.example.com".into()),
                (
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded; charset=utf-8".into(),
                ),
            ],
            body: BODY.to_vec(),
        }
    }

    fn run<R>(&self, payload: Option<Payload<'_>>, f: impl FnOnce(&RequestParts<'_>) -> R) -> R {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        f(&RequestParts {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &headers,
            payload: payload.unwrap_or(Payload::Bytes(&self.body)),
        })
    }

    fn parse(&self) -> Result<idbroker_sigv4::ParsedSignature, SigV4Error> {
        self.run(None, parse)
    }

    /// parse + verify with the secret of the key the request names, at `now`, skew 15 min.
    fn check_at(&self, now: u64) -> Result<Verified, SigV4Error> {
        self.run(None, |r| {
            let parsed = parse(r)?;
            let secret = secret_for(parsed.access_key_id());
            verify(r, &parsed, secret, now, Skew::DEFAULT)
        })
    }

    fn check(&self) -> Result<Verified, SigV4Error> {
        self.check_at(NOW)
    }

    fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.into(), value.into()));
    }

    fn header(&self, name: &str) -> &str {
        &self
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .unwrap()
            .1
    }
}

fn params(form: SigningForm) -> SigningParams<'static> {
    SigningParams {
        security_token: Some(TOKEN),
        form,
        ..SigningParams::new(AKID, SECRET, "us-east-1", "sts", NOW)
    }
}

fn signed_with(base: &Req, p: &SigningParams<'_>, payload: Option<Payload<'_>>) -> Req {
    let out = base.run(payload, |r| sign(r, p)).unwrap();
    let mut req = base.clone();
    req.headers.extend(out.headers().iter().cloned());
    req.query = out.query().to_owned();
    req
}

fn header_signed() -> Req {
    signed_with(&Req::base(), &params(SigningForm::Header), None)
}

fn presigned(expires_in: u64) -> Req {
    let mut base = Req::base();
    base.method = "GET".into();
    base.query = "Action=GetCallerIdentity&Version=2011-06-15".into();
    base.body.clear();
    signed_with(
        &base,
        &params(SigningForm::Presigned { expires_in }),
        Some(Payload::Unsigned),
    )
}

fn incomplete(r: Result<impl std::fmt::Debug, SigV4Error>) -> String {
    match r {
        Err(SigV4Error::Incomplete(m)) => {
            assert_safe(&m);
            m
        }
        other => panic!("expected IncompleteSignature, got {other:?}"),
    }
}

fn expired(r: Result<impl std::fmt::Debug, SigV4Error>) -> String {
    match r {
        Err(SigV4Error::Expired(m)) => {
            assert_safe(&m);
            m
        }
        other => panic!("expected RequestExpired, got {other:?}"),
    }
}

fn mismatch(r: Result<impl std::fmt::Debug, SigV4Error>) {
    match r {
        Err(e @ SigV4Error::Mismatch) => assert_safe(&e.to_string()),
        other => panic!("expected SignatureDoesNotMatch, got {other:?}"),
    }
}

/// A client-facing message never carries a secret, the token, a signature (64 hex) or a
/// canonical request (several lines).
fn assert_safe(msg: &str) {
    assert!(!msg.contains(SECRET), "{msg}");
    assert!(!msg.contains(TOKEN), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
    let hex_run = msg
        .split(|c: char| !c.is_ascii_hexdigit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(hex_run < 64, "{msg}");
}

#[test]
fn valid_requests_verify() {
    let v = header_signed().check().unwrap();
    assert_eq!(v.access_key_id(), AKID);
    assert_eq!(v.security_token(), Some(TOKEN));
    assert_eq!(v.region(), "us-east-1");
    assert_eq!(v.service(), "sts");
    assert_eq!(v.signed_at(), NOW);
    assert_eq!(v.form(), SignatureForm::Header);
    assert!(v.payload_signed());

    let v = presigned(900).check().unwrap();
    assert_eq!(v.form(), SignatureForm::Presigned);
    assert_eq!(v.security_token(), Some(TOKEN));
    assert!(
        !v.payload_signed(),
        "a presigned URL signs UNSIGNED-PAYLOAD"
    );
}

#[test]
fn tampered_body() {
    let mut req = header_signed();
    req.body = b"Action=AssumeRole&Version=2011-06-15".to_vec();
    mismatch(req.check());
}

#[test]
fn tampered_body_with_declared_content_sha256() {
    // The signed X-Amz-Content-Sha256 still matches the signature, but not the body.
    let p = SigningParams {
        content_sha256_header: true,
        ..params(SigningForm::Header)
    };
    let mut req = signed_with(&Req::base(), &p, None);
    req.check().unwrap();
    req.body.push(b'&');
    mismatch(req.check());
    // Precomputed hashes are compared the same way.
    let good = idbroker_sigv4::EMPTY_SHA256;
    mismatch(req.run(Some(Payload::Sha256Hex(good)), |r| {
        verify(r, &parse(r)?, SECRET, NOW, 900_u64)
    }));
}

#[test]
fn precomputed_and_unsigned_payloads() {
    let req = header_signed();
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(BODY))
    };
    let v = req
        .run(Some(Payload::Sha256Hex(&hash)), |r| {
            verify(r, &parse(r)?, SECRET, NOW, 900_u64)
        })
        .unwrap();
    assert!(v.payload_signed());
    // The signer hashed the body; a verifier told the body is unsigned cannot match.
    mismatch(req.run(Some(Payload::Unsigned), |r| {
        verify(r, &parse(r)?, SECRET, NOW, 900_u64)
    }));
}

#[test]
fn unsigned_payload_header_form() {
    // X-Amz-Content-Sha256: UNSIGNED-PAYLOAD with no body: verifies, and says the payload is not
    // signed.
    let mut base = Req::base();
    base.method = "GET".into();
    base.body.clear();
    base.set_header("X-Amz-Content-Sha256", UNSIGNED_PAYLOAD);
    let mut req = signed_with(&base, &params(SigningForm::Header), None);
    assert!(!req.check().unwrap().payload_signed());
    // A body the signature does not cover is refused...
    req.body = b"Action=AssumeRole".to_vec();
    let msg = incomplete(req.check());
    assert!(msg.contains("UNSIGNED-PAYLOAD"), "{msg}");
    // ... unless the caller says it does not look at the body.
    let v = req
        .run(Some(Payload::Unsigned), |r| {
            verify(r, &parse(r)?, SECRET, NOW, 900_u64)
        })
        .unwrap();
    assert!(!v.payload_signed());
    // The signer refuses to make such a request.
    let mut base = Req::base();
    base.set_header("X-Amz-Content-Sha256", UNSIGNED_PAYLOAD);
    incomplete(base.run(None, |r| sign(r, &params(SigningForm::Header))));
}

#[test]
fn streaming_or_malformed_content_sha256() {
    for value in [
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "abc",
        "",
    ] {
        let mut req = header_signed();
        req.set_header("X-Amz-Content-Sha256", value);
        incomplete(req.check());
    }
    let mut req = header_signed();
    req.headers
        .push(("x-amz-content-sha256".into(), UNSIGNED_PAYLOAD.into()));
    req.headers
        .push(("X-Amz-Content-Sha256".into(), UNSIGNED_PAYLOAD.into()));
    incomplete(req.check());
}

#[test]
fn tampered_signed_header() {
    let mut req = header_signed();
    req.set_header("Content-Type", "text/plain");
    mismatch(req.check());
    let mut req = header_signed();
    req.set_header("Host", "evil.example.com");
    mismatch(req.check());
    // A second value for a signed header changes its canonical value.
    let mut req = header_signed();
    req.headers.push(("host".into(), "evil.example.com".into()));
    mismatch(req.check());
    // Case and surrounding white space of a value are canonicalised away.
    let mut req = header_signed();
    req.set_header(
        "content-type",
        "  application/x-www-form-urlencoded;   charset=utf-8 ",
    );
    req.check().unwrap();
}

#[test]
fn unsigned_header_added_still_verifies() {
    let mut req = header_signed();
    req.headers.push(("User-Agent".into(), "aws-cli/2".into()));
    req.headers
        .push(("X-Forwarded-For".into(), "203.0.113.9".into()));
    req.check().unwrap();
    let mut req = presigned(60);
    req.headers
        .push(("Accept".into(), "application/json".into()));
    req.check().unwrap();
}

#[test]
fn tampered_query_and_method_and_path() {
    let mut req = header_signed();
    req.query = "Action=AssumeRole".into();
    mismatch(req.check());
    let mut req = presigned(60);
    req.query = req.query.replace("GetCallerIdentity", "GetSessionToken");
    mismatch(req.check());
    let mut req = presigned(60);
    req.query.push_str("&DurationSeconds=129600");
    mismatch(req.check());
    let mut req = header_signed();
    req.method = "PUT".into();
    mismatch(req.check());
    let mut req = header_signed();
    req.path = "/other".into();
    mismatch(req.check());
}

#[test]
fn region_and_service_are_reported_not_judged() {
    // Signed for another region and service: it verifies; the scope is the caller's policy.
    let p = SigningParams {
        region: "eu-west-3",
        service: "s3",
        ..params(SigningForm::Header)
    };
    let req = signed_with(&Req::base(), &p, None);
    let parsed = req.parse().unwrap();
    assert_eq!((parsed.region(), parsed.service()), ("eu-west-3", "s3"));
    let v = req.check().unwrap();
    assert_eq!((v.region(), v.service()), ("eu-west-3", "s3"));
    // Rewriting the scope in the Authorization header breaks the signature.
    let mut req = header_signed();
    let auth = req
        .header("Authorization")
        .replace("/us-east-1/", "/eu-west-3/");
    req.set_header("Authorization", &auth);
    mismatch(req.check());
    let mut req = header_signed();
    let auth = req.header("Authorization").replace("/sts/", "/iam/");
    req.set_header("Authorization", &auth);
    mismatch(req.check());
    // Another access key id: the caller looks up that key's secret, which does not match. (The
    // id itself is not in the string to sign; two keys with one secret would be interchangeable.)
    let mut req = header_signed();
    let auth = req
        .header("Authorization")
        .replace(AKID, "ASIAEXAMPLEEXAMPLE02");
    req.set_header("Authorization", &auth);
    mismatch(req.check());
}

#[test]
fn scope_date_must_be_the_x_amz_date_date() {
    let mut req = header_signed();
    let auth = req.header("Authorization").replace(
        &format_amz_date(NOW)[..8],
        &format_amz_date(NOW + 86_400)[..8],
    );
    req.set_header("Authorization", &auth);
    let msg = incomplete(req.parse());
    assert!(
        msg.starts_with("Date in Credential scope does not match"),
        "{msg}"
    );
    // Presigned too.
    let mut req = presigned(60);
    req.query = req.query.replace(
        &format!("%2F{}%2F", &format_amz_date(NOW)[..8]),
        &format!("%2F{}%2F", &format_amz_date(NOW - 86_400)[..8]),
    );
    incomplete(req.parse());
}

#[test]
fn clock_skew_window_header_form() {
    let req = header_signed();
    for now in [NOW - 900, NOW, NOW + 900] {
        req.check_at(now).unwrap();
    }
    // Signed 16 minutes in the past / in the future.
    let msg = expired(req.check_at(NOW + 16 * 60));
    assert!(msg.starts_with("Signature expired:"), "{msg}");
    let msg = expired(req.check_at(NOW - 16 * 60));
    assert!(msg.starts_with("Signature not yet current:"), "{msg}");
    assert_eq!(
        req.check_at(NOW + 16 * 60).unwrap_err().sts_code(),
        "RequestExpired"
    );
    // The skew is the caller's: a Duration or seconds.
    req.run(None, |r| {
        let parsed = parse(r).unwrap();
        verify(r, &parsed, SECRET, NOW + 16 * 60, Duration::from_secs(1000)).unwrap();
        expired(verify(r, &parsed, SECRET, NOW + 61, 60_u64));
        verify(r, &parsed, SECRET, NOW, 0_u64).unwrap();
        expired(verify(r, &parsed, SECRET, NOW + 1, 0_u64));
    });
}

#[test]
fn presigned_expiry() {
    let req = presigned(300);
    for now in [NOW - 900, NOW, NOW + 300] {
        req.check_at(now).unwrap();
    }
    let msg = expired(req.check_at(NOW + 301));
    assert!(msg.starts_with("Request has expired"), "{msg}");
    expired(req.check_at(NOW - 901));
    // The longest allowed, and one second more (refused by parse, before any key lookup).
    let req = presigned(604_800);
    req.check_at(NOW + 604_800).unwrap();
    expired(req.check_at(NOW + 604_801));
    let mut req = presigned(604_800);
    req.query = req
        .query
        .replace("X-Amz-Expires=604800", "X-Amz-Expires=604801");
    let msg = expired(req.parse());
    assert!(msg.contains("604800"), "{msg}");
    let mut req = presigned(60);
    req.query = req
        .query
        .replace("X-Amz-Expires=60", "X-Amz-Expires=99999999999999999999999");
    expired(req.parse());
    for bad in ["X-Amz-Expires=-1", "X-Amz-Expires=", "X-Amz-Expires=1e3"] {
        let mut req = presigned(60);
        req.query = req.query.replace("X-Amz-Expires=60", bad);
        incomplete(req.parse());
    }
    // The signer refuses too.
    let r = Req::base().run(Some(Payload::Unsigned), |r| {
        sign(
            r,
            &params(SigningForm::Presigned {
                expires_in: 604_801,
            }),
        )
    });
    incomplete(r);
}

#[test]
fn missing_host_in_signed_headers() {
    let mut req = header_signed();
    let auth = req.header("Authorization").replace(
        "SignedHeaders=content-type;host;",
        "SignedHeaders=content-type;",
    );
    req.set_header("Authorization", &auth);
    let msg = incomplete(req.parse());
    assert_eq!(msg, "SignedHeaders must include host");
    let mut req = presigned(60);
    req.query = req
        .query
        .replace("X-Amz-SignedHeaders=", "X-Amz-SignedHeaders=x-a%3B");
    req.headers.push(("x-a".into(), "1".into()));
    mismatch(req.check());
    let mut req = presigned(60);
    let q = req.query.clone();
    let start = q.find("X-Amz-SignedHeaders=").unwrap();
    let end = start + q[start..].find('&').unwrap();
    req.query = format!(
        "{}X-Amz-SignedHeaders=content-type{}",
        &q[..start],
        &q[end..]
    );
    incomplete(req.parse());
}

#[test]
fn signed_header_absent_from_request() {
    let mut req = header_signed();
    req.headers.retain(|(n, _)| n != "Content-Type");
    let msg = incomplete(req.check());
    assert!(msg.contains("content-type"), "{msg}");
}

#[test]
fn missing_or_duplicate_x_amz_date() {
    let mut req = header_signed();
    req.headers.retain(|(n, _)| n != "X-Amz-Date");
    incomplete(req.parse());
    let mut req = header_signed();
    req.headers
        .push(("x-amz-date".into(), format_amz_date(NOW)));
    incomplete(req.parse());
    for bad in [
        "2023-11-14T22:13:20Z",
        "20231114T221320",
        "20231131T000000Z",
        "",
    ] {
        let mut req = header_signed();
        req.set_header("X-Amz-Date", bad);
        incomplete(req.parse());
    }
    // A changed X-Amz-Date (same day, so the scope still matches) breaks the signature.
    let mut req = header_signed();
    req.set_header("X-Amz-Date", &format_amz_date(NOW + 1));
    mismatch(req.check_at(NOW + 1));
}

#[test]
fn no_signature_at_all() {
    let req = Req::base();
    assert_eq!(req.parse().unwrap_err(), SigV4Error::Missing);
    assert_eq!(SigV4Error::Missing.sts_code(), "MissingAuthenticationToken");
    // A token alone is not a signature.
    let mut req = Req::base();
    req.query = format!("X-Amz-Security-Token={TOKEN}");
    assert_eq!(req.parse().unwrap_err(), SigV4Error::Missing);
    let mut req = Req::base();
    req.set_header("X-Amz-Date", &format_amz_date(NOW));
    assert_eq!(req.parse().unwrap_err(), SigV4Error::Missing);
}

#[test]
fn one_mechanism_one_header() {
    let signed = header_signed();
    let auth = signed.header("Authorization").to_owned();
    let mut req = signed.clone();
    req.headers.push(("authorization".into(), auth.clone()));
    incomplete(req.parse());
    // Header and query signatures at once.
    let mut req = presigned(60);
    req.headers.push(("Authorization".into(), auth));
    incomplete(req.parse());
    // Duplicate presigned parameters.
    let mut req = presigned(60);
    req.query.push_str("&X-Amz-Algorithm=AWS4-HMAC-SHA256");
    incomplete(req.parse());
    let mut req = presigned(60);
    req.query
        .push_str(&format!("&X-Amz-Signature={}", "0".repeat(64)));
    incomplete(req.parse());
    // Two session tokens (header and query).
    let mut req = presigned(60);
    req.headers
        .push(("X-Amz-Security-Token".into(), TOKEN.into()));
    incomplete(req.parse());
    let mut req = header_signed();
    req.headers
        .push(("x-amz-security-token".into(), TOKEN.into()));
    incomplete(req.parse());
}

#[test]
fn presigned_parameters_required() {
    for name in [
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
    ] {
        let mut req = presigned(60);
        req.query = req
            .query
            .split('&')
            .filter(|p| !p.starts_with(&format!("{name}=")))
            .collect::<Vec<_>>()
            .join("&");
        let msg = incomplete(req.parse());
        assert!(msg.contains(name), "{msg}");
    }
    let mut req = presigned(60);
    req.query = req.query.replace(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
        "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256",
    );
    incomplete(req.parse());
}

#[test]
fn token_changed_or_dropped() {
    // Header form: the token is signed, so it cannot be swapped.
    let mut req = header_signed();
    req.set_header("X-Amz-Security-Token", "another-token");
    mismatch(req.check());
    let mut req = header_signed();
    req.headers.retain(|(n, _)| n != "X-Amz-Security-Token");
    incomplete(req.check());
    // Presigned: the signed token cannot be swapped either.
    let mut req = presigned(60);
    req.query = req.query.replace("IQoJb3", "IQoJb4");
    mismatch(req.check());
}

#[test]
fn presigned_token_outside_the_signature() {
    // aws-c-auth's omit_session_token: the token travels unsigned; it verifies, and the token is
    // reported for the caller to check.
    let mut base = Req::base();
    base.method = "GET".into();
    base.body.clear();
    let p = SigningParams {
        sign_security_token: false,
        ..params(SigningForm::Presigned { expires_in: 60 })
    };
    let req = signed_with(&base, &p, Some(Payload::Unsigned));
    assert!(req.query.contains("X-Amz-Security-Token="));
    let v = req.check().unwrap();
    assert_eq!(v.security_token(), Some(TOKEN));
}

#[test]
fn presigned_body_hash_or_unsigned() {
    // A presigner that hashes the body (aws-c-auth, Go SDK v1): payload_signed, and a changed
    // body is refused.
    let mut base = Req::base();
    base.method = "POST".into();
    let req = signed_with(
        &base,
        &params(SigningForm::Presigned { expires_in: 60 }),
        None,
    );
    assert!(req.check().unwrap().payload_signed());
    let mut changed = req.clone();
    changed.body.push(b'x');
    mismatch(changed.check());
    // botocore's UNSIGNED-PAYLOAD: fine with no body (payload_signed false); a body sent along
    // is not covered, so it is refused.
    let mut no_body = base.clone();
    no_body.body.clear();
    let req = signed_with(
        &no_body,
        &params(SigningForm::Presigned { expires_in: 60 }),
        Some(Payload::Unsigned),
    );
    assert!(!req.check().unwrap().payload_signed());
    let mut changed = req.clone();
    changed.body = b"Action=AssumeRole&RoleArn=arn:aws:iam::123456789012:role/admin".to_vec();
    mismatch(changed.check());
    // Unless the caller says it does not look at the body.
    assert!(!changed
        .run(Some(Payload::Unsigned), |r| verify(
            r,
            &parse(r)?,
            SECRET,
            NOW,
            900_u64
        ))
        .unwrap()
        .payload_signed());
}

#[test]
fn parsed_must_come_from_the_same_request() {
    let a = header_signed();
    let b = presigned(60);
    let parsed_b = b.parse().unwrap();
    let r = a.run(None, |r| verify(r, &parsed_b, SECRET, NOW, 900_u64));
    incomplete(r);
}

#[test]
fn path_rule() {
    let mut base = Req::base();
    base.path = "/a/./b/../c//".into();
    let p = SigningParams {
        normalize_path: false,
        ..params(SigningForm::Header)
    };
    let req = signed_with(&base, &p, None);
    req.run(None, |r| {
        let parsed = parse(r).unwrap();
        verify_with_path_rule(r, &parsed, SECRET, NOW, 900_u64, false).unwrap();
        mismatch(verify(r, &parsed, SECRET, NOW, 900_u64));
    });
    let req = signed_with(&base, &params(SigningForm::Header), None);
    req.check().unwrap();
    // Normalised: a path that normalises alike verifies alike.
    let mut same = req.clone();
    same.path = "/a/c/".into();
    same.check().unwrap();
}

#[test]
fn garbage_authorization_headers() {
    let date = format_amz_date(NOW);
    let sig = "0".repeat(64);
    let cred = format!(
        "Credential={AKID}/{}/us-east-1/sts/aws4_request",
        &date[..8]
    );
    let cases = [
        String::new(),
        " ".into(),
        "AWS4-HMAC-SHA256".into(),
        "AWS4-HMAC-SHA256 ".into(),
        "AWS4-HMAC-SHA256 ,,,".into(),
        "AWS4-HMAC-SHA256 Credential=/".into(),
        "AWS4-HMAC-SHA256X Credential=a".into(),
        "AWS4-HMAC-SHA1 Credential=a".into(),
        "AWS AKIDEXAMPLE:c2lnbmF0dXJl".into(),
        "Bearer eyJhbGciOiJub25lIn0.e30.".into(),
        "x y z".into(),
        "AWS4-HMAC-SHA256 Credential, SignedHeaders, Signature".into(),
        format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host"),
        format!("AWS4-HMAC-SHA256 {cred}, Signature={sig}"),
        format!("AWS4-HMAC-SHA256 SignedHeaders=host, Signature={sig}"),
        format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host, Signature={sig}, Extra=1"),
        format!("AWS4-HMAC-SHA256 {cred}, {cred}, SignedHeaders=host, Signature={sig}"),
        format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host, Signature=abc"),
        format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host, Signature={}", "g".repeat(64)),
        format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=, Signature={sig}"),
        format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host;;x, Signature={sig}"),
        format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host;host, Signature={sig}"),
        format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=Host, Signature={sig}"),
        format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host;a b, Signature={sig}"),
        format!("AWS4-HMAC-SHA256 Credential={AKID}/{}/us-east-1/sts/aws4_request/x, SignedHeaders=host, Signature={sig}", &date[..8]),
        format!("AWS4-HMAC-SHA256 Credential={AKID}/{}/us-east-1/sts/aws5_request, SignedHeaders=host, Signature={sig}", &date[..8]),
        format!("AWS4-HMAC-SHA256 Credential={AKID}/{}//sts/aws4_request, SignedHeaders=host, Signature={sig}", &date[..8]),
        format!("AWS4-HMAC-SHA256 Credential={AKID}/2023111/us-east-1/sts/aws4_request, SignedHeaders=host, Signature={sig}"),
        format!("AWS4-HMAC-SHA256 Credential=/{}/us-east-1/sts/aws4_request, SignedHeaders=host, Signature={sig}", &date[..8]),
        format!("AWS4-HMAC-SHA256 Credential=AK<script>/{}/us-east-1/sts/aws4_request, SignedHeaders=host, Signature={sig}", &date[..8]),
        format!("AWS4-HMAC-SHA256 Credential={AKID}/{}/us east 1/sts/aws4_request, SignedHeaders=host, Signature={sig}", &date[..8]),
        "AWS4-HMAC-SHA256 Credential=ሴ/ሴ/ሴ/ሴ/ሴ, SignedHeaders=ሴ, Signature=ሴ".into(),
    ];
    for auth in &cases {
        let mut req = Req::base();
        req.set_header("X-Amz-Date", &date);
        req.set_header("Authorization", auth);
        incomplete(req.parse());
    }
    // Well formed but wrong: the signature does not match.
    let mut req = Req::base();
    req.set_header("X-Amz-Date", &date);
    req.set_header(
        "Authorization",
        &format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host, Signature={sig}"),
    );
    mismatch(req.check());
    // Spacing and case variations a client may send are accepted.
    let signed = header_signed();
    let auth = signed.header("Authorization").to_owned();
    for variant in [
        auth.replace(", ", ","),
        auth.replace(", ", " ,  "),
        format!("  {auth}  "),
        auth.replacen("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256    ", 1),
        {
            let (head, sig) = auth.rsplit_once("Signature=").unwrap();
            format!("{head}Signature={}", sig.to_ascii_uppercase())
        },
    ] {
        let mut req = signed.clone();
        req.set_header("Authorization", &variant);
        req.check().unwrap_or_else(|e| panic!("{variant}: {e}"));
    }
}

#[test]
fn signer_refuses_what_it_cannot_sign() {
    let mut no_host = Req::base();
    no_host.headers.retain(|(n, _)| n != "Host");
    incomplete(no_host.run(None, |r| sign(r, &params(SigningForm::Header))));
    let signed = header_signed();
    incomplete(signed.run(None, |r| sign(r, &params(SigningForm::Header))));
    let signed = presigned(60);
    incomplete(signed.run(None, |r| {
        sign(r, &params(SigningForm::Presigned { expires_in: 60 }))
    }));
    let mut other_date = Req::base();
    other_date.set_header("X-Amz-Date", &format_amz_date(NOW - 1));
    incomplete(other_date.run(None, |r| sign(r, &params(SigningForm::Header))));
    let p = SigningParams {
        region: "us/east",
        ..params(SigningForm::Header)
    };
    incomplete(Req::base().run(None, |r| sign(r, &p)));
}

#[test]
fn codes_and_statuses() {
    let cases = [
        (SigV4Error::Missing, "MissingAuthenticationToken", 403),
        (
            SigV4Error::Incomplete("x".into()),
            "IncompleteSignature",
            400,
        ),
        (SigV4Error::Expired("x".into()), "RequestExpired", 400),
        (SigV4Error::Mismatch, "SignatureDoesNotMatch", 403),
    ];
    for (e, code, status) in cases {
        assert_eq!(e.sts_code(), code);
        assert_eq!(e.http_status(), status);
    }
    assert_eq!(Skew::default().as_secs(), 900);
    assert_eq!(Skew::from(Duration::from_millis(1500)).as_secs(), 1);
}

#[test]
fn debug_output_hides_secrets() {
    let req = header_signed();
    let parsed = req.parse().unwrap();
    let verified = req.check().unwrap();
    let p = params(SigningForm::Header);
    let out = Req::base().run(None, |r| sign(r, &p)).unwrap();
    let signature = out.signature().to_owned();
    for dbg in [
        format!("{parsed:?}"),
        format!("{verified:?}"),
        format!("{p:?}"),
        format!("{out:?}"),
    ] {
        assert!(!dbg.contains(SECRET), "{dbg}");
        assert!(!dbg.contains(TOKEN), "{dbg}");
        assert!(!dbg.contains(&signature), "{dbg}");
        assert!(!dbg.contains(&parsed_signature(&req)), "{dbg}");
    }
}

fn parsed_signature(req: &Req) -> String {
    req.header("Authorization")
        .rsplit_once("Signature=")
        .unwrap()
        .1
        .to_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the Authorization header, query and X-Amz-Date: no panic, and never a success
    /// without the secret.
    #[test]
    fn random_input_never_panics(
        auth in proptest::option::of(".{0,200}"),
        query in "[A-Za-z0-9%&=+\\-_.~/]{0,200}",
        date in proptest::option::of("[0-9TZ]{0,20}"),
        token in proptest::option::of(".{0,40}"),
    ) {
        let mut req = Req::base();
        if let Some(a) = auth { req.set_header("Authorization", &a); }
        if let Some(d) = date { req.set_header("X-Amz-Date", &d); }
        if let Some(t) = token { req.set_header("X-Amz-Security-Token", &t); }
        req.query = query;
        let r = req.check();
        prop_assert!(r.is_err());
        if let Err(SigV4Error::Incomplete(m) | SigV4Error::Expired(m)) = &r {
            prop_assert!(!m.contains('\n'));
        }
    }

    /// Valid signatures with one byte of the Authorization header changed never verify (or the
    /// change was canonicalised away: case of the hex signature, white space).
    #[test]
    fn one_byte_changed(pos in 0_usize..400, byte in any::<u8>()) {
        let req = header_signed();
        let auth = req.header("Authorization").as_bytes().to_vec();
        let pos = pos % auth.len();
        let mut changed = auth.clone();
        changed[pos] = byte;
        prop_assume!(changed != auth);
        let Ok(text) = String::from_utf8(changed) else { return Ok(()); };
        let mut req2 = req.clone();
        req2.set_header("Authorization", &text);
        if req2.check().is_ok() {
            let norm = |s: &str| s.to_ascii_lowercase().split_whitespace().collect::<String>();
            prop_assert_eq!(norm(&text), norm(req.header("Authorization")));
        }
    }
}
