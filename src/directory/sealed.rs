//! Long-term access keys' secrets and virtual MFA devices' seeds at rest: sealed with the
//! `[sealing]` keys (AES-256-GCM; the access key id as associated data, as sessions' secrets
//! are, or for a seed the device's serial number under a label of its own), written
//! `KEY_ID:NONCE:CIPHERTEXT` (base64) in a [`SecretRef`]'s `sealed`. The database and
//! `idbroker directory export` hold only this form; [`open`] is the one place a stored secret is
//! opened (when a directory version is built), [`open_seed`] the one place a seed is (when a
//! code is checked).

use idbroker_session::{AccessKeyId, SealedSecret, SealingKeys, SecretAccessKey};
use zeroize::Zeroizing;

use crate::settings::SecretRef;

/// A secret that could not be sealed or opened (the reason, without the secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SealError(String);

/// Seal `secret`, the secret of the access key `access_key_id`, with the active key.
pub fn seal(keys: &SealingKeys, access_key_id: &str, secret: &str) -> Result<SecretRef, SealError> {
    let id = AccessKeyId::parse(access_key_id)
        .map_err(|_| SealError(format!("{access_key_id:?} is not an access key id")))?;
    let sealed = keys
        .seal(
            &SecretAccessKey::new(Zeroizing::new(secret.to_owned())),
            &id,
        )
        .map_err(|e| SealError(format!("sealing failed: {e}")))?;
    text_of(&sealed)
}

/// A sealed secret as `KEY_ID:NONCE:CIPHERTEXT`.
fn text_of(sealed: &SealedSecret) -> Result<SecretRef, SealError> {
    let v = serde_json::to_value(sealed).map_err(|e| SealError(e.to_string()))?;
    let part = |name: &str| {
        v.get(name)
            .and_then(|x| x.as_str())
            .map(str::to_owned)
            .ok_or_else(|| SealError(format!("sealed secret without {name}")))
    };
    Ok(SecretRef {
        sealed: Some(format!(
            "{}:{}:{}",
            part("kid")?,
            part("nonce")?,
            part("ct")?
        )),
        ..SecretRef::default()
    })
}

/// Open `sealed` (`KEY_ID:NONCE:CIPHERTEXT`), the secret of `access_key_id`. Fails when the key
/// id is unknown, the text was changed, or it was sealed for another access key.
pub fn open(
    keys: &SealingKeys,
    access_key_id: &str,
    sealed: &str,
) -> Result<Zeroizing<String>, SealError> {
    let (kid, record) = parse(sealed)?;
    let id = AccessKeyId::parse(access_key_id)
        .map_err(|_| SealError(format!("{access_key_id:?} is not an access key id")))?;
    let secret = keys.unseal(&record, &id).map_err(|_| {
        SealError(format!(
            "cannot be opened with the sealing keys (key id {kid:?}; changed, or sealed for another key)"
        ))
    })?;
    Ok(Zeroizing::new(secret.expose_secret().to_owned()))
}

/// `KEY_ID:NONCE:CIPHERTEXT` read: the key id, and the sealed record.
fn parse(sealed: &str) -> Result<(&str, SealedSecret), SealError> {
    let bad = || SealError("a sealed secret is KEY_ID:NONCE:CIPHERTEXT (base64)".into());
    let mut parts = sealed.splitn(3, ':');
    let (kid, nonce, ct) = match (parts.next(), parts.next(), parts.next()) {
        (Some(k), Some(n), Some(c)) => (k, n, c),
        _ => return Err(bad()),
    };
    let record: SealedSecret =
        serde_json::from_value(serde_json::json!({"kid": kid, "nonce": nonce, "ct": ct}))
            .map_err(|_| bad())?;
    Ok((kid, record))
}

/// Is `sealed` in the sealed form (`KEY_ID:NONCE:CIPHERTEXT`, base64)? Says nothing of whether
/// the keys open it.
pub fn well_formed(sealed: &str) -> bool {
    parse(sealed).is_ok()
}

/// Seal the seed of the MFA device `serial` with the active key.
pub fn seal_seed(keys: &SealingKeys, serial: &str, seed: &[u8]) -> Result<SecretRef, SealError> {
    let sealed = keys
        .seal_mfa_seed(seed, serial)
        .map_err(|e| SealError(format!("sealing failed: {e}")))?;
    text_of(&sealed)
}

/// Open the seed of the MFA device `serial`. Fails when the key id is unknown, the text was
/// changed, or it was sealed for another device.
pub fn open_seed(
    keys: &SealingKeys,
    serial: &str,
    sealed: &str,
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let (kid, record) = parse(sealed)?;
    keys.unseal_mfa_seed(&record, serial).map_err(|_| {
        SealError(format!(
            "cannot be opened with the sealing keys (key id {kid:?}; changed, or sealed for another device)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "AKIAIOSFODNN7EXAMPLE";

    #[test]
    fn round_trip_and_binding() {
        let keys = SealingKeys::new("k1", &[7u8; 32]).unwrap();
        let r = seal(&keys, ID, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY").unwrap();
        let text = r.sealed.clone().unwrap();
        assert!(text.starts_with("k1:"));
        assert!(!text.contains("wJalr"));
        assert_eq!(
            open(&keys, ID, &text).unwrap().as_str(),
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        );
        // Bound to the key id: moved to another key, it does not open.
        assert!(open(&keys, "AKIAOTHERKEYEXAMPLE1", &text).is_err());
        // Another keyring does not open it; nor does a changed ciphertext.
        let other = SealingKeys::new("k1", &[8u8; 32]).unwrap();
        assert!(open(&other, ID, &text).is_err());
        let mut changed = text.clone();
        changed.pop();
        changed.push(if text.ends_with('A') { 'B' } else { 'A' });
        assert!(open(&keys, ID, &changed).is_err());
        assert!(open(&keys, ID, "k1:only-two").is_err());
    }

    #[test]
    fn seeds_are_sealed_for_their_device() {
        let keys = SealingKeys::new("k1", &[7u8; 32]).unwrap();
        let serial = "arn:aws:iam::123456789012:mfa/alice";
        let r = seal_seed(&keys, serial, b"a seed of twenty b.").unwrap();
        let text = r.sealed.unwrap();
        assert!(text.starts_with("k1:") && well_formed(&text));
        assert_eq!(
            open_seed(&keys, serial, &text).unwrap().as_slice(),
            b"a seed of twenty b."
        );
        // Another device, another keyring, an access key's secret: none opens.
        assert!(open_seed(&keys, "arn:aws:iam::123456789012:mfa/bob", &text).is_err());
        let other = SealingKeys::new("k1", &[8u8; 32]).unwrap();
        assert!(open_seed(&other, serial, &text).is_err());
        let secret = seal(&keys, ID, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
            .unwrap()
            .sealed
            .unwrap();
        assert!(open_seed(&keys, ID, &secret).is_err());
        assert!(open(&keys, ID, &text).is_err());
        assert!(!well_formed("JBSWY3DPEHPK3PXP"));
    }
}
