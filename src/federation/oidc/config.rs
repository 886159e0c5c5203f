//! The `[[oidc_providers]]` section: as written ([`RawOidcProvider`], with its `login` and
//! claim rules) and validated into a [`ProviderConfig`] (issuer, ARN, client IDs, where the keys
//! come from, algorithms, cache and fetch limits, claim rules); and [`check_url`], the rule every
//! URL fetched from a provider must pass.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::jwk::{AlgSet, KeySet};

/// `[[oidc_providers]]` as written in the configuration file (see config/idbroker.toml).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOidcProvider {
    /// The issuer URL, exactly as tokens carry it in `iss`.
    pub issuer: String,
    /// Client IDs (audiences) accepted.
    pub client_ids: Vec<String>,
    /// A JWKS file (pinned keys; no network).
    pub jwks_file: Option<std::path::PathBuf>,
    /// A JWKS document inline (pinned keys; no network).
    pub jwks_inline: Option<String>,
    /// The JWKS URL, skipping discovery.
    pub jwks_uri: Option<String>,
    /// Algorithms accepted (default all of RS256..512, PS256..512, ES256, ES384).
    pub allowed_algorithms: Option<Vec<String>>,
    /// Clock leeway for `exp`, `nbf`, `iat`, seconds (default 60).
    pub leeway_seconds: Option<u64>,
    /// Accept each `jti` once (and refuse tokens without one). Default false.
    #[serde(default)]
    pub jti_replay_guard: bool,
    /// Plain `http://` issuer and JWKS URLs on loopback addresses (tests). Default false.
    #[serde(default)]
    pub allow_http_loopback: bool,
    /// JWKS freshness when the response has no `Cache-Control: max-age` (default 300 s).
    pub jwks_cache_default_seconds: Option<u64>,
    /// Longest freshness taken from `max-age` (default 86400 s).
    pub jwks_cache_max_seconds: Option<u64>,
    /// Least time between two fetches of the keys (default 10 s): bounds refetches on unknown
    /// `kid` and retries after failures.
    pub jwks_refetch_min_interval_seconds: Option<u64>,
    /// How long the last good keys are used while fetches fail (default 86400 s).
    pub jwks_max_stale_seconds: Option<u64>,
    /// Bound on each discovery or JWKS request, connecting included (default 3000 ms).
    pub fetch_timeout_ms: Option<u64>,
    /// Claim-mapping rules: when any is given, a role may be taken only if a rule naming it
    /// matches the token (the trust policy must still allow it).
    #[serde(default)]
    pub claim_rules: Vec<RawClaimRule>,
    /// Console sign-in with this provider (`[oidc_providers.login]`).
    #[serde(default)]
    pub login: Option<RawOidcLogin>,
}

/// `[oidc_providers.login]`, as written: console sign-in with this provider.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawOidcLogin {
    /// Short name (links, `?provider=`).
    pub name: String,
    /// What the sign-in page shows.
    pub display_name: Option<String>,
    /// The client registered at the provider for idbroker's console.
    pub client_id: String,
    /// Its secret (none: a public client, PKCE alone).
    pub client_secret: Option<crate::settings::SecretRef>,
    /// Scopes besides `openid`.
    pub scopes: Option<Vec<String>>,
}

/// `[[oidc_providers.claim_rules]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClaimRule {
    /// JSON pointer into the token's claims (`/groups`, `/email`, `/realm_access/roles`).
    pub claim: String,
    /// Values that match: exact, or glob with `*` and `?`. A list claim matches when any of its
    /// elements does.
    pub values: Vec<String>,
    /// Role ARNs (exact, or glob) this rule allows.
    pub roles: Vec<String>,
}

/// A claim-mapping rule.
#[derive(Debug, Clone)]
pub struct ClaimRule {
    /// JSON pointer.
    pub claim: String,
    /// Exact or glob values.
    pub values: Vec<String>,
    /// Exact or glob role ARNs.
    pub roles: Vec<String>,
}

