//! `idbroker-verify`: for services behind idbroker. Verify a SigV4 request signed with
//! idbroker-issued credentials (a session's `ASIA…` key or an IAM user's `AKIA…` key, header or
//! presigned form) and learn who sent it ([`Verifier::verify`] → [`VerifiedCaller`]); then
//! decide whether the caller may do what it asks ([`Verifier::authorize`]): its identity
//! policies ∩ its permissions boundary ∩ its session policies, with AWS's global condition keys
//! filled in.
//!
//! **No secret of the caller, no key of idbroker.** For a request of a scope it has not seen
//! (access key, date, region, service), the verifier asks its [`KeySource`] once for that
//! scope's SigV4 signing key, the caller's facts and the policies that decide for it (a
//! [`Grant`]); it then verifies and authorizes every request of that scope in-process. A
//! service uses [`RemoteSource`] (feature `remote`, the default): idbroker's URL and the
//! service's own key, nothing else (`docs/VERIFIER-PROTOCOL.md`); a derived key verifies that
//! service's requests of that day and region only, and the secret cannot be computed back from
//! it. [`StoreSource`] (feature `store`) reads idbroker's session store with its sealing keys:
//! idbroker's own process only.
//!
//! **Revocation.** [`Verifier::watch_revocations`] (started by [`Verifier::remote`]) follows
//! the source's event stream in a background task: a revocation made on any idbroker replica
//! drops the matching grants at once; a policy change drops them all. While the stream is up,
//! grants are kept up to [`VerifierOptions::max_age`]; while it is down (or silent for a
//! second), none is used longer than [`VerifierOptions::cache_ttl`] (1 s) after it was fetched,
//! and every reconnection forgets everything. A grant fetch that raced with a revocation is not
//! kept (a generation counter). A source that cannot answer fails every cold verification
//! closed ([`VerifyError::ServiceUnavailable`]).
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
//! Time is passed in (`now`), never read from a clock here (but for the actix middleware and
//! the event stream's subscription, at the service's own time).
//!
//! Behind the `actix` feature, [`actix`] has an actix-web middleware.
//!
//! The code: the verification entry points here; [`VerifierOptions`] in `options.rs`; sources
//! in `source.rs` (the trait), `remote.rs`, `store_source.rs`; the wire JSON in `protocol.rs`;
//! the grant cache in `cache.rs`; the event follower in `follow.rs`; authorization in
//! `authorize.rs`; the global condition keys, shared with idbroker's STS, in
//! `condition_keys.rs` ([`PrincipalKeys`], [`insert_request_keys`]); a received request's parts
//! in `received.rs` ([`ReceivedRequest`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "actix")]
pub mod actix;
mod authorize;
mod cache;
mod caller;
mod condition_keys;
#[cfg(feature = "store")]
mod directory;
mod error;
mod follow;
pub mod k8s;
mod options;
pub mod protocol;
mod received;
#[cfg(feature = "remote")]
mod remote;
mod source;
#[cfg(feature = "store")]
mod store_source;
mod time;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use idbroker_sigv4::ParsedRequest;
use tracing::instrument;

pub use authorize::RequestFacts;
use cache::Cache;
pub use caller::{CallerIdentity, VerifiedCaller};
pub use condition_keys::{insert_mfa_age, insert_request_keys, PrincipalKeys};
#[cfg(feature = "store")]
pub use directory::PolicyDirectory;
pub use error::{DirectoryError, VerifyError};
pub use idbroker_policy::Decision;
pub use idbroker_sigv4::{Payload, RequestParts, SignatureForm, Skew};
pub use k8s::K8sTokenError;
pub use options::{ExpectedService, VerifierOptions};
pub use received::ReceivedRequest;
#[cfg(feature = "remote")]
pub use remote::{Clock, RemoteConfig, RemoteConfigError, RemoteSource};
pub use source::{Answer, EventStream, Grant, GrantPolicies, KeyAsk, KeySource, SourceNews};
#[cfg(feature = "store")]
pub use store_source::{identity_of, session_policies, user_policies, StoreSource};

