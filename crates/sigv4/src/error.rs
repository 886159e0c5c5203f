//! The one error type of the crate.

/// Why a request's signature is not acceptable.
///
/// Each variant is one STS error code ([`SigV4Error::sts_code`]). Messages are safe to show to
/// clients: they never contain a secret, a signature (provided or computed), the canonical
/// request or the string to sign; they say in general terms what was wrong. Where they quote the
/// request, it is only values already validated (dates, a header name from a checked list).
///
/// The codes of the caller's own checks (`InvalidClientTokenId` for an unknown key or a token that
/// does not belong, `ExpiredToken` for expired credentials) are not here: this crate does not
/// know keys or sessions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    /// No signature at all: neither an `Authorization` header nor `X-Amz-*` query parameters.
    /// STS code `MissingAuthenticationToken` (HTTP 403).
    #[error("Request is missing Authentication Token")]
    Missing,
    /// The signature is malformed or incomplete (a missing or duplicated part, a bad date, a
    /// credential scope that does not match, `host` not signed, ...); the message says which.
    /// STS code `IncompleteSignature` (HTTP 400).
    #[error("{0}")]
    Incomplete(String),
    /// Outside the allowed clock skew (header form), past `X-Amz-Expires` or with an
    /// `X-Amz-Expires` over seven days (presigned form).
    /// STS code `RequestExpired` (HTTP 400).
    #[error("{0}")]
    Expired(String),
    /// The signature does not match the request (wrong secret, a changed signed part, a body that
    /// does not match its declared SHA-256). STS code `SignatureDoesNotMatch` (HTTP 403).
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")]
    Mismatch,
}

impl SigV4Error {
    /// The STS error code for this error.
    pub fn sts_code(&self) -> &'static str {
        match self {
            SigV4Error::Missing => "MissingAuthenticationToken",
            SigV4Error::Incomplete(_) => "IncompleteSignature",
            SigV4Error::Expired(_) => "RequestExpired",
            SigV4Error::Mismatch => "SignatureDoesNotMatch",
        }
    }

    /// The HTTP status AWS answers this error with.
    pub fn http_status(&self) -> u16 {
        match self {
            SigV4Error::Missing | SigV4Error::Mismatch => 403,
            SigV4Error::Incomplete(_) | SigV4Error::Expired(_) => 400,
        }
    }
}

pub(crate) fn incomplete(msg: impl Into<String>) -> SigV4Error {
    SigV4Error::Incomplete(msg.into())
}
