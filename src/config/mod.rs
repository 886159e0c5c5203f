//! Configuration: raw TOML (unknown keys refused, `IDBROKER_*` environment overrides) validated
//! once into typed structures. Every error names the file, the key and the problem.
//!
//! The reference file is `config/idbroker.toml`; it documents every key.

mod store;
mod telemetry;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

use crate::directory::{Directory, DirectoryDoc, DirectoryError};
use crate::settings::resolve_secret;
pub use crate::settings::{ConfigError, SecretRef};
pub use store::{RawStore, StoreConfig, StoreOptions};
pub use telemetry::{RawTelemetry, TelemetryConfig};

/// The raw file, as written.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[server]`
    #[serde(default)]
    pub server: RawServer,
    /// `[store]`
    #[serde(default)]
    pub store: RawStore,
    /// `[sealing]`
    #[serde(default)]
    pub sealing: RawSealing,
    /// `[directory]`: where the directory is kept (a database), when not in this file.
    #[serde(default)]
    pub directory: RawDirectoryStore,
    /// The account that owns the directory.
    pub account_id: Option<String>,
    /// The account's alias.
    pub account_alias: Option<String>,
    /// `[[users]]`
    #[serde(default)]
    pub users: Vec<crate::directory::RawUser>,
    /// `[[groups]]`
    #[serde(default)]
    pub groups: Vec<crate::directory::RawGroup>,
    /// `[[roles]]`
    #[serde(default)]
    pub roles: Vec<crate::directory::RawRole>,
    /// `[[managed_policies]]`
    #[serde(default)]
    pub managed_policies: Vec<crate::directory::RawManagedPolicy>,
    /// `[[accounts]]`: the directory's other accounts.
    #[serde(default)]
    pub accounts: Vec<DirectoryDoc>,
    /// `[[saml_metadata]]`: the directory's SAML providers (metadata inline, as the IAM API
    /// creates them).
    #[serde(default)]
    pub saml_metadata: Vec<crate::directory::RawSamlMetadata>,
    /// `[[openid_connect_providers]]`: the directory's OpenID Connect providers (as the IAM API
    /// creates them).
    #[serde(default)]
    pub openid_connect_providers: Vec<crate::directory::RawOpenIdConnectProvider>,
    /// `[[mfa_devices]]`: the directory's virtual MFA devices (as the IAM API creates them, seeds
    /// sealed: an export of a database's directory).
    #[serde(default)]
    pub mfa_devices: Vec<crate::directory::RawMfaDevice>,
    /// `[password_policy]`: the account password policy (as UpdateAccountPasswordPolicy sets
    /// it).
    pub password_policy: Option<crate::password::policy::PasswordPolicy>,
    /// `[passwords]`: how console passwords are hashed.
    #[serde(default)]
    pub passwords: crate::password::RawPasswords,
    /// `[[oidc_providers]]`
    #[serde(default)]
    pub oidc_providers: Vec<crate::federation::oidc::RawOidcProvider>,
    /// `[saml]`: idbroker as a SAML service provider.
    #[serde(default)]
    pub saml: crate::federation::saml::RawSamlSp,
    /// `[[saml_providers]]`
    #[serde(default)]
    pub saml_providers: Vec<crate::federation::saml::RawSamlProvider>,
    /// `[console]`
    #[serde(default)]
    pub console: crate::console::RawConsole,
    /// `[throttle]`
    #[serde(default)]
    pub throttle: crate::throttle::RawThrottle,
    /// `[telemetry]`
    #[serde(default)]
    pub telemetry: RawTelemetry,
    /// `[dev_idp]`: the development-only IdP (`crate::dev_idp`).
    #[serde(default)]
    pub dev_idp: crate::dev_idp::RawDevIdp,
}

