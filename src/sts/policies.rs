//! The caller's side of every decision: its policies (identity, boundary, session), the policy
//! principal it is, AWS's AccessDenied wording, the keys a new session's attributes add to a
//! trust decision, and [`authorize`] for idbroker's own actions.

use std::sync::Arc;

use idbroker_policy::{
    Context, Decision, Evaluation, Policy, PolicyKind, PolicySet, Principal, Request, TrustAction,
};

use crate::directory::{Directory, Role};
use crate::sts::{caller_context, Caller, CallerKind, RequestFacts, StsError, Tag};

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
        CallerKind::User { .. } | CallerKind::UserSession { .. } => {
            // By ARN: several accounts may each have a user of this name.
            let user = dir.user_by_arn(&caller.arn).ok_or_else(|| {
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
    facts: &RequestFacts<'_>,
) -> Result<(), StsError> {
    let (identity, boundary, session) = caller_policies(dir, caller, action, resource)?;
    let set = PolicySet {
        identity: identity.iter().map(Arc::as_ref).collect(),
        permissions_boundary: boundary.as_deref(),
        session: session.iter().map(Arc::as_ref).collect(),
        resource: None,
        account_principal_delegates: false,
    };
    let req = Request::new(action, resource, caller_context(caller, facts))
        .with_principal(policy_principal(caller));
    let e = evaluate(&set, &req, action);
    if e.decision == Decision::Allow {
        Ok(())
    } else {
        Err(denied(caller, action, resource, &e))
    }
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

pub(crate) fn trust_action(action: &str) -> idbroker_policy::TrustAction {
    match action {
        "sts:TagSession" => idbroker_policy::TrustAction::TagSession,
        "sts:SetSourceIdentity" => idbroker_policy::TrustAction::SetSourceIdentity,
        _ => idbroker_policy::TrustAction::AssumeRole,
    }
}

/// Session policies must be valid before anything is decided: the inline policy parses as a
/// session policy, and each managed policy ARN names a policy of the directory. The same for
/// every way into a role.
pub(crate) fn check_session_policies(
    dir: &Directory,
    policy: Option<&str>,
    arns: &[&str],
) -> Result<(), StsError> {
    if let Some(text) = policy {
        Policy::parse(text, PolicyKind::Session)
            .map_err(|e| StsError::MalformedPolicy(e.message().to_owned()))?;
    }
    if let Some(arn) = arns.iter().find(|a| dir.managed_policy(a).is_none()) {
        return Err(StsError::InvalidParameterValue(format!(
            "Policy {arn} does not exist or is not attachable."
        )));
    }
    Ok(())
}

/// The federated trust decision (SAML and web identity): `role`'s trust policy must allow the
/// provider's `Federated` principal `base` (`sts:AssumeRoleWithSAML` or
/// `sts:AssumeRoleWithWebIdentity`), and also `sts:TagSession` when the new session carries
/// tags and `sts:SetSourceIdentity` when it sets a source identity, each with `ctx`. Answers
/// the first action refused.
pub(crate) fn trust_federated(
    role: &Role,
    provider_arn: &str,
    base: TrustAction,
    (tagged, sourced): (bool, bool),
    ctx: &Context,
) -> Result<(), TrustAction> {
    let principal = Principal::federated(provider_arn);
    let extra = [
        tagged.then_some(TrustAction::TagSession),
        sourced.then_some(TrustAction::SetSourceIdentity),
    ];
    for action in std::iter::once(base).chain(extra.into_iter().flatten()) {
        let e = evaluate_trust(
            &role.trust_policy,
            &role.arn,
            &principal,
            action,
            ctx.clone(),
        );
        if e.decision != Decision::Allow {
            return Err(action);
        }
    }
    Ok(())
}

/// The caller's side of a decision: `set` (identity ∩ boundary ∩ session policies, and the
/// resource policy if any) for `req`. A span of its own in traces (`policy.identity`: the
/// action and the decision).
pub(crate) fn evaluate(set: &PolicySet<'_>, req: &Request, action: &str) -> Evaluation {
    let span = tracing::debug_span!("policy.identity", action, decision = tracing::field::Empty);
    let _in = span.enter();
    let e = set.evaluate(req);
    span.record("decision", e.decision.as_str());
    e
}

/// The role's side: its trust policy for `principal` and `action`, with `ctx`
/// ([`idbroker_policy::evaluate_trust`]). A span of its own in traces (`policy.trust`: the
/// action and the decision).
pub(crate) fn evaluate_trust(
    trust_policy: &Policy,
    role_arn: &str,
    principal: &Principal,
    action: TrustAction,
    ctx: Context,
) -> Evaluation {
    let span = tracing::debug_span!(
        "policy.trust",
        action = action.as_str(),
        decision = tracing::field::Empty
    );
    let _in = span.enter();
    let e = idbroker_policy::evaluate_trust(trust_policy, role_arn, principal, action, ctx);
    span.record("decision", e.decision.as_str());
    e
}
