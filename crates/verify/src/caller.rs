//! Who a verified request came from: [`CallerIdentity`] (the session) and [`VerifiedCaller`]
//! (the session and how this request was signed).

use std::sync::Arc;

use idbroker_policy::Context;
use idbroker_session::{PrincipalKind, SessionTag};

use crate::source::GrantPolicies;
use crate::SignatureForm;

/// Who the session is (shared by every request of the session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The access key id (`ASIA…` of a session, `AKIA…` of an IAM user's key).
    pub access_key_id: String,
    /// Role session, federated user or user (session or long-term key).
    pub kind: PrincipalKind,
    /// `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION` (or the user's ARN).
    pub arn: String,
    /// `AROA…:SESSION` (what `GetCallerIdentity` calls `UserId`; `aws:userid`).
    pub user_id: String,
    /// The account id.
    pub account: String,
    /// The role's ARN with its path, for role sessions.
    pub role_arn: Option<String>,
    /// The role session name.
    pub session_name: Option<String>,
    /// The IAM user's name, for user sessions.
    pub user_name: Option<String>,
    /// The source identity.
    pub source_identity: Option<String>,
    /// Session tags.
    pub tags: Vec<SessionTag>,
    /// When the session was issued (seconds since the epoch; `aws:TokenIssueTime`); `None` for
    /// a long-term key.
    pub issued_at: Option<u64>,
    /// When it expires (seconds since the epoch); for a long-term key, when the key of the
    /// request's scope stops being used.
    pub expires_at: u64,
    /// MFA was presented when it was issued (or by the session it was chained from).
    pub mfa: bool,
    /// When that MFA code was verified (seconds since the epoch): `aws:MultiFactorAuthAge`
    /// counts from it. `None` without MFA (and for sessions whose record predates it).
    pub mfa_authenticated_at: Option<u64>,
}

/// A request whose signature verified, made with a live, unrevoked idbroker session.
#[derive(Debug, Clone)]
pub struct VerifiedCaller {
    pub(crate) identity: Arc<CallerIdentity>,
    pub(crate) region: String,
    pub(crate) service: String,
    pub(crate) form: SignatureForm,
    pub(crate) payload_signed: bool,
    pub(crate) policies: Arc<GrantPolicies>,
    pub(crate) base_context: Arc<Context>,
}

impl VerifiedCaller {
    /// Who the session is.
    pub fn identity(&self) -> &CallerIdentity {
        &self.identity
    }
    /// The policies that decide for the caller (what [`Verifier::authorize`](crate::Verifier::authorize) evaluates).
    pub fn policies(&self) -> &GrantPolicies {
        &self.policies
    }
    /// The principal ARN (`arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`).
    pub fn arn(&self) -> &str {
        &self.identity.arn
    }
    /// The account id.
    pub fn account(&self) -> &str {
        &self.identity.account
    }
    /// The role session name.
    pub fn session_name(&self) -> Option<&str> {
        self.identity.session_name.as_deref()
    }
    /// The source identity.
    pub fn source_identity(&self) -> Option<&str> {
        self.identity.source_identity.as_deref()
    }
    /// Session tags.
    pub fn tags(&self) -> &[SessionTag] {
        &self.identity.tags
    }
    /// Expiry (seconds since the epoch).
    pub fn expires_at(&self) -> u64 {
        self.identity.expires_at
    }
    /// Issue time (seconds since the epoch); `None` for a long-term key.
    pub fn issued_at(&self) -> Option<u64> {
        self.identity.issued_at
    }
    /// The region of the request's (authenticated) credential scope.
    pub fn region(&self) -> &str {
        &self.region
    }
    /// The service of the request's credential scope.
    pub fn service(&self) -> &str {
        &self.service
    }
    /// Header or presigned.
    pub fn form(&self) -> SignatureForm {
        self.form
    }
    /// Did the signature cover the body?
    pub fn payload_signed(&self) -> bool {
        self.payload_signed
    }
}
