//! `idbroker login` and `idbroker credentials` as processes, against a fake server of the
//! command-line sign-in protocol (`/console/cli/start`, `/console/cli/token`,
//! `/console/device/authorize`, `/console/cli/credentials`) on the loopback. The test plays the
//! browser: it reads the start URL the command prints, GETs it from the fake server, and follows
//! the redirect to the command's loopback listener. Every process gets a temporary HOME,
//! `BROWSER=true` (nothing real is opened), standard input that is not a terminal, and a
//! `--timeout`; every wait here is bounded.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::Mutex;
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use idbroker::clock::{iso8601, Clock, Stopwatch, SystemClock};
use serde_json::{json, Value};
use sha2::Digest;

const READER: &str = "arn:aws:iam::123456789012:role/Reader";
/// Its credentials expire in 10 minutes: inside the 15-minute refresh window.
const SHORT: &str = "arn:aws:iam::123456789012:role/Short";
const PROVIDER_ARN: &str = "arn:aws:iam::123456789012:saml-provider/Corp";

/// A browser sign-in waiting for its code to be exchanged.
struct Pending {
    challenge: String,
    redirect_uri: String,
    provider: Option<String>,
}

/// The fake server's memory.
#[derive(Default)]
struct Fake {
    base: String,
    codes: Mutex<HashMap<String, Pending>>,
    tickets: Mutex<HashMap<String, Vec<&'static str>>>,
    /// Each device code's polls, timed.
    polls: Mutex<HashMap<String, Vec<Duration>>>,
    counter: Mutex<u32>,
    started: Mutex<Option<Stopwatch>>,
}

impl Fake {
    fn next(&self, what: &str) -> String {
        let mut n = self.counter.lock().unwrap();
        *n += 1;
        format!("{what}-{}", *n)
    }

    fn roles(provider: Option<&str>) -> Vec<&'static str> {
        match provider {
            Some("one") => vec![READER],
            _ => vec![READER, SHORT],
        }
    }

    fn ticket(&self, provider: Option<&str>) -> Value {
        let roles = Fake::roles(provider);
        let ticket = self.next("ticket");
        self.tickets
            .lock()
            .unwrap()
            .insert(ticket.clone(), roles.clone());
        json!({
            "ticket": ticket,
            "expires_in": 300,
            "provider": PROVIDER_ARN,
            "subject": "alice@example.com",
            "roles": roles.iter().map(|r| json!({
                "role_arn": r,
                "session_name": "alice@example.com",
                "duration_seconds": 3600,
            })).collect::<Vec<_>>(),
        })
    }
}

fn oauth_error(error: &str, description: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({"error": error, "error_description": description}))
}

fn s256(verifier: &str) -> String {
    data_encoding::BASE64URL_NOPAD.encode(&sha2::Sha256::digest(verifier.as_bytes()))
}

