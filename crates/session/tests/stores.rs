//! One behaviour for every store: the same suite runs against [`MemoryStore`], a standalone Redis
//! (`REDIS_URL`, default `redis://127.0.0.1:6379`) and, when `REDIS_CLUSTER_NODES` is set
//! (comma-separated `redis://host:port`), a Redis Cluster. Each run uses its own key prefix and
//! removes its keys afterwards. Time is passed in; nothing sleeps.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    // Session times are passed in; the monotonic clock only bounds how long an unreachable
    // store takes to answer and how long a subscription takes to start.
    clippy::disallowed_methods
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use idbroker_session::{
    connect, AccessKeyId, Admission, FeedNews, ListPosition, MemoryStore, PolicyRefs, Principal,
    PrincipalKind, RateBucket, RateLimit, RedisOptions, RedisStore, RevocationEvent,
    RevocationScope, SealingKeys, SecretAccessKey, Session, SessionError, SessionStore,
    SessionStoreConfig, SessionTag, SessionToken,
};
use redis::FromRedisValue;

// What a test does when a peer (the Redis Cluster, a Redis without replicas) is missing: the root
// package's one helper, this very file (this crate's tests cannot import tests/common).
#[path = "../../../tests/common/skip.rs"]
mod skip;
use skip::skip_or_fail;

/// 2026-11-28T08:00:00Z: the suite's clock. It has nothing to do with the real time.
const NOW: u64 = 1_795_867_200;
const ROLE: &str = "arn:aws:iam::123456789012:role/team/Deployer";

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn cluster_nodes() -> Option<Vec<String>> {
    let nodes = std::env::var("REDIS_CLUSTER_NODES").ok()?;
    let nodes: Vec<String> = nodes
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| {
            if n.contains("://") {
                n.to_owned()
            } else {
                format!("redis://{n}")
            }
        })
        .collect();
    (!nodes.is_empty()).then_some(nodes)
}

fn unique_prefix(what: &str) -> String {
    format!(
        "idbroker-test:{what}:{}:{}:",
        std::process::id(),
        AccessKeyId::generate_temporary().unwrap()
    )
}

fn options(prefix: &str) -> RedisOptions {
    RedisOptions {
        prefix: prefix.to_owned(),
        ..RedisOptions::default()
    }
}

fn keys() -> SealingKeys {
    SealingKeys::new("k1", &[7u8; 32]).unwrap()
}

struct Minted {
    session: Session,
    secret: SecretAccessKey,
    token: SessionToken,
}

fn mint(keys: &SealingKeys, issued_at: u64, lifetime: u64) -> Minted {
    let id = AccessKeyId::generate_temporary().unwrap();
    let secret = SecretAccessKey::generate().unwrap();
    let token = SessionToken::generate().unwrap();
    let session = Session {
        secret: keys.seal(&secret, &id).unwrap(),
        access_key_id: id,
        token_hash: token.hash(),
        principal: Principal {
            kind: PrincipalKind::AssumedRole,
            arn: "arn:aws:sts::123456789012:assumed-role/Deployer/alice".into(),
            principal_id: "AROAEXAMPLEEXAMPLE01:alice".into(),
            account: "123456789012".into(),
            role_arn: Some(ROLE.into()),
            session_name: Some("alice".into()),
            source_identity: Some("alice@example.com".into()),
            tags: vec![SessionTag {
                key: "team".into(),
                value: "blue".into(),
            }],
            transitive_tag_keys: vec!["team".into()],
            user_name: None,
        },
        policies: PolicyRefs {
            identity_policy_ids: vec!["deploy".into()],
            managed_policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
            session_policy: Some(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#
                    .into(),
            ),
            session_policy_arns: vec!["arn:aws:iam::123456789012:policy/Narrow".into()],
            permissions_boundary_arn: Some("arn:aws:iam::123456789012:policy/Boundary".into()),
        },
        issued_at,
        expires_at: issued_at + lifetime,
        mfa: true,
        mfa_authenticated_at: Some(1),
        chained_from: None,
    };
    Minted {
        session,
        secret,
        token,
    }
}

/// Raw access to a Redis backend, for what the trait does not show: TTLs, slots, planted
/// records, cleanup.
enum Raw {
    Standalone(redis::aio::MultiplexedConnection),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl Raw {
    async fn open(nodes: Option<&[String]>) -> Raw {
        match nodes {
            None => Raw::Standalone(
                redis::Client::open(redis_url())
                    .unwrap()
                    .get_multiplexed_async_connection()
                    .await
                    .unwrap(),
            ),
            Some(nodes) => Raw::Cluster(
                redis::cluster::ClusterClient::new(nodes.to_vec())
                    .unwrap()
                    .get_async_connection()
                    .await
                    .unwrap(),
            ),
        }
    }

    async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
        match self {
            Raw::Standalone(c) => cmd.query_async(&mut c.clone()).await.unwrap(),
            Raw::Cluster(c) => cmd.query_async(&mut c.clone()).await.unwrap(),
        }
    }

    async fn ttl(&self, key: &str) -> i64 {
        self.query(redis::cmd("TTL").arg(key)).await
    }

    async fn is_cluster(&self) -> bool {
        matches!(self, Raw::Cluster(_))
    }
}

