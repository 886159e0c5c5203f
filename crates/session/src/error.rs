//! The crate's one error type.

/// What can go wrong with credentials, sealing and the session store.
///
/// Messages are fixed strings: they never carry a secret, a token, a key, a store URL or any
/// other input, so they are safe to log and to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The store could not be reached, timed out, or refused the operation. Nothing is known:
    /// no credential may be issued or accepted (the server answers 503 `ServiceUnavailable`).
    #[error("session store unavailable")]
    Unavailable,
    /// There is no such session (for example when revoking an unknown or expired one).
    #[error("session not found")]
    NotFound,
    /// A stored record could not be read (unknown version, bad JSON, wrong record under a key).
    #[error("stored session record is corrupt")]
    Corrupt,
    /// A secret could not be sealed.
    #[error("secret could not be sealed")]
    Sealing,
    /// A sealed secret could not be opened: unknown key id, wrong key, tampered ciphertext, or a
    /// sealed secret that belongs to another access key id.
    #[error("sealed secret could not be opened")]
    Unsealing,
    /// The id was used before: a replayed SAML assertion or JWT, or an access key id that is (or
    /// was) already in use.
    #[error("already used")]
    Replay,
    /// The session or single-use record would already be expired at the time given.
    #[error("already expired")]
    Expired,
    /// The operating system's random number generator failed: no credential can be made.
    #[error("random number generator failed")]
    Entropy,
    /// A value given to this crate is malformed; the text names which (never its content).
    #[error("invalid {0}")]
    Invalid(&'static str),
}
