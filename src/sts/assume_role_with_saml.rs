//! AssumeRoleWithSAML, end to end: the provider named by `PrincipalArn`, the assertion verified
//! by [`crate::federation::saml::verify`] into a [`VerifiedAssertion`], the decision (the
//! assertion names the role or a provider's role mapping grants it, and the role's trust policy
//! lets the provider in, with AWS's `saml:*` keys), then the session minted and stored.

use std::time::Duration;

use idbroker_policy::{Context, TrustAction};

use tracing::instrument;

use crate::directory::Directory;
use crate::federation::saml::{InResponseTo, SamlProvider, SamlSettings, VerifiedAssertion};
use crate::sts::constraints::{self as params};
use crate::sts::mint::{mint, IssuedSession};
use crate::sts::policies::{check_session_policies, trust_federated};
use crate::sts::Tag;
use crate::sts::{RequestFacts, RoleRequest, Services, SessionPlan, StsError};
use crate::throttle::Key;

const ATTR: &str = "https://aws.amazon.com/SAML/Attributes/";

/// SAML attribute names (OID URNs, as IdPs send them, or the friendly name) and the trust
/// policy key AWS gives them (IAM User Guide, "Available keys for SAML-based federation").
const ATTRIBUTE_KEYS: [(&str, &str, &str); 26] = [
    ("urn:oid:2.5.4.3", "cn", "saml:cn"),
    ("urn:oid:2.5.4.3", "commonName", "saml:commonName"),
    ("urn:oid:2.5.4.42", "givenName", "saml:givenName"),
    ("urn:oid:2.5.4.4", "sn", "saml:surname"),
    ("urn:oid:2.5.4.41", "name", "saml:name"),
    ("urn:oid:0.9.2342.19200300.100.1.3", "mail", "saml:mail"),
    ("urn:oid:0.9.2342.19200300.100.1.1", "uid", "saml:uid"),
    (
        "urn:oid:0.9.2342.19200300.100.1.45",
        "organizationStatus",
        "saml:organizationStatus",
    ),
    (
        "urn:oid:2.5.4.45",
        "x500UniqueIdentifier",
        "saml:x500UniqueIdentifier",
    ),
    (
        "http://schemas.microsoft.com/ws/2008/06/identity/claims/primarygroupsid",
        "primaryGroupSID",
        "saml:primaryGroupSID",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.1",
        "eduPersonAffiliation",
        "saml:edupersonaffiliation",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.2",
        "eduPersonNickname",
        "saml:edupersonnickname",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.3",
        "eduPersonOrgDN",
        "saml:edupersonorgdn",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.4",
        "eduPersonOrgUnitDN",
        "saml:edupersonorgunitdn",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.5",
        "eduPersonPrimaryAffiliation",
        "saml:edupersonprimaryaffiliation",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.6",
        "eduPersonPrincipalName",
        "saml:edupersonprincipalname",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.7",
        "eduPersonEntitlement",
        "saml:edupersonentitlement",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.8",
        "eduPersonPrimaryOrgUnitDN",
        "saml:edupersonprimaryorgunitdn",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.9",
        "eduPersonScopedAffiliation",
        "saml:edupersonscopedaffiliation",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.10",
        "eduPersonTargetedID",
        "saml:edupersontargetedid",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.11",
        "eduPersonAssurance",
        "saml:edupersonassurance",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.2.1.2",
        "eduOrgHomePageURI",
        "saml:eduorghomepageuri",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.2.1.3",
        "eduOrgIdentityAuthNPolicyURI",
        "saml:eduorgidentityauthnpolicyuri",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.2.1.4",
        "eduOrgLegalName",
        "saml:eduorglegalname",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.2.1.5",
        "eduOrgSuperiorURI",
        "saml:eduorgsuperioruri",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.2.1.6",
        "eduOrgWhitePagesURI",
        "saml:eduorgwhitepagesuri",
    ),
];

