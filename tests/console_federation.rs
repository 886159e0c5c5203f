//! The console without a browser: AWS's federation endpoint (getSigninToken, login), the
//! landing page and sign-out, over raw HTTP against the server in-process, credentials from
//! aws-sdk-sts, the clock moved instead of slept.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{sdk_code, sdk_with_keys, KEY, READER, SECRET};
use idbroker::clock::{Clock, ManualClock, Stopwatch, SystemClock};

struct Broker {
    url: String,
    clock: Arc<ManualClock>,
    sealer: Arc<idbroker::console::seal::Sealer>,
}

impl Broker {
    async fn start() -> Broker {
        Broker::with(common::demo()).await
    }

    async fn with(config: idbroker::config::Config) -> Broker {
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let state = idbroker::build_state(config, clock.clone()).await.unwrap();
        let sealer = state.config.console.sealer.clone();
        Broker {
            url: common::start(state).await,
            clock,
            sealer,
        }
    }

    fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// Role credentials (AccessKeyId, secret, token) from AssumeRole.
    async fn role_creds(&self) -> (String, String, String) {
        let out = sdk_with_keys(&self.url, KEY, SECRET, None, self.now())
            .assume_role()
            .role_arn(READER)
            .role_session_name("console-user")
            .send()
            .await
            .unwrap();
        let c = out.credentials.unwrap();
        (c.access_key_id, c.secret_access_key, c.session_token)
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        body: &str,
    ) -> Response {
        let cookie = cookie
            .map(|c| format!("Cookie: {c}\r\n"))
            .unwrap_or_default();
        Response::parse(
            common::raw_http(
                &self.url,
                format!(
                    "{method} {path} HTTP/1.1\r\nHost: x\r\n{cookie}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                ),
            )
            .await,
        )
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Response {
        self.request("GET", path, cookie, "").await
    }

    async fn post(&self, path: &str, cookie: Option<&str>, body: &str) -> Response {
        self.request("POST", path, cookie, body).await
    }

    async fn signin_token(&self, creds: &(String, String, String), extra: &str) -> Response {
        let session = serde_json::json!({
            "sessionId": creds.0, "sessionKey": creds.1, "sessionToken": creds.2,
        })
        .to_string();
        self.get(
            &format!(
                "/federation?Action=getSigninToken&Session={}{extra}",
                enc(&session)
            ),
            None,
        )
        .await
    }

    /// A signed-in browser's console cookie for `creds` (getSigninToken, then login).
    async fn console_cookie(&self, creds: &(String, String, String), extra: &str) -> String {
        let token = token_of(&self.signin_token(creds, extra).await);
        let r = self.login(&token, LANDING).await;
        r.cookie("idb_console").expect("console cookie").0
    }

    async fn login(&self, token: &str, destination: &str) -> Response {
        self.get(
            &format!(
                "/federation?Action=login&Issuer={}&Destination={}&SigninToken={}",
                enc("https://portal.example.com/"),
                enc(destination),
                enc(token)
            ),
            None,
        )
        .await
    }
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[derive(Debug)]
struct Response {
    status: u16,
    head: String,
    body: String,
}

impl Response {
    fn parse(raw: String) -> Response {
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap();
        Response {
            status,
            head: head.to_owned(),
            body: body.to_owned(),
        }
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    /// `name=value` of the Set-Cookie for `name`, and the whole header.
    fn cookie(&self, name: &str) -> Option<(String, String)> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            if !k.eq_ignore_ascii_case("set-cookie") {
                return None;
            }
            let v = v.trim();
            let pair = v.split(';').next()?.to_owned();
            pair.starts_with(&format!("{name}="))
                .then(|| (pair, v.to_owned()))
        })
    }

    fn data_code(&self) -> Option<String> {
        let at = self.body.find("data-code=\"")? + "data-code=\"".len();
        let end = self.body.get(at..)?.find('"')?;
        self.body.get(at..at + end).map(str::to_owned)
    }

    fn hidden(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let at = self.body.find(&marker)? + marker.len();
        let end = self.body.get(at..)?.find('"')?;
        self.body.get(at..at + end).map(str::to_owned)
    }
}

fn token_of(r: &Response) -> String {
    assert_eq!(r.status, 200, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    v["SigninToken"].as_str().unwrap().to_owned()
}

const LANDING: &str = "http://127.0.0.1:8080/console";

#[actix_web::test]
async fn federation_round_trip_landing_and_signout() {
    let b = Broker::start().await;
    let creds = b.role_creds().await;
    let token = token_of(&b.signin_token(&creds, "&SessionDuration=900").await);

    let r = b.login(&token, LANDING).await;
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(r.header("location").as_deref(), Some(LANDING));
    let (cookie, attrs) = r.cookie("idb_console").expect("console cookie");
    assert!(
        attrs.contains("HttpOnly") && attrs.contains("SameSite=Lax"),
        "{attrs}"
    );
    assert!(attrs.contains("Max-Age=900"), "{attrs}");
    // The cookie holds neither the secret nor the token in clear.
    assert!(!cookie.contains(&creds.1) && !cookie.contains(&creds.2));

    // The landing page: who, the CLI lines, the security headers.
    let page = b.get("/console", Some(&cookie)).await;
    assert_eq!(page.status, 200);
    assert!(page
        .body
        .contains("arn:aws:sts::123456789012:assumed-role/ReportsReader/console-user"));
    assert!(page
        .body
        .contains(&format!("export AWS_ACCESS_KEY_ID={}", creds.0)));
    assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
    assert_eq!(page.header("x-frame-options").as_deref(), Some("DENY"));

    // The token is single use.
    let again = b.login(&token, LANDING).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.data_code().as_deref(), Some("signin_token"));

    // Sign-out needs the form's CSRF token.
    let forged = b.post("/console/signout", Some(&cookie), "csrf=nope").await;
    assert_eq!(forged.status, 403);
    assert_eq!(forged.data_code().as_deref(), Some("csrf"));
    let csrf = page.hidden("csrf").unwrap();
    let out = b
        .post("/console/signout", Some(&cookie), &format!("csrf={csrf}"))
        .await;
    assert_eq!(out.status, 303, "{out:?}");
    assert!(out.cookie("idb_console").unwrap().1.contains("Max-Age=0"));
    // The old cookie (the back button, a copied cookie) shows the signed-out page...
    let after = b.get("/console", Some(&cookie)).await;
    assert_eq!(after.status, 200);
    assert!(after.body.contains("id=\"signed-out\""), "{}", after.body);
    assert!(!after.body.contains(&creds.0));
    // ...and the credentials were revoked with the session.
    let e = sdk_with_keys(&b.url, &creds.0, &creds.1, Some(creds.2.clone()), b.now())
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert!(
        ["InvalidClientTokenId", "ExpiredToken"].contains(&sdk_code(&e).as_str()),
        "{}",
        sdk_code(&e)
    );
}

#[actix_web::test]
async fn console_session_ends_with_session_duration() {
    let b = Broker::start().await;
    let creds = b.role_creds().await;
    let cookie = b.console_cookie(&creds, "&SessionDuration=900").await;
    assert!(b
        .get("/console", Some(&cookie))
        .await
        .body
        .contains("id=\"landing\""));
    b.clock.advance(Duration::from_secs(901));
    let page = b.get("/console", Some(&cookie)).await;
    assert!(page.body.contains("id=\"signed-out\""));
    // The issuer link of a federation login is offered to go back.
    assert!(page.body.contains("https://portal.example.com/"));
}

#[actix_web::test]
async fn signin_tokens_are_refused_when_wrong() {
    let b = Broker::start().await;
    let creds = b.role_creds().await;

    // Wrong secret, wrong token, unknown key, not JSON, bad duration.
    let mut wrong = creds.clone();
    wrong.1.push('x');
    assert_eq!(b.signin_token(&wrong, "").await.status, 400);
    let mut wrong = creds.clone();
    wrong.2.push('x');
    assert_eq!(b.signin_token(&wrong, "").await.status, 400);
    let mut wrong = creds.clone();
    wrong.0 = "ASIAAAAAAAAAAAAAAAAA".into();
    assert_eq!(b.signin_token(&wrong, "").await.status, 400);
    let r = b
        .get("/federation?Action=getSigninToken&Session=notjson", None)
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("bad_request"));
    assert_eq!(
        b.signin_token(&creds, "&SessionDuration=60").await.status,
        400
    );
    let r = b.get("/federation?Action=nope", None).await;
    assert_eq!(r.status, 400);

