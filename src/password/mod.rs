//! Console passwords, the pure part: hashing with argon2id ([`Hasher`], parameters from
//! `[passwords]`) and the account password policy's rules ([`policy`]). No IO; no clock (the
//! callers give the time).
//!
//! Invariants, enforced here:
//! - A password is only ever kept as an argon2id PHC string (`$argon2id$v=19$m=...`): salt
//!   (16 random bytes from aws-lc-rs) and parameters travel with the hash, so raising the
//!   parameters in the configuration does not lock anyone out, and a stored hash made with other
//!   parameters still verifies. [`is_hash`] is what the directory and its store check before they
//!   keep a value as a password.
//! - Nothing longer than [`MAX_PASSWORD_BYTES`] is hashed or verified (IAM's limit, and a bound
//!   on the work an outsider can ask for).
//! - [`Hasher::verify`] does the same work whether or not there is a hash to check against
//!   ([`Hasher::verify_absent`] derives the password's argon2id output with the configured
//!   parameters and throws it away): a sign-in for an unknown user costs what a wrong password
//!   does.
//! - Passwords pass through [`Zeroizing`] buffers and are never logged (`Debug` is withheld).

pub mod policy;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::Deserialize;
use zeroize::Zeroizing;

/// IAM's longest password, in bytes (also the most the server will hash).
pub const MAX_PASSWORD_BYTES: usize = 128;

/// The least memory `[passwords] memory_kib` may name.
pub const MIN_MEMORY_KIB: u32 = 7_168;

/// `[passwords]` as written.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPasswords {
    /// argon2id memory, KiB (default 19456: OWASP's 19 MiB).
    #[serde(default = "default_memory")]
    pub memory_kib: u32,
    /// argon2id passes (default 2).
    #[serde(default = "default_iterations")]
    pub iterations: u32,
    /// argon2id lanes (default 1).
    #[serde(default = "default_parallelism")]
    pub parallelism: u32,
    /// Hashes computed at once by the server, the rest wait (default 2): a flood of sign-ins
    /// cannot take every core.
    #[serde(default = "default_concurrent")]
    pub max_concurrent: u32,
}

fn default_memory() -> u32 {
    19_456
}
fn default_iterations() -> u32 {
    2
}
fn default_parallelism() -> u32 {
    1
}
fn default_concurrent() -> u32 {
    2
}

impl Default for RawPasswords {
    fn default() -> Self {
        RawPasswords {
            memory_kib: default_memory(),
            iterations: default_iterations(),
            parallelism: default_parallelism(),
            max_concurrent: default_concurrent(),
        }
    }
}

/// Why a password could not be hashed, or a hash could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// `[passwords]` parameters argon2 refuses.
    #[error("passwords: {0}")]
    Params(String),
    /// No randomness for a salt.
    #[error("passwords: no randomness for a salt")]
    Random,
    /// The password is longer than [`MAX_PASSWORD_BYTES`].
    #[error("the password is longer than {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    /// Hashing failed.
    #[error("passwords: the password could not be hashed")]
    Hash,
}

/// argon2id with the configured parameters.
#[derive(Clone)]
pub struct Hasher {
    params: Params,
    /// The most hashes at once (`[passwords] max_concurrent`).
    pub max_concurrent: usize,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("m_cost", &self.params.m_cost())
            .field("t_cost", &self.params.t_cost())
            .field("p_cost", &self.params.p_cost())
            .finish_non_exhaustive()
    }
}

