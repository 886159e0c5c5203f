//! Web console sign-in, below HTTP: which roles a verified SAML assertion or OIDC ID token may
//! take (the role picker's options), the sealed browser state of each step, the federation
//! endpoint's sign-in tokens, and where a browser may be sent. Pages and cookies are
//! `src/http/console/`; nothing here knows about actix.
//!
//! The flow: a verified identity (a [`VerifiedAssertion`] or [`VerifiedIdToken`], which only
//! the validators build) becomes a list of [`RoleOption`]s, each already allowed by the role's
//! trust policy at that moment; the browser holds them sealed ([`PendingSignin`]) while the
//! person picks; the pick becomes a session minted as any STS call's, and the browser gets a
//! sealed [`ConsoleSession`] that names the session (AccessKeyId and session token) but never
//! holds the secret access key, which stays sealed in the session store.

pub mod oidc_login;
pub mod saml_sp;
pub mod seal;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::directory::Directory;
use crate::federation::oidc::VerifiedIdToken;
use crate::federation::saml::{SamlProvider, VerifiedAssertion};
use crate::settings::SecretRef;
use crate::sts::{RequestFacts, RoleRequest, SessionPlan, StsError, Tag};
use seal::{Purpose, SealError, Sealer};

/// How long the role picker waits for a choice.
pub const PICK_TTL: u64 = 300;
/// How long an OIDC login or SP-initiated SAML request may take at the IdP.
pub const LOGIN_TTL: u64 = 600;
/// A federation sign-in token's life (AWS: the sign-in URL is valid for 15 minutes).
pub const SIGNIN_TOKEN_TTL: u64 = 900;

/// `[console]`, as written.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConsole {
    /// The URL browsers reach idbroker at.
    pub public_url: Option<String>,
    /// Origins the browser may be sent to after sign-in.
    #[serde(default)]
    pub allowed_destinations: Vec<String>,
    /// 32 bytes, base64: seals cookies and sign-in tokens.
    pub cookie_key: Option<SecretRef>,
    /// Default console session length, seconds.
    pub session_duration_seconds: Option<u32>,
    /// Sign SP-initiated AuthnRequests with the SAML SP key.
    #[serde(default)]
    pub sign_authn_requests: bool,
}

pub use crate::federation::oidc::RawOidcLogin;

/// A provider the console signs people in with (OIDC authorization code flow with PKCE).
#[derive(Clone)]
pub struct OidcLogin {
    /// Short name.
    pub name: String,
    /// Shown name.
    pub display_name: String,
    /// The provider's issuer (its `[[oidc_providers]]` entry validates the ID token).
    pub issuer: String,
    /// Client ID.
    pub client_id: String,
    /// Client secret.
    pub client_secret: Option<zeroize::Zeroizing<String>>,
    /// Scopes (with `openid`).
    pub scopes: Vec<String>,
    /// Plain HTTP allowed on loopback (tests).
    pub allow_http_loopback: bool,
    /// Bound on each request to the provider.
    pub fetch_timeout: Duration,
}

impl std::fmt::Debug for OidcLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcLogin")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// `[console]`, validated.
#[derive(Debug)]
pub struct ConsoleSettings {
    /// Base URL, without a trailing slash.
    pub public_url: String,
    /// Cookies get `Secure` (the public URL is HTTPS).
    pub secure_cookies: bool,
    /// Origins (`scheme://host[:port]`) the browser may be sent to, idbroker's own first.
    pub allowed_origins: Vec<String>,
    /// The pages' Content-Security-Policy (forms may post to the allowed origins).
    pub csp: String,
    /// Seals browser state.
    pub sealer: Arc<Sealer>,
    /// The key was generated at start (warned about).
    pub ephemeral_key: bool,
    /// Console session length when the IdP does not say.
    pub session_duration: u32,
    /// Sign AuthnRequests.
    pub sign_authn_requests: bool,
    /// OIDC providers with console login.
    pub oidc_logins: Vec<Arc<OidcLogin>>,
}

