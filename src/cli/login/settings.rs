//! The settings of a sign-in, as given on the command line and as the credential cache keeps
//! them for the next `idbroker credentials` of the profile.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where and how to sign in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// The idbroker server, e.g. `https://idbroker.example.com`.
    pub endpoint_url: String,
    /// The identity provider's name (`None`: the server's only one).
    #[serde(default)]
    pub provider: Option<String>,
    /// The role to take (`None`: the only one, or the picker's).
    #[serde(default)]
    pub role_arn: Option<String>,
    /// The credentials' lifetime asked for (`None`: the server's default).
    #[serde(default)]
    pub duration_seconds: Option<u32>,
    /// Trust only this PEM bundle's CA certificates for HTTPS.
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
}

/// Settings given on the command line of `idbroker credentials`: each one given overrides the
/// cached one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--endpoint-url`.
    pub endpoint_url: Option<String>,
    /// `--provider`.
    pub provider: Option<String>,
    /// `--role`.
    pub role_arn: Option<String>,
    /// `--duration`.
    pub duration_seconds: Option<u32>,
    /// `--ca-bundle`.
    pub ca_bundle: Option<PathBuf>,
}

impl Overrides {
    /// `cached` with every setting given here in its place (`None` without an endpoint).
    pub fn over(&self, cached: Option<&Settings>) -> Option<Settings> {
        let endpoint_url = self
            .endpoint_url
            .clone()
            .or_else(|| cached.map(|c| c.endpoint_url.clone()))?;
        let pick = |mine: &Option<String>, theirs: fn(&Settings) -> &Option<String>| {
            mine.clone()
                .or_else(|| cached.and_then(|c| theirs(c).clone()))
        };
        Some(Settings {
            endpoint_url,
            provider: pick(&self.provider, |c| &c.provider),
            role_arn: pick(&self.role_arn, |c| &c.role_arn),
            duration_seconds: self
                .duration_seconds
                .or_else(|| cached.and_then(|c| c.duration_seconds)),
            ca_bundle: self
                .ca_bundle
                .clone()
                .or_else(|| cached.and_then(|c| c.ca_bundle.clone())),
        })
    }

    /// Every setting given here is the cached one (the cached credentials answer this command
    /// line; a changed `credential_process` line gets new ones).
    pub fn agree_with(&self, cached: &Settings) -> bool {
        fn same<T: PartialEq>(mine: &Option<T>, theirs: &T) -> bool {
            mine.as_ref().is_none_or(|m| m == theirs)
        }
        same(&self.endpoint_url, &cached.endpoint_url)
            && same(&self.provider.clone().map(Some), &cached.provider)
            && same(&self.role_arn.clone().map(Some), &cached.role_arn)
            && same(&self.duration_seconds.map(Some), &cached.duration_seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_over_cache() {
        let cached = Settings {
            endpoint_url: "http://127.0.0.1:8080".into(),
            provider: Some("corp".into()),
            role_arn: Some("arn:aws:iam::1:role/A".into()),
            duration_seconds: Some(3600),
            ca_bundle: None,
        };
        let none = Overrides::default();
        assert_eq!(none.over(Some(&cached)), Some(cached.clone()));
        assert_eq!(none.over(None), None);
        assert!(none.agree_with(&cached));
        let role_b = Overrides {
            role_arn: Some("arn:aws:iam::1:role/B".into()),
            ..Overrides::default()
        };
        assert!(!role_b.agree_with(&cached));
        let merged = role_b.over(Some(&cached)).unwrap();
        assert_eq!(merged.role_arn.as_deref(), Some("arn:aws:iam::1:role/B"));
        assert_eq!(merged.provider.as_deref(), Some("corp"));
        let same_endpoint = Overrides {
            endpoint_url: Some("http://127.0.0.1:8080".into()),
            duration_seconds: Some(3600),
            ..Overrides::default()
        };
        assert!(same_endpoint.agree_with(&cached));
    }
}
