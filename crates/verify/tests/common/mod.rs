//! Shared test helpers: sessions minted the way the server's `AppState::mint` builds them,
//! requests signed with idbroker-sigv4's signer, a store that can be taken down.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// What a test does when a peer (Redis, botocore) is missing: the root package's one helper, this
// very file (this crate's tests cannot import the root package's tests/common).
#[path = "../../../../tests/common/skip.rs"]
mod skip;
#[allow(unused_imports)] // benches/verify.rs includes this file too
pub use skip::skip_or_fail;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use idbroker_session::{
    AccessKeyId, PolicyRefs, Principal, PrincipalKind, RevocationScope, SealingKeys,
    SecretAccessKey, Session, SessionError, SessionStore, SessionTag, SessionToken,
};
use idbroker_sigv4::{sign, Payload, RequestParts, SigningForm, SigningParams};
use idbroker_verify::{KeySource, PolicyDirectory, StoreSource, Verifier, VerifierOptions};

pub const ACCOUNT: &str = "123456789012";
pub const T0: u64 = 1_800_000_000; // 2027-01-15T08:00:00Z
pub const READER: &str = "arn:aws:iam::123456789012:role/app/orders-reader";
pub const BOUNDED: &str = "arn:aws:iam::123456789012:role/bounded";
pub const CONDITIONAL: &str = "arn:aws:iam::123456789012:role/conditional";
pub const BOUNDARY: &str = "arn:aws:iam::123456789012:policy/list-only";

pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

pub fn keys() -> Arc<SealingKeys> {
    Arc::new(SealingKeys::new("k1", &[7u8; 32]).unwrap())
}

pub fn directory() -> Arc<PolicyDirectory> {
    let mut d = PolicyDirectory::new();
    d.add_inline_policy(
        READER,
        "orders",
        r#"{"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Action":"orders:*","Resource":"arn:aws:orders:*:123456789012:order/*"},
          {"Effect":"Deny","Action":"orders:DeleteOrder","Resource":"*"}]}"#,
    )
    .unwrap();
    d.add_managed_policy(
        BOUNDARY,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"orders:List*","Resource":"*"}]}"#,
    )
    .unwrap();
    d.add_inline_policy(
        BOUNDED,
        "all",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"orders:*","Resource":"*"}]}"#,
    )
    .unwrap();
    d.set_permissions_boundary(BOUNDED, BOUNDARY).unwrap();
    d.add_inline_policy(
        CONDITIONAL,
        "conditions",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"orders:GetOrder","Resource":"*",
          "Condition":{
            "StringEquals":{"aws:PrincipalTag/team":"blue","aws:SourceIdentity":"alice@example.com",
              "aws:RequestedRegion":"eu-west-1","aws:PrincipalArn":"arn:aws:iam::123456789012:role/conditional",
              "aws:PrincipalAccount":"123456789012"},
            "StringLike":{"aws:userid":"AROA*:alice","orders:Shop":"north-*"},
            "Bool":{"aws:SecureTransport":"true","aws:MultiFactorAuthPresent":"false"},
            "IpAddress":{"aws:SourceIp":"10.0.0.0/8"},
            "DateGreaterThan":{"aws:TokenIssueTime":"2027-01-01T00:00:00Z"},
            "DateLessThan":{"aws:CurrentTime":"2028-01-01T00:00:00Z"},
            "NumericGreaterThan":{"aws:EpochTime":"1799999999"}}}]}"#,
    )
    .unwrap();
    Arc::new(d)
}

/// What the server plans for a session (the parts the verifier sees).
#[derive(Clone, Debug)]
pub struct Plan {
    pub role_arn: String,
    pub session_name: String,
    pub source_identity: Option<String>,
    pub tags: Vec<(String, String)>,
    pub session_policy: Option<String>,
    pub issued_at: u64,
    pub duration: u64,
}

pub fn plan(role_arn: &str) -> Plan {
    Plan {
        role_arn: role_arn.into(),
        session_name: "alice".into(),
        source_identity: Some("alice@example.com".into()),
        tags: vec![("team".into(), "blue".into())],
        session_policy: None,
        issued_at: T0,
        duration: 3600,
    }
}

#[derive(Clone, Debug)]
pub struct Creds {
    pub id: String,
    pub secret: String,
    pub token: String,
}

/// As `AppState::mint`: fresh ids and secrets, the secret sealed with the access key id as
/// associated data, the token stored as its hash, `PolicyRefs` with the session policy.
pub async fn mint(store: &dyn SessionStore, keys: &SealingKeys, plan: &Plan) -> Creds {
    let access_key_id = AccessKeyId::generate_temporary().unwrap();
    let secret = SecretAccessKey::generate().unwrap();
    let token = SessionToken::generate().unwrap();
    let role_name = plan.role_arn.rsplit('/').next().unwrap();
    let session = Session {
        access_key_id: access_key_id.clone(),
        secret: keys.seal(&secret, &access_key_id).unwrap(),
        token_hash: token.hash(),
        principal: Principal {
            kind: PrincipalKind::AssumedRole,
            arn: format!(
                "arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/{}",
                plan.session_name
            ),
            principal_id: format!("AROAEXAMPLEROLEID:{}", plan.session_name),
            account: ACCOUNT.into(),
            role_arn: Some(plan.role_arn.clone()),
            session_name: Some(plan.session_name.clone()),
            source_identity: plan.source_identity.clone(),
            tags: plan
                .tags
                .iter()
                .map(|(k, v)| SessionTag {
                    key: k.clone(),
                    value: v.clone(),
                })
                .collect(),
            transitive_tag_keys: vec![],
            user_name: None,
        },
        policies: PolicyRefs {
            session_policy: plan.session_policy.clone(),
            ..PolicyRefs::default()
        },
        issued_at: plan.issued_at,
        expires_at: plan.issued_at + plan.duration,
        mfa: false,
        mfa_authenticated_at: None,
        chained_from: None,
    };
    store.put(&session, plan.issued_at).await.unwrap();
    Creds {
        id: access_key_id.as_str().into(),
        secret: secret.expose_secret().into(),
        token: token.expose_secret().into(),
    }
}

