//! Who holds credentials now: `POST /admin/sessions` (SigV4 for the service `idbroker`,
//! `idbroker:ListSessions`), in-process against the memory store and Redis: sessions of two roles
//! and a source identity listed by each scope, page after page with no duplicate and no omission,
//! revoked and expired sessions left out (a ManualClock moved past an expiry), access decided by
//! the caller's own policies and their resources, no secret in any answer; and the
//! `idbroker admin sessions` command run as a process against the server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod switch_store;

use std::collections::HashSet;
use std::time::Duration;

use common::admin::{
    admin, broker, demo_user, done, endpoint, refused, t0, Broker, Creds, ACCOUNT, ADMIN_KEY,
    ADMIN_ROLE, ADMIN_SECRET,
};
use common::{KEY, READER, SECRET};
use idbroker::cli::admin_client;
use idbroker::clock::{Clock, SystemClock};
use idbroker::config::StoreConfig;
use serde_json::{json, Value};

fn redis_store() -> StoreConfig {
    StoreConfig::Redis {
        url: std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        prefix: format!(
            "idbroker-sessions-test-{}-{}:",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ),
    }
}

impl Broker {
    /// Every page, `max` at a time, by the admin: the sessions' access key ids in order. Checks
    /// each answer for secrets (`secrets`: every secret and token issued so far).
    async fn list_all(&self, scope: Value, max: u64, secrets: &[String]) -> Vec<String> {
        let mut ids = Vec::new();
        let mut body = scope;
        body["MaxItems"] = json!(max);
        for _ in 0..100 {
            let doc = done(&self.list(&admin(), &body).await).clone();
            no_secret_in(&doc, secrets);
            let page = doc["Sessions"].as_array().unwrap();
            assert!(page.len() <= usize::try_from(max).unwrap());
            ids.extend(
                page.iter()
                    .map(|s| s["AccessKeyId"].as_str().unwrap().to_owned()),
            );
            match doc.get("Marker").and_then(Value::as_str) {
                Some(m) => body["Marker"] = json!(m),
                None => return ids,
            }
        }
        panic!("the listing never ended");
    }

    /// AssumeRole by the demo user, with a source identity and a duration.
    async fn assume(&self, role: &str, name: &str, si: Option<&str>, secs: i32) -> Creds {
        common::admin::assume(&self.url, self.now(), role, name, |call| {
            call.set_source_identity(si.map(str::to_owned))
                .duration_seconds(secs)
        })
        .await
    }
}

/// No secret access key or session token of `secrets` in `doc`, and no field that could hold one.
#[track_caller]
fn no_secret_in(doc: &Value, secrets: &[String]) {
    let text = doc.to_string();
    for s in secrets {
        assert!(!text.contains(s.as_str()), "a secret in {text}");
    }
    for field in [
        "SecretAccessKey",
        "SessionToken",
        "secret",
        "token_hash",
        "Token",
    ] {
        assert!(!text.contains(field), "{field} in {text}");
    }
}

