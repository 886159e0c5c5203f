//! Listing who holds credentials now (`idbroker:ListSessions`): the live sessions of a role, a
//! principal ARN or a source identity, a page at a time, identifiers only (never a secret, a
//! session token or the sealed secret).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use idbroker_session::{
    unix_seconds, ListPosition, PrincipalKind, RevocationScope, Session, SessionStore,
};
use serde::Deserialize;

use super::access::{authorize, checked_arn, source_identity_resource};
use super::{marker, AdminError};
use crate::directory::Directory;
use crate::sts::{Caller, RequestFacts, StsError};

/// The IAM action (`idbroker:ListSessions`).
const ACTION: &str = "idbroker:ListSessions";

/// The page size when the request names none.
pub const DEFAULT_MAX_ITEMS: usize = 50;
/// The largest page a request may ask for.
pub const MAX_ITEMS: usize = 100;

/// Whose sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionsOf {
    /// A role's, by its ARN (with its path, as the role is configured).
    Role(String),
    /// A principal ARN's (`arn:aws:sts::ACCT:assumed-role/ROLE/NAME`, or a user's ARN).
    Principal(String),
    /// Those carrying a source identity.
    SourceIdentity(String),
}

/// A listing request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListSessionsRequest {
    /// Whose sessions.
    pub of: SessionsOf,
    /// At most this many sessions (1..=[`MAX_ITEMS`]).
    pub max_items: usize,
    /// Where the previous page ended (the `Marker` it returned).
    pub marker: Option<ListPosition>,
}

/// The admin API's JSON body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct Body {
    role_arn: Option<String>,
    principal_arn: Option<String>,
    source_identity: Option<String>,
    max_items: Option<u64>,
    marker: Option<String>,
}

impl ListSessionsRequest {
    /// Read the admin API's JSON body: exactly one of `RoleArn`, `PrincipalArn`,
    /// `SourceIdentity`; `MaxItems` (1..=100, default 50); `Marker` (from the previous page).
    pub fn from_json(body: &[u8]) -> Result<Self, StsError> {
        let b: Body = serde_json::from_slice(body).map_err(|e| {
            StsError::Validation(format!("The request body is not a session listing: {e}"))
        })?;
        let of = match (b.role_arn, b.principal_arn, b.source_identity) {
            (Some(role), None, None) => SessionsOf::Role(checked_arn("RoleArn", role)?),
            (None, Some(p), None) => SessionsOf::Principal(checked_arn("PrincipalArn", p)?),
            (None, None, Some(s)) => SessionsOf::SourceIdentity(s),
            _ => {
                return Err(StsError::Validation(
                    "Exactly one of RoleArn, PrincipalArn and SourceIdentity is required".into(),
                ))
            }
        };
        let max_items = match b.max_items {
            None => DEFAULT_MAX_ITEMS,
            Some(n) => usize::try_from(n)
                .ok()
                .filter(|n| (1..=MAX_ITEMS).contains(n))
                .ok_or_else(|| {
                    StsError::Validation(format!("MaxItems must be between 1 and {MAX_ITEMS}"))
                })?,
        };
        let marker = b.marker.as_deref().map(marker::decode).transpose()?;
        Ok(Self {
            of,
            max_items,
            marker,
        })
    }
}

/// One listed session: who and until when, nothing secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedSession {
    /// Its `ASIA…` access key id (an identifier; CloudTrail logs it too).
    pub access_key_id: String,
    /// Its principal ARN (`arn:aws:sts::ACCT:assumed-role/ROLE/NAME`, or the user's ARN).
    pub arn: String,
    /// What `GetCallerIdentity` calls `UserId` (`AROA…:NAME`, or the user's id).
    pub user_id: String,
    /// Role session, federated user, or user session.
    pub kind: PrincipalKind,
    /// The role's ARN, for role sessions.
    pub role_arn: Option<String>,
    /// The role session name (or federated user name).
    pub session_name: Option<String>,
    /// The source identity.
    pub source_identity: Option<String>,
    /// When it was issued.
    pub issued: SystemTime,
    /// When it expires.
    pub expiration: SystemTime,
    /// The access key id of the session that assumed it (role chaining).
    pub chained_from: Option<String>,
}

