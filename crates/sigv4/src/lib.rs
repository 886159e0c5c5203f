//! `idbroker-sigv4`: AWS Signature Version 4, as a verifier sees it.
//!
//! Verification is two steps, because the secret depends on who signed:
//! 1. [`parse`] reads the signature from the `Authorization` header or the presigned query
//!    (`X-Amz-*` parameters) and tells the caller which access key id to look up;
//! 2. [`verify`] recomputes the signature with that key's secret, compares it in constant time,
//!    and checks the time window. Only `verify` builds a [`Verified`].
//!
//! Pure: no IO, no clock. Times are seconds since the Unix epoch, passed in.
//!
//! Canonicalisation follows AWS's rules for services other than S3: the path as received is
//! URI-encoded once more (so `/a%20b` is signed as `/a%2520b`, as the AWS SDKs do), with dot
//! segments and duplicate slashes removed; query parameters are decoded, re-encoded strictly and
//! sorted; header values are trimmed with inner runs of white space folded.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The algorithm name.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Longest validity of a presigned request (7 days), as AWS.
pub const MAX_PRESIGNED_EXPIRES: u64 = 604_800;
/// SHA-256 of the empty string.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Why a request's signature is not acceptable. Messages are safe to show to clients: they never
/// contain a secret, a signature, or the canonical request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    /// No signature at all.
    #[error("Request is missing Authentication Token")]
    Missing,
    /// The signature is malformed; the message says what is missing or wrong.
    #[error("{0}")]
    Incomplete(String),
    /// Outside the allowed clock skew, or a presigned request past its expiry.
    #[error("{0}")]
    Expired(String),
    /// The signature does not match.
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")]
    Mismatch,
}

impl SigV4Error {
    /// The STS error code for this error.
    pub fn sts_code(&self) -> &'static str {
        match self {
            SigV4Error::Missing => "MissingAuthenticationToken",
            SigV4Error::Incomplete(_) => "IncompleteSignature",
            SigV4Error::Expired(_) => "RequestExpired",
            SigV4Error::Mismatch => "SignatureDoesNotMatch",
        }
    }
}

fn incomplete(msg: impl Into<String>) -> SigV4Error {
    SigV4Error::Incomplete(msg.into())
}

/// The request body, or its hash.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// The body bytes (hashed here).
    Bytes(&'a [u8]),
    /// A SHA-256 already computed, lower-case hex.
    Sha256Hex(&'a str),
}

/// What the verifier needs of an HTTP request.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The path as received (percent-encoded as sent).
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// Headers as received; names in any case; repeated names allowed.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub payload: Payload<'a>,
}

/// Header (`Authorization`) or query (presigned URL) signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureForm {
    /// `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`
    Header,
    /// `?X-Amz-Algorithm=...&X-Amz-Credential=...&X-Amz-Signature=...`
    Presigned,
}

/// A signature read from a request; says whose key to look up.
#[derive(Debug, Clone)]
pub struct ParsedSignature {
    form: SignatureForm,
    access_key_id: String,
    scope_date: String,
    region: String,
    service: String,
    signed_headers: Vec<String>,
    signature: String,
    amz_date: String,
    signed_at: u64,
    expires: Option<u64>,
    security_token: Option<String>,
}

impl ParsedSignature {
    /// The access key id that signed.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    /// `X-Amz-Security-Token`, header or query.
    pub fn security_token(&self) -> Option<&str> {
        self.security_token.as_deref()
    }
    /// The region of the credential scope.
    pub fn region(&self) -> &str {
        &self.region
    }
    /// The service of the credential scope.
    pub fn service(&self) -> &str {
        &self.service
    }
    /// Header or presigned.
    pub fn form(&self) -> SignatureForm {
        self.form
    }
    /// `X-Amz-Date`, seconds since the epoch.
    pub fn signed_at(&self) -> u64 {
        self.signed_at
    }
    /// The signed header names (lower case).
    pub fn signed_headers(&self) -> &[String] {
        &self.signed_headers
    }
}

/// Proof that a request's signature verified. Only [`verify`] makes one.
#[derive(Debug, Clone)]
pub struct Verified {
    access_key_id: String,
    region: String,
    service: String,
    signed_at: u64,
    form: SignatureForm,
}

impl Verified {
    /// The access key id that signed.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    /// The region the request was signed for.
    pub fn region(&self) -> &str {
        &self.region
    }
    /// The service the request was signed for.
    pub fn service(&self) -> &str {
        &self.service
    }
    /// When it was signed (seconds since the epoch).
    pub fn signed_at(&self) -> u64 {
        self.signed_at
    }
    /// Header or presigned.
    pub fn form(&self) -> SignatureForm {
        self.form
    }
}

