//! `POST /verify`, the use case: a downstream service that does not link `idbroker-verify`
//! hands idbroker the parts of a request it received; idbroker verifies that request's SigV4
//! signature against the session it names (with the same [`Verifier`] and session cache a Rust
//! service would use) and, when asked, decides whether the session may perform an action.
//!
//! The calling service is authenticated by the handler (SigV4 with its own idbroker access key,
//! service `idbroker`) and must be allowed [`ACTION`] on
//! `arn:aws:idbroker:REGION:ACCOUNT:service/SERVICE` ([`service_arn`]), where `SERVICE` is the
//! service the forwarded request must be signed for. A request signed for another service does
//! not verify.

use std::collections::BTreeMap;
use std::net::IpAddr;

use idbroker_verify::{Decision, Payload, RequestParts, VerifiedCaller, Verifier, VerifyError};
use serde::Deserialize;

use crate::directory::Directory;
use crate::sts::{self, Caller, RequestFacts, StsError};

/// The action a calling service must be allowed.
pub const ACTION: &str = "idbroker:VerifyRequest";

/// Most headers a forwarded request may carry.
pub const MAX_HEADERS: usize = 200;

/// The JSON body of `POST /verify`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyInput {
    /// The service the request must be signed for (its credential scope), e.g. `orders`.
    pub service: String,
    /// The request's method, as received.
    pub method: String,
    /// Its path, as received (still percent-encoded).
    pub path: String,
    /// Its raw query string, without `?`.
    #[serde(default)]
    pub query: String,
    /// Its headers, `[name, value]` pairs in the order received; names may repeat.
    pub headers: Vec<(String, String)>,
    /// SHA-256 of its body, hex. Absent: the body is not shown, and only an `UNSIGNED-PAYLOAD`
    /// signature (declared so, or a presigned URL signed so) verifies; any other is refused as
    /// the call's fault (`MissingParameter`, naming `body_sha256`), never verified for a body
    /// idbroker did not see.
    pub body_sha256: Option<String>,
    /// The action to decide (with `resource`).
    pub action: Option<String>,
    /// The resource to decide (with `action`).
    pub resource: Option<String>,
    /// Service-specific condition keys (`orders:Shop`); `aws:` keys are not accepted here.
    #[serde(default)]
    pub context: BTreeMap<String, String>,
    /// The client's address as the service saw it (`aws:SourceIp`).
    pub source_ip: Option<String>,
    /// The request came over TLS (`aws:SecureTransport`).
    #[serde(default)]
    pub secure_transport: bool,
}

// Headers carry the signature and the session token: never printed.
impl std::fmt::Debug for VerifyInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyInput")
            .field("service", &self.service)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("action", &self.action)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

/// What `POST /verify` can fail with.
#[derive(Debug, thiserror::Error)]
pub enum VerificationError {
    /// The call itself: invalid input, or the calling service may not verify for this service.
    #[error(transparent)]
    Call(#[from] StsError),
    /// The forwarded request did not verify (or the session store could not answer).
    #[error(transparent)]
    Request(VerifyError),
}

/// A forwarded request that verified, and the decision when an action was asked about.
#[derive(Debug)]
pub struct Verification {
    /// Who signed it, and how.
    pub caller: VerifiedCaller,
    /// The decision on `action`/`resource`, when given.
    pub decision: Option<Decision>,
    /// The action and resource decided on.
    pub asked: Option<(String, String)>,
}

impl Verification {
    /// Verified, and allowed when an action was asked about.
    pub fn allowed(&self) -> bool {
        self.decision.is_none_or(|d| d == Decision::Allow)
    }

    /// The denial, as the verifier words it (`None` when allowed).
    pub fn denial(&self) -> Option<VerifyError> {
        match (&self.asked, self.allowed()) {
            (Some((action, resource)), false) => Some(VerifyError::AccessDenied {
                principal: self.caller.arn().to_owned(),
                action: action.clone(),
                resource: resource.clone(),
            }),
            _ => None,
        }
    }
}

/// The JSON body of `POST /verify/k8s`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct K8sTokenInput {
    /// The `k8s-aws-v1.` bearer token.
    pub token: String,
    /// The cluster it must be made for (`x-k8s-aws-id`).
    pub cluster_id: String,
}

// The token is a credential: never printed.
impl std::fmt::Debug for K8sTokenInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("K8sTokenInput")
            .field("cluster_id", &self.cluster_id)
            .finish_non_exhaustive()
    }
}

