//! The roles calls. (Being written.)

use super::{Call, Context, DirectoryDoc, IamError, Input, Output};

/// The calls of this family.
pub(super) const CALLS: &[Call] = &[];

/// The resource a call of this family is authorized on (`None`: `*`).
pub(super) fn resource(
    _call: &Call,
    _input: &Input<'_>,
    _doc: &DirectoryDoc,
    _ctx: &Context<'_>,
) -> Option<String> {
    None
}

/// Run a reading call of this family (`None`: not one of its reading calls).
pub(super) fn read(
    _call: &Call,
    _input: &Input<'_>,
    _doc: &DirectoryDoc,
    _ctx: &Context<'_>,
) -> Option<Result<Output, IamError>> {
    None
}

/// Run a writing call of this family on `doc` (`None`: not one of its writing calls).
pub(super) fn write(
    _call: &Call,
    _input: &Input<'_>,
    _doc: &mut DirectoryDoc,
    _ctx: &Context<'_>,
) -> Option<Result<Output, IamError>> {
    None
}
