//! The demo's DEVELOPMENT-ONLY key material, compiled into the binary from `certs/demo` (made by
//! `certs/make-demo-saml.sh` and `certs/make-demo-oidc.sh`) and the demo secrets of
//! `config/demo/idbroker.toml`.
//!
//! Why compiled in rather than read from files named in the configuration: the development IdP
//! must only ever sign with keys that are public already (they are in the repository), and a
//! key it reads from a path could be a real one. With the keys in the binary there is no setting
//! that points the IdP at another key, and the start-up checks ([`super::config`]) compare the
//! configuration's trust anchors and secrets with these exact values. Nothing here is secret.

/// The demo SAML IdP's signing key (PEM): `certs/demo/saml-idp.key`.
pub const SAML_KEY_PEM: &[u8] = include_bytes!("../../certs/demo/saml-idp.key");
/// Its certificate (PEM): `certs/demo/saml-idp.crt`, the one `DemoIdP`'s metadata trusts.
pub const SAML_CERT_PEM: &[u8] = include_bytes!("../../certs/demo/saml-idp.crt");
/// The demo OIDC provider's signing key (PEM): `certs/demo/oidc-demo.key`.
pub const OIDC_KEY_PEM: &[u8] = include_bytes!("../../certs/demo/oidc-demo.key");
/// Its public JWKS: `certs/demo/oidc-demo-jwks.json` (served at `/dev/idp/oidc/jwks`).
pub const OIDC_JWKS: &str = include_str!("../../certs/demo/oidc-demo-jwks.json");
/// The demo's `[sealing]` key (`keys.demo` in `config/demo/idbroker.toml`), base64.
pub const SEALING_KEY_B64: &str = "aWRicm9rZXItZGVtby1zZWFsaW5nLWtleS0zMmJ5dGU=";
/// The demo's `[console] cookie_key`, base64 (`idbroker-demo-console-cookie-key`).
pub const COOKIE_KEY_B64: &str = "aWRicm9rZXItZGVtby1jb25zb2xlLWNvb2tpZS1rZXk=";

/// `b64` decoded (the constants above are valid base64: a test says so).
pub(super) fn decoded(b64: &str) -> Vec<u8> {
    data_encoding::BASE64
        .decode(b64.as_bytes())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_secrets_are_32_bytes() {
        assert_eq!(decoded(SEALING_KEY_B64).len(), 32);
        assert_eq!(decoded(COOKIE_KEY_B64).len(), 32);
    }
}
