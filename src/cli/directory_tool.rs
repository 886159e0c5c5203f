//! `idbroker directory import|export|diff|apply`: the directory's database and TOML files. The
//! database and the sealing keys are the configuration's (`--config`: `[directory] url`,
//! `[sealing]`). A TOML file is read as a configuration file's directory part (`account_id`,
//! `account_alias`, `[[managed_policies]]`, `[[groups]]`, `[[users]]`, `[[roles]]`; anything
//! else in it is ignored, so a whole configuration file can be imported), validated whole;
//! access keys' secrets are sealed before anything is written, and an export holds only sealed
//! secrets.

use std::path::Path;

use idbroker_session::SealingKeys;

use crate::config::Config;
use crate::directory::plan::{plan, Change};
use crate::directory::store::{DirectoryStore, StoreError, Stored};
use crate::directory::{sealed, Directory, DirectoryDoc};
use crate::directory_service::sealed_copy;
use crate::settings::resolve_secret;

/// The configuration's database and sealing keys.
pub struct Target {
    store: DirectoryStore,
    keys: SealingKeys,
    now: std::time::SystemTime,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// Open the database `config` names (with its sealing keys).
pub async fn open(config: &Path, now: std::time::SystemTime) -> Result<Target, String> {
    let config = Config::load(config, now).map_err(|e| e.to_string())?;
    let settings = config
        .directory_store
        .as_ref()
        .ok_or("the configuration has no [directory] url: its directory is its own file")?;
    let keys = config
        .sealing
        .as_ref()
        .ok_or("the configuration has no [sealing] keys (a database's secrets are sealed)")?
        .keys()?;
    let store = DirectoryStore::open(&settings.url)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Target { store, keys, now })
}

/// Read `file`'s directory, validate it whole, and seal its secrets (a secret the database
/// already holds for the same key, `current`, keeps its sealed form: no change is reported for
/// it).
pub fn read_file(
    file: &Path,
    keys: &SealingKeys,
    current: Option<&DirectoryDoc>,
    now: std::time::SystemTime,
) -> Result<DirectoryDoc, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut part = toml::Table::new();
    for key in [
        "account_id",
        "account_alias",
        "managed_policies",
        "groups",
        "users",
        "roles",
        "accounts",
        "saml_metadata",
        "openid_connect_providers",
        "mfa_devices",
    ] {
        if let Some(v) = table.get(key) {
            part.insert(key.into(), v.clone());
        }
    }
    let doc: DirectoryDoc = toml::Value::Table(part)
        .try_into()
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let base = file.parent().unwrap_or(Path::new("."));
    let mut warnings = Vec::new();
    let env = |k: &str| std::env::var(k).ok();
    let built = Directory::build(&doc, &mut |r, key, id| match &r.sealed {
        Some(s) => sealed::open(keys, id, s)
            .map_err(|e| crate::settings::ConfigError::new(file, key, e.to_string())),
        None => resolve_secret(r, file, base, key, &env, &mut warnings),
    })
    .map_err(|e| format!("{}: {e}", file.display()))?;
    let mut doc = doc;
    // Keep the database's sealed form of a secret that did not change.
    if let Some(current) = current {
        let mut users: Vec<&mut crate::directory::RawUser> = doc.users.iter_mut().collect();
        for a in &mut doc.accounts {
            users.extend(a.users.iter_mut());
        }
        for u in users {
            for k in &mut u.access_keys {
                let stored = current
                    .all_accounts()
                    .flat_map(|a| a.users.iter())
                    .flat_map(|cu| cu.access_keys.iter())
                    .find(|ck| ck.id == k.id)
                    .and_then(|ck| ck.secret.sealed.as_deref().map(|s| (ck, s)));
                let (Some((ck, s)), Some((_, given))) = (stored, built.access_key(&k.id)) else {
                    continue;
                };
                if sealed::open(keys, &k.id, s).is_ok_and(|open| *open == *given.secret) {
                    k.secret = ck.secret.clone();
                }
            }
        }
    }
    // Its identity providers must be ones the server will trust (signing certificates, URLs).
    let (_, saml) = crate::directory_service::saml_providers(&doc, now);
    let (_, oidc) = crate::directory_service::oidc_providers(&doc, false);
    if let Some(problem) = saml.into_iter().chain(oidc).next() {
        return Err(format!("{}: {problem}", file.display()));
    }
    sealed_copy(&doc, &built, keys)
}

impl Target {
    /// The directory stored, if any.
    pub async fn load(&self) -> Result<Option<Stored>, String> {
        self.store.load().await.map_err(|e| e.to_string())
    }

    /// Put `file`'s directory into an empty database.
    pub async fn import(&self, file: &Path) -> Result<i64, String> {
        if self.store.version().await.map_err(|e| e.to_string())? != 0 {
            return Err(
                "the database already holds a directory: use `idbroker directory diff` and `apply`"
                    .into(),
            );
        }
        let doc = read_file(file, &self.keys, None, self.now)?;
        self.store
            .save(0, None, &doc)
            .await
            .map_err(|e| e.to_string())
    }

    /// What applying `file` would change, and the directory to write.
    pub async fn plan(
        &self,
        file: &Path,
    ) -> Result<(Option<Stored>, DirectoryDoc, Vec<Change>), String> {
        let stored = self.load().await?;
        let doc = read_file(file, &self.keys, stored.as_ref().map(|s| &s.doc), self.now)?;
        let empty = DirectoryDoc::default();
        let changes = plan(stored.as_ref().map_or(&empty, |s| &s.doc), &doc);
        Ok((stored, doc, changes))
    }

    /// Write `doc` over `stored` (refused when another change was written since).
    pub async fn apply(&self, stored: Option<&Stored>, doc: &DirectoryDoc) -> Result<i64, String> {
        match self
            .store
            .save(stored.map_or(0, |s| s.version), stored.map(|s| &s.doc), doc)
            .await
        {
            Ok(v) => Ok(v),
            Err(StoreError::Conflict(_)) => Err(
                "the directory changed while the plan was made; nothing was written: run apply again".into(),
            ),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// `doc` as a TOML file (sealed secrets only).
pub fn to_toml(doc: &DirectoryDoc) -> Result<String, String> {
    let body = toml::to_string_pretty(doc).map_err(|e| e.to_string())?;
    Ok(format!(
        "# idbroker directory export: secrets are sealed with the [sealing] keys of the configuration\n# that exported them; `idbroker directory import/apply` with the same keys opens them.\n{body}"
    ))
}