/// AssumeRoleWithSAML's parameters, each checked against AWS's constraints
/// ([`crate::sts::constraints`]) by whoever read them.
#[derive(Debug, Clone)]
pub struct AssumeRoleWithSamlRequest<'a> {
    /// `PrincipalArn`: the provider.
    pub principal_arn: &'a str,
    /// `SAMLAssertion`: the base64 SAML response (4..=100,000 characters).
    pub assertion: &'a str,
    /// What is asked of the assertion. Without `duration`, the SessionDuration attribute
    /// or 3600 seconds.
    pub role: RoleRequest<'a>,
}

/// The provider named by PrincipalArn. An unknown provider gets the same answer as an
/// assertion whose signature does not verify ([`StsError::UnknownSamlProvider`]): an
/// unauthenticated caller learns nothing of which providers are configured (the audit event
/// keeps the detail).
pub fn provider(
    saml: &SamlSettings,
    principal_arn: &str,
) -> Result<std::sync::Arc<SamlProvider>, StsError> {
    saml.find(principal_arn)
        .ok_or(StsError::UnknownSamlProvider)
}

/// What AssumeRoleWithSAML answers: the session, and what the assertion said.
#[derive(Debug)]
pub struct SamlIssued {
    /// The session and its credentials.
    pub session: IssuedSession,
    /// The provider's ARN.
    pub provider_arn: String,
    /// `Subject`
    pub subject: String,
    /// `SubjectType`
    pub subject_type: String,
    /// `Issuer`
    pub issuer: String,
    /// `Audience`
    pub audience: String,
    /// `NameQualifier`
    pub name_qualifier: String,
}

/// AssumeRoleWithSAML: find the provider, verify the assertion (IdP-initiated: it answers no
/// request of ours), decide, mint, store.
#[instrument(level = "debug", skip_all)]
pub async fn assume_role_with_saml(
    sts: &Services<'_>,
    req: &AssumeRoleWithSamlRequest<'_>,
    facts: &RequestFacts<'_>,
) -> Result<SamlIssued, StsError> {
    let now = facts.now;
    let provider = provider(sts.saml, req.principal_arn)?;
    let checked = crate::federation::saml::check_pooled(
        &provider,
        sts.saml,
        req.assertion,
        InResponseTo::Unsolicited,
        now,
    )
    .await?;
    // The provider's bucket, once its signature verified (an outsider cannot spend it) and
    // before single use (a throttled client retries with the same assertion).
    sts.throttle
        .admit("AssumeRoleWithSAML", &[Key::Provider(&provider.arn)], now)
        .await?;
    let verified = crate::federation::saml::use_once(&provider, checked, sts.store, now).await?;
    let out = decide(sts.directory, &provider, &verified, &req.role, facts)?;
    let session = mint(sts, out.plan, now).await?;
    Ok(SamlIssued {
        session,
        provider_arn: provider.arn.clone(),
        subject: out.subject,
        subject_type: out.subject_type,
        issuer: out.issuer,
        audience: out.audience,
        name_qualifier: out.name_qualifier,
    })
}

/// What AssumeRoleWithSAML answers besides the credentials.
#[derive(Debug, Clone)]
pub struct SamlOutcome {
    /// The session to mint.
    pub plan: SessionPlan,
    /// `Subject`
    pub subject: String,
    /// `SubjectType`
    pub subject_type: String,
    /// `Issuer`
    pub issuer: String,
    /// `Audience`
    pub audience: String,
    /// `NameQualifier`
    pub name_qualifier: String,
}

fn bad_claim(msg: impl Into<String>) -> StsError {
    StsError::InvalidIdentityToken(msg.into())
}