/// Where a provider's keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// Pinned in the configuration.
    Pinned(Arc<KeySet>),
    /// Fetched from this JWKS URL.
    JwksUri(String),
    /// Fetched from the `jwks_uri` of the issuer's discovery document.
    Discovery,
}

/// A validated OIDC provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The issuer, exactly.
    pub issuer: String,
    /// `HOST/PATH`: the issuer without scheme and trailing slash; prefix of the trust-policy keys.
    pub host_path: String,
    /// `arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH`
    pub arn: String,
    /// Accepted audiences.
    pub client_ids: Vec<String>,
    /// Keys.
    pub keys: KeySource,
    /// Allowed algorithms.
    pub algorithms: AlgSet,
    /// Clock leeway.
    pub leeway: u64,
    /// `jti` once.
    pub jti_replay_guard: bool,
    /// Plain HTTP on loopback.
    pub allow_http_loopback: bool,
    /// JWKS freshness without cache headers.
    pub cache_default: u64,
    /// Longest JWKS freshness.
    pub cache_max: u64,
    /// Least time between fetches.
    pub refetch_min_interval: u64,
    /// How long last good keys serve while fetches fail.
    pub max_stale: u64,
    /// Bound on each fetch.
    pub fetch_timeout: Duration,
    /// Claim-mapping rules.
    pub claim_rules: Vec<ClaimRule>,
}