/// An owned HTTP request.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn new(method: &str, path: &str, body: &[u8]) -> Self {
        Req {
            method: method.into(),
            path: path.into(),
            query: String::new(),
            headers: vec![("Host".into(), "orders.example.com".into())],
            body: body.to_vec(),
        }
    }

    pub fn header_refs(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }

    pub fn parts<'a>(&'a self, headers: &'a [(&'a str, &'a str)]) -> RequestParts<'a> {
        RequestParts {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers,
            payload: Payload::Bytes(&self.body),
        }
    }

    /// Sign (header form, or presigned for `presign = Some(expires_in)`).
    pub fn signed(
        mut self,
        c: &Creds,
        token: Option<&str>,
        region: &str,
        service: &str,
        time: u64,
        presign: Option<u64>,
    ) -> Self {
        let h = self.header_refs();
        let mut params = SigningParams::new(&c.id, &c.secret, region, service, time);
        params.security_token = token;
        if let Some(expires_in) = presign {
            params.form = SigningForm::Presigned { expires_in };
        }
        let s = sign(&self.parts(&h), &params).unwrap();
        let (headers, query) = (s.headers().to_vec(), s.query().to_owned());
        drop(h);
        self.headers.extend(headers);
        self.query = query;
        self
    }
}

/// A store that answers like `inner` until taken down, then `Unavailable` for everything.
#[derive(Debug)]
pub struct Flaky {
    pub inner: Arc<dyn SessionStore>,
    pub down: AtomicBool,
}

impl Flaky {
    pub fn new(inner: Arc<dyn SessionStore>) -> Arc<Self> {
        Arc::new(Flaky {
            inner,
            down: AtomicBool::new(false),
        })
    }
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
    fn check(&self) -> Result<(), SessionError> {
        if self.down.load(Ordering::SeqCst) {
            Err(SessionError::Unavailable)
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl SessionStore for Flaky {
    async fn put(&self, s: &Session, now: u64) -> Result<(), SessionError> {
        self.check()?;
        self.inner.put(s, now).await
    }
    async fn get(&self, id: &AccessKeyId, now: u64) -> Result<Option<Session>, SessionError> {
        self.check()?;
        self.inner.get(id, now).await
    }
    async fn delete(&self, id: &AccessKeyId) -> Result<(), SessionError> {
        self.check()?;
        self.inner.delete(id).await
    }
    async fn revoke(&self, id: &AccessKeyId) -> Result<(), SessionError> {
        self.check()?;
        self.inner.revoke(id).await
    }
    async fn set_revoked_before(
        &self,
        scope: &RevocationScope,
        at: u64,
        ttl: u64,
    ) -> Result<(), SessionError> {
        self.check()?;
        self.inner.set_revoked_before(scope, at, ttl).await
    }
    async fn revoked_before(&self, scope: &RevocationScope) -> Result<Option<u64>, SessionError> {
        self.check()?;
        self.inner.revoked_before(scope).await
    }
    async fn list_sessions(
        &self,
        scope: &RevocationScope,
        after: Option<&idbroker_session::ListPosition>,
        max: usize,
        now: u64,
    ) -> Result<idbroker_session::SessionPage, SessionError> {
        self.check()?;
        self.inner.list_sessions(scope, after, max, now).await
    }
    async fn use_once(&self, ns: &str, id: &str, until: u64, now: u64) -> Result<(), SessionError> {
        self.check()?;
        self.inner.use_once(ns, id, until, now).await
    }
    async fn admit(
        &self,
        b: &[idbroker_session::RateBucket],
        now: u64,
    ) -> Result<idbroker_session::Admission, SessionError> {
        self.check()?;
        self.inner.admit(b, now).await
    }
    async fn ping(&self) -> Result<(), SessionError> {
        self.check()?;
        self.inner.ping().await
    }
}

/// A store, whatever its type.
pub trait IntoStore {
    fn into_store(self) -> Arc<dyn SessionStore>;
}

impl<S: SessionStore + 'static> IntoStore for Arc<S> {
    fn into_store(self) -> Arc<dyn SessionStore> {
        self
    }
}

impl IntoStore for Arc<dyn SessionStore> {
    fn into_store(self) -> Arc<dyn SessionStore> {
        self
    }
}

/// Grants from `store`, opened with the test keys, with the test policies (idbroker's own
/// source).
pub fn over(store: impl IntoStore) -> Arc<dyn KeySource> {
    Arc::new(StoreSource::new(store.into_store(), keys(), directory()))
}

/// A verifier over the configured store, following its revocation feed.
pub async fn connect(
    config: &idbroker_session::SessionStoreConfig,
    options: VerifierOptions,
) -> Verifier {
    let store = idbroker_session::connect(config).await.unwrap();
    let v = Verifier::new(over(store), options);
    assert!(v.watch_revocations());
    v
}
