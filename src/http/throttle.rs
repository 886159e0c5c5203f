//! The buckets a handler takes: the source address of an unsigned call before anything reads
//! its proof, the principal of a signed call right after its signature verified (see
//! `crate::throttle` for why there).

use actix_web::HttpRequest;

use crate::state::AppState;
use crate::sts::{Caller, CallerKind};
use crate::throttle::{Key, ThrottleError};

/// Take a request of `action` from the bucket of the request's source address. The address
/// is the TCP peer's, as for `aws:SourceIp` (behind a proxy: the proxy's).
pub(crate) async fn by_source(
    state: &AppState,
    req: &HttpRequest,
    action: &'static str,
    now: std::time::SystemTime,
) -> Result<(), ThrottleError> {
    match req.peer_addr() {
        Some(addr) => {
            state
                .throttle()
                .admit(action, &[Key::Source(addr.ip())], now)
                .await
        }
        // No peer address (a test harness, a Unix socket): nothing to key the bucket on.
        None => Ok(()),
    }
}

/// Take a request of `action` from the bucket of `caller`, authenticated: a user's own, or
/// for a role session the role's (every session of a role shares it, so that sessions made
/// from sessions cannot multiply buckets).
pub(crate) async fn by_principal(
    state: &AppState,
    caller: &Caller,
    action: &'static str,
    now: std::time::SystemTime,
) -> Result<(), ThrottleError> {
    let principal = match &caller.kind {
        CallerKind::AssumedRole { role_arn, .. } => role_arn.as_str(),
        CallerKind::User { .. } | CallerKind::UserSession { .. } => caller.arn.as_str(),
    };
    state
        .throttle()
        .admit(action, &[Key::Principal(principal)], now)
        .await
}
