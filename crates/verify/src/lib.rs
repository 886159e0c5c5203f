//! `idbroker-verify`: for services behind idbroker. Verify a SigV4 request signed with
//! idbroker-issued temporary credentials (`ASIA…`, header or presigned form) and learn who sent
//! it ([`Verifier::verify`] → [`VerifiedCaller`]); then decide whether that session may do what
//! it asks ([`Verifier::authorize`]): the role's (or user's) identity policies ∩ its permissions
//! boundary ∩ the session policies, with AWS's global condition keys filled in.
//!
//! The verifier reads sessions from the same [`SessionStore`] as the server and opens their
//! sealed secrets with the same [`SealingKeys`]. Session records (with the secret unsealed, the
//! revocation marks read, and their policies compiled) are kept in a bounded local cache for
//! [`VerifierOptions::cache_ttl`] (default 1 s), so the hot path does no network round trip. A
//! store that cannot answer fails every verification closed ([`VerifyError::ServiceUnavailable`]).
//!
//! **Revocation.** [`Verifier::connect`] (or [`Verifier::watch_revocations`]) follows the store's
//! revocation feed in a background task: every revocation written by any server replica (Redis
//! pub/sub; an in-process broadcast for the memory store) drops the matching cached sessions at
//! once, so the next request reads the store and is refused. The feed reconnects by itself and the
//! whole cache is forgotten whenever it (re)connects, since revocations may have been missed while
//! it was down; meanwhile the cache TTL bounds how late a revocation is seen. A cache fill that
//! raced with a revocation is not kept (a generation counter), so an eviction is never undone by
//! a stale read.
//!
//! **What a request must be signed for.** The service of its credential scope is required
//! ([`VerifierOptions::new`] takes it; a verifier shared by several services names it per call,
//! [`Verifier::verify_for_service`]); the host, when configured ([`VerifierOptions::with_host`]),
//! is checked against the signed `Host` header. The body: a request whose signature covers it
//! verifies only when the verifier is shown the body or its SHA-256; with
//! [`Payload::Unsigned`], only `UNSIGNED-PAYLOAD` signatures verify
//! ([`VerifyError::BodyHashRequired`] otherwise). Streaming (`STREAMING-*`) payload signatures
//! are not supported (refused as `IncompleteSignature`).
//!
//! Time is passed in (`now`), never read from a clock here.
//!
//! Behind the `actix` feature, [`actix`] has an actix-web middleware.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "actix")]
pub mod actix;
mod directory;
mod error;
pub mod k8s;
mod time;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use idbroker_policy::{Context, ContextKey, Evaluation, Policy, PolicyKind, PolicySet, Request};
use idbroker_session::{
    AccessKeyId, AccessKeyKind, FeedNews, PrincipalKind, RevocationEvent, SealingKeys,
    SecretAccessKey, Session, SessionStore, SessionStoreConfig, SessionTag,
};
use tracing::instrument;

pub use directory::PolicyDirectory;
pub use error::{DirectoryError, VerifyError};
pub use idbroker_policy::Decision;
pub use idbroker_sigv4::{Payload, RequestParts, SignatureForm, Skew};
use idbroker_sigv4::{SigningKey, Verified};
pub use k8s::K8sTokenError;

/// Which service a request must be signed for: the service of its credential scope. There is
/// no "any service": a request signed for one service is never accepted by another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedService {
    /// This service ([`VerifierOptions::new`]): [`Verifier::verify`] refuses requests signed for
    /// any other.
    Named(String),
    /// The service is named by each call ([`Verifier::verify_for_service`]);
    /// [`Verifier::verify`] refuses every request. For one verifier shared by several services,
    /// as idbroker's `POST /verify` ([`VerifierOptions::service_per_call`]).
    PerCall,
}

/// How a [`Verifier`] works.
#[derive(Debug, Clone)]
pub struct VerifierOptions {
    /// The server's sealing keys (active and old), to open the sessions' secrets.
    pub sealing_keys: Arc<SealingKeys>,
    /// The policy documents sessions refer to.
    pub policies: Arc<PolicyDirectory>,
    /// Allowed SigV4 clock skew (default 15 minutes, as AWS).
    pub skew: Skew,
    /// How long a session record read from the store is trusted (default 1 s): the bound on how
    /// late a revocation is seen.
    pub cache_ttl: Duration,
    /// At most this many cached sessions (default 100,000).
    pub cache_capacity: usize,
    /// The service the credential scope must name (e.g. `execute-api`). Required: given to
    /// [`VerifierOptions::new`].
    pub service: ExpectedService,
    /// The host the request must be signed for: its (always signed) `Host` header, compared
    /// without regard to case, with the port if the client's URL has one
    /// (`orders.example.com`, `orders.example.com:8443`). A request signed for another host
    /// (captured at another service that trusts the same sessions) is refused. `None` (the
    /// default): not checked.
    pub host: Option<String>,
    /// The regions the credential scope may name; empty: any.
    pub regions: Vec<String>,
    /// The hosts (with the port, if any, as in the URL: `sts.example.com`, `127.0.0.1:8443`) a
    /// `k8s-aws-v1.` token's presigned URL may name: where clients reach idbroker's STS
    /// endpoint. Empty (the default): every token is refused.
    pub sts_hosts: Vec<String>,
}

