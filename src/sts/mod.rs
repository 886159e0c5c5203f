//! The STS use cases. Each takes a verified caller, typed parameters and `now`, and answers with
//! what to mint (or an error); nothing here knows about HTTP.

mod error;
pub mod params;
pub mod saml;
pub mod web_identity;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use idbroker_policy::{
    Context, Decision, Evaluation, Policy, PolicyKind, PolicySet, Principal, Request,
};

use crate::directory::{Directory, Role};
pub use error::StsError;
use params::{Params, Tag};

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

/// The principal part of a session to mint.
#[derive(Debug, Clone)]
pub struct SessionPlan {
    /// The session principal's ARN.
    pub arn: String,
    /// `AROA...:name` or the user's id.
    pub user_id: String,
    /// The account.
    pub account: String,
    /// For role sessions: the role ARN (with path), name and session name.
    pub role: Option<(String, String, String)>,
    /// For user sessions (GetSessionToken): the user's name.
    pub user_name: Option<String>,
    /// Lifetime.
    pub duration: Duration,
    /// Inline session policy text.
    pub session_policy: Option<String>,
    /// Managed session policy ARNs.
    pub session_policy_arns: Vec<String>,
    /// Source identity.
    pub source_identity: Option<String>,
    /// Session tags.
    pub tags: Vec<Tag>,
    /// Transitive tag keys.
    pub transitive_tag_keys: Vec<String>,
    /// `PackedPolicySize` (percent of the allowed size).
    pub packed_policy_size: Option<u32>,
    /// The access key that asked (for role chaining records).
    pub parent_access_key_id: Option<String>,
}

