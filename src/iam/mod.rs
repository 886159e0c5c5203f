//! The IAM Query API's use cases (Version 2010-05-08, SigV4 service `iam`) over the directory
//! as data ([`DirectoryDoc`]). Pure: a call reads its parameters ([`Input`]), reads or edits the
//! document it is given, and answers an [`Output`] tree that the HTTP layer renders as IAM's
//! XML (`crate::http::iam_endpoint`). Authorization (the caller's policies on `iam:*` actions),
//! validating the whole edited directory, storing it and auditing are the caller's
//! (`crate::iam_service`); nothing here does IO.
//!
//! Each family of calls has its module: `roles`, `policies` (inline policies, attachments,
//! boundaries), `managed` (managed policies and their versions), `users`, `groups`, `keys`
//! (access keys), `account` (alias, authorization details); `entities` holds the lookups the
//! roles, policies and managed families share.

use std::time::SystemTime;

use crate::directory::DirectoryDoc;
use crate::settings::SecretRef;

mod error;
mod input;
mod output;

pub use error::IamError;
pub use input::Input;
pub use output::{Node, Output};

/// The XML namespace of IAM's answers.
pub const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
/// The one API version.
pub const VERSION: &str = "2010-05-08";

/// Does a call read the directory or change it?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads only.
    Read,
    /// Changes the directory (refused on a read-only, file-backed directory).
    Write,
}

/// Seals a new access key's secret (AAD: the key id) with the active sealing key.
pub type Sealer<'a> = dyn Fn(&str, &str) -> Result<SecretRef, IamError> + Sync + 'a;

/// What a call knows besides its parameters and the directory.
pub struct Context<'a> {
    /// The call's time.
    pub now: SystemTime,
    /// The caller's user name when the caller is an IAM user (or a session of one): calls
    /// whose `UserName` is optional (GetUser, CreateAccessKey, ListAccessKeys, ...) act on it.
    pub caller_user: Option<&'a str>,
    /// Seals new access keys' secrets.
    pub seal: &'a Sealer<'a>,
    /// OpenID Connect providers may have `http://` loopback URLs (tests only).
    pub loopback_providers: bool,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("now", &self.now)
            .field("caller_user", &self.caller_user)
            .finish_non_exhaustive()
    }
}

/// A known call: its name, effect, and the resource its authorization names.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// `CreateRole`, ... (also the policy action `iam:CreateRole`).
    pub action: &'static str,
    /// Read or write.
    pub effect: Effect,
}

/// A timestamp as IAM writes it (`2026-12-06T15:04:05Z`).
pub fn timestamp(at: SystemTime) -> String {
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(0))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

/// The call named `action`, if idbroker has it.
pub fn call(action: &str) -> Option<Call> {
    calls::all().find(|c| c.action == action).copied()
}

/// The resource ARN `call` is authorized on (`iam:ACTION` on it), from its parameters and the
/// directory (an existing entity's path), `*` for calls on no one entity (List*).
pub fn resource(call: &Call, input: &Input<'_>, doc: &DirectoryDoc, ctx: &Context<'_>) -> String {
    calls::resource(call, input, doc, ctx)
}

/// Run a reading call.
pub fn read(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    calls::read(call, input, doc, ctx)
}

/// Run a writing call on `doc` (a copy: the caller validates, stores and puts it in force).
pub fn write(
    call: &Call,
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    calls::write(call, input, doc, ctx)
}

mod account;
mod calls;
mod common;
mod entities;
mod groups;
mod keys;
mod managed;
mod policies;
mod providers;
mod roles;
mod users;

#[cfg(test)]
mod testkit;