/// Delete every key under `prefix`, on a standalone server or on each node of a cluster.
async fn cleanup(prefix: &str, nodes: Option<&[String]>) {
    let urls: Vec<String> = match nodes {
        None => vec![redis_url()],
        Some(n) => n.to_vec(),
    };
    for url in urls {
        let mut con = redis::Client::open(url)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{prefix}*"))
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut con)
                .await
                .unwrap();
            for key in keys {
                // One key per DEL: in a cluster, only keys of this node's slots are here.
                let _: i64 = redis::cmd("DEL")
                    .arg(&key)
                    .query_async(&mut con)
                    .await
                    .unwrap();
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
}

/// The hash tag Redis Cluster hashes: the text between the first `{` and the next `}`.
fn hash_tag(key: &str) -> Option<&str> {
    let open = key.find('{')?;
    let close = key[open + 1..].find('}')? + open + 1;
    (close > open + 1).then(|| &key[open + 1..close])
}

struct Probe<'a> {
    store: &'a RedisStore,
    raw: Raw,
}

/// The suite. `replica` is a second handle on the same shared state (another `RedisStore` with
/// the same prefix: another server replica); `probe` is there for Redis backends.
async fn suite(
    name: &str,
    store: &dyn SessionStore,
    replica: &dyn SessionStore,
    probe: Option<&Probe<'_>>,
) {
    let keys = keys();
    store.ping().await.unwrap();
    round_trip(store, replica, &keys, probe).await;
    expiry(store, &keys, probe).await;
    no_overwrite_and_validation(store, &keys).await;
    delete_and_revoke(store, &keys, probe).await;
    single_use(store, replica, probe).await;
    handoffs(store, replica, probe).await;
    revocation_marks(store, replica, &keys, probe).await;
    rate_limits(store, replica).await;
    listing(store, replica, &keys, probe).await;
    // On a cluster too (issue 16): the feed subscribes on every primary.
    revocation_feed(store, replica, &keys).await;
    if let Some(probe) = probe {
        corrupt_records(store, &keys, probe).await;
    }
    println!("{name}: suite passed");
}

/// Rate-limit buckets: shared by replicas, a burst then the rate, all or nothing, bounded names.
async fn rate_limits(store: &dyn SessionStore, replica: &dyn SessionStore) {
    let now = NOW * 1_000_000;
    let bucket = |name: &str, rate: f64, burst: u32| RateBucket {
        name: name.to_owned(),
        limit: RateLimit::per_second(rate, burst).unwrap(),
    };
    let abusive = bucket("throttle:AssumeRole:principal:abusive", 10.0, 3);
    let other = bucket("throttle:AssumeRole:principal:other", 10.0, 3);
    // The burst, drawn half from each replica: they share the bucket.
    for s in [store, replica, store] {
        let one = std::slice::from_ref(&abusive);
        assert_eq!(s.admit(one, now).await, Ok(Admission::Admitted));
    }
    for s in [store, replica] {
        assert_eq!(
            s.admit(std::slice::from_ref(&abusive), now + 1).await,
            Ok(Admission::Limited {
                bucket: 0,
                retry_after: Duration::from_micros(99_999)
            })
        );
    }
    // Another key's bucket is untouched.
    assert_eq!(
        store.admit(std::slice::from_ref(&other), now).await,
        Ok(Admission::Admitted)
    );
    // One interval later, room for one.
    assert_eq!(
        replica
            .admit(std::slice::from_ref(&abusive), now + 100_000)
            .await,
        Ok(Admission::Admitted)
    );
    assert!(matches!(
        store
            .admit(std::slice::from_ref(&abusive), now + 100_000)
            .await,
        Ok(Admission::Limited { bucket: 0, .. })
    ));
    // Several buckets: refused by the empty one, and a refusal by the first charges nothing.
    let fresh = bucket("throttle:AssumeRoleWithSAML:provider:p", 1.0, 1);
    let both = [abusive.clone(), fresh.clone()];
    assert!(matches!(
        store.admit(&both, now + 100_000).await,
        Ok(Admission::Limited { bucket: 0, .. })
    ));
    assert_eq!(
        store.admit(std::slice::from_ref(&fresh), now).await,
        Ok(Admission::Admitted)
    );
    // The index names the empty bucket wherever it is.
    let fresh2 = bucket("throttle:AssumeRoleWithSAML:provider:q", 1.0, 1);
    let both = [fresh2, abusive.clone()];
    assert!(matches!(
        store.admit(&both, now + 100_000).await,
        Ok(Admission::Limited { bucket: 1, .. })
    ));
    // Names a store must not take.
    for name in ["", "a{b}", "has space"] {
        assert!(matches!(
            store.admit(&[bucket(name, 1.0, 1)], now).await,
            Err(SessionError::Invalid(_))
        ));
    }
}