impl From<&Session> for ListedSession {
    fn from(s: &Session) -> Self {
        let p = &s.principal;
        let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
        Self {
            access_key_id: s.access_key_id.to_string(),
            arn: p.arn.clone(),
            user_id: p.principal_id.clone(),
            kind: p.kind,
            role_arn: p.role_arn.clone(),
            session_name: p.session_name.clone(),
            source_identity: p.source_identity.clone(),
            issued: at(s.issued_at),
            expiration: at(s.expires_at),
            chained_from: s.chained_from.as_ref().map(ToString::to_string),
        }
    }
}

/// A page of the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionListing {
    /// The IAM action allowed (`idbroker:ListSessions`).
    pub action: &'static str,
    /// The resource it was allowed on.
    pub resource: String,
    /// The sessions of this page, by expiry.
    pub sessions: Vec<ListedSession>,
    /// Pass it back for the next page; `None`: this was the last one. A page may be short (even
    /// empty) and still have one.
    pub marker: Option<String>,
}

/// List a page of the sessions `request` names, if `caller`'s policies allow
/// `idbroker:ListSessions` on its resource.
pub async fn list_sessions(
    dir: &Directory,
    store: &dyn SessionStore,
    caller: &Caller,
    request: &ListSessionsRequest,
    facts: &RequestFacts<'_>,
) -> Result<SessionListing, AdminError> {
    let (scope, resource) = match &request.of {
        SessionsOf::Role(arn) => (RevocationScope::Role(arn.clone()), arn.clone()),
        SessionsOf::Principal(arn) => (RevocationScope::Principal(arn.clone()), arn.clone()),
        SessionsOf::SourceIdentity(value) => (
            RevocationScope::SourceIdentity(value.clone()),
            source_identity_resource(dir, value)?,
        ),
    };
    authorize(dir, caller, ACTION, &resource, facts)?;
    let page = store
        .list_sessions(
            &scope,
            request.marker.as_ref(),
            request.max_items,
            unix_seconds(facts.now),
        )
        .await
        .map_err(|_| StsError::Unavailable)?;
    Ok(SessionListing {
        action: ACTION,
        resource,
        sessions: page.sessions.iter().map(ListedSession::from).collect(),
        marker: page.next.as_ref().map(marker::encode),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        let r = ListSessionsRequest::from_json(br#"{"RoleArn":"arn:aws:iam::1:role/R"}"#).unwrap();
        assert_eq!(r.of, SessionsOf::Role("arn:aws:iam::1:role/R".into()));
        assert_eq!((r.max_items, r.marker), (DEFAULT_MAX_ITEMS, None));
        let r = ListSessionsRequest::from_json(br#"{"SourceIdentity":"alice","MaxItems":100}"#)
            .unwrap();
        assert_eq!(r.of, SessionsOf::SourceIdentity("alice".into()));
        assert_eq!(r.max_items, 100);
        for bad in [
            &br#"{}"#[..],
            br#"{"RoleArn":"arn:aws:iam::1:role/R","SourceIdentity":"a"}"#,
            br#"{"PrincipalArn":"alice"}"#,
            br#"{"SourceIdentity":"alice","MaxItems":0}"#,
            br#"{"SourceIdentity":"alice","MaxItems":101}"#,
            br#"{"SourceIdentity":"alice","MaxItems":-1}"#,
            br#"{"SourceIdentity":"alice","Marker":"nope"}"#,
            br#"{"AccessKeyId":"ASIAX"}"#,
            b"not json",
        ] {
            assert!(
                matches!(
                    ListSessionsRequest::from_json(bad),
                    Err(StsError::Validation(_))
                ),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
