//! Web console sign-in, below HTTP: which roles a verified SAML assertion or OIDC ID token may
//! take (the role picker's options), the sealed browser state of each step, the federation
//! endpoint's sign-in tokens, and where a browser may be sent. Pages and cookies are
//! `src/http/console/`; nothing here knows about actix.
//!
//! The flow: a verified identity (a `VerifiedAssertion` or `VerifiedIdToken`, which only
//! the validators build) becomes a list of [`RoleOption`]s, each already allowed by the role's
//! trust policy at that moment; the browser holds them sealed ([`PendingSignin`]) while the
//! person picks; the pick becomes a session minted as any STS call's, and the browser gets a
//! sealed [`ConsoleSession`] that names the session (AccessKeyId and session token) but never
//! holds the secret access key, which stays sealed in the session store.

pub mod browser;
pub mod error;
pub mod federation;
pub mod oidc_login;
pub mod saml_sp;
pub mod seal;
pub mod settings;
pub mod signin;

pub use crate::federation::oidc::RawOidcLogin;
pub use browser::{
    ConsoleSession, PendingSignin, RoleOption, SignedInVia, SigninToken, LOGIN_TTL, PICK_TTL,
    SIGNIN_TOKEN_TTL,
};
pub use error::ConsoleError;
pub use settings::{origin_of, ConsoleSettings, OidcLogin, RawConsole};
pub use signin::{oidc_options, oidc_session_name, pending, saml_options};

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
    let bad = || ConsoleError::SigninToken("The session credentials are not valid".into());
    let id = idbroker_session::AccessKeyId::parse(akid).map_err(|_| bad())?;
    if id.kind() != idbroker_session::AccessKeyKind::Temporary {
        return Err(bad());
    }
    let session = match store.get(&id, now).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(bad()),
        Err(_) => return Err(ConsoleError::Unavailable),
    };
    if session.is_expired(now) || !session.token_matches(token) {
        return Err(bad());
    }
    match store.is_revoked(&session).await {
        Ok(false) => {}
        Ok(true) => return Err(bad()),
        Err(_) => return Err(ConsoleError::Unavailable),
    }
    if let Some(secret) = secret {
        let stored = keys.unseal(&session.secret, &id).map_err(|_| bad())?;
        let same: bool = aws_lc_rs::constant_time::verify_slices_are_equal(
            stored.expose_secret().as_bytes(),
            secret.as_bytes(),
        )
        .is_ok();
        if !same {
            return Err(bad());
        }
    }
    if session.principal.kind != idbroker_session::PrincipalKind::AssumedRole {
        return Err(ConsoleError::SigninToken(
            "Only role session credentials can sign in to the console".into(),
        ));
    }
    Ok(session)
}
