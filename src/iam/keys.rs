//! The access keys calls: CreateAccessKey, UpdateAccessKey, DeleteAccessKey, ListAccessKeys.
//! `UserName` is optional: without it a call acts on the calling user's keys. A new key's
//! secret is sealed before it enters the directory; CreateAccessKey's answer is the one place
//! its plain text appears. (GetAccessKeyLastUsed reads the session store: not here.)

use idbroker_session::{AccessKeyId, SecretAccessKey};

use super::users::entity::{self, user_name_or_caller};
use super::{Call, Context, Effect, IamError, Input, Node, Output};
use crate::directory::DirectoryDoc;
use crate::directory::{RawAccessKey, RawUser};

#[cfg(test)]
mod tests;

/// The calls of this family.
pub(super) const CALLS: &[Call] = &[
    Call {
        action: "CreateAccessKey",
        effect: Effect::Write,
    },
    Call {
        action: "UpdateAccessKey",
        effect: Effect::Write,
    },
    Call {
        action: "DeleteAccessKey",
        effect: Effect::Write,
    },
    Call {
        action: "ListAccessKeys",
        effect: Effect::Read,
    },
];

/// IAM's quota of access keys per user.
const KEYS_PER_USER: usize = 2;

/// The owning user's ARN (`UserName`, else the caller's); `*` when neither is known.
pub(super) fn resource(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    ctx: &Context<'_>,
) -> Option<String> {
    CALLS.iter().find(|c| c.action == call.action)?;
    let name = entity::user_name_or_caller_unchecked(input, ctx)?;
    Some(entity::user_arn(doc, name))
}

/// Run a reading call of this family (`None`: not one of its reading calls).
pub(super) fn read(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    ctx: &Context<'_>,
) -> Option<Result<Output, IamError>> {
    Some(match call.action {
        "ListAccessKeys" => list_access_keys(input, doc, ctx),
        _ => return None,
    })
}

/// Run a writing call of this family on `doc` (`None`: not one of its writing calls).
pub(super) fn write(
    call: &Call,
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Option<Result<Output, IamError>> {
    Some(match call.action {
        "CreateAccessKey" => create_access_key(input, doc, ctx),
        "UpdateAccessKey" => update_access_key(input, doc, ctx),
        "DeleteAccessKey" => delete_access_key(input, doc, ctx),
        _ => return None,
    })
}

fn no_key(id: &str) -> IamError {
    IamError::NoSuchEntity(format!("The Access Key with id {id} cannot be found"))
}

fn failure(e: idbroker_session::SessionError) -> IamError {
    IamError::ServiceFailure(format!("cannot generate an access key: {e}"))
}

/// A long-term key id no user has yet.
fn fresh_id(doc: &DirectoryDoc) -> Result<AccessKeyId, IamError> {
    for _ in 0..3 {
        let id = AccessKeyId::generate_long_term().map_err(failure)?;
        let taken = doc
            .users
            .iter()
            .flat_map(|u| u.access_keys.iter())
            .any(|k| k.id == id.as_str());
        if !taken {
            return Ok(id);
        }
    }
    Err(IamError::ServiceFailure(
        "cannot generate an unused access key id".into(),
    ))
}

fn create_access_key(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    let name = user_name_or_caller(input, ctx)?;
    let count = entity::user(doc, name)?.access_keys.len();
    if count >= KEYS_PER_USER {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for AccessKeysPerUser: {KEYS_PER_USER}"
        )));
    }
    let id = fresh_id(doc)?;
    let secret = SecretAccessKey::generate().map_err(failure)?;
    let sealed = (ctx.seal)(id.as_str(), secret.expose_secret())?;
    let created = super::timestamp(ctx.now);
    let user = entity::user_mut(doc, name)?;
    user.access_keys.push(RawAccessKey {
        id: id.as_str().to_owned(),
        secret: sealed,
        status: "Active".into(),
        created: Some(created.clone()),
    });
    Ok(Output::empty().field(
        "AccessKey",
        Node::Struct(vec![
            ("UserName", Node::text(&user.name)),
            ("AccessKeyId", Node::text(id.as_str())),
            ("Status", Node::text("Active")),
            ("SecretAccessKey", Node::text(secret.expose_secret())),
            ("CreateDate", Node::text(created)),
        ]),
    ))
}

/// The user a key call acts on, and the position of the key `AccessKeyId` among its keys.
fn owner_and_key<'d>(
    input: &Input<'_>,
    doc: &'d mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<(&'d mut RawUser, usize), IamError> {
    let id = input.required("AccessKeyId", "accessKeyId")?;
    let name = user_name_or_caller(input, ctx)?;
    let user = entity::user_mut(doc, name)?;
    let index = user
        .access_keys
        .iter()
        .position(|k| k.id == id)
        .ok_or_else(|| no_key(id))?;
    Ok((user, index))
}

fn update_access_key(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    let status = input.required("Status", "status")?;
    if !matches!(status, "Active" | "Inactive") {
        return Err(super::common::invalid(
            status,
            "status",
            "Member must satisfy enum value set: [Active, Inactive]",
        ));
    }
    let (user, index) = owner_and_key(input, doc, ctx)?;
    if let Some(key) = user.access_keys.get_mut(index) {
        status.clone_into(&mut key.status);
    }
    Ok(Output::empty())
}

fn delete_access_key(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    let (user, index) = owner_and_key(input, doc, ctx)?;
    user.access_keys.remove(index);
    Ok(Output::empty())
}

fn list_access_keys(
    input: &Input<'_>,
    doc: &DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    let user = entity::user(doc, user_name_or_caller(input, ctx)?)?;
    let (page, next) = super::common::page(input, user.access_keys.iter().collect())?;
    let list = Node::List(
        page.into_iter()
            .map(|k| {
                Node::Struct(vec![
                    ("UserName", Node::text(&user.name)),
                    ("AccessKeyId", Node::text(&k.id)),
                    ("Status", Node::text(&k.status)),
                    ("CreateDate", entity::created(&k.created)),
                ])
            })
            .collect(),
    );
    Ok(super::common::page_fields(
        Output::empty().field("AccessKeyMetadata", list),
        next,
    ))
}
