//! Step 2: recompute the signature with the signer's secret, compare, check the time window.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use hmac::Mac;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::canonical::{
    canonical_query, hex_sha256, query_pairs, write_headers, write_uri, QueryPair, Sink,
};
use crate::crypto::SigningKey;
use crate::error::{incomplete, SigV4Error};
use crate::parse::{declared_payload_hash, parse_with_pairs, ParsedSignature};
use crate::time::format_amz_date;
use crate::{Payload, RequestParts, SignatureForm, ALGORITHM, EMPTY_SHA256, UNSIGNED_PAYLOAD};

/// Allowed clock skew, in whole seconds. Built from seconds (`u64`) or a [`Duration`], so
/// `verify(.., now, 900_u64)` and `verify(.., now, Duration::from_secs(900))` both work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Skew(u64);

impl Skew {
    /// AWS's window: 15 minutes.
    pub const DEFAULT: Skew = Skew(900);

    /// A skew of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Skew(secs)
    }

    /// The skew in seconds.
    pub const fn as_secs(self) -> u64 {
        self.0
    }
}

impl Default for Skew {
    fn default() -> Self {
        Skew::DEFAULT
    }
}

impl From<u64> for Skew {
    fn from(secs: u64) -> Self {
        Skew(secs)
    }
}

impl From<Duration> for Skew {
    /// Whole seconds (fractions are dropped).
    fn from(d: Duration) -> Self {
        Skew(d.as_secs())
    }
}

/// Proof that a request's signature verified, within its time window. Only [`verify`] (and
/// [`verify_with_path_rule`], [`ParsedRequest::verify`]) make one, so downstream code can require
/// a `Verified` as proof.
///
/// It says who signed and for what scope; it does not say the key is known, active or allowed,
/// that the session token belongs to it, or that the region and service are the ones expected:
/// those are the caller's checks.
#[derive(Clone, PartialEq, Eq)]
pub struct Verified {
    parsed: ParsedSignature,
    payload_signed: bool,
}

impl Verified {
    /// The access key id that signed.
    pub fn access_key_id(&self) -> &str {
        &self.parsed.access_key_id
    }
    /// The region of the credential scope.
    pub fn region(&self) -> &str {
        &self.parsed.region
    }
    /// The service of the credential scope.
    pub fn service(&self) -> &str {
        &self.parsed.service
    }
    /// When it was signed (`X-Amz-Date`), seconds since the Unix epoch.
    pub fn signed_at(&self) -> u64 {
        self.parsed.signed_at
    }
    /// Header or presigned.
    pub fn form(&self) -> SignatureForm {
        self.parsed.form
    }
    /// The session token the request carried (signed or not; the caller must check it belongs
    /// to the access key id).
    pub fn security_token(&self) -> Option<&str> {
        self.parsed.security_token.as_deref()
    }
    /// Whether the signature covers the payload. False when the signer used `UNSIGNED-PAYLOAD`
    /// (a presigned URL as botocore makes them, or `X-Amz-Content-Sha256: UNSIGNED-PAYLOAD`):
    /// then either the body passed as [`Payload::Bytes`] / [`Payload::Sha256Hex`] was empty
    /// (`verify` refuses a non-empty body the signature does not cover), or the caller passed
    /// [`Payload::Unsigned`] and must not act on the body it did not show.
    pub fn payload_signed(&self) -> bool {
        self.payload_signed
    }
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("access_key_id", &self.parsed.access_key_id)
            .field("region", &self.parsed.region)
            .field("service", &self.parsed.service)
            .field("signed_at", &self.parsed.signed_at)
            .field("form", &self.parsed.form)
            .field(
                "security_token",
                &self.parsed.security_token.as_ref().map(|_| "<redacted>"),
            )
            .field("payload_signed", &self.payload_signed)
            .finish()
    }
}