async fn start(fake: web::Data<Fake>, q: web::Query<HashMap<String, String>>) -> HttpResponse {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let redirect_uri = get("redirect_uri");
    let state = get("state");
    let well_formed = get("code_challenge_method") == "S256"
        && get("code_challenge").len() == 43
        && state.len() == 43
        && redirect_uri.starts_with("http://127.0.0.1:")
        && redirect_uri.ends_with("/idbroker/callback");
    if !well_formed {
        return HttpResponse::BadRequest().body("malformed start");
    }
    let provider = q.get("provider").cloned();
    let query = match provider.as_deref() {
        Some("denied") => form(&[
            ("error", "access_denied"),
            ("error_description", "alice may not use the command line"),
            ("state", &state),
        ]),
        Some("badcode") => form(&[("code", "not-a-code"), ("state", &state)]),
        _ => {
            let code = fake.next("code");
            fake.codes.lock().unwrap().insert(
                code.clone(),
                Pending {
                    challenge: get("code_challenge"),
                    redirect_uri: redirect_uri.clone(),
                    provider,
                },
            );
            form(&[("code", &code), ("state", &state)])
        }
    };
    HttpResponse::Found()
        .insert_header(("location", format!("{redirect_uri}?{query}")))
        .finish()
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn token(fake: web::Data<Fake>, f: web::Form<HashMap<String, String>>) -> HttpResponse {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    match get("grant_type").as_str() {
        "authorization_code" => {
            let Some(p) = fake.codes.lock().unwrap().remove(&get("code")) else {
                return oauth_error("invalid_grant", "the code is unknown or was used");
            };
            if s256(&get("code_verifier")) != p.challenge || get("redirect_uri") != p.redirect_uri {
                return oauth_error("invalid_grant", "PKCE or redirect_uri mismatch");
            }
            HttpResponse::Ok().json(fake.ticket(p.provider.as_deref()))
        }
        "urn:ietf:params:oauth:grant-type:device_code" => {
            let elapsed = fake.started.lock().unwrap().unwrap().elapsed();
            let n = {
                let mut polls = fake.polls.lock().unwrap();
                let Some(times) = polls.get_mut(&get("device_code")) else {
                    return oauth_error("invalid_grant", "unknown device code");
                };
                times.push(elapsed);
                times.len()
            };
            match n {
                1 => oauth_error("authorization_pending", "not yet"),
                2 => oauth_error("slow_down", "too fast"),
                _ => HttpResponse::Ok().json(fake.ticket(None)),
            }
        }
        _ => oauth_error("unsupported_grant_type", "no such grant"),
    }
}

async fn device(fake: web::Data<Fake>, f: web::Form<HashMap<String, String>>) -> HttpResponse {
    assert!(f.get("provider").is_none());
    let code = fake.next("device");
    fake.polls.lock().unwrap().insert(code.clone(), Vec::new());
    *fake.started.lock().unwrap() = Some(Stopwatch::start());
    HttpResponse::Ok().json(json!({
        "device_code": code,
        "user_code": "BCDF-GHJK",
        "verification_uri": format!("{}/console/device", fake.base),
        "verification_uri_complete": format!("{}/console/device?user_code=BCDF-GHJK", fake.base),
        "expires_in": 60,
        "interval": 1,
    }))
}

async fn credentials(fake: web::Data<Fake>, f: web::Form<HashMap<String, String>>) -> HttpResponse {
    let role = f.get("role_arn").cloned().unwrap_or_default();
    let granted = fake
        .tickets
        .lock()
        .unwrap()
        .get(f.get("ticket").map(String::as_str).unwrap_or_default())
        .is_some_and(|roles| roles.contains(&role.as_str()));
    if !granted {
        return oauth_error("access_denied", "the ticket does not grant that role");
    }
    let life = if role == SHORT { 600 } else { 3600 };
    let n = fake.next("key");
    HttpResponse::Ok().json(json!({
        "Version": 1,
        "AccessKeyId": format!("ASIAFAKE{:0>12}", n.trim_start_matches("key-")),
        "SecretAccessKey": "fakeSecret/+=0123456789",
        "SessionToken": "ZmFrZSB0b2tlbg==",
        "Expiration": iso8601(SystemClock.now() + Duration::from_secs(life)),
        "AssumedRoleArn": format!(
            "arn:aws:sts::123456789012:assumed-role/{}/alice@example.com",
            role.rsplit('/').next().unwrap()
        ),
    }))
}

/// The fake server on a loopback port of its own: its URL and its memory.
fn fake_server() -> (String, web::Data<Fake>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let fake = web::Data::new(Fake {
        base: base.clone(),
        ..Fake::default()
    });
    let data = fake.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(move || {
                App::new()
                    .app_data(data.clone())
                    .route("/console/cli/start", web::get().to(start))
                    .route("/console/cli/token", web::post().to(token))
                    .route("/console/device/authorize", web::post().to(device))
                    .route("/console/cli/credentials", web::post().to(credentials))
            })
            .workers(1)
            .listen(listener)
            .unwrap()
            .run()
            .await
        })
    });
    (base, fake)
}

