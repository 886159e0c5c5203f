//! Step 1: read the signature of a request, without any secret.

use std::fmt;

use crate::canonical::{header_values, query_pairs, query_values, valid_header_name, QueryPair};
use crate::error::{incomplete, SigV4Error};
use crate::time::parse_amz_date;
use crate::{RequestParts, SignatureForm, ALGORITHM, MAX_PRESIGNED_EXPIRES, UNSIGNED_PAYLOAD};

/// A signature read from a request by [`parse`]: says whose key to look up. Holds nothing
/// verified; only [`crate::verify`] turns it into a [`crate::Verified`].
#[derive(Clone, PartialEq, Eq)]
pub struct ParsedSignature {
    pub(crate) form: SignatureForm,
    pub(crate) access_key_id: String,
    pub(crate) scope_date: String,
    pub(crate) region: String,
    pub(crate) service: String,
    pub(crate) signed_headers: Vec<String>,
    /// Lower-case hex, 64 characters.
    pub(crate) signature: String,
    pub(crate) amz_date: String,
    pub(crate) signed_at: u64,
    /// `X-Amz-Expires` (presigned form only).
    pub(crate) expires: Option<u64>,
    pub(crate) security_token: Option<String>,
    /// The token came as the `X-Amz-Security-Token` query parameter.
    pub(crate) token_in_query: bool,
}

impl ParsedSignature {
    /// The access key id that signed (ASCII letters and digits, at most 128).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    /// `X-Amz-Security-Token`, from the header or the query parameter. Not checked here: the
    /// caller must check that it belongs to the access key id.
    pub fn security_token(&self) -> Option<&str> {
        self.security_token.as_deref()
    }
    /// The date of the credential scope (`YYYYMMDD`, the day of `X-Amz-Date`).
    pub fn scope_date(&self) -> &str {
        &self.scope_date
    }
    /// The region of the credential scope. Not checked here against anything: the caller's policy.
    pub fn region(&self) -> &str {
        &self.region
    }
    /// The service of the credential scope. Not checked here against anything: the caller's
    /// policy (idbroker's STS wants `sts`).
    pub fn service(&self) -> &str {
        &self.service
    }
    /// Header or presigned.
    pub fn form(&self) -> SignatureForm {
        self.form
    }
    /// `X-Amz-Date`, in seconds since the Unix epoch.
    pub fn signed_at(&self) -> u64 {
        self.signed_at
    }
    /// `X-Amz-Expires` in seconds, for the presigned form.
    pub fn expires_in(&self) -> Option<u64> {
        self.expires
    }
    /// The signed header names (lower case, as listed by the signer).
    pub fn signed_headers(&self) -> &[String] {
        &self.signed_headers
    }
}

impl fmt::Debug for ParsedSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedSignature")
            .field("form", &self.form)
            .field("access_key_id", &self.access_key_id)
            .field("region", &self.region)
            .field("service", &self.service)
            .field("amz_date", &self.amz_date)
            .field("expires", &self.expires)
            .field("signed_headers", &self.signed_headers)
            .field("signature", &"<redacted>")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Read the signature of a request, without any secret: the `Authorization` header
/// (`AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` with `X-Amz-Date`) or the
/// presigned query (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`,
/// `X-Amz-SignedHeaders`, `X-Amz-Signature`).
///
/// Checks the shape only: every part present once and well formed, the credential scope
/// `date/region/service/aws4_request` with its date equal to `X-Amz-Date`'s, `host` among the
/// signed headers, `X-Amz-Expires` at most seven days, at most one session token,
/// `X-Amz-Content-Sha256` (if any) a SHA-256 hex digest or `UNSIGNED-PAYLOAD`. Times are not
/// checked here (no clock), nor the signature.
///
/// Errors: [`SigV4Error::Missing`] when there is no signature at all; [`SigV4Error::Incomplete`]
/// for a malformed one, for both forms at once, or for two `Authorization` headers;
/// [`SigV4Error::Expired`] for `X-Amz-Expires` over 604800.
pub fn parse(req: &RequestParts<'_>) -> Result<ParsedSignature, SigV4Error> {
    parse_with_pairs(req, &query_pairs(req.query))
}

