//! Step 2: recompute the signature with the signer's secret, compare, check the time window.

use std::fmt;
use std::time::Duration;

use subtle::ConstantTimeEq;

use crate::canonical::{
    assemble, canonical_headers, canonical_query, canonical_uri, hex_sha256, query_pairs,
};
use crate::crypto::{signature_hex, signing_key, string_to_sign};
use crate::error::{incomplete, SigV4Error};
use crate::parse::{declared_payload_hash, parse, ParsedSignature};
use crate::time::format_amz_date;
use crate::{Payload, RequestParts, SignatureForm, EMPTY_SHA256, UNSIGNED_PAYLOAD};

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
/// [`verify_with_path_rule`]) make one, so downstream code can require a `Verified` as proof.
///
/// It says who signed and for what scope; it does not say the key is known, active or allowed,
/// that the session token belongs to it, or that the region and service are the ones expected:
/// those are the caller's checks.
#[derive(Clone, PartialEq, Eq)]
pub struct Verified {
    access_key_id: String,
    region: String,
    service: String,
    signed_at: u64,
    form: SignatureForm,
    security_token: Option<String>,
    payload_signed: bool,
}

impl Verified {
    /// The access key id that signed.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    /// The region of the credential scope.
    pub fn region(&self) -> &str {
        &self.region
    }
    /// The service of the credential scope.
    pub fn service(&self) -> &str {
        &self.service
    }
    /// When it was signed (`X-Amz-Date`), seconds since the Unix epoch.
    pub fn signed_at(&self) -> u64 {
        self.signed_at
    }
    /// Header or presigned.
    pub fn form(&self) -> SignatureForm {
        self.form
    }
    /// The session token the request carried (signed or not; the caller must check it belongs
    /// to the access key id).
    pub fn security_token(&self) -> Option<&str> {
        self.security_token.as_deref()
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
            .field("access_key_id", &self.access_key_id)
            .field("region", &self.region)
            .field("service", &self.service)
            .field("signed_at", &self.signed_at)
            .field("form", &self.form)
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .field("payload_signed", &self.payload_signed)
            .finish()
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
    let skew = skew.into().as_secs();
    // `parsed` must describe this very request; re-reading it is cheap and stops a caller from
    // pairing one request's signature with another request's token or form.
    if parse(req)? != *parsed {
        return Err(incomplete("The signature was not read from this request"));
    }
    let uri = canonical_uri(req.path, normalize_path);
    let headers_block = canonical_headers(req.headers, &parsed.signed_headers)?;
    let pairs = query_pairs(req.query);
    let presigned = parsed.form == SignatureForm::Presigned;
    let mut queries = Vec::with_capacity(2);
    if presigned {
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
    let payloads = payload_candidates(req, parsed.form)?;
    let key = signing_key(
        secret_access_key,
        &parsed.scope_date,
        &parsed.region,
        &parsed.service,
    )?;
    let scope = format!(
        "{}/{}/{}/aws4_request",
        parsed.scope_date, parsed.region, parsed.service
    );
    let mut payload_signed = None;
    'outer: for query in &queries {
        for (hash, signed) in &payloads {
            let creq = assemble(req.method, &uri, query, &headers_block, hash);
            let sts = string_to_sign(&parsed.amz_date, &scope, &creq);
            let expected = signature_hex(&key, &sts)?;
            if bool::from(expected.as_bytes().ct_eq(parsed.signature.as_bytes())) {
                payload_signed = Some(*signed);
                break 'outer;
            }
        }
    }
    let Some(payload_signed) = payload_signed else {
        return Err(SigV4Error::Mismatch);
    };
    check_time(parsed, now, skew)?;
    Ok(Verified {
        access_key_id: parsed.access_key_id.clone(),
        region: parsed.region.clone(),
        service: parsed.service.clone(),
        signed_at: parsed.signed_at,
        form: parsed.form,
        security_token: parsed.security_token.clone(),
        payload_signed,
    })
}

/// The payload hashes the signer may have used, with whether each covers the body.
///
/// `UNSIGNED-PAYLOAD` is accepted only when there is no body to cover (empty), or when the
/// caller passed [`Payload::Unsigned`] and so takes the body's integrity on itself: a body the
/// signature does not cover is refused, so a caller that ignores [`Verified::payload_signed`]
/// never acts on an attacker's body (a presigned GetCallerIdentity URL turned into a POST).
fn payload_candidates(
    req: &RequestParts<'_>,
    form: SignatureForm,
) -> Result<Vec<(String, bool)>, SigV4Error> {
    let (body_hash, body_present) = match req.payload {
        Payload::Bytes(b) => (Some(hex_sha256(b)), !b.is_empty()),
        Payload::Sha256Hex(h) => {
            let h = h.trim_ascii().to_ascii_lowercase();
            let present = h != EMPTY_SHA256;
            (Some(h), present)
        }
        Payload::Unsigned => (None, false),
    };
    let unsigned = || (UNSIGNED_PAYLOAD.to_owned(), false);
    Ok(match declared_payload_hash(req.headers)? {
        Some(UNSIGNED_PAYLOAD) if body_present => return Err(incomplete(
            "The request body is not covered by the signature (UNSIGNED-PAYLOAD); sign the payload",
        )),
        Some(UNSIGNED_PAYLOAD) => vec![unsigned()],
        Some(declared) => match body_hash {
            // The declared hash is what was signed; the body must match it, or anyone could
            // swap the body of a signed request.
            Some(actual) if actual.eq_ignore_ascii_case(declared) => {
                vec![(declared.to_owned(), true)]
            }
            Some(_) => return Err(SigV4Error::Mismatch),
            None => vec![(declared.to_owned(), false)],
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

fn check_time(parsed: &ParsedSignature, now: u64, skew: u64) -> Result<(), SigV4Error> {
    if parsed.signed_at > now.saturating_add(skew) {
        return Err(not_yet_current(parsed, now, skew));
    }
    match parsed.expires {
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
