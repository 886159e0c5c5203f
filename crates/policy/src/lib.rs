//! `idbroker-policy`: IAM JSON policy documents.
//!
//! Parse and validate documents with IAM's rules and IAM's own `MalformedPolicyDocument`
//! messages, compile them once (wildcard matchers, CIDRs, dates and numbers pre-parsed), and
//! evaluate requests against a [`PolicySet`] (identity policies, permissions boundary, session
//! policies, resource policy) or a role's trust policy ([`evaluate_trust`]).
//!
//! The crate does no IO and reads no clock: the request context carries `aws:CurrentTime` when a
//! policy asks for it.
//!
//! ```
//! use idbroker_policy::{Context, Decision, Policy, PolicyKind, PolicySet, Request};
//!
//! let policy = Policy::parse(
//!     r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:Get*",
//!         "Resource":"arn:aws:s3:::reports/${aws:username}/*"}}"#,
//!     PolicyKind::Identity,
//! )?;
//! let mut ctx = Context::new();
//! ctx.insert("aws:username", "alice");
//! let set = PolicySet { identity: vec![&policy], ..Default::default() };
//! let req = Request::new("s3:GetObject", "arn:aws:s3:::reports/alice/q3.pdf", ctx);
//! assert_eq!(set.evaluate(&req).decision, Decision::Allow);
//! # Ok::<(), idbroker_policy::PolicyError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod arn;
mod arn_pattern;
mod condition;
mod context;
mod date;
mod error;
mod eval;
mod lint;
mod pattern;
mod policy;
mod trust;
mod validate;

pub use arn::SplitArn;
pub use context::{Context, ContextKey, Principal, PrincipalKind, Request};
pub use error::PolicyError;
pub use eval::{evaluate_single, Decision, Evaluation, Layer, MatchedStatement, PolicySet};
pub use lint::{lint, Finding, Severity};
pub use policy::{Effect, Policy, Version};
pub use trust::{evaluate_trust, TrustAction};
pub use validate::{ParseOptions, PolicyKind};
