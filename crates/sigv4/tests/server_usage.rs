//! The call shapes idbroker's server uses today (src/http/auth.rs), kept compiling here so an
//! API change in this crate shows up in its own tests: an exhaustive match on the four error
//! variants, `verify(.., now: u64, skew: u64)` with the skew from a `Duration`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use idbroker_sigv4::{sign, Payload, RequestParts, SigV4Error, SigningParams};

#[derive(Debug, PartialEq)]
enum AuthError {
    Missing,
    Incomplete(String),
    RequestExpired(String),
    SignatureDoesNotMatch,
}

impl From<SigV4Error> for AuthError {
    fn from(e: SigV4Error) -> Self {
        match e {
            SigV4Error::Missing => AuthError::Missing,
            SigV4Error::Incomplete(m) => AuthError::Incomplete(m),
            SigV4Error::Expired(m) => AuthError::RequestExpired(m),
            SigV4Error::Mismatch => AuthError::SignatureDoesNotMatch,
        }
    }
}

#[test]
fn server_call_shape() {
    let now_s: u64 = 1_700_000_000;
    let body = b"Action=GetCallerIdentity&Version=2011-06-15";
    let mut headers: Vec<(&str, &str)> = vec![("host", "localhost:8443")];
    let unsigned = RequestParts {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        payload: Payload::Bytes(body),
    };
    let p = SigningParams::new("AKIAEXAMPLE", "secret", "us-east-1", "sts", now_s);
    let signed = sign(&unsigned, &p).unwrap();
    headers.extend(
        signed
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str())),
    );

    let parts = RequestParts {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        payload: Payload::Bytes(body),
    };
    let parsed = idbroker_sigv4::parse(&parts)
        .map_err(AuthError::from)
        .unwrap();
    assert!(parsed.access_key_id().starts_with("AKIA"));
    assert!(parsed.security_token().is_none());
    let skew = Duration::from_secs(300).as_secs();
    idbroker_sigv4::verify(&parts, &parsed, "secret", now_s, skew)
        .map_err(AuthError::from)
        .unwrap();
    assert_eq!(
        idbroker_sigv4::verify(&parts, &parsed, "other", now_s, skew)
            .map_err(AuthError::from)
            .unwrap_err(),
        AuthError::SignatureDoesNotMatch
    );
}
