//! `POST /verify/key` (issue 17, first part): a downstream service gets the signing key of one
//! credential scope (its own service, a date, a region) for a session or a user's key, never
//! the secret; the key verifies that scope's requests and no other; keys for another service,
//! for `sts` or `idbroker`, for a wrong or revoked session token, or for a far date are refused.
//! The server in-process on loopback with the demo configuration; requests signed with the
//! project's SigV4 signer, sessions made with the AWS SDK.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use idbroker::clock::{epoch, Clock, ManualClock, SystemClock};
use idbroker::config::Config;
use idbroker_session::RevocationScope;
use idbroker_sigv4::{
    format_amz_date, parse_request, sign, Payload, RequestParts, ScopeKey, SigningKey,
    SigningParams,
};
use serde_json::{json, Value};

mod common;
use common::{raw_http, sdk_with_keys, start, KEY, READER, SECRET};

/// The demo's reports service (README, "Verifying requests from other languages").
const SVC_KEY: &str = "AKIAIDBROKERDEMOSVC1";
const SVC_SECRET: &str = "idbrokerDemoServiceSecretDoNotUseIt00000";
/// A service allowed on every service name (to show sts and idbroker are refused anyway).
const ANY_KEY: &str = "AKIAANYSERVICE000001";
const ANY_SECRET: &str = "anyServiceSecretForTestsOnly000000000000";
const EXTRA: &str = r#"
[[users]]
name = "any-service"
inline_policies = { verify = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"idbroker:VerifyRequest","Resource":"*"}}' }

[[users.access_keys]]
id = "AKIAANYSERVICE000001"
secret = { value = "anyServiceSecretForTestsOnly000000000000" }
"#;

struct Server {
    url: String,
    state: idbroker::state::AppState,
    now: SystemTime,
}

async fn server() -> Server {
    let now = SystemClock.now();
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/demo/idbroker.toml");
    let text = std::fs::read_to_string(&file).unwrap() + EXTRA;
    let cfg = Config::from_toml(&text, &file, &|_| None, now).unwrap();
    let state = idbroker::build_state(cfg, Arc::new(ManualClock::new(now)))
        .await
        .unwrap();
    let url = start(state.clone()).await;
    Server { url, state, now }
}

