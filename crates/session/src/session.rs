//! The stored session record.

use serde::{Deserialize, Serialize};

use crate::credentials::{AccessKeyId, TokenHash};
use crate::seal::SealedSecret;
use crate::SessionError;

/// Version of the stored record. A record says `"v": 1`; fields added later are optional, so a
/// v1 reader ignores them and a v1 record still reads. A record of another version is
/// [`SessionError::Corrupt`] for this reader (fail closed).
pub const RECORD_VERSION: u32 = 1;

/// What kind of principal a session stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PrincipalKind {
    /// A role session (`AssumeRole`, `AssumeRoleWithSAML`, `AssumeRoleWithWebIdentity`).
    AssumedRole,
    /// A federated user (`GetFederationToken`).
    FederatedUser,
    /// An IAM user's own session (`GetSessionToken`).
    User,
}

impl PrincipalKind {
    /// The name AWS gives it (`aws:PrincipalType`, a caller's `type`): `AssumedRole`,
    /// `FederatedUser`, `User`.
    pub fn name(self) -> &'static str {
        match self {
            PrincipalKind::AssumedRole => "AssumedRole",
            PrincipalKind::FederatedUser => "FederatedUser",
            PrincipalKind::User => "User",
        }
    }

    /// The kind [`name`](Self::name) names.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::AssumedRole, Self::FederatedUser, Self::User]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

/// A session tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionTag {
    /// Key (AWS compares keys case-insensitively; stored as given).
    pub key: String,
    /// Value.
    pub value: String,
}

/// Who the session is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// Role session, federated user, or user session.
    pub kind: PrincipalKind,
    /// `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`, `arn:aws:sts::ACCT:federated-user/NAME`, or
    /// the user's ARN for `GetSessionToken`.
    pub arn: String,
    /// What `GetCallerIdentity` calls `UserId`: `AROA…:SESSION`, `ACCT:NAME`, or the user's
    /// `AIDA…` id.
    pub principal_id: String,
    /// The account id.
    pub account: String,
    /// The role's ARN with its path, for role sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The role session name (or federated user name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    /// The source identity, once set it stays through role chaining.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    /// Session tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<SessionTag>,
    /// Keys of the tags that pass on through role chaining.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitive_tag_keys: Vec<String>,
    /// The IAM user's name, for `GetSessionToken` sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
}

/// The policies that bound what a session may do, by reference (the documents themselves live in
/// the directory and are resolved when a request is evaluated), plus the inline session policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRefs {
    /// Identity policies of the role or user, by id (inline policy names as the directory
    /// names them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity_policy_ids: Vec<String>,
    /// Managed policies attached to the role or user, by ARN.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_policy_arns: Vec<String>,
    /// The inline session policy (`Policy` parameter), JSON text as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_policy: Option<String>,
    /// Managed session policies (`PolicyArns` parameter).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub session_policy_arns: Vec<String>,
    /// The permissions boundary of the role or user, by ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary_arn: Option<String>,
}

/// A stored session. Serializes as a versioned JSON record (`"v": 1`, see [`RECORD_VERSION`]).
///
/// Times are seconds since the Unix epoch, like every time in this crate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "SessionRecordV1", try_from = "SessionRecordV1")]
pub struct Session {
    /// The session's `ASIA…` id (the record's key).
    pub access_key_id: AccessKeyId,
    /// The secret access key, sealed with the access key id as associated data.
    pub secret: SealedSecret,
    /// SHA-256 of the session token.
    pub token_hash: TokenHash,
    /// Who the session is.
    pub principal: Principal,
    /// The policies that bound it.
    pub policies: PolicyRefs,
    /// When it was issued (`aws:TokenIssueTime`).
    pub issued_at: u64,
    /// When it expires; it is unusable from this second on.
    pub expires_at: u64,
    /// Whether MFA was presented when it was issued, or by the session it was chained from
    /// (`aws:MultiFactorAuthPresent`).
    pub mfa: bool,
    /// When that MFA code was verified (seconds since the epoch; `aws:MultiFactorAuthAge` counts
    /// from it). `None` without MFA, and in records written before it was kept (such a session
    /// with `mfa` has no age).
    pub mfa_authenticated_at: Option<u64>,
    /// The access key id of the session that assumed this one (role chaining).
    pub chained_from: Option<AccessKeyId>,
}

