//! Why a web identity token is refused ([`OidcError`]) and the answers a caller reads: AWS's
//! "not a valid JWT" for a malformed token, and [`NOT_VERIFIED`] for every refusal that would
//! otherwise tell an unauthenticated caller which issuers, algorithms and keys are trusted.

use super::jwk::SigFailure;

pub(super) const NOT_A_JWT: &str =
    "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)";
/// The one answer for every refusal, before the signature has verified, that depends on the
/// configuration: an issuer with no provider, an algorithm the provider does not allow, a key
/// id it does not have, a signature its keys do not verify. An unauthenticated caller learns
/// from it neither which issuers are trusted nor anything of their keys (AWS itself names the
/// unknown issuer: "No OpenIDConnect provider found in your account for ..."; idbroker does
/// not). The cause is logged at debug level.
pub const NOT_VERIFIED: &str = "The web identity token could not be verified";

/// Why a web identity token was refused. Only `http::error` turns these into STS errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// Malformed, badly signed, unknown issuer, wrong audience, not yet valid, replayed.
    #[error("{0}")]
    InvalidToken(String),
    /// `exp` (plus leeway) is before `now`.
    #[error(
        "Token expired: current date/time {now} must be before the expiration date/time {exp}"
    )]
    Expired {
        /// Now, seconds since the epoch.
        now: u64,
        /// The token's `exp`.
        exp: u64,
    },
    /// The token is valid, but its claims do not allow the role (claim rules, groups overage).
    #[error("{0}")]
    RejectedClaim(String),
    /// The provider's keys could not be had (and no usable last good keys were kept).
    #[error("{0}")]
    Communication(String),
    /// The single-use record of `jti` could not be written: nothing is issued.
    #[error("the session store is unavailable")]
    StoreUnavailable,
}

pub(super) fn invalid(msg: impl Into<String>) -> OidcError {
    OidcError::InvalidToken(msg.into())
}

/// The answer to a signature failure: [`NOT_VERIFIED`] for every failure that depends on the
/// provider's keys and algorithms (which would otherwise tell a caller without a valid token
/// what they are), AWS's "not a valid JWT" for the token's own form.
pub(super) fn signature_refusal(f: &SigFailure) -> OidcError {
    match f {
        SigFailure::UnknownKey
        | SigFailure::Invalid(
            "signature"
            | "algorithm not allowed"
            | "the key of this kid does not allow this alg"
            | "more than one key has this kid",
        ) => invalid(NOT_VERIFIED),
        SigFailure::Invalid(_) => invalid(NOT_A_JWT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_key_independent_signature_failures_say_what_they_are() {
        for f in [
            SigFailure::UnknownKey,
            SigFailure::Invalid("signature"),
            SigFailure::Invalid("algorithm not allowed"),
            SigFailure::Invalid("the key of this kid does not allow this alg"),
            SigFailure::Invalid("more than one key has this kid"),
        ] {
            assert_eq!(signature_refusal(&f), invalid(NOT_VERIFIED), "{f:?}");
        }
        assert_eq!(
            signature_refusal(&SigFailure::Invalid("header encoding")),
            invalid(NOT_A_JWT)
        );
    }
}
