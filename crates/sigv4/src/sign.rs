//! The signer: the header (`Authorization`) and presigned (query) forms.

use std::fmt;

use crate::canonical::{
    assemble, canonical_headers, canonical_query, canonical_uri, encode, fold, header_values,
    hex_sha256, query_pairs, query_values, valid_header_name,
};
use crate::crypto::{signature_hex, signing_key, string_to_sign};
use crate::error::{incomplete, SigV4Error};
use crate::parse::{declared_payload_hash, parse, valid_access_key_id, valid_scope_name};
use crate::time::{format_amz_date, parse_amz_date};
use crate::{
    Payload, RequestParts, ALGORITHM, EMPTY_SHA256, MAX_PRESIGNED_EXPIRES, UNSIGNED_PAYLOAD,
};

/// Where [`sign`] puts the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningForm {
    /// `Authorization` and `X-Amz-Date` headers.
    Header,
    /// Query parameters (a presigned URL), valid for `expires_in` seconds (at most 604800).
    Presigned {
        /// `X-Amz-Expires`.
        expires_in: u64,
    },
}

/// What [`sign`] needs besides the request. Build with [`SigningParams::new`] and adjust the
/// public fields. `Debug` does not show the secret or the token.
#[derive(Clone, Copy)]
pub struct SigningParams<'a> {
    /// The access key id.
    pub access_key_id: &'a str,
    /// The secret access key.
    pub secret_access_key: &'a str,
    /// The session token of temporary credentials (`X-Amz-Security-Token`).
    pub security_token: Option<&'a str>,
    /// The region of the credential scope.
    pub region: &'a str,
    /// The service of the credential scope (`sts`).
    pub service: &'a str,
    /// The signing time, seconds since the Unix epoch.
    pub time: u64,
    /// Header or presigned.
    pub form: SigningForm,
    /// Remove dot segments and empty segments from the path before encoding (every service but
    /// S3). Default true.
    pub normalize_path: bool,
    /// Header form: add and sign `X-Amz-Content-Sha256` with the payload hash (S3 requires it;
    /// aws-c-auth's `sign_body`). Default false.
    pub content_sha256_header: bool,
    /// Include the session token in the signature (default true). False adds the token after
    /// signing, unsigned (aws-c-auth's `omit_session_token`).
    pub sign_security_token: bool,
}

impl<'a> SigningParams<'a> {
    /// Header form, path normalised, no `X-Amz-Content-Sha256` header, no session token.
    pub fn new(
        access_key_id: &'a str,
        secret_access_key: &'a str,
        region: &'a str,
        service: &'a str,
        time: u64,
    ) -> Self {
        SigningParams {
            access_key_id,
            secret_access_key,
            security_token: None,
            region,
            service,
            time,
            form: SigningForm::Header,
            normalize_path: true,
            content_sha256_header: false,
            sign_security_token: true,
        }
    }
}

impl fmt::Debug for SigningParams<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningParams")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("security_token", &self.security_token.map(|_| "<redacted>"))
            .field("region", &self.region)
            .field("service", &self.service)
            .field("time", &self.time)
            .field("form", &self.form)
            .field("normalize_path", &self.normalize_path)
            .field("content_sha256_header", &self.content_sha256_header)
            .field("sign_security_token", &self.sign_security_token)
            .finish()
    }
}

/// The result of [`sign`]: what to add to the request. `Debug` does not show header values or
/// the signature.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedRequest {
    headers: Vec<(String, String)>,
    query: String,
    signature: String,
    canonical_request: String,
    string_to_sign: String,
}

impl SignedRequest {
    /// Headers to add to the request, in this order (header form: `X-Amz-Date`,
    /// `x-amz-content-sha256`, `X-Amz-Security-Token` when not already there, then
    /// `Authorization`; presigned form: none).
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }
    /// The request's own `headers` followed by [`headers`](Self::headers): all that is sent.
    pub fn headers_after<'a>(&'a self, headers: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut all = headers.to_vec();
        all.extend(self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        all
    }
    /// The `Authorization` header value (header form).
    pub fn authorization(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == "Authorization")
            .map(|(_, v)| v.as_str())
    }
    /// The query string to send, without `?`: the request's own, and for the presigned form the
    /// `X-Amz-*` parameters appended, `X-Amz-Signature` last.
    pub fn query(&self) -> &str {
        &self.query
    }
    /// The hex signature.
    pub fn signature(&self) -> &str {
        &self.signature
    }
    /// The canonical request that was signed (the signer's own data; for tests and debugging).
    pub fn canonical_request(&self) -> &str {
        &self.canonical_request
    }
    /// The string to sign.
    pub fn string_to_sign(&self) -> &str {
        &self.string_to_sign
    }
}

