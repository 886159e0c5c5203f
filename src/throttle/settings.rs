//! `[throttle]`: how many calls each bucket admits, from the raw section and the environment.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use idbroker_session::RateLimit;
use serde::Deserialize;

use crate::settings::ConfigError;

/// What a bucket is kept for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BucketKind {
    /// The caller principal of a signed call (a user; all sessions of a role share the role's).
    Principal,
    /// The identity provider that vouched for an unsigned call (after its proof verified).
    Provider,
    /// The source address of an unsigned call (an IPv6 address's /64), before any check.
    Source,
}

impl BucketKind {
    /// The name in bucket keys, metrics and the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            BucketKind::Principal => "principal",
            BucketKind::Provider => "provider",
            BucketKind::Source => "source",
        }
    }
}

/// The calls that are throttled, by the name the audit and metrics give them. Each has buckets
/// of its own (a flood of one does not use up another's).
pub const ACTIONS: &[&str] = &[
    "GetCallerIdentity",
    "GetSessionToken",
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
    "WorkloadCredentials",
    "ConsoleSignInSAML",
    "ConsoleSignInOIDC",
    "ConsolePickRole",
    "FederationGetSigninToken",
    "FederationLogin",
    "DeviceAuthorization",
    "ConsoleDeviceCode",
    "CliToken",
    "CliCredentials",
    PASSWORD_SIGNIN,
    "Admin",
    "GetScopedKey",
    "WatchRevocations",
    "VerifyK8sToken",
];

/// One limit as written: `{ rate = 200, burst = 400 }`; `rate = 0` turns the bucket off.
#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct RawLimit {
    /// Requests per second, on average.
    pub rate: f64,
    /// Requests at once (default: twice the rate, at least 1).
    pub burst: Option<u32>,
}

/// The three limits of an action (or the defaults of every action).
#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Per caller principal.
    pub principal: Option<RawLimit>,
    /// Per identity provider.
    pub provider: Option<RawLimit>,
    /// Per source address.
    pub source: Option<RawLimit>,
}

/// `[throttle]`
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawThrottle {
    /// Throttle at all (default true).
    pub enabled: Option<bool>,
    /// Per caller principal, for every action (default 200/s, burst 400).
    pub principal: Option<RawLimit>,
    /// Per identity provider (default 600/s, burst 1,200).
    pub provider: Option<RawLimit>,
    /// Per source address (default 100/s, burst 200).
    pub source: Option<RawLimit>,
    /// `[throttle.actions.NAME]`: limits of one action over the defaults.
    #[serde(default)]
    pub actions: BTreeMap<String, RawLimits>,
}

/// The limits of one action; `None`: that bucket is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Per caller principal.
    pub principal: Option<RateLimit>,
    /// Per identity provider.
    pub provider: Option<RateLimit>,
    /// Per source address.
    pub source: Option<RateLimit>,
}

impl Limits {
    /// The limit of `kind`.
    pub fn of(&self, kind: BucketKind) -> Option<RateLimit> {
        match kind {
            BucketKind::Principal => self.principal,
            BucketKind::Provider => self.provider,
            BucketKind::Source => self.source,
        }
    }
}

/// `[throttle]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Off: nothing is throttled (`enabled = false`, or `IDBROKER_THROTTLE=off`).
    pub enabled: bool,
    /// Every action's limits unless it has its own.
    pub defaults: Limits,
    /// Actions with limits of their own.
    pub actions: HashMap<&'static str, Limits>,
}

/// The defaults: of the order of AWS's own STS quotas (a few hundred requests per second per
/// account and region), per principal, provider and address rather than per account.
pub const DEFAULT_PRINCIPAL: (f64, u32) = (200.0, 400);
/// Per identity provider.
pub const DEFAULT_PROVIDER: (f64, u32) = (600.0, 1200);
/// Per source address.
pub const DEFAULT_SOURCE: (f64, u32) = (100.0, 200);

/// An IAM user's console sign-in (password, MFA code, new password): its buckets bound
/// guessing, so its own defaults are far below the API's.
pub const PASSWORD_SIGNIN: &str = "ConsoleSignInPassword";
/// Per typed account and user name ("principal" bucket): 10 at once, then one every 20 s.
pub const PASSWORD_USER: (f64, u32) = (0.05, 10);
/// Per source address: 30 at once, then one every 2 s.
pub const PASSWORD_SOURCE: (f64, u32) = (0.5, 30);

/// The limits of `action` before the configuration's: [`PASSWORD_SIGNIN`]'s own, the
/// defaults' for every other.
fn built_in(action: &str, defaults: Limits) -> Limits {
    if action != PASSWORD_SIGNIN {
        return defaults;
    }
    let limit = |(rate, burst): (f64, u32)| RateLimit::per_second(rate, burst);
    Limits {
        principal: limit(PASSWORD_USER),
        provider: defaults.provider,
        source: limit(PASSWORD_SOURCE),
    }
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        let limit = |(rate, burst): (f64, u32)| RateLimit::per_second(rate, burst);
        let defaults = Limits {
            principal: limit(DEFAULT_PRINCIPAL),
            provider: limit(DEFAULT_PROVIDER),
            source: limit(DEFAULT_SOURCE),
        };
        ThrottleSettings {
            enabled: true,
            defaults,
            actions: HashMap::from([(PASSWORD_SIGNIN, built_in(PASSWORD_SIGNIN, defaults))]),
        }
    }
}