/// [`parse`], with the request's query already decoded (`query_pairs(req.query)`).
pub(crate) fn parse_with_pairs(
    req: &RequestParts<'_>,
    pairs: &[QueryPair],
) -> Result<ParsedSignature, SigV4Error> {
    let auth = header_values(req.headers, "authorization");
    let in_query = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"]
        .iter()
        .any(|n| !query_values(pairs, n).is_empty());
    let mut parsed = match (auth.as_slice(), in_query) {
        ([], false) => return Err(SigV4Error::Missing),
        ([_, _, ..], _) => return Err(incomplete("Only one Authorization header is allowed")),
        ([_], true) => {
            return Err(incomplete(
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified",
            ))
        }
        ([value], false) => parse_header(req, value)?,
        ([], true) => parse_query(pairs)?,
    };
    if parsed.amz_date.get(..8) != Some(parsed.scope_date.as_str()) {
        return Err(incomplete(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{}'.",
            parsed.scope_date,
            parsed.amz_date.get(..8).unwrap_or_default(),
            parsed.amz_date
        )));
    }
    let header_tokens = header_values(req.headers, "x-amz-security-token");
    let query_tokens = query_values(pairs, "X-Amz-Security-Token");
    (parsed.security_token, parsed.token_in_query) = match (
        header_tokens.as_slice(),
        query_tokens.as_slice(),
    ) {
        ([], []) => (None, false),
        ([t], []) => (Some(t.trim_ascii().to_owned()), false),
        ([], [t]) => (Some(utf8(t, "X-Amz-Security-Token")?), true),
        _ => return Err(incomplete(
            "X-Amz-Security-Token must be given at most once, as a header or as a query parameter",
        )),
    };
    declared_payload_hash(req.headers)?;
    Ok(parsed)
}

/// The `X-Amz-Content-Sha256` header, if any, trimmed: a SHA-256 hex digest or
/// `UNSIGNED-PAYLOAD`.
pub(crate) fn declared_payload_hash<'a>(
    headers: &[(&'a str, &'a str)],
) -> Result<Option<&'a str>, SigV4Error> {
    match header_values(headers, "x-amz-content-sha256").as_slice() {
        [] => Ok(None),
        [v] => {
            let v = v.trim_ascii();
            if v == UNSIGNED_PAYLOAD || is_hex(v, 64) {
                Ok(Some(v))
            } else if v.starts_with("STREAMING-") {
                Err(incomplete(
                    "Chunked (streaming) payload signing is not supported; sign the whole payload",
                ))
            } else {
                Err(incomplete(
                    "X-Amz-Content-Sha256 must be the hex SHA-256 of the payload or UNSIGNED-PAYLOAD",
                ))
            }
        }
        _ => Err(incomplete(
            "X-Amz-Content-Sha256 must be given at most once",
        )),
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn utf8(bytes: &[u8], name: &str) -> Result<String, SigV4Error> {
    String::from_utf8(bytes.to_vec()).map_err(|_| incomplete(format!("{name} is not valid UTF-8")))
}

/// An access key id as accepted here: 1 to 128 ASCII letters and digits (AWS's are 16 to 128).
pub(crate) fn valid_access_key_id(k: &str) -> bool {
    (1..=128).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A region or service name: 1 to 64 of `A-Z a-z 0-9 - _ .`.
pub(crate) fn valid_scope_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `AKID/YYYYMMDD/region/service/aws4_request`.
fn parse_scope(credential: &str) -> Result<(String, String, String, String), SigV4Error> {
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [key, date, region, service, "aws4_request"]
            if valid_access_key_id(key)
                && date.len() == 8
                && date.bytes().all(|b| b.is_ascii_digit())
                && valid_scope_name(region)
                && valid_scope_name(service) =>
        {
            Ok((
                (*key).to_owned(),
                (*date).to_owned(),
                (*region).to_owned(),
                (*service).to_owned(),
            ))
        }
        _ => Err(incomplete(
            "Credential must have the form <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request",
        )),
    }
}

fn parse_signed_headers(list: &str) -> Result<Vec<String>, SigV4Error> {
    let headers: Vec<String> = list.split(';').map(str::to_owned).collect();
    if !headers.iter().all(|h| valid_header_name(h)) {
        return Err(incomplete(
            "SignedHeaders must be a ';'-separated list of lower-case header names",
        ));
    }
    let mut sorted: Vec<&String> = headers.iter().collect();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != headers.len() {
        return Err(incomplete("SignedHeaders lists a header more than once"));
    }
    if !headers.iter().any(|h| h == "host") {
        return Err(incomplete("SignedHeaders must include host"));
    }
    Ok(headers)
}

fn parse_signature(sig: &str) -> Result<String, SigV4Error> {
    if is_hex(sig, 64) {
        Ok(sig.to_ascii_lowercase())
    } else {
        Err(incomplete("Signature must be 64 hexadecimal characters"))
    }
}

fn parse_date(value: &str) -> Result<(String, u64), SigV4Error> {
    let value = value.trim_ascii();
    let secs = parse_amz_date(value).ok_or_else(|| {
        incomplete("X-Amz-Date must be in the ISO-8601 basic format YYYYMMDD'T'HHMMSS'Z'")
    })?;
    Ok((value.to_owned(), secs))
}

fn parse_header(req: &RequestParts<'_>, value: &str) -> Result<ParsedSignature, SigV4Error> {
    let rest = value
        .trim_ascii()
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with(' '))
        .ok_or_else(|| {
            incomplete(format!(
                "Unsupported Authorization type; only {ALGORITHM} is accepted"
            ))
        })?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for field in rest.split(',') {
        let (k, v) = field.trim_ascii().split_once('=').ok_or_else(|| {
            incomplete(
                "Authorization header fields must have the form Name=value, separated by commas",
            )
        })?;
        let slot = match k {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => {
                return Err(incomplete(
                    "Authorization header has a field other than Credential, SignedHeaders and Signature",
                ))
            }
        };
        if slot.replace(v).is_some() {
            return Err(incomplete(
                "Authorization header gives Credential, SignedHeaders or Signature more than once",
            ));
        }
    }
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        return Err(incomplete(
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters",
        ));
    };
    let (access_key_id, scope_date, region, service) = parse_scope(credential)?;
    let signed_headers = parse_signed_headers(signed)?;
    let signature = parse_signature(signature)?;
    let (amz_date, signed_at) = match header_values(req.headers, "x-amz-date").as_slice() {
        [d] => parse_date(d)?,
        [] => {
            return Err(incomplete(
                "Authorization header requires an 'X-Amz-Date' header",
            ))
        }
        _ => return Err(incomplete("X-Amz-Date must be given once")),
    };
    Ok(ParsedSignature {
        form: SignatureForm::Header,
        access_key_id,
        scope_date,
        region,
        service,
        signed_headers,
        signature,
        amz_date,
        signed_at,
        expires: None,
        security_token: None,
        token_in_query: false,
    })
}

