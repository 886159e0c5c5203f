//! Why the development IdP did not answer: [`DevIdpError`] for its pages (an error page),
//! [`TokenError`] for its token endpoint (OAuth 2.0's JSON error, RFC 6749 section 5.2).

use crate::console::seal::SealError;

/// Why a page of the development IdP could not go on.
#[derive(Debug, thiserror::Error)]
pub enum DevIdpError {
    /// The development IdP does not serve this (its SAML or OIDC side is not configured).
    #[error("{0}")]
    NotServed(String),
    /// The request is not one the development IdP answers (malformed, or for another ACS,
    /// client or redirect URI): said on a page, never redirected anywhere.
    #[error("{0}")]
    BadRequest(String),
    /// A form that was not made here, or has expired.
    #[error("{0}")]
    Expired(String),
    /// Something that should not happen (signing failed).
    #[error("internal error")]
    Internal,
}

impl From<SealError> for DevIdpError {
    fn from(_: SealError) -> Self {
        DevIdpError::Internal
    }
}

/// Why the token endpoint refused (RFC 6749 section 5.2).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// `invalid_request`: a parameter is missing or malformed.
    #[error("invalid_request: {0}")]
    InvalidRequest(&'static str),
    /// `invalid_client`: the client is unknown or its secret wrong.
    #[error("invalid_client")]
    InvalidClient,
    /// `invalid_grant`: the code is not valid, expired, used, or not this client's, redirect
    /// URI's or verifier's.
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    /// `unsupported_grant_type`.
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    /// The session store (single use) cannot answer.
    #[error("temporarily_unavailable")]
    Unavailable,
    /// Signing failed.
    #[error("server_error")]
    Internal,
}

impl TokenError {
    /// The `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::InvalidRequest(_) => "invalid_request",
            TokenError::InvalidClient => "invalid_client",
            TokenError::InvalidGrant(_) => "invalid_grant",
            TokenError::UnsupportedGrantType => "unsupported_grant_type",
            TokenError::Unavailable => "temporarily_unavailable",
            TokenError::Internal => "server_error",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            TokenError::InvalidClient => 401,
            TokenError::Unavailable => 503,
            TokenError::Internal => 500,
            _ => 400,
        }
    }

    /// What `error_description` says (never anything internal).
    pub fn description(&self) -> &'static str {
        match self {
            TokenError::InvalidRequest(d) | TokenError::InvalidGrant(d) => d,
            TokenError::InvalidClient => "client authentication failed",
            TokenError::UnsupportedGrantType => "only authorization_code",
            TokenError::Unavailable => "try again",
            TokenError::Internal => "the token could not be made",
        }
    }
}