impl ThrottleSettings {
    /// The limits of `action`.
    pub fn limits(&self, action: &str) -> &Limits {
        self.actions.get(action).unwrap_or(&self.defaults)
    }
}

fn limit(raw: RawLimit, file: &Path, key: &str) -> Result<Option<RateLimit>, ConfigError> {
    if raw.rate == 0.0 {
        return Ok(None);
    }
    // Twice a second's worth by default: a client that batches its calls is not refused.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let burst = raw
        .burst
        .unwrap_or_else(|| (raw.rate * 2.0).clamp(1.0, f64::from(u32::MAX)) as u32);
    RateLimit::per_second(raw.rate, burst)
        .map(Some)
        .ok_or_else(|| {
            ConfigError::new(
                file,
                key,
                "rate must be 0 (off) or more than 0 and at most 1000000 requests per second, and \
             burst at least 1",
            )
        })
}

fn over(
    base: Option<RateLimit>,
    raw: Option<RawLimit>,
    file: &Path,
    key: &str,
) -> Result<Option<RateLimit>, ConfigError> {
    match raw {
        Some(r) => limit(r, file, key),
        None => Ok(base),
    }
}

/// `[throttle]` validated, with `IDBROKER_THROTTLE` (`on` or `off`) over `enabled`.
pub fn throttle_settings(
    raw: &RawThrottle,
    file: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ThrottleSettings, ConfigError> {
    let base = ThrottleSettings::default();
    let enabled = match env("IDBROKER_THROTTLE").as_deref() {
        Some("on") => true,
        Some("off") => false,
        Some(other) => {
            return Err(ConfigError::new(
                file,
                "throttle.enabled",
                format!("IDBROKER_THROTTLE={other:?}: \"on\" or \"off\""),
            ))
        }
        None => raw.enabled.unwrap_or(true),
    };
    let defaults = Limits {
        principal: over(
            base.defaults.principal,
            raw.principal,
            file,
            "throttle.principal",
        )?,
        provider: over(
            base.defaults.provider,
            raw.provider,
            file,
            "throttle.provider",
        )?,
        source: over(base.defaults.source, raw.source, file, "throttle.source")?,
    };
    let mut actions = HashMap::from([(PASSWORD_SIGNIN, built_in(PASSWORD_SIGNIN, defaults))]);
    for (name, l) in &raw.actions {
        let Some(action) = ACTIONS.iter().copied().find(|a| a == name) else {
            return Err(ConfigError::new(
                file,
                format!("throttle.actions.{name}"),
                format!("unknown action: one of {}", ACTIONS.join(", ")),
            ));
        };
        let key = |kind: &str| format!("throttle.actions.{name}.{kind}");
        let base = built_in(action, defaults);
        actions.insert(
            action,
            Limits {
                principal: over(base.principal, l.principal, file, &key("principal"))?,
                provider: over(base.provider, l.provider, file, &key("provider"))?,
                source: over(base.source, l.source, file, &key("source"))?,
            },
        );
    }
    Ok(ThrottleSettings {
        enabled,
        defaults,
        actions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, env: &[(&str, &str)]) -> Result<ThrottleSettings, ConfigError> {
        let raw: RawThrottle = toml::from_str(text).map_err(|e| {
            ConfigError::new(Path::new("t.toml"), "(syntax)", e.message().to_owned())
        })?;
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        throttle_settings(&raw, Path::new("t.toml"), &|k| {
            env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_are_on() {
        let s = parse("", &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s, ThrottleSettings::default());
        assert!(s.enabled);
        let p = s.limits("AssumeRole").principal;
        assert_eq!(p.map(|l| (l.interval_us(), l.burst())), Some((5_000, 400)));
    }

    #[test]
    fn actions_override_and_zero_turns_off() {
        let s = parse(
            "source = { rate = 10 }\n[actions.AssumeRoleWithSAML]\nsource = { rate = 1, burst = 3 }\nprovider = { rate = 0 }\n",
            &[],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let saml = s.limits("AssumeRoleWithSAML");
        assert_eq!(saml.provider, None);
        assert_eq!(
            saml.source.map(|l| (l.interval_us(), l.burst())),
            Some((1_000_000, 3))
        );
        // Another action: the section's defaults (burst twice the rate).
        let web = s.limits("AssumeRoleWithWebIdentity");
        assert_eq!(
            web.source.map(|l| (l.interval_us(), l.burst())),
            Some((100_000, 20))
        );
        assert!(web.provider.is_some());
    }

    #[test]
    fn bad_values_are_refused_with_their_key() {
        let e = parse("principal = { rate = -1 }", &[]).err().map(|e| e.key);
        assert_eq!(e.as_deref(), Some("throttle.principal"));
        let e = parse("[actions.Nope]\nsource = { rate = 1 }", &[])
            .err()
            .map(|e| e.key);
        assert_eq!(e.as_deref(), Some("throttle.actions.Nope"));
        let e = parse("source = { rate = 5, burst = 0 }", &[])
            .err()
            .map(|e| e.key);
        assert_eq!(e.as_deref(), Some("throttle.source"));
        assert!(parse("sorce = { rate = 5 }", &[]).is_err());
    }

    #[test]
    fn the_environment_turns_it_off() {
        let s = parse("enabled = true", &[("IDBROKER_THROTTLE", "off")])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!s.enabled);
        assert!(parse("", &[("IDBROKER_THROTTLE", "maybe")]).is_err());
    }
}
