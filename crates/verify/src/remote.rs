//! [`RemoteSource`] (feature `remote`): grants, revocations and k8s token checks asked of
//! idbroker over HTTP(S), each call SigV4-signed with the service's own key
//! (`docs/VERIFIER-PROTOCOL.md`). What a downstream service is configured with: idbroker's URL
//! (and, optionally, the CA that signed its certificate), its own credentials, its service
//! name. No sealing key, no store.
//!
//! The HTTP client reaches idbroker's URL only: no redirects followed, no proxy from the
//! environment, a bounded time for every call (connect and whole answer) and a bounded answer
//! size; plain `http://` only to a loopback address.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use idbroker_sigv4::{sign, Payload, RequestParts, ScopeKey, SigningParams};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::protocol::{parse_answer, Compiled};
use crate::source::{Answer, EventStream, Grant, KeyAsk, KeySource, SourceNews};
use crate::{K8sTokenError, VerifyError};

/// The service name idbroker's own API is signed for.
const IDBROKER_SERVICE: &str = "idbroker";
/// Largest answer read from idbroker (a grant carries the caller's policy documents).
const MAX_ANSWER: usize = 1 << 20;

/// A clock for the calls the verifier makes on its own (the event stream's subscription).
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// What a [`RemoteSource`] is made with.
#[derive(Clone)]
pub struct RemoteConfig {
    /// idbroker's base URL (`https://idbroker.example.com`; `http://` only to a loopback
    /// address).
    pub url: String,
    /// PEM certificates to trust for idbroker's TLS instead of the built-in roots.
    pub ca_pem: Option<Vec<u8>>,
    /// The service's own access key id.
    pub access_key_id: String,
    /// Its secret access key.
    pub secret_access_key: Zeroizing<String>,
    /// Its session token, when the service runs on temporary credentials.
    pub session_token: Option<Zeroizing<String>>,
    /// idbroker's region (what the calls are signed for). Default `us-east-1`.
    pub region: String,
    /// Bound on each call (connect, send, whole answer). Default 2 s.
    pub timeout: Duration,
    /// The event stream is counted lost when nothing (not even `alive`, sent every 250 ms)
    /// arrives for this long. Default 1 s.
    pub stall: Duration,
    /// The clock the event stream's subscription is signed at. Default: the system clock.
    pub clock: Clock,
}

impl fmt::Debug for RemoteConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteConfig")
            .field("url", &self.url)
            .field("access_key_id", &self.access_key_id)
            .field("region", &self.region)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Why a [`RemoteSource`] could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RemoteConfigError {
    /// A setting is missing or invalid.
    #[error("{0}")]
    Invalid(String),
}

impl RemoteConfig {
    /// idbroker at `url`, the service's own key; other settings default.
    pub fn new(
        url: impl Into<String>,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        RemoteConfig {
            url: url.into(),
            ca_pem: None,
            access_key_id: access_key_id.into(),
            secret_access_key: Zeroizing::new(secret_access_key.into()),
            session_token: None,
            region: "us-east-1".into(),
            timeout: Duration::from_secs(2),
            stall: Duration::from_secs(1),
            clock: Arc::new(crate::time::wall_clock),
        }
    }

    /// From the environment: `IDBROKER_URL`, `IDBROKER_CA_FILE` (optional),
    /// `IDBROKER_ACCESS_KEY_ID`, `IDBROKER_SECRET_ACCESS_KEY`, `IDBROKER_SESSION_TOKEN`
    /// (optional), `IDBROKER_REGION` (optional). (Not `AWS_*`: a service's own AWS credentials,
    /// if it has any, are another matter.)
    pub fn from_env() -> Result<Self, RemoteConfigError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let need =
            |k: &str| var(k).ok_or_else(|| RemoteConfigError::Invalid(format!("{k} is not set")));
        let mut c = RemoteConfig::new(
            need("IDBROKER_URL")?,
            need("IDBROKER_ACCESS_KEY_ID")?,
            need("IDBROKER_SECRET_ACCESS_KEY")?,
        );
        c.session_token = var("IDBROKER_SESSION_TOKEN").map(Zeroizing::new);
        if let Some(region) = var("IDBROKER_REGION") {
            c.region = region;
        }
        if let Some(path) = var("IDBROKER_CA_FILE") {
            c.ca_pem = Some(std::fs::read(&path).map_err(|e| {
                RemoteConfigError::Invalid(format!("IDBROKER_CA_FILE {path}: {e}"))
            })?);
        }
        Ok(c)
    }
}

/// idbroker, asked over HTTP (see the module).
pub struct RemoteSource {
    client: reqwest::Client,
    /// The base URL without a trailing `/`.
    base: String,
    /// `host[:port]` as the client sends it in `Host` (and signs it).
    authority: String,
    config: RemoteConfig,
    compiled: Compiled,
}

