//! The two ways to a ticket: the browser sign-in (RFC 8252 loopback redirect with PKCE S256)
//! and the device sign-in (RFC 8628), each bounded by the caller's timeout; then the ticket for a
//! role's credentials. What the person must do is written to `out` (standard error, or
//! `/dev/tty` under `credential_process`).

use std::io::Write;
use std::time::Duration;

use super::browser;
use super::client::Server;
use super::error::{shown, LoginError};
use super::loopback::{Callback, Loopback};
use super::pkce::Pkce;
use super::protocol::TokenAnswer;
use super::settings::Settings;
use crate::clock::Stopwatch;

/// How the browser sign-in's URL reaches a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Browser {
    /// Start one (`$BROWSER`'s value when set), and print the URL too.
    Open(Option<String>),
    /// Only print the URL (`--no-browser`).
    Print,
}

/// Longest wait between two polls of a device sign-in, whatever the server says.
const MAX_INTERVAL: u64 = 60;

/// Write a line for the person; a closed terminal does not stop the sign-in.
fn say(out: &mut dyn Write, text: &str) {
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// `{endpoint}/console/cli/start?provider=..&redirect_uri=..&state=..&code_challenge=..&code_challenge_method=S256[&duration_seconds=..]`.
pub fn start_url(
    server: &Server,
    settings: &Settings,
    redirect_uri: &str,
    pkce: &Pkce,
) -> Result<String, LoginError> {
    let mut url = url::Url::parse(&server.url("/console/cli/start"))
        .map_err(|e| LoginError::local("--endpoint-url", e))?;
    {
        let mut q = url.query_pairs_mut();
        if let Some(p) = &settings.provider {
            q.append_pair("provider", p);
        }
        q.append_pair("redirect_uri", redirect_uri)
            .append_pair("state", &pkce.state)
            .append_pair("code_challenge", &pkce.challenge)
            .append_pair("code_challenge_method", "S256");
        if let Some(d) = settings.duration_seconds {
            q.append_pair("duration_seconds", &d.to_string());
        }
    }
    Ok(url.into())
}

/// Sign in through a browser: listen on the loopback, send the person to the start URL, wait
/// (at most `timeout`) for the redirect with this sign-in's state, exchange its code.
#[tracing::instrument(skip_all)]
pub async fn browser_sign_in(
    server: &Server,
    settings: &Settings,
    browser: &Browser,
    out: &mut dyn Write,
    timeout: Duration,
) -> Result<TokenAnswer, LoginError> {
    let pkce = Pkce::new()?;
    let listener = Loopback::bind().await?;
    let redirect_uri = listener.redirect_uri();
    let url = start_url(server, settings, &redirect_uri, &pkce)?;
    match browser {
        Browser::Print => say(out, &format!("Open this URL in a browser to sign in:\n{url}")),
        Browser::Open(command) => match browser::open(&url, command.as_deref()) {
            Ok(()) => say(
                out,
                &format!("Opening a browser to sign in. If none opens, open this URL in a browser:\n{url}"),
            ),
            Err(e) => say(
                out,
                &format!(
                    "Could not start a browser ({}). Open this URL in a browser to sign in:\n{url}",
                    shown(&e)
                ),
            ),
        },
    }
    say(
        out,
        &format!(
            "Waiting for the sign-in (at most {} s)...",
            timeout.as_secs()
        ),
    );
    let callback = tokio::time::timeout(timeout, listener.wait(&pkce.state))
        .await
        .map_err(|_| {
            LoginError::SignIn(format!(
                "no sign-in came back within {} s (--timeout)",
                timeout.as_secs()
            ))
        })?;
    match callback {
        Callback::Code(code) => {
            server
                .exchange_code(&code, &pkce.verifier, &redirect_uri)
                .await
        }
        Callback::Error { error, description } => Err(LoginError::SignIn(format!(
            "the sign-in failed: {}: {}",
            shown(&error),
            shown(&description)
        ))),
    }
}

/// Sign in with a device code: show the verification URI and the code, poll the token endpoint
/// every `interval` seconds (5 more after each `slow_down`) until the sign-in is done, denied or
/// expired, at most `timeout` and the code's lifetime.
#[tracing::instrument(skip_all)]
pub async fn device_sign_in(
    server: &Server,
    settings: &Settings,
    out: &mut dyn Write,
    timeout: Duration,
) -> Result<TokenAnswer, LoginError> {
    let auth = server
        .device_authorize(settings.provider.as_deref(), settings.duration_seconds)
        .await?;
    let mut text = format!(
        "To sign in, open this URL in a browser on any device:\n  {}\nand enter the code: {}",
        shown(&auth.verification_uri),
        shown(&auth.user_code)
    );
    if let Some(complete) = &auth.verification_uri_complete {
        text.push_str(&format!(
            "\n(or open this URL, which carries the code:\n  {})",
            shown(complete)
        ));
    }
    let limit = timeout.min(Duration::from_secs(auth.expires_in));
    text.push_str(&format!(
        "\nWaiting for the sign-in (at most {} s)...",
        limit.as_secs()
    ));
    say(out, &text);
    let watch = Stopwatch::start();
    let mut interval = auth.interval.unwrap_or(5).clamp(1, MAX_INTERVAL);
    loop {
        let wait = Duration::from_secs(interval);
        if watch.elapsed() + wait > limit {
            return Err(LoginError::SignIn(if limit < timeout {
                "the code expired before the sign-in finished: run the command again".into()
            } else {
                format!(
                    "the sign-in did not finish within {} s (--timeout)",
                    timeout.as_secs()
                )
            }));
        }
        tokio::time::sleep(wait).await;
        match server.poll_device(&auth.device_code).await {
            Ok(answer) => return Ok(answer),
            Err(LoginError::Refused { error, .. }) if error == "authorization_pending" => {}
            Err(LoginError::Refused { error, .. }) if error == "slow_down" => {
                interval = (interval + 5).min(MAX_INTERVAL);
            }
            Err(LoginError::Refused {
                error, description, ..
            }) if error == "access_denied" => {
                return Err(LoginError::SignIn(format!(
                    "the sign-in was denied: {}",
                    shown(&description)
                )))
            }
            Err(LoginError::Refused { error, .. }) if error == "expired_token" => {
                return Err(LoginError::SignIn(
                    "the code expired before the sign-in finished: run the command again".into(),
                ))
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_url() {
        let server = Server::new("http://127.0.0.1:8080", None).unwrap();
        let pkce = Pkce::new().unwrap();
        let mut settings = Settings {
            endpoint_url: "http://127.0.0.1:8080".into(),
            provider: Some("corp idp".into()),
            duration_seconds: Some(3600),
            ..Settings::default()
        };
        let redirect = "http://127.0.0.1:5555/idbroker/callback";
        let url = start_url(&server, &settings, redirect, &pkce).unwrap();
        assert_eq!(
            url,
            format!(
                "http://127.0.0.1:8080/console/cli/start?provider=corp+idp&redirect_uri=http%3A%2F%2F127.0.0.1%3A5555%2Fidbroker%2Fcallback&state={}&code_challenge={}&code_challenge_method=S256&duration_seconds=3600",
                pkce.state.as_str(),
                pkce.challenge
            )
        );
        settings.provider = None;
        settings.duration_seconds = None;
        let url = start_url(&server, &settings, redirect, &pkce).unwrap();
        assert!(url.starts_with("http://127.0.0.1:8080/console/cli/start?redirect_uri="));
        assert!(url.ends_with("&code_challenge_method=S256"));
    }
}
