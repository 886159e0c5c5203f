//! `POST /verify/key`, the use case (issue 17, first part): a downstream service asks for the
//! SigV4 signing key of one credential scope (an access key, a date, a region, and its own
//! service) instead of holding idbroker's sealing key and reading its store. The key is
//! `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`: it verifies
//! that service's requests of that day and region, and nothing else; the secret cannot be
//! computed back from it.
//!
//! The calling service is authenticated by the handler (SigV4, its own idbroker key, service
//! `idbroker`) and must be allowed `idbroker:VerifyRequest` on
//! `arn:aws:idbroker:REGION:ACCOUNT:service/SERVICE` (as for `POST /verify`). Keys for `sts` and
//! `idbroker` are never given, whatever the policies say: they would let a service sign as any
//! user to idbroker itself. The grant itself is [`ServerKeySource`]'s, the same that idbroker's
//! own verifier (`POST /verify`) uses: for a temporary credential the session token is checked
//! as any presented credential is (token in constant time, expiry, revocation) and the key is
//! derived only then.

use std::time::SystemTime;

use idbroker_verify::{Grant, KeyAsk, KeySource, VerifyError};
use serde::Deserialize;

use crate::clock::epoch;
use crate::directory::Directory;
use crate::key_source::ServerKeySource;
use crate::sts::{self, Caller, RequestFacts, StsError};
use crate::verification::{service_arn, valid_service, ACTION};

/// Services whose keys are never handed out.
pub const NEVER: &[&str] = &["sts", "idbroker"];

/// The JSON body of `POST /verify/key`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopedKeyRequest {
    /// The calling service's name (the credential scope's service).
    pub service: String,
    /// The access key id the request was signed with (`ASIA…` or `AKIA…`).
    pub access_key_id: String,
    /// The session token the request carried (required for `ASIA…`).
    pub session_token: Option<String>,
    /// The credential scope's date, `YYYYMMDD` (today, yesterday or tomorrow, UTC).
    pub date: String,
    /// The credential scope's region.
    pub region: String,
}

// The session token is a credential: never printed.
impl std::fmt::Debug for ScopedKeyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopedKeyRequest")
            .field("service", &self.service)
            .field("access_key_id", &self.access_key_id)
            .field("date", &self.date)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// What `POST /verify/key` can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ScopedKeyError {
    /// Invalid input, or the calling service may not have this key.
    #[error(transparent)]
    Call(#[from] StsError),
    /// The access key or the session token is not valid (unknown, wrong token, expired,
    /// revoked): `InvalidClientTokenId` / `ExpiredToken`, as AWS would answer the request itself.
    #[error("{0}")]
    Credential(&'static str),
}

impl ScopedKeyError {
    /// The code of a credential refusal (`InvalidClientTokenId`, `ExpiredToken`).
    pub fn credential_code(&self) -> Option<&'static str> {
        match self {
            ScopedKeyError::Credential(c) => Some(c),
            ScopedKeyError::Call(_) => None,
        }
    }
}

fn invalid(msg: impl Into<String>) -> ScopedKeyError {
    ScopedKeyError::Call(StsError::Validation(msg.into()))
}

/// `YYYYMMDD` within a day of `now` (UTC): a request's credential scope date.
fn date_near(date: &str, now: SystemTime) -> bool {
    let Ok(d) = time::Date::parse(
        date,
        time::macros::format_description!("[year][month][day]"),
    ) else {
        return false;
    };
    let today =
        time::OffsetDateTime::from_unix_timestamp(i64::try_from(epoch(now)).unwrap_or(i64::MAX))
            .map(|t| t.date());
    today.is_ok_and(|t| (d - t).whole_days().abs() <= 1)
}

/// A region name: 1..32 of `[a-z0-9-]`.
fn valid_region(r: &str) -> bool {
    (1..=32).contains(&r.len())
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The grant of `req`'s scope for `service_caller`, if its policies allow it and the
/// credential is valid at `facts.now`. `region` is idbroker's (of the ARN the policies decide
/// on).
pub async fn scoped_key(
    dir: &Directory,
    region: &str,
    source: &ServerKeySource,
    service_caller: &Caller,
    req: &ScopedKeyRequest,
    facts: &RequestFacts<'_>,
) -> Result<Grant, ScopedKeyError> {
    if !valid_service(&req.service) {
        return Err(invalid("service must be 1 to 64 of a-z, 0-9 and -"));
    }
    if !valid_region(&req.region) {
        return Err(invalid("region must be 1 to 32 of a-z, 0-9 and -"));
    }
    if !date_near(&req.date, facts.now) {
        return Err(invalid(
            "date must be YYYYMMDD, within a day of today (UTC)",
        ));
    }
    if req.access_key_id.len() > 128 || req.session_token.as_ref().is_some_and(|t| t.len() > 8192) {
        return Err(invalid("access_key_id or session_token too long"));
    }
    if NEVER.contains(&req.service.as_str()) {
        return Err(ScopedKeyError::Call(StsError::AccessDenied(format!(
            "keys for the {} service are never given out",
            req.service
        ))));
    }
    let resource = service_arn(region, &dir.account_id, &req.service);
    sts::authorize(dir, service_caller, ACTION, &resource, facts)?;

    let ask = KeyAsk {
        access_key_id: &req.access_key_id,
        session_token: req.session_token.as_deref(),
        date: &req.date,
        region: &req.region,
        service: &req.service,
        now: facts.now,
    };
    source.grant(&ask).await.map_err(|e| match e {
        VerifyError::InvalidClientTokenId => ScopedKeyError::Credential("InvalidClientTokenId"),
        VerifyError::ExpiredToken => ScopedKeyError::Credential("ExpiredToken"),
        VerifyError::ServiceUnavailable => ScopedKeyError::Call(StsError::Unavailable),
        VerifyError::IncompleteSignature(m) => invalid(m),
        _ => ScopedKeyError::Call(StsError::Internal),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_within_a_day_only() {
        // 2026-12-06T12:00:00Z
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_558_400);
        assert!(date_near("20261206", now));
        assert!(date_near("20261205", now));
        assert!(date_near("20261207", now));
        assert!(!date_near("20261204", now));
        assert!(!date_near("20261208", now));
        assert!(!date_near("2026120", now));
        assert!(!date_near("20261306", now));
        assert!(!date_near("2026-12-06", now));
    }

    #[test]
    fn regions() {
        assert!(valid_region("us-east-1"));
        assert!(!valid_region(""));
        assert!(!valid_region("US-EAST-1"));
        assert!(!valid_region("us/east"));
        assert!(!valid_region(&"a".repeat(33)));
    }
}
