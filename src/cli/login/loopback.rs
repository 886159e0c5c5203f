//! The loopback redirect listener of a browser sign-in (RFC 8252 section 7.3): `127.0.0.1`, a
//! port the system picks, `GET /idbroker/callback` only. Each connection gets one request read
//! (at most [`MAX_REQUEST_BYTES`] of request line and headers, within [`PER_CONNECTION`]) and one
//! answer; a request whose `state` is missing or wrong is answered 400 and the wait goes on; the
//! one with this sign-in's `state` (compared in constant time) gets a page saying what happened,
//! and ends the wait. At most [`MAX_CONNECTIONS`] connections are served at once (a browser
//! opens spare ones); the caller bounds the whole wait.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use zeroize::Zeroizing;

use super::error::LoginError;
use super::pkce;

/// The path of the redirect URI.
pub const CALLBACK_PATH: &str = "/idbroker/callback";
/// Largest request line plus headers read.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;
/// Time a connection has to send its request.
pub const PER_CONNECTION: Duration = Duration::from_secs(5);
/// Connections served at once; more are closed unanswered.
pub const MAX_CONNECTIONS: usize = 16;
/// The pause after a failed accept.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// What the redirect brought.
pub enum Callback {
    /// `code=...`: to exchange at the token endpoint (a secret).
    Code(Zeroizing<String>),
    /// `error=...&error_description=...`: the sign-in failed.
    Error {
        /// The error code.
        error: String,
        /// The description (may be empty).
        description: String,
    },
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Callback::Code(_) => f.write_str("Code(..)"),
            Callback::Error { error, description } => f
                .debug_struct("Error")
                .field("error", error)
                .field("description", description)
                .finish(),
        }
    }
}

/// A bound listener, waiting to be told the state to expect.
#[derive(Debug)]
pub struct Loopback {
    listener: TcpListener,
    port: u16,
}

impl Loopback {
    /// Listen on `127.0.0.1`, on a port the system picks.
    pub async fn bind() -> Result<Self, LoginError> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| LoginError::local("listening on 127.0.0.1", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| LoginError::local("listening on 127.0.0.1", e))?
            .port();
        Ok(Loopback { listener, port })
    }

    /// `http://127.0.0.1:PORT/idbroker/callback`.
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.port)
    }

    /// Serve connections until one brings `state`'s redirect. Unbounded in time: the caller
    /// wraps it in its timeout (dropping it closes the listener and every connection).
    pub async fn wait(self, state: &str) -> Callback {
        let state: Arc<str> = Arc::from(state);
        let mut serving: JoinSet<Option<Callback>> = JoinSet::new();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    match accepted {
                        Ok((stream, _)) if serving.len() < MAX_CONNECTIONS => {
                            let state = Arc::clone(&state);
                            serving.spawn(async move {
                                tokio::time::timeout(PER_CONNECTION, serve(stream, &state))
                                    .await
                                    .ok()
                                    .flatten()
                            });
                        }
                        // Too many at once: this one is closed unanswered.
                        Ok(_) => {}
                        // Out of descriptors, say: a pause instead of a busy loop.
                        Err(_) => tokio::time::sleep(ACCEPT_PAUSE).await,
                    }
                }
                Some(done) = serving.join_next(), if !serving.is_empty() => {
                    if let Ok(Some(callback)) = done {
                        return callback;
                    }
                }
            }
        }
    }
}

/// One connection: read its request, answer it; `Some` when it carried the awaited redirect.
async fn serve(mut stream: TcpStream, state: &str) -> Option<Callback> {
    let (answer, callback) = match read_head(&mut stream).await {
        Head::Complete(head) => answer(&head, state),
        Head::TooLarge => {
            let page = reply(
                431,
                "Request Header Fields Too Large",
                "The request is too large.",
            );
            let _ = stream.write_all(page.as_bytes()).await;
            let _ = stream.shutdown().await;
            // Read what the peer still sends before closing: closing with unread bytes resets
            // the connection, and the peer might lose the answer (bounded by PER_CONNECTION).
            let mut sink = [0u8; 4096];
            while let Ok(1..) = stream.read(&mut sink).await {}
            return None;
        }
        Head::Closed => return None,
    };
    // The answer is best effort: the browser may be gone; the callback counts all the same.
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
    callback
}

enum Head {
    Complete(Vec<u8>),
    TooLarge,
    Closed,
}

/// The request line and headers, up to the blank line (a body is never read).
async fn read_head(stream: &mut TcpStream) -> Head {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return Head::Closed,
            Ok(n) => n,
        };
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
        let end = head
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .or_else(|| head.windows(2).position(|w| w == b"\n\n"));
        match end {
            Some(end) if end <= MAX_REQUEST_BYTES => {
                head.truncate(end);
                return Head::Complete(head);
            }
            _ if head.len() > MAX_REQUEST_BYTES => return Head::TooLarge,
            _ => {}
        }
    }
}

