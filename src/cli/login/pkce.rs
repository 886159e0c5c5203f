//! The secrets of one browser sign-in (RFC 7636, RFC 6749 section 10.12): the `state` that ties
//! the redirect to this command, the PKCE `code_verifier` and its S256 `code_challenge`. Random
//! bytes and SHA-256 from aws-lc-rs; comparisons in constant time.

use aws_lc_rs::{constant_time, digest, rand};
use data_encoding::BASE64URL_NOPAD;
use zeroize::Zeroizing;

use super::error::LoginError;

/// 32 random bytes, base64url without padding (43 characters).
pub fn random_token() -> Result<Zeroizing<String>, LoginError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::fill(bytes.as_mut())
        .map_err(|_| LoginError::Local("no random bytes from the system".into()))?;
    Ok(Zeroizing::new(BASE64URL_NOPAD.encode(bytes.as_ref())))
}

/// `BASE64URL(SHA-256(verifier))`, the S256 `code_challenge`.
pub fn challenge(verifier: &str) -> String {
    BASE64URL_NOPAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()).as_ref())
}

/// `a == b` in time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// One sign-in's `state`, `code_verifier` and `code_challenge`.
pub struct Pkce {
    /// Sent in the start URL and expected back on the redirect.
    pub state: Zeroizing<String>,
    /// Sent with the code to the token endpoint only.
    pub verifier: Zeroizing<String>,
    /// `challenge(verifier)`, in the start URL.
    pub challenge: String,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce")
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

impl Pkce {
    /// Fresh random values.
    pub fn new() -> Result<Self, LoginError> {
        let state = random_token()?;
        let verifier = random_token()?;
        let challenge = challenge(&verifier);
        Ok(Pkce {
            state,
            verifier,
            challenge,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn fresh_values() {
        let a = Pkce::new().unwrap();
        let b = Pkce::new().unwrap();
        assert_eq!(a.verifier.len(), 43);
        assert_eq!(a.state.len(), 43);
        assert!(a
            .verifier
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(*a.verifier, *b.verifier);
        assert_ne!(*a.state, *a.verifier);
        assert_eq!(a.challenge, challenge(&a.verifier));
        assert!(!format!("{a:?}").contains(a.verifier.as_str()));
        assert!(same(&a.state, &a.state.clone()));
        assert!(!same(&a.state, &b.state));
        assert!(!same("abc", "abcd"));
    }
}