/// What `POST /verify/k8s` can fail with.
#[derive(Debug, thiserror::Error)]
pub enum K8sVerificationError {
    /// The call itself: invalid input, or the calling service may not verify for this cluster.
    #[error(transparent)]
    Call(#[from] StsError),
    /// The token did not verify.
    #[error(transparent)]
    Token(idbroker_verify::K8sTokenError),
}

/// `arn:aws:idbroker:REGION:ACCOUNT:k8s-cluster/CLUSTER_ID`: what [`ACTION`] is decided on for
/// a k8s token.
pub fn k8s_cluster_arn(region: &str, account: &str, cluster_id: &str) -> String {
    format!("arn:aws:idbroker:{region}:{account}:k8s-cluster/{cluster_id}")
}

/// A cluster id: 1..100 of `[A-Za-z0-9._-]` (nothing an ARN pattern could read as more).
fn valid_cluster_id(s: &str) -> bool {
    (1..=100).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// Check the k8s token `input` carries for `service_caller` (already authenticated), which must
/// be allowed [`ACTION`] on the cluster's ARN ([`k8s_cluster_arn`]). The token is checked by
/// idbroker's own verifier: no service is ever given a key for `sts`.
pub async fn verify_k8s_token(
    verifier: &Verifier,
    dir: &Directory,
    region: &str,
    service_caller: &Caller,
    call: &RequestFacts<'_>,
    input: &K8sTokenInput,
) -> Result<VerifiedCaller, K8sVerificationError> {
    if !valid_cluster_id(&input.cluster_id) {
        return Err(StsError::Validation(
            "cluster_id must be 1 to 100 of A-Z, a-z, 0-9, '.', '_' and '-'".into(),
        )
        .into());
    }
    let resource = k8s_cluster_arn(region, &dir.account_id, &input.cluster_id);
    sts::authorize(dir, service_caller, ACTION, &resource, call)?;
    verifier
        .verify_k8s_token(&input.token, &input.cluster_id, call.now)
        .await
        .map_err(K8sVerificationError::Token)
}

/// `arn:aws:idbroker:REGION:ACCOUNT:service/SERVICE`: what [`ACTION`] is decided on.
pub fn service_arn(region: &str, account: &str, service: &str) -> String {
    format!("arn:aws:idbroker:{region}:{account}:service/{service}")
}

fn invalid(msg: impl Into<String>) -> VerificationError {
    VerificationError::Call(StsError::Validation(msg.into()))
}

/// A credential-scope service name: 1..64 of `[a-z0-9-]` (nothing an ARN pattern could read
/// as more than one service).
pub(crate) fn valid_service(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn valid_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Verify the request `input` describes, for `service_caller` (already authenticated), at the
/// time of the `/verify` call. `region` is idbroker's; `call` the facts of the `/verify` call
/// itself (its time, and for the calling service's own policy conditions).
pub async fn verify_request(
    verifier: &Verifier,
    dir: &Directory,
    region: &str,
    service_caller: &Caller,
    call: &RequestFacts<'_>,
    input: &VerifyInput,
) -> Result<Verification, VerificationError> {
    let now = call.now;
    if !valid_service(&input.service) {
        return Err(invalid(
            "service must be the name the request is signed for: 1 to 64 of a-z, 0-9 and -",
        ));
    }
    let resource = service_arn(region, &dir.account_id, &input.service);
    sts::authorize(dir, service_caller, ACTION, &resource, call)?;

    let asked = match (&input.action, &input.resource) {
        (Some(a), Some(r)) if !a.is_empty() && !r.is_empty() => Some((a.clone(), r.clone())),
        (None, None) => None,
        _ => {
            return Err(invalid(
                "action and resource must be given together, both non-empty",
            ))
        }
    };
    let source_ip = input
        .source_ip
        .as_deref()
        .map(str::parse::<IpAddr>)
        .transpose()
        .map_err(|_| invalid("source_ip must be an IPv4 or IPv6 address"))?;
    if input
        .context
        .keys()
        .any(|k| k.is_empty() || k.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:")))
    {
        return Err(invalid(
            "context keys must be non-empty and service-specific: aws: keys come from the session and from source_ip and secure_transport",
        ));
    }
    if input.headers.len() > MAX_HEADERS {
        return Err(invalid(format!(
            "headers: at most {MAX_HEADERS} are accepted"
        )));
    }
    let payload = match input.body_sha256.as_deref() {
        Some(h) if valid_sha256_hex(h) => Payload::Sha256Hex(h),
        Some(_) => return Err(invalid("body_sha256 must be 64 hexadecimal characters")),
        None => Payload::Unsigned,
    };

    let headers: Vec<(&str, &str)> = input
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let parts = RequestParts {
        method: &input.method,
        path: &input.path,
        query: &input.query,
        headers: &headers,
        payload,
    };
    // Signed for another service: not a request to this one. A signature that covers the body
    // with no `body_sha256` given: `VerifyError::BodyHashRequired` (the call's fault).
    let caller = verifier
        .verify_for_service(&parts, &input.service, now)
        .await
        .map_err(VerificationError::Request)?;
    let decision = asked.as_ref().map(|(action, resource)| {
        let extra: Vec<(&str, &str)> = input
            .context
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let facts = idbroker_verify::RequestFacts {
            now,
            source_ip,
            secure_transport: input.secure_transport,
            extra: &extra,
        };
        verifier.authorize(&caller, action, resource, &facts)
    });
    Ok(Verification {
        caller,
        decision,
        asked,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names() {
        assert!(valid_service("orders"));
        assert!(valid_service("execute-api"));
        for bad in ["", "Orders", "orders/*", "*", "a:b", &"x".repeat(65)] {
            assert!(!valid_service(bad), "{bad}");
        }
        assert_eq!(
            service_arn("us-east-1", "123456789012", "orders"),
            "arn:aws:idbroker:us-east-1:123456789012:service/orders"
        );
    }

    #[test]
    fn cluster_ids() {
        assert!(valid_cluster_id("prod-eu.1_a"));
        for bad in ["", "a/b", "a:b", "*", "a b", &"x".repeat(101)] {
            assert!(!valid_cluster_id(bad), "{bad}");
        }
    }

    #[test]
    fn body_hashes() {
        assert!(valid_sha256_hex(idbroker_sigv4::EMPTY_SHA256));
        assert!(!valid_sha256_hex("UNSIGNED-PAYLOAD"));
        assert!(!valid_sha256_hex(&"a".repeat(63)));
    }

    #[test]
    fn debug_hides_headers() {
        let input: VerifyInput = serde_json::from_str(
            r#"{"service":"orders","method":"GET","path":"/","headers":[["X-Amz-Security-Token","secret-token"]]}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{input:?}").contains("secret-token"));
    }
}
