//! What every family of IAM calls shares besides the directory: the call table's entries
//! ([`Call`], [`Effect`]), what a call knows ([`Context`]: its time, its caller, how secrets are
//! sealed and passwords hashed), and how IAM writes times. A file of its own: the families import
//! it, and `iam/mod.rs` (which names the families through `calls.rs`) only re-exports it.

use std::time::SystemTime;

use super::IamError;
use crate::settings::SecretRef;

/// The XML namespace of IAM's answers.
pub const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
/// The one API version.
pub const VERSION: &str = "2010-05-08";

/// Does a call read the directory or change it?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads only.
    Read,
    /// Changes the directory (refused on a read-only, file-backed directory).
    Write,
}

/// Seals a new access key's secret (AAD: the key id) with the active sealing key.
pub type Sealer<'a> = dyn Fn(&str, &str) -> Result<SecretRef, IamError> + Sync + 'a;

/// Seals a new virtual MFA device's seed and opens a stored one, bound to the device's serial
/// number (the server's: the `[sealing]` keys, `impl SeedVault for SealingKeys`).
pub trait SeedVault: Sync {
    /// Seal `seed` for the device `serial`.
    fn seal(&self, serial: &str, seed: &[u8]) -> Result<SecretRef, IamError>;
    /// Open the seed `sealed` of the device `serial`.
    fn open(
        &self,
        serial: &str,
        sealed: &SecretRef,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, IamError>;
}

impl SeedVault for idbroker_session::SealingKeys {
    fn seal(&self, serial: &str, seed: &[u8]) -> Result<SecretRef, IamError> {
        crate::directory::sealed::seal_seed(self, serial, seed).map_err(|e| {
            tracing::error!(error = %e, "a virtual MFA device's seed could not be sealed");
            IamError::ServiceFailure("The virtual MFA device could not be created.".into())
        })
    }

    fn open(
        &self,
        serial: &str,
        sealed: &SecretRef,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, IamError> {
        let text = sealed.sealed.as_deref().unwrap_or_default();
        crate::directory::sealed::open_seed(self, serial, text).map_err(|e| {
            tracing::error!(serial, error = %e, "a virtual MFA device's seed could not be opened");
            IamError::ServiceFailure("The MFA device's codes cannot be checked.".into())
        })
    }
}

/// Hashes new console passwords and checks given ones (the server's: `[passwords]`, argon2id,
/// `impl Passwords for crate::password::Hasher`).
pub trait Passwords: Sync {
    /// The hash to keep for `password`.
    fn hash(&self, password: &str) -> Result<String, IamError>;
    /// Does `password` match `hash`?
    fn verify(&self, hash: &str, password: &str) -> bool;
}

impl Passwords for crate::password::Hasher {
    fn hash(&self, password: &str) -> Result<String, IamError> {
        crate::password::Hasher::hash(self, password).map_err(|e| {
            tracing::error!(error = %e, "a password could not be hashed");
            IamError::ServiceFailure("The password could not be set.".into())
        })
    }

    fn verify(&self, hash: &str, password: &str) -> bool {
        crate::password::Hasher::verify(self, hash, password)
    }
}

/// What a call knows besides its parameters and the directory.
pub struct Context<'a> {
    /// The call's time.
    pub now: SystemTime,
    /// The caller's user name when the caller is an IAM user (or a session of one): calls
    /// whose `UserName` is optional (GetUser, CreateAccessKey, ListAccessKeys, ...) act on it.
    pub caller_user: Option<&'a str>,
    /// Seals new access keys' secrets.
    pub seal: &'a Sealer<'a>,
    /// Seals new MFA devices' seeds, opens stored ones (to check EnableMFADevice's codes).
    pub seeds: &'a dyn SeedVault,
    /// Hashes new passwords, checks old ones.
    pub passwords: &'a dyn Passwords,
    /// OpenID Connect providers may have `http://` loopback URLs (tests only).
    pub loopback_providers: bool,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("now", &self.now)
            .field("caller_user", &self.caller_user)
            .finish_non_exhaustive()
    }
}

/// A known call: its name, effect, and the resource its authorization names.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// `CreateRole`, ... (also the policy action `iam:CreateRole`).
    pub action: &'static str,
    /// Read or write.
    pub effect: Effect,
}

/// A timestamp as IAM writes it (`2026-12-06T15:04:05Z`).
pub fn timestamp(at: SystemTime) -> String {
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(0))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}