/// The listing, against `store`.
async fn listing_by_each_scope(store: StoreConfig) {
    let b = broker(store, t0()).await;
    // ReportsReader: seven sessions, four with source identity alice; 900 s and 3600 s
    // lifetimes, so that several share an expiry (issued in the same second). Admin: three.
    let mut reader = Vec::new();
    for i in 0..7 {
        let si = (i < 4).then_some("alice");
        let secs = if i % 2 == 0 { 900 } else { 3600 };
        reader.push(b.assume(READER, &format!("r{i}"), si, secs).await);
    }
    let mut admins = Vec::new();
    for i in 0..3 {
        admins.push(b.assume(ADMIN_ROLE, &format!("a{i}"), None, 3600).await);
    }
    let secrets: Vec<String> = reader
        .iter()
        .chain(&admins)
        .flat_map(|c| [c.secret.clone(), c.token.clone().unwrap()])
        .collect();
    let ids = |cs: &[&Creds]| -> HashSet<String> { cs.iter().map(|c| c.key.clone()).collect() };
    let unique = |v: &[String]| -> HashSet<String> {
        let set: HashSet<String> = v.iter().cloned().collect();
        assert_eq!(set.len(), v.len(), "a duplicate in {v:?}");
        set
    };

    let all_readers: Vec<&Creds> = reader.iter().collect();
    for max in [1, 2, 3, 100] {
        let listed = b
            .list_all(json!({ "RoleArn": READER }), max, &secrets)
            .await;
        assert_eq!(unique(&listed), ids(&all_readers), "MaxItems {max}");
    }
    let listed = b
        .list_all(json!({ "RoleArn": ADMIN_ROLE }), 2, &secrets)
        .await;
    assert_eq!(unique(&listed), ids(&admins.iter().collect::<Vec<_>>()));
    let alice: Vec<&Creds> = reader.iter().take(4).collect();
    let listed = b
        .list_all(json!({ "SourceIdentity": "alice" }), 3, &secrets)
        .await;
    assert_eq!(unique(&listed), ids(&alice));
    let r5 = "arn:aws:sts::123456789012:assumed-role/ReportsReader/r5";
    let listed = b.list_all(json!({ "PrincipalArn": r5 }), 2, &secrets).await;
    assert_eq!(listed, vec![reader[5].key.clone()]);

    // What one session says: identifiers and times.
    let doc = done(&b.list(&admin(), &json!({ "PrincipalArn": r5 })).await).clone();
    assert_eq!(doc["Action"], "idbroker:ListSessions");
    assert_eq!(doc["Resource"], r5);
    assert!(doc["RequestId"].is_string());
    let s = &doc["Sessions"][0];
    let expected = json!({
        "AccessKeyId": reader[5].key,
        "Arn": r5,
        "UserId": s["UserId"],
        "Type": "AssumedRole",
        "Role": READER,
        "SessionName": "r5",
        "Issued": "2026-11-28T12:00:00Z",
        "Expiration": "2026-11-28T13:00:00Z",
    });
    assert_eq!(s, &expected);
    assert!(s["UserId"].as_str().unwrap().ends_with(":r5"));

    // Listed in expiry order: the 900 s sessions first.
    let listed = b
        .list_all(json!({ "RoleArn": READER }), 100, &secrets)
        .await;
    let short = ids(&[&reader[0], &reader[2], &reader[4], &reader[6]]);
    assert_eq!(listed[..4].iter().cloned().collect::<HashSet<_>>(), short);

    // A session revoked by the admin API, and one by a mark on its principal: not listed.
    let revoke = |body: Value| {
        let (url, now) = (b.url.clone(), b.now());
        async move {
            let a = admin_client::revoke(&endpoint(&url), &admin().env(), &body, now).await;
            done(&a.unwrap()).clone()
        }
    };
    revoke(json!({ "AccessKeyId": reader[1].key })).await;
    revoke(json!({ "PrincipalArn": "arn:aws:sts::123456789012:assumed-role/ReportsReader/r3" }))
        .await;
    let live: Vec<&Creds> = [0, 2, 4, 5, 6].iter().map(|i| &reader[*i]).collect();
    let listed = b.list_all(json!({ "RoleArn": READER }), 2, &secrets).await;
    assert_eq!(unique(&listed), ids(&live));
    let listed = b
        .list_all(json!({ "SourceIdentity": "alice" }), 2, &secrets)
        .await;
    assert_eq!(unique(&listed), ids(&[&reader[0], &reader[2]]));

    // 900 s later the short sessions have expired: only the long ones are listed.
    b.clock.advance(Duration::from_secs(900));
    let listed = b.list_all(json!({ "RoleArn": READER }), 2, &secrets).await;
    assert_eq!(unique(&listed), ids(&[&reader[5]]));
    assert!(b
        .list_all(json!({ "SourceIdentity": "alice" }), 2, &secrets)
        .await
        .is_empty());
    let listed = b
        .list_all(json!({ "RoleArn": ADMIN_ROLE }), 100, &secrets)
        .await;
    assert_eq!(listed.len(), 3);
}

#[actix_web::test]
async fn listing_by_each_scope_on_the_memory_store() {
    listing_by_each_scope(StoreConfig::Memory).await;
}

#[actix_web::test]
async fn listing_by_each_scope_on_redis() {
    listing_by_each_scope(redis_store()).await;
}

