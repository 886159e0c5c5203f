//! Console sign-in use cases: a verified SAML assertion or ID token becomes the roles the
//! person may take ([`RoleOption`]s, each decided as AssumeRoleWithSAML or
//! AssumeRoleWithWebIdentity would decide it now); the picked option becomes a session minted as
//! any STS call's.

use std::sync::Arc;
use std::time::SystemTime;

use tracing::instrument;

use crate::clock::epoch;
use crate::console::browser::{ConsoleSession, PendingSignin, RoleOption, SignedInVia, PICK_TTL};
use crate::console::error::ConsoleError;
use crate::console::oidc_login::{LoginState, OidcLogins};
use crate::console::saml_sp;
use crate::console::seal::{self, Purpose, Sealer};
use crate::console::settings::ConsoleSettings;
use crate::directory::Directory;
use crate::federation::oidc::VerifiedIdToken;
use crate::federation::saml::{InResponseTo, SamlProvider, VerifiedAssertion};
use crate::sts::mint::{mint, IssuedSession};
use crate::sts::{RequestFacts, RoleRequest, Services};

/// The roles a verified SAML assertion may take: each pair of its Role attribute naming this
/// provider, and each role a provider role mapping grants, kept when AssumeRoleWithSAML would
/// allow it now (trust policy, attributes, duration). `duration` is the console's default
/// when the assertion has no SessionDuration.
pub fn saml_options(
    dir: &Directory,
    provider: &SamlProvider,
    assertion: &VerifiedAssertion,
    facts: &RequestFacts<'_>,
    duration: u32,
) -> (Vec<RoleOption>, Vec<String>) {
    let candidates = crate::sts::assume_role_with_saml::granted_roles(assertion, provider);
    let has_duration = !assertion
        .attribute("https://aws.amazon.com/SAML/Attributes/SessionDuration")
        .is_empty();
    let mut options = Vec::new();
    let mut refusals = Vec::new();
    for role_arn in candidates {
        // The console's default duration (within the role's maximum) unless the assertion
        // says how long (SessionDuration).
        let duration = (!has_duration).then(|| {
            dir.role(&role_arn)
                .map_or(duration, |r| r.max_session_duration)
                .min(duration)
        });
        let req = RoleRequest {
            role_arn: &role_arn,
            duration,
            policy: None,
            policy_arns: Vec::new(),
        };
        match crate::sts::assume_role_with_saml::decide(dir, provider, assertion, &req, facts) {
            Ok(out) => options.extend(RoleOption::from_plan(&out.plan)),
            Err(e) => refusals.push(format!("{role_arn}: {e}")),
        }
    }
    (options, refusals)
}

/// A session name from an ID token: the email when the IdP verified it (`email_verified`; an
/// unverified one is whatever the user typed at the IdP, and would let them name their
/// session, in every log and audit record, after someone else's address), else the subject,
/// made a valid RoleSessionName
/// ([`crate::federation::oidc::session_name_from`]: kept as it is when it is one, else its
/// characters outside `[\w+=,.@-]` replaced and a digest of it appended).
pub fn oidc_session_name(token: &VerifiedIdToken) -> String {
    let claim = token.verified_email().unwrap_or(token.subject());
    crate::federation::oidc::session_name_from(claim)
}

/// The roles a verified ID token may take through console login: every role whose trust
/// policy lets the provider in for this token (and its claim rules, when the provider has
/// any), as AssumeRoleWithWebIdentity would decide now.
pub fn oidc_options(
    dir: &Directory,
    token: &VerifiedIdToken,
    facts: &RequestFacts<'_>,
    duration: u32,
) -> (Vec<RoleOption>, Vec<String>) {
    let session_name = oidc_session_name(token);
    let mut options = Vec::new();
    let mut refusals = Vec::new();
    for role in dir.roles() {
        let req = RoleRequest {
            role_arn: &role.arn,
            duration: Some(duration.min(role.max_session_duration)),
            policy: None,
            policy_arns: Vec::new(),
        };
        let decision = crate::sts::assume_role_with_web_identity::decide(
            dir,
            token,
            &session_name,
            &req,
            facts,
        );
        match decision {
            Ok(p) => options.extend(RoleOption::from_plan(&p.session)),
            Err(e) => refusals.push(format!("{}: {e}", role.arn)),
        }
    }
    (options, refusals)
}

/// Seal a pending sign-in for the picker.
pub fn pending(
    sealer: &Sealer,
    via: SignedInVia,
    to: Option<String>,
    options: Vec<RoleOption>,
    now: u64,
) -> Result<String, ConsoleError> {
    let p = PendingSignin {
        id: seal::random_hex(16)?,
        exp: now + PICK_TTL,
        via,
        to,
        options,
    };
    Ok(sealer.seal(Purpose::Pick, &p)?)
}

/// A person whose identity verified, and the roles they may take.
#[derive(Debug)]
pub struct SignIn {
    /// Who, according to which provider.
    pub via: SignedInVia,
    /// The roles allowed now.
    pub options: Vec<RoleOption>,
    /// Why each other candidate role was refused (for the log, not the person).
    pub refusals: Vec<String>,
}

