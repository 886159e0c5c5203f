//! Users and groups as the calls find them (by name, case-insensitively), name them (ARN, id)
//! and answer them (IAM's `User` and `Group` shapes). Shared by the users, groups, keys and
//! account families.

use crate::directory::{DirectoryDoc, RawGroup, RawUser};
use crate::iam::common;
use crate::iam::{Context, IamError, Input, Node};

/// `UserName` member in messages.
pub(crate) const USER_MEMBER: &str = "userName";
/// `GroupName` member in messages.
pub(crate) const GROUP_MEMBER: &str = "groupName";
/// The longest user name (IAM's).
pub(crate) const MAX_NAME: usize = 64;
/// The longest group name (IAM's).
pub(crate) const MAX_GROUP_NAME: usize = 128;

/// `The user with name X cannot be found.`
pub(crate) fn no_user(name: &str) -> IamError {
    IamError::NoSuchEntity(format!("The user with name {name} cannot be found."))
}

/// `The group with name X cannot be found.`
pub(crate) fn no_group(name: &str) -> IamError {
    IamError::NoSuchEntity(format!("The group with name {name} cannot be found."))
}

/// The index of the user named `name` (any case).
pub(crate) fn user_index(doc: &DirectoryDoc, name: &str) -> Result<usize, IamError> {
    doc.users
        .iter()
        .position(|u| common::same_name(&u.name, name))
        .ok_or_else(|| no_user(name))
}

/// The user named `name` (any case).
pub(crate) fn user<'d>(doc: &'d DirectoryDoc, name: &str) -> Result<&'d RawUser, IamError> {
    doc.users
        .iter()
        .find(|u| common::same_name(&u.name, name))
        .ok_or_else(|| no_user(name))
}

/// The user named `name` (any case), to edit.
pub(crate) fn user_mut<'d>(
    doc: &'d mut DirectoryDoc,
    name: &str,
) -> Result<&'d mut RawUser, IamError> {
    doc.users
        .iter_mut()
        .find(|u| common::same_name(&u.name, name))
        .ok_or_else(|| no_user(name))
}

/// The group named `name` (any case).
pub(crate) fn group<'d>(doc: &'d DirectoryDoc, name: &str) -> Result<&'d RawGroup, IamError> {
    doc.groups
        .iter()
        .find(|g| common::same_name(&g.name, name))
        .ok_or_else(|| no_group(name))
}

/// A required `UserName` parameter, validated.
pub(crate) fn user_name<'a>(input: &Input<'a>) -> Result<&'a str, IamError> {
    common::name(input, "UserName", USER_MEMBER, MAX_NAME)
}

/// A required `GroupName` parameter, validated.
pub(crate) fn group_name<'a>(input: &Input<'a>) -> Result<&'a str, IamError> {
    common::name(input, "GroupName", GROUP_MEMBER, MAX_GROUP_NAME)
}

/// `UserName` when given, else the calling user's; a caller that is no user must name one.
pub(crate) fn user_name_or_caller<'a>(
    input: &Input<'a>,
    ctx: &Context<'a>,
) -> Result<&'a str, IamError> {
    match input.get("UserName") {
        Some(v) => {
            common::check_name(v, USER_MEMBER, MAX_NAME)?;
            Ok(v)
        }
        None => ctx.caller_user.ok_or_else(|| {
            IamError::Validation(
                "Must specify userName when calling with non-User credentials".into(),
            )
        }),
    }
}

/// `UserName` when given, else the calling user's, without validating (for naming the
/// resource before the call runs).
pub(crate) fn user_name_or_caller_unchecked<'a>(
    input: &Input<'a>,
    ctx: &Context<'a>,
) -> Option<&'a str> {
    input.get("UserName").or(ctx.caller_user)
}

/// The ARN of the user named `name`: its own path when it exists, `/` otherwise.
pub(crate) fn user_arn(doc: &DirectoryDoc, name: &str) -> String {
    match user(doc, name) {
        Ok(u) => common::arn(doc, "user", &u.path, &u.name),
        Err(_) => common::arn(doc, "user", "/", name),
    }
}

/// The ARN of the group named `name`: its own path when it exists, `/` otherwise.
pub(crate) fn group_arn(doc: &DirectoryDoc, name: &str) -> String {
    match group(doc, name) {
        Ok(g) => common::arn(doc, "group", &g.path, &g.name),
        Err(_) => common::arn(doc, "group", "/", name),
    }
}

/// A creation time as answers write it.
pub(crate) fn created(at: &Option<String>) -> Node {
    Node::text(crate::iam::entities::created(at))
}

/// A permissions boundary (`AttachedPermissionsBoundary`).
pub(crate) fn boundary_node(arn: &str) -> Node {
    Node::Struct(vec![
        (
            "PermissionsBoundaryType",
            Node::text("PermissionsBoundaryPolicy"),
        ),
        ("PermissionsBoundaryArn", Node::text(arn)),
    ])
}

/// Path, UserName, UserId, Arn, CreateDate: what every answer about a user has.
pub(crate) fn user_fields(doc: &DirectoryDoc, u: &RawUser) -> Vec<(&'static str, Node)> {
    let arn = common::arn(doc, "user", &u.path, &u.name);
    vec![
        ("Path", Node::text(&u.path)),
        ("UserName", Node::text(&u.name)),
        ("UserId", Node::text(common::unique_id("AIDA", doc, &arn))),
        ("Arn", Node::text(arn)),
        ("CreateDate", created(&u.created)),
    ]
}

/// A `User` as lists answer it (no boundary, no tags: IAM's List* leave them out).
pub(crate) fn user_brief(doc: &DirectoryDoc, u: &RawUser) -> Node {
    Node::Struct(user_fields(doc, u))
}

/// A `User` with its permissions boundary and tags (GetUser, CreateUser).
pub(crate) fn user_full(doc: &DirectoryDoc, u: &RawUser) -> Node {
    let mut fields = user_fields(doc, u);
    if let Some(b) = &u.permissions_boundary {
        fields.push(("PermissionsBoundary", boundary_node(b)));
    }
    if !u.tags.is_empty() {
        fields.push(("Tags", common::tags_node(&u.tags)));
    }
    Node::Struct(fields)
}

/// Path, GroupName, GroupId, Arn, CreateDate.
pub(crate) fn group_fields(doc: &DirectoryDoc, g: &RawGroup) -> Vec<(&'static str, Node)> {
    let arn = common::arn(doc, "group", &g.path, &g.name);
    vec![
        ("Path", Node::text(&g.path)),
        ("GroupName", Node::text(&g.name)),
        ("GroupId", Node::text(common::unique_id("AGPA", doc, &arn))),
        ("Arn", Node::text(arn)),
        ("CreateDate", created(&g.created)),
    ]
}

/// A `Group`.
pub(crate) fn group_node(doc: &DirectoryDoc, g: &RawGroup) -> Node {
    Node::Struct(group_fields(doc, g))
}

/// `PathPrefix` (the roles' and policies' rule, one copy).
pub(crate) use crate::iam::entities::path_prefix;
