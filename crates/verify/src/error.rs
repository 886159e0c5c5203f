//! The verifier's errors, with the codes and HTTP statuses AWS answers them with.

use idbroker_session::Refusal;
use idbroker_sigv4::SigV4Error;

/// Why a request was not verified or not authorized. Messages are fixed text (or the signature
/// parser's own description of what is malformed); they never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No signature at all. `MissingAuthenticationToken` (403).
    #[error("Request is missing Authentication Token")]
    MissingAuthenticationToken,
    /// A malformed signature, or one scoped to another service or region. `IncompleteSignature`
    /// (400).
    #[error("{0}")]
    IncompleteSignature(String),
    /// Signed outside the allowed clock skew, or a presigned URL past its expiry.
    /// `RequestExpired` (400).
    #[error("{0}")]
    RequestExpired(String),
    /// The signature does not match the request. `SignatureDoesNotMatch` (403).
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")]
    SignatureDoesNotMatch,
    /// Unknown, revoked or non-idbroker access key id, or a session token that does not belong
    /// to it. `InvalidClientTokenId` (403).
    #[error("The security token included in the request is invalid.")]
    InvalidClientTokenId,
    /// The session has expired. `ExpiredToken` (403).
    #[error("The security token included in the request is expired")]
    ExpiredToken,
    /// The session's policies do not allow the action. `AccessDenied` (403).
    #[error("User: {principal} is not authorized to perform: {action} on resource: {resource}")]
    AccessDenied {
        /// The caller's ARN.
        principal: String,
        /// The action asked for.
        action: String,
        /// The resource asked for.
        resource: String,
    },
    /// The request's signature covers its body (it is not an `UNSIGNED-PAYLOAD` signature) and
    /// the verifier was shown neither the body nor its hash ([`crate::Payload::Unsigned`]): it
    /// cannot tell the body the client signed from any other, so it verifies nothing.
    /// `IncompleteSignature` (400). A service that sees this should pass the body
    /// ([`crate::Payload::Bytes`]) or its SHA-256 ([`crate::Payload::Sha256Hex`]); one that never
    /// reads bodies should require `UNSIGNED-PAYLOAD` signatures of its clients.
    #[error("The request's signature covers its body, which was not shown to the verifier: only an UNSIGNED-PAYLOAD signature verifies without the body or its SHA-256.")]
    BodyHashRequired,
    /// The session store could not answer: nothing is accepted (fail closed).
    /// `ServiceUnavailable` (503).
    #[error("Service is unable to handle request.")]
    ServiceUnavailable,
}

impl VerifyError {
    /// The AWS error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingAuthenticationToken => "MissingAuthenticationToken",
            Self::IncompleteSignature(_) | Self::BodyHashRequired => "IncompleteSignature",
            Self::RequestExpired(_) => "RequestExpired",
            Self::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            Self::InvalidClientTokenId => "InvalidClientTokenId",
            Self::ExpiredToken => "ExpiredToken",
            Self::AccessDenied { .. } => "AccessDenied",
            Self::ServiceUnavailable => "ServiceUnavailable",
        }
    }

    /// The HTTP status.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::IncompleteSignature(_) | Self::BodyHashRequired | Self::RequestExpired(_) => 400,
            Self::ServiceUnavailable => 503,
            _ => 403,
        }
    }

    /// `Sender` or `Receiver` (the `<Type>` of an AWS error document).
    pub fn fault(&self) -> &'static str {
        match self {
            Self::ServiceUnavailable => "Receiver",
            _ => "Sender",
        }
    }

    /// The AWS query-protocol error document.
    pub fn to_xml(&self) -> String {
        format!(
            "<ErrorResponse><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error></ErrorResponse>",
            self.fault(),
            self.code(),
            xml_escape(&self.to_string())
        )
    }
}

impl From<SigV4Error> for VerifyError {
    fn from(e: SigV4Error) -> Self {
        match e {
            SigV4Error::Missing => Self::MissingAuthenticationToken,
            SigV4Error::Incomplete(m) => Self::IncompleteSignature(m),
            SigV4Error::Expired(m) => Self::RequestExpired(m),
            SigV4Error::Mismatch => Self::SignatureDoesNotMatch,
        }
    }
}

/// A session's refusal ([`idbroker_session::authn`]), as AWS answers it: the session's
/// existence is not revealed (unknown, revoked, a token that is not its own, a secret this
/// verifier cannot open: all `InvalidClientTokenId`).
impl From<Refusal<SigV4Error>> for VerifyError {
    fn from(r: Refusal<SigV4Error>) -> Self {
        match r {
            Refusal::NotTemporary
            | Refusal::Unknown
            | Refusal::TokenMismatch
            | Refusal::Unsealable
            | Refusal::Revoked => Self::InvalidClientTokenId,
            Refusal::Proof(e) => e.into(),
            Refusal::Expired => Self::ExpiredToken,
            Refusal::Unavailable => Self::ServiceUnavailable,
        }
    }
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A policy directory that could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// A policy document is invalid.
    #[error("policy {id}: {source}")]
    Policy {
        /// The policy's ARN or name.
        id: String,
        /// What is wrong.
        source: idbroker_policy::PolicyError,
    },
    /// A managed policy ARN that was never added.
    #[error("unknown managed policy {0}")]
    UnknownPolicy(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_is_escaped_and_codes_are_aws() {
        let e = VerifyError::AccessDenied {
            principal: "arn:aws:sts::1:assumed-role/R/<x>".into(),
            action: "s3:GetObject".into(),
            resource: "*".into(),
        };
        let xml = e.to_xml();
        assert!(xml.contains("<Code>AccessDenied</Code>"), "{xml}");
        assert!(xml.contains("&lt;x&gt;"), "{xml}");
        assert_eq!(VerifyError::ServiceUnavailable.http_status(), 503);
        assert_eq!(
            VerifyError::from(SigV4Error::Mismatch).code(),
            "SignatureDoesNotMatch"
        );
    }
}