/// GetSessionToken: only for long-term user keys.
pub fn get_session_token(caller: &Caller, params: &Params) -> Result<SessionPlan, StsError> {
    let CallerKind::User { name } = &caller.kind else {
        return Err(StsError::AccessDenied(
            "Cannot call GetSessionToken with session credentials".into(),
        ));
    };
    let duration = params.duration(900, 129_600, 43_200)?;
    Ok(SessionPlan {
        arn: caller.arn.clone(),
        user_id: caller.user_id.clone(),
        account: caller.account.clone(),
        role: None,
        user_name: Some(name.clone()),
        duration: Duration::from_secs(u64::from(duration)),
        session_policy: None,
        session_policy_arns: Vec::new(),
        source_identity: None,
        tags: Vec::new(),
        transitive_tag_keys: Vec::new(),
        packed_policy_size: None,
        parent_access_key_id: None,
    })
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

/// Identity policies, permissions boundary, session policies.
type CallerPolicies = (Vec<Arc<Policy>>, Option<Arc<Policy>>, Vec<Arc<Policy>>);

/// The identity-side policies of a caller: user or role policies, boundary, session policies.
///
/// `action` and `resource` name the request for the answer to a caller whose IAM user is no
/// longer in the directory: AWS evaluates the permissions of temporary credentials on every
/// request ("Once you remove all permissions from the credentials, AWS requests that use them
/// fail", IAM User Guide, "Disabling permissions for temporary security credentials"), and a
/// removed user has none, so it is AccessDenied as for any caller no policy allows; not a server
/// fault, and no resource or trust policy that names the user's ARN lets its old sessions in.
pub(crate) fn caller_policies(
    dir: &Directory,
    caller: &Caller,
    action: &str,
    resource: &str,
) -> Result<CallerPolicies, StsError> {
    let mut session = Vec::new();
    if let Some(text) = &caller.session_policy {
        // Validated when the session was issued; a failure now means the record is damaged.
        let p = Policy::parse(text, PolicyKind::Session).map_err(|_| StsError::Internal)?;
        session.push(Arc::new(p.with_id("session-policy")));
    }
    for arn in &caller.session_policy_arns {
        session.push(dir.managed_policy(arn).cloned().ok_or(StsError::Internal)?);
    }
    match &caller.kind {
        CallerKind::User { name } | CallerKind::UserSession { name } => {
            let user = dir.user(name).ok_or_else(|| {
                StsError::AccessDenied(format!(
                    "User: {} is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the action",
                    caller.arn
                ))
            })?;
            Ok((
                user.policies.clone(),
                user.permissions_boundary.clone(),
                session,
            ))
        }
        CallerKind::AssumedRole { role_arn, .. } => {
            // A role removed from the configuration leaves its sessions with no permissions.
            let Some(role) = dir.role(role_arn) else {
                return Ok((Vec::new(), None, session));
            };
            Ok((
                role.policies.clone(),
                role.permissions_boundary.clone(),
                session,
            ))
        }
    }
}

/// The caller as a policy principal: a role session is also its role.
pub(crate) fn policy_principal(caller: &Caller) -> Principal {
    match &caller.kind {
        CallerKind::AssumedRole { role_arn, .. } => Principal::assumed_role(&caller.arn, role_arn),
        _ => Principal::aws(&caller.arn),
    }
}

/// AWS's AccessDenied message for `caller`, naming why `e` did not allow.
pub(crate) fn denied(caller: &Caller, action: &str, resource: &str, e: &Evaluation) -> StsError {
    let why = match e.decision {
        Decision::ExplicitDeny => "with an explicit deny",
        _ => match e.missing {
            Some(idbroker_policy::Layer::Resource) => {
                "because no resource-based policy allows the action"
            }
            Some(idbroker_policy::Layer::PermissionsBoundary) => {
                "because no permissions boundary allows the action"
            }
            Some(idbroker_policy::Layer::Session) => "because no session policy allows the action",
            _ => "because no identity-based policy allows the action",
        },
    };
    StsError::AccessDenied(format!(
        "User: {} is not authorized to perform: {action} on resource: {resource} {why}",
        caller.arn
    ))
}

/// May `caller` perform one of idbroker's own actions (`idbroker:VerifyRequest`, ...) on
/// `resource`? Its identity policies ∩ permissions boundary ∩ session policies decide, with the
/// caller's condition keys; there is no resource policy. Anything but Allow is `AccessDenied`.
pub fn authorize(
    dir: &Directory,
    caller: &Caller,
    action: &str,
    resource: &str,
    facts: &RequestFacts,
    now: SystemTime,
) -> Result<(), StsError> {
    let (identity, boundary, session) = caller_policies(dir, caller, action, resource)?;
    let set = PolicySet {
        identity: identity.iter().map(Arc::as_ref).collect(),
        permissions_boundary: boundary.as_deref(),
        session: session.iter().map(Arc::as_ref).collect(),
        resource: None,
        account_principal_delegates: false,
    };
    let req = Request::new(action, resource, caller_context(caller, facts, now))
        .with_principal(policy_principal(caller));
    let e = set.evaluate(&req);
    if e.decision == Decision::Allow {
        Ok(())
    } else {
        Err(denied(caller, action, resource, &e))
    }
}

/// AssumeRole: a user or role session takes a role.
pub fn assume_role(
    dir: &Directory,
    caller: &Caller,
    params: &Params,
    facts: &RequestFacts,
    now: SystemTime,
) -> Result<SessionPlan, StsError> {
    let role_arn = params.required("RoleArn")?;
    let session_name = params.required("RoleSessionName")?;
    params::check_session_name("roleSessionName", session_name)?;
    if !(20..=2048).contains(&role_arn.len()) {
        return Err(StsError::Validation(format!(
            "1 validation error detected: Value '{role_arn}' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"
        )));
    }
    let source_identity = params.get("SourceIdentity");
    if let Some(s) = source_identity {
        params::check_session_name("sourceIdentity", s)?;
        if params::has_reserved_prefix(s) {
            return Err(StsError::Validation(
                "1 validation error detected: Value at 'sourceIdentity' failed to satisfy constraint: Member must not start with 'aws:'".into(),
            ));
        }
        // A source identity, once set, cannot be changed by chaining.
        if let Some(prev) = &caller.source_identity {
            if prev != s {
                return Err(StsError::AccessDenied(
                    "The source identity of a session cannot be changed".into(),
                ));
            }
        }
    }
    if let Some(ext) = params.get("ExternalId") {
        let ok = (2..=1224).contains(&ext.len())
            && ext
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c));
        if !ok {
            return Err(StsError::Validation(
                "1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*".into(),
            ));
        }
    }
    let policy_text = params::session_policy_text(params)?;
    let policy_arns = params::policy_arns(params)?;
    let tags = params::tags(params)?;
    let transitive: Vec<String> = params
        .members("TransitiveTagKeys", None)
        .into_iter()
        .map(|(_, v)| v.to_owned())
        .collect();
    if transitive.len() > 50 {
        return Err(StsError::Validation(
            "1 validation error detected: Value at 'transitiveTagKeys' failed to satisfy constraint: Member must have length less than or equal to 50".into(),
        ));
    }
    for k in &transitive {
        if !tags.iter().any(|t| t.key.eq_ignore_ascii_case(k)) {
            return Err(StsError::InvalidParameterValue(format!(
                "The specified transitive tag key must be included in the requested tags: {k}"
            )));
        }
    }

    // Session policies must be valid before anything is decided.
    let mut compiled_session = Vec::new();
    if let Some(text) = policy_text {
        let p = Policy::parse(text, PolicyKind::Session)
            .map_err(|e| StsError::MalformedPolicy(e.message().to_owned()))?;
        compiled_session.push(p);
    }
    for arn in &policy_arns {
        if dir.managed_policy(arn).is_none() {
            return Err(StsError::InvalidParameterValue(format!(
                "Policy {arn} does not exist or is not attachable."
            )));
        }
    }

    // Role chaining passes on the calling session's source identity ("The value that is set
    // persists when a role is used to assume another role", IAM User Guide, "Monitor and control
    // actions taken with assumed roles") and its transitive tags ("Chaining roles with session
    // tags"), which the request may not override. The new session sets them as if they had been
    // passed, so they are decided as passed ones are, on both sides: `sts:SetSourceIdentity`
    // ("permissions for sts:SetSourceIdentity are required in both the permissions policy of the
    // principal who is assuming the role and in the role trust policy of the target role") and
    // `sts:TagSession`, with `sts:SourceIdentity`, `aws:RequestTag/*`, `aws:TagKeys` and
    // `sts:TransitiveTagKeys` in the request context.
    let source_identity = source_identity.or(caller.source_identity.as_deref());
    let mut all_tags = tags.clone();
    let mut all_transitive = transitive.clone();
    for k in &caller.transitive_tag_keys {
        if let Some(t) = caller.tags.iter().find(|t| t.key.eq_ignore_ascii_case(k)) {
            if all_tags.iter().any(|n| n.key.eq_ignore_ascii_case(k)) {
                return Err(StsError::InvalidParameterValue(format!(
                    "One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session: {k}"
                )));
            }
            all_tags.push(t.clone());
            all_transitive.push(t.key.clone());
        }
    }

    // Role existence is not revealed: an unknown role is denied like a forbidden one.
    let role: Option<&Role> = dir.role(role_arn);
    let chained = matches!(caller.kind, CallerKind::AssumedRole { .. });
    let duration = if chained {
        let d = params.duration(900, 43_200, 3600)?;
        if d > 3600 {
            return Err(StsError::Validation(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.".into(),
            ));
        }
        d
    } else {
        params.duration(900, 43_200, 3600)?
    };

    let mut ctx = caller_context(caller, facts, now);
    ctx.insert("sts:RoleSessionName", session_name);
    if let Some(ext) = params.get("ExternalId") {
        ctx.insert("sts:ExternalId", ext);
    }
    session_request_context(&mut ctx, source_identity, &all_tags, &all_transitive);

    let (identity, boundary, session) = caller_policies(dir, caller, "sts:AssumeRole", role_arn)?;
    let principal = policy_principal(caller);
    let mut actions = vec!["sts:AssumeRole"];
    if !all_tags.is_empty() {
        actions.push("sts:TagSession");
    }
    if source_identity.is_some() {
        actions.push("sts:SetSourceIdentity");
    }
    let Some(role) = role else {
        return Err(StsError::AccessDenied(format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            caller.arn
        )));
    };
    for action in actions {
        // A role's trust policy must allow the caller in every case (IAM User Guide, "Roles
        // terms and concepts": the trust policy is the only resource-based policy an IAM role
        // has, and without its Allow nobody can assume the role). The caller's own policies must
        // allow too, unless the trust policy names the caller itself.
        let trust = idbroker_policy::evaluate_trust(
            &role.trust_policy,
            role_arn,
            &principal,
            trust_action(action),
            ctx.clone(),
        );
        if trust.decision != Decision::Allow {
            return Err(denied(caller, action, role_arn, &trust));
        }
        let set = PolicySet {
            identity: identity.iter().map(Arc::as_ref).collect(),
            permissions_boundary: boundary.as_deref(),
            session: session.iter().map(Arc::as_ref).collect(),
            resource: Some(&role.trust_policy),
            account_principal_delegates: true,
        };
        let req = Request::new(action, role_arn, ctx.clone()).with_principal(principal.clone());
        let e = set.evaluate(&req);
        if e.decision != Decision::Allow {
            return Err(denied(caller, action, role_arn, &e));
        }
    }

    if duration > role.max_session_duration {
        return Err(StsError::Validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .into(),
        ));
    }

    let plan = role_session_plan(
        dir,
        role,
        session_name,
        Duration::from_secs(u64::from(duration)),
        (policy_text, &policy_arns),
        all_tags,
    )?;
    Ok(SessionPlan {
        source_identity: source_identity.map(str::to_owned),
        transitive_tag_keys: all_transitive,
        parent_access_key_id: chained.then(|| caller.access_key_id.clone()),
        ..plan
    })
}

