//! idbroker: a federated identity broker. SAML assertions and OpenID Connect tokens come in, IAM
//! trust policies decide which role the caller may take, and short-lived AWS-STS-compatible
//! credentials come out.
//!
//! This library holds what the `idbroker` binary runs, so that tests can run it in-process.
#![forbid(unsafe_code)]

pub mod clock;
pub mod config;
pub mod directory;
pub mod http;
pub mod policy_tool;
pub mod sts;
