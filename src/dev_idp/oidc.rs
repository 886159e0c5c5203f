//! The development IdP's OpenID Connect side: the authorization code flow with PKCE (S256).
//! Discovery ([`DevIdp::discovery`]), the authorization request checked before anything is
//! shown ([`DevIdp::authorize`]: a known client, the one redirect URI, state, nonce, an S256
//! challenge), the person chosen turned into a sealed single-use code ([`DevIdp::choose`]), and
//! the token endpoint ([`DevIdp::token`]): the code opened, the client authenticated, the code
//! used once (the session store), the redirect URI and the verifier matched, then an ID token
//! signed with the demo key.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::config::{Client, DevIdp, OidcSide, Person};
use super::error::{DevIdpError, TokenError};
use super::keys;
use crate::clock::epoch;
use crate::console::seal::{self, Purpose};

/// How long a code may wait for its exchange, seconds.
pub const CODE_TTL: u64 = 60;
/// An ID token's life, seconds.
pub const ID_TOKEN_TTL: u64 = 300;
/// How long the people page's form may wait for a choice, seconds.
pub const FORM_TTL: u64 = 600;
/// Longest `state` and `nonce`.
const MAX_OPAQUE: usize = 512;
/// Longest client ID and secret.
const MAX_CLIENT: usize = 256;
/// The store namespace of used codes.
const CODE_NAMESPACE: &str = "devidp_code";

/// The parameters of an authorization request, as received (absent: `None`).
#[derive(Debug, Default, Clone, Copy)]
pub struct AuthorizeParams<'a> {
    /// `response_type`
    pub response_type: Option<&'a str>,
    /// `client_id`
    pub client_id: Option<&'a str>,
    /// `redirect_uri`
    pub redirect_uri: Option<&'a str>,
    /// `scope`
    pub scope: Option<&'a str>,
    /// `state`
    pub state: Option<&'a str>,
    /// `nonce`
    pub nonce: Option<&'a str>,
    /// `code_challenge`
    pub code_challenge: Option<&'a str>,
    /// `code_challenge_method`
    pub code_challenge_method: Option<&'a str>,
}

/// An authorization request waiting for the person's choice (sealed in the people page's form).
#[derive(Debug, Serialize, Deserialize)]
struct PendingAuthorize {
    client_id: String,
    state: String,
    nonce: String,
    challenge: String,
    exp: u64,
}

/// An authorization code's content (sealed; used once by `id`).
#[derive(Debug, Serialize, Deserialize)]
struct Code {
    id: String,
    person: String,
    client_id: String,
    redirect_uri: String,
    nonce: String,
    challenge: String,
    exp: u64,
}

/// A token request, as received. Client credentials come from HTTP Basic
/// (`client_secret_basic`, already decoded) or the form (`client_secret_post`, or a public
/// client's `client_id`).
#[derive(Debug, Default, Clone, Copy)]
pub struct TokenRequest<'a> {
    /// `grant_type`
    pub grant_type: Option<&'a str>,
    /// `code`
    pub code: Option<&'a str>,
    /// `code_verifier`
    pub code_verifier: Option<&'a str>,
    /// `redirect_uri`
    pub redirect_uri: Option<&'a str>,
    /// `client_id` of the form.
    pub client_id: Option<&'a str>,
    /// `client_secret` of the form.
    pub client_secret: Option<&'a str>,
    /// `(client_id, client_secret)` of an `Authorization: Basic` header.
    pub basic: Option<(&'a str, &'a str)>,
}

/// The token endpoint's answer.
#[derive(Debug, Serialize)]
pub struct TokenAnswer {
    /// An opaque token (idbroker accepts it nowhere).
    pub access_token: String,
    /// `Bearer`.
    pub token_type: &'static str,
    /// The ID token's life, seconds.
    pub expires_in: u64,
    /// The ID token (RS256, the demo key).
    pub id_token: String,
}