async fn round_trip(
    store: &dyn SessionStore,
    replica: &dyn SessionStore,
    keys: &SealingKeys,
    probe: Option<&Probe<'_>>,
) {
    let m = mint(keys, NOW, 3600);
    let id = m.session.access_key_id.clone();
    store.put(&m.session, NOW).await.unwrap();
    let got = store.get(&id, NOW + 10).await.unwrap().unwrap();
    assert_eq!(got, m.session);
    assert!(got.token_matches(m.token.expose_secret()));
    assert!(!got.token_matches("forged"));
    assert_eq!(
        keys.unseal(&got.secret, &got.access_key_id).unwrap(),
        m.secret
    );
    // Another replica sees the same session.
    assert_eq!(
        replica.get(&id, NOW + 10).await.unwrap().unwrap(),
        m.session
    );
    // Unknown ids.
    let unknown = AccessKeyId::generate_temporary().unwrap();
    assert!(store.get(&unknown, NOW).await.unwrap().is_none());

    if let Some(p) = probe {
        // Expiry in Redis = the session's remaining life at `put` time.
        let key = p.store.session_key(&id);
        let ttl = p.raw.ttl(&key).await;
        assert!((3598..=3600).contains(&ttl), "ttl {ttl}");
        // Nothing secret in the stored record.
        let raw: String = p.raw.query(redis::cmd("GET").arg(&key)).await;
        assert!(raw.starts_with(r#"{"v":1,"#), "{raw}");
        assert!(!raw.contains(m.secret.expose_secret()));
        assert!(!raw.contains(m.token.expose_secret()));
        // Every key of a session carries its id as the hash tag: one slot.
        let all = p.store.keys_of_session(&id);
        assert!(!all.is_empty());
        for k in &all {
            assert!(k.starts_with(p.store.prefix()), "{k}");
            assert_eq!(hash_tag(k), Some(id.as_str()), "{k}");
        }
        if p.raw.is_cluster().await {
            let mut slots = Vec::new();
            for k in &all {
                let slot: i64 = p
                    .raw
                    .query(redis::cmd("CLUSTER").arg("KEYSLOT").arg(k))
                    .await;
                slots.push(slot);
            }
            assert!(slots.windows(2).all(|w| w[0] == w[1]), "{slots:?}");
        }
    }
    store.delete(&id).await.unwrap();
}

async fn expiry(store: &dyn SessionStore, keys: &SealingKeys, probe: Option<&Probe<'_>>) {
    let m = mint(keys, NOW, 900);
    let id = m.session.access_key_id.clone();
    store.put(&m.session, NOW).await.unwrap();
    if let Some(p) = probe {
        let ttl = p.raw.ttl(&p.store.session_key(&id)).await;
        assert!((898..=900).contains(&ttl), "ttl {ttl}");
    }
    // Alive until the last second, gone at `expires_at`, although Redis still holds it.
    assert!(store.get(&id, NOW + 899).await.unwrap().is_some());
    assert!(store.get(&id, NOW + 900).await.unwrap().is_none());
    assert!(store.get(&id, NOW + 100_000).await.unwrap().is_none());
    // Stored later in its life: the backend's expiry is what is left.
    let late = mint(keys, NOW, 3600);
    store.put(&late.session, NOW + 3000).await.unwrap();
    if let Some(p) = probe {
        let ttl = p
            .raw
            .ttl(&p.store.session_key(&late.session.access_key_id))
            .await;
        assert!((598..=600).contains(&ttl), "ttl {ttl}");
    }
    // Already expired: not stored.
    let old = mint(keys, NOW - 7200, 3600);
    assert_eq!(
        store.put(&old.session, NOW).await,
        Err(SessionError::Expired)
    );
    let edge = mint(keys, NOW - 3600, 3600);
    assert_eq!(
        store.put(&edge.session, NOW).await,
        Err(SessionError::Expired)
    );
    assert!(store
        .get(&old.session.access_key_id, NOW - 7000)
        .await
        .unwrap()
        .is_none());
    store.delete(&id).await.unwrap();
    store.delete(&late.session.access_key_id).await.unwrap();
}

async fn no_overwrite_and_validation(store: &dyn SessionStore, keys: &SealingKeys) {
    let m = mint(keys, NOW, 3600);
    store.put(&m.session, NOW).await.unwrap();
    // The same access key id again (another record under it): refused, the first one stays.
    let mut other = mint(keys, NOW, 7200).session;
    other.access_key_id = m.session.access_key_id.clone();
    assert_eq!(store.put(&other, NOW).await, Err(SessionError::Replay));
    assert_eq!(
        store
            .get(&m.session.access_key_id, NOW)
            .await
            .unwrap()
            .unwrap(),
        m.session
    );
    // A long-term id cannot name a session; times must be in order.
    let mut long_term = mint(keys, NOW, 3600).session;
    long_term.access_key_id = AccessKeyId::generate_long_term().unwrap();
    assert!(matches!(
        store.put(&long_term, NOW).await,
        Err(SessionError::Invalid(_))
    ));
    let mut backwards = mint(keys, NOW, 3600).session;
    backwards.issued_at = backwards.expires_at + 1;
    assert!(matches!(
        store.put(&backwards, NOW).await,
        Err(SessionError::Invalid(_))
    ));
    // Role chaining: the parent is referenced, not copied.
    let mut child = mint(keys, NOW + 5, 3600).session;
    child.chained_from = Some(m.session.access_key_id.clone());
    store.put(&child, NOW + 5).await.unwrap();
    let got = store
        .get(&child.access_key_id, NOW + 5)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.chained_from.as_ref(), Some(&m.session.access_key_id));
    store.delete(&child.access_key_id).await.unwrap();
    store.delete(&m.session.access_key_id).await.unwrap();
}

async fn delete_and_revoke(
    store: &dyn SessionStore,
    keys: &SealingKeys,
    probe: Option<&Probe<'_>>,
) {
    // delete: forgotten; deleting again, or an unknown id, is fine.
    let m = mint(keys, NOW, 3600);
    let id = m.session.access_key_id.clone();
    store.put(&m.session, NOW).await.unwrap();
    store.delete(&id).await.unwrap();
    assert!(store.get(&id, NOW).await.unwrap().is_none());
    store.delete(&id).await.unwrap();

    // revoke: forgotten, and the id cannot come back for the rest of the session's life.
    let m = mint(keys, NOW, 3600);
    let id = m.session.access_key_id.clone();
    store.put(&m.session, NOW).await.unwrap();
    store.revoke(&id).await.unwrap();
    assert!(store.get(&id, NOW + 1).await.unwrap().is_none());
    assert_eq!(store.revoke(&id).await, Err(SessionError::NotFound));
    assert_eq!(store.put(&m.session, NOW).await, Err(SessionError::Replay));
    // Forgetting a revoked session keeps its tombstone.
    store.delete(&id).await.unwrap();
    assert_eq!(store.put(&m.session, NOW).await, Err(SessionError::Replay));
    if let Some(p) = probe {
        // The record is gone: its key holds the tombstone for the rest of the session's life.
        let ttl = p.raw.ttl(&p.store.session_key(&id)).await;
        assert!((3590..=3600).contains(&ttl), "tombstone ttl {ttl}");
        let value: String = p
            .raw
            .query(redis::cmd("GET").arg(p.store.session_key(&id)))
            .await;
        assert_eq!(value, "revoked");
    }
    let unknown = AccessKeyId::generate_temporary().unwrap();
    assert_eq!(store.revoke(&unknown).await, Err(SessionError::NotFound));
}

async fn single_use(
    store: &dyn SessionStore,
    replica: &dyn SessionStore,
    probe: Option<&Probe<'_>>,
) {
    let id = format!("_{}", AccessKeyId::generate_temporary().unwrap());
    store.use_once("saml", &id, NOW + 300, NOW).await.unwrap();
    assert_eq!(
        store.use_once("saml", &id, NOW + 300, NOW + 1).await,
        Err(SessionError::Replay)
    );
    // The other replica sees it too.
    assert_eq!(
        replica.use_once("saml", &id, NOW + 600, NOW + 2).await,
        Err(SessionError::Replay)
    );
    // Another namespace is another id.
    store.use_once("jti", &id, NOW + 300, NOW).await.unwrap();
    if let Some(p) = probe {
        let ttl = p.raw.ttl(&p.store.once_key("saml", &id)).await;
        assert!((298..=300).contains(&ttl), "ttl {ttl}");
    }
    // Ids with hash-tag braces, spaces, newlines and great length are just ids.
    let odd = format!("{{x}} \n{}", "é".repeat(5000));
    replica.use_once("jti", &odd, NOW + 60, NOW).await.unwrap();
    assert_eq!(
        store.use_once("jti", &odd, NOW + 60, NOW).await,
        Err(SessionError::Replay)
    );
    // An id whose time is over is not recorded; malformed namespaces and empty ids are refused.
    assert_eq!(
        store.use_once("saml", "late", NOW, NOW).await,
        Err(SessionError::Expired)
    );
    assert!(matches!(
        store.use_once("SAML:x", "a", NOW + 60, NOW).await,
        Err(SessionError::Invalid(_))
    ));
    assert!(matches!(
        store.use_once("saml", "", NOW + 60, NOW).await,
        Err(SessionError::Invalid(_))
    ));

    // Replicas racing for the same ids: exactly one winner per id.
    for round in 0..20 {
        let id = format!(
            "race-{round}-{}",
            AccessKeyId::generate_temporary().unwrap()
        );
        let (a, b) = tokio::join!(
            store.use_once("saml", &id, NOW + 300, NOW),
            replica.use_once("saml", &id, NOW + 300, NOW)
        );
        let wins = [&a, &b].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {a:?} {b:?}");
        assert!(a == Err(SessionError::Replay) || b == Err(SessionError::Replay));
    }
}

/// A value left by one replica is taken once, by any replica, and never replaced.
async fn handoffs(store: &dyn SessionStore, replica: &dyn SessionStore, probe: Option<&Probe<'_>>) {
    let id = AccessKeyId::generate_temporary().unwrap().to_string();
    assert_eq!(store.take_handoff("device", &id, NOW).await, Ok(None));
    store
        .put_handoff("device", &id, b"granted", NOW + 60, NOW)
        .await
        .unwrap();
    // Not replaced: the first value stays.
    assert_eq!(
        replica
            .put_handoff("device", &id, b"other", NOW + 60, NOW)
            .await,
        Err(SessionError::Replay)
    );
    if let Some(p) = probe {
        let ttl = p.raw.ttl(&p.store.handoff_key("device", &id)).await;
        assert!((58..=60).contains(&ttl), "ttl {ttl}");
    }
    // Another namespace is another id.
    assert_eq!(store.take_handoff("devicex", &id, NOW).await, Ok(None));
    assert_eq!(
        replica.take_handoff("device", &id, NOW + 1).await,
        Ok(Some(b"granted".to_vec()))
    );
    assert_eq!(store.take_handoff("device", &id, NOW + 1).await, Ok(None));
    // Expired values are not handed over; bounds are enforced.
    store
        .put_handoff("device", "late", &[0u8; 3], NOW + 5, NOW)
        .await
        .unwrap();
    if probe.is_none() {
        // (Redis expires the key on its own clock; the memory store on the caller's.)
        assert_eq!(
            store.take_handoff("device", "late", NOW + 5).await,
            Ok(None)
        );
    }
    assert_eq!(
        store.put_handoff("device", "x", b"v", NOW, NOW).await,
        Err(SessionError::Expired)
    );
    let big = vec![7u8; idbroker_session::MAX_HANDOFF_BYTES + 1];
    assert!(matches!(
        store
            .put_handoff("device", "big", &big, NOW + 60, NOW)
            .await,
        Err(SessionError::Invalid(_))
    ));
    assert!(matches!(
        store
            .put_handoff("Device:x", "a", b"v", NOW + 60, NOW)
            .await,
        Err(SessionError::Invalid(_))
    ));
    // Two replicas taking at once: one gets it.
    for round in 0..10 {
        let id = format!(
            "race-{round}-{}",
            AccessKeyId::generate_temporary().unwrap()
        );
        store
            .put_handoff("device", &id, b"v", NOW + 60, NOW)
            .await
            .unwrap();
        let (a, b) = tokio::join!(
            store.take_handoff("device", &id, NOW),
            replica.take_handoff("device", &id, NOW)
        );
        let got = [&a, &b].iter().filter(|r| matches!(r, Ok(Some(_)))).count();
        assert_eq!(got, 1, "round {round}: {a:?} {b:?}");
    }
}

async fn revocation_marks(
    store: &dyn SessionStore,
    replica: &dyn SessionStore,
    keys: &SealingKeys,
    probe: Option<&Probe<'_>>,
) {
    for kind in ["role", "principal", "source-identity"] {
        // Fresh values for every scope of the session, so only the scope under test has a mark.
        let suffix = AccessKeyId::generate_temporary().unwrap();
        let mut before = mint(keys, NOW, 3600).session;
        before.principal.role_arn = Some(format!("{ROLE}-{suffix}"));
        before.principal.arn =
            format!("arn:aws:sts::123456789012:assumed-role/Deployer-{suffix}/alice");
        before.principal.source_identity = Some(format!("alice-{suffix}@example.com"));
        let scope = match kind {
            "role" => RevocationScope::Role(format!("{ROLE}-{suffix}")),
            "principal" => RevocationScope::Principal(before.principal.arn.clone()),
            _ => RevocationScope::SourceIdentity(format!("alice-{suffix}@example.com")),
        };
        assert!(before.revocation_scopes().contains(&scope));
        let mut after = before.clone();
        after.access_key_id = AccessKeyId::generate_temporary().unwrap();
        after.issued_at = NOW + 100;

        assert_eq!(store.revoked_before(&scope).await.unwrap(), None);
        assert!(!store.is_revoked(&before).await.unwrap());

        store
            .set_revoked_before(&scope, NOW + 50, 7200)
            .await
            .unwrap();
        assert_eq!(
            replica.revoked_before(&scope).await.unwrap(),
            Some(NOW + 50)
        );
        // Issued before the mark: revoked, on every replica; issued after: not.
        assert!(replica.is_revoked(&before).await.unwrap(), "{kind}");
        assert!(!replica.is_revoked(&after).await.unwrap(), "{kind}");
        // Marks only move forward.
        store
            .set_revoked_before(&scope, NOW + 10, 7200)
            .await
            .unwrap();
        assert_eq!(store.revoked_before(&scope).await.unwrap(), Some(NOW + 50));
        store
            .set_revoked_before(&scope, NOW + 100, 60)
            .await
            .unwrap();
        assert_eq!(store.revoked_before(&scope).await.unwrap(), Some(NOW + 100));
        // Issued in the mark's own second: revoked (fail closed).
        assert!(store.is_revoked(&after).await.unwrap(), "{kind}");
        if let Some(p) = probe {
            // The longer life was kept when a shorter one was asked for.
            let ttl = p.raw.ttl(&p.store.revocation_key(&scope)).await;
            assert!((7190..=7200).contains(&ttl), "ttl {ttl}");
        }
        // A scope of the same value but another kind is untouched.
        let cousin = match &scope {
            RevocationScope::Role(v) => RevocationScope::Principal(v.clone()),
            RevocationScope::Principal(v) => RevocationScope::SourceIdentity(v.clone()),
            RevocationScope::SourceIdentity(v) => RevocationScope::Role(v.clone()),
        };
        assert_eq!(store.revoked_before(&cousin).await.unwrap(), None);
    }
    let scope = RevocationScope::Role(ROLE.into());
    assert!(matches!(
        store.set_revoked_before(&scope, NOW, 0).await,
        Err(SessionError::Invalid(_))
    ));
}

/// Every page of `scope` from `after` on, `size` at a time, read by `store` at `now`.
async fn list_all(
    store: &dyn SessionStore,
    scope: &RevocationScope,
    mut after: Option<ListPosition>,
    size: usize,
    now: u64,
) -> Vec<AccessKeyId> {
    let mut ids = Vec::new();
    for _ in 0..100 {
        let page = store
            .list_sessions(scope, after.as_ref(), size, now)
            .await
            .unwrap();
        assert!(page.sessions.len() <= size);
        ids.extend(page.sessions.iter().map(|s| s.access_key_id.clone()));
        match page.next {
            Some(next) => {
                assert!(after.as_ref().is_none_or(|a| &next > a), "no progress");
                after = Some(next);
            }
            None => return ids,
        }
    }
    panic!("the listing of {scope:?} never ended");
}

/// The ids of `sessions` in listing order (expiry, then access key id).
fn in_order<'a>(sessions: impl IntoIterator<Item = &'a Session>) -> Vec<AccessKeyId> {
    let mut v: Vec<&Session> = sessions.into_iter().collect();
    v.sort_by_key(|s| ListPosition::of(s));
    v.into_iter().map(|s| s.access_key_id.clone()).collect()
}

