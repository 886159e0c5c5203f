//! The credential cache of `idbroker credentials` (the AWS CLI's `credential_process`): one file
//! per profile, `$XDG_CACHE_HOME/idbroker/credentials/NAME.json` (or
//! `$HOME/.cache/idbroker/credentials/NAME.json`), directories `0700`, file `0600`, written
//! atomically, holding the credentials and the settings they were signed in with.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::error::LoginError;
use super::private_file;
use super::protocol::Credentials;
use super::settings::Settings;

/// Cached credentials are served while more than this is left: the AWS SDKs refresh
/// `credential_process` credentials this long before they expire (botocore's advisory refresh
/// window), so shorter-lived ones would be fetched again on every call.
pub const REFRESH_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The largest cache file read.
const MAX_CACHE_BYTES: u64 = 64 * 1024;

/// One profile's cache file.
#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    /// The file format, 1.
    pub version: u32,
    /// What the credentials were signed in with.
    pub settings: Settings,
    /// The credentials.
    pub credentials: Credentials,
}

impl Entry {
    /// An entry of this format.
    pub fn new(settings: Settings, credentials: Credentials) -> Self {
        Entry {
            version: 1,
            settings,
            credentials,
        }
    }

    /// The credentials have more than [`REFRESH_WINDOW`] left at `now`.
    pub fn fresh(&self, now: SystemTime) -> bool {
        self.credentials.left(now) > REFRESH_WINDOW
    }
}

/// A profile name: 1 to 64 of `A-Z a-z 0-9 _ . -`, not starting with a dot (it names a file).
pub fn check_profile(name: &str) -> Result<(), LoginError> {
    let ok = (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(LoginError::Local(format!(
            "--profile {}: a profile name is 1 to 64 letters, digits, '_', '.' or '-', not starting with '.'",
            super::error::shown(name)
        )))
    }
}

/// `$XDG_CACHE_HOME/idbroker/credentials` (an absolute `XDG_CACHE_HOME` only, as the XDG
/// specification says), else `$HOME/.cache/idbroker/credentials`.
pub fn cache_dir(env: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf, LoginError> {
    let base = match env("XDG_CACHE_HOME").map(PathBuf::from) {
        Some(p) if p.is_absolute() => p,
        _ => env("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".cache"))
            .ok_or_else(|| LoginError::Local("HOME is not set: set it or XDG_CACHE_HOME".into()))?,
    };
    Ok(base.join("idbroker").join("credentials"))
}

/// The cache file of `profile` (checked) in `dir`.
pub fn cache_path(dir: &Path, profile: &str) -> Result<PathBuf, LoginError> {
    check_profile(profile)?;
    Ok(dir.join(format!("{profile}.json")))
}

/// The entry at `path`; `None` when there is none.
pub fn load(path: &Path) -> Result<Option<Entry>, LoginError> {
    let Some(bytes) = private_file::read(path, MAX_CACHE_BYTES)? else {
        return Ok(None);
    };
    let entry: Entry = serde_json::from_slice(&zeroize::Zeroizing::new(bytes))
        .map_err(|e| LoginError::local(path.display(), e))?;
    if entry.version != 1 {
        return Err(LoginError::Local(format!(
            "{}: cache format {} is not 1",
            path.display(),
            entry.version
        )));
    }
    Ok(Some(entry))
}

/// Write `entry` at `path` (`0600`); the directory and its parent `idbroker` are made `0700`.
pub fn store(path: &Path, entry: &Entry) -> Result<(), LoginError> {
    if let Some(dir) = path.parent() {
        private_file::create_dir(dir)?;
        // The two directories that are idbroker's own are kept private even if they existed.
        for d in [Some(dir), dir.parent()].into_iter().flatten() {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| LoginError::local(d.display(), e))?;
        }
    }
    let json = serde_json::to_vec_pretty(entry).map_err(|e| LoginError::local("cache", e))?;
    private_file::write(path, &zeroize::Zeroizing::new(json))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::login::command::fake_env;

    fn credentials(expiration: &str) -> Credentials {
        serde_json::from_value(serde_json::json!({
            "Version": 1,
            "AccessKeyId": "ASIAEXAMPLE000000001",
            "SecretAccessKey": "c2VjcmV0",
            "SessionToken": "dG9rZW4=",
            "Expiration": expiration,
            "AssumedRoleArn": "arn:aws:sts::123456789012:assumed-role/Dev/alice",
        }))
        .unwrap()
    }

    #[test]
    fn the_refresh_window() {
        use crate::clock::{Clock, ManualClock};
        let e = Entry::new(Settings::default(), credentials("2026-12-06T19:00:00Z"));
        let clock = ManualClock::new(e.credentials.expiration - Duration::from_secs(3600));
        assert!(e.fresh(clock.now()));
        clock.advance(Duration::from_secs(45 * 60 - 1));
        assert!(e.fresh(clock.now()));
        clock.advance(Duration::from_secs(1));
        assert!(!e.fresh(clock.now()), "15 minutes left: refreshed");
        clock.advance(Duration::from_secs(3600));
        assert!(!e.fresh(clock.now()));
    }

    #[test]
    fn profile_names() {
        for ok in ["default", "dev", "a.b-c_D9", &"x".repeat(64)] {
            assert!(check_profile(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "../evil",
            "a/b",
            "a\\b",
            "sp ace",
            "new\nline",
            "ünï",
            &"x".repeat(65),
        ] {
            assert!(check_profile(bad).is_err(), "{bad:?}");
            assert!(cache_path(Path::new("/c"), bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn where_the_cache_is() {
        assert_eq!(
            cache_dir(&fake_env(&[("HOME", "/h"), ("XDG_CACHE_HOME", "/x")])).unwrap(),
            PathBuf::from("/x/idbroker/credentials")
        );
        assert_eq!(
            cache_dir(&fake_env(&[("HOME", "/h"), ("XDG_CACHE_HOME", "relative")])).unwrap(),
            PathBuf::from("/h/.cache/idbroker/credentials")
        );
        assert!(cache_dir(&fake_env(&[])).is_err());
    }

    #[test]
    fn stored_private_and_read_back() {
        let base = private_file::scratch("cache");
        let dir = base.join("cache/idbroker/credentials");
        std::fs::create_dir_all(base.join("cache/idbroker")).unwrap();
        std::fs::set_permissions(
            base.join("cache/idbroker"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let path = cache_path(&dir, "dev").unwrap();
        assert!(load(&path).unwrap().is_none());
        let settings = Settings {
            endpoint_url: "http://127.0.0.1:8080".into(),
            role_arn: Some("arn:aws:iam::123456789012:role/Dev".into()),
            ..Settings::default()
        };
        store(
            &path,
            &Entry::new(settings.clone(), credentials("2026-12-06T19:00:00Z")),
        )
        .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&base.join("cache/idbroker")), 0o700);
        let back = load(&path).unwrap().unwrap();
        assert_eq!(back.settings, settings);
        assert_eq!(back.credentials.access_key_id, "ASIAEXAMPLE000000001");
        assert_eq!(back.credentials.secret_access_key.as_str(), "c2VjcmV0");
        std::fs::write(&path, "{not json").unwrap();
        assert!(load(&path).is_err());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