/// The origin of an absolute http(s) URL, lower-case, default port dropped; `None` for
/// anything else (relative, other schemes, user info).
pub fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    if !matches!(u.scheme(), "http" | "https") || !u.username().is_empty() || u.password().is_some()
    {
        return None;
    }
    let origin = u.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

impl ConsoleSettings {
    /// Validate `[console]` (`default_url` is what `server.listen` implies).
    pub fn build(
        raw: &RawConsole,
        default_url: &str,
        key: Option<&[u8]>,
        oidc_logins: Vec<Arc<OidcLogin>>,
    ) -> Result<ConsoleSettings, (String, String)> {
        let public_url = raw
            .public_url
            .clone()
            .unwrap_or_else(|| default_url.to_owned())
            .trim_end_matches('/')
            .to_owned();
        let own = origin_of(&public_url).ok_or_else(|| {
            (
                "console.public_url".to_owned(),
                "must be an absolute http:// or https:// URL".to_owned(),
            )
        })?;
        let mut allowed_origins = vec![own];
        for (i, d) in raw.allowed_destinations.iter().enumerate() {
            let o = origin_of(d).ok_or_else(|| {
                (
                    format!("console.allowed_destinations[{i}]"),
                    format!("{d:?} is not an absolute http:// or https:// URL"),
                )
            })?;
            if !allowed_origins.contains(&o) {
                allowed_origins.push(o);
            }
        }
        let (sealer, ephemeral_key) = match key {
            Some(k) => (
                Sealer::new(k).map_err(|e| ("console.cookie_key".to_owned(), e))?,
                false,
            ),
            None => (
                Sealer::ephemeral().map_err(|e| ("console.cookie_key".to_owned(), e))?,
                true,
            ),
        };
        let session_duration = raw.session_duration_seconds.unwrap_or(3600);
        if !(900..=43_200).contains(&session_duration) {
            return Err((
                "console.session_duration_seconds".into(),
                "must be 900..43200".into(),
            ));
        }
        let mut form_action = String::from("'self'");
        for o in allowed_origins.iter().skip(1) {
            form_action.push(' ');
            form_action.push_str(o);
        }
        Ok(ConsoleSettings {
            csp: format!(
                "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
            ),
            secure_cookies: public_url.starts_with("https://"),
            public_url,
            allowed_origins,
            sealer: Arc::new(sealer),
            ephemeral_key,
            session_duration,
            sign_authn_requests: raw.sign_authn_requests,
            oidc_logins,
        })
    }

    /// Where a browser may go after sign-in: an absolute URL on an allowed origin, or a path
    /// on idbroker itself (`/...`, never `//...`). Returns the absolute URL.
    pub fn destination(&self, target: &str) -> Option<String> {
        if target.starts_with('/') && !target.starts_with("//") && !target.contains('\\') {
            return Some(format!("{}{target}", self.public_url));
        }
        let origin = origin_of(target)?;
        self.allowed_origins
            .contains(&origin)
            .then(|| target.to_owned())
    }

    /// The console's own landing page.
    pub fn landing(&self) -> String {
        format!("{}/console", self.public_url)
    }

    /// The OIDC login provider named `name`.
    pub fn oidc_login(&self, name: &str) -> Option<&Arc<OidcLogin>> {
        self.oidc_logins.iter().find(|l| l.name == name)
    }
}

/// One role a person may take, already allowed by its trust policy when the options were made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RoleOption {
    /// Role ARN.
    pub role: String,
    /// Session name.
    pub name: String,
    /// Session length, seconds.
    pub secs: u64,
    /// Source identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub si: Option<String>,
    /// Session tags (key, value).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
    /// Transitive tag keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tt: Vec<String>,
}

impl RoleOption {
    fn from_plan(plan: &SessionPlan) -> Option<RoleOption> {
        let (role, _, name) = plan.role.clone()?;
        Some(RoleOption {
            role,
            name,
            secs: plan.duration.as_secs(),
            si: plan.source_identity.clone(),
            tags: plan
                .tags
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect(),
            tt: plan.transitive_tag_keys.clone(),
        })
    }

