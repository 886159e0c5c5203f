//! Long-term access keys' secrets at rest: sealed with the `[sealing]` keys (AES-256-GCM, the
//! access key id as associated data, as sessions' secrets are), written `KEY_ID:NONCE:CIPHERTEXT`
//! (base64) in a [`SecretRef`]'s `sealed`. The database and `idbroker directory export` hold
//! only this form; [`open`] is the one place a stored secret is opened (when a directory
//! version is built).

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
    let v = serde_json::to_value(&sealed).map_err(|e| SealError(e.to_string()))?;
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
    let bad = || SealError("a sealed secret is KEY_ID:NONCE:CIPHERTEXT (base64)".into());
    let mut parts = sealed.splitn(3, ':');
    let (kid, nonce, ct) = match (parts.next(), parts.next(), parts.next()) {
        (Some(k), Some(n), Some(c)) => (k, n, c),
        _ => return Err(bad()),
    };
    let record: SealedSecret =
        serde_json::from_value(serde_json::json!({"kid": kid, "nonce": nonce, "ct": ct}))
            .map_err(|_| bad())?;
    let id = AccessKeyId::parse(access_key_id)
        .map_err(|_| SealError(format!("{access_key_id:?} is not an access key id")))?;
    let secret = keys.unseal(&record, &id).map_err(|_| {
        SealError(format!(
            "cannot be opened with the sealing keys (key id {kid:?}; changed, or sealed for another key)"
        ))
    })?;
    Ok(Zeroizing::new(secret.expose_secret().to_owned()))
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
}
