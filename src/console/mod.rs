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
pub mod cli_flow;
pub mod device;
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
pub use error::{CliError, ConsoleError};
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
    let session = check_session(store, keys, akid, secret, token, now).await?;
    if session.principal.kind != idbroker_session::PrincipalKind::AssumedRole {
        return Err(ConsoleError::SigninToken(
            "Only role session credentials can sign in to the console".into(),
        ));
    }
    Ok(session)
}

/// Check a session's credentials against the store: it exists, is neither expired nor revoked,
/// and its token (and its secret, when given) match. Any kind of session: a console session
/// names a role's, or an IAM user's signed in with a password.
pub async fn check_session(
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
    Ok(session)
}