    /// The session to mint for this option. The trust decision was taken when the option was
    /// made; this only rebuilds the session's fields (and fails if the role is gone).
    pub fn plan(&self, dir: &Directory) -> Result<SessionPlan, StsError> {
        let role = dir.role(&self.role).ok_or_else(|| {
            StsError::AccessDenied(format!("The role {} no longer exists", self.role))
        })?;
        let tags = self
            .tags
            .iter()
            .map(|(k, v)| Tag {
                key: k.clone(),
                value: v.clone(),
            })
            .collect();
        let mut plan = crate::sts::plan::role_session_plan(
            dir,
            role,
            &self.name,
            Duration::from_secs(self.secs),
            (None, &[]),
            tags,
        )?;
        plan.source_identity = self.si.clone();
        plan.transitive_tag_keys = self.tt.clone();
        Ok(plan)
    }
}

/// Who signed in, for the pages and the audit log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SignedInVia {
    /// The provider's ARN.
    pub provider: String,
    /// The subject it vouched for.
    pub subject: String,
}

/// A sign-in waiting for the person to pick a role (cookie `idb_pick`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignin {
    /// Also the CSRF token of the picker form.
    pub id: String,
    /// Expiry, epoch seconds.
    pub exp: u64,
    /// The identity.
    pub via: SignedInVia,
    /// Where to go after sign-in (an allowed destination).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The roles allowed.
    pub options: Vec<RoleOption>,
}

/// A signed-in browser (cookie `idb_console`): names the session, never holds its secret.
#[derive(Serialize, Deserialize)]
pub struct ConsoleSession {
    /// The session's AccessKeyId.
    pub akid: String,
    /// Its session token (checked against the stored hash on every page).
    pub token: String,
    /// When the console session ends, epoch seconds (never after the credentials').
    pub exp: u64,
    /// CSRF token of the console's forms.
    pub csrf: String,
    /// Federation login: where the person came from (`Issuer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

impl std::fmt::Debug for ConsoleSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleSession")
            .field("akid", &self.akid)
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

/// A federation sign-in token's content (sealed; single use by `id`).
#[derive(Serialize, Deserialize)]
pub struct SigninToken {
    /// Single-use id.
    pub id: String,
    /// Issued at, epoch seconds.
    pub iat: u64,
    /// The session's AccessKeyId.
    pub akid: String,
    /// Its session token.
    pub token: String,
    /// When the console session must end, epoch seconds.
    pub exp: u64,
}

impl std::fmt::Debug for SigninToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigninToken")
            .field("akid", &self.akid)
            .field("iat", &self.iat)
            .finish_non_exhaustive()
    }
}

/// Why the console could not sign someone in. Each becomes an error page (src/http/console)
/// that tells the person what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The SAML response or ID token was refused.
    #[error("{0}")]
    Identity(String),
    /// It had expired.
    #[error("{0}")]
    Expired(String),
    /// No role is allowed.
    #[error("{0}")]
    NoRole(String),
    /// The IdP answered with an error, or could not be reached.
    #[error("{0}")]
    Idp(String),
    /// A sign-in link or token that is invalid, used or expired.
    #[error("{0}")]
    SigninToken(String),
    /// A destination that is not allowed.
    #[error("{0}")]
    Destination(String),
    /// Missing or malformed input.
    #[error("{0}")]
    BadRequest(String),
    /// A form without its CSRF token, or an expired form.
    #[error("{0}")]
    Csrf(String),
    /// The session store cannot be reached.
    #[error("the session store is unavailable")]
    Unavailable,
    /// Something that should not happen.
    #[error("internal error")]
    Internal,
}

impl From<SealError> for ConsoleError {
    fn from(_: SealError) -> Self {
        ConsoleError::Internal
    }
}

impl From<StsError> for ConsoleError {
    fn from(e: StsError) -> Self {
        match e {
            StsError::Unavailable => ConsoleError::Unavailable,
            StsError::Internal => ConsoleError::Internal,
            StsError::Saml(crate::federation::saml::SamlError::StoreUnavailable)
            | StsError::WebIdentity(crate::federation::oidc::OidcError::StoreUnavailable) => {
                ConsoleError::Unavailable
            }
            other => ConsoleError::NoRole(other.to_string()),
        }
    }
}

