//! Who signed this request: SigV4 against long-term user keys (`AKIA`) from the directory or
//! temporary credentials (`ASIA`) from the session store.

use std::time::SystemTime;

use actix_web::HttpRequest;
use idbroker_session::{AccessKeyId, AccessKeyKind, PrincipalKind};
use idbroker_sigv4::{Payload, RequestParts, SigV4Error};
use tracing::instrument;

use crate::clock::epoch;
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
    now: SystemTime,
) -> Result<Caller, ApiError> {
    authenticate_for("sts", req, body, state, now).await
}

/// Verify the request's signature, made for `service` (`sts` for STS calls, `idbroker` for the
/// admin API), and say who made it.
#[instrument(skip_all)]
pub async fn authenticate_for(
    service: &str,
    req: &HttpRequest,
    body: &[u8],
    state: &AppState,
    now: SystemTime,
) -> Result<Caller, ApiError> {
    let headers: Vec<(&str, &str)> = req
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    let parts = RequestParts {
        method: req.method().as_str(),
        path: req.uri().path(),
        query: req.query_string(),
        headers: &headers,
        payload: Payload::Bytes(body),
    };
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
    let dir = &state.config.directory;

    if id.starts_with("AKIA") {
        let (user, key) = dir.access_key(&id).ok_or(AuthError::InvalidClientTokenId)?;
        // A session token with a long-term key, or an inactive key: invalid, as AWS says it.
        if !key.active || parsed.security_token().is_some() {
            return Err(AuthError::InvalidClientTokenId.into());
        }
        idbroker_sigv4::verify(&parts, &parsed, &key.secret, now_s, skew)
            .map_err(AuthError::from)?;
        return Ok(Caller {
            kind: CallerKind::User {
                name: user.name.clone(),
            },
            arn: user.arn.clone(),
            user_id: user.user_id.clone(),
            account: dir.account_id.clone(),
            access_key_id: id,
            session_policy: None,
            session_policy_arns: Vec::new(),
            source_identity: None,
            tags: Vec::new(),
            transitive_tag_keys: Vec::new(),
            issued_at: None,
        });
    }
    let key_id = match AccessKeyId::parse(&id) {
        Ok(k) if k.kind() == AccessKeyKind::Temporary => k,
        _ => return Err(AuthError::InvalidClientTokenId.into()),
    };
    // Read without the expiry filter, so an expired session is told apart from an unknown one.
    let session = state
        .store
        .get(&key_id, 0)
        .await
        .map_err(|_| ApiError::from(StsError::Unavailable))?
        .ok_or(AuthError::InvalidClientTokenId)?;
    let token_ok = parsed
        .security_token()
        .is_some_and(|t| session.token_matches(t));
    if !token_ok {
        return Err(AuthError::InvalidClientTokenId.into());
    }
    // A secret sealed with a key this server no longer has cannot verify anything.
    let secret = state
        .keys
        .unseal(&session.secret, &session.access_key_id)
        .map_err(|_| AuthError::InvalidClientTokenId)?;
    idbroker_sigv4::verify(&parts, &parsed, secret.expose_secret(), now_s, skew)
        .map_err(AuthError::from)?;
    if session.is_expired(now_s) {
        return Err(AuthError::ExpiredToken.into());
    }
    // Revoked sessions (a mark on their role, principal or source identity at or after their
    // issue time) authenticate nothing. A store that cannot answer: fail closed.
    if state
        .store
        .is_revoked(&session)
        .await
        .map_err(|_| ApiError::from(StsError::Unavailable))?
    {
        return Err(AuthError::InvalidClientTokenId.into());
    }
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
    })
}
