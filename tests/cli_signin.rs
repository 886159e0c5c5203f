//! Command-line sign-in, server side, over HTTP against the demo configuration (its SAML
//! provider, responses signed with the development key): the loopback flow (start, the ACS
//! sending the browser to the CLI's loopback redirect with a one-time code, the code exchange
//! with the PKCE verifier, the role's credentials, which then sign STS calls), the device flow
//! (authorize, the code entry page and its CSRF cookie, the sign-in, polling with `slow_down`
//! and the ticket), and what is refused: a non-loopback redirect URI, a wrong PKCE verifier, a
//! replayed code or ticket, a flow named by a sign-in of another browser, a code entered twice.
//! The browser and the real CLI end to end are tests/cli_login_e2e.rs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{raw_http, start, DEMO_SAML_PROVIDER, DEMO_SAML_ROLE};
use idbroker::clock::{Clock, ManualClock, SystemClock};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "http://127.0.0.1:43123/idbroker/callback";

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn request(url: &str, method: &str, path: &str, cookie: &str, body: &str) -> String {
    raw_http(
        url,
        format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await
}

fn header(answer: &str, name: &str) -> Option<String> {
    let head = answer.split("\r\n\r\n").next()?;
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

fn cookie(answer: &str, name: &str) -> Option<String> {
    let head = answer.split("\r\n\r\n").next()?;
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        let pair = v.trim().split(';').next()?;
        (k.eq_ignore_ascii_case("set-cookie")
            && pair.starts_with(&format!("{name}="))
            && pair.len() > name.len() + 1)
            .then(|| pair.to_owned())
    })
}

fn body_json(answer: &str) -> serde_json::Value {
    let body = answer.split("\r\n\r\n").nth(1).unwrap();
    // Chunked or not: the JSON object is between the first '{' and the last '}'.
    let (a, b) = (body.find('{').unwrap(), body.rfind('}').unwrap());
    serde_json::from_str(&body[a..=b]).unwrap()
}

fn param(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn hidden<'a>(answer: &'a str, name: &str) -> &'a str {
    let marker = format!("name=\"{name}\" value=\"");
    let at = answer.find(&marker).unwrap() + marker.len();
    &answer[at..at + answer[at..].find('"').unwrap()]
}

/// The `href` of the link with id `id`.
fn hidden_href<'a>(answer: &'a str, id: &str) -> &'a str {
    let at = answer.find(&format!("id=\"{id}\" href=\"")).unwrap();
    let rest = &answer[at..];
    let start = rest.find("href=\"").unwrap() + 6;
    &rest[start..start + rest[start..].find('"').unwrap()]
}

/// A genuine response of the demo IdP for `user`, base64.
fn demo_response(user: &str, now: SystemTime) -> String {
    let read = |p: &str| std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(p)).unwrap();
    let cfg = common::demo();
    let p = cfg.saml.provider(DEMO_SAML_PROVIDER).unwrap();
    idbroker::federation::saml::dev::demo_response(
        &cfg.saml,
        p,
        &read("certs/demo/saml-idp.key"),
        &read("certs/demo/saml-idp.crt"),
        DEMO_SAML_ROLE,
        user,
        now,
    )
    .unwrap()
}

/// The ACS, posted by a browser holding `cookie`, with RelayState `relay`.
async fn acs(url: &str, cookie: &str, relay: &str, user: &str, now: SystemTime) -> String {
    request(
        url,
        "POST",
        "/saml/acs",
        cookie,
        &format!(
            "SAMLResponse={}&RelayState={}",
            enc(&demo_response(user, now)),
            enc(relay)
        ),
    )
    .await
}

async fn demo_server() -> (String, Arc<ManualClock>) {
    let now = SystemClock.now();
    let clock = Arc::new(ManualClock::new(now));
    let state = idbroker::build_state(common::demo(), clock.clone())
        .await
        .unwrap();
    (start(state).await, clock)
}

fn start_path(redirect: &str, challenge: &str) -> String {
    format!(
        "/console/cli/start?provider=DemoIdP&redirect_uri={}&state=st4te-0123456789&code_challenge={}&code_challenge_method=S256&duration_seconds=1800",
        enc(redirect),
        enc(challenge)
    )
}

/// Start a loopback flow: the browser's `idb_cli` cookie and the RelayState the IdP gets.
async fn started(url: &str) -> (String, String) {
    let a = request(url, "GET", &start_path(REDIRECT, CHALLENGE), "", "").await;
    assert!(a.starts_with("HTTP/1.1 302"), "{a}");
    let to = header(&a, "location").unwrap();
    assert!(
        to.contains("SAMLRequest="),
        "to the IdP's sign-in, SP-initiated: {to}"
    );
    let relay = param(&to, "RelayState").unwrap();
    assert!(relay.starts_with("cli:"), "{relay}");
    (cookie(&a, "idb_cli").unwrap(), relay)
}