/// Listing by role, principal and source identity: every session stored is listed, by another
/// replica too, page after page (ties on expiry included) with no duplicate and no omission,
/// also when the entry a page ended on is gone; revoked (one by one or by a mark), deleted and
/// expired sessions are not; bounded page sizes.
async fn listing(
    store: &dyn SessionStore,
    replica: &dyn SessionStore,
    keys: &SealingKeys,
    probe: Option<&Probe<'_>>,
) {
    let suffix = AccessKeyId::generate_temporary().unwrap();
    let role = format!("arn:aws:iam::123456789012:role/team/Lister-{suffix}");
    let si = format!("si-{suffix}");
    // Three share the shortest expiry (ties), two each of the others.
    let lifetimes = [900, 900, 900, 1800, 1800, 3600, 3600];
    let mut sessions = Vec::new();
    for (i, lifetime) in lifetimes.into_iter().enumerate() {
        let mut s = mint(keys, NOW, lifetime).session;
        s.principal.role_arn = Some(role.clone());
        s.principal.arn = format!("arn:aws:sts::123456789012:assumed-role/Lister-{suffix}/l{i}");
        s.principal.source_identity = (i % 2 == 0).then(|| si.clone());
        store.put(&s, NOW).await.unwrap();
        sessions.push(s);
    }
    let by_role = RevocationScope::Role(role.clone());
    let by_si = RevocationScope::SourceIdentity(si.clone());
    let all = in_order(&sessions);
    for size in [1, 2, 3, 7, 1000] {
        assert_eq!(
            list_all(replica, &by_role, None, size, NOW).await,
            all,
            "{size}"
        );
    }
    assert_eq!(
        list_all(store, &by_si, None, 2, NOW).await,
        in_order(sessions.iter().step_by(2))
    );
    let l3 = RevocationScope::Principal(sessions[3].principal.arn.clone());
    assert_eq!(
        list_all(store, &l3, None, 5, NOW).await,
        vec![sessions[3].access_key_id.clone()]
    );
    // What a page holds is the records themselves.
    let page = store.list_sessions(&l3, None, 5, NOW).await.unwrap();
    assert_eq!(page.sessions, vec![sessions[3].clone()]);
    assert_eq!(page.next, None);
    if let Some(p) = probe {
        // The index lives as long as its longest session.
        let ttl = p.raw.ttl(&p.store.index_key(&by_role)).await;
        assert!((3598..=3600).contains(&ttl), "ttl {ttl}");
        assert!(p.raw.ttl(&p.store.index_key(&l3)).await <= 1800);
    }

    // A page ends on `ended`; that session is revoked and a new listing drops its entry: the
    // next page still starts right after where it stood.
    let first = store.list_sessions(&by_role, None, 2, NOW).await.unwrap();
    let ended = first.next.clone().unwrap();
    assert_eq!(ended.access_key_id, all[1]);
    store.revoke(&all[1]).await.unwrap();
    let again = list_all(store, &by_role, None, 7, NOW).await;
    assert!(!again.contains(&all[1]));
    assert_eq!(
        list_all(replica, &by_role, Some(ended), 2, NOW).await,
        all[2..].to_vec()
    );

    // A mark on one principal, a sign-out: neither is listed by any scope.
    let marked = &sessions[4];
    store
        .set_revoked_before(
            &RevocationScope::Principal(marked.principal.arn.clone()),
            NOW,
            7200,
        )
        .await
        .unwrap();
    let signed_out = &sessions[5];
    store.delete(&signed_out.access_key_id).await.unwrap();
    let gone = [&all[1], &marked.access_key_id, &signed_out.access_key_id];
    let left: Vec<AccessKeyId> = all
        .iter()
        .filter(|id| !gone.contains(id))
        .cloned()
        .collect();
    assert_eq!(list_all(store, &by_role, None, 2, NOW).await, left);
    for s in &sessions {
        let mine = RevocationScope::Principal(s.principal.arn.clone());
        let listed = list_all(store, &mine, None, 2, NOW).await;
        assert_eq!(
            listed.is_empty(),
            gone.contains(&&s.access_key_id),
            "{}",
            s.principal.arn
        );
    }
    assert!(!list_all(store, &by_si, None, 2, NOW)
        .await
        .contains(&marked.access_key_id));

    // Expired at their expiry, by the caller's clock.
    let later: Vec<AccessKeyId> = left
        .iter()
        .filter(|id| {
            sessions
                .iter()
                .any(|s| &s.access_key_id == *id && s.expires_at > NOW + 900)
        })
        .cloned()
        .collect();
    assert_eq!(list_all(store, &by_role, None, 2, NOW + 900).await, later);
    assert!(list_all(store, &by_role, None, 2, NOW + 3600)
        .await
        .is_empty());

    if let Some(p) = probe {
        // An entry whose record is not there (yet): not listed, and left in the index (its put
        // may be on its way).
        let key = p.store.index_key(&l3);
        let unborn = AccessKeyId::generate_temporary().unwrap();
        let _: i64 = p
            .raw
            .query(
                redis::cmd("ZADD")
                    .arg(&key)
                    .arg(NOW + 60)
                    .arg(unborn.as_str()),
            )
            .await;
        assert_eq!(
            list_all(store, &l3, None, 5, NOW).await,
            vec![sessions[3].access_key_id.clone()]
        );
        let score: Option<String> = p
            .raw
            .query(redis::cmd("ZSCORE").arg(&key).arg(unborn.as_str()))
            .await;
        assert!(score.is_some());

        // An index that cannot be written fails the put, and no record is left: a session is
        // never stored unlisted.
        let mut blocked = mint(keys, NOW, 900).session;
        blocked.principal.arn =
            format!("arn:aws:sts::123456789012:assumed-role/Blocked-{suffix}/b");
        let index = p
            .store
            .index_key(&RevocationScope::Principal(blocked.principal.arn.clone()));
        let _: () = p.raw.query(redis::cmd("SET").arg(&index).arg("x")).await;
        assert!(store.put(&blocked, NOW).await.is_err());
        assert_eq!(store.get(&blocked.access_key_id, NOW).await.unwrap(), None);
        let _: () = p.raw.query(redis::cmd("DEL").arg(&index)).await;
        store.put(&blocked, NOW).await.unwrap();
    }

    for bad in [0, idbroker_session::MAX_PAGE_SIZE + 1] {
        assert!(matches!(
            store.list_sessions(&by_role, None, bad, NOW).await,
            Err(SessionError::Invalid(_))
        ));
    }
}

