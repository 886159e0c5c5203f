//! DEVELOPMENT ONLY: the demo provider of config/demo/idbroker.toml (its issuer, client ID and
//! key id), [`demo_token`], a token of that provider signed with the demo key, and
//! [`sign_with_demo_key`], any claims signed with it (the development IdP's ID tokens).

use std::time::SystemTime;

use jsonwebtoken::Algorithm;

use crate::clock::epoch;

/// The demo provider's issuer (config/demo/idbroker.toml). [`demo_token`] signs for it alone.
pub const DEMO_ISSUER: &str = "https://oidc.demo.idbroker.invalid";
/// The demo provider's client ID.
pub const DEMO_CLIENT_ID: &str = "idbroker-demo";
/// The kid of the demo key (certs/make-demo-oidc.sh).
pub const DEMO_KID: &str = "idbroker-demo-1";

/// DEVELOPMENT ONLY: a token of the demo provider for `sub`, signed (RS256) with the demo key
/// (`certs/demo/oidc-demo.key`, PEM), valid `lifetime` seconds from `now`. The issuer, audience
/// and kid are the demo provider's, so the token is accepted only where the demo provider is
/// configured.
pub fn demo_token(
    key_pem: &[u8],
    sub: &str,
    now: SystemTime,
    lifetime: u64,
) -> Result<String, String> {
    let t = epoch(now);
    let claims = serde_json::json!({
        "iss": DEMO_ISSUER, "sub": sub, "aud": DEMO_CLIENT_ID,
        "iat": t, "nbf": t, "exp": t.saturating_add(lifetime),
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    sign_with_demo_key(key_pem, &claims)
}

/// DEVELOPMENT ONLY: `claims` as a compact JWS signed (RS256, `kid` [`DEMO_KID`]) with the demo
/// key in `key_pem` (PEM). Whoever pins the demo JWKS accepts it; nobody else should.
pub fn sign_with_demo_key(key_pem: &[u8], claims: &serde_json::Value) -> Result<String, String> {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(key_pem)
        .map_err(|e| format!("the demo key is not an RSA private key in PEM: {e}"))?;
    let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
    header.kid = Some(DEMO_KID.into());
    jsonwebtoken::encode(&header, claims, &key).map_err(|e| format!("signing: {e}"))
}