    // GetSessionToken credentials are a user's, not a role session's.
    let user = sdk_with_keys(&b.url, KEY, SECRET, None, b.now())
        .get_session_token()
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let r = b
        .signin_token(
            &(
                user.access_key_id,
                user.secret_access_key,
                user.session_token,
            ),
            "",
        )
        .await;
    assert_eq!(r.status, 400, "{r:?}");

    // A destination outside the allowed origins: an error page, no redirect, token unused.
    let token = token_of(&b.signin_token(&creds, "").await);
    for evil in [
        "https://evil.example/",
        "//evil.example/",
        "javascript:alert(1)",
        "http://127.0.0.1:8080.evil.example/",
    ] {
        let r = b.login(&token, evil).await;
        assert_eq!(r.status, 400, "{evil}");
        assert_eq!(r.data_code().as_deref(), Some("destination"), "{evil}");
        assert!(r.header("location").is_none());
        assert!(r.cookie("idb_console").is_none());
    }
    // A changed token is refused.
    let mut changed = token.clone();
    changed.replace_range(..1, if token.starts_with('A') { "B" } else { "A" });
    assert_eq!(
        b.login(&changed, LANDING).await.data_code().as_deref(),
        Some("signin_token")
    );
    // The sign-in URL is valid for 15 minutes.
    b.clock.advance(Duration::from_secs(901));
    let r = b.login(&token, LANDING).await;
    assert_eq!(r.data_code().as_deref(), Some("signin_token"));
}

