//! AssumeRoleWithWebIdentity: an OpenID Connect ID token (or any OIDC-issued JWT) for a role.
//!
//! The request is unsigned. Its parameters are checked first ([`parse_request`]), the token is
//! verified by [`crate::federation::oidc`] into a [`VerifiedIdToken`], and [`plan`] decides:
//! the role must exist, the provider's claim rules must allow it, and its trust policy must allow
//! `sts:AssumeRoleWithWebIdentity` (plus `sts:TagSession` when the token carries session tags,
//! `sts:SetSourceIdentity` when it carries a source identity) for the provider's `Federated`
//! principal, with AWS's condition keys: `HOST/PATH:sub`, `:aud`, `:oaud` (when `azp` is
//! present), `:amr`, `:email`, and `sts:RoleSessionName`.

use std::time::{Duration, SystemTime};

use idbroker_policy::{Context, Decision, Policy, PolicyKind, Principal, TrustAction};

use crate::directory::Directory;
use crate::federation::oidc::{OidcError, VerifiedIdToken, MAX_TOKEN_CHARS};
use crate::sts::params::{self, Params, Tag};
use crate::sts::{RequestFacts, SessionPlan, StsError};

/// What can go wrong: a parameter or policy problem, or a token problem.
#[derive(Debug, thiserror::Error)]
pub enum WebIdentityError {
    /// Parameters, policies, the store.
    #[error(transparent)]
    Sts(#[from] StsError),
    /// The token or its claims.
    #[error(transparent)]
    Oidc(#[from] OidcError),
}

/// The checked parameters of a request.
#[derive(Debug, Clone)]
pub struct WebIdentityRequest<'a> {
    /// `RoleArn`
    pub role_arn: &'a str,
    /// `RoleSessionName`
    pub session_name: &'a str,
    /// `WebIdentityToken` (never logged).
    pub token: &'a str,
    /// `DurationSeconds` (default 3600).
    pub duration: u32,
    /// `Policy`
    pub policy: Option<&'a str>,
    /// `PolicyArns.member.N.arn`
    pub policy_arns: Vec<&'a str>,
}

/// Check the parameters as AWS does, before any work on the token.
pub fn parse_request(params: &Params) -> Result<WebIdentityRequest<'_>, StsError> {
    let role_arn = params.required("RoleArn")?;
    let session_name = params.required("RoleSessionName")?;
    let token = params.required("WebIdentityToken")?;
    if !(20..=2048).contains(&role_arn.len()) {
        return Err(StsError::Validation(format!(
            "1 validation error detected: Value '{role_arn}' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"
        )));
    }
    params::check_session_name("roleSessionName", session_name)?;
    let chars = token.chars().count();
    if chars < 4 {
        return Err(StsError::Validation(
            "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4".into(),
        ));
    }
    if chars > MAX_TOKEN_CHARS {
        return Err(StsError::Validation(
            "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length less than or equal to 20000".into(),
        ));
    }
    if params.get("ProviderId").is_some() {
        return Err(StsError::InvalidParameterValue(
            "ProviderId is for OAuth 2.0 access tokens; idbroker accepts OpenID Connect ID tokens, whose provider is found from their iss claim".into(),
        ));
    }
    let duration = params.duration(900, 43_200, 3600)?;
    let policy = params::session_policy_text(params)?;
    let policy_arns = params::policy_arns(params)?;
    Ok(WebIdentityRequest {
        role_arn,
        session_name,
        token,
        duration,
        policy,
        policy_arns,
    })
}

/// A granted request: the session to mint and the fields of the answer.
#[derive(Debug, Clone)]
pub struct WebIdentityPlan {
    /// The session.
    pub session: SessionPlan,
    /// `SubjectFromWebIdentityToken`
    pub subject: String,
    /// `Provider`: the provider's ARN.
    pub provider: String,
    /// `Audience`: the client ID the token was accepted for.
    pub audience: String,
}

fn not_authorized() -> StsError {
    StsError::AccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity".into())
}

