//! AssumeRole: a user or a role session (role chaining) takes a role, if the role's trust policy
//! lets it in and its own policies allow it. With `SerialNumber` and `TokenCode` the code is
//! verified first ([`crate::sts::mfa`]) and the request is authenticated with MFA
//! (`aws:MultiFactorAuthPresent` true, `aws:MultiFactorAuthAge` 0); without them a session with
//! MFA passes its own on (its authentication time, as AWS carries it through role chaining).

use std::sync::Arc;
use std::time::Duration;

use idbroker_policy::{Decision, PolicySet, Request};

use crate::directory::{Directory, Role};
use crate::sts::mfa::{self, MfaCode, VerifiedMfa};
use crate::sts::mint::{mint, IssuedSession};
use crate::sts::plan::role_session_plan;
use crate::sts::policies::{
    caller_policies, check_session_policies, denied, evaluate, evaluate_trust, policy_principal,
    session_request_context, trust_action,
};
use crate::sts::{
    caller_context, Caller, CallerKind, RequestFacts, Services, SessionPlan, StsError, Tag,
};

/// AssumeRole's parameters, each checked against AWS's constraints
/// ([`crate::sts::constraints`]) by whoever read them.
#[derive(Debug, Clone)]
pub struct AssumeRoleRequest<'a> {
    /// `RoleArn`
    pub role_arn: &'a str,
    /// `RoleSessionName`
    pub session_name: &'a str,
    /// `DurationSeconds` (900..=43200; 3600 when absent, at most 3600 when chaining).
    pub duration: Option<u32>,
    /// `SourceIdentity`
    pub source_identity: Option<&'a str>,
    /// `ExternalId`
    pub external_id: Option<&'a str>,
    /// `Policy`: an inline session policy (not yet parsed).
    pub policy: Option<&'a str>,
    /// `PolicyArns.member.N.arn`
    pub policy_arns: Vec<&'a str>,
    /// `Tags.member.N`
    pub tags: Vec<Tag>,
    /// `TransitiveTagKeys.member.N` (each one of `tags`).
    pub transitive_tag_keys: Vec<String>,
    /// `SerialNumber` and `TokenCode`, when given (both or neither).
    pub mfa: Option<MfaCode<'a>>,
}

/// AssumeRole for a verified caller: decide, mint, store.
pub async fn assume_role(
    sts: &Services<'_>,
    caller: &Caller,
    req: &AssumeRoleRequest<'_>,
    facts: &RequestFacts<'_>,
) -> Result<IssuedSession, StsError> {
    let now = facts.now;
    let verified = match &req.mfa {
        Some(code) => Some(mfa::verify(sts, caller, code, now).await?),
        None => None,
    };
    let plan = decide(sts.directory, caller, req, facts, verified.as_ref())?;
    mint(sts, plan, now).await
}

/// Decide an AssumeRole request: what session `caller` gets, or why not. `mfa`: the request's
/// code, verified.
pub fn decide(
    dir: &Directory,
    caller: &Caller,
    req: &AssumeRoleRequest<'_>,
    facts: &RequestFacts<'_>,
    mfa: Option<&VerifiedMfa>,
) -> Result<SessionPlan, StsError> {
    let role_arn = req.role_arn;
    // A source identity, once set, cannot be changed by chaining.
    if let (Some(s), Some(prev)) = (req.source_identity, &caller.source_identity) {
        if prev != s {
            return Err(StsError::AccessDenied(
                "The source identity of a session cannot be changed".into(),
            ));
        }
    }

    // Session policies must be valid before anything is decided.
    check_session_policies(dir, req.policy, &req.policy_arns)?;

    // Role chaining passes on the calling session's source identity ("The value that is set
    // persists when a role is used to assume another role", IAM User Guide, "Monitor and control
    // actions taken with assumed roles") and its transitive tags ("Chaining roles with session
    // tags"), which the request may not override. The new session sets them as if they had been
    // passed, so they are decided as passed ones are, on both sides: `sts:SetSourceIdentity`
    // ("permissions for sts:SetSourceIdentity are required in both the permissions policy of the
    // principal who is assuming the role and in the role trust policy of the target role") and
    // `sts:TagSession`, with `sts:SourceIdentity`, `aws:RequestTag/*`, `aws:TagKeys` and
    // `sts:TransitiveTagKeys` in the request context.
    let source_identity = req.source_identity.or(caller.source_identity.as_deref());
    let mut all_tags = req.tags.clone();
    let mut all_transitive = req.transitive_tag_keys.clone();
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
    let duration = req.duration.unwrap_or(3600);
    if chained && duration > 3600 {
        return Err(StsError::Validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.".into(),
        ));
    }

    // This request's MFA (a code just verified) counts from now; otherwise the calling
    // session's, if it has one.
    let mfa_at = mfa.map(VerifiedMfa::at).or(caller.mfa_authenticated_at);
    let mut ctx = caller_context(
        &Caller {
            mfa_authenticated_at: mfa_at,
            ..caller.clone()
        },
        facts,
    );
    if mfa.is_some() {
        // With a long-term key too: the request itself was authenticated with MFA.
        ctx.insert("aws:MultiFactorAuthPresent", "true");
    }
    ctx.insert("sts:RoleSessionName", req.session_name);
    if let Some(ext) = req.external_id {
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
        let trust = evaluate_trust(
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
        let e = evaluate(&set, &req, action);
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
        role,
        req.session_name,
        Duration::from_secs(u64::from(duration)),
        (req.policy, &req.policy_arns),
        all_tags,
    )?;
    Ok(SessionPlan {
        source_identity: source_identity.map(str::to_owned),
        transitive_tag_keys: all_transitive,
        parent_access_key_id: chained.then(|| caller.access_key_id.clone()),
        mfa_authenticated_at: mfa_at,
        ..plan
    })
}
