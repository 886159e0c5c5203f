//! The users calls: CreateUser, GetUser, UpdateUser, DeleteUser, ListUsers, and the user's tags
//! (TagUser, UntagUser, ListUserTags: [`tagging`]). Names are unique regardless of case and
//! found in any case.

use super::{common, Call, Context, Effect, IamError, Input, Node, Output};
use crate::directory::DirectoryDoc;
use crate::directory::RawUser;

pub(super) mod entity;
mod tagging;
#[cfg(test)]
pub(super) mod testkit;
#[cfg(test)]
mod tests;

use entity::{user_name, user_name_or_caller};

/// The calls of this family.
pub(super) const CALLS: &[Call] = &[
    Call {
        action: "CreateUser",
        effect: Effect::Write,
    },
    Call {
        action: "GetUser",
        effect: Effect::Read,
    },
    Call {
        action: "UpdateUser",
        effect: Effect::Write,
    },
    Call {
        action: "DeleteUser",
        effect: Effect::Write,
    },
    Call {
        action: "ListUsers",
        effect: Effect::Read,
    },
    Call {
        action: "TagUser",
        effect: Effect::Write,
    },
    Call {
        action: "UntagUser",
        effect: Effect::Write,
    },
    Call {
        action: "ListUserTags",
        effect: Effect::Read,
    },
];

/// The user's ARN (CreateUser: the one it will have); `*` for ListUsers and for GetUser by a
/// caller that is no user.
pub(super) fn resource(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    ctx: &Context<'_>,
) -> Option<String> {
    match call.action {
        "CreateUser" => {
            let name = input.get("UserName")?;
            let path = input.get("Path").unwrap_or("/");
            Some(common::arn(doc, "user", path, name))
        }
        "GetUser" => {
            let name = entity::user_name_or_caller_unchecked(input, ctx)?;
            Some(entity::user_arn(doc, name))
        }
        "UpdateUser" | "DeleteUser" | "TagUser" | "UntagUser" | "ListUserTags" => {
            Some(entity::user_arn(doc, input.get("UserName")?))
        }
        _ => None,
    }
}

/// Run a reading call of this family (`None`: not one of its reading calls).
pub(super) fn read(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    ctx: &Context<'_>,
) -> Option<Result<Output, IamError>> {
    Some(match call.action {
        "GetUser" => get_user(input, doc, ctx),
        "ListUsers" => list_users(input, doc),
        "ListUserTags" => tagging::list_user_tags(input, doc),
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
        "CreateUser" => create_user(input, doc, ctx),
        "UpdateUser" => update_user(input, doc),
        "DeleteUser" => delete_user(input, doc),
        "TagUser" => tagging::tag_user(input, doc),
        "UntagUser" => tagging::untag_user(input, doc),
        _ => return None,
    })
}

fn exists(name: &str) -> IamError {
    IamError::EntityAlreadyExists(format!("User with name {name} already exists."))
}

/// A `PermissionsBoundary` parameter: the ARN of a managed policy of the directory.
fn boundary(input: &Input<'_>, doc: &DirectoryDoc) -> Result<Option<String>, IamError> {
    let Some(arn) = input.get("PermissionsBoundary") else {
        return Ok(None);
    };
    if !arn.starts_with("arn:") {
        return Err(IamError::InvalidInput(format!("ARN {arn} is not valid.")));
    }
    let known = doc
        .managed_policies
        .iter()
        .any(|m| common::arn(doc, "policy", &m.path, &m.name) == arn);
    if known {
        Ok(Some(arn.to_owned()))
    } else {
        Err(IamError::NoSuchEntity(format!(
            "Policy {arn} does not exist or is not attachable."
        )))
    }
}

