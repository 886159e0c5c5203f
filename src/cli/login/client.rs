//! The HTTP calls of the sign-in protocol: `POST` forms to `/console/cli/token`,
//! `/console/device/authorize` and `/console/cli/credentials`, each answer read up to
//! [`MAX_ANSWER_BYTES`] within the request's time, a 2xx answer's JSON into its type, any other
//! status into [`LoginError::Refused`] (the server's `error` and `error_description`).

use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use super::error::LoginError;
use super::protocol::{Credentials, DeviceAuthorization, ErrorAnswer, TokenAnswer};
use crate::cli::http_client;

/// The largest answer read from the server.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Time to connect.
const CONNECT: Duration = Duration::from_secs(10);
/// Time for a whole request, answer included.
const REQUEST: Duration = Duration::from_secs(30);

/// A 2xx answer's document, checked once read.
pub trait Answer: DeserializeOwned {
    /// Its values have the shapes this command relies on.
    fn check(&self) -> Result<(), String>;
}

impl Answer for TokenAnswer {
    fn check(&self) -> Result<(), String> {
        TokenAnswer::check(self)
    }
}

impl Answer for DeviceAuthorization {
    fn check(&self) -> Result<(), String> {
        DeviceAuthorization::check(self)
    }
}

/// Checked as it is read (`Credentials`' `Deserialize`).
impl Answer for Credentials {
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

/// An idbroker server's sign-in endpoints.
#[derive(Debug, Clone)]
pub struct Server {
    /// The endpoint URL as given, without a trailing `/`.
    base: String,
    client: reqwest::Client,
}

impl Server {
    /// The server at `endpoint_url` (http or https, a host, no query), trusting `ca_bundle`'s
    /// certificates only when given.
    pub fn new(endpoint_url: &str, ca_bundle: Option<&Path>) -> Result<Self, LoginError> {
        let bad = |why: &str| LoginError::Local(format!("--endpoint-url {endpoint_url}: {why}"));
        let url = url::Url::parse(endpoint_url).map_err(|e| bad(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("not an http(s) URL"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("no host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("a query or fragment has no place in it"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("a user name or password has no place in it"));
        }
        let client = http_client::build(ca_bundle, CONNECT, REQUEST).map_err(LoginError::Local)?;
        Ok(Server {
            base: url.as_str().trim_end_matches('/').to_owned(),
            client,
        })
    }

    /// `{endpoint}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Plain HTTP to a host other than the loopback: credentials cross the network unencrypted.
    pub fn cleartext(&self) -> bool {
        url::Url::parse(&self.base).is_ok_and(|u| {
            u.scheme() == "http"
                && !matches!(u.host(), Some(url::Host::Domain("localhost")))
                && !matches!(u.host(), Some(url::Host::Ipv4(a)) if a.is_loopback())
                && !matches!(u.host(), Some(url::Host::Ipv6(a)) if a.is_loopback())
        })
    }

    /// The browser sign-in's code for a ticket (`grant_type=authorization_code`).
    #[tracing::instrument(skip_all)]
    pub async fn exchange_code(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<TokenAnswer, LoginError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", redirect_uri),
        ];
        self.post("/console/cli/token", &form).await
    }

    /// Start a device sign-in (RFC 8628 section 3.1).
    pub async fn device_authorize(
        &self,
        provider: Option<&str>,
        duration_seconds: Option<u32>,
    ) -> Result<DeviceAuthorization, LoginError> {
        let duration = duration_seconds.map(|d| d.to_string());
        let form: Vec<(&str, &str)> = [
            ("provider", provider),
            ("duration_seconds", duration.as_deref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect();
        self.post("/console/device/authorize", &form).await
    }

    /// One poll of a device sign-in (RFC 8628 section 3.4): the ticket, or the server's refusal
    /// (`authorization_pending`, `slow_down`, ...) as [`LoginError::Refused`].
    #[tracing::instrument(skip_all)]
    pub async fn poll_device(&self, device_code: &str) -> Result<TokenAnswer, LoginError> {
        let grant = "urn:ietf:params:oauth:grant-type:device_code";
        let form = [("grant_type", grant), ("device_code", device_code)];
        self.post("/console/cli/token", &form).await
    }

    /// The ticket for the credentials of `role_arn`.
    #[tracing::instrument(skip_all)]
    pub async fn credentials(
        &self,
        ticket: &str,
        role_arn: &str,
    ) -> Result<Credentials, LoginError> {
        let form = [("ticket", ticket), ("role_arn", role_arn)];
        self.post("/console/cli/credentials", &form).await
    }

    /// POST `form` to `path`: a 2xx answer's JSON as `T` (checked), another status as
    /// `Refused`.
    #[tracing::instrument(skip_all)]
    async fn post<T: Answer>(&self, path: &str, form: &[(&str, &str)]) -> Result<T, LoginError> {
        let url = self.url(path);
        let body = Zeroizing::new(
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish(),
        );
        let unreachable = |e: &reqwest::Error| {
            LoginError::Unreachable(format!("{url}: {}", http_client::error_chain(e)))
        };
        let mut response = self
            .client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body.as_bytes().to_vec())
            .send()
            .await
            .map_err(|e| unreachable(&e))?;
        let status = response.status().as_u16();
        if response
            .content_length()
            .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
        {
            return Err(self.too_long(&url));
        }
        let mut answer = Zeroizing::new(Vec::new());
        while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(&e))? {
            if answer.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(self.too_long(&url));
            }
            answer.extend_from_slice(&chunk);
        }
        if (200..300).contains(&status) {
            let unusable = |why: String| {
                LoginError::Unreachable(format!(
                    "{url}: HTTP {status} with an unusable answer: {why} (is this idbroker?)"
                ))
            };
            let doc: T = serde_json::from_slice(&answer).map_err(|e| unusable(e.to_string()))?;
            doc.check().map_err(unusable)?;
            return Ok(doc);
        }
        match serde_json::from_slice::<ErrorAnswer>(&answer) {
            Ok(e) => Err(LoginError::Refused {
                status,
                error: e.error,
                description: e.error_description.unwrap_or_default(),
            }),
            Err(_) => Err(LoginError::Unreachable(format!(
                "{url}: HTTP {status} without the JSON error of the protocol (is this idbroker?)"
            ))),
        }
    }

    fn too_long(&self, url: &str) -> LoginError {
        LoginError::Unreachable(format!(
            "{url}: the answer is longer than {MAX_ANSWER_BYTES} bytes"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let s = Server::new("http://127.0.0.1:8080/", None).unwrap();
        assert_eq!(
            s.url("/console/cli/token"),
            "http://127.0.0.1:8080/console/cli/token"
        );
        assert!(!s.cleartext());
        let s = Server::new("https://idp.example.com/base", None).unwrap();
        assert_eq!(
            s.url("/console/cli/token"),
            "https://idp.example.com/base/console/cli/token"
        );
        assert!(!s.cleartext());
        assert!(Server::new("http://idbroker.example.com", None)
            .unwrap()
            .cleartext());
        for bad in [
            "ftp://x",
            "idbroker.example.com",
            "https://x/?a=b",
            "https://u:p@x/",
        ] {
            assert!(Server::new(bad, None).is_err(), "{bad}");
        }
    }
}
