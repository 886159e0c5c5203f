//! Why the console could not sign someone in, below HTTP (`src/http/error.rs` makes each a
//! page that tells the person what to do).

use crate::console::seal::SealError;
use crate::sts::StsError;

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
    /// An IAM user's sign-in refused: unknown account or user, no console password, or a wrong
    /// password (one answer for all, so that it says nothing of who exists).
    #[error("Your authentication information is incorrect. Please try again.")]
    Credentials,
    /// A wrong, expired or reused MFA code at sign-in.
    #[error("The MFA code is not valid. Wait for a new code and try again.")]
    MfaCode,
    /// A new password that was refused (the account's password policy, or the two entries
    /// differ); the message says why.
    #[error("{0}")]
    NewPassword(String),
    /// A password that expired under the policy's HardExpiry: only an administrator can reset it.
    #[error("Your password has expired. Ask your administrator to reset it.")]
    PasswordExpired,
    /// Too many sign-ins from this address (or for this provider) in a short time.
    #[error("Rate exceeded")]
    Throttled,
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

impl From<crate::throttle::ThrottleError> for ConsoleError {
    fn from(e: crate::throttle::ThrottleError) -> Self {
        StsError::from(e).into()
    }
}

impl From<StsError> for ConsoleError {
    fn from(e: StsError) -> Self {
        match e {
            StsError::Unavailable => ConsoleError::Unavailable,
            StsError::Throttled => ConsoleError::Throttled,
            StsError::Internal => ConsoleError::Internal,
            StsError::Saml(e) => e.into(),
            StsError::WebIdentity(e) => e.into(),
            other => ConsoleError::NoRole(other.to_string()),
        }
    }
}

/// A SAML response the ACS refused: expired ones say so (the person starts again); the store
/// or the check threads unavailable is the service's fault; anything else is a refused
/// identity, with the same words as AssumeRoleWithSAML's answer.
impl From<crate::federation::saml::SamlError> for ConsoleError {
    fn from(e: crate::federation::saml::SamlError) -> Self {
        use crate::federation::saml::SamlError;
        match e {
            SamlError::Expired(m) => ConsoleError::Expired(m.to_string()),
            SamlError::StoreUnavailable | SamlError::Overloaded => ConsoleError::Unavailable,
            SamlError::Size => ConsoleError::Identity(
                "1 validation error detected: Value at 'SAMLAssertion' failed to satisfy constraint: Member must have length less than or equal to 100000".into(),
            ),
            other => ConsoleError::Identity(other.to_string()),
        }
    }
}

/// An ID token the OIDC callback refused.
impl From<crate::federation::oidc::OidcError> for ConsoleError {
    fn from(e: crate::federation::oidc::OidcError) -> Self {
        use crate::federation::oidc::OidcError;
        match e {
            OidcError::Expired { .. } => ConsoleError::Expired("The ID token has expired".into()),
            OidcError::StoreUnavailable => ConsoleError::Unavailable,
            other => ConsoleError::Identity(other.to_string()),
        }
    }
}

/// Why a command-line sign-in call (`/console/cli/token`, `/console/cli/credentials`,
/// `/console/device/authorize`) was refused: OAuth's error codes (RFC 6749 5.2, RFC 8628
/// 3.5), which `src/http/error.rs` renders as `{"error", "error_description"}`.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A parameter is missing or malformed.
    #[error("{0}")]
    InvalidRequest(String),
    /// The code, ticket or device code is not valid, expired, used, or not answered by the
    /// verifier.
    #[error("{0}")]
    InvalidGrant(String),
    /// A `grant_type` this endpoint does not know.
    #[error("{0}")]
    UnsupportedGrantType(String),
    /// The device's person has not signed in yet (poll again).
    #[error("The sign-in is not finished yet")]
    AuthorizationPending,
    /// The device polls faster than its interval.
    #[error("Polling too fast: wait longer between requests")]
    SlowDown,
    /// The device code expired before the person signed in.
    #[error("The device code has expired: start again")]
    ExpiredToken,
    /// The person's sign-in allows no such role, or none at all.
    #[error("{0}")]
    AccessDenied(String),
    /// What the console's sign-in would answer (the store unavailable, throttled, ...).
    #[error("{0}")]
    Console(#[from] ConsoleError),
}

impl From<StsError> for CliError {
    fn from(e: StsError) -> Self {
        match ConsoleError::from(e) {
            ConsoleError::NoRole(m) => CliError::AccessDenied(m),
            other => CliError::Console(other),
        }
    }
}

impl From<crate::throttle::ThrottleError> for CliError {
    fn from(e: crate::throttle::ThrottleError) -> Self {
        CliError::Console(e.into())
    }
}
