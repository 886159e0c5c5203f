//! Reloading the directory without a restart: on SIGHUP, and when the configuration file
//! changed. The file is read and validated whole ([`Config::load`]); a bad one is refused and
//! logged, and the directory in force stays. A directory kept in a database is not reloaded from
//! the file (`crate::directory_service`). Only the directory (account, users and their keys,
//! groups, roles, managed policies) is reloaded; other settings take a restart. A new version
//! is announced to every verifier (`GET /verify/events`' `policies`, and idbroker's own) through
//! the revocation hub.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::config::Config;
use crate::state::AppState;

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// A directory of another version is in force (its version).
    Changed(String),
    /// The file's directory is the one in force.
    Unchanged,
    /// The directory is kept in a database (`[directory] url`): the file's is only its seed
    /// and is not reloaded; the file was read and is valid.
    InDatabase,
}

/// Read `file` at `now` and put its directory in force. `Err`: the file was refused (the
/// directory in force stays).
pub fn reload_directory(
    state: &AppState,
    file: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    now: SystemTime,
) -> Result<Reloaded, String> {
    let config = Config::load_with_env(file, env, now).map_err(|e| e.to_string())?;
    if state.directory_service.writable() {
        return Ok(Reloaded::InDatabase);
    }
    state.directory_service.put_providers(&config.directory);
    Ok(match state.live_directory.replace(config.directory) {
        Some(version) => {
            state.revocations.policies_changed(version.clone());
            Reloaded::Changed(version)
        }
        None => Reloaded::Unchanged,
    })
}

/// The configuration file and what it looked like when last read (to tell a change).
#[derive(Debug)]
pub struct WatchedFile {
    path: PathBuf,
    seen: Option<(SystemTime, u64)>,
}

impl WatchedFile {
    /// `path`, as it is now.
    pub fn new(path: &Path) -> Self {
        let mut w = WatchedFile {
            path: path.to_owned(),
            seen: None,
        };
        w.seen = w.stamp();
        w
    }

    fn stamp(&self) -> Option<(SystemTime, u64)> {
        let m = std::fs::metadata(&self.path).ok()?;
        Some((m.modified().ok()?, m.len()))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Has the file changed (time or size) since last asked?
    pub fn changed(&mut self) -> bool {
        let now = self.stamp();
        let changed = now != self.seen;
        self.seen = now;
        changed
    }
}

/// Reload and log the outcome (`why`: `SIGHUP` or `file changed`).
pub fn reload_and_log(state: &AppState, file: &Path, why: &str, now: SystemTime) {
    match reload_directory(state, file, &|k| std::env::var(k).ok(), now) {
        Ok(Reloaded::Changed(version)) => {
            tracing::info!(reason = why, %version, "directory reloaded: a new version is in force")
        }
        Ok(Reloaded::Unchanged) => {
            tracing::info!(reason = why, "directory reloaded: unchanged")
        }
        Ok(Reloaded::InDatabase) => tracing::info!(
            reason = why,
            "the directory is kept in the database: the file's directory is not reloaded (idbroker directory diff/apply)"
        ),
        Err(e) => tracing::error!(
            reason = why,
            error = %e,
            "configuration refused; the directory in force stays"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_file_is_noticed_once() {
        let path = std::env::temp_dir().join(format!("idbroker-watched-{}", std::process::id()));
        std::fs::write(&path, "a").unwrap_or_else(|e| panic!("{e}"));
        let mut w = WatchedFile::new(&path);
        assert!(!w.changed());
        std::fs::write(&path, "ab").unwrap_or_else(|e| panic!("{e}"));
        assert!(w.changed());
        assert!(!w.changed());
        std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(w.changed(), "gone is a change");
    }
}
