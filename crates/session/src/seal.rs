//! Sealing of secret access keys at rest: AES-256-GCM with a random 96-bit nonce, the key id
//! stored beside the ciphertext (rotation), and the access key id as associated data, so a
//! sealed secret copied into another record does not open.

use std::collections::HashMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::SessionError;

/// A sealed secret, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    /// Which key sealed it.
    pub key_id: String,
    /// Base64 nonce (12 bytes).
    pub nonce: String,
    /// Base64 ciphertext with its tag.
    pub ciphertext: String,
}

/// The sealing keys: one active key for new secrets, older ones still opening old secrets.
pub struct SealingKeys {
    active: String,
    keys: HashMap<String, Zeroizing<[u8; 32]>>,
}

impl std::fmt::Debug for SealingKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealingKeys")
            .field("active", &self.active)
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SealingKeys {
    /// A keyring whose active key is `id`. `key` must be 32 bytes.
    pub fn new(id: &str, key: &[u8]) -> Result<Self, SessionError> {
        let mut k = SealingKeys {
            active: id.to_owned(),
            keys: HashMap::new(),
        };
        k.add(id, key)?;
        Ok(k)
    }

    /// A keyring with a fresh random key (secrets then do not survive a restart).
    pub fn ephemeral() -> Result<Self, SessionError> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut()).map_err(|_| SessionError::Unavailable)?;
        Self::new("ephemeral", key.as_ref())
    }

    /// Add a key that opens older secrets.
    pub fn add(&mut self, id: &str, key: &[u8]) -> Result<(), SessionError> {
        let key: [u8; 32] = key.try_into().map_err(|_| SessionError::Sealing)?;
        self.keys.insert(id.to_owned(), Zeroizing::new(key));
        Ok(())
    }

    fn cipher(&self, id: &str) -> Result<Aes256Gcm, SessionError> {
        let key = self.keys.get(id).ok_or(SessionError::Sealing)?;
        Ok(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.as_ref())))
    }

    /// Seal `secret` for the record of `access_key_id`.
    pub fn seal(&self, secret: &str, access_key_id: &str) -> Result<SealedSecret, SessionError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|_| SessionError::Unavailable)?;
        let ct = self
            .cipher(&self.active)?
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: access_key_id.as_bytes(),
                },
            )
            .map_err(|_| SessionError::Sealing)?;
        Ok(SealedSecret {
            key_id: self.active.clone(),
            nonce: data_encoding::BASE64.encode(&nonce),
            ciphertext: data_encoding::BASE64.encode(&ct),
        })
    }

    /// Open a sealed secret of the record of `access_key_id`.
    pub fn unseal(
        &self,
        sealed: &SealedSecret,
        access_key_id: &str,
    ) -> Result<Zeroizing<String>, SessionError> {
        let nonce = data_encoding::BASE64
            .decode(sealed.nonce.as_bytes())
            .map_err(|_| SessionError::Sealing)?;
        if nonce.len() != 12 {
            return Err(SessionError::Sealing);
        }
        let ct = data_encoding::BASE64
            .decode(sealed.ciphertext.as_bytes())
            .map_err(|_| SessionError::Sealing)?;
        let plain = Zeroizing::new(
            self.cipher(&sealed.key_id)?
                .decrypt(
                    Nonce::from_slice(&nonce),
                    Payload {
                        msg: &ct,
                        aad: access_key_id.as_bytes(),
                    },
                )
                .map_err(|_| SessionError::Sealing)?,
        );
        String::from_utf8(plain.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| SessionError::Sealing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_rotation_and_tamper() {
        let old = SealingKeys::new("k1", &[1u8; 32]).unwrap();
        let s = old.seal("secret", "ASIAAAAAAAAAAAAAAAAA").unwrap();
        assert_eq!(s.key_id, "k1");
        assert_eq!(*old.unseal(&s, "ASIAAAAAAAAAAAAAAAAA").unwrap(), "secret");
        // Another record's id as associated data: refused.
        assert!(old.unseal(&s, "ASIABBBBBBBBBBBBBBBB").is_err());
        // Rotation: the new active key seals, the old one still opens.
        let mut new = SealingKeys::new("k2", &[2u8; 32]).unwrap();
        new.add("k1", &[1u8; 32]).unwrap();
        assert_eq!(*new.unseal(&s, "ASIAAAAAAAAAAAAAAAAA").unwrap(), "secret");
        assert_eq!(new.seal("x", "ASIAAAAAAAAAAAAAAAAA").unwrap().key_id, "k2");
        // Unknown key id, tampered ciphertext: refused.
        let lone = SealingKeys::new("k2", &[2u8; 32]).unwrap();
        assert!(lone.unseal(&s, "ASIAAAAAAAAAAAAAAAAA").is_err());
        let mut t = s.clone();
        t.ciphertext = data_encoding::BASE64.encode(&[0u8; 22]);
        assert!(old.unseal(&t, "ASIAAAAAAAAAAAAAAAAA").is_err());
        // Short keys are refused; Debug shows no key bytes.
        assert!(SealingKeys::new("k", &[0u8; 16]).is_err());
        assert!(!format!("{old:?}").contains("[1, 1"));
    }
}