fn header<'a>(req: &RequestParts<'a>, name: &str) -> Vec<&'a str> {
    req.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
        .collect()
}

/// Decoded query pairs (percent-decoding only: `+` is a plus sign in SigV4).
fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Characters AWS leaves alone: `A-Z a-z 0-9 - _ . ~`.
const STRICT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, STRICT).to_string()
}

/// `YYYYMMDDTHHMMSSZ` -> seconds since the epoch.
fn parse_amz_date(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, se) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant), for years >= 1970.
    let y = i64::try_from(y).ok()? - i64::from(mo <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::try_from(mo).ok()?;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + i64::try_from(d).ok()? - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + i64::try_from(h * 3600 + mi * 60 + se).ok()?;
    u64::try_from(secs).ok()
}

/// Read the signature of a request, without any secret.
pub fn parse(req: &RequestParts<'_>) -> Result<ParsedSignature, SigV4Error> {
    let auth = header(req, "authorization");
    let pairs = query_pairs(req.query);
    let in_query = !qvals(&pairs, "X-Amz-Signature").is_empty()
        || !qvals(&pairs, "X-Amz-Algorithm").is_empty();
    match (auth.as_slice(), in_query) {
        ([], false) => Err(SigV4Error::Missing),
        ([_, _, ..], _) => Err(incomplete("More than one Authorization header")),
        ([_], true) => Err(incomplete(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified",
        )),
        ([value], false) => parse_header(req, value),
        ([], true) => parse_query(&pairs),
    }
}

fn one<'a>(values: &[&'a str], name: &str) -> Result<&'a str, SigV4Error> {
    match values {
        [v] => Ok(v),
        [] => Err(incomplete(format!("Missing {name}"))),
        _ => Err(incomplete(format!("{name} given more than once"))),
    }
}

fn parse_scope(credential: &str) -> Result<(String, String, String, String), SigV4Error> {
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [key, date, region, service, "aws4_request"]
            if !key.is_empty() && date.len() == 8 && !region.is_empty() && !service.is_empty() =>
        {
            Ok((
                (*key).into(),
                (*date).into(),
                (*region).into(),
                (*service).into(),
            ))
        }
        _ => Err(incomplete(format!(
            "Credential should be scoped to a valid region, service and date: {}",
            parts
                .first()
                .map(|k| format!("{k}/..."))
                .unwrap_or_default()
        ))),
    }
}

fn parse_signed_headers(list: &str) -> Result<Vec<String>, SigV4Error> {
    let headers: Vec<String> = list.split(';').map(str::to_ascii_lowercase).collect();
    if headers.iter().any(String::is_empty) {
        return Err(incomplete("SignedHeaders is malformed"));
    }
    if !headers.iter().any(|h| h == "host") {
        return Err(incomplete("SignedHeaders must include host"));
    }
    Ok(headers)
}

fn parse_header(req: &RequestParts<'_>, value: &str) -> Result<ParsedSignature, SigV4Error> {
    let rest = value
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with(' '))
        .ok_or_else(|| {
            incomplete(format!(
                "Unsupported authorization type; expected {ALGORITHM}"
            ))
        })?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for field in rest.split(',') {
        let field = field.trim();
        let (k, v) = field.split_once('=').ok_or_else(|| {
            incomplete("Authorization header requires Credential, SignedHeaders and Signature")
        })?;
        let slot = match k {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => return Err(incomplete(format!("Unknown Authorization field {k}"))),
        };
        if slot.replace(v).is_some() {
            return Err(incomplete(format!("{k} given more than once")));
        }
    }
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        return Err(incomplete(
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters",
        ));
    };
    let (access_key_id, scope_date, region, service) = parse_scope(credential)?;
    let amz_date = match header(req, "x-amz-date").as_slice() {
        [d] => (*d).trim().to_owned(),
        [] => return Err(incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header",
        )),
        _ => return Err(incomplete("X-Amz-Date given more than once")),
    };
    let signed_at =
        parse_amz_date(&amz_date).ok_or_else(|| incomplete("X-Amz-Date is malformed"))?;
    let security_token = match header(req, "x-amz-security-token").as_slice() {
        [] => None,
        [t] => Some((*t).trim().to_owned()),
        _ => return Err(incomplete("X-Amz-Security-Token given more than once")),
    };
    Ok(ParsedSignature {
        form: SignatureForm::Header,
        access_key_id,
        scope_date,
        region,
        service,
        signed_headers: parse_signed_headers(signed)?,
        signature: signature.to_owned(),
        amz_date,
        signed_at,
        expires: None,
        security_token,
    })
}

