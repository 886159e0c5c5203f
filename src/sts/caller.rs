//! Who signed a request ([`Caller`], built only by authentication: `src/http/auth.rs`, and, for
//! an IAM user whose console password verified, `crate::password_signin`), the facts of the
//! request, and the policy condition keys both give every decision.

use std::time::SystemTime;

use idbroker_policy::Context;

use crate::sts::Tag;

/// What kind of identity signed the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerKind {
    /// An IAM user with its long-term key.
    User {
        /// User name.
        name: String,
    },
    /// Temporary credentials from GetSessionToken.
    UserSession {
        /// User name.
        name: String,
    },
    /// A role session.
    AssumedRole {
        /// The role's ARN (with path).
        role_arn: String,
        /// The session name.
        session_name: String,
    },
}

/// A caller whose signature (and session token) verified.
#[derive(Debug, Clone)]
pub struct Caller {
    /// What kind.
    pub kind: CallerKind,
    /// `arn:aws:iam::A:user/N` or `arn:aws:sts::A:assumed-role/R/S`.
    pub arn: String,
    /// `AIDA...` or `AROA...:session`.
    pub user_id: String,
    /// The account.
    pub account: String,
    /// The access key id that signed.
    pub access_key_id: String,
    /// Session policies of a role session (inline text and managed ARNs).
    pub session_policy: Option<String>,
    /// Managed session policy ARNs.
    pub session_policy_arns: Vec<String>,
    /// The session's source identity.
    pub source_identity: Option<String>,
    /// Session tags (`aws:PrincipalTag/*`).
    pub tags: Vec<Tag>,
    /// Transitive tag keys (passed on when chaining).
    pub transitive_tag_keys: Vec<String>,
    /// When the credentials were issued (`aws:TokenIssueTime`), for temporary credentials.
    pub issued_at: Option<SystemTime>,
    /// When the session's MFA code was verified (its own, or that of the session it was chained
    /// from): `aws:MultiFactorAuthPresent` is true and `aws:MultiFactorAuthAge` counts from it.
    /// `None`: no MFA (always for a long-term key: MFA comes with a request, see
    /// [`crate::sts::mfa`]).
    pub mfa_authenticated_at: Option<SystemTime>,
}

impl Caller {
    /// An IAM user of the directory, authenticated by `access_key_id` (a long-term key), or by
    /// its console password (then `access_key_id` is empty): no session, no MFA yet.
    pub fn user(user: &crate::directory::User, access_key_id: String) -> Caller {
        Caller {
            kind: CallerKind::User {
                name: user.name.clone(),
            },
            arn: user.arn.clone(),
            user_id: user.user_id.clone(),
            account: user.account.clone(),
            access_key_id,
            session_policy: None,
            session_policy_arns: Vec::new(),
            source_identity: None,
            tags: Vec::new(),
            transitive_tag_keys: Vec::new(),
            issued_at: None,
            mfa_authenticated_at: None,
        }
    }
}

/// What the policies may know of the request itself (its time, the client's address, TLS):
/// the type `idbroker-verify` uses too. The STS use cases read their `now` from it and give
/// no service-specific keys (`extra` is empty).
pub use idbroker_verify::RequestFacts;

/// The GetCallerIdentity answer (`GetCallerIdentityResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetCallerIdentityResult {
    /// `UserId`
    pub user_id: String,
    /// `Account`
    pub account: String,
    /// `Arn`
    pub arn: String,
}

/// GetCallerIdentity: who signed. Needs no permission (as in AWS).
pub fn get_caller_identity(caller: &Caller) -> GetCallerIdentityResult {
    GetCallerIdentityResult {
        user_id: caller.user_id.clone(),
        account: caller.account.clone(),
        arn: caller.arn.clone(),
    }
}

/// The keys of every request: `aws:CurrentTime`, `aws:EpochTime`, `aws:SecureTransport` and
/// (when known) `aws:SourceIp`.
pub fn request_context(facts: &RequestFacts<'_>) -> Context {
    let now = facts.now;
    let mut ctx = Context::new();
    idbroker_verify::insert_request_keys(
        &mut ctx,
        now,
        facts.secure_transport,
        facts.source_ip.map(|ip| ip.to_string()),
    );
    ctx
}

/// The policy context AWS fills in for a request by this caller.
pub fn caller_context(caller: &Caller, facts: &RequestFacts<'_>) -> Context {
    let mut ctx = request_context(facts);
    let (kind, role_arn, user_name) = match &caller.kind {
        CallerKind::User { name } | CallerKind::UserSession { name } => (
            idbroker_session::PrincipalKind::User,
            None,
            Some(name.as_str()),
        ),
        CallerKind::AssumedRole { role_arn, .. } => (
            idbroker_session::PrincipalKind::AssumedRole,
            Some(role_arn.as_str()),
            None,
        ),
    };
    idbroker_verify::PrincipalKeys {
        kind,
        arn: &caller.arn,
        role_arn,
        account: &caller.account,
        user_id: &caller.user_id,
        user_name,
        issued_at: caller.issued_at.map(crate::clock::epoch),
        source_identity: caller.source_identity.as_deref(),
        mfa: caller.mfa_authenticated_at.is_some(),
    }
    .insert_into(
        &mut ctx,
        caller
            .tags
            .iter()
            .map(|t| (t.key.as_str(), t.value.as_str())),
    );
    idbroker_verify::insert_mfa_age(
        &mut ctx,
        caller.mfa_authenticated_at.map(crate::clock::epoch),
        facts.now,
    );
    ctx
}