/// Verifies requests and authorizes them. Share one per process (`Arc<Verifier>`).
#[derive(Debug)]
pub struct Verifier {
    source: Arc<dyn KeySource>,
    options: VerifierOptions,
    cache: Arc<Cache>,
    /// The task following the source's event stream; aborted when the verifier is dropped.
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
    /// A verifier asking `source` for grants. It does not follow the source's event stream
    /// until [`watch_revocations`](Self::watch_revocations) is called (grants are then trusted
    /// for [`VerifierOptions::cache_ttl`] only).
    pub fn new(source: Arc<dyn KeySource>, options: VerifierOptions) -> Self {
        Verifier {
            source,
            options,
            cache: Arc::default(),
            watcher: Mutex::new(None),
        }
    }

    /// A verifier asking idbroker as `config` says ([`RemoteSource`]), following its event
    /// stream (on the current tokio runtime).
    #[cfg(feature = "remote")]
    pub fn remote(
        config: RemoteConfig,
        options: VerifierOptions,
    ) -> Result<Self, RemoteConfigError> {
        let verifier = Self::new(Arc::new(RemoteSource::new(config)?), options);
        verifier.watch_revocations();
        Ok(verifier)
    }

    /// The same verifier's configuration over another source (its own cache, not following
    /// events until asked).
    pub fn with_source(&self, source: Arc<dyn KeySource>) -> Self {
        Self::new(source, self.options.clone())
    }

    /// Start following the source's event stream in a background task on the current tokio
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
        let service = match &self.options.service {
            ExpectedService::Named(s) => Some(s.clone()),
            ExpectedService::PerCall => None,
        };
        *watcher = Some(runtime.spawn(follow::follow_events(
            Arc::clone(&self.source),
            service,
            Arc::clone(&self.cache),
        )));
        true
    }

    /// Is the event stream up? While it is not, revocations are seen within
    /// [`VerifierOptions::cache_ttl`].
    pub fn revocation_feed_up(&self) -> bool {
        self.cache.feed_up.load(Ordering::Acquire)
    }

    /// How many revocations the stream has delivered (and their cache entries were dropped).
    pub fn revocations_seen(&self) -> u64 {
        self.cache.revocations_seen.load(Ordering::Acquire)
    }

    /// The options.
    pub fn options(&self) -> &VerifierOptions {
        &self.options
    }

    /// Forget every cached grant (the next request of each asks the source).
    pub fn clear_cache(&self) {
        self.cache.clear();
    }

    /// Verify a signed request at `now`: the access key and session token (idbroker's word,
    /// cached per scope), the signature with the scope's key (header or presigned), expiry; the
    /// request must be signed for the service the options name (and their host and regions,
    /// when set). Errors are AWS's ([`VerifyError::code`]).
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
    /// get-token`) made for the cluster `cluster_id`, at `now`. A [`RemoteSource`] forwards it
    /// to idbroker (no service is given a key for `sts`); idbroker's own verifier checks the
    /// token's URL ([`k8s::parse_k8s_token`], against [`VerifierOptions::sts_hosts`]), then
    /// its presigned GetCallerIdentity request like any request, with `x-k8s-aws-id:
    /// cluster_id` (so a token for another cluster does not verify) and a 15-minute validity
    /// from its `X-Amz-Date`. [`VerifierOptions::service`], `host` and `regions` do not apply.
    #[instrument(skip_all)]
    pub async fn verify_k8s_token(
        &self,
        token: &str,
        cluster_id: &str,
        now: SystemTime,
    ) -> Result<VerifiedCaller, K8sTokenError> {
        if let Some(answer) = self.source.k8s_token(token, cluster_id, now).await {
            let (answer, region) = answer?;
            let identity = Arc::new(answer.identity);
            return Ok(VerifiedCaller {
                base_context: Arc::new(authorize::base_context(&identity)),
                identity,
                region,
                service: "sts".to_owned(),
                form: SignatureForm::Presigned,
                payload_signed: false,
                policies: Arc::new(answer.policies),
            });
        }
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

    /// The checks after the scope's: the grant of the request's scope (cached or asked for),
    /// then its checks (token, signature with the scope's key, expiry). `lifetime` fixes a
    /// presigned request's validity (k8s tokens).
    async fn verify_parsed(
        &self,
        request: ParsedRequest<'_>,
        now: SystemTime,
        lifetime: Option<u64>,
    ) -> Result<VerifiedCaller, VerifyError> {
        let (entry, verified) = self.check_with_grant(request, now, lifetime).await?;
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