/// The roles a verified SAML assertion may take: each pair of its Role attribute naming this
/// provider, and each role a provider role mapping grants, kept when AssumeRoleWithSAML would
/// allow it now (trust policy, attributes, duration). `duration` is the console's default
/// when the assertion has no SessionDuration.
pub fn saml_options(
    dir: &Directory,
    provider: &SamlProvider,
    assertion: &VerifiedAssertion,
    facts: &RequestFacts,
    now: SystemTime,
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
        match crate::sts::assume_role_with_saml::decide(dir, provider, assertion, &req, facts, now)
        {
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
    facts: &RequestFacts,
    now: SystemTime,
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
            now,
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

/// Check a federation `Session` parameter's credentials against the store: the session
/// exists, is a role session, is neither expired nor revoked, and both its secret and its
/// token match. Returns its expiry (epoch seconds).
pub async fn check_credentials(
    store: &dyn idbroker_session::SessionStore,
    keys: &idbroker_session::SealingKeys,
    akid: &str,
    secret: Option<&str>,
    token: &str,
    now: u64,
) -> Result<idbroker_session::Session, ConsoleError> {
    // Anything refused is one answer; a store that cannot answer, another.
    fn refused<E>(r: idbroker_session::Refusal<E>) -> ConsoleError {
        match r {
            idbroker_session::Refusal::Unavailable => ConsoleError::Unavailable,
            _ => ConsoleError::SigninToken("The session credentials are not valid".into()),
        }
    }
    // idbroker_session's one check: session, token, the secret when given (constant time),
    // expiry, revocation.
    let verified = match secret {
        Some(secret) => {
            let credential = idbroker_session::TokenAndSecret { token, secret };
            idbroker_session::authenticate(store, keys, akid, credential, now)
                .await
                .map_err(refused)
        }
        None => {
            let credential = idbroker_session::TokenOnly(token);
            idbroker_session::authenticate(store, keys, akid, credential, now)
                .await
                .map_err(refused)
        }
    };
    let (session, ()) = verified?.into_parts();
    if session.principal.kind != idbroker_session::PrincipalKind::AssumedRole {
        return Err(ConsoleError::SigninToken(
            "Only role session credentials can sign in to the console".into(),
        ));
    }
    Ok(session)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn settings() -> ConsoleSettings {
        let raw = RawConsole {
            allowed_destinations: vec!["https://app.example.com/anything".into()],
            ..RawConsole::default()
        };
        ConsoleSettings::build(&raw, "https://idb.example.com/", Some(&[1u8; 32]), vec![]).unwrap()
    }

    #[test]
    fn destinations_are_allowed_origins_or_own_paths() {
        let s = settings();
        assert_eq!(s.public_url, "https://idb.example.com");
        assert!(s.secure_cookies);
        assert_eq!(
            s.destination("/console").as_deref(),
            Some("https://idb.example.com/console")
        );
        assert!(s.destination("https://app.example.com/x?y=1").is_some());
        assert!(s.destination("https://APP.example.com:443/x").is_some());
        for bad in [
            "//evil.example/x",
            "/\\evil.example",
            "https://evil.example/",
            "https://app.example.com.evil.example/",
            "https://user@app.example.com/",
            "http://app.example.com/",
            "javascript:alert(1)",
            "data:text/html,x",
            "app.example.com",
            "",
        ] {
            assert_eq!(s.destination(bad), None, "{bad}");
        }
    }

    #[test]
    fn settings_refuse_bad_values() {
        let raw = RawConsole {
            allowed_destinations: vec!["not a url".into()],
            ..RawConsole::default()
        };
        assert!(ConsoleSettings::build(&raw, "http://127.0.0.1:8080", None, vec![]).is_err());
        let raw = RawConsole {
            session_duration_seconds: Some(60),
            ..RawConsole::default()
        };
        assert!(ConsoleSettings::build(&raw, "http://127.0.0.1:8080", None, vec![]).is_err());
        let raw = RawConsole::default();
        let s = ConsoleSettings::build(&raw, "http://127.0.0.1:8080", None, vec![]).unwrap();
        assert!(s.ephemeral_key && !s.secure_cookies);
    }
}