#[actix_web::test]
async fn console_pages_without_state() {
    let b = Broker::start().await;
    let r = b.get("/console", None).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("id=\"signed-out\""));
    let r = b.get("/console/roles", None).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.data_code().as_deref(), Some("csrf"));
    assert!(r.body.contains("id=\"request-id\""));
    let r = b
        .post("/console/roles", Some("idb_pick=forged"), "role=x&csrf=y")
        .await;
    assert_eq!(r.data_code().as_deref(), Some("csrf"));
    let r = b.post("/saml/acs", None, "RelayState=x").await;
    assert_eq!(r.data_code().as_deref(), Some("bad_request"));
    let r = b
        .post("/saml/acs", None, "SAMLResponse=PHg%2BPC94Pg%3D%3D")
        .await;
    assert_eq!(r.data_code().as_deref(), Some("invalid_identity"));
    let r = b.get("/console/oidc/callback?code=x&state=y", None).await;
    assert_eq!(r.data_code().as_deref(), Some("csrf"));
    let r = b.get("/console/saml/login?provider=Nope", None).await;
    assert_eq!(r.data_code().as_deref(), Some("bad_request"));
    let r = b.get("/console/signin", None).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("id=\"signin\""));
    let css = b.get("/console/static/console.css", None).await;
    assert_eq!(css.status, 200);
}

#[actix_web::test]
async fn oidc_callback_errors() {
    use idbroker::console::oidc_login::LoginState;
    use idbroker::console::seal::Purpose;
    let b = Broker::start().await;
    let now = idbroker::clock::epoch(b.now());
    let login = |exp: u64| LoginState {
        provider: "corp".into(),
        state: "st4te".into(),
        nonce: "n".into(),
        verifier: "v".into(),
        exp,
        to: None,
    };
    let cookie = format!(
        "idb_oidc={}",
        b.sealer
            .seal(Purpose::OidcLogin, &login(now + 600))
            .unwrap()
    );
    // The IdP says no: its error is shown (escaped), as the IdP's.
    let r = b
        .get(
            "/console/oidc/callback?state=st4te&error=access_denied&error_description=%3Cb%3Ecancelled%3C%2Fb%3E",
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, 502);
    assert_eq!(r.data_code().as_deref(), Some("idp_error"));
    // The login state is spent, whatever the outcome.
    assert!(r.cookie("idb_oidc").unwrap().1.contains("Max-Age=0"));
    assert!(
        r.body
            .contains("access_denied: &#60;b&#62;cancelled&#60;/b&#62;"),
        "{}",
        r.body
    );
    // Another state (CSRF, or another tab's login), an expired login, a cookie for another purpose.
    let r = b
        .get("/console/oidc/callback?state=other&code=c", Some(&cookie))
        .await;
    assert_eq!(r.data_code().as_deref(), Some("csrf"));
    let old = format!(
        "idb_oidc={}",
        b.sealer.seal(Purpose::OidcLogin, &login(now)).unwrap()
    );
    let r = b
        .get("/console/oidc/callback?state=st4te&code=c", Some(&old))
        .await;
    assert_eq!(r.data_code().as_deref(), Some("csrf"));
    let wrong = format!(
        "idb_oidc={}",
        b.sealer.seal(Purpose::Pick, &login(now + 600)).unwrap()
    );
    let r = b
        .get("/console/oidc/callback?state=st4te&code=c", Some(&wrong))
        .await;
    assert_eq!(r.data_code().as_deref(), Some("csrf"));
    // Unknown provider for login.
    let r = b.get("/console/oidc/login?provider=nope", None).await;
    assert_eq!(r.data_code().as_deref(), Some("bad_request"));
}

