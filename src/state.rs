//! What every handler shares: the validated configuration, the session store, the sealing keys
//! and the clock; [`AppState::sts`] lends the use cases what they need of it.

use std::sync::Arc;
use std::time::Duration;

use idbroker_session::{SealingKeys, SessionStore};

use crate::clock::Clock;
use crate::config::Config;

/// Shared state of the server.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The validated configuration, as loaded at start (its `directory` is the first version:
    /// the one in force is [`AppState::directory`]).
    pub config: Arc<Config>,
    /// The directory in force (reloaded on SIGHUP or when the configuration file changes).
    pub live_directory: Arc<crate::directory::live::LiveDirectory>,
    /// Where sessions live.
    pub store: Arc<dyn SessionStore>,
    /// Seals secret access keys at rest.
    pub keys: Arc<SealingKeys>,
    /// The one clock.
    pub clock: Arc<dyn Clock>,
    /// Served over TLS (for `aws:SecureTransport`).
    pub tls: bool,
    /// Prometheus metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// OpenID Connect providers and their key caches.
    pub oidc: Arc<crate::federation::oidc::OidcFederation>,
    /// The grants of scoped keys (`POST /verify/key`), and of the verifier below: sessions from
    /// this state's store, long-term keys from the directory.
    pub key_source: Arc<crate::key_source::ServerKeySource>,
    /// Verifies requests for downstream services (`POST /verify`, `POST /verify/k8s`): the
    /// `idbroker-verify` verifier over [`AppState::key_source`], with its grant cache (one per
    /// worker).
    pub verifier: Arc<idbroker_verify::Verifier>,
    /// The console's OIDC logins (discovery cache, code exchange).
    pub console_logins: Arc<crate::console::oidc_login::OidcLogins>,
    /// `/readyz`'s last answer, shared by every worker (see [`Readiness`]).
    pub readiness: Arc<Readiness>,
    /// Rate-limit buckets of this process, used while the store cannot be reached (see
    /// `crate::throttle`), shared by the workers.
    pub local_buckets: Arc<idbroker_session::LocalBuckets>,
    /// The process's one follower of the store's revocation feed, fanned out to the
    /// `GET /verify/events` streams of every worker (and the count of those streams).
    pub revocations: Arc<crate::revocation_hub::RevocationHub>,
    /// Where the directory is kept and how it changes (the IAM API's writes, other replicas'
    /// changes, access keys' last use).
    pub directory_service: Arc<crate::directory_service::DirectoryService>,
    /// Console password checks, off the async workers and a bounded number at once (shared by
    /// every worker).
    pub passwords: Arc<crate::password_signin::PasswordGate>,
}

/// How long a `/readyz` answer is reused. The probe costs the store a `PING`, an `INFO` and a
/// `SET` and anyone can call it: with the answer reused, a flood of probes costs the store at
/// most this many checks per second, whatever the rate.
pub const READINESS_TTL: Duration = Duration::from_secs(1);

/// The last readiness answer and when it was made (the state's clock).
#[derive(Debug, Default)]
pub struct Readiness(std::sync::Mutex<Option<(std::time::SystemTime, Result<(), String>)>>);

impl Readiness {
    /// The answer made at most [`READINESS_TTL`] before `now`, if any.
    pub fn fresh(&self, now: std::time::SystemTime) -> Option<Result<(), String>> {
        let last = self.0.lock().unwrap_or_else(|e| e.into_inner());
        last.as_ref()
            .filter(|(at, _)| now.duration_since(*at).is_ok_and(|age| age < READINESS_TTL))
            .map(|(_, answer)| answer.clone())
    }

    /// Remember `answer`, made at `now`.
    pub fn remember(&self, now: std::time::SystemTime, answer: Result<(), String>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((now, answer));
    }
}

impl AppState {
    /// The state one server worker thread uses: the same configuration, keys and metrics, and
    /// the store's per-worker handle when it has one (a Redis connection of the worker's own).
    pub fn for_worker(&self) -> AppState {
        let mut state = self.clone();
        if let Some(store) = self.store.worker_handle() {
            state.store = store;
        }
        // A verifier of the worker's own: its store handle, and a grant cache no other thread
        // locks.
        state.key_source = Arc::new(self.key_source.with_store(Arc::clone(&state.store)));
        state.verifier = Arc::new(
            self.verifier
                .with_source(Arc::clone(&state.key_source) as Arc<dyn idbroker_verify::KeySource>),
        );
        // Revocations reach this worker's cache at once (the cache TTL is the fallback bound
        // while the feed is down). On the worker's own runtime: this runs on its thread.
        state.verifier.watch_revocations();
        state
    }

    /// The directory in force now: one version for the whole call.
    pub fn directory(&self) -> Arc<crate::directory::Directory> {
        self.live_directory.load()
    }

    /// What the STS use cases read and write, for one call, with `directory` (the call's
    /// [`AppState::directory`]).
    pub fn sts<'a>(
        &'a self,
        directory: &'a crate::directory::Directory,
    ) -> crate::sts::Services<'a> {
        crate::sts::Services {
            directory,
            store: self.store.as_ref(),
            keys: &self.keys,
            saml: &self.config.saml,
            oidc: &self.oidc,
            throttle: self.throttle(),
        }
    }

    /// The rate limits, with this worker's store and the metrics.
    pub fn throttle(&self) -> crate::throttle::Throttle<'_> {
        crate::throttle::Throttle {
            settings: &self.config.throttle,
            store: self.store.as_ref(),
            fallback: &self.local_buckets,
            metrics: &self.metrics,
        }
    }

    /// The allowed SigV4 clock skew.
    pub fn skew(&self) -> Duration {
        self.config.sigv4_skew
    }
}

/// Why a store that may evict keys is refused: what eviction does to idbroker, and the way out.
pub fn eviction_refusal(policies: &[String]) -> String {
    format!(
        "the session store may evict keys under memory pressure (maxmemory-policy {}): a session \
         answered to a client could vanish, and a revocation mark could be evicted, making a \
         revoked session valid again. Set maxmemory-policy noeviction (and size maxmemory for \
         the sessions), or set store.allow_evicting_policy = true to run anyway",
        policies.join(", ")
    )
}

/// Refuse a store whose eviction policy may drop sessions or revocation marks, unless the
/// operator allowed it (then warn).
pub(crate) async fn check_eviction(
    store: &dyn idbroker_session::SessionStore,
    allowed: bool,
) -> Result<(), String> {
    let evicting = match store.evicting_policies().await {
        Ok(p) => p,
        // A server that does not say (a proxy without INFO) cannot vouch for its policy.
        Err(e) if allowed => {
            tracing::warn!(
                "store.allow_evicting_policy = true: the session store's eviction policy could not be read ({e}); running without knowing it"
            );
            return Ok(());
        }
        Err(e) => {
            return Err(format!(
                "session store: its eviction policy could not be read ({e}); idbroker needs maxmemory-policy noeviction (INFO memory), or store.allow_evicting_policy = true to run without knowing it"
            ))
        }
    };
    if evicting.is_empty() {
        return Ok(());
    }
    let why = eviction_refusal(&evicting);
    if allowed {
        tracing::warn!("store.allow_evicting_policy = true: {why}");
        Ok(())
    } else {
        Err(format!("session store refused: {why}"))
    }
}