#[actix_web::test]
async fn access_is_decided_by_the_callers_policies_on_each_resource() {
    let b = broker(StoreConfig::Memory, t0()).await;
    let s = b.assume(READER, "someone", Some("bob"), 900).await;
    // The demo user's policies allow no idbroker action: denied, naming action and resource.
    for (body, resource) in [
        (json!({ "RoleArn": READER }), READER.to_owned()),
        (
            json!({ "PrincipalArn": "arn:aws:sts::123456789012:assumed-role/ReportsReader/someone" }),
            "arn:aws:sts::123456789012:assumed-role/ReportsReader/someone".to_owned(),
        ),
        (
            json!({ "SourceIdentity": "bob" }),
            format!("arn:aws:idbroker::{ACCOUNT}:source-identity/bob"),
        ),
    ] {
        let a = b.list(&demo_user(), &body).await;
        let (status, code, message) = refused(&a);
        assert_eq!((status, code), (403, "AccessDenied"), "{body}");
        assert!(
            message.contains(&format!(
                "User: arn:aws:iam::123456789012:user/demo is not authorized to perform: idbroker:ListSessions on resource: {resource}"
            )),
            "{message}"
        );
        assert!(!message.contains(&s.key));
    }

    // A session of the everything-role, narrowed by its session policy to ReportsReader's
    // sessions: that listing only.
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "idbroker:ListSessions", "Resource": READER}]})
    .to_string();
    let narrow =
        common::admin::assume(&b.url, b.now(), ADMIN_ROLE, "narrow", |c| c.policy(policy)).await;
    let doc = done(&b.list(&narrow, &json!({ "RoleArn": READER })).await).clone();
    assert_eq!(doc["Sessions"][0]["AccessKeyId"], s.key.as_str());
    for body in [
        json!({ "RoleArn": ADMIN_ROLE }),
        json!({ "SourceIdentity": "bob" }),
    ] {
        assert_eq!(refused(&b.list(&narrow, &body).await).1, "AccessDenied");
    }

    // Malformed requests, before any listing.
    for bad in [
        json!({}),
        json!({ "RoleArn": READER, "SourceIdentity": "bob" }),
        json!({ "RoleArn": READER, "MaxItems": 0 }),
        json!({ "RoleArn": READER, "MaxItems": 101 }),
        json!({ "RoleArn": READER, "Marker": "not-a-marker" }),
        json!({ "RoleArn": READER, "Marker": "A".repeat(10_000) }),
        json!({ "PrincipalArn": "someone" }),
        json!({ "SourceIdentity": "a b" }),
        json!({ "AccessKeyId": s.key }),
    ] {
        let a = b.list(&admin(), &bad).await;
        assert_eq!(refused(&a).1, "ValidationError", "{bad}");
    }
    // Unsigned.
    let r = reqwest::Client::new()
        .post(format!("{}/admin/sessions", b.url))
        .body(json!({ "RoleArn": READER }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(!r.text().await.unwrap().contains(&s.key));
}

/// The store cannot answer: 503 ServiceUnavailable, never an empty (and wrong) listing.
#[actix_web::test]
async fn a_listing_while_the_store_is_down_is_503() {
    let (b, store) = switch_store::admin_broker(t0()).await;
    let s = b.assume(READER, "someone", None, 900).await;
    let body = json!({ "RoleArn": READER });
    store.set(&[switch_store::Op::ListSessions], true);
    let a = b.list(&admin(), &body).await;
    assert_eq!(refused(&a).0, 503);
    assert_eq!(refused(&a).1, "ServiceUnavailable");
    store.heal();
    let doc = done(&b.list(&admin(), &body).await).clone();
    assert_eq!(doc["Sessions"][0]["AccessKeyId"], s.key.as_str());
}

/// `idbroker admin sessions` run as a process.
async fn cli(args: Vec<String>, keys: Option<(&str, &str)>) -> std::process::Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = common::admin::command("sessions", &args, keys);
    // The server runs on this thread's runtime: wait for the command elsewhere.
    actix_web::rt::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[actix_web::test]
async fn the_cli_lists_pages_a_table_and_json() {
    // The command signs with the real time.
    let b = broker(StoreConfig::Memory, SystemClock.now()).await;
    let mut sessions = Vec::new();
    for i in 0..5 {
        sessions.push(b.assume(READER, &format!("cli{i}"), None, 900).await);
    }
    let args = |extra: &[&str]| -> Vec<String> {
        ["--role", READER, "--endpoint-url", b.url.as_str()]
            .iter()
            .chain(extra)
            .map(|s| (*s).to_owned())
            .collect()
    };
    let keys = Some((ADMIN_KEY, ADMIN_SECRET));

    // Every page, as a table: a header, one line per session, the count.
    let out = cli(args(&["--max-items", "2", "--all"]), keys).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.starts_with("ACCESS KEY ID"), "{stdout}");
    assert!(stdout.contains("5 session(s)"), "{stdout}");
    assert!(!stdout.contains("--starting-token"), "{stdout}");
    for s in &sessions {
        assert!(stdout.contains(&s.key), "{stdout}");
        assert!(!stdout.contains(&s.secret));
    }

    // One page as JSON, then the rest from its Marker.
    let out = cli(args(&["--max-items", "3", "--json"]), keys).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let first: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(first["Sessions"].as_array().unwrap().len(), 3);
    let marker = first["Marker"].as_str().unwrap();
    let out = cli(args(&["--starting-token", marker]), keys).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.contains("2 session(s)"), "{stdout}");
    let mut seen: HashSet<String> = first["Sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["AccessKeyId"].as_str().unwrap().to_owned())
        .collect();
    seen.extend(
        sessions
            .iter()
            .filter(|s| stdout.contains(&s.key))
            .map(|s| s.key.clone()),
    );
    assert_eq!(seen.len(), 5);
    // A page that is not the last says how to get the next.
    let out = cli(args(&["--max-items", "1"]), keys).await;
    assert!(text(&out.stdout).contains("more: --starting-token "));

    // Refused: 1, with the code. No credentials, bad arguments: 2. Unreachable: 3.
    let out = cli(args(&[]), Some((KEY, SECRET))).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("AccessDenied"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(cli(args(&[]), None).await.status.code(), Some(2));
    let out = cli(vec!["--endpoint-url".into(), b.url.clone()], keys).await;
    assert_eq!(out.status.code(), Some(2));
    let out = cli(args(&["--max-items", "101"]), keys).await;
    assert_eq!(out.status.code(), Some(2));
    let out = cli(
        vec![
            "--source-identity".into(),
            "x1".into(),
            "--endpoint-url".into(),
            "http://127.0.0.1:1".into(),
        ],
        keys,
    )
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}
