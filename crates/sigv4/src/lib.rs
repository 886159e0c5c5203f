//! `idbroker-sigv4`: AWS Signature Version 4 (`AWS4-HMAC-SHA256`), as a verifier sees it, and a
//! signer for idbroker's own clients and tests.
//!
//! Verification is two steps, because the secret depends on who signed:
//! 1. [`parse`] reads the signature from the `Authorization` header or the presigned query
//!    (`X-Amz-*` parameters), checks its shape and tells the caller which access key id to look
//!    up (and which session token came with it);
//! 2. [`verify`] recomputes the signature with that key's secret, compares it in constant time,
//!    and checks the time window. Only `verify` builds a [`Verified`].
//!
//! ```
//! use idbroker_sigv4::{parse, sign, verify, Payload, RequestParts, SigningParams, Skew};
//!
//! let now = 1_440_938_160; // 2015-08-30T12:36:00Z
//! let body = b"Action=GetCallerIdentity&Version=2011-06-15";
//! let host = [("Host", "sts.example.com")];
//! let unsigned = RequestParts {
//!     method: "POST", path: "/", query: "", headers: &host, payload: Payload::Bytes(body),
//! };
//! let params = SigningParams::new("AKIDEXAMPLE", "secret", "us-east-1", "sts", now);
//! let signed = sign(&unsigned, &params).unwrap(); // adds X-Amz-Date and Authorization
//! let mut headers = host.to_vec();
//! headers.extend(signed.headers().iter().map(|(n, v)| (n.as_str(), v.as_str())));
//!
//! // The server side: parse, look the key up, verify.
//! let req = RequestParts { headers: &headers, ..unsigned };
//! let parsed = parse(&req).unwrap();
//! assert_eq!(parsed.access_key_id(), "AKIDEXAMPLE"); // look up its secret
//! let verified = verify(&req, &parsed, "secret", now + 60, Skew::DEFAULT).unwrap();
//! assert_eq!(verified.service(), "sts");
//! ```
//!
//! Pure: no IO, no clock, no async. Times are seconds since the Unix epoch (`u64`), passed in;
//! the allowed skew is a [`Skew`] (from `u64` seconds or a `std::time::Duration`).
//!
//! Canonicalisation follows AWS's rules for services other than S3 (see the `canonical` module
//! docs): the path as received is URI-encoded once more (`/a%20b` is signed as `/a%2520b`, as the
//! SDKs do), with dot segments and empty segments removed; query parameters are form-decoded,
//! re-encoded strictly and sorted; header values are trimmed with inner runs of white space
//! folded, repeated headers joined with `,`. `X-Amz-Content-Sha256` is honoured (and checked
//! against the body); a presigned request may sign `UNSIGNED-PAYLOAD` or the body's hash, but a
//! non-empty body the signature does not cover is refused.
//!
//! Not this crate's job (the caller's): knowing access keys and their secrets, checking that the
//! session token belongs to the key and is not expired, and deciding which regions and services
//! are acceptable ([`Verified::region`], [`Verified::service`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod canonical;
mod crypto;
mod error;
mod parse;
mod sign;
mod time;
mod verify;

pub use crypto::{ScopeKey, SigningKey};
pub use error::SigV4Error;
pub use parse::{parse, ParsedSignature};
pub use sign::{sign, SignedRequest, SigningForm, SigningParams};
pub use time::{format_amz_date, parse_amz_date};
pub use verify::{parse_request, verify, verify_with_path_rule, ParsedRequest, Skew, Verified};

/// The algorithm name.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Longest validity of a presigned request (7 days), as AWS.
pub const MAX_PRESIGNED_EXPIRES: u64 = 604_800;
/// SHA-256 of the empty string.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// The payload line of a request whose body is not signed.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The request body, or its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload<'a> {
    /// The body bytes (hashed here).
    Bytes(&'a [u8]),
    /// The body's SHA-256, already computed, hex.
    Sha256Hex(&'a str),
    /// The body is not available or not to be signed: the payload line is `UNSIGNED-PAYLOAD`
    /// (or the `X-Amz-Content-Sha256` header's value, which then cannot be checked). A verifier
    /// that passes this takes the body's integrity on itself ([`Verified::payload_signed`]).
    Unsigned,
}

/// What the verifier needs of an HTTP request, framework-neutral.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// `GET`, `POST`, ... (as sent; methods are case-sensitive).
    pub method: &'a str,
    /// The path as received (still percent-encoded as sent).
    pub path: &'a str,
    /// The raw query string, without `?`; may be empty.
    pub query: &'a str,
    /// Headers as received; names in any case; repeated names allowed (kept in order).
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub payload: Payload<'a>,
}

/// Header (`Authorization`) or query (presigned URL) signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureForm {
    /// `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`
    Header,
    /// `?X-Amz-Algorithm=...&X-Amz-Credential=...&X-Amz-Signature=...`
    Presigned,
}
