//! The client of the admin API, for `idbroker admin revoke` and `idbroker admin sessions`: the
//! request body, SigV4 (service `idbroker`) with credentials from the standard AWS environment
//! variables, HTTPS trusting a given CA bundle (like the AWS CLI's `--ca-bundle`), and the answer
//! sorted into what the command says and its exit code.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use idbroker_sigv4::{Payload, RequestParts, SigningParams};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::clock::Clock;

/// Credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
pub struct EnvCredentials {
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    session_token: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for EnvCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl EnvCredentials {
    /// Read them through `var` (the process environment in the command, a map in tests).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ClientError> {
        let get = |name: &str| var(name).filter(|v| !v.is_empty());
        let (Some(access_key_id), Some(secret)) =
            (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"))
        else {
            return Err(ClientError::Local(
                "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)".into(),
            ));
        };
        Ok(EnvCredentials {
            access_key_id,
            secret_access_key: Zeroizing::new(secret),
            session_token: get("AWS_SESSION_TOKEN").map(Zeroizing::new),
        })
    }
}

/// Where and how to reach the server.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `https://idbroker.example.com` (the admin API is under `/admin/`).
    pub url: String,
    /// The region of the signature's credential scope.
    pub region: String,
    /// Trust only the CA certificates of this PEM file (the system's otherwise).
    pub ca_bundle: Option<PathBuf>,
}

/// Why a request got no answer from the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// Nothing was sent: bad arguments, no credentials, an unreadable CA bundle.
    Local(String),
    /// The server could not be reached (connection, TLS, timeout) or sent no usable answer.
    Unreachable(String),
}

/// What the admin API answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Done: the JSON document.
    Done(Value),
    /// Refused (or failed, for a 5xx status), with the error's code and message.
    Refused {
        /// HTTP status.
        status: u16,
        /// `AccessDenied`, `NoSuchEntity`, ...
        code: String,
        /// The message.
        message: String,
        /// The request id, for the server's audit log.
        request_id: String,
    },
}

/// Sign `body` for `POST /admin/revoke` at `now` and send it.
pub async fn revoke(
    endpoint: &Endpoint,
    creds: &EnvCredentials,
    body: &Value,
    now: SystemTime,
) -> Result<Answer, ClientError> {
    post(endpoint, creds, "revoke", body, now).await
}

/// Sign `body` for `POST /admin/sessions` (one page) at `now` and send it.
pub async fn list_sessions(
    endpoint: &Endpoint,
    creds: &EnvCredentials,
    body: &Value,
    now: SystemTime,
) -> Result<Answer, ClientError> {
    post(endpoint, creds, "sessions", body, now).await
}

/// Every page of `POST /admin/sessions` from `body`'s `Marker` on, each signed at the clock's
/// time: one document with all `Sessions` and no `Marker`, or the first refusal. A marker the
/// server gives twice ends the listing with an error (it would never end).
pub async fn list_all_sessions(
    endpoint: &Endpoint,
    creds: &EnvCredentials,
    body: &Value,
    clock: &dyn Clock,
) -> Result<Answer, ClientError> {
    let mut body = body.clone();
    let mut all = Vec::new();
    let mut seen = std::collections::HashSet::new();
    loop {
        let mut doc = match list_sessions(endpoint, creds, &body, clock.now()).await? {
            Answer::Done(doc) => doc,
            refused => return Ok(refused),
        };
        if let Some(Value::Array(page)) = doc.get_mut("Sessions").map(Value::take) {
            all.extend(page);
        }
        let Some(marker) = doc.get("Marker").and_then(Value::as_str).map(str::to_owned) else {
            if let Some(fields) = doc.as_object_mut() {
                fields.insert("Sessions".into(), Value::Array(all));
            }
            return Ok(Answer::Done(doc));
        };
        if !seen.insert(marker.clone()) {
            return Err(ClientError::Unreachable(format!(
                "{}: the server gave the same Marker twice",
                endpoint.url
            )));
        }
        if let Some(fields) = body.as_object_mut() {
            fields.insert("Marker".into(), Value::String(marker));
        }
    }
}