fn qvals<'a>(pairs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn parse_query(pairs: &[(String, String)]) -> Result<ParsedSignature, SigV4Error> {
    let q = |name: &str| qvals(pairs, name);
    if one(&q("X-Amz-Algorithm"), "X-Amz-Algorithm")? != ALGORITHM {
        return Err(incomplete(format!(
            "X-Amz-Algorithm only supports {ALGORITHM}"
        )));
    }
    let (access_key_id, scope_date, region, service) =
        parse_scope(one(&q("X-Amz-Credential"), "X-Amz-Credential")?)?;
    let amz_date = one(&q("X-Amz-Date"), "X-Amz-Date")?.to_owned();
    let signed_at =
        parse_amz_date(&amz_date).ok_or_else(|| incomplete("X-Amz-Date is malformed"))?;
    let expires: u64 = one(&q("X-Amz-Expires"), "X-Amz-Expires")?
        .parse()
        .map_err(|_| incomplete("X-Amz-Expires must be a number of seconds"))?;
    if expires > MAX_PRESIGNED_EXPIRES {
        return Err(incomplete(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        ));
    }
    let security_token = match q("X-Amz-Security-Token").as_slice() {
        [] => None,
        [t] => Some((*t).to_owned()),
        _ => return Err(incomplete("X-Amz-Security-Token given more than once")),
    };
    Ok(ParsedSignature {
        form: SignatureForm::Presigned,
        access_key_id,
        scope_date,
        region,
        service,
        signed_headers: parse_signed_headers(one(
            &q("X-Amz-SignedHeaders"),
            "X-Amz-SignedHeaders",
        )?)?,
        signature: one(&q("X-Amz-Signature"), "X-Amz-Signature")?.to_owned(),
        amz_date,
        signed_at,
        expires: Some(expires),
        security_token,
    })
}

/// The canonical URI: dot segments and duplicate slashes removed (when `normalize`), then each
/// segment URI-encoded.
pub fn canonical_uri(path: &str, normalize: bool) -> String {
    let path = if path.is_empty() { "/" } else { path };
    let segments: Vec<&str> = if normalize {
        let mut out: Vec<&str> = Vec::new();
        for seg in path.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    out.pop();
                }
                s => out.push(s),
            }
        }
        out
    } else {
        path.split('/').skip(1).collect()
    };
    let mut uri: String = segments.iter().map(|s| format!("/{}", encode(s))).collect();
    let trailing = path.ends_with('/') && !segments.is_empty();
    if uri.is_empty() || trailing && normalize {
        uri.push('/');
    }
    uri
}

