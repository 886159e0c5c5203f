//! The SP's private keys ([`SpKeys`]): they decrypt EncryptedAssertions (`encrypted.rs`) and
//! sign the console's AuthnRequests; `config.rs` loads them.

use openssl::pkey::{PKey, Private};

/// The SP's private keys for encrypted assertions (first: current; others: during rotation).
#[derive(Clone, Default)]
pub struct SpKeys(pub(super) Vec<PKey<Private>>);

impl std::fmt::Debug for SpKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SpKeys({} keys)", self.0.len())
    }
}

impl SpKeys {
    /// No keys configured: encrypted assertions are refused.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sign `data` with the current SP key, RSA PKCS#1 v1.5 with SHA-256 (a signed
    /// AuthnRequest over the HTTP-Redirect binding). `None` without a key.
    pub fn sign_rsa_sha256(&self, data: &[u8]) -> Option<Vec<u8>> {
        let key = self.0.first()?;
        let mut signer =
            openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), key).ok()?;
        signer.update(data).ok()?;
        signer.sign_to_vec().ok()
    }
}
