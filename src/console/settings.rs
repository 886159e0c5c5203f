//! `[console]`: the raw section as written, and what it becomes once validated (public URL,
//! allowed destinations and their origins, the page CSP, the cookie sealer, OIDC logins).

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::console::seal::Sealer;
use crate::settings::SecretRef;

/// `[console]`, as written.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConsole {
    /// The URL browsers reach idbroker at.
    pub public_url: Option<String>,
    /// Origins the browser may be sent to after sign-in.
    #[serde(default)]
    pub allowed_destinations: Vec<String>,
    /// 32 bytes, base64: seals cookies and sign-in tokens.
    pub cookie_key: Option<SecretRef>,
    /// Default console session length, seconds.
    pub session_duration_seconds: Option<u32>,
    /// Sign SP-initiated AuthnRequests with the SAML SP key.
    #[serde(default)]
    pub sign_authn_requests: bool,
}

/// A provider the console signs people in with (OIDC authorization code flow with PKCE).
#[derive(Clone)]
pub struct OidcLogin {
    /// Short name.
    pub name: String,
    /// Shown name.
    pub display_name: String,
    /// The provider's issuer (its `[[oidc_providers]]` entry validates the ID token).
    pub issuer: String,
    /// Client ID.
    pub client_id: String,
    /// Client secret.
    pub client_secret: Option<zeroize::Zeroizing<String>>,
    /// Scopes (with `openid`).
    pub scopes: Vec<String>,
    /// Plain HTTP allowed on loopback (tests).
    pub allow_http_loopback: bool,
    /// Bound on each request to the provider.
    pub fetch_timeout: Duration,
}

impl std::fmt::Debug for OidcLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcLogin")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// `[console]`, validated.
#[derive(Debug)]
pub struct ConsoleSettings {
    /// Base URL, without a trailing slash.
    pub public_url: String,
    /// Cookies get `Secure` (the public URL is HTTPS).
    pub secure_cookies: bool,
    /// Origins (`scheme://host[:port]`) the browser may be sent to, idbroker's own first.
    pub allowed_origins: Vec<String>,
    /// The pages' Content-Security-Policy (forms may post to the allowed origins).
    pub csp: String,
    /// Seals browser state.
    pub sealer: Arc<Sealer>,
    /// The key was generated at start (warned about).
    pub ephemeral_key: bool,
    /// Console session length when the IdP does not say.
    pub session_duration: u32,
    /// Sign AuthnRequests.
    pub sign_authn_requests: bool,
    /// OIDC providers with console login.
    pub oidc_logins: Vec<Arc<OidcLogin>>,
}

/// The origin of an absolute http(s) URL, lower-case, default port dropped; `None` for
/// anything else (relative, other schemes, user info).
pub fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    if !matches!(u.scheme(), "http" | "https") || !u.username().is_empty() || u.password().is_some()
    {
        return None;
    }
    let origin = u.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

