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