/// Every revocation written by one replica is announced to the subscribers of another.
async fn revocation_feed(store: &dyn SessionStore, replica: &dyn SessionStore, keys: &SealingKeys) {
    let mut feed = replica
        .subscribe_revocations()
        .await
        .unwrap()
        .expect("this store announces revocations");
    // A subscription may take effect a little after it returns (in a cluster the messages also
    // cross the cluster bus): wait until a probe revocation comes through, then start.
    let start = std::time::Instant::now();
    'live: loop {
        // A generous bound for a loaded machine: how soon is not what this checks.
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the feed never came up"
        );
        let probe = mint(keys, NOW, 3600);
        let probe_id = probe.session.access_key_id.clone();
        store.put(&probe.session, NOW).await.unwrap();
        store.revoke(&probe_id).await.unwrap();
        let want = FeedNews::Revoked(RevocationEvent::Session(probe_id));
        while let Ok(news) = tokio::time::timeout(Duration::from_millis(200), feed.next()).await {
            if news == want {
                break 'live;
            }
        }
    }
    let m = mint(keys, NOW, 3600);
    let id = m.session.access_key_id.clone();
    store.put(&m.session, NOW).await.unwrap();
    store.revoke(&id).await.unwrap();
    // Revoking what is not there announces nothing.
    assert_eq!(store.revoke(&id).await, Err(SessionError::NotFound));
    let scope = RevocationScope::SourceIdentity(format!("feed-{id}@example.com"));
    store.set_revoked_before(&scope, NOW, 60).await.unwrap();
    // The messages cross a real connection for Redis: a bounded wait, not a sleep. Other
    // revocations may arrive too: in a cluster, the bus can deliver ones published on another
    // node just before this subscription (earlier steps of this suite); they are skipped, ours
    // must come, in order.
    let bound = Duration::from_secs(10);
    for want in [
        FeedNews::Revoked(RevocationEvent::Session(id)),
        FeedNews::Revoked(RevocationEvent::Scope(scope)),
    ] {
        loop {
            let news = tokio::time::timeout(bound, feed.next()).await.unwrap();
            if news == want {
                break;
            }
            assert!(
                matches!(news, FeedNews::Revoked(_)),
                "unexpected news on the feed: {news:?}"
            );
        }
    }
}

