//! Security review, issue 13, item 7, on the OIDC side:
//!
//! - the console's OIDC sign-in names the session after `email` only when the IdP verified it
//!   (`email_verified`), else after `sub`; either is made a valid RoleSessionName;
//! - `/workload/credentials` without a RoleSessionName names the session after the token's
//!   `sub`, not `workload` for every pod;
//! - an unauthenticated caller of AssumeRoleWithWebIdentity or `/workload/credentials` learns
//!   nothing of the configuration from a refused token: an unknown issuer, a disallowed
//!   algorithm, an unknown key id and a bad signature all get the same answer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod oidc;

use std::sync::Arc;
use std::time::SystemTime;

use aws_sdk_sts::config::Credentials;
use idbroker::clock::{Clock, ManualClock, SystemClock};
use idbroker::federation::oidc::OidcFederation;
use idbroker_session::MemoryStore;
use oidc::*;
use serde_json::json;

fn valid_session_name(s: &str) -> bool {
    (2..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

#[tokio::test]
async fn console_session_name_uses_only_a_verified_email() {
    install_crypto();
    let key = rsa_key("rsa-1", "RS256");
    let cfg = load(&config_text(
        &format!("jwks_inline = '{}'", jwks(&[&key])),
        "",
    ));
    let fed = OidcFederation::new(&cfg.oidc_providers, None).unwrap();
    let store = MemoryStore::new();
    let now = SystemClock.now();
    let name = |c: serde_json::Value| {
        let token = sign(&key, &c);
        let fed = &fed;
        let store = &store;
        async move {
            let t = fed.verify(&token, store, now).await.unwrap();
            idbroker::console::oidc_session_name(&t)
        }
    };
    let with = |sub: &str, extra: serde_json::Value| {
        let mut c = claims(sub, now);
        c.as_object_mut().unwrap().remove("email");
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };

    // Unverified, absent or not-true email_verified: the subject, never the email.
    for extra in [
        json!({"email": "ceo@example.com"}),
        json!({"email": "ceo@example.com", "email_verified": false}),
        json!({"email": "ceo@example.com", "email_verified": "false"}),
        json!({"email": "ceo@example.com", "email_verified": "True"}),
        json!({"email": "ceo@example.com", "email_verified": 1}),
        json!({"email": "ceo@example.com", "email_verified": null}),
    ] {
        assert_eq!(
            name(with("alice-1", extra.clone())).await,
            "alice-1",
            "{extra}"
        );
    }
    // Verified (boolean true, or the string "true" some IdPs send): the email.
    for extra in [
        json!({"email": "ceo@example.com", "email_verified": true}),
        json!({"email": "ceo@example.com", "email_verified": "true"}),
    ] {
        assert_eq!(
            name(with("alice-1", extra.clone())).await,
            "ceo@example.com",
            "{extra}"
        );
    }
    // A subject outside RoleSessionName's characters or length: a valid name that still tells
    // subjects apart (and keeps a readable prefix).
    let a = name(with("auth0|alice", json!({}))).await;
    let b = name(with("auth0|alice2", json!({}))).await;
    let c = name(with("auth0:alice", json!({}))).await;
    for n in [&a, &b, &c] {
        assert!(valid_session_name(n), "{n}");
        assert!(n.starts_with("auth0-alice"), "{n}");
    }
    assert!(a != b && a != c && b != c, "{a} {b} {c}");
    let long = name(with(&format!("alice{}", "x".repeat(200)), json!({}))).await;
    assert!(valid_session_name(&long), "{long}");
    let long2 = name(with(&format!("alice{}y", "x".repeat(200)), json!({}))).await;
    assert_ne!(long, long2);
    let short = name(with("a", json!({}))).await;
    assert!(valid_session_name(&short), "{short}");
    // A verified email that is no valid session name is made one too.
    let odd = name(with(
        "alice-1",
        json!({"email": "o'brien!@example.com", "email_verified": true}),
    ))
    .await;
    assert!(valid_session_name(&odd), "{odd}");
    assert!(odd.starts_with("o-brien-@example.com"), "{odd}");
}

struct World {
    url: String,
    t0: SystemTime,
    rsa: Key,
    ec: Key,
}

async fn world() -> World {
    install_crypto();
    let rsa = rsa_key("rsa-1", "RS256");
    let ec = ec_key("ec-1");
    let text = config_text(
        &format!(
            "jwks_inline = '{}'\nallowed_algorithms = [\"RS256\"]",
            jwks(&[&rsa, &ec])
        ),
        "",
    );
    let t0 = SystemClock.now();
    let clock = Arc::new(ManualClock::new(t0));
    let state = idbroker::build_state(load(&text), clock).await.unwrap();
    let url = common::start(state).await;
    World { url, t0, rsa, ec }
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn workload(url: &str, token: &str, query: &str) -> String {
    common::raw_http(
        url,
        format!(
            "GET /workload/credentials?RoleArn={}{query} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
            enc(ROLE)
        ),
    )
    .await
}

/// The assumed-role ARN of container credentials (GetCallerIdentity with them).
async fn arn_of(w: &World, answer: &str) -> String {
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let body = answer.split_once("\r\n\r\n").unwrap().1;
    let j: serde_json::Value = serde_json::from_str(body).unwrap();
    let client = common::sdk(
        &w.url,
        Some(Credentials::new(
            j["AccessKeyId"].as_str().unwrap(),
            j["SecretAccessKey"].as_str().unwrap(),
            Some(j["Token"].as_str().unwrap().to_owned()),
            None,
            "t",
        )),
        w.t0,
    );
    let me = client.get_caller_identity().send().await.unwrap();
    me.arn().unwrap().to_owned()
}

#[actix_web::test]
async fn workload_sessions_are_named_after_the_subject() {
    let w = world().await;
    let prefix = "arn:aws:sts::123456789012:assumed-role/Deployer/";
    // A subject that is a valid session name: exactly it.
    let a = workload(&w.url, &sign(&w.rsa, &claims("alice-pod-1", w.t0)), "").await;
    assert_eq!(arn_of(&w, &a).await, format!("{prefix}alice-pod-1"));
    // Kubernetes service accounts: `:` is not allowed; two of them still differ.
    let sa = |n: &str| format!("alice:system:serviceaccount:ns:{n}");
    let mut names = Vec::new();
    for n in ["builder", "deployer"] {
        let a = workload(&w.url, &sign(&w.rsa, &claims(&sa(n), w.t0)), "").await;
        let arn = arn_of(&w, &a).await;
        let name = arn.strip_prefix(prefix).unwrap().to_owned();
        assert!(valid_session_name(&name), "{name}");
        assert!(
            name.starts_with(&format!("alice-system-serviceaccount-ns-{n}")),
            "{name}"
        );
        names.push(name);
    }
    assert_ne!(names[0], names[1]);
    // An explicit RoleSessionName still wins.
    let a = workload(
        &w.url,
        &sign(&w.rsa, &claims("alice-pod-2", w.t0)),
        "&RoleSessionName=pod-2",
    )
    .await;
    assert_eq!(arn_of(&w, &a).await, format!("{prefix}pod-2"));
}

/// The STS error of an answer, request id blanked: status line, code and message.
fn error_of(answer: &str) -> String {
    let status = answer.lines().next().unwrap_or_default();
    let between = |open: &str, close: &str| {
        let s = answer.find(open).map(|i| i + open.len())?;
        Some(answer[s..s + answer[s..].find(close)?].to_owned())
    };
    format!(
        "{status} {} {}",
        between("<Code>", "</Code>").unwrap_or_default(),
        between("<Message>", "</Message>").unwrap_or_default()
    )
}

async fn web_identity(url: &str, token: &str) -> String {
    let body = format!(
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn={}&RoleSessionName=s1&WebIdentityToken={}",
        enc(ROLE),
        enc(token)
    );
    common::raw_http(
        url,
        format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await
}

#[actix_web::test]
async fn refused_tokens_do_not_reveal_the_configuration() {
    let w = world().await;
    let good = claims("alice", w.t0);
    let stranger = rsa_key("rsa-1", "RS256"); // the configured kid, another key
    let unknown_issuer = {
        let mut c = good.clone();
        c["iss"] = json!("https://unknown-idp.example/tenant");
        sign(&w.rsa, &c)
    };
    let cases = [
        ("unknown issuer", unknown_issuer),
        ("bad signature", sign(&stranger, &good)),
        ("unknown kid", sign(&rsa_key("nope", "RS256"), &good)),
        // ES256 with a key of the provider, which allows only RS256 here.
        ("algorithm not allowed", sign(&w.ec, &good)),
    ];
    let mut answers = Vec::new();
    for (name, token) in &cases {
        let a = web_identity(&w.url, token).await;
        assert!(!a.contains("AccessKeyId"), "{name}: {a}");
        assert!(!a.contains("unknown-idp"), "{name}: {a}");
        assert!(!a.contains("OpenIDConnect provider"), "{name}: {a}");
        answers.push((*name, error_of(&a)));
        let a = workload(&w.url, token, "").await;
        assert!(!a.contains("unknown-idp"), "{name}: {a}");
        answers.push((*name, error_of(&a)));
    }
    let first = answers[0].1.clone();
    assert!(
        first.starts_with("HTTP/1.1 400") && first.contains(" InvalidIdentityToken "),
        "{first}"
    );
    for (name, a) in &answers {
        assert_eq!(a, &first, "{name}");
    }
    // AWS's own messages for refusals that need a genuine token first are kept.
    let mut c = good.clone();
    c["aud"] = json!("someone-else");
    let a = web_identity(&w.url, &sign(&w.rsa, &c)).await;
    assert!(
        a.contains("<Message>Incorrect token audience</Message>"),
        "{a}"
    );
    let a = web_identity(&w.url, "not.a.jwt").await;
    assert!(
        a.contains("The ID Token provided is not a valid JWT"),
        "{a}"
    );
}