async fn token(url: &str, body: &str) -> (u16, serde_json::Value) {
    let a = request(url, "POST", "/console/cli/token", "", body).await;
    let status: u16 = a[9..12].parse().unwrap();
    assert_eq!(
        header(&a, "cache-control").as_deref(),
        Some("no-store"),
        "{a}"
    );
    (status, body_json(&a))
}

async fn credentials(url: &str, ticket: &str, role: &str) -> (u16, serde_json::Value) {
    let a = request(
        url,
        "POST",
        "/console/cli/credentials",
        "",
        &format!("ticket={}&role_arn={}", enc(ticket), enc(role)),
    )
    .await;
    (a[9..12].parse().unwrap(), body_json(&a))
}

#[actix_web::test]
async fn loopback_flow_code_exchange_and_credentials() {
    let (url, clock) = demo_server().await;
    let (flow_cookie, relay) = started(&url).await;

    // The IdP answers; the browser (holding the flow's cookie) posts to the ACS and is sent to
    // the CLI's loopback listener with a code and the state, the flow's cookie cleared.
    let a = acs(&url, &flow_cookie, &relay, "alice@example.com", clock.now()).await;
    assert!(a.starts_with("HTTP/1.1 303"), "{a}");
    let to = header(&a, "location").unwrap();
    assert!(to.starts_with(&format!("{REDIRECT}?code=")), "{to}");
    assert_eq!(param(&to, "state").as_deref(), Some("st4te-0123456789"));
    assert!(cookie(&a, "idb_console").is_none(), "no console session");
    let code = param(&to, "code").unwrap();

    // A wrong verifier, another redirect URI: refused, and the code still good.
    let wrong = "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let (s, j) = token(
        &url,
        &format!(
            "grant_type=authorization_code&code={}&code_verifier={wrong}&redirect_uri={}",
            enc(&code),
            enc(REDIRECT)
        ),
    )
    .await;
    assert_eq!(
        (s, j["error"].as_str()),
        (400, Some("invalid_grant")),
        "{j}"
    );
    let (s, j) = token(
        &url,
        &format!(
            "grant_type=authorization_code&code={}&code_verifier={VERIFIER}&redirect_uri={}",
            enc(&code),
            enc("http://127.0.0.1:43124/idbroker/callback")
        ),
    )
    .await;
    assert_eq!(
        (s, j["error"].as_str()),
        (400, Some("invalid_grant")),
        "{j}"
    );
    let exchange = format!(
        "grant_type=authorization_code&code={}&code_verifier={VERIFIER}&redirect_uri={}",
        enc(&code),
        enc(REDIRECT)
    );
    let (s, j) = token(&url, &exchange).await;
    assert_eq!(s, 200, "{j}");
    assert_eq!(j["provider"], DEMO_SAML_PROVIDER);
    assert_eq!(j["subject"], "alice@example.com");
    assert_eq!(j["roles"][0]["role_arn"], DEMO_SAML_ROLE);
    assert_eq!(j["roles"][0]["duration_seconds"], 1800, "{j}");
    let ticket = j["ticket"].as_str().unwrap().to_owned();
    // The code once only.
    let (s, j) = token(&url, &exchange).await;
    assert_eq!(
        (s, j["error"].as_str()),
        (400, Some("invalid_grant")),
        "{j}"
    );

    // A role the ticket does not name; then the right one, once.
    let (s, j) = credentials(&url, &ticket, "arn:aws:iam::123456789012:role/demo/Admin").await;
    assert_eq!(
        (s, j["error"].as_str()),
        (403, Some("access_denied")),
        "{j}"
    );
    let (s, c) = credentials(&url, &ticket, DEMO_SAML_ROLE).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["Version"], 1);
    assert!(c["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert_eq!(
        c["AssumedRoleArn"],
        "arn:aws:sts::123456789012:assumed-role/SamlDeveloper/alice@example.com"
    );
    let (s, j) = credentials(&url, &ticket, DEMO_SAML_ROLE).await;
    assert_eq!(
        (s, j["error"].as_str()),
        (400, Some("invalid_grant")),
        "{j}"
    );

    // The credentials sign STS calls, for 30 minutes.
    let sts = common::sdk_with_keys(
        &url,
        c["AccessKeyId"].as_str().unwrap(),
        c["SecretAccessKey"].as_str().unwrap(),
        Some(c["SessionToken"].as_str().unwrap().to_owned()),
        clock.now(),
    );
    let me = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(
        me.arn(),
        Some("arn:aws:sts::123456789012:assumed-role/SamlDeveloper/alice@example.com")
    );
    let exp = c["Expiration"].as_str().unwrap();
    let expected = idbroker::clock::iso8601(clock.now() + Duration::from_secs(1800));
    assert_eq!(exp, expected);

    // A ticket or code expires: a minute for the code, five for the ticket.
    let (flow_cookie, relay) = started(&url).await;
    let a = acs(&url, &flow_cookie, &relay, "bob@example.com", clock.now()).await;
    let code = param(&header(&a, "location").unwrap(), "code").unwrap();
    clock.advance(Duration::from_secs(61));
    let (s, j) = token(
        &url,
        &format!(
            "grant_type=authorization_code&code={}&code_verifier={VERIFIER}&redirect_uri={}",
            enc(&code),
            enc(REDIRECT)
        ),
    )
    .await;
    assert_eq!(
        (s, j["error"].as_str()),
        (400, Some("invalid_grant")),
        "{j}"
    );
}