/// A fresh HOME.
fn home(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("idbroker-cli-login-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running `idbroker` process.
struct Running {
    lines: Receiver<String>,
    done: Receiver<(ExitStatus, String, String)>,
}

struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

fn idbroker(home: &Path, args: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idbroker"))
        .args(args)
        .env("HOME", home)
        .env("BROWSER", "true")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("AWS_SHARED_CREDENTIALS_FILE")
        .env_remove("AWS_CA_BUNDLE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (line_tx, lines) = mpsc::channel();
    let err = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(err).lines() {
            let line = line.unwrap();
            all.push_str(&line);
            all.push('\n');
            let _ = line_tx.send(line);
        }
        all
    });
    let mut out = child.stdout.take().unwrap();
    let output = std::thread::spawn(move || {
        let mut all = String::new();
        out.read_to_string(&mut all).unwrap();
        all
    });
    let (done_tx, done) = mpsc::channel();
    std::thread::spawn(move || {
        let status = child.wait().unwrap();
        let _ = done_tx.send((status, output.join().unwrap(), errors.join().unwrap()));
    });
    Running { lines, done }
}

impl Running {
    /// The start URL the command printed (on a line of its own).
    fn start_url(&self) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .expect("the command printed no start URL");
            if line.starts_with("http://") && line.contains("/console/cli/start?") {
                return line;
            }
        }
    }

    /// Every line printed until one containing `needle`.
    fn until(&self, needle: &str) -> String {
        let mut seen = String::new();
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("no line with {needle:?} in:\n{seen}"));
            seen.push_str(&line);
            seen.push('\n');
            if line.contains(needle) {
                return seen;
            }
        }
    }

    fn finish(self) -> Finished {
        let (status, stdout, stderr) = self
            .done
            .recv_timeout(Duration::from_secs(90))
            .expect("the command did not end");
        Finished {
            status,
            stdout,
            stderr,
        }
    }
}

/// `idbroker login --endpoint-url URL --timeout 60 EXTRA...`.
fn login(home: &Path, url: &str, extra: &[&str]) -> Running {
    let mut args = vec!["login", "--endpoint-url", url, "--timeout", "60"];
    args.extend_from_slice(extra);
    idbroker(home, &args)
}

/// One GET over a fresh connection: the status and the whole answer.
fn http_get(url: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = std::net::TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    (status, answer)
}