/// `[server]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    /// Address to listen on.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The region idbroker answers as (credential scopes may name any region).
    #[serde(default = "default_region")]
    pub region: String,
    /// TLS certificate chain (PEM); HTTPS when set together with `tls_key`.
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// How often to look for a changed certificate or key file, and a changed configuration file
    /// (whose directory is then reloaded), in seconds (0: only on SIGHUP).
    #[serde(default = "default_tls_reload")]
    pub tls_reload_seconds: u64,
    /// How long in-flight requests may take to finish after SIGTERM, in seconds.
    #[serde(default = "default_shutdown_timeout")]
    pub shutdown_timeout_seconds: u64,
    /// Allowed clock skew for signed requests, in seconds.
    #[serde(default = "default_sigv4_skew")]
    pub sigv4_skew_seconds: u64,
    /// Largest request body accepted, in bytes.
    #[serde(default = "default_body_limit")]
    pub max_body_bytes: usize,
    /// Where `/metrics` is served on a listener of its own; `""`: no such listener. Unset:
    /// [`DEFAULT_METRICS_LISTEN`], unless `metrics_token` is set.
    pub metrics_listen: Option<String>,
    /// A bearer token `/metrics` asks for wherever it is served; when set, the API listener
    /// serves `/metrics` too (to requests that present it).
    pub metrics_token: Option<SecretRef>,
    /// The scheduling policy of the server's threads.
    #[serde(default)]
    pub cpu_scheduling: CpuScheduling,
    /// The hosts (with the port, if any: `sts.example.com`, `idbroker.internal:8443`) clients
    /// reach idbroker's STS at: a `k8s-aws-v1.` token checked by `POST /verify/k8s` must be
    /// presigned for one of them. Empty: every token is refused.
    #[serde(default)]
    pub sts_hosts: Vec<String>,
}

/// `server.cpu_scheduling`: the Linux scheduling policy the server's threads run under.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CpuScheduling {
    /// `SCHED_BATCH`: a woken thread does not preempt the running one (see idbroker-sched).
    #[default]
    Batch,
    /// `SCHED_OTHER`, the kernel's default.
    Normal,
}

impl CpuScheduling {
    /// The policy to set.
    pub fn policy(self) -> idbroker_sched::Policy {
        match self {
            CpuScheduling::Batch => idbroker_sched::Policy::Batch,
            CpuScheduling::Normal => idbroker_sched::Policy::Normal,
        }
    }
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            listen: default_listen(),
            region: default_region(),
            tls_cert: None,
            tls_key: None,
            tls_reload_seconds: default_tls_reload(),
            shutdown_timeout_seconds: default_shutdown_timeout(),
            sigv4_skew_seconds: default_sigv4_skew(),
            max_body_bytes: default_body_limit(),
            metrics_listen: None,
            metrics_token: None,
            cpu_scheduling: CpuScheduling::default(),
            sts_hosts: Vec::new(),
        }
    }
}

/// Where `/metrics` is served when neither `server.metrics_listen` nor `server.metrics_token`
/// is set: loopback only, a port of its own (not Prometheus's own 9090; the port OpenTelemetry's
/// Prometheus exporters use).
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";

/// Shortest `server.metrics_token` accepted.
pub const MIN_METRICS_TOKEN_LEN: usize = 16;

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_tls_reload() -> u64 {
    60
}
fn default_shutdown_timeout() -> u64 {
    30
}
fn default_region() -> String {
    "us-east-1".into()
}
fn default_sigv4_skew() -> u64 {
    900
}
fn default_body_limit() -> usize {
    // An AssumeRoleWithSAML form carries up to 100,000 characters of assertion.
    256 * 1024
}

/// `[sealing]`: the keys that seal secret access keys at rest.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSealing {
    /// The key id new secrets are sealed with.
    pub active_key_id: Option<String>,
    /// Key id -> 32 bytes, base64, from a secret reference.
    #[serde(default)]
    pub keys: BTreeMap<String, SecretRef>,
}

/// `[directory]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDirectoryStore {
    /// `postgres://...` or `sqlite://PATH` (`sqlite::memory:`: this process only, seeded from
    /// this file at every start). None: the directory is this file's (read-only to the IAM API).
    pub url: Option<String>,
    /// How often replicas look for a change in the database, in milliseconds.
    #[serde(default = "default_poll_ms")]
    pub poll_milliseconds: u64,
    /// Let the IAM API create OpenID Connect providers at `http://` loopback URLs (tests only).
    #[serde(default)]
    pub allow_http_loopback_providers: bool,
}

impl Default for RawDirectoryStore {
    fn default() -> Self {
        RawDirectoryStore {
            url: None,
            poll_milliseconds: default_poll_ms(),
            allow_http_loopback_providers: false,
        }
    }
}

fn default_poll_ms() -> u64 {
    250
}

/// The directory's database (`[directory]`).
#[derive(Debug, Clone)]
pub struct DirectoryStoreConfig {
    /// Its URL (may hold a password: never logged as is).
    pub url: String,
    /// How often to look for a change.
    pub poll: std::time::Duration,
}

