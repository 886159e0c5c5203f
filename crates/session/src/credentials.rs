//! Credential formats, as AWS shapes them, from the operating system's CSPRNG.

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::SessionError;

fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, SessionError> {
    let mut buf = Zeroizing::new([0u8; N]);
    // No randomness, no credentials: fail closed.
    getrandom::fill(buf.as_mut()).map_err(|_| SessionError::Unavailable)?;
    Ok(buf)
}

/// `ASIA` + 16 characters of upper-case base32 (80 random bits).
pub fn new_temporary_access_key_id() -> Result<String, SessionError> {
    let bytes = random::<10>()?;
    Ok(format!(
        "ASIA{}",
        data_encoding::BASE32_NOPAD.encode(bytes.as_ref())
    ))
}

/// 40 characters of base64 (240 random bits), as AWS secret access keys.
pub fn new_secret_access_key() -> Result<Zeroizing<String>, SessionError> {
    let bytes = random::<30>()?;
    Ok(Zeroizing::new(data_encoding::BASE64.encode(bytes.as_ref())))
}

/// An opaque session token: 344 characters of base64 (2048 random bits). The store keeps only
/// its hash.
pub fn new_session_token() -> Result<Zeroizing<String>, SessionError> {
    let bytes = random::<256>()?;
    Ok(Zeroizing::new(data_encoding::BASE64.encode(bytes.as_ref())))
}

/// SHA-256 of a token, hex: what the store keeps.
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// `AKIA`/`ASIA` followed by 16 upper-case letters or digits.
pub fn is_access_key_id(id: &str, prefix: &str) -> bool {
    id.len() == 20
        && id.starts_with(prefix)
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let id = new_temporary_access_key_id().unwrap();
        assert!(is_access_key_id(&id, "ASIA"), "{id}");
        assert!(!is_access_key_id(&id, "AKIA"));
        assert_eq!(new_secret_access_key().unwrap().len(), 40);
        assert_eq!(new_session_token().unwrap().len(), 344);
        assert_ne!(new_temporary_access_key_id().unwrap(), id);
        assert_eq!(token_sha256("").len(), 64);
    }
}
