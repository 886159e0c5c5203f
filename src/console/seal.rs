//! Sealed browser state: what the console hands the browser (cookies, sign-in tokens, SAML
//! request ids) is AES-256-GCM ciphertext under the console key, bound to its purpose. The
//! browser can neither read nor change it, and a value made for one purpose (a role-picker
//! cookie) is refused for another (a console session).

use std::fmt;

use aws_lc_rs::aead::{Aad, Nonce, RandomizedNonceKey, AES_256_GCM, NONCE_LEN};
use serde::de::DeserializeOwned;
use serde::Serialize;
use zeroize::Zeroizing;

/// What a sealed value is for: the associated data of its encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The role picker's pending sign-in (cookie `idb_pick`).
    Pick,
    /// A console session (cookie `idb_console`).
    Console,
    /// An OIDC login in flight (cookie `idb_oidc`): state, nonce, PKCE verifier.
    OidcLogin,
    /// A federation sign-in token (`getSigninToken`).
    SigninToken,
    /// The ID of an AuthnRequest this service sent (SP-initiated SAML).
    AuthnRequest,
    /// A CLI sign-in in flight (cookie `idb_cli`): where its result goes back.
    CliFlow,
    /// The one-time code a CLI's loopback redirect receives.
    CliCode,
    /// What the CLI holds between the code (or device grant) and choosing its role.
    CliTicket,
    /// A device authorization's `device_code`.
    DeviceCode,
    /// A device authorization waiting for its user code to be entered.
    DeviceRequest,
    /// The device code entry form's CSRF cookie (`idb_device`).
    DeviceForm,
    /// The IAM user sign-in form's CSRF cookie (`idb_pwform`).
    PasswordForm,
    /// An IAM user's sign-in between its steps (cookie `idb_pw`): password verified, MFA or a
    /// new password still to come.
    PasswordPending,
    /// The development IdP (`crate::dev_idp`): an AuthnRequest it is answering, in its people
    /// page's form.
    DevIdpSaml,
    /// The development IdP: an OIDC authorization request, in its people page's form.
    DevIdpAuthorize,
    /// The development IdP: an OIDC authorization code.
    DevIdpCode,
}

impl Purpose {
    fn aad(self) -> &'static [u8] {
        match self {
            Purpose::Pick => b"idbroker console pick v1",
            Purpose::Console => b"idbroker console session v1",
            Purpose::OidcLogin => b"idbroker console oidc login v1",
            Purpose::SigninToken => b"idbroker federation signin token v1",
            Purpose::AuthnRequest => b"idbroker saml authn request v1",
            Purpose::CliFlow => b"idbroker cli flow v1",
            Purpose::CliCode => b"idbroker cli code v1",
            Purpose::CliTicket => b"idbroker cli ticket v1",
            Purpose::DeviceCode => b"idbroker device code v1",
            Purpose::DeviceRequest => b"idbroker device request v1",
            Purpose::DeviceForm => b"idbroker device form v1",
            Purpose::PasswordForm => b"idbroker password form v1",
            Purpose::PasswordPending => b"idbroker password pending v1",
            Purpose::DevIdpSaml => b"idbroker dev idp saml request v1",
            Purpose::DevIdpAuthorize => b"idbroker dev idp oidc authorize v1",
            Purpose::DevIdpCode => b"idbroker dev idp oidc code v1",
        }
    }
}

/// The console key. Nonces are random (96 bits), which bounds one key to well under 2^32
/// sealed values: rotate the key (`console.cookie_key`) long before that.
pub struct Sealer {
    key: RandomizedNonceKey,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(..)")
    }
}

/// A value that could not be sealed (the random source failed).
#[derive(Debug, thiserror::Error)]
#[error("sealing failed")]
pub struct SealError;

impl Sealer {
    /// A sealer over a 32-byte key.
    pub fn new(key: &[u8]) -> Result<Self, String> {
        if key.len() != 32 {
            return Err(format!(
                "a console key is 32 bytes, this one is {}",
                key.len()
            ));
        }
        let key = RandomizedNonceKey::new(&AES_256_GCM, key).map_err(|_| "bad key".to_owned())?;
        Ok(Sealer { key })
    }

    /// A sealer over a fresh random key (console sessions then end with the process).
    pub fn ephemeral() -> Result<Self, String> {
        let mut key = Zeroizing::new([0u8; 32]);
        aws_lc_rs::rand::fill(key.as_mut_slice()).map_err(|_| "no randomness".to_owned())?;
        Sealer::new(key.as_slice())
    }

    /// Seal `value` (as JSON) for `purpose`: base64url text, safe in a cookie, a URL or an XML ID.
    pub fn seal<T: Serialize>(&self, purpose: Purpose, value: &T) -> Result<String, SealError> {
        let json = Zeroizing::new(serde_json::to_vec(value).map_err(|_| SealError)?);
        let mut in_out = Zeroizing::new(Vec::with_capacity(json.len() + 16));
        in_out.extend_from_slice(&json);
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(purpose.aad()), &mut *in_out)
            .map_err(|_| SealError)?;
        let mut out = Vec::with_capacity(NONCE_LEN + in_out.len());
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&in_out);
        Ok(data_encoding::BASE64URL_NOPAD.encode(&out))
    }

    /// Open a value sealed for `purpose`; `None` for anything else (changed, truncated, another
    /// purpose, another key). No reason is given: there is no oracle to probe.
    pub fn open<T: DeserializeOwned>(&self, purpose: Purpose, text: &str) -> Option<T> {
        if text.len() > 8192 {
            return None;
        }
        let raw = data_encoding::BASE64URL_NOPAD
            .decode(text.as_bytes())
            .ok()?;
        let (nonce, sealed) = raw.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut in_out = Zeroizing::new(sealed.to_vec());
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(purpose.aad()), in_out.as_mut_slice())
            .ok()?;
        serde_json::from_slice(plain).ok()
    }
}

/// Equal, compared in constant time (CSRF tokens, OIDC `state` and `nonce`).
pub fn same(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// `n` random bytes, hex.
pub fn random_hex(n: usize) -> Result<String, SealError> {
    let mut b = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| SealError)?;
    Ok(data_encoding::HEXLOWER.encode(&b))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_and_purpose_binding() {
        let s = Sealer::new(&[7u8; 32]).unwrap();
        let t = s.seal(Purpose::Pick, &("a", 1u32)).unwrap();
        assert_eq!(
            s.open::<(String, u32)>(Purpose::Pick, &t),
            Some(("a".into(), 1))
        );
        // Another purpose, another key, a changed byte: all refused.
        assert_eq!(s.open::<(String, u32)>(Purpose::Console, &t), None);
        let other = Sealer::new(&[8u8; 32]).unwrap();
        assert_eq!(other.open::<(String, u32)>(Purpose::Pick, &t), None);
        let mut bytes = data_encoding::BASE64URL_NOPAD.decode(t.as_bytes()).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let changed = data_encoding::BASE64URL_NOPAD.encode(&bytes);
        assert_eq!(s.open::<(String, u32)>(Purpose::Pick, &changed), None);
        assert_eq!(s.open::<(String, u32)>(Purpose::Pick, "x"), None);
        assert_eq!(s.open::<(String, u32)>(Purpose::Pick, ""), None);
    }

    #[test]
    fn sealed_text_is_url_and_ncname_safe() {
        let s = Sealer::ephemeral().unwrap();
        let t = s.seal(Purpose::AuthnRequest, &"x").unwrap();
        assert!(t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert!(Sealer::new(&[0u8; 16]).is_err());
    }
}