impl VerifierOptions {
    /// Options for a verifier of requests signed for `service` (the credential scope's service,
    /// e.g. `execute-api`). Defaults: 15-minute skew, 1 s cache TTL, 100,000 cached sessions,
    /// any region, the host not checked ([`with_host`](Self::with_host)).
    pub fn new(
        service: impl Into<String>,
        sealing_keys: Arc<SealingKeys>,
        policies: Arc<PolicyDirectory>,
    ) -> Self {
        Self::with(
            ExpectedService::Named(service.into()),
            sealing_keys,
            policies,
        )
    }

    /// Options for a verifier shared by several services, each call naming the service the
    /// request must be signed for ([`Verifier::verify_for_service`]; [`Verifier::verify`]
    /// refuses everything). Otherwise as [`new`](Self::new).
    pub fn service_per_call(
        sealing_keys: Arc<SealingKeys>,
        policies: Arc<PolicyDirectory>,
    ) -> Self {
        Self::with(ExpectedService::PerCall, sealing_keys, policies)
    }

    fn with(
        service: ExpectedService,
        sealing_keys: Arc<SealingKeys>,
        policies: Arc<PolicyDirectory>,
    ) -> Self {
        VerifierOptions {
            sealing_keys,
            policies,
            skew: Skew::DEFAULT,
            cache_ttl: Duration::from_secs(1),
            cache_capacity: 100_000,
            service,
            host: None,
            regions: Vec::new(),
            sts_hosts: Vec::new(),
        }
    }

    /// Accept `k8s-aws-v1.` tokens presigned for these STS hosts.
    pub fn with_sts_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.sts_hosts = hosts.into_iter().map(Into::into).collect();
        self
    }

    /// Require requests signed for this host (the `Host` header, with the port if any).
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// Accept only these regions in the credential scope.
    pub fn with_regions<I, S>(mut self, regions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.regions = regions.into_iter().map(Into::into).collect();
        self
    }
}

/// Who the session is (shared by every request of the session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The session's access key id.
    pub access_key_id: String,
    /// Role session, federated user or user session.
    pub kind: PrincipalKind,
    /// `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION` (or the user's ARN).
    pub arn: String,
    /// `AROA…:SESSION` (what `GetCallerIdentity` calls `UserId`; `aws:userid`).
    pub user_id: String,
    /// The account id.
    pub account: String,
    /// The role's ARN with its path, for role sessions.
    pub role_arn: Option<String>,
    /// The role session name.
    pub session_name: Option<String>,
    /// The IAM user's name, for user sessions.
    pub user_name: Option<String>,
    /// The source identity.
    pub source_identity: Option<String>,
    /// Session tags.
    pub tags: Vec<SessionTag>,
    /// When the session was issued (seconds since the epoch; `aws:TokenIssueTime`).
    pub issued_at: u64,
    /// When it expires (seconds since the epoch).
    pub expires_at: u64,
    /// MFA was presented when it was issued.
    pub mfa: bool,
}

/// The compiled policies of one session. `resolved == false`: some document the session refers
/// to is unknown here, so nothing is allowed.
#[derive(Debug)]
struct SessionPolicies {
    identity: Vec<Arc<Policy>>,
    boundary: Option<Arc<Policy>>,
    session: Vec<Arc<Policy>>,
    resolved: bool,
}

/// A request whose signature verified, made with a live, unrevoked idbroker session.
#[derive(Debug, Clone)]
pub struct VerifiedCaller {
    identity: Arc<CallerIdentity>,
    region: String,
    service: String,
    form: SignatureForm,
    payload_signed: bool,
    policies: Arc<SessionPolicies>,
    base_context: Arc<Context>,
}