/// A "revoke sessions issued before" scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RevocationScope {
    /// Every session of this role (its ARN with path), as AWS's "revoke active sessions".
    Role(String),
    /// Every session whose principal ARN is this (one role session name, or one user).
    Principal(String),
    /// Every session carrying this source identity (it survives role chaining).
    SourceIdentity(String),
}

impl RevocationScope {
    /// A short name of the kind of scope (`role`, `principal`, `source-identity`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Role(_) => "role",
            Self::Principal(_) => "principal",
            Self::SourceIdentity(_) => "source-identity",
        }
    }

    /// The scope of kind `kind` (as [`kind`](Self::kind) names it) and `value`.
    pub fn from_kind(kind: &str, value: &str) -> Option<Self> {
        let value = value.to_owned();
        match kind {
            "role" => Some(Self::Role(value)),
            "principal" => Some(Self::Principal(value)),
            "source-identity" => Some(Self::SourceIdentity(value)),
            _ => None,
        }
    }

    /// The ARN or source identity.
    pub fn value(&self) -> &str {
        match self {
            Self::Role(v) | Self::Principal(v) | Self::SourceIdentity(v) => v,
        }
    }
}

impl Session {
    /// Expired at `now`?
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_at
    }

    /// Does `token` belong to this session? Constant-time comparison of hashes.
    pub fn token_matches(&self, token: &str) -> bool {
        self.token_hash.matches(token)
    }

    /// The revocation scopes this session falls under: its role, its principal ARN, its source
    /// identity.
    pub fn revocation_scopes(&self) -> Vec<RevocationScope> {
        let mut scopes = Vec::with_capacity(3);
        if let Some(role) = &self.principal.role_arn {
            scopes.push(RevocationScope::Role(role.clone()));
        }
        scopes.push(RevocationScope::Principal(self.principal.arn.clone()));
        if let Some(si) = &self.principal.source_identity {
            scopes.push(RevocationScope::SourceIdentity(si.clone()));
        }
        scopes
    }

    /// Is `scope` one of this session's revocation scopes (as [`revocation_scopes`] lists them)?
    /// Allocation-free, for a verifier matching its cache against a revocation.
    ///
    /// [`revocation_scopes`]: Self::revocation_scopes
    pub fn in_scope(&self, scope: &RevocationScope) -> bool {
        let p = &self.principal;
        match scope {
            RevocationScope::Role(r) => p.role_arn.as_deref() == Some(r.as_str()),
            RevocationScope::Principal(a) => p.arn == *a,
            RevocationScope::SourceIdentity(s) => p.source_identity.as_deref() == Some(s.as_str()),
        }
    }

    /// Is this session revoked by a "revoked before `marker`" mark? Issue times have one-second
    /// resolution, so a session issued in the marker's own second counts as revoked (a session
    /// issued in that second may predate the revocation; fail closed).
    pub fn is_revoked_by(&self, marker: u64) -> bool {
        self.issued_at <= marker
    }

    /// The record as stored (JSON).
    pub fn to_json(&self) -> Result<String, SessionError> {
        serde_json::to_string(self).map_err(|_| SessionError::Corrupt)
    }

    /// Read a stored record; anything unreadable or of another version is
    /// [`SessionError::Corrupt`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, SessionError> {
        serde_json::from_slice(bytes).map_err(|_| SessionError::Corrupt)
    }
}