/// The keys that seal secrets at rest.
#[derive(Debug)]
pub struct SealingConfig {
    /// The key id new secrets are sealed with.
    pub active_key_id: String,
    /// Key id -> 32 key bytes.
    pub keys: BTreeMap<String, zeroize::Zeroizing<Vec<u8>>>,
}

impl SealingConfig {
    /// The keyring: the active key seals, the others still open.
    pub fn keys(&self) -> Result<idbroker_session::SealingKeys, String> {
        let active = self
            .keys
            .get(&self.active_key_id)
            .ok_or("sealing.active_key_id: unknown key")?;
        let mut keys = idbroker_session::SealingKeys::new(&self.active_key_id, active)
            .map_err(|e| format!("sealing: {e}"))?;
        for (id, k) in self
            .keys
            .iter()
            .filter(|(id, _)| **id != self.active_key_id)
        {
            keys.add_old(id, k)
                .map_err(|e| format!("sealing.keys.{id}: {e}"))?;
        }
        Ok(keys)
    }
}

/// `[server]` TLS settings, validated: the pair was read and matched at load.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// Certificate chain (PEM), leaf first.
    pub cert: PathBuf,
    /// Private key (PEM).
    pub key: PathBuf,
}

/// Where `/metrics` is served, validated.
#[derive(Debug, Clone)]
pub struct MetricsConfig {
    /// A listener of its own that serves `/metrics` and nothing else; `None`: none.
    pub listen: Option<String>,
    /// The bearer token `/metrics` asks for, wherever it is served. When set, the API listener
    /// serves `/metrics` too; when not, the API listener answers it 404.
    pub token: Option<MetricsToken>,
}

/// The `server.metrics_token`, kept as its SHA-256 only; compared in constant time.
#[derive(Clone)]
pub struct MetricsToken([u8; 32]);

impl MetricsToken {
    /// The token `token`.
    pub fn new(token: &str) -> Self {
        use sha2::Digest;
        MetricsToken(sha2::Sha256::digest(token.as_bytes()).into())
    }

    /// Is `presented` the token? Both are hashed first, so the comparison (constant time) is of
    /// equal lengths and says nothing about the token's length.
    pub fn matches(&self, presented: &str) -> bool {
        use sha2::Digest;
        let presented = sha2::Sha256::digest(presented.as_bytes());
        aws_lc_rs::constant_time::verify_slices_are_equal(&presented, &self.0).is_ok()
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(<redacted>)")
    }
}

/// The validated configuration.
#[derive(Debug)]
pub struct Config {
    /// The file it came from.
    pub file: PathBuf,
    /// Listen address.
    pub listen: String,
    /// Region.
    pub region: String,
    /// HTTPS, when a certificate is configured.
    pub tls: Option<TlsConfig>,
    /// Grace period for in-flight requests at shutdown.
    pub shutdown_timeout: std::time::Duration,
    /// Allowed SigV4 clock skew.
    pub sigv4_skew: std::time::Duration,
    /// `server.sts_hosts`: the hosts a k8s token may be presigned for.
    pub sts_hosts: Vec<String>,
    /// How often to look for a changed certificate, key or configuration file (whose directory
    /// is then reloaded); `None`: on SIGHUP only (`server.tls_reload_seconds`, 0).
    pub reload_every: Option<std::time::Duration>,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Where `/metrics` is served.
    pub metrics: MetricsConfig,
    /// The scheduling policy of the server's threads.
    pub cpu_scheduling: CpuScheduling,
    /// Session store.
    pub store: StoreConfig,
    /// How it is used (timeouts, replicas, eviction).
    pub store_options: StoreOptions,
    /// Sealing keys, when configured.
    pub sealing: Option<SealingConfig>,
    /// The directory's database, when configured (`[directory] url`); the directory below is
    /// then only its seed, imported when the database is empty.
    pub directory_store: Option<DirectoryStoreConfig>,
    /// `[directory] allow_http_loopback_providers` (tests only).
    pub loopback_providers: bool,
    /// Users, groups, roles, policies.
    pub directory: Directory,
    /// OpenID Connect providers.
    pub oidc_providers: Vec<crate::federation::oidc::ProviderConfig>,
    /// SAML: SP settings and trusted providers.
    pub saml: std::sync::Arc<crate::federation::saml::SamlSettings>,
    /// Web console sign-in.
    pub console: crate::console::ConsoleSettings,
    /// Rate limits (`[throttle]`).
    pub throttle: crate::throttle::ThrottleSettings,
    /// How console passwords are hashed (`[passwords]`).
    pub passwords: std::sync::Arc<crate::password::Hasher>,
    /// Traces over OTLP; `None`: off.
    pub telemetry: Option<TelemetryConfig>,
    /// The development-only IdP (`[dev_idp]`), when enabled (and judged safe: loopback, demo
    /// keys only); `None`: off, its routes answer 404.
    pub dev_idp: Option<std::sync::Arc<crate::dev_idp::DevIdp>>,
    /// Things an operator should know (secrets given in clear, ...).
    pub warnings: Vec<String>,
}

