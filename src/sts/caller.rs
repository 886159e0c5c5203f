//! Who signed a request ([`Caller`], built only by authentication: `src/http/auth.rs`), the
//! facts of the request, and the policy condition keys both give every decision.

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
}

/// Request facts that go into the policy context.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    /// The client's address.
    pub source_ip: Option<String>,
    /// Arrived over TLS.
    pub secure_transport: bool,
}

/// The GetCallerIdentity answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// `UserId`
    pub user_id: String,
    /// `Account`
    pub account: String,
    /// `Arn`
    pub arn: String,
}

/// GetCallerIdentity: who signed. Needs no permission (as in AWS).
pub fn get_caller_identity(caller: &Caller) -> CallerIdentity {
    CallerIdentity {
        user_id: caller.user_id.clone(),
        account: caller.account.clone(),
        arn: caller.arn.clone(),
    }
}

/// The keys of every request: `aws:CurrentTime`, `aws:EpochTime`, `aws:SecureTransport` and
/// (when known) `aws:SourceIp`.
pub fn request_context(facts: &RequestFacts, now: SystemTime) -> Context {
    let mut ctx = Context::new();
    ctx.insert("aws:CurrentTime", crate::clock::iso8601(now))
        .insert(
            "aws:EpochTime",
            now.duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
                .to_string(),
        )
        .insert(
            "aws:SecureTransport",
            if facts.secure_transport {
                "true"
            } else {
                "false"
            },
        );
    if let Some(ip) = &facts.source_ip {
        ctx.insert("aws:SourceIp", ip.clone());
    }
    ctx
}

/// The policy context AWS fills in for a request by this caller.
pub fn caller_context(caller: &Caller, facts: &RequestFacts, now: SystemTime) -> Context {
    let mut ctx = request_context(facts, now);
    ctx.insert("aws:PrincipalArn", principal_arn_for_policies(caller))
        .insert("aws:PrincipalAccount", caller.account.clone())
        .insert("aws:userid", caller.user_id.clone())
        .insert(
            "aws:PrincipalType",
            match caller.kind {
                CallerKind::User { .. } => "User",
                CallerKind::UserSession { .. } => "User",
                CallerKind::AssumedRole { .. } => "AssumedRole",
            },
        );
    if let CallerKind::User { name } | CallerKind::UserSession { name } = &caller.kind {
        ctx.insert("aws:username", name.clone());
    }
    if let Some(t) = caller.issued_at {
        ctx.insert("aws:TokenIssueTime", crate::clock::iso8601(t));
    }
    if let Some(s) = &caller.source_identity {
        ctx.insert("aws:SourceIdentity", s.clone());
    }
    for t in &caller.tags {
        ctx.insert(&format!("aws:PrincipalTag/{}", t.key), t.value.clone());
    }
    ctx.insert("aws:MultiFactorAuthPresent", "false");
    ctx
}

/// `aws:PrincipalArn` of a role session is the role's ARN (AWS's rule).
fn principal_arn_for_policies(caller: &Caller) -> String {
    match &caller.kind {
        CallerKind::AssumedRole { role_arn, .. } => role_arn.clone(),
        _ => caller.arn.clone(),
    }
}
