//! The admin use cases: revoking sessions and listing who holds them. The caller is a verified
//! identity (SigV4, service `idbroker`); what it may do is decided by its own identity policies
//! (∩ boundary ∩ session policies), with the actions
//!
//! | action | what | resource |
//! |---|---|---|
//! | `idbroker:RevokeSession` | one session, by AccessKeyId | the session's ARN (`arn:aws:sts::ACCT:assumed-role/ROLE/NAME`, or the user's ARN for GetSessionToken) |
//! | `idbroker:RevokeOlderSessions` | every session of a role issued at or before a time (default now), as AWS's `AWSRevokeOlderSessions` | the role's ARN |
//! | `idbroker:RevokePrincipalSessions` | every session of one principal ARN issued up to now | that ARN |
//! | `idbroker:RevokeSourceIdentitySessions` | every session carrying a source identity, issued up to now | `arn:aws:idbroker::ACCT:source-identity/VALUE` |
//! | `idbroker:ListSessions` | the live sessions of a role, a principal ARN or a source identity, a page at a time, identifiers only | the role's ARN, the principal ARN, or `arn:aws:idbroker::ACCT:source-identity/VALUE` |
//!
//! `access.rs` holds what they share (the service name, resources, the decision), `revoke.rs`
//! and `sessions.rs` the use cases, `marker.rs` the listing's opaque page marker. Nothing here
//! knows about HTTP; the store announces each revocation to verifiers.

mod access;
mod error;
mod marker;
mod revoke;
mod sessions;

pub use access::SERVICE;
pub use error::AdminError;
pub use revoke::{revoke, Revocation, Revoked, MARK_LIFETIME_SECS};
pub use sessions::{list_sessions, ListSessionsRequest, ListedSession, SessionListing, SessionsOf};
