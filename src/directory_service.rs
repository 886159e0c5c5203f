//! The directory in force and where it is kept: the one path by which it is loaded, changed and
//! followed.
//!
//! - A file's directory (no `[directory] url`) is read-only here: the IAM API's changes are
//!   refused ([`IamError::ReadOnly`]); the file is reloaded on SIGHUP or change
//!   (`crate::reload`).
//! - A database's directory: at start the database is read (seeded with the file's directory
//!   when empty, secrets sealed); a change ([`DirectoryService::change`]) edits a copy of the
//!   version in force, is validated whole ([`Directory::build`]), written over that version
//!   (another replica's change in between: computed again on the newer version, up to 3 times),
//!   and put in force here at once; other replicas see the database's version move within
//!   `[directory] poll_milliseconds` ([`DirectoryService::follow`]) and load it.
//!
//! A request reads one whole version ([`LiveDirectory::load`]); nothing here is on the STS hot
//! path except [`DirectoryService::note_use`] (a map insert; written to the database in
//! batches). A console sign-in's [`DirectoryService::note_password_use`] is kept the same way.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use idbroker_session::SealingKeys;

use crate::config::Config;
use crate::directory::live::LiveDirectory;
use crate::directory::store::{DirectoryStore, LastUsed, StoreError};
use crate::directory::{sealed, Directory, DirectoryDoc, DirectoryError};
use crate::iam::IamError;
use crate::revocation_hub::RevocationHub;

/// How many times a change is computed again after another replica's change won (with a short,
/// growing, jittered pause between: replicas writing at once take turns).
const ATTEMPTS: u32 = 8;
/// How often access keys' last use and passwords' last sign-in are written.
const FLUSH_EVERY: Duration = Duration::from_secs(2);
/// At most this many keys' last use wait to be written (more are dropped until the next flush).
const PENDING_MAX: usize = 100_000;

/// See the module.
pub struct DirectoryService {
    live: Arc<LiveDirectory>,
    store: Option<DirectoryStore>,
    keys: Arc<SealingKeys>,
    hub: Arc<RevocationHub>,
    poll: Duration,
    /// This process's changes, one at a time.
    writes: tokio::sync::Mutex<()>,
    /// Access key id -> last use not yet written.
    pending: Mutex<HashMap<String, LastUsed>>,
    /// User ARN -> (account id, when their password last signed them in) not yet written; with
    /// no database, kept here for the process's life (at most `PENDING_MAX` users).
    passwords_used: Mutex<HashMap<String, (String, i64)>>,
    /// Where the file's directory is (for the read-only refusal's message).
    file: String,
    /// Where the directory's SAML providers are put in force (AssumeRoleWithSAML's).
    saml: Arc<crate::federation::saml::SamlSettings>,
    /// The time, for the SAML providers' certificate checks.
    clock: Arc<dyn crate::clock::Clock>,
    /// Where the directory's OpenID Connect providers are put in force.
    oidc: Arc<crate::federation::oidc::OidcFederation>,
    /// `[directory] allow_http_loopback_providers` (tests only).
    loopback_providers: bool,
    /// `[passwords]`: hashes new console passwords.
    passwords: Arc<crate::password::Hasher>,
}

impl std::fmt::Debug for DirectoryService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectoryService")
            .field("store", &self.store.as_ref().map(DirectoryStore::shown))
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}

/// Build a directory from data whose secrets are sealed (or, for a file's, given as the file
/// says: those were opened when the file loaded).
pub fn build(doc: &DirectoryDoc, keys: &SealingKeys) -> Result<Directory, DirectoryError> {
    Directory::build(doc, &mut |r, key, id| match &r.sealed {
        Some(text) => sealed::open(keys, id, text).map_err(|e| crate::settings::ConfigError {
            file: "directory".into(),
            key: key.into(),
            problem: e.to_string(),
        }),
        None => Err(crate::settings::ConfigError {
            file: "directory".into(),
            key: key.into(),
            problem: "a stored secret must be sealed".into(),
        }),
    })
}

