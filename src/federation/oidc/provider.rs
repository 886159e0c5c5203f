//! One provider at run time: its keys, pinned or fetched (discovery, then the JWKS) and cached
//! as the server's cache headers say; an unknown `kid` refetched once, rate-limited and shared
//! by concurrent requests; the last good keys kept for a bounded time while fetches fail, every
//! outcome reported to the observer; and a token's signature checked with those keys.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Deserialize;
use tracing::{instrument, warn, Instrument};

use super::config::{check_url, KeySource, ProviderConfig};
use super::error::{signature_refusal, OidcError};
use super::jwk::{KeySet, SigFailure};
use crate::federation::fetch::{FetchObserver, Fetcher};

const KEY_UNAVAILABLE: &str = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements";

#[derive(Debug, Default)]
struct Cache {
    keys: Option<Arc<KeySet>>,
    generation: u64,
    fresh_until: u64,
    last_success: u64,
    last_attempt: Option<u64>,
    jwks_uri: Option<String>,
}

/// A provider with its key cache.
pub struct OidcProvider {
    config: Arc<ProviderConfig>,
    cache: RwLock<Cache>,
    refresh: tokio::sync::Mutex<()>,
    fetcher: Arc<dyn Fetcher>,
    observer: Option<FetchObserver>,
}

impl fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcProvider")
            .field("issuer", &self.config.issuer)
            .finish_non_exhaustive()
    }
}

impl OidcProvider {
    /// The provider of `config`, its key cache empty: keys are fetched with `fetcher`, and every
    /// fetch outcome is reported to `observer`.
    pub(super) fn new(
        config: &ProviderConfig,
        fetcher: Arc<dyn Fetcher>,
        observer: Option<FetchObserver>,
    ) -> Self {
        OidcProvider {
            config: Arc::new(config.clone()),
            cache: RwLock::new(Cache::default()),
            refresh: tokio::sync::Mutex::new(()),
            fetcher,
            observer,
        }
    }

    /// Its configuration.
    pub(super) fn config(&self) -> &Arc<ProviderConfig> {
        &self.config
    }

    fn observe(&self, outcome: &str) {
        if let Some(o) = &self.observer {
            o(&self.config.host_path, outcome);
        }
    }

    fn read_cache<T>(&self, f: impl FnOnce(&Cache) -> T) -> Result<T, OidcError> {
        let c = self
            .cache
            .read()
            .map_err(|_| OidcError::Communication(KEY_UNAVAILABLE.into()))?;
        Ok(f(&c))
    }

    /// Current keys and their generation, fetching when there are none or they are stale.
    async fn keys(&self, now: u64) -> Result<(Arc<KeySet>, u64), OidcError> {
        if let KeySource::Pinned(k) = &self.config.keys {
            return Ok((k.clone(), 0));
        }
        let (fresh, gen) =
            self.read_cache(|c| (c.keys.clone().filter(|_| now < c.fresh_until), c.generation))?;
        match fresh {
            Some(k) => Ok((k, gen)),
            None => self.refresh(now, gen).await,
        }
    }