fn create_user(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    let name = user_name(input)?;
    let path = common::path(input, "Path", "path")?;
    let permissions_boundary = boundary(input, doc)?;
    let tags = tagging::given(input)?;
    if doc.users.iter().any(|u| common::same_name(&u.name, name)) {
        return Err(exists(name));
    }
    let user = RawUser {
        name: name.to_owned(),
        path,
        groups: Vec::new(),
        policies: Vec::new(),
        inline_policies: Default::default(),
        permissions_boundary,
        access_keys: Vec::new(),
        login_profile: None,
        created: Some(super::timestamp(ctx.now)),
        tags: tags.into_iter().collect(),
    };
    let node = entity::user_full(doc, &user);
    doc.users.push(user);
    Ok(Output::empty().field("User", node))
}

fn get_user(input: &Input<'_>, doc: &DirectoryDoc, ctx: &Context<'_>) -> Result<Output, IamError> {
    let name = user_name_or_caller(input, ctx)?;
    let user = entity::user(doc, name)?;
    Ok(Output::empty().field("User", entity::user_full(doc, user)))
}

/// Rename and/or move a user. Nothing else in the directory names a user (its keys, groups and
/// policies are its own fields), so the rename is the one change.
fn update_user(input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let name = user_name(input)?;
    let new_name = input.get("NewUserName");
    if let Some(n) = new_name {
        common::check_name(n, "newUserName", entity::MAX_NAME)?;
    }
    let new_path = match input.get("NewPath") {
        Some(_) => Some(common::path(input, "NewPath", "newPath")?),
        None => None,
    };
    let index = entity::user_index(doc, name)?;
    if let Some(n) = new_name {
        let taken = doc
            .users
            .iter()
            .enumerate()
            .any(|(i, u)| i != index && common::same_name(&u.name, n));
        if taken {
            return Err(exists(n));
        }
    }
    let user = doc
        .users
        .get_mut(index)
        .ok_or_else(|| entity::no_user(name))?;
    let old = new_name.map(|n| std::mem::replace(&mut user.name, n.to_owned()));
    if let Some(p) = new_path {
        user.path = p;
    }
    // Its MFA devices follow it.
    if let (Some(old), Some(n)) = (old, new_name) {
        for d in &mut doc.mfa_devices {
            if d.user.as_deref() == Some(old.as_str()) {
                d.user = Some(n.to_owned());
            }
        }
    }
    Ok(Output::empty())
}

fn conflict(what: &str) -> IamError {
    IamError::DeleteConflict(format!("Cannot delete entity, must {what} first."))
}

/// Delete a user that has nothing left: IAM checks its access keys, then its inline and
/// attached policies, then its groups.
fn delete_user(input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let name = user_name(input)?;
    let index = entity::user_index(doc, name)?;
    let user = doc.users.get(index).ok_or_else(|| entity::no_user(name))?;
    if !user.access_keys.is_empty() {
        return Err(conflict("delete access keys"));
    }
    if !user.inline_policies.is_empty() {
        return Err(conflict("delete policies"));
    }
    if !user.policies.is_empty() {
        return Err(conflict("detach all policies"));
    }
    if !user.groups.is_empty() {
        return Err(conflict("remove users from group"));
    }
    let canonical = user.name.clone();
    if doc
        .mfa_devices
        .iter()
        .any(|d| d.user.as_deref() == Some(canonical.as_str()))
    {
        return Err(conflict("delete MFA device"));
    }
    doc.users.remove(index);
    Ok(Output::empty())
}

fn list_users(input: &Input<'_>, doc: &DirectoryDoc) -> Result<Output, IamError> {
    let prefix = entity::path_prefix(input)?;
    let users: Vec<&RawUser> = doc
        .users
        .iter()
        .filter(|u| u.path.starts_with(prefix))
        .collect();
    let (page, next) = common::page(input, users)?;
    let list = Node::List(
        page.into_iter()
            .map(|u| entity::user_brief(doc, u))
            .collect(),
    );
    Ok(common::page_fields(
        Output::empty().field("Users", list),
        next,
    ))
}
