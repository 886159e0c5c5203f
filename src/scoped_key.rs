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
//! user to idbroker itself. For a temporary credential the service shows the session token it
//! received with the request: the session is checked as any presented credential is
//! (`idbroker_session::authenticate`: token in constant time, expiry, revocation), and the key is
//! derived only then.

use std::time::SystemTime;

use idbroker_session::{authenticate, Credential, Refusal, SealingKeys, Secret, SessionStore};
use idbroker_sigv4::ScopeKey;
use serde::Deserialize;

use crate::clock::epoch;
use crate::directory::Directory;
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

/// A scope's key and who it belongs to.
#[derive(Debug)]
pub struct ScopedKey {
    /// The derived key (a secret of that scope only).
    pub key: ScopeKey,
    /// The principal's ARN.
    pub arn: String,
    /// Its account.
    pub account: String,
    /// `AssumedRole`, `User`, `FederatedUser`.
    pub kind: &'static str,
    /// The role's ARN, for a role session.
    pub role_arn: Option<String>,
    /// The source identity, if any.
    pub source_identity: Option<String>,
    /// Seconds since the epoch: when the session was issued (none for a long-term key).
    pub issued_at: Option<u64>,
    /// Seconds since the epoch: until when the key may be used (the session's expiry; for a
    /// long-term key, the end of the scope's day plus one day, the longest a request of that
    /// date can be signed for).
    pub expires_at: u64,
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

/// The session token, and the secret turned into the scope's key.
struct TokenThenKey<'a> {
    token: Option<&'a str>,
    date: &'a str,
    region: &'a str,
    service: &'a str,
}

impl Credential for TokenThenKey<'_> {
    type Proof = ScopeKey;
    type Error = ();

    fn session_token(&self) -> Option<&str> {
        self.token
    }

    fn prove(self, secret: Secret<'_>) -> Result<ScopeKey, Refusal<()>> {
        secret.check(|s| {
            ScopeKey::derive(s.expose_secret(), self.date, self.region, self.service)
                .map_err(|_| ())
        })
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

/// The key of `req`'s scope for `service_caller`, if its policies allow it and the credential
/// is valid at `facts.now`. `region` is idbroker's (of the ARN the policies decide on).
pub async fn scoped_key(
    dir: &Directory,
    region: &str,
    store: &dyn SessionStore,
    keys: &SealingKeys,
    service_caller: &Caller,
    req: &ScopedKeyRequest,
    facts: &RequestFacts<'_>,
) -> Result<ScopedKey, ScopedKeyError> {
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

    let now = epoch(facts.now);
    if req.access_key_id.starts_with("AKIA") {
        let (user, key) = dir
            .access_key(&req.access_key_id)
            .ok_or(ScopedKeyError::Credential("InvalidClientTokenId"))?;
        if !key.active || req.session_token.is_some() {
            return Err(ScopedKeyError::Credential("InvalidClientTokenId"));
        }
        let scope_key = ScopeKey::derive(&key.secret, &req.date, &req.region, &req.service)
            .map_err(|_| ScopedKeyError::Call(StsError::Internal))?;
        // A request dated `date` may be signed until the end of the next day (clock skew).
        let day_end = time::Date::parse(
            &req.date,
            time::macros::format_description!("[year][month][day]"),
        )
        .map(|d| d.midnight().assume_utc().unix_timestamp() + 2 * 86_400)
        .unwrap_or(0);
        return Ok(ScopedKey {
            key: scope_key,
            arn: user.arn.clone(),
            account: dir.account_id.clone(),
            kind: "User",
            role_arn: None,
            source_identity: None,
            issued_at: None,
            expires_at: u64::try_from(day_end).unwrap_or(0).max(now),
        });
    }
    let credential = TokenThenKey {
        token: req.session_token.as_deref(),
        date: &req.date,
        region: &req.region,
        service: &req.service,
    };
    let verified = authenticate(store, keys, &req.access_key_id, credential, now)
        .await
        .map_err(|r| match r {
            Refusal::Expired => ScopedKeyError::Credential("ExpiredToken"),
            Refusal::Unavailable => ScopedKeyError::Call(StsError::Unavailable),
            Refusal::Proof(()) | Refusal::Unsealable => ScopedKeyError::Call(StsError::Internal),
            Refusal::NotTemporary
            | Refusal::Unknown
            | Refusal::TokenMismatch
            | Refusal::Revoked => ScopedKeyError::Credential("InvalidClientTokenId"),
        })?;
    let (session, scope_key) = verified.into_parts();
    let p = &session.principal;
    Ok(ScopedKey {
        key: scope_key,
        arn: p.arn.clone(),
        account: p.account.clone(),
        kind: p.kind.name(),
        role_arn: p.role_arn.clone(),
        source_identity: p.source_identity.clone(),
        issued_at: Some(session.issued_at),
        expires_at: session.expires_at,
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
