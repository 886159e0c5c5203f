//! The directory in a database: PostgreSQL for several replicas, SQLite embedded for one process
//! (and the demo). Schema in `migrations/{postgres,sqlite}` (embedded, applied at open).
//!
//! Invariants, enforced here:
//! - The database holds one account's directory as documents, one row per entity (its JSON),
//!   and a version that every change increments. A change is written only over the version it
//!   was computed from ([`DirectoryStore::save`]): of two conflicting writers one wins, the other
//!   is told [`StoreError::Conflict`] and nothing of it is written.
//! - No secret in clear is ever written: every access key's secret and every MFA device's seed
//!   must be `sealed`, every console password an argon2id hash.
//! - Replicas learn of a change by polling [`DirectoryStore::version`] (one indexed row).
//!
//! When a long-term access key was last used (`idbroker_access_key_last_used`) and when a
//! user's console password last signed them in (`idbroker_password_last_used`) are kept apart,
//! written in batches, and are not part of the version.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{PgPool, SqlitePool};

use super::raw::{
    DirectoryDoc, RawGroup, RawManagedPolicy, RawMfaDevice, RawOpenIdConnectProvider, RawRole,
    RawSamlMetadata, RawUser,
};

/// A store that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another change was written since the version this one was computed from.
    #[error("the directory changed since version {0}; nothing was written")]
    Conflict(i64),
    /// The URL is not one the store knows.
    #[error("directory.url: {0}")]
    Url(String),
    /// The database failed or could not be reached (no secret in the text).
    #[error("directory store: {0}")]
    Database(String),
    /// A row could not be read back as an entity.
    #[error("directory store: entity {kind}/{name}: {problem}")]
    Corrupt {
        /// Kind of entity.
        kind: String,
        /// Its name key.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// A document to write holds a secret in clear.
    #[error("directory store: {0}: only sealed secrets are stored")]
    Unsealed(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Database(format!("migration: {e}"))
    }
}

#[derive(Debug, Clone)]
enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Run `$body` with `$pool` bound to whichever pool the store has (the SQL is the same for
/// both: `$N` placeholders in order, `ON CONFLICT ... DO UPDATE`).
macro_rules! with_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Db::Sqlite($pool) => $body,
            Db::Postgres($pool) => $body,
        }
    };
}

/// A directory as stored: its version and its documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The version (1 for the first write, then one more per change).
    pub version: i64,
    /// The directory.
    pub doc: DirectoryDoc,
}

/// When an access key was last used: seconds since the epoch, the service and region signed
/// for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastUsed {
    /// Seconds since the Unix epoch.
    pub at: i64,
    /// The SigV4 service (`sts`, `iam`, ...).
    pub service: String,
    /// The SigV4 region.
    pub region: String,
}

/// See the module.
#[derive(Debug, Clone)]
pub struct DirectoryStore {
    db: Db,
    /// The URL without its password, for logs.
    shown: String,
}

/// The URL with any password replaced, for logs and errors.
pub fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}:***@{host}")
            }
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