impl VerifiedCaller {
    /// Who the session is.
    pub fn identity(&self) -> &CallerIdentity {
        &self.identity
    }
    /// The principal ARN (`arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`).
    pub fn arn(&self) -> &str {
        &self.identity.arn
    }
    /// The account id.
    pub fn account(&self) -> &str {
        &self.identity.account
    }
    /// The role session name.
    pub fn session_name(&self) -> Option<&str> {
        self.identity.session_name.as_deref()
    }
    /// The source identity.
    pub fn source_identity(&self) -> Option<&str> {
        self.identity.source_identity.as_deref()
    }
    /// Session tags.
    pub fn tags(&self) -> &[SessionTag] {
        &self.identity.tags
    }
    /// Expiry (seconds since the epoch).
    pub fn expires_at(&self) -> u64 {
        self.identity.expires_at
    }
    /// Issue time (seconds since the epoch).
    pub fn issued_at(&self) -> u64 {
        self.identity.issued_at
    }
    /// The region of the request's (authenticated) credential scope.
    pub fn region(&self) -> &str {
        &self.region
    }
    /// The service of the request's credential scope.
    pub fn service(&self) -> &str {
        &self.service
    }
    /// Header or presigned.
    pub fn form(&self) -> SignatureForm {
        self.form
    }
    /// Did the signature cover the body?
    pub fn payload_signed(&self) -> bool {
        self.payload_signed
    }
}

/// Facts about the request that the signature does not carry, for condition keys.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// Now (`aws:CurrentTime`, `aws:EpochTime`).
    pub now: SystemTime,
    /// The client's address (`aws:SourceIp`), as the service sees it.
    pub source_ip: Option<IpAddr>,
    /// Received over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
    /// Service-specific keys (`orders:Region`, ...). Keys starting with `aws:` are ignored: global
    /// keys come from the session and the request only.
    pub extra: &'a [(&'a str, &'a str)],
}

impl RequestFacts<'_> {
    /// Facts with only the time known (no source IP, not TLS, no extra keys).
    pub fn at(now: SystemTime) -> Self {
        RequestFacts {
            now,
            source_ip: None,
            secure_transport: false,
            extra: &[],
        }
    }
}

/// A cached session: the record, its secret opened, its revocation state and its compiled
/// policies, as of `fetched_at`; and the signing key of the scope it last signed for.
#[derive(Debug)]
struct Entry {
    session: Session,
    secret: SecretAccessKey,
    /// The SigV4 signing key of the last (date, region, service) a request of this session
    /// verified with: most sessions sign for one scope a day, so the four-HMAC derivation is
    /// done once per entry instead of once per request.
    signing_key: RwLock<Option<SigningKey>>,
    revoked: bool,
    identity: Arc<CallerIdentity>,
    policies: Arc<SessionPolicies>,
    base_context: Arc<Context>,
    fetched_at: SystemTime,
}

/// The session cache, shared with the task that follows the revocation feed.
#[derive(Debug, Default)]
struct Cache {
    entries: RwLock<HashMap<String, Arc<Entry>>>,
    /// Moved on (under the write lock) by every eviction. A fill keeps its entry only if the
    /// generation is the one it saw before reading the store: a read that may predate a
    /// revocation is never cached after that revocation's eviction.
    generation: AtomicU64,
    /// The revocation feed is connected.
    feed_up: AtomicBool,
    /// Revocations applied from the feed.
    revocations_seen: AtomicU64,
}