/// Is `url`'s host a loopback address (or `localhost`)?
pub fn is_loopback_host(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Is `url` one idbroker may fetch: HTTPS, or HTTP on loopback when allowed; no credentials,
/// no fragment.
pub fn check_url(url: &str, allow_http_loopback: bool) -> Result<reqwest::Url, String> {
    let u = reqwest::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    if !u.username().is_empty() || u.password().is_some() || u.fragment().is_some() {
        return Err(format!(
            "{url:?}: no user, password or fragment in a provider URL"
        ));
    }
    match u.scheme() {
        "https" => {}
        "http" if allow_http_loopback && is_loopback_host(&u) => {}
        "http" => {
            return Err(format!(
                "{url:?}: HTTPS is required (plain HTTP only on loopback with allow_http_loopback = true)"
            ))
        }
        other => return Err(format!("{url:?}: scheme {other:?} is not HTTPS")),
    }
    if u.host().is_none() {
        return Err(format!("{url:?}: no host"));
    }
    Ok(u)
}

impl ProviderConfig {
    /// Validate a raw provider. `base` anchors a relative `jwks_file`. The error is
    /// `(key suffix, problem)`, the key relative to the provider (`issuer`, `client_ids`, ...).
    pub fn from_raw(
        raw: &RawOidcProvider,
        account_id: &str,
        base: &Path,
    ) -> Result<ProviderConfig, (String, String)> {
        let err = |k: &str, p: String| (k.to_owned(), p);
        check_url(&raw.issuer, raw.allow_http_loopback).map_err(|p| err("issuer", p))?;
        if raw.issuer.contains('?') {
            return Err(err("issuer", "an issuer has no query".into()));
        }
        let host_path = raw
            .issuer
            .split_once("://")
            .map(|(_, rest)| rest.trim_end_matches('/'))
            .unwrap_or_default()
            .to_owned();
        if raw.client_ids.is_empty() || raw.client_ids.iter().any(|c| c.is_empty()) {
            return Err(err(
                "client_ids",
                "give at least one client ID (audience); none may be empty".into(),
            ));
        }
        let algorithms = match &raw.allowed_algorithms {
            None => AlgSet::ALL,
            Some(names) => {
                let set = AlgSet::from_names(names).map_err(|p| err("allowed_algorithms", p))?;
                if set.is_empty() {
                    return Err(err("allowed_algorithms", "empty".into()));
                }
                set
            }
        };
        let given = [
            raw.jwks_file.is_some(),
            raw.jwks_inline.is_some(),
            raw.jwks_uri.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if given > 1 {
            return Err(err(
                "jwks_file",
                "give at most one of jwks_file, jwks_inline, jwks_uri (none: discovery)".into(),
            ));
        }
        let pinned = |text: &[u8], key: &str| -> Result<KeySource, (String, String)> {
            let (set, _) = KeySet::from_jwks(text, algorithms).map_err(|p| err(key, p))?;
            if set.is_empty() {
                return Err(err(
                    key,
                    "no usable signing key (RSA ≥ 2048 bits or EC P-256/P-384, use = sig)".into(),
                ));
            }
            Ok(KeySource::Pinned(Arc::new(set)))
        };
        let keys = if let Some(f) = &raw.jwks_file {
            let path = base.join(f);
            let bytes = std::fs::read(&path)
                .map_err(|e| err("jwks_file", format!("{}: {e}", path.display())))?;
            pinned(&bytes, "jwks_file")?
        } else if let Some(text) = &raw.jwks_inline {
            pinned(text.as_bytes(), "jwks_inline")?
        } else if let Some(u) = &raw.jwks_uri {
            check_url(u, raw.allow_http_loopback).map_err(|p| err("jwks_uri", p))?;
            KeySource::JwksUri(u.clone())
        } else {
            KeySource::Discovery
        };
        let mut claim_rules = Vec::new();
        for (i, r) in raw.claim_rules.iter().enumerate() {
            let key = format!("claim_rules[{i}]");
            if !r.claim.starts_with('/') {
                return Err(err(
                    &format!("{key}.claim"),
                    "a JSON pointer starts with / (\"/groups\")".into(),
                ));
            }
            if r.values.is_empty() || r.roles.is_empty() {
                return Err(err(&key, "values and roles must not be empty".into()));
            }
            if let Some(bad) = r.roles.iter().find(|a| !a.starts_with("arn:aws:iam::")) {
                return Err(err(
                    &format!("{key}.roles"),
                    format!("{bad:?} is not a role ARN"),
                ));
            }
            claim_rules.push(ClaimRule {
                claim: r.claim.clone(),
                values: r.values.clone(),
                roles: r.roles.clone(),
            });
        }
        let refetch_min_interval = raw.jwks_refetch_min_interval_seconds.unwrap_or(10);
        Ok(ProviderConfig {
            arn: format!("arn:aws:iam::{account_id}:oidc-provider/{host_path}"),
            issuer: raw.issuer.clone(),
            host_path,
            client_ids: raw.client_ids.clone(),
            keys,
            algorithms,
            leeway: raw.leeway_seconds.unwrap_or(60),
            jti_replay_guard: raw.jti_replay_guard,
            allow_http_loopback: raw.allow_http_loopback,
            cache_default: raw.jwks_cache_default_seconds.unwrap_or(300),
            cache_max: raw.jwks_cache_max_seconds.unwrap_or(86_400),
            refetch_min_interval,
            max_stale: raw.jwks_max_stale_seconds.unwrap_or(86_400),
            fetch_timeout: Duration::from_millis(raw.fetch_timeout_ms.unwrap_or(3000).max(1)),
            claim_rules,
        })
    }
}

/// Validate every provider: issuers unique. Errors are `(key, problem)` with the full key.
pub fn providers_from_raw(
    raw: &[RawOidcProvider],
    account_id: &str,
    base: &Path,
) -> Result<Vec<ProviderConfig>, (String, String)> {
    let mut out: Vec<ProviderConfig> = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let p = ProviderConfig::from_raw(r, account_id, base)
            .map_err(|(k, p)| (format!("oidc_providers[{i}].{k}"), p))?;
        if out.iter().any(|o| o.host_path == p.host_path) {
            return Err((
                format!("oidc_providers[{i}].issuer"),
                format!("{:?} is configured twice", p.issuer),
            ));
        }
        out.push(p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(check_url("https://idp.example.com/realms/x", false).is_ok());
        assert!(check_url("http://idp.example.com", true).is_err());
        assert!(check_url("http://127.0.0.1:9000", false).is_err());
        assert!(check_url("http://127.0.0.1:9000", true).is_ok());
        assert!(check_url("http://[::1]:9000", true).is_ok());
        assert!(check_url("http://localhost:9000", true).is_ok());
        assert!(check_url("https://u:p@idp.example.com", false).is_err());
        assert!(check_url("file:///etc/passwd", true).is_err());
    }
}