/// Environment overrides: `IDBROKER_LISTEN`, `IDBROKER_REGION`, `IDBROKER_STORE_URL` (implies
/// kind redis), `IDBROKER_STORE_KIND`, `IDBROKER_STORE_PREFIX`, `IDBROKER_ACCOUNT_ID`,
/// `IDBROKER_TLS_CERT`, `IDBROKER_TLS_KEY`, `IDBROKER_METRICS_LISTEN`. (`IDBROKER_CPU_SCHEDULING`
/// is read where it can be refused: [`Config::from_toml`].)
fn apply_env(raw: &mut RawConfig, env: &dyn Fn(&str) -> Option<String>) {
    // Paths from the environment are relative to the working directory, not to the file.
    let from_cwd = |v: String| std::path::absolute(&v).unwrap_or_else(|_| PathBuf::from(v));
    if let Some(v) = env("IDBROKER_TLS_CERT") {
        raw.server.tls_cert = Some(from_cwd(v));
    }
    if let Some(v) = env("IDBROKER_TLS_KEY") {
        raw.server.tls_key = Some(from_cwd(v));
    }
    if let Some(v) = env("IDBROKER_LISTEN") {
        raw.server.listen = v;
    }
    if let Some(v) = env("IDBROKER_REGION") {
        raw.server.region = v;
    }
    if let Some(v) = env("IDBROKER_METRICS_LISTEN") {
        raw.server.metrics_listen = Some(v);
    }
    if let Some(v) = env("IDBROKER_STORE_URL") {
        // The environment wins over the file, whatever store the file names.
        raw.store.url = Some(v);
        raw.store.nodes.clear();
        raw.store.kind = Some("redis".into());
    }
    if let Some(v) = env("IDBROKER_STORE_KIND") {
        raw.store.kind = Some(v);
    }
    if let Some(v) = env("IDBROKER_STORE_PREFIX") {
        raw.store.prefix = Some(v);
    }
    if let Some(v) = env("IDBROKER_ACCOUNT_ID") {
        raw.account_id = Some(v);
    }
}

impl Config {
    /// Load and validate a file, with overrides from the process environment. `now` is the time
    /// of loading, read by the caller from its clock (the command passes the system clock's):
    /// the only time the configuration depends on (see [`Config::from_toml`]).
    pub fn load(file: &Path, now: SystemTime) -> Result<Config, ConfigError> {
        Self::load_with_env(file, &|k| std::env::var(k).ok(), now)
    }

