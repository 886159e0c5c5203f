//! IAM users' console sign-in (issue 20), at the HTTP level, on the demo configuration with a
//! manual clock (moved, never slept on): passwords set through the IAM API by the demo's IAM
//! administrator, then the console's forms as a browser posts them (cookies carried by hand,
//! redirects not followed). One answer for every refused password; the MFA step with codes
//! from Debian's `oathtool`; the forced change; single-use steps; throttling per typed user and
//! per address; the session minted with MFA (the demo's MfaAdmin role, which requires it,
//! accepts the session's credentials).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_smithy_async::time::StaticTimeSource;
use common::iam::IAM_ADMIN;
use idbroker::clock::{Clock, ManualClock, Stopwatch, SystemClock};

const ACCOUNT: &str = "123456789012";
const PASSWORD: &str = "Correct-Horse-1";
const MFA_ADMIN: &str = "arn:aws:iam::123456789012:role/demo/MfaAdmin";

fn iam(url: &str, at: SystemTime) -> aws_sdk_iam::Client {
    let conf = aws_sdk_iam::Config::builder()
        .endpoint_url(url)
        .region(aws_sdk_iam::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            IAM_ADMIN.0,
            IAM_ADMIN.1,
            None,
            None,
            "test",
        ))
        .time_source(StaticTimeSource::new(at))
        .retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_iam::Client::from_conf(conf)
}

/// The demo on a manual clock at the start of a 30-second step (plus 5 s).
async fn server() -> (String, Arc<ManualClock>) {
    server_with(common::demo()).await
}

/// `cfg` on a manual clock at the start of a 30-second step (plus 5 s).
async fn server_with(cfg: idbroker::config::Config) -> (String, Arc<ManualClock>) {
    let secs = SystemClock
        .now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let clock = Arc::new(ManualClock::new(
        UNIX_EPOCH + Duration::from_secs(secs / 30 * 30 + 5),
    ));
    let state = idbroker::build_state(cfg, clock.clone()).await.unwrap();
    (common::start(state).await, clock)
}

/// A browser without JavaScript: cookies by name, no redirects followed.
struct Browser {
    url: String,
    http: reqwest::Client,
    jar: BTreeMap<String, String>,
}