/// A request together with the signature read from it ([`parse_request`]). The one-step
/// alternative to [`parse`] + [`verify`] for verifiers that cache [`SigningKey`]s: the request
/// is read once, and [`ParsedRequest::verify`] cannot be handed another request's signature.
#[derive(Clone)]
pub struct ParsedRequest<'a> {
    req: RequestParts<'a>,
    parsed: ParsedSignature,
    pairs: Vec<QueryPair>,
    normalize_path: bool,
}

/// Read the signature of `req` ([`parse`]'s checks and errors), keeping the request with it.
pub fn parse_request<'a>(req: &RequestParts<'a>) -> Result<ParsedRequest<'a>, SigV4Error> {
    let pairs = query_pairs(req.query);
    let parsed = parse_with_pairs(req, &pairs)?;
    Ok(ParsedRequest {
        req: *req,
        parsed,
        pairs,
        normalize_path: true,
    })
}

impl<'a> ParsedRequest<'a> {
    /// The signature (whose key to look up, which session token came with it).
    pub fn signature(&self) -> &ParsedSignature {
        &self.parsed
    }

    /// Keep dot segments and empty segments in the path (see [`verify_with_path_rule`]).
    pub fn keep_path_as_is(mut self) -> Self {
        self.normalize_path = false;
        self
    }

    /// As [`verify`], with the signing key of the signature's scope ([`SigningKey::fits`];
    /// another scope's key is a [`SigV4Error::Mismatch`]).
    pub fn verify(
        self,
        key: &SigningKey,
        now: u64,
        skew: impl Into<Skew>,
    ) -> Result<Verified, SigV4Error> {
        self.check(key, now, skew.into().as_secs(), None)
    }

    /// As [`ParsedRequest::verify`] for a presigned request that is valid for `lifetime`
    /// seconds after its `X-Amz-Date` whatever its `X-Amz-Expires` says, as STS treats a
    /// presigned GetCallerIdentity (aws-iam-authenticator's `k8s-aws-v1.` tokens: 15 minutes).
    /// A header signature is checked against `skew` only, as by `verify`.
    pub fn verify_for_lifetime(
        self,
        key: &SigningKey,
        now: u64,
        skew: impl Into<Skew>,
        lifetime: u64,
    ) -> Result<Verified, SigV4Error> {
        self.check(key, now, skew.into().as_secs(), Some(lifetime))
    }

    fn check(
        self,
        key: &SigningKey,
        now: u64,
        skew: u64,
        lifetime: Option<u64>,
    ) -> Result<Verified, SigV4Error> {
        let ParsedRequest {
            req,
            parsed,
            pairs,
            normalize_path,
        } = self;
        if !key.fits(&parsed) {
            return Err(SigV4Error::Mismatch);
        }
        let mut queries = Vec::with_capacity(2);
        if parsed.form == SignatureForm::Presigned {
            queries.push(canonical_query(&pairs, &[], &["X-Amz-Signature"]));
            // A presigned URL may carry its session token outside the signature (added after
            // signing: aws-c-auth's omit_session_token, IoT). The token is still the caller's to
            // check against the access key; leaving it unsigned lets nobody change anything else.
            if parsed.token_in_query {
                queries.push(canonical_query(
                    &pairs,
                    &[],
                    &["X-Amz-Signature", "X-Amz-Security-Token"],
                ));
            }
        } else {
            queries.push(canonical_query(&pairs, &[], &[]));
        }
        let payloads = payload_candidates(&req, parsed.form)?;
        let mut payload_signed = None;
        'outer: for query in &queries {
            for (hash, signed) in &payloads {
                // The canonical request goes straight into its hash, and the string to sign
                // straight into the HMAC: nothing is assembled.
                let mut creq = Sha256::new();
                creq.put(req.method);
                creq.put("\n");
                write_uri(&mut creq, req.path, normalize_path);
                creq.put("\n");
                creq.put(query);
                creq.put("\n");
                write_headers(&mut creq, req.headers, &parsed.signed_headers)?;
                creq.put("\n");
                creq.put(hash);
                let mut creq_hex = [0u8; 64];
                hex::encode_to_slice(creq.finalize(), &mut creq_hex)
                    .map_err(|_| SigV4Error::Mismatch)?;
                let mut mac = key.mac.clone();
                for part in [
                    ALGORITHM.as_bytes(),
                    b"\n",
                    parsed.amz_date.as_bytes(),
                    b"\n",
                    parsed.scope_date.as_bytes(),
                    b"/",
                    parsed.region.as_bytes(),
                    b"/",
                    parsed.service.as_bytes(),
                    b"/aws4_request\n",
                    &creq_hex,
                ] {
                    mac.update(part);
                }
                let mut expected = [0u8; 64];
                hex::encode_to_slice(mac.finalize().into_bytes(), &mut expected)
                    .map_err(|_| SigV4Error::Mismatch)?;
                // Constant time: the signature is compared without early exit.
                if bool::from(expected.ct_eq(parsed.signature.as_bytes())) {
                    payload_signed = Some(*signed);
                    break 'outer;
                }
            }
        }
        let Some(payload_signed) = payload_signed else {
            return Err(SigV4Error::Mismatch);
        };
        check_time(&parsed, now, skew, lifetime)?;
        Ok(Verified {
            parsed,
            payload_signed,
        })
    }
}