    /// Fetch the keys once for everyone waiting. `seen` is the generation the caller had: if
    /// another task refreshed meanwhile, its keys are used without a new fetch.
    async fn refresh(&self, now: u64, seen: u64) -> Result<(Arc<KeySet>, u64), OidcError> {
        let _one_at_a_time = self.refresh.lock().await;
        let (keys, gen, last_attempt, last_success, fresh_until) = self.read_cache(|c| {
            (
                c.keys.clone(),
                c.generation,
                c.last_attempt,
                c.last_success,
                c.fresh_until,
            )
        })?;
        if let Some(k) = &keys {
            if gen != seen && now < fresh_until {
                return Ok((k.clone(), gen));
            }
        }
        let too_soon =
            last_attempt.is_some_and(|t| now < t.saturating_add(self.config.refetch_min_interval));
        let stale_ok = |k: Option<Arc<KeySet>>| {
            k.filter(|_| now <= last_success.saturating_add(self.config.max_stale))
        };
        if too_soon {
            return stale_ok(keys)
                .map(|k| (k, gen))
                .ok_or_else(|| OidcError::Communication(KEY_UNAVAILABLE.into()));
        }
        if let Ok(mut c) = self.cache.write() {
            c.last_attempt = Some(now);
        }
        match self.fetch_keys().await {
            Ok((set, max_age)) => {
                let ttl = max_age.unwrap_or(self.config.cache_default).clamp(
                    self.config.refetch_min_interval,
                    self.config.cache_max.max(1),
                );
                let set = Arc::new(set);
                let gen = {
                    let mut c = self
                        .cache
                        .write()
                        .map_err(|_| OidcError::Communication(KEY_UNAVAILABLE.into()))?;
                    c.keys = Some(set.clone());
                    c.generation += 1;
                    c.fresh_until = now.saturating_add(ttl);
                    c.last_success = now;
                    c.generation
                };
                self.observe("ok");
                Ok((set, gen))
            }
            Err(e) => {
                if let Ok(mut c) = self.cache.write() {
                    // Discover again next time: the JWKS URL may have moved.
                    c.jwks_uri = None;
                }
                match stale_ok(keys) {
                    Some(k) => {
                        warn!(provider = %self.config.host_path, error = %e, "OIDC keys could not be fetched; using the last good keys");
                        self.observe("stale");
                        Ok((k, gen))
                    }
                    None => {
                        warn!(provider = %self.config.host_path, error = %e, "OIDC keys could not be fetched");
                        self.observe("error");
                        Err(OidcError::Communication(KEY_UNAVAILABLE.into()))
                    }
                }
            }
        }
    }

    async fn fetch_keys(&self) -> Result<(KeySet, Option<u64>), String> {
        let timeout = self.config.fetch_timeout;
        let uri = match &self.config.keys {
            KeySource::JwksUri(u) => u.clone(),
            KeySource::Pinned(_) => return Err("pinned keys are not fetched".into()),
            KeySource::Discovery => {
                let cached = self.read_cache(|c| c.jwks_uri.clone()).ok().flatten();
                match cached {
                    Some(u) => u,
                    None => {
                        let u = self.discover(timeout).await?;
                        if let Ok(mut c) = self.cache.write() {
                            c.jwks_uri = Some(u.clone());
                        }
                        u
                    }
                }
            }
        };
        let got = self
            .fetcher
            .get(&uri, timeout)
            .instrument(tracing::debug_span!("oidc.jwks_fetch"))
            .await?;
        let (set, skipped) = KeySet::from_jwks(&got.body, self.config.algorithms)?;
        if set.is_empty() {
            return Err(format!(
                "the JWKS has no usable signing key ({skipped} skipped)"
            ));
        }
        Ok((set, got.max_age))
    }

    #[instrument(level = "debug", name = "oidc.discovery", skip_all)]
    async fn discover(&self, timeout: Duration) -> Result<String, String> {
        #[derive(Deserialize)]
        struct Discovery {
            issuer: String,
            jwks_uri: String,
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        let got = self.fetcher.get(&url, timeout).await?;
        let d: Discovery =
            serde_json::from_slice(&got.body).map_err(|e| format!("discovery document: {e}"))?;
        if d.issuer != self.config.issuer {
            return Err(format!(
                "discovery document names issuer {:?}, not {:?}",
                d.issuer, self.config.issuer
            ));
        }
        check_url(&d.jwks_uri, self.config.allow_http_loopback)?;
        Ok(d.jwks_uri)
    }

    /// Verify the signature with this provider's keys, refetching once (rate-limited) when the
    /// `kid` is unknown.
    pub(super) async fn verify_signature(
        &self,
        token: &str,
        now: u64,
    ) -> Result<Vec<u8>, OidcError> {
        let allowed = self.config.algorithms;
        let (keys, gen) = self.keys(now).await?;
        let first = keys.verify_signature(token, allowed);
        let result = match first {
            Err(SigFailure::UnknownKey) if !matches!(self.config.keys, KeySource::Pinned(_)) => {
                let (keys, _) = self.refresh(now, gen).await?;
                keys.verify_signature(token, allowed)
            }
            other => other,
        };
        result.map_err(|f| {
            let why = match f {
                SigFailure::UnknownKey => "no key of the provider has the token's kid and alg",
                SigFailure::Invalid(why) => why,
            };
            tracing::debug!(provider = %self.config.host_path, reason = why, "web identity token refused");
            signature_refusal(&f)
        })
    }
}
