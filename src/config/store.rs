//! `[store]`: where sessions live (`StoreConfig`) and how the store is used (`StoreOptions`:
//! timeout, replica acknowledgement, eviction), from the raw section and the environment.

use std::path::Path;

use serde::Deserialize;

use crate::settings::ConfigError;

/// `[store]`
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// `memory` (default) or `redis`.
    pub kind: Option<String>,
    /// Redis URL (standalone).
    pub url: Option<String>,
    /// Redis cluster nodes.
    #[serde(default)]
    pub nodes: Vec<String>,
    /// Key prefix.
    pub prefix: Option<String>,
    /// Bound on each store operation, milliseconds (default 500).
    pub timeout_ms: Option<u64>,
    /// Replicas that must acknowledge a new session before it is answered (Redis `WAIT`;
    /// default 0).
    pub min_replicas: Option<u32>,
    /// Run even when the store may evict keys under memory pressure (default false).
    pub allow_evicting_policy: Option<bool>,
}

/// Where sessions are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// In this process only: forgets on restart.
    Memory,
    /// A standalone Redis.
    Redis {
        /// `redis://host:port/db`
        url: String,
        /// Key prefix.
        prefix: String,
    },
    /// A Redis cluster.
    RedisCluster {
        /// `redis://host:port` of some nodes.
        nodes: Vec<String>,
        /// Key prefix.
        prefix: String,
    },
}

/// How the session store is used, whatever its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Bound on each Redis operation (`store.timeout_ms`); past it the call is answered 503.
    pub timeout: std::time::Duration,
    /// Replicas that must acknowledge a new session before its credentials are answered
    /// (`store.min_replicas`, Redis `WAIT` within `timeout`).
    pub min_replicas: u32,
    /// Start (and report ready) even when Redis may evict keys (`store.allow_evicting_policy`).
    pub allow_evicting_policy: bool,
}

/// `[store]`'s kind, validated.
pub(super) fn store(raw: &RawStore, file: &Path) -> Result<StoreConfig, ConfigError> {
    let store = match raw.kind.as_deref().unwrap_or("memory") {
        "memory" => {
            if raw.url.is_some() || !raw.nodes.is_empty() {
                return Err(ConfigError::new(
                    file,
                    "store.kind",
                    "\"memory\" with store.url or store.nodes set: say kind = \"redis\" (or drop them)",
                ));
            }
            StoreConfig::Memory
        }
        "redis" => {
            let prefix = raw.prefix.clone().unwrap_or_else(|| "idbroker:".into());
            match (&raw.url, raw.nodes.is_empty()) {
                (Some(url), true) => StoreConfig::Redis {
                    url: url.clone(),
                    prefix,
                },
                (None, false) => StoreConfig::RedisCluster {
                    nodes: raw.nodes.clone(),
                    prefix,
                },
                (Some(_), false) => {
                    return Err(ConfigError::new(
                        file,
                        "store",
                        "give either url (standalone) or nodes (cluster), not both",
                    ))
                }
                (None, true) => {
                    return Err(ConfigError::new(
                        file,
                        "store.url",
                        "kind = \"redis\" needs url or nodes",
                    ))
                }
            }
        }
        other => {
            return Err(ConfigError::new(
                file,
                "store.kind",
                format!("unknown store kind {other:?}: use \"memory\" or \"redis\""),
            ))
        }
    };
    Ok(store)
}

/// `[store]`'s options, with `IDBROKER_STORE_TIMEOUT_MS`, `IDBROKER_STORE_MIN_REPLICAS` and
/// `IDBROKER_STORE_ALLOW_EVICTING_POLICY` over the file.
pub(super) fn store_options(
    raw: &RawStore,
    file: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<StoreOptions, ConfigError> {
    fn from_env<T: std::str::FromStr>(
        env: &dyn Fn(&str) -> Option<String>,
        var: &str,
        key: &str,
        file: &Path,
        what: &str,
    ) -> Result<Option<T>, ConfigError> {
        env(var)
            .map(|v| {
                v.trim()
                    .parse::<T>()
                    .map_err(|_| ConfigError::new(file, key, format!("{var}={v:?}: {what}")))
            })
            .transpose()
    }
    let timeout_ms = from_env(
        env,
        "IDBROKER_STORE_TIMEOUT_MS",
        "store.timeout_ms",
        file,
        "milliseconds",
    )?
    .or(raw.timeout_ms)
    .unwrap_or(500);
    if !(10..=60_000).contains(&timeout_ms) {
        return Err(ConfigError::new(
            file,
            "store.timeout_ms",
            "must be 10..60000",
        ));
    }
    let min_replicas = from_env(
        env,
        "IDBROKER_STORE_MIN_REPLICAS",
        "store.min_replicas",
        file,
        "a number of replicas",
    )?
    .or(raw.min_replicas)
    .unwrap_or(0);
    if min_replicas > 16 {
        return Err(ConfigError::new(
            file,
            "store.min_replicas",
            "must be 0..16",
        ));
    }
    let allow_evicting_policy = from_env(
        env,
        "IDBROKER_STORE_ALLOW_EVICTING_POLICY",
        "store.allow_evicting_policy",
        file,
        "true or false",
    )?
    .or(raw.allow_evicting_policy)
    .unwrap_or(false);
    Ok(StoreOptions {
        timeout: std::time::Duration::from_millis(timeout_ms),
        min_replicas,
        allow_evicting_policy,
    })
}
