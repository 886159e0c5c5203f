//! Console login with an OpenID Provider: the authorization code flow with PKCE (S256), state
//! and nonce, through the `openidconnect` crate (discovery, the authorization URL, the code
//! exchange). The ID token that comes back is then validated by idbroker's own verifier, as
//! for AssumeRoleWithWebIdentity (issue #5), plus the nonce of this login.

use std::sync::Arc;
use std::time::Duration;

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope,
};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use super::{ConsoleError, OidcLogin};
use crate::clock::Stopwatch;

/// How long discovered provider metadata is used before it is fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// Largest answer read from the provider.
const MAX_BODY: usize = 1 << 20;

/// An OIDC login in flight (sealed in the `idb_oidc` cookie until the provider sends the
/// browser back).
#[derive(Serialize, Deserialize)]
pub struct LoginState {
    /// Provider login name.
    pub provider: String,
    /// `state`, compared with what comes back.
    pub state: String,
    /// `nonce`, compared with the ID token's.
    pub nonce: String,
    /// The PKCE code verifier.
    pub verifier: String,
    /// Expiry, epoch seconds.
    pub exp: u64,
    /// Where to go after sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

impl std::fmt::Debug for LoginState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginState")
            .field("provider", &self.provider)
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct HttpError(String);

/// Discovery and token requests, over idbroker's own HTTP client (rustls on aws-lc-rs, no
/// redirects followed, bounded in time and size).
#[derive(Debug)]
pub struct OidcLogins {
    client: reqwest::Client,
    metadata: RwLock<Vec<(String, Stopwatch, CoreProviderMetadata)>>,
}

fn idp_error(what: &str, e: impl std::fmt::Display) -> ConsoleError {
    ConsoleError::Idp(format!("{what}: {e}"))
}

async fn call(
    client: reqwest::Client,
    timeout: Duration,
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = req.into_parts();
    let mut rb = client
        .request(parts.method, parts.uri.to_string())
        .timeout(timeout)
        .body(body);
    for (k, v) in &parts.headers {
        rb = rb.header(k, v);
    }
    let resp = rb.send().await.map_err(|e| HttpError(e.to_string()))?;
    let mut builder = openidconnect::http::Response::builder().status(resp.status());
    for (k, v) in resp.headers() {
        builder = builder.header(k, v);
    }
    if resp.content_length().is_some_and(|l| l > MAX_BODY as u64) {
        return Err(HttpError("answer too large".into()));
    }
    let bytes = resp.bytes().await.map_err(|e| HttpError(e.to_string()))?;
    if bytes.len() > MAX_BODY {
        return Err(HttpError("answer too large".into()));
    }
    builder
        .body(bytes.to_vec())
        .map_err(|e| HttpError(e.to_string()))
}

impl OidcLogins {
    /// A client for the console's OIDC logins.
    pub fn new() -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(OidcLogins {
            client,
            metadata: RwLock::new(Vec::new()),
        })
    }

    async fn provider_metadata(
        &self,
        login: &OidcLogin,
    ) -> Result<CoreProviderMetadata, ConsoleError> {
        if let Some((_, at, md)) = self
            .metadata
            .read()
            .await
            .iter()
            .find(|(name, _, _)| *name == login.name)
        {
            if at.elapsed() < METADATA_TTL {
                return Ok(md.clone());
            }
        }
        crate::federation::oidc::check_url(&login.issuer, login.allow_http_loopback)
            .map_err(|e| idp_error("issuer", e))?;
        let issuer = IssuerUrl::new(login.issuer.clone()).map_err(|e| idp_error("issuer", e))?;
        let (client, timeout) = (self.client.clone(), login.fetch_timeout);
        let http = move |r| call(client.clone(), timeout, r);
        let md = CoreProviderMetadata::discover_async(issuer, &http)
            .await
            .map_err(|e| idp_error("The identity provider's discovery document", e))?;
        let mut cache = self.metadata.write().await;
        cache.retain(|(name, _, _)| *name != login.name);
        cache.push((login.name.clone(), Stopwatch::start(), md.clone()));
        Ok(md)
    }

    fn client(
        login: &OidcLogin,
        md: CoreProviderMetadata,
        redirect: &str,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        ConsoleError,
    > {
        let secret = login
            .client_secret
            .as_ref()
            .map(|s| ClientSecret::new(s.to_string()));
        Ok(
            CoreClient::from_provider_metadata(md, ClientId::new(login.client_id.clone()), secret)
                .set_redirect_uri(
                    RedirectUrl::new(redirect.to_owned()).map_err(|_| ConsoleError::Internal)?,
                ),
        )
    }

    /// Where to send the browser to log in, and the state to keep (sealed) until it comes back.
    pub async fn start(
        &self,
        login: &OidcLogin,
        redirect: &str,
        to: Option<String>,
        now_s: u64,
    ) -> Result<(String, LoginState), ConsoleError> {
        let md = self.provider_metadata(login).await?;
        let client = Self::client(login, md, redirect)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for s in &login.scopes {
            req = req.add_scope(Scope::new(s.clone()));
        }
        let (url, state, nonce) = req.set_pkce_challenge(challenge).url();
        Ok((
            url.to_string(),
            LoginState {
                provider: login.name.clone(),
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                verifier: verifier.secret().clone(),
                exp: now_s + super::browser::LOGIN_TTL,
                to,
            },
        ))
    }

    /// Exchange the code for tokens (with the PKCE verifier) and return the raw ID token.
    pub async fn finish(
        &self,
        login: &OidcLogin,
        redirect: &str,
        state: &LoginState,
        code: &str,
    ) -> Result<String, ConsoleError> {
        let md = self.provider_metadata(login).await?;
        let client = Self::client(login, md, redirect)?;
        let (http_client, timeout) = (self.client.clone(), login.fetch_timeout);
        let http = move |r| call(http_client.clone(), timeout, r);
        let resp = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| idp_error("The identity provider has no token endpoint", e))?
            .set_pkce_verifier(PkceCodeVerifier::new(state.verifier.clone()))
            .request_async(&http)
            .await
            .map_err(|e| idp_error("The identity provider refused the authorization code", e))?;
        use openidconnect::TokenResponse as _;
        resp.id_token()
            .map(ToString::to_string)
            .ok_or_else(|| ConsoleError::Idp("The identity provider returned no ID token".into()))
    }
}

/// Shared by every worker.
pub type SharedLogins = Arc<OidcLogins>;