impl fmt::Debug for SignedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("SignedRequest")
            .field("headers", &names)
            .field("signature", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Headers never signed (as aws-sigv4): they are rewritten by proxies and HTTP stacks.
const NEVER_SIGNED: [&str; 4] = [
    "authorization",
    "user-agent",
    "x-amzn-trace-id",
    "transfer-encoding",
];
/// Also not signed in a presigned URL (as aws-sigv4).
const NOT_PRESIGNED: [&str; 2] = ["x-amz-user-agent", "x-amz-checksum-mode"];

const QUERY_AUTH_PARAMS: [&str; 7] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Security-Token",
    "X-Amz-Signature",
];

/// Sign a request with SigV4, in the header or presigned form.
///
/// Signs every header of `req` (plus those the signer adds: `X-Amz-Date`, the session token,
/// `X-Amz-Content-Sha256` when asked) except `Authorization`, `User-Agent`, `X-Amzn-Trace-Id`
/// and `Transfer-Encoding` (and, presigned, `X-Amz-User-Agent` and `X-Amz-Checksum-Mode`), as
/// aws-sigv4 does. `req` must carry a `Host` header. The payload line is the body's SHA-256 for
/// [`Payload::Bytes`], the given hash for [`Payload::Sha256Hex`], `UNSIGNED-PAYLOAD` for
/// [`Payload::Unsigned`], or the value of an `X-Amz-Content-Sha256` header already in `req`.
/// For a presigned URL pass [`Payload::Unsigned`], as botocore does (aws-c-auth signs the body's
/// hash instead; the verifier accepts both, `UNSIGNED-PAYLOAD` only with an empty body).
///
/// Fails with [`SigV4Error::Incomplete`] when the request cannot be signed as asked, so that
/// whatever it signs, [`crate::verify`] accepts: no `Host`, already signed, an `X-Amz-Date` or
/// session token header that differs from the parameters, an `X-Amz-Content-Sha256` that does
/// not match the body, a malformed header name, an access key id, region or service that
/// [`crate::parse`] would refuse, a time outside years 1970..=9999, `expires_in` over 604800.
pub fn sign(req: &RequestParts<'_>, p: &SigningParams<'_>) -> Result<SignedRequest, SigV4Error> {
    if !valid_access_key_id(p.access_key_id) {
        return Err(incomplete(
            "The access key id must be 1 to 128 ASCII letters and digits",
        ));
    }
    if !valid_scope_name(p.region) || !valid_scope_name(p.service) {
        return Err(incomplete(
            "The region and service must be 1 to 64 of A-Z a-z 0-9 - _ .",
        ));
    }
    if !header_values(req.headers, "authorization").is_empty() {
        return Err(incomplete(
            "The request already has an Authorization header",
        ));
    }
    let pairs = query_pairs(req.query);
    if QUERY_AUTH_PARAMS
        .iter()
        .any(|n| !query_values(&pairs, n).is_empty())
    {
        return Err(incomplete(
            "The request already has X-Amz-* signing parameters",
        ));
    }
    if header_values(req.headers, "host").is_empty() {
        return Err(incomplete("The request has no Host header"));
    }
    let amz_date = format_amz_date(p.time);
    if parse_amz_date(&amz_date) != Some(p.time) {
        return Err(incomplete("The signing time must be between 1970 and 9999"));
    }
    let date = amz_date.get(..8).unwrap_or_default();
    let scope = format!("{date}/{}/{}/aws4_request", p.region, p.service);
    let body_hash = match req.payload {
        Payload::Bytes(b) => Some(hex_sha256(b)),
        Payload::Sha256Hex(h) => Some(h.trim_ascii().to_ascii_lowercase()),
        Payload::Unsigned => None,
    };
    let body_present = body_hash.as_deref().is_some_and(|h| h != EMPTY_SHA256);
    let payload_hash = match (declared_payload_hash(req.headers)?, body_hash) {
        (Some(UNSIGNED_PAYLOAD), Some(_)) if body_present => {
            return Err(incomplete(
                "The request has a body and X-Amz-Content-Sha256: UNSIGNED-PAYLOAD; verifiers refuse an unsigned body",
            ))
        }
        (Some(declared), Some(actual))
            if declared != UNSIGNED_PAYLOAD && !declared.eq_ignore_ascii_case(&actual) =>
        {
            return Err(incomplete(
                "The request's X-Amz-Content-Sha256 header does not match its body",
            ))
        }
        (Some(declared), _) => declared.to_owned(),
        (None, Some(actual)) => actual,
        (None, None) => UNSIGNED_PAYLOAD.to_owned(),
    };

    let presigned_expires = match p.form {
        SigningForm::Header => None,
        SigningForm::Presigned { expires_in } if expires_in <= MAX_PRESIGNED_EXPIRES => {
            Some(expires_in)
        }
        SigningForm::Presigned { .. } => {
            return Err(incomplete(
                "X-Amz-Expires must be less than a week (in seconds) that is 604800",
            ))
        }
    };

    if presigned_expires.is_some()
        && p.security_token.is_some()
        && !header_values(req.headers, "x-amz-security-token").is_empty()
    {
        return Err(incomplete(
            "The request has an X-Amz-Security-Token header; a presigned URL carries the token in its query",
        ));
    }

    // Headers the signer adds (header form).
    let mut added: Vec<(String, String)> = Vec::new();
    if presigned_expires.is_none() {
        match header_values(req.headers, "x-amz-date").as_slice() {
            [] => added.push(("X-Amz-Date".into(), amz_date.clone())),
            [d] if fold(d) == amz_date => {}
            _ => {
                return Err(incomplete(
                    "The request has an X-Amz-Date header that differs from the signing time",
                ))
            }
        }
        if p.content_sha256_header && declared_payload_hash(req.headers)?.is_none() {
            added.push(("x-amz-content-sha256".into(), payload_hash.clone()));
        }
        if let Some(token) = p.security_token {
            match header_values(req.headers, "x-amz-security-token").as_slice() {
                [] => added.push(("X-Amz-Security-Token".into(), token.to_owned())),
                [t] if fold(t) == fold(token) => {}
                _ => {
                    return Err(incomplete(
                        "The request has an X-Amz-Security-Token header that differs from the session token",
                    ))
                }
            }
        }
    }
    let all_headers: Vec<(&str, &str)> = req
        .headers
        .iter()
        .copied()
        .chain(added.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .collect();

    let mut signed: Vec<String> = Vec::new();
    for (name, _) in &all_headers {
        let name = name.to_ascii_lowercase();
        if !valid_header_name(&name) {
            return Err(incomplete("The request has a malformed header name"));
        }
        let skip = NEVER_SIGNED.contains(&name.as_str())
            || (presigned_expires.is_some() && NOT_PRESIGNED.contains(&name.as_str()))
            || (!p.sign_security_token && name == "x-amz-security-token");
        if !skip {
            signed.push(name);
        }
    }
    signed.sort();
    signed.dedup();
    let headers_block = canonical_headers(&all_headers, &signed)?;
    let signed_list = signed.join(";");
    let credential = format!("{}/{scope}", p.access_key_id);

    // Query parameters the signer adds (presigned form), in aws-c-auth's order.
    let mut auth_params: Vec<(&str, String)> = Vec::new();
    if let Some(expires_in) = presigned_expires {
        auth_params.push(("X-Amz-Algorithm", ALGORITHM.to_owned()));
        auth_params.push(("X-Amz-Credential", credential.clone()));
        auth_params.push(("X-Amz-Date", amz_date.clone()));
        auth_params.push(("X-Amz-SignedHeaders", signed_list.clone()));
        auth_params.push(("X-Amz-Expires", expires_in.to_string()));
        if let Some(token) = p.security_token {
            auth_params.push(("X-Amz-Security-Token", token.to_owned()));
        }
    }
    let extra: Vec<(&str, &str)> = auth_params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let skip: &[&str] = if p.sign_security_token {
        &[]
    } else {
        &["X-Amz-Security-Token"]
    };
    let query = canonical_query(&pairs, &extra, skip);

    let canonical_request = assemble(
        req.method,
        &canonical_uri(req.path, p.normalize_path),
        &query,
        &headers_block,
        &payload_hash,
    );
    let string_to_sign = string_to_sign(&amz_date, &scope, &canonical_request);
    let key = signing_key(p.secret_access_key, date, p.region, p.service)?;
    let signature = signature_hex(&key, &string_to_sign)?;

    let (headers, query) = if presigned_expires.is_some() {
        let mut q = req.query.to_owned();
        for (k, v) in auth_params
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .chain(std::iter::once(("X-Amz-Signature", signature.as_str())))
        {
            if !q.is_empty() {
                q.push('&');
            }
            q.push_str(k);
            q.push('=');
            q.push_str(&encode(v.as_bytes()));
        }
        (Vec::new(), q)
    } else {
        let mut headers = added;
        headers.push((
            "Authorization".into(),
            format!(
                "{ALGORITHM} Credential={credential}, SignedHeaders={signed_list}, Signature={signature}"
            ),
        ));
        (headers, req.query.to_owned())
    };
    // Whatever is signed must parse (no duplicated X-Amz-Date or session token, ...): read the
    // result back as the verifier will.
    let sent: Vec<(&str, &str)> = req
        .headers
        .iter()
        .copied()
        .chain(headers.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .collect();
    parse(&RequestParts {
        query: &query,
        headers: &sent,
        ..*req
    })?;
    Ok(SignedRequest {
        headers,
        query,
        signature,
        canonical_request,
        string_to_sign,
    })
}