impl fmt::Debug for ParsedRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedRequest")
            .field("method", &self.req.method)
            .field("path", &self.req.path)
            .field("signature", &self.parsed)
            .finish_non_exhaustive()
    }
}

/// Verify `parsed` (from [`parse`] of the same `req`) with the signer's secret, for services
/// other than S3 (the path is normalised; see [`verify_with_path_rule`]).
///
/// `now` is the current time in seconds since the Unix epoch (the caller reads its clock);
/// `skew` the allowed clock skew ([`Skew::DEFAULT`] = 15 minutes, as AWS): header signatures
/// must be dated within `skew` of `now`; presigned ones are valid from `X-Amz-Date - skew` to
/// `X-Amz-Date + X-Amz-Expires`.
///
/// The signature is recomputed and compared in constant time before the time is checked, so an
/// unsigned or forged request learns nothing about the server's clock. Errors:
/// [`SigV4Error::Mismatch`] (wrong secret, changed request, body not matching its declared
/// hash), [`SigV4Error::Expired`] (outside the window), [`SigV4Error::Incomplete`] (a signed
/// header missing from the request, a non-empty body signed as `UNSIGNED-PAYLOAD`, or `parsed`
/// not read from `req`).
pub fn verify(
    req: &RequestParts<'_>,
    parsed: &ParsedSignature,
    secret_access_key: &str,
    now: u64,
    skew: impl Into<Skew>,
) -> Result<Verified, SigV4Error> {
    verify_with_path_rule(req, parsed, secret_access_key, now, skew, true)
}

/// As [`verify`]; `normalize_path: false` keeps dot segments and empty segments in the path
/// (the AWS test suites' "unnormalized" cases; S3's rule, though S3 also encodes only once,
/// which this crate does not do).
pub fn verify_with_path_rule(
    req: &RequestParts<'_>,
    parsed: &ParsedSignature,
    secret_access_key: &str,
    now: u64,
    skew: impl Into<Skew>,
    normalize_path: bool,
) -> Result<Verified, SigV4Error> {
    // `parsed` must describe this very request; re-reading it is cheap and stops a caller from
    // pairing one request's signature with another request's token or form.
    let mut request = parse_request(req)?;
    if request.parsed != *parsed {
        return Err(incomplete("The signature was not read from this request"));
    }
    request.normalize_path = normalize_path;
    let key = SigningKey::for_signature(secret_access_key, parsed)?;
    request.verify(&key, now, skew)
}