    /// Load and validate a file with the given environment (tests pass their own).
    pub fn load_with_env(
        file: &Path,
        env: &dyn Fn(&str) -> Option<String>,
        now: SystemTime,
    ) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| ConfigError::new(file, "(file)", e.to_string()))?;
        Self::from_toml(&text, file, env, now)
    }

    /// Validate TOML text; `file` names it in errors and anchors relative paths. `now` (the
    /// caller's clock; this module reads none) decides the warnings about SAML certificates not
    /// valid at load and when the first metadata refresh of a URL provider is due.
    pub fn from_toml(
        text: &str,
        file: &Path,
        env: &dyn Fn(&str) -> Option<String>,
        now: SystemTime,
    ) -> Result<Config, ConfigError> {
        let mut raw: RawConfig = toml::from_str(text).map_err(|e| {
            let problem = e.message().to_owned();
            let key = e
                .span()
                .and_then(|s| text.get(..s.start))
                .map(|before| format!("line {}", before.lines().count().max(1)))
                .unwrap_or_else(|| "(syntax)".into());
            ConfigError::new(file, key, problem)
        })?;
        apply_env(&mut raw, env);
        if let Some(v) = env("IDBROKER_CPU_SCHEDULING") {
            raw.server.cpu_scheduling = match v.as_str() {
                "batch" => CpuScheduling::Batch,
                "normal" => CpuScheduling::Normal,
                _ => {
                    return Err(ConfigError::new(
                        file,
                        "server.cpu_scheduling",
                        format!("IDBROKER_CPU_SCHEDULING={v:?}: \"batch\" or \"normal\""),
                    ))
                }
            };
        }
        let store_options = store::store_options(&raw.store, file, env)?;
        let throttle = crate::throttle::throttle_settings(&raw.throttle, file, env)?;
        let telemetry = telemetry::telemetry(&raw.telemetry, file, env)?;
        let base = file.parent().unwrap_or(Path::new("."));
        let mut warnings = Vec::new();

        let store = store::store(&raw.store, file)?;

        let sealing = if raw.sealing.keys.is_empty() {
            None
        } else {
            let active = raw.sealing.active_key_id.clone().ok_or_else(|| {
                ConfigError::new(
                    file,
                    "sealing.active_key_id",
                    "missing: name one of sealing.keys",
                )
            })?;
            let mut keys = BTreeMap::new();
            for (id, r) in &raw.sealing.keys {
                let key = format!("sealing.keys.{id}");
                let text = resolve_secret(r, file, base, &key, env, &mut warnings)?;
                let bytes = data_encoding::BASE64
                    .decode(text.trim().as_bytes())
                    .map_err(|_| ConfigError::new(file, &key, "not base64"))?;
                if bytes.len() != 32 {
                    return Err(ConfigError::new(
                        file,
                        &key,
                        format!("a sealing key is 32 bytes, this one is {}", bytes.len()),
                    ));
                }
                keys.insert(id.clone(), zeroize::Zeroizing::new(bytes));
            }
            if !keys.contains_key(&active) {
                return Err(ConfigError::new(
                    file,
                    "sealing.active_key_id",
                    format!("{active:?} is not one of sealing.keys"),
                ));
            }
            Some(SealingConfig {
                active_key_id: active,
                keys,
            })
        };

        let tls = match (&raw.server.tls_cert, &raw.server.tls_key) {
            (Some(c), Some(k)) => {
                let (cert, key) = (base.join(c), base.join(k));
                crate::tls::load(&cert, &key)
                    .map_err(|e| ConfigError::new(file, "server.tls_cert", e.to_string()))?;
                Some(TlsConfig { cert, key })
            }
            (None, None) => None,
            _ => {
                return Err(ConfigError::new(
                    file,
                    "server.tls_cert",
                    "tls_cert and tls_key go together",
                ))
            }
        };
        let listen = raw
            .server
            .listen
            .parse::<std::net::SocketAddr>()
            .map_err(|e| ConfigError::new(file, "server.listen", e.to_string()))?;
        let metrics = metrics_config(&raw.server, listen, file, base, env, &mut warnings)?;

        let account_id = raw
            .account_id
            .clone()
            .ok_or_else(|| ConfigError::new(file, "account_id", "missing (twelve digits)"))?;
        let doc = DirectoryDoc {
            account_id: account_id.clone(),
            account_alias: raw.account_alias.clone(),
            managed_policies: raw.managed_policies.clone(),
            groups: raw.groups.clone(),
            users: raw.users.clone(),
            roles: raw.roles.clone(),
            accounts: raw.accounts.clone(),
            saml_metadata: raw.saml_metadata.clone(),
            openid_connect_providers: raw.openid_connect_providers.clone(),
            mfa_devices: raw.mfa_devices.clone(),
            password_policy: raw.password_policy.clone(),
        };
        let sealing_keys = sealing
            .as_ref()
            .map(SealingConfig::keys)
            .transpose()
            .map_err(|e| ConfigError::new(file, "sealing", e))?;
        let directory =
            Directory::build(&doc, &mut |r, key, id| match (&r.sealed, &sealing_keys) {
                (Some(sealed), Some(keys)) => crate::directory::sealed::open(keys, id, sealed)
                    .map_err(|e| ConfigError::new(file, key, e.to_string())),
                (Some(_), None) => Err(ConfigError::new(
                    file,
                    key,
                    "a sealed secret needs the [sealing] keys that sealed it",
                )),
                _ => resolve_secret(r, file, base, key, env, &mut warnings),
            })
            .map_err(|e| match e {
                DirectoryError::Invalid { key, problem } => ConfigError::new(file, key, problem),
                DirectoryError::Secret(e) => e,
            })?;

        let oidc_providers =
            crate::federation::oidc::providers_from_raw(&raw.oidc_providers, &account_id, base)
                .map_err(|(key, problem)| ConfigError::new(file, key, problem))?;
        let saml = crate::federation::saml::SamlSettings::build(
            &raw.saml,
            &raw.saml_providers,
            &account_id,
            base,
            now,
            &mut warnings,
        )
        .map_err(|e| ConfigError::new(file, e.key, e.problem))
        .map(std::sync::Arc::new)?;

        let cookie_key = console_key(&raw, file, base, env, &mut warnings)?;
        let console = build_console(
            &raw,
            file,
            base,
            tls.is_some(),
            cookie_key.as_ref().map(|k| k.as_slice()),
            env,
            &mut warnings,
        )?;
        let dev_idp = crate::dev_idp::build(
            &raw.dev_idp,
            &crate::dev_idp::Surroundings {
                listen: std::iter::once(("server.listen", raw.server.listen.as_str()))
                    .chain(
                        metrics
                            .listen
                            .as_deref()
                            .map(|l| ("server.metrics_listen", l)),
                    )
                    .collect(),
                public_url: &console.public_url,
                sealing_keys: sealing
                    .as_ref()
                    .map(|s| s.keys.values().map(|k| k.as_slice()).collect()),
                cookie_key: cookie_key.as_ref().map(|k| k.as_slice()),
                sealer: &console.sealer,
                saml: &saml,
                oidc: &oidc_providers,
                logins: &console.oidc_logins,
            },
        )
        .map_err(|(key, problem)| ConfigError::new(file, key, problem))?
        .map(std::sync::Arc::new);
        if dev_idp.is_some() {
            warnings.push(format!(
                "{}: [dev_idp] is enabled: the DEVELOPMENT-ONLY IdP under {}/dev/idp signs anyone in as anyone; never use this configuration anywhere real",
                file.display(),
                console.public_url
            ));
        }

        let passwords = crate::password::Hasher::new(&raw.passwords)
            .map(std::sync::Arc::new)
            .map_err(|e| ConfigError::new(file, "passwords", e.to_string()))?;

        Ok(Config {
            console,
            throttle,
            passwords,
            file: file.to_owned(),
            listen: raw.server.listen,
            region: raw.server.region,
            tls,
            shutdown_timeout: std::time::Duration::from_secs(raw.server.shutdown_timeout_seconds),
            sigv4_skew: std::time::Duration::from_secs(raw.server.sigv4_skew_seconds),
            sts_hosts: raw.server.sts_hosts.clone(),
            reload_every: match raw.server.tls_reload_seconds {
                0 => None,
                s => Some(std::time::Duration::from_secs(s)),
            },
            max_body_bytes: raw.server.max_body_bytes,
            metrics,
            cpu_scheduling: raw.server.cpu_scheduling,
            store,
            store_options,
            sealing,
            loopback_providers: raw.directory.allow_http_loopback_providers,
            directory_store: match &raw.directory.url {
                None => None,
                Some(url) => Some(DirectoryStoreConfig {
                    url: url.clone(),
                    poll: std::time::Duration::from_millis(
                        raw.directory.poll_milliseconds.clamp(50, 60_000),
                    ),
                }),
            },
            directory,
            oidc_providers,
            saml,
            telemetry,
            dev_idp,
            warnings,
        })
    }
}

