//! Sealing of secrets at rest: secret access keys, and virtual MFA devices' seeds.
//!
//! AES-256-GCM (AWS-LC) with a random 96-bit nonce per secret. The key id is stored beside the
//! ciphertext so keys can rotate: [`SealingKeys`] holds one active key that seals, and older keys
//! that still open what they sealed. The associated data is a fixed label (one per kind of
//! secret) followed by what the secret belongs to: the session's access key id, so a sealed
//! secret copied into another session's record does not open; or the MFA device's serial number,
//! so a seed moved to another device does not open, and a seed is never taken for a secret key.
//!
//! Key material lives only inside AWS-LC's key objects, which clear it when they are freed; the
//! bytes handed to [`SealingKeys::new`] are the caller's to zeroize.

use std::collections::HashMap;
use std::fmt;

use aws_lc_rs::aead::{Aad, Nonce, RandomizedNonceKey, AES_256_GCM, NONCE_LEN};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::credentials::{AccessKeyId, SecretAccessKey};
use crate::SessionError;

/// Length of a sealing key: 32 raw bytes (AES-256). Configured as base64 by the server.
pub const KEY_LEN: usize = 32;
const TAG_LEN: usize = 16;
/// Label in front of the access key id in the associated data: binds the ciphertext to its
/// purpose and format version as well as to its session.
const AAD_LABEL: &[u8] = b"idbroker/session-secret/v1\0";
/// The label of a virtual MFA device's seed, followed by the device's serial number.
const MFA_SEED_LABEL: &[u8] = b"idbroker/mfa-seed/v1\0";

fn aad(label: &[u8], owner: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(label.len() + owner.len());
    aad.extend_from_slice(label);
    aad.extend_from_slice(owner.as_bytes());
    aad
}

/// A sealed secret, as stored: `{"kid": …, "nonce": base64, "ct": base64}` (ciphertext with its
/// 16-byte tag). Built only by [`SealingKeys::seal`] (or read back from a record).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    #[serde(rename = "kid")]
    key_id: String,
    #[serde(with = "b64")]
    nonce: Vec<u8>,
    #[serde(rename = "ct", with = "b64")]
    ciphertext: Vec<u8>,
}

impl SealedSecret {
    /// The id of the key that sealed it.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedSecret")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

mod b64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&data_encoding::BASE64.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        data_encoding::BASE64
            .decode(text.as_bytes())
            .map_err(|_| serde::de::Error::custom("invalid base64"))
    }
}

fn valid_key_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn make_key(key: &[u8]) -> Result<RandomizedNonceKey, SessionError> {
    if key.len() != KEY_LEN {
        return Err(SessionError::Invalid("sealing key (must be 32 bytes)"));
    }
    RandomizedNonceKey::new(&AES_256_GCM, key)
        .map_err(|_| SessionError::Invalid("sealing key (must be 32 bytes)"))
}

/// The sealing keyring: one active key that seals, older keys that still unseal.
pub struct SealingKeys {
    active: String,
    keys: HashMap<String, RandomizedNonceKey>,
}

impl fmt::Debug for SealingKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<&String> = self.keys.keys().collect();
        ids.sort();
        f.debug_struct("SealingKeys")
            .field("active", &self.active)
            .field("key_ids", &ids)
            .finish()
    }
}

impl SealingKeys {
    /// A keyring whose active key is `key` (32 raw bytes), known as `active_id`
    /// (1..64 characters of `A-Za-z0-9._-`; it is stored in every record it seals).
    pub fn new(active_id: &str, key: &[u8]) -> Result<Self, SessionError> {
        if !valid_key_id(active_id) {
            return Err(SessionError::Invalid("sealing key id"));
        }
        let mut keys = HashMap::new();
        keys.insert(active_id.to_owned(), make_key(key)?);
        Ok(Self {
            active: active_id.to_owned(),
            keys,
        })
    }