/// The roles a verified assertion grants with `provider`: each pair of its Role attribute that
/// names the provider (`roleArn,providerArn`, either order), then each role a provider role
/// mapping grants for the assertion's attributes; no duplicates. The trust policy still decides.
pub fn granted_roles(assertion: &VerifiedAssertion, provider: &SamlProvider) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    for v in assertion.attribute(&format!("{ATTR}Role")) {
        let mut parts = v.split(',').map(str::trim);
        let role = match (parts.next(), parts.next(), parts.next()) {
            (Some(a), Some(b), None) if b == provider.arn => a,
            (Some(a), Some(b), None) if a == provider.arn => b,
            _ => continue,
        };
        if !roles.iter().any(|r| r == role) {
            roles.push(role.to_owned());
        }
    }
    for m in &provider.role_mappings {
        if !roles.contains(&m.role)
            && assertion
                .attribute(&m.attribute)
                .iter()
                .any(|v| m.matches(v))
        {
            roles.push(m.role.clone());
        }
    }
    roles
}

fn single<'a>(assertion: &'a VerifiedAssertion, name: &str) -> Result<Option<&'a str>, StsError> {
    match assertion.attribute(&format!("{ATTR}{name}")) {
        [] => Ok(None),
        [one] => Ok(Some(one.as_str())),
        _ => Err(bad_claim(format!(
            "The {name} attribute must have a single value"
        ))),
    }
}

/// Decide AssumeRoleWithSAML for an assertion `provider` vouched for: the role session it
/// grants, or why not.
pub fn decide(
    dir: &Directory,
    provider: &SamlProvider,
    assertion: &VerifiedAssertion,
    req: &RoleRequest<'_>,
    facts: &RequestFacts<'_>,
) -> Result<SamlOutcome, StsError> {
    let now = facts.now;
    let role_arn = req.role_arn;
    if assertion.provider_arn() != provider.arn {
        return Err(StsError::Internal);
    }
    if !granted_roles(assertion, provider)
        .iter()
        .any(|r| r == role_arn)
    {
        return Err(StsError::IdpRejectedClaim(format!(
            "The SAML assertion does not allow the role {role_arn} with the provider {}",
            provider.arn
        )));
    }

    // Session name, duration, tags and source identity come from the assertion.
    let session_name = match single(assertion, "RoleSessionName")? {
        Some(n) => n,
        None => assertion.subject(),
    };
    params::check_session_name("roleSessionName", session_name)
        .map_err(|_| bad_claim("RoleSessionName in the SAML assertion must be 2 to 64 characters of [\\w+=,.@-] (the NameID is used when the attribute is absent)"))?;
    let attribute_duration = single(assertion, "SessionDuration")?
        .map(|d| {
            d.parse::<u32>()
                .ok()
                .filter(|d| (900..=43_200).contains(d))
                .ok_or_else(|| {
                    bad_claim("SessionDuration in the SAML assertion must be 900 to 43200 seconds")
                })
        })
        .transpose()?;
    let source_identity = single(assertion, "SourceIdentity")?;
    if let Some(s) = source_identity {
        params::check_session_name("sourceIdentity", s).map_err(|_| {
            bad_claim(
                "SourceIdentity in the SAML assertion must be 2 to 64 characters of [\\w+=,.@-]",
            )
        })?;
        if s.to_ascii_lowercase().starts_with("aws:") {
            return Err(bad_claim(
                "SourceIdentity in the SAML assertion must not start with aws:",
            ));
        }
    }
    let mut tag_pairs = Vec::new();
    for (i, (name, values)) in assertion.attributes().iter().enumerate() {
        if let Some(key) = name.strip_prefix(&format!("{ATTR}PrincipalTag:")) {
            let [value] = values.as_slice() else {
                return Err(bad_claim(format!(
                    "The PrincipalTag:{key} attribute must have a single value"
                )));
            };
            tag_pairs.push((i + 1, key, value.as_str()));
        }
    }
    let tags: Vec<Tag> = params::check_tags(tag_pairs)
        .map_err(|e| bad_claim(format!("PrincipalTag attributes: {e}")))?;
    let transitive: Vec<String> = assertion
        .attribute(&format!("{ATTR}TransitiveTagKeys"))
        .to_vec();
    for k in &transitive {
        if !tags.iter().any(|t| t.key.eq_ignore_ascii_case(k)) {
            return Err(bad_claim(format!(
                "The transitive tag key {k} is not one of the assertion's PrincipalTag attributes"
            )));
        }
    }

    // Session policies must be valid before anything is decided.
    let (policy_text, policy_arns) = (req.policy, &req.policy_arns);
    check_session_policies(dir, policy_text, policy_arns)?;

    let not_authorized = || {
        StsError::AccessDenied(format!(
            "Not authorized to perform sts:AssumeRoleWithSAML on resource: {role_arn}"
        ))
    };
    let role = dir.role(role_arn).ok_or_else(not_authorized)?;
    let ctx = trust_context(
        provider,
        assertion,
        facts,
        session_name,
        source_identity,
        &tags,
        &transitive,
    );
    let asks = (!tags.is_empty(), source_identity.is_some());
    trust_federated(
        role,
        &provider.arn,
        TrustAction::AssumeRoleWithSaml,
        asks,
        &ctx,
    )
    .map_err(|action| {
        StsError::AccessDenied(format!(
            "Not authorized to perform {} on resource: {role_arn}",
            action.as_str()
        ))
    })?;

    // Duration: DurationSeconds, else the SessionDuration attribute, else 3600; never past the
    // role's maximum nor the IdP's SessionNotOnOrAfter.
    let requested = req.duration.is_some();
    let mut duration = req.duration.unwrap_or(attribute_duration.unwrap_or(3600));
    if duration > role.max_session_duration {
        if requested {
            return Err(StsError::Validation(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                    .into(),
            ));
        }
        duration = role.max_session_duration;
    }
    let mut lifetime = u64::from(duration);
    if let Some(end) = assertion.session_not_on_or_after() {
        let left = end.saturating_sub(crate::federation::saml::unix_now(now));
        lifetime = lifetime.min(u64::try_from(left).unwrap_or(0));
    }
    if lifetime == 0 {
        return Err(StsError::InvalidIdentityToken(
            "The SAML session has expired".into(),
        ));
    }

    let plan = crate::sts::plan::role_session_plan(
        role,
        session_name,
        Duration::from_secs(lifetime),
        (policy_text, policy_arns),
        tags,
    )?;
    Ok(SamlOutcome {
        plan: SessionPlan {
            source_identity: source_identity.map(str::to_owned),
            transitive_tag_keys: transitive,
            ..plan
        },
        subject: assertion.subject().to_owned(),
        subject_type: assertion.subject_type().to_owned(),
        issuer: assertion.issuer().to_owned(),
        audience: assertion.audience().to_owned(),
        name_qualifier: assertion.name_qualifier().to_owned(),
    })
}

