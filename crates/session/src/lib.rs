//! `idbroker-session`: temporary credentials and where they live.
//!
//! - [`credentials`]: AWS-shaped access key ids, secrets and session tokens from the OS CSPRNG.
//! - [`seal`]: the secret access key is sealed (AES-256-GCM, key id for rotation, the access key
//!   id as associated data) before it is stored; the session token is stored only as a hash.
//! - [`Session`]: the stored record.
//! - [`SessionStore`]: Redis or in-memory. A session is usable only after `put` returned `Ok`;
//!   a store that cannot be reached answers [`SessionError::Unavailable`], never a guess.
//!
//! Times are seconds since the Unix epoch, passed in by the caller.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod credentials;
pub mod seal;
mod store;

pub use store::{MemoryStore, RedisStore, SessionStore};

use serde::{Deserialize, Serialize};

/// What can go wrong with sessions.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The store did not answer in time or refused: nothing was stored or read.
    #[error("session store unavailable")]
    Unavailable,
    /// A stored record could not be read.
    #[error("session record is corrupt")]
    Corrupt,
    /// A secret could not be sealed or unsealed (unknown key id, tampering, wrong record).
    #[error("sealed secret cannot be opened")]
    Sealing,
    /// The id was used before (a replayed assertion or token).
    #[error("already used")]
    Replay,
    /// The session is already expired.
    #[error("session already expired")]
    Expired,
}

/// The kind of principal a session stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum SessionPrincipal {
    /// A role session (AssumeRole*).
    AssumedRole {
        /// The role's ARN, with its path.
        role_arn: String,
        /// The role's name.
        role_name: String,
        /// The session name.
        session_name: String,
    },
    /// A user's session (GetSessionToken).
    User {
        /// The user's name.
        user_name: String,
    },
}

/// A session tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTag {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// A stored session. Version 1 of the record; new fields are added with defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Record version.
    pub v: u32,
    /// `ASIA...`
    pub access_key_id: String,
    /// The secret access key, sealed.
    pub secret: seal::SealedSecret,
    /// SHA-256 of the session token, hex.
    pub token_sha256: String,
    /// Who the session is.
    pub principal: SessionPrincipal,
    /// `arn:aws:sts::A:assumed-role/R/S` or the user's ARN.
    pub arn: String,
    /// `AROA...:S` or the user's id.
    pub user_id: String,
    /// The account.
    pub account: String,
    /// Source identity.
    #[serde(default)]
    pub source_identity: Option<String>,
    /// Session tags.
    #[serde(default)]
    pub tags: Vec<SessionTag>,
    /// Transitive tag keys.
    #[serde(default)]
    pub transitive_tag_keys: Vec<String>,
    /// Inline session policy (JSON text).
    #[serde(default)]
    pub session_policy: Option<String>,
    /// Managed session policy ARNs.
    #[serde(default)]
    pub session_policy_arns: Vec<String>,
    /// The access key id of the session that assumed this one (role chaining).
    #[serde(default)]
    pub parent_access_key_id: Option<String>,
    /// Issued at (seconds since the epoch).
    pub issued_at: u64,
    /// Expires at (seconds since the epoch).
    pub expires_at: u64,
}

impl Session {
    /// Does `token` belong to this session? Constant-time.
    pub fn token_matches(&self, token: &str) -> bool {
        use subtle::ConstantTimeEq;
        let h = credentials::token_sha256(token);
        h.as_bytes().ct_eq(self.token_sha256.as_bytes()).into()
    }

    /// Expired at `now`?
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_at
    }
}