/// `doc` (a file's directory, built as `built`) with every access key's secret sealed: what a
/// database may hold.
pub fn sealed_copy(
    doc: &DirectoryDoc,
    built: &Directory,
    keys: &SealingKeys,
) -> Result<DirectoryDoc, String> {
    let mut out = doc.clone();
    let mut users: Vec<&mut crate::directory::RawUser> = out.users.iter_mut().collect();
    for a in &mut out.accounts {
        users.extend(a.users.iter_mut());
    }
    for u in users {
        for k in &mut u.access_keys {
            if k.secret.sealed.is_some() {
                continue;
            }
            let (_, key) = built
                .access_key(&k.id)
                .ok_or_else(|| format!("access key {} is not in the directory", k.id))?;
            k.secret = sealed::seal(keys, &k.id, &key.secret).map_err(|e| e.to_string())?;
        }
    }
    Ok(out)
}

/// Keep `value` under `key` until the next flush: a newer one replaces it; a new key is dropped
/// once `PENDING_MAX` wait.
fn keep<V>(pending: &Mutex<HashMap<String, V>>, key: &str, value: V) {
    let Ok(mut pending) = pending.lock() else {
        return;
    };
    if pending.len() >= PENDING_MAX && !pending.contains_key(key) {
        return;
    }
    pending.insert(key.to_owned(), value);
}

/// The pause before attempt `n` (1..): 5·n ms plus up to as much again, at random.
fn backoff(n: u32) -> Duration {
    let base = 5 * u64::from(n);
    let random = uuid::Uuid::new_v4()
        .as_bytes()
        .first()
        .copied()
        .unwrap_or(0);
    let jitter = u64::from(random) * base / 255;
    Duration::from_millis(base + jitter)
}

/// The directory's SAML providers (every account's `[[saml_metadata]]`), by ARN, and the
/// problems of those that could not be built (each named; the others still are).
pub fn saml_providers(
    doc: &DirectoryDoc,
    now: SystemTime,
) -> (
    std::collections::BTreeMap<String, Arc<crate::federation::saml::SamlProvider>>,
    Vec<String>,
) {
    let mut out = std::collections::BTreeMap::new();
    let mut problems = Vec::new();
    for account in doc.all_accounts() {
        for p in &account.saml_metadata {
            match crate::federation::saml::SamlProvider::from_document(
                &p.name,
                &account.account_id,
                &p.metadata,
                now,
            ) {
                Ok(provider) => {
                    out.insert(provider.arn.clone(), Arc::new(provider));
                }
                Err(e) => problems.push(format!(
                    "saml provider {}/{}: {e}",
                    account.account_id, p.name
                )),
            }
        }
    }
    (out, problems)
}

/// The directory's OpenID Connect providers (every account's `[[openid_connect_providers]]`),
/// validated as configured ones are (keys by discovery at the issuer), and the problems of those
/// that could not be.
pub fn oidc_providers(
    doc: &DirectoryDoc,
    loopback: bool,
) -> (Vec<crate::federation::oidc::ProviderConfig>, Vec<String>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for account in doc.all_accounts() {
        for p in &account.openid_connect_providers {
            match oidc_provider(p, &account.account_id, loopback) {
                Ok(c) => out.push(c),
                Err(e) => problems.push(format!(
                    "oidc provider {} of {}: {e}",
                    p.url, account.account_id
                )),
            }
        }
    }
    (out, problems)
}

/// One of the directory's OpenID Connect providers as a provider configuration.
pub fn oidc_provider(
    p: &crate::directory::RawOpenIdConnectProvider,
    account: &str,
    loopback: bool,
) -> Result<crate::federation::oidc::ProviderConfig, String> {
    let raw: crate::federation::oidc::RawOidcProvider = serde_json::from_value(serde_json::json!({
        "issuer": p.url,
        "client_ids": p.client_ids,
        "allow_http_loopback": loopback,
    }))
    .map_err(|e| e.to_string())?;
    crate::federation::oidc::ProviderConfig::from_raw(&raw, account, std::path::Path::new("."))
        .map_err(|(key, problem)| format!("{key}: {problem}"))
}