/// SAML sign-in at the ACS: a response IdP-initiated, or answering an AuthnRequest this console
/// sent (its id is sealed: [`crate::console::saml_sp`]), verified, then the roles it allows,
/// for sessions of `duration` seconds unless the assertion says (SessionDuration) and never
/// more than a role's maximum.
#[instrument(level = "debug", skip_all)]
pub async fn saml_sign_in(
    sts: &Services<'_>,
    console: &ConsoleSettings,
    encoded: &str,
    facts: &RequestFacts<'_>,
    duration: u32,
) -> Result<SignIn, ConsoleError> {
    let now = facts.now;
    // Read once before verification, trusting nothing: the Issuer chooses the keys, and a
    // status that is not Success is the IdP telling the person something went wrong there
    // (often unsigned, without an assertion): say so, and grant nothing.
    let untrusted = crate::federation::saml::peek(encoded).unwrap_or_default();
    if let Some(failed) = untrusted.failed_status() {
        return Err(ConsoleError::Idp(format!(
            "Your identity provider could not sign you in (status {failed})"
        )));
    }
    let provider = untrusted.provider(sts.saml).ok_or_else(|| {
        ConsoleError::Identity(
            "The SAML response does not come from an identity provider idbroker trusts".into(),
        )
    })?;
    let now_s = epoch(now);
    let (sealer, arn) = (Arc::clone(&console.sealer), provider.arn.clone());
    let issued = move |id: &str| saml_sp::issued(&sealer, &arn, id, now_s);
    let verified = crate::federation::saml::verify(
        provider,
        sts.saml,
        encoded,
        InResponseTo::UnsolicitedOr(Arc::new(issued)),
        sts.store,
        now,
    )
    .await?;
    let (options, refusals) = saml_options(sts.directory, provider, &verified, facts, duration);
    Ok(SignIn {
        via: SignedInVia {
            provider: provider.arn.clone(),
            subject: verified.subject().to_owned(),
        },
        options,
        refusals,
    })
}

/// What the IdP sent back to the OIDC callback.
#[derive(Debug, Clone, Copy)]
pub struct OidcCallback<'a> {
    /// `state`, to match the login's.
    pub state: &'a str,
    /// `code`
    pub code: Option<&'a str>,
    /// `error`
    pub error: Option<&'a str>,
    /// `error_description`
    pub error_description: Option<&'a str>,
}

/// OIDC sign-in at the callback: the login this browser started (`login`, from its sealed
/// cookie; `None` when there is none), the callback's `state` matched, the code exchanged (with
/// the PKCE verifier), the ID token verified and bound to this login (issuer, audience, nonce),
/// then the roles it allows, for sessions of `duration` seconds (never more than a role's
/// maximum). `duration` is asked of the login: the console's default, or a CLI flow's.
#[instrument(level = "debug", skip_all)]
pub async fn oidc_sign_in(
    sts: &Services<'_>,
    console: &ConsoleSettings,
    logins: &OidcLogins,
    login: Option<&LoginState>,
    callback: OidcCallback<'_>,
    facts: &RequestFacts<'_>,
    duration: u32,
) -> Result<(SignIn, Option<String>), ConsoleError> {
    let now = facts.now;
    let expired = || {
        ConsoleError::Csrf(
            "This sign-in was not started here, or took too long. Start again.".into(),
        )
    };
    let login_state = login.ok_or_else(expired)?;
    if login_state.exp <= epoch(now) {
        return Err(expired());
    }
    if !seal::same(callback.state, &login_state.state) {
        return Err(expired());
    }
    if let Some(err) = callback.error {
        let desc = callback.error_description.unwrap_or_default();
        let shown: String = format!("{err}: {desc}").chars().take(300).collect();
        return Err(ConsoleError::Idp(format!(
            "The identity provider did not sign you in ({shown})"
        )));
    }
    let code = callback
        .code
        .ok_or_else(|| ConsoleError::BadRequest("The identity provider sent no code".into()))?;
    let provider = console
        .oidc_login(&login_state.provider)
        .ok_or_else(expired)?;
    let redirect = format!("{}/console/oidc/callback", console.public_url);
    let raw = logins
        .finish(provider, &redirect, login_state, code)
        .await?;
    let token = sts.oidc.verify(&raw, sts.store, now).await?;
    if token.issuer() != provider.issuer || token.audience() != provider.client_id {
        return Err(ConsoleError::Identity(
            "The ID token was not issued to idbroker's console".into(),
        ));
    }
    if !token
        .nonce()
        .is_some_and(|n| seal::same(&n, &login_state.nonce))
    {
        return Err(ConsoleError::Identity(
            "The ID token does not answer this sign-in (nonce)".into(),
        ));
    }
    let (options, refusals) = oidc_options(sts.directory, &token, facts, duration);
    let sign_in = SignIn {
        via: SignedInVia {
            provider: token.provider_arn().to_owned(),
            subject: token.subject().to_owned(),
        },
        options,
        refusals,
    };
    Ok((sign_in, login_state.to.clone()))
}