#[actix_web::test]
async fn what_the_loopback_flow_refuses() {
    let (url, clock) = demo_server().await;
    // Redirect URIs that are not the loopback literal with a port: an error page, no redirect,
    // no cookie.
    for bad in [
        "http://evil.example:8080/cb",
        "http://localhost:8080/cb",
        "https://127.0.0.1:8080/cb",
        "http://127.0.0.1:8080@evil.example/cb",
        "http://127.0.0.1:8080/cb?x=https://evil.example",
    ] {
        let a = request(&url, "GET", &start_path(bad, CHALLENGE), "", "").await;
        assert!(a.starts_with("HTTP/1.1 400"), "{bad}: {a}");
        assert!(header(&a, "location").is_none(), "{bad}");
        assert!(cookie(&a, "idb_cli").is_none(), "{bad}");
    }
    // plain PKCE, or none.
    let plain = start_path(REDIRECT, CHALLENGE).replace("S256", "plain");
    let a = request(&url, "GET", &plain, "", "").await;
    assert!(a.starts_with("HTTP/1.1 400"), "{a}");
    let none = start_path(REDIRECT, "");
    let a = request(&url, "GET", &none, "", "").await;
    assert!(a.starts_with("HTTP/1.1 400"), "{a}");

    // A sign-in naming a flow this browser does not hold (another browser's RelayState, or
    // none held): an error page, nothing sent anywhere.
    let (_theirs, relay) = started(&url).await;
    let (mine, _) = started(&url).await;
    let a = acs(&url, &mine, &relay, "alice@example.com", clock.now()).await;
    assert!(a.starts_with("HTTP/1.1 403"), "{a}");
    assert!(header(&a, "location").is_none());
    let a = acs(&url, "", &relay, "alice@example.com", clock.now()).await;
    assert!(a.starts_with("HTTP/1.1 403"), "{a}");

    // An IdP-initiated sign-in in a browser holding a flow cookie is a console sign-in as
    // ever (the flow is only taken when the sign-in names it).
    let a = acs(&url, &mine, "", "alice@example.com", clock.now()).await;
    assert!(a.starts_with("HTTP/1.1 303"), "{a}");
    assert!(cookie(&a, "idb_console").is_some(), "{a}");

    // Unknown grant types and garbage codes.
    let (s, j) = token(&url, "grant_type=password&username=a&password=b").await;
    assert_eq!(
        (s, j["error"].as_str()),
        (400, Some("unsupported_grant_type")),
        "{j}"
    );
    let (s, j) = token(
        &url,
        &format!(
            "grant_type=authorization_code&code=abc&code_verifier={VERIFIER}&redirect_uri={}",
            enc(REDIRECT)
        ),
    )
    .await;
    assert_eq!(
        (s, j["error"].as_str()),
        (400, Some("invalid_grant")),
        "{j}"
    );
    let (s, j) = token(&url, "grant_type=authorization_code").await;
    assert_eq!(
        (s, j["error"].as_str()),
        (400, Some("invalid_request")),
        "{j}"
    );
}

