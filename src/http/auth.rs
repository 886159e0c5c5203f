//! Who signed this request: SigV4 against long-term user keys (`AKIA`) from the directory or
//! temporary credentials (`ASIA`) from the session store.

use std::time::SystemTime;

use actix_web::HttpRequest;
use idbroker_session::{Credential, PrincipalKind, Refusal, Secret};
use idbroker_sigv4::{ParsedSignature, Payload, RequestParts, SigV4Error};
use tracing::instrument;

use crate::clock::epoch;
use crate::directory::Directory;
use crate::http::error::{ApiError, AuthError};
use crate::state::AppState;
use crate::sts::Tag;
use crate::sts::{Caller, CallerKind, StsError};

impl From<SigV4Error> for AuthError {
    fn from(e: SigV4Error) -> Self {
        match e {
            SigV4Error::Missing => AuthError::Missing,
            SigV4Error::Incomplete(m) => AuthError::Incomplete(m),
            SigV4Error::Expired(m) => AuthError::RequestExpired(m),
            SigV4Error::Mismatch => AuthError::SignatureDoesNotMatch,
        }
    }
}

/// Verify the request's signature (made for the service `sts`) and say who made it.
#[instrument(level = "debug", skip_all)]
pub async fn authenticate(
    req: &HttpRequest,
    body: &[u8],
    state: &AppState,
    dir: &Directory,
    now: SystemTime,
) -> Result<Caller, ApiError> {
    authenticate_for("sts", req, body, state, dir, now).await
}

/// Verify the request's signature, made for `service` (`sts` for STS calls, `idbroker` for the
/// admin API), and say who made it. `dir` is the call's one version of the directory
/// ([`AppState::directory`]), the same its use case decides with.
#[instrument(skip_all)]
pub async fn authenticate_for(
    service: &str,
    req: &HttpRequest,
    body: &[u8],
    state: &AppState,
    dir: &Directory,
    now: SystemTime,
) -> Result<Caller, ApiError> {
    let received = idbroker_verify::actix::received(req);
    let parts = received.parts(Payload::Bytes(body));
    let parsed = idbroker_sigv4::parse(&parts).map_err(AuthError::from)?;
    // A signature made for another service must not authenticate this one's calls.
    if parsed.service() != service {
        return Err(AuthError::Incomplete(format!(
            "Credential should be scoped to correct service: '{service}'."
        ))
        .into());
    }
    let now_s = epoch(now);
    let skew = state.skew().as_secs();
    let id = parsed.access_key_id().to_owned();

    if id.starts_with("AKIA") {
        let (user, key) = dir.access_key(&id).ok_or(AuthError::InvalidClientTokenId)?;
        // A session token with a long-term key, or an inactive key: invalid, as AWS says it.
        if !key.active || parsed.security_token().is_some() {
            return Err(AuthError::InvalidClientTokenId.into());
        }
        check_signature(&parts, &parsed, &key.secret, now_s, skew).map_err(AuthError::from)?;
        // GetAccessKeyLastUsed: kept in memory, written in batches (nothing waits on it).
        state
            .directory_service
            .note_use(&id, now, parsed.service(), parsed.region());
        return Ok(Caller::user(user, id));
    }
    // A temporary key: idbroker_session's one check (session, token, signature, expiry,
    // revocation; a store that cannot answer fails closed).
    let signature = Signature {
        parts: &parts,
        parsed: &parsed,
        now: now_s,
        skew,
    };
    let verified =
        idbroker_session::authenticate(state.store.as_ref(), &state.keys, &id, signature, now_s)
            .await
            .map_err(refused)?;
    let session = verified.session();
    let p = &session.principal;
    let kind = match (p.kind, &p.role_arn, &p.session_name, &p.user_name) {
        (PrincipalKind::AssumedRole, Some(role_arn), Some(session_name), _) => {
            CallerKind::AssumedRole {
                role_arn: role_arn.clone(),
                session_name: session_name.clone(),
            }
        }
        (PrincipalKind::User, _, _, Some(user_name)) => CallerKind::UserSession {
            name: user_name.clone(),
        },
        _ => return Err(AuthError::InvalidClientTokenId.into()),
    };
    Ok(Caller {
        kind,
        arn: p.arn.clone(),
        user_id: p.principal_id.clone(),
        account: p.account.clone(),
        access_key_id: id,
        session_policy: session.policies.session_policy.clone(),
        session_policy_arns: session.policies.session_policy_arns.clone(),
        source_identity: p.source_identity.clone(),
        tags: p
            .tags
            .iter()
            .map(|t| Tag {
                key: t.key.clone(),
                value: t.value.clone(),
            })
            .collect(),
        transitive_tag_keys: p.transitive_tag_keys.clone(),
        issued_at: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(session.issued_at)),
        // A record that says MFA without its time (none written so) counts from its issue.
        mfa_authenticated_at: session.mfa.then(|| {
            std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(
                    session.mfa_authenticated_at.unwrap_or(session.issued_at),
                )
        }),
    })
}

/// A SigV4 signature as the credential of a temporary session: the session token it carries,
/// and the signature checked with the session's secret.
struct Signature<'a> {
    parts: &'a RequestParts<'a>,
    parsed: &'a ParsedSignature,
    now: u64,
    skew: u64,
}

impl Credential for Signature<'_> {
    type Proof = idbroker_sigv4::Verified;
    type Error = SigV4Error;

    fn session_token(&self) -> Option<&str> {
        self.parsed.security_token()
    }

    fn prove(self, secret: Secret<'_>) -> Result<Self::Proof, Refusal<SigV4Error>> {
        secret.check(|secret| {
            check_signature(
                self.parts,
                self.parsed,
                secret.expose_secret(),
                self.now,
                self.skew,
            )
        })
    }
}

/// The SigV4 check with `secret`: a span of its own in traces (no field: the secret, the
/// signature and the request stay out of it).
#[instrument(level = "debug", name = "sigv4.verify", skip_all)]
fn check_signature(
    parts: &RequestParts<'_>,
    parsed: &ParsedSignature,
    secret: &str,
    now: u64,
    skew: u64,
) -> Result<idbroker_sigv4::Verified, SigV4Error> {
    idbroker_sigv4::verify(parts, parsed, secret, now, skew)
}

/// A refused temporary credential, as STS answers it: unknown, revoked, a token that is not the
/// session's and a secret this server cannot open are all `InvalidClientTokenId`.
fn refused(r: Refusal<SigV4Error>) -> ApiError {
    match r {
        Refusal::NotTemporary
        | Refusal::Unknown
        | Refusal::TokenMismatch
        | Refusal::Unsealable
        | Refusal::Revoked => AuthError::InvalidClientTokenId.into(),
        Refusal::Proof(e) => AuthError::from(e).into(),
        Refusal::Expired => AuthError::ExpiredToken.into(),
        Refusal::Unavailable => StsError::Unavailable.into(),
    }
}
