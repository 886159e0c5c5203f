//! The table of calls and the dispatch to each family's module.

use super::{Call, Context, IamError, Input, Output};
use crate::directory::DirectoryDoc;

/// How a family names a call's resource.
type ResourceFn = fn(&Call, &Input<'_>, &DirectoryDoc, &Context<'_>) -> Option<String>;
/// How a family runs a reading call (`None`: not one of its own).
type ReadFn =
    fn(&Call, &Input<'_>, &DirectoryDoc, &Context<'_>) -> Option<Result<Output, IamError>>;
/// How a family runs a writing call (`None`: not one of its own).
type WriteFn =
    fn(&Call, &Input<'_>, &mut DirectoryDoc, &Context<'_>) -> Option<Result<Output, IamError>>;

/// Every family: its calls, how it names their resources, and how it runs them.
struct Family {
    calls: &'static [Call],
    resource: ResourceFn,
    read: ReadFn,
    write: WriteFn,
}

const FAMILIES: &[Family] = &[
    Family {
        calls: super::roles::CALLS,
        resource: super::roles::resource,
        read: super::roles::read,
        write: super::roles::write,
    },
    Family {
        calls: super::policies::CALLS,
        resource: super::policies::resource,
        read: super::policies::read,
        write: super::policies::write,
    },
    Family {
        calls: super::managed::CALLS,
        resource: super::managed::resource,
        read: super::managed::read,
        write: super::managed::write,
    },
    Family {
        calls: super::users::CALLS,
        resource: super::users::resource,
        read: super::users::read,
        write: super::users::write,
    },
    Family {
        calls: super::groups::CALLS,
        resource: super::groups::resource,
        read: super::groups::read,
        write: super::groups::write,
    },
    Family {
        calls: super::keys::CALLS,
        resource: super::keys::resource,
        read: super::keys::read,
        write: super::keys::write,
    },
    Family {
        calls: super::mfa::CALLS,
        resource: super::mfa::resource,
        read: super::mfa::read,
        write: super::mfa::write,
    },
    Family {
        calls: super::login::CALLS,
        resource: super::login::resource,
        read: super::login::read,
        write: super::login::write,
    },
    Family {
        calls: super::providers::CALLS,
        resource: super::providers::resource,
        read: super::providers::read,
        write: super::providers::write,
    },
    Family {
        calls: super::account::CALLS,
        resource: super::account::resource,
        read: super::account::read,
        write: super::account::write,
    },
];

/// Every call idbroker has, in the families' order.
pub(super) fn all() -> impl Iterator<Item = &'static Call> {
    FAMILIES.iter().flat_map(|f| f.calls.iter())
}

fn family(call: &Call) -> Option<&'static Family> {
    FAMILIES
        .iter()
        .find(|f| f.calls.iter().any(|c| c.action == call.action))
}

fn unknown(call: &Call) -> IamError {
    IamError::InvalidAction(format!(
        "Could not find operation {} for version {}",
        call.action,
        super::VERSION
    ))
}

pub(super) fn resource(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    ctx: &Context<'_>,
) -> String {
    family(call)
        .and_then(|f| (f.resource)(call, input, doc, ctx))
        .unwrap_or_else(|| "*".into())
}

pub(super) fn read(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    family(call)
        .and_then(|f| (f.read)(call, input, doc, ctx))
        .unwrap_or_else(|| Err(unknown(call)))
}

pub(super) fn write(
    call: &Call,
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    family(call)
        .and_then(|f| (f.write)(call, input, doc, ctx))
        .unwrap_or_else(|| Err(unknown(call)))
}