/// `POST /verify/key` with `doc`, signed by (`key`, `secret`) for the service `idbroker`.
async fn ask(s: &Server, key: &str, secret: &str, doc: &Value) -> (u16, Value, String) {
    let body = doc.to_string();
    let host = s.url.trim_start_matches("http://").to_owned();
    let headers = [
        ("Host", host.as_str()),
        ("Content-Type", "application/json"),
    ];
    let parts = RequestParts {
        method: "POST",
        path: "/verify/key",
        query: "",
        headers: &headers,
        payload: Payload::Bytes(body.as_bytes()),
    };
    let params = SigningParams::new(key, secret, "us-east-1", "idbroker", epoch(s.now));
    let signed = sign(&parts, &params).unwrap();
    let extra: String = signed
        .headers()
        .iter()
        .map(|(n, v)| format!("{n}: {v}\r\n"))
        .collect();
    let raw = format!(
        "POST /verify/key HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
    let resp = raw_http(&s.url, raw).await;
    let status: u16 = resp.split(' ').nth(1).unwrap().parse().unwrap();
    let (_, json_body) = resp.split_once("\r\n\r\n").unwrap();
    (status, serde_json::from_str(json_body).unwrap(), resp)
}

struct Session {
    id: String,
    secret: String,
    token: String,
}

async fn session(s: &Server, name: &str) -> Session {
    let out = sdk_with_keys(&s.url, KEY, SECRET, None, s.now)
        .assume_role()
        .role_arn(READER)
        .role_session_name(name)
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    Session {
        id: c.access_key_id().into(),
        secret: c.secret_access_key().into(),
        token: c.session_token().into(),
    }
}

fn day(now: SystemTime) -> String {
    format_amz_date(epoch(now))[..8].to_owned()
}

/// A GET of reports.example.com signed by `c` for (`region`, `service`) at `now`, checked with
/// `key` for the scope (`date`, `region`, `service`) as a downstream verifier would.
fn verifies(
    c: &Session,
    now: SystemTime,
    (region, service): (&str, &str),
    key: &ScopeKey,
    scope: (&str, &str, &str),
) -> bool {
    let headers = [("Host", "reports.example.com")];
    let parts = RequestParts {
        method: "GET",
        path: "/reports/q3.pdf",
        query: "",
        headers: &headers,
        payload: Payload::Bytes(b""),
    };
    let mut params = SigningParams::new(&c.id, &c.secret, region, service, epoch(now));
    params.security_token = Some(&c.token);
    let signed = sign(&parts, &params).unwrap();
    let all = signed.headers_after(&headers);
    let parts = RequestParts {
        headers: &all,
        ..parts
    };
    let signing_key = SigningKey::from_scope_key(key, scope.0, scope.1, scope.2).unwrap();
    let parsed = parse_request(&parts).unwrap();
    if !signing_key.fits(parsed.signature()) {
        return false;
    }
    parsed.verify(&signing_key, epoch(now), 900).is_ok()
}

#[actix_web::test]
async fn a_service_gets_its_own_scope_key_and_nothing_more() {
    let s = server().await;
    let alice = session(&s, "alice").await;
    let today = day(s.now);
    let doc = json!({"service": "reports", "access_key_id": alice.id, "session_token": alice.token,
                     "date": today, "region": "us-east-1"});
    let (status, answer, raw) = ask(&s, SVC_KEY, SVC_SECRET, &doc).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["caller"]["arn"],
        "arn:aws:sts::123456789012:assumed-role/ReportsReader/alice"
    );
    assert_eq!(answer["caller"]["type"], "AssumedRole");
    assert_eq!(answer["service"], "reports");
    // The server's policies for the session, as documents: the role's managed and inline ones.
    let ids: Vec<&str> = answer["policies"]["identity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"arn:aws:iam::123456789012:policy/ReadOnlyReports"),
        "{ids:?}"
    );
    assert!(answer["policies"]["identity"][0]["document"]
        .as_str()
        .unwrap()
        .contains("Statement"));
    assert_eq!(answer["policies"]["resolved"], true);
    assert_eq!(
        answer["policy_version"].as_str().unwrap(),
        s.state.config.directory.version()
    );
    assert!(answer["expires_at"].as_u64().unwrap() > epoch(s.now));
    // Never the secret; the token only as the caller sent it (not echoed).
    assert!(!raw.contains(&alice.secret));
    assert!(!raw.contains(&alice.token));
    assert!(raw.to_ascii_lowercase().contains("cache-control: no-store"));
    let key = ScopeKey::from_hex(answer["signing_key"].as_str().unwrap()).unwrap();

    // It verifies the session's requests to this service, this region, this day...
    let scope = (today.as_str(), "us-east-1", "reports");
    assert!(verifies(
        &alice,
        s.now,
        ("us-east-1", "reports"),
        &key,
        scope
    ));
    // ...and not those signed for another service or region (another scope), nor a forgery
    // claiming this scope with another secret.
    assert!(!verifies(
        &alice,
        s.now,
        ("us-east-1", "orders"),
        &key,
        ("x", "y", "z")
    ));
    assert!(!verifies(
        &alice,
        s.now,
        ("eu-west-1", "reports"),
        &key,
        (today.as_str(), "eu-west-1", "reports")
    ));
    // ...nor those of another day (checked at that day's time, with the key labelled for it).
    let tomorrow_t = s.now + Duration::from_secs(86_400);
    let tomorrow = day(tomorrow_t);
    assert!(!verifies(
        &alice,
        tomorrow_t,
        ("us-east-1", "reports"),
        &key,
        (tomorrow.as_str(), "us-east-1", "reports")
    ));
    let mallory = Session {
        secret: "x".repeat(40),
        ..session(&s, "mallory").await
    };
    assert!(!verifies(
        &mallory,
        s.now,
        ("us-east-1", "reports"),
        &key,
        scope
    ));

    // Another service's key: the reports service may not have it.
    let (status, answer, _) = ask(
        &s,
        SVC_KEY,
        SVC_SECRET,
        &json!({"service": "orders", "access_key_id": alice.id, "session_token": alice.token,
                "date": today, "region": "us-east-1"}),
    )
    .await;
    assert_eq!(
        (status, answer["Error"]["Code"].as_str()),
        (403, Some("AccessDenied")),
        "{answer}"
    );
    // sts and idbroker: never, even for a service allowed on every service name.
    for never in ["sts", "idbroker"] {
        let (status, answer, _) = ask(
            &s,
            ANY_KEY,
            ANY_SECRET,
            &json!({"service": never, "access_key_id": alice.id, "session_token": alice.token,
                    "date": today, "region": "us-east-1"}),
        )
        .await;
        assert_eq!(
            (status, answer["Error"]["Code"].as_str()),
            (403, Some("AccessDenied")),
            "{never}: {answer}"
        );
    }
    // The any-service may have the reports key (its policy allows *).
    let (status, _, _) = ask(&s, ANY_KEY, ANY_SECRET, &doc).await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn a_key_needs_a_valid_credential_and_a_near_date() {
    let s = server().await;
    let alice = session(&s, "alice").await;
    let today = day(s.now);
    let ask_for = |id: &str, token: Option<&str>, date: &str| {
        json!({"service": "reports", "access_key_id": id, "session_token": token,
               "date": date, "region": "us-east-1"})
    };
    let code = |a: &Value| a["Error"]["Code"].as_str().unwrap_or_default().to_owned();
    // No token, another token, an unknown id.
    let (st, a, _) = ask(&s, SVC_KEY, SVC_SECRET, &ask_for(&alice.id, None, &today)).await;
    assert_eq!((st, code(&a)), (403, "InvalidClientTokenId".into()));
    let bob = session(&s, "bob").await;
    let (st, a, _) = ask(
        &s,
        SVC_KEY,
        SVC_SECRET,
        &ask_for(&alice.id, Some(&bob.token), &today),
    )
    .await;
    assert_eq!((st, code(&a)), (403, "InvalidClientTokenId".into()));
    let (st, a, _) = ask(
        &s,
        SVC_KEY,
        SVC_SECRET,
        &ask_for("ASIAUNKNOWNUNKNOWN00", Some(&alice.token), &today),
    )
    .await;
    assert_eq!((st, code(&a)), (403, "InvalidClientTokenId".into()));
    // A date three days away.
    let far = format_amz_date(epoch(s.now) + 3 * 86_400)[..8].to_owned();
    let (st, a, _) = ask(
        &s,
        SVC_KEY,
        SVC_SECRET,
        &ask_for(&alice.id, Some(&alice.token), &far),
    )
    .await;
    assert_eq!((st, code(&a)), (400, "ValidationError".into()));
    // A long-term user key: its key for the day (no token allowed with it).
    let (st, a, _) = ask(&s, SVC_KEY, SVC_SECRET, &ask_for(KEY, None, &today)).await;
    assert_eq!(st, 200, "{a}");
    assert_eq!(a["caller"]["arn"], "arn:aws:iam::123456789012:user/demo");
    assert_eq!(a["caller"]["issued_at"], Value::Null);
    let (st, _, _) = ask(
        &s,
        SVC_KEY,
        SVC_SECRET,
        &ask_for(KEY, Some(&alice.token), &today),
    )
    .await;
    assert_eq!(st, 403);
    // Revoked (by a mark on its role): no key any more.
    let (st, _, _) = ask(
        &s,
        SVC_KEY,
        SVC_SECRET,
        &ask_for(&alice.id, Some(&alice.token), &today),
    )
    .await;
    assert_eq!(st, 200);
    s.state
        .store
        .set_revoked_before(&RevocationScope::Role(READER.into()), epoch(s.now), 200_000)
        .await
        .unwrap();
    let (st, a, _) = ask(
        &s,
        SVC_KEY,
        SVC_SECRET,
        &ask_for(&alice.id, Some(&alice.token), &today),
    )
    .await;
    assert_eq!((st, code(&a)), (403, "InvalidClientTokenId".into()));
    // Unsigned: refused before anything else.
    let raw = raw_http(
        &s.url,
        "POST /verify/key HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
            .into(),
    )
    .await;
    assert!(raw.starts_with("HTTP/1.1 4"), "{raw}");
}

mod switch_store;
use switch_store::{Op, SwitchStore};

#[actix_web::test]
async fn with_the_store_down_no_key_is_given() {
    let mut s = server().await;
    let alice = session(&s, "alice").await;
    let switch = SwitchStore::new(s.state.store.clone());
    s.state.store = switch.clone();
    s.url = start(s.state.clone()).await;
    let doc = json!({"service": "reports", "access_key_id": alice.id, "session_token": alice.token,
                     "date": day(s.now), "region": "us-east-1"});
    switch.set(&[Op::Get], true);
    let (status, answer, raw) = ask(&s, SVC_KEY, SVC_SECRET, &doc).await;
    assert_eq!(
        (status, answer["Error"]["Code"].as_str()),
        (503, Some("ServiceUnavailable")),
        "{answer}"
    );
    assert!(!raw.contains("signing_key"));
    switch.heal();
    let (status, _, _) = ask(&s, SVC_KEY, SVC_SECRET, &doc).await;
    assert_eq!(status, 200);
}
