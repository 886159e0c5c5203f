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
use idbroker::clock::{Clock, ManualClock};

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
        let clock = Arc::new(ManualClock::new(SystemTime::now()));
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
    let now = idbroker::state::epoch(b.now());
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
    let port = common::free_port();
    let mut redis = common::redis_server(port);
    let mut cfg = common::demo();
    cfg.store = idbroker::config::StoreConfig::Redis {
        url: format!("redis://127.0.0.1:{port}"),
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

    let mut redis = common::redis_server(port);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        // The new redis-server starts empty: the old session is gone, so the page (served
        // again) says signed out; then a whole new sign-in works.
        let page = b.get("/console", Some(&cookie)).await;
        if page.status == 200 {
            assert!(page.body.contains("id=\"signed-out\""), "{page:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
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
        iat: idbroker::state::epoch(b.now()),
        akid: "ASIAAAAAAAAAAAAAAAAA".into(),
        token: "t".into(),
        exp: idbroker::state::epoch(b.now()) + 900,
    };
    b.sealer
        .seal(idbroker::console::seal::Purpose::SigninToken, &t)
        .unwrap()
}