    /// A keyring with a fresh random key: secrets sealed with it do not survive a restart and
    /// cannot be opened by another replica. For development only; the server warns.
    pub fn ephemeral() -> Result<Self, SessionError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        crate::credentials::fill_random(key.as_mut())?;
        Self::new("ephemeral", key.as_ref())
    }

    /// Add an older key that still opens secrets it sealed. Its id must be new to the keyring.
    pub fn add_old(&mut self, id: &str, key: &[u8]) -> Result<(), SessionError> {
        if !valid_key_id(id) {
            return Err(SessionError::Invalid("sealing key id"));
        }
        if self.keys.contains_key(id) {
            return Err(SessionError::Invalid("sealing key id (duplicate)"));
        }
        self.keys.insert(id.to_owned(), make_key(key)?);
        Ok(())
    }

    /// The id of the key that seals.
    pub fn active_key_id(&self) -> &str {
        &self.active
    }

    /// Seal `secret` for the session of `access_key_id`.
    pub fn seal(
        &self,
        secret: &SecretAccessKey,
        access_key_id: &AccessKeyId,
    ) -> Result<SealedSecret, SessionError> {
        self.seal_bytes(
            secret.expose_secret().as_bytes(),
            &aad(AAD_LABEL, access_key_id.as_str()),
        )
    }

    /// Open a sealed secret of the session of `access_key_id`. [`SessionError::Unsealing`] when
    /// the key id is unknown, the ciphertext was changed, or it belongs to another session.
    pub fn unseal(
        &self,
        sealed: &SealedSecret,
        access_key_id: &AccessKeyId,
    ) -> Result<SecretAccessKey, SessionError> {
        let plain = self.open_bytes(sealed, &aad(AAD_LABEL, access_key_id.as_str()))?;
        let text = std::str::from_utf8(&plain).map_err(|_| SessionError::Unsealing)?;
        Ok(SecretAccessKey::new(Zeroizing::new(text.to_owned())))
    }

    /// Seal a virtual MFA device's seed (its raw bytes) for the device `serial_number`.
    pub fn seal_mfa_seed(
        &self,
        seed: &[u8],
        serial_number: &str,
    ) -> Result<SealedSecret, SessionError> {
        self.seal_bytes(seed, &aad(MFA_SEED_LABEL, serial_number))
    }

    /// Open the seed of the MFA device `serial_number`. [`SessionError::Unsealing`] when the key
    /// id is unknown, the ciphertext was changed, or it was sealed for another device (or is no
    /// seed at all: a session's secret does not open here).
    pub fn unseal_mfa_seed(
        &self,
        sealed: &SealedSecret,
        serial_number: &str,
    ) -> Result<Zeroizing<Vec<u8>>, SessionError> {
        self.open_bytes(sealed, &aad(MFA_SEED_LABEL, serial_number))
    }

    fn seal_bytes(&self, plain: &[u8], aad: &[u8]) -> Result<SealedSecret, SessionError> {
        let key = self.keys.get(&self.active).ok_or(SessionError::Sealing)?;
        // Room for the tag up front: appending it must not reallocate and leave a copy of the
        // plaintext in freed memory.
        let mut in_out = Zeroizing::new(Vec::with_capacity(plain.len() + TAG_LEN));
        in_out.extend_from_slice(plain);
        let nonce = key
            .seal_in_place_append_tag(Aad::from(aad), &mut *in_out)
            .map_err(|_| SessionError::Sealing)?;
        Ok(SealedSecret {
            key_id: self.active.clone(),
            nonce: nonce.as_ref().to_vec(),
            ciphertext: in_out.to_vec(),
        })
    }

    fn open_bytes(
        &self,
        sealed: &SealedSecret,
        aad: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, SessionError> {
        let key = self
            .keys
            .get(&sealed.key_id)
            .ok_or(SessionError::Unsealing)?;
        if sealed.nonce.len() != NONCE_LEN {
            return Err(SessionError::Unsealing);
        }
        let nonce =
            Nonce::try_assume_unique_for_key(&sealed.nonce).map_err(|_| SessionError::Unsealing)?;
        let mut in_out = Zeroizing::new(sealed.ciphertext.clone());
        let len = key
            .open_in_place(nonce, Aad::from(aad), in_out.as_mut_slice())
            .map_err(|_| SessionError::Unsealing)?
            .len();
        in_out.truncate(len);
        Ok(in_out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> AccessKeyId {
        AccessKeyId::parse(s).unwrap()
    }

    const A: &str = "ASIAAAAAAAAAAAAAAAAA";
    const B: &str = "ASIABBBBBBBBBBBBBBBB";

    #[test]
    fn round_trip() {
        let keys = SealingKeys::new("k1", &[1u8; 32]).unwrap();
        let secret = SecretAccessKey::generate().unwrap();
        let sealed = keys.seal(&secret, &id(A)).unwrap();
        assert_eq!(sealed.key_id(), "k1");
        assert_eq!(sealed.nonce.len(), 12);
        assert_eq!(sealed.ciphertext.len(), 40 + 16);
        assert_eq!(keys.unseal(&sealed, &id(A)).unwrap(), secret);
        // A fresh nonce every time.
        let again = keys.seal(&secret, &id(A)).unwrap();
        assert_ne!(again.nonce, sealed.nonce);
        assert_ne!(again.ciphertext, sealed.ciphertext);
        // Through JSON and back.
        let json = serde_json::to_string(&sealed).unwrap();
        assert!(!json.contains(secret.expose_secret()));
        let back: SealedSecret = serde_json::from_str(&json).unwrap();
        assert_eq!(keys.unseal(&back, &id(A)).unwrap(), secret);
    }

    #[test]
    fn tampering_is_refused() {
        let keys = SealingKeys::new("k1", &[1u8; 32]).unwrap();
        let secret = SecretAccessKey::generate().unwrap();
        let sealed = keys.seal(&secret, &id(A)).unwrap();
        for i in 0..sealed.ciphertext.len() {
            let mut t = sealed.clone();
            t.ciphertext[i] ^= 0x01;
            assert_eq!(keys.unseal(&t, &id(A)), Err(SessionError::Unsealing));
        }
        let mut t = sealed.clone();
        t.nonce[0] ^= 0x80;
        assert_eq!(keys.unseal(&t, &id(A)), Err(SessionError::Unsealing));
        let mut t = sealed.clone();
        t.ciphertext.truncate(10);
        assert_eq!(keys.unseal(&t, &id(A)), Err(SessionError::Unsealing));
        let mut t = sealed.clone();
        t.ciphertext.clear();
        assert_eq!(keys.unseal(&t, &id(A)), Err(SessionError::Unsealing));
        let mut t = sealed;
        t.nonce.push(0);
        assert_eq!(keys.unseal(&t, &id(A)), Err(SessionError::Unsealing));
    }

    #[test]
    fn another_sessions_id_as_associated_data_is_refused() {
        let keys = SealingKeys::new("k1", &[1u8; 32]).unwrap();
        let sealed = keys
            .seal(&SecretAccessKey::generate().unwrap(), &id(A))
            .unwrap();
        assert_eq!(keys.unseal(&sealed, &id(B)), Err(SessionError::Unsealing));
    }

    #[test]
    fn wrong_key_under_the_same_id_is_refused() {
        let keys = SealingKeys::new("k1", &[1u8; 32]).unwrap();
        let other = SealingKeys::new("k1", &[9u8; 32]).unwrap();
        let sealed = keys
            .seal(&SecretAccessKey::generate().unwrap(), &id(A))
            .unwrap();
        assert_eq!(other.unseal(&sealed, &id(A)), Err(SessionError::Unsealing));
    }

    #[test]
    fn rotation_old_keys_still_unseal() {
        let old = SealingKeys::new("k1", &[1u8; 32]).unwrap();
        let secret = SecretAccessKey::generate().unwrap();
        let sealed_old = old.seal(&secret, &id(A)).unwrap();

        let mut rotated = SealingKeys::new("k2", &[2u8; 32]).unwrap();
        rotated.add_old("k1", &[1u8; 32]).unwrap();
        assert_eq!(rotated.active_key_id(), "k2");
        assert_eq!(rotated.unseal(&sealed_old, &id(A)).unwrap(), secret);
        let sealed_new = rotated.seal(&secret, &id(A)).unwrap();
        assert_eq!(sealed_new.key_id(), "k2");
        // The old keyring does not know k2.
        assert_eq!(
            old.unseal(&sealed_new, &id(A)),
            Err(SessionError::Unsealing)
        );
    }

    #[test]
    fn unknown_key_id_is_refused() {
        let keys = SealingKeys::new("k1", &[1u8; 32]).unwrap();
        let mut sealed = keys
            .seal(&SecretAccessKey::generate().unwrap(), &id(A))
            .unwrap();
        sealed.key_id = "k9".into();
        assert_eq!(keys.unseal(&sealed, &id(A)), Err(SessionError::Unsealing));
    }

    #[test]
    fn bad_keys_and_ids_are_refused() {
        assert!(SealingKeys::new("k", &[0u8; 16]).is_err());
        assert!(SealingKeys::new("k", &[0u8; 33]).is_err());
        assert!(SealingKeys::new("", &[0u8; 32]).is_err());
        assert!(SealingKeys::new("a b", &[0u8; 32]).is_err());
        assert!(SealingKeys::new(&"k".repeat(65), &[0u8; 32]).is_err());
        let mut keys = SealingKeys::new("k1", &[1u8; 32]).unwrap();
        assert!(keys.add_old("k1", &[2u8; 32]).is_err());
        assert!(keys.add_old("k0", &[2u8; 31]).is_err());
        keys.add_old("k0", &[2u8; 32]).unwrap();
        assert!(keys.add_old("k0", &[3u8; 32]).is_err());
    }

    #[test]
    fn mfa_seeds_are_bound_to_their_device_and_kind() {
        let keys = SealingKeys::new("k1", &[1u8; 32]).unwrap();
        let serial = "arn:aws:iam::123456789012:mfa/alice";
        let seed = [0x5au8; 20];
        let sealed = keys.seal_mfa_seed(&seed, serial).unwrap();
        assert_eq!(sealed.ciphertext.len(), 20 + 16);
        assert_eq!(
            keys.unseal_mfa_seed(&sealed, serial).unwrap().as_slice(),
            seed
        );
        // Another device, or the seed read as a session's secret: refused.
        assert!(keys
            .unseal_mfa_seed(&sealed, "arn:aws:iam::123456789012:mfa/bob")
            .is_err());
        let as_secret = keys.seal_mfa_seed(b"not a seed", A).unwrap();
        assert_eq!(
            keys.unseal(&as_secret, &id(A)),
            Err(SessionError::Unsealing)
        );
        // A session's secret is no seed.
        let secret = keys
            .seal(&SecretAccessKey::generate().unwrap(), &id(A))
            .unwrap();
        assert!(keys.unseal_mfa_seed(&secret, A).is_err());
    }

    #[test]
    fn debug_shows_no_key_material() {
        let mut keys = SealingKeys::new("k1", &[0xABu8; 32]).unwrap();
        keys.add_old("k0", &[0xCDu8; 32]).unwrap();
        let dbg = format!("{keys:?}");
        assert_eq!(
            dbg,
            r#"SealingKeys { active: "k1", key_ids: ["k0", "k1"] }"#
        );
        let sealed = keys
            .seal(&SecretAccessKey::generate().unwrap(), &id(A))
            .unwrap();
        assert_eq!(
            format!("{sealed:?}"),
            r#"SealedSecret { key_id: "k1", .. }"#
        );
    }

    #[test]
    fn ephemeral_keys_differ() {
        let a = SealingKeys::ephemeral().unwrap();
        let b = SealingKeys::ephemeral().unwrap();
        let s = SecretAccessKey::generate().unwrap();
        let sealed = a.seal(&s, &id(A)).unwrap();
        assert_eq!(a.unseal(&sealed, &id(A)).unwrap(), s);
        assert_eq!(b.unseal(&sealed, &id(A)), Err(SessionError::Unsealing));
    }
}
