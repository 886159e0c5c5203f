//! The IAM Query API's use cases (Version 2010-05-08, SigV4 service `iam`) over the directory
//! as data ([`DirectoryDoc`]). Pure: a call reads its parameters ([`Input`]), reads or edits the
//! document it is given, and answers an [`Output`] tree that the HTTP layer renders as IAM's
//! XML (`crate::http::iam_endpoint`). Authorization (the caller's policies on `iam:*` actions),
//! validating the whole edited directory, storing it and auditing are the caller's
//! (`crate::iam_service`); nothing here does IO.
//!
//! Each family of calls has its module: `roles`, `policies` (inline policies, attachments,
//! boundaries), `managed` (managed policies and their versions), `users`, `groups`, `keys`
//! (access keys), `mfa` (virtual MFA devices), `login` (console passwords and the account password
//! policy), `account` (alias, authorization details);
//! `entities` holds the lookups the roles, policies and managed families share; `prepared`
//! lets a caller do a call's password work (argon2id) ahead, off the async workers.

use crate::directory::DirectoryDoc;

mod context;
mod error;
mod input;
mod output;
mod prepared;

pub use context::{
    timestamp, Call, Context, Effect, Passwords, Sealer, SeedVault, NAMESPACE, VERSION,
};
pub use error::IamError;
pub use input::Input;
pub use login::{change_allowed, change_own_password};
pub use mfa::SpentCodes;
pub use output::{Node, Output};
pub use prepared::{dry_run, Recorded, Replay};

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

/// The codes EnableMFADevice or ResyncMFADevice would accept (`None` for other calls), checked
/// as the call checks them and without changing anything: the caller marks them used (once, on
/// every replica) before it runs the change.
pub fn spent_codes(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Option<SpentCodes>, IamError> {
    mfa::spent_codes(call, input, doc, ctx)
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
mod login;
mod managed;
mod mfa;
mod policies;
mod providers;
mod roles;
mod users;

#[cfg(test)]
mod testkit;