/// The canonical query string (presigned signature excluded; the session token too when
/// `omit_token`: some signers add `X-Amz-Security-Token` after signing).
pub fn canonical_query(query: &str, omit_token: bool) -> String {
    let mut pairs: Vec<(String, String)> = query_pairs(query)
        .into_iter()
        .filter(|(k, _)| k != "X-Amz-Signature" && !(omit_token && k == "X-Amz-Security-Token"))
        .map(|(k, v)| (encode(&k), encode(&v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Trim and fold runs of white space (including folded lines) to one space.
fn fold(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The canonical request of `req` for the given signed headers.
pub fn canonical_request(
    req: &RequestParts<'_>,
    signed_headers: &[String],
    normalize: bool,
    omit_query_token: bool,
) -> Result<String, SigV4Error> {
    let mut lines = String::new();
    for name in signed_headers {
        let values = header(req, name);
        if values.is_empty() {
            return Err(incomplete(format!(
                "The header {name} is signed but not in the request"
            )));
        }
        let joined: Vec<String> = values.iter().map(|v| fold(v)).collect();
        lines.push_str(&format!("{name}:{}\n", joined.join(",")));
    }
    let payload = match header(req, "x-amz-content-sha256").as_slice() {
        [h] => (*h).trim().to_owned(),
        _ => match req.payload {
            Payload::Bytes(b) => hex_sha256(b),
            Payload::Sha256Hex(h) => h.to_owned(),
        },
    };
    Ok(format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        canonical_uri(req.path, normalize),
        canonical_query(req.query, omit_query_token),
        lines,
        signed_headers.join(";"),
        payload
    ))
}

/// The string to sign.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex_sha256(canonical_request.as_bytes())
    )
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // INVARIANT: HMAC accepts keys of any length; new_from_slice cannot fail for it.
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// The hex signature of a string to sign.
pub fn signature(secret: &str, date: &str, region: &str, service: &str, sts: &str) -> String {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    hex::encode(hmac(&k_signing, sts.as_bytes()))
}

/// Verify a parsed signature with the signer's secret. `now` in seconds since the epoch; `skew`
/// in seconds (AWS: 900). Header signatures must be within `skew` of `now`; presigned ones
/// valid from `X-Amz-Date - skew` to `X-Amz-Date + X-Amz-Expires`.
pub fn verify(
    req: &RequestParts<'_>,
    parsed: &ParsedSignature,
    secret_access_key: &str,
    now: u64,
    skew: u64,
) -> Result<Verified, SigV4Error> {
    verify_with_path_rule(req, parsed, secret_access_key, now, skew, true)
}

/// As [`verify`]; `normalize_path: false` signs the path without removing dot segments and
/// duplicate slashes (S3's rule, and the suites' unnormalized cases).
pub fn verify_with_path_rule(
    req: &RequestParts<'_>,
    parsed: &ParsedSignature,
    secret_access_key: &str,
    now: u64,
    skew: u64,
    normalize_path: bool,
) -> Result<Verified, SigV4Error> {
    if parsed.amz_date.get(..8) != Some(parsed.scope_date.as_str()) {
        return Err(incomplete(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP",
        ));
    }
    let scope = format!(
        "{}/{}/{}/aws4_request",
        parsed.scope_date, parsed.region, parsed.service
    );
    let attempt = |omit_token: bool| -> Result<bool, SigV4Error> {
        let canonical = canonical_request(req, &parsed.signed_headers, normalize_path, omit_token)?;
        let expected = signature(
            secret_access_key,
            &parsed.scope_date,
            &parsed.region,
            &parsed.service,
            &string_to_sign(&parsed.amz_date, &scope, &canonical),
        );
        Ok(expected
            .as_bytes()
            .ct_eq(parsed.signature.to_ascii_lowercase().as_bytes())
            .into())
    };
    // A presigned URL may carry its session token outside the signature (added after signing,
    // as some SDKs do); the token is still checked against the session by the caller.
    let token_outside = parsed.form == SignatureForm::Presigned && parsed.security_token.is_some();
    if !(attempt(false)? || token_outside && attempt(true)?) {
        return Err(SigV4Error::Mismatch);
    }
    // Time is checked after the signature, so an attacker learns nothing about clocks from an
    // unsigned request.
    match parsed.expires {
        None => {
            if parsed.signed_at.abs_diff(now) > skew {
                return Err(SigV4Error::Expired(format!(
                    "Signature expired: {} is now earlier or later than the allowed window",
                    parsed.amz_date
                )));
            }
        }
        Some(exp) => {
            if now + skew < parsed.signed_at {
                return Err(SigV4Error::Expired(format!(
                    "Request is not yet valid: signed at {}",
                    parsed.amz_date
                )));
            }
            if now > parsed.signed_at + exp {
                return Err(SigV4Error::Expired(format!(
                    "Request has expired: signed at {}, valid for {exp} seconds",
                    parsed.amz_date
                )));
            }
        }
    }
    Ok(Verified {
        access_key_id: parsed.access_key_id.clone(),
        region: parsed.region.clone(),
        service: parsed.service.clone(),
        signed_at: parsed.signed_at,
        form: parsed.form,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(parse_amz_date("20150830T123600"), None);
        assert_eq!(parse_amz_date("2015083xT123600Z"), None);
    }

    #[test]
    fn uris() {
        assert_eq!(canonical_uri("/", true), "/");
        assert_eq!(canonical_uri("//example//", true), "/example/");
        assert_eq!(canonical_uri("//example//", false), "//example//");
        assert_eq!(canonical_uri("/example1/example2/../..", true), "/");
        assert_eq!(canonical_uri("/a%20b", true), "/a%2520b");
        assert_eq!(canonical_uri("/ሴ", true), "/%E1%88%B4");
    }

    #[test]
    fn garbage_never_panics() {
        for auth in [
            "",
            "AWS4-HMAC-SHA256",
            "AWS4-HMAC-SHA256 ,,,",
            "AWS4-HMAC-SHA256 Credential=/",
            "x y z",
        ] {
            let headers = [("Authorization", auth), ("Host", "h")];
            let req = RequestParts {
                method: "GET",
                path: "/",
                query: "",
                headers: &headers,
                payload: Payload::Bytes(b""),
            };
            assert!(parse(&req).is_err());
        }
    }
}