#[actix_web::test]
async fn the_console_fails_closed_while_the_store_is_down() {
    let mut redis = common::RedisServer::start();
    let mut cfg = common::demo();
    cfg.store = idbroker::config::StoreConfig::Redis {
        url: redis.url(),
        prefix: "console-outage:".into(),
    };
    let b = Broker::with(cfg).await;
    let creds = b.role_creds().await;
    let cookie = b.console_cookie(&creds, "").await;
    let page = b.get("/console", Some(&cookie)).await;
    assert!(page.body.contains("id=\"landing\""));
    let csrf = page.hidden("csrf").unwrap();

    redis.kill().unwrap();
    redis.wait().unwrap();
    // No credentials shown, no "signed out" pretended, the cookie kept.
    let down = b.get("/console", Some(&cookie)).await;
    assert_eq!(down.status, 503, "{down:?}");
    assert_eq!(down.data_code().as_deref(), Some("unavailable"));
    assert!(!down.body.contains(&creds.1) && down.cookie("idb_console").is_none());
    let r = b.signin_token(&creds, "").await;
    assert_eq!(r.status, 503);
    assert!(r.body.contains("unavailable") && !r.body.contains("SigninToken"));
    let fresh = b.login(&token_of_unused(&b), LANDING).await;
    assert_eq!(
        fresh.status, 503,
        "a token cannot be spent without the store"
    );
    // Sign-out cannot revoke: it says so instead of clearing the cookie of a live session.
    let out = b
        .post("/console/signout", Some(&cookie), &format!("csrf={csrf}"))
        .await;
    assert_eq!(out.status, 503);
    assert!(out.cookie("idb_console").is_none());

    redis.restart();
    let waiting = Stopwatch::start();
    loop {
        // The new redis-server starts empty: the old session is gone, so the page (served
        // again) says signed out; then a whole new sign-in works.
        let page = b.get("/console", Some(&cookie)).await;
        if page.status == 200 {
            assert!(page.body.contains("id=\"signed-out\""), "{page:?}");
            break;
        }
        assert!(
            waiting.elapsed() < Duration::from_secs(10),
            "no recovery: {page:?}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let creds = b.role_creds().await;
    let cookie = b.console_cookie(&creds, "").await;
    assert!(b
        .get("/console", Some(&cookie))
        .await
        .body
        .contains(&creds.0));
    redis.kill().unwrap();
    redis.wait().unwrap();
}

/// A well-formed sign-in token that was never issued (sealed with the server's key), so that
/// only the store decides.
fn token_of_unused(b: &Broker) -> String {
    let t = idbroker::console::SigninToken {
        id: "0123456789abcdef0123456789abcdef".into(),
        iat: idbroker::clock::epoch(b.now()),
        akid: "ASIAAAAAAAAAAAAAAAAA".into(),
        token: "t".into(),
        exp: idbroker::clock::epoch(b.now()) + 900,
    };
    b.sealer
        .seal(idbroker::console::seal::Purpose::SigninToken, &t)
        .unwrap()
}

mod switch_store;
use idbroker_session::SessionStore as _;
use switch_store::{Op, SwitchStore};

/// The demo broker, its store able to fail (and to hand out expired sessions).
async fn broker_with_switch() -> (Broker, Arc<SwitchStore>) {
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let mut state = idbroker::build_state(common::demo(), clock.clone())
        .await
        .unwrap();
    let store = SwitchStore::new(state.store.clone());
    state.store = store.clone();
    let sealer = state.config.console.sealer.clone();
    let url = common::start(state).await;
    (Broker { url, clock, sealer }, store)
}

/// getSigninToken's JSON error: (status, code, message).
fn signin_error(r: &Response) -> (u16, String, String) {
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    (
        r.status,
        v["Error"]["Code"].as_str().unwrap_or_default().to_owned(),
        v["Error"]["Message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Expired or revoked credentials get no sign-in token, whatever the store hands out: a
/// session past its expiry (also from a store that still returns it), a session revoked by a
/// mark on its role (the store returns it: only the mark says no), a session revoked alone.
/// The revocation marks unreadable: 503, no token. Mutations tried: `session.is_expired(now) ||`
/// removed from console::check_credentials; its `Ok(true) => return Err(bad())` made `{}`.
#[actix_web::test]
async fn expired_or_revoked_credentials_get_no_signin_token() {
    let (b, store) = broker_with_switch().await;
    let invalid = (
        400,
        "signin_token".to_owned(),
        "The session credentials are not valid".to_owned(),
    );

    // Expired.
    let creds = b.role_creds().await;
    assert_eq!(b.signin_token(&creds, "").await.status, 200, "control");
    b.clock.advance(Duration::from_secs(3601));
    assert_eq!(signin_error(&b.signin_token(&creds, "").await), invalid);
    store.ignore_expiry(true);
    assert_eq!(
        signin_error(&b.signin_token(&creds, "").await),
        invalid,
        "an expired session the store still returns"
    );
    store.ignore_expiry(false);

    // Revoked by a mark on its role.
    let creds = b.role_creds().await;
    assert_eq!(b.signin_token(&creds, "").await.status, 200, "control");
    let now = idbroker::clock::epoch(b.now());
    store
        .set_revoked_before(
            &idbroker_session::RevocationScope::Role(READER.into()),
            now,
            129_600,
        )
        .await
        .unwrap();
    assert_eq!(signin_error(&b.signin_token(&creds, "").await), invalid);

    // Revoked alone; and the marks unreadable.
    b.clock.advance(Duration::from_secs(1));
    let creds = b.role_creds().await;
    let other = b.role_creds().await;
    assert_eq!(b.signin_token(&creds, "").await.status, 200, "control");
    store
        .revoke(&idbroker_session::AccessKeyId::parse(&creds.0).unwrap())
        .await
        .unwrap();
    assert_eq!(signin_error(&b.signin_token(&creds, "").await), invalid);
    store.set(&[Op::RevokedBefore], true);
    let r = b.signin_token(&other, "").await;
    assert_eq!(signin_error(&r).0, 503, "{r:?}");
    assert!(!r.body.contains("SigninToken"));
    store.heal();
    assert_eq!(b.signin_token(&other, "").await.status, 200);
}

/// A stand-in OpenID Provider on loopback for the console's authorization code flow:
/// discovery, its JWKS, and a token endpoint answering whatever ID token the test set.
struct FakeOp {
    issuer: String,
    id_token: Arc<std::sync::Mutex<String>>,
}

fn fake_op(jwks: String) -> FakeOp {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let id_token = Arc::new(std::sync::Mutex::new(String::new()));
    let discovery = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    })
    .to_string();
    let token = id_token.clone();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            let head_end = loop {
                if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break req.len(),
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            };
            let head = String::from_utf8_lossy(&req[..head_end]).to_string();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            while req.len() < head_end + length {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let body = match path.as_str() {
                "/.well-known/openid-configuration" => discovery.clone(),
                "/jwks" => jwks.clone(),
                "/token" => serde_json::json!({
                    "access_token": "at", "token_type": "Bearer", "expires_in": 300,
                    "id_token": token.lock().unwrap().clone(),
                })
                .to_string(),
                _ => String::new(),
            };
            let status = if body.is_empty() {
                "404 Not Found"
            } else {
                "200 OK"
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    FakeOp { issuer, id_token }
}

/// An ID token whose nonce is not the one this sign-in sent (another sign-in's, a made-up one,
/// none) signs nobody in: invalid_identity, saying why, no console cookie; the token with the
/// right nonce signs in. Mutation tried: the nonce comparison removed from the OIDC callback.
#[actix_web::test]
async fn an_id_token_with_another_nonce_signs_nobody_in() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // An RSA key of the OP's, as a JWK, and its private key to sign ID tokens.
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    let b64 = |b: &[u8]| data_encoding::BASE64URL_NOPAD.encode(b);
    let jwks = serde_json::json!({"keys": [{"kty": "RSA", "kid": "op-1", "alg": "RS256",
        "use": "sig", "n": b64(&rsa.n().to_vec()), "e": b64(&rsa.e().to_vec())}]})
    .to_string();
    let signer =
        jsonwebtoken::EncodingKey::from_rsa_pem(&rsa.private_key_to_pem().unwrap()).unwrap();
    let op = fake_op(jwks.clone());
    let iss = op.issuer.clone();
    let host_path = iss.trim_start_matches("http://").to_owned();
    let mut key = [0u8; 32];
    key[0] = 1;
    let text = format!(
        r#"account_id = "111122223333"
[store]
kind = "memory"
[[oidc_providers]]
issuer = "{iss}"
client_ids = ["idbroker-console"]
allow_http_loopback = true
jwks_inline = '{jwks}'
[oidc_providers.login]
name = "corp"
client_id = "idbroker-console"
[console]
public_url = "http://127.0.0.1:8080"
cookie_key = {{ value = "{key}" }}
[[roles]]
name = "ReadOnly"
path = "/console/"
trust_policy = '{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::111122223333:oidc-provider/{host_path}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"{host_path}:aud":"idbroker-console"}}}}}}]}}'
"#,
        key = data_encoding::BASE64.encode(&key),
    );
    let file =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/console-nonce.toml");
    let config =
        idbroker::config::Config::from_toml(&text, &file, &|_| None, SystemClock.now()).unwrap();
    let b = Broker::with(config).await;

    // A sign-in started: its state and nonce are in the authorization URL.
    let start = || async {
        let r = b.get("/console/oidc/login?provider=corp", None).await;
        assert_eq!(r.status, 302, "{r:?}");
        let url = r.header("location").unwrap();
        let query: std::collections::HashMap<String, String> =
            form_urlencoded::parse(url.split_once('?').unwrap().1.as_bytes())
                .into_owned()
                .collect();
        let cookie = r.cookie("idb_oidc").unwrap().0;
        (query["state"].clone(), query["nonce"].clone(), cookie)
    };
    let id_token = |nonce: Option<&str>| {
        let t = idbroker::clock::epoch(b.now());
        let mut c = serde_json::json!({"iss": iss, "sub": "alice", "aud": "idbroker-console",
            "iat": t, "exp": t + 300});
        if let Some(n) = nonce {
            c["nonce"] = serde_json::json!(n);
        }
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        h.kid = Some("op-1".into());
        jsonwebtoken::encode(&h, &c, &signer).unwrap()
    };
    let b = &b;
    let callback = |state: String, cookie: String| async move {
        b.get(
            &format!("/console/oidc/callback?code=c0de&state={}", enc(&state)),
            Some(&cookie),
        )
        .await
    };

    let (state_a, nonce_a, cookie_a) = start().await;
    let (_, nonce_b, _) = start().await;
    assert_ne!(nonce_a, nonce_b);
    for (what, nonce) in [
        ("another sign-in's nonce", Some(nonce_b.as_str())),
        ("a made-up nonce", Some("not-the-nonce")),
        ("no nonce", None),
        ("the nonce with a suffix", Some(&*format!("{nonce_a}x"))),
    ] {
        *op.id_token.lock().unwrap() = id_token(nonce);
        let r = callback(state_a.clone(), cookie_a.clone()).await;
        assert_eq!(r.status, 400, "{what}: {r:?}");
        assert_eq!(r.data_code().as_deref(), Some("invalid_identity"), "{what}");
        assert!(
            r.body
                .contains("The ID token does not answer this sign-in (nonce)"),
            "{what}: {}",
            r.body
        );
        assert!(r.cookie("idb_console").is_none(), "{what}");
    }
    // Control: the nonce of this sign-in.
    *op.id_token.lock().unwrap() = id_token(Some(&nonce_a));
    let r = callback(state_a, cookie_a).await;
    assert_eq!(r.status, 303, "{r:?}");
    assert!(r.cookie("idb_console").is_some(), "{r:?}");
}
