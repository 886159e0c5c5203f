//! OpenID Connect federation: providers as AWS has them (issuer URL -> provider ARN, client IDs),
//! their signing keys (pinned, or fetched from `jwks_uri` found by discovery, cached by the
//! server's cache headers), and the validator that turns a raw JWT into a [`VerifiedIdToken`].
//!
//! What the validator checks, in order: size (≤ 20,000 characters), compact form (three
//! base64url parts, no padding, non-empty signature), header (`alg` one of the provider's
//! allowed algorithms and never `none` or HMAC; `crit`, `b64`, `enc`, `zip` refused; `jwk`,
//! `jku`, `x5u`, `x5c` never looked at), issuer (exact, chooses the provider), signature (key
//! chosen by `kid` from the provider's keys only; the algorithm must be one the key allows, taken
//! from the JWK's `alg` or its type and curve), audience (`azp` when present, else `aud`, must be
//! a configured client ID: AWS's rule), `exp` / `nbf` / `iat` against the `now` passed in with
//! the provider's leeway, `sub` present, and, when configured, `jti` used once.
//!
//! Keys: an unknown `kid` triggers one refetch of the JWKS, rate-limited per provider and shared
//! by concurrent requests; a failed fetch keeps the last good keys for a bounded time, and every
//! fetch outcome is reported to an observer (the server counts them in /metrics) and logged.
//! Every fetch is bounded by a timeout and a body size limit; remote issuers and JWKS URLs must
//! be HTTPS (plain HTTP only on loopback, and only when the provider allows it).
//!
//! The parts: `config.rs`, the `[[oidc_providers]]` section and its validation; `jwk.rs`, a
//! JWKS read into verification keys and a compact JWS checked with them; `provider.rs`, a
//! provider's key cache, discovery and fetches; `token.rs`, the claims checked into a
//! [`VerifiedIdToken`]; `error.rs`, [`OidcError`] and the answers a caller reads; `dev.rs`, the
//! demo provider's token. This file: [`OidcFederation`], the validator, which takes them in
//! that order.

mod config;
mod dev;
mod error;
mod jwk;
mod provider;
mod token;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use idbroker_session::{SessionError, SessionStore};
use tracing::instrument;

use crate::clock::epoch;
use crate::federation::fetch::{FetchObserver, Fetcher, HttpFetcher};

pub use config::{
    check_url, is_loopback_host, providers_from_raw, ClaimRule, KeySource, ProviderConfig,
    RawClaimRule, RawOidcLogin, RawOidcProvider,
};
pub use dev::{demo_token, sign_with_demo_key, DEMO_CLIENT_ID, DEMO_ISSUER, DEMO_KID};
pub use error::{OidcError, NOT_VERIFIED};
pub use jwk::{AlgSet, KeySet, SigFailure};
pub use provider::OidcProvider;
pub use token::{glob, session_name_from, TokenTags, VerifiedIdToken};

use error::{invalid, NOT_A_JWT};
use jwk::{b64url, split_compact};
use token::{check_claims, claims_jti, jti_key, Claims};

/// Longest token accepted, in characters (AWS's limit for `WebIdentityToken`).
pub const MAX_TOKEN_CHARS: usize = 20_000;

/// Every configured OIDC provider, by issuer, and the directory's (IAM's
/// CreateOpenIDConnectProvider), replaced whole with each directory version.
#[derive(Default)]
pub struct OidcFederation {
    providers: Vec<Arc<OidcProvider>>,
    by_issuer: HashMap<String, usize>,
    /// The directory's providers by issuer (a configured provider of the same issuer wins).
    directory: arc_swap::ArcSwap<HashMap<String, Arc<OidcProvider>>>,
    /// How the directory's providers fetch their keys.
    fetcher: Option<Arc<dyn Fetcher>>,
    observer: Option<FetchObserver>,
}

