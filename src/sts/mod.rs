//! The STS use cases. One per action, each in its own file, each the whole path from a verified
//! identity to a stored session: parse nothing (it takes a typed request that `src/http/query.rs`
//! read), verify the outside proof if there is one (SAML assertion, web identity token), decide
//! with the directory's policies, mint, store, and answer with a typed result that `src/http`
//! renders. Nothing here knows about HTTP.
//!
//! - [`get_caller_identity`] (in [`caller`], with the verified [`Caller`] and its condition
//!   keys), [`get_session_token`], [`assume_role`],
//!   [`assume_role_with_saml`], [`assume_role_with_web_identity`]: the actions.
//! - [`constraints`]: AWS's constraints on request values and their messages.
//! - [`policies`]: the caller's policies, its policy principal, AWS's AccessDenied wording, and
//!   [`authorize`] for idbroker's own actions.
//! - [`plan`]: [`SessionPlan`], what a decision grants.
//! - [`mint`]: [`Credentials`], minted only once the store holds the session.
//! - [`mfa`]: GetSessionToken's and AssumeRole's MFA codes, verified once ([`VerifiedMfa`]).

pub mod assume_role;
pub mod assume_role_with_saml;
pub mod assume_role_with_web_identity;
pub mod caller;
pub mod constraints;
mod error;
pub mod get_session_token;
pub mod mfa;
pub mod mint;
pub mod plan;
pub mod policies;
mod services;
mod tag;

pub use assume_role::{assume_role, AssumeRoleRequest};
pub use assume_role_with_saml::{assume_role_with_saml, AssumeRoleWithSamlRequest};
pub use assume_role_with_web_identity::{
    assume_role_with_web_identity, AssumeRoleWithWebIdentityRequest,
};
pub use caller::{
    caller_context, get_caller_identity, request_context, Caller, CallerKind,
    GetCallerIdentityResult, RequestFacts,
};
pub use error::StsError;
pub use get_session_token::{get_session_token, GetSessionTokenRequest};
pub use mfa::{MfaCode, VerifiedMfa};
pub use mint::{Credentials, IssuedSession};
pub use plan::{RoleRequest, SessionPlan};
pub use policies::authorize;
pub use services::Services;
pub use tag::Tag;
