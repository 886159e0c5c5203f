//! Revoking sessions: one by its access key id, or those of a role, a principal or a source
//! identity issued up to a time (the `idbroker:Revoke*` actions of the table in `admin`).

use std::time::SystemTime;

use idbroker_session::{
    unix_seconds, AccessKeyId, AccessKeyKind, RevocationScope, SessionError, SessionStore,
};
use serde::Deserialize;

use super::access::{authorize, checked_arn, source_identity_resource};
use super::AdminError;
use crate::directory::Directory;
use crate::sts::{Caller, RequestFacts, StsError};

/// How long a revocation mark is kept: the longest session lifetime (GetSessionToken, 36 h), so
/// that every session a mark can concern has expired before the mark goes.
pub const MARK_LIFETIME_SECS: u64 = 129_600;

/// A revocation request, as the admin API's JSON body names it: exactly one of the fields.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct Body {
    access_key_id: Option<String>,
    role_arn: Option<String>,
    before: Option<String>,
    principal_arn: Option<String>,
    source_identity: Option<String>,
}

/// What to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// One session (`idbroker:RevokeSession`).
    Session(String),
    /// The sessions of a role issued at or before `before` (default: now)
    /// (`idbroker:RevokeOlderSessions`).
    OlderSessions {
        /// The role's ARN.
        role_arn: String,
        /// The time; `None`: now.
        before: Option<SystemTime>,
    },
    /// The sessions of a principal ARN (`idbroker:RevokePrincipalSessions`).
    Principal(String),
    /// The sessions carrying a source identity (`idbroker:RevokeSourceIdentitySessions`).
    SourceIdentity(String),
}

impl Revocation {
    /// Read the admin API's JSON body: exactly one of `AccessKeyId`, `RoleArn` (with an optional
    /// RFC 3339 `Before`), `PrincipalArn`, `SourceIdentity`.
    pub fn from_json(body: &[u8]) -> Result<Self, StsError> {
        let b: Body = serde_json::from_slice(body).map_err(|e| {
            StsError::Validation(format!("The request body is not a revocation request: {e}"))
        })?;
        if b.before.is_some() && b.role_arn.is_none() {
            return Err(StsError::Validation(
                "Before is only valid with RoleArn".into(),
            ));
        }
        let given = [
            b.access_key_id.is_some(),
            b.role_arn.is_some(),
            b.principal_arn.is_some(),
            b.source_identity.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(StsError::Validation(
                "Exactly one of AccessKeyId, RoleArn, PrincipalArn and SourceIdentity is required"
                    .into(),
            ));
        }
        Ok(match b {
            Body {
                access_key_id: Some(id),
                ..
            } => Self::Session(id),
            Body {
                role_arn: Some(role),
                before,
                ..
            } => Self::OlderSessions {
                role_arn: checked_arn("RoleArn", role)?,
                before: before.map(|t| parse_time(&t)).transpose()?,
            },
            Body {
                principal_arn: Some(p),
                ..
            } => Self::Principal(checked_arn("PrincipalArn", p)?),
            Body {
                source_identity: Some(s),
                ..
            } => Self::SourceIdentity(s),
            _ => return Err(StsError::Internal),
        })
    }

    /// The IAM action, without the `idbroker:` prefix (the audit event's and metrics' action).
    pub fn action(&self) -> &'static str {
        match self {
            Self::Session(_) => "RevokeSession",
            Self::OlderSessions { .. } => "RevokeOlderSessions",
            Self::Principal(_) => "RevokePrincipalSessions",
            Self::SourceIdentity(_) => "RevokeSourceIdentitySessions",
        }
    }
}

fn parse_time(s: &str) -> Result<SystemTime, StsError> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| {
            StsError::Validation(format!(
                "Before must be an RFC 3339 time such as 2026-11-28T12:00:00Z, not '{s}'"
            ))
        })?;
    let secs = u64::try_from(t.unix_timestamp())
        .map_err(|_| StsError::Validation("Before must be after 1970".into()))?;
    Ok(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

/// What was revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    /// The IAM action allowed (`idbroker:RevokeOlderSessions`, ...).
    pub action: String,
    /// The resource it was allowed on.
    pub resource: String,
    /// One session: its access key id.
    pub access_key_id: Option<String>,
    /// Scoped revocations: sessions issued at or before this time are revoked.
    pub revoked_before: Option<SystemTime>,
}