async fn corrupt_records(store: &dyn SessionStore, keys: &SealingKeys, p: &Probe<'_>) {
    let m = mint(keys, NOW, 3600);
    let id = m.session.access_key_id.clone();
    let key = p.store.session_key(&id);
    let plant = |value: String| {
        let key = key.clone();
        async move {
            let _: () = p
                .raw
                .query(redis::cmd("SET").arg(&key).arg(value).arg("EX").arg(60))
                .await;
        }
    };
    plant("not json".into()).await;
    assert_eq!(store.get(&id, NOW).await, Err(SessionError::Corrupt));
    // A later record version is not guessed at.
    plant(
        m.session
            .to_json()
            .unwrap()
            .replacen(r#""v":1"#, r#""v":2"#, 1),
    )
    .await;
    assert_eq!(store.get(&id, NOW).await, Err(SessionError::Corrupt));
    // Another session's record under this key.
    plant(mint(keys, NOW, 3600).session.to_json().unwrap()).await;
    assert_eq!(store.get(&id, NOW).await, Err(SessionError::Corrupt));
    // The right record reads.
    plant(m.session.to_json().unwrap()).await;
    assert_eq!(store.get(&id, NOW).await.unwrap().unwrap(), m.session);
    // A sealed secret moved into another session's record does not open.
    let other = mint(keys, NOW, 3600).session;
    let mut moved = other.clone();
    moved.secret = m.session.secret.clone();
    assert_eq!(
        keys.unseal(&moved.secret, &moved.access_key_id),
        Err(SessionError::Unsealing)
    );
    // A value of the wrong type under the key.
    let _: () = p.raw.query(redis::cmd("DEL").arg(&key)).await;
    let _: i64 = p.raw.query(redis::cmd("LPUSH").arg(&key).arg("x")).await;
    assert_eq!(store.get(&id, NOW).await, Err(SessionError::Corrupt));
    let _: () = p.raw.query(redis::cmd("DEL").arg(&key)).await;
}

#[tokio::test]
async fn memory_store() {
    let store = Arc::new(MemoryStore::new());
    // One process: the "other replica" is the same store.
    suite("memory", store.as_ref(), store.as_ref(), None).await;
}

#[tokio::test]
async fn redis_standalone() {
    let prefix = unique_prefix("standalone");
    let store = RedisStore::standalone(&redis_url(), options(&prefix)).unwrap();
    let replica = RedisStore::standalone(&redis_url(), options(&prefix)).unwrap();
    let probe = Probe {
        store: &store,
        raw: Raw::open(None).await,
    };
    suite("redis standalone", &store, &replica, Some(&probe)).await;
    cleanup(&prefix, None).await;
}

#[tokio::test]
async fn redis_cluster() {
    let Some(nodes) = cluster_nodes() else {
        return skip_or_fail("REDIS_CLUSTER_NODES is not set: the Redis Cluster suite");
    };
    let prefix = unique_prefix("cluster");
    let store = RedisStore::cluster(&nodes, options(&prefix)).unwrap();
    let replica = RedisStore::cluster(&nodes, options(&prefix)).unwrap();
    let probe = Probe {
        store: &store,
        raw: Raw::open(Some(&nodes)).await,
    };
    suite("redis cluster", &store, &replica, Some(&probe)).await;
    cleanup(&prefix, Some(&nodes)).await;
}

#[tokio::test]
async fn connect_opens_each_kind() {
    let memory = connect(&SessionStoreConfig::Memory).await.unwrap();
    memory.ping().await.unwrap();
    let prefix = unique_prefix("connect");
    let redis = connect(&SessionStoreConfig::Redis {
        url: redis_url(),
        options: options(&prefix),
    })
    .await
    .unwrap();
    let m = mint(&keys(), NOW, 900);
    redis.put(&m.session, NOW).await.unwrap();
    assert!(redis
        .get(&m.session.access_key_id, NOW)
        .await
        .unwrap()
        .is_some());
    if let Some(nodes) = cluster_nodes() {
        let cluster = connect(&SessionStoreConfig::RedisCluster {
            nodes: nodes.clone(),
            options: options(&prefix),
        })
        .await
        .unwrap();
        cluster.put(&m.session, NOW).await.unwrap();
        cleanup(&prefix, Some(&nodes)).await;
    } else {
        skip_or_fail("REDIS_CLUSTER_NODES is not set: connect() to a Redis Cluster");
    }
    cleanup(&prefix, None).await;
    assert!(matches!(
        connect(&SessionStoreConfig::Redis {
            url: "not a url".into(),
            options: RedisOptions::default(),
        })
        .await,
        Err(SessionError::Invalid(_))
    ));
}

/// Every operation of a store that cannot be reached fails with `Unavailable`, within the bound.
async fn all_unavailable(store: &dyn SessionStore, bound: Duration) {
    let keys = keys();
    let m = mint(&keys, NOW, 900);
    let id = &m.session.access_key_id;
    let scope = RevocationScope::Role(ROLE.into());
    macro_rules! unavailable {
        ($op:expr) => {{
            let started = Instant::now();
            let r = $op.await;
            let took = started.elapsed();
            assert!(
                matches!(r, Err(SessionError::Unavailable)),
                "{}: {r:?}",
                stringify!($op)
            );
            assert!(took < bound, "{} took {took:?}", stringify!($op));
        }};
    }
    unavailable!(store.ping());
    unavailable!(store.put(&m.session, NOW));
    unavailable!(store.get(id, NOW));
    unavailable!(store.delete(id));
    unavailable!(store.revoke(id));
    unavailable!(store.use_once("saml", "_a", NOW + 60, NOW));
    unavailable!(store.set_revoked_before(&scope, NOW, 60));
    unavailable!(store.revoked_before(&scope));
    unavailable!(store.is_revoked(&m.session));
    unavailable!(store.subscribe_revocations());
}

#[tokio::test]
async fn a_store_that_is_down_is_unavailable_quickly() {
    let opts = RedisOptions {
        timeout: Duration::from_millis(300),
        ..options("x:")
    };
    // Nothing listens on port 1.
    let store = RedisStore::standalone("redis://127.0.0.1:1", opts.clone()).unwrap();
    all_unavailable(&store, Duration::from_millis(1500)).await;
    let cluster = RedisStore::cluster(&["redis://127.0.0.1:1"], opts.clone()).unwrap();
    all_unavailable(&cluster, Duration::from_millis(1500)).await;
    let started = Instant::now();
    let r = connect(&SessionStoreConfig::Redis {
        url: "redis://127.0.0.1:1".into(),
        options: opts,
    })
    .await;
    assert!(matches!(r, Err(SessionError::Unavailable)));
    assert!(started.elapsed() < Duration::from_millis(1500));
}

#[tokio::test]
async fn a_store_that_never_answers_times_out() {
    // Accepts connections, reads, never answers: only the timeout can end an operation.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            held.push(sock);
        }
    });
    let timeout = Duration::from_millis(250);
    let opts = RedisOptions {
        timeout,
        ..options("x:")
    };
    let store = RedisStore::standalone(&format!("redis://127.0.0.1:{port}"), opts.clone()).unwrap();
    // Bound: the timeout plus scheduling slack on a busy machine.
    all_unavailable(&store, timeout + Duration::from_millis(750)).await;
    let cluster = RedisStore::cluster(&[format!("redis://127.0.0.1:{port}")], opts).unwrap();
    all_unavailable(&cluster, timeout + Duration::from_millis(750)).await;
    server.abort();
}