fn invalid(e: DirectoryError) -> IamError {
    match e {
        DirectoryError::Invalid { key, problem } => {
            match problem.strip_prefix("MalformedPolicyDocument: ") {
                Some(why) => IamError::MalformedPolicyDocument(why.to_owned()),
                None => IamError::Validation(format!("{key}: {problem}")),
            }
        }
        DirectoryError::Secret(e) => IamError::ServiceFailure(format!("{}: {}", e.key, e.problem)),
    }
}

impl DirectoryService {
    /// The directory of `config`, put in force in `live`: the file's, or the database's
    /// (seeded with the file's when empty).
    pub async fn start(
        config: &Config,
        keys: Arc<SealingKeys>,
        live: Arc<LiveDirectory>,
        hub: Arc<RevocationHub>,
        clock: Arc<dyn crate::clock::Clock>,
        oidc: Arc<crate::federation::oidc::OidcFederation>,
    ) -> Result<DirectoryService, String> {
        let mut service = DirectoryService {
            live,
            store: None,
            keys,
            hub,
            poll: Duration::from_millis(250),
            writes: tokio::sync::Mutex::new(()),
            pending: Mutex::default(),
            passwords_used: Mutex::default(),
            file: config.file.display().to_string(),
            saml: Arc::clone(&config.saml),
            clock,
            oidc,
            loopback_providers: config.loopback_providers,
            passwords: Arc::clone(&config.passwords),
        };
        let Some(settings) = &config.directory_store else {
            service.put_providers(&service.live.load());
            return Ok(service);
        };
        if config.sealing.is_none() {
            return Err("[directory] url needs [sealing] keys: access keys' secrets are sealed in the database, and a random key would lose them at restart".into());
        }
        let store = DirectoryStore::open(&settings.url)
            .await
            .map_err(|e| e.to_string())?;
        let stored = match store.load().await.map_err(|e| e.to_string())? {
            Some(s) => s,
            None => {
                let seed = sealed_copy(config.directory.doc(), &config.directory, &service.keys)?;
                let version = match store.save(0, None, &seed).await {
                    Ok(v) => v,
                    // Another replica seeded it first: read what it wrote.
                    Err(StoreError::Conflict(_)) => 0,
                    Err(e) => return Err(e.to_string()),
                };
                tracing::info!(store = %store.shown(), version, "directory database was empty: seeded with the configuration file's directory");
                store
                    .load()
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or("directory database: empty after seeding")?
            }
        };
        let directory = build(&stored.doc, &service.keys)
            .map_err(|e| format!("directory database ({}): {e}", store.shown()))?
            .with_store_version(stored.version);
        let (users, roles, policies) = directory.counts();
        tracing::info!(store = %store.shown(), version = stored.version, users, roles, policies, "directory loaded from the database");
        service.put_providers(&directory);
        service.live.replace(directory);
        service.poll = settings.poll;
        service.store = Some(store);
        Ok(service)
    }

    /// How console passwords are hashed and checked (`[passwords]`).
    pub fn passwords(&self) -> &crate::password::Hasher {
        &self.passwords
    }

    /// Is the directory kept in a database (changes allowed)?
    pub fn writable(&self) -> bool {
        self.store.is_some()
    }

    /// The database, when there is one.
    pub fn store(&self) -> Option<&DirectoryStore> {
        self.store.as_ref()
    }

    /// Put `directory`'s SAML providers in force (a provider that cannot be built is logged and
    /// left out; the others are in force).
    pub fn put_providers(&self, directory: &Directory) {
        let (providers, problems) = saml_providers(directory.doc(), self.clock.now());
        for p in problems {
            tracing::error!(problem = %p, "a SAML provider of the directory is not in force");
        }
        self.saml.set_directory_providers(providers);
        let (configs, problems) = oidc_providers(directory.doc(), self.loopback_providers);
        for p in problems {
            tracing::error!(problem = %p, "an OpenID Connect provider of the directory is not in force");
        }
        self.oidc.set_directory_providers(&configs);
    }

