//! The groups calls: CreateGroup, GetGroup (with its members), UpdateGroup, DeleteGroup,
//! ListGroups, and membership (AddUserToGroup, RemoveUserFromGroup, ListGroupsForUser:
//! [`membership`]). A user lists its groups by name: a renamed group is renamed there too.

use super::users::entity::{self, group_name};
use super::{common, Call, Context, Effect, IamError, Input, Node, Output};
use crate::directory::DirectoryDoc;
use crate::directory::{RawGroup, RawUser};

mod membership;
#[cfg(test)]
mod tests;

/// The calls of this family.
pub(super) const CALLS: &[Call] = &[
    Call {
        action: "CreateGroup",
        effect: Effect::Write,
    },
    Call {
        action: "GetGroup",
        effect: Effect::Read,
    },
    Call {
        action: "UpdateGroup",
        effect: Effect::Write,
    },
    Call {
        action: "DeleteGroup",
        effect: Effect::Write,
    },
    Call {
        action: "ListGroups",
        effect: Effect::Read,
    },
    Call {
        action: "AddUserToGroup",
        effect: Effect::Write,
    },
    Call {
        action: "RemoveUserFromGroup",
        effect: Effect::Write,
    },
    Call {
        action: "ListGroupsForUser",
        effect: Effect::Read,
    },
];

/// The group's ARN (CreateGroup: the one it will have; membership changes: the group's);
/// ListGroupsForUser: the user's; ListGroups: `*`.
pub(super) fn resource(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    _ctx: &Context<'_>,
) -> Option<String> {
    match call.action {
        "CreateGroup" => {
            let name = input.get("GroupName")?;
            let path = input.get("Path").unwrap_or("/");
            Some(common::arn(doc, "group", path, name))
        }
        "GetGroup" | "UpdateGroup" | "DeleteGroup" | "AddUserToGroup" | "RemoveUserFromGroup" => {
            Some(entity::group_arn(doc, input.get("GroupName")?))
        }
        "ListGroupsForUser" => Some(entity::user_arn(doc, input.get("UserName")?)),
        _ => None,
    }
}

/// Run a reading call of this family (`None`: not one of its reading calls).
pub(super) fn read(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    _ctx: &Context<'_>,
) -> Option<Result<Output, IamError>> {
    Some(match call.action {
        "GetGroup" => get_group(input, doc),
        "ListGroups" => list_groups(input, doc),
        "ListGroupsForUser" => membership::list_groups_for_user(input, doc),
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
        "CreateGroup" => create_group(input, doc, ctx),
        "UpdateGroup" => update_group(input, doc),
        "DeleteGroup" => delete_group(input, doc),
        "AddUserToGroup" => membership::add_user_to_group(input, doc),
        "RemoveUserFromGroup" => membership::remove_user_from_group(input, doc),
        _ => return None,
    })
}

fn exists(name: &str) -> IamError {
    IamError::EntityAlreadyExists(format!("Group with name {name} already exists."))
}

/// Is `user` a member of the group named `group`?
pub(super) fn is_member(user: &RawUser, group: &str) -> bool {
    user.groups.iter().any(|g| common::same_name(g, group))
}

fn create_group(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    let name = group_name(input)?;
    let path = common::path(input, "Path", "path")?;
    if doc.groups.iter().any(|g| common::same_name(&g.name, name)) {
        return Err(exists(name));
    }
    let group = RawGroup {
        name: name.to_owned(),
        path,
        policies: Vec::new(),
        inline_policies: Default::default(),
        created: Some(super::timestamp(ctx.now)),
    };
    let node = entity::group_node(doc, &group);
    doc.groups.push(group);
    Ok(Output::empty().field("Group", node))
}

/// The group and a page of its members.
fn get_group(input: &Input<'_>, doc: &DirectoryDoc) -> Result<Output, IamError> {
    let name = group_name(input)?;
    let group = entity::group(doc, name)?;
    let members: Vec<&RawUser> = doc
        .users
        .iter()
        .filter(|u| is_member(u, &group.name))
        .collect();
    let (page, next) = common::page(input, members)?;
    let users = Node::List(
        page.into_iter()
            .map(|u| entity::user_brief(doc, u))
            .collect(),
    );
    Ok(common::page_fields(
        Output::empty()
            .field("Group", entity::group_node(doc, group))
            .field("Users", users),
        next,
    ))
}

/// Rename and/or move a group; its members' lists follow a rename.
fn update_group(input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let name = group_name(input)?;
    let new_name = input.get("NewGroupName");
    if let Some(n) = new_name {
        common::check_name(n, "newGroupName", entity::MAX_GROUP_NAME)?;
    }
    let new_path = match input.get("NewPath") {
        Some(_) => Some(common::path(input, "NewPath", "newPath")?),
        None => None,
    };
    let index = doc
        .groups
        .iter()
        .position(|g| common::same_name(&g.name, name))
        .ok_or_else(|| entity::no_group(name))?;
    if let Some(n) = new_name {
        let taken = doc
            .groups
            .iter()
            .enumerate()
            .any(|(i, g)| i != index && common::same_name(&g.name, n));
        if taken {
            return Err(exists(n));
        }
    }
    let group = doc
        .groups
        .get_mut(index)
        .ok_or_else(|| entity::no_group(name))?;
    let old = group.name.clone();
    if let Some(n) = new_name {
        n.clone_into(&mut group.name);
        for user in &mut doc.users {
            for g in &mut user.groups {
                if common::same_name(g, &old) {
                    n.clone_into(g);
                }
            }
        }
    }
    if let Some(p) = new_path {
        if let Some(group) = doc.groups.get_mut(index) {
            group.path = p;
        }
    }
    Ok(Output::empty())
}

fn conflict(what: &str) -> IamError {
    IamError::DeleteConflict(format!("Cannot delete entity, must {what} first."))
}

/// Delete a group with no members and no policies.
fn delete_group(input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let name = group_name(input)?;
    let index = doc
        .groups
        .iter()
        .position(|g| common::same_name(&g.name, name))
        .ok_or_else(|| entity::no_group(name))?;
    let group = doc
        .groups
        .get(index)
        .ok_or_else(|| entity::no_group(name))?;
    if doc.users.iter().any(|u| is_member(u, &group.name)) {
        return Err(conflict("remove users from group"));
    }
    if !group.policies.is_empty() {
        return Err(conflict("detach all policies"));
    }
    if !group.inline_policies.is_empty() {
        return Err(conflict("delete policies"));
    }
    doc.groups.remove(index);
    Ok(Output::empty())
}

fn list_groups(input: &Input<'_>, doc: &DirectoryDoc) -> Result<Output, IamError> {
    let prefix = entity::path_prefix(input)?;
    let groups: Vec<&RawGroup> = doc
        .groups
        .iter()
        .filter(|g| g.path.starts_with(prefix))
        .collect();
    let (page, next) = common::page(input, groups)?;
    let list = Node::List(
        page.into_iter()
            .map(|g| entity::group_node(doc, g))
            .collect(),
    );
    Ok(common::page_fields(
        Output::empty().field("Groups", list),
        next,
    ))
}