#[actix_web::test]
async fn device_flow() {
    let (url, clock) = demo_server().await;
    let a = request(
        &url,
        "POST",
        "/console/device/authorize",
        "",
        "provider=DemoIdP",
    )
    .await;
    assert!(a.starts_with("HTTP/1.1 200"), "{a}");
    let auth = body_json(&a);
    let device_code = auth["device_code"].as_str().unwrap().to_owned();
    let user_code = auth["user_code"].as_str().unwrap().to_owned();
    assert_eq!(auth["interval"], 5);
    assert_eq!(auth["expires_in"], 600);
    let complete = auth["verification_uri_complete"].as_str().unwrap();
    assert!(complete.ends_with(&format!("/console/device?user_code={user_code}")));
    let poll = format!(
        "grant_type={}&device_code={}",
        enc("urn:ietf:params:oauth:grant-type:device_code"),
        enc(&device_code)
    );

    // Pending; polling again within the interval is slow_down.
    let (s, j) = token(&url, &poll).await;
    assert_eq!(
        (s, j["error"].as_str()),
        (400, Some("authorization_pending")),
        "{j}"
    );
    let (s, j) = token(&url, &poll).await;
    assert_eq!((s, j["error"].as_str()), (400, Some("slow_down")), "{j}");

    // The entry page, prefilled; its form needs the CSRF cookie it set.
    let page = request(
        &url,
        "GET",
        &format!("/console/device?user_code={user_code}"),
        "",
        "",
    )
    .await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains(&format!("value=\"{user_code}\"")), "{page}");
    let form_cookie = cookie(&page, "idb_device").unwrap();
    let csrf = hidden(&page, "csrf").to_owned();
    let a = request(
        &url,
        "POST",
        "/console/device",
        "",
        &format!("csrf={csrf}&user_code={user_code}"),
    )
    .await;
    assert!(a.starts_with("HTTP/1.1 403"), "no CSRF cookie: {a}");
    let a = request(
        &url,
        "POST",
        "/console/device",
        &form_cookie,
        &format!("csrf=x{csrf}&user_code={user_code}"),
    )
    .await;
    assert!(a.starts_with("HTTP/1.1 403"), "wrong CSRF token: {a}");
    let a = request(
        &url,
        "POST",
        "/console/device",
        &form_cookie,
        &format!("csrf={csrf}&user_code=BBBB-BBBB"),
    )
    .await;
    assert!(a.starts_with("HTTP/1.1 400"), "unknown code: {a}");

    // The right code (typed in lower case): on to the IdP, the flow in this browser.
    let a = request(
        &url,
        "POST",
        "/console/device",
        &form_cookie,
        &format!("csrf={csrf}&user_code={}", user_code.to_lowercase()),
    )
    .await;
    assert!(a.starts_with("HTTP/1.1 200"), "{a}");
    assert!(a.contains(&user_code), "{a}");
    let link = hidden_href(&a, "signin")
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    let relay = param(&link, "RelayState").unwrap();
    let flow_cookie = cookie(&a, "idb_cli").unwrap();
    assert!(
        cookie(&a, "idb_device").is_none(),
        "the form's cookie is cleared"
    );
    // Entered once only (another browser, same code).
    let a = request(
        &url,
        "POST",
        "/console/device",
        &form_cookie,
        &format!("csrf={csrf}&user_code={user_code}"),
    )
    .await;
    assert!(a.starts_with("HTTP/1.1 400"), "{a}");

    // The sign-in: the browser is told the device is signed in; the device's next poll gets
    // the ticket, once.
    let a = acs(&url, &flow_cookie, &relay, "carol@example.com", clock.now()).await;
    assert!(a.starts_with("HTTP/1.1 200"), "{a}");
    assert!(a.contains(&user_code), "{a}");
    assert!(cookie(&a, "idb_console").is_none());
    clock.advance(Duration::from_secs(5));
    let (s, j) = token(&url, &poll).await;
    assert_eq!(s, 200, "{j}");
    assert_eq!(j["subject"], "carol@example.com");
    let ticket = j["ticket"].as_str().unwrap().to_owned();
    clock.advance(Duration::from_secs(5));
    let (s, j) = token(&url, &poll).await;
    assert_eq!(
        (s, j["error"].as_str()),
        (400, Some("authorization_pending")),
        "{j}"
    );
    let (s, c) = credentials(&url, &ticket, DEMO_SAML_ROLE).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(
        c["AssumedRoleArn"],
        "arn:aws:sts::123456789012:assumed-role/SamlDeveloper/carol@example.com"
    );

    // Ten minutes on, the device code has expired.
    clock.advance(Duration::from_secs(600));
    let (s, j) = token(&url, &poll).await;
    assert_eq!(
        (s, j["error"].as_str()),
        (400, Some("expired_token")),
        "{j}"
    );
}