#[tokio::test]
async fn put_fails_closed_when_replicas_do_not_acknowledge() {
    let prefix = unique_prefix("wait");
    let raw = Raw::open(None).await;
    let info: String = raw.query(redis::cmd("INFO").arg("replication")).await;
    if !info.contains("connected_slaves:0") {
        return skip_or_fail(
            "the standalone Redis (REDIS_URL) has replicas: this test needs one without",
        );
    }
    let store = RedisStore::standalone(
        &redis_url(),
        RedisOptions {
            min_replicas: 1,
            timeout: Duration::from_millis(300),
            ..options(&prefix)
        },
    )
    .unwrap();
    let m = mint(&keys(), NOW, 900);
    assert_eq!(
        store.put(&m.session, NOW).await,
        Err(SessionError::Unavailable)
    );
    cleanup(&prefix, None).await;
}

/// The same on a cluster without replicas (the test cluster): with `min_replicas` the put fails
/// closed for sessions on every primary, and succeeds without it. (The WAIT is routed to the
/// session's own primary since issue 16; telling that from a WAIT on every primary needs
/// replicas on some primaries only: scripts/bench-failover.sh measures it, this test does not.)
#[tokio::test]
async fn cluster_put_fails_closed_when_its_primarys_replicas_do_not_acknowledge() {
    let Some(nodes) = cluster_nodes() else {
        return skip_or_fail("REDIS_CLUSTER_NODES is not set: the cluster WAIT");
    };
    let prefix = unique_prefix("cluster-wait");
    let store = RedisStore::cluster(
        &nodes,
        RedisOptions {
            min_replicas: 1,
            timeout: Duration::from_millis(300),
            ..options(&prefix)
        },
    )
    .unwrap();
    // Sessions on every primary (random ids spread over the slots).
    for _ in 0..6 {
        let m = mint(&keys(), NOW, 900);
        assert_eq!(
            store.put(&m.session, NOW).await,
            Err(SessionError::Unavailable)
        );
    }
    // Without the requirement, the same cluster takes them.
    let plain = RedisStore::cluster(&nodes, options(&prefix)).unwrap();
    let m = mint(&keys(), NOW, 900);
    assert_eq!(plain.put(&m.session, NOW).await, Ok(()));
    cleanup(&prefix, Some(&nodes)).await;
}
