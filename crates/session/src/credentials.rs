//! Credential formats, shaped as AWS shapes them, generated from the AWS-LC CSPRNG.
//!
//! | value | format |
//! |---|---|
//! | temporary [`AccessKeyId`] | `ASIA` + 16 characters of RFC 4648 base32 (`A-Z2-7`, 80 random bits) |
//! | long-term [`AccessKeyId`] | `AKIA` + 16 characters of `A-Z0-9` (generated ones use `A-Z2-7`) |
//! | [`SecretAccessKey`] | 40 characters of base64 (`A-Za-z0-9+/`, 240 random bits) |
//! | [`SessionToken`] | [`SessionToken::LEN`] = 344 characters of base64, no padding (2064 random bits) |
//!
//! Secrets ([`SecretAccessKey`], [`SessionToken`]) are zeroized on drop, have a redacting
//! `Debug` and no `Display`; [`expose_secret`](SecretAccessKey::expose_secret) is the one way
//! to the text. The store keeps a session token only as its [`TokenHash`] (SHA-256), compared in
//! constant time.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::SessionError;

/// Fill `buf` from the CSPRNG; no randomness means no credential (fail closed).
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), SessionError> {
    aws_lc_rs::rand::fill(buf).map_err(|_| SessionError::Entropy)
}

/// Prefix of temporary (session) access key ids.
pub const TEMPORARY_PREFIX: &str = "ASIA";
/// Prefix of long-term (IAM user) access key ids.
pub const LONG_TERM_PREFIX: &str = "AKIA";
/// Length of an access key id.
pub const ACCESS_KEY_ID_LEN: usize = 20;

/// Temporary or long-term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessKeyKind {
    /// `ASIA…`: a session's key, with a session token.
    Temporary,
    /// `AKIA…`: an IAM user's long-term key.
    LongTerm,
}

/// A syntactically valid access key id (`ASIA…` or `AKIA…`, 20 characters). Not a secret.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccessKeyId(String);

fn is_base32(b: u8) -> bool {
    b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)
}

fn is_upper_alnum(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}

impl AccessKeyId {
    /// Parse an id. Temporary ids must be exactly what [`generate_temporary`](Self::generate_temporary)
    /// makes (`ASIA` + 16 base32 characters); long-term ids may use any upper-case letter or digit
    /// after `AKIA`, as operators configure them.
    pub fn parse(s: &str) -> Result<Self, SessionError> {
        const ERR: SessionError = SessionError::Invalid("access key id");
        if s.len() != ACCESS_KEY_ID_LEN {
            return Err(ERR);
        }
        let (prefix, rest) = s.split_at_checked(TEMPORARY_PREFIX.len()).ok_or(ERR)?;
        let ok = match prefix {
            TEMPORARY_PREFIX => rest.bytes().all(is_base32),
            LONG_TERM_PREFIX => rest.bytes().all(is_upper_alnum),
            _ => false,
        };
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(ERR)
        }
    }

    fn generate(prefix: &str) -> Result<Self, SessionError> {
        let mut bytes = [0u8; 10];
        fill_random(&mut bytes)?;
        Ok(Self(format!(
            "{prefix}{}",
            data_encoding::BASE32_NOPAD.encode(&bytes)
        )))
    }

    /// A fresh temporary id: `ASIA` + 16 base32 characters (80 random bits).
    pub fn generate_temporary() -> Result<Self, SessionError> {
        Self::generate(TEMPORARY_PREFIX)
    }

    /// A fresh long-term id: `AKIA` + 16 base32 characters (80 random bits).
    pub fn generate_long_term() -> Result<Self, SessionError> {
        Self::generate(LONG_TERM_PREFIX)
    }

    /// Temporary (`ASIA`) or long-term (`AKIA`).
    pub fn kind(&self) -> AccessKeyKind {
        if self.0.starts_with(TEMPORARY_PREFIX) {
            AccessKeyKind::Temporary
        } else {
            AccessKeyKind::LongTerm
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessKeyId({})", self.0)
    }
}

impl fmt::Display for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for AccessKeyId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for AccessKeyId {
    type Err = SessionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for AccessKeyId {
    type Error = SessionError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<AccessKeyId> for String {
    fn from(id: AccessKeyId) -> String {
        id.0
    }
}

/// Random bytes, base64 (standard alphabet) of them, with the bytes and the text zeroized.
fn random_base64<const N: usize>() -> Result<Zeroizing<String>, SessionError> {
    let mut bytes = Zeroizing::new([0u8; N]);
    fill_random(bytes.as_mut())?;
    Ok(Zeroizing::new(
        data_encoding::BASE64_NOPAD.encode(bytes.as_ref()),
    ))
}

/// A secret access key. Zeroized on drop; `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretAccessKey(Zeroizing<String>);

impl SecretAccessKey {
    /// Length of a generated secret access key.
    pub const LEN: usize = 40;

    /// A fresh secret: 40 base64 characters (30 random bytes).
    pub fn generate() -> Result<Self, SessionError> {
        Ok(Self(random_base64::<30>()?))
    }

    /// Wrap a secret that exists already (an unsealed one, or a long-term key from config).
    pub fn new(secret: Zeroizing<String>) -> Self {
        Self(secret)
    }

    /// The secret's text. Do not log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretAccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretAccessKey(<redacted>)")
    }
}

/// A session token as handed to the client. Zeroized on drop; `Debug` shows nothing of it.
/// The store keeps only its [`TokenHash`].
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(Zeroizing<String>);

impl SessionToken {
    /// Length of a generated token: 344 base64 characters without padding (258 random bytes),
    /// in the range of AWS's own session tokens, well inside the SDKs' limits.
    pub const LEN: usize = 344;