impl DirectoryStore {
    /// Connect to `url` (`postgres://...`, `postgresql://...`, `sqlite://PATH`,
    /// `sqlite::memory:`) and bring its schema up to date.
    pub async fn open(url: &str) -> Result<DirectoryStore, StoreError> {
        let shown = redact(url);
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::Url(format!("{shown}: {e}")))?
                .options([("statement_timeout", "5s")]);
            let pool = PgPoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(opts)
                .await
                .map_err(|e| StoreError::Database(format!("{shown}: {e}")))?;
            sqlx::migrate!("./migrations/postgres").run(&pool).await?;
            Db::Postgres(pool)
        } else if url.starts_with("sqlite:") {
            let memory = url.contains(":memory:") || url.contains("mode=memory");
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Url(format!("{shown}: {e}")))?
                .create_if_missing(true)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            let opts = if memory {
                opts
            } else {
                opts.journal_mode(SqliteJournalMode::Wal)
            };
            // An in-memory database lives as long as its one connection.
            let pool = if memory {
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
            } else {
                SqlitePoolOptions::new().max_connections(4)
            }
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Database(format!("{shown}: {e}")))?;
            sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
            if !memory {
                restrict_file(url);
            }
            Db::Sqlite(pool)
        } else {
            return Err(StoreError::Url(format!(
                "{shown}: use postgres://... or sqlite://PATH"
            )));
        };
        Ok(DirectoryStore { db, shown })
    }

    /// The URL, without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The version stored (0: nothing was ever written).
    pub async fn version(&self) -> Result<i64, StoreError> {
        let v: Option<(i64,)> = with_pool!(&self.db, pool => {
            sqlx::query_as("SELECT version FROM idbroker_directory_meta WHERE id = 1")
                .fetch_optional(pool)
                .await?
        });
        Ok(v.map_or(0, |(v,)| v))
    }

    /// The directory stored, `None` when nothing was ever written.
    pub async fn load(&self) -> Result<Option<Stored>, StoreError> {
        // One transaction: the version and the rows it names, not a mix of two changes.
        with_pool!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let meta: Option<(i64, String, Option<String>)> = sqlx::query_as(
                "SELECT version, account_id, account_alias FROM idbroker_directory_meta WHERE id = 1",
            )
            .fetch_optional(&mut *tx)
            .await?;
            let Some((version, account_id, account_alias)) = meta else {
                return Ok(None);
            };
            let rows: Vec<(String, String, String, String)> = sqlx::query_as(
                "SELECT account_id, kind, name_key, body FROM idbroker_directory_entities \
                 ORDER BY account_id, kind, name_key",
            )
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            let mut doc = DirectoryDoc {
                account_id,
                account_alias,
                ..DirectoryDoc::default()
            };
            // The other accounts first (their rows say so), then every entity into its account.
            for (account, kind, name, body) in &rows {
                if kind == ACCOUNT && *account != doc.account_id {
                    let a: AccountRow = serde_json::from_str(body).map_err(|e| StoreError::Corrupt {
                        kind: kind.clone(),
                        name: name.clone(),
                        problem: e.to_string(),
                    })?;
                    doc.accounts.push(DirectoryDoc {
                        account_id: account.clone(),
                        account_alias: a.account_alias,
                        ..DirectoryDoc::default()
                    });
                }
            }
            for (account, kind, name, body) in rows {
                if kind == ACCOUNT {
                    continue;
                }
                let target = doc.account_mut(&account).ok_or_else(|| StoreError::Corrupt {
                    kind: kind.clone(),
                    name: name.clone(),
                    problem: format!("account {account} is not in the directory"),
                })?;
                read_row(target, &kind, &name, &body)?;
            }
            Ok(Some(Stored { version, doc }))
        })
    }

    /// Write `new` over the stored version `expected` (0: the store is empty), whose directory
    /// was `old`: only the entities that differ are written. The new version, or
    /// [`StoreError::Conflict`] when the store is no longer at `expected` (nothing written).
    pub async fn save(
        &self,
        expected: i64,
        old: Option<&DirectoryDoc>,
        new: &DirectoryDoc,
    ) -> Result<i64, StoreError> {
        check_sealed(new)?;
        let empty = DirectoryDoc::default();
        let old = match old {
            Some(o) if expected != 0 => o,
            _ => &empty,
        };
        let before = rows(old)?;
        let after = rows(new)?;
        let gone: Vec<&RowKey> = before.keys().filter(|k| !after.contains_key(*k)).collect();
        let changed: Vec<(&RowKey, &String)> = after
            .iter()
            .filter(|(k, body)| before.get(*k) != Some(*body))
            .collect();
        with_pool!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let updated = if expected == 0 {
                sqlx::query(
                    "INSERT INTO idbroker_directory_meta (id, version, account_id, account_alias) \
                     VALUES (1, 1, $1, $2) ON CONFLICT (id) DO NOTHING",
                )
                .bind(&new.account_id)
                .bind(&new.account_alias)
                .execute(&mut *tx)
                .await?
                .rows_affected()
            } else {
                sqlx::query(
                    "UPDATE idbroker_directory_meta SET version = version + 1, account_id = $1, \
                     account_alias = $2 WHERE id = 1 AND version = $3",
                )
                .bind(&new.account_id)
                .bind(&new.account_alias)
                .bind(expected)
                .execute(&mut *tx)
                .await?
                .rows_affected()
            };
            if updated != 1 {
                tx.rollback().await?;
                return Err(StoreError::Conflict(expected));
            }
            // The first write: whatever rows there are belong to no version.
            if expected == 0 {
                sqlx::query("DELETE FROM idbroker_directory_entities")
                    .execute(&mut *tx)
                    .await?;
            }
            for (account, kind, name) in gone {
                sqlx::query(
                    "DELETE FROM idbroker_directory_entities \
                     WHERE account_id = $1 AND kind = $2 AND name_key = $3",
                )
                .bind(account)
                .bind(*kind)
                .bind(name)
                .execute(&mut *tx)
                .await?;
            }
            for ((account, kind, name), body) in changed {
                sqlx::query(
                    "INSERT INTO idbroker_directory_entities (account_id, kind, name_key, body) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, kind, name_key) \
                     DO UPDATE SET body = excluded.body",
                )
                .bind(account)
                .bind(*kind)
                .bind(name)
                .bind(body)
                .execute(&mut *tx)
                .await?;
            }
            let (version,): (i64,) =
                sqlx::query_as("SELECT version FROM idbroker_directory_meta WHERE id = 1")
                    .fetch_one(&mut *tx)
                    .await?;
            tx.commit().await?;
            Ok(version)
        })
    }

    /// Record when access keys were last used (one statement per key, one transaction; a later
    /// time never goes back).
    pub async fn record_last_used(&self, batch: &[(String, LastUsed)]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        with_pool!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            for (id, used) in batch {
                sqlx::query(
                    "INSERT INTO idbroker_access_key_last_used (access_key_id, used_at, service_name, region) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (access_key_id) DO UPDATE SET \
                     used_at = excluded.used_at, service_name = excluded.service_name, region = excluded.region \
                     WHERE idbroker_access_key_last_used.used_at <= excluded.used_at",
                )
                .bind(id)
                .bind(used.at)
                .bind(&used.service)
                .bind(&used.region)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Record when users' passwords last signed them in: (user ARN, account id, seconds since
    /// the epoch); one transaction, and a later time never goes back.
    pub async fn record_password_use(
        &self,
        batch: &[(String, String, i64)],
    ) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        with_pool!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            for (arn, account, at) in batch {
                sqlx::query(
                    "INSERT INTO idbroker_password_last_used (user_arn, account_id, used_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (user_arn) DO UPDATE SET \
                     used_at = excluded.used_at, account_id = excluded.account_id \
                     WHERE idbroker_password_last_used.used_at <= excluded.used_at",
                )
                .bind(arn)
                .bind(account)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// When the passwords of `account`'s users last signed them in, by user ARN (as recorded):
    /// `one` names the single user asked about (GetUser), else the whole account (ListUsers).
    pub async fn password_last_used(
        &self,
        account: &str,
        one: Option<&str>,
    ) -> Result<BTreeMap<String, i64>, StoreError> {
        let rows: Vec<(String, i64)> = with_pool!(&self.db, pool => {
            match one {
                Some(arn) => sqlx::query_as(
                    "SELECT user_arn, used_at FROM idbroker_password_last_used \
                     WHERE user_arn = $1 AND account_id = $2",
                )
                .bind(arn)
                .bind(account)
                .fetch_all(pool)
                .await?,
                None => sqlx::query_as(
                    "SELECT user_arn, used_at FROM idbroker_password_last_used \
                     WHERE account_id = $1",
                )
                .bind(account)
                .fetch_all(pool)
                .await?,
            }
        });
        Ok(rows.into_iter().collect())
    }

    /// When `access_key_id` was last used, if ever (as recorded).
    pub async fn last_used(&self, access_key_id: &str) -> Result<Option<LastUsed>, StoreError> {
        let row: Option<(i64, String, String)> = with_pool!(&self.db, pool => {
            sqlx::query_as(
                "SELECT used_at, service_name, region FROM idbroker_access_key_last_used \
                 WHERE access_key_id = $1",
            )
            .bind(access_key_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(at, service, region)| LastUsed {
            at,
            service,
            region,
        }))
    }
}

/// The database file (and its WAL and shared-memory files) readable by this user only: it
/// holds sealed secrets and the whole directory.
fn restrict_file(url: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{path}{suffix}");
        if std::path::Path::new(&file).exists() {
            if let Err(e) = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
            {
                tracing::warn!(file, error = %e, "could not make the directory database private");
            }
        }
    }
}

const ACCOUNT: &str = "account";
const MANAGED: &str = "managed_policy";

/// (account, kind, lower-case name).
type RowKey = (String, &'static str, String);

/// Another account's own row: its alias.
#[derive(serde::Serialize, serde::Deserialize)]
struct AccountRow {
    account_alias: Option<String>,
}
const GROUP: &str = "group";
const USER: &str = "user";
const ROLE: &str = "role";
const SAML_PROVIDER: &str = "saml_provider";
const OIDC_PROVIDER: &str = "oidc_provider";
/// Keyed by path and name (the serial number without the account).
const MFA_DEVICE: &str = "mfa_device";
/// The account password policy: one row per account, keyed [`PASSWORD_POLICY`] too.
const PASSWORD_POLICY: &str = "password_policy";

fn json<T: serde::Serialize>(kind: &str, name: &str, v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt {
        kind: kind.into(),
        name: name.into(),
        problem: e.to_string(),
    })
}

/// Every entity of every account of `doc` as (account, kind, lower-case name) -> JSON body;
/// the other accounts' own rows (their alias) as kind `account`.
fn rows(doc: &DirectoryDoc) -> Result<BTreeMap<RowKey, String>, StoreError> {
    let mut out = BTreeMap::new();
    for (i, a) in doc.all_accounts().enumerate() {
        let acct = &a.account_id;
        let mut put = |kind: &'static str, name: &str, body: String| {
            out.insert((acct.clone(), kind, name.to_ascii_lowercase()), body);
        };
        if i > 0 {
            let row = AccountRow {
                account_alias: a.account_alias.clone(),
            };
            put(ACCOUNT, acct, json(ACCOUNT, acct, &row)?);
        }
        for p in &a.managed_policies {
            put(MANAGED, &p.name, json(MANAGED, &p.name, p)?);
        }
        for g in &a.groups {
            put(GROUP, &g.name, json(GROUP, &g.name, g)?);
        }
        for u in &a.users {
            put(USER, &u.name, json(USER, &u.name, u)?);
        }
        for r in &a.roles {
            put(ROLE, &r.name, json(ROLE, &r.name, r)?);
        }
        for p in &a.saml_metadata {
            put(SAML_PROVIDER, &p.name, json(SAML_PROVIDER, &p.name, p)?);
        }
        for p in &a.openid_connect_providers {
            put(OIDC_PROVIDER, &p.url, json(OIDC_PROVIDER, &p.url, p)?);
        }
        for d in &a.mfa_devices {
            let name = format!("{}{}", d.path, d.name);
            put(MFA_DEVICE, &name, json(MFA_DEVICE, &name, d)?);
        }
        if let Some(p) = &a.password_policy {
            put(
                PASSWORD_POLICY,
                PASSWORD_POLICY,
                json(PASSWORD_POLICY, PASSWORD_POLICY, p)?,
            );
        }
    }
    Ok(out)
}

fn read_row(doc: &mut DirectoryDoc, kind: &str, name: &str, body: &str) -> Result<(), StoreError> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt {
        kind: kind.into(),
        name: name.into(),
        problem: e.to_string(),
    };
    match kind {
        MANAGED => doc
            .managed_policies
            .push(serde_json::from_str::<RawManagedPolicy>(body).map_err(corrupt)?),
        GROUP => doc
            .groups
            .push(serde_json::from_str::<RawGroup>(body).map_err(corrupt)?),
        USER => doc
            .users
            .push(serde_json::from_str::<RawUser>(body).map_err(corrupt)?),
        ROLE => doc
            .roles
            .push(serde_json::from_str::<RawRole>(body).map_err(corrupt)?),
        SAML_PROVIDER => doc
            .saml_metadata
            .push(serde_json::from_str::<RawSamlMetadata>(body).map_err(corrupt)?),
        OIDC_PROVIDER => doc
            .openid_connect_providers
            .push(serde_json::from_str::<RawOpenIdConnectProvider>(body).map_err(corrupt)?),
        MFA_DEVICE => doc
            .mfa_devices
            .push(serde_json::from_str::<RawMfaDevice>(body).map_err(corrupt)?),
        PASSWORD_POLICY => {
            doc.password_policy = Some(serde_json::from_str(body).map_err(corrupt)?);
        }
        other => {
            return Err(StoreError::Corrupt {
                kind: other.into(),
                name: name.into(),
                problem: "unknown kind".into(),
            })
        }
    }
    Ok(())
}

fn check_sealed(doc: &DirectoryDoc) -> Result<(), StoreError> {
    for d in doc.all_accounts().flat_map(|a| a.mfa_devices.iter()) {
        let s = &d.seed;
        if s.sealed.is_none() || s.value.is_some() || s.env.is_some() || s.file.is_some() {
            return Err(StoreError::Unsealed(format!(
                "MFA device {}{} seed",
                d.path, d.name
            )));
        }
    }
    for u in doc.all_accounts().flat_map(|a| a.users.iter()) {
        if let Some(lp) = &u.login_profile {
            let hashes = std::iter::once(&lp.password_hash).chain(lp.previous_hashes.iter());
            if !hashes.into_iter().all(|h| crate::password::is_hash(h)) {
                return Err(StoreError::Unsealed(format!(
                    "user {} password (only argon2id hashes are kept)",
                    u.name
                )));
            }
        }
        for k in &u.access_keys {
            let s = &k.secret;
            if s.sealed.is_none() || s.value.is_some() || s.env.is_some() || s.file.is_some() {
                return Err(StoreError::Unsealed(format!(
                    "user {} access key {}",
                    u.name, k.id
                )));
            }
        }
    }
    Ok(())
}
