//! What every configuration section shares, below all of them: the error that names the file,
//! key and problem ([`ConfigError`]), and secret references ([`SecretRef`], read by
//! [`resolve_secret`]). Each section's raw types live with their validator (`directory`,
//! `console`, `federation::*`); `config` composes them. This module imports none of them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A configuration that failed to load or validate.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {key}: {problem}")]
pub struct ConfigError {
    /// The file (or environment variable) the problem is in.
    pub file: String,
    /// The key, as a dotted path (`roles[1].trust_policy`).
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

impl ConfigError {
    pub fn new(file: &Path, key: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError {
            file: file.display().to_string(),
            key: key.into(),
            problem: problem.into(),
        }
    }
}

/// Where a secret comes from. Never the config file itself, except `value` for demos (idbroker
/// warns at start).
#[derive(Debug, Deserialize, Serialize, Clone, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// An environment variable that holds the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// A file that holds the secret (trailing newline ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// The secret in clear: development only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The secret sealed with one of the `[sealing]` keys (`KEY_ID:NONCE:CIPHERTEXT`, base64):
    /// what the database and `idbroker directory export` hold. Only the directory reads it
    /// (`crate::directory::sealed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
}

/// Read a secret from where it is referenced.
pub fn resolve_secret(
    r: &SecretRef,
    file: &Path,
    base: &Path,
    key: &str,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<zeroize::Zeroizing<String>, ConfigError> {
    let given = [
        r.env.is_some(),
        r.file.is_some(),
        r.value.is_some(),
        r.sealed.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if given != 1 {
        return Err(ConfigError::new(
            file,
            key,
            "give exactly one of env, file or value",
        ));
    }
    if r.sealed.is_some() {
        return Err(ConfigError::new(
            file,
            key,
            "a sealed secret is only read where the sealing keys are (a user's access key)",
        ));
    }
    if let Some(name) = &r.env {
        return env(name).map(zeroize::Zeroizing::new).ok_or_else(|| {
            ConfigError::new(file, key, format!("environment variable {name} is not set"))
        });
    }
    if let Some(path) = &r.file {
        let path = base.join(path);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ConfigError::new(file, key, format!("{}: {e}", path.display())))?;
        return Ok(zeroize::Zeroizing::new(
            text.trim_end_matches(['\r', '\n']).to_owned(),
        ));
    }
    warnings.push(format!(
        "{}: {key}: secret given in clear in the config file (development only)",
        file.display()
    ));
    Ok(zeroize::Zeroizing::new(r.value.clone().unwrap_or_default()))
}