    /// A fresh token.
    pub fn generate() -> Result<Self, SessionError> {
        Ok(Self(random_base64::<258>()?))
    }

    /// The token's text. Do not log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Its hash, as stored.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

/// SHA-256 of a session token: what the store keeps. Serialized as 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The hash of `token`.
    pub fn of(token: &str) -> Self {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
        let mut out = [0u8; 32];
        // INVARIANT: a SHA-256 digest is 32 bytes; `zip` copies min(len) either way.
        for (o, d) in out.iter_mut().zip(digest.as_ref()) {
            *o = *d;
        }
        Self(out)
    }

    /// Does `token` hash to this? Constant-time in the hash comparison.
    pub fn matches(&self, token: &str) -> bool {
        Self::of(token).0.ct_eq(&self.0).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = data_encoding::HEXLOWER.encode(&self.0);
        write!(f, "TokenHash({}…)", hex.get(..8).unwrap_or_default())
    }
}

impl TryFrom<String> for TokenHash {
    type Error = SessionError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let bytes = data_encoding::HEXLOWER_PERMISSIVE
            .decode(s.as_bytes())
            .map_err(|_| SessionError::Invalid("token hash"))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| SessionError::Invalid("token hash"))?;
        Ok(Self(arr))
    }
}

impl From<TokenHash> for String {
    fn from(h: TokenHash) -> String {
        data_encoding::HEXLOWER.encode(&h.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_ids_are_asia_and_base32() {
        for _ in 0..200 {
            let id = AccessKeyId::generate_temporary().unwrap();
            let s = id.as_str();
            assert_eq!(s.len(), 20);
            assert!(s.starts_with("ASIA"), "{s}");
            assert!(s[4..].bytes().all(is_base32), "{s}");
            assert_eq!(id.kind(), AccessKeyKind::Temporary);
            assert_eq!(AccessKeyId::parse(s).unwrap(), id);
        }
        assert_ne!(
            AccessKeyId::generate_temporary().unwrap(),
            AccessKeyId::generate_temporary().unwrap()
        );
    }

    #[test]
    fn long_term_ids() {
        let id = AccessKeyId::generate_long_term().unwrap();
        assert!(id.as_str().starts_with("AKIA"));
        assert_eq!(id.kind(), AccessKeyKind::LongTerm);
        // Configured ids may use every digit.
        let demo = AccessKeyId::parse("AKIAIDBROKERDEMO0001").unwrap();
        assert_eq!(demo.kind(), AccessKeyKind::LongTerm);
        assert_eq!(demo.to_string(), "AKIAIDBROKERDEMO0001");
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "",
            "ASIA",
            "ASIAAAAAAAAAAAAAAAA",   // 19
            "ASIAAAAAAAAAAAAAAAAAA", // 21
            "ASIAAAAAAAAAAAAAAAA0",  // 0 is not base32
            "ASIAAAAAAAAAAAAAAAA1",
            "ASIAAAAAAAAAAAAAAAAa",
            "AKIAAAAAAAAAAAAAAAAa",
            "AKIAAAAAAAAAAAAAAA+A",
            "AROAAAAAAAAAAAAAAAAA",
            "asiaAAAAAAAAAAAAAAAA",
            "ASIA{AAAAAAAAAAAAAA}",
            "ASIAÄAAAAAAAAAAAAAA",
        ] {
            assert_eq!(
                AccessKeyId::parse(bad),
                Err(SessionError::Invalid("access key id")),
                "{bad:?}"
            );
        }
        assert!(serde_json::from_str::<AccessKeyId>("\"ASIA0\"").is_err());
        let ok: AccessKeyId = serde_json::from_str("\"ASIAAAAAAAAAAAAAAAAA\"").unwrap();
        assert_eq!(
            serde_json::to_string(&ok).unwrap(),
            "\"ASIAAAAAAAAAAAAAAAAA\""
        );
    }

    #[test]
    fn secrets_have_aws_shapes_and_redacted_debug() {
        let b64 = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
        let s = SecretAccessKey::generate().unwrap();
        assert_eq!(s.expose_secret().len(), SecretAccessKey::LEN);
        assert!(s.expose_secret().bytes().all(b64));
        assert_ne!(s, SecretAccessKey::generate().unwrap());
        let t = SessionToken::generate().unwrap();
        assert_eq!(t.expose_secret().len(), SessionToken::LEN);
        assert!(t.expose_secret().bytes().all(b64));
        assert_eq!(format!("{s:?}"), "SecretAccessKey(<redacted>)");
        assert_eq!(format!("{t:?}"), "SessionToken(<redacted>)");
        assert!(!format!("{:?}", t.hash()).contains(t.expose_secret()));
    }

    #[test]
    fn token_hash_checks_the_token() {
        let t = SessionToken::generate().unwrap();
        let h = t.hash();
        assert!(h.matches(t.expose_secret()));
        assert!(!h.matches(""));
        assert!(!h.matches(&t.expose_secret()[1..]));
        assert!(!h.matches(SessionToken::generate().unwrap().expose_secret()));
        // Known answer: SHA-256("abc").
        assert_eq!(
            String::from(TokenHash::of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // Serialized as hex, and back.
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json.len(), 66);
        assert_eq!(serde_json::from_str::<TokenHash>(&json).unwrap(), h);
        assert!(serde_json::from_str::<TokenHash>("\"abcd\"").is_err());
        assert!(serde_json::from_str::<TokenHash>(&format!("\"{}\"", "zz".repeat(32))).is_err());
    }
}