/// A console session started: the STS session minted for the chosen role, and the browser's
/// sealed cookie that names it.
#[derive(Debug)]
pub struct Started {
    /// The session and its credentials.
    pub session: IssuedSession,
    /// The sealed [`ConsoleSession`] (cookie `idb_console`).
    pub cookie: String,
    /// When the console session ends, epoch seconds.
    pub exp: u64,
}

/// What follows a sign-in.
#[derive(Debug)]
pub enum Next {
    /// One role: its session started.
    Started(Box<Started>),
    /// Several: the person picks; the sealed [`PendingSignin`] (cookie `idb_pick`).
    Pick(String),
}

/// The most a sealed pending sign-in may weigh (it travels as a cookie).
const MAX_PENDING_CHARS: usize = 3800;

/// After a sign-in: no role is an error, one role starts its session, several go to the picker.
pub async fn proceed(
    sts: &Services<'_>,
    console: &ConsoleSettings,
    sign_in: SignIn,
    to: Option<String>,
    now: SystemTime,
) -> Result<Next, ConsoleError> {
    let mut options = sign_in.options;
    match options.len() {
        0 => {
            tracing::info!(refusals = ?sign_in.refusals, "console sign-in: no role allowed");
            Err(ConsoleError::NoRole(
                "None of the roles your identity provider names would let you in.".into(),
            ))
        }
        1 => {
            let only = options.pop().ok_or(ConsoleError::Internal)?;
            Ok(Next::Started(Box::new(
                start(sts, console, &only, now).await?,
            )))
        }
        _ => {
            let sealed = pending(&console.sealer, sign_in.via, to, options, epoch(now))?;
            if sealed.len() > MAX_PENDING_CHARS {
                return Err(ConsoleError::BadRequest(
                    "Your identity provider allows more roles than the role picker can hold; ask your administrator to narrow them".into(),
                ));
            }
            Ok(Next::Pick(sealed))
        }
    }
}

/// The person's choice in the picker: the form must belong to the pending sign-in (`csrf`),
/// name one of its roles, and be the first choice made (single use across replicas).
pub async fn pick(
    sts: &Services<'_>,
    console: &ConsoleSettings,
    pending: &PendingSignin,
    csrf: &str,
    role: Option<&str>,
    now: SystemTime,
) -> Result<Started, ConsoleError> {
    if !seal::same(csrf, &pending.id) {
        return Err(ConsoleError::Csrf(
            "The form does not belong to this sign-in.".into(),
        ));
    }
    let role = role.ok_or_else(|| ConsoleError::BadRequest("No role was chosen".into()))?;
    let option = pending
        .options
        .iter()
        .find(|o| o.role == role)
        .ok_or_else(|| ConsoleError::NoRole("That role is not one you may take.".into()))?;
    // One session per sign-in: the pick is single use across replicas.
    match sts
        .store
        .use_once("pick", &pending.id, pending.exp, epoch(now))
        .await
    {
        Ok(()) => {}
        Err(idbroker_session::SessionError::Replay) => {
            return Err(ConsoleError::Csrf(
                "This role choice was already made.".into(),
            ))
        }
        Err(_) => return Err(ConsoleError::Unavailable),
    }
    start(sts, console, option, now).await
}

/// Mint the session of `option` (as any STS call's) and seal the browser's console session.
async fn start(
    sts: &Services<'_>,
    console: &ConsoleSettings,
    option: &RoleOption,
    now: SystemTime,
) -> Result<Started, ConsoleError> {
    start_plan(sts, console, option.plan(sts.directory)?, now).await
}

/// Mint the session `plan` describes (a role's, or an IAM user's signed in with a password)
/// and seal the browser's console session that names it.
pub async fn start_plan(
    sts: &Services<'_>,
    console: &ConsoleSettings,
    plan: crate::sts::SessionPlan,
    now: SystemTime,
) -> Result<Started, ConsoleError> {
    let session = mint(sts, plan, now).await?;
    let exp = epoch(session.credentials.expiration());
    let cs = ConsoleSession {
        akid: session.credentials.access_key_id().to_owned(),
        token: session.credentials.session_token().to_owned(),
        exp,
        csrf: seal::random_hex(16)?,
        issuer: None,
    };
    let cookie = console.sealer.seal(Purpose::Console, &cs)?;
    Ok(Started {
        session,
        cookie,
        exp,
    })
}

/// A sign-in of `subject` through `provider` allowing roles `R0`..`R{n-1}` of account 1 (unit
/// tests of the flows that follow a sign-in).
#[cfg(test)]
pub(crate) fn test_sign_in(provider: &str, subject: &str, n: usize) -> SignIn {
    SignIn {
        via: SignedInVia {
            provider: provider.into(),
            subject: subject.into(),
        },
        options: (0..n)
            .map(|i| RoleOption {
                role: format!("arn:aws:iam::1:role/R{i}"),
                name: subject.into(),
                secs: 3600,
                si: None,
                tags: Vec::new(),
                tt: Vec::new(),
            })
            .collect(),
        refusals: Vec::new(),
    }
}