impl std::fmt::Debug for OidcFederation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcFederation")
            .field("providers", &self.providers)
            .field(
                "directory",
                &self.directory.load().keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl OidcFederation {
    /// The providers, fetching over HTTPS with [`HttpFetcher`].
    pub fn new(
        configs: &[ProviderConfig],
        observer: Option<FetchObserver>,
    ) -> Result<Self, String> {
        let fetcher: Arc<dyn Fetcher> = Arc::new(HttpFetcher::new()?);
        Ok(Self::with_fetcher(configs, fetcher, observer))
    }

    /// The providers with a given fetcher (tests pass their own).
    pub fn with_fetcher(
        configs: &[ProviderConfig],
        fetcher: Arc<dyn Fetcher>,
        observer: Option<FetchObserver>,
    ) -> Self {
        let mut f = OidcFederation {
            fetcher: Some(fetcher.clone()),
            observer: observer.clone(),
            ..OidcFederation::default()
        };
        for c in configs {
            f.by_issuer.insert(c.issuer.clone(), f.providers.len());
            f.providers.push(Arc::new(OidcProvider::new(
                c,
                fetcher.clone(),
                observer.clone(),
            )));
        }
        f
    }

    /// No provider configured.
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// Is there a configured provider (`[[oidc_providers]]`) of this ARN?
    pub fn configured(&self, arn: &str) -> bool {
        self.providers.iter().any(|p| p.config().arn == arn)
    }

    /// Put the directory's providers in force. A provider whose configuration did not change
    /// keeps its key cache; the others start empty (their keys are fetched on first use).
    pub fn set_directory_providers(&self, configs: &[ProviderConfig]) {
        let Some(fetcher) = &self.fetcher else {
            return;
        };
        let before = self.directory.load();
        let mut next = HashMap::new();
        for c in configs {
            if self.by_issuer.contains_key(&c.issuer) {
                continue;
            }
            let kept = before
                .get(&c.issuer)
                .filter(|p| {
                    let had = p.config();
                    had.arn == c.arn
                        && had.client_ids == c.client_ids
                        && had.allow_http_loopback == c.allow_http_loopback
                })
                .cloned();
            let p = kept.unwrap_or_else(|| {
                Arc::new(OidcProvider::new(c, fetcher.clone(), self.observer.clone()))
            });
            next.insert(c.issuer.clone(), p);
        }
        self.directory.store(Arc::new(next));
    }

    /// Validate a web identity token at `now`. `store` records `jti` when the provider asks for
    /// single use.
    #[instrument(level = "debug", skip_all)]
    pub async fn verify(
        &self,
        token: &str,
        store: &dyn SessionStore,
        now: SystemTime,
    ) -> Result<VerifiedIdToken, OidcError> {
        let now = epoch(now);
        if token.len() > MAX_TOKEN_CHARS {
            return Err(invalid("The token is longer than 20000 characters"));
        }
        let parts = split_compact(token).map_err(|_| invalid(NOT_A_JWT))?;
        // The claims are read before the signature is checked only to choose the provider; no
        // decision is taken on them until the signature over this same payload has verified.
        let payload = b64url(parts.payload).ok_or_else(|| invalid(NOT_A_JWT))?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| invalid(NOT_A_JWT))?;
        let iss = claims
            .iss
            .as_deref()
            .ok_or_else(|| invalid("The token has no iss claim"))?;
        let from_directory = self.directory.load();
        let provider = self
            .by_issuer
            .get(iss)
            .and_then(|i| self.providers.get(*i))
            .or_else(|| from_directory.get(iss))
            .ok_or_else(|| {
                let shown: String = iss.chars().take(200).collect();
                tracing::debug!(issuer = %shown, "web identity token refused: no provider has its issuer");
                invalid(NOT_VERIFIED)
            })?;
        let verified_payload = provider.verify_signature(token, now).await?;
        debug_assert_eq!(verified_payload, payload);
        let cfg = provider.config();
        let token = check_claims(cfg, claims, payload, now)?;
        if cfg.jti_replay_guard {
            let jti = claims_jti(&token)?;
            let id = jti_key(&cfg.issuer, &jti);
            let until = token.expires_at().saturating_add(cfg.leeway);
            match store.use_once("jti", &id, until, now).await {
                Ok(()) => {}
                Err(SessionError::Replay) => {
                    return Err(invalid("The token has already been used"))
                }
                Err(SessionError::Expired) => {
                    return Err(OidcError::Expired {
                        now,
                        exp: token.expires_at(),
                    })
                }
                Err(_) => return Err(OidcError::StoreUnavailable),
            }
        }
        Ok(token)
    }
}