/// The keys a new session's own attributes add to a trust decision: `sts:SourceIdentity`,
/// `aws:RequestTag/*`, `aws:TagKeys`, `sts:TransitiveTagKeys`. The same for every way in
/// (AssumeRole, SAML, web identity).
pub(crate) fn session_request_context(
    ctx: &mut Context,
    source_identity: Option<&str>,
    tags: &[Tag],
    transitive: &[String],
) {
    if let Some(s) = source_identity {
        ctx.insert("sts:SourceIdentity", s);
    }
    for t in tags {
        ctx.insert(&format!("aws:RequestTag/{}", t.key), t.value.clone());
    }
    if !tags.is_empty() {
        ctx.insert_multi("aws:TagKeys", tags.iter().map(|t| t.key.clone()));
    }
    if !transitive.is_empty() {
        ctx.insert_multi("sts:TransitiveTagKeys", transitive.iter().cloned());
    }
}

/// The plan of a role session with its session policies and tags, within AWS's packed size.
/// Source identity, transitive tag keys and the parent key are left for the caller to set.
pub(crate) fn role_session_plan(
    dir: &Directory,
    role: &Role,
    session_name: &str,
    duration: Duration,
    (policy_text, policy_arns): (Option<&str>, &[&str]),
    tags: Vec<Tag>,
) -> Result<SessionPlan, StsError> {
    let packed = packed_policy_size(policy_text, policy_arns, &tags);
    if packed > 100 {
        return Err(StsError::PackedPolicyTooLarge(format!(
            "Packed policy consumes {packed}% of allotted space, please use smaller policy."
        )));
    }
    let account = dir.account_id.clone();
    Ok(SessionPlan {
        arn: format!(
            "arn:aws:sts::{account}:assumed-role/{}/{session_name}",
            role.name
        ),
        user_id: format!("{}:{session_name}", role.role_id),
        account,
        role: Some((role.arn.clone(), role.name.clone(), session_name.to_owned())),
        user_name: None,
        duration,
        session_policy: policy_text.map(str::to_owned),
        session_policy_arns: policy_arns.iter().map(|s| (*s).to_owned()).collect(),
        source_identity: None,
        tags,
        transitive_tag_keys: Vec::new(),
        packed_policy_size: Some(packed),
        parent_access_key_id: None,
    })
}

fn trust_action(action: &str) -> idbroker_policy::TrustAction {
    match action {
        "sts:TagSession" => idbroker_policy::TrustAction::TagSession,
        "sts:SetSourceIdentity" => idbroker_policy::TrustAction::SetSourceIdentity,
        _ => idbroker_policy::TrustAction::AssumeRole,
    }
}

/// AWS packs session policies and tags into the session token and reports their size as a
/// percentage of what fits. idbroker stores them server-side, but keeps AWS's limit so that
/// policies which work here also work with AWS: the inline policy with white space removed,
/// 64 bytes per managed policy ARN reference and the tags, against a 2048-byte budget.
pub(crate) fn packed_policy_size(policy: Option<&str>, arns: &[&str], tags: &[Tag]) -> u32 {
    let policy_bytes = policy.map_or(0, |p| p.chars().filter(|c| !c.is_whitespace()).count());
    let tag_bytes: usize = tags.iter().map(|t| t.key.len() + t.value.len() + 2).sum();
    let total = policy_bytes + arns.len() * 64 + tag_bytes;
    let pct = (total * 100).div_ceil(2048);
    u32::try_from(pct).unwrap_or(u32::MAX)
}
