//! `idbroker-verify`: for services behind idbroker. Verify a SigV4 request signed with
//! idbroker-issued temporary credentials (`ASIA…`, header or presigned form) and learn who sent
//! it ([`Verifier::verify`] → [`VerifiedCaller`]); then decide whether that session may do what
//! it asks ([`Verifier::authorize`]): the role's (or user's) identity policies ∩ its permissions
//! boundary ∩ the session policies, with AWS's global condition keys filled in.
//!
//! The verifier reads sessions from the same [`SessionStore`] as the server and opens their
//! sealed secrets with the same [`SealingKeys`](idbroker_session::SealingKeys). Session records (with the secret unsealed, the
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
//!
//! The code: the verification entry points here; [`VerifierOptions`] in `options.rs`; the
//! session cache in `cache.rs` (its checks on a cached session are `idbroker_session::authn`'s,
//! the same as idbroker's own); the revocation follower in `follow.rs`; authorization and the
//! session's policies in `authorize.rs`; the global condition keys, shared with idbroker's STS,
//! in `condition_keys.rs` ([`PrincipalKeys`], [`insert_request_keys`]); a received request's
//! parts in `received.rs` ([`ReceivedRequest`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "actix")]
pub mod actix;
mod authorize;
mod cache;
mod caller;
mod condition_keys;
mod directory;
mod error;
mod follow;
pub mod k8s;
mod options;
mod received;
mod time;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use idbroker_session::{temporary_key_id, SessionStore, SessionStoreConfig};
use idbroker_sigv4::{ParsedRequest, SigV4Error};
use tracing::instrument;

pub use authorize::RequestFacts;
use cache::{Cache, SignedRequest};
pub use caller::{CallerIdentity, VerifiedCaller};
pub use condition_keys::{insert_request_keys, PrincipalKeys};
pub use directory::PolicyDirectory;
pub use error::{DirectoryError, VerifyError};
pub use idbroker_policy::Decision;
pub use idbroker_sigv4::{Payload, RequestParts, SignatureForm, Skew};
pub use k8s::K8sTokenError;
pub use options::{ExpectedService, VerifierOptions};
pub use received::ReceivedRequest;

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
        *watcher = Some(runtime.spawn(follow::follow_revocations(
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

    /// The checks after the scope's: the session (cached or read), then the session checks of
    /// [`idbroker_session::authn`] on it (token, the signature with the session's signing key,
    /// cached per scope, expiry, revocation as read). `lifetime` fixes a presigned request's
    /// validity (k8s tokens).
    async fn verify_parsed(
        &self,
        request: ParsedRequest<'_>,
        now: SystemTime,
        lifetime: Option<u64>,
    ) -> Result<VerifiedCaller, VerifyError> {
        let key_id = temporary_key_id::<SigV4Error>(request.signature().access_key_id())?;
        let entry = self.entry(&key_id, now).await?;
        let now_s = time::epoch(now);
        let credential = SignedRequest {
            request,
            entry: &entry,
            now: now_s,
            skew: self.options.skew,
            lifetime,
        };
        let (_, verified) = entry.opened.check(credential, now_s).await?.into_parts();
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