impl fmt::Debug for RemoteSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteSource")
            .field("base", &self.base)
            .field("access_key_id", &self.config.access_key_id)
            .finish_non_exhaustive()
    }
}

impl RemoteSource {
    /// A source asking idbroker as `config` says.
    pub fn new(config: RemoteConfig) -> Result<Self, RemoteConfigError> {
        let invalid = |m: String| RemoteConfigError::Invalid(m);
        let url = reqwest::Url::parse(&config.url)
            .map_err(|e| invalid(format!("idbroker URL {}: {e}", config.url)))?;
        let host = url
            .host_str()
            .ok_or_else(|| invalid("idbroker URL: no host".into()))?;
        let loopback = host == "localhost"
            || host
                .trim_matches(|c| c == '[' || c == ']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(invalid(
                    "idbroker URL: http:// is accepted for a loopback address only; use https://"
                        .into(),
                ))
            }
            s => return Err(invalid(format!("idbroker URL: unsupported scheme {s}"))),
        }
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err(invalid(
                "idbroker URL: no query, fragment or user info".into(),
            ));
        }
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(config.timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .https_only(!loopback);
        if let Some(pem) = &config.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| invalid(format!("idbroker CA: {e}")))?;
            if certs.is_empty() {
                return Err(invalid("idbroker CA: no certificate in the PEM".into()));
            }
            builder = builder.tls_certs_only(certs);
        }
        let client = builder
            .build()
            .map_err(|e| invalid(format!("HTTP client: {e}")))?;
        Ok(RemoteSource {
            client,
            base: config.url.trim_end_matches('/').to_owned(),
            authority,
            config,
            compiled: Compiled::default(),
        })
    }

    /// A signed request to idbroker's `path` (`query` without `?`), with a JSON body or none.
    fn signed(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &str,
        body: &[u8],
        now: SystemTime,
    ) -> Result<reqwest::RequestBuilder, VerifyError> {
        let headers = [("host", self.authority.as_str())];
        let parts = RequestParts {
            method: method.as_str(),
            path,
            query,
            headers: &headers,
            payload: Payload::Bytes(body),
        };
        let mut params = SigningParams::new(
            &self.config.access_key_id,
            &self.config.secret_access_key,
            &self.config.region,
            IDBROKER_SERVICE,
            crate::time::epoch(now),
        );
        params.security_token = self.config.session_token.as_deref().map(String::as_str);
        let signed = sign(&parts, &params).map_err(|_| VerifyError::ServiceUnavailable)?;
        let url = if query.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}{path}?{query}", self.base)
        };
        let mut req = self.client.request(method, url);
        for (name, value) in signed.headers() {
            req = req.header(name.as_str(), value.as_str());
        }
        if !body.is_empty() {
            req = req
                .header("content-type", "application/json")
                .body(body.to_vec());
        }
        Ok(req)
    }

    /// Send `req` and read its JSON answer (bounded in time and size): `Ok((status, json))`.
    async fn call(&self, req: reqwest::RequestBuilder) -> Result<(u16, Value), VerifyError> {
        let read = async {
            let mut resp = req.send().await.ok()?;
            let status = resp.status().as_u16();
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.ok()? {
                if body.len() + chunk.len() > MAX_ANSWER {
                    return None;
                }
                body.extend_from_slice(&chunk);
            }
            Some((status, serde_json::from_slice::<Value>(&body).ok()?))
        };
        match tokio::time::timeout(self.config.timeout, read).await {
            Ok(Some(answer)) => Ok(answer),
            _ => {
                tracing::warn!("idbroker did not answer in time, or not with JSON: failing closed");
                Err(VerifyError::ServiceUnavailable)
            }
        }
    }
}

