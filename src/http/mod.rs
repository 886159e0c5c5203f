//! actix handlers: read the request, authenticate (signed actions), call one use case, render
//! the answer, audit. Nothing else: deciding and storing are the use cases' (`crate::sts`,
//! `crate::admin`, `crate::verification`, `crate::console`).
//!
//! `sts_endpoint.rs` is the STS Query API (`POST /`, `GET /`), `query.rs` its request codec and
//! `xml.rs` its answers; `web_identity.rs` also serves `/workload/credentials`; `auth.rs` says
//! who signed; `call.rs` is what every handler does around its use case; `error.rs` is the one
//! error map; `dev_idp/` is the development-only IdP (`/dev/idp/`, 404 unless enabled).

pub mod admin;
mod audit;
pub mod auth;
mod call;
pub mod console;
pub mod dev_idp;
pub mod error;
mod iam_endpoint;
pub mod ops;
pub mod query;
mod saml_metadata;
mod sts_endpoint;
mod throttle;
pub mod verify;
pub mod verify_events;
pub mod verify_k8s;
pub mod verify_key;
pub mod web_identity;
pub mod xml;

pub(crate) use call::{facts, Call};
pub use saml_metadata::saml_metadata;
pub use sts_endpoint::sts;