impl ConsoleSettings {
    /// Validate `[console]` (`default_url` is what `server.listen` implies).
    pub fn build(
        raw: &RawConsole,
        default_url: &str,
        key: Option<&[u8]>,
        oidc_logins: Vec<Arc<OidcLogin>>,
    ) -> Result<ConsoleSettings, (String, String)> {
        let public_url = raw
            .public_url
            .clone()
            .unwrap_or_else(|| default_url.to_owned())
            .trim_end_matches('/')
            .to_owned();
        let own = origin_of(&public_url).ok_or_else(|| {
            (
                "console.public_url".to_owned(),
                "must be an absolute http:// or https:// URL".to_owned(),
            )
        })?;
        let mut allowed_origins = vec![own];
        for (i, d) in raw.allowed_destinations.iter().enumerate() {
            let o = origin_of(d).ok_or_else(|| {
                (
                    format!("console.allowed_destinations[{i}]"),
                    format!("{d:?} is not an absolute http:// or https:// URL"),
                )
            })?;
            if !allowed_origins.contains(&o) {
                allowed_origins.push(o);
            }
        }
        let (sealer, ephemeral_key) = match key {
            Some(k) => (
                Sealer::new(k).map_err(|e| ("console.cookie_key".to_owned(), e))?,
                false,
            ),
            None => (
                Sealer::ephemeral().map_err(|e| ("console.cookie_key".to_owned(), e))?,
                true,
            ),
        };
        let session_duration = raw.session_duration_seconds.unwrap_or(3600);
        if !(900..=43_200).contains(&session_duration) {
            return Err((
                "console.session_duration_seconds".into(),
                "must be 900..43200".into(),
            ));
        }
        let mut form_action = String::from("'self'");
        for o in allowed_origins.iter().skip(1) {
            form_action.push(' ');
            form_action.push_str(o);
        }
        Ok(ConsoleSettings {
            csp: format!(
                "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
            ),
            secure_cookies: public_url.starts_with("https://"),
            public_url,
            allowed_origins,
            sealer: Arc::new(sealer),
            ephemeral_key,
            session_duration,
            sign_authn_requests: raw.sign_authn_requests,
            oidc_logins,
        })
    }

    /// Where a browser may go after sign-in: an absolute URL on an allowed origin, or a path
    /// on idbroker itself (`/...`, never `//...`). Returns the absolute URL.
    pub fn destination(&self, target: &str) -> Option<String> {
        if target.starts_with('/') && !target.starts_with("//") && !target.contains('\\') {
            return Some(format!("{}{target}", self.public_url));
        }
        let origin = origin_of(target)?;
        self.allowed_origins
            .contains(&origin)
            .then(|| target.to_owned())
    }

    /// The console's own landing page.
    pub fn landing(&self) -> String {
        format!("{}/console", self.public_url)
    }

    /// The OIDC login provider named `name`.
    pub fn oidc_login(&self, name: &str) -> Option<&Arc<OidcLogin>> {
        self.oidc_logins.iter().find(|l| l.name == name)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn settings() -> ConsoleSettings {
        let raw = RawConsole {
            allowed_destinations: vec!["https://app.example.com/anything".into()],
            ..RawConsole::default()
        };
        ConsoleSettings::build(&raw, "https://idb.example.com/", Some(&[1u8; 32]), vec![]).unwrap()
    }

    #[test]
    fn destinations_are_allowed_origins_or_own_paths() {
        let s = settings();
        assert_eq!(s.public_url, "https://idb.example.com");
        assert!(s.secure_cookies);
        assert_eq!(
            s.destination("/console").as_deref(),
            Some("https://idb.example.com/console")
        );
        assert!(s.destination("https://app.example.com/x?y=1").is_some());
        assert!(s.destination("https://APP.example.com:443/x").is_some());
        for bad in [
            "//evil.example/x",
            "/\\evil.example",
            "https://evil.example/",
            "https://app.example.com.evil.example/",
            "https://user@app.example.com/",
            "http://app.example.com/",
            "javascript:alert(1)",
            "data:text/html,x",
            "app.example.com",
            "",
        ] {
            assert_eq!(s.destination(bad), None, "{bad}");
        }
    }

    #[test]
    fn settings_refuse_bad_values() {
        let raw = RawConsole {
            allowed_destinations: vec!["not a url".into()],
            ..RawConsole::default()
        };
        assert!(ConsoleSettings::build(&raw, "http://127.0.0.1:8080", None, vec![]).is_err());
        let raw = RawConsole {
            session_duration_seconds: Some(60),
            ..RawConsole::default()
        };
        assert!(ConsoleSettings::build(&raw, "http://127.0.0.1:8080", None, vec![]).is_err());
        let raw = RawConsole::default();
        let s = ConsoleSettings::build(&raw, "http://127.0.0.1:8080", None, vec![]).unwrap();
        assert!(s.ephemeral_key && !s.secure_cookies);
    }
}