/// `server.metrics_listen` and `server.metrics_token`.
fn metrics_config(
    server: &RawServer,
    api: std::net::SocketAddr,
    file: &Path,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<MetricsConfig, ConfigError> {
    let token = match &server.metrics_token {
        Some(r) => {
            let key = "server.metrics_token";
            let text = resolve_secret(r, file, base, key, env, warnings)?;
            if text.len() < MIN_METRICS_TOKEN_LEN || !text.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ConfigError::new(
                    file,
                    key,
                    format!("at least {MIN_METRICS_TOKEN_LEN} printable ASCII characters, no spaces (a bearer token)"),
                ));
            }
            Some(MetricsToken::new(&text))
        }
        None => None,
    };
    let listen = match server.metrics_listen.as_deref() {
        None if token.is_some() => None,
        None => Some(DEFAULT_METRICS_LISTEN.to_owned()),
        Some("") => None,
        Some(addr) => {
            let key = "server.metrics_listen";
            let parsed = addr
                .parse::<std::net::SocketAddr>()
                .map_err(|e| ConfigError::new(file, key, e.to_string()))?;
            if parsed == api && parsed.port() != 0 {
                return Err(ConfigError::new(
                    file,
                    key,
                    "must differ from server.listen: /metrics gets a listener of its own (or set server.metrics_token to serve it on the API listener)",
                ));
            }
            if !parsed.ip().is_loopback() && token.is_none() {
                warnings.push(format!(
                    "{}: server.metrics_listen: {addr} is not a loopback address and server.metrics_token is not set: whoever reaches it reads the metrics",
                    file.display()
                ));
            }
            Some(addr.to_owned())
        }
    };
    if listen.is_none() && token.is_none() {
        warnings.push(format!(
            "{}: server.metrics_listen is \"\" and server.metrics_token is not set: /metrics is served nowhere",
            file.display()
        ));
    }
    Ok(MetricsConfig { listen, token })
}

