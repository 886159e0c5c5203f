//! The use cases' error: what can go wrong, in AWS's terms; `http::error` renders it.

/// What can go wrong in a use case. Only `http::error` turns these into STS error responses.
#[derive(Debug, thiserror::Error)]
pub enum StsError {
    /// A required parameter is absent.
    #[error("The request must contain the parameter {0}")]
    MissingParameter(String),
    /// A parameter breaks its constraint (AWS's wording).
    #[error("{0}")]
    Validation(String),
    /// A parameter value is malformed.
    #[error("{0}")]
    InvalidParameterValue(String),
    /// Policies deny.
    #[error("{0}")]
    AccessDenied(String),
    /// A session policy is invalid.
    #[error("{0}")]
    MalformedPolicy(String),
    /// Session policies and tags are too large.
    #[error("{0}")]
    PackedPolicyTooLarge(String),
    /// The action (or version) is unknown; the message names them.
    #[error("{0}")]
    InvalidAction(String),
    /// A federated identity's claims are unusable (a SAML attribute out of its constraints).
    #[error("{0}")]
    InvalidIdentityToken(String),
    /// The identity provider's claims do not allow the requested role.
    #[error("{0}")]
    IdpRejectedClaim(String),
    /// `PrincipalArn` names no configured SAML provider. Answered as an assertion whose
    /// signature does not verify (an unauthenticated caller learns nothing of which providers
    /// exist); the audit event says which it was.
    #[error(
        "{}",
        crate::federation::saml::SamlError::Signature(
            crate::federation::saml::SIGNATURE_DOES_NOT_VERIFY
        )
    )]
    UnknownSamlProvider,
    /// The SAML assertion was refused (or could not be checked).
    #[error(transparent)]
    Saml(#[from] crate::federation::saml::SamlError),
    /// The web identity token was refused (or its keys could not be fetched).
    #[error(transparent)]
    WebIdentity(#[from] crate::federation::oidc::OidcError),
    /// A rate limit: the caller's (or its provider's, or its address's) bucket is empty.
    #[error("Rate exceeded")]
    Throttled,
    /// The session store did not accept or answer.
    #[error("the service is unavailable")]
    Unavailable,
    /// Something that should not happen.
    #[error("internal failure")]
    Internal,
}

impl From<crate::throttle::ThrottleError> for StsError {
    fn from(e: crate::throttle::ThrottleError) -> Self {
        match e {
            crate::throttle::ThrottleError::Limited { .. } => StsError::Throttled,
            crate::throttle::ThrottleError::Unavailable => StsError::Unavailable,
        }
    }
}

impl StsError {
    /// What the audit event should say beyond the client's answer, when that says less than an
    /// operator needs.
    pub fn audit_detail(&self) -> Option<&'static str> {
        match self {
            StsError::UnknownSamlProvider => Some("unknown SAML provider (PrincipalArn)"),
            _ => None,
        }
    }
}
