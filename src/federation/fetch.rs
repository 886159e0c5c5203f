//! The HTTP fetcher of outside documents: OIDC discovery documents and JWKS, SAML metadata.
//! Every request is bounded in time and size, follows no redirect, and reads at most
//! [`MAX_FETCH_BYTES`]; tests substitute their own [`Fetcher`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

/// Largest document read from a provider.
pub const MAX_FETCH_BYTES: usize = 512 * 1024;

/// A fetched document.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The body (at most 512 KiB).
    pub body: Vec<u8>,
    /// Freshness from `Cache-Control` (`max-age`; 0 for `no-store` / `no-cache`).
    pub max_age: Option<u64>,
}

/// Fetches discovery documents and JWKS. Implementations bound every request in time and size.
#[async_trait]
pub trait Fetcher: Send + Sync + fmt::Debug {
    /// GET `url`: the body of a 200 answer, or why not.
    async fn get(&self, url: &str, timeout: Duration) -> Result<Fetched, String>;
}

/// `max-age` from a `Cache-Control` value.
pub fn cache_max_age(value: &str) -> Option<u64> {
    let mut out = None;
    for d in value.split(',') {
        let d = d.trim().to_ascii_lowercase();
        if d == "no-store" || d == "no-cache" {
            return Some(0);
        }
        if let Some(v) = d.strip_prefix("max-age=") {
            out = v.trim_matches('"').parse::<u64>().ok();
        }
    }
    out
}

/// The HTTP fetcher: reqwest over rustls (aws-lc-rs), no redirects, bounded time and size.
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    client: reqwest::Client,
}

impl HttpFetcher {
    /// A fetcher.
    pub fn new() -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("idbroker/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(3))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(HttpFetcher { client })
    }
}

#[async_trait]
impl Fetcher for HttpFetcher {
    async fn get(&self, url: &str, timeout: Duration) -> Result<Fetched, String> {
        let work = async {
            let mut resp = self
                .client
                .get(url)
                .header("accept", "application/json")
                .timeout(timeout)
                .send()
                .await
                .map_err(|e| format!("request failed: {e}"))?;
            if resp.status() != reqwest::StatusCode::OK {
                return Err(format!("HTTP status {}", resp.status().as_u16()));
            }
            let max_age = resp
                .headers()
                .get(reqwest::header::CACHE_CONTROL)
                .and_then(|v| v.to_str().ok())
                .and_then(cache_max_age);
            let mut body = Vec::new();
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| format!("reading the body: {e}"))?
            {
                if body.len() + chunk.len() > MAX_FETCH_BYTES {
                    return Err(format!("body larger than {MAX_FETCH_BYTES} bytes"));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Fetched { body, max_age })
        };
        // The request timeout covers the body too; this bounds everything once more.
        tokio::time::timeout(timeout + Duration::from_millis(100), work)
            .await
            .map_err(|_| format!("timed out after {} ms", timeout.as_millis()))?
    }
}

/// Told of every fetch of a provider's keys: `(provider HOST/PATH, outcome)` with outcome `ok`,
/// `error` or `stale` (a failure answered with the last good keys).
pub type FetchObserver = Arc<dyn Fn(&str, &str) + Send + Sync>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_headers() {
        assert_eq!(cache_max_age("public, max-age=3600"), Some(3600));
        assert_eq!(cache_max_age("no-store"), Some(0));
        assert_eq!(cache_max_age("private"), None);
    }
}
