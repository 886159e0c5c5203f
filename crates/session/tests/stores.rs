//! One behaviour for every store: the in-memory one and a real Redis (REDIS_URL, default
//! redis://127.0.0.1:6379). Time is passed in; nothing sleeps.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use idbroker_session::credentials::{
    new_secret_access_key, new_session_token, new_temporary_access_key_id, token_sha256,
};
use idbroker_session::seal::SealingKeys;
use idbroker_session::{
    MemoryStore, RedisStore, Session, SessionError, SessionPrincipal, SessionStore,
};

const NOW: u64 = 1_795_867_200;

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn unique_prefix() -> String {
    format!(
        "idbroker-test:{}:{}:",
        std::process::id(),
        new_temporary_access_key_id().unwrap()
    )
}

fn session(keys: &SealingKeys, lifetime: u64) -> (Session, String, String) {
    let id = new_temporary_access_key_id().unwrap();
    let secret = new_secret_access_key().unwrap();
    let token = new_session_token().unwrap();
    let s = Session {
        v: 1,
        secret: keys.seal(&secret, &id).unwrap(),
        access_key_id: id,
        token_sha256: token_sha256(&token),
        principal: SessionPrincipal::AssumedRole {
            role_arn: "arn:aws:iam::123456789012:role/demo/R".into(),
            role_name: "R".into(),
            session_name: "alice".into(),
        },
        arn: "arn:aws:sts::123456789012:assumed-role/R/alice".into(),
        user_id: "AROAEXAMPLE:alice".into(),
        account: "123456789012".into(),
        source_identity: None,
        tags: vec![],
        transitive_tag_keys: vec![],
        session_policy: None,
        session_policy_arns: vec![],
        parent_access_key_id: None,
        issued_at: NOW,
        expires_at: NOW + lifetime,
    };
    (s, secret.to_string(), token.to_string())
}

async fn behaviour(store: &dyn SessionStore) {
    let keys = SealingKeys::new("k1", &[7u8; 32]).unwrap();
    store.ping().await.unwrap();
    let (s, secret, token) = session(&keys, 3600);
    store.put(&s, NOW).await.unwrap();
    let got = store
        .get(&s.access_key_id, NOW + 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, s);
    assert!(got.token_matches(&token));
    assert!(!got.token_matches("forged"));
    assert_eq!(
        *keys.unseal(&got.secret, &got.access_key_id).unwrap(),
        secret
    );
    // Expired by the caller's clock: gone, even if the backend still holds it.
    assert!(store
        .get(&s.access_key_id, NOW + 3600)
        .await
        .unwrap()
        .is_none());
    // Unknown ids.
    assert!(store
        .get("ASIAAAAAAAAAAAAAAAAA", NOW)
        .await
        .unwrap()
        .is_none());
    // Already expired sessions are not stored.
    assert!(matches!(
        store.put(&s, NOW + 3600).await,
        Err(SessionError::Expired)
    ));
    // Revocation.
    store.delete(&s.access_key_id).await.unwrap();
    assert!(store.get(&s.access_key_id, NOW).await.unwrap().is_none());
    // Single use.
    let id = new_temporary_access_key_id().unwrap();
    store.use_once("saml", &id, NOW + 300, NOW).await.unwrap();
    assert!(matches!(
        store.use_once("saml", &id, NOW + 300, NOW + 1).await,
        Err(SessionError::Replay)
    ));
    // Another namespace is another id.
    store.use_once("jti", &id, NOW + 300, NOW).await.unwrap();
}

#[tokio::test]
async fn memory_store() {
    let store = MemoryStore::new();
    behaviour(&store).await;
    // The in-memory store forgets single-use ids once they expire.
    store.use_once("saml", "x", NOW + 10, NOW).await.unwrap();
    store
        .use_once("saml", "x", NOW + 30, NOW + 20)
        .await
        .unwrap();
}

#[tokio::test]
async fn redis_store() {
    let prefix = unique_prefix();
    let store = RedisStore::connect(&redis_url(), &prefix, Duration::from_millis(500))
        .await
        .unwrap();
    behaviour(&store).await;
    // TTL on the record equals the session's remaining lifetime; the key carries the hash tag.
    let keys = SealingKeys::new("k1", &[7u8; 32]).unwrap();
    let (s, _, _) = session(&keys, 900);
    store.put(&s, NOW).await.unwrap();
    let key = store.session_key(&s.access_key_id);
    assert!(key.contains(&format!("{{{}}}", s.access_key_id)));
    let client = redis::Client::open(redis_url()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut con)
        .await
        .unwrap();
    assert!((899..=900).contains(&ttl), "ttl {ttl}");
    store.delete(&s.access_key_id).await.unwrap();
}

#[tokio::test]
async fn single_use_holds_across_replicas() {
    let prefix = unique_prefix();
    let a = RedisStore::connect(&redis_url(), &prefix, Duration::from_millis(500))
        .await
        .unwrap();
    let b = RedisStore::connect(&redis_url(), &prefix, Duration::from_millis(500))
        .await
        .unwrap();
    let id = new_temporary_access_key_id().unwrap();
    let (ra, rb) = tokio::join!(
        a.use_once("saml", &id, NOW + 300, NOW),
        b.use_once("saml", &id, NOW + 300, NOW)
    );
    assert!(
        ra.is_ok() != rb.is_ok(),
        "exactly one replica wins: {ra:?} {rb:?}"
    );
}

#[tokio::test]
async fn a_store_that_is_down_is_unavailable_quickly() {
    let started = Instant::now();
    let r = RedisStore::connect("redis://127.0.0.1:1", "x:", Duration::from_millis(300)).await;
    assert!(matches!(r, Err(SessionError::Unavailable)));
    assert!(started.elapsed() < Duration::from_secs(3));
}