/// What a browser does with the start URL: GET it, follow the redirect to the loopback
/// listener; the page the listener answered.
fn browse(start_url: &str) -> String {
    let (status, answer) = http_get(start_url);
    assert_eq!(status, 302, "{answer}");
    let location = answer
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap()
        .trim()
        .to_owned();
    assert!(location.starts_with("http://127.0.0.1:"), "{location}");
    http_get(&location).1
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn browser_login_writes_the_profile_and_credentials_serves_it() {
    let (url, _fake) = fake_server();
    let home = home("browser");
    let creds_file = home.join(".aws/credentials");
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    let before = "# keep me\r\n[other]\r\naws_access_key_id = AKIAOTHER\r\n";
    std::fs::write(&creds_file, before).unwrap();
    std::fs::set_permissions(&creds_file, std::fs::Permissions::from_mode(0o644)).unwrap();

    let run = login(&home, &url, &["--provider", "one", "--profile", "dev"]);
    let start = run.start_url();
    assert!(
        start.starts_with(&format!(
            "{url}/console/cli/start?provider=one&redirect_uri=http%3A%2F%2F127.0.0.1%3A"
        )),
        "{start}"
    );
    assert!(start.contains("&code_challenge_method=S256"), "{start}");
    let page = browse(&start);
    assert!(page.starts_with("HTTP/1.1 200 "), "{page}");
    assert!(page.contains("Signed in. You can close this tab and return to the terminal."));
    let done = run.finish();
    assert!(done.status.success(), "{}", done.stderr);
    assert!(done.stdout.is_empty(), "{}", done.stdout);
    assert!(
        done.stderr.contains(
            "Signed in as alice@example.com through arn:aws:iam::123456789012:saml-provider/Corp."
        ),
        "{}",
        done.stderr
    );
    assert!(done.stderr.contains(&format!("Wrote profile dev to {}: arn:aws:sts::123456789012:assumed-role/Reader/alice@example.com, expires ", creds_file.display())), "{}", done.stderr);

    // The other profile is kept byte for byte (CRLF too); the new one is added in CRLF.
    let written = std::fs::read_to_string(&creds_file).unwrap();
    let added = written.strip_prefix(before).unwrap();
    assert!(
        added.starts_with("\r\n[dev]\r\naws_access_key_id = ASIAFAKE"),
        "{written}"
    );
    assert!(added.contains("\r\naws_secret_access_key = fakeSecret/+=0123456789\r\naws_session_token = ZmFrZSB0b2tlbg==\r\n"), "{written}");
    assert_eq!(mode(&creds_file), 0o600);
    let cache = home.join(".cache/idbroker/credentials/dev.json");
    assert_eq!(mode(&cache), 0o600);
    assert_eq!(mode(cache.parent().unwrap()), 0o700);

    // credential_process: the cached credentials, exactly the five fields.
    let watch = Stopwatch::start();
    let served = idbroker(&home, &["credentials", "--profile", "dev"]).finish();
    assert!(served.status.success(), "{}", served.stderr);
    assert!(watch.elapsed() < Duration::from_secs(10));
    let doc: Value = serde_json::from_str(&served.stdout).unwrap();
    let keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "Version",
            "AccessKeyId",
            "SecretAccessKey",
            "SessionToken",
            "Expiration"
        ]
    );
    assert_eq!(doc["Version"], 1);
    assert!(written.contains(&format!(
        "aws_access_key_id = {}\r\n",
        doc["AccessKeyId"].as_str().unwrap()
    )));
    assert_eq!(doc["SessionToken"], "ZmFrZSB0b2tlbg==");
    assert!(doc["Expiration"].as_str().unwrap().ends_with('Z'));
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn device_login_polls_until_signed_in() {
    let (url, fake) = fake_server();
    let home = home("device");
    let run = login(
        &home,
        &url,
        &["--device", "--env", "--role", READER, "--profile", "devc"],
    );
    let shown = run.until("Waiting for the sign-in");
    assert!(
        shown.contains(&format!(
            "  {url}/console/device\nand enter the code: BCDF-GHJK"
        )),
        "{shown}"
    );
    assert!(shown.contains("?user_code=BCDF-GHJK"), "{shown}");
    let done = run.finish();
    assert!(done.status.success(), "{}", done.stderr);
    let lines: Vec<&str> = done.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", done.stdout);
    assert!(lines[0].starts_with("export AWS_ACCESS_KEY_ID=ASIAFAKE"));
    assert_eq!(
        lines[1],
        "export AWS_SECRET_ACCESS_KEY=fakeSecret/+=0123456789"
    );
    assert_eq!(lines[2], "export AWS_SESSION_TOKEN=ZmFrZSB0b2tlbg==");
    // --env writes no credentials file, but the cache.
    assert!(!home.join(".aws/credentials").exists());
    assert!(home.join(".cache/idbroker/credentials/devc.json").exists());
    // pending -> (interval 1 s) -> slow_down -> (interval 1 + 5 s) -> done.
    let polls = fake.polls.lock().unwrap().values().next().unwrap().clone();
    assert_eq!(polls.len(), 3, "{polls:?}");
    assert!(
        polls[1] - polls[0] >= Duration::from_millis(900),
        "{polls:?}"
    );
    assert!(
        polls[2] - polls[1] >= Duration::from_millis(5900),
        "{polls:?}"
    );
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn several_roles_without_a_terminal_fail_listing_them() {
    let (url, _fake) = fake_server();
    let home = home("roles");
    let run = login(&home, &url, &["--no-browser"]);
    let shown = run.until("/console/cli/start?");
    assert!(
        shown.contains("Open this URL in a browser to sign in:\nhttp://"),
        "{shown}"
    );
    let start = shown.lines().last().unwrap().to_owned();
    assert!(
        start.starts_with(&format!("{url}/console/cli/start?redirect_uri=")),
        "{start}"
    );
    browse(&start);
    let done = run.finish();
    assert_eq!(done.status.code(), Some(1), "{}", done.stderr);
    assert!(done.stderr.contains("--role"), "{}", done.stderr);
    assert!(
        done.stderr.contains(READER) && done.stderr.contains(SHORT),
        "{}",
        done.stderr
    );
    assert!(!home.join(".aws/credentials").exists());
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn an_almost_expired_cache_without_a_terminal_is_refused_at_once() {
    let (url, _fake) = fake_server();
    let home = home("expiring");
    let run = login(
        &home,
        &url,
        &["--role", SHORT, "--profile", "short", "--no-browser"],
    );
    browse(&run.start_url());
    let done = run.finish();
    assert!(done.status.success(), "{}", done.stderr);

    // 10 minutes left, less than the SDKs' 15-minute window: stdin is not a terminal, so no
    // sign-in is attempted and the command ends at once.
    let watch = Stopwatch::start();
    let refused = idbroker(&home, &["credentials", "--profile", "short"]).finish();
    assert!(
        watch.elapsed() < Duration::from_secs(5),
        "{:?}",
        watch.elapsed()
    );
    assert_eq!(refused.status.code(), Some(1), "{}", refused.stderr);
    assert!(refused.stdout.is_empty());
    assert!(
        refused
            .stderr
            .contains("the cached credentials of profile short expire at "),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains(&format!("signing in needs a browser: run `idbroker login --endpoint-url {url} --profile short --role {SHORT}` in a terminal")), "{}", refused.stderr);

    let none = idbroker(&home, &["credentials", "--profile", "nothing"]).finish();
    assert_eq!(none.status.code(), Some(1));
    assert!(
        none.stderr
            .contains("no credentials are cached for profile nothing"),
        "{}",
        none.stderr
    );
    let bad = idbroker(&home, &["credentials", "--profile", "../x"]).finish();
    assert_eq!(bad.status.code(), Some(1));
    assert!(bad.stderr.contains("a profile name is"), "{}", bad.stderr);
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn refusals_are_shown() {
    let (url, _fake) = fake_server();
    let home = home("refusals");
    let denied = "access_denied: alice may not use the command line";
    let not_granted = format!("the role {SHORT} is not one this sign-in may take");
    for (args, page_says, stderr_says) in [
        // The IdP side refused: the redirect carries the error.
        (
            &["--provider", "denied"][..],
            format!("Sign-in failed: {denied}"),
            format!("idbroker: the sign-in failed: {denied}"),
        ),
        // The token endpoint refused (400 with the protocol's JSON error).
        (
            &["--provider", "badcode"][..],
            "Signed in.".to_owned(),
            "idbroker: invalid_grant: the code is unknown or was used".to_owned(),
        ),
        // A role the sign-in does not grant.
        (
            &["--provider", "one", "--role", SHORT][..],
            "Signed in.".to_owned(),
            not_granted,
        ),
    ] {
        let run = login(&home, &url, args);
        let page = browse(&run.start_url());
        assert!(page.contains(&page_says), "{args:?}: {page}");
        let done = run.finish();
        assert_eq!(done.status.code(), Some(1), "{args:?}: {}", done.stderr);
        assert!(
            done.stderr.contains(&stderr_says),
            "{args:?}: {}",
            done.stderr
        );
    }
    assert!(!home.join(".aws/credentials").exists());
    let _ = std::fs::remove_dir_all(&home);
}