/// An error answer's code: `{"Error": {"Type", "Code", "Message"}, "RequestId"}`.
fn error_code(v: &Value) -> &str {
    v.get("Error")
        .and_then(|e| e.get("Code"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// A refusal of the credential itself is the request's; anything else (this service may not
/// verify for that service, throttled, idbroker failing) fails closed.
fn refusal(status: u16, v: &Value) -> VerifyError {
    match error_code(v) {
        "InvalidClientTokenId" => VerifyError::InvalidClientTokenId,
        "ExpiredToken" => VerifyError::ExpiredToken,
        code => {
            tracing::warn!(
                status,
                code,
                "idbroker refused this service's call: failing closed"
            );
            VerifyError::ServiceUnavailable
        }
    }
}

#[async_trait]
impl KeySource for RemoteSource {
    #[tracing::instrument(skip_all, name = "verify.remote_grant")]
    async fn grant(&self, ask: &KeyAsk<'_>) -> Result<Grant, VerifyError> {
        let body = json!({
            "service": ask.service,
            "access_key_id": ask.access_key_id,
            "session_token": ask.session_token,
            "date": ask.date,
            "region": ask.region,
        })
        .to_string();
        let req = self.signed(
            reqwest::Method::POST,
            "/verify/key",
            "",
            body.as_bytes(),
            ask.now,
        )?;
        let (status, v) = self.call(req).await?;
        if status != 200 {
            return Err(refusal(status, &v));
        }
        // The answer must be for the scope asked, or it verifies nothing.
        let echoed = |k: &str, want: &str| v.get(k).and_then(Value::as_str) == Some(want);
        if !(echoed("access_key_id", ask.access_key_id)
            && echoed("date", ask.date)
            && echoed("region", ask.region)
            && echoed("service", ask.service))
        {
            tracing::warn!("idbroker answered a key for another scope: failing closed");
            return Err(VerifyError::ServiceUnavailable);
        }
        let key = v
            .get("signing_key")
            .and_then(Value::as_str)
            .and_then(ScopeKey::from_hex)
            .ok_or(VerifyError::ServiceUnavailable)?;
        let expires_at = v
            .get("expires_at")
            .and_then(Value::as_u64)
            .ok_or(VerifyError::ServiceUnavailable)?;
        let caller = parse_answer(&v, &self.compiled).map_err(|()| {
            tracing::warn!("idbroker's grant is not in the protocol's shape: failing closed");
            VerifyError::ServiceUnavailable
        })?;
        Ok(Grant {
            key,
            expires_at,
            caller,
        })
    }

    async fn events(
        &self,
        service: Option<&str>,
    ) -> Result<Option<Box<dyn EventStream>>, VerifyError> {
        let Some(service) = service else {
            // A verifier without a service of its own cannot subscribe (the stream is
            // authorized per service): TTL only.
            return Ok(None);
        };
        let query = format!("service={service}");
        let req = self.signed(
            reqwest::Method::GET,
            "/verify/events",
            &query,
            b"",
            (self.config.clock)(),
        )?;
        let resp = tokio::time::timeout(self.config.timeout, req.send())
            .await
            .map_err(|_| VerifyError::ServiceUnavailable)?
            .map_err(|_| VerifyError::ServiceUnavailable)?;
        if resp.status().as_u16() != 200 {
            tracing::warn!(
                status = resp.status().as_u16(),
                "idbroker refused this service's event stream"
            );
            return Err(VerifyError::ServiceUnavailable);
        }
        Ok(Some(Box::new(RemoteEvents {
            resp,
            parser: crate::protocol::EventParser::default(),
            stall: self.config.stall,
        })))
    }

    async fn k8s_token(
        &self,
        token: &str,
        cluster_id: &str,
        now: SystemTime,
    ) -> Option<Result<(Answer, String), K8sTokenError>> {
        Some(self.k8s(token, cluster_id, now).await)
    }
}

impl RemoteSource {
    async fn k8s(
        &self,
        token: &str,
        cluster_id: &str,
        now: SystemTime,
    ) -> Result<(Answer, String), K8sTokenError> {
        if token.len() > crate::k8s::MAX_K8S_TOKEN_LEN || cluster_id.len() > 256 {
            return Err(K8sTokenError::BadUrl("too long"));
        }
        let body = json!({"token": token, "cluster_id": cluster_id}).to_string();
        let req = self.signed(
            reqwest::Method::POST,
            "/verify/k8s",
            "",
            body.as_bytes(),
            now,
        )?;
        let (status, v) = self.call(req).await?;
        if status != 200 {
            return Err(match error_code(&v) {
                "InvalidClientTokenId" => VerifyError::InvalidClientTokenId.into(),
                "ExpiredToken" => VerifyError::ExpiredToken.into(),
                "SignatureDoesNotMatch" => VerifyError::SignatureDoesNotMatch.into(),
                "RequestExpired" => {
                    VerifyError::RequestExpired("The k8s token has expired.".into()).into()
                }
                "InvalidToken" => K8sTokenError::BadUrl("refused by idbroker"),
                _ => refusal(status, &v).into(),
            });
        }
        let answer = parse_answer(&v, &self.compiled)
            .map_err(|()| K8sTokenError::from(VerifyError::ServiceUnavailable))?;
        let region = v
            .get("region")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Ok((answer, region))
    }
}

/// idbroker's event stream, read as server-sent events.
struct RemoteEvents {
    resp: reqwest::Response,
    parser: crate::protocol::EventParser,
    stall: Duration,
}

#[async_trait]
impl EventStream for RemoteEvents {
    async fn next(&mut self) -> SourceNews {
        loop {
            match self.parser.next_event() {
                Ok(Some(news)) => return news,
                Ok(None) => {}
                Err(()) => return SourceNews::Lost,
            }
            match tokio::time::timeout(self.stall, self.resp.chunk()).await {
                Ok(Ok(Some(chunk))) => self.parser.push(&chunk),
                // Ended, failed, or silent past the bound: lost.
                _ => return SourceNews::Lost,
            }
        }
    }
}
