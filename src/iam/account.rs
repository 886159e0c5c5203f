//! The account calls: its alias (CreateAccountAlias, DeleteAccountAlias, ListAccountAliases)
//! and GetAccountAuthorizationDetails ([`details`]). All are authorized on `*`.

use super::{common, Call, Context, Effect, IamError, Input, Node, Output};
use crate::directory::DirectoryDoc;

mod details;
#[cfg(test)]
mod tests;

/// The calls of this family.
pub(super) const CALLS: &[Call] = &[
    Call {
        action: "CreateAccountAlias",
        effect: Effect::Write,
    },
    Call {
        action: "DeleteAccountAlias",
        effect: Effect::Write,
    },
    Call {
        action: "ListAccountAliases",
        effect: Effect::Read,
    },
    Call {
        action: "GetAccountAuthorizationDetails",
        effect: Effect::Read,
    },
];

/// Every call of this family is authorized on `*`.
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
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    _ctx: &Context<'_>,
) -> Option<Result<Output, IamError>> {
    Some(match call.action {
        "ListAccountAliases" => list_account_aliases(input, doc),
        "GetAccountAuthorizationDetails" => details::get_account_authorization_details(input, doc),
        _ => return None,
    })
}

/// Run a writing call of this family on `doc` (`None`: not one of its writing calls).
pub(super) fn write(
    call: &Call,
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    _ctx: &Context<'_>,
) -> Option<Result<Output, IamError>> {
    Some(match call.action {
        "CreateAccountAlias" => create_account_alias(input, doc),
        "DeleteAccountAlias" => delete_account_alias(input, doc),
        _ => return None,
    })
}

/// An `AccountAlias` parameter: 3..63 of `[a-z0-9-]`, starting and ending with a letter or
/// digit, no `--`.
fn alias<'a>(input: &Input<'a>) -> Result<&'a str, IamError> {
    let v = input.required("AccountAlias", "accountAlias")?;
    if !(3..=63).contains(&v.len()) {
        return Err(common::invalid(
            v,
            "accountAlias",
            "Member must have length between 3 and 63",
        ));
    }
    let ok = v
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !v.starts_with('-')
        && !v.ends_with('-')
        && !v.contains("--");
    if ok {
        Ok(v)
    } else {
        Err(common::invalid(
            v,
            "accountAlias",
            "Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$",
        ))
    }
}

/// Set the account's alias. An account has one: a new one replaces the old, as IAM does.
fn create_account_alias(input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let v = alias(input)?;
    doc.account_alias = Some(v.to_owned());
    Ok(Output::empty())
}

fn delete_account_alias(input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let v = alias(input)?;
    if doc.account_alias.as_deref() != Some(v) {
        return Err(IamError::NoSuchEntity(format!(
            "The account alias {v} cannot be found."
        )));
    }
    doc.account_alias = None;
    Ok(Output::empty())
}

fn list_account_aliases(input: &Input<'_>, doc: &DirectoryDoc) -> Result<Output, IamError> {
    let (page, next) = common::page(input, doc.account_alias.iter().collect())?;
    Ok(common::page_fields(
        Output::empty().field(
            "AccountAliases",
            Node::List(page.into_iter().map(Node::text).collect()),
        ),
        next,
    ))
}