/// The trust-policy context of a SAML request: the `saml:*` keys, attribute keys, request tags.
#[allow(clippy::too_many_arguments)]
fn trust_context(
    provider: &SamlProvider,
    a: &VerifiedAssertion,
    facts: &RequestFacts<'_>,
    session_name: &str,
    source_identity: Option<&str>,
    tags: &[Tag],
    transitive: &[String],
) -> Context {
    let mut ctx = crate::sts::request_context(facts);
    ctx.insert("saml:aud", a.audience())
        .insert("saml:iss", a.issuer())
        .insert("saml:sub", a.subject())
        .insert("saml:sub_type", a.subject_type())
        .insert("saml:namequalifier", a.name_qualifier())
        .insert("saml:doc", provider.doc.clone())
        .insert("aws:FederatedProvider", provider.arn.clone())
        .insert("sts:RoleSessionName", session_name);
    for (urn, friendly, key) in ATTRIBUTE_KEYS {
        let values: Vec<String> = [urn, friendly]
            .iter()
            .flat_map(|n| a.attribute(n).iter().cloned())
            .collect();
        if !values.is_empty() {
            ctx.insert_multi(key, values);
        }
    }
    crate::sts::policies::session_request_context(&mut ctx, source_identity, tags, transitive);
    ctx
}
