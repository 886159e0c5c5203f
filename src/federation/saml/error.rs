//! Why a SAML response is refused ([`SamlError`]), and the one answer to a signature that no
//! trusted key verifies.

/// The answer to a signature that does not verify with any trusted key (and to an unknown
/// provider, which has none).
pub const SIGNATURE_DOES_NOT_VERIFY: &str =
    "the signature does not verify with the provider's certificates";

/// Why a SAML response was refused. Messages describe the input, never idbroker's insides.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamlError {
    /// Over 100,000 characters (or under 4).
    #[error("SAMLAssertion must be 4 to 100000 characters")]
    Size,
    /// Not base64, not UTF-8, not XML, not a SAML Response, or outside the profile idbroker
    /// accepts (declarations, several assertions, signatures in the wrong place, ...).
    #[error("Invalid SAML response: {0}")]
    Malformed(&'static str),
    /// No signature, a signature that does not verify with a trusted certificate, or one with
    /// an algorithm the provider does not allow.
    #[error("Invalid SAML response: {0}")]
    Signature(&'static str),
    /// Issuer, audience, recipient, destination, status or InResponseTo is not what this
    /// provider and this service expect.
    #[error("{0}")]
    Rejected(String),
    /// Not yet valid (NotBefore, IssueInstant in the future).
    #[error("{0}")]
    NotYetValid(&'static str),
    /// Expired (NotOnOrAfter, SessionNotOnOrAfter, IssueInstant too old).
    #[error("{0}")]
    Expired(&'static str),
    /// The assertion was used before.
    #[error("The SAML assertion has already been used")]
    Replayed,
    /// The session store did not answer: nothing is issued.
    #[error("the session store is unavailable")]
    StoreUnavailable,
    /// Every signature-check slot stayed busy, or the check did not finish, within the
    /// configured time (`saml.max_concurrent_checks`, `saml.check_timeout_ms`).
    #[error("the service is busy")]
    Overloaded,
}