impl Hasher {
    /// The hasher of `raw` (its parameters checked: argon2's bounds, and at least
    /// [`MIN_MEMORY_KIB`]).
    pub fn new(raw: &RawPasswords) -> Result<Hasher, PasswordError> {
        if raw.memory_kib < MIN_MEMORY_KIB {
            return Err(PasswordError::Params(format!(
                "memory_kib must be at least {MIN_MEMORY_KIB} (OWASP's least, with 5 passes)"
            )));
        }
        if !(1..=64).contains(&raw.max_concurrent) {
            return Err(PasswordError::Params(
                "max_concurrent must be 1..=64".into(),
            ));
        }
        let params = Params::new(raw.memory_kib, raw.iterations, raw.parallelism, None)
            .map_err(|e| PasswordError::Params(e.to_string()))?;
        Ok(Hasher {
            params,
            max_concurrent: usize::try_from(raw.max_concurrent).unwrap_or(2),
        })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hash `password` with a new random salt: an argon2id PHC string.
    pub fn hash(&self, password: &str) -> Result<String, PasswordError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordError::TooLong);
        }
        let mut salt = [0u8; 16];
        aws_lc_rs::rand::fill(&mut salt).map_err(|_| PasswordError::Random)?;
        let salt = SaltString::encode_b64(&salt).map_err(|_| PasswordError::Hash)?;
        self.argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|_| PasswordError::Hash)
    }

    /// Does `password` match `hash`? (argon2 compares in constant time.) A hash that is not
    /// argon2id, or a password too long, is no match.
    pub fn verify(&self, hash: &str, password: &str) -> bool {
        if password.len() > MAX_PASSWORD_BYTES || !is_hash(hash) {
            // Still do the work, so that the answer's time says nothing.
            self.verify_absent(password);
            return false;
        }
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        self.argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    }

    /// The work of [`Hasher::verify`] with no hash to check against: the password's argon2id
    /// output (the configured parameters, a fixed salt) computed and thrown away. Always false.
    pub fn verify_absent(&self, password: &str) -> bool {
        let bounded = password
            .as_bytes()
            .get(..MAX_PASSWORD_BYTES)
            .unwrap_or(password.as_bytes());
        let mut out = Zeroizing::new([0u8; 32]);
        let _ = self
            .argon2()
            .hash_password_into(bounded, b"idbroker-nobody!", out.as_mut_slice());
        false
    }
}

/// Is `s` an argon2id PHC string (what idbroker keeps as a password, never a password itself)?
pub fn is_hash(s: &str) -> bool {
    s.starts_with("$argon2id$")
        && PasswordHash::new(s)
            .is_ok_and(|h| h.algorithm.as_str() == "argon2id" && h.hash.is_some())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn fast() -> Hasher {
        Hasher::new(&RawPasswords {
            memory_kib: MIN_MEMORY_KIB,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
        })
        .unwrap()
    }

    #[test]
    fn hashes_verify_and_differ_by_salt() {
        let h = fast();
        let a = h.hash("correct horse").unwrap();
        let b = h.hash("correct horse").unwrap();
        assert_ne!(a, b, "each hash has its own salt");
        assert!(a.starts_with("$argon2id$v=19$m=7168,t=1,p=1$"));
        assert!(is_hash(&a));
        assert!(h.verify(&a, "correct horse"));
        assert!(!h.verify(&a, "correct horsE"));
        assert!(!h.verify(&a, ""));
    }

    #[test]
    fn a_hash_made_with_other_parameters_still_verifies() {
        let old = fast().hash("pw-1234").unwrap();
        let stronger = Hasher::new(&RawPasswords {
            memory_kib: 8192,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 1,
        })
        .unwrap();
        assert!(stronger.verify(&old, "pw-1234"));
    }

    #[test]
    fn clear_text_and_other_algorithms_are_not_hashes() {
        let h = fast();
        for s in [
            "",
            "hunter2",
            "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
            "$argon2id$",
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ",
            "$2b$12$abcdefghijklmnopqrstuuF6y9JG9Qe4tY2Wh0e3x2ZW8n1v2W3",
        ] {
            assert!(!is_hash(s), "{s}");
            // A stored value that is not a hash never matches, even itself.
            assert!(!h.verify(s, s), "{s}");
        }
    }

    #[test]
    fn too_long_is_refused_and_never_matches() {
        let h = fast();
        let long = "a".repeat(MAX_PASSWORD_BYTES + 1);
        assert_eq!(h.hash(&long), Err(PasswordError::TooLong));
        let ok = h.hash(&"a".repeat(MAX_PASSWORD_BYTES)).unwrap();
        assert!(!h.verify(&ok, &long));
        assert!(h.verify(&ok, &"a".repeat(MAX_PASSWORD_BYTES)));
    }

    #[test]
    fn nobody_matches_the_absent_hash() {
        let h = fast();
        assert!(!h.verify_absent(""));
        assert!(!h.verify_absent("anything"));
    }

    #[test]
    fn weak_or_bad_parameters_are_refused() {
        assert!(Hasher::new(&RawPasswords {
            memory_kib: 64,
            ..RawPasswords::default()
        })
        .is_err());
        assert!(Hasher::new(&RawPasswords {
            memory_kib: MIN_MEMORY_KIB,
            iterations: 0,
            parallelism: 1,
            max_concurrent: 1,
        })
        .is_err());
        assert!(Hasher::new(&RawPasswords {
            max_concurrent: 0,
            ..RawPasswords::default()
        })
        .is_err());
    }
}
