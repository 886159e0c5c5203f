//! AssumeRoleWithWebIdentity, end to end: an OpenID Connect ID token (or any OIDC-issued JWT)
//! for a role.
//!
//! The request is unsigned. Its parameters were checked by whoever read them (against
//! [`crate::sts::constraints`]); the token is verified by [`crate::federation::oidc`] into a
//! [`VerifiedIdToken`], [`decide`] decides, and the session is minted and stored:
//! the role must exist, the provider's claim rules must allow it, and its trust policy must allow
//! `sts:AssumeRoleWithWebIdentity` (plus `sts:TagSession` when the token carries session tags,
//! `sts:SetSourceIdentity` when it carries a source identity) for the provider's `Federated`
//! principal, with AWS's condition keys: `HOST/PATH:sub`, `:aud`, `:oaud` (when `azp` is
//! present), `:amr`, `:email`, and `sts:RoleSessionName`.

use std::time::Duration;

use idbroker_policy::{Context, TrustAction};

use tracing::instrument;

use crate::directory::Directory;
use crate::federation::oidc::{session_name_from, OidcError, VerifiedIdToken};
use crate::sts::constraints::{self as params};
use crate::sts::mint::{mint, IssuedSession};
use crate::sts::policies::{check_session_policies, trust_federated};
use crate::sts::Tag;
use crate::sts::{RequestFacts, RoleRequest, Services, SessionPlan, StsError};
use crate::throttle::Key;

/// AssumeRoleWithWebIdentity's parameters, each checked against AWS's constraints
/// ([`crate::sts::constraints`]) by whoever read them.
#[derive(Debug, Clone)]
pub struct AssumeRoleWithWebIdentityRequest<'a> {
    /// `WebIdentityToken` (4..=20,000 characters; never logged).
    pub token: &'a str,
    /// `RoleSessionName`; `None` names the session after the verified token's `sub`
    /// ([`session_name_from`]), as `/workload/credentials` does when it is not given.
    pub session_name: Option<&'a str>,
    /// What is asked of the token. Without `duration`, 3600 seconds.
    pub role: RoleRequest<'a>,
}

/// AssumeRoleWithWebIdentity: verify the token, decide, mint, store.
#[instrument(level = "debug", skip_all)]
pub async fn assume_role_with_web_identity(
    sts: &Services<'_>,
    req: &AssumeRoleWithWebIdentityRequest<'_>,
    facts: &RequestFacts<'_>,
) -> Result<WebIdentityIssued, StsError> {
    let now = facts.now;
    let token = sts.oidc.verify(req.token, sts.store, now).await?;
    // The provider's bucket, once its signature verified: an outsider cannot spend it.
    sts.throttle
        .admit(
            "AssumeRoleWithWebIdentity",
            &[Key::Provider(token.provider_arn())],
            now,
        )
        .await?;
    let named;
    let session_name = match req.session_name {
        Some(n) => n,
        None => {
            named = session_name_from(token.subject());
            named.as_str()
        }
    };
    let plan = decide(sts.directory, &token, session_name, &req.role, facts)?;
    let session = mint(sts, plan.session, now).await?;
    Ok(WebIdentityIssued {
        session,
        subject: plan.subject,
        provider: plan.provider,
        audience: plan.audience,
    })
}

/// What AssumeRoleWithWebIdentity answers: the session, and what the token said.
#[derive(Debug)]
pub struct WebIdentityIssued {
    /// The session and its credentials.
    pub session: IssuedSession,
    /// `SubjectFromWebIdentityToken`
    pub subject: String,
    /// `Provider`: the provider's ARN.
    pub provider: String,
    /// `Audience`: the client ID the token was accepted for.
    pub audience: String,
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
    session_name: &str,
    tags: &[Tag],
    transitive: &[String],
    facts: &RequestFacts<'_>,
) -> Context {
    let hp = token.host_path();
    let mut ctx = crate::sts::request_context(facts);
    ctx.insert("aws:FederatedProvider", token.provider_arn())
        .insert("sts:RoleSessionName", session_name)
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
    crate::sts::policies::session_request_context(
        &mut ctx,
        token.source_identity(),
        tags,
        transitive,
    );
    ctx
}

/// Decide a request whose token verified: the role session it grants, named `session_name`,
/// or why not.
pub fn decide(
    dir: &Directory,
    token: &VerifiedIdToken,
    session_name: &str,
    req: &RoleRequest<'_>,
    facts: &RequestFacts<'_>,
) -> Result<WebIdentityPlan, StsError> {
    // Session policies must be valid before anything is decided.
    check_session_policies(dir, req.policy, &req.policy_arns)?;
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

    let ctx = context(token, session_name, &tags, &transitive, facts);
    let asks = (!tags.is_empty(), source_identity.is_some());
    trust_federated(
        role,
        token.provider_arn(),
        TrustAction::AssumeRoleWithWebIdentity,
        asks,
        &ctx,
    )
    .map_err(|_| not_authorized())?;

    let duration = req.duration.unwrap_or(3600);
    if duration > role.max_session_duration {
        return Err(StsError::Validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .into(),
        ));
    }
    let mut session = crate::sts::plan::role_session_plan(
        role,
        session_name,
        Duration::from_secs(u64::from(duration)),
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