fn one(pairs: &[QueryPair], name: &str) -> Result<String, SigV4Error> {
    match query_values(pairs, name).as_slice() {
        [v] => utf8(v, name),
        [] => Err(incomplete(format!(
            "A presigned request requires the {name} query parameter"
        ))),
        _ => Err(incomplete(format!("{name} must be given once"))),
    }
}

fn parse_query(pairs: &[QueryPair]) -> Result<ParsedSignature, SigV4Error> {
    if one(pairs, "X-Amz-Algorithm")? != ALGORITHM {
        return Err(incomplete(format!(
            "X-Amz-Algorithm only supports {ALGORITHM}"
        )));
    }
    let (access_key_id, scope_date, region, service) =
        parse_scope(&one(pairs, "X-Amz-Credential")?)?;
    let (amz_date, signed_at) = parse_date(&one(pairs, "X-Amz-Date")?)?;
    let expires_text = one(pairs, "X-Amz-Expires")?;
    if expires_text.is_empty() || !expires_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(incomplete(
            "X-Amz-Expires must be a non-negative number of seconds",
        ));
    }
    // All digits: only an overflow can fail, and that is over the limit too.
    let expires = expires_text.parse::<u64>().unwrap_or(u64::MAX);
    if expires > MAX_PRESIGNED_EXPIRES {
        return Err(SigV4Error::Expired(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800".into(),
        ));
    }
    let signed_headers = parse_signed_headers(&one(pairs, "X-Amz-SignedHeaders")?)?;
    let signature = parse_signature(&one(pairs, "X-Amz-Signature")?)?;
    Ok(ParsedSignature {
        form: SignatureForm::Presigned,
        access_key_id,
        scope_date,
        region,
        service,
        signed_headers,
        signature,
        amz_date,
        signed_at,
        expires: Some(expires),
        security_token: None,
        token_in_query: false,
    })
}