/// The payload hashes the signer may have used, with whether each covers the body.
///
/// `UNSIGNED-PAYLOAD` is accepted only when there is no body to cover (empty), or when the
/// caller passed [`Payload::Unsigned`] and so takes the body's integrity on itself: a body the
/// signature does not cover is refused, so a caller that ignores [`Verified::payload_signed`]
/// never acts on an attacker's body (a presigned GetCallerIdentity URL turned into a POST).
fn payload_candidates<'a>(
    req: &RequestParts<'a>,
    form: SignatureForm,
) -> Result<Vec<(Cow<'a, str>, bool)>, SigV4Error> {
    let (body_hash, body_present): (Option<Cow<'a, str>>, bool) = match req.payload {
        Payload::Bytes([]) => (Some(Cow::Borrowed(EMPTY_SHA256)), false),
        Payload::Bytes(b) => (Some(Cow::Owned(hex_sha256(b))), true),
        Payload::Sha256Hex(h) => {
            let h = h.trim_ascii().to_ascii_lowercase();
            let present = h != EMPTY_SHA256;
            (Some(Cow::Owned(h)), present)
        }
        Payload::Unsigned => (None, false),
    };
    let unsigned = || (Cow::Borrowed(UNSIGNED_PAYLOAD), false);
    Ok(match declared_payload_hash(req.headers)? {
        Some(UNSIGNED_PAYLOAD) if body_present => return Err(incomplete(
            "The request body is not covered by the signature (UNSIGNED-PAYLOAD); sign the payload",
        )),
        Some(UNSIGNED_PAYLOAD) => vec![unsigned()],
        Some(declared) => match body_hash {
            // The declared hash is what was signed; the body must match it, or anyone could
            // swap the body of a signed request.
            Some(actual) if actual.eq_ignore_ascii_case(declared) => {
                vec![(Cow::Borrowed(declared), true)]
            }
            Some(_) => return Err(SigV4Error::Mismatch),
            None => vec![(Cow::Borrowed(declared), false)],
        },
        None => match (form, body_hash) {
            (SignatureForm::Header, Some(h)) => vec![(h, true)],
            (SignatureForm::Header, None) => vec![unsigned()],
            // Presigned: botocore (and S3 presigners) sign UNSIGNED-PAYLOAD; aws-c-auth and the
            // Go SDK v1 sign the body's hash. Both are accepted (UNSIGNED-PAYLOAD only with no
            // body); `payload_signed` tells which.
            (SignatureForm::Presigned, Some(h)) if body_present => vec![(h, true)],
            (SignatureForm::Presigned, Some(h)) => vec![(h, true), unsigned()],
            (SignatureForm::Presigned, None) => vec![unsigned()],
        },
    })
}

fn span(secs: u64) -> String {
    if secs % 60 == 0 {
        format!("{} min.", secs / 60)
    } else {
        format!("{secs} s")
    }
}

fn not_yet_current(parsed: &ParsedSignature, now: u64, skew: u64) -> SigV4Error {
    SigV4Error::Expired(format!(
        "Signature not yet current: {} is still later than {} ({} + {})",
        parsed.amz_date,
        format_amz_date(now.saturating_add(skew)),
        format_amz_date(now),
        span(skew)
    ))
}

/// Header form: dated within `skew` of `now`. Presigned: from `X-Amz-Date - skew` to
/// `X-Amz-Date + X-Amz-Expires`, or `+ lifetime` when the caller fixes the lifetime.
fn check_time(
    parsed: &ParsedSignature,
    now: u64,
    skew: u64,
    lifetime: Option<u64>,
) -> Result<(), SigV4Error> {
    if parsed.signed_at > now.saturating_add(skew) {
        return Err(not_yet_current(parsed, now, skew));
    }
    match parsed.expires.map(|e| lifetime.unwrap_or(e)) {
        None => {
            if parsed.signed_at < now.saturating_sub(skew) {
                return Err(SigV4Error::Expired(format!(
                    "Signature expired: {} is now earlier than {} ({} - {})",
                    parsed.amz_date,
                    format_amz_date(now.saturating_sub(skew)),
                    format_amz_date(now),
                    span(skew)
                )));
            }
        }
        Some(expires) => {
            if now > parsed.signed_at.saturating_add(expires) {
                return Err(SigV4Error::Expired(format!(
                    "Request has expired: signed at {}, valid for {expires} seconds",
                    parsed.amz_date
                )));
            }
        }
    }
    Ok(())
}