/// Session tags and transitive keys from the token, with AWS's limits.
fn token_tags(token: &VerifiedIdToken) -> Result<(Vec<Tag>, Vec<String>), OidcError> {
    let bad = |what: &str| {
        OidcError::InvalidToken(format!(
            "The https://aws.amazon.com/tags claim is invalid: {what}"
        ))
    };
    let t = token.tags();
    if t.principal_tags.len() > 50 {
        return Err(bad("more than 50 tags"));
    }
    let mut tags: Vec<Tag> = Vec::with_capacity(t.principal_tags.len());
    for (k, v) in &t.principal_tags {
        let key_ok = !k.is_empty() && k.chars().count() <= 128 && params::tag_chars_ok(k);
        let value_ok = v.chars().count() <= 256 && params::tag_chars_ok(v);
        if !key_ok || !value_ok {
            return Err(bad("a tag key or value breaks the tag constraints"));
        }
        if params::has_reserved_prefix(k) {
            return Err(bad("tag keys may not start with aws:"));
        }
        if tags.iter().any(|x| x.key.eq_ignore_ascii_case(k)) {
            return Err(bad("duplicate tag keys (keys are case-insensitive)"));
        }
        tags.push(Tag {
            key: k.clone(),
            value: v.clone(),
        });
    }
    for k in &t.transitive_tag_keys {
        if !tags.iter().any(|x| x.key.eq_ignore_ascii_case(k)) {
            return Err(bad("a transitive tag key is not one of the principal tags"));
        }
    }
    Ok((tags, t.transitive_tag_keys.clone()))
}

/// The trust-policy context of a web identity request.
fn context(
    token: &VerifiedIdToken,
    req: &WebIdentityRequest<'_>,
    tags: &[Tag],
    transitive: &[String],
    facts: &RequestFacts,
    now: SystemTime,
) -> Context {
    let hp = token.host_path();
    let mut ctx = crate::sts::request_context(facts, now);
    ctx.insert("aws:FederatedProvider", token.provider_arn())
        .insert("sts:RoleSessionName", req.session_name)
        .insert(&format!("{hp}:sub"), token.subject())
        .insert(&format!("{hp}:aud"), token.audience());
    if token.has_azp() {
        ctx.insert_multi(&format!("{hp}:oaud"), token.audiences().iter().cloned());
    }
    if !token.amr().is_empty() {
        ctx.insert_multi(&format!("{hp}:amr"), token.amr().iter().cloned());
    }
    if let Some(e) = token.email() {
        ctx.insert(&format!("{hp}:email"), e);
    }
    crate::sts::session_request_context(&mut ctx, token.source_identity(), tags, transitive);
    ctx
}

/// Decide a request whose token verified.
pub fn plan(
    dir: &Directory,
    token: &VerifiedIdToken,
    req: &WebIdentityRequest<'_>,
    facts: &RequestFacts,
    now: SystemTime,
) -> Result<WebIdentityPlan, WebIdentityError> {
    // Session policies must be valid before anything is decided.
    if let Some(text) = req.policy {
        Policy::parse(text, PolicyKind::Session)
            .map_err(|e| StsError::MalformedPolicy(e.message().to_owned()))?;
    }
    if let Some(arn) = req
        .policy_arns
        .iter()
        .find(|a| dir.managed_policy(a).is_none())
    {
        return Err(StsError::InvalidParameterValue(format!(
            "Policy {arn} does not exist or is not attachable."
        ))
        .into());
    }
    let (tags, transitive) = token_tags(token)?;
    let source_identity = token.source_identity();
    if let Some(s) = source_identity {
        if params::check_session_name("sourceIdentity", s).is_err()
            || s.to_ascii_lowercase().starts_with("aws:")
        {
            return Err(OidcError::InvalidToken(
                "The https://aws.amazon.com/source_identity claim is invalid".into(),
            )
            .into());
        }
    }

    // An unknown role is denied like a forbidden one.
    let role = dir.role(req.role_arn).ok_or_else(not_authorized)?;
    token.check_claim_rules(&role.arn)?;

    let ctx = context(token, req, &tags, &transitive, facts, now);
    let principal = Principal::federated(token.provider_arn());
    let mut actions = vec![TrustAction::AssumeRoleWithWebIdentity];
    if !tags.is_empty() {
        actions.push(TrustAction::TagSession);
    }
    if source_identity.is_some() {
        actions.push(TrustAction::SetSourceIdentity);
    }
    for action in actions {
        let e = idbroker_policy::evaluate_trust(
            &role.trust_policy,
            &role.arn,
            &principal,
            action,
            ctx.clone(),
        );
        if e.decision != Decision::Allow {
            return Err(not_authorized().into());
        }
    }

    if req.duration > role.max_session_duration {
        return Err(StsError::Validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .into(),
        )
        .into());
    }
    let mut session = crate::sts::role_session_plan(
        dir,
        role,
        req.session_name,
        Duration::from_secs(u64::from(req.duration)),
        (req.policy, &req.policy_arns),
        tags,
    )?;
    session.source_identity = source_identity.map(str::to_owned);
    session.transitive_tag_keys = transitive;
    Ok(WebIdentityPlan {
        session,
        subject: token.subject().to_owned(),
        provider: token.provider_arn().to_owned(),
        audience: token.audience().to_owned(),
    })
}
