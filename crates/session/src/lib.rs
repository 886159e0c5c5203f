//! `idbroker-session`: temporary credentials and where they live.
//!
//! - [`credentials`]: AWS-shaped access key ids (`ASIA…` / `AKIA…`), secret access keys and
//!   session tokens from the AWS-LC CSPRNG; secrets zeroized on drop and redacted in `Debug`.
//! - [`seal`]: the secret access key is sealed (AES-256-GCM, random nonce, key id for rotation,
//!   the access key id as associated data) before it is stored; the session token is stored only
//!   as its SHA-256 ([`TokenHash`]), compared in constant time.
//! - [`Session`]: the stored record, versioned JSON (`"v": 1`).
//! - [`authn`]: the one check of a presented temporary credential ([`authenticate`]: access key
//!   id, session token, proof of the secret, expiry, revocation) → [`VerifiedSession`].
//! - [`SessionStore`]: [`RedisStore`] (standalone or cluster) or [`MemoryStore`]; open one from a
//!   [`SessionStoreConfig`] with [`connect`]. A session is usable only after `put` returned `Ok`;
//!   a store that cannot be reached answers [`SessionError::Unavailable`], never a guess.
//!   [`SessionStore::list_sessions`] lists the live sessions of a role, principal or source
//!   identity, a page ([`SessionPage`]) at a time.
//!
//! **Time** is passed in everywhere, as seconds since the Unix epoch (`u64`), the resolution of
//! AWS's own `aws:TokenIssueTime` and `Expiration`; [`unix_seconds`] converts a `SystemTime`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod authn;
pub mod credentials;
mod error;
pub mod seal;
mod session;
mod store;

use std::time::{SystemTime, UNIX_EPOCH};

pub use authn::{
    authenticate, temporary_key_id, Credential, OpenedSession, Refusal, Secret, SecretMismatch,
    TokenAndSecret, TokenOnly, VerifiedSession,
};
pub use credentials::{AccessKeyId, AccessKeyKind, SecretAccessKey, SessionToken, TokenHash};
pub use error::SessionError;
pub use seal::{SealedSecret, SealingKeys};
pub use session::{
    PolicyRefs, Principal, PrincipalKind, RevocationScope, Session, SessionTag, RECORD_VERSION,
};
pub use store::{
    connect, take, Admission, FeedNews, ListPosition, LocalBuckets, MemoryStore, RateBucket,
    RateLimit, RedisOptions, RedisStore, RevocationEvent, RevocationFeed, SessionPage,
    SessionStore, SessionStoreConfig, MAX_BUCKET_NAME, MAX_HANDOFF_BYTES, MAX_PAGE_SIZE,
};

/// Seconds since the Unix epoch; times before the epoch are 0.
pub fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn unix_seconds_truncates_and_saturates() {
        assert_eq!(unix_seconds(UNIX_EPOCH + Duration::from_millis(1_999)), 1);
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_secs(5)), 0);
    }

    #[test]
    fn error_messages_are_fixed_text() {
        for e in [
            SessionError::Unavailable,
            SessionError::NotFound,
            SessionError::Corrupt,
            SessionError::Sealing,
            SessionError::Unsealing,
            SessionError::Replay,
            SessionError::Expired,
            SessionError::Entropy,
            SessionError::Invalid("access key id"),
        ] {
            let msg = e.to_string();
            assert!(!msg.is_empty());
            assert!(msg.is_ascii(), "{msg}");
        }
    }
}