/// The answer to a request, and the callback when it is the awaited one (what a request on the
/// listener's port brings is anybody's: also fuzzed, fuzz/fuzz_targets/cli_login.rs).
pub fn answer(head: &[u8], state: &str) -> (String, Option<Callback>) {
    let line = head.split(|&c| c == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.trim_end().split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != CALLBACK_PATH {
        return (reply(404, "Not Found", "Nothing here."), None);
    }
    if method != "GET" {
        return (reply(405, "Method Not Allowed", "Only GET."), None);
    }
    let first = |name: &str| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| Zeroizing::new(v.into_owned()))
    };
    if !first("state").is_some_and(|s| pkce::same(&s, state)) {
        return (
            reply(
                400,
                "Bad Request",
                "This sign-in link is not the one the waiting idbroker command started (its state does not match). Start again from the terminal.",
            ),
            None,
        );
    }
    if let Some(error) = first("error") {
        let description = first("error_description")
            .map(|d| d.to_string())
            .unwrap_or_default();
        let page = reply(
            200,
            "OK",
            &format!(
                "Sign-in failed: {}{}{}. Return to the terminal.",
                error.as_str(),
                if description.is_empty() { "" } else { ": " },
                description
            ),
        );
        let callback = Callback::Error {
            error: error.to_string(),
            description,
        };
        return (page, Some(callback));
    }
    match first("code") {
        Some(code) if !code.is_empty() && code.len() <= 4096 => (
            reply(
                200,
                "OK",
                "Signed in. You can close this tab and return to the terminal.",
            ),
            Some(Callback::Code(code)),
        ),
        _ => {
            let page = reply(
                200,
                "OK",
                "Sign-in failed: the redirect carried no code. Return to the terminal.",
            );
            let callback = Callback::Error {
                error: "invalid_request".into(),
                description: "the redirect carried no code".into(),
            };
            (page, Some(callback))
        }
    }
}

/// An HTTP/1.1 answer with a one-paragraph HTML page (`text` escaped).
fn reply(status: u16, reason: &str, text: &str) -> String {
    let page = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>idbroker</title></head>\
         <body><p>{}</p></body></html>\n",
        escape(text)
    );
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\
         Content-Security-Policy: default-src 'none'\r\nX-Content-Type-Options: nosniff\r\n\
         Connection: close\r\n\r\n{page}",
        page.len()
    )
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Send `request` to the listener, return the whole answer.
    async fn send(addr: &str, request: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        // The listener may close on its own before everything is written (the oversized case).
        let _ = s.write_all(request).await;
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out).into_owned()
    }

    fn get(path_and_query: &str) -> Vec<u8> {
        format!("GET {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").into_bytes()
    }

    async fn listener() -> (Loopback, String) {
        let l = Loopback::bind().await.unwrap();
        let uri = l.redirect_uri();
        assert!(uri.starts_with("http://127.0.0.1:") && uri.ends_with(CALLBACK_PATH));
        let addr = uri
            .trim_start_matches("http://")
            .trim_end_matches(CALLBACK_PATH)
            .to_owned();
        (l, addr)
    }

    #[tokio::test]
    async fn wrong_state_keeps_waiting_then_the_right_one_ends_it() {
        let (l, addr) = listener().await;
        let waiting = tokio::spawn(async move { l.wait("the-state").await });
        let a = send(&addr, &get("/idbroker/callback?code=c1&state=other")).await;
        assert!(a.starts_with("HTTP/1.1 400 "), "{a}");
        let a = send(&addr, &get("/idbroker/callback?code=c1")).await;
        assert!(a.starts_with("HTTP/1.1 400 "), "{a}");
        let a = send(&addr, &get("/favicon.ico")).await;
        assert!(a.starts_with("HTTP/1.1 404 "), "{a}");
        let a = send(
            &addr,
            b"POST /idbroker/callback?code=c&state=the-state HTTP/1.1\r\n\r\n",
        )
        .await;
        assert!(a.starts_with("HTTP/1.1 405 "), "{a}");
        // A connection that never sends anything does not hold the others up.
        let _idle = TcpStream::connect(&addr).await.unwrap();
        assert!(!waiting.is_finished());
        let a = send(
            &addr,
            &get("/idbroker/callback?code=the%2Fcode&state=the-state"),
        )
        .await;
        assert!(a.starts_with("HTTP/1.1 200 "), "{a}");
        assert!(a.contains("Signed in. You can close this tab and return to the terminal."));
        let got = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(got, Callback::Code(c) if c.as_str() == "the/code"));
    }

    #[tokio::test]
    async fn oversized_request_refused() {
        let (l, addr) = listener().await;
        let waiting = tokio::spawn(async move { l.wait("s").await });
        let mut big = b"GET /idbroker/callback?state=s&code=c HTTP/1.1\r\nX-Filler: ".to_vec();
        big.resize(MAX_REQUEST_BYTES + 100, b'a');
        big.extend_from_slice(b"\r\n\r\n");
        let a = send(&addr, &big).await;
        assert!(a.starts_with("HTTP/1.1 431 "), "{a}");
        assert!(!waiting.is_finished());
        waiting.abort();
    }

    #[tokio::test]
    async fn error_redirect_ends_the_wait_with_the_error() {
        let (l, addr) = listener().await;
        let waiting = tokio::spawn(async move { l.wait("s").await });
        let a = send(
            &addr,
            &get("/idbroker/callback?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E&state=s"),
        )
        .await;
        assert!(a.starts_with("HTTP/1.1 200 "), "{a}");
        assert!(
            a.contains("Sign-in failed: access_denied: &lt;b&gt;no&lt;/b&gt;"),
            "{a}"
        );
        let got = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .unwrap()
            .unwrap();
        assert!(
            matches!(got, Callback::Error { ref error, ref description } if error == "access_denied" && description == "<b>no</b>"),
            "{got:?}"
        );
    }
}