/// Sign `body` for `POST /admin/{call}` at `now` and send it.
async fn post(
    endpoint: &Endpoint,
    creds: &EnvCredentials,
    call: &str,
    body: &Value,
    now: SystemTime,
) -> Result<Answer, ClientError> {
    let local = ClientError::Local;
    let url = url::Url::parse(&format!(
        "{}/admin/{call}",
        endpoint.url.trim_end_matches('/')
    ))
    .map_err(|e| local(format!("--endpoint-url {}: {e}", endpoint.url)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(local(format!(
            "--endpoint-url {}: not an http(s) URL",
            endpoint.url
        )));
    }
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        (None, _) => return Err(local(format!("--endpoint-url {}: no host", endpoint.url))),
    };
    let payload = serde_json::to_vec(body).map_err(|e| local(e.to_string()))?;
    let headers = [
        ("host", host.as_str()),
        ("content-type", "application/json"),
    ];
    let parts = RequestParts {
        method: "POST",
        path: url.path(),
        query: "",
        headers: &headers,
        payload: Payload::Bytes(&payload),
    };
    let mut params = SigningParams::new(
        &creds.access_key_id,
        &creds.secret_access_key,
        &endpoint.region,
        crate::admin::SERVICE,
        idbroker_session::unix_seconds(now),
    );
    params.security_token = creds.session_token.as_deref().map(String::as_str);
    let signed = idbroker_sigv4::sign(&parts, &params)
        .map_err(|e| local(format!("cannot sign the request: {e}")))?;

    let client = super::http_client::build(
        endpoint.ca_bundle.as_deref(),
        Duration::from_secs(5),
        Duration::from_secs(30),
    )
    .map_err(local)?;
    let mut request = client.post(url.clone()).body(payload);
    for (name, value) in headers.iter().copied().chain(
        signed
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str())),
    ) {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(|e| {
        ClientError::Unreachable(format!("{url}: {}", super::http_client::error_chain(&e)))
    })?;
    let status = response.status().as_u16();
    let text = response
        .text()
        .await
        .map_err(|e| ClientError::Unreachable(format!("{url}: reading the answer: {e}")))?;
    let doc: Value = serde_json::from_str(&text).map_err(|_| {
        ClientError::Unreachable(format!(
            "{url}: HTTP {status} with a body that is not the admin API's JSON (is this idbroker?)"
        ))
    })?;
    if (200..300).contains(&status) {
        return Ok(Answer::Done(doc));
    }
    let error = doc.get("Error");
    let field = |k: &str| json_str(error.and_then(|e| e.get(k))).to_owned();
    Ok(Answer::Refused {
        status,
        code: field("Code"),
        message: field("Message"),
        request_id: json_str(doc.get("RequestId")).to_owned(),
    })
}

/// A JSON string's text, or "".
fn json_str(v: Option<&Value>) -> &str {
    v.and_then(Value::as_str).unwrap_or_default()
}

/// One line saying what a successful answer revoked.
pub fn describe(done: &Value) -> String {
    let s = |k: &str| json_str(done.get(k));
    let before = s("RevokedBefore");
    match s("Action") {
        "idbroker:RevokeSession" => {
            format!("revoked session {} ({})", s("AccessKeyId"), s("Resource"))
        }
        "idbroker:RevokeOlderSessions" => format!(
            "revoked the sessions of role {} issued at or before {before}",
            s("Resource")
        ),
        "idbroker:RevokePrincipalSessions" => format!(
            "revoked the sessions of {} issued at or before {before}",
            s("Resource")
        ),
        "idbroker:RevokeSourceIdentitySessions" => format!(
            "revoked the sessions with source identity {} issued at or before {before}",
            s("Resource")
                .rsplit_once(":source-identity/")
                .map_or("", |(_, v)| v)
        ),
        other => format!("done: {other} {done}"),
    }
}

/// A listing as a table: one line per session (access key id, expiration, issue time, source
/// identity, ARN), a header, and when a page follows, the `--starting-token` to get it.
pub fn session_table(doc: &Value) -> String {
    const HEAD: [&str; 5] = [
        "ACCESS KEY ID",
        "EXPIRATION",
        "ISSUED",
        "SOURCE IDENTITY",
        "ARN",
    ];
    let rows: Vec<[&str; 5]> = doc
        .get("Sessions")
        .and_then(Value::as_array)
        .map(|sessions| {
            sessions
                .iter()
                .map(|s| {
                    let f = |k: &str| match json_str(s.get(k)) {
                        "" => "-",
                        v => v,
                    };
                    [
                        f("AccessKeyId"),
                        f("Expiration"),
                        f("Issued"),
                        f("SourceIdentity"),
                        f("Arn"),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    let mut widths = HEAD.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&HEAD).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(&format!("{} session(s)\n", rows.len()));
    if let Some(m) = doc.get("Marker").and_then(Value::as_str) {
        out.push_str(&format!("more: --starting-token {m}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let c = EnvCredentials::from_env(env(&[
            ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "s3cret"),
            ("AWS_SESSION_TOKEN", ""),
        ]))
        .unwrap();
        assert!(c.session_token.is_none());
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(matches!(
            EnvCredentials::from_env(env(&[("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")])),
            Err(ClientError::Local(_))
        ));
    }

    #[test]
    fn tables() {
        let t = session_table(&serde_json::json!({
            "Sessions": [{
                "AccessKeyId": "ASIAAAAAAAAAAAAAAAAA",
                "Arn": "arn:aws:sts::1:assumed-role/R/alice",
                "Issued": "2026-11-28T12:00:00Z",
                "Expiration": "2026-11-28T13:00:00Z",
            }],
            "Marker": "m1",
        }));
        assert_eq!(
            t,
            "ACCESS KEY ID         EXPIRATION            ISSUED                SOURCE IDENTITY  ARN\n\
             ASIAAAAAAAAAAAAAAAAA  2026-11-28T13:00:00Z  2026-11-28T12:00:00Z  -                arn:aws:sts::1:assumed-role/R/alice\n\
             1 session(s)\nmore: --starting-token m1\n"
        );
        assert_eq!(
            session_table(&serde_json::json!({"Sessions": []})),
            "ACCESS KEY ID  EXPIRATION  ISSUED  SOURCE IDENTITY  ARN\n0 session(s)\n"
        );
    }

    #[test]
    fn descriptions() {
        let d = describe(&serde_json::json!({
            "Action": "idbroker:RevokeSourceIdentitySessions",
            "Resource": "arn:aws:idbroker::1:source-identity/alice",
            "RevokedBefore": "2026-11-28T12:00:00Z",
        }));
        assert_eq!(
            d,
            "revoked the sessions with source identity alice issued at or before 2026-11-28T12:00:00Z"
        );
    }
}