/// `console.cookie_key`, resolved and decoded (`None`: not set).
fn console_key(
    raw: &RawConfig,
    file: &Path,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, ConfigError> {
    let Some(r) = &raw.console.cookie_key else {
        return Ok(None);
    };
    let text = resolve_secret(r, file, base, "console.cookie_key", env, warnings)?;
    let bytes = data_encoding::BASE64
        .decode(text.trim().as_bytes())
        .map_err(|_| ConfigError::new(file, "console.cookie_key", "not base64"))?;
    Ok(Some(zeroize::Zeroizing::new(bytes)))
}

/// `[console]` (with its key, `cookie_key`) and the `login` tables of `[[oidc_providers]]`.
fn build_console(
    raw: &RawConfig,
    file: &Path,
    base: &Path,
    tls: bool,
    key: Option<&[u8]>,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<crate::console::ConsoleSettings, ConfigError> {
    let mut logins: Vec<std::sync::Arc<crate::console::OidcLogin>> = Vec::new();
    for (i, p) in raw.oidc_providers.iter().enumerate() {
        let Some(l) = &p.login else { continue };
        let key = format!("oidc_providers[{i}].login");
        let name_ok = (1..=64).contains(&l.name.len())
            && l.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !name_ok {
            return Err(ConfigError::new(
                file,
                format!("{key}.name"),
                "1..64 of [A-Za-z0-9_.-]",
            ));
        }
        if logins.iter().any(|x| x.name == l.name) {
            return Err(ConfigError::new(
                file,
                format!("{key}.name"),
                format!("{:?} is used by two providers", l.name),
            ));
        }
        if !p.client_ids.contains(&l.client_id) {
            return Err(ConfigError::new(
                file,
                format!("{key}.client_id"),
                "must be one of the provider's client_ids (the ID token is validated against them)",
            ));
        }
        let client_secret = match &l.client_secret {
            Some(r) => Some(resolve_secret(
                r,
                file,
                base,
                &format!("{key}.client_secret"),
                env,
                warnings,
            )?),
            None => None,
        };
        let mut scopes = l
            .scopes
            .clone()
            .unwrap_or_else(|| vec!["email".into(), "profile".into()]);
        scopes.retain(|s| s != "openid");
        logins.push(std::sync::Arc::new(crate::console::OidcLogin {
            name: l.name.clone(),
            display_name: l.display_name.clone().unwrap_or_else(|| l.name.clone()),
            issuer: p.issuer.clone(),
            client_id: l.client_id.clone(),
            client_secret,
            scopes,
            allow_http_loopback: p.allow_http_loopback,
            fetch_timeout: std::time::Duration::from_millis(
                p.fetch_timeout_ms.unwrap_or(3000).max(1),
            ),
        }));
    }
    let default_url = format!(
        "{}://{}",
        if tls { "https" } else { "http" },
        raw.server.listen
    );
    let settings = crate::console::ConsoleSettings::build(&raw.console, &default_url, key, logins)
        .map_err(|(k, p)| ConfigError::new(file, k, p))?;
    if settings.sign_authn_requests && raw.saml.sp_private_key_file.is_none() {
        return Err(ConfigError::new(
            file,
            "console.sign_authn_requests",
            "needs saml.sp_private_key_file (the key that signs AuthnRequests)",
        ));
    }
    Ok(settings)
}