    /// Is `arn` a configured OpenID Connect provider's (`[[oidc_providers]]` of the file)?
    pub fn oidc_configured(&self, arn: &str) -> bool {
        self.oidc.configured(arn)
    }

    /// `[directory] allow_http_loopback_providers` (tests only).
    pub fn loopback_providers(&self) -> bool {
        self.loopback_providers
    }

    /// Is `arn` a configured SAML provider's (`[[saml_providers]]` of the file)?
    pub fn saml_configured(&self, arn: &str) -> bool {
        self.saml.configured(arn)
    }

    fn put(&self, directory: Directory) {
        self.put_providers(&directory);
        if let Some(version) = self.live.replace(directory) {
            self.hub.policies_changed(version);
        }
    }

    /// Change the directory: `edit` a copy of the version in force; the result is validated
    /// whole, written over that version and put in force. `edit` runs again (on the newer
    /// version) when another replica's change was written first; after [`ATTEMPTS`]:
    /// `ConcurrentModification`.
    pub async fn change<T>(
        &self,
        mut edit: impl FnMut(&mut DirectoryDoc) -> Result<T, IamError>,
    ) -> Result<T, IamError> {
        let Some(store) = &self.store else {
            return Err(IamError::ReadOnly(format!(
                "The directory is read-only: it is the configuration file's ({}). Change the file, or keep the directory in a database ([directory] url).",
                self.file
            )));
        };
        let _one_at_a_time = self.writes.lock().await;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            let current = self.live.load();
            let mut doc = DirectoryDoc::clone(current.doc());
            let out = edit(&mut doc)?;
            if doc == **current.doc() {
                return Ok(out);
            }
            let directory = build(&doc, &self.keys).map_err(invalid)?;
            match store
                .save(current.store_version(), Some(current.doc()), &doc)
                .await
            {
                Ok(version) => {
                    self.put(directory.with_store_version(version));
                    return Ok(out);
                }
                Err(StoreError::Conflict(_)) => {
                    self.refresh()
                        .await
                        .map_err(|e| IamError::ServiceFailure(e.to_string()))?;
                }
                Err(e) => {
                    tracing::error!(error = %e, "directory change not written");
                    return Err(IamError::ServiceFailure(
                        "The directory could not be written; nothing was changed.".into(),
                    ));
                }
            }
        }
        Err(IamError::ConcurrentModification(
            "The directory was changed by other replicas while this change was made (8 times); nothing was written, try again.".into(),
        ))
    }

    /// Load the database's version when it is not the one in force. `true`: another version
    /// is in force now.
    pub async fn refresh(&self) -> Result<bool, StoreError> {
        let Some(store) = &self.store else {
            return Ok(false);
        };
        let version = store.version().await?;
        if version == self.live.load().store_version() {
            return Ok(false);
        }
        let Some(stored) = store.load().await? else {
            return Ok(false);
        };
        match build(&stored.doc, &self.keys) {
            Ok(d) => {
                self.put(d.with_store_version(stored.version));
                Ok(true)
            }
            Err(e) => Err(StoreError::Corrupt {
                kind: "directory".into(),
                name: format!("version {}", stored.version),
                problem: e.to_string(),
            }),
        }
    }

    /// Follow the database for as long as the process runs: another replica's change is in
    /// force here within the poll interval; access keys' last use is written every
    /// [`FLUSH_EVERY`]. A failing database keeps the version in force (logged once a minute).
    pub async fn follow(self: Arc<Self>) {
        if self.store.is_none() {
            return;
        }
        let mut tick = tokio::time::interval(self.poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_flush = crate::clock::Stopwatch::start();
        let mut last_warning: Option<crate::clock::Stopwatch> = None;
        loop {
            tick.tick().await;
            let mut failed = self.refresh().await.err();
            if last_flush.elapsed() >= FLUSH_EVERY {
                last_flush = crate::clock::Stopwatch::start();
                if let Err(e) = self.flush().await {
                    failed = Some(e);
                }
            }
            if let Some(e) = failed {
                if last_warning
                    .as_ref()
                    .is_none_or(|w| w.elapsed() >= Duration::from_secs(60))
                {
                    tracing::warn!(error = %e, "directory database: keeping the directory in force");
                    last_warning = Some(crate::clock::Stopwatch::start());
                }
            }
        }
    }

    /// An access key signed a request at `at` for `service` in `region` (kept until the next
    /// flush; nothing waits on the database).
    pub fn note_use(&self, access_key_id: &str, at: SystemTime, service: &str, region: &str) {
        if self.store.is_none() {
            return;
        }
        let at = crate::clock::epoch(at);
        keep(
            &self.pending,
            access_key_id,
            LastUsed {
                at: i64::try_from(at).unwrap_or(i64::MAX),
                service: service.to_owned(),
                region: region.to_owned(),
            },
        );
    }

    /// `user_arn` of `account` signed in to the console with their password at `at`
    /// (GetUser's `PasswordLastUsed`; kept until the next flush, nothing waits on the database).
    pub fn note_password_use(&self, account: &str, user_arn: &str, at: SystemTime) {
        let at = i64::try_from(crate::clock::epoch(at)).unwrap_or(i64::MAX);
        keep(&self.passwords_used, user_arn, (account.to_owned(), at));
    }

    /// Write what [`Self::note_use`] and [`Self::note_password_use`] kept. Password uses that
    /// could not be written are kept for the next flush (a newer one noted meanwhile wins).
    pub async fn flush(&self) -> Result<(), StoreError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let batch: Vec<(String, LastUsed)> = match self.pending.lock() {
            Ok(mut p) => p.drain().collect(),
            Err(_) => return Ok(()),
        };
        let passwords: Vec<(String, String, i64)> = match self.passwords_used.lock() {
            Ok(mut p) => p.drain().map(|(arn, (acct, at))| (arn, acct, at)).collect(),
            Err(_) => Vec::new(),
        };
        let keys = store.record_last_used(&batch).await;
        if let Err(e) = store.record_password_use(&passwords).await {
            if let Ok(mut used) = self.passwords_used.lock() {
                for (arn, acct, at) in passwords {
                    used.entry(arn).or_insert((acct, at));
                }
            }
            return Err(e);
        }
        keys
    }

    /// When the passwords of `account`'s users last signed them in, by user ARN: what waits to
    /// be written, else what was written. `one`: only that user (GetUser), else every user of
    /// the account (ListUsers). A database that cannot be read leaves its times out (logged):
    /// an informational field does not take GetUser and ListUsers down with it.
    pub async fn password_last_used(
        &self,
        account: &str,
        one: Option<&str>,
    ) -> std::collections::BTreeMap<String, i64> {
        let mut out = match &self.store {
            Some(s) => s
                .password_last_used(account, one)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "passwords' last sign-in could not be read; answered without the database's");
                    std::collections::BTreeMap::new()
                }),
            None => std::collections::BTreeMap::new(),
        };
        if let Ok(used) = self.passwords_used.lock() {
            for (arn, (acct, at)) in used.iter() {
                if acct == account && one.is_none_or(|o| o == arn) {
                    let e = out.entry(arn.clone()).or_insert(*at);
                    *e = (*e).max(*at);
                }
            }
        }
        out
    }

    /// When `access_key_id` was last used: what waits to be written, else what was written.
    pub async fn last_used(&self, access_key_id: &str) -> Result<Option<LastUsed>, StoreError> {
        if let Some(u) = self
            .pending
            .lock()
            .ok()
            .and_then(|p| p.get(access_key_id).cloned())
        {
            return Ok(Some(u));
        }
        match &self.store {
            Some(s) => s.last_used(access_key_id).await,
            None => Ok(None),
        }
    }

    /// The sealing keys (to seal new access keys' secrets).
    pub fn keys(&self) -> &SealingKeys {
        &self.keys
    }
}