struct Page {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Browser {
    fn new(url: &str) -> Browser {
        Browser {
            url: url.to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let r = req
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        for c in r.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || attrs.contains("Max-Age=0") {
                self.jar.remove(k);
            } else {
                self.jar.insert(k.to_owned(), v.to_owned());
            }
        }
        Page {
            status: r.status().as_u16(),
            location: r
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned()),
            body: r.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.url));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let req = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(req).await
    }

    /// The CSRF token of the form on `page`.
    fn csrf(page: &Page) -> String {
        let at = page.body.find("name=\"csrf\" value=\"").expect("a form");
        let rest = &page.body[at + 19..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    /// Open the sign-in form and send it.
    async fn sign_in(&mut self, account: &str, user: &str, password: &str) -> Page {
        let form = self.get("/console/signin/password").await;
        assert_eq!(form.status, 200);
        let csrf = Browser::csrf(&form);
        self.post(
            "/console/signin/password",
            &[
                ("csrf", &csrf),
                ("account", account),
                ("username", user),
                ("password", password),
            ],
        )
        .await
    }
}

async fn create_user(iam: &aws_sdk_iam::Client, name: &str, reset: bool) {
    iam.create_user().user_name(name).send().await.unwrap();
    iam.create_login_profile()
        .user_name(name)
        .password(PASSWORD)
        .password_reset_required(reset)
        .send()
        .await
        .unwrap();
}

/// The error text a refused step shows (the form's alert).
fn alert(page: &Page) -> String {
    let at = page.body.find("role=\"alert\">").expect("an alert");
    let rest = &page.body[at + 13..];
    rest[..rest.find('<').unwrap()].to_owned()
}

#[actix_web::test]
async fn one_answer_for_every_refused_password_and_a_session_for_the_right_one() {
    let (url, clock) = server().await;
    let admin = iam(&url, clock.now());
    create_user(&admin, "alice", false).await;
    admin
        .create_user()
        .user_name("noprofile")
        .send()
        .await
        .unwrap();
    admin
        .create_account_alias()
        .account_alias("example-corp")
        .send()
        .await
        .unwrap();

    let mut b = Browser::new(&url);
    let mut answers = Vec::new();
    for (account, user, password) in [
        (ACCOUNT, "alice", "wrong-password-1"),
        (ACCOUNT, "nobody", PASSWORD),
        (ACCOUNT, "noprofile", PASSWORD),
        ("999999999999", "alice", PASSWORD),
        ("example-corp", "alice", ""),
    ] {
        let p = b.sign_in(account, user, password).await;
        assert!(!b.jar.contains_key("idb_console"), "{user}: not signed in");
        answers.push((p.status, alert(&p)));
    }
    // The same status and words for each: nothing says which part was wrong.
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert_eq!(answers[0].0, 401);
    assert_eq!(
        answers[0].1,
        "Your authentication information is incorrect. Please try again."
    );

    // A form without its cookie's token is refused (login CSRF).
    let mut other = Browser::new(&url);
    let p = other
        .post(
            "/console/signin/password",
            &[
                ("csrf", "0123456789abcdef0123456789abcdef"),
                ("account", ACCOUNT),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(!other.jar.contains_key("idb_console"));
    assert_eq!(p.status, 401);

    // The alias, the user name in another case, and the right password: signed in.
    let p = b.sign_in("Example-Corp", "ALICE", PASSWORD).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(p.location.unwrap().ends_with("/console"));
    let landing = b.get("/console").await;
    assert!(
        landing
            .body
            .contains("arn:aws:iam::123456789012:user/alice"),
        "{}",
        landing.body
    );
    assert!(landing.body.contains("AWS_ACCESS_KEY_ID=ASIA"));
}

/// The code `oathtool` gives for Base32 `seed` in 30-second step `step`.
fn oath(seed: &str, step: u64) -> String {
    let out = Command::new("oathtool")
        .args(["--totp", "-b", "-N", &format!("@{}", step * 30), seed])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn step_of(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs() / 30
}

/// A value of the landing page's credentials snippet.
fn exported(body: &str, name: &str) -> String {
    let at = body.find(&format!("export {name}=")).unwrap();
    let rest = &body[at + name.len() + 8..];
    let v = &rest[..rest.find('\n').unwrap()];
    // HTML-escaped by the template.
    v.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#43;", "+")
        .replace("&#x2b;", "+")
        .replace("&#61;", "=")
        .replace("&#x3d;", "=")
        .replace("&amp;", "&")
}

#[actix_web::test]
async fn mfa_then_a_forced_change_then_a_session_with_mfa() {
    if Command::new("oathtool").arg("--version").output().is_err() {
        return common::skip_or_fail("oathtool is not installed (apt-get install oathtool)");
    }
    let (url, clock) = server().await;
    let admin = iam(&url, clock.now());
    admin
        .update_account_password_policy()
        .minimum_password_length(12)
        .require_numbers(true)
        .allow_users_to_change_password(true)
        .password_reuse_prevention(2)
        .send()
        .await
        .unwrap();
    create_user(&admin, "carol", true).await;
    // The demo's developers may assume the demo roles (MfaAdmin with MFA only).
    admin
        .add_user_to_group()
        .group_name("developers")
        .user_name("carol")
        .send()
        .await
        .unwrap();
    let dev = admin
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("carol")
        .send()
        .await
        .unwrap();
    let seed = String::from_utf8(
        dev.virtual_mfa_device()
            .unwrap()
            .base32_string_seed()
            .unwrap()
            .as_ref()
            .to_vec(),
    )
    .unwrap();
    let serial = "arn:aws:iam::123456789012:mfa/carol";
    let s = step_of(clock.now());
    admin
        .enable_mfa_device()
        .user_name("carol")
        .serial_number(serial)
        .authentication_code1(oath(&seed, s - 2))
        .authentication_code2(oath(&seed, s - 1))
        .send()
        .await
        .unwrap();

    let mut b = Browser::new(&url);
    let p = b.sign_in(ACCOUNT, "carol", PASSWORD).await;
    assert_eq!(p.location.as_deref(), Some("/console/signin/mfa"));
    assert!(!b.jar.contains_key("idb_console"));
    let form = b.get("/console/signin/mfa").await;
    assert!(form.body.contains("carol"));
    let csrf = Browser::csrf(&form);
    // A wrong code: the same form again, still usable.
    let right = oath(&seed, step_of(clock.now()));
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    let p = b
        .post("/console/signin/mfa", &[("csrf", &csrf), ("code", wrong)])
        .await;
    assert_eq!(p.status, 401);
    assert!(alert(&p).contains("MFA code is not valid"));
    // Skipping the MFA step to the change form is refused.
    let p = b.get("/console/signin/change").await;
    assert_eq!(p.location.as_deref(), Some("/console/signin/password"));
    let mut b = Browser::new(&url);
    b.sign_in(ACCOUNT, "carol", PASSWORD).await;
    let form = b.get("/console/signin/mfa").await;
    let csrf = Browser::csrf(&form);
    let pending = b.jar.get("idb_pw").cloned().unwrap();
    let p = b
        .post("/console/signin/mfa", &[("csrf", &csrf), ("code", &right)])
        .await;
    assert_eq!(p.location.as_deref(), Some("/console/signin/change"));
    // The same code again, through a copy of the pending step: refused (each code once).
    let mut copy = Browser::new(&url);
    copy.jar.insert("idb_pw".into(), pending);
    let p = copy
        .post("/console/signin/mfa", &[("csrf", &csrf), ("code", &right)])
        .await;
    assert_eq!(p.status, 401);
    assert!(!copy.jar.contains_key("idb_console"));

    // The forced change: what the policy refuses comes back on the form.
    let form = b.get("/console/signin/change").await;
    assert!(
        form.body.contains("at least 12 characters"),
        "{}",
        form.body
    );
    let csrf = Browser::csrf(&form);
    for (new, confirm, why) in [
        ("Another-Pass-22", "Another-Pass-23", "not the same"),
        ("Short-1", "Short-1", "at least 12"),
        ("No-Numbers-Here", "No-Numbers-Here", "one number"),
        (PASSWORD, PASSWORD, "used recently"),
    ] {
        let p = b
            .post(
                "/console/signin/change",
                &[
                    ("csrf", &csrf),
                    ("new_password", new),
                    ("confirm_password", confirm),
                ],
            )
            .await;
        assert_eq!(p.status, 400, "{new}");
        assert!(alert(&p).contains(why), "{new}: {}", alert(&p));
    }
    // Every refusal, a remembered password too, keeps the form: the same step, sent again.
    let p = b
        .post(
            "/console/signin/change",
            &[
                ("csrf", &csrf),
                ("new_password", "Brand-New-Pass-42"),
                ("confirm_password", "Brand-New-Pass-42"),
            ],
        )
        .await;
    assert!(p.location.unwrap().ends_with("/console"), "{}", p.body);
    let landing = b.get("/console").await;
    assert!(landing.body.contains("user/carol"));

    // The session has MFA: MfaAdmin (trust: aws:MultiFactorAuthPresent) lets it in.
    let sts = common::sdk_with_keys(
        &url,
        &exported(&landing.body, "AWS_ACCESS_KEY_ID"),
        &exported(&landing.body, "AWS_SECRET_ACCESS_KEY"),
        Some(exported(&landing.body, "AWS_SESSION_TOKEN")),
        clock.now(),
    );
    sts.assume_role()
        .role_arn(MFA_ADMIN)
        .role_session_name("carol")
        .send()
        .await
        .unwrap();

    // The reset is lifted and the new password is in force; the old one is not.
    let lp = iam(&url, clock.now())
        .get_login_profile()
        .user_name("carol")
        .send()
        .await
        .unwrap();
    assert!(!lp.login_profile().unwrap().password_reset_required());
    clock.advance(Duration::from_secs(60));
    let mut b = Browser::new(&url);
    assert_eq!(b.sign_in(ACCOUNT, "carol", PASSWORD).await.status, 401);
    let p = b.sign_in(ACCOUNT, "carol", "Brand-New-Pass-42").await;
    assert_eq!(p.location.as_deref(), Some("/console/signin/mfa"));
}

#[actix_web::test]
async fn failures_are_throttled_per_user_and_per_address() {
    let (url, clock) = server().await;
    let admin = iam(&url, clock.now());
    create_user(&admin, "dave", false).await;
    let mut b = Browser::new(&url);
    // The per-user bucket holds 10: ten wrong passwords, then even the right one is refused.
    for i in 0..10 {
        let p = b.sign_in(ACCOUNT, "dave", "wrong-password-1").await;
        assert_eq!(p.status, 401, "attempt {i}");
    }
    let p = b.sign_in(ACCOUNT, "Dave", PASSWORD).await;
    assert_eq!(p.status, 429, "{}", p.body);
    assert!(p.body.contains("Too many sign-in attempts"));
    // An unknown user's bucket fills the same way (throttling says nothing of who exists).
    for _ in 0..10 {
        b.sign_in(ACCOUNT, "nobody", "wrong-password-1").await;
    }
    assert_eq!(b.sign_in(ACCOUNT, "nobody", PASSWORD).await.status, 429);
    // One every 20 s comes back.
    clock.advance(Duration::from_secs(21));
    let p = b.sign_in(ACCOUNT, "dave", PASSWORD).await;
    assert_eq!(p.status, 303, "{}", p.body);
    // The address's bucket (30) is nearly spent by now: other names are refused too.
    let mut refused = 0;
    for i in 0..25 {
        let st = b.sign_in(ACCOUNT, &format!("user{i}"), "x").await.status;
        if st == 429 {
            refused += 1;
        }
    }
    assert!(refused > 0, "the per-address bucket refused nothing");
}

/// The session store goes away (its own redis-server, killed): a right password gets a 503 page
/// and no session; a wrong one still gets the one refusal (the buckets fall back to this
/// process); a console session made before the outage shows no credentials, since it cannot be
/// checked against revocation. Each answer is bounded by the store's timeout, and once the store
/// is back the same server signs the user in again.
#[actix_web::test]
async fn sign_in_fails_closed_while_the_session_store_is_down() {
    let mut redis = common::RedisServer::start();
    let mut cfg = common::demo();
    cfg.store = idbroker::config::StoreConfig::Redis {
        url: redis.url(),
        prefix: "pw-outage:".into(),
    };
    let (url, clock) = server_with(cfg).await;
    create_user(&iam(&url, clock.now()), "erin", false).await;
    let mut before = Browser::new(&url);
    assert_eq!(before.sign_in(ACCOUNT, "erin", PASSWORD).await.status, 303);
    assert!(before
        .get("/console")
        .await
        .body
        .contains("AWS_SECRET_ACCESS_KEY"));

    redis.kill().unwrap();
    redis.wait().unwrap();
    let started = Stopwatch::start();
    let mut b = Browser::new(&url);
    let p = b.sign_in(ACCOUNT, "erin", PASSWORD).await;
    assert_eq!(p.status, 503, "{}", p.body);
    assert!(!b.jar.contains_key("idb_console"));
    assert!(!p.body.contains("AWS_SECRET_ACCESS_KEY"));
    let p = b.sign_in(ACCOUNT, "erin", "wrong-password-1").await;
    assert_eq!(p.status, 401, "{}", p.body);
    assert_eq!(
        alert(&p),
        "Your authentication information is incorrect. Please try again."
    );
    let landing = before.get("/console").await;
    assert_eq!(landing.status, 503, "{}", landing.body);
    assert!(!landing.body.contains("AWS_SECRET_ACCESS_KEY"));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "bounded by the store timeout"
    );

    redis.restart();
    // The connection manager reconnects on its own; allow it a bounded moment.
    let waiting = Stopwatch::start();
    loop {
        let mut b = Browser::new(&url);
        let p = b.sign_in(ACCOUNT, "erin", PASSWORD).await;
        if p.status == 303 {
            assert!(b.get("/console").await.body.contains("user/erin"));
            break;
        }
        assert!(
            waiting.elapsed() < Duration::from_secs(10),
            "no recovery after the store restarted: {} {}",
            p.status,
            p.body
        );
        // A failed try took a token of erin's bucket: give one back.
        clock.advance(Duration::from_secs(21));
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// GetUser's `PasswordLastUsed` (seconds since the epoch), as the SDK reads it.
async fn password_last_used(iam: &aws_sdk_iam::Client, user: &str) -> Option<i64> {
    let out = iam.get_user().user_name(user).send().await.unwrap();
    out.user().unwrap().password_last_used().map(|t| t.secs())
}

/// A console sign-in with the password sets the user's `PasswordLastUsed` (GetUser and
/// ListUsers, as the AWS SDK reads them), a wrong password does not, a later sign-in moves it;
/// a user deleted and made again under the same name starts without one.
#[actix_web::test]
async fn a_sign_in_sets_password_last_used() {
    let (url, clock) = server().await;
    let admin = iam(&url, clock.now());
    create_user(&admin, "frank", false).await;
    create_user(&admin, "grace", false).await;
    assert_eq!(password_last_used(&admin, "frank").await, None);

    let secs = |t: SystemTime| i64::try_from(t.duration_since(UNIX_EPOCH).unwrap().as_secs());
    let first = clock.now();
    assert_eq!(
        Browser::new(&url)
            .sign_in(ACCOUNT, "frank", PASSWORD)
            .await
            .status,
        303
    );
    assert_eq!(
        password_last_used(&admin, "frank").await,
        Some(secs(first).unwrap())
    );
    clock.advance(Duration::from_secs(90));
    assert_eq!(
        Browser::new(&url)
            .sign_in(ACCOUNT, "frank", "wrong-password-1")
            .await
            .status,
        401
    );
    let admin = iam(&url, clock.now());
    assert_eq!(
        password_last_used(&admin, "frank").await,
        Some(secs(first).unwrap())
    );
    let users = admin.list_users().send().await.unwrap();
    let listed: BTreeMap<String, Option<i64>> = users
        .users()
        .iter()
        .map(|u| {
            (
                u.user_name().to_owned(),
                u.password_last_used().map(|t| t.secs()),
            )
        })
        .collect();
    assert_eq!(listed["frank"], Some(secs(first).unwrap()), "{listed:?}");
    assert_eq!(listed["grace"], None, "{listed:?}");

    let second = clock.now();
    Browser::new(&url).sign_in(ACCOUNT, "frank", PASSWORD).await;
    assert_eq!(
        password_last_used(&admin, "frank").await,
        Some(secs(second).unwrap())
    );

    // frank leaves; a new frank is not the old one.
    admin
        .delete_login_profile()
        .user_name("frank")
        .send()
        .await
        .unwrap();
    admin.delete_user().user_name("frank").send().await.unwrap();
    clock.advance(Duration::from_secs(60));
    let admin = iam(&url, clock.now());
    create_user(&admin, "frank", false).await;
    assert_eq!(password_last_used(&admin, "frank").await, None);
}

/// Over PostgreSQL, a sign-in on one replica is `PasswordLastUsed` on the other, once the first
/// has written it (within its flush interval) and the second reads it from the database.
#[actix_web::test]
async fn password_last_used_is_the_same_on_every_replica() {
    let Some(db) = common::iam::postgres_database("password_last_used").await else {
        return common::skip_or_fail("PostgreSQL does not answer on 127.0.0.1:5432");
    };
    let (a, _sa) = common::iam::server(Some(&db)).await;
    let (b, _sb) = common::iam::server(Some(&db)).await;
    let admin_a = common::iam::iam_sdk(&a, IAM_ADMIN);
    create_user(&admin_a, "heidi", false).await;
    let before = SystemClock
        .now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(
        Browser::new(&a)
            .sign_in(ACCOUNT, "heidi", PASSWORD)
            .await
            .status,
        303
    );
    let admin_b = common::iam::iam_sdk(&b, IAM_ADMIN);
    let waiting = Stopwatch::start();
    let seen = loop {
        // B knows heidi once it has polled the directory, and her last sign-in once A flushed.
        if let Ok(out) = admin_b.get_user().user_name("heidi").send().await {
            if let Some(t) = out.user().unwrap().password_last_used() {
                break t.secs();
            }
        }
        assert!(
            waiting.elapsed() < Duration::from_secs(10),
            "replica B never saw heidi's sign-in on A"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    };
    let after = SystemClock
        .now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let seen = u64::try_from(seen).unwrap();
    assert!(before <= seen && seen <= after, "{before} {seen} {after}");
}

/// The buckets are the session store's, not a replica's: ten failures for one typed user,
/// spread over two replicas (each its own process state) on one Redis, spend that user's
/// bucket on both; another user is still answered.
#[actix_web::test]
async fn failures_are_counted_across_replicas() {
    let redis = common::RedisServer::start();
    let mut urls = Vec::new();
    for _ in 0..2 {
        let mut cfg = common::demo();
        cfg.store = idbroker::config::StoreConfig::Redis {
            url: redis.url(),
            prefix: "pw-replicas:".into(),
        };
        urls.push(server_with(cfg).await.0);
    }
    let mut on_a = Browser::new(&urls[0]);
    let mut on_b = Browser::new(&urls[1]);
    for i in 0..10 {
        let b = if i % 2 == 0 { &mut on_a } else { &mut on_b };
        let p = b.sign_in(ACCOUNT, "ivan", "wrong-password-1").await;
        assert_eq!(p.status, 401, "attempt {i}");
    }
    for b in [&mut on_a, &mut on_b] {
        let p = b.sign_in(ACCOUNT, "IVAN", "wrong-password-2").await;
        assert_eq!(p.status, 429, "{}", p.body);
    }
    assert_eq!(on_b.sign_in(ACCOUNT, "judy", "x").await.status, 401);
}
