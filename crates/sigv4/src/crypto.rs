//! HMAC-SHA256 key derivation and the string to sign.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::canonical::hex_sha256;
use crate::error::SigV4Error;
use crate::parse::ParsedSignature;
use crate::ALGORITHM;

pub(crate) type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &[u8]) -> Result<[u8; 32], SigV4Error> {
    // INVARIANT: HMAC takes keys of any length, so this never fails; if it ever did, fail closed
    // (no signature can match) rather than sign with a predictable key.
    let mut mac = HmacSha256::new_from_slice(key).map_err(|_| SigV4Error::Mismatch)?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().into())
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
pub(crate) fn signing_key(
    secret: &str,
    date: &str,
    region: &str,
    service: &str,
) -> Result<[u8; 32], SigV4Error> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes())?;
    let k_region = hmac(&k_date, region.as_bytes())?;
    let k_service = hmac(&k_region, service.as_bytes())?;
    hmac(&k_service, b"aws4_request")
}

/// The signing key of one credential scope (secret, date, region, service), derived once and
/// kept ready as a keyed HMAC: a verifier that caches it per session and scope skips the four
/// HMACs of the derivation and the key setup of the fifth on every request. `Debug` does not
/// show the key.
#[derive(Clone)]
pub struct SigningKey {
    pub(crate) mac: HmacSha256,
    date: String,
    region: String,
    service: String,
}

impl SigningKey {
    /// Derive the key of `secret` for the scope `date/region/service/aws4_request`.
    pub fn derive(
        secret: &str,
        date: &str,
        region: &str,
        service: &str,
    ) -> Result<Self, SigV4Error> {
        let key = ScopeKey::derive(secret, date, region, service)?;
        Self::from_scope_key(&key, date, region, service)
    }

    /// Derive the key of `secret` for the credential scope of `parsed`.
    pub fn for_signature(secret: &str, parsed: &ParsedSignature) -> Result<Self, SigV4Error> {
        Self::derive(secret, &parsed.scope_date, &parsed.region, &parsed.service)
    }

    /// Is this the key of `parsed`'s credential scope (same date, region and service)? A key of
    /// another scope never verifies it.
    pub fn fits(&self, parsed: &ParsedSignature) -> bool {
        self.date == parsed.scope_date
            && self.region == parsed.region
            && self.service == parsed.service
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("date", &self.date)
            .field("region", &self.region)
            .field("service", &self.service)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// The derived key of one credential scope (secret, date, region, service) as bytes: what
/// idbroker hands a downstream service instead of the secret access key. It verifies (and
/// signs) requests of that scope only: another date, region or service needs another key, and
/// the secret cannot be computed back from it. Wiped when dropped; `Debug` does not show it.
#[derive(Clone, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
pub struct ScopeKey([u8; 32]);

impl ScopeKey {
    /// Derive the key of `secret` for `date/region/service/aws4_request`.
    pub fn derive(
        secret: &str,
        date: &str,
        region: &str,
        service: &str,
    ) -> Result<Self, SigV4Error> {
        signing_key(secret, date, region, service).map(ScopeKey)
    }

    /// A key given as 64 hex digits; `None` for anything else.
    pub fn from_hex(hex_key: &str) -> Option<Self> {
        let mut key = [0u8; 32];
        hex::decode_to_slice(hex_key, &mut key).ok()?;
        Some(ScopeKey(key))
    }

    /// The key as 64 lowercase hex digits (for the wire; a secret: never log it).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for ScopeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ScopeKey(<redacted>)")
    }
}

impl SigningKey {
    /// The signing key of the scope `date/region/service` from its derived key (a
    /// [`ScopeKey`] received from idbroker): verifies exactly what [`SigningKey::derive`] with
    /// the secret would, for that scope only ([`SigningKey::fits`]).
    pub fn from_scope_key(
        key: &ScopeKey,
        date: &str,
        region: &str,
        service: &str,
    ) -> Result<Self, SigV4Error> {
        // INVARIANT: HMAC takes keys of any length; fail closed if it ever did not.
        let mac = HmacSha256::new_from_slice(&key.0).map_err(|_| SigV4Error::Mismatch)?;
        Ok(SigningKey {
            mac,
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
        })
    }
}

/// The hex signature of a string to sign.
pub(crate) fn signature_hex(key: &[u8; 32], string_to_sign: &str) -> Result<String, SigV4Error> {
    Ok(hex::encode(hmac(key, string_to_sign.as_bytes())?))
}

/// `AWS4-HMAC-SHA256\n<X-Amz-Date>\n<scope>\n<hex SHA-256 of the canonical request>`.
pub(crate) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex_sha256(canonical_request.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_key_is_the_derived_key_and_round_trips_as_hex() {
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        let k = ScopeKey::derive(secret, "20120215", "us-east-1", "iam").ok();
        let direct = signing_key(secret, "20120215", "us-east-1", "iam").ok();
        assert_eq!(k.as_ref().map(|k| k.0), direct);
        let hex_key = k.as_ref().map(ScopeKey::to_hex).unwrap_or_default();
        assert_eq!(hex_key.len(), 64);
        assert_eq!(ScopeKey::from_hex(&hex_key).map(|k| k.0), direct);
        assert!(ScopeKey::from_hex("abc").is_none());
        assert!(ScopeKey::from_hex(&"zz".repeat(32)).is_none());
        assert_eq!(format!("{:?}", k), "Some(ScopeKey(<redacted>))");
        let other = ScopeKey::derive(secret, "20120215", "us-east-1", "s3").ok();
        assert_ne!(other.map(|k| k.0), direct);
    }

    /// AWS's documented derivation example (IAM, us-east-1, 20120215).
    #[test]
    fn documented_signing_key() {
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        )
        .unwrap();
        assert_eq!(
            hex::encode(key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }
}