/// The wire form of version 1. Fields added later get `#[serde(default)]`.
#[derive(Serialize, Deserialize)]
struct SessionRecordV1 {
    v: u32,
    access_key_id: AccessKeyId,
    secret: SealedSecret,
    token_hash: TokenHash,
    principal: Principal,
    #[serde(default)]
    policies: PolicyRefs,
    issued_at: u64,
    expires_at: u64,
    #[serde(default)]
    mfa: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mfa_authenticated_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chained_from: Option<AccessKeyId>,
}

impl From<Session> for SessionRecordV1 {
    fn from(s: Session) -> Self {
        Self {
            v: RECORD_VERSION,
            access_key_id: s.access_key_id,
            secret: s.secret,
            token_hash: s.token_hash,
            principal: s.principal,
            policies: s.policies,
            issued_at: s.issued_at,
            expires_at: s.expires_at,
            mfa: s.mfa,
            mfa_authenticated_at: s.mfa_authenticated_at,
            chained_from: s.chained_from,
        }
    }
}

impl TryFrom<SessionRecordV1> for Session {
    type Error = SessionError;
    fn try_from(r: SessionRecordV1) -> Result<Self, Self::Error> {
        if r.v != RECORD_VERSION {
            return Err(SessionError::Corrupt);
        }
        Ok(Self {
            access_key_id: r.access_key_id,
            secret: r.secret,
            token_hash: r.token_hash,
            principal: r.principal,
            policies: r.policies,
            issued_at: r.issued_at,
            expires_at: r.expires_at,
            mfa: r.mfa,
            mfa_authenticated_at: r.mfa_authenticated_at,
            chained_from: r.chained_from,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::{SecretAccessKey, SessionToken};
    use crate::seal::SealingKeys;

    fn sample() -> (Session, SessionToken) {
        let keys = SealingKeys::new("k1", &[4u8; 32]).unwrap();
        let id = AccessKeyId::parse("ASIAQQQQQQQQQQQQQQQQ").unwrap();
        let token = SessionToken::generate().unwrap();
        let s = Session {
            secret: keys
                .seal(&SecretAccessKey::generate().unwrap(), &id)
                .unwrap(),
            access_key_id: id,
            token_hash: token.hash(),
            principal: Principal {
                kind: PrincipalKind::AssumedRole,
                arn: "arn:aws:sts::123456789012:assumed-role/R/alice".into(),
                principal_id: "AROAEXAMPLE:alice".into(),
                account: "123456789012".into(),
                role_arn: Some("arn:aws:iam::123456789012:role/team/R".into()),
                session_name: Some("alice".into()),
                source_identity: Some("alice@example.com".into()),
                tags: vec![SessionTag {
                    key: "team".into(),
                    value: "blue".into(),
                }],
                transitive_tag_keys: vec!["team".into()],
                user_name: None,
            },
            policies: PolicyRefs {
                identity_policy_ids: vec!["inline-1".into()],
                managed_policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
                session_policy: Some(r#"{"Version":"2012-10-17","Statement":[]}"#.into()),
                session_policy_arns: vec![],
                permissions_boundary_arn: None,
            },
            issued_at: 1_800_000_000,
            expires_at: 1_800_003_600,
            mfa: true,
            mfa_authenticated_at: Some(1_799_999_990),
            chained_from: Some(AccessKeyId::parse("ASIAPPPPPPPPPPPPPPPP").unwrap()),
        };
        (s, token)
    }

    #[test]
    fn versioned_json_round_trip() {
        let (s, token) = sample();
        let json = s.to_json().unwrap();
        assert!(json.starts_with(r#"{"v":1,"#), "{json}");
        assert!(!json.contains(token.expose_secret()));
        let back = Session::from_json(json.as_bytes()).unwrap();
        assert_eq!(back, s);
        assert!(back.token_matches(token.expose_secret()));
        assert!(!back.token_matches("forged"));
    }

    #[test]
    fn other_versions_and_garbage_are_corrupt() {
        let (s, _) = sample();
        let json = s.to_json().unwrap().replacen(r#""v":1"#, r#""v":2"#, 1);
        assert_eq!(
            Session::from_json(json.as_bytes()),
            Err(SessionError::Corrupt)
        );
        let json = s.to_json().unwrap().replacen(r#""v":1,"#, "", 1);
        assert_eq!(
            Session::from_json(json.as_bytes()),
            Err(SessionError::Corrupt)
        );
        assert_eq!(Session::from_json(b"not json"), Err(SessionError::Corrupt));
        assert_eq!(Session::from_json(b"{}"), Err(SessionError::Corrupt));
        let json = s
            .to_json()
            .unwrap()
            .replace("ASIAQQQQQQQQQQQQQQQQ", "ASIA0");
        assert_eq!(
            Session::from_json(json.as_bytes()),
            Err(SessionError::Corrupt)
        );
    }

    #[test]
    fn later_fields_are_ignored_and_optional_ones_default() {
        let (s, _) = sample();
        let json =
            s.to_json()
                .unwrap()
                .replacen(r#"{"v":1,"#, r#"{"v":1,"added_later":{"x":1},"#, 1);
        assert_eq!(Session::from_json(json.as_bytes()).unwrap(), s);

        let mut minimal = s.clone();
        minimal.policies = PolicyRefs::default();
        minimal.mfa = false;
        minimal.mfa_authenticated_at = None;
        minimal.chained_from = None;
        minimal.principal.tags.clear();
        minimal.principal.transitive_tag_keys.clear();
        let json = minimal.to_json().unwrap();
        assert!(!json.contains("chained_from"));
        assert!(!json.contains("mfa_authenticated_at"));
        assert!(!json.contains("tags"));
        let stripped = json.replacen(r#","mfa":false"#, "", 1);
        assert_ne!(stripped, json);
        assert_eq!(Session::from_json(stripped.as_bytes()).unwrap(), minimal);
    }

    #[test]
    fn a_record_written_before_mfa_times_were_kept_still_reads() {
        // As an older idbroker wrote it: `mfa` without `mfa_authenticated_at`.
        let (s, _) = sample();
        let json = s
            .to_json()
            .unwrap()
            .replacen(r#","mfa_authenticated_at":1799999990"#, "", 1);
        assert!(!json.contains("mfa_authenticated_at"), "{json}");
        let back = Session::from_json(json.as_bytes()).unwrap();
        assert!(back.mfa);
        assert_eq!(back.mfa_authenticated_at, None);
    }

    #[test]
    fn expiry_and_revocation_scopes() {
        let (s, _) = sample();
        assert!(!s.is_expired(s.expires_at - 1));
        assert!(s.is_expired(s.expires_at));
        assert_eq!(
            s.revocation_scopes(),
            vec![
                RevocationScope::Role("arn:aws:iam::123456789012:role/team/R".into()),
                RevocationScope::Principal("arn:aws:sts::123456789012:assumed-role/R/alice".into()),
                RevocationScope::SourceIdentity("alice@example.com".into()),
            ]
        );
        for scope in s.revocation_scopes() {
            assert!(s.in_scope(&scope), "{scope:?}");
            assert_eq!(
                RevocationScope::from_kind(scope.kind(), scope.value()),
                Some(scope.clone())
            );
        }
        assert!(!s.in_scope(&RevocationScope::Role(s.principal.arn.clone())));
        assert!(!s.in_scope(&RevocationScope::Principal("arn:aws:iam::1:user/x".into())));
        assert!(!s.in_scope(&RevocationScope::SourceIdentity("bob".into())));
        assert_eq!(RevocationScope::from_kind("user", "x"), None);
        assert!(s.is_revoked_by(s.issued_at));
        assert!(s.is_revoked_by(s.issued_at + 1));
        assert!(!s.is_revoked_by(s.issued_at - 1));
    }
}