/// The S256 challenge of `verifier`: `BASE64URL(SHA256(verifier))`.
fn s256(verifier: &str) -> String {
    use sha2::Digest;
    data_encoding::BASE64URL_NOPAD.encode(&sha2::Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636: 43..128 of `[A-Za-z0-9-._~]` (a verifier; an S256 challenge is 43 of them).
fn pkce_chars(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn opaque_ok(s: &str) -> bool {
    (1..=MAX_OPAQUE).contains(&s.len()) && !s.chars().any(char::is_control)
}

impl DevIdp {
    fn oidc_side(&self) -> Result<&OidcSide, DevIdpError> {
        self.oidc.as_ref().ok_or_else(|| {
            DevIdpError::NotServed(
                "The development IdP has no OpenID Connect side (no [[oidc_providers]] of its issuer)".into(),
            )
        })
    }

    /// The discovery document (`/.well-known/openid-configuration`), when the OIDC side is on.
    pub fn discovery(&self) -> Result<serde_json::Value, DevIdpError> {
        let side = self.oidc_side()?;
        let at = |path: &str| format!("{}/{path}", side.issuer);
        Ok(serde_json::json!({
            "issuer": side.issuer,
            "authorization_endpoint": at("authorize"),
            "token_endpoint": at("token"),
            "jwks_uri": at("jwks"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "scopes_supported": ["openid", "email", "profile"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "email", "email_verified", "name", "groups"],
        }))
    }

    /// The demo JWKS (`/jwks`), when the OIDC side is on.
    pub fn jwks(&self) -> Result<&'static str, DevIdpError> {
        self.oidc_side().map(|_| keys::OIDC_JWKS)
    }

    /// An authorization request, checked whole before any page is shown (a wrong client or
    /// redirect URI is said on a page, never redirected to): `response_type=code`, a client of
    /// the provider, `redirect_uri` exactly the console's callback, `openid` in the scope,
    /// `state`, `nonce`, and an S256 `code_challenge`. Returns the sealed form value.
    pub fn authorize(
        &self,
        p: &AuthorizeParams<'_>,
        now: SystemTime,
    ) -> Result<String, DevIdpError> {
        let side = self.oidc_side()?;
        let bad = |m: &str| DevIdpError::BadRequest(m.to_owned());
        let client_id = p
            .client_id
            .filter(|c| side.clients.iter().any(|k| k.id == *c))
            .ok_or_else(|| bad("Unknown client_id"))?;
        if p.redirect_uri != Some(side.redirect_uri.as_str()) {
            return Err(DevIdpError::BadRequest(format!(
                "The redirect_uri must be exactly {} (the development IdP sends codes nowhere else)",
                side.redirect_uri
            )));
        }
        if p.response_type != Some("code") {
            return Err(bad("Only response_type=code (the authorization code flow)"));
        }
        if !p
            .scope
            .is_some_and(|s| s.len() <= 1024 && s.split(' ').any(|x| x == "openid"))
        {
            return Err(bad("The scope must include openid"));
        }
        let state = p
            .state
            .filter(|s| opaque_ok(s))
            .ok_or_else(|| bad("A state is required (1..512 characters)"))?;
        let nonce = p
            .nonce
            .filter(|s| opaque_ok(s))
            .ok_or_else(|| bad("A nonce is required (1..512 characters)"))?;
        if p.code_challenge_method != Some("S256") {
            return Err(bad("PKCE is required: code_challenge_method=S256"));
        }
        let challenge = p
            .code_challenge
            .filter(|c| c.len() == 43 && pkce_chars(c))
            .ok_or_else(|| bad("PKCE is required: an S256 code_challenge (43 characters)"))?;
        Ok(self.sealer.seal(
            Purpose::DevIdpAuthorize,
            &PendingAuthorize {
                client_id: client_id.to_owned(),
                state: state.to_owned(),
                nonce: nonce.to_owned(),
                challenge: challenge.to_owned(),
                exp: epoch(now) + FORM_TTL,
            },
        )?)
    }

    /// The people page's choice: the sealed request (made by [`DevIdp::authorize`], not expired)
    /// answered for `person` with a code (sealed, [`CODE_TTL`] seconds, single use). Returns
    /// where to send the browser: the redirect URI with `code` and `state`.
    pub fn choose(
        &self,
        sealed: &str,
        person: &str,
        now: SystemTime,
    ) -> Result<String, DevIdpError> {
        let side = self.oidc_side()?;
        let (pending, person) = self.chosen(
            Purpose::DevIdpAuthorize,
            sealed,
            |p: &PendingAuthorize| p.exp,
            person,
            now,
        )?;
        let code = self.sealer.seal(
            Purpose::DevIdpCode,
            &Code {
                id: seal::random_hex(16)?,
                person: person.name.clone(),
                client_id: pending.client_id,
                redirect_uri: side.redirect_uri.clone(),
                nonce: pending.nonce,
                challenge: pending.challenge,
                exp: epoch(now) + CODE_TTL,
            },
        )?;
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("code", &code)
            .append_pair("state", &pending.state)
            .finish();
        Ok(format!("{}?{query}", side.redirect_uri))
    }

    /// The client the request authenticates as: named once (Basic or the form, the same if
    /// both), one of the provider's (else `invalid_grant`: no code was issued to it), with its
    /// secret when it has one (compared in constant time; else `invalid_client`).
    fn client(&self, side: &'_ OidcSide, r: &TokenRequest<'_>) -> Result<String, TokenError> {
        let (id, secret) = match (r.basic, r.client_id) {
            (Some((id, secret)), form) => {
                if form.is_some_and(|f| f != id) || r.client_secret.is_some() {
                    return Err(TokenError::InvalidRequest(
                        "one client authentication method only",
                    ));
                }
                (id, Some(secret))
            }
            (None, Some(id)) => (id, r.client_secret),
            (None, None) => return Err(TokenError::InvalidClient),
        };
        if id.len() > MAX_CLIENT || secret.is_some_and(|s| s.len() > MAX_CLIENT) {
            return Err(TokenError::InvalidClient);
        }
        // An unknown client cannot be the code's: the grant is refused as for another client.
        let client: &Client =
            side.clients
                .iter()
                .find(|c| c.id == id)
                .ok_or(TokenError::InvalidGrant(
                    "the code was issued to another client",
                ))?;
        if let Some(expected) = &client.secret {
            if !secret.is_some_and(|s| seal::same(s, expected)) {
                return Err(TokenError::InvalidClient);
            }
        }
        Ok(client.id.clone())
    }

    /// The token endpoint: `grant_type=authorization_code`; the code opened (sealed here, not
    /// expired); the client authenticated and the code's; the code used once (`store`); the
    /// redirect URI the code's; the verifier's S256 the code's challenge. Then an ID token for
    /// the code's person (see [`id_token_claims`]).
    pub async fn token(
        &self,
        r: &TokenRequest<'_>,
        store: &dyn idbroker_session::SessionStore,
        now: SystemTime,
    ) -> Result<TokenAnswer, TokenError> {
        let side = self
            .oidc
            .as_ref()
            .ok_or(TokenError::InvalidRequest("no OpenID Connect side"))?;
        match r.grant_type {
            Some("authorization_code") => {}
            Some(_) => return Err(TokenError::UnsupportedGrantType),
            None => return Err(TokenError::InvalidRequest("grant_type is required")),
        }
        let sealed = r
            .code
            .ok_or(TokenError::InvalidRequest("code is required"))?;
        let now_s = epoch(now);
        let code: Code = self
            .sealer
            .open(Purpose::DevIdpCode, sealed)
            .ok_or(TokenError::InvalidGrant("the code is not valid"))?;
        if code.exp <= now_s {
            return Err(TokenError::InvalidGrant("the code has expired"));
        }
        let client = self.client(side, r)?;
        if client != code.client_id {
            return Err(TokenError::InvalidGrant(
                "the code was issued to another client",
            ));
        }
        // Single use from here on: a presented code is spent, whatever follows.
        match store
            .use_once(CODE_NAMESPACE, &code.id, code.exp, now_s)
            .await
        {
            Ok(()) => {}
            Err(idbroker_session::SessionError::Replay) => {
                return Err(TokenError::InvalidGrant("the code was already used"))
            }
            Err(idbroker_session::SessionError::Expired) => {
                return Err(TokenError::InvalidGrant("the code has expired"))
            }
            Err(_) => return Err(TokenError::Unavailable),
        }
        if r.redirect_uri != Some(code.redirect_uri.as_str()) {
            return Err(TokenError::InvalidGrant(
                "the redirect_uri is not the code's",
            ));
        }
        let verifier = r
            .code_verifier
            .ok_or(TokenError::InvalidGrant("code_verifier is required"))?;
        if !pkce_chars(verifier) || !seal::same(&s256(verifier), &code.challenge) {
            return Err(TokenError::InvalidGrant("the code_verifier does not match"));
        }
        let person = self
            .person(&code.person)
            .ok_or(TokenError::InvalidGrant("the person is gone"))?;
        let claims = id_token_claims(side, person, &client, &code.nonce, now_s);
        let id_token = crate::federation::oidc::sign_with_demo_key(keys::OIDC_KEY_PEM, &claims)
            .map_err(|e| {
                tracing::error!(error = %e, "development IdP: signing the ID token failed");
                TokenError::Internal
            })?;
        tracing::warn!(person = %person.name, client = %client, "DEVELOPMENT IdP issued an ID token");
        Ok(TokenAnswer {
            access_token: seal::random_hex(32).map_err(|_| TokenError::Internal)?,
            token_type: "Bearer",
            expires_in: ID_TOKEN_TTL,
            id_token,
        })
    }
}

/// The ID token's claims: `iss`, `sub` (`demo-NAME`), `aud` (the client), `exp`, `iat`, `nbf`,
/// `jti`, `nonce`, `email` (verified), `name`, `groups`.
fn id_token_claims(
    side: &OidcSide,
    person: &Person,
    client: &str,
    nonce: &str,
    now_s: u64,
) -> serde_json::Value {
    serde_json::json!({
        "iss": side.issuer,
        "sub": person.subject(),
        "aud": client,
        "exp": now_s + ID_TOKEN_TTL,
        "iat": now_s,
        "nbf": now_s,
        "auth_time": now_s,
        "jti": uuid::Uuid::new_v4().to_string(),
        "nonce": nonce,
        "email": person.email,
        "email_verified": true,
        "name": person.display_name,
        "groups": person.groups,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use super::*;
    use crate::dev_idp::config::testing::{at, demo_text, load};

    const VERIFIER: &str = "a-verifier-of-forty-three-characters-or-more-0123456789";
    const REDIRECT: &str = "http://127.0.0.1:8080/console/oidc/callback";

    fn params<'a>(challenge: &'a str) -> AuthorizeParams<'a> {
        AuthorizeParams {
            response_type: Some("code"),
            client_id: Some("idbroker-console"),
            redirect_uri: Some(REDIRECT),
            scope: Some("openid email profile"),
            state: Some("st"),
            nonce: Some("n0nce"),
            code_challenge: Some(challenge),
            code_challenge_method: Some("S256"),
        }
    }

    fn code_of(location: &str) -> String {
        let query = location.split_once('?').unwrap().1;
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned()
    }

    fn exchange<'a>(code: &'a str, verifier: &'a str) -> TokenRequest<'a> {
        TokenRequest {
            grant_type: Some("authorization_code"),
            code: Some(code),
            code_verifier: Some(verifier),
            redirect_uri: Some(REDIRECT),
            client_id: Some("idbroker-console"),
            ..TokenRequest::default()
        }
    }

    #[test]
    fn authorization_requests_are_checked_before_any_page() {
        let cfg = load(&demo_text()).unwrap();
        let idp = cfg.dev_idp.as_ref().unwrap();
        let challenge = s256(VERIFIER);
        assert!(idp.authorize(&params(&challenge), at()).is_ok());
        let refused = |p: AuthorizeParams<'_>| idp.authorize(&p, at()).unwrap_err().to_string();
        let ok = params(&challenge);
        assert!(refused(AuthorizeParams {
            client_id: Some("other"),
            ..ok
        })
        .contains("client_id"));
        assert!(refused(AuthorizeParams {
            client_id: None,
            ..ok
        })
        .contains("client_id"));
        for r in [
            "https://evil.example/callback",
            "http://127.0.0.1:8080/console/oidc/callback/../x",
            "http://127.0.0.1:8080/console/oidc/callback?x=1",
            "http://127.0.0.1:8080/console/oidc/callbacks",
        ] {
            assert!(
                refused(AuthorizeParams {
                    redirect_uri: Some(r),
                    ..ok
                })
                .contains("redirect_uri"),
                "{r}"
            );
        }
        assert!(refused(AuthorizeParams {
            redirect_uri: None,
            ..ok
        })
        .contains("redirect_uri"));
        assert!(refused(AuthorizeParams {
            response_type: Some("token"),
            ..ok
        })
        .contains("code"));
        assert!(refused(AuthorizeParams {
            scope: Some("email"),
            ..ok
        })
        .contains("openid"));
        assert!(refused(AuthorizeParams { state: None, ..ok }).contains("state"));
        assert!(refused(AuthorizeParams { nonce: None, ..ok }).contains("nonce"));
        assert!(refused(AuthorizeParams {
            code_challenge_method: Some("plain"),
            ..ok
        })
        .contains("PKCE"));
        assert!(refused(AuthorizeParams {
            code_challenge_method: None,
            ..ok
        })
        .contains("PKCE"));
        assert!(refused(AuthorizeParams {
            code_challenge: None,
            ..ok
        })
        .contains("PKCE"));
        assert!(refused(AuthorizeParams {
            code_challenge: Some("short"),
            ..ok
        })
        .contains("PKCE"));
        let long = "s".repeat(MAX_OPAQUE + 1);
        assert!(refused(AuthorizeParams {
            state: Some(&long),
            ..ok
        })
        .contains("state"));
    }

    #[tokio::test]
    async fn codes_are_single_use_and_bound_to_client_redirect_and_verifier() {
        let cfg = load(&demo_text()).unwrap();
        let idp = cfg.dev_idp.as_ref().unwrap();
        let store = idbroker_session::MemoryStore::new();
        let now = at();
        let challenge = s256(VERIFIER);
        let fresh = || {
            let sealed = idp.authorize(&params(&challenge), now).unwrap();
            let to = idp.choose(&sealed, "bob", now).unwrap();
            assert!(to.starts_with(&format!("{REDIRECT}?code=")), "{to}");
            assert!(to.ends_with("&state=st"), "{to}");
            code_of(&to)
        };
        // The form: another person, another purpose, expired.
        let sealed = idp.authorize(&params(&challenge), now).unwrap();
        assert!(matches!(
            idp.choose(&sealed, "mallory", now),
            Err(DevIdpError::BadRequest(_))
        ));
        let later = now + Duration::from_secs(FORM_TTL);
        assert!(matches!(
            idp.choose(&sealed, "bob", later),
            Err(DevIdpError::Expired(_))
        ));
        let code = fresh();
        assert!(matches!(
            idp.choose(&code, "bob", now),
            Err(DevIdpError::Expired(_))
        ));

        let grant = |e: Result<TokenAnswer, TokenError>| match e {
            Err(e) => e.code(),
            Ok(_) => "ok",
        };
        // Wrong verifier: refused, and the code is spent.
        let code = fresh();
        let wrong = "b-verifier-of-forty-three-characters-or-more-0123456789";
        assert_eq!(
            grant(idp.token(&exchange(&code, wrong), &store, now).await),
            "invalid_grant"
        );
        assert_eq!(
            grant(idp.token(&exchange(&code, VERIFIER), &store, now).await),
            "invalid_grant"
        );
        // Wrong redirect URI, another client, expired.
        let code = fresh();
        let r = TokenRequest {
            redirect_uri: Some("https://evil.example/cb"),
            ..exchange(&code, VERIFIER)
        };
        assert_eq!(grant(idp.token(&r, &store, now).await), "invalid_grant");
        let code = fresh();
        let r = TokenRequest {
            client_id: Some("other"),
            ..exchange(&code, VERIFIER)
        };
        assert_eq!(grant(idp.token(&r, &store, now).await), "invalid_grant");
        let r = TokenRequest {
            client_id: None,
            ..exchange(&code, VERIFIER)
        };
        assert_eq!(grant(idp.token(&r, &store, now).await), "invalid_client");
        let late = now + Duration::from_secs(CODE_TTL);
        assert_eq!(
            grant(idp.token(&exchange(&code, VERIFIER), &store, late).await),
            "invalid_grant"
        );
        let r = TokenRequest {
            grant_type: Some("refresh_token"),
            ..exchange(&code, VERIFIER)
        };
        assert_eq!(
            grant(idp.token(&r, &store, now).await),
            "unsupported_grant_type"
        );
        let r = TokenRequest {
            code: Some("forged"),
            ..exchange(&code, VERIFIER)
        };
        assert_eq!(grant(idp.token(&r, &store, now).await), "invalid_grant");

        // The right exchange, once.
        let answer = idp
            .token(&exchange(&code, VERIFIER), &store, now)
            .await
            .unwrap();
        assert_eq!(answer.token_type, "Bearer");
        assert_eq!(
            grant(idp.token(&exchange(&code, VERIFIER), &store, now).await),
            "invalid_grant"
        );
        // Basic authentication of the same (public) client works too.
        let code = fresh();
        let r = TokenRequest {
            client_id: None,
            basic: Some(("idbroker-console", "")),
            ..exchange(&code, VERIFIER)
        };
        assert!(idp.token(&r, &store, now).await.is_ok());

        // The ID token verifies with idbroker's own verifier (the demo's pinned provider).
        let oidc = crate::federation::oidc::OidcFederation::new(&cfg.oidc_providers, None).unwrap();
        let token = oidc.verify(&answer.id_token, &store, now).await.unwrap();
        assert_eq!(token.subject(), "demo-bob");
        assert_eq!(token.audience(), "idbroker-console");
        assert_eq!(token.nonce().as_deref(), Some("n0nce"));
        assert_eq!(token.verified_email(), Some("bob@example.com"));
        let claims: serde_json::Value = serde_json::from_slice(
            &data_encoding::BASE64URL_NOPAD
                .decode(answer.id_token.split('.').nth(1).unwrap().as_bytes())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["groups"], serde_json::json!(["developers"]));
        assert_eq!(claims["iss"], "http://127.0.0.1:8080/dev/idp/oidc");
        let doc = idp.discovery().unwrap();
        assert_eq!(
            doc["token_endpoint"],
            "http://127.0.0.1:8080/dev/idp/oidc/token"
        );
        assert_eq!(
            doc["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
    }

    #[tokio::test]
    async fn a_confidential_client_must_authenticate() {
        let text = demo_text().replacen(
            "client_id = \"idbroker-console\"\n",
            "client_id = \"idbroker-console\"\nclient_secret = { value = \"s3cret-s3cret-s3cret\" }\n",
            1,
        );
        let cfg = load(&text).unwrap();
        let idp = cfg.dev_idp.as_ref().unwrap();
        let store = idbroker_session::MemoryStore::new();
        let challenge = s256(VERIFIER);
        let code = || {
            let sealed = idp.authorize(&params(&challenge), at()).unwrap();
            code_of(&idp.choose(&sealed, "alice", at()).unwrap())
        };
        let c = code();
        let public = exchange(&c, VERIFIER);
        assert_eq!(
            idp.token(&public, &store, at()).await.unwrap_err(),
            TokenError::InvalidClient
        );
        let wrong = TokenRequest {
            client_secret: Some("nope"),
            ..public
        };
        assert_eq!(
            idp.token(&wrong, &store, at()).await.unwrap_err(),
            TokenError::InvalidClient
        );
        let post = TokenRequest {
            client_secret: Some("s3cret-s3cret-s3cret"),
            ..public
        };
        assert!(idp.token(&post, &store, at()).await.is_ok());
        let c = code();
        let basic = TokenRequest {
            client_id: None,
            basic: Some(("idbroker-console", "s3cret-s3cret-s3cret")),
            ..exchange(&c, VERIFIER)
        };
        assert!(idp.token(&basic, &store, at()).await.is_ok());
    }
}