impl Cache {
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Entry>>> {
        self.entries.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Forget everything.
    fn clear(&self) {
        let mut entries = self.write();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// Drop the sessions a revocation may concern.
    fn evict(&self, event: &RevocationEvent) {
        let mut entries = self.write();
        self.generation.fetch_add(1, Ordering::AcqRel);
        match event {
            RevocationEvent::Session(id) => {
                entries.remove(id.as_str());
            }
            RevocationEvent::Scope(scope) => entries.retain(|_, e| !e.session.in_scope(scope)),
        }
        drop(entries);
        self.revocations_seen.fetch_add(1, Ordering::AcqRel);
    }
}

/// Follow the store's revocations into `cache`, reconnecting with a capped backoff, until the
/// verifier is dropped (the task is aborted) or the store says it announces nothing.
async fn follow_revocations(store: Arc<dyn SessionStore>, cache: Arc<Cache>) {
    const FIRST_RETRY: Duration = Duration::from_millis(50);
    const LAST_RETRY: Duration = Duration::from_secs(2);
    let mut retry = FIRST_RETRY;
    loop {
        match store.subscribe_revocations().await {
            Ok(None) => {
                tracing::info!("the session store announces no revocations: cache TTL only");
                return;
            }
            Ok(Some(mut feed)) => {
                // Whatever was revoked while no feed was up is unknown here: start afresh.
                cache.clear();
                cache.feed_up.store(true, Ordering::Release);
                retry = FIRST_RETRY;
                loop {
                    match feed.next().await {
                        FeedNews::Revoked(event) => cache.evict(&event),
                        FeedNews::Unreadable => cache.clear(),
                        FeedNews::Lost => break,
                    }
                }
                cache.feed_up.store(false, Ordering::Release);
                tracing::warn!(
                    "revocation feed lost; reconnecting (meanwhile revocations are seen within the cache TTL)"
                );
            }
            Err(e) => tracing::warn!(error = %e, "revocation feed: cannot subscribe; retrying"),
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(LAST_RETRY);
    }
}

impl Entry {
    /// Verify the signature with the cached signing key of its scope, or derive the key (and
    /// keep it once a request has verified with it, so forgeries cannot churn the cache).
    fn verify_signature(
        &self,
        request: idbroker_sigv4::ParsedRequest<'_>,
        now: u64,
        skew: Skew,
        lifetime: Option<u64>,
    ) -> Result<Verified, VerifyError> {
        let check = |request: idbroker_sigv4::ParsedRequest<'_>, key: &SigningKey| match lifetime {
            Some(l) => request.verify_for_lifetime(key, now, skew, l),
            None => request.verify(key, now, skew),
        };
        {
            let cached = self.signing_key.read().unwrap_or_else(|e| e.into_inner());
            if let Some(key) = cached.as_ref().filter(|k| k.fits(request.signature())) {
                return Ok(check(request, key)?);
            }
        }
        let key = SigningKey::for_signature(self.secret.expose_secret(), request.signature())?;
        let verified = check(request, &key)?;
        *self.signing_key.write().unwrap_or_else(|e| e.into_inner()) = Some(key);
        Ok(verified)
    }
}

/// Verifies requests and authorizes them. Share one per process (`Arc<Verifier>`).
#[derive(Debug)]
pub struct Verifier {
    store: Arc<dyn SessionStore>,
    options: VerifierOptions,
    cache: Arc<Cache>,
    /// The task following the revocation feed; aborted when the verifier is dropped.
    watcher: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Verifier {
    fn drop(&mut self) {
        let watcher = self.watcher.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(task) = watcher.take() {
            task.abort();
        }
    }
}

impl Verifier {
    /// A verifier over `store`. It does not follow the revocation feed until
    /// [`watch_revocations`](Self::watch_revocations) is called (revocations are then seen only
    /// within the cache TTL); [`connect`](Self::connect) does both.
    pub fn new(store: Arc<dyn SessionStore>, options: VerifierOptions) -> Self {
        Verifier {
            store,
            options,
            cache: Arc::default(),
            watcher: Mutex::new(None),
        }
    }

    /// Open the configured store (one `PING`), make a verifier over it and start following its
    /// revocation feed (on the current tokio runtime).
    pub async fn connect(
        config: &SessionStoreConfig,
        options: VerifierOptions,
    ) -> Result<Self, VerifyError> {
        let store = idbroker_session::connect(config)
            .await
            .map_err(|_| VerifyError::ServiceUnavailable)?;
        let verifier = Self::new(store, options);
        verifier.watch_revocations();
        Ok(verifier)
    }

    /// Start following the store's revocation feed in a background task on the current tokio
    /// runtime (once; later calls do nothing). False when there is no tokio runtime here.
    pub fn watch_revocations(&self) -> bool {
        let mut watcher = self.watcher.lock().unwrap_or_else(|e| e.into_inner());
        if watcher.is_some() {
            return true;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no tokio runtime: revocations are seen within the cache TTL only");
            return false;
        };
        *watcher = Some(runtime.spawn(follow_revocations(
            Arc::clone(&self.store),
            Arc::clone(&self.cache),
        )));
        true
    }

    /// Is the revocation feed connected? While it is not, revocations are seen within
    /// [`VerifierOptions::cache_ttl`].
    pub fn revocation_feed_up(&self) -> bool {
        self.cache.feed_up.load(Ordering::Acquire)
    }

    /// How many revocations the feed has delivered (and their cache entries were dropped).
    pub fn revocations_seen(&self) -> u64 {
        self.cache.revocations_seen.load(Ordering::Acquire)
    }

    /// The options.
    pub fn options(&self) -> &VerifierOptions {
        &self.options
    }

    /// Forget every cached session (the next request of each reads the store).
    pub fn clear_cache(&self) {
        self.cache.clear();
    }

    /// Verify a signed request at `now`: signature (header or presigned), session token,
    /// expiry, revocation; the request must be signed for the service the options name (and
    /// their host and regions, when set). Errors are AWS's ([`VerifyError::code`]).
    ///
    /// The body: pass it ([`Payload::Bytes`]) or its SHA-256 ([`Payload::Sha256Hex`]).
    /// [`Payload::Unsigned`] verifies only a request signed with `UNSIGNED-PAYLOAD` (declared
    /// as `X-Amz-Content-Sha256: UNSIGNED-PAYLOAD`, or the payload line of a presigned URL);
    /// anything whose signature covers the body is [`VerifyError::BodyHashRequired`], since the
    /// body that came with the request may not be the one the client signed.
    #[instrument(skip_all)]
    pub async fn verify(
        &self,
        req: &RequestParts<'_>,
        now: SystemTime,
    ) -> Result<VerifiedCaller, VerifyError> {
        match &self.options.service {
            ExpectedService::Named(service) => self.verify_scoped(req, service, now).await,
            ExpectedService::PerCall => Err(VerifyError::IncompleteSignature(
                "This verifier has no service of its own: the service must be named with each request."
                    .into(),
            )),
        }
    }

    /// As [`verify`](Self::verify), for a request that must be signed for `service`, named by
    /// this call: for a verifier shared by several services
    /// ([`VerifierOptions::service_per_call`]). A verifier made for one service
    /// ([`VerifierOptions::new`]) refuses every other.
    #[instrument(skip_all)]
    pub async fn verify_for_service(
        &self,
        req: &RequestParts<'_>,
        service: &str,
        now: SystemTime,
    ) -> Result<VerifiedCaller, VerifyError> {
        if let ExpectedService::Named(own) = &self.options.service {
            if own != service {
                return Err(wrong_service(own));
            }
        }
        self.verify_scoped(req, service, now).await
    }

    /// The checks of the request's scope (service, region, host) and of what it says of its
    /// body, then [`verify_parsed`](Self::verify_parsed).
    async fn verify_scoped(
        &self,
        req: &RequestParts<'_>,
        service: &str,
        now: SystemTime,
    ) -> Result<VerifiedCaller, VerifyError> {
        let request = idbroker_sigv4::parse_request(req)?;
        let parsed = request.signature();
        if parsed.service() != service {
            return Err(wrong_service(service));
        }
        if !self.options.regions.is_empty()
            && !self.options.regions.iter().any(|r| r == parsed.region())
        {
            return Err(VerifyError::IncompleteSignature(format!(
                "Credential should be scoped to a valid region, not '{}'.",
                parsed.region()
            )));
        }
        if let Some(host) = &self.options.host {
            // `host` is always among the signed headers (the parser requires it), so the value
            // compared is the one the signature covers.
            let mut hosts = header_values(req.headers, "host");
            let signed_for = match (hosts.next(), hosts.next()) {
                (Some(h), None) => h,
                _ => "",
            };
            if !signed_for.eq_ignore_ascii_case(host) {
                return Err(VerifyError::IncompleteSignature(format!(
                    "The request should be signed for the host '{host}'."
                )));
            }
        }
        // Without the body, only an UNSIGNED-PAYLOAD signature can be checked. A declared body
        // hash is refused at once; with nothing declared (the SDKs sign the body's hash without
        // saying so), the signature is tried as UNSIGNED-PAYLOAD and, if it does not match,
        // the body (or its hash) is asked for.
        let body_hidden = matches!(req.payload, Payload::Unsigned);
        let declared = header_values(req.headers, "x-amz-content-sha256").next();
        if body_hidden && declared.is_some_and(|d| d != idbroker_sigv4::UNSIGNED_PAYLOAD) {
            return Err(VerifyError::BodyHashRequired);
        }
        match self.verify_parsed(request, now, None).await {
            Err(VerifyError::SignatureDoesNotMatch) if body_hidden && declared.is_none() => {
                Err(VerifyError::BodyHashRequired)
            }
            Ok(caller) if body_hidden && caller.payload_signed => {
                // Cannot happen (nothing was shown to cover); never let it through.
                Err(VerifyError::BodyHashRequired)
            }
            other => other,
        }
    }

    /// Verify a `k8s-aws-v1.` bearer token (aws-iam-authenticator's format, `aws eks
    /// get-token`) made for the cluster `cluster_id`, at `now`: the token's URL is checked
    /// ([`k8s::parse_k8s_token`], against [`VerifierOptions::sts_hosts`]), then its presigned
    /// GetCallerIdentity request verified like any request, with `x-k8s-aws-id: cluster_id`
    /// (so a token for another cluster does not verify) and a 15-minute validity from its
    /// `X-Amz-Date`. [`VerifierOptions::service`], `host` and `regions` do not apply (the
    /// scope is STS's; the host is checked against [`VerifierOptions::sts_hosts`]).
    #[instrument(skip_all)]
    pub async fn verify_k8s_token(
        &self,
        token: &str,
        cluster_id: &str,
        now: SystemTime,
    ) -> Result<VerifiedCaller, K8sTokenError> {
        let t = k8s::parse_k8s_token(token, &self.options.sts_hosts)?;
        let headers = [("host", t.host()), (k8s::CLUSTER_ID_HEADER, cluster_id)];
        let req = RequestParts {
            method: "GET",
            path: "/",
            query: t.query(),
            headers: &headers,
            payload: Payload::Bytes(b""),
        };
        let request = idbroker_sigv4::parse_request(&req).map_err(VerifyError::from)?;
        if request.signature().form() != SignatureForm::Presigned {
            return Err(K8sTokenError::BadUrl("not a presigned URL"));
        }
        if request.signature().service() != "sts" {
            return Err(K8sTokenError::WrongService);
        }
        Ok(self
            .verify_parsed(request, now, Some(k8s::K8S_TOKEN_LIFETIME))
            .await?)
    }

    /// The checks after the scope's: the session (cached or read), its token, the signature
    /// with the session's signing key (cached per scope), expiry, revocation. `lifetime` fixes a
    /// presigned request's validity (k8s tokens).
    async fn verify_parsed(
        &self,
        request: idbroker_sigv4::ParsedRequest<'_>,
        now: SystemTime,
        lifetime: Option<u64>,
    ) -> Result<VerifiedCaller, VerifyError> {
        let parsed = request.signature();
        let key_id = match AccessKeyId::parse(parsed.access_key_id()) {
            Ok(k) if k.kind() == AccessKeyKind::Temporary => k,
            _ => return Err(VerifyError::InvalidClientTokenId),
        };
        let entry = self.entry(&key_id, now).await?;
        // Constant-time comparison of the token's SHA-256 with the stored hash.
        let token_ok = parsed
            .security_token()
            .is_some_and(|t| entry.session.token_matches(t));
        if !token_ok {
            return Err(VerifyError::InvalidClientTokenId);
        }
        let now_s = time::epoch(now);
        let verified = entry.verify_signature(request, now_s, self.options.skew, lifetime)?;
        if entry.session.is_expired(now_s) {
            return Err(VerifyError::ExpiredToken);
        }
        if entry.revoked {
            return Err(VerifyError::InvalidClientTokenId);
        }
        Ok(VerifiedCaller {
            identity: entry.identity.clone(),
            region: verified.region().to_owned(),
            service: verified.service().to_owned(),
            form: verified.form(),
            payload_signed: verified.payload_signed(),
            policies: entry.policies.clone(),
            base_context: entry.base_context.clone(),
        })
    }

    /// The cached session of `key_id`, or read it from the store.
    async fn entry(
        &self,
        key_id: &AccessKeyId,
        now: SystemTime,
    ) -> Result<Arc<Entry>, VerifyError> {
        let ttl = self.options.cache_ttl;
        let fresh = |e: &Entry| now.duration_since(e.fetched_at).is_ok_and(|age| age < ttl);
        {
            let cache = self.cache.entries.read().unwrap_or_else(|e| e.into_inner());
            if let Some(e) = cache.get(key_id.as_str()) {
                if fresh(e) {
                    return Ok(e.clone());
                }
            }
        }
        // A read that raced with a revocation is not cached; it is read again (once), so that
        // the answer reflects the revocation the feed just announced.
        let mut raced = false;
        loop {
            let generation = self.cache.generation.load(Ordering::Acquire);
            let entry = self.read_entry(key_id, now).await?;
            let mut cache = self.cache.write();
            if self.cache.generation.load(Ordering::Acquire) != generation {
                drop(cache);
                if raced {
                    return Ok(entry);
                }
                raced = true;
                continue;
            }
            if cache.len() >= self.options.cache_capacity {
                cache.retain(|_, e| fresh(e));
                if cache.len() >= self.options.cache_capacity {
                    if let Some(k) = cache.keys().next().cloned() {
                        cache.remove(&k);
                    }
                }
            }
            if self.options.cache_capacity > 0 {
                cache.insert(key_id.as_str().to_owned(), entry.clone());
            }
            return Ok(entry);
        }
    }

    /// Read `key_id`'s session from the store: record, revocation state, secret, policies.
    async fn read_entry(
        &self,
        key_id: &AccessKeyId,
        now: SystemTime,
    ) -> Result<Arc<Entry>, VerifyError> {
        // Read without the store's expiry filter, so that an expired session is told apart from
        // an unknown one (as the server does). Store trouble: fail closed.
        let session = self
            .store
            .get(key_id, 0)
            .await
            .map_err(|_| VerifyError::ServiceUnavailable)?
            .ok_or(VerifyError::InvalidClientTokenId)?;
        if session.access_key_id != *key_id {
            return Err(VerifyError::InvalidClientTokenId);
        }
        let revoked = self
            .store
            .is_revoked(&session)
            .await
            .map_err(|_| VerifyError::ServiceUnavailable)?;
        // A secret sealed with a key this verifier does not have verifies nothing.
        let secret = self
            .options
            .sealing_keys
            .unseal(&session.secret, &session.access_key_id)
            .map_err(|_| VerifyError::InvalidClientTokenId)?;
        let identity = Arc::new(identity_of(&session));
        let policies = Arc::new(self.policies_of(&session));
        let base_context = Arc::new(base_context(&identity));
        Ok(Arc::new(Entry {
            session,
            secret,
            signing_key: RwLock::new(None),
            revoked,
            identity,
            policies,
            base_context,
            fetched_at: now,
        }))
    }

    fn policies_of(&self, session: &Session) -> SessionPolicies {
        let dir = &self.options.policies;
        let p = &session.principal;
        let refs = &session.policies;
        // Role sessions are bound by the role's policies; user sessions by the user's.
        let owner = match p.kind {
            PrincipalKind::AssumedRole => p.role_arn.as_deref(),
            _ => Some(p.arn.as_str()),
        };
        let mut resolved = owner.is_some();
        let owner = owner.unwrap_or_default();
        let mut identity = dir
            .identity_of(owner, &refs.identity_policy_ids)
            .unwrap_or_else(|| {
                resolved = false;
                Vec::new()
            });
        for arn in &refs.managed_policy_arns {
            match dir.managed_policy(arn) {
                Ok(pol) => identity.push(pol),
                Err(_) => resolved = false,
            }
        }
        let boundary = match &refs.permissions_boundary_arn {
            Some(arn) => dir.managed_policy(arn).ok().or_else(|| {
                resolved = false;
                None
            }),
            None => dir.boundary_of(owner),
        };
        let mut session_policies = Vec::new();
        if let Some(text) = &refs.session_policy {
            match Policy::parse(text, PolicyKind::Session) {
                Ok(pol) => session_policies.push(Arc::new(pol.with_id("session-policy"))),
                Err(_) => resolved = false,
            }
        }
        for arn in &refs.session_policy_arns {
            match dir.managed_policy(arn) {
                Ok(pol) => session_policies.push(pol),
                Err(_) => resolved = false,
            }
        }
        if !resolved {
            tracing::warn!(
                access_key_id = session.access_key_id.as_str(),
                "session refers to policies this verifier does not know; it is denied everything"
            );
        }
        SessionPolicies {
            identity,
            boundary,
            session: session_policies,
            resolved,
        }
    }

    /// May `caller` perform `action` on `resource`? Identity policies ∩ permissions boundary ∩
    /// session policies, with the global condition keys filled in.
    pub fn authorize(
        &self,
        caller: &VerifiedCaller,
        action: &str,
        resource: &str,
        facts: &RequestFacts<'_>,
    ) -> Decision {
        self.evaluate(caller, action, resource, facts).decision
    }

    /// As [`authorize`](Self::authorize), with the reasons.
    pub fn evaluate(
        &self,
        caller: &VerifiedCaller,
        action: &str,
        resource: &str,
        facts: &RequestFacts<'_>,
    ) -> Evaluation {
        let pol = &caller.policies;
        if !pol.resolved {
            return Evaluation {
                decision: Decision::ImplicitDeny,
                matched: Vec::new(),
                missing: Some(idbroker_policy::Layer::Identity),
            };
        }
        // The session's keys are shared (layered), not copied; the per-request keys are
        // compiled once.
        let mut ctx = Context::layered(caller.base_context.clone());
        for (k, v) in facts.extra {
            let global = k.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:"));
            if !global {
                ctx.insert(k, *v);
            }
        }
        let keys = &*REQUEST_KEYS;
        let now = time::epoch(facts.now);
        ctx.insert_key(&keys.current_time, time::iso8601(now))
            .insert_key(&keys.epoch_time, now.to_string())
            .insert_key(
                &keys.secure_transport,
                if facts.secure_transport {
                    "true"
                } else {
                    "false"
                },
            )
            .insert_key(&keys.requested_region, caller.region.as_str());
        if let Some(ip) = facts.source_ip {
            ctx.insert_key(&keys.source_ip, ip.to_string());
        }
        let id = &caller.identity;
        let principal = match &id.role_arn {
            Some(role) => idbroker_policy::Principal::assumed_role(&id.arn, role),
            None => idbroker_policy::Principal::aws(&id.arn),
        };
        let req = Request::new(action, resource, ctx).with_principal(principal);
        let set = PolicySet {
            identity: pol.identity.iter().map(|p| &**p).collect(),
            permissions_boundary: pol.boundary.as_deref(),
            session: pol.session.iter().map(|p| &**p).collect(),
            resource: None,
            account_principal_delegates: false,
        };
        set.evaluate(&req)
    }

    /// [`authorize`](Self::authorize) as a `Result`: anything but `Allow` is
    /// [`VerifyError::AccessDenied`].
    pub fn require(
        &self,
        caller: &VerifiedCaller,
        action: &str,
        resource: &str,
        facts: &RequestFacts<'_>,
    ) -> Result<(), VerifyError> {
        if self.authorize(caller, action, resource, facts).is_allowed() {
            Ok(())
        } else {
            Err(VerifyError::AccessDenied {
                principal: caller.arn().to_owned(),
                action: action.to_owned(),
                resource: resource.to_owned(),
            })
        }
    }
}

fn wrong_service(service: &str) -> VerifyError {
    VerifyError::IncompleteSignature(format!(
        "Credential should be scoped to correct service: '{service}'."
    ))
}

/// The values of the header `name` (any case), trimmed.
fn header_values<'a>(
    headers: &'a [(&'a str, &'a str)],
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim_ascii())
}

/// The global condition keys set on every request, compiled once.
struct RequestKeys {
    current_time: ContextKey,
    epoch_time: ContextKey,
    secure_transport: ContextKey,
    requested_region: ContextKey,
    source_ip: ContextKey,
}

static REQUEST_KEYS: LazyLock<RequestKeys> = LazyLock::new(|| RequestKeys {
    current_time: ContextKey::new("aws:CurrentTime"),
    epoch_time: ContextKey::new("aws:EpochTime"),
    secure_transport: ContextKey::new("aws:SecureTransport"),
    requested_region: ContextKey::new("aws:RequestedRegion"),
    source_ip: ContextKey::new("aws:SourceIp"),
});

fn identity_of(s: &Session) -> CallerIdentity {
    let p = &s.principal;
    CallerIdentity {
        access_key_id: s.access_key_id.as_str().to_owned(),
        kind: p.kind,
        arn: p.arn.clone(),
        user_id: p.principal_id.clone(),
        account: p.account.clone(),
        role_arn: p.role_arn.clone(),
        session_name: p.session_name.clone(),
        user_name: p.user_name.clone(),
        source_identity: p.source_identity.clone(),
        tags: p.tags.clone(),
        issued_at: s.issued_at,
        expires_at: s.expires_at,
        mfa: s.mfa,
    }
}

/// The condition keys that depend on the session only (as the server's `caller_context`).
fn base_context(id: &CallerIdentity) -> Context {
    let mut ctx = Context::new();
    // `aws:PrincipalArn` of a role session is the role's ARN (AWS's rule).
    ctx.insert(
        "aws:PrincipalArn",
        id.role_arn.clone().unwrap_or_else(|| id.arn.clone()),
    )
    .insert("aws:PrincipalAccount", id.account.clone())
    .insert("aws:userid", id.user_id.clone())
    .insert(
        "aws:PrincipalType",
        match id.kind {
            PrincipalKind::AssumedRole => "AssumedRole",
            PrincipalKind::FederatedUser => "FederatedUser",
            PrincipalKind::User => "User",
        },
    )
    .insert("aws:TokenIssueTime", time::iso8601(id.issued_at))
    .insert(
        "aws:MultiFactorAuthPresent",
        if id.mfa { "true" } else { "false" },
    );
    if let Some(name) = &id.user_name {
        ctx.insert("aws:username", name.clone());
    }
    if let Some(si) = &id.source_identity {
        ctx.insert("aws:SourceIdentity", si.clone());
    }
    for t in &id.tags {
        ctx.insert(&format!("aws:PrincipalTag/{}", t.key), t.value.clone());
    }
    ctx
}