/// Revoke what `what` names, if `caller`'s policies allow it. `now` is the request's time;
/// the store announces the revocation to every verifier.
pub async fn revoke(
    dir: &Directory,
    store: &dyn SessionStore,
    caller: &Caller,
    what: &Revocation,
    facts: &RequestFacts<'_>,
) -> Result<Revoked, AdminError> {
    let now = facts.now;
    let action = format!("idbroker:{}", what.action());
    let allow = |resource: &str| authorize(dir, caller, &action, resource, facts);
    let unavailable = |_: SessionError| AdminError::from(StsError::Unavailable);
    match what {
        Revocation::Session(id) => {
            let key = match AccessKeyId::parse(id) {
                Ok(k) if k.kind() == AccessKeyKind::Temporary => k,
                _ => {
                    return Err(StsError::Validation(format!(
                        "AccessKeyId must be the ASIA… id of temporary credentials, not '{id}'"
                    ))
                    .into())
                }
            };
            let Some(session) = store
                .get(&key, unix_seconds(now))
                .await
                .map_err(unavailable)?
            else {
                // Whether a key exists is told only to callers who may revoke any session.
                allow("*")?;
                return Err(AdminError::NoSuchSession(id.clone()));
            };
            let resource = session.principal.arn.clone();
            allow(&resource)?;
            match store.revoke(&key).await {
                Ok(()) => {}
                Err(SessionError::NotFound) => return Err(AdminError::NoSuchSession(id.clone())),
                Err(_) => return Err(StsError::Unavailable.into()),
            }
            Ok(Revoked {
                action,
                resource,
                access_key_id: Some(id.clone()),
                revoked_before: None,
            })
        }
        Revocation::OlderSessions { role_arn, before } => {
            allow(role_arn)?;
            let role = dir
                .role(role_arn)
                .ok_or_else(|| AdminError::NoSuchRole(role_arn.clone()))?;
            let before = before.unwrap_or(now);
            if before > now {
                return Err(StsError::Validation("Before must not be in the future".into()).into());
            }
            let scope = RevocationScope::Role(role.arn.clone());
            mark(store, &scope, before).await?;
            Ok(Revoked {
                action,
                resource: role_arn.clone(),
                access_key_id: None,
                revoked_before: Some(before),
            })
        }
        Revocation::Principal(arn) => {
            allow(arn)?;
            mark(store, &RevocationScope::Principal(arn.clone()), now).await?;
            Ok(Revoked {
                action,
                resource: arn.clone(),
                access_key_id: None,
                revoked_before: Some(now),
            })
        }
        Revocation::SourceIdentity(value) => {
            let resource = source_identity_resource(dir, value)?;
            allow(&resource)?;
            mark(store, &RevocationScope::SourceIdentity(value.clone()), now).await?;
            Ok(Revoked {
                action,
                resource,
                access_key_id: None,
                revoked_before: Some(now),
            })
        }
    }
}

async fn mark(
    store: &dyn SessionStore,
    scope: &RevocationScope,
    before: SystemTime,
) -> Result<(), AdminError> {
    store
        .set_revoked_before(scope, unix_seconds(before), MARK_LIFETIME_SECS)
        .await
        .map_err(|_| StsError::Unavailable.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        assert_eq!(
            Revocation::from_json(br#"{"AccessKeyId":"ASIAX"}"#).unwrap(),
            Revocation::Session("ASIAX".into())
        );
        assert_eq!(
            Revocation::from_json(
                br#"{"RoleArn":"arn:aws:iam::1:role/R","Before":"2026-11-28T12:00:00Z"}"#
            )
            .unwrap(),
            Revocation::OlderSessions {
                role_arn: "arn:aws:iam::1:role/R".into(),
                before: Some(
                    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_867_200)
                ),
            }
        );
        assert_eq!(
            Revocation::from_json(br#"{"SourceIdentity":"alice"}"#)
                .unwrap()
                .action(),
            "RevokeSourceIdentitySessions"
        );
        for bad in [
            &br#"{}"#[..],
            br#"{"AccessKeyId":"ASIAX","SourceIdentity":"a"}"#,
            br#"{"PrincipalArn":"alice"}"#,
            br#"{"RoleArn":"arn:aws:iam::1:role/R","Before":"yesterday"}"#,
            br#"{"PrincipalArn":"arn:aws:iam::1:user/u","Before":"2026-11-28T12:00:00Z"}"#,
            br#"{"AccessKeyId":"ASIAX","Extra":1}"#,
            b"not json",
        ] {
            assert!(
                matches!(Revocation::from_json(bad), Err(StsError::Validation(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
